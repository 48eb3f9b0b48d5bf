/* SPDX-License-Identifier: Apache-2.0 */
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
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

struct timespec time_realtime_after_ns(long long ns)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec += (long)(ns % 1000000000LL);
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}

int time_parse_rfc3339(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *p;
        int off = 0;

        if (!s)
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
                off = 0;
        } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
                   isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
                   isdigit((unsigned char)p[5]) && p[6] == '\0') {
                off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
                      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
                if (*p == '-')
                        off = -off;
        } else {
                return -EINVAL;
        }
        *ret = timegm(&tm) - off;
        return 0;
}

void time_format_rfc3339(time_t t, char buf[TIME_RFC3339_MAX])
{
        struct tm tm;

        gmtime_r(&t, &tm);
        snprintf(buf, TIME_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
