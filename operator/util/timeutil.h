/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <time.h>

#define TIME_RFC3339_MAX 64

/* The current UTC time as RFC 3339 with `digits` fractional digits (0, 3 or 6):
 * "2026-11-28T00:00:00.000000Z" (Kubernetes MicroTime with 6). buf holds TIME_RFC3339_MAX. */
void time_now_rfc3339(char buf[TIME_RFC3339_MAX], int digits);
/* Monotonic clock in nanoseconds and milliseconds. */
long long time_mono_ns(void);
long long time_mono_ms(void);
/* CLOCK_REALTIME ns from now: the absolute deadline pthread_cond_timedwait() takes */
struct timespec time_realtime_after_ns(long long ns);
/* Parse RFC 3339 as Kubernetes writes it ("2026-11-28T06:00:00Z", fractional seconds and a
 * numeric offset allowed) into Unix seconds; -EINVAL otherwise. */
int time_parse_rfc3339(const char *s, time_t *ret);
/* Format t as "2026-11-28T06:00:00Z"; buf holds TIME_RFC3339_MAX. */
void time_format_rfc3339(time_t t, char buf[TIME_RFC3339_MAX]);
