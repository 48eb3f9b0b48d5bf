/* SPDX-License-Identifier: Apache-2.0 */
#include "duration.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int duration_parse_ms(const char *s, long *ret_ms)
{
        static const struct {
                const char *unit;
                double ms;
        } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
        double total = 0;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "0") == 0) {
                *ret_ms = 0;
                return 0;
        }
        while (*s) {
                char *end;
                double v;
                size_t i;

                if (!(*s >= '0' && *s <= '9') && *s != '.')
                        return -EINVAL;
                errno = 0;
                v = strtod(s, &end);
                if (errno || end == s)
                        return -EINVAL;
                s = end;
                for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                        size_t n = strlen(units[i].unit);
                        /* "m" must not swallow the "m" of "ms" */
                        if (strncmp(s, units[i].unit, n) == 0 &&
                            !(n == 1 && s[0] == 'm' && s[1] == 's'))
                                break;
                }
                if (i == sizeof(units) / sizeof(units[0]))
                        return -EINVAL;
                total += v * units[i].ms;
                s += strlen(units[i].unit);
        }
        if (total > (double)LONG_MAX)
                return -EINVAL;
        *ret_ms = (long)total;
        return 0;
}
