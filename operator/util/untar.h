/* SPDX-License-Identifier: Apache-2.0 */
/* Extract a (compressed) tar archive safely (libarchive): only directories and regular files,
 * no absolute paths, no "..", no links of any kind, bounded sizes. */
#pragma once

#include <stddef.h>

struct untar_limits {
        size_t max_file;      /* bytes of one file; 0 = 16 MiB */
        size_t max_total;     /* bytes of all files; 0 = 128 MiB */
        unsigned max_entries; /* 0 = 10,000 */
};

/* Extract the entries whose path starts with prefix (e.g. "crds/"; NULL = all) into dest, a
 * directory that must not exist yet (created 0700). Other entries are checked and skipped. On
 * failure nothing is left at dest, and err names the archive and the entry. */
int untar_safe(const char *tarball, const char *prefix, const char *dest,
               const struct untar_limits *l, char *err, size_t errlen);
