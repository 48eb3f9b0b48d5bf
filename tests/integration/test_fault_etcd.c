/* SPDX-License-Identifier: Apache-2.0 */
/* The host cluster's etcd stopped for 30 s while the operator installs an instance (label
 * "fault"; on a cluster of its own, fixture fault_cluster: the whole cluster loses its store).
 * Nothing can be written to the API server then, the instance's status included, so what says so is
 * the operator itself:
 *   - the leader cannot renew its Lease: it says so and exits 1 within the renew deadline and
 *     a margin (no crash; a supervisor, here the test, starts it again after 1 s, as a kubelet
 *     would);
 *   - the new process stays up, its /readyz not ready while the store is gone;
 *   - once etcd is back, the instance converges: Ready within 120 s, its CAs and every
 *     Secret's content as before the outage (nothing generated again, nothing lost). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/fileio.h"
#include "util/strbuf.h"

#define INSTANCE  "store"
#define OUTAGE_S  30.0
#define LEASE_S   6
#define RENEW_S   4.0
#define MAX_SLOTS 4

static const char *ns;

/* The instance's Secrets in the host */
static cJSON *secrets(void)
{
        struct kube_status st;
        cJSON *list = NULL;

        IT_ASSERT(kube_list(live_kc, &kube_secrets, ns, NULL, &list, &st) == 0, "list Secrets: %s",
                  st.message);
        return list;
}

/* Every Secret of `before` is in `after` with the same data; how many */
static int secrets_kept(const cJSON *before, const cJSON *after)
{
        const cJSON *b, *a;
        int n = 0;

        cJSON_ArrayForEach (b, cJSON_GetObjectItem(before, "items")) {
                const char *name = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name"));
                bool found = false;
                cJSON_ArrayForEach (a, cJSON_GetObjectItem(after, "items")) {
                        const char *an = cJSON_GetStringValue(
                                cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"), "name"));
                        if (!an || !name || strcmp(an, name) != 0)
                                continue;
                        found = true;
                        IT_ASSERT(cJSON_Compare(cJSON_GetObjectItem(b, "data"),
                                                cJSON_GetObjectItem(a, "data"), true),
                                  "Secret %s changed across the outage", name);
                }
                IT_ASSERT(found, "Secret %s is gone after the outage", name ? name : "?");
                n++;
        }
        return n;
}

/* Whether the operator's log says it lost leadership, its lease not renewed */
static bool log_says_lost(const char *path)
{
        char *text = NULL;
        size_t len = 0;
        bool says;

        if (fileio_read(path, 16u << 20, &text, &len) < 0)
                return false;
        says = strstr(text, "lost leadership: lease not renewed") != NULL;
        free(text);
        return says;
}

static bool etcd_stopped;

/* a failed check must not leave the shared cluster without its store */
static void etcd_back(void)
{
        if (etcd_stopped && itest_cluster_ctl("start", "etcd") == 0)
                etcd_stopped = false;
}

int main(void)
{
        char cond[1024];
        cJSON *before, *after;
        int slot = 0, kept, status;
        double t_stop, t_exit = -1, took;
        bool unready_seen = false;

        live_setup();
        ns = itest_unique_name("store");
        live_make_ns(ns);
        live_lease_seconds(LEASE_S);
        live_start_operator(slot, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        live_create_instance(ns, INSTANCE, NULL);
        /* mid-reconcile: etcd runs, the rest is being installed */
        live_wait_condition(ns, INSTANCE, "EtcdReady", "True", 240);
        live_condition(ns, INSTANCE, "Ready", cond, sizeof(cond));
        itest_log("stopping the host etcd while the instance is at: Ready %.120s", cond);
        before = secrets();

        atexit(etcd_back);
        t_stop = itest_now();
        etcd_stopped = true;
        IT_ASSERT(itest_cluster_ctl("stop", "etcd") == 0, "stop etcd");
        itest_log("etcd stopped in %.1fs", itest_now() - t_stop);
        while (itest_now() - t_stop < OUTAGE_S) {
                status = live_operator_exited(slot);
                if (status >= 0) {
                        IT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                                  "the leader ended with wait status %d, not exit 1", status);
                        IT_ASSERT(log_says_lost(live_operator_log(slot)),
                                  "the leader's log does not say that it could not renew its "
                                  "lease");
                        if (t_exit < 0)
                                t_exit = itest_now() - t_stop;
                        IT_ASSERT(++slot < MAX_SLOTS, "the operator exited %d times", slot);
                        usleep(1000 * 1000); /* the supervisor's pause */
                        live_start_operator(slot, itest_operator_bin(), ns, itest_operator_cache(),
                                            NULL);
                        continue;
                }
                if (slot > 0 && itest_now() - t_stop > t_exit + 5) {
                        struct strbuf out = {0};
                        long code =
                                itest_http_get(live_operator_metrics_port(slot), "/readyz", &out);
                        IT_ASSERT(code != 200, "/readyz 200 while the host etcd is stopped");
                        unready_seen = unready_seen || code != 0;
                        strbuf_free(&out);
                }
                usleep(200 * 1000);
        }
        IT_ASSERT(t_exit >= 0 && t_exit <= RENEW_S + 15,
                  "the leader did not stop within the renew deadline and a margin: %.1fs", t_exit);
        IT_ASSERT(unready_seen, "the new process never answered /readyz during the outage");
        IT_ASSERT(itest_cluster_ctl("start", "etcd") == 0, "start etcd");
        etcd_stopped = false;
        took = live_wait_condition(ns, INSTANCE, "Ready", "True", 120);
        after = secrets();
        kept = secrets_kept(before, after);
        itest_log("host etcd stopped %.0fs: the leader exited 1 after %.1fs (lease not renewed), "
                  "the next one not ready meanwhile; Ready %.1fs after etcd was back; %d Secrets "
                  "of before kept as they were",
                  OUTAGE_S, t_exit, took, kept);
        cJSON_Delete(before);
        cJSON_Delete(after);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, INSTANCE, NULL, NULL) == 0, "delete");
        live_wait_deleted(ns, INSTANCE, 120);
        live_teardown();
        return 0;
}
