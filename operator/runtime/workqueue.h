/* SPDX-License-Identifier: Apache-2.0 */
/* A de-duplicating, rate-limited work queue of string keys (client-go's semantics): a key
 * queued twice before it is taken is processed once; a key is never handed to two workers at
 * once; a key added while it is being processed is processed again afterwards. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

struct wq_options {
        const char *name;        /* metrics label; default "default" */
        long base_delay_ms;      /* per-item backoff start; default 5 ms */
        long max_delay_ms;       /* per-item backoff cap; default 1000 s */
        double qps;              /* overall token bucket; default 10/s */
        int burst;               /* default 100 */
        struct metrics *metrics; /* optional: workqueue_* families */
};

struct workqueue;

int wq_new(const struct wq_options *o, struct workqueue **ret);
/* Accepts NULL; shuts down first. */
void wq_free(struct workqueue *q);

void wq_add(struct workqueue *q, const char *key);
/* Add when delay_ms have passed (a key already waiting keeps the earlier time). */
void wq_add_after(struct workqueue *q, const char *key, long delay_ms);
/* Add after the larger of the key's exponential backoff (base * 2^failures, capped) and the
 * overall token bucket's delay; counts a failure for the key. */
void wq_add_rate_limited(struct workqueue *q, const char *key);
/* Reset the key's failure count (after a success). */
void wq_forget(struct workqueue *q, const char *key);
int wq_num_requeues(struct workqueue *q, const char *key);

/* Block until a key is ready; the caller owns it and must pass it to wq_done(). Returns NULL
 * once the queue is shut down and holds nothing ready. */
char *wq_get(struct workqueue *q);
/* Processing of key finished; frees key. */
void wq_done(struct workqueue *q, char *key);

/* Stop accepting keys. Delayed keys are dropped; ready keys too when discard_ready, else
 * wq_get() still hands them out before returning NULL. Keys being processed finish:
 * wq_wait_idle() waits for them. */
void wq_shutdown(struct workqueue *q, bool discard_ready);
/* Wait until no key is being processed, at most timeout_ms; true when drained. */
bool wq_wait_idle(struct workqueue *q, long timeout_ms);
bool wq_shutting_down(struct workqueue *q);
/* Keys ready to be taken. */
size_t wq_len(struct workqueue *q);

/* The per-item backoff in milliseconds after `failures` failures (pure). */
long wq_backoff_ms(int failures, long base_ms, long max_ms);
