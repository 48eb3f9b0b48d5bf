/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.preemption: priority and preemption. PriorityBasedScheduling on the
 * controller-manager and the scheduler (bindings carry their policy's priority and are
 * scheduled in its order), PropagationPolicyPreemption on the controller-manager (a policy of
 * higher priority with preemption: Always takes resources from one of lower priority), and the
 * PriorityClasses listed, in the Karmada API server. Ready once the components run with these
 * gates. From v1.19 PriorityBasedScheduling is on by default in Karmada: then
 * priorityBasedScheduling: false (said, not left out) turns it off. */
#include <stdlib.h>

#include "common.h"

struct preemption {
        bool priority_scheduling;      /* PriorityBasedScheduling */
        bool priority_said_off;        /* priorityBasedScheduling: false, given */
        bool policy_preemption;        /* PropagationPolicyPreemption */
        const cJSON *priority_classes; /* [{name, value, description}] */
};

static int preemption_parse(struct spec_reader *p, const struct karmada *k, const cJSON *c,
                            void **cfg)
{
        static const char *const pc_fields[] = {"value", NULL};
        struct preemption *f = calloc(1, sizeof(*f));
        const cJSON *e;

        (void)k;
        if (!f)
                return -ENOMEM;
        *cfg = f;
        f->priority_scheduling =
                spec_bool(p, c, "priorityBasedScheduling",
                          "spec.features.preemption.priorityBasedScheduling", false);
        f->priority_said_off = !f->priority_scheduling && spec_get(c, "priorityBasedScheduling");
        f->policy_preemption = spec_bool(p, c, "policyPreemption",
                                         "spec.features.preemption.policyPreemption", false);
        f->priority_classes = spec_named_list(
                p, c, "priorityClasses", "spec.features.preemption.priorityClasses", pc_fields);
        cJSON_ArrayForEach (e, f->priority_classes) {
                const cJSON *v = spec_get(e, "value");
                if (v && (!cJSON_IsNumber(v) || v->valuedouble > 1000000000 ||
                          v->valuedouble < -2147483648.0 ||
                          v->valuedouble != (double)(long)v->valuedouble))
                        spec_problem(p, "spec.features.preemption.priorityClasses",
                                     "value must be an integer of at most 1000000000");
        }
        return 0;
}

static int preemption_contribute(const struct karmada *k, struct desired *d)
{
        static const enum names_component priority[] = {KO_CONTROLLER_MANAGER, KO_SCHEDULER,
                                                        KO_N_COMPONENTS};
        static const enum names_component preempt[] = {KO_CONTROLLER_MANAGER, KO_N_COMPONENTS};
        const struct preemption *f = karmada_feature(k, "preemption");
        const cJSON *pc;
        int r = 0;

        if (f->priority_scheduling)
                r = common_gate_on(d, "PriorityBasedScheduling", priority);
        else if (f->priority_said_off &&
                 release_gate_default_on(&k->release, "PriorityBasedScheduling"))
                for (const enum names_component *c = priority; r >= 0 && *c != KO_N_COMPONENTS; c++)
                        r = desired_gate(d, *c, "PriorityBasedScheduling", false);
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
        .feature = &(const struct karmada_feature){"preemption", preemption_parse, free},
        .contribute = preemption_contribute,
};
