/* SPDX-License-Identifier: Apache-2.0 */
/* KarmadaBackup and KarmadaBackupSchedule against a real instance (etcd and Karmada API server
 * run by ko-plane from what the operator rendered) and a real S3 server (versitygw):
 *   - a backup completes: its snapshot in the bucket has the size and SHA-256 its status
 *     reports; the certificates beside it open only with the backup's key and hold the
 *     instance's Secrets; metrics count it;
 *   - failures end Failed with a precise reason and leave no object: an unknown karmadaRef,
 *     wrong S3 credentials, an S3 server that is not there, a missing encryption key;
 *   - the API server refuses a change to a backup's spec;
 *   - a schedule "@every 2s" with keepLast 3, after at least 5 backups, leaves exactly 3
 *     KarmadaBackups and their 3 snapshots (and certificate files) in the bucket. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "backup.h"
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

static void create(const struct kube_resource *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void create(const struct kube_resource *r, const char *fmt, ...)
{
        struct strbuf b = {0};
        struct kube_status st;
        va_list ap;
        cJSON *o;

        va_start(ap, fmt);
        strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        o = cJSON_Parse(b.buf);
        IT_ASSERT(o, "JSON: %s", b.buf);
        IT_ASSERT(kube_create(live_kc, r, ns, o, NULL, NULL, &st) == 0, "create: %s", st.message);
        cJSON_Delete(o);
        strbuf_free(&b);
}

/* a KarmadaBackup of `karmada` to the test bucket under `prefix`, with these Secrets */
static void backup(const char *name, const char *karmada, const char *prefix, const char *endpoint,
                   const char *creds, const char *key)
{
        create(&ko_karmadabackups,
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

        IT_ASSERT(kube_get(live_kc, &ko_karmadabackups, ns, name, &b, NULL) == 0, "get %s", name);
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
        cJSON_ArrayForEach(
                c,
                cJSON_GetObjectItem(
                        cJSON_GetObjectItem(b, "status"),
                        "conditions")) if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c,
                                                                                           "type")),
                                                  "Succeeded") == 0)
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
static void creds(const char *name, const char *access, const char *secret)
{
        char *e1 = NULL, *e2 = NULL;

        IT_ASSERT(base64_encode(access, strlen(access), &e1) == 0 &&
                          base64_encode(secret, strlen(secret), &e2) == 0,
                  "base64");
        create(&kube_secrets,
               "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"accessKeyID\":\"%s\","
               "\"secretAccessKey\":\"%s\"}}",
               name, e1, e2);
        free(e1);
        free(e2);
}

/* how many of the schedule's KarmadaBackups exist; names seen are added to `seen` */
static size_t schedule_backups(const char *schedule, struct strbuf *seen, size_t *n_seen,
                               size_t *completed)
{
        char sel[256];
        cJSON *list = NULL;
        const cJSON *b;
        size_t n = 0;

        snprintf(sel, sizeof(sel), "operator.karmada.io/schedule=%s", schedule);
        IT_ASSERT(kube_list(live_kc, &ko_karmadabackups, ns,
                            &(struct kube_list_options){.label_selector = sel}, &list, NULL) == 0,
                  "list backups");
        *completed = 0;
        cJSON_ArrayForEach(b, cJSON_GetObjectItem(list, "items"))
        {
                const char *name = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name"));
                char tagged[300];
                const char *phase = status_str(b, "phase");
                n++;
                if (phase && strcmp(phase, "Completed") == 0)
                        (*completed)++;
                snprintf(tagged, sizeof(tagged), "|%s|", name);
                if (!seen->buf || !strstr(seen->buf, tagged)) {
                        strbuf_printf(seen, "%s", tagged);
                        (*n_seen)++;
                }
        }
        cJSON_Delete(list);
        return n;
}

int main(void)
{
        unsigned char key[SEAL_KEY_LEN];
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
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"bk\"},\"spec\":{\"components\":{\"etcd\":{"
                        "\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}");
        IT_ASSERT(RAND_bytes(key, sizeof(key)) == 1, "random key");
        creds("s3", s3.access_key, s3.secret_key);
        creds("s3-wrong", s3.access_key, "not-the-secret");
        {
                char *enc = NULL;
                IT_ASSERT(base64_encode(key, sizeof(key), &enc) == 0, "base64");
                create(&kube_secrets, "{\"metadata\":{\"name\":\"key\"},\"data\":{\"key\":\"%s\"}}",
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
                IT_ASSERT(sha256_hex(got.buf, got.len - 32, sha) == 0 &&
                                  strcmp(sha, status_str(b, "sha256")) == 0,
                          "sha256 %s, status %s", sha, status_str(b, "sha256"));
                strbuf_reset(&got);
                IT_ASSERT(s3_get(&s3, status_str(b, "pkiObjectKey"), 16u << 20, &got, &e) == 0,
                          "get %s: %s", status_str(b, "pkiObjectKey"), e.message);
                IT_ASSERT(!memmem(got.buf, got.len, "PRIVATE KEY", 11) &&
                                  !memmem(got.buf, got.len, "etcd-cert", 9),
                          "the certificates are stored in the clear");
                IT_ASSERT(unseal(key, "karmada-operator backup pki v1", got.buf, got.len, &plain) ==
                                  0,
                          "the certificates do not open with the backup's key");
                pki = cJSON_Parse(plain.buf);
                IT_ASSERT(pki && strstr(plain.buf, "\"bk-karmada-etcd-cert\"") &&
                                  strstr(plain.buf, "\"bk-karmada-cert\"") &&
                                  strstr(plain.buf, "\"etcd-client.key\""),
                          "the certificates hold: %.300s", plain.buf);
                itest_log("certificates: %d Secrets, %zu bytes sealed",
                          cJSON_GetArraySize(cJSON_GetObjectItem(pki, "secrets")), got.len);
                cJSON_Delete(pki);
                key[0] ^= 1;
                strbuf_reset(&plain);
                IT_ASSERT(unseal(key, "karmada-operator backup pki v1", got.buf, got.len, &plain) ==
                                  -EBADMSG,
                          "the certificates open with another key");
                key[0] ^= 1;
                strbuf_free(&plain);
                strbuf_free(&got);
        }
        /* its spec is immutable */
        IT_ASSERT(kube_patch(live_kc, &ko_karmadabackups, ns, "one", KUBE_PATCH_MERGE,
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
                 "\"failed\"} 3",
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
        strbuf_free(&m);

        /* a schedule: every 2 s, keep the last 3 */
        snprintf(prefix, sizeof(prefix), "s-%s", ns);
        create(&ko_karmadabackupschedules,
               "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":"
               "\"KarmadaBackupSchedule\",\"metadata\":{\"name\":\"often\"},\"spec\":{\"schedule\":"
               "\"@every 2s\","
               "\"immediate\":true,\"retention\":{\"keepLast\":3},\"template\":{\"spec\":{"
               "\"karmadaRef\":{\"name\":\"bk\"},\"s3\":{\"endpoint\":\"%s\",\"bucket\":\"%s\","
               "\"prefix\":\"%s\",\"forcePathStyle\":true,\"credentialsSecretRef\":{\"name\":"
               "\"s3\"}},\"encryptionKeySecretRef\":{\"name\":\"key\"}}}}}",
               s3.target.endpoint, s3.target.bucket, prefix);
        t0 = itest_now();
        while (n_seen < 5) {
                n = schedule_backups("often", &seen, &n_seen, &completed);
                /* keepLast 3, one running, one just finished and not yet retained */
                IT_ASSERT(n <= 5, "%zu backups of the schedule at once", n);
                IT_ASSERT(itest_now() - t0 < 60, "%zu backups seen after 60s", n_seen);
                usleep(100 * 1000);
        }
        itest_log("5 scheduled backups in %.1fs", itest_now() - t0);
        {
                struct kube_status ps;
                IT_ASSERT(kube_patch(live_kc, &ko_karmadabackupschedules, ns, "often",
                                     KUBE_PATCH_MERGE, "{\"spec\":{\"suspend\":true}}", NULL, NULL,
                                     &ps) == 0,
                          "suspend: %s", ps.message);
        }
        t0 = itest_now();
        for (;;) { /* settles: the last one finishes, retention runs */
                n = schedule_backups("often", &seen, &n_seen, &completed);
                if (n == 3 && completed == 3 && count_objects(prefix) == 6)
                        break;
                IT_ASSERT(itest_now() - t0 < 30,
                          "after suspending: %zu backups (%zu Completed), %zu objects", n,
                          completed, count_objects(prefix));
                usleep(200 * 1000);
        }
        sleep(3); /* suspended: nothing new */
        n = schedule_backups("often", &seen, &n_seen, &completed);
        IT_ASSERT(n == 3 && count_objects(prefix) == 6,
                  "%zu backups, %zu objects 3s after settling", n, count_objects(prefix));
        itest_log("%zu scheduled backups made, %zu kept, %zu objects in the bucket", n_seen, n,
                  count_objects(prefix));
        {
                cJSON *s = NULL;
                const cJSON *status;
                IT_ASSERT(kube_get(live_kc, &ko_karmadabackupschedules, ns, "often", &s, NULL) == 0,
                          "get schedule");
                status = cJSON_GetObjectItem(s, "status");
                IT_ASSERT(
                        cJSON_GetStringValue(cJSON_GetObjectItem(status, "lastSuccessfulBackup")) &&
                                !cJSON_GetObjectItem(status, "nextScheduleTime"),
                        "schedule status: %s", cJSON_PrintUnformatted(status));
                cJSON_Delete(s);
        }
        strbuf_free(&seen);

        IT_ASSERT(kube_delete(live_kc, &ko_karmadas, ns, "bk", NULL, NULL) == 0, "delete bk");
        live_wait_deleted(ns, "bk", 90);
        live_teardown();
        itest_log("ok");
        return 0;
}
