/* SPDX-License-Identifier: Apache-2.0 */
/* Deciding what to write: is a live object already as desired (so nothing is sent), and has a
 * workload finished rolling out. Pure functions, but for sync_apply_if_changed, which reads the
 * live object and applies when it differs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "kube/client.h"

/* Does live hold everything desired says? Fields the server adds (defaults, status, node
 * ports) are fine; a desired zero value (false, 0, "", {}, [], null) matches an absent field;
 * lists must have the same length; strings that are both Kubernetes quantities compare by
 * value ("1000m" == "1"). On a difference, *where (may be NULL) gets its path. */
bool sync_subset(const cJSON *desired, const cJSON *live, char *where, size_t wherelen);

/* For the caches of owned objects: removes from a live object, in place, what the server sets
 * and nothing here reads or desires (defaults the operator never sets, such as a container's
 * terminationMessagePath or a Service's ipFamilies; the times and messages of a workload's
 * conditions; managedFields), so that sync_subset answers as it would on the whole object. */
void sync_trim(cJSON *live);

/* Stamp desired with the hash of its content (annotation operator.karmada.io/applied-hash), so
 * a field removed from the desired state shows as a change too. */
int sync_stamp(cJSON *desired);
/* Server-side apply obj (already stamped) as the operator unless the live object is in sync
 * (read first). Returns 1 when it wrote, 0 when nothing was needed, or a negative errno with st
 * filled. *ret_live (optional): the object as it is now; caller frees. */
int sync_apply_if_changed(struct kube_client *c, const struct kube_resource *r, const char *ns,
                          const cJSON *obj, cJSON **ret_live, struct kube_status *st);
/* An annotation's value, or NULL. */
const char *sync_annotation(const cJSON *obj, const char *key);
/* A stamped desired object is in sync when live carries the same hash and holds all of it. */
bool sync_in_sync(const cJSON *desired, const cJSON *live, char *why, size_t whylen);

/* For a workload whose desired state leaves spec.replicas to others (an autoscaler) while the
 * live one has them: what a second field manager applies first, the replicas as they are, so
 * that the operator's apply without them releases the field instead of resetting it to its
 * default (server-side apply's transfer of ownership). NULL when nothing is needed. */
cJSON *sync_replicas_handover(const cJSON *desired, const cJSON *live);

/* Has this Deployment or StatefulSet finished rolling out: the controller saw the current
 * generation, and every desired replica is updated, ready and available (not merely one Ready
 * pod)? *why gets what is missing. */
bool sync_rollout_done(const cJSON *live, char *why, size_t whylen);
/* A Deployment or StatefulSet whose rollout had finished and that has fewer ready replicas than
 * desired since: its template is the one rolled out (a Deployment's Progressing condition says
 * NewReplicaSetAvailable; a StatefulSet's current revision is its update revision), every
 * replica runs it, and no new or old one is being added. A pod that crashed or was lost, not a
 * rollout; *why says how many are ready. */
bool sync_rollout_lost(const cJSON *live, char *why, size_t whylen);
/* Whether the members of live (a StatefulSet of more than one replica, whose members vote, as
 * etcd's) lost their quorum: fewer ready than a majority of its replicas. why says so ("etcd
 * has no quorum: 1 of 3 members ready, 2 needed"). */
bool sync_quorum_lost(const cJSON *live, char *why, size_t whylen);
/* A workload whose pod template carries annotation key = value and that has rolled out: every
 * replica runs that template (a rotation's phase waits for it). */
bool sync_rolled_with(const cJSON *live, const char *key, const char *value);

/* A Kubernetes quantity ("100m", "1Gi", "2e3") as a number; false when not one. */
bool sync_quantity(const char *s, long double *ret);
