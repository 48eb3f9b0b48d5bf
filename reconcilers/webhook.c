/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-webhook: admission for Karmada's APIs, served on 8443 behind a Service on 443. */
#include "common.h"

static bool webhook_enabled(const struct karmada *k)
{
        return k->comp[KO_WEBHOOK].enabled;
}

static int webhook_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 32], secret[KO_NAME_MAX + 32];
        cJSON *w, *c;
        int r;

        w = ko_component_workload(d, KO_WEBHOOK, "karmada-webhook", "/bin/karmada-webhook", false,
                                  &c);
        if (!w)
                return -ENOMEM;
        ko_add_env_pod_ip(c);
        ko_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        ko_add_arg(c, "--bind-address=$(POD_IP)");
        ko_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
        ko_add_arg(c, "--health-probe-bind-address=$(POD_IP):8000");
        ko_add_arg(c, "--secure-port=8443");
        ko_add_arg(c, "--cert-dir=/var/serving-cert");
        ko_add_arg(c, "--v=2");
        ko_add_port(c, NULL, 8443);
        ko_add_port(c, "metrics", 8080);
        ko_add_probe(c, "readinessProbe", "/readyz", 8443, true, 5, 10, 5, 3);
        ko_mount_kubeconfig(k, KO_WEBHOOK, w, c);
        ko_add_mount(w, c, "cert", "/var/serving-cert",
                     ko_obj_name(k, "webhook-cert", secret, sizeof(secret)), true);
        ko_default_tolerations(k, KO_WEBHOOK, w);
        r = ko_add_workload(d, KO_WEBHOOK, w);
        if (r < 0)
                return r;
        return desired_add(d, &kube_services,
                           ko_service(k, KO_WEBHOOK,
                                      ko_comp_name(k, KO_WEBHOOK, name, sizeof(name)), "ClusterIP",
                                      (const struct ko_port[]){{NULL, 443, 8443}, {0}}),
                           false);
}

const struct reconciler ko_rec_webhook = {
        .name = "karmada-webhook",
        .after = (const char *const[]){"kubeconfig", NULL},
        .condition = "KarmadaWebhookReady",
        .enabled = webhook_enabled,
        .contribute = webhook_contribute,
};
