/* SPDX-License-Identifier: Apache-2.0 */
/* The registry: every reconciler, in dependency order (what adding one takes: reconciler.h),
 * and the checks of the plug-in contract. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reconciler.h"

extern const struct reconciler reconciler_restore, reconciler_pki, reconciler_etcd,
        reconciler_apiserver, reconciler_kubeconfig, reconciler_encryption,
        reconciler_aggregated_apiserver, reconciler_kube_controller_manager,
        reconciler_controller_manager, reconciler_karmada_resources, reconciler_scheduler,
        reconciler_webhook, reconciler_descheduler, reconciler_search, reconciler_metrics_adapter,
        reconciler_feature_scheduler, reconciler_feature_quota, reconciler_feature_preemption,
        reconciler_feature_batch;

const struct reconciler *const registry_reconcilers[] = {
        &reconciler_restore,
        &reconciler_pki,
        &reconciler_etcd,
        &reconciler_apiserver,
        &reconciler_kubeconfig,
        &reconciler_encryption,
        &reconciler_aggregated_apiserver,
        &reconciler_karmada_resources,
        &reconciler_webhook,
        &reconciler_kube_controller_manager,
        &reconciler_controller_manager,
        &reconciler_scheduler,
        &reconciler_descheduler,
        &reconciler_search,
        &reconciler_metrics_adapter,
        /* features (spec.features): after the components they set gates on */
        &reconciler_feature_scheduler,
        &reconciler_feature_quota,
        &reconciler_feature_preemption,
        &reconciler_feature_batch,
        NULL,
};

const struct reconciler *registry_find(const char *name)
{
        for (const struct reconciler *const *r = registry_reconcilers; *r; r++)
                if (strcmp((*r)->name, name) == 0)
                        return *r;
        return NULL;
}

/* reg[n]'s name and feature key are not taken by one listed before it */
static int check_unique(const struct reconciler *const *reg, size_t n, char *err, size_t errlen)
{
        const struct karmada_feature *f = reg[n]->feature;

        for (size_t j = 0; j < n; j++) {
                if (strcmp(reg[j]->name, reg[n]->name) == 0) {
                        snprintf(err, errlen, "reconciler %s is listed twice", reg[n]->name);
                        return -EINVAL;
                }
                if (f && reg[j]->feature && strcmp(reg[j]->feature->key, f->key) == 0) {
                        snprintf(err, errlen, "reconcilers %s and %s both claim spec.features.%s",
                                 reg[j]->name, reg[n]->name, f->key);
                        return -EINVAL;
                }
        }
        if (f && (!f->key || !f->parse || !f->free)) {
                snprintf(err, errlen, "reconciler %s: its feature needs a key, parse and free",
                         reg[n]->name);
                return -EINVAL;
        }
        return 0;
}

/* reg[n]'s `after` and `upgrades_with` name reconcilers listed before it */
static int check_earlier(const struct reconciler *const *reg, size_t n, char *err, size_t errlen)
{
        const char *with = reg[n]->upgrades_with;
        bool found;

        for (const char *const *a = reg[n]->after; a && *a; a++) {
                found = false;
                for (size_t j = 0; j < n && !found; j++)
                        found = strcmp(reg[j]->name, *a) == 0;
                if (!found) {
                        snprintf(err, errlen,
                                 "reconciler %s comes after %s, which is not listed before it",
                                 reg[n]->name, *a);
                        return -EINVAL;
                }
        }
        found = !with;
        for (size_t j = 0; j < n && !found; j++)
                found = strcmp(reg[j]->name, with) == 0;
        if (!found) {
                snprintf(err, errlen,
                         "reconciler %s upgrades with %s, which is not listed before it",
                         reg[n]->name, with);
                return -EINVAL;
        }
        return 0;
}

int registry_check(const struct reconciler *const *reg, size_t limit, char *err, size_t errlen)
{
        size_t n = 0, features = 0;

        for (; reg[n]; n++) {
                if (n >= limit) {
                        snprintf(err, errlen, "more than %zu reconcilers: the driver holds %zu",
                                 limit, limit);
                        return -EINVAL;
                }
                if (check_unique(reg, n, err, errlen) < 0)
                        return -EINVAL;
                if (reg[n]->feature && ++features > KARMADA_MAX_FEATURES) {
                        snprintf(err, errlen, "more than %d features: a spec holds %d",
                                 KARMADA_MAX_FEATURES, KARMADA_MAX_FEATURES);
                        return -EINVAL;
                }
                if (check_earlier(reg, n, err, errlen) < 0)
                        return -EINVAL;
        }
        return 0;
}

static bool declares(const struct reconciler *rec, const struct kube_resource *r)
{
        for (const struct kube_resource *const *k = rec->karmada_kinds; k && *k; k++)
                if (*k == r)
                        return true;
        return false;
}

size_t registry_karmada_kinds(const struct kube_resource **out, size_t max)
{
        size_t n = 0;

        for (const struct reconciler *const *rec = registry_reconcilers; *rec; rec++)
                for (const struct kube_resource *const *k = (*rec)->karmada_kinds; k && *k; k++) {
                        bool seen = *k == &kube_namespaces;
                        for (size_t j = 0; j < n && !seen; j++)
                                seen = out[j] == *k;
                        if (!seen && n < max)
                                out[n++] = *k;
                }
        return n;
}

/* Every object a reconciler puts in the Karmada API server is of a kind it declared. */
static int check_kinds(const struct reconciler *rec, const struct desired *d, size_t from,
                       char *err, size_t errlen)
{
        for (size_t i = from; i < d->n; i++)
                if (d->objs[i].in_karmada && !declares(rec, d->objs[i].resource)) {
                        snprintf(err, errlen,
                                 "%s: adds a %s to the Karmada API server but does not declare "
                                 "it in karmada_kinds",
                                 rec->name, d->objs[i].resource->kind);
                        return -EINVAL;
                }
        return 0;
}

bool registry_enabled(const struct reconciler *r, const struct karmada *k)
{
        if (r->enabled)
                return r->enabled(k);
        return !r->feature || karmada_feature(k, r->feature->key);
}

int registry_parse(const cJSON *obj, struct karmada **ret, struct karmada_spec_error *err)
{
        const struct karmada_feature *features[KARMADA_MAX_FEATURES + 1];
        size_t n = 0;

        for (const struct reconciler *const *r = registry_reconcilers; *r; r++)
                if ((*r)->feature && n < KARMADA_MAX_FEATURES) /* registry_check keeps to it */
                        features[n++] = (*r)->feature;
        features[n] = NULL;
        return karmada_parse(obj, features, ret, err);
}

int registry_build_desired(const struct karmada *k, const struct observed *o,
                           enum pki_key_type keys, struct desired *d, char *err, size_t errlen)
{
        int r = desired_init(d, k, o);

        if (r < 0)
                return r;
        d->key_type = keys;
        for (const struct reconciler *const *rec = registry_reconcilers; *rec; rec++) {
                if (!registry_enabled(*rec, k) || !(*rec)->contribute)
                        continue;
                size_t from = d->n;
                d->owner = (*rec)->name;
                r = (*rec)->contribute(k, d);
                if (r < 0) /* what it said it waits for, when it did */
                        snprintf(err, errlen, "%s: %s", (*rec)->name,
                                 desired_waiting(d, (*rec)->name) ?: strerror(-r));
                else
                        r = check_kinds(*rec, d, from, err, errlen);
                if (r < 0) {
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
