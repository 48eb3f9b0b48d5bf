/* SPDX-License-Identifier: Apache-2.0 */
/* A control plane installed into another cluster (spec.hostCluster.secretRef). The management
 * cluster is the shared test cluster; the remote host is the cluster of fixture fault_cluster
 * ($KO_REMOTE_CLUSTER), ko-plane running its pods. The kubeconfig in the Secret is of a user of
 * its own there, not in system:masters, bound only to bundle/remote-host/rbac.yaml: its
 * ClusterRole, and its Role in the instances' namespace there (made beforehand, to bind it in).
 * One operator runs two remote instances ("far", "twin") and a local one ("near"):
 *   - a kubeconfig Secret without the key, or whose kubeconfig does not parse, gives
 *     InvalidSpec naming the field and the key;
 *   - twin, its apiEndpoint where nothing listens, says KarmadaAPIServerReachable=False naming
 *     the address; with apiEndpoint localhost, its admin kubeconfig points there (far's at a
 *     node's InternalIP);
 *   - far and twin reach Ready through one connection to the remote cluster; far's objects are
 *     there only, labelled with their owner (no owner reference);
 *   - an edit there is undone; deleting twin removes its objects and keeps far's (and the
 *     connection); a version bump upgrades far; a backup of far completes, its snapshot read
 *     through the remote API server (pods/portforward); another remote instance restored from
 *     it (a LoadBalancer API server, reached at its ingress there) is Ready with far's Karmada
 *     objects;
 *   - the remote API server killed for 60 s: far says HostClusterReachable=False (with the
 *     server and the error) within the probe period, while near stays Ready and still undoes a
 *     deletion; once that API server is back, far is Ready again writing nothing there (its
 *     audit log); no request there was denied;
 *   - the Secret rotated to another user and the first one revoked: the new kubeconfig is used;
 *   - deleting far removes every object it had there, and the connection is dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "audit.h"
#include "itest.h"
#include "karmada/desired.h"
#include "karmada/names.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "live.h"
#include "util/base64.h"
#include "util/s3.h"
#include "util/seal.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/yaml.h"

#define FROM     "v1.18.1"
#define TO       "v1.18.2"
#define OUTAGE_S 60.0
#define PROBE_S  5.0 /* the operator's probe period (hosts.c) */

static const char *remote;     /* the remote cluster's state directory */
static struct kube_client *rc; /* its admin */
static const char *ns, *local_ns;

static struct kube_client *client_of(const char *kubeconfig)
{
        struct kube_config_options co = {.kubeconfig = kubeconfig};
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        char err[512];

        IT_ASSERT(kube_config_load(&co, &cfg, err, sizeof(err)) == 0, "%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &c) == 0, "client");
        kube_config_free(cfg);
        return c;
}

/* bundle/remote-host/rbac.yaml's ClusterRole, made in the remote cluster (once) */
static void remote_rbac(void)
{
        char path[4096], *text = NULL, *json, err[256];
        cJSON *docs = NULL, *doc;
        size_t len;

        live_create_in(rc, &kube_namespaces, NULL, false, "{\"metadata\":{\"name\":\"%s\"}}", ns);
        snprintf(path, sizeof(path), "%s/bundle/remote-host/rbac.yaml", KO_SOURCE_DIR);
        IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0, "%s", path);
        IT_ASSERT(yaml_parse_stream(text, len, path, NULL, &docs, err, sizeof(err)) == 0, "%s",
                  err);
        IT_ASSERT(cJSON_GetArraySize(docs) == 2, "%s: a ClusterRole and a Role", path);
        cJSON_ArrayForEach (doc, docs) {
                bool cluster = strcmp(json_str(doc, "kind", NULL) ?: "", "ClusterRole") == 0;
                json = cJSON_PrintUnformatted(doc);
                live_create_in(rc, cluster ? &kube_clusterroles : &kube_roles, cluster ? NULL : ns,
                               cluster, "%s", json);
                free(json);
        }
        cJSON_Delete(docs);
        free(text);
}

static void bind_user(const char *user, bool cluster)
{
        live_create_in(rc, cluster ? &kube_clusterrolebindings : &kube_rolebindings,
                       cluster ? NULL : ns, cluster,
                       "{\"metadata\":{\"name\":\"%s\"},\"roleRef\":{\"apiGroup\":"
                       "\"rbac.authorization.k8s.io\",\"kind\":\"%s\",\"name\":"
                       "\"karmada-operator-host\"},\"subjects\":[{\"apiGroup\":"
                       "\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":\"%s\"}]}",
                       user, cluster ? "ClusterRole" : "Role", user);
}

/* An operator's user `user` in the remote cluster, bound to what bundle/remote-host/ grants
 * (the ClusterRole, and the Role in ns); its kubeconfig, base64 */
static char *remote_user(const char *user)
{
        char path[4096], *text = NULL, *b64 = NULL;
        size_t len;

        IT_ASSERT(itest_cluster_ctl_in(remote, "user", user, "--restricted") == 0, "user");
        bind_user(user, true);
        bind_user(user, false);
        snprintf(path, sizeof(path), "%s/kubeconfig/%s", remote, user);
        IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0, "%s", path);
        IT_ASSERT(base64_encode((const unsigned char *)text, len, &b64) == 0, "base64");
        free(text);
        return b64;
}

/* Every object of `kind` in the remote cluster whose owner is uid: how many */
static int remote_owned(const struct kube_resource *r, const char *uid)
{
        char sel[256];
        cJSON *list = NULL;
        struct kube_status st;
        int n;

        snprintf(sel, sizeof(sel), KO_LABEL_OWNER_UID "=%s", uid);
        IT_ASSERT(kube_list(rc, r, NULL, &(struct kube_list_options){.label_selector = sel}, &list,
                            &st) == 0,
                  "list %s: %s", r->resource, st.message);
        n = cJSON_GetArraySize(cJSON_GetObjectItem(list, "items"));
        cJSON_Delete(list);
        return n;
}

static void check_placement(const char *uid)
{
        cJSON *d = NULL;
        struct kube_status st;

        IT_ASSERT(kube_get(rc, &kube_deployments, ns, "far-karmada-apiserver", &d, &st) == 0,
                  "the API server's Deployment in the remote cluster: %s", st.message);
        IT_ASSERT(!json_at(d, "metadata", "ownerReferences"), "an owner reference across clusters");
        IT_ASSERT(
                strcmp(json_str(json_at(d, "metadata", "labels"), KO_LABEL_OWNER_NAME, NULL) ?: "",
                       "far") == 0,
                "owner-name label");
        cJSON_Delete(d);
        IT_ASSERT(kube_get(live_kc, &kube_deployments, ns, "far-karmada-apiserver", NULL, &st) <
                                  0 &&
                          st.code == 404,
                  "far's Deployment in the management cluster");
        itest_log("far's objects are in the remote cluster only: %d Deployments, %d Secrets, "
                  "%d Services, %d StatefulSets",
                  remote_owned(&kube_deployments, uid), remote_owned(&kube_secrets, uid),
                  remote_owned(&kube_services, uid), remote_owned(&kube_statefulsets, uid));
}

/* Every condition of instance `name`, one per line (what a failure leaves to read) */
static void print_conditions(const char *name)
{
        cJSON *k = live_get(ns, name);
        const cJSON *c;

        cJSON_ArrayForEach (c, json_at(k, "status", "conditions"))
                fprintf(stderr, "-- %s: %s %s %s: %s\n", name, json_str(c, "type", NULL) ?: "",
                        json_str(c, "status", NULL) ?: "", json_str(c, "reason", NULL) ?: "",
                        json_str(c, "message", NULL) ?: "");
        cJSON_Delete(k);
}

/* An image edited in the remote cluster is put back */
static void check_drift(void)
{
        static const char patch[] = "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
                                    "\"karmada-scheduler\",\"image\":\"evil.example/x:1\"}]}}}}";
        double t0 = itest_now();
        cJSON *d = NULL;
        const char *img;

        IT_ASSERT(kube_patch(rc, &kube_deployments, ns, "far-karmada-scheduler",
                             KUBE_PATCH_STRATEGIC, patch, NULL, NULL, NULL) == 0,
                  "edit");
        for (;;) {
                IT_ASSERT(kube_get(rc, &kube_deployments, ns, "far-karmada-scheduler", &d, NULL) ==
                                  0,
                          "get");
                img = json_str(
                        cJSON_GetArrayItem(
                                json_at(json_at(d, "spec", "template"), "spec", "containers"), 0),
                        "image", NULL);
                if (img && !strstr(img, "evil.example"))
                        break;
                cJSON_Delete(d);
                if (itest_now() - t0 >= 30)
                        print_conditions("far");
                IT_ASSERT(itest_now() - t0 < 30,
                          "an edit in the remote cluster not undone in 30 s");
                usleep(100 * 1000);
        }
        cJSON_Delete(d);
        itest_log("an edited image in the remote cluster was reverted in %.2f s", itest_now() - t0);
}

/* near's Service deleted: made again (the local instance still reconciles) */
static void check_local_reconciles(void)
{
        double t0 = itest_now();
        struct kube_status st;

        IT_ASSERT(kube_delete(live_kc, &kube_services, local_ns, "near-karmada-webhook", NULL,
                              &st) == 0,
                  "delete: %s", st.message);
        while (kube_get(live_kc, &kube_services, local_ns, "near-karmada-webhook", NULL, NULL) <
               0) {
                IT_ASSERT(itest_now() - t0 < 30, "near's Service not made again in 30 s");
                usleep(100 * 1000);
        }
        itest_log("near's deleted Service was made again in %.2f s", itest_now() - t0);
}

/* The operator's caches of a host: the kinds it makes there, and their workloads' pods */
#define N_WATCHED (DESIRED_N_OWNED + 1)
static const struct kube_resource *watched(size_t i)
{
        return i < DESIRED_N_OWNED ? desired_owned[i] : &kube_pods;
}

/* How many of the operator's caches of the remote cluster (their namespaced watches, the
 * only ones there) the remote API server serves now, from its own metric
 * apiserver_longrunning_requests */
static int remote_watches(void)
{
        char *text = NULL, *line, *save = NULL;
        size_t len;
        int n = 0;

        if (kube_get_raw(rc, "/metrics", &text, &len, NULL) < 0)
                return 0;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                bool mine = strncmp(line, "apiserver_longrunning_requests{", 31) == 0 &&
                            strstr(line, "scope=\"namespace\"") && strstr(line, "verb=\"WATCH\"") &&
                            strcmp(strrchr(line, ' ') ?: "", " 0") != 0;
                for (size_t i = 0; mine && i < N_WATCHED; i++) {
                        char want[64];
                        snprintf(want, sizeof(want), "resource=\"%s\"", watched(i)->resource);
                        n += strstr(line, want) != NULL;
                }
        }
        free(text);
        return n;
}

/* The remote API server stopped for OUTAGE_S; far unreachable, near untouched; then back. */
static void check_outage(void)
{
        char buf[1024];
        struct audit_counts c;
        double t0, t, t_up;
        long mark;

        t0 = itest_now();
        IT_ASSERT(itest_cluster_ctl_in(remote, "kill", "kube-apiserver", NULL) == 0, "kill");
        live_wait_condition(ns, "far", "HostClusterReachable", "False Unreachable",
                            2 * PROBE_S + 10);
        t = itest_now() - t0;
        IT_ASSERT(t <= 2 * PROBE_S, "HostClusterReachable=False after %.1f s", t);
        itest_log("HostClusterReachable=False %.1f s after the remote API server was killed: %s", t,
                  live_condition(ns, "far", "HostClusterReachable", buf, sizeof(buf)));
        IT_ASSERT(strstr(buf, "127.0.0.1"), "the condition names the server: %s", buf);
        live_condition(local_ns, "near", "Ready", buf, sizeof(buf));
        IT_ASSERT(strncmp(buf, "True", 4) == 0, "near is not Ready: %s", buf);
        check_local_reconciles();
        while (itest_now() - t0 < OUTAGE_S)
                usleep(200 * 1000);
        live_condition(local_ns, "near", "Ready", buf, sizeof(buf));
        IT_ASSERT(strncmp(buf, "True", 4) == 0, "near is not Ready: %s", buf);
        IT_ASSERT(itest_cluster_ctl_in(remote, "start", "kube-apiserver", NULL) == 0, "start");
        mark = audit_mark();
        t_up = itest_now();
        /* its caches watch again once the prober sees it answer, not after their backoff (25
         * to 37 s more after 60 s): they are not as of before the outage for longer than that */
        while (remote_watches() < N_WATCHED) {
                IT_ASSERT(itest_now() - t_up < PROBE_S + 5,
                          "%d of the %d caches watch the remote cluster %.0f s after it came back",
                          remote_watches(), N_WATCHED, PROBE_S + 5.0);
                usleep(100 * 1000);
        }
        itest_log("the caches watch the remote cluster again %.1f s after it came back",
                  itest_now() - t_up);
        live_wait_condition(ns, "far", "Ready", "True", 120);
        itest_log("far Ready again %.1f s after the remote API server came back",
                  itest_now() - t_up);
        sleep(3);
        audit_count(mark, &c);
        IT_ASSERT(c.writes == 0, "%d writes in the remote cluster after it came back: %s", c.writes,
                  c.summary);
        itest_log("after the outage: %d requests to the remote cluster (%d denied while it "
                  "started), 0 writes",
                  c.requests, c.denied);
}

/* A kubeconfig Secret without the key, and one whose kubeconfig does not parse: InvalidSpec
 * naming the field and the key; the Karmada is still deleted */
static void check_invalid_secrets(void)
{
        static const char *const data[][2] = {
                {"no-key", "\"config\":\"eA==\""},                  /* "x", under another key */
                {"garbage", "\"kubeconfig\":\"Y2x1c3RlcnM6IFs=\""}, /* "clusters: [" */
        };
        char buf[1024];

        for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
                live_create_object(&kube_secrets, ns,
                                   "{\"metadata\":{\"name\":\"%s\"},\"data\":{%s}}", data[i][0],
                                   data[i][1]);
                live_create(ns,
                            "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                            "\"metadata\":{\"name\":\"bad\"},\"spec\":{\"hostCluster\":{"
                            "\"secretRef\":{\"name\":\"%s\"}},\"components\":{\"etcd\":{\"local\":"
                            "{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}",
                            data[i][0]);
                live_wait_condition(ns, "bad", "Ready", "False InvalidSpec", 60);
                live_condition(ns, "bad", "Ready", buf, sizeof(buf));
                IT_ASSERT(strstr(buf, "spec.hostCluster.secretRef") && strstr(buf, "kubeconfig"),
                          "the message names the field and the key: %s", buf);
                itest_log("Secret %s: %s", data[i][0], buf);
                IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bad", NULL, NULL) == 0,
                          "delete");
                live_wait_deleted(ns, "bad", 60);
        }
}

/* Lines of the remote cluster's audit log, after byte `from`, with all of a and b */
static int remote_audit_lines(long from, const char *a, const char *b)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/logs/audit.log", remote);
        return itest_file_lines(path, from, a, b);
}

/* A backup of far: etcd's snapshot read from its pod through the remote API server
 * (pods/portforward, as the Secret's user), sealed into the bucket; its certificates read
 * there too. The object in the bucket is what the status says. */
static void check_backup(void)
{
        struct s3_client s3;
        struct s3_error e = {0};
        struct strbuf got = {0};
        unsigned char key[SEAL_KEY_LEN];
        char *enc = NULL, prefix[300];
        const cJSON *st;
        cJSON *b = NULL;
        const char *phase = NULL;
        double t0 = itest_now();
        long from = audit_mark();

        itest_s3_client(&s3);
        live_s3_credentials(ns, "s3", s3.access_key, s3.secret_key);
        IT_ASSERT(RAND_bytes(key, sizeof(key)) == 1 && base64_encode(key, sizeof(key), &enc) == 0,
                  "key");
        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"key\"},\"data\":{\"key\":\"%s\"}}", enc);
        free(enc);
        snprintf(prefix, sizeof(prefix), "t-%s", ns);
        live_create_object(
                &karmada_backups, ns,
                "{\"metadata\":{\"name\":\"far-bk\"},\"spec\":{\"karmadaRef\":{\"name\":"
                "\"far\"},\"s3\":{\"endpoint\":\"%s\",\"bucket\":\"%s\",\"prefix\":\"%s\","
                "\"forcePathStyle\":true,\"credentialsSecretRef\":{\"name\":\"s3\"}},"
                "\"encryptionKeySecretRef\":{\"name\":\"key\"}}}",
                s3.target.endpoint, s3.target.bucket, prefix);
        while (itest_now() - t0 < 120) {
                cJSON_Delete(b);
                b = NULL;
                IT_ASSERT(kube_get(live_kc, &karmada_backups, ns, "far-bk", &b, NULL) == 0, "get");
                phase = json_str(b, "status", "phase");
                if (phase && (strcmp(phase, "Completed") == 0 || strcmp(phase, "Failed") == 0))
                        break;
                usleep(500 * 1000);
        }
        st = json_at(b, "status", NULL);
        IT_ASSERT(phase && strcmp(phase, "Completed") == 0, "far's backup: %s: %s",
                  phase ? phase : "(none)", json_str(st, "message", NULL) ?: "");
        IT_ASSERT(strcmp(json_str(st, "etcdMember", NULL) ?: "", "far-karmada-etcd-0") == 0,
                  "member %s", json_str(st, "etcdMember", NULL) ?: "(none)");
        IT_ASSERT(s3_get(&s3, json_str(st, "objectKey", NULL), 512u << 20, &got, &e) == 0,
                  "get %s: %s", json_str(st, "objectKey", NULL), e.message);
        IT_ASSERT(got.len > 1024 &&
                          (double)got.len == cJSON_GetNumberValue(cJSON_GetObjectItem(st, "size")),
                  "the object holds %zu bytes; the status says %.0f", got.len,
                  cJSON_GetNumberValue(cJSON_GetObjectItem(st, "size")));
        IT_ASSERT(remote_audit_lines(from, "\"subresource\":\"portforward\"",
                                     "\"name\":\"far-karmada-etcd-0\"") > 0,
                  "no port-forward to far-karmada-etcd-0 in the remote cluster's audit log");
        itest_log("far's backup completed in %.1f s through the remote API server's port-forward: "
                  "%s",
                  itest_now() - t0, json_str(st, "message", NULL));
        strbuf_free(&got);
        cJSON_Delete(b);
}

/* Lines of the operator's log that hold what */
static int log_lines(const char *what)
{
        return itest_file_lines(live_operator_log(0), 0, what, NULL);
}

/* The Secret now holds another user's kubeconfig, and the first user's binding is deleted (its
 * credentials revoked): the operator goes on with the new ones (an edit there is undone). */
static void check_rotation(void)
{
        char *b64 = remote_user("karmada-operator-remote-host-b");
        double t0 = itest_now();
        struct kube_status st;
        struct strbuf patch = {0};

        strbuf_printf(&patch, "{\"data\":{\"kubeconfig\":\"%s\"}}", b64);
        free(b64);
        IT_ASSERT(kube_patch(live_kc, &kube_secrets, ns, "far-host", KUBE_PATCH_MERGE, patch.buf,
                             NULL, NULL, &st) == 0,
                  "patch the Secret: %s", st.message);
        strbuf_free_secret(&patch);
        IT_ASSERT(kube_delete(rc, &kube_clusterrolebindings, NULL, "karmada-operator-remote-host",
                              NULL, &st) == 0 &&
                          kube_delete(rc, &kube_rolebindings, ns, "karmada-operator-remote-host",
                                      NULL, &st) == 0,
                  "revoke: %s", st.message);
        while (log_lines("connected to a host cluster") < 2) {
                IT_ASSERT(itest_now() - t0 < 3 * PROBE_S + 10,
                          "the new kubeconfig not used %.0f s after the old one was revoked",
                          3 * PROBE_S + 10);
                usleep(200 * 1000);
        }
        itest_log("the rotated kubeconfig was in use %.1f s after the old user was revoked",
                  itest_now() - t0);
        check_drift();
        live_wait_condition(ns, "far", "HostClusterReachable", "True", 30);
}

/* A remote instance; endpoint: its spec.hostCluster.apiEndpoint, or NULL */
static void create_remote(const char *name, const char *version, const char *endpoint)
{
        char host[256];

        snprintf(host, sizeof(host),
                 "\"hostCluster\":{%s%s%s\"secretRef\":{\"name\":\"far-host\"}},",
                 endpoint ? "\"apiEndpoint\":\"" : "", endpoint ? endpoint : "",
                 endpoint ? "\"," : "");
        live_create_instance_with(ns, name, version, host);
}

/* Instance `prefix`'s admin kubeconfig, from its Secret in the remote cluster (caller frees) */
static char *admin_kubeconfig(const char *prefix)
{
        char name[128], *text;
        unsigned char *raw = NULL;
        const char *b64;
        size_t len = 0;
        cJSON *s = NULL;

        snprintf(name, sizeof(name), "%s-admin-config", prefix);
        IT_ASSERT(kube_get(rc, &kube_secrets, ns, name, &s, NULL) == 0, "Secret %s", name);
        b64 = json_str(json_at(s, "data", NULL), KO_KUBECONFIG_KEY, NULL);
        IT_ASSERT(b64 && base64_decode(b64, strlen(b64), &raw, &len) == 0, "%s: no kubeconfig",
                  name);
        text = strndup((const char *)raw, len);
        free(raw);
        cJSON_Delete(s);
        return text;
}

/* The server of instance `prefix`'s admin kubeconfig, in the remote cluster, into buf */
static void admin_server(const char *prefix, char *buf, size_t size)
{
        char *text = admin_kubeconfig(prefix);
        const char *at = strstr(text, "server: ");

        snprintf(buf, size, "%.*s", at ? (int)strcspn(at + 8, "\n") : 0, at ? at + 8 : "");
        free(text);
}

/* A client of instance `prefix`'s Karmada API server, as its admin */
static struct kube_client *karmada_client(const char *prefix)
{
        char *text = admin_kubeconfig(prefix), err[512];
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;

        IT_ASSERT(kube_config_from_memory(text, strlen(text), prefix, NULL, &cfg, err,
                                          sizeof(err)) == 0,
                  "%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &c) == 0, "client");
        kube_config_free(cfg);
        free(text);
        return c;
}

/* Every object owned by uid gone from the remote cluster */
static void check_nothing_left(const char *name, const char *uid)
{
        const struct kube_resource *r[] = {&kube_deployments, &kube_statefulsets, &kube_services,
                                           &kube_secrets, &kube_poddisruptionbudgets};

        for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
                IT_ASSERT(remote_owned(r[i], uid) == 0, "%s of %s left in the remote cluster",
                          r[i]->resource, name);
}

static void uid_of(const char *name, char *buf, size_t size)
{
        cJSON *o = live_get(ns, name);

        snprintf(buf, size, "%s", json_str(o, "metadata", "uid") ?: "");
        cJSON_Delete(o);
}

/* A ConfigMap in far's Karmada API server, which the backup then holds */
static void mark_far(void)
{
        struct kube_client *kc = karmada_client("far-karmada");
        cJSON *cm = cJSON_Parse("{\"metadata\":{\"name\":\"before-the-backup\"},"
                                "\"data\":{\"from\":\"far\"}}");

        IT_ASSERT(kube_create(kc, &kube_configmaps, "default", cm, NULL, NULL, NULL) == 0,
                  "the marker in far's Karmada API server");
        cJSON_Delete(cm);
        kube_client_free(kc);
}

/* A LoadBalancer Karmada API server in the remote cluster: its admin kubeconfig (which the
 * operator uses too) names the Service's ingress address there */
static void check_load_balancer(const char *prefix)
{
        char name[128], server[256], want[128];
        cJSON *svc = NULL;
        const char *ip;

        snprintf(name, sizeof(name), "%s-apiserver", prefix);
        IT_ASSERT(kube_get(rc, &kube_services, ns, name, &svc, NULL) == 0, "Service %s", name);
        ip = json_str(cJSON_GetArrayItem(
                              json_at(json_at(svc, "status", "loadBalancer"), "ingress", NULL), 0),
                      "ip", NULL);
        IT_ASSERT(ip, "Service %s has no ingress address", name);
        snprintf(want, sizeof(want), "https://%s:", ip);
        admin_server(prefix, server, sizeof(server));
        IT_ASSERT(strncmp(server, want, strlen(want)) == 0, "%s's server %s, its ingress %s",
                  prefix, server, ip);
        itest_log("%s's Karmada API server (LoadBalancer) at its ingress there: %s", prefix,
                  server);
        cJSON_Delete(svc);
}

/* Another remote instance restored from far's backup: Ready, with far's Karmada objects; the
 * backup's Secrets read beside it, copied into its own Secret there */
static void check_restore(void)
{
        struct kube_client *kc;
        cJSON *cm = NULL;
        char uid[128];
        double t0 = itest_now();

        live_create_in(live_kc, &karmada_karmadas, ns, false,
                       "{\"metadata\":{\"name\":\"copy\"},\"spec\":{\"karmadaVersion\":\"" TO "\","
                       "\"hostCluster\":{\"secretRef\":{\"name\":\"far-host\"}},"
                       "\"restore\":{\"backupRef\":{\"name\":\"far-bk\"}},\"components\":{"
                       "\"etcd\":{\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":"
                       "\"LoadBalancer\"}}}}");
        live_wait_condition(ns, "copy", "Ready", "True", 300);
        check_load_balancer("copy-karmada");
        kc = karmada_client("copy-karmada");
        IT_ASSERT(kube_get(kc, &kube_configmaps, "default", "before-the-backup", &cm, NULL) == 0 &&
                          strcmp(json_str(cm, "data", "from") ?: "", "far") == 0,
                  "copy's Karmada API server lacks far's ConfigMap");
        itest_log(
                "copy (remote) restored from far's backup: Ready in %.1f s, far's ConfigMap there",
                itest_now() - t0);
        cJSON_Delete(cm);
        kube_client_free(kc);
        uid_of("copy", uid, sizeof(uid));
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "copy", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "copy", 120);
        check_nothing_left("copy", uid);
}

int main(void)
{
        char path[4096], *b64, uid[128], twin_uid[128], server[256], server2[256];
        struct audit_counts all;
        long mark;
        double t0;

        remote = getenv("KO_REMOTE_CLUSTER");
        IT_ASSERT(remote && *remote, "KO_REMOTE_CLUSTER is not set (ctest sets it)");
        live_setup();
        snprintf(path, sizeof(path), "%s/kubeconfig/admin", remote);
        rc = client_of(path);
        ns = itest_unique_name("remote");
        local_ns = itest_unique_name("local");
        remote_rbac();
        b64 = remote_user("karmada-operator-remote-host");
        live_make_ns(ns);
        live_make_ns(local_ns);
        live_create_object(
                &kube_secrets, ns,
                "{\"metadata\":{\"name\":\"far-host\"},\"data\":{\"kubeconfig\":\"%s\"}}", b64);
        free(b64);
        audit_set_cluster(remote);
        audit_set_user("karmada-operator-remote-host");
        mark = audit_mark();
        snprintf(path, sizeof(path), "%s,%s", ns, local_ns);
        live_watch_namespaces(path);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        check_invalid_secrets();
        t0 = itest_now();
        live_create_instance(local_ns, "near", NULL);
        create_remote("far", FROM, NULL);
        create_remote("twin", TO, "127.0.0.2"); /* where nothing listens */
        live_wait_condition(ns, "twin", "KarmadaAPIServerReachable", "False Unreachable", 300);
        live_condition(ns, "twin", "KarmadaAPIServerReachable", server, sizeof(server));
        IT_ASSERT(strstr(server, "https://127.0.0.2:"), "the address tried: %s", server);
        itest_log("twin's apiEndpoint where nothing listens: %s", server);
        live_patch(ns, "twin", "{\"spec\":{\"hostCluster\":{\"apiEndpoint\":\"localhost:6443\"}}}");
        live_wait_condition(ns, "far", "Ready", "True", 300);
        live_wait_condition(ns, "twin", "Ready", "True", 300);
        live_wait_condition(ns, "twin", "KarmadaAPIServerReachable", "True Reachable", 30);
        live_wait_condition(local_ns, "near", "Ready", "True", 300);
        itest_log("far and twin (remote) and near (local) Ready after %.1f s", itest_now() - t0);
        IT_ASSERT(log_lines("connected to a host cluster") == 1,
                  "two instances on one host cluster: %d connections made",
                  log_lines("connected to a host cluster"));
        uid_of("far", uid, sizeof(uid));
        uid_of("twin", twin_uid, sizeof(twin_uid));
        admin_server("far-karmada", server, sizeof(server));
        IT_ASSERT(strncmp(server, "https://127.0.0.1:", 18) == 0, "far's server: %s", server);
        admin_server("twin-karmada", server2, sizeof(server2));
        IT_ASSERT(strncmp(server2, "https://localhost:", 18) == 0, "twin's server: %s", server2);
        itest_log("the Karmada API servers: far's at a node's InternalIP (%s), twin's at its "
                  "apiEndpoint (%s)",
                  server, server2);
        check_placement(uid);
        check_drift();
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "twin", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "twin", 120);
        check_nothing_left("twin", twin_uid);
        IT_ASSERT(remote_owned(&kube_deployments, uid) > 0, "far's objects went with twin's");
        IT_ASSERT(log_lines("no instance runs on a host cluster") == 0,
                  "disconnected while far still runs there");
        t0 = itest_now();
        live_patch(ns, "far", "{\"spec\":{\"karmadaVersion\":\"" TO "\"}}");
        live_wait_condition(ns, "far", "Upgrading", "False Upgraded", 240);
        itest_log("far upgraded " FROM " -> " TO " in %.1f s", itest_now() - t0);
        mark_far();
        check_backup();
        check_restore();
        /* (a kube-apiserver that starts again may deny a request or two until its RBAC
         * caches are filled: counted before the outage) */
        audit_count(mark, &all);
        IT_ASSERT(all.denied == 0, "%d requests denied in the remote cluster (the first %s): %s",
                  all.denied, all.denied_first, all.summary);
        itest_log("%d requests of the operator in the remote cluster, 0 denied", all.requests);
        check_outage();
        check_rotation();
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "far", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "far", 120);
        check_nothing_left("far", uid);
        IT_ASSERT(log_lines("no instance runs on a host cluster") == 1,
                  "the host cluster's connection not dropped with its last instance");
        itest_log("far deleted: nothing of it left in the remote cluster, its connection dropped");
        live_stop_operator(0);
        live_teardown();
        return 0;
}
