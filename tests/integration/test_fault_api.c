/* SPDX-License-Identifier: Apache-2.0 */
/* Faults between the operator and the host API server (label "fault"), the operator reaching
 * the real kube-apiserver through a relay the test cuts (tests/common/tcpcut.c):
 *   - started while nothing answers: it stays up, /healthz answers, /readyz does not, one
 *     warning of the lease says why, its retries back off (connections counted at the relay,
 *     fewer in the next 8 s than in the first); once the server answers, it leads and is ready
 *     within the informers' longest backoff and a margin (45 s);
 *   - the leader partitioned (its relay cut) beside a standby that reaches the server: the
 *     leader stops (exits 1) within the renew deadline and a retry period, and the standby
 *     takes the lease only once the lease has expired (never before the old leader stopped). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "audit.h"
#include "itest.h"
#include "kube/client.h"
#include "kube/config.h"
#include "tcpcut.h"
#include "util/fileio.h"
#include "util/strbuf.h"

#define LEASE_S 15.0
#define RENEW_S 10.0
#define RETRY_S 2.0

static const char *ns;
static struct kube_client *kc;

struct op {
        pid_t pid;
        int port;
        char log[256];
};

/* The operator user's kubeconfig, its server's port replaced by `port` */
static void kubeconfig_via(int port, char *path, size_t size)
{
        char *text = NULL, *at, *colon, *end;
        size_t len = 0;
        struct strbuf out = {0};
        FILE *f;
        int fd;

        IT_ASSERT(fileio_read(audit_operator_kubeconfig(), 1u << 20, &text, &len) == 0,
                  "read the operator's kubeconfig");
        at = strstr(text, "server: https://127.0.0.1:");
        IT_ASSERT(at, "the kubeconfig's server is not https://127.0.0.1:PORT");
        colon = at + strlen("server: https://127.0.0.1");
        end = colon + 1 + strspn(colon + 1, "0123456789");
        strbuf_printf(&out, "%.*s:%d%s", (int)(colon - text), text, port, end);
        snprintf(path, size, "/tmp/ko-fault-%d.kubeconfig", (int)getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); /* a client key */
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        IT_ASSERT(f && fputs(out.buf, f) >= 0 && fclose(f) == 0, "write %s", path);
        strbuf_free(&out);
        free(text);
}

static void start(struct op *o, const char *kubeconfig, const char *name)
{
        o->port = itest_free_port();
        snprintf(o->log, sizeof(o->log), "/tmp/ko-fault-%d-%s.log", (int)getpid(), name);
        o->pid = itest_start_operator(&(struct itest_operator){.kubeconfig = kubeconfig,
                                                               .lease_ns = ns,
                                                               .lease_id = "fault",
                                                               .watch_ns = ns,
                                                               .cache = itest_operator_cache(),
                                                               .metrics_port = o->port,
                                                               .log = o->log});
}

static long probe(const struct op *o, const char *path)
{
        struct strbuf out = {0};
        long code = itest_http_get(o->port, path, &out);

        strbuf_free(&out);
        return code;
}

static int count_in_log(const struct op *o, const char *what)
{
        char *text = NULL;
        size_t len = 0;
        int n = 0;

        if (fileio_read(o->log, 16u << 20, &text, &len) < 0)
                return 0;
        for (const char *p = text; (p = strstr(p, what)); p++)
                n++;
        free(text);
        return n;
}

static void holder(char *buf, size_t size)
{
        cJSON *l = NULL;

        buf[0] = '\0';
        if (kube_get(kc, &kube_leases, ns, "fault", &l, NULL) == 0)
                snprintf(buf, size, "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "spec"),
                                                                  "holderIdentity"))
                                 ?: "");
        cJSON_Delete(l);
}

/* Started while nothing answers, then the server comes */
static void dead_at_start(struct tcpcut *t, struct op *a, const char *kubeconfig)
{
        double t0;
        unsigned conns, later;

        start(a, kubeconfig, "a");
        sleep(8);
        conns = tcpcut_connections(t);
        IT_ASSERT(kill(a->pid, 0) == 0 && waitpid(a->pid, NULL, WNOHANG) == 0,
                  "the operator did not stay up");
        IT_ASSERT(probe(a, "/healthz") == 200 && probe(a, "/readyz") != 200,
                  "with no API server: /healthz %ld, /readyz %ld", probe(a, "/healthz"),
                  probe(a, "/readyz"));
        IT_ASSERT(count_in_log(a, "the API server does not answer") == 1,
                  "the warning was said %d times",
                  count_in_log(a, "the API server does not answer"));
        sleep(8);
        later = tcpcut_connections(t) - conns;
        /* its informers and the lease retry with growing delays: fewer in the next 8 s */
        IT_ASSERT(conns >= 2 && conns <= 150 && later * 2 <= conns,
                  "%u connections in the first 8 s, %u in the next: no backoff", conns, later);
        itest_log("no API server for 16 s: up, /healthz 200, /readyz not ready, one warning of "
                  "the lease, %u connection attempts in the first 8 s and %u in the next",
                  conns, later);
        tcpcut_up(t);
        /* bound: the informers' longest backoff (30 s, as client-go's reflector), then the
         * lease's next attempt and the first lists */
        for (t0 = itest_now(); probe(a, "/readyz") != 200; usleep(200 * 1000))
                IT_ASSERT(itest_now() - t0 < 45, "not ready 45 s after the API server came");
        itest_log("the API server answers: ready %.1fs later (\"the API server answers again\" "
                  "logged %d time)",
                  itest_now() - t0, count_in_log(a, "the API server answers again"));
        IT_ASSERT(count_in_log(a, "the API server answers again") == 1, "recovery not logged");
}

/* a leads through t, b reaches the server directly; t cut */
static void partition(struct tcpcut *t, struct op *a, struct op *b)
{
        char was[256], now[256];
        double t0, t_exit = 0, t_b = 0;
        int status = -1;

        start(b, NULL, "b");
        for (t0 = itest_now(); probe(b, "/healthz") != 200; usleep(200 * 1000))
                IT_ASSERT(itest_now() - t0 < 10, "the standby does not start");
        holder(was, sizeof(was));
        IT_ASSERT(was[0], "no leader before the partition");
        tcpcut_down(t);
        for (t0 = itest_now(); !t_exit || !t_b; usleep(100 * 1000)) {
                if (!t_exit && waitpid(a->pid, &status, WNOHANG) == a->pid)
                        t_exit = itest_now() - t0;
                holder(now, sizeof(now));
                if (!t_b && now[0] && strcmp(now, was) != 0)
                        t_b = itest_now() - t0;
                IT_ASSERT(
                        itest_now() -
                                t0<60, "after 60 s: leader stopped %d, standby leads %d", t_exit> 0,
                        t_b > 0);
        }
        IT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1, "the old leader did not exit 1");
        IT_ASSERT(t_exit <= RENEW_S + RETRY_S + 1, "the old leader acted %.1fs into the partition",
                  t_exit);
        IT_ASSERT(t_b >= LEASE_S - RETRY_S && t_exit < t_b,
                  "the standby took the lease %.1fs into the partition (the old one stopped at "
                  "%.1fs; the lease lasts %.0fs)",
                  t_b, t_exit, LEASE_S);
        itest_log("partitioned leader: stopped (exit 1) %.1fs in; the standby led %.1fs in, after "
                  "the lease (%.0f s) expired",
                  t_exit, t_b, LEASE_S);
        a->pid = 0;
}

int main(void)
{
        struct op a = {0}, b = {0};
        struct kube_config *cfg = NULL;
        struct tcpcut *t;
        char kubeconfig[256], err[512] = "";
        const char *server;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        IT_ASSERT(kube_config_load(&(struct kube_config_options){.kubeconfig = itest_kubeconfig()},
                                   &cfg, err, sizeof(err)) == 0 &&
                          kube_client_new(&(struct kube_client_options){.config = cfg}, &kc) == 0,
                  "client: %s", err);
        itest_apply_crds(kc);
        server = strrchr(cfg->server, ':');
        t = tcpcut_new((int)strtol(server + 1, NULL, 10));
        IT_ASSERT(t, "the relay");
        ns = itest_unique_name("fault");
        {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name", ns);
                IT_ASSERT(kube_create(kc, &kube_namespaces, NULL, o, NULL, NULL, NULL) == 0,
                          "namespace");
                cJSON_Delete(o);
        }
        kubeconfig_via(tcpcut_port(t), kubeconfig, sizeof(kubeconfig));
        dead_at_start(t, &a, kubeconfig);
        partition(t, &a, &b);
        kill(b.pid, SIGTERM);
        IT_ASSERT(itest_wait_exit(b.pid, 10) == 0, "the standby exits 0");
        unlink(kubeconfig);
        unlink(a.log);
        unlink(b.log);
        tcpcut_free(t);
        kube_client_free(kc);
        kube_config_free(cfg);
        curl_global_cleanup();
        itest_log("ok");
        return 0;
}
