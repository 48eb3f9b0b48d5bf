/* SPDX-License-Identifier: Apache-2.0 */
/* One descriptor for every API resource (core or grouped, namespaced or cluster-scoped,
 * built-in or custom) and the URL paths built from it. */
#pragma once

#include <stdbool.h>

#include "../util/strbuf.h"

struct kube_resource {
        const char *group;    /* "" for the core group */
        const char *version;  /* "v1" */
        const char *resource; /* plural, lower case: "deployments" */
        const char *kind;     /* "Deployment" */
        bool namespaced;
};

/* Well-known resources. */
extern const struct kube_resource kube_namespaces, kube_configmaps, kube_secrets, kube_services,
        kube_serviceaccounts, kube_pods, kube_nodes, kube_endpoints, kube_persistentvolumeclaims,
        kube_persistentvolumes, kube_deployments, kube_statefulsets, kube_replicasets,
        kube_poddisruptionbudgets, kube_leases, kube_events, kube_crds, kube_apiservices,
        kube_clusterroles, kube_clusterrolebindings, kube_roles, kube_rolebindings,
        kube_mutatingwebhookconfigurations, kube_validatingwebhookconfigurations,
        kube_priorityclasses;

/* "v1" or "apps/v1"; writes into buf and returns it. */
const char *kube_resource_api_version(const struct kube_resource *r, char *buf, size_t size);

/* Append "/api/v1[/namespaces/<ns>]/<resource>[/<name>[/<sub>]]" (or /apis/<group>/...) with
 * every segment escaped. ns is ignored for cluster-scoped resources; NULL or "" for a
 * namespaced resource means all namespaces. -EINVAL for a namespaced object without ns. */
int kube_resource_path(struct strbuf *sb, const struct kube_resource *r, const char *ns,
                       const char *name, const char *subresource);

/* Append "?k=v" or "&k=v" (value escaped); skipped when value is NULL. */
int kube_query_add(struct strbuf *sb, const char *key, const char *value);

/* Order two resourceVersions of objects of one resource (comparable since Kubernetes 1.35,
 * KEP-5504): *ret is <0, 0 or >0. -EINVAL when either is not a positive decimal integer
 * without leading zeros (then only equality means anything). */
int kube_rv_compare(const char *a, const char *b, int *ret);
