/* SPDX-License-Identifier: Apache-2.0 */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

void notify_ready(void)
{
        sd_notify(0, "READY=1");
}

void notify_stopping(void)
{
        sd_notify(0, "STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        sd_notifyf(0, "STATUS=%s", buf);
}

uint64_t notify_watchdog_interval_usec(void)
{
        uint64_t usec = 0;

        if (sd_watchdog_enabled(0, &usec) <= 0)
                return 0;
        return usec / 2;
}

void notify_watchdog(void)
{
        sd_notify(0, "WATCHDOG=1");
}
