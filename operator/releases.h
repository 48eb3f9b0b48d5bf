/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include "kube/config.h"

/* Print the built-in releases and, when kopts names a kubeconfig or context, the cluster's
 * KarmadaRelease objects, each with its images. Returns the exit status. */
int releases_print(const struct kube_config_options *kopts, FILE *out, FILE *errout);
