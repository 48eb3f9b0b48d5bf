/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for integration tests against the local cluster of hack/cluster.sh. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/* Print "FAIL file:line: message" and exit 1. */
#define IT_FAIL(...)                                                 \
        do {                                                         \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                        \
                fputc('\n', stderr);                                 \
                exit(1);                                             \
        } while (0)

#define IT_ASSERT(cond, ...)                                                                       \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "FAIL %s:%d: '%s' is false: ", __FILE__, __LINE__, #cond); \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fputc('\n', stderr);                                                       \
                        exit(1);                                                                   \
                }                                                                                  \
        } while (0)

/* The admin kubeconfig of the shared test cluster ($KO_TEST_CLUSTER/kubeconfig/admin). */
const char *itest_kubeconfig(void);
/* A value of the cluster's cluster.env (e.g. "API_PORT"); exits when missing. */
const char *itest_cluster_var(const char *name);
/* Run hack/cluster.sh VERB COMPONENT on the shared cluster (stop/start a component). */
int itest_cluster_ctl(const char *verb, const char *component);
/* The same with one more flag ("--restricted") */
int itest_cluster_ctl_flag(const char *verb, const char *component, const char *flag);
/* The same on the cluster of state directory dir (another cluster than the shared one) */
int itest_cluster_ctl_in(const char *dir, const char *verb, const char *component,
                         const char *flag);
/* A DNS-1123 name unique to this run: "<prefix>-<pid>-<n>". Static buffer per call slot. */
const char *itest_unique_name(const char *prefix);
/* Monotonic seconds. */
double itest_now(void);
/* Start a program with stdout/stderr appended to log (NULL: inherit), with extra environment
 * entries ("K=V", NULL-terminated, may be NULL). */
pid_t itest_spawn(char *const argv[], const char *log, char *const env[]);
/* Wait for pid to exit, at most timeout seconds; returns the exit status, 128+signal, or -1
 * on timeout (the process is left running) or when it was reaped already. */
int itest_wait_exit(pid_t pid, double timeout);
/* Run argv (env: "K=V" entries added, or NULL) for at most timeout seconds: its exit status as
 * itest_wait_exit's, and its output (stdout and stderr, as written; "" when none) in *out, which
 * the caller frees. */
int itest_run(char *const argv[], char *const env[], double timeout, char **out);
/* A free TCP port on 127.0.0.1 (bind to 0, read, close). */
int itest_free_port(void);
/* rm -rf */
void itest_rm_rf(const char *path);
/* How many lines of the file at path, after its byte `from`, hold a and b (b NULL: a alone);
 * exits when it cannot be read. */
int itest_file_lines(const char *path, long from, const char *a, const char *b);
/* The karmada-operator binary under test ($KO_OPERATOR_BIN). */
const char *itest_operator_bin(void);
/* How a test runs the operator (`karmada-operator run`). */
struct itest_operator {
        const char *bin;        /* NULL: itest_operator_bin() */
        const char *kubeconfig; /* NULL: the operator's own user (audit_operator_kubeconfig) */
        const char *lease_ns;   /* --leader-election-namespace */
        const char *lease_id;   /* --leader-election-id, or NULL */
        const char *watch_ns;   /* --watch-namespace, or NULL: every namespace */
        const char *cache;      /* --cache-dir, or NULL */
        const char *keys;       /* --key-algorithm, or NULL */
        const char *log_level;  /* --log-level, or NULL */
        int lease_seconds; /* --leader-elect-lease-duration (renew deadline 2/3 of it, retry 1 s);
                              0: the defaults */
        int metrics_port, probe_port; /* on 127.0.0.1; 0: none */
        bool plane_hosts;             /* names resolve through ko-plane's hosts file, as in a pod */
        char *const *env;             /* extra environment ("K=V", NULL-terminated), or NULL */
        const char *log;              /* where its output goes */
};
/* Start it; its pid. */
pid_t itest_start_operator(const struct itest_operator *o);
/* GET http://127.0.0.1:port/path (2 s timeout); the status (0: no answer), body appended to
 * out (a struct strbuf). */
struct strbuf;
long itest_http_get(int port, const char *path, struct strbuf *out);
/* Apply the operator's CRDs (the files in crds/) and wait until they are served. */
struct kube_client;
void itest_apply_crds(struct kube_client *kc);
/* Karmada's crds.tar.gz of a release ($KO_KARMADA_CRDS_DIR, from hack/karmada-crds.sh). */
const char *itest_crd_tarball(const char *version);
/* A cache directory for the operator (--cache-dir), seeded with the CRD tarballs of v1.18.2,
 * v1.18.1, v1.17.1 and v1.16.0 under their default URLs (and v1.18.2's under "http://local", as
 * upstream's tests do), as if downloaded before: instances without spec.crdTarball then need no
 * network. Removed at exit. */
const char *itest_operator_cache(void);
/* Log a progress line to stderr. */
void itest_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A client of the S3 server of hack/s3.sh ($KO_TEST_CLUSTER/s3.env; the `s3` fixture). */
struct s3_client;
/* A variable of $KO_TEST_CLUSTER/s3.env (S3_TLS_ENDPOINT, S3_CA_FILE, ...); fails when absent. */
const char *itest_s3_env(const char *key);
/* The same, "" when the store or the key is not there */
const char *itest_s3_env_or_empty(const char *key);
void itest_s3_client(struct s3_client *c);
