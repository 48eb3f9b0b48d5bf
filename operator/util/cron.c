/* SPDX-License-Identifier: Apache-2.0 */
#include "cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field {
        const char *name;
        int min, max;
        const char *const *names; /* names[i] is min + i */
        int n_names;
};

static const struct field fields[5] = {
        {"minute", 0, 59, NULL, 0},       {"hour", 0, 23, NULL, 0},
        {"day of month", 1, 31, NULL, 0}, {"month", 1, 12, months, 12},
        {"day of week", 0, 7, days, 7},
};

/* a number or a name of f at *s; advances *s */
static int value(const struct field *f, const char **s, int *v)
{
        const char *p = *s;

        if (isdigit((unsigned char)*p)) {
                long n = 0;
                for (; isdigit((unsigned char)*p) && n <= 1000; p++)
                        n = n * 10 + (*p - '0');
                *v = (int)n;
        } else {
                int i;
                for (i = 0; i < f->n_names; i++)
                        if (strncasecmp(p, f->names[i], 3) == 0 && !isalpha((unsigned char)p[3]))
                                break;
                if (i == f->n_names)
                        return -EINVAL;
                *v = f->min + i;
                p += 3;
        }
        if (*v < f->min || *v > f->max)
                return -ERANGE;
        *s = p;
        return 0;
}

/* one comma-separated field into a bit set */
static int parse_field(const struct field *f, const char *s, uint64_t *bits, bool *star)
{
        *bits = 0;
        *star = strcmp(s, "*") == 0 || strcmp(s, "?") == 0;
        for (;;) {
                int lo, hi, step = 1, r;
                bool single = false;

                if (*s == '*' || *s == '?') {
                        lo = f->min, hi = f->max;
                        s++;
                } else {
                        if ((r = value(f, &s, &lo)) < 0)
                                return r;
                        hi = lo, single = true;
                        if (*s == '-') {
                                s++;
                                if ((r = value(f, &s, &hi)) < 0)
                                        return r;
                                if (hi < lo)
                                        return -EINVAL;
                                single = false;
                        }
                }
                if (*s == '/') {
                        const struct field num = {f->name, 1, f->max, NULL, 0};
                        s++;
                        if (!isdigit((unsigned char)*s) || value(&num, &s, &step) < 0)
                                return -EINVAL;
                        if (single)
                                hi = f->max; /* "5/15": from 5 to the end */
                }
                if (lo < 0 || hi > 63)
                        return -ERANGE;
                for (int v = lo; v <= hi; v += step)
                        *bits |= 1ULL << v;
                if (*s == '\0')
                        return 0;
                if (*s != ',')
                        return -EINVAL;
                s++;
        }
}

int cron_parse(const char *spec, struct cron *c, char *err, size_t errlen)
{
        static const struct {
                const char *macro, *spec;
        } macros[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
                      {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                      {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                      {"@hourly", "0 * * * *"}};
        char buf[256], *tok[6], *save = NULL;
        uint64_t bits[5];
        bool star[5];
        int n = 0;

        if (!spec) {
                snprintf(err, errlen, "empty schedule");
                return -EINVAL;
        }
        if (strncmp(spec, "@every ", 7) == 0) {
                long ms;
                if (duration_parse_ms(spec + 7, &ms) < 0 || ms < 1000) {
                        snprintf(err, errlen, "\"%s\": want @every <duration> of at least 1s",
                                 spec);
                        return -EINVAL;
                }
                *c = (struct cron){.every_s = ms / 1000};
                return 0;
        }
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
                if (strcmp(spec, macros[i].macro) == 0)
                        spec = macros[i].spec;
        if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf)) {
                snprintf(err, errlen, "schedule too long");
                return -EINVAL;
        }
        for (char *t = strtok_r(buf, " \t", &save); t && n < 6; t = strtok_r(NULL, " \t", &save))
                tok[n++] = t;
        if (n != 5) {
                snprintf(err, errlen,
                         "\"%s\": want 5 fields (minute hour day-of-month month day-of-week)",
                         spec);
                return -EINVAL;
        }
        for (int i = 0; i < 5; i++) {
                int r = parse_field(&fields[i], tok[i], &bits[i], &star[i]);
                if (r < 0) {
                        snprintf(err, errlen, "\"%s\": %s field \"%s\": %s", spec, fields[i].name,
                                 tok[i], r == -ERANGE ? "out of range" : "not understood");
                        return -EINVAL;
                }
        }
        if (bits[4] & (1ULL << 7))
                bits[4] = (bits[4] | 1) & 0x7f; /* 7 is Sunday too */
        *c = (struct cron){.minute = bits[0],
                           .hour = (uint32_t)bits[1],
                           .mday = (uint32_t)bits[2],
                           .month = (uint16_t)bits[3],
                           .wday = (uint8_t)bits[4],
                           .mday_star = star[2],
                           .wday_star = star[4]};
        return 0;
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
        bool md = c->mday & (1U << tm->tm_mday), wd = c->wday & (1U << tm->tm_wday);

        if (c->mday_star || c->wday_star)
                return md && wd;
        return md || wd;
}

time_t cron_next(const struct cron *c, time_t after)
{
        time_t t = after - after % 60 + 60, end = after + (time_t)5 * 366 * 24 * 3600;
        struct tm tm;

        if (c->every_s)
                return after + (time_t)c->every_s;

        while (t <= end) {
                if (!gmtime_r(&t, &tm))
                        return -1;
                if (!(c->month & (1U << (tm.tm_mon + 1)))) { /* to the next month's start */
                        tm.tm_mon++, tm.tm_mday = 1, tm.tm_hour = 0, tm.tm_min = 0;
                } else if (!day_matches(c, &tm)) {
                        tm.tm_mday++, tm.tm_hour = 0, tm.tm_min = 0;
                } else if (!(c->hour & (1U << tm.tm_hour))) {
                        tm.tm_hour++, tm.tm_min = 0;
                } else if (!(c->minute & (1ULL << tm.tm_min))) {
                        tm.tm_min++;
                } else {
                        return t;
                }
                tm.tm_sec = 0;
                t = timegm(&tm);
        }
        return -1;
}
