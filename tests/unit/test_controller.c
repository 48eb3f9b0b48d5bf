/* SPDX-License-Identifier: Apache-2.0 */
/* Controller workers: results map to queue actions; errors back off and never stop a worker;
 * N workers run in parallel but never on the same key; stop waits for in-flight work. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/controller.h"
#include "runtime/log.h"
#include "promparse.h"

struct rec {
        atomic_int calls_a, calls_b, calls_c, calls_d;
        atomic_int running, max_running;
        atomic_int same_key_overlap;
        atomic_int in_a;
};

static void reconcile(void *userdata, const char *key, struct reconcile_outcome *out)
{
        struct rec *r = userdata;
        int now = atomic_fetch_add(&r->running, 1) + 1;

        for (int m = atomic_load(&r->max_running);
             now > m && !atomic_compare_exchange_weak(&r->max_running, &m, now);)
                ;
        if (strcmp(key, "a") == 0) {
                /* fails three times, then succeeds */
                if (atomic_fetch_add(&r->in_a, 1) != 0)
                        atomic_fetch_add(&r->same_key_overlap, 1);
                int n = atomic_fetch_add(&r->calls_a, 1) + 1;
                if (n <= 3) {
                        out->result = RECONCILE_ERROR;
                        snprintf(out->error, sizeof(out->error), "attempt %d failed", n);
                }
                usleep(2000);
                atomic_fetch_sub(&r->in_a, 1);
        } else if (strcmp(key, "b") == 0) {
                /* asks to come back in 50 ms, twice */
                if (atomic_fetch_add(&r->calls_b, 1) < 2) {
                        out->result = RECONCILE_REQUEUE_AFTER;
                        out->requeue_after_ms = 50;
                }
        } else if (strcmp(key, "c") == 0) {
                if (atomic_fetch_add(&r->calls_c, 1) < 1)
                        out->result = RECONCILE_REQUEUE;
        } else {
                atomic_fetch_add(&r->calls_d, 1);
                usleep(100 * 1000);
        }
        atomic_fetch_sub(&r->running, 1);
}

static void test_results_errors_and_parallel_workers(void **state)
{
        struct metrics *m = metrics_new();
        struct rec r = {0};
        struct controller *c;
        struct strbuf sb = {0};
        struct prom_doc d;
        char err[256];
        double v;

        log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT); /* errors show in the test log */
        assert_int_equal(controller_new(&(struct controller_options){.name = "test",
                                                                     .workers = 4,
                                                                     .reconcile = reconcile,
                                                                     .userdata = &r,
                                                                     .metrics = m},
                                        &c),
                         0);
        assert_int_equal(controller_start(c), 0);
        wq_add(controller_queue(c), "a");
        wq_add(controller_queue(c), "b");
        wq_add(controller_queue(c), "c");
        for (int i = 0; i < 4; i++) {
                char k[8];
                snprintf(k, sizeof(k), "d%d", i);
                wq_add(controller_queue(c), k);
        }
        for (int i = 0; i < 300 && (atomic_load(&r.calls_a) < 4 || atomic_load(&r.calls_b) < 3 ||
                                    atomic_load(&r.calls_c) < 2 || atomic_load(&r.calls_d) < 4);
             i++)
                usleep(10 * 1000);
        assert_int_equal(atomic_load(&r.calls_a), 4); /* 3 errors, backed off, then success */
        assert_int_equal(atomic_load(&r.calls_b), 3); /* 2 requeue-after, then done */
        assert_int_equal(atomic_load(&r.calls_c), 2); /* 1 requeue, then done */
        assert_int_equal(atomic_load(&r.calls_d), 4);
        assert_true(atomic_load(&r.max_running) >= 2); /* workers ran in parallel */
        assert_int_equal(atomic_load(&r.same_key_overlap), 0);
        assert_int_equal(wq_num_requeues(controller_queue(c), "a"),
                         0); /* success forgot the failures */
        assert_true(controller_stop(c, 2000));
        assert_int_equal(metrics_render(m, &sb), 0);
        assert_int_equal(prom_parse(sb.buf, &d, err, sizeof(err)), 0);
        assert_true(prom_value(&d, "controller_runtime_reconcile_errors_total",
                               "controller=\"test\"", &v) &&
                    v == 3);
        assert_true(prom_value(&d, "controller_runtime_reconcile_total",
                               "controller=\"test\",result=\"requeue_after\"", &v) &&
                    v == 2);
        assert_true(prom_value(&d, "controller_runtime_reconcile_total",
                               "controller=\"test\",result=\"success\"", &v) &&
                    v == 7);
        assert_true(prom_value(&d, "controller_runtime_max_concurrent_reconciles",
                               "controller=\"test\"", &v) &&
                    v == 4);
        assert_true(prom_value(&d, "workqueue_adds_total", "name=\"test\"", &v) && v >= 7);
        prom_doc_free(&d);
        strbuf_free(&sb);
        controller_free(c);
        metrics_free(m);
}

static void slow(void *userdata, const char *key, struct reconcile_outcome *out)
{
        atomic_int *done = userdata;

        usleep(200 * 1000);
        atomic_fetch_add(done, 1);
}

static void test_stop_finishes_in_flight_and_drops_queued(void **state)
{
        atomic_int done = 0;
        struct controller *c;

        assert_int_equal(controller_new(&(struct controller_options){.name = "slow",
                                                                     .workers = 1,
                                                                     .reconcile = slow,
                                                                     .userdata = &done},
                                        &c),
                         0);
        controller_start(c);
        wq_add(controller_queue(c), "x");
        wq_add(controller_queue(c), "y");
        usleep(50 * 1000); /* x is in flight, y queued */
        assert_true(controller_stop(c, 2000));
        assert_int_equal(atomic_load(&done), 1);
        controller_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_results_errors_and_parallel_workers),
                cmocka_unit_test(test_stop_finishes_in_flight_and_drops_queued),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
