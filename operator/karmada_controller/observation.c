/* SPDX-License-Identifier: Apache-2.0 */
#include "observation.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "karmada/spec.h"
#include "util/hashmap.h"
#include "util/strbuf.h"

struct observation {
        const struct observation_source *src;
        struct hashmap *seen;  /* "group/resource\x1fns\x1fname" -> struct seen */
        struct seen *replaced; /* kept to the end: what was returned before stays valid */
        size_t reads;
};

/* One object as seen: a reference into a cache, an object of our own, or neither (absent). */
struct seen {
        struct kobj *cached;
        cJSON *own;
        struct seen *next; /* in `replaced` */
};

static void seen_free(struct seen *s)
{
        if (!s)
                return;
        kobj_unref(s->cached);
        cJSON_Delete(s->own);
        free(s);
}

static const cJSON *seen_json(const struct seen *s)
{
        return s->cached ? kobj_json(s->cached) : s->own;
}

int observation_new(const struct observation_source *src, struct observation **ret)
{
        struct observation *ob = calloc(1, sizeof(*ob));

        if (!ob)
                return -ENOMEM;
        ob->src = src;
        ob->seen = hashmap_new();
        if (!ob->seen) {
                free(ob);
                return -ENOMEM;
        }
        *ret = ob;
        return 0;
}

void observation_free(struct observation *ob)
{
        if (!ob)
                return;
        for (const struct hashmap_entry *e = hashmap_first(ob->seen); e;
             e = hashmap_next(ob->seen, e))
                seen_free(hashmap_entry_value(e));
        hashmap_free(ob->seen);
        while (ob->replaced) {
                struct seen *next = ob->replaced->next;
                seen_free(ob->replaced);
                ob->replaced = next;
        }
        free(ob);
}

static int key_of(const struct kube_resource *r, const char *ns, const char *name,
                  struct strbuf *key)
{
        /* a KarmadaBackup's Secrets are read beside it, maybe in another cluster than the
         * instance's: other objects than the instance's Secrets of the same name */
        return strbuf_printf(key, "%s/%s%s\x1f%s\x1f%s", r->group, r->resource,
                             r == &karmada_backup_secrets ? "@backup" : "", ns ? ns : "", name);
}

/* Look r's object up once: in its cache, else by a direct read; absent when neither has it. */
static struct seen *look_up(struct observation *ob, const struct kube_resource *r, const char *ns,
                            const char *name)
{
        const struct observation_source *src = ob->src;
        struct store *store = src->store_of ? src->store_of(src->userdata, r) : NULL;
        struct seen *s = calloc(1, sizeof(*s));
        char key[1024];
        cJSON *got = NULL;

        if (!s)
                return NULL;
        if (ns)
                snprintf(key, sizeof(key), "%s/%s", ns, name);
        else
                snprintf(key, sizeof(key), "%s", name);
        if (store)
                s->cached = store_get(store, key);
        if (!s->cached && src->read) {
                ob->reads++;
                if (src->read(src->userdata, r, ns, name, &got) == 0)
                        s->own = got;
        }
        return s;
}

const cJSON *observation_get(struct observation *ob, const struct kube_resource *r, const char *ns,
                             const char *name)
{
        struct strbuf key = {0};
        struct seen *s;

        if (!name || key_of(r, ns, name, &key) < 0) {
                strbuf_free(&key);
                return NULL;
        }
        s = hashmap_get(ob->seen, key.buf);
        if (!s) {
                s = look_up(ob, r, ns, name);
                if (s && hashmap_put(ob->seen, key.buf, s, NULL) < 0) {
                        seen_free(s);
                        s = NULL;
                }
        }
        strbuf_free(&key);
        return s ? seen_json(s) : NULL;
}

int observation_set(struct observation *ob, const struct kube_resource *r, const char *ns,
                    const char *name, cJSON *obj)
{
        struct strbuf key = {0};
        struct seen *s = calloc(1, sizeof(*s)), *old = NULL;
        int q;

        if (!s || !name || key_of(r, ns, name, &key) < 0) {
                free(s);
                strbuf_free(&key);
                cJSON_Delete(obj);
                return -ENOMEM;
        }
        s->own = obj;
        q = hashmap_put(ob->seen, key.buf, s, (void **)&old);
        if (q < 0)
                seen_free(s);
        if (old) {
                old->next = ob->replaced;
                ob->replaced = old;
        }
        strbuf_free(&key);
        return q;
}

size_t observation_size(const struct observation *ob)
{
        return hashmap_size(ob->seen);
}

size_t observation_reads(const struct observation *ob)
{
        return ob->reads;
}
