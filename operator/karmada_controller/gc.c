/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection: the finalizer, deleting what an instance no longer wants in the host
 * cluster and in its Karmada API server, and what is left when the instance is deleted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "runtime/log.h"
#include "util/digest.h"
#include "util/json.h"
#include "util/strbuf.h"

int gc_finalizer_index(const cJSON *obj, const char *name)
{
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
        int i = 0;
        const cJSON *e;

        cJSON_ArrayForEach (e, f) {
                if (cJSON_IsString(e) && strcmp(e->valuestring, name) == 0)
                        return i;
                i++;
        }
        return -1;
}

int gc_set_finalizer(struct kctl *kc, const struct kube_resource *r, const cJSON *obj,
                     const char *name, bool on, struct kube_status *st)
{
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
        int at = gc_finalizer_index(obj, name);
        char body[768];

        if (on == (at >= 0))
                return 0;
        if (on) /* a test on the resourceVersion makes it a compare-and-swap */
                snprintf(body, sizeof(body),
                         "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":"
                         "\"%s\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers%s\",\"value\":"
                         "%s\"%s\"%s}]",
                         meta_str(obj, "resourceVersion"), f ? "/-" : "", f ? "" : "[", name,
                         f ? "" : "]");
        else
                snprintf(body, sizeof(body),
                         "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/%d\",\"value\":"
                         "\"%s\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/%d\"}]",
                         at, name, at);
        return kube_patch(kc->client, r, meta_str(obj, "namespace"), meta_str(obj, "name"),
                          KUBE_PATCH_JSON, body, NULL, NULL, st);
}

/* Objects of an instance in the caches, by label: in another cluster, by its owner's uid too
 * (another operator's instance of that name may live there). */
static bool belongs(struct kobj *o, const char *ns, const char *name, const char *uid)
{
        const cJSON *labels = json_at(kobj_json(o), "metadata", "labels");
        const char *inst = json_str(labels, KO_LABEL_INSTANCE, NULL);
        const char *owner = json_str(labels, KO_LABEL_OWNER_UID, NULL);
        const char *ons = meta_str(kobj_json(o), "namespace");

        return inst && strcmp(inst, name) == 0 && ons && strcmp(ons, ns) == 0 &&
               (!uid || (owner && strcmp(owner, uid) == 0));
}

/* Delete the objects of an instance (its uid) in the host's caches that keep does not list
 * (NULL: all of them). Returns how many were deleted, or -EIO (err says the last failure). */
static int delete_owned(struct host *h, const char *ns, const char *instance, const char *uid,
                        const struct desired *keep, char *err, size_t errlen)
{
        struct kube_delete_options del = {.propagation = KUBE_PROPAGATION_BACKGROUND};
        const char *owner = h->key[0] ? uid : NULL; /* labelled so in another cluster only */
        int deleted = 0, failures = 0;

        for (size_t i = 0; i < DESIRED_N_OWNED; i++) {
                struct kobj **l;
                size_t n;
                if (store_list(informer_store(h->owned[i]), &l, &n) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < n; j++) {
                        const char *name = meta_str(kobj_json(l[j]), "name");
                        struct kube_status st;
                        int r;
                        if (!belongs(l[j], ns, instance, owner) ||
                            desired_wants(keep, false, desired_owned[i], NULL, name))
                                continue;
                        if (keep)
                                log_info("deleting what is no longer wanted", "karmada", instance,
                                         "kind", desired_owned[i]->kind, "name", name);
                        r = kube_delete(h->client, desired_owned[i], ns, name, &del, &st);
                        if (r < 0 && r != -ENOENT) {
                                snprintf(err, errlen, "delete %s %s/%s: %s", desired_owned[i]->kind,
                                         ns, name, st.message);
                                failures++;
                        } else {
                                deleted++;
                        }
                }
                store_list_free(l, n);
        }
        return failures ? -EIO : deleted;
}

static int delete_etcd_volumes(struct kube_client *c, const char *ns, const char *prefix, char *err,
                               size_t errlen)
{
        char want[KO_NAME_MAX + 32];
        cJSON *list = NULL;
        const cJSON *pvc;
        int r;

        snprintf(want, sizeof(want), "etcd-data-%s-etcd-", prefix);
        r = kube_list(c, &kube_persistentvolumeclaims, ns, NULL, &list, NULL);
        if (r < 0)
                return r;
        cJSON_ArrayForEach (pvc, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const char *n = meta_str(pvc, "name");
                struct kube_status st;
                if (n && strncmp(n, want, strlen(want)) == 0 &&
                    (r = kube_delete(c, &kube_persistentvolumeclaims, ns, n, NULL, &st)) < 0 &&
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

/* The instance to finalize: its spec, or, when that does not parse (an edit after the install),
 * the last spec that was Ready; NULL when neither does (nothing was installed). */
static struct karmada *instance_of(const cJSON *cr)
{
        struct karmada *k = NULL;

        if (registry_parse(cr, &k, NULL) == 0)
                return k;
        return upgrade_last_ready(cr, cJSON_GetObjectItemCaseSensitive(cr, "status"));
}

/* Every reconciler's finalize hook, with the instance (NULL: none to finalize with). */
static int finalize_hooks(struct kctl *kc, struct host *h, const struct karmada *k, const cJSON *cr,
                          struct reconcile_outcome *out)
{
        int r = 0;

        for (const struct reconciler *const *rec = registry_reconcilers; *rec && r >= 0; rec++) {
                struct reconcile_ctx ctx = {.host = h->client, .events = kc->events, .k = k};
                if (!(*rec)->finalize)
                        continue;
                if (!k) {
                        log_warn("no spec to finalize with: it does not parse and none was Ready",
                                 "karmada", meta_str(cr, "name"), "namespace",
                                 meta_str(cr, "namespace"));
                        break;
                }
                r = (*rec)->finalize(&ctx);
                if (r < 0) {
                        snprintf(out->error, sizeof(out->error), "%s: finalize: %s", (*rec)->name,
                                 strerror(-r));
                        out->result = RECONCILE_ERROR;
                }
        }
        return r;
}

/* The host the instance to finalize ran on, held, its caches filled. NULL when it cannot be had:
 * *gone when it never can (its kubeconfig Secret is missing or unusable, and no host made from it
 * before serves: what was made there stays), else out says why (retried). */
static struct host *finalize_host(struct kctl *kc, const char *key, const cJSON *cr,
                                  const struct karmada *k, bool *gone,
                                  struct reconcile_outcome *out)
{
        char why[768] = "";
        int error;
        struct host *h = hosts_acquire(kc, key, k, &error, why, sizeof(why));

        *gone = !h && (error == -EINVAL || error == -ENOENT);
        if (h && !hosts_synced(h)) {
                snprintf(why, sizeof(why), "the caches of the host cluster fill");
                hosts_release(kc, h);
                h = NULL;
        }
        if (*gone) {
                log_warn("the host cluster cannot be reached: what the instance made there is "
                         "left in place",
                         "karmada", key, "error", why);
                events_record(kc->events, cr, "Warning", "HostClusterGone", "Delete", "%s", why);
        } else if (!h) {
                out->result = RECONCILE_ERROR;
                snprintf(out->error, sizeof(out->error), "finalize: %s", why);
        }
        return h;
}

/* What the instance made in its host cluster, deleted (its etcd's volumes too when asked). */
static int delete_instance(struct host *h, const cJSON *cr, char *err, size_t errlen)
{
        const char *ns = meta_str(cr, "namespace"), *name = meta_str(cr, "name");
        const char *deldata =
                json_str(json_at(cr, "metadata", "annotations"), KO_DELETE_DATA_ANNOTATION, NULL);
        char prefix[KO_NAME_MAX];
        int r = delete_owned(h, ns, name, meta_str(cr, "uid"), NULL, err, errlen);

        if (r >= 0 && deldata && strcmp(deldata, "true") == 0 &&
            names_prefix(name, prefix, sizeof(prefix)) == 0)
                r = delete_etcd_volumes(h->client, ns, prefix, err, errlen);
        return r;
}

void gc_finalize(struct kctl *kc, const char *key, const cJSON *cr, struct reconcile_outcome *out)
{
        const char *ns = meta_str(cr, "namespace"), *name = meta_str(cr, "name");
        const char *nocascade =
                json_str(json_at(cr, "metadata", "labels"), KO_NO_CASCADE_LABEL, NULL);
        bool cascade = !(nocascade && strcmp(nocascade, "true") == 0), gone = false;
        struct karmada *k = NULL;
        struct host *h = NULL;
        struct kube_status st;
        int r;

        if (gc_finalizer_index(cr, KO_FINALIZER) < 0)
                return; /* nothing of ours to do */
        k = instance_of(cr);
        h = finalize_host(kc, key, cr, k, &gone, out);
        if (!h && !gone)
                goto done;
        if (cascade && h && delete_instance(h, cr, out->error, sizeof(out->error)) < 0) {
                out->result = RECONCILE_ERROR;
                goto done;
        }
        if (h && finalize_hooks(kc, h, k, cr, out) < 0)
                goto done;
        r = gc_set_finalizer(kc, &karmada_karmadas, cr, KO_FINALIZER, false, &st);
        if (r < 0 && r != -ENOENT) {
                snprintf(out->error, sizeof(out->error), "remove finalizer: %s", st.message);
                out->result = RECONCILE_ERROR;
                goto done;
        }
        log_info("deleted", "karmada", name, "namespace", ns, "cascade",
                 cascade ? "true" : "false");
done:
        hosts_release(kc, h);
        karmada_free(k);
}

/* Delete the objects of kind r the operator made in the Karmada API server for this instance
 * (selector: label KO_LABEL_RECONCILER and the instance's name) that d does not want; how many
 * could not be listed or deleted. */
static int prune_kind(struct kube_client *c, const struct kube_resource *r, const struct desired *d,
                      const char *selector, const char *key)
{
        struct kube_delete_options del = {.propagation = KUBE_PROPAGATION_BACKGROUND};
        struct kube_list_options lo = {.label_selector = selector};
        struct kube_status st;
        cJSON *list = NULL;
        const cJSON *o;
        int rc = kube_list(c, r, NULL, &lo, &list, &st), failures = 0;

        if (rc == -ENOENT) /* that API is not served (yet): nothing of it to delete */
                return 0;
        if (rc < 0) {
                log_warn("cannot list what the operator made in the Karmada API server", "karmada",
                         key, "kind", r->kind, "error", st.message);
                return 1;
        }
        cJSON_ArrayForEach (o, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const char *ns = meta_str(o, "namespace"), *name = meta_str(o, "name");
                if (!name || desired_wants(d, true, r, ns, name))
                        continue;
                log_info("deleting what is no longer wanted in the Karmada API server", "karmada",
                         key, "kind", r->kind, "name", name);
                rc = kube_delete(c, r, ns, name, &del, &st);
                if (rc < 0 && rc != -ENOENT) {
                        log_warn("cannot delete", "karmada", key, "kind", r->kind, "name", name,
                                 "error", st.message);
                        failures++;
                }
        }
        cJSON_Delete(list);
        return failures;
}

/* Delete what the operator made in the Karmada API server and no reconciler wants any more: a
 * feature switched off. The kinds are those the registry's reconcilers declare. Listed only when
 * the set of wanted objects changed since the last clean pass (and once after a start): reads,
 * and writes only to delete. */
static void prune_in_karmada(struct kctl *kc, const struct karmada *k, const struct desired *d,
                             struct observation *ob, const char *key)
{
        const struct kube_resource *kinds[64];
        struct strbuf all = {0};
        char fp[SHA256_HEX_LEN], why[512], selector[KO_NAME_MAX + 96];
        struct plane *p = plane_get(kc, key);
        struct kube_client *c;
        size_t n_kinds;
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
        /* only this instance's: another's objects there (one Karmada API server behind several
         * instances, as in hack/bench-scale.sh) are not this one's to delete */
        snprintf(selector, sizeof(selector), "%s,%s=%s", KO_LABEL_RECONCILER, KO_LABEL_INSTANCE,
                 k->name);
        n_kinds = registry_karmada_kinds(kinds, sizeof(kinds) / sizeof(kinds[0]));
        for (size_t i = 0; i < n_kinds; i++)
                failures += prune_kind(c, kinds[i], d, selector, key);
        if (!failures)
                memcpy(p->pruned, fp, sizeof(fp));
}

void gc_collect(struct pass *p)
{
        bool all_ready = true, any_waiting = false, any_failed = false;
        char err[1024];

        for (int i = 0; i < p->n; i++) {
                const struct step *s = &p->steps[i];
                if (!s->enabled)
                        continue;
                all_ready = all_ready && s->ready;
                any_waiting = any_waiting || desired_waiting(&p->d, s->rec->name);
                any_failed = any_failed || s->failed;
        }
        /* what was made earlier and is no longer wanted (a component switched off) */
        if (!any_waiting && !any_failed &&
            delete_owned(p->host, p->k->namespace, p->k->name, p->k->uid, &p->d, err, sizeof(err)) <
                    0)
                log_warn("cannot delete what is no longer wanted", "karmada", p->key, "error", err);
        if (all_ready && !any_failed)
                prune_in_karmada(p->kc, p->run, &p->d, p->ob, p->key);
}
