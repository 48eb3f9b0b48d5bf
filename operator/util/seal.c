/* SPDX-License-Identifier: Apache-2.0 */
#include "seal.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64.h"
#include "strbuf.h"

#define MAGIC     "KOSEAL1\n"
#define MAGIC_LEN 8
#define NONCE_LEN 12
#define TAG_LEN   16

/* one pass of AES-256-GCM over in into out (len bytes), aad authenticated; the tag is read or
 * written */
static int gcm(bool enc, const unsigned char *key, const unsigned char *nonce,
               const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
               unsigned char *out, unsigned char *tag)
{
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int skip = 0, n = 0, last = 0, ok;

        if (!ctx)
                return -ENOMEM;
        if (len > INT_MAX || aad_len > INT_MAX) {
                EVP_CIPHER_CTX_free(ctx);
                return -E2BIG;
        }
        ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
             EVP_CipherUpdate(ctx, NULL, &skip, aad, (int)aad_len) == 1 &&
             (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
             (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
             EVP_CipherFinal_ex(ctx, out + n, &last) == 1 &&
             (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
        EVP_CIPHER_CTX_free(ctx);
        return ok ? 0 : enc ? -EIO : -EBADMSG;
}

/* the additional data of a blob: the magic, then aad */
static int box_aad(const char *aad, struct strbuf *out)
{
        return strbuf_append(out, MAGIC, MAGIC_LEN) < 0 ||
                               (aad && strbuf_append(out, aad, strlen(aad)) < 0)
                       ? -ENOMEM
                       : 0;
}

int seal_key_decode(const char *text, unsigned char **key)
{
        size_t len = 0;

        *key = NULL;
        if (!text || base64_decode(text, strlen(text), key, &len) < 0)
                return -EINVAL;
        if (len != SEAL_KEY_LEN) {
                OPENSSL_cleanse(*key, len);
                free(*key);
                *key = NULL;
                return -EINVAL;
        }
        return 0;
}

int seal_box(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
             struct strbuf *out)
{
        unsigned char nonce[NONCE_LEN], tag[TAG_LEN], *ct;
        struct strbuf ad = {0};
        int r;

        if (len > INT_MAX - 64)
                return -E2BIG;
        if (RAND_bytes(nonce, sizeof(nonce)) != 1)
                return -EIO;
        ct = malloc(len + 1);
        if (!ct)
                return -ENOMEM;
        r = box_aad(aad, &ad);
        if (r == 0)
                r = gcm(true, key, nonce, (unsigned char *)ad.buf, ad.len, in, len, ct, tag);
        strbuf_free(&ad);
        if (r == 0 && (strbuf_append(out, MAGIC, MAGIC_LEN) < 0 ||
                       strbuf_append(out, nonce, sizeof(nonce)) < 0 ||
                       strbuf_append(out, ct, len) < 0 || strbuf_append(out, tag, sizeof(tag)) < 0))
                r = -ENOMEM;
        OPENSSL_cleanse(ct, len);
        free(ct);
        return r;
}

int seal_open(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
              struct strbuf *out)
{
        const unsigned char *p = in;
        unsigned char tag[TAG_LEN], *pt;
        struct strbuf ad = {0};
        size_t n;
        int r;

        if (len < MAGIC_LEN + NONCE_LEN + TAG_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0 ||
            len > INT_MAX)
                return -EBADMSG;
        n = len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
        memcpy(tag, p + len - TAG_LEN, TAG_LEN);
        pt = malloc(n + 1);
        if (!pt)
                return -ENOMEM;
        r = box_aad(aad, &ad);
        if (r == 0)
                r = gcm(false, key, p + MAGIC_LEN, (unsigned char *)ad.buf, ad.len,
                        p + MAGIC_LEN + NONCE_LEN, n, pt, tag);
        strbuf_free(&ad);
        if (r == 0 && strbuf_append(out, pt, n) < 0)
                r = -ENOMEM;
        OPENSSL_cleanse(pt, n);
        free(pt);
        return r;
}

/* ---- streams ---- */

#define STREAM_MAGIC  "KOSTRM1\n"
#define HEADER_LEN    (MAGIC_LEN + 4)
#define CHUNK_MAX     (16u << 20)
#define CHUNK_DEFAULT (64u << 10)

struct seal_stream {
        unsigned char key[SEAL_KEY_LEN];
        bool seal;
        seal_sink sink;
        void *userdata;
        unsigned char header[HEADER_LEN];
        size_t header_len; /* of it written or read */
        uint32_t chunk;    /* plaintext bytes of every chunk but the last */
        uint64_t index;    /* of the next chunk */
        struct strbuf aad; /* the caller's aad (a chunk's also has the header, index, final) */
        unsigned char *buf, *out;
        size_t buf_len;
        int error;
};

struct seal_stream *seal_stream_new(const unsigned char key[SEAL_KEY_LEN], const char *aad,
                                    bool seal, seal_sink sink, void *userdata)
{
        struct seal_stream *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        memcpy(s->key, key, SEAL_KEY_LEN);
        s->seal = seal;
        s->sink = sink;
        s->userdata = userdata;
        if (strbuf_append(&s->aad, "", 0) < 0 ||
            (aad && strbuf_append(&s->aad, aad, strlen(aad)) < 0)) {
                seal_stream_free(s);
                return NULL;
        }
        if (seal) {
                s->chunk = CHUNK_DEFAULT;
                memcpy(s->header, STREAM_MAGIC, MAGIC_LEN);
                for (int i = 0; i < 4; i++)
                        s->header[MAGIC_LEN + i] = (unsigned char)(s->chunk >> (24 - 8 * i));
        }
        return s;
}

void seal_stream_free(struct seal_stream *s)
{
        if (!s)
                return;
        OPENSSL_cleanse(s->key, sizeof(s->key));
        if (s->buf)
                OPENSSL_cleanse(s->buf, s->chunk + NONCE_LEN + TAG_LEN);
        if (s->out)
                OPENSSL_cleanse(s->out, s->chunk + NONCE_LEN + TAG_LEN);
        free(s->buf);
        free(s->out);
        strbuf_free(&s->aad);
        free(s);
}

/* the additional data of the next chunk: header, aad, index (big-endian), final */
static int chunk_aad(struct seal_stream *s, bool final, struct strbuf *ad)
{
        unsigned char tail[9];

        for (int i = 0; i < 8; i++)
                tail[i] = (unsigned char)(s->index >> (56 - 8 * i));
        tail[8] = final;
        return strbuf_append(ad, s->header, HEADER_LEN) < 0 ||
                               strbuf_append(ad, s->aad.buf, s->aad.len) < 0 ||
                               strbuf_append(ad, tail, sizeof(tail)) < 0
                       ? -ENOMEM
                       : 0;
}

/* the chunk in buf (buf_len bytes, sealed or not) through the cipher to the sink */
static int chunk_out(struct seal_stream *s, bool final)
{
        struct strbuf ad = {0};
        size_t n = s->seal ? s->buf_len : s->buf_len - NONCE_LEN - TAG_LEN;
        unsigned char *o = s->out;
        int r = chunk_aad(s, final, &ad);

        if (r == 0 && s->seal) {
                r = RAND_bytes(o, NONCE_LEN) == 1 ? 0 : -EIO;
                if (r == 0)
                        r = gcm(true, s->key, o, (unsigned char *)ad.buf, ad.len, s->buf, n,
                                o + NONCE_LEN, o + NONCE_LEN + n);
                n += NONCE_LEN + TAG_LEN;
        } else if (r == 0) {
                r = gcm(false, s->key, s->buf, (unsigned char *)ad.buf, ad.len, s->buf + NONCE_LEN,
                        n, o, s->buf + NONCE_LEN + n);
        }
        strbuf_free(&ad);
        if (r == 0)
                r = s->sink(s->userdata, o, n) < 0 ? -EIO : 0;
        s->index++;
        s->buf_len = 0;
        return r;
}

/* the header: written before the first chunk, or read and checked from in */
static int header(struct seal_stream *s, const unsigned char **in, size_t *len)
{
        size_t take;

        if (s->seal) {
                s->header_len = HEADER_LEN;
                return s->sink(s->userdata, s->header, HEADER_LEN) < 0 ? -EIO : 0;
        }
        take = HEADER_LEN - s->header_len < *len ? HEADER_LEN - s->header_len : *len;
        memcpy(s->header + s->header_len, *in, take);
        s->header_len += take, *in += take, *len -= take;
        if (s->header_len < HEADER_LEN)
                return 0;
        if (memcmp(s->header, STREAM_MAGIC, MAGIC_LEN) != 0)
                return -EBADMSG;
        for (int i = 0; i < 4; i++)
                s->chunk = s->chunk << 8 | s->header[MAGIC_LEN + i];
        return s->chunk && s->chunk <= CHUNK_MAX ? 0 : -EBADMSG;
}

int seal_stream_feed(struct seal_stream *s, const void *data, size_t len)
{
        const unsigned char *in = data;
        size_t full;

        if (!s->error && s->header_len < HEADER_LEN && (len || s->seal))
                s->error = header(s, &in, &len);
        if (s->error || s->header_len < HEADER_LEN)
                return s->error;
        full = s->chunk + (s->seal ? 0 : NONCE_LEN + TAG_LEN);
        if (!s->buf && (!(s->buf = malloc(s->chunk + NONCE_LEN + TAG_LEN)) ||
                        !(s->out = malloc(s->chunk + NONCE_LEN + TAG_LEN))))
                return s->error = -ENOMEM;
        while (len && !s->error) {
                size_t take;
                if (s->buf_len == full) /* more follows: not the last */
                        s->error = chunk_out(s, false);
                take = full - s->buf_len < len ? full - s->buf_len : len;
                memcpy(s->buf + s->buf_len, in, take);
                s->buf_len += take, in += take, len -= take;
        }
        return s->error;
}

int seal_stream_finish(struct seal_stream *s)
{
        if (!s->error)
                s->error = seal_stream_feed(s, "", 0);
        if (!s->error &&
            (s->header_len < HEADER_LEN || (!s->seal && s->buf_len < NONCE_LEN + TAG_LEN)))
                s->error = -EBADMSG; /* cut short */
        if (!s->error)
                s->error = chunk_out(s, true);
        return s->error;
}

bool seal_stream_is(const void *data, size_t len)
{
        return len >= MAGIC_LEN && memcmp(data, STREAM_MAGIC, MAGIC_LEN) == 0;
}
