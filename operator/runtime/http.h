/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's HTTP endpoint (libmicrohttpd): /healthz, /readyz and /metrics. */
#pragma once

#include <stdbool.h>

#include "metrics.h"
#include "util/strbuf.h"

struct http_server_options {
        const char
                *address; /* "host:port", ":port" (all addresses) or "[::1]:port"; port 0 = any */
        /* Fill msg with a short reason and return true when healthy / ready. */
        bool (*healthz)(void *userdata, struct strbuf *msg);
        bool (*readyz)(void *userdata, struct strbuf *msg);
        void *userdata;
        struct metrics *metrics; /* NULL: no /metrics */
};

struct http_server;

int http_server_start(const struct http_server_options *o, struct http_server **ret);
void http_server_stop(struct http_server *s);
int http_server_port(const struct http_server *s);
/* Parse an address as above into a sockaddr (pure, for tests). */
struct sockaddr_storage;
int http_parse_address(const char *address, struct sockaddr_storage *ret, unsigned *ret_len);
