/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "util/base64.h"
#include "util/etcd_snapshot.h"
#include "util/strbuf.h"

#define DB_LEN 2048

static unsigned char db[DB_LEN + 32]; /* the database and its SHA-256, as etcd sends them */

struct got {
        unsigned char buf[DB_LEN + 64];
        size_t len;
        int fail_at; /* the sink fails once this many bytes arrived (0: never) */
};

static int sink(void *userdata, const unsigned char *buf, size_t len)
{
        struct got *g = userdata;

        if (g->len + len > sizeof(g->buf))
                return -E2BIG;
        memcpy(g->buf + g->len, buf, len);
        g->len += len;
        return g->fail_at && (int)g->len >= g->fail_at ? -ENOSPC : 0;
}

/* The body etcd's gateway writes: messages of blobs cut at the given sizes (the last takes the
 * rest, hash included), one per line. */
static char *body(const size_t *cuts, size_t n_cuts, const unsigned char *bytes, size_t len)
{
        struct strbuf b = {0};
        size_t at = 0;

        for (size_t i = 0; i <= n_cuts && at < len; i++) {
                size_t n = i < n_cuts && cuts[i] < len - at ? cuts[i] : len - at;
                char *b64 = NULL;
                assert_int_equal(base64_encode(bytes + at, n, &b64), 0);
                at += n;
                if (len - at)
                        strbuf_printf(&b,
                                      "{\"result\":{\"header\":{\"revision\":\"7\"},"
                                      "\"remaining_bytes\":\"%zu\",\"blob\":\"%s\"}}\n",
                                      len - at, b64);
                else
                        strbuf_printf(&b, "{\"result\":{\"blob\":\"%s\"}}\n", b64);
                free(b64);
        }
        return b.buf;
}

/* decode text fed in pieces of the given sizes (cycled); 0 or the error */
static int decode(const char *text, const size_t *pieces, size_t n_pieces, struct got *g, char *err,
                  size_t errlen, uint64_t *size, char hex[SHA256_HEX_LEN])
{
        struct etcd_snapshot_stream *s = etcd_snapshot_stream_new(sink, g);
        size_t len = strlen(text), at = 0;
        int r = 0;

        assert_non_null(s);
        for (size_t i = 0; at < len && r == 0; i++) {
                size_t n = pieces[i % n_pieces];
                if (n > len - at)
                        n = len - at;
                r = etcd_snapshot_stream_feed(s, text + at, n, err, errlen);
                at += n;
        }
        if (r == 0)
                r = etcd_snapshot_stream_finish(s, size, hex, err, errlen);
        etcd_snapshot_stream_free(s);
        return r;
}

static int setup(void **state)
{
        uint32_t x = 12345;

        (void)state;
        for (size_t i = 0; i < DB_LEN; i++)
                db[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
        SHA256(db, DB_LEN, db + DB_LEN);
        return 0;
}

static void test_split_anywhere(void **state)
{
        static const size_t cuts[] = {700, 700, 640}; /* the hash straddles two messages */
        char *text = body(cuts, 3, db, sizeof(db)), err[256] = "", hex[SHA256_HEX_LEN];
        char want[SHA256_HEX_LEN];
        size_t len = strlen(text);
        uint64_t size = 0;

        (void)state;
        for (size_t i = 0; i < 32; i++)
                snprintf(want + 2 * i, 3, "%02x", db[DB_LEN + i]);
        /* in two pieces, cut at every position */
        for (size_t cut = 1; cut < len; cut++) {
                size_t pieces[] = {cut, len};
                struct got g = {.len = 0};
                if (decode(text, pieces, 2, &g, err, sizeof(err), &size, hex) != 0)
                        fail_msg("cut at %zu: %s", cut, err);
                assert_int_equal(size, DB_LEN);
                assert_int_equal(g.len, DB_LEN);
                assert_memory_equal(g.buf, db, DB_LEN);
                assert_string_equal(hex, want);
        }
        /* in tiny pieces */
        for (size_t p = 1; p <= 7; p++) {
                struct got g = {.len = 0};
                assert_int_equal(decode(text, &p, 1, &g, err, sizeof(err), &size, hex), 0);
                assert_memory_equal(g.buf, db, DB_LEN);
        }
        free(text);
}

static void test_bad_streams(void **state)
{
        static const size_t cuts[] = {1000};
        static const size_t whole[] = {1 << 20};
        unsigned char bad[sizeof(db)];
        char err[256], hex[SHA256_HEX_LEN], *text;
        uint64_t size;
        struct got g;

        (void)state;
        /* a flipped byte of the database: the hash does not match */
        memcpy(bad, db, sizeof(db));
        bad[100] ^= 1;
        text = body(cuts, 1, bad, sizeof(bad));
        g = (struct got){.len = 0};
        assert_int_equal(decode(text, whole, 1, &g, err, sizeof(err), &size, hex), -EBADMSG);
        assert_non_null(strstr(err, "SHA-256 does not match"));
        free(text);
        /* cut short: the last message missing */
        text = body(cuts, 1, db, sizeof(db));
        *strchr(text, '\n') = '\0';
        g = (struct got){.len = 0};
        assert_int_equal(decode(text, whole, 1, &g, err, sizeof(err), &size, hex), -EBADMSG);
        free(text);
        /* etcd's error, without a newline, after some data */
        text = body(cuts, 1, db, 1000);
        {
                struct strbuf b = {0};
                strbuf_printf(&b,
                              "%s{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: "
                              "leader changed\"}}",
                              text);
                g = (struct got){.len = 0};
                assert_int_equal(decode(b.buf, whole, 1, &g, err, sizeof(err), &size, hex),
                                 -EBADMSG);
                assert_non_null(strstr(err, "leader changed"));
                strbuf_free(&b);
        }
        free(text);
        /* not JSON, not base64, no result */
        static const char *const garbage[] = {
                "<html>502</html>\n", "{\"result\":{\"blob\":\"%%%\"}}\n", "{\"other\":1}\n", ""};
        for (size_t i = 0; i < 4; i++) {
                g = (struct got){.len = 0};
                assert_int_equal(decode(garbage[i][0] ? garbage[i] : "\n", whole, 1, &g, err,
                                        sizeof(err), &size, hex),
                                 -EBADMSG);
        }
        /* the sink fails: the stream stops with its error */
        text = body(cuts, 1, db, sizeof(db));
        g = (struct got){.fail_at = 500};
        assert_int_equal(decode(text, whole, 1, &g, err, sizeof(err), &size, hex), -ENOSPC);
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_anywhere),
                cmocka_unit_test(test_bad_streams),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
