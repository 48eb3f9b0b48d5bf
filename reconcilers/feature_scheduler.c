/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.scheduler: the scheduler's plugins (--plugins, e.g. ["*", "-ClusterLocality"])
 * and SchedulingOvercommitProtection on the scheduler; with estimator.enabled, one
 * karmada-scheduler-estimator per member cluster listed: a Deployment (the member's kubeconfig
 * Secret, key "kubeconfig", mounted; the instance's certificate for gRPC) and a Service
 * <prefix>-scheduler-estimator-<member> in the host, and the ExternalName Service
 * karmada-system/karmada-scheduler-estimator-<member> in the Karmada API server, which is how
 * the scheduler finds it. The scheduler and descheduler restart when the set of estimators
 * changes (ESTIMATORS_ANNOTATION). Ready once all of them rolled out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "util/strbuf.h"

#define ESTIMATOR_PORT        10352
#define ESTIMATOR_HEALTH_PORT 10351
#define MEMBER_DIR            "/etc/karmada/member"
/* on the scheduler's and descheduler's pod templates: the members with an estimator */
#define ESTIMATORS_ANNOTATION "operator.karmada.io/scheduler-estimators"

/* the app label of a selector, pod template or object: one estimator's, not the scheduler's */
static void relabel(cJSON *labels, const char *app)
{
        if (!labels)
                return;
        cJSON_DeleteItemFromObjectCaseSensitive(labels, KO_LABEL_NAME);
        cJSON_AddStringToObject(labels, KO_LABEL_NAME, app);
}

struct scheduler_block {
        const cJSON *plugins;       /* array of strings: --plugins of the scheduler */
        bool overcommit_protection; /* SchedulingOvercommitProtection */
        const cJSON *estimators;    /* [{name, kubeconfigSecretRef: {name}}]: one per member */
};

/* spec.features.scheduler: plugins, overcommit protection, one estimator per member listed */
static int scheduler_parse(struct spec_reader *p, const struct karmada *k, const cJSON *c,
                           void **cfg)
{
        static const char *const est_fields[] = {"kubeconfigSecretRef", NULL};
        struct scheduler_block *f = calloc(1, sizeof(*f));
        const cJSON *e;

        if (!f)
                return -ENOMEM;
        *cfg = f;
        f->plugins = spec_list(p, c, "plugins", "spec.features.scheduler.plugins", true);
        cJSON_ArrayForEach (e, f->plugins) {
                if (cJSON_IsString(e) && (!e->valuestring[0] || strpbrk(e->valuestring, ", \t")))
                        spec_problem(p, "spec.features.scheduler.plugins",
                                     "must hold plugin names (or \"*\", \"-name\")");
        }
        f->overcommit_protection = spec_bool(p, c, "overcommitProtection",
                                             "spec.features.scheduler.overcommitProtection", false);
        e = spec_obj(p, c, "estimator", "spec.features.scheduler.estimator");
        if (spec_bool(p, e, "enabled", "spec.features.scheduler.estimator.enabled", false))
                f->estimators = spec_named_list(p, e, "memberClusters",
                                                "spec.features.scheduler.estimator.memberClusters",
                                                est_fields);
        cJSON_ArrayForEach (e, f->estimators) {
                const char *n = cJSON_GetStringValue(spec_get(e, "name"));
                if (!cJSON_IsString(spec_get(spec_get(e, "kubeconfigSecretRef"), "name")))
                        spec_problem(p, "spec.features.scheduler.estimator.memberClusters",
                                     "each needs kubeconfigSecretRef.name");
                /* <prefix>-scheduler-estimator-<name> names a Service: a DNS label */
                if (n && (!spec_dns_name(n, false, 63) ||
                          strlen(k->prefix) + strlen("-scheduler-estimator-") + strlen(n) > 63))
                        spec_problem(
                                p, "spec.features.scheduler.estimator.memberClusters",
                                "\"%s\" makes the Service name %s-scheduler-estimator-%s, longer "
                                "than 63 characters or not a DNS label",
                                n, k->prefix, n);
        }
        return 0;
}

static cJSON *at(cJSON *o, const char *const *path)
{
        for (; o && *path; path++)
                o = cJSON_GetObjectItemCaseSensitive(o, *path);
        return o;
}

/* The Deployment of the estimator of member `cluster` (its kubeconfig in Secret `secret`). */
static cJSON *estimator_workload(const struct karmada *k, const char *cluster, const char *secret,
                                 const char *name, const char *app)
{
        const struct scheduler_block *f = karmada_feature(k, "scheduler");
        struct strbuf image = {0}, gates = {0};
        const char *img = k->comp[KO_SCHEDULER].image, *cut;
        cJSON *w, *c;

        w = manifest_workload(k, KO_SCHEDULER, false, "karmada-scheduler-estimator",
                              "/bin/karmada-scheduler-estimator", &c);
        if (!w)
                return NULL;
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "metadata"),
                                               "name", cJSON_CreateString(name));
        relabel(at(w, (const char *const[]){"metadata", "labels", NULL}), app);
        relabel(at(w, (const char *const[]){"spec", "selector", "matchLabels", NULL}), app);
        relabel(at(w, (const char *const[]){"spec", "template", "metadata", "labels", NULL}), app);
        /* the scheduler's image, repository and tag, of the estimator */
        cut = strstr(img, "karmada-scheduler");
        if (cut)
                strbuf_printf(&image, "%.*skarmada-scheduler-estimator%s", (int)(cut - img), img,
                              cut + strlen("karmada-scheduler"));
        cJSON_ReplaceItemInObjectCaseSensitive(c, "image",
                                               cJSON_CreateString(image.buf ? image.buf : img));
        strbuf_free(&image);
        manifest_add_env_pod_ip(c);
        manifest_add_arg(c, "--kubeconfig=%s/kubeconfig", MEMBER_DIR);
        manifest_add_arg(c, "--cluster-name=%s", cluster);
        /* the defaults (:8080, :10351) are every address of the pod */
        manifest_add_arg(c, "--metrics-bind-address=$(POD_IP):8080");
        manifest_add_arg(c, "--health-probe-bind-address=$(POD_IP):%d", ESTIMATOR_HEALTH_PORT);
        manifest_add_arg(c, "--server-port=%d", ESTIMATOR_PORT);
        manifest_add_arg(c, "--grpc-auth-cert-file=%s/karmada.crt", KO_PKI_DIR);
        manifest_add_arg(c, "--grpc-auth-key-file=%s/karmada.key", KO_PKI_DIR);
        manifest_add_arg(c, "--grpc-client-ca-file=%s/ca-trust.crt", KO_PKI_DIR);
        if (f->overcommit_protection)
                strbuf_printf(&gates, "SchedulingOvercommitProtection=true");
        /* spec.features.quota.estimate: the quota feature's field, read from the spec */
        if (cJSON_IsTrue(spec_get(spec_get(spec_get(spec_get(k->obj, "spec"), "features"), "quota"),
                                  "estimate")))
                strbuf_printf(&gates, "%sResourceQuotaEstimate=true", gates.len ? "," : "");
        if (gates.len)
                manifest_add_arg(c, "--feature-gates=%s", gates.buf);
        strbuf_free(&gates);
        manifest_add_port(c, "grpc", ESTIMATOR_PORT);
        manifest_add_probe(c, "livenessProbe", "/healthz", ESTIMATOR_HEALTH_PORT, false, 15, 15, 5,
                           3);
        manifest_add_mount(w, c, "member-kubeconfig", MEMBER_DIR, secret, true);
        common_mount_certs(k, w, c, "karmada-certs");
        return w;
}

/* Where the scheduler looks for it: karmada-system/karmada-scheduler-estimator-<member>, an
 * ExternalName Service in the Karmada API server naming the host's Service `name`. */
static cJSON *estimator_external_name(const struct karmada *k, const char *name, const char *app)
{
        cJSON *ext = manifest_karmada_object(k, &kube_services, app, KO_SYSTEM_NAMESPACE, app);
        cJSON *spec, *port;
        char host[512];

        if (!ext)
                return NULL;
        spec = cJSON_AddObjectToObject(ext, "spec");
        cJSON_AddStringToObject(spec, "type", "ExternalName");
        cJSON_AddStringToObject(spec, "externalName",
                                manifest_service_host(k, name, host, sizeof(host)));
        port = cJSON_CreateObject();
        cJSON_AddStringToObject(port, "name", "grpc");
        cJSON_AddNumberToObject(port, "port", ESTIMATOR_PORT);
        cJSON_AddStringToObject(port, "protocol", "TCP");
        cJSON_AddNumberToObject(port, "targetPort", ESTIMATOR_PORT);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "ports"), port);
        return ext;
}

static int estimator(const struct karmada *k, struct desired *d, const cJSON *member)
{
        const char *cluster =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(member, "name"));
        const char *secret = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(member, "kubeconfigSecretRef"), "name"));
        char name[KO_NAME_MAX + 96], app[160], suffix[128];
        cJSON *w, *svc, *ext;
        int r;

        snprintf(suffix, sizeof(suffix), "scheduler-estimator-%s", cluster);
        snprintf(app, sizeof(app), "karmada-scheduler-estimator-%s", cluster);
        if (names_join(k->prefix, suffix, name, sizeof(name)) < 0)
                return -ENAMETOOLONG;
        w = estimator_workload(k, cluster, secret, name, app);
        if (!w)
                return -ENOMEM;
        r = desired_add(d, &kube_deployments, w, true);
        svc = manifest_service(
                k, KO_SCHEDULER, name, "ClusterIP",
                (const struct manifest_port[]){{"grpc", ESTIMATOR_PORT, ESTIMATOR_PORT}, {0}});
        if (svc) {
                relabel(at(svc, (const char *const[]){"metadata", "labels", NULL}), app);
                relabel(at(svc, (const char *const[]){"spec", "selector", NULL}), app);
        }
        if (r >= 0)
                r = desired_add(d, &kube_services, svc, false);
        else
                cJSON_Delete(svc);
        ext = estimator_external_name(k, name, app);
        if (!ext)
                return -ENOMEM;
        if (r >= 0)
                r = desired_add_karmada(d, &kube_services, ext);
        else
                cJSON_Delete(ext);
        return r;
}

static int scheduler_features_contribute(const struct karmada *k, struct desired *d)
{
        static const enum names_component sched[] = {KO_SCHEDULER, KO_N_COMPONENTS};
        const struct scheduler_block *f = karmada_feature(k, "scheduler");
        struct strbuf plugins = {0}, members = {0};
        const cJSON *p;
        int r = 0;

        if (f->overcommit_protection)
                r = common_gate_on(d, "SchedulingOvercommitProtection", sched);
        cJSON_ArrayForEach (p, f->plugins)
                strbuf_printf(&plugins, "%s%s", plugins.len ? "," : "", p->valuestring);
        if (r >= 0 && plugins.len)
                r = desired_flag(d, KO_SCHEDULER, "plugins", plugins.buf);
        strbuf_free(&plugins);
        cJSON_ArrayForEach (p, f->estimators) {
                if (r >= 0)
                        r = estimator(k, d, p);
                strbuf_printf(&members, "%s%s", members.len ? "," : "",
                              cJSON_GetStringValue(spec_get(p, "name")));
        }
        /* The scheduler and descheduler dial an estimator when its cluster is added or changes,
         * retrying a failed dial with a backoff that grows to minutes: estimators added for
         * clusters that joined before would be used late. A new set of estimators restarts
         * them, and they dial every estimator afresh. */
        for (int i = 0; r >= 0 && members.len && i < 2; i++)
                r = desired_pod_annotation(d, i ? KO_DESCHEDULER : KO_SCHEDULER,
                                           ESTIMATORS_ANNOTATION, members.buf);
        strbuf_free(&members);
        return r;
}

const struct reconciler reconciler_feature_scheduler = {
        .name = "feature-scheduler",
        .after = (const char *const[]){"karmada-resources", "karmada-scheduler", NULL},
        /* the scheduler calls the estimators over gRPC, whose messages change between minor
         * releases (v1.19 removed fields): they move to a new release together */
        .upgrades_with = "karmada-scheduler",
        .condition = "SchedulerFeaturesReady",
        .karmada_kinds = (const struct kube_resource *const[]){&kube_services, NULL},
        .feature = &(const struct karmada_feature){"scheduler", scheduler_parse, free},
        .contribute = scheduler_features_contribute,
};
