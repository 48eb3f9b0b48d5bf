/* SPDX-License-Identifier: Apache-2.0 */
/* Downloading (against a local HTTP server) and extracting tarballs safely: what the CRD
 * tarball of a Karmada object goes through. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "fileserver.h"
#include "util/fetch.h"
#include "util/fileio.h"
#include "util/untar.h"

static char dir[] = "/tmp/ko-test-untar-XXXXXX";

struct entry {
        const char *name;
        mode_t type;         /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0 = hard link */
        const char *content; /* or the link target */
        size_t size;         /* 0: strlen(content) */
};

/* dir/name: a gzip-compressed tar with these entries */
static char *make_tar(const char *name, const struct entry *e)
{
        char *path = NULL;
        struct archive *a = archive_write_new();

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        archive_write_add_filter_gzip(a);
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (; e->name; e++) {
                struct archive_entry *ae = archive_entry_new();
                size_t size = e->size ? e->size : (e->content ? strlen(e->content) : 0);

                archive_entry_set_pathname(ae, e->name);
                archive_entry_set_perm(ae, 0644);
                if (e->type == 0) {
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_hardlink(ae, e->content);
                } else {
                        archive_entry_set_filetype(ae, e->type);
                }
                if (e->type == AE_IFLNK)
                        archive_entry_set_symlink(ae, e->content);
                if (e->type == AE_IFREG)
                        archive_entry_set_size(ae, (la_int64_t)size);
                assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
                if (e->type == AE_IFREG) {
                        char *buf = calloc(1, size + 1);
                        if (e->content)
                                memcpy(buf, e->content, strlen(e->content));
                        assert_int_equal(archive_write_data(a, buf, size), (la_ssize_t)size);
                        free(buf);
                }
                archive_entry_free(ae);
        }
        archive_write_close(a);
        archive_write_free(a);
        return path;
}

static bool exists(const char *rel)
{
        char p[4096];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        return lstat(p, &st) == 0;
}

static void expect_refused(const struct entry *e, int want, const char *in_message)
{
        char *tar = make_tar("bad.tar.gz", e), out[4096], err[512] = "";
        const struct untar_limits l = {.max_file = 1024, .max_total = 4096, .max_entries = 20};

        snprintf(out, sizeof(out), "%s/bad", dir);
        assert_int_equal(untar_safe(tar, "crds/", out, &l, err, sizeof(err)), want);
        if (!strstr(err, in_message))
                fail_msg("message \"%s\" does not say \"%s\"", err, in_message);
        assert_false(exists("bad")); /* nothing left behind */
        assert_false(exists("evil"));
        unlink(tar);
        free(tar);
}

static void test_extracts_only_the_prefix(void **state)
{
        static const struct entry good[] = {
                {"./crds/", AE_IFDIR, NULL, 0},
                {"./crds/bases/", AE_IFDIR, NULL, 0},
                {"./crds/bases/policy/a.yaml", AE_IFREG, "kind: A\n", 0},
                {"crds/patches/p.yaml", AE_IFREG, "kind: P\n", 0},
                {"README.md", AE_IFREG, "not wanted\n", 0},
                {"charts/x.yaml", AE_IFREG, "not wanted\n", 0},
                {NULL, 0, NULL, 0},
        };
        char *tar = make_tar("good.tar.gz", good), out[4096], err[512] = "", *text = NULL;
        size_t len;

        (void)state;
        snprintf(out, sizeof(out), "%s/good", dir);
        assert_int_equal(untar_safe(tar, "crds/", out, NULL, err, sizeof(err)), 0);
        assert_true(exists("good/crds/bases/policy/a.yaml"));
        assert_true(exists("good/crds/patches/p.yaml"));
        assert_false(exists("good/README.md"));
        assert_false(exists("good/charts"));
        snprintf(out, sizeof(out), "%s/good/crds/bases/policy/a.yaml", dir);
        assert_int_equal(fileio_read(out, 1024, &text, &len), 0);
        assert_string_equal(text, "kind: A\n");
        free(text);
        /* the destination must be new */
        snprintf(out, sizeof(out), "%s/good", dir);
        assert_int_equal(untar_safe(tar, "crds/", out, NULL, err, sizeof(err)), -EEXIST);
        free(tar);
}

static void test_refuses_escapes_links_and_oversize(void **state)
{
        (void)state;
        expect_refused((const struct entry[]){{"crds/ok.yaml", AE_IFREG, "a", 0},
                                              {"crds/../../evil", AE_IFREG, "x", 0},
                                              {NULL, 0, NULL, 0}},
                       -EPERM, "unsafe entry \"crds/../../evil\"");
        expect_refused((const struct entry[]){{"/etc/evil", AE_IFREG, "x", 0}, {NULL, 0, NULL, 0}},
                       -EPERM, "unsafe entry \"/etc/evil\"");
        expect_refused(
                (const struct entry[]){{"crds/./x.yaml", AE_IFREG, "x", 0}, {NULL, 0, NULL, 0}},
                -EPERM, "unsafe entry");
        expect_refused((const struct entry[]){{"crds/link", AE_IFLNK, "/etc/passwd", 0},
                                              {NULL, 0, NULL, 0}},
                       -EPERM, "\"crds/link\" is not a file or directory");
        expect_refused((const struct entry[]){{"crds/a.yaml", AE_IFREG, "a", 0},
                                              {"crds/b.yaml", 0, "crds/a.yaml", 0},
                                              {NULL, 0, NULL, 0}},
                       -EPERM, "\"crds/b.yaml\" is not a file or directory");
        expect_refused((const struct entry[]){{"crds/fifo", AE_IFIFO, NULL, 0}, {NULL, 0, NULL, 0}},
                       -EPERM, "not a file or directory");
        expect_refused(
                (const struct entry[]){{"crds/big.yaml", AE_IFREG, "x", 2048}, {NULL, 0, NULL, 0}},
                -EFBIG, "\"crds/big.yaml\": too large");
        expect_refused((const struct entry[]){{"crds/a", AE_IFREG, "x", 1000},
                                              {"crds/b", AE_IFREG, "x", 1000},
                                              {"crds/c", AE_IFREG, "x", 1000},
                                              {"crds/d", AE_IFREG, "x", 1000},
                                              {"crds/e", AE_IFREG, "x", 1000},
                                              {NULL, 0, NULL, 0}},
                       -EFBIG, "\"crds/e\": too large");
}

static void test_refuses_what_is_not_an_archive(void **state)
{
        char path[4096], out[4096], err[512] = "";
        FILE *f;

        (void)state;
        snprintf(path, sizeof(path), "%s/garbage.tar.gz", dir);
        f = fopen(path, "we");
        fputs("<html>rate limited</html>\n", f);
        fclose(f);
        snprintf(out, sizeof(out), "%s/garbage", dir);
        assert_int_equal(untar_safe(path, "crds/", out, NULL, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "garbage.tar.gz"));
        assert_false(exists("garbage"));
}

static void test_fetch(void **state)
{
        struct fileserver *srv;
        char url[256], to[4096], err[512] = "", *text = NULL;
        size_t len;
        FILE *f;

        (void)state;
        snprintf(to, sizeof(to), "%s/served.txt", dir);
        f = fopen(to, "we");
        fputs("0123456789", f);
        fclose(f);
        srv = fileserver_start(dir);
        assert_non_null(srv);

        /* a file, directly and through a redirect */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/served.txt", fileserver_port(srv));
        snprintf(to, sizeof(to), "%s/got.txt", dir);
        assert_int_equal(fetch_to_file(url, NULL, to, err, sizeof(err)), 0);
        assert_int_equal(fileio_read(to, 100, &text, &len), 0);
        assert_string_equal(text, "0123456789");
        free(text);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect?to=http://127.0.0.1:%d/served.txt",
                 fileserver_port(srv), fileserver_port(srv));
        unlink(to);
        assert_int_equal(fetch_to_file(url, NULL, to, err, sizeof(err)), 0);
        assert_true(exists("got.txt"));

        /* failures name the URL, and leave no file behind */
        unlink(to);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing", fileserver_port(srv));
        assert_int_equal(fetch_to_file(url, NULL, to, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "/missing: HTTP 404"));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/served.txt", fileserver_port(srv));
        assert_int_equal(
                fetch_to_file(url, &(struct fetch_options){.max_bytes = 5}, to, err, sizeof(err)),
                -EFBIG);
        assert_non_null(strstr(err, "larger than 5 bytes"));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect?to=file:///etc/passwd",
                 fileserver_port(srv));
        assert_int_equal(fetch_to_file(url, NULL, to, err, sizeof(err)), -EIO);
        assert_non_null(strstr(err, "/redirect?to=file:///etc/passwd"));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", fileserver_port(srv));
        assert_int_equal(fetch_to_file(url, &(struct fetch_options){.timeout_ms = 200}, to, err,
                                       sizeof(err)),
                         -EIO);
        if (!strstr(err, "timed out"))
                fail_msg("%s", err);
        assert_int_equal(fetch_to_file("ftp://127.0.0.1/x", NULL, to, err, sizeof(err)), -EIO);
        assert_false(exists("got.txt"));
        {
                /* no temporary files left either */
                DIR *d = opendir(dir);
                assert_non_null(d);
                for (struct dirent *e; (e = readdir(d));)
                        if (strstr(e->d_name, "part"))
                                fail_msg("left behind: %s", e->d_name);
                closedir(d);
        }
        fileserver_stop(srv);
}

static int rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st, (void)flag, (void)f;
        return remove(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_extracts_only_the_prefix),
                cmocka_unit_test(test_refuses_escapes_links_and_oversize),
                cmocka_unit_test(test_refuses_what_is_not_an_archive),
                cmocka_unit_test(test_fetch),
        };
        int r;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (!mkdtemp(dir))
                return 1;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
        curl_global_cleanup();
        return r;
}
