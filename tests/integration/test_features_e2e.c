/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features proven through Karmada itself. ko-plane runs every component the operator
 * renders for a v1.18.2 instance (karmada-controller-manager, -scheduler, -webhook,
 * -aggregated-apiserver and the scheduler-estimators included) with the rendered arguments;
 * two member clusters of hack/members.sh (the `members` fixture) join in push mode (a Cluster
 * and its token Secret in the Karmada API server). Each feature is checked twice: with the
 * instance's features absent (Karmada behaves as without them) and switched on:
 *   quota       a FederatedResourceQuota of cpu 10m: the second Deployment of 10m gets its
 *               ResourceBinding Scheduled=False QuotaExceeded (off: both propagate);
 *   preemption  a policy of priority 10 with preemption Always takes a Deployment from the one
 *               of priority 5 (member1 -> member2, event PreemptPolicySucceed; off: it stays);
 *   priority    the operator's PriorityClass of 1000 and a policy's schedulePriority give the
 *               binding spec.schedulePriority.priority 1000 (off: none);
 *   estimator   the operator's estimators see a member ResourceQuota of cpu 30m: 3 replicas of
 *               10m schedule, 5 are Unschedulable (off: 5 schedule);
 *   batch       a PyTorchJob (CRD from spec.features.batch.crds, propagated to the members by
 *               the operator's policy) gets ResourceBinding spec.components master + worker
 *               (off: no components).
 * Then the features are removed again: the objects they made in the Karmada API server go. */
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "itest.h"
#include "live.h"
#include "members.h"
#include "kube/client.h"
#include "karmada/spec.h"
#include "kube/config.h"
#include "util/base64.h"
#include "util/fileio.h"

#define NAME "fe"

static const struct kube_resource frqs = {
        "policy.karmada.io", "v1alpha1", "federatedresourcequotas", "FederatedResourceQuota", true};
static const struct kube_resource rbs = {"work.karmada.io", "v1alpha2", "resourcebindings",
                                         "ResourceBinding", true};
static const struct kube_resource rqs = {"", "v1", "resourcequotas", "ResourceQuota", true};
static const struct kube_resource pytorchjobs = {"kubeflow.org", "v1", "pytorchjobs", "PyTorchJob",
                                                 true};

/* A PyTorchJob-shaped CRD: enough schema for Karmada to read its templates. */
#define PYTORCH_CRD                                                                               \
        "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","      \
        "\"metadata\":{\"name\":\"pytorchjobs.kubeflow.org\"},\"spec\":{\"group\":\"kubeflow."    \
        "org\","                                                                                  \
        "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"pytorchjobs\",\"singular\":"            \
        "\"pytorchjob\",\"kind\":\"PyTorchJob\",\"listKind\":\"PyTorchJobList\"},\"versions\":[{" \
        "\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},"      \
        "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{\"spec\":{"         \
        "\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},\"status\":{"         \
        "\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}"

static struct member members[2];
static struct kube_client *kk; /* the instance's Karmada API server */
static const char *host_ns;

static cJSON *kget(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const char *name)
{
        cJSON *o = NULL;

        if (kube_get(c, r, ns, name, &o, NULL) < 0)
                return NULL;
        return o;
}

static cJSON *at(cJSON *o, const char *a, const char *b)
{
        o = cJSON_GetObjectItemCaseSensitive(o, a);
        return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

/* "member1=3,member2=0": a binding's spec.clusters */
static const char *placement(cJSON *rb, char *buf, size_t size)
{
        const cJSON *c;
        size_t n = 0;

        buf[0] = '\0';
        cJSON_ArrayForEach (c, at(rb, "spec", "clusters")) {
                const cJSON *r = cJSON_GetObjectItem(c, "replicas");
                n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s=%d", n ? "," : "",
                                      cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")),
                                      cJSON_IsNumber(r) ? r->valueint : 0);
                if (n >= size)
                        break;
        }
        return buf;
}

/* Wait until the binding `name` in ns satisfies ok(); it is returned (the caller frees). */
static cJSON *wait_binding(const char *ns, const char *name, bool (*ok)(cJSON *, const void *),
                           const void *arg, double timeout, const char *what)
{
        char cond[128], where[256];
        cJSON *rb = NULL;

        for (double t = itest_now();; usleep(500 * 1000)) {
                cJSON_Delete(rb);
                rb = kget(kk, &rbs, ns, name);
                if (rb && ok(rb, arg))
                        return rb;
                if (itest_now() - t > timeout)
                        break;
        }
        IT_FAIL("binding %s/%s: %s not reached in %.0fs (Scheduled: %s, clusters: %s)", ns, name,
                what, timeout,
                rb ? live_condition_of(rb, "Scheduled", false, cond, sizeof(cond)) : "no binding",
                rb ? placement(rb, where, sizeof(where)) : "");
}

static bool placed_on(cJSON *rb, const void *want)
{
        char buf[256];

        return strcmp(placement(rb, buf, sizeof(buf)), want) == 0;
}

static bool scheduled_is(cJSON *rb, const void *want)
{
        char buf[128];

        return strcmp(live_condition_of(rb, "Scheduled", false, buf, sizeof(buf)), want) == 0;
}

static bool exists(cJSON *rb, const void *unused)
{
        (void)unused;
        return at(rb, "spec", "resource") != NULL;
}

static bool has_priority(cJSON *rb, const void *unused)
{
        (void)unused;
        return at(at(rb, "spec", "schedulePriority"), "priority", NULL) != NULL;
}

static bool has_components(cJSON *rb, const void *unused)
{
        (void)unused;
        return cJSON_GetArraySize(at(rb, "spec", "components")) > 0;
}

/* namespaces of this run: the member clusters outlive an instance */
static void ns_name(char *buf, size_t size, const char *base)
{
        snprintf(buf, size, "%s-%d", base, (int)getpid());
}

/* ---- the features ---- */

static void quota(bool on)
{
        char ns[64];
        cJSON *rb;

        ns_name(ns, sizeof(ns), on ? "quota-on" : "quota-off");
        karmada_namespace(kk, ns);
        if (!on) /* the same quota, made by hand: without the gate nothing enforces it */
                live_create_in(kk, &frqs, ns, true,
                               "{\"metadata\":{\"name\":\"team\"},\"spec\":{\"overall\":{\"cpu\":"
                               "\"10m\"}}}");
        karmada_policy(kk, ns, "all", NULL, "member1", NULL);
        karmada_deployment(kk, ns, "first", 1);
        member_wait_object(&members[0], &kube_deployments, ns, "first");
        karmada_deployment(kk, ns, "second", 1);
        if (on) {
                rb = wait_binding(ns, "second-deployment", scheduled_is, "False QuotaExceeded", 120,
                                  "Scheduled=False QuotaExceeded");
                cJSON_Delete(rb);
                rb = kget(members[0].kc, &kube_deployments, ns, "second");
                IT_ASSERT(!rb, "the second Deployment reached member1 beyond the quota");
                itest_log("quota on: the second Deployment of 10m is refused (QuotaExceeded)");
        } else {
                member_wait_object(&members[0], &kube_deployments, ns, "second");
                itest_log("quota off: both Deployments propagate despite the FRQ of 10m");
        }
}

static void preemption(bool on)
{
        char ns[64];
        bool seen = false;
        cJSON *rb, *evs = NULL;
        const cJSON *e;

        ns_name(ns, sizeof(ns), on ? "preempt-on" : "preempt-off");
        karmada_namespace(kk, ns);
        karmada_policy(kk, ns, "low", "web", "member1", ",\"priority\":5");
        karmada_deployment(kk, ns, "web", 1);
        cJSON_Delete(wait_binding(ns, "web-deployment", placed_on, "member1=1", 120, "member1"));
        karmada_policy(kk, ns, "high", "web", "member2",
                       ",\"priority\":10,\"preemption\":\"Always\"");
        if (on) {
                rb = wait_binding(ns, "web-deployment", placed_on, "member2=1", 120,
                                  "moved to member2");
                cJSON_Delete(rb);
                /* events are recorded asynchronously: the move may be seen first */
                for (double t = itest_now(); !seen; usleep(500 * 1000)) {
                        IT_ASSERT(itest_now() - t < 30, "no event PreemptPolicySucceed in %s", ns);
                        IT_ASSERT(kube_list(kk, &kube_events, ns, NULL, &evs, NULL) == 0, "events");
                        cJSON_ArrayForEach (e, cJSON_GetObjectItem(evs, "items")) {
                                const char *r =
                                        cJSON_GetStringValue(cJSON_GetObjectItem(e, "reason"));
                                seen = seen || (r && strcmp(r, "PreemptPolicySucceed") == 0);
                        }
                        cJSON_Delete(evs);
                        evs = NULL;
                }
                member_wait_object(&members[1], &kube_deployments, ns, "web");
                itest_log("preemption on: the policy of priority 10 took web to member2 "
                          "(event PreemptPolicySucceed)");
        } else {
                /* the detector has seen the new policy when it would have acted on it: give the
                 * controller-manager the time the "on" case needs, several times over */
                sleep(15);
                rb = wait_binding(ns, "web-deployment", placed_on, "member1=1", 1, "member1");
                cJSON_Delete(rb);
                itest_log("preemption off: web stays on member1 15 s after the policy of "
                          "priority 10");
        }
}

static void priority(bool on)
{
        char ns[64];
        cJSON *rb;
        const cJSON *p;

        ns_name(ns, sizeof(ns), on ? "prio-on" : "prio-off");
        karmada_namespace(kk, ns);
        if (!on)
                live_create_in(kk, &kube_priorityclasses, NULL, true,
                               "{\"metadata\":{\"name\":\"high\"},\"value\":1000}");
        karmada_policy(kk, ns, "prio", NULL, "member1",
                       ",\"schedulePriority\":{\"priorityClassSource\":\"KubePriorityClass\","
                       "\"priorityClassName\":\"high\"}");
        karmada_deployment(kk, ns, "job", 1);
        if (on) {
                rb = wait_binding(ns, "job-deployment", has_priority, NULL, 120,
                                  "spec.schedulePriority");
                p = at(at(rb, "spec", "schedulePriority"), "priority", NULL);
                IT_ASSERT(p->valueint == 1000, "schedulePriority.priority %d", p->valueint);
                itest_log("priority on: binding spec.schedulePriority.priority 1000");
        } else {
                rb = wait_binding(ns, "job-deployment", placed_on, "member1=1", 120, "member1");
                IT_ASSERT(!at(rb, "spec", "schedulePriority"),
                          "spec.schedulePriority set with the feature off");
                itest_log("priority off: the binding has no schedulePriority");
                cJSON_Delete(rb);
                /* the operator makes its own "high" when the feature comes */
                IT_ASSERT(kube_delete(kk, &kube_priorityclasses, NULL, "high", NULL, NULL) == 0,
                          "delete PriorityClass high");
                return;
        }
        cJSON_Delete(rb);
}

/* A member ResourceQuota of requests.cpu 30m (made in Karmada, propagated with the Deployment by
 * a Divided policy weighted by available replicas), and a Deployment of `replicas` x 10m. */
static cJSON *estimate(const char *ns, int replicas, bool (*ok)(cJSON *, const void *),
                       const void *want, const char *what)
{
        karmada_namespace(kk, ns);
        live_create_in(
                kk, &rqs, ns, true,
                "{\"metadata\":{\"name\":\"rq\"},\"spec\":{\"hard\":{\"requests.cpu\":\"30m\"}}}");
        live_create_in(
                kk, &members_policies, ns, true,
                "{\"metadata\":{\"name\":\"est\"},\"spec\":{\"resourceSelectors\":[{\"apiVersion\":"
                "\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"app\"},{\"apiVersion\":\"v1\","
                "\"kind\":\"ResourceQuota\",\"name\":\"rq\"}],\"placement\":{\"clusterAffinity\":{"
                "\"clusterNames\":[\"member1\"]},\"replicaScheduling\":{\"replicaSchedulingType\":"
                "\"Divided\",\"replicaDivisionPreference\":\"Weighted\",\"weightPreference\":{"
                "\"dynamicWeight\":\"AvailableReplicas\"}}}}}");
        for (double t = itest_now();; usleep(500 * 1000)) {
                cJSON *q = kget(members[0].kc, &rqs, ns, "rq");
                bool there = q != NULL;
                cJSON_Delete(q);
                if (there)
                        break;
                IT_ASSERT(itest_now() - t < 90, "ResourceQuota %s/rq never reached member1", ns);
        }
        karmada_deployment(kk, ns, "app", replicas);
        return wait_binding(ns, "app-deployment", ok, want, 120, what);
}

static void estimator(bool on)
{
        char ns[64];
        cJSON *rb;

        ns_name(ns, sizeof(ns), on ? "est-on-5" : "est-off-5");
        if (on) {
                ns_name(ns, sizeof(ns), "est-on-3");
                cJSON_Delete(estimate(ns, 3, placed_on, "member1=3", "3 replicas on member1"));
                member_wait_object(&members[0], &kube_deployments, ns, "app");
                ns_name(ns, sizeof(ns), "est-on-5");
                rb = estimate(ns, 5, scheduled_is, "False Unschedulable",
                              "Scheduled=False Unschedulable");
                IT_ASSERT(!at(rb, "spec", "clusters") ||
                                  cJSON_GetArraySize(at(rb, "spec", "clusters")) == 0,
                          "5 replicas placed somewhere");
                cJSON_Delete(rb);
                itest_log("estimator on: with a member ResourceQuota of 30m, 3 replicas of 10m "
                          "schedule, 5 are Unschedulable");
        } else {
                cJSON_Delete(estimate(ns, 5, placed_on, "member1=5", "5 replicas on member1"));
                itest_log("estimator off: 5 replicas of 10m go to member1 despite its "
                          "ResourceQuota of 30m");
        }
}

static void pytorchjob(const char *ns)
{
        static const char tmpl[] = "{\"spec\":{\"containers\":[{\"name\":\"pytorch\",\"image\":"
                                   "\"pytorch\",\"resources\":{\"requests\":{\"cpu\":\"10m\"}}}]}}";

        karmada_namespace(kk, ns);
        live_create_in(
                kk, &members_policies, ns, true,
                "{\"metadata\":{\"name\":\"jobs\"},\"spec\":{\"resourceSelectors\":[{"
                "\"apiVersion\":"
                "\"kubeflow.org/v1\",\"kind\":\"PyTorchJob\"}],\"placement\":{\"clusterAffinity\":{"
                "\"clusterNames\":[\"member1\"]}}}}");
        live_create_in(kk, &pytorchjobs, ns, true,
                       "{\"apiVersion\":\"kubeflow.org/"
                       "v1\",\"kind\":\"PyTorchJob\",\"metadata\":{\"name\":"
                       "\"train\"},\"spec\":{\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":1,"
                       "\"template\":%s},\"Worker\":{\"replicas\":2,\"template\":%s}}}}",
                       tmpl, tmpl);
}

static void wait_crd(struct kube_client *c, const char *where)
{
        for (double t = itest_now();; usleep(500 * 1000)) {
                cJSON *crd = kget(c, &kube_crds, NULL, "pytorchjobs.kubeflow.org");
                char buf[64];
                bool ok = strncmp(live_condition_of(crd, "Established", false, buf, sizeof(buf)),
                                  "True", 4) == 0;
                cJSON_Delete(crd);
                if (ok)
                        return;
                IT_ASSERT(itest_now() - t < 90, "CRD pytorchjobs.kubeflow.org not in %s", where);
        }
}

static void batch(bool on)
{
        cJSON *rb;
        const cJSON *c;
        char names[64] = "", ns[64];

        ns_name(ns, sizeof(ns), on ? "batch-on" : "batch-off");
        if (!on) {
                /* the CRD made by hand, in the Karmada API server only */
                live_create_in(kk, &kube_crds, NULL, true, PYTORCH_CRD);
                wait_crd(kk, "the Karmada API server");
                pytorchjob(ns);
                rb = wait_binding(ns, "train-pytorchjob", exists, NULL, 120, "a binding");
                IT_ASSERT(!at(rb, "spec", "components"), "components with the feature off");
                cJSON_Delete(rb);
                itest_log("batch off: the PyTorchJob's binding has no components");
                IT_ASSERT(kube_delete(kk, &kube_crds, NULL, "pytorchjobs.kubeflow.org", NULL,
                                      NULL) == 0,
                          "delete the CRD");
                for (double t = itest_now();; usleep(500 * 1000)) {
                        cJSON *crd = kget(kk, &kube_crds, NULL, "pytorchjobs.kubeflow.org");
                        bool gone = !crd;
                        cJSON_Delete(crd);
                        if (gone)
                                break;
                        IT_ASSERT(itest_now() - t < 60, "the hand-made CRD stays");
                }
                return;
        }
        wait_crd(kk, "the Karmada API server");
        wait_crd(members[0].kc, "member1");
        wait_crd(members[1].kc, "member2");
        pytorchjob(ns);
        rb = wait_binding(ns, "train-pytorchjob", has_components, NULL, 120, "spec.components");
        cJSON_ArrayForEach (c, at(rb, "spec", "components")) {
                const cJSON *n = cJSON_GetObjectItem(c, "name");
                size_t len = strlen(names);
                snprintf(names + len, sizeof(names) - len, "%s%s=%d", len ? "," : "",
                         cJSON_GetStringValue(n),
                         cJSON_GetObjectItem(c, "replicas")
                                 ? cJSON_GetObjectItem(c, "replicas")->valueint
                                 : -1);
        }
        IT_ASSERT(strcmp(names, "master=1,worker=2") == 0, "components %s", names);
        cJSON_Delete(rb);
        member_wait_object(&members[0], &pytorchjobs, ns, "train");
        itest_log("batch on: the CRD reached both members, the PyTorchJob member1; its binding has "
                  "components %s",
                  names);
}

/* Nothing degraded and the operator settled, then no request of it for 10 s but the lease's. */
static void at_rest(const char *after)
{
        live_wait_condition(host_ns, NAME, "Degraded", "False", 120);
        audit_assert_at_rest(after, 10, live_operator_metrics_port(0));
}

static void features_on(void)
{
        char qns[64];
        double t;

        ns_name(qns, sizeof(qns), "quota-on");
        karmada_namespace(kk, qns); /* the FRQ's */
        live_patch(host_ns, NAME,
                   "{\"spec\":{\"features\":{\"scheduler\":{\"estimator\":{\"enabled\":true,"
                   "\"memberClusters\":[{\"name\":\"member1\",\"kubeconfigSecretRef\":{\"name\":"
                   "\"member1-kubeconfig\"}},{\"name\":\"member2\",\"kubeconfigSecretRef\":{"
                   "\"name\":\"member2-kubeconfig\"}}]}},\"quota\":{\"enforcement\":true,"
                   "\"estimate\":true,\"federatedResourceQuotas\":[{\"name\":\"team\","
                   "\"namespace\":\"%s\",\"spec\":{\"overall\":{\"cpu\":\"10m\"}}}]},"
                   "\"preemption\":{\"priorityBasedScheduling\":true,\"policyPreemption\":true,"
                   "\"priorityClasses\":[{\"name\":\"high\",\"value\":1000}]},\"batch\":{"
                   "\"multiplePodTemplates\":true,\"crds\":[" PYTORCH_CRD "]}}}}",
                   qns);
        t = itest_now();
        live_wait_condition(host_ns, NAME, "QuotaEnforcementReady", "True", 180);
        live_wait_condition(host_ns, NAME, "PreemptionReady", "True", 180);
        live_wait_condition(host_ns, NAME, "SchedulerFeaturesReady", "True", 180);
        live_wait_condition(host_ns, NAME, "BatchWorkloadsReady", "True", 180);
        live_wait_condition(host_ns, NAME, "Ready", "True", 180);
        itest_log("features on: the four conditions and Ready True after %.1fs", itest_now() - t);
}

/* Removed again: what the features made in the Karmada API server goes. */
static void features_off(void)
{
        struct {
                const struct kube_resource *r;
                const char *ns, *name;
        } made[] = {
                {&frqs, NULL, "team"},
                {&kube_priorityclasses, NULL, "high"},
                {&kube_crds, NULL, "pytorchjobs.kubeflow.org"},
                {&kube_services, "karmada-system", "karmada-scheduler-estimator-member1"},
                {&kube_services, "karmada-system", "karmada-scheduler-estimator-member2"},
        };
        char qns[64];
        double t = itest_now();

        ns_name(qns, sizeof(qns), "quota-on");
        made[0].ns = qns;
        live_patch(host_ns, NAME, "{\"spec\":{\"features\":null}}");
        for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
                for (;;) {
                        cJSON *o = kget(kk, made[i].r, made[i].ns, made[i].name);
                        bool gone = !o;
                        cJSON_Delete(o);
                        if (gone)
                                break;
                        IT_ASSERT(itest_now() - t < 120, "%s %s stays after the features went",
                                  made[i].r->resource, made[i].name);
                        usleep(500 * 1000);
                }
        }
        live_wait_condition(host_ns, NAME, "Ready", "True", 180);
        itest_log("features removed: their FRQ, PriorityClass, CRD and estimator Services gone "
                  "from the Karmada API server after %.1fs",
                  itest_now() - t);
}

int main(void)
{
        double t;

        live_setup();
        members_load(members);
        host_ns = itest_unique_name("feat");
        live_make_ns(host_ns);
        for (int i = 0; i < 2; i++) {
                char *b = NULL;
                IT_ASSERT(base64_encode(members[i].kubeconfig, strlen(members[i].kubeconfig), &b) ==
                                  0,
                          "base64");
                live_create_object(&kube_secrets, host_ns,
                                   "{\"metadata\":{\"name\":\"%s-kubeconfig\"},\"data\":{"
                                   "\"kubeconfig\":\"%s\"}}",
                                   members[i].name, b);
                free(b);
        }
        live_start_operator(0, itest_operator_bin(), host_ns, itest_operator_cache(), NULL);
        live_create_instance(host_ns, NAME, "v1.18.2");
        t = live_wait_condition(host_ns, NAME, "Ready", "True", 300);
        itest_log("instance Ready after %.1fs", t);
        at_rest("install");
        kk = live_karmada_client(host_ns, NAME, NULL);
        t = itest_now();
        member_join(kk, &members[0]);
        member_join(kk, &members[1]);
        itest_log("member1 and member2 joined in push mode: Clusters Ready after %.1fs",
                  itest_now() - t);

        quota(false);
        preemption(false);
        priority(false);
        estimator(false);
        batch(false);

        features_on();
        at_rest("features switched on");
        quota(true);
        preemption(true);
        priority(true);
        estimator(true);
        batch(true);

        features_off();
        at_rest("features switched off");

        kube_client_free(kk);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, host_ns, NAME, NULL, NULL) == 0,
                  "delete");
        live_wait_deleted(host_ns, NAME, 120);
        live_teardown();
        for (int i = 0; i < 2; i++) {
                kube_client_free(members[i].kc);
                free(members[i].kubeconfig);
                free(members[i].token);
                free(members[i].ca);
        }
        itest_log("ok");
        return 0;
}
