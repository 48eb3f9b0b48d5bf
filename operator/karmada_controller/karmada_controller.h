/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada controller: watches Karmada objects and everything the operator creates for them,
 * walks the reconciler registry for each instance, applies only what differs from the live
 * state, and writes one status. */
#pragma once

#include "karmada/pki.h"
#include "runtime/manager.h"

struct karmada_controller_options {
        int workers;            /* --concurrency */
        enum pki_key_type keys; /* default key algorithm of new certificates */
        long resync_seconds;    /* periodic full reconcile; default 600 */
        long progress_seconds;  /* requeue while an instance is progressing; default 5 */
        const char *cache_dir;  /* downloads (CRD tarballs) */
        const char *namespace;  /* only Karmada objects of this namespace; NULL: all */
};

/* Register the informers and the controller with the manager (which runs and frees them). */
int karmada_controller_setup(struct manager *m, const struct karmada_controller_options *o);
