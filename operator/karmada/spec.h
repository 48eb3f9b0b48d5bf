/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada custom resource as a typed, defaulted and validated C struct. Embedded
 * Kubernetes types (resources, affinity, volumes, containers, ...) stay JSON, borrowed from the
 * object the struct keeps. */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "kube/resource.h"
#include "names.h"
#include "spec_reader.h"
#include "release_catalog.h"
#include "versions.h"

#define KO_NAME_MAX 64

/* How long one step of an upgrade may take before it is rolled back ("10m" when unset). */
#define KO_STEP_TIMEOUT_ANNOTATION "operator.karmada.io/upgrade-step-timeout"
/* how long leaf certificates are valid (a duration, at least 2m), over leafCertValidityDays */
#define KO_LEAF_VALIDITY_ANNOTATION "operator.karmada.io/leaf-cert-validity"
/* a new value (any) asks for new CAs, rotated in without downtime */
#define KO_ROTATE_CA_ANNOTATION "operator.karmada.io/rotate-ca"
/* "on" or "off": the Karmada API server encrypts Secrets at rest (encryption.h) */
#define KO_ENCRYPTION_AT_REST_ANNOTATION "operator.karmada.io/encryption-at-rest"
/* a new value rotates the key Secrets are encrypted with at rest */
#define KO_ROTATE_ENCRYPTION_KEY_ANNOTATION "operator.karmada.io/rotate-encryption-key"

/* Components whose replicas an autoscaler (or a person) sets: a comma-separated list of their
 * names (karmada-apiserver, karmada-webhook, ...; not etcd). The operator neither sets nor
 * corrects their spec.replicas. */
#define KO_REPLICAS_EXTERNAL_ANNOTATION "operator.karmada.io/replicas-managed-externally"

enum karmada_encryption {
        KO_ENCRYPTION_DEFAULT, /* on for a new instance; as it is for one that ran before */
        KO_ENCRYPTION_ON,
        KO_ENCRYPTION_OFF,
};
#define KO_LEAF_VALIDITY_MIN_S 120
/* Back up before an upgrade, with the template of the KarmadaBackupSchedule it names; the
 * upgrade waits for the backup and stops when it fails. */
#define KO_BACKUP_BEFORE_UPGRADE_ANNOTATION "operator.karmada.io/backup-before-upgrade"
/* The same before a change of etcd's member count */
#define KO_BACKUP_BEFORE_SCALING_ANNOTATION "operator.karmada.io/backup-before-scaling"
#define KO_STEP_TIMEOUT_DEFAULT_MS          600000L

enum karmada_volume_kind {
        KO_VOLUME_EMPTY_DIR,
        KO_VOLUME_HOST_PATH,
        KO_VOLUME_CLAIM,
};

/* Settings every component has (upstream's CommonSettings), defaulted. */
struct karmada_settings {
        bool enabled;
        char *image; /* repository:tag, private registry applied */
        char *image_tag;
        const char *pull_policy;
        int replicas;
        bool replicas_external; /* KO_REPLICAS_EXTERNAL_ANNOTATION names it */
        const char *priority_class;
        const cJSON *labels; /* objects of strings, or NULL */
        const cJSON *annotations;
        const cJSON *resources;
        const cJSON *tolerations;
        const cJSON *affinity;
        const cJSON *pdb_min_available; /* number or string, or NULL */
        const cJSON *pdb_max_unavailable;
        const cJSON *extra_args;    /* object of strings, or NULL */
        const cJSON *feature_gates; /* object of booleans, or NULL */
        const cJSON *controllers;   /* array of strings, or NULL */
};

/* spec.features (an extension of this operator): Karmada features switched on as a whole, each
 * by the reconciler that owns its block. karmada_parse hands each block present to its
 * feature's parse, which checks it (problems with field paths, through the spec reader) and
 * returns what the reconciler keeps of it; karmada_feature() gives that back. */
struct karmada;
struct karmada_feature {
        const char *key; /* spec.features.<key> */
        /* Check the block and return (in *cfg, freed by `free`) what the reconciler needs of it,
         * not NULL. The block belongs to k->obj and lives as long as k. 0 or -ENOMEM. */
        int (*parse)(struct spec_reader *p, const struct karmada *k, const cJSON *block,
                     void **cfg);
        void (*free)(void *cfg);
};

/* The most feature blocks one spec holds (a registry self-test keeps to it). */
#define KARMADA_MAX_FEATURES 16

struct karmada {
        cJSON *obj; /* the whole custom resource; owned */
        const char *name, *namespace, *uid;
        long long generation;
        bool deleting;            /* metadata.deletionTimestamp set */
        bool cascade;             /* false: the disable-cascading-deletion label is "true" */
        char prefix[KO_NAME_MAX]; /* names are <prefix>-<component> */

        bool allow_downgrade;  /* KO_ALLOW_DOWNGRADE_ANNOTATION is "true" */
        long step_timeout_ms;  /* KO_STEP_TIMEOUT_ANNOTATION: each upgrade step's deadline */
        const char *rotate_ca; /* KO_ROTATE_CA_ANNOTATION, or NULL */
        enum karmada_encryption encryption; /* KO_ENCRYPTION_AT_REST_ANNOTATION */
        const char *rotate_encryption_key;  /* KO_ROTATE_ENCRYPTION_KEY_ANNOTATION, or NULL */

        char *version;                  /* the Karmada release to run */
        struct karmada_release release; /* what spec.karmadaVersion resolves to */
        const char *dns_domain;
        const char *private_registry;
        const cJSON *feature_gates;
        bool suspend;
        const char *restore_backup; /* spec.restore.backupRef.name: a new instance from it */
        struct {
                const struct karmada_feature *feature;
                void *cfg;
        } features[KARMADA_MAX_FEATURES]; /* the blocks present, each parsed by its feature */
        unsigned n_features;

        const char *host_secret_name; /* remote host cluster, or NULL */
        const char *host_secret_namespace;
        char host_endpoint[256]; /* spec.hostCluster.apiEndpoint's host, or "" */

        char *crd_url;
        const char *crd_sha256; /* the tarball's SHA-256 (a KarmadaRelease's), or NULL */
        const char *crd_proxy;
        bool crd_always;

        const char *ca_secret_name; /* customCertificate.apiServerCACert */
        const char *ca_secret_namespace;
        long long leaf_validity_s; /* leafCertValidityDays, or KO_LEAF_VALIDITY_ANNOTATION */

        struct karmada_settings comp[KO_N_COMPONENTS];

        bool etcd_external;
        const cJSON *etcd_endpoints; /* external */
        const char *etcd_secret;     /* external client credentials Secret */
        enum karmada_volume_kind etcd_volume;
        const cJSON *etcd_volume_spec; /* the volumeData entry */
        const cJSON *etcd_server_sans, *etcd_peer_sans;

        const char *service_subnet;
        const char *service_type; /* ClusterIP, NodePort, LoadBalancer */
        const char *lb_class;
        const cJSON *service_annotations;
        const cJSON *extra_volumes, *extra_volume_mounts, *sidecars;
        const cJSON *apiserver_sans, *aggregated_sans;
};

/* operator.karmada.io/v1alpha1 karmadas, karmadabackups, karmadabackupschedules */
extern const struct kube_resource karmada_karmadas, karmada_backups, karmada_backupschedules;
/* Secrets, read where the KarmadaBackups are (the operator's cluster) rather than where the
 * instance runs: those a KarmadaBackup names */
extern const struct kube_resource karmada_backup_secrets;

/* Parse, default and validate a Karmada object (takes a copy of obj). `features` (NULL-
 * terminated) parse the blocks of spec.features; a block no feature claims is a problem. NULL
 * features: spec.features is not read (for callers that need no more than names and the
 * release). On a bad spec returns -EINVAL and fills err; the object is never partly applied. */
int karmada_parse(const cJSON *obj, const struct karmada_feature *const *features,
                  struct karmada **ret, struct karmada_spec_error *err);
void karmada_free(struct karmada *k);
/* What the feature `key` kept of its block; NULL when the block is absent. */
const void *karmada_feature(const struct karmada *k, const char *key);
/* The key "namespace/name" into buf. */
const char *karmada_key(const struct karmada *k, char *buf, unsigned size);
