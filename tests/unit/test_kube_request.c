/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parts of the API client: URL and query building, Status parsing, errno mapping and the
 * retry policy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube/client.h"
#include "kube/portforward.h"
#include "kube/resource.h"
#include "kube/status.h"
#include "util/retry.h"

static const struct kube_resource karmadas = {.group = "operator.karmada.io",
                                              .version = "v1alpha1",
                                              .resource = "karmadas",
                                              .kind = "Karmada",
                                              .namespaced = true};

static void assert_path(const struct kube_resource *r, const char *ns, const char *name,
                        const char *sub, const char *expect)
{
        struct strbuf sb = {0};

        assert_int_equal(kube_resource_path(&sb, r, ns, name, sub), 0);
        assert_string_equal(sb.buf, expect);
        strbuf_free(&sb);
}

static void test_paths_for_core_grouped_namespaced_and_cluster_scoped(void **state)
{
        assert_path(&kube_configmaps, "default", "cm", NULL,
                    "/api/v1/namespaces/default/configmaps/cm");
        assert_path(&kube_configmaps, NULL, NULL, NULL, "/api/v1/configmaps");
        assert_path(&kube_namespaces, "ignored", "kube-system", NULL,
                    "/api/v1/namespaces/kube-system");
        assert_path(&kube_deployments, "ns", "d", "status",
                    "/apis/apps/v1/namespaces/ns/deployments/d/status");
        assert_path(&kube_crds, NULL, "karmadas.operator.karmada.io", NULL,
                    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                    "karmadas.operator.karmada.io");
        assert_path(&karmadas, "team-a", NULL, NULL,
                    "/apis/operator.karmada.io/v1alpha1/namespaces/team-a/karmadas");
}

static void test_path_segments_are_escaped_and_validated(void **state)
{
        struct strbuf sb = {0};

        assert_path(&kube_configmaps, "ns", "a b/c?d", NULL,
                    "/api/v1/namespaces/ns/configmaps/a%20b%2Fc%3Fd");
        assert_int_equal(kube_resource_path(&sb, &kube_configmaps, "ns", "..", NULL), -EINVAL);
        strbuf_free(&sb);
        assert_int_equal(kube_resource_path(&sb, &kube_configmaps, NULL, "cm", NULL), -EINVAL);
        strbuf_free(&sb);
        assert_int_equal(kube_resource_path(&sb, &kube_configmaps, "ns", NULL, "status"), -EINVAL);
        strbuf_free(&sb);
}

static void test_query_building(void **state)
{
        struct strbuf sb = {0};

        strbuf_puts(&sb, "/api/v1/pods");
        assert_int_equal(kube_query_add(&sb, "labelSelector", "app in (a,b),tier!=db"), 0);
        assert_int_equal(kube_query_add(&sb, "skipped", NULL), 0);
        assert_int_equal(kube_query_add(&sb, "continue", "eyJ2Ijo+/="), 0);
        assert_string_equal(sb.buf,
                            "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb"
                            "&continue=eyJ2Ijo%2B%2F%3D");
        strbuf_free(&sb);
}

static void test_api_version(void **state)
{
        char buf[64];

        assert_string_equal(kube_resource_api_version(&kube_pods, buf, sizeof(buf)), "v1");
        assert_string_equal(kube_resource_api_version(&karmadas, buf, sizeof(buf)),
                            "operator.karmada.io/v1alpha1");
}

static void test_status_body_is_parsed(void **state)
{
        const char *body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                           "\"message\":\"configmaps \\\"x\\\" not found\",\"reason\":\"NotFound\","
                           "\"details\":{\"name\":\"x\",\"kind\":\"configmaps\"},\"code\":404}";
        struct kube_status st;

        kube_status_from_response(&st, 404, body, strlen(body));
        assert_int_equal(st.code, 404);
        assert_string_equal(st.reason, "NotFound");
        assert_string_equal(st.message, "configmaps \"x\" not found");
        assert_int_equal(kube_status_errno(&st), -ENOENT);
}

static void test_non_status_error_body_is_kept_short(void **state)
{
        char body[1000];
        struct kube_status st;

        memset(body, 'x', sizeof(body));
        kube_status_from_response(&st, 502, body, sizeof(body));
        assert_int_equal(st.code, 502);
        assert_string_equal(st.reason, "");
        assert_true(strncmp(st.message, "HTTP 502: xxx", 13) == 0);
        assert_true(strlen(st.message) < sizeof(st.message));
        assert_int_equal(kube_status_errno(&st), -EIO);
}

static void test_errno_mapping(void **state)
{
        struct kube_status st = {0};
        static const struct {
                const char *reason;
                int code;
                int err;
        } cases[] = {
                {"", 200, 0},
                {"", 201, 0},
                {"BadRequest", 400, -EINVAL},
                {"", 401, -EACCES},
                {"", 403, -EPERM},
                {"NotFound", 404, -ENOENT},
                {"AlreadyExists", 409, -EEXIST},
                {"Conflict", 409, -EBUSY},
                {"Expired", 410, -ESTALE},
                {"", 413, -E2BIG},
                {"Invalid", 422, -EINVAL},
                {"", 429, -EAGAIN},
                {"", 500, -EIO},
                {"", 503, -EIO},
                {"", 504, -ETIMEDOUT},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                st.code = cases[i].code;
                snprintf(st.reason, sizeof(st.reason), "%s", cases[i].reason);
                assert_int_equal(kube_status_errno(&st), cases[i].err);
        }
}

static void test_transport_error_names_the_url(void **state)
{
        struct kube_status st;

        kube_status_transport(&st, "GET", "https://127.0.0.1:6443/api/v1/pods",
                              "Connection refused");
        assert_int_equal(st.code, 0);
        assert_string_equal(st.message,
                            "GET https://127.0.0.1:6443/api/v1/pods: Connection refused");
        /* libcurl's time taken is left out: the same failure reads the same */
        kube_status_transport(&st, "GET", "https://127.0.0.1:1/readyz",
                              "Failed to connect to 127.0.0.1 port 1 after 12 ms: Couldn't "
                              "connect to server");
        assert_string_equal(st.message, "GET https://127.0.0.1:1/readyz: Failed to connect to "
                                        "127.0.0.1 port 1: Couldn't connect to server");
}

static void test_retry_decisions(void **state)
{
        /* nothing reached the server, or it refused with 429: any verb */
        assert_true(kube_should_retry(KUBE_RETRY_NEVER_SENT, false, 0, 5));
        assert_true(kube_should_retry(KUBE_RETRY_THROTTLED, false, 4, 5));
        /* the server may have acted: only verbs safe to repeat */
        assert_true(kube_should_retry(KUBE_RETRY_SERVER, true, 0, 5));
        assert_false(kube_should_retry(KUBE_RETRY_SERVER, false, 0, 5));
        assert_false(kube_should_retry(KUBE_RETRY_NO, true, 0, 5));
        /* bounded */
        assert_false(kube_should_retry(KUBE_RETRY_THROTTLED, true, 5, 5));
        assert_false(kube_should_retry(KUBE_RETRY_NEVER_SENT, true, 0, 0));
}

static void test_retry_delays(void **state)
{
        assert_int_equal(retry_delay_ms(0, -1, 0), 200);
        assert_int_equal(retry_delay_ms(1, -1, 0), 400);
        assert_int_equal(retry_delay_ms(3, -1, 0), 1600);
        assert_int_equal(retry_delay_ms(10, -1, 0), 5000);
        assert_int_equal(retry_delay_ms(0, -1, 0.5), 225);
        assert_true(retry_delay_ms(10, -1, 0.99) <= 6250);
        assert_int_equal(retry_delay_ms(0, 3, 0.7), 3000); /* Retry-After wins */
        assert_int_equal(retry_delay_ms(0, 0, 0.7), 0);
        assert_int_equal(retry_delay_ms(0, 3600, 0), 30000); /* capped */
}

static void test_retry_after_parsing(void **state)
{
        assert_int_equal(retry_parse_after(" 7\r\n"), 7);
        assert_int_equal(retry_parse_after("0"), 0);
        assert_int_equal(retry_parse_after("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
        assert_int_equal(retry_parse_after("-1"), -1);
        assert_int_equal(retry_parse_after("5s"), -1);
        assert_int_equal(retry_parse_after(NULL), -1);
}

static void test_resource_versions_order_as_integers(void **state)
{
        static const struct {
                const char *a, *b;
                int want; /* -2: not comparable */
        } cases[] = {
                {"1", "1", 0},
                {"9", "10", -1},
                {"100", "99", 1},
                {"123456789012345678901234567890", "123456789012345678901234567891", -1},
                {"42", "41", 1},
                {"0", "1", -2},  /* zero is never a live version */
                {"01", "1", -2}, /* leading zeros */
                {"12a", "12", -2},
                {"", "1", -2},
                {"-1", "1", -2},
                {NULL, "1", -2},
        };
        int r;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                r = 7;
                if (cases[i].want == -2) {
                        assert_int_equal(kube_rv_compare(cases[i].a, cases[i].b, &r), -EINVAL);
                        assert_int_equal(kube_rv_compare(cases[i].b, cases[i].a, &r), -EINVAL);
                        continue;
                }
                assert_int_equal(kube_rv_compare(cases[i].a, cases[i].b, &r), 0);
                assert_int_equal(r, cases[i].want);
                assert_int_equal(kube_rv_compare(cases[i].b, cases[i].a, &r), 0);
                assert_int_equal(r, -cases[i].want);
        }
}

/* A port-forward to a server URL that cannot be one: refused before anything is sent */
static void test_port_forward_refuses_bad_servers(void **state)
{
        static const char *const bad[] = {"https://",    "https://:6443",   "https://[::1",
                                          "https://h:0", "https://h:99999", "no-scheme"};

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct kube_config cfg = {.server = (char *)bad[i]};
                struct kube_client *c = NULL;
                struct kube_port_forward *pf = NULL;
                struct kube_status st;

                assert_int_equal(kube_client_new(&(struct kube_client_options){.config = &cfg}, &c),
                                 0);
                assert_int_equal(kube_port_forward_open(c, "ns", "pod", 2379, &pf, &st), -EINVAL);
                assert_null(pf);
                assert_non_null(strstr(st.message, "not a server URL"));
                kube_client_free(c);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_paths_for_core_grouped_namespaced_and_cluster_scoped),
                cmocka_unit_test(test_path_segments_are_escaped_and_validated),
                cmocka_unit_test(test_query_building),
                cmocka_unit_test(test_api_version),
                cmocka_unit_test(test_resource_versions_order_as_integers),
                cmocka_unit_test(test_port_forward_refuses_bad_servers),
                cmocka_unit_test(test_status_body_is_parsed),
                cmocka_unit_test(test_non_status_error_body_is_kept_short),
                cmocka_unit_test(test_errno_mapping),
                cmocka_unit_test(test_transport_error_names_the_url),
                cmocka_unit_test(test_retry_decisions),
                cmocka_unit_test(test_retry_delays),
                cmocka_unit_test(test_retry_after_parsing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
