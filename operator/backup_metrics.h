/* SPDX-License-Identifier: Apache-2.0 */
/* The backup metrics read from the cache at every scrape (so they survive a restart and go with
 * their objects):
 *   karmada_operator_backup_last_success_timestamp_seconds{namespace,karmada}
 *   karmada_operator_backup_size_bytes{namespace,karmada}   (that backup's snapshot)
 *   karmada_operator_backup_schedule_last_timestamp_seconds{namespace,schedule,karmada}
 *   karmada_operator_backup_schedule_next_timestamp_seconds{namespace,schedule,karmada}
 * (schedules: those not suspended; last: when it last took a backup). */
#pragma once

struct informer;
struct metrics;
struct metric_family;

struct backup_metrics {
        struct informer *backups, *schedules;
        struct metric_family *last, *size, *sched_last, *sched_next;
};

/* Register the families and their collector; bm lives as long as the metrics. -ENOMEM. */
int backup_metrics_setup(struct backup_metrics *bm, struct metrics *m);
