/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "util/base64.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/seal.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static void test_strbuf_grows_and_stays_terminated(void **state)
{
        struct strbuf sb = {0};

        for (int i = 0; i < 1000; i++)
                assert_int_equal(strbuf_printf(&sb, "%d,", i % 10), 0);
        assert_int_equal(sb.len, 2000);
        assert_int_equal(strlen(sb.buf), 2000);
        assert_memory_equal(sb.buf, "0,1,2,", 6);
        strbuf_free(&sb);
        assert_null(sb.buf);
}

static void test_strbuf_respects_max(void **state)
{
        struct strbuf sb = {.max = 8};

        assert_int_equal(strbuf_puts(&sb, "12345678"), 0);
        assert_int_equal(strbuf_puts(&sb, "9"), -E2BIG);
        assert_string_equal(sb.buf, "12345678");
        strbuf_free(&sb);
}

static void test_strbuf_urlencodes_reserved_characters(void **state)
{
        struct strbuf sb = {0};

        assert_int_equal(strbuf_put_urlencoded(&sb, "app in (a,b)&x=1/ü~._-"), 0);
        assert_string_equal(sb.buf, "app%20in%20%28a%2Cb%29%26x%3D1%2F%C3%BC~._-");
        strbuf_free(&sb);
}

static void test_strbuf_steal_empty_gives_empty_string(void **state)
{
        struct strbuf sb = {0};
        char *s = strbuf_steal(&sb);

        assert_non_null(s);
        assert_string_equal(s, "");
        free(s);
}

static void test_base64_roundtrip(void **state)
{
        const char *in = "hello, kubernetes\n";
        unsigned char *dec;
        char *enc;
        size_t n;

        assert_int_equal(base64_encode(in, strlen(in), &enc), 0);
        assert_string_equal(enc, "aGVsbG8sIGt1YmVybmV0ZXMK");
        assert_int_equal(base64_decode(enc, strlen(enc), &dec, &n), 0);
        assert_int_equal(n, strlen(in));
        assert_memory_equal(dec, in, n);
        free(enc);
        free(dec);
}

static void test_base64_accepts_line_breaks(void **state)
{
        unsigned char *dec;
        size_t n;

        assert_int_equal(base64_decode("aGVs\nbG8=\n", 10, &dec, &n), 0);
        assert_int_equal(n, 5);
        assert_memory_equal(dec, "hello", 5);
        free(dec);
}

static void test_base64_rejects_garbage(void **state)
{
        unsigned char *dec = NULL;
        size_t n;

        assert_int_equal(base64_decode("not*base64", 10, &dec, &n), -EINVAL);
        assert_int_equal(base64_decode("abc", 3, &dec, &n), -EINVAL);
        assert_int_equal(base64_decode("ab=c", 4, &dec, &n), -EINVAL);
        assert_null(dec);
}

static void test_path_helpers(void **state)
{
        char *s;

        s = path_dirname("/etc/kube/config");
        assert_string_equal(s, "/etc/kube");
        free(s);
        s = path_dirname("config");
        assert_string_equal(s, ".");
        free(s);
        s = path_join_relative("/etc/kube", "ca.crt");
        assert_string_equal(s, "/etc/kube/ca.crt");
        free(s);
        s = path_join_relative("/etc/kube", "/abs/ca.crt");
        assert_string_equal(s, "/abs/ca.crt");
        free(s);
}

static void test_read_file_limits_size(void **state)
{
        char *buf = NULL;
        size_t n;

        assert_int_equal(fileio_read("/proc/self/status", 16, &buf, &n), -EFBIG);
        assert_null(buf);
        assert_int_equal(fileio_read("/nonexistent/file", 16, &buf, &n), -ENOENT);
        assert_int_equal(fileio_read("/proc/self/status", 1 << 20, &buf, &n), 0);
        assert_true(n > 16);
        assert_int_equal(strlen(buf), n);
        free(buf);
}

static void test_write_atomic_replaces_whole(void **state)
{
        char dir[] = "/tmp/ko-test-XXXXXX", path[64], *buf = NULL;
        struct stat st;
        size_t n;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/f", dir);
        assert_int_equal(fileio_write_atomic(path, "first, longer", 13, 0600), 0);
        assert_int_equal(fileio_write_atomic(path, "second", 6, 0644), 0);
        assert_int_equal(fileio_read(path, 64, &buf, &n), 0);
        assert_string_equal(buf, "second");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        free(buf);
        /* no directory to write into: an error, and nothing left behind */
        snprintf(path, sizeof(path), "%s/missing/f", dir);
        assert_int_equal(fileio_write_atomic(path, "x", 1, 0600), -ENOENT);
        assert_int_equal(fileio_rm_rf(dir), 0);
}

static void test_hashmap_put_get_remove_iterate(void **state)
{
        struct hashmap *m = hashmap_new();
        void *old = NULL;
        size_t seen = 0;
        char k[32];

        for (intptr_t i = 0; i < 10000; i++) {
                snprintf(k, sizeof(k), "key-%ld", (long)i);
                assert_int_equal(hashmap_put(m, k, (void *)(i + 1), NULL), 0);
        }
        assert_int_equal(hashmap_size(m), 10000);
        assert_int_equal(hashmap_put(m, "key-7", (void *)99, &old), 0);
        assert_ptr_equal(old, (void *)8);
        assert_int_equal(hashmap_size(m), 10000);
        assert_ptr_equal(hashmap_get(m, "key-7"), (void *)99);
        assert_true(hashmap_contains(m, "key-9999"));
        assert_false(hashmap_contains(m, "key-10000"));
        for (intptr_t i = 0; i < 10000; i += 2) {
                snprintf(k, sizeof(k), "key-%ld", (long)i);
                assert_non_null(hashmap_remove(m, k));
        }
        assert_null(hashmap_remove(m, "key-0"));
        assert_int_equal(hashmap_size(m), 5000);
        for (const struct hashmap_entry *e = hashmap_first(m); e; e = hashmap_next(m, e)) {
                long n = strtol(hashmap_entry_key(e) + 4, NULL, 10);
                assert_true(n % 2 == 1);
                seen++;
        }
        assert_int_equal(seen, 5000);
        hashmap_free(m);
}

static void test_seal_roundtrip_and_tamper(void **state)
{
        unsigned char key[SEAL_KEY_LEN] = {1, 2, 3}, other[SEAL_KEY_LEN] = {1, 2, 4};
        static const char msg[] = "-----BEGIN PRIVATE KEY-----\nsecret\n";
        struct strbuf sealed = {0}, sealed2 = {0}, plain = {0};

        (void)state;
        assert_int_equal(seal_box(key, "ns/name", msg, sizeof(msg) - 1, &sealed), 0);
        assert_int_equal(sealed.len, 8 + 12 + (sizeof(msg) - 1) + 16);
        assert_null(memmem(sealed.buf, sealed.len, "secret", 6)); /* not in the clear */
        assert_int_equal(seal_open(key, "ns/name", sealed.buf, sealed.len, &plain), 0);
        assert_int_equal(plain.len, sizeof(msg) - 1);
        assert_memory_equal(plain.buf, msg, plain.len);
        /* a fresh nonce each time */
        assert_int_equal(seal_box(key, "ns/name", msg, sizeof(msg) - 1, &sealed2), 0);
        assert_memory_not_equal(sealed.buf + 8, sealed2.buf + 8, 12);
        /* the wrong key, the wrong aad, any changed byte, a truncated blob: refused */
        strbuf_reset(&plain);
        assert_int_equal(seal_open(other, "ns/name", sealed.buf, sealed.len, &plain), -EBADMSG);
        assert_int_equal(seal_open(key, "ns/other", sealed.buf, sealed.len, &plain), -EBADMSG);
        for (size_t i = 0; i < sealed.len; i++) {
                sealed.buf[i] ^= 0x01;
                assert_int_equal(seal_open(key, "ns/name", sealed.buf, sealed.len, &plain),
                                 -EBADMSG);
                sealed.buf[i] ^= 0x01;
        }
        assert_int_equal(seal_open(key, "ns/name", sealed.buf, 20, &plain), -EBADMSG);
        assert_int_equal(plain.len, 0);
        /* empty input seals too */
        strbuf_reset(&sealed2);
        assert_int_equal(seal_box(key, NULL, "", 0, &sealed2), 0);
        assert_int_equal(seal_open(key, NULL, sealed2.buf, sealed2.len, &plain), 0);
        assert_int_equal(plain.len, 0);
        strbuf_free(&sealed);
        strbuf_free(&sealed2);
        strbuf_free(&plain);
}

static void test_seal_key_decode(void **state)
{
        unsigned char raw[SEAL_KEY_LEN + 1], *key = NULL;
        char *text = NULL;

        (void)state;
        memset(raw, 0x5a, sizeof(raw));
        assert_int_equal(base64_encode(raw, SEAL_KEY_LEN, &text), 0);
        assert_int_equal(seal_key_decode(text, &key), 0);
        assert_memory_equal(key, raw, SEAL_KEY_LEN);
        free(key);
        free(text);
        /* one byte short or over, not base64, none: refused, nothing kept */
        for (int len = SEAL_KEY_LEN - 1; len <= SEAL_KEY_LEN + 1; len += 2) {
                assert_int_equal(base64_encode(raw, (size_t)len, &text), 0);
                assert_int_equal(seal_key_decode(text, &key), -EINVAL);
                assert_null(key);
                free(text);
        }
        assert_int_equal(seal_key_decode("not base64!", &key), -EINVAL);
        assert_null(key);
        assert_int_equal(seal_key_decode(NULL, &key), -EINVAL);
}

static int to_strbuf(void *userdata, const unsigned char *buf, size_t len)
{
        return strbuf_append(userdata, buf, len);
}

/* in through a stream (fed in pieces of `piece` bytes) into out; the first error */
static int stream(const unsigned char *key, const char *aad, bool seal, const void *in, size_t len,
                  size_t piece, struct strbuf *out)
{
        struct seal_stream *s = seal_stream_new(key, aad, seal, to_strbuf, out);
        const char *p = in;
        int r = 0;

        assert_non_null(s);
        for (size_t at = 0; at < len && r == 0; at += piece)
                r = seal_stream_feed(s, p + at, len - at < piece ? len - at : piece);
        if (r == 0)
                r = seal_stream_finish(s);
        seal_stream_free(s);
        return r;
}

#define CHUNK  65536
#define SEALED (12 + CHUNK + 16)

static void test_seal_stream(void **state)
{
        unsigned char key[SEAL_KEY_LEN] = {7}, other[SEAL_KEY_LEN] = {8};
        static const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5};
        size_t n = 3 * CHUNK + 5;
        char *plain = malloc(n);
        struct strbuf a = {0}, b = {0}, out = {0};

        (void)state;
        for (size_t i = 0; i < n; i++)
                plain[i] = (char)("known value "[i % 12]);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                size_t chunks = sizes[i] ? (sizes[i] + CHUNK - 1) / CHUNK : 1; /* one, empty */
                strbuf_reset(&a);
                strbuf_reset(&out);
                assert_int_equal(stream(key, "uid-1", true, plain, sizes[i], 1000, &a), 0);
                assert_int_equal(a.len, 12 + sizes[i] + chunks * 28);
                assert_true(seal_stream_is(a.buf, a.len));
                assert_null(memmem(a.buf, a.len, "known value", 11));
                assert_int_equal(stream(key, "uid-1", false, a.buf, a.len, 777, &out), 0);
                assert_int_equal(out.len, sizes[i]);
                assert_true(sizes[i] == 0 || memcmp(out.buf, plain, sizes[i]) == 0);
        }
        /* a, 3 full chunks and one of 5 bytes; b, the same under another aad */
        assert_int_equal(stream(key, "uid-2", true, plain, n, n, &b), 0);
        strbuf_reset(&out);
        assert_int_equal(stream(other, "uid-1", false, a.buf, a.len, n, &out), -EBADMSG);
        assert_int_equal(stream(key, "uid-2", false, a.buf, a.len, n, &out), -EBADMSG);
        /* any changed byte: of the header, a nonce, a ciphertext, a tag */
        for (size_t at = 0; at < a.len; at += 4099) {
                a.buf[at] ^= 0x20;
                assert_int_equal(stream(key, "uid-1", false, a.buf, a.len, n, &out), -EBADMSG);
                a.buf[at] ^= 0x20;
        }
        /* chunks swapped, a chunk from the other stream, the last chunk or the end cut off */
        memcpy(out.buf, a.buf + 12, SEALED);
        memcpy(a.buf + 12, a.buf + 12 + SEALED, SEALED);
        memcpy(a.buf + 12 + SEALED, out.buf, SEALED);
        assert_int_equal(stream(key, "uid-1", false, a.buf, a.len, n, &out), -EBADMSG);
        memcpy(a.buf + 12 + SEALED, a.buf + 12, SEALED);
        memcpy(a.buf + 12, out.buf, SEALED); /* back as it was */
        memcpy(out.buf, a.buf + 12 + SEALED, SEALED);
        memcpy(a.buf + 12 + SEALED, b.buf + 12 + SEALED, SEALED);
        assert_int_equal(stream(key, "uid-1", false, a.buf, a.len, n, &out), -EBADMSG);
        memcpy(a.buf + 12 + SEALED, out.buf, SEALED);
        strbuf_reset(&out);
        assert_int_equal(stream(key, "uid-1", false, a.buf, a.len, n, &out), 0);
        assert_int_equal(stream(key, "uid-1", false, a.buf, 12 + 3 * SEALED, n, &out), -EBADMSG);
        assert_int_equal(stream(key, "uid-1", false, a.buf, a.len - 1, n, &out), -EBADMSG);
        assert_int_equal(stream(key, "uid-1", false, a.buf, 10, n, &out), -EBADMSG);
        /* a blob or a plain snapshot is not a stream */
        assert_false(seal_stream_is(plain, n));
        assert_int_equal(stream(key, "uid-1", false, plain, n, n, &out), -EBADMSG);
        free(plain);
        strbuf_free(&a);
        strbuf_free(&b);
        strbuf_free(&out);
}

static void test_rfc3339(void **state)
{
        char buf[TIME_RFC3339_MAX];
        time_t t;

        (void)state;
        assert_int_equal(time_parse_rfc3339("2026-11-28T06:00:00Z", &t), 0);
        assert_int_equal(t, 1795845600);
        time_format_rfc3339(t, buf);
        assert_string_equal(buf, "2026-11-28T06:00:00Z");
        assert_int_equal(time_parse_rfc3339("2026-11-28T06:00:00.123456Z", &t), 0);
        assert_int_equal(t, 1795845600);
        assert_int_equal(time_parse_rfc3339("2026-11-28T07:30:00+01:30", &t), 0);
        assert_int_equal(t, 1795845600);
        assert_int_equal(time_parse_rfc3339("2026-11-28T06:00:00", &t), -EINVAL);
        assert_int_equal(time_parse_rfc3339("2026-11-28T06:00:00Zjunk", &t), -EINVAL);
        assert_int_equal(time_parse_rfc3339("2026-11-28T06:00:00.Z", &t), -EINVAL);
        assert_int_equal(time_parse_rfc3339("yesterday", &t), -EINVAL);
        assert_int_equal(time_parse_rfc3339(NULL, &t), -EINVAL);
}

/* the merge patch between two values: changes recursively, null for what went, whole arrays */
static void test_json_merge_diff(void **state)
{
        cJSON *from = cJSON_Parse("{\"a\":1,\"spec\":{\"keep\":1,\"gone\":{\"x\":1},"
                                  "\"deep\":{\"b\":2,\"c\":3}},\"list\":[1,2],\"old\":\"v\"}");
        cJSON *to = cJSON_Parse("{\"a\":1,\"spec\":{\"keep\":1,\"deep\":{\"b\":2}},"
                                "\"list\":[1],\"new\":true}");
        cJSON *want = cJSON_Parse("{\"spec\":{\"gone\":null,\"deep\":{\"c\":null}},\"list\":[1],"
                                  "\"new\":true,\"old\":null}");
        bool oom = false;
        cJSON *d = json_merge_diff(from, to, &oom);

        (void)state;
        assert_false(oom);
        if (!cJSON_Compare(d, want, true))
                fail_msg("merge patch %s", cJSON_PrintUnformatted(d));
        assert_null(json_merge_diff(to, to, &oom)); /* equal: nothing to send */
        cJSON_Delete(d);
        d = json_merge_diff(NULL, to, &oom); /* no status yet: all of it */
        assert_true(cJSON_Compare(d, to, true));
        cJSON_Delete(d);
        cJSON_Delete(from);
        cJSON_Delete(to);
        cJSON_Delete(want);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strbuf_grows_and_stays_terminated),
                cmocka_unit_test(test_strbuf_respects_max),
                cmocka_unit_test(test_strbuf_urlencodes_reserved_characters),
                cmocka_unit_test(test_strbuf_steal_empty_gives_empty_string),
                cmocka_unit_test(test_base64_roundtrip),
                cmocka_unit_test(test_base64_accepts_line_breaks),
                cmocka_unit_test(test_base64_rejects_garbage),
                cmocka_unit_test(test_path_helpers),
                cmocka_unit_test(test_read_file_limits_size),
                cmocka_unit_test(test_write_atomic_replaces_whole),
                cmocka_unit_test(test_hashmap_put_get_remove_iterate),
                cmocka_unit_test(test_seal_roundtrip_and_tamper),
                cmocka_unit_test(test_seal_stream),
                cmocka_unit_test(test_seal_key_decode),
                cmocka_unit_test(test_rfc3339),
                cmocka_unit_test(test_json_merge_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
