/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.preemption: priority and preemption. PriorityBasedScheduling on the
 * controller-manager and the scheduler (bindings carry their policy's priority and are
 * scheduled in its order), PropagationPolicyPreemption on the controller-manager (a policy of
 * higher priority with preemption: Always takes resources from one of lower priority), and the
 * PriorityClasses listed, in the Karmada API server. Ready once the components run with these
 * gates. */
#include "common.h"

static bool preemption_enabled(const struct karmada *k)
{
        return k->features.preemption;
}

static int preemption_contribute(const struct karmada *k, struct desired *d)
{
        static const enum names_component priority[] = {KO_CONTROLLER_MANAGER, KO_SCHEDULER,
                                                        KO_N_COMPONENTS};
        static const enum names_component preempt[] = {KO_CONTROLLER_MANAGER, KO_N_COMPONENTS};
        const struct karmada_features *f = &k->features;
        const cJSON *pc;
        int r = 0;

        if (f->priority_scheduling)
                r = common_gate_on(d, "PriorityBasedScheduling", priority);
        if (r >= 0 && f->policy_preemption)
                r = common_gate_on(d, "PropagationPolicyPreemption", preempt);
        cJSON_ArrayForEach (pc, f->priority_classes) {
                if (r >= 0)
                        r = common_add_feature_object(d, k, &kube_priorityclasses, pc, NULL,
                                                      "karmada-preemption");
        }
        return r;
}

const struct reconciler reconciler_feature_preemption = {
        .name = "feature-preemption",
        .after = (const char *const[]){"karmada-controller-manager", "karmada-scheduler", NULL},
        .condition = "PreemptionReady",
        .karmada_kinds = (const struct kube_resource *const[]){&kube_priorityclasses, NULL},
        .enabled = preemption_enabled,
        .contribute = preemption_contribute,
};
