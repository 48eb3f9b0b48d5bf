/* SPDX-License-Identifier: Apache-2.0 */
/* The key pool: keys made ahead by threads at nice 19, each handed out once, per type, made at
 * once when the pool is empty or not started. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/keypool.h"

/* Wait (up to 60 s) until the pool holds n keys of type t */
static void wait_ready(enum keypool_type t, int n)
{
        struct keypool_stats st;

        for (int i = 0; i < 600; i++) {
                keypool_stats(&st);
                if (st.ready[t] == n)
                        return;
                usleep(100 * 1000);
        }
        fail_msg("the pool holds %d keys of type %d after 60 s, not %d", st.ready[t], t, n);
}

static bool is_type(EVP_PKEY *k, enum keypool_type t)
{
        return t == KEYPOOL_ECDSA_P256
                       ? EVP_PKEY_get_base_id(k) == EVP_PKEY_EC
                       : EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA && EVP_PKEY_get_bits(k) == 3072;
}

/* Threads of this process at nice 19 (field 19 of /proc/self/task/TID/stat) */
static int threads_at_nice_19(void)
{
        DIR *d = opendir("/proc/self/task");
        struct dirent *e;
        int n = 0;

        assert_non_null(d);
        while ((e = readdir(d))) {
                char path[300], buf[1024], *p;
                FILE *f;
                long nice = 0;

                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
                        /* after "pid (comm)": state is field 3, nice field 19 */
                        for (int field = 2; field < 19 && p; field++)
                                p = strchr(p + 1, ' ');
                        nice = p ? strtol(p + 1, NULL, 10) : 0;
                }
                fclose(f);
                n += nice == 19;
        }
        closedir(d);
        return n;
}

/* Wait (up to 10 s) until n threads run at nice 19 */
static void wait_nice_19(int n)
{
        for (int i = 0; i < 100 && threads_at_nice_19() != n; i++)
                usleep(100 * 1000);
        assert_int_equal(threads_at_nice_19(), n);
}

static void test_not_started_makes_keys(void **state)
{
        struct keypool_stats before, after;
        EVP_PKEY *k;

        (void)state;
        keypool_stats(&before);
        k = keypool_take(KEYPOOL_ECDSA_P256);
        assert_non_null(k);
        assert_true(is_type(k, KEYPOOL_ECDSA_P256));
        keypool_stats(&after);
        assert_int_equal(after.made[KEYPOOL_ECDSA_P256], before.made[KEYPOOL_ECDSA_P256] + 1);
        assert_int_equal(after.ready[KEYPOOL_ECDSA_P256], 0);
        EVP_PKEY_free(k);
        assert_null(keypool_take((enum keypool_type)KEYPOOL_TYPES));
}

static void test_bad_start(void **state)
{
        (void)state;
        assert_int_equal(keypool_start(-1, 0, KEYPOOL_RSA3072), -EINVAL);
        assert_int_equal(keypool_start(2, -1, KEYPOOL_RSA3072), -EINVAL);
        assert_int_equal(keypool_start(2, 0, (enum keypool_type)KEYPOOL_TYPES), -EINVAL);
        assert_int_equal(keypool_start(0, 0, KEYPOOL_RSA3072), 0); /* none: made when needed */
        assert_int_equal(threads_at_nice_19(), 0);
        assert_int_equal(keypool_start(1, 1, KEYPOOL_ECDSA_P256), 0);
        assert_int_equal(keypool_start(1, 1, KEYPOOL_ECDSA_P256), -EALREADY);
        keypool_stop();
}

/* Filled to its size with the first type only, by threads at nice 19; each key handed out
 * once (no two alike), from the pool, which fills again */
static void test_fills_and_hands_out_once(void **state)
{
        struct keypool_stats before, st;
        EVP_PKEY *k[6];

        (void)state;
        keypool_stats(&before);
        assert_int_equal(keypool_start(3, 2, KEYPOOL_ECDSA_P256), 0);
        wait_nice_19(2);
        wait_ready(KEYPOOL_ECDSA_P256, 3);
        usleep(200 * 1000);
        keypool_stats(&st);
        assert_int_equal(st.ready[KEYPOOL_ECDSA_P256], 3); /* never above its size */
        assert_int_equal(st.ready[KEYPOOL_RSA3072], 0);    /* not asked for */
        for (int i = 0; i < 3; i++)
                k[i] = keypool_take(KEYPOOL_ECDSA_P256);
        keypool_stats(&st);
        assert_int_equal(st.taken[KEYPOOL_ECDSA_P256], before.taken[KEYPOOL_ECDSA_P256] + 3);
        assert_int_equal(st.made[KEYPOOL_ECDSA_P256], before.made[KEYPOOL_ECDSA_P256]);
        wait_ready(KEYPOOL_ECDSA_P256, 3);
        for (int i = 3; i < 6; i++)
                k[i] = keypool_take(KEYPOOL_ECDSA_P256);
        for (int i = 0; i < 6; i++) {
                assert_non_null(k[i]);
                assert_true(is_type(k[i], KEYPOOL_ECDSA_P256));
                for (int j = 0; j < i; j++)
                        assert_int_not_equal(EVP_PKEY_eq(k[i], k[j]), 1);
        }
        for (int i = 0; i < 6; i++)
                EVP_PKEY_free(k[i]);
        keypool_stop();
        assert_int_equal(threads_at_nice_19(), 0);
        keypool_stats(&st);
        assert_int_equal(st.ready[KEYPOOL_ECDSA_P256], 0);
}

/* A type first asked for when its pool is empty: made at once, then kept ahead too */
static void test_second_type_on_demand(void **state)
{
        struct keypool_stats before, st;
        EVP_PKEY *k;

        (void)state;
        keypool_stats(&before);
        assert_int_equal(keypool_start(1, 1, KEYPOOL_ECDSA_P256), 0);
        k = keypool_take(KEYPOOL_RSA3072);
        assert_non_null(k);
        assert_true(is_type(k, KEYPOOL_RSA3072));
        keypool_stats(&st);
        assert_int_equal(st.made[KEYPOOL_RSA3072], before.made[KEYPOOL_RSA3072] + 1);
        wait_ready(KEYPOOL_RSA3072, 1);
        wait_ready(KEYPOOL_ECDSA_P256, 1);
        EVP_PKEY_free(k);
        k = keypool_take(KEYPOOL_RSA3072);
        assert_true(is_type(k, KEYPOOL_RSA3072));
        keypool_stats(&st);
        assert_int_equal(st.taken[KEYPOOL_RSA3072], before.taken[KEYPOOL_RSA3072] + 1);
        EVP_PKEY_free(k);
        keypool_stop(); /* an RSA key being made again is abandoned, the kept one freed */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_started_makes_keys),
                cmocka_unit_test(test_bad_start),
                cmocka_unit_test(test_fills_and_hands_out_once),
                cmocka_unit_test(test_second_type_on_demand),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
