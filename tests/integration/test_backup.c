/* SPDX-License-Identifier: Apache-2.0 */
/* KarmadaBackup and KarmadaBackupSchedule against a real instance (etcd and Karmada API server
 * run by ko-plane from what the operator rendered) and a real S3 server (versitygw):
 *   - a backup completes: its snapshot in the bucket has the size and SHA-256 its status
 *     reports; the certificates beside it open only with the backup's key and hold the
 *     instance's Secrets; metrics count it;
 *   - failures end Failed with a precise reason and leave no object: an unknown karmadaRef,
 *     wrong S3 credentials, an S3 server that is not there, one that goes away in the middle
 *     of a multipart upload, a missing encryption key;
 *   - the API server refuses a change to a backup's spec;
 *   - a restore round trip: 200 objects written, backed up, restored into a new instance:
 *     the same 200 with the same content and higher resourceVersions, the same CA; a
 *     corrupted snapshot is refused before anything starts; spec.restore cannot be added to a
 *     running instance;
 *   - 10 of 10 scheduled backups complete through an S3 front failing one part upload in 5;
 *   - a schedule "@every 2s" with keepLast 3, after at least 5 backups, leaves exactly 3
 *     KarmadaBackups and their 3 snapshots (and certificate files) in the bucket;
 *   - an upgrade that asks for a backup first stops when that backup fails (nothing upgraded)
 *     and runs once one completed. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "faultproxy.h"
#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/base64.h"
#include "util/digest.h"
#include "util/s3.h"
#include "util/seal.h"
#include "util/strbuf.h"

static const char *ns;
static struct s3_client s3;
static unsigned char bkey[SEAL_KEY_LEN]; /* the backups' encryption key */
static const struct kube_resource pps = {"policy.karmada.io", "v1alpha1", "propagationpolicies",
                                         "PropagationPolicy", true};

/* a KarmadaBackup of `karmada` to the test bucket under `prefix`, with these Secrets */
static void backup(const char *name, const char *karmada, const char *prefix, const char *endpoint,
                   const char *creds, const char *key)
{
        live_create_object(
                &karmada_backups, ns,
                "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"KarmadaBackup\","
                "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"karmadaRef\":{\"name\":\"%s\"},"
                "\"s3\":{\"endpoint\":\"%s\",\"bucket\":\"%s\",\"prefix\":\"%s\","
                "\"forcePathStyle\":true,\"credentialsSecretRef\":{\"name\":\"%s\"}},"
                "\"encryptionKeySecretRef\":{\"name\":\"%s\"}}}",
                name, karmada, endpoint, s3.target.bucket, prefix, creds, key);
}

static cJSON *get_backup(const char *name)
{
        cJSON *b = NULL;

        IT_ASSERT(kube_get(live_kc, &karmada_backups, ns, name, &b, NULL) == 0, "get %s", name);
        return b;
}

static const char *status_str(const cJSON *b, const char *field)
{
        return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "status"), field));
}

/* Wait for a final phase; returns the object. */
static cJSON *wait_final(const char *name, double timeout)
{
        double t0 = itest_now();

        for (;;) {
                cJSON *b = get_backup(name);
                const char *phase = status_str(b, "phase");
                if (phase && (strcmp(phase, "Completed") == 0 || strcmp(phase, "Failed") == 0))
                        return b;
                if (itest_now() - t0 > timeout)
                        IT_FAIL("backup %s: phase %s after %.0fs", name, phase ? phase : "(none)",
                                timeout);
                cJSON_Delete(b);
                usleep(200 * 1000);
        }
}

/* The Succeeded condition's "status reason message" */
static void succeeded(const cJSON *b, char *buf, size_t size)
{
        const cJSON *c;

        buf[0] = '\0';
        cJSON_ArrayForEach (c, cJSON_GetObjectItem(cJSON_GetObjectItem(b, "status"), "conditions"))
                if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "type")), "Succeeded") == 0)
                        snprintf(buf, size, "%s %s %s",
                                 cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")),
                                 cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")),
                                 cJSON_GetStringValue(cJSON_GetObjectItem(c, "message")));
}

static void expect_failed(const char *name, const char *reason, const char *in_message)
{
        cJSON *b = wait_final(name, 60);
        char cond[1200], want[128];

        succeeded(b, cond, sizeof(cond));
        snprintf(want, sizeof(want), "False %s ", reason);
        IT_ASSERT(strcmp(status_str(b, "phase"), "Failed") == 0 &&
                          strncmp(cond, want, strlen(want)) == 0 && strstr(cond, in_message) &&
                          strstr(status_str(b, "message"), in_message) &&
                          !status_str(b, "objectKey") && status_str(b, "stopTime"),
                  "backup %s: phase %s, Succeeded \"%s\"; want Failed, %s, \"%s\"", name,
                  status_str(b, "phase"), cond, reason, in_message);
        itest_log("%s: Failed %s", name, cond + 6);
        cJSON_Delete(b);
        live_gitops_health(&karmada_backups, ns, name, "Failed", "Degraded");
}

static size_t count_objects(const char *prefix)
{
        struct s3_object *objs = NULL;
        struct s3_error e = {0};
        size_t n = 0;

        IT_ASSERT(s3_list(&s3, prefix, &objs, &n, &e) == 0, "list %s: %s", prefix, e.message);
        s3_objects_free(objs, n);
        return n;
}

/* S3 credentials */

/* how many of the schedule's KarmadaBackups exist (completed and, unless NULL, failed: how many
 * of them Completed and Failed); names seen are added to `seen` */
static size_t schedule_backups(const char *schedule, struct strbuf *seen, size_t *n_seen,
                               size_t *completed, size_t *failed)
{
        char sel[256];
        cJSON *list = NULL;
        const cJSON *b;
        size_t n = 0;

        snprintf(sel, sizeof(sel), "operator.karmada.io/schedule=%s", schedule);
        IT_ASSERT(kube_list(live_kc, &karmada_backups, ns,
                            &(struct kube_list_options){.label_selector = sel}, &list, NULL) == 0,
                  "list backups");
        *completed = 0;
        if (failed)
                *failed = 0;
        cJSON_ArrayForEach (b, cJSON_GetObjectItem(list, "items")) {
                const char *name = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name"));
                char tagged[300];
                const char *phase = status_str(b, "phase");
                n++;
                if (phase && strcmp(phase, "Completed") == 0)
                        (*completed)++;
                if (failed && phase && strcmp(phase, "Failed") == 0)
                        (*failed)++;
                snprintf(tagged, sizeof(tagged), "|%s|", name);
                if (!seen->buf || !strstr(seen->buf, tagged)) {
                        strbuf_printf(seen, "%s", tagged);
                        (*n_seen)++;
                }
        }
        cJSON_Delete(list);
        return n;
}

/* ---- an S3 server that goes away in the middle of an upload ---- */

/* A TCP proxy to the S3 server on 127.0.0.1 that forwards connections one after the other and,
 * once `budget` bytes went to the server, closes everything and accepts no more. */
struct proxy {
        int listen_fd, port, target_port;
        long long budget, sent;
        bool stall; /* past the budget, hold the connection until released (else drop it) */
        atomic_bool down, stalled, released; /* gone; holding; relaying again, no budget */
        pthread_t thread;
};

static bool relay(int from, int to, long long *count)
{
        char buf[65536];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n <= 0)
                return false;
        if (count)
                *count += n;
        return write(to, buf, (size_t)n) == n;
}

static void *proxy_run(void *arg)
{
        struct proxy *p = arg;

        while (!atomic_load(&p->down)) {
                struct sockaddr_in a = {.sin_family = AF_INET,
                                        .sin_port = htons((uint16_t)p->target_port),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                int c = accept(p->listen_fd, NULL, NULL), t;
                if (c < 0)
                        break;
                t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (t < 0 || connect(t, (struct sockaddr *)&a, sizeof(a)) < 0) {
                        close(c);
                        if (t >= 0)
                                close(t);
                        continue;
                }
                for (;;) {
                        struct pollfd fds[2] = {{c, POLLIN, 0}, {t, POLLIN, 0}};
                        if (poll(fds, 2, 1000) < 0)
                                break;
                        if (fds[0].revents && !relay(c, t, &p->sent))
                                break;
                        if (fds[1].revents && !relay(t, c, NULL))
                                break;
                        if (p->sent > p->budget && p->stall) { /* hung, until told */
                                atomic_store(&p->stalled, true);
                                while (!atomic_load(&p->down) && !atomic_load(&p->released))
                                        usleep(100 * 1000);
                                p->budget = LLONG_MAX;
                                break; /* that connection is over */
                        }
                        if (p->sent > p->budget) { /* the server is gone */
                                atomic_store(&p->down, true);
                                shutdown(p->listen_fd, SHUT_RDWR);
                                break;
                        }
                }
                close(c);
                close(t);
        }
        close(p->listen_fd);
        return NULL;
}

static void proxy_start(struct proxy *p, int target_port, long long budget, bool stall)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int one = 1;

        *p = (struct proxy){.target_port = target_port, .budget = budget, .stall = stall};
        p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        IT_ASSERT(p->listen_fd >= 0 &&
                          setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
                                  0 &&
                          bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                          listen(p->listen_fd, 4) == 0 &&
                          getsockname(p->listen_fd, (struct sockaddr *)&a, &len) == 0,
                  "proxy socket");
        p->port = ntohs(a.sin_port);
        IT_ASSERT(pthread_create(&p->thread, NULL, proxy_run, p) == 0, "proxy thread");
}

/* name -> sha256 of data (ConfigMaps) or spec (PropagationPolicies) of the objects labelled
 * roundtrip=1 in "default"; *max_rv is the highest resourceVersion among them */
static cJSON *snapshot_of(struct kube_client *kk, char *max_rv, size_t size)
{
        const struct kube_resource *rs[] = {&kube_configmaps, &pps};
        cJSON *map = cJSON_CreateObject();

        for (int i = 0; i < 2; i++) {
                cJSON *list = NULL;
                const cJSON *o;
                struct kube_status st;
                IT_ASSERT(kube_list(kk, rs[i], "default",
                                    &(struct kube_list_options){.label_selector = "roundtrip=1"},
                                    &list, &st) == 0,
                          "list %s: %s", rs[i]->resource, st.message);
                cJSON_ArrayForEach (o, cJSON_GetObjectItem(list, "items")) {
                        const cJSON *meta = cJSON_GetObjectItem(o, "metadata");
                        const char *rv =
                                cJSON_GetStringValue(cJSON_GetObjectItem(meta, "resourceVersion"));
                        char *text =
                                cJSON_PrintUnformatted(cJSON_GetObjectItem(o, i ? "spec" : "data"));
                        char h[SHA256_HEX_LEN], key[300];
                        int cmp = 1;
                        sha256_hex(text, strlen(text), h);
                        free(text);
                        snprintf(key, sizeof(key), "%s/%s", rs[i]->resource,
                                 cJSON_GetStringValue(cJSON_GetObjectItem(meta, "name")));
                        cJSON_AddStringToObject(map, key, h);
                        if (max_rv[0])
                                IT_ASSERT(kube_rv_compare(rv, max_rv, &cmp) == 0, "rv %s", rv);
                        if (cmp > 0)
                                snprintf(max_rv, size, "%s", rv);
                }
                {
                        const char *lrv = cJSON_GetStringValue(cJSON_GetObjectItem(
                                cJSON_GetObjectItem(list, "metadata"), "resourceVersion"));
                        int cmp = 1;
                        if (max_rv[0] && lrv)
                                IT_ASSERT(kube_rv_compare(lrv, max_rv, &cmp) == 0, "rv %s", lrv);
                        if (lrv && cmp > 0)
                                snprintf(max_rv, size, "%s", lrv);
                }
                cJSON_Delete(list);
        }
        return map;
}

/* What a sealed-v1 part of backup b is bound to (README: backups), spelled out here */
static const char *aad_of(const cJSON *b, const char *part)
{
        static char aad[2][256];
        int i = strcmp(part, "pki") == 0;

        snprintf(aad[i], sizeof(aad[i]), "karmada-operator backup sealed-v1 %s %s",
                 cJSON_GetStringValue(
                         cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "uid")),
                 part);
        return aad[i];
}

static int to_strbuf(void *userdata, const unsigned char *buf, size_t len)
{
        return strbuf_append(userdata, buf, len);
}

/* in sealed or opened with the backups' key into out */
static int stream(bool seal, const char *aad, const void *in, size_t len, struct strbuf *out)
{
        struct seal_stream *ss = seal_stream_new(bkey, aad, seal, to_strbuf, out);
        int r = ss ? seal_stream_feed(ss, in, len) : -ENOMEM;

        if (r == 0)
                r = seal_stream_finish(ss);
        seal_stream_free(ss);
        return r;
}

/* Backup `name` turned into one of an operator before sealed-v1: its snapshot in the clear, its
 * certificates sealed with the aad of then, no status.format. */
static void make_legacy(const char *name)
{
        cJSON *b = get_backup(name);
        struct strbuf got = {0}, out = {0};
        struct s3_error e = {0};
        struct kube_status st;

        IT_ASSERT(s3_get(&s3, status_str(b, "objectKey"), 512u << 20, &got, &e) == 0 &&
                          stream(false, aad_of(b, "snapshot"), got.buf, got.len, &out) == 0 &&
                          s3_put(&s3, status_str(b, "objectKey"), out.buf, out.len, &e) == 0,
                  "the snapshot in the clear: %s", e.message);
        strbuf_reset(&got);
        strbuf_reset(&out);
        IT_ASSERT(s3_get(&s3, status_str(b, "pkiObjectKey"), 16u << 20, &got, &e) == 0 &&
                          seal_open(bkey, aad_of(b, "pki"), got.buf, got.len, &out) == 0,
                  "open the certificates: %s", e.message);
        strbuf_reset(&got);
        IT_ASSERT(seal_box(bkey, "karmada-operator backup pki v1", out.buf, out.len, &got) == 0 &&
                          s3_put(&s3, status_str(b, "pkiObjectKey"), got.buf, got.len, &e) == 0,
                  "the certificates sealed as before: %s", e.message);
        IT_ASSERT(kube_patch(live_kc, &karmada_backups, ns, name, KUBE_PATCH_MERGE,
                             "{\"status\":{\"format\":null}}",
                             &(struct kube_write_options){.subresource = "status"}, NULL, &st) == 0,
                  "status.format dropped: %s", st.message);
        strbuf_free(&got);
        strbuf_free(&out);
        cJSON_Delete(b);
}

/* The Secret written before the backup reads the same from the restored instance: its API
 * server decrypts what bk's encrypted (the encryption keys came with the backup) */
static void secret_restored(struct kube_client *kc)
{
        cJSON *s = NULL;

        IT_ASSERT(kube_get(kc, &kube_secrets, "default", "rt-secret", &s, NULL) == 0 &&
                          strcmp(cJSON_GetStringValue(
                                         cJSON_GetObjectItem(cJSON_GetObjectItem(s, "data"), "v"))
                                         ?: "",
                                 "a25vd24tc2VjcmV0") == 0,
                  "the Secret written before the backup does not read back");
        cJSON_Delete(s);
        itest_log("a Secret encrypted at rest before the backup reads back after the restore");
}

/* A new instance restored from backup `from` and Ready, with the objects of `before` (200, the
 * same content); its Karmada client */
static struct kube_client *restored(const char *name, const char *from, const cJSON *before)
{
        double t0 = itest_now();
        char cond[1024], ignored[64] = "";
        struct kube_client *kc;
        const cJSON *e;
        cJSON *after;
        int n = 0;

        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restore\":{\"backupRef\":"
                    "{\"name\":\"%s\"}},\"components\":{\"etcd\":{\"local\":{}},"
                    "\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}",
                    name, from);
        live_wait_condition(ns, name, "Ready", "True", 240);
        itest_log("%s restored from %s and Ready in %.1fs: RestoreReady %s", name, from,
                  itest_now() - t0, live_condition(ns, name, "RestoreReady", cond, sizeof(cond)));
        kc = live_karmada_client(ns, name, NULL);
        after = snapshot_of(kc, ignored, sizeof(ignored));
        cJSON_ArrayForEach (e, before) {
                const char *h = cJSON_GetStringValue(cJSON_GetObjectItem(after, e->string));
                IT_ASSERT(h && strcmp(h, e->valuestring) == 0, "%s: %s after the restore into %s",
                          e->string, h ? "different" : "missing", name);
                n++;
        }
        IT_ASSERT(n == 200 && cJSON_GetArraySize(after) == 200, "%d of 200 objects, %d after", n,
                  cJSON_GetArraySize(after));
        cJSON_Delete(after);
        return kc;
}

/* The backup's objects, as downloaded from the bucket, show none of 50 ConfigMap values that
 * the Karmada API server holds (known-value-0000..0049); the snapshot is sealed-v1. */
static void no_plaintext(const cJSON *b)
{
        const char *keys[] = {status_str(b, "objectKey"), status_str(b, "pkiObjectKey")};
        struct s3_error e = {0};
        int found = 0;

        IT_ASSERT(strcmp(status_str(b, "format"), "sealed-v1") == 0, "status.format \"%s\"",
                  status_str(b, "format"));
        for (int k = 0; k < 2; k++) {
                struct strbuf got = {0};
                IT_ASSERT(s3_get(&s3, keys[k], 512u << 20, &got, &e) == 0, "get %s: %s", keys[k],
                          e.message);
                for (int i = 0; i < 50; i++) {
                        char v[32];
                        snprintf(v, sizeof(v), "known-value-%04d", i);
                        found += memmem(got.buf, got.len, v, strlen(v)) != NULL;
                }
                IT_ASSERT(!memmem(got.buf, got.len, "PRIVATE KEY", 11) &&
                                  !memmem(got.buf, got.len, "/registry/", 10),
                          "%s holds a key or etcd's keys in the clear", keys[k]);
                strbuf_free(&got);
        }
        IT_ASSERT(found == 0, "%d of 50 ConfigMap values in the clear in the bucket", found);
        itest_log("the backup's objects in the bucket (sealed-v1) show none of 50 ConfigMap "
                  "values, no private key and no etcd key");
}

/* 150 ConfigMaps and 50 PropagationPolicies written into bk; a backup; a new instance restored
 * from it holds the same 200 objects (same content), with higher resourceVersions; its CA is
 * bk's. Then: a corrupted snapshot is refused before anything starts, and spec.restore cannot
 * be added to a running instance. */
static void round_trip(void)
{
        struct kube_client *kk = live_karmada_client(ns, "bk", NULL), *k2;
        char max_before[64] = "", min_after[64] = "";
        cJSON *before, *b, *s1 = NULL, *s2 = NULL;
        struct kube_status st;

        for (int i = 0; i < 200; i++) {
                char body[600];
                cJSON *o;
                if (i < 150)
                        snprintf(body, sizeof(body),
                                 "{\"metadata\":{\"name\":\"rt-%d\",\"labels\":{\"roundtrip\":"
                                 "\"1\"}},"
                                 "\"data\":{\"i\":\"%d\",\"sq\":\"%d\",\"v\":\"known-"
                                 "value-%04d\"}}",
                                 i, i, i * i, i);
                else
                        snprintf(
                                body, sizeof(body),
                                "{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":"
                                "\"PropagationPolicy\",\"metadata\":{\"name\":\"rt-%d\",\"labels\":"
                                "{\"roundtrip\":\"1\"}},\"spec\":{\"resourceSelectors\":[{"
                                "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":"
                                "\"app-%d\"}],\"placement\":{\"clusterAffinity\":{"
                                "\"clusterNames\":[\"member%d\"]}}}}",
                                i, i, i % 3);
                o = cJSON_Parse(body);
                IT_ASSERT(kube_create(kk, i < 150 ? &kube_configmaps : &pps, "default", o, NULL,
                                      NULL, &st) == 0,
                          "create rt-%d: %s", i, st.message);
                cJSON_Delete(o);
        }
        /* a Secret, stored encrypted by bk's API server: the restore must bring its key */
        live_create_in(kk, &kube_secrets, "default", false,
                       "{\"metadata\":{\"name\":\"rt-secret\"},\"data\":{\"v\":\"%s\"}}",
                       "a25vd24tc2VjcmV0"); /* "known-secret" */
        before = snapshot_of(kk, max_before, sizeof(max_before));
        IT_ASSERT(cJSON_GetArraySize(before) == 200, "%d objects written",
                  cJSON_GetArraySize(before));
        kube_client_free(kk);

        backup("rt", "bk", "rt", s3.target.endpoint, "s3", "key");
        b = wait_final("rt", 90);
        IT_ASSERT(strcmp(status_str(b, "phase"), "Completed") == 0, "backup rt: %s",
                  status_str(b, "message"));
        no_plaintext(b);
        cJSON_Delete(b);
        live_gitops_health(&karmada_backups, ns, "rt", "Current", "Healthy");
        k2 = restored("bk2", "rt", before);
        /* resourceVersions never go backwards: what a client sees now (a list, a new write)
         * is above anything it saw before the backup (etcdutl --bump-revision; the restored
         * objects keep theirs, and --mark-compacted makes older watches relist) */
        {
                cJSON *list = NULL, *o = cJSON_Parse("{\"metadata\":{\"name\":\"after-restore\"}}"),
                      *made = NULL;
                int cmp1 = 0, cmp2 = 0;
                IT_ASSERT(kube_list(k2, &kube_configmaps, "default", NULL, &list, NULL) == 0 &&
                                  kube_create(k2, &kube_configmaps, "default", o, NULL, &made,
                                              &st) == 0,
                          "list and write after the restore: %s", st.message);
                snprintf(min_after, sizeof(min_after), "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItem(
                                 cJSON_GetObjectItem(list, "metadata"), "resourceVersion")));
                IT_ASSERT(kube_rv_compare(min_after, max_before, &cmp1) == 0 &&
                                  kube_rv_compare(cJSON_GetStringValue(cJSON_GetObjectItem(
                                                          cJSON_GetObjectItem(made, "metadata"),
                                                          "resourceVersion")),
                                                  max_before, &cmp2) == 0 &&
                                  cmp1 > 0 && cmp2 > 0,
                          "after the restore: list at %s, a write at %s; before: %s", min_after,
                          cJSON_GetStringValue(cJSON_GetObjectItem(
                                  cJSON_GetObjectItem(made, "metadata"), "resourceVersion")),
                          max_before);
                cJSON_Delete(list);
                cJSON_Delete(made);
                cJSON_Delete(o);
        }
        itest_log("200 of 200 objects restored with the same content; resourceVersion %s before "
                  "the backup, %s after the restore",
                  max_before, min_after);
        secret_restored(k2);
        kube_client_free(k2);
        /* a backup of an operator before sealed-v1 restores as well */
        make_legacy("rt");
        k2 = restored("bk4", "rt", before);
        secret_restored(k2);
        kube_client_free(k2);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bk4", NULL, NULL) == 0,
                  "delete bk4");
        live_wait_deleted(ns, "bk4", 90);
        cJSON_Delete(before);
        /* the certificate authority came from the backup */
        IT_ASSERT(kube_get(live_kc, &kube_secrets, ns, "bk-karmada-cert", &s1, NULL) == 0 &&
                          kube_get(live_kc, &kube_secrets, ns, "bk2-karmada-cert", &s2, NULL) == 0,
                  "cert Secrets");
        {
                const char *ca1 = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(s1, "data"), "ca.crt"));
                const char *ca2 = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(s2, "data"), "ca.crt"));
                IT_ASSERT(ca1 && ca2 && strcmp(ca1, ca2) == 0, "bk2's CA is not bk's");
        }
        cJSON_Delete(s1);
        cJSON_Delete(s2);

        /* spec.restore cannot be added to a running instance */
        IT_ASSERT(kube_patch(live_kc, &karmada_karmadas, ns, "bk", KUBE_PATCH_MERGE,
                             "{\"spec\":{\"restore\":{\"backupRef\":{\"name\":\"rt\"}}}}", NULL,
                             NULL, &st) == -EINVAL &&
                          strstr(st.message, "restore"),
                  "spec.restore added to a running instance: %s", st.message);
        itest_log("restore over a running instance refused: %.150s", st.message);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bk2", NULL, NULL) == 0,
                  "delete bk2");
        live_wait_deleted(ns, "bk2", 90);
}

/* the snapshot of backup `name` altered in the bucket (one byte): a restore from it stops at
 * RestoreReady=False SnapshotCorrupted, and no etcd is created */
static void corrupted(const char *name)
{
        cJSON *b = get_backup(name), *sts = NULL;
        struct strbuf got = {0};
        struct s3_error e = {0};
        char cond[1200];

        IT_ASSERT(s3_get(&s3, status_str(b, "objectKey"), 512u << 20, &got, &e) == 0, "get: %s",
                  e.message);
        got.buf[got.len / 2] ^= 0x20;
        IT_ASSERT(s3_put(&s3, status_str(b, "objectKey"), got.buf, got.len, &e) == 0, "put: %s",
                  e.message);
        strbuf_free(&got);
        cJSON_Delete(b);
        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"bk3\"},\"spec\":{\"restore\":{\"backupRef\":"
                    "{\"name\":\"%s\"}},\"components\":{\"etcd\":{\"local\":{}}}}}",
                    name);
        live_wait_condition(ns, "bk3", "RestoreReady", "False SnapshotCorrupted", 60);
        itest_log("corrupted snapshot: RestoreReady %s",
                  live_condition(ns, "bk3", "RestoreReady", cond, sizeof(cond)));
        sleep(2);
        IT_ASSERT(kube_get(live_kc, &kube_statefulsets, ns, "bk3-karmada-etcd", &sts, NULL) ==
                          -ENOENT,
                  "an etcd was created from a corrupted snapshot");
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bk3", NULL, NULL) == 0,
                  "delete bk3");
        live_wait_deleted(ns, "bk3", 90);
}

static void schedule_template(const char *name, const char *creds)
{
        live_create_object(
                &karmada_backupschedules, ns,
                "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":"
                "\"KarmadaBackupSchedule\",\"metadata\":{\"name\":\"%s\"},\"spec\":{"
                "\"schedule\":\"@daily\",\"suspend\":true,\"template\":{\"spec\":{"
                "\"karmadaRef\":{\"name\":\"any\"},\"s3\":{\"endpoint\":\"%s\",\"bucket\":"
                "\"%s\",\"prefix\":\"pre\",\"forcePathStyle\":true,\"credentialsSecretRef\":"
                "{\"name\":\"%s\"}},\"encryptionKeySecretRef\":{\"name\":\"key\"}}}}}",
                name, s3.target.endpoint, s3.target.bucket, creds);
}

/* An upgrade that asks for a backup first (the annotation naming a schedule whose template
 * is used): a failing backup stops it before anything changes; once a backup completes, the
 * upgrade runs. */
static void pre_upgrade(void)
{
        char buf[1024];
        cJSON *k, *b;

        schedule_template("bad-template", "s3-wrong");
        schedule_template("good-template", "s3");
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"up\",\"annotations\":{"
                        "\"operator.karmada.io/backup-before-upgrade\":\"bad-template\"}},"
                        "\"spec\":{\"karmadaVersion\":\"v1.17.1\",\"components\":{\"etcd\":"
                        "{\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}");
        live_wait_condition(ns, "up", "Ready", "True", 240);
        live_patch(ns, "up", "{\"spec\":{\"karmadaVersion\":\"v1.18.2\"}}");
        live_wait_condition(ns, "up", "Ready", "False PreUpgradeBackupFailed", 60);
        itest_log("backup before the upgrade failed: Ready %s",
                  live_condition(ns, "up", "Ready", buf, sizeof(buf)));
        k = live_get(ns, "up");
        IT_ASSERT(strcmp(status_str(k, "karmadaVersion"), "v1.17.1") == 0,
                  "status.karmadaVersion %s after a failed backup",
                  status_str(k, "karmadaVersion"));
        cJSON_Delete(k);
        {
                cJSON *c = live_container(ns, "up-karmada-webhook");
                const char *img = cJSON_GetStringValue(cJSON_GetObjectItem(c, "image"));
                IT_ASSERT(img && strstr(img, ":v1.17.1"), "webhook image %s after a failed backup",
                          img ? img : "(none)");
                cJSON_Delete(c);
        }
        /* as the message says: delete the failed backup, point at a template that works */
        IT_ASSERT(kube_delete(live_kc, &karmada_backups, ns, "up-pre-v1-18-2-g2", NULL, NULL) == 0,
                  "delete the failed backup");
        live_patch(ns, "up",
                   "{\"metadata\":{\"annotations\":{\"operator.karmada.io/backup-before-upgrade\":"
                   "\"good-template\"}}}");
        for (double t0 = itest_now();;) {
                k = live_get(ns, "up");
                if (strcmp(status_str(k, "karmadaVersion"), "v1.18.2") == 0)
                        break;
                IT_ASSERT(itest_now() - t0 < 120, "not upgraded after 120s: %s",
                          live_condition(ns, "up", "Upgrading", buf, sizeof(buf)));
                cJSON_Delete(k);
                usleep(250 * 1000);
        }
        cJSON_Delete(k);
        live_wait_condition(ns, "up", "Ready", "True", 120);
        b = get_backup("up-pre-v1-18-2-g2");
        IT_ASSERT(strcmp(status_str(b, "phase"), "Completed") == 0 &&
                          strcmp(status_str(b, "karmadaVersion"), "v1.17.1") == 0,
                  "the backup before the upgrade: %s of %s", status_str(b, "phase"),
                  status_str(b, "karmadaVersion"));
        itest_log(
                "upgraded to v1.18.2 after KarmadaBackup up-pre-v1-18-2-g2 (of v1.17.1) completed");
        cJSON_Delete(b);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "up", NULL, NULL) == 0, "delete up");
        live_wait_deleted(ns, "up", 90);
}

/* The S3 server goes away after the first 5 MiB part of a snapshot (the database made larger
 * than that first): Failed, StorageFailed, and no object (the multipart upload never
 * completes; its parts are not an object). */
static void mid_upload(const char *prefix)
{
        struct kube_client *kk = live_karmada_client(ns, "bk", NULL);
        struct proxy px;
        char endpoint[64], p[400], *big = malloc(800u << 10);
        const char *colon = strrchr(s3.target.endpoint, ':');
        struct kube_status st;
        cJSON *b;

        IT_ASSERT(big && colon, "setup");
        memset(big, 'x', (800u << 10) - 1);
        big[(800u << 10) - 1] = '\0';
        for (int i = 0; i < 9; i++) { /* 7 MB more in etcd */
                cJSON *o = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(o, "metadata");
                char name[32];
                snprintf(name, sizeof(name), "big-%d", i);
                big[0] = (char)('a' + i); /* no two alike */
                cJSON_AddStringToObject(meta, "name", name);
                cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "data"), "blob", big);
                IT_ASSERT(kube_create(kk, &kube_configmaps, "default", o, NULL, NULL, &st) == 0,
                          "big ConfigMap: %s", st.message);
                cJSON_Delete(o);
        }
        free(big);
        kube_client_free(kk);
        proxy_start(&px, (int)strtol(colon + 1, NULL, 10), 6LL << 20, false);
        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", px.port);
        backup("mid-upload", "bk", prefix, endpoint, "s3", "key");
        expect_failed("mid-upload", "StorageFailed", "S3");
        IT_ASSERT(atomic_load(&px.down) && px.sent > (5LL << 20),
                  "the S3 server did not go away mid-upload (%lld bytes sent)", px.sent);
        pthread_join(px.thread, NULL);
        b = get_backup("mid-upload");
        itest_log("S3 gone after %lld bytes of the upload: %s", px.sent, status_str(b, "message"));
        cJSON_Delete(b);
        snprintf(p, sizeof(p), "%s/%s/bk/mid-upload-", prefix, ns);
        IT_ASSERT(count_objects(p) == 0, "%zu objects under %s after the failed upload",
                  count_objects(p), p);
}

/* The operator killed (SIGKILL) while a backup uploads (the S3 front holds the first part):
 * a new process ends it Failed, Interrupted, within a lease duration and a bound, having aborted
 * the multipart upload left behind; no object; the next backup completes. Uses slot 1. */
static void killed_mid_backup(const char *prefix)
{
        const char *colon = strrchr(s3.target.endpoint, ':');
        char endpoint[64], p[400];
        struct s3_error e = {0};
        struct proxy px;
        double t0;
        int left = -1;
        cJSON *b;

        proxy_start(&px, (int)strtol(colon + 1, NULL, 10), 6LL << 20, true);
        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", px.port);
        backup("killed", "bk", prefix, endpoint, "s3", "key");
        for (t0 = itest_now(); !atomic_load(&px.stalled); usleep(100 * 1000))
                IT_ASSERT(itest_now() - t0 < 60, "the upload never reached the front's hold");
        live_kill_operator(0);
        t0 = itest_now();
        atomic_store(&px.released, true); /* S3 answers again (through the front) */
        live_start_operator(1, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        expect_failed("killed", "Interrupted", "1 unfinished upload aborted");
        atomic_store(&px.down, true);
        shutdown(px.listen_fd, SHUT_RDWR);
        pthread_join(px.thread, NULL);
        b = get_backup("killed");
        itest_log("killed mid-upload (%lld bytes sent): Failed Interrupted %.1fs after the kill "
                  "(the lease, 6 s, expired first): %s",
                  px.sent, itest_now() - t0, status_str(b, "message"));
        IT_ASSERT(itest_now() - t0 < 45, "Interrupted only %.1fs after the kill", itest_now() - t0);
        cJSON_Delete(b);
        snprintf(p, sizeof(p), "%s/%s/bk/killed-", prefix, ns);
        IT_ASSERT(count_objects(p) == 0 && s3_abort_uploads(&s3, p, &left, &e) == 0 && left == 0,
                  "under %s after the kill: %zu objects, %d unfinished uploads (%s)", p,
                  count_objects(p), left, e.message);
        backup("after-kill", "bk", prefix, s3.target.endpoint, "s3", "key");
        b = wait_final("after-kill", 90);
        IT_ASSERT(strcmp(status_str(b, "phase"), "Completed") == 0, "the backup after the kill: %s",
                  status_str(b, "message"));
        cJSON_Delete(b);
        itest_log("no object and no unfinished upload left; the next backup Completed");
}

/* Ten scheduled backups through an S3 front that fails one part upload in five (503 SlowDown,
 * then a dropped connection): every one completes, the retries carry them. */
static void through_failing_front(void)
{
        struct faultproxy *f =
                faultproxy_start(&(struct faultproxy_options){.backend = s3.target.endpoint,
                                                              .method = "PUT",
                                                              .query = "partNumber=",
                                                              .every = 5});
        struct strbuf seen = {0};
        size_t n_seen = 0, completed = 0, failed;
        double t0 = itest_now();

        IT_ASSERT(f, "the failing front");
        live_create_object(
                &karmada_backupschedules, ns,
                "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":"
                "\"KarmadaBackupSchedule\",\"metadata\":{\"name\":\"flaky\"},\"spec\":{"
                "\"schedule\":\"@every 2s\",\"immediate\":true,\"template\":{\"spec\":{"
                "\"karmadaRef\":{\"name\":\"bk\"},\"s3\":{\"endpoint\":\"http://127.0.0.1:%d\","
                "\"bucket\":\"%s\",\"prefix\":\"flaky-%s\",\"forcePathStyle\":true,"
                "\"credentialsSecretRef\":{\"name\":\"s3\"}},\"encryptionKeySecretRef\":{"
                "\"name\":\"key\"}}}}}",
                faultproxy_port(f), s3.target.bucket, ns);
        while (completed < 10) {
                schedule_backups("flaky", &seen, &n_seen, &completed, &failed);
                IT_ASSERT(failed == 0, "%zu backups through the failing front failed", failed);
                IT_ASSERT(itest_now() - t0 < 120, "%zu of 10 backups Completed after 120s",
                          completed);
                usleep(200 * 1000);
        }
        /* with backups made, failed and scheduled: what the alerts and the dashboard read */
        live_monitoring_metrics(live_operator_metrics_port(0));
        IT_ASSERT(kube_delete(live_kc, &karmada_backupschedules, ns, "flaky", NULL, NULL) == 0,
                  "delete the schedule");
        IT_ASSERT(faultproxy_failed(f) >= 2, "the front failed %u part uploads",
                  faultproxy_failed(f));
        itest_log("10 of 10 scheduled backups Completed through a front that failed %u part "
                  "uploads of %u requests, in %.1fs",
                  faultproxy_failed(f), faultproxy_requests(f), itest_now() - t0);
        faultproxy_stop(f);
        strbuf_free(&seen);
}

int main(void)
{
        char cond[1200], prefix[300], down[64], metric[512];
        struct strbuf got = {0}, plain = {0}, seen = {0}, m = {0};
        struct s3_error e = {0};
        struct kube_status st;
        cJSON *b, *pki;
        size_t n_seen = 0, completed = 0, n;
        double t0;

        live_setup();
        itest_s3_client(&s3);
        ns = itest_unique_name("bk");
        live_make_ns(ns);
        live_lease_seconds(6); /* the killed operator (killed_mid_backup) is succeeded sooner */
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create_instance(ns, "bk", NULL);
        IT_ASSERT(RAND_bytes(bkey, sizeof(bkey)) == 1, "random key");
        live_s3_credentials(ns, "s3", s3.access_key, s3.secret_key);
        live_s3_credentials(ns, "s3-wrong", s3.access_key, "not-the-secret");
        {
                char *enc = NULL;
                IT_ASSERT(base64_encode(bkey, sizeof(bkey), &enc) == 0, "base64");
                live_create_object(&kube_secrets, ns,
                                   "{\"metadata\":{\"name\":\"key\"},\"data\":{\"key\":\"%s\"}}",
                                   enc);
                free(enc);
        }
        snprintf(prefix, sizeof(prefix), "t-%s", ns);
        snprintf(down, sizeof(down), "http://127.0.0.1:%d", itest_free_port());

        /* before the instance is Ready, a backup waits (Pending) */
        backup("one", "bk", prefix, s3.target.endpoint, "s3", "key");
        live_wait_condition(ns, "bk", "Ready", "True", 240);

        /* a backup completes: what its status says is what the bucket holds */
        b = wait_final("one", 90);
        succeeded(b, cond, sizeof(cond));
        IT_ASSERT(strcmp(status_str(b, "phase"), "Completed") == 0, "backup one: %s: %s",
                  status_str(b, "phase"), cond);
        itest_log("backup one: %s", status_str(b, "message"));
        {
                const cJSON *s = cJSON_GetObjectItem(b, "status");
                double size = cJSON_GetNumberValue(cJSON_GetObjectItem(s, "size"));
                char sha[SHA256_HEX_LEN];
                IT_ASSERT(strncmp(status_str(b, "etcdMember"), "bk-karmada-etcd-", 16) == 0 &&
                                  cJSON_GetNumberValue(cJSON_GetObjectItem(s, "etcdRevision")) >
                                          1 &&
                                  status_str(b, "startTime") && status_str(b, "stopTime") &&
                                  strcmp(status_str(b, "karmadaVersion"), "v1.18.2") == 0,
                          "status of one: %s", cJSON_PrintUnformatted(s));
                IT_ASSERT(s3_get(&s3, status_str(b, "objectKey"), 512u << 20, &got, &e) == 0,
                          "get %s: %s", status_str(b, "objectKey"), e.message);
                IT_ASSERT((double)got.len == size && got.len > 32, "size %zu, status %.0f", got.len,
                          size);
                IT_ASSERT(stream(false, aad_of(b, "snapshot"), got.buf, got.len, &plain) == 0,
                          "the snapshot does not open with the backup's key and aad");
                IT_ASSERT(plain.len > 32 && sha256_hex(plain.buf, plain.len - 32, sha) == 0 &&
                                  strcmp(sha, status_str(b, "sha256")) == 0,
                          "sha256 %s, status %s", sha, status_str(b, "sha256"));
                strbuf_reset(&plain);
                strbuf_reset(&got);
                IT_ASSERT(s3_get(&s3, status_str(b, "pkiObjectKey"), 16u << 20, &got, &e) == 0,
                          "get %s: %s", status_str(b, "pkiObjectKey"), e.message);
                IT_ASSERT(!memmem(got.buf, got.len, "PRIVATE KEY", 11) &&
                                  !memmem(got.buf, got.len, "etcd-cert", 9),
                          "the certificates are stored in the clear");
                IT_ASSERT(seal_open(bkey, aad_of(b, "pki"), got.buf, got.len, &plain) == 0,
                          "the certificates do not open with the backup's key");
                pki = cJSON_Parse(plain.buf);
                IT_ASSERT(pki && strstr(plain.buf, "\"bk-karmada-etcd-cert\"") &&
                                  strstr(plain.buf, "\"bk-karmada-cert\"") &&
                                  strstr(plain.buf, "\"etcd-client.key\""),
                          "the certificates hold: %.300s", plain.buf);
                itest_log("certificates: %d Secrets, %zu bytes sealed",
                          cJSON_GetArraySize(cJSON_GetObjectItem(pki, "secrets")), got.len);
                cJSON_Delete(pki);
                bkey[0] ^= 1;
                strbuf_reset(&plain);
                IT_ASSERT(seal_open(bkey, aad_of(b, "pki"), got.buf, got.len, &plain) == -EBADMSG,
                          "the certificates open with another key");
                bkey[0] ^= 1;
                strbuf_free(&plain);
                strbuf_free(&got);
        }
        /* its spec is immutable */
        IT_ASSERT(kube_patch(live_kc, &karmada_backups, ns, "one", KUBE_PATCH_MERGE,
                             "{\"spec\":{\"s3\":{\"prefix\":\"elsewhere\"}}}", NULL, NULL,
                             &st) == -EINVAL &&
                          strstr(st.message, "cannot change"),
                  "a spec change was not refused: %s", st.message);
        itest_log("spec change refused: %.160s", st.message);
        cJSON_Delete(b);

        /* failures: a precise reason, nothing left in the bucket */
        backup("no-karmada", "nope", prefix, s3.target.endpoint, "s3", "key");
        backup("wrong-secret", "bk", prefix, s3.target.endpoint, "s3-wrong", "key");
        backup("s3-down", "bk", prefix, down, "s3", "key");
        backup("no-key", "bk", prefix, s3.target.endpoint, "s3", "missing");
        expect_failed("no-karmada", "KarmadaNotFound", "spec.karmadaRef.name");
        expect_failed("wrong-secret", "StorageFailed", "SignatureDoesNotMatch");
        expect_failed("s3-down", "StorageFailed", "S3");
        expect_failed("no-key", "EncryptionKeyUnavailable", "spec.encryptionKeySecretRef.name");
        mid_upload(prefix);
        {
                char p[400];
                snprintf(p, sizeof(p), "%s/%s/bk/", prefix, ns);
                n = count_objects(p);
                IT_ASSERT(n == 2, "%zu objects under %s; want one backup's 2", n, p);
        }

        /* metrics */
        IT_ASSERT(itest_http_get(live_operator_metrics_port(0), "/metrics", &m) == 200, "scrape");
        snprintf(metric, sizeof(metric),
                 "karmada_operator_backups_total{namespace=\"%s\",karmada=\"bk\",result="
                 "\"completed\"} 1",
                 ns);
        IT_ASSERT(strstr(m.buf, metric), "no %s", metric);
        snprintf(metric, sizeof(metric),
                 "karmada_operator_backups_total{namespace=\"%s\",karmada=\"bk\",result="
                 "\"failed\"} 4",
                 ns);
        IT_ASSERT(strstr(m.buf, metric), "no %s", metric);
        snprintf(metric, sizeof(metric),
                 "karmada_operator_backup_last_success_timestamp_seconds{namespace=\"%s\","
                 "karmada=\"bk\"}",
                 ns);
        IT_ASSERT(strstr(m.buf, metric) && strstr(m.buf, "karmada_operator_backup_size_bytes{") &&
                          strstr(m.buf, "karmada_operator_backup_duration_seconds_count{result="
                                        "\"completed\"} 1"),
                  "backup metrics: %.2000s", m.buf);
        snprintf(metric, sizeof(metric),
                 "karmada_operator_karmada_status_condition{namespace=\"%s\",karmada=\"bk\","
                 "type=\"Ready\",status=\"True\",reason=\"Ready\"} 1",
                 ns);
        IT_ASSERT(strstr(m.buf, metric) &&
                          strstr(m.buf, "karmada_operator_certificate_renewal_timestamp_seconds{"),
                  "no %s, or no renewal times", metric);
        strbuf_free(&m);

        round_trip();
        corrupted("one");

        /* a schedule: every 2 s, keep the last 3 */
        snprintf(prefix, sizeof(prefix), "s-%s", ns);
        live_create_object(
                &karmada_backupschedules, ns,
                "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":"
                "\"KarmadaBackupSchedule\",\"metadata\":{\"name\":\"often\"},\"spec\":{"
                "\"schedule\":"
                "\"@every 2s\","
                "\"immediate\":true,\"retention\":{\"keepLast\":3},\"template\":{\"spec\":{"
                "\"karmadaRef\":{\"name\":\"bk\"},\"s3\":{\"endpoint\":\"%s\",\"bucket\":\"%s\","
                "\"prefix\":\"%s\",\"forcePathStyle\":true,\"credentialsSecretRef\":{\"name\":"
                "\"s3\"}},\"encryptionKeySecretRef\":{\"name\":\"key\"}}}}}",
                s3.target.endpoint, s3.target.bucket, prefix);
        t0 = itest_now();
        while (n_seen < 5) {
                n = schedule_backups("often", &seen, &n_seen, &completed, NULL);
                /* keepLast 3, one running, one just finished and not yet retained */
                IT_ASSERT(n <= 5, "%zu backups of the schedule at once", n);
                IT_ASSERT(itest_now() - t0 < 60, "%zu backups seen after 60s", n_seen);
                usleep(100 * 1000);
        }
        itest_log("5 scheduled backups in %.1fs", itest_now() - t0);
        {
                struct kube_status ps;
                IT_ASSERT(kube_patch(live_kc, &karmada_backupschedules, ns, "often",
                                     KUBE_PATCH_MERGE, "{\"spec\":{\"suspend\":true}}", NULL, NULL,
                                     &ps) == 0,
                          "suspend: %s", ps.message);
        }
        t0 = itest_now();
        for (;;) { /* settles: the last one finishes, retention runs */
                n = schedule_backups("often", &seen, &n_seen, &completed, NULL);
                if (n == 3 && completed == 3 && count_objects(prefix) == 6)
                        break;
                IT_ASSERT(itest_now() - t0 < 30,
                          "after suspending: %zu backups (%zu Completed), %zu objects", n,
                          completed, count_objects(prefix));
                usleep(200 * 1000);
        }
        sleep(3); /* suspended: nothing new */
        n = schedule_backups("often", &seen, &n_seen, &completed, NULL);
        IT_ASSERT(n == 3 && count_objects(prefix) == 6,
                  "%zu backups, %zu objects 3s after settling", n, count_objects(prefix));
        itest_log("%zu scheduled backups made, %zu kept, %zu objects in the bucket", n_seen, n,
                  count_objects(prefix));
        {
                cJSON *s = NULL;
                const cJSON *status;
                IT_ASSERT(kube_get(live_kc, &karmada_backupschedules, ns, "often", &s, NULL) == 0,
                          "get schedule");
                status = cJSON_GetObjectItem(s, "status");
                IT_ASSERT(
                        cJSON_GetStringValue(cJSON_GetObjectItem(status, "lastSuccessfulBackup")) &&
                                !cJSON_GetObjectItem(status, "nextScheduleTime"),
                        "schedule status: %s", cJSON_PrintUnformatted(status));
                cJSON_Delete(s);
        }
        strbuf_free(&seen);

        through_failing_front();
        killed_mid_backup(prefix);

        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bk", NULL, NULL) == 0, "delete bk");
        live_wait_deleted(ns, "bk", 90);
        pre_upgrade();
        live_teardown();
        itest_log("ok");
        return 0;
}
