/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-controller-manager. */
#include "common.h"

static bool cm_enabled(const struct karmada *k)
{
        return k->comp[KO_CONTROLLER_MANAGER].enabled;
}

static int cm_contribute(const struct karmada *k, struct desired *d)
{
        cJSON *w, *c;

        w = common_component_workload(d, KO_CONTROLLER_MANAGER, "karmada-controller-manager",
                                      "/bin/karmada-controller-manager", false, &c);
        if (!w)
                return -ENOMEM;
        manifest_add_env_pod_ip(c);
        manifest_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--cluster-status-update-frequency=10s");
        manifest_add_arg(c, "--leader-elect-resource-namespace=%s", KO_SYSTEM_NAMESPACE);
        manifest_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
        manifest_add_arg(c, "--health-probe-bind-address=$(POD_IP):10357");
        common_controllers_arg(c, k->comp[KO_CONTROLLER_MANAGER].controllers, NULL);
        manifest_add_arg(c, "--v=2");
        manifest_add_port(c, "metrics", 8080);
        manifest_add_probe(c, "livenessProbe", "/healthz", 10357, false, 15, 15, 5, 3);
        common_mount_kubeconfig(k, KO_CONTROLLER_MANAGER, w, c);
        common_default_tolerations(k, KO_CONTROLLER_MANAGER, w);
        return common_add_workload(d, KO_CONTROLLER_MANAGER, w);
}

const struct reconciler reconciler_controller_manager = {
        .name = "karmada-controller-manager",
        .after = (const char *const[]){"kube-controller-manager", NULL},
        .condition = "KarmadaControllerManagerReady",
        .enabled = cm_enabled,
        .contribute = cm_contribute,
};
