/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates renew themselves, on time, without taking the control plane down (ko-plane runs
 * every component; it refreshes a running pod's Secret files in place, as a kubelet does):
 *   - an instance whose leaves live 3 minutes (operator.karmada.io/leaf-cert-validity) lists its
 *     certificates in status.certificates, CertificatesReady names the first to expire, and the
 *     operator's metric gives each one's notAfter;
 *   - 108 s after issue (two thirds of a life that begins 36 s early), with no other event, the
 *     leaves are renewed (a renewal's rollouts take 20 s per step on a loaded machine: 72 s, the
 *     renewal time of 2-minute leaves, was too short for them to settle): new notAfter in the
 *     status and the metric, the karmada pair's key kept (it signs ServiceAccount tokens), the
 *     pods that read their kubeconfig once rolled (their secrets-checksum changed), the Karmada
 *     API server not restarted and a client polling it all along refused nothing;
 *   - afterwards Karmada's controller-manager, restarted with its renewed kubeconfig, still
 *     renews its leader lease in the Karmada API server, a member cluster joined then gets a
 *     Deployment propagated to it (the members fixture), and the instance is Ready;
 *   - an instance on the user's CA (spec.customCertificate.apiServerCACert) whose Secret loses
 *     tls.key keeps its leaves past their renewal time: Degraded=True CertificateExpiring
 *     naming the Secret, a Warning Event, no ca.key in its Secret and no signing flags for its
 *     kube-controller-manager; the key back, the leaves are renewed and Degraded is False;
 *   - the operator stopped until every leaf has expired (karmada-io/karmada#4787: the Karmada
 *     API server no longer passes TLS verification), then started: the instance is Ready again
 *     on its own and its Karmada API server serves. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/pki.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "members.h"
#include "promparse.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static const struct kube_resource leases = {"coordination.k8s.io", "v1", "leases", "Lease", true};

static const char *ns;

/* A client polling the Karmada API server every 100 ms until told to stop */
struct poller {
        struct kube_client *c;
        volatile int stop;
        int requests, failed;
        char last_error[256];
};

static void *poll_apiserver(void *arg)
{
        struct poller *p = arg;

        while (!p->stop) {
                cJSON *o = NULL;
                struct kube_status st = {0};
                if (kube_get(p->c, &kube_namespaces, NULL, "default", &o, &st) < 0) {
                        p->failed++;
                        snprintf(p->last_error, sizeof(p->last_error), "%d %s", st.code,
                                 st.message);
                }
                cJSON_Delete(o);
                p->requests++;
                usleep(100 * 1000);
        }
        return NULL;
}

/* status.certificates entry `name`'s member `field`, into buf ("" when missing) */
static const char *cert_field(const char *name, const char *field, char *buf, size_t size)
{
        cJSON *k = live_get(ns, "certs");
        const cJSON *e;

        buf[0] = '\0';
        cJSON_ArrayForEach (e, json_at(k, "status", "certificates"))
                if (strcmp(json_str(e, "name", NULL) ?: "", name) == 0)
                        snprintf(buf, size, "%s", json_str(e, field, NULL) ?: "");
        cJSON_Delete(k);
        return buf;
}

/* The Secret's value of key (base64), into buf */
static const char *secret_value(const char *secret, const char *key, char *buf, size_t size)
{
        cJSON *s = NULL;

        IT_ASSERT(kube_get(live_kc, &kube_secrets, ns, secret, &s, NULL) == 0, "get %s", secret);
        snprintf(buf, size, "%s", json_str(json_at(s, "data", NULL), key, NULL) ?: "");
        cJSON_Delete(s);
        return buf;
}

static const char *checksum(const char *deployment, char *buf, size_t size)
{
        cJSON *d = NULL;

        IT_ASSERT(kube_get(live_kc, &kube_deployments, ns, deployment, &d, NULL) == 0, "get %s",
                  deployment);
        snprintf(buf, size, "%s",
                 json_str(json_at(json_at(d, "spec", "template"), "metadata", "annotations"),
                          "operator.karmada.io/secrets-checksum", NULL)
                         ?: "");
        cJSON_Delete(d);
        return buf;
}

/* The operator's metric for certificate `name` of the instance, or -1 */
static double expiry_metric(const char *name)
{
        struct strbuf body = {0}, labels = {0};
        struct prom_doc d;
        char err[256];
        double v = -1;

        IT_ASSERT(itest_http_get(live_operator_metrics_port(0), "/metrics", &body) == 200,
                  "scrape the operator");
        IT_ASSERT(prom_parse(body.buf, &d, err, sizeof(err)) == 0, "metrics: %s", err);
        strbuf_printf(&labels, "certificate=\"%s\",karmada=\"certs\",namespace=\"%s\"", name, ns);
        if (!prom_value(&d, "karmada_operator_certificate_expiration_timestamp_seconds", labels.buf,
                        &v))
                v = -1;
        prom_doc_free(&d);
        strbuf_free(&body);
        strbuf_free(&labels);
        return v;
}

static void visible(void)
{
        char msg[600], after[64];
        cJSON *k = live_get(ns, "certs");
        int n = cJSON_GetArraySize(json_at(k, "status", "certificates"));
        time_t t;

        cJSON_Delete(k);
        IT_ASSERT(n >= 9, "%d entries in status.certificates", n);
        live_condition(ns, "certs", "CertificatesReady", msg, sizeof(msg));
        IT_ASSERT(strstr(msg, "the first to expire"), "CertificatesReady: %s", msg);
        IT_ASSERT(time_parse_rfc3339(cert_field("apiserver", "notAfter", after, sizeof(after)),
                                     &t) == 0,
                  "apiserver's notAfter \"%s\"", after);
        IT_ASSERT(expiry_metric("apiserver") == (double)t,
                  "the metric of apiserver is %.0f, its notAfter %s", expiry_metric("apiserver"),
                  after);
        itest_log("%d certificates in the status; CertificatesReady: %s; the metric agrees", n,
                  msg);
}

/* Karmada's controller-manager renews its lease in the Karmada API server after `since` */
static void controller_manager_works(struct kube_client *kc, time_t since)
{
        double t0 = itest_now();

        for (;;) {
                cJSON *l = NULL;
                time_t renewed = 0;
                if (kube_get(kc, &leases, "karmada-system", "karmada-controller-manager", &l,
                             NULL) == 0)
                        time_parse_rfc3339(json_str(json_at(l, "spec", NULL), "renewTime", NULL)
                                                   ?: "",
                                           &renewed);
                cJSON_Delete(l);
                if (renewed > since)
                        break;
                IT_ASSERT(itest_now() - t0 < 90,
                          "karmada-controller-manager renews no lease after the renewal");
                usleep(500 * 1000);
        }
        itest_log("karmada-controller-manager renews its lease with its renewed kubeconfig");
}

/* Whether the Karmada API server answers a client of the current admin kubeconfig */
static bool serves(void)
{
        struct kube_client *kc = live_karmada_client(ns, "certs", NULL);
        cJSON *o = NULL;
        bool ok = kube_get(kc, &kube_namespaces, NULL, "default", &o, NULL) == 0;

        cJSON_Delete(o);
        kube_client_free(kc);
        return ok;
}

/* The operator away until the leaves expired; back, it renews from its CAs and the instance
 * recovers */
/* The user's CA: tls.crt and tls.key, base64 */
static char *user_ca_crt, *user_ca_key;

static void user_ca_instance(void)
{
        struct pki_cert *ca = NULL;
        char *crt = NULL, *key = NULL;
        size_t cl, kl;

        IT_ASSERT(pki_new_ca(&(struct pki_request){.cn = "user-ca",
                                                   .ca = true,
                                                   .validity_s = 30LL * 86400,
                                                   .key_type = PKI_ECDSA_P256},
                             &ca) == 0 &&
                          pki_cert_pem(ca, &crt, &cl) == 0 && pki_key_pem(ca, &key, &kl) == 0 &&
                          base64_encode(crt, cl, &user_ca_crt) == 0 &&
                          base64_encode(key, kl, &user_ca_key) == 0,
                  "the user's CA");
        free(crt);
        free(key);
        pki_free(ca);
        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"user-ca\"},\"data\":{\"tls.crt\":\"%s\","
                           "\"tls.key\":\"%s\"}}",
                           user_ca_crt, user_ca_key);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"custom\",\"annotations\":{"
                        "\"operator.karmada.io/leaf-cert-validity\":\"3m\"}},\"spec\":{"
                        "\"customCertificate\":{\"apiServerCACert\":{\"name\":\"user-ca\"}},"
                        "\"components\":{\"etcd\":{\"local\":{}}}}}");
        /* and one whose CA comes without its key from the start: it cannot be installed */
        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"crt-only\"},\"data\":{\"tls.crt\":\"%s\"}}",
                           user_ca_crt);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"nokey\"},\"spec\":{\"customCertificate\":{"
                        "\"apiServerCACert\":{\"name\":\"crt-only\"}},\"components\":{"
                        "\"etcd\":{\"local\":{}}}}}");
}

/* A CA without its key from the start: Ready=False, naming the field and the missing key */
static void user_ca_without_key_at_install(void)
{
        char msg[1024];

        live_condition(ns, "nokey", "Ready", msg, sizeof(msg));
        IT_ASSERT(strncmp(msg, "False ", 6) == 0 &&
                          strstr(msg, "spec.customCertificate.apiServerCACert") &&
                          strstr(msg, "tls.key"),
                  "nokey: Ready is not False naming the field and tls.key: %s", msg);
        itest_log("a CA without tls.key at install: Ready %s", msg);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "nokey", NULL, NULL) == 0,
                  "delete nokey");
}

static void user_ca_has_key(bool present)
{
        char body[16384];
        struct kube_status st;

        snprintf(body, sizeof(body), "{\"data\":{\"tls.crt\":\"%s\",\"tls.key\":%s%s%s}}",
                 user_ca_crt, present ? "\"" : "", present ? user_ca_key : "null",
                 present ? "\"" : "");
        IT_ASSERT(kube_patch(live_kc, &kube_secrets, ns, "user-ca", KUBE_PATCH_MERGE, body, NULL,
                             NULL, &st) == 0,
                  "patch user-ca: %s", st.message);
}

static bool warned(const char *instance, const char *reason)
{
        cJSON *list = NULL;
        const cJSON *e;
        bool found = false;

        IT_ASSERT(kube_list(live_kc, &kube_events, ns, NULL, &list, NULL) == 0, "events");
        cJSON_ArrayForEach (e, json_at(list, "items", NULL))
                found = found ||
                        (strcmp(json_str(e, "type", NULL) ?: "", "Warning") == 0 &&
                         strcmp(json_str(e, "reason", NULL) ?: "", reason) == 0 &&
                         strcmp(json_str(json_at(e, "regarding", NULL), "name", NULL) ?: "",
                                instance) == 0);
        cJSON_Delete(list);
        return found;
}

/* The key went while the instance was Ready: past the renewal time, its leaves are kept */
static void user_ca_without_key(void)
{
        char buf[16384], msg[1024], *args;
        cJSON *c;

        live_wait_condition(ns, "custom", "Degraded", "True CertificateExpiring", 150);
        live_condition(ns, "custom", "Degraded", msg, sizeof(msg));
        IT_ASSERT(strstr(msg, "user-ca") && strstr(msg, "tls.key"),
                  "the message names the CA Secret and its missing key: %s", msg);
        IT_ASSERT(warned("custom", "CertificateExpiring"), "no Warning Event CertificateExpiring");
        IT_ASSERT(!*secret_value("custom-karmada-cert", "ca.key", buf, sizeof(buf)),
                  "ca.key is still in custom-karmada-cert");
        c = live_container(ns, "custom-karmada-kube-controller-manager");
        args = cJSON_PrintUnformatted(json_at(c, "command", NULL));
        IT_ASSERT(args && !strstr(args, "cluster-signing"),
                  "kube-controller-manager still signs: %s", args ?: "");
        free(args);
        cJSON_Delete(c);
        itest_log("the user's CA without tls.key: Degraded %s; a Warning Event, no ca.key, no "
                  "signing flags",
                  msg);
        user_ca_has_key(true);
        live_wait_condition(ns, "custom", "Degraded", "False", 60);
        live_wait_condition(ns, "custom", "Ready", "True", 120);
        IT_ASSERT(*secret_value("custom-karmada-cert", "ca.key", buf, sizeof(buf)),
                  "no ca.key in custom-karmada-cert with the key back");
        itest_log("the key back: renewed, Degraded=False, Ready");
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "custom", NULL, NULL) == 0,
                  "delete custom");
}

static void recovers_from_expiry(void)
{
        char last[64];
        time_t t = 0;
        cJSON *k = live_get(ns, "certs");
        const cJSON *e;
        double t0;

        live_stop_operator(0);
        cJSON_ArrayForEach (e, json_at(k, "status", "certificates")) {
                time_t a;
                if (json_str(e, "renewAt", NULL) &&
                    time_parse_rfc3339(json_str(e, "notAfter", NULL) ?: "", &a) == 0 && a > t)
                        t = a;
        }
        cJSON_Delete(k);
        IT_ASSERT(t > 0, "no leaf's notAfter");
        time_format_rfc3339(t, last);
        itest_log("operator stopped; waiting for the last leaf to expire (%s)", last);
        while (time(NULL) <= t + 2)
                sleep(1);
        IT_ASSERT(!serves(), "the Karmada API server still passes verification after %s", last);
        t0 = itest_now();
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_wait_condition(ns, "certs", "Ready", "True", 240);
        while (!serves()) {
                IT_ASSERT(itest_now() - t0 < 240, "the Karmada API server does not serve again");
                usleep(500 * 1000);
        }
        itest_log("every leaf expired, the Karmada API server refused; the operator back: Ready "
                  "and serving again after %.1fs",
                  itest_now() - t0);
}

int main(void)
{
        char before[64], after[64], key0[8192], key1[8192], cm0[80], cm1[80], api0[80], api1[80];
        struct poller p = {0};
        pthread_t th;
        double t0;
        time_t renewed_at;

        live_setup();
        ns = itest_unique_name("certs");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"certs\",\"annotations\":{"
                        "\"operator.karmada.io/leaf-cert-validity\":\"3m\"}},\"spec\":{"
                        "\"components\":{\"etcd\":{\"local\":{}},\"karmadaAPIServer\":{"
                        "\"serviceType\":\"NodePort\"}}}}");
        user_ca_instance();
        t0 = itest_now();
        live_wait_condition(ns, "certs", "Ready", "True", 240);
        live_wait_condition(ns, "certs", "Degraded", "False", 120);
        itest_log("Ready, Degraded=False after %.1fs", itest_now() - t0);
        live_wait_condition(ns, "custom", "Ready", "True", 120);
        user_ca_has_key(false); /* its leaves are used until they are due for renewal */
        visible();

        cert_field("apiserver", "notAfter", before, sizeof(before));
        secret_value("certs-karmada-cert", "karmada.key", key0, sizeof(key0));
        checksum("certs-karmada-controller-manager", cm0, sizeof(cm0));
        checksum("certs-karmada-apiserver", api0, sizeof(api0));
        p.c = live_karmada_client(ns, "certs", NULL);
        IT_ASSERT(pthread_create(&th, NULL, poll_apiserver, &p) == 0, "thread");

        t0 = itest_now();
        while (strcmp(cert_field("apiserver", "notAfter", after, sizeof(after)), before) == 0) {
                IT_ASSERT(itest_now() - t0 < 240,
                          "apiserver's certificate (notAfter %s) not renewed after 240s", before);
                usleep(500 * 1000);
        }
        renewed_at = time(NULL);
        itest_log("renewed on its own %.0fs into the wait: apiserver's notAfter %s -> %s",
                  itest_now() - t0, before, after);
        sleep(8);   /* the new files reach the running pods (ko-plane: 5 s) and are reloaded */
        p.stop = 1; /* before the poller's own client certificate (3 minutes) expires */
        pthread_join(th, NULL);
        IT_ASSERT(p.failed == 0, "%d of %d requests to the Karmada API server failed (last: %s)",
                  p.failed, p.requests, p.last_error);
        itest_log("a client polling the Karmada API server through the renewal: %d requests, "
                  "0 failed",
                  p.requests);
        kube_client_free(p.c);
        live_wait_condition(ns, "certs", "Ready", "True", 180);

        secret_value("certs-karmada-cert", "karmada.key", key1, sizeof(key1));
        IT_ASSERT(strcmp(key0, key1) == 0, "the karmada pair got a new key");
        IT_ASSERT(strcmp(checksum("certs-karmada-controller-manager", cm1, sizeof(cm1)), cm0) != 0,
                  "the controller-manager was not rolled (its kubeconfig was renewed)");
        IT_ASSERT(strcmp(checksum("certs-karmada-apiserver", api1, sizeof(api1)), api0) == 0,
                  "the Karmada API server was rolled; it reloads its certificates");
        {
                time_t t;
                IT_ASSERT(time_parse_rfc3339(after, &t) == 0 &&
                                  expiry_metric("apiserver") == (double)t,
                          "the metric did not follow the renewal");
        }
        itest_log("the karmada key kept; the controller-manager rolled, the API server not; the "
                  "metric follows");
        p.c = live_karmada_client(ns, "certs", NULL); /* the renewed admin kubeconfig */
        controller_manager_works(p.c, renewed_at);
        itest_log("after the renewal, member1 joined and a Deployment propagated to it in %.1fs",
                  member_propagate(p.c, "certs-prop"));
        kube_client_free(p.c);
        user_ca_without_key_at_install();
        user_ca_without_key();
        live_wait_deleted(ns, "nokey", 60);
        live_wait_deleted(ns, "custom", 120);
        recovers_from_expiry();

        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "certs", NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, "certs", 120);
        live_teardown();
        itest_log("ok");
        return 0;
}
