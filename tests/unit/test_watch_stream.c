/* SPDX-License-Identifier: Apache-2.0 */
/* Watch framing and decoding: chunks split at every byte position give the same events; an
 * over-long line is an error, not a crash; ERROR events map to errnos (410 -> relist). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube/watch_stream.h"

#define EV(type, rv)                                                                              \
        "{\"type\":\"" type "\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"," \
        "\"resourceVersion\":\"" rv "\"}}}\n"

static const char stream[] = EV("ADDED", "10") "\n" EV("MODIFIED", "11") "\r\n" EV(
        "DELETED", "12") "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{"
                         "\"resourceVersion\":\"20\"}}}\n";

struct collected {
        char rvs[16][16];
        int types[16];
        int n;
};

static int collect(void *userdata, const char *line, size_t len)
{
        struct collected *c = userdata;
        enum kube_event_type type;
        cJSON *obj = NULL;
        const cJSON *rv;
        int r = kube_watch_decode(line, len, &type, &obj, NULL);

        if (r < 0)
                return r;
        if (c->n >= 16)
                return -ENOSPC;
        rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                              "resourceVersion");
        snprintf(c->rvs[c->n], sizeof(c->rvs[c->n]), "%s",
                 cJSON_IsString(rv) ? rv->valuestring : "?");
        c->types[c->n++] = (int)type;
        cJSON_Delete(obj);
        return 0;
}

static void assert_collected(const struct collected *c)
{
        assert_int_equal(c->n, 4);
        assert_int_equal(c->types[0], KUBE_EVENT_ADDED);
        assert_int_equal(c->types[1], KUBE_EVENT_MODIFIED);
        assert_int_equal(c->types[2], KUBE_EVENT_DELETED);
        assert_int_equal(c->types[3], KUBE_EVENT_BOOKMARK);
        assert_string_equal(c->rvs[0], "10");
        assert_string_equal(c->rvs[2], "12");
        assert_string_equal(c->rvs[3], "20");
}

static void test_split_at_every_position(void **state)
{
        size_t len = strlen(stream);

        for (size_t a = 0; a <= len; a++) {
                struct kube_framer f = {.max_line = 4096};
                struct collected c = {0};

                assert_int_equal(kube_framer_feed(&f, stream, a, collect, &c), 0);
                assert_int_equal(kube_framer_feed(&f, stream + a, len - a, collect, &c), 0);
                assert_int_equal(kube_framer_pending(&f), 0);
                assert_collected(&c);
                kube_framer_free(&f);
        }
}

static void test_split_into_single_bytes_and_three_parts(void **state)
{
        size_t len = strlen(stream);
        struct kube_framer f = {.max_line = 4096};
        struct collected c = {0};

        for (size_t i = 0; i < len; i++)
                assert_int_equal(kube_framer_feed(&f, stream + i, 1, collect, &c), 0);
        assert_collected(&c);
        kube_framer_free(&f);
        for (size_t a = 0; a < len; a += 7) {
                for (size_t b = a; b <= len; b += 13) {
                        struct kube_framer g = {.max_line = 4096};
                        struct collected d = {0};

                        assert_int_equal(kube_framer_feed(&g, stream, a, collect, &d), 0);
                        assert_int_equal(kube_framer_feed(&g, stream + a, b - a, collect, &d), 0);
                        assert_int_equal(kube_framer_feed(&g, stream + b, len - b, collect, &d), 0);
                        assert_collected(&d);
                        kube_framer_free(&g);
                }
        }
}

static void test_incomplete_line_stays_pending(void **state)
{
        struct kube_framer f = {.max_line = 4096};
        struct collected c = {0};

        assert_int_equal(kube_framer_feed(&f, "{\"type\":\"ADD", 12, collect, &c), 0);
        assert_int_equal(c.n, 0);
        assert_int_equal(kube_framer_pending(&f), 12);
        kube_framer_free(&f);
}

static void test_over_long_line_is_an_error(void **state)
{
        struct kube_framer f = {.max_line = 64};
        struct collected c = {0};
        char big[200];

        memset(big, 'a', sizeof(big));
        /* in one chunk, and growing over several chunks */
        assert_int_equal(kube_framer_feed(&f, big, sizeof(big), collect, &c), -E2BIG);
        kube_framer_reset(&f);
        assert_int_equal(kube_framer_feed(&f, big, 40, collect, &c), 0);
        assert_int_equal(kube_framer_feed(&f, big, 40, collect, &c), -E2BIG);
        assert_int_equal(kube_framer_pending(&f), 0);
        /* a line of exactly max_line is fine */
        kube_framer_reset(&f);
        assert_int_equal(kube_framer_feed(&f, big, 64, collect, &c), 0);
        kube_framer_free(&f);
}

static void test_callback_error_stops_feeding(void **state)
{
        struct kube_framer f = {.max_line = 4096};
        struct collected c = {0};
        const char *bad = "not json\n" EV("ADDED", "1");

        assert_int_equal(kube_framer_feed(&f, bad, strlen(bad), collect, &c), -EBADMSG);
        assert_int_equal(c.n, 0);
        kube_framer_free(&f);
}

static void test_error_event_410_means_relist(void **state)
{
        const char *line = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                           "\"v1\",\"status\":\"Failure\","
                           "\"message\":\"too old resource version: 5 "
                           "(300)\",\"reason\":\"Expired\",\"code\":410}}";
        struct kube_status st;
        enum kube_event_type type;
        cJSON *obj = NULL;

        assert_int_equal(kube_watch_decode(line, strlen(line), &type, &obj, &st), -ESTALE);
        assert_null(obj);
        assert_int_equal(st.code, 410);
        assert_string_equal(st.reason, "Expired");
        assert_non_null(strstr(st.message, "too old"));
}

static void test_other_error_events(void **state)
{
        const char *line = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"reason\":"
                           "\"InternalError\",\"code\":500,\"message\":\"boom\"}}";
        struct kube_status st;
        enum kube_event_type type;
        cJSON *obj = NULL;

        assert_int_equal(kube_watch_decode(line, strlen(line), &type, &obj, &st), -EIO);
        assert_string_equal(st.message, "boom");
}

static void test_malformed_events(void **state)
{
        static const char *const bad[] = {
                "{}",
                "[]",
                "{\"type\":\"ADDED\"}",
                "{\"type\":\"ADDED\",\"object\":\"x\"}",
                "{\"type\":\"WHAT\",\"object\":{}}",
                "{\"type\":1,\"object\":{}}",
                "{\"type\":\"ADDED\",\"object\":{",
        };
        enum kube_event_type type;
        cJSON *obj = NULL;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(kube_watch_decode(bad[i], strlen(bad[i]), &type, &obj, NULL),
                                 -EBADMSG);
                assert_null(obj);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_at_every_position),
                cmocka_unit_test(test_split_into_single_bytes_and_three_parts),
                cmocka_unit_test(test_incomplete_line_stays_pending),
                cmocka_unit_test(test_over_long_line_is_an_error),
                cmocka_unit_test(test_callback_error_stops_feeding),
                cmocka_unit_test(test_error_event_410_means_relist),
                cmocka_unit_test(test_other_error_events),
                cmocka_unit_test(test_malformed_events),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
