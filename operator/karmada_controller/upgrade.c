/* SPDX-License-Identifier: Apache-2.0 */
/* Upgrades: the last spec that was Ready, what changed since, the backup an upgrade may wait
 * for, and the progress of the ordered rollout against each step's deadline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "karmada/backup_spec.h"
#include "karmada/conditions.h"
#include "runtime/log.h"
#include "util/timeutil.h"

/* The spec that was last all Ready (status.lastReadySpec), parsed; NULL when there is none or
 * when it is the spec itself (the steady state: nothing to compare, nothing to parse twice). */
struct karmada *upgrade_last_ready(const cJSON *cr, const cJSON *status)
{
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(status, "lastReadySpec");
        struct karmada *k = NULL;
        cJSON *copy;

        if (!cJSON_IsObject(spec) ||
            cJSON_Compare(spec, cJSON_GetObjectItemCaseSensitive(cr, "spec"), true) ||
            !(copy = cJSON_Duplicate(cr, true)))
                return NULL;
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "status");
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "spec");
        cJSON_AddItemToObject(copy, "spec", cJSON_Duplicate(spec, true));
        if (registry_parse(copy, &k, NULL) < 0)
                k = NULL;
        cJSON_Delete(copy);
        return k;
}

/* The first component whose image differs between a and b, or NULL. */
const char *upgrade_image_change(const struct karmada *a, const struct karmada *b)
{
        for (int i = 0; i < KO_N_COMPONENTS; i++)
                if (a->comp[i].enabled && b->comp[i].enabled &&
                    strcmp(a->comp[i].image, b->comp[i].image) != 0)
                        return names_components[i].spec_key;
        return NULL;
}

/* How the backup before a change went: 0 Completed, -1 Failed, 1 not finished (msg says). */
static int backup_state(const cJSON *b, const struct pre_change *c, const char *name, char *msg,
                        size_t size)
{
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(b, "status");
        const char *phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "phase"));
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "message"));

        if (phase && strcmp(phase, "Completed") == 0)
                return 0;
        if (phase && strcmp(phase, "Failed") == 0) {
                snprintf(msg, size,
                         "the backup before %s failed (KarmadaBackup %s: %s); nothing changed. "
                         "Delete it to try again, or remove the annotation %s",
                         c->what, name, why ? why : "no message", c->annotation);
                return -1;
        }
        snprintf(msg, size, "backing up before %s: KarmadaBackup %s is %s%s%s", c->what, name,
                 phase ? phase : "new", why ? ": " : "", why ? why : "");
        return 1;
}

/* The backup from the schedule's template, of this instance. */
static int create_pre_backup(struct kctl *kc, const struct karmada *k, const struct pre_change *c,
                             const char *sched, const char *name, char *msg, size_t size)
{
        struct kube_status st;
        cJSON *s = NULL, *obj;
        int r = kube_get(kc->client, &karmada_backupschedules, k->namespace, sched, &s, &st);

        if (r < 0) {
                snprintf(msg, size, "metadata.annotations[%s]: KarmadaBackupSchedule %s: %s",
                         c->annotation, sched, r == -ENOENT ? "not found" : st.message);
                return r == -ENOENT ? -1 : 1;
        }
        obj = backup_spec_from_template(s, name, k->name);
        cJSON_Delete(s);
        if (!obj) {
                snprintf(msg, size, "out of memory");
                return 1;
        }
        cJSON_AddStringToObject(
                cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                        "labels"),
                c->label, k->name);
        r = kube_create(kc->client, &karmada_backups, k->namespace, obj, NULL, NULL, &st);
        cJSON_Delete(obj);
        if (r < 0 && r != -EEXIST) {
                snprintf(msg, size, "create KarmadaBackup %s: %s", name, st.message);
                return r == -EINVAL ? -1 : 1;
        }
        snprintf(msg, size, "backing up before %s: KarmadaBackup %s created", c->what, name);
        return 1;
}

int pre_change_backup(struct kctl *kc, const cJSON *cr, const struct karmada *k,
                      const struct pre_change *c, char *msg, size_t size)
{
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "annotations");
        const char *sched =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, c->annotation));
        char name[256], suffix[64];
        struct kube_status st;
        cJSON *b = NULL;
        int r;

        if (!sched || !*sched)
                return 0;
        snprintf(suffix, sizeof(suffix), "%s", c->suffix);
        for (char *p = suffix; *p; p++)
                if (*p == '.' || *p == '+' || *p == '_')
                        *p = '-';
        snprintf(name, sizeof(name), "%.60s-pre-%s-g%lld", k->name, suffix, k->generation);
        for (char *p = name; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        r = kube_get(kc->client, &karmada_backups, k->namespace, name, &b, &st);
        if (r == 0) {
                r = backup_state(b, c, name, msg, size);
                cJSON_Delete(b);
                return r;
        }
        if (r != -ENOENT) {
                snprintf(msg, size, "get KarmadaBackup %s: %s", name, st.message);
                return 1;
        }
        return create_pre_backup(kc, k, c, sched, name, msg, size);
}

int upgrade_pre_backup(struct kctl *kc, const cJSON *cr, const struct karmada *k, char *msg,
                       size_t size)
{
        char what[96];

        snprintf(what, sizeof(what), "the upgrade to %s", k->version);
        return pre_change_backup(
                kc, cr, k,
                &(struct pre_change){.annotation = KO_BACKUP_BEFORE_UPGRADE_ANNOTATION,
                                     .what = what,
                                     .suffix = k->version,
                                     .label = "operator.karmada.io/pre-upgrade"},
                msg, size);
}

/* After a pass of an upgrade: an Event for each step that finished (in order), the Upgrading
 * condition, and the deadline of the step it waits for. Returns the milliseconds left before
 * that deadline, 0 when it has passed (the caller rolls back), -1 when the upgrade is done. */
static long long upgrade_progress(struct kctl *kc, const cJSON *cr, cJSON *conds, struct plane *p,
                                  const char *from, const struct karmada *k,
                                  const struct step *steps, int n)
{
        long long now = time_mono_ms(), left;
        int cur = n, total = 0, cur_pos = 0;
        char msg[1024];

        if (p->upgrade.generation != k->generation) {
                p->upgrade.generation = k->generation;
                p->upgrade.step = -1;
                p->upgrade.done = 0;
        }
        for (int i = 0; i < n; i++)
                if (steps[i].enabled && ++total && cur == n && !steps[i].ready)
                        cur = i, cur_pos = total;
        for (int i = 0, pos = 0; i < n; i++)
                if (steps[i].enabled && ++pos && i >= p->upgrade.done && i < cur)
                        events_record(kc->events, cr, "Normal", "UpgradeStep", "Upgrade",
                                      "step %d of %d: %s is at %s", pos, total, steps[i].rec->name,
                                      k->version);
        if (cur > p->upgrade.done)
                p->upgrade.done = cur;
        if (cur == n) {
                snprintf(msg, sizeof(msg), "upgraded from %s to %s", from, k->version);
                if (strcmp(summary_cond_field(conds, "Upgrading", "reason"), "Upgraded") != 0)
                        events_record(kc->events, cr, "Normal", "Upgraded", "Upgrade", "%s", msg);
                condition_set(conds, "Upgrading", KO_FALSE, "Upgraded", msg, k->generation);
                return -1;
        }
        if (cur != p->upgrade.step) {
                p->upgrade.step = cur;
                p->upgrade.since_ms = now;
        }
        left = k->step_timeout_ms - (now - p->upgrade.since_ms);
        if (left <= 0) {
                snprintf(msg, sizeof(msg),
                         "%s to %s: step %s did not finish within %lds (%s); rolled back to %s",
                         from, k->version, steps[cur].rec->name, k->step_timeout_ms / 1000,
                         steps[cur].message, from);
                events_record(kc->events, cr, "Warning", "UpgradeFailed", "Upgrade", "%s", msg);
                log_warn("upgrade failed", "karmada", meta_str(cr, "name"), "namespace",
                         meta_str(cr, "namespace"), "message", msg);
                condition_set(conds, "Upgrading", KO_FALSE, "UpgradeFailed", msg, k->generation);
                return 0;
        }
        snprintf(msg, sizeof(msg), "%s to %s: step %d of %d, %s: %s", from, k->version, cur_pos,
                 total, steps[cur].rec->name, steps[cur].message);
        condition_set(conds, "Upgrading", KO_TRUE, "Upgrading", msg, k->generation);
        return left;
}

void upgrade_track(struct pass *p)
{
        struct plane *pl = plane_get(p->kc, p->key);

        if (pl)
                p->left =
                        upgrade_progress(p->kc, kobj_json(p->obj),
                                         cJSON_GetObjectItemCaseSensitive(p->status, "conditions"),
                                         pl, p->last->version, p->k, p->steps, p->n);
}
