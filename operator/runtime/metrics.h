/* SPDX-License-Identifier: Apache-2.0 */
/* A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (version 0.0.4). Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

enum metric_type {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
};

struct metrics;
struct metric_family;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Register (or find, when already registered with the same name) a family. labels is a
 * NULL-terminated list of label names (NULL for none); buckets (histograms only) are upper
 * bounds in increasing order, +Inf is implied. Returns NULL on error. */
struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help, const char *const *labels,
                                     const double *buckets, size_t n_buckets);

/* values: one per label name, in order (NULL when the family has no labels). */
void metric_add(struct metric_family *f, const char *const *values, double v);     /* counter */
void metric_set(struct metric_family *f, const char *const *values, double v);     /* gauge */
void metric_observe(struct metric_family *f, const char *const *values, double v); /* histogram */
/* The value of a counter's or gauge's series into *ret; false when it has no such series. */
bool metric_get(struct metric_family *f, const char *const *values, double *ret);
/* Remove every series of a gauge, before setting fresh values in a collector: a family reset so
 * is made at each scrape, and its series are dropped once written (they would be kept for
 * nothing between scrapes: an instance's conditions and certificates are dozens). */
void metric_reset(struct metric_family *f);

/* Called at the start of every render, to set gauges read from elsewhere. */
typedef void (*metrics_collector)(void *userdata, struct metrics *m);
int metrics_add_collector(struct metrics *m, metrics_collector fn, void *userdata);

int metrics_render(struct metrics *m, struct strbuf *out);

/* Bucket sets used by controller-runtime and client-go, so dashboards carry over. */
extern const double metrics_buckets_reconcile[];
extern const size_t metrics_buckets_reconcile_n;
extern const double metrics_buckets_workqueue[];
extern const size_t metrics_buckets_workqueue_n;
extern const double metrics_buckets_rest[];
extern const size_t metrics_buckets_rest_n;
