/* SPDX-License-Identifier: Apache-2.0 */
#include "itest.h"

#include <stdarg.h>
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
        const char *hack = getenv("KO_HACK_DIR");
        char script[4096];
        int status;
        pid_t pid;

        snprintf(script, sizeof(script), "%s/cluster.sh", hack ? hack : "hack");
        pid = fork();
        if (pid < 0)
                IT_FAIL("fork: %m");
        if (pid == 0) {
                dup2(STDERR_FILENO, STDOUT_FILENO);
                execl(script, script, verb, component, "--state-dir", state_dir(), (char *)NULL);
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
        va_list ap;

        fputs("-- ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
