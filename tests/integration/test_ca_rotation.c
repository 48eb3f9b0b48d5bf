/* SPDX-License-Identifier: Apache-2.0 */
/* CA rotation without downtime (operator.karmada.io/rotate-ca), every component running under
 * ko-plane:
 *   - the phases appear in order in condition CARotation: Trusting (new CAs trusted beside the
 *     old ones), Reissuing (every certificate from the new CAs), then False Completed;
 *   - a client with the old client certificate (trusting the distributed bundle) is served
 *     while the rotation is under way (retrying as the next client does), and refused once it
 *     completed (the old CA dropped);
 *   - a client that follows the admin kubeconfig the operator distributes (as the components
 *     do) polls the Karmada API server all along: 0 failed requests. A kube-apiserver that is
 *     stopping (a rollout replaced it) answers what reaches it 503 with Retry-After: 1, and
 *     closes its connections (HTTP/2: GOAWAY), so that clients go to another server; the
 *     client does, as client-go does (each 503 retried after 1 s, at most 10 times; a
 *     connection lost under a request retried once at once), and counts those retries;
 *   - at the end every CA is new, the karmada key (ServiceAccount tokens) is kept, the instance
 *     is Ready and Degraded=False, and Karmada's other servers trust the new CAs: the
 *     aggregated Cluster API answers (APIService caBundle, front-proxy) and a PropagationPolicy
 *     passes the webhook (its caBundle). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "live.h"
#include "members.h"
#include "util/base64.h"
#include "util/json.h"

static const char *ns;

static char *secret_value(const char *secret, const char *key)
{
        cJSON *s = NULL;
        char *v;

        IT_ASSERT(kube_get(live_kc, &kube_secrets, ns, secret, &s, NULL) == 0, "get %s", secret);
        v = strdup(json_str(json_at(s, "data", NULL), key, NULL) ?: "");
        cJSON_Delete(s);
        return v;
}

/* A client from a kubeconfig's text (base64, as in the Secret), its CA data replaced by ca64
 * (base64) unless NULL */
static struct kube_client *client_of(const char *kubeconfig64, const char *ca64)
{
        unsigned char *text = NULL;
        size_t len = 0;
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        char err[256];

        IT_ASSERT(base64_decode(kubeconfig64, strlen(kubeconfig64), &text, &len) == 0, "base64");
        if (ca64) {
                char *at = strstr((char *)text, "certificate-authority-data: "), *end, *out;
                IT_ASSERT(at, "no certificate-authority-data");
                at += strlen("certificate-authority-data: ");
                end = strchr(at, '\n');
                IT_ASSERT(asprintf(&out, "%.*s%s%s", (int)(at - (char *)text), (char *)text, ca64,
                                   end ? end : "") > 0,
                          "asprintf");
                free(text);
                text = (unsigned char *)out;
                len = strlen(out);
        }
        IT_ASSERT(kube_config_from_memory((const char *)text, len, "admin", NULL, &cfg, err,
                                          sizeof(err)) == 0,
                  "kubeconfig: %s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg, .max_retries = -1},
                                  &c) == 0,
                  "client");
        kube_config_free(cfg);
        free(text);
        return c;
}

static bool served(struct kube_client *c, struct kube_status *st)
{
        cJSON *o = NULL;
        int r = kube_list(c, &kube_namespaces, NULL,
                          &(struct kube_list_options){.resource_version = "0"}, &o, st);

        cJSON_Delete(o);
        return r == 0;
}

/* What components do: follow the admin kubeconfig as the operator rewrites it */
struct poller {
        volatile int stop;
        int requests, failed, retried;
        char last_error[256];
};

/* A stopping kube-apiserver's answer: 503 "apiserver is shutting down", Retry-After: 1. (A
 * connection it closes under a request (HTTP/2: GOAWAY; this client speaks HTTP/1.1) shows as
 * a transport error: retried once at once, on a new connection, as Go's transport does for
 * client-go.) */
static bool stopping(const struct kube_status *st)
{
        return st->code == 503 && strstr(st->message, "shutting down");
}

/* served(), again as a client follows a stopping server's Retry-After (at most 10 times, 1 s
 * apart, as client-go's rest client) or after one dropped connection;
 * *retried counts those */
static bool served_retrying(struct kube_client *c, struct kube_status *st, int *retried)
{
        bool ok = served(c, st);

        for (int retry = 0; !ok && retry < 10 && (stopping(st) || (!st->code && !retry)); retry++) {
                (*retried)++;
                if (st->code)
                        sleep(1); /* Retry-After */
                ok = served(c, st);
        }
        return ok;
}

static void *poll_apiserver(void *arg)
{
        struct poller *p = arg;
        struct kube_client *c = NULL;
        char *have = NULL;

        while (!p->stop) {
                char *now = secret_value("rot-karmada-admin-config", "karmada.config");
                struct kube_status st = {0};
                bool ok;
                if (!have || strcmp(have, now) != 0) {
                        kube_client_free(c);
                        c = client_of(now, NULL);
                        free(have);
                        have = now;
                } else {
                        free(now);
                }
                p->requests++;
                ok = served_retrying(c, &st, &p->retried);
                if (!ok) {
                        p->failed++;
                        snprintf(p->last_error, sizeof(p->last_error), "%d %s", st.code,
                                 st.message);
                }
                usleep(100 * 1000);
        }
        kube_client_free(c);
        free(have);
        return NULL;
}

static const char *rotation(char *buf, size_t size)
{
        cJSON *k = live_get(ns, "rot");

        live_condition_of(k, "CARotation", false, buf, size);
        cJSON_Delete(k);
        return buf;
}

/* Through the rotation: the phases in order; the old client certificate served while it is
 * under way */
static void rotate(const char *old_kubeconfig)
{
        char phase[128], seen[512] = "", *trust, *trust_seen = NULL;
        int old_ok = 0;
        int old_retried = 0;
        double t0 = itest_now();

        live_patch(ns, "rot",
                   "{\"metadata\":{\"annotations\":{\"operator.karmada.io/rotate-ca\":"
                   "\"2026-11-30\"}}}");
        for (;; usleep(200 * 1000)) {
                IT_ASSERT(itest_now() - t0 < 300, "CA rotation not completed in 300s (phases: %s)",
                          seen);
                rotation(phase, sizeof(phase));
                if (phase[0] && !strstr(seen, phase))
                        snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s",
                                 seen[0] ? ", " : "", phase);
                if (strcmp(phase, "False Completed") == 0)
                        break;
                if (strncmp(phase, "True ", 5) != 0)
                        continue;
                trust = secret_value("rot-karmada-cert", "ca-trust.crt");
                if (!trust_seen || strcmp(trust, trust_seen) != 0) {
                        free(trust_seen);
                        trust_seen = strdup(trust);
                }
                {
                        struct kube_client *old = client_of(old_kubeconfig, trust);
                        struct kube_status st = {0};
                        bool ok = served_retrying(old, &st, &old_retried);
                        char again[128];
                        /* refused only if the rotation completed meanwhile */
                        IT_ASSERT(ok || strcmp(rotation(again, sizeof(again)), "False Completed") ==
                                                  0,
                                  "the old client certificate refused during %s: %d %s", phase,
                                  st.code, st.message);
                        old_ok += ok;
                        kube_client_free(old);
                }
                free(trust);
        }
        IT_ASSERT(strcmp(seen, "True Trusting, True Reissuing, False Completed") == 0, "phases: %s",
                  seen);
        IT_ASSERT(old_ok > 0, "the old client certificate was never tried during the rotation");
        itest_log("rotate-ca: %s in %.1fs; the old client certificate served %d times meanwhile "
                  "(%d retried after a stopping server's 503 or a dropped connection)",
                  seen, itest_now() - t0, old_ok, old_retried);
        free(trust_seen);
}

int main(void)
{
        char *old_kc, *old_ca, *key0, *new_ca, *key1, *final_kc;
        struct poller p = {0};
        pthread_t th;
        double t0;

        live_setup();
        ns = itest_unique_name("carot");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"rot\"},\"spec\":{\"components\":{\"etcd\":{"
                        "\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":\"NodePort\"}}}}");
        t0 = itest_now();
        live_wait_condition(ns, "rot", "Ready", "True", 240);
        itest_log("Ready after %.1fs", itest_now() - t0);
        old_kc = secret_value("rot-karmada-admin-config", "karmada.config");
        old_ca = secret_value("rot-karmada-cert", "ca.crt");
        key0 = secret_value("rot-karmada-cert", "karmada.key");
        IT_ASSERT(pthread_create(&th, NULL, poll_apiserver, &p) == 0, "thread");

        rotate(old_kc);
        /* the last phase rolls the steps in turn: 20 s each on a loaded machine */
        live_wait_condition(ns, "rot", "Ready", "True", 240);
        live_wait_condition(ns, "rot", "Degraded", "False", 120);
        p.stop = 1;
        pthread_join(th, NULL);
        IT_ASSERT(p.failed == 0, "%d of %d requests to the Karmada API server failed (last: %s)",
                  p.failed, p.requests, p.last_error);
        itest_log("a client following the admin kubeconfig: %d requests, 0 failed (%d retried "
                  "after a stopping kube-apiserver's 503 Retry-After or GOAWAY, then served)",
                  p.requests, p.retried);

        new_ca = secret_value("rot-karmada-cert", "ca.crt");
        key1 = secret_value("rot-karmada-cert", "karmada.key");
        IT_ASSERT(strcmp(old_ca, new_ca) != 0, "the CA did not change");
        IT_ASSERT(strcmp(key0, key1) == 0, "the karmada key changed (ServiceAccount tokens)");
        {
                struct kube_client *old = client_of(old_kc, NULL), *now;
                struct kube_status st = {0};
                final_kc = secret_value("rot-karmada-admin-config", "karmada.config");
                now = client_of(final_kc, NULL);
                IT_ASSERT(served(now, &st), "the new admin kubeconfig: %s", st.message);
                IT_ASSERT(!served(old, &st), "the old admin kubeconfig is still served");
                itest_log("a new CA, the karmada key kept; Ready, Degraded=False; the old admin "
                          "kubeconfig refused, the new one served");
                {
                        cJSON *list = NULL;
                        IT_ASSERT(kube_list(now, &members_clusters, NULL, NULL, &list, &st) == 0,
                                  "the aggregated Cluster API on the new CAs: %s", st.message);
                        cJSON_Delete(list);
                }
                karmada_namespace(now, "carot");
                karmada_policy(now, "carot", "all", NULL, "member1", NULL);
                itest_log("the aggregated Cluster API (APIService caBundle, front-proxy) and the "
                          "webhook (a PropagationPolicy admitted) work on the new CAs");
                kube_client_free(old);
                kube_client_free(now);
        }
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "rot", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "rot", 120);
        free(old_kc);
        free(old_ca);
        free(key0);
        free(new_ca);
        free(key1);
        free(final_kc);
        live_teardown();
        itest_log("ok");
        return 0;
}
