/* SPDX-License-Identifier: Apache-2.0 */
/* The operator as users run it: its image, built from bundle/image/Dockerfile
 * (hack/build-image.sh) and pushed to the cluster's registry, installed with `kubectl apply`
 * of bundle/plain/ (only the image reference changed, as a kustomization would), run by
 * ko-plane as a pod from that image: uid 65532, read-only root, no kubeconfig (the in-cluster
 * configuration: KUBERNETES_SERVICE_*, a projected ServiceAccount token and CA), and only the
 * RBAC bundle/plain grants. Then:
 *   - it takes its Lease as its pod (hostname karmada-operator-0) and answers its probes;
 *   - a Karmada reaches Ready (its CRDs downloaded by the operator in the pod); so do a
 *     Karmada with `spec: {}` (a ClusterIP API server, reached by its Service name) and
 *     upstream's own sample, etcd on a volumeClaim (bound by ko-plane's provisioner), whose
 *     claims go with it on deletion with operator.karmada.io/delete-etcd-data;
 *   - a KarmadaBackup completes to S3, and a new Karmada restored from it is Ready (the restore's
 *     init container is the operator's image too);
 *   - the scheduler feature with two estimators switches on and off;
 *   - deleting the instances leaves none of their Secrets;
 *   - counted by the API server: no response 403 to its ServiceAccount (audit log) and no
 *     failed authentication at all (authentication_attempts), while ko-plane rotates its token
 *     (the plane fixture's --token-rotate): the operator uses at least three tokens, each
 *     replaced one invalidated a period later, so an operator that kept its first token would
 *     be refused. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileserver.h"
#include "incluster.h"
#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/base64.h"
#include "util/fileio.h"
#include "util/s3.h"
#include "util/strbuf.h"
#include "util/yaml.h"

#define OP_NS   "karmada-operator-system"
#define OP_USER "system:serviceaccount:" OP_NS ":karmada-operator"
#define CRDS    "\"crdTarball\":{\"httpSource\":{\"url\":\"http://127.0.0.1:%d/crds.tar.gz\"}}"

static const char *ns;
static int crd_port;
static char manifests[256]; /* bundle/plain/karmada-operator.yaml with the registry's image */

/* bundle/plain/karmada-operator.yaml with every reference to the operator's image replaced */
static void write_manifests(const char *image)
{
        const char *from = "ghcr.io/karmada-operator/karmada-operator:v0.1.0";
        char path[1024], *text = NULL, *p, *at;
        struct strbuf out = {0};
        size_t len;
        int n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/bundle/plain/karmada-operator.yaml", KO_SOURCE_DIR);
        IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0, "read %s", path);
        for (p = text; (at = strstr(p, from)); p = at + strlen(from), n++)
                strbuf_printf(&out, "%.*s%s", (int)(at - p), p, image);
        strbuf_printf(&out, "%s", p);
        IT_ASSERT(n == 2, "the image appears %d times in %s (its container and its env)", n, path);
        snprintf(manifests, sizeof(manifests), "/tmp/ko-manifests-%d.yaml", (int)getpid());
        f = fopen(manifests, "we");
        IT_ASSERT(f && fputs(out.buf, f) >= 0 && fclose(f) == 0, "write %s", manifests);
        strbuf_free(&out);
        free(text);
}

/* At exit, failed or not: the operator uninstalled, so that it reconciles nothing of the
 * tests after this one (it watches every namespace). */
static void uninstall(void)
{
        if (!manifests[0])
                return;
        INCLUSTER_KUBECTL(NULL, "delete", "-f", manifests, "--wait=false");
        unlink(manifests);
        manifests[0] = '\0';
}

/* the Lease's holder, or "" */
static char *lease_holder(void)
{
        char *out = NULL;

        INCLUSTER_KUBECTL(&out, "-n", OP_NS, "get", "lease", "karmada-operator", "-o",
                          "jsonpath={.spec.holderIdentity}");
        return out;
}

static void install(const char *image)
{
        char *out = NULL;
        double t0 = itest_now();

        write_manifests(image);
        atexit(uninstall);
        IT_ASSERT(INCLUSTER_KUBECTL(&out, "apply", "--server-side", "--force-conflicts", "-f",
                                    manifests) == 0,
                  "kubectl apply -f %s:\n%s", manifests, out);
        free(out);
        out = NULL;
        if (INCLUSTER_KUBECTL(&out, "-n", OP_NS, "wait", "--for=condition=Available",
                              "--timeout=90s", "deployment/karmada-operator") != 0) {
                incluster_explain(OP_NS, "karmada-operator-0");
                IT_FAIL("the operator's Deployment is not Available:\n%s", out);
        }
        free(out);
        /* the pod from the image: its Lease, under its own hostname */
        for (out = lease_holder(); strncmp(out, "karmada-operator-0", 18) != 0;
             out = lease_holder()) {
                IT_ASSERT(itest_now() - t0 < 120, "no Lease held by the pod after 120s: \"%s\"",
                          out);
                free(out);
                usleep(500 * 1000);
        }
        itest_log("bundle/plain applied with %s: the pod from the image leads (%s) after %.1fs",
                  image, out, itest_now() - t0);
        free(out);
        IT_ASSERT(incluster_probes_ok("karmada-operator-0", 30), "the pod's probes fail");
}

/* an instance whose CRDs the operator downloads (from the test's file server) */
static void instance(const char *name, const char *extra)
{
        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"%s\"},\"spec\":{%s" CRDS "}}",
                    name, extra, crd_port);
}

static const char *backup_phase(const char *name, char *buf, size_t size)
{
        cJSON *b = NULL;

        kube_get(live_kc, &karmada_backups, ns, name, &b, NULL);
        snprintf(
                buf, size, "%s",
                cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "status"), "phase"))
                        ?: "");
        cJSON_Delete(b);
        return buf;
}

static void backup_and_restore(void)
{
        struct s3_client s3;
        char phase[64], cond[600];
        double t0 = itest_now();

        live_backup_secrets(ns, &s3);
        live_create_object(
                &karmada_backups, ns,
                "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"KarmadaBackup\","
                "\"metadata\":{\"name\":\"b1\"},\"spec\":{\"karmadaRef\":{\"name\":\"ic\"},"
                "\"s3\":{\"endpoint\":\"%s\",\"bucket\":\"%s\",\"prefix\":\"incluster-%s\","
                "\"forcePathStyle\":true,\"credentialsSecretRef\":{\"name\":\"s3\"}},"
                "\"encryptionKeySecretRef\":{\"name\":\"key\"}}}",
                s3.target.endpoint, s3.target.bucket, ns);
        while (strcmp(backup_phase("b1", phase, sizeof(phase)), "Completed") != 0) {
                IT_ASSERT(strcmp(phase, "Failed") != 0 && itest_now() - t0 < 120,
                          "backup b1: phase \"%s\" after %.0fs", phase, itest_now() - t0);
                usleep(250 * 1000);
        }
        itest_log("KarmadaBackup b1 Completed after %.1fs", itest_now() - t0);
        t0 = itest_now();
        instance("ic2", "\"restore\":{\"backupRef\":{\"name\":\"b1\"}},\"components\":{\"etcd\":"
                        "{\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}},");
        live_wait_condition(ns, "ic2", "Ready", "True", 240);
        itest_log("ic2 restored from b1 and Ready after %.1fs: RestoreReady %s", itest_now() - t0,
                  live_condition(ns, "ic2", "RestoreReady", cond, sizeof(cond)));
        IT_ASSERT(strncmp(cond, "True ", 5) == 0, "RestoreReady: %s", cond);
}

/* the scheduler feature with an estimator per member (kubeconfigs from the members fixture) */
static void estimators(void)
{
        const char *dir = getenv("KO_TEST_MEMBERS");
        double t0;

        IT_ASSERT(dir && *dir, "KO_TEST_MEMBERS (the members fixture)");
        for (int i = 1; i <= 2; i++) {
                char path[512], *text = NULL, *b = NULL;
                size_t len;
                snprintf(path, sizeof(path), "%s/member%d/kubeconfig/admin", dir, i);
                IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0, "read %s", path);
                IT_ASSERT(base64_encode(text, len, &b) == 0, "base64");
                live_create_object(&kube_secrets, ns,
                                   "{\"metadata\":{\"name\":\"member%d\"},\"data\":{"
                                   "\"kubeconfig\":\"%s\"}}",
                                   i, b);
                free(b);
                free(text);
        }
        t0 = itest_now();
        live_patch(ns, "ic",
                   "{\"spec\":{\"features\":{\"scheduler\":{\"estimator\":{\"enabled\":true,"
                   "\"memberClusters\":[{\"name\":\"member1\",\"kubeconfigSecretRef\":{\"name\":"
                   "\"member1\"}},{\"name\":\"member2\",\"kubeconfigSecretRef\":{\"name\":"
                   "\"member2\"}}]}}}}}");
        live_wait_condition(ns, "ic", "SchedulerFeaturesReady", "True", 180);
        live_wait_condition(ns, "ic", "Ready", "True", 180);
        itest_log("scheduler feature with 2 estimators on: Ready after %.1fs", itest_now() - t0);
        t0 = itest_now();
        live_patch(ns, "ic", "{\"spec\":{\"features\":null}}");
        live_wait_condition(ns, "ic", "Ready", "True", 180);
        for (;;) {
                cJSON *d = NULL;
                int r = kube_get(live_kc, &kube_deployments, ns, "ic-scheduler-estimator-member1",
                                 &d, NULL);
                cJSON_Delete(d);
                if (r == -ENOENT)
                        break;
                IT_ASSERT(itest_now() - t0 < 120, "the estimator Deployment stays after 120s");
                usleep(250 * 1000);
        }
        itest_log("feature off: the estimators gone after %.1fs", itest_now() - t0);
}

/* claims of ns (with a label selector, or NULL) */
static int claims(const char *selector)
{
        cJSON *list = NULL;
        int n;

        IT_ASSERT(kube_list(live_kc, &kube_persistentvolumeclaims, ns,
                            &(struct kube_list_options){.label_selector = selector}, &list,
                            NULL) == 0,
                  "list claims");
        n = cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
        cJSON_Delete(list);
        return n;
}

/* `spec: {}`, and upstream's sample as it is (but its namespace) */
static void as_upstream_writes_them(void)
{
        char path[1024], err[256], *text = NULL;
        const char *src = getenv("KO_KARMADA_SRC");
        cJSON *cr = NULL;
        struct kube_status st;
        size_t len;
        double t0 = itest_now();

        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"empty\"},\"spec\":{}}");
        IT_ASSERT(src && *src, "KO_KARMADA_SRC (hack/karmada-src.sh)");
        snprintf(path, sizeof(path), "%s/operator/config/samples/karmada.yaml", src);
        IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0, "read %s", path);
        IT_ASSERT(yaml_parse_one(text, len, path, NULL, &cr, err, sizeof(err)) == 0, "%s", err);
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cr, "metadata"), "namespace",
                                  cJSON_CreateString(ns));
        IT_ASSERT(kube_create(live_kc, &karmada_karmadas, ns, cr, NULL, NULL, &st) == 0,
                  "create upstream's sample: %s", st.message);
        live_wait_condition(ns, "empty", "Ready", "True", 240);
        itest_log("`spec: {}` Ready after %.1fs", itest_now() - t0);
        live_wait_condition(ns, "karmada-demo", "Ready", "True", 240);
        IT_ASSERT(claims(NULL) == 1, "%d claims for upstream's sample, want its etcd's 1",
                  claims(NULL));
        itest_log("upstream's sample (etcd on a volumeClaim) Ready after %.1fs", itest_now() - t0);
        cJSON_Delete(cr);
        free(text);
        live_patch(ns, "karmada-demo",
                   "{\"metadata\":{\"annotations\":{\"operator.karmada.io/delete-etcd-data\":"
                   "\"true\"}}}");
}

static void delete_instances(void)
{
        double t0 = itest_now();
        cJSON *list = NULL;

        static const char *const names[] = {"ic", "ic2", "empty", "karmada-demo", NULL};

        for (const char *const *n = names; *n; n++)
                IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, *n, NULL, NULL) == 0,
                          "delete %s", *n);
        for (const char *const *n = names; *n; n++)
                live_wait_deleted(ns, *n, 120);
        for (double t = itest_now(); claims(NULL) > 0; usleep(250 * 1000))
                IT_ASSERT(itest_now() - t < 60, "the etcd claim stays after deletion with "
                                                "delete-etcd-data");
        IT_ASSERT(kube_list(live_kc, &kube_secrets, ns,
                            &(struct kube_list_options){.label_selector =
                                                                "app.kubernetes.io/managed-by="
                                                                "karmada-operator"},
                            &list, NULL) == 0,
                  "list");
        IT_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")) == 0,
                  "Secrets of the instances left after deletion");
        cJSON_Delete(list);
        itest_log("the 4 instances deleted after %.1fs, none of their Secrets nor claims left",
                  itest_now() - t0);
}

/* The ServiceAccount's requests in the audit log after offset `from`: how many, how many
 * denied (401 or 403), and how many tokens (credential IDs) they came with. */
static void audit_sa(size_t from, int *requests, int *denied, int *tokens)
{
        char *log = incluster_state_file("logs/audit.log"), *line, *save = NULL;
        char seen[64][80];

        *requests = *denied = *tokens = 0;
        for (line = strtok_r(strlen(log) > from ? log + from : log + strlen(log), "\n", &save);
             line; line = strtok_r(NULL, "\n", &save)) {
                cJSON *ev = cJSON_Parse(line);
                const cJSON *user = cJSON_GetObjectItem(ev, "user");
                const cJSON *code =
                        cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "responseStatus"), "code");
                const char *jti = cJSON_GetStringValue(cJSON_GetArrayItem(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(user, "extra"),
                                            "authentication.kubernetes.io/credential-id"),
                        0));
                bool known = false;
                if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(user, "username")) ?: "",
                           OP_USER) != 0) {
                        cJSON_Delete(ev);
                        continue;
                }
                (*requests)++;
                if (cJSON_IsNumber(code) && (code->valueint == 401 || code->valueint == 403))
                        (*denied)++;
                for (int i = 0; jti && i < *tokens; i++)
                        known = known || strcmp(seen[i], jti) == 0;
                if (jti && !known && *tokens < 64)
                        snprintf(seen[(*tokens)++], sizeof(seen[0]), "%s", jti);
                cJSON_Delete(ev);
        }
        free(log);
}

/* No request denied, no failed authentication, three tokens used (the first two invalidated
 * one period after being replaced). Waits for the third token when the test ran quicker. */
static void counted_by_the_api_server(size_t audit_from, long failed_before, double t_start)
{
        int requests, denied, tokens;
        long failed;

        for (;;) {
                audit_sa(audit_from, &requests, &denied, &tokens);
                if (tokens >= 3 || itest_now() - t_start > 400)
                        break;
                usleep(2000 * 1000);
        }
        failed = incluster_failed_authentications() - failed_before;
        itest_log("API server: %d requests of %s, %d answered 401/403; %d tokens used; "
                  "failed authentications: %ld",
                  requests, OP_USER, denied, tokens, failed);
        IT_ASSERT(requests > 100, "only %d requests of the ServiceAccount audited", requests);
        IT_ASSERT(denied == 0, "%d requests of the operator were denied", denied);
        IT_ASSERT(failed == 0, "%ld failed authentications at the API server", failed);
        IT_ASSERT(tokens >= 3, "the operator used %d tokens in %.0fs of rotation every period",
                  tokens, itest_now() - t_start);
}

int main(void)
{
        char dir[256], *image;
        struct fileserver *fs;
        long failed_before;
        size_t audit_from;
        double t_start;

        live_setup();
        failed_before = incluster_failed_authentications();
        {
                char *log = incluster_state_file("logs/audit.log");
                audit_from = strlen(log); /* count from here */
                free(log);
        }
        /* the CRD tarball the instances name (spec.crdTarball): the pod downloads it */
        snprintf(dir, sizeof(dir), "%s", itest_crd_tarball("v1.18.2"));
        *strrchr(dir, '/') = '\0';
        fs = fileserver_start(dir);
        IT_ASSERT(fs, "file server");
        crd_port = fileserver_port(fs);
        image = incluster_build_and_push();
        incluster_seed_cache(OP_NS, "karmada-operator");
        t_start = itest_now();
        install(image);
        ns = itest_unique_name("incl");
        live_make_ns(ns);
        instance("ic", "\"components\":{\"etcd\":{\"local\":{}},\"karmadaAPIServer\":{"
                       "\"serviceType\":\"NodePort\"}},");
        itest_log("instance ic Ready after %.1fs",
                  live_wait_condition(ns, "ic", "Ready", "True", 240));
        as_upstream_writes_them();
        backup_and_restore();
        estimators();
        delete_instances();
        counted_by_the_api_server(audit_from, failed_before, t_start);
        uninstall();
        fileserver_stop(fs);
        free(image);
        live_teardown();
        itest_log("ok");
        return 0;
}
