/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct http_server {
        struct http_server_options o;
        struct MHD_Daemon *daemon;
        int port;
};

int http_parse_address(const char *address, struct sockaddr_storage *ret, unsigned *ret_len)
{
        char host[128];
        const char *colon;
        char *end;
        long port;

        memset(ret, 0, sizeof(*ret));
        if (!address)
                return -EINVAL;
        if (address[0] == '[') {
                const char *rb = strchr(address, ']');
                if (!rb || rb[1] != ':' || (size_t)(rb - address - 1) >= sizeof(host))
                        return -EINVAL;
                memcpy(host, address + 1, (size_t)(rb - address - 1));
                host[rb - address - 1] = '\0';
                colon = rb + 1;
        } else {
                colon = strrchr(address, ':');
                if (!colon || (size_t)(colon - address) >= sizeof(host))
                        return -EINVAL;
                memcpy(host, address, (size_t)(colon - address));
                host[colon - address] = '\0';
        }
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
                return -EINVAL;
        if (address[0] == '[' || strchr(host, ':')) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
                        return -EINVAL;
                *ret_len = sizeof(*a);
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *)ret;
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t)port);
                if (!*host || strcmp(host, "0.0.0.0") == 0)
                        a->sin_addr.s_addr = htonl(INADDR_ANY);
                else if (strcmp(host, "localhost") == 0)
                        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                        return -EINVAL;
                *ret_len = sizeof(*a);
        }
        return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
                             char *body, size_t len)
{
        struct MHD_Response *resp;
        enum MHD_Result r;

        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", type);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        r = MHD_queue_response(conn, code, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
        struct http_server *s = cls;
        struct strbuf sb = {0};
        unsigned code = 200;
        const char *type = "text/plain; charset=utf-8";

        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
                strbuf_puts(&sb, "method not allowed\n");
                code = 405;
        } else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/livez") == 0 ||
                   strcmp(url, "/readyz") == 0) {
                bool ready = strcmp(url, "/readyz") == 0;
                bool (*check)(void *, struct strbuf *) = ready ? s->o.readyz : s->o.healthz;
                struct strbuf why = {0};
                bool ok = !check || check(s->o.userdata, &why);
                code = ok ? 200 : 503;
                strbuf_printf(&sb, "%s%s%s\n", ok ? "ok" : "not ok", why.len ? ": " : "",
                              why.len ? why.buf : "");
                strbuf_free(&why);
        } else if (strcmp(url, "/metrics") == 0 && s->o.metrics) {
                metrics_render(s->o.metrics, &sb);
                type = "text/plain; version=0.0.4; charset=utf-8";
        } else {
                strbuf_puts(&sb, "not found\n");
                code = 404;
        }
        if (!sb.buf && strbuf_puts(&sb, "") < 0)
                return MHD_NO;
        return reply(conn, code, type, sb.buf, sb.len);
}

int http_server_start(const struct http_server_options *o, struct http_server **ret)
{
        struct sockaddr_storage addr;
        unsigned len;
        struct http_server *s;
        const union MHD_DaemonInfo *info;
        int r;

        r = http_parse_address(o->address, &addr, &len);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->o = *o;
        s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                             (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                     0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                                     (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
                                     (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                     MHD_OPTION_END);
        if (!s->daemon) {
                free(s);
                return -EADDRINUSE;
        }
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : 0;
        *ret = s;
        return 0;
}

int http_server_port(const struct http_server *s)
{
        return s->port;
}

void http_server_stop(struct http_server *s)
{
        if (!s)
                return;
        MHD_stop_daemon(s->daemon);
        free(s);
}
