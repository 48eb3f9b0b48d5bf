/* SPDX-License-Identifier: Apache-2.0 */
#include "crd_tarball.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fetch.h"
#include "util/fileio.h"
#include "util/untar.h"

/* A lock per URL (by its digest), alive while someone holds or waits for it. */
struct url_lock {
        char sum[SHA256_HEX_LEN];
        pthread_mutex_t m;
        int users;
        struct url_lock *next;
};

static pthread_mutex_t locks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct url_lock *locks;

static struct url_lock *lock_url(const char *sum)
{
        struct url_lock *l;

        pthread_mutex_lock(&locks_lock);
        for (l = locks; l && strcmp(l->sum, sum) != 0; l = l->next)
                ;
        if (!l && (l = calloc(1, sizeof(*l)))) {
                snprintf(l->sum, sizeof(l->sum), "%s", sum);
                pthread_mutex_init(&l->m, NULL);
                l->next = locks;
                locks = l;
        }
        if (l)
                l->users++;
        pthread_mutex_unlock(&locks_lock);
        if (l)
                pthread_mutex_lock(&l->m);
        return l;
}

static void unlock_url(struct url_lock *l)
{
        pthread_mutex_unlock(&l->m);
        pthread_mutex_lock(&locks_lock);
        if (--l->users == 0) {
                struct url_lock **p = &locks;
                while (*p != l)
                        p = &(*p)->next;
                *p = l->next;
                pthread_mutex_destroy(&l->m);
                free(l);
        }
        pthread_mutex_unlock(&locks_lock);
}

/* file's digest into sum; when want is given and differs, the file goes: -EBADMSG */
static int check(const char *file, const char *url, const char *want, char *sum, char *err,
                 size_t errlen)
{
        int r = sha256_file_hex(file, sum);

        if (r < 0) {
                snprintf(err, errlen, "%s: %s", file, strerror(-r));
                return r;
        }
        if (want && strcmp(sum, want) != 0) {
                unlink(file);
                snprintf(err, errlen, "%s has SHA-256 %s, not %s: nothing extracted", url, sum,
                         want);
                return -EBADMSG;
        }
        return 0;
}

/* The tarball in file (downloaded when missing or asked for), its digest checked; a cached
 * copy that fails the check is downloaded once more. */
static int fetch_checked(const struct crd_tarball_source *src, const char *file, char *sum,
                         char *err, size_t errlen)
{
        struct fetch_options fo = {.proxy = src->proxy, .max_bytes = 64u << 20};
        struct stat st;
        bool fetched = false;
        int r;

        if (src->download || stat(file, &st) < 0) {
                r = fetch_to_file(src->url, &fo, file, err, errlen);
                if (r < 0)
                        return r;
                fetched = true;
        }
        r = check(file, src->url, src->sha256, sum, err, errlen);
        if (r != -EBADMSG || fetched)
                return r;
        r = fetch_to_file(src->url, &fo, file, err, errlen);
        return r < 0 ? r : check(file, src->url, src->sha256, sum, err, errlen);
}

/* dir/crds, made 0700 when missing, must be a directory of this user that nobody else may
 * write to: a tarball another user put there would be used as if downloaded */
static int own_dir(const char *cache_dir, char *err, size_t errlen)
{
        char top[4096];
        struct stat st;
        int r;

        if (snprintf(top, sizeof(top), "%s/crds", cache_dir) >= (int)sizeof(top))
                return -ENAMETOOLONG;
        r = fileio_mkdir_p(top, 0700);
        if (r >= 0 && lstat(top, &st) < 0)
                r = -errno;
        if (r < 0) {
                snprintf(err, errlen, "%s: %s", top, strerror(-r));
                return r;
        }
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
                snprintf(err, errlen,
                         "%s: %s (owner uid %u, mode %04o): a tarball another user put there "
                         "would be used; make it a directory of uid %u that only it may write",
                         top, S_ISDIR(st.st_mode) ? "not this user's alone" : "not a directory",
                         (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
                return -EPERM;
        }
        return 0;
}

int crd_tarball_get(const char *cache_dir, const struct crd_tarball_source *src,
                    struct crd_tarball *out, char *err, size_t errlen)
{
        char url_sum[SHA256_HEX_LEN], base[4096], file[4200], bases[4300];
        struct url_lock *l;
        struct stat st;
        int r;

        sha256_hex(src->url, strlen(src->url), url_sum);
        if (snprintf(base, sizeof(base), "%s/crds/%s", cache_dir, url_sum) >= (int)sizeof(base))
                return -ENAMETOOLONG;
        r = own_dir(cache_dir, err, errlen);
        if (r < 0)
                return r;
        snprintf(file, sizeof(file), "%s/crds.tar.gz", base);
        l = lock_url(url_sum);
        if (!l)
                return -ENOMEM;
        r = fileio_mkdir_p(base, 0700);
        if (r < 0)
                snprintf(err, errlen, "%s: %s", base, strerror(-r));
        else
                r = fetch_checked(src, file, out->sum, err, errlen);
        if (r == 0) {
                snprintf(out->dir, sizeof(out->dir), "%s/%.16s", base, out->sum);
                if (stat(out->dir, &st) < 0)
                        r = untar_safe(file, "crds/", out->dir, NULL, err, errlen);
        }
        snprintf(bases, sizeof(bases), "%s/crds/bases", out->dir);
        if (r == 0 && (stat(bases, &st) < 0 || !S_ISDIR(st.st_mode))) {
                r = -ENOENT;
                snprintf(err, errlen, "%s has no crds/bases directory", src->url);
        }
        unlock_url(l);
        return r;
}
