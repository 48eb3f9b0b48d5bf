/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark (not a test): GETs per second on one connection, and the client's memory.
 *   bench_kube_client KUBECONFIG [N]
 * Prints one line per figure; hack/bench-client.sh runs it against a local cluster. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "kube/client.h"
#include "procmem.h"

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        struct kube_config_options co = {.kubeconfig = argc > 1 ? argv[1] : NULL};
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        struct kube_client_stats st;
        struct kube_status ks;
        long n = argc > 2 ? strtol(argv[2], NULL, 10) : 2000, rss0, rss1, rss2;
        size_t heap0, heap1;
        char err[512];
        double t0, t1;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        rss0 = procmem_rss_kib();
        heap0 = mallinfo2().uordblks;
        if (kube_client_new(&(struct kube_client_options){.config = cfg}, &c) < 0)
                return 1;
        /* warm up: the first request makes the connection */
        if (kube_get(c, &kube_namespaces, NULL, "default", NULL, &ks) < 0) {
                fprintf(stderr, "GET: %s\n", ks.message);
                return 1;
        }
        rss1 = procmem_rss_kib();
        t0 = now();
        for (long i = 0; i < n; i++) {
                cJSON *o = NULL;
                if (kube_get(c, &kube_namespaces, NULL, "default", &o, &ks) < 0) {
                        fprintf(stderr, "GET: %s\n", ks.message);
                        return 1;
                }
                cJSON_Delete(o);
        }
        t1 = now();
        rss2 = procmem_rss_kib();
        heap1 = mallinfo2().uordblks;
        kube_client_stats(c, &st);
        printf("gets=%ld seconds=%.3f gets_per_second=%.0f connections=%llu\n", n, t1 - t0,
               (double)n / (t1 - t0), (unsigned long long)st.connects);
        printf("rss_kib_before_client=%ld rss_kib_after_first_request=%ld "
               "rss_kib_after_%ld_gets=%ld\n",
               rss0, rss1, n, rss2);
        printf("client_heap_bytes=%zu\n", heap1 - heap0);
        kube_client_free(c);
        kube_config_free(cfg);
        curl_global_cleanup();
        return 0;
}
