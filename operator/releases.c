/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator releases: the Karmada releases this operator runs, with the images each
 * gives its components, resolved by the code a Karmada's spec goes through. */
#include "releases.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "karmada/release_catalog.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "kube/config.h"
#include "reconciler.h"

/* What a Karmada naming `name` (with every component) runs: its images and CRD tarball. */
static int print_release(const char *name, const char *what, FILE *out, FILE *errout)
{
        struct karmada_spec_error err = {{0}};
        struct karmada *k = NULL;
        char body[512];
        cJSON *doc;
        int r;

        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                 "\"metadata\":{\"name\":\"r\",\"namespace\":\"r\"},\"spec\":{\"karmadaVersion\":"
                 "\"%s\",\"components\":{\"etcd\":{\"local\":{}},\"karmadaDescheduler\":{},"
                 "\"karmadaSearch\":{}}}}",
                 name);
        doc = cJSON_Parse(body);
        r = doc ? registry_parse(doc, &k, &err) : -ENOMEM;
        cJSON_Delete(doc);
        if (r < 0) {
                fprintf(errout, "%s: %s\n", name, r == -EINVAL ? err.message : strerror(-r));
                return -1;
        }
        fprintf(out, "%s (%s; Karmada %s, the flags of v%d.%d)\n", name, what, k->release.karmada,
                k->release.minor->major, k->release.minor->minor);
        for (int i = 0; i < KO_N_COMPONENTS; i++)
                fprintf(out, "  %-28s %s\n", names_components[i].spec_key, k->comp[i].image);
        fprintf(out, "  %-28s %s%s%s\n", "crdTarball", k->crd_url, k->crd_sha256 ? " sha256:" : "",
                k->crd_sha256 ? k->crd_sha256 : "");
        karmada_free(k);
        return 0;
}

static int print_catalog(const struct kube_config_options *kopts, FILE *out, FILE *errout)
{
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        struct kube_status st = {0};
        cJSON *list = NULL;
        const cJSON *o;
        char err[512];
        int r, status = 0;

        r = kube_config_load(kopts, &cfg, err, sizeof(err));
        if (r < 0) {
                fprintf(errout, "karmada-operator releases: %s\n", err);
                return 1;
        }
        r = kube_client_new(&(struct kube_client_options){.config = cfg}, &c);
        if (r >= 0)
                r = kube_list(c, &karmada_releases, NULL, NULL, &list, &st);
        if (r < 0) {
                fprintf(errout, "karmada-operator releases: list KarmadaReleases: %s\n",
                        st.message[0] ? st.message : strerror(-r));
                status = 1;
        }
        release_catalog_set(release_catalog_array_lookup,
                            cJSON_GetObjectItemCaseSensitive(list, "items"));
        cJSON_ArrayForEach (o, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name"));
                if (n && print_release(n, "KarmadaRelease", out, errout) < 0)
                        status = 1;
        }
        release_catalog_set(NULL, NULL);
        cJSON_Delete(list);
        kube_client_free(c);
        kube_config_free(cfg);
        return status;
}

int releases_print(const struct kube_config_options *kopts, FILE *out, FILE *errout)
{
        bool default_listed = false;
        int status = 0;
        char what[128];

        for (unsigned i = 0; i < release_minor_count; i++) {
                const struct karmada_minor *m = &release_minors[i];
                bool is_default = strcmp(m->newest, KO_DEFAULT_KARMADA_VERSION) == 0;
                default_listed = default_listed || is_default;
                snprintf(what, sizeof(what), "built in%s; any v%d.%d.Z runs so",
                         is_default ? ", the default" : "", m->major, m->minor);
                if (print_release(m->newest, what, out, errout) < 0)
                        status = 1;
        }
        if (!default_listed &&
            print_release(KO_DEFAULT_KARMADA_VERSION, "built in, the default", out, errout) < 0)
                status = 1;
        if (kopts && (kopts->kubeconfig || kopts->context))
                status |= print_catalog(kopts, out, errout);
        return status;
}
