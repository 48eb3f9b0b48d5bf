/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

#include <errno.h> /* program_invocation_short_name */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "itest.h"
#include "promparse.h"
#include "util/json.h"
#include "util/strbuf.h"

static const char *user; /* NULL until asked: the test's own (own_user) */

void audit_set_user(const char *u)
{
        user = u;
}

/* "karmada-operator-<test>" (test_e2e_karmada: karmada-operator-e2e-karmada): a user per test
 * program, so that tests running at once count only their own operator's requests. */
static const char *own_user(void)
{
        static char name[128];
        const char *t = program_invocation_short_name;

        if (!name[0]) {
                if (strncmp(t, "test_", 5) == 0)
                        t += 5;
                snprintf(name, sizeof(name), "karmada-operator-%s", t);
                for (char *c = name; *c; c++)
                        if (*c == '_')
                                *c = '-';
        }
        return name;
}

static const char *counted_user(void)
{
        return user ? user : own_user();
}

static const char *cluster; /* NULL: $KO_TEST_CLUSTER */

void audit_set_cluster(const char *dir)
{
        cluster = dir;
}

static const char *log_path(void)
{
        static char path[4096];
        const char *d = cluster ? cluster : getenv("KO_TEST_CLUSTER");

        IT_ASSERT(d && *d, "KO_TEST_CLUSTER is not set");
        snprintf(path, sizeof(path), "%s/logs/audit.log", d);
        return path;
}

static bool restricted;

void audit_restricted_user(void)
{
        restricted = true;
}

const char *audit_operator_kubeconfig(void)
{
        static char path[4096];
        const char *d = getenv("KO_TEST_CLUSTER");

        IT_ASSERT(d && *d, "KO_TEST_CLUSTER is not set");
        snprintf(path, sizeof(path), "%s/kubeconfig/%s", d, own_user());
        if (access(path, R_OK) != 0)
                IT_ASSERT(itest_cluster_ctl_flag("user", own_user(),
                                                 restricted ? "--restricted" : NULL) == 0,
                          "cluster.sh user %s", own_user());
        IT_ASSERT(access(path, R_OK) == 0, "%s: not readable", path);
        return path;
}

long audit_mark(void)
{
        FILE *f = fopen(log_path(), "re");
        long end;

        IT_ASSERT(f, "%s: cannot open (does the kube-apiserver write an audit log?)", log_path());
        IT_ASSERT(fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) >= 0, "seek %s", log_path());
        fclose(f);
        return end;
}

/* json_str, "" for a missing member */
static const char *str(const cJSON *o, const char *a, const char *b)
{
        const char *s = json_str(o, a, b);

        return s ? s : "";
}

/* One completed request of the operator's user, counted; anything else in the line is a
 * failure of the test's setup. */
static void count_line(const char *line, struct audit_counts *out, struct strbuf *summary)
{
        cJSON *ev = cJSON_Parse(line);
        const char *verb, *resource;
        const cJSON *code;

        IT_ASSERT(ev, "audit log: not JSON: %.200s", line);
        if (strcmp(str(ev, "stage", NULL), "ResponseComplete") != 0 ||
            strcmp(str(ev, "user", "username"), counted_user()) != 0) {
                cJSON_Delete(ev);
                return;
        }
        verb = str(ev, "verb", NULL);
        resource = str(ev, "objectRef", "resource");
        code = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(ev, "responseStatus"), "code");
        if (cJSON_IsNumber(code) && (code->valueint == 401 || code->valueint == 403) &&
            out->denied++ == 0)
                snprintf(out->denied_first, sizeof(out->denied_first),
                         "at %s: %s %s %s/%s: %d %s: %.200s", str(ev, "stageTimestamp", NULL), verb,
                         resource, str(ev, "objectRef", "namespace"), str(ev, "objectRef", "name"),
                         code->valueint, str(ev, "responseStatus", "reason"),
                         str(ev, "responseStatus", "message"));
        if (strcmp(resource, "leases") == 0 &&
            strcmp(str(ev, "objectRef", "apiGroup"), "coordination.k8s.io") == 0) {
                out->lease++;
                out->lease_reads += strcmp(verb, "get") == 0;
        } else if (strcmp(verb, "watch") == 0) {
                out->watches++;
        } else {
                out->requests++;
                if (strcmp(resource, "events") != 0 &&
                    (strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0 ||
                     strcmp(verb, "patch") == 0 || strncmp(verb, "delete", 6) == 0))
                        out->writes++;
                strbuf_printf(summary, "%s %s %d %s; ", verb, resource,
                              cJSON_IsNumber(code) ? code->valueint : 0,
                              str(ev, "objectRef", "name"));
        }
        cJSON_Delete(ev);
}

void audit_count(long mark, struct audit_counts *out)
{
        struct strbuf summary = {0};
        char *line = NULL;
        size_t cap = 0;
        FILE *f = fopen(log_path(), "re");

        IT_ASSERT(f, "%s: cannot open", log_path());
        IT_ASSERT(fseek(f, mark, SEEK_SET) == 0, "seek %s", log_path());
        memset(out, 0, sizeof(*out));
        while (getline(&line, &cap, f) > 0)
                count_line(line, out, &summary);
        free(line);
        fclose(f);
        snprintf(out->summary, sizeof(out->summary), "%s", summary.buf ? summary.buf : "");
        strbuf_free(&summary);
}

/* rest_client_requests_total for the host cluster, less the leader election's requests, and
 * those (leader_election_requests_total) */
static void metric_requests(int port, double *requests, double *lease)
{
        struct strbuf sb = {0}, host = {0};
        struct prom_doc d;
        char err[256];

        IT_ASSERT(itest_http_get(port, "/metrics", &sb) == 200, "scrape the operator");
        IT_ASSERT(prom_parse(sb.buf, &d, err, sizeof(err)) == 0, "metrics: %s", err);
        strbuf_printf(&host, "host=\"https://127.0.0.1:%s\"", itest_cluster_var("API_PORT"));
        *lease = prom_sum(&d, "leader_election_requests_total", NULL);
        *requests = prom_sum(&d, "rest_client_requests_total", host.buf) - *lease;
        prom_doc_free(&d);
        strbuf_free(&sb);
        strbuf_free(&host);
}

/* Wait until the operator has sent nothing but the lease's requests and watch renewals (with
 * writes_only: no write) for `quiet` seconds: what it does after a change (the last status
 * writes, deletions) is over. A loop never settles: after `timeout` seconds the test fails with
 * what it kept sending. */
static void wait_quiet(const char *after, double quiet, double timeout, bool writes_only)
{
        double t0 = itest_now(), since = t0;
        long mark = audit_mark();
        struct audit_counts c;
        int total = 0;

        while (itest_now() - since < quiet) {
                usleep(250 * 1000);
                audit_count(mark, &c);
                if (!(writes_only ? c.writes : c.requests))
                        continue;
                total += writes_only ? c.writes : c.requests;
                IT_ASSERT(itest_now() - t0 < timeout,
                          "after %s the operator did not settle in %.0f s: %d %s, the last "
                          "ones: %.1500s",
                          after, timeout, total, writes_only ? "writes" : "requests", c.summary);
                since = itest_now();
                mark = audit_mark();
        }
}

void audit_wait_no_writes(const char *after, double quiet, double timeout)
{
        wait_quiet(after, quiet, timeout, true);
}

/* karmada_operator_events_unsent of the operator: events recorded, not sent yet */
static double unsent_events(int port)
{
        struct strbuf sb = {0};
        struct prom_doc d;
        char err[256];
        double n;

        IT_ASSERT(itest_http_get(port, "/metrics", &sb) == 200, "scrape the operator");
        IT_ASSERT(prom_parse(sb.buf, &d, err, sizeof(err)) == 0, "metrics: %s", err);
        n = prom_sum(&d, "karmada_operator_events_unsent", NULL);
        prom_doc_free(&d);
        strbuf_free(&sb);
        return n;
}

void audit_assert_at_rest(const char *after, double seconds, int metrics_port)
{
        struct audit_counts c;
        double m0 = 0, m1 = 0, l0 = 0, l1 = 0, t0 = itest_now();
        long mark;

        /* what it recorded is sent (a repeat's series count waits up to its 30 s interval) */
        while (metrics_port > 0 && unsent_events(metrics_port) > 0) {
                IT_ASSERT(itest_now() - t0 < 90,
                          "after %s the operator still holds %.0f unsent "
                          "events after 90 s",
                          after, unsent_events(metrics_port));
                usleep(500 * 1000);
        }
        wait_quiet(after, 5, 120, false);
        if (metrics_port > 0)
                metric_requests(metrics_port, &m0, &l0);
        mark = audit_mark();
        usleep((useconds_t)(seconds * 1e6));
        audit_count(mark, &c);
        if (metrics_port > 0)
                metric_requests(metrics_port, &m1, &l1);
        IT_ASSERT(c.requests == 0,
                  "at rest after %s: the API server's audit log has %d requests of the operator "
                  "in %.0f s (lease %d, watches %d): %.1500s",
                  after, c.requests, seconds, c.lease, c.watches, c.summary);
        IT_ASSERT(metrics_port <= 0 || m1 - m0 == c.requests + c.watches,
                  "at rest after %s: the operator's rest_client_requests_total (less the lease) "
                  "grew by %.0f, the audit log counts %d requests and %d watches",
                  after, m1 - m0, c.requests, c.watches);
        IT_ASSERT(c.lease_reads == 0,
                  "at rest after %s: %d of the %d lease requests in %.0f s are gets: a renewal "
                  "of the lease held is one update",
                  after, c.lease_reads, c.lease, seconds);
        /* a renewal every retry period goes on while the metric is read: one either side */
        IT_ASSERT(metrics_port <= 0 || fabs(l1 - l0 - c.lease) <= 1,
                  "at rest after %s: the operator's leader_election_requests_total grew by %.0f, "
                  "the audit log counts %d lease requests",
                  after, l1 - l0, c.lease);
        itest_log("at rest after %s: 0 requests in %.0f s by the API server's audit log (lease %d, "
                  "all updates; watches %d)%s",
                  after, seconds, c.lease, c.watches,
                  metrics_port > 0 ? "; the operator's metrics agree" : "");
}
