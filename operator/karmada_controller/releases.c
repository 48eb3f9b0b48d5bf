/* SPDX-License-Identifier: Apache-2.0 */
/* The release catalog in the cluster: KarmadaRelease objects, cached by an informer and looked
 * up by name when a Karmada's spec is parsed; a change to one reconciles every instance that
 * names it. Their own reconcile keeps their status (Valid; InUse with the instances that name
 * or run it) and, while one is in use, a finalizer that holds its deletion back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/release_catalog.h"
#include "karmada/spec.h"
#include "runtime/log.h"
#include "util/macro.h"
#include "util/strbuf.h"

#define RELEASE_FINALIZER "operator.karmada.io/release-in-use"
#define BY_RELEASE        "release"

/* the catalog's lookup: a copy from the cache */
static cJSON *lookup(const char *name, void *ctx)
{
        struct kctl *kc = ctx;
        struct kobj *o = store_get(informer_store(kc->releases), name);
        cJSON *copy = o ? cJSON_Duplicate(o->json, true) : NULL;

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
static void release_event(struct kctl *kc, const struct kobj *o)
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
        const cJSON *om = cJSON_GetObjectItemCaseSensitive(old->json, "metadata");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(new->json, "metadata");

        if (old == new ||
            !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(old->json, "spec"),
                           cJSON_GetObjectItemCaseSensitive(new->json, "spec"), true) ||
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

/* status: the instances that name or run it, Valid, InUse */
static cJSON *release_status(const cJSON *obj, struct kobj **list, size_t n, bool deleting)
{
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, "status");
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "generation");
        long long g = cJSON_IsNumber(gen) ? (long long)gen->valuedouble : 0;
        cJSON *st = cJSON_CreateObject(), *inst = cJSON_AddArrayToObject(st, "instances");
        cJSON *conds = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(old, "conditions"), true);
        struct karmada_release r;
        struct strbuf names = {0};
        char msg[1024];

        for (size_t i = 0; i < n; i++) {
                cJSON_AddItemToArray(inst, cJSON_CreateString(list[i]->key));
                strbuf_printf(&names, "%s%s", i ? ", " : "", list[i]->key);
        }
        cJSON_AddNumberToObject(st, "instanceCount", (double)n);
        if (!conds)
                conds = cJSON_CreateArray();
        if (release_from_object(obj, &r, msg, sizeof(msg)) < 0)
                condition_set(conds, "Valid", KO_FALSE, "InvalidSpec", msg, g);
        else
                condition_set(conds, "Valid", KO_TRUE, "Valid", "the release can be run", g);
        if (!n)
                condition_set(conds, "InUse", KO_FALSE, "Unused", "no instance names or runs it",
                              g);
        else {
                snprintf(msg, sizeof(msg), "%s%s",
                         deleting ? "deletion waits until none of "
                                    "these names or runs it: "
                                  : "",
                         names.buf);
                condition_set(conds, "InUse", KO_TRUE, deleting ? "DeletionBlocked" : "InUse", msg,
                              g);
        }
        cJSON_AddItemToObject(st, "conditions", conds);
        strbuf_free(&names);
        return st;
}

/* Write status only when it changed (nothing at rest). */
static int write_status(struct kctl *kc, const cJSON *obj, cJSON *status, struct kube_status *st)
{
        cJSON *patch;
        char *body;
        int r;

        if (cJSON_Compare(cJSON_GetObjectItemCaseSensitive(obj, "status"), status, true))
                return 0;
        patch = cJSON_CreateObject();
        cJSON_AddItemReferenceToObject(patch, "status", status);
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
        size_t n = 0;
        cJSON *status;
        int r;

        if (!o)
                return;
        if (store_by_index(informer_store(kc->karmadas), BY_RELEASE, key, &list, &n) < 0) {
                kobj_unref(o);
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "out of memory");
                return;
        }
        status = release_status(o->json, list, n, meta_str(o->json, "deletionTimestamp"));
        /* in use: the finalizer before the status says so; unused: the status first (without
         * the finalizer a deleted entry goes at once) */
        if (n > 0) {
                r = gc_set_finalizer(kc, &karmada_releases, o->json, RELEASE_FINALIZER, true, &st);
                if (r >= 0)
                        r = write_status(kc, o->json, status, &st);
        } else {
                r = write_status(kc, o->json, status, &st);
                if (r >= 0)
                        r = gc_set_finalizer(kc, &karmada_releases, o->json, RELEASE_FINALIZER,
                                             false, &st);
        }
        if (r < 0) {
                out->result = r == -EBUSY || r == -EINVAL ? RECONCILE_REQUEUE : RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "KarmadaRelease %s: %s", key, st.message);
        }
        cJSON_Delete(status);
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
