/* SPDX-License-Identifier: Apache-2.0 */
/* ko-bundlegen SRC_DIR OUT_DIR VERSION [--replaces V] SAMPLE... -- CRD...
 *
 * Writes the OLM bundle and the plain manifests from their single sources:
 *   SRC_DIR/csv.yaml         the hand-written part of the ClusterServiceVersion (it lists every
 *                            owned CRD by name, with its display name and descriptors)
 *   SRC_DIR/rbac.yaml        the operator's ClusterRoles (namespaced and cluster-scoped
 *                            rules) and leader-election Role
 *   SRC_DIR/deployment.yaml  the operator's Deployment
 *   SAMPLE..., CRD...        the files of crds/samples/ (alm-examples) and of crds/
 * into OUT_DIR/manifests/ (CSV and CRDs), OUT_DIR/metadata/annotations.yaml,
 * OUT_DIR/bundle.Dockerfile, OUT_DIR/plain/karmada-operator.yaml (namespace
 * karmada-operator-system; ServiceAccount, RBAC, Deployment) with the CRDs beside it, and
 * OUT_DIR/namespaced/karmada-operator.yaml (the same, watching karmada-system only).
 * relatedImages lists every image the operator deploys by default (its release table). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "karmada/names.h"
#include "karmada/spec.h"
#include "util/fileio.h"
#include "util/yaml.h"

#define PACKAGE   "karmada-operator"
#define CHANNEL   "stable"
#define NAMESPACE "karmada-operator-system"
/* the cluster-scoped part of its rules (the ClusterRole PACKAGE holds the namespaced part) */
#define CLUSTER_ROLE PACKAGE "-cluster"
/* the namespace bundle/namespaced/ watches */
#define WATCHED "karmada-system"

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "ko-bundlegen: %s%s\n", what, arg);
        exit(1);
}

static cJSON *load(const char *path, bool stream)
{
        char *text = NULL, err[512];
        size_t len;
        cJSON *doc = NULL;

        if (fileio_read(path, 16u << 20, &text, &len) < 0)
                die("cannot read ", path);
        if ((stream ? yaml_parse_stream(text, len, path, NULL, &doc, err, sizeof(err))
                    : yaml_parse_one(text, len, path, NULL, &doc, err, sizeof(err))) < 0)
                die(err, "");
        free(text);
        return doc;
}

static void write_text(const char *dir, const char *name, const char *text)
{
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                die("cannot write ", path);
}

static void write_yaml(const char *dir, const char *name, const char *header,
                       const cJSON *const *docs, size_t n)
{
        char *text = NULL, *all = NULL;
        const char *body;

        if (yaml_emit(docs, n, &text) < 0)
                die("cannot emit ", name);
        /* no empty first document: some readers take only the first */
        body = strncmp(text, "---\n", 4) == 0 ? text + 4 : text;
        if (asprintf(&all, "%s%s", header, body) < 0)
                die("out of memory", "");
        write_text(dir, name, all);
        free(all);
        free(text);
}

static cJSON *get(const cJSON *o, const char *k)
{
        return cJSON_GetObjectItemCaseSensitive(o, k);
}

static cJSON *child(cJSON *o, const char *k)
{
        cJSON *c = get(o, k);

        return c ? c : cJSON_AddObjectToObject(o, k);
}

static void set(cJSON *o, const char *k, cJSON *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddItemToObject(o, k, v);
}

/* Every image the operator deploys by default: each component of the default release (the
 * optional ones too, for mirroring). */
static cJSON *related_images(const char *operator_image)
{
        cJSON *list = cJSON_CreateArray(), *spec;
        struct karmada_spec_error err;
        struct karmada *k = NULL;

        spec = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"namespace\":\"y\"},\"spec\":{"
                           "\"components\":{\"etcd\":{\"local\":{}},\"karmadaDescheduler\":{},"
                           "\"karmadaSearch\":{}}}}");
        if (!spec || karmada_parse(spec, NULL, &k, &err) < 0)
                die("cannot parse the default spec: ", err.message);
        for (int i = 0; i < KO_N_COMPONENTS; i++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "name", names_components[i].app_name);
                cJSON_AddStringToObject(e, "image", k->comp[i].image);
                cJSON_AddItemToArray(list, e);
        }
        {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "name", PACKAGE);
                cJSON_AddStringToObject(e, "image", operator_image);
                cJSON_AddItemToArray(list, e);
        }
        karmada_free(k);
        cJSON_Delete(spec);
        return list;
}

static const cJSON *find_kind(const cJSON *docs, const char *kind)
{
        const cJSON *d;

        cJSON_ArrayForEach (d, docs) {
                const cJSON *k = get(d, "kind");
                if (cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0)
                        return d;
        }
        die("no document of kind ", kind);
        return NULL;
}

/* The document of kind and metadata.name */
static const cJSON *find_named(const cJSON *docs, const char *kind, const char *name)
{
        const cJSON *d;

        cJSON_ArrayForEach (d, docs) {
                const char *k = cJSON_GetStringValue(get(d, "kind"));
                const char *n = cJSON_GetStringValue(get(get(d, "metadata"), "name"));
                if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0)
                        return d;
        }
        die("no document in rbac.yaml named ", name);
        return NULL;
}

/* The CSV's permissions: what lives in namespaces (the ClusterRole karmada-operator) and the
 * leader election's Role. OLM grants them in the target namespaces of the OperatorGroup (and
 * its own), or cluster-wide when it targets all namespaces. */
static cJSON *namespaced_rules(const cJSON *rbac)
{
        cJSON *all = cJSON_Duplicate(get(find_named(rbac, "ClusterRole", PACKAGE), "rules"), true);
        const cJSON *r;

        cJSON_ArrayForEach (r, get(find_kind(rbac, "Role"), "rules"))
                cJSON_AddItemToArray(all, cJSON_Duplicate(r, true));
        return all;
}

/* Least privilege: no rule of the operator may use a wildcard. */
static void no_wildcards(const cJSON *rbac)
{
        const cJSON *doc, *rule, *list, *v;

        cJSON_ArrayForEach (doc, rbac) {
                cJSON_ArrayForEach (rule, get(doc, "rules")) {
                        cJSON_ArrayForEach (list, rule) {
                                cJSON_ArrayForEach (v, list) {
                                        if (cJSON_IsString(v) && strchr(v->valuestring, '*'))
                                                die("a wildcard in the RBAC rules: ", list->string);
                                }
                        }
                }
        }
}

static const char *container_image(const cJSON *deployment)
{
        const cJSON *c = cJSON_GetArrayItem(
                get(get(get(get(deployment, "spec"), "template"), "spec"), "containers"), 0);
        const cJSON *img = get(c, "image");

        if (!cJSON_IsString(img))
                die("the Deployment has no container image", "");
        return img->valuestring;
}

static void mkdirs(const char *out, const char *sub)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", out, sub);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                die("cannot create ", path);
}

static cJSON *with_meta(const cJSON *src, const char *ns)
{
        cJSON *o = cJSON_Duplicate(src, true);
        cJSON *meta = child(o, "metadata");

        if (ns)
                set(meta, "namespace", cJSON_CreateString(ns));
        return o;
}

/* A binding of role (of role_kind) to the operator's ServiceAccount; a RoleBinding lives in
 * `in` (NULL: the operator's namespace) */
static cJSON *binding(const char *kind, const char *name, const char *role_kind, const char *in)
{
        cJSON *b = cJSON_CreateObject(), *meta, *ref, *subj;

        cJSON_AddStringToObject(b, "apiVersion", "rbac.authorization.k8s.io/v1");
        cJSON_AddStringToObject(b, "kind", kind);
        meta = cJSON_AddObjectToObject(b, "metadata");
        cJSON_AddStringToObject(meta, "name", name);
        if (strcmp(kind, "RoleBinding") == 0)
                cJSON_AddStringToObject(meta, "namespace", in ? in : NAMESPACE);
        ref = cJSON_AddObjectToObject(b, "roleRef");
        cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
        cJSON_AddStringToObject(ref, "kind", role_kind);
        cJSON_AddStringToObject(ref, "name", name);
        subj = cJSON_CreateObject();
        cJSON_AddStringToObject(subj, "kind", "ServiceAccount");
        cJSON_AddStringToObject(subj, "name", PACKAGE);
        cJSON_AddStringToObject(subj, "namespace", NAMESPACE);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "subjects"), subj);
        return b;
}

/* dir/<basename of path>: the same bytes */
static void copy_file(const char *dir, const char *path)
{
        const char *base = strrchr(path, '/');
        char *text = NULL;
        size_t len;

        if (fileio_read(path, 16u << 20, &text, &len) < 0)
                die("cannot read ", path);
        write_text(dir, base ? base + 1 : path, text);
        free(text);
}

/* The Deployment, watching `watched` (NULL: every namespace) */
static cJSON *operator_deployment(const cJSON *deployment, const char *watched)
{
        cJSON *d = with_meta(deployment, NAMESPACE);
        char arg[128];

        if (watched) {
                snprintf(arg, sizeof(arg), "--watch-namespace=%s", watched);
                cJSON_AddItemToArray(
                        get(cJSON_GetArrayItem(
                                    get(get(get(get(d, "spec"), "template"), "spec"), "containers"),
                                    0),
                            "args"),
                        cJSON_CreateString(arg));
        }
        return d;
}

/* The operator's manifest: its namespace and ServiceAccount, its RBAC, its Deployment. With
 * watched, it watches that namespace only and its namespaced ClusterRole is bound there only. */
static void operator_manifest(const char *dir, const cJSON *rbac, const cJSON *deployment,
                              const char *watched, const char *header)
{
        cJSON *docs[11];
        int n = 0;

        docs[n++] = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
                                "\"name\":\"" NAMESPACE "\"}}");
        if (watched)
                docs[n++] = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                                        "\"metadata\":{\"name\":\"" WATCHED "\"}}");
        docs[n++] = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":"
                                "{\"name\":\"" PACKAGE "\",\"namespace\":\"" NAMESPACE "\"}}");
        docs[n++] = with_meta(find_named(rbac, "ClusterRole", PACKAGE), NULL);
        docs[n++] = watched ? binding("RoleBinding", PACKAGE, "ClusterRole", watched)
                            : binding("ClusterRoleBinding", PACKAGE, "ClusterRole", NULL);
        docs[n++] = with_meta(find_named(rbac, "ClusterRole", CLUSTER_ROLE), NULL);
        docs[n++] = binding("ClusterRoleBinding", CLUSTER_ROLE, "ClusterRole", NULL);
        docs[n++] = with_meta(find_kind(rbac, "Role"), NAMESPACE);
        docs[n++] =
                binding("RoleBinding",
                        cJSON_GetStringValue(get(get(find_kind(rbac, "Role"), "metadata"), "name")),
                        "Role", NULL);
        docs[n++] = operator_deployment(deployment, watched);
        write_yaml(dir, PACKAGE ".yaml", header, (const cJSON *const *)docs, (size_t)n);
        for (int i = 0; i < n; i++)
                cJSON_Delete(docs[i]);
}

static void plain(const char *out, const cJSON *rbac, const cJSON *deployment, char *const *crds,
                  int n_crds)
{
        char dir[4096];

        mkdirs(out, "plain");
        snprintf(dir, sizeof(dir), "%s/plain", out);
        operator_manifest(dir, rbac, deployment, NULL,
                          "# Generated by hack/gen-bundle.sh from bundle/src/; do not edit.\n"
                          "# kubectl apply --server-side -f bundle/plain/\n");
        for (int i = 0; i < n_crds; i++)
                copy_file(dir, crds[i]);
        mkdirs(out, "namespaced");
        snprintf(dir, sizeof(dir), "%s/namespaced", out);
        operator_manifest(
                dir, rbac, deployment, WATCHED,
                "# Generated by hack/gen-bundle.sh from bundle/src/; do not edit.\n"
                "# The operator of one namespace (" WATCHED "): it reads and writes Secrets and\n"
                "# the rest only there (a RoleBinding of its ClusterRole), cluster-wide only the\n"
                "# release catalog and the nodes. For another namespace, change both the\n"
                "# RoleBinding's namespace and --watch-namespace.\n"
                "# kubectl apply --server-side -f bundle/plain/operator.karmada.io_karmadas.yaml "
                "\\\n"
                "#   ... (the CRDs of bundle/plain/) -f bundle/namespaced/\n");
}

/* Fill each owned entry of the CSV from its CRD: every CRD listed, nothing else. */
static void owned_crds(cJSON *spec, char *const *crds, int n_crds)
{
        cJSON *owned = get(get(spec, "customresourcedefinitions"), "owned"), *e;
        int listed = 0;

        cJSON_ArrayForEach (e, owned) {
                const char *name = cJSON_GetStringValue(get(e, "name"));
                cJSON *crd = NULL;
                for (int i = 0; i < n_crds && !crd; i++) {
                        cJSON *c = load(crds[i], false);
                        const char *n = cJSON_GetStringValue(get(get(c, "metadata"), "name"));
                        if (name && n && strcmp(n, name) == 0)
                                crd = c;
                        else
                                cJSON_Delete(c);
                }
                if (!crd)
                        die("csv.yaml lists an owned CRD that is not among the CRDs: ",
                            name ? name : "(no name)");
                set(e, "kind", cJSON_Duplicate(get(get(get(crd, "spec"), "names"), "kind"), true));
                set(e, "version",
                    cJSON_Duplicate(
                            get(cJSON_GetArrayItem(get(get(crd, "spec"), "versions"), 0), "name"),
                            true));
                cJSON_Delete(crd);
                listed++;
        }
        if (listed != n_crds)
                die("csv.yaml does not list every CRD as owned", "");
}

int main(int argc, char **argv)
{
        const char *src, *out, *version, *replaces = NULL;
        cJSON *csv, *rbac, *deployment, *samples, *meta, *ann, *spec, *install, *perm;
        char path[4096], name[256], *examples;
        char **sample_paths, **crds;
        int n_samples = 0, n_crds = 0, i = 4;
        const char *image;

        if (argc < 7) {
                fprintf(stderr, "usage: ko-bundlegen SRC_DIR OUT_DIR VERSION [--replaces V] "
                                "SAMPLE... -- CRD...\n");
                return 2;
        }
        src = argv[1], out = argv[2], version = argv[3];
        if (strcmp(argv[i], "--replaces") == 0 && i + 1 < argc) {
                replaces = argv[i + 1];
                i += 2;
        }
        sample_paths = argv + i;
        while (i < argc && strcmp(argv[i], "--") != 0)
                i++, n_samples++;
        if (i >= argc || n_samples == 0 || i + 1 >= argc)
                die("want SAMPLE... -- CRD...", "");
        crds = argv + i + 1;
        n_crds = argc - i - 1;

        snprintf(path, sizeof(path), "%s/csv.yaml", src);
        {
                cJSON *body = load(path, false), *e;
                csv = cJSON_CreateObject();
                cJSON_AddStringToObject(csv, "apiVersion", "operators.coreos.com/v1alpha1");
                cJSON_AddStringToObject(csv, "kind", "ClusterServiceVersion");
                while ((e = body->child)) {
                        cJSON_DetachItemViaPointer(body, e);
                        cJSON_AddItemToObject(csv, e->string, e);
                }
                cJSON_Delete(body);
        }
        snprintf(path, sizeof(path), "%s/rbac.yaml", src);
        rbac = load(path, true);
        no_wildcards(rbac);
        snprintf(path, sizeof(path), "%s/deployment.yaml", src);
        deployment = load(path, false);
        samples = cJSON_CreateArray();
        for (int j = 0; j < n_samples; j++) {
                cJSON *docs = load(sample_paths[j], true), *d;
                while ((d = docs->child)) {
                        cJSON_DetachItemViaPointer(docs, d);
                        cJSON_AddItemToArray(samples, d);
                }
                cJSON_Delete(docs);
        }
        image = container_image(deployment);

        meta = child(csv, "metadata");
        snprintf(name, sizeof(name), PACKAGE ".v%s", version);
        set(meta, "name", cJSON_CreateString(name));
        ann = child(meta, "annotations");
        examples = cJSON_PrintUnformatted(samples);
        set(ann, "alm-examples", cJSON_CreateString(examples));
        free(examples);
        set(ann, "containerImage", cJSON_CreateString(image));
        spec = child(csv, "spec");
        set(spec, "version", cJSON_CreateString(version));
        if (replaces) {
                snprintf(name, sizeof(name), PACKAGE ".v%s", replaces);
                set(spec, "replaces", cJSON_CreateString(name));
        }
        snprintf(name, sizeof(name), "<%s", version);
        set(ann, "olm.skipRange", cJSON_CreateString(name));
        owned_crds(spec, crds, n_crds);

        /* the install strategy */
        install = cJSON_CreateObject();
        cJSON_AddStringToObject(install, "strategy", "deployment");
        {
                cJSON *is = cJSON_AddObjectToObject(install, "spec"), *d = cJSON_CreateObject();
                cJSON_AddItemToObject(
                        d, "name", cJSON_Duplicate(get(get(deployment, "metadata"), "name"), true));
                cJSON_AddItemToObject(
                        d, "label",
                        cJSON_Duplicate(get(get(deployment, "metadata"), "labels"), true));
                cJSON_AddItemToObject(d, "spec", cJSON_Duplicate(get(deployment, "spec"), true));
                cJSON_AddItemToArray(cJSON_AddArrayToObject(is, "deployments"), d);
                perm = cJSON_CreateObject();
                cJSON_AddStringToObject(perm, "serviceAccountName", PACKAGE);
                cJSON_AddItemToObject(
                        perm, "rules",
                        cJSON_Duplicate(get(find_named(rbac, "ClusterRole", CLUSTER_ROLE), "rules"),
                                        true));
                cJSON_AddItemToArray(cJSON_AddArrayToObject(is, "clusterPermissions"), perm);
                perm = cJSON_CreateObject();
                cJSON_AddStringToObject(perm, "serviceAccountName", PACKAGE);
                cJSON_AddItemToObject(perm, "rules", namespaced_rules(rbac));
                cJSON_AddItemToArray(cJSON_AddArrayToObject(is, "permissions"), perm);
        }
        set(spec, "install", install);
        set(spec, "relatedImages", related_images(image));

        mkdirs(out, "manifests");
        mkdirs(out, "metadata");
        snprintf(path, sizeof(path), "%s/manifests", out);
        write_yaml(path, PACKAGE ".clusterserviceversion.yaml",
                   "# Generated by hack/gen-bundle.sh from bundle/src/; do not edit.\n",
                   (const cJSON *const *)&csv, 1);
        for (int j = 0; j < n_crds; j++)
                copy_file(path, crds[j]);
        snprintf(path, sizeof(path), "%s/metadata", out);
        write_text(path, "annotations.yaml",
                   "annotations:\n"
                   "  operators.operatorframework.io.bundle.mediatype.v1: registry+v1\n"
                   "  operators.operatorframework.io.bundle.manifests.v1: manifests/\n"
                   "  operators.operatorframework.io.bundle.metadata.v1: metadata/\n"
                   "  operators.operatorframework.io.bundle.package.v1: " PACKAGE "\n"
                   "  operators.operatorframework.io.bundle.channels.v1: " CHANNEL "\n"
                   "  operators.operatorframework.io.bundle.channel.default.v1: " CHANNEL "\n");
        write_text(out, "bundle.Dockerfile",
                   "# Generated by hack/gen-bundle.sh; build from bundle/:\n"
                   "#   docker build -f bundle/bundle.Dockerfile bundle/\n"
                   "FROM scratch\n"
                   "LABEL operators.operatorframework.io.bundle.mediatype.v1=registry+v1\n"
                   "LABEL operators.operatorframework.io.bundle.manifests.v1=manifests/\n"
                   "LABEL operators.operatorframework.io.bundle.metadata.v1=metadata/\n"
                   "LABEL operators.operatorframework.io.bundle.package.v1=" PACKAGE "\n"
                   "LABEL operators.operatorframework.io.bundle.channels.v1=" CHANNEL "\n"
                   "LABEL operators.operatorframework.io.bundle.channel.default.v1=" CHANNEL "\n"
                   "COPY manifests /manifests/\n"
                   "COPY metadata /metadata/\n");
        plain(out, rbac, deployment, crds, n_crds);

        cJSON_Delete(csv);
        cJSON_Delete(rbac);
        cJSON_Delete(deployment);
        cJSON_Delete(samples);
        return 0;
}
