/* SPDX-License-Identifier: Apache-2.0 */
#include "manifests.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "util/base64.h"
#include "util/macro.h"
#include "util/strbuf.h"

const char *manifest_service_host(const struct karmada *k, const char *service, char *buf,
                                  size_t size)
{
        snprintf(buf, size, "%s.%s.svc.%s", service, k->namespace, k->dns_domain);
        return buf;
}

cJSON *manifest_karmada_object(const struct karmada *k, const struct kube_resource *r,
                               const char *name, const char *ns, const char *app)
{
        cJSON *o = cJSON_CreateObject(), *meta, *labels;
        char av[128];

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "apiVersion", kube_resource_api_version(r, av, sizeof(av)));
        cJSON_AddStringToObject(o, "kind", r->kind);
        meta = cJSON_AddObjectToObject(o, "metadata");
        cJSON_AddStringToObject(meta, "name", name);
        if (r->namespaced && ns)
                cJSON_AddStringToObject(meta, "namespace", ns);
        labels = cJSON_AddObjectToObject(meta, "labels");
        cJSON_AddStringToObject(labels, KO_LABEL_MANAGED_BY, KO_MANAGER);
        cJSON_AddStringToObject(labels, KO_LABEL_NAME, app);
        cJSON_AddStringToObject(labels, KO_LABEL_INSTANCE, k->name);
        if (k->host_secret_name && k->uid) { /* garbage collection by label there */
                cJSON_AddStringToObject(labels, KO_LABEL_OWNER_NAMESPACE, k->namespace);
                cJSON_AddStringToObject(labels, KO_LABEL_OWNER_NAME, k->name);
                cJSON_AddStringToObject(labels, KO_LABEL_OWNER_UID, k->uid);
        }
        return o;
}

cJSON *manifest_object(const struct karmada *k, const struct kube_resource *r, const char *name,
                       int c)
{
        cJSON *o = manifest_karmada_object(k, r, name, k->namespace,
                                           c >= 0 ? names_components[c].app_name : "karmada");
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");

        /* garbage collection follows the owner; not across clusters, not when asked not to */
        if (o && k->uid && k->cascade && !k->host_secret_name && r->namespaced) {
                cJSON *refs = cJSON_AddArrayToObject(meta, "ownerReferences"),
                      *ref = cJSON_CreateObject();
                cJSON_AddStringToObject(ref, "apiVersion", "operator.karmada.io/v1alpha1");
                cJSON_AddStringToObject(ref, "kind", "Karmada");
                cJSON_AddStringToObject(ref, "name", k->name);
                cJSON_AddStringToObject(ref, "uid", k->uid);
                cJSON_AddTrueToObject(ref, "controller");
                cJSON_AddTrueToObject(ref, "blockOwnerDeletion");
                cJSON_AddItemToArray(refs, ref);
        }
        return o;
}

cJSON *manifest_selector(const struct karmada *k, enum names_component c)
{
        cJSON *s = cJSON_CreateObject();

        cJSON_AddStringToObject(s, KO_LABEL_NAME, names_components[c].app_name);
        cJSON_AddStringToObject(s, KO_LABEL_INSTANCE, k->name);
        return s;
}

static void merge_strings(cJSON *dst, const cJSON *src)
{
        const cJSON *it;

        cJSON_ArrayForEach (it, src) {
                if (!cJSON_GetObjectItemCaseSensitive(dst, it->string))
                        cJSON_AddStringToObject(dst, it->string, it->valuestring);
        }
}

static cJSON *dup(const cJSON *v)
{
        return cJSON_Duplicate(v, true);
}

cJSON *manifest_workload(const struct karmada *k, enum names_component c, bool sts,
                         const char *container, const char *binary, cJSON **ret_container)
{
        const struct karmada_settings *s = &k->comp[c];
        char name[KO_NAME_MAX + 32];
        cJSON *o, *meta, *spec, *tmpl, *tmeta, *labels, *pspec, *ctr, *ctrs;

        names_join(k->prefix, names_components[c].suffix, name, sizeof(name));
        o = manifest_object(k, sts ? &kube_statefulsets : &kube_deployments, name, (int)c);
        if (!o)
                return NULL;
        meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
        merge_strings(cJSON_GetObjectItemCaseSensitive(meta, "labels"), s->labels);
        if (s->annotations)
                cJSON_AddItemToObject(meta, "annotations", dup(s->annotations));
        spec = cJSON_AddObjectToObject(o, "spec");
        if (!s->replicas_external)
                cJSON_AddNumberToObject(spec, "replicas", s->replicas);
        if (sts) {
                cJSON_AddStringToObject(spec, "serviceName", name);
                cJSON_AddStringToObject(spec, "podManagementPolicy", "Parallel");
        }
        cJSON_AddItemToObject(cJSON_AddObjectToObject(spec, "selector"), "matchLabels",
                              manifest_selector(k, c));
        tmpl = cJSON_AddObjectToObject(spec, "template");
        tmeta = cJSON_AddObjectToObject(tmpl, "metadata");
        labels = manifest_selector(k, c);
        /* the operator's caches of pods select on it (not in the selector: immutable) */
        cJSON_AddStringToObject(labels, KO_LABEL_MANAGED_BY, KO_MANAGER);
        merge_strings(labels, s->labels);
        cJSON_AddItemToObject(tmeta, "labels", labels);
        if (s->annotations)
                cJSON_AddItemToObject(tmeta, "annotations", dup(s->annotations));
        pspec = cJSON_AddObjectToObject(tmpl, "spec");
        cJSON_AddFalseToObject(pspec, "automountServiceAccountToken");
        cJSON_AddStringToObject(pspec, "priorityClassName", s->priority_class);
        if (s->tolerations)
                cJSON_AddItemToObject(pspec, "tolerations", dup(s->tolerations));
        if (s->affinity) {
                cJSON_AddItemToObject(pspec, "affinity", dup(s->affinity));
        } else if (s->replicas > 1 || s->replicas_external) {
                /* spread replicas over nodes when possible, never block scheduling */
                cJSON *pref = cJSON_CreateObject(), *term = cJSON_CreateObject(), *list;
                cJSON_AddNumberToObject(pref, "weight", 100);
                cJSON_AddItemToObject(cJSON_AddObjectToObject(term, "labelSelector"), "matchLabels",
                                      manifest_selector(k, c));
                cJSON_AddStringToObject(term, "topologyKey", "kubernetes.io/hostname");
                cJSON_AddItemToObject(pref, "podAffinityTerm", term);
                list = cJSON_AddArrayToObject(
                        cJSON_AddObjectToObject(cJSON_AddObjectToObject(pspec, "affinity"),
                                                "podAntiAffinity"),
                        "preferredDuringSchedulingIgnoredDuringExecution");
                cJSON_AddItemToArray(list, pref);
        }
        ctrs = cJSON_AddArrayToObject(pspec, "containers");
        ctr = cJSON_CreateObject();
        cJSON_AddStringToObject(ctr, "name", container);
        cJSON_AddStringToObject(ctr, "image", s->image);
        cJSON_AddStringToObject(ctr, "imagePullPolicy", s->pull_policy);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(ctr, "command"), cJSON_CreateString(binary));
        if (s->resources && s->resources->child)
                cJSON_AddItemToObject(ctr, "resources", dup(s->resources));
        cJSON_AddItemToArray(ctrs, ctr);
        *ret_container = ctr;
        return o;
}

void manifest_add_arg(cJSON *container, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(container, "command"),
                             cJSON_CreateString(buf));
}

static cJSON *get_or_add_array(cJSON *o, const char *key)
{
        cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);

        return a ? a : cJSON_AddArrayToObject(o, key);
}

void manifest_add_env_pod_ip(cJSON *container)
{
        cJSON *e = cJSON_CreateObject();

        cJSON_AddStringToObject(e, "name", "POD_IP");
        cJSON_AddStringToObject(
                cJSON_AddObjectToObject(cJSON_AddObjectToObject(e, "valueFrom"), "fieldRef"),
                "fieldPath", "status.podIP");
        cJSON_AddItemToArray(get_or_add_array(container, "env"), e);
}

void manifest_add_port(cJSON *container, const char *name, int port)
{
        cJSON *p = cJSON_CreateObject();

        if (name)
                cJSON_AddStringToObject(p, "name", name);
        cJSON_AddNumberToObject(p, "containerPort", port);
        cJSON_AddStringToObject(p, "protocol", "TCP");
        cJSON_AddItemToArray(get_or_add_array(container, "ports"), p);
}

void manifest_add_mount(cJSON *workload, cJSON *container, const char *volume, const char *path,
                        const char *secret, bool read_only)
{
        cJSON *pspec = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(workload, "spec"),
                                                 "template"),
                "spec");
        cJSON *vols = get_or_add_array(pspec, "volumes"), *m = cJSON_CreateObject(), *v;
        bool have = false;

        cJSON_ArrayForEach (v, vols)
                have = have || strcmp(cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring,
                                      volume) == 0;
        if (!have && secret) {
                v = cJSON_CreateObject();
                cJSON_AddStringToObject(v, "name", volume);
                cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "secret"), "secretName", secret);
                cJSON_AddItemToArray(vols, v);
        }
        cJSON_AddStringToObject(m, "name", volume);
        cJSON_AddStringToObject(m, "mountPath", path);
        if (read_only)
                cJSON_AddTrueToObject(m, "readOnly");
        cJSON_AddItemToArray(get_or_add_array(container, "volumeMounts"), m);
}

void manifest_add_probe(cJSON *container, const char *kind, const char *path, int port, bool https,
                        int initial_delay, int period, int timeout, int failures)
{
        cJSON *p = cJSON_AddObjectToObject(container, kind),
              *g = cJSON_AddObjectToObject(p, "httpGet");

        cJSON_AddStringToObject(g, "path", path);
        cJSON_AddNumberToObject(g, "port", port);
        cJSON_AddStringToObject(g, "scheme", https ? "HTTPS" : "HTTP");
        cJSON_AddNumberToObject(p, "initialDelaySeconds", initial_delay);
        cJSON_AddNumberToObject(p, "periodSeconds", period);
        cJSON_AddNumberToObject(p, "timeoutSeconds", timeout);
        cJSON_AddNumberToObject(p, "successThreshold", 1);
        cJSON_AddNumberToObject(p, "failureThreshold", failures);
}

cJSON *manifest_service(const struct karmada *k, enum names_component c, const char *name,
                        const char *type, const struct manifest_port *ports)
{
        cJSON *o = manifest_object(k, &kube_services, name, (int)c), *spec, *list;
        bool headless = strcmp(type, "Headless") == 0;

        if (!o)
                return NULL;
        spec = cJSON_AddObjectToObject(o, "spec");
        cJSON_AddStringToObject(spec, "type", headless ? "ClusterIP" : type);
        if (headless)
                cJSON_AddStringToObject(spec, "clusterIP", "None");
        cJSON_AddItemToObject(spec, "selector", manifest_selector(k, c));
        list = cJSON_AddArrayToObject(spec, "ports");
        for (; ports && ports->port; ports++) {
                cJSON *p = cJSON_CreateObject();
                if (ports->name)
                        cJSON_AddStringToObject(p, "name", ports->name);
                cJSON_AddNumberToObject(p, "port", ports->port);
                cJSON_AddStringToObject(p, "protocol", "TCP");
                cJSON_AddNumberToObject(p, "targetPort", ports->target);
                cJSON_AddItemToArray(list, p);
        }
        return o;
}

cJSON *manifest_pdb(const struct karmada *k, enum names_component c)
{
        const struct karmada_settings *s = &k->comp[c];
        char name[KO_NAME_MAX + 32];
        cJSON *o, *spec;

        if (!s->pdb_min_available && !s->pdb_max_unavailable)
                return NULL;
        names_join(k->prefix, names_components[c].suffix, name, sizeof(name));
        o = manifest_object(k, &kube_poddisruptionbudgets, name, (int)c);
        if (!o)
                return NULL;
        spec = cJSON_AddObjectToObject(o, "spec");
        cJSON_AddItemToObject(cJSON_AddObjectToObject(spec, "selector"), "matchLabels",
                              manifest_selector(k, c));
        if (s->pdb_min_available)
                cJSON_AddItemToObject(spec, "minAvailable", dup(s->pdb_min_available));
        else
                cJSON_AddItemToObject(spec, "maxUnavailable", dup(s->pdb_max_unavailable));
        return o;
}

char *manifest_secret_value(const cJSON *secret, const char *key, size_t *len)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(secret, "data"), key);
        unsigned char *out = NULL;
        size_t n = 0;

        if (!cJSON_IsString(v) ||
            base64_decode(v->valuestring, strlen(v->valuestring), &out, &n) < 0)
                return NULL;
        if (len)
                *len = n;
        return (char *)out;
}

cJSON *manifest_secret(const struct karmada *k, const char *name, const char *const *keys,
                       const char *const *values, const size_t *lens, int n)
{
        cJSON *o = manifest_object(k, &kube_secrets, name, -1), *data;

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "type", "Opaque");
        data = cJSON_AddObjectToObject(o, "data");
        for (int i = 0; i < n; i++) {
                char *b64 = NULL;
                if (base64_encode(values[i], lens[i], &b64) < 0) {
                        cJSON_Delete(o);
                        return NULL;
                }
                cJSON_AddStringToObject(data, keys[i], b64);
                free_secret(b64, strlen(b64));
        }
        return o;
}
