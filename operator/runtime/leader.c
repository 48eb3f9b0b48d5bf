/* SPDX-License-Identifier: Apache-2.0 */
#include "leader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util/timeutil.h"
#include "util/random.h"

struct leader {
        struct leader_options o;
        char *identity;
        pthread_t thread;
        bool started;
        atomic_bool stop;
        atomic_bool leading;
        pthread_mutex_t lock;
        /* the last record seen and when (monotonic ms) it last changed */
        char observed_holder[256];
        char observed_renew[64];
        long long observed_ms;
        long long last_renew_ms;
        bool unanswered; /* the last request about the lease had no answer, or a 5xx */
        struct metric_family *m_status;
};

/* Whether the API server answered a request about the lease: said once when it stops (a warning
 * with the error, then quiet while the retries go on) and once when it answers again */
static void answered(struct leader *l, int r, const struct kube_status *st)
{
        bool unanswered = r < 0 && (st->code == 0 || st->code >= 500);

        if (unanswered && !l->unanswered)
                log_warn("the API server does not answer; retrying the lease every retry period",
                         "lease", l->o.name, "error", st->message);
        else if (!unanswered && l->unanswered)
                log_info("the API server answers again", "lease", l->o.name);
        l->unanswered = unanswered;
}

int leader_new(const struct leader_options *o, struct leader **ret)
{
        struct leader *l;

        if (!o->client || !o->namespace || !o->name)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->o = *o;
        if (l->o.lease_duration_ms <= 0)
                l->o.lease_duration_ms = 15000;
        if (l->o.renew_deadline_ms <= 0)
                l->o.renew_deadline_ms = 10000;
        if (l->o.retry_period_ms <= 0)
                l->o.retry_period_ms = 2000;
        if (o->identity) {
                l->identity = strdup(o->identity);
        } else {
                char host[128] = "unknown";
                gethostname(host, sizeof(host) - 1);
                if (asprintf(&l->identity, "%s_%08x%08x", host,
                             (unsigned)(random_unit() * 4294967296.0),
                             (unsigned)(random_unit() * 4294967296.0)) < 0)
                        l->identity = NULL;
        }
        if (!l->identity) {
                free(l);
                return -ENOMEM;
        }
        pthread_mutex_init(&l->lock, NULL);
        if (o->metrics)
                l->m_status =
                        metrics_family(o->metrics, METRIC_GAUGE, "leader_election_master_status",
                                       "Gauge of if the reporting system is master of the relevant "
                                       "lease, 0 indicates backup, 1 indicates master. 'name' is "
                                       "the string used to identify the lease.",
                                       (const char *const[]){"name", NULL}, NULL, 0);
        metric_set(l->m_status, (const char *const[]){l->o.name}, 0);
        *ret = l;
        return 0;
}

const char *leader_identity(const struct leader *l)
{
        return l->identity;
}

bool leader_is_leader(struct leader *l)
{
        return atomic_load(&l->leading);
}

static const char *spec_str(const cJSON *spec, const char *k)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, k);

        return cJSON_IsString(v) ? v->valuestring : "";
}

static double spec_num(const cJSON *spec, const char *k)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, k);

        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *new_lease(struct leader *l, const char *holder, const char *acquire,
                        const char *renew, long duration_s, double transitions)
{
        cJSON *lease = cJSON_CreateObject(), *meta, *spec;

        cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(lease, "kind", "Lease");
        meta = cJSON_AddObjectToObject(lease, "metadata");
        cJSON_AddStringToObject(meta, "name", l->o.name);
        cJSON_AddStringToObject(meta, "namespace", l->o.namespace);
        spec = cJSON_AddObjectToObject(lease, "spec");
        cJSON_AddStringToObject(spec, "holderIdentity", holder);
        cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)duration_s);
        cJSON_AddStringToObject(spec, "acquireTime", acquire);
        cJSON_AddStringToObject(spec, "renewTime", renew);
        cJSON_AddNumberToObject(spec, "leaseTransitions", transitions);
        return lease;
}

/* One attempt; true when we hold the lease afterwards. */
static bool try_acquire_or_renew(struct leader *l)
{
        struct kube_status st;
        cJSON *lease = NULL, *upd;
        const cJSON *spec;
        const char *holder, *renew, *rv;
        char now[TIME_RFC3339_MAX];
        long long now_ms = time_mono_ms();
        long duration_s = (l->o.lease_duration_ms + 999) / 1000;
        bool ok = false, ours;
        int r;

        time_now_rfc3339(now, 6);
        r = kube_get(l->o.client, &kube_leases, l->o.namespace, l->o.name, &lease, &st);
        answered(l, r == -ENOENT ? 0 : r, &st);
        if (r == -ENOENT) {
                upd = new_lease(l, l->identity, now, now, duration_s, 0);
                r = kube_create(l->o.client, &kube_leases, l->o.namespace, upd, NULL, NULL, &st);
                cJSON_Delete(upd);
                if (r < 0)
                        return false;
                pthread_mutex_lock(&l->lock);
                snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", l->identity);
                snprintf(l->observed_renew, sizeof(l->observed_renew), "%s", now);
                l->observed_ms = now_ms;
                pthread_mutex_unlock(&l->lock);
                return true;
        }
        if (r < 0) {
                log_debug("get lease failed", "lease", l->o.name, "error", st.message);
                return false;
        }
        spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
        holder = spec_str(spec, "holderIdentity");
        renew = spec_str(spec, "renewTime");
        rv = spec_str(cJSON_GetObjectItemCaseSensitive(lease, "metadata"), "resourceVersion");
        pthread_mutex_lock(&l->lock);
        if (strcmp(holder, l->observed_holder) != 0 || strcmp(renew, l->observed_renew) != 0) {
                snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", holder);
                snprintf(l->observed_renew, sizeof(l->observed_renew), "%s", renew);
                l->observed_ms = now_ms;
        }
        ours = strcmp(holder, l->identity) == 0;
        /* someone else holds it and its record changed within the lease duration */
        if (*holder && !ours &&
            l->observed_ms + (long long)spec_num(spec, "leaseDurationSeconds") * 1000 > now_ms) {
                pthread_mutex_unlock(&l->lock);
                goto out;
        }
        pthread_mutex_unlock(&l->lock);
        upd = new_lease(l, l->identity, ours ? spec_str(spec, "acquireTime") : now, now, duration_s,
                        spec_num(spec, "leaseTransitions") + (ours ? 0 : 1));
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(upd, "metadata"),
                                "resourceVersion", rv);
        r = kube_update(l->o.client, &kube_leases, l->o.namespace, upd, NULL, NULL, &st);
        cJSON_Delete(upd);
        if (r < 0) {
                log_debug("update lease failed", "lease", l->o.name, "error", st.message);
                goto out;
        }
        pthread_mutex_lock(&l->lock);
        snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", l->identity);
        snprintf(l->observed_renew, sizeof(l->observed_renew), "%s", now);
        l->observed_ms = now_ms;
        pthread_mutex_unlock(&l->lock);
        ok = true;
out:
        cJSON_Delete(lease);
        return ok;
}

/* Sleep up to ms, waking early when stopping; true when stopping. */
static bool wait_or_stop(struct leader *l, long ms)
{
        for (long left = ms; left > 0; left -= 50) {
                if (atomic_load(&l->stop))
                        return true;
                nanosleep(&(struct timespec){.tv_nsec = (left < 50 ? left : 50) * 1000000L}, NULL);
        }
        return atomic_load(&l->stop);
}

static void set_leading(struct leader *l, bool v)
{
        atomic_store(&l->leading, v);
        metric_set(l->m_status, (const char *const[]){l->o.name}, v ? 1 : 0);
}

static void *run(void *arg)
{
        struct leader *l = arg;

        /* acquire */
        for (;;) {
                if (atomic_load(&l->stop))
                        return NULL;
                if (try_acquire_or_renew(l))
                        break;
                /* retry period with up to 20 % jitter, as client-go */
                if (wait_or_stop(
                            l, l->o.retry_period_ms +
                                       (long)(random_unit() * (double)l->o.retry_period_ms * 0.2)))
                        return NULL;
        }
        l->last_renew_ms = time_mono_ms();
        set_leading(l, true);
        log_info("became leader", "lease", l->o.name, "identity", l->identity);
        if (l->o.on_started_leading)
                l->o.on_started_leading(l->o.userdata);
        /* renew */
        while (!wait_or_stop(l, l->o.retry_period_ms)) {
                if (try_acquire_or_renew(l)) {
                        l->last_renew_ms = time_mono_ms();
                        continue;
                }
                if (time_mono_ms() - l->last_renew_ms >= l->o.renew_deadline_ms) {
                        set_leading(l, false);
                        log_error("lost leadership: lease not renewed within the renew deadline",
                                  "lease", l->o.name);
                        if (l->o.on_stopped_leading)
                                l->o.on_stopped_leading(l->o.userdata);
                        return NULL;
                }
        }
        return NULL;
}

int leader_start(struct leader *l)
{
        int r = pthread_create(&l->thread, NULL, run, l);

        if (r)
                return -r;
        l->started = true;
        return 0;
}

void leader_release(struct leader *l)
{
        struct kube_status st;
        cJSON *lease = NULL, *upd;
        const cJSON *spec;
        char now[TIME_RFC3339_MAX];

        if (!l || !l->started)
                return;
        atomic_store(&l->stop, true);
        pthread_join(l->thread, NULL);
        l->started = false;
        if (!leader_is_leader(l))
                return;
        set_leading(l, false);
        if (kube_get(l->o.client, &kube_leases, l->o.namespace, l->o.name, &lease, &st) < 0)
                return;
        spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
        if (strcmp(spec_str(spec, "holderIdentity"), l->identity) == 0) {
                time_now_rfc3339(now, 6);
                upd = new_lease(l, "", now, now, 1, spec_num(spec, "leaseTransitions"));
                cJSON_AddStringToObject(
                        cJSON_GetObjectItemCaseSensitive(upd, "metadata"), "resourceVersion",
                        spec_str(cJSON_GetObjectItemCaseSensitive(lease, "metadata"),
                                 "resourceVersion"));
                if (kube_update(l->o.client, &kube_leases, l->o.namespace, upd, NULL, NULL, &st) ==
                    0)
                        log_info("released the lease", "lease", l->o.name);
                else
                        log_warn("releasing the lease failed", "lease", l->o.name, "error",
                                 st.message);
                cJSON_Delete(upd);
        }
        cJSON_Delete(lease);
}

void leader_free(struct leader *l)
{
        if (!l)
                return;
        if (l->started) {
                atomic_store(&l->stop, true);
                pthread_join(l->thread, NULL);
        }
        pthread_mutex_destroy(&l->lock);
        free(l->identity);
        free(l);
}
