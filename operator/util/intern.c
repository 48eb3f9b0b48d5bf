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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *table; /* digest -> struct shared */
static size_t total_bytes;

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

static void give_back(char *s)
{
        struct shared *e = (struct shared *)(void *)(s - offsetof(struct shared, s));

        pthread_mutex_lock(&lock);
        if (--e->refs == 0) {
                hashmap_remove(table, e->key);
                total_bytes -= e->len;
                free_secret(e, sizeof(*e) + e->len + 1);
        }
        pthread_mutex_unlock(&lock);
}

void intern_json(cJSON *o, size_t min_len)
{
        cJSON *it;
        size_t len;

        if (!o)
                return;
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

void intern_stats(size_t *strings, size_t *bytes)
{
        pthread_mutex_lock(&lock);
        *strings = table ? hashmap_size(table) : 0;
        *bytes = total_bytes;
        pthread_mutex_unlock(&lock);
}
