/* SPDX-License-Identifier: Apache-2.0 */
#include "restore_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "names.h"
#include "util/json.h"

void ko_restore_source_free(struct ko_restore_source *s)
{
        cJSON_Delete(s->doc);
        if (s->secret_key)
                OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
        free(s->access_key);
        free(s->secret_key);
        *s = (struct ko_restore_source){0};
}

static int from_doc(cJSON *doc, char *access, char *secret, struct ko_restore_source *s)
{
        *s = (struct ko_restore_source){.doc = doc, .access_key = access, .secret_key = secret};
        s->endpoint = json_str(doc, "endpoint", NULL);
        s->bucket = json_str(doc, "bucket", NULL);
        s->region = json_str(doc, "region", NULL);
        s->ca_bundle = json_str(doc, "caBundle", NULL);
        s->path_style = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "forcePathStyle"));
        s->key = json_str(doc, "objectKey", NULL);
        s->pki_key = json_str(doc, "pkiObjectKey", NULL);
        s->sha256 = json_str(doc, "sha256", NULL);
        s->backup = json_str(doc, "backup", NULL);
        s->karmada = json_str(doc, "karmada", NULL);
        if (!doc || !access || !secret || !s->endpoint || !s->bucket || !s->key || !s->pki_key ||
            !s->sha256 || !s->karmada) {
                ko_restore_source_free(s);
                return -EINVAL;
        }
        return 0;
}

int ko_restore_source(const struct karmada *k, struct desired *d, struct ko_restore_source *s)
{
        char name[KO_NAME_MAX + 16];
        const cJSON *rs, *b, *s3, *cred, *bspec, *bstatus;
        const char *orig;
        char *text;
        cJSON *doc;

        ko_name(k->prefix, "restore", name, sizeof(name));
        rs = desired_observed(d, &kube_secrets, k->namespace, name);
        if (rs) { /* what was copied from the backup */
                text = ko_secret_value(rs, "source.json", NULL);
                doc = text ? cJSON_Parse(text) : NULL;
                free(text);
                if (from_doc(doc, ko_secret_value(rs, "accessKeyID", NULL),
                             ko_secret_value(rs, "secretAccessKey", NULL), s) == 0)
                        return 0;
        }
        b = desired_observed(d, &ko_karmadabackups, k->namespace, k->restore_backup);
        if (!b) {
                desired_wait(d, "spec.restore.backupRef.name: no KarmadaBackup \"%s\"",
                             k->restore_backup);
                return -ENOENT;
        }
        if (!json_str(b, "status", "phase") ||
            strcmp(json_str(b, "status", "phase"), "Completed") != 0) {
                desired_wait(d, "KarmadaBackup %s is not Completed (%s)", k->restore_backup,
                             json_str(b, "status", "phase") ? json_str(b, "status", "phase")
                                                            : "no phase yet");
                return -EAGAIN;
        }
        bspec = cJSON_GetObjectItemCaseSensitive(b, "spec");
        bstatus = cJSON_GetObjectItemCaseSensitive(b, "status");
        s3 = cJSON_GetObjectItemCaseSensitive(bspec, "s3");
        cred = json_str(s3, "credentialsSecretRef", "name")
                       ? desired_observed(d, &kube_secrets, k->namespace,
                                          json_str(s3, "credentialsSecretRef", "name"))
                       : NULL;
        if (!cred) {
                desired_wait(d, "the S3 credentials of KarmadaBackup %s (Secret %s)",
                             k->restore_backup,
                             json_str(s3, "credentialsSecretRef", "name")
                                     ? json_str(s3, "credentialsSecretRef", "name")
                                     : "?");
                return -ENOENT;
        }
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "backup", k->restore_backup);
        orig = json_str(cJSON_GetObjectItemCaseSensitive(bspec, "karmadaRef"), "name", NULL);
        cJSON_AddStringToObject(doc, "karmada", orig ? orig : "");
        for (const char *const *f =
                     (const char *const[]){"endpoint", "bucket", "region", "caBundle", NULL};
             *f; f++)
                if (json_str(s3, *f, NULL))
                        cJSON_AddStringToObject(doc, *f, json_str(s3, *f, NULL));
        cJSON_AddBoolToObject(doc, "forcePathStyle",
                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s3, "forcePathStyle")));
        for (const char *const *f =
                     (const char *const[]){"objectKey", "pkiObjectKey", "sha256", NULL};
             *f; f++)
                if (json_str(bstatus, *f, NULL))
                        cJSON_AddStringToObject(doc, *f, json_str(bstatus, *f, NULL));
        if (from_doc(doc, ko_secret_value(cred, "accessKeyID", NULL),
                     ko_secret_value(cred, "secretAccessKey", NULL), s) < 0) {
                desired_wait(d, "KarmadaBackup %s: its status or its S3 credentials are incomplete",
                             k->restore_backup);
                return -EINVAL;
        }
        return 0;
}
