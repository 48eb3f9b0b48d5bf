/* SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../util/fileio.h"
#include "../util/macro.h"
#include "../util/random.h"
#include "../util/ratelimit.h"
#include "../util/retry.h"
#include "../util/strbuf.h"
#include "../util/timeutil.h"
#include "status.h"
#include "version.h"
#include "watch_stream.h"

#define DEFAULT_TIMEOUT_MS         30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BODY           (64u << 20)
#define DEFAULT_MAX_RETRIES        5
#define DEFAULT_WATCH_TIMEOUT_S    300L
/* a token file re-read this often (client-go: a minute): a kubelet may replace the token any
 * time, and the one before is refused once it is invalidated */
#define TOKEN_REFRESH_S      10
#define MAX_IDLE_HANDLES     16
#define WATCH_BACKOFF_MAX_MS 30000L

struct kube_client {
        char *server;     /* URL prefix of every request */
        char *connect_to; /* "name:port:host:port" when tls-server-name is set */
        unsigned char *ca, *cert, *key;
        size_t ca_len, cert_len, key_len;
        bool insecure;
        char *user_agent;
        atomic_long timeout_ms; /* kube_client_set_timeout() */
        long connect_timeout_ms;
        size_t max_body;
        int max_retries;

        pthread_mutex_t token_lock;
        char *token; /* static, or the last read of token_file */
        char *token_file;
        time_t token_read_at;

        pthread_mutex_t rate_lock;
        struct token_bucket rate; /* qps 0: no limit */

        pthread_mutex_t pool_lock;
        CURL *idle[MAX_IDLE_HANDLES]; /* a stack: the last put on top */
        long long idle_since_ms[MAX_IDLE_HANDLES];
        size_t n_idle;

        CURLSH *share;
        pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

        pthread_mutex_t stats_lock;
        struct kube_client_stats stats;
        kube_request_observer observer;
        void *observer_userdata;
};

/* ---- small helpers ---- */

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int kube_sleep(long ms, struct kube_cancel *cancel)
{
        unsigned wakes = cancel ? atomic_load(&cancel->wakes) : 0;

        while (ms > 0) {
                long step = ms > 100 ? 100 : ms;
                if (cancel && atomic_load(&cancel->cancelled))
                        return -ECANCELED;
                if (cancel && atomic_load(&cancel->wakes) != wakes)
                        break;
                sleep_ms(step);
                ms -= step;
        }
        return cancel && atomic_load(&cancel->cancelled) ? -ECANCELED : 0;
}

static unsigned char *memdup0(const unsigned char *p, size_t n)
{
        unsigned char *q = malloc(n + 1);

        if (q) {
                memcpy(q, p, n);
                q[n] = 0;
        }
        return q;
}

/* ---- share locks (the DNS cache is shared by all handles) ---- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
        struct kube_client *c = userptr;

        pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
        struct kube_client *c = userptr;

        pthread_mutex_unlock(&c->share_locks[data]);
}

/* ---- construction ---- */

static int split_server(struct kube_client *c, const struct kube_config *cfg)
{
        const char *hostport = strstr(cfg->server, "://");
        const char *rest, *colon, *host_end;
        _cleanup_free_ char *host = NULL, *port = NULL;
        bool https = strncmp(cfg->server, "https://", 8) == 0;

        if (!cfg->tls_server_name) {
                c->server = strdup(cfg->server);
                return c->server ? 0 : -ENOMEM;
        }
        /* Verify the certificate against tls-server-name: address the server by that name and
         * tell libcurl where that name really connects to. */
        hostport += 3;
        rest = hostport + strcspn(hostport, "/");
        if (*hostport == '[') {
                host_end = memchr(hostport, ']', (size_t)(rest - hostport));
                if (!host_end)
                        return -EINVAL;
                host_end++;
        } else {
                colon = memchr(hostport, ':', (size_t)(rest - hostport));
                host_end = colon ? colon : rest;
        }
        host = strndup(hostport, (size_t)(host_end - hostport));
        if (*host_end == ':')
                port = strndup(host_end + 1, (size_t)(rest - host_end - 1));
        else
                port = strdup(https ? "443" : "80");
        if (!host || !port)
                return -ENOMEM;
        if (asprintf(&c->server, "%s://%s:%s%s", https ? "https" : "http", cfg->tls_server_name,
                     port, rest) < 0 ||
            asprintf(&c->connect_to, "%s:%s:%s:%s", cfg->tls_server_name, port, host, port) < 0)
                return -ENOMEM;
        return 0;
}

int kube_client_new(const struct kube_client_options *o, struct kube_client **ret)
{
        const struct kube_config *cfg = o->config;
        struct kube_client *c;
        int r = -ENOMEM;

        if (!cfg || !cfg->server)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->token_lock, NULL);
        pthread_mutex_init(&c->rate_lock, NULL);
        pthread_mutex_init(&c->pool_lock, NULL);
        pthread_mutex_init(&c->stats_lock, NULL);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_init(&c->share_locks[i], NULL);
        r = split_server(c, cfg);
        if (r < 0)
                goto fail;
        r = -ENOMEM;
        if (cfg->ca && !(c->ca = memdup0(cfg->ca, cfg->ca_len)))
                goto fail;
        if (cfg->client_cert && !(c->cert = memdup0(cfg->client_cert, cfg->client_cert_len)))
                goto fail;
        if (cfg->client_key && !(c->key = memdup0(cfg->client_key, cfg->client_key_len)))
                goto fail;
        c->ca_len = cfg->ca_len;
        c->cert_len = cfg->client_cert_len;
        c->key_len = cfg->client_key_len;
        c->insecure = cfg->insecure_skip_tls_verify;
        if (cfg->token && !(c->token = strdup(cfg->token)))
                goto fail;
        if (cfg->token_file && !(c->token_file = strdup(cfg->token_file)))
                goto fail;
        c->user_agent = strdup(o->user_agent ? o->user_agent : KO_USER_AGENT);
        if (!c->user_agent)
                goto fail;
        c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
        c->connect_timeout_ms =
                o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
        c->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
        c->max_retries = o->max_retries > 0   ? o->max_retries
                         : o->max_retries < 0 ? 0
                                              : DEFAULT_MAX_RETRIES;
        if (o->qps > 0)
                token_bucket_init(&c->rate, o->qps,
                                  o->burst > 0 ? o->burst : (o->qps > 1 ? o->qps : 1),
                                  time_mono_ns());
        c->share = curl_share_init();
        if (!c->share)
                goto fail;
        curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        /* TLS sessions are not shared: a resumed session brings the server certificate of the
         * handshake it came from, and libcurl 7.88 keeps one whose verification failed. Shared,
         * that stale certificate failed every later request after the server's certificate was
         * fixed (a serving certificate that gained the load balancer's address). Each handle
         * keeps its own cache, dropped with the handle after any failed transfer. */
        *ret = c;
        return 0;
fail:
        kube_client_free(c);
        return r;
}

void kube_client_free(struct kube_client *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_idle; i++)
                curl_easy_cleanup(c->idle[i]);
        if (c->share)
                curl_share_cleanup(c->share);
        free(c->server);
        free(c->connect_to);
        free(c->ca);
        free(c->cert);
        free_secret(c->key, c->key_len);
        if (c->token)
                free_secret(c->token, strlen(c->token));
        free(c->token_file);
        free(c->user_agent);
        pthread_mutex_destroy(&c->token_lock);
        pthread_mutex_destroy(&c->rate_lock);
        pthread_mutex_destroy(&c->pool_lock);
        pthread_mutex_destroy(&c->stats_lock);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_destroy(&c->share_locks[i]);
        free(c);
}

void kube_client_stats(struct kube_client *c, struct kube_client_stats *ret)
{
        pthread_mutex_lock(&c->stats_lock);
        *ret = c->stats;
        pthread_mutex_unlock(&c->stats_lock);
}

const char *kube_client_server(const struct kube_client *c)
{
        return c->server;
}

void kube_client_set_timeout(struct kube_client *c, long timeout_ms)
{
        atomic_store(&c->timeout_ms, timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
}

void kube_client_set_observer(struct kube_client *c, kube_request_observer fn, void *userdata)
{
        c->observer = fn;
        c->observer_userdata = userdata;
}

/* ---- handle pool: one easy handle per concurrent request, kept with its connection ---- */

static CURL *handle_get(struct kube_client *c)
{
        CURL *h = NULL;

        pthread_mutex_lock(&c->pool_lock);
        if (c->n_idle)
                h = c->idle[--c->n_idle];
        pthread_mutex_unlock(&c->pool_lock);
        if (!h) {
                h = curl_easy_init();
                if (h)
                        curl_easy_setopt(h, CURLOPT_SHARE, c->share);
        }
        return h;
}

static void handle_put(struct kube_client *c, CURL *h, bool keep)
{
        if (!h)
                return;
        curl_easy_reset(h); /* keeps the live connection and its own TLS session cache */
        curl_easy_setopt(h, CURLOPT_SHARE, c->share);
        pthread_mutex_lock(&c->pool_lock);
        if (keep && c->n_idle < MAX_IDLE_HANDLES) {
                c->idle_since_ms[c->n_idle] = time_mono_ms();
                c->idle[c->n_idle++] = h;
                h = NULL;
        }
        pthread_mutex_unlock(&c->pool_lock);
        if (h)
                curl_easy_cleanup(h);
}

size_t kube_client_close_idle(struct kube_client *c, long idle_ms)
{
        CURL *old[MAX_IDLE_HANDLES];
        long long now = time_mono_ms();
        size_t n = 0, kept = 0;

        pthread_mutex_lock(&c->pool_lock);
        for (size_t i = 0; i < c->n_idle; i++) {
                if (now - c->idle_since_ms[i] >= idle_ms) {
                        old[n++] = c->idle[i];
                        continue;
                }
                c->idle_since_ms[kept] = c->idle_since_ms[i];
                c->idle[kept++] = c->idle[i];
        }
        c->n_idle = kept;
        pthread_mutex_unlock(&c->pool_lock);
        for (size_t i = 0; i < n; i++)
                curl_easy_cleanup(old[i]); /* its connection and TLS state with it */
        return n;
}

/* ---- auth and rate limit ---- */

/* The bearer token to send, or NULL; refresh re-reads the token file now. Caller frees. */
static char *token_current(struct kube_client *c, bool refresh)
{
        char *t = NULL;

        pthread_mutex_lock(&c->token_lock);
        if (c->token_file &&
            (refresh || !c->token || time(NULL) - c->token_read_at >= TOKEN_REFRESH_S)) {
                char *buf = NULL;
                size_t len;

                if (fileio_read(c->token_file, 64 << 10, &buf, &len) >= 0) {
                        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                                       buf[len - 1] == ' '))
                                buf[--len] = '\0';
                        if (c->token)
                                free_secret(c->token, strlen(c->token));
                        c->token = buf;
                        c->token_read_at = time(NULL);
                }
                /* on a read error keep the last token: the kubelet rewrites the file atomically */
        }
        if (c->token)
                t = strdup(c->token);
        pthread_mutex_unlock(&c->token_lock);
        return t;
}

static void rate_wait(struct kube_client *c)
{
        long long wait_ns;

        if (c->rate.qps <= 0)
                return;
        pthread_mutex_lock(&c->rate_lock);
        wait_ns = token_bucket_reserve(&c->rate, time_mono_ns());
        pthread_mutex_unlock(&c->rate_lock);
        if (wait_ns > 0)
                sleep_ms((long)(wait_ns / 1000000));
}

/* ---- one request ---- */

struct request {
        const char *verb;
        const char *path;         /* below the server, with its query */
        const char *content_type; /* of body */
        const char *body;
        size_t body_len;
        bool idempotent;
        bool once; /* never retried (a probe) */
        /* response */
        struct strbuf out;
        long retry_after;
        bool too_big;
        /* streaming (watch): data goes to sink instead of out */
        int (*sink)(void *userdata, const char *data, size_t len);
        void *sink_userdata;
        int sink_error;
        struct kube_cancel *cancel;
        long timeout_ms; /* 0: the client's */
        int http_code;   /* of the first response line, for streams */
        void (*on_headers)(void *userdata, int code);
};

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
        struct request *rq = userdata;
        size_t len = size * n;

        if (rq->sink && rq->http_code >= 200 && rq->http_code < 300) {
                int r = rq->sink(rq->sink_userdata, data, len);
                if (r < 0) {
                        rq->sink_error = r;
                        return 0;
                }
                return len;
        }
        if (strbuf_append(&rq->out, data, len) < 0) {
                rq->too_big = true;
                return 0;
        }
        return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        struct request *rq = userdata;
        size_t len = size * n;

        if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
                const char *sp = memchr(data, ' ', len);
                rq->http_code = sp ? atoi(sp + 1) : 0; /* NOLINT(cert-err34-c): bounded by HTTP */
                rq->retry_after = -1;
        } else if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
                char v[32];
                size_t vl = len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1;
                memcpy(v, data + 12, vl);
                v[vl] = '\0';
                rq->retry_after = retry_parse_after(v);
        } else if (len <= 2 && rq->on_headers && rq->http_code >= 200) {
                rq->on_headers(rq->sink_userdata, rq->http_code); /* end of headers */
        }
        return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        struct request *rq = userdata;

        return rq->cancel && atomic_load(&rq->cancel->cancelled) ? 1 : 0;
}

static void setup_handle(struct kube_client *c, CURL *h, struct request *rq, const char *url,
                         struct curl_slist *headers, char *errbuf)
{
        struct curl_blob blob;

        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
        /* a handle's requests run one at a time on its own connection, so HTTP/2 would multiplex
         * nothing, and its session state (nghttp2's, curl's stream buffers) stays with every
         * connection the pool keeps (bench-karmada.sh: 0.7 MiB less private memory) */
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         rq->timeout_ms ? rq->timeout_ms : atomic_load(&c->timeout_ms));
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
        if (c->ca) {
                blob = (struct curl_blob){
                        .data = c->ca, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (c->cert) {
                blob = (struct curl_blob){
                        .data = c->cert, .len = c->cert_len, .flags = CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
                curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (c->key) {
                blob = (struct curl_blob){
                        .data = c->key, .len = c->key_len, .flags = CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
                curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, rq);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, rq);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, rq);
        if (rq->body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        }
        if (strcmp(rq->verb, "GET") == 0)
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        else if (strcmp(rq->verb, "POST") != 0 || !rq->body)
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->verb);
}

static enum kube_retry_class classify_transport(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
                return KUBE_RETRY_NEVER_SENT;
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return KUBE_RETRY_SERVER;
        default:
                return KUBE_RETRY_NO;
        }
}

static int transport_errno(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return -EPROTO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
                return -ECONNRESET;
        default:
                return -EIO;
        }
}

static void observe(struct kube_client *c, const char *verb, int code, double seconds,
                    long connects, bool retry)
{
        bool write = strcmp(verb, "GET") != 0;

        pthread_mutex_lock(&c->stats_lock);
        c->stats.requests++;
        c->stats.connects += (uint64_t)(connects > 0 ? connects : 0);
        c->stats.retries += retry;
        c->stats.writes += write;
        pthread_mutex_unlock(&c->stats_lock);
        if (c->observer)
                c->observer(c->observer_userdata, c, verb, code, seconds);
}

int kube_client_endpoint(struct kube_client *c, struct kube_client_endpoint *e)
{
        *e = (struct kube_client_endpoint){.server = c->server,
                                           .connect_to = c->connect_to,
                                           .ca = c->ca,
                                           .ca_len = c->ca_len,
                                           .cert = c->cert,
                                           .cert_len = c->cert_len,
                                           .key = c->key,
                                           .key_len = c->key_len,
                                           .insecure = c->insecure,
                                           .user_agent = c->user_agent,
                                           .connect_timeout_ms = c->connect_timeout_ms};
        e->token = token_current(c, false);
        return e->token || (!c->token && !c->token_file) ? 0 : -ENOMEM;
}

void kube_client_count(struct kube_client *c, const char *verb, int code, double seconds)
{
        observe(c, verb, code, seconds, 1, false);
}

/* The headers of one attempt: Accept, Content-Type, the bearer token (the list holds its own
 * copy; the caller frees it with curl_slist_free_all). */
static struct curl_slist *request_headers(const struct request *rq, const char *token)
{
        struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
        char *auth = NULL, ctype[128];

        if (rq->content_type) {
                snprintf(ctype, sizeof(ctype), "Content-Type: %s", rq->content_type);
                headers = curl_slist_append(headers, ctype);
        }
        if (token && asprintf(&auth, "Authorization: Bearer %s", token) >= 0) {
                headers = curl_slist_append(headers, auth);
                free_secret(auth, strlen(auth));
        }
        return headers;
}

/* One transfer of rq on handle h, observed (metrics); *code is the HTTP status (0: none). */
static CURLcode transfer(struct kube_client *c, struct request *rq, const char *url, CURL *h,
                         bool retry, char *errbuf, long *code)
{
        _cleanup_free_ char *token = token_current(c, false);
        struct curl_slist *headers = request_headers(rq, token), connect_to;
        long connects = 0;
        double t0;
        CURLcode rc;

        strbuf_reset(&rq->out);
        rq->too_big = false;
        rq->retry_after = -1;
        rq->http_code = 0;
        setup_handle(c, h, rq, url, headers, errbuf);
        if (c->connect_to) { /* libcurl keeps the list's pointer during the transfer */
                connect_to = (struct curl_slist){.data = c->connect_to, .next = NULL};
                curl_easy_setopt(h, CURLOPT_CONNECT_TO, &connect_to);
        }
        t0 = ((double)time_mono_ns() / 1e9);
        rc = curl_easy_perform(h);
        *code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        curl_slist_free_all(headers); /* the Authorization copy inside is libcurl's */
        observe(c, rq->verb, (int)*code, ((double)time_mono_ns() / 1e9) - t0, connects, retry);
        return rc;
}

/* What one attempt came to, the handle put back: 0, or a negative errno with st filled and
 * *cls saying whether it may be tried again; *final when it must not be (the sink failed, the
 * body is too large). */
static int judge(struct kube_client *c, struct request *rq, const char *url, CURL *h, CURLcode rc,
                 long code, const char *errbuf, struct kube_status *st, enum kube_retry_class *cls,
                 bool *final)
{
        int r;

        *cls = KUBE_RETRY_NO;
        *final = true;
        if (rq->sink_error) {
                handle_put(c, h, false);
                return rq->sink_error;
        }
        if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && code)) {
                kube_status_transport(st, rq->verb, url,
                                      errbuf[0] ? errbuf : curl_easy_strerror(rc));
                *cls = classify_transport(rc);
                *final = false;
                handle_put(c, h, false);
                return transport_errno(rc);
        }
        if (rq->too_big) {
                char what[96];
                snprintf(what, sizeof(what), "response body exceeds %zu bytes", c->max_body);
                kube_status_transport(st, rq->verb, url, what);
                st->code = (int)code;
                handle_put(c, h, false);
                return -E2BIG;
        }
        handle_put(c, h, true);
        kube_status_from_response(st, (int)code, rq->out.buf, rq->out.len);
        r = kube_status_errno(st);
        *final = r == 0;
        if (code == 429)
                *cls = KUBE_RETRY_THROTTLED;
        else if (code >= 500 && code != 501)
                *cls = KUBE_RETRY_SERVER;
        return r;
}

/* Perform rq with retries. Returns 0 for 2xx (body in rq->out), else a negative errno with st
 * filled. */
static int perform(struct kube_client *c, struct request *rq, struct kube_status *st)
{
        struct kube_status tmp;
        _cleanup_free_ char *url = NULL;
        bool refreshed_token = false, final;
        int attempt = 0, r;

        if (!st)
                st = &tmp;
        if (asprintf(&url, "%s%s", c->server, rq->path) < 0) {
                url = NULL;
                return -ENOMEM;
        }
        rq->out.max = c->max_body;
        for (;;) {
                char errbuf[CURL_ERROR_SIZE] = "";
                enum kube_retry_class cls;
                long code = 0;
                CURLcode rc;
                CURL *h;

                rate_wait(c);
                h = handle_get(c);
                if (!h)
                        return -ENOMEM;
                rc = transfer(c, rq, url, h, attempt > 0, errbuf, &code);
                r = judge(c, rq, url, h, rc, code, errbuf, st, &cls, &final);
                if (final)
                        return r;
                if (code == 401 && c->token_file && !refreshed_token) {
                        refreshed_token = true; /* a rotated token: read it again */
                        free(token_current(c, true));
                        continue;
                }
                /* a stream is resumed by its caller (from where it got to), never replayed */
                if (rq->sink || rq->once ||
                    !kube_should_retry(cls, rq->idempotent, attempt, c->max_retries))
                        return r;
                if (kube_sleep(retry_delay_ms(attempt, rq->retry_after, random_unit()),
                               rq->cancel) < 0)
                        return -ECANCELED;
                attempt++;
        }
}

/* ---- verbs ---- */

static int parse_body(struct request *rq, cJSON **ret)
{
        cJSON *j;

        if (!ret)
                return 0;
        j = cJSON_ParseWithLength(rq->out.buf ? rq->out.buf : "", rq->out.len);
        if (!j)
                return -EBADMSG;
        *ret = j;
        return 0;
}

static int object_path(struct strbuf *sb, const struct kube_resource *r, const char *ns,
                       const char *name, const char *sub)
{
        return kube_resource_path(sb, r, ns, name, sub);
}

static int simple(struct kube_client *c, const char *verb, struct strbuf *path, const char *ctype,
                  const char *body, bool idempotent, cJSON **ret, struct kube_status *st)
{
        struct request rq = {
                .verb = verb,
                .path = path->buf,
                .content_type = ctype,
                .body = body,
                .body_len = body ? strlen(body) : 0,
                .idempotent = idempotent,
        };
        int r = perform(c, &rq, st);

        if (r == 0)
                r = parse_body(&rq, ret);
        strbuf_free(&rq.out);
        return r;
}

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
             cJSON **ret, struct kube_status *st)
{
        struct strbuf path = {0};
        int q = object_path(&path, r, ns, name, NULL);

        if (q >= 0)
                q = simple(c, "GET", &path, NULL, NULL, true, ret, st);
        strbuf_free(&path);
        return q;
}

int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
              const struct kube_list_options *o, cJSON **ret, struct kube_status *st)
{
        static const struct kube_list_options none = {0};
        cJSON *all = NULL, *items = NULL;
        char *cont = NULL, limit[32];
        int q = 0;

        if (!o)
                o = &none;
        snprintf(limit, sizeof(limit), "%ld", o->limit);
        do {
                struct strbuf path = {0};
                cJSON *page = NULL, *meta, *pitems;
                const cJSON *next;

                q = object_path(&path, r, ns, NULL, NULL);
                if (q >= 0)
                        q = kube_query_add(&path, "labelSelector", o->label_selector);
                if (q >= 0)
                        q = kube_query_add(&path, "fieldSelector", o->field_selector);
                if (q >= 0)
                        q = kube_query_add(&path, "limit", o->limit > 0 ? limit : NULL);
                if (q >= 0)
                        q = kube_query_add(&path, "continue", cont);
                if (q >= 0 && !cont)
                        q = kube_query_add(&path, "resourceVersion", o->resource_version);
                if (q >= 0)
                        q = simple(c, "GET", &path, NULL, NULL, true, &page, st);
                strbuf_free(&path);
                free(cont);
                cont = NULL;
                if (q < 0)
                        break;
                pitems = cJSON_GetObjectItemCaseSensitive(page, "items");
                meta = cJSON_GetObjectItemCaseSensitive(page, "metadata");
                next = cJSON_GetObjectItemCaseSensitive(meta, "continue");
                if (cJSON_IsString(next) && *next->valuestring &&
                    !(cont = strdup(next->valuestring)))
                        q = -ENOMEM;
                if (!all) {
                        all = page;
                        items = cJSON_GetObjectItemCaseSensitive(all, "items");
                        if (!cJSON_IsArray(items)) {
                                cJSON_DeleteItemFromObjectCaseSensitive(all, "items");
                                items = cJSON_AddArrayToObject(all, "items");
                        }
                } else {
                        while (cJSON_IsArray(pitems) && pitems->child)
                                cJSON_AddItemToArray(
                                        items, cJSON_DetachItemViaPointer(pitems, pitems->child));
                        /* keep the last page's metadata (its resourceVersion) */
                        cJSON_ReplaceItemInObjectCaseSensitive(
                                all, "metadata", cJSON_DetachItemViaPointer(page, meta));
                        cJSON_Delete(page);
                }
        } while (q >= 0 && cont);
        free(cont);
        if (q < 0) {
                cJSON_Delete(all);
                return q;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(all, "metadata"),
                                                "continue");
        *ret = all;
        return 0;
}

static const char *meta_str(const cJSON *obj, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int write_query(struct strbuf *path, const struct kube_write_options *o, bool apply)
{
        int q = 0;

        if (!o)
                return 0;
        q = kube_query_add(path, "fieldManager", o->field_manager);
        if (q >= 0 && apply && o->force)
                q = kube_query_add(path, "force", "true");
        if (q >= 0 && o->dry_run)
                q = kube_query_add(path, "dryRun", "All");
        return q;
}

static int write_body(struct kube_client *c, const char *verb, const struct kube_resource *r,
                      const char *ns, const char *name, const char *ctype, const char *body,
                      const struct kube_write_options *o, bool apply, bool collection, cJSON **ret,
                      struct kube_status *st)
{
        struct strbuf path = {0};
        int q;

        if (collection)
                q = object_path(&path, r, ns, NULL, NULL);
        else if (!name)
                q = -EINVAL;
        else
                q = object_path(&path, r, ns, name, o ? o->subresource : NULL);
        if (q >= 0)
                q = write_query(&path, o, apply);
        if (q >= 0)
                q = simple(c, verb, &path, ctype, body, apply, ret, st);
        strbuf_free(&path);
        return q;
}

int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const cJSON *obj, const struct kube_write_options *o, cJSON **ret,
                struct kube_status *st)
{
        _cleanup_free_ char *body = cJSON_PrintUnformatted(obj);

        if (!body)
                return -ENOMEM;
        return write_body(c, "POST", r, ns, NULL, "application/json", body, o, false, true, ret,
                          st);
}

int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const cJSON *obj, const struct kube_write_options *o, cJSON **ret,
                struct kube_status *st)
{
        _cleanup_free_ char *body = cJSON_PrintUnformatted(obj);

        if (!body)
                return -ENOMEM;
        return write_body(c, "PUT", r, ns, meta_str(obj, "name"), "application/json", body, o,
                          false, false, ret, st);
}

int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const char *name, enum kube_patch_type type, const char *body,
               const struct kube_write_options *o, cJSON **ret, struct kube_status *st)
{
        static const char *const ctypes[] = {
                [KUBE_PATCH_MERGE] = "application/merge-patch+json",
                [KUBE_PATCH_JSON] = "application/json-patch+json",
                [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
                [KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
        };
        bool apply = type == KUBE_PATCH_APPLY;

        if ((unsigned)type >= ELEMENTSOF(ctypes))
                return -EINVAL;
        if (apply && (!o || isempty(o->field_manager)))
                return -EINVAL; /* the API server requires a field manager for apply */
        return write_body(c, "PATCH", r, ns, name, ctypes[type], body, o, apply, false, ret, st);
}

int kube_apply(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const cJSON *obj, const struct kube_write_options *o, cJSON **ret,
               struct kube_status *st)
{
        _cleanup_free_ char *body = cJSON_PrintUnformatted(obj);
        const char *name = meta_str(obj, "name");

        if (!body)
                return -ENOMEM;
        if (!name)
                return -EINVAL;
        return kube_patch(c, r, ns, name, KUBE_PATCH_APPLY, body, o, ret, st);
}

int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, const struct kube_delete_options *o, struct kube_status *st)
{
        static const char *const prop[] = {
                [KUBE_PROPAGATION_DEFAULT] = NULL,
                [KUBE_PROPAGATION_FOREGROUND] = "Foreground",
                [KUBE_PROPAGATION_BACKGROUND] = "Background",
                [KUBE_PROPAGATION_ORPHAN] = "Orphan",
        };
        struct strbuf path = {0};
        cJSON *opts = NULL, *pre;
        _cleanup_free_ char *body = NULL;
        int q;

        if (!name)
                return -EINVAL;
        const char *policy =
                o && (unsigned)o->propagation < ELEMENTSOF(prop) ? prop[o->propagation] : NULL;

        if (policy || (o && (o->precondition_uid || o->precondition_resource_version))) {
                opts = cJSON_CreateObject();
                if (!opts)
                        return -ENOMEM;
                cJSON_AddStringToObject(opts, "apiVersion", "v1");
                cJSON_AddStringToObject(opts, "kind", "DeleteOptions");
                if (policy)
                        cJSON_AddStringToObject(opts, "propagationPolicy", policy);
                if (o->precondition_uid || o->precondition_resource_version) {
                        pre = cJSON_AddObjectToObject(opts, "preconditions");
                        if (o->precondition_uid)
                                cJSON_AddStringToObject(pre, "uid", o->precondition_uid);
                        if (o->precondition_resource_version)
                                cJSON_AddStringToObject(pre, "resourceVersion",
                                                        o->precondition_resource_version);
                }
                body = cJSON_PrintUnformatted(opts);
                cJSON_Delete(opts);
                if (!body)
                        return -ENOMEM;
        }
        q = object_path(&path, r, ns, name, NULL);
        if (q >= 0)
                q = simple(c, "DELETE", &path, body ? "application/json" : NULL, body, false, NULL,
                           st);
        strbuf_free(&path);
        return q;
}

/* A GET of any path below the server; the body into *ret when ret is not NULL */
static int get_path(struct kube_client *c, struct request *rq, char **ret, size_t *ret_len,
                    struct kube_status *st)
{
        int r;

        if (rq->path[0] != '/')
                return -EINVAL;
        r = perform(c, rq, st);
        if (r == 0 && ret) {
                if (ret_len)
                        *ret_len = rq->out.len;
                *ret = strbuf_steal(&rq->out);
                if (!*ret)
                        r = -ENOMEM;
        }
        strbuf_free(&rq->out);
        return r;
}

int kube_get_raw(struct kube_client *c, const char *path, char **ret, size_t *ret_len,
                 struct kube_status *st)
{
        struct request rq = {.verb = "GET", .path = path, .idempotent = true};

        return get_path(c, &rq, ret, ret_len, st);
}

int kube_probe(struct kube_client *c, const char *path, long timeout_ms, struct kube_status *st)
{
        struct request rq = {.verb = "GET",
                             .path = path,
                             .idempotent = true,
                             .once = true,
                             .timeout_ms = timeout_ms};

        return get_path(c, &rq, NULL, NULL, st);
}

int kube_post_raw(struct kube_client *c, const char *path, const cJSON *body, cJSON **ret,
                  struct kube_status *st)
{
        _cleanup_free_ char *b = cJSON_PrintUnformatted(body);
        struct strbuf p = {0};
        int r;

        if (!b)
                return -ENOMEM;
        if (path[0] != '/')
                return -EINVAL;
        r = strbuf_puts(&p, path);
        if (r >= 0)
                r = simple(c, "POST", &p, "application/json", b, false, ret, st);
        strbuf_free(&p);
        return r;
}

/* ---- watch ---- */

struct watch_state {
        struct kube_framer framer;
        char **rv;
        kube_watch_fn fn;
        void *userdata;
        struct kube_status *st;
        int stop; /* < 0: the value to return */
        bool got_event;
        const struct kube_watch_options *o;
};

static int watch_line(void *userdata, const char *line, size_t len)
{
        struct watch_state *w = userdata;
        enum kube_event_type type;
        cJSON *obj = NULL;
        const char *rv;
        int r;

        r = kube_watch_decode(line, len, &type, &obj, w->st);
        if (r < 0) {
                w->stop = r;
                return r;
        }
        rv = meta_str(obj, "resourceVersion");
        if (rv && *rv) {
                char *copy = strdup(rv);
                if (!copy) {
                        cJSON_Delete(obj);
                        return -ENOMEM;
                }
                free(*w->rv);
                *w->rv = copy;
        }
        w->got_event = true;
        r = w->fn(w->userdata, type, obj);
        cJSON_Delete(obj);
        if (r < 0)
                w->stop = r;
        return r;
}

static int watch_sink(void *userdata, const char *data, size_t len)
{
        struct watch_state *w = userdata;

        return kube_framer_feed(&w->framer, data, len, watch_line, w);
}

static void watch_headers(void *userdata, int code)
{
        struct watch_state *w = userdata;

        if (w->o->on_state && code == 200)
                w->o->on_state(w->userdata, true);
}

int kube_watch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const struct kube_watch_options *o, char **resource_version, kube_watch_fn fn,
               void *userdata, struct kube_status *st)
{
        struct kube_status tmp;
        long backoff_ms = 0,
             timeout_s = o->timeout_seconds > 0 ? o->timeout_seconds : DEFAULT_WATCH_TIMEOUT_S;
        char tbuf[32];
        int q;

        if (!st)
                st = &tmp;
        if (!resource_version || isempty(*resource_version))
                return -EINVAL;
        snprintf(tbuf, sizeof(tbuf), "%ld", timeout_s);
        for (;;) {
                struct watch_state w = {
                        .framer = {.max_line = o->max_event_size ? o->max_event_size : c->max_body},
                        .rv = resource_version,
                        .fn = fn,
                        .userdata = userdata,
                        .st = st,
                        .o = o,
                };
                struct strbuf path = {0};
                struct request rq = {
                        .verb = "GET",
                        .idempotent = true,
                        .sink = watch_sink,
                        .sink_userdata = &w,
                        .cancel = o->cancel,
                        .timeout_ms = (timeout_s + 30) * 1000,
                        .on_headers = watch_headers,
                };

                if (o->cancel && atomic_load(&o->cancel->cancelled))
                        return -ECANCELED;
                q = object_path(&path, r, ns, NULL, NULL);
                if (q >= 0)
                        q = kube_query_add(&path, "watch", "1");
                if (q >= 0)
                        q = kube_query_add(&path, "allowWatchBookmarks", "true");
                if (q >= 0)
                        q = kube_query_add(&path, "resourceVersion", *resource_version);
                if (q >= 0)
                        q = kube_query_add(&path, "timeoutSeconds", tbuf);
                if (q >= 0)
                        q = kube_query_add(&path, "labelSelector", o->label_selector);
                if (q >= 0)
                        q = kube_query_add(&path, "fieldSelector", o->field_selector);
                if (q < 0) {
                        strbuf_free(&path);
                        return q;
                }
                rq.path = path.buf;
                q = perform(c, &rq, st);
                strbuf_free(&path);
                strbuf_free(&rq.out);
                kube_framer_free(&w.framer);
                if (o->on_state)
                        o->on_state(userdata, false);
                if (w.stop < 0)
                        q = w.stop;
                if (q == -ECANCELED || q == -ESTALE || q == -ENOMEM)
                        return q;
                if (w.stop < 0 && q != -EBADMSG)
                        return q; /* the callback's own value */
                if (q == 0 || w.got_event) {
                        backoff_ms = 0; /* a normal end (server timeout) or progress: go on */
                        if (q == 0)
                                continue;
                }
                if (q == -EPERM || q == -EACCES || q == -ENOENT || q == -EINVAL)
                        return q; /* the caller must change something */
                backoff_ms = backoff_ms ? backoff_ms * 2 : 200;
                if (backoff_ms > WATCH_BACKOFF_MAX_MS)
                        backoff_ms = WATCH_BACKOFF_MAX_MS;
                if (kube_sleep(backoff_ms + (long)((double)backoff_ms * 0.25 * random_unit()),
                               o->cancel) < 0)
                        return -ECANCELED;
        }
}
