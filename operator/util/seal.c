/* SPDX-License-Identifier: Apache-2.0 */
#include "seal.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "strbuf.h"

#define MAGIC     "KOSEAL1\n"
#define MAGIC_LEN 8
#define NONCE_LEN 12
#define TAG_LEN   16

/* one pass of AES-256-GCM over in into out (len bytes); the tag is read or written */
static int gcm(bool enc, const unsigned char *key, const unsigned char *nonce, const char *aad,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int skip = 0, n = 0, last = 0, ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
             EVP_CipherUpdate(ctx, NULL, &skip, (const unsigned char *)MAGIC, MAGIC_LEN) == 1 &&
             (!aad || EVP_CipherUpdate(ctx, NULL, &skip, (const unsigned char *)aad,
                                       (int)strlen(aad)) == 1) &&
             (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
             (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
             EVP_CipherFinal_ex(ctx, out + n, &last) == 1 &&
             (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
        EVP_CIPHER_CTX_free(ctx);
        return ok ? 0 : enc ? -EIO : -EBADMSG;
}

int seal_box(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
             struct strbuf *out)
{
        unsigned char nonce[NONCE_LEN], tag[TAG_LEN], *ct;
        int r;

        if (len > INT_MAX - 64)
                return -E2BIG;
        if (RAND_bytes(nonce, sizeof(nonce)) != 1)
                return -EIO;
        ct = malloc(len + 1);
        if (!ct)
                return -ENOMEM;
        r = gcm(true, key, nonce, aad, in, len, ct, tag);
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
        r = gcm(false, key, p + MAGIC_LEN, aad, p + MAGIC_LEN + NONCE_LEN, n, pt, tag);
        if (r == 0 && strbuf_append(out, pt, n) < 0)
                r = -ENOMEM;
        OPENSSL_cleanse(pt, n);
        free(pt);
        return r;
}
