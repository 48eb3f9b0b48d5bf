/* SPDX-License-Identifier: Apache-2.0 */
#include "backup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "backup_metrics.h"
#include "karmada/backup_spec.h"
#include "karmada/conditions.h"
#include "karmada/manifests.h"
#include "karmada/etcd_backup.h"
#include "karmada/host_secret.h"
#include "karmada/names.h"
#include "karmada/retention.h"
#include "karmada/spec.h"
#include "kube/portforward.h"
#include "reconciler.h"
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
        struct metric_family *m_total, *m_duration;
        struct backup_metrics metrics; /* read from the cache (backup_metrics.c) */
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
        const char *ns = json_str(kobj_json(o), "metadata", "namespace");

        enqueue(userdata, 'B', ns, json_str(kobj_json(o), "metadata", "name"));
        enqueue(userdata, 'S', ns,
                json_str(json_at(kobj_json(o), "metadata", "labels"), SCHEDULE_LABEL, NULL));
}

static void backup_update(void *userdata, struct kobj *old, struct kobj *new)
{
        (void)old;
        backup_event(userdata, new);
}

static void schedule_event(void *userdata, struct kobj *o)
{
        enqueue(userdata, 'S', json_str(kobj_json(o), "metadata", "namespace"),
                json_str(kobj_json(o), "metadata", "name"));
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
static int secret_value(struct kube_client *c, const char *ns, const char *name, const char *field,
                        const char *key, unsigned char **ret, size_t *len, char *why, size_t wlen)
{
        struct kube_status st;
        cJSON *s = NULL;
        const char *v;
        int r;

        r = kube_get(c, &kube_secrets, ns, name, &s, &st);
        if (r == -ENOENT) {
                snprintf(why, wlen, "%s: no Secret \"%s\" in namespace %s", field, name, ns);
                return r;
        }
        if (r < 0) {
                snprintf(why, wlen, "%s: Secret \"%s\": %s", field, name, st.message);
                return r;
        }
        v = json_str(s, "data", key);
        *ret = (unsigned char *)manifest_secret_value(s, key, len);
        r = *ret ? 0 : v ? -EINVAL : -ENOENT;
        if (r < 0)
                snprintf(why, wlen, "%s: Secret \"%s\" has no %skey %s", field, name,
                         v ? "valid " : "", key);
        cJSON_Delete(s);
        return r;
}

/* The secrets one backup holds in memory; secrets_wipe wipes and frees them all. */
struct secrets {
        struct s3_bucket s3;             /* the bucket's client, with its secret key */
        unsigned char *key;              /* the AES-256 key that seals the certificates */
        unsigned char *ca, *cert, *pkey; /* etcd's CA, a client certificate, its key */
        size_t key_len, ca_len, cert_len, pkey_len;
};

static void secrets_wipe(struct secrets *s)
{
        s3_location_close(&s->s3);
        if (s->key)
                OPENSSL_cleanse(s->key, s->key_len);
        if (s->pkey)
                OPENSSL_cleanse(s->pkey, s->pkey_len);
        free(s->key);
        free(s->ca);
        free(s->cert);
        free(s->pkey);
        *s = (struct secrets){0};
}

/* The client of a backup's bucket, its credentials read from their Secret; *reason and why name
 * the field on failure. */
static int s3_open(struct bctl *bc, const struct backup_spec *b, struct s3_bucket *s3,
                   const char **reason, char *why, size_t wlen)
{
        static const char field[] = "spec.s3.credentialsSecretRef.name";
        unsigned char *access = NULL, *secret = NULL;
        size_t len = 0;
        int r;

        *reason = "CredentialsUnavailable";
        r = secret_value(bc->client, b->namespace, b->s3.credentials, field, "accessKeyID", &access,
                         &len, why, wlen);
        if (r >= 0)
                r = secret_value(bc->client, b->namespace, b->s3.credentials, field,
                                 "secretAccessKey", &secret, &len, why, wlen);
        if (r >= 0) {
                r = s3_location_open(&b->s3, (char *)access, (char *)secret, s3, why, wlen);
                if (r == -EINVAL)
                        *reason = "InvalidSpec";
        }
        if (secret)
                OPENSSL_cleanse(secret, len);
        free(secret);
        free(access);
        return r;
}

/* ---- one backup ---- */

/* How one pass over a backup ends: on to the next phase (NONE), again later (an API error; the
 * backup is untouched), Pending (its instance is not ready), Failed or Completed. */
enum outcome { OUTCOME_NONE, OUTCOME_RETRY, OUTCOME_PENDING, OUTCOME_FAILED, OUTCOME_COMPLETED };

static const char *const phases[] = {
        [OUTCOME_PENDING] = "Pending",
        [OUTCOME_FAILED] = "Failed",
        [OUTCOME_COMPLETED] = "Completed",
};

struct result {
        enum outcome outcome;
        const char *reason; /* of the Succeeded condition */
        char message[1024];
        struct etcd_backup_snapshot snap;
        char member[512], key[1024], pki_key[1024], version[64];
        long long started; /* Unix seconds */
};

static void end(struct result *res, enum outcome o, const char *reason, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void end(struct result *res, enum outcome o, const char *reason, const char *fmt, ...)
{
        va_list ap;

        res->outcome = o;
        res->reason = reason;
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
}

#define fail(res, reason, ...) end(res, OUTCOME_FAILED, reason, __VA_ARGS__)
#define retry(res, ...)        end(res, OUTCOME_RETRY, NULL, __VA_ARGS__)

/* A merge patch of the status (taking it); fields of the object's status that it lacks are
 * removed. */
static int patch_status(struct bctl *bc, const struct kube_resource *r, const cJSON *obj,
                        cJSON *status, struct kube_status *st)
{
        cJSON *patch = cJSON_CreateObject();
        const cJSON *f;
        char *body;
        int rc;

        cJSON_ArrayForEach (f, json_at(obj, "status", NULL))
                if (!cJSON_GetObjectItemCaseSensitive(status, f->string))
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

/* Where the instance runs: the operator's cluster, or the one of its spec.hostCluster.secretRef
 * (its etcd then reached through port-forwards of that cluster's API server, as the member's
 * pod) */
struct host {
        struct kube_client *client; /* the operator's, or remote */
        struct kube_client *remote; /* this backup's own, or NULL */
        const char *ns;
        struct kube_port_forward_target member; /* the member being asked (remote) */
};

static int host_open(struct bctl *bc, const struct karmada *k, struct host *h, struct result *res)
{
        char key[320], why[1024] = "", server[256];
        char *b64 = NULL;
        int r;

        h->client = bc->client;
        h->ns = k->namespace;
        if (!k->host_secret_name)
                return 0;
        snprintf(key, sizeof(key), "%s/%s", k->host_secret_namespace, k->host_secret_name);
        r = host_secret_read(bc->client, k->host_secret_namespace, k->host_secret_name, &b64, why,
                             sizeof(why));
        if (r == 0) {
                r = host_secret_client(b64, key, &h->remote, server, sizeof(server), why,
                                       sizeof(why));
                free_secret(b64, strlen(b64));
        }
        if (r == -ENOENT || r == -EINVAL)
                fail(res, "HostClusterUnavailable", "Karmada %s: %s", k->name, why);
        else if (r < 0)
                retry(res, "Karmada %s: %s", k->name, why);
        if (r == 0)
                h->client = h->remote;
        return r < 0 ? -1 : 0;
}

/* The first member that answers its status healthy: no errors, not a learner, a leader known. */
static int pick_member(const struct karmada *k, struct host *h, struct etcd_backup_member *m,
                       char *url, size_t size, struct result *res)
{
        char name[KO_NAME_MAX + 16];
        struct strbuf why = {0};
        int replicas = k->comp[KO_ETCD].replicas;

        names_join(k->prefix, "etcd", name, sizeof(name));
        for (int i = 0; i < replicas; i++) {
                struct etcd_backup_status st;
                char err[512] = "";

                snprintf(url, size, "https://%s-%d.%s.%s.svc.%s:%d", name, i, name, k->namespace,
                         k->dns_domain, KO_ETCD_CLIENT_PORT);
                h->member = (struct kube_port_forward_target){
                        .client = h->remote, .ns = h->ns, .port = KO_ETCD_CLIENT_PORT};
                snprintf(h->member.pod, sizeof(h->member.pod), "%s-%d", name, i);
                m->url = url;
                m->dial = h->remote ? kube_port_forward_dial : NULL;
                m->hang_up = kube_port_forward_hang_up;
                m->dial_arg = &h->member;
                if (etcd_backup_status(m, &st, err, sizeof(err)) == 0 && !st.errors[0] &&
                    !st.learner && st.leader) {
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
static int seal_pki(struct kube_client *host, const struct karmada *k, const unsigned char *key,
                    const char *uid, struct strbuf *out, char *why, size_t wlen)
{
        char aad[256];
        char selector[512];
        cJSON *list = NULL, *doc, *arr, *item;
        struct kube_status st;
        char *text;
        int r;

        snprintf(selector, sizeof(selector), KO_INSTANCE_SELECTOR "%s", k->name);
        r = kube_list(host, &kube_secrets, k->namespace,
                      &(struct kube_list_options){.label_selector = selector}, &list, &st);
        if (r < 0) {
                snprintf(why, wlen, "list the instance's Secrets: %s", st.message);
                return r;
        }
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "namespace", k->namespace);
        cJSON_AddStringToObject(doc, "karmada", k->name);
        arr = cJSON_AddArrayToObject(doc, "secrets");
        cJSON_ArrayForEach (item, json_at(list, "items", NULL)) {
                cJSON *s = cJSON_CreateObject();
                cJSON_AddStringToObject(s, "name", json_str(item, "metadata", "name"));
                if (json_str(item, "type", NULL))
                        cJSON_AddStringToObject(s, "type", json_str(item, "type", NULL));
                cJSON_AddItemToObject(s, "data",
                                      cJSON_Duplicate(json_at(item, "data", NULL), true));
                cJSON_AddItemToArray(arr, s);
        }
        json_delete_secret(list); /* the Secrets' keys, in the clear */
        text = cJSON_PrintUnformatted(doc);
        json_delete_secret(doc);
        if (!text)
                return -ENOMEM;
        r = seal_box(key, backup_aad(uid, "pki", aad, sizeof(aad)), text, strlen(text), out);
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        if (r < 0)
                snprintf(why, wlen, "encrypt: %s", strerror(-r));
        return r;
}

/* kstatus (Flux, kpt, `kubectl wait`): a backup under way says Reconciling, a failed one
 * Stalled (it is never tried again); a completed one neither, so it is Current. */
static void kstatus_condition(cJSON *status, const cJSON *obj, const char *type, const char *reason,
                              const char *message)
{
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");

        if (!conds)
                conds = cJSON_AddArrayToObject(status, "conditions");
        condition_set(conds, type, KO_TRUE, reason, message,
                      (long long)cJSON_GetNumberValue(json_at(obj, "metadata", "generation")));
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
        kstatus_condition(status, b, "Reconciling", "Running", "taking a snapshot of etcd");
        r = patch_status(bc, &karmada_backups, b, status, &st);
        if (r < 0) /* nothing done yet: again later */
                retry(res, "write status: %s", st.message);
        return r;
}

/* The instance a backup is of: installed once (status.karmadaVersion is set when it first was
 * Ready) and its etcd ready, not Ready as a whole, which an upgrade waiting for this backup is
 * not. */
static int resolve_instance(struct bctl *bc, const struct backup_spec *b, struct karmada **ret,
                            struct result *res)
{
        struct karmada_spec_error se;
        struct kube_status st;
        struct karmada *k = NULL;
        cJSON *kobj = NULL;
        int r = kube_get(bc->client, &karmada_karmadas, b->namespace, b->karmada, &kobj, &st);
        const char *running = json_str(kobj, "status", "karmadaVersion");

        if (r == -ENOENT)
                fail(res, "KarmadaNotFound",
                     "spec.karmadaRef.name: no Karmada \"%s\" in namespace %s", b->karmada,
                     b->namespace);
        else if (r < 0)
                retry(res, "get Karmada %s: %s", b->karmada, st.message);
        else if (registry_parse(kobj, &k, &se) < 0)
                fail(res, "InvalidKarmada", "Karmada %s: %s", b->karmada, se.message);
        else if (k->etcd_external)
                fail(res, "ExternalEtcd",
                     "spec.karmadaRef.name: Karmada %s uses an external etcd, which the operator "
                     "does not run; back it up where it runs",
                     b->karmada);
        else if (!running || !condition_is_true(json_at(kobj, "status", "conditions"), "EtcdReady"))
                end(res, OUTCOME_PENDING, NULL,
                    "waiting for Karmada %s to be installed and its etcd ready", b->karmada);
        else
                snprintf(res->version, sizeof(res->version), "%s", running);
        cJSON_Delete(kobj);
        if (res->outcome != OUTCOME_NONE) {
                karmada_free(k);
                return -1;
        }
        *ret = k;
        return 0;
}

/* The bucket's client, the sealing key and etcd's client certificate. A missing or wrong Secret
 * fails the backup; an API error only delays it. */
static int load_secrets(struct bctl *bc, struct kube_client *host, const struct backup_spec *b,
                        const struct karmada *k, struct secrets *sec, struct result *res)
{
        static const char cert[] = "etcd client certificate";
        const char *reason;
        char why[1024] = "", name[KO_NAME_MAX + 16];
        int r = s3_open(bc, b, &sec->s3, &reason, why, sizeof(why));

        if (r >= 0) {
                reason = "EncryptionKeyUnavailable";
                r = secret_value(bc->client, b->namespace, b->key_secret,
                                 "spec.encryptionKeySecretRef.name", b->key_key, &sec->key,
                                 &sec->key_len, why, sizeof(why));
        }
        if (r == -ENOENT || r == -EINVAL)
                fail(res, reason, "%s", why);
        else if (r < 0)
                retry(res, "%s", why);
        else if (sec->key_len != SEAL_KEY_LEN)
                fail(res, "EncryptionKeyUnavailable",
                     "spec.encryptionKeySecretRef: key %s of Secret %s holds %zu bytes; an "
                     "AES-256 key is 32",
                     b->key_key, b->key_secret, sec->key_len);
        if (res->outcome != OUTCOME_NONE)
                return -1;
        names_join(k->prefix, "etcd-cert", name, sizeof(name));
        if (secret_value(host, b->namespace, name, cert, "etcd-ca.crt", &sec->ca, &sec->ca_len, why,
                         sizeof(why)) < 0 ||
            secret_value(host, b->namespace, name, cert, "etcd-client.crt", &sec->cert,
                         &sec->cert_len, why, sizeof(why)) < 0 ||
            secret_value(host, b->namespace, name, cert, "etcd-client.key", &sec->pkey,
                         &sec->pkey_len, why, sizeof(why)) < 0) {
                fail(res, "EtcdCertificateUnavailable", "%s", why);
                return -1;
        }
        return 0;
}

/* Where a backup's objects go: <prefix>/<namespace>/<karmada>/<backup>-<uid>/ */
static void object_keys(const struct backup_spec *b, struct result *res)
{
        const char *prefix = b->s3.prefix ? b->s3.prefix : "";
        size_t pl = strlen(prefix);
        char base[768];

        snprintf(base, sizeof(base), "%s%s%s/%s/%s-%.8s/", prefix,
                 pl && prefix[pl - 1] != '/' ? "/" : "", b->namespace, b->karmada, b->name,
                 b->uid ? b->uid : "");
        snprintf(res->key, sizeof(res->key), "%setcd.db", base);
        snprintf(res->pki_key, sizeof(res->pki_key), "%spki.enc", base);
}

/* The snapshot, then the sealed certificates; no half backup: a failure removes the snapshot. */
static void store(struct kube_client *host, const struct karmada *k, const char *uid,
                  struct secrets *sec, const struct etcd_backup_member *m, struct result *res)
{
        struct strbuf sealed = {0};
        struct s3_error e = {0};
        char why[1024] = "", aad[256];

        if (etcd_backup_snapshot_to_s3(m, &sec->s3.c, res->key, sec->key,
                                       backup_aad(uid, "snapshot", aad, sizeof(aad)), &res->snap,
                                       why, sizeof(why)) < 0) {
                fail(res, res->snap.s3_failed ? "StorageFailed" : "SnapshotFailed", "%s", why);
                res->key[0] = res->pki_key[0] = '\0';
                return;
        }
        if (seal_pki(host, k, sec->key, uid, &sealed, why, sizeof(why)) < 0 ||
            s3_put(&sec->s3.c, res->pki_key, sealed.buf, sealed.len, &e) < 0) {
                if (!why[0])
                        snprintf(why, sizeof(why), "S3: %s", e.message);
                if (s3_delete(&sec->s3.c, res->key, &e) < 0)
                        log_warn("could not delete the snapshot of a failed backup", "key",
                                 res->key, "error", e.message);
                fail(res, "StorageFailed", "certificates: %s", why);
                res->key[0] = res->pki_key[0] = '\0';
        } else {
                end(res, OUTCOME_COMPLETED, "Completed",
                    "snapshot of revision %lld (%llu bytes) from %s and the certificates in "
                    "s3://%s/",
                    res->snap.revision, (unsigned long long)res->snap.size, res->member,
                    sec->s3.c.target.bucket);
        }
        strbuf_free(&sealed);
}

/* One backup, phase by phase, until one of them ends it. */
static void take(struct bctl *bc, const struct backup_spec *b, const cJSON *obj, struct result *res)
{
        struct secrets sec = {0};
        struct etcd_backup_member m;
        struct karmada *k = NULL;
        struct host h = {0};
        char url[768];

        if (resolve_instance(bc, b, &k, res) == 0 && k && host_open(bc, k, &h, res) == 0 &&
            load_secrets(bc, h.client, b, k, &sec, res) == 0) {
                m = (struct etcd_backup_member){.ca = (char *)sec.ca,
                                                .ca_len = sec.ca_len,
                                                .cert = (char *)sec.cert,
                                                .cert_len = sec.cert_len,
                                                .key = (char *)sec.pkey,
                                                .key_len = sec.pkey_len};
                object_keys(b, res);
                if (mark_running(bc, obj, res) == 0 &&
                    pick_member(k, &h, &m, url, sizeof(url), res) == 0)
                        store(h.client, k, b->uid, &sec, &m, res);
        }
        secrets_wipe(&sec);
        kube_client_free(h.remote);
        karmada_free(k);
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
        bool ok = res->outcome == OUTCOME_COMPLETED;

        labels[2] = ok ? "completed" : "failed";
        metric_add(bc->m_total, labels, 1);
        metric_observe(bc->m_duration, labels + 2, seconds);
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

/* The status of a backup that ended (Failed or Completed), fields of the last one dropped. */
static cJSON *end_status(const cJSON *obj, const struct result *res)
{
        cJSON *status = cJSON_CreateObject();
        bool ok = res->outcome == OUTCOME_COMPLETED;
        char now[TIME_RFC3339_MAX];

        cJSON_AddStringToObject(status, "phase", phases[res->outcome]);
        cJSON_AddStringToObject(status, "message", res->message);
        if (!json_at(obj, "status", "startTime")) {
                char start[TIME_RFC3339_MAX];
                time_format_rfc3339((time_t)res->started, start);
                cJSON_AddStringToObject(status, "startTime", start);
        }
        time_now_rfc3339(now, 0);
        cJSON_AddStringToObject(status, "stopTime", now);
        if (res->member[0])
                cJSON_AddStringToObject(status, "etcdMember", res->member);
        if (res->version[0])
                cJSON_AddStringToObject(status, "karmadaVersion", res->version);
        if (ok) {
                cJSON_AddNumberToObject(status, "etcdRevision", (double)res->snap.revision);
                cJSON_AddNumberToObject(status, "size", (double)res->snap.size);
                cJSON_AddStringToObject(status, "sha256", res->snap.sha256);
                cJSON_AddStringToObject(status, "objectKey", res->key);
                cJSON_AddStringToObject(status, "pkiObjectKey", res->pki_key);
                cJSON_AddStringToObject(status, "format", KO_BACKUP_FORMAT);
        }
        condition_set(cJSON_AddArrayToObject(status, "conditions"), "Succeeded",
                      ok ? KO_TRUE : KO_FALSE, res->reason, res->message,
                      (long long)cJSON_GetNumberValue(json_at(obj, "metadata", "generation")));
        if (!ok)
                kstatus_condition(status, obj, "Stalled", res->reason, res->message);
        return status;
}

/* A backup the cache shows unfinished, read again (the cache may lag behind this process's own
 * writes): 0 with *ret and *b when it is to be worked on (*b NULL and res Failed when its spec
 * is invalid), else nothing to do (or an error). */
static int load_backup(struct bctl *bc, const char *ns, const char *name, cJSON **ret,
                       struct backup_spec **b, struct result *res, struct reconcile_outcome *out)
{
        struct karmada_spec_error se;
        struct kube_status st;
        char key[600];
        struct kobj *o;
        cJSON *obj = NULL;
        int r;

        snprintf(key, sizeof(key), "%s/%s", ns, name);
        o = store_get(informer_store(bc->backups), key);
        r = o && !terminal(json_str(kobj_json(o), "status", "phase"));
        kobj_unref(o);
        if (!r) /* gone, or done: nothing to do, nothing read */
                return -ENOENT;
        r = kube_get(bc->client, &karmada_backups, ns, name, &obj, &st);
        if (r < 0 && r != -ENOENT) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "get: %s", st.message);
        }
        if (r < 0 || terminal(json_str(obj, "status", "phase"))) {
                cJSON_Delete(obj);
                return -ENOENT;
        }
        *b = NULL;
        r = backup_spec_parse(obj, b, &se);
        if (r == -EINVAL) { /* it fails, saying which field */
                fail(res, "InvalidSpec", "%s", se.message);
        } else if (r < 0) {
                cJSON_Delete(obj);
                return r;
        }
        *ret = obj;
        return 0;
}

/* A backup a stopped process left Running: failed, and the multipart upload it left
 * unfinished aborted (best effort: else the bucket's lifecycle rules remove it) */
static void interrupted(struct bctl *bc, const struct backup_spec *b, struct result *res)
{
        struct s3_bucket s3 = {0};
        struct s3_error e = {0};
        const char *reason;
        char why[512] = "", *slash;
        int n = 0;

        object_keys(b, res);
        slash = strrchr(res->key, '/');
        if (slash)
                slash[1] = '\0'; /* the backup's own prefix */
        if (s3_open(bc, b, &s3, &reason, why, sizeof(why)) < 0 ||
            s3_abort_uploads(&s3.c, res->key, &n, &e) < 0)
                fail(res, "Interrupted",
                     "the operator stopped while this backup ran; no object was completed, and "
                     "its unfinished upload could not be aborted (%s): the bucket's lifecycle "
                     "rules must remove it",
                     why[0] ? why : e.message);
        else
                fail(res, "Interrupted",
                     "the operator stopped while this backup ran; no object was completed, %d "
                     "unfinished upload%s aborted",
                     n, n == 1 ? "" : "s");
        res->key[0] = res->pki_key[0] = '\0';
        s3_location_close(&s3);
}

static void reconcile_backup(struct bctl *bc, const char *ns, const char *name,
                             struct reconcile_outcome *out)
{
        struct result res = {.started = (long long)time(NULL)};
        struct backup_spec *b = NULL;
        struct kube_status st;
        cJSON *obj = NULL, *status;
        double t0 = (double)time_mono_ms() / 1000;

        if (load_backup(bc, ns, name, &obj, &b, &res, out) < 0)
                return;
        if (res.outcome == OUTCOME_NONE && b->phase && strcmp(b->phase, "Running") == 0)
                /* this process writes the end of each backup it runs before it looks again */
                interrupted(bc, b, &res);
        else if (res.outcome == OUTCOME_NONE)
                take(bc, b, obj, &res);
        if (res.outcome == OUTCOME_RETRY) { /* the API failed us: again later */
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "%s", res.message);
        } else if (res.outcome == OUTCOME_PENDING) {
                if (!b->phase) { /* said once */
                        status = cJSON_CreateObject();
                        cJSON_AddStringToObject(status, "phase", "Pending");
                        cJSON_AddStringToObject(status, "message", res.message);
                        kstatus_condition(status, obj, "Reconciling", "Pending", res.message);
                        if (patch_status(bc, &karmada_backups, obj, status, &st) < 0)
                                log_warn("status of a pending backup", "backup", name, "error",
                                         st.message);
                }
                out->result = RECONCILE_REQUEUE_AFTER;
                out->requeue_after_ms = PENDING_MS;
        } else {
                record(bc, obj, &res, (double)time_mono_ms() / 1000 - t0);
                if (patch_status(bc, &karmada_backups, obj, end_status(obj, &res), &st) < 0) {
                        out->result = RECONCILE_ERROR;
                        snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
                }
        }
        backup_spec_free(b);
        cJSON_Delete(obj);
}

/* ---- schedules ---- */

/* Delete a finished backup: its objects in the bucket, then the KarmadaBackup. */
/* Its objects in the bucket (a backup that has some has a valid spec). */
static int remove_objects(struct bctl *bc, const cJSON *obj, char *why, size_t wlen)
{
        struct karmada_spec_error se;
        struct backup_spec *b = NULL;
        struct s3_error e = {0};
        struct s3_bucket s3 = {0};
        const char *reason;
        int r = backup_spec_parse(obj, &b, &se);

        if (r < 0) {
                snprintf(why, wlen, "KarmadaBackup %s: %s", json_str(obj, "metadata", "name"),
                         r == -EINVAL ? se.message : strerror(-r));
                return r;
        }
        r = s3_open(bc, b, &s3, &reason, why, wlen);
        for (int i = 0; i < 2 && r >= 0; i++) {
                const char *key = i ? b->pki_object_key : b->object_key;
                if (key && (r = s3_delete(&s3.c, key, &e)) < 0)
                        snprintf(why, wlen, "delete s3://%s/%s: %s", b->s3.bucket, key, e.message);
        }
        s3_location_close(&s3);
        backup_spec_free(b);
        return r;
}

static int remove_backup(struct bctl *bc, const cJSON *obj, char *why, size_t wlen)
{
        const char *ns = json_str(obj, "metadata", "namespace");
        const char *name = json_str(obj, "metadata", "name");
        struct kube_status st;
        int r = 0;

        if (json_str(obj, "status", "objectKey") || json_str(obj, "status", "pkiObjectKey"))
                r = remove_objects(bc, obj, why, wlen);
        if (r < 0)
                return r;
        r = kube_delete(bc->client, &karmada_backups, ns, name, NULL, &st);
        if (r < 0 && r != -ENOENT) {
                snprintf(why, wlen, "delete KarmadaBackup %s: %s", name, st.message);
                return r;
        }
        log_info("backup removed by retention", "namespace", ns, "backup", name);
        return 0;
}

/* Retention over the schedule's finished backups; fills the last successful one. */
static int retain(struct bctl *bc, const cJSON *sched, long long max_age_s, cJSON *status,
                  char *why, size_t wlen)
{
        char idx[600];
        struct kobj **list = NULL;
        struct backup_spec_item *items;
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
                const char *phase = json_str(kobj_json(list[i]), "status", "phase");
                time_t created;
                if (!terminal(phase) || time_parse_rfc3339(json_str(kobj_json(list[i]), "metadata",
                                                                    "creationTimestamp"),
                                                           &created) < 0)
                        continue;
                items[m] = (struct backup_spec_item){
                        .name = list[i]->key,
                        .created = (long long)created,
                        .succeeded = strcmp(phase, "Completed") == 0,
                };
                if (items[m].succeeded && items[m].created >= newest) {
                        const char *stop = json_str(kobj_json(list[i]), "status", "stopTime");
                        newest = items[m].created;
                        cJSON_DeleteItemFromObjectCaseSensitive(status, "lastSuccessfulBackup");
                        cJSON_AddStringToObject(status, "lastSuccessfulBackup",
                                                json_str(kobj_json(list[i]), "metadata", "name"));
                        cJSON_DeleteItemFromObjectCaseSensitive(status, "lastSuccessfulTime");
                        if (stop)
                                cJSON_AddStringToObject(status, "lastSuccessfulTime", stop);
                }
                m++;
        }
        retention_select(items, m,
                         cJSON_IsNumber(keep) && keep->valuedouble > 0 ? (unsigned)keep->valuedouble
                                                                       : 0,
                         max_age_s, (long long)time(NULL));
        for (size_t i = 0; i < m && r >= 0; i++) {
                if (!items[i].remove)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (list[j]->key == items[i].name)
                                r = remove_backup(bc, kobj_json(list[j]), why, wlen);
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
        condition_set(conds, "Ready", ok ? KO_TRUE : KO_FALSE, reason, message,
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
        b = backup_spec_from_template(sched, name, NULL);
        if (!b)
                return -ENOMEM;
        meta = cJSON_GetObjectItemCaseSensitive(b, "metadata");
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
        r = kube_create(bc->client, &karmada_backups, ns, b, NULL, NULL, &st);
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

/* One pass over a schedule. */
struct sched_pass {
        const cJSON *sched, *spec;
        cJSON *status; /* the new status */
        struct cron cron;
        long age_ms; /* retention.maxAge */
        time_t now, next;
        char why[1024];
};

/* The schedule and the retention parse; else the status says which field, and why. */
static bool schedule_valid(struct sched_pass *sp)
{
        const char *maxage = json_str(sp->spec, "retention", "maxAge");
        char err[512] = "";

        if (cron_parse(json_str(sp->spec, "schedule", NULL), &sp->cron, err, sizeof(err)) < 0) {
                snprintf(sp->why, sizeof(sp->why), "spec.schedule: %s", err);
                schedule_condition(sp->status, sp->sched, false, "InvalidSchedule", sp->why);
                set_time(sp->status, "nextScheduleTime", -1);
                return false;
        }
        if (maxage && duration_parse_ms(maxage, &sp->age_ms) < 0) {
                snprintf(sp->why, sizeof(sp->why),
                         "spec.retention.maxAge: \"%s\" is not a duration", maxage);
                schedule_condition(sp->status, sp->sched, false, "InvalidRetention", sp->why);
                return false;
        }
        return true;
}

/* The backup due now, if one is (the newest time due: missed ones are not made up for), and
 * when the next one is. */
static int schedule_take(struct bctl *bc, struct sched_pass *sp)
{
        time_t created, last = -1, due = -1;
        int r;

        if (time_parse_rfc3339(json_str(sp->sched, "metadata", "creationTimestamp"), &created) < 0)
                created = sp->now;
        if (time_parse_rfc3339(json_str(sp->status, "lastScheduleTime", NULL), &last) < 0)
                last = -1;
        if (last < 0 && cJSON_IsTrue(json_at(sp->spec, "immediate", NULL)))
                due = sp->now;
        else
                for (time_t t = cron_next(&sp->cron, last >= 0 ? last : created);
                     t >= 0 && t <= sp->now; t = cron_next(&sp->cron, t))
                        due = t;
        if (due >= 0) {
                r = create_backup(bc, sp->sched, due, sp->why, sizeof(sp->why));
                if (r < 0) {
                        schedule_condition(sp->status, sp->sched, false, "BackupNotCreated",
                                           sp->why);
                        return r;
                }
                last = due;
                set_time(sp->status, "lastScheduleTime", last);
        }
        sp->next = cron_next(&sp->cron, last >= 0 ? last : created);
        return 0;
}

static int schedule_run(struct bctl *bc, struct sched_pass *sp)
{
        bool suspend = cJSON_IsTrue(json_at(sp->spec, "suspend", NULL));
        int r;

        if (!schedule_valid(sp))
                return 0;
        if (!suspend && (r = schedule_take(bc, sp)) < 0)
                return r;
        set_time(sp->status, "nextScheduleTime", sp->next);
        r = retain(bc, sp->sched, sp->age_ms / 1000, sp->status, sp->why, sizeof(sp->why));
        if (r < 0)
                schedule_condition(sp->status, sp->sched, false, "RetentionFailed", sp->why);
        else
                schedule_condition(sp->status, sp->sched, true, suspend ? "Suspended" : "Scheduled",
                                   suspend ? "no backups are taken while suspended"
                                           : "backups are taken on schedule");
        return r;
}

static void reconcile_schedule(struct bctl *bc, const char *ns, const char *name,
                               struct reconcile_outcome *out)
{
        struct sched_pass sp = {.now = time(NULL), .next = -1};
        struct kube_status st;
        char key[600];
        struct kobj *o;
        int r;

        snprintf(key, sizeof(key), "%s/%s", ns, name);
        o = store_get(informer_store(bc->schedules), key);
        if (!o)
                return;
        sp.sched = kobj_json(o);
        sp.spec = json_at(sp.sched, "spec", NULL);
        sp.status = cJSON_Duplicate(json_at(sp.sched, "status", NULL), true);
        if (!sp.status)
                sp.status = cJSON_CreateObject();
        cJSON_DeleteItemFromObjectCaseSensitive(sp.status, "observedGeneration");
        cJSON_AddNumberToObject(sp.status, "observedGeneration",
                                cJSON_GetNumberValue(json_at(sp.sched, "metadata", "generation")));
        r = schedule_run(bc, &sp);
        if (!cJSON_Compare(sp.status, json_at(sp.sched, "status", NULL), true) &&
            patch_status(bc, &karmada_backupschedules, sp.sched, cJSON_Duplicate(sp.status, true),
                         &st) < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
        } else if (r < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "%s", sp.why);
        } else if (sp.next >= 0) {
                out->result = RECONCILE_REQUEUE_AFTER;
                out->requeue_after_ms =
                        (long)(sp.next > sp.now ? sp.next - sp.now : 0) * 1000 + 100;
        }
        cJSON_Delete(sp.status);
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
        bc->m_duration = metrics_family(
                mt, METRIC_HISTOGRAM, "karmada_operator_backup_duration_seconds",
                "How long backups took, by result.", result_label, buckets, ELEMENTSOF(buckets));
        if (!bc->m_total || !bc->m_duration)
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
                                                    .resource = &karmada_backups,
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
                                                            .resource = &karmada_backupschedules,
                                                            .namespace = o->namespace,
                                                            .handlers = &schedule_handlers,
                                                            .userdata = bc,
                                                            .name = "karmadabackupschedules"},
                                 &bc->schedules);
        if (r >= 0)
                r = manager_add_informer(m, bc->schedules);
        if (r >= 0) {
                bc->metrics.backups = bc->backups;
                bc->metrics.schedules = bc->schedules;
                r = backup_metrics_setup(&bc->metrics, mt);
        }
        if (r < 0) {
                controller_free(bc->ctrl);
                return r;
        }
        return manager_add_controller(m, bc->ctrl);
}
