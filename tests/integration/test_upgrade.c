/* SPDX-License-Identifier: Apache-2.0 */
/* Upgrades by version bump, with the Karmada API servers running for real (ko-plane):
 *   - a skipped minor, a downgrade of minor and a new etcd size are refused, and nothing of the
 *     instance changes;
 *   - a step that never finishes (a webhook that cannot be scheduled) fails the upgrade after
 *     its deadline and the instance returns to the images it ran before;
 *   - v1.17.1 -> v1.18.2 goes one step at a time (checked while it happens: no component takes
 *     the new version before every component ahead of it has finished rolling out), the
 *     scheduler's estimator moves in the scheduler's step, the CRDs follow the instance's
 *     version, status.karmadaVersion flips at the end only, and what was stored in the Karmada
 *     API server before is still there;
 *   - v1.18.2 -> v1.19.0 goes through the same ordered steps. Karmada v1.19's binaries are not
 *     on the Go module proxy: its Karmada components are pods that ko-plane does not run (kwok
 *     makes them Ready), its kube-apiserver image (v1.36.2) runs ko-plane's pinned
 *     kube-apiserver, and its CRDs are v1.18.2's, served by a local file server;
 *   - the other instance is never touched meanwhile; then it goes v1.18.1 -> v1.18.2 and back
 *     (patches of one minor, either way, no annotation) through the same ordered steps; the
 *     operator is killed (SIGKILL) three times during the first, which resumes each time and
 *     never takes a step out of order. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileserver.h"
#include "itest.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/fileio.h"

#define FROM "v1.17.1"
#define TO   "v1.18.2"
#define NEXT "v1.19.0"
/* the other instance: a patch upgrade, then a patch downgrade (no annotation needed) */
#define PATCH_FROM "v1.18.1"

static const char *ns;

/* the Deployments whose image follows the Karmada version, in the order an upgrade takes
 * them (kube-controller-manager's follows Kubernetes: the same in v1.17 and v1.18); the
 * estimator moves with the scheduler (WITH_PREVIOUS) */
#define ESTIMATOR "scheduler-estimator-member1"
static const char *const order[] = {
        "aggregated-apiserver", "webhook", "controller-manager", "scheduler", ESTIMATOR,
        "metrics-adapter"};
#define N_ORDER          (sizeof(order) / sizeof(order[0]))
#define WITH_PREVIOUS(i) (strcmp(order[i], ESTIMATOR) == 0)

static const char *status_str(const char *name, const char *key, char *buf, size_t size)
{
        cJSON *k = live_get(ns, name);

        snprintf(buf, size, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "status"), key))
                         ?: "");
        cJSON_Delete(k);
        return buf;
}

static cJSON *deployment(const char *instance, const char *suffix)
{
        char name[128];
        cJSON *d = NULL;

        snprintf(name, sizeof(name), "%s-karmada-%s", instance, suffix);
        IT_ASSERT(kube_get(live_kc, &kube_deployments, ns, name, &d, NULL) == 0, "get %s", name);
        return d;
}

static double num(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);

        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *image(const cJSON *d)
{
        const cJSON *c = cJSON_GetArrayItem(
                cJSON_GetObjectItem(
                        cJSON_GetObjectItem(
                                cJSON_GetObjectItem(cJSON_GetObjectItem(d, "spec"), "template"),
                                "spec"),
                        "containers"),
                0);

        return cJSON_GetStringValue(cJSON_GetObjectItem(c, "image")) ?: "";
}

static bool has_tag(const cJSON *d, const char *tag)
{
        const char *img = image(d), *colon = strrchr(img, ':');

        return colon && strcmp(colon + 1, tag) == 0;
}

/* finished rolling out: what the operator's own check asks, read independently */
static bool rolled_out(const cJSON *d)
{
        double want = num(d, "spec", "replicas");

        return num(d, "status", "observedGeneration") >= num(d, "metadata", "generation") &&
               num(d, "status", "updatedReplicas") == want &&
               num(d, "status", "availableReplicas") == want &&
               num(d, "status", "replicas") == want;
}

/* The generations of an instance's workloads, as "name=generation," */
static void generations(const char *instance, char *buf, size_t size)
{
        static const struct kube_resource *const kinds[] = {&kube_deployments, &kube_statefulsets};
        char sel[128];

        buf[0] = '\0';
        snprintf(sel, sizeof(sel), "app.kubernetes.io/instance=%s", instance);
        for (size_t i = 0; i < 2; i++) {
                cJSON *list = NULL;
                const cJSON *o;
                IT_ASSERT(kube_list(live_kc, kinds[i], ns,
                                    &(struct kube_list_options){.label_selector = sel}, &list,
                                    NULL) == 0,
                          "list");
                cJSON_ArrayForEach (o, cJSON_GetObjectItem(list, "items")) {
                        size_t len = strlen(buf);
                        snprintf(buf + len, size - len, "%s=%.0f,",
                                 cJSON_GetStringValue(cJSON_GetObjectItem(
                                         cJSON_GetObjectItem(o, "metadata"), "name")),
                                 num(o, "metadata", "generation"));
                }
                cJSON_Delete(list);
        }
        IT_ASSERT(strlen(buf) > 20, "workloads of %s: %s", instance, buf);
}

/* The resourceVersions of the instance's certificates and kubeconfigs: an upgrade keeps them. */
static void secrets(const char *instance, char *buf, size_t size)
{
        static const char *const names[] = {"cert", "etcd-cert", "webhook-cert", "admin-config"};

        buf[0] = '\0';
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char name[128];
                size_t len = strlen(buf);
                cJSON *o = NULL;

                snprintf(name, sizeof(name), "%s-karmada-%s", instance, names[i]);
                IT_ASSERT(kube_get(live_kc, &kube_secrets, ns, name, &o, NULL) == 0, "get %s",
                          name);
                snprintf(buf + len, size - len, "%s=%s,", name,
                         cJSON_GetStringValue(cJSON_GetObjectItem(
                                 cJSON_GetObjectItem(o, "metadata"), "resourceVersion")));
                cJSON_Delete(o);
        }
}

/* A change that is refused: the condition says why, and no workload changes. */
static void refused(const char *name, const char *patch, const char *reason, const char *field,
                    const char *needle, const char *restore)
{
        char want[128];

        char before[4096], after[4096], buf[1024];

        generations(name, before, sizeof(before));
        live_patch(ns, name, "%s", patch);
        snprintf(want, sizeof(want), "False %s", reason);
        live_wait_condition(ns, name, "Ready", want, 60);
        live_condition(ns, name, "Ready", buf, sizeof(buf));
        IT_ASSERT(strstr(buf, needle) && strstr(buf, field), "%s", buf);
        live_gitops_health(&karmada_karmadas, ns, name, "Failed", "Degraded");
        sleep(3); /* time for a change it would wrongly make */
        generations(name, after, sizeof(after));
        IT_ASSERT(strcmp(before, after) == 0, "refused, yet changed: %s -> %s", before, after);
        itest_log("%s refused: \"%.160s\"", name, buf);
        live_patch(ns, name, "%s", restore);
        live_wait_condition(ns, name, "Ready", "True", 60);
}

static bool crds_new(struct kube_client *kk)
{
        cJSON *crd = NULL;
        char *text;
        bool yes;

        IT_ASSERT(kube_get(kk, &kube_crds, NULL, "propagationpolicies.policy.karmada.io", &crd,
                           NULL) == 0,
                  "get the PropagationPolicy CRD");
        text = cJSON_PrintUnformatted(crd);
        yes = strstr(text, "overflowAffinities") != NULL; /* new in v1.18 */
        free(text);
        cJSON_Delete(crd);
        return yes;
}

/* One look while an upgrade to `to` runs. Read from the last step back to the first: a
 * component seen at the new version means every one ahead of it had finished before, and
 * still has; the one a component moves with (WITH_PREVIOUS) need only have been changed. */
static bool check_order_once(const char *inst, struct kube_client *kk, const char *to, int *partial)
{
        char version[64];
        bool later_new =
                strcmp(status_str(inst, "karmadaVersion", version, sizeof(version)), to) == 0;
        bool done = later_new, partner_new = false;
        int n_new = 0;

        for (int i = (int)N_ORDER - 1; i >= 0; i--) {
                cJSON *d = deployment(inst, order[i]);
                bool is_new = has_tag(d, to), ok = rolled_out(d);
                IT_ASSERT(!later_new || (is_new && ok),
                          "%s is %s (rolled out: %d) while a later step is already at %s "
                          "(status.karmadaVersion %s)",
                          order[i], image(d), ok, to, version);
                IT_ASSERT(!partner_new || is_new,
                          "%s is %s while the %s that moves with it is at %s", order[i], image(d),
                          order[i + 1], to);
                if (strcmp(order[i], "webhook") == 0 && kk)
                        IT_ASSERT(!(later_new || is_new) || crds_new(kk),
                                  "the webhook is upgraded before the CRDs");
                n_new += is_new;
                if (WITH_PREVIOUS(i)) {
                        partner_new = is_new;
                } else {
                        later_new = later_new || is_new || partner_new;
                        partner_new = false;
                }
                cJSON_Delete(d);
        }
        *partial += n_new > 0 && n_new < (int)N_ORDER;
        return done;
}

static char webhook_note[256]; /* the UpgradeStep Event of the webhook */

/* The UpgradeStep events of "up" for TO, ordered by time: their step names must come in the
 * upgrade order. */
static bool step_events_in_order(int *ret_n, const char **ret_missing)
{
        static const char *const want[] = {
                "etcd",
                "karmada-apiserver",
                "karmada-aggregated-apiserver",
                "karmada-resources",
                "karmada-webhook",
                "kube-controller-manager",
                "karmada-controller-manager",
                "karmada-scheduler",
                "karmada-metrics-adapter",
        };
        struct {
                char time[64], step[64];
        } ev[64];
        cJSON *list = NULL;
        const cJSON *e;
        int n = 0, at = 0;

        IT_ASSERT(kube_list(live_kc, &kube_events, ns, NULL, &list, NULL) == 0, "list events");
        cJSON_ArrayForEach (e, cJSON_GetObjectItem(list, "items")) {
                const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(e, "note")) ?: "";
                const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(e, "reason")) ?: "";
                const char *who = cJSON_GetStringValue(
                        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "regarding"), "name"));
                const char *step = strstr(note, ": "), *tail = strstr(note, " is at ");

                /* "step 8 of 13: karmada-webhook is at v1.18.2" (the README's numbers, and
                 * the feature-scheduler's step) */
                if (strcmp(reason, "UpgradeStep") != 0 || !who || strcmp(who, "up") != 0 ||
                    strncmp(note, "step ", 5) != 0 || !step || !tail || tail < step ||
                    strcmp(tail + strlen(" is at "), TO) != 0 || n == 64)
                        continue;
                if (strstr(note, ": karmada-webhook is at "))
                        snprintf(webhook_note, sizeof(webhook_note), "%s", note);
                step += 2;
                snprintf(ev[n].time, sizeof(ev[n].time), "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItem(e, "eventTime")) ?: "");
                snprintf(ev[n].step, sizeof(ev[n].step), "%.*s", (int)(tail - step), step);
                n++;
        }
        cJSON_Delete(list);
        /* by eventTime (RFC 3339 with microseconds: text order is time order) */
        for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && strcmp(ev[j - 1].time, ev[j].time) > 0; j--) {
                        __typeof__(ev[0]) t = ev[j];
                        ev[j] = ev[j - 1];
                        ev[j - 1] = t;
                }
        for (int i = 0; i < n && at < (int)(sizeof(want) / sizeof(want[0])); i++)
                if (strcmp(ev[i].step, want[at]) == 0)
                        at++;
        *ret_n = n;
        *ret_missing = at < (int)(sizeof(want) / sizeof(want[0])) ? want[at] : NULL;
        return !*ret_missing;
}

/* (Events are sent in batches: the last ones may still be on their way.) */
static void check_step_events(void)
{
        const char *missing = NULL;
        int n = 0;

        for (double t0 = itest_now(); itest_now() - t0 < 15; usleep(500 * 1000))
                if (step_events_in_order(&n, &missing))
                        break;
        IT_ASSERT(!missing,
                  "%d UpgradeStep events; the steps in time order do not include %s after the "
                  "ones before it",
                  n, missing);
        /* what README's "One step at a time" says: pki and kubeconfig count, and so does
         * encryption-at-rest; the estimators as the feature's own step, last */
        IT_ASSERT(strncmp(webhook_note, "step 8 of 13: ", 14) == 0,
                  "the webhook's UpgradeStep Event: %s", webhook_note);
        itest_log("%d UpgradeStep events, in the upgrade's order (\"%s\")", n, webhook_note);
}

static void create_instance(const char *name, const char *version)
{
        live_create(ns,
                    "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                    "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"karmadaVersion\":\"%s\","
                    "\"components\":{\"etcd\":{\"local\":{}},\"karmadaAPIServer\":{\"serviceType\":"
                    "\"NodePort\"}},\"features\":{\"scheduler\":{\"estimator\":{\"enabled\":true,"
                    "\"memberClusters\":[{\"name\":\"member1\",\"kubeconfigSecretRef\":{\"name\":"
                    "\"member1-kubeconfig\"}}]}}}}}",
                    name, version);
}

/* The operator is killed (SIGKILL) during the first patch upgrade, three times: when the first
 * step's Deployment, one in the middle and the last one have taken the new version. */
static const char *const kill_at[] = {"aggregated-apiserver", "controller-manager",
                                      "metrics-adapter"};
#define N_KILLS (int)(sizeof(kill_at) / sizeof(kill_at[0]))

/* The next kill point reached: kill -9 the operator and start a new one (it waits for the
 * Lease the killed one held) */
static void kill_if_reached(const char *inst, const char *to, int *kills)
{
        cJSON *d;

        if (*kills >= N_KILLS)
                return;
        d = deployment(inst, kill_at[*kills]);
        if (has_tag(d, to)) {
                live_kill_operator(0);
                live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
                itest_log("operator killed (-9) once %s had taken %s (rolled out: %s); a new one "
                          "started",
                          kill_at[*kills], to, rolled_out(d) ? "yes" : "not yet");
                (*kills)++;
        }
        cJSON_Delete(d);
}

/* `karmada-operator render --diff` of instance `name` as the cluster holds it, with
 * spec.karmadaVersion set to version (NULL: as it is): its exit status; its output into out */
static int render_diff(const char *name, const char *version, char **out)
{
        char dir[] = "/tmp/ko-diff-XXXXXX", cr[300], res[300], cmd[2048];
        cJSON *k = live_get(ns, name);
        char *json;
        size_t len;
        int status;

        IT_ASSERT(k && mkdtemp(dir), "%s and a directory", name);
        if (version)
                cJSON_ReplaceItemInObject(cJSON_GetObjectItem(k, "spec"), "karmadaVersion",
                                          cJSON_CreateString(version));
        cJSON_DeleteItemFromObject(k, "status");
        json = cJSON_Print(k);
        snprintf(cr, sizeof(cr), "%s/cr.json", dir);
        snprintf(res, sizeof(res), "%s/out", dir);
        IT_ASSERT(json && fileio_write_atomic(cr, json, strlen(json), 0600) == 0, "write %s", cr);
        snprintf(cmd, sizeof(cmd), "exec %s render -f %s --diff --kubeconfig %s >%s",
                 itest_operator_bin(), cr, itest_kubeconfig(), res);
        status = itest_wait_exit(
                itest_spawn((char *const[]){"/bin/sh", "-c", cmd, NULL}, NULL, NULL), 120);
        IT_ASSERT(fileio_read(res, 1u << 20, out, &len) == 0, "read %s", res);
        itest_rm_rf(dir);
        free(json);
        cJSON_Delete(k);
        return status;
}

/* render --diff against the live instance: nothing for the CR as it is (exit 0); for a version
 * bump (exit 1) the images of the Deployments that follow the version, and nothing created or
 * deleted */
static void check_render_diff(const char *name, const char *to)
{
        char *out = NULL, want[256];
        int status = render_diff(name, NULL, &out), n = 0;

        IT_ASSERT(status == 0 && !out[0], "render --diff of %s unchanged: exit %d:\n%s", name,
                  status, out);
        free(out);
        status = render_diff(name, to, &out);
        IT_ASSERT(status == 1, "render --diff of %s at %s: exit %d:\n%s", name, to, status, out);
        for (size_t i = 0; i < N_ORDER; i++) {
                snprintf(want, sizeof(want), "~ Deployment %s/%s-karmada-%s\n", ns, name, order[i]);
                n += strstr(out, want) != NULL;
        }
        snprintf(want, sizeof(want), ":%s\"\n", to);
        IT_ASSERT(n == (int)N_ORDER && strstr(out, want) && strstr(out, ".image: ") &&
                          !strstr(out, "\n+ ") && !strstr(out, "\n- ") && out[0] == '~',
                  "render --diff of %s at %s: %d of %zu Deployments changed:\n%s", name, to, n,
                  N_ORDER, out);
        itest_log("render --diff of %s: nothing as it is; at %s its %d Deployments' images "
                  "(%zu bytes of diff, its first lines:)\n%.600s",
                  name, to, n, strlen(out), out);
        free(out);
}

/* "other": PATCH_FROM -> TO and back, each through the ordered steps, no annotation; the first
 * resumes after each of the three kills, never taking a step out of order (checked in every
 * look), and ends Upgraded with every component at TO */
static void patch_upgrades(void)
{
        const char *const to[] = {TO, PATCH_FROM};
        char buf[1024];
        int kills = N_KILLS;

        for (int i = 0; i < 2; i++) {
                int partial = 0;
                double t0 = itest_now();
                kills = i == 0 ? 0 : N_KILLS;
                live_patch(ns, "other", "{\"spec\":{\"karmadaVersion\":\"%s\"}}", to[i]);
                while (!check_order_once("other", NULL, to[i], &partial)) {
                        IT_ASSERT(itest_now() - t0 < 300, "other not at %s after 300s: %s", to[i],
                                  live_condition(ns, "other", "Upgrading", buf, sizeof(buf)));
                        kill_if_reached("other", to[i], &kills);
                        usleep(100 * 1000);
                }
                IT_ASSERT(kills == N_KILLS, "the upgrade ended after %d kills of %d", kills,
                          N_KILLS);
                live_wait_condition(ns, "other", "Upgrading", "False Upgraded", 30);
                live_wait_condition(ns, "other", "Ready", "True", 30);
                itest_log("other: %s -> %s in %.1fs, in order (%d looks caught it half way)%s",
                          i ? TO : PATCH_FROM, to[i], itest_now() - t0, partial,
                          i ? "" : ", the operator killed 3 times");
        }
}

/* TO -> NEXT (v1.19): the same ordered steps, status.karmadaVersion flipped last. */
static void upgrade_to_next(void)
{
        struct fileserver *fs;
        char dir[1024], buf[1024];
        int partial = 0;
        double t0;

        snprintf(dir, sizeof(dir), "%s", itest_crd_tarball(TO));
        *strrchr(dir, '/') = '\0';
        fs = fileserver_start(dir);
        IT_ASSERT(fs, "file server");
        live_patch(ns, "up",
                   "{\"spec\":{\"karmadaVersion\":\"" NEXT "\",\"crdTarball\":{\"httpSource\":{"
                   "\"url\":\"http://127.0.0.1:%d/crds.tar.gz\"}}}}",
                   fileserver_port(fs));
        t0 = itest_now();
        while (!check_order_once("up", NULL, NEXT, &partial)) {
                IT_ASSERT(itest_now() - t0 < 300, "not upgraded to " NEXT " after 300s: %s",
                          live_condition(ns, "up", "Upgrading", buf, sizeof(buf)));
                usleep(100 * 1000);
        }
        live_wait_condition(ns, "up", "Upgrading", "False Upgraded", 30);
        for (size_t i = 0; i < N_ORDER; i++) {
                cJSON *d = deployment("up", order[i]);
                IT_ASSERT(has_tag(d, NEXT), "%s after the upgrade: %s", order[i], image(d));
                cJSON_Delete(d);
        }
        {
                cJSON *d = deployment("up", "apiserver");
                IT_ASSERT(strcmp(image(d), "registry.k8s.io/kube-apiserver:v1.36.2") == 0,
                          "the Karmada API server of " NEXT ": %s", image(d));
                cJSON_Delete(d);
        }
        itest_log("upgraded " TO " -> " NEXT " in %.1fs, in order (%d looks caught it half way); "
                  "kube-apiserver v1.36.2",
                  itest_now() - t0, partial);
        fileserver_stop(fs);
}

int main(void)
{
        char other_before[4096], other_after[4096], buf[1024], certs[1024], certs_after[1024];
        struct kube_client *kk;
        struct kube_status st;
        cJSON *cm, *got = NULL, *d;
        int partial = 0;
        double t0;

        live_setup();
        ns = itest_unique_name("upgrade");
        live_make_ns(ns);
        live_lease_seconds(6); /* a killed operator is succeeded within 6 s */
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        /* both have the scheduler's estimator for a member (one that never answers) */
        live_create_object(&kube_secrets, ns,
                           "{\"metadata\":{\"name\":\"member1-kubeconfig\"},\"stringData\":{"
                           "\"kubeconfig\":\"" LIVE_UNREACHABLE_KUBECONFIG "\"}}");
        create_instance("up", FROM);
        create_instance("other", PATCH_FROM);
        t0 = itest_now();
        live_gitops_health(&karmada_karmadas, ns, "up", "InProgress", "Progressing");
        live_wait_condition(ns, "up", "Ready", "True", 240);
        live_wait_condition(ns, "other", "Ready", "True", 240);
        itest_log("up (" FROM ") and other (" PATCH_FROM ") Ready after %.1fs", itest_now() - t0);
        /* Argo CD's verdict on a Ready instance follows Degraded: test_e2e_karmada */
        live_gitops_health(&karmada_karmadas, ns, "up", "Current", NULL);
        IT_ASSERT(strcmp(status_str("up", "karmadaVersion", buf, sizeof(buf)), FROM) == 0, "%s",
                  buf);

        /* refused, and nothing changes */
        refused("up", "{\"spec\":{\"karmadaVersion\":\"" NEXT "\"}}", "UpgradeRefused",
                "spec.karmadaVersion", "skips a minor",
                "{\"spec\":{\"karmadaVersion\":\"" FROM "\"}}");
        refused("up", "{\"spec\":{\"karmadaVersion\":\"v1.16.0\"}}", "UpgradeRefused",
                "spec.karmadaVersion", "downgrade", "{\"spec\":{\"karmadaVersion\":\"" FROM "\"}}");
        refused("other", "{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":2}}}}}",
                "EtcdScalingRefused", "spec.components.etcd.local.replicas", "is even",
                "{\"spec\":{\"components\":{\"etcd\":{\"local\":{\"replicas\":null}}}}}");
        generations("other", other_before, sizeof(other_before));
        check_render_diff("other", TO);

        /* data in the Karmada API server before the upgrade */
        kk = live_karmada_client(ns, "up", NULL);
        cm = cJSON_Parse("{\"metadata\":{\"name\":\"before-upgrade\"},\"data\":{\"k\":\"v\"}}");
        IT_ASSERT(kube_create(kk, &kube_configmaps, "default", cm, NULL, NULL, &st) == 0,
                  "ConfigMap: %s", st.message);
        cJSON_Delete(cm);
        IT_ASSERT(!crds_new(kk), FROM "'s CRDs");
        secrets("up", certs, sizeof(certs));

        /* a step that never finishes: rolled back to the images of before */
        live_patch(
                ns, "up",
                "{\"metadata\":{\"annotations\":{\"" KO_STEP_TIMEOUT_ANNOTATION "\":\"20s\"}},"
                "\"spec\":{\"karmadaVersion\":\"" TO "\",\"components\":{\"karmadaWebhook\":{"
                "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
                "\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"ko-test/nowhere\","
                "\"operator\":\"In\",\"values\":[\"x\"]}]}]}}}}}}}");
        t0 = itest_now();
        live_wait_condition(ns, "up", "Upgrading", "True Upgrading", 60);
        live_gitops_health(&karmada_karmadas, ns, "up", "InProgress", "Progressing");
        live_wait_condition(ns, "up", "Upgrading", "False UpgradeFailed", 180);
        live_gitops_health(&karmada_karmadas, ns, "up", "Failed", "Degraded");
        live_condition(ns, "up", "Upgrading", buf, sizeof(buf));
        IT_ASSERT(strstr(buf, "webhook") && strstr(buf, "rolled back to " FROM), "%s", buf);
        live_wait_condition(ns, "up", "Ready", "False RolledBack", 120);
        live_gitops_health(&karmada_karmadas, ns, "up", "Failed", "Degraded");
        itest_log("failed and rolled back after %.1fs: \"%.200s\"", itest_now() - t0, buf);
        for (size_t i = 0; i < N_ORDER; i++) {
                d = deployment("up", order[i]);
                IT_ASSERT(has_tag(d, FROM) && rolled_out(d), "%s after the rollback: %s", order[i],
                          image(d));
                cJSON_Delete(d);
        }
        IT_ASSERT(strcmp(status_str("up", "karmadaVersion", buf, sizeof(buf)), FROM) == 0,
                  "status.karmadaVersion after a failed upgrade: %s", buf);
        IT_ASSERT(!crds_new(kk), "the CRDs are " FROM "'s again");

        /* the upgrade, watched while it runs */
        live_patch(ns, "up",
                   "{\"metadata\":{\"annotations\":{\"" KO_STEP_TIMEOUT_ANNOTATION "\":null}},"
                   "\"spec\":{\"components\":{\"karmadaWebhook\":{\"affinity\":null}}}}");
        t0 = itest_now();
        while (!check_order_once("up", kk, TO, &partial)) {
                IT_ASSERT(itest_now() - t0 < 300, "not upgraded after 300s: %s",
                          live_condition(ns, "up", "Upgrading", buf, sizeof(buf)));
                usleep(100 * 1000);
        }
        live_wait_condition(ns, "up", "Upgrading", "False Upgraded", 30);
        live_wait_condition(ns, "up", "Ready", "True", 30);
        live_gitops_health(&karmada_karmadas, ns, "up", "Current", NULL);
        itest_log("upgraded " FROM " -> " TO " in %.1fs (%d looks caught it half way, each "
                  "in order)",
                  itest_now() - t0, partial);
        check_step_events();
        IT_ASSERT(crds_new(kk), "the CRDs are " TO "'s");
        IT_ASSERT(kube_get(kk, &kube_configmaps, "default", "before-upgrade", &got, &st) == 0 &&
                          strcmp(cJSON_GetStringValue(
                                         cJSON_GetObjectItem(cJSON_GetObjectItem(got, "data"), "k"))
                                         ?: "",
                                 "v") == 0,
                  "the ConfigMap written before the upgrade: %s", st.message);
        cJSON_Delete(got);
        secrets("up", certs_after, sizeof(certs_after));
        IT_ASSERT(strcmp(certs, certs_after) == 0,
                  "certificates or kubeconfigs rewritten: %s -> %s", certs, certs_after);
        itest_log("the CRDs are " TO "'s, the data of before is there, certificates and "
                  "kubeconfigs unchanged");

        upgrade_to_next();

        /* the other instance was never touched */
        generations("other", other_after, sizeof(other_after));
        IT_ASSERT(strcmp(other_before, other_after) == 0, "other changed: %s -> %s", other_before,
                  other_after);
        live_condition(ns, "other", "Ready", buf, sizeof(buf));
        IT_ASSERT(strncmp(buf, "True", 4) == 0, "other: %s", buf);
        patch_upgrades();

        /* suspended: nothing for kstatus to wait on; Argo CD shows it Suspended */
        live_patch(ns, "other", "{\"spec\":{\"suspend\":true}}");
        live_wait_condition(ns, "other", "Suspended", "True", 30);
        live_gitops_health(&karmada_karmadas, ns, "other", "Current", "Suspended");
        live_patch(ns, "other", "{\"spec\":{\"suspend\":null}}");
        live_wait_condition(ns, "other", "Ready", "True", 30);

        kube_client_free(kk);
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "up", NULL, NULL) == 0, "delete up");
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "other", NULL, NULL) == 0,
                  "delete other");
        live_wait_deleted(ns, "up", 90);
        live_wait_deleted(ns, "other", 90);
        live_teardown();
        itest_log("ok");
        return 0;
}
