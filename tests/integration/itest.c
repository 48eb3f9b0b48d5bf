/* SPDX-License-Identifier: Apache-2.0 */
#include "itest.h"

#include "audit.h"

#include <curl/curl.h>

#include "karmada/spec.h"
#include "karmada/versions.h"
#include "util/digest.h"
#include "kube/client.h"
#include "util/fileio.h"
#include "util/s3.h"
#include "util/strbuf.h"
#include "util/yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *state_dir(void)
{
        const char *d = getenv("KO_TEST_CLUSTER");

        if (!d || !*d)
                IT_FAIL("KO_TEST_CLUSTER is not set (run through ctest, which brings the cluster "
                        "up)");
        return d;
}

const char *itest_kubeconfig(void)
{
        static char path[4096];

        snprintf(path, sizeof(path), "%s/kubeconfig/admin", state_dir());
        if (access(path, R_OK) != 0)
                IT_FAIL("%s: not readable; is the test cluster up?", path);
        return path;
}

const char *itest_cluster_var(const char *name)
{
        static char values[16][256];
        static int slot;
        char path[4096], line[512];
        size_t n = strlen(name);
        FILE *f;

        snprintf(path, sizeof(path), "%s/cluster.env", state_dir());
        f = fopen(path, "re");
        if (!f)
                IT_FAIL("%s: cannot open", path);
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, name, n) == 0 && line[n] == '=') {
                        char *v = values[slot++ % 16];
                        snprintf(v, 256, "%s", line + n + 1);
                        v[strcspn(v, "\n")] = '\0';
                        fclose(f);
                        return v;
                }
        }
        fclose(f);
        IT_FAIL("%s: no %s", path, name);
}

int itest_cluster_ctl(const char *verb, const char *component)
{
        return itest_cluster_ctl_flag(verb, component, NULL);
}

int itest_cluster_ctl_flag(const char *verb, const char *component, const char *flag)
{
        return itest_cluster_ctl_in(state_dir(), verb, component, flag);
}

int itest_cluster_ctl_in(const char *dir, const char *verb, const char *component, const char *flag)
{
        const char *hack = getenv("KO_HACK_DIR");
        char script[4096];
        int status;
        pid_t pid;

        snprintf(script, sizeof(script), "%s/cluster.sh", hack ? hack : "hack");
        pid = fork();
        if (pid < 0)
                IT_FAIL("fork: %m");
        if (pid == 0) {
                const char *argv[7];
                int n = 0;

                argv[n++] = script;
                argv[n++] = verb;
                argv[n++] = component;
                if (flag)
                        argv[n++] = flag;
                argv[n++] = "--state-dir";
                argv[n++] = dir;
                argv[n] = NULL;
                dup2(STDERR_FILENO, STDOUT_FILENO);
                execv(script, (char *const *)argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                IT_FAIL("waitpid: %m");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

const char *itest_unique_name(const char *prefix)
{
        static char names[8][64];
        static int n;
        char *s = names[n % 8];

        snprintf(s, 64, "%s-%ld-%d", prefix, (long)getpid(), n);
        n++;
        return s;
}

double itest_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void itest_log(const char *fmt, ...)
{
        char stamp[16] = "";
        time_t now = time(NULL);
        struct tm tm;
        va_list ap;

        /* the time of day, as hack/'s scripts log it: where a test spends its time shows */
        if (localtime_r(&now, &tm))
                strftime(stamp, sizeof(stamp), "%H:%M:%S ", &tm);
        fprintf(stderr, "-- %s", stamp);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

pid_t itest_spawn(char *const argv[], const char *log, char *const env[])
{
        pid_t pid = fork();

        if (pid < 0)
                IT_FAIL("fork: %m");
        if (pid == 0) {
                if (log) {
                        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                        if (fd < 0)
                                _exit(127);
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                for (char *const *e = env; e && *e; e++)
                        putenv(*e);
                /* unblock what the test may have blocked */
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

int itest_wait_exit(pid_t pid, double timeout)
{
        double deadline = itest_now() + timeout;
        int status;

        while (itest_now() < deadline) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                if (r < 0 && errno == ECHILD)
                        return -1; /* reaped already */
                if (r < 0 && errno != EINTR)
                        IT_FAIL("waitpid %d: %m", (int)pid);
                usleep(20 * 1000);
        }
        return -1;
}

int itest_run(char *const argv[], char *const env[], double timeout, char **out)
{
        char log[256];
        size_t len = 0;
        int rc;

        snprintf(log, sizeof(log), "/tmp/ko-itest-run-%d.out", (int)getpid());
        unlink(log);
        rc = itest_wait_exit(itest_spawn(argv, log, env), timeout);
        if (fileio_read(log, 1u << 20, out, &len) < 0)
                *out = strdup("");
        unlink(log);
        return rc;
}

int itest_free_port(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                IT_FAIL("free port: %m");
        close(fd);
        return ntohs(a.sin_port);
}

const char *itest_operator_bin(void)
{
        const char *b = getenv("KO_OPERATOR_BIN");

        if (!b || access(b, X_OK) != 0)
                IT_FAIL("KO_OPERATOR_BIN is not an executable (run through ctest)");
        return b;
}

static size_t to_strbuf(char *data, size_t size, size_t n, void *userdata)
{
        return strbuf_append(userdata, data, size * n) == 0 ? size * n : 0;
}

long itest_http_get(int port, const char *path, struct strbuf *out)
{
        CURL *h = curl_easy_init();
        char url[256];
        long code = 0;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_strbuf);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
        if (curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        return code;
}

static bool established(const cJSON *crd)
{
        const cJSON *c;

        cJSON_ArrayForEach (c,
                            cJSON_GetObjectItem(cJSON_GetObjectItem(crd, "status"), "conditions")) {
                const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(c, "type"));
                const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(c, "status"));
                if (t && v && strcmp(t, "Established") == 0 && strcmp(v, "True") == 0)
                        return true;
        }
        return false;
}

void itest_apply_crds(struct kube_client *kc)
{
        static const char *const files[] = {"operator.karmada.io_karmadas.yaml",
                                            "operator.karmada.io_karmadabackups.yaml",
                                            "operator.karmada.io_karmadabackupschedules.yaml",
                                            "operator.karmada.io_karmadareleases.yaml", NULL};
        struct kube_write_options wo = {.field_manager = "itest", .force = true};
        double t0 = itest_now();

        for (const char *const *f = files; *f; f++) {
                char path[4096], *text = NULL, err[512];
                size_t len;
                cJSON *crd = NULL;
                struct kube_status st;

                snprintf(path, sizeof(path), "%s/crds/%s", KO_SOURCE_DIR, *f);
                if (fileio_read(path, 16u << 20, &text, &len) < 0 ||
                    yaml_parse_one(text, len, path, NULL, &crd, err, sizeof(err)) < 0)
                        IT_FAIL("%s: cannot load", path);
                free(text);
                if (kube_apply(kc, &kube_crds, NULL, crd, &wo, NULL, &st) < 0)
                        IT_FAIL("apply %s: %s", path, st.message);
                cJSON_Delete(crd);
        }
        for (const char *const *f = files; *f; f++) { /* served once Established */
                char name[256];
                const char *u = strchr(*f, '_');
                snprintf(name, sizeof(name), "%.*s.operator.karmada.io",
                         (int)(strlen(u + 1) - strlen(".yaml")), u + 1);
                for (;;) {
                        cJSON *crd = NULL;
                        bool ok = kube_get(kc, &kube_crds, NULL, name, &crd, NULL) == 0 &&
                                  established(crd);
                        cJSON_Delete(crd);
                        if (ok)
                                break;
                        if (itest_now() - t0 > 30)
                                IT_FAIL("the CRD %s is not established after 30s", name);
                        usleep(200 * 1000);
                }
        }
}

const char *itest_crd_tarball(const char *version)
{
        static char bufs[4][1024];
        static int slot;
        const char *dir = getenv("KO_KARMADA_CRDS_DIR");
        char *b = bufs[slot++ % 4];

        if (!dir || !*dir)
                IT_FAIL("KO_KARMADA_CRDS_DIR is not set (hack/karmada-crds.sh)");
        snprintf(b, 1024, "%s/%s/crds.tar.gz", dir, version);
        if (access(b, R_OK) < 0)
                IT_FAIL("%s: %s (hack/karmada-crds.sh %s)", b, strerror(errno), version);
        return b;
}

static char cache_dir[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st, (void)flag, (void)f;
        return remove(p);
}

int itest_file_lines(const char *path, long from, const char *a, const char *b)
{
        char *text = NULL, *line, *save = NULL;
        size_t len = 0;
        int n = 0;

        IT_ASSERT(fileio_read(path, 256u << 20, &text, &len) == 0, "read %s", path);
        for (line = strtok_r(text + ((size_t)from < len ? (size_t)from : len), "\n", &save); line;
             line = strtok_r(NULL, "\n", &save))
                n += strstr(line, a) && (!b || strstr(line, b));
        free(text);
        return n;
}

void itest_rm_rf(const char *path)
{
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cache_cleanup(void)
{
        if (cache_dir[0])
                itest_rm_rf(cache_dir);
}

const char *itest_operator_cache(void)
{
        /* "http://local": what upstream's e2e tests put in its sample (and its cache) */
        static const char *const versions[] = {"v1.18.2", "v1.18.1",      "v1.17.1",
                                               "v1.16.0", "http://local", NULL};

        if (cache_dir[0])
                return cache_dir;
        snprintf(cache_dir, sizeof(cache_dir), "/tmp/ko-itest-cache-%d", (int)getpid());
        atexit(cache_cleanup);
        for (const char *const *v = versions; *v; v++) {
                char url[256], sum[SHA256_HEX_LEN], path[1024], *bytes = NULL;
                size_t len = 0;
                FILE *f;
                bool is_url = strncmp(*v, "http", 4) == 0;
                if (is_url)
                        snprintf(url, sizeof(url), "%s", *v);
                else
                        release_crd_url(*v, url, sizeof(url));
                sha256_hex(url, strlen(url), sum);
                snprintf(path, sizeof(path), "%s/crds/%s", cache_dir, sum);
                IT_ASSERT(fileio_mkdir_p(path, 0700) == 0, "mkdir %s", path);
                IT_ASSERT(fileio_read(itest_crd_tarball(is_url ? "v1.18.2" : *v), 256u << 20,
                                      &bytes, &len) == 0,
                          "read the CRD tarball");
                snprintf(path, sizeof(path), "%s/crds/%s/crds.tar.gz", cache_dir, sum);
                f = fopen(path, "we");
                IT_ASSERT(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0, "seed %s", path);
                free(bytes);
        }
        return cache_dir;
}

const char *itest_s3_env_or_empty(const char *key)
{
        static char values[32][512]; /* each call's own: they stay valid */
        static int used;
        char path[1024], line[1024], *v;
        size_t n = strlen(key);
        FILE *f;

        IT_ASSERT(used < 32, "more than 32 itest_s3_env calls");
        v = values[used++];
        snprintf(path, sizeof(path), "%s/s3.env", state_dir());
        f = fopen(path, "re");
        v[0] = '\0';
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, n) == 0 && line[n] == '=') {
                        snprintf(v, sizeof(values[0]), "%s", line + n + 1);
                        v[strcspn(v, "\n")] = '\0';
                }
        if (f)
                fclose(f);
        return v;
}

const char *itest_s3_env(const char *key)
{
        const char *v = itest_s3_env_or_empty(key);

        IT_ASSERT(v[0], "%s in %s/s3.env (hack/s3.sh)", key, state_dir());
        return v;
}

void itest_s3_client(struct s3_client *c)
{
        *c = (struct s3_client){
                .target = {itest_s3_env("S3_ENDPOINT"), itest_s3_env("S3_BUCKET"), NULL, true},
                .access_key = itest_s3_env("S3_ACCESS_KEY"),
                .secret_key = itest_s3_env("S3_SECRET_KEY")};
}

/* With ko-plane, the operator resolves Service and pod names as in a pod: through the plane's
 * hosts file, bind-mounted on /etc/hosts in a mount namespace of its own. The wrapper's argv
 * into argv; how many. */
static int hosts_wrapper(char **argv, char *hosts, size_t size)
{
        static char *const wrap[] = {
                "/usr/bin/unshare", NULL, "--",
                "/bin/sh",          "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\""};
        const char *cluster = getenv("KO_TEST_CLUSTER");
        int n = 0;

        snprintf(hosts, size, "%s/plane/hosts", cluster ? cluster : "/nonexistent");
        if (cluster && access(hosts, F_OK) < 0) {
                char pids[1024]; /* ko-plane may be starting: it writes the file first */
                snprintf(pids, sizeof(pids), "%s/pids/ko-plane", cluster);
                for (int i = 0; i < 50 && access(pids, F_OK) == 0 && access(hosts, F_OK) < 0; i++)
                        usleep(100 * 1000);
        }
        if (access(hosts, R_OK) != 0)
                return 0;
        for (size_t i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++)
                argv[n++] = i == 1 ? (geteuid() == 0 ? "-m" : "-rm") : wrap[i];
        argv[n++] = hosts;
        return n;
}

/* "--flag value" when there is a value */
static void flag(char **argv, int *n, const char *name, const char *value)
{
        if (!value)
                return;
        argv[(*n)++] = (char *)name;
        argv[(*n)++] = (char *)value;
}

pid_t itest_start_operator(const struct itest_operator *o)
{
        char *argv[56] = {0}, hosts[1024], mport[32] = "0", pport[32] = "0", lease[16], renew[16];
        int n = o->plane_hosts ? hosts_wrapper(argv, hosts, sizeof(hosts)) : 0;

        if (o->metrics_port)
                snprintf(mport, sizeof(mport), "127.0.0.1:%d", o->metrics_port);
        if (o->probe_port)
                snprintf(pport, sizeof(pport), "127.0.0.1:%d", o->probe_port);
        argv[n++] = (char *)(o->bin ? o->bin : itest_operator_bin());
        argv[n++] = "run";
        flag(argv, &n, "--kubeconfig", o->kubeconfig ? o->kubeconfig : audit_operator_kubeconfig());
        flag(argv, &n, "--leader-election-namespace", o->lease_ns);
        flag(argv, &n, "--leader-election-id", o->lease_id);
        flag(argv, &n, "--watch-namespace", o->watch_ns);
        flag(argv, &n, "--metrics-bind-address", mport);
        flag(argv, &n, "--health-probe-bind-address", pport);
        flag(argv, &n, "--key-algorithm", o->keys);
        flag(argv, &n, "--log-level", o->log_level);
        flag(argv, &n, "--cache-dir", o->cache);
        if (o->lease_seconds > 0) {
                snprintf(lease, sizeof(lease), "%ds", o->lease_seconds);
                snprintf(renew, sizeof(renew), "%ds", o->lease_seconds * 2 / 3);
                flag(argv, &n, "--leader-elect-lease-duration", lease);
                flag(argv, &n, "--leader-elect-renew-deadline", renew);
                flag(argv, &n, "--leader-elect-retry-period", "1s");
        }
        return itest_spawn(argv, o->log, o->env);
}
