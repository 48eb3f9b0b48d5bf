/* SPDX-License-Identifier: Apache-2.0 */
/* The status of a Karmada object: what was last written (while the cache lags behind it), one
 * merge patch when it changed, and the refusals that write nothing else. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "runtime/log.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/strbuf.h"

/* The status last written for a Karmada object, and the resourceVersion that write produced.
 * While the cache still shows an older version, reconciles start from this status rather than
 * the stale one: a condition flips (and its Event is sent) once, and the same status is not
 * written twice. */
struct written {
        char *rv;
        cJSON *status;
};

void status_written_free(struct written *w)
{
        if (!w)
                return;
        free(w->rv);
        cJSON_Delete(w->status);
        free(w);
}

static void written_key(const cJSON *cr, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", meta_str(cr, "namespace") ?: "", meta_str(cr, "name") ?: "");
}

/* A copy of the object's current status: the one last written while the cache shows an older
 * version of the object, else the cached one (or NULL). */
static cJSON *current_status(struct kctl *kc, const cJSON *cr)
{
        const char *rv = meta_str(cr, "resourceVersion");
        char key[512];
        struct written *w;
        cJSON *s;
        int c;

        written_key(cr, key, sizeof(key));
        pthread_mutex_lock(&kc->written_lock);
        w = hashmap_get(kc->written, key);
        if (w && kube_rv_compare(rv, w->rv, &c) == 0 && c < 0) {
                s = cJSON_Duplicate(w->status, true);
        } else {
                status_written_free(hashmap_remove(kc->written, key)); /* the cache moved on */
                s = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cr, "status"), true);
        }
        pthread_mutex_unlock(&kc->written_lock);
        return s;
}

static void remember_status(struct kctl *kc, const cJSON *cr, const char *rv, const cJSON *status)
{
        char key[512];
        struct written *w = calloc(1, sizeof(*w)), *old = NULL;

        written_key(cr, key, sizeof(key));
        if (w && rv) {
                w->rv = strdup(rv);
                w->status = cJSON_Duplicate(status, true);
        }
        pthread_mutex_lock(&kc->written_lock);
        if (!w || !w->rv || !w->status) {
                status_written_free(w); /* out of memory: fall back to the cache */
                status_written_free(hashmap_remove(kc->written, key));
        } else if (hashmap_put(kc->written, key, w, (void **)&old) < 0) {
                status_written_free(w);
        }
        status_written_free(old);
        pthread_mutex_unlock(&kc->written_lock);
}

void status_forget(struct kctl *kc, const char *key)
{
        pthread_mutex_lock(&kc->written_lock);
        status_written_free(hashmap_remove(kc->written, key));
        pthread_mutex_unlock(&kc->written_lock);
}

/* What differs between two statuses, for the debug log: top-level fields and condition types,
 * and for a condition the field that changed ("Ready.message"). */
static void status_changes(const cJSON *old, const cJSON *new, struct strbuf *out)
{
        const cJSON *f, *c;

        cJSON_ArrayForEach (f, new) {
                const cJSON *o = cJSON_GetObjectItemCaseSensitive(old, f->string);
                if (strcmp(f->string, "conditions") != 0) {
                        if (!cJSON_Compare(o, f, true))
                                strbuf_printf(out, "%s ", f->string);
                        continue;
                }
                cJSON_ArrayForEach (c, f) {
                        const char *type =
                                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
                        const cJSON *oc = condition_get(o, type ? type : ""), *x;
                        cJSON_ArrayForEach (x, c) {
                                if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(oc, x->string),
                                                   x, true))
                                        strbuf_printf(out, "%s.%s ", type, x->string);
                        }
                }
        }
}

/* Write status when it differs from the current one: a merge patch of what differs, so that
 * what the status no longer holds (a member of lastReadySpec that left the spec) is removed
 * (null), not merged back in. Returns <0 on a failed write. */
int status_write(struct kctl *kc, const cJSON *cr, cJSON *status, struct kube_status *st)
{
        cJSON *current = current_status(kc, cr), *patch, *diff, *written = NULL;
        struct strbuf changes = {0};
        bool oom = false;
        char *body;
        int r;

        diff = json_merge_diff(current, status, &oom);
        if (!diff) {
                cJSON_Delete(current);
                return oom ? -ENOMEM : 0;
        }
        status_changes(current, status, &changes);
        cJSON_Delete(current);
        log_debug("writing status", "karmada", meta_str(cr, "name"), "namespace",
                  meta_str(cr, "namespace"), "changed", changes.buf ? changes.buf : "", "ready",
                  summary_cond_field(cJSON_GetObjectItemCaseSensitive(status, "conditions"),
                                     "Ready", "message"));
        strbuf_free(&changes);
        patch = cJSON_CreateObject();
        cJSON_AddItemToObject(patch, "status", diff);
        body = oom ? NULL : cJSON_PrintUnformatted(patch);
        cJSON_Delete(patch);
        if (!body)
                return -ENOMEM;
        r = kube_patch(kc->client, &karmada_karmadas, meta_str(cr, "namespace"),
                       meta_str(cr, "name"), KUBE_PATCH_MERGE, body,
                       &(struct kube_write_options){.subresource = "status"}, &written, st);
        free(body);
        if (r >= 0)
                remember_status(kc, cr, meta_str(written, "resourceVersion"), status);
        cJSON_Delete(written);
        return r;
}

/* A copy of the current status (keeps lastTransitionTimes), with a conditions list. */
cJSON *status_from(struct kctl *kc, const cJSON *cr)
{
        cJSON *s = current_status(kc, cr);

        if (!s)
                s = cJSON_CreateObject();
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(s, "conditions"))) {
                cJSON_DeleteItemFromObjectCaseSensitive(s, "conditions");
                cJSON_AddArrayToObject(s, "conditions");
        }
        return s;
}

/* An invalid spec: the Warning is sent for each reconcile that finds it (a series). */
void status_invalid(struct kctl *kc, const cJSON *cr, const char *message,
                    struct reconcile_outcome *out)
{
        cJSON *status = status_from(kc, cr);
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "generation");
        const cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
        /* said already: the write of that status is itself a change that comes back here */
        bool known = strcmp(summary_cond_field(conds, "Ready", "reason"), "InvalidSpec") == 0 &&
                     strcmp(summary_cond_field(conds, "Ready", "message"), message) == 0;
        struct summary_events ev = {0};
        struct kube_status st;

        summary_refused(status, cJSON_IsNumber(gen) ? (long long)gen->valuedouble : 0,
                        "InvalidSpec", message, false, &ev);
        if (status_write(kc, cr, status, &st) < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
        }
        events_record(kc->events, cr, "Warning", "InvalidSpec", "Validate", "%s", message);
        if (!known)
                log_warn("invalid Karmada spec", "karmada", meta_str(cr, "name"), "namespace",
                         meta_str(cr, "namespace"), "error", message);
        cJSON_Delete(status);
}

void status_send_events(struct kctl *kc, const cJSON *cr, const struct summary_events *ev)
{
        for (int i = 0; i < ev->n; i++) {
                const struct summary_event *e = &ev->e[i];
                events_record(kc->events, cr, e->type, e->reason, e->action, "%s", e->note);
        }
}

int status_write_pass(struct pass *p)
{
        struct kube_status st = {0};
        int r = status_write(p->kc, kobj_json(p->obj), p->status, &st);

        if (r < 0) {
                p->out->result = st.code == 409 ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(p->out->error, sizeof(p->out->error), "write status: %s", st.message);
        }
        return r;
}

void status_refuse(struct pass *p, const char *reason, const char *message, bool report)
{
        struct summary_events ev = {0};

        summary_refused(p->status, p->k->generation, reason, message, report, &ev);
        if (ev.n) /* a new reason */
                log_warn("change refused", "karmada", p->k->name, "namespace", p->k->namespace,
                         "reason", reason, "message", message);
        status_send_events(p->kc, kobj_json(p->obj), &ev);
        status_write_pass(p);
}
