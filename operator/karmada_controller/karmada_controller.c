/* SPDX-License-Identifier: Apache-2.0 */
#include "karmada_controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/desired.h"
#include "karmada/spec.h"
#include "karmada/sync.h"
#include "runtime/log.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/timeutil.h"

/* ---- event handlers: every change maps to the key of its Karmada object ---- */

static void enqueue(struct kctl *kc, const char *key)
{
        wq_add(controller_queue(kc->ctrl), key);
}

static void karmada_add(void *userdata, struct kobj *o)
{
        releases_karmada_changed(userdata, NULL, kobj_json(o));
        enqueue(userdata, o->key);
}

/* Status updates (our own) need no reconcile; spec and metadata changes do. */
static void karmada_update(void *userdata, struct kobj *old, struct kobj *new)
{
        const cJSON *om = cJSON_GetObjectItemCaseSensitive(kobj_json(old), "metadata");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(kobj_json(new), "metadata");
        static const char *const keys[] = {"generation", "labels", "annotations",
                                           "deletionTimestamp", "finalizers"};

        if (old == new) { /* a resync */
                enqueue(userdata, new->key);
                return;
        }
        releases_karmada_changed(userdata, kobj_json(old), kobj_json(new));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(om, keys[i]),
                                   cJSON_GetObjectItemCaseSensitive(nm, keys[i]), true)) {
                        enqueue(userdata, new->key);
                        return;
                }
}

static void karmada_delete(void *userdata, struct kobj *o)
{
        releases_karmada_changed(userdata, kobj_json(o), NULL);
        enqueue(userdata, o->key);
}

static void owned_event(struct kctl *kc, struct kobj *o)
{
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(kobj_json(o), "metadata"), "labels");
        const cJSON *inst = cJSON_GetObjectItemCaseSensitive(labels, KO_LABEL_INSTANCE);
        const char *ns = meta_str(kobj_json(o), "namespace");
        char key[512];

        if (!cJSON_IsString(inst) || !ns)
                return;
        snprintf(key, sizeof(key), "%s/%s", ns, inst->valuestring);
        enqueue(kc, key);
}

static void owned_add(void *userdata, struct kobj *o)
{
        owned_event(userdata, o);
}

static void owned_update(void *userdata, struct kobj *old, struct kobj *new)
{
        owned_event(userdata, new);
}

static void owned_delete(void *userdata, struct kobj *o)
{
        owned_event(userdata, o);
}

const struct informer_handlers owned_handlers = {
        .on_add = owned_add, .on_update = owned_update, .on_delete = owned_delete};

/* ---- one reconcile ---- */

/* Deleting: finalize. New: the finalizer first. */
static enum phase lifecycle(struct pass *p)
{
        struct kube_status st;

        if (meta_str(kobj_json(p->obj), "deletionTimestamp")) {
                gc_finalize(p->kc, p->key, kobj_json(p->obj), p->out);
                return PHASE_STOP;
        }
        if (gc_set_finalizer(p->kc, &karmada_karmadas, kobj_json(p->obj), KO_FINALIZER, true,
                             &st) >= 0)
                return PHASE_GO;
        p->out->result = st.code == 409 || st.code == 422 ? RECONCILE_REQUEUE : RECONCILE_ERROR;
        snprintf(p->out->error, sizeof(p->out->error), "add finalizer: %s", st.message);
        return PHASE_STOP;
}

/* The spec, parsed (an invalid one says which field, and stops); the status to build on. */
static enum phase parse(struct pass *p)
{
        struct karmada_spec_error serr = {{0}};
        int r = registry_parse(kobj_json(p->obj), &p->k, &serr);

        if (r == -EINVAL) {
                status_invalid(p->kc, kobj_json(p->obj), serr.message, p->out);
                return PHASE_STOP;
        }
        if (r < 0) {
                p->out->result = RECONCILE_ERROR;
                snprintf(p->out->error, sizeof(p->out->error), "parse: %s", strerror(-r));
                return PHASE_STOP;
        }
        p->status = status_from(p->kc, kobj_json(p->obj));
        return PHASE_GO;
}

/* Whether the host's Secret `name`, as observed, is what is desired of it */
static bool secret_held(const struct pass *p, const char *name)
{
        const cJSON *live = observation_get(p->ob, &kube_secrets, p->k->namespace, name);
        char why[256];

        for (size_t i = 0; i < p->d.n && live; i++) {
                const struct desired_object *o = &p->d.objs[i];
                if (o->resource == &kube_secrets && !o->in_karmada &&
                    strcmp(meta_str(o->obj, "name") ?: "", name) == 0)
                        return sync_in_sync(o->obj, live, why, sizeof(why));
        }
        return false;
}

/* status.certificates: those the instance's Secrets hold now. One issued in this reconcile and
 * not stored (its step waits) is left out: each reconcile would issue another, and the status
 * would change with each. A Secret's certificates come one after another: it is checked once. */
static cJSON *stored_certificates(const struct pass *p)
{
        cJSON *out = cJSON_CreateArray();
        const char *checked = NULL;
        bool held = false;
        const cJSON *e;

        cJSON_ArrayForEach (e, p->d.certs) {
                const char *secret = json_str(e, "secretRef", "name") ?: "";
                if (!checked || strcmp(checked, secret) != 0) {
                        checked = secret;
                        held = secret_held(p, secret);
                }
                if (held)
                        cJSON_AddItemToArray(out, cJSON_Duplicate(e, true));
        }
        return out;
}

/* How many timed looks found the instance only Degraded before this one, this one counted; -1
 * when it is not only Degraded (summary_degraded_look) */
static int degraded_looks(struct pass *p, const struct summary *sum)
{
        bool steady = sum->all_ready && p->left != 0 &&
                      !(p->planned && (p->d.ca_phase || p->d.encryption_phase));
        struct plane *pl = plane_get(p->kc, p->key);

        return pl ? summary_degraded_look(sum->any_degraded, sum->any_failed, steady,
                                          &pl->degraded_looks)
                  : -1;
}

/* The status from what the steps found, written; then what comes next. */
static void finish(struct pass *p)
{
        struct summary_input in = {
                .steps = p->steps,
                .n = p->n,
                .k = p->k,
                .run = p->run,
                .rollback = p->rollback,
                .left = p->left,
                .spec = cJSON_GetObjectItemCaseSensitive(kobj_json(p->obj), "spec")};
        struct summary sum;
        int looks;
        char name[KO_NAME_MAX + 16];

        names_join(p->k->prefix, "admin-config", name, sizeof(name));
        in.has_admin_config = observation_get(p->ob, &kube_secrets, p->k->namespace, name);
        names_join(p->k->prefix, "apiserver", name, sizeof(name));
        in.has_apiserver_service = observation_get(p->ob, &kube_services, p->k->namespace, name);
        if (p->planned && p->d.certs) {
                cJSON_DeleteItemFromObjectCaseSensitive(p->status, "certificates");
                cJSON_AddItemToObject(p->status, "certificates", stored_certificates(p));
        }
        if (p->planned) {
                in.ca_phase = p->d.ca_phase;
                in.ca_rotated = p->d.ca_rotated;
                in.encryption_phase = p->d.encryption_phase;
                in.encryption_rotated = p->d.encryption_rotated;
        }
        plane_condition(p->kc, p->key, cJSON_GetObjectItemCaseSensitive(p->status, "conditions"),
                        p->k->generation);
        summary_compute(&in, p->status, &sum);
        status_send_events(p->kc, kobj_json(p->obj), &sum.events);
        if (status_write_pass(p) < 0)
                return;
        looks = degraded_looks(p, &sum);
        if (sum.any_failed) {
                p->out->result = RECONCILE_ERROR;
                for (int i = 0; i < p->n; i++)
                        if (p->steps[i].failed)
                                snprintf(p->out->error, sizeof(p->out->error), "%s: %s",
                                         p->steps[i].rec->name, p->steps[i].message);
        } else if (!sum.all_ready || sum.any_degraded || p->left == 0 ||
                   (p->planned && (p->d.ca_phase || p->d.encryption_phase))) {
                /* a rotation waits for rollouts */
                p->out->result = RECONCILE_REQUEUE_AFTER;
                p->out->requeue_after_ms =
                        p->kc->o.progress_seconds * 1000L * (sum.all_ready ? 2 : 1);
                if (looks >= 0) /* waiting on what it does not control: less and less often */
                        p->out->requeue_after_ms =
                                summary_degraded_requeue_ms(looks, p->out->requeue_after_ms);
                if (p->left >= 0 && p->left + 100 < p->out->requeue_after_ms)
                        p->out->requeue_after_ms = p->left + 100; /* the step's deadline */
        } else if (p->planned && p->d.valid_until > 0) {
                /* at rest until what it wants changes by itself: a certificate's renewal */
                long long s = p->d.valid_until - (long long)time(NULL);
                p->out->result = RECONCILE_REQUEUE_AFTER;
                p->out->requeue_after_ms = s < 1 ? 1000 : (long)(s * 1000 + 500);
        }
        if (p->scaling_requeue_ms > 0 && p->out->result != RECONCILE_ERROR &&
            (p->out->result != RECONCILE_REQUEUE_AFTER ||
             p->out->requeue_after_ms > p->scaling_requeue_ms)) { /* etcd's next member step */
                p->out->result = RECONCILE_REQUEUE_AFTER;
                p->out->requeue_after_ms = p->scaling_requeue_ms;
        }
}

static void pass_done(struct pass *p)
{
        if (p->planned)
                desired_free(&p->d);
        cJSON_Delete(p->status);
        observation_free(p->ob);
        karmada_free(p->last);
        karmada_free(p->k);
        hosts_release(p->kc, p->host);
        kobj_unref(p->obj);
}

static void reconcile(void *userdata, const char *key, struct reconcile_outcome *out)
{
        struct pass p = {.kc = userdata, .key = key, .out = out, .left = -1};

        p.obj = store_get(informer_store(p.kc->karmadas), key);
        if (!p.obj) { /* gone */
                status_forget(p.kc, key);
                plane_forget(p.kc, key);
                hosts_forget(p.kc, key);
                return;
        }
        if (lifecycle(&p) == PHASE_GO && parse(&p) == PHASE_GO && gates_run(&p) == PHASE_GO &&
            hosts_bind(&p) == PHASE_GO && scaling_run(&p) == PHASE_GO &&
            plan_build(&p) == PHASE_GO) {
                steps_apply(&p);
                if (p.upgrading && !p.rollback)
                        upgrade_track(&p);
                gc_collect(&p);
                finish(&p);
        }
        pass_done(&p);
}

/* ---- setup ---- */

static void kctl_free(void *p)
{
        struct kctl *kc = p;

        hosts_free(kc);
        pthread_mutex_destroy(&kc->written_lock);
        pthread_mutex_destroy(&kc->planes_lock);
        for (const struct hashmap_entry *e = hashmap_first(kc->written); e;
             e = hashmap_next(kc->written, e))
                status_written_free(hashmap_entry_value(e));
        hashmap_free(kc->written);
        for (const struct hashmap_entry *e = hashmap_first(kc->planes); e;
             e = hashmap_next(kc->planes, e))
                plane_free(hashmap_entry_value(e));
        hashmap_free(kc->planes);
        free(kc);
}

int karmada_controller_setup(struct manager *m, const struct karmada_controller_options *o)
{
        static const struct informer_handlers karmada_handlers = {
                .on_add = karmada_add, .on_update = karmada_update, .on_delete = karmada_delete};
        struct kctl *kc;
        char err[256];
        int r;

        /* the driver holds every reconciler, each after those it needs */
        r = registry_check(registry_reconcilers, KO_MAX_RECONCILERS, err, sizeof(err));
        if (r < 0) {
                log_error("the reconciler registry is broken", "error", err);
                return r;
        }
        kc = calloc(1, sizeof(*kc));
        if (!kc)
                return -ENOMEM;
        kc->o = *o;
        if (kc->o.resync_seconds <= 0)
                kc->o.resync_seconds = 600;
        if (kc->o.progress_seconds <= 0)
                kc->o.progress_seconds = 5;
        kc->m = m;
        kc->client = manager_client(m);
        kc->events = manager_events(m);
        pthread_mutex_init(&kc->written_lock, NULL);
        pthread_mutex_init(&kc->planes_lock, NULL);
        kc->written = hashmap_new();
        kc->planes = hashmap_new();
        if (!kc->written || !kc->planes || manager_add_cleanup(m, kctl_free, kc) < 0) {
                kctl_free(kc);
                return -ENOMEM;
        }
        r = controller_new(&(struct controller_options){.name = "karmada",
                                                        .workers = o->workers,
                                                        .reconcile = reconcile,
                                                        .userdata = kc,
                                                        .metrics = manager_metrics(m)},
                           &kc->ctrl);
        if (r < 0)
                return r;
        r = informer_new(&(struct informer_options){.client = kc->client,
                                                    .resource = &karmada_karmadas,
                                                    .namespace = o->namespace,
                                                    .handlers = &karmada_handlers,
                                                    .userdata = kc,
                                                    .resync_seconds = kc->o.resync_seconds,
                                                    .name = "karmadas"},
                         &kc->karmadas);
        if (r < 0)
                goto fail;
        manager_add_informer(m, kc->karmadas);
        r = releases_setup(kc);
        if (r < 0)
                goto fail;
        if (instance_metrics(kc, manager_metrics(m)) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        r = hosts_setup(kc);
        if (r < 0)
                goto fail;
        return manager_add_controller(m, kc->ctrl);
fail:
        controller_free(kc->ctrl);
        return r;
}
