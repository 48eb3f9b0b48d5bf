/* SPDX-License-Identifier: Apache-2.0 */
#include "summary.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"

static void add_event(struct summary_events *ev, const char *type, const char *reason,
                      const char *action, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static void add_event(struct summary_events *ev, const char *type, const char *reason,
                      const char *action, const char *fmt, ...)
{
        struct summary_event *e;
        va_list ap;

        if (ev->n >= SUMMARY_MAX_EVENTS)
                return;
        e = &ev->e[ev->n++];
        e->type = type;
        e->action = action;
        snprintf(e->reason, sizeof(e->reason), "%s", reason);
        va_start(ap, fmt);
        vsnprintf(e->note, sizeof(e->note), fmt, ap);
        va_end(ap);
}

static cJSON *conditions(cJSON *status)
{
        return cJSON_GetObjectItemCaseSensitive(status, "conditions");
}

const char *summary_cond_field(const cJSON *conds, const char *type, const char *field)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(condition_get(conds, type), field);

        return cJSON_IsString(v) ? v->valuestring : "";
}

static void set(cJSON *o, const char *k, cJSON *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        if (v)
                cJSON_AddItemToObject(o, k, v);
}

/* kstatus (Flux, kpt, `kubectl wait`, sigs.k8s.io/cli-utils): Stalled while the spec cannot be
 * carried out until it changes, Reconciling while it is being carried out (an install, an
 * upgrade, a component coming back), neither once Ready; each present only while True. Both
 * follow Ready and Upgrading, so they never cause a status write of their own. */
static void kstatus_conditions(cJSON *status, long long generation)
{
        static const char *const stalled[] = {"InvalidSpec",           "UpgradeRefused",
                                              "EtcdScalingRefused",    "PreUpgradeBackupFailed",
                                              "UpgradeFailed",         "RolledBack",
                                              "PreScalingBackupFailed"};
        cJSON *conds = conditions(status);
        const char *reason = summary_cond_field(conds, "Ready", "reason");
        const char *message = summary_cond_field(conds, "Ready", "message");
        bool upgrading = condition_is_true(conds, "Upgrading"), is_stalled = false;

        for (size_t i = 0; i < sizeof(stalled) / sizeof(stalled[0]); i++)
                is_stalled = is_stalled || strcmp(reason, stalled[i]) == 0;
        if (is_stalled)
                condition_set(conds, "Stalled", KO_TRUE, reason, message, generation);
        else
                condition_remove(conds, "Stalled");
        if (!is_stalled && upgrading)
                condition_set(conds, "Reconciling", KO_TRUE, "Upgrading",
                              summary_cond_field(conds, "Upgrading", "message"), generation);
        else if (!is_stalled && !condition_is_true(conds, "Ready"))
                condition_set(conds, "Reconciling", KO_TRUE, *reason ? reason : "Progressing",
                              message, generation);
        else
                condition_remove(conds, "Reconciling");
}

void summary_refused(cJSON *status, long long generation, const char *reason, const char *message,
                     bool report, struct summary_events *ev)
{
        if (report &&
            strcmp(summary_cond_field(conditions(status), "Ready", "reason"), reason) != 0)
                add_event(ev, "Warning", reason, "Upgrade", "%s", message);
        condition_set(conditions(status), "Ready", KO_FALSE, reason, message, generation);
        set(status, "observedGeneration", cJSON_CreateNumber((double)generation));
        kstatus_conditions(status, generation);
}

void summary_suspended(cJSON *status, long long generation)
{
        condition_set(conditions(status), "Suspended", KO_TRUE, "Suspended",
                      "spec.suspend is true: nothing is changed", generation);
        set(status, "observedGeneration", cJSON_CreateNumber((double)generation));
}

/* The part of a step's message that names a pod's cause (KO_POD_CAUSE_PREFIX), or all of it */
static const char *pod_cause_part(const char *message)
{
        const char *c = strstr(message, KO_POD_CAUSE_PREFIX);

        return c ? c : message;
}

/* Each step's own condition (removed when the step is off), and what it adds up to. */
static void step_conditions(const struct summary_input *in, cJSON *conds, struct summary *out)
{
        out->all_ready = true;
        for (int i = 0; i < in->n; i++) {
                const struct step *s = &in->steps[i];
                const char *cond = s->rec->condition;
                if (!s->enabled) {
                        if (cond)
                                condition_remove(conds, cond);
                        continue;
                }
                out->all_ready = out->all_ready && s->ready;
                out->any_failed = out->any_failed || s->failed;
                if (!cond)
                        continue;
                if (s->ready && !condition_is_true(conds, cond))
                        add_event(&out->events, "Normal", cond, "Reconcile", "%s is ready",
                                  s->rec->name);
                /* a pod's failure, once for each cause it names, whatever the rest of the
                 * message says (the workload's progress changes under the same cause) */
                if (s->cause[0] &&
                    !strstr(summary_cond_field(conds, cond, "message"), pod_cause_part(s->message)))
                        add_event(&out->events, "Warning", s->cause, "Reconcile", "%s", s->message);
                condition_set(conds, cond, s->ready ? KO_TRUE : KO_FALSE, s->reason, s->message,
                              in->k->generation);
                if (s->failed)
                        add_event(&out->events, "Warning", s->reason, "Reconcile", "%s",
                                  s->message);
        }
}

/* Ready: every step, or the first that is not (ComponentUnavailable or EtcdQuorumLost when that one
 * ran and does not now), or the upgrade's failure or rollback. */
static void ready_condition(const struct summary_input *in, cJSON *status, struct summary *out)
{
        const struct karmada *k = in->k, *run = in->run;
        bool was_ready = condition_is_true(conditions(status), "Ready");
        const char *reason = out->all_ready ? "Ready" : out->any_failed ? "Failed" : "Progressing";
        const struct step *first = NULL;
        char msg[1024];

        for (int i = 0; i < in->n && !first; i++)
                if (in->steps[i].enabled && !in->steps[i].ready)
                        first = &in->steps[i];
        if (first && !out->any_failed && reason_is_lost(first->reason))
                reason = first->reason; /* it ran, and does not now */
        if (first)
                snprintf(msg, sizeof(msg), "%s: %s", first->rec->name, first->message);
        else
                snprintf(msg, sizeof(msg), "Karmada %s is running", run->version);
        if (in->left == 0) {
                reason = "UpgradeFailed";
                snprintf(msg, sizeof(msg), "%s",
                         summary_cond_field(conditions(status), "Upgrading", "message"));
        } else if (in->rollback && out->all_ready) {
                reason = "RolledBack";
                if (strcmp(summary_cond_field(conditions(status), "Ready", "reason"), reason) != 0)
                        add_event(&out->events, "Normal", reason, "Upgrade",
                                  "Karmada %s runs again", run->version);
                snprintf(msg, sizeof(msg),
                         "Karmada %s is running: the upgrade to %s was rolled back (see "
                         "condition Upgrading); change the spec to try again",
                         run->version, k->version);
        }
        condition_set(conditions(status), "Ready",
                      strcmp(reason, "Ready") == 0 ? KO_TRUE : KO_FALSE, reason, msg,
                      k->generation);
        if (strcmp(reason, "Ready") == 0 && !was_ready)
                add_event(&out->events, "Normal", "Ready", "Reconcile", "Karmada %s is ready",
                          k->version);
}

/* Degraded: the first step whose objects in the Karmada API server do not work, or that keeps
 * something that will stop working (a certificate it cannot renew); a Warning Event each time
 * it becomes so for a new reason. */
static void degraded_condition(const struct summary_input *in, cJSON *status, struct summary *out)
{
        const struct step *deg = NULL;
        char msg[1024];

        for (int i = 0; i < in->n && !deg; i++)
                if (in->steps[i].enabled && in->steps[i].degraded)
                        deg = &in->steps[i];
        out->any_degraded = deg != NULL;
        if (deg)
                snprintf(msg, sizeof(msg), "%s: %s", deg->rec->name, deg->degraded_message);
        if (deg && (!condition_is_true(conditions(status), "Degraded") ||
                    strcmp(summary_cond_field(conditions(status), "Degraded", "reason"),
                           deg->degraded_reason) != 0))
                add_event(&out->events, "Warning", deg->degraded_reason, "Reconcile", "%s", msg);
        condition_set(conditions(status), "Degraded", deg ? KO_TRUE : KO_FALSE,
                      deg ? deg->degraded_reason : "AsExpected",
                      deg ? msg : "everything installed works", in->k->generation);
}

/* A rotation's condition: True while it is under way (reason: its phase, an Event when the
 * phase changes), False Completed in the reconcile that ends it */
static void rotation_condition(const struct summary_input *in, cJSON *status, struct summary *out,
                               const char *type, const char *phase, bool completed,
                               const char *(*say)(const char *phase))
{
        cJSON *conds = conditions(status);

        if (phase) {
                if (strcmp(summary_cond_field(conds, type, "reason"), phase) != 0)
                        add_event(&out->events, "Normal", type, "Reconcile", "%s: %s", type, phase);
                condition_set(conds, type, KO_TRUE, phase, say(phase), in->k->generation);
        } else if (completed) {
                if (condition_is_true(conds, type)) /* said once, when it ends */
                        add_event(&out->events, "Normal", type, "Reconcile", "%s: %s", type,
                                  say("Completed"));
                condition_set(conds, type, KO_FALSE, "Completed", say("Completed"),
                              in->k->generation);
        }
}

static const char *ca_says(const char *phase)
{
        if (strcmp(phase, "Trusting") == 0)
                return "new CAs made and trusted beside the old ones; waiting for every component "
                       "to roll";
        if (strcmp(phase, "Reissuing") == 0)
                return "every certificate re-issued by the new CAs, the old ones still trusted; "
                       "waiting for every component to roll";
        return "the old CAs are no longer trusted; every certificate is issued by the new ones";
}

static const char *encryption_says(const char *phase)
{
        if (strcmp(phase, "Adding") == 0)
                return "the new provider is added to the Karmada API server, the old one still "
                       "writes; waiting for it to roll";
        if (strcmp(phase, "Switching") == 0)
                return "the new provider writes, the old one still reads; waiting for the Karmada "
                       "API server to roll";
        if (strcmp(phase, "Rewriting") == 0)
                return "every Secret of the Karmada API server is being written again with the new "
                       "provider";
        return "every Secret is stored with the new provider; the old one is dropped";
}

static cJSON *ref(const char *name, const char *ns)
{
        cJSON *r = cJSON_CreateObject();

        cJSON_AddStringToObject(r, "name", name);
        if (ns)
                cJSON_AddStringToObject(r, "namespace", ns);
        return r;
}

/* observedGeneration, the versions once all runs, lastReadySpec, the refs. */
static void fields(const struct summary_input *in, cJSON *status, const struct summary *out)
{
        const struct karmada *k = in->k, *run = in->run;
        char name[KO_NAME_MAX + 16];

        set(status, "observedGeneration", cJSON_CreateNumber((double)k->generation));
        if (out->all_ready && in->left != 0) {
                set(status, "karmadaVersion", cJSON_CreateString(run->version));
                set(status, "kubernetesVersion",
                    cJSON_CreateString(run->comp[KO_APISERVER].image_tag));
        }
        if (out->all_ready && !in->rollback) /* what an upgrade that fails returns to */
                set(status, "lastReadySpec", cJSON_Duplicate(in->spec, true));
        if (in->has_admin_config && names_join(k->prefix, "admin-config", name, sizeof(name)) == 0)
                set(status, "secretRef", ref(name, k->namespace));
        if (in->has_apiserver_service &&
            names_join(k->prefix, "apiserver", name, sizeof(name)) == 0)
                set(status, "apiServerService", ref(name, NULL));
}

long summary_degraded_requeue_ms(int looks, long base_ms)
{
        long ms = base_ms;

        for (int i = SUMMARY_DEGRADED_STEADY_LOOKS; i <= looks && ms < SUMMARY_DEGRADED_MAX_MS; i++)
                ms *= 2;
        return ms < SUMMARY_DEGRADED_MAX_MS ? ms : SUMMARY_DEGRADED_MAX_MS;
}

void summary_compute(const struct summary_input *in, cJSON *status, struct summary *out)
{
        memset(out, 0, sizeof(*out));
        step_conditions(in, conditions(status), out);
        ready_condition(in, status, out);
        degraded_condition(in, status, out);
        rotation_condition(in, status, out, "CARotation", in->ca_phase, in->ca_rotated, ca_says);
        rotation_condition(in, status, out, "EncryptionKeyRotation", in->encryption_phase,
                           in->encryption_rotated, encryption_says);
        fields(in, status, out);
        kstatus_conditions(status, in->k->generation);
}

int summary_degraded_look(bool degraded, bool failed, bool steady, int *count)
{
        if (!degraded || failed) {
                *count = 0;
                return -1;
        }
        return steady ? (*count)++ : -1;
}
