/* SPDX-License-Identifier: Apache-2.0 */
#include "base64.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int base64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len)
{
        EVP_ENCODE_CTX *ctx;
        unsigned char *out;
        int n = 0, fin = 0, r = -EINVAL;
        size_t i, sig = 0;

        if (len > INT_MAX / 2)
                return -E2BIG;
        /* EVP_DecodeUpdate accepts embedded junk lines leniently; be strict about the alphabet. */
        for (i = 0; i < len; i++) {
                unsigned char c = (unsigned char)in[i];
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
                        continue;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '+' || c == '/' || c == '='))
                        return -EINVAL;
                sig++;
        }
        if (sig % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 4);
        ctx = EVP_ENCODE_CTX_new();
        if (!out || !ctx) {
                r = -ENOMEM;
                goto out;
        }
        EVP_DecodeInit(ctx);
        if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in, (int)len) < 0)
                goto out;
        if (EVP_DecodeFinal(ctx, out + n, &fin) < 0)
                goto out;
        n += fin;
        out[n] = '\0';
        *ret = out;
        if (ret_len)
                *ret_len = (size_t)n;
        out = NULL;
        r = 0;
out:
        EVP_ENCODE_CTX_free(ctx);
        if (out) {
                OPENSSL_cleanse(out, len / 4 * 3 + 4);
                free(out);
        }
        return r;
}

int base64_encode(const void *in, size_t len, char **ret)
{
        char *out;

        if (len > (size_t)INT_MAX / 4 * 3 - 3)
                return -E2BIG;
        out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
        *ret = out;
        return 0;
}
