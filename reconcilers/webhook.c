/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-webhook: admission for Karmada's APIs, served on 8443 behind a Service on 443; in
 * the Karmada API server, the webhook configurations that send requests to it (upstream's
 * mutating-config and validating-config). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "util/macro.h"

struct hook {
        const char *name, *ops, *group, *resource, *scope, *path;
        int timeout;
        const char *side_effects; /* NULL: None */
};

static const struct hook mutating[] = {
        {"propagationpolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io",
         "propagationpolicies", "Namespaced", "mutate-propagationpolicy", 3, NULL},
        {"clusterpropagationpolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io",
         "clusterpropagationpolicies", "Cluster", "mutate-clusterpropagationpolicy", 3, NULL},
        {"overridepolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io", "overridepolicies",
         "Namespaced", "mutate-overridepolicy", 3, NULL},
        {"resourcebinding.karmada.io", "CREATE", "work.karmada.io", "resourcebindings",
         "Namespaced", "mutate-resourcebinding", 3, NULL},
        {"clusterresourcebinding.karmada.io", "CREATE", "work.karmada.io",
         "clusterresourcebindings", "Cluster", "mutate-clusterresourcebinding", 3, NULL},
        {"work.karmada.io", "CREATE,UPDATE", "work.karmada.io", "works", "Namespaced",
         "mutate-work", 3, NULL},
        {"autoscaling.karmada.io", "CREATE,UPDATE", "autoscaling.karmada.io", "federatedhpas",
         "Namespaced", "mutate-federatedhpa", 3, NULL},
        {"multiclusterservice.karmada.io", "CREATE,UPDATE", "networking.karmada.io",
         "multiclusterservices", "Namespaced", "mutate-multiclusterservice", 3, NULL},
};

static const struct hook validating[] = {
        {"propagationpolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io",
         "propagationpolicies", "Namespaced", "validate-propagationpolicy", 3, NULL},
        {"clusterpropagationpolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io",
         "clusterpropagationpolicies", "Cluster", "validate-clusterpropagationpolicy", 3, NULL},
        {"overridepolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io", "overridepolicies",
         "Namespaced", "validate-overridepolicy", 3, NULL},
        {"clusteroverridepolicy.karmada.io", "CREATE,UPDATE", "policy.karmada.io",
         "clusteroverridepolicies", "Cluster", "validate-clusteroverridepolicy", 3, NULL},
        {"config.karmada.io", "CREATE,UPDATE", "config.karmada.io",
         "resourceinterpreterwebhookconfigurations", "Cluster",
         "validate-resourceinterpreterwebhookconfiguration", 3, NULL},
        {"resourceinterpretercustomization.karmada.io", "CREATE,UPDATE", "config.karmada.io",
         "resourceinterpretercustomizations", "Cluster",
         "validate-resourceinterpretercustomization", 10, NULL},
        {"federatedresourcequota.karmada.io", "CREATE,UPDATE", "policy.karmada.io",
         "federatedresourcequotas", "Namespaced", "validate-federatedresourcequota", 3, NULL},
        {"multiclusteringress.karmada.io", "CREATE,UPDATE", "networking.karmada.io",
         "multiclusteringresses", "Namespaced", "validate-multiclusteringress", 3, NULL},
        {"federatedhpa.karmada.io", "CREATE,UPDATE", "autoscaling.karmada.io", "federatedhpas",
         "Namespaced", "validate-federatedhpa", 3, NULL},
        {"cronfederatedhpa.karmada.io", "CREATE,UPDATE", "autoscaling.karmada.io",
         "cronfederatedhpas", "Namespaced", "validate-cronfederatedhpa", 3, NULL},
        {"multiclusterservice.karmada.io", "CREATE,UPDATE", "networking.karmada.io",
         "multiclusterservices", "Namespaced", "validate-multiclusterservice", 3, NULL},
        /* DELETE of anything labelled deletion-protected */
        {"resourcedeletionprotection.karmada.io", "DELETE", "*", "*", "*",
         "validate-resourcedeletionprotection", 3, NULL},
        {"resourcebinding.karmada.io", "CREATE,UPDATE", "work.karmada.io", "resourcebindings",
         "Namespaced", "validate-resourcebinding", 3, "NoneOnDryRun"},
};

static cJSON *configuration(const struct karmada *k, const struct kube_resource *r,
                            const char *name, const struct hook *hooks, size_t n, const char *ca)
{
        cJSON *o = manifest_karmada_object(k, r, name, NULL, "karmada-webhook"),
              *list = cJSON_AddArrayToObject(o, "webhooks");
        char svc[KO_NAME_MAX + 32], url[1024];

        common_comp_name(k, KO_WEBHOOK, svc, sizeof(svc));
        for (size_t i = 0; i < n; i++) {
                const struct hook *h = &hooks[i];
                cJSON *w = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(w, "rules"),
                      *rule = cJSON_CreateObject(), *cc;

                cJSON_AddStringToObject(w, "name", h->name);
                cJSON_AddItemToObject(rule, "operations", common_csv_array(h->ops));
                cJSON_AddItemToObject(rule, "apiGroups", common_csv_array(h->group));
                cJSON_AddItemToObject(rule, "apiVersions", common_csv_array("*"));
                cJSON_AddItemToObject(rule, "resources", common_csv_array(h->resource));
                cJSON_AddStringToObject(rule, "scope", h->scope);
                cJSON_AddItemToArray(rules, rule);
                cc = cJSON_AddObjectToObject(w, "clientConfig");
                /* the host Service by its in-cluster name, as upstream */
                snprintf(url, sizeof(url), "https://%s.%s.svc:443/%s", svc, k->namespace, h->path);
                cJSON_AddStringToObject(cc, "url", url);
                cJSON_AddStringToObject(cc, "caBundle", ca);
                if (strcmp(h->ops, "DELETE") == 0) {
                        cJSON *sel = cJSON_AddObjectToObject(w, "objectSelector"),
                              *exprs = cJSON_AddArrayToObject(sel, "matchExpressions"),
                              *e = cJSON_CreateObject();
                        cJSON_AddStringToObject(e, "key",
                                                "resourcetemplate.karmada.io/deletion-protected");
                        cJSON_AddStringToObject(e, "operator", "Exists");
                        cJSON_AddItemToArray(exprs, e);
                }
                cJSON_AddStringToObject(w, "failurePolicy", "Fail");
                cJSON_AddStringToObject(w, "sideEffects",
                                        h->side_effects ? h->side_effects : "None");
                cJSON_AddItemToObject(w, "admissionReviewVersions", common_csv_array("v1"));
                cJSON_AddNumberToObject(w, "timeoutSeconds", h->timeout);
                cJSON_AddItemToArray(list, w);
        }
        return o;
}

static bool webhook_enabled(const struct karmada *k)
{
        return k->comp[KO_WEBHOOK].enabled;
}

static int webhook_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 32], secret[KO_NAME_MAX + 32], *ca;
        cJSON *w, *c;
        int r;

        w = common_component_workload(d, KO_WEBHOOK, "karmada-webhook", "/bin/karmada-webhook",
                                      false, &c);
        if (!w)
                return -ENOMEM;
        manifest_add_env_pod_ip(c);
        manifest_add_arg(c, "--kubeconfig=%s", KO_KUBECONFIG);
        manifest_add_arg(c, "--bind-address=$(POD_IP)");
        manifest_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
        manifest_add_arg(c, "--health-probe-bind-address=$(POD_IP):8000");
        manifest_add_arg(c, "--secure-port=8443");
        manifest_add_arg(c, "--cert-dir=/var/serving-cert");
        manifest_add_arg(c, "--v=2");
        manifest_add_port(c, NULL, 8443);
        manifest_add_port(c, "metrics", 8080);
        manifest_add_probe(c, "readinessProbe", "/readyz", 8443, true, 5, 10, 5, 3);
        common_mount_kubeconfig(k, KO_WEBHOOK, w, c);
        manifest_add_mount(w, c, "cert", "/var/serving-cert",
                           common_obj_name(k, "webhook-cert", secret, sizeof(secret)), true);
        common_default_tolerations(k, KO_WEBHOOK, w);
        r = common_add_workload(d, KO_WEBHOOK, w);
        if (r < 0)
                return r;
        r = desired_add(d, &kube_services,
                        manifest_service(k, KO_WEBHOOK,
                                         common_comp_name(k, KO_WEBHOOK, name, sizeof(name)),
                                         "ClusterIP",
                                         (const struct manifest_port[]){{NULL, 443, 8443}, {0}}),
                        false);
        ca = r < 0 ? NULL : common_ca_bundle(d);
        if (!ca)
                return r < 0 ? r : d->trust_pem ? -ENOMEM : 0;
        r = desired_add_karmada(d, &kube_mutatingwebhookconfigurations,
                                configuration(k, &kube_mutatingwebhookconfigurations,
                                              "mutating-config", mutating, ELEMENTSOF(mutating),
                                              ca));
        if (r >= 0)
                r = desired_add_karmada(d, &kube_validatingwebhookconfigurations,
                                        configuration(k, &kube_validatingwebhookconfigurations,
                                                      "validating-config", validating,
                                                      ELEMENTSOF(validating), ca));
        free(ca);
        return r;
}

const struct reconciler reconciler_webhook = {
        .name = "karmada-webhook",
        .after = (const char *const[]){"karmada-resources", NULL},
        .condition = "KarmadaWebhookReady",
        .karmada_kinds =
                (const struct kube_resource *const[]){&kube_mutatingwebhookconfigurations,
                                                      &kube_validatingwebhookconfigurations, NULL},
        .enabled = webhook_enabled,
        .contribute = webhook_contribute,
};
