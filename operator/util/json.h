/* SPDX-License-Identifier: Apache-2.0 */
/* Reading members of parsed JSON (API objects) by key; the merge patch between two values. */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

/* o[a], or o[a][b] when b is not NULL; NULL when a member is missing (o may be NULL). */
const cJSON *json_at(const cJSON *o, const char *a, const char *b);
/* The string at that place, or NULL when it is missing or not a string. */
const char *json_str(const cJSON *o, const char *a, const char *b);
/* The JSON merge patch (RFC 7386) that turns `from` into `to`: members of objects that differ,
 * recursively, and null for members `to` lacks; any other value whole. NULL when they are equal
 * (or out of memory: *oom set). `to` must hold no null member (a merge patch cannot set one). */
cJSON *json_merge_diff(const cJSON *from, const cJSON *to, bool *oom);
/* cJSON_Delete, every string (values and keys) wiped first: for trees that held secrets. */
void json_delete_secret(cJSON *o);
