/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator render -f FILE: every object the operator would apply for the Karmada
 * objects in FILE, as YAML, without a cluster. Generated key material is masked unless asked
 * for: the output is for review. */
#include "render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "karmada/spec.h"
#include "reconciler.h"
#include "util/fileio.h"
#include "util/strbuf.h"
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

/* What is generated anew by every render: Secrets' data (keys, certificates, kubeconfigs) and
 * CA bundles. The length of an ECDSA signature varies: no length either, for stable output. */
static void mask_generated(const struct desired_object *o)
{
        cJSON *e;

        if (o->resource == &kube_secrets)
                cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(o->obj, "data"))
                        cJSON_SetValuestring(e, "<generated>");
        mask_ca_bundles(o->obj);
}

int ko_render(const char *path, const struct render_options *o, FILE *out, FILE *errout)
{
        struct yaml_limits lim = {0};
        char *text = NULL, err[1024];
        cJSON *docs = NULL, *doc;
        size_t len;
        int r, status = 0, n = 0;

        r = strcmp(path, "-") == 0 ? -ENOTSUP : fileio_read(path, 16u << 20, &text, &len);
        if (r == -ENOTSUP) {
                struct strbuf sb = {.max = 16u << 20};
                char buf[8192];
                size_t got;
                r = 0;
                while (r == 0 && (got = fread(buf, 1, sizeof(buf), stdin)) > 0)
                        r = strbuf_append(&sb, buf, got);
                len = sb.len;
                text = r == 0 ? strbuf_steal(&sb) : NULL;
                strbuf_free(&sb);
                if (r == 0 && !text)
                        r = -ENOMEM;
        }
        if (r < 0) {
                fprintf(errout, "karmada-operator render: %s: %s\n", path, strerror(-r));
                return 1;
        }
        r = yaml_parse_stream(text, len, path, &lim, &docs, err, sizeof(err));
        free(text);
        if (r < 0) {
                fprintf(errout, "karmada-operator render: %s\n", err);
                return 1;
        }
        cJSON_ArrayForEach (doc, docs) {
                const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
                struct ko_spec_error serr = {{0}};
                struct karmada *k = NULL;
                struct desired d;
                const cJSON **objs;
                char *yaml = NULL;

                if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Karmada") != 0)
                        continue;
                n++;
                /* render shows what a new instance gets: the namespace is the object's */
                r = karmada_parse(doc, &k, &serr);
                if (r < 0) {
                        fprintf(errout, "karmada-operator render: %s: invalid Karmada: %s\n", path,
                                r == -EINVAL ? serr.message : strerror(-r));
                        status = 1;
                        continue;
                }
                r = ko_build_desired(k, NULL, o->keys, &d, err, sizeof(err));
                if (r < 0) {
                        fprintf(errout, "karmada-operator render: %s/%s: %s\n", k->namespace,
                                k->name, err);
                        karmada_free(k);
                        status = 1;
                        continue;
                }
                for (int i = 0; i < d.n_waiting; i++)
                        fprintf(errout,
                                "# %s/%s: %s is not rendered without a cluster: it waits for %s\n",
                                k->namespace, k->name, d.waiting[i].owner, d.waiting[i].what);
                /* the host cluster's objects, then those of the Karmada API server */
                objs = calloc(d.n + 1, sizeof(*objs));
                for (int where = 0; objs && where < 2; where++) {
                        size_t m = 0;
                        for (size_t i = 0; i < d.n; i++) {
                                if (d.objs[i].in_karmada != (where == 1))
                                        continue;
                                if (!o->show_secrets)
                                        mask_generated(&d.objs[i]);
                                objs[m++] = d.objs[i].obj;
                        }
                        if (where == 1 && m && !o->json)
                                fprintf(out,
                                        "# In the Karmada API server of %s/%s (through its admin "
                                        "kubeconfig):\n",
                                        k->namespace, k->name);
                        for (size_t i = 0; o->json && i < m; i++) {
                                char *j = cJSON_Print(objs[i]);
                                fprintf(out, "%s\n", j ? j : "");
                                free(j);
                        }
                        if (!o->json && m && yaml_emit(objs, m, &yaml) == 0)
                                fputs(yaml, out);
                        free(yaml);
                        yaml = NULL;
                }
                free(objs);
                desired_free(&d);
                karmada_free(k);
        }
        cJSON_Delete(docs);
        if (n == 0) {
                fprintf(errout, "karmada-operator render: %s: no Karmada object found\n", path);
                return 1;
        }
        return status;
}
