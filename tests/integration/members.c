/* SPDX-License-Identifier: Apache-2.0 */
#include "members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "live.h"
#include "util/base64.h"
#include "util/fileio.h"
#include "util/json.h"

const struct kube_resource members_clusters = {"cluster.karmada.io", "v1alpha1", "clusters",
                                               "Cluster", false};
const struct kube_resource members_policies = {"policy.karmada.io", "v1alpha1",
                                               "propagationpolicies", "PropagationPolicy", true};

static char *read_text(const char *dir, const char *file)
{
        char path[512];
        char *buf = NULL;
        size_t len = 0;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        IT_ASSERT(fileio_read(path, 1 << 20, &buf, &len) == 0, "read %s", path);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
        return buf;
}

void members_load(struct member members[2])
{
        const char *dir = getenv("KO_TEST_MEMBERS");

        IT_ASSERT(dir && *dir, "KO_TEST_MEMBERS (the state directory of hack/members.sh)");
        for (int i = 0; i < 2; i++) {
                struct member *m = &members[i];
                char mdir[512], path[600], err[512], *env;
                const char *port;
                struct kube_config *cfg = NULL;

                snprintf(m->name, sizeof(m->name), "member%d", i + 1);
                snprintf(mdir, sizeof(mdir), "%s/%s", dir, m->name);
                env = read_text(mdir, "cluster.env");
                port = strstr(env, "API_PORT=");
                IT_ASSERT(port, "API_PORT in %s/cluster.env", mdir);
                snprintf(m->server, sizeof(m->server), "https://127.0.0.1:%.*s",
                         (int)strcspn(port + 9, "\n"), port + 9);
                free(env);
                m->kubeconfig = read_text(mdir, "kubeconfig/admin");
                m->token = read_text(mdir, "join-token");
                m->ca = read_text(mdir, "pki/ca.crt");
                snprintf(path, sizeof(path), "%s/kubeconfig/admin", mdir);
                if (kube_config_load(&(struct kube_config_options){.kubeconfig = path}, &cfg, err,
                                     sizeof(err)) < 0)
                        IT_FAIL("%s", err);
                IT_ASSERT(kube_client_new(&(struct kube_client_options){.config = cfg}, &m->kc) ==
                                  0,
                          "client of %s", m->name);
                kube_config_free(cfg);
        }
}

void member_wait_object(const struct member *m, const struct kube_resource *r, const char *ns,
                        const char *name)
{
        for (double t = itest_now();; usleep(500 * 1000)) {
                cJSON *d = NULL;
                if (kube_get(m->kc, r, ns, name, &d, NULL) == 0) {
                        cJSON_Delete(d);
                        return;
                }
                IT_ASSERT(itest_now() - t < 90, "%s %s/%s never reached %s", r->kind, ns, name,
                          m->name);
        }
}

void karmada_namespace(struct kube_client *kk, const char *ns)
{
        live_create_in(kk, &kube_namespaces, NULL, true, "{\"metadata\":{\"name\":\"%s\"}}", ns);
}

void karmada_deployment(struct kube_client *kk, const char *ns, const char *name, int replicas)
{
        live_create_in(
                kk, &kube_deployments, ns, true,
                "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"replicas\":%d,\"selector\":{"
                "\"matchLabels\":{\"app\":\"%s\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
                "\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\","
                "\"resources\":{\"requests\":{\"cpu\":\"10m\"},\"limits\":{\"cpu\":\"10m\"}}}]}}}}",
                name, replicas, name, name);
}

void karmada_policy(struct kube_client *kk, const char *ns, const char *name, const char *deploy,
                    const char *cluster, const char *extra)
{
        char sel[256] = "";

        if (deploy)
                snprintf(sel, sizeof(sel), ",\"name\":\"%s\"", deploy);
        live_create_in(
                kk, &members_policies, ns, true,
                "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"resourceSelectors\":[{\"apiVersion\":"
                "\"apps/v1\",\"kind\":\"Deployment\"%s}],\"placement\":{\"clusterAffinity\":{"
                "\"clusterNames\":[\"%s\"]}}%s}}",
                name, sel, cluster, extra ? extra : "");
}

void member_join(struct kube_client *kk, const struct member *m)
{
        char buf[128], *tok = NULL, *ca = NULL;

        IT_ASSERT(base64_encode(m->token, strlen(m->token), &tok) == 0 &&
                          base64_encode(m->ca, strlen(m->ca), &ca) == 0,
                  "base64");
        karmada_namespace(kk, "karmada-cluster");
        live_create_in(
                kk, &kube_secrets, "karmada-cluster", true,
                "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"token\":\"%s\",\"caBundle\":\"%s\"}}",
                m->name, tok, ca);
        live_create_in(
                kk, &members_clusters, NULL, true,
                "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"syncMode\":\"Push\",\"apiEndpoint\":"
                "\"%s\",\"secretRef\":{\"namespace\":\"karmada-cluster\",\"name\":\"%s\"}}}",
                m->name, m->server, m->name);
        free(tok);
        free(ca);
        for (double t = itest_now();; usleep(500 * 1000)) {
                cJSON *c = NULL;
                bool ready = kube_get(kk, &members_clusters, NULL, m->name, &c, NULL) == 0 &&
                             strcmp(live_condition_of(c, "Ready", false, buf, sizeof(buf)),
                                    "True ClusterReady") == 0;
                cJSON_Delete(c);
                if (ready)
                        break;
                IT_ASSERT(itest_now() - t < 180, "Cluster %s not Ready: %s", m->name, buf);
        }
}

double member_propagate(struct kube_client *kk, const char *ns_prefix)
{
        struct member m[2];
        char ns[64];
        double t0 = itest_now();

        members_load(m);
        member_join(kk, &m[0]);
        snprintf(ns, sizeof(ns), "%s-%d", ns_prefix, (int)getpid());
        karmada_namespace(kk, ns);
        karmada_policy(kk, ns, "all", NULL, "member1", NULL);
        karmada_deployment(kk, ns, "web", 1);
        member_wait_object(&m[0], &kube_deployments, ns, "web");
        for (int i = 0; i < 2; i++) {
                kube_client_free(m[i].kc);
                free(m[i].kubeconfig);
                free(m[i].token);
                free(m[i].ca);
        }
        return itest_now() - t0;
}
