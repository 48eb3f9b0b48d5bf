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

        w = ko_component_workload(d, KO_CONTROLLER_MANAGER, "karmada-controller-manager",
                                  "/bin/karmada-controller-manager", false, &c);
        if (!w)
                return -ENOMEM;
        ko_add_env_pod_ip(c);
        ko_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        ko_add_arg(c, "--cluster-status-update-frequency=10s");
        ko_add_arg(c, "--leader-elect-resource-namespace=%s", KO_SYSTEM_NAMESPACE);
        ko_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
        ko_add_arg(c, "--health-probe-bind-address=$(POD_IP):10357");
        ko_controllers_arg(c, k->comp[KO_CONTROLLER_MANAGER].controllers, NULL);
        ko_add_arg(c, "--v=2");
        ko_add_port(c, "metrics", 8080);
        ko_add_probe(c, "livenessProbe", "/healthz", 10357, false, 15, 15, 5, 3);
        ko_mount_kubeconfig(k, KO_CONTROLLER_MANAGER, w, c);
        ko_default_tolerations(k, KO_CONTROLLER_MANAGER, w);
        return ko_add_workload(d, KO_CONTROLLER_MANAGER, w);
}

const struct reconciler ko_rec_controller_manager = {
        .name = "karmada-controller-manager",
        .after = (const char *const[]){"kube-controller-manager", NULL},
        .condition = "KarmadaControllerManagerReady",
        .enabled = cm_enabled,
        .contribute = cm_contribute,
};
