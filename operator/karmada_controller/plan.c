/* SPDX-License-Identifier: Apache-2.0 */
/* The plan of one reconcile: what runs (the spec, or the last Ready one while rolling back),
 * what it observes (the caches, and direct reads of what they do not hold), the desired state
 * every enabled reconciler contributes to, and the steps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "karmada/sync.h"

#define KEY_ALG_ANNOTATION "operator.karmada.io/key-algorithm"

static struct store *store_of(void *userdata, const struct kube_resource *r)
{
        struct reader *rd = userdata;
        struct informer *inf = hosts_cache(rd->host, r);

        return inf ? informer_store(inf) : NULL;
}

/* Secrets the user made (a custom CA, S3 credentials) carry no label of ours, and the backup a
 * restore starts from is not cached: those are read (once per reconcile), the Secrets in the
 * host cluster, the backup and the Secrets it names beside the Karmada object. */
static int read_direct(void *userdata, const struct kube_resource *r, const char *ns,
                       const char *name, cJSON **ret)
{
        struct reader *rd = userdata;
        bool beside = r == &karmada_backups || r == &karmada_backup_secrets;

        if (!(r == &kube_secrets && rd->prefix &&
              strncmp(name, rd->prefix, strlen(rd->prefix)) != 0) &&
            !beside)
                return -ENOENT;
        return kube_get(beside ? rd->kc->client : rd->host->client, r, ns, name, ret, NULL);
}

static const cJSON *observe(void *userdata, const struct kube_resource *r, const char *ns,
                            const char *name)
{
        return observation_get(userdata, r, ns, name);
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

enum phase plan_build(struct pass *p)
{
        struct kctl *kc = p->kc;
        char err[1024] = "";

        p->run = p->rollback ? p->last : p->k;
        p->rd = (struct reader){.kc = kc,
                                .host = p->host,
                                .prefix = p->k->prefix,
                                .src = {.store_of = store_of, .read = read_direct}};
        p->rd.src.userdata = &p->rd;
        if (observation_new(&p->rd.src, &p->ob) < 0) {
                p->out->result = RECONCILE_ERROR;
                snprintf(p->out->error, sizeof(p->out->error), "out of memory");
                return PHASE_STOP;
        }
        p->observed =
                (struct observed){.get = observe, .userdata = p->ob, .etcd_pods = p->etcd_pods};
        if (strcmp(p->run->service_type, "NodePort") == 0)
                p->observed.node_address =
                        p->run->host_secret_name && p->run->host_endpoint[0]
                                ? p->run->host_endpoint
                                : hosts_node_address(p->host, p->node, sizeof(p->node));
        if (registry_build_desired(p->run, &p->observed, key_type(kc, kobj_json(p->obj)), &p->d,
                                   err, sizeof(err)) < 0) {
                p->out->result = RECONCILE_ERROR;
                snprintf(p->out->error, sizeof(p->out->error), "%s", err);
                return PHASE_STOP;
        }
        p->planned = true;
        for (size_t i = 0; i < p->d.n; i++)
                sync_stamp(p->d.objs[i].obj);
        for (const struct reconciler *const *rec = registry_reconcilers;
             *rec && p->n < KO_MAX_RECONCILERS; rec++, p->n++)
                p->steps[p->n] =
                        (struct step){.rec = *rec, .enabled = registry_enabled(*rec, p->run)};
        return PHASE_GO;
}
