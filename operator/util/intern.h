/* SPDX-License-Identifier: Apache-2.0 */
/* Long strings held once however many parsed objects hold them: the caches keep several copies
 * of the same certificate or kubeconfig (a control plane's components each have a Secret with
 * the same kubeconfig). Each is kept deflated (what it decodes to, when it is base64: keys and
 * certificates are), and as text while a tree holds it. Thread-safe; each string is counted and
 * freed (wiped: it may be key material) with its last holder. Member names too ("metadata",
 * label keys: a cached object has hundreds), held for good. */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

/* Each string value of o of at least min_len bytes replaced by the one shared copy (a cJSON
 * reference, which cJSON_Delete leaves alone; cJSON_Duplicate still copies it), and each member
 * name by the one held for good (a constant name, which cJSON_Delete leaves alone and
 * cJSON_Duplicate points at). What it cannot share (out of memory, a table full) stays o's own. */
void intern_json(cJSON *o, size_t min_len);
/* Give back o's shared strings (before cJSON_Delete(o)); their members are left NULL. */
void intern_json_release(cJSON *o);
/* A long string held apart from any tree (a cached object's text refers to it): kept deflated,
 * and as text only while some tree holds it open. */
struct intern_str;
/* s is a string intern_json shared (a member's value it made a reference): one more holder of it,
 * apart from the tree's; intern_drop gives that back. */
const struct intern_str *intern_keep(const char *s);
/* Its text, one more holder of it (a tree's member, given back by intern_json_release); NULL when
 * out of memory */
const char *intern_open(const struct intern_str *h);
void intern_drop(const struct intern_str *h);
/* How many strings are shared now, and their bytes as kept (deflated); how many member names are
 * held (or NULL). */
void intern_stats(size_t *strings, size_t *bytes, size_t *n_names);
