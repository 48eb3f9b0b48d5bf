/* SPDX-License-Identifier: Apache-2.0 */
/* The plumbing under everything: read the admin kubeconfig of the local cluster, talk TLS to
 * its kube-apiserver with the CA, client certificate and key from memory (libcurl blobs, no
 * files), and see a Deployment roll out through kube-controller-manager, kube-scheduler and
 * kwok. Every request has a timeout, so a stopped etcd fails this test instead of hanging it. */
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "itest.h"
#include "kube/config.h"
#include "util/strbuf.h"

#define REQUEST_TIMEOUT_MS 10000L
#define ROLLOUT_TIMEOUT_S  120.0

static CURL *curl;
static struct kube_config *kc;

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        return strbuf_append(userdata, data, size * n) == 0 ? size * n : 0;
}

/* Returns the HTTP status; fails the test on a transport error, naming the URL. */
static long request(const char *method, const char *path, const char *body, cJSON **ret)
{
        struct strbuf resp = {.max = 8 << 20};
        struct curl_slist *hdr = NULL;
        char url[1024], errbuf[CURL_ERROR_SIZE] = "";
        long code = 0;
        CURLcode rc;

        snprintf(url, sizeof(url), "%s%s", kc->server, path);
        hdr = curl_slist_append(hdr, "Accept: application/json");
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
        if (body) {
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        } else {
                curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        rc = curl_easy_perform(curl);
        curl_slist_free_all(hdr);
        if (rc != CURLE_OK)
                IT_FAIL("%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (ret) {
                *ret = cJSON_Parse(resp.buf ? resp.buf : "");
                if (!*ret)
                        IT_FAIL("%s %s: response is not JSON: %.200s", method, url,
                                resp.buf ? resp.buf : "");
        }
        strbuf_free(&resp);
        return code;
}

static void expect(long got, long want, const char *what)
{
        if (got != want)
                IT_FAIL("%s: HTTP %ld, want %ld", what, got, want);
}

static void connect_from_kubeconfig(void)
{
        struct kube_config_options o = {.kubeconfig = itest_kubeconfig()};
        struct curl_blob ca, cert, key;
        char err[512];

        if (kube_config_load(&o, &kc, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(kc->ca && kc->client_cert && kc->client_key,
                  "admin kubeconfig lacks TLS material");
        curl = curl_easy_init();
        IT_ASSERT(curl != NULL, "curl_easy_init");
        ca = (struct curl_blob){.data = kc->ca, .len = kc->ca_len, .flags = CURL_BLOB_COPY};
        cert = (struct curl_blob){
                .data = kc->client_cert, .len = kc->client_cert_len, .flags = CURL_BLOB_COPY};
        key = (struct curl_blob){
                .data = kc->client_key, .len = kc->client_key_len, .flags = CURL_BLOB_COPY};
        IT_ASSERT(curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca) == CURLE_OK,
                  "CAINFO_BLOB unsupported");
        IT_ASSERT(curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert) == CURLE_OK, "SSLCERT_BLOB");
        IT_ASSERT(curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key) == CURLE_OK, "SSLKEY_BLOB");
        curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
}

static void check_version(void)
{
        cJSON *v = NULL;
        const cJSON *gv;

        expect(request("GET", "/version", NULL, &v), 200, "GET /version");
        gv = cJSON_GetObjectItemCaseSensitive(v, "gitVersion");
        IT_ASSERT(cJSON_IsString(gv), "no gitVersion");
        if (strcmp(gv->valuestring, KO_PIN_KUBE_VERSION) != 0)
                IT_FAIL("server version %s, pinned %s", gv->valuestring, KO_PIN_KUBE_VERSION);
        itest_log("kube-apiserver %s", gv->valuestring);
        cJSON_Delete(v);
}

static void create_configmap(const char *ns)
{
        char path[256], body[512];
        cJSON *cm = NULL;
        const cJSON *data;

        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", ns);
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                 "\"plumbing\"},"
                 "\"data\":{\"hello\":\"world\"}}");
        expect(request("POST", path, body, NULL), 201, "create ConfigMap");
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/plumbing", ns);
        expect(request("GET", path, NULL, &cm), 200, "get ConfigMap");
        data = cJSON_GetObjectItemCaseSensitive(cm, "data");
        IT_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(data, "hello")) &&
                          strcmp(cJSON_GetObjectItemCaseSensitive(data, "hello")->valuestring,
                                 "world") == 0,
                  "ConfigMap data round trip");
        cJSON_Delete(cm);
        itest_log("ConfigMap %s/plumbing created", ns);
}

static void deployment_rolls_out(const char *ns)
{
        char path[256], body[1024];
        double deadline;
        int ready = -1;

        snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/deployments", ns);
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"apps/"
                 "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
                 "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
                 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                 "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"registry.invalid/"
                 "web:1\"}]}}}}");
        expect(request("POST", path, body, NULL), 201, "create Deployment");
        snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/deployments/web", ns);
        deadline = itest_now() + ROLLOUT_TIMEOUT_S;
        while (itest_now() < deadline) {
                cJSON *d = NULL;
                const cJSON *rr;

                expect(request("GET", path, NULL, &d), 200, "get Deployment");
                rr = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "status"),
                                                      "readyReplicas");
                ready = cJSON_IsNumber(rr) ? rr->valueint : 0;
                cJSON_Delete(d);
                if (ready == 2) {
                        itest_log("Deployment %s/web: 2/2 ready", ns);
                        return;
                }
                usleep(500 * 1000);
        }
        IT_FAIL("Deployment %s/web: %d/2 ready after %.0fs (are kube-controller-manager, "
                "kube-scheduler and kwok running?)",
                ns, ready, ROLLOUT_TIMEOUT_S);
}

int main(void)
{
        const char *ns = itest_unique_name("plumbing");
        char body[256], path[256];

        curl_global_init(CURL_GLOBAL_DEFAULT);
        connect_from_kubeconfig();
        check_version();
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
                 ns);
        expect(request("POST", "/api/v1/namespaces", body, NULL), 201, "create Namespace");
        create_configmap(ns);
        deployment_rolls_out(ns);
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s", ns);
        expect(request("DELETE", path, NULL, NULL), 200, "delete Namespace");
        curl_easy_cleanup(curl);
        kube_config_free(kc);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
