/* SPDX-License-Identifier: Apache-2.0 */
#include "yaml.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "hashmap.h"
#include "macro.h"
#include "strbuf.h"

#define DEFAULT_MAX_NODES 1000000
#define DEFAULT_MAX_DEPTH 200

struct frame {
        cJSON *node;
        char *key;     /* mapping: the key waiting for its value */
        bool merge;    /* that key is a plain "<<" (a merge key) */
        cJSON *merged; /* keys brought in by merge keys; explicit keys win at the end */
        char *anchor;  /* anchor to register when the container ends */
        size_t line;   /* where it started, for messages */
};

struct parser {
        const char *name;
        char *err;
        size_t errlen;
        size_t max_nodes, nodes;
        unsigned max_depth;
        struct frame *stack;
        unsigned depth;
        cJSON *root;
        struct hashmap *anchors; /* name -> a private copy of its value (cJSON) */
};

static int fail(struct parser *p, size_t line, size_t col, int r, const char *what)
{
        if (p->err && p->errlen)
                snprintf(p->err, p->errlen, "%s: line %zu, column %zu: %s", p->name, line + 1,
                         col + 1, what);
        return r;
}

static void anchors_clear(struct parser *p)
{
        if (!p->anchors)
                return;
        for (const struct hashmap_entry *e = hashmap_first(p->anchors); e;
             e = hashmap_next(p->anchors, e))
                cJSON_Delete(hashmap_entry_value(e));
        hashmap_free(p->anchors);
        p->anchors = NULL;
}

/* name -> a copy of v (YAML allows redefinition: the last one counts); a hash map, so a
 * document with many anchors costs no more per alias than one with few */
static int anchor_set(struct parser *p, const char *name, const cJSON *v)
{
        cJSON *copy = cJSON_Duplicate(v, true);
        void *old = NULL;

        if (!copy || (!p->anchors && !(p->anchors = hashmap_new())) ||
            hashmap_put(p->anchors, name, copy, &old) < 0) {
                cJSON_Delete(copy);
                return -ENOMEM;
        }
        cJSON_Delete(old);
        return 0;
}

static const cJSON *anchor_get(struct parser *p, const char *name)
{
        return p->anchors ? hashmap_get(p->anchors, name) : NULL;
}

static size_t count_nodes(const cJSON *v, size_t limit)
{
        size_t n = 1;

        for (const cJSON *c = v->child; c && n <= limit; c = c->next)
                n += count_nodes(c, limit - n);
        return n;
}

static bool in_list(const char *s, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

/* Integer forms of go-yaml v2 (decimal, 0x, 0o, leading-0 octal, 0b, underscores). */
static bool parse_int(const char *s, double *ret)
{
        char buf[80];
        size_t j = 0;
        int base = 10;
        const char *q = s;
        bool neg = false;
        char *end;
        unsigned long long u;

        if (*q == '+' || *q == '-')
                neg = *q++ == '-';
        if (!*q)
                return false;
        if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
                base = 16, q += 2;
        else if (q[0] == '0' && (q[1] == 'o' || q[1] == 'O'))
                base = 8, q += 2;
        else if (q[0] == '0' && (q[1] == 'b' || q[1] == 'B'))
                base = 2, q += 2;
        else if (q[0] == '0' && q[1])
                base = 8, q += 1;
        for (; *q; q++) {
                if (*q == '_')
                        continue;
                if (j + 1 >= sizeof(buf))
                        return false;
                buf[j++] = *q;
        }
        buf[j] = '\0';
        if (j == 0 || buf[0] == '+' || buf[0] == '-')
                return false;
        errno = 0;
        u = strtoull(buf, &end, base);
        if (errno || *end)
                return false;
        *ret = neg ? -(double)u : (double)u;
        return true;
}

static bool parse_float(const char *s, double *ret)
{
        const char *q = s;
        char *end;
        bool digits = false;
        double d;

        /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
        if (*q == '+' || *q == '-')
                q++;
        while (*q >= '0' && *q <= '9')
                q++, digits = true;
        if (*q == '.') {
                q++;
                while (*q >= '0' && *q <= '9')
                        q++, digits = true;
        }
        if (!digits)
                return false;
        if (*q == 'e' || *q == 'E') {
                q++;
                if (*q == '+' || *q == '-')
                        q++;
                if (!(*q >= '0' && *q <= '9'))
                        return false;
                while (*q >= '0' && *q <= '9')
                        q++;
        }
        if (*q)
                return false;
        errno = 0;
        d = strtod(s, &end);
        if (errno || *end || !isfinite(d))
                return false;
        *ret = d;
        return true;
}

static cJSON *scalar_value(const yaml_event_t *ev)
{
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
        static const char *const trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                            "True", "TRUE", "on",  "On",  "ON",  NULL};
        static const char *const falses[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                             "False", "FALSE", "off", "Off", "OFF", NULL};
        const char *s = (const char *)ev->data.scalar.value;
        const char *tag = (const char *)ev->data.scalar.tag;
        double d;

        if (tag) {
                if (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0)
                        return cJSON_CreateString(s);
                if (strcmp(tag, YAML_NULL_TAG) == 0)
                        return cJSON_CreateNull();
                if (strcmp(tag, YAML_BOOL_TAG) == 0) {
                        if (in_list(s, trues))
                                return cJSON_CreateTrue();
                        if (in_list(s, falses))
                                return cJSON_CreateFalse();
                        return NULL;
                }
                if (strcmp(tag, YAML_INT_TAG) == 0)
                        return parse_int(s, &d) ? cJSON_CreateNumber(d) : NULL;
                if (strcmp(tag, YAML_FLOAT_TAG) == 0)
                        return parse_int(s, &d) || parse_float(s, &d) ? cJSON_CreateNumber(d)
                                                                      : NULL;
                if (strcmp(tag, "tag:yaml.org,2002:binary") == 0)
                        return cJSON_CreateString(s); /* Kubernetes keeps base64 text */
                /* unknown local tags: resolve as if untagged */
        }
        if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return cJSON_CreateString(s);
        if (in_list(s, nulls))
                return cJSON_CreateNull();
        if (in_list(s, trues))
                return cJSON_CreateTrue();
        if (in_list(s, falses))
                return cJSON_CreateFalse();
        if (parse_int(s, &d) || parse_float(s, &d))
                return cJSON_CreateNumber(d);
        return cJSON_CreateString(s);
}

static int merge_into(struct parser *p, cJSON *map, const cJSON *src, size_t line, size_t col)
{
        if (cJSON_IsArray(src)) {
                for (const cJSON *c = src->child; c; c = c->next) {
                        int r = merge_into(p, map, c, line, col);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (!cJSON_IsObject(src))
                return fail(p, line, col, -EINVAL,
                            "merge key '<<' needs a mapping or a list of mappings");
        for (const cJSON *c = src->child; c; c = c->next) {
                cJSON *copy;
                if (cJSON_GetObjectItemCaseSensitive(map, c->string))
                        continue; /* the first mapping merged wins */
                copy = cJSON_Duplicate(c, true);
                if (!copy)
                        return -ENOMEM;
                cJSON_AddItemToObject(map, c->string, copy);
        }
        return 0;
}

static int attach(struct parser *p, cJSON *v, size_t line, size_t col)
{
        struct frame *f;
        int r = 0;

        if (p->depth == 0) {
                if (p->root) {
                        cJSON_Delete(v);
                        return fail(p, line, col, -EINVAL, "more than one root node");
                }
                p->root = v;
                return 0;
        }
        f = &p->stack[p->depth - 1];
        if (cJSON_IsArray(f->node)) {
                cJSON_AddItemToArray(f->node, v);
                return 0;
        }
        /* mapping */
        if (!f->key) {
                cJSON_Delete(v);
                return fail(p, line, col, -EINVAL, "internal: no key");
        }
        if (f->merge) {
                if (!f->merged && !(f->merged = cJSON_CreateObject()))
                        r = -ENOMEM;
                else
                        r = merge_into(p, f->merged, v, line, col);
                cJSON_Delete(v);
        } else if (cJSON_GetObjectItemCaseSensitive(f->node, f->key)) {
                char msg[300];
                snprintf(msg, sizeof(msg), "duplicate key \"%.200s\"", f->key);
                cJSON_Delete(v);
                r = fail(p, line, col, -EINVAL, msg);
        } else {
                cJSON_AddItemToObject(f->node, f->key, v);
        }
        free(f->key);
        f->key = NULL;
        f->merge = false;
        return r;
}

static int on_scalar(struct parser *p, const yaml_event_t *ev)
{
        size_t line = ev->start_mark.line, col = ev->start_mark.column;
        struct frame *f = p->depth ? &p->stack[p->depth - 1] : NULL;
        cJSON *v;
        int r;

        if (++p->nodes > p->max_nodes)
                return fail(p, line, col, -E2BIG, "document too large (node limit)");
        if (f && cJSON_IsObject(f->node) && !f->key) {
                /* a key is the scalar's text, whatever it would resolve to (as sigs.k8s.io/yaml) */
                f->key = strdup((const char *)ev->data.scalar.value);
                f->merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                           strcmp(f->key ? f->key : "", "<<") == 0;
                return f->key ? 0 : -ENOMEM;
        }
        v = scalar_value(ev);
        if (!v)
                return fail(p, line, col, -EINVAL, "scalar does not match its explicit tag");
        if (ev->data.scalar.anchor) {
                r = anchor_set(p, (const char *)ev->data.scalar.anchor, v);
                if (r < 0) {
                        cJSON_Delete(v);
                        return r;
                }
        }
        return attach(p, v, line, col);
}

static int on_start(struct parser *p, const yaml_event_t *ev, bool seq)
{
        size_t line = ev->start_mark.line, col = ev->start_mark.column;
        const unsigned char *anchor =
                seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        struct frame *f = p->depth ? &p->stack[p->depth - 1] : NULL;

        if (f && cJSON_IsObject(f->node) && !f->key)
                return fail(p, line, col, -EINVAL, "mapping keys must be scalars");
        if (p->depth >= p->max_depth)
                return fail(p, line, col, -E2BIG, "nesting too deep");
        if (++p->nodes > p->max_nodes)
                return fail(p, line, col, -E2BIG, "document too large (node limit)");
        f = &p->stack[p->depth];
        *f = (struct frame){.line = line};
        f->node = seq ? cJSON_CreateArray() : cJSON_CreateObject();
        if (!f->node)
                return -ENOMEM;
        if (anchor) {
                f->anchor = strdup((const char *)anchor);
                if (!f->anchor) {
                        cJSON_Delete(f->node);
                        return -ENOMEM;
                }
        }
        p->depth++;
        return 0;
}

static int on_end(struct parser *p, const yaml_event_t *ev)
{
        struct frame f = p->stack[--p->depth];
        int r = 0;

        free(f.key); /* only set on malformed input, which libyaml rejects first */
        while (f.merged && f.merged->child) {
                cJSON *m = cJSON_DetachItemViaPointer(f.merged, f.merged->child);
                if (cJSON_GetObjectItemCaseSensitive(f.node, m->string))
                        cJSON_Delete(m);
                else
                        cJSON_AddItemToObject(f.node, m->string, m);
        }
        cJSON_Delete(f.merged);
        if (f.anchor) {
                r = anchor_set(p, f.anchor, f.node);
                free(f.anchor);
        }
        if (r < 0) {
                cJSON_Delete(f.node);
                return r;
        }
        return attach(p, f.node, ev->start_mark.line, ev->start_mark.column);
}

static int on_alias(struct parser *p, const yaml_event_t *ev)
{
        size_t line = ev->start_mark.line, col = ev->start_mark.column;
        const cJSON *src = anchor_get(p, (const char *)ev->data.alias.anchor);
        struct frame *f = p->depth ? &p->stack[p->depth - 1] : NULL;
        cJSON *v;

        if (!src)
                return fail(p, line, col, -EINVAL, "unknown anchor");
        if (f && cJSON_IsObject(f->node) && !f->key) {
                if (cJSON_IsObject(src) || cJSON_IsArray(src))
                        return fail(p, line, col, -EINVAL, "mapping keys must be scalars");
                f->key = cJSON_IsString(src) ? strdup(src->valuestring)
                                             : cJSON_PrintUnformatted(src);
                return f->key ? 0 : -ENOMEM;
        }
        p->nodes += count_nodes(src, p->max_nodes);
        if (p->nodes > p->max_nodes)
                return fail(p, line, col, -E2BIG, "document too large after alias expansion");
        v = cJSON_Duplicate(src, true);
        if (!v)
                return -ENOMEM;
        return attach(p, v, line, col);
}

static void parser_reset_doc(struct parser *p)
{
        while (p->depth > 0) {
                struct frame *f = &p->stack[--p->depth];
                cJSON_Delete(f->node);
                cJSON_Delete(f->merged);
                free(f->key);
                free(f->anchor);
        }
        cJSON_Delete(p->root);
        p->root = NULL;
        anchors_clear(p);
}

int yaml_parse_stream(const char *buf, size_t len, const char *name, const struct yaml_limits *lim,
                      cJSON **ret_docs, char *err, size_t errlen)
{
        struct parser p = {
                .name = name ? name : "<input>",
                .err = err,
                .errlen = errlen,
                .max_nodes = lim && lim->max_nodes ? lim->max_nodes : DEFAULT_MAX_NODES,
                .max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH,
        };
        yaml_parser_t yp;
        cJSON *docs;
        bool done = false;
        int r = 0;

        if (err && errlen)
                err[0] = '\0';
        docs = cJSON_CreateArray();
        p.stack = calloc(p.max_depth + 1, sizeof(*p.stack));
        if (!docs || !p.stack || !yaml_parser_initialize(&yp)) {
                cJSON_Delete(docs);
                free(p.stack);
                return -ENOMEM;
        }
        yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
        while (!done && r == 0) {
                yaml_event_t ev;

                if (!yaml_parser_parse(&yp, &ev)) {
                        r = fail(&p, yp.problem_mark.line, yp.problem_mark.column, -EINVAL,
                                 yp.problem ? yp.problem : "invalid YAML");
                        break;
                }
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        parser_reset_doc(&p);
                        break;
                case YAML_DOCUMENT_END_EVENT:
                        if (p.root && !cJSON_IsNull(p.root)) {
                                cJSON_AddItemToArray(docs, p.root);
                        } else {
                                cJSON_Delete(p.root);
                        }
                        p.root = NULL;
                        anchors_clear(&p);
                        break;
                case YAML_SCALAR_EVENT:
                        r = on_scalar(&p, &ev);
                        break;
                case YAML_SEQUENCE_START_EVENT:
                        r = on_start(&p, &ev, true);
                        break;
                case YAML_MAPPING_START_EVENT:
                        r = on_start(&p, &ev, false);
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        r = on_end(&p, &ev);
                        break;
                case YAML_ALIAS_EVENT:
                        r = on_alias(&p, &ev);
                        break;
                default:
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&yp);
        parser_reset_doc(&p);
        free(p.stack);
        if (r < 0) {
                if (r == -ENOMEM && err && errlen)
                        snprintf(err, errlen, "%s: out of memory", p.name);
                cJSON_Delete(docs);
                return r;
        }
        *ret_docs = docs;
        return 0;
}

int yaml_parse_one(const char *buf, size_t len, const char *name, const struct yaml_limits *lim,
                   cJSON **ret_doc, char *err, size_t errlen)
{
        cJSON *docs = NULL;
        int r, n;

        r = yaml_parse_stream(buf, len, name, lim, &docs, err, errlen);
        if (r < 0)
                return r;
        n = cJSON_GetArraySize(docs);
        if (n != 1) {
                if (err && errlen)
                        snprintf(err, errlen, "%s: expected one YAML document, found %d",
                                 name ? name : "<input>", n);
                cJSON_Delete(docs);
                return n == 0 ? -ENODATA : -EINVAL;
        }
        *ret_doc = cJSON_DetachItemFromArray(docs, 0);
        cJSON_Delete(docs);
        return 0;
}

/* ---- emitter ---- */

static int emit_write(void *data, unsigned char *buffer, size_t size)
{
        return strbuf_append(data, buffer, size) == 0;
}

/* Would a plain scalar with this text be read back as something other than this string? */
static bool needs_quotes(const char *s)
{
        yaml_event_t ev = {0};
        cJSON *v;
        bool q;

        ev.data.scalar.value = (yaml_char_t *)s;
        ev.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
        v = scalar_value(&ev);
        q = !v || !cJSON_IsString(v);
        cJSON_Delete(v);
        return q;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, const char *tag, bool quote)
{
        yaml_event_t ev;
        yaml_scalar_style_t style = quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;

        if (!quote && strchr(s, '\n'))
                style = YAML_LITERAL_SCALAR_STYLE;
        if (!yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)tag, (yaml_char_t *)s,
                                          (int)strlen(s), 1, 1, style))
                return -ENOMEM;
        return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
}

static int emit_node(yaml_emitter_t *e, const cJSON *v)
{
        yaml_event_t ev;
        char num[64];
        int r;

        if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
                bool map = cJSON_IsObject(v);
                bool empty = !v->child;
                if (map)
                        r = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                                empty ? YAML_FLOW_MAPPING_STYLE
                                                                      : YAML_BLOCK_MAPPING_STYLE);
                else
                        r = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                                 empty ? YAML_FLOW_SEQUENCE_STYLE
                                                                       : YAML_BLOCK_SEQUENCE_STYLE);
                if (!r || !yaml_emitter_emit(e, &ev))
                        return -EIO;
                for (const cJSON *c = v->child; c; c = c->next) {
                        if (map) {
                                r = emit_scalar(e, c->string, NULL, needs_quotes(c->string));
                                if (r < 0)
                                        return r;
                        }
                        r = emit_node(e, c);
                        if (r < 0)
                                return r;
                }
                if (map)
                        r = yaml_mapping_end_event_initialize(&ev);
                else
                        r = yaml_sequence_end_event_initialize(&ev);
                return r && yaml_emitter_emit(e, &ev) ? 0 : -EIO;
        }
        if (cJSON_IsString(v))
                return emit_scalar(e, v->valuestring, NULL, needs_quotes(v->valuestring));
        if (cJSON_IsBool(v))
                return emit_scalar(e, cJSON_IsTrue(v) ? "true" : "false", NULL, false);
        if (cJSON_IsNumber(v)) {
                double d = v->valuedouble;
                if (fabs(d) < 9007199254740992.0 && d == (double)(int64_t)d)
                        snprintf(num, sizeof(num), "%" PRId64, (int64_t)d);
                else
                        snprintf(num, sizeof(num), "%.17g", d);
                return emit_scalar(e, num, NULL, false);
        }
        return emit_scalar(e, "null", NULL, false);
}

int yaml_emit(const cJSON *const *docs, size_t n, char **ret)
{
        struct strbuf sb = {0};
        yaml_emitter_t e;
        yaml_event_t ev;
        int r = -EIO;

        if (!yaml_emitter_initialize(&e))
                return -ENOMEM;
        yaml_emitter_set_output(&e, emit_write, &sb);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_width(&e, -1);
        yaml_emitter_set_indent(&e, 2);
        if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
            !yaml_emitter_emit(&e, &ev))
                goto out;
        for (size_t i = 0; i < n; i++) {
                if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0) ||
                    !yaml_emitter_emit(&e, &ev))
                        goto out;
                r = emit_node(&e, docs[i]);
                if (r < 0)
                        goto out;
                r = -EIO;
                if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev))
                        goto out;
        }
        if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) ||
            !yaml_emitter_flush(&e))
                goto out;
        *ret = strbuf_steal(&sb);
        r = *ret ? 0 : -ENOMEM;
out:
        yaml_emitter_delete(&e);
        strbuf_free(&sb);
        return r;
}
