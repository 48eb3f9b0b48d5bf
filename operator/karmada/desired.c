/* SPDX-License-Identifier: Apache-2.0 */
#include "desired.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/base64.h"
#include "util/digest.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

const struct kube_resource *const desired_owned[DESIRED_N_OWNED] = {
        &kube_deployments, &kube_statefulsets,         &kube_services,
        &kube_secrets,     &kube_poddisruptionbudgets,
};

bool desired_wants(const struct desired *d, bool in_karmada, const struct kube_resource *r,
                   const char *ns, const char *name)
{
        for (size_t i = 0; d && i < d->n; i++) {
                const struct desired_object *o = &d->objs[i];
                const char *ons = json_str(o->obj, "metadata", "namespace");
                if (o->in_karmada == in_karmada && o->resource == r &&
                    strcmp(json_str(o->obj, "metadata", "name") ?: "", name) == 0 &&
                    (!ns || (ons && strcmp(ons, ns) == 0)))
                        return true;
        }
        return false;
}

/* Components whose binary takes Karmada feature gates (--feature-gates), and so the
 * instance-wide spec.featureGates. Not karmada-descheduler, karmada-search and
 * karmada-metrics-adapter: they have no such flag (v1.18.2: "unknown flag: --feature-gates")
 * and would not start. */
static const bool takes_karmada_gates[KO_N_COMPONENTS] = {
        [KO_AGGREGATED_APISERVER] = true,
        [KO_CONTROLLER_MANAGER] = true,
        [KO_SCHEDULER] = true,
        [KO_WEBHOOK] = true,
};

int desired_init(struct desired *d, const struct karmada *k, const struct observed *o)
{
        memset(d, 0, sizeof(*d));
        d->k = k;
        d->observed = o;
        d->key_type = PKI_RSA_3072;
        d->owner = "";
        for (int i = 0; i < KO_N_COMPONENTS; i++) {
                d->flags[i] = cJSON_CreateObject();
                d->gates[i] = cJSON_CreateObject();
                if (!d->flags[i] || !d->gates[i]) {
                        desired_free(d);
                        return -ENOMEM;
                }
        }
        return 0;
}

void desired_free(struct desired *d)
{
        for (size_t i = 0; i < d->n; i++)
                cJSON_Delete(d->objs[i].obj);
        free(d->objs);
        for (int i = 0; i < KO_N_COMPONENTS; i++) {
                cJSON_Delete(d->flags[i]);
                cJSON_Delete(d->gates[i]);
        }
        pki_free(d->ca);
        pki_free(d->front_proxy_ca);
        pki_free(d->etcd_ca);
        pki_free(d->karmada_pair);
        pki_free(d->etcd_client);
        free(d->ca_pem);
        free(d->trust_pem);
        cJSON_Delete(d->certs);
        memset(d, 0, sizeof(*d));
}

int desired_add(struct desired *d, const struct kube_resource *r, cJSON *obj, bool workload)
{
        if (!obj)
                return -ENOMEM;
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 32;
                struct desired_object *o = realloc(d->objs, cap * sizeof(*o));
                if (!o) {
                        cJSON_Delete(obj);
                        return -ENOMEM;
                }
                d->objs = o;
                d->cap = cap;
        }
        d->objs[d->n++] = (struct desired_object){
                .resource = r, .obj = obj, .owner = d->owner, .workload = workload};
        return 0;
}

int desired_add_karmada(struct desired *d, const struct kube_resource *r, cJSON *obj)
{
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata"), *labels;
        int ret;

        if (meta && d->owner) {
                labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
                if (!labels)
                        labels = cJSON_AddObjectToObject(meta, "labels");
                cJSON_DeleteItemFromObjectCaseSensitive(labels, KO_LABEL_RECONCILER);
                cJSON_AddStringToObject(labels, KO_LABEL_RECONCILER, d->owner);
        }
        ret = desired_add(d, r, obj, false);

        if (ret == 0)
                d->objs[d->n - 1].in_karmada = true;
        return ret;
}

int desired_flag(struct desired *d, enum names_component c, const char *name, const char *value)
{
        cJSON_DeleteItemFromObjectCaseSensitive(d->flags[c], name);
        return cJSON_AddStringToObject(d->flags[c], name, value) ? 0 : -ENOMEM;
}

int desired_gate(struct desired *d, enum names_component c, const char *gate, bool on)
{
        cJSON_DeleteItemFromObjectCaseSensitive(d->gates[c], gate);
        return cJSON_AddBoolToObject(d->gates[c], gate, on) ? 0 : -ENOMEM;
}

static void add_time(cJSON *o, const char *name, long long t)
{
        char buf[TIME_RFC3339_MAX];

        time_format_rfc3339((time_t)t, buf);
        cJSON_AddStringToObject(o, name, buf);
}

int desired_certificate(struct desired *d, const char *name, const char *secret, const char *key,
                        const struct pki_cert *c, const char *issuer)
{
        char subject[512], (*sans)[256] = calloc(64, 256);
        cJSON *e = cJSON_CreateObject(), *ref, *list;
        int n;

        if (!d->certs)
                d->certs = cJSON_CreateArray();
        if (!e || !sans || !d->certs) {
                cJSON_Delete(e);
                free(sans);
                return -ENOMEM;
        }
        cJSON_AddStringToObject(e, "name", name);
        ref = cJSON_AddObjectToObject(e, "secretRef");
        cJSON_AddStringToObject(ref, "name", secret);
        cJSON_AddStringToObject(ref, "key", key);
        pki_subject(c, subject, sizeof(subject));
        cJSON_AddStringToObject(e, "subject", subject);
        n = pki_sans(c, sans, 64);
        list = cJSON_AddArrayToObject(e, "sans");
        for (int i = 0; i < n; i++)
                cJSON_AddItemToArray(list, cJSON_CreateString(sans[i]));
        free(sans);
        cJSON_AddStringToObject(e, "issuer", issuer ? issuer : name);
        add_time(e, "notBefore", pki_not_before(c));
        add_time(e, "notAfter", pki_not_after(c));
        if (issuer)
                add_time(e, "renewAt", pki_renew_at(pki_not_before(c), pki_not_after(c)));
        cJSON_AddItemToArray(d->certs, e);
        return 0;
}

void desired_valid_until(struct desired *d, long long t)
{
        if (t > 0 && (d->valid_until == 0 || t < d->valid_until))
                d->valid_until = t;
}

bool desired_keeps(const struct pki_cert *c, const struct pki_cert *ca)
{
        return pki_renew_at(pki_not_before(c), pki_not_after(c)) > (long long)time(NULL) ||
               !pki_has_key(ca);
}

void desired_renewal(struct desired *d, const char *name, const struct pki_cert *c,
                     const struct pki_cert *ca)
{
        long long now = (long long)time(NULL), end = pki_not_after(c);
        long long renew = pki_renew_at(pki_not_before(c), end);

        if (renew > now) {
                desired_valid_until(d, renew);
                return;
        }
        if (pki_has_key(ca))
                return; /* renewed by whoever noted it: never a cause to come back at once */
        if (!d->expiring[0] || end < d->expiring_at) {
                snprintf(d->expiring, sizeof(d->expiring), "%s", name);
                d->expiring_at = end;
        }
        if (end > now)
                desired_valid_until(d, end);
}

void desired_wait(struct desired *d, const char *fmt, ...)
{
        va_list ap;

        if (d->n_waiting >= (int)ELEMENTSOF(d->waiting))
                return;
        d->waiting[d->n_waiting].owner = d->owner;
        va_start(ap, fmt);
        vsnprintf(d->waiting[d->n_waiting].what, sizeof(d->waiting[0].what), fmt, ap);
        va_end(ap);
        d->n_waiting++;
}

const char *desired_waiting(const struct desired *d, const char *owner)
{
        for (int i = 0; i < d->n_waiting; i++)
                if (strcmp(d->waiting[i].owner, owner) == 0)
                        return d->waiting[i].what;
        return NULL;
}

const cJSON *desired_observed(const struct desired *d, const struct kube_resource *r,
                              const char *ns, const char *name)
{
        if (!d->observed || !d->observed->get)
                return NULL;
        return d->observed->get(d->observed->userdata, r, ns, name);
}

/* ---- command lines ---- */

static void set_str(cJSON *o, const char *k, const char *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddStringToObject(o, k, v);
}

/* "A=true,B=false" into gates (later wins). */
static void parse_gates(cJSON *gates, const char *s)
{
        char *copy = strdup(s), *p, *next;

        for (p = copy; p && *p; p = next) {
                char *eq;
                next = strchr(p, ',');
                if (next)
                        *next++ = '\0';
                eq = strchr(p, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                cJSON_DeleteItemFromObjectCaseSensitive(gates, p);
                cJSON_AddBoolToObject(gates, p, strcmp(eq + 1, "true") == 0);
        }
        free(copy);
}

static void merge_gates(cJSON *gates, const cJSON *from)
{
        const cJSON *g;

        cJSON_ArrayForEach (g, from) {
                cJSON_DeleteItemFromObjectCaseSensitive(gates, g->string);
                cJSON_AddBoolToObject(gates, g->string, cJSON_IsTrue(g));
        }
}

static int cmp_items(const void *a, const void *b)
{
        return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* "k=v,..." or "--k=v" entries, sorted by key */
static char **sorted(const cJSON *o, int *ret_n)
{
        int n = cJSON_GetArraySize(o), i = 0;
        cJSON **items = calloc((size_t)n + 1, sizeof(*items));
        const cJSON *it;

        if (!items)
                return NULL;
        cJSON_ArrayForEach (it, o)
                items[i++] = (cJSON *)it;
        qsort(items, (size_t)n, sizeof(*items), cmp_items);
        *ret_n = n;
        return (char **)items;
}

static int finish_component(struct desired *d, enum names_component c)
{
        const struct karmada_settings *s = &d->k->comp[c];
        cJSON *container = d->container[c], *cmd, *args, *gates, *newcmd;
        const cJSON *it;
        cJSON **items;
        struct strbuf sb = {0};
        int n;

        cmd = cJSON_GetObjectItemCaseSensitive(container, "command");
        if (!cJSON_IsArray(cmd) || !cmd->child)
                return -EINVAL;
        args = cJSON_CreateObject();
        gates = cJSON_CreateObject();
        if (!args || !gates) {
                cJSON_Delete(args);
                cJSON_Delete(gates);
                return -ENOMEM;
        }
        /* base flags as the reconciler wrote them */
        for (it = cmd->child->next; it; it = it->next) {
                const char *a = cJSON_IsString(it) ? it->valuestring : "";
                const char *eq = strchr(a, '=');
                char key[128];
                if (strncmp(a, "--", 2) != 0 || !eq || eq - a - 2 >= (int)sizeof(key))
                        continue;
                snprintf(key, sizeof(key), "%.*s", (int)(eq - a - 2), a + 2);
                if (strcmp(key, "feature-gates") == 0)
                        parse_gates(gates, eq + 1);
                else
                        set_str(args, key, eq + 1);
        }
        /* contributions, instance-wide gates, the component's own, then extraArgs */
        cJSON_ArrayForEach (it, d->flags[c])
                set_str(args, it->string, it->valuestring);
        merge_gates(gates, d->gates[c]);
        if (takes_karmada_gates[c])
                merge_gates(gates, d->k->feature_gates);
        merge_gates(gates, s->feature_gates);
        if (gates->child) {
                int ng;
                char **g = sorted(gates, &ng);
                for (int i = 0; g && i < ng; i++) {
                        cJSON *e = (cJSON *)g[i];
                        strbuf_printf(&sb, "%s%s=%s", i ? "," : "", e->string,
                                      cJSON_IsTrue(e) ? "true" : "false");
                }
                free(g);
                set_str(args, "feature-gates", sb.buf);
                strbuf_free(&sb);
        }
        cJSON_ArrayForEach (it, s->extra_args)
                set_str(args, it->string, it->valuestring);
        newcmd = cJSON_CreateArray();
        cJSON_AddItemToArray(newcmd, cJSON_CreateString(cmd->child->valuestring));
        items = (cJSON **)sorted(args, &n);
        for (int i = 0; items && i < n; i++) {
                strbuf_printf(&sb, "--%s=%s", items[i]->string, items[i]->valuestring);
                cJSON_AddItemToArray(newcmd, cJSON_CreateString(sb.buf));
                strbuf_reset(&sb);
        }
        free(items);
        strbuf_free(&sb);
        cJSON_ReplaceItemInObjectCaseSensitive(container, "command", newcmd);
        cJSON_Delete(args);
        cJSON_Delete(gates);
        return 0;
}

/* The data of Secret `name` that d puts in the host, or NULL */
static const cJSON *secret_data(const struct desired *d, const char *name)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->objs[i].resource == &kube_secrets && !d->objs[i].in_karmada &&
                    strcmp(json_str(d->objs[i].obj, "metadata", "name") ?: "", name) == 0)
                        return cJSON_GetObjectItemCaseSensitive(d->objs[i].obj, "data");
        return NULL;
}

/* Components that reload the Secrets they mount (serving certificates, etcd's per handshake):
 * a renewal needs no restart */
static bool reloads_secrets(const cJSON *labels)
{
        const char *app = json_str(labels, KO_LABEL_NAME, NULL);

        return app && (strcmp(app, names_components[KO_APISERVER].app_name) == 0 ||
                       strcmp(app, names_components[KO_ETCD].app_name) == 0);
}

/* annotations[key] = value on a pod template */
static int annotate(cJSON *tmpl, const char *key, const char *value)
{
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(tmpl, "metadata"), *ann;

        if (!meta)
                meta = cJSON_AddObjectToObject(tmpl, "metadata");
        ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
        if (!ann)
                ann = cJSON_AddObjectToObject(meta, "annotations");
        cJSON_DeleteItemFromObjectCaseSensitive(ann, key);
        return cJSON_AddStringToObject(ann, key, value) ? 0 : -ENOMEM;
}

int desired_pod_annotation(struct desired *d, enum names_component c, const char *key,
                           const char *value)
{
        for (size_t i = 0; d->container[c] && i < d->n; i++) {
                cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(d->objs[i].obj, "spec"), "template");
                const cJSON *it;
                cJSON_ArrayForEach (it, json_at(tmpl, "spec", "containers")) {
                        if (it == d->container[c] && d->objs[i].workload)
                                return annotate(tmpl, key, value);
                }
        }
        return 0;
}

/* Each workload's pod template gets KO_SECRETS_ANNOTATION, a digest of the Secrets of this
 * instance it mounts: what reads them once (a kubeconfig's embedded client certificate, a
 * gRPC server's certificate) restarts when they change, as a rolling update. */
static int stamp_secrets(struct desired *d)
{
        for (size_t i = 0; i < d->n; i++) {
                cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(d->objs[i].obj, "spec"), "template");
                const cJSON *v;
                struct strbuf all = {0};
                char sum[SHA256_HEX_LEN];
                if (!d->objs[i].workload || !tmpl ||
                    reloads_secrets(json_at(tmpl, "metadata", "labels")))
                        continue;
                cJSON_ArrayForEach (v, json_at(tmpl, "spec", "volumes")) {
                        const cJSON *data =
                                secret_data(d, json_str(v, "secret", "secretName") ?: "");
                        char *text = data ? cJSON_PrintUnformatted(data) : NULL;
                        if (text)
                                strbuf_printf(&all, "%s=%s\n", json_str(v, "secret", "secretName"),
                                              text);
                        free(text);
                }
                if (!all.len)
                        continue;
                sha256_hex(all.buf, all.len, sum);
                strbuf_free(&all);
                if (annotate(tmpl, KO_SECRETS_ANNOTATION, sum) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Every workload's pod template gets KO_CA_ANNOTATION, the digest of the instance's CAs and
 * trust: all restart on each step of a CA rotation (etcd and the Karmada API server read their
 * CA files once), and a step waits until they carry it (ca_rotation.h) */
static int stamp_ca(struct desired *d)
{
        for (size_t i = 0; i < d->n && d->ca_id[0]; i++) {
                cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(d->objs[i].obj, "spec"), "template");
                if (d->objs[i].workload && tmpl && annotate(tmpl, KO_CA_ANNOTATION, d->ca_id) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int desired_finish(struct desired *d)
{
        for (int c = 0; c < KO_N_COMPONENTS; c++) {
                int r;
                if (!d->container[c])
                        continue;
                r = finish_component(d, (enum names_component)c);
                if (r < 0)
                        return r;
        }
        return stamp_secrets(d) < 0 ? -ENOMEM : stamp_ca(d);
}

/* ---- builders ---- */
