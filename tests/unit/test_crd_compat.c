/* SPDX-License-Identifier: Apache-2.0 */
/* Our Karmada CRD against upstream's (from the Go module github.com/karmada-io/karmada, never
 * copied here): same group, kind, scope and version, and every field path of upstream's
 * schema exists in ours with the same type. Run with KO_KARMADA_SRC set to the module dir. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/fileio.h"
#include "util/strbuf.h"
#include "util/yaml.h"

static cJSON *load(const char *path)
{
        char *text = NULL, err[512];
        size_t len;
        cJSON *doc = NULL;

        if (fileio_read(path, 32u << 20, &text, &len) < 0)
                fail_msg("cannot read %s", path);
        if (yaml_parse_one(text, len, path, NULL, &doc, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        free(text);
        return doc;
}

static const cJSON *at(const cJSON *o, const char *const *path)
{
        for (; o && *path; path++)
                o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(*path)) /* NOLINT(cert-err34-c) */
                                     : cJSON_GetObjectItemCaseSensitive(o, *path);
        return o;
}

static const char *str(const cJSON *o)
{
        return cJSON_IsString(o) ? o->valuestring : "";
}

struct walk {
        struct strbuf problems;
        int paths, bad;
};

static bool same_flag(const cJSON *a, const cJSON *b, const char *key)
{
        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, key)) ==
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, key));
}

static void compare(struct walk *w, const cJSON *up, const cJSON *ours, const char *path)
{
        const char *ut = str(cJSON_GetObjectItemCaseSensitive(up, "type"));
        const cJSON *props, *p;
        char sub[2048];

        w->paths++;
        if (!ours) {
                w->bad++;
                strbuf_printf(&w->problems, "  missing: %s (%s)\n", path, *ut ? ut : "untyped");
                return;
        }
        if (strcmp(ut, str(cJSON_GetObjectItemCaseSensitive(ours, "type"))) != 0 ||
            !same_flag(up, ours, "x-kubernetes-int-or-string") ||
            !same_flag(up, ours, "x-kubernetes-preserve-unknown-fields")) {
                w->bad++;
                strbuf_printf(&w->problems, "  type differs: %s (upstream %s, ours %s)\n", path, ut,
                              str(cJSON_GetObjectItemCaseSensitive(ours, "type")));
                return;
        }
        props = cJSON_GetObjectItemCaseSensitive(up, "properties");
        cJSON_ArrayForEach (p, props) {
                snprintf(sub, sizeof(sub), "%s.%s", path, p->string);
                compare(w, p,
                        cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(ours, "properties"), p->string),
                        sub);
        }
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(up, "items"))) {
                snprintf(sub, sizeof(sub), "%s[]", path);
                compare(w, cJSON_GetObjectItemCaseSensitive(up, "items"),
                        cJSON_GetObjectItemCaseSensitive(ours, "items"), sub);
        }
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(up, "additionalProperties"))) {
                snprintf(sub, sizeof(sub), "%s{}", path);
                compare(w, cJSON_GetObjectItemCaseSensitive(up, "additionalProperties"),
                        cJSON_GetObjectItemCaseSensitive(ours, "additionalProperties"), sub);
        }
}

static void test_every_upstream_field_exists_with_the_same_type(void **state)
{
        const char *src = getenv("KO_KARMADA_SRC");
        char path[4096];
        cJSON *up, *ours;
        struct walk w = {0};
        static const char *const schema[] = {"spec",   "versions",        "0",
                                             "schema", "openAPIV3Schema", NULL};

        if (!src || !*src)
                fail_msg("KO_KARMADA_SRC is not set (hack/karmada-src.sh prints it)");
        snprintf(path, sizeof(path), "%s/operator/config/crds/operator.karmada.io_karmadas.yaml",
                 src);
        up = load(path);
        ours = load(KO_SOURCE_DIR "/crds/operator.karmada.io_karmadas.yaml");
        assert_string_equal(str(at(up, (const char *const[]){"spec", "group", NULL})),
                            str(at(ours, (const char *const[]){"spec", "group", NULL})));
        assert_string_equal(str(at(up, (const char *const[]){"spec", "names", "kind", NULL})),
                            str(at(ours, (const char *const[]){"spec", "names", "kind", NULL})));
        assert_string_equal(str(at(up, (const char *const[]){"spec", "names", "plural", NULL})),
                            str(at(ours, (const char *const[]){"spec", "names", "plural", NULL})));
        assert_string_equal(str(at(up, (const char *const[]){"spec", "scope", NULL})),
                            str(at(ours, (const char *const[]){"spec", "scope", NULL})));
        assert_string_equal(
                str(at(up, (const char *const[]){"spec", "versions", "0", "name", NULL})),
                str(at(ours, (const char *const[]){"spec", "versions", "0", "name", NULL})));
        compare(&w, at(up, schema), at(ours, schema), "");
        if (w.bad)
                fail_msg("%d of %d upstream field paths differ:\n%s", w.bad, w.paths,
                         w.problems.buf);
        printf("all %d field paths of upstream's CRD exist in ours with the same type\n", w.paths);
        assert_true(w.paths > 2000);
        strbuf_free(&w.problems);
        cJSON_Delete(up);
        cJSON_Delete(ours);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_upstream_field_exists_with_the_same_type),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
