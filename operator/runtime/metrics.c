/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

#define MAX_LABELS     8
#define MAX_FAMILIES   128
#define MAX_COLLECTORS 16

const double metrics_buckets_reconcile[] = {
        0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
        0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
        6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
const size_t metrics_buckets_reconcile_n = sizeof(metrics_buckets_reconcile) / sizeof(double);
/* 10 ns to 1000 s, by factors of ten (client-go's workqueue) */
const double metrics_buckets_workqueue[] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3,
                                            1e-2, 1e-1, 1,    10,   100,  1000};
const size_t metrics_buckets_workqueue_n = sizeof(metrics_buckets_workqueue) / sizeof(double);
const double metrics_buckets_rest[] = {0.005, 0.025, 0.1, 0.25, 0.5,  1.0,
                                       2.0,   4.0,   8.0, 15.0, 30.0, 60.0};
const size_t metrics_buckets_rest_n = sizeof(metrics_buckets_rest) / sizeof(double);

struct series {
        char *values[MAX_LABELS];
        double value; /* counter, gauge */
        double sum;   /* histogram */
        unsigned long long count;
        unsigned long long *buckets; /* per bound, not cumulative */
        struct series *next_in_order;
};

struct metric_family {
        struct metrics *m;
        enum metric_type type;
        char *name, *help;
        char *labels[MAX_LABELS];
        size_t n_labels;
        double *bounds;
        size_t n_bounds;
        struct hashmap *series;      /* joined label values -> struct series */
        struct series *first, *last; /* insertion order, for stable output */
        bool collected;              /* reset by a collector: its series dropped once written */
};

struct metrics {
        pthread_mutex_t lock;
        pthread_mutex_t render_lock; /* one exposition at a time: collect, write, drop */
        struct metric_family *families[MAX_FAMILIES];
        size_t n_families;
        struct {
                metrics_collector fn;
                void *userdata;
        } collectors[MAX_COLLECTORS];
        size_t n_collectors;
};

struct metrics *metrics_new(void)
{
        struct metrics *m = calloc(1, sizeof(*m));

        if (m) {
                pthread_mutex_init(&m->lock, NULL);
                pthread_mutex_init(&m->render_lock, NULL);
        }
        return m;
}

static void series_free(struct series *s, size_t n_labels)
{
        for (size_t i = 0; i < n_labels; i++)
                free(s->values[i]);
        free(s->buckets);
        free(s);
}

static void family_clear(struct metric_family *f)
{
        for (struct series *s = f->first, *n; s; s = n) {
                n = s->next_in_order;
                series_free(s, f->n_labels);
        }
        f->first = f->last = NULL;
        hashmap_free(f->series);
        f->series = hashmap_new();
}

void metrics_free(struct metrics *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_families; i++) {
                struct metric_family *f = m->families[i];
                family_clear(f);
                hashmap_free(f->series);
                for (size_t j = 0; j < f->n_labels; j++)
                        free(f->labels[j]);
                free(f->name);
                free(f->help);
                free(f->bounds);
                free(f);
        }
        pthread_mutex_destroy(&m->lock);
        pthread_mutex_destroy(&m->render_lock);
        free(m);
}

struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help, const char *const *labels,
                                     const double *buckets, size_t n_buckets)
{
        struct metric_family *f = NULL;

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_families; i++)
                if (strcmp(m->families[i]->name, name) == 0) {
                        f = m->families[i]->type == type ? m->families[i] : NULL;
                        goto out;
                }
        if (m->n_families >= MAX_FAMILIES)
                goto out;
        f = calloc(1, sizeof(*f));
        if (!f)
                goto out;
        f->m = m;
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help);
        f->series = hashmap_new();
        for (; labels && labels[f->n_labels] && f->n_labels < MAX_LABELS; f->n_labels++)
                f->labels[f->n_labels] = strdup(labels[f->n_labels]);
        if (type == METRIC_HISTOGRAM) {
                f->bounds = malloc(n_buckets * sizeof(double));
                if (f->bounds)
                        memcpy(f->bounds, buckets, n_buckets * sizeof(double));
                f->n_bounds = n_buckets;
        }
        m->families[m->n_families++] = f;
out:
        pthread_mutex_unlock(&m->lock);
        return f;
}

/* with the lock held: the series of these label values, made when create and absent */
static struct series *find_series(struct metric_family *f, const char *const *values, bool create)
{
        struct strbuf key = {0};
        struct series *s;

        for (size_t i = 0; i < f->n_labels; i++) {
                strbuf_puts(&key, values && values[i] ? values[i] : "");
                strbuf_append(&key, "\xff", 1); /* cannot appear in UTF-8 */
        }
        strbuf_puts(&key, "");
        s = hashmap_get(f->series, key.buf);
        if (!s && create) {
                s = calloc(1, sizeof(*s));
                if (s && f->type == METRIC_HISTOGRAM)
                        s->buckets = calloc(f->n_bounds + 1, sizeof(*s->buckets));
                if (!s || (f->type == METRIC_HISTOGRAM && !s->buckets) ||
                    hashmap_put(f->series, key.buf, s, NULL) < 0) {
                        if (s)
                                free(s->buckets);
                        free(s);
                        s = NULL;
                } else {
                        for (size_t i = 0; i < f->n_labels; i++)
                                s->values[i] = strdup(values && values[i] ? values[i] : "");
                        if (f->last)
                                f->last->next_in_order = s;
                        else
                                f->first = s;
                        f->last = s;
                }
        }
        strbuf_free(&key);
        return s;
}

bool metric_get(struct metric_family *f, const char *const *values, double *ret)
{
        struct series *s;

        if (!f)
                return false;
        pthread_mutex_lock(&f->m->lock);
        s = find_series(f, values, false);
        if (s)
                *ret = s->value;
        pthread_mutex_unlock(&f->m->lock);
        return s != NULL;
}

static void update(struct metric_family *f, const char *const *values, double v, bool add)
{
        struct series *s;

        if (!f)
                return;
        pthread_mutex_lock(&f->m->lock);
        s = find_series(f, values, true);
        if (s)
                s->value = add ? s->value + v : v;
        pthread_mutex_unlock(&f->m->lock);
}

void metric_add(struct metric_family *f, const char *const *values, double v)
{
        update(f, values, v, true);
}

void metric_set(struct metric_family *f, const char *const *values, double v)
{
        update(f, values, v, false);
}

void metric_observe(struct metric_family *f, const char *const *values, double v)
{
        struct series *s;
        size_t i;

        if (!f || f->type != METRIC_HISTOGRAM)
                return;
        pthread_mutex_lock(&f->m->lock);
        s = find_series(f, values, true);
        if (s) {
                for (i = 0; i < f->n_bounds && v > f->bounds[i]; i++)
                        ;
                s->buckets[i]++;
                s->sum += v;
                s->count++;
        }
        pthread_mutex_unlock(&f->m->lock);
}

void metric_reset(struct metric_family *f)
{
        if (!f)
                return;
        pthread_mutex_lock(&f->m->lock);
        family_clear(f);
        f->collected = true;
        pthread_mutex_unlock(&f->m->lock);
}

int metrics_add_collector(struct metrics *m, metrics_collector fn, void *userdata)
{
        int r = -ENOSPC;

        pthread_mutex_lock(&m->lock);
        if (m->n_collectors < MAX_COLLECTORS) {
                m->collectors[m->n_collectors].fn = fn;
                m->collectors[m->n_collectors++].userdata = userdata;
                r = 0;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

/* ---- exposition ---- */

static void put_number(struct strbuf *sb, double v)
{
        if (isnan(v))
                strbuf_puts(sb, "NaN");
        else if (isinf(v))
                strbuf_puts(sb, v > 0 ? "+Inf" : "-Inf");
        else if (fabs(v) < 1e15 && v == (double)(long long)v)
                strbuf_printf(sb, "%lld", (long long)v);
        else {
                /* the shortest text that reads back as the same number (as Go prints it) */
                char buf[32];
                for (int p = 1; p <= 17; p++) {
                        snprintf(buf, sizeof(buf), "%.*g", p, v);
                        if (strtod(buf, NULL) == v)
                                break;
                }
                strbuf_puts(sb, buf);
        }
}

static void put_escaped(struct strbuf *sb, const char *s, bool quote_too)
{
        for (; *s; s++) {
                if (*s == '\\')
                        strbuf_puts(sb, "\\\\");
                else if (*s == '\n')
                        strbuf_puts(sb, "\\n");
                else if (*s == '"' && quote_too)
                        strbuf_puts(sb, "\\\"");
                else
                        strbuf_append(sb, s, 1);
        }
}

static void put_labels(struct strbuf *sb, const struct metric_family *f, const struct series *s,
                       const char *le)
{
        bool any = f->n_labels > 0 || le;

        if (!any)
                return;
        strbuf_puts(sb, "{");
        for (size_t i = 0; i < f->n_labels; i++) {
                strbuf_printf(sb, "%s%s=\"", i ? "," : "", f->labels[i]);
                put_escaped(sb, s->values[i], true);
                strbuf_puts(sb, "\"");
        }
        if (le)
                strbuf_printf(sb, "%sle=\"%s\"", f->n_labels ? "," : "", le);
        strbuf_puts(sb, "}");
}

static void render_family(struct strbuf *sb, const struct metric_family *f)
{
        static const char *const types[] = {"counter", "gauge", "histogram"};

        strbuf_printf(sb, "# HELP %s ", f->name);
        put_escaped(sb, f->help, false);
        strbuf_printf(sb, "\n# TYPE %s %s\n", f->name, types[f->type]);
        for (const struct series *s = f->first; s; s = s->next_in_order) {
                if (f->type != METRIC_HISTOGRAM) {
                        strbuf_puts(sb, f->name);
                        put_labels(sb, f, s, NULL);
                        strbuf_puts(sb, " ");
                        put_number(sb, s->value);
                        strbuf_puts(sb, "\n");
                        continue;
                }
                unsigned long long cum = 0;
                for (size_t i = 0; i <= f->n_bounds; i++) {
                        struct strbuf le = {0};
                        cum += s->buckets[i];
                        if (i < f->n_bounds)
                                put_number(&le, f->bounds[i]);
                        else
                                strbuf_puts(&le, "+Inf");
                        strbuf_printf(sb, "%s_bucket", f->name);
                        put_labels(sb, f, s, le.buf);
                        strbuf_printf(sb, " %llu\n", cum);
                        strbuf_free(&le);
                }
                strbuf_printf(sb, "%s_sum", f->name);
                put_labels(sb, f, s, NULL);
                strbuf_puts(sb, " ");
                put_number(sb, s->sum);
                strbuf_printf(sb, "\n%s_count", f->name);
                put_labels(sb, f, s, NULL);
                strbuf_printf(sb, " %llu\n", s->count);
        }
}

int metrics_render(struct metrics *m, struct strbuf *out)
{
        size_t n;

        pthread_mutex_lock(&m->render_lock);
        pthread_mutex_lock(&m->lock);
        n = m->n_collectors;
        pthread_mutex_unlock(&m->lock);
        for (size_t i = 0; i < n; i++)
                m->collectors[i].fn(m->collectors[i].userdata, m);
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_families; i++) {
                if (m->families[i]->first) /* a family without series says nothing */
                        render_family(out, m->families[i]);
                if (m->families[i]->collected) /* made again at the next scrape */
                        family_clear(m->families[i]);
        }
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->render_lock);
        return 0;
}
