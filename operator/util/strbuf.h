/* SPDX-License-Identifier: Apache-2.0 */
/* A growable, always NUL-terminated byte buffer with an optional size limit. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct strbuf {
        char *buf; /* NULL until the first append; always NUL-terminated after */
        size_t len;
        size_t cap;
        size_t max; /* 0: unlimited; appends past it fail with -E2BIG */
};

int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);
/* Append s percent-encoded for a URL path segment or query value (RFC 3986 unreserved kept). */
int strbuf_put_urlencoded(struct strbuf *sb, const char *s);
void strbuf_reset(struct strbuf *sb);
/* Returns the buffer (caller frees) and leaves sb empty; never NULL on success. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* strbuf_free after zeroing the contents (for buffers that held secrets). */
void strbuf_free_secret(struct strbuf *sb);
/* Wipe and free memory that held a secret (keys, tokens). */
void free_secret(void *p, size_t len);
