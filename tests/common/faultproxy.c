/* SPDX-License-Identifier: Apache-2.0 */
#include "faultproxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "util/strbuf.h"

struct faultproxy {
        struct MHD_Daemon *d;
        struct faultproxy_options o;
        char *backend;
        atomic_uint requests, matched, failed;
};

/* one request: its raw URI (from MHD's URI log callback) and its body */
struct req {
        char *uri;
        struct strbuf body; /* grows by doubling: a part of megabytes comes in small pieces */
        bool headers_seen;  /* MHD's first call: the headers, before any body */
};

/* the answer from the backend */
struct relay {
        struct curl_slist *headers; /* "Name: value" to pass on */
        struct strbuf body;
};

static void *log_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
        struct req *r = calloc(1, sizeof(*r));

        (void)cls, (void)c;
        if (r)
                r->uri = strdup(uri);
        return r;
}

static size_t on_body(char *buf, size_t size, size_t n, void *userdata)
{
        struct relay *rl = userdata;

        return strbuf_append(&rl->body, buf, size * n) < 0 ? 0 : size * n;
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata)
{
        struct relay *rl = userdata;
        size_t len = size * n;
        char line[1024];

        while (len && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
                len--;
        if (!memchr(buf, ':', len) || len >= sizeof(line) ||
            strncasecmp(buf, "content-length:", 15) == 0 ||
            strncasecmp(buf, "transfer-encoding:", 18) == 0 ||
            strncasecmp(buf, "connection:", 11) == 0)
                return size * n;
        snprintf(line, sizeof(line), "%.*s", (int)len, buf);
        rl->headers = curl_slist_append(rl->headers, line);
        return size * n;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
        struct curl_slist **h = cls;
        char line[4096];

        (void)kind;
        if (strcasecmp(key, "Content-Length") == 0 || strcasecmp(key, "Expect") == 0 ||
            strcasecmp(key, "Connection") == 0 || strcasecmp(key, "Transfer-Encoding") == 0)
                return MHD_YES;
        snprintf(line, sizeof(line), "%s: %s", key, value ? value : "");
        *h = curl_slist_append(*h, line);
        return MHD_YES;
}

/* forward r as it came; the backend's answer into rl; its status, or 502 */
static long forward(struct faultproxy *p, struct MHD_Connection *c, const char *method,
                    const struct req *r, struct relay *rl)
{
        struct curl_slist *headers = NULL;
        char url[8192];
        long status = 502;
        CURL *h = curl_easy_init();

        if (!h)
                return status;
        snprintf(url, sizeof(url), "%s%s", p->backend, r->uri);
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &headers);
        headers = curl_slist_append(headers, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        if (r->body.len || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body.buf ? r->body.buf : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
        }
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, rl);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, rl);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        curl_slist_free_all(headers);
        return status;
}

/* whether this request is one to fail, and how: 1 a 503, 2 no answer, 0 none */
static int fault_for(struct faultproxy *p, const char *method, const char *uri)
{
        const char *q = strchr(uri, '?');
        unsigned n;

        if (!p->o.every || (p->o.method && strcmp(method, p->o.method) != 0) ||
            (p->o.query && (!q || !strstr(q, p->o.query))))
                return 0;
        n = atomic_fetch_add(&p->matched, 1);
        if (n % p->o.every != 0)
                return 0;
        return (atomic_fetch_add(&p->failed, 1) % 2) ? 2 : 1;
}

static enum MHD_Result answer(struct MHD_Connection *c, long status, struct relay *rl)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(
                rl->body.len, rl->body.buf ? rl->body.buf : (void *)"", MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        for (struct curl_slist *h = rl->headers; h; h = h->next) {
                char *colon = strchr(h->data, ':'), *v;
                if (!colon || strncmp(h->data, "HTTP/", 5) == 0)
                        continue;
                *colon = '\0';
                for (v = colon + 1; *v == ' '; v++)
                        ;
                MHD_add_response_header(resp, h->data, v);
        }
        ret = MHD_queue_response(c, (unsigned)status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
        static const char slow_down[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                                        "SlowDown</Code><Message>injected by the test's front"
                                        "</Message></Error>";
        struct faultproxy *p = cls;
        struct req *r = *state;
        struct relay rl = {0};
        enum MHD_Result ret;
        int fault;

        (void)url, (void)version;
        if (!r)
                return MHD_NO;
        if (!r->headers_seen) {
                r->headers_seen = true;
                return MHD_YES;
        }
        if (*size) { /* the body, piece by piece */
                if (strbuf_append(&r->body, data, *size) < 0)
                        return MHD_NO;
                *size = 0;
                return MHD_YES;
        }
        atomic_fetch_add(&p->requests, 1);
        fault = fault_for(p, method, r->uri);
        if (fault && p->o.after_forward) { /* the backend acts; its answer is lost */
                forward(p, c, method, r, &rl);
                curl_slist_free_all(rl.headers);
                strbuf_free(&rl.body);
                rl = (struct relay){0};
        }
        if (fault == 2)
                return MHD_NO; /* the connection dropped, no answer */
        if (fault == 1) {
                strbuf_puts(&rl.body, slow_down);
                rl.headers = curl_slist_append(NULL, "Retry-After: 0");
                rl.headers = curl_slist_append(rl.headers, "Content-Type: application/xml");
                ret = answer(c, 503, &rl);
        } else {
                ret = answer(c, forward(p, c, method, r, &rl), &rl);
        }
        curl_slist_free_all(rl.headers);
        strbuf_free(&rl.body);
        return ret;
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode why)
{
        struct req *r = *state;

        (void)cls, (void)c, (void)why;
        if (r) {
                free(r->uri);
                strbuf_free(&r->body);
                free(r);
        }
        *state = NULL;
}

struct faultproxy *faultproxy_start(const struct faultproxy_options *o)
{
        struct faultproxy *p = calloc(1, sizeof(*p));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};

        if (!p || !(p->backend = strdup(o->backend))) {
                free(p);
                return NULL;
        }
        p->o = *o;
        p->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                                NULL, NULL, handle, p, MHD_OPTION_SOCK_ADDR, &a,
                                MHD_OPTION_URI_LOG_CALLBACK, log_uri, NULL,
                                MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
        if (!p->d) {
                free(p->backend);
                free(p);
                return NULL;
        }
        return p;
}

int faultproxy_port(const struct faultproxy *p)
{
        const union MHD_DaemonInfo *i = MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_BIND_PORT);

        return i ? i->port : -1;
}

unsigned faultproxy_requests(const struct faultproxy *p)
{
        return atomic_load(&((struct faultproxy *)p)->requests);
}

unsigned faultproxy_failed(const struct faultproxy *p)
{
        return atomic_load(&((struct faultproxy *)p)->failed);
}

void faultproxy_stop(struct faultproxy *p)
{
        if (!p)
                return;
        MHD_stop_daemon(p->d);
        free(p->backend);
        free(p);
}
