/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane's storage: the default StorageClass and its provisioner (plane_volumes.c). */
#pragma once

#include <stddef.h>

struct kube_client;

/* The default StorageClass "standard" (provisioner ko-plane.local/hostpath), made if missing. */
int volumes_storage_class(struct kube_client *c);
/* Provision the claims of that class that wait, delete its Released volumes (each pass). */
void volumes_tend(struct kube_client *c, const char *state);
/* The directory of claim ns/claim: what its volume holds, and what the pod's processes use. */
void volumes_claim_dir(const char *state, const char *ns, const char *claim, char *buf,
                       size_t size);
