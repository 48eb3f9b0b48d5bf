/* SPDX-License-Identifier: Apache-2.0 */
#include "controller.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "karmada/conditions.h"
#include "karmada/desired.h"
#include "karmada/spec.h"
#include "karmada/sync.h"
#include "kube/config.h"
#include "karmada_controller/observation.h"
#include "reconciler.h"
#include "runtime/log.h"
#include "util/base64.h"
#include "util/digest.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define KEY_ALG_ANNOTATION     "operator.karmada.io/key-algorithm"
#define DELETE_DATA_ANNOTATION "operator.karmada.io/delete-etcd-data"
#define MAX_RECONCILERS        32

/* What the operator creates in the host cluster, watched so changes to them are undone. */
static const struct kube_resource *const owned_resources[] = {
        &kube_deployments, &kube_statefulsets,         &kube_services,
        &kube_secrets,     &kube_poddisruptionbudgets,
};
#define N_OWNED (sizeof(owned_resources) / sizeof(owned_resources[0]))

struct kctl {
        struct karmada_controller_options o;
        struct manager *m;
        struct kube_client *client;
        struct event_recorder *events;
        struct informer *karmadas;
        struct informer *owned[N_OWNED];
        struct controller *ctrl;
        pthread_mutex_t node_lock;
        char node_addr[128];
        long long node_at_ms;
        pthread_mutex_t written_lock;
        struct hashmap *written; /* key -> struct written */
        pthread_mutex_t planes_lock;
        struct hashmap *planes; /* key -> struct plane */
};

/* An instance's Karmada API server as the operator reaches it (through the admin kubeconfig),
 * and what each step remembers of what it did there. Used only by the worker that reconciles
 * the instance (the work queue never hands one key to two workers). */
struct plane {
        char sum[SHA256_HEX_LEN]; /* of the admin kubeconfig the client was made from */
        char server[256];
        struct kube_client *client;
        struct ko_memo applied[MAX_RECONCILERS]; /* objects of each step, checked and applied */
        struct ko_memo hook[MAX_RECONCILERS];    /* each step's reconcile hook */
        char pruned[SHA256_HEX_LEN];             /* the wanted objects last pruned against */
        struct {                                 /* the upgrade in progress */
                long long generation;            /* of the spec it rolls out */
                int step;                        /* the step it waits for */
                int done;                        /* steps reported done (Events) */
                long long since_ms;              /* when it began to wait for `step` */
        } upgrade;
};

static void plane_free(struct plane *p)
{
        if (!p)
                return;
        kube_client_free(p->client);
        free(p);
}

/* The status last written for a Karmada object, and the resourceVersion that write produced.
 * While the cache still shows an older version, reconciles start from this status rather than
 * the stale one: a condition flips (and its Event is sent) once, and the same status is not
 * written twice. */
struct written {
        char *rv;
        cJSON *status;
};

static void written_free(struct written *w)
{
        if (!w)
                return;
        free(w->rv);
        cJSON_Delete(w->status);
        free(w);
}

/* ---- event handlers: every change maps to the key of its Karmada object ---- */

static const char *meta_str(const cJSON *obj, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}

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

/* ---- finalizer ---- */

static int finalizer_index(const cJSON *cr)
{
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "finalizers");
        int i = 0;
        const cJSON *e;

        cJSON_ArrayForEach(e, f)
        {
                if (cJSON_IsString(e) && strcmp(e->valuestring, KO_FINALIZER) == 0)
                        return i;
                i++;
        }
        return -1;
}

static int add_finalizer(struct kctl *kc, const cJSON *cr, struct kube_status *st)
{
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "finalizers");
        char body[512];

        /* a test on the resourceVersion makes it a compare-and-swap */
        snprintf(body, sizeof(body),
                 f ? "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                     "{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\",\"value\":\"" KO_FINALIZER
                     "\"}]"
                   : "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"%s\"},"
                     "{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":[\"" KO_FINALIZER
                     "\"]}]",
                 meta_str(cr, "resourceVersion"));
        return kube_patch(kc->client, &ko_karmadas, meta_str(cr, "namespace"), meta_str(cr, "name"),
                          KUBE_PATCH_JSON, body, NULL, NULL, st);
}

static int remove_finalizer(struct kctl *kc, const cJSON *cr, int index, struct kube_status *st)
{
        char body[512];

        snprintf(body, sizeof(body),
                 "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/%d\",\"value\":\"" KO_FINALIZER
                 "\"},"
                 "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/%d\"}]",
                 index, index);
        return kube_patch(kc->client, &ko_karmadas, meta_str(cr, "namespace"), meta_str(cr, "name"),
                          KUBE_PATCH_JSON, body, NULL, NULL, st);
}

/* Objects of an instance in the caches, by label. */
static bool belongs(const struct kobj *o, const char *ns, const char *name)
{
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(o->json, "metadata"), "labels");
        const cJSON *inst = cJSON_GetObjectItemCaseSensitive(labels, KO_LABEL_INSTANCE);
        const char *ons = meta_str(o->json, "namespace");

        return cJSON_IsString(inst) && strcmp(inst->valuestring, name) == 0 && ons &&
               strcmp(ons, ns) == 0;
}

/* keep (NULL: nothing) wants the object of r named name on that side (the host cluster, or the
 * instance's Karmada API server), in namespace ns (NULL: any, as for the host, where all of an
 * instance is in one namespace, and for cluster-scoped objects). */
static bool wanted(const struct desired *keep, bool in_karmada, const struct kube_resource *r,
                   const char *ns, const char *name)
{
        for (size_t x = 0; keep && x < keep->n; x++) {
                const struct desired_object *o = &keep->objs[x];
                const char *ons = meta_str(o->obj, "namespace");
                if (o->in_karmada == in_karmada && o->resource == r &&
                    strcmp(meta_str(o->obj, "name"), name) == 0 &&
                    (!ns || (ons && strcmp(ons, ns) == 0)))
                        return true;
        }
        return false;
}

/* Delete the objects of an instance in the caches that keep does not list (NULL: all of them).
 * Returns how many were deleted, or -EIO (err says the last failure). */
static int delete_owned(struct kctl *kc, const char *ns, const char *instance,
                        const struct desired *keep, char *err, size_t errlen)
{
        struct kube_delete_options del = {.propagation = KUBE_PROPAGATION_BACKGROUND};
        int deleted = 0, failures = 0;

        for (size_t i = 0; i < N_OWNED; i++) {
                struct kobj **l;
                size_t n;
                if (store_list(informer_store(kc->owned[i]), &l, &n) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < n; j++) {
                        const char *name = meta_str(l[j]->json, "name");
                        struct kube_status st;
                        int r;
                        if (!belongs(l[j], ns, instance) ||
                            wanted(keep, false, owned_resources[i], NULL, name))
                                continue;
                        if (keep)
                                log_info("deleting what is no longer wanted", "karmada", instance,
                                         "kind", owned_resources[i]->kind, "name", name);
                        r = kube_delete(kc->client, owned_resources[i], ns, name, &del, &st);
                        if (r < 0 && r != -ENOENT) {
                                snprintf(err, errlen, "delete %s %s/%s: %s",
                                         owned_resources[i]->kind, ns, name, st.message);
                                failures++;
                        } else {
                                deleted++;
                        }
                }
                store_list_free(l, n);
        }
        return failures ? -EIO : deleted;
}

static int delete_etcd_volumes(struct kctl *kc, const char *ns, const char *prefix, char *err,
                               size_t errlen)
{
        char want[KO_NAME_MAX + 32];
        cJSON *list = NULL;
        const cJSON *pvc;
        int r;

        snprintf(want, sizeof(want), "etcd-data-%s-etcd-", prefix);
        r = kube_list(kc->client, &kube_persistentvolumeclaims, ns, NULL, &list, NULL);
        if (r < 0)
                return r;
        cJSON_ArrayForEach(pvc, cJSON_GetObjectItemCaseSensitive(list, "items"))
        {
                const char *n = meta_str(pvc, "name");
                struct kube_status st;
                if (n && strncmp(n, want, strlen(want)) == 0 &&
                    (r = kube_delete(kc->client, &kube_persistentvolumeclaims, ns, n, NULL, &st)) <
                            0 &&
                    r != -ENOENT) {
                        snprintf(err, errlen, "delete PersistentVolumeClaim %s/%s: %s", ns, n,
                                 st.message);
                        break;
                }
                r = 0;
        }
        cJSON_Delete(list);
        return r;
}

static void finalize(struct kctl *kc, const cJSON *cr, struct reconcile_outcome *out)
{
        const char *ns = meta_str(cr, "namespace"), *name = meta_str(cr, "name");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "labels");
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "annotations");
        const cJSON *nocascade = cJSON_GetObjectItemCaseSensitive(labels, KO_NO_CASCADE_LABEL);
        const cJSON *deldata = cJSON_GetObjectItemCaseSensitive(ann, DELETE_DATA_ANNOTATION);
        bool cascade = !(cJSON_IsString(nocascade) && strcmp(nocascade->valuestring, "true") == 0);
        int idx = finalizer_index(cr), r;
        struct kube_status st;
        char prefix[KO_NAME_MAX];

        if (idx < 0)
                return; /* nothing of ours to do */
        if (cascade) {
                r = delete_owned(kc, ns, name, NULL, out->error, sizeof(out->error));
                if (r >= 0 && cJSON_IsString(deldata) &&
                    strcmp(deldata->valuestring, "true") == 0 &&
                    ko_prefix(name, prefix, sizeof(prefix)) == 0)
                        r = delete_etcd_volumes(kc, ns, prefix, out->error, sizeof(out->error));
                if (r < 0) {
                        out->result = RECONCILE_ERROR;
                        return;
                }
        }
        for (const struct reconciler *const *rec = ko_reconcilers; *rec; rec++)
                if ((*rec)->finalize) {
                        struct reconcile_ctx ctx = {.host = kc->client, .events = kc->events};
                        r = (*rec)->finalize(&ctx);
                        if (r < 0) {
                                snprintf(out->error, sizeof(out->error), "%s: finalize: %s",
                                         (*rec)->name, strerror(-r));
                                out->result = RECONCILE_ERROR;
                                return;
                        }
                }
        r = remove_finalizer(kc, cr, idx, &st);
        if (r < 0 && r != -ENOENT) {
                snprintf(out->error, sizeof(out->error), "remove finalizer: %s", st.message);
                out->result = RECONCILE_ERROR;
                return;
        }
        log_info("deleted", "karmada", name, "namespace", ns, "cascade",
                 cascade ? "true" : "false");
}

/* ---- status ---- */

struct step {
        const struct reconciler *rec;
        bool enabled, ready, failed;
        char reason[64];
        char message[512];
        bool degraded; /* ready, but what it made in the Karmada API server does not work */
        char degraded_reason[64];
        char degraded_message[512];
};

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
                written_free(hashmap_remove(kc->written, key)); /* the cache moved on */
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
                written_free(w); /* out of memory: fall back to the cache */
                written_free(hashmap_remove(kc->written, key));
        } else if (hashmap_put(kc->written, key, w, (void **)&old) < 0) {
                written_free(w);
        }
        written_free(old);
        pthread_mutex_unlock(&kc->written_lock);
}

static void forget_status(struct kctl *kc, const char *key)
{
        pthread_mutex_lock(&kc->written_lock);
        written_free(hashmap_remove(kc->written, key));
        pthread_mutex_unlock(&kc->written_lock);
}

/* What differs between two statuses, for the debug log: top-level fields and condition types,
 * and for a condition the field that changed ("Ready.message"). */
static void status_changes(const cJSON *old, const cJSON *new, struct strbuf *out)
{
        const cJSON *f, *c;

        cJSON_ArrayForEach(f, new)
        {
                const cJSON *o = cJSON_GetObjectItemCaseSensitive(old, f->string);
                if (strcmp(f->string, "conditions") != 0) {
                        if (!cJSON_Compare(o, f, true))
                                strbuf_printf(out, "%s ", f->string);
                        continue;
                }
                cJSON_ArrayForEach(c, f)
                {
                        const char *type =
                                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
                        const cJSON *oc = ko_condition_get(o, type ? type : ""), *x;
                        cJSON_ArrayForEach(x, c)
                        {
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
static int write_status(struct kctl *kc, const cJSON *cr, cJSON *status, struct kube_status *st)
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
                  meta_str(cr, "namespace"), "changed", changes.buf ? changes.buf : "");
        strbuf_free(&changes);
        patch = cJSON_CreateObject();
        cJSON_AddItemToObject(patch, "status", diff);
        body = oom ? NULL : cJSON_PrintUnformatted(patch);
        cJSON_Delete(patch);
        if (!body)
                return -ENOMEM;
        r = kube_patch(kc->client, &ko_karmadas, meta_str(cr, "namespace"), meta_str(cr, "name"),
                       KUBE_PATCH_MERGE, body,
                       &(struct kube_write_options){.subresource = "status"}, &written, st);
        free(body);
        if (r >= 0)
                remember_status(kc, cr, meta_str(written, "resourceVersion"), status);
        cJSON_Delete(written);
        return r;
}

/* A copy of the current status (keeps lastTransitionTimes), with a conditions list. */
static cJSON *status_from(struct kctl *kc, const cJSON *cr)
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

static void set_num(cJSON *o, const char *k, double v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddNumberToObject(o, k, v);
}

static void set_obj(cJSON *o, const char *k, cJSON *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddItemToObject(o, k, v);
}

static void set_str(cJSON *o, const char *k, const char *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        if (v)
                cJSON_AddStringToObject(o, k, v);
}

/* An invalid spec: Ready=False, InvalidSpec, the message naming the field; nothing applied. */
static void invalid(struct kctl *kc, const cJSON *cr, const char *message,
                    struct reconcile_outcome *out)
{
        cJSON *status = status_from(kc, cr);
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "generation");
        long long g = cJSON_IsNumber(gen) ? (long long)gen->valuedouble : 0;
        struct kube_status st;

        ko_condition_set(cJSON_GetObjectItemCaseSensitive(status, "conditions"), "Ready", KO_FALSE,
                         "InvalidSpec", message, g);
        set_num(status, "observedGeneration", (double)g);
        if (write_status(kc, cr, status, &st) < 0) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
        }
        events_record(kc->events, cr, "Warning", "InvalidSpec", "Validate", "%s", message);
        log_warn("invalid Karmada spec", "karmada", meta_str(cr, "name"), "namespace",
                 meta_str(cr, "namespace"), "error", message);
        cJSON_Delete(status);
}

/* ---- one reconcile ---- */

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

/* ---- the Karmada API server of an instance ---- */

static struct plane *plane_get(struct kctl *kc, const char *key)
{
        struct plane *p;

        pthread_mutex_lock(&kc->planes_lock);
        p = hashmap_get(kc->planes, key);
        if (!p && (p = calloc(1, sizeof(*p))) && hashmap_put(kc->planes, key, p, NULL) < 0) {
                free(p);
                p = NULL;
        }
        pthread_mutex_unlock(&kc->planes_lock);
        return p;
}

static void plane_forget(struct kctl *kc, const char *key)
{
        pthread_mutex_lock(&kc->planes_lock);
        plane_free(hashmap_remove(kc->planes, key));
        pthread_mutex_unlock(&kc->planes_lock);
}

/* A client of the instance's Karmada API server, made from its admin kubeconfig (again when
 * that changes); NULL with why filled while there is none. */
static struct kube_client *plane_client(struct kctl *kc, struct plane *p, const struct karmada *k,
                                        struct observation *ob, char *why, size_t whylen)
{
        char name[KO_NAME_MAX + 16], sum[SHA256_HEX_LEN], err[512];
        const cJSON *secret, *data;
        unsigned char *text = NULL;
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        size_t len;

        ko_name(k->prefix, "admin-config", name, sizeof(name));
        secret = observe(ob, &kube_secrets, k->namespace, name);
        data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(secret, "data"),
                                                KO_KUBECONFIG_KEY);
        if (!cJSON_IsString(data)) {
                snprintf(why, whylen, "Secret %s with the admin kubeconfig", name);
                return NULL;
        }
        sha256_hex(data->valuestring, strlen(data->valuestring), sum);
        if (p->client && strcmp(sum, p->sum) == 0)
                return p->client;
        if (base64_decode(data->valuestring, strlen(data->valuestring), &text, &len) < 0 ||
            kube_config_from_memory((const char *)text, len, name, NULL, &cfg, err, sizeof(err)) <
                    0 ||
            kube_client_new(&(struct kube_client_options){.config = cfg,
                                                          .timeout_ms = 15000,
                                                          .connect_timeout_ms = 5000},
                            &c) < 0) {
                snprintf(why, whylen, "a usable admin kubeconfig in Secret %s: %s", name,
                         cfg    ? "cannot make a client"
                         : text ? err
                                : "not base64");
                free(text);
                kube_config_free(cfg);
                return NULL;
        }
        free(text);
        manager_observe_client(kc->m, c);
        snprintf(p->server, sizeof(p->server), "%s", cfg->server);
        kube_config_free(cfg);
        kube_client_free(p->client);
        p->client = c;
        snprintf(p->sum, sizeof(p->sum), "%s", sum);
        /* another server or other credentials: what was checked before proves nothing */
        memset(p->applied, 0, sizeof(p->applied));
        memset(p->hook, 0, sizeof(p->hook));
        return c;
}

/* An APIService that is not Available: why, into buf; NULL when it is. */
static const char *apiservice_unavailable(const cJSON *live, char *buf, size_t size)
{
        const cJSON *c;

        cJSON_ArrayForEach(c,
                           cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(live, "status"), "conditions"))
        {
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
                            struct ko_memo *memo)
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
                                      ko_annotation(d->objs[j].obj, KO_HASH_ANNOTATION));
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
                r = ko_apply_if_changed(c, o->resource, meta_str(o->obj, "namespace"), o->obj,
                                        &live, &st);
                if (r < 0 && st.code == 0) {
                        /* not (yet) reachable: a rollout that has not finished, as a rule */
                        step_set(s, false, "Waiting", "the Karmada API server at %s: %s", p->server,
                                 st.message);
                        return -1;
                }
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

/* Delete what the operator made in the Karmada API server (label KO_LABEL_RECONCILER) and no
 * reconciler wants any more: a feature switched off. Listed only when the set of wanted objects
 * changed since the last clean pass (and once after a start): reads, and writes only to delete. */
static void prune_in_karmada(struct kctl *kc, const struct karmada *k, const struct desired *d,
                             struct observation *ob, const char *key)
{
        struct kube_delete_options del = {.propagation = KUBE_PROPAGATION_BACKGROUND};
        struct kube_list_options lo = {.label_selector = KO_LABEL_RECONCILER};
        struct strbuf all = {0};
        char fp[SHA256_HEX_LEN], why[512];
        struct plane *p = plane_get(kc, key);
        struct kube_client *c;
        int failures = 0;

        if (!p)
                return;
        for (size_t j = 0; j < d->n; j++) {
                const char *ns = meta_str(d->objs[j].obj, "namespace");
                if (d->objs[j].in_karmada)
                        strbuf_printf(&all, "%s/%s/%s;", d->objs[j].resource->resource,
                                      ns ? ns : "", meta_str(d->objs[j].obj, "name"));
        }
        strbuf_printf(&all, "%s", p->sum);
        sha256_hex(all.buf, all.len, fp);
        strbuf_free(&all);
        if (strcmp(p->pruned, fp) == 0)
                return;
        c = plane_client(kc, p, k, ob, why, sizeof(why));
        if (!c)
                return;
        for (const struct kube_resource *const *r = ko_karmada_prunable; *r; r++) {
                struct kube_status st;
                cJSON *list = NULL;
                const cJSON *o;
                int rc = kube_list(c, *r, NULL, &lo, &list, &st);

                if (rc == -ENOENT) /* that API is not served (yet): nothing of it to delete */
                        continue;
                if (rc < 0) {
                        log_warn("cannot list what the operator made in the Karmada API server",
                                 "karmada", key, "kind", (*r)->kind, "error", st.message);
                        failures++;
                        continue;
                }
                cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(list, "items"))
                {
                        const char *ns = meta_str(o, "namespace"), *name = meta_str(o, "name");
                        if (!name || wanted(d, true, *r, ns, name))
                                continue;
                        log_info("deleting what is no longer wanted in the Karmada API server",
                                 "karmada", key, "kind", (*r)->kind, "name", name);
                        rc = kube_delete(c, *r, ns, name, &del, &st);
                        if (rc < 0 && rc != -ENOENT) {
                                log_warn("cannot delete", "karmada", key, "kind", (*r)->kind,
                                         "name", name, "error", st.message);
                                failures++;
                        }
                }
                cJSON_Delete(list);
        }
        if (!failures)
                memcpy(p->pruned, fp, sizeof(fp));
}

/* After a step's host objects are rolled out: its objects in the Karmada API server, then its
 * reconcile hook. */
static void step_in_karmada(struct kctl *kc, const struct karmada *k, struct desired *d,
                            struct observation *ob, struct step *s, int i, const char *key)
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
                                                      .host = kc->client,
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

/* Apply what differs, step by step; fills steps[]. Returns the number of objects written. */
static int apply_steps(struct kctl *kc, const struct karmada *k, struct desired *d,
                       struct observation *ob, struct step *steps, int n, const char *key,
                       bool ordered)
{
        struct kube_write_options wo = {.field_manager = KO_MANAGER, .force = true};
        int written = 0;

        for (int i = 0; i < n; i++) {
                struct step *s = &steps[i];
                const char *blocking = NULL, *waiting;
                char why[512] = "";
                bool deps = true, rolled = true;

                if (!s->enabled)
                        continue;
                /* an upgrade: one step at a time, each after every step before it is done */
                for (int j = 0; ordered && j < i && deps; j++)
                        if (steps[j].enabled && !steps[j].ready)
                                deps = false, blocking = steps[j].rec->name;
                for (const char *const *a = s->rec->after; a && *a && deps; a++)
                        deps = dep_ready(steps, i, *a, &blocking);
                if (!deps) {
                        step_set(s, false, "Waiting", "waiting for %s", blocking);
                        continue;
                }
                step_set(s, true, "Ready", "ready");
                for (size_t j = 0; j < d->n; j++) {
                        struct desired_object *o = &d->objs[j];
                        const char *name = meta_str(o->obj, "name");
                        const cJSON *live;
                        cJSON *applied = NULL;
                        struct kube_status st;

                        if (strcmp(o->owner, s->rec->name) != 0 || o->in_karmada)
                                continue;
                        live = observe(ob, o->resource, k->namespace, name);
                        if (!ko_in_sync(o->obj, live, why, sizeof(why))) {
                                log_debug("applying", "karmada", k->name, "kind", o->resource->kind,
                                          "name", name, "because", why);
                                if (kube_apply(kc->client, o->resource, k->namespace, o->obj, &wo,
                                               &applied, &st) < 0) {
                                        step_set(s, false, "ApplyFailed", "%s %s: %s",
                                                 o->resource->kind, name, st.message);
                                        s->failed = true;
                                        break;
                                }
                                written++;
                                live = applied;
                                if (observation_set(ob, o->resource, k->namespace, name, applied) <
                                    0)
                                        live = NULL;
                        }
                        if (o->workload && rolled && !ko_rollout_done(live, why, sizeof(why))) {
                                step_set(s, false, "Progressing", "%s %s: %s", o->resource->kind,
                                         name, why);
                                rolled = false;
                        }
                }
                if (s->failed || !s->ready)
                        continue;
                waiting = desired_waiting(d, s->rec->name);
                if (waiting)
                        step_set(s, false, "Waiting", "waiting for %s", waiting);
                else
                        step_in_karmada(kc, k, d, ob, s, i, key);
        }
        return written;
}

/* ---- upgrades ---- */

static const char *cond_field(const cJSON *conds, const char *type, const char *field)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ko_condition_get(conds, type), field);

        return cJSON_IsString(v) ? v->valuestring : "";
}

/* The spec that was last all Ready (status.lastReadySpec), parsed; NULL when there is none or
 * when it is the spec itself (the steady state: nothing to compare, nothing to parse twice). */
static struct karmada *last_ready(const cJSON *cr, const cJSON *status)
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
        if (karmada_parse(copy, &k, NULL) < 0)
                k = NULL;
        cJSON_Delete(copy);
        return k;
}

/* The first component whose image differs between a and b, or NULL. */
static const char *image_change(const struct karmada *a, const struct karmada *b)
{
        for (int i = 0; i < KO_N_COMPONENTS; i++)
                if (a->comp[i].enabled && b->comp[i].enabled &&
                    strcmp(a->comp[i].image, b->comp[i].image) != 0)
                        return ko_components[i].spec_key;
        return NULL;
}

/* A change that is not made: Ready=False with the reason, nothing applied; a Warning Event
 * and a log line when the reason is new, if `report`. */
static void refuse(struct kctl *kc, const cJSON *cr, cJSON *status, long long generation,
                   const char *reason, const char *message, bool report,
                   struct reconcile_outcome *out)
{
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
        struct kube_status st = {0};

        if (report && strcmp(cond_field(conds, "Ready", "reason"), reason) != 0) {
                events_record(kc->events, cr, "Warning", reason, "Upgrade", "%s", message);
                log_warn("change refused", "karmada", meta_str(cr, "name"), "namespace",
                         meta_str(cr, "namespace"), "reason", reason, "message", message);
        }
        ko_condition_set(conds, "Ready", KO_FALSE, reason, message, generation);
        set_num(status, "observedGeneration", (double)generation);
        if (write_status(kc, cr, status, &st) < 0) {
                out->result = st.code == 409 ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "write status: %s", st.message);
        }
}

/* The backup an upgrade waits for when the annotation asks for one (from the template of the
 * KarmadaBackupSchedule it names): 0 when there is none to wait for or it Completed, 1 while it
 * runs (msg says so), -1 when it failed or cannot be made (msg says why). */
static int pre_upgrade_backup(struct kctl *kc, const cJSON *cr, const struct karmada *k, char *msg,
                              size_t size)
{
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cr, "metadata"), "annotations");
        const char *sched = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(ann, KO_BACKUP_BEFORE_UPGRADE_ANNOTATION));
        const char *phase, *why;
        char name[256], ver[64];
        struct kube_status st;
        cJSON *b = NULL, *s = NULL, *obj, *meta;
        int r;

        if (!sched || !*sched)
                return 0;
        snprintf(ver, sizeof(ver), "%s", k->version);
        for (char *c = ver; *c; c++)
                if (*c == '.' || *c == '+' || *c == '_')
                        *c = '-';
        snprintf(name, sizeof(name), "%.60s-pre-%s-g%lld", k->name, ver, k->generation);
        for (char *c = name; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
        r = kube_get(kc->client, &ko_karmadabackups, k->namespace, name, &b, &st);
        if (r == 0) {
                phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(b, "status"), "phase"));
                why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(b, "status"), "message"));
                r = phase && strcmp(phase, "Completed") == 0 ? 0
                    : phase && strcmp(phase, "Failed") == 0  ? -1
                                                             : 1;
                if (r < 0)
                        snprintf(msg, size,
                                 "the backup before the upgrade to %s failed (KarmadaBackup %s: "
                                 "%s); nothing was upgraded. Delete it to try again, or remove "
                                 "the annotation " KO_BACKUP_BEFORE_UPGRADE_ANNOTATION,
                                 k->version, name, why ? why : "no message");
                else if (r > 0)
                        snprintf(msg, size,
                                 "backing up before the upgrade to %s: KarmadaBackup "
                                 "%s is %s%s%s",
                                 k->version, name, phase ? phase : "new", why ? ": " : "",
                                 why ? why : "");
                cJSON_Delete(b);
                return r;
        }
        if (r != -ENOENT) {
                snprintf(msg, size, "get KarmadaBackup %s: %s", name, st.message);
                return 1;
        }
        r = kube_get(kc->client, &ko_karmadabackupschedules, k->namespace, sched, &s, &st);
        if (r < 0) {
                snprintf(msg, size,
                         "metadata.annotations[" KO_BACKUP_BEFORE_UPGRADE_ANNOTATION
                         "]: KarmadaBackupSchedule %s: %s",
                         sched, r == -ENOENT ? "not found" : st.message);
                return r == -ENOENT ? -1 : 1;
        }
        obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "apiVersion", "operator.karmada.io/v1alpha1");
        cJSON_AddStringToObject(obj, "kind", "KarmadaBackup");
        meta = cJSON_AddObjectToObject(obj, "metadata");
        cJSON_AddStringToObject(meta, "name", name);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"),
                                "operator.karmada.io/pre-upgrade", k->name);
        cJSON_AddItemToObject(
                obj, "spec",
                cJSON_Duplicate(
                        cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(s, "spec"), "template"),
                                "spec"),
                        true));
        /* whatever the template says, it is this instance that is backed up */
        cJSON_ReplaceItemInObjectCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"),
                                                 "karmadaRef"),
                "name", cJSON_CreateString(k->name));
        r = kube_create(kc->client, &ko_karmadabackups, k->namespace, obj, NULL, NULL, &st);
        cJSON_Delete(obj);
        cJSON_Delete(s);
        if (r < 0 && r != -EEXIST) {
                snprintf(msg, size, "create KarmadaBackup %s: %s", name, st.message);
                return r == -EINVAL ? -1 : 1;
        }
        snprintf(msg, size, "backing up before the upgrade to %s: KarmadaBackup %s created",
                 k->version, name);
        return 1;
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
                if (strcmp(cond_field(conds, "Upgrading", "reason"), "Upgraded") != 0)
                        events_record(kc->events, cr, "Normal", "Upgraded", "Upgrade", "%s", msg);
                ko_condition_set(conds, "Upgrading", KO_FALSE, "Upgraded", msg, k->generation);
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
                ko_condition_set(conds, "Upgrading", KO_FALSE, "UpgradeFailed", msg, k->generation);
                return 0;
        }
        snprintf(msg, sizeof(msg), "%s to %s: step %d of %d, %s: %s", from, k->version, cur_pos,
                 total, steps[cur].rec->name, steps[cur].message);
        ko_condition_set(conds, "Upgrading", KO_TRUE, "Upgrading", msg, k->generation);
        return left;
}

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
                forget_status(kc, key);
                plane_forget(kc, key);
                return;
        }
        if (meta_str(obj->json, "deletionTimestamp")) {
                finalize(kc, obj->json, out);
                goto done;
        }
        if (finalizer_index(obj->json) < 0 && add_finalizer(kc, obj->json, &st) < 0) {
                out->result =
                        st.code == 409 || st.code == 422 ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "add finalizer: %s", st.message);
                goto done;
        }
        r = karmada_parse(obj->json, &k, &serr);
        if (r == -EINVAL) {
                invalid(kc, obj->json, serr.message, out);
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
                set_num(status, "observedGeneration", (double)k->generation);
                if (write_status(kc, obj->json, status, &st) < 0)
                        log_warn("write status", "karmada", key, "error", st.message);
                goto done;
        }
        ko_condition_remove(conds, "Suspended");
        if (k->host_secret_name) {
                refuse(kc, obj->json, status, k->generation, "HostClusterUnsupported",
                       "spec.hostCluster.secretRef: installing into another cluster is not "
                       "supported yet",
                       false, out);
                goto done;
        }
        /* a change of version or images is an upgrade: checked, ordered, rolled back when a
         * step does not finish in time (then `run` is the last spec that was Ready) */
        last = last_ready(obj->json, status);
        running = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "karmadaVersion"));
        if (ko_upgrade_check(running, k->version, k->allow_downgrade, msg, sizeof(msg)) < 0) {
                refuse(kc, obj->json, status, k->generation, "UpgradeRefused", msg, true, out);
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
                refuse(kc, obj->json, status, k->generation, "EtcdScalingRefused", msg, true, out);
                goto done;
        }
        if (last && (strcmp(last->version, k->version) != 0 || image_change(last, k))) {
                const cJSON *g = cJSON_GetObjectItemCaseSensitive(
                        ko_condition_get(conds, "Upgrading"), "observedGeneration");
                upgrading = true;
                rollback = strcmp(cond_field(conds, "Upgrading", "reason"), "UpgradeFailed") == 0 &&
                           cJSON_IsNumber(g) && (long long)g->valuedouble == k->generation;
        }
        if (upgrading && !rollback) {
                r = pre_upgrade_backup(kc, obj->json, k, msg, sizeof(msg));
                if (r < 0) {
                        refuse(kc, obj->json, status, k->generation, "PreUpgradeBackupFailed", msg,
                               true, out);
                        goto done;
                }
                if (r > 0) { /* the upgrade waits; the instance stays as it runs */
                        ko_condition_set(conds, "Upgrading", KO_TRUE, "BackingUp", msg,
                                         k->generation);
                        if (write_status(kc, obj->json, status, &st) < 0)
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
        apply_steps(kc, run, &d, ob, steps, n, key, upgrading && !rollback);
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
            delete_owned(kc, k->namespace, k->name, &d, err, sizeof(err)) < 0)
                log_warn("cannot delete what is no longer wanted", "karmada", key, "error", err);
        if (all_ready && !any_failed)
                prune_in_karmada(kc, run, &d, ob, key);
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
                        snprintf(msg, sizeof(msg), "%s", cond_field(conds, "Upgrading", "message"));
                } else if (rollback && all_ready) {
                        reason = "RolledBack";
                        if (strcmp(cond_field(conds, "Ready", "reason"), reason) != 0)
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
        set_num(status, "observedGeneration", (double)k->generation);
        if (all_ready && left != 0) {
                set_str(status, "karmadaVersion", run->version);
                set_str(status, "kubernetesVersion", run->comp[KO_APISERVER].image_tag);
        }
        if (all_ready && !rollback) /* what an upgrade that fails returns to */
                set_obj(status, "lastReadySpec",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(obj->json, "spec"), true));
        {
                char admin[KO_NAME_MAX + 16], svc[KO_NAME_MAX + 16];
                ko_name(k->prefix, "admin-config", admin, sizeof(admin));
                ko_name(k->prefix, "apiserver", svc, sizeof(svc));
                if (observe(ob, &kube_secrets, k->namespace, admin)) {
                        cJSON *ref = cJSON_CreateObject();
                        cJSON_AddStringToObject(ref, "name", admin);
                        cJSON_AddStringToObject(ref, "namespace", k->namespace);
                        set_obj(status, "secretRef", ref);
                }
                if (observe(ob, &kube_services, k->namespace, svc)) {
                        cJSON *ref = cJSON_CreateObject();
                        cJSON_AddStringToObject(ref, "name", svc);
                        set_obj(status, "apiServerService", ref);
                }
        }
        if (write_status(kc, obj->json, status, &st) < 0) {
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
                written_free(hashmap_entry_value(e));
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
