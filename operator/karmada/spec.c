/* SPDX-License-Identifier: Apache-2.0 */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/duration.h"
#include "util/macro.h"
#include "util/strbuf.h"

const struct kube_resource karmada_backups = {.group = "operator.karmada.io",
                                              .version = "v1alpha1",
                                              .resource = "karmadabackups",
                                              .kind = "KarmadaBackup",
                                              .namespaced = true};
const struct kube_resource karmada_backupschedules = {.group = "operator.karmada.io",
                                                      .version = "v1alpha1",
                                                      .resource = "karmadabackupschedules",
                                                      .kind = "KarmadaBackupSchedule",
                                                      .namespaced = true};

const struct kube_resource karmada_karmadas = {
        .group = "operator.karmada.io",
        .version = "v1alpha1",
        .resource = "karmadas",
        .kind = "Karmada",
        .namespaced = true,
};

struct parser {
        struct strbuf problems;
        int n;
};

static void problem(struct parser *p, const char *path, const char *fmt, ...) _printf_(3, 4);
static void problem(struct parser *p, const char *path, const char *fmt, ...)
{
        va_list ap;

        if (p->n++ >= 8)
                return; /* enough to act on */
        strbuf_printf(&p->problems, "%s%s: ", p->problems.len ? "; " : "", path);
        va_start(ap, fmt);
        strbuf_vprintf(&p->problems, fmt, ap);
        va_end(ap);
}

static const cJSON *get(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsNull(v) ? NULL : v;
}

/* A child that must be an object (or absent). */
static const cJSON *obj_at(struct parser *p, const cJSON *o, const char *key, const char *path)
{
        const cJSON *v = get(o, key);

        if (v && !cJSON_IsObject(v)) {
                problem(p, path, "must be an object");
                return NULL;
        }
        return v;
}

static const char *str_at(struct parser *p, const cJSON *o, const char *key, const char *path)
{
        const cJSON *v = get(o, key);

        if (!v)
                return NULL;
        if (!cJSON_IsString(v)) {
                problem(p, path, "must be a string");
                return NULL;
        }
        return *v->valuestring ? v->valuestring : NULL;
}

static bool bool_at(struct parser *p, const cJSON *o, const char *key, const char *path, bool def)
{
        const cJSON *v = get(o, key);

        if (!v)
                return def;
        if (!cJSON_IsBool(v)) {
                problem(p, path, "must be true or false");
                return def;
        }
        return cJSON_IsTrue(v);
}

static bool int_at(struct parser *p, const cJSON *o, const char *key, const char *path, long min,
                   long max, int *ret)
{
        const cJSON *v = get(o, key);

        if (!v)
                return false;
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble) {
                problem(p, path, "must be an integer");
                return false;
        }
        if (v->valuedouble < (double)min || v->valuedouble > (double)max) {
                problem(p, path, "must be between %ld and %ld, not %.0f", min, max, v->valuedouble);
                return false;
        }
        *ret = (int)v->valuedouble;
        return true;
}

/* An object whose values all have one type (cJSON_IsString or cJSON_IsBool). */
static const cJSON *map_at(struct parser *p, const cJSON *o, const char *key, const char *path,
                           cJSON_bool (*is)(const cJSON *), const char *what)
{
        const cJSON *v = obj_at(p, o, key, path), *e;

        cJSON_ArrayForEach (e, v) {
                if (!is(e)) {
                        char sub[512];
                        snprintf(sub, sizeof(sub), "%s.%s", path, e->string);
                        problem(p, sub, "must be %s", what);
                }
        }
        return v && v->child ? v : NULL;
}

static const cJSON *list_at(struct parser *p, const cJSON *o, const char *key, const char *path,
                            bool strings)
{
        const cJSON *v = get(o, key), *e;
        int i = 0;

        if (!v)
                return NULL;
        if (!cJSON_IsArray(v)) {
                problem(p, path, "must be a list");
                return NULL;
        }
        cJSON_ArrayForEach (e, v) {
                if (strings ? !cJSON_IsString(e) : !cJSON_IsObject(e)) {
                        char sub[512];
                        snprintf(sub, sizeof(sub), "%s[%d]", path, i);
                        problem(p, sub, "must be %s", strings ? "a string" : "an object");
                }
                i++;
        }
        return v->child ? v : NULL;
}

/* RFC 1123 label (or subdomain when dots allowed). */
static bool dns_name(const char *s, bool dots, size_t max)
{
        size_t n = strlen(s);
        bool start = true;

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.' && dots && !start && s[i - 1] != '-') {
                        start = true;
                        continue;
                }
                if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
                      (c == '-' && !start)))
                        return false;
                start = false;
        }
        return s[n - 1] != '-' && s[n - 1] != '.';
}

static bool is_int_or_percent(const cJSON *v)
{
        if (cJSON_IsNumber(v))
                return v->valuedouble >= 0 && v->valuedouble == (double)(long)v->valuedouble;
        if (cJSON_IsString(v)) {
                char *end;
                long n = strtol(v->valuestring, &end, 10);
                return end != v->valuestring && strcmp(end, "%") == 0 && n >= 0 && n <= 100;
        }
        return false;
}

static char *dupf(const char *fmt, ...) _printf_(1, 2);
static char *dupf(const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

static const char *tag_of(const struct karmada *k, enum names_tag_source t)
{
        switch (t) {
        case KO_TAG_ETCD:
                return k->release->etcd;
        case KO_TAG_KUBERNETES:
                return k->release->kubernetes;
        default:
                return k->version;
        }
}

static void parse_common(struct parser *p, struct karmada *k, enum names_component c,
                         const cJSON *o, const char *path)
{
        const struct names_component_info *info = &names_components[c];
        struct karmada_settings *cc = &k->comp[c];
        const char *repo, *tag, *policy;
        char sub[384];
        const cJSON *pdb;

        cc->enabled = true;
#define SUB(k_) (snprintf(sub, sizeof(sub), "%s.%s", path, k_), sub)
        repo = str_at(p, o, "imageRepository", SUB("imageRepository"));
        tag = str_at(p, o, "imageTag", SUB("imageTag"));
        policy = str_at(p, o, "imagePullPolicy", SUB("imagePullPolicy"));
        if (policy && strcmp(policy, "Always") != 0 && strcmp(policy, "IfNotPresent") != 0 &&
            strcmp(policy, "Never") != 0)
                problem(p, SUB("imagePullPolicy"),
                        "must be Always, IfNotPresent or Never, not \"%s\"", policy);
        cc->pull_policy = policy ? policy : "IfNotPresent";
        cc->image_tag = strdup(tag ? tag : tag_of(k, info->tag));
        if (repo)
                cc->image = dupf("%s:%s", repo, cc->image_tag);
        else
                cc->image = dupf("%s/%s:%s",
                                 k->private_registry ? k->private_registry : info->image_registry,
                                 info->image_name, cc->image_tag);
        cc->replicas = info->default_replicas;
        int_at(p, o, "replicas", SUB("replicas"), 0, 1000, &cc->replicas);
        cc->labels = map_at(p, o, "labels", SUB("labels"), cJSON_IsString, "a string");
        cc->annotations =
                map_at(p, o, "annotations", SUB("annotations"), cJSON_IsString, "a string");
        cc->resources = obj_at(p, o, "resources", SUB("resources"));
        cc->affinity = obj_at(p, o, "affinity", SUB("affinity"));
        cc->tolerations = list_at(p, o, "tolerations", SUB("tolerations"), false);
        cc->priority_class = str_at(p, o, "priorityClassName", SUB("priorityClassName"));
        if (!cc->priority_class)
                cc->priority_class = "system-node-critical";
        pdb = obj_at(p, o, "podDisruptionBudgetConfig", SUB("podDisruptionBudgetConfig"));
        if (pdb) {
                cc->pdb_min_available = get(pdb, "minAvailable");
                cc->pdb_max_unavailable = get(pdb, "maxUnavailable");
                if (!cc->pdb_min_available == !cc->pdb_max_unavailable)
                        problem(p, SUB("podDisruptionBudgetConfig"),
                                "set exactly one of minAvailable and maxUnavailable");
                else if (!is_int_or_percent(cc->pdb_min_available ? cc->pdb_min_available
                                                                  : cc->pdb_max_unavailable))
                        problem(p, SUB("podDisruptionBudgetConfig"),
                                "want a number or a percentage like \"50%%\"");
        }
        cc->extra_args = map_at(p, o, "extraArgs", SUB("extraArgs"), cJSON_IsString, "a string");
        cc->feature_gates =
                map_at(p, o, "featureGates", SUB("featureGates"), cJSON_IsBool, "true or false");
        cc->controllers = list_at(p, o, "controllers", SUB("controllers"), true);
#undef SUB
}

/* A list of objects each with a name (a DNS subdomain; in metadata for whole objects) and the
 * fields listed as required. */
static const cJSON *named_list(struct parser *p, const cJSON *o, const char *key, const char *path,
                               const char *const *required)
{
        const cJSON *v = list_at(p, o, key, path, false), *e;
        int i = 0;

        cJSON_ArrayForEach (e, v) {
                const cJSON *meta = get(e, "metadata");
                const cJSON *name = get(meta ? meta : e, "name");
                char sub[512];

                snprintf(sub, sizeof(sub), "%s[%d]", path, i++);
                if (!cJSON_IsObject(e))
                        continue; /* list_at said so */
                if (!cJSON_IsString(name) || !dns_name(name->valuestring, true, 253))
                        problem(p, sub, "needs a name (a DNS subdomain)");
                for (const char *const *r = required; r && *r; r++)
                        if (!get(e, *r))
                                problem(p, sub, "needs %s", *r);
        }
        return v;
}

/* spec.features.scheduler: plugins, overcommit protection, one estimator per member listed */
static void parse_scheduler_feature(struct parser *p, struct karmada *k, const cJSON *c)
{
        static const char *const est_fields[] = {"kubeconfigSecretRef", NULL};
        struct karmada_features *f = &k->features;
        const cJSON *e;

        f->scheduler = true;
        f->plugins = list_at(p, c, "plugins", "spec.features.scheduler.plugins", true);
        cJSON_ArrayForEach (e, f->plugins) {
                if (cJSON_IsString(e) && (!e->valuestring[0] || strpbrk(e->valuestring, ", \t")))
                        problem(p, "spec.features.scheduler.plugins",
                                "must hold plugin names (or \"*\", \"-name\")");
        }
        f->overcommit_protection = bool_at(p, c, "overcommitProtection",
                                           "spec.features.scheduler.overcommitProtection", false);
        e = obj_at(p, c, "estimator", "spec.features.scheduler.estimator");
        if (bool_at(p, e, "enabled", "spec.features.scheduler.estimator.enabled", false))
                f->estimators =
                        named_list(p, e, "memberClusters",
                                   "spec.features.scheduler.estimator.memberClusters", est_fields);
        cJSON_ArrayForEach (e, f->estimators) {
                const char *n = cJSON_GetStringValue(get(e, "name"));
                if (!cJSON_IsString(get(get(e, "kubeconfigSecretRef"), "name")))
                        problem(p, "spec.features.scheduler.estimator.memberClusters",
                                "each needs kubeconfigSecretRef.name");
                /* <prefix>-scheduler-estimator-<name> names a Service: a DNS label */
                if (n && (!dns_name(n, false, 63) ||
                          strlen(k->prefix) + strlen("-scheduler-estimator-") + strlen(n) > 63))
                        problem(p, "spec.features.scheduler.estimator.memberClusters",
                                "\"%s\" makes the Service name %s-scheduler-estimator-%s, longer "
                                "than 63 characters or not a DNS label",
                                n, k->prefix, n);
        }
}

/* spec.features.quota: enforcement, estimate, the sync period, FederatedResourceQuotas */
static void parse_quota_feature(struct parser *p, struct karmada *k, const cJSON *c)
{
        static const char *const frq_fields[] = {"namespace", "spec", NULL};
        struct karmada_features *f = &k->features;
        long ms;

        f->quota = true;
        f->quota_enforcement =
                bool_at(p, c, "enforcement", "spec.features.quota.enforcement", false);
        f->quota_estimate = bool_at(p, c, "estimate", "spec.features.quota.estimate", false);
        f->quota_sync = str_at(p, c, "syncPeriod", "spec.features.quota.syncPeriod");
        if (f->quota_sync && (duration_parse_ms(f->quota_sync, &ms) < 0 || ms < 1000))
                problem(p, "spec.features.quota.syncPeriod",
                        "\"%s\" is not a duration of at least 1s (like 5m)", f->quota_sync);
        f->frqs = named_list(p, c, "federatedResourceQuotas",
                             "spec.features.quota.federatedResourceQuotas", frq_fields);
}

/* spec.features.preemption: priority-based scheduling, policy preemption, PriorityClasses */
static void parse_preemption_feature(struct parser *p, struct karmada *k, const cJSON *c)
{
        static const char *const pc_fields[] = {"value", NULL};
        struct karmada_features *f = &k->features;
        const cJSON *e;

        f->preemption = true;
        f->priority_scheduling = bool_at(p, c, "priorityBasedScheduling",
                                         "spec.features.preemption.priorityBasedScheduling", false);
        f->policy_preemption = bool_at(p, c, "policyPreemption",
                                       "spec.features.preemption.policyPreemption", false);
        f->priority_classes = named_list(p, c, "priorityClasses",
                                         "spec.features.preemption.priorityClasses", pc_fields);
        cJSON_ArrayForEach (e, f->priority_classes) {
                const cJSON *v = get(e, "value");
                if (v && (!cJSON_IsNumber(v) || v->valuedouble > 1000000000 ||
                          v->valuedouble < -2147483648.0 ||
                          v->valuedouble != (double)(long)v->valuedouble))
                        problem(p, "spec.features.preemption.priorityClasses",
                                "value must be an integer of at most 1000000000");
        }
}

/* spec.features.batch: multiple pod templates, interpreter customizations, CRDs */
static void parse_batch_feature(struct parser *p, struct karmada *k, const cJSON *c)
{
        static const char *const ric_fields[] = {"spec", NULL};
        struct karmada_features *f = &k->features;

        f->batch = true;
        f->multi_templates = bool_at(p, c, "multiplePodTemplates",
                                     "spec.features.batch.multiplePodTemplates", false);
        f->customizations = named_list(p, c, "interpreterCustomizations",
                                       "spec.features.batch.interpreterCustomizations", ric_fields);
        f->crds = named_list(p, c, "crds", "spec.features.batch.crds", ric_fields);
}

/* spec.features: each block present is parsed by its entry here (a new feature: one line) */
static void parse_features(struct parser *p, struct karmada *k, const cJSON *spec)
{
        static const struct {
                const char *key, *path;
                void (*parse)(struct parser *p, struct karmada *k, const cJSON *block);
        } blocks[] = {
                {"scheduler", "spec.features.scheduler", parse_scheduler_feature},
                {"quota", "spec.features.quota", parse_quota_feature},
                {"preemption", "spec.features.preemption", parse_preemption_feature},
                {"batch", "spec.features.batch", parse_batch_feature},
        };
        const cJSON *fs = obj_at(p, spec, "features", "spec.features"), *c;

        for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
                c = obj_at(p, fs, blocks[i].key, blocks[i].path);
                if (c)
                        blocks[i].parse(p, k, c);
        }
}

static void parse_etcd(struct parser *p, struct karmada *k, const cJSON *etcd)
{
        const cJSON *local = obj_at(p, etcd, "local", "spec.components.etcd.local");
        const cJSON *ext = obj_at(p, etcd, "external", "spec.components.etcd.external");
        const cJSON *vd;
        char want[KO_NAME_MAX + 16];
        int kinds = 0;

        if (local && ext) {
                problem(p, "spec.components.etcd", "set local or external, not both");
                return;
        }
        if (ext) {
                k->etcd_external = true;
                k->etcd_endpoints = list_at(p, ext, "endpoints",
                                            "spec.components.etcd.external.endpoints", true);
                if (!k->etcd_endpoints)
                        problem(p, "spec.components.etcd.external.endpoints",
                                "at least one endpoint is required");
                k->etcd_secret = str_at(
                        p, obj_at(p, ext, "secretRef", "spec.components.etcd.external.secretRef"),
                        "name", "spec.components.etcd.external.secretRef.name");
                names_join(k->prefix, "etcd-cert", want, sizeof(want));
                if (!k->etcd_secret || strcmp(k->etcd_secret, want) != 0)
                        problem(p, "spec.components.etcd.external.secretRef.name",
                                "must be \"%s\" (the Secret the components mount)", want);
                return;
        }
        parse_common(p, k, KO_ETCD, local, "spec.components.etcd.local");
        if (k->comp[KO_ETCD].replicas < 1)
                problem(p, "spec.components.etcd.local.replicas", "etcd needs at least one member");
        vd = obj_at(p, local, "volumeData", "spec.components.etcd.local.volumeData");
        k->etcd_volume = KO_VOLUME_EMPTY_DIR;
        if ((k->etcd_volume_spec = obj_at(p, vd, "volumeClaim",
                                          "spec.components.etcd.local.volumeData.volumeClaim"))) {
                k->etcd_volume = KO_VOLUME_CLAIM;
                kinds++;
                if (!obj_at(p, k->etcd_volume_spec, "spec",
                            "spec.components.etcd.local.volumeData.volumeClaim.spec"))
                        problem(p, "spec.components.etcd.local.volumeData.volumeClaim.spec",
                                "required");
        }
        if (obj_at(p, vd, "hostPath", "spec.components.etcd.local.volumeData.hostPath")) {
                k->etcd_volume = KO_VOLUME_HOST_PATH;
                k->etcd_volume_spec = get(vd, "hostPath");
                kinds++;
                if (!str_at(p, k->etcd_volume_spec, "path",
                            "spec.components.etcd.local.volumeData.hostPath.path"))
                        problem(p, "spec.components.etcd.local.volumeData.hostPath.path",
                                "required");
        }
        if (obj_at(p, vd, "emptyDir", "spec.components.etcd.local.volumeData.emptyDir")) {
                k->etcd_volume = KO_VOLUME_EMPTY_DIR;
                k->etcd_volume_spec = get(vd, "emptyDir");
                kinds++;
        }
        if (kinds > 1)
                problem(p, "spec.components.etcd.local.volumeData",
                        "set one of volumeClaim, hostPath and emptyDir");
        k->etcd_server_sans = list_at(p, local, "serverCertSANs",
                                      "spec.components.etcd.local.serverCertSANs", true);
        k->etcd_peer_sans =
                list_at(p, local, "peerCertSANs", "spec.components.etcd.local.peerCertSANs", true);
}

static bool url_ok(const char *u)
{
        return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) &&
               u[strcspn(u, ":") + 3] && !strpbrk(u, " \t\r\n");
}

/* spec.karmadaVersion: a release this operator knows (the default when absent) */
static void parse_version(struct parser *p, struct karmada *k, const cJSON *spec)
{
        const char *v;

        v = str_at(p, spec, "karmadaVersion", "spec.karmadaVersion");
        k->release = v ? release_find(v) : release_default();
        if (!k->release) {
                struct strbuf known = {0};
                for (unsigned i = 0; i < release_count; i++)
                        strbuf_printf(&known, "%s%s", i ? ", " : "", release_table[i].karmada);
                problem(p, "spec.karmadaVersion",
                        "\"%s\" is not a release this operator supports (%s)", v, known.buf);
                strbuf_free(&known);
                k->release = release_default();
        }
        k->version = strdup(k->release->karmada);
}

/* spec.hostCluster: the DNS domain, another cluster's kubeconfig Secret */
static void parse_host(struct parser *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *host, *net, *c;

        host = obj_at(p, spec, "hostCluster", "spec.hostCluster");
        net = obj_at(p, host, "networking", "spec.hostCluster.networking");
        k->dns_domain = str_at(p, net, "dnsDomain", "spec.hostCluster.networking.dnsDomain");
        if (!k->dns_domain)
                k->dns_domain = "cluster.local";
        else if (!dns_name(k->dns_domain, true, 253))
                problem(p, "spec.hostCluster.networking.dnsDomain", "\"%s\" is not a DNS domain",
                        k->dns_domain);
        c = obj_at(p, host, "secretRef", "spec.hostCluster.secretRef");
        k->host_secret_name = str_at(p, c, "name", "spec.hostCluster.secretRef.name");
        k->host_secret_namespace =
                str_at(p, c, "namespace", "spec.hostCluster.secretRef.namespace");
        if (!k->host_secret_namespace)
                k->host_secret_namespace = k->namespace;
}

/* spec.privateRegistry, spec.featureGates, spec.suspend, spec.features, spec.restore */
static void parse_settings(struct parser *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *c;

        c = obj_at(p, spec, "privateRegistry", "spec.privateRegistry");
        k->private_registry = str_at(p, c, "registry", "spec.privateRegistry.registry");
        if (c && !k->private_registry)
                problem(p, "spec.privateRegistry.registry", "required");
        else if (k->private_registry &&
                 (strpbrk(k->private_registry, " :@") || k->private_registry[0] == '/'))
                problem(p, "spec.privateRegistry.registry",
                        "\"%s\" is not a registry (host[/path])", k->private_registry);

        k->feature_gates =
                map_at(p, spec, "featureGates", "spec.featureGates", cJSON_IsBool, "true or false");
        k->suspend = bool_at(p, spec, "suspend", "spec.suspend", false);
        parse_features(p, k, spec);
        c = obj_at(p, spec, "restore", "spec.restore");
        k->restore_backup = str_at(p, obj_at(p, c, "backupRef", "spec.restore.backupRef"), "name",
                                   "spec.restore.backupRef.name");
        if (c && (!k->restore_backup || !k->restore_backup[0]))
                problem(p, "spec.restore.backupRef.name", "required");
}

/* spec.crdTarball: where Karmada's CRDs come from, and how often */
static void parse_crd_tarball(struct parser *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *crd, *http;
        const char *v;

        crd = obj_at(p, spec, "crdTarball", "spec.crdTarball");
        http = obj_at(p, crd, "httpSource", "spec.crdTarball.httpSource");
        v = str_at(p, http, "url", "spec.crdTarball.httpSource.url");
        if (v && !url_ok(v))
                problem(p, "spec.crdTarball.httpSource.url", "\"%s\" is not an http(s) URL", v);
        if (v)
                k->crd_url = strdup(v);
        else {
                char buf[256];
                k->crd_url = strdup(release_crd_url(k->version, buf, sizeof(buf)));
        }
        k->crd_proxy = str_at(p, obj_at(p, http, "proxy", "spec.crdTarball.httpSource.proxy"),
                              "proxyURL", "spec.crdTarball.httpSource.proxy.proxyURL");
        if (k->crd_proxy && !url_ok(k->crd_proxy))
                problem(p, "spec.crdTarball.httpSource.proxy.proxyURL",
                        "\"%s\" is not an http(s) URL", k->crd_proxy);
        v = str_at(p, crd, "crdDownloadPolicy", "spec.crdTarball.crdDownloadPolicy");
        if (v && strcmp(v, "Always") != 0 && strcmp(v, "IfNotPresent") != 0)
                problem(p, "spec.crdTarball.crdDownloadPolicy",
                        "must be Always or IfNotPresent, not \"%s\"", v);
        k->crd_always = v && strcmp(v, "Always") == 0;
}

/* spec.customCertificate: the user's CA, the leaves' validity */
static void parse_certificate(struct parser *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *cert, *c;

        cert = obj_at(p, spec, "customCertificate", "spec.customCertificate");
        c = obj_at(p, cert, "apiServerCACert", "spec.customCertificate.apiServerCACert");
        k->ca_secret_name = str_at(p, c, "name", "spec.customCertificate.apiServerCACert.name");
        if (c && !k->ca_secret_name)
                problem(p, "spec.customCertificate.apiServerCACert.name", "required");
        k->ca_secret_namespace =
                str_at(p, c, "namespace", "spec.customCertificate.apiServerCACert.namespace");
        if (!k->ca_secret_namespace)
                k->ca_secret_namespace = k->namespace;
        k->leaf_days = 365;
        int_at(p, cert, "leafCertValidityDays", "spec.customCertificate.leafCertValidityDays", 1,
               36500, &k->leaf_days);
}

/* spec.components: etcd (required when components is given), then every other component */
static void parse_components(struct parser *p, struct karmada *k, const cJSON *comps)
{
        const cJSON *c;
        char sub[256];

        c = obj_at(p, comps, "etcd", "spec.components.etcd");
        if (comps && !c)
                problem(p, "spec.components.etcd", "required");
        parse_etcd(p, k, c);
        for (int i = KO_APISERVER; i < KO_N_COMPONENTS; i++) {
                const struct names_component_info *info = &names_components[i];
                snprintf(sub, sizeof(sub), "spec.components.%s", info->spec_key);
                c = obj_at(p, comps, info->spec_key, sub);
                if (info->optional && !c)
                        continue;
                parse_common(p, k, (enum names_component)i, c, sub);
        }
}

/* what only the Karmada API server has: its Service, volumes, sidecars, certificate SANs */
static void parse_apiserver(struct parser *p, struct karmada *k, const cJSON *comps)
{
        const cJSON *c;

        c = get(comps, "karmadaAPIServer");
        k->service_subnet =
                str_at(p, c, "serviceSubnet", "spec.components.karmadaAPIServer.serviceSubnet");
        if (!k->service_subnet)
                k->service_subnet = "10.96.0.0/12";
        k->service_type =
                str_at(p, c, "serviceType", "spec.components.karmadaAPIServer.serviceType");
        if (!k->service_type)
                k->service_type = "ClusterIP";
        if (strcmp(k->service_type, "ClusterIP") != 0 && strcmp(k->service_type, "NodePort") != 0 &&
            strcmp(k->service_type, "LoadBalancer") != 0)
                problem(p, "spec.components.karmadaAPIServer.serviceType",
                        "must be ClusterIP, NodePort or LoadBalancer, not \"%s\"", k->service_type);
        if (k->host_secret_name && strcmp(k->service_type, "ClusterIP") == 0)
                problem(p, "spec.components.karmadaAPIServer.serviceType",
                        "a control plane in another cluster (spec.hostCluster.secretRef) needs "
                        "NodePort or LoadBalancer");
        k->lb_class = str_at(p, c, "loadBalancerClass",
                             "spec.components.karmadaAPIServer.loadBalancerClass");
        k->service_annotations = map_at(p, c, "serviceAnnotations",
                                        "spec.components.karmadaAPIServer.serviceAnnotations",
                                        cJSON_IsString, "a string");
        k->extra_volumes = list_at(p, c, "extraVolumes",
                                   "spec.components.karmadaAPIServer.extraVolumes", false);
        k->extra_volume_mounts =
                list_at(p, c, "extraVolumeMounts",
                        "spec.components.karmadaAPIServer.extraVolumeMounts", false);
        k->sidecars = list_at(p, c, "sidecarContainers",
                              "spec.components.karmadaAPIServer.sidecarContainers", false);
        k->apiserver_sans =
                list_at(p, c, "certSANs", "spec.components.karmadaAPIServer.certSANs", true);
        k->aggregated_sans = list_at(p, get(comps, "karmadaAggregatedAPIServer"), "certSANs",
                                     "spec.components.karmadaAggregatedAPIServer.certSANs", true);
}

static void parse_spec(struct parser *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *comps;

        parse_version(p, k, spec);
        parse_host(p, k, spec);
        parse_settings(p, k, spec);
        parse_crd_tarball(p, k, spec);
        parse_certificate(p, k, spec);
        comps = obj_at(p, spec, "components", "spec.components");
        parse_components(p, k, comps);
        parse_apiserver(p, k, comps);
}

int karmada_parse(const cJSON *in, struct karmada **ret, struct karmada_spec_error *err)
{
        struct parser p = {0};
        struct karmada *k;
        const cJSON *meta, *spec, *labels, *ann;
        int r = 0;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->obj = cJSON_Duplicate(in, true);
        if (!k->obj) {
                free(k);
                return -ENOMEM;
        }
        meta = get(k->obj, "metadata");
        k->name = str_at(&p, meta, "name", "metadata.name");
        k->namespace = str_at(&p, meta, "namespace", "metadata.namespace");
        k->uid = str_at(&p, meta, "uid", "metadata.uid");
        if (cJSON_IsNumber(get(meta, "generation")))
                k->generation = (long long)get(meta, "generation")->valuedouble;
        k->deleting = get(meta, "deletionTimestamp") != NULL;
        ann = get(meta, "annotations");
        k->allow_downgrade =
                cJSON_IsString(get(ann, KO_ALLOW_DOWNGRADE_ANNOTATION)) &&
                strcmp(get(ann, KO_ALLOW_DOWNGRADE_ANNOTATION)->valuestring, "true") == 0;
        k->step_timeout_ms = KO_STEP_TIMEOUT_DEFAULT_MS;
        if (get(ann, KO_STEP_TIMEOUT_ANNOTATION) &&
            (!cJSON_IsString(get(ann, KO_STEP_TIMEOUT_ANNOTATION)) ||
             duration_parse_ms(get(ann, KO_STEP_TIMEOUT_ANNOTATION)->valuestring,
                               &k->step_timeout_ms) < 0 ||
             k->step_timeout_ms < 1000))
                problem(&p, "metadata.annotations[" KO_STEP_TIMEOUT_ANNOTATION "]",
                        "not a duration of at least 1s, like \"90s\" or \"10m\"");
        labels = get(meta, "labels");
        k->cascade = !cJSON_IsString(get(labels, KO_NO_CASCADE_LABEL)) ||
                     strcmp(get(labels, KO_NO_CASCADE_LABEL)->valuestring, "true") != 0;
        if (!k->name || !k->namespace) {
                problem(&p, "metadata", "name and namespace are required");
                k->name = k->name ? k->name : "";
                k->namespace = k->namespace ? k->namespace : "";
        } else if (!dns_name(k->name, false, 63) ||
                   names_prefix(k->name, k->prefix, sizeof(k->prefix)) < 0 ||
                   strlen(k->prefix) + strlen("-aggregated-apiserver") > 63) {
                problem(&p, "metadata.name",
                        "\"%s\" is too long or not a DNS label: the names made from it must fit 63 "
                        "characters",
                        k->name);
        }
        spec = obj_at(&p, k->obj, "spec", "spec");
        parse_spec(&p, k, spec);
        for (int i = 0; i < KO_N_COMPONENTS; i++)
                if (k->comp[i].enabled && (!k->comp[i].image || !k->comp[i].image_tag))
                        r = -ENOMEM;
        if (!k->version || !k->crd_url)
                r = -ENOMEM;
        if (p.n && err)
                snprintf(err->message, sizeof(err->message), "%s%s", p.problems.buf,
                         p.n > 8 ? "; ..." : "");
        if (p.n)
                r = -EINVAL;
        strbuf_free(&p.problems);
        if (r < 0) {
                karmada_free(k);
                return r;
        }
        *ret = k;
        return 0;
}

void karmada_free(struct karmada *k)
{
        if (!k)
                return;
        for (int i = 0; i < KO_N_COMPONENTS; i++) {
                free(k->comp[i].image);
                free(k->comp[i].image_tag);
        }
        free(k->version);
        free(k->crd_url);
        cJSON_Delete(k->obj);
        free(k);
}

const char *karmada_key(const struct karmada *k, char *buf, unsigned size)
{
        snprintf(buf, size, "%s/%s", k->namespace, k->name);
        return buf;
}
