/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-aggregated-apiserver: serves cluster.karmada.io for the Karmada API server. */
#include "common.h"

static bool aggregated_enabled(const struct karmada *k)
{
        return k->comp[KO_AGGREGATED_APISERVER].enabled;
}

static int aggregated_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 32];
        cJSON *w, *c;
        int r;

        w = common_component_workload(d, KO_AGGREGATED_APISERVER, "karmada-aggregated-apiserver",
                                      "/bin/karmada-aggregated-apiserver", false, &c);
        if (!w)
                return -ENOMEM;
        common_aggregated_server_args(c);
        common_etcd_client(k, w, c);
        manifest_add_probe(c, "readinessProbe", "/readyz", 443, true, 5, 10, 5, 3);
        common_mount_kubeconfig(k, KO_AGGREGATED_APISERVER, w, c);
        common_mount_certs(k, w, c, "apiserver-cert");
        r = common_add_workload(d, KO_AGGREGATED_APISERVER, w);
        if (r < 0)
                return r;
        r = desired_add(d, &kube_services,
                        manifest_service(
                                k, KO_AGGREGATED_APISERVER,
                                common_comp_name(k, KO_AGGREGATED_APISERVER, name, sizeof(name)),
                                "ClusterIP", (const struct manifest_port[]){{NULL, 443, 443}, {0}}),
                        false);
        /* the Cluster API (cluster.karmada.io), in the Karmada API server */
        return r < 0 ? r
                     : common_add_apiservice(k, d, KO_AGGREGATED_APISERVER, "cluster.karmada.io",
                                             "v1alpha1", 2000, 10, true);
}

const struct reconciler reconciler_aggregated_apiserver = {
        .name = "karmada-aggregated-apiserver",
        .after = (const char *const[]){"kubeconfig", NULL},
        .condition = "KarmadaAggregatedAPIServerReady",
        .karmada_kinds =
                (const struct kube_resource *const[]){&kube_services, &kube_apiservices, NULL},
        .enabled = aggregated_enabled,
        .contribute = aggregated_contribute,
};
