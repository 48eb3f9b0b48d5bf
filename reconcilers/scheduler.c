/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-scheduler (and, sharing most of it, karmada-descheduler). */
#include "common.h"

static bool scheduler_enabled(const struct karmada *k)
{
        return k->comp[KO_SCHEDULER].enabled;
}

static bool descheduler_enabled(const struct karmada *k)
{
        return k->comp[KO_DESCHEDULER].enabled;
}

static int contribute(const struct karmada *k, struct desired *d, enum names_component comp,
                      const char *binary, int health)
{
        cJSON *w, *c;

        w = common_component_workload(d, comp, names_components[comp].app_name, binary, false, &c);
        if (!w)
                return -ENOMEM;
        manifest_add_env_pod_ip(c);
        manifest_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
        manifest_add_arg(c, "--health-probe-bind-address=$(POD_IP):%d", health);
        if (comp == KO_SCHEDULER)
                manifest_add_arg(c, "--enable-scheduler-estimator=true");
        manifest_add_arg(c, "--leader-elect-resource-namespace=%s", KO_SYSTEM_NAMESPACE);
        manifest_add_arg(c, "--scheduler-estimator-ca-file=%s/ca-trust.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--scheduler-estimator-cert-file=%s/karmada.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--scheduler-estimator-key-file=%s/karmada.key", KO_PKI_DIR);
        manifest_add_arg(c, "--v=2");
        manifest_add_port(c, "metrics", 8080);
        manifest_add_probe(c, "livenessProbe", "/healthz", health, false, 15, 15, 5, 3);
        common_mount_certs(k, w, c, "karmada-certs");
        common_mount_kubeconfig(k, comp, w, c);
        common_default_tolerations(k, comp, w);
        return common_add_workload(d, comp, w);
}

static int scheduler_contribute(const struct karmada *k, struct desired *d)
{
        return contribute(k, d, KO_SCHEDULER, "/bin/karmada-scheduler", 10351);
}

static int descheduler_contribute(const struct karmada *k, struct desired *d)
{
        return contribute(k, d, KO_DESCHEDULER, "/bin/karmada-descheduler", 10358);
}

const struct reconciler reconciler_scheduler = {
        .name = "karmada-scheduler",
        .after = (const char *const[]){"kube-controller-manager", NULL},
        .condition = "KarmadaSchedulerReady",
        .enabled = scheduler_enabled,
        .contribute = scheduler_contribute,
};

const struct reconciler reconciler_descheduler = {
        .name = "karmada-descheduler",
        .after = (const char *const[]){"kube-controller-manager", NULL},
        .condition = "KarmadaDeschedulerReady",
        .enabled = descheduler_enabled,
        .contribute = descheduler_contribute,
};
