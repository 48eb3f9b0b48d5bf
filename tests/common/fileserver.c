/* SPDX-License-Identifier: Apache-2.0 */
#include "fileserver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

struct fileserver {
        struct MHD_Daemon *d;
        char *root;
        atomic_uint requests;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *text)
{
        struct MHD_Response *r =
                MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret = MHD_queue_response(c, code, r);

        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
        struct fileserver *s = cls;
        struct MHD_Response *r;
        enum MHD_Result ret;
        char path[4096];
        struct stat st;
        int fd;

        (void)version, (void)data, (void)size, (void)state;
        atomic_fetch_add(&s->requests, 1);
        if (strcmp(method, "GET") != 0)
                return reply(c, 405, "GET only");
        if (strcmp(url, "/redirect") == 0) {
                const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
                r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(r, "Location", to ? to : "/");
                ret = MHD_queue_response(c, 302, r);
                MHD_destroy_response(r);
                return ret;
        }
        if (strcmp(url, "/slow") == 0) {
                sleep(1);
                return reply(c, 200, "late");
        }
        if (strstr(url, "..") ||
            snprintf(path, sizeof(path), "%s%s", s->root, url) >= (int)sizeof(path))
                return reply(c, 400, "bad path");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                if (fd >= 0)
                        close(fd);
                return reply(c, 404, "not found");
        }
        r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
}

static struct fileserver *start(const char *root, const char *cert_pem, const char *key_pem)
{
        struct fileserver *s = calloc(1, sizeof(*s));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

        if (!s || !(s->root = strdup(root))) {
                free(s);
                return NULL;
        }
        if (cert_pem)
                s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, s,
                                        MHD_OPTION_SOCK_ADDR, &a, MHD_OPTION_HTTPS_MEM_CERT,
                                        cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                        MHD_OPTION_END);
        else
                s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &a,
                                        MHD_OPTION_END);
        if (!s->d) {
                free(s->root);
                free(s);
                return NULL;
        }
        return s;
}

struct fileserver *fileserver_start(const char *root)
{
        return start(root, NULL, NULL);
}

struct fileserver *fileserver_start_tls(const char *root, const char *cert_pem, const char *key_pem)
{
        return start(root, cert_pem, key_pem);
}

int fileserver_port(const struct fileserver *s)
{
        const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

        return i ? i->port : -1;
}

unsigned fileserver_requests(const struct fileserver *s)
{
        return atomic_load(&((struct fileserver *)s)->requests);
}

void fileserver_stop(struct fileserver *s)
{
        if (!s)
                return;
        MHD_stop_daemon(s->d);
        free(s->root);
        free(s);
}
