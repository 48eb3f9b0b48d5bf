/* SPDX-License-Identifier: Apache-2.0 */
#include "etcd_restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/digest.h"
#include "util/fileio.h"
#include "util/seal.h"

#define HASH_LEN 32

/* the object, hashed as it comes, the last 32 bytes held back (they are the hash) */
struct fetch {
        EVP_MD_CTX *md;
        unsigned char tail[HASH_LEN];
        size_t tail_len;
        long long size;
        int fd;
};

static int write_all(int fd, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        while (len) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return errno ? -errno : -EIO;
                p += n, len -= (size_t)n;
        }
        return 0;
}

static int take(const void *buf, size_t len, void *userdata)
{
        struct fetch *f = userdata;
        const unsigned char *p = buf;
        size_t out;

        if (f->fd >= 0 && write_all(f->fd, buf, len) < 0)
                return -EIO;
        f->size += (long long)len;
        /* what leaves the tail: the oldest bytes of tail + buf beyond the last HASH_LEN */
        if (f->tail_len + len <= HASH_LEN) {
                memcpy(f->tail + f->tail_len, p, len);
                f->tail_len += len;
                return 0;
        }
        out = f->tail_len + len - HASH_LEN;
        if (out <= f->tail_len) {
                EVP_DigestUpdate(f->md, f->tail, out);
                memmove(f->tail, f->tail + out, f->tail_len - out);
                f->tail_len -= out;
                memcpy(f->tail + f->tail_len, p, len);
                f->tail_len += len;
        } else {
                EVP_DigestUpdate(f->md, f->tail, f->tail_len);
                EVP_DigestUpdate(f->md, p, out - f->tail_len);
                memcpy(f->tail, p + (out - f->tail_len), HASH_LEN);
                f->tail_len = HASH_LEN;
        }
        return 0;
}

static int take_plain(void *userdata, const unsigned char *buf, size_t len)
{
        return take(buf, len, userdata);
}

/* a sealed object, opened as it comes */
static int take_sealed(const void *buf, size_t len, void *userdata)
{
        return seal_stream_feed(userdata, buf, len) < 0 ? -EIO : 0;
}

/* The object through take, opened on the way with seal_key */
static int get(const struct s3_client *c, const char *key, const unsigned char *seal_key,
               const char *aad, struct fetch *f, char *err, size_t errlen)
{
        struct seal_stream *ss =
                seal_key ? seal_stream_new(seal_key, aad, false, take_plain, f) : NULL;
        struct s3_error e = {0};
        int r;

        if (seal_key && !ss) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        r = ss ? s3_get_stream(c, key, take_sealed, ss, &e) : s3_get_stream(c, key, take, f, &e);
        if (ss) { /* the end, or the stream's first error (feeding nothing) */
                int sr = r == 0 ? seal_stream_finish(ss) : seal_stream_feed(ss, "", 0);
                r = sr == -EBADMSG || r == 0 ? sr : r;
        }
        if (r == -EBADMSG)
                snprintf(err, errlen,
                         "%s does not open with the backup's encryption key (altered, cut short, "
                         "another backup's, or another key)",
                         key);
        else if (r < 0)
                snprintf(err, errlen, "S3: get %s: %s", key, e.message);
        seal_stream_free(ss);
        return r;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int etcd_restore_fetch(const struct s3_client *c, const char *key, const unsigned char *seal_key,
                       const char *aad, const char *sha256, const char *path, long long *size,
                       char *err, size_t errlen)
{
        struct fetch f = {.fd = -1};
        unsigned char md[EVP_MAX_MD_SIZE];
        char got[SHA256_HEX_LEN], trailer[SHA256_HEX_LEN];
        unsigned mdlen = 0;
        int r;

        f.md = EVP_MD_CTX_new();
        if (!f.md || EVP_DigestInit_ex(f.md, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(f.md);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        if (path) {
                f.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (f.fd < 0) {
                        r = -errno;
                        snprintf(err, errlen, "%s: %s", path, strerror(errno));
                        EVP_MD_CTX_free(f.md);
                        return r;
                }
        }
        r = get(c, key, seal_key, aad, &f, err, errlen);
        if (r == 0 && (f.tail_len < HASH_LEN || (f.size - HASH_LEN) % 512 != 0)) {
                r = -EBADMSG;
                snprintf(err, errlen, "%s is not an etcd snapshot (%lld bytes)", key, f.size);
        } else if (r == 0) {
                EVP_DigestFinal_ex(f.md, md, &mdlen);
                hex(md, HASH_LEN, got);
                hex(f.tail, HASH_LEN, trailer);
                if (strcmp(got, trailer) != 0) {
                        r = -EBADMSG;
                        snprintf(err, errlen,
                                 "%s is corrupted: its data hashes to sha256 %s, its trailer "
                                 "says %s",
                                 key, got, trailer);
                } else if (sha256 && strcmp(got, sha256) != 0) {
                        r = -EBADMSG;
                        snprintf(err, errlen,
                                 "%s is not the snapshot of the backup: sha256 %s, the backup "
                                 "recorded %s",
                                 key, got, sha256);
                }
        }
        EVP_MD_CTX_free(f.md);
        if (f.fd >= 0 && close(f.fd) < 0 && r == 0) {
                r = -EIO;
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
        }
        if (r < 0 && path)
                unlink(path);
        if (r == 0 && size)
                *size = f.size;
        return r;
}

/* run argv, waiting for it; its output goes to ours */
static int run(char *const argv[], char *err, size_t errlen)
{
        pid_t pid = fork();
        int status;

        if (pid < 0) {
                snprintf(err, errlen, "fork: %s", strerror(errno));
                return -errno;
        }
        if (pid == 0) {
                execv(argv[0], argv);
                fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        snprintf(err, errlen, "wait: %s", strerror(errno));
                        return -errno;
                }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                snprintf(err, errlen, "%s failed (status %d)", argv[0], status);
                return -EIO;
        }
        return 0;
}

bool etcd_restore_done(const char *data_dir)
{
        char member[4096];
        struct stat st;

        snprintf(member, sizeof(member), "%s/member", data_dir);
        return stat(member, &st) == 0;
}

int etcd_restore_run(const struct s3_client *c, const struct etcd_restore_options *o, char *err,
                     size_t errlen)
{
        char member[4096], snap[4096], part[4096], from[4200], bump[32];
        int r;

        snprintf(member, sizeof(member), "%s/member", o->data_dir);
        snprintf(snap, sizeof(snap), "%s/restore.db", o->data_dir);
        snprintf(part, sizeof(part), "%s/restore.part", o->data_dir);
        if (etcd_restore_done(o->data_dir)) {
                fprintf(stderr, "etcd-restore: %s exists: nothing to restore\n", member);
                return 0;
        }
        /* what an interrupted attempt left */
        r = fileio_rm_rf(part);
        if (r < 0) {
                snprintf(err, errlen, "%s: %s", part, strerror(-r));
                return r;
        }
        r = etcd_restore_fetch(c, o->key, o->seal_key, o->aad, o->sha256, snap, NULL, err, errlen);
        if (r < 0)
                return r;
        snprintf(bump, sizeof(bump), "%lld", o->bump_revision);
        {
                char *argv[] = {(char *)o->etcdutl,
                                "snapshot",
                                "restore",
                                snap,
                                "--data-dir",
                                part,
                                "--name",
                                (char *)o->name,
                                "--initial-cluster",
                                (char *)o->initial_cluster,
                                "--initial-advertise-peer-urls",
                                (char *)o->advertise_peer_urls,
                                "--bump-revision",
                                bump,
                                "--mark-compacted",
                                NULL};
                r = run(argv, err, errlen);
        }
        if (r == 0) {
                snprintf(from, sizeof(from), "%s/member", part);
                if (rename(from, member) < 0) {
                        r = -errno;
                        snprintf(err, errlen, "rename %s to %s: %s", from, member, strerror(errno));
                }
        }
        unlink(snap);
        fileio_rm_rf(part);
        if (r == 0)
                fprintf(stderr, "etcd-restore: %s restored from %s (revisions bumped by %s)\n",
                        member, o->key, bump);
        return r;
}
