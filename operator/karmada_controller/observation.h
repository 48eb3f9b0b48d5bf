/* SPDX-License-Identifier: Apache-2.0 */
/* What one reconcile sees of the live objects in the host cluster. Each object is looked up at
 * most once per reconcile: in the informer cache of its resource first, then, where the source
 * allows it, by a direct read. The answer, an object or its absence, is kept until the
 * observation is freed, so the desired state can hold borrowed pointers into it. Keyed by
 * resource, namespace and name; no ceiling on how many objects one reconcile sees. */
#pragma once

#include <cjson/cJSON.h>

#include "kube/resource.h"
#include "runtime/store.h"

struct observation_source {
        /* the informer cache of r's objects, or NULL when there is none */
        struct store *(*store_of)(void *userdata, const struct kube_resource *r);
        /* read an object the caches do not hold: 0 with *ret (the caller owns it), or a negative
         * errno (-ENOENT: absent, or not to be read); NULL: nothing is read directly */
        int (*read)(void *userdata, const struct kube_resource *r, const char *ns, const char *name,
                    cJSON **ret);
        void *userdata;
};

struct observation;

/* src must outlive the observation. */
int observation_new(const struct observation_source *src, struct observation **ret);
/* Accepts NULL. Everything observation_get returned is invalid afterwards. */
void observation_free(struct observation *ob);
/* The live object, or NULL when it does not exist (or could not be read, which this reconcile
 * will not try again). Valid until observation_free. */
const cJSON *observation_get(struct observation *ob, const struct kube_resource *r, const char *ns,
                             const char *name);
/* What a write returned is the live object from now on; takes ownership of obj. */
int observation_set(struct observation *ob, const struct kube_resource *r, const char *ns,
                    const char *name, cJSON *obj);
/* How many objects were looked up, and how many of them were read directly (tests). */
size_t observation_size(const struct observation *ob);
size_t observation_reads(const struct observation *ob);
