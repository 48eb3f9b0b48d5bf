/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane's fronts, for hack/bench-scale.sh: a hundred instances' Karmada API servers do not fit
 * on two cores, so with --front-to NS only the instance in NS runs its kube-apiserver,
 * karmada-aggregated-apiserver and karmada-metrics-adapter for real. Each other instance's pods
 * of those images run socat instead: a TLS front at the pod's address and port that presents
 * the pod's own serving certificate and checks callers against the pod's own client CA, then
 * forwards to the real server of the same image in NS, as a client of NS's CA:
 *
 *   kube-apiserver       callers: the operator, with that instance's admin certificate;
 *                        forwarded as NS's system:masters client (karmada.crt)
 *   aggregated, metrics  callers: NS's kube-apiserver, with its front-proxy client certificate
 *                        (the APIServices of every instance point at their own pods, so the
 *                        last instance to write one is the one the shared server calls);
 *                        forwarded with that same certificate, so the real server still
 *                        authenticates the request headers
 *
 * Every other pod of those instances (etcd, the controllers) is simulated: ready at once. The
 * operator sees each instance's own address, certificates and CA; what answers is one real
 * Karmada API server, which every instance's objects in the Karmada API server share. */
#include "plane_front.h"
#include "plane_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

enum { FRONT_APISERVER, FRONT_AGGREGATED, FRONT_METRICS, FRONT_N };

static const char *const images[FRONT_N] = {"kube-apiserver", "karmada-aggregated-apiserver",
                                            "karmada-metrics-adapter"};

struct backend {
        char ip[32];
        int port;
        char pki[4096]; /* the directory of its serving certificate (NS's certificate Secret) */
};

struct fronts {
        char ns[64];
        struct backend be[FRONT_N];
};

struct fronts *fronts_new(const char *ns)
{
        struct fronts *f = calloc(1, sizeof(*f));

        if (f)
                snprintf(f->ns, sizeof(f->ns), "%s", ns);
        return f;
}

void fronts_free(struct fronts *f)
{
        free(f);
}

/* which of images ref names, or -1 */
static int image_index(const char *ref)
{
        for (int i = 0; i < FRONT_N; i++)
                if (image_named(ref, images[i]))
                        return i;
        return -1;
}

bool fronts_runs(const struct fronts *f, const char *ns, const char *ref)
{
        return !f || strcmp(ns, f->ns) == 0 || image_index(ref) >= 0;
}

bool fronts_is_front(const struct fronts *f, const char *ns, const char *ref)
{
        return f && strcmp(ns, f->ns) != 0 && image_index(ref) >= 0;
}

/* the value of --name=VALUE among argv[first..argc), or NULL */
static const char *flag(char **argv, int first, int argc, const char *name)
{
        size_t len = strlen(name);

        for (int i = first; i < argc; i++)
                if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
                        return argv[i] + len + 1;
        return NULL;
}

/* note where the real server of image i serves */
static void note_backend(struct fronts *f, int i, const char *ip, char **argv, int first, int argc)
{
        const char *cert = flag(argv, first, argc, "--tls-cert-file");
        const char *port = flag(argv, first, argc, "--secure-port");
        const char *slash = cert ? strrchr(cert, '/') : NULL;
        struct backend *b = &f->be[i];

        snprintf(b->ip, sizeof(b->ip), "%s", ip);
        b->port = port ? (int)strtol(port, NULL, 10) : 443;
        snprintf(b->pki, sizeof(b->pki), "%.*s", slash ? (int)(slash - cert) : 0, cert ? cert : "");
}

int fronts_argv(struct fronts *f, const char *ns, const char *ip, const char *ref, char **argv,
                int first, int *argc, int max, struct strbuf *sum)
{
        int i = image_index(ref);
        const struct backend *b = &f->be[i < 0 ? 0 : i], *api = &f->be[FRONT_APISERVER];
        const char *cert, *key, *ca, *port,
                *client = i == FRONT_APISERVER ? "karmada" : "front-proxy-client";
        struct strbuf listen = {0}, to = {0};
        char fpca[4200];

        if (i < 0)
                return 0;
        if (strcmp(ns, f->ns) == 0) {
                note_backend(f, i, ip, argv, first, *argc);
                return 0;
        }
        if (!b->port || !api->pki[0] || first + 6 > max)
                return -EAGAIN;
        cert = flag(argv, first, *argc, "--tls-cert-file");
        key = flag(argv, first, *argc, "--tls-private-key-file");
        port = flag(argv, first, *argc, "--secure-port");
        snprintf(fpca, sizeof(fpca), "%s/front-proxy-ca-trust.crt", api->pki);
        /* the kube-apiserver's callers hold the instance's client certificates; the others' are
         * NS's kube-apiserver, with its front-proxy client certificate */
        ca = i == FRONT_APISERVER ? flag(argv, first, *argc, "--client-ca-file") : fpca;
        if (!cert || !key || !ca)
                return -EINVAL;
        strbuf_printf(&listen,
                      "OPENSSL-LISTEN:%s,bind=%s,reuseaddr,reuseport,fork,cert=%s,key=%s,"
                      "cafile=%s,verify=1",
                      port ? port : "443", ip, cert, key, ca);
        strbuf_printf(&to,
                      "OPENSSL:%s:%d,cert=%s/%s.crt,key=%s/%s.key,cafile=%s/ca-trust.crt,"
                      "commonname=localhost",
                      b->ip, b->port, api->pki, client, api->pki, client, api->pki);
        if (!listen.buf || !to.buf) {
                strbuf_free(&listen);
                strbuf_free(&to);
                return -ENOMEM;
        }
        for (int j = first; j < *argc; j++)
                free(argv[j]);
        argv[first] = strdup("socat");
        argv[first + 1] = strdup("-d");
        argv[first + 2] = strdup("-d");
        argv[first + 3] = strbuf_steal(&listen);
        argv[first + 4] = strbuf_steal(&to);
        argv[first + 5] = NULL;
        *argc = first + 5;
        strbuf_printf(sum, "\nfront to %s:%d", b->ip, b->port);
        return 0;
}
