/* SPDX-License-Identifier: Apache-2.0 */
/* The informer cache: immutable, reference-counted objects in a thread-safe store keyed
 * "namespace/name" (or "name"), with secondary indexes (by a label's value, by owner UID). */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/intern.h"

/* An API object as cached (kobj.c): never modified once created, shared by reference. At rest it
 * is deflated text; a reader gets its tree with kobj_json. */
struct kobj {
        atomic_int refs;
        char *key; /* "namespace/name" or "name" */
        char *rv;  /* metadata.resourceVersion ("" when absent) */
        /* kobj.c's own: */
        pthread_mutex_t lock; /* tree and in_store */
        cJSON *tree;          /* while a reader other than its store holds it; else NULL */
        bool in_store;
        unsigned char *packed; /* the JSON, shared strings as marks, deflated */
        size_t packed_len, text_len;
        const struct intern_str **shared; /* the long strings the marks stand for */
        size_t n_shared;
};

/* Takes ownership of json. NULL when it has no metadata.name or on ENOMEM. */
struct kobj *kobj_new(cJSON *json);
struct kobj *kobj_ref(struct kobj *o);
void kobj_unref(struct kobj *o);
/* The object, valid while the caller holds its reference: made from the text when no other
 * reader has it (NULL only when out of memory) */
const cJSON *kobj_json(struct kobj *o);
/* Whether a store holds o (the store's own calls): its tree is dropped when only the store does */
void kobj_in_store(struct kobj *o, bool in);
/* What it holds at rest (its long strings, held once, apart) */
size_t kobj_rest_bytes(const struct kobj *o);
/* "namespace/name" or "name" of an object into buf; -EINVAL without a name, -ENOBUFS. */
int kube_object_key(const cJSON *obj, char *buf, size_t size);

/* Emit the index values of obj by calling emit(ctx, value) for each (none is fine). */
typedef void (*store_emit_fn)(void *ctx, const char *value);
typedef void (*store_index_fn)(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx);

/* Ready-made index functions. */
void store_index_owner_uid(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx);
/* arg: the label key (a string that outlives the store) */
void store_index_label(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx);

struct store;

struct store *store_new(void);
void store_free(struct store *s);
/* Add an index before the store holds objects. name and arg must outlive the store. */
int store_add_index(struct store *s, const char *name, store_index_fn fn, const void *arg);

/* Insert or replace by key; the store takes a reference of o. *ret_old (may be NULL) gets
 * the replaced object, whose reference the caller then owns. */
int store_upsert(struct store *s, struct kobj *o, struct kobj **ret_old);
/* Remove by key; *ret_old (may be NULL) gets the removed object (caller owns that ref). */
int store_delete(struct store *s, const char *key, struct kobj **ret_old);
/* A reference to the object, or NULL. */
struct kobj *store_get(struct store *s, const char *key);
size_t store_len(struct store *s);

/* Snapshots: arrays of references the caller frees with store_list_free(). */
int store_list(struct store *s, struct kobj ***ret, size_t *ret_n);
int store_by_index(struct store *s, const char *index, const char *value, struct kobj ***ret,
                   size_t *ret_n);
void store_list_free(struct kobj **list, size_t n);

/* Replace the content of namespace ns (NULL: the whole content) by objs (a relist). For each
 * difference calls fn(userdata, old, new): (NULL, new) added, (old, new) changed
 * resourceVersion, (old, NULL) gone. fn runs after the store is updated and unlocked. The store
 * takes references of objs[i]. */
typedef void (*store_diff_fn)(void *userdata, struct kobj *old, struct kobj *new);
int store_replace(struct store *s, const char *ns, struct kobj **objs, size_t n, store_diff_fn fn,
                  void *userdata);
