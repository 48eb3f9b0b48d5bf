/* SPDX-License-Identifier: Apache-2.0 */
/* A TCP relay on 127.0.0.1 that a test can cut: up, it relays every connection to a target
 * port (TLS passes through untouched); down, the connections it relayed are closed and new ones
 * are closed as soon as they are accepted, before a byte is read (a partition, or a server that
 * is not there). It counts the connections it was asked for, up or down. */
#pragma once

struct tcpcut;

/* Down at first; its port stays the same for its whole life. NULL on failure. */
struct tcpcut *tcpcut_new(int target_port);
int tcpcut_port(const struct tcpcut *t);
void tcpcut_up(struct tcpcut *t);
void tcpcut_down(struct tcpcut *t);
/* connections accepted so far */
unsigned tcpcut_connections(const struct tcpcut *t);
void tcpcut_free(struct tcpcut *t);
