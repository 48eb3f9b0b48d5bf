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
/* The Secrets a KarmadaBackup names (its bucket's credentials, its key): beside it, in the
 * operator's own cluster, whichever cluster the instance runs in */
const struct kube_resource karmada_backup_secrets = {
        .group = "", .version = "v1", .resource = "secrets", .kind = "Secret", .namespaced = true};
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
                return k->release.etcd;
        case KO_TAG_KUBERNETES:
                return k->release.kubernetes;
        default:
                return k->release.karmada;
        }
}

/* The image of component c: its own imageRepository and imageTag, else the KarmadaRelease's,
 * else the default registry (or spec.privateRegistry) and name at the release's tag. */
static void set_image(struct karmada *k, enum names_component c, const char *repo, const char *tag)
{
        const struct names_component_info *info = &names_components[c];
        struct karmada_settings *cc = &k->comp[c];
        const char *given = k->release.image[c];
        char buf[128];

        if (!repo && !tag && given[0]) {
                cc->image = strdup(given);
                cc->image_tag =
                        strdup(release_image_tag(given, buf, sizeof(buf)) ?: tag_of(k, info->tag));
                return;
        }
        cc->image_tag = strdup(tag ? tag : tag_of(k, info->tag));
        if (repo)
                cc->image = dupf("%s:%s", repo, cc->image_tag);
        else
                cc->image = dupf("%s/%s:%s",
                                 k->private_registry ? k->private_registry : info->image_registry,
                                 info->image_name, cc->image_tag);
}

static void parse_common(struct spec_reader *p, struct karmada *k, enum names_component c,
                         const cJSON *o, const char *path)
{
        const struct names_component_info *info = &names_components[c];
        struct karmada_settings *cc = &k->comp[c];
        const char *repo, *tag, *policy;
        char sub[384];
        const cJSON *pdb;

        cc->enabled = true;
#define SUB(k_) (snprintf(sub, sizeof(sub), "%s.%s", path, k_), sub)
        repo = spec_str(p, o, "imageRepository", SUB("imageRepository"));
        tag = spec_str(p, o, "imageTag", SUB("imageTag"));
        policy = spec_str(p, o, "imagePullPolicy", SUB("imagePullPolicy"));
        if (policy && strcmp(policy, "Always") != 0 && strcmp(policy, "IfNotPresent") != 0 &&
            strcmp(policy, "Never") != 0)
                spec_problem(p, SUB("imagePullPolicy"),
                             "must be Always, IfNotPresent or Never, not \"%s\"", policy);
        cc->pull_policy = policy ? policy : "IfNotPresent";
        set_image(k, c, repo, tag);
        cc->replicas = info->default_replicas;
        spec_int(p, o, "replicas", SUB("replicas"), 0, 1000, &cc->replicas);
        cc->labels = spec_map(p, o, "labels", SUB("labels"), cJSON_IsString, "a string");
        cc->annotations =
                spec_map(p, o, "annotations", SUB("annotations"), cJSON_IsString, "a string");
        cc->resources = spec_obj(p, o, "resources", SUB("resources"));
        cc->affinity = spec_obj(p, o, "affinity", SUB("affinity"));
        cc->tolerations = spec_list(p, o, "tolerations", SUB("tolerations"), false);
        cc->priority_class = spec_str(p, o, "priorityClassName", SUB("priorityClassName"));
        if (!cc->priority_class)
                cc->priority_class = "system-node-critical";
        pdb = spec_obj(p, o, "podDisruptionBudgetConfig", SUB("podDisruptionBudgetConfig"));
        if (pdb) {
                cc->pdb_min_available = spec_get(pdb, "minAvailable");
                cc->pdb_max_unavailable = spec_get(pdb, "maxUnavailable");
                if (!cc->pdb_min_available == !cc->pdb_max_unavailable)
                        spec_problem(p, SUB("podDisruptionBudgetConfig"),
                                     "set exactly one of minAvailable and maxUnavailable");
                else if (!is_int_or_percent(cc->pdb_min_available ? cc->pdb_min_available
                                                                  : cc->pdb_max_unavailable))
                        spec_problem(p, SUB("podDisruptionBudgetConfig"),
                                     "want a number or a percentage like \"50%%\"");
        }
        cc->extra_args = spec_map(p, o, "extraArgs", SUB("extraArgs"), cJSON_IsString, "a string");
        cc->feature_gates =
                spec_map(p, o, "featureGates", SUB("featureGates"), cJSON_IsBool, "true or false");
        cc->controllers = spec_list(p, o, "controllers", SUB("controllers"), true);
#undef SUB
}

/* spec.features: each block is parsed by the feature that claims its key. */
static int parse_features(struct spec_reader *p, struct karmada *k,
                          const struct karmada_feature *const *features)
{
        const cJSON *fs = spec_obj(p, spec_get(k->obj, "spec"), "features", "spec.features"), *c;

        cJSON_ArrayForEach (c, fs) {
                const struct karmada_feature *const *f = features;
                char path[256];
                void *cfg = NULL;

                snprintf(path, sizeof(path), "spec.features.%s", c->string);
                while (*f && strcmp((*f)->key, c->string) != 0)
                        f++;
                if (cJSON_IsNull(c))
                        continue;
                if (!*f || k->n_features == KARMADA_MAX_FEATURES) {
                        struct strbuf known = {0};
                        for (f = features; *f; f++)
                                strbuf_printf(&known, "%s%s", known.len ? ", " : "", (*f)->key);
                        spec_problem(p, path, "not a feature of this operator (%s)",
                                     known.len ? known.buf : "none");
                        strbuf_free(&known);
                } else if (!cJSON_IsObject(c)) {
                        spec_problem(p, path, "must be an object");
                } else if ((*f)->parse(p, k, c, &cfg) < 0) {
                        return -ENOMEM;
                } else {
                        k->features[k->n_features].feature = *f;
                        k->features[k->n_features++].cfg = cfg;
                }
        }
        return 0;
}

const void *karmada_feature(const struct karmada *k, const char *key)
{
        for (unsigned i = 0; i < k->n_features; i++)
                if (strcmp(k->features[i].feature->key, key) == 0)
                        return k->features[i].cfg;
        return NULL;
}

static void parse_etcd(struct spec_reader *p, struct karmada *k, const cJSON *etcd)
{
        const cJSON *local = spec_obj(p, etcd, "local", "spec.components.etcd.local");
        const cJSON *ext = spec_obj(p, etcd, "external", "spec.components.etcd.external");
        const cJSON *vd;
        char want[KO_NAME_MAX + 16];
        int kinds = 0;

        if (local && ext) {
                spec_problem(p, "spec.components.etcd", "set local or external, not both");
                return;
        }
        if (ext) {
                k->etcd_external = true;
                k->etcd_endpoints = spec_list(p, ext, "endpoints",
                                              "spec.components.etcd.external.endpoints", true);
                if (!k->etcd_endpoints)
                        spec_problem(p, "spec.components.etcd.external.endpoints",
                                     "at least one endpoint is required");
                k->etcd_secret = spec_str(
                        p, spec_obj(p, ext, "secretRef", "spec.components.etcd.external.secretRef"),
                        "name", "spec.components.etcd.external.secretRef.name");
                names_join(k->prefix, "etcd-cert", want, sizeof(want));
                if (!k->etcd_secret || strcmp(k->etcd_secret, want) != 0)
                        spec_problem(p, "spec.components.etcd.external.secretRef.name",
                                     "must be \"%s\" (the Secret the components mount)", want);
                return;
        }
        parse_common(p, k, KO_ETCD, local, "spec.components.etcd.local");
        if (k->comp[KO_ETCD].replicas < 1)
                spec_problem(p, "spec.components.etcd.local.replicas",
                             "etcd needs at least one member");
        vd = spec_obj(p, local, "volumeData", "spec.components.etcd.local.volumeData");
        k->etcd_volume = KO_VOLUME_EMPTY_DIR;
        if ((k->etcd_volume_spec = spec_obj(p, vd, "volumeClaim",
                                            "spec.components.etcd.local.volumeData.volumeClaim"))) {
                k->etcd_volume = KO_VOLUME_CLAIM;
                kinds++;
                if (!spec_obj(p, k->etcd_volume_spec, "spec",
                              "spec.components.etcd.local.volumeData.volumeClaim.spec"))
                        spec_problem(p, "spec.components.etcd.local.volumeData.volumeClaim.spec",
                                     "required");
        }
        if (spec_obj(p, vd, "hostPath", "spec.components.etcd.local.volumeData.hostPath")) {
                k->etcd_volume = KO_VOLUME_HOST_PATH;
                k->etcd_volume_spec = spec_get(vd, "hostPath");
                kinds++;
                if (!spec_str(p, k->etcd_volume_spec, "path",
                              "spec.components.etcd.local.volumeData.hostPath.path"))
                        spec_problem(p, "spec.components.etcd.local.volumeData.hostPath.path",
                                     "required");
        }
        if (spec_obj(p, vd, "emptyDir", "spec.components.etcd.local.volumeData.emptyDir")) {
                k->etcd_volume = KO_VOLUME_EMPTY_DIR;
                k->etcd_volume_spec = spec_get(vd, "emptyDir");
                kinds++;
        }
        if (kinds > 1)
                spec_problem(p, "spec.components.etcd.local.volumeData",
                             "set one of volumeClaim, hostPath and emptyDir");
        k->etcd_server_sans = spec_list(p, local, "serverCertSANs",
                                        "spec.components.etcd.local.serverCertSANs", true);
        k->etcd_peer_sans = spec_list(p, local, "peerCertSANs",
                                      "spec.components.etcd.local.peerCertSANs", true);
}

/* spec.karmadaVersion: a KarmadaRelease, or any release of a minor this operator knows (the
 * default when absent) */
static void parse_version(struct spec_reader *p, struct karmada *k, const cJSON *spec)
{
        const char *v = spec_str(p, spec, "karmadaVersion", "spec.karmadaVersion");
        char msg[1024];

        if (release_resolve_named(v ? v : KO_DEFAULT_KARMADA_VERSION, &k->release, msg,
                                  sizeof(msg)) < 0) {
                spec_problem(p, "spec.karmadaVersion", "%s", msg);
                release_resolve(KO_DEFAULT_KARMADA_VERSION, &k->release, msg, sizeof(msg));
        }
        k->version = strdup(k->release.name);
}

/* ":<1..65535>" */
static bool port_valid(const char *s)
{
        char *rest = NULL;
        long port;

        if (s[0] != ':' || !s[1] || strspn(s + 1, "0123456789") != strlen(s + 1))
                return false;
        port = strtol(s + 1, &rest, 10);
        return !*rest && port >= 1 && port <= 65535;
}

/* spec.hostCluster.apiEndpoint: hostname, hostname:port, IP or IP:port ([IPv6]:port), its host
 * kept */
static void parse_endpoint(struct spec_reader *p, struct karmada *k, const char *v)
{
        const char *end, *host = v;
        size_t n;

        if (!v)
                return;
        if (v[0] == '[') { /* [IPv6] or [IPv6]:port */
                host = v + 1;
                end = strchr(host, ']');
        } else {
                end = strchr(v, ':');
                if (end && strchr(end + 1, ':')) /* a bare IPv6 address */
                        end = v + strlen(v);
        }
        if (!end)
                end = v + strlen(v);
        n = (size_t)(end - host);
        if (end[0] == ']')
                end++;
        if (n == 0 || n >= sizeof(k->host_endpoint) || strpbrk(v, " /@?#") ||
            (end[0] && !port_valid(end))) {
                spec_problem(p, "spec.hostCluster.apiEndpoint",
                             "\"%s\" is not a hostname, hostname:port, IP or IP:port", v);
                return;
        }
        memcpy(k->host_endpoint, host, n);
        k->host_endpoint[n] = '\0';
}

/* spec.hostCluster: the DNS domain, another cluster's kubeconfig Secret, its address */
static void parse_host(struct spec_reader *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *host, *net, *c;

        host = spec_obj(p, spec, "hostCluster", "spec.hostCluster");
        net = spec_obj(p, host, "networking", "spec.hostCluster.networking");
        k->dns_domain = spec_str(p, net, "dnsDomain", "spec.hostCluster.networking.dnsDomain");
        if (!k->dns_domain)
                k->dns_domain = "cluster.local";
        else if (!spec_dns_name(k->dns_domain, true, 253))
                spec_problem(p, "spec.hostCluster.networking.dnsDomain",
                             "\"%s\" is not a DNS domain", k->dns_domain);
        c = spec_obj(p, host, "secretRef", "spec.hostCluster.secretRef");
        k->host_secret_name = spec_str(p, c, "name", "spec.hostCluster.secretRef.name");
        k->host_secret_namespace =
                spec_str(p, c, "namespace", "spec.hostCluster.secretRef.namespace");
        if (!k->host_secret_namespace)
                k->host_secret_namespace = k->namespace;
        else if (k->namespace && strcmp(k->host_secret_namespace, k->namespace) != 0)
                spec_problem(p, "spec.hostCluster.secretRef.namespace",
                             "must be the Karmada's own namespace \"%s\", not \"%s\": the "
                             "kubeconfig of another namespace is not read",
                             k->namespace, k->host_secret_namespace);
        if (c && !k->host_secret_name)
                spec_problem(p, "spec.hostCluster.secretRef.name", "is required");
        parse_endpoint(p, k, spec_str(p, host, "apiEndpoint", "spec.hostCluster.apiEndpoint"));
}

/* spec.privateRegistry, spec.featureGates, spec.suspend, spec.features, spec.restore */
static void parse_settings(struct spec_reader *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *c;

        c = spec_obj(p, spec, "privateRegistry", "spec.privateRegistry");
        k->private_registry = spec_str(p, c, "registry", "spec.privateRegistry.registry");
        if (c && !k->private_registry)
                spec_problem(p, "spec.privateRegistry.registry", "required");
        else if (k->private_registry &&
                 (strpbrk(k->private_registry, " :@") || k->private_registry[0] == '/'))
                spec_problem(p, "spec.privateRegistry.registry",
                             "\"%s\" is not a registry (host[/path])", k->private_registry);

        k->feature_gates = spec_map(p, spec, "featureGates", "spec.featureGates", cJSON_IsBool,
                                    "true or false");
        k->suspend = spec_bool(p, spec, "suspend", "spec.suspend", false);
        c = spec_obj(p, spec, "restore", "spec.restore");
        k->restore_backup = spec_str(p, spec_obj(p, c, "backupRef", "spec.restore.backupRef"),
                                     "name", "spec.restore.backupRef.name");
        if (c && (!k->restore_backup || !k->restore_backup[0]))
                spec_problem(p, "spec.restore.backupRef.name", "required");
}

/* spec.crdTarball: where Karmada's CRDs come from, and how often */
static void parse_crd_tarball(struct spec_reader *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *crd, *http;
        const char *v;

        crd = spec_obj(p, spec, "crdTarball", "spec.crdTarball");
        http = spec_obj(p, crd, "httpSource", "spec.crdTarball.httpSource");
        v = spec_str(p, http, "url", "spec.crdTarball.httpSource.url");
        if (v && !spec_http_url(v))
                spec_problem(p, "spec.crdTarball.httpSource.url", "\"%s\" is not an http(s) URL",
                             v);
        if (v) {
                k->crd_url = strdup(v);
        } else if (k->release.crd_url[0]) { /* a KarmadaRelease's, with its digest */
                k->crd_url = strdup(k->release.crd_url);
                k->crd_sha256 = k->release.crd_sha256[0] ? k->release.crd_sha256 : NULL;
        } else {
                char buf[256];
                k->crd_url = strdup(release_crd_url(k->release.karmada, buf, sizeof(buf)));
        }
        k->crd_proxy = spec_str(p, spec_obj(p, http, "proxy", "spec.crdTarball.httpSource.proxy"),
                                "proxyURL", "spec.crdTarball.httpSource.proxy.proxyURL");
        if (k->crd_proxy && !spec_http_url(k->crd_proxy))
                spec_problem(p, "spec.crdTarball.httpSource.proxy.proxyURL",
                             "\"%s\" is not an http(s) URL", k->crd_proxy);
        v = spec_str(p, crd, "crdDownloadPolicy", "spec.crdTarball.crdDownloadPolicy");
        if (v && strcmp(v, "Always") != 0 && strcmp(v, "IfNotPresent") != 0)
                spec_problem(p, "spec.crdTarball.crdDownloadPolicy",
                             "must be Always or IfNotPresent, not \"%s\"", v);
        k->crd_always = v && strcmp(v, "Always") == 0;
}

/* The leaves' validity: leafCertValidityDays (365), or the annotation (shorter lives: renewal
 * tested in minutes, or asked for by a security policy) */
static void parse_leaf_validity(struct spec_reader *p, struct karmada *k, const cJSON *cert)
{
        const cJSON *a = spec_get(spec_get(spec_get(k->obj, "metadata"), "annotations"),
                                  KO_LEAF_VALIDITY_ANNOTATION);
        int days = 365;
        long ms = 0;

        spec_int(p, cert, "leafCertValidityDays", "spec.customCertificate.leafCertValidityDays", 1,
                 36500, &days);
        k->leaf_validity_s = (long long)days * 86400;
        if (!a)
                return;
        if (!cJSON_IsString(a) || duration_parse_ms(a->valuestring, &ms) < 0 ||
            ms / 1000 < KO_LEAF_VALIDITY_MIN_S || ms / 1000 > 36500LL * 86400)
                spec_problem(p, "metadata.annotations[" KO_LEAF_VALIDITY_ANNOTATION "]",
                             "not a duration from 2m to 36500 days, like \"24h\" or \"10m\"");
        else
                k->leaf_validity_s = ms / 1000;
}

/* spec.customCertificate: the user's CA, the leaves' validity */
static void parse_certificate(struct spec_reader *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *cert, *c;

        cert = spec_obj(p, spec, "customCertificate", "spec.customCertificate");
        c = spec_obj(p, cert, "apiServerCACert", "spec.customCertificate.apiServerCACert");
        k->ca_secret_name = spec_str(p, c, "name", "spec.customCertificate.apiServerCACert.name");
        if (c && !k->ca_secret_name)
                spec_problem(p, "spec.customCertificate.apiServerCACert.name", "required");
        k->ca_secret_namespace =
                spec_str(p, c, "namespace", "spec.customCertificate.apiServerCACert.namespace");
        if (!k->ca_secret_namespace)
                k->ca_secret_namespace = k->namespace;
        parse_leaf_validity(p, k, cert);
}

/* spec.components: etcd (required when components is given), then every other component */
static void parse_components(struct spec_reader *p, struct karmada *k, const cJSON *comps)
{
        const cJSON *c;
        char sub[256];

        c = spec_obj(p, comps, "etcd", "spec.components.etcd");
        if (comps && !c)
                spec_problem(p, "spec.components.etcd", "required");
        parse_etcd(p, k, c);
        for (int i = KO_APISERVER; i < KO_N_COMPONENTS; i++) {
                const struct names_component_info *info = &names_components[i];
                snprintf(sub, sizeof(sub), "spec.components.%s", info->spec_key);
                c = spec_obj(p, comps, info->spec_key, sub);
                if (info->optional && !c)
                        continue;
                parse_common(p, k, (enum names_component)i, c, sub);
        }
}

/* what only the Karmada API server has: its Service, volumes, sidecars, certificate SANs */
static void parse_apiserver(struct spec_reader *p, struct karmada *k, const cJSON *comps)
{
        const cJSON *c;

        c = spec_get(comps, "karmadaAPIServer");
        k->service_subnet =
                spec_str(p, c, "serviceSubnet", "spec.components.karmadaAPIServer.serviceSubnet");
        if (!k->service_subnet)
                k->service_subnet = "10.96.0.0/12";
        k->service_type =
                spec_str(p, c, "serviceType", "spec.components.karmadaAPIServer.serviceType");
        if (!k->service_type)
                k->service_type = "ClusterIP";
        if (strcmp(k->service_type, "ClusterIP") != 0 && strcmp(k->service_type, "NodePort") != 0 &&
            strcmp(k->service_type, "LoadBalancer") != 0)
                spec_problem(p, "spec.components.karmadaAPIServer.serviceType",
                             "must be ClusterIP, NodePort or LoadBalancer, not \"%s\"",
                             k->service_type);
        if (k->host_secret_name && strcmp(k->service_type, "ClusterIP") == 0)
                spec_problem(
                        p, "spec.components.karmadaAPIServer.serviceType",
                        "a control plane in another cluster (spec.hostCluster.secretRef) needs "
                        "NodePort or LoadBalancer");
        k->lb_class = spec_str(p, c, "loadBalancerClass",
                               "spec.components.karmadaAPIServer.loadBalancerClass");
        k->service_annotations = spec_map(p, c, "serviceAnnotations",
                                          "spec.components.karmadaAPIServer.serviceAnnotations",
                                          cJSON_IsString, "a string");
        k->extra_volumes = spec_list(p, c, "extraVolumes",
                                     "spec.components.karmadaAPIServer.extraVolumes", false);
        k->extra_volume_mounts =
                spec_list(p, c, "extraVolumeMounts",
                          "spec.components.karmadaAPIServer.extraVolumeMounts", false);
        k->sidecars = spec_list(p, c, "sidecarContainers",
                                "spec.components.karmadaAPIServer.sidecarContainers", false);
        k->apiserver_sans =
                spec_list(p, c, "certSANs", "spec.components.karmadaAPIServer.certSANs", true);
        k->aggregated_sans = spec_list(p, spec_get(comps, "karmadaAggregatedAPIServer"), "certSANs",
                                       "spec.components.karmadaAggregatedAPIServer.certSANs", true);
}

static void parse_spec(struct spec_reader *p, struct karmada *k, const cJSON *spec)
{
        const cJSON *comps;

        parse_version(p, k, spec);
        parse_host(p, k, spec);
        parse_settings(p, k, spec);
        parse_crd_tarball(p, k, spec);
        parse_certificate(p, k, spec);
        comps = spec_obj(p, spec, "components", "spec.components");
        parse_components(p, k, comps);
        parse_apiserver(p, k, comps);
}

/* metadata: the names, the generation, deletion, and the operator's annotations and labels */
/* encryption at rest: "on" or "off", and the rotation value */
static void parse_encryption(struct spec_reader *p, const cJSON *ann, struct karmada *k)
{
        const cJSON *on = spec_get(ann, KO_ENCRYPTION_AT_REST_ANNOTATION);
        const cJSON *rot = spec_get(ann, KO_ROTATE_ENCRYPTION_KEY_ANNOTATION);

        if (on && (!cJSON_IsString(on) ||
                   (strcmp(on->valuestring, "on") != 0 && strcmp(on->valuestring, "off") != 0)))
                spec_problem(p, "metadata.annotations[" KO_ENCRYPTION_AT_REST_ANNOTATION "]",
                             "\"on\" or \"off\"");
        else if (on)
                k->encryption =
                        strcmp(on->valuestring, "on") == 0 ? KO_ENCRYPTION_ON : KO_ENCRYPTION_OFF;
        if (rot && (!cJSON_IsString(rot) || !rot->valuestring[0] || strlen(rot->valuestring) > 63))
                spec_problem(p, "metadata.annotations[" KO_ROTATE_ENCRYPTION_KEY_ANNOTATION "]",
                             "a string of 1 to 63 characters");
        else if (rot)
                k->rotate_encryption_key = rot->valuestring;
}

/* KO_REPLICAS_EXTERNAL_ANNOTATION: each name a component's, etcd excluded (its replicas are
 * its members, changed one by one by the operator) */
static void parse_external_replicas(struct spec_reader *p, struct karmada *k)
{
        const cJSON *a = spec_get(spec_get(spec_get(k->obj, "metadata"), "annotations"),
                                  KO_REPLICAS_EXTERNAL_ANNOTATION);
        const char *path = "metadata.annotations[" KO_REPLICAS_EXTERNAL_ANNOTATION "]";
        char name[64];

        if (!a)
                return;
        if (!cJSON_IsString(a)) {
                spec_problem(p, path, "a comma-separated list of component names");
                return;
        }
        for (const char *s = a->valuestring; *s;) {
                size_t n = strcspn(s, ","), b = 0;
                int c = 0;
                while (b < n && s[b] == ' ')
                        b++;
                snprintf(name, sizeof(name), "%.*s", (int)(n - b < 63 ? n - b : 63), s + b);
                name[strcspn(name, " ")] = '\0';
                while (c < KO_N_COMPONENTS && strcmp(names_components[c].app_name, name) != 0)
                        c++;
                if (c == KO_ETCD)
                        spec_problem(p, path,
                                     "etcd's replicas are its members: they change with "
                                     "spec.components.etcd.local.replicas");
                else if (c == KO_N_COMPONENTS)
                        spec_problem(p, path,
                                     "\"%s\" is not a component (karmada-apiserver, "
                                     "karmada-webhook, karmada-scheduler, ...)",
                                     name);
                else
                        k->comp[c].replicas_external = true;
                s += n + (s[n] == ',');
        }
}

static void parse_metadata(struct spec_reader *p, struct karmada *k)
{
        const cJSON *meta, *labels, *ann;

        meta = spec_get(k->obj, "metadata");
        k->name = spec_str(p, meta, "name", "metadata.name");
        k->namespace = spec_str(p, meta, "namespace", "metadata.namespace");
        k->uid = spec_str(p, meta, "uid", "metadata.uid");
        if (cJSON_IsNumber(spec_get(meta, "generation")))
                k->generation = (long long)spec_get(meta, "generation")->valuedouble;
        k->deleting = spec_get(meta, "deletionTimestamp") != NULL;
        ann = spec_get(meta, "annotations");
        k->allow_downgrade =
                cJSON_IsString(spec_get(ann, KO_ALLOW_DOWNGRADE_ANNOTATION)) &&
                strcmp(spec_get(ann, KO_ALLOW_DOWNGRADE_ANNOTATION)->valuestring, "true") == 0;
        k->step_timeout_ms = KO_STEP_TIMEOUT_DEFAULT_MS;
        if (spec_get(ann, KO_STEP_TIMEOUT_ANNOTATION) &&
            (!cJSON_IsString(spec_get(ann, KO_STEP_TIMEOUT_ANNOTATION)) ||
             duration_parse_ms(spec_get(ann, KO_STEP_TIMEOUT_ANNOTATION)->valuestring,
                               &k->step_timeout_ms) < 0 ||
             k->step_timeout_ms < 1000))
                spec_problem(p, "metadata.annotations[" KO_STEP_TIMEOUT_ANNOTATION "]",
                             "not a duration of at least 1s, like \"90s\" or \"10m\"");
        if (spec_get(ann, KO_ROTATE_CA_ANNOTATION) &&
            (!cJSON_IsString(spec_get(ann, KO_ROTATE_CA_ANNOTATION)) ||
             strlen(spec_get(ann, KO_ROTATE_CA_ANNOTATION)->valuestring) > 63))
                spec_problem(p, "metadata.annotations[" KO_ROTATE_CA_ANNOTATION "]",
                             "a string of at most 63 characters");
        else if (spec_get(ann, KO_ROTATE_CA_ANNOTATION))
                k->rotate_ca = spec_get(ann, KO_ROTATE_CA_ANNOTATION)->valuestring;
        parse_encryption(p, ann, k);
        labels = spec_get(meta, "labels");
        k->cascade = !cJSON_IsString(spec_get(labels, KO_NO_CASCADE_LABEL)) ||
                     strcmp(spec_get(labels, KO_NO_CASCADE_LABEL)->valuestring, "true") != 0;
        if (!k->name || !k->namespace) {
                spec_problem(p, "metadata", "name and namespace are required");
                k->name = k->name ? k->name : "";
                k->namespace = k->namespace ? k->namespace : "";
        } else if (!spec_dns_name(k->name, false, 63) ||
                   names_prefix(k->name, k->prefix, sizeof(k->prefix)) < 0 ||
                   strlen(k->prefix) + strlen("-aggregated-apiserver") > 63) {
                spec_problem(
                        p, "metadata.name",
                        "\"%s\" is too long or not a DNS label: the names made from it must fit 63 "
                        "characters",
                        k->name);
        }
}

int karmada_parse(const cJSON *in, const struct karmada_feature *const *features,
                  struct karmada **ret, struct karmada_spec_error *err)
{
        struct spec_reader p = {0};
        struct karmada *k;
        const cJSON *spec;
        int r = 0;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->obj = cJSON_Duplicate(in, true);
        if (!k->obj) {
                free(k);
                return -ENOMEM;
        }
        parse_metadata(&p, k);
        spec = spec_obj(&p, k->obj, "spec", "spec");
        parse_spec(&p, k, spec);
        parse_external_replicas(&p, k);
        for (int i = 0; i < KO_N_COMPONENTS; i++)
                if (k->comp[i].enabled && (!k->comp[i].image || !k->comp[i].image_tag))
                        r = -ENOMEM;
        if (!k->version || !k->crd_url)
                r = -ENOMEM;
        if (r == 0 && features)
                r = parse_features(&p, k, features);
        if (spec_reader_finish(&p, err) < 0 && r == 0)
                r = -EINVAL;
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
        for (unsigned i = 0; i < k->n_features; i++)
                k->features[i].feature->free(k->features[i].cfg);
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
