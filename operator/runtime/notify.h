/* SPDX-License-Identifier: Apache-2.0 */
/* systemd service notifications (sd_notify); silent no-ops outside systemd. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

void notify_ready(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Microseconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), 0 when not asked for. */
uint64_t notify_watchdog_interval_usec(void);
void notify_watchdog(void);
