/* SPDX-License-Identifier: Apache-2.0 */
/* Pure pieces of backups: S3 request construction for libcurl's SigV4, retention. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/backup_spec.h"
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
        struct backup_spec_item it[] = {
                {"b1", now - 500, true, false},  {"b2", now - 400, true, false},
                {"f1", now - 350, false, false}, {"b3", now - 300, true, false},
                {"b4", now - 200, true, false},  {"b5", now - 100, true, false},
                {"f2", now - 50, false, false}, /* newer than every success: kept */
        };
        const size_t n = sizeof(it) / sizeof(it[0]);

        (void)state;
        /* keep the 3 newest successes; failures older than the newest success go */
        assert_int_equal(retention_select(it, n, 3, 0, now), 3);
        assert_true(it[0].remove && it[1].remove && it[2].remove);
        assert_false(it[3].remove || it[4].remove || it[5].remove || it[6].remove);
        /* by age: older than 250 s */
        assert_int_equal(retention_select(it, n, 0, 250, now), 4);
        assert_true(it[0].remove && it[1].remove && it[2].remove && it[3].remove);
        /* no limits: only the failure before the newest success */
        assert_int_equal(retention_select(it, n, 0, 0, now), 1);
        assert_true(it[2].remove);
        /* everything too old: the newest success stays all the same */
        assert_int_equal(retention_select(it, n, 1, 10, now), 5);
        assert_false(it[5].remove);
        assert_false(it[6].remove);
        /* no success at all: nothing removed */
        struct backup_spec_item failed[] = {{"f", 1, false, false}, {"g", 2, false, false}};
        assert_int_equal(retention_select(failed, 2, 1, 1, now), 0);
        /* equal times: exactly keep_last kept */
        struct backup_spec_item same[] = {
                {"a", 5, true, false}, {"b", 5, true, false}, {"c", 5, true, false}};
        assert_int_equal(retention_select(same, 3, 2, 0, now), 1);
}

static struct backup_spec *parse_backup(const char *json, int want, const char *const *needles)
{
        struct karmada_spec_error err = {{0}};
        struct backup_spec *b = NULL;
        cJSON *o = cJSON_Parse(json);

        assert_non_null(o);
        assert_int_equal(backup_spec_parse(o, &b, &err), want);
        for (; needles && *needles; needles++)
                if (!strstr(err.message, *needles))
                        fail_msg("error \"%s\" lacks \"%s\"", err.message, *needles);
        cJSON_Delete(o);
        return b;
}

/* a KarmadaBackup, typed: defaults, status, and every missing field named */
static void test_backup_spec(void **state)
{
        struct backup_spec *b;

        (void)state;
        b = parse_backup("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"one\",\"uid\":\"u-1\","
                         "\"generation\":2},\"spec\":{\"karmadaRef\":{\"name\":\"k\"},"
                         "\"encryptionKeySecretRef\":{\"name\":\"key\"},\"s3\":{\"endpoint\":"
                         "\"https://s3.example\",\"bucket\":\"b\",\"prefix\":\"p\","
                         "\"forcePathStyle\":true,\"credentialsSecretRef\":{\"name\":\"c\"}}},"
                         "\"status\":{\"phase\":\"Completed\",\"objectKey\":\"p/etcd.db\"}}",
                         0, NULL);
        assert_non_null(b);
        assert_string_equal(b->karmada, "k");
        assert_string_equal(b->key_key, "key"); /* the default */
        assert_string_equal(b->s3.prefix, "p");
        assert_true(b->s3.path_style);
        assert_null(b->s3.region);
        assert_string_equal(b->s3.credentials, "c");
        assert_string_equal(b->phase, "Completed");
        assert_string_equal(b->object_key, "p/etcd.db");
        assert_null(b->pki_object_key);
        assert_int_equal(b->generation, 2);
        backup_spec_free(b);
        assert_null(parse_backup("{\"metadata\":{\"name\":\"x\"},\"spec\":{}}", -EINVAL,
                                 (const char *const[]){"spec.karmadaRef.name: required",
                                                       "spec.encryptionKeySecretRef.name: required",
                                                       "spec.s3: required", NULL}));
        assert_null(parse_backup(
                "{\"spec\":{\"karmadaRef\":{\"name\":\"k\"},"
                "\"encryptionKeySecretRef\":{\"name\":\"key\"},\"s3\":{"
                "\"endpoint\":\"s3.example\",\"bucket\":\"\"}}}",
                -EINVAL,
                (const char *const[]){"spec.s3.endpoint: \"s3.example\" is not",
                                      "spec.s3.bucket: required",
                                      "spec.s3.credentialsSecretRef.name: required", NULL}));
}

/* the client of a location: the CA bundle decoded from base64, a bad one named */
static void test_s3_open(void **state)
{
        struct s3_location loc = {.endpoint = "https://s3.example",
                                  .bucket = "b",
                                  .ca_bundle = "LS0tLS1CRUdJTg=="}; /* "-----BEGIN" */
        char why[256] = "";
        struct s3_bucket s3;

        (void)state;
        assert_int_equal(s3_location_open(&loc, "AK", "SK", &s3, why, sizeof(why)), 0);
        assert_int_equal(s3.c.ca_len, 10);
        assert_memory_equal(s3.c.ca_pem, "-----BEGIN", 10);
        assert_string_equal(s3.c.secret_key, "SK");
        assert_string_equal(s3.c.target.bucket, "b");
        s3_location_close(&s3);
        assert_null(s3.secret_key);
        loc.ca_bundle = "not base64!";
        assert_int_equal(s3_location_open(&loc, "AK", "SK", &s3, why, sizeof(why)), -EINVAL);
        assert_non_null(strstr(why, "spec.s3.caBundle"));
}

/* a backup from a schedule's template, of the instance asked for */
static void test_backup_from_template(void **state)
{
        cJSON *sched = cJSON_Parse("{\"spec\":{\"template\":{\"spec\":{\"karmadaRef\":{"
                                   "\"name\":\"other\"},\"s3\":{\"bucket\":\"b\"}}}}}");
        cJSON *b = backup_spec_from_template(sched, "pre-1", "mine");
        cJSON *c = backup_spec_from_template(sched, "sched-1", NULL);

        (void)state;
        assert_string_equal(cJSON_GetObjectItem(b, "kind")->valuestring, "KarmadaBackup");
        assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name")->valuestring,
                "pre-1");
        assert_string_equal(
                cJSON_GetObjectItem(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "spec"), "karmadaRef"), "name")
                        ->valuestring,
                "mine");
        assert_string_equal(
                cJSON_GetObjectItem(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "spec"), "karmadaRef"), "name")
                        ->valuestring,
                "other");
        cJSON_Delete(b);
        cJSON_Delete(c);
        cJSON_Delete(sched);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_s3_urls),
                cmocka_unit_test(test_retention),
                cmocka_unit_test(test_backup_spec),
                cmocka_unit_test(test_s3_open),
                cmocka_unit_test(test_backup_from_template),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
