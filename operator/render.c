/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator render -f FILE: every object the operator would apply for the Karmada
 * objects in FILE, as YAML or one JSON List, without a cluster (or, with --diff, what it would
 * change in one: render_diff.c). Generated key material is masked unless asked for: the output
 * is for review. */
#include "render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "karmada/encryption.h"
#include "karmada/spec.h"
#include "reconciler.h"
#include "render_diff.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "util/yaml.h"

/* CA bundles (of webhooks, APIServices) anywhere in o */
static void mask_ca_bundles(cJSON *o)
{
        cJSON *e;

        cJSON_ArrayForEach (e, o) {
                if (cJSON_IsString(e) && e->string && strcmp(e->string, "caBundle") == 0)
                        cJSON_SetValuestring(e, "<generated>");
                else if (cJSON_IsObject(e) || cJSON_IsArray(e))
                        mask_ca_bundles(e);
        }
}

/* What a certificate is, for review: "<generated certificate: CN=...; SANs a, b; issuer ca;
 * valid 365d0h5m>" (its validity from notBefore, a few minutes before issue, to notAfter) */
static char *describe(const cJSON *cert)
{
        struct strbuf sb = {0};
        const cJSON *e;
        time_t nb = 0, na = 0;
        long long m;
        bool first = true;

        time_parse_rfc3339(json_str(cert, "notBefore", NULL) ?: "", &nb);
        time_parse_rfc3339(json_str(cert, "notAfter", NULL) ?: "", &na);
        m = ((long long)(na - nb) + 30) / 60;
        strbuf_printf(&sb, "<generated certificate: %s", json_str(cert, "subject", NULL) ?: "");
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(cert, "sans")) {
                strbuf_printf(&sb, "%s%s", first ? "; SANs " : ", ", e->valuestring);
                first = false;
        }
        strbuf_printf(&sb, "; issuer %s; valid %lldd%lldh%lldm>",
                      json_str(cert, "issuer", NULL) ?: "", m / 1440, m / 60 % 24, m % 60);
        return strbuf_steal(&sb);
}

/* What is generated anew by every render: Secrets' data (keys, certificates, kubeconfigs) and
 * CA bundles, masked; a certificate (or a kubeconfig's client certificate) described instead
 * (subject, SANs, issuer, validity: no key material). The length of an ECDSA signature
 * varies: no length either, for stable output. */
static void mask_generated(const struct desired *d, const struct desired_object *o)
{
        const char *name = json_str(o->obj, "metadata", "name");
        cJSON *e;

        if (o->resource == &kube_secrets)
                cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(o->obj, "data")) {
                        const cJSON *c, *cert = NULL;
                        char *text;
                        cJSON_ArrayForEach (c, d->certs)
                                if (strcmp(json_str(c, "secretRef", "name") ?: "", name ?: "") ==
                                            0 &&
                                    strcmp(json_str(c, "secretRef", "key") ?: "", e->string) == 0)
                                        cert = c;
                        text = cert ? describe(cert) : NULL;
                        cJSON_SetValuestring(e, text ? text : "<generated>");
                        free(text);
                }
        mask_ca_bundles(o->obj);
        {
                cJSON *a = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(o->obj, "spec"),
                                        "template"),
                                "metadata"),
                        "annotations");
                static const char *const masked[][2] = {
                        {KO_SECRETS_ANNOTATION, "<generated: a digest of the Secrets it mounts>"},
                        {KO_CA_ANNOTATION, "<generated: a digest of the CAs and their trust>"},
                        {KO_ENCRYPTION_ANNOTATION,
                         "<generated: a digest of the encryption providers>"},
                };
                for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++)
                        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, masked[i][0])))
                                cJSON_SetValuestring(
                                        cJSON_GetObjectItemCaseSensitive(a, masked[i][0]),
                                        masked[i][1]);
        }
}

/* The file's text, or stdin's for "-" (at most 16 MiB). */
static int read_input(const char *path, char **text, size_t *len)
{
        struct strbuf sb = {.max = 16u << 20};
        char buf[8192];
        size_t got;
        int r = 0;

        if (strcmp(path, "-") != 0)
                return fileio_read(path, 16u << 20, text, len);
        while (r == 0 && (got = fread(buf, 1, sizeof(buf), stdin)) > 0)
                r = strbuf_append(&sb, buf, got);
        *len = sb.len;
        *text = r == 0 ? strbuf_steal(&sb) : NULL;
        strbuf_free(&sb);
        return r == 0 && !*text ? -ENOMEM : r;
}

/* An object of the Karmada API server, marked so in JSON output */
static cJSON *marked(const cJSON *obj)
{
        cJSON *c = cJSON_Duplicate(obj, true), *meta, *ann;

        meta = cJSON_GetObjectItemCaseSensitive(c, "metadata");
        ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
        if (!ann)
                ann = cJSON_AddObjectToObject(meta, "annotations");
        cJSON_AddStringToObject(ann, KO_RENDER_TARGET_ANNOTATION, "karmada-apiserver");
        return c;
}

/* The objects of the host cluster (where 0) or of the Karmada API server (1): as YAML, or into
 * the JSON List's items */
static void print_objects(const struct karmada *k, struct desired *d, int where,
                          const struct render_options *o, FILE *out, cJSON *items)
{
        const cJSON **objs = calloc(d->n + 1, sizeof(*objs));
        char *yaml = NULL;
        size_t m = 0;

        if (!objs)
                return;
        for (size_t i = 0; i < d->n; i++) {
                if (d->objs[i].in_karmada != (where == 1))
                        continue;
                if (!o->show_secrets)
                        mask_generated(d, &d->objs[i]);
                objs[m++] = d->objs[i].obj;
        }
        for (size_t i = 0; o->json && i < m; i++)
                cJSON_AddItemToArray(items,
                                     where == 1 ? marked(objs[i]) : cJSON_Duplicate(objs[i], true));
        if (where == 1 && m && !o->json)
                fprintf(out,
                        "# In the Karmada API server of %s/%s (through its admin kubeconfig):\n",
                        k->namespace, k->name);
        if (!o->json && m && yaml_emit(objs, m, &yaml) == 0)
                fputs(yaml, out);
        free(yaml);
        free(objs);
}

/* For --diff: the object as the cluster has it, so that the uid its objects name (owner
 * references, labels) is the live one; a copy of doc */
static cJSON *with_live_uid(struct kube_client *c, const cJSON *doc)
{
        cJSON *copy = cJSON_Duplicate(doc, true), *live = NULL, *meta;
        const char *ns = json_str(doc, "metadata", "namespace");
        const char *uid;

        if (!copy)
                return NULL;
        if (kube_get(c, &karmada_karmadas, ns ? ns : "default",
                     json_str(doc, "metadata", "name") ?: "", &live, NULL) < 0)
                return copy;
        uid = json_str(live, "metadata", "uid");
        meta = cJSON_GetObjectItemCaseSensitive(copy, "metadata");
        if (uid && cJSON_IsObject(meta)) {
                cJSON_DeleteItemFromObjectCaseSensitive(meta, "uid");
                cJSON_AddStringToObject(meta, "uid", uid);
        }
        cJSON_Delete(live);
        return copy;
}

/* One Karmada object: everything the operator would apply for it (1 when it cannot be), or
 * with o->diff what it would change (render_diff). */
static int render_one(const char *path, const cJSON *doc, const struct render_options *o, FILE *out,
                      FILE *errout, cJSON *items)
{
        struct karmada_spec_error serr = {{0}};
        struct karmada *k = NULL;
        struct desired d;
        char err[1024];
        cJSON *live = o->diff ? with_live_uid(o->diff, doc) : NULL;
        /* render shows what a new instance gets: the namespace is the object's */
        int r = registry_parse(live ? live : doc, &k, &serr);

        cJSON_Delete(live);
        if (r < 0) {
                fprintf(errout, "karmada-operator render: %s: invalid Karmada: %s\n", path,
                        r == -EINVAL ? serr.message : strerror(-r));
                return o->diff ? 2 : 1;
        }
        if (o->diff) {
                r = render_diff(k, o->diff, o->keys, out, errout);
                karmada_free(k);
                return r;
        }
        r = registry_build_desired(k, NULL, o->keys, &d, err, sizeof(err));
        if (r < 0) {
                fprintf(errout, "karmada-operator render: %s/%s: %s\n", k->namespace, k->name, err);
                karmada_free(k);
                return 1;
        }
        for (int i = 0; i < d.n_waiting; i++)
                fprintf(errout, "# %s/%s: %s is not rendered without a cluster: it waits for %s\n",
                        k->namespace, k->name, d.waiting[i].owner, d.waiting[i].what);
        /* the host cluster's objects, then those of the Karmada API server */
        print_objects(k, &d, 0, o, out, items);
        print_objects(k, &d, 1, o, out, items);
        desired_free(&d);
        karmada_free(k);
        return 0;
}

/* The Karmada documents of path into karmadas (NULL: none wanted), its KarmadaRelease
 * documents into releases, each of those checked. */
static int load_docs(const char *path, cJSON *karmadas, cJSON *releases, FILE *errout)
{
        struct yaml_limits lim = {0};
        char *text = NULL, err[1024];
        cJSON *docs = NULL, *doc, *next;
        size_t len = 0;
        int r = read_input(path, &text, &len);

        if (r < 0) {
                fprintf(errout, "karmada-operator render: %s: %s\n", path, strerror(-r));
                return -1;
        }
        r = yaml_parse_stream(text, len, path, &lim, &docs, err, sizeof(err));
        free(text);
        if (r < 0) {
                fprintf(errout, "karmada-operator render: %s\n", err);
                return -1;
        }
        for (doc = docs->child; doc; doc = next) {
                const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "kind"));
                cJSON *into = !k                                 ? NULL
                              : strcmp(k, "Karmada") == 0        ? karmadas
                              : strcmp(k, "KarmadaRelease") == 0 ? releases
                                                                 : NULL;
                struct karmada_release rel;

                next = doc->next;
                if (!into)
                        continue;
                if (into == releases && release_from_object(doc, &rel, err, sizeof(err)) < 0) {
                        fprintf(errout, "karmada-operator render: %s: %s\n", path, err);
                        r = -1;
                }
                cJSON_AddItemToArray(into, cJSON_DetachItemViaPointer(docs, doc));
        }
        cJSON_Delete(docs);
        return r;
}

/* The JSON List of every object rendered */
static void print_list(cJSON *items, FILE *out)
{
        cJSON *list = cJSON_CreateObject();
        char *text;

        cJSON_AddStringToObject(list, "apiVersion", "v1");
        cJSON_AddStringToObject(list, "kind", "List");
        cJSON_AddItemToObject(list, "items", items);
        text = cJSON_Print(list);
        fprintf(out, "%s\n", text ? text : "");
        free(text);
        cJSON_Delete(list);
}

int render_manifests(const char *path, const struct render_options *o, FILE *out, FILE *errout)
{
        cJSON *karmadas = cJSON_CreateArray(), *releases = cJSON_CreateArray(), *doc;
        cJSON *items = cJSON_CreateArray();
        int status = o->diff ? 2 : 1, n = 0, r;

        if (!karmadas || !releases || !items)
                goto out;
        if (o->release_file && strcmp(o->release_file, "-") == 0 && strcmp(path, "-") == 0) {
                fprintf(errout, "karmada-operator render: -f and --release cannot both read "
                                "stdin\n");
                goto out;
        }
        if ((o->release_file && load_docs(o->release_file, NULL, releases, errout) < 0) ||
            load_docs(path, karmadas, releases, errout) < 0)
                goto out;
        status = 0;
        release_catalog_set(release_catalog_array_lookup, releases);
        cJSON_ArrayForEach (doc, karmadas) {
                n++;
                r = render_one(path, doc, o, out, errout, items);
                status = r > status ? r : status;
        }
        release_catalog_set(NULL, NULL);
        if (n == 0) {
                fprintf(errout, "karmada-operator render: %s: no Karmada object found\n", path);
                status = o->diff ? 2 : 1;
        }
        if (o->json && !o->diff && n > 0) {
                print_list(items, out);
                items = NULL;
        }
out:
        cJSON_Delete(items);
        cJSON_Delete(karmadas);
        cJSON_Delete(releases);
        return status;
}
