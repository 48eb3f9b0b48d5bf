/* SPDX-License-Identifier: Apache-2.0 */
#include "tcpcut.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 64

struct tcpcut {
        int listen_fd, port, target_port;
        int pairs[MAX_PAIRS][2]; /* client, target; -1 when free */
        atomic_bool up, stop;
        atomic_uint connections;
        pthread_t thread;
};

static void close_pair(int *pair)
{
        close(pair[0]);
        close(pair[1]);
        pair[0] = pair[1] = -1;
}

static bool relay(int from, int to)
{
        char buf[65536];
        ssize_t n = read(from, buf, sizeof(buf));

        return n > 0 && write(to, buf, (size_t)n) == n;
}

static int connect_target(int port)
{
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (t >= 0 && connect(t, (struct sockaddr *)&a, sizeof(a)) == 0)
                return t;
        if (t >= 0)
                close(t);
        return -1;
}

static void accept_one(struct tcpcut *t)
{
        int c = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC), i;

        if (c < 0)
                return;
        atomic_fetch_add(&t->connections, 1);
        for (i = 0; i < MAX_PAIRS && t->pairs[i][0] >= 0; i++)
                ;
        if (!atomic_load(&t->up) || i == MAX_PAIRS ||
            (t->pairs[i][1] = connect_target(t->target_port)) < 0) {
                close(c);
                return;
        }
        t->pairs[i][0] = c;
}

static void *run(void *arg)
{
        struct tcpcut *t = arg;

        while (!atomic_load(&t->stop)) {
                struct pollfd fds[1 + 2 * MAX_PAIRS] = {{t->listen_fd, POLLIN, 0}};
                int n = 1;
                for (int i = 0; i < MAX_PAIRS; i++) {
                        if (t->pairs[i][0] >= 0 && !atomic_load(&t->up))
                                close_pair(t->pairs[i]);
                        for (int j = 0; j < 2 && t->pairs[i][0] >= 0; j++)
                                fds[n++] = (struct pollfd){t->pairs[i][j], POLLIN, 0};
                }
                if (poll(fds, (nfds_t)n, 100) <= 0)
                        continue;
                if (fds[0].revents)
                        accept_one(t);
                for (int k = 1; k < n; k++) {
                        if (!fds[k].revents)
                                continue;
                        for (int i = 0; i < MAX_PAIRS; i++)
                                for (int j = 0; j < 2; j++)
                                        if (t->pairs[i][j] == fds[k].fd &&
                                            !relay(fds[k].fd, t->pairs[i][1 - j]))
                                                close_pair(t->pairs[i]);
                }
        }
        return NULL;
}

struct tcpcut *tcpcut_new(int target_port)
{
        struct tcpcut *t = calloc(1, sizeof(*t));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);

        if (!t)
                return NULL;
        memset(t->pairs, -1, sizeof(t->pairs));
        t->target_port = target_port;
        t->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (t->listen_fd < 0 || bind(t->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            listen(t->listen_fd, 64) < 0 ||
            getsockname(t->listen_fd, (struct sockaddr *)&a, &len) < 0 ||
            pthread_create(&t->thread, NULL, run, t) != 0) {
                if (t->listen_fd >= 0)
                        close(t->listen_fd);
                free(t);
                return NULL;
        }
        t->port = ntohs(a.sin_port);
        return t;
}

int tcpcut_port(const struct tcpcut *t)
{
        return t->port;
}

void tcpcut_up(struct tcpcut *t)
{
        atomic_store(&t->up, true);
}

void tcpcut_down(struct tcpcut *t)
{
        atomic_store(&t->up, false);
}

unsigned tcpcut_connections(const struct tcpcut *t)
{
        return atomic_load(&t->connections);
}

void tcpcut_free(struct tcpcut *t)
{
        if (!t)
                return;
        atomic_store(&t->stop, true);
        pthread_join(t->thread, NULL);
        for (int i = 0; i < MAX_PAIRS; i++)
                if (t->pairs[i][0] >= 0)
                        close_pair(t->pairs[i]);
        close(t->listen_fd);
        free(t);
}
