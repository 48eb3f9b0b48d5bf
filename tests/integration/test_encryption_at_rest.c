/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets encrypted at rest in a real instance's Karmada API server (ko-plane), read back from
 * its etcd directly (the gateway, the etcd client certificate):
 *   - a new instance encrypts: every Secret in etcd is secretbox under key1, none shows the
 *     value written;
 *   - operator.karmada.io/rotate-encryption-key: EncryptionKeyRotation goes Adding, Switching,
 *     Rewriting, then False Completed; every Secret in etcd is then under key2 (rewritten, not
 *     only the new ones), the values read back the same through the API server, and the
 *     operator sends nothing at rest afterwards (the API server's audit log). */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/base64.h"
#include "util/strbuf.h"

#define VALUE "known-secret-value-0042"

static const char *ns;

/* Every Secret in the instance's etcd (key prefix /registry/secrets/): how many, and how many
 * are stored under `prefix` (e.g. "k8s:enc:secretbox:v1:key1:"); none may show VALUE */
static void secrets_in_etcd(const char *prefix, int *n, int *under)
{
        static const char key[] = "/registry/secrets/", end[] = "/registry/secrets0";
        struct etcd_backup_member m;
        struct strbuf body = {0};
        char *k64 = NULL, *e64 = NULL, err[512] = "";
        cJSON *ans = NULL;
        const cJSON *kv;

        live_etcd_member(ns, "enc", &m);
        IT_ASSERT(base64_encode(key, strlen(key), &k64) == 0 &&
                          base64_encode(end, strlen(end), &e64) == 0,
                  "base64");
        strbuf_printf(&body, "{\"key\":\"%s\",\"range_end\":\"%s\"}", k64, e64);
        IT_ASSERT(etcd_backup_call(&m, "/v3/kv/range", body.buf, &ans, err, sizeof(err)) == 0,
                  "etcd range: %s", err);
        *n = *under = 0;
        cJSON_ArrayForEach (kv, cJSON_GetObjectItem(ans, "kvs")) {
                const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(kv, "value"));
                unsigned char *raw = NULL;
                size_t len = 0;
                IT_ASSERT(v && base64_decode(v, strlen(v), &raw, &len) == 0, "a value of etcd");
                IT_ASSERT(!memmem(raw, len, VALUE, strlen(VALUE)),
                          "a Secret in the clear in etcd: %.120s", (char *)raw);
                (*n)++;
                *under += len > strlen(prefix) && memcmp(raw, prefix, strlen(prefix)) == 0;
                free(raw);
        }
        cJSON_Delete(ans);
        free(k64);
        free(e64);
        strbuf_free(&body);
        live_etcd_member_free(&m);
}

/* the probe Secret's value, read through the Karmada API server */
static char *probe_value(struct kube_client *kk)
{
        cJSON *s = NULL;
        char *v;
        unsigned char *raw = NULL;
        size_t len = 0;

        IT_ASSERT(kube_get(kk, &kube_secrets, "default", "probe", &s, NULL) == 0, "get probe");
        v = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "data"), "v"));
        IT_ASSERT(v && base64_decode(v, strlen(v), &raw, &len) == 0, "probe's data");
        cJSON_Delete(s);
        return (char *)raw;
}

int main(void)
{
        struct kube_client *kk;
        char *enc = NULL, *v, cond[1024];
        int n, under;
        double t0;

        live_setup();
        ns = itest_unique_name("enc");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create_instance(ns, "enc", NULL);
        live_wait_condition(ns, "enc", "Ready", "True", 240);
        kk = live_karmada_client(ns, "enc", NULL);
        IT_ASSERT(base64_encode(VALUE, strlen(VALUE), &enc) == 0, "base64");
        for (int i = 0; i < 3; i++)
                live_create_in(kk, &kube_secrets, i ? "kube-system" : "default", false,
                               "{\"metadata\":{\"name\":\"probe%s\"},\"data\":{\"v\":\"%s\"}}",
                               i == 2 ? "-2" : "", enc);
        free(enc);

        secrets_in_etcd("k8s:enc:secretbox:v1:key1:", &n, &under);
        IT_ASSERT(n >= 3 && under == n, "%d of %d Secrets in etcd under key1", under, n);
        itest_log("new instance: %d of %d Secrets in etcd are secretbox under key1, none in the "
                  "clear",
                  under, n);

        t0 = itest_now();
        live_patch(ns, "enc",
                   "{\"metadata\":{\"annotations\":{\"" KO_ROTATE_ENCRYPTION_KEY_ANNOTATION
                   "\":\"r1\"}}}");
        live_wait_condition(ns, "enc", "EncryptionKeyRotation", "True", 60);
        live_wait_condition(ns, "enc", "EncryptionKeyRotation", "False Completed", 300);
        live_wait_condition(ns, "enc", "Ready", "True", 60);
        itest_log("rotation completed in %.1fs: %s", itest_now() - t0,
                  live_condition(ns, "enc", "EncryptionKeyRotation", cond, sizeof(cond)));
        secrets_in_etcd("k8s:enc:secretbox:v1:key2:", &n, &under);
        IT_ASSERT(n >= 3 && under == n, "%d of %d Secrets in etcd under key2 after the rotation",
                  under, n);
        v = probe_value(kk);
        IT_ASSERT(strcmp(v, VALUE) == 0, "the probe reads \"%s\" after the rotation", v);
        free(v);
        itest_log("after the rotation: %d of %d Secrets under key2; the probe reads the same",
                  under, n);
        audit_assert_at_rest("the rotation", 10, live_operator_metrics_port(0));

        kube_client_free(kk);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "enc", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "enc", 120);
        live_teardown();
        itest_log("ok");
        return 0;
}
