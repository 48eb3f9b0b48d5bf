/* SPDX-License-Identifier: Apache-2.0 */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util/digest.h"
#include "util/hashmap.h"
#include "util/timeutil.h"
#include "util/random.h"

#define FORGET_AFTER_S 1800 /* an event not seen again for this long is forgotten */
#define MAX_TRACKED    4096
#define MAX_NOTE       1024
#define MAX_ATTEMPTS   6      /* transient failures of one request before it is dropped */
#define RETRY_BASE_MS  1000LL /* backoff after the first failure, doubled after each */
#define RETRY_MAX_MS   60000LL

struct tracked {
        char *name; /* the Event's name once created */
        char *namespace;
        cJSON *event;   /* the Event to create (until created) */
        int count;      /* occurrences */
        int sent_count; /* count the API server has */
        time_t last_seen;
        long long last_sent_ms;
        int failures;          /* transient failures in a row */
        long long retry_at_ms; /* not sent again before */
        char last_observed[TIME_RFC3339_MAX];
};

struct event_recorder {
        struct events_options o;
        char *controller, *instance;
        pthread_mutex_t lock;
        struct hashmap *tracked; /* SHA-256 of the dedup key -> struct tracked */
        struct metric_family *m_events, *m_unsent;
};

int events_new(const struct events_options *o, struct event_recorder **ret)
{
        struct event_recorder *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->o = *o;
        if (r->o.series_interval_ms <= 0)
                r->o.series_interval_ms = 30000;
        r->controller = strdup(o->controller ? o->controller : "karmada-operator");
        r->instance = strdup(o->instance ? o->instance : "karmada-operator");
        r->tracked = hashmap_new();
        if (o->metrics)
                r->m_events =
                        metrics_family(o->metrics, METRIC_COUNTER, "karmada_operator_events_total",
                                       "Events recorded, repeats folded into a series included, by "
                                       "type and reason.",
                                       (const char *const[]){"type", "reason", NULL}, NULL, 0);
        if (o->metrics)
                r->m_unsent = metrics_family(
                        o->metrics, METRIC_GAUGE, "karmada_operator_events_unsent",
                        "Events recorded and not sent yet: new ones, and repeats whose series "
                        "count is sent at most every series interval.",
                        NULL, NULL, 0);
        pthread_mutex_init(&r->lock, NULL);
        if (!r->controller || !r->instance || !r->tracked) {
                events_free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

static void tracked_free(struct tracked *t)
{
        if (!t)
                return;
        free(t->name);
        free(t->namespace);
        cJSON_Delete(t->event);
        free(t);
}

void events_free(struct event_recorder *r)
{
        if (!r)
                return;
        for (const struct hashmap_entry *e = r->tracked ? hashmap_first(r->tracked) : NULL; e;
             e = hashmap_next(r->tracked, e))
                tracked_free(hashmap_entry_value(e));
        hashmap_free(r->tracked);
        pthread_mutex_destroy(&r->lock);
        free(r->controller);
        free(r->instance);
        free(r);
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

        if (b)
                v = cJSON_GetObjectItemCaseSensitive(v, b);
        return cJSON_IsString(v) ? v->valuestring : "";
}

/* Under the lock: karmada_operator_events_unsent */
static void count_unsent(struct event_recorder *r)
{
        double n = 0;

        for (const struct hashmap_entry *e = hashmap_first(r->tracked); e;
             e = hashmap_next(r->tracked, e)) {
                const struct tracked *t = hashmap_entry_value(e);
                n += t->event || t->count > t->sent_count;
        }
        if (r->m_unsent)
                metric_set(r->m_unsent, NULL, n);
}

void events_record(struct event_recorder *r, const cJSON *regarding, const char *type,
                   const char *reason, const char *action, const char *fmt, ...)
{
        char note[MAX_NOTE], full[2048], key[SHA256_HEX_LEN], now[TIME_RFC3339_MAX];
        int len;
        const char *ns, *name, *uid;
        struct tracked *t;
        cJSON *ev, *reg;
        va_list ap;

        if (!r)
                return;
        va_start(ap, fmt);
        vsnprintf(note, sizeof(note), fmt, ap);
        va_end(ap);
        ns = str(regarding, "metadata", "namespace");
        name = str(regarding, "metadata", "name");
        uid = str(regarding, "metadata", "uid");
        if (!*name)
                return;
        if (r->m_events)
                metric_add(r->m_events, (const char *const[]){type, reason}, 1);
        /* what makes two Events one series, kept as its digest: a note is up to 1 KiB, and each
         * instance's install records dozens, tracked for FORGET_AFTER_S */
        len = snprintf(full, sizeof(full), "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", uid, ns, name,
                       type, reason, action, note);
        if (len < 0 ||
            sha256_hex(full, len < (int)sizeof(full) ? (size_t)len : sizeof(full) - 1, key) < 0)
                return;
        time_now_rfc3339(now, 6);
        pthread_mutex_lock(&r->lock);
        t = hashmap_get(r->tracked, key);
        if (t) {
                t->count++;
                t->last_seen = time(NULL);
                snprintf(t->last_observed, sizeof(t->last_observed), "%s", now);
                goto out;
        }
        if (hashmap_size(r->tracked) >= MAX_TRACKED)
                goto out; /* flush forgets old ones; until then new ones are dropped */
        t = calloc(1, sizeof(*t));
        ev = cJSON_CreateObject();
        if (!t || !ev) {
                free(t);
                cJSON_Delete(ev);
                goto out;
        }
        if (asprintf(&t->name, "%s.%08x%08x", name, (unsigned)time(NULL),
                     (unsigned)(random_unit() * 4294967296.0)) < 0)
                t->name = NULL;
        t->namespace = strdup(*ns ? ns : "default");
        cJSON_AddStringToObject(ev, "apiVersion", "events.k8s.io/v1");
        cJSON_AddStringToObject(ev, "kind", "Event");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "metadata"), "name",
                                t->name ? t->name : "");
        cJSON_AddStringToObject(ev, "eventTime", now);
        cJSON_AddStringToObject(ev, "reportingController", r->controller);
        cJSON_AddStringToObject(ev, "reportingInstance", r->instance);
        cJSON_AddStringToObject(ev, "action", action);
        cJSON_AddStringToObject(ev, "reason", reason);
        cJSON_AddStringToObject(ev, "type", type);
        cJSON_AddStringToObject(ev, "note", note);
        reg = cJSON_AddObjectToObject(ev, "regarding");
        cJSON_AddStringToObject(reg, "apiVersion", str(regarding, "apiVersion", NULL));
        cJSON_AddStringToObject(reg, "kind", str(regarding, "kind", NULL));
        if (*ns)
                cJSON_AddStringToObject(reg, "namespace", ns);
        cJSON_AddStringToObject(reg, "name", name);
        if (*uid)
                cJSON_AddStringToObject(reg, "uid", uid);
        t->event = ev;
        t->count = 1;
        t->last_seen = time(NULL);
        if (!t->name || !t->namespace || hashmap_put(r->tracked, key, t, NULL) < 0)
                tracked_free(t);
out:
        count_unsent(r);
        pthread_mutex_unlock(&r->lock);
}

struct pending {
        char *namespace, *name;
        cJSON *create; /* or NULL: a series update */
        int count;
        char last_observed[TIME_RFC3339_MAX];
        char key[SHA256_HEX_LEN];
};

/* Due now: a create, or a series update (at most every series interval), each not before the
 * backoff of an earlier failure has passed. */
static bool due(const struct event_recorder *r, const struct tracked *t, long long now_ms)
{
        if (now_ms < t->retry_at_ms)
                return false;
        return t->event ||
               (t->count > t->sent_count && now_ms - t->last_sent_ms >= r->o.series_interval_ms);
}

/* Under the lock: forget what was not seen for a while (sent or not), and take what is due. */
static size_t collect(struct event_recorder *r, struct pending **ret)
{
        struct pending *p = NULL;
        size_t n = 0, cap = 0;
        time_t now = time(NULL);
        long long now_ms = time_mono_ms();

        for (const struct hashmap_entry *e = hashmap_first(r->tracked); e;) {
                const struct hashmap_entry *next = hashmap_next(r->tracked, e);
                struct tracked *t = hashmap_entry_value(e);

                if (now - t->last_seen > FORGET_AFTER_S) {
                        tracked_free(hashmap_remove(r->tracked, hashmap_entry_key(e)));
                } else if (due(r, t, now_ms)) {
                        if (n == cap) {
                                struct pending *q =
                                        realloc(p, (cap = cap ? cap * 2 : 16) * sizeof(*p));
                                if (!q)
                                        break;
                                p = q;
                        }
                        p[n] = (struct pending){.namespace = strdup(t->namespace),
                                                .name = strdup(t->name),
                                                .create = t->event,
                                                .count = t->count};
                        snprintf(p[n].last_observed, sizeof(p[n].last_observed), "%s",
                                 t->last_observed);
                        snprintf(p[n].key, sizeof(p[n].key), "%s", hashmap_entry_key(e));
                        t->event = NULL;
                        n++;
                }
                e = next;
        }
        *ret = p;
        return n;
}

/* Create the Event or update its series; 0, or a negative errno with st filled. */
static int send(struct event_recorder *r, const struct pending *p, struct kube_status *st)
{
        char body[256];

        log_debug(p->create ? "sending event" : "updating event series", "namespace", p->namespace,
                  "event", p->name);
        if (p->create)
                return kube_create(r->o.client, &kube_events, p->namespace, p->create, NULL, NULL,
                                   st);
        snprintf(body, sizeof(body), "{\"series\":{\"count\":%d,\"lastObservedTime\":\"%s\"}}",
                 p->count, p->last_observed);
        return kube_patch(r->o.client, &kube_events, p->namespace, p->name, KUBE_PATCH_MERGE, body,
                          NULL, NULL, st);
}

/* An answer that the same request will get again: the namespace or the Event is gone (404),
 * the namespace is terminating or access is denied (403), the request is refused (422, other
 * 4xx). Timeouts (408), throttling (429), 5xx and transport errors may pass. */
static bool permanent(int q, const struct kube_status *st)
{
        if (st->code >= 400 && st->code < 500)
                return st->code != 408 && st->code != 429;
        return q == -EINVAL || q == -ENOMEM;
}

/* Under the lock: what the answer means for the tracked event. */
static void settle(struct event_recorder *r, struct pending *p, int q, const struct kube_status *st)
{
        struct tracked *t = hashmap_get(r->tracked, p->key);
        long long now_ms = time_mono_ms(), backoff;

        if (!t)
                return;
        if (q >= 0) {
                t->sent_count = p->create ? 1 : p->count;
                t->last_sent_ms = now_ms;
                t->failures = 0;
                t->retry_at_ms = 0;
                return;
        }
        if (permanent(q, st) || ++t->failures > MAX_ATTEMPTS) {
                char code[16];
                snprintf(code, sizeof(code), "%d", st->code);
                log_debug("event dropped", "namespace", p->namespace, "event", p->name, "code",
                          code, "error", st->message);
                tracked_free(hashmap_remove(r->tracked, p->key));
                return;
        }
        backoff = RETRY_BASE_MS << (t->failures - 1);
        t->retry_at_ms = now_ms + (backoff < RETRY_MAX_MS ? backoff : RETRY_MAX_MS);
        if (p->create && !t->event) {
                t->event = p->create; /* the same Event, again after the backoff */
                p->create = NULL;
        }
}

void events_flush(struct event_recorder *r)
{
        struct pending *p = NULL;
        size_t n;

        if (!r)
                return;
        /* collect under the lock, send without it */
        pthread_mutex_lock(&r->lock);
        n = collect(r, &p);
        pthread_mutex_unlock(&r->lock);
        for (size_t i = 0; i < n; i++) {
                struct kube_status st = {0};
                int q = send(r, &p[i], &st);

                pthread_mutex_lock(&r->lock);
                settle(r, &p[i], q, &st);
                pthread_mutex_unlock(&r->lock);
                cJSON_Delete(p[i].create);
                free(p[i].namespace);
                free(p[i].name);
        }
        free(p);
        pthread_mutex_lock(&r->lock);
        count_unsent(r);
        pthread_mutex_unlock(&r->lock);
}
