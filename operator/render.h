/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "karmada/pki.h"

struct render_options {
        bool json;         /* JSON documents instead of a YAML stream */
        bool show_secrets; /* print generated keys instead of masking them */
        enum pki_key_type keys;
};

/* Render every Karmada object in path ("-" for stdin). Returns the exit status. */
int render_manifests(const char *path, const struct render_options *o, FILE *out, FILE *errout);
