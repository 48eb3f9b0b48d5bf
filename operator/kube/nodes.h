/* SPDX-License-Identifier: Apache-2.0 */
/* The address a node port is reached at: a node's InternalIP. */
#pragma once

#include <stddef.h>

#include "client.h"

/* The InternalIP of one of the cluster's control-plane nodes, else of any node, into buf ("" when
 * no node has one). Returns 0, or a negative errno when the nodes cannot be listed. */
int kube_node_address(struct kube_client *c, char *buf, size_t size);
