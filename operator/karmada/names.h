/* SPDX-License-Identifier: Apache-2.0 */
/* The components of a control plane and the names of everything the operator creates
 * (upstream's names, so an instance upstream installed can be adopted). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum names_component {
        KO_ETCD,
        KO_APISERVER,
        KO_AGGREGATED_APISERVER,
        KO_KUBE_CONTROLLER_MANAGER,
        KO_CONTROLLER_MANAGER,
        KO_SCHEDULER,
        KO_WEBHOOK,
        KO_DESCHEDULER,
        KO_SEARCH,
        KO_METRICS_ADAPTER,
        KO_N_COMPONENTS,
};

enum names_tag_source {
        KO_TAG_ETCD,       /* the release's etcd version */
        KO_TAG_KUBERNETES, /* the release's Kubernetes version */
        KO_TAG_KARMADA,    /* the release itself */
};

struct names_component_info {
        const char *spec_key;       /* key under spec.components */
        const char *app_name;       /* app.kubernetes.io/name */
        const char *suffix;         /* objects are named <prefix>-<suffix> */
        const char *image_registry; /* default registry of the image */
        const char *image_name;     /* image name under the registry */
        enum names_tag_source tag;
        int default_replicas;
        bool optional;          /* installed only when present in the spec */
        bool kubeconfig_secret; /* gets a <name>-config Secret */
        const char *condition;  /* the status condition of the component */
};

extern const struct names_component_info names_components[KO_N_COMPONENTS];

#define KO_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define KO_LABEL_NAME       "app.kubernetes.io/name"
#define KO_LABEL_INSTANCE   "app.kubernetes.io/instance"
#define KO_MANAGER          "karmada-operator"
/* the field manager that keeps replicas managed elsewhere as they are (sync_replicas_handover) */
#define KO_REPLICAS_MANAGER "karmada-operator-replicas-handover"
#define KO_FINALIZER        "operator.karmada.io/finalizer"
#define KO_NO_CASCADE_LABEL "operator.karmada.io/disable-cascading-deletion"
/* "true": etcd's volumes go with the instance, and with a member a scale-down removes */
#define KO_DELETE_DATA_ANNOTATION "operator.karmada.io/delete-etcd-data"
#define KO_HASH_ANNOTATION        "operator.karmada.io/applied-hash"
/* The label selector of what the operator made for one instance: append the instance's name */
#define KO_INSTANCE_SELECTOR KO_LABEL_MANAGED_BY "=" KO_MANAGER "," KO_LABEL_INSTANCE "="
/* on pod templates: what the Secrets the pod mounts hold (a renewed certificate rolls it) */
#define KO_SECRETS_ANNOTATION "operator.karmada.io/secrets-checksum"
/* on every workload's pod template: the instance's CAs and trust (ca_rotation.h) */
#define KO_CA_ANNOTATION     "operator.karmada.io/ca-checksum"
#define KO_SYSTEM_NAMESPACE  "karmada-system"
#define KO_KUBECONFIG_KEY    "karmada.config" /* the key of kubeconfig Secrets */
#define KO_APISERVER_PORT    5443
#define KO_ETCD_CLIENT_PORT  2379
#define KO_ETCD_PEER_PORT    2380
#define KO_ETCD_METRICS_PORT 2381
/* What the certificates stored with a backup are sealed with besides the key (pki.enc) */
#define KO_BACKUP_PKI_AAD "karmada-operator backup pki v1"

/* on what the operator makes in another cluster (spec.hostCluster.secretRef), where owner
 * references cannot point: the Karmada object that owns it */
#define KO_LABEL_OWNER_NAMESPACE "operator.karmada.io/owner-namespace"
#define KO_LABEL_OWNER_NAME      "operator.karmada.io/owner-name"
#define KO_LABEL_OWNER_UID       "operator.karmada.io/owner-uid"

/* on what the operator makes in the Karmada API server: the reconciler that wants it */
#define KO_LABEL_RECONCILER "operator.karmada.io/reconciler"

/* "<name>-karmada", or the name itself when it contains "karmada" (upstream's rule). */
int names_prefix(const char *instance, char *buf, size_t size);
/* <prefix>-<suffix> into buf; -ENOBUFS when it does not fit. */
int names_join(const char *prefix, const char *suffix, char *buf, size_t size);

/* This operator's image (for the init container that restores etcd): set by --operator-image,
 * else $KARMADA_OPERATOR_IMAGE, else KO_DEFAULT_IMAGE. Set once, before any reconcile. */
void names_set_operator_image(const char *image);
const char *names_operator_image(void);
