/* SPDX-License-Identifier: Apache-2.0 */
#include "restore_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "manifests.h"
#include "names.h"
#include "util/base64.h"
#include "util/json.h"

void restore_source_free(struct restore_source *s)
{
        cJSON_Delete(s->doc);
        s3_location_free(&s->loc);
        if (s->secret_key)
                OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
        if (s->seal_key)
                OPENSSL_cleanse(s->seal_key, strlen(s->seal_key));
        free(s->access_key);
        free(s->secret_key);
        free(s->seal_key);
        *s = (struct restore_source){0};
}

/* The source from the document a restore keeps (source.json: the bucket as in spec.s3, the
 * object keys, the backup's names, uid and format), the two S3 keys and the encryption key
 * (base64; needed for a sealed backup); takes all four. */
static int from_doc(cJSON *doc, char *access, char *secret, char *seal_key,
                    struct restore_source *s)
{
        struct karmada_spec_error err = {{0}};

        *s = (struct restore_source){
                .doc = doc, .access_key = access, .secret_key = secret, .seal_key = seal_key};
        s->uid = json_str(doc, "uid", NULL);
        s->format = json_str(doc, "format", NULL);
        s->key = json_str(doc, "objectKey", NULL);
        s->pki_key = json_str(doc, "pkiObjectKey", NULL);
        s->sha256 = json_str(doc, "sha256", NULL);
        s->backup = json_str(doc, "backup", NULL);
        s->karmada = json_str(doc, "karmada", NULL);
        if (!doc || !access || !secret || s3_location_parse(doc, "source", &s->loc, &err) < 0 ||
            !s->key || !s->pki_key || !s->sha256 || !s->karmada ||
            (s->format && (strcmp(s->format, KO_BACKUP_FORMAT) != 0 || !s->uid || !seal_key))) {
                restore_source_free(s);
                return -EINVAL;
        }
        return 0;
}

/* The document of a Completed backup: its bucket and object keys. */
static cJSON *doc_of(const struct backup_spec *b, const char *backup)
{
        const struct s3_location *l = &b->s3;
        cJSON *doc = cJSON_CreateObject();

        cJSON_AddStringToObject(doc, "backup", backup);
        if (b->uid)
                cJSON_AddStringToObject(doc, "uid", b->uid);
        if (b->format)
                cJSON_AddStringToObject(doc, "format", b->format);
        cJSON_AddStringToObject(doc, "karmada", b->karmada);
        cJSON_AddStringToObject(doc, "endpoint", l->endpoint);
        cJSON_AddStringToObject(doc, "bucket", l->bucket);
        if (l->region)
                cJSON_AddStringToObject(doc, "region", l->region);
        if (l->ca_bundle)
                cJSON_AddStringToObject(doc, "caBundle", l->ca_bundle);
        cJSON_AddBoolToObject(doc, "forcePathStyle", l->path_style);
        if (b->object_key)
                cJSON_AddStringToObject(doc, "objectKey", b->object_key);
        if (b->pki_object_key)
                cJSON_AddStringToObject(doc, "pkiObjectKey", b->pki_object_key);
        if (b->sha256)
                cJSON_AddStringToObject(doc, "sha256", b->sha256);
        return doc;
}

/* The key `key` of Secret ks, base64 (NULL when it is not there) */
static char *key_base64(const cJSON *ks, const char *key)
{
        size_t len = 0;
        char *raw = manifest_secret_value(ks, key, &len), *text = NULL;

        if (raw) {
                if (base64_encode(raw, len, &text) < 0)
                        text = NULL;
                OPENSSL_cleanse(raw, len);
        }
        free(raw);
        return text;
}

/* From the KarmadaBackup and its credentials (desired_wait() while they are not there). */
static int from_backup(const struct karmada *k, struct desired *d, struct restore_source *s)
{
        const cJSON *obj = desired_observed(d, &karmada_backups, k->namespace, k->restore_backup);
        struct karmada_spec_error err = {{0}};
        struct backup_spec *b = NULL;
        const cJSON *cred, *ks;
        int r;

        if (!obj) {
                desired_wait(d, "spec.restore.backupRef.name: no KarmadaBackup \"%s\"",
                             k->restore_backup);
                return -ENOENT;
        }
        r = backup_spec_parse(obj, &b, &err);
        if (r < 0) {
                desired_wait(d, "KarmadaBackup %s: %s", k->restore_backup,
                             r == -EINVAL ? err.message : "out of memory");
                return r;
        }
        cred = desired_observed(d, &karmada_backup_secrets, k->namespace, b->s3.credentials);
        ks = desired_observed(d, &karmada_backup_secrets, k->namespace, b->key_secret);
        if (!b->phase || strcmp(b->phase, "Completed") != 0) {
                desired_wait(d, "KarmadaBackup %s is not Completed (%s)", k->restore_backup,
                             b->phase ? b->phase : "no phase yet");
                r = -EAGAIN;
        } else if (!cred) {
                desired_wait(d, "the S3 credentials of KarmadaBackup %s (Secret %s)",
                             k->restore_backup, b->s3.credentials);
                r = -ENOENT;
        } else if (!ks) {
                desired_wait(d, "the encryption key of KarmadaBackup %s (Secret %s)",
                             k->restore_backup, b->key_secret);
                r = -ENOENT;
        } else if (from_doc(doc_of(b, k->restore_backup),
                            manifest_secret_value(cred, "accessKeyID", NULL),
                            manifest_secret_value(cred, "secretAccessKey", NULL),
                            key_base64(ks, b->key_key), s) < 0) {
                desired_wait(d, "KarmadaBackup %s: its status or its S3 credentials are incomplete",
                             k->restore_backup);
                r = -EINVAL;
        }
        backup_spec_free(b);
        return r;
}

int restore_source(const struct karmada *k, struct desired *d, struct restore_source *s)
{
        char name[KO_NAME_MAX + 16];
        const cJSON *rs;
        char *text;
        cJSON *doc;

        names_join(k->prefix, "restore", name, sizeof(name));
        rs = desired_observed(d, &kube_secrets, k->namespace, name);
        if (rs) { /* what was copied from the backup */
                text = manifest_secret_value(rs, "source.json", NULL);
                doc = text ? cJSON_Parse(text) : NULL;
                free(text);
                if (from_doc(doc, manifest_secret_value(rs, "accessKeyID", NULL),
                             manifest_secret_value(rs, "secretAccessKey", NULL),
                             manifest_secret_value(rs, "encryptionKey", NULL), s) == 0)
                        return 0;
        }
        return from_backup(k, d, s);
}
