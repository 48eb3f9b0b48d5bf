/* SPDX-License-Identifier: Apache-2.0 */
/* YAML (libyaml) to and from cJSON, with the scalar rules Kubernetes tooling uses
 * (sigs.k8s.io/yaml: YAML 1.1 booleans, merge keys, string keys). */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

struct yaml_limits {
        size_t max_nodes;   /* total nodes after alias expansion; 0 = default (1,000,000) */
        unsigned max_depth; /* nesting; 0 = default (200) */
};

/* Parse every document of a YAML stream into a cJSON array (empty/null documents skipped).
 * On error returns a negative errno and writes "<name>: line L, column C: what" into err. */
int yaml_parse_stream(const char *buf, size_t len, const char *name, const struct yaml_limits *lim,
                      cJSON **ret_docs, char *err, size_t errlen);
/* Exactly one document (an empty stream is -ENODATA). */
int yaml_parse_one(const char *buf, size_t len, const char *name, const struct yaml_limits *lim,
                   cJSON **ret_doc, char *err, size_t errlen);
/* Emit JSON values as a YAML stream ("---" between documents); caller frees *ret. */
int yaml_emit(const cJSON *const *docs, size_t n, char **ret);
