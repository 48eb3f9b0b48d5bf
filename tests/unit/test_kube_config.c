/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kube/config.h"

/* "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" and a key */
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
#define KEY_PEM  "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define KEY_B64  "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCkJCQkIKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo="

static char tmpdir[64];

static void write_file(const char *name, const char *content)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static char *tpath(const char *name)
{
        static char path[4][256];
        static int i;

        i = (i + 1) % 4;
        snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
        return path[i];
}

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/ko-test-kubeconfig-XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        unsetenv("KUBECONFIG");
        unsetenv("KUBERNETES_SERVICE_HOST");
        unsetenv("KUBERNETES_SERVICE_PORT");
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int teardown(void **state)
{
        return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct kube_config *load_ok(const char *path, const char *context)
{
        struct kube_config_options o = {.kubeconfig = path, .context = context};
        struct kube_config *c = NULL;
        char err[512];

        if (kube_config_load(&o, &c, err, sizeof(err)) < 0)
                fail_msg("load failed: %s", err);
        return c;
}

static void load_fails(const char *path, int expect, const char *const *needles)
{
        struct kube_config_options o = {.kubeconfig = path};
        struct kube_config *c = NULL;
        char err[512] = "";

        assert_int_equal(kube_config_load(&o, &c, err, sizeof(err)), expect);
        assert_null(c);
        for (; *needles; needles++)
                if (!strstr(err, *needles))
                        fail_msg("error \"%s\" does not contain \"%s\"", err, *needles);
}

#define FAILS(path, expect, ...) load_fails(path, expect, (const char *const[]){__VA_ARGS__, NULL})

static void test_inline_data_fields(void **state)
{
        struct kube_config *c;

        write_file(
                "inline",
                "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"
                "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n"
                "    certificate-authority-data: " CERT_B64 "\n    tls-server-name: api.example\n"
                "users:\n- name: u1\n  user:\n    client-certificate-data: " CERT_B64 "\n"
                "    client-key-data: " KEY_B64 "\n"
                "contexts:\n- name: ctx\n  context: {cluster: c1, user: u1, namespace: team-a}\n");
        c = load_ok(tpath("inline"), NULL);
        assert_string_equal(c->server, "https://10.0.0.1:6443");
        assert_string_equal(c->tls_server_name, "api.example");
        assert_false(c->insecure_skip_tls_verify);
        assert_int_equal(c->ca_len, strlen(CERT_PEM));
        assert_memory_equal(c->ca, CERT_PEM, c->ca_len);
        assert_memory_equal(c->client_cert, CERT_PEM, c->client_cert_len);
        assert_memory_equal(c->client_key, KEY_PEM, c->client_key_len);
        assert_string_equal(c->namespace, "team-a");
        assert_string_equal(c->context, "ctx");
        assert_null(c->token);
        kube_config_free(c);
}

static void test_file_paths_are_relative_to_the_kubeconfig(void **state)
{
        struct kube_config *c;

        mkdir(tpath("sub"), 0700);
        write_file("sub/ca.crt", CERT_PEM);
        write_file("sub/tok", "secret-token\n");
        write_file("sub/files",
                   "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
                   "    certificate-authority: ca.crt\n    insecure-skip-tls-verify: false\n"
                   "users:\n- name: u\n  user:\n    tokenFile: tok\n"
                   "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
        c = load_ok(tpath("sub/files"), NULL);
        assert_memory_equal(c->ca, CERT_PEM, c->ca_len);
        assert_string_equal(c->token_file, tpath("sub/tok"));
        assert_string_equal(c->namespace, "default");
        kube_config_free(c);
}

static void test_token_and_insecure(void **state)
{
        struct kube_config *c;

        write_file("tok", "current-context: x\nclusters:\n- name: c\n  cluster: {server: "
                          "\"https://h:1\", insecure-skip-tls-verify: true}\n"
                          "users:\n- name: u\n  user: {token: abc.def, tokenFile: /nonexistent}\n"
                          "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
        c = load_ok(tpath("tok"), NULL);
        assert_true(c->insecure_skip_tls_verify);
        assert_string_equal(c->token, "abc.def");
        assert_null(c->token_file); /* an inline token wins, as with kubectl */
        kube_config_free(c);
}

static void test_context_flag_overrides_current_context(void **state)
{
        struct kube_config *c;

        write_file(
                "two",
                "current-context: a\nclusters:\n- {name: ca, cluster: {server: \"https://a:1\"}}\n"
                "- {name: cb, cluster: {server: \"https://b:1\"}}\n"
                "users:\n- {name: u, user: {token: t}}\n"
                "contexts:\n- {name: a, context: {cluster: ca, user: u}}\n- {name: b, context: "
                "{cluster: cb}}\n");
        c = load_ok(tpath("two"), "b");
        assert_string_equal(c->server, "https://b:1");
        assert_null(c->token); /* context b has no user */
        kube_config_free(c);
}

static void test_kubeconfig_env_merges_first_wins(void **state)
{
        struct kube_config *c;
        char env[600], err[512];

        write_file("m1", "clusters:\n- {name: shared, cluster: {server: \"https://first:1\"}}\n"
                         "users:\n- {name: u, user: {token: from-m1}}\n");
        write_file("m2", "current-context: ctx\nclusters:\n- {name: shared, cluster: {server: "
                         "\"https://second:1\"}}\n"
                         "users:\n- {name: u, user: {token: from-m2}}\n"
                         "contexts:\n- {name: ctx, context: {cluster: shared, user: u}}\n");
        write_file("m3", "current-context: ignored\n");
        snprintf(env, sizeof(env), "%s::%s:%s:%s", tpath("m1"), tpath("missing"), tpath("m2"),
                 tpath("m3"));
        setenv("KUBECONFIG", env, 1);
        assert_int_equal(kube_config_load(NULL, &c, err, sizeof(err)), 0);
        unsetenv("KUBECONFIG");
        assert_string_equal(c->server, "https://first:1");
        assert_string_equal(c->token, "from-m1");
        assert_string_equal(c->context, "ctx");
        kube_config_free(c);
}

static void test_broken_yaml_names_file_and_line(void **state)
{
        write_file("broken", "clusters:\n- name: c\n  cluster: {server: \"https://h:1\"\n");
        FAILS(tpath("broken"), -EINVAL, tpath("broken"), "line ");
}

static void test_missing_current_context(void **state)
{
        write_file("nocur", "clusters: []\n");
        FAILS(tpath("nocur"), -ENOENT, tpath("nocur"), "current-context");
}

static void test_unknown_user_and_cluster(void **state)
{
        write_file(
                "nouser",
                "current-context: x\nclusters:\n- {name: c, cluster: {server: \"https://h:1\"}}\n"
                "contexts:\n- {name: x, context: {cluster: c, user: ghost}}\n");
        FAILS(tpath("nouser"), -ENOENT, tpath("nouser"), "users", "\"ghost\"");
        write_file("nocluster",
                   "current-context: x\ncontexts:\n- {name: x, context: {cluster: nowhere}}\n");
        FAILS(tpath("nocluster"), -ENOENT, tpath("nocluster"), "clusters", "\"nowhere\"");
        write_file("noctx", "current-context: x\n");
        FAILS(tpath("noctx"), -ENOENT, "contexts", "\"x\"");
}

static void test_bad_base64_names_the_key(void **state)
{
        write_file(
                "b64",
                "current-context: x\nclusters:\n- {name: c, cluster: {server: \"https://h:1\"}}\n"
                "users:\n- name: u\n  user:\n    client-certificate-data: " CERT_B64
                "\n    client-key-data: '%%%notbase64'\n"
                "contexts:\n- {name: x, context: {cluster: c, user: u}}\n");
        FAILS(tpath("b64"), -EINVAL, tpath("b64"), "user \"u\"", "client-key-data", "base64");
}

static void test_not_pem_is_reported(void **state)
{
        write_file("notpem", "current-context: x\nclusters:\n- {name: c, cluster: {server: "
                             "\"https://h:1\", certificate-authority-data: aGVsbG8=}}\n"
                             "contexts:\n- {name: x, context: {cluster: c}}\n");
        FAILS(tpath("notpem"), -EINVAL, "certificate-authority-data", "not PEM");
}

static void test_missing_files(void **state)
{
        FAILS(tpath("does-not-exist"), -ENOENT, tpath("does-not-exist"));
        write_file("noca", "current-context: x\nclusters:\n- {name: c, cluster: {server: "
                           "\"https://h:1\", certificate-authority: nope.crt}}\n"
                           "contexts:\n- {name: x, context: {cluster: c}}\n");
        FAILS(tpath("noca"), -ENOENT, tpath("noca"), "certificate-authority", tpath("nope.crt"));
}

static void test_conflicting_and_unsupported_fields(void **state)
{
        write_file("both",
                   "current-context: x\nclusters:\n- {name: c, cluster: {server: \"https://h:1\", "
                   "certificate-authority: a, certificate-authority-data: " CERT_B64 "}}\n"
                   "contexts:\n- {name: x, context: {cluster: c}}\n");
        FAILS(tpath("both"), -EINVAL, "certificate-authority-data", "use one");
        write_file(
                "exec",
                "current-context: x\nclusters:\n- {name: c, cluster: {server: \"https://h:1\"}}\n"
                "users:\n- {name: u, user: {exec: {command: aws}}}\n"
                "contexts:\n- {name: x, context: {cluster: c, user: u}}\n");
        FAILS(tpath("exec"), -EOPNOTSUPP, "user \"u\"", "exec");
        write_file(
                "halfcert",
                "current-context: x\nclusters:\n- {name: c, cluster: {server: \"https://h:1\"}}\n"
                "users:\n- {name: u, user: {client-certificate-data: " CERT_B64 "}}\n"
                "contexts:\n- {name: x, context: {cluster: c, user: u}}\n");
        FAILS(tpath("halfcert"), -EINVAL, "client-key");
        write_file("badserver",
                   "current-context: x\nclusters:\n- {name: c, cluster: {server: \"h:1\"}}\n"
                   "contexts:\n- {name: x, context: {cluster: c}}\n");
        FAILS(tpath("badserver"), -EINVAL, "server", "not an http(s) URL");
        write_file("types", "current-context: x\ncontexts: {name: x}\n");
        FAILS(tpath("types"), -EINVAL, "contexts: must be a list");
        write_file("scalar", "just a string\n");
        FAILS(tpath("scalar"), -EINVAL, "not a kubeconfig");
}

static void test_memory_kubeconfig_refuses_file_references(void **state)
{
        const char *y = "current-context: x\nclusters:\n- {name: c, cluster: {server: "
                        "\"https://h:1\", certificate-authority: /etc/passwd}}\n"
                        "contexts:\n- {name: x, context: {cluster: c}}\n";
        struct kube_config *c = NULL;
        char err[512];

        assert_int_equal(kube_config_from_memory(y, strlen(y), "secret ns/kc key kubeconfig", NULL,
                                                 &c, err, sizeof(err)),
                         -EPERM);
        assert_null(c);
        assert_non_null(strstr(err, "secret ns/kc key kubeconfig"));
        assert_non_null(strstr(err, "not allowed"));
}

static void test_in_cluster(void **state)
{
        struct kube_config *c = NULL;
        char err[512];

        mkdir(tpath("sa"), 0700);
        write_file("sa/token", "tok\n");
        write_file("sa/ca.crt", CERT_PEM);
        write_file("sa/namespace", "karmada-system\n");
        assert_int_equal(kube_config_in_cluster(tpath("sa"), &c, err, sizeof(err)), -ENOENT);
        setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
        setenv("KUBERNETES_SERVICE_PORT", "443", 1);
        assert_int_equal(kube_config_in_cluster(tpath("sa"), &c, err, sizeof(err)), 0);
        assert_string_equal(c->server, "https://[fd00::1]:443");
        assert_string_equal(c->namespace, "karmada-system");
        assert_string_equal(c->token_file, tpath("sa/token"));
        assert_memory_equal(c->ca, CERT_PEM, c->ca_len);
        kube_config_free(c);
        setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
        assert_int_equal(kube_config_in_cluster(tpath("sa"), &c, err, sizeof(err)), 0);
        assert_string_equal(c->server, "https://10.0.0.1:443");
        kube_config_free(c);
        assert_int_equal(kube_config_in_cluster(tpath("nope"), &c, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "token"));
        unsetenv("KUBERNETES_SERVICE_HOST");
        unsetenv("KUBERNETES_SERVICE_PORT");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_inline_data_fields),
                cmocka_unit_test(test_file_paths_are_relative_to_the_kubeconfig),
                cmocka_unit_test(test_token_and_insecure),
                cmocka_unit_test(test_context_flag_overrides_current_context),
                cmocka_unit_test(test_kubeconfig_env_merges_first_wins),
                cmocka_unit_test(test_broken_yaml_names_file_and_line),
                cmocka_unit_test(test_missing_current_context),
                cmocka_unit_test(test_unknown_user_and_cluster),
                cmocka_unit_test(test_bad_base64_names_the_key),
                cmocka_unit_test(test_not_pem_is_reported),
                cmocka_unit_test(test_missing_files),
                cmocka_unit_test(test_conflicting_and_unsupported_fields),
                cmocka_unit_test(test_memory_kubeconfig_refuses_file_references),
                cmocka_unit_test(test_in_cluster),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
