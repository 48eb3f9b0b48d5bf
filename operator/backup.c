/* SPDX-License-Identifier: Apache-2.0 */
#include "backup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "karmada/conditions.h"
#include "karmada/desired.h"
#include "karmada/etcd_backup.h"
#include "karmada/names.h"
#include "karmada/retention.h"
#include "karmada/spec.h"
#include "runtime/log.h"
#include "util/base64.h"
#include "util/cron.h"
#include "util/duration.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/seal.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define SCHEDULE_LABEL "operator.karmada.io/schedule"
#define BY_SCHEDULE    "schedule" /* index of backups: "<namespace>/<schedule>" */
#define PENDING_MS     10000      /* how often a Pending backup looks at its instance again */

struct bctl {
        struct backup_controller_options o;
        struct kube_client *client;
        struct event_recorder *events;
        struct informer *backups, *schedules;
        struct controller *ctrl;
        struct metric_family *m_total, *m_last, *m_size, *m_duration;
};

/* ---- queue keys: "B<ns>/<name>" for backups, "S<ns>/<name>" for schedules ---- */

static void enqueue(struct bctl *bc, char kind, const char *ns, const char *name)
{
        char key[600];

        if (!ns || !name)
                return;
        snprintf(key, sizeof(key), "%c%s/%s", kind, ns, name);
        wq_add(controller_queue(bc->ctrl), key);
}

static void backup_event(void *userdata, struct kobj *o)
{
        const char *ns = json_str(o->json, "metadata", "namespace");

        enqueue(userdata, 'B', ns, json_str(o->json, "metadata", "name"));
        enqueue(userdata, 'S', ns,
                json_str(json_at(o->json, "metadata", "labels"), SCHEDULE_LABEL, NULL));
}

static void backup_update(void *userdata, struct kobj *old, struct kobj *new)
{
        (void)old;
        backup_event(userdata, new);
}

static void schedule_event(void *userdata, struct kobj *o)
{
        enqueue(userdata, 'S', json_str(o->json, "metadata", "namespace"),
                json_str(o->json, "metadata", "name"));
}

static void schedule_update(void *userdata, struct kobj *old, struct kobj *new)
{
        (void)old;
        schedule_event(userdata, new);
}

static void index_schedule(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx)
{
        const char *s = json_str(json_at(obj, "metadata", "labels"), SCHEDULE_LABEL, NULL);
        const char *ns = json_str(obj, "metadata", "namespace");
        char v[600];

        (void)arg;
        if (s && ns) {
                snprintf(v, sizeof(v), "%s/%s", ns, s);
                emit(ctx, v);
        }
}

/* ---- Secrets ---- */

/* The value of key in a Secret's data, decoded; *ret is NUL-terminated. Fills why on error. */
static int secret_value(struct bctl *bc, const char *ns, const char *name, const char *field,
                        const char *key, unsigned char **ret, size_t *len, char *why, size_t wlen)
{
        struct kube_status st;
        cJSON *s = NULL;
        const char *v;
        int r;

        r = kube_get(bc->client, &kube_secrets, ns, name, &s, &st);
        if (r == -ENOENT) {
                snprintf(why, wlen, "%s: no Secret \"%s\" in namespace %s", field, name, ns);
                return r;
        }
        if (r < 0) {
                snprintf(why, wlen, "%s: Secret \"%s\": %s", field, name, st.message);
                return r;
        }
        v = json_str(s, "data", key);
        *ret = (unsigned char *)ko_secret_value(s, key, len);
        r = *ret ? 0 : v ? -EINVAL : -ENOENT;
        if (r < 0)
                snprintf(why, wlen, "%s: Secret \"%s\" has no %skey %s", field, name,
                         v ? "valid " : "", key);
        cJSON_Delete(s);
        return r;
}

/* What a backup spec's s3 block and its Secret give: a client and the strings it points to. */
struct s3_conf {
        struct s3_client c;
        unsigned char *access, *secret, *ca;
        size_t ca_len;
};

static void s3_conf_free(struct s3_conf *s)
{
        free(s->access);
        if (s->secret)
                OPENSSL_cleanse(s->secret, strlen((char *)s->secret));
        free(s->secret);
        free(s->ca);
        *s = (struct s3_conf){0};
}

/* *reason and why name the field on failure */
static int s3_conf_get(struct bctl *bc, const char *ns, const cJSON *spec, struct s3_conf *s,
                       const char **reason, char *why, size_t wlen)
{
        const cJSON *s3 = json_at(spec, "s3", NULL);
        const char *cred = json_str(s3, "credentialsSecretRef", "name"),
                   *ca = json_str(s3, "caBundle", NULL);
        size_t len;
        int r;

        *s = (struct s3_conf){0};
        if (!json_str(s3, "endpoint", NULL) || !json_str(s3, "bucket", NULL) || !cred) {
                *reason = "InvalidSpec";
                snprintf(why, wlen,
                         "spec.s3: endpoint, bucket and credentialsSecretRef.name are "
                         "required");
                return -EINVAL;
        }
        s->c.target.endpoint = json_str(s3, "endpoint", NULL);
        s->c.target.bucket = json_str(s3, "bucket", NULL);
        s->c.target.region = json_str(s3, "region", NULL);
        s->c.target.path_style = cJSON_IsTrue(json_at(s3, "forcePathStyle", NULL));
        *reason = "CredentialsUnavailable";
        r = secret_value(bc, ns, cred, "spec.s3.credentialsSecretRef.name", "accessKeyID",
                         &s->access, &len, why, wlen);
        if (r >= 0)
                r = secret_value(bc, ns, cred, "spec.s3.credentialsSecretRef.name",
                                 "secretAccessKey", &s->secret, &len, why, wlen);
        if (r >= 0 && ca && base64_decode(ca, strlen(ca), &s->ca, &s->ca_len) < 0) {
                *reason = "InvalidSpec";
                snprintf(why, wlen, "spec.s3.caBundle: not base64");
                r = -EINVAL;
        }
        if (r < 0) {
                s3_conf_free(s);
                return r;
        }
        s->c.access_key = (char *)s->access;
        s->c.secret_key = (char *)s->secret;
        s->c.ca_pem = (char *)s->ca;
        s->c.ca_len = s->ca_len;
        return 0;
}

/* ---- one backup ---- */

struct result {
        const char *phase;  /* Pending, Completed or Failed */
        const char *reason; /* of the Succeeded condition */
        char message[1024];
        struct ko_snapshot snap;
        char member[512], key[1024], pki_key[1024], version[64];
        long long started; /* Unix seconds */
};

static void fail(struct result *res, const char *reason, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void fail(struct result *res, const char *reason, const char *fmt, ...)
{
        va_list ap;

        res->phase = "Failed";
        res->reason = reason;
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
}

/* A merge patch of the status (taking it); fields of the object's status that it lacks are
 * removed. */
static int patch_status(struct bctl *bc, const struct kube_resource *r, const cJSON *obj,
                        cJSON *status, struct kube_status *st)
{
        cJSON *patch = cJSON_CreateObject();
        const cJSON *f;
        char *body;
        int rc;

        cJSON_ArrayForEach(f, json_at(obj, "status", NULL)) if (!cJSON_GetObjectItemCaseSensitive(
                                                                        status, f->string))
                cJSON_AddNullToObject(status, f->string);
        cJSON_AddItemToObject(patch, "status", status);
        body = cJSON_PrintUnformatted(patch);
        cJSON_Delete(patch);
        if (!body)
                return -ENOMEM;
        rc = kube_patch(bc->client, r, json_str(obj, "metadata", "namespace"),
                        json_str(obj, "metadata", "name"), KUBE_PATCH_MERGE, body,
                        &(struct kube_write_options){.subresource = "status"}, NULL, st);
        free(body);
        return rc;
}

/* The first member that answers its status healthy: no errors, not a learner, a leader known. */
static int pick_member(const struct karmada *k, struct ko_etcd_member *m, char *url, size_t size,
                       struct result *res)
{
        char name[KO_NAME_MAX + 16];
        struct strbuf why = {0};
        int replicas = k->comp[KO_ETCD].replicas;

        ko_name(k->prefix, "etcd", name, sizeof(name));
        for (int i = 0; i < replicas; i++) {
                struct ko_etcd_status st;
                char err[512] = "";

                snprintf(url, size, "https://%s-%d.%s.%s.svc.%s:%d", name, i, name, k->namespace,
                         k->dns_domain, KO_ETCD_CLIENT_PORT);
                m->url = url;
                if (ko_etcd_status(m, &st, err, sizeof(err)) == 0 && !st.errors[0] && !st.learner &&
                    st.leader) {
                        snprintf(res->member, sizeof(res->member), "%s-%d", name, i);
                        strbuf_free(&why);
                        return 0;
                }
                strbuf_printf(&why, "%s%s-%d: %s", why.len ? "; " : "", name, i,
                              err[0]         ? err
                              : st.errors[0] ? st.errors
                              : st.learner   ? "a learner"
                                             : "no leader");
        }
        fail(res, "NoHealthyMember", "no etcd member is healthy: %s", why.buf ? why.buf : "none");
        strbuf_free(&why);
        return -EAGAIN;
}

/* The instance's Secrets (certificates, keys, kubeconfigs) as one JSON document, sealed. */
static int seal_pki(struct bctl *bc, const struct karmada *k, const unsigned char *key,
                    struct strbuf *out, char *why, size_t wlen)
{
        char selector[512];
        cJSON *list = NULL, *doc, *arr, *item;
        struct kube_status st;
        char *text;
        int r;

        snprintf(selector, sizeof(selector),
                 KO_LABEL_MANAGED_BY "=" KO_MANAGER "," KO_LABEL_INSTANCE "=%s", k->name);
        r = kube_list(bc->client, &kube_secrets, k->namespace,
                      &(struct kube_list_options){.label_selector = selector}, &list, &st);
        if (r < 0) {
                snprintf(why, wlen, "list the instance's Secrets: %s", st.message);
                return r;
        }
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "namespace", k->namespace);
        cJSON_AddStringToObject(doc, "karmada", k->name);
        arr = cJSON_AddArrayToObject(doc, "secrets");
        cJSON_ArrayForEach(item, json_at(list, "items", NULL))
        {
                cJSON *s = cJSON_CreateObject();
                cJSON_AddStringToObject(s, "name", json_str(item, "metadata", "name"));
                if (json_str(item, "type", NULL))
                        cJSON_AddStringToObject(s, "type", json_str(item, "type", NULL));
                cJSON_AddItemToObject(s, "data",
                                      cJSON_Duplicate(json_at(item, "data", NULL), true));
                cJSON_AddItemToArray(arr, s);
        }
        cJSON_Delete(list);
        text = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        if (!text)
                return -ENOMEM;
        r = seal(key, KO_BACKUP_PKI_AAD, text, strlen(text), out);
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        if (r < 0)
                snprintf(why, wlen, "encrypt: %s", strerror(-r));
        return r;
}

/* Running, from now: what a restarted operator finds if this process stops before the end */
static int mark_running(struct bctl *bc, const cJSON *b, struct result *res)
{
        cJSON *status = cJSON_CreateObject();
        char start[TIME_RFC3339_MAX];
        struct kube_status st;
        int r;

        time_format_rfc3339((time_t)res->started, start);
        cJSON_AddStringToObject(status, "phase", "Running");
        cJSON_AddStringToObject(status, "message", "taking a snapshot of etcd");
        cJSON_AddStringToObject(status, "startTime", start);
        cJSON_AddStringToObject(status, "karmadaVersion", res->version);
        r = patch_status(bc, &ko_karmadabackups, b, status, &st);
        if (r < 0) {
                res->phase = NULL; /* nothing done yet: again later */
                snprintf(res->message, sizeof(res->message), "write status: %s", st.message);
        }
        return r;
}

static void take(struct bctl *bc, const cJSON *b, struct result *res)
{
        const char *ns = json_str(b, "metadata", "namespace"),
                   *name = json_str(b, "metadata", "name");
        const char *uid = json_str(b, "metadata", "uid");
        const cJSON *spec = json_at(b, "spec", NULL);
        const char *kname = json_str(spec, "karmadaRef", "name");
        const char *keyref = json_str(spec, "encryptionKeySecretRef", "name");
        const char *keykey = json_str(spec, "encryptionKeySecretRef", "key");
        const char *prefix = json_str(spec, "s3", "prefix"), *reason;
        struct ko_etcd_member m = {0};
        struct karmada *k = NULL;
        struct ko_spec_error se;
        struct s3_conf s3 = {0};
        struct kube_status st;
        struct s3_error e = {0};
        struct strbuf sealed = {0};
        unsigned char *key = NULL, *ca = NULL, *cert = NULL, *pkey = NULL;
        size_t key_len = 0, ca_len, cert_len, pkey_len;
        cJSON *kobj = NULL;
        char why[1024] = "", secret[KO_NAME_MAX + 16], url[768], err[1024] = "";
        int r;

        if (!kname || !keyref) {
                fail(res, "InvalidSpec",
                     "spec.karmadaRef.name and spec.encryptionKeySecretRef.name are required");
                return;
        }
        r = kube_get(bc->client, &ko_karmadas, ns, kname, &kobj, &st);
        if (r == -ENOENT) {
                fail(res, "KarmadaNotFound",
                     "spec.karmadaRef.name: no Karmada \"%s\" in namespace %s", kname, ns);
                return;
        }
        if (r < 0) {
                res->phase = NULL; /* try again */
                snprintf(res->message, sizeof(res->message), "get Karmada %s: %s", kname,
                         st.message);
                return;
        }
        if (karmada_parse(kobj, &k, &se) < 0) {
                fail(res, "InvalidKarmada", "Karmada %s: %s", kname, se.message);
                goto out;
        }
        if (k->etcd_external) {
                fail(res, "ExternalEtcd",
                     "spec.karmadaRef.name: Karmada %s uses an external etcd, which the operator "
                     "does not run; back it up where it runs",
                     kname);
                goto out;
        }
        /* installed once (status.karmadaVersion is set when it first was Ready) and its etcd
         * ready: not Ready as a whole, which an upgrade waiting for this backup is not */
        if (!json_str(kobj, "status", "karmadaVersion") ||
            !ko_condition_is_true(json_at(kobj, "status", "conditions"), "EtcdReady")) {
                res->phase = "Pending";
                snprintf(res->message, sizeof(res->message),
                         "waiting for Karmada %s to be installed and its etcd ready", kname);
                goto out;
        }
        snprintf(res->version, sizeof(res->version), "%s",
                 json_str(kobj, "status", "karmadaVersion")
                         ? json_str(kobj, "status", "karmadaVersion")
                         : k->version);
        /* a missing or wrong Secret fails the backup; an API error only delays it */
        r = s3_conf_get(bc, ns, spec, &s3, &reason, why, sizeof(why));
        if (r >= 0) {
                reason = "EncryptionKeyUnavailable";
                r = secret_value(bc, ns, keyref, "spec.encryptionKeySecretRef.name",
                                 keykey ? keykey : "key", &key, &key_len, why, sizeof(why));
        }
        if (r == -ENOENT || r == -EINVAL) {
                fail(res, reason, "%s", why);
                goto out;
        }
        if (r < 0) {
                res->phase = NULL;
                snprintf(res->message, sizeof(res->message), "%s", why);
                goto out;
        }
        if (key_len != SEAL_KEY_LEN) {
                fail(res, "EncryptionKeyUnavailable",
                     "spec.encryptionKeySecretRef: key %s of Secret %s holds %zu bytes; an "
                     "AES-256 key is 32",
                     keykey ? keykey : "key", keyref, key_len);
                goto out;
        }
        ko_name(k->prefix, "etcd-cert", secret, sizeof(secret));
        if (secret_value(bc, ns, secret, "etcd client certificate", "etcd-ca.crt", &ca, &ca_len,
                         why, sizeof(why)) < 0 ||
            secret_value(bc, ns, secret, "etcd client certificate", "etcd-client.crt", &cert,
                         &cert_len, why, sizeof(why)) < 0 ||
            secret_value(bc, ns, secret, "etcd client certificate", "etcd-client.key", &pkey,
                         &pkey_len, why, sizeof(why)) < 0) {
                fail(res, "EtcdCertificateUnavailable", "%s", why);
                goto out;
        }
        m = (struct ko_etcd_member){.ca = (char *)ca,
                                    .ca_len = ca_len,
                                    .cert = (char *)cert,
                                    .cert_len = cert_len,
                                    .key = (char *)pkey,
                                    .key_len = pkey_len};
        if (mark_running(bc, b, res) < 0)
                goto out;
        if (pick_member(k, &m, url, sizeof(url), res) < 0)
                goto out;
        /* <prefix>/<namespace>/<karmada>/<backup>-<uid>/ */
        {
                char base[768];
                size_t pl = prefix ? strlen(prefix) : 0;
                snprintf(base, sizeof(base), "%.*s%s%s/%s/%s-%.8s/", (int)pl, prefix ? prefix : "",
                         pl && prefix[pl - 1] != '/' ? "/" : "", ns, kname, name, uid ? uid : "");
                snprintf(res->key, sizeof(res->key), "%setcd.db", base);
                snprintf(res->pki_key, sizeof(res->pki_key), "%spki.enc", base);
        }
        if (ko_etcd_snapshot_to_s3(&m, &s3.c, res->key, &res->snap, err, sizeof(err)) < 0) {
                fail(res, res->snap.s3_failed ? "StorageFailed" : "SnapshotFailed", "%s", err);
                res->key[0] = res->pki_key[0] = '\0';
                goto out;
        }
        if (seal_pki(bc, k, key, &sealed, why, sizeof(why)) < 0 ||
            s3_put(&s3.c, res->pki_key, sealed.buf, sealed.len, &e) < 0) {
                if (!why[0])
                        snprintf(why, sizeof(why), "S3: %s", e.message);
                /* no half backup: the snapshot goes too */
                if (s3_delete(&s3.c, res->key, &e) < 0)
                        log_warn("could not delete the snapshot of a failed backup", "key",
                                 res->key, "error", e.message);
                fail(res, "StorageFailed", "certificates: %s", why);
                res->key[0] = res->pki_key[0] = '\0';
                goto out;
        }
        res->phase = "Completed";
        res->reason = "Completed";
        snprintf(res->message, sizeof(res->message),
                 "snapshot of revision %lld (%llu bytes) from %s and the certificates in s3://%s/",
                 res->snap.revision, (unsigned long long)res->snap.size, res->member,
                 s3.c.target.bucket);
out:
        if (key)
                OPENSSL_cleanse(key, key_len);
        if (pkey)
                OPENSSL_cleanse(pkey, pkey_len);
        free(key);
        free(ca);
        free(cert);
        free(pkey);
        strbuf_free(&sealed);
        s3_conf_free(&s3);
        karmada_free(k);
        cJSON_Delete(kobj);
}

static bool terminal(const char *phase)
{
        return phase && (strcmp(phase, "Completed") == 0 || strcmp(phase, "Failed") == 0);
}

static void record(struct bctl *bc, const cJSON *b, const struct result *res, double seconds)
{
        const char *ns = json_str(b, "metadata", "namespace");
        const char *kname = json_str(json_at(b, "spec", "karmadaRef"), "name", NULL);
        const char *labels[] = {ns, kname ? kname : "", NULL};
        bool ok = strcmp(res->phase, "Completed") == 0;

        labels[2] = ok ? "completed" : "failed";
        metric_add(bc->m_total, labels, 1);
        metric_observe(bc->m_duration, labels + 2, seconds);
        if (ok) {
                metric_set(bc->m_last, labels, (double)time(NULL));
                metric_set(bc->m_size, labels, (double)res->snap.size);
        }
        events_record(bc->events, b, ok ? "Normal" : "Warning",
                      ok ? "BackupCompleted" : res->reason, "Backup", "%s", res->message);
        if (ok)
                log_info("backup completed", "namespace", ns, "backup",
                         json_str(b, "metadata", "name"), "key", res->key);
        else
                log_warn("backup failed", "namespace", ns, "backup",
                         json_str(b, "metadata", "name"), "reason", res->reason, "error",
                         res->message);
}

static void reconcile_backup(struct bctl *bc, const char *ns, const char *name,
                             struct reconcile_outcome *out)
{
        struct result res = {.started = (long long)time(NULL)};
        struct kube_status st;
        cJSON *b = NULL, *status, *conds;
        char now[TIME_RFC3339_MAX];
        const char *phase;
        double t0;
        int r;

        {
                char key[600];
                struct kobj *o;
                snprintf(key, sizeof(key), "%s/%s", ns, name);
                o = store_get(informer_store(bc->backups), key);
                phase = o ? json_str(o->json, "status", "phase") : NULL;
                r = o && !terminal(phase);
                kobj_unref(o);
                if (!r) /* gone, or done: nothing to do, nothing read */
                        return;
        }
        /* the cache may lag behind this process's own writes: read it */
        r = kube_get(bc->client, &ko_karmadabackups, ns, name, &b, &st);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "get: %s", st.message);
                return;
        }
        phase = json_str(b, "status", "phase");
        if (terminal(phase))
                goto done;
        status = cJSON_CreateObject();
        conds = cJSON_AddArrayToObject(status, "conditions");
        t0 = (double)time_mono_ms() / 1000;
        if (phase && strcmp(phase, "Running") == 0) {
                /* this process writes the end of each backup it runs before it looks again */
                fail(&res, "Interrupted",
                     "the operator stopped while this backup ran; no object was completed (an "
                     "unfinished multipart upload may stay until the bucket's lifecycle rules "
                     "remove it)");
        } else {
                take(bc, b, &res);
                if (!res.phase) { /* the API failed us: again later */
                        out->result = RECONCILE_ERROR;
                        snprintf(out->error, sizeof(out->error), "%s", res.message);
                        cJSON_Delete(status);
                        goto done;
                }
        }
        if (strcmp(res.phase, "Pending") == 0) {
                if (!phase) {
                        cJSON_AddStringToObject(status, "phase", "Pending");
                        cJSON_AddStringToObject(status, "message", res.message);
                        if (patch_status(bc, &ko_karmadabackups, b, status, &st) < 0)
                                log_warn("status of a pending backup", "backup", name, "error",
                                         st.message);
                } else {
                        cJSON_Delete(status);
                }
                out->result = RECONCILE_REQUEUE_AFTER;
                out->requeue_after_ms = PENDING_MS;
                goto done;
        }
        cJSON_AddStringToObject(status, "phase", res.phase);
        cJSON_AddStringToObject(status, "message", res.message);
        if (!json_at(b, "status", "startTime")) {
                char start[TIME_RFC3339_MAX];
                time_format_rfc3339((time_t)res.started, start);
                cJSON_AddStringToObject(status, "startTime", start);
        }
        time_now_rfc3339(now, 0);
        cJSON_AddStringToObject(status, "stopTime", now);
        if (res.member[0])
                cJSON_AddStringToObject(status, "etcdMember", res.member);
        if (res.version[0])
                cJSON_AddStringToObject(status, "karmadaVersion", res.version);
        if (strcmp(res.phase, "Completed") == 0) {
                cJSON_AddNumberToObject(status, "etcdRevision", (double)res.snap.revision);
                cJSON_AddNumberToObject(status, "size", (double)res.snap.size);
                cJSON_AddStringToObject(status, "sha256", res.snap.sha256);
                cJSON_AddStringToObject(status, "objectKey", res.key);
                cJSON_AddStringToObject(status, "pkiObjectKey", res.pki_key);
        }
        ko_condition_set(conds, "Succeeded",
                         strcmp(res.phase, "Completed") == 0 ? KO_TRUE : KO_FALSE, res.reason,
                         res.message,
                         (long long)cJSON_GetNumberValue(json_at(b, "metadata", "generation")));
        record(bc, b, &res, (double)time_mono_ms() / 1000 - t0);
        if (patch_status(bc, &ko_karmadabackups, b, status, &st) < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
        }
done:
        cJSON_Delete(b);
}

/* ---- schedules ---- */

/* Delete a finished backup: its objects in the bucket, then the KarmadaBackup. */
static int remove_backup(struct bctl *bc, const cJSON *b, char *why, size_t wlen)
{
        const char *ns = json_str(b, "metadata", "namespace"), *reason;
        const char *keys[] = {json_str(b, "status", "objectKey"),
                              json_str(b, "status", "pkiObjectKey")};
        struct s3_conf s3;
        struct s3_error e = {0};
        struct kube_status st;
        int r = 0;

        if (keys[0] || keys[1]) {
                r = s3_conf_get(bc, ns, json_at(b, "spec", NULL), &s3, &reason, why, wlen);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(keys) && r >= 0; i++)
                        if (keys[i] && (r = s3_delete(&s3.c, keys[i], &e)) < 0)
                                snprintf(why, wlen, "delete s3://%s/%s: %s", s3.c.target.bucket,
                                         keys[i], e.message);
                s3_conf_free(&s3);
                if (r < 0)
                        return r;
        }
        r = kube_delete(bc->client, &ko_karmadabackups, ns, json_str(b, "metadata", "name"), NULL,
                        &st);
        if (r < 0 && r != -ENOENT) {
                snprintf(why, wlen, "delete KarmadaBackup %s: %s", json_str(b, "metadata", "name"),
                         st.message);
                return r;
        }
        log_info("backup removed by retention", "namespace", ns, "backup",
                 json_str(b, "metadata", "name"));
        return 0;
}

/* Retention over the schedule's finished backups; fills the last successful one. */
static int retain(struct bctl *bc, const cJSON *sched, long long max_age_s, cJSON *status,
                  char *why, size_t wlen)
{
        char idx[600];
        struct kobj **list = NULL;
        struct ko_backup_item *items;
        size_t n = 0, m = 0;
        long long newest = -1;
        const cJSON *keep = json_at(json_at(sched, "spec", "retention"), "keepLast", NULL);
        int r = 0;

        snprintf(idx, sizeof(idx), "%s/%s", json_str(sched, "metadata", "namespace"),
                 json_str(sched, "metadata", "name"));
        if (store_by_index(informer_store(bc->backups), BY_SCHEDULE, idx, &list, &n) < 0)
                return -ENOMEM;
        items = calloc(n + 1, sizeof(*items));
        if (!items) {
                store_list_free(list, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const char *phase = json_str(list[i]->json, "status", "phase");
                time_t created;
                if (!terminal(phase) ||
                    time_parse_rfc3339(json_str(list[i]->json, "metadata", "creationTimestamp"),
                                       &created) < 0)
                        continue;
                items[m] = (struct ko_backup_item){
                        .name = list[i]->key,
                        .created = (long long)created,
                        .succeeded = strcmp(phase, "Completed") == 0,
                };
                if (items[m].succeeded && items[m].created >= newest) {
                        const char *stop = json_str(list[i]->json, "status", "stopTime");
                        newest = items[m].created;
                        cJSON_DeleteItemFromObjectCaseSensitive(status, "lastSuccessfulBackup");
                        cJSON_AddStringToObject(status, "lastSuccessfulBackup",
                                                json_str(list[i]->json, "metadata", "name"));
                        cJSON_DeleteItemFromObjectCaseSensitive(status, "lastSuccessfulTime");
                        if (stop)
                                cJSON_AddStringToObject(status, "lastSuccessfulTime", stop);
                }
                m++;
        }
        ko_retention_select(
                items, m,
                cJSON_IsNumber(keep) && keep->valuedouble > 0 ? (unsigned)keep->valuedouble : 0,
                max_age_s, (long long)time(NULL));
        for (size_t i = 0; i < m && r >= 0; i++) {
                if (!items[i].remove)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (list[j]->key == items[i].name)
                                r = remove_backup(bc, list[j]->json, why, wlen);
        }
        free(items);
        store_list_free(list, n);
        return r;
}

static void schedule_condition(cJSON *status, const cJSON *sched, bool ok, const char *reason,
                               const char *message)
{
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");

        if (!cJSON_IsArray(conds)) {
                cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
                conds = cJSON_AddArrayToObject(status, "conditions");
        }
        ko_condition_set(conds, "Ready", ok ? KO_TRUE : KO_FALSE, reason, message,
                         (long long)cJSON_GetNumberValue(json_at(sched, "metadata", "generation")));
}

static void set_time(cJSON *status, const char *field, time_t t)
{
        char buf[TIME_RFC3339_MAX];

        cJSON_DeleteItemFromObjectCaseSensitive(status, field);
        if (t < 0)
                return;
        time_format_rfc3339(t, buf);
        cJSON_AddStringToObject(status, field, buf);
}

/* A KarmadaBackup from the template, named after the time it was due. */
static int create_backup(struct bctl *bc, const cJSON *sched, time_t due, char *why, size_t wlen)
{
        const char *ns = json_str(sched, "metadata", "namespace");
        const char *sname = json_str(sched, "metadata", "name");
        const char *owner = json_str(sched, "spec", "backupOwnerReference");
        struct kube_status st;
        struct tm tm;
        char name[256];
        cJSON *b, *meta;
        int r;

        gmtime_r(&due, &tm);
        snprintf(name, sizeof(name), "%.48s-%04d%02d%02d%02d%02d%02d", sname, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "apiVersion", "operator.karmada.io/v1alpha1");
        cJSON_AddStringToObject(b, "kind", "KarmadaBackup");
        meta = cJSON_AddObjectToObject(b, "metadata");
        cJSON_AddStringToObject(meta, "name", name);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), SCHEDULE_LABEL, sname);
        if (!owner || strcmp(owner, "none") != 0) {
                cJSON *ref = cJSON_CreateObject();
                cJSON_AddStringToObject(ref, "apiVersion", "operator.karmada.io/v1alpha1");
                cJSON_AddStringToObject(ref, "kind", "KarmadaBackupSchedule");
                cJSON_AddStringToObject(ref, "name", sname);
                cJSON_AddStringToObject(ref, "uid", json_str(sched, "metadata", "uid"));
                cJSON_AddTrueToObject(ref, "controller");
                cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
        }
        cJSON_AddItemToObject(
                b, "spec",
                cJSON_Duplicate(json_at(json_at(sched, "spec", "template"), "spec", NULL), true));
        r = kube_create(bc->client, &ko_karmadabackups, ns, b, NULL, NULL, &st);
        cJSON_Delete(b);
        if (r == -EEXIST)
                return 0;
        if (r < 0)
                snprintf(why, wlen, "create KarmadaBackup %s: %s", name, st.message);
        else
                log_info("scheduled backup created", "namespace", ns, "schedule", sname, "backup",
                         name);
        return r;
}

static void reconcile_schedule(struct bctl *bc, const char *ns, const char *name,
                               struct reconcile_outcome *out)
{
        struct kobj *o;
        const cJSON *sched, *spec;
        const char *maxage;
        cJSON *status;
        struct cron cron;
        char key[600], err[512] = "", why[1024] = "";
        time_t now = time(NULL), created, last = -1, next = -1;
        long age_ms = 0;
        bool suspend;
        int r = 0;

        snprintf(key, sizeof(key), "%s/%s", ns, name);
        o = store_get(informer_store(bc->schedules), key);
        if (!o)
                return;
        sched = o->json;
        spec = json_at(sched, "spec", NULL);
        suspend = cJSON_IsTrue(json_at(spec, "suspend", NULL));
        maxage = json_str(spec, "retention", "maxAge");
        status = cJSON_Duplicate(json_at(sched, "status", NULL), true);
        if (!status)
                status = cJSON_CreateObject();
        cJSON_DeleteItemFromObjectCaseSensitive(status, "observedGeneration");
        cJSON_AddNumberToObject(status, "observedGeneration",
                                cJSON_GetNumberValue(json_at(sched, "metadata", "generation")));
        if (cron_parse(json_str(spec, "schedule", NULL), &cron, err, sizeof(err)) < 0) {
                snprintf(why, sizeof(why), "spec.schedule: %s", err);
                schedule_condition(status, sched, false, "InvalidSchedule", why);
                set_time(status, "nextScheduleTime", -1);
                goto write;
        }
        if (maxage && duration_parse_ms(maxage, &age_ms) < 0) {
                snprintf(why, sizeof(why), "spec.retention.maxAge: \"%s\" is not a duration",
                         maxage);
                schedule_condition(status, sched, false, "InvalidRetention", why);
                goto write;
        }
        if (time_parse_rfc3339(json_str(sched, "metadata", "creationTimestamp"), &created) < 0)
                created = now;
        if (time_parse_rfc3339(json_str(status, "lastScheduleTime", NULL), &last) < 0)
                last = -1;
        if (!suspend) {
                time_t due = -1;
                if (last < 0 && cJSON_IsTrue(json_at(spec, "immediate", NULL))) {
                        due = now;
                } else {
                        /* the newest time due (missed ones are not made up for) */
                        for (time_t t = cron_next(&cron, last >= 0 ? last : created);
                             t >= 0 && t <= now; t = cron_next(&cron, t))
                                due = t;
                }
                if (due >= 0) {
                        r = create_backup(bc, sched, due, why, sizeof(why));
                        if (r < 0) {
                                schedule_condition(status, sched, false, "BackupNotCreated", why);
                                goto write;
                        }
                        last = due;
                        set_time(status, "lastScheduleTime", last);
                }
                next = cron_next(&cron, last >= 0 ? last : created);
        }
        set_time(status, "nextScheduleTime", next);
        r = retain(bc, sched, age_ms / 1000, status, why, sizeof(why));
        if (r < 0)
                schedule_condition(status, sched, false, "RetentionFailed", why);
        else
                schedule_condition(status, sched, true, suspend ? "Suspended" : "Scheduled",
                                   suspend ? "no backups are taken while suspended"
                                           : "backups are taken on schedule");
write:
        if (!cJSON_Compare(status, json_at(sched, "status", NULL), true)) {
                struct kube_status st;
                cJSON *copy = cJSON_Duplicate(status, true);
                if (patch_status(bc, &ko_karmadabackupschedules, sched, copy, &st) < 0) {
                        out->result = RECONCILE_ERROR;
                        snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
                }
        }
        if (r < 0 && out->result != RECONCILE_ERROR) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "%s", why);
        } else if (out->result != RECONCILE_ERROR && next >= 0) {
                out->result = RECONCILE_REQUEUE_AFTER;
                out->requeue_after_ms = (long)(next > now ? next - now : 0) * 1000 + 100;
        }
        cJSON_Delete(status);
        kobj_unref(o);
}

/* ---- setup ---- */

static void reconcile(void *userdata, const char *key, struct reconcile_outcome *out)
{
        char ns[300], *slash;

        snprintf(ns, sizeof(ns), "%s", key + 1);
        slash = strchr(ns, '/');
        if (!slash)
                return;
        *slash = '\0';
        if (key[0] == 'B')
                reconcile_backup(userdata, ns, slash + 1, out);
        else
                reconcile_schedule(userdata, ns, slash + 1, out);
}

int backup_controller_setup(struct manager *m, const struct backup_controller_options *o)
{
        static const struct informer_handlers backup_handlers = {
                .on_add = backup_event, .on_update = backup_update, .on_delete = backup_event};
        static const struct informer_handlers schedule_handlers = {.on_add = schedule_event,
                                                                   .on_update = schedule_update};
        static const double buckets[] = {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
        static const char *const labels[] = {"namespace", "karmada", NULL};
        static const char *const total_labels[] = {"namespace", "karmada", "result", NULL};
        static const char *const result_label[] = {"result", NULL};
        struct metrics *mt = manager_metrics(m);
        struct bctl *bc = calloc(1, sizeof(*bc));
        int r;

        if (!bc || manager_add_cleanup(m, free, bc) < 0) {
                free(bc);
                return -ENOMEM;
        }
        bc->o = *o;
        bc->client = manager_client(m);
        bc->events = manager_events(m);
        bc->m_total = metrics_family(mt, METRIC_COUNTER, "karmada_operator_backups_total",
                                     "KarmadaBackups finished, by result (completed, failed).",
                                     total_labels, NULL, 0);
        bc->m_last = metrics_family(
                mt, METRIC_GAUGE, "karmada_operator_backup_last_success_timestamp_seconds",
                "When the last backup of an instance completed (Unix time).", labels, NULL, 0);
        bc->m_size = metrics_family(mt, METRIC_GAUGE, "karmada_operator_backup_size_bytes",
                                    "Size of the last completed snapshot of an instance.", labels,
                                    NULL, 0);
        bc->m_duration = metrics_family(
                mt, METRIC_HISTOGRAM, "karmada_operator_backup_duration_seconds",
                "How long backups took, by result.", result_label, buckets, ELEMENTSOF(buckets));
        if (!bc->m_total || !bc->m_last || !bc->m_size || !bc->m_duration)
                return -ENOMEM;
        r = controller_new(&(struct controller_options){.name = "karmadabackup",
                                                        .workers = o->workers,
                                                        .reconcile = reconcile,
                                                        .userdata = bc,
                                                        .metrics = mt},
                           &bc->ctrl);
        if (r < 0)
                return r;
        r = informer_new(&(struct informer_options){.client = bc->client,
                                                    .resource = &ko_karmadabackups,
                                                    .namespace = o->namespace,
                                                    .handlers = &backup_handlers,
                                                    .userdata = bc,
                                                    .name = "karmadabackups"},
                         &bc->backups);
        if (r >= 0)
                r = store_add_index(informer_store(bc->backups), BY_SCHEDULE, index_schedule, NULL);
        if (r >= 0)
                r = manager_add_informer(m, bc->backups);
        if (r >= 0)
                r = informer_new(&(struct informer_options){.client = bc->client,
                                                            .resource = &ko_karmadabackupschedules,
                                                            .namespace = o->namespace,
                                                            .handlers = &schedule_handlers,
                                                            .userdata = bc,
                                                            .name = "karmadabackupschedules"},
                                 &bc->schedules);
        if (r >= 0)
                r = manager_add_informer(m, bc->schedules);
        if (r < 0) {
                controller_free(bc->ctrl);
                return r;
        }
        return manager_add_controller(m, bc->ctrl);
}
