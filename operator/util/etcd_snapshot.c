/* SPDX-License-Identifier: Apache-2.0 */
#include "etcd_snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "base64.h"

#define HASH_LEN    32
#define MAX_MESSAGE (4u << 20)

struct etcd_snapshot_stream {
        etcd_snapshot_sink sink;
        void *userdata;
        EVP_MD_CTX *md;
        char *line; /* a message not complete yet */
        size_t line_len, line_cap;
        unsigned char tail[HASH_LEN]; /* the last bytes: the hash, if nothing follows */
        size_t tail_len;
        uint64_t db_size;
        int error;
        char message[256];
};

struct etcd_snapshot_stream *etcd_snapshot_stream_new(etcd_snapshot_sink sink, void *userdata)
{
        struct etcd_snapshot_stream *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->sink = sink;
        s->userdata = userdata;
        s->md = EVP_MD_CTX_new();
        if (!s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
                etcd_snapshot_stream_free(s);
                return NULL;
        }
        return s;
}

void etcd_snapshot_stream_free(struct etcd_snapshot_stream *s)
{
        if (!s)
                return;
        EVP_MD_CTX_free(s->md);
        free(s->line);
        free(s);
}

static int fail(struct etcd_snapshot_stream *s, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fail(struct etcd_snapshot_stream *s, int error, const char *fmt, ...)
{
        va_list ap;

        s->error = error;
        va_start(ap, fmt);
        vsnprintf(s->message, sizeof(s->message), fmt, ap);
        va_end(ap);
        return error;
}

/* database bytes: all but the newest 32 are hashed and handed on */
static int data(struct etcd_snapshot_stream *s, const unsigned char *buf, size_t len)
{
        size_t all = s->tail_len + len, out = all > HASH_LEN ? all - HASH_LEN : 0;
        unsigned char keep[HASH_LEN];
        size_t from_tail = out < s->tail_len ? out : s->tail_len, from_buf = out - from_tail;
        int r;

        if (from_tail) {
                if (EVP_DigestUpdate(s->md, s->tail, from_tail) != 1)
                        return fail(s, -EIO, "%s", "sha256");
                if ((r = s->sink(s->userdata, s->tail, from_tail)) < 0)
                        return fail(s, r, "%s", "the snapshot's destination failed");
        }
        if (from_buf) {
                if (EVP_DigestUpdate(s->md, buf, from_buf) != 1)
                        return fail(s, -EIO, "%s", "sha256");
                if ((r = s->sink(s->userdata, buf, from_buf)) < 0)
                        return fail(s, r, "%s", "the snapshot's destination failed");
        }
        s->db_size += out;
        /* the new tail: what is left of the old one, then what is left of buf */
        memcpy(keep, s->tail + from_tail, s->tail_len - from_tail);
        memcpy(keep + (s->tail_len - from_tail), buf + from_buf, len - from_buf);
        s->tail_len = all - out;
        memcpy(s->tail, keep, s->tail_len);
        return 0;
}

/* only spaces, tabs and carriage returns (the buffer has no NUL) */
static bool blank(const char *p, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                        return false;
        return true;
}

static int message(struct etcd_snapshot_stream *s, const char *text, size_t len)
{
        cJSON *m = cJSON_ParseWithLength(text, len);
        const cJSON *result, *blob, *error;
        unsigned char *bytes = NULL;
        size_t n = 0;
        int r;

        if (!m)
                return fail(s, -EBADMSG, "%s", "a message of the snapshot stream is not JSON");
        error = cJSON_GetObjectItemCaseSensitive(m, "error");
        if (error) {
                const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
                r = fail(s, -EBADMSG, "etcd: %s",
                         cJSON_IsString(msg) ? msg->valuestring : "error without a message");
                cJSON_Delete(m);
                return r;
        }
        result = cJSON_GetObjectItemCaseSensitive(m, "result");
        blob = cJSON_GetObjectItemCaseSensitive(result, "blob");
        if (!cJSON_IsObject(result) || (blob && !cJSON_IsString(blob))) {
                cJSON_Delete(m);
                return fail(s, -EBADMSG, "%s", "a message without result.blob");
        }
        if (blob && base64_decode(blob->valuestring, strlen(blob->valuestring), &bytes, &n) < 0) {
                cJSON_Delete(m);
                return fail(s, -EBADMSG, "%s", "a blob that is not base64");
        }
        cJSON_Delete(m);
        r = n ? data(s, bytes, n) : 0;
        free(bytes);
        return r;
}

int etcd_snapshot_stream_feed(struct etcd_snapshot_stream *s, const char *buf, size_t len,
                              char *err, size_t errlen)
{
        while (!s->error && len) {
                const char *nl = memchr(buf, '\n', len);
                size_t take = nl ? (size_t)(nl - buf) : len;

                if (s->line_len + take > MAX_MESSAGE) {
                        fail(s, -EBADMSG, "%s", "a message of the snapshot stream over 4 MiB");
                        break;
                }
                if (s->line_len + take + 1 > s->line_cap) {
                        size_t cap = (s->line_len + take + 1) * 2;
                        char *p = realloc(s->line, cap);
                        if (!p) {
                                fail(s, -ENOMEM, "%s", "out of memory");
                                break;
                        }
                        s->line = p, s->line_cap = cap;
                }
                memcpy(s->line + s->line_len, buf, take);
                s->line_len += take;
                buf += take + (nl ? 1 : 0);
                len -= take + (nl ? 1 : 0);
                if (nl) {
                        size_t l = s->line_len;
                        s->line_len = 0;
                        if (!blank(s->line, l))
                                message(s, s->line, l);
                }
        }
        if (s->error)
                snprintf(err, errlen, "%s", s->message);
        return s->error;
}

int etcd_snapshot_stream_finish(struct etcd_snapshot_stream *s, uint64_t *db_size,
                                char db_sha256[SHA256_HEX_LEN], char *err, size_t errlen)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        /* a last message without a newline (etcd's error objects come so) */
        if (!s->error && s->line_len && !blank(s->line, s->line_len))
                message(s, s->line, s->line_len);
        s->line_len = 0;
        if (!s->error && (s->tail_len < HASH_LEN || s->db_size == 0))
                fail(s, -EBADMSG, "%s", "the snapshot ended before its hash");
        if (!s->error && EVP_DigestFinal_ex(s->md, md, &md_len) != 1)
                fail(s, -EIO, "%s", "sha256");
        if (!s->error && (md_len != HASH_LEN || memcmp(md, s->tail, HASH_LEN) != 0))
                fail(s, -EBADMSG, "%s",
                     "the snapshot's SHA-256 does not match its content (corrupted or cut short)");
        if (s->error) {
                snprintf(err, errlen, "%s", s->message);
                return s->error;
        }
        for (size_t i = 0; i < HASH_LEN; i++)
                snprintf(db_sha256 + 2 * i, 3, "%02x", md[i]);
        *db_size = s->db_size;
        return 0;
}
