/* SPDX-License-Identifier: Apache-2.0 */
#include "backup_metrics.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "runtime/store.h"
#include "util/json.h"
#include "util/timeutil.h"

static const char *completed_at(const cJSON *b)
{
        return strcmp(json_str(b, "status", "phase") ?: "", "Completed") == 0
                       ? json_str(b, "status", "stopTime")
                       : NULL;
}

/* The newest Completed backup of each instance: its stop time and size (the first of equal
 * stop times wins) */
static void collect_backups(struct backup_metrics *bm, struct kobj **list, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const cJSON *b = kobj_json(list[i]);
                const char *labels[] = {json_str(b, "metadata", "namespace"),
                                        json_str(json_at(b, "spec", "karmadaRef"), "name", NULL),
                                        NULL};
                double newest, size = cJSON_GetNumberValue(json_at(b, "status", "size"));
                time_t t;

                if (!labels[0] || !labels[1] || time_parse_rfc3339(completed_at(b), &t) < 0 ||
                    (metric_get(bm->last, labels, &newest) && newest >= (double)t))
                        continue;
                metric_set(bm->last, labels, (double)t);
                if (!isnan(size))
                        metric_set(bm->size, labels, size);
        }
}

static void collect_schedules(struct backup_metrics *bm, struct kobj **list, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const cJSON *s = kobj_json(list[i]);
                const cJSON *ref = json_at(json_at(s, "spec", "template"), "spec", "karmadaRef");
                const char *labels[] = {json_str(s, "metadata", "namespace"),
                                        json_str(s, "metadata", "name"),
                                        json_str(ref, "name", NULL), NULL};
                time_t t;

                if (!labels[0] || !labels[1] || !labels[2] ||
                    cJSON_IsTrue(json_at(s, "spec", "suspend")))
                        continue;
                if (time_parse_rfc3339(json_str(s, "status", "lastScheduleTime"), &t) == 0)
                        metric_set(bm->sched_last, labels, (double)t);
                if (time_parse_rfc3339(json_str(s, "status", "nextScheduleTime"), &t) == 0)
                        metric_set(bm->sched_next, labels, (double)t);
        }
}

static void collect(void *userdata, struct metrics *m)
{
        struct backup_metrics *bm = userdata;
        struct kobj **list = NULL;
        size_t n = 0;

        (void)m;
        metric_reset(bm->last);
        metric_reset(bm->size);
        metric_reset(bm->sched_last);
        metric_reset(bm->sched_next);
        if (store_list(informer_store(bm->backups), &list, &n) == 0) {
                collect_backups(bm, list, n);
                store_list_free(list, n);
        }
        if (store_list(informer_store(bm->schedules), &list, &n) == 0) {
                collect_schedules(bm, list, n);
                store_list_free(list, n);
        }
}

int backup_metrics_setup(struct backup_metrics *bm, struct metrics *m)
{
        static const char *const inst[] = {"namespace", "karmada", NULL};
        static const char *const sched[] = {"namespace", "schedule", "karmada", NULL};

        bm->last = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_backup_last_success_timestamp_seconds",
                "When the newest Completed backup of an instance finished (Unix time).", inst, NULL,
                0);
        bm->size = metrics_family(m, METRIC_GAUGE, "karmada_operator_backup_size_bytes",
                                  "Size of the newest Completed backup's snapshot of an instance.",
                                  inst, NULL, 0);
        bm->sched_last = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_backup_schedule_last_timestamp_seconds",
                "When a schedule (not suspended) last took a backup (Unix time).", sched, NULL, 0);
        bm->sched_next = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_backup_schedule_next_timestamp_seconds",
                "When a schedule (not suspended) takes its next backup (Unix time).", sched, NULL,
                0);
        if (!bm->last || !bm->size || !bm->sched_last || !bm->sched_next)
                return -ENOMEM;
        return metrics_add_collector(m, collect, bm) < 0 ? -ENOMEM : 0;
}
