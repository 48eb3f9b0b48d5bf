/* SPDX-License-Identifier: Apache-2.0 */
/* A small Kubernetes API client over libcurl: JSON in and out (cJSON), one request path with
 * connection reuse, in-memory TLS material, retries and a client-side rate limit. Safe to use
 * from several threads at once. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "resource.h"

/* What the API server said when a request failed (its Status body), or what the transport
 * said. code is 0 when no HTTP response arrived. */
struct kube_status {
        int code;
        char reason[64];   /* "NotFound", "AlreadyExists", "Conflict", "Expired", ... */
        char message[512]; /* the Status message, or the transport error naming the URL */
};

struct kube_client_options {
        const struct kube_config *config; /* copied; may be freed after kube_client_new() */
        double qps;                       /* client-side rate limit; 0 = none */
        int burst;                        /* bucket size for qps (default: max(1, qps)) */
        long timeout_ms;                  /* per request; default 30,000 */
        long connect_timeout_ms;          /* default 10,000 */
        size_t max_body;                  /* largest response body; default 64 MiB */
        int max_retries;                  /* 0: default (5); negative: no retries */
        const char *user_agent;           /* default "karmada-operator/<version>" */
};

struct kube_client;

/* Counters for the metrics endpoint and benchmarks. */
struct kube_client_stats {
        uint64_t requests;
        uint64_t retries;
        uint64_t connects; /* new TCP/TLS connections (handshakes) */
        uint64_t writes;   /* requests with a mutating verb */
};

int kube_client_new(const struct kube_client_options *o, struct kube_client **ret);
void kube_client_free(struct kube_client *c);
void kube_client_stats(struct kube_client *c, struct kube_client_stats *ret);
const char *kube_client_server(const struct kube_client *c);
/* The time a request may take from now on (0: the default), as timeout_ms */
void kube_client_set_timeout(struct kube_client *c, long timeout_ms);

/* Closes the connections of the handles idle for idle_ms or longer, freeing their TLS state (a
 * later request opens a new one); returns how many. */
size_t kube_client_close_idle(struct kube_client *c, long idle_ms);

/* Called after every request: which client, the verb, the status code (0: no response), the
 * time it took. */
typedef void (*kube_request_observer)(void *userdata, const struct kube_client *c, const char *verb,
                                      int code, double seconds);
void kube_client_set_observer(struct kube_client *c, kube_request_observer fn, void *userdata);

/* For a connection of the kube layer's own (portforward.c): where the API server is and how
 * to authenticate, as the client's requests do. Valid while c lives, but token: the caller
 * wipes and frees it (free_secret). */
struct kube_client_endpoint {
        const char *server;     /* "https://host:port[/prefix]" */
        const char *connect_to; /* "name:port:host:port" (tls-server-name), or NULL */
        const unsigned char *ca, *cert, *key;
        size_t ca_len, cert_len, key_len;
        bool insecure;
        const char *user_agent;
        char *token; /* or NULL */
        long connect_timeout_ms;
};
int kube_client_endpoint(struct kube_client *c, struct kube_client_endpoint *e);
/* A request made on such a connection, counted as the client's own are (stats, observer). */
void kube_client_count(struct kube_client *c, const char *verb, int code, double seconds);

/* ---- requests ---- */

struct kube_list_options {
        const char *label_selector;
        const char *field_selector;
        long limit;                   /* page size; 0 = server default (all at once) */
        const char *resource_version; /* "0" = any (cache); NULL = most recent */
};

enum kube_patch_type {
        KUBE_PATCH_MERGE,     /* application/merge-patch+json */
        KUBE_PATCH_JSON,      /* application/json-patch+json */
        KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types) */
        KUBE_PATCH_APPLY,     /* server-side apply: application/apply-patch+yaml */
};

struct kube_write_options {
        const char *field_manager; /* required for KUBE_PATCH_APPLY */
        bool force;                /* apply: take ownership of conflicting fields */
        const char *subresource;   /* "status", "scale", ... or NULL */
        bool dry_run;              /* dryRun=All */
};

enum kube_propagation {
        KUBE_PROPAGATION_DEFAULT,
        KUBE_PROPAGATION_FOREGROUND,
        KUBE_PROPAGATION_BACKGROUND,
        KUBE_PROPAGATION_ORPHAN,
};

struct kube_delete_options {
        enum kube_propagation propagation;
        const char *precondition_uid;
        const char *precondition_resource_version;
};

/* All return 0 or a negative errno: API failures map the HTTP status (404 -ENOENT,
 * 409 AlreadyExists -EEXIST, 409 Conflict -EBUSY, 410 -ESTALE, 403 -EPERM, 401 -EACCES,
 * 400/422 -EINVAL, 413 -E2BIG, 429 -EAGAIN, 5xx -EIO) and fill st; transport failures are
 * -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EIO ... with st->code == 0. st may be NULL.
 * Out-params are set only on success; the caller owns them. ns is ignored for
 * cluster-scoped resources. */
int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
             cJSON **ret, struct kube_status *st);
/* All pages, merged into one List (items concatenated; metadata.resourceVersion of the last). */
int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
              const struct kube_list_options *o, cJSON **ret, struct kube_status *st);
int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const cJSON *obj, const struct kube_write_options *o, cJSON **ret,
                struct kube_status *st);
/* PUT of obj (its metadata.name and, for optimistic concurrency, metadata.resourceVersion). */
int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const cJSON *obj, const struct kube_write_options *o, cJSON **ret,
                struct kube_status *st);
int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const char *name, enum kube_patch_type type, const char *body,
               const struct kube_write_options *o, cJSON **ret, struct kube_status *st);
/* Server-side apply of obj (name from its metadata). */
int kube_apply(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const cJSON *obj, const struct kube_write_options *o, cJSON **ret,
               struct kube_status *st);
int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, const struct kube_delete_options *o, struct kube_status *st);
/* Any path below the server ("/version", "/readyz"): GET, body returned as text. */
int kube_get_raw(struct kube_client *c, const char *path, char **ret, size_t *ret_len,
                 struct kube_status *st);
/* GET a path once (no retry), within timeout_ms (0: the client's), the body dropped: whether
 * the server answers it, and how. */
int kube_probe(struct kube_client *c, const char *path, long timeout_ms, struct kube_status *st);
/* POST to a path that is not a resource collection (e.g. a TokenRequest subresource). */
int kube_post_raw(struct kube_client *c, const char *path, const cJSON *body, cJSON **ret,
                  struct kube_status *st);

/* ---- watch ---- */

enum kube_event_type {
        KUBE_EVENT_ADDED,
        KUBE_EVENT_MODIFIED,
        KUBE_EVENT_DELETED,
        KUBE_EVENT_BOOKMARK,
};

/* Return 0 to go on, negative to stop the watch (kube_watch returns that value). The object is
 * borrowed: detach or duplicate what you keep. */
typedef int (*kube_watch_fn)(void *userdata, enum kube_event_type type, cJSON *object);

struct kube_cancel {
        atomic_bool cancelled;
        atomic_uint wakes; /* bumped by kube_wake() */
};
static inline void kube_cancel(struct kube_cancel *c)
{
        atomic_store(&c->cancelled, true);
}
/* A wait before a retry (of a request, or of a watch after an error) ends at once: the server
 * is known to answer again. */
static inline void kube_wake(struct kube_cancel *c)
{
        atomic_fetch_add(&c->wakes, 1);
}
/* Sleep ms, checking every 100 ms for cancellation (-ECANCELED) and for kube_wake() (then 0 at
 * once): a wait before a retry. cancel may be NULL. */
int kube_sleep(long ms, struct kube_cancel *cancel);

struct kube_watch_options {
        const char *label_selector;
        const char *field_selector;
        const char *resource_version; /* start after this (from a list); required */
        long timeout_seconds;         /* server-side timeout of one watch request; default 300 */
        size_t max_event_size;        /* one event line; default: the client's max_body */
        struct kube_cancel *cancel;   /* checked at least once a second */
        /* Called when a watch request has been answered with 200 (connected) and when it
         * ends, for health. */
        void (*on_state)(void *userdata, bool connected);
};

/* Streams events until cancelled (-ECANCELED), until the resourceVersion is too old
 * (-ESTALE: list again), or until fn returns < 0. Reconnects by itself, resuming from the last
 * resourceVersion seen, after a disconnect, a server timeout or a server restart (with
 * backoff). *resource_version is updated as events and bookmarks arrive (caller owns it). */
int kube_watch(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const struct kube_watch_options *o, char **resource_version, kube_watch_fn fn,
               void *userdata, struct kube_status *st);
