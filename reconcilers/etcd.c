/* SPDX-License-Identifier: Apache-2.0 */
/* A local etcd: a StatefulSet with a headless Service for its members and a client Service.
 * Clients and peers both speak TLS (upstream's peers do not). */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "karmada/restore_source.h"
#include "util/base64.h"
#include "util/strbuf.h"

#define ETCD_PKI "/etc/karmada/pki/etcd"
/* TLS 1.2 suites with forward secrecy and AEAD (TLS 1.3 needs none listed) */
#define CIPHERS                                                                            \
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384," \
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"    \
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"

static bool etcd_enabled(const struct karmada *k)
{
        return !k->etcd_external;
}

static void data_volume(const struct karmada *k, cJSON *sts, cJSON *container)
{
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(sts, "spec");
        cJSON *pspec = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(spec, "template"), "spec");
        cJSON *mounts = cJSON_GetObjectItemCaseSensitive(container, "volumeMounts"), *m, *v, *claim;
        const cJSON *meta;

        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", "etcd-data");
        cJSON_AddStringToObject(m, "mountPath", "/var/lib/etcd");
        cJSON_AddItemToArray(mounts ? mounts : cJSON_AddArrayToObject(container, "volumeMounts"),
                             m);
        if (k->etcd_volume == KO_VOLUME_CLAIM) {
                claim = cJSON_CreateObject();
                meta = cJSON_GetObjectItemCaseSensitive(k->etcd_volume_spec, "metadata");
                cJSON_AddItemToObject(claim, "metadata",
                                      meta ? cJSON_Duplicate(meta, true) : cJSON_CreateObject());
                cJSON_DeleteItemFromObjectCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(claim, "metadata"), "name");
                cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(claim, "metadata"), "name",
                                        "etcd-data");
                cJSON_AddItemToObject(claim, "spec",
                                      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
                                                              k->etcd_volume_spec, "spec"),
                                                      true));
                cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "volumeClaimTemplates"), claim);
                return;
        }
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", "etcd-data");
        if (k->etcd_volume == KO_VOLUME_HOST_PATH)
                cJSON_AddItemToObject(v, "hostPath", cJSON_Duplicate(k->etcd_volume_spec, true));
        else
                cJSON_AddItemToObject(v, "emptyDir",
                                      k->etcd_volume_spec
                                              ? cJSON_Duplicate(k->etcd_volume_spec, true)
                                              : cJSON_CreateObject());
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(pspec, "volumes"), v);
}

/* spec.restore: an init container that restores the member's data directory from the backup
 * when it is empty (this operator's image: karmada-operator etcd-restore, then etcdutl) */
static void restore_init(const struct karmada *k, const struct restore_source *s, cJSON *sts,
                         const char *name, const char *cluster)
{
        cJSON *pspec = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sts, "spec"),
                                                 "template"),
                "spec");
        cJSON *c = cJSON_CreateObject(), *env, *cmd;
        char secret[KO_NAME_MAX + 16], body[512], aad[256];

        common_obj_name(k, "restore", secret, sizeof(secret));
        cJSON_AddStringToObject(c, "name", "restore");
        cJSON_AddStringToObject(c, "image", names_operator_image());
        cJSON_AddStringToObject(c, "imagePullPolicy", "IfNotPresent");
        cmd = cJSON_AddArrayToObject(c, "command");
        cJSON_AddItemToArray(cmd, cJSON_CreateString("/usr/local/bin/karmada-operator"));
        cJSON_AddItemToArray(cmd, cJSON_CreateString("etcd-restore"));
        manifest_add_arg(c, "--data-dir=/var/lib/etcd");
        manifest_add_arg(c, "--name=$(KARMADA_ETCD_NAME)");
        manifest_add_arg(c, "--initial-cluster=%s", cluster);
        manifest_add_arg(
                c, "--initial-advertise-peer-urls=https://$(KARMADA_ETCD_NAME).%s.%s.svc.%s:%d",
                name, k->namespace, k->dns_domain, KO_ETCD_PEER_PORT);
        manifest_add_arg(c, "--endpoint=%s", s->loc.endpoint);
        manifest_add_arg(c, "--bucket=%s", s->loc.bucket);
        if (s->loc.region)
                manifest_add_arg(c, "--region=%s", s->loc.region);
        if (s->loc.path_style)
                manifest_add_arg(c, "--path-style");
        manifest_add_arg(c, "--key=%s", s->key);
        manifest_add_arg(c, "--sha256=%s", s->sha256);
        manifest_add_arg(c, "--bump-revision=1000000000");
        if (s->format) /* sealed: the key from the restore Secret */
                manifest_add_arg(c, "--sealed=%s",
                                 backup_aad(s->uid, "snapshot", aad, sizeof(aad)));
        manifest_add_arg(c, "--etcdutl=/usr/local/bin/etcdutl");
        env = cJSON_AddArrayToObject(c, "env");
        cJSON_AddItemToArray(
                env, cJSON_Parse("{\"name\":\"KARMADA_ETCD_NAME\",\"valueFrom\":{\"fieldRef\":"
                                 "{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}}"));
        for (int i = 0; i < (s->format ? 3 : 2); i++) {
                static const char *const vars[][2] = {
                        {"AWS_ACCESS_KEY_ID", "accessKeyID"},
                        {"AWS_SECRET_ACCESS_KEY", "secretAccessKey"},
                        {"BACKUP_ENCRYPTION_KEY", "encryptionKey"},
                };
                snprintf(body, sizeof(body),
                         "{\"name\":\"%s\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"%s\","
                         "\"key\":\"%s\",\"optional\":true}}}",
                         vars[i][0], secret, vars[i][1]);
                cJSON_AddItemToArray(env, cJSON_Parse(body));
        }
        if (s->loc.ca_bundle) {
                unsigned char *pem = NULL;
                size_t len = 0;
                if (base64_decode(s->loc.ca_bundle, strlen(s->loc.ca_bundle), &pem, &len) == 0) {
                        cJSON *e = cJSON_CreateObject();
                        cJSON_AddStringToObject(e, "name", "S3_CA_BUNDLE");
                        cJSON_AddStringToObject(e, "value", (char *)pem);
                        cJSON_AddItemToArray(env, e);
                }
                free(pem);
        }
        cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "volumeMounts"),
                             cJSON_Parse("{\"name\":\"etcd-data\",\"mountPath\":"
                                         "\"/var/lib/etcd\"}"));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(pspec, "initContainers"), c);
}

/* The member's command line: itself, its peers, TLS everywhere. */
static void etcd_args(const struct karmada *k, cJSON *c, const char *name, const char *client)
{
        char host[512];

        manifest_add_arg(c, "--name=$(KARMADA_ETCD_NAME)");
        manifest_add_arg(c, "--listen-client-urls=https://0.0.0.0:%d", KO_ETCD_CLIENT_PORT);
        manifest_add_arg(c, "--listen-peer-urls=https://0.0.0.0:%d", KO_ETCD_PEER_PORT);
        manifest_add_arg(c, "--listen-metrics-urls=http://0.0.0.0:%d", KO_ETCD_METRICS_PORT);
        manifest_add_arg(c, "--advertise-client-urls=https://%s:%d",
                         manifest_service_host(k, client, host, sizeof(host)), KO_ETCD_CLIENT_PORT);
        manifest_add_arg(
                c, "--initial-advertise-peer-urls=https://$(KARMADA_ETCD_NAME).%s.%s.svc.%s:%d",
                name, k->namespace, k->dns_domain, KO_ETCD_PEER_PORT);
        /* read when a member starts without data: what it joins (members_secret) */
        manifest_add_arg(c, "--initial-cluster=$(ETCD_INITIAL_CLUSTER)");
        manifest_add_arg(c, "--initial-cluster-state=$(ETCD_INITIAL_CLUSTER_STATE)");
        manifest_add_arg(c, "--client-cert-auth=true");
        manifest_add_arg(c, "--trusted-ca-file=%s/etcd-ca-trust.crt", ETCD_PKI);
        manifest_add_arg(c, "--cert-file=%s/etcd-server.crt", ETCD_PKI);
        manifest_add_arg(c, "--key-file=%s/etcd-server.key", ETCD_PKI);
        manifest_add_arg(c, "--peer-client-cert-auth=true");
        manifest_add_arg(c, "--peer-trusted-ca-file=%s/etcd-ca-trust.crt", ETCD_PKI);
        manifest_add_arg(c, "--peer-cert-file=%s/etcd-server.crt", ETCD_PKI);
        manifest_add_arg(c, "--peer-key-file=%s/etcd-server.key", ETCD_PKI);
        manifest_add_arg(c, "--data-dir=/var/lib/etcd");
        manifest_add_arg(c, "--snapshot-count=10000");
        manifest_add_arg(c, "--cipher-suites=%s", CIPHERS);
}

/* The headless Service of the members and the clients' Service. */
static int etcd_services(const struct karmada *k, struct desired *d, const char *name,
                         const char *client)
{
        cJSON *headless = manifest_service(
                k, KO_ETCD, name, "Headless",
                (const struct manifest_port[]){{"client", KO_ETCD_CLIENT_PORT, KO_ETCD_CLIENT_PORT},
                                               {"server", KO_ETCD_PEER_PORT, KO_ETCD_PEER_PORT},
                                               {0}});
        int r;

        /* members must find each other before any is ready: a new cluster needs a quorum first */
        if (headless)
                cJSON_AddTrueToObject(cJSON_GetObjectItemCaseSensitive(headless, "spec"),
                                      "publishNotReadyAddresses");
        r = desired_add(d, &kube_services, headless, false);
        if (r >= 0)
                r = desired_add(
                        d, &kube_services,
                        manifest_service(
                                k, KO_ETCD, client, "ClusterIP",
                                (const struct manifest_port[]){
                                        {"client", KO_ETCD_CLIENT_PORT, KO_ETCD_CLIENT_PORT}, {0}}),
                        false);
        return r;
}

/* What a member that starts without data joins, in a Secret of its own that its env reads: a
 * change does not restart the members that run (a kubelet reads env when a container starts),
 * so the operator changes it before it adds a pod (etcd_pods), and the new member joins the
 * existing cluster. */
static int members_secret(const struct karmada *k, struct desired *d, cJSON *c, const char *cluster)
{
        const char *state = d->observed && d->observed->etcd_pods > 0 ? "existing" : "new";
        char secret[KO_NAME_MAX + 16], body[512];
        cJSON *env = cJSON_GetObjectItemCaseSensitive(c, "env");

        common_obj_name(k, "etcd-members", secret, sizeof(secret));
        for (int i = 0; i < 2; i++) {
                snprintf(body, sizeof(body),
                         "{\"name\":\"%s\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"%s\","
                         "\"key\":\"%s\"}}}",
                         i ? "ETCD_INITIAL_CLUSTER_STATE" : "ETCD_INITIAL_CLUSTER", secret,
                         i ? "initial-cluster-state" : "initial-cluster");
                cJSON_AddItemToArray(env, cJSON_Parse(body));
        }
        return desired_add(
                d, &kube_secrets,
                manifest_secret(k, secret,
                                (const char *const[]){"initial-cluster", "initial-cluster-state"},
                                (const char *const[]){cluster, state},
                                (const size_t[]){strlen(cluster), strlen(state)}, 2),
                false);
}

static int etcd_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 16], client[KO_NAME_MAX + 16], secret[KO_NAME_MAX + 16];
        struct strbuf cluster = {0};
        struct restore_source src = {0};
        int pods = d->observed && d->observed->etcd_pods > 0 ? d->observed->etcd_pods
                                                             : k->comp[KO_ETCD].replicas;
        cJSON *sts, *c, *env;
        int r;

        /* a restore: etcd waits for the backup (it must not start empty) */
        if (k->restore_backup && restore_source(k, d, &src) < 0)
                return 0;

        common_comp_name(k, KO_ETCD, name, sizeof(name));
        common_obj_name(k, "etcd-client", client, sizeof(client));
        common_obj_name(k, "etcd-cert", secret, sizeof(secret));
        for (int i = 0; i < pods; i++)
                strbuf_printf(&cluster, "%s%s-%d=https://%s-%d.%s.%s.svc.%s:%d", i ? "," : "", name,
                              i, name, i, name, k->namespace, k->dns_domain, KO_ETCD_PEER_PORT);
        sts = common_component_workload(d, KO_ETCD, "etcd", "/usr/local/bin/etcd", true, &c);
        if (!sts) {
                strbuf_free(&cluster);
                restore_source_free(&src);
                return -ENOMEM;
        }
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(sts, "spec"),
                                               "replicas", cJSON_CreateNumber(pods));
        etcd_args(k, c, name, client);
        env = cJSON_AddArrayToObject(c, "env");
        cJSON_AddItemToArray(
                env, cJSON_Parse("{\"name\":\"KARMADA_ETCD_NAME\",\"valueFrom\":{\"fieldRef\":"
                                 "{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}}"));
        manifest_add_port(c, "client", KO_ETCD_CLIENT_PORT);
        manifest_add_port(c, "server", KO_ETCD_PEER_PORT);
        manifest_add_port(c, "metrics", KO_ETCD_METRICS_PORT);
        manifest_add_probe(c, "livenessProbe", "/livez", KO_ETCD_METRICS_PORT, false, 60, 10, 5, 3);
        manifest_add_probe(c, "readinessProbe", "/readyz", KO_ETCD_METRICS_PORT, false, 10, 5, 5,
                           30);
        manifest_add_mount(sts, c, "etcd-cert", ETCD_PKI, secret, true);
        data_volume(k, sts, c);
        if (k->restore_backup) {
                restore_init(k, &src, sts, name, cluster.buf);
                restore_source_free(&src);
        }
        r = members_secret(k, d, c, cluster.buf ? cluster.buf : "");
        strbuf_free(&cluster);
        if (r < 0) {
                cJSON_Delete(sts);
                return r;
        }
        r = common_add_workload(d, KO_ETCD, sts);
        return r < 0 ? r : etcd_services(k, d, name, client);
}

const struct reconciler reconciler_etcd = {
        .name = "etcd",
        .after = (const char *const[]){"restore", "pki", NULL},
        .condition = "EtcdReady",
        .quorum = true,
        .enabled = etcd_enabled,
        .contribute = etcd_contribute,
};
