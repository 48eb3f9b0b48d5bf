/* SPDX-License-Identifier: Apache-2.0 */
/* Which backups a schedule's retention removes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct backup_spec_item {
        const char *name;
        long long created; /* Unix seconds */
        bool succeeded;
        bool remove; /* out */
};

/* Mark remove on the items to delete (in any order): successful backups beyond the keep_last
 * newest (0: no limit) or older than max_age_s (0: no limit), and failed ones older than the
 * newest success; the newest successful backup is never removed. Returns how many. */
size_t retention_select(struct backup_spec_item *items, size_t n, unsigned keep_last,
                        long long max_age_s, long long now);
