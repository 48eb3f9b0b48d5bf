/* SPDX-License-Identifier: Apache-2.0 */
/* ko-container SPEC.json: run one container of ko-plane from an unpacked image, as a kubelet's
 * runtime would, without a container engine (root only):
 *
 *   - a UTS namespace whose hostname is the pod's name, as in a pod;
 *   - a mount namespace of its own, where the image's root filesystem is bind-mounted
 *     read-only (readOnlyRootFilesystem) on a private directory;
 *   - the pod's volumes bind-mounted at their paths (each read-only or not), /proc, /dev, and
 *     the plane's hosts file on /etc/hosts;
 *   - chroot there, the working directory, then the user and group (no supplementary groups),
 *     and exec of the command with exactly the environment given.
 *
 * It stays the container's process (no fork), so ko-plane's signals reach it directly.
 *
 * SPEC: {"root": DIR, "mountpoint": DIR, "hosts": FILE, "hostname": POD, "workdir": "/",
 *        "uid": N, "gid": N,
 *        "readOnlyRoot": true, "argv": [...], "env": ["K=V", ...],
 *        "mounts": [{"source": DIR-or-FILE, "target": "/abs", "readOnly": bool}]} */
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/fileio.h"
#include "util/json.h"

#define MAX_ARGS 512

extern char **environ;

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "ko-container: %s%s: %s\n", what, arg,
                errno ? strerror(errno) : "bad spec");
        exit(127);
}

/* the mount point in the container's root: a directory, or a file when source is one */
static void make_target(const char *source, const char *path)
{
        struct stat st;
        char *dir = strdup(path), *slash = strrchr(dir, '/');

        if (slash && slash != dir) {
                *slash = '\0';
                if (fileio_mkdir_p(dir, 0755) < 0)
                        die("cannot make ", dir);
        }
        free(dir);
        if (stat(source, &st) < 0)
                die("no volume source ", source);
        if (S_ISDIR(st.st_mode)) {
                if (fileio_mkdir_p(path, 0755) < 0)
                        die("cannot make ", path);
        } else if (access(path, F_OK) < 0) {
                FILE *f = fopen(path, "w");
                if (!f)
                        die("cannot make ", path);
                fclose(f);
        }
}

/* path (absolute, in the container) as seen from here: mnt joined with it, its symbolic links
 * followed inside mnt as the container would follow them (/var/run -> /run) */
static void resolve(const char *mnt, const char *path, char *out, size_t size)
{
        char rest[4096], cur[4096] = "", link[4096], next[8192];
        int hops = 0;

        snprintf(rest, sizeof(rest), "%s", path);
        while (rest[0]) {
                char *p = rest, *slash;
                struct stat st;
                ssize_t n;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                slash = strchr(p, '/');
                snprintf(next, sizeof(next), "%s/%.*s", cur,
                         slash ? (int)(slash - p) : (int)strlen(p), p);
                memmove(rest, slash ? slash : "", strlen(slash ? slash : "") + 1);
                if (strcmp(strrchr(next, '/'), "/.") == 0)
                        continue;
                if (strcmp(strrchr(next, '/'), "/..") == 0) { /* never above the root */
                        if (strrchr(cur, '/'))
                                *strrchr(cur, '/') = '\0';
                        continue;
                }
                snprintf(out, size, "%s%s", mnt, next);
                if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode) && hops++ < 40 &&
                    (n = readlink(out, link, sizeof(link) - 1)) > 0) {
                        link[n] = '\0';
                        snprintf(next, sizeof(next), "%s%s%s", link[0] == '/' ? "" : cur,
                                 link[0] == '/' ? "" : "/", link);
                        snprintf(next + strlen(next), sizeof(next) - strlen(next), "%s", rest);
                        snprintf(rest, sizeof(rest), "%s", next);
                        cur[0] = '\0';
                        continue;
                }
                snprintf(cur, sizeof(cur), "%s", next);
        }
        snprintf(out, size, "%s%s", mnt, cur[0] ? cur : "/");
}

static void bind(const char *source, const char *mnt, const char *target, bool ro)
{
        char path[8192];

        resolve(mnt, target, path, sizeof(path));
        errno = 0;
        make_target(source, path);
        if (mount(source, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                die("cannot bind-mount on ", path);
        if (ro && mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                die("cannot make read-only ", path);
}

/* the container's file system, seen from here at mnt; then chroot into it */
static void file_system(const cJSON *spec)
{
        const char *root = json_str(spec, "root", NULL), *mnt = json_str(spec, "mountpoint", NULL);
        const char *hosts = json_str(spec, "hosts", NULL), *wd = json_str(spec, "workdir", NULL);
        const cJSON *m;
        char path[8192];

        errno = 0;
        if (!root || !mnt)
                die("root and mountpoint are required", "");
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("cannot have a mount namespace", "");
        if (fileio_mkdir_p(mnt, 0700) < 0 || mount(root, mnt, NULL, MS_BIND | MS_REC, NULL) < 0)
                die("cannot bind the root on ", mnt);
        cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive(spec, "mounts")) {
                const char *src = json_str(m, "source", NULL), *dst = json_str(m, "target", NULL);
                if (!src || !dst || dst[0] != '/' || strstr(dst, ".."))
                        die("a mount needs a source and an absolute target", "");
                bind(src, mnt, dst, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "readOnly")));
        }
        if (hosts)
                bind(hosts, mnt, "/etc/hosts", true);
        bind("/dev", mnt, "/dev", false);
        snprintf(path, sizeof(path), "%s/proc", mnt);
        if (fileio_mkdir_p(path, 0555) < 0 || mount("proc", path, "proc", 0, NULL) < 0)
                die("cannot mount /proc on ", path);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "readOnlyRoot")) &&
            mount(NULL, mnt, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                die("cannot make the root read-only: ", mnt);
        if (chroot(mnt) < 0 || chdir(wd ? wd : "/") < 0)
                die("cannot enter ", mnt);
}

int main(int argc, char **argv)
{
        char *text = NULL, *args[MAX_ARGS + 1], *env[MAX_ARGS + 1];
        const cJSON *e, *uid, *gid;
        cJSON *spec;
        size_t len;
        int n = 0, ne = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: ko-container SPEC.json\n");
                return 2;
        }
        if (fileio_read(argv[1], 1u << 20, &text, &len) < 0 ||
            !(spec = cJSON_ParseWithLength(text, len)))
                die("cannot read ", argv[1]);
        free(text);
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(spec, "argv"))
                if (cJSON_IsString(e) && n < MAX_ARGS)
                        args[n++] = e->valuestring;
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(spec, "env"))
                if (cJSON_IsString(e) && ne < MAX_ARGS)
                        env[ne++] = e->valuestring;
        args[n] = NULL;
        env[ne] = NULL;
        errno = 0;
        if (n == 0)
                die("no command", "");
        if (json_str(spec, "hostname", NULL) &&
            (unshare(CLONE_NEWUTS) < 0 ||
             sethostname(json_str(spec, "hostname", NULL),
                         strlen(json_str(spec, "hostname", NULL))) < 0))
                die("cannot set the hostname", "");
        file_system(spec);
        uid = cJSON_GetObjectItemCaseSensitive(spec, "uid");
        gid = cJSON_GetObjectItemCaseSensitive(spec, "gid");
        if (setgroups(0, NULL) < 0 ||
            (cJSON_IsNumber(gid) && setgid((gid_t)gid->valuedouble) < 0) ||
            (cJSON_IsNumber(uid) && setuid((uid_t)uid->valuedouble) < 0))
                die("cannot take the user of the container", "");
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        environ = env; /* PATH of the container finds the command */
        execvp(args[0], args);
        die("cannot run ", args[0]);
}
