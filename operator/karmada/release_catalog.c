/* SPDX-License-Identifier: Apache-2.0 */
#include "release_catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_reader.h"

const struct kube_resource karmada_releases = {
        .group = "operator.karmada.io",
        .version = "v1alpha1",
        .resource = "karmadareleases",
        .kind = "KarmadaRelease",
        .namespaced = false,
};

static release_catalog_lookup lookup_fn;
static void *lookup_ctx;

void release_catalog_set(release_catalog_lookup fn, void *ctx)
{
        lookup_fn = fn;
        lookup_ctx = ctx;
}

cJSON *release_catalog_array_lookup(const char *name, void *ctx)
{
        const cJSON *o;

        cJSON_ArrayForEach (o, (const cJSON *)ctx) {
                const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name"));
                if (n && strcmp(n, name) == 0)
                        return cJSON_Duplicate(o, true);
        }
        return NULL;
}

const char *release_image_tag(const char *image, char *buf, size_t size)
{
        const char *slash = strrchr(image, '/'), *name = slash ? slash + 1 : image;
        size_t end = strcspn(name, "@"), colon = strcspn(name, ":"), n;

        if (colon >= end) /* none, or in the digest */
                return NULL;
        n = end - colon - 1;
        if (!n)
                return NULL;
        snprintf(buf, size, "%.*s", (int)n, name + colon + 1);
        return buf;
}

/* An image reference: no white space, a name, at most 255 characters. */
static bool image_ok(const char *s)
{
        return s && *s && strlen(s) < 256 && !strpbrk(s, " \t\r\n") && s[0] != '/' && s[0] != ':' &&
               s[0] != '@';
}

/* spec.version and spec.minor: the release's version and the minor it follows */
static void parse_version(struct spec_reader *p, const cJSON *spec, struct karmada_release *out)
{
        const char *v = spec_str(p, spec, "version", "spec.version");
        const char *minor = spec_str(p, spec, "minor", "spec.minor");
        int ma, mi, pa, fma, fmi;
        char known[128], full[48];

        release_known_minors(known, sizeof(known));
        if (!v) {
                spec_problem(p, "spec.version", "required (vMAJOR.MINOR.PATCH)");
                return;
        }
        if (!release_version_parse(v, &ma, &mi, &pa) || strlen(v) >= sizeof(out->karmada)) {
                spec_problem(p, "spec.version", "\"%s\" is not vMAJOR.MINOR.PATCH", v);
                return;
        }
        snprintf(out->karmada, sizeof(out->karmada), "%s", v);
        if (!minor) {
                out->minor = release_minor(ma, mi);
                if (!out->minor)
                        spec_problem(p, "spec.version",
                                     "v%d.%d is not a minor release this operator knows (%s): "
                                     "set spec.minor to the one whose flags it follows",
                                     ma, mi, known);
                return;
        }
        snprintf(full, sizeof(full), "%s.0", minor);
        if (!release_version_parse(full, &fma, &fmi, &pa)) {
                spec_problem(p, "spec.minor", "\"%s\" is not vMAJOR.MINOR", minor);
                return;
        }
        out->minor = release_minor(fma, fmi);
        if (!out->minor)
                spec_problem(p, "spec.minor", "%s is not a minor release this operator knows (%s)",
                             minor, known);
}

/* spec.images: full references by component (the keys of a Karmada's spec.components) */
static void parse_images(struct spec_reader *p, const cJSON *spec, struct karmada_release *out)
{
        const cJSON *images = spec_obj(p, spec, "images", "spec.images"), *e;
        char path[256];

        cJSON_ArrayForEach (e, images) {
                int c = 0;
                while (c < KO_N_COMPONENTS && strcmp(names_components[c].spec_key, e->string) != 0)
                        c++;
                snprintf(path, sizeof(path), "spec.images.%.200s", e->string);
                if (c == KO_N_COMPONENTS)
                        spec_problem(p, path, "not a component (the keys of spec.components)");
                else if (!cJSON_IsString(e) || !image_ok(e->valuestring))
                        spec_problem(p, path, "must be an image reference (registry/name:tag)");
                else
                        snprintf(out->image[c], sizeof(out->image[c]), "%s", e->valuestring);
        }
}

/* spec.crdTarball: its URL and SHA-256 */
static void parse_crds(struct spec_reader *p, const cJSON *spec, struct karmada_release *out)
{
        const cJSON *crd = spec_obj(p, spec, "crdTarball", "spec.crdTarball");
        const char *url = spec_str(p, crd, "url", "spec.crdTarball.url");
        const char *sum = spec_str(p, crd, "sha256", "spec.crdTarball.sha256");

        if (crd && !url)
                spec_problem(p, "spec.crdTarball.url", "required");
        else if (url && (!spec_http_url(url) || strlen(url) >= sizeof(out->crd_url)))
                spec_problem(p, "spec.crdTarball.url", "\"%.200s\" is not an http(s) URL", url);
        else if (url)
                snprintf(out->crd_url, sizeof(out->crd_url), "%s", url);
        if (sum && (strlen(sum) != 64 || strspn(sum, "0123456789abcdef") != 64))
                spec_problem(p, "spec.crdTarball.sha256", "must be 64 lower-case hex digits");
        else if (sum)
                snprintf(out->crd_sha256, sizeof(out->crd_sha256), "%s", sum);
}

int release_from_object(const cJSON *obj, struct karmada_release *out, char *msg, size_t msglen)
{
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
        struct spec_reader p = {0};
        struct karmada_spec_error err;
        const cJSON *spec;

        memset(out, 0, sizeof(*out));
        out->catalog = true;
        if (!name || strlen(name) >= sizeof(out->name))
                spec_problem(&p, "metadata.name", "must be at most %zu characters",
                             sizeof(out->name) - 1);
        else
                snprintf(out->name, sizeof(out->name), "%s", name);
        spec = spec_obj(&p, obj, "spec", "spec");
        parse_version(&p, spec, out);
        parse_images(&p, spec, out);
        parse_crds(&p, spec, out);
        if (spec_reader_finish(&p, &err) < 0) {
                snprintf(msg, msglen, "KarmadaRelease %s: %s", name ? name : "", err.message);
                return -EINVAL;
        }
        /* what it does not name pairs as its minor does */
        snprintf(out->kubernetes, sizeof(out->kubernetes), "%s", out->minor->kubernetes);
        snprintf(out->etcd, sizeof(out->etcd), "%s", out->minor->etcd);
        return 0;
}

int release_resolve_named(const char *name, struct karmada_release *out, char *msg, size_t msglen)
{
        cJSON *obj = lookup_fn && name ? lookup_fn(name, lookup_ctx) : NULL;
        int r;

        if (!obj)
                return release_resolve(name, out, msg, msglen);
        r = release_from_object(obj, out, msg, msglen);
        cJSON_Delete(obj);
        return r;
}
