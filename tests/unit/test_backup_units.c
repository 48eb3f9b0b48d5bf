/* SPDX-License-Identifier: Apache-2.0 */
/* Pure pieces of backups: S3 request construction for libcurl's SigV4, retention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/retention.h"
#include "util/s3.h"
#include "util/strbuf.h"

static void expect_url(const struct s3_target *t, const char *key, const struct s3_param *p,
                       size_t n, const char *want)
{
        struct strbuf b = {0};

        assert_int_equal(s3_url(&b, t, key, p, n), 0);
        if (strcmp(b.buf, want) != 0)
                fail_msg("got  %s\nwant %s", b.buf, want);
        strbuf_free(&b);
}

static void test_s3_urls(void **state)
{
        const struct s3_target path = {"http://127.0.0.1:7070/", "backups", NULL, true};
        const struct s3_target vhost = {"https://s3.eu-west-1.amazonaws.com", "b", "eu-west-1",
                                        false};
        struct strbuf b = {0};

        (void)state;
        expect_url(&path, "karmada/demo/2026-11-28T00:00:00Z.db", NULL, 0,
                   "http://127.0.0.1:7070/backups/karmada/demo/2026-11-28T00%3A00%3A00Z.db");
        /* keys: RFC 3986, "/" kept, no "+" for space */
        expect_url(&path, "/a b/ü+x~y", NULL, 0,
                   "http://127.0.0.1:7070/backups/a%20b/%C3%BC%2Bx~y");
        expect_url(&vhost, "k", NULL, 0, "https://b.s3.eu-west-1.amazonaws.com/k");
        /* the query sorted by name, then value; a bare name gets "=" */
        expect_url(&path, "k",
                   (const struct s3_param[]){{"uploadId", "x/y="}, {"partNumber", "10"}}, 2,
                   "http://127.0.0.1:7070/backups/k?partNumber=10&uploadId=x%2Fy%3D");
        expect_url(&path, "k", (const struct s3_param[]){{"uploads", NULL}}, 1,
                   "http://127.0.0.1:7070/backups/k?uploads=");
        expect_url(&path, NULL,
                   (const struct s3_param[]){{"prefix", "karmada/demo/"},
                                             {"list-type", "2"},
                                             {"continuation-token", "a b"}},
                   3,
                   "http://127.0.0.1:7070/backups/"
                   "?continuation-token=a%20b&list-type=2&prefix=karmada%2Fdemo%2F");
        assert_int_equal(s3_sigv4_param(&b, &path), 0);
        assert_string_equal(b.buf, "aws:amz:us-east-1:s3");
        strbuf_free(&b);
        assert_int_equal(s3_sigv4_param(&b, &vhost), 0);
        assert_string_equal(b.buf, "aws:amz:eu-west-1:s3");
        strbuf_free(&b);
        assert_int_equal(
                s3_url(&b, &(struct s3_target){"127.0.0.1", "b", NULL, true}, "k", NULL, 0), -22);
        strbuf_free(&b);
}

static void test_retention(void **state)
{
        const long long now = 1000000;
        struct ko_backup_item it[] = {
                {"b1", now - 500, true, false},  {"b2", now - 400, true, false},
                {"f1", now - 350, false, false}, {"b3", now - 300, true, false},
                {"b4", now - 200, true, false},  {"b5", now - 100, true, false},
                {"f2", now - 50, false, false}, /* newer than every success: kept */
        };
        const size_t n = sizeof(it) / sizeof(it[0]);

        (void)state;
        /* keep the 3 newest successes; failures older than the newest success go */
        assert_int_equal(ko_retention_select(it, n, 3, 0, now), 3);
        assert_true(it[0].remove && it[1].remove && it[2].remove);
        assert_false(it[3].remove || it[4].remove || it[5].remove || it[6].remove);
        /* by age: older than 250 s */
        assert_int_equal(ko_retention_select(it, n, 0, 250, now), 4);
        assert_true(it[0].remove && it[1].remove && it[2].remove && it[3].remove);
        /* no limits: only the failure before the newest success */
        assert_int_equal(ko_retention_select(it, n, 0, 0, now), 1);
        assert_true(it[2].remove);
        /* everything too old: the newest success stays all the same */
        assert_int_equal(ko_retention_select(it, n, 1, 10, now), 5);
        assert_false(it[5].remove);
        assert_false(it[6].remove);
        /* no success at all: nothing removed */
        struct ko_backup_item failed[] = {{"f", 1, false, false}, {"g", 2, false, false}};
        assert_int_equal(ko_retention_select(failed, 2, 1, 1, now), 0);
        /* equal times: exactly keep_last kept */
        struct ko_backup_item same[] = {
                {"a", 5, true, false}, {"b", 5, true, false}, {"c", 5, true, false}};
        assert_int_equal(ko_retention_select(same, 3, 2, 0, now), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_s3_urls),
                cmocka_unit_test(test_retention),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
