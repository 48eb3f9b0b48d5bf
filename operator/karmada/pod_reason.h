/* SPDX-License-Identifier: Apache-2.0 */
/* Why a pod is not ready, from its status alone: the first real cause (not scheduled and why,
 * a container waiting in CrashLoopBackOff with its last termination's first line, an image that
 * cannot be pulled, a failed readiness probe), not the symptom. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct pod_cause {
        char reason[64]; /* one CamelCase word: Unschedulable, CrashLoopBackOff, ... */
        char text[400]; /* one line, the reason included: "container etcd: CrashLoopBackOff: ..." */
};

/* true with the cause in *c when pod is not ready; false (c zeroed) when it is. */
bool pod_reason(const cJSON *pod, struct pod_cause *c);

/* Whether the cause is a failure to warn about (it will not pass by itself: unschedulable, a
 * crash loop, an image that cannot be pulled, a failed pod), not a pod merely starting. */
bool pod_cause_is_failure(const struct pod_cause *c);

/* What pod_reason reads, and the pod's identity, kept; the rest of the pod removed (for the
 * caches of pods: a pod's spec and most of its status are not read). */
void pod_trim(cJSON *pod);
