/* SPDX-License-Identifier: Apache-2.0 */
/* Where the API server is and how to authenticate: kubeconfig files (merged as kubectl does)
 * and in-cluster service-account configuration. All TLS material is kept in memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kube_config {
        char *server;                  /* "https://host:port" without a trailing slash */
        char *tls_server_name;         /* SNI / verified name override, or NULL */
        bool insecure_skip_tls_verify; /* only when the kubeconfig says so explicitly */
        unsigned char *ca;             /* PEM bundle; NULL = system trust store */
        size_t ca_len;
        unsigned char *client_cert; /* PEM */
        size_t client_cert_len;
        unsigned char *client_key; /* PEM; secret */
        size_t client_key_len;
        char *token;      /* bearer token; secret */
        char *token_file; /* bearer token file, re-read by the client as it rotates */
        char *namespace;  /* the context's namespace, "default" when unset */
        char *context;    /* context name, or "in-cluster" */
        char *source;     /* the file(s) it came from, for messages */
};

struct kube_config_options {
        const char *kubeconfig; /* --kubeconfig: exactly this file */
        const char *context;    /* --context: instead of current-context */
        /* Without kubeconfig: $KUBECONFIG (':'-separated, merged, first wins), then the
         * in-cluster configuration, then ~/.kube/config. */
};

/* All errors are negative errno values; err receives a message naming the file and key. */
int kube_config_load(const struct kube_config_options *opts, struct kube_config **ret, char *err,
                     size_t errlen);

/* A kubeconfig held in memory (e.g. from a Secret). name is used in messages. Paths to files
 * (certificate-authority, client-key, tokenFile, ...) are refused: the content is untrusted. */
int kube_config_from_memory(const char *buf, size_t len, const char *name, const char *context,
                            struct kube_config **ret, char *err, size_t errlen);

/* The service-account configuration of a pod. dir NULL means
 * /var/run/secrets/kubernetes.io/serviceaccount. */
int kube_config_in_cluster(const char *dir, struct kube_config **ret, char *err, size_t errlen);

/* Wipes the secrets before freeing. Accepts NULL. */
void kube_config_free(struct kube_config *c);
