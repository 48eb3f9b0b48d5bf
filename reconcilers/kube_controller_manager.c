/* SPDX-License-Identifier: Apache-2.0 */
/* The kube-controller-manager of the Karmada API server: namespaces, garbage collection,
 * service-account tokens and certificate signing. */
#include "common.h"

#define DEFAULT_CONTROLLERS                                                                   \
        "namespace,garbagecollector,serviceaccount-token,ttl-after-finished,bootstrapsigner," \
        "csrcleaner,csrsigning,clusterrole-aggregation"

static bool kcm_enabled(const struct karmada *k)
{
        return k->comp[KO_KUBE_CONTROLLER_MANAGER].enabled;
}

static int kcm_contribute(const struct karmada *k, struct desired *d)
{
        cJSON *w, *c;

        w = common_component_workload(d, KO_KUBE_CONTROLLER_MANAGER, "kube-controller-manager",
                                      "kube-controller-manager", false, &c);
        if (!w)
                return -ENOMEM;
        manifest_add_arg(c, "--allocate-node-cidrs=true");
        manifest_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--authentication-kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--authorization-kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--bind-address=0.0.0.0");
        manifest_add_arg(c, "--client-ca-file=%s/ca.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--cluster-cidr=10.244.0.0/16");
        manifest_add_arg(c, "--cluster-name=karmada");
        if (!d->ca || pki_has_key(d->ca)) { /* a user's CA without its key signs nothing */
                manifest_add_arg(c, "--cluster-signing-cert-file=%s/ca.crt", KO_PKI_DIR);
                manifest_add_arg(c, "--cluster-signing-key-file=%s/ca.key", KO_PKI_DIR);
        }
        common_controllers_arg(c, k->comp[KO_KUBE_CONTROLLER_MANAGER].controllers,
                               DEFAULT_CONTROLLERS);
        manifest_add_arg(c, "--leader-elect=true");
        manifest_add_arg(c, "--node-cidr-mask-size=24");
        manifest_add_arg(c, "--root-ca-file=%s/ca-trust.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--service-account-private-key-file=%s/karmada.key", KO_PKI_DIR);
        manifest_add_arg(c, "--service-cluster-ip-range=%s", k->service_subnet);
        manifest_add_arg(c, "--use-service-account-credentials=true");
        manifest_add_arg(c, "--v=2");
        manifest_add_probe(c, "livenessProbe", "/healthz", 10257, true, 10, 10, 15, 8);
        common_mount_certs(k, w, c, "karmada-certs");
        common_mount_kubeconfig(k, KO_KUBE_CONTROLLER_MANAGER, w, c);
        return common_add_workload(d, KO_KUBE_CONTROLLER_MANAGER, w);
}

const struct reconciler reconciler_kube_controller_manager = {
        .name = "kube-controller-manager",
        .after = (const char *const[]){"karmada-webhook", NULL},
        .condition = "KubeControllerManagerReady",
        .enabled = kcm_enabled,
        .contribute = kcm_contribute,
};
