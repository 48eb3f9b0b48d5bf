/* SPDX-License-Identifier: Apache-2.0 */
/* Long strings held once however many parsed objects hold them: the caches keep several copies
 * of the same certificate or kubeconfig (a control plane's components each have a Secret with
 * the same kubeconfig). Thread-safe; each string is counted and freed (wiped: it may be key
 * material) with its last holder. */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

/* Each string value of o of at least min_len bytes replaced by the one shared copy (a cJSON
 * reference, which cJSON_Delete leaves alone; cJSON_Duplicate still copies it). Values it
 * cannot share (out of memory) stay o's own. */
void intern_json(cJSON *o, size_t min_len);
/* Give back o's shared strings (before cJSON_Delete(o)); their members are left NULL. */
void intern_json_release(cJSON *o);
/* How many strings are shared now, and their bytes. */
void intern_stats(size_t *strings, size_t *bytes);
