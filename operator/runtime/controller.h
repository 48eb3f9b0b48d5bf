/* SPDX-License-Identifier: Apache-2.0 */
/* N workers taking keys from a work queue and calling a reconcile function. */
#pragma once

#include <stdbool.h>

#include "metrics.h"
#include "workqueue.h"

enum reconcile_result {
        RECONCILE_DONE,          /* forget the key's failures */
        RECONCILE_REQUEUE,       /* again soon, with the key's backoff */
        RECONCILE_REQUEUE_AFTER, /* again after requeue_after_ms (failures forgotten) */
        RECONCILE_ERROR,         /* logged once, then again with the key's backoff */
};

struct reconcile_outcome {
        enum reconcile_result result;
        long requeue_after_ms;
        char error[512]; /* for RECONCILE_ERROR: what went wrong */
};

typedef void (*reconcile_fn)(void *userdata, const char *key, struct reconcile_outcome *out);

struct controller_options {
        const char *name; /* metrics label and logs */
        int workers;      /* --concurrency; default 1 */
        reconcile_fn reconcile;
        void *userdata;
        struct metrics *metrics;
        struct wq_options queue; /* name and metrics filled in from the above */
};

struct controller;

int controller_new(const struct controller_options *o, struct controller **ret);
struct workqueue *controller_queue(struct controller *c);
int controller_start(struct controller *c);
/* Stop taking keys, let in-flight reconciles finish (at most timeout_ms), join the workers.
 * Returns true when everything finished in time. */
bool controller_stop(struct controller *c, long timeout_ms);
void controller_free(struct controller *c);
