/* SPDX-License-Identifier: Apache-2.0 */
/* The registry's output, checked by a strict parser of the exposition format; and the parser
 * itself rejects what Prometheus would reject. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promparse.h"
#include "runtime/metrics.h"

static void render_and_parse(struct metrics *m, struct prom_doc *d, char **text)
{
        struct strbuf sb = {0};
        char err[256];

        assert_int_equal(metrics_render(m, &sb), 0);
        if (prom_parse(sb.buf ? sb.buf : "", d, err, sizeof(err)) < 0)
                fail_msg("%s\n%s", err, sb.buf);
        *text = sb.buf;
}

static void set_gauge(void *userdata, struct metrics *m)
{
        metric_set(userdata, NULL, 42);
}

static void test_counters_gauges_histograms(void **state)
{
        struct metrics *m = metrics_new();
        static const char *const lbl[] = {"controller", "result", NULL};
        static const double buckets[] = {0.1, 1, 10};
        struct metric_family *c, *g, *h, *col;
        struct prom_doc d;
        double v;
        char *text;

        c = metrics_family(m, METRIC_COUNTER, "reconcile_total", "Total reconciles.", lbl, NULL, 0);
        g = metrics_family(m, METRIC_GAUGE, "depth", "Queue depth.",
                           (const char *const[]){"name", NULL}, NULL, 0);
        h = metrics_family(m, METRIC_HISTOGRAM, "duration_seconds", "How long.",
                           (const char *const[]){"controller", NULL}, buckets, 3);
        col = metrics_family(m, METRIC_GAUGE, "collected", "Set by a collector.", NULL, NULL, 0);
        assert_ptr_equal(
                metrics_family(m, METRIC_COUNTER, "reconcile_total", "again", lbl, NULL, 0), c);
        assert_null(metrics_family(m, METRIC_GAUGE, "reconcile_total", "other type", lbl, NULL, 0));
        metrics_add_collector(m, set_gauge, col);
        metric_add(c, (const char *const[]){"karmada", "success"}, 1);
        metric_add(c, (const char *const[]){"karmada", "success"}, 2);
        metric_add(c, (const char *const[]){"karmada", "error"}, 1);
        metric_set(g, (const char *const[]){"q\"uoted\\back\nline"}, 7);
        metric_observe(h, (const char *const[]){"karmada"}, 0.05);
        metric_observe(h, (const char *const[]){"karmada"}, 0.5);
        metric_observe(h, (const char *const[]){"karmada"}, 5);
        metric_observe(h, (const char *const[]){"karmada"}, 50);
        render_and_parse(m, &d, &text);
        assert_true(
                prom_value(&d, "reconcile_total", "controller=\"karmada\",result=\"success\"", &v));
        assert_true(v == 3);
        assert_true(prom_value(&d, "duration_seconds_count", "controller=\"karmada\"", &v));
        assert_true(v == 4);
        assert_true(prom_value(&d, "duration_seconds_sum", "controller=\"karmada\"", &v));
        assert_true(fabs(v - 55.55) < 1e-9);
        assert_true(prom_value(&d, "depth", "name=\"q\"uoted\\back\nline\"", &v));
        assert_true(v == 7);
        assert_true(prom_value(&d, "collected", "", &v));
        assert_true(v == 42);
        assert_non_null(
                strstr(text, "duration_seconds_bucket{controller=\"karmada\",le=\"0.1\"} 1\n"));
        assert_non_null(
                strstr(text, "duration_seconds_bucket{controller=\"karmada\",le=\"10\"} 3\n"));
        assert_non_null(
                strstr(text, "duration_seconds_bucket{controller=\"karmada\",le=\"+Inf\"} 4\n"));
        assert_non_null(strstr(text, "depth{name=\"q\\\"uoted\\\\back\\nline\"} 7\n"));
        prom_doc_free(&d);
        free(text);
        metric_reset(g);
        render_and_parse(m, &d, &text);
        assert_false(prom_value(&d, "depth", "name=\"q\"uoted\\back\nline\"", &v));
        prom_doc_free(&d);
        free(text);
        metrics_free(m);
}

static void reset_and_set(void *userdata, struct metrics *m)
{
        metric_reset(userdata);
        metric_set(userdata, (const char *const[]){"a"}, 1);
}

/* A family a collector resets is made at each scrape: written, then dropped, made again. One
 * another code sets (never reset) is kept. */
static void test_collected_series_are_dropped_once_written(void **state)
{
        struct metrics *m = metrics_new();
        struct metric_family *col, *kept;
        struct prom_doc d;
        double v;
        char *text;

        col = metrics_family(m, METRIC_GAUGE, "per_instance", "Made by a collector.",
                             (const char *const[]){"name", NULL}, NULL, 0);
        kept = metrics_family(m, METRIC_GAUGE, "kept", "Set once.", NULL, NULL, 0);
        metrics_add_collector(m, reset_and_set, col);
        metric_set(kept, NULL, 3);
        for (int i = 0; i < 2; i++) {
                render_and_parse(m, &d, &text);
                assert_true(prom_value(&d, "per_instance", "name=\"a\"", &v));
                assert_true(v == 1);
                assert_true(prom_value(&d, "kept", "", &v));
                prom_doc_free(&d);
                free(text);
                assert_false(metric_get(col, (const char *const[]){"a"}, &v));
                assert_true(metric_get(kept, NULL, &v));
        }
        metrics_free(m);
}

static void expect_rejected(const char *text, const char *why)
{
        struct prom_doc d;
        char err[256] = "";

        if (prom_parse(text, &d, err, sizeof(err)) == 0)
                fail_msg("accepted: %s", text);
        if (!strstr(err, why))
                fail_msg("error '%s' lacks '%s'", err, why);
}

/* metric_get reads a series without making it; a reset gauge has none */
static void test_get(void **state)
{
        struct metrics *m = metrics_new();
        struct metric_family *g = metrics_family(m, METRIC_GAUGE, "last", "Last time.",
                                                 (const char *const[]){"name", NULL}, NULL, 0);
        const char *const a[] = {"a"}, *const b[] = {"b"};
        struct strbuf out = {0};
        double v = -1;

        (void)state;
        assert_false(metric_get(g, a, &v));
        metric_set(g, a, 42);
        assert_true(metric_get(g, a, &v));
        assert_true(v == 42);
        assert_false(metric_get(g, b, &v));
        assert_int_equal(metrics_render(m, &out), 0);
        assert_null(strstr(out.buf, "name=\"b\"")); /* the miss made no series */
        metric_reset(g);
        assert_false(metric_get(g, a, &v));
        assert_false(metric_get(NULL, a, &v));
        strbuf_free(&out);
        metrics_free(m);
}

static void test_strict_parser_rejects_bad_exposition(void **state)
{
        expect_rejected("a 1\n", "without a TYPE");
        expect_rejected("# TYPE a counter\na 1", "no newline");
        expect_rejected("# TYPE a counter\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "duplicate series");
        expect_rejected("# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n", "not together");
        expect_rejected("# TYPE a gauge\na{x=1} 1\n", "want =\"");
        expect_rejected("# TYPE a gauge\na{__x=\"1\"} 1\n", "bad label name");
        expect_rejected("# TYPE a gauge\na one\n", "bad value");
        expect_rejected("# TYPE a counter\na -1\n", "negative counter");
        expect_rejected("# TYPE a gauge\n# TYPE a gauge\n", "second TYPE");
        expect_rejected("# TYPE a wrong\n", "unknown type");
        expect_rejected("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
                        "no +Inf");
        expect_rejected("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum "
                        "1\nh_count 1\n",
                        "decrease");
        expect_rejected("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
                        "!= count");
        expect_rejected("# TYPE a gauge\na{le=\"1\"} 1\n", "le label outside");
        expect_rejected("# TYPE a gauge\na{x=\"\\t\"} 1\n", "bad escape");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_counters_gauges_histograms),
                cmocka_unit_test(test_get),
                cmocka_unit_test(test_collected_series_are_dropped_once_written),
                cmocka_unit_test(test_strict_parser_rejects_bad_exposition),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
