/* SPDX-License-Identifier: Apache-2.0 */
/* The API client against the real kube-apiserver of hack/cluster.sh: CRUD, custom resources,
 * server-side apply, conflicts, pagination, watch (order, resume, 410 after compaction,
 * cancellation, API server restart), tokens and 403, connection reuse, size limits, and a
 * port-forward to a pod (kwok's PortForward, to a listener of the test). */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "itest.h"
#include "kube/client.h"
#include "kube/portforward.h"
#include "util/strbuf.h"

static struct kube_config *admin_cfg;
static struct kube_client *kc;
static const char *ns;

static const struct kube_resource widgets = {
        .group = "test.karmada-operator.io",
        .version = "v1",
        .resource = "widgets",
        .kind = "Widget",
        .namespaced = true,
};

static cJSON *json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *json(const char *fmt, ...)
{
        char buf[8192];
        va_list ap;
        cJSON *j;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        j = cJSON_Parse(buf);
        if (!j)
                IT_FAIL("bad test JSON: %s", buf);
        return j;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

        if (b)
                v = cJSON_GetObjectItemCaseSensitive(v, b);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *rv_of(const cJSON *o)
{
        return str_at(o, "metadata", "resourceVersion");
}

#define CHECK(call)                                                                          \
        do {                                                                                 \
                struct kube_status st_;                                                      \
                int r_ = (call);                                                             \
                if (r_ < 0)                                                                  \
                        IT_FAIL("%s: %s (code %d, reason %s)", #call, st_.message, st_.code, \
                                st_.reason);                                                 \
        } while (0)
#define ST (&st_)

static struct kube_client *client_for(const struct kube_config *cfg, size_t max_body)
{
        struct kube_client_options o = {.config = cfg, .max_body = max_body, .timeout_ms = 15000};
        struct kube_client *c;

        IT_ASSERT(kube_client_new(&o, &c) == 0, "client");
        return c;
}

static void test_configmap_crud(void)
{
        cJSON *cm = json(
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"crud\"},"
                "\"data\":{\"a\":\"1\"}}");
        cJSON *got = NULL, *upd = NULL, *patched = NULL;
        struct kube_status st;

        CHECK(kube_create(kc, &kube_configmaps, ns, cm, NULL, &got, ST));
        IT_ASSERT(rv_of(got) != NULL, "created object has a resourceVersion");
        IT_ASSERT(kube_create(kc, &kube_configmaps, ns, cm, NULL, NULL, &st) == -EEXIST,
                  "second create");
        IT_ASSERT(st.code == 409 && strcmp(st.reason, "AlreadyExists") == 0,
                  "AlreadyExists status: %s", st.reason);
        cJSON_Delete(got);
        CHECK(kube_get(kc, &kube_configmaps, ns, "crud", &got, ST));
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(got, "data"), "a",
                                               cJSON_CreateString("2"));
        CHECK(kube_update(kc, &kube_configmaps, ns, got, NULL, &upd, ST));
        IT_ASSERT(strcmp(str_at(upd, "data", "a"), "2") == 0, "update applied");
        CHECK(kube_patch(kc, &kube_configmaps, ns, "crud", KUBE_PATCH_MERGE,
                         "{\"data\":{\"b\":\"3\"}}", NULL, &patched, ST));
        IT_ASSERT(strcmp(str_at(patched, "data", "b"), "3") == 0, "merge patch");
        cJSON_Delete(patched);
        CHECK(kube_patch(kc, &kube_configmaps, ns, "crud", KUBE_PATCH_JSON,
                         "[{\"op\":\"replace\",\"path\":\"/data/b\",\"value\":\"4\"}]", NULL,
                         &patched, ST));
        IT_ASSERT(strcmp(str_at(patched, "data", "b"), "4") == 0, "json patch");
        /* a stale update: the resourceVersion of before the update */
        IT_ASSERT(kube_update(kc, &kube_configmaps, ns, got, NULL, NULL, &st) == -EBUSY,
                  "stale update");
        IT_ASSERT(st.code == 409 && strcmp(st.reason, "Conflict") == 0, "Conflict status: %d %s",
                  st.code, st.reason);
        /* delete with a wrong precondition, then for real */
        IT_ASSERT(kube_delete(kc, &kube_configmaps, ns, "crud",
                              &(struct kube_delete_options){
                                      .precondition_uid = "00000000-0000-0000-0000-000000000000"},
                              &st) == -EBUSY,
                  "delete with a wrong uid precondition");
        CHECK(kube_delete(
                kc, &kube_configmaps, ns, "crud",
                &(struct kube_delete_options){.propagation = KUBE_PROPAGATION_BACKGROUND,
                                              .precondition_uid = str_at(upd, "metadata", "uid")},
                ST));
        IT_ASSERT(kube_get(kc, &kube_configmaps, ns, "crud", NULL, &st) == -ENOENT, "gone");
        IT_ASSERT(st.code == 404 && strcmp(st.reason, "NotFound") == 0, "NotFound status");
        cJSON_Delete(cm);
        cJSON_Delete(got);
        cJSON_Delete(upd);
        cJSON_Delete(patched);
        itest_log("ConfigMap CRUD, 409s, preconditions, 404: ok");
}

static void test_server_side_apply_is_idempotent(void)
{
        struct kube_write_options wo = {.field_manager = "karmada-operator-test", .force = true};
        cJSON *cm =
                json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ssa\","
                     "\"labels\":{\"app\":\"x\"}},\"data\":{\"k\":\"v\"}}");
        cJSON *a = NULL, *b = NULL;
        struct kube_status st;
        char *rv1;

        CHECK(kube_apply(kc, &kube_configmaps, ns, cm, &wo, &a, ST));
        rv1 = strdup(rv_of(a));
        CHECK(kube_apply(kc, &kube_configmaps, ns, cm, &wo, &b, ST));
        if (strcmp(rv1, rv_of(b)) != 0)
                IT_FAIL("identical re-apply changed resourceVersion %s -> %s", rv1, rv_of(b));
        IT_ASSERT(kube_patch(kc, &kube_configmaps, ns, "ssa", KUBE_PATCH_APPLY, "{}", NULL, NULL,
                             &st) == -EINVAL,
                  "apply without a field manager is refused client-side");
        free(rv1);
        cJSON_Delete(a);
        cJSON_Delete(b);
        cJSON_Delete(cm);
        itest_log("server-side apply: created, identical re-apply kept the resourceVersion");
}

static void test_pagination(void)
{
        struct kube_list_options lo = {.label_selector = "page=yes", .limit = 2};
        cJSON *list = NULL;

        for (int i = 0; i < 5; i++) {
                cJSON *cm = json(
                        "{\"metadata\":{\"name\":\"page-%d\",\"labels\":{\"page\":\"yes\"}}}", i);
                CHECK(kube_create(kc, &kube_configmaps, ns, cm, NULL, NULL, ST));
                cJSON_Delete(cm);
        }
        CHECK(kube_list(kc, &kube_configmaps, ns, &lo, &list, ST));
        IT_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")) == 5,
                  "5 items over pages of 2, got %d",
                  cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")));
        IT_ASSERT(str_at(list, "metadata", "continue") == NULL, "no continue left");
        IT_ASSERT(rv_of(list) != NULL, "list resourceVersion");
        cJSON_Delete(list);
        itest_log("pagination with limit=2 over 5 objects: 5");
}

static void test_custom_resource_and_status(void)
{
        cJSON *crd = json(
                "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
                "\"metadata\":{\"name\":\"widgets.test.karmada-operator.io\"},"
                "\"spec\":{\"group\":\"test.karmada-operator.io\",\"scope\":\"Namespaced\","
                "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\","
                "\"listKind\":\"WidgetList\"},"
                "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{"
                "\"status\":{}},"
                "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
                "\"spec\":{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"integer\"}}},"
                "\"status\":{\"type\":\"object\",\"properties\":{\"phase\":{\"type\":\"string\"}}}}"
                "}}}]}}");
        struct kube_write_options wo = {.field_manager = "karmada-operator-test", .force = true};
        struct kube_write_options so = {.subresource = "status"};
        cJSON *w = NULL, *got = NULL;
        double deadline = itest_now() + 30;
        struct kube_status st;
        int r;

        CHECK(kube_apply(kc, &kube_crds, NULL, crd, &wo, NULL, ST));
        cJSON_Delete(crd);
        /* the API for a new CRD appears shortly after it is Established */
        w = json("{\"apiVersion\":\"test.karmada-operator.io/"
                 "v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w1\"},\"spec\":{\"size\":3}}");
        while ((r = kube_create(kc, &widgets, ns, w, NULL, &got, &st)) == -ENOENT &&
               itest_now() < deadline)
                usleep(200 * 1000);
        if (r < 0)
                IT_FAIL("create widget: %s", st.message);
        cJSON_Delete(w);
        cJSON_AddItemToObject(got, "status", json("{\"phase\":\"Ready\"}"));
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(got, "spec"),
                                               "size", cJSON_CreateNumber(99));
        CHECK(kube_update(kc, &widgets, ns, got, &so, NULL, ST));
        cJSON_Delete(got);
        CHECK(kube_get(kc, &widgets, ns, "w1", &got, ST));
        IT_ASSERT(strcmp(str_at(got, "status", "phase"), "Ready") == 0,
                  "status written through /status");
        IT_ASSERT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(got, "spec"),
                                                   "size")
                                  ->valueint == 3,
                  "spec not changed through /status");
        cJSON_Delete(got);
        CHECK(kube_patch(kc, &widgets, ns, "w1", KUBE_PATCH_MERGE,
                         "{\"status\":{\"phase\":\"Done\"}}", &so, &got, ST));
        IT_ASSERT(strcmp(str_at(got, "status", "phase"), "Done") == 0, "status merge patch");
        cJSON_Delete(got);
        CHECK(kube_delete(kc, &widgets, ns, "w1", NULL, ST));
        itest_log("custom resource CRUD and status subresource: ok");
}

/* ---- watch ---- */

struct seen {
        pthread_mutex_t lock;
        char names[512][64];
        int types[512];
        int n;
        char *rv;
        int result;
        struct kube_cancel cancel;
        const char *prefix;
};

static int on_event(void *userdata, enum kube_event_type type, cJSON *obj)
{
        struct seen *s = userdata;
        const char *name = str_at(obj, "metadata", "name");

        if (type == KUBE_EVENT_BOOKMARK || !name ||
            strncmp(name, s->prefix, strlen(s->prefix)) != 0)
                return 0;
        pthread_mutex_lock(&s->lock);
        if (s->n < 512) {
                snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
                s->types[s->n++] = (int)type;
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static void *watch_thread(void *arg)
{
        struct seen *s = arg;
        struct kube_watch_options wo = {.cancel = &s->cancel, .timeout_seconds = 30};
        struct kube_status st;

        s->result = kube_watch(kc, &kube_configmaps, ns, &wo, &s->rv, on_event, s, &st);
        if (s->result != -ECANCELED)
                itest_log("watch ended: %d %s", s->result, st.message);
        return NULL;
}

static int seen_count(struct seen *s)
{
        int n;

        pthread_mutex_lock(&s->lock);
        n = s->n;
        pthread_mutex_unlock(&s->lock);
        return n;
}

static void wait_seen(struct seen *s, int n, double timeout)
{
        double deadline = itest_now() + timeout;

        while (seen_count(s) < n && itest_now() < deadline)
                usleep(50 * 1000);
        if (seen_count(s) < n)
                IT_FAIL("watch saw %d events of %d within %.0fs", seen_count(s), n, timeout);
}

static char *current_rv(void)
{
        cJSON *list = NULL;
        char *rv;

        CHECK(kube_list(kc, &kube_configmaps, ns, &(struct kube_list_options){.limit = 1}, &list,
                        ST));
        rv = strdup(rv_of(list));
        cJSON_Delete(list);
        return rv;
}

static void stop_watch(struct seen *s, pthread_t t)
{
        double t0 = itest_now();

        kube_cancel(&s->cancel);
        pthread_join(t, NULL);
        if (itest_now() - t0 > 1.5)
                IT_FAIL("cancelling the watch took %.2fs", itest_now() - t0);
        IT_ASSERT(s->result == -ECANCELED, "watch result %d", s->result);
}

static void test_watch_order_and_cancel(void)
{
        struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .prefix = "w-order"};
        cJSON *cm = json("{\"metadata\":{\"name\":\"w-order\"},\"data\":{\"x\":\"1\"}}");
        pthread_t t;

        s.rv = current_rv();
        pthread_create(&t, NULL, watch_thread, &s);
        CHECK(kube_create(kc, &kube_configmaps, ns, cm, NULL, NULL, ST));
        CHECK(kube_patch(kc, &kube_configmaps, ns, "w-order", KUBE_PATCH_MERGE,
                         "{\"data\":{\"x\":\"2\"}}", NULL, NULL, ST));
        CHECK(kube_delete(kc, &kube_configmaps, ns, "w-order", NULL, ST));
        wait_seen(&s, 3, 20);
        IT_ASSERT(s.types[0] == KUBE_EVENT_ADDED && s.types[1] == KUBE_EVENT_MODIFIED &&
                          s.types[2] == KUBE_EVENT_DELETED,
                  "order %d %d %d", s.types[0], s.types[1], s.types[2]);
        usleep(1500 * 1000); /* idle: cancellation must still be prompt */
        stop_watch(&s, t);
        free(s.rv);
        cJSON_Delete(cm);
        itest_log("watch: ADDED, MODIFIED, DELETED in order; cancelled promptly");
}

static void test_watch_resume_misses_nothing(void)
{
        struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .prefix = "w-resume"};
        char *from = current_rv();
        pthread_t t;

        /* written before the watch starts: a watch from `from` must still deliver them */
        for (int i = 0; i < 10; i++) {
                cJSON *cm = json("{\"metadata\":{\"name\":\"w-resume-%d\"}}", i);
                CHECK(kube_create(kc, &kube_configmaps, ns, cm, NULL, NULL, ST));
                cJSON_Delete(cm);
        }
        s.rv = from;
        pthread_create(&t, NULL, watch_thread, &s);
        wait_seen(&s, 10, 20);
        for (int i = 0; i < 10; i++) {
                char want[64];
                snprintf(want, sizeof(want), "w-resume-%d", i);
                IT_ASSERT(strcmp(s.names[i], want) == 0, "event %d is %s, want %s", i, s.names[i],
                          want);
        }
        stop_watch(&s, t);
        free(s.rv);
        itest_log("watch resumed from a resourceVersion: all 10 earlier writes delivered in order");
}

static size_t to_strbuf(char *data, size_t size, size_t n, void *userdata)
{
        return strbuf_append(userdata, data, size * n) == 0 ? size * n : 0;
}

/* etcd's HTTP/JSON gateway (plain HTTP on loopback in the test cluster) */
static long etcd_post(const char *path, const char *body, struct strbuf *out)
{
        struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
        struct strbuf sink = {0};
        CURL *h = curl_easy_init();
        long code = 0;
        char url[256];

        snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", itest_cluster_var("ETCD_PORT"), path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_strbuf);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &sink);
        if (curl_easy_perform(h) != CURLE_OK)
                IT_FAIL("etcd %s: request failed", url);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(hdr);
        curl_easy_cleanup(h);
        strbuf_free(&sink);
        return code;
}

static void test_watch_too_old_gives_relist_signal(void)
{
        struct kube_watch_options wo = {.timeout_seconds = 30};
        struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .prefix = "w-old"};
        struct strbuf out = {0};
        struct kube_status st;
        char *old = current_rv(), body[128];
        cJSON *resp, *rev;
        int r;

        for (int i = 0; i < 20; i++) {
                cJSON *cm = json("{\"metadata\":{\"name\":\"w-old-%d\"}}", i);
                CHECK(kube_create(kc, &kube_configmaps, ns, cm, NULL, NULL, ST));
                cJSON_Delete(cm);
        }
        IT_ASSERT(etcd_post("/v3/kv/range", "{\"key\":\"AA==\",\"count_only\":true}", &out) == 200,
                  "etcd range");
        resp = cJSON_Parse(out.buf);
        rev = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp, "header"),
                                               "revision");
        IT_ASSERT(cJSON_IsString(rev), "etcd revision");
        snprintf(body, sizeof(body), "{\"revision\":\"%s\",\"physical\":true}", rev->valuestring);
        IT_ASSERT(etcd_post("/v3/kv/compaction", body, NULL) == 200, "etcd compaction");
        /* the API server's watch cache still holds those events; a restart drops them, so the
         * old resourceVersion must come from etcd, where it is compacted */
        IT_ASSERT(itest_cluster_ctl("kill", "kube-apiserver") == 0, "kill kube-apiserver");
        IT_ASSERT(itest_cluster_ctl("start", "kube-apiserver") == 0, "start kube-apiserver");
        cJSON_Delete(resp);
        strbuf_free(&out);
        s.rv = old;
        s.prefix = "w-old";
        r = kube_watch(kc, &kube_configmaps, ns, &wo, &s.rv, on_event, &s, &st);
        if (r != -ESTALE)
                IT_FAIL("watch from a compacted resourceVersion returned %d (%s), want -ESTALE", r,
                        st.message);
        IT_ASSERT(st.code == 410, "status code %d", st.code);
        free(s.rv);
        itest_log("watch from a compacted resourceVersion: 410 -> -ESTALE (%s)", st.message);
}

/* list+watch across a restart: what the watch stream delivers, plus what a relist shows when
 * the restarted server no longer has the old resourceVersion (410) */
struct restart_watch {
        struct seen s;
        char listed[128][64]; /* name '|' resourceVersion, from relists */
        int n_listed, relists;
};

static void *restart_watch_thread(void *arg)
{
        struct restart_watch *w = arg;
        struct kube_watch_options wo = {.cancel = &w->s.cancel, .timeout_seconds = 30};
        struct kube_status st;

        for (;;) {
                cJSON *list = NULL;
                const cJSON *it;

                w->s.result =
                        kube_watch(kc, &kube_configmaps, ns, &wo, &w->s.rv, on_event, &w->s, &st);
                if (w->s.result != -ESTALE)
                        return NULL;
                /* the signal to list again: what is there now, and watch from the list's version */
                while (kube_list(kc, &kube_configmaps, ns, NULL, &list, &st) < 0)
                        usleep(200 * 1000);
                w->relists++;
                cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                        const char *name = str_at(it, "metadata", "name");
                        if (strncmp(name, "w-restart", 9) == 0 && w->n_listed < 128)
                                snprintf(w->listed[w->n_listed++], 64, "%s|%s", name, rv_of(it));
                }
                free(w->s.rv);
                w->s.rv = strdup(rv_of(list));
                cJSON_Delete(list);
        }
}

static bool listed(const struct restart_watch *w, const char *name, const char *rv)
{
        char key[64];

        if (snprintf(key, sizeof(key), "%s|%s", name, rv) >= (int)sizeof(key))
                return false;
        for (int i = 0; i < w->n_listed; i++)
                if (strcmp(w->listed[i], key) == 0)
                        return true;
        return false;
}

static void test_watch_survives_apiserver_restart(void)
{
        struct restart_watch w = {.s = {.lock = PTHREAD_MUTEX_INITIALIZER, .prefix = "w-restart"}};
        char written[60][64], rvs[60][32];
        int from_events = 0, from_list = 0;
        pthread_t t;

        w.s.rv = current_rv();
        pthread_create(&t, NULL, restart_watch_thread, &w);
        for (int i = 0; i < 60; i++) {
                cJSON *cm = json("{\"metadata\":{\"name\":\"w-restart-%02d\"}}", i), *got = NULL;
                struct kube_status st;
                double deadline = itest_now() + 90;
                int r;

                if (i == 30) {
                        itest_log("killing and restarting kube-apiserver mid-watch");
                        IT_ASSERT(itest_cluster_ctl("kill", "kube-apiserver") == 0,
                                  "kill kube-apiserver");
                        IT_ASSERT(itest_cluster_ctl("start", "kube-apiserver") == 0,
                                  "start kube-apiserver");
                }
                /* a create is not retried by the client once sent; retry here until it lands */
                while ((r = kube_create(kc, &kube_configmaps, ns, cm, NULL, &got, &st)) < 0 &&
                       r != -EEXIST && itest_now() < deadline)
                        usleep(200 * 1000);
                if (r < 0)
                        IT_FAIL("create w-restart-%02d: %d %s", i, r, st.message);
                snprintf(written[i], sizeof(written[i]), "w-restart-%02d", i);
                snprintf(rvs[i], sizeof(rvs[i]), "%s", rv_of(got));
                cJSON_Delete(cm);
                cJSON_Delete(got);
        }
        /* every object written was seen with the resourceVersion its create returned: as an
         * event, or (after a 410) in the relist; none twice as an event */
        for (double deadline = itest_now() + 60;; usleep(100 * 1000)) {
                int missing = 0;
                pthread_mutex_lock(&w.s.lock);
                for (int i = 0; i < 60; i++) {
                        bool ev = false;
                        for (int j = 0; j < w.s.n; j++)
                                ev = ev || strcmp(w.s.names[j], written[i]) == 0;
                        missing += !ev && !listed(&w, written[i], rvs[i]);
                }
                pthread_mutex_unlock(&w.s.lock);
                if (!missing)
                        break;
                if (itest_now() > deadline)
                        IT_FAIL("%d of 60 objects never seen (events %d, relists %d)", missing,
                                w.s.n, w.relists);
        }
        stop_watch(&w.s, t);
        for (int j = 0; j < w.s.n; j++) {
                IT_ASSERT(w.s.types[j] == KUBE_EVENT_ADDED, "event %d type %d", j, w.s.types[j]);
                for (int k = j + 1; k < w.s.n; k++)
                        IT_ASSERT(strcmp(w.s.names[j], w.s.names[k]) != 0, "%s delivered twice",
                                  w.s.names[j]);
        }
        for (int i = 0; i < 60; i++) {
                bool ev = false;
                for (int j = 0; j < w.s.n; j++)
                        ev = ev || strcmp(w.s.names[j], written[i]) == 0;
                from_events += ev;
                from_list += !ev;
        }
        free(w.s.rv);
        itest_log("kube-apiserver killed and restarted mid-watch: 60/60 objects seen (%d as "
                  "events, %d by %d relist(s) "
                  "after 410), none doubled",
                  from_events, from_list, w.relists);
}

/* ---- auth ---- */

static void test_service_account_token_and_forbidden(void)
{
        cJSON *sa = json("{\"metadata\":{\"name\":\"reader\"}}");
        cJSON *tr = json("{\"apiVersion\":\"authentication.k8s.io/"
                         "v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":600}}");
        cJSON *resp = NULL, *out = NULL;
        struct kube_config cfg = *admin_cfg;
        struct kube_client *sc;
        struct kube_status st;
        char path[256], tokfile[] = "/tmp/ko-itest-token-XXXXXX";
        const char *token;
        FILE *f;
        int fd;

        CHECK(kube_create(kc, &kube_serviceaccounts, ns, sa, NULL, NULL, ST));
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/serviceaccounts/reader/token", ns);
        CHECK(kube_post_raw(kc, path, tr, &resp, ST));
        token = str_at(resp, "status", "token");
        IT_ASSERT(token && *token, "TokenRequest returned a token");
        /* the token, and no client certificate */
        cfg.client_cert = NULL;
        cfg.client_key = NULL;
        cfg.token = (char *)token;
        sc = client_for(&cfg, 0);
        IT_ASSERT(kube_get(sc, &kube_configmaps, ns, "anything", NULL, &st) == -EPERM,
                  "forbidden: %d %s", st.code, st.message);
        IT_ASSERT(st.code == 403 && strcmp(st.reason, "Forbidden") == 0, "403 Forbidden in status");
        IT_ASSERT(strstr(st.message, "system:serviceaccount:") != NULL,
                  "message names the service account: %s", st.message);
        kube_client_free(sc);

        /* a token file that rotates: a stale token gets 401, the client re-reads and succeeds
         * (403 here proves it authenticated: 401 would mean it did not) */
        fd = mkstemp(tokfile);
        IT_ASSERT(fd >= 0, "mkstemp");
        f = fdopen(fd, "w");
        fputs("not-a-valid-token\n", f);
        fclose(f);
        cfg.token = NULL;
        cfg.token_file = tokfile;
        sc = client_for(&cfg, 0);
        IT_ASSERT(kube_get(sc, &kube_configmaps, ns, "anything", NULL, &st) == -EACCES &&
                          st.code == 401,
                  "an invalid token: 401 (%d)", st.code);
        f = fopen(tokfile, "w");
        fprintf(f, "%s\n", token);
        fclose(f);
        IT_ASSERT(kube_get(sc, &kube_configmaps, ns, "anything", NULL, &st) == -EPERM &&
                          st.code == 403,
                  "after rotation the new token is used at the next 401: %d %s", st.code,
                  st.message);
        unlink(tokfile);
        kube_client_free(sc);
        cJSON_Delete(sa);
        cJSON_Delete(tr);
        cJSON_Delete(resp);
        cJSON_Delete(out);
        itest_log("TokenRequest token authenticates; forbidden -> 403 in status; rotated token "
                  "file re-read after 401");
}

static void test_connection_reuse(void)
{
        struct kube_client *c = client_for(admin_cfg, 0);
        struct kube_client_stats s;

        for (int i = 0; i < 50; i++)
                CHECK(kube_get(c, &kube_namespaces, NULL, ns, NULL, ST));
        kube_client_stats(c, &s);
        IT_ASSERT(s.requests == 50, "requests %llu", (unsigned long long)s.requests);
        if (s.connects != 1)
                IT_FAIL("50 sequential GETs made %llu connections, want 1",
                        (unsigned long long)s.connects);
        /* idle: closed only once it has been idle that long, and the next request reconnects */
        IT_ASSERT(kube_client_close_idle(c, 60000) == 0, "a handle idle < 60 s was closed");
        usleep(300 * 1000);
        IT_ASSERT(kube_client_close_idle(c, 200) == 1, "the handle idle 300 ms was not closed");
        CHECK(kube_get(c, &kube_namespaces, NULL, ns, NULL, ST));
        kube_client_stats(c, &s);
        IT_ASSERT(s.connects == 2, "after closing the idle one: %llu connections, want 2",
                  (unsigned long long)s.connects);
        kube_client_free(c);
        itest_log("50 GETs on one thread: 1 connection (1 TLS handshake); closed when idle, "
                  "the next GET opens a second");
}

static void test_rate_limit(void)
{
        struct kube_client_options o = {.config = admin_cfg, .qps = 20, .burst = 1};
        struct kube_client *c;
        double t0, took;

        IT_ASSERT(kube_client_new(&o, &c) == 0, "client");
        t0 = itest_now();
        for (int i = 0; i < 21; i++)
                CHECK(kube_get(c, &kube_namespaces, NULL, ns, NULL, ST));
        took = itest_now() - t0;
        /* a lower bound only: 20 tokens at 20/s after the first */
        IT_ASSERT(took >= 0.95, "21 requests at qps 20, burst 1 took %.2fs", took);
        kube_client_free(c);
        itest_log("client-side rate limit: 21 GETs at qps=20 burst=1 took %.2fs", took);
}

static void test_body_limit(void)
{
        struct kube_client *c = client_for(admin_cfg, 512);
        struct kube_status st;
        cJSON *list = NULL;
        int r;

        r = kube_list(c, &kube_configmaps, ns, NULL, &list, &st);
        IT_ASSERT(r == -E2BIG, "list over a 512-byte limit: %d", r);
        IT_ASSERT(strstr(st.message, "exceeds 512 bytes") != NULL, "message: %s", st.message);
        kube_client_free(c);
        itest_log("response over max_body: -E2BIG (%s)", st.message);
}

/* A CA that did not sign the API server's certificate (made here, in memory). */
static char *other_ca_pem(size_t *len)
{
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        X509_NAME *n;
        BIO *b = BIO_new(BIO_s_mem());
        char *data, *out;
        long l;

        IT_ASSERT(key && x && b, "openssl");
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, key);
        n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"not-the-cluster-ca", -1, -1, 0);
        X509_set_issuer_name(x, n);
        IT_ASSERT(X509_sign(x, key, EVP_sha256()) > 0, "sign");
        PEM_write_bio_X509(b, x);
        l = BIO_get_mem_data(b, &data);
        out = malloc((size_t)l + 1);
        IT_ASSERT(out, "malloc");
        memcpy(out, data, (size_t)l);
        out[l] = '\0';
        *len = (size_t)l;
        BIO_free(b);
        X509_free(x);
        EVP_PKEY_free(key);
        return out;
}

static int try_version(const struct kube_config *cfg, struct kube_status *st)
{
        struct kube_client *c = client_for(cfg, 0);
        char *body = NULL;
        int r = kube_get_raw(c, "/version", &body, NULL, st);

        free(body);
        kube_client_free(c);
        return r;
}

static void test_tls_verification(void)
{
        struct kube_config cfg = *admin_cfg;
        struct kube_status st;
        size_t len;
        char *ca = other_ca_pem(&len);
        int r;

        cfg.ca = (unsigned char *)ca;
        cfg.ca_len = len;
        r = try_version(&cfg, &st);
        IT_ASSERT(r == -EPROTO && st.code == 0,
                  "a server not signed by the configured CA is refused: %d %s", r, st.message);
        itest_log("another CA: refused (%s)", st.message);
        free(ca);

        cfg = *admin_cfg;
        cfg.tls_server_name = "kubernetes.default.svc";
        r = try_version(&cfg, &st);
        IT_ASSERT(r == 0, "tls-server-name in the certificate's SANs: %s", st.message);
        cfg.tls_server_name = "not-in-the-certificate.example";
        r = try_version(&cfg, &st);
        IT_ASSERT(r == -EPROTO, "tls-server-name not in the SANs is refused: %d %s", r, st.message);
        itest_log("tls-server-name: verified against the certificate (%s)", st.message);
}

/* A probe answers once, and fails at once where nothing listens (no retry) */
static void test_probe(void)
{
        struct kube_config cfg = *admin_cfg;
        struct kube_client *c;
        struct kube_client_stats s;
        struct kube_status st;
        double t0;
        int r;

        CHECK(kube_probe(kc, "/api/v1/nodes?limit=1", 5000, ST));
        cfg.server = "https://127.0.0.1:1";
        c = client_for(&cfg, 0);
        t0 = itest_now();
        r = kube_probe(c, "/readyz", 5000, &st);
        kube_client_stats(c, &s);
        IT_ASSERT(r < 0 && s.requests == 1 && s.retries == 0,
                  "a probe of a closed port: %d, %llu requests, %llu retries", r,
                  (unsigned long long)s.requests, (unsigned long long)s.retries);
        itest_log("a probe of a closed port failed once in %.3f s: %s", itest_now() - t0,
                  st.message);
        kube_client_free(c);
}

/* ---- port-forward: through the API server to kwok, whose PortForward sends it here ---- */

struct echo {
        int listener;
};

/* One connection: what arrives goes back, until the other side closes */
static void *echo_serve(void *arg)
{
        struct echo *e = arg;
        char buf[8192];
        ssize_t n;
        int fd = accept(e->listener, NULL, NULL);

        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                if (write(fd, buf, (size_t)n) != n)
                        break;
        if (fd >= 0)
                close(fd);
        return NULL;
}

static int listen_on(int port)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        IT_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0,
                  "listen on %d", port);
        return fd;
}

struct sender {
        int fd;
        const unsigned char *buf;
        size_t len;
};

static void *send_all(void *arg)
{
        struct sender *s = arg;

        for (size_t off = 0; off < s->len;) {
                ssize_t n = write(s->fd, s->buf + off, s->len - off);
                if (n <= 0)
                        break;
                off += (size_t)n;
        }
        return NULL;
}

static int open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        while (d && readdir(d))
                n++;
        if (d)
                closedir(d);
        return n;
}

/* The process's open fds back to n (a forward's thread closes its own a moment after) */
static void wait_fds(int n)
{
        double t0 = itest_now();

        while (open_fds() > n && itest_now() - t0 < 10)
                usleep(50 * 1000);
        if (open_fds() > n) {
                struct dirent *e;
                DIR *d = opendir("/proc/self/fd");
                while ((e = readdir(d))) {
                        char p[300], l[300] = "";
                        snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
                        if (readlink(p, l, sizeof(l) - 1) > 0)
                                fprintf(stderr, "fd %s -> %s\n", e->d_name, l);
                }
                closedir(d);
        }
        IT_ASSERT(open_fds() <= n, "%d fds open, %d before the forward", open_fds(), n);
}

/* A forward to port of pod "pf", once kwok knows its PortForward */
static struct kube_port_forward *forward_to(int port, struct kube_status *st)
{
        struct kube_port_forward *pf = NULL;
        double t0 = itest_now();

        while (kube_port_forward_open(kc, ns, "pf", port, &pf, st) < 0 && itest_now() - t0 < 30)
                usleep(200 * 1000);
        return pf;
}

static size_t discard(char *buf, size_t size, size_t n, void *userdata)
{
        (void)buf;
        *(size_t *)userdata += size * n;
        return size * n;
}

/* A GET of https://localhost:<port>/readyz (the API server's own, reached through the forward,
 * its certificate checked) with libcurl over the forward's socket, as the backups use it */
static long https_through(struct kube_port_forward *pf, int port, size_t *got)
{
        struct curl_blob ca = {admin_cfg->ca, admin_cfg->ca_len, CURL_BLOB_COPY};
        char url[128];
        long code = 0;
        CURL *h = curl_easy_init();

        snprintf(url, sizeof(url), "https://localhost:%d/readyz", port);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ABSTRACT_UNIX_SOCKET, kube_port_forward_socket(pf));
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        if (curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        return code;
}

static const struct kube_resource port_forwards = {"kwok.x-k8s.io", "v1alpha1", "portforwards",
                                                   "PortForward", true};

static void test_port_forward(void)
{
        static unsigned char sent[300 * 1024], got[sizeof(sent)];
        int echo_port = itest_free_port(), closed_port = itest_free_port(),
            api_port = (int)strtol(strrchr(admin_cfg->server, ':') + 1, NULL, 10);
        size_t body = 0;
        struct echo e = {listen_on(echo_port)};
        struct sender snd;
        struct kube_port_forward *pf;
        struct kube_status st;
        pthread_t echo_thread, send_thread;
        size_t have = 0;
        ssize_t n;
        int fd, fds, r;
        double t0;
        char error[512];
        cJSON *sa;
        cJSON *pod = json("{\"metadata\":{\"name\":\"pf\"},\"spec\":{\"nodeName\":\"kwok-node-0\","
                          "\"containers\":[{\"name\":\"c\",\"image\":\"none\",\"ports\":["
                          "{\"containerPort\":7000},{\"containerPort\":7001}]}]}}");
        cJSON *fw = json("{\"apiVersion\":\"kwok.x-k8s.io/v1alpha1\",\"kind\":\"PortForward\","
                         "\"metadata\":{\"name\":\"pf\"},\"spec\":{\"forwards\":["
                         "{\"ports\":[7000],\"target\":{\"address\":\"127.0.0.1\",\"port\":%d}},"
                         "{\"ports\":[7001],\"target\":{\"address\":\"127.0.0.1\",\"port\":%d}},"
                         "{\"ports\":[7002],\"target\":{\"address\":\"127.0.0.1\",\"port\":%d}}]}}",
                         echo_port, closed_port, api_port);

        /* the namespace's default ServiceAccount, which admission wants, made here: on the fault
         * cluster, whose API server the tests restart, kube-controller-manager's informers may
         * still be backing off (a run waited 20 s for it in vain); 409 when it was first */
        sa = json("{\"metadata\":{\"name\":\"default\"}}");
        r = kube_create(kc, &kube_serviceaccounts, ns, sa, NULL, NULL, &st);
        IT_ASSERT(r == 0 || st.code == 409, "create serviceaccount default: %s", st.message);
        cJSON_Delete(sa);
        t0 = itest_now();
        while ((r = kube_create(kc, &kube_pods, ns, pod, NULL, NULL, &st)) < 0 &&
               itest_now() - t0 < 20)
                usleep(200 * 1000);
        IT_ASSERT(r == 0, "create pod pf: %s", st.message);
        CHECK(kube_create(kc, &port_forwards, ns, fw, NULL, NULL, ST));
        IT_ASSERT(RAND_bytes(sent, sizeof(sent)) == 1, "random");
        pthread_create(&echo_thread, NULL, echo_serve, &e);
        pf = forward_to(7000, &st);
        IT_ASSERT(pf, "port-forward to pf:7000: %d %s", st.code, st.message);
        fd = kube_port_forward_connect(pf);
        IT_ASSERT(fd >= 0, "connect to %s", kube_port_forward_socket(pf));
        {
                int second = kube_port_forward_connect(pf); /* queued, then closed unserved */
                char c;
                IT_ASSERT(second < 0 || read(second, &c, 1) <= 0, "a second connection served");
                if (second >= 0)
                        close(second);
        }
        snd = (struct sender){fd, sent, sizeof(sent)};
        pthread_create(&send_thread, NULL, send_all, &snd);
        while (have < sizeof(got) && (n = read(fd, got + have, sizeof(got) - have)) > 0)
                have += (size_t)n;
        pthread_join(send_thread, NULL);
        IT_ASSERT(have == sizeof(sent) && memcmp(sent, got, have) == 0,
                  "%zu of %zu bytes came back as sent", have, sizeof(sent));
        close(fd);
        kube_port_forward_release(pf);
        pthread_detach(echo_thread); /* kwok keeps its end of the echo's connection a while */
        usleep(500 * 1000); /* the forward's thread ends; the first made OpenSSL's and lws's
                             * lasting fds; kwok may keep the echo's connection a while */
        fds = open_fds();

        /* opened, never connected to: released, it closes */
        pf = forward_to(7000, &st);
        IT_ASSERT(pf, "port-forward to pf:7000: %s", st.message);
        kube_port_forward_release(pf);
        wait_fds(fds); /* nothing of the forward is left */

        /* nothing listens behind 7001: the node says so on the error channel, the caller reads
         * the end of the stream */
        pf = forward_to(7001, &st);
        IT_ASSERT(pf, "port-forward to pf:7001: %s", st.message);
        fd = kube_port_forward_connect(pf);
        IT_ASSERT(fd >= 0 && write(fd, "x", 1) == 1, "connect and write");
        IT_ASSERT(read(fd, got, sizeof(got)) <= 0, "bytes from nowhere");
        kube_port_forward_error(pf, error, sizeof(error));
        IT_ASSERT(strstr(error, "7001"), "the error channel: \"%s\"", error);
        close(fd);
        kube_port_forward_release(pf);
        wait_fds(fds); /* nothing of the forward is left */

        /* TLS through it with libcurl, as a backup reads etcd: the API server's own readyz */
        for (int i = 0; i < 10; i++) { /* one after the other, as a backup's requests */
                pf = forward_to(7002, &st);
                IT_ASSERT(pf, "port-forward to pf:7002: %s", st.message);
                IT_ASSERT(https_through(pf, 7002, &body) == 200 && body > 0,
                          "GET /readyz through the forward: %zu bytes", body);
                kube_port_forward_release(pf);
        }
        wait_fds(fds); /* nothing of the forward is left */

        IT_ASSERT(kube_port_forward_open(kc, ns, "no-such-pod", 7000, &pf, &st) == -ENOENT &&
                          st.code == 404,
                  "a pod that is not there: %d %s", st.code, st.message);
        close(e.listener);
        cJSON_Delete(pod);
        cJSON_Delete(fw);
        itest_log("port-forward: %zu KiB there and back through the API server and kwok; HTTPS "
                  "with libcurl through it; nothing listening: \"%s\"; no pod: %s",
                  sizeof(sent) / 1024, error, st.message);
}

int main(void)
{
        struct kube_config_options o = {.kubeconfig = itest_kubeconfig()};
        char err[512];
        cJSON *nsobj;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kube_config_load(&o, &admin_cfg, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        kc = client_for(admin_cfg, 0);
        ns = itest_unique_name("client");
        nsobj = json("{\"metadata\":{\"name\":\"%s\"}}", ns);
        CHECK(kube_create(kc, &kube_namespaces, NULL, nsobj, NULL, NULL, ST));
        cJSON_Delete(nsobj);

        test_configmap_crud();
        test_server_side_apply_is_idempotent();
        test_pagination();
        test_custom_resource_and_status();
        test_connection_reuse();
        test_rate_limit();
        test_body_limit();
        test_tls_verification();
        test_probe();
        test_port_forward();
        test_service_account_token_and_forbidden();
        test_watch_order_and_cancel();
        test_watch_resume_misses_nothing();
        test_watch_too_old_gives_relist_signal();
        test_watch_survives_apiserver_restart();

        CHECK(kube_delete(kc, &kube_namespaces, NULL, ns, NULL, ST));
        CHECK(kube_delete(kc, &kube_crds, NULL, "widgets.test.karmada-operator.io", NULL, ST));
        kube_client_free(kc);
        kube_config_free(admin_cfg);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
