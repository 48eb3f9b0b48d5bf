/* SPDX-License-Identifier: Apache-2.0 */
#include "restore_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "manifests.h"
#include "names.h"
#include "util/json.h"

void restore_source_free(struct restore_source *s)
{
        cJSON_Delete(s->doc);
        s3_location_free(&s->loc);
        if (s->secret_key)
                OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
        free(s->access_key);
        free(s->secret_key);
        *s = (struct restore_source){0};
}

/* The source from the document a restore keeps (source.json: the bucket as in spec.s3, the
 * object keys, the backup's names) and the two keys; takes all three. */
static int from_doc(cJSON *doc, char *access, char *secret, struct restore_source *s)
{
        struct karmada_spec_error err = {{0}};

        *s = (struct restore_source){.doc = doc, .access_key = access, .secret_key = secret};
        s->key = json_str(doc, "objectKey", NULL);
        s->pki_key = json_str(doc, "pkiObjectKey", NULL);
        s->sha256 = json_str(doc, "sha256", NULL);
        s->backup = json_str(doc, "backup", NULL);
        s->karmada = json_str(doc, "karmada", NULL);
        if (!doc || !access || !secret || s3_location_parse(doc, "source", &s->loc, &err) < 0 ||
            !s->key || !s->pki_key || !s->sha256 || !s->karmada) {
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

/* From the KarmadaBackup and its credentials (desired_wait() while they are not there). */
static int from_backup(const struct karmada *k, struct desired *d, struct restore_source *s)
{
        const cJSON *obj = desired_observed(d, &karmada_backups, k->namespace, k->restore_backup);
        struct karmada_spec_error err = {{0}};
        struct backup_spec *b = NULL;
        const cJSON *cred;
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
        cred = desired_observed(d, &kube_secrets, k->namespace, b->s3.credentials);
        if (!b->phase || strcmp(b->phase, "Completed") != 0) {
                desired_wait(d, "KarmadaBackup %s is not Completed (%s)", k->restore_backup,
                             b->phase ? b->phase : "no phase yet");
                r = -EAGAIN;
        } else if (!cred) {
                desired_wait(d, "the S3 credentials of KarmadaBackup %s (Secret %s)",
                             k->restore_backup, b->s3.credentials);
                r = -ENOENT;
        } else if (from_doc(doc_of(b, k->restore_backup),
                            manifest_secret_value(cred, "accessKeyID", NULL),
                            manifest_secret_value(cred, "secretAccessKey", NULL), s) < 0) {
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
                             manifest_secret_value(rs, "secretAccessKey", NULL), s) == 0)
                        return 0;
        }
        return from_backup(k, d, s);
}
