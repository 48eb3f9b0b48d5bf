/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest builders: the objects of an instance (workloads, Services, PDBs, Secrets, objects of
 * the Karmada API server) with the operator's names, labels, owners and the common settings of
 * each component. Pure code. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "kube/resource.h"
#include "spec.h"

/* apiVersion, kind, metadata {name, namespace, labels, ownerReferences}; c < 0 for objects
 * that belong to no component (then app.kubernetes.io/name is "karmada"). */
cJSON *manifest_object(const struct karmada *k, const struct kube_resource *r, const char *name,
                       int c);
/* An object for the Karmada API server: apiVersion, kind, metadata {name, namespace (when
 * namespaced), labels managed-by, name (app), instance}; no owner (it is another cluster). */
cJSON *manifest_karmada_object(const struct karmada *k, const struct kube_resource *r,
                               const char *name, const char *ns, const char *app);
/* The labels selecting a component's pods: name and instance. */
cJSON *manifest_selector(const struct karmada *k, enum names_component c);
/* A Deployment (or StatefulSet when sts) for component c with one container named
 * container running binary; the caller adds flags, ports, probes, mounts. Common settings
 * (image, replicas, labels, annotations, resources, priority class, tolerations, affinity)
 * are applied. Returns the object; *ret_container is its main container. */
cJSON *manifest_workload(const struct karmada *k, enum names_component c, bool sts,
                         const char *container, const char *binary, cJSON **ret_container);
void manifest_add_arg(cJSON *container, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void manifest_add_env_pod_ip(cJSON *container);
void manifest_add_port(cJSON *container, const char *name, int port);
void manifest_add_mount(cJSON *workload, cJSON *container, const char *volume, const char *path,
                        const char *secret, bool read_only);
void manifest_add_probe(cJSON *container, const char *kind, const char *path, int port, bool https,
                        int initial_delay, int period, int timeout, int failures);
struct manifest_port {
        const char *name; /* or NULL */
        int port, target;
};
/* A Service for component c; type ClusterIP, NodePort, LoadBalancer or Headless; ports end
 * with a zero port. */
cJSON *manifest_service(const struct karmada *k, enum names_component c, const char *name,
                        const char *type, const struct manifest_port *ports);
/* The PodDisruptionBudget of a component, or NULL when it asks for none. */
cJSON *manifest_pdb(const struct karmada *k, enum names_component c);
/* A Secret with these keys (base64 added here); values are raw bytes. */
cJSON *manifest_secret(const struct karmada *k, const char *name, const char *const *keys,
                       const char *const *values, const size_t *lens, int n);
/* data[key] of a Secret object, decoded and NUL-terminated (the caller frees it, cleansing
 * it when it is a key), or NULL when it is missing or not base64; *len when len. */
char *manifest_secret_value(const cJSON *secret, const char *key, size_t *len);
/* The in-cluster DNS name of a Service: <name>.<namespace>.svc.<dns domain>. */
const char *manifest_service_host(const struct karmada *k, const char *service, char *buf,
                                  size_t size);
