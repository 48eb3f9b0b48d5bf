/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.quota: federated resource quotas that are enforced. FederatedQuotaEnforcement
 * on the controller-manager (it tracks usage) and the webhook (it refuses bindings over quota),
 * ResourceQuotaEstimate on the controller-manager (the estimators take it from
 * spec.features.scheduler.estimator), the sync period, and the FederatedResourceQuotas listed,
 * in the Karmada API server (their namespaces must exist there). Ready once the components
 * run with these gates. */
#include <stdlib.h>

#include "common.h"
#include "util/duration.h"

static const struct kube_resource frqs = {
        "policy.karmada.io", "v1alpha1", "federatedresourcequotas", "FederatedResourceQuota", true};

struct quota {
        bool enforcement;  /* FederatedQuotaEnforcement */
        bool estimate;     /* ResourceQuotaEstimate */
        const char *sync;  /* --federated-resource-quota-sync-period, or NULL */
        const cJSON *frqs; /* FederatedResourceQuotas: [{name, namespace, spec}] */
};

static int quota_parse(struct spec_reader *p, const struct karmada *k, const cJSON *c, void **cfg)
{
        static const char *const frq_fields[] = {"namespace", "spec", NULL};
        struct quota *f = calloc(1, sizeof(*f));
        long ms;

        (void)k;
        if (!f)
                return -ENOMEM;
        f->enforcement = spec_bool(p, c, "enforcement", "spec.features.quota.enforcement", false);
        f->estimate = spec_bool(p, c, "estimate", "spec.features.quota.estimate", false);
        f->sync = spec_str(p, c, "syncPeriod", "spec.features.quota.syncPeriod");
        if (f->sync && (duration_parse_ms(f->sync, &ms) < 0 || ms < 1000))
                spec_problem(p, "spec.features.quota.syncPeriod",
                             "\"%s\" is not a duration of at least 1s (like 5m)", f->sync);
        f->frqs = spec_named_list(p, c, "federatedResourceQuotas",
                                  "spec.features.quota.federatedResourceQuotas", frq_fields);
        *cfg = f;
        return 0;
}

static int quota_contribute(const struct karmada *k, struct desired *d)
{
        static const enum names_component enforce[] = {KO_CONTROLLER_MANAGER, KO_WEBHOOK,
                                                       KO_N_COMPONENTS};
        static const enum names_component estimate[] = {KO_CONTROLLER_MANAGER, KO_N_COMPONENTS};
        const struct quota *f = karmada_feature(k, "quota");
        const cJSON *q;
        int r = 0;

        if (f->enforcement)
                r = common_gate_on(d, "FederatedQuotaEnforcement", enforce);
        if (r >= 0 && f->estimate)
                r = common_gate_on(d, "ResourceQuotaEstimate", estimate);
        if (r >= 0 && f->sync)
                r = desired_flag(d, KO_CONTROLLER_MANAGER, "federated-resource-quota-sync-period",
                                 f->sync);
        cJSON_ArrayForEach (q, f->frqs) {
                const cJSON *ns = cJSON_GetObjectItemCaseSensitive(q, "namespace");
                if (r >= 0)
                        r = common_add_feature_object(
                                d, k, &frqs, q, cJSON_IsString(ns) ? ns->valuestring : "default",
                                "karmada-quota");
        }
        return r;
}

const struct reconciler reconciler_feature_quota = {
        .name = "feature-quota",
        .after = (const char *const[]){"karmada-resources", "karmada-controller-manager",
                                       "karmada-webhook", NULL},
        .condition = "QuotaEnforcementReady",
        .karmada_kinds = (const struct kube_resource *const[]){&frqs, NULL},
        .feature = &(const struct karmada_feature){"quota", quota_parse, free},
        .contribute = quota_contribute,
};
