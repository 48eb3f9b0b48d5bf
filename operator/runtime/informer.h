/* SPDX-License-Identifier: Apache-2.0 */
/* List then watch one resource into a store, calling handlers on changes; relists on 410
 * and after errors (with backoff), optionally resyncs. One thread per namespace watched (one for
 * all namespaces), all into the one store; several informers share one client. */
#pragma once

#include <stdbool.h>

#include "kube/client.h"
#include "store.h"

struct informer_handlers {
        void (*on_add)(void *userdata, struct kobj *obj);
        void (*on_update)(void *userdata, struct kobj *old, struct kobj *new);
        void (*on_delete)(void *userdata, struct kobj *obj);
};

struct informer_options {
        struct kube_client *client;
        const struct kube_resource *resource;
        const char *namespace;      /* NULL: all namespaces; or one or several, "a,b" */
        const char *label_selector; /* cache only what matches (memory) */
        const char *field_selector;
        long resync_seconds; /* 0: never; else informer_resync() calls on_update(o, o) */
        long page_size;      /* list page size; default 500 */
        const struct informer_handlers *handlers;
        void *userdata;
        /* Called on every object before it is cached (e.g. to drop fields); NULL keeps the
         * default, which removes metadata.managedFields. */
        void (*transform)(cJSON *obj);
        const char *name; /* for logs and metrics; default the resource */
};

struct informer;

/* Indexes are added to informer_store() before informer_start(). */
int informer_new(const struct informer_options *o, struct informer **ret);
int informer_start(struct informer *inf);
/* Ask the thread to stop (returns at once), e.g. for several informers before joining. */
void informer_request_stop(struct informer *inf);
/* Stops the thread (within about a second) and waits for it. */
void informer_stop(struct informer *inf);
void informer_free(struct informer *inf);
bool informer_has_synced(struct informer *inf);
/* Synced, and watching now: what the store holds is what the server holds (a moment ago). After
 * an outage the store is as of before it until its watch is connected again. */
bool informer_is_current(struct informer *inf);
/* A wait to list or watch again after an error ends at once: the server answers again. */
void informer_wake(struct informer *inf);
/* When resync_seconds have passed since the last resync: on_update(o, o) for every cached
 * object. Called periodically by the manager's loop. */
void informer_resync(struct informer *inf);
struct store *informer_store(struct informer *inf);
const char *informer_name(const struct informer *inf);
/* Counters for tests and metrics. */
struct informer_stats {
        unsigned long lists; /* full lists (the first, and relists) */
        unsigned long relists_410;
        unsigned long events;
};
void informer_get_stats(struct informer *inf, struct informer_stats *ret);
