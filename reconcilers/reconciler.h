/* SPDX-License-Identifier: Apache-2.0 */
/* The plug-in point: one const table per reconciler, all listed in one registry. A reconciler
 * contributes objects, flags and feature gates to the desired state (pure code), and may have
 * side effects of its own (reconcile) and clean-up on deletion (finalize). The driver walks the
 * registry in order and applies a reconciler's objects only once every reconciler it comes
 * after is Ready.
 *
 * Adding a reconciler takes:
 *   1. one file in reconcilers/ (CMake picks up every .c there) defining its
 *      `const struct reconciler`: a unique name; `after`, naming only reconcilers listed before
 *      it; the kinds it puts in the Karmada API server (`karmada_kinds`: what it adds with
 *      desired_add_karmada, so that what it no longer wants there is pruned), declared in the
 *      file when they are its own; a condition if it reports one. A feature also names its
 *      block of spec.features (`feature`: the key, and its parse and free): the parse checks
 *      the block with the spec reader (problems name their fields and reach the status as
 *      InvalidSpec) and returns what the reconciler keeps, read back with karmada_feature();
 *      the reconciler is enabled while its block is there;
 *   2. one line in registry.c;
 *   3. for a feature, its block's schema: crds/src/features/<key>.yaml (hack/gen-crds.sh puts it
 *      under spec.features in the CRD).
 * feature_preemption.c is the smallest example of all three.
 * No plug-in calls another: what two of them share lives below them (operator/karmada/ or
 * common.c). test_registry checks the registry: unique names and feature keys, `after` pointing
 * backwards, no more reconcilers than the driver holds (KO_MAX_RECONCILERS) nor features than a
 * spec holds (KARMADA_MAX_FEATURES); registry_build_desired refuses an object in the Karmada API
 * server of a kind its reconciler did not declare.
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
        /* during an upgrade, applied in the same step as this earlier reconciler (its peer in a
         * protocol without version skew), not after it; NULL: in its own step */
        const char *upgrades_with;
        const char *condition; /* the status condition this step sets, or NULL */
        /* its StatefulSet's members vote (etcd): fewer ready than a majority is named as a lost
         * quorum, not as missing replicas */
        bool quorum;
        /* the kinds it adds to the Karmada API server (NULL-terminated; NULL: none) */
        const struct kube_resource *const *karmada_kinds;
        /* its block of spec.features (parsed by its own code), or NULL; a feature's reconciler
         * is enabled when its block is there, and reads it with karmada_feature(k, key) */
        const struct karmada_feature *feature;
        bool (*enabled)(const struct karmada *k); /* NULL: always (or by its feature block) */
        /* pure: add objects, flags and feature gates; desired_wait() when it cannot yet; NULL:
         * none (a step of its hook only) */
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

/* Check a registry: names unique, each `after` and `upgrades_with` naming a reconciler listed
 * before it, at most
 * `limit` entries. 0, or -EINVAL with err saying what is wrong. */
int registry_check(const struct reconciler *const *reg, size_t limit, char *err, size_t errlen);
/* The kinds the registry's reconcilers put in the Karmada API server, each once, namespaces
 * left out (never deleted): into out (at most max); how many. */
size_t registry_karmada_kinds(const struct kube_resource **out, size_t max);

const struct reconciler *registry_find(const char *name);
bool registry_enabled(const struct reconciler *r, const struct karmada *k);
/* karmada_parse with the registry's features (spec.features read by their reconcilers). */
int registry_parse(const cJSON *obj, struct karmada **ret, struct karmada_spec_error *err);

/* Build the whole desired state of k: every enabled reconciler contributes, then the command
 * lines are merged. Reconcilers that had to wait are in d->waiting. */
int registry_build_desired(const struct karmada *k, const struct observed *o,
                           enum pki_key_type keys, struct desired *d, char *err, size_t errlen);
