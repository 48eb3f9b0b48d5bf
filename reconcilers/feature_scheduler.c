/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.scheduler: the scheduler's plugins (--plugins, e.g. ["*", "-ClusterLocality"])
 * and SchedulingOvercommitProtection on the scheduler. Ready once the scheduler runs with them.
 * (The per-member scheduler-estimators are not deployed yet.) */
#include <stdlib.h>

#include "common.h"
#include "util/strbuf.h"

static bool scheduler_features_enabled(const struct karmada *k)
{
        return k->features.scheduler;
}

static int scheduler_features_contribute(const struct karmada *k, struct desired *d)
{
        static const enum ko_component sched[] = {KO_SCHEDULER, KO_N_COMPONENTS};
        const struct ko_features *f = &k->features;
        struct strbuf plugins = {0};
        const cJSON *p;
        int r = 0;

        if (f->overcommit_protection)
                r = ko_gate_on(d, "SchedulingOvercommitProtection", sched);
        cJSON_ArrayForEach(p, f->plugins)
                strbuf_printf(&plugins, "%s%s", plugins.len ? "," : "", p->valuestring);
        if (r >= 0 && plugins.len)
                r = desired_flag(d, KO_SCHEDULER, "plugins", plugins.buf);
        strbuf_free(&plugins);
        return r;
}

const struct reconciler ko_rec_feature_scheduler = {
        .name = "feature-scheduler",
        .after = (const char *const[]){"karmada-scheduler", NULL},
        .condition = "SchedulerFeaturesReady",
        .enabled = scheduler_features_enabled,
        .contribute = scheduler_features_contribute,
};
