/* SPDX-License-Identifier: Apache-2.0 */
#include "procmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long sum_field(const char *path, const char *field)
{
        size_t n = strlen(field);
        char line[256];
        long kib = 0;
        FILE *f = fopen(path, "re");

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, field, n) == 0)
                        kib += strtol(line + n, NULL, 10);
        if (f)
                fclose(f);
        return kib;
}

long procmem_rss_kib(void)
{
        return sum_field("/proc/self/status", "VmRSS:");
}

long procmem_private_dirty_kib(void)
{
        return sum_field("/proc/self/smaps_rollup", "Private_Dirty:");
}
