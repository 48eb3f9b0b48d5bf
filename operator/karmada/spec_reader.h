/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a custom resource's spec with field paths: each accessor checks the type of what it
 * reads and, when it is wrong, records a problem naming the field ("spec.x.y: must be a list").
 * All problems are collected, so one status message names every field to fix. Used by the
 * Karmada spec, the KarmadaBackup spec and the feature reconcilers' own blocks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/macro.h"
#include "util/strbuf.h"

/* Where a spec went wrong: the field path and what is wrong there. */
struct karmada_spec_error {
        char message[1024]; /* "spec.x.y: what; spec.z: what" (all problems found) */
};

struct spec_reader {
        struct strbuf problems;
        int n;
};

/* Record that the field at path is wrong (the first 8 are kept). */
void spec_problem(struct spec_reader *p, const char *path, const char *fmt, ...) _printf_(3, 4);
/* 0 when nothing was wrong, else -EINVAL with the problems in err (may be NULL); frees p. */
int spec_reader_finish(struct spec_reader *p, struct karmada_spec_error *err);

/* A member of o, NULL when absent or null. */
const cJSON *spec_get(const cJSON *o, const char *key);
/* A member that must be an object. */
const cJSON *spec_obj(struct spec_reader *p, const cJSON *o, const char *key, const char *path);
/* A string member; NULL when absent or empty. */
const char *spec_str(struct spec_reader *p, const cJSON *o, const char *key, const char *path);
bool spec_bool(struct spec_reader *p, const cJSON *o, const char *key, const char *path, bool def);
/* An integer member within [min, max]: true and *ret set when present and valid. */
bool spec_int(struct spec_reader *p, const cJSON *o, const char *key, const char *path, long min,
              long max, int *ret);
/* An object whose values all pass `is` (cJSON_IsString, cJSON_IsBool); NULL when empty. */
const cJSON *spec_map(struct spec_reader *p, const cJSON *o, const char *key, const char *path,
                      cJSON_bool (*is)(const cJSON *), const char *what);
/* A list of strings (or of objects); NULL when absent or empty. */
const cJSON *spec_list(struct spec_reader *p, const cJSON *o, const char *key, const char *path,
                       bool strings);
/* A list of objects each with a name (a DNS subdomain; in metadata for whole objects) and the
 * fields listed as required (NULL-terminated, or NULL). */
const cJSON *spec_named_list(struct spec_reader *p, const cJSON *o, const char *key,
                             const char *path, const char *const *required);
/* An http:// or https:// URL with a host and no white space. */
bool spec_http_url(const char *u);
/* An RFC 1123 label (or subdomain when dots are allowed) of at most max characters. */
bool spec_dns_name(const char *s, bool dots, size_t max);
