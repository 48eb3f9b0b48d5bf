/* SPDX-License-Identifier: Apache-2.0 */
/* The operator of two namespaces (--watch-namespace a,b) with only the RBAC of
 * bundle/namespaced/ (its user is not in system:masters): the ClusterRole karmada-operator bound
 * in each watched namespace only, the cluster-scoped karmada-operator-cluster bound
 * cluster-wide, the leader-election Role. An instance in each gets Ready and is deleted again
 * with 0 requests of the operator denied (the API server's audit log), and the operator's user
 * cannot read a Secret of another namespace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "live.h"
#include "util/fileio.h"
#include "util/yaml.h"

static const char *ns;
static char ns2[80], user[128];

/* The rules of the document of kind and name in bundle/namespaced/ */
static cJSON *rules_of(const cJSON *docs, const char *kind, const char *name)
{
        const cJSON *d;

        cJSON_ArrayForEach (d, docs) {
                const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(d, "kind"));
                const char *n = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(d, "metadata"), "name"));
                if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0)
                        return cJSON_Duplicate(cJSON_GetObjectItem(d, "rules"), true);
        }
        IT_FAIL("no %s %s in bundle/namespaced/", kind, name);
        return NULL;
}

/* A binding of role_kind `name` to the user: a RoleBinding in `in`, or cluster-wide (NULL) */
static void bind(const char *role_kind, const char *name, const char *in)
{
        cJSON *b = cJSON_CreateObject(), *ref, *subj;
        struct kube_status st;

        cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "metadata"), "name", name);
        ref = cJSON_AddObjectToObject(b, "roleRef");
        cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
        cJSON_AddStringToObject(ref, "kind", role_kind);
        cJSON_AddStringToObject(ref, "name", name);
        subj = cJSON_CreateObject();
        cJSON_AddStringToObject(subj, "apiGroup", "rbac.authorization.k8s.io");
        cJSON_AddStringToObject(subj, "kind", "User");
        cJSON_AddStringToObject(subj, "name", user);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "subjects"), subj);
        IT_ASSERT(kube_create(live_kc, in ? &kube_rolebindings : &kube_clusterrolebindings, in, b,
                              NULL, NULL, &st) == 0,
                  "binding %s in %s: %s", name, in ? in : "the cluster", st.message);
        cJSON_Delete(b);
}

/* role_kind `name` with rules (a Role in ns), bound to the user: by a RoleBinding in each
 * namespace of `in` (NULL-terminated), or cluster-wide (in NULL) */
static void grant(const char *role_kind, const char *name, cJSON *rules, const char *const *in)
{
        const struct kube_resource *rr =
                strcmp(role_kind, "Role") == 0 ? &kube_roles : &kube_clusterroles;
        cJSON *role = cJSON_CreateObject();
        struct kube_status st;

        cJSON_AddStringToObject(cJSON_AddObjectToObject(role, "metadata"), "name", name);
        cJSON_AddItemToObject(role, "rules", rules);
        IT_ASSERT(kube_create(live_kc, rr, ns, role, NULL, NULL, &st) == 0, "%s %s: %s", role_kind,
                  name, st.message);
        cJSON_Delete(role);
        if (!in)
                bind(role_kind, name, NULL);
        for (; in && *in; in++)
                bind(role_kind, name, *in);
}

static void grant_as_bundled(char *cluster_name, size_t size)
{
        char path[1024], err[256], name[128];
        char *text = NULL;
        size_t len = 0;
        cJSON *docs = NULL;

        snprintf(path, sizeof(path), "%s/bundle/namespaced/karmada-operator.yaml", KO_SOURCE_DIR);
        IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0 &&
                          yaml_parse_stream(text, len, path, NULL, &docs, err, sizeof(err)) == 0,
                  "%s: %s", path, err);
        snprintf(name, sizeof(name), "%s-operator", ns);
        grant("ClusterRole", name, rules_of(docs, "ClusterRole", "karmada-operator"),
              (const char *const[]){ns, ns2, NULL});
        snprintf(cluster_name, size, "%s-cluster", ns);
        grant("ClusterRole", cluster_name,
              rules_of(docs, "ClusterRole", "karmada-operator-cluster"), NULL);
        snprintf(name, sizeof(name), "%s-leases", ns);
        grant("Role", name, rules_of(docs, "Role", "karmada-operator-leader-election"),
              (const char *const[]){ns, NULL});
        cJSON_Delete(docs);
        free(text);
}

/* with the operator's own credentials: a Secret of another namespace is forbidden */
static void no_secret_elsewhere(void)
{
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        struct kube_status st = {0};
        cJSON *list = NULL;
        char err[256];

        IT_ASSERT(kube_config_load(
                          &(struct kube_config_options){.kubeconfig = audit_operator_kubeconfig()},
                          &cfg, err, sizeof(err)) == 0 &&
                          kube_client_new(&(struct kube_client_options){.config = cfg}, &c) == 0,
                  "the operator's client: %s", err);
        IT_ASSERT(kube_list(c, &kube_secrets, "default", NULL, &list, &st) == -EPERM,
                  "the operator's user lists the Secrets of default (%d)", st.code);
        kube_client_free(c);
        kube_config_free(cfg);
}

int main(void)
{
        struct audit_counts c;
        char cluster_role[128], watch[160];
        double t1, t2;
        long mark;

        live_setup();
        audit_restricted_user();
        snprintf(user, sizeof(user), "%s", strrchr(audit_operator_kubeconfig(), '/') + 1);
        ns = itest_unique_name("nsrbac");
        snprintf(ns2, sizeof(ns2), "%s-b", ns);
        snprintf(watch, sizeof(watch), "%s,%s", ns, ns2);
        live_make_ns(ns);
        live_make_ns(ns2);
        grant_as_bundled(cluster_role, sizeof(cluster_role));
        no_secret_elsewhere();
        mark = audit_mark();
        live_watch_namespaces(watch);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create_instance(ns, "nsr", NULL);
        live_create_instance(ns2, "nsr2", NULL);
        t1 = live_wait_condition(ns, "nsr", "Ready", "True", 240);
        t2 = live_wait_condition(ns2, "nsr2", "Ready", "True", 240);
        itest_log("Ready with the namespaced RBAC only, watching %s: in %.1fs, the other %.1fs "
                  "later",
                  watch, t1, t2);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "nsr", NULL, NULL) == 0 &&
                          kube_delete(live_kc, &karmada_karmadas, ns2, "nsr2", NULL, NULL) == 0,
                  "delete");
        live_wait_deleted(ns, "nsr", 120);
        live_wait_deleted(ns2, "nsr2", 120);
        audit_count(mark, &c);
        IT_ASSERT(c.requests > 30 && c.denied == 0, "%d requests, %d denied (the first %s): %s",
                  c.requests, c.denied, c.denied_first, c.summary);
        itest_log("installed and deleted with the namespaced RBAC: %d requests of %s, 0 denied; "
                  "the Secrets of another namespace are forbidden to it",
                  c.requests, user);
        /* what this test made cluster-wide */
        kube_delete(live_kc, &kube_clusterrolebindings, NULL, cluster_role, NULL, NULL);
        kube_delete(live_kc, &kube_clusterroles, NULL, cluster_role, NULL, NULL);
        snprintf(cluster_role, sizeof(cluster_role), "%s-operator", ns);
        kube_delete(live_kc, &kube_clusterroles, NULL, cluster_role, NULL, NULL);
        live_teardown();
        itest_log("ok");
        return 0;
}
