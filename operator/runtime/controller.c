/* SPDX-License-Identifier: Apache-2.0 */
#include "controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util/timeutil.h"

#define MAX_WORKERS 64

struct controller {
        struct controller_options o;
        char *name;
        struct workqueue *queue;
        pthread_t threads[MAX_WORKERS];
        int n_threads;
        atomic_int active;
        struct metric_family *m_total, *m_errors, *m_time, *m_active, *m_max;
};

static void collect(void *userdata, struct metrics *m)
{
        struct controller *c = userdata;

        metric_set(c->m_active, (const char *const[]){c->name}, atomic_load(&c->active));
        metric_set(c->m_max, (const char *const[]){c->name}, c->o.workers);
}

int controller_new(const struct controller_options *o, struct controller **ret)
{
        static const char *const lc[] = {"controller", NULL};
        static const char *const lcr[] = {"controller", "result", NULL};
        struct wq_options qo = o->queue;
        struct controller *c;
        int r;

        if (!o->reconcile)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->o = *o;
        if (c->o.workers <= 0)
                c->o.workers = 1;
        if (c->o.workers > MAX_WORKERS)
                c->o.workers = MAX_WORKERS;
        c->name = strdup(o->name ? o->name : "controller");
        if (!c->name) {
                free(c);
                return -ENOMEM;
        }
        qo.name = c->name;
        qo.metrics = o->metrics;
        r = wq_new(&qo, &c->queue);
        if (r < 0) {
                free(c->name);
                free(c);
                return r;
        }
        if (o->metrics) {
                struct metrics *m = o->metrics;
                c->m_total = metrics_family(m, METRIC_COUNTER, "controller_runtime_reconcile_total",
                                            "Total number of reconciliations per controller", lcr,
                                            NULL, 0);
                c->m_errors = metrics_family(
                        m, METRIC_COUNTER, "controller_runtime_reconcile_errors_total",
                        "Total number of reconciliation errors per controller", lc, NULL, 0);
                c->m_time = metrics_family(m, METRIC_HISTOGRAM,
                                           "controller_runtime_reconcile_time_seconds",
                                           "Length of time per reconciliation per controller", lc,
                                           metrics_buckets_reconcile, metrics_buckets_reconcile_n);
                c->m_active = metrics_family(m, METRIC_GAUGE, "controller_runtime_active_workers",
                                             "Number of currently used workers per controller", lc,
                                             NULL, 0);
                c->m_max = metrics_family(
                        m, METRIC_GAUGE, "controller_runtime_max_concurrent_reconciles",
                        "Maximum number of concurrent reconciles per controller", lc, NULL, 0);
                for (const char *const *res = (const char *const[]){"success", "error", "requeue",
                                                                    "requeue_after", NULL};
                     *res; res++)
                        metric_add(c->m_total, (const char *const[]){c->name, *res}, 0);
                metric_add(c->m_errors, (const char *const[]){c->name}, 0);
                metrics_add_collector(m, collect, c);
        }
        *ret = c;
        return 0;
}

struct workqueue *controller_queue(struct controller *c)
{
        return c->queue;
}

static void *worker(void *arg)
{
        struct controller *c = arg;
        char *key;

        while ((key = wq_get(c->queue))) {
                struct reconcile_outcome out = {.result = RECONCILE_DONE};
                const char *result = "success";
                double t0 = ((double)time_mono_ns() / 1e9);

                atomic_fetch_add(&c->active, 1);
                c->o.reconcile(c->o.userdata, key, &out);
                atomic_fetch_sub(&c->active, 1);
                metric_observe(c->m_time, (const char *const[]){c->name},
                               ((double)time_mono_ns() / 1e9) - t0);
                switch (out.result) {
                case RECONCILE_DONE:
                        wq_forget(c->queue, key);
                        break;
                case RECONCILE_REQUEUE:
                        result = "requeue";
                        wq_add_rate_limited(c->queue, key);
                        break;
                case RECONCILE_REQUEUE_AFTER:
                        result = "requeue_after";
                        wq_forget(c->queue, key);
                        wq_add_after(c->queue, key, out.requeue_after_ms);
                        break;
                case RECONCILE_ERROR: {
                        char n[16];
                        result = "error";
                        snprintf(n, sizeof(n), "%d", wq_num_requeues(c->queue, key) + 1);
                        log_error("reconcile failed", "controller", c->name, "key", key, "error",
                                  out.error[0] ? out.error : "unknown", "attempt", n);
                        metric_add(c->m_errors, (const char *const[]){c->name}, 1);
                        wq_add_rate_limited(c->queue, key);
                        break;
                }
                }
                metric_add(c->m_total, (const char *const[]){c->name, result}, 1);
                wq_done(c->queue, key);
        }
        return NULL;
}

int controller_start(struct controller *c)
{
        for (int i = 0; i < c->o.workers; i++) {
                int r = pthread_create(&c->threads[i], NULL, worker, c);
                if (r != 0)
                        return -r;
                c->n_threads++;
        }
        return 0;
}

bool controller_stop(struct controller *c, long timeout_ms)
{
        bool drained;

        wq_shutdown(c->queue, true); /* queued keys are reconciled again at the next start */
        drained = wq_wait_idle(c->queue, timeout_ms);
        if (!drained)
                return false; /* workers still busy; the process exits around them */
        for (int i = 0; i < c->n_threads; i++)
                pthread_join(c->threads[i], NULL);
        c->n_threads = 0;
        return true;
}

void controller_free(struct controller *c)
{
        if (!c)
                return;
        if (c->n_threads && !controller_stop(c, 1000))
                return; /* workers still inside reconcile: leave them their memory; we are exiting
                         */
        wq_free(c->queue);
        free(c->name);
        free(c);
}
