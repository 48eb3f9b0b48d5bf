/* SPDX-License-Identifier: Apache-2.0 */
#include "intern.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "digest.h"
#include "hashmap.h"
#include "strbuf.h"
#include "zpack.h"

/* A long string, held once: deflated for good (base64 decoded first, when the text is that:
 * certificates and keys are), and as text too while some tree holds it open. */
struct shared {
        size_t refs;           /* holders of either kind */
        size_t open;           /* holders of the text */
        size_t len;            /* of the text */
        size_t raw_len;        /* of what was deflated: the text, or what it decodes to */
        bool b64;              /* the text is raw's base64 */
        unsigned char *packed; /* raw, deflated */
        size_t packed_len;
        struct plain *plain;      /* the text while open, else NULL */
        char key[SHA256_HEX_LEN]; /* the digest of the text: its key in the table */
};

struct plain {
        struct shared *e;
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
static size_t total_bytes;    /* deflated */
static struct hashmap *names; /* member name -> its copy, held for good */

static struct shared *shared_of(const char *s)
{
        return ((const struct plain *)(const void *)(s - offsetof(struct plain, s)))->e;
}

/* e's raw bytes deflated: s decoded when it is canonical base64 (encoding it again gives s) */
static int pack(struct shared *e, const char *s)
{
        unsigned char *raw = NULL;
        char *again = NULL;
        size_t raw_len = 0;
        int r;

        e->b64 = base64_decode(s, e->len, &raw, &raw_len) == 0 &&
                 base64_encode(raw, raw_len, &again) == 0 && strcmp(again, s) == 0;
        e->raw_len = e->b64 ? raw_len : e->len;
        r = zpack(e->b64 ? (const void *)raw : s, e->raw_len, &e->packed, &e->packed_len);
        if (raw)
                free_secret(raw, raw_len);
        if (again)
                free_secret(again, strlen(again));
        return r;
}

/* e's text made again from what was deflated */
static int open_text(struct shared *e)
{
        struct plain *p = malloc(sizeof(*p) + e->len + 1);
        unsigned char *raw = e->b64 ? malloc(e->raw_len ? e->raw_len : 1) : NULL;
        char *text = NULL;
        int r = p && (raw || !e->b64) ? 0 : -ENOMEM;

        if (r == 0)
                r = zunpack(e->packed, e->packed_len, e->b64 ? raw : (unsigned char *)p->s,
                            e->raw_len);
        if (r == 0 && e->b64) {
                r = base64_encode(raw, e->raw_len, &text);
                if (r == 0 && strlen(text) != e->len)
                        r = -EINVAL;
                if (r == 0)
                        memcpy(p->s, text, e->len);
        }
        if (raw)
                free_secret(raw, e->raw_len);
        if (text)
                free_secret(text, strlen(text));
        if (r < 0) {
                free(p);
                return r;
        }
        p->e = e;
        p->s[e->len] = '\0';
        e->plain = p;
        return 0;
}

static void close_text(struct shared *e)
{
        free_secret(e->plain, sizeof(*e->plain) + e->len + 1);
        e->plain = NULL;
}

/* (lock held) one holder fewer: e goes with the last */
static void release(struct shared *e, bool text)
{
        if (text && --e->open == 0)
                close_text(e);
        if (--e->refs)
                return;
        hashmap_remove(table, e->key);
        total_bytes -= e->packed_len;
        free_secret(e->packed, e->packed_len);
        if (e->plain)
                close_text(e);
        free(e);
}

/* A new entry for s (len bytes, digest key), open */
static struct shared *entry_new(const char *s, size_t len, const char *key)
{
        struct shared *e = calloc(1, sizeof(*e));

        if (!e)
                return NULL;
        e->len = len;
        memcpy(e->key, key, sizeof(e->key));
        if (pack(e, s) < 0 || !(e->plain = malloc(sizeof(*e->plain) + len + 1)) ||
            hashmap_put(table, key, e, NULL) < 0) {
                free(e->plain);
                free(e->packed);
                free(e);
                return NULL;
        }
        e->plain->e = e;
        memcpy(e->plain->s, s, len + 1);
        e->refs = e->open = 1;
        total_bytes += e->packed_len;
        return e;
}

/* The shared text of s, of len bytes (one more holder of it), or NULL: out of memory, or another
 * string of the same digest and another length (never in practice: s stays its holder's own). */
static const char *take(const char *s, size_t len)
{
        char key[SHA256_HEX_LEN];
        struct shared *e;

        if (sha256_hex(s, len, key) < 0)
                return NULL;
        pthread_mutex_lock(&lock);
        if (!table)
                table = hashmap_new();
        e = table ? hashmap_get(table, key) : NULL;
        if (e && (e->len != len || (!e->plain && open_text(e) < 0)))
                e = NULL;
        else if (e)
                e->refs++, e->open++;
        else if (table)
                e = entry_new(s, len, key);
        pthread_mutex_unlock(&lock);
        return e ? e->plain->s : NULL;
}

static void give_back(const char *s)
{
        pthread_mutex_lock(&lock);
        release(shared_of(s), true);
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

const struct intern_str *intern_keep(const char *s)
{
        struct shared *e = shared_of(s);

        pthread_mutex_lock(&lock);
        e->refs++;
        pthread_mutex_unlock(&lock);
        return (const struct intern_str *)e;
}

const char *intern_open(const struct intern_str *h)
{
        struct shared *e = (struct shared *)h;
        const char *s = NULL;

        pthread_mutex_lock(&lock);
        if (e->plain || open_text(e) == 0) {
                e->refs++, e->open++;
                s = e->plain->s;
        }
        pthread_mutex_unlock(&lock);
        return s;
}

void intern_drop(const struct intern_str *h)
{
        pthread_mutex_lock(&lock);
        release((struct shared *)h, false);
        pthread_mutex_unlock(&lock);
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
