/* SPDX-License-Identifier: Apache-2.0 */
/* A new instance from a backup (spec.restore). Before anything else runs:
 *   - the backup's location is copied into a Secret of the instance (<prefix>-restore: the
 *     object keys, the SHA-256, the bucket, its credentials and the backup's encryption key),
 *     so that the etcd members' init container can always be rendered, even after the
 *     KarmadaBackup is gone;
 *   - the snapshot is read once and its SHA-256 checked against the backup's: a corrupted or
 *     replaced snapshot stops the restore here, before etcd or anything else starts;
 *   - the certificate authorities and keys stored with the backup are unsealed and written as
 *     the instance's certificate Secrets and its encryption keys (renamed for this instance);
 *     the pki step then keeps the CAs and issues the certificates that must name this
 *     instance's hosts, and the API server reads the restored Secrets with those keys.
 * The etcd step comes after this one and gives each member an init container (this operator's
 * image, `karmada-operator etcd-restore`) that restores the data directory when it is empty. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common.h"
#include "karmada/restore_source.h"
#include "karmada/etcd_restore.h"
#include "karmada/names.h"
#include "util/json.h"
#include "util/seal.h"
#include "util/strbuf.h"

static bool restore_enabled(const struct karmada *k)
{
        return k->restore_backup != NULL;
}

static int restore_contribute(const struct karmada *k, struct desired *d)
{
        struct restore_source s;
        char name[KO_NAME_MAX + 16], *doc;
        int r;

        if (restore_source(k, d, &s) < 0)
                return 0; /* waiting, said why */
        doc = cJSON_PrintUnformatted(s.doc);
        common_obj_name(k, "restore", name, sizeof(name));
        r = doc ? desired_add(
                          d, &kube_secrets,
                          manifest_secret(k, name,
                                          (const char *const[]){"source.json", "accessKeyID",
                                                                "secretAccessKey", "encryptionKey"},
                                          (const char *const[]){doc, s.access_key, s.secret_key,
                                                                s.seal_key},
                                          (const size_t[]){strlen(doc), strlen(s.access_key),
                                                           strlen(s.secret_key),
                                                           s.seal_key ? strlen(s.seal_key) : 0},
                                          s.seal_key ? 4 : 3),
                          false)
                : -ENOMEM;
        free(doc);
        restore_source_free(&s);
        return r;
}

static int say(struct step_result *ret, const char *reason, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int say(struct step_result *ret, const char *reason, int r, const char *fmt, ...)
{
        va_list ap;

        snprintf(ret->reason, sizeof(ret->reason), "%s", reason);
        va_start(ap, fmt);
        vsnprintf(ret->message, sizeof(ret->message), fmt, ap);
        va_end(ap);
        return r;
}

/* The sealing key of the backup: kept with the source, else from the Secret the backup's spec
 * names (wiped by the caller). */
static int sealing_key(struct reconcile_ctx *ctx, const struct restore_source *s,
                       unsigned char **key, size_t *len, struct step_result *ret)
{
        const struct karmada *k = ctx->k;
        const cJSON *obj = desired_observed(ctx->d, &karmada_backups, k->namespace, s->backup);
        struct backup_spec *b = NULL;
        struct kube_status st = {0};
        cJSON *ks = NULL;
        int r;

        if (seal_key_decode(s->seal_key, key) == 0) {
                *len = SEAL_KEY_LEN;
                return 0;
        }
        if (!obj || backup_spec_parse(obj, &b, NULL) < 0)
                return say(ret, "BackupUnavailable", -ENOENT,
                           "KarmadaBackup %s (its encryption key) is needed for the certificates",
                           s->backup);
        r = kube_get(ctx->host, &kube_secrets, k->namespace, b->key_secret, &ks, &st);
        *key = r >= 0 ? (unsigned char *)manifest_secret_value(ks, b->key_key, len) : NULL;
        if (!*key || *len != SEAL_KEY_LEN)
                r = say(ret, "EncryptionKeyUnavailable", -EINVAL,
                        "the encryption key of KarmadaBackup %s (Secret %s) is %s", s->backup,
                        b->key_secret, r < 0 ? st.message : "not 32 bytes");
        cJSON_Delete(ks);
        backup_spec_free(b);
        return r < 0 ? r : 0;
}

/* The instance's Secrets as the backup sealed them (a document the caller frees). */
static int open_pki(struct reconcile_ctx *ctx, const struct restore_source *s,
                    const struct s3_client *c, cJSON **ret_doc, struct step_result *ret)
{
        struct strbuf sealed = {0}, plain = {0};
        struct s3_error e = {0};
        char aad[256];
        unsigned char *key = NULL;
        size_t key_len = 0;
        int r = sealing_key(ctx, s, &key, &key_len, ret);

        if (r >= 0 && (r = s3_get(c, s->pki_key, 64u << 20, &sealed, &e)) < 0)
                say(ret, "SnapshotUnavailable", r, "S3: get %s: %s", s->pki_key, e.message);
        if (r >= 0) {
                r = seal_open(key,
                              s->format ? backup_aad(s->uid, "pki", aad, sizeof(aad))
                                        : KO_BACKUP_PKI_AAD,
                              sealed.buf, sealed.len, &plain);
                *ret_doc = r == 0 ? cJSON_Parse(plain.buf) : NULL;
                if (!*ret_doc)
                        r = say(ret, "CertificatesCorrupted", -EBADMSG,
                                "%s does not open with the backup's encryption key (altered, or "
                                "another key)",
                                s->pki_key);
        }
        if (key)
                OPENSSL_cleanse(key, key_len);
        free(key);
        if (plain.buf)
                OPENSSL_cleanse(plain.buf, plain.len);
        strbuf_free(&plain);
        strbuf_free(&sealed);
        return r;
}

/* The instance's certificate Secrets from the sealed file of the backup, renamed from the
 * backed-up instance's prefix to this one's; those that exist are left alone. Returns how many
 * it created, or a negative errno with ret->message saying why. */
static int restore_pki(struct reconcile_ctx *ctx, const struct restore_source *s,
                       const struct s3_client *c, struct step_result *ret)
{
        const struct karmada *k = ctx->k;
        static const char *const suffixes[] = {"cert", "etcd-cert", "webhook-cert", "encryption",
                                               NULL};
        char old[KO_NAME_MAX], from[KO_NAME_MAX + 32], to[KO_NAME_MAX + 32];
        struct kube_status st;
        cJSON *doc = NULL;
        const cJSON *item;
        int r = open_pki(ctx, s, c, &doc, ret), made = 0;

        names_prefix(s->karmada, old, sizeof(old));
        for (const char *const *x = suffixes; r >= 0 && *x; x++) {
                names_join(old, *x, from, sizeof(from));
                common_obj_name(k, *x, to, sizeof(to));
                if (desired_observed(ctx->d, &kube_secrets, k->namespace, to))
                        continue;
                cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive(doc, "secrets")) {
                        cJSON *o;
                        if (r < 0 || !json_str(item, "name", NULL) ||
                            strcmp(json_str(item, "name", NULL), from) != 0)
                                continue;
                        o = manifest_object(k, &kube_secrets, to, -1);
                        cJSON_AddStringToObject(o, "type", "Opaque");
                        cJSON_AddItemToObject(o, "data",
                                              cJSON_Duplicate(json_at(item, "data", NULL), true));
                        r = kube_create(ctx->host, &kube_secrets, k->namespace, o, NULL, NULL, &st);
                        cJSON_Delete(o);
                        if (r < 0 && r != -EEXIST)
                                say(ret, "RestoreFailed", r, "create Secret %s: %s", to,
                                    st.message);
                        else
                                r = 0, made++;
                }
        }
        cJSON_Delete(doc);
        return r < 0 ? r : made;
}

/* The snapshot read once through, opened with the backup's key when sealed, and its SHA-256
 * checked */
static int verify(const struct restore_source *s, const struct s3_client *c, char *err,
                  size_t errlen)
{
        unsigned char *key = NULL;
        char aad[256];
        int r;

        if (s->format && seal_key_decode(s->seal_key, &key) < 0) {
                snprintf(err, errlen, "the backup's encryption key is not 32 bytes");
                return -EBADMSG;
        }
        r = etcd_restore_fetch(c, s->key, key, backup_aad(s->uid, "snapshot", aad, sizeof(aad)),
                               s->sha256, NULL, NULL, err, errlen);
        if (key)
                OPENSSL_cleanse(key, SEAL_KEY_LEN);
        free(key);
        return r;
}

static int restore_reconcile(struct reconcile_ctx *ctx, struct step_result *ret)
{
        const struct karmada *k = ctx->k;
        struct restore_source s;
        struct s3_bucket c;
        char err[512] = "", sts[KO_NAME_MAX + 16];
        int r;

        common_comp_name(k, KO_ETCD, sts, sizeof(sts));
        /* restored before (its etcd exists), or checked by this process */
        if (desired_observed(ctx->d, &kube_statefulsets, k->namespace, sts) ||
            strncmp(ctx->memo->value, "checked", 7) == 0) {
                ret->ready = true;
                snprintf(ret->reason, sizeof(ret->reason), "Restored");
                snprintf(ret->message, sizeof(ret->message), "from KarmadaBackup %s",
                         k->restore_backup);
                return 0;
        }
        if (desired_waiting(ctx->d, "restore") || restore_source(k, ctx->d, &s) < 0) {
                snprintf(ret->reason, sizeof(ret->reason), "BackupUnavailable");
                snprintf(ret->message, sizeof(ret->message), "%s",
                         desired_waiting(ctx->d, "restore") ? desired_waiting(ctx->d, "restore")
                                                            : "the backup is not readable");
                ret->requeue_after_ms = 10000;
                return 0;
        }
        r = s3_location_open(&s.loc, s.access_key, s.secret_key, &c, err, sizeof(err));
        /* read once: a pass that restored the certificates comes back for more */
        if (r >= 0 && !(strncmp(ctx->memo->value, "verified ", 9) == 0 &&
                        strcmp(ctx->memo->value + 9, s.sha256) == 0))
                r = verify(&s, &c.c, err, sizeof(err));
        if (r == 0)
                snprintf(ctx->memo->value, sizeof(ctx->memo->value), "verified %s", s.sha256);
        if (r < 0) {
                snprintf(ret->reason, sizeof(ret->reason), "%s",
                         r == -EBADMSG ? "SnapshotCorrupted" : "SnapshotUnavailable");
                snprintf(ret->message, sizeof(ret->message), "%s; nothing was started", err);
                ret->requeue_after_ms = r == -EBADMSG ? 0 : 30000;
                s3_location_close(&c);
                restore_source_free(&s);
                return 0;
        }
        r = restore_pki(ctx, &s, &c.c, ret);
        s3_location_close(&c);
        if (r < 0) {
                ret->requeue_after_ms = 30000;
        } else if (r > 0) {
                /* the next build must see them before the pki step runs */
                snprintf(ret->reason, sizeof(ret->reason), "Restoring");
                snprintf(ret->message, sizeof(ret->message),
                         "certificates restored from KarmadaBackup %s", k->restore_backup);
                ret->requeue_after_ms = 1000;
        } else {
                snprintf(ctx->memo->value, sizeof(ctx->memo->value), "checked %s", s.sha256);
                ret->ready = true;
                snprintf(ret->reason, sizeof(ret->reason), "SnapshotVerified");
                snprintf(ret->message, sizeof(ret->message),
                         "snapshot of KarmadaBackup %s verified; etcd restores it",
                         k->restore_backup);
        }
        restore_source_free(&s);
        return 0;
}

const struct reconciler reconciler_restore = {
        .name = "restore",
        .condition = "RestoreReady",
        .enabled = restore_enabled,
        .contribute = restore_contribute,
        .reconcile = restore_reconcile,
        .host_only = true,
};
