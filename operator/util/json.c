/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <string.h>

#include <openssl/crypto.h>

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

cJSON *json_merge_diff(const cJSON *from, const cJSON *to, bool *oom)
{
        const cJSON *m;
        cJSON *patch, *d;

        if (cJSON_Compare(from, to, true))
                return NULL;
        if (!cJSON_IsObject(from) || !cJSON_IsObject(to)) {
                d = cJSON_Duplicate(to, true);
                *oom |= !d;
                return d;
        }
        patch = cJSON_CreateObject();
        if (!patch) {
                *oom = true;
                return NULL;
        }
        cJSON_ArrayForEach (m, to) {
                d = json_merge_diff(cJSON_GetObjectItemCaseSensitive(from, m->string), m, oom);
                if (d)
                        cJSON_AddItemToObject(patch, m->string, d);
        }
        cJSON_ArrayForEach (m, from) {
                if (!cJSON_GetObjectItemCaseSensitive(to, m->string))
                        cJSON_AddNullToObject(patch, m->string);
        }
        return patch;
}

static void wipe_string(char *s)
{
        if (s)
                OPENSSL_cleanse(s, strlen(s));
}

static void wipe(cJSON *o)
{
        for (; o; o = o->next) {
                wipe_string(o->valuestring);
                wipe_string(o->string);
                wipe(o->child);
        }
}

void json_delete_secret(cJSON *o)
{
        if (!o)
                return;
        wipe(o->child);
        wipe_string(o->valuestring);
        cJSON_Delete(o);
}
