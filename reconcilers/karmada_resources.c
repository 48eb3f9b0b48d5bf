/* SPDX-License-Identifier: Apache-2.0 */
/* Karmada's own resources in its API server: the CRDs of the instance's Karmada release (from
 * spec.crdTarball, by default the release's crds.tar.gz) with the conversion webhook of
 * (cluster)resourcebindings pointed at the instance's webhook, and the ClusterRoles
 * karmada-view, karmada-edit and cluster-proxy-admin.
 *
 * The tarball is downloaded once per URL into the cache directory (again on every resync with
 * crdDownloadPolicy Always), extracted safely next to it, and its CRDs applied one file at a
 * time (they are large: never all in memory). A memo of the tarball's digest, the CA and the
 * webhook address makes a reconcile of an unchanged instance send nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"
#include "karmada/crd_tarball.h"
#include "karmada/sync.h"
#include "runtime/log.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "util/yaml.h"

#define MAX_CRD_FILE (8u << 20)

/* ---- RBAC (upstream's roles) ---- */

struct rule {
        const char *group;
        const char *resources; /* comma-separated */
};

static const struct rule karmada_rules[] = {
        {"autoscaling.karmada.io",
         "cronfederatedhpas,cronfederatedhpas/status,federatedhpas,federatedhpas/status"},
        {"multicluster.x-k8s.io",
         "serviceexports,serviceexports/status,serviceimports,serviceimports/status"},
        {"networking.karmada.io", "multiclusteringresses,multiclusteringresses/status,"
                                  "multiclusterservices,multiclusterservices/status"},
        {"policy.karmada.io", "overridepolicies,propagationpolicies"},
        {"work.karmada.io", "resourcebindings,resourcebindings/status,works,works/status"},
};

/* karmada-view / karmada-edit: aggregated into view / edit (RBAC defaults' auto-update) */
static cJSON *aggregated_role(const struct karmada *k, const char *name, const char *aggregate_to,
                              const char *verbs)
{
        cJSON *o = manifest_karmada_object(k, &kube_clusterroles, name, NULL, "karmada"), *meta,
              *rules;
        char label[128];

        meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
                                "rbac.authorization.kubernetes.io/autoupdate", "true");
        snprintf(label, sizeof(label), "rbac.authorization.k8s.io/aggregate-to-%s", aggregate_to);
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(meta, "labels"), label, "true");
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(meta, "labels"),
                                "kubernetes.io/bootstrapping", "rbac-defaults");
        rules = cJSON_AddArrayToObject(o, "rules");
        for (size_t i = 0; i < ELEMENTSOF(karmada_rules); i++) {
                cJSON *r = cJSON_CreateObject();
                cJSON_AddItemToObject(r, "apiGroups", common_csv_array(karmada_rules[i].group));
                cJSON_AddItemToObject(r, "resources", common_csv_array(karmada_rules[i].resources));
                cJSON_AddItemToObject(r, "verbs", common_csv_array(verbs));
                cJSON_AddItemToArray(rules, r);
        }
        return o;
}

static int resources_contribute(const struct karmada *k, struct desired *d)
{
        cJSON *o, *rule, *subject, *ref;
        int r;

        r = desired_add_karmada(d, &kube_clusterroles,
                                aggregated_role(k, "karmada-view", "view", "get,list,watch"));
        if (r >= 0)
                r = desired_add_karmada(
                        d, &kube_clusterroles,
                        aggregated_role(k, "karmada-edit", "edit",
                                        "create,delete,deletecollection,patch,update"));
        if (r < 0)
                return r;
        /* proxying to member clusters, for system:admin (the admin kubeconfig's user) */
        o = manifest_karmada_object(k, &kube_clusterroles, "cluster-proxy-admin", NULL, "karmada");
        rule = cJSON_CreateObject();
        cJSON_AddItemToObject(rule, "apiGroups", common_csv_array("cluster.karmada.io"));
        cJSON_AddItemToObject(rule, "resources", common_csv_array("clusters/proxy"));
        cJSON_AddItemToObject(rule, "verbs", common_csv_array("*"));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "rules"), rule);
        r = desired_add_karmada(d, &kube_clusterroles, o);
        if (r < 0)
                return r;
        o = manifest_karmada_object(k, &kube_clusterrolebindings, "cluster-proxy-admin", NULL,
                                    "karmada");
        ref = cJSON_AddObjectToObject(o, "roleRef");
        cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
        cJSON_AddStringToObject(ref, "kind", "ClusterRole");
        cJSON_AddStringToObject(ref, "name", "cluster-proxy-admin");
        subject = cJSON_CreateObject();
        cJSON_AddStringToObject(subject, "kind", "User");
        cJSON_AddStringToObject(subject, "name", "system:admin");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "subjects"), subject);
        return desired_add_karmada(d, &kube_clusterrolebindings, o);
}

/* Every *.yaml below dir (sorted, recursively) into *files (one string each, '\n'-joined). */
static int list_yaml(const char *dir, struct strbuf *files)
{
        struct dirent **ents = NULL;
        int n = scandir(dir, &ents, NULL, alphasort), r = 0;

        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                const char *name = ents[i]->d_name;
                size_t len = strlen(name);
                char path[4096];
                struct stat st;

                if (r == 0 && name[0] != '.' &&
                    snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path) &&
                    lstat(path, &st) == 0) {
                        if (S_ISDIR(st.st_mode))
                                r = list_yaml(path, files);
                        else if (S_ISREG(st.st_mode) && len > 5 &&
                                 strcmp(name + len - 5, ".yaml") == 0)
                                strbuf_printf(files, "%s\n", path);
                }
                free(ents[i]);
        }
        free(ents);
        return r;
}

static void replace_all(struct strbuf *out, const char *text, const char *const *from,
                        const char *const *to)
{
        for (const char *p = text; *p;) {
                size_t i;
                for (i = 0; from[i]; i++)
                        if (strncmp(p, from[i], strlen(from[i])) == 0)
                                break;
                if (from[i]) {
                        strbuf_append(out, to[i], strlen(to[i]));
                        p += strlen(from[i]);
                } else {
                        strbuf_append(out, p, 1);
                        p++;
                }
        }
}

/* RFC 7386: merge patch into target. */
static void merge_patch(cJSON *target, const cJSON *patch)
{
        const cJSON *p;

        cJSON_ArrayForEach (p, patch) {
                cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
                if (cJSON_IsNull(p)) {
                        cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
                } else if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
                        merge_patch(t, p);
                } else {
                        cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
                        cJSON_AddItemToObject(target, p->string, cJSON_Duplicate(p, true));
                }
        }
}

static cJSON *load_yaml(const char *path, char *err, size_t errlen)
{
        char *text = NULL;
        size_t len;
        cJSON *o = NULL;

        if (fileio_read(path, MAX_CRD_FILE, &text, &len) < 0) {
                snprintf(err, errlen, "%s: cannot read", path);
                return NULL;
        }
        if (yaml_parse_one(text, len, path, NULL, &o, err, errlen) < 0)
                o = NULL;
        free(text);
        return o;
}

/* The patches (conversion webhooks), by CRD name; placeholders filled. */
static cJSON *load_patches(const struct reconcile_ctx *ctx, const char *dir, const char *ca,
                           char *err, size_t errlen)
{
        char webhook[KO_NAME_MAX + 32];
        const char *const from[] = {"{{name}}", "{{namespace}}", "{{caBundle}}", NULL};
        const char *const to[] = {common_comp_name(ctx->k, KO_WEBHOOK, webhook, sizeof(webhook)),
                                  ctx->k->namespace, ca, NULL};
        struct strbuf files = {0};
        cJSON *patches = cJSON_CreateObject();
        int r;

        r = list_yaml(dir, &files);
        if (r < 0 && r != -ENOENT) {
                snprintf(err, errlen, "%s: %s", dir, strerror(-r));
                goto fail;
        }
        for (char *f = files.buf, *nl; f && *f; f = nl + 1) {
                struct strbuf filled = {0};
                char *text = NULL, perr[256];
                size_t len;
                cJSON *p = NULL;
                const cJSON *name;

                nl = strchr(f, '\n');
                *nl = '\0';
                if (fileio_read(f, MAX_CRD_FILE, &text, &len) < 0) {
                        snprintf(err, errlen, "%s: cannot read", f);
                        goto fail;
                }
                replace_all(&filled, text, from, to);
                free(text);
                r = yaml_parse_one(filled.buf ? filled.buf : "", filled.len, f, NULL, &p, perr,
                                   sizeof(perr));
                strbuf_free(&filled);
                name = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(p, "metadata"), "name");
                if (r < 0 || !cJSON_IsString(name)) {
                        snprintf(err, errlen, "%s: %s", f, r < 0 ? perr : "no metadata.name");
                        cJSON_Delete(p);
                        goto fail;
                }
                cJSON_AddItemToObject(patches, name->valuestring, p);
        }
        strbuf_free(&files);
        return patches;
fail:
        strbuf_free(&files);
        cJSON_Delete(patches);
        return NULL;
}

static int apply_crds(const struct reconcile_ctx *ctx, const struct crd_tarball *t, const char *ca,
                      int *ret_written, char *err, size_t errlen)
{
        char bases[4200], patches_dir[4200];
        struct strbuf files = {0};
        cJSON *patches;
        int r;

        snprintf(bases, sizeof(bases), "%s/crds/bases", t->dir);
        snprintf(patches_dir, sizeof(patches_dir), "%s/crds/patches", t->dir);
        patches = load_patches(ctx, patches_dir, ca, err, errlen);
        if (!patches)
                return -EBADMSG;
        r = list_yaml(bases, &files);
        if (r < 0)
                snprintf(err, errlen, "%s: %s", bases, strerror(-r));
        for (char *f = files.buf, *nl; r >= 0 && f && *f; f = nl + 1) {
                const cJSON *name, *patch;
                struct kube_status st;
                cJSON *crd;

                nl = strchr(f, '\n');
                *nl = '\0';
                crd = load_yaml(f, err, errlen);
                name = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(crd, "metadata"), "name");
                if (!cJSON_IsString(name) ||
                    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(crd, "kind")) ||
                    strcmp(cJSON_GetObjectItemCaseSensitive(crd, "kind")->valuestring,
                           "CustomResourceDefinition") != 0) {
                        if (crd)
                                snprintf(err, errlen, "%s: not a CustomResourceDefinition", f);
                        cJSON_Delete(crd);
                        r = -EBADMSG;
                        break;
                }
                patch = cJSON_GetObjectItemCaseSensitive(patches, name->valuestring);
                if (patch)
                        merge_patch(crd, patch);
                sync_stamp(crd);
                r = sync_apply_if_changed(ctx->karmada, &kube_crds, NULL, crd, NULL, &st);
                if (r < 0)
                        snprintf(err, errlen, "CustomResourceDefinition %s: %s", name->valuestring,
                                 st.message);
                else
                        *ret_written += r;
                cJSON_Delete(crd);
        }
        strbuf_free(&files);
        cJSON_Delete(patches);
        return r < 0 ? r : 0;
}

static int resources_reconcile(struct reconcile_ctx *ctx, struct step_result *ret)
{
        char err[1024] = "", ca_sum[SHA256_HEX_LEN], memo[sizeof(ctx->memo->value)];
        long long now = time_mono_ms();
        bool fresh = ctx->memo->at_ms && now - ctx->memo->at_ms < ctx->resync_ms;
        const struct karmada *k = ctx->k;
        struct crd_tarball t;
        char *ca;
        int r, written = 0;

        ca = common_ca_bundle(ctx->d);
        if (!ca) {
                ret->ready = false;
                snprintf(ret->reason, sizeof(ret->reason), "Waiting");
                snprintf(ret->message, sizeof(ret->message), "waiting for the instance's CA");
                return 0;
        }
        sha256_hex(ca, strlen(ca), ca_sum);
        /* the tarball is fetched again only when the memo expired and the policy says so */
        r = ctx->cache_dir ? crd_tarball_get(ctx->cache_dir,
                                             &(struct crd_tarball_source){
                                                     .url = k->crd_url,
                                                     .proxy = k->crd_proxy,
                                                     .sha256 = k->crd_sha256,
                                                     .download = k->crd_always && !fresh,
                                             },
                                             &t, err, sizeof(err))
                           : -EINVAL;
        if (!ctx->cache_dir)
                snprintf(err, sizeof(err), "no cache directory for CRD tarballs");
        if (r == 0) {
                snprintf(memo, sizeof(memo), "%.32s %.32s %s", t.sum, ca_sum, ctx->k->namespace);
                if (!(fresh && strcmp(memo, ctx->memo->value) == 0))
                        r = apply_crds(ctx, &t, ca, &written, err, sizeof(err));
        }
        free(ca);
        if (r < 0) {
                ret->ready = false;
                snprintf(ret->reason, sizeof(ret->reason), "%s",
                         r == -EBADMSG ? "CRDDigestMismatch" : "CRDsFailed");
                /* the field to fix: the KarmadaRelease's, or the instance's own */
                if (k->crd_sha256 || (k->release.catalog && k->release.crd_url[0] &&
                                      strcmp(k->crd_url, k->release.crd_url) == 0))
                        snprintf(ret->message, sizeof(ret->message),
                                 "KarmadaRelease %s spec.crdTarball: %s", k->release.name, err);
                else
                        snprintf(ret->message, sizeof(ret->message), "spec.crdTarball: %s", err);
                ctx->memo->at_ms = 0;
                return 0;
        }
        if (!(fresh && strcmp(memo, ctx->memo->value) == 0)) {
                snprintf(ctx->memo->value, sizeof(ctx->memo->value), "%s", memo);
                ctx->memo->at_ms = now;
        }
        ret->ready = true;
        snprintf(ret->reason, sizeof(ret->reason), "Ready");
        snprintf(ret->message, sizeof(ret->message), "the CRDs of %s are applied", ctx->k->crd_url);
        if (written) {
                char n[16];
                snprintf(n, sizeof(n), "%d", written);
                log_info("CRDs applied", "karmada", ctx->k->name, "namespace", ctx->k->namespace,
                         "changed", n);
        }
        return 0;
}

const struct reconciler reconciler_karmada_resources = {
        .name = "karmada-resources",
        .after = (const char *const[]){"karmada-aggregated-apiserver", NULL},
        .condition = "KarmadaResourcesReady",
        .karmada_kinds = (const struct kube_resource *const[]){&kube_clusterroles,
                                                               &kube_clusterrolebindings, NULL},
        .contribute = resources_contribute,
        .reconcile = resources_reconcile,
};
