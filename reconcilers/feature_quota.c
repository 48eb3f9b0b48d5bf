/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.quota: federated resource quotas that are enforced. FederatedQuotaEnforcement
 * on the controller-manager (it tracks usage) and the webhook (it refuses bindings over quota),
 * ResourceQuotaEstimate on the controller-manager (the estimators take it from
 * spec.features.scheduler.estimator), the sync period, and the FederatedResourceQuotas listed,
 * in the Karmada API server (their namespaces must exist there). Ready once the components
 * run with these gates. */
#include "common.h"

static bool quota_enabled(const struct karmada *k)
{
        return k->features.quota;
}

static int quota_contribute(const struct karmada *k, struct desired *d)
{
        static const enum names_component enforce[] = {KO_CONTROLLER_MANAGER, KO_WEBHOOK,
                                                       KO_N_COMPONENTS};
        static const enum names_component estimate[] = {KO_CONTROLLER_MANAGER, KO_N_COMPONENTS};
        const struct karmada_features *f = &k->features;
        const cJSON *q;
        int r = 0;

        if (f->quota_enforcement)
                r = common_gate_on(d, "FederatedQuotaEnforcement", enforce);
        if (r >= 0 && f->quota_estimate)
                r = common_gate_on(d, "ResourceQuotaEstimate", estimate);
        if (r >= 0 && f->quota_sync)
                r = desired_flag(d, KO_CONTROLLER_MANAGER, "federated-resource-quota-sync-period",
                                 f->quota_sync);
        cJSON_ArrayForEach (q, f->frqs) {
                const cJSON *ns = cJSON_GetObjectItemCaseSensitive(q, "namespace");
                if (r >= 0)
                        r = common_add_feature_object(
                                d, k, &karmada_frqs, q,
                                cJSON_IsString(ns) ? ns->valuestring : "default", "karmada-quota");
        }
        return r;
}

const struct reconciler reconciler_feature_quota = {
        .name = "feature-quota",
        .after = (const char *const[]){"karmada-resources", "karmada-controller-manager",
                                       "karmada-webhook", NULL},
        .condition = "QuotaEnforcementReady",
        .karmada_kinds = (const struct kube_resource *const[]){&karmada_frqs, NULL},
        .enabled = quota_enabled,
        .contribute = quota_contribute,
};
