/* SPDX-License-Identifier: Apache-2.0 */
/* ko-crdgen SRC.yaml OPENAPI.json > CRD.yaml
 *
 * Expands a CustomResourceDefinition source: every schema node `{x-ko-ref: NAME}` becomes the
 * structural schema of the Kubernetes type NAME from an OpenAPI v3 document, as
 * controller-gen would embed it: references inlined, descriptions and enums dropped (the
 * source's own description kept), object and array defaults dropped, IntOrString, Quantity,
 * Time and ObjectMeta given their CRD forms. A node's `x-ko-fragments: DIR` (relative to the
 * source) becomes its `properties`: each DIR/<key>.yaml, by name, is the schema of <key> (the
 * feature reconcilers' blocks of spec.features, one file each). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/fileio.h"
#include "util/yaml.h"

#define MAX_DEPTH 64

static const cJSON *schemas;
static char src_dir[4096]; /* the source file's directory */

static cJSON *convert(const cJSON *s, int depth);

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "ko-crdgen: %s%s\n", what, arg);
        exit(1);
}

static cJSON *int_or_string(void)
{
        cJSON *o = cJSON_CreateObject();
        cJSON *any = cJSON_AddArrayToObject(o, "anyOf");

        cJSON_AddItemToArray(any, cJSON_Parse("{\"type\":\"integer\"}"));
        cJSON_AddItemToArray(any, cJSON_Parse("{\"type\":\"string\"}"));
        return o;
}

/* The CRD forms of types whose OpenAPI schema does not fit a structural schema. */
static cJSON *special(const char *name)
{
        cJSON *o;

        if (strcmp(name, "io.k8s.apimachinery.pkg.util.intstr.IntOrString") == 0) {
                o = int_or_string();
                cJSON_AddTrueToObject(o, "x-kubernetes-int-or-string");
                return o;
        }
        if (strcmp(name, "io.k8s.apimachinery.pkg.api.resource.Quantity") == 0) {
                o = int_or_string();
                cJSON_AddStringToObject(
                        o, "pattern",
                        "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE]("
                        "\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$");
                cJSON_AddTrueToObject(o, "x-kubernetes-int-or-string");
                return o;
        }
        if (strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.Time") == 0 ||
            strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime") == 0)
                return cJSON_Parse("{\"type\":\"string\",\"format\":\"date-time\"}");
        if (strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta") == 0)
                /* what an embedded ObjectMeta may carry in a CRD */
                return cJSON_Parse(
                        "{\"type\":\"object\",\"properties\":{"
                        "\"annotations\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
                        "\"string\"}},"
                        "\"finalizers\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                        "\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
                        "\"string\"}},"
                        "\"name\":{\"type\":\"string\"},\"namespace\":{\"type\":\"string\"}}}");
        return NULL;
}

static cJSON *resolve(const char *ref, int depth)
{
        const char *prefix = "#/components/schemas/";
        const char *name = ref;
        const cJSON *s;
        cJSON *sp;

        if (strncmp(ref, prefix, strlen(prefix)) == 0)
                name += strlen(prefix);
        sp = special(name);
        if (sp)
                return sp;
        s = cJSON_GetObjectItemCaseSensitive(schemas, name);
        if (!s)
                die("no such schema in the OpenAPI document: ", name);
        return convert(s, depth + 1);
}

static int cmp_keys(const void *a, const void *b)
{
        return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static void copy_if(cJSON *dst, const cJSON *src, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);

        if (v)
                cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, true));
}

static cJSON *convert(const cJSON *s, int depth)
{
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
        const cJSON *props, *items, *addl, *def;
        cJSON *o;

        if (depth > MAX_DEPTH)
                die("schema nesting too deep (a recursive type?)", "");
        if (cJSON_IsString(ref))
                return resolve(ref->valuestring, depth);
        if (cJSON_IsArray(all) && cJSON_GetArraySize(all) == 1) {
                const cJSON *r =
                        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(all, 0), "$ref");
                if (!cJSON_IsString(r))
                        die("allOf without a single $ref", "");
                o = resolve(r->valuestring, depth);
                def = cJSON_GetObjectItemCaseSensitive(s, "default");
                if (def && !cJSON_IsObject(def) && !cJSON_IsArray(def) &&
                    !cJSON_GetObjectItemCaseSensitive(o, "default"))
                        cJSON_AddItemToObject(o, "default", cJSON_Duplicate(def, true));
                return o;
        }
        o = cJSON_CreateObject();
        copy_if(o, s, "type");
        copy_if(o, s, "format");
        if (cJSON_GetObjectItemCaseSensitive(o, "format") &&
            strcmp(cJSON_GetObjectItemCaseSensitive(o, "format")->valuestring, "int-or-string") ==
                    0)
                cJSON_DeleteItemFromObjectCaseSensitive(o, "format");
        props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        if (cJSON_IsObject(props)) {
                int n = cJSON_GetArraySize(props), i = 0;
                cJSON **keys = calloc((size_t)n, sizeof(*keys)), *p;
                const cJSON *it;

                cJSON_ArrayForEach (it, props)
                        keys[i++] = (cJSON *)it;
                qsort(keys, (size_t)n, sizeof(*keys), cmp_keys);
                p = cJSON_AddObjectToObject(o, "properties");
                for (i = 0; i < n; i++)
                        cJSON_AddItemToObject(p, keys[i]->string, convert(keys[i], depth + 1));
                free(keys);
        }
        addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
        if (cJSON_IsObject(addl))
                cJSON_AddItemToObject(o, "additionalProperties", convert(addl, depth + 1));
        else if (addl)
                cJSON_AddItemToObject(o, "additionalProperties", cJSON_Duplicate(addl, true));
        items = cJSON_GetObjectItemCaseSensitive(s, "items");
        if (items)
                cJSON_AddItemToObject(o, "items", convert(items, depth + 1));
        copy_if(o, s, "required");
        def = cJSON_GetObjectItemCaseSensitive(s, "default");
        if (def && !cJSON_IsObject(def) && !cJSON_IsArray(def))
                cJSON_AddItemToObject(o, "default", cJSON_Duplicate(def, true));
        copy_if(o, s, "x-kubernetes-list-type");
        copy_if(o, s, "x-kubernetes-list-map-keys");
        copy_if(o, s, "x-kubernetes-map-type");
        copy_if(o, s, "x-kubernetes-int-or-string");
        copy_if(o, s, "x-kubernetes-preserve-unknown-fields");
        copy_if(o, s, "maxLength");
        copy_if(o, s, "minLength");
        copy_if(o, s, "maxItems");
        copy_if(o, s, "minimum");
        copy_if(o, s, "maximum");
        copy_if(o, s, "pattern");
        return o;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* node's x-ko-fragments: DIR becomes properties, one per DIR/<key>.yaml */
static void fragments(cJSON *node, const char *dir)
{
        char path[8192], err[512], *names[256], *text;
        cJSON *props = cJSON_CreateObject(), *schema;
        size_t n = 0, len;
        struct dirent *e;
        DIR *d;

        snprintf(path, sizeof(path), "%s/%s", src_dir, dir);
        d = opendir(path);
        if (!d)
                die("cannot read the fragments in ", path);
        while ((e = readdir(d)) && n < 256)
                if (strlen(e->d_name) > 5 && strcmp(strrchr(e->d_name, '.'), ".yaml") == 0)
                        names[n++] = strdup(e->d_name);
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_names);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/%s/%s", src_dir, dir, names[i]);
                if (fileio_read(path, 1u << 20, &text, &len) < 0)
                        die("cannot read ", path);
                if (yaml_parse_one(text, len, path, NULL, &schema, err, sizeof(err)) < 0)
                        die(err, "");
                *strrchr(names[i], '.') = '\0';
                cJSON_AddItemToObject(props, names[i], schema);
                free(names[i]);
                free(text);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(node, "x-ko-fragments");
        cJSON_AddItemToObject(node, "properties", props);
}

/* Replace every {x-ko-ref: NAME, description?} in the source, in place, and fill every
 * x-ko-fragments. */
static void expand(cJSON *node)
{
        for (cJSON *c = node ? node->child : NULL; c; c = c->next) {
                const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c, "x-ko-ref");
                if (cJSON_IsObject(c) && cJSON_IsString(ref)) {
                        cJSON *desc = cJSON_DetachItemFromObjectCaseSensitive(c, "description");
                        cJSON *repl = resolve(ref->valuestring, 0);
                        if (cJSON_GetArraySize(c) != 1)
                                die("x-ko-ref takes only a description beside it: ",
                                    ref->valuestring);
                        if (desc) { /* the source's description first, as in hand-written nodes */
                                cJSON *ordered = cJSON_CreateObject();
                                cJSON_AddItemToObject(ordered, "description", desc);
                                while (repl->child) {
                                        cJSON *first =
                                                cJSON_DetachItemViaPointer(repl, repl->child);
                                        cJSON_AddItemToObject(ordered, first->string, first);
                                }
                                cJSON_Delete(repl);
                                repl = ordered;
                        }
                        /* keep the key: ReplaceItemViaPointer does not name the new item */
                        repl->string = c->string;
                        c->string = NULL;
                        cJSON_ReplaceItemViaPointer(node, c, repl);
                        c = repl;
                        continue;
                }
                if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "x-ko-fragments")))
                        fragments(
                                c,
                                cJSON_GetObjectItemCaseSensitive(c, "x-ko-fragments")->valuestring);
                expand(c);
        }
}

int main(int argc, char **argv)
{
        char *src_text = NULL, *api_text = NULL, *out = NULL, err[512];
        size_t src_len, api_len;
        cJSON *crd = NULL, *api;
        const cJSON *docs[1];

        if (argc != 3) {
                fprintf(stderr, "usage: ko-crdgen SRC.yaml OPENAPI.json > CRD.yaml\n");
                return 2;
        }
        snprintf(src_dir, sizeof(src_dir), "%s", argv[1]);
        if (strrchr(src_dir, '/'))
                *strrchr(src_dir, '/') = '\0';
        else
                snprintf(src_dir, sizeof(src_dir), ".");
        if (fileio_read(argv[1], 16u << 20, &src_text, &src_len) < 0)
                die("cannot read ", argv[1]);
        if (fileio_read(argv[2], 64u << 20, &api_text, &api_len) < 0)
                die("cannot read ", argv[2]);
        if (yaml_parse_one(src_text, src_len, argv[1], NULL, &crd, err, sizeof(err)) < 0)
                die(err, "");
        api = cJSON_ParseWithLength(api_text, api_len);
        schemas = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(api, "components"), "schemas");
        if (!schemas)
                die("no components.schemas in ", argv[2]);
        expand(crd);
        docs[0] = crd;
        if (yaml_emit(docs, 1, &out) < 0)
                die("cannot emit YAML", "");
        /* one document, no empty one before it: some readers (OLM's) take only the first */
        printf("# Generated by hack/gen-crds.sh from crds/src/; do not edit.\n%s",
               strncmp(out, "---\n", 4) == 0 ? out + 4 : out);
        free(out);
        free(src_text);
        free(api_text);
        cJSON_Delete(crd);
        cJSON_Delete(api);
        return 0;
}
