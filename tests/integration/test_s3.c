/* SPDX-License-Identifier: Apache-2.0 */
/* The S3 client (operator/util/s3.c: libcurl's SigV4, libxml2) against a real S3-compatible
 * server (versitygw, started by hack/s3.sh): put, get, list with pages, multipart upload,
 * abort leaving nothing behind, delete, and wrong credentials refused; through a front that
 * fails requests (503 SlowDown, dropped connections; before the server acts, or after it
 * completed an upload and the answer is lost), the same work completes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "faultproxy.h"
#include "itest.h"
#include "util/fileio.h"
#include "util/s3.h"
#include "util/strbuf.h"

static size_t count(const struct s3_client *c, const char *prefix, long long *size)
{
        struct s3_object *o = NULL;
        struct s3_error e = {0};
        size_t n = 0;

        IT_ASSERT(s3_list(c, prefix, &o, &n, &e) == 0, "list %s: %s", prefix, e.message);
        if (size)
                *size = n ? o[0].size : -1;
        s3_objects_free(o, n);
        return n;
}

/* One multipart upload and its read-back through front f */
static void upload_through(const struct s3_client *c, const char *key, const unsigned char *data,
                           size_t big, size_t part)
{
        struct s3_upload *u = NULL;
        struct s3_error e = {0};
        struct strbuf got = {0};

        IT_ASSERT(s3_upload_begin(c, key, &u, &e) == 0, "begin: %s", e.message);
        for (size_t at = 0; at < big; at += part)
                IT_ASSERT(s3_upload_part(u, data + at, big - at < part ? big - at : part, &e) == 0,
                          "part at %zu: %s", at, e.message);
        IT_ASSERT(s3_upload_complete(u, &e) == 0, "complete: %s", e.message);
        IT_ASSERT(s3_get(c, key, 16u << 20, &got, &e) == 0 && got.len == big &&
                          memcmp(got.buf, data, big) == 0,
                  "get %s: %s (%zu bytes)", key, e.message, got.len);
        strbuf_free(&got);
        IT_ASSERT(s3_delete(c, key, &e) == 0, "delete %s: %s", key, e.message);
}

/* Every other request failed before the server sees it; then every other completion done by
 * the server with its answer lost: the retries (and an idempotent completion) carry it. */
static void through_failing_front(const struct s3_client *c, const unsigned char *data, size_t big,
                                  size_t part)
{
        static const struct {
                const char *method, *query;
                bool after;
        } fronts[] = {{NULL, NULL, false}, {"POST", "uploadId=", true}};
        char endpoint[64];

        for (size_t i = 0; i < sizeof(fronts) / sizeof(fronts[0]); i++) {
                struct faultproxy *f = faultproxy_start(
                        &(struct faultproxy_options){.backend = c->target.endpoint,
                                                     .method = fronts[i].method,
                                                     .query = fronts[i].query,
                                                     .every = 2,
                                                     .after_forward = fronts[i].after});
                struct s3_client fc = *c;
                IT_ASSERT(f, "the failing front");
                snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", faultproxy_port(f));
                fc.target.endpoint = endpoint;
                upload_through(&fc, "front/snapshot.db", data, big, part);
                IT_ASSERT(faultproxy_failed(f) > 0, "the front failed nothing");
                itest_log("through a front failing %s%s%s: %u of %u requests failed on purpose; "
                          "the upload completed and read back identical",
                          fronts[i].method ? fronts[i].method : "every other request",
                          fronts[i].method ? " completions (after the server acted)" : "", "",
                          faultproxy_failed(f), faultproxy_requests(f));
                faultproxy_stop(f);
        }
}

/* HTTPS (the second versitygw): trusted through caBundle; refused with another CA */
static void over_https(const struct s3_client *c)
{
        struct s3_client tc = *c;
        struct s3_error e = {0};
        struct strbuf got = {0};
        char *ca = NULL, *other = NULL, path[1024];
        size_t len, other_len;

        IT_ASSERT(fileio_read(itest_s3_env("S3_CA_FILE"), 1u << 20, &ca, &len) == 0, "read the CA");
        /* another real CA: the host cluster's */
        snprintf(path, sizeof(path), "%s/pki/ca.crt", getenv("KO_TEST_CLUSTER"));
        IT_ASSERT(fileio_read(path, 1u << 20, &other, &other_len) == 0, "read %s", path);
        tc.target.endpoint = itest_s3_env("S3_TLS_ENDPOINT");
        tc.ca_pem = ca;
        tc.ca_len = len;
        IT_ASSERT(s3_put(&tc, "tls/hello.txt", "hello", 5, &e) == 0, "put over https: %s",
                  e.message);
        IT_ASSERT(s3_get(&tc, "tls/hello.txt", 1024, &got, &e) == 0 && got.len == 5,
                  "get over https: %s", e.message);
        strbuf_free(&got);
        IT_ASSERT(s3_delete(&tc, "tls/hello.txt", &e) == 0, "delete over https: %s", e.message);
        /* the system's CAs and another CA do not vouch for it */
        tc.ca_pem = NULL;
        tc.ca_len = 0;
        IT_ASSERT(s3_put(&tc, "tls/x", "x", 1, &e) < 0 && e.http == 0,
                  "put over https without its CA: %s", e.message);
        tc.ca_pem = other;
        tc.ca_len = other_len;
        IT_ASSERT(s3_put(&tc, "tls/x", "x", 1, &e) < 0 && e.http == 0,
                  "put over https with another CA: %s", e.message);
        itest_log("over https: served with its caBundle; refused with the cluster's CA (%s)",
                  e.message);
        free(ca);
        free(other);
}

int main(void)
{
        const size_t big = (11u << 20) + 123, part = 5u << 20;
        struct s3_client c, bad;
        struct s3_error e = {0};
        struct s3_upload *u = NULL;
        struct strbuf got = {0};
        unsigned char *data = malloc(big);
        long long size;
        uint32_t x = 7;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        itest_s3_client(&c);
        IT_ASSERT(data, "memory");
        for (size_t i = 0; i < big; i++)
                data[i] = (unsigned char)((x = x * 1664525u + 1013904223u) >> 24);

        /* put, get, list */
        IT_ASSERT(s3_put(&c, "t/a b+c.txt", "hello", 5, &e) == 0, "put: %s", e.message);
        IT_ASSERT(s3_get(&c, "t/a b+c.txt", 1024, &got, &e) == 0 && got.len == 5 &&
                          memcmp(got.buf, "hello", 5) == 0,
                  "get: %s", e.message);
        strbuf_free(&got);
        IT_ASSERT(count(&c, "t/", &size) == 1 && size == 5, "list t/: one object of 5 bytes");
        itest_log("put, get and list of a key that needs encoding");

        /* many objects: the list comes in pages of 1,000 */
        for (int i = 0; i < 1003; i++) {
                char key[64];
                snprintf(key, sizeof(key), "many/%04d", i);
                IT_ASSERT(s3_put(&c, key, "x", 1, &e) == 0, "put %s: %s", key, e.message);
        }
        IT_ASSERT(count(&c, "many/", NULL) == 1003, "1003 objects listed");
        itest_log("1003 objects listed across pages");

        /* multipart */
        IT_ASSERT(s3_upload_begin(&c, "big/snapshot.db", &u, &e) == 0, "begin: %s", e.message);
        for (size_t at = 0; at < big; at += part)
                IT_ASSERT(s3_upload_part(u, data + at, big - at < part ? big - at : part, &e) == 0,
                          "part at %zu: %s", at, e.message);
        IT_ASSERT(s3_upload_complete(u, &e) == 0, "complete: %s", e.message);
        IT_ASSERT(s3_get(&c, "big/snapshot.db", 16u << 20, &got, &e) == 0 && got.len == big &&
                          memcmp(got.buf, data, big) == 0,
                  "get big: %s (%zu bytes)", e.message, got.len);
        strbuf_free(&got);
        itest_log("multipart upload of %zu bytes in 3 parts, read back identical", big);

        /* aborted: nothing stays */
        IT_ASSERT(s3_upload_begin(&c, "aborted/snapshot.db", &u, &e) == 0, "begin: %s", e.message);
        IT_ASSERT(s3_upload_part(u, data, part, &e) == 0, "part: %s", e.message);
        s3_upload_abort(u);
        IT_ASSERT(count(&c, "aborted/", NULL) == 0, "an aborted upload left an object");

        through_failing_front(&c, data, big, part);
        over_https(&c);

        /* wrong credentials */
        bad = c;
        bad.secret_key = "not-the-secret";
        IT_ASSERT(s3_put(&bad, "t/forged", "x", 1, &e) < 0 && e.http == 403, "forged put: %ld %s",
                  e.http, e.message);
        itest_log("wrong secret refused: %ld %s", e.http, e.message);
        IT_ASSERT(count(&c, "t/forged", NULL) == 0, "a forged put left an object");
        /* a server that is not there */
        bad = c;
        bad.target.endpoint = "http://127.0.0.1:1";
        IT_ASSERT(s3_put(&bad, "t/x", "x", 1, &e) < 0 && e.http == 0, "no server: %s", e.message);

        /* delete */
        IT_ASSERT(s3_delete(&c, "t/a b+c.txt", &e) == 0 &&
                          s3_delete(&c, "big/snapshot.db", &e) == 0,
                  "delete: %s", e.message);
        IT_ASSERT(count(&c, "t/", NULL) == 0 && count(&c, "big/", NULL) == 0, "deleted");
        free(data);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
