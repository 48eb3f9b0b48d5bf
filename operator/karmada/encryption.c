/* SPDX-License-Identifier: Apache-2.0 */
#include "encryption.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "manifests.h"
#include "names.h"
#include "sync.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/strbuf.h"

#define IDENTITY "identity"
#define KEY_LEN  32

static const char *name_of(const cJSON *provider)
{
        return json_str(provider, "name", NULL) ?: "";
}

const char *encryption_writer(const struct encryption_plan *p)
{
        return name_of(cJSON_GetArrayItem(p->keys, 0));
}

static bool is_identity(const cJSON *provider)
{
        return strcmp(name_of(provider), IDENTITY) == 0;
}

/* A new secretbox key named key<N>, N above every number used in keys */
static cJSON *new_key(const cJSON *keys)
{
        unsigned char raw[KEY_LEN];
        char name[32], *text = NULL;
        const cJSON *k;
        long n = 0;
        cJSON *o;

        cJSON_ArrayForEach (k, keys)
                if (strncmp(name_of(k), "key", 3) == 0 && strtol(name_of(k) + 3, NULL, 10) > n)
                        n = strtol(name_of(k) + 3, NULL, 10);
        if (RAND_bytes(raw, sizeof(raw)) != 1 || base64_encode(raw, sizeof(raw), &text) < 0)
                text = NULL;
        OPENSSL_cleanse(raw, sizeof(raw));
        if (!text)
                return NULL;
        snprintf(name, sizeof(name), "key%ld", n + 1);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "secret", text);
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        return o;
}

static cJSON *identity(void)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "name", IDENTITY);
        return o;
}

/* keys.json of the Secret: an array of providers, each identity or a key of 32 bytes */
static cJSON *load_keys(const cJSON *secret)
{
        char *text = manifest_secret_value(secret, "keys.json", NULL);
        cJSON *keys = text ? cJSON_Parse(text) : NULL;
        const cJSON *k;
        bool ok = cJSON_IsArray(keys) && cJSON_GetArraySize(keys) > 0;

        cJSON_ArrayForEach (k, keys) {
                unsigned char *raw = NULL;
                size_t len = 0;
                const char *s = json_str(k, "secret", NULL);
                ok = ok && (is_identity(k) ||
                            (strncmp(name_of(k), "key", 3) == 0 && s &&
                             base64_decode(s, strlen(s), &raw, &len) == 0 && len == KEY_LEN));
                if (raw)
                        OPENSSL_cleanse(raw, len);
                free(raw);
        }
        if (text)
                OPENSSL_cleanse(text, strlen(text));
        free(text);
        if (!ok)
                json_delete_secret(keys);
        return ok ? keys : NULL;
}

/* The API server runs with the providers of id in its pod template, rolled out */
static bool rolled(const struct karmada *k, const struct desired *d, const char *id)
{
        char name[KO_NAME_MAX + 16];

        names_join(k->prefix, names_components[KO_APISERVER].suffix, name, sizeof(name));
        return sync_rolled_with(desired_observed(d, &kube_deployments, k->namespace, name),
                                KO_ENCRYPTION_ANNOTATION, id);
}

static void digest(struct encryption_plan *p)
{
        char *text = cJSON_PrintUnformatted(p->keys);

        sha256_hex(text ? text : "", text ? strlen(text) : 0, p->id);
        if (text)
                OPENSSL_cleanse(text, strlen(text));
        free(text);
}

/* Whether a change is due: encryption switched, or a new rotation value while it is on */
static bool change_due(const struct karmada *k, const struct encryption_plan *p, bool restored)
{
        bool on = !is_identity(cJSON_GetArrayItem(p->keys, 0));
        bool want_on = k->encryption == KO_ENCRYPTION_ON ||
                       (k->encryption == KO_ENCRYPTION_DEFAULT && (on || restored));

        if (want_on != on)
                return true;
        return on && k->rotate_encryption_key &&
               (!p->handled || strcmp(p->handled, k->rotate_encryption_key) != 0);
}

/* The next phase once the API server rolled out with the current providers */
static void advance(struct encryption_plan *p)
{
        cJSON *first;

        if (strcmp(p->phase, "Adding") == 0) {
                first = cJSON_DetachItemFromArray(p->keys, 0);
                cJSON_AddItemToArray(p->keys, first); /* [new, old] */
                p->phase = "Switching";
        } else if (strcmp(p->phase, "Switching") == 0) {
                p->phase = "Rewriting";
        } else if (p->rewritten && strcmp(p->rewritten, encryption_writer(p)) == 0) {
                while (cJSON_GetArraySize(p->keys) > 1)
                        json_delete_secret(cJSON_DetachItemFromArray(p->keys, 1));
                p->phase = NULL;
                p->completed = true;
        }
}

/* A new instance, or one that ran before with no Secret: its providers to begin with. A
 * restore brings the backup's Secret; a backup without one (of before) holds Secrets in the
 * clear, read by identity until a change encrypts them. */
static cJSON *first_keys(const struct karmada *k, const struct desired *d)
{
        char name[KO_NAME_MAX + 16];
        cJSON *keys = cJSON_CreateArray(), *first;
        bool running;

        names_join(k->prefix, names_components[KO_APISERVER].suffix, name, sizeof(name));
        running = desired_observed(d, &kube_deployments, k->namespace, name) != NULL;
        first = !running && !k->restore_backup && k->encryption != KO_ENCRYPTION_OFF ? new_key(NULL)
                                                                                     : identity();
        if (!keys || !first || !cJSON_AddItemToArray(keys, first)) {
                cJSON_Delete(first);
                cJSON_Delete(keys);
                return NULL;
        }
        return keys;
}

int encryption_plan(const struct karmada *k, const struct desired *d, struct encryption_plan *p)
{
        char name[KO_NAME_MAX + 16];
        const cJSON *secret, *ann;

        *p = (struct encryption_plan){0};
        names_join(k->prefix, "encryption", name, sizeof(name));
        secret = desired_observed(d, &kube_secrets, k->namespace, name);
        ann = json_at(secret, "metadata", "annotations");
        p->keys = secret ? load_keys(secret) : NULL;
        if (secret && !p->keys)
                return -EBADMSG; /* never guessed: the Secrets stored with it would be lost */
        if (p->keys) {
                p->phase = json_str(ann, KO_ENCRYPTION_PHASE_ANNOTATION, NULL);
                p->handled = json_str(ann, KO_ROTATE_ENCRYPTION_KEY_ANNOTATION, NULL);
                p->rewritten = json_str(ann, KO_ENCRYPTION_REWRITTEN_ANNOTATION, NULL);
        } else {
                p->keys = first_keys(k, d);
                p->handled = k->rotate_encryption_key;
        }
        if (!p->keys)
                return -ENOMEM;
        if (p->phase) {
                digest(p); /* of the providers the phase rolls out */
                if (rolled(k, d, p->id))
                        advance(p);
        } else if (change_due(k, p, !secret && k->restore_backup)) {
                /* off when it is to be off, else a new key */
                bool off = k->encryption == KO_ENCRYPTION_OFF;
                while (cJSON_GetArraySize(p->keys) > 1)
                        json_delete_secret(cJSON_DetachItemFromArray(p->keys, 1));
                cJSON *next = off ? identity() : new_key(p->keys);
                if (!next) {
                        encryption_plan_free(p);
                        return -ENOMEM;
                }
                cJSON_AddItemToArray(p->keys, next);
                p->handled = k->rotate_encryption_key;
                p->phase = "Adding";
        }
        digest(p);
        p->rolled = rolled(k, d, p->id);
        p->enabled = p->phase || !is_identity(cJSON_GetArrayItem(p->keys, 0));
        return 0;
}

void encryption_plan_free(struct encryption_plan *p)
{
        json_delete_secret(p->keys);
        *p = (struct encryption_plan){0};
}

/* The EncryptionConfiguration of the providers: Secrets only, each key a secretbox provider */
static char *config_yaml(const cJSON *keys)
{
        struct strbuf y = {0};
        const cJSON *k;

        strbuf_printf(&y, "apiVersion: apiserver.config.k8s.io/v1\n"
                          "kind: EncryptionConfiguration\n"
                          "resources:\n"
                          "- resources:\n"
                          "  - secrets\n"
                          "  providers:\n");
        cJSON_ArrayForEach (k, keys) {
                if (is_identity(k))
                        strbuf_printf(&y, "  - identity: {}\n");
                else
                        strbuf_printf(&y,
                                      "  - secretbox:\n"
                                      "      keys:\n"
                                      "      - name: %s\n"
                                      "        secret: %s\n",
                                      name_of(k), json_str(k, "secret", NULL));
        }
        return y.buf;
}

cJSON *encryption_secret(const struct karmada *k, const struct encryption_plan *p)
{
        char name[KO_NAME_MAX + 16], *keys = cJSON_PrintUnformatted(p->keys);
        char *yaml = config_yaml(p->keys);
        cJSON *s = NULL, *meta, *ann;

        names_join(k->prefix, "encryption", name, sizeof(name));
        if (keys && yaml)
                s = manifest_secret(k, name, (const char *const[]){"keys.json", KO_ENCRYPTION_FILE},
                                    (const char *const[]){keys, yaml},
                                    (const size_t[]){strlen(keys), strlen(yaml)}, 2);
        meta = cJSON_GetObjectItemCaseSensitive(s, "metadata");
        ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
        if (meta && !ann && (p->phase || p->handled || p->rewritten))
                ann = cJSON_AddObjectToObject(meta, "annotations");
        if (ann && p->phase)
                cJSON_AddStringToObject(ann, KO_ENCRYPTION_PHASE_ANNOTATION, p->phase);
        if (ann && p->handled)
                cJSON_AddStringToObject(ann, KO_ROTATE_ENCRYPTION_KEY_ANNOTATION, p->handled);
        if (ann && p->rewritten)
                cJSON_AddStringToObject(ann, KO_ENCRYPTION_REWRITTEN_ANNOTATION, p->rewritten);
        if (keys)
                OPENSSL_cleanse(keys, strlen(keys));
        if (yaml)
                OPENSSL_cleanse(yaml, strlen(yaml));
        free(keys);
        free(yaml);
        return s;
}

int encryption_rewrite(struct kube_client *kc, int *n, char *err, size_t errlen)
{
        struct kube_status st = {0};
        cJSON *list = NULL;
        cJSON *item;
        int r = kube_list(kc, &kube_secrets, NULL, NULL, &list, &st);

        *n = 0;
        if (r < 0) {
                snprintf(err, errlen, "list the Secrets: %s", st.message);
                return r;
        }
        cJSON_ArrayForEach (item, json_at(list, "items", NULL)) {
                /* written as it is: the API server stores it with the provider that writes */
                r = kube_update(kc, &kube_secrets, json_str(item, "metadata", "namespace"), item,
                                NULL, NULL, &st);
                if (r == -EBUSY || r == -ENOENT) /* changed or deleted since: written anew */
                        r = 0;
                if (r < 0) {
                        snprintf(err, errlen, "rewrite Secret %s/%s: %s",
                                 json_str(item, "metadata", "namespace"),
                                 json_str(item, "metadata", "name"), st.message);
                        break;
                }
                (*n)++;
        }
        json_delete_secret(list);
        return r;
}
