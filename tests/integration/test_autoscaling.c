/* SPDX-License-Identifier: Apache-2.0 */
/* Replicas managed elsewhere (operator.karmada.io/replicas-managed-externally), against the
 * real HorizontalPodAutoscaler controller of the test cluster's kube-controller-manager:
 *   - an instance whose API server runs 2 replicas by its CR is annotated: the operator applies
 *     the Deployment without replicas, and they stay 2 (a field manager of its own keeps them;
 *     server-side apply would otherwise reset them to the default, 1);
 *   - an HPA with minReplicas 3 scales it to 3 (the controller raises a count below its minimum
 *     without metrics), then a person scales it to 4: neither is reverted, the instance stays
 *     Ready with whatever count is current, while a hand-edited image is still put back;
 *   - the HPA deleted and the annotation removed: the operator takes the replicas back (2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/json.h"

#define NAME "as"
#define DEPL NAME "-karmada-apiserver"

static const struct kube_resource hpas = {"autoscaling", "v2", "horizontalpodautoscalers",
                                          "HorizontalPodAutoscaler", true};
static const char *ns;

static cJSON *deployment(void)
{
        cJSON *d = NULL;

        IT_ASSERT(kube_get(live_kc, &kube_deployments, ns, DEPL, &d, NULL) == 0, "get " DEPL);
        return d;
}

static long long replicas(void)
{
        cJSON *d = deployment();
        long long n = json_at(d, "spec", "replicas")
                              ? (long long)json_at(d, "spec", "replicas")->valuedouble
                              : -1;

        cJSON_Delete(d);
        return n;
}

/* the Deployment's applied hash, as the operator stamps it */
static char *applied_hash(void)
{
        cJSON *d = deployment();
        char *h = strdup(json_str(json_at(d, "metadata", "annotations"),
                                  "operator.karmada.io/applied-hash", NULL)
                                 ?: "");

        cJSON_Delete(d);
        return h;
}

/* wait until the Deployment's spec.replicas is n */
static double wait_replicas(long long n, double timeout)
{
        double t0 = itest_now();

        while (replicas() != n) {
                IT_ASSERT(itest_now() - t0 < timeout,
                          DEPL " has %lld replicas after %.0fs, not %lld", replicas(), timeout, n);
                usleep(200 * 1000);
        }
        return itest_now() - t0;
}

/* The annotation added: the operator applies again (a new hash), and the replicas stay 2 */
static void annotate(void)
{
        char *before = applied_hash(), *after = NULL;
        double t0 = itest_now();

        live_patch(ns, NAME,
                   "{\"metadata\":{\"annotations\":{\"" KO_REPLICAS_EXTERNAL_ANNOTATION
                   "\":\"karmada-apiserver\"}}}");
        for (;;) {
                free(after);
                after = applied_hash();
                IT_ASSERT(replicas() == 2,
                          "the replicas went to %lld when the operator let them go", replicas());
                if (strcmp(before, after) != 0)
                        break;
                IT_ASSERT(itest_now() - t0 < 60, "not applied again 60s after the annotation");
                usleep(100 * 1000);
        }
        live_wait_condition(ns, NAME, "Ready", "True", 120);
        IT_ASSERT(replicas() == 2, "%lld replicas after the annotation", replicas());
        itest_log("annotated: applied without replicas %.1fs later, still 2", itest_now() - t0);
        free(before);
        free(after);
}

/* The HPA's count and a person's stay; the image is still the operator's */
static void autoscaled(void)
{
        cJSON *c;
        char image[256];
        struct kube_status st;
        double t;

        live_create_object(
                &hpas, ns,
                "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
                "\"metadata\":{\"name\":\"apiserver\"},\"spec\":{\"scaleTargetRef\":{"
                "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"" DEPL
                "\"},\"minReplicas\":3,\"maxReplicas\":4,\"metrics\":[{\"type\":"
                "\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":"
                "\"Utilization\",\"averageUtilization\":80}}}]}}");
        t = wait_replicas(3, 90);
        live_wait_condition(ns, NAME, "Ready", "True", 120);
        itest_log("the HPA scaled " DEPL " to 3 in %.1fs; Ready", t);
        IT_ASSERT(kube_patch(live_kc, &kube_deployments, ns, DEPL, KUBE_PATCH_MERGE,
                             "{\"spec\":{\"replicas\":4}}",
                             &(struct kube_write_options){.subresource = "scale"}, NULL, &st) == 0,
                  "scale to 4: %s", st.message);
        c = live_container(ns, DEPL);
        snprintf(image, sizeof(image), "%s", json_str(c, "image", NULL) ?: "");
        cJSON_Delete(c);
        IT_ASSERT(kube_patch(live_kc, &kube_deployments, ns, DEPL, KUBE_PATCH_STRATEGIC,
                             "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
                             "\"kube-apiserver\",\"image\":\"example.com/drift:1\"}]}}}}",
                             NULL, NULL, &st) == 0,
                  "edit the image: %s", st.message);
        t = itest_now();
        for (;;) {
                c = live_container(ns, DEPL);
                bool back = strcmp(json_str(c, "image", NULL) ?: "", image) == 0;
                cJSON_Delete(c);
                if (back)
                        break;
                IT_ASSERT(itest_now() - t < 30, "the edited image is not put back after 30s");
                usleep(100 * 1000);
        }
        itest_log("an edited image put back in %.2fs", itest_now() - t);
        live_wait_condition(ns, NAME, "Ready", "True", 120);
        IT_ASSERT(replicas() == 4, "%lld replicas after scaling to 4 and a reconcile", replicas());
}

int main(void)
{
        struct kube_status st;
        double t;

        live_setup();
        ns = itest_unique_name("autoscale");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"" NAME "\"},\"spec\":{\"components\":{\"etcd\":{"
                        "\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\","
                        "\"replicas\":2}}}}");
        t = live_wait_condition(ns, NAME, "Ready", "True", 240);
        IT_ASSERT(replicas() == 2, "%lld replicas, the CR says 2", replicas());
        itest_log("Ready with 2 API server replicas in %.1fs", t);
        annotate();
        autoscaled();
        IT_ASSERT(kube_delete(live_kc, &hpas, ns, "apiserver", NULL, &st) == 0,
                  "delete the HPA: %s", st.message);
        live_patch(ns, NAME,
                   "{\"metadata\":{\"annotations\":{\"" KO_REPLICAS_EXTERNAL_ANNOTATION
                   "\":null}}}");
        t = wait_replicas(2, 60);
        live_wait_condition(ns, NAME, "Ready", "True", 120);
        itest_log("the annotation removed: the operator set the CR's 2 replicas in %.1fs", t);
        live_teardown();
        itest_log("ok");
        return 0;
}
