/* SPDX-License-Identifier: Apache-2.0 */
#include "workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/hashmap.h"
#include "util/timeutil.h"
#include "util/ratelimit.h"

struct delayed {
        long long when_ns;
        char *key;
};

struct workqueue {
        pthread_mutex_t lock;
        pthread_cond_t cond; /* something became ready, or shutdown */
        pthread_cond_t idle; /* processing became empty */
        char *name;
        /* FIFO of ready keys (ring buffer) */
        char **ring;
        size_t head, len, cap;
        struct hashmap *dirty;      /* key -> add time (ns, malloc'd long long) */
        struct hashmap *processing; /* key -> start time (ns, malloc'd long long) */
        struct hashmap *failures;   /* key -> count (intptr) */
        struct hashmap *waiting;    /* key -> when (ns, malloc'd long long), delayed */
        struct delayed *heap;
        size_t n_heap, cap_heap;
        bool shutting_down;
        bool discard_ready; /* shut down without handing out queued keys */
        long base_ms, max_ms;
        struct token_bucket bucket;
        struct metric_family *m_depth, *m_adds, *m_retries, *m_queue_dur, *m_work_dur,
                *m_unfinished, *m_longest;
};

long wq_backoff_ms(int failures, long base_ms, long max_ms)
{
        double d = (double)base_ms;

        for (int i = 0; i < failures && d < (double)max_ms; i++)
                d *= 2;
        return d > (double)max_ms ? max_ms : (long)d;
}

static void collect(void *userdata, struct metrics *m);

int wq_new(const struct wq_options *o, struct workqueue **ret)
{
        static const char *const lbl[] = {"name", NULL};
        struct workqueue *q = calloc(1, sizeof(*q));

        if (!q)
                return -ENOMEM;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->cond, NULL);
        pthread_cond_init(&q->idle, NULL);
        q->name = strdup(o && o->name ? o->name : "default");
        q->dirty = hashmap_new();
        q->processing = hashmap_new();
        q->failures = hashmap_new();
        q->waiting = hashmap_new();
        q->cap = 64;
        q->ring = calloc(q->cap, sizeof(*q->ring));
        if (!q->name || !q->dirty || !q->processing || !q->failures || !q->waiting || !q->ring) {
                wq_free(q);
                return -ENOMEM;
        }
        q->base_ms = o && o->base_delay_ms > 0 ? o->base_delay_ms : 5;
        q->max_ms = o && o->max_delay_ms > 0 ? o->max_delay_ms : 1000L * 1000;
        token_bucket_init(&q->bucket, o && o->qps > 0 ? o->qps : 10,
                          o && o->burst > 0 ? o->burst : 100, time_mono_ns());
        if (o && o->metrics) {
                struct metrics *m = o->metrics;
                q->m_depth = metrics_family(m, METRIC_GAUGE, "workqueue_depth",
                                            "Current depth of workqueue", lbl, NULL, 0);
                q->m_adds =
                        metrics_family(m, METRIC_COUNTER, "workqueue_adds_total",
                                       "Total number of adds handled by workqueue", lbl, NULL, 0);
                q->m_retries = metrics_family(m, METRIC_COUNTER, "workqueue_retries_total",
                                              "Total number of retries handled by workqueue", lbl,
                                              NULL, 0);
                q->m_queue_dur = metrics_family(
                        m, METRIC_HISTOGRAM, "workqueue_queue_duration_seconds",
                        "How long in seconds an item stays in workqueue before being requested",
                        lbl, metrics_buckets_workqueue, metrics_buckets_workqueue_n);
                q->m_work_dur = metrics_family(
                        m, METRIC_HISTOGRAM, "workqueue_work_duration_seconds",
                        "How long in seconds processing an item from workqueue takes", lbl,
                        metrics_buckets_workqueue, metrics_buckets_workqueue_n);
                q->m_unfinished = metrics_family(
                        m, METRIC_GAUGE, "workqueue_unfinished_work_seconds",
                        "How many seconds of work has been done that is in progress", lbl, NULL, 0);
                q->m_longest = metrics_family(m, METRIC_GAUGE,
                                              "workqueue_longest_running_processor_seconds",
                                              "How many seconds has the longest running processor "
                                              "for workqueue been running",
                                              lbl, NULL, 0);
                metric_add(q->m_adds, (const char *const[]){q->name}, 0);
                metric_add(q->m_retries, (const char *const[]){q->name}, 0);
                metrics_add_collector(m, collect, q);
        }
        *ret = q;
        return 0;
}

static void free_values(struct hashmap *m)
{
        for (const struct hashmap_entry *e = m ? hashmap_first(m) : NULL; e; e = hashmap_next(m, e))
                free(hashmap_entry_value(e));
        hashmap_free(m);
}

void wq_free(struct workqueue *q)
{
        if (!q)
                return;
        wq_shutdown(q, true);
        for (size_t i = 0; i < q->len; i++)
                free(q->ring[(q->head + i) % q->cap]);
        free(q->ring);
        for (size_t i = 0; i < q->n_heap; i++)
                free(q->heap[i].key);
        free(q->heap);
        free_values(q->dirty);
        free_values(q->processing);
        free_values(q->waiting);
        hashmap_free(q->failures);
        free(q->name);
        pthread_cond_destroy(&q->cond);
        pthread_cond_destroy(&q->idle);
        pthread_mutex_destroy(&q->lock);
        free(q);
}

static const char *const *label(struct workqueue *q)
{
        static __thread const char *v[1];

        v[0] = q->name;
        return v;
}

/* ---- the ready FIFO (lock held) ---- */

static int push(struct workqueue *q, const char *key)
{
        char *k;

        if (q->len == q->cap) {
                char **r = calloc(q->cap * 2, sizeof(*r));
                if (!r)
                        return -ENOMEM;
                for (size_t i = 0; i < q->len; i++)
                        r[i] = q->ring[(q->head + i) % q->cap];
                free(q->ring);
                q->ring = r;
                q->head = 0;
                q->cap *= 2;
        }
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        q->ring[(q->head + q->len) % q->cap] = k;
        q->len++;
        return 0;
}

static char *pop(struct workqueue *q)
{
        char *k = q->ring[q->head];

        q->head = (q->head + 1) % q->cap;
        q->len--;
        return k;
}

/* Mark key dirty and make it ready unless a worker has it (lock held). */
static void add_locked(struct workqueue *q, const char *key)
{
        long long *t;

        if (q->shutting_down || hashmap_contains(q->dirty, key))
                return;
        t = malloc(sizeof(*t));
        if (!t)
                return;
        *t = time_mono_ns();
        if (hashmap_put(q->dirty, key, t, NULL) < 0) {
                free(t);
                return;
        }
        metric_add(q->m_adds, label(q), 1);
        if (hashmap_contains(q->processing, key))
                return; /* wq_done() queues it again */
        if (push(q, key) < 0) {
                free(hashmap_remove(q->dirty, key));
                return;
        }
        pthread_cond_signal(&q->cond);
}

void wq_add(struct workqueue *q, const char *key)
{
        pthread_mutex_lock(&q->lock);
        add_locked(q, key);
        pthread_mutex_unlock(&q->lock);
}

/* ---- delayed keys: a min-heap on time (lock held) ---- */

static void heap_swap(struct delayed *a, struct delayed *b)
{
        struct delayed t = *a;

        *a = *b;
        *b = t;
}

static void heap_push(struct workqueue *q, long long when, char *key)
{
        size_t i;

        if (q->n_heap == q->cap_heap) {
                size_t cap = q->cap_heap ? q->cap_heap * 2 : 16;
                struct delayed *h = realloc(q->heap, cap * sizeof(*h));
                if (!h) {
                        free(key);
                        return;
                }
                q->heap = h;
                q->cap_heap = cap;
        }
        i = q->n_heap++;
        q->heap[i] = (struct delayed){.when_ns = when, .key = key};
        while (i > 0 && q->heap[(i - 1) / 2].when_ns > q->heap[i].when_ns) {
                heap_swap(&q->heap[(i - 1) / 2], &q->heap[i]);
                i = (i - 1) / 2;
        }
}

static struct delayed heap_pop(struct workqueue *q)
{
        struct delayed top = q->heap[0];
        size_t i = 0;

        q->heap[0] = q->heap[--q->n_heap];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < q->n_heap && q->heap[l].when_ns < q->heap[m].when_ns)
                        m = l;
                if (r < q->n_heap && q->heap[r].when_ns < q->heap[m].when_ns)
                        m = r;
                if (m == i)
                        break;
                heap_swap(&q->heap[m], &q->heap[i]);
                i = m;
        }
        return top;
}

static void add_after_locked(struct workqueue *q, const char *key, long delay_ms)
{
        long long when = time_mono_ns() + (long long)delay_ms * 1000000LL, *w;
        char *k;

        if (q->shutting_down)
                return;
        if (delay_ms <= 0) {
                add_locked(q, key);
                return;
        }
        w = hashmap_get(q->waiting, key);
        if (w) {
                if (*w <= when)
                        return; /* already due earlier */
                *w = when;      /* the older heap entry is skipped when it comes up */
        } else {
                w = malloc(sizeof(*w));
                if (!w)
                        return;
                *w = when;
                if (hashmap_put(q->waiting, key, w, NULL) < 0) {
                        free(w);
                        return;
                }
        }
        k = strdup(key);
        if (k)
                heap_push(q, when, k);
        pthread_cond_signal(&q->cond); /* a sleeping wq_get() may need to wake earlier */
}

void wq_add_after(struct workqueue *q, const char *key, long delay_ms)
{
        pthread_mutex_lock(&q->lock);
        add_after_locked(q, key, delay_ms);
        pthread_mutex_unlock(&q->lock);
}

/* Move due delayed keys to the ready FIFO; returns ns until the next one (or -1). */
static long long promote_due(struct workqueue *q)
{
        long long now = time_mono_ns();

        while (q->n_heap > 0 && q->heap[0].when_ns <= now) {
                struct delayed d = heap_pop(q);
                long long *w = hashmap_get(q->waiting, d.key);
                if (w && *w == d.when_ns) { /* else superseded by an earlier time */
                        free(hashmap_remove(q->waiting, d.key));
                        add_locked(q, d.key);
                }
                free(d.key);
        }
        return q->n_heap ? q->heap[0].when_ns - now : -1;
}

void wq_add_rate_limited(struct workqueue *q, const char *key)
{
        intptr_t failures;
        long item_ms, bucket_ms;

        pthread_mutex_lock(&q->lock);
        failures = (intptr_t)hashmap_get(q->failures, key);
        item_ms = wq_backoff_ms((int)failures, q->base_ms, q->max_ms);
        hashmap_put(q->failures, key, (void *)(failures + 1), NULL);
        bucket_ms = (long)(token_bucket_reserve(&q->bucket, time_mono_ns()) / 1000000);
        metric_add(q->m_retries, label(q), 1);
        add_after_locked(q, key, item_ms > bucket_ms ? item_ms : bucket_ms);
        pthread_mutex_unlock(&q->lock);
}

void wq_forget(struct workqueue *q, const char *key)
{
        pthread_mutex_lock(&q->lock);
        hashmap_remove(q->failures, key);
        pthread_mutex_unlock(&q->lock);
}

int wq_num_requeues(struct workqueue *q, const char *key)
{
        intptr_t n;

        pthread_mutex_lock(&q->lock);
        n = (intptr_t)hashmap_get(q->failures, key);
        pthread_mutex_unlock(&q->lock);
        return (int)n;
}

char *wq_get(struct workqueue *q)
{
        char *key = NULL;
        long long *added, *started;

        pthread_mutex_lock(&q->lock);
        for (;;) {
                long long next = q->shutting_down ? -1 : promote_due(q);
                if (q->len > 0)
                        break;
                if (q->shutting_down)
                        goto out;
                if (next < 0) {
                        pthread_cond_wait(&q->cond, &q->lock);
                } else {
                        struct timespec ts = time_realtime_after_ns(next);
                        pthread_cond_timedwait(&q->cond, &q->lock, &ts);
                }
        }
        key = pop(q);
        added = hashmap_remove(q->dirty, key);
        if (added)
                metric_observe(q->m_queue_dur, label(q), (double)(time_mono_ns() - *added) / 1e9);
        free(added);
        started = malloc(sizeof(*started));
        if (started) {
                *started = time_mono_ns();
                if (hashmap_put(q->processing, key, started, NULL) < 0)
                        free(started);
        }
out:
        pthread_mutex_unlock(&q->lock);
        return key;
}

void wq_done(struct workqueue *q, char *key)
{
        long long *started;

        if (!key)
                return;
        pthread_mutex_lock(&q->lock);
        started = hashmap_remove(q->processing, key);
        if (started)
                metric_observe(q->m_work_dur, label(q), (double)(time_mono_ns() - *started) / 1e9);
        free(started);
        /* added again while it was processed: now it may go */
        if (hashmap_contains(q->dirty, key) && !q->discard_ready && push(q, key) == 0)
                pthread_cond_signal(&q->cond);
        if (hashmap_size(q->processing) == 0)
                pthread_cond_broadcast(&q->idle);
        pthread_mutex_unlock(&q->lock);
        free(key);
}

void wq_shutdown(struct workqueue *q, bool discard_ready)
{
        pthread_mutex_lock(&q->lock);
        q->shutting_down = true;
        q->discard_ready = q->discard_ready || discard_ready;
        while (discard_ready && q->len > 0) {
                char *k = pop(q);
                free(hashmap_remove(q->dirty, k));
                free(k);
        }
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
}

bool wq_shutting_down(struct workqueue *q)
{
        bool s;

        pthread_mutex_lock(&q->lock);
        s = q->shutting_down;
        pthread_mutex_unlock(&q->lock);
        return s;
}

bool wq_wait_idle(struct workqueue *q, long timeout_ms)
{
        struct timespec ts = time_realtime_after_ns((long long)timeout_ms * 1000000LL);
        bool idle;

        pthread_mutex_lock(&q->lock);
        while (hashmap_size(q->processing) > 0)
                if (pthread_cond_timedwait(&q->idle, &q->lock, &ts) == ETIMEDOUT)
                        break;
        idle = hashmap_size(q->processing) == 0;
        pthread_mutex_unlock(&q->lock);
        return idle;
}

size_t wq_len(struct workqueue *q)
{
        size_t n;

        pthread_mutex_lock(&q->lock);
        n = q->len;
        pthread_mutex_unlock(&q->lock);
        return n;
}

static void collect(void *userdata, struct metrics *m)
{
        struct workqueue *q = userdata;
        double unfinished = 0, longest = 0, depth;
        long long now = time_mono_ns();

        pthread_mutex_lock(&q->lock);
        depth = (double)q->len;
        for (const struct hashmap_entry *e = hashmap_first(q->processing); e;
             e = hashmap_next(q->processing, e)) {
                double s = (double)(now - *(long long *)hashmap_entry_value(e)) / 1e9;
                unfinished += s;
                if (s > longest)
                        longest = s;
        }
        pthread_mutex_unlock(&q->lock);
        metric_set(q->m_depth, label(q), depth);
        metric_set(q->m_unfinished, label(q), unfinished);
        metric_set(q->m_longest, label(q), longest);
}
