/* SPDX-License-Identifier: Apache-2.0 */
#include "zpack.h"

#include <errno.h>
#include <stdlib.h>

#include <zlib.h>

/* deflate's window and memory level: its state is 64 KiB */
#define WINDOW_BITS 13
#define MEM_LEVEL   6

int zpack(const void *in, size_t len, unsigned char **ret, size_t *ret_len)
{
        z_stream z = {0};
        unsigned char *out = NULL, *fit;
        int r = Z_MEM_ERROR;

        if (len > UINT_MAX || deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -WINDOW_BITS,
                                           MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        out = malloc(deflateBound(&z, len));
        if (out) {
                z.next_in = (unsigned char *)in, z.avail_in = (unsigned)len;
                z.next_out = out, z.avail_out = (unsigned)deflateBound(&z, len);
                r = deflate(&z, Z_FINISH);
                *ret_len = z.total_out;
        }
        deflateEnd(&z);
        if (!out || r != Z_STREAM_END) {
                free(out);
                return -ENOMEM;
        }
        fit = realloc(out, *ret_len ? *ret_len : 1);
        *ret = fit ? fit : out;
        return 0;
}

int zunpack(const unsigned char *in, size_t in_len, void *out, size_t out_len)
{
        z_stream z = {.next_in = (unsigned char *)in, .avail_in = (unsigned)in_len};
        int r;

        if (in_len > UINT_MAX || out_len > UINT_MAX || inflateInit2(&z, -WINDOW_BITS) != Z_OK)
                return -ENOMEM;
        z.next_out = out, z.avail_out = (unsigned)out_len;
        r = inflate(&z, Z_FINISH);
        inflateEnd(&z);
        return r == Z_STREAM_END && z.total_out == out_len ? 0 : -EINVAL;
}
