/* SPDX-License-Identifier: Apache-2.0 */
/* Downloading (against a local HTTP server) and extracting tarballs safely: what the CRD
 * tarball of a Karmada object goes through. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fileserver.h"
#include "karmada/crd_tarball.h"
#include "util/digest.h"
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
        /* what is skipped (outside the prefix) counts as much */
        expect_refused((const struct entry[]){{"docs/huge.bin", AE_IFREG, "x", 2048},
                                              {"crds/a.yaml", AE_IFREG, "a", 0},
                                              {NULL, 0, NULL, 0}},
                       -EFBIG, "\"docs/huge.bin\" (skipped): too large");
        expect_refused((const struct entry[]){{"docs/a", AE_IFREG, "x", 1000},
                                              {"docs/b", AE_IFREG, "x", 1000},
                                              {"docs/c", AE_IFREG, "x", 1000},
                                              {"docs/d", AE_IFREG, "x", 1000},
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

/* A self-signed certificate for 127.0.0.1 (PEM), its key kept in memory */
static void self_signed(char **cert_pem, char **key_pem)
{
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        BIO *b;

        assert_non_null(key);
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, key);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                   (const unsigned char *)"127.0.0.1", -1, -1, 0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        assert_true(X509_sign(x, key, EVP_sha256()) > 0);
        b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, x);
        *cert_pem = calloc(1, (size_t)BIO_pending(b) + 1);
        BIO_read(b, *cert_pem, BIO_pending(b));
        BIO_free(b);
        b = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
        *key_pem = calloc(1, (size_t)BIO_pending(b) + 1);
        BIO_read(b, *key_pem, BIO_pending(b));
        BIO_free(b);
        X509_free(x);
        EVP_PKEY_free(key);
}

/* Over HTTPS, verified against the given CA; a redirect from https to http is refused */
static void test_fetch_https_never_down_to_http(void **state)
{
        struct fileserver *tls, *plain;
        char *cert, *key, ca[4096], url[512], to[4096], err[512] = "";
        FILE *f;

        (void)state;
        self_signed(&cert, &key);
        snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
        f = fopen(ca, "we");
        fputs(cert, f);
        fclose(f);
        snprintf(to, sizeof(to), "%s/served.txt", dir);
        f = fopen(to, "we");
        fputs("0123456789", f);
        fclose(f);
        tls = fileserver_start_tls(dir, cert, key);
        plain = fileserver_start(dir);
        assert_non_null(tls);
        assert_non_null(plain);
        snprintf(to, sizeof(to), "%s/got-tls.txt", dir);
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/served.txt", fileserver_port(tls));
        assert_int_equal(
                fetch_to_file(url, &(struct fetch_options){.ca_file = ca}, to, err, sizeof(err)),
                0);
        assert_true(exists("got-tls.txt"));
        unlink(to);
        /* not trusted without the CA */
        assert_int_equal(fetch_to_file(url, NULL, to, err, sizeof(err)), -EIO);
        /* https -> https is followed; https -> http is not */
        snprintf(url, sizeof(url),
                 "https://127.0.0.1:%d/redirect?to=https://127.0.0.1:%d/served.txt",
                 fileserver_port(tls), fileserver_port(tls));
        assert_int_equal(
                fetch_to_file(url, &(struct fetch_options){.ca_file = ca}, to, err, sizeof(err)),
                0);
        unlink(to);
        snprintf(url, sizeof(url),
                 "https://127.0.0.1:%d/redirect?to=http://127.0.0.1:%d/served.txt",
                 fileserver_port(tls), fileserver_port(plain));
        assert_int_equal(
                fetch_to_file(url, &(struct fetch_options){.ca_file = ca}, to, err, sizeof(err)),
                -EIO);
        if (!strstr(err, "not supported") && !strstr(err, "disabled"))
                fail_msg("%s", err);
        assert_false(exists("got-tls.txt"));
        assert_int_equal(fileserver_requests(plain), 0);
        fileserver_stop(tls);
        fileserver_stop(plain);
        free(cert);
        free(key);
}

/* A CRD tarball with the right digest is extracted; a wrong digest extracts nothing and
 * names both; a cached copy that no longer matches is downloaded again. */
static void test_crd_tarball_digest(void **state)
{
        static const struct entry crds[] = {
                {"crds/bases/a.yaml", AE_IFREG, "kind: CustomResourceDefinition\n", 0},
                {NULL, 0, NULL, 0}};
        char *tar = make_tar("crds.tar.gz", crds), *bytes = NULL, sum[SHA256_HEX_LEN], url[256],
             cache[4096], err[512] = "", wrong[SHA256_HEX_LEN];
        struct fileserver *srv = fileserver_start(dir);
        struct crd_tarball t;
        size_t len;
        FILE *f;

        (void)state;
        assert_int_equal(fileio_read(tar, 1u << 20, &bytes, &len), 0);
        sha256_hex(bytes, len, sum);
        snprintf(wrong, sizeof(wrong), "%s", sum);
        wrong[0] = wrong[0] == '0' ? '1' : '0';
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/crds.tar.gz", fileserver_port(srv));
        snprintf(cache, sizeof(cache), "%s/cache", dir);
        /* a wrong digest: refused, nothing extracted, nothing kept */
        assert_int_equal(crd_tarball_get(cache,
                                         &(struct crd_tarball_source){.url = url, .sha256 = wrong},
                                         &t, err, sizeof(err)),
                         -EBADMSG);
        assert_non_null(strstr(err, sum));
        assert_non_null(strstr(err, wrong));
        assert_non_null(strstr(err, "nothing extracted"));
        {
                char base[4300], url_sum[SHA256_HEX_LEN];
                DIR *d;
                sha256_hex(url, strlen(url), url_sum);
                snprintf(base, sizeof(base), "%s/crds/%s", cache, url_sum);
                d = opendir(base);
                assert_non_null(d);
                for (struct dirent *e; (e = readdir(d));)
                        if (e->d_name[0] != '.')
                                fail_msg("kept after a wrong digest: %s", e->d_name);
                closedir(d);
        }
        /* the right one */
        assert_int_equal(crd_tarball_get(cache,
                                         &(struct crd_tarball_source){.url = url, .sha256 = sum},
                                         &t, err, sizeof(err)),
                         0);
        assert_string_equal(t.sum, sum);
        /* the cached copy, tampered with: checked again and downloaded again */
        {
                char path[4300], url_sum[SHA256_HEX_LEN];
                unsigned before = fileserver_requests(srv);
                sha256_hex(url, strlen(url), url_sum);
                snprintf(path, sizeof(path), "%s/crds/%s/crds.tar.gz", cache, url_sum);
                f = fopen(path, "we");
                fputs("tampered", f);
                fclose(f);
                assert_int_equal(
                        crd_tarball_get(cache,
                                        &(struct crd_tarball_source){.url = url, .sha256 = sum}, &t,
                                        err, sizeof(err)),
                        0);
                assert_int_equal(fileserver_requests(srv), before + 1);
        }
        /* a cache others may write to is refused */
        {
                char top[4200];
                snprintf(top, sizeof(top), "%s/crds", cache);
                assert_int_equal(chmod(top, 0777), 0);
                assert_int_equal(
                        crd_tarball_get(cache,
                                        &(struct crd_tarball_source){.url = url, .sha256 = sum}, &t,
                                        err, sizeof(err)),
                        -EPERM);
                assert_non_null(strstr(err, "mode 0777"));
                assert_int_equal(chmod(top, 0700), 0);
        }
        fileserver_stop(srv);
        free(bytes);
        free(tar);
}

struct slow_fetch {
        const char *cache, *url;
        volatile int done;
};

static void *fetch_slow(void *arg)
{
        struct slow_fetch *s = arg;
        struct crd_tarball t;
        char err[512];

        crd_tarball_get(s->cache, &(struct crd_tarball_source){.url = s->url}, &t, err,
                        sizeof(err));
        s->done = 1;
        return NULL;
}

/* One slow server holds only its own URL: another URL is fetched meanwhile */
static void test_crd_tarball_lock_per_url(void **state)
{
        static const struct entry crds[] = {
                {"crds/bases/a.yaml", AE_IFREG, "kind: CustomResourceDefinition\n", 0},
                {NULL, 0, NULL, 0}};
        char *tar = make_tar("other.tar.gz", crds), url[256], cache[4096], err[512] = "";
        struct fileserver *srv = fileserver_start(dir);
        struct slow_fetch slow = {.cache = cache, .url = url};
        struct crd_tarball t;
        char other[256];
        pthread_t th;

        (void)state;
        snprintf(cache, sizeof(cache), "%s/cache-lock", dir);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", fileserver_port(srv));
        snprintf(other, sizeof(other), "http://127.0.0.1:%d/other.tar.gz", fileserver_port(srv));
        assert_int_equal(pthread_create(&th, NULL, fetch_slow, &slow), 0);
        usleep(200 * 1000); /* the slow one holds its lock (the server answers after 1 s) */
        assert_int_equal(crd_tarball_get(cache, &(struct crd_tarball_source){.url = other}, &t, err,
                                         sizeof(err)),
                         0);
        assert_false(slow.done);
        pthread_join(th, NULL);
        assert_true(slow.done);
        fileserver_stop(srv);
        free(tar);
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
                cmocka_unit_test(test_fetch_https_never_down_to_http),
                cmocka_unit_test(test_crd_tarball_digest),
                cmocka_unit_test(test_crd_tarball_lock_per_url),
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
