/* SPDX-License-Identifier: Apache-2.0 */
/* The release catalog in the cluster: KarmadaRelease objects, cached by an informer and looked
 * up by name when a Karmada's spec is parsed; a change to one reconciles every instance that
 * names it. Their own reconcile keeps their status (Valid; inUse: the instances that name or
 * run it) and, while one is in use, a finalizer that holds its deletion back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/release_catalog.h"
#include "karmada/spec.h"
#include "util/macro.h"

/* an operator of every namespace's finalizer; one of a namespace: <prefix>/<namespace> */
#define RELEASE_FINALIZER           "operator.karmada.io/release-in-use"
#define RELEASE_FINALIZER_NS_PREFIX "release-in-use.operator.karmada.io"
#define BY_RELEASE                  "release"

/* the catalog's lookup: a copy from the cache */
static cJSON *lookup(const char *name, void *ctx)
{
        struct kctl *kc = ctx;
        struct kobj *o = store_get(informer_store(kc->releases), name);
        cJSON *copy = o ? cJSON_Duplicate(kobj_json(o), true) : NULL;

        kobj_unref(o);
        return copy;
}

static const char *version_at(const cJSON *o, const char *part)
{
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(o, part), "karmadaVersion"));
}

/* a Karmada indexed by the releases it names (spec) and runs (status) */
static void index_release(const cJSON *obj, const void *arg, store_emit_fn emit, void *ctx)
{
        const char *want = version_at(obj, "spec"), *run = version_at(obj, "status");

        (void)arg;
        if (want)
                emit(ctx, want);
        if (run && (!want || strcmp(want, run) != 0))
                emit(ctx, run);
}

static bool same(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Karmada events: the releases it named or names, and ran or runs, when that changed */
void releases_karmada_changed(struct kctl *kc, const cJSON *old, const cJSON *new)
{
        const char *names[4] = {
                old ? version_at(old, "spec") : NULL, old ? version_at(old, "status") : NULL,
                new ? version_at(new, "spec") : NULL, new ? version_at(new, "status") : NULL};

        if (old && new &&same(names[0], names[2]) && same(names[1], names[3]))
                return;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i])
                        wq_add(controller_queue(kc->rctl), names[i]);
}

/* KarmadaRelease events: its own reconcile, and every Karmada that names or runs it */
static void release_event(struct kctl *kc, struct kobj *o)
{
        struct kobj **list = NULL;
        size_t n = 0;

        wq_add(controller_queue(kc->rctl), o->key);
        if (store_by_index(informer_store(kc->karmadas), BY_RELEASE, o->key, &list, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                wq_add(controller_queue(kc->ctrl), list[i]->key);
        store_list_free(list, n);
}

static void release_add(void *userdata, struct kobj *o)
{
        release_event(userdata, o);
}

/* its status is its own reconcile's: only spec and metadata changes count */
static void release_update(void *userdata, struct kobj *old, struct kobj *new)
{
        const cJSON *om = cJSON_GetObjectItemCaseSensitive(kobj_json(old), "metadata");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(kobj_json(new), "metadata");

        if (old == new ||
            !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(kobj_json(old), "spec"),
                           cJSON_GetObjectItemCaseSensitive(kobj_json(new), "spec"), true) ||
            !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(om, "deletionTimestamp"),
                           cJSON_GetObjectItemCaseSensitive(nm, "deletionTimestamp"), true) ||
            !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(om, "finalizers"),
                           cJSON_GetObjectItemCaseSensitive(nm, "finalizers"), true))
                release_event(userdata, new);
}

static void release_delete(void *userdata, struct kobj *o)
{
        release_event(userdata, o);
}

/* ---- the reconcile of one KarmadaRelease ---- */

/* Several operators may share a cluster, each watching its own namespaces: each keeps only its
 * own part of an entry - its key of status.inUse (its --watch-namespace, "*" for an operator of
 * every namespace) and its own finalizer - so that none undoes another's. */
static const char *scope_of(const struct kctl *kc)
{
        return kc->o.namespace ? kc->o.namespace : "*";
}

/* <prefix>/<namespace>; of several, their names joined by dots (a finalizer's name cannot hold a
 * comma), or past 63 characters "ns-" and the start of their digest */
static void finalizer_of(const struct kctl *kc, char *buf, size_t size)
{
        char name[64], digest[SHA256_HEX_LEN];
        const char *ns = kc->o.namespace;

        if (!ns) {
                snprintf(buf, size, "%s", RELEASE_FINALIZER);
                return;
        }
        if (strlen(ns) < sizeof(name)) {
                snprintf(name, sizeof(name), "%s", ns);
                for (char *c = strchr(name, ','); c; c = strchr(c, ','))
                        *c = '.';
        } else {
                sha256_hex(ns, strlen(ns), digest);
                snprintf(name, sizeof(name), "ns-%.24s", digest);
        }
        snprintf(buf, size, "%s/%s", RELEASE_FINALIZER_NS_PREFIX, name);
}

static int by_key(const void *a, const void *b)
{
        return strcmp((*(struct kobj *const *)a)->key, (*(struct kobj *const *)b)->key);
}

/* The status patch of this operator, or NULL when the status already says it: its key of
 * inUse (the instances of its scope that name or run the entry; null when none), and Valid
 * (the same from every operator: it depends on the spec alone). A namespaced operator that
 * never used the entry writes nothing, so that an entry is not written by every operator of
 * the cluster when it appears. */
static cJSON *status_patch(const struct kctl *kc, const cJSON *obj, struct kobj **list, size_t n)
{
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, "status");
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "generation");
        const cJSON *had = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(old, "inUse"), scope_of(kc));
        cJSON *conds = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(old, "conditions"), true);
        cJSON *mine = n ? cJSON_CreateArray() : cJSON_CreateNull(), *patch, *st;
        struct karmada_release r;
        bool changed;
        char msg[1024];

        /* an operator of some namespaces that has nothing to say of an entry leaves it alone:
         * its Valid is the operator of every namespace's, or of one that uses it */
        if (!n && !had && strcmp(scope_of(kc), "*") != 0) {
                cJSON_Delete(conds);
                cJSON_Delete(mine);
                return NULL;
        }
        qsort(list, n, sizeof(*list), by_key); /* the same list, the same text */
        for (size_t i = 0; n && i < n; i++)
                cJSON_AddItemToArray(mine, cJSON_CreateString(list[i]->key));
        if (!conds)
                conds = cJSON_CreateArray();
        if (release_from_object(obj, &r, msg, sizeof(msg)) < 0)
                changed = condition_set(conds, "Valid", KO_FALSE, "InvalidSpec", msg,
                                        cJSON_IsNumber(gen) ? (long long)gen->valuedouble : 0);
        else
                changed = condition_set(conds, "Valid", KO_TRUE, "Valid", "the release can be run",
                                        cJSON_IsNumber(gen) ? (long long)gen->valuedouble : 0);
        changed = changed || (n ? !cJSON_Compare(had, mine, true) : had != NULL);
        if (!changed) {
                cJSON_Delete(conds);
                cJSON_Delete(mine);
                return NULL;
        }
        patch = cJSON_CreateObject();
        st = cJSON_AddObjectToObject(patch, "status");
        cJSON_AddItemToObject(cJSON_AddObjectToObject(st, "inUse"), scope_of(kc), mine);
        cJSON_AddItemToObject(st, "conditions", conds);
        return patch;
}

static int write_status(struct kctl *kc, const cJSON *obj, struct kobj **list, size_t n,
                        struct kube_status *st)
{
        cJSON *patch = status_patch(kc, obj, list, n);
        char *body;
        int r;

        if (!patch)
                return 0;
        body = cJSON_PrintUnformatted(patch);
        cJSON_Delete(patch);
        if (!body)
                return -ENOMEM;
        r = kube_patch(kc->client, &karmada_releases, NULL, meta_str(obj, "name"), KUBE_PATCH_MERGE,
                       body, &(struct kube_write_options){.subresource = "status"}, NULL, st);
        free(body);
        return r;
}

static void reconcile_release(void *userdata, const char *key, struct reconcile_outcome *out)
{
        struct kctl *kc = userdata;
        struct kobj *o = store_get(informer_store(kc->releases), key);
        struct kube_status st = {0};
        struct kobj **list = NULL;
        char fin[256];
        size_t n = 0;
        int r;

        if (!o)
                return;
        if (store_by_index(informer_store(kc->karmadas), BY_RELEASE, key, &list, &n) < 0) {
                kobj_unref(o);
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "out of memory");
                return;
        }
        finalizer_of(kc, fin, sizeof(fin));
        /* in use: the finalizer before the status says so; unused: the status first (without
         * the finalizer a deleted entry goes at once) */
        if (n > 0) {
                r = gc_set_finalizer(kc, &karmada_releases, kobj_json(o), fin, true, &st);
                if (r >= 0)
                        r = write_status(kc, kobj_json(o), list, n, &st);
        } else {
                r = write_status(kc, kobj_json(o), list, n, &st);
                if (r >= 0)
                        r = gc_set_finalizer(kc, &karmada_releases, kobj_json(o), fin, false, &st);
        }
        if (r < 0 && r != -ENOENT) {
                out->result = r == -EBUSY || r == -EINVAL ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "KarmadaRelease %s: %s", key, st.message);
        }
        store_list_free(list, n);
        kobj_unref(o);
}

int releases_setup(struct kctl *kc)
{
        static const struct informer_handlers handlers = {
                .on_add = release_add, .on_update = release_update, .on_delete = release_delete};
        int r;

        r = store_add_index(informer_store(kc->karmadas), BY_RELEASE, index_release, NULL);
        if (r < 0)
                return r;
        r = controller_new(&(struct controller_options){.name = "karmadarelease",
                                                        .workers = 1,
                                                        .reconcile = reconcile_release,
                                                        .userdata = kc,
                                                        .metrics = manager_metrics(kc->m)},
                           &kc->rctl);
        if (r < 0)
                return r;
        r = informer_new(&(struct informer_options){.client = kc->client,
                                                    .resource = &karmada_releases,
                                                    .handlers = &handlers,
                                                    .userdata = kc,
                                                    .name = "karmadareleases"},
                         &kc->releases);
        if (r < 0)
                return r;
        manager_add_informer(kc->m, kc->releases);
        release_catalog_set(lookup, kc);
        return manager_add_controller(kc->m, kc->rctl);
}
