/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada API server: a kube-apiserver Deployment with upstream's flags and a Service of
 * the asked type (ClusterIP, NodePort, LoadBalancer); its Secrets encrypted at rest
 * (karmada/encryption.h: the providers' Secret and mount; the encryption-at-rest step ends a
 * change). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "karmada/encryption.h"

static bool apiserver_enabled(const struct karmada *k)
{
        return true;
}

/* Encryption at rest: the providers' Secret, mounted, and the flag (when on); where a change
 * stands, in d */
static int encryption(const struct karmada *k, struct desired *d, cJSON *w, cJSON *c)
{
        struct encryption_plan ep;
        char name[KO_NAME_MAX + 16];
        int r = encryption_plan(k, d, &ep);

        common_obj_name(k, "encryption", name, sizeof(name));
        if (r == -EBADMSG)
                desired_wait(d,
                             "Secret %s: keys.json is not a list of encryption providers; "
                             "nothing is changed until it is restored",
                             name);
        if (r < 0)
                return r;
        d->encryption_phase = ep.phase;
        d->encryption_rotated = ep.completed;
        d->encryption_rewrite = ep.phase && strcmp(ep.phase, "Rewriting") == 0 && ep.rolled;
        snprintf(d->encryption_writer, sizeof(d->encryption_writer), "%s", encryption_writer(&ep));
        if (ep.enabled) {
                manifest_add_mount(w, c, "encryption", KO_ENCRYPTION_DIR, name, true);
                manifest_add_arg(c, "--encryption-provider-config=%s/%s", KO_ENCRYPTION_DIR,
                                 KO_ENCRYPTION_FILE);
                r = desired_add(d, &kube_secrets, encryption_secret(k, &ep), false);
        }
        if (r >= 0 && ep.enabled)
                r = desired_pod_annotation(d, KO_APISERVER, KO_ENCRYPTION_ANNOTATION, ep.id);
        encryption_plan_free(&ep);
        return r;
}

static int apiserver_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 16];
        cJSON *w, *c, *spec, *pspec, *svc, *sspec, *meta, *e;
        const cJSON *it;
        int r;

        common_comp_name(k, KO_APISERVER, name, sizeof(name));
        w = common_component_workload(d, KO_APISERVER, "kube-apiserver", "kube-apiserver", false,
                                      &c);
        if (!w)
                return -ENOMEM;
        manifest_add_arg(c, "--allow-privileged=true");
        manifest_add_arg(c, "--authorization-mode=Node,RBAC");
        manifest_add_arg(c, "--client-ca-file=%s/ca-trust.crt", KO_PKI_DIR);
        manifest_add_arg(c,
                         "--disable-admission-plugins=StorageObjectInUseProtection,ServiceAccount");
        manifest_add_arg(c, "--enable-admission-plugins=NodeRestriction");
        manifest_add_arg(c, "--enable-bootstrap-token-auth=true");
        manifest_add_arg(c, "--bind-address=0.0.0.0");
        manifest_add_arg(c, "--secure-port=%d", KO_APISERVER_PORT);
        manifest_add_arg(c, "--service-account-issuer=https://kubernetes.default.svc.%s",
                         k->dns_domain);
        manifest_add_arg(c, "--service-account-key-file=%s/karmada.key", KO_PKI_DIR);
        manifest_add_arg(c, "--service-account-signing-key-file=%s/karmada.key", KO_PKI_DIR);
        manifest_add_arg(c, "--service-cluster-ip-range=%s", k->service_subnet);
        manifest_add_arg(c, "--proxy-client-cert-file=%s/front-proxy-client.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--proxy-client-key-file=%s/front-proxy-client.key", KO_PKI_DIR);
        manifest_add_arg(c, "--requestheader-allowed-names=front-proxy-client");
        manifest_add_arg(c, "--requestheader-client-ca-file=%s/front-proxy-ca-trust.crt",
                         KO_PKI_DIR);
        manifest_add_arg(c, "--requestheader-extra-headers-prefix=X-Remote-Extra-");
        manifest_add_arg(c, "--requestheader-group-headers=X-Remote-Group");
        manifest_add_arg(c, "--requestheader-username-headers=X-Remote-User");
        manifest_add_arg(c, "--tls-cert-file=%s/apiserver.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--tls-private-key-file=%s/apiserver.key", KO_PKI_DIR);
        manifest_add_arg(c, "--tls-min-version=VersionTLS13");
        manifest_add_arg(c, "--max-requests-inflight=1500");
        manifest_add_arg(c, "--max-mutating-requests-inflight=500");
        manifest_add_arg(c, "--v=2");
        common_etcd_client(k, w, c);
        manifest_add_port(c, "https", KO_APISERVER_PORT);
        manifest_add_probe(c, "livenessProbe", "/livez", KO_APISERVER_PORT, true, 10, 10, 15, 8);
        manifest_add_probe(c, "readinessProbe", "/readyz", KO_APISERVER_PORT, true, 10, 10, 15, 3);
        common_mount_certs(k, w, c, "apiserver-cert");
        /* the user's volumes, mounts and sidecars */
        spec = cJSON_GetObjectItemCaseSensitive(w, "spec");
        pspec = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "template"),
                                                 "spec");
        cJSON_ArrayForEach (it, k->extra_volumes)
                cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(pspec, "volumes"),
                                     cJSON_Duplicate(it, true));
        cJSON_ArrayForEach (it, k->extra_volume_mounts)
                cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(c, "volumeMounts"),
                                     cJSON_Duplicate(it, true));
        cJSON_ArrayForEach (it, k->sidecars)
                cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(pspec, "containers"),
                                     cJSON_Duplicate(it, true));
        r = common_add_workload(d, KO_APISERVER, w);
        if (r >= 0)
                r = encryption(k, d, w, c);
        if (r < 0)
                return r;
        svc = manifest_service(k, KO_APISERVER, name, k->service_type,
                               (const struct manifest_port[]){
                                       {"client", KO_APISERVER_PORT, KO_APISERVER_PORT}, {0}});
        if (!svc)
                return -ENOMEM;
        sspec = cJSON_GetObjectItemCaseSensitive(svc, "spec");
        if (k->lb_class && strcmp(k->service_type, "LoadBalancer") == 0)
                cJSON_AddStringToObject(sspec, "loadBalancerClass", k->lb_class);
        if (k->service_annotations) {
                meta = cJSON_GetObjectItemCaseSensitive(svc, "metadata");
                e = cJSON_Duplicate(k->service_annotations, true);
                cJSON_AddItemToObject(meta, "annotations", e);
        }
        return desired_add(d, &kube_services, svc, false);
}

const struct reconciler reconciler_apiserver = {
        .name = "karmada-apiserver",
        .after = (const char *const[]){"pki", "etcd", NULL},
        .condition = "KarmadaAPIServerReady",
        .enabled = apiserver_enabled,
        .contribute = apiserver_contribute,
};
