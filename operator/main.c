/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "backup.h"
#include "karmada/etcd_restore.h"
#include "karmada/names.h"
#include "karmada/pki.h"
#include "kube/config.h"
#include "releases.h"
#include "render.h"
#include "status_report.h"
#include "runtime/log.h"
#include "karmada_controller/karmada_controller.h"
#include "runtime/manager.h"
#include "runtime/metrics.h"
#include "util/duration.h"
#include "util/keypool.h"
#include "util/seal.h"
#include "version.h"

/* The help text (--help); no format directives. */
static const char usage_text[] =
        "Usage: karmada-operator [--help | --version]\n"
        "       karmada-operator run [OPTIONS]\n"
        "       karmada-operator render -f FILE [--release FILE] [-o yaml|json] "
        "[--show-secrets]\n"
        "                               [--key-algorithm ALG]\n"
        "       karmada-operator render -f FILE --diff [--release FILE] [--kubeconfig PATH]\n"
        "                               [--context NAME] [--key-algorithm ALG]\n"
        "       karmada-operator releases [--kubeconfig PATH] [--context NAME]\n"
        "       karmada-operator status [-n NS | -A] [NAME] [-o text|json] [--kubeconfig PATH]\n"
        "                               [--context NAME]\n"
        "       karmada-operator etcd-restore OPTIONS  (the init container of restores)\n"
        "\n"
        "Runs Karmada control planes declared by Karmada custom resources\n"
        "(operator.karmada.io/v1alpha1) in a host cluster.\n"
        "\n"
        "Commands:\n"
        "  run                          run the operator until SIGTERM/SIGINT\n"
        "  render                       print every object the operator would apply for "
        "the\n"
        "                               Karmada objects in FILE (- for stdin), without a "
        "cluster;\n"
        "                               generated keys and certificates are masked unless\n"
        "                               --show-secrets\n"
        "  releases                     print the Karmada releases this operator runs and\n"
        "                               their images: the built-in ones (the newest patch\n"
        "                               of each minor; any patch of it runs the same way),\n"
        "                               and with a kubeconfig the KarmadaRelease objects\n"
        "  status                       one screen per Karmada instance: versions, Ready,\n"
        "                               Degraded and Upgrading, each component's replicas,\n"
        "                               image and pods not ready (and why), etcd members,\n"
        "                               soonest certificate expiry, last and next backup,\n"
        "                               the API server's URL and the member clusters (read\n"
        "                               through the admin kubeconfig); the instances of the\n"
        "                               context's namespace, or -A of every one; colour on a\n"
        "                               terminal unless $NO_COLOR; exit 0 when every one is\n"
        "                               healthy, 1 when one is not, 2 on an error. Also the\n"
        "                               kubectl plugin kubectl-karmada_operator\n"
        "  etcd-restore                 restore an etcd member's data directory from a\n"
        "                               backup's snapshot in S3, once: --data-dir D\n"
        "                               --name N --initial-cluster C\n"
        "                               --initial-advertise-peer-urls U --endpoint URL\n"
        "                               --bucket B [--region R] [--path-style] --key K\n"
        "                               --sha256 HEX [--bump-revision N] [--etcdutl "
        "PATH]\n"
        "                               [--sealed AAD];\n"
        "                               credentials from $AWS_ACCESS_KEY_ID and\n"
        "                               $AWS_SECRET_ACCESS_KEY, extra CAs from "
        "$S3_CA_BUNDLE;\n"
        "                               with --sealed the snapshot is sealed (bound to "
        "AAD)\n"
        "                               with the key in $BACKUP_ENCRYPTION_KEY (base64)\n"
        "\n"
        "Options of run:\n"
        "  --kubeconfig PATH            kubeconfig of the host cluster (default: "
        "$KUBECONFIG,\n"
        "                               then the in-cluster service account, then "
        "~/.kube/config)\n"
        "  --context NAME               kubeconfig context (default: its current-context)\n"
        "  --concurrency N              Karmada objects reconciled in parallel (default "
        "5)\n"
        "  --watch-namespace NS[,NS...] only the Karmada objects of these namespaces\n"
        "                               (default: $WATCH_NAMESPACE, set from OLM's\n"
        "                               olm.targetNamespaces; empty or unset: all)\n"
        "  --leader-elect BOOL          run leader election, so only one replica acts "
        "(default true)\n"
        "  --leader-election-namespace NS\n"
        "                               namespace of the Lease (default: the kubeconfig's "
        "or pod's)\n"
        "  --leader-election-id NAME    name of the Lease (default karmada-operator)\n"
        "  --leader-elect-lease-duration D   (default 15s)\n"
        "  --leader-elect-renew-deadline D   (default 10s)\n"
        "  --leader-elect-retry-period D     (default 2s)\n"
        "  --metrics-bind-address ADDR  /metrics, /healthz, /readyz (default :8080; 0 "
        "disables)\n"
        "  --health-probe-bind-address ADDR\n"
        "                               /healthz, /readyz (default :8081; 0 disables)\n"
        "  --kube-api-qps N             client-side limit of API requests per second "
        "(default 50)\n"
        "  --kube-api-burst N           (default 100)\n"
        "  --log-level LEVEL            error, warn, info or debug (default info)\n"
        "  --log-format FORMAT          auto, logfmt, json or journal (default auto: the "
        "journal\n"
        "                               when stderr is connected to it, else logfmt)\n"
        "  --cache-dir DIR              downloads (CRD tarballs); default "
        "$CACHE_DIRECTORY\n"
        "                               (systemd), else $XDG_CACHE_HOME/karmada-operator,\n"
        "                               else ~/.cache/karmada-operator, else\n"
        "                               /tmp/karmada-operator\n"
        "  --operator-image IMAGE       this operator's image, run as the init container "
        "that\n"
        "                               restores etcd from a backup (default\n"
        "                               $KARMADA_OPERATOR_IMAGE, else\n"
        "                               " KO_DEFAULT_IMAGE ")\n"
        "  --key-algorithm ALG          keys of new certificates: rsa (RSA-3072, as "
        "upstream;\n"
        "                               the default) or ecdsa (P-256); a Karmada object's\n"
        "                               operator.karmada.io/key-algorithm annotation wins\n"
        "  --key-pool-size N            private keys made ahead, per key type in use, by\n"
        "                               threads that take only idle CPU, so that a new\n"
        "                               instance does not wait for them (default 15, one\n"
        "                               instance's worth; 0 makes each when it is needed)\n"
        "\n"
        "Options of render:\n"
        "  -f, --filename FILE          YAML or JSON with one or more Karmada objects (and\n"
        "                               KarmadaRelease objects they may name)\n"
        "  --release FILE               KarmadaRelease objects (the release catalog) to\n"
        "                               resolve spec.karmadaVersion with\n"
        "  -o, --output FORMAT          yaml (default) or json: one List (--json: the same);\n"
        "                               the host cluster's objects come first, then those of\n"
        "                               the Karmada API server (in JSON annotated\n"
        "                               " KO_RENDER_TARGET_ANNOTATION "=karmada-apiserver)\n"
        "  --diff                       what the operator would change in the cluster of the\n"
        "                               kubeconfig (its host cluster): objects created (+),\n"
        "                               changed (~, each field, from a server-side-apply dry\n"
        "                               run) and deleted (-); Secrets' values never printed;\n"
        "                               the Karmada API server's objects not compared; exit\n"
        "                               0 when nothing would change, 1 when something would,\n"
        "                               2 on an error\n"
        "  --kubeconfig PATH, --context NAME  for --diff, as for run\n"
        "  --show-secrets               print the generated keys and certificates\n"
        "  --key-algorithm ALG          as for run\n"
        "\n"
        "A process that loses the lease exits with status 1 (its supervisor starts it "
        "again as a\n"
        "standby); SIGTERM finishes in-flight work, releases the lease and exits 0.\n"
        "\n"
        "Options:\n"
        "  -h, --help                   show this help and exit\n"
        "      --version                print the version and exit\n";

static void usage(FILE *f)
{
        fputs(usage_text, f);
}

enum {
        OPT_KUBECONFIG = 1000,
        OPT_CONTEXT,
        OPT_CONCURRENCY,
        OPT_LEADER_ELECT,
        OPT_LE_NAMESPACE,
        OPT_LE_ID,
        OPT_LE_LEASE,
        OPT_LE_RENEW,
        OPT_LE_RETRY,
        OPT_METRICS_ADDR,
        OPT_PROBE_ADDR,
        OPT_QPS,
        OPT_BURST,
        OPT_LOG_LEVEL,
        OPT_LOG_FORMAT,
        OPT_VERSION,
        OPT_KEY_ALG,
        OPT_KEY_POOL,
        OPT_CACHE_DIR,
        OPT_OPERATOR_IMAGE,
        OPT_WATCH_NS,
};

static int parse_key_alg(const char *v, enum pki_key_type *ret)
{
        if (strcmp(v, "rsa") == 0)
                *ret = PKI_RSA_3072;
        else if (strcmp(v, "ecdsa") == 0)
                *ret = PKI_ECDSA_P256;
        else {
                fprintf(stderr, "karmada-operator: --key-algorithm=%s: want rsa or ecdsa\n", v);
                return -EINVAL;
        }
        return 0;
}

struct run_args {
        struct kube_config_options kube;
        struct manager_options mgr;
        int concurrency;
        enum log_level log_level;
        enum log_format log_format;
        enum pki_key_type keys;
        int key_pool;
        const char *cache_dir;
        char cache_buf[4096];
        const char *watch_namespace;
};

/* --cache-dir, else systemd's CacheDirectory=, else the XDG cache, else /tmp */
static const char *default_cache_dir(char *buf, size_t size)
{
        const char *v;

        if ((v = secure_getenv("CACHE_DIRECTORY")) && *v)
                snprintf(buf, size, "%s", v);
        else if ((v = secure_getenv("XDG_CACHE_HOME")) && *v == '/')
                snprintf(buf, size, "%s/karmada-operator", v);
        else if ((v = secure_getenv("HOME")) && *v == '/' && strcmp(v, "/") != 0)
                snprintf(buf, size, "%s/.cache/karmada-operator", v);
        else
                snprintf(buf, size, "/tmp/karmada-operator");
        return buf;
}

static int bad(const char *flag, const char *value, const char *why)
{
        fprintf(stderr, "karmada-operator: --%s=%s: %s\n", flag, value, why);
        return -EINVAL;
}

#define NAMESPACES_WANTED "want namespace names (DNS labels), separated by commas, each once"

/* A comma-separated list of namespace names (RFC 1123 labels), none twice */
static bool namespaces_valid(const char *list)
{
        for (const char *p = list;; p++) {
                size_t len = strcspn(p, ",");
                if (len == 0 || len > 63 || !isalnum((unsigned char)p[0]) ||
                    !isalnum((unsigned char)p[len - 1]))
                        return false;
                for (size_t i = 0; i < len; i++)
                        if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) ||
                              p[i] == '-'))
                                return false;
                for (const char *q = list; q < p; q += strcspn(q, ",") + 1)
                        if (strcspn(q, ",") == len && strncmp(q, p, len) == 0)
                                return false;
                p += len;
                if (!*p)
                        return true;
        }
}

static int parse_long(const char *flag, const char *v, long min, long max, long *ret)
{
        char *end;
        long n;

        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < min || n > max)
                return bad(flag, v, "not a number in range");
        *ret = n;
        return 0;
}

static int parse_bool(const char *flag, const char *v, bool *ret)
{
        if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *ret = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *ret = false;
        else
                return bad(flag, v, "want true or false");
        return 0;
}

static int parse_duration(const char *flag, const char *v, long *ret)
{
        if (duration_parse_ms(v, ret) < 0 || *ret <= 0)
                return bad(flag, v, "not a positive duration (like 15s or 500ms)");
        return 0;
}

/* --kubeconfig and --context (run, render --diff, releases) into k; -ENOENT for another option */
static int kube_option(int c, char *arg, struct kube_config_options *k)
{
        if (c == OPT_KUBECONFIG)
                k->kubeconfig = arg;
        else if (c == OPT_CONTEXT)
                k->context = arg;
        else
                return -ENOENT;
        return 0;
}

/* The options of the API connection and the leader election; -ENOENT for another option. */
static int connection_option(int c, char *arg, struct run_args *a)
{
        long n = 0;
        int r = 0;

        switch (c) {
        case OPT_KUBECONFIG:
        case OPT_CONTEXT:
                return kube_option(c, arg, &a->kube);
        case OPT_QPS:
                r = parse_long("kube-api-qps", arg, 0, 100000, &n);
                a->mgr.qps = (double)n;
                break;
        case OPT_BURST:
                r = parse_long("kube-api-burst", arg, 0, 100000, &n);
                a->mgr.burst = (int)n;
                break;
        case OPT_LEADER_ELECT:
                r = parse_bool("leader-elect", arg, &a->mgr.leader_elect);
                break;
        case OPT_LE_NAMESPACE:
                a->mgr.leader_namespace = arg;
                break;
        case OPT_LE_ID:
                a->mgr.leader_name = arg;
                break;
        case OPT_LE_LEASE:
                r = parse_duration("leader-elect-lease-duration", arg, &a->mgr.lease_duration_ms);
                break;
        case OPT_LE_RENEW:
                r = parse_duration("leader-elect-renew-deadline", arg, &a->mgr.renew_deadline_ms);
                break;
        case OPT_LE_RETRY:
                r = parse_duration("leader-elect-retry-period", arg, &a->mgr.retry_period_ms);
                break;
        default:
                return -ENOENT;
        }
        return r;
}

/* The operator's own options; -ENOENT for another option. */
static int operator_option(int c, char *arg, struct run_args *a)
{
        long n = 0;
        int r = 0;

        switch (c) {
        case OPT_CONCURRENCY:
                r = parse_long("concurrency", arg, 1, 64, &n);
                a->concurrency = (int)n;
                break;
        case OPT_METRICS_ADDR:
                a->mgr.metrics_address = arg;
                break;
        case OPT_PROBE_ADDR:
                a->mgr.probe_address = arg;
                break;
        case OPT_LOG_LEVEL:
                if (log_parse_level(arg, &a->log_level) < 0)
                        r = bad("log-level", arg, "want error, warn, info or debug");
                break;
        case OPT_LOG_FORMAT:
                if (log_parse_format(arg, &a->log_format) < 0)
                        r = bad("log-format", arg, "want auto, logfmt, json or journal");
                break;
        case OPT_KEY_ALG:
                r = parse_key_alg(arg, &a->keys);
                break;
        case OPT_KEY_POOL:
                r = parse_long("key-pool-size", arg, 0, 1024, &n);
                a->key_pool = (int)n;
                break;
        case OPT_WATCH_NS:
                a->watch_namespace = *arg ? arg : NULL;
                if (*arg && !namespaces_valid(arg))
                        r = bad("watch-namespace", arg, NAMESPACES_WANTED);
                break;
        case OPT_OPERATOR_IMAGE:
                if (!arg[0] || strpbrk(arg, " \t\n"))
                        r = bad("operator-image", arg, "not an image reference");
                else
                        names_set_operator_image(arg);
                break;
        case OPT_CACHE_DIR:
                if (arg[0] != '/')
                        r = bad("cache-dir", arg, "want an absolute path");
                a->cache_dir = arg;
                break;
        default:
                return -ENOENT;
        }
        return r;
}

/* No --watch-namespace: $WATCH_NAMESPACE (OLM's olm.targetNamespaces, through the Deployment),
 * unless it is empty (all namespaces) */
static int watch_namespace_env(struct run_args *a)
{
        const char *v = secure_getenv("WATCH_NAMESPACE");

        if (!v || !*v)
                return 0;
        if (!namespaces_valid(v)) {
                fprintf(stderr, "karmada-operator: WATCH_NAMESPACE=%s: " NAMESPACES_WANTED "\n", v);
                return -EINVAL;
        }
        a->watch_namespace = v;
        return 0;
}

static int parse_run(int argc, char **argv, struct run_args *a)
{
        static const struct option opts[] = {
                {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
                {"context", required_argument, NULL, OPT_CONTEXT},
                {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
                {"leader-elect", optional_argument, NULL, OPT_LEADER_ELECT},
                {"leader-election-namespace", required_argument, NULL, OPT_LE_NAMESPACE},
                {"leader-election-id", required_argument, NULL, OPT_LE_ID},
                {"leader-elect-lease-duration", required_argument, NULL, OPT_LE_LEASE},
                {"leader-elect-renew-deadline", required_argument, NULL, OPT_LE_RENEW},
                {"leader-elect-retry-period", required_argument, NULL, OPT_LE_RETRY},
                {"metrics-bind-address", required_argument, NULL, OPT_METRICS_ADDR},
                {"health-probe-bind-address", required_argument, NULL, OPT_PROBE_ADDR},
                {"kube-api-qps", required_argument, NULL, OPT_QPS},
                {"kube-api-burst", required_argument, NULL, OPT_BURST},
                {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
                {"key-algorithm", required_argument, NULL, OPT_KEY_ALG},
                {"key-pool-size", required_argument, NULL, OPT_KEY_POOL},
                {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
                {"operator-image", required_argument, NULL, OPT_OPERATOR_IMAGE},
                {"watch-namespace", required_argument, NULL, OPT_WATCH_NS},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c, r = 0;

        *a = (struct run_args){
                .concurrency = 5,
                .key_pool = 15,
                .log_level = LOG_LEVEL_INFO,
                .log_format = LOG_FORMAT_AUTO,
                .mgr = {.leader_elect = true,
                        .qps = 50,
                        .burst = 100,
                        .lease_duration_ms = 15000,
                        .renew_deadline_ms = 10000,
                        .retry_period_ms = 2000},
        };
        optind = 1;
        while (r == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        usage(stdout);
                        exit(EXIT_SUCCESS);
                }
                r = connection_option(c, optarg, a);
                if (r == -ENOENT)
                        r = operator_option(c, optarg, a);
                if (r == -ENOENT)
                        return -EINVAL;
        }
        if (!a->cache_dir)
                a->cache_dir = default_cache_dir(a->cache_buf, sizeof(a->cache_buf));
        if (r == 0 && !a->watch_namespace)
                r = watch_namespace_env(a);
        if (r == 0 && optind < argc) {
                fprintf(stderr, "karmada-operator run: unexpected argument '%s'\n", argv[optind]);
                r = -EINVAL;
        }
        if (r == 0 && !(a->mgr.lease_duration_ms > a->mgr.renew_deadline_ms &&
                        a->mgr.renew_deadline_ms > a->mgr.retry_period_ms)) {
                fprintf(stderr,
                        "karmada-operator: need lease duration > renew deadline > retry period\n");
                r = -EINVAL;
        }
        return r;
}

/* The key pool's metrics, registered once, set at each scrape */
static struct {
        struct metric_family *ready, *total;
} keypool_metrics;

static void collect_keypool(void *userdata, struct metrics *mt)
{
        static const char *const names[KEYPOOL_TYPES] = {"rsa-3072", "ecdsa-p256"};
        struct keypool_stats st;

        (void)userdata;
        (void)mt;
        keypool_stats(&st);
        for (int t = 0; t < KEYPOOL_TYPES; t++) {
                metric_set(keypool_metrics.ready, (const char *const[]){names[t]}, st.ready[t]);
                metric_set(keypool_metrics.total, (const char *const[]){names[t], "pool"},
                           (double)st.taken[t]);
                metric_set(keypool_metrics.total, (const char *const[]){names[t], "made"},
                           (double)st.made[t]);
        }
}

static void register_keypool_metrics(struct metrics *mt)
{
        static const char *const type[] = {"type", NULL}, *const type_source[] = {"type", "source",
                                                                                  NULL};

        keypool_metrics.ready = metrics_family(
                mt, METRIC_GAUGE, "karmada_operator_key_pool_keys",
                "Private keys made ahead and not handed out yet, by key type.", type, NULL, 0);
        keypool_metrics.total = metrics_family(
                mt, METRIC_COUNTER, "karmada_operator_keys_total",
                "Private keys handed out for new certificates, by key type and source (pool: "
                "made ahead; made: the pool was empty).",
                type_source, NULL, 0);
        metrics_add_collector(mt, collect_keypool, NULL);
}

static int cmd_run(int argc, char **argv)
{
        struct kube_config *cfg = NULL;
        struct manager *m = NULL;
        struct run_args a;
        char err[1024];
        int r, status;

        if (parse_run(argc, argv, &a) < 0)
                return 2;
        log_setup(a.log_level, a.log_format);
        r = kube_config_load(&a.kube, &cfg, err, sizeof(err));
        if (r < 0) {
                log_error("cannot load the host cluster's configuration", "error", err);
                return 1;
        }
        if (cfg->insecure_skip_tls_verify)
                log_warn("TLS verification of the API server is off (insecure-skip-tls-verify in "
                         "the kubeconfig)",
                         "source", cfg->source);
        a.mgr.config = cfg;
        r = manager_new(&a.mgr, &m);
        if (r < 0) {
                log_error("cannot start", "error", strerror(-r));
                kube_config_free(cfg);
                return 1;
        }
        r = karmada_controller_setup(
                m, &(struct karmada_controller_options){.workers = a.concurrency,
                                                        .keys = a.keys,
                                                        .cache_dir = a.cache_dir,
                                                        .namespace = a.watch_namespace});
        if (r >= 0)
                r = backup_controller_setup(
                        m, &(struct backup_controller_options){.workers = a.concurrency,
                                                               .namespace = a.watch_namespace});
        if (r < 0) {
                log_error("cannot set up the controllers", "error", strerror(-r));
                manager_free(m);
                kube_config_free(cfg);
                return 1;
        }
        r = keypool_start(a.key_pool, 0,
                          a.keys == PKI_ECDSA_P256 ? KEYPOOL_ECDSA_P256 : KEYPOOL_RSA3072);
        if (r < 0)
                log_warn("no key pool: keys are made when needed", "error", strerror(-r));
        else
                register_keypool_metrics(manager_metrics(m));
        status = manager_run(m);
        keypool_stop();
        manager_free(m);
        kube_config_free(cfg);
        return status;
}

/* A command's client of the cluster of k (curl initialised first; the caller cleans up):
 * 0, or -1 with why said on stderr. timeout_ms 0: the client's default. */
static int cli_client(const char *cmd, const struct kube_config_options *k, long timeout_ms,
                      struct kube_config **cfg, struct kube_client **c)
{
        char err[512];

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kube_config_load(k, cfg, err, sizeof(err)) < 0) {
                fprintf(stderr, "karmada-operator %s: %s\n", cmd, err);
                return -1;
        }
        if (kube_client_new(
                    &(struct kube_client_options){.config = *cfg,
                                                  .timeout_ms = timeout_ms,
                                                  .connect_timeout_ms = timeout_ms ? 5000 : 0},
                    c) < 0) {
                fprintf(stderr, "karmada-operator %s: cannot make a client of %s\n", cmd,
                        (*cfg)->server);
                return -1;
        }
        return 0;
}

static int render_with(const char *file, bool diff, const struct kube_config_options *k,
                       struct render_options *o)
{
        struct kube_config *cfg = NULL;
        int status = diff && cli_client("render", k, 0, &cfg, &o->diff) < 0 ? 2 : 0;

        if (status == 0)
                status = render_manifests(file, o, stdout, stderr);
        kube_client_free(o->diff);
        kube_config_free(cfg);
        if (diff)
                curl_global_cleanup();
        return status;
}

static int cmd_render(int argc, char **argv)
{
        static const struct option opts[] = {
                {"filename", required_argument, NULL, 'f'},
                {"output", required_argument, NULL, 'o'},
                {"json", no_argument, NULL, 'j'},
                {"diff", no_argument, NULL, 'd'},
                {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
                {"context", required_argument, NULL, OPT_CONTEXT},
                {"show-secrets", no_argument, NULL, 's'},
                {"key-algorithm", required_argument, NULL, OPT_KEY_ALG},
                {"release", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct render_options o = {.keys = PKI_RSA_3072};
        struct kube_config_options k = {0};
        const char *file = NULL;
        bool diff = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        file = optarg;
                        break;
                case 'o':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "yaml") != 0) {
                                fprintf(stderr,
                                        "karmada-operator render: -o takes yaml or json, "
                                        "not '%s'\n",
                                        optarg);
                                return 2;
                        }
                        o.json = strcmp(optarg, "json") == 0;
                        break;
                case 'j':
                        o.json = true;
                        break;
                case 'd':
                        diff = true;
                        break;
                case OPT_KUBECONFIG:
                case OPT_CONTEXT:
                        kube_option(c, optarg, &k);
                        break;
                case 'r':
                        o.release_file = optarg;
                        break;
                case 's':
                        o.show_secrets = true;
                        break;
                case OPT_KEY_ALG:
                        if (parse_key_alg(optarg, &o.keys) < 0)
                                return 2;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        }
        if (!file || optind < argc) {
                fprintf(stderr, "karmada-operator render: need -f FILE and nothing else\n");
                return 2;
        }
        if (!diff && (k.kubeconfig || k.context)) {
                fprintf(stderr, "karmada-operator render: --kubeconfig and --context are for "
                                "--diff\n");
                return 2;
        }
        return render_with(file, diff, &k, &o);
}

static int cmd_releases(int argc, char **argv)
{
        static const struct option opts[] = {
                {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
                {"context", required_argument, NULL, OPT_CONTEXT},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct kube_config_options k = {0};
        int c, status;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case OPT_KUBECONFIG:
                case OPT_CONTEXT:
                        kube_option(c, optarg, &k);
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "karmada-operator releases: unexpected argument '%s'\n",
                        argv[optind]);
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        status = releases_print(&k, stdout, stderr);
        curl_global_cleanup();
        return status;
}

/* status: the client of the cluster, then the report; the exit status */
static int status_with(const struct kube_config_options *k, struct status_options *o)
{
        struct kube_config *cfg = NULL;
        struct kube_client *c = NULL;
        int status = 2;

        if (cli_client("status", k, 20000, &cfg, &c) == 0) {
                if (o->namespace && !*o->namespace) /* neither -n nor -A: the context's */
                        o->namespace = cfg->namespace;
                status = status_report(c, o, stdout, stderr);
        }
        kube_client_free(c);
        kube_config_free(cfg);
        curl_global_cleanup();
        return status;
}

static int cmd_status(int argc, char **argv)
{
        static const struct option opts[] = {
                {"namespace", required_argument, NULL, 'n'},
                {"all-namespaces", no_argument, NULL, 'A'},
                {"output", required_argument, NULL, 'o'},
                {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
                {"context", required_argument, NULL, OPT_CONTEXT},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        struct status_options o = {.namespace = ""};
        struct kube_config_options k = {0};
        bool all = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "n:Ao:h", opts, NULL)) != -1) {
                switch (c) {
                case 'n':
                        o.namespace = optarg;
                        break;
                case 'A':
                        all = true;
                        break;
                case 'o':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                                fprintf(stderr,
                                        "karmada-operator status: -o takes text or "
                                        "json, not '%s'\n",
                                        optarg);
                                return 2;
                        }
                        o.json = strcmp(optarg, "json") == 0;
                        break;
                case OPT_KUBECONFIG:
                case OPT_CONTEXT:
                        kube_option(c, optarg, &k);
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        }
        if (optind < argc)
                o.name = argv[optind++];
        if (optind < argc || (all && (*o.namespace || o.name))) {
                fprintf(stderr, "karmada-operator status: takes one NAME at most, and -A "
                                "neither -n nor a NAME\n");
                return 2;
        }
        if (all)
                o.namespace = NULL;
        o.color = !o.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        return status_with(&k, &o);
}

/* One option of etcd-restore into o and c; -EINVAL when it is not one or is wrong. */
static int restore_option(int opt, char *arg, struct etcd_restore_options *o, struct s3_client *c)
{
        long bump;

        switch (opt) {
        case 'd':
                o->data_dir = arg;
                break;
        case 'n':
                o->name = arg;
                break;
        case 'c':
                o->initial_cluster = arg;
                break;
        case 'u':
                o->advertise_peer_urls = arg;
                break;
        case 'e':
                c->target.endpoint = arg;
                break;
        case 'b':
                c->target.bucket = arg;
                break;
        case 'r':
                c->target.region = arg;
                break;
        case 'p':
                c->target.path_style = true;
                break;
        case 'k':
                o->key = arg;
                break;
        case 's':
                o->sha256 = arg;
                break;
        case 'E':
                o->etcdutl = arg;
                break;
        case 'S':
                o->aad = arg;
                break;
        case 'B':
                if (parse_long("bump-revision", arg, 1, 1L << 62, &bump) < 0)
                        return -EINVAL;
                o->bump_revision = bump;
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

/* --sealed: the snapshot's key, from $BACKUP_ENCRYPTION_KEY (base64 of 32 bytes) */
static int restore_key(struct etcd_restore_options *o)
{
        unsigned char *key = NULL;

        if (seal_key_decode(getenv("BACKUP_ENCRYPTION_KEY"), &key) < 0) {
                fprintf(stderr, "karmada-operator etcd-restore: --sealed needs "
                                "$BACKUP_ENCRYPTION_KEY, the base64 of the backup's 32-byte key\n");
                return -EINVAL;
        }
        o->seal_key = key;
        return 0;
}

static int cmd_etcd_restore(int argc, char **argv)
{
        static const struct option opts[] = {
                {"data-dir", required_argument, NULL, 'd'},
                {"name", required_argument, NULL, 'n'},
                {"initial-cluster", required_argument, NULL, 'c'},
                {"initial-advertise-peer-urls", required_argument, NULL, 'u'},
                {"endpoint", required_argument, NULL, 'e'},
                {"bucket", required_argument, NULL, 'b'},
                {"region", required_argument, NULL, 'r'},
                {"path-style", no_argument, NULL, 'p'},
                {"key", required_argument, NULL, 'k'},
                {"sha256", required_argument, NULL, 's'},
                {"bump-revision", required_argument, NULL, 'B'},
                {"etcdutl", required_argument, NULL, 'E'},
                {"sealed", required_argument, NULL, 'S'},
                {0},
        };
        struct etcd_restore_options o = {.etcdutl = "/usr/local/bin/etcdutl",
                                         .bump_revision = 1000000000};
        struct s3_client c = {0};
        const char *ca = getenv("S3_CA_BUNDLE");
        char err[1024] = "";
        int opt, r;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
                if (restore_option(opt, optarg, &o, &c) < 0)
                        return 2;
        /* a pod that starts again after its restore needs nothing else (the copied credentials
         * may be gone by then) */
        if (o.data_dir && etcd_restore_done(o.data_dir)) {
                fprintf(stderr,
                        "karmada-operator etcd-restore: %s/member exists: nothing to "
                        "restore\n",
                        o.data_dir);
                return 0;
        }
        c.access_key = getenv("AWS_ACCESS_KEY_ID");
        c.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
        if (ca && *ca) {
                c.ca_pem = ca;
                c.ca_len = strlen(ca);
        }
        if (!o.data_dir || !o.name || !o.initial_cluster || !o.advertise_peer_urls ||
            !c.target.endpoint || !c.target.bucket || !o.key || !o.sha256 || !c.access_key ||
            !c.secret_key) {
                fprintf(stderr, "karmada-operator etcd-restore: --data-dir, --name, "
                                "--initial-cluster, --initial-advertise-peer-urls, --endpoint, "
                                "--bucket, --key, --sha256, $AWS_ACCESS_KEY_ID and "
                                "$AWS_SECRET_ACCESS_KEY are required\n");
                return 2;
        }
        if (o.aad && restore_key(&o) < 0)
                return 2;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        r = etcd_restore_run(&c, &o, err, sizeof(err));
        curl_global_cleanup();
        if (o.seal_key)
                OPENSSL_cleanse((void *)o.seal_key, SEAL_KEY_LEN);
        free((void *)o.seal_key);
        if (r < 0) {
                fprintf(stderr, "karmada-operator etcd-restore: %s\n", err);
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {0},
        };
        int c, status;

        if (argc > 1 && strcmp(argv[1], "render") == 0)
                return cmd_render(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "releases") == 0)
                return cmd_releases(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "status") == 0)
                return cmd_status(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "etcd-restore") == 0)
                return cmd_etcd_restore(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "run") == 0) {
                /* two malloc arenas, not 8 per core: each thread that allocates would keep free
                 * chunks of its own (hack/bench-karmada.sh 5: private memory at rest 10.2 ->
                 * 8.2 MiB with 1 instance, 13.6 -> 11.6 with 5); MALLOC_ARENA_MAX overrides */
                if (!getenv("MALLOC_ARENA_MAX"))
                        mallopt(M_ARENA_MAX, 2);
                curl_global_init(CURL_GLOBAL_DEFAULT);
                status = cmd_run(argc - 1, argv + 1);
                curl_global_cleanup();
                return status;
        }
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                case OPT_VERSION:
                        printf("karmada-operator %s\n", KO_VERSION);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc)
                fprintf(stderr, "karmada-operator: unknown command '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
}
