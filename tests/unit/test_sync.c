/* SPDX-License-Identifier: Apache-2.0 */
/* What counts as in sync (so nothing is written), what counts as rolled out, and conditions. */
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

#include "karmada/conditions.h"
#include "karmada/names.h"
#include "karmada/sync.h"

static bool sub(const char *d, const char *l, char *where)
{
        cJSON *dj = cJSON_Parse(d), *lj = cJSON_Parse(l);
        bool r;

        assert_non_null(dj);
        assert_non_null(lj);
        r = sync_subset(dj, lj, where, 256);
        cJSON_Delete(dj);
        cJSON_Delete(lj);
        return r;
}

static void test_subset_rules(void **state)
{
        char where[256] = "";

        /* the server adds fields: fine */
        assert_true(sub("{\"spec\":{\"replicas\":1}}",
                        "{\"spec\":{\"replicas\":1,\"strategy\":{}},\"status\":{}}", where));
        /* a changed value, reported with its path */
        assert_false(
                sub("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"a:1\"}]}}}}",
                    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"a:2\","
                    "\"name\":\"x\"}]}}}}",
                    where));
        assert_string_equal(where, ".spec.template.spec.containers[0].image");
        /* lists must keep their length (a removed flag or container shows) */
        assert_false(
                sub("{\"command\":[\"a\",\"b\"]}", "{\"command\":[\"a\",\"b\",\"c\"]}", where));
        assert_string_equal(where, ".command");
        /* zero values match absent fields (the server drops them) */
        assert_true(
                sub("{\"a\":false,\"b\":0,\"c\":\"\",\"d\":{},\"e\":[],\"f\":null}", "{}", where));
        assert_false(sub("{\"a\":true}", "{}", where));
        /* quantities compare by value */
        assert_true(sub("{\"cpu\":\"1000m\",\"mem\":\"1024Mi\",\"x\":\"0.5\"}",
                        "{\"cpu\":\"1\",\"mem\":\"1Gi\",\"x\":\"500m\"}", where));
        assert_false(sub("{\"cpu\":\"100m\"}", "{\"cpu\":\"1\"}", where));
        /* types must agree */
        assert_false(sub("{\"port\":443}", "{\"port\":\"443\"}", where));
        assert_false(sub("{\"a\":{\"b\":1}}", "{\"a\":[1]}", where));
}

static void test_quantities(void **state)
{
        long double v;

        assert_true(sync_quantity("100m", &v) && v > 0.0999L && v < 0.1001L);
        assert_true(sync_quantity("3Gi", &v) && v == 3221225472.0L);
        assert_true(sync_quantity("2e3", &v) && v == 2000.0L);
        assert_true(sync_quantity("1.5k", &v) && v == 1500.0L);
        assert_false(sync_quantity("abc", &v));
        assert_false(sync_quantity("1Zi", &v));
        assert_false(sync_quantity("v1.18.2", &v));
}

static void test_stamp_catches_removed_fields(void **state)
{
        cJSON *desired =
                cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}");
        cJSON *live, *smaller;
        char why[256];

        assert_int_equal(sync_stamp(desired), 0);
        live = cJSON_Duplicate(desired, true);
        assert_true(sync_in_sync(desired, live, why, sizeof(why)));
        /* a label removed from the desired state: live still holds everything, but the hash moved
         */
        smaller = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\"}}}");
        assert_int_equal(sync_stamp(smaller), 0);
        assert_false(sync_in_sync(smaller, live, why, sizeof(why)));
        assert_string_equal(why, "changed");
        /* stamping twice gives the same hash */
        assert_int_equal(sync_stamp(smaller), 0);
        assert_false(sync_in_sync(smaller, live, why, sizeof(why)));
        /* a drifted live object */
        cJSON_ReplaceItemInObject(
                cJSON_GetObjectItem(cJSON_GetObjectItem(live, "metadata"), "labels"), "a",
                cJSON_CreateString("9"));
        assert_false(sync_in_sync(desired, live, why, sizeof(why)));
        assert_non_null(strstr(why, "drifted at .metadata.labels.a"));
        assert_false(sync_in_sync(desired, NULL, why, sizeof(why)));
        assert_string_equal(why, "missing");
        cJSON_Delete(desired);
        cJSON_Delete(live);
        cJSON_Delete(smaller);
}

/* f (sync_rollout_done or _lost) of the workload in json; what it says into why */
static bool on(bool (*f)(const cJSON *, char *, size_t), const char *json, char why[256])
{
        cJSON *o = cJSON_Parse(json);
        bool r;

        assert_non_null(o);
        why[0] = '\0';
        r = f(o, why, 256);
        cJSON_Delete(o);
        return r;
}

static bool rolled(const char *json)
{
        char why[256];

        return on(sync_rollout_done, json, why);
}

static void test_rollout_is_finished_only_when_all_replicas_are_new_and_ready(void **state)
{
        assert_true(rolled("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{"
                           "\"replicas\":2},"
                           "\"status\":{\"observedGeneration\":2,\"replicas\":2,"
                           "\"updatedReplicas\":2,\"readyReplicas\":2,"
                           "\"availableReplicas\":2}}"));
        /* upstream would count this Ready: one old pod ready */
        assert_false(rolled("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{"
                            "\"replicas\":1},"
                            "\"status\":{\"observedGeneration\":2,\"replicas\":2,"
                            "\"updatedReplicas\":1,\"readyReplicas\":1,"
                            "\"availableReplicas\":1}}"));
        assert_false(rolled("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":3},\"spec\":{"
                            "\"replicas\":1},"
                            "\"status\":{\"observedGeneration\":2,\"replicas\":1,"
                            "\"updatedReplicas\":1,\"readyReplicas\":1,"
                            "\"availableReplicas\":1}}"));
        assert_false(rolled("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":1},\"spec\":{"
                            "\"replicas\":3},"
                            "\"status\":{\"observedGeneration\":1,\"replicas\":3,"
                            "\"updatedReplicas\":3,\"readyReplicas\":2,"
                            "\"availableReplicas\":2}}"));
        assert_false(rolled(
                "{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":"
                "1},"
                "\"status\":{\"observedGeneration\":1,\"replicas\":1,\"updatedReplicas\":1,"
                "\"readyReplicas\":1,"
                "\"availableReplicas\":1,\"currentRevision\":\"a\",\"updateRevision\":\"b\"}}"));
        assert_true(rolled(
                "{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":"
                "1},"
                "\"status\":{\"observedGeneration\":1,\"replicas\":1,\"updatedReplicas\":1,"
                "\"readyReplicas\":1,"
                "\"availableReplicas\":1,\"currentRevision\":\"b\",\"updateRevision\":\"b\"}}"));
        assert_false(sync_rollout_done(NULL, (char[64]){0}, 64));
}

static bool lost(const char *json)
{
        char why[256];
        bool r = on(sync_rollout_lost, json, why);

        if (r)
                assert_non_null(strstr(why, "replicas ready"));
        return r;
}

static void test_rollout_lost_is_a_rolled_out_workload_with_fewer_ready_replicas(void **state)
{
        /* a Deployment that had rolled out, its pod crashed since */
        assert_true(lost("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{"
                         "\"replicas\":1},\"status\":{\"observedGeneration\":2,\"replicas\":1,"
                         "\"updatedReplicas\":1,\"readyReplicas\":0,\"conditions\":[{\"type\":"
                         "\"Progressing\",\"reason\":\"NewReplicaSetAvailable\"}]}}"));
        /* still rolling out: its new pod is not ready yet */
        assert_false(lost("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{"
                          "\"replicas\":1},\"status\":{\"observedGeneration\":2,\"replicas\":1,"
                          "\"updatedReplicas\":1,\"readyReplicas\":0,\"conditions\":[{\"type\":"
                          "\"Progressing\",\"reason\":\"ReplicaSetUpdated\"}]}}"));
        /* a new generation not seen yet, and one with all replicas ready */
        assert_false(lost("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":3},\"spec\":{"
                          "\"replicas\":1},\"status\":{\"observedGeneration\":2,\"replicas\":1,"
                          "\"updatedReplicas\":1,\"readyReplicas\":0,\"conditions\":[{\"type\":"
                          "\"Progressing\",\"reason\":\"NewReplicaSetAvailable\"}]}}"));
        assert_false(lost("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":2},\"spec\":{"
                          "\"replicas\":2},\"status\":{\"observedGeneration\":2,\"replicas\":2,"
                          "\"updatedReplicas\":2,\"readyReplicas\":2,\"conditions\":[{\"type\":"
                          "\"Progressing\",\"reason\":\"NewReplicaSetAvailable\"}]}}"));
        /* a StatefulSet at its update revision that lost a member; one still rolling */
        assert_true(lost("{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{"
                         "\"replicas\":3},\"status\":{\"observedGeneration\":1,\"replicas\":3,"
                         "\"updatedReplicas\":3,\"readyReplicas\":2,\"currentRevision\":\"b\","
                         "\"updateRevision\":\"b\"}}"));
        assert_false(lost("{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{"
                          "\"replicas\":3},\"status\":{\"observedGeneration\":1,\"replicas\":3,"
                          "\"updatedReplicas\":3,\"readyReplicas\":2,\"currentRevision\":\"a\","
                          "\"updateRevision\":\"b\"}}"));
        /* scaling: a replica being added is not one lost */
        assert_false(lost("{\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":2},\"spec\":{"
                          "\"replicas\":3},\"status\":{\"observedGeneration\":2,\"replicas\":2,"
                          "\"updatedReplicas\":2,\"readyReplicas\":2,\"currentRevision\":\"b\","
                          "\"updateRevision\":\"b\"}}"));
        assert_false(sync_rollout_lost(NULL, (char[64]){0}, 64));
}

/* A StatefulSet of voting members (etcd) with the ready replicas given, of replicas: NULL, or
 * why its quorum is lost */
static const char *quorum(const char *kind, int replicas, int ready, char *why, size_t len)
{
        char json[256];
        cJSON *o;
        bool r;

        snprintf(json, sizeof(json),
                 "{\"kind\":\"%s\",\"spec\":{\"replicas\":%d},\"status\":{\"replicas\":%d,"
                 "\"readyReplicas\":%d}}",
                 kind, replicas, replicas, ready);
        o = cJSON_Parse(json);
        r = sync_quorum_lost(o, why, len);
        cJSON_Delete(o);
        return r ? why : NULL;
}

static void test_quorum_lost_below_a_majority_of_members(void **state)
{
        char why[128];

        (void)state;
        assert_string_equal(quorum("StatefulSet", 3, 1, why, sizeof(why)),
                            "etcd has no quorum: 1 of 3 members ready, 2 needed");
        assert_string_equal(quorum("StatefulSet", 5, 2, why, sizeof(why)),
                            "etcd has no quorum: 2 of 5 members ready, 3 needed");
        assert_null(quorum("StatefulSet", 3, 2, why, sizeof(why))); /* one lost: a majority */
        assert_null(quorum("StatefulSet", 5, 3, why, sizeof(why)));
        assert_null(quorum("StatefulSet", 1, 0, why, sizeof(why))); /* one member: only lost */
        assert_null(quorum("Deployment", 3, 0, why, sizeof(why)));  /* nothing votes */
        assert_false(sync_quorum_lost(NULL, why, sizeof(why)));
}

/* Replicas left to others: a second manager keeps the live count before an apply without it */
/* A live Deployment as the API server returns it, trimmed for the cache: the defaults the server
 * added and its conditions' times and messages go; what was desired, the replicas, the
 * conditions' reasons and the user's volumes (a defaultMode of theirs) stay, and it is still in
 * sync. */
static void test_trim_drops_server_defaults_only(void **state)
{
        static const char desired[] =
                "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"template\":{\"spec\":{"
                "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                "\"volumes\":[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\"}}]}}}}";
        cJSON *want = cJSON_Parse(desired),
              *live = cJSON_Parse(
                      "{\"metadata\":{\"name\":\"d\",\"uid\":\"u\",\"creationTimestamp\":\"t\","
                      "\"managedFields\":[{}]},\"spec\":{\"replicas\":1,\"revisionHistoryLimit\":"
                      "10,"
                      "\"template\":{\"spec\":{\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{"
                      "},"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"terminationMessagePath\":"
                      "\"/dev/termination-log\",\"imagePullPolicy\":\"IfNotPresent\"}],"
                      "\"volumes\":[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\","
                      "\"defaultMode\":420}}]}}},\"status\":{\"replicas\":1,\"conditions\":[{"
                      "\"type\":"
                      "\"Progressing\",\"status\":\"True\",\"reason\":\"NewReplicaSetAvailable\","
                      "\"message\":\"m\",\"lastUpdateTime\":\"t\",\"lastTransitionTime\":\"t\"}]}"
                      "}");
        char *text, where[256] = "";

        (void)state;
        sync_trim(live);
        text = cJSON_PrintUnformatted(live);
        assert_string_equal(
                text, "{\"metadata\":{\"name\":\"d\",\"uid\":\"u\"},\"spec\":{\"replicas\":1,"
                      "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                      "\"imagePullPolicy\":\"IfNotPresent\"}],\"volumes\":[{\"name\":\"v\","
                      "\"secret\":{\"secretName\":\"s\",\"defaultMode\":420}}]}}},\"status\":{"
                      "\"replicas\":1,\"conditions\":[{\"type\":\"Progressing\",\"status\":"
                      "\"True\",\"reason\":\"NewReplicaSetAvailable\"}]}}");
        assert_true(sync_subset(want, live, where, sizeof(where)));
        free(text);
        cJSON_Delete(want);
        cJSON_Delete(live);
}

static void test_replicas_handover(void **state)
{
        cJSON *want = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
                                  "\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},"
                                  "\"spec\":{\"template\":{}}}");
        cJSON *live = cJSON_Parse("{\"spec\":{\"replicas\":3}}"), *h;
        char *text;

        (void)state;
        h = sync_replicas_handover(want, live);
        assert_non_null(h);
        text = cJSON_PrintUnformatted(h);
        assert_string_equal(text, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
                                  "\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},"
                                  "\"spec\":{\"replicas\":3}}");
        free(text);
        cJSON_Delete(h);
        assert_null(sync_replicas_handover(want, NULL)); /* nothing to keep yet */
        cJSON_AddNumberToObject(cJSON_GetObjectItem(want, "spec"), "replicas", 1);
        assert_null(sync_replicas_handover(want, live)); /* the operator sets them */
        cJSON_Delete(want);
        cJSON_Delete(live);
}

static void test_conditions_move_time_only_on_flips(void **state)
{
        cJSON *conds = cJSON_CreateArray();
        const cJSON *c;
        char t1[64];

        assert_true(condition_set(conds, "Ready", KO_FALSE, "Progressing", "etcd: starting", 1));
        c = condition_get(conds, "Ready");
        snprintf(t1, sizeof(t1), "%s", cJSON_GetObjectItem(c, "lastTransitionTime")->valuestring);
        sleep(1);
        /* same status, new message: time stays */
        assert_true(
                condition_set(conds, "Ready", KO_FALSE, "Progressing", "apiserver: starting", 2));
        assert_string_equal(cJSON_GetObjectItem(c, "lastTransitionTime")->valuestring, t1);
        assert_int_equal(cJSON_GetObjectItem(c, "observedGeneration")->valueint, 2);
        /* nothing changed: reports no change */
        assert_false(
                condition_set(conds, "Ready", KO_FALSE, "Progressing", "apiserver: starting", 2));
        /* a flip moves it */
        assert_true(condition_set(conds, "Ready", KO_TRUE, "Ready", "running", 2));
        assert_string_not_equal(cJSON_GetObjectItem(c, "lastTransitionTime")->valuestring, t1);
        assert_true(condition_is_true(conds, "Ready"));
        assert_true(condition_remove(conds, "Ready"));
        assert_false(condition_remove(conds, "Ready"));
        cJSON_Delete(conds);
}

static void test_reasons_fit_the_api_pattern(void **state)
{
        char a[] = "apply failed!", b[] = "1st", c[] = "Ok:";

        condition_reason(a);
        assert_string_equal(a, "apply_failed_");
        condition_reason(b);
        assert_string_equal(b, "Xst");
        condition_reason(c);
        assert_string_equal(c, "Ok");
}

static void test_names(void **state)
{
        char buf[64];

        assert_int_equal(names_prefix("demo", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "demo-karmada");
        assert_int_equal(names_prefix("karmada-demo", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "karmada-demo");
        assert_int_equal(names_join("demo-karmada", "apiserver", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "demo-karmada-apiserver");
        assert_int_equal(names_join("demo-karmada", "apiserver", buf, 8), -ENOBUFS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_subset_rules),
                cmocka_unit_test(test_quantities),
                cmocka_unit_test(test_stamp_catches_removed_fields),
                cmocka_unit_test(test_rollout_is_finished_only_when_all_replicas_are_new_and_ready),
                cmocka_unit_test(
                        test_rollout_lost_is_a_rolled_out_workload_with_fewer_ready_replicas),
                cmocka_unit_test(test_quorum_lost_below_a_majority_of_members),
                cmocka_unit_test(test_trim_drops_server_defaults_only),
                cmocka_unit_test(test_replicas_handover),
                cmocka_unit_test(test_conditions_move_time_only_on_flips),
                cmocka_unit_test(test_reasons_fit_the_api_pattern),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
