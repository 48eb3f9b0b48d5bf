/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 as lower-case hex (OpenSSL). */
#pragma once

#include <stddef.h>

#define SHA256_HEX_LEN 65 /* 64 digits and a NUL */

/* The digest of buf, or of a whole file; 0 or a negative errno. */
int sha256_hex(const void *buf, size_t len, char out[SHA256_HEX_LEN]);
int sha256_file_hex(const char *path, char out[SHA256_HEX_LEN]);
