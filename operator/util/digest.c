/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

static void to_hex(const unsigned char *md, char *out)
{
        for (int i = 0; i < 32; i++)
                snprintf(out + (size_t)2 * (size_t)i, 3, "%02x", md[i]);
}

int sha256_hex(const void *buf, size_t len, char out[SHA256_HEX_LEN])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
                return -EIO;
        to_hex(md, out);
        return 0;
}

int sha256_file_hex(const char *path, char out[SHA256_HEX_LEN])
{
        unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
        unsigned int mdlen = 0;
        EVP_MD_CTX *ctx;
        ssize_t n;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
                r = -ENOMEM;
                goto out;
        }
        while ((n = read(fd, buf, sizeof(buf))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
                        r = -EIO;
                        goto out;
                }
        }
        if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
                r = -EIO;
        else
                to_hex(md, out);
out:
        EVP_MD_CTX_free(ctx);
        close(fd);
        return r;
}
