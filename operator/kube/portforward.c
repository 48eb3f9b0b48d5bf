/* SPDX-License-Identifier: Apache-2.0 */
#include "portforward.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/rand.h>

#include "util/strbuf.h"
#include "util/timeutil.h"

#define PROTOCOL      "ko-port-forward"
#define SUBPROTOCOL   "v4.channel.k8s.io" /* binary frames; the first byte is the channel */
#define CHUNK         16384
#define OPEN_GRACE_MS 10000 /* beyond the connect timeout: the upgrade's round trips */

enum state { OPENING, OPEN, DONE };

struct kube_port_forward {
        pthread_mutex_t lock, ctx_lock; /* ctx_lock: the context, destroyed by the thread */
        pthread_cond_t cond;
        int refs;                   /* the caller's and the thread's */
        enum state state;           /* under lock */
        struct kube_status st;      /* why it did not open, under lock */
        char error[512];            /* the error channel's text, under lock */
        bool released;              /* the caller let go, under lock */
        bool connected;             /* the caller connected */
        int listener, fd;           /* the socket the caller connects to, its connection */
        char name[64];              /* the listener's abstract address, without its NUL */
        struct kube_client *client; /* for counting the request */
        struct lws_context *ctx;
        struct lws *ws, *lsn, *raw; /* the stream, the adopted listener and connection */
        char *token, address[256], host[256], path[1024];
        int port;
        bool tls, insecure;
        int channel;      /* of the message being received */
        size_t prefix[2]; /* bytes of the port number still to drop, per channel */
        bool eof;         /* the caller's end closed: close the stream once out is sent */
        size_t out_len;   /* of a frame waiting in out */
        unsigned char out[LWS_PRE + 1 + CHUNK];
        long long started_ns;
};

/* One lws context at a time in the process: lws 4.1 finds a context's TLS client context
 * through an SSL_CTX ex_data index that every new context assigns anew, so a context destroyed
 * after another was made cannot free its own (ASan: leaked in 2 of 40 forwards made one after
 * the other, the last one's thread still destroying its context). A forward holds the slot
 * from its context's making to its destruction. */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_free = PTHREAD_COND_INITIALIZER;
static bool slot_taken;

static int slot_take(long timeout_ms)
{
        struct timespec deadline = time_realtime_after_ns(timeout_ms * 1000000LL);
        int r = 0;

        pthread_mutex_lock(&slot_lock);
        while (slot_taken && r == 0)
                r = pthread_cond_timedwait(&slot_free, &slot_lock, &deadline);
        if (!slot_taken)
                slot_taken = true, r = 0;
        else
                r = -EBUSY;
        pthread_mutex_unlock(&slot_lock);
        return r;
}

static void slot_give(void)
{
        pthread_mutex_lock(&slot_lock);
        slot_taken = false;
        pthread_cond_signal(&slot_free);
        pthread_mutex_unlock(&slot_lock);
}

static void put(struct kube_port_forward *pf)
{
        int left;

        pthread_mutex_lock(&pf->lock);
        left = --pf->refs;
        pthread_mutex_unlock(&pf->lock);
        if (left)
                return;
        if (pf->token)
                free_secret(pf->token, strlen(pf->token));
        if (pf->listener >= 0) /* never handed to lws */
                close(pf->listener);
        pthread_mutex_destroy(&pf->lock);
        pthread_mutex_destroy(&pf->ctx_lock);
        pthread_cond_destroy(&pf->cond);
        free(pf);
}

/* Opened or not: tell the caller waiting in kube_port_forward_open */
static void settle(struct kube_port_forward *pf, enum state s, int code, const char *why)
{
        pthread_mutex_lock(&pf->lock);
        if (pf->state == OPENING) {
                pf->st.code = code;
                if (why)
                        snprintf(pf->st.message, sizeof(pf->st.message), "port-forward %s: %s%s",
                                 pf->path, why,
                                 code == 403 ? " (forbidden: pods/portforward)" : "");
                kube_client_count(pf->client, "GET", code,
                                  (double)(time_mono_ns() - pf->started_ns) / 1e9);
        }
        pf->state = s;
        pthread_cond_broadcast(&pf->cond);
        pthread_mutex_unlock(&pf->lock);
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
        while (len) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 1000);
                        continue;
                }
                if (n <= 0)
                        return -1;
                buf += n, len -= (size_t)n;
        }
        return 0;
}

/* A piece of a message from the node: on channel 0 the pod's bytes, on 1 an error; each
 * channel begins with the port number (2 bytes), which is not data. */
static int received(struct kube_port_forward *pf, struct lws *wsi, const unsigned char *in,
                    size_t len)
{
        size_t drop;

        if (lws_is_first_fragment(wsi)) {
                if (!len)
                        return 0;
                pf->channel = in[0];
                in++, len--;
        }
        if (pf->channel > 1)
                return 0;
        drop = pf->prefix[pf->channel] < len ? pf->prefix[pf->channel] : len;
        pf->prefix[pf->channel] -= drop;
        in += drop, len -= drop;
        if (!len)
                return 0;
        if (pf->channel == 1) {
                pthread_mutex_lock(&pf->lock);
                size_t l = strlen(pf->error);
                snprintf(pf->error + l, sizeof(pf->error) - l, "%.*s", (int)len, (const char *)in);
                pthread_mutex_unlock(&pf->lock);
                if (pf->fd >= 0)
                        shutdown(pf->fd, SHUT_RDWR); /* the connection is over */
                return 0;
        }
        return write_all(pf->fd, in, len) < 0 ? -1 : 0;
}

/* The caller sent something: one frame of it, and no more reading until it is sent */
static int from_caller(struct kube_port_forward *pf, struct lws *wsi)
{
        ssize_t n;

        if (pf->out_len) {
                lws_rx_flow_control(wsi, 0);
                return 0;
        }
        n = read(pf->fd, pf->out + LWS_PRE + 1, CHUNK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                pf->eof = true;
                if (pf->ws)
                        lws_callback_on_writable(pf->ws);
                return -1; /* closes the adopted fd's wsi */
        }
        pf->out[LWS_PRE] = 0; /* the data channel */
        pf->out_len = (size_t)n + 1;
        lws_rx_flow_control(wsi, 0);
        if (pf->ws)
                lws_callback_on_writable(pf->ws);
        return 0;
}

static int to_node(struct kube_port_forward *pf, struct lws *wsi)
{
        if (pf->out_len) {
                if (lws_write(wsi, pf->out + LWS_PRE, pf->out_len, LWS_WRITE_BINARY) <
                    (int)pf->out_len)
                        return -1;
                pf->out_len = 0;
                if (pf->raw)
                        lws_rx_flow_control(pf->raw, 1);
        }
        if (pf->eof) {
                lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
                return -1;
        }
        return 0;
}

static int handshake_headers(struct kube_port_forward *pf, struct lws *wsi, void *in, size_t len)
{
        unsigned char **p = in, *end = *p + len;
        struct strbuf auth = {0};
        int r = 0;

        if (pf->token) {
                r = strbuf_printf(&auth, "Bearer %s", pf->token) < 0 ||
                    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                                 (unsigned char *)auth.buf, (int)auth.len, p, end);
                strbuf_free_secret(&auth);
        }
        return r ? -1 : 0;
}

static struct lws *adopt(struct lws *wsi, int fd)
{
        return lws_adopt_descriptor_vhost(lws_get_vhost(wsi), LWS_ADOPT_RAW_FILE_DESC,
                                          (lws_sock_file_fd_type){.filefd = fd}, PROTOCOL, NULL);
}

/* The stream is open: the listener now waits for the caller */
static void opened(struct kube_port_forward *pf, struct lws *wsi)
{
        pf->lsn = adopt(wsi, pf->listener);
        if (!pf->lsn) {
                settle(pf, DONE, 101, "out of memory");
                return;
        }
        pf->listener = -1; /* lws's */
        settle(pf, OPEN, 101, NULL);
}

/* The caller connects: its connection (this process's own, nobody else's) is the one carried;
 * the listener closes. */
static int accepted(struct kube_port_forward *pf, struct lws *wsi)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int fd = accept4(lws_get_socket_fd(wsi), NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid != getpid()) {
                close(fd); /* another process: not for it */
                return 0;
        }
        pf->connected = true;
        pf->raw = adopt(wsi, fd);
        if (!pf->raw) {
                close(fd);
                pf->eof = true;
                if (pf->ws)
                        lws_callback_on_writable(pf->ws);
        } else {
                pf->fd = fd;
        }
        return -1; /* one connection: the listener closes */
}

/* Something can still pass: the caller may connect (it holds the forward), or it connected
 * and the stream is open (once the caller's connection closes, the stream is closed at its
 * next writable callback, before the context goes) */
static bool serving(struct kube_port_forward *pf)
{
        bool released;

        pthread_mutex_lock(&pf->lock);
        released = pf->released;
        pthread_mutex_unlock(&pf->lock);
        if (!pf->connected)
                return !released && (pf->ws || pf->lsn);
        return pf->ws != NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
        struct kube_port_forward *pf = lws_context_user(lws_get_context(wsi));

        switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
                return handshake_headers(pf, wsi, in, len);
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
                int code = (int)lws_http_client_http_response(wsi);
                char why[256];
                pf->ws = NULL;
                if (code > 0 && code != 101)
                        snprintf(why, sizeof(why), "the API server answered HTTP %d", code);
                else
                        snprintf(why, sizeof(why), "%s", in ? (const char *)in : "no connection");
                settle(pf, DONE, code, why);
                break;
        }
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
                opened(pf, wsi);
                return pf->lsn ? 0 : -1;
        case LWS_CALLBACK_CLIENT_RECEIVE:
                return received(pf, wsi, in, len);
        case LWS_CALLBACK_CLIENT_WRITEABLE:
                return to_node(pf, wsi);
        case LWS_CALLBACK_CLIENT_CLOSED:
                pf->ws = NULL;
                if (pf->fd >= 0) /* the caller reads the end; the fd's wsi closes */
                        shutdown(pf->fd, SHUT_RDWR);
                if (pf->lsn) /* never connected */
                        lws_set_timeout(pf->lsn, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                settle(pf, DONE, 0, "closed by the API server");
                break;
        case LWS_CALLBACK_RAW_RX_FILE:
                return wsi == pf->lsn ? accepted(pf, wsi) : from_caller(pf, wsi);
        case LWS_CALLBACK_RAW_CLOSE_FILE:
                if (wsi == pf->lsn) {
                        pf->lsn = NULL;
                        break;
                }
                pf->raw = NULL;
                pf->fd = -1; /* lws closed it */
                pf->eof = true;
                if (pf->ws)
                        lws_callback_on_writable(pf->ws);
                break;
        default:
                break;
        }
        return 0;
}

static const struct lws_protocols protocols[] = {
        {PROTOCOL, callback, 0, LWS_PRE + 1 + CHUNK, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *serve(void *arg)
{
        struct kube_port_forward *pf = arg;

        while (serving(pf))
                if (lws_service(pf->ctx, 0) < 0)
                        break;
        if (pf->ws) /* abandoned: the stream closes before its context goes (lws 4.1 keeps what
                     * a connection open at lws_context_destroy() holds) */
                lws_set_timeout(pf->ws, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
        settle(pf, DONE, 0, "closed");
        pthread_mutex_lock(&pf->ctx_lock); /* not while the caller wakes it */
        lws_context_destroy(pf->ctx);
        pf->ctx = NULL;
        pthread_mutex_unlock(&pf->ctx_lock);
        slot_give();
        put(pf);
        return NULL;
}

/* host, port and path prefix of server (https://host[:port][/prefix]); the address to connect
 * to from connect_to (name:port:host:port) when the certificate's name is not the host's */
static int endpoint_parse(struct kube_port_forward *pf, const struct kube_client_endpoint *e)
{
        const char *hp = strstr(e->server, "://"), *rest, *end, *portp;
        const char *conn = e->connect_to;

        if (!hp)
                return -EINVAL;
        pf->tls = strncmp(e->server, "https://", 8) == 0;
        hp += 3;
        rest = hp + strcspn(hp, "/");
        if (*hp == '[') { /* [IPv6] */
                end = memchr(hp, ']', (size_t)(rest - hp));
                if (!end)
                        return -EINVAL;
                end++;
        } else {
                end = hp + strcspn(hp, ":/");
        }
        portp = *end == ':' ? end + 1 : NULL;
        pf->port = portp ? (int)strtol(portp, NULL, 10) : pf->tls ? 443 : 80;
        if (*hp == '[')
                snprintf(pf->host, sizeof(pf->host), "%.*s", (int)(end - hp - 2), hp + 1);
        else
                snprintf(pf->host, sizeof(pf->host), "%.*s", (int)(end - hp), hp);
        snprintf(pf->address, sizeof(pf->address), "%s", pf->host);
        if (conn && (conn = strchr(conn, ':')) && (conn = strchr(conn + 1, ':'))) {
                conn++; /* host:port, the host maybe [v6] */
                end = *conn == '[' ? strchr(conn, ']') : conn + strcspn(conn, ":");
                if (*conn == '[' && end)
                        snprintf(pf->address, sizeof(pf->address), "%.*s", (int)(end - conn - 1),
                                 conn + 1);
                else if (end)
                        snprintf(pf->address, sizeof(pf->address), "%.*s", (int)(end - conn), conn);
        }
        snprintf(pf->path, sizeof(pf->path), "%.*s", (int)strcspn(rest, "?"), rest);
        return pf->port > 0 && pf->port < 65536 && pf->host[0] ? 0 : -EINVAL;
}

static void quiet(void)
{
        lws_set_log_level(0, NULL); /* failures reach the caller; lws's own lines would not be
                                     * the operator's log format */
}

static struct lws_context *context_new(struct kube_port_forward *pf,
                                       const struct kube_client_endpoint *e)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        struct lws_context_creation_info info = {0};

        pthread_once(&once, quiet);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols;
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.user = pf;
        info.gid = (gid_t)-1;
        info.uid = (uid_t)-1;
        info.fd_limit_per_thread = 16; /* the stream, the fd, lws's own: not one per possible fd */
        info.alpn = "http/1.1";
        info.client_ssl_ca_mem = e->ca;
        info.client_ssl_ca_mem_len = (unsigned)e->ca_len;
        info.client_ssl_cert_mem = e->cert;
        info.client_ssl_cert_mem_len = (unsigned)e->cert_len;
        info.client_ssl_key_mem = e->key;
        info.client_ssl_key_mem_len = (unsigned)e->key_len;
        info.connect_timeout_secs = (unsigned)((e->connect_timeout_ms + 999) / 1000);
        return lws_create_context(&info);
}

static int connect_stream(struct kube_port_forward *pf)
{
        struct lws_client_connect_info ci = {0};

        ci.context = pf->ctx;
        ci.address = pf->address;
        ci.port = pf->port;
        ci.host = pf->host;
        ci.origin = pf->host;
        ci.path = pf->path;
        ci.protocol = SUBPROTOCOL;
        ci.local_protocol_name = PROTOCOL;
        ci.alpn = "http/1.1";
        ci.pwsi = &pf->ws;
        if (pf->tls)
                ci.ssl_connection = LCCSCF_USE_SSL;
        if (pf->insecure) /* only when the kubeconfig says so */
                ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_EXPIRED |
                                     LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
        return lws_client_connect_via_info(&ci) || pf->state != OPENING ? 0 : -EIO;
}

/* The abstract Unix socket address of name (sun_path[0] = 0: no file); its length */
static socklen_t abstract_address(const char *name, struct sockaddr_un *a)
{
        size_t len = strlen(name);

        *a = (struct sockaddr_un){.sun_family = AF_UNIX};
        memcpy(a->sun_path + 1, name, len); /* name is shorter than sun_path (64 < 108) */
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

/* The listener the caller connects to: an abstract Unix socket (no file, gone with its fd) of
 * a random name; accept() checks that the caller is this process. */
static int listener_new(char *name, size_t size)
{
        struct sockaddr_un a;
        unsigned char rnd[16];
        size_t len;
        socklen_t alen;
        int fd;

        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                return -1;
        len = (size_t)snprintf(name, size, "karmada-operator/port-forward/");
        for (size_t i = 0; i < sizeof(rnd) && len + 2 < size; i++)
                len += (size_t)snprintf(name + len, size - len, "%02x", rnd[i]);
        alen = abstract_address(name, &a);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, alen) < 0 || listen(fd, 1) < 0)) {
                close(fd);
                return -1;
        }
        return fd;
}

static struct kube_port_forward *forward_new(struct kube_client *c, const char *ns, const char *pod,
                                             int port, const struct kube_client_endpoint *e)
{
        struct kube_port_forward *pf = calloc(1, sizeof(*pf));
        size_t l;

        if (!pf) {
                if (e->token)
                        free_secret(e->token, strlen(e->token));
                return NULL;
        }
        pthread_mutex_init(&pf->lock, NULL);
        pthread_mutex_init(&pf->ctx_lock, NULL);
        pthread_cond_init(&pf->cond, NULL);
        pf->refs = 1;
        pf->client = c;
        pf->fd = -1;
        pf->prefix[0] = pf->prefix[1] = 2;
        pf->insecure = e->insecure;
        pf->token = e->token;
        pf->started_ns = time_mono_ns();
        pf->listener = listener_new(pf->name, sizeof(pf->name));
        if (pf->listener < 0 || endpoint_parse(pf, e) < 0) {
                put(pf);
                return NULL;
        }
        pf->refs = 2;
        l = strlen(pf->path);
        snprintf(pf->path + l, sizeof(pf->path) - l,
                 "/api/v1/namespaces/%s/pods/%s/portforward?ports=%d", ns, pod, port);
        return pf;
}

static void fail(struct kube_port_forward *pf, struct kube_status *st, const char *why)
{
        snprintf(st->message, sizeof(st->message), "port-forward %s: %s", pf->path, why);
        if (pf->ctx)
                lws_context_destroy(pf->ctx);
        slot_give();
        pf->refs = 1;
        put(pf);
}

/* Until the thread says it opened or not, or the time for it is over */
static int wait_open(struct kube_port_forward *pf, long timeout_ms, struct kube_status *st)
{
        struct timespec deadline = time_realtime_after_ns(timeout_ms * 1000000LL);
        int r = 0;

        pthread_mutex_lock(&pf->lock);
        while (pf->state == OPENING && r == 0)
                r = pthread_cond_timedwait(&pf->cond, &pf->lock, &deadline);
        if (pf->state == OPEN) {
                pthread_mutex_unlock(&pf->lock);
                return 0;
        }
        *st = pf->st;
        if (pf->state == OPENING)
                snprintf(st->message, sizeof(st->message), "port-forward %s: no answer in %ld ms",
                         pf->path, timeout_ms);
        pthread_mutex_unlock(&pf->lock);
        return st->code == 403 ? -EACCES : st->code == 404 ? -ENOENT : -EIO;
}

int kube_port_forward_open(struct kube_client *c, const char *ns, const char *pod, int port,
                           struct kube_port_forward **ret, struct kube_status *st)
{
        struct kube_client_endpoint e;
        struct kube_port_forward *pf;
        pthread_t thread;
        long timeout_ms;
        int r;

        *st = (struct kube_status){0};
        if (kube_client_endpoint(c, &e) < 0) {
                snprintf(st->message, sizeof(st->message), "out of memory");
                return -ENOMEM;
        }
        timeout_ms = e.connect_timeout_ms + OPEN_GRACE_MS;
        pf = forward_new(c, ns, pod, port, &e);
        if (!pf) { /* the token went with it */
                snprintf(st->message, sizeof(st->message), "port-forward to %s: %s", e.server,
                         "no socket, or not a server URL");
                return -EINVAL;
        }
        if (slot_take(timeout_ms) < 0) {
                snprintf(st->message, sizeof(st->message),
                         "port-forward %s: another one still open after %ld ms", pf->path,
                         timeout_ms);
                pf->refs = 1;
                put(pf);
                return -EBUSY;
        }
        pf->ctx = context_new(pf, &e);
        if (!pf->ctx || connect_stream(pf) < 0) {
                fail(pf, st, pf->ctx ? "could not connect" : "no TLS context (certificates?)");
                return -EIO;
        }
        if (pthread_create(&thread, NULL, serve, pf) != 0) {
                fail(pf, st, "no thread");
                return -EAGAIN;
        }
        pthread_detach(thread);
        r = wait_open(pf, timeout_ms, st);
        if (r < 0) {
                kube_port_forward_release(pf);
                return r;
        }
        *ret = pf;
        return 0;
}

const char *kube_port_forward_socket(const struct kube_port_forward *pf)
{
        return pf->name;
}

int kube_port_forward_connect(const struct kube_port_forward *pf)
{
        struct sockaddr_un a;
        socklen_t alen = abstract_address(pf->name, &a);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, alen) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

void kube_port_forward_error(struct kube_port_forward *pf, char *buf, size_t len)
{
        pthread_mutex_lock(&pf->lock);
        snprintf(buf, len, "%s", pf->error);
        pthread_mutex_unlock(&pf->lock);
}

void kube_port_forward_release(struct kube_port_forward *pf)
{
        if (!pf)
                return;
        pthread_mutex_lock(&pf->lock);
        pf->released = true;
        pthread_mutex_unlock(&pf->lock);
        pthread_mutex_lock(&pf->ctx_lock);
        if (pf->ctx)
                lws_cancel_service(pf->ctx); /* not connected by now: never */
        pthread_mutex_unlock(&pf->ctx_lock);
        put(pf);
}

void *kube_port_forward_dial(void *target, char *socket, size_t size, char *err, size_t errlen)
{
        const struct kube_port_forward_target *t = target;
        struct kube_port_forward *pf;
        struct kube_status st;

        if (kube_port_forward_open(t->client, t->ns, t->pod, t->port, &pf, &st) < 0) {
                snprintf(err, errlen, "%s", st.message);
                return NULL;
        }
        snprintf(socket, size, "%s", kube_port_forward_socket(pf));
        return pf;
}

void kube_port_forward_hang_up(void *forward)
{
        kube_port_forward_release(forward);
}
