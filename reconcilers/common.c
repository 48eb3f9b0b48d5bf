/* SPDX-License-Identifier: Apache-2.0 */
#include "common.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/base64.h"
#include "util/strbuf.h"

const char *common_obj_name(const struct karmada *k, const char *suffix, char *buf, size_t size)
{
        names_join(k->prefix, suffix, buf, size);
        return buf;
}

const char *common_comp_name(const struct karmada *k, enum names_component c, char *buf,
                             size_t size)
{
        return common_obj_name(k, names_components[c].suffix, buf, size);
}

cJSON *common_component_workload(struct desired *d, enum names_component c, const char *container,
                                 const char *binary, bool sts, cJSON **ret_container)
{
        cJSON *w = manifest_workload(d->k, c, sts, container, binary, ret_container);

        if (w)
                d->container[c] = *ret_container;
        return w;
}

int common_add_workload(struct desired *d, enum names_component c, cJSON *workload)
{
        cJSON *pdb;
        int r;

        r = desired_add(d, c == KO_ETCD ? &kube_statefulsets : &kube_deployments, workload, true);
        if (r < 0)
                return r;
        pdb = manifest_pdb(d->k, c);
        return pdb ? desired_add(d, &kube_poddisruptionbudgets, pdb, false) : 0;
}

void common_mount_kubeconfig(const struct karmada *k, enum names_component c, cJSON *workload,
                             cJSON *container)
{
        char comp[KO_NAME_MAX + 32], secret[KO_NAME_MAX + 40];

        snprintf(secret, sizeof(secret), "%s-config", common_comp_name(k, c, comp, sizeof(comp)));
        manifest_add_mount(workload, container, "karmada-config", KO_CONFIG_DIR, secret, true);
}

void common_mount_certs(const struct karmada *k, cJSON *workload, cJSON *container,
                        const char *volume)
{
        char secret[KO_NAME_MAX + 16];

        manifest_add_mount(workload, container, volume, KO_PKI_DIR,
                           common_obj_name(k, "cert", secret, sizeof(secret)), true);
}

void common_etcd_client(const struct karmada *k, cJSON *workload, cJSON *container)
{
        char secret[KO_NAME_MAX + 16], svc[KO_NAME_MAX + 16], host[512];
        struct strbuf servers = {0};
        const cJSON *e;

        common_obj_name(k, "etcd-cert", secret, sizeof(secret));
        if (k->etcd_external) {
                cJSON_ArrayForEach (e, k->etcd_endpoints)
                        strbuf_printf(&servers, "%s%s", servers.len ? "," : "", e->valuestring);
                manifest_add_arg(container, "--etcd-cafile=%s/ca.crt", KO_ETCD_CLIENT_DIR);
                manifest_add_arg(container, "--etcd-certfile=%s/tls.crt", KO_ETCD_CLIENT_DIR);
                manifest_add_arg(container, "--etcd-keyfile=%s/tls.key", KO_ETCD_CLIENT_DIR);
                manifest_add_arg(container, "--etcd-servers=%s", servers.buf ? servers.buf : "");
                strbuf_free(&servers);
        } else {
                manifest_service_host(k, common_obj_name(k, "etcd-client", svc, sizeof(svc)), host,
                                      sizeof(host));
                manifest_add_arg(container, "--etcd-cafile=%s/etcd-ca-trust.crt",
                                 KO_ETCD_CLIENT_DIR);
                manifest_add_arg(container, "--etcd-certfile=%s/etcd-client.crt",
                                 KO_ETCD_CLIENT_DIR);
                manifest_add_arg(container, "--etcd-keyfile=%s/etcd-client.key",
                                 KO_ETCD_CLIENT_DIR);
                manifest_add_arg(container, "--etcd-servers=https://%s:%d", host,
                                 KO_ETCD_CLIENT_PORT);
        }
        manifest_add_mount(workload, container, "etcd-client-cert", KO_ETCD_CLIENT_DIR, secret,
                           true);
}

void common_default_tolerations(const struct karmada *k, enum names_component c, cJSON *workload)
{
        cJSON *pspec, *list, *t;

        if (k->comp[c].tolerations)
                return;
        pspec = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(workload, "spec"),
                                                 "template"),
                "spec");
        list = cJSON_AddArrayToObject(pspec, "tolerations");
        t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "key", "node-role.kubernetes.io/master");
        cJSON_AddStringToObject(t, "operator", "Exists");
        cJSON_AddItemToArray(list, t);
}

void common_controllers_arg(cJSON *container, const cJSON *list, const char *def)
{
        struct strbuf sb = {0};
        const cJSON *e;

        cJSON_ArrayForEach (e, list)
                strbuf_printf(&sb, "%s%s", sb.len ? "," : "", e->valuestring);
        if (sb.len || def)
                manifest_add_arg(container, "--controllers=%s", sb.len ? sb.buf : def);
        strbuf_free(&sb);
}

void common_aggregated_server_args(cJSON *c)
{
        manifest_add_env_pod_ip(c);
        manifest_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--authentication-kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--authorization-kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--tls-cert-file=%s/karmada.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--tls-private-key-file=%s/karmada.key", KO_PKI_DIR);
        manifest_add_arg(c, "--tls-min-version=VersionTLS13");
        manifest_add_arg(c, "--audit-log-path=-");
        manifest_add_arg(c, "--audit-log-maxage=0");
        manifest_add_arg(c, "--audit-log-maxbackup=0");
        manifest_add_arg(c, "--bind-address=$(POD_IP)");
}

char *common_ca_bundle(struct desired *d)
{
        char *b64 = NULL;

        if (!d->trust_pem) {
                desired_wait(d, "the instance's CA");
                return NULL;
        }
        return base64_encode(d->trust_pem, strlen(d->trust_pem), &b64) < 0 ? NULL : b64;
}

int common_add_apiservice(const struct karmada *k, struct desired *d, enum names_component c,
                          const char *group, const char *version, int group_priority,
                          int version_priority, bool first_of_component)
{
        const char *app = names_components[c].app_name;
        char svc[KO_NAME_MAX + 32], host[512], name[256];
        cJSON *o, *spec, *ref;
        char *ca = common_ca_bundle(d);
        int r;

        if (!ca)
                return d->trust_pem ? -ENOMEM : 0;
        common_comp_name(k, c, svc, sizeof(svc));
        if (first_of_component) {
                o = manifest_karmada_object(k, &kube_services, svc, KO_SYSTEM_NAMESPACE, app);
                spec = cJSON_AddObjectToObject(o, "spec");
                cJSON_AddStringToObject(spec, "type", "ExternalName");
                cJSON_AddStringToObject(spec, "externalName",
                                        manifest_service_host(k, svc, host, sizeof(host)));
                r = desired_add_karmada(d, &kube_services, o);
                if (r < 0) {
                        free(ca);
                        return r;
                }
        }
        snprintf(name, sizeof(name), "%s.%s", version, group);
        o = manifest_karmada_object(k, &kube_apiservices, name, NULL, app);
        spec = cJSON_AddObjectToObject(o, "spec");
        cJSON_AddStringToObject(spec, "group", group);
        cJSON_AddStringToObject(spec, "version", version);
        cJSON_AddNumberToObject(spec, "groupPriorityMinimum", group_priority);
        cJSON_AddNumberToObject(spec, "versionPriority", version_priority);
        cJSON_AddStringToObject(spec, "caBundle", ca);
        ref = cJSON_AddObjectToObject(spec, "service");
        cJSON_AddStringToObject(ref, "name", svc);
        cJSON_AddStringToObject(ref, "namespace", KO_SYSTEM_NAMESPACE);
        free(ca);
        return desired_add_karmada(d, &kube_apiservices, o);
}

cJSON *common_csv_array(const char *csv)
{
        cJSON *a = cJSON_CreateArray();

        for (const char *p = csv, *e; a && *p; p = *e ? e + 1 : e) {
                char word[128];
                e = strchr(p, ',');
                if (!e)
                        e = p + strlen(p);
                snprintf(word, sizeof(word), "%.*s", (int)(e - p), p);
                cJSON_AddItemToArray(a, cJSON_CreateString(word));
        }
        return a;
}

int common_gate_on(struct desired *d, const char *gate, const enum names_component *comps)
{
        int r = 0;

        for (; *comps != KO_N_COMPONENTS && r >= 0; comps++)
                r = desired_gate(d, *comps, gate, true);
        return r;
}

static cJSON *feature_object(const struct karmada *k, const struct kube_resource *r,
                             const cJSON *given, const char *ns, const char *feature)
{
        const cJSON *gm = cJSON_GetObjectItemCaseSensitive(given, "metadata");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(gm ? gm : given, "name");
        cJSON *o, *meta, *e;

        if (!cJSON_IsString(name))
                return NULL;
        o = manifest_karmada_object(k, r, name->valuestring, ns, feature);
        if (!o)
                return NULL;
        meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
        /* the user's labels and annotations too; ours win */
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(gm, "labels"))
                if (cJSON_IsString(e) &&
                    !cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(meta, "labels"), e->string))
                        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(meta, "labels"),
                                                e->string, e->valuestring);
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(gm, "annotations")))
                cJSON_AddItemToObject(
                        meta, "annotations",
                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(gm, "annotations"), true));
        /* every field but the identity ones */
        cJSON_ArrayForEach (e, given) {
                if (strcmp(e->string, "metadata") == 0 || strcmp(e->string, "apiVersion") == 0 ||
                    strcmp(e->string, "kind") == 0 || strcmp(e->string, "name") == 0 ||
                    strcmp(e->string, "namespace") == 0)
                        continue;
                cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, true));
        }
        return o;
}

int common_add_feature_object(struct desired *d, const struct karmada *k,
                              const struct kube_resource *r, const cJSON *given, const char *ns,
                              const char *feature)
{
        return desired_add_karmada(d, r, feature_object(k, r, given, ns, feature));
}
