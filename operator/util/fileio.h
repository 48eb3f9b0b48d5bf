/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file (at most max bytes, else -EFBIG) into a NUL-terminated buffer. */
int fileio_read(const char *path, size_t max, char **ret, size_t *ret_len);
/* Write bytes to path with mode through a temporary file and a rename, so that a reader sees
 * the old content or the new, never half of it; -errno on failure. */
int fileio_write_atomic(const char *path, const void *bytes, size_t len, mode_t mode);
/* Directory part of path ("." when it has none); caller frees. */
char *path_dirname(const char *path);
/* path itself when absolute or base is NULL, else base/path; caller frees. */
char *path_join_relative(const char *base, const char *path);
/* mkdir -p with mode for each directory it creates; -errno on failure. */
int fileio_mkdir_p(const char *path, mode_t mode);
/* rm -rf path (not following symbolic links); 0 when it is gone, -errno otherwise. */
int fileio_rm_rf(const char *path);
