/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark (not a test): the idle memory of a process running two informers over 1,000
 * ConfigMaps (one informer sees all, one a label-selected half).
 *   bench_informer KUBECONFIG create N      make the ConfigMaps (a separate process, so its
 *                                           allocations do not count)
 *   bench_informer KUBECONFIG watch IDLE    measure */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kube/client.h"
#include "procmem.h"
#include "runtime/informer.h"
#include "runtime/log.h"

int main(int argc, char **argv)
{
        struct kube_config_options co = {.kubeconfig = argc > 1 ? argv[1] : NULL};
        bool create = argc > 2 && strcmp(argv[2], "create") == 0;
        long n = argc > 3 && create ? strtol(argv[3], NULL, 10) : 0;
        long idle = argc > 3 && !create ? strtol(argv[3], NULL, 10) : 30;
        struct kube_config *cfg;
        struct kube_client *c;
        struct informer *all, *half;
        const char *ns = "bench-informer";
        char err[512], body[1024];
        cJSON *o;
        time_t t0;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        log_setup(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT);
        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0 ||
            kube_client_new(&(struct kube_client_options){.config = cfg, .qps = 500, .burst = 500},
                            &c) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        if (!create)
                goto measure;
        o = cJSON_Parse("{\"metadata\":{\"name\":\"bench-informer\"}}");
        kube_create(c, &kube_namespaces, NULL, o, NULL, NULL, NULL);
        cJSON_Delete(o);
        for (long i = 0; i < n; i++) {
                /* a ConfigMap of about 600 bytes, like a small component configuration */
                snprintf(
                        body, sizeof(body),
                        "{\"metadata\":{\"name\":\"cm-%ld\",\"labels\":{\"app.kubernetes.io/"
                        "managed-by\":\"%s\","
                        "\"app.kubernetes.io/"
                        "instance\":\"bench\"}},\"data\":{\"config.yaml\":\"apiVersion: v1\\nkind: "
                        "Config\\nclusters:\\n- name: karmada\\n  cluster:\\n    server: "
                        "https://bench-apiserver.bench.svc:5443\\nusers: "
                        "[]\\n\",\"index\":\"%ld\"}}",
                        i, i % 2 ? "karmada-operator" : "someone-else", i);
                o = cJSON_Parse(body);
                kube_create(c, &kube_configmaps, ns, o, NULL, NULL, NULL);
                cJSON_Delete(o);
        }
        kube_client_free(c);
        kube_config_free(cfg);
        curl_global_cleanup();
        return 0;
measure:;
        long rss_before = procmem_rss_kib(), uss_before = procmem_private_dirty_kib();
        informer_new(
                &(struct informer_options){
                        .client = c, .resource = &kube_configmaps, .namespace = ns, .name = "all"},
                &all);
        informer_new(
                &(struct informer_options){.client = c,
                                           .resource = &kube_configmaps,
                                           .namespace = ns,
                                           .label_selector =
                                                   "app.kubernetes.io/managed-by=karmada-operator",
                                           .name = "managed"},
                &half);
        store_add_index(informer_store(all), "instance", store_index_label,
                        "app.kubernetes.io/instance");
        informer_start(all);
        informer_start(half);
        for (t0 = time(NULL);
             (!informer_has_synced(all) || !informer_has_synced(half)) && time(NULL) - t0 < 60;)
                usleep(50 * 1000);
        long rss_synced = procmem_rss_kib();
        sleep((unsigned)idle);
        malloc_trim(0);
        long rss_idle = procmem_rss_kib(), uss_idle = procmem_private_dirty_kib();
        struct mallinfo2 mi = mallinfo2();
        printf("cached_all=%zu cached_managed=%zu\n", store_len(informer_store(all)),
               store_len(informer_store(half)));
        printf("rss_kib_before_informers=%ld rss_kib_synced=%ld rss_kib_idle_%lds=%ld "
               "heap_in_use_bytes=%zu\n",
               rss_before, rss_synced, idle, rss_idle, mi.uordblks);
        printf("private_dirty_kib_before_informers=%ld private_dirty_kib_idle=%ld\n", uss_before,
               uss_idle);
        informer_free(all);
        informer_free(half);
        kube_delete(c, &kube_namespaces, NULL, ns, NULL, NULL);
        kube_client_free(c);
        kube_config_free(cfg);
        curl_global_cleanup();
        return 0;
}
