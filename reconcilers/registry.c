/* SPDX-License-Identifier: Apache-2.0 */
/* The registry: every reconciler, in dependency order. A new reconciler is one file and one
 * line here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reconciler.h"

extern const struct reconciler ko_rec_restore, ko_rec_pki, ko_rec_etcd, ko_rec_apiserver,
        ko_rec_kubeconfig, ko_rec_aggregated_apiserver, ko_rec_kube_controller_manager,
        ko_rec_controller_manager, ko_rec_karmada_resources, ko_rec_scheduler, ko_rec_webhook,
        ko_rec_descheduler, ko_rec_search, ko_rec_metrics_adapter, ko_rec_feature_scheduler,
        ko_rec_feature_quota, ko_rec_feature_preemption, ko_rec_feature_batch;

const struct reconciler *const ko_reconcilers[] = {
        &ko_rec_restore,
        &ko_rec_pki,
        &ko_rec_etcd,
        &ko_rec_apiserver,
        &ko_rec_kubeconfig,
        &ko_rec_aggregated_apiserver,
        &ko_rec_karmada_resources,
        &ko_rec_webhook,
        &ko_rec_kube_controller_manager,
        &ko_rec_controller_manager,
        &ko_rec_scheduler,
        &ko_rec_descheduler,
        &ko_rec_search,
        &ko_rec_metrics_adapter,
        /* features (spec.features): after the components they set gates on */
        &ko_rec_feature_scheduler,
        &ko_rec_feature_quota,
        &ko_rec_feature_preemption,
        &ko_rec_feature_batch,
        NULL,
};

const struct reconciler *ko_reconciler_find(const char *name)
{
        for (const struct reconciler *const *r = ko_reconcilers; *r; r++)
                if (strcmp((*r)->name, name) == 0)
                        return *r;
        return NULL;
}

bool ko_reconciler_enabled(const struct reconciler *r, const struct karmada *k)
{
        return !r->enabled || r->enabled(k);
}

int ko_build_desired(const struct karmada *k, const struct observed *o, enum pki_key_type keys,
                     struct desired *d, char *err, size_t errlen)
{
        int r = desired_init(d, k, o);

        if (r < 0)
                return r;
        d->key_type = keys;
        for (const struct reconciler *const *rec = ko_reconcilers; *rec; rec++) {
                if (!ko_reconciler_enabled(*rec, k) || !(*rec)->contribute)
                        continue;
                d->owner = (*rec)->name;
                r = (*rec)->contribute(k, d);
                if (r < 0) {
                        snprintf(err, errlen, "%s: %s", (*rec)->name, strerror(-r));
                        desired_free(d);
                        return r;
                }
        }
        d->owner = "";
        r = desired_finish(d);
        if (r < 0) {
                snprintf(err, errlen, "merging command lines: %s", strerror(-r));
                desired_free(d);
        }
        return r;
}
