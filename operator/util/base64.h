/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Decode standard base64 (whitespace allowed, padding required as produced by encoders);
 * -EINVAL on anything else. The result is NUL-terminated for convenience. */
int base64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len);
/* Encode to standard base64 without line breaks; caller frees. */
int base64_encode(const void *in, size_t len, char **ret);
