/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "karmada/pki.h"
#include "kube/client.h"

/* The annotation render -o json puts on objects of the Karmada API server (a List has no room
 * for the YAML output's comment) */
#define KO_RENDER_TARGET_ANNOTATION "operator.karmada.io/render-target"

struct render_options {
        bool json;         /* one JSON List instead of a YAML stream */
        bool show_secrets; /* print generated keys instead of masking them */
        enum pki_key_type keys;
        const char *release_file; /* KarmadaRelease objects to resolve versions with, or NULL */
        struct kube_client *diff; /* --diff: what would change in this cluster, not the objects */
};

/* Render every Karmada object in path ("-" for stdin), with the KarmadaRelease objects of path
 * and of o->release_file as the release catalog. Returns the exit status: 0, or 1 for an
 * invalid input; with o->diff 0 (no change), 1 (changes) or 2 (an error). */
int render_manifests(const char *path, const struct render_options *o, FILE *out, FILE *errout);
