/* SPDX-License-Identifier: Apache-2.0 */
#include "spec_reader.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void spec_problem(struct spec_reader *p, const char *path, const char *fmt, ...)
{
        va_list ap;

        if (p->n++ >= 8)
                return; /* enough to act on */
        strbuf_printf(&p->problems, "%s%s: ", p->problems.len ? "; " : "", path);
        va_start(ap, fmt);
        strbuf_vprintf(&p->problems, fmt, ap);
        va_end(ap);
}

const cJSON *spec_get(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsNull(v) ? NULL : v;
}

/* A child that must be an object (or absent). */
const cJSON *spec_obj(struct spec_reader *p, const cJSON *o, const char *key, const char *path)
{
        const cJSON *v = spec_get(o, key);

        if (v && !cJSON_IsObject(v)) {
                spec_problem(p, path, "must be an object");
                return NULL;
        }
        return v;
}

const char *spec_str(struct spec_reader *p, const cJSON *o, const char *key, const char *path)
{
        const cJSON *v = spec_get(o, key);

        if (!v)
                return NULL;
        if (!cJSON_IsString(v)) {
                spec_problem(p, path, "must be a string");
                return NULL;
        }
        return *v->valuestring ? v->valuestring : NULL;
}

bool spec_bool(struct spec_reader *p, const cJSON *o, const char *key, const char *path, bool def)
{
        const cJSON *v = spec_get(o, key);

        if (!v)
                return def;
        if (!cJSON_IsBool(v)) {
                spec_problem(p, path, "must be true or false");
                return def;
        }
        return cJSON_IsTrue(v);
}

bool spec_int(struct spec_reader *p, const cJSON *o, const char *key, const char *path, long min,
              long max, int *ret)
{
        const cJSON *v = spec_get(o, key);

        if (!v)
                return false;
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble) {
                spec_problem(p, path, "must be an integer");
                return false;
        }
        if (v->valuedouble < (double)min || v->valuedouble > (double)max) {
                spec_problem(p, path, "must be between %ld and %ld, not %.0f", min, max,
                             v->valuedouble);
                return false;
        }
        *ret = (int)v->valuedouble;
        return true;
}

/* An object whose values all have one type (cJSON_IsString or cJSON_IsBool). */
const cJSON *spec_map(struct spec_reader *p, const cJSON *o, const char *key, const char *path,
                      cJSON_bool (*is)(const cJSON *), const char *what)
{
        const cJSON *v = spec_obj(p, o, key, path), *e;

        cJSON_ArrayForEach (e, v) {
                if (!is(e)) {
                        char sub[512];
                        snprintf(sub, sizeof(sub), "%s.%s", path, e->string);
                        spec_problem(p, sub, "must be %s", what);
                }
        }
        return v && v->child ? v : NULL;
}

const cJSON *spec_list(struct spec_reader *p, const cJSON *o, const char *key, const char *path,
                       bool strings)
{
        const cJSON *v = spec_get(o, key), *e;
        int i = 0;

        if (!v)
                return NULL;
        if (!cJSON_IsArray(v)) {
                spec_problem(p, path, "must be a list");
                return NULL;
        }
        cJSON_ArrayForEach (e, v) {
                if (strings ? !cJSON_IsString(e) : !cJSON_IsObject(e)) {
                        char sub[512];
                        snprintf(sub, sizeof(sub), "%s[%d]", path, i);
                        spec_problem(p, sub, "must be %s", strings ? "a string" : "an object");
                }
                i++;
        }
        return v->child ? v : NULL;
}

/* RFC 1123 label (or subdomain when dots allowed). */
bool spec_http_url(const char *u)
{
        return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) &&
               u[strcspn(u, ":") + 3] && !strpbrk(u, " \t\r\n");
}

bool spec_dns_name(const char *s, bool dots, size_t max)
{
        size_t n = strlen(s);
        bool start = true;

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.' && dots && !start && s[i - 1] != '-') {
                        start = true;
                        continue;
                }
                if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
                      (c == '-' && !start)))
                        return false;
                start = false;
        }
        return s[n - 1] != '-' && s[n - 1] != '.';
}

/* A list of objects each with a name (a DNS subdomain; in metadata for whole objects) and the
 * fields listed as required. */
const cJSON *spec_named_list(struct spec_reader *p, const cJSON *o, const char *key,
                             const char *path, const char *const *required)
{
        const cJSON *v = spec_list(p, o, key, path, false), *e;
        int i = 0;

        cJSON_ArrayForEach (e, v) {
                const cJSON *meta = spec_get(e, "metadata");
                const cJSON *name = spec_get(meta ? meta : e, "name");
                char sub[512];

                snprintf(sub, sizeof(sub), "%s[%d]", path, i++);
                if (!cJSON_IsObject(e))
                        continue; /* list_at said so */
                if (!cJSON_IsString(name) || !spec_dns_name(name->valuestring, true, 253))
                        spec_problem(p, sub, "needs a name (a DNS subdomain)");
                for (const char *const *r = required; r && *r; r++)
                        if (!spec_get(e, *r))
                                spec_problem(p, sub, "needs %s", *r);
        }
        return v;
}

int spec_reader_finish(struct spec_reader *p, struct karmada_spec_error *err)
{
        int n = p->n;

        if (n && err)
                snprintf(err->message, sizeof(err->message), "%s%s", p->problems.buf,
                         n > 8 ? "; ..." : "");
        strbuf_free(&p->problems);
        *p = (struct spec_reader){0};
        return n ? -EINVAL : 0;
}
