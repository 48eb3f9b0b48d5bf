/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-search and karmada-metrics-adapter: aggregated API servers behind Services on 443. */
#include "common.h"

static bool search_enabled(const struct karmada *k)
{
        return k->comp[KO_SEARCH].enabled;
}

static bool metrics_adapter_enabled(const struct karmada *k)
{
        return k->comp[KO_METRICS_ADAPTER].enabled;
}

static int contribute(const struct karmada *k, struct desired *d, enum ko_component comp,
                      const char *binary)
{
        char name[KO_NAME_MAX + 32];
        cJSON *w, *c, *svc;
        int r;

        w = ko_component_workload(d, comp, ko_components[comp].app_name, binary, false, &c);
        if (!w)
                return -ENOMEM;
        ko_aggregated_server_args(c);
        if (comp == KO_SEARCH) {
                ko_etcd_client(k, w, c);
                ko_add_probe(c, "livenessProbe", "/livez", 443, true, 15, 15, 5, 3);
        } else {
                ko_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
                ko_add_arg(c, "--client-ca-file=%s/ca.crt", KO_PKI_DIR);
                ko_add_probe(c, "readinessProbe", "/readyz", 443, true, 1, 3, 15, 3);
                ko_add_probe(c, "livenessProbe", "/healthz", 443, true, 10, 10, 15, 3);
        }
        ko_mount_kubeconfig(k, comp, w, c);
        ko_mount_certs(k, w, c, "karmada-certs");
        r = ko_add_workload(d, comp, w);
        if (r < 0)
                return r;
        svc = ko_service(k, comp, ko_comp_name(k, comp, name, sizeof(name)), "ClusterIP",
                         (const struct ko_port[]){{NULL, 443, 443}, {0}});
        return desired_add(d, &kube_services, svc, false);
}

static int search_contribute(const struct karmada *k, struct desired *d)
{
        return contribute(k, d, KO_SEARCH, "/bin/karmada-search");
}

static int metrics_adapter_contribute(const struct karmada *k, struct desired *d)
{
        return contribute(k, d, KO_METRICS_ADAPTER, "/bin/karmada-metrics-adapter");
}

const struct reconciler ko_rec_search = {
        .name = "karmada-search",
        .after = (const char *const[]){"kubeconfig", NULL},
        .condition = "KarmadaSearchReady",
        .enabled = search_enabled,
        .contribute = search_contribute,
};

const struct reconciler ko_rec_metrics_adapter = {
        .name = "karmada-metrics-adapter",
        .after = (const char *const[]){"kubeconfig", NULL},
        .condition = "KarmadaMetricsAdapterReady",
        .enabled = metrics_adapter_enabled,
        .contribute = metrics_adapter_contribute,
};
