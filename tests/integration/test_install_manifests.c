/* SPDX-License-Identifier: Apache-2.0 */
/* The shipped manifests and RBAC, for real:
 *   - `kubectl apply` of bundle/plain/ works and the operator's Deployment becomes Available
 *     (kwok runs its pods);
 *   - the operator, authenticated as a ServiceAccount bound only to the rules of
 *     bundle/src/rbac.yaml (a token, not the admin certificate), installs a Karmada to Ready
 *     and deletes it cleanly, and no request of it is ever forbidden. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "live.h"
#include "util/base64.h"
#include "util/fileio.h"
#include "util/strbuf.h"

#define OP_NS "karmada-operator-system"

/* hack/cluster.sh kubectl -- ARGS; its output into *out (may be NULL); the exit status */
static int kubectl(char **out, const char *const *args)
{
        char log[256], script[1024], *argv[32];
        const char *hack = getenv("KO_HACK_DIR"), *state = getenv("KO_TEST_CLUSTER");
        size_t n = 0, len;
        int rc;

        snprintf(script, sizeof(script), "%s/cluster.sh", hack ? hack : "hack");
        snprintf(log, sizeof(log), "/tmp/ko-kubectl-%d.out", (int)getpid());
        unlink(log);
        argv[n++] = script;
        argv[n++] = "kubectl";
        argv[n++] = "--state-dir";
        argv[n++] = (char *)state;
        argv[n++] = "--";
        for (; *args && n < 31; args++)
                argv[n++] = (char *)*args;
        argv[n] = NULL;
        rc = itest_wait_exit(itest_spawn(argv, log, NULL), 120);
        if (out && fileio_read(log, 16u << 20, out, &len) < 0)
                *out = strdup("");
        unlink(log);
        return rc;
}

#define KUBECTL(out, ...) kubectl(out, (const char *const[]){__VA_ARGS__, NULL})

static void test_plain_manifests(void)
{
        char path[1024], *out = NULL;
        double t0 = itest_now();

        snprintf(path, sizeof(path), "%s/bundle/plain/karmada-operator.yaml", KO_SOURCE_DIR);
        IT_ASSERT(KUBECTL(&out, "apply", "--server-side", "--force-conflicts", "-f", path) == 0,
                  "kubectl apply -f %s:\n%s", path, out);
        free(out);
        out = NULL;
        IT_ASSERT(KUBECTL(&out, "-n", OP_NS, "wait", "--for=condition=Available", "--timeout=90s",
                          "deployment/karmada-operator") == 0,
                  "the operator's Deployment is not Available:\n%s", out);
        free(out);
        out = NULL;
        KUBECTL(&out, "-n", OP_NS, "get", "deployment/karmada-operator", "-o",
                "jsonpath={.status.availableReplicas}/{.spec.replicas}");
        IT_ASSERT(strcmp(out, "2/2") == 0, "available/replicas: %s", out);
        itest_log("kubectl apply -f bundle/plain/: the operator's Deployment Available (%s) "
                  "after %.1fs",
                  out, itest_now() - t0);
        free(out);
}

/* A kubeconfig with the cluster's server and CA and a ServiceAccount's token (mode 0600). */
static void token_kubeconfig(const char *path, const char *token)
{
        struct kube_config_options co = {.kubeconfig = itest_kubeconfig()};
        struct kube_config *cfg = NULL;
        char err[512], *ca64 = NULL;
        FILE *f;

        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(base64_encode(cfg->ca, cfg->ca_len, &ca64) == 0, "base64");
        f = fopen(path, "wxe");
        IT_ASSERT(f, "create %s", path);
        IT_ASSERT(chmod(path, 0600) == 0, "chmod");
        fprintf(f,
                "apiVersion: v1\nkind: Config\nclusters:\n- name: host\n  cluster:\n    server: "
                "%s\n    certificate-authority-data: %s\nusers:\n- name: operator\n  user:\n    "
                "token: %s\ncontexts:\n- name: operator\n  context:\n    cluster: host\n    "
                "user: operator\ncurrent-context: operator\n",
                cfg->server, ca64, token);
        IT_ASSERT(fclose(f) == 0, "write %s", path);
        free(ca64);
        kube_config_free(cfg);
}

static void test_least_privilege(void)
{
        const char *ns = itest_unique_name("rbac");
        char kubeconfig[256], subject[256], *out = NULL, *text = NULL;
        double t0;
        size_t len;

        live_make_ns(ns);
        /* the ServiceAccount, bound to the shipped ClusterRole and to the shipped Role (here) */
        IT_ASSERT(KUBECTL(&out, "-n", ns, "create", "serviceaccount", "op") == 0, "%s", out);
        free(out);
        snprintf(subject, sizeof(subject), "--serviceaccount=%s:op", ns);
        IT_ASSERT(KUBECTL(&out, "create", "clusterrolebinding", ns,
                          "--clusterrole=karmada-operator", subject) == 0,
                  "%s", out);
        free(out);
        IT_ASSERT(KUBECTL(&out, "get", "role", "-n", OP_NS, "karmada-operator-leader-election",
                          "-o", "json") == 0,
                  "%s", out);
        {
                cJSON *role = cJSON_Parse(out);
                cJSON *meta = cJSON_GetObjectItem(role, "metadata"), *copy = cJSON_CreateObject();
                struct kube_status st;
                IT_ASSERT(role, "role JSON");
                cJSON_AddStringToObject(copy, "apiVersion", "rbac.authorization.k8s.io/v1");
                cJSON_AddStringToObject(copy, "kind", "Role");
                cJSON_AddItemToObject(cJSON_AddObjectToObject(copy, "metadata"), "name",
                                      cJSON_Duplicate(cJSON_GetObjectItem(meta, "name"), true));
                cJSON_AddItemToObject(copy, "rules",
                                      cJSON_Duplicate(cJSON_GetObjectItem(role, "rules"), true));
                IT_ASSERT(kube_create(live_kc, &kube_roles, ns, copy, NULL, NULL, &st) == 0,
                          "Role: %s", st.message);
                cJSON_Delete(copy);
                cJSON_Delete(role);
        }
        free(out);
        IT_ASSERT(KUBECTL(&out, "-n", ns, "create", "rolebinding", "op",
                          "--role=karmada-operator-leader-election", subject) == 0,
                  "%s", out);
        free(out);
        IT_ASSERT(KUBECTL(&out, "-n", ns, "create", "token", "op", "--duration=1h") == 0, "%s",
                  out);
        out[strcspn(out, "\n")] = '\0';
        snprintf(kubeconfig, sizeof(kubeconfig), "/tmp/ko-rbac-%d.kubeconfig", (int)getpid());
        unlink(kubeconfig);
        token_kubeconfig(kubeconfig, out);
        free(out);

        live_start_operator(2, itest_operator_bin(), ns, itest_operator_cache(), kubeconfig);
        t0 = itest_now();
        live_create_instance(ns, "rbac", NULL);
        live_wait_condition(ns, "rbac", "Ready", "True", 240);
        itest_log("Ready after %.1fs with the shipped RBAC only (a ServiceAccount token)",
                  itest_now() - t0);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "rbac", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "rbac", 90);
        {
                cJSON *list = NULL;
                IT_ASSERT(kube_list(live_kc, &kube_secrets, ns,
                                    &(struct kube_list_options){
                                            .label_selector = "app.kubernetes.io/instance=rbac"},
                                    &list, NULL) == 0,
                          "list");
                IT_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")) == 0,
                          "Secrets of the instance left after deletion");
                cJSON_Delete(list);
        }
        live_stop_operator(2);
        IT_ASSERT(fileio_read(live_operator_log(2), 64u << 20, &text, &len) == 0, "read the log");
        IT_ASSERT(!strstr(text, "forbidden") && !strstr(text, "Forbidden"),
                  "a request was forbidden:\n%s", text);
        itest_log("deleted cleanly; no request forbidden (%zu bytes of operator log)", len);
        free(text);
        unlink(kubeconfig);
        IT_ASSERT(KUBECTL(NULL, "delete", "clusterrolebinding", ns) == 0, "delete binding");
}

int main(void)
{
        char path[1024];

        live_setup();
        test_plain_manifests();
        test_least_privilege();
        snprintf(path, sizeof(path), "%s/bundle/plain/karmada-operator.yaml", KO_SOURCE_DIR);
        IT_ASSERT(KUBECTL(NULL, "delete", "-f", path, "--wait=false") == 0, "kubectl delete");
        live_teardown();
        itest_log("ok");
        return 0;
}
