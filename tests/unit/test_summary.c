/* SPDX-License-Identifier: Apache-2.0 */
/* The status of a Karmada object as a pure function of one reconcile's steps and plan: Ready,
 * Progressing, Failed, Degraded; an upgrade in progress, past its step's deadline, rolled back;
 * suspended and refused; lastTransitionTime moves only on a flip; observedGeneration; the Events
 * to send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/conditions.h"
#include "karmada_controller/internal.h"
#include "karmada_controller/summary.h"
#include "util/json.h"

static const struct reconciler rec_etcd = {.name = "etcd", .condition = "EtcdReady"};
static const struct reconciler rec_api = {.name = "karmada-apiserver",
                                          .condition = "KarmadaAPIServerReady"};
static const struct reconciler rec_plain = {.name = "karmada-webhook"}; /* no condition */
static const struct reconciler rec_off = {.name = "karmada-search", .condition = "SearchReady"};

static struct karmada *parse(const char *version, long long generation)
{
        char buf[512];
        struct karmada_spec_error err = {{0}};
        struct karmada *k = NULL;
        cJSON *doc;

        snprintf(buf, sizeof(buf),
                 "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                 "\"metadata\":{\"name\":\"demo\",\"namespace\":\"team\",\"generation\":%lld},"
                 "\"spec\":{\"karmadaVersion\":\"%s\"}}",
                 generation, version);
        doc = cJSON_Parse(buf);
        if (registry_parse(doc, &k, &err) < 0)
                fail_msg("parse: %s", err.message);
        cJSON_Delete(doc);
        return k;
}

struct fixture {
        struct karmada *k, *last;
        struct step steps[4];
        cJSON *status, *spec;
        struct summary_input in;
        struct summary out;
};

static void step(struct step *s, const struct reconciler *rec, bool enabled, bool ready,
                 const char *reason, const char *message)
{
        *s = (struct step){.rec = rec, .enabled = enabled, .ready = ready};
        snprintf(s->reason, sizeof(s->reason), "%s", reason);
        snprintf(s->message, sizeof(s->message), "%s", message);
}

static int setup(void **state)
{
        struct fixture *f = test_calloc(1, sizeof(*f));

        f->k = parse("v1.18.2", 4);
        f->last = parse("v1.17.1", 3);
        step(&f->steps[0], &rec_etcd, true, true, "Ready", "ready");
        step(&f->steps[1], &rec_api, true, true, "Ready", "ready");
        step(&f->steps[2], &rec_plain, true, true, "Ready", "ready");
        step(&f->steps[3], &rec_off, false, false, "", "");
        f->status =
                cJSON_Parse("{\"conditions\":[{\"type\":\"SearchReady\",\"status\":\"True\"}]}");
        f->spec = cJSON_Parse("{\"karmadaVersion\":\"v1.18.2\"}");
        f->in = (struct summary_input){.steps = f->steps,
                                       .n = 4,
                                       .k = f->k,
                                       .run = f->k,
                                       .left = -1,
                                       .spec = f->spec,
                                       .has_admin_config = true,
                                       .has_apiserver_service = true};
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        karmada_free(f->k);
        karmada_free(f->last);
        cJSON_Delete(f->status);
        cJSON_Delete(f->spec);
        test_free(f);
        return 0;
}

static const char *field(const struct fixture *f, const char *type, const char *name)
{
        return summary_cond_field(cJSON_GetObjectItemCaseSensitive(f->status, "conditions"), type,
                                  name);
}

/* json_str, "" for a missing member */
static const char *str(const cJSON *o, const char *a, const char *b)
{
        const char *s = json_str(o, a, b);

        return s ? s : "";
}

static int events_with(const struct summary *s, const char *type, const char *reason)
{
        int n = 0;

        for (int i = 0; i < s->events.n; i++)
                n += strcmp(s->events.e[i].type, type) == 0 &&
                     strcmp(s->events.e[i].reason, reason) == 0;
        return n;
}

static void compute(struct fixture *f)
{
        summary_compute(&f->in, f->status, &f->out);
}

static void test_all_ready(void **state)
{
        struct fixture *f = *state;
        const cJSON *og;

        compute(f);
        assert_true(f->out.all_ready);
        assert_false(f->out.any_failed);
        assert_string_equal(field(f, "Ready", "status"), "True");
        assert_string_equal(field(f, "Ready", "reason"), "Ready");
        assert_string_equal(field(f, "Ready", "message"), "Karmada v1.18.2 is running");
        assert_string_equal(field(f, "EtcdReady", "status"), "True");
        assert_string_equal(field(f, "Degraded", "status"), "False");
        assert_string_equal(field(f, "Degraded", "reason"), "AsExpected");
        assert_string_equal(field(f, "SearchReady", "status"), ""); /* switched off: removed */
        assert_string_equal(str(f->status, "karmadaVersion", NULL), "v1.18.2");
        assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(f->status, "lastReadySpec"),
                                  f->spec, true));
        assert_string_equal(str(f->status, "secretRef", "name"), "demo-karmada-admin-config");
        assert_string_equal(str(f->status, "secretRef", "namespace"), "team");
        assert_string_equal(str(f->status, "apiServerService", "name"), "demo-karmada-apiserver");
        og = cJSON_GetObjectItemCaseSensitive(f->status, "observedGeneration");
        assert_true(cJSON_IsNumber(og) && og->valueint == 4);
        og = cJSON_GetObjectItemCaseSensitive(
                condition_get(cJSON_GetObjectItemCaseSensitive(f->status, "conditions"), "Ready"),
                "observedGeneration");
        assert_true(cJSON_IsNumber(og) && og->valueint == 4);
        /* the milestones once: each step's condition and Ready */
        assert_int_equal(events_with(&f->out, "Normal", "EtcdReady"), 1);
        assert_int_equal(events_with(&f->out, "Normal", "KarmadaAPIServerReady"), 1);
        assert_int_equal(events_with(&f->out, "Normal", "Ready"), 1);
        assert_int_equal(f->out.events.n, 3);
        compute(f); /* nothing flipped: no Event again */
        assert_int_equal(f->out.events.n, 0);
}

static void test_progressing_names_the_first_step_not_ready(void **state)
{
        struct fixture *f = *state;

        step(&f->steps[1], &rec_api, true, false, "Progressing", "Deployment demo-apiserver: 0/1");
        compute(f);
        assert_false(f->out.all_ready);
        assert_string_equal(field(f, "Ready", "status"), "False");
        assert_string_equal(field(f, "Ready", "reason"), "Progressing");
        assert_string_equal(field(f, "Ready", "message"),
                            "karmada-apiserver: Deployment demo-apiserver: 0/1");
        assert_string_equal(field(f, "KarmadaAPIServerReady", "reason"), "Progressing");
        assert_null(cJSON_GetObjectItemCaseSensitive(f->status, "karmadaVersion"));
        assert_null(cJSON_GetObjectItemCaseSensitive(f->status, "lastReadySpec"));
        assert_int_equal(events_with(&f->out, "Normal", "Ready"), 0);
}

static void test_failed_step_is_a_warning(void **state)
{
        struct fixture *f = *state;

        step(&f->steps[0], &rec_etcd, true, false, "ApplyFailed", "StatefulSet demo-etcd: denied");
        f->steps[0].failed = true;
        compute(f);
        assert_true(f->out.any_failed);
        assert_string_equal(field(f, "Ready", "reason"), "Failed");
        assert_string_equal(field(f, "EtcdReady", "reason"), "ApplyFailed");
        assert_int_equal(events_with(&f->out, "Warning", "ApplyFailed"), 1);
}

/* A pod's failure is a Warning once for the cause it names, while the workload's progress in
 * the same message changes */
static void test_pod_cause_is_a_warning_once(void **state)
{
        static const char *const cause = "; pod demo-etcd-0: not scheduled: Unschedulable: 0/1 "
                                         "nodes are available: pod has unbound immediate "
                                         "PersistentVolumeClaims.";
        struct fixture *f = *state;
        char msg[512];

        snprintf(msg, sizeof(msg),
                 "StatefulSet demo-etcd: its controller has not seen "
                 "generation 1 yet%s",
                 cause);
        step(&f->steps[0], &rec_etcd, true, false, "Progressing", msg);
        snprintf(f->steps[0].cause, sizeof(f->steps[0].cause), "Unschedulable");
        compute(f);
        assert_int_equal(events_with(&f->out, "Warning", "Unschedulable"), 1);
        snprintf(msg, sizeof(msg), "StatefulSet demo-etcd: 0 of 1 replicas ready%s", cause);
        step(&f->steps[0], &rec_etcd, true, false, "Progressing", msg);
        snprintf(f->steps[0].cause, sizeof(f->steps[0].cause), "Unschedulable");
        compute(f);
        assert_string_equal(field(f, "EtcdReady", "message"), msg);
        assert_int_equal(events_with(&f->out, "Warning", "Unschedulable"), 0);
        /* another cause: a Warning again */
        snprintf(msg, sizeof(msg),
                 "StatefulSet demo-etcd: 0 of 1 replicas ready; pod demo-etcd-0: "
                 "container etcd: CrashLoopBackOff");
        step(&f->steps[0], &rec_etcd, true, false, "Progressing", msg);
        snprintf(f->steps[0].cause, sizeof(f->steps[0].cause), "CrashLoopBackOff");
        compute(f);
        assert_int_equal(events_with(&f->out, "Warning", "CrashLoopBackOff"), 1);
}

static void test_degraded_names_the_step(void **state)
{
        struct fixture *f = *state;

        f->steps[1].degraded = true;
        snprintf(f->steps[1].degraded_reason, sizeof(f->steps[1].degraded_reason),
                 "APIServiceUnavailable");
        snprintf(f->steps[1].degraded_message, sizeof(f->steps[1].degraded_message),
                 "APIService v1alpha1.cluster.karmada.io is not available");
        compute(f);
        assert_true(f->out.any_degraded);
        assert_string_equal(field(f, "Ready", "status"), "True");
        assert_string_equal(field(f, "Degraded", "status"), "True");
        assert_string_equal(field(f, "Degraded", "reason"), "APIServiceUnavailable");
        assert_string_equal(field(f, "Degraded", "message"),
                            "karmada-apiserver: APIService v1alpha1.cluster.karmada.io is not "
                            "available");
        /* a Warning Event when it becomes so, and again only for a new reason */
        assert_int_equal(events_with(&f->out, "Warning", "APIServiceUnavailable"), 1);
        compute(f);
        assert_int_equal(events_with(&f->out, "Warning", "APIServiceUnavailable"), 0);
        snprintf(f->steps[1].degraded_reason, sizeof(f->steps[1].degraded_reason),
                 "CertificateExpiring");
        compute(f);
        assert_int_equal(events_with(&f->out, "Warning", "CertificateExpiring"), 1);
        f->steps[1].degraded = false;
        compute(f);
        assert_string_equal(field(f, "Degraded", "status"), "False");
        assert_int_equal(f->out.events.n, 0);
}

static void test_upgrade_in_progress_keeps_the_running_version(void **state)
{
        struct fixture *f = *state;

        cJSON_AddStringToObject(f->status, "karmadaVersion", "v1.17.1");
        step(&f->steps[1], &rec_api, true, false, "Waiting", "waiting for etcd");
        f->in.left = 15000;
        compute(f);
        assert_string_equal(field(f, "Ready", "reason"), "Progressing");
        assert_string_equal(str(f->status, "karmadaVersion", NULL), "v1.17.1");
}

static void test_deadline_passed_is_upgrade_failed(void **state)
{
        struct fixture *f = *state;
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(f->status, "conditions");

        cJSON_AddStringToObject(f->status, "karmadaVersion", "v1.17.1");
        condition_set(conds, "Upgrading", KO_FALSE, "UpgradeFailed",
                      "v1.17.1 to v1.18.2: step etcd did not finish within 20s", 4);
        f->in.left = 0;
        compute(f); /* every step Ready, but past the deadline: not upgraded */
        assert_string_equal(field(f, "Ready", "status"), "False");
        assert_string_equal(field(f, "Ready", "reason"), "UpgradeFailed");
        assert_string_equal(field(f, "Ready", "message"),
                            "v1.17.1 to v1.18.2: step etcd did not finish within 20s");
        assert_string_equal(str(f->status, "karmadaVersion", NULL), "v1.17.1");
}

static void test_rolled_back(void **state)
{
        struct fixture *f = *state;
        cJSON *old = cJSON_Parse("{\"karmadaVersion\":\"v1.17.1\"}");

        cJSON_AddItemToObject(f->status, "lastReadySpec", old);
        f->in.run = f->last;
        f->in.rollback = true;
        compute(f);
        assert_string_equal(field(f, "Ready", "status"), "False");
        assert_string_equal(field(f, "Ready", "reason"), "RolledBack");
        assert_non_null(
                strstr(field(f, "Ready", "message"), "the upgrade to v1.18.2 was rolled back"));
        assert_string_equal(str(f->status, "karmadaVersion", NULL), "v1.17.1");
        assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(f->status, "lastReadySpec"), old,
                                  true)); /* still what it returns to */
        assert_int_equal(events_with(&f->out, "Normal", "RolledBack"), 1);
        compute(f);
        assert_int_equal(events_with(&f->out, "Normal", "RolledBack"), 0);
}

static void test_suspended_and_refused(void **state)
{
        struct fixture *f = *state;
        struct summary_events ev = {0};

        summary_suspended(f->status, 4);
        assert_string_equal(field(f, "Suspended", "status"), "True");
        assert_int_equal(
                cJSON_GetObjectItemCaseSensitive(f->status, "observedGeneration")->valueint, 4);
        summary_refused(f->status, 5, "UpgradeRefused", "v1.16.0 to v1.18.2 skips a minor", true,
                        &ev);
        assert_string_equal(field(f, "Ready", "reason"), "UpgradeRefused");
        assert_string_equal(field(f, "Ready", "message"), "v1.16.0 to v1.18.2 skips a minor");
        assert_int_equal(
                cJSON_GetObjectItemCaseSensitive(f->status, "observedGeneration")->valueint, 5);
        assert_int_equal(ev.n, 1);
        summary_refused(f->status, 5, "UpgradeRefused", "v1.16.0 to v1.18.2 skips a minor", true,
                        &ev);
        assert_int_equal(ev.n, 1); /* the same reason: no Event again */
        summary_refused(f->status, 5, "HostClusterUnsupported", "spec.hostCluster.secretRef", false,
                        &ev);
        assert_int_equal(ev.n, 1); /* not reported */
        assert_string_equal(field(f, "Ready", "reason"), "HostClusterUnsupported");
}

/* kstatus: Reconciling while being carried out, Stalled when it cannot be until the spec
 * changes, neither when Ready; each only while True */
static void test_kstatus_conditions_follow_ready_and_upgrading(void **state)
{
        struct fixture *f = *state;
        struct summary_events ev = {0};
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(f->status, "conditions");

        step(&f->steps[1], &rec_api, true, false, "Progressing", "Deployment demo-apiserver: 0/1");
        compute(f); /* installing */
        assert_string_equal(field(f, "Reconciling", "status"), "True");
        assert_string_equal(field(f, "Reconciling", "reason"), "Progressing");
        assert_string_equal(field(f, "Stalled", "status"), "");
        step(&f->steps[1], &rec_api, true, true, "Ready", "ok");
        compute(f); /* Ready: neither */
        assert_string_equal(field(f, "Reconciling", "status"), "");
        assert_string_equal(field(f, "Stalled", "status"), "");
        condition_set(conds, "Upgrading", KO_TRUE, "Upgrading", "v1.17.1 to v1.18.2: step etcd", 4);
        compute(f); /* Ready while it upgrades: still being carried out */
        assert_string_equal(field(f, "Ready", "status"), "True");
        assert_string_equal(field(f, "Reconciling", "reason"), "Upgrading");
        assert_string_equal(field(f, "Reconciling", "message"), "v1.17.1 to v1.18.2: step etcd");
        condition_set(conds, "Upgrading", KO_FALSE, "UpgradeFailed", "step etcd: 20s", 4);
        f->in.left = 0;
        compute(f); /* failed: Stalled, no longer Reconciling */
        assert_string_equal(field(f, "Stalled", "status"), "True");
        assert_string_equal(field(f, "Stalled", "reason"), "UpgradeFailed");
        assert_string_equal(field(f, "Reconciling", "status"), "");
        summary_refused(f->status, 5, "HostClusterUnreachable", "timed out", false, &ev);
        assert_string_equal(field(f, "Stalled", "status"), ""); /* it may answer again */
        assert_string_equal(field(f, "Reconciling", "reason"), "HostClusterUnreachable");
        summary_refused(f->status, 5, "InvalidSpec", "spec.karmadaVersion: no", false, &ev);
        assert_string_equal(field(f, "Stalled", "message"), "spec.karmadaVersion: no");
        assert_string_equal(field(f, "Reconciling", "status"), "");
}

/* A Degraded instance at rest: looked at every base period for a minute, then less and less
 * often, never more than 5 minutes apart */
static void test_degraded_looks_back_off(void **state)
{
        (void)state;
        assert_int_equal(summary_degraded_requeue_ms(0, 10000), 10000);
        assert_int_equal(summary_degraded_requeue_ms(SUMMARY_DEGRADED_STEADY_LOOKS - 1, 10000),
                         10000);
        assert_int_equal(summary_degraded_requeue_ms(SUMMARY_DEGRADED_STEADY_LOOKS, 10000), 20000);
        assert_int_equal(summary_degraded_requeue_ms(SUMMARY_DEGRADED_STEADY_LOOKS + 2, 10000),
                         80000);
        assert_int_equal(summary_degraded_requeue_ms(1000, 10000), SUMMARY_DEGRADED_MAX_MS);
        assert_int_equal(summary_degraded_requeue_ms(1 << 30, 10000), SUMMARY_DEGRADED_MAX_MS);
}

/* The looks are counted while the instance stays Degraded: a component that crashes meanwhile
 * (not all ready) neither counts nor starts the count again; Degraded gone, or a failure, does */
static void test_degraded_looks_survive_a_crash(void **state)
{
        int count = 0;

        (void)state;
        for (int i = 0; i < 8; i++)
                assert_int_equal(summary_degraded_look(true, false, true, &count), i);
        assert_int_equal(summary_degraded_look(true, false, false, &count), -1); /* a crash */
        assert_int_equal(summary_degraded_look(true, false, true, &count), 8);
        assert_true(summary_degraded_requeue_ms(8, 10000) > 10000);
        assert_int_equal(summary_degraded_look(true, true, false, &count), -1); /* failed */
        assert_int_equal(summary_degraded_look(true, false, true, &count), 0);
        assert_int_equal(summary_degraded_look(true, false, true, &count), 1);
        assert_int_equal(summary_degraded_look(false, false, true, &count), -1); /* well again */
        assert_int_equal(summary_degraded_look(true, false, true, &count), 0);
}

static void test_transition_time_moves_only_on_a_flip(void **state)
{
        struct fixture *f = *state;
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(f->status, "conditions");
        cJSON *ready;

        condition_set(conds, "Ready", KO_TRUE, "Ready", "old message", 3);
        ready = (cJSON *)condition_get(conds, "Ready");
        cJSON_ReplaceItemInObjectCaseSensitive(ready, "lastTransitionTime",
                                               cJSON_CreateString("2020-01-01T00:00:00Z"));
        compute(f); /* still True: a new message and generation, the same time */
        assert_string_equal(field(f, "Ready", "lastTransitionTime"), "2020-01-01T00:00:00Z");
        assert_string_equal(field(f, "Ready", "message"), "Karmada v1.18.2 is running");
        step(&f->steps[0], &rec_etcd, true, false, "Progressing", "0/1");
        compute(f); /* a flip */
        assert_string_not_equal(field(f, "Ready", "lastTransitionTime"), "2020-01-01T00:00:00Z");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_all_ready, setup, teardown),
                cmocka_unit_test_setup_teardown(test_progressing_names_the_first_step_not_ready,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_step_is_a_warning, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pod_cause_is_a_warning_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_degraded_names_the_step, setup, teardown),
                cmocka_unit_test_setup_teardown(test_upgrade_in_progress_keeps_the_running_version,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_deadline_passed_is_upgrade_failed, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rolled_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_suspended_and_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kstatus_conditions_follow_ready_and_upgrading,
                                                setup, teardown),
                cmocka_unit_test(test_degraded_looks_back_off),
                cmocka_unit_test(test_degraded_looks_survive_a_crash),
                cmocka_unit_test_setup_teardown(test_transition_time_moves_only_on_a_flip, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
