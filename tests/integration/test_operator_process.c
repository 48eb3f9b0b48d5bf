/* SPDX-License-Identifier: Apache-2.0 */
/* The karmada-operator binary as a process against the real kube-apiserver: /healthz,
 * /readyz and /metrics over HTTP (the exposition checked by a strict parser), systemd
 * notifications on a NOTIFY_SOCKET, leader election between two and three processes (exactly
 * one leader; SIGTERM hands over within 3 s and exits 0 within 5 s; kill -9 hands over
 * within lease duration + retry period). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"
#include "kube/client.h"
#include "promparse.h"
#include "util/fileio.h"
#include "util/strbuf.h"

#define LEASE_S   15.0
#define RETRY_S   2.0
#define MAX_PROCS 4

struct op {
        pid_t pid;
        int metrics_port, probe_port;
        char log[256];
        bool running;
};

static struct op ops[MAX_PROCS];
static const char *ns, *lease_name;
static struct kube_client *kc;

static void start_op(int i, char *const env[])
{
        struct op *o = &ops[i];

        o->metrics_port = itest_free_port();
        o->probe_port = itest_free_port();
        snprintf(o->log, sizeof(o->log), "/tmp/ko-itest-operator-%d-%d.log", (int)getpid(), i);
        o->pid = itest_start_operator(&(struct itest_operator){
                .kubeconfig = itest_kubeconfig(),
                .lease_ns = ns,
                .lease_id = lease_name,
                .watch_ns = ns, /* not the instances of tests running beside it */
                .log_level = "debug",
                .metrics_port = o->metrics_port,
                .probe_port = o->probe_port,
                .env = env,
                .log = o->log,
        });
        o->running = true;
}

/* 1 leader, 0 standby, -1 no answer */
static int leader_status(int i)
{
        struct strbuf sb = {0};
        struct prom_doc d;
        char err[256], labels[128];
        double v = -1;

        if (itest_http_get(ops[i].metrics_port, "/metrics", &sb) != 200) {
                strbuf_free(&sb);
                return -1;
        }
        if (prom_parse(sb.buf, &d, err, sizeof(err)) < 0)
                IT_FAIL("operator %d: /metrics is not valid exposition: %s", i, err);
        snprintf(labels, sizeof(labels), "name=\"%s\"", lease_name);
        if (!prom_value(&d, "leader_election_master_status", labels, &v))
                v = -1;
        prom_doc_free(&d);
        strbuf_free(&sb);
        return (int)v;
}

/* Index of the only leader among the running processes once there is exactly one, or fail. */
static int wait_one_leader(double timeout, double *ret_took)
{
        double t0 = itest_now();

        while (itest_now() - t0 < timeout) {
                int leaders = 0, who = -1, answered = 0;
                for (int i = 0; i < MAX_PROCS; i++) {
                        if (!ops[i].running)
                                continue;
                        int s = leader_status(i);
                        answered += s >= 0;
                        if (s == 1) {
                                leaders++;
                                who = i;
                        }
                }
                IT_ASSERT(leaders <= 1, "%d leaders at once", leaders);
                if (leaders == 1) {
                        if (ret_took)
                                *ret_took = itest_now() - t0;
                        return who;
                }
                usleep(50 * 1000);
        }
        IT_FAIL("no leader within %.0fs", timeout);
}

static void check_lease_holder(int leader)
{
        cJSON *lease = NULL;
        struct strbuf log = {0};
        char *text = NULL;
        size_t len;
        const cJSON *h;

        IT_ASSERT(kube_get(kc, &kube_leases, ns, lease_name, &lease, NULL) == 0, "get lease");
        h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(lease, "spec"),
                                             "holderIdentity");
        IT_ASSERT(cJSON_IsString(h) && *h->valuestring, "lease has a holder");
        /* the holder is the process that says it leads: its log names its identity */
        IT_ASSERT(fileio_read(ops[leader].log, 16u << 20, &text, &len) == 0, "read log");
        strbuf_printf(&log, "identity=%s", h->valuestring);
        IT_ASSERT(strstr(text, log.buf) != NULL, "lease holder %s is operator %d", h->valuestring,
                  leader);
        free(text);
        strbuf_free(&log);
        cJSON_Delete(lease);
}

static void check_endpoints(int i)
{
        struct strbuf sb = {0};
        struct prom_doc d;
        char err[256], labels[160];
        double v;

        IT_ASSERT(itest_http_get(ops[i].probe_port, "/healthz", &sb) == 200 &&
                          strncmp(sb.buf, "ok", 2) == 0,
                  "healthz: %s", sb.buf ? sb.buf : "");
        /* ready once its informers have synced (the leader) or at once (a standby) */
        for (double t0 = itest_now();; usleep(100 * 1000)) {
                strbuf_reset(&sb);
                if (itest_http_get(ops[i].probe_port, "/readyz", &sb) == 200 &&
                    strncmp(sb.buf, "ok", 2) == 0)
                        break;
                IT_ASSERT(itest_now() - t0 < 10, "readyz after 10s: %s", sb.buf ? sb.buf : "");
        }
        strbuf_reset(&sb);
        IT_ASSERT(itest_http_get(ops[i].probe_port, "/nope", &sb) == 404, "404 for unknown paths");
        strbuf_reset(&sb);
        IT_ASSERT(itest_http_get(ops[i].metrics_port, "/metrics", &sb) == 200, "metrics");
        if (prom_parse(sb.buf, &d, err, sizeof(err)) < 0)
                IT_FAIL("/metrics: %s", err);
        IT_ASSERT(prom_value(&d, "karmada_operator_build_info", "version=\"0.1.0\"", &v) && v == 1,
                  "build info");
        IT_ASSERT(prom_value(&d, "process_resident_memory_bytes", "", &v) && v > 1e6, "rss %g", v);
        IT_ASSERT(prom_value(&d, "process_open_fds", "", &v) && v > 3, "fds %g", v);
        IT_ASSERT(prom_value(&d, "process_cpu_seconds_total", "", &v) && v >= 0, "cpu");
        IT_ASSERT(prom_sum(&d, "rest_client_requests_total", "method=\"GET\"") >= 1,
                  "rest_client_requests_total");
        IT_ASSERT(prom_sum(&d, "rest_client_request_duration_seconds_count", NULL) >= 1,
                  "request latency histogram");
        snprintf(labels, sizeof(labels), "name=\"%s\"", lease_name);
        IT_ASSERT(prom_value(&d, "leader_election_master_status", labels, &v), "leader status");
        prom_doc_free(&d);
        strbuf_free(&sb);
}

/* A NOTIFY_SOCKET for one process: what it tells systemd. */
static int notify_fd = -1;
static char notify_path[108];

static void notify_open(void)
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};

        snprintf(notify_path, sizeof(notify_path), "/tmp/ko-itest-notify-%d", (int)getpid());
        unlink(notify_path);
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", notify_path);
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        IT_ASSERT(notify_fd >= 0 && bind(notify_fd, (struct sockaddr *)&a, sizeof(a)) == 0,
                  "notify socket: %m");
}

static void notify_drain(struct strbuf *all)
{
        char buf[4096];
        ssize_t n;

        while ((n = recv(notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
                buf[n] = '\0';
                strbuf_printf(all, "%s\n", buf);
        }
}

static void stop_and_expect(int i, int sig, int want_status, double within)
{
        double t0 = itest_now();
        int status;

        kill(ops[i].pid, sig);
        status = itest_wait_exit(ops[i].pid, within + 5);
        ops[i].running = false;
        IT_ASSERT(status == want_status, "operator %d exit status %d, want %d", i, status,
                  want_status);
        IT_ASSERT(itest_now() - t0 <= within, "operator %d took %.2fs to exit", i,
                  itest_now() - t0);
}

/* a failing assertion exits: take the operators down with us */
static void kill_leftovers(void)
{
        for (int i = 0; i < MAX_PROCS; i++)
                if (ops[i].running) {
                        kill(ops[i].pid, SIGKILL);
                        itest_wait_exit(ops[i].pid, 5);
                        fprintf(stderr, "-- log of operator %d (%s):\n", i, ops[i].log);
                        char *text = NULL;
                        size_t len;
                        if (fileio_read(ops[i].log, 1u << 20, &text, &len) == 0)
                                fputs(len > 4000 ? text + len - 4000 : text, stderr);
                        free(text);
                }
}

int main(void)
{
        struct kube_config_options co = {.kubeconfig = itest_kubeconfig()};
        struct kube_config *cfg;
        struct strbuf notes = {0};
        char err[512], body[256], notify_env[160];
        double took, t0;
        int leader, standby;
        cJSON *o;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        atexit(kill_leftovers);
        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0)
                IT_FAIL("%s", err);
        IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &kc) == 0,
                  "client");
        ns = itest_unique_name("leader");
        lease_name = "karmada-operator-itest";
        snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}", ns);
        o = cJSON_Parse(body);
        IT_ASSERT(kube_create(kc, &kube_namespaces, NULL, o, NULL, NULL, NULL) == 0, "namespace");
        cJSON_Delete(o);

        itest_apply_crds(kc); /* the leader's informers need the Karmada CRD to become ready */
        start_op(0, NULL);
        start_op(1, NULL);
        leader = wait_one_leader(30, &took);
        standby = 1 - leader;
        itest_log("two operators: exactly one leader (operator %d) after %.2fs", leader, took);
        check_lease_holder(leader);
        IT_ASSERT(leader_status(standby) == 0, "the other is a standby");
        for (int i = 0; i < 2; i++)
                check_endpoints(i);
        itest_log("/healthz, /readyz and /metrics answer on both; the exposition parses strictly");

        /* SIGTERM the leader: it releases the lease, the standby leads within 3 s */
        t0 = itest_now();
        stop_and_expect(leader, SIGTERM, 0, 5);
        IT_ASSERT(wait_one_leader(10, NULL) == standby, "the standby took over");
        took = itest_now() - t0;
        IT_ASSERT(took <= 3.0, "SIGTERM hand-over took %.2fs", took);
        itest_log("SIGTERM to the leader: exit 0, standby leads %.2fs after the signal", took);

        /* a new standby; kill -9 the leader: the standby leads within lease + retry period */
        leader = standby;
        start_op(2, NULL);
        usleep(3000 * 1000); /* the new one observes the lease renewing */
        IT_ASSERT(leader_status(2) == 0, "the new process is a standby");
        t0 = itest_now();
        stop_and_expect(leader, SIGKILL, 128 + SIGKILL, 2);
        IT_ASSERT(wait_one_leader(LEASE_S + RETRY_S + 10, NULL) == 2, "the standby took over");
        took = itest_now() - t0;
        IT_ASSERT(took <= LEASE_S + RETRY_S * 1.2 + 1.0, "kill -9 fail-over took %.2fs", took);
        itest_log("kill -9 of the leader: standby leads %.2fs later (lease %.0fs + retry %.0fs)",
                  took, LEASE_S, RETRY_S);
        check_lease_holder(2);

        /* under systemd: a standby with a NOTIFY_SOCKET and a 2 s watchdog */
        notify_open();
        snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", notify_path);
        start_op(3, (char *const[]){notify_env, "WATCHDOG_USEC=2000000", NULL});
        usleep(3500 * 1000); /* more than a watchdog interval */
        stop_and_expect(3, SIGTERM, 0, 5);
        notify_drain(&notes);
        IT_ASSERT(notes.buf && strstr(notes.buf, "READY=1"), "READY=1 sent: %s",
                  notes.buf ? notes.buf : "");
        IT_ASSERT(strstr(notes.buf, "WATCHDOG=1") != NULL, "WATCHDOG=1 sent");
        IT_ASSERT(strstr(notes.buf, "STATUS=standby") != NULL, "STATUS=standby sent");
        IT_ASSERT(strstr(notes.buf, "STOPPING=1") != NULL, "STOPPING=1 sent");
        IT_ASSERT(strstr(notes.buf, "READY=1") < strstr(notes.buf, "STOPPING=1"),
                  "READY before STOPPING");
        itest_log(
                "systemd: READY=1, STATUS=standby, WATCHDOG=1 and STOPPING=1 on the NOTIFY_SOCKET");
        close(notify_fd);
        unlink(notify_path);
        stop_and_expect(2, SIGTERM, 0, 5);
        IT_ASSERT(kube_delete(kc, &kube_namespaces, NULL, ns, NULL, NULL) == 0, "cleanup");
        for (int i = 0; i < MAX_PROCS; i++)
                if (ops[i].log[0])
                        unlink(ops[i].log);
        strbuf_free(&notes);
        kube_client_free(kc);
        kube_config_free(cfg);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
