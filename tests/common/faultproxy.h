/* SPDX-License-Identifier: Apache-2.0 */
/* A failing HTTP front for tests (libmicrohttpd, libcurl) on 127.0.0.1: it forwards each
 * request to a backend as it came (method, raw path and query, every header, Host included,
 * so signatures stay valid, and the body) and relays the answer, but fails one in `every` of
 * the requests that match: alternately with a 503 (S3's SlowDown, Retry-After: 0) and by
 * dropping the connection without an answer, before the backend sees the request or, with
 * after_forward, once it has acted on it. */
#pragma once

#include <stdbool.h>

struct faultproxy_options {
        const char *backend; /* "http://127.0.0.1:7070" */
        const char *method;  /* only requests of this method ("PUT"); NULL: all */
        const char *query;   /* ... whose query holds this ("partNumber="); NULL: any */
        unsigned every;      /* fail one in `every` of those; 0: none */
        bool after_forward;  /* fail after the backend acted: its answer is what gets lost */
};

struct faultproxy;

struct faultproxy *faultproxy_start(const struct faultproxy_options *o);
int faultproxy_port(const struct faultproxy *p);
/* requests received, and of them failed on purpose */
unsigned faultproxy_requests(const struct faultproxy *p);
unsigned faultproxy_failed(const struct faultproxy *p);
void faultproxy_stop(struct faultproxy *p);
