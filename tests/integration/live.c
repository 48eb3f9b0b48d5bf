/* SPDX-License-Identifier: Apache-2.0 */
#include "live.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "karmada/manifests.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "util/base64.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/strbuf.h"

#include "promparse.h"

#define MAX_OPS 4
#define MAX_NS  16

struct kube_client *live_kc;
static struct kube_config *host_cfg;

static struct {
        pid_t pid;
        int metrics_port;
        char log[256];
} ops[MAX_OPS];

/* The namespaces this test made: a test that fails removes them (below) */
static char made_ns[MAX_NS][64];
static int n_made;
static bool torn_down;

/* A failed test leaves no instance running: its pods' processes would load the machine and an
 * operator watching every namespace (test_olm) would adopt them. The operator is gone, so the
 * finalizers are dropped by hand; the namespace's deletion then takes everything with it. */
static void remove_namespaces(void)
{
        static const struct kube_resource *const own[] = {&karmada_karmadas, &karmada_backups,
                                                          &karmada_backupschedules};

        for (int i = 0; i < n_made && live_kc; i++) {
                for (size_t r = 0; r < sizeof(own) / sizeof(*own); r++) {
                        cJSON *list = NULL;
                        const cJSON *o;
                        if (kube_list(live_kc, own[r], made_ns[i], NULL, &list, NULL) != 0)
                                continue;
                        cJSON_ArrayForEach (o, json_at(list, "items", NULL))
                                kube_patch(live_kc, own[r], made_ns[i],
                                           json_str(json_at(o, "metadata", NULL), "name", NULL),
                                           KUBE_PATCH_MERGE, "{\"metadata\":{\"finalizers\":null}}",
                                           NULL, NULL, NULL);
                        cJSON_Delete(list);
                }
                kube_delete(live_kc, &kube_namespaces, NULL, made_ns[i], NULL, NULL);
                fprintf(stderr, "-- the failed test's namespace %s deleted\n", made_ns[i]);
        }
}

static void dump_logs(void)
{
        for (int i = 0; i < MAX_OPS; i++) {
                char *text = NULL;
                size_t len;
                if (ops[i].pid > 0) {
                        kill(ops[i].pid, SIGKILL);
                        itest_wait_exit(ops[i].pid, 5);
                        ops[i].pid = 0;
                }
                if (ops[i].log[0] && fileio_read(ops[i].log, 64u << 20, &text, &len) == 0) {
                        fprintf(stderr, "-- last of %s:\n%s\n", ops[i].log,
                                len > 4000 ? text + len - 4000 : text);
                        free(text);
                }
        }
        if (!torn_down)
                remove_namespaces();
}

void live_setup(void)
{
        struct kube_config_options co = {.kubeconfig = itest_kubeconfig()};
        char err[512];

        curl_global_init(CURL_GLOBAL_DEFAULT);
        atexit(dump_logs);
        if (kube_config_load(&co, &host_cfg, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = host_cfg}, &live_kc) == 0,
                  "client");
        itest_apply_crds(live_kc);
}

/* An operator's log (at debug level) holds no secret: no PEM block (nor its base64), no bearer
 * token, no JWT, not the S3 secret key */
static void scan_log(const char *path)
{
        static const char *const never[] = {"-----BEGIN", "LS0tLS1CRUdJT", "Bearer ", "eyJhbGciOi",
                                            NULL};
        const char *secret = itest_s3_env_or_empty("S3_SECRET_KEY");
        char *text = NULL;
        size_t len = 0;

        if (fileio_read(path, 256u << 20, &text, &len) < 0)
                return;
        for (const char *const *w = never; *w; w++)
                IT_ASSERT(!memmem(text, len, *w, strlen(*w)), "the operator's log %s holds \"%s\"",
                          path, *w);
        IT_ASSERT(!secret[0] || !memmem(text, len, secret, strlen(secret)),
                  "the operator's log %s holds the S3 secret key", path);
        itest_log("the operator's debug log (%zu bytes) holds no PEM block, bearer token, JWT or "
                  "S3 secret",
                  len);
        free(text);
}

void live_teardown(void)
{
        for (int i = 0; i < MAX_OPS; i++) {
                if (ops[i].pid > 0)
                        live_stop_operator(i);
                if (ops[i].log[0])
                        scan_log(ops[i].log);
                if (ops[i].log[0])
                        unlink(ops[i].log);
                ops[i].log[0] = '\0';
        }
        torn_down = true;
        kube_client_free(live_kc);
        live_kc = NULL;
        kube_config_free(host_cfg);
        curl_global_cleanup();
}

static int lease_seconds;
static const char *watch_list;

void live_watch_namespaces(const char *list)
{
        watch_list = list;
}

void live_lease_seconds(int seconds)
{
        lease_seconds = seconds;
}

void live_start_operator(int slot, const char *bin, const char *ns, const char *cache,
                         const char *kubeconfig)
{
        IT_ASSERT(slot >= 0 && slot < MAX_OPS, "operator slot %d", slot);
        ops[slot].metrics_port = itest_free_port();
        snprintf(ops[slot].log, sizeof(ops[slot].log), "/tmp/ko-live-operator-%d-%d.log",
                 (int)getpid(), slot);
        ops[slot].pid = itest_start_operator(&(struct itest_operator){
                .bin = bin,
                .kubeconfig = kubeconfig,
                .lease_ns = ns,
                .lease_id = "live",
                .watch_ns = watch_list ? watch_list : ns,
                .cache = cache,
                .keys = "ecdsa",
                .log_level = "debug", /* scanned for secrets at the end (live_teardown) */
                .lease_seconds = lease_seconds,
                .metrics_port = ops[slot].metrics_port,
                .plane_hosts = true,
                .log = ops[slot].log,
        });
}

int live_operator_metrics_port(int slot)
{
        return ops[slot].metrics_port;
}

const char *live_operator_log(int slot)
{
        return ops[slot].log;
}

/* Every thread's stack of a process that does not exit when told (gdb, on stderr) */
static void show_stacks(pid_t pid)
{
        char p[16];
        char *const argv[] = {"/usr/bin/gdb",        "-p", p, "-batch", "-ex",
                              "thread apply all bt", NULL};

        snprintf(p, sizeof(p), "%d", (int)pid);
        if (access(argv[0], X_OK) == 0)
                itest_wait_exit(itest_spawn(argv, NULL, NULL), 60);
}

void live_stop_operator(int slot)
{
        int rc;

        kill(ops[slot].pid, SIGTERM);
        rc = itest_wait_exit(ops[slot].pid, 10);
        if (rc == -1)
                show_stacks(ops[slot].pid);
        IT_ASSERT(rc == 0, "operator %d exits 0 within 10 s of SIGTERM: %s %d", slot,
                  rc == -1 ? "still running; pid" : "exit status", rc == -1 ? ops[slot].pid : rc);
        ops[slot].pid = 0;
}

void live_kill_operator(int slot)
{
        kill(ops[slot].pid, SIGKILL);
        itest_wait_exit(ops[slot].pid, 10);
        ops[slot].pid = 0;
}

int live_operator_exited(int slot)
{
        int status = 0;

        if (ops[slot].pid <= 0 || waitpid(ops[slot].pid, &status, WNOHANG) != ops[slot].pid)
                return -1;
        ops[slot].pid = 0;
        return status;
}

void live_make_ns(const char *ns)
{
        char body[256];
        cJSON *o;

        snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
        o = cJSON_Parse(body);
        IT_ASSERT(kube_create(live_kc, &kube_namespaces, NULL, o, NULL, NULL, NULL) == 0,
                  "namespace");
        cJSON_Delete(o);
        if (n_made < MAX_NS)
                snprintf(made_ns[n_made++], sizeof(*made_ns), "%s", ns);
}

static void create_v(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     bool exist_ok, const char *fmt, va_list ap)
{
        struct strbuf b = {0};
        struct kube_status st;
        char av[128];
        cJSON *o;
        int rc;

        strbuf_vprintf(&b, fmt, ap);
        o = cJSON_Parse(b.buf);
        IT_ASSERT(o, "JSON: %s", b.buf);
        if (!cJSON_GetObjectItem(o, "kind")) {
                cJSON_AddStringToObject(o, "apiVersion",
                                        kube_resource_api_version(r, av, sizeof(av)));
                cJSON_AddStringToObject(o, "kind", r->kind);
        }
        /* a kind served by an aggregated API server answers 503 while that restarts (a
         * certificate renewal rolls it): given a minute */
        for (double t0 = itest_now();; sleep(1)) {
                rc = kube_create(c, r, ns, o, NULL, NULL, &st);
                if (rc == 0 || st.code != 503 || itest_now() - t0 > 60)
                        break;
        }
        IT_ASSERT(rc == 0 || (exist_ok && rc == -EEXIST), "create %s in %s: %s (%s)", r->resource,
                  ns ? ns : "-", st.message, b.buf);
        cJSON_Delete(o);
        strbuf_free(&b);
}

void live_create(const char *ns, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        create_v(live_kc, &karmada_karmadas, ns, false, fmt, ap);
        va_end(ap);
}

void live_create_object(const struct kube_resource *r, const char *ns, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        create_v(live_kc, r, ns, false, fmt, ap);
        va_end(ap);
}

void live_create_in(struct kube_client *c, const struct kube_resource *r, const char *ns,
                    bool exist_ok, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        create_v(c, r, ns, exist_ok, fmt, ap);
        va_end(ap);
}

void live_create_instance(const char *ns, const char *name, const char *version)
{
        live_create_instance_with(ns, name, version, "");
}

void live_create_instance_with(const char *ns, const char *name, const char *version,
                               const char *spec)
{
        char v[96] = "";

        if (version)
                snprintf(v, sizeof(v), "\"karmadaVersion\":\"%s\",", version);
        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"%s\"},\"spec\":{%s%s\"components\":{\"etcd\":{"
                    "\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}",
                    name, v, spec);
}

void live_patch(const char *ns, const char *name, const char *fmt, ...)
{
        struct strbuf b = {0};
        struct kube_status st;
        va_list ap;

        va_start(ap, fmt);
        strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        IT_ASSERT(kube_patch(live_kc, &karmada_karmadas, ns, name, KUBE_PATCH_MERGE, b.buf, NULL,
                             NULL, &st) == 0,
                  "patch %s with %s: %s", name, b.buf, st.message);
        strbuf_free(&b);
}

cJSON *live_get(const char *ns, const char *name)
{
        cJSON *k = NULL;

        if (kube_get(live_kc, &karmada_karmadas, ns, name, &k, NULL) < 0)
                return NULL;
        return k;
}

cJSON *live_container(const char *ns, const char *deployment)
{
        cJSON *dep = NULL, *c;

        IT_ASSERT(kube_get(live_kc, &kube_deployments, ns, deployment, &dep, NULL) == 0,
                  "Deployment %s", deployment);
        c = cJSON_DetachItemFromArray(
                cJSON_GetObjectItem(
                        cJSON_GetObjectItem(
                                cJSON_GetObjectItem(cJSON_GetObjectItem(dep, "spec"), "template"),
                                "spec"),
                        "containers"),
                0);
        cJSON_Delete(dep);
        IT_ASSERT(c, "Deployment %s has no container", deployment);
        return c;
}

const char *live_condition_of(const cJSON *obj, const char *type, bool with_message, char *buf,
                              size_t size)
{
        const cJSON *c;

        buf[0] = '\0';
        cJSON_ArrayForEach (c,
                            cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "status"), "conditions")) {
                const cJSON *t = cJSON_GetObjectItem(c, "type");
                if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
                        snprintf(buf, size, "%s %s%s%s",
                                 cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")) ?: "",
                                 cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")) ?: "",
                                 with_message ? " " : "",
                                 with_message
                                         ? cJSON_GetStringValue(cJSON_GetObjectItem(c, "message"))
                                                   ?: ""
                                         : "");
        }
        return buf;
}

const char *live_condition(const char *ns, const char *name, const char *type, char *buf,
                           size_t size)
{
        cJSON *k = live_get(ns, name);

        live_condition_of(k, type, true, buf, size);
        cJSON_Delete(k);
        return buf;
}

double live_try_condition(const char *ns, const char *name, const char *type, const char *prefix,
                          double timeout, char *last, size_t size)
{
        double t0 = itest_now();

        while (itest_now() - t0 < timeout) {
                cJSON *k = live_get(ns, name);
                const cJSON *og =
                        cJSON_GetObjectItem(cJSON_GetObjectItem(k, "status"), "observedGeneration");
                const cJSON *gen =
                        cJSON_GetObjectItem(cJSON_GetObjectItem(k, "metadata"), "generation");
                bool current = cJSON_IsNumber(og) && cJSON_IsNumber(gen) &&
                               og->valuedouble == gen->valuedouble;
                bool ok = strncmp(live_condition_of(k, type, true, last, size), prefix,
                                  strlen(prefix)) == 0;

                cJSON_Delete(k);
                if (ok && current)
                        return itest_now() - t0;
                if (ok) /* the status of an older generation */
                        snprintf(last + strlen(last), size - strlen(last), " (older generation)");
                usleep(200 * 1000);
        }
        return -1;
}

double live_wait_condition(const char *ns, const char *name, const char *type, const char *prefix,
                           double timeout)
{
        char buf[1024];
        double took = live_try_condition(ns, name, type, prefix, timeout, buf, sizeof(buf));

        if (took < 0)
                IT_FAIL("%s/%s: %s is not \"%s\" after %.0fs: %s", ns, name, type, prefix, timeout,
                        buf);
        return took;
}

struct kube_client *live_karmada_client(const char *ns, const char *name, char **ret_ca)
{
        cJSON *k = live_get(ns, name), *secret = NULL;
        const cJSON *ref, *data;
        unsigned char *text = NULL;
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        char err[512];
        size_t len;

        IT_ASSERT(k, "get %s", name);
        ref = cJSON_GetObjectItem(cJSON_GetObjectItem(k, "status"), "secretRef");
        IT_ASSERT(cJSON_IsString(cJSON_GetObjectItem(ref, "name")), "status.secretRef");
        IT_ASSERT(kube_get(live_kc, &kube_secrets,
                           cJSON_GetObjectItem(ref, "namespace")->valuestring,
                           cJSON_GetObjectItem(ref, "name")->valuestring, &secret, NULL) == 0,
                  "admin Secret");
        data = cJSON_GetObjectItem(cJSON_GetObjectItem(secret, "data"), "karmada.config");
        IT_ASSERT(cJSON_IsString(data) &&
                          base64_decode(data->valuestring, strlen(data->valuestring), &text,
                                        &len) == 0,
                  "karmada.config");
        if (kube_config_from_memory((const char *)text, len, "admin", NULL, &cfg, err,
                                    sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &c) == 0, "client");
        if (ret_ca)
                *ret_ca = strndup((const char *)cfg->ca, cfg->ca_len);
        kube_config_free(cfg);
        free(text);
        cJSON_Delete(secret);
        cJSON_Delete(k);
        return c;
}

void live_wait_deleted(const char *ns, const char *name, double timeout)
{
        for (double t = itest_now(); itest_now() - t < timeout; usleep(200 * 1000)) {
                cJSON *k = NULL;
                if (kube_get(live_kc, &karmada_karmadas, ns, name, &k, NULL) == -ENOENT)
                        return;
                cJSON_Delete(k);
        }
        IT_FAIL("%s/%s is not deleted after %.0fs", ns, name, timeout);
}

void live_s3_credentials(const char *ns, const char *name, const char *access, const char *secret)
{
        char *e1 = NULL, *e2 = NULL;

        IT_ASSERT(base64_encode(access, strlen(access), &e1) == 0 &&
                          base64_encode(secret, strlen(secret), &e2) == 0,
                  "base64");
        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"accessKeyID\":\"%s\","
                           "\"secretAccessKey\":\"%s\"}}",
                           name, e1, e2);
        free(e1);
        free(e2);
}

void live_backup_secrets(const char *ns, struct s3_client *s3)
{
        itest_s3_client(s3);
        live_s3_credentials(ns, "s3", s3->access_key, s3->secret_key);
        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"key\"},\"data\":{\"key\":"
                           "\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"}}");
}

/* ko-plane's address of a Service (its addresses file) */
/* ko-plane's address of a Service ("svc") or pod ("pod") */
static void plane_address(const char *kind, const char *ns, const char *name, char *ip, size_t size)
{
        char path[1024], key[300], k[600], a[64];
        FILE *f;

        snprintf(path, sizeof(path), "%s/plane/addresses", getenv("KO_TEST_CLUSTER"));
        snprintf(key, sizeof(key), "%s:%s/%s", kind, ns, name);
        ip[0] = '\0';
        f = fopen(path, "re");
        IT_ASSERT(f, "%s", path);
        while (fscanf(f, "%599s %63s", k, a) == 2)
                if (strcmp(k, key) == 0)
                        snprintf(ip, size, "%s", a);
        fclose(f);
        IT_ASSERT(ip[0], "no address of %s in %s", key, path);
}

static char *secret_key(const cJSON *secret, const char *key, size_t *len)
{
        char *v = manifest_secret_value(secret, key, len);

        IT_ASSERT(v, "Secret key %s", key);
        return v;
}

void live_etcd_member_at(const char *ns, const char *instance, int ordinal,
                         struct etcd_backup_member *m)
{
        char name[300], host[600], ip[64], url[700], resolve[800], sts[300];
        cJSON *secret = NULL;

        snprintf(name, sizeof(name), "%s-karmada-etcd-cert", instance);
        IT_ASSERT(kube_get(live_kc, &kube_secrets, ns, name, &secret, NULL) == 0, "Secret %s",
                  name);
        *m = (struct etcd_backup_member){0};
        m->ca = secret_key(secret, "etcd-ca.crt", &m->ca_len);
        m->cert = secret_key(secret, "etcd-client.crt", &m->cert_len);
        m->key = secret_key(secret, "etcd-client.key", &m->key_len);
        cJSON_Delete(secret);
        snprintf(sts, sizeof(sts), "%s-karmada-etcd", instance);
        if (ordinal < 0) {
                snprintf(name, sizeof(name), "%s-karmada-etcd-client", instance);
                plane_address("svc", ns, name, ip, sizeof(ip));
                snprintf(host, sizeof(host), "%s.%s.svc.cluster.local", name, ns);
        } else {
                snprintf(name, sizeof(name), "%s-%d", sts, ordinal);
                plane_address("pod", ns, name, ip, sizeof(ip));
                snprintf(host, sizeof(host), "%s.%s.%s.svc.cluster.local", name, sts, ns);
        }
        snprintf(url, sizeof(url), "https://%s:2379", host);
        snprintf(resolve, sizeof(resolve), "%s:2379:%s", host, ip);
        m->url = strdup(url);
        m->resolve = strdup(resolve);
}

void live_etcd_member(const char *ns, const char *instance, struct etcd_backup_member *m)
{
        live_etcd_member_at(ns, instance, -1, m);
}

void live_etcd_member_free(struct etcd_backup_member *m)
{
        free((char *)m->ca);
        free((char *)m->cert);
        if (m->key)
                OPENSSL_cleanse((char *)m->key, m->key_len);
        free((char *)m->key);
        free((char *)m->url);
        free((char *)m->resolve);
        *m = (struct etcd_backup_member){0};
}

/* Run argv with its output into *out (trimmed); its exit status */
static int run_capture(char *const argv[], char **out)
{
        int rc = itest_run(argv, NULL, 30, out);
        size_t len = strlen(*out);

        while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == ' '))
                (*out)[--len] = '\0';
        return rc;
}

/* The verdicts of kstatus (ko-kstatus) and of Argo CD's health script (lua5.1) on one
 * snapshot of the object; 0 when both start as wanted */
static int gitops_once(const struct kube_resource *r, const char *ns, const char *name,
                       const char *kstatus, const char *argo, char **ks_out, char **argo_out)
{
        char file[256], script[1024], harness[1024], want[300];
        cJSON *obj = NULL;
        char *text;
        int ok;

        IT_ASSERT(kube_get(live_kc, r, ns, name, &obj, NULL) == 0, "get %s %s", r->kind, name);
        text = cJSON_PrintUnformatted(obj);
        snprintf(file, sizeof(file), "/tmp/ko-gitops-%d.json", (int)getpid());
        IT_ASSERT(text && fileio_write_atomic(file, text, strlen(text), 0600) == 0, "%s", file);
        free(text);
        cJSON_Delete(obj);
        snprintf(script, sizeof(script), "%s/bundle/gitops/%s", KO_SOURCE_DIR,
                 r == &karmada_backups ? "karmadabackup-health.lua" : "karmada-health.lua");
        snprintf(harness, sizeof(harness), "%s/tests/integration/argocd_health.lua", KO_SOURCE_DIR);
        IT_ASSERT(getenv("KO_KSTATUS_BIN"), "KO_KSTATUS_BIN (tests/CMakeLists.txt) is not set");
        run_capture((char *const[]){getenv("KO_KSTATUS_BIN"), file, NULL}, ks_out);
        run_capture((char *const[]){"/usr/bin/lua5.1", harness, script, file, NULL}, argo_out);
        unlink(file);
        snprintf(want, sizeof(want), "%s/%s %s:", r->kind, name, kstatus);
        ok = strncmp(*ks_out, want, strlen(want)) == 0;
        snprintf(want, sizeof(want), "%s:", argo ? argo : "");
        return ok && (!argo || strncmp(*argo_out, want, strlen(want)) == 0) ? 0 : -1;
}

void live_gitops_health(const struct kube_resource *r, const char *ns, const char *name,
                        const char *kstatus, const char *argo)
{
        char *ks = NULL, *ar = NULL;

        for (double t = itest_now();; usleep(250 * 1000)) {
                free(ks);
                free(ar);
                if (gitops_once(r, ns, name, kstatus, argo, &ks, &ar) == 0)
                        break;
                IT_ASSERT(itest_now() - t < 15,
                          "%s %s: want kstatus %s and Argo CD %s; 15s on they say \"%s\" and "
                          "\"%s\"",
                          r->kind, name, kstatus, argo ? argo : "(any)", ks, ar);
        }
        itest_log("%s %s: kstatus %s, Argo CD %s", r->kind, name, kstatus, argo ? argo : ar);
        free(ks);
        free(ar);
}

void live_monitoring_metrics(int metrics_port)
{
        char rules[1024], dash[1024], err[256];
        struct strbuf scrape = {0}, missing = {0};
        struct prom_doc d = {0};
        char *names = NULL, *save = NULL;
        int n = 0;

        snprintf(rules, sizeof(rules), "%s/bundle/monitoring/prometheusrule.yaml", KO_SOURCE_DIR);
        snprintf(dash, sizeof(dash), "%s/bundle/monitoring/grafana-dashboard.json", KO_SOURCE_DIR);
        IT_ASSERT(getenv("KO_PROMRULES_BIN"), "KO_PROMRULES_BIN (tests/CMakeLists.txt) is not set");
        IT_ASSERT(
                run_capture((char *const[]){getenv("KO_PROMRULES_BIN"), "names", rules, dash, NULL},
                            &names) == 0,
                "ko-promrules names: %s", names);
        IT_ASSERT(itest_http_get(metrics_port, "/metrics", &scrape) == 200, "scrape the operator");
        IT_ASSERT(prom_parse(scrape.buf, &d, err, sizeof(err)) == 0, "metrics: %s", err);
        for (char *name = strtok_r(names, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
                n++;
                if (prom_count(&d, name) == 0)
                        strbuf_printf(&missing, " %s", name);
        }
        IT_ASSERT(n > 10 && !missing.len,
                  "of the %d metrics the rules and the dashboard read, the operator exports no "
                  "series of:%s",
                  n, missing.buf ? missing.buf : "");
        itest_log("all %d metrics the alerting rules and the dashboard read have series", n);
        prom_doc_free(&d);
        strbuf_free(&scrape);
        free(names);
}

/* How many Warning Events of namespace ns regarding name have that reason (each a distinct
 * note: repeats are a series of one Event), and in *with how many of them name needle */
static int warning_events(const char *ns, const char *name, const char *reason, const char *needle,
                          int *with)
{
        cJSON *list = NULL;
        const cJSON *e;
        int n = 0;

        *with = 0;
        IT_ASSERT(kube_list(live_kc, &kube_events, ns, NULL, &list, NULL) == 0, "list events");
        cJSON_ArrayForEach (e, cJSON_GetObjectItem(list, "items")) {
                if (strcmp(json_str(e, "regarding", "name") ?: "", name) != 0 ||
                    strcmp(json_str(e, "reason", NULL) ?: "", reason) != 0)
                        continue;
                n++;
                *with += strstr(json_str(e, "note", NULL) ?: "", needle) != NULL;
        }
        cJSON_Delete(list);
        return n;
}

/* The operator's own count of Warning Events with that reason, repeats included */
static double recorded_warnings(int metrics_port, const char *reason)
{
        struct strbuf sb = {0};
        struct prom_doc d;
        char err[256], labels[128];
        double v;

        IT_ASSERT(itest_http_get(metrics_port, "/metrics", &sb) == 200, "scrape the operator");
        IT_ASSERT(prom_parse(sb.buf, &d, err, sizeof(err)) == 0, "metrics: %s", err);
        snprintf(labels, sizeof(labels), "reason=\"%s\"", reason); /* each is a Warning */
        v = prom_sum(&d, "karmada_operator_events_total", labels);
        prom_doc_free(&d);
        strbuf_free(&sb);
        return v;
}

int live_warnings_naming(const char *ns, const char *name, const char *reason, const char *needle)
{
        int with = 0;

        for (double t = itest_now(); itest_now() - t < 5; usleep(200 * 1000))
                if (warning_events(ns, name, reason, needle, &with) > 0 && with > 0)
                        return with;
        IT_FAIL("no Warning %s of %s names \"%s\" within 5 s", reason, name, needle);
}

int live_warnings_once(int metrics_port, const char *ns, const char *name, const char *reason,
                       const char *needle)
{
        double recorded = 0;
        int n = 0, with = 0;

        for (double t = itest_now(); itest_now() - t < 5; usleep(200 * 1000)) {
                recorded = recorded_warnings(metrics_port, reason);
                n = warning_events(ns, name, reason, needle, &with);
                if (with > 0 && recorded == n)
                        return with;
        }
        IT_FAIL("Warning %s of %s: %.0f recorded by the operator, %d Events, %d naming \"%s\"",
                reason, name, recorded, n, with, needle);
}
