/* SPDX-License-Identifier: Apache-2.0 */
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static int grow(struct strbuf *sb, size_t extra)
{
        size_t need, cap;
        char *p;

        if (extra > SIZE_MAX - sb->len - 1)
                return -E2BIG;
        need = sb->len + extra + 1;
        if (sb->max && need - 1 > sb->max)
                return -E2BIG;
        if (sb->buf && need <= sb->cap)
                return 0;
        cap = sb->cap ? sb->cap : 64;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        p = realloc(sb->buf, cap);
        if (!p)
                return -ENOMEM;
        sb->buf = p;
        sb->cap = cap;
        return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
        int r = grow(sb, len);

        if (r < 0)
                return r;
        if (len)
                memcpy(sb->buf + sb->len, data, len);
        sb->len += len;
        sb->buf[sb->len] = '\0';
        return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s)
{
        return strbuf_append(sb, s, strlen(s));
}

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
        va_list aq;
        int n, r;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        r = grow(sb, (size_t)n);
        if (r < 0)
                return r;
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
        sb->len += (size_t)n;
        return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strbuf_vprintf(sb, fmt, ap);
        va_end(ap);
        return r;
}

int strbuf_put_urlencoded(struct strbuf *sb, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        int r;

        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~') {
                        r = strbuf_append(sb, s, 1);
                } else {
                        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                        r = strbuf_append(sb, e, 3);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

void strbuf_reset(struct strbuf *sb)
{
        sb->len = 0;
        if (sb->buf)
                sb->buf[0] = '\0';
}

char *strbuf_steal(struct strbuf *sb)
{
        char *p;

        if (!sb->buf && strbuf_append(sb, "", 0) < 0)
                return NULL;
        p = sb->buf;
        sb->buf = NULL;
        sb->len = sb->cap = 0;
        return p;
}

void strbuf_free(struct strbuf *sb)
{
        free(sb->buf);
        sb->buf = NULL;
        sb->len = sb->cap = 0;
}

void strbuf_free_secret(struct strbuf *sb)
{
        if (sb->buf)
                OPENSSL_cleanse(sb->buf, sb->cap);
        strbuf_free(sb);
}

void free_secret(void *p, size_t len)
{
        if (!p)
                return;
        OPENSSL_cleanse(p, len);
        free(p);
}
