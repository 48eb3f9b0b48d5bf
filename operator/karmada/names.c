/* SPDX-License-Identifier: Apache-2.0 */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

#define KUBE    "registry.k8s.io"
#define KARMADA "docker.io/karmada"

const struct names_component_info names_components[KO_N_COMPONENTS] = {
        [KO_ETCD] = {"etcd", "etcd", "etcd", KUBE, "etcd", KO_TAG_ETCD, 1, false, false,
                     "EtcdReady"},
        [KO_APISERVER] = {"karmadaAPIServer", "karmada-apiserver", "apiserver", KUBE,
                          "kube-apiserver", KO_TAG_KUBERNETES, 1, false, false,
                          "KarmadaAPIServerReady"},
        [KO_AGGREGATED_APISERVER] = {"karmadaAggregatedAPIServer", "karmada-aggregated-apiserver",
                                     "aggregated-apiserver", KARMADA,
                                     "karmada-aggregated-apiserver", KO_TAG_KARMADA, 1, false, true,
                                     "KarmadaAggregatedAPIServerReady"},
        [KO_KUBE_CONTROLLER_MANAGER] = {"kubeControllerManager", "kube-controller-manager",
                                        "kube-controller-manager", KUBE, "kube-controller-manager",
                                        KO_TAG_KUBERNETES, 1, false, true,
                                        "KubeControllerManagerReady"},
        [KO_CONTROLLER_MANAGER] = {"karmadaControllerManager", "karmada-controller-manager",
                                   "controller-manager", KARMADA, "karmada-controller-manager",
                                   KO_TAG_KARMADA, 1, false, true, "KarmadaControllerManagerReady"},
        [KO_SCHEDULER] = {"karmadaScheduler", "karmada-scheduler", "scheduler", KARMADA,
                          "karmada-scheduler", KO_TAG_KARMADA, 1, false, true,
                          "KarmadaSchedulerReady"},
        [KO_WEBHOOK] = {"karmadaWebhook", "karmada-webhook", "webhook", KARMADA, "karmada-webhook",
                        KO_TAG_KARMADA, 1, false, true, "KarmadaWebhookReady"},
        [KO_DESCHEDULER] = {"karmadaDescheduler", "karmada-descheduler", "descheduler", KARMADA,
                            "karmada-descheduler", KO_TAG_KARMADA, 1, true, true,
                            "KarmadaDeschedulerReady"},
        [KO_SEARCH] = {"karmadaSearch", "karmada-search", "search", KARMADA, "karmada-search",
                       KO_TAG_KARMADA, 1, true, true, "KarmadaSearchReady"},
        [KO_METRICS_ADAPTER] = {"karmadaMetricsAdapter", "karmada-metrics-adapter",
                                "metrics-adapter", KARMADA, "karmada-metrics-adapter",
                                KO_TAG_KARMADA, 2, false, true, "KarmadaMetricsAdapterReady"},
};

int names_prefix(const char *instance, char *buf, size_t size)
{
        int n = strstr(instance, "karmada") ? snprintf(buf, size, "%s", instance)
                                            : snprintf(buf, size, "%s-karmada", instance);

        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

int names_join(const char *prefix, const char *suffix, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s-%s", prefix, suffix);

        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

static const char *operator_image;

void names_set_operator_image(const char *image)
{
        operator_image = image;
}

const char *names_operator_image(void)
{
        const char *v = operator_image ? operator_image : getenv("KARMADA_OPERATOR_IMAGE");

        return v && *v ? v : KO_DEFAULT_IMAGE;
}
