/* SPDX-License-Identifier: Apache-2.0 */
/* Kubeconfigs of the Karmada API server (key karmada.config): <prefix>-admin-config for users
 * and the operator, reaching the server the way its Service is exposed, and one
 * <component>-config per component, reaching it inside the cluster. In the Karmada API server,
 * namespace karmada-system, applied through the admin kubeconfig. Written once: an existing
 * kubeconfig is kept while it points at the same server, trusts the current CA and carries a
 * client certificate of that CA with a third of its life left. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "kube/config.h"
#include "util/base64.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/yaml.h"

#define CLUSTER "karmada-apiserver"
#define USER    "karmada-admin"

/* The admin endpoint by Service type; NULL while unknown (node port or LB not assigned). */
static char *admin_server(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 16], host[512], *url = NULL;
        const cJSON *svc, *it;

        common_comp_name(k, KO_APISERVER, name, sizeof(name));
        if (strcmp(k->service_type, "ClusterIP") == 0) {
                if (asprintf(&url, "https://%s:%d",
                             manifest_service_host(k, name, host, sizeof(host)),
                             KO_APISERVER_PORT) < 0)
                        return NULL;
                return url;
        }
        svc = desired_observed(d, &kube_services, k->namespace, name);
        if (strcmp(k->service_type, "NodePort") == 0) {
                const cJSON *ports = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(svc, "spec"), "ports");
                cJSON_ArrayForEach (it, ports) {
                        const cJSON *np = cJSON_GetObjectItemCaseSensitive(it, "nodePort");
                        const cJSON *pn = cJSON_GetObjectItemCaseSensitive(it, "name");
                        const char *addr = d->observed ? d->observed->node_address : NULL;
                        if (cJSON_IsNumber(np) && cJSON_IsString(pn) &&
                            strcmp(pn->valuestring, "client") == 0 && addr) {
                                bool v6 = strchr(addr, ':') != NULL;
                                if (asprintf(&url, v6 ? "https://[%s]:%d" : "https://%s:%d", addr,
                                             np->valueint) < 0)
                                        return NULL;
                                return url;
                        }
                }
                desired_wait(d, "the node port of Service %s and a node address", name);
                return NULL;
        }
        cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(
                                                cJSON_GetObjectItemCaseSensitive(svc, "status"),
                                                "loadBalancer"),
                                        "ingress")) {
                const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "hostname");
                const cJSON *ip = cJSON_GetObjectItemCaseSensitive(it, "ip");
                const char *a = cJSON_IsString(h) && *h->valuestring ? h->valuestring
                                : cJSON_IsString(ip)                 ? ip->valuestring
                                                                     : NULL;
                if (a) {
                        if (asprintf(&url, strchr(a, ':') ? "https://[%s]:%d" : "https://%s:%d", a,
                                     KO_APISERVER_PORT) < 0)
                                return NULL;
                        return url;
                }
        }
        desired_wait(d, "a load balancer address for Service %s", name);
        return NULL;
}

/* The kubeconfig of an existing Secret when it can be kept as it is (its base64 text; its client
 * certificate into *ret_client): past its renewal time too when the CA has no key. */
static const char *reusable(const cJSON *secret, const char *server, const char *ca_pem,
                            const struct pki_cert *ca, struct pki_cert **ret_client)
{
        const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(secret, "data"), KO_KUBECONFIG_KEY);
        unsigned char *text = NULL;
        size_t len = 0;
        struct kube_config *cfg = NULL;
        struct pki_cert *client = NULL;
        char err[256];
        bool ok = false;

        text = (unsigned char *)manifest_secret_value(secret, KO_KUBECONFIG_KEY, &len);
        if (!text)
                return NULL;
        if (kube_config_from_memory((const char *)text, len, "kubeconfig", NULL, &cfg, err,
                                    sizeof(err)) == 0 &&
            strcmp(cfg->server, server) == 0 && cfg->ca && cfg->ca_len == strlen(ca_pem) &&
            memcmp(cfg->ca, ca_pem, cfg->ca_len) == 0 && cfg->client_cert &&
            pki_load(cfg->client_cert, cfg->client_cert_len, cfg->client_key, cfg->client_key_len,
                     &client) == 0)
                ok = pki_signed_by(client, ca) && desired_keeps(client, ca);
        if (ok)
                *ret_client = client;
        else
                pki_free(client);
        kube_config_free(cfg);
        free_secret(text, len);
        return ok ? b64->valuestring : NULL;
}

/* A kubeconfig in YAML with the CA, a client certificate and its key. */
static int render(const char *server, const char *ca_pem, const struct pki_cert *client, char **ret)
{
        char *cert = NULL, *key = NULL, *ca64 = NULL, *cert64 = NULL, *key64 = NULL, *out = NULL;
        size_t cl, kl;
        cJSON *doc = NULL;
        int r;

        if ((r = pki_cert_pem(client, &cert, &cl)) < 0 ||
            (r = pki_key_pem(client, &key, &kl)) < 0 ||
            (r = base64_encode(ca_pem, strlen(ca_pem), &ca64)) < 0 ||
            (r = base64_encode(cert, cl, &cert64)) < 0 || (r = base64_encode(key, kl, &key64)) < 0)
                goto out;
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "apiVersion", "v1");
        cJSON_AddStringToObject(doc, "kind", "Config");
        cJSON *cl_ = cJSON_CreateObject(), *cluster = cJSON_AddObjectToObject(cl_, "cluster");
        cJSON_AddStringToObject(cluster, "certificate-authority-data", ca64);
        cJSON_AddStringToObject(cluster, "server", server);
        cJSON_AddStringToObject(cl_, "name", CLUSTER);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "clusters"), cl_);
        cJSON *ctx = cJSON_CreateObject(), *c = cJSON_AddObjectToObject(ctx, "context");
        cJSON_AddStringToObject(c, "cluster", CLUSTER);
        cJSON_AddStringToObject(c, "user", USER);
        cJSON_AddStringToObject(ctx, "name", USER "@" CLUSTER);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "contexts"), ctx);
        cJSON_AddStringToObject(doc, "current-context", USER "@" CLUSTER);
        cJSON *u = cJSON_CreateObject(), *user = cJSON_AddObjectToObject(u, "user");
        cJSON_AddStringToObject(user, "client-certificate-data", cert64);
        cJSON_AddStringToObject(user, "client-key-data", key64);
        cJSON_AddStringToObject(u, "name", USER);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "users"), u);
        r = yaml_emit((const cJSON *const[]){doc}, 1, &out);
        if (r >= 0)
                *ret = out;
out:
        if (doc) /* the key's base64 sits in the document: wipe it */
                cJSON_DeleteItemFromObjectCaseSensitive(doc, "users");
        cJSON_Delete(doc);
        free(cert);
        if (key)
                free_secret(key, kl);
        free(ca64);
        free(cert64);
        if (key64)
                free_secret(key64, strlen(key64));
        return r;
}

/* The client certificate of kubeconfig Secret <name>: its renewal time, and an entry of
 * status.certificates named after the Secret (less the instance's prefix) */
static int note(struct desired *d, const char *secret, const struct pki_cert *client)
{
        size_t plen = strlen(d->k->prefix);
        const char *name = secret;

        if (strncmp(secret, d->k->prefix, plen) == 0 && secret[plen] == '-')
                name = secret + plen + 1;
        desired_renewal(d, name, client, d->ca);
        return desired_certificate(d, name, secret, KO_KUBECONFIG_KEY, client, "ca");
}

/* Add the Secret <name> holding a kubeconfig for server: the existing one, or a new one. */
static int add_kubeconfig(struct desired *d, const char *name, const char *server,
                          struct pki_cert **client)
{
        static const char *const masters[] = {"system:masters", NULL};
        const struct karmada *k = d->k;
        struct pki_cert *kept = NULL;
        const char *keep = reusable(desired_observed(d, &kube_secrets, k->namespace, name), server,
                                    d->trust_pem, d->ca, &kept);
        cJSON *secret;
        char *text = NULL;
        int r;

        if (keep) {
                r = note(d, name, kept);
                pki_free(kept);
                if (r < 0)
                        return r;
                secret = manifest_secret(k, name, NULL, NULL, NULL, 0);
                if (!secret)
                        return -ENOMEM;
                cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(secret, "data"),
                                        KO_KUBECONFIG_KEY, keep);
                return desired_add(d, &kube_secrets, secret, false);
        }
        if (!pki_has_key(d->ca)) {
                desired_wait(d,
                             "kubeconfig %s: the CA of spec.customCertificate.apiServerCACert "
                             "has no tls.key to issue its client certificate with",
                             name);
                return 0;
        }
        if (!*client) {
                struct pki_request req = {.cn = "system:admin",
                                          .orgs = masters,
                                          .client_auth = true,
                                          .validity_s = k->leaf_validity_s,
                                          .key_type = d->key_type};
                r = pki_issue(d->ca, &req, client);
                if (r < 0)
                        return r;
        }
        if ((r = note(d, name, *client)) < 0)
                return r;
        r = render(server, d->trust_pem, *client, &text);
        if (r < 0)
                return r;
        secret = manifest_secret(k, name, (const char *const[]){KO_KUBECONFIG_KEY},
                                 (const char *const[]){text}, (const size_t[]){strlen(text)}, 1);
        free_secret(text, strlen(text));
        return desired_add(d, &kube_secrets, secret, false);
}

static bool kubeconfig_enabled(const struct karmada *k)
{
        return true;
}

static int kubeconfig_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 40], comp[KO_NAME_MAX + 32], host[512];
        struct pki_cert *client = NULL;
        char *server = NULL, *incluster = NULL;
        int r = 0;

        if (!d->ca || !d->trust_pem) {
                desired_wait(d, "the certificates");
                return 0;
        }
        if (asprintf(&incluster, "https://%s:%d",
                     manifest_service_host(k, common_comp_name(k, KO_APISERVER, comp, sizeof(comp)),
                                           host, sizeof(host)),
                     KO_APISERVER_PORT) < 0)
                return -ENOMEM;
        for (int c = 0; c < KO_N_COMPONENTS && r >= 0; c++) {
                if (!names_components[c].kubeconfig_secret || !k->comp[c].enabled)
                        continue;
                snprintf(name, sizeof(name), "%s-config",
                         common_comp_name(k, (enum names_component)c, comp, sizeof(comp)));
                r = add_kubeconfig(d, name, incluster, &client);
        }
        server = admin_server(k, d);
        if (r >= 0 && server)
                r = add_kubeconfig(d, common_obj_name(k, "admin-config", name, sizeof(name)),
                                   server, &client);
        pki_free(client);
        free(server);
        free(incluster);
        /* Karmada's own namespace in its API server; applying it through the admin kubeconfig
         * proves that kubeconfig works */
        if (r >= 0)
                r = desired_add_karmada(d, &kube_namespaces,
                                        manifest_karmada_object(k, &kube_namespaces,
                                                                KO_SYSTEM_NAMESPACE, NULL,
                                                                "karmada"));
        return r;
}

const struct reconciler reconciler_kubeconfig = {
        .name = "kubeconfig",
        .after = (const char *const[]){"karmada-apiserver", NULL},
        .condition = "KubeconfigReady",
        .karmada_kinds = (const struct kube_resource *const[]){&kube_namespaces, NULL},
        .enabled = kubeconfig_enabled,
        .contribute = kubeconfig_contribute,
};
