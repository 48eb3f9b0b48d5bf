/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "karmada/pki.h"

struct render_options {
        bool json;         /* JSON documents instead of a YAML stream */
        bool show_secrets; /* print generated keys instead of masking them */
        enum pki_key_type keys;
        const char *release_file; /* KarmadaRelease objects to resolve versions with, or NULL */
};

/* Render every Karmada object in path ("-" for stdin), with the KarmadaRelease objects of path
 * and of o->release_file as the release catalog. Returns the exit status. */
int render_manifests(const char *path, const struct render_options *o, FILE *out, FILE *errout);
