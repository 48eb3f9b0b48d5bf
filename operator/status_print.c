/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator status as text: one screen per instance, built from the report's JSON only
 * (what -o json prints), so both always tell the same. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status_report.h"
#include "util/json.h"
#include "util/timeutil.h"

#define GREEN  "\033[32m"
#define RED    "\033[31m"
#define YELLOW "\033[33m"
#define RESET  "\033[0m"

struct printer {
        FILE *out;
        bool color;
        time_t now;
};

static const char *paint(const struct printer *p, const char *color)
{
        return p->color ? color : "";
}

/* "in 3d" or "5h ago" of an RFC 3339 time */
static const char *relative(const struct printer *p, const char *when, char *buf, size_t size)
{
        static const struct {
                long long s;
                char unit;
        } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
        time_t t;
        long long d;
        size_t i = 0;

        if (!when || time_parse_rfc3339(when, &t) < 0) {
                snprintf(buf, size, "?");
                return buf;
        }
        d = (long long)t - (long long)p->now;
        while (i < 3 && (d < 0 ? -d : d) < units[i].s)
                i++;
        if (d >= 0)
                snprintf(buf, size, "in %lld%c", d / units[i].s, units[i].unit);
        else
                snprintf(buf, size, "%lld%c ago", -d / units[i].s, units[i].unit);
        return buf;
}

static void print_conditions(const struct printer *p, const cJSON *inst)
{
        const cJSON *c;

        cJSON_ArrayForEach (c, json_at(inst, "conditions", NULL)) {
                const char *type = json_str(c, "type", NULL), *st = json_str(c, "status", NULL);
                bool good = strcmp(st, strcmp(type, "Ready") == 0 ? "True" : "False") == 0;
                const char *msg = json_str(c, "message", NULL);
                fprintf(p->out, "  %-14s%s%-7s%s %s%s%.*s\n", type, paint(p, good ? GREEN : YELLOW),
                        st, paint(p, RESET), json_str(c, "reason", NULL), *msg ? ": " : "",
                        (int)strcspn(msg, "\n"), msg);
        }
}

static void print_summary(const struct printer *p, const cJSON *inst)
{
        const cJSON *api = json_at(inst, "apiServer", NULL);
        const cJSON *cert = json_at(json_at(inst, "certificates", NULL), "soonest", NULL);
        const cJSON *last = json_at(json_at(inst, "backups", NULL), "last", NULL);
        const cJSON *next = json_at(json_at(inst, "backups", NULL), "next", NULL);
        char rel[32];

        fprintf(p->out, "  %-14s%s (wanted %s)\n", "Version",
                *json_str(inst, "version", "running") ? json_str(inst, "version", "running")
                                                      : "none yet",
                json_str(inst, "version", "wanted"));
        print_conditions(p, inst);
        fprintf(p->out, "  %-14s%s (Service %s)\n", "API server",
                json_str(api, "url", NULL) ?: "unknown", json_str(api, "service", NULL));
        if (cert)
                fprintf(p->out, "  %-14s%d; soonest expiry %s (%s): %s\n", "Certificates",
                        json_at(inst, "certificates", "count")->valueint,
                        json_str(cert, "notAfter", NULL),
                        relative(p, json_str(cert, "notAfter", NULL), rel, sizeof(rel)),
                        json_str(cert, "name", NULL));
        else
                fprintf(p->out, "  %-14snone yet\n", "Certificates");
        if (last)
                fprintf(p->out, "  %-14s%s at %s (%s)\n", "Last backup",
                        json_str(last, "name", NULL), json_str(last, "time", NULL),
                        relative(p, json_str(last, "time", NULL), rel, sizeof(rel)));
        else
                fprintf(p->out, "  %-14snone\n", "Last backup");
        if (next)
                fprintf(p->out, "  %-14s%s (%s), by schedule %s\n", "Next backup",
                        json_str(next, "time", NULL),
                        relative(p, json_str(next, "time", NULL), rel, sizeof(rel)),
                        json_str(next, "schedule", NULL));
        else
                fprintf(p->out, "  %-14snone scheduled\n", "Next backup");
}

static void print_components(const struct printer *p, const cJSON *inst)
{
        const cJSON *c, *pod;

        fprintf(p->out, "\n  %-40s %-12s %-7s %s\n", "COMPONENT", "KIND", "READY", "IMAGE");
        cJSON_ArrayForEach (c, json_at(inst, "components", NULL)) {
                int ready = json_at(c, "ready", NULL)->valueint;
                int want = json_at(c, "desired", NULL)->valueint;
                char frac[24];
                snprintf(frac, sizeof(frac), "%d/%d", ready, want);
                fprintf(p->out, "  %-40s %-12s %s%-7s%s %s\n", json_str(c, "name", NULL),
                        json_str(c, "kind", NULL), paint(p, ready < want ? RED : GREEN), frac,
                        paint(p, RESET), json_str(c, "image", NULL));
        }
        cJSON_ArrayForEach (c, json_at(inst, "components", NULL))
                cJSON_ArrayForEach (pod, json_at(c, "podsNotReady", NULL))
                        fprintf(p->out, "    pod %s: %s%s%s\n", json_str(pod, "name", NULL),
                                paint(p, YELLOW), json_str(pod, "reason", NULL), paint(p, RESET));
}

static void print_etcd(const struct printer *p, const cJSON *inst)
{
        const cJSON *etcd = json_at(inst, "etcd", NULL), *m;

        if (!etcd)
                return;
        if (cJSON_IsTrue(json_at(etcd, "external", NULL))) {
                fprintf(p->out, "\n  etcd: external\n");
                return;
        }
        fprintf(p->out, "\n  ETCD MEMBER%-29s HEALTH\n", "");
        if (!cJSON_GetArraySize(json_at(etcd, "members", NULL)))
                fprintf(p->out, "  %s(none running)%s\n", paint(p, RED), paint(p, RESET));
        cJSON_ArrayForEach (m, json_at(etcd, "members", NULL)) {
                bool ok = cJSON_IsTrue(json_at(m, "ready", NULL));
                fprintf(p->out, "  %-40s %s%s%s\n", json_str(m, "name", NULL),
                        paint(p, ok ? GREEN : RED), ok ? "ready" : json_str(m, "reason", NULL),
                        paint(p, RESET));
        }
}

static void print_members(const struct printer *p, const cJSON *inst)
{
        const cJSON *m = json_at(inst, "memberClusters", NULL), *c;

        if (!cJSON_IsTrue(json_at(m, "reachable", NULL))) {
                fprintf(p->out, "\n  Member clusters: not read (%s)\n", json_str(m, "error", NULL));
                return;
        }
        if (!cJSON_GetArraySize(json_at(m, "clusters", NULL))) {
                fprintf(p->out, "\n  Member clusters: none\n");
                return;
        }
        fprintf(p->out, "\n  %-40s %s\n", "MEMBER CLUSTER", "READY");
        cJSON_ArrayForEach (c, json_at(m, "clusters", NULL)) {
                bool ok = cJSON_IsTrue(json_at(c, "ready", NULL));
                const char *reason = json_str(c, "reason", NULL);
                fprintf(p->out, "  %-40s %s%s%s%s%s\n", json_str(c, "name", NULL),
                        paint(p, ok ? GREEN : RED), ok ? "True" : "False", paint(p, RESET),
                        !ok && *reason ? " " : "", !ok ? reason : "");
        }
}

void status_report_print(const cJSON *report, bool color, FILE *out)
{
        struct printer p = {.out = out, .color = color, .now = time(NULL)};
        const cJSON *inst, *pr;
        bool first = true;

        cJSON_ArrayForEach (inst, json_at(report, "instances", NULL)) {
                bool ok = cJSON_IsTrue(json_at(inst, "healthy", NULL));
                fprintf(out, "%sKarmada %s/%s: %s%s%s\n", first ? "" : "\n",
                        json_str(inst, "namespace", NULL), json_str(inst, "name", NULL),
                        paint(&p, ok ? GREEN : RED), ok ? "healthy" : "not healthy",
                        paint(&p, RESET));
                first = false;
                print_summary(&p, inst);
                print_components(&p, inst);
                print_etcd(&p, inst);
                print_members(&p, inst);
                if (ok)
                        continue;
                fprintf(out, "\n  Problems:\n");
                cJSON_ArrayForEach (pr, json_at(inst, "problems", NULL))
                        fprintf(out, "  - %s\n", pr->valuestring);
        }
}
