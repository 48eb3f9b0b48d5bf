/* SPDX-License-Identifier: Apache-2.0 */
/* The gates a parsed spec passes before anything is applied, in order. Each says "go on", or
 * stops the reconcile having said why in the status: suspended; a version the running one cannot
 * reach; a change of version or images, which is an upgrade (or its rollback, once it failed);
 * and the backup an upgrade may wait for. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/versions.h"
#include "runtime/log.h"

static cJSON *conds(struct pass *p)
{
        return cJSON_GetObjectItemCaseSensitive(p->status, "conditions");
}

static enum phase suspended(struct pass *p)
{
        struct kube_status st;

        if (!p->k->suspend) {
                condition_remove(conds(p), "Suspended");
                return PHASE_GO;
        }
        summary_suspended(p->status, p->k->generation);
        if (status_write(p->kc, kobj_json(p->obj), p->status, &st) < 0)
                log_warn("write status", "karmada", p->key, "error", st.message);
        return PHASE_STOP;
}

/* The upgrade policy, on the Karmada releases (a KarmadaRelease's spec.version, not its
 * name): what ran when last Ready, else what status.karmadaVersion names. */
static enum phase version_skew(struct pass *p)
{
        const char *running =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p->status, "karmadaVersion"));
        struct karmada_release r;
        char msg[1024];

        if (p->last)
                running = p->last->release.karmada;
        else if (running && release_resolve_named(running, &r, msg, sizeof(msg)) == 0)
                running = r.karmada;
        if (release_upgrade_check(running, p->k->release.karmada, p->k->allow_downgrade, msg,
                                  sizeof(msg)) == 0)
                return PHASE_GO;
        status_refuse(p, "UpgradeRefused", msg, true);
        return PHASE_STOP;
}

/* A change of version or images is an upgrade: checked, ordered, rolled back when a step does
 * not finish in time (then what runs is the last spec that was Ready). */
static enum phase upgrade(struct pass *p)
{
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(condition_get(conds(p), "Upgrading"),
                                                          "observedGeneration");

        if (!p->last ||
            (strcmp(p->last->version, p->k->version) == 0 && !upgrade_image_change(p->last, p->k)))
                return PHASE_GO;
        p->upgrading = true;
        p->rollback =
                strcmp(summary_cond_field(conds(p), "Upgrading", "reason"), "UpgradeFailed") == 0 &&
                cJSON_IsNumber(g) && (long long)g->valuedouble == p->k->generation;
        return PHASE_GO;
}

static enum phase pre_upgrade_backup(struct pass *p)
{
        struct kube_status st;
        char msg[1024];
        int r;

        if (!p->upgrading || p->rollback)
                return PHASE_GO;
        r = upgrade_pre_backup(p->kc, kobj_json(p->obj), p->k, msg, sizeof(msg));
        if (r == 0)
                return PHASE_GO;
        if (r < 0) {
                status_refuse(p, "PreUpgradeBackupFailed", msg, true);
                return PHASE_STOP;
        }
        /* the upgrade waits; the instance stays as it runs */
        condition_set(conds(p), "Upgrading", KO_TRUE, "BackingUp", msg, p->k->generation);
        if (status_write(p->kc, kobj_json(p->obj), p->status, &st) < 0)
                log_warn("write status", "karmada", p->key, "error", st.message);
        p->out->result = RECONCILE_REQUEUE_AFTER;
        p->out->requeue_after_ms = 2000;
        return PHASE_STOP;
}

enum phase gates_run(struct pass *p)
{
        static enum phase (*const gates[])(struct pass *) = {suspended, version_skew, upgrade,
                                                             pre_upgrade_backup};

        p->last = upgrade_last_ready(kobj_json(p->obj), p->status);
        for (size_t i = 0; i < sizeof(gates) / sizeof(gates[0]); i++)
                if (gates[i](p) == PHASE_STOP)
                        return PHASE_STOP;
        return PHASE_GO;
}
