/* SPDX-License-Identifier: Apache-2.0 */
#include "retention.h"

size_t retention_select(struct backup_spec_item *items, size_t n, unsigned keep_last,
                        long long max_age_s, long long now)
{
        const struct backup_spec_item *newest = NULL;
        size_t removed = 0;

        for (size_t i = 0; i < n; i++)
                if (items[i].succeeded && (!newest || items[i].created > newest->created))
                        newest = &items[i];
        for (size_t i = 0; i < n; i++) {
                struct backup_spec_item *it = &items[i];
                unsigned newer = 0;

                it->remove = false;
                if (it == newest)
                        continue;
                if (!it->succeeded) {
                        it->remove = newest && it->created < newest->created;
                } else {
                        for (size_t j = 0; j < n;
                             j++) /* successes newer than it (ties: by index) */
                                newer += items[j].succeeded &&
                                         (items[j].created > it->created ||
                                          (items[j].created == it->created && j < i));
                        it->remove = (keep_last && newer >= keep_last) ||
                                     (max_age_s && now - it->created > max_age_s);
                }
                removed += it->remove;
        }
        return removed;
}
