/* SPDX-License-Identifier: Apache-2.0 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "strbuf.h"

int fileio_write_atomic(const char *path, const void *bytes, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL;
        int fd, r = 0;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        errno = 0;
        if (fchmod(fd, mode) < 0 || write(fd, bytes, len) != (ssize_t)len)
                r = errno ? -errno : -EIO;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int fileio_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
        struct strbuf sb = {.max = max};
        char chunk[8192];
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                r = strbuf_append(&sb, chunk, (size_t)n);
                if (r < 0) {
                        if (r == -E2BIG)
                                r = -EFBIG;
                        break;
                }
        }
        close(fd);
        if (r < 0) {
                strbuf_free_secret(&sb);
                return r;
        }
        if (ret_len)
                *ret_len = sb.len;
        *ret = strbuf_steal(&sb);
        return *ret ? 0 : -ENOMEM;
}

char *path_dirname(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t)(slash - path));
}

char *path_join_relative(const char *base, const char *path)
{
        char *out;

        if (!base || path[0] == '/')
                return strdup(path);
        if (asprintf(&out, "%s/%s", base, path) < 0)
                return NULL;
        return out;
}

int fileio_mkdir_p(const char *path, mode_t mode)
{
        char buf[4096];

        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
                return -ENAMETOOLONG;
        for (char *s = strchr(buf + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                if (!s)
                        return 0;
                *s = '/';
        }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        return remove(path) < 0 ? -1 : 0;
}

int fileio_rm_rf(const char *path)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}
