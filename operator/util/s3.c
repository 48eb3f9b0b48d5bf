/* SPDX-License-Identifier: Apache-2.0 */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "digest.h"
#include "random.h"
#include "retry.h"
#include "strbuf.h"

int s3_encode(struct strbuf *out, const char *in, bool keep_slash)
{
        static const char hex[] = "0123456789ABCDEF";

        for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
                int r;
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
                    (keep_slash && *p == '/'))
                        r = strbuf_printf(out, "%c", *p);
                else
                        r = strbuf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int by_name_then_value(const void *a, const void *b)
{
        const struct s3_param *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

int s3_url(struct strbuf *out, const struct s3_target *t, const char *key,
           const struct s3_param *params, size_t n_params)
{
        const char *scheme_end = strstr(t->endpoint, "://");
        struct s3_param *sorted = NULL;
        size_t elen = strlen(t->endpoint);
        int r;

        if (!scheme_end || !t->bucket || !*t->bucket)
                return -EINVAL;
        while (elen && t->endpoint[elen - 1] == '/')
                elen--;
        if (t->path_style)
                r = strbuf_printf(out, "%.*s/%s", (int)elen, t->endpoint, t->bucket);
        else
                r = strbuf_printf(out, "%.*s%s.%.*s", (int)(scheme_end + 3 - t->endpoint),
                                  t->endpoint, t->bucket,
                                  (int)(elen - (size_t)(scheme_end + 3 - t->endpoint)),
                                  scheme_end + 3);
        if (r >= 0)
                r = strbuf_printf(out, "/");
        if (r >= 0 && key)
                r = s3_encode(out, key[0] == '/' ? key + 1 : key, true);
        if (r < 0 || !n_params)
                return r < 0 ? r : 0;
        sorted = malloc(n_params * sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, params, n_params * sizeof(*sorted));
        qsort(sorted, n_params, sizeof(*sorted), by_name_then_value);
        for (size_t i = 0; i < n_params && r >= 0; i++) {
                r = strbuf_printf(out, "%c", i ? '&' : '?');
                if (r >= 0)
                        r = s3_encode(out, sorted[i].name, false);
                if (r >= 0)
                        r = strbuf_printf(out, "=");
                if (r >= 0 && sorted[i].value)
                        r = s3_encode(out, sorted[i].value, false);
        }
        free(sorted);
        return r < 0 ? r : 0;
}

int s3_sigv4_param(struct strbuf *out, const struct s3_target *t)
{
        int r = strbuf_printf(out, "aws:amz:%s:s3",
                              t->region && *t->region ? t->region : "us-east-1");

        return r < 0 ? r : 0;
}

/* ---- requests ---- */

struct body {
        const unsigned char *data;
        size_t len, at;
};

struct answer {
        struct strbuf *out;
        size_t max;
        bool too_big;
        char etag[256];
        CURL *h;
        s3_sink_fn sink; /* a successful answer's body goes here, not to out */
        void *sink_data;
        int sink_error;
        bool delivered;   /* sink was given some of the body: the request cannot be repeated */
        long retry_after; /* seconds, from a Retry-After header; -1: none */
};

static size_t read_body(char *buf, size_t size, size_t n, void *userdata)
{
        struct body *b = userdata;
        size_t take = size * n < b->len - b->at ? size * n : b->len - b->at;

        memcpy(buf, b->data + b->at, take);
        b->at += take;
        return take;
}

static size_t write_answer(char *buf, size_t size, size_t n, void *userdata)
{
        struct answer *a = userdata;
        long http = 0;

        if (a->sink && curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &http) == CURLE_OK &&
            http >= 200 && http < 300) {
                a->delivered = true;
                a->sink_error = a->sink(buf, size * n, a->sink_data);
                return a->sink_error < 0 ? 0 : size * n;
        }

        if (a->out->len + size * n > a->max) {
                a->too_big = true;
                return 0;
        }
        return strbuf_append(a->out, buf, size * n) < 0 ? 0 : size * n;
}

static size_t header(char *buf, size_t size, size_t n, void *userdata)
{
        struct answer *a = userdata;
        size_t len = size * n;

        if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
                char v[32];
                snprintf(v, sizeof(v), "%.*s", (int)(len - 12 < 31 ? len - 12 : 31), buf + 12);
                a->retry_after = retry_parse_after(v);
        }
        if (len > 5 && strncasecmp(buf, "etag:", 5) == 0) {
                const char *v = buf + 5;
                size_t vl = len - 5;
                while (vl && (*v == ' ' || *v == '\t'))
                        v++, vl--;
                while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                        vl--;
                snprintf(a->etag, sizeof(a->etag), "%.*s", (int)vl, v);
        }
        return len;
}

/* the text of the first element named name below node, or NULL; caller frees */
static char *xml_text(xmlNode *node, const char *name)
{
        for (xmlNode *n = node; n; n = n->next) {
                char *t;
                if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
                        return (char *)xmlNodeGetContent(n);
                if ((t = xml_text(n->children, name)))
                        return t;
        }
        return NULL;
}

static void error_from(struct s3_error *e, long http, const struct strbuf *body, const char *why)
{
        xmlDoc *doc = NULL;
        char *code = NULL, *msg = NULL;

        if (!e)
                return;
        e->http = http;
        snprintf(e->code, sizeof(e->code), "%s", http ? "HTTP" : "NoAnswer");
        snprintf(e->message, sizeof(e->message), "%s", why);
        if (body && body->len)
                doc = xmlReadMemory(body->buf, (int)body->len, "s3.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (doc) {
                code = xml_text(xmlDocGetRootElement(doc), "Code");
                msg = xml_text(xmlDocGetRootElement(doc), "Message");
        }
        if (code)
                snprintf(e->code, sizeof(e->code), "%s", code);
        if (code || msg)
                snprintf(e->message, sizeof(e->message), "%s: %s", code ? code : "error",
                         msg ? msg : "");
        xmlFree(code);
        xmlFree(msg);
        xmlFreeDoc(doc);
}

/* One signed request. body may be NULL. The answer (at most max bytes) into out; an error
 * status or an <Error> document in a 200 is a failure. */
/* The method of a request, and its body for PUT and POST. */
static void set_method(CURL *h, const char *method, struct body *b)
{
        if (strcmp(method, "PUT") == 0) {
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
                curl_easy_setopt(h, CURLOPT_READDATA, b);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b->len);
        } else if (strcmp(method, "POST") == 0) {
                curl_easy_setopt(h, CURLOPT_POST, 1L);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->data ? (const char *)b->data : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(b->data ? b->len : 0));
        } else if (strcmp(method, "GET") != 0) {
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
}

/* What a finished transfer came to: 0, or a negative errno with e filled. */
static int judge_answer(const char *method, CURLcode cc, long http, const struct answer *a,
                        const char *errbuf, struct s3_error *e)
{
        if (a->sink_error < 0) {
                error_from(e, http, NULL, "the answer could not be taken");
                return a->sink_error;
        }
        if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && a->too_big)) {
                error_from(e, 0, NULL, errbuf[0] ? errbuf : curl_easy_strerror(cc));
                return -EIO;
        }
        if (a->too_big) {
                error_from(e, http, NULL, "the answer is larger than expected");
                return -EFBIG;
        }
        if (http < 200 || http >= 300 ||
            (a->out->buf && strstr(a->out->buf, "<Error>") && strcmp(method, "GET") != 0)) {
                error_from(e, http, a->out, "request failed");
                return -EIO;
        }
        return 0;
}

/* Whether a failed attempt may be sent again: no answer (a connection refused, reset or timed
 * out), or the server's own trouble (5xx, 429, or S3's RequestTimeout, InternalError and
 * SlowDown codes, in a 200 too); never once part of a streamed body was handed on, nor after
 * the sink or a size limit stopped it. Request bodies are in memory: sent again whole. */
static bool retryable(CURLcode cc, long http, const struct answer *a)
{
        if (a->delivered || a->sink_error < 0 || a->too_big)
                return false;
        if (cc != CURLE_OK)
                return true;
        if (http >= 500 || http == 429)
                return true;
        return a->out->buf && (strstr(a->out->buf, "<Code>RequestTimeout</Code>") ||
                               strstr(a->out->buf, "<Code>InternalError</Code>") ||
                               strstr(a->out->buf, "<Code>SlowDown</Code>"));
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

#define S3_MAX_RETRIES 4 /* 5 attempts, about 3 s of backoff without Retry-After */

/* The transfer of a prepared handle, again while it fails in a way worth retrying: each
 * attempt starts from the body's beginning and the answer buffer as the caller gave it. */
static int perform(CURL *h, const char *method, struct answer *a, struct body *b, char *errbuf,
                   struct s3_error *e)
{
        const size_t kept = a->out->len; /* what the caller's buffer held before */
        long http;
        CURLcode cc;
        int r;

        for (int attempt = 0;; attempt++) {
                b->at = 0;
                a->out->len = kept;
                if (a->out->buf)
                        a->out->buf[kept] = '\0';
                a->too_big = false;
                a->etag[0] = errbuf[0] = '\0';
                a->retry_after = -1;
                http = 0;
                cc = curl_easy_perform(h);
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
                r = judge_answer(method, cc, http, a, errbuf, e);
                if (r == 0 || attempt >= S3_MAX_RETRIES || !retryable(cc, http, a))
                        return r;
                sleep_ms(retry_delay_ms(attempt, a->retry_after, random_unit()));
        }
}

static int request_to(const struct s3_client *c, const char *method, const char *key,
                      const struct s3_param *params, size_t n_params, const void *data, size_t len,
                      const char *content_type, struct strbuf *out, size_t max, char *etag,
                      size_t etag_len, s3_sink_fn sink, void *sink_data, struct s3_error *e)
{
        struct strbuf url = {0}, sig = {0}, user = {0}, own = {0}, hdr = {0};
        struct body b = {data, len, 0};
        struct answer a = {.out = out ? out : &own,
                           .max = max ? max : (1u << 20),
                           .sink = sink,
                           .sink_data = sink_data,
                           .retry_after = -1};
        struct curl_slist *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "", sum[SHA256_HEX_LEN];
        CURL *h;
        int r;

        if (s3_url(&url, &c->target, key, params, n_params) < 0 ||
            s3_sigv4_param(&sig, &c->target) < 0 ||
            strbuf_printf(&user, "%s:%s", c->access_key, c->secret_key) < 0 ||
            sha256_hex(data ? data : "", data ? len : 0, sum) < 0 ||
            strbuf_printf(&hdr, "x-amz-content-sha256: %s", sum) < 0 || !(h = curl_easy_init())) {
                r = -ENOMEM;
                error_from(e, 0, NULL, "out of memory");
                goto out;
        }
        headers = curl_slist_append(headers, hdr.buf);
        headers = curl_slist_append(headers, "Expect:");
        if (content_type) {
                strbuf_free(&hdr);
                strbuf_printf(&hdr, "Content-Type: %s", content_type);
                headers = curl_slist_append(headers, hdr.buf);
        }
        curl_easy_setopt(h, CURLOPT_URL, url.buf);
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sig.buf);
        curl_easy_setopt(h, CURLOPT_USERPWD, user.buf);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms ? c->timeout_ms : 300000L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        if (c->ca_pem) {
                struct curl_blob blob = {(void *)c->ca_pem, c->ca_len, CURL_BLOB_COPY};
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        }
        a.h = h;
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_answer);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
        set_method(h, method, &b);
        r = perform(h, method, &a, &b, errbuf, e);
        curl_easy_cleanup(h);
        if (r == 0 && etag)
                snprintf(etag, etag_len, "%s", a.etag);
out:
        curl_slist_free_all(headers);
        strbuf_free(&url);
        strbuf_free(&sig);
        strbuf_free_secret(&user); /* it held the secret key */
        strbuf_free(&own);
        strbuf_free(&hdr);
        return r;
}

static int request(const struct s3_client *c, const char *method, const char *key,
                   const struct s3_param *params, size_t n_params, const void *data, size_t len,
                   const char *content_type, struct strbuf *out, size_t max, char *etag,
                   size_t etag_len, struct s3_error *e)
{
        return request_to(c, method, key, params, n_params, data, len, content_type, out, max, etag,
                          etag_len, NULL, NULL, e);
}

int s3_get_stream(const struct s3_client *c, const char *key, s3_sink_fn sink, void *userdata,
                  struct s3_error *e)
{
        return request_to(c, "GET", key, NULL, 0, NULL, 0, NULL, NULL, 0, NULL, 0, sink, userdata,
                          e);
}

int s3_put(const struct s3_client *c, const char *key, const void *buf, size_t len,
           struct s3_error *e)
{
        return request(c, "PUT", key, NULL, 0, buf, len, NULL, NULL, 0, NULL, 0, e);
}

int s3_get(const struct s3_client *c, const char *key, size_t max, struct strbuf *out,
           struct s3_error *e)
{
        return request(c, "GET", key, NULL, 0, NULL, 0, NULL, out, max, NULL, 0, e);
}

int s3_delete(const struct s3_client *c, const char *key, struct s3_error *e)
{
        return request(c, "DELETE", key, NULL, 0, NULL, 0, NULL, NULL, 0, NULL, 0, e);
}

void s3_objects_free(struct s3_object *o, size_t n)
{
        for (size_t i = 0; o && i < n; i++) {
                free(o[i].key);
                free(o[i].last_modified);
        }
        free(o);
}

/* GET of the bucket with params, its answer parsed as XML (what: the answer, for the error) */
static int get_xml(const struct s3_client *c, const struct s3_param *params, size_t n,
                   const char *what, xmlDoc **doc, struct s3_error *e)
{
        struct strbuf out = {0};
        int r = request(c, "GET", NULL, params, n, NULL, 0, NULL, &out, 16u << 20, NULL, 0, e);

        *doc = r < 0 ? NULL
                     : xmlReadMemory(out.buf ? out.buf : "", (int)out.len, "s3.xml", NULL,
                                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        strbuf_free(&out);
        if (r == 0 && !*doc) {
                char why[128];
                snprintf(why, sizeof(why), "%s is not XML", what);
                error_from(e, 200, NULL, why);
                r = -EBADMSG;
        }
        return r;
}

int s3_list(const struct s3_client *c, const char *prefix, struct s3_object **ret, size_t *ret_n,
            struct s3_error *e)
{
        struct s3_object *list = NULL;
        size_t n = 0;
        char *token = NULL;
        int r = 0;

        do {
                struct s3_param p[3] = {{"list-type", "2"}, {"prefix", prefix ? prefix : ""}};
                xmlDoc *doc;
                xmlNode *root;

                if (token)
                        p[2] = (struct s3_param){"continuation-token", token};
                r = get_xml(c, p, token ? 3 : 2, "the object list", &doc, e);
                xmlFree(token);
                token = NULL;
                if (r < 0)
                        break;
                root = xmlDocGetRootElement(doc);
                for (xmlNode *o = root ? root->children : NULL; o && r == 0; o = o->next) {
                        struct s3_object *grown;
                        char *size;
                        if (o->type != XML_ELEMENT_NODE ||
                            strcmp((const char *)o->name, "Contents") != 0)
                                continue;
                        grown = realloc(list, (n + 1) * sizeof(*list));
                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        list = grown;
                        list[n] = (struct s3_object){0};
                        list[n].key = xml_text(o->children, "Key");
                        list[n].last_modified = xml_text(o->children, "LastModified");
                        size = xml_text(o->children, "Size");
                        list[n].size = size ? strtoll(size, NULL, 10) : 0;
                        xmlFree(size);
                        n++;
                }
                {
                        char *trunc = root ? xml_text(root->children, "IsTruncated") : NULL;
                        if (trunc && strcmp(trunc, "true") == 0)
                                token = xml_text(root->children, "NextContinuationToken");
                        xmlFree(trunc);
                }
                xmlFreeDoc(doc);
        } while (r == 0 && token);
        xmlFree(token);
        if (r < 0) {
                s3_objects_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int s3_abort_uploads(const struct s3_client *c, const char *prefix, int *n, struct s3_error *e)
{
        struct s3_param p[2] = {{"prefix", prefix ? prefix : ""}, {"uploads", NULL}};
        xmlDoc *doc;
        xmlNode *root;
        int r = get_xml(c, p, 2, "the upload list", &doc, e);

        *n = 0;
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        for (xmlNode *u = root ? root->children : NULL; u && r == 0; u = u->next) {
                char *key, *id;
                if (u->type != XML_ELEMENT_NODE || strcmp((const char *)u->name, "Upload") != 0)
                        continue;
                key = xml_text(u->children, "Key");
                id = xml_text(u->children, "UploadId");
                if (key && id) {
                        struct s3_param q = {"uploadId", id};
                        r = request(c, "DELETE", key, &q, 1, NULL, 0, NULL, NULL, 0, NULL, 0, e);
                        *n += r == 0;
                }
                xmlFree(key);
                xmlFree(id);
        }
        xmlFreeDoc(doc);
        return r;
}

struct s3_upload {
        const struct s3_client *c;
        char *key, *id;
        struct strbuf parts; /* <Part> elements */
        int n;
};

static void upload_free(struct s3_upload *u)
{
        if (!u)
                return;
        free(u->key);
        xmlFree(u->id);
        strbuf_free(&u->parts);
        free(u);
}

int s3_upload_begin(const struct s3_client *c, const char *key, struct s3_upload **ret,
                    struct s3_error *e)
{
        struct s3_param p = {"uploads", NULL};
        struct strbuf out = {0};
        struct s3_upload *u;
        xmlDoc *doc;
        int r;

        r = request(c, "POST", key, &p, 1, NULL, 0, NULL, &out, 1u << 20, NULL, 0, e);
        if (r < 0) {
                strbuf_free(&out);
                return r;
        }
        u = calloc(1, sizeof(*u));
        doc = xmlReadMemory(out.buf ? out.buf : "", (int)out.len, "upload.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        strbuf_free(&out);
        if (u) {
                u->c = c;
                u->key = strdup(key);
                u->id = doc ? xml_text(xmlDocGetRootElement(doc), "UploadId") : NULL;
        }
        xmlFreeDoc(doc);
        if (!u || !u->key || !u->id) {
                upload_free(u);
                error_from(e, 200, NULL, "no UploadId in the answer");
                return -EBADMSG;
        }
        *ret = u;
        return 0;
}

int s3_upload_part(struct s3_upload *u, const void *buf, size_t len, struct s3_error *e)
{
        char num[16], etag[256] = "";
        struct s3_param p[2] = {{"partNumber", num}, {"uploadId", u->id}};
        int r;

        if (u->n >= 10000) {
                error_from(e, 0, NULL, "more than 10,000 parts");
                return -E2BIG;
        }
        snprintf(num, sizeof(num), "%d", u->n + 1);
        r = request(u->c, "PUT", u->key, p, 2, buf, len, NULL, NULL, 0, etag, sizeof(etag), e);
        if (r < 0)
                return r;
        if (!etag[0]) {
                error_from(e, 200, NULL, "no ETag for the part");
                return -EBADMSG;
        }
        u->n++;
        return strbuf_printf(&u->parts, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                             u->n, etag) < 0
                       ? -ENOMEM
                       : 0;
}

/* Whether an object of exactly this key is there. */
static bool object_exists(const struct s3_client *c, const char *key)
{
        struct s3_object *o = NULL;
        bool found = false;
        size_t n = 0;

        if (s3_list(c, key, &o, &n, NULL) < 0)
                return false;
        for (size_t i = 0; i < n && !found; i++)
                found = strcmp(o[i].key, key) == 0;
        s3_objects_free(o, n);
        return found;
}

int s3_upload_complete(struct s3_upload *u, struct s3_error *e)
{
        struct s3_param p = {"uploadId", u->id};
        struct strbuf xml = {0};
        int r;

        if (strbuf_printf(&xml, "<CompleteMultipartUpload>%s</CompleteMultipartUpload>",
                          u->parts.buf ? u->parts.buf : "") < 0) {
                s3_upload_abort(u);
                error_from(e, 0, NULL, "out of memory");
                return -ENOMEM;
        }
        r = request(u->c, "POST", u->key, &p, 1, xml.buf, xml.len, "application/xml", NULL, 0, NULL,
                    0, e);
        strbuf_free(&xml);
        if (r < 0 && e && strcmp(e->code, "NoSuchUpload") == 0 && object_exists(u->c, u->key))
                r = 0; /* an attempt whose answer was lost completed it (keys are not reused) */
        if (r < 0) {
                s3_upload_abort(u);
                return r;
        }
        upload_free(u);
        return 0;
}

void s3_upload_abort(struct s3_upload *u)
{
        struct s3_param p = {"uploadId", u ? u->id : NULL};

        if (!u)
                return;
        request(u->c, "DELETE", u->key, &p, 1, NULL, 0, NULL, NULL, 0, NULL, 0, NULL);
        upload_free(u);
}
