/* SPDX-License-Identifier: Apache-2.0 */
/* The informer against the real kube-apiserver: it sees create/update/delete of 100
 * ConfigMaps, caches only what its label selector matches, keeps indexes, and across a
 * kube-apiserver kill and restart, etcd compacted meanwhile (its watch answered 410 Gone, a
 * relist), ends with exactly the API's state (nothing missed). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"
#include "kube/client.h"
#include "runtime/informer.h"
#include "runtime/log.h"
#include "util/fileio.h"
#include "util/strbuf.h"

#define N 100

static struct kube_client *kc;
static const char *ns;

/* What the handlers saw: the last resourceVersion per name ("" once deleted). */
struct seen {
        pthread_mutex_t lock;
        char rv[2 * N][32];
        int adds, updates, deletes, foreign;
};

/* "inf-<i>" -> i, or -1 */
static int parse_index(const char *name)
{
        char *end;
        long i;

        if (strncmp(name, "inf-", 4) != 0)
                return -1;
        i = strtol(name + 4, &end, 10);
        return *end || end == name + 4 || i < 0 || i >= 2L * N ? -1 : (int)i;
}

static int index_of(struct kobj *o)
{
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(kobj_json(o), "metadata"), "name");

        return cJSON_IsString(name) ? parse_index(name->valuestring) : -1;
}

static void on_add(void *userdata, struct kobj *o)
{
        struct seen *s = userdata;
        int i = index_of(o);

        pthread_mutex_lock(&s->lock);
        if (i < 0)
                s->foreign++;
        else {
                s->adds++;
                snprintf(s->rv[i], sizeof(s->rv[i]), "%s", o->rv);
        }
        pthread_mutex_unlock(&s->lock);
}

static void on_update(void *userdata, struct kobj *old, struct kobj *o)
{
        struct seen *s = userdata;
        int i = index_of(o);

        pthread_mutex_lock(&s->lock);
        if (i >= 0) {
                s->updates++;
                snprintf(s->rv[i], sizeof(s->rv[i]), "%s", o->rv);
        }
        pthread_mutex_unlock(&s->lock);
}

static void on_delete(void *userdata, struct kobj *o)
{
        struct seen *s = userdata;
        int i = index_of(o);

        pthread_mutex_lock(&s->lock);
        if (i >= 0) {
                s->deletes++;
                s->rv[i][0] = '\0';
        }
        pthread_mutex_unlock(&s->lock);
}

static size_t collect(char *buf, size_t size, size_t n, void *userdata)
{
        return strbuf_append(userdata, buf, size * n) < 0 ? 0 : size * n;
}

/* POST body to path of the host cluster's etcd (plain HTTP on 127.0.0.1, its port in
 * cluster.env); the JSON answer */
static cJSON *host_etcd(const char *path, const char *body)
{
        char url[256];
        struct strbuf out = {0};
        CURL *h = curl_easy_init();
        cJSON *ans;

        snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", itest_cluster_var("ETCD_PORT"), path);
        IT_ASSERT(h, "curl");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
        IT_ASSERT(curl_easy_perform(h) == CURLE_OK, "POST %s", url);
        curl_easy_cleanup(h);
        ans = cJSON_Parse(out.buf ? out.buf : "");
        IT_ASSERT(ans, "etcd %s: %s", path, out.buf ? out.buf : "");
        strbuf_free(&out);
        return ans;
}

/* While the kube-apiserver is down: a write past everything the informer saw, then etcd
 * compacted to it, so that the informer's watch cannot resume (410 Gone) */
static void compact_host_etcd(void)
{
        cJSON *put =
                host_etcd("/v3/kv/put", "{\"key\":\"L2tvLXRlc3QvYnVtcA==\",\"value\":\"MQ==\"}");
        const char *rev = cJSON_GetStringValue(
                cJSON_GetObjectItem(cJSON_GetObjectItem(put, "header"), "revision"));
        char body[128];

        IT_ASSERT(rev, "no revision from etcd");
        snprintf(body, sizeof(body), "{\"revision\":\"%s\",\"physical\":true}", rev);
        cJSON_Delete(host_etcd("/v3/kv/compaction", body));
        itest_log("host etcd compacted at revision %s", rev);
        cJSON_Delete(put);
}

static void cm(const char *verb, int i, bool labelled, const char *value)
{
        char body[512], name[32];
        struct kube_status st;
        cJSON *o;
        int r = 0;
        double deadline = itest_now() + 90;

        snprintf(name, sizeof(name), "inf-%d", i);
        snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"%s},\"data\":{\"v\":\"%s\"}}",
                 name, labelled ? ",\"labels\":{\"ko-test\":\"informer\",\"parity\":\"x\"}" : "",
                 value);
        if (labelled && i % 2) /* half of them in another index bucket */
                snprintf(body, sizeof(body),
                         "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"ko-test\":\"informer\","
                         "\"parity\":\"y\"}},"
                         "\"data\":{\"v\":\"%s\"}}",
                         name, value);
        o = cJSON_Parse(body);
        /* a write may hit the restarting API server: retry until it lands */
        do {
                if (strcmp(verb, "create") == 0)
                        r = kube_create(kc, &kube_configmaps, ns, o, NULL, NULL, &st);
                else if (strcmp(verb, "update") == 0)
                        r = kube_patch(kc, &kube_configmaps, ns, name, KUBE_PATCH_MERGE, body, NULL,
                                       NULL, &st);
                else
                        r = kube_delete(kc, &kube_configmaps, ns, name, NULL, &st);
                if (r == -EEXIST || (r == -ENOENT && strcmp(verb, "delete") == 0))
                        r = 0; /* an earlier try landed */
                if (r < 0)
                        usleep(200 * 1000);
        } while (r < 0 && itest_now() < deadline);
        if (r < 0)
                IT_FAIL("%s %s: %s", verb, name, st.message);
        cJSON_Delete(o);
}

static void wait_for(struct seen *s, int adds, int updates, int deletes, double timeout)
{
        double deadline = itest_now() + timeout;

        for (;;) {
                pthread_mutex_lock(&s->lock);
                bool done = s->adds >= adds && s->updates >= updates && s->deletes >= deletes;
                int a = s->adds, u = s->updates, d = s->deletes;
                pthread_mutex_unlock(&s->lock);
                if (done)
                        return;
                if (itest_now() > deadline)
                        IT_FAIL("handlers saw %d adds, %d updates, %d deletes; want %d, %d, %d", a,
                                u, d, adds, updates, deletes);
                usleep(50 * 1000);
        }
}

/* The API's state of the labelled ConfigMaps equals what the handlers last saw and what the
 * store holds. */
static bool converged(struct seen *s, struct informer *inf, char *why, size_t whylen)
{
        struct kube_list_options lo = {.label_selector = "ko-test=informer"};
        char api[2 * N][32] = {{0}};
        struct kube_status st;
        cJSON *list = NULL;
        const cJSON *it;
        bool ok = true;

        if (kube_list(kc, &kube_configmaps, ns, &lo, &list, &st) < 0) {
                snprintf(why, whylen, "list: %s", st.message);
                return false;
        }
        cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
                int i = parse_index(cJSON_GetObjectItemCaseSensitive(md, "name")->valuestring);
                if (i >= 0)
                        snprintf(api[i], sizeof(api[i]), "%s",
                                 cJSON_GetObjectItemCaseSensitive(md, "resourceVersion")
                                         ->valuestring);
        }
        cJSON_Delete(list);
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < 2 * N && ok; i++) {
                char key[64];
                struct kobj *o;
                snprintf(key, sizeof(key), "%s/inf-%d", ns, i);
                o = store_get(informer_store(inf), key);
                if (strcmp(api[i], s->rv[i]) != 0 || strcmp(api[i], o ? o->rv : "") != 0) {
                        snprintf(why, whylen, "inf-%d: API rv '%s', handlers '%s', store '%s'", i,
                                 api[i], s->rv[i], o ? o->rv : "");
                        ok = false;
                }
                kobj_unref(o);
        }
        pthread_mutex_unlock(&s->lock);
        return ok;
}

/* Until the informer is (or is no longer) current: watching what it listed */
static void wait_current(struct informer *inf, bool current, double timeout)
{
        double t0 = itest_now();

        while (informer_is_current(inf) != current) {
                IT_ASSERT(itest_now() - t0 < timeout, "the informer %s current after %.0f s",
                          current ? "is not" : "is still", timeout);
                usleep(100 * 1000);
        }
        itest_log("the informer is%s current %.1f s later", current ? "" : " no longer",
                  itest_now() - t0);
}

static void wait_converged(struct seen *s, struct informer *inf, double timeout)
{
        double deadline = itest_now() + timeout;
        char why[256] = "";

        while (!converged(s, inf, why, sizeof(why))) {
                if (itest_now() > deadline)
                        IT_FAIL("informer did not converge on the API's state: %s", why);
                usleep(100 * 1000);
        }
}

/* A resource the API server does not serve (a CRD never installed): the informer never
 * reports synced, and says why once on stderr rather than failing silently. */
static void unserved_resource(void)
{
        static const struct kube_resource widgets = {"example.invalid", "v1", "widgets", "Widget",
                                                     true};
        char path[] = "/tmp/ko-itest-stderr-XXXXXX", *text = NULL;
        struct informer *inf;
        size_t len;
        int fd, saved;

        fd = mkstemp(path);
        IT_ASSERT(fd >= 0, "mkstemp");
        saved = dup(STDERR_FILENO);
        IT_ASSERT(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0, "redirect stderr");
        IT_ASSERT(informer_new(&(struct informer_options){.client = kc,
                                                          .resource = &widgets,
                                                          .namespace = ns},
                               &inf) == 0,
                  "informer");
        IT_ASSERT(informer_start(inf) == 0, "start");
        usleep(1500 * 1000);
        IT_ASSERT(!informer_has_synced(inf), "an unserved resource never syncs");
        informer_free(inf);
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fd);
        IT_ASSERT(fileio_read(path, 1u << 20, &text, &len) == 0, "read %s", path);
        unlink(path);
        IT_ASSERT(strstr(text, "level=warn") && strstr(text, "is its CRD installed?") &&
                          strstr(text, "informer=widgets"),
                  "the informer warns about the missing resource: %s", text);
        /* retries at 0.2, 0.4, 0.8 s fail again, but the warning is not repeated */
        IT_ASSERT(strstr(strstr(text, "is its CRD installed?") + 1, "is its CRD installed?") ==
                          NULL,
                  "warned once: %s", text);
        itest_log("an unserved resource: never synced, one warning naming it");
        free(text);
}

static void make_ns(const char *name)
{
        char body[256];
        cJSON *o;

        snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", name);
        o = cJSON_Parse(body);
        IT_ASSERT(kube_create(kc, &kube_namespaces, NULL, o, NULL, NULL, NULL) == 0, "namespace %s",
                  name);
        cJSON_Delete(o);
}

static void labelled_cm(const char *in, const char *name)
{
        cJSON *o = cJSON_Parse("{\"metadata\":{\"labels\":{\"ko-test\":\"several\"}}}");

        cJSON_AddStringToObject(cJSON_GetObjectItem(o, "metadata"), "name", name);
        IT_ASSERT(kube_create(kc, &kube_configmaps, in, o, NULL, NULL, NULL) == 0, "%s/%s", in,
                  name);
        cJSON_Delete(o);
}

/* An informer of two namespaces ("a,b", as --watch-namespace): one list and watch each, into one
 * store; a third namespace's objects never come in; an empty name in the list is refused */
static void several_namespaces(void)
{
        char a[64], b[64], c[64], both[130];
        struct informer *inf;
        double t0;

        snprintf(a, sizeof(a), "%s-a", ns);
        snprintf(b, sizeof(b), "%s-b", ns);
        snprintf(c, sizeof(c), "%s-c", ns);
        snprintf(both, sizeof(both), "%s,%s", a, b);
        make_ns(a);
        make_ns(b);
        make_ns(c);
        IT_ASSERT(informer_new(&(struct informer_options){.client = kc,
                                                          .resource = &kube_configmaps,
                                                          .namespace = "x,,y"},
                               &inf) == -EINVAL,
                  "an empty namespace in the list");
        IT_ASSERT(informer_new(&(struct informer_options){.client = kc,
                                                          .resource = &kube_configmaps,
                                                          .namespace = both,
                                                          .label_selector = "ko-test=several"},
                               &inf) == 0 &&
                          informer_start(inf) == 0,
                  "informer of %s", both);
        for (t0 = itest_now(); !informer_has_synced(inf) && itest_now() - t0 < 30;)
                usleep(20 * 1000);
        IT_ASSERT(informer_has_synced(inf), "synced");
        labelled_cm(a, "one");
        labelled_cm(b, "two");
        labelled_cm(c, "three");
        for (t0 = itest_now(); store_len(informer_store(inf)) < 2 && itest_now() - t0 < 30;)
                usleep(50 * 1000);
        usleep(1000 * 1000); /* time for the third, were it watched */
        IT_ASSERT(store_len(informer_store(inf)) == 2, "%zu objects cached from %s",
                  store_len(informer_store(inf)), both);
        IT_ASSERT(kube_delete(kc, &kube_configmaps, b, "two", NULL, NULL) == 0, "delete");
        for (t0 = itest_now(); store_len(informer_store(inf)) > 1 && itest_now() - t0 < 30;)
                usleep(50 * 1000);
        IT_ASSERT(store_len(informer_store(inf)) == 1, "after a delete in %s: %zu", b,
                  store_len(informer_store(inf)));
        informer_free(inf);
        for (const char *const *n = (const char *const[]){a, b, c, NULL}; *n; n++)
                kube_delete(kc, &kube_namespaces, NULL, *n, NULL, NULL);
        itest_log("an informer of two namespaces cached theirs (2), not a third's; a delete in one "
                  "came through");
}

int main(void)
{
        struct kube_config_options co = {.kubeconfig = itest_kubeconfig()};
        struct informer_handlers h = {
                .on_add = on_add, .on_update = on_update, .on_delete = on_delete};
        struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
        struct informer_stats stats;
        struct kube_config *cfg;
        struct informer *inf;
        struct kobj **l;
        size_t n;
        char err[512], body[256];
        cJSON *o;
        double t0;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT);
        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &kc) == 0,
                  "client");
        ns = itest_unique_name("informer");
        snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
        o = cJSON_Parse(body);
        IT_ASSERT(kube_create(kc, &kube_namespaces, NULL, o, NULL, NULL, NULL) == 0, "namespace");
        cJSON_Delete(o);

        IT_ASSERT(informer_new(&(struct informer_options){.client = kc,
                                                          .resource = &kube_configmaps,
                                                          .namespace = ns,
                                                          .label_selector = "ko-test=informer",
                                                          .page_size = 7,
                                                          .handlers = &h,
                                                          .userdata = &s},
                               &inf) == 0,
                  "informer");
        IT_ASSERT(store_add_index(informer_store(inf), "parity", store_index_label, "parity") == 0,
                  "index");
        IT_ASSERT(informer_start(inf) == 0, "start");
        for (t0 = itest_now(); !informer_has_synced(inf) && itest_now() - t0 < 30;)
                usleep(20 * 1000);
        IT_ASSERT(informer_has_synced(inf), "synced");

        /* 100 create, update, delete; 10 unlabelled ones it must never see */
        for (int i = 0; i < N; i++)
                cm("create", i, true, "1");
        for (int i = 0; i < 10; i++)
                cm("create", N + i, false, "1");
        wait_for(&s, N, 0, 0, 60);
        IT_ASSERT(store_by_index(informer_store(inf), "parity", "x", &l, &n) == 0 && n == N / 2,
                  "index: %zu", n);
        store_list_free(l, n);
        for (int i = 0; i < N; i++)
                cm("update", i, true, "2");
        wait_for(&s, N, N, 0, 60);
        for (int i = 0; i < N; i++)
                cm("delete", i, true, "");
        wait_for(&s, N, N, N, 60);
        wait_converged(&s, inf, 30);
        IT_ASSERT(s.foreign == 0 && store_len(informer_store(inf)) == 0, "foreign %d, store %zu",
                  s.foreign, store_len(informer_store(inf)));
        itest_log("100 ConfigMaps created, updated, deleted: %d adds, %d updates, %d deletes; 10 "
                  "unlabelled never cached",
                  s.adds, s.updates, s.deletes);

        /* across a kube-apiserver kill and restart */
        for (int i = N; i < 2 * N; i++) {
                if (i == N + N / 2) {
                        itest_log("killing and restarting kube-apiserver");
                        IT_ASSERT(itest_cluster_ctl("kill", "kube-apiserver") == 0, "kill");
                        wait_current(inf, false, 5);
                        compact_host_etcd();
                        IT_ASSERT(itest_cluster_ctl("start", "kube-apiserver") == 0, "start");
                        informer_wake(inf);
                        wait_current(inf, true, 10);
                }
                cm("create", i, true, "1");
        }
        for (int i = N; i < 2 * N; i += 3)
                cm("update", i, true, "3");
        for (int i = N + 1; i < 2 * N; i += 4)
                cm("delete", i, true, "");
        wait_converged(&s, inf, 90);
        informer_get_stats(inf, &stats);
        /* etcd was compacted past what the informer saw: its watch is answered 410 Gone and it
         * lists again */
        IT_ASSERT(stats.relists_410 >= 1, "no relist after a 410 (%lu lists)", stats.lists);
        itest_log("after a kube-apiserver restart the informer matches the API exactly (lists %lu, "
                  "relists after 410 %lu, "
                  "events %lu)",
                  stats.lists, stats.relists_410, stats.events);

        informer_free(inf);
        several_namespaces();
        unserved_resource();
        IT_ASSERT(kube_delete(kc, &kube_namespaces, NULL, ns, NULL, NULL) == 0, "cleanup");
        kube_client_free(kc);
        kube_config_free(cfg);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
