/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules (the five fields of crontab(5), as Kubernetes CronJobs take them): minute,
 * hour, day of month, month, day of week; each "*", a number, a range "a-b", a list "a,b" and
 * a step "/n" on any of those; month and weekday names (jan, mon); the macros @yearly
 * (@annually), @monthly, @weekly, @daily (@midnight), @hourly, and "@every <duration>" (Go
 * syntax, at least 1s: every so long after the last time). As in Vixie cron, when both day
 * fields are restricted a day matches either. All times are UTC. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cron {
        uint64_t minute; /* bit n: minute n */
        uint32_t hour;
        uint32_t mday;  /* bits 1..31 */
        uint16_t month; /* bits 1..12 */
        uint8_t wday;   /* bits 0..6, Sunday 0 (7 is read as 0) */
        bool mday_star, wday_star;
        long every_s; /* @every: the interval; the fields above are unused */
};

/* Parse spec; -EINVAL with err naming the field and what is wrong. */
int cron_parse(const char *spec, struct cron *c, char *err, size_t errlen);
/* The first time strictly after `after` that matches (whole minutes), or -1 when there is none
 * within 5 years (e.g. "0 0 30 2 *"). */
time_t cron_next(const struct cron *c, time_t after);
