/* SPDX-License-Identifier: Apache-2.0 */
/* Status conditions with Kubernetes semantics (metav1.Condition). */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

enum condition_status {
        KO_FALSE,
        KO_TRUE,
        KO_UNKNOWN,
};

/* Set (or add) the condition `type` in the conditions array: lastTransitionTime moves only
 * when the status changes. Returns true when anything changed. */
bool condition_set(cJSON *conditions, const char *type, enum condition_status status,
                   const char *reason, const char *message, long long generation);
/* The condition `type`, or NULL. */
const cJSON *condition_get(const cJSON *conditions, const char *type);
bool condition_is_true(const cJSON *conditions, const char *type);
/* Remove a condition; true when it was there. */
bool condition_remove(cJSON *conditions, const char *type);
/* Make a reason fit the API's pattern ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$ (max 1024). */
void condition_reason(char *reason);
