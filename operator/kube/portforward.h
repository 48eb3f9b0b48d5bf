/* SPDX-License-Identifier: Apache-2.0 */
/* A TCP connection to a pod's port through the API server, as `kubectl port-forward` makes:
 * the pod's portforward subresource over WebSocket (subprotocol v4.channel.k8s.io, with
 * libwebsockets), authenticated as the client's requests are. The caller connects once to an
 * abstract Unix socket (no file; only this process is let through: SO_PEERCRED), e.g. with
 * libcurl's CURLOPT_ABSTRACT_UNIX_SOCKET; a thread of the forward's own moves the bytes between
 * that connection and the stream until either side closes. One forward carries one
 * connection; the stream cannot say that the caller only shut down its writing, so that ends
 * it too. One forward is open at a time in the process (libwebsockets 4.1 leaks the TLS context
 * of one whose lifetime overlaps another's): the next waits for it. */
#pragma once

#include "client.h"

struct kube_port_forward;

/* Open a forward to port of pod ns/name: 0 once the API server (and the node) accepted it, else
 * a negative errno with st saying why (st->code: the HTTP status of a refused upgrade). */
int kube_port_forward_open(struct kube_client *c, const char *ns, const char *pod, int port,
                           struct kube_port_forward **ret, struct kube_status *st);
/* The abstract socket's name (without its leading NUL) to connect to, once. */
const char *kube_port_forward_socket(const struct kube_port_forward *pf);
/* Connect to it: a connected socket, or -1 (errno). */
int kube_port_forward_connect(const struct kube_port_forward *pf);
/* What the node said went wrong on the forward's error channel ("" when nothing), e.g. that
 * nothing listens on the port. */
void kube_port_forward_error(struct kube_port_forward *pf, char *buf, size_t len);
/* Drop the caller's hold: a forward nobody connected to by now closes; one connected lives as
 * long as its connection. Accepts NULL. */
void kube_port_forward_release(struct kube_port_forward *pf);

/* For clients that open one connection per request (the etcd client's dial and hang_up): a
 * forward to a pod's port opened, its socket's name into socket; NULL with err saying why. */
struct kube_port_forward_target {
        struct kube_client *client;
        const char *ns;
        char pod[300];
        int port;
};
void *kube_port_forward_dial(void *target, char *socket, size_t size, char *err, size_t errlen);
void kube_port_forward_hang_up(void *forward);
