/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strbuf.h"
#include "util/yaml.h"

static cJSON *parse1(const char *y)
{
        char err[256];
        cJSON *doc = NULL;
        int r = yaml_parse_one(y, strlen(y), "t.yaml", NULL, &doc, err, sizeof(err));

        if (r < 0)
                fail_msg("parse failed: %s", err);
        return doc;
}

static char *json(const cJSON *v)
{
        return cJSON_PrintUnformatted(v);
}

static void assert_yaml_json(const char *y, const char *expect)
{
        cJSON *doc = parse1(y);
        char *s = json(doc);

        assert_string_equal(s, expect);
        free(s);
        cJSON_Delete(doc);
}

static void test_scalars_resolve_like_kubectl(void **state)
{
        assert_yaml_json("a: 1\nb: -2\nc: 1.5\nd: true\ne: yes\nf: off\ng: ~\nh: null\ni: "
                         "hello\nj: \"1\"\nk: '2'\n",
                         "{\"a\":1,\"b\":-2,\"c\":1.5,\"d\":true,\"e\":true,\"f\":false,\"g\":null,"
                         "\"h\":null,"
                         "\"i\":\"hello\",\"j\":\"1\",\"k\":\"2\"}");
        assert_yaml_json(
                "a: 0x1F\nb: 0o17\nc: 017\nd: 1_000\ne: 1e3\nf: .5\ng: 1.2.3\nh: 0.0.0.0/0\n",
                "{\"a\":31,\"b\":15,\"c\":15,\"d\":1000,\"e\":1000,\"f\":0.5,\"g\":\"1.2.3\",\"h\":"
                "\"0.0.0.0/0\"}");
}

static void test_explicit_tags_win(void **state)
{
        assert_yaml_json("a: !!str 123\nb: !!int \"7\"\nc: !!bool \"true\"\n",
                         "{\"a\":\"123\",\"b\":7,\"c\":true}");
}

static void test_keys_are_always_strings(void **state)
{
        assert_yaml_json("1: a\ntrue: b\nnull: c\n", "{\"1\":\"a\",\"true\":\"b\",\"null\":\"c\"}");
}

static void test_sequences_and_nesting(void **state)
{
        assert_yaml_json(
                "spec:\n  args: [--a=1, \"--b\"]\n  list:\n  - name: x\n    v: {}\n  - []\n",
                "{\"spec\":{\"args\":[\"--a=1\",\"--b\"],\"list\":[{\"name\":\"x\",\"v\":{}},[]]}"
                "}");
}

static void test_block_scalars_keep_newlines(void **state)
{
        assert_yaml_json("a: |\n  line1\n  line2\nb: >\n  folded\n  text\n",
                         "{\"a\":\"line1\\nline2\\n\",\"b\":\"folded text\\n\"}");
}

static void test_anchors_aliases_and_merge_keys(void **state)
{
        assert_yaml_json("base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n",
                         "{\"base\":{\"x\":1,\"y\":2},\"use\":{\"x\":1,\"y\":2},\"merged\":{\"y\":"
                         "3,\"x\":1}}");
        /* a quoted "<<" is an ordinary key */
        assert_yaml_json("m:\n  \"<<\": {a: 1}\n", "{\"m\":{\"<<\":{\"a\":1}}}");
}

static void test_multi_document_stream_skips_empty(void **state)
{
        const char *y = "---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n";
        char err[256];
        cJSON *docs = NULL;

        assert_int_equal(yaml_parse_stream(y, strlen(y), "s.yaml", NULL, &docs, err, sizeof(err)),
                         0);
        assert_int_equal(cJSON_GetArraySize(docs), 2);
        cJSON_Delete(docs);
}

static void test_parse_one_rejects_several(void **state)
{
        const char *y = "a: 1\n---\nb: 2\n";
        char err[256];
        cJSON *doc = NULL;

        assert_int_equal(yaml_parse_one(y, strlen(y), "s.yaml", NULL, &doc, err, sizeof(err)),
                         -EINVAL);
        assert_null(doc);
        assert_non_null(strstr(err, "s.yaml"));
        assert_int_equal(yaml_parse_one("", 0, "e.yaml", NULL, &doc, err, sizeof(err)), -ENODATA);
}

static void test_syntax_error_names_file_and_line(void **state)
{
        const char *y = "a: 1\nb: [1, 2\nc: 3\n";
        char err[256];
        cJSON *doc = NULL;

        assert_int_equal(yaml_parse_one(y, strlen(y), "bad.yaml", NULL, &doc, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "bad.yaml: line "));
        assert_null(doc);
}

static void test_duplicate_keys_rejected(void **state)
{
        const char *y = "a: 1\na: 2\n";
        char err[256];
        cJSON *doc = NULL;

        assert_int_equal(yaml_parse_one(y, strlen(y), "dup.yaml", NULL, &doc, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "duplicate key \"a\""));
        assert_non_null(strstr(err, "line 2"));
}

static void test_complex_keys_rejected(void **state)
{
        const char *y = "? [a, b]\n: 1\n";
        char err[256];
        cJSON *doc = NULL;

        assert_int_equal(yaml_parse_one(y, strlen(y), "k.yaml", NULL, &doc, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "mapping keys must be scalars"));
}

static void test_alias_bomb_is_bounded(void **state)
{
        struct strbuf sb = {0};
        struct yaml_limits lim = {.max_nodes = 100000};
        char err[256];
        cJSON *doc = NULL;

        strbuf_puts(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++)
                strbuf_printf(
                        &sb,
                        "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                        i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        assert_int_equal(yaml_parse_one(sb.buf, sb.len, "bomb.yaml", &lim, &doc, err, sizeof(err)),
                         -E2BIG);
        assert_null(doc);
        assert_non_null(strstr(err, "too large"));
        strbuf_free(&sb);
}

static void test_deep_nesting_is_bounded(void **state)
{
        struct strbuf sb = {0};
        struct yaml_limits lim = {.max_depth = 50};
        char err[256];
        cJSON *doc = NULL;

        for (int i = 0; i < 60; i++)
                strbuf_puts(&sb, "[");
        for (int i = 0; i < 60; i++)
                strbuf_puts(&sb, "]");
        assert_int_equal(yaml_parse_one(sb.buf, sb.len, "deep.yaml", &lim, &doc, err, sizeof(err)),
                         -E2BIG);
        assert_non_null(strstr(err, "nesting too deep"));
        strbuf_free(&sb);
}

static void test_unknown_alias_rejected(void **state)
{
        char err[256];
        cJSON *doc = NULL;

        assert_int_equal(yaml_parse_one("a: *nope\n", 9, "x.yaml", NULL, &doc, err, sizeof(err)),
                         -EINVAL);
}

static void test_emit_roundtrips_ambiguous_strings(void **state)
{
        const char *y = "a: \"1\"\nb: \"true\"\nc: \"null\"\nd: plain\ne: 5\nf: [\"yes\", {}]\ng: "
                        "\"x\\ny\\n\"\n\"on\": 1\n";
        cJSON *doc = parse1(y), *back;
        const cJSON *docs[1] = {doc};
        char *out, *j1, *j2;

        assert_int_equal(yaml_emit(docs, 1, &out), 0);
        back = parse1(out);
        j1 = json(doc);
        j2 = json(back);
        assert_string_equal(j1, j2);
        free(out);
        free(j1);
        free(j2);
        cJSON_Delete(doc);
        cJSON_Delete(back);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scalars_resolve_like_kubectl),
                cmocka_unit_test(test_explicit_tags_win),
                cmocka_unit_test(test_keys_are_always_strings),
                cmocka_unit_test(test_sequences_and_nesting),
                cmocka_unit_test(test_block_scalars_keep_newlines),
                cmocka_unit_test(test_anchors_aliases_and_merge_keys),
                cmocka_unit_test(test_multi_document_stream_skips_empty),
                cmocka_unit_test(test_parse_one_rejects_several),
                cmocka_unit_test(test_syntax_error_names_file_and_line),
                cmocka_unit_test(test_duplicate_keys_rejected),
                cmocka_unit_test(test_complex_keys_rejected),
                cmocka_unit_test(test_alias_bomb_is_bounded),
                cmocka_unit_test(test_deep_nesting_is_bounded),
                cmocka_unit_test(test_unknown_alias_rejected),
                cmocka_unit_test(test_emit_roundtrips_ambiguous_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
