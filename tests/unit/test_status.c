/* SPDX-License-Identifier: Apache-2.0 */
/* What `status` says: a pod's cause from its status alone (the shapes the kubelet and the
 * scheduler write), and the text, coloured only when asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/pod_reason.h"
#include "status_report.h"
#include "util/json.h"

static const char *reason_of(const char *pod_json)
{
        static struct pod_cause c;
        cJSON *pod = cJSON_Parse(pod_json);
        cJSON *trimmed = cJSON_Duplicate(pod, true);
        struct pod_cause t;

        assert_non_null(pod);
        if (!pod_reason(pod, &c))
                snprintf(c.text, sizeof(c.text), "(ready)");
        /* what the caches keep of a pod says the same */
        pod_trim(trimmed);
        assert_int_equal(pod_reason(trimmed, &t), strcmp(c.text, "(ready)") != 0);
        if (t.text[0])
                assert_string_equal(t.text, c.text);
        cJSON_Delete(trimmed);
        cJSON_Delete(pod);
        return c.text;
}

static void test_unbound_claim_is_named(void **state)
{
        (void)state;
        assert_string_equal(
                reason_of("{\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":"
                          "\"PodScheduled\",\"status\":\"False\",\"reason\":\"Unschedulable\","
                          "\"message\":\"0/1 nodes are available: pod has unbound immediate "
                          "PersistentVolumeClaims. preemption: 0/1 nodes are "
                          "available.\\nmore\"}]}}"),
                "not scheduled: Unschedulable: 0/1 nodes are available: pod has unbound "
                "immediate PersistentVolumeClaims. preemption: 0/1 nodes are available.");
}

static void test_crash_loop_names_the_last_termination(void **state)
{
        (void)state;
        assert_string_equal(
                reason_of("{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
                          "\"PodScheduled\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":"
                          "\"False\",\"reason\":\"ContainersNotReady\"}],\"containerStatuses\":"
                          "[{\"name\":\"etcd\",\"ready\":false,\"state\":{\"waiting\":{\"reason\":"
                          "\"CrashLoopBackOff\",\"message\":\"back-off 5m0s\"}},\"lastState\":{"
                          "\"terminated\":{\"exitCode\":1,\"reason\":\"Error\",\"message\":"
                          "\"open /var/lib/etcd: permission denied\\nstack\"}}}]}}"),
                "container etcd: CrashLoopBackOff: exit code 1 (Error): open /var/lib/etcd: "
                "permission denied");
}

static void test_image_pull_and_probe(void **state)
{
        (void)state;
        assert_string_equal(
                reason_of("{\"status\":{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":"
                          "\"a\",\"ready\":false,\"state\":{\"waiting\":{\"reason\":"
                          "\"ImagePullBackOff\",\"message\":\"Back-off pulling image x:v9\"}}}]}}"),
                "container a: ImagePullBackOff: Back-off pulling image x:v9");
        assert_string_equal(
                reason_of("{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
                          "\"Ready\",\"status\":\"False\"}],\"containerStatuses\":[{\"name\":"
                          "\"a\",\"ready\":false,\"state\":{\"running\":{}}}]}}"),
                "container a: running, not ready (readiness probe)");
        /* an init container that finished is no cause; one that failed is */
        assert_string_equal(
                reason_of("{\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[{"
                          "\"name\":\"i\",\"state\":{\"terminated\":{\"exitCode\":0}}},{\"name\":"
                          "\"j\",\"state\":{\"terminated\":{\"exitCode\":2,\"message\":\"bad\"}}}]}"
                          "}"),
                "container j terminated: exit code 2: bad");
}

static void test_failures_are_told_from_starting(void **state)
{
        struct pod_cause c;
        cJSON *pod = cJSON_Parse(
                "{\"metadata\":{\"name\":\"p\",\"annotations\":{\"big\":\"x\"}},\"spec\":{"
                "\"containers\":[]},\"status\":{\"phase\":\"Pending\",\"podIP\":\"1.2.3.4\","
                "\"containerStatuses\":[{\"name\":\"a\",\"image\":\"i\",\"state\":{\"waiting\":"
                "{\"reason\":\"ContainerCreating\"}}}]}}");

        (void)state;
        assert_true(pod_reason(pod, &c));
        assert_string_equal(c.reason, "ContainerCreating");
        assert_false(pod_cause_is_failure(&c)); /* starting */
        pod_trim(pod);
        assert_null(json_at(pod, "spec", NULL));
        assert_null(json_at(pod, "metadata", "annotations"));
        assert_null(json_at(pod, "status", "podIP"));
        assert_string_equal(json_str(pod, "metadata", "name"), "p");
        snprintf(c.reason, sizeof(c.reason), "CrashLoopBackOff");
        assert_true(pod_cause_is_failure(&c));
        cJSON_Delete(pod);
}

static void test_ready_and_terminating(void **state)
{
        (void)state;
        assert_string_equal(reason_of("{\"status\":{\"phase\":\"Running\",\"conditions\":[{"
                                      "\"type\":\"Ready\",\"status\":\"True\"}]}}"),
                            "(ready)");
        assert_string_equal(reason_of("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:"
                                      "00Z\"},\"status\":{\"phase\":\"Running\"}}"),
                            "Terminating");
        /* nothing at all yet: the phase */
        assert_string_equal(reason_of("{}"), "Pending");
}

/* A pod it did not write, of any shape: a cause or none, never a crash */
static void test_malformed_pods(void **state)
{
        static const char *const bad[] = {
                "[]",
                "{\"status\":5}",
                "{\"metadata\":{\"deletionTimestamp\":7},\"status\":{\"phase\":[]}}",
                "{\"status\":{\"conditions\":\"x\",\"containerStatuses\":[1,\"a\",{\"state\":5},"
                "{\"state\":{\"waiting\":3}},{\"state\":{\"terminated\":{\"exitCode\":\"1\"}}}]}}",
                "{\"status\":{\"conditions\":[null,{\"type\":1},{\"type\":\"PodScheduled\","
                "\"status\":\"False\",\"message\":{}}]}}",
        };
        struct pod_cause c;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cJSON *pod = cJSON_Parse(bad[i]);
                assert_non_null(pod);
                assert_true(pod_reason(pod, &c)); /* none of them is a ready pod */
                assert_true(c.reason[0] && c.text[0]);
                pod_trim(pod);
                pod_reason(pod, &c);
                cJSON_Delete(pod);
        }
}

static char *printed(const char *report, bool color)
{
        cJSON *r = cJSON_Parse(report);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(r);
        assert_non_null(f);
        status_report_print(r, color, f);
        fclose(f);
        cJSON_Delete(r);
        return text;
}

static const char report[] =
        "{\"instances\":[{\"namespace\":\"ns\",\"name\":\"k\",\"healthy\":false,\"problems\":"
        "[\"k-scheduler: 0 of 1 replicas ready\"],\"version\":{\"running\":\"v1.18.2\","
        "\"wanted\":\"v1.18.2\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
        "\"reason\":\"Ready\",\"message\":\"\"}],\"apiServer\":{\"service\":\"k-apiserver\"},"
        "\"certificates\":{\"count\":0},\"backups\":{},\"components\":[{\"name\":\"k-scheduler\","
        "\"kind\":\"Deployment\",\"ready\":0,\"desired\":1,\"image\":\"s:v1\",\"podsNotReady\":"
        "[]}],\"memberClusters\":{\"reachable\":false,\"error\":\"timed out\"}}]}";

static void test_text_is_coloured_only_when_asked(void **state)
{
        char *plain = printed(report, false), *colored = printed(report, true);

        (void)state;
        assert_null(strchr(plain, '\033'));
        assert_non_null(strstr(plain, "Karmada ns/k: not healthy\n"));
        assert_non_null(strstr(plain, "  - k-scheduler: 0 of 1 replicas ready\n"));
        assert_non_null(strstr(plain, "Member clusters: not read (timed out)"));
        assert_non_null(strstr(colored, "\033[31mnot healthy\033[0m"));
        assert_non_null(strstr(colored, "\033[31m0/1"));
        free(plain);
        free(colored);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unbound_claim_is_named),
                cmocka_unit_test(test_crash_loop_names_the_last_termination),
                cmocka_unit_test(test_image_pull_and_probe),
                cmocka_unit_test(test_failures_are_told_from_starting),
                cmocka_unit_test(test_ready_and_terminating),
                cmocka_unit_test(test_malformed_pods),
                cmocka_unit_test(test_text_is_coloured_only_when_asked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
