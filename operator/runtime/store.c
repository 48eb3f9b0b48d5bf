/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

#define MAX_INDEXES 8

struct index {
        const char *name;
        store_index_fn fn;
        const void *arg;
        struct hashmap *values; /* value -> hashmap of keys (a set; values unused) */
};

struct store {
        pthread_rwlock_t lock;
        struct hashmap *objects; /* key -> struct kobj* (one reference) */
        struct index indexes[MAX_INDEXES];
        size_t n_indexes;
};

/* ---- objects ---- */

int kube_object_key(const cJSON *obj, char *buf, size_t size)
{
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
        int n;

        if (!cJSON_IsString(name) || !*name->valuestring)
                return -EINVAL;
        if (cJSON_IsString(ns) && *ns->valuestring)
                n = snprintf(buf, size, "%s/%s", ns->valuestring, name->valuestring);
        else
                n = snprintf(buf, size, "%s", name->valuestring);
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

/* ---- index functions ---- */

void store_index_owner_uid(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx)
{
        const cJSON *refs = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "ownerReferences");
        const cJSON *r;

        cJSON_ArrayForEach (r, refs) {
                const cJSON *uid = cJSON_GetObjectItemCaseSensitive(r, "uid");
                if (cJSON_IsString(uid))
                        emit(ctx, uid->valuestring);
        }
}

void store_index_label(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx)
{
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, (const char *)arg);

        if (cJSON_IsString(v))
                emit(ctx, v->valuestring);
}

/* ---- store ---- */

struct store *store_new(void)
{
        struct store *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->objects = hashmap_new();
        if (!s->objects) {
                free(s);
                return NULL;
        }
        /* glibc prefers readers by default: busy workers reading the cache could starve the
         * informer's writes */
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&s->lock, &attr);
        pthread_rwlockattr_destroy(&attr);
        return s;
}

static void free_index_values(struct hashmap *values)
{
        for (const struct hashmap_entry *e = values ? hashmap_first(values) : NULL; e;
             e = hashmap_next(values, e))
                hashmap_free(hashmap_entry_value(e));
        hashmap_free(values);
}

void store_free(struct store *s)
{
        if (!s)
                return;
        for (const struct hashmap_entry *e = hashmap_first(s->objects); e;
             e = hashmap_next(s->objects, e))
                kobj_unref(hashmap_entry_value(e));
        hashmap_free(s->objects);
        for (size_t i = 0; i < s->n_indexes; i++)
                free_index_values(s->indexes[i].values);
        pthread_rwlock_destroy(&s->lock);
        free(s);
}

int store_add_index(struct store *s, const char *name, store_index_fn fn, const void *arg)
{
        struct index *ix;

        if (s->n_indexes >= MAX_INDEXES || hashmap_size(s->objects) > 0)
                return -EINVAL;
        ix = &s->indexes[s->n_indexes];
        ix->values = hashmap_new();
        if (!ix->values)
                return -ENOMEM;
        ix->name = name;
        ix->fn = fn;
        ix->arg = arg;
        s->n_indexes++;
        return 0;
}

struct index_ctx {
        struct index *ix;
        const char *key;
        bool add;
        int r;
};

static void index_emit(void *userdata, const char *value)
{
        struct index_ctx *c = userdata;
        struct hashmap *keys = hashmap_get(c->ix->values, value);

        if (c->add) {
                if (!keys) {
                        keys = hashmap_new();
                        if (!keys || hashmap_put(c->ix->values, value, keys, NULL) < 0) {
                                hashmap_free(keys);
                                c->r = -ENOMEM;
                                return;
                        }
                }
                if (hashmap_put(keys, c->key, NULL, NULL) < 0)
                        c->r = -ENOMEM;
        } else if (keys) {
                hashmap_remove(keys, c->key);
                if (hashmap_size(keys) == 0)
                        hashmap_free(hashmap_remove(c->ix->values, value));
        }
}

static int index_update(struct store *s, struct kobj *o, bool add)
{
        int r = 0;

        for (size_t i = 0; i < s->n_indexes; i++) {
                struct index_ctx c = {.ix = &s->indexes[i], .key = o->key, .add = add};
                s->indexes[i].fn(kobj_json(o), s->indexes[i].arg, index_emit, &c);
                if (c.r < 0)
                        r = c.r;
        }
        return r;
}

/* with the write lock held */
static int upsert_locked(struct store *s, struct kobj *o, struct kobj **ret_old)
{
        void *old = NULL;
        int r;

        r = hashmap_put(s->objects, o->key, kobj_ref(o), &old);
        if (r < 0) {
                kobj_unref(o);
                return r;
        }
        kobj_in_store(o, true);
        if (old) {
                kobj_in_store(old, false);
                index_update(s, old, false);
        }
        r = index_update(s, o, true);
        if (ret_old)
                *ret_old = old;
        else
                kobj_unref(old);
        return r;
}

int store_upsert(struct store *s, struct kobj *o, struct kobj **ret_old)
{
        int r;

        pthread_rwlock_wrlock(&s->lock);
        r = upsert_locked(s, o, ret_old);
        pthread_rwlock_unlock(&s->lock);
        return r;
}

int store_delete(struct store *s, const char *key, struct kobj **ret_old)
{
        struct kobj *old;

        pthread_rwlock_wrlock(&s->lock);
        old = hashmap_remove(s->objects, key);
        if (old) {
                kobj_in_store(old, false);
                index_update(s, old, false);
        }
        pthread_rwlock_unlock(&s->lock);
        if (ret_old)
                *ret_old = old;
        else
                kobj_unref(old);
        return old ? 0 : -ENOENT;
}

struct kobj *store_get(struct store *s, const char *key)
{
        struct kobj *o;

        pthread_rwlock_rdlock(&s->lock);
        o = kobj_ref(hashmap_get(s->objects, key));
        pthread_rwlock_unlock(&s->lock);
        return o;
}

size_t store_len(struct store *s)
{
        size_t n;

        pthread_rwlock_rdlock(&s->lock);
        n = hashmap_size(s->objects);
        pthread_rwlock_unlock(&s->lock);
        return n;
}

void store_list_free(struct kobj **list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                kobj_unref(list[i]);
        free(list);
}

int store_list(struct store *s, struct kobj ***ret, size_t *ret_n)
{
        struct kobj **l;
        size_t n = 0;

        pthread_rwlock_rdlock(&s->lock);
        l = calloc(hashmap_size(s->objects) + 1, sizeof(*l));
        if (l)
                for (const struct hashmap_entry *e = hashmap_first(s->objects); e;
                     e = hashmap_next(s->objects, e))
                        l[n++] = kobj_ref(hashmap_entry_value(e));
        pthread_rwlock_unlock(&s->lock);
        if (!l)
                return -ENOMEM;
        *ret = l;
        *ret_n = n;
        return 0;
}

int store_by_index(struct store *s, const char *index, const char *value, struct kobj ***ret,
                   size_t *ret_n)
{
        struct index *ix = NULL;
        struct hashmap *keys;
        struct kobj **l = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; i < s->n_indexes; i++)
                if (strcmp(s->indexes[i].name, index) == 0)
                        ix = &s->indexes[i];
        if (!ix)
                return -ENOENT;
        pthread_rwlock_rdlock(&s->lock);
        keys = hashmap_get(ix->values, value);
        l = calloc((keys ? hashmap_size(keys) : 0) + 1, sizeof(*l));
        if (!l)
                r = -ENOMEM;
        for (const struct hashmap_entry *e = keys && l ? hashmap_first(keys) : NULL; e;
             e = hashmap_next(keys, e)) {
                struct kobj *o = hashmap_get(s->objects, hashmap_entry_key(e));
                if (o)
                        l[n++] = kobj_ref(o);
        }
        pthread_rwlock_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = l;
        *ret_n = n;
        return 0;
}

struct diff {
        struct kobj *old, *new;
};

/* Whether the object of key is in namespace ns (any when ns is NULL) */
static bool in_scope(const char *key, const char *ns)
{
        size_t len = ns ? strlen(ns) : 0;

        return !ns || (strncmp(key, ns, len) == 0 && key[len] == '/');
}

int store_replace(struct store *s, const char *ns, struct kobj **objs, size_t n, store_diff_fn fn,
                  void *userdata)
{
        struct hashmap *incoming = hashmap_new();
        struct diff *d = NULL;
        size_t nd = 0, cap;
        int r = 0;

        if (!incoming)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = hashmap_put(incoming, objs[i]->key, objs[i], NULL);
        pthread_rwlock_wrlock(&s->lock);
        cap = n + hashmap_size(s->objects) + 1;
        d = calloc(cap, sizeof(*d));
        if (!d || r < 0) {
                r = -ENOMEM;
                goto out;
        }
        /* gone: cached but not listed */
        for (const struct hashmap_entry *e = hashmap_first(s->objects); e;) {
                const struct hashmap_entry *next = hashmap_next(s->objects, e);
                struct kobj *old = hashmap_entry_value(e);
                if (in_scope(old->key, ns) && !hashmap_contains(incoming, old->key)) {
                        hashmap_remove(s->objects, old->key);
                        kobj_in_store(old, false);
                        index_update(s, old, false);
                        d[nd++] = (struct diff){.old = old};
                }
                e = next;
        }
        for (size_t i = 0; i < n; i++) {
                struct kobj *old = NULL;
                r = upsert_locked(s, objs[i], &old);
                if (r < 0) {
                        kobj_unref(old);
                        break;
                }
                if (!old || strcmp(old->rv, objs[i]->rv) != 0)
                        d[nd++] = (struct diff){.old = old, .new = kobj_ref(objs[i])};
                else
                        kobj_unref(old);
        }
out:
        pthread_rwlock_unlock(&s->lock);
        hashmap_free(incoming);
        for (size_t i = 0; i < nd; i++) {
                if (fn)
                        fn(userdata, d[i].old, d[i].new);
                kobj_unref(d[i].old);
                kobj_unref(d[i].new);
        }
        free(d);
        return r;
}
