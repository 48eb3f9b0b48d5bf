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
