/* SPDX-License-Identifier: Apache-2.0 */
/* Raw deflate (zlib) of what is kept at rest in memory: cached objects' text, long strings. Its
 * state is small (a window of 8 KiB: what is packed is a few KiB at a time). */
#pragma once

#include <stddef.h>

/* in (len bytes) deflated into *ret (malloc'd, *ret_len bytes); -ENOMEM */
int zpack(const void *in, size_t len, unsigned char **ret, size_t *ret_len);
/* in inflated into out, which must be exactly out_len bytes; -EINVAL when it is not */
int zunpack(const unsigned char *in, size_t in_len, void *out, size_t out_len);
