/* SPDX-License-Identifier: Apache-2.0 */
/* The plug-in point: one const table per reconciler, all listed in one registry. A reconciler
 * contributes objects, flags and feature gates to the desired state (pure code), and may have
 * side effects of its own (reconcile) and clean-up on deletion (finalize). The driver walks the
 * registry in order and applies a reconciler's objects only once every reconciler it comes
 * after is Ready.
 *
 * Adding a reconciler takes:
 *   1. one file in reconcilers/ (added to KO_RECONCILER_SOURCES in reconcilers/CMakeLists.txt)
 *      defining its `const struct reconciler`: a unique name; `after`, naming only reconcilers
 *      listed before it; the kinds it puts in the Karmada API server (`karmada_kinds`: what it
 *      adds with desired_add_karmada, so that what it no longer wants there is pruned); a
 *      condition if it reports one;
 *   2. one line in registry.c;
 *   3. for a feature, its block in the CRD schema (crds/src/karmadas.yaml) and its fields in the
 *      spec (operator/karmada/spec.c).
 * No plug-in calls another: what two of them share lives below them (operator/karmada/ or
 * common.c). test_registry checks the registry: unique names, `after` pointing backwards, no more
 * reconcilers than the driver holds (KO_MAX_RECONCILERS); registry_build_desired refuses an object
 * in the Karmada API server of a kind its reconciler did not declare.
 *
 * Concurrency: the hooks of different instances run at once (--concurrency workers); the hooks
 * of one instance never do (the work queue hands a key to one worker at a time). Hooks keep no
 * state in the table; per-instance state is the memo they are given. */
#pragma once

#include <stdbool.h>

#include "karmada/desired.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "runtime/events.h"

/* What a reconcile hook remembers of one instance between reconciles (e.g. a fingerprint of
 * what it applied, so an unchanged instance costs no request). */
struct reconciler_memo {
        char value[160];
        long long at_ms; /* monotonic time it was set */
};

/* What a reconcile hook may use. */
struct reconcile_ctx {
        const struct karmada *k;
        struct desired *d;
        struct kube_client *host;    /* the cluster the control plane runs in */
        struct kube_client *karmada; /* the instance's Karmada API server (admin kubeconfig);
                                      * NULL for host_only reconcilers */
        struct event_recorder *events;
        struct reconciler_memo *memo; /* this reconciler's, for this instance */
        long long resync_ms;          /* how long a memo may be trusted before checking again */
        const char *cache_dir;        /* where downloads are kept (CRD tarballs) */
};

struct step_result {
        bool ready;      /* this step is done */
        bool degraded;   /* ready, but something it made does not work (reason, message) */
        char reason[64]; /* CamelCase, for its condition */
        char message[512];
        long requeue_after_ms; /* 0: the watches will bring the next change */
};

struct reconciler {
        const char *name;
        const char *const *after; /* reconcilers that must be Ready first (NULL-terminated) */
        const char *condition;    /* the status condition this step sets, or NULL */
        /* the kinds it adds to the Karmada API server (NULL-terminated; NULL: none) */
        const struct kube_resource *const *karmada_kinds;
        bool (*enabled)(const struct karmada *k);
        /* pure: add objects, flags and feature gates; desired_wait() when it cannot yet */
        int (*contribute)(const struct karmada *k, struct desired *d);
        /* side effects after its objects are applied and rolled out; NULL when none */
        int (*reconcile)(struct reconcile_ctx *ctx, struct step_result *ret);
        /* its hook talks to the host cluster only (ctx->karmada is NULL): it runs before the
         * Karmada API server exists; such a step adds no objects to the Karmada API server */
        bool host_only;
        /* on deletion: clean what garbage collection cannot reach; NULL when nothing */
        int (*finalize)(struct reconcile_ctx *ctx);
};

/* The most reconcilers the driver holds in one reconcile. */
#define KO_MAX_RECONCILERS 32

/* The registry, in dependency order, NULL-terminated. */
extern const struct reconciler *const registry_reconcilers[];

/* Check a registry: names unique, each `after` naming a reconciler listed before it, at most
 * `limit` entries. 0, or -EINVAL with err saying what is wrong. */
int registry_check(const struct reconciler *const *reg, size_t limit, char *err, size_t errlen);
/* The kinds the registry's reconcilers put in the Karmada API server, each once, namespaces
 * left out (never deleted): into out (at most max); how many. */
size_t registry_karmada_kinds(const struct kube_resource **out, size_t max);

const struct reconciler *registry_find(const char *name);
bool registry_enabled(const struct reconciler *r, const struct karmada *k);

/* Build the whole desired state of k: every enabled reconciler contributes, then the command
 * lines are merged. Reconcilers that had to wait are in d->waiting. */
int registry_build_desired(const struct karmada *k, const struct observed *o,
                           enum pki_key_type keys, struct desired *d, char *err, size_t errlen);
