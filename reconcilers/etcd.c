/* SPDX-License-Identifier: Apache-2.0 */
/* A local etcd: a StatefulSet with a headless Service for its members and a client Service.
 * Clients and peers both speak TLS (upstream's peers do not). */
#include <stdio.h>
#include <string.h>

#include "common.h"
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

static int etcd_contribute(const struct karmada *k, struct desired *d)
{
        char name[KO_NAME_MAX + 16], client[KO_NAME_MAX + 16], secret[KO_NAME_MAX + 16], host[512];
        struct strbuf cluster = {0};
        cJSON *sts, *c, *env, *headless;
        int r;

        ko_comp_name(k, KO_ETCD, name, sizeof(name));
        ko_obj_name(k, "etcd-client", client, sizeof(client));
        ko_obj_name(k, "etcd-cert", secret, sizeof(secret));
        for (int i = 0; i < k->comp[KO_ETCD].replicas; i++)
                strbuf_printf(&cluster, "%s%s-%d=https://%s-%d.%s.%s.svc.%s:%d", i ? "," : "", name,
                              i, name, i, name, k->namespace, k->dns_domain, KO_ETCD_PEER_PORT);
        sts = ko_component_workload(d, KO_ETCD, "etcd", "/usr/local/bin/etcd", true, &c);
        if (!sts) {
                strbuf_free(&cluster);
                return -ENOMEM;
        }
        ko_add_arg(c, "--name=$(KARMADA_ETCD_NAME)");
        ko_add_arg(c, "--listen-client-urls=https://0.0.0.0:%d", KO_ETCD_CLIENT_PORT);
        ko_add_arg(c, "--listen-peer-urls=https://0.0.0.0:%d", KO_ETCD_PEER_PORT);
        ko_add_arg(c, "--listen-metrics-urls=http://0.0.0.0:%d", KO_ETCD_METRICS_PORT);
        ko_add_arg(c, "--advertise-client-urls=https://%s:%d",
                   ko_service_host(k, client, host, sizeof(host)), KO_ETCD_CLIENT_PORT);
        ko_add_arg(c, "--initial-advertise-peer-urls=https://$(KARMADA_ETCD_NAME).%s.%s.svc.%s:%d",
                   name, k->namespace, k->dns_domain, KO_ETCD_PEER_PORT);
        ko_add_arg(c, "--initial-cluster=%s", cluster.buf);
        ko_add_arg(c, "--initial-cluster-state=new");
        ko_add_arg(c, "--client-cert-auth=true");
        ko_add_arg(c, "--trusted-ca-file=%s/etcd-ca.crt", ETCD_PKI);
        ko_add_arg(c, "--cert-file=%s/etcd-server.crt", ETCD_PKI);
        ko_add_arg(c, "--key-file=%s/etcd-server.key", ETCD_PKI);
        ko_add_arg(c, "--peer-client-cert-auth=true");
        ko_add_arg(c, "--peer-trusted-ca-file=%s/etcd-ca.crt", ETCD_PKI);
        ko_add_arg(c, "--peer-cert-file=%s/etcd-server.crt", ETCD_PKI);
        ko_add_arg(c, "--peer-key-file=%s/etcd-server.key", ETCD_PKI);
        ko_add_arg(c, "--data-dir=/var/lib/etcd");
        ko_add_arg(c, "--snapshot-count=10000");
        ko_add_arg(c, "--cipher-suites=%s", CIPHERS);
        strbuf_free(&cluster);
        env = cJSON_AddArrayToObject(c, "env");
        cJSON_AddItemToArray(
                env, cJSON_Parse("{\"name\":\"KARMADA_ETCD_NAME\",\"valueFrom\":{\"fieldRef\":"
                                 "{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}}"));
        ko_add_port(c, "client", KO_ETCD_CLIENT_PORT);
        ko_add_port(c, "server", KO_ETCD_PEER_PORT);
        ko_add_port(c, "metrics", KO_ETCD_METRICS_PORT);
        ko_add_probe(c, "livenessProbe", "/livez", KO_ETCD_METRICS_PORT, false, 60, 10, 5, 3);
        ko_add_probe(c, "readinessProbe", "/readyz", KO_ETCD_METRICS_PORT, false, 10, 5, 5, 30);
        ko_add_mount(sts, c, "etcd-cert", ETCD_PKI, secret, true);
        data_volume(k, sts, c);
        r = ko_add_workload(d, KO_ETCD, sts);
        headless = ko_service(
                k, KO_ETCD, name, "Headless",
                (const struct ko_port[]){{"client", KO_ETCD_CLIENT_PORT, KO_ETCD_CLIENT_PORT},
                                         {"server", KO_ETCD_PEER_PORT, KO_ETCD_PEER_PORT},
                                         {0}});
        /* members must find each other before any is ready: a new cluster needs a quorum first */
        if (headless)
                cJSON_AddTrueToObject(cJSON_GetObjectItemCaseSensitive(headless, "spec"),
                                      "publishNotReadyAddresses");
        if (r >= 0)
                r = desired_add(d, &kube_services, headless, false);
        else
                cJSON_Delete(headless);
        if (r >= 0)
                r = desired_add(d, &kube_services,
                                ko_service(k, KO_ETCD, client, "ClusterIP",
                                           (const struct ko_port[]){{"client", KO_ETCD_CLIENT_PORT,
                                                                     KO_ETCD_CLIENT_PORT},
                                                                    {0}}),
                                false);
        return r;
}

const struct reconciler ko_rec_etcd = {
        .name = "etcd",
        .after = (const char *const[]){"pki", NULL},
        .condition = "EtcdReady",
        .enabled = etcd_enabled,
        .contribute = etcd_contribute,
};
