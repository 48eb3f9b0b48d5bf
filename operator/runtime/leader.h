/* SPDX-License-Identifier: Apache-2.0 */
/* Leader election on a coordination.k8s.io/v1 Lease, updated with resourceVersion
 * compare-and-swap (client-go's algorithm: the lease counts as expired when its record has
 * not changed for leaseDuration by our own clock). */
#pragma once

#include <stdbool.h>

#include "kube/client.h"
#include "metrics.h"

struct leader_options {
        struct kube_client *client;
        const char *namespace;
        const char *name;       /* the Lease */
        const char *identity;   /* default: hostname + "_" + random */
        long lease_duration_ms; /* default 15 s */
        long renew_deadline_ms; /* default 10 s */
        long retry_period_ms;   /* default 2 s */
        void (*on_started_leading)(void *userdata);
        void (*on_stopped_leading)(void *userdata); /* lost (not on release) */
        void *userdata;
        struct metrics *metrics; /* leader_election_master_status */
};

struct leader;

int leader_new(const struct leader_options *o, struct leader **ret);
int leader_start(struct leader *l);
/* Stop the elector; when leading, give the lease up so a standby takes over at once. */
void leader_release(struct leader *l);
void leader_free(struct leader *l);
bool leader_is_leader(struct leader *l);
const char *leader_identity(const struct leader *l);
