/* SPDX-License-Identifier: Apache-2.0 */
/* Karmada's CRD tarballs in the operator's cache: downloaded once per URL (a lock per URL, so
 * one slow server holds only the instances that name it), checked against a SHA-256 when one
 * is given (after every download and on every use of the cached copy) before anything is
 * extracted, and extracted into a directory named after its digest. The cache's crds/
 * directory must be this user's alone (not writable by group or others). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/digest.h"

struct crd_tarball {
        char dir[4096]; /* the extracted tree: dir/crds/{bases,patches} */
        char sum[SHA256_HEX_LEN];
};

struct crd_tarball_source {
        const char *url;
        const char *proxy;  /* or NULL */
        const char *sha256; /* what it must hash to, or NULL */
        bool download;      /* download again even when cached */
};

/* 0, or a negative errno with err saying why: -EBADMSG when the digest is not the one given
 * (the file is removed, nothing extracted), -EPERM when the cache is not this user's alone. */
int crd_tarball_get(const char *cache_dir, const struct crd_tarball_source *src,
                    struct crd_tarball *out, char *err, size_t errlen);
