/* SPDX-License-Identifier: Apache-2.0 */
#include "conditions.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

static const char *status_text(enum condition_status s)
{
        return s == KO_TRUE ? "True" : s == KO_FALSE ? "False" : "Unknown";
}

const cJSON *condition_get(const cJSON *conditions, const char *type)
{
        const cJSON *c;

        cJSON_ArrayForEach (c, conditions) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
                if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
                        return c;
        }
        return NULL;
}

bool condition_is_true(const cJSON *conditions, const char *type)
{
        const cJSON *s =
                cJSON_GetObjectItemCaseSensitive(condition_get(conditions, type), "status");

        return cJSON_IsString(s) && strcmp(s->valuestring, "True") == 0;
}

static bool set_str(cJSON *o, const char *k, const char *v)
{
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(o, k);

        if (cJSON_IsString(old) && strcmp(old->valuestring, v) == 0)
                return false;
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddStringToObject(o, k, v);
        return true;
}

void condition_reason(char *reason)
{
        size_t n;

        for (char *p = reason; *p; p++)
                if (!(isalnum((unsigned char)*p) || *p == '_' || *p == ',' || *p == ':'))
                        *p = '_';
        if (!isalpha((unsigned char)reason[0]))
                reason[0] = 'X';
        n = strlen(reason);
        while (n > 1 && (reason[n - 1] == ',' || reason[n - 1] == ':'))
                reason[--n] = '\0';
}

bool condition_set(cJSON *conditions, const char *type, enum condition_status status,
                   const char *reason, const char *message, long long generation)
{
        cJSON *c = (cJSON *)condition_get(conditions, type);
        const cJSON *g;
        char now[TIME_RFC3339_MAX], r[128];
        bool changed = false;

        snprintf(r, sizeof(r), "%s", reason && *reason ? reason : "Unknown");
        condition_reason(r);
        if (!c) {
                c = cJSON_CreateObject();
                cJSON_AddStringToObject(c, "type", type);
                cJSON_AddItemToArray(conditions, c);
                changed = true;
        }
        if (set_str(c, "status", status_text(status)) ||
            !cJSON_GetObjectItemCaseSensitive(c, "lastTransitionTime")) {
                time_now_rfc3339(now, 0);
                set_str(c, "lastTransitionTime", now);
                changed = true;
        }
        changed |= set_str(c, "reason", r);
        changed |= set_str(c, "message", message ? message : "");
        g = cJSON_GetObjectItemCaseSensitive(c, "observedGeneration");
        if (!cJSON_IsNumber(g) || (long long)g->valuedouble != generation) {
                cJSON_DeleteItemFromObjectCaseSensitive(c, "observedGeneration");
                cJSON_AddNumberToObject(c, "observedGeneration", (double)generation);
                changed = true;
        }
        return changed;
}

bool condition_remove(cJSON *conditions, const char *type)
{
        const cJSON *c = condition_get(conditions, type);

        if (!c)
                return false;
        cJSON_Delete(cJSON_DetachItemViaPointer(conditions, (cJSON *)c));
        return true;
}
