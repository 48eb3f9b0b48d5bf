/* SPDX-License-Identifier: Apache-2.0 */
/* The clusters the control planes run in: the operator's own, and those a kubeconfig Secret
 * reaches (spec.hostCluster.secretRef). A remote host is one client (one connection pool) and
 * one set of caches of what the operator made there (in the Secret's namespace, the only one
 * its instances use), shared by every instance naming the same Secret: made when the first needs
 * it, made again when the Secret's kubeconfig changes (a new token or certificate), stopped when no
 * instance uses it. A thread probes each remote host's API server; a change of its answer
 * reconciles the instances that run there. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/host_secret.h"
#include "karmada/pod_reason.h"
#include "karmada/sync.h"
#include "kube/nodes.h"
#include "runtime/log.h"
#include "runtime/manager.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/timeutil.h"

#define PROBE_MS 5000 /* how often a remote host's API server is asked */

static int host_init(struct host *h, const char *key)
{
        snprintf(h->key, sizeof(h->key), "%s", key);
        pthread_mutex_init(&h->lock, NULL);
        h->ensured = hashmap_new();
        return h->ensured ? 0 : -ENOMEM;
}

/* The caches of what the operator made in the host, and of its workloads' pods, of namespace
 * ns (NULL: all). A change of any is a reconcile of the instance it is labelled with. */
static int host_informers(struct kctl *kc, struct host *h, const char *ns)
{
        for (size_t i = 0; i < HOST_N_CACHES; i++) {
                const struct kube_resource *res = i == HOST_PODS ? &kube_pods : desired_owned[i];
                int r = informer_new(
                        &(struct informer_options){
                                .client = h->client,
                                .resource = res,
                                .namespace = ns,
                                .label_selector = KO_LABEL_MANAGED_BY "=" KO_MANAGER,
                                .handlers = &owned_handlers,
                                .userdata = kc,
                                .transform = i == HOST_PODS ? pod_trim : sync_trim,
                                .name = res->resource},
                        &h->owned[i]);
                if (r < 0)
                        return r;
        }
        return store_add_index(informer_store(h->owned[HOST_PODS]), HOST_PODS_BY_INSTANCE,
                               store_index_label, KO_LABEL_INSTANCE);
}

/* A remote host nothing holds any more: its caches stopped, its client closed. */
static void host_free(struct host *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < HOST_N_CACHES; i++)
                if (h->owned[i])
                        informer_request_stop(h->owned[i]);
        for (size_t i = 0; i < HOST_N_CACHES; i++)
                informer_free(h->owned[i]); /* stops and joins */
        kube_client_free(h->client);
        hashmap_free(h->ensured);
        pthread_mutex_destroy(&h->lock);
        free(h);
}

void hosts_release(struct kctl *kc, struct host *h)
{
        bool last;

        if (!h || h == &kc->local)
                return;
        pthread_mutex_lock(&kc->hosts_lock);
        last = --h->refs == 0;
        pthread_mutex_unlock(&kc->hosts_lock);
        if (last)
                host_free(h);
}

/* Put h in the map under its key (held there once), the one it replaces released. */
static void hosts_put(struct kctl *kc, struct host *h)
{
        struct host *old = NULL;

        pthread_mutex_lock(&kc->hosts_lock);
        h->refs = 2; /* the map's and the caller's */
        if (hashmap_put(kc->hosts, h->key, h, (void **)&old) < 0)
                h->refs = 1;
        pthread_mutex_unlock(&kc->hosts_lock);
        hosts_release(kc, old);
}

/* A new remote host from a kubeconfig (base64, its digest sum), its caches of namespace ns
 * (the Secret's, so every instance's that names it): -EINVAL when it is not usable. */
static int host_new(struct kctl *kc, const char *key, const char *ns, const char *b64,
                    const char *sum, struct host **ret, char *why, size_t whylen)
{
        struct host *h = calloc(1, sizeof(*h));
        int r = h ? host_init(h, key) : -ENOMEM;

        if (r == 0) {
                r = host_secret_client(b64, key, &h->client, h->server, sizeof(h->server), why,
                                       whylen);
                if (r < 0) { /* why says it */
                        host_free(h);
                        return r;
                }
                snprintf(h->sum, sizeof(h->sum), "%s", sum);
                manager_observe_client(kc->m, h->client);
                r = host_informers(kc, h, ns);
        }
        for (size_t i = 0; r == 0 && i < HOST_N_CACHES; i++)
                r = informer_start(h->owned[i]);
        if (r < 0) {
                snprintf(why, whylen, "host cluster %s: %s", key, strerror(-r));
                host_free(h);
                return r;
        }
        log_info("connected to a host cluster", "host_cluster", key, "server", h->server);
        *ret = h;
        return 0;
}

/* The host in the map under key, held; NULL when there is none */
static struct host *hosts_find(struct kctl *kc, const char *key, const char *sum)
{
        struct host *h;

        pthread_mutex_lock(&kc->hosts_lock);
        h = hashmap_get(kc->hosts, key);
        if (h && (!sum || strcmp(h->sum, sum) == 0))
                h->refs++;
        else
                h = NULL;
        pthread_mutex_unlock(&kc->hosts_lock);
        return h;
}

/* The host of the Secret k's secretRef names, made when there is none or the kubeconfig
 * changed. When the Secret cannot be read (deleted with its namespace, say) the host made
 * before goes on serving. */
static struct host *remote_acquire(struct kctl *kc, const struct karmada *k, int *error, char *why,
                                   size_t whylen)
{
        char key[320], sum[SHA256_HEX_LEN];
        char *b64 = NULL;
        struct host *h;
        int r;

        snprintf(key, sizeof(key), "%s/%s", k->host_secret_namespace, k->host_secret_name);
        r = host_secret_read(kc->client, k->host_secret_namespace, k->host_secret_name, &b64, why,
                             whylen);
        if (r < 0) {
                *error = r;
                return hosts_find(kc, key, NULL);
        }
        sha256_hex(b64, strlen(b64), sum);
        h = hosts_find(kc, key, sum);
        if (!h) {
                pthread_mutex_lock(&kc->hosts_making);
                h = hosts_find(kc, key, sum); /* made meanwhile by another worker */
                if (!h) {
                        r = host_new(kc, key, k->host_secret_namespace, b64, sum, &h, why, whylen);
                        *error = r;
                        if (r == 0)
                                hosts_put(kc, h);
                }
                pthread_mutex_unlock(&kc->hosts_making);
        }
        free_secret(b64, strlen(b64));
        return h;
}

/* Remember that instance `key` runs on host_key ("" for the operator's own cluster); a remote
 * host no instance runs on any more is dropped. */
static void host_used(struct kctl *kc, const char *key, const char *host_key)
{
        char *old, *now = host_key[0] ? strdup(host_key) : NULL;
        struct host *drop = NULL;
        bool still = false;

        pthread_mutex_lock(&kc->hosts_lock);
        old = now ? NULL : hashmap_remove(kc->host_of, key);
        if (now && hashmap_put(kc->host_of, key, now, (void **)&old) < 0) {
                free(now);
                now = NULL;
        }
        if (old && (!now || strcmp(old, now) != 0)) {
                for (const struct hashmap_entry *e = hashmap_first(kc->host_of); e && !still;
                     e = hashmap_next(kc->host_of, e))
                        still = strcmp(hashmap_entry_value(e), old) == 0;
                if (!still && (drop = hashmap_remove(kc->hosts, old)))
                        log_info("no instance runs on a host cluster: disconnected", "host_cluster",
                                 old);
        }
        pthread_mutex_unlock(&kc->hosts_lock);
        free(old);
        hosts_release(kc, drop);
}

struct host *hosts_acquire(struct kctl *kc, const char *key, const struct karmada *k, int *error,
                           char *why, size_t whylen)
{
        struct host *h = &kc->local;

        *error = 0;
        if (k && k->host_secret_name)
                h = remote_acquire(kc, k, error, why, whylen);
        if (h)
                host_used(kc, key, h->key);
        return h;
}

void hosts_forget(struct kctl *kc, const char *key)
{
        host_used(kc, key, "");
}

/* Ask the host's API server for one node, as the kubeconfig's user, once: it answers, and the
 * credentials still work. The failure into why ("" when it answers) and its reason. */
static void probe(struct host *h, char *why, size_t whylen, char *reason, size_t rlen)
{
        struct kube_status st;
        int r = kube_probe(h->client, "/api/v1/nodes?limit=1", PROBE_MS, &st);

        why[0] = reason[0] = '\0';
        if (r >= 0)
                return;
        snprintf(why, whylen, "%s: %s", h->server, st.message[0] ? st.message : strerror(-r));
        snprintf(reason, rlen, "%s",
                 st.code == 401   ? "Unauthorized"
                 : st.code == 403 ? "Forbidden"
                                  : "Unreachable");
}

/* Reconcile the instances that run on host h (hosts_lock held). */
static void enqueue_users(struct kctl *kc, const struct host *h)
{
        for (const struct hashmap_entry *e = hashmap_first(kc->host_of); e;
             e = hashmap_next(kc->host_of, e))
                if (strcmp(hashmap_entry_value(e), h->key) == 0)
                        wq_add(controller_queue(kc->ctrl), hashmap_entry_key(e));
}

/* Probe the remote hosts due, one at a time (each held meanwhile); a host whose answer changed
 * (it went away, it came back) has its instances reconciled. */
static void probe_due(struct kctl *kc)
{
        for (;;) {
                long long now = time_mono_ms();
                struct host *h = NULL;
                char why[sizeof(h->error)], reason[sizeof(h->reason)];
                bool changed;

                pthread_mutex_lock(&kc->hosts_lock);
                for (const struct hashmap_entry *e = hashmap_first(kc->hosts); e && !h;
                     e = hashmap_next(kc->hosts, e)) {
                        struct host *x = hashmap_entry_value(e);
                        if (now - x->probed_ms >= PROBE_MS) {
                                h = x;
                                h->refs++;
                                h->probed_ms = now;
                        }
                }
                pthread_mutex_unlock(&kc->hosts_lock);
                if (!h)
                        return;
                probe(h, why, sizeof(why), reason, sizeof(reason));
                pthread_mutex_lock(&h->lock);
                changed = strcmp(h->reason, reason) != 0;
                snprintf(h->error, sizeof(h->error), "%s", why);
                snprintf(h->reason, sizeof(h->reason), "%s", reason);
                pthread_mutex_unlock(&h->lock);
                if (changed) {
                        log_info(why[0] ? "a host cluster does not answer"
                                        : "a host cluster answers",
                                 "host_cluster", h->key, "error", why[0] ? why : NULL);
                        for (size_t i = 0; !why[0] && i < HOST_N_CACHES; i++)
                                informer_wake(h->owned[i]); /* not 30 s of stale caches */
                        pthread_mutex_lock(&kc->hosts_lock);
                        enqueue_users(kc, h);
                        pthread_mutex_unlock(&kc->hosts_lock);
                }
                hosts_release(kc, h);
        }
}

/* The connections to Karmada API servers and remote hosts idle for PLANE_IDLE_MS closed */
static void close_idle(struct kctl *kc)
{
        size_t n = planes_close_idle(kc);
        char n_s[24];

        pthread_mutex_lock(&kc->hosts_lock);
        for (const struct hashmap_entry *e = hashmap_first(kc->hosts); e;
             e = hashmap_next(kc->hosts, e))
                n += kube_client_close_idle(((struct host *)hashmap_entry_value(e))->client,
                                            PLANE_IDLE_MS);
        pthread_mutex_unlock(&kc->hosts_lock);
        if (n) {
                snprintf(n_s, sizeof(n_s), "%zu", n);
                log_debug("closed idle connections", "connections", n_s);
#ifdef __GLIBC__
                malloc_trim(0); /* their TLS state's pages back to the system, not kept free */
#endif
        }
}

static void *prober(void *arg)
{
        struct kctl *kc = arg;
        long long closed_ms = time_mono_ms();

        while (!__atomic_load_n(&kc->stopping, __ATOMIC_ACQUIRE)) {
                probe_due(kc);
                if (time_mono_ms() - closed_ms >= PLANE_IDLE_MS / 3) {
                        close_idle(kc);
                        closed_ms = time_mono_ms();
                }
                usleep(200 * 1000);
        }
        return NULL;
}

/* The prober stopped, every remote host dropped: when the manager stops (no worker runs), or
 * when it is freed without having run. */
static void hosts_stop(void *data)
{
        struct kctl *kc = data;
        struct hashmap *hosts;

        if (!kc->hosts)
                return;
        __atomic_store_n(&kc->stopping, true, __ATOMIC_RELEASE);
        if (kc->prober_started)
                pthread_join(kc->prober, NULL);
        kc->prober_started = false;
        pthread_mutex_lock(&kc->hosts_lock);
        hosts = kc->hosts;
        kc->hosts = hashmap_new();
        pthread_mutex_unlock(&kc->hosts_lock);
        for (const struct hashmap_entry *e = hashmap_first(hosts); e; e = hashmap_next(hosts, e))
                hosts_release(kc, hashmap_entry_value(e));
        hashmap_free(hosts);
}

int hosts_setup(struct kctl *kc)
{
        int r;

        pthread_mutex_init(&kc->hosts_lock, NULL);
        pthread_mutex_init(&kc->hosts_making, NULL);
        r = host_init(&kc->local, "");
        kc->host_of = hashmap_new();
        kc->hosts = hashmap_new(); /* last: hosts_free() undoes all this once it is set */
        if (r < 0 || !kc->hosts || !kc->host_of)
                return -ENOMEM;
        kc->local.client = kc->client;
        r = host_informers(kc, &kc->local, kc->o.namespace);
        for (size_t i = 0; r == 0 && i < HOST_N_CACHES; i++)
                r = manager_add_informer(kc->m, kc->local.owned[i]);
        if (r == 0)
                r = manager_add_stopper(kc->m, hosts_stop, kc);
        if (r == 0 && pthread_create(&kc->prober, NULL, prober, kc) == 0)
                kc->prober_started = true;
        return r;
}

void hosts_free(struct kctl *kc)
{
        if (!kc->hosts)
                return;
        hosts_stop(kc);
        hashmap_free(kc->hosts);
        for (const struct hashmap_entry *e = hashmap_first(kc->host_of); e;
             e = hashmap_next(kc->host_of, e))
                free(hashmap_entry_value(e));
        hashmap_free(kc->host_of);
        hashmap_free(kc->local.ensured); /* its informers are the manager's */
        pthread_mutex_destroy(&kc->local.lock);
        pthread_mutex_destroy(&kc->hosts_lock);
        pthread_mutex_destroy(&kc->hosts_making);
}

/* The instance's namespace in a remote host, made there once when it is missing. */
static int ensure_namespace(struct host *h, const char *ns, char *why, size_t whylen)
{
        struct kube_status st;
        cJSON *obj = NULL;
        bool known;
        int r;

        pthread_mutex_lock(&h->lock);
        known = hashmap_contains(h->ensured, ns);
        pthread_mutex_unlock(&h->lock);
        if (known)
                return 0;
        r = kube_get(h->client, &kube_namespaces, NULL, ns, NULL, &st);
        if (r == -ENOENT) {
                obj = cJSON_CreateObject();
                cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "metadata"), "name", ns);
                r = kube_create(h->client, &kube_namespaces, NULL, obj, NULL, NULL, &st);
                cJSON_Delete(obj);
                if (r == -EEXIST)
                        r = 0;
        }
        if (r < 0) {
                snprintf(why, whylen, "namespace %s in the host cluster: %s", ns, st.message);
                return r;
        }
        pthread_mutex_lock(&h->lock);
        r = hashmap_put(h->ensured, ns, NULL, NULL);
        pthread_mutex_unlock(&h->lock);
        return r < 0 ? r : 0;
}

struct informer *hosts_cache(struct host *h, const struct kube_resource *r)
{
        for (size_t i = 0; i < DESIRED_N_OWNED; i++)
                if (desired_owned[i] == r)
                        return h->owned[i];
        return NULL;
}

bool hosts_synced(struct host *h)
{
        for (size_t i = 0; i < HOST_N_CACHES; i++)
                if (!informer_has_synced(h->owned[i]))
                        return false;
        return true;
}

/* Every cache of h synced and watching: not as of before an outage */
static bool current(struct host *h)
{
        for (size_t i = 0; i < HOST_N_CACHES; i++)
                if (!informer_is_current(h->owned[i]))
                        return false;
        return true;
}

/* A remote host that cannot be used now: HostClusterReachable=False (for `reason`) and
 * Ready=False, written; looked at again when the prober sees it answer (or in a while: a Secret
 * made later). */
static enum phase unreachable(struct pass *p, const char *reason, const char *why)
{
        char msg[1024];

        snprintf(msg, sizeof(msg), "the host cluster of spec.hostCluster.secretRef: %s", why);
        condition_set(cJSON_GetObjectItemCaseSensitive(p->status, "conditions"),
                      "HostClusterReachable", KO_FALSE, reason, msg, p->k->generation);
        status_refuse(p, "HostClusterUnreachable", msg, true);
        if (p->out->result == RECONCILE_DONE) {
                p->out->result = RECONCILE_REQUEUE_AFTER;
                p->out->requeue_after_ms = 6L * PROBE_MS;
        }
        return PHASE_STOP;
}

enum phase hosts_bind(struct pass *p)
{
        cJSON *conds = cJSON_GetObjectItemCaseSensitive(p->status, "conditions");
        char why[768] = "", msg[1024], reason[32] = "Unreachable";
        int error;

        p->host = hosts_acquire(p->kc, p->key, p->k, &error, why, sizeof(why));
        if (!p->k->host_secret_name) {
                condition_remove(conds, "HostClusterReachable");
                return PHASE_GO;
        }
        if (!p->host && error == -EINVAL) {
                status_invalid(p->kc, kobj_json(p->obj), why, p->out);
                return PHASE_STOP;
        }
        if (p->host) {
                pthread_mutex_lock(&p->host->lock);
                snprintf(why, sizeof(why), "%s", p->host->error);
                if (why[0])
                        snprintf(reason, sizeof(reason), "%s", p->host->reason);
                pthread_mutex_unlock(&p->host->lock);
                if (!why[0] && !hosts_synced(p->host))
                        probe(p->host, why, sizeof(why), reason, sizeof(reason));
        }
        if (!p->host || why[0] || ensure_namespace(p->host, p->k->namespace, why, sizeof(why)) < 0)
                return unreachable(p, reason[0] ? reason : "Unreachable", why);
        if (!current(p->host)) { /* the caches fill, or catch up after an outage: a moment */
                p->out->result = RECONCILE_REQUEUE_AFTER;
                p->out->requeue_after_ms = 500;
                return PHASE_STOP;
        }
        snprintf(msg, sizeof(msg), "the API server at %s answers", p->host->server);
        condition_set(conds, "HostClusterReachable", KO_TRUE, "Reachable", msg, p->k->generation);
        return PHASE_GO;
}

/* The address of one of the host's control-plane nodes (else any node's): looked up once per
 * host (a restart or a new kubeconfig picks up a new one), and while none is found at most once a
 * minute. No timer reads it again: at rest the operator sends nothing. */
const char *hosts_node_address(struct host *h, char *buf, size_t size)
{
        long long now = time_mono_ms();

        pthread_mutex_lock(&h->lock);
        if (h->node_addr[0] || (h->node_at_ms && now - h->node_at_ms < 60000)) {
                snprintf(buf, size, "%s", h->node_addr);
                pthread_mutex_unlock(&h->lock);
                return buf[0] ? buf : NULL;
        }
        pthread_mutex_unlock(&h->lock);
        if (kube_node_address(h->client, buf, size) < 0)
                buf[0] = '\0';
        pthread_mutex_lock(&h->lock);
        snprintf(h->node_addr, sizeof(h->node_addr), "%s", buf);
        h->node_at_ms = now;
        pthread_mutex_unlock(&h->lock);
        return buf[0] ? buf : NULL;
}
