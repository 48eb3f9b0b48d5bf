/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada API server of each instance as the operator reaches it: one client per instance,
 * made from the admin kubeconfig (again when that changes), and what the steps remember of what
 * they did there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "kube/config.h"
#include "runtime/log.h"
#include "runtime/manager.h"
#include "util/base64.h"
#include "util/digest.h"
#include "util/hashmap.h"

void plane_free(struct plane *p)
{
        if (!p)
                return;
        kube_client_free(p->client);
        free(p);
}

/* A plane with a memo of each kind for each reconciler of the registry, in one allocation */
static struct plane *plane_new(void)
{
        size_t n = 0;
        struct plane *p;

        while (registry_reconcilers[n])
                n++;
        p = calloc(1, sizeof(*p) + 2 * n * sizeof(struct reconciler_memo));
        if (p) {
                p->applied = (struct reconciler_memo *)(void *)(p + 1);
                p->hook = p->applied + n;
                p->n_memos = n;
        }
        return p;
}

struct plane *plane_get(struct kctl *kc, const char *key)
{
        struct plane *p;

        pthread_mutex_lock(&kc->planes_lock);
        p = hashmap_get(kc->planes, key);
        if (!p && (p = plane_new()) && hashmap_put(kc->planes, key, p, NULL) < 0) {
                free(p);
                p = NULL;
        }
        pthread_mutex_unlock(&kc->planes_lock);
        return p;
}

void plane_forget(struct kctl *kc, const char *key)
{
        pthread_mutex_lock(&kc->planes_lock);
        plane_free(hashmap_remove(kc->planes, key));
        pthread_mutex_unlock(&kc->planes_lock);
}

/* A client of the instance's Karmada API server, made from its admin kubeconfig (again when
 * that changes); NULL with why filled while there is none. */
struct kube_client *plane_client(struct kctl *kc, struct plane *p, const struct karmada *k,
                                 struct observation *ob, char *why, size_t whylen)
{
        char name[KO_NAME_MAX + 16], sum[SHA256_HEX_LEN], err[512];
        const cJSON *secret, *data;
        unsigned char *text = NULL;
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        size_t len = 0;

        names_join(k->prefix, "admin-config", name, sizeof(name));
        secret = observation_get(ob, &kube_secrets, k->namespace, name);
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
                free_secret(text, len);
                kube_config_free(cfg);
                return NULL;
        }
        free_secret(text, len); /* the admin's key */
        manager_observe_client(kc->m, c);
        snprintf(p->server, sizeof(p->server), "%s", cfg->server);
        kube_config_free(cfg);
        pthread_mutex_lock(&kc->planes_lock); /* planes_close_idle() reads p->client */
        kube_client_free(p->client);          /* this worker's alone: no request of it is running */
        p->client = c;
        pthread_mutex_unlock(&kc->planes_lock);
        snprintf(p->sum, sizeof(p->sum), "%s", sum);
        /* another server or other credentials: what was checked before proves nothing */
        memset(p->applied, 0, p->n_memos * sizeof(*p->applied));
        memset(p->hook, 0, p->n_memos * sizeof(*p->hook));
        return c;
}

size_t planes_close_idle(struct kctl *kc)
{
        size_t n = 0;

        pthread_mutex_lock(&kc->planes_lock);
        for (const struct hashmap_entry *e = hashmap_first(kc->planes); e;
             e = hashmap_next(kc->planes, e)) {
                struct plane *p = hashmap_entry_value(e);
                if (p->client)
                        n += kube_client_close_idle(p->client, PLANE_IDLE_MS);
        }
        pthread_mutex_unlock(&kc->planes_lock);
        return n;
}

void plane_reached(struct plane *p, const struct kube_status *st)
{
        p->reached = p->reached || !st;
        snprintf(p->unreachable, sizeof(p->unreachable), "%s", st ? st->message : "");
}

void plane_condition(struct kctl *kc, const char *key, cJSON *conditions, long long generation)
{
        struct plane *p = plane_get(kc, key);
        char msg[900];

        if (!p || !p->client || (!p->reached && !p->unreachable[0]))
                return;
        if (p->unreachable[0]) {
                snprintf(msg, sizeof(msg), "the Karmada API server at %s: %s", p->server,
                         p->unreachable);
                condition_set(conditions, "KarmadaAPIServerReachable", KO_FALSE, "Unreachable", msg,
                              generation);
        } else {
                snprintf(msg, sizeof(msg), "the Karmada API server at %s answers", p->server);
                condition_set(conditions, "KarmadaAPIServerReachable", KO_TRUE, "Reachable", msg,
                              generation);
        }
}
