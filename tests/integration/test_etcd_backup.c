/* SPDX-License-Identifier: Apache-2.0 */
/* A snapshot of a real instance's etcd (run by ko-plane with the operator's certificates),
 * streamed over etcd's gateway with the instance's etcd client certificate into a multipart
 * upload to a real S3 server (versitygw): the object is a snapshot etcdutl accepts (its hash
 * checks), with the data written through the Karmada API server before; sealed as it streams,
 * none of that data is in the clear and it opens only with its key and aad. A wrong CA fails
 * before anything is uploaded; an S3 server that refuses the upload leaves no object. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/manifests.h"
#include "karmada/etcd_backup.h"
#include "karmada/etcd_restore.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/fileio.h"
#include "util/seal.h"
#include "util/strbuf.h"

static const char *etcdutl(void)
{
        static char path[1024];
        const char *cache = getenv("KARMADA_OPERATOR_CACHE"), *xdg = getenv("XDG_CACHE_HOME");

        if (cache && *cache)
                snprintf(path, sizeof(path), "%s/bin/etcdutl-%s", cache, KO_PIN_ETCD_VERSION);
        else if (xdg && *xdg)
                snprintf(path, sizeof(path), "%s/karmada-operator/bin/etcdutl-%s", xdg,
                         KO_PIN_ETCD_VERSION);
        else
                snprintf(path, sizeof(path), "%s/.cache/karmada-operator/bin/etcdutl-%s",
                         getenv("HOME"), KO_PIN_ETCD_VERSION);
        IT_ASSERT(access(path, X_OK) == 0, "%s (hack/build-bins.sh)", path);
        return path;
}

/* Sealed as it streams: none of the data in the clear; it opens with the key and the aad it
 * is bound to (the database's hash checked), and with no other aad. */
static void sealed(const struct etcd_backup_member *m, const struct s3_client *s3, const char *ns)
{
        unsigned char key[SEAL_KEY_LEN];
        struct etcd_backup_snapshot snap = {0};
        struct strbuf name = {0}, got = {0};
        struct s3_error e = {0};
        char err[1024] = "";
        long long size = 0;

        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (unsigned char)(i * 7 + 1);
        strbuf_printf(&name, "snapshots/%s/bk.sealed", ns);
        IT_ASSERT(etcd_backup_snapshot_to_s3(m, s3, name.buf, key, "uid-1 snapshot", &snap, err,
                                             sizeof(err)) == 0,
                  "sealed snapshot: %s", err);
        IT_ASSERT(s3_get(s3, name.buf, 512u << 20, &got, &e) == 0 && got.len == snap.size,
                  "get: %s", e.message);
        IT_ASSERT(seal_stream_is(got.buf, got.len) &&
                          !memmem(got.buf, got.len, "before-backup-", 14),
                  "the sealed snapshot shows its data");
        IT_ASSERT(etcd_restore_fetch(s3, name.buf, key, "uid-1 snapshot", snap.sha256, NULL, &size,
                                     err, sizeof(err)) == 0,
                  "open the sealed snapshot: %s", err);
        IT_ASSERT(etcd_restore_fetch(s3, name.buf, key, "uid-2 snapshot", snap.sha256, NULL, NULL,
                                     err, sizeof(err)) == -EBADMSG,
                  "a sealed snapshot opened with another backup's aad");
        IT_ASSERT(etcd_restore_fetch(s3, name.buf, NULL, NULL, snap.sha256, NULL, NULL, err,
                                     sizeof(err)) == -EBADMSG,
                  "a sealed snapshot read as a plain one");
        itest_log("sealed snapshot: %llu bytes stored for %lld of database and hash, none of it "
                  "in the clear; opened and checked; refused under another backup's aad",
                  (unsigned long long)snap.size, size);
        IT_ASSERT(s3_delete(s3, name.buf, &e) == 0, "delete: %s", e.message);
        strbuf_free(&got);
        strbuf_free(&name);
}

int main(void)
{
        const char *ns = NULL;
        struct kube_client *kk;
        struct etcd_backup_member m = {0};
        struct etcd_backup_status st;
        struct etcd_backup_snapshot snap = {0};
        struct s3_client s3, bad;
        struct s3_object *objs = NULL;
        struct s3_error e = {0};
        struct strbuf got = {0}, key = {0};
        char err[1024] = "", file[256], log[256];
        char *text = NULL;
        cJSON *o;
        size_t n = 0, len;
        double t0;
        int fd;

        live_setup();
        itest_s3_client(&s3);
        ns = itest_unique_name("backup");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create_instance(ns, "bk", NULL);
        live_wait_condition(ns, "bk", "Ready", "True", 240);

        /* data to find in the snapshot */
        kk = live_karmada_client(ns, "bk", NULL);
        for (int i = 0; i < 60; i++) {
                char body[200];
                struct kube_status ks;
                snprintf(body, sizeof(body),
                         "{\"metadata\":{\"name\":\"before-backup-%d\"},\"data\":{\"i\":\"%d\"}}",
                         i, i);
                o = cJSON_Parse(body);
                IT_ASSERT(kube_create(kk, &kube_configmaps, "default", o, NULL, NULL, &ks) == 0,
                          "ConfigMap: %s", ks.message);
                cJSON_Delete(o);
        }
        kube_client_free(kk);

        /* the member, as the operator will reach it: the client Service, the etcd client
         * certificate from the instance's Secret, in memory */
        live_etcd_member(ns, "bk", &m);
        IT_ASSERT(etcd_backup_status(&m, &st, err, sizeof(err)) == 0, "status: %s", err);
        IT_ASSERT(st.revision > 60 && st.leader && !st.learner && !st.errors[0],
                  "status: revision %lld leader %llx learner %d errors %s", st.revision, st.leader,
                  st.learner, st.errors);
        itest_log("etcd %s: revision %lld, db %lld bytes, leader %llx", st.version, st.revision,
                  st.db_size, st.leader);

        strbuf_printf(&key, "snapshots/%s/bk.db", ns);
        t0 = itest_now();
        IT_ASSERT(etcd_backup_snapshot_to_s3(&m, &s3, key.buf, NULL, NULL, &snap, err,
                                             sizeof(err)) == 0,
                  "snapshot: %s", err);
        itest_log("snapshot of revision %lld: %llu bytes, sha256 %.16s..., uploaded in %.2fs",
                  snap.revision, (unsigned long long)snap.size, snap.sha256, itest_now() - t0);
        IT_ASSERT(s3_list(&s3, key.buf, &objs, &n, &e) == 0 && n == 1 &&
                          objs[0].size == (long long)snap.size,
                  "the object: %zu listed, %lld bytes, %s", n, n ? objs[0].size : -1, e.message);
        s3_objects_free(objs, n);

        /* etcdutl accepts it (it checks the hash at the end) and finds the data */
        IT_ASSERT(s3_get(&s3, key.buf, 512u << 20, &got, &e) == 0 && got.len == snap.size,
                  "get: %s", e.message);
        IT_ASSERT(memmem(got.buf, got.len, "before-backup-", 14), "no data in the clear snapshot");
        snprintf(file, sizeof(file), "/tmp/ko-backup-%d.db", (int)getpid());
        fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        IT_ASSERT(fd >= 0 && write(fd, got.buf, got.len) == (ssize_t)got.len && close(fd) == 0,
                  "write %s", file);
        strbuf_free(&got);
        snprintf(log, sizeof(log), "/tmp/ko-backup-%d.status", (int)getpid());
        {
                char *argv[] = {(char *)etcdutl(), "snapshot", "status", file, "-w", "json", NULL};
                IT_ASSERT(itest_wait_exit(itest_spawn(argv, log, NULL), 60) == 0,
                          "etcdutl snapshot status");
        }
        IT_ASSERT(fileio_read(log, 1u << 20, &text, &len) == 0, "read %s", log);
        o = cJSON_Parse(strchr(text, '{') ? strchr(text, '{') : text);
        IT_ASSERT(o && cJSON_GetObjectItem(o, "revision")->valuedouble >= (double)snap.revision &&
                          cJSON_GetObjectItem(o, "totalKey")->valuedouble > 60,
                  "etcdutl snapshot status: %s", text);
        itest_log("etcdutl snapshot status: revision %.0f, %.0f keys",
                  cJSON_GetObjectItem(o, "revision")->valuedouble,
                  cJSON_GetObjectItem(o, "totalKey")->valuedouble);
        cJSON_Delete(o);
        free(text);
        unlink(file);
        unlink(log);

        sealed(&m, &s3, ns);

        /* a CA that is not etcd's: refused before anything is uploaded */
        {
                struct etcd_backup_member wrong = m;
                wrong.ca = m.cert; /* a certificate, but not the one that signed etcd's */
                wrong.ca_len = m.cert_len;
                IT_ASSERT(etcd_backup_snapshot_to_s3(&wrong, &s3, "snapshots/wrong-ca.db", NULL,
                                                     NULL, &snap, err, sizeof(err)) < 0,
                          "a wrong CA was accepted");
                itest_log("wrong CA refused: %.120s", err);
                n = 0;
                IT_ASSERT(s3_list(&s3, "snapshots/wrong-ca", &objs, &n, &e) == 0 && n == 0,
                          "an object after a refused snapshot");
                s3_objects_free(objs, n);
        }
        /* S3 refuses the upload: nothing stays */
        bad = s3;
        bad.secret_key = "not-the-secret";
        IT_ASSERT(etcd_backup_snapshot_to_s3(&m, &bad, "snapshots/refused.db", NULL, NULL, &snap,
                                             err, sizeof(err)) < 0 &&
                          strstr(err, "S3"),
                  "an upload with a wrong secret: %s", err);
        n = 0;
        IT_ASSERT(s3_list(&s3, "snapshots/refused", &objs, &n, &e) == 0 && n == 0,
                  "an object after a refused upload");
        s3_objects_free(objs, n);
        itest_log("S3 refused: \"%.120s\"; nothing left", err);

        IT_ASSERT(s3_delete(&s3, key.buf, &e) == 0, "delete: %s", e.message);
        strbuf_free(&key);
        live_etcd_member_free(&m);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "bk", NULL, NULL) == 0, "delete bk");
        live_wait_deleted(ns, "bk", 90);
        live_teardown();
        itest_log("ok");
        return 0;
}
