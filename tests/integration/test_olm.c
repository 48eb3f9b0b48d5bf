/* SPDX-License-Identifier: Apache-2.0 */
/* Installed through OLM, as a user of OLM does it, on a real OLM v0 (hack/olm.sh: its olm and
 * catalog operators, a file-based catalog rendered by opm from our bundle image in the cluster's
 * registry, a CatalogSource): the operator's pods run from our image (ko-plane).
 *   1. OperatorGroup (AllNamespaces) and Subscription to channel stable, automatic approval: the
 *      InstallPlan completes, the CSV Succeeded, its CRDs Present, the Deployment Available, the
 *      pod from the image leads;
 *   2. the Karmada of the CSV's alm-examples (in a namespace of the test) reaches Ready;
 *   3. a second bundle version (built here, replacing the first in the channel) is published:
 *      OLM replaces the CSV, a new pod takes the lease, and the instance's objects receive 0
 *      writes (the API server's audit log) and keep their generation;
 *   4. uninstall (Subscription and CSV deleted): the operator's Deployment goes; the CRDs, the
 *      Karmada and its control plane stay and serve;
 *   5. installed again with manual approval, its OperatorGroup targeting the instance's
 *      namespace only (SingleNamespace: OLM grants the CSV's permissions there, and the operator
 *      reads olm.targetNamespaces through $WATCH_NAMESPACE): no CSV until the InstallPlan is
 *      approved; then no ClusterRole bound to the operator grants Secrets, and the new operator
 *      adopts the running instance with 0 writes;
 *   6. deleting the instance works through the reinstalled operator.
 * Throughout, no request of the operator is denied (audit log) and no authentication fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "incluster.h"
#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/json.h"

#define OP_NS   "karmada-operator-system"
#define OP_USER "system:serviceaccount:" OP_NS ":karmada-operator"
#define PKG     "karmada-operator"

static const struct kube_resource subscriptions = {"operators.coreos.com", "v1alpha1",
                                                   "subscriptions", "Subscription", true};
static const struct kube_resource installplans = {"operators.coreos.com", "v1alpha1",
                                                  "installplans", "InstallPlan", true};
static const struct kube_resource csvs = {"operators.coreos.com", "v1alpha1",
                                          "clusterserviceversions", "ClusterServiceVersion", true};
static const struct kube_resource operatorgroups = {"operators.coreos.com", "v1", "operatorgroups",
                                                    "OperatorGroup", true};
/* the CRDs the bundle owns: they stay when the operator is uninstalled */
static const char *const kept_crds[] = {
        "karmadas.operator.karmada.io",
        "karmadabackups.operator.karmada.io",
        "karmadabackupschedules.operator.karmada.io",
        "karmadareleases.operator.karmada.io",
        NULL,
};
static const struct kube_resource crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                          "CustomResourceDefinition", false};
static const struct kube_resource leases = {"coordination.k8s.io", "v1", "leases", "Lease", true};

static char v0[32], v1[32]; /* the project's version and the next patch release */
static const char *ns;      /* the instance's */
static char instance[128];  /* its name (alm-examples') */

static void olm(const char *cmd, const char *version)
{
        const char *state = getenv("KO_TEST_CLUSTER");

        if (version)
                incluster_hack(NULL, 1800,
                               (const char *const[]){"olm.sh", cmd, "--state-dir", state,
                                                     "--version", version, NULL});
        else
                incluster_hack(NULL, 600,
                               (const char *const[]){"olm.sh", cmd, "--state-dir", state, NULL});
}

/* The object, or NULL when it is not there. */
static cJSON *get(const struct kube_resource *r, const char *in, const char *name)
{
        cJSON *o = NULL;

        return kube_get(live_kc, r, in, name, &o, NULL) == 0 ? o : NULL;
}

/* json_str of get()'s object, into buf ("" when either is missing) */
static const char *get_str(const struct kube_resource *r, const char *in, const char *name,
                           const char *a, const char *b, char *buf, size_t size)
{
        cJSON *o = get(r, in, name);

        snprintf(buf, size, "%s", json_str(o, a, b) ? json_str(o, a, b) : "");
        cJSON_Delete(o);
        return buf;
}

static const char *csv_phase(const char *version, char *buf, size_t size)
{
        char name[64];

        snprintf(name, sizeof(name), PKG ".v%s", version);
        return get_str(&csvs, OP_NS, name, "status", "phase", buf, size);
}

/* Wait for CSV of version to be Succeeded; seconds it took. */
static double wait_csv(const char *version, double timeout)
{
        double t0 = itest_now();
        char phase[64];

        while (strcmp(csv_phase(version, phase, sizeof(phase)), "Succeeded") != 0) {
                double waited = itest_now() - t0;
                if (strcmp(phase, "Failed") == 0 || waited >= timeout) {
                        incluster_explain(OP_NS, PKG "-0");
                        IT_FAIL("CSV " PKG ".v%s: phase \"%s\" after %.0fs (logs: "
                                "$KO_TEST_CLUSTER/logs/olm-*.log)",
                                version, phase, waited);
                }
                usleep(250 * 1000);
        }
        return itest_now() - t0;
}

static const char *lease_holder(char *buf, size_t size)
{
        return get_str(&leases, OP_NS, PKG, "spec", "holderIdentity", buf, size);
}

/* Wait until a pod of ko-plane (karmada-operator-0, from the image) other than `not` holds the
 * Lease; its identity into buf. */
static void wait_leader(const char * not, char *buf, size_t size, double timeout)
{
        double t0 = itest_now();

        while (strncmp(lease_holder(buf, size), PKG "-0_", strlen(PKG "-0_")) != 0 ||
               (not &&strcmp(buf, not ) == 0)) {
                IT_ASSERT(itest_now() - t0 < timeout,
                          "no new Lease holder from the pod after %.0fs: \"%s\" (pod log: "
                          "$KO_TEST_CLUSTER/plane/pods/" OP_NS "_" PKG "-0/log)",
                          timeout, buf);
                usleep(250 * 1000);
        }
}

/* An OperatorGroup of every namespace (target NULL) or of one, and a Subscription */
static void subscribe(const char *approval, const char *starting, const char *target)
{
        if (target)
                live_create_object(&operatorgroups, OP_NS,
                                   "{\"apiVersion\":\"operators.coreos.com/v1\",\"kind\":"
                                   "\"OperatorGroup\",\"metadata\":{\"name\":\"" PKG "\"},"
                                   "\"spec\":{\"targetNamespaces\":[\"%s\"]}}",
                                   target);
        else
                live_create_object(&operatorgroups, OP_NS,
                                   "{\"apiVersion\":\"operators.coreos.com/v1\",\"kind\":"
                                   "\"OperatorGroup\",\"metadata\":{\"name\":\"" PKG "\"},"
                                   "\"spec\":{}}");
        live_create_object(&subscriptions, OP_NS,
                           "{\"apiVersion\":\"operators.coreos.com/v1alpha1\",\"kind\":"
                           "\"Subscription\",\"metadata\":{\"name\":\"" PKG "\"},\"spec\":{"
                           "\"channel\":\"stable\",\"name\":\"" PKG "\",\"source\":\"" PKG "\","
                           "\"sourceNamespace\":\"olm\",\"installPlanApproval\":\"%s\","
                           "\"startingCSV\":\"" PKG ".v%s\"}}",
                           approval, starting);
}

/* The InstallPlan that installs CSV `name` (NULL when none yet). */
static cJSON *plan_for(const char *name)
{
        cJSON *list = NULL, *found = NULL;
        const cJSON *p, *n;

        IT_ASSERT(kube_list(live_kc, &installplans, OP_NS, NULL, &list, NULL) == 0, "list plans");
        cJSON_ArrayForEach (p, cJSON_GetObjectItem(list, "items"))
                cJSON_ArrayForEach (n, json_at(p, "spec", "clusterServiceVersionNames"))
                        if (!found && cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
                                found = cJSON_Duplicate(p, true);
        cJSON_Delete(list);
        return found;
}

/* What OLM installed: the plan Complete, every owned CRD Present, the Deployment Available
 * with our image from the registry. */
static void check_install(const char *version, const char *registry)
{
        char name[64], buf[512];
        cJSON *plan, *csv, *dep;
        const cJSON *r;
        int crds_present = 0;

        snprintf(name, sizeof(name), PKG ".v%s", version);
        for (double t0 = itest_now();
             !(plan = plan_for(name)) ||
             strcmp(json_str(plan, "status", "phase") ?: "", "Complete") != 0;
             usleep(250 * 1000)) {
                IT_ASSERT(itest_now() - t0 < 60, "the InstallPlan of %s is not Complete: %s", name,
                          plan ? json_str(plan, "status", "phase") : "no plan");
                cJSON_Delete(plan);
        }
        cJSON_Delete(plan);
        csv = get(&csvs, OP_NS, name);
        cJSON_ArrayForEach (r, json_at(csv, "status", "requirementStatus"))
                if (strcmp(json_str(r, "kind", NULL) ?: "", "CustomResourceDefinition") == 0 &&
                    strcmp(json_str(r, "status", NULL) ?: "", "Present") == 0)
                        crds_present++;
        cJSON_Delete(csv);
        IT_ASSERT(crds_present == 4, "%d of the 4 CRDs Present in the CSV's requirementStatus",
                  crds_present);
        dep = get(&kube_deployments, OP_NS, PKG);
        IT_ASSERT(dep, "no Deployment " PKG " in " OP_NS);
        snprintf(buf, sizeof(buf), "%s",
                 json_str(cJSON_GetArrayItem(
                                  json_at(json_at(dep, "spec", "template"), "spec", "containers"),
                                  0),
                          "image", NULL)
                         ?: "");
        cJSON_Delete(dep);
        IT_ASSERT(strncmp(buf, registry, strlen(registry)) == 0 && strstr(buf, "@sha256:"),
                  "the Deployment's image is %s, not ours by digest from %s", buf, registry);
        IT_ASSERT(INCLUSTER_KUBECTL(NULL, "-n", OP_NS, "wait", "--for=condition=Available",
                                    "--timeout=60s", "deployment/karmada-operator") == 0,
                  "the operator's Deployment is not Available");
}

/* The Karmada of the CSV's alm-examples, created in ns; its name into instance. */
static void create_example(const char *version)
{
        char name[64];
        cJSON *csv, *examples, *k = NULL;
        const cJSON *e;
        struct kube_status st;

        snprintf(name, sizeof(name), PKG ".v%s", version);
        csv = get(&csvs, OP_NS, name);
        examples = cJSON_Parse(
                json_str(json_at(csv, "metadata", "annotations"), "alm-examples", NULL) ?: "");
        cJSON_ArrayForEach (e, examples)
                if (!k && strcmp(json_str(e, "kind", NULL) ?: "", "Karmada") == 0)
                        k = cJSON_Duplicate(e, true);
        IT_ASSERT(k, "no Karmada in the CSV's alm-examples");
        snprintf(instance, sizeof(instance), "%s", json_str(k, "metadata", "name"));
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(k, "metadata"), "namespace",
                                  cJSON_CreateString(ns));
        IT_ASSERT(kube_create(live_kc, &karmada_karmadas, ns, k, NULL, NULL, &st) == 0,
                  "create the example: %s", st.message);
        cJSON_Delete(k);
        cJSON_Delete(examples);
        cJSON_Delete(csv);
}

/* Every statusDescriptor of the Karmada kind in the CSV names a field the instance's status has
 * (what a console shows is there) */
static void status_descriptors(const char *version)
{
        char name[64];
        cJSON *csv, *k = live_get(ns, instance);
        const cJSON *owned, *d;
        int n = 0;

        snprintf(name, sizeof(name), PKG ".v%s", version);
        csv = get(&csvs, OP_NS, name);
        cJSON_ArrayForEach (
                owned, json_at(json_at(csv, "spec", "customresourcedefinitions"), "owned", NULL)) {
                if (strcmp(json_str(owned, "kind", NULL) ?: "", "Karmada") != 0)
                        continue;
                cJSON_ArrayForEach (d, cJSON_GetObjectItem(owned, "statusDescriptors")) {
                        char path[256], *save = NULL;
                        const cJSON *at = cJSON_GetObjectItem(k, "status");
                        snprintf(path, sizeof(path), "%s", json_str(d, "path", NULL) ?: "");
                        for (char *p = strtok_r(path, ".", &save); p && at;
                             p = strtok_r(NULL, ".", &save))
                                at = cJSON_GetObjectItem(at, p);
                        IT_ASSERT(at, "statusDescriptor %s: no such field in the status of %s",
                                  json_str(d, "path", NULL), instance);
                        n++;
                }
        }
        IT_ASSERT(n >= 4, "only %d statusDescriptors for Karmada", n);
        itest_log("the CSV's %d statusDescriptors of Karmada all name fields of its status", n);
        cJSON_Delete(csv);
        cJSON_Delete(k);
}

/* The sum of metadata.generation of the instance's Deployments and StatefulSets */
static long generations(void)
{
        long sum = 0;

        for (int i = 0; i < 2; i++) {
                cJSON *list = NULL;
                const cJSON *o;
                IT_ASSERT(kube_list(live_kc, i ? &kube_statefulsets : &kube_deployments, ns, NULL,
                                    &list, NULL) == 0,
                          "list");
                cJSON_ArrayForEach (o, cJSON_GetObjectItem(list, "items"))
                        sum += (long)cJSON_GetNumberValue(json_at(o, "metadata", "generation"));
                cJSON_Delete(list);
        }
        return sum;
}

/* Since mark: the operator (a new process) settled and wrote nothing. */
static void no_writes_since(long mark, long gen_before, const char *after)
{
        struct audit_counts c;

        audit_assert_at_rest(after, 10, 0);
        audit_count(mark, &c);
        IT_ASSERT(c.writes == 0 && c.denied == 0,
                  "%s: %d writes and %d denied requests of %s (audit log): %.1500s; first denied "
                  "%s",
                  after, c.writes, c.denied, OP_USER, c.summary, c.denied_first);
        IT_ASSERT(generations() == gen_before, "%s: the instance's workloads changed generation",
                  after);
        live_wait_condition(ns, instance, "Ready", "True", 5);
        itest_log("%s: %d requests of the operator, 0 writes, 0 denied; the instance's "
                  "workloads kept their generation; Ready",
                  after, c.requests);
}

/* Since mark, while the operator was installed: none of its requests denied (its uninstall is
 * left out: OLM deletes its RBAC and its Deployment together, and the pod, until it stops,
 * may be refused, as in any cluster). Its requests counted. */
static int none_denied(long mark, const char *while_)
{
        struct audit_counts c;

        audit_count(mark, &c);
        IT_ASSERT(c.denied == 0,
                  "%s: %d requests of %s denied (audit log), the first %s; all: %.1500s", while_,
                  c.denied, OP_USER, c.denied_first, c.summary);
        return c.requests;
}

static void upgrade(void)
{
        char before[128], after[128], phase[64];
        long mark = audit_mark(), gen = generations();
        double t0 = itest_now(), t;

        lease_holder(before, sizeof(before));
        olm("publish", v1);
        t = wait_csv(v1, 180);
        while (csv_phase(v0, phase, sizeof(phase))[0]) {
                IT_ASSERT(itest_now() - t0 < 240, "the old CSV stays (%s)", phase);
                usleep(250 * 1000);
        }
        wait_leader(before, after, sizeof(after), 120);
        itest_log("upgrade: " PKG ".v%s Succeeded %.1fs after its bundle was published, v%s "
                  "gone; the Lease went from %s to %s",
                  v1, t, v0, before, after);
        no_writes_since(mark, gen, "the operator's upgrade through OLM");
}

/* Delete the Subscription and the CSV; the Deployment goes, everything else stays */
static void uninstall(const char *version, bool check)
{
        char name[64], *ca = NULL;
        double t0 = itest_now();
        cJSON *o;
        struct kube_client *kc;

        snprintf(name, sizeof(name), PKG ".v%s", version);
        kube_delete(live_kc, &subscriptions, OP_NS, PKG, NULL, NULL);
        kube_delete(live_kc, &csvs, OP_NS, name, NULL, NULL);
        kube_delete(live_kc, &operatorgroups, OP_NS, PKG, NULL, NULL);
        if (!check)
                return;
        while ((o = get(&kube_deployments, OP_NS, PKG))) {
                cJSON_Delete(o);
                IT_ASSERT(itest_now() - t0 < 120, "the operator's Deployment stays after 120s");
                usleep(250 * 1000);
        }
        sleep(5); /* the control plane, left alone a while */
        for (const char *const *c = kept_crds; *c; c++) {
                o = get(&crds, NULL, *c);
                IT_ASSERT(o, "CRD %s gone with the operator", *c);
                cJSON_Delete(o);
        }
        live_wait_condition(ns, instance, "Ready", "True", 5);
        kc = live_karmada_client(ns, instance, &ca);
        o = NULL;
        IT_ASSERT(kube_get(kc, &kube_namespaces, NULL, "default", &o, NULL) == 0,
                  "the Karmada API server does not serve after the uninstall");
        cJSON_Delete(o);
        kube_client_free(kc);
        free(ca);
        itest_log("uninstalled in %.1fs: the Deployment gone; the CRDs, %s/%s (Ready) and its "
                  "Karmada API server stay",
                  itest_now() - t0, ns, instance);
}

/* No authentication failed at the API server since `before` (its metrics count them all) */
static void no_failed_authentication(long before, const char *when)
{
        long failed = incluster_failed_authentications() - before;

        IT_ASSERT(failed == 0, "%ld failed authentications at the API server (%s)", failed, when);
}

/* The operator's ServiceAccount reads no Secret cluster-wide: no ClusterRole bound to it
 * (OLM's, from the CSV's clusterPermissions) names secrets */
static void no_cluster_wide_secrets(void)
{
        cJSON *list = NULL;
        const cJSON *b, *subj;
        int bound = 0;

        IT_ASSERT(kube_list(live_kc, &kube_clusterrolebindings, NULL, NULL, &list, NULL) == 0,
                  "list ClusterRoleBindings");
        cJSON_ArrayForEach (b, cJSON_GetObjectItem(list, "items")) {
                cJSON_ArrayForEach (subj, cJSON_GetObjectItem(b, "subjects")) {
                        cJSON *role;
                        char *rules;
                        if (strcmp(json_str(subj, "kind", NULL) ?: "", "ServiceAccount") != 0 ||
                            strcmp(json_str(subj, "name", NULL) ?: "", PKG) != 0 ||
                            strcmp(json_str(subj, "namespace", NULL) ?: "", OP_NS) != 0)
                                continue;
                        role = get(&kube_clusterroles, NULL, json_str(b, "roleRef", "name"));
                        rules = cJSON_PrintUnformatted(cJSON_GetObjectItem(role, "rules"));
                        IT_ASSERT(rules && !strstr(rules, "\"secrets\""),
                                  "ClusterRole %s, bound cluster-wide to the operator, grants "
                                  "secrets: %s",
                                  json_str(b, "roleRef", "name"), rules ? rules : "");
                        bound++;
                        free(rules);
                        cJSON_Delete(role);
                }
        }
        cJSON_Delete(list);
        itest_log("SingleNamespace: %d ClusterRoles bound to the operator, none grants secrets",
                  bound);
}

/* Subscribed with manual approval, the OperatorGroup targeting the instance's namespace only
 * (SingleNamespace): nothing installed until the plan is approved */
static void manual(void)
{
        char name[64], buf[128], phase[64], before[128];
        cJSON *plan;
        long mark, gen = generations();
        double t0 = itest_now(), t;

        snprintf(name, sizeof(name), PKG ".v%s", v1);
        incluster_seed_cache(OP_NS, PKG);
        subscribe("Manual", v1, ns);
        while (!(plan = plan_for(name)) ||
               strcmp(json_str(plan, "status", "phase") ?: "", "RequiresApproval") != 0) {
                cJSON_Delete(plan);
                IT_ASSERT(itest_now() - t0 < 120, "no InstallPlan RequiresApproval after 120s");
                usleep(250 * 1000);
        }
        IT_ASSERT(!cJSON_IsTrue(json_at(plan, "spec", "approved")), "the plan is approved");
        sleep(3);
        IT_ASSERT(!csv_phase(v1, phase, sizeof(phase))[0], "a CSV before approval: %s", phase);
        itest_log("manual approval: InstallPlan %s RequiresApproval after %.1fs, no CSV",
                  json_str(plan, "metadata", "name"), itest_now() - t0);
        lease_holder(before, sizeof(before)); /* the uninstalled operator's, if it kept it */
        mark = audit_mark();
        IT_ASSERT(kube_patch(live_kc, &installplans, OP_NS, json_str(plan, "metadata", "name"),
                             KUBE_PATCH_MERGE, "{\"spec\":{\"approved\":true}}", NULL, NULL,
                             NULL) == 0,
                  "approve the InstallPlan");
        t = wait_csv(v1, 180);
        wait_leader(before, buf, sizeof(buf), 120);
        itest_log("approved: " PKG ".v%s Succeeded after %.1fs; %s leads", v1, t, buf);
        cJSON_Delete(plan);
        no_cluster_wide_secrets();
        no_writes_since(mark, gen, "a reinstall (manual approval) finding the instance running");
}

/* At exit, failed or not (and before live_teardown when it passed): OLM's objects of the test
 * deleted, OLM stopped, so that nothing of it runs in the tests after this one */
static void cleanup(void)
{
        static bool done;
        cJSON *list = NULL;
        const cJSON *c;

        if (done)
                return;
        done = true;
        kube_delete(live_kc, &subscriptions, OP_NS, PKG, NULL, NULL);
        for (double t0 = itest_now(); itest_now() - t0 < 60; usleep(250 * 1000)) {
                int n;
                if (kube_list(live_kc, &csvs, OP_NS, NULL, &list, NULL) < 0)
                        break;
                n = cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
                cJSON_ArrayForEach (c, cJSON_GetObjectItem(list, "items"))
                        kube_delete(live_kc, &csvs, OP_NS, json_str(c, "metadata", "name"), NULL,
                                    NULL);
                cJSON_Delete(list);
                list = NULL;
                if (n == 0) /* gone: OLM removed its finalizer (it must run until then) */
                        break;
        }
        kube_delete(live_kc, &operatorgroups, OP_NS, PKG, NULL, NULL);
        olm("down", NULL);
}

/* The operator's namespace, made anew: one left by a test before (or being deleted) goes first,
 * with the pod of any operator in it (ko-plane stops it within a pass of its Deployment's
 * deletion), so that nothing of an earlier install counts in this test's audit */
static void operator_namespace(void)
{
        double t0 = itest_now();
        cJSON *o;

        kube_delete(live_kc, &kube_namespaces, NULL, OP_NS, NULL, NULL);
        while ((o = get(&kube_namespaces, NULL, OP_NS))) {
                cJSON_Delete(o);
                IT_ASSERT(itest_now() - t0 < 180, OP_NS " is not deleted after 180s");
                usleep(500 * 1000);
        }
        sleep(3);
        live_make_ns(OP_NS);
}

int main(void)
{
        char *registry, buf[128], before[128];
        long failed_before, mark;
        int requests;
        double t0;

        live_setup();
        audit_set_user(OP_USER);
        snprintf(v0, sizeof(v0), "%s", KO_VERSION);
        {
                char *dot = strrchr(v0, '.'), *end;
                long patch = dot ? strtol(dot + 1, &end, 10) : -1;
                IT_ASSERT(dot && *end == '\0' && patch >= 0, "version %s", v0);
                snprintf(v1, sizeof(v1), "%.*s.%ld", (int)(dot - v0), v0, patch + 1);
        }
        registry = incluster_registry();
        operator_namespace();
        failed_before = incluster_failed_authentications();
        mark = audit_mark();
        t0 = itest_now();
        olm("up", v0);
        itest_log("hack/olm.sh up: OLM and a catalog with " PKG ".v%s READY in %.1fs", v0,
                  itest_now() - t0);
        atexit(cleanup);
        incluster_seed_cache(OP_NS, PKG);
        lease_holder(before, sizeof(before)); /* a pod of a test before may have held it */
        subscribe("Automatic", v0, NULL);
        t0 = itest_now();
        itest_log("Subscription (automatic) to CSV Succeeded: %.1fs", wait_csv(v0, 180));
        check_install(v0, registry);
        wait_leader(before, buf, sizeof(buf), 120);
        if (!incluster_probes_ok(PKG "-0", 60)) { /* not Ready: what the API server refused? */
                none_denied(mark, "installing");
                IT_FAIL("the operator's pod is not ready (its probes), no request denied");
        }
        itest_log("installed: plan Complete, 4 CRDs Present, Deployment Available from %s, "
                  "%s leads, %.1fs after subscribing",
                  registry, buf, itest_now() - t0);

        ns = itest_unique_name("olm");
        live_make_ns(ns);
        t0 = itest_now();
        create_example(v0);
        live_wait_condition(ns, instance, "Ready", "True", 300);
        itest_log("the alm-examples Karmada %s/%s Ready %.1fs after creation", ns, instance,
                  itest_now() - t0);
        live_wait_condition(ns, instance, "Degraded", "False", 120); /* its APIServices too */
        status_descriptors(v0);
        audit_assert_at_rest("the example's install", 5, 0);

        upgrade();
        requests = none_denied(mark, "installed, then upgraded");
        no_failed_authentication(failed_before, "installed, then upgraded");
        uninstall(v1, true);
        /* OLM deletes the ServiceAccount and the Deployment in one pass of its garbage collector:
         * the stopping pod's last requests (its Lease released) may present a token of a deleted
         * ServiceAccount, as on any cluster. Counted from the reinstall on. */
        failed_before = incluster_failed_authentications();
        mark = audit_mark();
        manual();

        t0 = itest_now();
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, instance, NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, instance, 120);
        itest_log("%s/%s deleted by the reinstalled operator in %.1fs", ns, instance,
                  itest_now() - t0);
        requests += none_denied(mark, "reinstalled");
        no_failed_authentication(failed_before, "reinstalled");
        uninstall(v1, false);
        IT_ASSERT(requests > 50, "only %d requests of %s audited", requests, OP_USER);
        itest_log("API server: %d requests of %s while installed, 0 denied; no failed "
                  "authentication while installed",
                  requests, OP_USER);
        free(registry);
        cleanup();
        live_teardown();
        itest_log("ok");
        return 0;
}
