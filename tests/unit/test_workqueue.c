/* SPDX-License-Identifier: Apache-2.0 */
/* Work queue semantics: de-duplication, one worker per key, re-add while processing, backoff,
 * token bucket, delays, forget, shutdown; and a concurrency stress test (run under ASan). */
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

#include "runtime/workqueue.h"
#include "util/ratelimit.h"

static struct workqueue *new_queue(void)
{
        struct workqueue *q = NULL;

        assert_int_equal(wq_new(&(struct wq_options){.name = "test"}, &q), 0);
        return q;
}

static void test_duplicate_adds_are_processed_once(void **state)
{
        struct workqueue *q = new_queue();
        char *k;

        wq_add(q, "a");
        wq_add(q, "b");
        wq_add(q, "a");
        assert_int_equal(wq_len(q), 2);
        k = wq_get(q);
        assert_string_equal(k, "a");
        wq_done(q, k);
        k = wq_get(q);
        assert_string_equal(k, "b");
        wq_done(q, k);
        assert_int_equal(wq_len(q), 0);
        wq_free(q);
}

static void test_key_readded_while_processing_waits_and_runs_again(void **state)
{
        struct workqueue *q = new_queue();
        char *k, *k2;

        wq_add(q, "a");
        k = wq_get(q);
        wq_add(q, "a"); /* while a worker has it: must not be handed out now */
        wq_add(q, "a");
        assert_int_equal(wq_len(q), 0);
        wq_add(q, "b");
        k2 = wq_get(q);
        assert_string_equal(k2, "b");
        wq_done(q, k2);
        wq_done(q, k); /* now "a" is ready again, once */
        assert_int_equal(wq_len(q), 1);
        k = wq_get(q);
        assert_string_equal(k, "a");
        wq_done(q, k);
        assert_int_equal(wq_len(q), 0);
        wq_free(q);
}

static void test_backoff_sequence(void **state)
{
        /* 5 ms doubling, capped at 1000 s */
        assert_int_equal(wq_backoff_ms(0, 5, 1000000), 5);
        assert_int_equal(wq_backoff_ms(1, 5, 1000000), 10);
        assert_int_equal(wq_backoff_ms(2, 5, 1000000), 20);
        assert_int_equal(wq_backoff_ms(10, 5, 1000000), 5120);
        assert_int_equal(wq_backoff_ms(17, 5, 1000000), 655360);
        assert_int_equal(wq_backoff_ms(18, 5, 1000000), 1000000);
        assert_int_equal(wq_backoff_ms(1000, 5, 1000000), 1000000);
}

static void test_rate_limited_counts_failures_and_forget_resets(void **state)
{
        struct workqueue *q = new_queue();

        assert_int_equal(wq_num_requeues(q, "a"), 0);
        wq_add_rate_limited(q, "a");
        wq_add_rate_limited(q, "a");
        wq_add_rate_limited(q, "a");
        assert_int_equal(wq_num_requeues(q, "a"), 3);
        wq_forget(q, "a");
        assert_int_equal(wq_num_requeues(q, "a"), 0);
        wq_free(q);
}

static void test_token_bucket(void **state)
{
        struct token_bucket tb;
        long long t = 1000000000LL;

        token_bucket_init(&tb, 10, 100, t);
        for (int i = 0; i < 100; i++)
                assert_int_equal(token_bucket_reserve(&tb, t), 0);
        /* the burst is spent: the next ones wait 100 ms, 200 ms, ... (10/s) */
        assert_int_equal(token_bucket_reserve(&tb, t), 100000000LL);
        assert_int_equal(token_bucket_reserve(&tb, t), 200000000LL);
        /* one second later: 10 tokens came back, two of them already promised */
        t += 1000000000LL;
        for (int i = 0; i < 8; i++)
                assert_int_equal(token_bucket_reserve(&tb, t), 0);
        assert_int_equal(token_bucket_reserve(&tb, t), 100000000LL);
        /* never more than the burst saved up */
        t += 3600 * 1000000000LL;
        for (int i = 0; i < 100; i++)
                assert_int_equal(token_bucket_reserve(&tb, t), 0);
        assert_true(token_bucket_reserve(&tb, t) > 0);
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_add_after_orders_by_time_and_keeps_earliest(void **state)
{
        struct workqueue *q = new_queue();
        double t0 = now_s();
        char *k;

        wq_add_after(q, "late", 150);
        wq_add_after(q, "early", 50);
        wq_add_after(q, "late", 400); /* an earlier time is already set: kept */
        assert_int_equal(wq_len(q), 0);
        k = wq_get(q);
        assert_string_equal(k, "early");
        assert_true(now_s() - t0 >= 0.045);
        wq_done(q, k);
        k = wq_get(q);
        assert_string_equal(k, "late");
        assert_true(now_s() - t0 >= 0.145);
        wq_done(q, k);
        assert_int_equal(wq_len(q), 0);
        wq_free(q);
}

static void test_add_after_zero_is_immediate_and_deduplicated(void **state)
{
        struct workqueue *q = new_queue();
        char *k;

        wq_add(q, "a");
        wq_add_after(q, "a", 0);
        assert_int_equal(wq_len(q), 1);
        k = wq_get(q);
        wq_done(q, k);
        wq_free(q);
}

struct blocked {
        struct workqueue *q;
        char *got;
        atomic_bool returned;
};

static void *blocked_get(void *arg)
{
        struct blocked *b = arg;

        b->got = wq_get(b->q);
        atomic_store(&b->returned, true);
        return NULL;
}

static void test_shutdown_wakes_getters_and_drops_new_adds(void **state)
{
        struct workqueue *q = new_queue();
        struct blocked b = {.q = q};
        pthread_t t;

        pthread_create(&t, NULL, blocked_get, &b);
        usleep(50 * 1000);
        assert_false(atomic_load(&b.returned));
        wq_shutdown(q, false);
        pthread_join(t, NULL);
        assert_null(b.got);
        wq_add(q, "x");
        assert_int_equal(wq_len(q), 0);
        assert_true(wq_shutting_down(q));
        wq_free(q);
}

static void test_shutdown_hands_out_ready_keys_unless_discarding(void **state)
{
        struct workqueue *q = new_queue();
        char *k;

        wq_add(q, "a");
        wq_add(q, "b");
        wq_shutdown(q, false);
        k = wq_get(q);
        assert_string_equal(k, "a");
        wq_done(q, k);
        k = wq_get(q);
        assert_string_equal(k, "b");
        wq_done(q, k);
        assert_null(wq_get(q));
        wq_free(q);

        q = new_queue();
        wq_add(q, "a");
        wq_shutdown(q, true);
        assert_null(wq_get(q));
        wq_free(q);
}

struct slow_worker {
        struct workqueue *q;
        char *key;
};

static void *finish_later(void *arg)
{
        struct slow_worker *w = arg;

        usleep(100 * 1000);
        wq_done(w->q, w->key);
        return NULL;
}

static void test_wait_idle_waits_for_in_flight_work(void **state)
{
        struct workqueue *q = new_queue();
        struct slow_worker w = {.q = q};
        pthread_t t;

        wq_add(q, "a");
        w.key = wq_get(q);
        pthread_create(&t, NULL, finish_later, &w);
        wq_shutdown(q, true);
        assert_false(wq_wait_idle(q, 10)); /* still processing */
        assert_true(wq_wait_idle(q, 5000));
        pthread_join(t, NULL);
        wq_free(q);
}

/* ---- stress: many producers and workers; one key is never processed by two workers at
 * once, and every key added is processed after its last add ---- */

#define N_KEYS      32
#define N_PRODUCERS 4
#define N_WORKERS   6
#define ADDS        4000

struct stress {
        struct workqueue *q;
        atomic_int busy[N_KEYS];
        atomic_int violations;
        atomic_long last_add[N_KEYS];     /* sequence of the last add */
        atomic_long last_process[N_KEYS]; /* sequence seen when processing began */
        atomic_long seq;
};

static int key_index(const char *k)
{
        return atoi(k + 1); /* NOLINT(cert-err34-c): keys are written by this test */
}

static void *producer(void *arg)
{
        struct stress *s = arg;
        unsigned seed = (unsigned)(uintptr_t)pthread_self();

        for (int i = 0; i < ADDS; i++) {
                char k[8];
                int n = rand_r(&seed) % N_KEYS;
                snprintf(k, sizeof(k), "k%d", n);
                atomic_store(&s->last_add[n], atomic_fetch_add(&s->seq, 1) + 1);
                if (i % 7 == 0)
                        wq_add_after(s->q, k, rand_r(&seed) % 3);
                else
                        wq_add(s->q, k);
        }
        return NULL;
}

static void *stress_worker(void *arg)
{
        struct stress *s = arg;
        char *k;

        while ((k = wq_get(s->q))) {
                int n = key_index(k);
                if (atomic_fetch_add(&s->busy[n], 1) != 0)
                        atomic_fetch_add(&s->violations, 1);
                atomic_store(&s->last_process[n], atomic_load(&s->seq));
                if (n % 5 == 0)
                        usleep(50);
                atomic_fetch_sub(&s->busy[n], 1);
                wq_done(s->q, k);
        }
        return NULL;
}

static void test_concurrency_stress(void **state)
{
        struct stress *s = calloc(1, sizeof(*s));
        pthread_t prod[N_PRODUCERS], work[N_WORKERS];

        assert_int_equal(wq_new(&(struct wq_options){.name = "stress"}, &s->q), 0);
        for (int i = 0; i < N_WORKERS; i++)
                pthread_create(&work[i], NULL, stress_worker, s);
        for (int i = 0; i < N_PRODUCERS; i++)
                pthread_create(&prod[i], NULL, producer, s);
        for (int i = 0; i < N_PRODUCERS; i++)
                pthread_join(prod[i], NULL);
        /* let delayed adds come due and everything drain */
        for (int tries = 0; tries < 200 && (wq_len(s->q) > 0 || !wq_wait_idle(s->q, 10)); tries++)
                usleep(10 * 1000);
        usleep(20 * 1000);
        assert_true(wq_wait_idle(s->q, 5000));
        wq_shutdown(s->q, false);
        for (int i = 0; i < N_WORKERS; i++)
                pthread_join(work[i], NULL);
        assert_int_equal(atomic_load(&s->violations), 0);
        for (int i = 0; i < N_KEYS; i++)
                if (atomic_load(&s->last_add[i]))
                        assert_true(atomic_load(&s->last_process[i]) >=
                                    atomic_load(&s->last_add[i]));
        wq_free(s->q);
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duplicate_adds_are_processed_once),
                cmocka_unit_test(test_key_readded_while_processing_waits_and_runs_again),
                cmocka_unit_test(test_backoff_sequence),
                cmocka_unit_test(test_rate_limited_counts_failures_and_forget_resets),
                cmocka_unit_test(test_token_bucket),
                cmocka_unit_test(test_add_after_orders_by_time_and_keeps_earliest),
                cmocka_unit_test(test_add_after_zero_is_immediate_and_deduplicated),
                cmocka_unit_test(test_shutdown_wakes_getters_and_drops_new_adds),
                cmocka_unit_test(test_shutdown_hands_out_ready_keys_unless_discarding),
                cmocka_unit_test(test_wait_idle_waits_for_in_flight_work),
                cmocka_unit_test(test_concurrency_stress),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
