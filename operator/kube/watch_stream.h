/* SPDX-License-Identifier: Apache-2.0 */
/* The watch wire format: newline-delimited JSON events arriving in chunks split anywhere.
 * Pure code (no I/O), unit-tested and fuzzed. */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

#include "../util/strbuf.h"
#include "client.h"

struct kube_framer {
        struct strbuf pending; /* bytes of the line not yet complete */
        size_t max_line;       /* a longer line is an error (-E2BIG) */
};

typedef int (*kube_line_fn)(void *userdata, const char *line, size_t len);

/* Feed a chunk; calls fn for every complete non-empty line (without the newline). Returns 0,
 * fn's negative value, or -E2BIG when a line exceeds max_line. */
int kube_framer_feed(struct kube_framer *f, const char *data, size_t len, kube_line_fn fn,
                     void *userdata);
/* Bytes of an incomplete line still buffered. */
size_t kube_framer_pending(const struct kube_framer *f);
void kube_framer_reset(struct kube_framer *f);
void kube_framer_free(struct kube_framer *f);

/* Decode one event line. Returns 0 and sets type and *ret_obj (caller owns it) for ADDED,
 * MODIFIED, DELETED and BOOKMARK. An ERROR event fills st from its Status and returns
 * -ESTALE for 410 Gone/Expired (list again), else that status' errno (-EIO at least).
 * Malformed lines are -EBADMSG. */
int kube_watch_decode(const char *line, size_t len, enum kube_event_type *type, cJSON **ret_obj,
                      struct kube_status *st);
