/* SPDX-License-Identifier: Apache-2.0 */
/* An events.k8s.io/v1 recorder. Recording never blocks on the API: events are queued and
 * sent by events_flush() (the manager calls it every second). A repeat of the same event
 * (same object, type, reason, action and note) is folded into the first one's `series`. */
#pragma once

#include <cjson/cJSON.h>

#include "kube/client.h"
#include "runtime/metrics.h"

struct events_options {
        struct kube_client *client;
        const char *controller;  /* reportingController, e.g. "karmada-operator" */
        const char *instance;    /* reportingInstance, e.g. the leader identity */
        long series_interval_ms; /* least time between series updates of one event; default 30 s */
        struct metrics *metrics; /* optional: karmada_operator_events_total{type,reason} */
};

struct event_recorder;

int events_new(const struct events_options *o, struct event_recorder **ret);
void events_free(struct event_recorder *r);
/* regarding: the object the event is about (apiVersion, kind, metadata.{namespace,name,uid}).
 * type "Normal" or "Warning"; reason and action are CamelCase words. Accepts a NULL r. */
void events_record(struct event_recorder *r, const cJSON *regarding, const char *type,
                   const char *reason, const char *action, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
/* Send what is pending (creates, and series updates at most every 30 s per event). A request
 * answered 4xx (the namespace or Event gone, the namespace terminating, refused) is dropped; one
 * that failed otherwise is sent again after a backoff (1 s doubling to 60 s), at most 6 times.
 * An event not recorded again for 30 minutes is forgotten, sent or not. */
void events_flush(struct event_recorder *r);
