/* SPDX-License-Identifier: Apache-2.0 */
/* etcd membership changes on a live instance, with real etcd members (ko-plane runs every pod
 * of the StatefulSet) and a client writing through the Karmada API server the whole time:
 *   - 1 -> 3 -> 5 -> 3 -> 1 members, each asked of etcd itself (its member list: voting members
 *     only, each started, a removed one gone); no write fails while the cluster has 3 or 5
 *     members, and every write that succeeded is there at the end; no learner is ever joined by
 *     a second one, and the members never outnumber the most wanted;
 *   - once a change is done, no member logs a peer it cannot reach;
 *   - refused with nothing changed: an even count, and a change during an upgrade;
 *   - the operator killed (-9) while a member joins: a new one resumes from where etcd stands;
 *   - with operator.karmada.io/backup-before-scaling, the first change waits for a backup (to
 *     the test cluster's S3) from the named schedule's template, which completes first.
 * Each step's time is logged from status.etcdScaling (README: Upgrades and scaling). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"
#include "karmada/etcd_members.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/json.h"
#include "util/s3.h"
#include "util/timeutil.h"

#define NAME    "es"
#define STS     NAME "-karmada-etcd"
#define MAX_KEY 40000

static const char *ns;

/* ---- the writer: one ConfigMap after another through the Karmada API server ---- */
static struct {
        pthread_t thread;
        struct kube_client *kk;
        atomic_bool stop;
        atomic_int stage; /* the fewest members a change under way goes through; 0 at rest */
        atomic_long failed[6];
        atomic_long written;
        bool ok[MAX_KEY];
        char last_error[300];
} w;

static void *writer(void *arg)
{
        (void)arg;
        for (long n = 0; n < MAX_KEY && !atomic_load(&w.stop); n++) {
                char body[128];
                struct kube_status st;
                cJSON *cm;
                int stage = atomic_load(&w.stage);
                snprintf(body, sizeof(body),
                         "{\"metadata\":{\"name\":\"w-%ld\"},\"data\":{\"n\":\"%ld\"}}", n, n);
                cm = cJSON_Parse(body);
                w.ok[n] = kube_create(w.kk, &kube_configmaps, "default", cm, NULL, NULL, &st) == 0;
                cJSON_Delete(cm);
                if (w.ok[n])
                        atomic_fetch_add(&w.written, 1);
                else {
                        atomic_fetch_add(&w.failed[stage > 5 ? 0 : stage], 1);
                        snprintf(w.last_error, sizeof(w.last_error), "w-%ld at stage %d: %s", n,
                                 stage, st.message);
                }
                usleep(40 * 1000);
        }
        return NULL;
}

/* every write that succeeded is there */
static void all_written(void)
{
        cJSON *list = NULL, *item;
        static bool seen[MAX_KEY];
        long missing = 0, n = 0;

        IT_ASSERT(kube_list(w.kk, &kube_configmaps, "default", NULL, &list, NULL) == 0,
                  "list the ConfigMaps");
        cJSON_ArrayForEach (item, json_at(list, "items", NULL)) {
                const char *name = json_str(item, "metadata", "name");
                long k = name && strncmp(name, "w-", 2) == 0 ? strtol(name + 2, NULL, 10) : -1;
                if (k >= 0 && k < MAX_KEY)
                        seen[k] = true;
        }
        cJSON_Delete(list);
        for (long i = 0; i < MAX_KEY; i++) {
                n += w.ok[i];
                missing += w.ok[i] && !seen[i];
        }
        IT_ASSERT(missing == 0, "%ld of %ld written keys are missing", missing, n);
        itest_log("all %ld written keys are there", n);
}

/* ---- etcd, asked directly ---- */
static struct {
        pthread_t thread;
        atomic_bool stop;
        atomic_int max_learners, max_members;
} mon;

static int members_of(const char *instance, const char *sts, struct etcd_members *ms)
{
        struct etcd_backup_member m;
        char err[512] = "";
        int r;

        live_etcd_member(ns, instance, &m);
        r = etcd_members_list(&m, sts, ms, err, sizeof(err));
        live_etcd_member_free(&m);
        return r;
}

static int members_now(struct etcd_members *ms)
{
        return members_of(NAME, STS, ms);
}

static void *monitor(void *arg)
{
        (void)arg;
        while (!atomic_load(&mon.stop)) {
                struct etcd_members ms;
                int learners = 0;
                if (members_now(&ms) == 0) {
                        for (int i = 0; i < ms.n; i++)
                                learners += ms.m[i].learner;
                        if (learners > atomic_load(&mon.max_learners))
                                atomic_store(&mon.max_learners, learners);
                        if (ms.n > atomic_load(&mon.max_members))
                                atomic_store(&mon.max_members, ms.n);
                }
                usleep(200 * 1000);
        }
        return NULL;
}

/* etcd of `instance` lists exactly pods 0..n-1, each a started voting member */
static void expect_members_of(const char *instance, const char *sts, int n)
{
        struct etcd_members ms;
        bool has[ETCD_MEMBERS_MAX] = {0};

        IT_ASSERT(members_of(instance, sts, &ms) == 0, "etcd's member list");
        IT_ASSERT(ms.n == n, "etcd lists %d members, not %d", ms.n, n);
        for (int i = 0; i < ms.n; i++) {
                IT_ASSERT(!ms.m[i].learner && ms.m[i].name[0] && ms.m[i].ordinal >= 0 &&
                                  ms.m[i].ordinal < n,
                          "member %s (%s): learner %d", ms.m[i].name, ms.m[i].peer,
                          ms.m[i].learner);
                has[ms.m[i].ordinal] = true;
        }
        for (int i = 0; i < n; i++)
                IT_ASSERT(has[i], "%s-%d is not a member", sts, i);
}

static void expect_members(int n)
{
        expect_members_of(NAME, STS, n);
}

/* the log of pod i: its size now */
static long log_size(int i, char *path, size_t size)
{
        struct stat sb;

        snprintf(path, size, "%s/plane/pods/%s_" STS "-%d/log", getenv("KO_TEST_CLUSTER"), ns, i);
        return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* once a change is done (3 s to settle), no member logs a peer it cannot reach for 5 s */
static void peers_reached(int n)
{
        static const char *const bad[] = {"prober detected unhealthy status",
                                          "peer became inactive", "lost TCP streaming connection",
                                          NULL};
        char path[ETCD_MEMBERS_MAX][1024];
        long from[ETCD_MEMBERS_MAX];

        sleep(3);
        for (int i = 0; i < n; i++)
                from[i] = log_size(i, path[i], sizeof(path[i]));
        sleep(5);
        for (int i = 0; i < n; i++)
                for (const char *const *b = bad; *b; b++) {
                        int lines = itest_file_lines(path[i], from[i], *b, NULL);
                        IT_ASSERT(lines == 0, STS "-%d logged \"%s\" %d times 3 s after the change",
                                  i, *b, lines);
                }
}

/* ---- the operator's side ---- */

/* status.etcdScaling once it is Scaled to n, the steps' times logged; one of them `must`
 * (NULL: any) */
static void wait_scaled(int n, double timeout, const char *must)
{
        double t0 = itest_now();
        bool found = !must;
        char buf[512];

        for (;;) {
                cJSON *k = live_get(ns, NAME);
                const cJSON *r = json_at(k, "status", "etcdScaling");
                const cJSON *to = json_at(r, "to", NULL);
                bool done = cJSON_IsNumber(to) && to->valueint == n &&
                            strcmp(json_str(r, "phase", NULL) ?: "", "Scaled") == 0;
                if (done) {
                        const cJSON *s;
                        cJSON_ArrayForEach (s, json_at(r, "steps", NULL)) {
                                const char *step = json_str(s, "step", NULL) ?: "?";
                                itest_log("  %-40s %5.1f s", step,
                                          cJSON_GetNumberValue(json_at(s, "seconds", NULL)));
                                found = found || strcmp(step, must) == 0;
                        }
                }
                cJSON_Delete(k);
                if (done)
                        break;
                IT_ASSERT(itest_now() - t0 < timeout, "etcd not scaled to %d after %.0fs", n,
                          timeout);
                usleep(250 * 1000);
        }
        IT_ASSERT(found, "no step \"%s\"", must);
        live_wait_condition(ns, NAME, "Ready", "True", 180);
        live_condition(ns, NAME, "Scaling", buf, sizeof(buf));
        IT_ASSERT(strncmp(buf, "False Scaled", 12) == 0, "Scaling: %s", buf);
        itest_log("scaled to %d etcd members in %.1fs (Ready)", n, itest_now() - t0);
}

static void scale_to(int from, int n, const char *must)
{
        atomic_store(&w.stage, from < n ? from : n);
        live_patch(ns, NAME, "{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":%d}}}}}",
                   n);
        wait_scaled(n, 300, must);
        expect_members(n);
        peers_reached(n);
        atomic_store(&w.stage, 0);
}

/* a step that is refused: Ready=False with the reason naming the field, the members as they
 * were; then set back */
static void refused(const char *patch, const char *needle, const char *undo, int members)
{
        char buf[1024];

        live_patch(ns, NAME, "%s", patch);
        live_wait_condition(ns, NAME, "Ready", "False EtcdScalingRefused", 60);
        live_condition(ns, NAME, "Ready", buf, sizeof(buf));
        IT_ASSERT(strstr(buf, needle) && strstr(buf, "spec.components.etcd.local.replicas"), "%s",
                  buf);
        sleep(3);
        expect_members(members);
        itest_log("refused: \"%.200s\"", buf);
        live_patch(ns, NAME, "%s", undo);
        live_wait_condition(ns, NAME, "Ready", "True", 120);
}

/* the leader's ordinal, and the id of member `ordinal` into *id */
static int leader_now(int ordinal, unsigned long long *id)
{
        struct etcd_members ms;
        struct etcd_backup_member m;
        struct etcd_backup_status st;
        char err[512] = "";
        int leader = -1;

        IT_ASSERT(members_now(&ms) == 0, "member list");
        live_etcd_member(ns, NAME, &m);
        IT_ASSERT(etcd_backup_status(&m, &st, err, sizeof(err)) == 0, "status: %s", err);
        live_etcd_member_free(&m);
        for (int i = 0; i < ms.n; i++) {
                if (ms.m[i].id == st.leader)
                        leader = ms.m[i].ordinal;
                if (ms.m[i].ordinal == ordinal)
                        *id = ms.m[i].id;
        }
        return leader;
}

/* leadership handed to member `to` (asked of the leader), as an election could */
static void lead(int to)
{
        struct etcd_backup_member m;
        unsigned long long target = 0;
        char err[512] = "";
        int leader = leader_now(to, &target);
        double t0 = itest_now();

        if (leader != to) {
                live_etcd_member_at(ns, NAME, leader, &m);
                IT_ASSERT(etcd_members_move_leader(&m, target, err, sizeof(err)) == 0,
                          "move leadership to %d: %s", to, err);
                live_etcd_member_free(&m);
        }
        while ((leader = leader_now(to, &target)) != to) {
                IT_ASSERT(itest_now() - t0 < 15, STS "-%d leads, not %d", leader, to);
                usleep(200 * 1000);
        }
        itest_log(STS "-%d leads", to);
}

/* The schedule whose template the backup before scaling is made from (real S3: versitygw),
 * named by the instance's annotation */
static void backup_first(void)
{
        static struct s3_client s3; /* kept: its strings live as long as the test */

        live_backup_secrets(ns, &s3);
        live_create_object(
                &karmada_backupschedules, ns,
                "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":"
                "\"KarmadaBackupSchedule\",\"metadata\":{\"name\":\"before\"},\"spec\":{"
                "\"schedule\":\"@daily\",\"suspend\":true,\"template\":{\"spec\":{"
                "\"karmadaRef\":{\"name\":\"any\"},\"s3\":{\"endpoint\":\"%s\",\"bucket\":"
                "\"%s\",\"prefix\":\"%s\",\"forcePathStyle\":true,\"credentialsSecretRef\":"
                "{\"name\":\"s3\"}},\"encryptionKeySecretRef\":{\"name\":\"key\"}}}}}",
                s3.target.endpoint, s3.target.bucket, ns);
        live_patch(ns, NAME,
                   "{\"metadata\":{\"annotations\":{\"" KO_BACKUP_BEFORE_SCALING_ANNOTATION
                   "\":\"before\"}}}");
}

/* the backup before the first change completed before its first step began */
static void backed_up_first(void)
{
        cJSON *list = NULL, *k = live_get(ns, NAME);
        const cJSON *b;
        time_t done = 0, first = 0;

        IT_ASSERT(kube_list(live_kc, &karmada_backups, ns,
                            &(struct kube_list_options){
                                    .label_selector = "operator.karmada.io/pre-scaling=" NAME},
                            &list, NULL) == 0,
                  "list the backups");
        b = cJSON_GetArrayItem(json_at(list, "items", NULL), 0);
        IT_ASSERT(b && strcmp(json_str(json_at(b, "status", NULL), "phase", NULL) ?: "",
                              "Completed") == 0,
                  "no Completed backup before scaling");
        time_parse_rfc3339(json_str(json_at(b, "status", NULL), "stopTime", NULL), &done);
        time_parse_rfc3339(json_str(json_at(k, "status", "etcdScaling"), "startTime", NULL),
                           &first);
        IT_ASSERT(done && first && done <= first,
                  "the backup ended at %lld, the scaling began %lld", (long long)done,
                  (long long)first);
        itest_log("KarmadaBackup %s Completed before the first step",
                  json_str(b, "metadata", "name"));
        cJSON_Delete(list);
        cJSON_Delete(k);
}

/* 3 -> 5 with the operator killed while the first new member joins */
static void killed_while_joining(void)
{
        double t0 = itest_now();
        struct etcd_members ms;
        int learners = 0;

        atomic_store(&w.stage, 3);
        live_patch(ns, NAME, "{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":5}}}}}");
        for (;;) { /* a learner joining */
                IT_ASSERT(itest_now() - t0 < 120, "no member joined 120s after the change");
                if (members_now(&ms) == 0 && ms.n == 4 &&
                    (ms.m[3].learner || ms.m[2].learner || ms.m[1].learner || ms.m[0].learner))
                        break;
                usleep(100 * 1000);
        }
        live_kill_operator(0);
        sleep(2);
        IT_ASSERT(members_now(&ms) == 0, "member list");
        for (int i = 0; i < ms.n; i++)
                learners += ms.m[i].learner;
        itest_log("operator killed (-9) while a member joined (%d members, %d learner)", ms.n,
                  learners);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        wait_scaled(5, 300, NULL);
        expect_members(5);
        peers_reached(5);
        atomic_store(&w.stage, 0);
}

int main(void)
{
        double t, t0;

        live_setup();
        ns = itest_unique_name("etcd-scale");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        t0 = itest_now();
        live_create_instance(ns, NAME, NULL);
        /* made with 3 members: 3 real etcd processes form one cluster */
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"e3\"},\"spec\":{\"components\":{\"etcd\":{"
                        "\"local\":{\"replicas\":3}},\"karmadaAPIServer\":{\"serviceType\":"
                        "\"NodePort\"}}}}");
        t = live_wait_condition(ns, NAME, "Ready", "True", 300);
        itest_log("Ready with 1 etcd member in %.1fs", t);
        expect_members(1);
        live_wait_condition(ns, "e3", "Ready", "True", 300);
        expect_members_of("e3", "e3-karmada-etcd", 3);
        itest_log("an instance made with 3 etcd members: Ready %.1fs after it was made, 3 "
                  "started voting members",
                  itest_now() - t0);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "e3", NULL, NULL) == 0, "delete e3");
        w.kk = live_karmada_client(ns, NAME, NULL);
        pthread_create(&w.thread, NULL, writer, NULL);
        pthread_create(&mon.thread, NULL, monitor, NULL);

        refused("{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":2}}}}}", "is even",
                "{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":1}}}}}", 1);
        backup_first();
        scale_to(1, 3, NULL);
        backed_up_first();
        refused("{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":5}},"
                "\"karmadaScheduler\":{\"imageRepository\":\"example.com/karmada-scheduler\"}}}}",
                "during an upgrade",
                "{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":3}},"
                "\"karmadaScheduler\":{\"imageRepository\":null}}}}",
                3);
        killed_while_joining();
        lead(4); /* the first to leave leads: leadership moves off it first */
        scale_to(5, 3, "move leadership off " STS "-4");
        scale_to(3, 1, NULL);

        atomic_store(&w.stop, true);
        atomic_store(&mon.stop, true);
        pthread_join(w.thread, NULL);
        pthread_join(mon.thread, NULL);
        itest_log("writes: %ld succeeded; failed while 3 to 5 members: %ld, 1 to 3: %ld, at "
                  "rest: %ld%s%s",
                  atomic_load(&w.written), atomic_load(&w.failed[3]), atomic_load(&w.failed[1]),
                  atomic_load(&w.failed[0]), w.last_error[0] ? "; last: " : "", w.last_error);
        IT_ASSERT(atomic_load(&w.failed[3]) == 0 && atomic_load(&w.failed[0]) == 0,
                  "writes failed with 3 or 5 members: %s", w.last_error);
        IT_ASSERT(atomic_load(&mon.max_learners) <= 1, "%d learners at once",
                  atomic_load(&mon.max_learners));
        IT_ASSERT(atomic_load(&mon.max_members) <= 5, "%d members at once",
                  atomic_load(&mon.max_members));
        all_written();
        live_teardown();
        itest_log("ok");
        return 0;
}
