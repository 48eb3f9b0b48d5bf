/* SPDX-License-Identifier: Apache-2.0 */
#include "etcd_backup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "util/etcd_snapshot.h"
#include "util/seal.h"
#include "util/strbuf.h"

#define PART_SIZE (8u << 20)

struct dialed {
        const struct etcd_backup_member *m;
        void *conn;    /* dial's, for hang_up after the request */
        char why[512]; /* why dial failed */
};

static void hang_up(struct dialed *d)
{
        if (d->conn)
                d->m->hang_up(d->conn);
        d->conn = NULL;
}

static CURL *member_handle(const struct etcd_backup_member *m, const char *path,
                           struct curl_slist **resolve, struct curl_slist **headers, char *errbuf,
                           struct dialed *d)
{
        struct curl_blob ca = {(void *)m->ca, m->ca_len, CURL_BLOB_COPY};
        struct curl_blob cert = {(void *)m->cert, m->cert_len, CURL_BLOB_COPY};
        struct curl_blob key = {(void *)m->key, m->key_len, CURL_BLOB_COPY};
        struct strbuf url = {0};
        CURL *h = curl_easy_init();

        if (!h || strbuf_printf(&url, "%s%s", m->url, path) < 0) {
                curl_easy_cleanup(h);
                strbuf_free(&url);
                return NULL;
        }
        curl_easy_setopt(h, CURLOPT_URL, url.buf);
        strbuf_free(&url);
        *d = (struct dialed){.m = m};
        if (m->dial) {
                char name[128];
                d->conn = m->dial(m->dial_arg, name, sizeof(name), d->why, sizeof(d->why));
                if (!d->conn) {
                        curl_easy_cleanup(h);
                        return NULL;
                }
                curl_easy_setopt(h, CURLOPT_ABSTRACT_UNIX_SOCKET, name);
        } else if (m->resolve) {
                *resolve = curl_slist_append(NULL, m->resolve);
                curl_easy_setopt(h, CURLOPT_RESOLVE, *resolve);
        }
        *headers = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        return h;
}

static size_t collect(char *buf, size_t size, size_t n, void *userdata)
{
        struct strbuf *b = userdata;

        if (b->len + size * n > (1u << 20))
                return 0;
        return strbuf_append(b, buf, size * n) < 0 ? 0 : size * n;
}

/* uint64 fields (member ids) arrive as decimal strings beyond int64 */
static unsigned long long unum(const cJSON *o, const char *k)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

        return cJSON_IsString(v) ? strtoull(v->valuestring, NULL, 10) : 0;
}

static long long num(const cJSON *o, const char *k)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

        return cJSON_IsString(v)   ? strtoll(v->valuestring, NULL, 10)
               : cJSON_IsNumber(v) ? (long long)v->valuedouble
                                   : 0;
}

int etcd_backup_call(const struct etcd_backup_member *m, const char *path, const char *body,
                     cJSON **ret, char *err, size_t errlen)
{
        struct curl_slist *resolve = NULL, *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        struct strbuf out = {0};
        long http = 0;
        CURLcode cc;
        struct dialed d = {0};
        CURL *h = member_handle(m, path, &resolve, &headers, errbuf, &d);
        int r = 0;

        *ret = NULL;
        if (!h) {
                snprintf(err, errlen, "%s", d.why[0] ? d.why : "out of memory");
                return d.why[0] ? -EIO : -ENOMEM;
        }
        curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body ? body : "{}");
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_cleanup(h);
        hang_up(&d);
        curl_slist_free_all(resolve);
        curl_slist_free_all(headers);
        if (cc != CURLE_OK) {
                snprintf(err, errlen, "%s: %s", m->url,
                         d.why[0]    ? d.why
                         : errbuf[0] ? errbuf
                                     : curl_easy_strerror(cc));
                r = -EIO;
        } else if (http != 200 || !(*ret = cJSON_ParseWithLength(out.buf, out.len))) {
                snprintf(err, errlen, "%s%s: HTTP %ld: %.200s", m->url, path, http,
                         out.buf ? out.buf : "");
                r = -EIO;
        }
        strbuf_free(&out);
        return r;
}

int etcd_backup_status(const struct etcd_backup_member *m, struct etcd_backup_status *st, char *err,
                       size_t errlen)
{
        cJSON *j = NULL, *e;
        int r = etcd_backup_call(m, "/v3/maintenance/status", NULL, &j, err, errlen);

        if (r < 0)
                return r;
        *st = (struct etcd_backup_status){0};
        st->revision = num(cJSON_GetObjectItemCaseSensitive(j, "header"), "revision");
        st->member_id = unum(cJSON_GetObjectItemCaseSensitive(j, "header"), "member_id");
        st->db_size = num(j, "dbSize");
        st->leader = unum(j, "leader");
        st->learner = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "isLearner"));
        snprintf(st->version, sizeof(st->version), "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "version")) ?: "");
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(j, "errors")) {
                size_t l = strlen(st->errors);
                snprintf(st->errors + l, sizeof(st->errors) - l, "%s%s", l ? "; " : "",
                         cJSON_GetStringValue(e) ?: "?");
        }
        cJSON_Delete(j);
        return 0;
}

struct stream {
        struct etcd_snapshot_stream *decoder;
        struct seal_stream *seal; /* between the decoder and the parts, or NULL */
        uint64_t stored;          /* bytes of the object */
        struct s3_upload *upload;
        struct s3_error s3;
        unsigned char *part;
        size_t part_len;
        int error;
        char message[512];
};

static int flush_part(struct stream *s)
{
        int r = s3_upload_part(s->upload, s->part, s->part_len, &s->s3);

        s->part_len = 0;
        return r;
}

static int to_parts(void *userdata, const unsigned char *buf, size_t len)
{
        struct stream *s = userdata;

        s->stored += len;
        while (len) {
                size_t take = PART_SIZE - s->part_len < len ? PART_SIZE - s->part_len : len;
                memcpy(s->part + s->part_len, buf, take);
                s->part_len += take, buf += take, len -= take;
                if (s->part_len == PART_SIZE && flush_part(s) < 0)
                        return -EIO;
        }
        return 0;
}

/* what etcd sends, checked by the decoder: sealed on the way when the object is */
static int to_object(void *userdata, const unsigned char *buf, size_t len)
{
        struct stream *s = userdata;

        return s->seal ? seal_stream_feed(s->seal, buf, len) : to_parts(s, buf, len);
}

static size_t from_etcd(char *buf, size_t size, size_t n, void *userdata)
{
        struct stream *s = userdata;

        if (s->error)
                return 0;
        s->error = etcd_snapshot_stream_feed(s->decoder, buf, size * n, s->message,
                                             sizeof(s->message));
        return s->error ? 0 : size * n;
}

static unsigned nibble(char c) /* of lower-case hex */
{
        return c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0');
}

/* The end of the object: what `etcdctl snapshot save` writes, the database then its hash; the
 * last part; the upload completed. */
static int finish_upload(struct stream *s, struct etcd_backup_snapshot *res, char *err,
                         size_t errlen)
{
        unsigned char hash[32];
        int r;

        for (size_t i = 0; i < 32; i++)
                hash[i] = (unsigned char)(nibble(res->sha256[2 * i]) << 4 |
                                          nibble(res->sha256[2 * i + 1]));
        r = to_object(s, hash, sizeof(hash));
        if (r == 0 && s->seal)
                r = seal_stream_finish(s->seal);
        if (r == 0 && s->part_len)
                r = flush_part(s);
        if (r == 0) {
                r = s3_upload_complete(s->upload, &s->s3);
                s->upload = NULL;
        }
        if (r < 0) {
                res->s3_failed = true;
                snprintf(err, errlen, "S3: %s", s->s3.message);
        }
        res->size = s->stored;
        return r;
}

int etcd_backup_snapshot_to_s3(const struct etcd_backup_member *m, const struct s3_client *c,
                               const char *key, const unsigned char *seal_key, const char *aad,
                               struct etcd_backup_snapshot *res, char *err, size_t errlen)
{
        struct curl_slist *resolve = NULL, *headers = NULL;
        struct stream s = {0};
        struct etcd_backup_status st;
        char errbuf[CURL_ERROR_SIZE] = "";
        struct dialed d = {0};
        long http = 0;
        CURLcode cc;
        CURL *h;
        int r;

        r = etcd_backup_status(m, &st, err, errlen);
        if (r < 0)
                return r;
        if (st.errors[0] || st.learner || !st.leader) {
                snprintf(err, errlen, "%s is not healthy: %s", m->url,
                         st.errors[0] ? st.errors
                         : st.learner ? "a learner"
                                      : "no leader");
                return -EAGAIN;
        }
        s.part = malloc(PART_SIZE);
        s.decoder = etcd_snapshot_stream_new(to_object, &s);
        if (seal_key)
                s.seal = seal_stream_new(seal_key, aad, true, to_parts, &s);
        if (!s.part || !s.decoder || (seal_key && !s.seal)) {
                r = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto out;
        }
        r = s3_upload_begin(c, key, &s.upload, &s.s3);
        if (r < 0) {
                res->s3_failed = true;
                snprintf(err, errlen, "S3: %s", s.s3.message);
                goto out;
        }
        h = member_handle(m, "/v3/maintenance/snapshot", &resolve, &headers, errbuf, &d);
        if (!h) {
                r = d.why[0] ? -EIO : -ENOMEM;
                snprintf(err, errlen, "%s", d.why[0] ? d.why : "out of memory");
                goto out;
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, from_etcd);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* stalled for a minute: give up */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_cleanup(h);
        hang_up(&d);
        if (s.error) {
                r = s.error;
                res->s3_failed = s.s3.message[0] != '\0';
                snprintf(err, errlen, "%s%s", s.s3.message[0] ? "S3: " : "",
                         s.s3.message[0] ? s.s3.message : s.message);
        } else if (cc != CURLE_OK || http != 200) {
                r = -EIO;
                snprintf(err, errlen, "%s: snapshot: %s (HTTP %ld)", m->url,
                         d.why[0]    ? d.why
                         : errbuf[0] ? errbuf
                                     : curl_easy_strerror(cc),
                         http);
        } else if ((r = etcd_snapshot_stream_finish(s.decoder, &res->size, res->sha256, err,
                                                    errlen)) == 0) {
                r = finish_upload(&s, res, err, errlen);
                res->revision = st.revision;
        }
out:
        if (s.upload)
                s3_upload_abort(s.upload);
        etcd_snapshot_stream_free(s.decoder);
        seal_stream_free(s.seal);
        free(s.part);
        curl_slist_free_all(resolve);
        curl_slist_free_all(headers);
        return r;
}
