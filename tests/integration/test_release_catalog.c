/* SPDX-License-Identifier: Apache-2.0 */
/* The release catalog, with the Karmada API server running for real (ko-plane):
 *   - a Karmada names a KarmadaRelease, v1.18.2-corp.1: every image from a private registry
 *     (ko-plane runs them by name and tag: the cached v1.18.2 binaries; Degraded=False shows
 *     the aggregated apiserver ran), its CRD tarball from a local server with its SHA-256;
 *   - while that SHA-256 is wrong, the CRD step says so precisely (CRDDigestMismatch, both
 *     digests, the KarmadaRelease's field) and nothing is extracted; corrected in the
 *     KarmadaRelease, the instance goes on to Ready: an edited entry reaches its instances;
 *   - the KarmadaRelease lists its instance under the namespace of the operator that watches
 *     it, carries that operator's finalizer while in use, and its deletion waits until the
 *     instance is gone; the operator of another namespace leaves both alone;
 *   - a Karmada naming a release that neither the catalog nor the operator has is InvalidSpec,
 *     pointing at the catalog;
 *   - `karmada-operator releases --kubeconfig` lists the entry with its images, and kubectl
 *     explain describes karmadarelease.spec and karmada.spec.karmadaVersion. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileserver.h"
#include "itest.h"
#include "karmada/release_catalog.h"
#include "karmada/spec.h"
#include "kube/client.h"
#include "live.h"
#include "util/digest.h"
#include "util/fileio.h"

#define RELEASE "v1.18.2-corp.1"
#define MIRROR  "mirror.corp.example:5000"

static const char *ns, *other_ns;

/* Whether the entry lists ns/corp under ns in status.inUse and carries the finalizer of the
 * operator of ns (each operator keeps its own key and finalizer); valid says Valid=True too */
static bool in_use_by_corp(bool *valid, bool *deleting)
{
        char want[256], fin[256], cond[256], *text;
        cJSON *o = NULL;
        bool yes;

        if (kube_get(live_kc, &karmada_releases, NULL, RELEASE, &o, NULL) < 0)
                return false;
        text = cJSON_PrintUnformatted(o);
        snprintf(want, sizeof(want), "\"inUse\":{\"%s\":[\"%s/corp\"]}", ns, ns);
        snprintf(fin, sizeof(fin), "\"release-in-use.operator.karmada.io/%s\"", ns);
        yes = text && strstr(text, want) && strstr(text, fin);
        *valid =
                strcmp(live_condition_of(o, "Valid", false, cond, sizeof(cond)), "True Valid") == 0;
        *deleting = text && strstr(text, "deletionTimestamp");
        free(text);
        cJSON_Delete(o);
        return yes;
}

static void wait_in_use(bool deleting_too)
{
        double t0 = itest_now();
        bool valid = false, deleting = false;

        while (!in_use_by_corp(&valid, &deleting) || !valid || deleting != deleting_too)
                IT_ASSERT(itest_now() - t0 < 30,
                          "KarmadaRelease " RELEASE ": not listed in use by %s/corp with its "
                          "finalizer and Valid (deleting: %d)",
                          ns, deleting);
}

static void create_release(int port, const char *sha256)
{
        live_create_object(
                &karmada_releases, NULL,
                "{\"metadata\":{\"name\":\"" RELEASE "\"},\"spec\":{\"version\":\"v1.18.2\","
                "\"images\":{\"etcd\":\"" MIRROR
                "/k8s/etcd:3.6.6-0\",\"karmadaAPIServer\":\"" MIRROR
                "/k8s/kube-apiserver:v1.35.2\",\"kubeControllerManager\":\"" MIRROR
                "/k8s/kube-controller-manager:v1.35.2\",\"karmadaAggregatedAPIServer\":\"" MIRROR
                "/karmada/"
                "karmada-aggregated-apiserver:v1.18.2\",\"karmadaControllerManager\":\"" MIRROR
                "/karmada/karmada-controller-manager:v1.18.2\",\"karmadaScheduler\":\"" MIRROR
                "/karmada/karmada-scheduler:v1.18.2\",\"karmadaWebhook\":\"" MIRROR
                "/karmada/karmada-webhook:v1.18.2\",\"karmadaMetricsAdapter\":\"" MIRROR
                "/karmada/karmada-metrics-adapter:v1.18.2\"},\"crdTarball\":{\"url\":"
                "\"http://127.0.0.1:%d/crds.tar.gz\",\"sha256\":\"%s\"}}}",
                port, sha256);
}

/* Nothing of the tarball's URL extracted in the operator's cache, and the tarball not kept. The
 * operator may be fetching it again meanwhile (its retry writes a .part file, renames it and
 * checks it): never a directory there, and within 5 s a moment without crds.tar.gz. */
static void nothing_extracted(const char *url)
{
        char base[4096], path[4400], sum[SHA256_HEX_LEN];
        bool kept = true;

        sha256_hex(url, strlen(url), sum);
        snprintf(base, sizeof(base), "%s/crds/%s", itest_operator_cache(), sum);
        for (double t0 = itest_now(); kept && itest_now() - t0 < 5; usleep(50 * 1000)) {
                DIR *d = opendir(base);
                struct dirent *e;
                struct stat st;
                kept = false;
                while (d && (e = readdir(d))) {
                        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
                        IT_ASSERT(lstat(path, &st) < 0 || !S_ISDIR(st.st_mode),
                                  "%s extracted after a wrong SHA-256", path);
                        kept = kept || strcmp(e->d_name, "crds.tar.gz") == 0;
                }
                if (d)
                        closedir(d);
        }
        IT_ASSERT(!kept, "%s/crds.tar.gz kept after a wrong SHA-256", base);
}

/* Every workload of the instance runs an image of the mirror */
static void images_from_mirror(void)
{
        static const char *const names[] = {"apiserver",
                                            "aggregated-apiserver",
                                            "kube-controller-manager",
                                            "controller-manager",
                                            "scheduler",
                                            "webhook",
                                            "metrics-adapter"};

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char dep[128];
                cJSON *c;
                const char *img;
                snprintf(dep, sizeof(dep), "corp-karmada-%s", names[i]);
                c = live_container(ns, dep);
                img = cJSON_GetStringValue(cJSON_GetObjectItem(c, "image"));
                IT_ASSERT(img && strncmp(img, MIRROR "/", strlen(MIRROR) + 1) == 0, "%s runs %s",
                          dep, img ? img : "(none)");
                cJSON_Delete(c);
        }
}

/* karmada-operator releases --kubeconfig: the entry and its images */
static void releases_command(void)
{
        char log[4096], *out = NULL;
        char *argv[] = {(char *)itest_operator_bin(), "releases", "--kubeconfig",
                        (char *)itest_kubeconfig(), NULL};
        size_t len;
        pid_t pid;

        snprintf(log, sizeof(log), "%s/releases.out", itest_operator_cache());
        pid = itest_spawn(argv, log, NULL);
        IT_ASSERT(itest_wait_exit(pid, 30) == 0, "karmada-operator releases exits 0");
        IT_ASSERT(fileio_read(log, 1u << 20, &out, &len) == 0, "read %s", log);
        IT_ASSERT(strstr(out, RELEASE " (KarmadaRelease; Karmada v1.18.2") &&
                          strstr(out, MIRROR "/karmada/karmada-scheduler:v1.18.2") &&
                          strstr(out, "v1.19.0 (built in"),
                  "releases: %s", out);
        unlink(log);
        free(out);
}

/* kubectl explain describes the catalog and what spec.karmadaVersion may name */
static void explained(void)
{
        static const char *const fields[][2] = {
                {"karmadarelease.spec", "crdTarball"},
                {"karmada.spec.karmadaVersion", "KarmadaRelease"},
        };
        char script[4096], log[4096], *out = NULL;
        size_t len;

        snprintf(script, sizeof(script), "%s/cluster.sh", getenv("KO_HACK_DIR") ?: "hack");
        snprintf(log, sizeof(log), "%s/explain.out", itest_operator_cache());
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                char *argv[] = {
                        script, "kubectl", "--state-dir",        (char *)getenv("KO_TEST_CLUSTER"),
                        "--",   "explain", (char *)fields[i][0], NULL};
                unlink(log);
                IT_ASSERT(itest_wait_exit(itest_spawn(argv, log, NULL), 30) == 0,
                          "kubectl explain %s", fields[i][0]);
                IT_ASSERT(fileio_read(log, 1u << 20, &out, &len) == 0, "read %s", log);
                IT_ASSERT(strstr(out, fields[i][1]), "kubectl explain %s: %s", fields[i][0], out);
                free(out);
        }
        unlink(log);
        itest_log("kubectl explain describes karmadarelease.spec and karmada.spec.karmadaVersion");
}

int main(void)
{
        char dir[1024], url[256], sum[SHA256_HEX_LEN], wrong[SHA256_HEX_LEN], buf[1024];
        struct fileserver *fs;
        char *bytes = NULL;
        cJSON *o;
        size_t len;
        double t0;

        live_setup();
        ns = itest_unique_name("catalog");
        live_make_ns(ns);
        /* a run before's, its finalizers (of operators gone) dropped */
        kube_patch(live_kc, &karmada_releases, NULL, RELEASE, KUBE_PATCH_MERGE,
                   "{\"metadata\":{\"finalizers\":null}}", NULL, NULL, NULL);
        kube_delete(live_kc, &karmada_releases, NULL, RELEASE, NULL, NULL);
        for (t0 = itest_now();
             (o = NULL, kube_get(live_kc, &karmada_releases, NULL, RELEASE, &o, NULL) == 0);
             usleep(100 * 1000)) {
                cJSON_Delete(o);
                IT_ASSERT(itest_now() - t0 < 30, "a KarmadaRelease of a run before stays");
        }
        snprintf(dir, sizeof(dir), "%s", itest_crd_tarball("v1.18.2"));
        IT_ASSERT(fileio_read(dir, 64u << 20, &bytes, &len) == 0, "read %s", dir);
        sha256_hex(bytes, len, sum);
        free(bytes);
        snprintf(wrong, sizeof(wrong), "%s", sum);
        wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
        *strrchr(dir, '/') = '\0';
        fs = fileserver_start(dir);
        IT_ASSERT(fs, "file server");
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/crds.tar.gz", fileserver_port(fs));
        live_start_operator(0, itest_operator_bin(), ns, itest_operator_cache(), NULL);
        other_ns = itest_unique_name("catalog-other");
        live_make_ns(other_ns);
        live_start_operator(1, itest_operator_bin(), other_ns, itest_operator_cache(), NULL);

        /* a wrong SHA-256 first */
        create_release(fileserver_port(fs), wrong);
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"corp\"},\"spec\":{\"karmadaVersion\":\"" RELEASE
                        "\",\"components\":{\"etcd\":{\"local\":{}}}}}");
        t0 = itest_now();
        live_wait_condition(ns, "corp", "KarmadaResourcesReady", "False CRDDigestMismatch", 180);
        live_condition(ns, "corp", "KarmadaResourcesReady", buf, sizeof(buf));
        IT_ASSERT(strstr(buf, "KarmadaRelease " RELEASE " spec.crdTarball") && strstr(buf, sum) &&
                          strstr(buf, wrong) && strstr(buf, "nothing extracted"),
                  "%s", buf);
        nothing_extracted(url);
        itest_log("a wrong SHA-256 after %.1fs: \"%.200s\"; nothing extracted", itest_now() - t0,
                  buf);

        /* corrected in the catalog: the instance goes on */
        snprintf(buf, sizeof(buf), "{\"spec\":{\"crdTarball\":{\"sha256\":\"%s\"}}}", sum);
        IT_ASSERT(kube_patch(live_kc, &karmada_releases, NULL, RELEASE, KUBE_PATCH_MERGE, buf, NULL,
                             NULL, NULL) == 0,
                  "patch the KarmadaRelease");
        live_wait_condition(ns, "corp", "Ready", "True", 180);
        o = live_get(ns, "corp");
        IT_ASSERT(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"),
                                                                  "karmadaVersion"))
                                 ?: "",
                         RELEASE) == 0,
                  "status.karmadaVersion");
        cJSON_Delete(o);
        images_from_mirror();
        /* the images ran for real: the aggregated apiserver's APIService is Available */
        live_wait_condition(ns, "corp", "Degraded", "False", 60);
        itest_log("Ready %.1fs after the start, every image from " MIRROR " (run by ko-plane as "
                  "v1.18.2's binaries: Degraded=False)",
                  itest_now() - t0);

        /* the entry's status and finalizer; its deletion waits for the instance, and the
         * operator of another namespace (which sees no instance naming it) leaves both alone */
        wait_in_use(false);
        releases_command();
        explained();
        IT_ASSERT(kube_delete(live_kc, &karmada_releases, NULL, RELEASE, NULL, NULL) == 0,
                  "delete the KarmadaRelease");
        sleep(3);
        wait_in_use(true);
        live_wait_condition(ns, "corp", "Ready", "True", 5);
        itest_log("the KarmadaRelease lists %s/corp under %s, with that operator's finalizer; "
                  "its deletion waits, and the operator of %s leaves both alone",
                  ns, ns, other_ns);

        /* a release nobody has */
        live_create(ns, "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                        "\"metadata\":{\"name\":\"nowhere\"},\"spec\":{\"karmadaVersion\":"
                        "\"v1.18.2-corp.9\"}}");
        live_wait_condition(ns, "nowhere", "Ready", "False InvalidSpec", 30);
        live_condition(ns, "nowhere", "Ready", buf, sizeof(buf));
        IT_ASSERT(strstr(buf, "spec.karmadaVersion") &&
                          strstr(buf, "no KarmadaRelease is named v1.18.2-corp.9"),
                  "%s", buf);
        itest_log("a release nobody has: \"%.200s\"", buf);

        /* the instance gone, the entry goes */
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "corp", NULL, NULL) == 0, "delete");
        IT_ASSERT(kube_delete(live_kc, &karmada_karmadas, ns, "nowhere", NULL, NULL) == 0,
                  "delete");
        live_wait_deleted(ns, "corp", 90);
        live_wait_deleted(ns, "nowhere", 30);
        for (t0 = itest_now();
             (o = NULL, kube_get(live_kc, &karmada_releases, NULL, RELEASE, &o, NULL) == 0);
             usleep(200 * 1000)) {
                cJSON_Delete(o);
                IT_ASSERT(itest_now() - t0 < 30, "the KarmadaRelease stays after its instance");
        }
        itest_log("the instance deleted, the KarmadaRelease went %.1fs later", itest_now() - t0);
        fileserver_stop(fs);
        live_teardown();
        itest_log("ok");
        return 0;
}
