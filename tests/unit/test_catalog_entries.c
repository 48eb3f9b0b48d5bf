/* SPDX-License-Identifier: Apache-2.0 */
/* The release catalog: a KarmadaRelease gives a Karmada its images, its CRD tarball and digest
 * and the minor whose flags it follows; one of a built-in release's name overrides it; a bad
 * entry is refused naming its fields, and the Karmada that names it says so. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/release_catalog.h"
#include "karmada/spec.h"
#include "reconciler.h"
#include "util/yaml.h"

#define SUM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define CORP                                                                         \
        "apiVersion: operator.karmada.io/v1alpha1\nkind: KarmadaRelease\n"           \
        "metadata: {name: v1.18.2-corp.1}\n"                                         \
        "spec:\n  version: v1.18.2\n  images:\n"                                     \
        "    karmadaScheduler: mirror.corp:5000/karmada/karmada-scheduler:v1.18.2\n" \
        "    karmadaAPIServer: mirror.corp:5000/k8s/kube-apiserver:v1.35.2-corp\n"   \
        "    etcd: mirror.corp:5000/k8s/etcd@sha256:" SUM "\n"                       \
        "  crdTarball: {url: 'https://files.corp/karmada/v1.18.2/crds.tar.gz', sha256: " SUM "}\n"

/* a newer release than the operator knows, run with v1.19's flags */
#define NEWER                                                              \
        "apiVersion: operator.karmada.io/v1alpha1\nkind: KarmadaRelease\n" \
        "metadata: {name: v1.20.0}\nspec: {version: v1.20.0, minor: v1.19}\n"

static cJSON *yaml(const char *y)
{
        char err[256];
        cJSON *doc = NULL;

        if (yaml_parse_one(y, strlen(y), "test", NULL, &doc, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        return doc;
}

/* the catalog of these tests: CORP and NEWER */
static cJSON *lookup(const char *name, void *ctx)
{
        (void)ctx;
        if (strcmp(name, "v1.18.2-corp.1") == 0)
                return yaml(CORP);
        if (strcmp(name, "v1.20.0") == 0)
                return yaml(NEWER);
        return NULL;
}

static int setup(void **state)
{
        (void)state;
        release_catalog_set(lookup, NULL);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        release_catalog_set(NULL, NULL);
        return 0;
}

static void test_an_entry_gives_images_crds_and_pairing(void **state)
{
        struct karmada_release r;
        char msg[512] = "";
        cJSON *o = yaml(CORP);

        (void)state;
        assert_int_equal(release_from_object(o, &r, msg, sizeof(msg)), 0);
        assert_string_equal(r.name, "v1.18.2-corp.1");
        assert_string_equal(r.karmada, "v1.18.2");
        assert_int_equal(r.minor->minor, 18);
        assert_true(r.catalog);
        assert_string_equal(r.image[KO_SCHEDULER],
                            "mirror.corp:5000/karmada/karmada-scheduler:v1.18.2");
        assert_string_equal(r.image[KO_WEBHOOK], "");
        /* what it does not name pairs as its minor */
        assert_string_equal(r.kubernetes, "v1.35.2");
        assert_string_equal(r.etcd, "3.6.6-0");
        assert_string_equal(r.crd_url, "https://files.corp/karmada/v1.18.2/crds.tar.gz");
        assert_string_equal(r.crd_sha256, SUM);
        cJSON_Delete(o);
}

static void fails(const char *spec, const char *const *needles)
{
        char y[2048], msg[1024] = "";
        struct karmada_release r;
        cJSON *o;

        snprintf(y, sizeof(y),
                 "apiVersion: operator.karmada.io/v1alpha1\nkind: KarmadaRelease\n"
                 "metadata: {name: bad}\nspec: %s\n",
                 spec);
        o = yaml(y);
        assert_int_equal(release_from_object(o, &r, msg, sizeof(msg)), -EINVAL);
        for (; *needles; needles++)
                if (!strstr(msg, *needles))
                        fail_msg("error \"%s\" lacks \"%s\"", msg, *needles);
        cJSON_Delete(o);
}

#define FAILS(spec, ...) \
        fails(spec, (const char *const[]){"KarmadaRelease bad: ", __VA_ARGS__, NULL})

static void test_a_bad_entry_names_its_fields(void **state)
{
        (void)state;
        FAILS("{}", "spec.version: required");
        FAILS("{version: '1.18'}", "spec.version", "not vMAJOR.MINOR.PATCH");
        FAILS("{version: v1.20.0}", "spec.version", "v1.20 is not a minor release",
              "set spec.minor");
        FAILS("{version: v1.20.0, minor: v1.21}", "spec.minor: v1.21 is not a minor release");
        FAILS("{version: v1.20.0, minor: '1.19'}", "spec.minor", "not vMAJOR.MINOR");
        FAILS("{version: v1.18.2, images: {karmadaScheduler: 'a b'}}",
              "spec.images.karmadaScheduler", "image reference");
        FAILS("{version: v1.18.2, images: {karmadaSchedular: x/y:z}}",
              "spec.images.karmadaSchedular", "not a component");
        FAILS("{version: v1.18.2, crdTarball: {url: 'ftp://x/crds.tar.gz'}}", "spec.crdTarball.url",
              "not an http(s) URL");
        FAILS("{version: v1.18.2, crdTarball: {sha256: abc}}", "spec.crdTarball.url: required",
              "spec.crdTarball.sha256: must be 64 lower-case hex digits");
}

static struct karmada *karmada(const char *spec, struct karmada_spec_error *err)
{
        char y[1024];
        struct karmada *k = NULL;
        cJSON *doc;

        snprintf(y, sizeof(y),
                 "apiVersion: operator.karmada.io/v1alpha1\nkind: Karmada\n"
                 "metadata: {name: demo, namespace: team, uid: u-1, generation: 1}\nspec: %s\n",
                 spec);
        doc = yaml(y);
        if (registry_parse(doc, &k, err) < 0)
                k = NULL;
        cJSON_Delete(doc);
        return k;
}

/* A Karmada that names an entry runs its images and CRDs; its own imageTag still wins */
static void test_a_karmada_runs_what_its_entry_names(void **state)
{
        struct karmada_spec_error err = {{0}};
        struct karmada *k = karmada("{karmadaVersion: v1.18.2-corp.1, components: {etcd: {local: "
                                    "{}}, karmadaWebhook: {imageTag: v1.18.1}}}",
                                    &err);

        (void)state;
        if (!k) {
                fail_msg("%s", err.message);
                abort(); /* not reached: fail_msg does not return */
        }
        assert_string_equal(k->version, "v1.18.2-corp.1");
        assert_string_equal(k->comp[KO_SCHEDULER].image,
                            "mirror.corp:5000/karmada/karmada-scheduler:v1.18.2");
        assert_string_equal(k->comp[KO_CONTROLLER_MANAGER].image,
                            "docker.io/karmada/karmada-controller-manager:v1.18.2");
        assert_string_equal(k->comp[KO_WEBHOOK].image, "docker.io/karmada/karmada-webhook:v1.18.1");
        assert_string_equal(k->comp[KO_APISERVER].image,
                            "mirror.corp:5000/k8s/kube-apiserver:v1.35.2-corp");
        assert_string_equal(k->comp[KO_APISERVER].image_tag, "v1.35.2-corp");
        assert_string_equal(k->comp[KO_KUBE_CONTROLLER_MANAGER].image,
                            "registry.k8s.io/kube-controller-manager:v1.35.2");
        assert_string_equal(k->comp[KO_ETCD].image, "mirror.corp:5000/k8s/etcd@sha256:" SUM);
        assert_string_equal(k->comp[KO_ETCD].image_tag, "3.6.6-0");
        assert_string_equal(k->crd_url, "https://files.corp/karmada/v1.18.2/crds.tar.gz");
        assert_string_equal(k->crd_sha256, SUM);
        karmada_free(k);
        /* its own crdTarball wins, without the entry's digest */
        k = karmada("{karmadaVersion: v1.18.2-corp.1, crdTarball: {httpSource: {url: "
                    "'http://x/crds.tar.gz'}}}",
                    &err);
        assert_non_null(k);
        assert_string_equal(k->crd_url, "http://x/crds.tar.gz");
        assert_null(k->crd_sha256);
        karmada_free(k);
        /* a newer release than the operator, on a known minor's flags and pairing */
        k = karmada("{karmadaVersion: v1.20.0}", &err);
        assert_non_null(k);
        assert_string_equal(k->comp[KO_SCHEDULER].image,
                            "docker.io/karmada/karmada-scheduler:v1.20.0");
        assert_string_equal(k->comp[KO_APISERVER].image, "registry.k8s.io/kube-apiserver:v1.36.2");
        assert_string_equal(k->crd_url, "https://github.com/karmada-io/karmada/releases/download/"
                                        "v1.20.0/crds.tar.gz");
        karmada_free(k);
}

/* No entry and no built-in release: the message points at the catalog */
static void test_an_unknown_release_points_at_the_catalog(void **state)
{
        struct karmada_spec_error err = {{0}};

        (void)state;
        assert_null(karmada("{karmadaVersion: v1.21.0}", &err));
        assert_non_null(strstr(err.message, "spec.karmadaVersion: v1.21.0: Karmada v1.21 is not a "
                                            "minor release this operator knows"));
        assert_non_null(strstr(err.message, "no KarmadaRelease is named v1.21.0"));
        assert_null(karmada("{karmadaVersion: v1.18.2-corp.2}", &err));
        assert_non_null(strstr(err.message, "spec.karmadaVersion"));
        assert_non_null(strstr(err.message, "no KarmadaRelease is named v1.18.2-corp.2"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_an_entry_gives_images_crds_and_pairing),
                cmocka_unit_test(test_a_bad_entry_names_its_fields),
                cmocka_unit_test(test_a_karmada_runs_what_its_entry_names),
                cmocka_unit_test(test_an_unknown_release_points_at_the_catalog),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
