/* SPDX-License-Identifier: Apache-2.0 */
#include "hashmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hashmap_entry {
        struct hashmap_entry *next;
        uint64_t hash;
        void *value;
        char key[]; /* NUL-terminated */
};

struct hashmap {
        struct hashmap_entry **buckets;
        size_t n_buckets; /* a power of two */
        size_t size;
};

static uint64_t fnv1a(const char *s)
{
        uint64_t h = 14695981039346656037ULL;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

struct hashmap *hashmap_new(void)
{
        struct hashmap *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->n_buckets = 16;
        m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
        if (!m->buckets) {
                free(m);
                return NULL;
        }
        return m;
}

void hashmap_free(struct hashmap *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_buckets; i++) {
                struct hashmap_entry *e = m->buckets[i];
                while (e) {
                        struct hashmap_entry *n = e->next;
                        free(e);
                        e = n;
                }
        }
        free(m->buckets);
        free(m);
}

size_t hashmap_size(const struct hashmap *m)
{
        return m->size;
}

static struct hashmap_entry **find(const struct hashmap *m, const char *key, uint64_t h)
{
        struct hashmap_entry **p = &m->buckets[h & (m->n_buckets - 1)];

        for (; *p; p = &(*p)->next)
                if ((*p)->hash == h && strcmp((*p)->key, key) == 0)
                        return p;
        return p;
}

void *hashmap_get(const struct hashmap *m, const char *key)
{
        struct hashmap_entry **p = find(m, key, fnv1a(key));

        return *p ? (*p)->value : NULL;
}

bool hashmap_contains(const struct hashmap *m, const char *key)
{
        return *find(m, key, fnv1a(key)) != NULL;
}

static int grow(struct hashmap *m)
{
        size_t n = m->n_buckets * 2;
        struct hashmap_entry **b = calloc(n, sizeof(*b));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_buckets; i++) {
                struct hashmap_entry *e = m->buckets[i];
                while (e) {
                        struct hashmap_entry *next = e->next;
                        e->next = b[e->hash & (n - 1)];
                        b[e->hash & (n - 1)] = e;
                        e = next;
                }
        }
        free(m->buckets);
        m->buckets = b;
        m->n_buckets = n;
        return 0;
}

int hashmap_put(struct hashmap *m, const char *key, void *value, void **ret_old)
{
        uint64_t h = fnv1a(key);
        struct hashmap_entry **p = find(m, key, h), *e;
        size_t len;

        if (*p) {
                if (ret_old)
                        *ret_old = (*p)->value;
                (*p)->value = value;
                return 0;
        }
        if (ret_old)
                *ret_old = NULL;
        if (m->size + 1 > m->n_buckets / 4 * 3) {
                if (grow(m) < 0)
                        return -ENOMEM;
                p = find(m, key, h);
        }
        len = strlen(key);
        e = malloc(sizeof(*e) + len + 1);
        if (!e)
                return -ENOMEM;
        e->next = NULL;
        e->hash = h;
        e->value = value;
        memcpy(e->key, key, len + 1);
        *p = e;
        m->size++;
        return 0;
}

void *hashmap_remove(struct hashmap *m, const char *key)
{
        struct hashmap_entry **p = find(m, key, fnv1a(key)), *e = *p;
        void *v;

        if (!e)
                return NULL;
        *p = e->next;
        v = e->value;
        free(e);
        m->size--;
        return v;
}

static const struct hashmap_entry *from_bucket(const struct hashmap *m, size_t i)
{
        for (; i < m->n_buckets; i++)
                if (m->buckets[i])
                        return m->buckets[i];
        return NULL;
}

const struct hashmap_entry *hashmap_first(const struct hashmap *m)
{
        return from_bucket(m, 0);
}

const struct hashmap_entry *hashmap_next(const struct hashmap *m, const struct hashmap_entry *e)
{
        if (e->next)
                return e->next;
        return from_bucket(m, (e->hash & (m->n_buckets - 1)) + 1);
}

const char *hashmap_entry_key(const struct hashmap_entry *e)
{
        return e->key;
}

void *hashmap_entry_value(const struct hashmap_entry *e)
{
        return e->value;
}
