/* SPDX-License-Identifier: Apache-2.0 */
/* Private keys made ahead of need, so that generating them (about a second of CPU per
 * RSA-3072 key) is not on the path of a new instance: one pool per key type, filled by
 * background threads at the lowest CPU priority (nice 19: they take only what is idle), up
 * to a size. A key is handed out once and never kept: the caller owns it. Keys live only in
 * memory. Without keypool_start(), or when a type's pool is empty, keypool_take() generates
 * the key at once; the fillers then work beside it, so an empty pool still makes keys on
 * every core. The pool is process-wide, like OpenSSL's random generator. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

enum keypool_type {
        KEYPOOL_RSA3072,
        KEYPOOL_ECDSA_P256,
        KEYPOOL_TYPES,
};

struct keypool_stats {
        int ready[KEYPOOL_TYPES];      /* keys in the pool now */
        uint64_t taken[KEYPOOL_TYPES]; /* handed out from the pool */
        uint64_t made[KEYPOOL_TYPES];  /* generated on demand: the pool was empty */
};

/* Start `threads` fillers (0: one per CPU, at most 4) keeping up to `size` keys of each type
 * that has been asked for, `first` from the start (the default type). 0 or -errno. */
int keypool_start(int size, int threads, enum keypool_type first);
/* A new key of type t: from the pool, or generated now. NULL only when out of memory or
 * OpenSSL fails. The caller owns it (EVP_PKEY_free). */
EVP_PKEY *keypool_take(enum keypool_type t);
void keypool_stats(struct keypool_stats *ret);
/* Stop the fillers (a key being generated is abandoned) and free the keys kept. */
void keypool_stop(void);
