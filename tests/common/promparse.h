/* SPDX-License-Identifier: Apache-2.0 */
/* A strict parser of the Prometheus text exposition format (0.0.4), for tests: it rejects
 * what Prometheus would reject and more (interleaved families, samples before TYPE,
 * duplicate series, broken histograms). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct prom_sample {
        char name[128];
        char labels[512]; /* canonical: k="v",k2="v2" sorted by name, without le */
        char le[32];      /* histogram buckets only */
        double value;
};

struct prom_doc {
        struct prom_sample *samples;
        size_t n;
};

/* 0 or -EINVAL with a message naming the line. */
int prom_parse(const char *text, struct prom_doc *ret, char *err, size_t errlen);
void prom_doc_free(struct prom_doc *d);
/* The value of the series name{labels} (labels canonical as above, "" for none); false when
 * there is no such series. */
bool prom_value(const struct prom_doc *d, const char *name, const char *labels, double *ret);
/* How many samples are named name (a histogram's buckets each count). */
size_t prom_count(const struct prom_doc *d, const char *name);
/* Sum of every series of name whose labels contain the given substring (or all). */
double prom_sum(const struct prom_doc *d, const char *name, const char *contains);
