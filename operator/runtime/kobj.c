/* SPDX-License-Identifier: Apache-2.0 */
/* A cached object at rest is text: its compact JSON, each long string (a certificate, a
 * kubeconfig: held once, util/intern.c) written as a mark, "\x01N", the Nth string it holds,
 * and the whole deflated (zlib: JSON's member names repeat). A tree of cJSON nodes takes several
 * times the text's memory (80 bytes a node), and the deflated text is under half the text; the
 * tree is made when a reader asks (kobj_json) and dropped when the store is the only holder
 * again. */
#include "store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/intern.h"
#include "util/zpack.h"

#define SHARED_MIN 512 /* a cached string this long is held once (a certificate, a kubeconfig) */
#define MARK       '\x01'

/* What pack() changed in the tree to print it, put back after. */
struct swap {
        cJSON *node;
        char *was;
};

struct packing {
        struct kobj *o;
        struct swap *swaps;
        size_t n_swaps, cap;
        int r;
};

static void swap_in(struct packing *p, cJSON *node, char *now)
{
        struct swap *s;

        if (!now) {
                p->r = -ENOMEM;
                return;
        }
        if (p->n_swaps == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 16;
                s = realloc(p->swaps, cap * sizeof(*s));
                if (!s) {
                        free(now);
                        p->r = -ENOMEM;
                        return;
                }
                p->swaps = s, p->cap = cap;
        }
        p->swaps[p->n_swaps++] = (struct swap){node, node->valuestring};
        node->valuestring = now;
}

/* Each shared string of t noted in o->shared (held once more) and replaced by its mark; a
 * string of its own that begins with the mark gets one more in front. */
static void mark(struct packing *p, cJSON *t)
{
        struct kobj *o = p->o;
        char *m;

        for (; t && p->r == 0; t = t->next) {
                if (cJSON_IsString(t) && (t->type & cJSON_IsReference)) {
                        const struct intern_str **l =
                                realloc(o->shared, (o->n_shared + 1) * sizeof(*l));
                        if (!l || asprintf(&m, "%c%zu", MARK, o->n_shared) < 0) {
                                o->shared = l ? l : o->shared;
                                p->r = -ENOMEM;
                                return;
                        }
                        o->shared = l;
                        o->shared[o->n_shared++] = intern_keep(t->valuestring);
                        swap_in(p, t, m);
                } else if (cJSON_IsString(t) && t->valuestring && t->valuestring[0] == MARK) {
                        swap_in(p, t, asprintf(&m, "%c%s", MARK, t->valuestring) < 0 ? NULL : m);
                }
                mark(p, t->child);
        }
}

/* o's deflated text, from its tree */
static int pack(struct kobj *o, cJSON *tree)
{
        struct packing p = {.o = o};
        char *text = NULL;

        mark(&p, tree->child);
        if (p.r == 0) {
                text = cJSON_PrintUnformatted(tree);
                o->text_len = text ? strlen(text) : 0;
                p.r = text ? zpack(text, o->text_len, &o->packed, &o->packed_len) : -ENOMEM;
                free(text);
        }
        while (p.n_swaps--) {
                struct swap *s = &p.swaps[p.n_swaps];
                free(s->node->valuestring);
                s->node->valuestring = s->was;
        }
        free(p.swaps);
        return p.r;
}

/* The marks of t back to the strings they stand for (held open, by the tree); -ENOMEM */
static int unmark(const struct kobj *o, cJSON *t)
{
        for (; t; t = t->next) {
                char *s = cJSON_IsString(t) ? t->valuestring : NULL, *end;
                const char *shared;
                if (s && s[0] == MARK && s[1] == MARK) {
                        memmove(s, s + 1, strlen(s));
                } else if (s && s[0] == MARK) {
                        unsigned long long i = strtoull(s + 1, &end, 10);
                        if (!*end && end != s + 1 && i < o->n_shared) {
                                if (!(shared = intern_open(o->shared[i])))
                                        return -ENOMEM;
                                free(s);
                                t->valuestring = (char *)shared;
                                t->type |= cJSON_IsReference;
                        }
                }
                if (unmark(o, t->child) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void tree_free(cJSON *t)
{
        intern_json_release(t);
        cJSON_Delete(t);
}

static cJSON *unpack(const struct kobj *o)
{
        char *text = malloc(o->text_len + 1);
        cJSON *t = NULL;

        if (text && zunpack(o->packed, o->packed_len, text, o->text_len) == 0)
                t = cJSON_ParseWithLength(text, o->text_len);
        free(text);
        if (t && unmark(o, t->child) < 0) {
                tree_free(t);
                return NULL;
        }
        intern_json(t, SIZE_MAX); /* its member names: those held for good */
        return t;
}

struct kobj *kobj_new(cJSON *json)
{
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(json, "metadata"), "resourceVersion");
        char key[512];
        struct kobj *o;

        if (kube_object_key(json, key, sizeof(key)) < 0) {
                cJSON_Delete(json);
                return NULL;
        }
        o = calloc(1, sizeof(*o));
        if (!o) {
                cJSON_Delete(json);
                return NULL;
        }
        atomic_init(&o->refs, 1);
        pthread_mutex_init(&o->lock, NULL);
        intern_json(json, SHARED_MIN);
        o->tree = json;
        o->key = strdup(key);
        o->rv = strdup(cJSON_IsString(rv) ? rv->valuestring : "");
        if (!o->key || !o->rv || pack(o, json) < 0) {
                kobj_unref(o);
                return NULL;
        }
        return o;
}

struct kobj *kobj_ref(struct kobj *o)
{
        if (o)
                atomic_fetch_add(&o->refs, 1);
        return o;
}

void kobj_unref(struct kobj *o)
{
        cJSON *drop = NULL;
        int left;

        if (!o)
                return;
        pthread_mutex_lock(&o->lock);
        left = atomic_fetch_sub(&o->refs, 1) - 1;
        if (left == 1 && o->in_store) /* no reader is left: the tree goes, the text stays */
                drop = o->tree, o->tree = NULL;
        pthread_mutex_unlock(&o->lock);
        tree_free(drop);
        if (left)
                return;
        tree_free(o->tree);
        for (size_t i = 0; i < o->n_shared; i++)
                intern_drop(o->shared[i]);
        free(o->shared);
        free(o->packed);
        free(o->key);
        free(o->rv);
        pthread_mutex_destroy(&o->lock);
        free(o);
}

const cJSON *kobj_json(struct kobj *o)
{
        const cJSON *t;

        pthread_mutex_lock(&o->lock);
        if (!o->tree && o->packed)
                o->tree = unpack(o);
        t = o->tree;
        pthread_mutex_unlock(&o->lock);
        return t;
}

void kobj_in_store(struct kobj *o, bool in)
{
        pthread_mutex_lock(&o->lock);
        o->in_store = in;
        pthread_mutex_unlock(&o->lock);
}

size_t kobj_rest_bytes(const struct kobj *o)
{
        return o->packed_len + o->n_shared * sizeof(*o->shared);
}
