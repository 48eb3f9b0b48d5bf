/* SPDX-License-Identifier: Apache-2.0 */
/* The step driver: each enabled reconciler in registry order, once what it comes after is
 * Ready: its host objects applied where they differ and rolled out, then its objects in the
 * Karmada API server and its reconcile hook. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/pod_reason.h"
#include "karmada/sync.h"
#include "runtime/log.h"
#include "util/digest.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static void step_set(struct step *s, bool ready, const char *reason, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void step_set(struct step *s, bool ready, const char *reason, const char *fmt, ...)
{
        va_list ap;

        s->ready = ready;
        snprintf(s->reason, sizeof(s->reason), "%s", reason);
        va_start(ap, fmt);
        vsnprintf(s->message, sizeof(s->message), fmt, ap);
        va_end(ap);
}

static bool dep_ready(const struct step *steps, int n, const char *name, const char **blocking)
{
        for (int i = 0; i < n; i++)
                if (strcmp(steps[i].rec->name, name) == 0) {
                        if (steps[i].enabled && !steps[i].ready) {
                                *blocking = name;
                                return false;
                        }
                        return true;
                }
        return true;
}

/* An APIService that is not Available: why, into buf; NULL when it is. */
static const char *apiservice_unavailable(const cJSON *live, char *buf, size_t size)
{
        const cJSON *c;

        cJSON_ArrayForEach (
                c, cJSON_GetObjectItemCaseSensitive(
                           cJSON_GetObjectItemCaseSensitive(live, "status"), "conditions")) {
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
                const cJSON *status = cJSON_GetObjectItemCaseSensitive(c, "status");
                if (!cJSON_IsString(type) || strcmp(type->valuestring, "Available") != 0)
                        continue;
                if (cJSON_IsString(status) && strcmp(status->valuestring, "True") == 0)
                        return NULL;
                snprintf(buf, size, "APIService %s is not available: %s: %s",
                         meta_str(live, "name"),
                         cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "reason"))
                                 ? cJSON_GetObjectItemCaseSensitive(c, "reason")->valuestring
                                 : "",
                         cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "message"))
                                 ? cJSON_GetObjectItemCaseSensitive(c, "message")->valuestring
                                 : "");
                return buf;
        }
        snprintf(buf, size, "APIService %s is not available yet", meta_str(live, "name"));
        return buf;
}

/* Apply a step's objects in the Karmada API server: nothing at all when they are what was
 * checked last (memo) and that is recent; else read each and apply what differs. APIServices
 * that are not Available make the step degraded (and are checked again next time). Returns the
 * number written, or -1 when the step cannot go on (s says why). */
static int apply_in_karmada(struct kctl *kc, const struct karmada *k, const struct desired *d,
                            struct step *s, struct kube_client *c, struct plane *p,
                            struct reconciler_memo *memo)
{
        struct strbuf all = {0};
        char fp[SHA256_HEX_LEN], why[600];
        long long now = time_mono_ms();
        bool settled = true;
        int written = 0;

        for (size_t j = 0; j < d->n; j++)
                if (d->objs[j].in_karmada && strcmp(d->objs[j].owner, s->rec->name) == 0)
                        strbuf_printf(&all, "%s/%s:%s;", d->objs[j].resource->resource,
                                      meta_str(d->objs[j].obj, "name"),
                                      sync_annotation(d->objs[j].obj, KO_HASH_ANNOTATION));
        if (!all.len)
                return 0;
        strbuf_printf(&all, "%s", p->sum);
        sha256_hex(all.buf, all.len, fp);
        strbuf_free(&all);
        if (memo->at_ms && now - memo->at_ms < kc->o.resync_seconds * 1000 &&
            strcmp(memo->value, fp) == 0)
                return 0;
        for (size_t j = 0; j < d->n; j++) {
                const struct desired_object *o = &d->objs[j];
                struct kube_status st;
                cJSON *live = NULL;
                int r;

                if (!o->in_karmada || strcmp(o->owner, s->rec->name) != 0)
                        continue;
                r = sync_apply_if_changed(c, o->resource, meta_str(o->obj, "namespace"), o->obj,
                                          &live, &st);
                if (r < 0 && st.code == 0) {
                        /* not (yet) reachable: a rollout that has not finished, as a rule */
                        step_set(s, false, "Waiting", "the Karmada API server at %s: %s", p->server,
                                 st.message);
                        plane_reached(p, &st);
                        return -1;
                }
                plane_reached(p, NULL);
                if (r < 0) {
                        step_set(s, false, "ApplyFailed", "%s %s in the Karmada API server: %s",
                                 o->resource->kind, meta_str(o->obj, "name"), st.message);
                        s->failed = true;
                        return -1;
                }
                written += r;
                if (o->resource == &kube_apiservices &&
                    apiservice_unavailable(live, why, sizeof(why))) {
                        if (!s->degraded) {
                                s->degraded = true;
                                snprintf(s->degraded_reason, sizeof(s->degraded_reason),
                                         "APIServiceUnavailable");
                                snprintf(s->degraded_message, sizeof(s->degraded_message), "%s",
                                         why);
                        }
                        settled = false;
                }
                cJSON_Delete(live);
        }
        if (settled) {
                snprintf(memo->value, sizeof(memo->value), "%s", fp);
                memo->at_ms = now;
        } else {
                memo->at_ms = 0;
        }
        return written;
}

/* After a step's host objects are rolled out: its objects in the Karmada API server, then its
 * reconcile hook. */
static void step_in_karmada(struct kctl *kc, struct host *host, const struct karmada *k,
                            struct desired *d, struct observation *ob, struct step *s, int i,
                            const char *key)
{
        bool objects = false;
        struct kube_client *c;
        struct step_result res = {0};
        struct plane *p;
        char why[512];
        int r;

        for (size_t j = 0; j < d->n && !objects; j++)
                objects = d->objs[j].in_karmada && strcmp(d->objs[j].owner, s->rec->name) == 0;
        if (!objects && !s->rec->reconcile)
                return;
        p = plane_get(kc, key);
        if (!p) {
                step_set(s, false, "Failed", "out of memory");
                s->failed = true;
                return;
        }
        /* a hook of the host only runs before the Karmada API server exists (restore) */
        c = s->rec->host_only ? NULL : plane_client(kc, p, k, ob, why, sizeof(why));
        if (!c && !s->rec->host_only) {
                step_set(s, false, "Waiting", "waiting for %s", why);
                return;
        }
        if ((c && apply_in_karmada(kc, k, d, s, c, p, &p->applied[i]) < 0) || !s->rec->reconcile)
                return;
        r = s->rec->reconcile(&(struct reconcile_ctx){.k = k,
                                                      .d = d,
                                                      .host = host->client,
                                                      .karmada = c,
                                                      .events = kc->events,
                                                      .memo = &p->hook[i],
                                                      .resync_ms = kc->o.resync_seconds * 1000,
                                                      .cache_dir = kc->o.cache_dir},
                              &res);
        if (r < 0) {
                step_set(s, false, "Failed", "%s", strerror(-r));
                s->failed = true;
        } else if (!res.ready) {
                step_set(s, false, res.reason, "%s", res.message);
        } else if (!res.degraded) {
                step_set(s, true, res.reason, "%s", res.message);
        } else if (!s->degraded) {
                s->degraded = true;
                snprintf(s->degraded_reason, sizeof(s->degraded_reason), "%s", res.reason);
                snprintf(s->degraded_message, sizeof(s->degraded_message), "%s", res.message);
        }
}

/* Whether the step's condition said, at this generation, that it was Ready or that a component
 * it had rolled out became unavailable since */
static bool step_was_ready(const struct pass *p, const struct step *s)
{
        const cJSON *c = s->rec->condition ? condition_get(json_at(p->status, "conditions", NULL),
                                                           s->rec->condition)
                                           : NULL,
                    *gen = json_at(c, "observedGeneration", NULL);

        return cJSON_IsNumber(gen) && (long long)gen->valuedouble == p->k->generation &&
               (strcmp(json_str(c, "status", NULL) ?: "", "True") == 0 ||
                reason_is_lost(json_str(c, "reason", NULL) ?: ""));
}

/* A workload the step had rolled out lost ready replicas (a crash, a node gone): the step is not
 * Ready, and the instance Degraded, until they are back; reason says which of the two losses
 * (reason_is_lost). */
static void step_unavailable(struct step *s, const char *reason, const char *kind, const char *name,
                             const char *why)
{
        step_set(s, false, reason, "%s %s: %s", kind, name, why);
        if (s->degraded)
                return;
        s->degraded = true;
        snprintf(s->degraded_reason, sizeof(s->degraded_reason), "%s", reason);
        snprintf(s->degraded_message, sizeof(s->degraded_message), "%s %s: %s", kind, name, why);
}

static bool labels_match(const cJSON *want, const cJSON *labels)
{
        const cJSON *l;

        cJSON_ArrayForEach (l, want) {
                const char *v = json_str(labels, l->string, NULL);
                if (!cJSON_IsString(l) || !v || strcmp(v, l->valuestring) != 0)
                        return false;
        }
        return true;
}

/* Why a pod of workload w is not ready, from the cache of pods: a failure before a pod merely
 * starting, then the first by name. Appended to why ("; pod NAME: cause"); a failure's reason
 * into s->cause. */
static void explain(struct pass *p, struct step *s, const cJSON *w, char *why, size_t whylen)
{
        const cJSON *sel = json_at(json_at(w, "spec", "selector"), "matchLabels", NULL);
        const char *ns = json_str(w, "metadata", "namespace") ?: "";
        struct pod_cause best = {.reason = "", .text = ""}, c;
        const char *best_name = NULL;
        bool best_fails = false;
        struct kobj **l = NULL;
        size_t n = 0, len = strlen(why);

        if (!sel || store_by_index(informer_store(p->host->owned[HOST_PODS]), HOST_PODS_BY_INSTANCE,
                                   p->k->name, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                const cJSON *pod = kobj_json(l[i]);
                const char *name = meta_str(pod, "name");
                bool fails;
                if (strcmp(meta_str(pod, "namespace") ?: "", ns) != 0 ||
                    !labels_match(sel, json_at(pod, "metadata", "labels")) || !name ||
                    !pod_reason(pod, &c))
                        continue;
                fails = pod_cause_is_failure(&c);
                if (best_name &&
                    (best_fails > fails || (best_fails == fails && strcmp(best_name, name) < 0)))
                        continue;
                best = c;
                best_name = name;
                best_fails = fails;
        }
        if (best_name && len < whylen)
                snprintf(why + len, whylen - len, KO_POD_CAUSE_PREFIX "%s: %s", best_name,
                         best.text);
        if (best_fails)
                snprintf(s->cause, sizeof(s->cause), "%s", best.reason);
        store_list_free(l, n);
}

/* Before a workload whose replicas are managed elsewhere is applied without them: a field
 * manager of its own keeps them as they are (sync_replicas_handover). A conflict means another
 * manager changed them since, and owns them: nothing to keep. */
static int keep_replicas(struct pass *p, const struct desired_object *o, const cJSON *live,
                         struct kube_status *st)
{
        cJSON *h = o->workload ? sync_replicas_handover(o->obj, live) : NULL;
        int r;

        if (!h)
                return 0;
        r = kube_apply(p->host->client, o->resource, p->run->namespace, h,
                       &(struct kube_write_options){.field_manager = KO_REPLICAS_MANAGER}, NULL,
                       st);
        cJSON_Delete(h);
        return r == -EBUSY ? 0 : r;
}

/* A step's objects in the host cluster: applied where they differ from what is observed, then
 * their rollouts; the step stays Ready unless one of them is not. */
static void apply_in_host(struct pass *p, struct step *s)
{
        struct kube_write_options wo = {.field_manager = KO_MANAGER, .force = true};
        const struct karmada *k = p->run;
        bool rolled = true;
        char why[512] = "";

        for (size_t j = 0; j < p->d.n; j++) {
                struct desired_object *o = &p->d.objs[j];
                const char *name = meta_str(o->obj, "name");
                const cJSON *live;
                cJSON *applied = NULL;
                struct kube_status st;
                bool changed = false;

                if (strcmp(o->owner, s->rec->name) != 0 || o->in_karmada)
                        continue;
                live = observation_get(p->ob, o->resource, k->namespace, name);
                if (!sync_in_sync(o->obj, live, why, sizeof(why))) {
                        log_debug("applying", "karmada", k->name, "kind", o->resource->kind, "name",
                                  name, "because", why);
                        if (keep_replicas(p, o, live, &st) < 0 ||
                            kube_apply(p->host->client, o->resource, k->namespace, o->obj, &wo,
                                       &applied, &st) < 0) {
                                step_set(s, false, "ApplyFailed", "%s %s: %s", o->resource->kind,
                                         name, st.message);
                                s->failed = true;
                                return;
                        }
                        live = applied;
                        changed = true;
                        if (observation_set(p->ob, o->resource, k->namespace, name, applied) < 0)
                                live = NULL;
                }
                if (o->workload && rolled && !sync_rollout_done(live, why, sizeof(why))) {
                        bool lost = !changed && step_was_ready(p, s) &&
                                    sync_rollout_lost(live, why, sizeof(why));
                        bool quorum =
                                lost && s->rec->quorum && sync_quorum_lost(live, why, sizeof(why));
                        explain(p, s, live, why, sizeof(why));
                        if (lost)
                                step_unavailable(s,
                                                 quorum ? KO_QUORUM_LOST : KO_COMPONENT_UNAVAILABLE,
                                                 o->resource->kind, name, why);
                        else
                                step_set(s, false, "Progressing", "%s %s: %s", o->resource->kind,
                                         name, why);
                        rolled = false;
                }
        }
}

/* The order steps are taken in: the registry's, with each step that upgrades with another
 * right after that one (the registry check makes it name an earlier one). */
static int step_order(const struct pass *p, int *ord)
{
        int n = 0;

        for (int i = 0; i < p->n; i++) {
                if (p->steps[i].rec->upgrades_with)
                        continue;
                ord[n++] = i;
                for (int j = i + 1; j < p->n; j++)
                        if (p->steps[j].rec->upgrades_with &&
                            strcmp(p->steps[j].rec->upgrades_with, p->steps[i].rec->name) == 0)
                                ord[n++] = j;
        }
        return n;
}

/* What the step at position pos of ord waits for (NULL: nothing): while upgrading, every step
 * taken before it (but the one it upgrades with, and others that upgrade with that one); always,
 * the steps it comes after (but, while upgrading, the one it upgrades with). */
static const char *blocked_by(const struct pass *p, const int *ord, int pos)
{
        const struct step *s = &p->steps[ord[pos]];
        const char *blocking = NULL, *with = s->rec->upgrades_with;
        bool ordered = p->upgrading && !p->rollback;

        for (int k = 0; ordered && k < pos; k++) {
                const struct step *t = &p->steps[ord[k]];
                bool partner =
                        with &&
                        (strcmp(t->rec->name, with) == 0 ||
                         (t->rec->upgrades_with && strcmp(t->rec->upgrades_with, with) == 0));
                if (!partner && t->enabled && !t->ready)
                        return t->rec->name;
        }
        for (const char *const *a = s->rec->after; a && *a; a++)
                if (!(ordered && with && strcmp(*a, with) == 0) &&
                    !dep_ready(p->steps, ord[pos], *a, &blocking))
                        return blocking;
        return NULL;
}

void steps_apply(struct pass *p)
{
        int ord[KO_MAX_RECONCILERS], n = step_order(p, ord);

        for (int pos = 0; pos < n; pos++) {
                struct step *s = &p->steps[ord[pos]];
                const char *blocking, *waiting;

                if (!s->enabled)
                        continue;
                blocking = blocked_by(p, ord, pos);
                if (blocking) {
                        step_set(s, false, "Waiting", "waiting for %s", blocking);
                        continue;
                }
                step_set(s, true, "Ready", "ready");
                apply_in_host(p, s);
                if (s->failed || !s->ready)
                        continue;
                waiting = desired_waiting(&p->d, s->rec->name);
                if (waiting)
                        step_set(s, false, "Waiting", "waiting for %s", waiting);
                else
                        step_in_karmada(p->kc, p->host, p->run, &p->d, p->ob, s, ord[pos], p->key);
        }
}
