/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics of each instance, read from its status (the informer's cache) at every scrape,
 * so a deleted instance's series go with it:
 *   karmada_operator_karmada_status_condition{namespace,karmada,type,status,reason} 1
 *   karmada_operator_certificate_expiration_timestamp_seconds{namespace,karmada,certificate}
 *   karmada_operator_certificate_renewal_timestamp_seconds{namespace,karmada,certificate}
 * (renewal: the leaves only; a CA is rotated on request). */
#include <stdio.h>
#include <time.h>

#include "internal.h"
#include "runtime/metrics.h"
#include "runtime/informer.h"
#include "runtime/store.h"
#include "util/json.h"
#include "util/timeutil.h"

static void set_time(struct metric_family *f, const char *const *labels, const char *when)
{
        time_t t;

        if (when && time_parse_rfc3339(when, &t) == 0)
                metric_set(f, labels, (double)t);
}

static void collect_certificates(struct kctl *kc, const cJSON *obj)
{
        const cJSON *e;

        cJSON_ArrayForEach (e, json_at(obj, "status", "certificates")) {
                const char *labels[] = {json_str(obj, "metadata", "namespace"),
                                        json_str(obj, "metadata", "name"),
                                        json_str(e, "name", NULL), NULL};
                if (!labels[0] || !labels[1] || !labels[2])
                        continue;
                set_time(kc->m_cert_expiry, labels, json_str(e, "notAfter", NULL));
                set_time(kc->m_cert_renewal, labels, json_str(e, "renewAt", NULL));
        }
}

static void collect_conditions(struct kctl *kc, const cJSON *obj)
{
        const cJSON *c;

        cJSON_ArrayForEach (c, json_at(obj, "status", "conditions")) {
                const char *labels[] = {json_str(obj, "metadata", "namespace"),
                                        json_str(obj, "metadata", "name"),
                                        json_str(c, "type", NULL),
                                        json_str(c, "status", NULL),
                                        json_str(c, "reason", NULL) ?: "",
                                        NULL};
                if (labels[0] && labels[1] && labels[2] && labels[3])
                        metric_set(kc->m_condition, labels, 1);
        }
}

static void collect(void *userdata, struct metrics *m)
{
        struct kctl *kc = userdata;
        struct kobj **list = NULL;
        size_t n = 0;

        (void)m;
        metric_reset(kc->m_condition);
        metric_reset(kc->m_cert_expiry);
        metric_reset(kc->m_cert_renewal);
        if (store_list(informer_store(kc->karmadas), &list, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                collect_conditions(kc, kobj_json(list[i]));
                collect_certificates(kc, kobj_json(list[i]));
        }
        store_list_free(list, n);
}

int instance_metrics(struct kctl *kc, struct metrics *m)
{
        static const char *const cert[] = {"namespace", "karmada", "certificate", NULL};
        static const char *const cond[] = {"namespace", "karmada", "type",
                                           "status",    "reason",  NULL};

        kc->m_condition = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_karmada_status_condition",
                "Each condition of an instance's status, with its status and reason (always 1).",
                cond, NULL, 0);
        kc->m_cert_expiry = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_certificate_expiration_timestamp_seconds",
                "When each certificate of an instance expires (its notAfter), in seconds since "
                "the epoch.",
                cert, NULL, 0);
        kc->m_cert_renewal = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_certificate_renewal_timestamp_seconds",
                "When the operator renews each leaf certificate of an instance (two thirds of "
                "its lifetime), in seconds since the epoch.",
                cert, NULL, 0);
        if (!kc->m_condition || !kc->m_cert_expiry || !kc->m_cert_renewal)
                return -1;
        return metrics_add_collector(m, collect, kc);
}
