/* SPDX-License-Identifier: Apache-2.0 */
#include "intern.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hashmap.h"
#include "strbuf.h"

struct shared {
        size_t refs, len;
        char key[SHA256_HEX_LEN]; /* the digest of s: its key in the table */
        char s[];
};

/* Member names are few and the same in every object ("metadata", "name", label keys): each is
 * held once, for good (never freed, so that a copy of an object, which cJSON_Duplicate makes by
 * pointing at a constant name, never outlives it), up to NAMES_MAX names of NAME_MAX_LEN bytes;
 * beyond that a name stays its object's own. */
#define NAMES_MAX    8192
#define NAME_MAX_LEN 128

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *table; /* digest -> struct shared */
static size_t total_bytes;
static struct hashmap *names; /* member name -> its copy, held for good */

/* The shared copy of s, of len bytes (one more holder), or NULL: out of memory, or another
 * string under its digest (never in practice, but then s stays its holder's own). */
static const char *take(const char *s, size_t len)
{
        char key[SHA256_HEX_LEN];
        struct shared *e = NULL;

        if (sha256_hex(s, len, key) < 0)
                return NULL;
        pthread_mutex_lock(&lock);
        if (!table)
                table = hashmap_new();
        e = table ? hashmap_get(table, key) : NULL;
        if (e && (e->len != len || memcmp(e->s, s, len) != 0))
                e = NULL;
        else if (e)
                e->refs++;
        else if (table && (e = malloc(sizeof(*e) + len + 1))) {
                e->refs = 1, e->len = len;
                memcpy(e->key, key, sizeof(key));
                memcpy(e->s, s, len + 1);
                if (hashmap_put(table, key, e, NULL) < 0) {
                        free_secret(e, sizeof(*e) + len + 1);
                        e = NULL;
                } else {
                        total_bytes += len;
                }
        }
        pthread_mutex_unlock(&lock);
        return e ? e->s : NULL;
}

static struct shared *shared_of(const char *s)
{
        return (struct shared *)(void *)(s - offsetof(struct shared, s));
}

static void give_back(const char *s)
{
        struct shared *e = shared_of(s);

        pthread_mutex_lock(&lock);
        if (--e->refs == 0) {
                hashmap_remove(table, e->key);
                total_bytes -= e->len;
                free_secret(e, sizeof(*e) + e->len + 1);
        }
        pthread_mutex_unlock(&lock);
}

/* The copy of member name s held for good, or NULL (too long, too many, out of memory) */
static char *name_of(const char *s)
{
        char *p;

        if (strlen(s) > NAME_MAX_LEN)
                return NULL;
        pthread_mutex_lock(&lock);
        if (!names)
                names = hashmap_new();
        p = names ? hashmap_get(names, s) : NULL;
        if (!p && names && hashmap_size(names) < NAMES_MAX && (p = strdup(s)) &&
            hashmap_put(names, s, p, NULL) < 0) {
                free(p);
                p = NULL;
        }
        pthread_mutex_unlock(&lock);
        return p;
}

void intern_json(cJSON *o, size_t min_len)
{
        cJSON *it;
        size_t len;
        char *name;

        if (!o)
                return;
        if (o->string && !(o->type & cJSON_StringIsConst) && (name = name_of(o->string))) {
                free(o->string);
                o->string = name;
                o->type |= cJSON_StringIsConst;
        }
        if (cJSON_IsString(o) && !(o->type & cJSON_IsReference) && o->valuestring &&
            (len = strlen(o->valuestring)) >= min_len) {
                const char *s = take(o->valuestring, len);
                if (s) {
                        free_secret(o->valuestring, len);
                        o->valuestring = (char *)s;
                        o->type |= cJSON_IsReference;
                }
                return;
        }
        for (it = o->child; it; it = it->next)
                intern_json(it, min_len);
}

void intern_json_release(cJSON *o)
{
        cJSON *it;

        if (!o)
                return;
        if (cJSON_IsString(o) && (o->type & cJSON_IsReference)) {
                if (o->valuestring)
                        give_back(o->valuestring);
                o->valuestring = NULL;
                return;
        }
        for (it = o->child; it; it = it->next)
                intern_json_release(it);
}

const char *intern_hold(const char *s)
{
        pthread_mutex_lock(&lock);
        shared_of(s)->refs++;
        pthread_mutex_unlock(&lock);
        return s;
}

void intern_drop(const char *s)
{
        give_back(s);
}

void intern_stats(size_t *strings, size_t *bytes, size_t *n_names)
{
        pthread_mutex_lock(&lock);
        *strings = table ? hashmap_size(table) : 0;
        *bytes = total_bytes;
        if (n_names)
                *n_names = names ? hashmap_size(names) : 0;
        pthread_mutex_unlock(&lock);
}
