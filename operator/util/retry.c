/* SPDX-License-Identifier: Apache-2.0 */
#include "retry.h"

#include <errno.h>
#include <stdlib.h>

long retry_delay_ms(int attempt, long retry_after_s, double jitter)
{
        long base;

        if (retry_after_s >= 0)
                return (retry_after_s > 30 ? 30 : retry_after_s) * 1000;
        base = 200;
        for (int i = 0; i < attempt && base < 5000; i++)
                base *= 2;
        if (base > 5000)
                base = 5000;
        if (jitter < 0)
                jitter = 0;
        if (jitter >= 1)
                jitter = 0.999;
        return base + (long)((double)base * 0.25 * jitter);
}

long retry_parse_after(const char *value)
{
        char *end;
        long v;

        if (!value)
                return -1;
        while (*value == ' ' || *value == '\t')
                value++;
        if (*value < '0' || *value > '9')
                return -1;
        errno = 0;
        v = strtol(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
                end++;
        if (errno || *end)
                return -1;
        return v;
}
