/* SPDX-License-Identifier: Apache-2.0 */
/* Runs everything an operator process is made of: informers (on every replica, so a standby
 * is warm), controllers (only while leading), leader election, the HTTP endpoints, systemd
 * notifications, periodic work (resync, event flush, watchdog) and orderly shutdown on
 * SIGTERM/SIGINT. */
#pragma once

#include <stdbool.h>

#include "controller.h"
#include "events.h"
#include "informer.h"
#include "kube/client.h"
#include "metrics.h"

struct manager_options {
        struct kube_config *config; /* borrowed */
        double qps;                 /* client-side limit for the API client */
        int burst;
        const char *metrics_address; /* default ":8080"; "0" disables */
        const char *probe_address;   /* default ":8081"; "0" disables */
        bool leader_elect;
        const char *leader_namespace; /* default: the kubeconfig namespace */
        const char *leader_name;      /* default "karmada-operator" */
        long lease_duration_ms, renew_deadline_ms, retry_period_ms;
        long shutdown_timeout_ms; /* for in-flight reconciles; default 3000 */
};

struct manager;

/* Blocks SIGTERM and SIGINT in the calling thread (and so in every thread created later):
 * call it first in main(). */
int manager_new(const struct manager_options *o, struct manager **ret);
void manager_free(struct manager *m);

struct kube_client *manager_client(struct manager *m);
struct metrics *manager_metrics(struct manager *m);
struct event_recorder *manager_events(struct manager *m);
/* Count another client's requests in rest_client_* too (e.g. one per Karmada API server). */
void manager_observe_client(struct manager *m, struct kube_client *c);
/* The manager runs and frees them. */
int manager_add_informer(struct manager *m, struct informer *inf);
int manager_add_controller(struct manager *m, struct controller *c);

/* Call fn(data) when the manager stops, once the controllers' workers have stopped and before
 * the informers stop: for parts a controller started itself (in the order added). */
int manager_add_stopper(struct manager *m, void (*fn)(void *data), void *data);
/* Call fn(data) when the manager is freed, after its parts (last added, first called). */
int manager_add_cleanup(struct manager *m, void (*fn)(void *data), void *data);

/* Run until SIGTERM/SIGINT (returns 0, after a graceful stop). Leadership lost: the process
 * exits 1 at once (in-flight reconciles are abandoned: they would act without the lease). */
int manager_run(struct manager *m);
/* Ask manager_run() to return (as on SIGTERM); callable from any thread. */
void manager_request_stop(struct manager *m);
