/* SPDX-License-Identifier: Apache-2.0 */
#include "timeutil.h"

#include <stdio.h>
#include <time.h>

void time_now_rfc3339(char buf[TIME_RFC3339_MAX], int digits)
{
        struct timespec ts;
        struct tm tm;
        char frac[16] = "";

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        if (digits == 3)
                snprintf(frac, sizeof(frac), ".%03d", (int)(ts.tv_nsec / 1000000));
        else if (digits == 6)
                snprintf(frac, sizeof(frac), ".%06d", (int)(ts.tv_nsec / 1000));
        snprintf(buf, TIME_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

long long time_mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long time_mono_ms(void)
{
        return time_mono_ns() / 1000000;
}
