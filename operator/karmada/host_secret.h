/* SPDX-License-Identifier: Apache-2.0 */
/* The host cluster a Karmada names in spec.hostCluster.secretRef: the kubeconfig in that
 * Secret (key `kubeconfig`, as upstream's), and a client made from it. The kubeconfig stays in
 * memory; paths to files in it are refused (kube_config_from_memory). */
#pragma once

#include <stddef.h>

#include "kube/client.h"

#define HOST_KUBECONFIG_KEY "kubeconfig" /* upstream's key in the Secret */

/* The kubeconfig of Secret ns/name, base64 as the API returns it, into *b64 (the caller frees
 * it with free_secret); -EINVAL when the Secret has no such key, other errors from the API. */
int host_secret_read(struct kube_client *c, const char *ns, const char *name, char **b64, char *why,
                     size_t whylen);

/* A client of that kubeconfig (base64); key ("ns/name") names the Secret in messages; server
 * receives the API server's URL. -EINVAL when the kubeconfig is not usable. */
int host_secret_client(const char *b64, const char *key, struct kube_client **ret, char *server,
                       size_t server_len, char *why, size_t whylen);
