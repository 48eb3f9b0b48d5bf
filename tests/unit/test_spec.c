/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada spec: defaults like upstream's, and every invalid case names its field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/manifests.h"
#include "karmada/spec.h"
#include "reconciler.h"
#include "util/json.h"
#include "util/yaml.h"

static cJSON *yaml(const char *y)
{
        char err[256];
        cJSON *doc = NULL;

        if (yaml_parse_one(y, strlen(y), "test", NULL, &doc, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        return doc;
}

#define META                                                                               \
        "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: demo, " \
        "namespace: team, uid: u-1, generation: 3}\n"

static struct karmada *parse_ok(const char *y)
{
        struct karmada_spec_error err = {{0}};
        struct karmada *k = NULL;
        cJSON *doc = yaml(y);

        if (registry_parse(doc, &k, &err) < 0)
                fail_msg("unexpected error: %s", err.message);
        cJSON_Delete(doc);
        return k;
}

static void parse_fails(const char *y, const char *const *needles)
{
        struct karmada_spec_error err = {{0}};
        struct karmada *k = NULL;
        cJSON *doc = yaml(y);

        assert_int_equal(registry_parse(doc, &k, &err), -EINVAL);
        assert_null(k);
        for (; *needles; needles++)
                if (!strstr(err.message, *needles))
                        fail_msg("error \"%s\" lacks \"%s\"", err.message, *needles);
        cJSON_Delete(doc);
}

#define FAILS(y, ...) parse_fails(y, (const char *const[]){__VA_ARGS__, NULL})

static void test_empty_spec_gets_upstream_defaults(void **state)
{
        struct karmada *k = parse_ok(META "spec: {}\n");

        assert_string_equal(k->prefix, "demo-karmada");
        assert_int_equal(k->generation, 3);
        assert_string_equal(k->version, KO_DEFAULT_KARMADA_VERSION);
        assert_string_equal(k->release.kubernetes, "v1.35.2");
        assert_string_equal(k->dns_domain, "cluster.local");
        assert_false(k->etcd_external);
        assert_int_equal(k->etcd_volume, KO_VOLUME_EMPTY_DIR);
        assert_true(k->comp[KO_ETCD].enabled);
        assert_int_equal(k->comp[KO_ETCD].replicas, 1);
        assert_string_equal(k->comp[KO_ETCD].image, "registry.k8s.io/etcd:3.6.6-0");
        assert_string_equal(k->comp[KO_APISERVER].image, "registry.k8s.io/kube-apiserver:v1.35.2");
        assert_string_equal(k->comp[KO_KUBE_CONTROLLER_MANAGER].image,
                            "registry.k8s.io/kube-controller-manager:v1.35.2");
        assert_string_equal(k->comp[KO_SCHEDULER].image,
                            "docker.io/karmada/karmada-scheduler:v1.18.2");
        assert_int_equal(k->comp[KO_METRICS_ADAPTER].replicas, 2);
        assert_false(k->comp[KO_DESCHEDULER].enabled); /* optional ones only when present */
        assert_false(k->comp[KO_SEARCH].enabled);
        assert_string_equal(k->comp[KO_WEBHOOK].pull_policy, "IfNotPresent");
        assert_string_equal(k->comp[KO_WEBHOOK].priority_class, "system-node-critical");
        assert_string_equal(k->service_type, "ClusterIP");
        assert_string_equal(k->service_subnet, "10.96.0.0/12");
        assert_int_equal(k->leaf_validity_s, 365LL * 86400);
        assert_string_equal(
                k->crd_url,
                "https://github.com/karmada-io/karmada/releases/download/v1.18.2/crds.tar.gz");
        assert_false(k->crd_always);
        assert_true(k->cascade);
        karmada_free(k);
}

static void test_version_drives_every_default_tag(void **state)
{
        struct karmada *k = parse_ok(
                META "spec:\n  karmadaVersion: v1.16.0\n  components:\n    etcd: {local: {}}\n"
                     "    karmadaScheduler: {imageTag: custom}\n    karmadaDescheduler: {}\n");

        assert_string_equal(k->comp[KO_APISERVER].image_tag, "v1.34.1");
        assert_string_equal(k->comp[KO_ETCD].image_tag, "3.6.0-0");
        assert_string_equal(k->comp[KO_CONTROLLER_MANAGER].image_tag, "v1.16.0");
        assert_string_equal(k->comp[KO_SCHEDULER].image_tag, "custom"); /* explicit wins */
        assert_true(k->comp[KO_DESCHEDULER].enabled);
        assert_string_equal(k->comp[KO_DESCHEDULER].image,
                            "docker.io/karmada/karmada-descheduler:v1.16.0");
        assert_non_null(strstr(k->crd_url, "/v1.16.0/"));
        karmada_free(k);
}

static void test_private_registry_replaces_default_registries_only(void **state)
{
        struct karmada *k = parse_ok(
                META "spec:\n  privateRegistry: {registry: mirror.example/karmada}\n  components:\n"
                     "    etcd: {local: {}}\n    karmadaWebhook: {imageRepository: "
                     "quay.io/me/webhook}\n");

        assert_string_equal(k->comp[KO_APISERVER].image,
                            "mirror.example/karmada/kube-apiserver:v1.35.2");
        assert_string_equal(k->comp[KO_CONTROLLER_MANAGER].image,
                            "mirror.example/karmada/karmada-controller-manager:v1.18.2");
        assert_string_equal(k->comp[KO_WEBHOOK].image, "quay.io/me/webhook:v1.18.2");
        karmada_free(k);
}

/* spec.hostCluster.apiEndpoint: its host, whichever of the four forms */
static void test_host_endpoint(void **state)
{
        static const char *const forms[][2] = {{"far.example.com", "far.example.com"},
                                               {"far.example.com:6443", "far.example.com"},
                                               {"10.1.2.3:6443", "10.1.2.3"},
                                               {"'[fd00::1]:6443'", "fd00::1"},
                                               {"'fd00::1'", "fd00::1"}};
        char y[512];

        (void)state;
        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
                struct karmada *k;
                snprintf(y, sizeof(y), META "spec: {hostCluster: {apiEndpoint: %s}}\n",
                         forms[i][0]);
                k = parse_ok(y);
                assert_string_equal(k->host_endpoint, forms[i][1]);
                karmada_free(k);
        }
}

/* A restore into another cluster: the backup, and the Secrets it names, are read beside the
 * Karmada; what the restore needs there is copied into the instance's own Secret */
static void test_restore_into_another_cluster(void **state)
{
        struct karmada *k =
                parse_ok(META "spec: {components: {etcd: {local: {}}, karmadaAPIServer: "
                              "{serviceType: NodePort}}, hostCluster: {secretRef: "
                              "{name: remote}}, restore: {backupRef: {name: b}}}\n");

        (void)state;
        assert_string_equal(k->host_secret_name, "remote");
        assert_string_equal(k->restore_backup, "b");
        karmada_free(k);
}

static void test_upstream_shaped_spec(void **state)
{
        struct karmada *k = parse_ok(
                META
                "spec:\n  hostCluster: {networking: {dnsDomain: corp.local}}\n"
                "  featureGates: {Failover: true}\n"
                "  customCertificate: {leafCertValidityDays: 30}\n"
                "  crdTarball: {httpSource: {url: 'http://local/crds.tar.gz', proxy: {proxyURL: "
                "'http://proxy:3128'}},"
                " crdDownloadPolicy: Always}\n"
                "  components:\n"
                "    etcd:\n      local:\n        replicas: 3\n        volumeData:\n          "
                "volumeClaim:\n"
                "            metadata: {name: etcd-data}\n            spec: {accessModes: "
                "[ReadWriteOnce], resources: {requests: {storage: 3Gi}}}\n"
                "    karmadaAPIServer:\n      serviceType: NodePort\n      certSANs: "
                "[api.example.com, 10.1.2.3]\n"
                "      extraArgs: {v: '4'}\n      podDisruptionBudgetConfig: {minAvailable: 1}\n"
                "      labels: {team: a}\n      annotations: {note: x}\n      resources: "
                "{requests: {cpu: 100m}}\n"
                "    karmadaControllerManager:\n      featureGates: {PropagateDeps: false}\n      "
                "controllers: ['*', '-hpa']\n");

        assert_string_equal(k->dns_domain, "corp.local");
        assert_int_equal(k->leaf_validity_s, 30LL * 86400);
        assert_true(k->crd_always);
        assert_string_equal(k->crd_proxy, "http://proxy:3128");
        assert_int_equal(k->etcd_volume, KO_VOLUME_CLAIM);
        assert_int_equal(k->comp[KO_ETCD].replicas, 3);
        assert_string_equal(k->service_type, "NodePort");
        assert_int_equal(cJSON_GetArraySize(k->apiserver_sans), 2);
        assert_non_null(k->comp[KO_APISERVER].extra_args);
        assert_non_null(k->comp[KO_APISERVER].pdb_min_available);
        assert_non_null(k->comp[KO_CONTROLLER_MANAGER].feature_gates);
        assert_int_equal(cJSON_GetArraySize(k->comp[KO_CONTROLLER_MANAGER].controllers), 2);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(k->feature_gates, "Failover")));
        karmada_free(k);
}

static void test_invalid_specs_name_their_field(void **state)
{
        FAILS(META "spec: {components: {etcd: {local: {}, external: {endpoints: [a], secretRef: "
                   "{name: demo-karmada-etcd-cert}}}}}\n",
              "spec.components.etcd", "not both");
        FAILS(META "spec: {components: {etcd: {external: {endpoints: ['https://e:2379'], "
                   "secretRef: {name: mine}}}}}\n",
              "spec.components.etcd.external.secretRef.name", "demo-karmada-etcd-cert");
        FAILS(META "spec: {components: {etcd: {external: {secretRef: {name: "
                   "demo-karmada-etcd-cert}}}}}\n",
              "spec.components.etcd.external.endpoints");
        FAILS(META "spec: {components: {etcd: {local: {}}, karmadaAPIServer: {serviceType: "
                   "ExternalName}}}\n",
              "spec.components.karmadaAPIServer.serviceType", "ExternalName");
        FAILS(META "spec: {components: {etcd: {local: {imagePullPolicy: Sometimes}}}}\n",
              "spec.components.etcd.local.imagePullPolicy");
        FAILS(META "spec: {components: {etcd: {local: {}}, karmadaWebhook: {replicas: -1}}}\n",
              "spec.components.karmadaWebhook.replicas");
        FAILS(META "spec: {components: {etcd: {local: {replicas: 0}}}}\n",
              "spec.components.etcd.local.replicas");
        FAILS(META "spec: {components: {etcd: {local: {}}, karmadaScheduler: "
                   "{podDisruptionBudgetConfig: {minAvailable: 1, maxUnavailable: 1}}}}\n",
              "spec.components.karmadaScheduler.podDisruptionBudgetConfig", "exactly one");
        FAILS(META "spec: {components: {etcd: {local: {}}, karmadaScheduler: "
                   "{podDisruptionBudgetConfig: {}}}}\n",
              "spec.components.karmadaScheduler.podDisruptionBudgetConfig");
        FAILS(META "spec: {components: {etcd: {local: {}}, karmadaScheduler: "
                   "{podDisruptionBudgetConfig: {minAvailable: lots}}}}\n",
              "podDisruptionBudgetConfig", "percentage");
        FAILS(META "spec: {karmadaVersion: v9.9.9}\n", "spec.karmadaVersion", "v9.9.9",
              "Karmada v9.9 is not a minor release", "v1.19, v1.18, v1.17, v1.16");
        FAILS(META "spec: {karmadaVersion: v1.15.3}\n", "spec.karmadaVersion", "v1.15");
        FAILS(META "spec: {karmadaVersion: 'v1.19.0-rc.0'}\n", "spec.karmadaVersion",
              "\"v1.19.0-rc.0\" is not a release (vMAJOR.MINOR.PATCH");
        FAILS(META "spec: {hostCluster: {networking: {dnsDomain: 'Not_A_Domain'}}}\n",
              "spec.hostCluster.networking.dnsDomain");
        FAILS(META "spec: {crdTarball: {httpSource: {url: 'ftp://x/y.tgz'}}}\n",
              "spec.crdTarball.httpSource.url");
        FAILS(META "spec: {crdTarball: {crdDownloadPolicy: Never}}\n",
              "spec.crdTarball.crdDownloadPolicy");
        FAILS(META "spec: {features: {scheduler: {plugins: '*'}}}\n",
              "spec.features.scheduler.plugins", "list");
        FAILS(META "spec: {features: {scheduler: {plugins: ['a,b']}}}\n",
              "spec.features.scheduler.plugins", "plugin names");
        FAILS(META "spec: {features: {quota: {syncPeriod: soon}}}\n",
              "spec.features.quota.syncPeriod", "soon");
        FAILS(META "spec: {features: {quota: {federatedResourceQuotas: [{name: q}]}}}\n",
              "spec.features.quota.federatedResourceQuotas[0]", "namespace");
        FAILS(META "spec: {features: {preemption: {priorityClasses: [{name: High_1, "
                   "value: 1}]}}}\n",
              "spec.features.preemption.priorityClasses[0]", "DNS subdomain");
        FAILS(META "spec: {features: {preemption: {priorityClasses: [{name: high, "
                   "value: 2000000000}]}}}\n",
              "spec.features.preemption.priorityClasses", "1000000000");
        FAILS(META "spec: {features: {batch: {crds: [{spec: {}}]}}}\n",
              "spec.features.batch.crds[0]", "name");
        FAILS(META "spec: {restore: {}}\n", "spec.restore.backupRef.name", "required");
        FAILS(META "spec: {features: {teleport: {}}}\n", "spec.features.teleport",
              "not a feature of this operator (scheduler, quota, preemption, batch)");
        FAILS(META "spec: {features: {quota: true}}\n", "spec.features.quota", "an object");
        FAILS(META "spec: {features: {scheduler: {estimator: {enabled: true, memberClusters: "
                   "[{name: m1}]}}}}\n",
              "spec.features.scheduler.estimator.memberClusters[0]", "kubeconfigSecretRef");
        FAILS(META "spec: {features: {scheduler: {estimator: {enabled: true, memberClusters: "
                   "[{name: a-member-cluster-with-a-very-long-name-indeed, kubeconfigSecretRef: "
                   "{name: k}}]}}}}\n",
              "spec.features.scheduler.estimator.memberClusters", "63 characters");
        FAILS(META "spec: {customCertificate: {leafCertValidityDays: 0}}\n",
              "spec.customCertificate.leafCertValidityDays");
        FAILS(META "spec: {privateRegistry: {}}\n", "spec.privateRegistry.registry", "required");
        FAILS(META "spec: {components: {etcd: {local: {labels: {a: 1}}}}}\n",
              "spec.components.etcd.local.labels.a", "string");
        FAILS(META "spec: {featureGates: {Failover: 'yes please'}}\n", "spec.featureGates.Failover",
              "true or false");
        FAILS(META "spec: {components: {etcd: {local: {volumeData: {emptyDir: {}, hostPath: {path: "
                   "/x}}}}}}\n",
              "spec.components.etcd.local.volumeData", "one of");
        FAILS(META "spec: {components: {etcd: {local: {volumeData: {hostPath: {}}}}}}\n",
              "spec.components.etcd.local.volumeData.hostPath.path");
        FAILS(META
              "spec: {components: {etcd: {local: {}}, karmadaAPIServer: {serviceType: ClusterIP}}, "
              "hostCluster: {secretRef: {name: remote}}}\n",
              "serviceType", "another cluster");
        FAILS(META "spec: {components: {karmadaAPIServer: {serviceType: NodePort}}, hostCluster: "
                   "{secretRef: {name: remote, namespace: other}}}\n",
              "spec.hostCluster.secretRef.namespace", "own namespace");
        FAILS(META "spec: {components: {karmadaAPIServer: {serviceType: NodePort}}, hostCluster: "
                   "{secretRef: {namespace: team}}}\n",
              "spec.hostCluster.secretRef.name", "required");
        FAILS(META "spec: {hostCluster: {apiEndpoint: 'https://h:1'}}\n",
              "spec.hostCluster.apiEndpoint");
        FAILS(META "spec: {hostCluster: {apiEndpoint: 'h:99999'}}\n",
              "spec.hostCluster.apiEndpoint");
        FAILS(META "spec: {hostCluster: {apiEndpoint: ':6443'}}\n", "spec.hostCluster.apiEndpoint");
        FAILS(META "spec: {components: []}\n", "spec.components", "object");
        FAILS(META "spec: {suspend: maybe}\n", "spec.suspend");
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {namespace: "
              "x}\nspec: {}\n",
              "metadata");
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: "
              "a-very-long-instance-name-that-leaves-no-room-for-the-suffixes, namespace: "
              "x}\nspec: {}\n",
              "metadata.name", "63");
}

/* spec.features: each block goes to the reconciler that claims it; without features (names
 * only) the blocks are not read */
static void test_feature_blocks_go_to_their_reconcilers(void **state)
{
        struct karmada_spec_error err = {{0}};
        struct karmada *k = parse_ok(META "spec: {features: {quota: {}, batch: {}}}\n");
        cJSON *doc = yaml(META "spec: {features: {teleport: {}, quota: 3}}\n");

        (void)state;
        assert_non_null(karmada_feature(k, "quota"));
        assert_non_null(karmada_feature(k, "batch"));
        assert_null(karmada_feature(k, "scheduler"));
        assert_true(registry_enabled(registry_find("feature-quota"), k));
        assert_false(registry_enabled(registry_find("feature-scheduler"), k));
        karmada_free(k);
        k = NULL;
        assert_int_equal(karmada_parse(doc, NULL, &k, &err), 0);
        assert_int_equal(k->n_features, 0);
        karmada_free(k);
        cJSON_Delete(doc);
}

static void test_several_problems_are_all_reported(void **state)
{
        FAILS(META "spec: {karmadaVersion: v0.0.1, suspend: 3, components: {etcd: {local: "
                   "{replicas: 0}}}}\n",
              "spec.karmadaVersion", "spec.suspend", "spec.components.etcd.local.replicas");
}

static void test_cascade_label_and_deletion(void **state)
{
        struct karmada *k = parse_ok("apiVersion: operator.karmada.io/v1alpha1\nkind: "
                                     "Karmada\nmetadata: {name: my-karmada, namespace: ns, "
                                     "labels: {operator.karmada.io/disable-cascading-deletion: "
                                     "'true'}, deletionTimestamp: '2026-01-01T00:00:00Z'}\n"
                                     "spec: {}\n");

        assert_false(k->cascade);
        assert_true(k->deleting);
        assert_string_equal(k->prefix, "my-karmada"); /* contains "karmada": no suffix */
        karmada_free(k);
}

static void test_versions(void **state)
{
        int a, b, c;

        assert_true(release_version_parse("v1.18.2", &a, &b, &c));
        assert_int_equal(a * 10000 + b * 100 + c, 11802);
        assert_false(release_version_parse("1.18.2", &a, &b, &c));
        assert_false(release_version_parse("v1.18", &a, &b, &c));
        assert_false(release_version_parse("v1.18.2-rc.1", &a, &b, &c));
        assert_true(release_version_compare("v1.17.1", "v1.18.0") < 0);
        assert_true(release_version_compare("v1.18.10", "v1.18.9") > 0);
        assert_int_equal(release_version_compare("v1.18.2", "v1.18.2"), 0);
}

/* Any patch of a known minor runs, paired through its minor */
static void test_patch_releases_resolve_through_their_minor(void **state)
{
        static const struct {
                const char *v, *kube, *etcd;
        } cases[] = {
                {"v1.17.5", "v1.35.2", "3.6.6-0"}, {"v1.18.3", "v1.35.2", "3.6.6-0"},
                {"v1.19.0", "v1.36.2", "3.6.8-0"}, {"v1.19.7", "v1.36.2", "3.6.8-0"},
                {"v1.16.9", "v1.34.1", "3.6.0-0"}, {"v1.18.0", "v1.35.2", "3.6.6-0"},
        };
        struct karmada_release r;
        char msg[256];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(release_resolve(cases[i].v, &r, msg, sizeof(msg)), 0);
                assert_string_equal(r.karmada, cases[i].v);
                assert_string_equal(r.kubernetes, cases[i].kube);
                assert_string_equal(r.etcd, cases[i].etcd);
        }
        assert_int_equal(release_resolve("v1.20.0", &r, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "Karmada v1.20 is not a minor release"));
        assert_int_equal(release_resolve("v1.18", &r, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(release_resolve(NULL, &r, msg, sizeof(msg)), -EINVAL);
        /* PriorityBasedScheduling: beta and on by default from v1.19 */
        assert_int_equal(release_resolve("v1.19.0", &r, msg, sizeof(msg)), 0);
        assert_true(release_gate_default_on(&r, "PriorityBasedScheduling"));
        assert_false(release_gate_default_on(&r, "PropagationPolicyPreemption"));
        assert_int_equal(release_resolve("v1.18.3", &r, msg, sizeof(msg)), 0);
        assert_false(release_gate_default_on(&r, "PriorityBasedScheduling"));
}

static void test_upgrade_policy(void **state)
{
        char msg[512] = "";

        (void)state;
        assert_int_equal(release_upgrade_check(NULL, "v1.18.2", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.18.2", "v1.18.2", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.17.1", "v1.18.2", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.18.1", "v1.18.2", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.16.0", "v1.18.2", false, msg, sizeof(msg)),
                         -EPERM);
        assert_non_null(strstr(msg, "spec.karmadaVersion"));
        assert_non_null(strstr(msg, "skips a minor"));
        assert_non_null(strstr(msg, "v1.17"));
        assert_int_equal(release_upgrade_check("v1.18.2", "v1.17.1", false, msg, sizeof(msg)),
                         -EPERM);
        assert_non_null(strstr(msg, "downgrade"));
        assert_non_null(strstr(msg, KO_ALLOW_DOWNGRADE_ANNOTATION));
        /* patches of one minor, either way */
        assert_int_equal(release_upgrade_check("v1.18.2", "v1.18.1", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.18.2", "v1.18.3", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.18.2", "v1.19.0", false, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.19.0", "v1.18.3", false, msg, sizeof(msg)),
                         -EPERM);
        assert_int_equal(release_upgrade_check("v1.18.2", "v1.16.0", true, msg, sizeof(msg)), 0);
        assert_int_equal(release_upgrade_check("v1.18.2", "v2.0.0", false, msg, sizeof(msg)),
                         -EPERM);
}

static void test_upgrade_annotations(void **state)
{
        struct karmada *k = parse_ok(META "spec: {}\n");

        (void)state;
        assert_false(k->allow_downgrade);
        assert_int_equal(k->step_timeout_ms, 600000);
        karmada_free(k);
        k = parse_ok("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: "
                     "a, namespace: b, annotations: {operator.karmada.io/allow-downgrade: "
                     "'true', operator.karmada.io/upgrade-step-timeout: 1m30s}}\nspec: {}\n");
        assert_true(k->allow_downgrade);
        assert_int_equal(k->step_timeout_ms, 90000);
        karmada_free(k);
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: a, "
              "namespace: b, annotations: {operator.karmada.io/upgrade-step-timeout: soon}}\n"
              "spec: {}\n",
              "metadata.annotations[operator.karmada.io/upgrade-step-timeout]", "duration");
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: a, "
              "namespace: b, annotations: {operator.karmada.io/upgrade-step-timeout: 10ms}}\n"
              "spec: {}\n",
              "upgrade-step-timeout", "at least 1s");
}

static void test_leaf_validity_annotation_overrides_days(void **state)
{
        struct karmada *k;

        (void)state;
        k = parse_ok("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: "
                     "a, namespace: b, annotations: {operator.karmada.io/leaf-cert-validity: "
                     "10m}}\nspec: {customCertificate: {leafCertValidityDays: 30}}\n");
        assert_int_equal(k->leaf_validity_s, 600);
        karmada_free(k);
        k = parse_ok("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: "
                     "a, namespace: b, annotations: {operator.karmada.io/leaf-cert-validity: "
                     "24h}}\nspec: {}\n");
        assert_int_equal(k->leaf_validity_s, 86400);
        karmada_free(k);
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: a, "
              "namespace: b, annotations: {operator.karmada.io/leaf-cert-validity: 90s}}\n"
              "spec: {}\n",
              "metadata.annotations[operator.karmada.io/leaf-cert-validity]", "from 2m");
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: a, "
              "namespace: b, annotations: {operator.karmada.io/leaf-cert-validity: a year}}\n"
              "spec: {}\n",
              "leaf-cert-validity", "duration");
}

/* operator.karmada.io/rotate-ca: any value of at most 63 characters (the Secret records it) */
static void test_rotate_ca_annotation(void **state)
{
        struct karmada *k;

        (void)state;
        k = parse_ok(META "spec: {}\n");
        assert_null(k->rotate_ca);
        karmada_free(k);
        k = parse_ok("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: "
                     "a, namespace: b, annotations: {operator.karmada.io/rotate-ca: "
                     "'2026-11-30'}}\nspec: {}\n");
        assert_string_equal(k->rotate_ca, "2026-11-30");
        karmada_free(k);
        FAILS("apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: a, "
              "namespace: b, annotations: {operator.karmada.io/rotate-ca: "
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}\nspec: {}\n",
              "metadata.annotations[operator.karmada.io/rotate-ca]", "at most 63");
}

#define EXTERNAL(v)                                                                       \
        "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\nmetadata: {name: a, "   \
        "namespace: b, annotations: {operator.karmada.io/replicas-managed-externally: " v \
        "}}\nspec: {}\n"

/* operator.karmada.io/replicas-managed-externally: the components named leave their replicas to
 * others, and their workloads carry none; etcd and unknown names are refused, naming the field */
static void test_replicas_managed_externally(void **state)
{
        struct karmada *k;
        cJSON *c, *o;

        (void)state;
        k = parse_ok(EXTERNAL("'karmada-apiserver, karmada-webhook'"));
        assert_true(k->comp[KO_APISERVER].replicas_external);
        assert_true(k->comp[KO_WEBHOOK].replicas_external);
        assert_false(k->comp[KO_SCHEDULER].replicas_external);
        o = manifest_workload(k, KO_APISERVER, false, "c", "b", &c);
        assert_null(json_at(o, "spec", "replicas"));
        cJSON_Delete(o);
        o = manifest_workload(k, KO_SCHEDULER, false, "c", "b", &c);
        assert_int_equal(json_at(o, "spec", "replicas")->valueint, 1);
        cJSON_Delete(o);
        karmada_free(k);
        FAILS(EXTERNAL("'karmada-apiserver,etcd'"),
              "metadata.annotations[operator.karmada.io/replicas-managed-externally]",
              "etcd's replicas are its members");
        FAILS(EXTERNAL("karmada-apiservr"),
              "metadata.annotations[operator.karmada.io/replicas-managed-externally]",
              "\"karmada-apiservr\" is not a component");
        FAILS(EXTERNAL("[karmada-apiserver]"),
              "metadata.annotations[operator.karmada.io/replicas-managed-externally]",
              "comma-separated");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_spec_gets_upstream_defaults),
                cmocka_unit_test(test_rotate_ca_annotation),
                cmocka_unit_test(test_replicas_managed_externally),
                cmocka_unit_test(test_version_drives_every_default_tag),
                cmocka_unit_test(test_private_registry_replaces_default_registries_only),
                cmocka_unit_test(test_upstream_shaped_spec),
                cmocka_unit_test(test_host_endpoint),
                cmocka_unit_test(test_restore_into_another_cluster),
                cmocka_unit_test(test_invalid_specs_name_their_field),
                cmocka_unit_test(test_feature_blocks_go_to_their_reconcilers),
                cmocka_unit_test(test_several_problems_are_all_reported),
                cmocka_unit_test(test_cascade_label_and_deletion),
                cmocka_unit_test(test_versions),
                cmocka_unit_test(test_patch_releases_resolve_through_their_minor),
                cmocka_unit_test(test_upgrade_policy),
                cmocka_unit_test(test_upgrade_annotations),
                cmocka_unit_test(test_leaf_validity_annotation_overrides_days),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
