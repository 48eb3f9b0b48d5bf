/* SPDX-License-Identifier: Apache-2.0 */
/* A small HTTP file server for tests (libmicrohttpd) on 127.0.0.1: GET /<path> serves
 * root/<path>; GET /redirect?to=URL answers 302 to URL; GET /slow answers after 1 s. */
#pragma once

struct fileserver;

struct fileserver *fileserver_start(const char *root);
/* The same over HTTPS, with this certificate and key (PEM, kept in memory). */
struct fileserver *fileserver_start_tls(const char *root, const char *cert_pem,
                                        const char *key_pem);
int fileserver_port(const struct fileserver *s);
/* requests served so far (any path) */
unsigned fileserver_requests(const struct fileserver *s);
void fileserver_stop(struct fileserver *s);
