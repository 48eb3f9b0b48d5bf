/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada API server, its etcd and the webhook, each killed (SIGKILL) after the instance is
 * Ready. ko-plane runs them as processes: it restarts one that exits, and its pod is not Ready
 * until the new process serves, as a kubelet's probe would say. For each:
 *   - Degraded=True ComponentUnavailable, naming the workload, and Ready=False
 *     ComponentUnavailable, within 30 s of the kill;
 *   - then Degraded=False and Ready=True once it serves again, within 120 s;
 *   - a ConfigMap written in the Karmada API server before the kills reads back the same.
 * Its etcd has 3 members. Two of them then crash at every start (their data directories made
 * unusable): EtcdReady, Ready and Degraded say EtcdQuorumLost, with how many members are ready
 * and a member's cause (CrashLoopBackOff); Ready again once they start.
 * And an instance that cannot progress (its Karmada API server cannot be scheduled) costs no
 * write while it waits: 0 in 12 s, counted by the API server's audit log (each reconcile issued
 * its kubeconfigs' certificate anew, and status.certificates listed it, once every 5 s); its
 * Ready names the cause meanwhile (Unschedulable, from the pod). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "itest.h"
#include "karmada/names.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"

#define INSTANCE "crash"
#define VALUE    "written-before-the-kills"

static const char *ns;

/* The process ko-plane runs for the workload's pod of that ordinal: the one whose arguments name
 * its pod's directory (<state>/pods/<ns>_<workload>-<ordinal>/); 0 when there is none. Its
 * arguments, as one string, into cmd. */
static pid_t process_at(const char *workload, int ordinal, char *cmd, size_t size)
{
        char needle[512], path[64], buf[16384];
        struct dirent *e;
        pid_t found = 0;
        DIR *d = opendir("/proc");

        IT_ASSERT(d, "/proc");
        snprintf(needle, sizeof(needle), "/pods/%s_%s-%d/", ns, workload, ordinal);
        while ((e = readdir(d))) {
                pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
                ssize_t n;
                int fd;
                if (pid <= 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                for (ssize_t i = 0; i < n; i++) /* the arguments, as one string */
                        if (buf[i] == '\0')
                                buf[i] = ' ';
                buf[n > 0 ? n : 0] = '\0';
                if (strstr(buf, needle) && !strstr(buf, "unshare")) {
                        IT_ASSERT(!found, "two processes for %s: %d and %d", workload, (int)found,
                                  (int)pid);
                        found = pid;
                        snprintf(cmd, size, "%s", buf);
                }
        }
        closedir(d);
        return found;
}

static pid_t process_of(const char *workload)
{
        char cmd[16384];

        return process_at(workload, 0, cmd, sizeof(cmd));
}

/* The data directory (--data-dir) of etcd member `ordinal` made unusable, the member's own
 * kept aside: its "member" directory replaced by a file (etcd exits: "cannot access member
 * directory"), then its process killed, so that every restart crashes. Its data directory
 * into dir. */
static void break_member(const char *sts, int ordinal, char *dir, size_t size)
{
        char cmd[16384], member[1100], kept[1100];
        pid_t pid = process_at(sts, ordinal, cmd, sizeof(cmd));
        const char *d = strstr(cmd, "--data-dir=");
        int fd;

        IT_ASSERT(pid > 0 && d, "no etcd process with a --data-dir runs %s-%d", sts, ordinal);
        snprintf(dir, size, "%.*s", (int)strcspn(d + 11, " "), d + 11);
        snprintf(member, sizeof(member), "%s/member", dir);
        snprintf(kept, sizeof(kept), "%s/member.kept", dir);
        IT_ASSERT(rename(member, kept) == 0, "rename %s: %s", member, strerror(errno));
        fd = open(member, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        IT_ASSERT(fd >= 0, "%s: %s", member, strerror(errno));
        close(fd);
        IT_ASSERT(kill(pid, SIGKILL) == 0, "kill %d", (int)pid);
}

static void mend_member(const char *dir)
{
        char member[1100], kept[1100];

        snprintf(member, sizeof(member), "%s/member", dir);
        snprintf(kept, sizeof(kept), "%s/member.kept", dir);
        IT_ASSERT(unlink(member) == 0 && rename(kept, member) == 0, "mend %s: %s", dir,
                  strerror(errno));
}

static void value_is_kept(struct kube_client *kk)
{
        struct kube_status st;
        cJSON *cm = NULL;
        const char *v;

        for (double t0 = itest_now(); kube_get(kk, &kube_configmaps, "default", "kept", &cm, &st);
             usleep(500 * 1000)) /* the Karmada API server may still be starting */
                IT_ASSERT(itest_now() - t0 < 30, "the ConfigMap: %s", st.message);
        v = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cm, "data"), "v"));
        IT_ASSERT(v && strcmp(v, VALUE) == 0, "the ConfigMap holds %s", v ? v : "nothing");
        cJSON_Delete(cm);
}

/* Degraded=False held for SETTLE_S: a component that lost etcd or its API server with the last
 * kill may exit when its leader lease runs out (10 s after it could last renew: a full run saw
 * kube-controller-manager crash after the etcd step, and Degraded named it, not the webhook
 * killed next); any such crash has come and gone before the next kill */
#define SETTLE_S 12
static void settle(void)
{
        char cond[1024];
        double t0 = itest_now(), calm = itest_now();

        while (itest_now() - calm < SETTLE_S) {
                live_condition(ns, INSTANCE, "Degraded", cond, sizeof(cond));
                IT_ASSERT(itest_now() - t0 < 150, "Degraded not False for %d s: %s", SETTLE_S,
                          cond);
                if (strncmp(cond, "False", 5) != 0)
                        calm = itest_now();
                usleep(500 * 1000);
        }
}

/* kill the workload's process, once the instance is settled; Degraded, then recovered */
static void kill_component(const char *prefix, const char *suffix, struct kube_client *kk)
{
        char workload[256], cond[1024];
        pid_t pid, again;
        double t0, down, up;

        settle();
        snprintf(workload, sizeof(workload), "%s-%s", prefix, suffix);
        pid = process_of(workload);
        IT_ASSERT(pid > 0, "no process runs %s", workload);
        IT_ASSERT(kill(pid, SIGKILL) == 0, "kill %d", (int)pid);
        t0 = itest_now();
        down = live_wait_condition(ns, INSTANCE, "Degraded", "True ComponentUnavailable", 30);
        live_condition(ns, INSTANCE, "Degraded", cond, sizeof(cond));
        IT_ASSERT(strstr(cond, workload), "Degraded does not name %s: %s", workload, cond);
        live_condition(ns, INSTANCE, "Ready", cond, sizeof(cond));
        IT_ASSERT(strncmp(cond, "False ComponentUnavailable", 26) == 0 ||
                          strncmp(cond, "True", 4) == 0, /* back already */
                  "Ready while %s is down: %s", workload, cond);
        live_wait_condition(ns, INSTANCE, "Degraded", "False", 120);
        live_wait_condition(ns, INSTANCE, "Ready", "True", 30);
        up = itest_now() - t0;
        again = process_of(workload);
        IT_ASSERT(again > 0 && again != pid, "%s runs as %d after the kill of %d", workload,
                  (int)again, (int)pid);
        value_is_kept(kk);
        /* the cause, from its pod (kwok's stage says CrashLoopBackOff as a kubelet would),
         * reached the Events (once per cause: test_e2e_karmada; here a cause may come back, as
         * a component that loses etcd crashes again) */
        live_warnings_naming(ns, INSTANCE, "CrashLoopBackOff", workload);
        itest_log("%s killed: Degraded ComponentUnavailable after %.1fs, Ready again after %.1fs; "
                  "the cause (CrashLoopBackOff, from its pod) in a Warning",
                  workload, down, up);
}

/* Two of the three etcd members crash at every start: the conditions name the lost quorum and
 * a member's cause (CrashLoopBackOff, from its pod), not a step that cannot reach the Karmada
 * API server; once they start again, Ready. */
static void quorum_lost(const char *prefix, struct kube_client *kk)
{
        char sts[256], dirs[2][1024], cond[1024] = "";
        double t0 = itest_now(), named, up;

        snprintf(sts, sizeof(sts), "%s-etcd", prefix);
        for (int i = 0; i < 2; i++)
                break_member(sts, i + 1, dirs[i], sizeof(dirs[i]));
        live_wait_condition(ns, INSTANCE, "EtcdReady", "False EtcdQuorumLost", 60);
        while (!strstr(live_condition(ns, INSTANCE, "EtcdReady", cond, sizeof(cond)),
                       "CrashLoopBackOff")) {
                IT_ASSERT(itest_now() - t0 < 90, "EtcdReady names no member's cause: %s", cond);
                usleep(500 * 1000);
        }
        named = itest_now() - t0;
        IT_ASSERT(strstr(cond, "etcd has no quorum: ") &&
                          strstr(cond, " of 3 members ready, 2 needed"),
                  "EtcdReady: %s", cond);
        live_wait_condition(ns, INSTANCE, "Ready", "False EtcdQuorumLost", 30);
        live_wait_condition(ns, INSTANCE, "Degraded", "True EtcdQuorumLost", 30);
        for (int i = 0; i < 2; i++)
                mend_member(dirs[i]);
        live_wait_condition(ns, INSTANCE, "Degraded", "False", 120);
        live_wait_condition(ns, INSTANCE, "Ready", "True", 60);
        up = itest_now() - t0;
        value_is_kept(kk);
        itest_log("2 of 3 etcd members crash-looping: EtcdReady, Ready and Degraded name the lost "
                  "quorum and the cause after %.1fs (\"%.300s\"); Ready again %.1fs after the "
                  "break",
                  named, cond, up);
}

/* "stuck" waits for its Karmada API server, which no node can take: no write meanwhile */
static void stuck_writes_nothing(void)
{
        struct audit_counts c;
        char cond[1024];
        long mark;

        live_wait_condition(ns, "stuck", "KarmadaAPIServerReady", "False Progressing", 120);
        /* the last status writes of the steps that found it (its etcd may crash once as it
         * starts, a real change): counted after 5 s without a write */
        audit_wait_no_writes("an instance waits", 5, 60);
        mark = audit_mark();
        sleep(12);
        audit_count(mark, &c);
        IT_ASSERT(c.writes == 0, "%d writes in 12 s while an instance waits: %s", c.writes,
                  c.summary);
        /* what it says meanwhile: the cause, from the pod */
        live_condition(ns, "stuck", "Ready", cond, sizeof(cond));
        IT_ASSERT(strstr(cond, "Unschedulable"), "Ready names no cause: %s", cond);
        itest_log("an instance waiting (Ready %.250s): 0 writes in 12 s (%d other requests: %s)",
                  cond, c.requests, c.requests ? c.summary : "none");
}

int main(void)
{
        char prefix[KO_NAME_MAX];
        struct kube_client *kk;
        struct kube_status st;
        cJSON *cm;

        live_setup();
        ns = itest_unique_name("crash");
        live_make_ns(ns);
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        /* 3 etcd members: one killed keeps the quorum, two lost do not */
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"" INSTANCE "\"},\"spec\":{\"components\":{"
                        "\"etcd\":{\"local\":{\"replicas\":3}},\"karmadaAPIServer\":{"
                        "\"serviceType\":\"NodePort\"}}}}");
        live_wait_condition(ns, INSTANCE, "Ready", "True", 240);
        live_wait_condition(ns, INSTANCE, "Degraded", "False", 30);
        IT_ASSERT(names_prefix(INSTANCE, prefix, sizeof(prefix)) == 0, "prefix");
        kk = live_karmada_client(ns, INSTANCE, NULL);
        cm = cJSON_Parse("{\"metadata\":{\"name\":\"kept\"},\"data\":{\"v\":\"" VALUE "\"}}");
        IT_ASSERT(kube_create(kk, &kube_configmaps, "default", cm, NULL, NULL, &st) == 0,
                  "ConfigMap: %s", st.message);
        cJSON_Delete(cm);

        kill_component(prefix, "apiserver", kk);
        kill_component(prefix, "etcd", kk);
        kill_component(prefix, "webhook", kk);
        quorum_lost(prefix, kk);

        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"stuck\"},\"spec\":{\"components\":{"
                    "\"etcd\":{\"local\":{}},\"karmadaAPIServer\":{\"affinity\":{\"nodeAffinity\":{"
                    "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{"
                    "\"matchExpressions\":[{\"key\":\"ko-test/nowhere\",\"operator\":\"In\","
                    "\"values\":[\"x\"]}]}]}}}}}}}");
        stuck_writes_nothing();
        /* their processes stop (each holds an inotify instance of the machine's) */
        for (const char *const *i = (const char *const[]){INSTANCE, "stuck", NULL}; *i; i++) {
                IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, *i, NULL, NULL) == 0,
                          "delete %s", *i);
                live_wait_deleted(ns, *i, 120);
        }

        kube_client_free(kk);
        live_teardown();
        return 0;
}
