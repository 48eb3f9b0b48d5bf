/* SPDX-License-Identifier: Apache-2.0 */
/* The event recorder against the real API: events.k8s.io/v1 Events are created when flushed,
 * and repeats of one event fold into its series instead of new objects. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"
#include "kube/client.h"
#include "runtime/events.h"

static const cJSON *find_event(const cJSON *list, const char *reason)
{
        const cJSON *it;

        cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "reason");
                if (cJSON_IsString(r) && strcmp(r->valuestring, reason) == 0)
                        return it;
        }
        return NULL;
}

static int series_count(const cJSON *ev)
{
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(ev, "series"), "count");

        return cJSON_IsNumber(c) ? c->valueint : 1;
}

/* Requests the client sent so far. */
static uint64_t sent(struct kube_client *kc)
{
        struct kube_client_stats st;

        kube_client_stats(kc, &st);
        return st.requests;
}

/* The namespace deleted: a series update and a new Event, both answered 404, are each sent
 * once and dropped; later flushes send nothing. */
static void test_namespace_gone(struct kube_client *kc, struct event_recorder *rec, const cJSON *cm,
                                const char *ns)
{
        double t0 = itest_now();
        cJSON *o = NULL;
        uint64_t n0, n1, n2;

        IT_ASSERT(kube_delete(kc, &kube_namespaces, NULL, ns, NULL, NULL) == 0, "delete %s", ns);
        while (kube_get(kc, &kube_namespaces, NULL, ns, &o, NULL) == 0) {
                cJSON_Delete(o);
                o = NULL;
                IT_ASSERT(itest_now() - t0 < 120, "namespace %s still there after 120s", ns);
                usleep(200 * 1000);
        }
        events_record(rec, cm, "Normal", "Installed", "Install", "installed everything");
        events_record(rec, cm, "Warning", "Gone", "Install", "a new event");
        n0 = sent(kc);
        events_flush(rec);
        n1 = sent(kc);
        for (int i = 0; i < 5; i++) {
                usleep(5000);
                events_flush(rec);
        }
        n2 = sent(kc);
        IT_ASSERT(n1 - n0 == 2, "one series update and one create after the namespace went: %d",
                  (int)(n1 - n0));
        IT_ASSERT(n2 == n1, "%d requests in 5 flushes after they were answered 404",
                  (int)(n2 - n1));
        itest_log("namespace gone: a series update and a create, each answered 404 once, then "
                  "nothing in 5 flushes");
}

int main(void)
{
        struct kube_config_options co = {.kubeconfig = itest_kubeconfig()};
        struct kube_config *cfg;
        struct kube_client *kc;
        struct event_recorder *rec;
        const char *ns = itest_unique_name("events");
        char err[512], body[256];
        cJSON *o, *cm = NULL, *list = NULL;
        const cJSON *a, *b, *reg;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &kc) == 0,
                  "client");
        snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
        o = cJSON_Parse(body);
        IT_ASSERT(kube_create(kc, &kube_namespaces, NULL, o, NULL, NULL, NULL) == 0, "namespace");
        cJSON_Delete(o);
        o = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                        "\"subject\"}}");
        IT_ASSERT(kube_create(kc, &kube_configmaps, ns, o, NULL, &cm, NULL) == 0, "configmap");
        cJSON_Delete(o);
        /* the API does not return apiVersion/kind on create responses of core objects reliably */
        cJSON_ReplaceItemInObject(cm, "apiVersion", cJSON_CreateString("v1"));
        cJSON_ReplaceItemInObject(cm, "kind", cJSON_CreateString("ConfigMap"));

        IT_ASSERT(events_new(&(struct events_options){.client = kc,
                                                      .controller = "karmada-operator-test",
                                                      .instance = "itest",
                                                      .series_interval_ms = 1},
                             &rec) == 0,
                  "recorder");
        events_record(rec, cm, "Normal", "Installed", "Install", "installed %s", "everything");
        events_record(rec, cm, "Normal", "Installed", "Install", "installed %s", "everything");
        events_record(rec, cm, "Warning", "InvalidSpec", "Validate",
                      "spec.components.etcd: required");
        events_flush(rec); /* creates both */
        usleep(5000);
        events_flush(rec); /* the repeat: series count 2 */
        events_record(rec, cm, "Normal", "Installed", "Install", "installed everything");
        events_record(rec, cm, "Normal", "Installed", "Install", "installed everything");
        usleep(5000);
        events_flush(rec); /* series count 4 */

        IT_ASSERT(kube_list(kc, &kube_events, ns, NULL, &list, NULL) == 0, "list events");
        IT_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")) == 2,
                  "two Event objects for five records, got %d",
                  cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")));
        a = find_event(list, "Installed");
        b = find_event(list, "InvalidSpec");
        IT_ASSERT(a && b, "both events");
        IT_ASSERT(series_count(a) == 4, "Installed series.count %d, want 4", series_count(a));
        IT_ASSERT(series_count(b) == 1, "InvalidSpec happened once");
        IT_ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(b, "type")->valuestring, "Warning") == 0,
                  "type");
        IT_ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(a, "reportingController")->valuestring,
                         "karmada-operator-test") == 0,
                  "reportingController");
        IT_ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(a, "note")->valuestring,
                         "installed everything") == 0,
                  "note");
        reg = cJSON_GetObjectItemCaseSensitive(a, "regarding");
        IT_ASSERT(strcmp(cJSON_GetObjectItemCaseSensitive(reg, "kind")->valuestring, "ConfigMap") ==
                                  0 &&
                          strcmp(cJSON_GetObjectItemCaseSensitive(reg, "name")->valuestring,
                                 "subject") == 0,
                  "regarding");
        itest_log("5 records -> 2 Events; the repeated one has series.count 4");

        cJSON_Delete(list);
        test_namespace_gone(kc, rec, cm, ns);
        cJSON_Delete(cm);
        events_free(rec);
        kube_client_free(kc);
        kube_config_free(cfg);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
