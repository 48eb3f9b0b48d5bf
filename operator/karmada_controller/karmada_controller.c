/* SPDX-License-Identifier: Apache-2.0 */
#include "karmada_controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/desired.h"
#include "karmada/spec.h"
#include "karmada/sync.h"
#include "runtime/log.h"
#include "util/hashmap.h"
#include "util/macro.h"
#include "util/timeutil.h"

#define KEY_ALG_ANNOTATION "operator.karmada.io/key-algorithm"

/* What the operator creates in the host cluster, watched so changes to them are undone. */
const struct kube_resource *const owned_resources[N_OWNED] = {
        &kube_deployments, &kube_statefulsets,         &kube_services,
        &kube_secrets,     &kube_poddisruptionbudgets,
};

/* ---- event handlers: every change maps to the key of its Karmada object ---- */

static void enqueue(struct kctl *kc, const char *key)
{
        wq_add(controller_queue(kc->ctrl), key);
}

static void karmada_add(void *userdata, struct kobj *o)
{
        enqueue(userdata, o->key);
}

/* Status updates (our own) need no reconcile; spec and metadata changes do. */
static void karmada_update(void *userdata, struct kobj *old, struct kobj *new)
{
        const cJSON *om = cJSON_GetObjectItemCaseSensitive(old->json, "metadata");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(new->json, "metadata");
        static const char *const keys[] = {"generation", "labels", "annotations",
                                           "deletionTimestamp", "finalizers"};

        if (old == new) { /* a resync */
                enqueue(userdata, new->key);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(om, keys[i]),
                                   cJSON_GetObjectItemCaseSensitive(nm, keys[i]), true)) {
                        enqueue(userdata, new->key);
                        return;
                }
}

static void karmada_delete(void *userdata, struct kobj *o)
{
        enqueue(userdata, o->key);
}

static void owned_event(struct kctl *kc, const struct kobj *o)
{
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(o->json, "metadata"), "labels");
        const cJSON *inst = cJSON_GetObjectItemCaseSensitive(labels, KO_LABEL_INSTANCE);
        const char *ns = meta_str(o->json, "namespace");
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

/* ---- what is observed: the caches, plus direct reads for what they do not hold ---- */

/* The source of one reconcile's observation: the caches of owned objects, and direct reads of
 * what they do not hold. */
struct reader {
        struct kctl *kc;
        const char *prefix; /* the instance's names start with it: those live in the caches */
        struct observation_source src;
};

static struct informer *informer_of(struct kctl *kc, const struct kube_resource *r)
{
        for (size_t i = 0; i < N_OWNED; i++)
                if (owned_resources[i] == r)
                        return kc->owned[i];
        return NULL;
}

static struct store *store_of(void *userdata, const struct kube_resource *r)
{
        struct reader *rd = userdata;
        struct informer *inf = informer_of(rd->kc, r);

        return inf ? informer_store(inf) : NULL;
}

/* Secrets the user made (a custom CA, S3 credentials) carry no label of ours, and the backup a
 * restore starts from is not cached: those are read (once per reconcile). */
static int read_direct(void *userdata, const struct kube_resource *r, const char *ns,
                       const char *name, cJSON **ret)
{
        struct reader *rd = userdata;

        if (!(r == &kube_secrets && rd->prefix &&
              strncmp(name, rd->prefix, strlen(rd->prefix)) != 0) &&
            r != &ko_karmadabackups)
                return -ENOENT;
        return kube_get(rd->kc->client, r, ns, name, ret, NULL);
}

static const cJSON *observe(void *userdata, const struct kube_resource *r, const char *ns,
                            const char *name)
{
        return observation_get(userdata, r, ns, name);
}

/* The address of a control-plane node (for NodePort), cached for a minute. */
static const char *node_address(struct kctl *kc, char *buf, size_t size)
{
        static const char *const selectors[] = {"node-role.kubernetes.io/control-plane",
                                                "node-role.kubernetes.io/master", NULL};
        long long now = time_mono_ms();

        pthread_mutex_lock(&kc->node_lock);
        if (kc->node_addr[0] && now - kc->node_at_ms < 60000) {
                snprintf(buf, size, "%s", kc->node_addr);
                pthread_mutex_unlock(&kc->node_lock);
                return buf;
        }
        pthread_mutex_unlock(&kc->node_lock);
        buf[0] = '\0';
        for (int i = 0; !buf[0] && i <= 2; i++) {
                struct kube_list_options lo = {.label_selector = selectors[i], .limit = 10};
                cJSON *list = NULL;
                const cJSON *node, *addr;
                if (kube_list(kc->client, &kube_nodes, NULL, &lo, &list, NULL) < 0)
                        break;
                cJSON_ArrayForEach(node, cJSON_GetObjectItemCaseSensitive(list, "items"))
                {
                        cJSON_ArrayForEach(addr,
                                           cJSON_GetObjectItemCaseSensitive(
                                                   cJSON_GetObjectItemCaseSensitive(node, "status"),
                                                   "addresses"))
                        {
                                const cJSON *t = cJSON_GetObjectItemCaseSensitive(addr, "type");
                                const cJSON *a = cJSON_GetObjectItemCaseSensitive(addr, "address");
                                if (!buf[0] && cJSON_IsString(t) &&
                                    strcmp(t->valuestring, "InternalIP") == 0 && cJSON_IsString(a))
                                        snprintf(buf, size, "%s", a->valuestring);
                        }
                        if (buf[0])
                                break;
                }
                cJSON_Delete(list);
        }
        pthread_mutex_lock(&kc->node_lock);
        snprintf(kc->node_addr, sizeof(kc->node_addr), "%s", buf);
        kc->node_at_ms = now;
        pthread_mutex_unlock(&kc->node_lock);
        return buf[0] ? buf : NULL;
}

static enum pki_key_type key_type(struct kctl *kc, const cJSON *cr)
{
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "annotations");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(ann, KEY_ALG_ANNOTATION);

        if (cJSON_IsString(a) && strcasecmp(a->valuestring, "ecdsa") == 0)
                return PKI_ECDSA_P256;
        if (cJSON_IsString(a) && strcasecmp(a->valuestring, "rsa") == 0)
                return PKI_RSA_3072;
        return kc->o.keys;
}

/* ---- one reconcile ---- */

static void reconcile(void *userdata, const char *key, struct reconcile_outcome *out)
{
        struct kctl *kc = userdata;
        struct kobj *obj = store_get(informer_store(kc->karmadas), key);
        struct reader rd = {.kc = kc,
                            .src = {.store_of = store_of, .read = read_direct, .userdata = &rd}};
        struct observation *ob = NULL;
        struct ko_spec_error serr = {{0}};
        struct observed observed = {.get = observe};
        struct step steps[MAX_RECONCILERS];
        struct karmada *k = NULL, *last = NULL, *run;
        struct desired d;
        struct kube_status st;
        char node[128], err[1024] = "", msg[1024];
        cJSON *status = NULL, *conds;
        bool all_ready = true, any_waiting = false, any_failed = false, any_degraded = false;
        bool upgrading = false, rollback = false;
        long long left = -1; /* of an upgrade step's deadline */
        const char *running;
        int n = 0, r;

        if (!obj) { /* gone */
                status_forget(kc, key);
                plane_forget(kc, key);
                return;
        }
        if (meta_str(obj->json, "deletionTimestamp")) {
                gc_finalize(kc, obj->json, out);
                goto done;
        }
        if (gc_finalizer_index(obj->json) < 0 && gc_add_finalizer(kc, obj->json, &st) < 0) {
                out->result =
                        st.code == 409 || st.code == 422 ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "add finalizer: %s", st.message);
                goto done;
        }
        r = karmada_parse(obj->json, &k, &serr);
        if (r == -EINVAL) {
                status_invalid(kc, obj->json, serr.message, out);
                goto done;
        }
        if (r < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "parse: %s", strerror(-r));
                goto done;
        }
        status = status_from(kc, obj->json);
        conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
        if (k->suspend) {
                ko_condition_set(conds, "Suspended", KO_TRUE, "Suspended",
                                 "spec.suspend is true: nothing is changed", k->generation);
                status_set_num(status, "observedGeneration", (double)k->generation);
                if (status_write(kc, obj->json, status, &st) < 0)
                        log_warn("write status", "karmada", key, "error", st.message);
                goto done;
        }
        ko_condition_remove(conds, "Suspended");
        if (k->host_secret_name) {
                status_refuse(kc, obj->json, status, k->generation, "HostClusterUnsupported",
                              "spec.hostCluster.secretRef: installing into another cluster is not "
                              "supported yet",
                              false, out);
                goto done;
        }
        /* a change of version or images is an upgrade: checked, ordered, rolled back when a
         * step does not finish in time (then `run` is the last spec that was Ready) */
        last = upgrade_last_ready(obj->json, status);
        running = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "karmadaVersion"));
        if (ko_upgrade_check(running, k->version, k->allow_downgrade, msg, sizeof(msg)) < 0) {
                status_refuse(kc, obj->json, status, k->generation, "UpgradeRefused", msg, true,
                              out);
                goto done;
        }
        if (last && !k->etcd_external && !last->etcd_external &&
            k->comp[KO_ETCD].replicas != last->comp[KO_ETCD].replicas) {
                snprintf(msg, sizeof(msg),
                         "spec.components.etcd.local.replicas: %d to %d on a running instance is "
                         "refused: the operator does not add or remove etcd members; set it back "
                         "to %d",
                         last->comp[KO_ETCD].replicas, k->comp[KO_ETCD].replicas,
                         last->comp[KO_ETCD].replicas);
                status_refuse(kc, obj->json, status, k->generation, "EtcdScalingRefused", msg, true,
                              out);
                goto done;
        }
        if (last && (strcmp(last->version, k->version) != 0 || upgrade_image_change(last, k))) {
                const cJSON *g = cJSON_GetObjectItemCaseSensitive(
                        ko_condition_get(conds, "Upgrading"), "observedGeneration");
                upgrading = true;
                rollback = strcmp(status_cond_field(conds, "Upgrading", "reason"),
                                  "UpgradeFailed") == 0 &&
                           cJSON_IsNumber(g) && (long long)g->valuedouble == k->generation;
        }
        if (upgrading && !rollback) {
                r = upgrade_pre_backup(kc, obj->json, k, msg, sizeof(msg));
                if (r < 0) {
                        status_refuse(kc, obj->json, status, k->generation,
                                      "PreUpgradeBackupFailed", msg, true, out);
                        goto done;
                }
                if (r > 0) { /* the upgrade waits; the instance stays as it runs */
                        ko_condition_set(conds, "Upgrading", KO_TRUE, "BackingUp", msg,
                                         k->generation);
                        if (status_write(kc, obj->json, status, &st) < 0)
                                log_warn("write status", "karmada", key, "error", st.message);
                        out->result = RECONCILE_REQUEUE_AFTER;
                        out->requeue_after_ms = 2000;
                        goto done;
                }
        }
        run = rollback ? last : k;
        rd.prefix = k->prefix;
        if (observation_new(&rd.src, &ob) < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "out of memory");
                goto done;
        }
        observed.userdata = ob;
        if (strcmp(run->service_type, "NodePort") == 0)
                observed.node_address = node_address(kc, node, sizeof(node));
        r = ko_build_desired(run, &observed, key_type(kc, obj->json), &d, err, sizeof(err));
        if (r < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "%s", err);
                goto done;
        }
        for (size_t i = 0; i < d.n; i++)
                ko_stamp(d.objs[i].obj);
        for (const struct reconciler *const *rec = ko_reconcilers; *rec && n < MAX_RECONCILERS;
             rec++, n++)
                steps[n] = (struct step){.rec = *rec, .enabled = ko_reconciler_enabled(*rec, run)};
        steps_apply(kc, run, &d, ob, steps, n, key, upgrading && !rollback);
        if (upgrading && !rollback) {
                struct plane *p = plane_get(kc, key);
                if (p)
                        left = upgrade_progress(kc, obj->json, conds, p, last->version, k, steps,
                                                n);
        }

        for (int i = 0; i < n; i++) {
                if (!steps[i].enabled) {
                        if (steps[i].rec->condition)
                                ko_condition_remove(conds, steps[i].rec->condition);
                        continue;
                }
                all_ready = all_ready && steps[i].ready;
                any_waiting = any_waiting || desired_waiting(&d, steps[i].rec->name);
                any_failed = any_failed || steps[i].failed;
                if (steps[i].rec->condition) {
                        bool was = ko_condition_is_true(conds, steps[i].rec->condition);
                        ko_condition_set(conds, steps[i].rec->condition,
                                         steps[i].ready ? KO_TRUE : KO_FALSE, steps[i].reason,
                                         steps[i].message, k->generation);
                        if (steps[i].ready && !was)
                                events_record(kc->events, obj->json, "Normal",
                                              steps[i].rec->condition, "Reconcile", "%s is ready",
                                              steps[i].rec->name);
                        if (steps[i].failed)
                                events_record(kc->events, obj->json, "Warning", steps[i].reason,
                                              "Reconcile", "%s", steps[i].message);
                }
        }
        /* what was made earlier and is no longer wanted (a component switched off) */
        if (!any_waiting && !any_failed &&
            gc_delete_owned(kc, k->namespace, k->name, &d, err, sizeof(err)) < 0)
                log_warn("cannot delete what is no longer wanted", "karmada", key, "error", err);
        if (all_ready && !any_failed)
                gc_prune_in_karmada(kc, run, &d, ob, key);
        {
                bool was_ready = ko_condition_is_true(conds, "Ready");
                const struct step *first = NULL;
                const char *reason = all_ready ? "Ready" : any_failed ? "Failed" : "Progressing";

                for (int i = 0; i < n && !first; i++)
                        if (steps[i].enabled && !steps[i].ready)
                                first = &steps[i];
                if (first)
                        snprintf(msg, sizeof(msg), "%s: %s", first->rec->name, first->message);
                else
                        snprintf(msg, sizeof(msg), "Karmada %s is running", run->version);
                if (left == 0) {
                        reason = "UpgradeFailed";
                        snprintf(msg, sizeof(msg), "%s",
                                 status_cond_field(conds, "Upgrading", "message"));
                } else if (rollback && all_ready) {
                        reason = "RolledBack";
                        if (strcmp(status_cond_field(conds, "Ready", "reason"), reason) != 0)
                                events_record(kc->events, obj->json, "Normal", reason, "Upgrade",
                                              "Karmada %s runs again", run->version);
                        snprintf(msg, sizeof(msg),
                                 "Karmada %s is running: the upgrade to %s was rolled back (see "
                                 "condition Upgrading); change the spec to try again",
                                 run->version, k->version);
                }
                ko_condition_set(conds, "Ready", strcmp(reason, "Ready") == 0 ? KO_TRUE : KO_FALSE,
                                 reason, msg, k->generation);
                if (strcmp(reason, "Ready") == 0 && !was_ready)
                        events_record(kc->events, obj->json, "Normal", "Ready", "Reconcile",
                                      "Karmada %s is ready", k->version);
        }
        {
                const struct step *deg = NULL;

                for (int i = 0; i < n && !deg; i++)
                        if (steps[i].enabled && steps[i].degraded)
                                deg = &steps[i];
                any_degraded = deg != NULL;
                if (deg)
                        snprintf(msg, sizeof(msg), "%s: %s", deg->rec->name, deg->degraded_message);
                ko_condition_set(conds, "Degraded", deg ? KO_TRUE : KO_FALSE,
                                 deg ? deg->degraded_reason : "AsExpected",
                                 deg ? msg : "everything installed works", k->generation);
        }
        status_set_num(status, "observedGeneration", (double)k->generation);
        if (all_ready && left != 0) {
                status_set_str(status, "karmadaVersion", run->version);
                status_set_str(status, "kubernetesVersion", run->comp[KO_APISERVER].image_tag);
        }
        if (all_ready && !rollback) /* what an upgrade that fails returns to */
                status_set_obj(
                        status, "lastReadySpec",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(obj->json, "spec"), true));
        {
                char admin[KO_NAME_MAX + 16], svc[KO_NAME_MAX + 16];
                ko_name(k->prefix, "admin-config", admin, sizeof(admin));
                ko_name(k->prefix, "apiserver", svc, sizeof(svc));
                if (observe(ob, &kube_secrets, k->namespace, admin)) {
                        cJSON *ref = cJSON_CreateObject();
                        cJSON_AddStringToObject(ref, "name", admin);
                        cJSON_AddStringToObject(ref, "namespace", k->namespace);
                        status_set_obj(status, "secretRef", ref);
                }
                if (observe(ob, &kube_services, k->namespace, svc)) {
                        cJSON *ref = cJSON_CreateObject();
                        cJSON_AddStringToObject(ref, "name", svc);
                        status_set_obj(status, "apiServerService", ref);
                }
        }
        if (status_write(kc, obj->json, status, &st) < 0) {
                out->result = st.code == 409 ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
        } else if (any_failed) {
                out->result = RECONCILE_ERROR;
                for (int i = 0; i < n; i++)
                        if (steps[i].failed)
                                snprintf(out->error, sizeof(out->error), "%s: %s",
                                         steps[i].rec->name, steps[i].message);
        } else if (!all_ready || any_degraded || left == 0) {
                out->result = RECONCILE_REQUEUE_AFTER;
                out->requeue_after_ms = kc->o.progress_seconds * 1000 * (all_ready ? 2 : 1);
                if (left >= 0 && left + 100 < out->requeue_after_ms) /* the step's deadline */
                        out->requeue_after_ms = left + 100;
        }
        desired_free(&d);
done:
        cJSON_Delete(status);
        observation_free(ob);
        karmada_free(last);
        karmada_free(k);
        kobj_unref(obj);
}

/* ---- setup ---- */

static void kctl_free(void *p)
{
        struct kctl *kc = p;

        pthread_mutex_destroy(&kc->node_lock);
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
        static const struct informer_handlers owned_handlers = {
                .on_add = owned_add, .on_update = owned_update, .on_delete = owned_delete};
        struct kctl *kc = calloc(1, sizeof(*kc));
        int r;

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
        pthread_mutex_init(&kc->node_lock, NULL);
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
                                                    .resource = &ko_karmadas,
                                                    .namespace = o->namespace,
                                                    .handlers = &karmada_handlers,
                                                    .userdata = kc,
                                                    .resync_seconds = kc->o.resync_seconds,
                                                    .name = "karmadas"},
                         &kc->karmadas);
        if (r < 0)
                goto fail;
        manager_add_informer(m, kc->karmadas);
        for (size_t i = 0; i < N_OWNED; i++) {
                r = informer_new(&(struct informer_options){.client = kc->client,
                                                            .resource = owned_resources[i],
                                                            .namespace = o->namespace,
                                                            .label_selector = KO_LABEL_MANAGED_BY
                                                            "=" KO_MANAGER,
                                                            .handlers = &owned_handlers,
                                                            .userdata = kc,
                                                            .name = owned_resources[i]->resource},
                                 &kc->owned[i]);
                if (r < 0)
                        goto fail;
                manager_add_informer(m, kc->owned[i]);
        }
        return manager_add_controller(m, kc->ctrl);
fail:
        controller_free(kc->ctrl);
        return r;
}
