/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include "karmada/pki.h"
#include "karmada/spec.h"
#include "kube/client.h"

/* Print what the operator would change in the cluster of c (its host cluster) for k: objects
 * created (+), changed (~, field by field, from a server-side-apply dry run) and deleted (-).
 * Returns 0 when nothing would change, 1 when something would, 2 on an error (as kubectl
 * diff). */
int render_diff(const struct karmada *k, struct kube_client *c, enum pki_key_type keys, FILE *out,
                FILE *errout);
