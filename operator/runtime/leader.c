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
        /* while we hold the lease: what we last wrote to it, so that a renewal is one PUT with
         * its resourceVersion (client-go's optimistic update); empty rv: read it first */
        char held_rv[64];
        char held_acquire[64];
        double held_transitions;
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

/* The lease as we wrote it (the API server's answer): what the next renewal updates */
static void remember_written(struct leader *l, const cJSON *lease, const char *now,
                             long long now_ms)
{
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");

        pthread_mutex_lock(&l->lock);
        snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", l->identity);
        snprintf(l->observed_renew, sizeof(l->observed_renew), "%s", now);
        l->observed_ms = now_ms;
        snprintf(l->held_rv, sizeof(l->held_rv), "%s",
                 spec_str(cJSON_GetObjectItemCaseSensitive(lease, "metadata"), "resourceVersion"));
        snprintf(l->held_acquire, sizeof(l->held_acquire), "%s", spec_str(spec, "acquireTime"));
        l->held_transitions = spec_num(spec, "leaseTransitions");
        pthread_mutex_unlock(&l->lock);
}

/* PUT of the lease held by holder over the version rv: 0 (and, when we are the holder, what
 * was written remembered), or the error */
static int write_lease(struct leader *l, const char *holder, const char *acquire, const char *now,
                       long duration_s, double transitions, const char *rv, struct kube_status *st)
{
        cJSON *upd = new_lease(l, holder, acquire, now, duration_s, transitions), *got = NULL;
        int r;

        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(upd, "metadata"),
                                "resourceVersion", rv);
        r = kube_update(l->o.client, &kube_leases, l->o.namespace, upd, NULL, &got, st);
        cJSON_Delete(upd);
        if (r == 0 && *holder)
                remember_written(l, got, now, time_mono_ms());
        cJSON_Delete(got);
        return r;
}

/* A renewal of the lease we hold, one request: true when renewed. A transport failure keeps
 * what we know (the next attempt tries the same); any answer but success (a conflict: someone
 * wrote it since) forgets it, and *fallback says to read the lease now. */
static bool renew_held(struct leader *l, const char *now, long duration_s, bool *fallback)
{
        struct kube_status st = {0};
        char acquire[64], rv[64];
        double transitions;
        int r;

        pthread_mutex_lock(&l->lock);
        snprintf(acquire, sizeof(acquire), "%s", l->held_acquire);
        snprintf(rv, sizeof(rv), "%s", l->held_rv);
        transitions = l->held_transitions;
        pthread_mutex_unlock(&l->lock);
        r = write_lease(l, l->identity, acquire, now, duration_s, transitions, rv, &st);
        answered(l, r, &st);
        if (r == 0)
                return true;
        log_debug("renewing the lease failed", "lease", l->o.name, "error", st.message);
        *fallback = st.code != 0 && st.code < 500;
        if (*fallback) {
                pthread_mutex_lock(&l->lock);
                l->held_rv[0] = 0;
                pthread_mutex_unlock(&l->lock);
        }
        return false;
}

/* Whether we hold the lease by what we last wrote, within its duration */
static bool holding(struct leader *l, long long now_ms)
{
        bool held;

        pthread_mutex_lock(&l->lock);
        held = l->held_rv[0] && l->observed_ms + l->o.lease_duration_ms > now_ms;
        pthread_mutex_unlock(&l->lock);
        return held;
}

/* The lease read, its record noted (observed_*): whether someone else holds it, its record
 * changed within its duration */
static bool held_by_other(struct leader *l, const cJSON *lease, long long now_ms)
{
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
        const char *holder = spec_str(spec, "holderIdentity"), *renew = spec_str(spec, "renewTime");
        bool other;

        pthread_mutex_lock(&l->lock);
        if (strcmp(holder, l->observed_holder) != 0 || strcmp(renew, l->observed_renew) != 0) {
                snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", holder);
                snprintf(l->observed_renew, sizeof(l->observed_renew), "%s", renew);
                l->observed_ms = now_ms;
        }
        other = *holder && strcmp(holder, l->identity) != 0 &&
                l->observed_ms + (long long)spec_num(spec, "leaseDurationSeconds") * 1000 > now_ms;
        pthread_mutex_unlock(&l->lock);
        return other;
}

/* One attempt; true when we hold the lease afterwards. While we hold it, a renewal is one
 * PUT; the lease is read first only to acquire it, or after a renewal was refused. */
static bool try_acquire_or_renew(struct leader *l)
{
        struct kube_status st;
        cJSON *lease = NULL, *got = NULL;
        const cJSON *spec;
        char now[TIME_RFC3339_MAX];
        long long now_ms = time_mono_ms();
        long duration_s = (l->o.lease_duration_ms + 999) / 1000;
        bool ours, fallback = false;
        int r;

        time_now_rfc3339(now, 6);
        if (holding(l, now_ms)) {
                if (renew_held(l, now, duration_s, &fallback))
                        return true;
                if (!fallback)
                        return false;
        }
        r = kube_get(l->o.client, &kube_leases, l->o.namespace, l->o.name, &lease, &st);
        answered(l, r == -ENOENT ? 0 : r, &st);
        if (r == -ENOENT) {
                cJSON *upd = new_lease(l, l->identity, now, now, duration_s, 0);
                r = kube_create(l->o.client, &kube_leases, l->o.namespace, upd, NULL, &got, &st);
                cJSON_Delete(upd);
                if (r == 0)
                        remember_written(l, got, now, now_ms);
                cJSON_Delete(got);
                return r == 0;
        }
        if (r < 0) {
                log_debug("get lease failed", "lease", l->o.name, "error", st.message);
                return false;
        }
        spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
        ours = strcmp(spec_str(spec, "holderIdentity"), l->identity) == 0;
        r = -EBUSY;
        if (!held_by_other(l, lease, now_ms)) {
                r = write_lease(l, l->identity, ours ? spec_str(spec, "acquireTime") : now, now,
                                duration_s, spec_num(spec, "leaseTransitions") + (ours ? 0 : 1),
                                spec_str(cJSON_GetObjectItemCaseSensitive(lease, "metadata"),
                                         "resourceVersion"),
                                &st);
                if (r < 0)
                        log_debug("update lease failed", "lease", l->o.name, "error", st.message);
        }
        cJSON_Delete(lease);
        return r == 0;
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
        /* renew: an attempt may take what is left of the renew deadline (as client-go's
         * context), so a slow API server costs leadership only once the deadline has passed */
        while (!wait_or_stop(l, l->o.retry_period_ms)) {
                long left = l->o.renew_deadline_ms - (long)(time_mono_ms() - l->last_renew_ms);

                kube_client_set_timeout(l->o.client, left);
                if (left > 0 && try_acquire_or_renew(l)) {
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

/* The lease given up over the version rv, said in the log */
static int release_over(struct leader *l, double transitions, const char *rv)
{
        struct kube_status st = {0};
        char now[TIME_RFC3339_MAX];
        int r;

        time_now_rfc3339(now, 6);
        r = write_lease(l, "", now, now, 1, transitions, rv, &st);
        if (r == 0)
                log_info("released the lease", "lease", l->o.name);
        else if (r != -EBUSY)
                log_warn("releasing the lease failed", "lease", l->o.name, "error", st.message);
        return r;
}

void leader_release(struct leader *l)
{
        struct kube_status st;
        cJSON *lease = NULL;
        const cJSON *spec;

        if (!l || !l->started)
                return;
        atomic_store(&l->stop, true);
        pthread_join(l->thread, NULL);
        l->started = false;
        if (!leader_is_leader(l))
                return;
        set_leading(l, false);
        /* shutdown is not held up by a slow API server for longer than a retry period */
        kube_client_set_timeout(l->o.client, l->o.retry_period_ms);
        /* one request over what we last wrote; read it first only when that was refused */
        if (l->held_rv[0] && release_over(l, l->held_transitions, l->held_rv) != -EBUSY)
                return;
        if (kube_get(l->o.client, &kube_leases, l->o.namespace, l->o.name, &lease, &st) < 0)
                return;
        spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
        if (strcmp(spec_str(spec, "holderIdentity"), l->identity) == 0)
                release_over(l, spec_num(spec, "leaseTransitions"),
                             spec_str(cJSON_GetObjectItemCaseSensitive(lease, "metadata"),
                                      "resourceVersion"));
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
