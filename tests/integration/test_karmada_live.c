/* SPDX-License-Identifier: Apache-2.0 */
/* A Karmada API server that really runs (ko-plane runs the etcd, kube-apiserver,
 * karmada-aggregated-apiserver and karmada-webhook the operator renders): the operator installs
 * Karmada's CRDs from a tarball it downloads, its webhook configurations and APIServices; the
 * admin kubeconfig of status.secretRef then serves Karmada's APIs, and the webhook admits a
 * PropagationPolicy and a FederatedResourceQuota (and refuses an invalid one). An operator
 * built with a certificate SAN missing never gets there. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fileserver.h"
#include "itest.h"
#include "live.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "util/base64.h"
#include "util/fileio.h"
#include "util/strbuf.h"

static const struct kube_resource propagationpolicies = {
        "policy.karmada.io", "v1alpha1", "propagationpolicies", "PropagationPolicy", true};
static const struct kube_resource frqs = {
        "policy.karmada.io", "v1alpha1", "federatedresourcequotas", "FederatedResourceQuota", true};

static void create_karmada(const char *ns, const char *name, const char *crd_url)
{
        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"karmadaVersion\":\"v1.18.2\","
                    "\"crdTarball\":{\"httpSource\":{\"url\":\"%s\"}},"
                    "\"components\":{\"etcd\":{\"local\":{}},"
                    "\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}",
                    name, crd_url);
}

static void check_karmada_apis(const char *ns, const char *name)
{
        char *ca = NULL, *ca64 = NULL, url[256];
        struct kube_client *kk = live_karmada_client(ns, name, &ca);
        struct kube_status st;
        cJSON *list = NULL, *crd = NULL, *o, *got = NULL;
        const cJSON *e, *cc;
        int n = 0;
        bool pp = false, frq = false;

        /* the CRDs of the tarball, with the conversion webhook pointed at the instance */
        IT_ASSERT(kube_list(kk, &kube_crds, NULL, NULL, &list, &st) == 0, "list CRDs: %s",
                  st.message);
        cJSON_ArrayForEach (e, cJSON_GetObjectItem(list, "items")) {
                const char *n_ = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "metadata"), "name")
                                         ->valuestring;
                n++;
                pp = pp || strcmp(n_, "propagationpolicies.policy.karmada.io") == 0;
                frq = frq || strcmp(n_, "federatedresourcequotas.policy.karmada.io") == 0;
        }
        IT_ASSERT(n >= 19 && pp && frq, "%d CRDs (PropagationPolicy %d, FRQ %d)", n, pp, frq);
        cJSON_Delete(list);
        IT_ASSERT(kube_get(kk, &kube_crds, NULL, "resourcebindings.work.karmada.io", &crd, &st) ==
                          0,
                  "resourcebindings CRD");
        cc = cJSON_GetObjectItem(
                cJSON_GetObjectItem(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(crd, "spec"), "conversion"),
                        "webhook"),
                "clientConfig");
        snprintf(url, sizeof(url), "https://%s-karmada-webhook.%s.svc:443/convert", name, ns);
        IT_ASSERT(base64_encode(ca, strlen(ca), &ca64) == 0, "base64");
        IT_ASSERT(cJSON_IsString(cJSON_GetObjectItem(cc, "url")) &&
                          strcmp(cJSON_GetObjectItem(cc, "url")->valuestring, url) == 0 &&
                          cJSON_IsString(cJSON_GetObjectItem(cc, "caBundle")) &&
                          strcmp(cJSON_GetObjectItem(cc, "caBundle")->valuestring, ca64) == 0,
                  "conversion webhook of resourcebindings: %s", cJSON_PrintUnformatted(cc));
        cJSON_Delete(crd);
        itest_log("%d Karmada CRDs served; resourcebindings convert through %s", n, url);

        /* through the real karmada-webhook: the mutating webhook labels the policy */
        o = cJSON_Parse("{\"metadata\":{\"name\":\"demo\"}}");
        IT_ASSERT(kube_create(kk, &kube_namespaces, NULL, o, NULL, NULL, &st) == 0, "ns: %s",
                  st.message);
        cJSON_Delete(o);
        o = cJSON_Parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":"
                        "\"PropagationPolicy\",\"metadata\":{\"name\":\"nginx\"},\"spec\":{"
                        "\"resourceSelectors\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
                        "\"Deployment\",\"name\":\"nginx\"}],\"placement\":{\"clusterAffinity\":"
                        "{\"clusterNames\":[\"member1\"]}}}}");
        IT_ASSERT(kube_create(kk, &propagationpolicies, "demo", o, NULL, &got, &st) == 0,
                  "PropagationPolicy: %s", st.message);
        cJSON_Delete(o);
        IT_ASSERT(cJSON_GetObjectItem(
                          cJSON_GetObjectItem(cJSON_GetObjectItem(got, "metadata"), "labels"),
                          "propagationpolicy.karmada.io/permanent-id"),
                  "the mutating webhook labelled the policy: %s", cJSON_PrintUnformatted(got));
        cJSON_Delete(got);
        o = cJSON_Parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":"
                        "\"FederatedResourceQuota\",\"metadata\":{\"name\":\"team\"},\"spec\":{"
                        "\"overall\":{\"cpu\":\"10\"},\"staticAssignments\":[{\"clusterName\":"
                        "\"member1\",\"hard\":{\"cpu\":\"4\"}}]}}");
        IT_ASSERT(kube_create(kk, &frqs, "demo", o, NULL, NULL, &st) == 0,
                  "FederatedResourceQuota: %s", st.message);
        cJSON_Delete(o);
        /* and the validating webhook refuses what Karmada refuses */
        o = cJSON_Parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":"
                        "\"FederatedResourceQuota\",\"metadata\":{\"name\":\"too-much\"},\"spec\":"
                        "{\"overall\":{\"cpu\":\"1\"},\"staticAssignments\":[{\"clusterName\":"
                        "\"member1\",\"hard\":{\"cpu\":\"2\"}}]}}");
        IT_ASSERT(kube_create(kk, &frqs, "demo", o, NULL, NULL, &st) < 0 &&
                          strstr(st.message, "overall is less than assignments"),
                  "an over-assigned quota is refused by the webhook: %s", st.message);
        cJSON_Delete(o);
        itest_log("the Karmada API server admits a PropagationPolicy (labelled by the webhook) "
                  "and a FederatedResourceQuota, and refuses an over-assigned quota: \"%.80s\"",
                  st.message);
        kube_client_free(kk);
        free(ca);
        free(ca64);
}

/* The kube-apiserver of a faulty render cannot reach its etcd: it says why in its log. */
/* the --feature-gates of a Deployment's container, "" when none */
static void gates_of(const char *ns, const char *name, char *buf, size_t size)
{
        cJSON *c = live_container(ns, name);
        const cJSON *e;

        buf[0] = '\0';
        cJSON_ArrayForEach (e, cJSON_GetObjectItem(c, "command")) {
                if (strncmp(e->valuestring, "--feature-gates=", 16) == 0)
                        snprintf(buf, size, "%s", e->valuestring + 16);
        }
        cJSON_Delete(c);
}

/* spec.features on a running instance: the quota and preemption reconcilers put their gates on
 * exactly the controller-manager, webhook and scheduler, their conditions turn True once those
 * rolled out, and the FederatedResourceQuota and PriorityClass they make are accepted by the
 * real Karmada API server and webhook; the scheduler feature deploys an estimator for a member
 * and its ExternalName Service; removing the block takes the gates and the estimator away. */
static void test_features(const char *ns, const char *name)
{
        static const struct kube_resource pcs = {"scheduling.k8s.io", "v1", "priorityclasses",
                                                 "PriorityClass", false};
        struct kube_client *kk;
        char cm[512], wh[512], sc[512], ag[512], dep[256];
        cJSON *o = NULL;
        double t;

        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"member1-kubeconfig\"},\"stringData\":{"
                           "\"kubeconfig\":\"" LIVE_UNREACHABLE_KUBECONFIG "\"}}");
        live_patch(ns, name,
                   "{\"spec\":{\"features\":{\"scheduler\":{\"estimator\":{\"enabled\":true,"
                   "\"memberClusters\":[{\"name\":\"member1\",\"kubeconfigSecretRef\":{"
                   "\"name\":\"member1-kubeconfig\"}}]}},\"quota\":{\"enforcement\":true,"
                   "\"federatedResourceQuotas\":[{\"name\":\"team\",\"namespace\":\"default\","
                   "\"spec\":{\"overall\":{\"cpu\":\"10m\"}}}]},\"preemption\":{"
                   "\"priorityBasedScheduling\":true,\"priorityClasses\":[{\"name\":\"high\","
                   "\"value\":1000}]}}}}");
        t = live_wait_condition(ns, name, "QuotaEnforcementReady", "True", 120);
        live_wait_condition(ns, name, "PreemptionReady", "True", 120);
        live_wait_condition(ns, name, "SchedulerFeaturesReady", "True", 120);
        live_wait_condition(ns, name, "Ready", "True", 120);
        snprintf(dep, sizeof(dep), "%s-karmada-controller-manager", name);
        gates_of(ns, dep, cm, sizeof(cm));
        snprintf(dep, sizeof(dep), "%s-karmada-webhook", name);
        gates_of(ns, dep, wh, sizeof(wh));
        snprintf(dep, sizeof(dep), "%s-karmada-scheduler", name);
        gates_of(ns, dep, sc, sizeof(sc));
        snprintf(dep, sizeof(dep), "%s-karmada-aggregated-apiserver", name);
        gates_of(ns, dep, ag, sizeof(ag));
        IT_ASSERT(strcmp(cm, "FederatedQuotaEnforcement=true,PriorityBasedScheduling=true") == 0 &&
                          strcmp(wh, "FederatedQuotaEnforcement=true") == 0 &&
                          strcmp(sc, "PriorityBasedScheduling=true") == 0 && !ag[0],
                  "gates: controller-manager %s, webhook %s, scheduler %s, aggregated %s", cm, wh,
                  sc, ag);
        kk = live_karmada_client(ns, name, NULL);
        IT_ASSERT(kube_get(kk, &kube_services, "karmada-system",
                           "karmada-scheduler-estimator-member1", &o, NULL) == 0 &&
                          strstr(cJSON_GetStringValue(cJSON_GetObjectItem(
                                         cJSON_GetObjectItem(o, "spec"), "externalName")),
                                 "-karmada-scheduler-estimator-member1."),
                  "the estimator's ExternalName Service in the Karmada API server");
        cJSON_Delete(o);
        o = NULL;
        snprintf(dep, sizeof(dep), "%s-karmada-scheduler-estimator-member1", name);
        cJSON_Delete(live_container(ns, dep)); /* the estimator's Deployment exists */
        IT_ASSERT(kube_get(kk, &frqs, "default", "team", &o, NULL) == 0, "FRQ team");
        cJSON_Delete(o);
        o = NULL;
        IT_ASSERT(kube_get(kk, &pcs, NULL, "high", &o, NULL) == 0 &&
                          cJSON_GetObjectItem(o, "value")->valueint == 1000,
                  "PriorityClass high");
        cJSON_Delete(o);
        kube_client_free(kk);
        itest_log("quota and preemption on: conditions True after %.1fs; gates on cm (%s), "
                  "webhook (%s), scheduler (%s); FRQ and PriorityClass in the Karmada API server",
                  t, cm, wh, sc);
        /* off again: the gates go */
        live_patch(ns, name, "{\"spec\":{\"features\":null}}");
        for (t = itest_now();; usleep(250 * 1000)) {
                snprintf(dep, sizeof(dep), "%s-karmada-controller-manager", name);
                gates_of(ns, dep, cm, sizeof(cm));
                snprintf(dep, sizeof(dep), "%s-karmada-webhook", name);
                gates_of(ns, dep, wh, sizeof(wh));
                if (!cm[0] && !wh[0])
                        break;
                IT_ASSERT(itest_now() - t < 60, "gates after the features were removed: %s / %s",
                          cm, wh);
        }
        live_wait_condition(ns, name, "Ready", "True", 120);
        {
                cJSON *gone = NULL;
                snprintf(dep, sizeof(dep), "%s-karmada-scheduler-estimator-member1", name);
                for (double t1 = itest_now();
                     kube_get(live_kc, &kube_deployments, ns, dep, &gone, NULL) == 0;
                     usleep(250 * 1000)) {
                        cJSON_Delete(gone);
                        gone = NULL;
                        IT_ASSERT(itest_now() - t1 < 30, "the estimator stays after the features "
                                                         "were removed");
                }
        }
        itest_log("features removed: no gates, no estimator left after %.1fs", itest_now() - t);
}

static void test_missing_san_fails(const char *cache, const char *url)
{
        const char *ns = itest_unique_name("faulty");
        const char *dir = getenv("KO_TEST_CLUSTER"), *faulty = getenv("KO_OPERATOR_FAULTY_BIN");
        char buf[1024], path[1024], *log = NULL;
        double t0;
        size_t len;

        IT_ASSERT(faulty && *faulty, "KO_OPERATOR_FAULTY_BIN");
        live_make_ns(ns);
        live_start_operator(1, faulty, ns, cache, NULL);
        create_karmada(ns, "bad", url);
        snprintf(path, sizeof(path), "%s/plane/pods/%s_bad-karmada-apiserver-0/log", dir, ns);
        for (t0 = itest_now(); itest_now() - t0 < 90; usleep(500 * 1000)) {
                free(log);
                log = NULL;
                if (fileio_read(path, 64u << 20, &log, &len) == 0 &&
                    strstr(log, "certificate is valid for"))
                        break;
        }
        IT_ASSERT(log && strstr(log, "certificate is valid for"),
                  "the kube-apiserver of the faulty render says why it cannot reach etcd (%s)",
                  path);
        /* and it stays so: the operator cannot reach a Karmada API server that cannot start */
        for (t0 = itest_now(); itest_now() - t0 < 20; usleep(500 * 1000)) {
                live_condition(ns, "bad", "Ready", buf, sizeof(buf));
                IT_ASSERT(strncmp(buf, "True", 4) != 0, "a faulty render became Ready: %s", buf);
        }
        itest_log("a render without the etcd client SAN: not Ready (\"%.100s\"); the "
                  "kube-apiserver logs \"certificate is valid for ...\"",
                  buf);
        free(log);
        live_stop_operator(1);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bad", NULL, NULL) == 0,
                  "delete bad");
}

int main(void)
{
        const char *ns;
        struct fileserver *srv;
        char url[256], cache[256], *dir;
        double t;

        live_setup();
        /* the CRD tarball over HTTP; an empty cache, so the operator downloads it */
        dir = path_dirname(itest_crd_tarball("v1.18.2"));
        srv = fileserver_start(dir);
        IT_ASSERT(srv, "file server");
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/crds.tar.gz", fileserver_port(srv));
        snprintf(cache, sizeof(cache), "/tmp/ko-live-cache-%d", (int)getpid());

        ns = itest_unique_name("live");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, cache, NULL);
        create_karmada(ns, "live", url);
        t = live_wait_condition(ns, "live", "Ready", "True", 240);
        IT_ASSERT(fileserver_requests(srv) >= 1, "the tarball was downloaded");
        itest_log("Ready after %.1fs with a real etcd and kube-apiserver; the CRD tarball "
                  "downloaded from %s",
                  t, url);
        /* the real karmada-aggregated-apiserver serves the Cluster API: nothing degraded */
        t = live_wait_condition(ns, "live", "Degraded", "False", 120);
        itest_log("APIService v1alpha1.cluster.karmada.io Available: Degraded=False after %.1fs",
                  t);
        check_karmada_apis(ns, "live");
        test_features(ns, "live");

        test_missing_san_fails(cache, url);

        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "live", NULL, NULL) == 0,
                  "delete live");
        live_wait_deleted(ns, "live", 60);
        live_teardown();
        fileserver_stop(srv);
        free(dir);
        itest_rm_rf(cache);
        itest_log("ok");
        return 0;
}
