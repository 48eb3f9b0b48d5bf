/* SPDX-License-Identifier: Apache-2.0 */
/* The status of a Karmada object as a pure function of what one reconcile found: the steps,
 * the plan (the spec, what runs, a rollback, an upgrade step's deadline) and the status before.
 * It sets the conditions (each step's, Ready, Degraded), observedGeneration, the versions,
 * lastReadySpec and the refs, and lists the Events to send; it reads no clock but the one
 * condition_set stamps lastTransitionTime with (only when a condition flips), and does no
 * I/O. The refusals (invalid spec, suspended, a change refused) are pure too. */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "karmada/spec.h"

struct step;

#define SUMMARY_MAX_EVENTS 48

struct summary_event {
        const char *type;   /* "Normal" or "Warning" */
        const char *action; /* "Reconcile", "Upgrade", "Validate" */
        char reason[64];
        char note[640];
};

struct summary_events {
        struct summary_event e[SUMMARY_MAX_EVENTS];
        int n;
};

struct summary_input {
        const struct step *steps;
        int n;
        const struct karmada *k;   /* the spec */
        const struct karmada *run; /* what runs: k, or the last Ready spec while rolling back */
        bool rollback;
        long long left;    /* ms before the upgrade step's deadline; 0: passed; -1: no upgrade */
        const cJSON *spec; /* the object's spec, as lastReadySpec once all is Ready */
        bool has_admin_config;        /* the admin kubeconfig Secret exists (status.secretRef) */
        bool has_apiserver_service;   /* the API server's Service exists (apiServerService) */
        const char *ca_phase;         /* a CA rotation under way: its phase, else NULL */
        bool ca_rotated;              /* this reconcile ended a CA rotation */
        const char *encryption_phase; /* a change of the encryption at rest under way, or NULL */
        bool encryption_rotated;      /* this reconcile ended one */
};

struct summary {
        bool all_ready, any_failed, any_degraded;
        struct summary_events events;
};

/* status (with a conditions array) becomes the new status. */
void summary_compute(const struct summary_input *in, cJSON *status, struct summary *out);
/* Ready=False with reason and message for generation; a Warning Event, if `report`, when the
 * reason is new. */
void summary_refused(cJSON *status, long long generation, const char *reason, const char *message,
                     bool report, struct summary_events *ev);
/* Suspended=True; nothing else changes. */
void summary_suspended(cJSON *status, long long generation);
/* The longest a Degraded instance, otherwise at rest, waits to be looked at again */
#define SUMMARY_DEGRADED_MAX_MS 300000L /* 5 minutes */
/* Looks at base_ms before backing off: a component starting makes an APIService unavailable
 * for a while, and that is seen soon */
#define SUMMARY_DEGRADED_STEADY_LOOKS 6
/* How long a Degraded instance otherwise at rest waits to be looked at again, after `looks`
 * such looks in a row: base_ms for the first SUMMARY_DEGRADED_STEADY_LOOKS, then doubled for
 * each, at most SUMMARY_DEGRADED_MAX_MS. What it waits on (an APIService its component
 * serves, a certificate it cannot renew) is outside the operator's hands, and a change of the
 * instance or of what it owns is a reconcile at once. */
long summary_degraded_requeue_ms(int looks, long base_ms);
/* Count a look at a Degraded instance in *count (kept across passes). `steady`: it is only
 * Degraded (all ready, nothing failed, nothing under way): the look counts, and the looks before
 * it are returned. Still Degraded but something not ready (a component crashing because of what
 * degrades it): not counted and not forgotten, -1; a crash loop does not bring the looks back
 * to every base period. No longer Degraded, or failed: the count starts again, -1. */
int summary_degraded_look(bool degraded, bool failed, bool steady, int *count);
/* A field of condition `type` in a conditions array ("" when there is none). */
const char *summary_cond_field(const cJSON *conds, const char *type, const char *field);
