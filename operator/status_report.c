/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator status: what is read for each instance, and when it is healthy. Every read
 * is a GET or LIST of the moment; nothing is cached or written. */
#include "status_report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "karmada/conditions.h"
#include "karmada/host_secret.h"
#include "karmada/names.h"
#include "karmada/pod_reason.h"
#include "karmada/spec.h"
#include "kube/config.h"
#include "reconciler.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static const struct kube_resource karmada_clusters = {"cluster.karmada.io", "v1alpha1", "clusters",
                                                      "Cluster", false};

/* One instance being read */
struct gather {
        struct kube_client *host;  /* where the Karmada object is */
        struct kube_client *where; /* where its workloads are (its host cluster) */
        const cJSON *cr;
        struct karmada *k; /* the spec parsed, or NULL when it is not valid */
        cJSON *inst, *problems;
        time_t now;
};

static void problem(struct gather *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct gather *g, const char *fmt, ...)
{
        char buf[600];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        cJSON_AddItemToArray(g->problems, cJSON_CreateString(buf));
}

static const cJSON *find_condition(const cJSON *obj, const char *type)
{
        return condition_get(json_at(obj, "status", "conditions"), type);
}

static long long json_ll(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v = json_at(o, a, b);

        return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* Ready, Degraded and Upgrading as they are, each judged by what True means for it */
static void add_conditions(struct gather *g)
{
        static const char *const types[] = {"Ready", "Degraded", "Upgrading"};
        cJSON *conds = cJSON_AddArrayToObject(g->inst, "conditions");
        long long gen = json_ll(g->cr, "metadata", "generation");

        for (size_t i = 0; i < 3; i++) {
                const cJSON *c = find_condition(g->cr, types[i]);
                const char *st = json_str(c, "status", NULL) ?: "Unknown";
                cJSON *o;

                if (!c && i > 0) /* never set: nothing to say (an instance never upgraded) */
                        continue;
                o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "type", types[i]);
                cJSON_AddStringToObject(o, "status", st);
                cJSON_AddStringToObject(o, "reason", json_str(c, "reason", NULL) ?: "");
                cJSON_AddStringToObject(o, "message", json_str(c, "message", NULL) ?: "");
                cJSON_AddItemToArray(conds, o);
                if (i == 0 && strcmp(st, "True") != 0)
                        problem(g, "Ready is %s: %s", st,
                                json_str(c, "reason", NULL) ?: "no status yet");
                else if (i == 0 && json_ll(c, "observedGeneration", NULL) < gen)
                        problem(g, "the operator has not yet reported on generation %lld", gen);
                else if (i > 0 && strcmp(st, "True") == 0)
                        problem(g, "%s: %s", types[i], json_str(c, "reason", NULL) ?: "");
        }
}

static void add_version(struct gather *g)
{
        const char *running = json_str(g->cr, "status", "karmadaVersion");
        const char *wanted = g->k ? g->k->version : json_str(g->cr, "spec", "karmadaVersion");
        cJSON *v = cJSON_AddObjectToObject(g->inst, "version");

        cJSON_AddStringToObject(v, "running", running ?: "");
        cJSON_AddStringToObject(v, "wanted", wanted ?: "");
        if (running && wanted && strcmp(running, wanted) != 0)
                problem(g, "runs %s, wants %s", running, wanted);
}

/* "k=v,..." of a workload's spec.selector.matchLabels */
static int selector_of(const cJSON *w, struct strbuf *sel)
{
        const cJSON *l;

        cJSON_ArrayForEach (l, json_at(json_at(w, "spec", "selector"), "matchLabels", NULL))
                if (cJSON_IsString(l) && strbuf_printf(sel, "%s%s=%s", sel->len ? "," : "",
                                                       l->string, l->valuestring) < 0)
                        return -ENOMEM;
        return sel->len ? 0 : -EINVAL;
}

/* The workload's pods that are not ready, with their cause, into comp["pods"]; the members of
 * an etcd (every pod, ready or not) into members when it is not NULL. */
static void add_pods(struct gather *g, const cJSON *w, cJSON *comp, cJSON *members)
{
        struct strbuf sel = {0};
        struct kube_status st = {0};
        cJSON *list = NULL, *pods = cJSON_AddArrayToObject(comp, "podsNotReady");
        const cJSON *p;
        struct pod_cause why;

        if (selector_of(w, &sel) < 0 ||
            kube_list(g->where, &kube_pods, json_str(w, "metadata", "namespace"),
                      &(struct kube_list_options){.label_selector = sel.buf}, &list, &st) < 0) {
                cJSON_AddStringToObject(comp, "podsError",
                                        st.message[0] ? st.message : "no selector");
                strbuf_free(&sel);
                return;
        }
        strbuf_free(&sel);
        cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                bool bad = pod_reason(p, &why);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", json_str(p, "metadata", "name") ?: "");
                if (members)
                        cJSON_AddBoolToObject(o, "ready", !bad);
                if (bad)
                        cJSON_AddStringToObject(o, "reason", why.text);
                if (members)
                        cJSON_AddItemToArray(members, cJSON_Duplicate(o, true));
                if (bad)
                        cJSON_AddItemToArray(pods, o);
                else
                        cJSON_Delete(o);
        }
        cJSON_Delete(list);
}

/* The replicas the CR asks of workload name: its component's, else (a feature's workload, or
 * a component whose replicas are managed elsewhere) what the workload says */
static long long desired_replicas(const struct gather *g, const cJSON *w, const char *name,
                                  bool *is_etcd)
{
        char n[KO_NAME_MAX + 48];

        *is_etcd = false;
        for (int i = 0; g->k && i < KO_N_COMPONENTS; i++) {
                if (names_join(g->k->prefix, names_components[i].suffix, n, sizeof(n)) < 0 ||
                    strcmp(n, name) != 0)
                        continue;
                *is_etcd = i == KO_ETCD;
                if (!g->k->comp[i].enabled)
                        return 0;
                if (!g->k->comp[i].replicas_external)
                        return g->k->comp[i].replicas;
                break;
        }
        if (!g->k) /* not parsed: still the etcd by its name */
                *is_etcd = strlen(name) > 5 && strcmp(name + strlen(name) - 5, "-etcd") == 0;
        return json_at(w, "spec", "replicas") ? json_ll(w, "spec", "replicas") : 1;
}

static void add_workload(struct gather *g, const struct kube_resource *r, const cJSON *w,
                         cJSON *comps)
{
        const char *name = json_str(w, "metadata", "name") ?: "";
        const cJSON *c0 = cJSON_GetArrayItem(
                json_at(json_at(w, "spec", "template"), "spec", "containers"), 0);
        long long gen = json_ll(w, "metadata", "generation");
        long long ready = json_ll(w, "status", "readyReplicas");
        long long updated = json_ll(w, "status", "updatedReplicas");
        bool is_etcd = false;
        long long want = desired_replicas(g, w, name, &is_etcd);
        cJSON *o = cJSON_CreateObject(), *members = NULL;

        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "kind", r->kind);
        cJSON_AddNumberToObject(o, "ready", (double)ready);
        cJSON_AddNumberToObject(o, "desired", (double)want);
        cJSON_AddStringToObject(o, "image", json_str(c0, "image", NULL) ?: "");
        if (is_etcd)
                members =
                        cJSON_AddArrayToObject(cJSON_AddObjectToObject(g->inst, "etcd"), "members");
        add_pods(g, w, o, members);
        if (ready < want)
                problem(g, "%s: %lld of %lld replicas ready", name, ready, want);
        else if (json_ll(w, "status", "observedGeneration") < gen || updated < want)
                problem(g, "%s: rolling out (%lld of %lld replicas updated)", name, updated, want);
        cJSON_AddItemToArray(comps, o);
}

/* The instance's Deployments and StatefulSets, by name */
static int add_components(struct gather *g, char *why, size_t whylen)
{
        static const struct kube_resource *const kinds[] = {&kube_statefulsets, &kube_deployments};
        cJSON *comps = cJSON_AddArrayToObject(g->inst, "components"), *all = cJSON_CreateArray();
        const char *ns = json_str(g->cr, "metadata", "namespace");
        char sel[300];

        snprintf(sel, sizeof(sel), KO_INSTANCE_SELECTOR "%s", json_str(g->cr, "metadata", "name"));
        for (size_t i = 0; i < 2; i++) {
                struct kube_status st = {0};
                cJSON *list = NULL;
                const cJSON *w;
                if (kube_list(g->where, kinds[i], ns,
                              &(struct kube_list_options){.label_selector = sel}, &list, &st) < 0) {
                        snprintf(why, whylen, "list %s of %s/%s: %s", kinds[i]->resource, ns,
                                 json_str(g->cr, "metadata", "name"), st.message);
                        cJSON_Delete(all);
                        return -EIO;
                }
                cJSON_ArrayForEach (w, cJSON_GetObjectItemCaseSensitive(list, "items"))
                        add_workload(g, kinds[i], w, all);
                cJSON_Delete(list);
        }
        /* sorted by name, whatever the kind */
        while (cJSON_GetArraySize(all) > 0) {
                int min = 0;
                for (int i = 1; i < cJSON_GetArraySize(all); i++)
                        if (strcmp(json_str(cJSON_GetArrayItem(all, i), "name", NULL),
                                   json_str(cJSON_GetArrayItem(all, min), "name", NULL)) < 0)
                                min = i;
                cJSON_AddItemToArray(comps, cJSON_DetachItemFromArray(all, min));
        }
        cJSON_Delete(all);
        return 0;
}

static void add_external_etcd(struct gather *g)
{
        cJSON *e;

        if (!g->k || !g->k->etcd_external)
                return;
        e = cJSON_AddObjectToObject(g->inst, "etcd");
        cJSON_AddBoolToObject(e, "external", true);
        cJSON_AddItemToObject(e, "endpoints", cJSON_Duplicate(g->k->etcd_endpoints, true));
}

/* How many certificates, and the one that expires first */
static void add_certificates(struct gather *g)
{
        const cJSON *c, *soonest = NULL;
        time_t best = 0, t;
        cJSON *o;
        int n = 0;

        cJSON_ArrayForEach (c, json_at(g->cr, "status", "certificates")) {
                n++;
                if (time_parse_rfc3339(json_str(c, "notAfter", NULL) ?: "", &t) == 0 &&
                    (!soonest || t < best)) {
                        soonest = c;
                        best = t;
                }
        }
        o = cJSON_AddObjectToObject(g->inst, "certificates");
        cJSON_AddNumberToObject(o, "count", n);
        if (!soonest)
                return;
        cJSON_AddItemToObject(o, "soonest", cJSON_Duplicate(soonest, true));
        if (best <= g->now)
                problem(g, "certificate %s expired at %s", json_str(soonest, "name", NULL) ?: "",
                        json_str(soonest, "notAfter", NULL));
}

/* The last successful backup of the instance and the next one a schedule will take */
static void add_backups(struct gather *g, cJSON *backups, cJSON *schedules)
{
        const char *name = json_str(g->cr, "metadata", "name");
        const cJSON *b, *last = NULL, *next = NULL;
        cJSON *o = cJSON_AddObjectToObject(g->inst, "backups");

        cJSON_ArrayForEach (b, cJSON_GetObjectItemCaseSensitive(backups, "items")) {
                const char *stop = json_str(b, "status", "stopTime");
                if (strcmp(json_str(json_at(b, "spec", "karmadaRef"), "name", NULL) ?: "", name) !=
                            0 ||
                    strcmp(json_str(b, "status", "phase") ?: "", "Completed") != 0 || !stop)
                        continue;
                if (!last || strcmp(stop, json_str(last, "status", "stopTime")) > 0)
                        last = b;
        }
        cJSON_ArrayForEach (b, cJSON_GetObjectItemCaseSensitive(schedules, "items")) {
                const cJSON *ref = json_at(json_at(b, "spec", "template"), "spec", "karmadaRef");
                const char *when = json_str(b, "status", "nextScheduleTime");
                if (strcmp(json_str(ref, "name", NULL) ?: "", name) != 0 || !when ||
                    cJSON_IsTrue(json_at(b, "spec", "suspend")))
                        continue;
                if (!next || strcmp(when, json_str(next, "status", "nextScheduleTime")) < 0)
                        next = b;
        }
        if (last) {
                cJSON *l = cJSON_AddObjectToObject(o, "last");
                cJSON_AddStringToObject(l, "name", json_str(last, "metadata", "name"));
                cJSON_AddStringToObject(l, "time", json_str(last, "status", "stopTime"));
        }
        if (next) {
                cJSON *n = cJSON_AddObjectToObject(o, "next");
                cJSON_AddStringToObject(n, "schedule", json_str(next, "metadata", "name"));
                cJSON_AddStringToObject(n, "time", json_str(next, "status", "nextScheduleTime"));
        }
}

/* A client of the instance's Karmada API server from its admin kubeconfig; its URL in api */
static struct kube_client *admin_client(struct gather *g, cJSON *api, char *why, size_t whylen)
{
        const cJSON *ref = json_at(g->cr, "status", "secretRef");
        struct kube_status st = {0};
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        unsigned char *text = NULL;
        cJSON *secret = NULL;
        const char *b64;
        size_t len = 0;

        if (!json_str(ref, "name", NULL)) {
                snprintf(why, whylen, "no admin kubeconfig yet (status.secretRef)");
                return NULL;
        }
        if (kube_get(g->where, &kube_secrets, json_str(ref, "namespace", NULL) ?: "",
                     json_str(ref, "name", NULL), &secret, &st) < 0) {
                snprintf(why, whylen, "Secret %s: %s", json_str(ref, "name", NULL), st.message);
                return NULL;
        }
        b64 = json_str(secret, "data", KO_KUBECONFIG_KEY);
        if (!b64 || base64_decode(b64, strlen(b64), &text, &len) < 0 ||
            kube_config_from_memory((const char *)text, len, "admin", NULL, &cfg, why, whylen) <
                    0 ||
            kube_client_new(&(struct kube_client_options){.config = cfg,
                                                          .timeout_ms = 5000,
                                                          .connect_timeout_ms = 3000},
                            &c) < 0) {
                if (!cfg)
                        snprintf(why, whylen, "Secret %s has no usable %s",
                                 json_str(ref, "name", NULL), KO_KUBECONFIG_KEY);
                c = NULL;
        }
        if (cfg)
                cJSON_AddStringToObject(api, "url", cfg->server);
        kube_config_free(cfg);
        free_secret(text, len);
        json_delete_secret(secret);
        return c;
}

/* The API server's endpoint, and the member clusters read through it */
static void add_api_and_members(struct gather *g)
{
        cJSON *api = cJSON_AddObjectToObject(g->inst, "apiServer");
        cJSON *m = cJSON_AddObjectToObject(g->inst, "memberClusters"), *list = NULL, *arr;
        struct kube_status st = {0};
        struct kube_client *c;
        const cJSON *cl;
        char why[512] = "";

        cJSON_AddStringToObject(api, "service",
                                json_str(json_at(g->cr, "status", "apiServerService"), "name", NULL)
                                        ?: "");
        c = admin_client(g, api, why, sizeof(why));
        if (c && kube_list(c, &karmada_clusters, NULL, NULL, &list, &st) < 0)
                snprintf(why, sizeof(why), "%s", st.message);
        kube_client_free(c);
        cJSON_AddBoolToObject(m, "reachable", list != NULL);
        if (!list) {
                cJSON_AddStringToObject(m, "error", why);
                return;
        }
        arr = cJSON_AddArrayToObject(m, "clusters");
        cJSON_ArrayForEach (cl, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const cJSON *ready = find_condition(cl, "Ready");
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", json_str(cl, "metadata", "name") ?: "");
                cJSON_AddBoolToObject(o, "ready",
                                      strcmp(json_str(ready, "status", NULL) ?: "", "True") == 0);
                cJSON_AddStringToObject(o, "reason", json_str(ready, "reason", NULL) ?: "");
                cJSON_AddItemToArray(arr, o);
        }
        cJSON_Delete(list);
}

/* The client of the instance's host cluster: c, or one of spec.hostCluster's kubeconfig */
static int host_client(struct gather *g, struct kube_client **owned, char *why, size_t whylen)
{
        char key[300], server[256], *b64 = NULL;
        int r;

        g->where = g->host;
        if (!g->k || !g->k->host_secret_name)
                return 0;
        snprintf(key, sizeof(key), "%s/%s", g->k->host_secret_namespace, g->k->host_secret_name);
        r = host_secret_read(g->host, g->k->host_secret_namespace, g->k->host_secret_name, &b64,
                             why, whylen);
        if (r == 0)
                r = host_secret_client(b64, key, owned, server, sizeof(server), why, whylen);
        free_secret(b64, b64 ? strlen(b64) : 0);
        if (r == 0)
                g->where = *owned;
        return r;
}

/* One instance's report; what could not be read is its "error" (and a problem) */
static cJSON *instance(struct kube_client *c, const cJSON *cr, cJSON *backups, cJSON *schedules)
{
        char why[1024] = "";
        size_t whylen = sizeof(why);
        struct karmada_spec_error serr = {{0}};
        struct gather g = {.host = c, .cr = cr, .now = time(NULL)};
        struct kube_client *remote = NULL;
        int r;

        if (registry_parse(cr, &g.k, &serr) < 0)
                g.k = NULL;
        g.inst = cJSON_CreateObject();
        cJSON_AddStringToObject(g.inst, "namespace", json_str(cr, "metadata", "namespace") ?: "");
        cJSON_AddStringToObject(g.inst, "name", json_str(cr, "metadata", "name") ?: "");
        cJSON_AddBoolToObject(g.inst, "healthy", false);
        g.problems = cJSON_AddArrayToObject(g.inst, "problems");
        add_version(&g);
        add_conditions(&g);
        r = host_client(&g, &remote, why, whylen);
        if (r == 0)
                r = add_components(&g, why, whylen);
        if (r == 0) {
                add_external_etcd(&g);
                add_certificates(&g);
                add_backups(&g, backups, schedules);
                add_api_and_members(&g);
                cJSON_ReplaceItemInObjectCaseSensitive(
                        g.inst, "healthy", cJSON_CreateBool(cJSON_GetArraySize(g.problems) == 0));
        }
        if (r < 0) {
                problem(&g, "cannot read it: %s", why);
                cJSON_AddStringToObject(g.inst, "error", why);
        }
        kube_client_free(remote);
        karmada_free(g.k);
        return g.inst;
}

/* The Karmada objects asked for, sorted as the API lists them */
static cJSON *read_instances(struct kube_client *c, const struct status_options *o, char *why,
                             size_t whylen)
{
        struct kube_status st = {0};
        cJSON *list = NULL, *obj = NULL;

        if (o->name) {
                if (kube_get(c, &karmada_karmadas, o->namespace, o->name, &obj, &st) < 0) {
                        snprintf(why, whylen, "Karmada %s/%s: %s", o->namespace, o->name,
                                 st.message);
                        return NULL;
                }
                list = cJSON_CreateObject();
                cJSON_AddItemToArray(cJSON_AddArrayToObject(list, "items"), obj);
                return list;
        }
        if (kube_list(c, &karmada_karmadas, o->namespace, NULL, &list, &st) < 0) {
                snprintf(why, whylen, "list Karmada objects: %s", st.message);
                return NULL;
        }
        return list;
}

cJSON *status_report_build(struct kube_client *c, const struct status_options *o, char *why,
                           size_t whylen)
{
        cJSON *crs = read_instances(c, o, why, whylen), *report, *arr, *inst;
        cJSON *backups = NULL, *schedules = NULL;
        const cJSON *cr;

        if (!crs)
                return NULL;
        /* backups are optional reading: an operator without them installed still has a status */
        kube_list(c, &karmada_backups, o->namespace, NULL, &backups, NULL);
        kube_list(c, &karmada_backupschedules, o->namespace, NULL, &schedules, NULL);
        report = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(report, "instances");
        cJSON_ArrayForEach (cr, cJSON_GetObjectItemCaseSensitive(crs, "items")) {
                inst = instance(c, cr, backups, schedules);
                cJSON_AddItemToArray(arr, inst);
        }
        if (report && cJSON_GetArraySize(arr) == 0) {
                snprintf(why, whylen, "no Karmada objects in %s",
                         o->namespace ? o->namespace : "any namespace");
                cJSON_Delete(report);
                report = NULL;
        }
        cJSON_Delete(backups);
        cJSON_Delete(schedules);
        cJSON_Delete(crs);
        return report;
}

int status_report(struct kube_client *c, const struct status_options *o, FILE *out, FILE *errout)
{
        char why[1024] = "";
        cJSON *report = status_report_build(c, o, why, sizeof(why));
        const cJSON *inst;
        int status = 0;

        if (!report) {
                fprintf(errout, "karmada-operator status: %s\n", why);
                return 2;
        }
        cJSON_ArrayForEach (inst, cJSON_GetObjectItemCaseSensitive(report, "instances")) {
                if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(inst, "healthy")) && !status)
                        status = 1;
                if (cJSON_GetObjectItemCaseSensitive(inst, "error"))
                        status = 2; /* what it says may be wrong: not read */
        }
        if (o->json) {
                char *text = cJSON_Print(report);
                fprintf(out, "%s\n", text ? text : "");
                free(text);
        } else {
                status_report_print(report, o->color, out);
        }
        cJSON_Delete(report);
        return status;
}
