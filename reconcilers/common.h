/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the component reconcilers share. */
#pragma once
#include <errno.h>

#include "karmada/manifests.h"
#include "reconciler.h"

#define KO_PKI_DIR         "/etc/karmada/pki"
#define KO_CONFIG_DIR      "/etc/karmada/config"
#define KO_KUBECONFIG      KO_CONFIG_DIR "/karmada.config"
#define KO_ETCD_CLIENT_DIR KO_PKI_DIR "/etcd-client"

/* <prefix>-<suffix> of the instance into buf (always fits: names are validated). */
const char *common_obj_name(const struct karmada *k, const char *suffix, char *buf, size_t size);
/* The name of a component's workload, Service, PDB: <prefix>-<component suffix>. */
const char *common_comp_name(const struct karmada *k, enum names_component c, char *buf,
                             size_t size);

/* The workload of a component and its PDB, registered so that desired_finish() merges the
 * command line; the caller adds flags, mounts and probes to *ret_container first. */
cJSON *common_component_workload(struct desired *d, enum names_component c, const char *container,
                                 const char *binary, bool sts, cJSON **ret_container);
/* Add the workload and its PDB to d (takes the workload). */
int common_add_workload(struct desired *d, enum names_component c, cJSON *workload);
/* Mount the kubeconfig Secret of component c at KO_CONFIG_DIR. */
void common_mount_kubeconfig(const struct karmada *k, enum names_component c, cJSON *workload,
                             cJSON *container);
/* Mount the instance's certificates (<prefix>-cert) at KO_PKI_DIR. */
void common_mount_certs(const struct karmada *k, cJSON *workload, cJSON *container,
                        const char *volume);
/* The etcd flags and client credentials of an API server (local or external etcd). */
void common_etcd_client(const struct karmada *k, cJSON *workload, cJSON *container);
/* The flags of an aggregated API server (aggregated-apiserver, search, metrics-adapter):
 * POD_IP, the kubeconfig for itself and for delegated authn/authz, its serving certificate,
 * TLS 1.3, audit log to stdout, bound to the pod's address. */
void common_aggregated_server_args(cJSON *container);
/* ---- objects in the Karmada API server ---- */

/* The CA bundle (base64 of the instance's CA) for webhooks and APIServices; NULL (after
 * desired_wait) while the CA is not known. Caller frees. */
char *common_ca_bundle(struct desired *d);
/* An APIService for group/version, served by component c's host Service through an
 * ExternalName Service of the same name in karmada-system; the ExternalName Service is added
 * once per component (first_of_component). */
int common_add_apiservice(const struct karmada *k, struct desired *d, enum names_component c,
                          const char *group, const char *version, int group_priority,
                          int version_priority, bool first_of_component);
/* --controllers=a,b,c from the spec's list, else def (no flag when both are empty). */
void common_controllers_arg(cJSON *container, const cJSON *list, const char *def);
/* Tolerate the control-plane taint when the user set no tolerations (upstream's default). */
void common_default_tolerations(const struct karmada *k, enum names_component c, cJSON *workload);
/* "a,b,c" -> ["a", "b", "c"] (words of at most 127 bytes) */
cJSON *common_csv_array(const char *csv);

/* ---- features (spec.features) ---- */

/* Turn gate on for each component of the list (ending with KO_N_COMPONENTS). */
int common_gate_on(struct desired *d, const char *gate, const enum names_component *comps);
/* Add a copy of an object the user gave in spec.features, as an object of the Karmada API server
 * of kind r (apiVersion, kind and our labels set; namespace ns when r is namespaced). */
int common_add_feature_object(struct desired *d, const struct karmada *k,
                              const struct kube_resource *r, const cJSON *given, const char *ns,
                              const char *feature);
