/* SPDX-License-Identifier: Apache-2.0 */
/* The release catalog: KarmadaRelease objects (cluster-scoped, operator.karmada.io/v1alpha1),
 * each a release under the name a Karmada's spec.karmadaVersion gives, over the releases built
 * into the operator (versions.h): one of the same name overrides a built-in one. Where the
 * objects come from is set once at start: the operator's cache, or render's --release FILE. */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

#include "kube/resource.h"
#include "versions.h"

extern const struct kube_resource karmada_releases;

/* A new copy of the KarmadaRelease called name, or NULL when there is none. Called from any
 * worker thread. */
typedef cJSON *(*release_catalog_lookup)(const char *name, void *ctx);
/* A lookup over a JSON array of KarmadaRelease objects (ctx: the array, kept by the caller):
 * render's documents, or the items of a list. */
cJSON *release_catalog_array_lookup(const char *name, void *ctx);
/* Where KarmadaRelease objects come from (NULL: none, only the built-in releases). */
void release_catalog_set(release_catalog_lookup fn, void *ctx);

/* spec.karmadaVersion resolved: the KarmadaRelease of that name, else a built-in release.
 * -EINVAL with msg (without the field: the caller names it) when neither gives a release. */
int release_resolve_named(const char *name, struct karmada_release *out, char *msg, size_t msglen);

/* A KarmadaRelease object into out. -EINVAL with msg naming the object and its fields
 * ("KarmadaRelease x: spec.images.etcd: ...; spec.minor: ..."). */
int release_from_object(const cJSON *obj, struct karmada_release *out, char *msg, size_t msglen);

/* The tag of an image reference ("reg:5000/a/b:v1" -> "v1"); NULL when it has none. */
const char *release_image_tag(const char *image, char *buf, size_t size);
