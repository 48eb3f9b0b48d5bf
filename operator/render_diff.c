/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator render --diff: what the operator would change in the host cluster for a
 * Karmada object, against what is there now. The desired state is built from the live objects
 * (existing certificates are kept, as the operator keeps them); each object the operator would
 * apply (it is not in sync) is applied as a server-side-apply dry run and the result compared
 * with the live object, field by field; objects of the instance it would no longer want are
 * listed as deleted. Secrets' values are never printed. */
#include "render_diff.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "karmada/names.h"
#include "karmada/sync.h"
#include "kube/nodes.h"
#include "reconciler.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/strbuf.h"

#define MAX_LINES 40 /* of one object's changes */

/* The live objects read, each once (NULL values: absent) */
struct live {
        struct kube_client *c;
        struct hashmap *objs;
        int error; /* the first failed read */
        char why[512];
};

static const cJSON *live_get(void *userdata, const struct kube_resource *r, const char *ns,
                             const char *name)
{
        struct live *l = userdata;
        struct kube_status st = {0};
        char key[512];
        cJSON *obj = NULL;
        int q;

        snprintf(key, sizeof(key), "%s/%s/%s/%s", r->group, r->resource, ns ? ns : "", name);
        if (hashmap_contains(l->objs, key))
                return hashmap_get(l->objs, key);
        q = kube_get(l->c, r, ns, name, &obj, &st);
        if (q < 0 && q != -ENOENT && !l->error) {
                l->error = q;
                snprintf(l->why, sizeof(l->why), "read %s %s: %s", r->kind, name, st.message);
        }
        if (hashmap_put(l->objs, key, obj, NULL) < 0) {
                cJSON_Delete(obj);
                return NULL;
        }
        return obj;
}

static void live_free(struct live *l)
{
        for (const struct hashmap_entry *e = hashmap_first(l->objs); e;
             e = hashmap_next(l->objs, e))
                cJSON_Delete(hashmap_entry_value(e));
        hashmap_free(l->objs);
}

/* Fields the server sets, not what the operator applies */
static bool server_field(const char *path)
{
        static const char *const skip[] = {
                ".metadata.resourceVersion",   ".metadata.generation", ".metadata.managedFields",
                ".metadata.creationTimestamp", ".metadata.uid",        ".status"};

        for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
                if (strcmp(path, skip[i]) == 0)
                        return true;
        return false;
}

static void path_key(struct strbuf *p, const char *key)
{
        bool plain = *key != '\0';

        for (const char *c = key; *c; c++)
                plain = plain && (isalnum((unsigned char)*c) || *c == '_' || *c == '-');
        strbuf_printf(p, plain ? ".%s" : "[\"%s\"]", key);
}

struct changes {
        FILE *out;
        bool secret; /* data and stringData are not printed */
        int lines;
};

static void print_value(FILE *out, const cJSON *v)
{
        char *s = v ? cJSON_PrintUnformatted(v) : NULL;

        if (!v)
                fputs("(none)", out);
        else if (s && strlen(s) > 120)
                fprintf(out, "%.117s...", s);
        else
                fputs(s ? s : "?", out);
        free(s);
}

static void change(struct changes *ch, const char *path, const cJSON *a, const cJSON *b)
{
        if (ch->lines++ >= MAX_LINES)
                return;
        fprintf(ch->out, "    %s: ", path);
        if (ch->secret &&
            (strncmp(path, ".data", 5) == 0 || strncmp(path, ".stringData", 11) == 0)) {
                fputs(!a ? "(added)\n" : !b ? "(removed)\n" : "(changed)\n", ch->out);
                return;
        }
        print_value(ch->out, a);
        fputs(" -> ", ch->out);
        print_value(ch->out, b);
        fputc('\n', ch->out);
}

/* Each leaf where a (live) and b (as applied) differ, under path */
static void compare(struct changes *ch, const char *path, const cJSON *a, const cJSON *b)
{
        const cJSON *e;

        if (server_field(path) || (a && b && cJSON_Compare(a, b, true)))
                return;
        if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
                cJSON_ArrayForEach (e, a) {
                        struct strbuf p = {0};
                        strbuf_printf(&p, "%s", path);
                        path_key(&p, e->string);
                        compare(ch, p.buf, e, cJSON_GetObjectItemCaseSensitive(b, e->string));
                        strbuf_free(&p);
                }
                cJSON_ArrayForEach (e, b) {
                        struct strbuf p = {0};
                        if (cJSON_GetObjectItemCaseSensitive(a, e->string))
                                continue;
                        strbuf_printf(&p, "%s", path);
                        path_key(&p, e->string);
                        compare(ch, p.buf, NULL, e);
                        strbuf_free(&p);
                }
        } else if (cJSON_IsArray(a) && cJSON_IsArray(b) &&
                   cJSON_GetArraySize(a) == cJSON_GetArraySize(b)) {
                for (int i = 0; i < cJSON_GetArraySize(a); i++) {
                        struct strbuf p = {0};
                        strbuf_printf(&p, "%s[%d]", path, i);
                        compare(ch, p.buf, cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i));
                        strbuf_free(&p);
                }
        } else {
                change(ch, path, a, b);
        }
}

/* One object the operator would apply: nothing when it is in sync; else what the dry run
 * changes. 1 when it would change, 0 when not, 2 on an error. */
static int diff_object(struct kube_client *c, struct desired_object *o, const cJSON *live,
                       FILE *out, FILE *errout)
{
        struct kube_write_options wo = {
                .field_manager = KO_MANAGER, .force = true, .dry_run = true};
        const char *ns = json_str(o->obj, "metadata", "namespace");
        const char *name = json_str(o->obj, "metadata", "name");
        struct changes ch = {.out = out, .secret = o->resource == &kube_secrets};
        struct kube_status st = {0};
        cJSON *after = NULL;
        char why[256];

        if (sync_in_sync(o->obj, live, why, sizeof(why)))
                return 0;
        if (kube_apply(c, o->resource, ns, o->obj, &wo, &after, &st) < 0) {
                fprintf(errout, "karmada-operator render: dry run of %s %s/%s: %s\n",
                        o->resource->kind, ns ? ns : "", name, st.message);
                return 2;
        }
        if (!live) {
                fprintf(out, "+ %s %s/%s (created)\n", o->resource->kind, ns ? ns : "", name);
        } else {
                fprintf(out, "~ %s %s/%s\n", o->resource->kind, ns ? ns : "", name);
                compare(&ch, "", live, after);
                if (ch.lines > MAX_LINES)
                        fprintf(out, "    ... and %d more\n", ch.lines - MAX_LINES);
                if (!ch.lines) /* what differs is the operator's own hash: it applies again */
                        fprintf(out, "    (applied again, %s; nothing else changes)\n", why);
        }
        cJSON_Delete(after);
        return 1;
}

/* The instance's objects in the host that d no longer wants: listed as deleted */
static int diff_deleted(struct kube_client *c, const struct karmada *k, const struct desired *d,
                        FILE *out, FILE *errout)
{
        char sel[512];
        int status = 0;

        /* in another cluster, by its owner's uid too, as the finalizer deletes there (another
         * operator's instance of that name may live there) */
        snprintf(sel, sizeof(sel), KO_INSTANCE_SELECTOR "%s%s%s", k->name,
                 k->host_secret_name && k->uid ? "," KO_LABEL_OWNER_UID "=" : "",
                 k->host_secret_name && k->uid ? k->uid : "");
        for (size_t i = 0; i < DESIRED_N_OWNED; i++) {
                struct kube_status st = {0};
                cJSON *list = NULL;
                const cJSON *o;
                if (kube_list(c, desired_owned[i], k->namespace,
                              &(struct kube_list_options){.label_selector = sel}, &list, &st) < 0) {
                        fprintf(errout, "karmada-operator render: list %s: %s\n",
                                desired_owned[i]->resource, st.message);
                        return 2;
                }
                cJSON_ArrayForEach (o, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                        const char *name = json_str(o, "metadata", "name") ?: "";
                        if (desired_wants(d, false, desired_owned[i], NULL, name))
                                continue;
                        fprintf(out, "- %s %s/%s (deleted)\n", desired_owned[i]->kind, k->namespace,
                                name);
                        status = 1;
                }
                cJSON_Delete(list);
        }
        return status;
}

static int worst(int a, int b)
{
        return a > b ? a : b;
}

int render_diff(const struct karmada *k, struct kube_client *c, enum pki_key_type keys, FILE *out,
                FILE *errout)
{
        struct live l = {.c = c, .objs = hashmap_new()};
        struct observed ob = {.get = live_get, .userdata = &l};
        char node[256] = "", err[1024];
        struct desired d;
        int status = 0, in_karmada = 0;

        if (!l.objs)
                return 2;
        if (k->host_secret_name && k->host_endpoint[0])
                ob.node_address = k->host_endpoint;
        else if (kube_node_address(c, node, sizeof(node)) == 0 && node[0])
                ob.node_address = node;
        if (registry_build_desired(k, &ob, keys, &d, err, sizeof(err)) < 0) {
                fprintf(errout, "karmada-operator render: %s/%s: %s\n", k->namespace, k->name, err);
                live_free(&l);
                return 2;
        }
        for (int i = 0; i < d.n_waiting; i++)
                fprintf(errout, "# %s/%s: %s is not compared: it waits for %s\n", k->namespace,
                        k->name, d.waiting[i].owner, d.waiting[i].what);
        for (size_t i = 0; i < d.n && !l.error; i++) {
                struct desired_object *o = &d.objs[i];
                in_karmada += o->in_karmada;
                if (o->in_karmada || sync_stamp(o->obj) < 0)
                        continue;
                status = worst(status, diff_object(c, o,
                                                   live_get(&l, o->resource, k->namespace,
                                                            json_str(o->obj, "metadata", "name")),
                                                   out, errout));
        }
        if (l.error) {
                fprintf(errout, "karmada-operator render: %s\n", l.why);
                status = 2;
        } else {
                status = worst(status, diff_deleted(c, k, &d, out, errout));
        }
        if (in_karmada)
                fprintf(errout,
                        "# %s/%s: its %d objects in the Karmada API server are not compared\n",
                        k->namespace, k->name, in_karmada);
        desired_free(&d);
        live_free(&l);
        return status;
}
