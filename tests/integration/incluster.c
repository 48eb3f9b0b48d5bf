/* SPDX-License-Identifier: Apache-2.0 */
#include "incluster.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "util/fileio.h"

#define MAX_ARGS 32

/* argv[0] as a path: KO_HACK_DIR/argv[0] */
static void hack_path(char *buf, size_t size, const char *script)
{
        const char *hack = getenv("KO_HACK_DIR");

        snprintf(buf, size, "%s/%s", hack ? hack : "hack", script);
}

/* Run argv with stdout into the file `out` (stderr: the test's own), at most timeout s. */
static int run_to(const char *out, double timeout, char *const *argv)
{
        pid_t pid = fork();

        IT_ASSERT(pid >= 0, "fork");
        if (pid == 0) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        return itest_wait_exit(pid, timeout);
}

/* The file's text (trailing blanks cut), removed; "" when unreadable. */
static char *take(const char *path)
{
        char *text = NULL;
        size_t len = 0;

        if (fileio_read(path, 16u << 20, &text, &len) < 0)
                return strdup("");
        unlink(path);
        while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = '\0';
        return text;
}

int incluster_kubectl(char **out, const char *const *args)
{
        char log[256], script[1024], *argv[MAX_ARGS + 6];
        const char *state = getenv("KO_TEST_CLUSTER");
        size_t n = 0;
        int rc;

        hack_path(script, sizeof(script), "cluster.sh");
        snprintf(log, sizeof(log), "/tmp/ko-kubectl-%d.out", (int)getpid());
        unlink(log);
        argv[n++] = script;
        argv[n++] = "kubectl";
        argv[n++] = "--state-dir";
        argv[n++] = (char *)state;
        argv[n++] = "--";
        for (; *args && n < MAX_ARGS + 4; args++)
                argv[n++] = (char *)*args;
        argv[n] = NULL;
        rc = itest_wait_exit(itest_spawn(argv, log, NULL), 120);
        if (out)
                *out = take(log);
        unlink(log);
        return rc;
}

char *incluster_state_file(const char *name)
{
        char path[512], *text = NULL;
        size_t len;

        snprintf(path, sizeof(path), "%s/%s", getenv("KO_TEST_CLUSTER"), name);
        IT_ASSERT(fileio_read(path, 512u << 20, &text, &len) == 0, "read %s", path);
        while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = '\0';
        return text;
}

char *incluster_registry(void)
{
        char *env = incluster_state_file("registry.env"), *reg = strstr(env, "REGISTRY="), *r;

        IT_ASSERT(reg, "REGISTRY in registry.env (the plane fixture runs with --registry)");
        reg += strlen("REGISTRY=");
        reg[strcspn(reg, "\n")] = '\0';
        r = strdup(reg);
        free(env);
        return r;
}

void incluster_hack(char **out, double timeout, const char *const *args)
{
        char script[1024], path[256], *argv[MAX_ARGS + 2];
        size_t n = 0;
        int rc;

        hack_path(script, sizeof(script), args[0]);
        argv[n++] = script;
        for (args++; *args && n < MAX_ARGS; args++)
                argv[n++] = (char *)*args;
        argv[n] = NULL;
        snprintf(path, sizeof(path), "/tmp/ko-hack-%d.out", (int)getpid());
        rc = run_to(path, timeout, argv);
        {
                char *text = take(path);
                IT_ASSERT(rc == 0, "%s %s exited with %d; its output: %s", script,
                          n > 1 ? argv[1] : "", rc, text);
                if (out)
                        *out = text;
                else
                        free(text);
        }
}

char *incluster_build_and_push(void)
{
        char *reg = incluster_registry(), *out = NULL;

        incluster_hack(&out, 1800, (const char *const[]){"build-image.sh", "--push", reg, NULL});
        out[strcspn(out, "\n")] = '\0'; /* the operator's image, then the bundle's */
        IT_ASSERT(strncmp(out, reg, strlen(reg)) == 0 && out[strlen(reg)] == '/',
                  "build-image.sh printed \"%s\", not an image of %s", out, reg);
        free(reg);
        return out;
}

void incluster_seed_cache(const char *ns, const char *deployment)
{
        char dst[512], src[512], *argv[5];

        snprintf(dst, sizeof(dst), "%s/plane/pods/%s_%s-0/volumes/cache", getenv("KO_TEST_CLUSTER"),
                 ns, deployment);
        snprintf(src, sizeof(src), "%s/.", itest_operator_cache());
        IT_ASSERT(fileio_mkdir_p(dst, 0777) == 0, "mkdir %s", dst);
        argv[0] = "/bin/cp";
        argv[1] = "-a";
        argv[2] = src;
        argv[3] = dst;
        argv[4] = NULL;
        IT_ASSERT(itest_wait_exit(itest_spawn(argv, "/dev/null", NULL), 30) == 0, "seed %s", dst);
        argv[0] = "/bin/chown"; /* as the pod's user would have written them */
        argv[1] = "-R";
        argv[2] = "65532:65532";
        IT_ASSERT(itest_wait_exit(itest_spawn(argv, "/dev/null", NULL), 30) == 0, "chown %s", dst);
}

void incluster_pod_ip(const char *pod, char *ip, size_t size)
{
        char *hosts = incluster_state_file("plane/hosts"), *line, *save = NULL;

        ip[0] = '\0';
        for (line = strtok_r(hosts, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *name = strchr(line, ' ');
                if (name && strcmp(name + 1, pod) == 0) {
                        snprintf(ip, size, "%.*s", (int)(name - line), line);
                        break;
                }
        }
        free(hosts);
}

bool incluster_probes_ok(const char *pod, double timeout)
{
        char ip[64];
        double t0 = itest_now();

        incluster_pod_ip(pod, ip, sizeof(ip));
        IT_ASSERT(ip[0], "%s in ko-plane's hosts file", pod);
        for (const char *const *path = (const char *const[]){"/healthz", "/readyz", NULL}; *path;
             path++) {
                char url[128], *argv[] = {"/usr/bin/curl", "-fsS", "-o", "/dev/null", url, NULL};
                snprintf(url, sizeof(url), "http://%s:8081%s", ip, *path);
                while (itest_wait_exit(itest_spawn(argv, "/dev/null", NULL), 10) != 0) {
                        if (itest_now() - t0 > timeout) {
                                itest_log("probe %s of %s: no 2xx in %.0fs", url, pod, timeout);
                                return false;
                        }
                        usleep(500 * 1000);
                }
        }
        itest_log("the probes of %s answer on %s:8081 (/healthz, /readyz)", pod, ip);
        return true;
}

long incluster_failed_authentications(void)
{
        char *out = NULL, *p;
        long n = 0;

        IT_ASSERT(INCLUSTER_KUBECTL(&out, "get", "--raw", "/metrics") == 0,
                  "the API server's metrics");
        for (p = out; (p = strstr(p, "\nauthentication_attempts{result=\"")); p++) {
                char *r = p + strlen("\nauthentication_attempts{result=\"");
                if (strncmp(r, "error\"", 6) == 0 || strncmp(r, "failure\"", 8) == 0)
                        n += strtol(strchr(r, '}') + 1, NULL, 10);
        }
        free(out);
        return n;
}

/* The last `max` lines of the cluster's file `name` that contain one of the words (all lines
 * when words is NULL), logged under a title; nothing when the file is missing. */
static void log_tail(const char *name, const char *const *words, int max)
{
        char path[512], *text = NULL, *line, *save = NULL, **keep;
        size_t len;
        int n = 0;

        snprintf(path, sizeof(path), "%s/%s", getenv("KO_TEST_CLUSTER"), name);
        if (fileio_read(path, 512u << 20, &text, &len) < 0)
                return;
        keep = calloc((size_t)max, sizeof(*keep));
        for (line = strtok_r(text, "\n", &save); line && keep; line = strtok_r(NULL, "\n", &save)) {
                bool hit = !words;
                for (const char *const *w = words; w && *w && !hit; w++)
                        hit = strstr(line, *w) != NULL;
                if (hit)
                        keep[n++ % max] = line;
        }
        itest_log("%s (%d lines, the last %d):", name, n, n < max ? n : max);
        for (int i = n < max ? 0 : n - max; keep && i < n; i++)
                fprintf(stderr, "    %s\n", keep[i % max]);
        free(keep);
        free(text);
}

void incluster_explain(const char *ns, const char *pod)
{
        char *out = NULL, name[512];

        INCLUSTER_KUBECTL(&out, "-n", ns, "get", "pods", "-o", "wide");
        itest_log("pods of %s:\n%s", ns, out ? out : "");
        free(out);
        out = NULL;
        INCLUSTER_KUBECTL(&out, "-n", ns, "get", "events", "--sort-by=.lastTimestamp");
        itest_log("events of %s:\n%s", ns, out ? out : "");
        free(out);
        snprintf(name, sizeof(name), "%s/%s", ns, pod);
        log_tail("logs/ko-plane.log", (const char *const[]){name, "pull", "ko-plane:", NULL}, 20);
        log_tail("logs/ko-plane.log", NULL, 30); /* a stall shows as a gap in time */
        log_tail("plane/images/pull.log", NULL, 10);
        snprintf(name, sizeof(name), "plane/pods/%s_%s/log", ns, pod);
        log_tail(name, NULL, 20);
}
