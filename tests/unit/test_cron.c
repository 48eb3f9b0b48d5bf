/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/cron.h"

static time_t at(const char *iso) /* "2026-11-28 13:07" UTC */
{
        struct tm tm = {0};

        if (!strptime(iso, "%Y-%m-%d %H:%M", &tm))
                fail_msg("bad time %s", iso);
        return timegm(&tm);
}

static void expect_next(const char *spec, const char *from, const char *want)
{
        struct cron c;
        char err[256] = "", got[32];
        time_t t;
        struct tm tm;

        if (cron_parse(spec, &c, err, sizeof(err)) < 0)
                fail_msg("%s: %s", spec, err);
        t = cron_next(&c, at(from));
        if (t < 0)
                fail_msg("%s after %s: none", spec, from);
        gmtime_r(&t, &tm);
        strftime(got, sizeof(got), "%Y-%m-%d %H:%M", &tm);
        if (strcmp(got, want) != 0)
                fail_msg("%s after %s: got %s, want %s", spec, from, got, want);
}

static void test_next(void **state)
{
        (void)state;
        expect_next("*/15 * * * *", "2026-11-28 13:07", "2026-11-28 13:15");
        expect_next("*/15 * * * *", "2026-11-28 13:15", "2026-11-28 13:30"); /* strictly after */
        expect_next("0 3 * * *", "2026-11-28 13:07", "2026-11-29 03:00");
        expect_next("30 2 1 * *", "2026-12-05 00:00", "2027-01-01 02:30");       /* year wraps */
        expect_next("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00");       /* leap day */
        expect_next("0 12 * * mon-fri", "2026-11-28 13:07", "2026-11-30 12:00"); /* Sat -> Mon */
        expect_next("0 0 * * 7", "2026-11-28 13:07", "2026-11-29 00:00");        /* 7 is Sunday */
        expect_next("0 0 13 * fri", "2026-11-28 13:07", "2026-12-04 00:00"); /* either day field */
        expect_next("5/20 8-10 * jan,nov *", "2026-11-28 10:50", "2026-11-29 08:05");
        expect_next("5/20 8-10 * jan,nov *", "2026-11-30 10:45", "2027-01-01 08:05");
        expect_next("@hourly", "2026-11-28 13:07", "2026-11-28 14:00");
        expect_next("@weekly", "2026-11-28 13:07", "2026-11-29 00:00");
        expect_next("1,2,58 * * * *", "2026-11-28 23:59", "2026-11-29 00:01");
        expect_next("@every 90m", "2026-11-28 13:07", "2026-11-28 14:37");
}

static void test_every(void **state)
{
        struct cron c;
        char err[256];

        (void)state;
        assert_int_equal(cron_parse("@every 2s", &c, err, sizeof(err)), 0);
        assert_int_equal(cron_next(&c, 1000), 1002); /* seconds, not whole minutes */
        assert_int_equal(cron_parse("@every 1m30s", &c, err, sizeof(err)), 0);
        assert_int_equal(cron_next(&c, 1000), 1090);
}

static void test_never(void **state)
{
        struct cron c;
        char err[256];

        (void)state;
        assert_int_equal(cron_parse("0 0 30 2 *", &c, err, sizeof(err)), 0);
        assert_int_equal(cron_next(&c, at("2026-01-01 00:00")), -1);
}

static void test_invalid(void **state)
{
        static const char *const bad[][2] = {
                {"* * * *", "5 fields"},
                {"* * * * * *", "5 fields"},
                {"60 * * * *", "minute"},
                {"* 24 * * *", "hour"},
                {"* * 0 * *", "day of month"},
                {"* * * 13 *", "month"},
                {"* * * * 8", "day of week"},
                {"*/0 * * * *", "minute"},
                {"5-1 * * * *", "minute"},
                {"* * * foo *", "month"},
                {"1,,2 * * * *", "minute"},
                {"*/ * * * *", "minute"},
                {"", "5 fields"},
                {"@sometimes", "5 fields"},
                {"@every 500ms", "at least 1s"},
                {"@every", "5 fields"},
                {"@every soon", "@every <duration>"},
        };
        struct cron c;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char err[256] = "";
                if (cron_parse(bad[i][0], &c, err, sizeof(err)) != -EINVAL)
                        fail_msg("\"%s\" accepted", bad[i][0]);
                if (!strstr(err, bad[i][1]))
                        fail_msg("\"%s\": error \"%s\" lacks \"%s\"", bad[i][0], err, bad[i][1]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_next),
                cmocka_unit_test(test_never),
                cmocka_unit_test(test_every),
                cmocka_unit_test(test_invalid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
