/* SPDX-License-Identifier: Apache-2.0 */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client.h"

void kube_status_from_response(struct kube_status *st, int code, const char *body, size_t len)
{
        cJSON *j = NULL;
        const cJSON *kind, *reason, *msg, *c;

        if (!st)
                return;
        memset(st, 0, sizeof(*st));
        st->code = code;
        if (body && len)
                j = cJSON_ParseWithLength(body, len);
        kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0) {
                reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
                msg = cJSON_GetObjectItemCaseSensitive(j, "message");
                c = cJSON_GetObjectItemCaseSensitive(j, "code");
                if (cJSON_IsString(reason))
                        snprintf(st->reason, sizeof(st->reason), "%s", reason->valuestring);
                if (cJSON_IsString(msg))
                        snprintf(st->message, sizeof(st->message), "%s", msg->valuestring);
                if (cJSON_IsNumber(c) && c->valueint >= 100 && c->valueint < 600)
                        st->code = c->valueint;
        } else if (body && len && (code < 200 || code >= 300)) {
                snprintf(st->message, sizeof(st->message), "HTTP %d: %.*s", code,
                         (int)(len > 300 ? 300 : len), body);
        }
        cJSON_Delete(j);
}

int kube_status_errno(const struct kube_status *st)
{
        int c = st->code;

        if (c >= 200 && c < 300)
                return 0;
        switch (c) {
        case 400:
        case 422:
                return -EINVAL;
        case 401:
                return -EACCES;
        case 403:
                return -EPERM;
        case 404:
                return -ENOENT;
        case 405:
                return -EOPNOTSUPP;
        case 409:
                return strcmp(st->reason, "AlreadyExists") == 0 ? -EEXIST : -EBUSY;
        case 410:
                return -ESTALE;
        case 413:
                return -E2BIG;
        case 429:
                return -EAGAIN;
        case 504:
                return -ETIMEDOUT;
        default:
                return -EIO;
        }
}

void kube_status_transport(struct kube_status *st, const char *verb, const char *url,
                           const char *what)
{
        char *at;
        size_t digits;

        if (!st)
                return;
        memset(st, 0, sizeof(*st));
        snprintf(st->message, sizeof(st->message), "%s %s: %s", verb, url, what);
        /* libcurl's " after 12 ms": the same failure says the same (a status condition that
         * carries it would change with each attempt) */
        at = strstr(st->message, " after ");
        digits = at ? strspn(at + 7, "0123456789") : 0;
        if (digits && strncmp(at + 7 + digits, " ms", 3) == 0)
                memmove(at, at + 10 + digits, strlen(at + 10 + digits) + 1);
}

bool kube_should_retry(enum kube_retry_class cls, bool idempotent, int attempt, int max_retries)
{
        if (attempt >= max_retries)
                return false;
        switch (cls) {
        case KUBE_RETRY_NEVER_SENT:
        case KUBE_RETRY_THROTTLED:
                return true;
        case KUBE_RETRY_SERVER:
                return idempotent;
        default:
                return false;
        }
}
