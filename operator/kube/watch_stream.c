/* SPDX-License-Identifier: Apache-2.0 */
#include "watch_stream.h"

#include <errno.h>
#include <string.h>

#include "status.h"

static int emit(kube_line_fn fn, void *userdata, const char *line, size_t len)
{
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
                len--;
        if (len == 0)
                return 0;
        return fn(userdata, line, len);
}

int kube_framer_feed(struct kube_framer *f, const char *data, size_t len, kube_line_fn fn,
                     void *userdata)
{
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t take = nl ? (size_t)(nl - data) : len;
                int r;

                if (f->max_line && f->pending.len + take > f->max_line) {
                        kube_framer_reset(f);
                        return -E2BIG;
                }
                if (!nl) {
                        return strbuf_append(&f->pending, data, take);
                }
                if (f->pending.len) {
                        r = strbuf_append(&f->pending, data, take);
                        if (r < 0)
                                return r;
                        r = emit(fn, userdata, f->pending.buf, f->pending.len);
                        strbuf_reset(&f->pending);
                } else {
                        r = emit(fn, userdata, data, take);
                }
                if (r < 0)
                        return r;
                data += take + 1;
                len -= take + 1;
        }
        return 0;
}

size_t kube_framer_pending(const struct kube_framer *f)
{
        return f->pending.len;
}

void kube_framer_reset(struct kube_framer *f)
{
        strbuf_reset(&f->pending);
}

void kube_framer_free(struct kube_framer *f)
{
        strbuf_free(&f->pending);
}

int kube_watch_decode(const char *line, size_t len, enum kube_event_type *type, cJSON **ret_obj,
                      struct kube_status *st)
{
        static const struct {
                const char *name;
                enum kube_event_type type;
        } types[] = {
                {"ADDED", KUBE_EVENT_ADDED},
                {"MODIFIED", KUBE_EVENT_MODIFIED},
                {"DELETED", KUBE_EVENT_DELETED},
                {"BOOKMARK", KUBE_EVENT_BOOKMARK},
        };
        cJSON *ev, *obj;
        const cJSON *t;
        int r = -EBADMSG;

        ev = cJSON_ParseWithLength(line, len);
        if (!ev)
                return -EBADMSG;
        t = cJSON_GetObjectItemCaseSensitive(ev, "type");
        obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
        if (!cJSON_IsString(t) || !cJSON_IsObject(obj))
                goto out;
        if (strcmp(t->valuestring, "ERROR") == 0) {
                char *s = cJSON_PrintUnformatted(obj);
                struct kube_status tmp;

                if (!st)
                        st = &tmp;
                kube_status_from_response(st, 500, s, s ? strlen(s) : 0);
                cJSON_free(s);
                if (st->code == 410 || strcmp(st->reason, "Expired") == 0 ||
                    strcmp(st->reason, "Gone") == 0)
                        r = -ESTALE;
                else
                        r = kube_status_errno(st) ? kube_status_errno(st) : -EIO;
                goto out;
        }
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                if (strcmp(t->valuestring, types[i].name) == 0) {
                        *type = types[i].type;
                        *ret_obj = cJSON_DetachItemViaPointer(ev, obj);
                        r = 0;
                        break;
                }
        }
out:
        cJSON_Delete(ev);
        return r;
}
