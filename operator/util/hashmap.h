/* SPDX-License-Identifier: Apache-2.0 */
/* A string-keyed hash map (separate chaining, FNV-1a). Keys are copied; values are borrowed
 * pointers the caller manages. Not thread-safe: callers lock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hashmap;

struct hashmap *hashmap_new(void);
/* Frees the map and its keys, not the values. Accepts NULL. */
void hashmap_free(struct hashmap *m);
size_t hashmap_size(const struct hashmap *m);
void *hashmap_get(const struct hashmap *m, const char *key);
bool hashmap_contains(const struct hashmap *m, const char *key);
/* Insert or replace; *ret_old (may be NULL) receives the replaced value. -ENOMEM on failure. */
int hashmap_put(struct hashmap *m, const char *key, void *value, void **ret_old);
/* Remove; returns the value or NULL. */
void *hashmap_remove(struct hashmap *m, const char *key);

/* Iteration: for (it = hashmap_first(m); it; it = hashmap_next(m, it)). Do not modify the map
 * while iterating. */
struct hashmap_entry;
const struct hashmap_entry *hashmap_first(const struct hashmap *m);
const struct hashmap_entry *hashmap_next(const struct hashmap *m, const struct hashmap_entry *e);
const char *hashmap_entry_key(const struct hashmap_entry *e);
void *hashmap_entry_value(const struct hashmap_entry *e);
