/* SPDX-License-Identifier: Apache-2.0 */
/* Log line formats (logfmt, JSON) and redaction of keys and tokens. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "runtime/log.h"

static void test_logfmt_line(void **state)
{
        const char *kv[] = {"key", "ns/name", "error", "connection \"refused\"\nnext", "empty", ""};
        char *line = log_format_line(LOG_FORMAT_LOGFMT, LOG_LEVEL_WARN, "apply failed", kv, 6);

        assert_true(strncmp(line, "time=20", 7) == 0);
        assert_non_null(strstr(line, " level=warn msg=\"apply failed\" key=ns/name "
                                     "error=\"connection \\\"refused\\\"\\nnext\" empty=\"\"\n"));
        assert_null(strchr(line, '\n') == line + strlen(line) - 1 ? NULL : line); /* one line */
        free(line);
}

static void test_json_line_is_valid_json(void **state)
{
        const char *kv[] = {"karmada", "team-a/demo", "detail", "tab\there \"q\" \x01"};
        char *line = log_format_line(LOG_FORMAT_JSON, LOG_LEVEL_ERROR, "reconcile failed", kv, 4);
        cJSON *j = cJSON_Parse(line);

        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "error");
        assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring, "reconcile failed");
        assert_string_equal(cJSON_GetObjectItem(j, "karmada")->valuestring, "team-a/demo");
        assert_string_equal(cJSON_GetObjectItem(j, "detail")->valuestring, "tab\there \"q\" \x01");
        assert_non_null(cJSON_GetObjectItem(j, "time"));
        cJSON_Delete(j);
        free(line);
}

static void test_private_keys_and_tokens_never_logged(void **state)
{
        static const char *const secrets[][2] = {
                {"data",
                 "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"},
                {"data", "-----BEGIN RSA PRIVATE KEY-----\nabc"},
                {"data", "-----BEGIN EC PRIVATE KEY-----\nabc"},
                {"header", "Authorization: Bearer abcdef0123456789"},
                {"jwt", "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0."
                        "c2lnbmF0dXJlc2lnbmF0dXJl"},
                {"token", "anything at all"},
                {"client-key-data", "LS0tLS1CRUdJTi"},
                {"password", "hunter2"},
        };

        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
                const char *kv[] = {secrets[i][0], secrets[i][1]};
                char *a = log_format_line(LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO, "m", kv, 2);
                char *b = log_format_line(LOG_FORMAT_JSON, LOG_LEVEL_INFO, "m", kv, 2);
                const char *probe = strlen(secrets[i][1]) > 12 ? secrets[i][1] + 10 : secrets[i][1];

                if (strstr(a, probe) || strstr(b, probe))
                        fail_msg("secret %zu leaked: %s %s", i, a, b);
                assert_non_null(strstr(a, "redacted"));
                free(a);
                free(b);
        }
        /* ordinary values pass */
        assert_string_equal(log_scrub("karmada", "team-a/demo"), "team-a/demo");
        assert_string_equal(log_scrub("certificate", "-----BEGIN CERTIFICATE-----"),
                            "-----BEGIN CERTIFICATE-----");
}

static void test_level_and_format_parsing(void **state)
{
        enum log_level l;
        enum log_format f;

        assert_int_equal(log_parse_level("debug", &l), 0);
        assert_int_equal(l, LOG_LEVEL_DEBUG);
        assert_int_equal(log_parse_level("loud", &l), -EINVAL);
        assert_int_equal(log_parse_format("json", &f), 0);
        assert_int_equal(f, LOG_FORMAT_JSON);
        assert_int_equal(log_parse_format("xml", &f), -EINVAL);
        log_setup(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT);
        assert_false(log_enabled(LOG_LEVEL_INFO));
        assert_true(log_enabled(LOG_LEVEL_ERROR));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_logfmt_line),
                cmocka_unit_test(test_json_line_is_valid_json),
                cmocka_unit_test(test_private_keys_and_tokens_never_logged),
                cmocka_unit_test(test_level_and_format_parsing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
