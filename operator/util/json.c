/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

const cJSON *json_at(const cJSON *o, const char *a, const char *b)
{
        o = cJSON_GetObjectItemCaseSensitive(o, a);
        return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

const char *json_str(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v = json_at(o, a, b);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}
