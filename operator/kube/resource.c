/* SPDX-License-Identifier: Apache-2.0 */
#include "resource.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define R(var, g, v, res, k, nsd)          \
        const struct kube_resource var = { \
                .group = (g), .version = (v), .resource = (res), .kind = (k), .namespaced = (nsd)}

R(kube_namespaces, "", "v1", "namespaces", "Namespace", false);
R(kube_configmaps, "", "v1", "configmaps", "ConfigMap", true);
R(kube_secrets, "", "v1", "secrets", "Secret", true);
R(kube_services, "", "v1", "services", "Service", true);
R(kube_serviceaccounts, "", "v1", "serviceaccounts", "ServiceAccount", true);
R(kube_pods, "", "v1", "pods", "Pod", true);
R(kube_nodes, "", "v1", "nodes", "Node", false);
R(kube_endpoints, "", "v1", "endpoints", "Endpoints", true);
R(kube_persistentvolumeclaims, "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true);
R(kube_persistentvolumes, "", "v1", "persistentvolumes", "PersistentVolume", false);
R(kube_deployments, "apps", "v1", "deployments", "Deployment", true);
R(kube_statefulsets, "apps", "v1", "statefulsets", "StatefulSet", true);
R(kube_replicasets, "apps", "v1", "replicasets", "ReplicaSet", true);
R(kube_poddisruptionbudgets, "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true);
R(kube_leases, "coordination.k8s.io", "v1", "leases", "Lease", true);
R(kube_events, "events.k8s.io", "v1", "events", "Event", true);
R(kube_crds, "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
  false);
R(kube_apiservices, "apiregistration.k8s.io", "v1", "apiservices", "APIService", false);
R(kube_clusterroles, "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false);
R(kube_clusterrolebindings, "rbac.authorization.k8s.io", "v1", "clusterrolebindings",
  "ClusterRoleBinding", false);
R(kube_roles, "rbac.authorization.k8s.io", "v1", "roles", "Role", true);
R(kube_rolebindings, "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true);
R(kube_mutatingwebhookconfigurations, "admissionregistration.k8s.io", "v1",
  "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false);
R(kube_validatingwebhookconfigurations, "admissionregistration.k8s.io", "v1",
  "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false);
R(kube_priorityclasses, "scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false);

const char *kube_resource_api_version(const struct kube_resource *r, char *buf, size_t size)
{
        if (r->group && *r->group)
                snprintf(buf, size, "%s/%s", r->group, r->version);
        else
                snprintf(buf, size, "%s", r->version);
        return buf;
}

static int segment(struct strbuf *sb, const char *s)
{
        int r;

        if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return -EINVAL;
        r = strbuf_puts(sb, "/");
        return r < 0 ? r : strbuf_put_urlencoded(sb, s);
}

int kube_resource_path(struct strbuf *sb, const struct kube_resource *r, const char *ns,
                       const char *name, const char *subresource)
{
        int q;

        if (r->group && *r->group)
                q = strbuf_puts(sb, "/apis");
        else
                q = strbuf_puts(sb, "/api");
        if (q >= 0 && r->group && *r->group)
                q = segment(sb, r->group);
        if (q >= 0)
                q = segment(sb, r->version);
        if (q >= 0 && r->namespaced && ns && *ns) {
                q = strbuf_puts(sb, "/namespaces");
                if (q >= 0)
                        q = segment(sb, ns);
        } else if (q >= 0 && r->namespaced && name) {
                return -EINVAL; /* a namespaced object needs its namespace */
        }
        if (q >= 0)
                q = segment(sb, r->resource);
        if (q >= 0 && name)
                q = segment(sb, name);
        if (q >= 0 && subresource) {
                if (!name)
                        return -EINVAL;
                q = segment(sb, subresource);
        }
        return q;
}

int kube_query_add(struct strbuf *sb, const char *key, const char *value)
{
        int r;

        if (!value)
                return 0;
        r = strbuf_puts(sb, sb->buf && strchr(sb->buf, '?') ? "&" : "?");
        if (r >= 0)
                r = strbuf_put_urlencoded(sb, key);
        if (r >= 0)
                r = strbuf_puts(sb, "=");
        if (r >= 0)
                r = strbuf_put_urlencoded(sb, value);
        return r;
}

static bool rv_valid(const char *v)
{
        if (!v || *v < '1' || *v > '9')
                return false;
        for (v++; *v; v++)
                if (*v < '0' || *v > '9')
                        return false;
        return true;
}

int kube_rv_compare(const char *a, const char *b, int *ret)
{
        size_t la, lb;
        int c;

        if (!rv_valid(a) || !rv_valid(b))
                return -EINVAL;
        la = strlen(a);
        lb = strlen(b);
        c = la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
        *ret = c < 0 ? -1 : c > 0;
        return 0;
}
