/* SPDX-License-Identifier: Apache-2.0 */
/* The metric karmada_operator_certificate_expiration_timestamp_seconds: each instance's
 * certificates, read from their status.certificates (the informer's cache) at every scrape, so
 * a deleted instance's series go with it. */
#include <stdio.h>
#include <time.h>

#include "internal.h"
#include "runtime/metrics.h"
#include "runtime/informer.h"
#include "runtime/store.h"
#include "util/json.h"
#include "util/timeutil.h"

static void collect(void *userdata, struct metrics *m)
{
        struct kctl *kc = userdata;
        struct kobj **list = NULL;
        size_t n = 0;

        (void)m;
        metric_reset(kc->m_cert_expiry);
        if (store_list(informer_store(kc->karmadas), &list, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                const cJSON *e;
                cJSON_ArrayForEach (e, json_at(list[i]->json, "status", "certificates")) {
                        const char *labels[] = {json_str(list[i]->json, "metadata", "namespace"),
                                                json_str(list[i]->json, "metadata", "name"),
                                                json_str(e, "name", NULL), NULL};
                        const char *after = json_str(e, "notAfter", NULL);
                        time_t t;
                        if (labels[0] && labels[1] && labels[2] && after &&
                            time_parse_rfc3339(after, &t) == 0)
                                metric_set(kc->m_cert_expiry, labels, (double)t);
                }
        }
        store_list_free(list, n);
}

int certificates_metrics(struct kctl *kc, struct metrics *m)
{
        static const char *const labels[] = {"namespace", "karmada", "certificate", NULL};

        kc->m_cert_expiry = metrics_family(
                m, METRIC_GAUGE, "karmada_operator_certificate_expiration_timestamp_seconds",
                "When each certificate of an instance expires (its notAfter), in seconds since "
                "the epoch.",
                labels, NULL, 0);
        if (!kc->m_cert_expiry)
                return -1;
        return metrics_add_collector(m, collect, kc);
}
