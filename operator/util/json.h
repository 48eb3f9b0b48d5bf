/* SPDX-License-Identifier: Apache-2.0 */
/* Reading members of parsed JSON (API objects) by key. */
#pragma once

#include <cjson/cJSON.h>

/* o[a], or o[a][b] when b is not NULL; NULL when a member is missing (o may be NULL). */
const cJSON *json_at(const cJSON *o, const char *a, const char *b);
/* The string at that place, or NULL when it is missing or not a string. */
const char *json_str(const cJSON *o, const char *a, const char *b);
