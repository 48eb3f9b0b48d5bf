/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-search and karmada-metrics-adapter: aggregated API servers behind Services on 443. */
#include "common.h"
#include "util/macro.h"

/* The APIs they serve (upstream's groups and priorities). */
static const struct {
        enum names_component comp;
        const char *group, *version;
        int group_priority, version_priority;
} apis[] = {
        {KO_SEARCH, "search.karmada.io", "v1alpha1", 2000, 10},
        {KO_METRICS_ADAPTER, "metrics.k8s.io", "v1beta1", 100, 200},
        {KO_METRICS_ADAPTER, "custom.metrics.k8s.io", "v1beta1", 100, 200},
        {KO_METRICS_ADAPTER, "custom.metrics.k8s.io", "v1beta2", 100, 200},
};

static bool search_enabled(const struct karmada *k)
{
        return k->comp[KO_SEARCH].enabled;
}

static bool metrics_adapter_enabled(const struct karmada *k)
{
        return k->comp[KO_METRICS_ADAPTER].enabled;
}

static int contribute(const struct karmada *k, struct desired *d, enum names_component comp,
                      const char *binary)
{
        char name[KO_NAME_MAX + 32];
        cJSON *w, *c, *svc;
        bool first = true;
        int r;

        w = common_component_workload(d, comp, names_components[comp].app_name, binary, false, &c);
        if (!w)
                return -ENOMEM;
        common_aggregated_server_args(c);
        if (comp == KO_SEARCH) {
                common_etcd_client(k, w, c);
                manifest_add_probe(c, "livenessProbe", "/livez", 443, true, 15, 15, 5, 3);
        } else {
                manifest_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
                manifest_add_arg(c, "--client-ca-file=%s/ca-trust.crt", KO_PKI_DIR);
                manifest_add_probe(c, "readinessProbe", "/readyz", 443, true, 1, 3, 15, 3);
                manifest_add_probe(c, "livenessProbe", "/healthz", 443, true, 10, 10, 15, 3);
        }
        common_mount_kubeconfig(k, comp, w, c);
        common_mount_certs(k, w, c, "karmada-certs");
        r = common_add_workload(d, comp, w);
        if (r < 0)
                return r;
        svc = manifest_service(k, comp, common_comp_name(k, comp, name, sizeof(name)), "ClusterIP",
                               (const struct manifest_port[]){{NULL, 443, 443}, {0}});
        r = desired_add(d, &kube_services, svc, false);
        /* their APIs, in the Karmada API server */
        for (size_t i = 0; i < ELEMENTSOF(apis) && r >= 0; i++)
                if (apis[i].comp == comp) {
                        r = common_add_apiservice(k, d, comp, apis[i].group, apis[i].version,
                                                  apis[i].group_priority, apis[i].version_priority,
                                                  first);
                        first = false;
                }
        return r;
}

static int search_contribute(const struct karmada *k, struct desired *d)
{
        return contribute(k, d, KO_SEARCH, "/bin/karmada-search");
}

static int metrics_adapter_contribute(const struct karmada *k, struct desired *d)
{
        return contribute(k, d, KO_METRICS_ADAPTER, "/bin/karmada-metrics-adapter");
}

const struct reconciler reconciler_search = {
        .name = "karmada-search",
        .after = (const char *const[]){"kube-controller-manager", NULL},
        .condition = "KarmadaSearchReady",
        .karmada_kinds =
                (const struct kube_resource *const[]){&kube_services, &kube_apiservices, NULL},
        .enabled = search_enabled,
        .contribute = search_contribute,
};

const struct reconciler reconciler_metrics_adapter = {
        .name = "karmada-metrics-adapter",
        .after = (const char *const[]){"kube-controller-manager", NULL},
        .condition = "KarmadaMetricsAdapterReady",
        .karmada_kinds =
                (const struct kube_resource *const[]){&kube_services, &kube_apiservices, NULL},
        .enabled = metrics_adapter_enabled,
        .contribute = metrics_adapter_contribute,
};
