/* SPDX-License-Identifier: Apache-2.0 */
/* API errors as values, and the retry policy: pure functions, unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kube_status;

/* Fill st from an HTTP response: the Status body's code/reason/message when the body is a
 * Status, else the HTTP code and the start of the body. */
void kube_status_from_response(struct kube_status *st, int code, const char *body, size_t len);
/* The negative errno for a failed response (see client.h); 0 for 2xx. */
int kube_status_errno(const struct kube_status *st);
/* Set st for a transport error: code 0, message "<verb> <url>: <what>". */
void kube_status_transport(struct kube_status *st, const char *verb, const char *url,
                           const char *what);

enum kube_retry_class {
        KUBE_RETRY_NEVER_SENT, /* connection never established: nothing reached the server */
        KUBE_RETRY_THROTTLED,  /* 429: the server refused without acting */
        KUBE_RETRY_SERVER,     /* 5xx or the connection broke after sending: may have acted */
        KUBE_RETRY_NO,         /* anything else: final */
};

/* Retry when attempt < max_retries and: never sent or throttled (any verb), or a server-side
 * failure on a verb that is safe to repeat (GET, server-side apply). */
bool kube_should_retry(enum kube_retry_class cls, bool idempotent, int attempt, int max_retries);
