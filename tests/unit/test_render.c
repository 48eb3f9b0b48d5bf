/* SPDX-License-Identifier: Apache-2.0 */
/* What the operator renders: golden manifests (KO_UPDATE_GOLDEN=1 rewrites them), command-line
 * merging (the user's settings win), labels and owner references on every object. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "karmada/desired.h"
#include "karmada/sync.h"
#include "reconciler.h"
#include "render.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/yaml.h"

static char *render_with(const char *path, bool json)
{
        struct render_options o = {.keys = PKI_ECDSA_P256, .json = json};
        char *out = NULL, *err = NULL;
        size_t olen = 0, elen = 0;
        FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);
        int status;

        status = render_manifests(path, &o, fo, fe);
        fclose(fo);
        fclose(fe);
        if (status != 0)
                fail_msg("render %s failed: %s", path, err);
        free(err);
        return out;
}

static char *render_file(const char *path)
{
        return render_with(path, false);
}

static void golden(const char *input, const char *golden_name)
{
        char gpath[1024], *want = NULL;
        size_t len;
        char *got = render_file(input);

        snprintf(gpath, sizeof(gpath), "%s/golden/%s", KO_TEST_DATA, golden_name);
        if (getenv("KO_UPDATE_GOLDEN")) {
                FILE *f = fopen(gpath, "we");
                assert_non_null(f);
                fputs(got, f);
                fclose(f);
        }
        if (fileio_read(gpath, 16u << 20, &want, &len) < 0)
                fail_msg("%s missing: run with KO_UPDATE_GOLDEN=1", gpath);
        if (strcmp(want, got) != 0) {
                /* show the first difference */
                size_t i = 0, line = 1;
                while (want[i] && want[i] == got[i])
                        line += want[i++] == '\n';
                fail_msg("%s differs from the render at line %zu (KO_UPDATE_GOLDEN=1 to "
                         "accept):\nwant: %.80s\ngot:  %.80s",
                         gpath, line, want + i, got + i);
        }
        free(want);
        free(got);
}

static void test_golden_full_spec(void **state)
{
        golden(KO_TEST_DATA "/karmada-full.yaml", "karmada-full.yaml");
}

/* the sample hack/local-up.sh applies */
static void test_golden_features(void **state)
{
        (void)state;
        golden(KO_TEST_DATA "/karmada-features.yaml", "karmada-features.yaml");
}

/* v1.19 (kube-apiserver v1.36.2, etcd 3.6.8-0), every feature on */
static void test_golden_v1_19(void **state)
{
        (void)state;
        golden(KO_TEST_DATA "/karmada-v1.19.yaml", "karmada-v1.19.yaml");
}

static void test_golden_our_sample(void **state)
{
        golden(KO_TEST_DATA "/../../crds/samples/karmada.yaml", "sample-karmada.yaml");
}

static void test_golden_upstream_sample(void **state)
{
        const char *src = getenv("KO_KARMADA_SRC");
        char path[1024];

        if (!src)
                skip(); /* run under CTest, which sets it (hack/karmada-src.sh) */
        snprintf(path, sizeof(path), "%s/operator/config/samples/karmada.yaml", src);
        golden(path, "upstream-karmada-sample.yaml");
}

/* Upstream's sample installed into another cluster (spec.hostCluster.secretRef, as upstream
 * documents it): accepted; what it renders carries the labels that name its owner, and no owner
 * reference (none can cross clusters). */
/* -o json: one List of the objects the YAML stream holds, in its order; those of the Karmada
 * API server annotated so (a List has no room for the YAML's comment) */
static void test_json_is_one_list(void **state)
{
        char path[1024], *json, *yaml, err[256];
        cJSON *list, *docs = NULL;
        const cJSON *item;
        struct yaml_limits lim = {0};
        int i = 0, marked = 0;

        (void)state;
        snprintf(path, sizeof(path), "%s/../../crds/samples/karmada.yaml", KO_TEST_DATA);
        json = render_with(path, true);
        yaml = render_with(path, false);
        list = cJSON_Parse(json);
        assert_non_null(list);
        assert_string_equal(json_str(list, "kind", NULL), "List");
        assert_string_equal(json_str(list, "apiVersion", NULL), "v1");
        assert_int_equal(
                yaml_parse_stream(yaml, strlen(yaml), "yaml", &lim, &docs, err, sizeof(err)), 0);
        assert_int_equal(cJSON_GetArraySize(json_at(list, "items", NULL)),
                         cJSON_GetArraySize(docs));
        cJSON_ArrayForEach (item, json_at(list, "items", NULL)) {
                const cJSON *doc = cJSON_GetArrayItem(docs, i++);
                const char *target = json_str(json_at(item, "metadata", "annotations"),
                                              KO_RENDER_TARGET_ANNOTATION, NULL);
                assert_string_equal(json_str(item, "kind", NULL), json_str(doc, "kind", NULL));
                assert_string_equal(json_str(item, "metadata", "name"),
                                    json_str(doc, "metadata", "name"));
                if (target) {
                        assert_string_equal(target, "karmada-apiserver");
                        marked++;
                }
        }
        assert_true(marked > 0 && marked < i);
        cJSON_Delete(docs);
        cJSON_Delete(list);
        free(json);
        free(yaml);
}

static void test_upstream_sample_on_another_cluster(void **state)
{
        const char *src = getenv("KO_KARMADA_SRC");
        char path[1024], tmp[] = "/tmp/ko-remote-sample-XXXXXX", *text = NULL, *out, err[256];
        cJSON *doc = NULL, *host, *ref;
        size_t len;
        FILE *f;

        (void)state;
        if (!src)
                skip();
        snprintf(path, sizeof(path), "%s/operator/config/samples/karmada.yaml", src);
        assert_int_equal(fileio_read(path, 1u << 20, &text, &len), 0);
        assert_int_equal(yaml_parse_one(text, len, path, NULL, &doc, err, sizeof(err)), 0);
        free(text);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "spec"));
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "uid",
                                "1b2c-uid");
        host = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "spec"),
                                                "hostCluster");
        if (!host)
                host = cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(doc, "spec"),
                                               "hostCluster");
        ref = cJSON_AddObjectToObject(host, "secretRef");
        cJSON_AddStringToObject(ref, "name", "remote-kubeconfig");
        text = cJSON_Print(doc);
        f = fdopen(mkstemp(tmp), "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        out = render_file(tmp);
        unlink(tmp);
        assert_non_null(strstr(out, "operator.karmada.io/owner-uid: 1b2c-uid"));
        assert_non_null(strstr(out, "operator.karmada.io/owner-name: karmada-demo"));
        assert_non_null(strstr(out, "operator.karmada.io/owner-namespace: test"));
        assert_null(strstr(out, "ownerReferences"));
        free(out);
        free(text);
        cJSON_Delete(doc);
}

static struct karmada *parse(const char *y)
{
        struct karmada_spec_error err;
        struct karmada *k = NULL;
        char perr[256];
        cJSON *doc = NULL;

        if (yaml_parse_one(y, strlen(y), "t", NULL, &doc, perr, sizeof(perr)) < 0)
                fail_msg("%s", perr);
        if (registry_parse(doc, &k, &err) < 0)
                fail_msg("%s", err.message);
        cJSON_Delete(doc);
        return k;
}

static const cJSON *find(const struct desired *d, const char *kind, const char *name)
{
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->objs[i].resource->kind, kind) == 0 &&
                    strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(d->objs[i].obj, "metadata"),
                                               "name")
                                   ->valuestring,
                           name) == 0)
                        return d->objs[i].obj;
        return NULL;
}

static const cJSON *command(const cJSON *workload)
{
        const cJSON *c = cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(workload, "spec"), "template"), "spec");

        return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "containers"), 0),
                                   "command");
}

static bool has_arg(const cJSON *cmd, const char *arg)
{
        const cJSON *e;

        cJSON_ArrayForEach (e, cmd)
                if (strcmp(e->valuestring, arg) == 0)
                        return true;
        return false;
}

static void test_user_settings_win_over_contributions(void **state)
{
        struct karmada *k = parse(
                "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"
                "metadata: {name: m, namespace: ns, uid: u}\n"
                "spec:\n  featureGates: {A: true, C: true}\n  components:\n    etcd: {local: {}}\n"
                "    karmadaControllerManager:\n      featureGates: {A: false}\n"
                "      extraArgs: {v: '7', concurrent-work-syncs: '3'}\n"
                "    karmadaScheduler:\n      extraArgs: {feature-gates: 'Only=true'}\n"
                "    karmadaDescheduler: {}\n");
        struct desired d;
        char err[256];
        const cJSON *cm, *sched, *kcm;

        assert_int_equal(desired_init(&d, k, NULL), 0);
        d.key_type = PKI_ECDSA_P256;
        for (const struct reconciler *const *r = registry_reconcilers; *r; r++) {
                if (!registry_enabled(*r, k) || !(*r)->contribute)
                        continue;
                d.owner = (*r)->name;
                assert_int_equal((*r)->contribute(k, &d), 0);
        }
        /* a feature reconciler's contributions */
        assert_int_equal(desired_gate(&d, KO_CONTROLLER_MANAGER, "B", true), 0);
        assert_int_equal(desired_gate(&d, KO_CONTROLLER_MANAGER, "A", true), 0);
        assert_int_equal(desired_flag(&d, KO_CONTROLLER_MANAGER, "v", "3"), 0);
        assert_int_equal(desired_finish(&d), 0);
        (void)err;

        cm = command(find(&d, "Deployment", "m-karmada-controller-manager"));
        /* spec.featureGates < contributions < the component's featureGates; extraArgs win over all
         */
        assert_true(has_arg(cm, "--feature-gates=A=false,B=true,C=true"));
        assert_true(has_arg(cm, "--v=7"));
        assert_true(has_arg(cm, "--concurrent-work-syncs=3"));
        assert_string_equal(cJSON_GetArrayItem(cm, 0)->valuestring,
                            "/bin/karmada-controller-manager");
        sched = command(find(&d, "Deployment", "m-karmada-scheduler"));
        assert_true(has_arg(sched, "--feature-gates=Only=true"));
        /* instance-wide Karmada gates never reach Kubernetes components, nor Karmada's that have
         * no --feature-gates (the descheduler would not start) */
        kcm = command(find(&d, "Deployment", "m-karmada-kube-controller-manager"));
        for (const cJSON *e = kcm->child; e; e = e->next)
                assert_null(strstr(e->valuestring, "feature-gates"));
        kcm = command(find(&d, "Deployment", "m-karmada-descheduler"));
        for (const cJSON *e = kcm->child; e; e = e->next)
                assert_null(strstr(e->valuestring, "feature-gates"));
        /* flags are sorted after the binary */
        for (const cJSON *e = cm->child->next; e && e->next; e = e->next)
                assert_true(strcmp(e->valuestring, e->next->valuestring) < 0);
        desired_free(&d);
        karmada_free(k);
}

static void build(const struct karmada *k, struct desired *d)
{
        assert_int_equal(desired_init(d, k, NULL), 0);
        d->key_type = PKI_ECDSA_P256;
        for (const struct reconciler *const *r = registry_reconcilers; *r; r++) {
                if (!registry_enabled(*r, k) || !(*r)->contribute)
                        continue;
                d->owner = (*r)->name;
                assert_int_equal((*r)->contribute(k, d), 0);
        }
        assert_int_equal(desired_finish(d), 0);
}

/* the --feature-gates argument of a component's workload, "" when it has none */
static const char *gates_of(const struct desired *d, const char *workload)
{
        const cJSON *w = find(d, "Deployment", workload), *e;

        if (!w)
                fail_msg("no Deployment %s", workload);
        cJSON_ArrayForEach (e, command(w))
                if (strncmp(e->valuestring, "--feature-gates=", 16) == 0)
                        return e->valuestring + 16;
        return "";
}

static bool in_karmada(const struct desired *d, const char *kind, const char *name)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->objs[i].in_karmada && strcmp(d->objs[i].resource->kind, kind) == 0 &&
                    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(
                                   cJSON_GetObjectItem(d->objs[i].obj, "metadata"), "name")),
                           name) == 0)
                        return true;
        return false;
}

#define FEATURES_CR                                                                         \
        "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"                         \
        "metadata: {name: f, namespace: ns, uid: u}\n"                                      \
        "spec:\n  components:\n    etcd: {local: {}}\n    karmadaDescheduler: {}\n%s"       \
        "  features:\n"                                                                     \
        "    scheduler: {plugins: ['*', '-ClusterLocality'], overcommitProtection: true,\n" \
        "                estimator: {enabled: true, memberClusters: [{name: member1,\n"     \
        "                            kubeconfigSecretRef: {name: member1-kubeconfig}}]}}\n" \
        "    quota: {enforcement: %s, estimate: true, syncPeriod: 5m,\n"                    \
        "            federatedResourceQuotas: [{name: team, namespace: default,\n"          \
        "                                       spec: {overall: {cpu: 10m}}}]}\n"           \
        "    preemption: {priorityBasedScheduling: true, policyPreemption: true,\n"         \
        "                 priorityClasses: [{name: high, value: 1000}]}\n"                  \
        "    batch:\n      multiplePodTemplates: true\n"                                    \
        "      interpreterCustomizations: [{name: pytorchjob, spec: {target: {apiVersion: " \
        "kubeflow.org/v1, kind: PyTorchJob}}}]\n"                                           \
        "      crds: [{metadata: {name: pytorchjobs.kubeflow.org}, spec: {group: "          \
        "kubeflow.org}}]\n"

static const char *image_of(const struct desired *d, const char *kind, const char *workload)
{
        const cJSON *w = find(d, kind, workload);
        const cJSON *spec = cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(w, "spec"), "template"), "spec");

        if (!w)
                fail_msg("no %s %s", kind, workload);
        return cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "containers"), 0), "image"));
}

/* A patch release with no entry of its own runs with its minor's pairing: Karmada's images at
 * its tag, Kubernetes and etcd at the minor's, its CRDs from its own release. */
static void test_patch_releases_render_their_minor_pairing(void **state)
{
        static const struct {
                const char *v, *kube, *etcd;
        } cases[] = {{"v1.17.5", "v1.35.2", "3.6.6-0"},
                     {"v1.18.3", "v1.35.2", "3.6.6-0"},
                     {"v1.19.0", "v1.36.2", "3.6.8-0"}};
        char cr[512], want[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct karmada *k;
                struct desired d;
                snprintf(cr, sizeof(cr),
                         "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"
                         "metadata: {name: r, namespace: ns, uid: u}\n"
                         "spec: {karmadaVersion: %s, components: {etcd: {local: {}}}}\n",
                         cases[i].v);
                k = parse(cr);
                build(k, &d);
                snprintf(want, sizeof(want), "docker.io/karmada/karmada-scheduler:%s", cases[i].v);
                assert_string_equal(image_of(&d, "Deployment", "r-karmada-scheduler"), want);
                snprintf(want, sizeof(want), "registry.k8s.io/kube-apiserver:%s", cases[i].kube);
                assert_string_equal(image_of(&d, "Deployment", "r-karmada-apiserver"), want);
                snprintf(want, sizeof(want), "registry.k8s.io/kube-controller-manager:%s",
                         cases[i].kube);
                assert_string_equal(image_of(&d, "Deployment", "r-karmada-kube-controller-manager"),
                                    want);
                snprintf(want, sizeof(want), "registry.k8s.io/etcd:%s", cases[i].etcd);
                assert_string_equal(image_of(&d, "StatefulSet", "r-karmada-etcd"), want);
                snprintf(want, sizeof(want),
                         "https://github.com/karmada-io/karmada/releases/download/%s/crds.tar.gz",
                         cases[i].v);
                assert_string_equal(k->crd_url, want);
                desired_free(&d);
                karmada_free(k);
        }
}

/* PriorityBasedScheduling is on by default from v1.19: said off, it is set off there; left
 * out, Karmada's default stands; before v1.19 off is the default and needs no flag. */
static void test_priority_scheduling_said_off_on_v1_19(void **state)
{
#define PREEMPTION_CR                                                   \
        "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"     \
        "metadata: {name: p, namespace: ns, uid: u}\n"                  \
        "spec: {karmadaVersion: %s, components: {etcd: {local: {}}},\n" \
        "       features: {preemption: {%s}}}\n"
        static const struct {
                const char *v, *block, *gates;
        } cases[] = {
                {"v1.19.0", "priorityBasedScheduling: false", "PriorityBasedScheduling=false"},
                {"v1.19.0", "policyPreemption: false", ""},
                {"v1.18.3", "priorityBasedScheduling: false", ""},
                {"v1.19.0", "priorityBasedScheduling: true", "PriorityBasedScheduling=true"},
        };
        char y[512];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct karmada *k;
                struct desired d;
                snprintf(y, sizeof(y), PREEMPTION_CR, cases[i].v, cases[i].block);
                k = parse(y);
                build(k, &d);
                assert_string_equal(gates_of(&d, "p-karmada-scheduler"), cases[i].gates);
                desired_free(&d);
                karmada_free(k);
        }
}

/* Each feature's gates land on exactly the components that need them; the user's
 * per-component featureGates still win; a feature switched off sets no gate. */
static void test_features_put_gates_on_the_right_components(void **state)
{
        char cr[4096];
        struct karmada *k;
        struct desired d;
        const cJSON *e;

        (void)state;
        snprintf(cr, sizeof(cr), FEATURES_CR, "", "true");
        k = parse(cr);
        build(k, &d);
        assert_string_equal(gates_of(&d, "f-karmada-controller-manager"),
                            "FederatedQuotaEnforcement=true,MultiplePodTemplatesScheduling=true,"
                            "PriorityBasedScheduling=true,PropagationPolicyPreemption=true,"
                            "ResourceQuotaEstimate=true");
        assert_string_equal(gates_of(&d, "f-karmada-webhook"),
                            "FederatedQuotaEnforcement=true,MultiplePodTemplatesScheduling=true");
        assert_string_equal(gates_of(&d, "f-karmada-scheduler"),
                            "MultiplePodTemplatesScheduling=true,PriorityBasedScheduling=true,"
                            "SchedulingOvercommitProtection=true");
        assert_string_equal(gates_of(&d, "f-karmada-aggregated-apiserver"), "");
        assert_string_equal(gates_of(&d, "f-karmada-descheduler"), "");
        assert_string_equal(gates_of(&d, "f-karmada-kube-controller-manager"), "");
        assert_true(has_arg(command(find(&d, "Deployment", "f-karmada-scheduler")),
                            "--plugins=*,-ClusterLocality"));
        assert_true(has_arg(command(find(&d, "Deployment", "f-karmada-controller-manager")),
                            "--federated-resource-quota-sync-period=5m"));
        assert_true(in_karmada(&d, "FederatedResourceQuota", "team"));
        assert_true(in_karmada(&d, "PriorityClass", "high"));
        assert_true(in_karmada(&d, "ResourceInterpreterCustomization", "pytorchjob"));
        assert_true(in_karmada(&d, "CustomResourceDefinition", "pytorchjobs.kubeflow.org"));
        assert_true(in_karmada(&d, "ClusterPropagationPolicy", "karmada-operator-batch-crds"));
        /* one estimator per member: its own labels, the scheduler's image tag, its gates */
        {
                const cJSON *est = find(&d, "Deployment", "f-karmada-scheduler-estimator-member1");
                const cJSON *svc = find(&d, "Service", "f-karmada-scheduler-estimator-member1");
                const cJSON *ctr;
                assert_non_null(est);
                assert_non_null(svc);
                ctr = cJSON_GetArrayItem(
                        cJSON_GetObjectItem(
                                cJSON_GetObjectItem(
                                        cJSON_GetObjectItem(cJSON_GetObjectItem(est, "spec"),
                                                            "template"),
                                        "spec"),
                                "containers"),
                        0);
                assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(ctr, "image")),
                                       "/karmada-scheduler-estimator:v1.18.2"));
                assert_true(has_arg(command(est), "--cluster-name=member1"));
                assert_true(has_arg(command(est), "--feature-gates=SchedulingOvercommitProtection="
                                                  "true,ResourceQuotaEstimate=true"));
                assert_string_equal(
                        cJSON_GetStringValue(cJSON_GetObjectItem(
                                cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "spec"), "selector"),
                                "app.kubernetes.io/name")),
                        "karmada-scheduler-estimator-member1");
                assert_true(in_karmada(&d, "Service", "karmada-scheduler-estimator-member1"));
        }
        for (size_t i = 0; i < d.n; i++) /* the PriorityClass keeps its value */
                if (strcmp(d.objs[i].resource->kind, "PriorityClass") == 0)
                        assert_int_equal(cJSON_GetObjectItem(d.objs[i].obj, "value")->valueint,
                                         1000);
        desired_free(&d);
        karmada_free(k);

        /* the user's per-component gate wins; enforcement off sets no gate anywhere */
        snprintf(cr, sizeof(cr), FEATURES_CR,
                 "    karmadaWebhook: {featureGates: {MultiplePodTemplatesScheduling: false}}\n",
                 "false");
        k = parse(cr);
        build(k, &d);
        assert_string_equal(gates_of(&d, "f-karmada-webhook"),
                            "MultiplePodTemplatesScheduling=false");
        for (size_t i = 0; i < d.n; i++)
                if (d.objs[i].workload)
                        cJSON_ArrayForEach (e, command(d.objs[i].obj))
                                assert_null(strstr(e->valuestring, "FederatedQuotaEnforcement"));
        desired_free(&d);
        karmada_free(k);

        /* no features: none of their gates, flags or objects */
        k = parse("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"
                  "metadata: {name: f, namespace: ns, uid: u}\n"
                  "spec:\n  components:\n    etcd: {local: {}}\n");
        build(k, &d);
        assert_string_equal(gates_of(&d, "f-karmada-controller-manager"), "");
        assert_string_equal(gates_of(&d, "f-karmada-scheduler"), "");
        assert_false(in_karmada(&d, "PriorityClass", "high"));
        desired_free(&d);
        karmada_free(k);
}

/* In the host: owned by the Karmada object; in its Karmada API server: labelled, no owner. */
static void test_every_object_is_labelled_and_owned(void **state)
{
        struct karmada *k =
                parse("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"
                      "metadata: {name: owned, namespace: ns, uid: \"1234\"}\nspec: {}\n");
        struct desired d;
        char err[256];
        int n_karmada = 0;

        assert_int_equal(registry_build_desired(k, NULL, PKI_ECDSA_P256, &d, err, sizeof(err)), 0);
        assert_true(d.n > 15);
        for (size_t i = 0; i < d.n; i++) {
                const cJSON *meta = cJSON_GetObjectItem(d.objs[i].obj, "metadata");
                const cJSON *labels = cJSON_GetObjectItem(meta, "labels");
                const cJSON *ref =
                        cJSON_GetArrayItem(cJSON_GetObjectItem(meta, "ownerReferences"), 0);
                assert_string_equal(
                        cJSON_GetObjectItem(labels, "app.kubernetes.io/managed-by")->valuestring,
                        "karmada-operator");
                assert_string_equal(
                        cJSON_GetObjectItem(labels, "app.kubernetes.io/instance")->valuestring,
                        "owned");
                assert_non_null(cJSON_GetObjectItem(labels, "app.kubernetes.io/name"));
                if (d.objs[i].in_karmada) {
                        const cJSON *ns = cJSON_GetObjectItem(meta, "namespace");
                        n_karmada++;
                        assert_null(ref);
                        assert_true(!ns || strcmp(ns->valuestring, "karmada-system") == 0);
                        assert_int_equal(d.objs[i].resource->namespaced, ns != NULL);
                        continue;
                }
                assert_non_null(ref);
                assert_string_equal(cJSON_GetObjectItem(ref, "uid")->valuestring, "1234");
                assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ref, "controller")));
                assert_string_equal(cJSON_GetObjectItem(meta, "namespace")->valuestring, "ns");
        }
        /* namespace, APIService + ExternalName Service, 3 ClusterRoles, 1 binding, 2 webhook
         * configurations, metrics-adapter's 3 APIServices + Service */
        assert_int_equal(n_karmada, 13);
        desired_free(&d);
        karmada_free(k);
}

/* status.certificates: every certificate, where it is kept and by which CA; the instance is
 * due again when the first leaf is (10 minutes, backdated 2: 6 after issue); the pods that read
 * their Secrets once carry a digest of them */
static void test_certificates_are_listed_with_their_renewal(void **state)
{
        struct karmada *k = parse("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"
                                  "metadata: {name: c, namespace: ns, uid: u, annotations: "
                                  "{operator.karmada.io/leaf-cert-validity: 10m}}\nspec: {}\n");
        static const char *const want[][3] = {
                {"ca", "c-karmada-cert", "ca"},
                {"karmada", "c-karmada-cert", "ca"},
                {"apiserver", "c-karmada-cert", "ca"},
                {"front-proxy-ca", "c-karmada-cert", "front-proxy-ca"},
                {"front-proxy-client", "c-karmada-cert", "front-proxy-ca"},
                {"etcd-ca", "c-karmada-etcd-cert", "etcd-ca"},
                {"etcd-server", "c-karmada-etcd-cert", "etcd-ca"},
                {"etcd-client", "c-karmada-etcd-cert", "etcd-ca"},
                {"admin-config", "c-karmada-admin-config", "ca"},
        };
        long long now = (long long)time(NULL);
        struct desired d;
        char err[256];
        int checked = 0;

        (void)state;
        assert_int_equal(registry_build_desired(k, NULL, PKI_ECDSA_P256, &d, err, sizeof(err)), 0);
        assert_true(cJSON_GetArraySize(d.certs) >= (int)(sizeof(want) / sizeof(want[0])));
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const cJSON *e, *found = NULL;
                cJSON_ArrayForEach (e, d.certs)
                        if (strcmp(cJSON_GetObjectItem(e, "name")->valuestring, want[i][0]) == 0)
                                found = e;
                if (!found)
                        fail_msg("no certificate %s in status.certificates", want[i][0]);
                assert_string_equal(json_str(found, "secretRef", "name"), want[i][1]);
                assert_string_equal(json_str(found, "issuer", NULL), want[i][2]);
                /* CAs are kept (no renewAt); leaves are renewed */
                assert_int_equal(json_str(found, "renewAt", NULL) != NULL,
                                 strcmp(want[i][0], want[i][2]) != 0);
                assert_non_null(json_str(found, "notAfter", NULL));
        }
        assert_in_range(d.valid_until - now, 355, 365);
        /* what reads its Secrets once is rolled when they change; what reloads them is not */
        for (size_t i = 0; i < d.n; i++) {
                const char *name = json_str(d.objs[i].obj, "metadata", "name");
                const char *sum = json_str(json_at(json_at(d.objs[i].obj, "spec", "template"),
                                                   "metadata", "annotations"),
                                           "operator.karmada.io/secrets-checksum", NULL);
                if (!d.objs[i].workload)
                        continue;
                if (strcmp(name, "c-karmada-apiserver") == 0 ||
                    strcmp(name, "c-karmada-etcd") == 0) {
                        assert_null(sum);
                        checked++;
                } else if (strcmp(name, "c-karmada-controller-manager") == 0 ||
                           strcmp(name, "c-karmada-kube-controller-manager") == 0) {
                        assert_non_null(sum);
                        assert_int_equal(strlen(sum), 64);
                        checked++;
                }
        }
        assert_int_equal(checked, 4);
        desired_free(&d);
        karmada_free(k);
}

/* The caches of owned objects keep them trimmed (sync_trim): it removes nothing that any object
 * of any fixture desires, so drift is seen in the cache as it would be in the whole object. */
static void test_trim_keeps_everything_desired(void **state)
{
        static const char *const kinds[] = {"Deployment", "StatefulSet", "Service", "Secret",
                                            "PodDisruptionBudget"};
        const char *inputs[] = {KO_TEST_DATA "/karmada-full.yaml",
                                KO_TEST_DATA "/karmada-features.yaml",
                                KO_TEST_DATA "/karmada-v1.19.yaml",
                                KO_TEST_DATA "/../../crds/samples/karmada.yaml"};
        size_t n = 0;

        (void)state;
        for (size_t f = 0; f < sizeof(inputs) / sizeof(inputs[0]); f++) {
                char *out = render_with(inputs[f], true);
                cJSON *list = cJSON_Parse(out), *it;
                assert_non_null(list);
                cJSON_ArrayForEach (it, cJSON_GetObjectItem(list, "items")) {
                        const char *kind = json_str(it, "kind", NULL) ?: "";
                        cJSON *copy;
                        bool owned = false;
                        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                                owned = owned || strcmp(kind, kinds[i]) == 0;
                        if (!owned)
                                continue;
                        copy = cJSON_Duplicate(it, true);
                        sync_trim(copy);
                        if (!cJSON_Compare(copy, it, true))
                                fail_msg("%s: sync_trim removes part of %s %s", inputs[f], kind,
                                         json_str(it, "metadata", "name"));
                        cJSON_Delete(copy);
                        n++;
                }
                cJSON_Delete(list);
                free(out);
        }
        assert_true(n > 60);
}

static void test_invalid_input_is_reported_not_rendered(void **state)
{
        struct render_options o = {.keys = PKI_ECDSA_P256};
        char *out = NULL, *err = NULL, path[] = "/tmp/ko-render-XXXXXX";
        size_t olen = 0, elen = 0;
        FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);
        int fd = mkstemp(path);
        FILE *f = fdopen(fd, "w");

        fputs("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: bad, "
              "namespace: ns}\n"
              "spec: {components: {etcd: {local: {replicas: 0}}}}\n",
              f);
        fclose(f);
        assert_int_equal(render_manifests(path, &o, fo, fe), 1);
        fclose(fo);
        fclose(fe);
        assert_non_null(strstr(err, "spec.components.etcd.local.replicas"));
        assert_int_equal(olen, 0);
        unlink(path);
        free(out);
        free(err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_full_spec),
                cmocka_unit_test(test_features_put_gates_on_the_right_components),
                cmocka_unit_test(test_golden_features),
                cmocka_unit_test(test_golden_v1_19),
                cmocka_unit_test(test_patch_releases_render_their_minor_pairing),
                cmocka_unit_test(test_priority_scheduling_said_off_on_v1_19),
                cmocka_unit_test(test_golden_our_sample),
                cmocka_unit_test(test_json_is_one_list),
                cmocka_unit_test(test_golden_upstream_sample),
                cmocka_unit_test(test_upstream_sample_on_another_cluster),
                cmocka_unit_test(test_user_settings_win_over_contributions),
                cmocka_unit_test(test_every_object_is_labelled_and_owned),
                cmocka_unit_test(test_certificates_are_listed_with_their_renewal),
                cmocka_unit_test(test_trim_keeps_everything_desired),
                cmocka_unit_test(test_invalid_input_is_reported_not_rendered),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
