/* SPDX-License-Identifier: Apache-2.0 */
#include "informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util/macro.h"

#define DEFAULT_PAGE_SIZE 500
#define BACKOFF_MIN_MS    200L
#define BACKOFF_MAX_MS    30000L

/* The list and watch of one namespace (or of all), on a thread of its own, into the store */
struct reflector {
        struct informer *inf;
        char *ns; /* NULL: all namespaces */
        pthread_t thread;
        atomic_bool synced;
        atomic_bool watching;   /* its watch is connected */
        unsigned list_failures; /* before the first sync; only its thread */
};

struct informer {
        struct informer_options o;
        struct store *store;
        char *name;
        struct reflector *refl; /* one per namespace watched */
        size_t n_refl;
        bool started;
        struct kube_cancel cancel;
        pthread_mutex_t stats_lock;
        struct informer_stats stats;
        _Atomic time_t last_resync;
};

/* Its namespace, for logs */
static const char *ns_label(const struct reflector *rf)
{
        return rf->ns ? rf->ns : "(all)";
}

/* One reflector per name of the comma-separated list ns (one for all when ns is NULL) */
static int reflectors_new(struct informer *inf, const char *ns)
{
        const char *p = ns;

        inf->n_refl = 1;
        for (; ns && *p; p++)
                inf->n_refl += *p == ',';
        inf->refl = calloc(inf->n_refl, sizeof(*inf->refl));
        if (!inf->refl)
                return -ENOMEM;
        p = ns;
        for (size_t i = 0; i < inf->n_refl; i++) {
                size_t len = ns ? strcspn(p, ",") : 0;
                inf->refl[i].inf = inf;
                if (ns && !(inf->refl[i].ns = strndup(p, len)))
                        return -ENOMEM;
                if (ns && !len)
                        return -EINVAL;
                p += len + (ns && p[len] == ',');
        }
        return 0;
}

static void strip_managed_fields(cJSON *obj)
{
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                                "managedFields");
}

int informer_new(const struct informer_options *o, struct informer **ret)
{
        struct informer *inf;
        int r;

        if (!o->client || !o->resource)
                return -EINVAL;
        inf = calloc(1, sizeof(*inf));
        if (!inf)
                return -ENOMEM;
        inf->o = *o;
        if (!inf->o.transform)
                inf->o.transform = strip_managed_fields;
        if (inf->o.page_size <= 0)
                inf->o.page_size = DEFAULT_PAGE_SIZE;
        inf->store = store_new();
        inf->name = strdup(o->name ? o->name : o->resource->resource);
        pthread_mutex_init(&inf->stats_lock, NULL);
        r = !inf->store || !inf->name ? -ENOMEM : reflectors_new(inf, o->namespace);
        if (r < 0) {
                informer_free(inf);
                return r;
        }
        *ret = inf;
        return 0;
}

void informer_free(struct informer *inf)
{
        if (!inf)
                return;
        informer_stop(inf);
        for (size_t i = 0; inf->refl && i < inf->n_refl; i++)
                free(inf->refl[i].ns);
        free(inf->refl);
        store_free(inf->store);
        free(inf->name);
        pthread_mutex_destroy(&inf->stats_lock);
        free(inf);
}

bool informer_has_synced(struct informer *inf)
{
        for (size_t i = 0; i < inf->n_refl; i++)
                if (!atomic_load(&inf->refl[i].synced))
                        return false;
        return true;
}

bool informer_is_current(struct informer *inf)
{
        for (size_t i = 0; i < inf->n_refl; i++)
                if (!atomic_load(&inf->refl[i].synced) || !atomic_load(&inf->refl[i].watching))
                        return false;
        return true;
}

void informer_wake(struct informer *inf)
{
        kube_wake(&inf->cancel);
}

struct store *informer_store(struct informer *inf)
{
        return inf->store;
}

const char *informer_name(const struct informer *inf)
{
        return inf->name;
}

void informer_get_stats(struct informer *inf, struct informer_stats *ret)
{
        pthread_mutex_lock(&inf->stats_lock);
        *ret = inf->stats;
        pthread_mutex_unlock(&inf->stats_lock);
}

static void count(struct informer *inf, unsigned long *field)
{
        pthread_mutex_lock(&inf->stats_lock);
        (*field)++;
        pthread_mutex_unlock(&inf->stats_lock);
}

/* ---- handlers ---- */

static void dispatch(void *userdata, struct kobj *old, struct kobj *new)
{
        struct informer *inf = userdata;
        const struct informer_handlers *h = inf->o.handlers;

        if (!h)
                return;
        if (!old && new && h->on_add)
                h->on_add(inf->o.userdata, new);
        else if (old && new && h->on_update)
                h->on_update(inf->o.userdata, old, new);
        else if (old && !new && h->on_delete)
                h->on_delete(inf->o.userdata, old);
}

/* ---- list ---- */

static int do_list(struct reflector *rf, char **ret_rv)
{
        struct informer *inf = rf->inf;
        struct kube_list_options lo = {
                .label_selector = inf->o.label_selector,
                .field_selector = inf->o.field_selector,
                .limit = inf->o.page_size,
        };
        struct kube_status st;
        cJSON *list = NULL, *items, *it;
        const cJSON *rv;
        struct kobj **objs = NULL;
        char api_version[128];
        size_t n = 0;
        int r;

        r = kube_list(inf->o.client, inf->o.resource, rf->ns, &lo, &list, &st);
        if (r < 0) {
                /* before the first sync nothing works; say so, but not on every retry */
                if (!atomic_load(&rf->synced) && (rf->list_failures++ % 10) == 0)
                        log_warn(st.code == 404 ? "informer cannot list: the API server does not "
                                                  "serve this resource (is its CRD installed?)"
                                                : "informer cannot list; not ready until it can",
                                 "informer", inf->name, "namespace", ns_label(rf), "error",
                                 st.message);
                else
                        log_debug("informer list failed", "informer", inf->name, "namespace",
                                  ns_label(rf), "error", st.message);
                return r;
        }
        rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(list, "metadata"),
                                              "resourceVersion");
        items = cJSON_GetObjectItemCaseSensitive(list, "items");
        objs = calloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*objs));
        if (!objs || !cJSON_IsString(rv)) {
                r = objs ? -EBADMSG : -ENOMEM;
                goto out;
        }
        kube_resource_api_version(inf->o.resource, api_version, sizeof(api_version));
        while (items && (it = items->child)) {
                struct kobj *o;
                cJSON_DetachItemViaPointer(items, it);
                /* list items come without apiVersion and kind; watch events carry them */
                if (!cJSON_GetObjectItemCaseSensitive(it, "kind")) {
                        cJSON_AddStringToObject(it, "apiVersion", api_version);
                        cJSON_AddStringToObject(it, "kind", inf->o.resource->kind);
                }
                inf->o.transform(it);
                o = kobj_new(it);
                if (o)
                        objs[n++] = o;
        }
        r = store_replace(inf->store, rf->ns, objs, n, dispatch, inf);
        if (r >= 0) {
                *ret_rv = strdup(rv->valuestring);
                r = *ret_rv ? 0 : -ENOMEM;
        }
        count(inf, &inf->stats.lists);
out:
        for (size_t i = 0; i < n; i++)
                kobj_unref(objs[i]);
        free(objs);
        cJSON_Delete(list);
        return r;
}

/* ---- resync and watch ---- */

void informer_resync(struct informer *inf)
{
        struct kobj **l;
        size_t n;

        if (inf->o.resync_seconds <= 0 || !informer_has_synced(inf) ||
            time(NULL) - inf->last_resync < inf->o.resync_seconds)
                return;
        inf->last_resync = time(NULL);
        if (store_list(inf->store, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                dispatch(inf, l[i], l[i]);
        store_list_free(l, n);
}

static int on_event(void *userdata, enum kube_event_type type, cJSON *obj)
{
        struct reflector *rf = userdata;
        struct informer *inf = rf->inf;
        struct kobj *o, *old = NULL;
        cJSON *copy;

        count(inf, &inf->stats.events);
        if (type == KUBE_EVENT_BOOKMARK)
                return 0; /* kube_watch already advanced the resourceVersion */
        copy = cJSON_Duplicate(obj, true);
        if (!copy)
                return -ENOMEM;
        inf->o.transform(copy);
        o = kobj_new(copy);
        if (!o)
                return 0; /* nameless: not something we can cache */
        if (type == KUBE_EVENT_DELETED) {
                if (store_delete(inf->store, o->key, &old) == 0)
                        dispatch(inf, old, NULL);
        } else if (store_upsert(inf->store, o, &old) >= 0) {
                dispatch(inf, old, o);
        }
        kobj_unref(old);
        kobj_unref(o);
        return 0;
}

static long next_backoff(long b)
{
        b = b ? b * 2 : BACKOFF_MIN_MS;
        return b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
}

static void on_watch_state(void *userdata, bool connected)
{
        struct reflector *rf = userdata;

        atomic_store(&rf->watching, connected);
}

static void *run(void *arg)
{
        struct reflector *rf = arg;
        struct informer *inf = rf->inf;
        struct kube_watch_options wo = {
                .label_selector = inf->o.label_selector,
                .field_selector = inf->o.field_selector,
                .cancel = &inf->cancel,
                .on_state = on_watch_state,
        };
        long backoff = 0;

        while (!atomic_load(&inf->cancel.cancelled)) {
                _cleanup_free_ char *rv = NULL;
                struct kube_status st;
                int r;

                r = do_list(rf, &rv);
                if (r < 0) {
                        backoff = next_backoff(backoff);
                        if (kube_sleep(backoff, &inf->cancel) < 0)
                                break;
                        continue;
                }
                atomic_store(&rf->synced, true);
                backoff = 0;
                r = kube_watch(inf->o.client, inf->o.resource, rf->ns, &wo, &rv, on_event, rf, &st);
                if (r == -ECANCELED)
                        break;
                if (r == -ESTALE) {
                        count(inf, &inf->stats.relists_410);
                        log_debug("watch expired; listing again", "informer", inf->name,
                                  "namespace", ns_label(rf), "reason", st.message);
                        continue;
                }
                log_debug("watch failed; listing again", "informer", inf->name, "namespace",
                          ns_label(rf), "error", st.message);
                backoff = next_backoff(backoff);
                if (kube_sleep(backoff, &inf->cancel) < 0)
                        break;
        }
        return NULL;
}

int informer_start(struct informer *inf)
{
        int r = 0;
        size_t i;

        if (inf->started)
                return -EALREADY;
        atomic_store(&inf->cancel.cancelled, false);
        inf->last_resync = time(NULL);
        for (i = 0; i < inf->n_refl && r == 0; i++)
                r = -pthread_create(&inf->refl[i].thread, NULL, run, &inf->refl[i]);
        if (r == 0) {
                inf->started = true;
                return 0;
        }
        kube_cancel(&inf->cancel); /* those started stop */
        for (size_t j = 0; j + 1 < i; j++)
                pthread_join(inf->refl[j].thread, NULL);
        return r;
}

void informer_request_stop(struct informer *inf)
{
        kube_cancel(&inf->cancel);
}

void informer_stop(struct informer *inf)
{
        if (!inf->started)
                return;
        kube_cancel(&inf->cancel);
        for (size_t i = 0; i < inf->n_refl; i++)
                pthread_join(inf->refl[i].thread, NULL);
        inf->started = false;
}
