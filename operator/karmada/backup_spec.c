/* SPDX-License-Identifier: Apache-2.0 */
#include "backup_spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/base64.h"
#include "util/json.h"
#include "util/macro.h"

static void problem(struct karmada_spec_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void problem(struct karmada_spec_error *err, const char *fmt, ...)
{
        size_t n = strlen(err->message);
        va_list ap;

        if (n && n + 2 < sizeof(err->message)) {
                snprintf(err->message + n, sizeof(err->message) - n, "; ");
                n += 2;
        }
        va_start(ap, fmt);
        vsnprintf(err->message + n, sizeof(err->message) - n, fmt, ap);
        va_end(ap);
}

/* A copy of the string member b of a (b NULL: a itself) of o, or NULL when it is not a string. */
static char *dup_str(const cJSON *o, const char *a, const char *b, bool *oom)
{
        const char *v = json_str(o, a, b);
        char *d = v ? strdup(v) : NULL;

        if (v && !d)
                *oom = true;
        return d;
}

/* A required string: a problem naming path when it is missing or empty. */
static char *required(const cJSON *o, const char *a, const char *b, const char *path,
                      struct karmada_spec_error *err, bool *oom)
{
        char *v = dup_str(o, a, b, oom);

        if (!v || !*v)
                problem(err, "%s: required", path);
        return v;
}

int s3_location_parse(const cJSON *s3, const char *path, struct s3_location *loc,
                      struct karmada_spec_error *err)
{
        size_t before = strlen(err->message);
        char p[128];
        bool oom = false;

        *loc = (struct s3_location){0};
        if (!cJSON_IsObject(s3)) {
                problem(err, "%s: required", path);
                return -EINVAL;
        }
        snprintf(p, sizeof(p), "%s.endpoint", path);
        loc->endpoint = required(s3, "endpoint", NULL, p, err, &oom);
        if (loc->endpoint && *loc->endpoint && strncmp(loc->endpoint, "https://", 8) != 0 &&
            strncmp(loc->endpoint, "http://", 7) != 0)
                problem(err, "%s: \"%s\" is not an http:// or https:// URL", p, loc->endpoint);
        snprintf(p, sizeof(p), "%s.bucket", path);
        loc->bucket = required(s3, "bucket", NULL, p, err, &oom);
        loc->credentials = dup_str(s3, "credentialsSecretRef", "name", &oom);
        loc->region = dup_str(s3, "region", NULL, &oom);
        loc->prefix = dup_str(s3, "prefix", NULL, &oom);
        loc->ca_bundle = dup_str(s3, "caBundle", NULL, &oom);
        loc->path_style = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s3, "forcePathStyle"));
        if (oom || strlen(err->message) != before) {
                s3_location_free(loc);
                return oom ? -ENOMEM : -EINVAL;
        }
        return 0;
}

void s3_location_free(struct s3_location *loc)
{
        free(loc->endpoint);
        free(loc->bucket);
        free(loc->region);
        free(loc->prefix);
        free(loc->ca_bundle);
        free(loc->credentials);
        *loc = (struct s3_location){0};
}

void backup_spec_free(struct backup_spec *b)
{
        if (!b)
                return;
        free(b->namespace);
        free(b->name);
        free(b->uid);
        free(b->karmada);
        s3_location_free(&b->s3);
        free(b->key_secret);
        free(b->key_key);
        free(b->phase);
        free(b->object_key);
        free(b->pki_object_key);
        free(b->sha256);
        free(b->format);
        free(b);
}

int backup_spec_parse(const cJSON *obj, struct backup_spec **ret, struct karmada_spec_error *err)
{
        struct karmada_spec_error tmp = {{0}};
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
        struct backup_spec *b = calloc(1, sizeof(*b));
        bool oom = !b;
        int r = 0;

        if (!err)
                err = &tmp;
        err->message[0] = '\0';
        if (!b)
                return -ENOMEM;
        b->namespace = dup_str(obj, "metadata", "namespace", &oom);
        b->name = dup_str(obj, "metadata", "name", &oom);
        b->uid = dup_str(obj, "metadata", "uid", &oom);
        b->generation = (long long)cJSON_GetNumberValue(json_at(obj, "metadata", "generation"));
        b->karmada = required(spec, "karmadaRef", "name", "spec.karmadaRef.name", err, &oom);
        b->key_secret = required(spec, "encryptionKeySecretRef", "name",
                                 "spec.encryptionKeySecretRef.name", err, &oom);
        b->key_key = dup_str(spec, "encryptionKeySecretRef", "key", &oom);
        if (!b->key_key && !oom)
                oom = !(b->key_key = strdup("key"));
        r = s3_location_parse(cJSON_GetObjectItemCaseSensitive(spec, "s3"), "spec.s3", &b->s3, err);
        if (cJSON_IsObject(json_at(spec, "s3", NULL)) &&
            isempty(json_str(json_at(spec, "s3", NULL), "credentialsSecretRef", "name")))
                problem(err, "spec.s3.credentialsSecretRef.name: required");
        b->phase = dup_str(status, "phase", NULL, &oom);
        b->object_key = dup_str(status, "objectKey", NULL, &oom);
        b->pki_object_key = dup_str(status, "pkiObjectKey", NULL, &oom);
        b->sha256 = dup_str(status, "sha256", NULL, &oom);
        b->format = dup_str(status, "format", NULL, &oom);
        if (oom || r == -ENOMEM || err->message[0]) {
                backup_spec_free(b);
                return oom || r == -ENOMEM ? -ENOMEM : -EINVAL;
        }
        *ret = b;
        return 0;
}

int s3_location_open(const struct s3_location *loc, const char *access_key, const char *secret_key,
                     struct s3_bucket *ret, char *why, size_t whylen)
{
        struct s3_bucket s = {0};

        s.access_key = strdup(access_key ? access_key : "");
        s.secret_key = strdup(secret_key ? secret_key : "");
        if (!s.access_key || !s.secret_key) {
                s3_location_close(&s);
                return -ENOMEM;
        }
        if (loc->ca_bundle &&
            base64_decode(loc->ca_bundle, strlen(loc->ca_bundle), &s.ca, &s.ca_len) < 0) {
                snprintf(why, whylen, "spec.s3.caBundle: not base64");
                s3_location_close(&s);
                return -EINVAL;
        }
        s.c = (struct s3_client){
                .target = {loc->endpoint, loc->bucket, loc->region, loc->path_style},
                .access_key = s.access_key,
                .secret_key = s.secret_key,
                .ca_pem = (const char *)s.ca,
                .ca_len = s.ca_len,
        };
        *ret = s;
        return 0;
}

void s3_location_close(struct s3_bucket *s)
{
        if (s->secret_key)
                OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
        free(s->secret_key);
        free(s->access_key);
        free(s->ca);
        *s = (struct s3_bucket){0};
}

cJSON *backup_spec_from_template(const cJSON *schedule, const char *name, const char *karmada)
{
        const cJSON *tspec = json_at(json_at(schedule, "spec", "template"), "spec", NULL);
        cJSON *b = cJSON_CreateObject(), *meta, *spec, *ref;

        if (!b)
                return NULL;
        cJSON_AddStringToObject(b, "apiVersion", "operator.karmada.io/v1alpha1");
        cJSON_AddStringToObject(b, "kind", "KarmadaBackup");
        meta = cJSON_AddObjectToObject(b, "metadata");
        cJSON_AddStringToObject(meta, "name", name);
        spec = cJSON_IsObject(tspec) ? cJSON_Duplicate(tspec, true) : cJSON_CreateObject();
        cJSON_AddItemToObject(b, "spec", spec);
        if (karmada) { /* whatever the template says, it is this instance that is backed up */
                cJSON_DeleteItemFromObjectCaseSensitive(spec, "karmadaRef");
                ref = cJSON_AddObjectToObject(spec, "karmadaRef");
                cJSON_AddStringToObject(ref, "name", karmada);
        }
        if (!meta || !spec || !cJSON_GetObjectItemCaseSensitive(meta, "name")) {
                cJSON_Delete(b);
                return NULL;
        }
        return b;
}

const char *backup_aad(const char *uid, const char *object, char *buf, size_t size)
{
        snprintf(buf, size, "karmada-operator backup %s %s %s", KO_BACKUP_FORMAT, uid ? uid : "",
                 object);
        return buf;
}
