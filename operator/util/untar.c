/* SPDX-License-Identifier: Apache-2.0 */
#include "untar.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

/* A relative path without empty, "." or ".." components (after a leading "./"). */
static bool path_safe(const char *p)
{
        if (!*p || *p == '/')
                return false;
        while (*p) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);

                if ((n == 2 && strncmp(p, "..", 2) == 0) || (n == 1 && *p == '.'))
                        return false;
                if (n == 0) /* "a//b" */
                        return false;
                p += n;
                if (*p == '/')
                        p++;
        }
        return true;
}

static int mkdirs(char *path, mode_t mode)
{
        for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(path, mode) < 0 && errno != EEXIST) {
                        *s = '/';
                        return -errno;
                }
                *s = '/';
        }
        return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        remove(p);
        return 0;
}

/* An entry's data into fd (-1: read and dropped, as for a skipped entry), counted against the
 * limits either way: what is skipped costs as much to decompress as what is kept. */
static int copy_entry(struct archive *a, int fd, size_t max, size_t *total, size_t max_total)
{
        char buf[65536];
        size_t n = 0;
        ssize_t got;
        int r = 0;

        while ((got = archive_read_data(a, buf, sizeof(buf))) > 0) {
                n += (size_t)got;
                *total += (size_t)got;
                if (n > max || *total > max_total) {
                        r = -EFBIG;
                        break;
                }
                if (fd >= 0 && write(fd, buf, (size_t)got) != got) {
                        r = -EIO;
                        break;
                }
        }
        if (got < 0 && !r)
                r = -EBADMSG;
        return r;
}

static int write_entry(struct archive *a, const char *path, size_t max, size_t *total,
                       size_t max_total)
{
        int fd, r;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = copy_entry(a, fd, max, total, max_total);
        if (close(fd) < 0 && !r)
                r = -errno;
        return r;
}

/* One extraction: where from and to, and how much is allowed. */
struct extraction {
        struct archive *a;
        const char *tarball, *prefix, *dest;
        size_t max_file, max_total, total;
};

/* One entry: a directory made or a file written (under the prefix only); refused when its
 * name is unsafe or it is neither a file nor a directory. 0, or <0 with err filled. */
static int extract_entry(struct extraction *x, struct archive_entry *e, char *err, size_t errlen)
{
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        char path[4096];
        size_t len;
        int r;

        if (!name) {
                snprintf(err, errlen, "%s: an entry without a name", x->tarball);
                return -EBADMSG;
        }
        while (strncmp(name, "./", 2) == 0)
                name += 2;
        len = strlen(name);
        if (len && name[len - 1] == '/' && type == AE_IFDIR)
                len--; /* "dir/" */
        if (!len)
                return 0; /* "./" itself */
        if (snprintf(path, sizeof(path), "%s/%.*s", x->dest, (int)len, name) >= (int)sizeof(path) ||
            !path_safe(path + strlen(x->dest) + 1)) {
                snprintf(err, errlen, "%s: unsafe entry \"%s\"", x->tarball,
                         archive_entry_pathname(e));
                return -EPERM;
        }
        if (archive_entry_hardlink(e) || archive_entry_symlink(e) ||
            (type != AE_IFDIR && type != AE_IFREG)) {
                snprintf(err, errlen, "%s: \"%s\" is not a file or directory", x->tarball, name);
                return -EPERM;
        }
        if (x->prefix && strncmp(name, x->prefix, strlen(x->prefix)) != 0 &&
            !(type == AE_IFDIR && len + 1 == strlen(x->prefix) &&
              strncmp(name, x->prefix, len) == 0)) {
                /* outside prefix ("crds" itself is in "crds/"): skipped, but counted */
                r = type == AE_IFREG ? copy_entry(x->a, -1, x->max_file, &x->total, x->max_total)
                                     : 0;
                if (r < 0)
                        snprintf(err, errlen, "%s: \"%s\" (skipped): %s", x->tarball, name,
                                 r == -EFBIG ? "too large" : strerror(-r));
                return r;
        }
        if (type == AE_IFDIR) {
                r = mkdirs(path, 0700);
        } else if (archive_entry_size_is_set(e) && (size_t)archive_entry_size(e) > x->max_file) {
                r = -EFBIG;
        } else {
                char *slash = strrchr(path, '/');
                *slash = '\0';
                r = mkdirs(path, 0700);
                *slash = '/';
                if (r == 0)
                        r = write_entry(x->a, path, x->max_file, &x->total, x->max_total);
        }
        if (r < 0)
                snprintf(err, errlen, "%s: \"%s\": %s", x->tarball, name,
                         r == -EFBIG ? "too large" : strerror(-r));
        return r;
}

int untar_safe(const char *tarball, const char *prefix, const char *dest,
               const struct untar_limits *l, char *err, size_t errlen)
{
        struct extraction x = {
                .tarball = tarball,
                .prefix = prefix,
                .dest = dest,
                .max_file = l && l->max_file ? l->max_file : 16u << 20,
                .max_total = l && l->max_total ? l->max_total : 128u << 20,
        };
        unsigned max_entries = l && l->max_entries ? l->max_entries : 10000, entries = 0;
        struct archive_entry *e;
        int r = 0, ar = ARCHIVE_EOF;

        if (mkdir(dest, 0700) < 0) {
                r = -errno;
                snprintf(err, errlen, "%s: %s", dest, strerror(-r));
                return r;
        }
        x.a = archive_read_new();
        if (!x.a) {
                r = -ENOMEM;
                goto out;
        }
        archive_read_support_filter_all(x.a);
        archive_read_support_format_tar(x.a);
        archive_read_support_format_gnutar(x.a);
        if (archive_read_open_filename(x.a, tarball, 65536) != ARCHIVE_OK) {
                r = -EBADMSG;
                snprintf(err, errlen, "%s: %s", tarball, archive_error_string(x.a));
                goto out;
        }
        while (r == 0 && (ar = archive_read_next_header(x.a, &e)) == ARCHIVE_OK) {
                if (++entries > max_entries) {
                        r = -EFBIG;
                        snprintf(err, errlen, "%s: more than %u entries", tarball, max_entries);
                } else {
                        r = extract_entry(&x, e, err, errlen);
                }
        }
        if (r == 0 && ar != ARCHIVE_EOF) {
                r = -EBADMSG;
                snprintf(err, errlen, "%s: %s", tarball, archive_error_string(x.a));
        }
out:
        if (r == -ENOMEM)
                snprintf(err, errlen, "%s: out of memory", tarball);
        archive_read_free(x.a);
        if (r < 0)
                nftw(dest, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return r;
}
