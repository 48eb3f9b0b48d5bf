/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates: CNs, organizations, usages, SANs, chains, validity, PEM round trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "karmada/pki.h"

static const char *const masters[] = {"system:masters", NULL};
static const char *const sans[] = {
        "localhost", "kubernetes.default.svc", "*.team.svc.cluster.local", "127.0.0.1", "fd00::1",
        NULL};

static X509 *x509_of(const struct pki_cert *c)
{
        char *pem;
        size_t len;
        BIO *b;
        X509 *x;

        assert_int_equal(pki_cert_pem(c, &pem, &len), 0);
        b = BIO_new_mem_buf(pem, (int)len);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        free(pem);
        assert_non_null(x);
        return x;
}

static void check_issued(enum pki_key_type t)
{
        struct pki_request car = {.cn = "karmada", .validity_s = 3650LL * 86400, .key_type = t};
        struct pki_request lr = {.cn = "system:admin",
                                 .orgs = masters,
                                 .server_auth = true,
                                 .client_auth = true,
                                 .sans = sans,
                                 .validity_s = 30LL * 86400,
                                 .key_type = t};
        struct pki_cert *ca = NULL, *leaf = NULL, *other = NULL;
        X509 *x;
        char buf[256];

        assert_int_equal(pki_new_ca(&car, &ca), 0);
        assert_int_equal(pki_issue(ca, &lr, &leaf), 0);
        assert_true(pki_signed_by(leaf, ca));
        assert_true(pki_matches(leaf, &lr));
        assert_true(pki_matches(ca, &(struct pki_request){.cn = "karmada", .ca = true}));
        /* validity: 30 days, from a few minutes ago (clock skew) */
        assert_true(pki_not_after(leaf) - pki_not_before(leaf) >= 30LL * 86400 &&
                    pki_not_after(leaf) - pki_not_before(leaf) <= 30LL * 86400 + 600);
        assert_true(pki_not_after(leaf) - (long long)time(NULL) > 29LL * 86400);
        /* the subject, usages and SANs in the certificate itself */
        x = x509_of(leaf);
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
        assert_string_equal(buf, "system:admin");
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, buf, sizeof(buf));
        assert_string_equal(buf, "system:masters");
        assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
        assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
        assert_int_equal(X509_check_ca(x), 0);
        assert_int_equal(X509_check_host(x, "kubernetes.default.svc", 0, 0, NULL), 1);
        assert_int_equal(
                X509_check_host(x, "demo-karmada-apiserver.team.svc.cluster.local", 0, 0, NULL), 1);
        assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
        assert_int_equal(X509_check_ip_asc(x, "fd00::1", 0), 1);
        assert_int_equal(X509_check_host(x, "evil.example", 0, 0, NULL), 0);
        X509_free(x);
        /* not signed by another CA */
        assert_int_equal(pki_new_ca(&car, &other), 0);
        assert_false(pki_signed_by(leaf, other));
        pki_free(other);
        pki_free(leaf);
        pki_free(ca);
}

static void test_rsa_chain(void **state)
{
        check_issued(PKI_RSA_3072);
}

static void test_ecdsa_chain(void **state)
{
        check_issued(PKI_ECDSA_P256);
}

static void test_matches_detects_every_difference(void **state)
{
        struct pki_request ca_req = {
                .cn = "karmada", .validity_s = 10LL * 86400, .key_type = PKI_ECDSA_P256};
        struct pki_request r = {.cn = "karmada-apiserver",
                                .server_auth = true,
                                .sans = sans,
                                .validity_s = 10LL * 86400,
                                .key_type = PKI_ECDSA_P256};
        struct pki_cert *ca, *c;
        struct pki_request changed;

        assert_int_equal(pki_new_ca(&ca_req, &ca), 0);
        assert_int_equal(pki_issue(ca, &r, &c), 0);
        assert_true(pki_matches(c, &r));
        /* the same SANs in another order and spelling still match */
        changed = r;
        changed.sans = (const char *const[]){"fd00:0:0::1",
                                             "127.0.0.1",
                                             "*.team.svc.cluster.local",
                                             "localhost",
                                             "kubernetes.default.svc",
                                             "localhost",
                                             NULL};
        assert_true(pki_matches(c, &changed));
        changed.sans = (const char *const[]){"localhost",
                                             "kubernetes.default.svc",
                                             "*.team.svc.cluster.local",
                                             "127.0.0.1",
                                             "fd00::1",
                                             "10.0.0.9",
                                             NULL};
        assert_false(pki_matches(c, &changed)); /* a SAN more */
        changed.sans = (const char *const[]){"localhost", NULL};
        assert_false(pki_matches(c, &changed)); /* SANs fewer */
        changed = r;
        changed.cn = "other";
        assert_false(pki_matches(c, &changed));
        changed = r;
        changed.client_auth = true;
        assert_false(pki_matches(c, &changed));
        changed = r;
        changed.orgs = masters;
        assert_false(pki_matches(c, &changed));
        pki_free(c);
        pki_free(ca);
}

static void test_pem_round_trip_and_key_check(void **state)
{
        struct pki_request r = {
                .cn = "front-proxy-ca", .validity_s = 10LL * 86400, .key_type = PKI_ECDSA_P256};
        struct pki_cert *a, *b, *loaded;
        char *cert, *key, *key_b;
        size_t cl, kl, klb;

        assert_int_equal(pki_new_ca(&r, &a), 0);
        assert_int_equal(pki_new_ca(&r, &b), 0);
        assert_int_equal(pki_cert_pem(a, &cert, &cl), 0);
        assert_int_equal(pki_key_pem(a, &key, &kl), 0);
        assert_int_equal(pki_key_pem(b, &key_b, &klb), 0);
        assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
        assert_non_null(strstr(key, "PRIVATE KEY-----"));
        assert_int_equal(pki_load(cert, cl, key, kl, &loaded), 0);
        assert_true(pki_has_key(loaded));
        assert_true(pki_matches(loaded, &(struct pki_request){.cn = "front-proxy-ca", .ca = true}));
        pki_free(loaded);
        /* a key that is not the certificate's is refused */
        assert_int_equal(pki_load(cert, cl, key_b, klb, &loaded), -EINVAL);
        /* certificate only */
        assert_int_equal(pki_load(cert, cl, NULL, 0, &loaded), 0);
        assert_false(pki_has_key(loaded));
        assert_int_equal(pki_issue(loaded, &r, &(struct pki_cert *){NULL}),
                         -EINVAL); /* cannot sign */
        pki_free(loaded);
        /* garbage */
        assert_int_equal(pki_load("not a cert", 10, NULL, 0, &loaded), -EINVAL);
        free(cert);
        free(key);
        free(key_b);
        pki_free(a);
        pki_free(b);
}

/* Renewal re-signs the same key (the karmada pair's signs ServiceAccount tokens); a key of
 * another type than wanted is replaced. */
static void test_renewal_keeps_the_key(void **state)
{
        struct pki_request car = {.cn = "karmada", .validity_s = 86400, .key_type = PKI_ECDSA_P256};
        struct pki_request lr = {.cn = "system:admin",
                                 .client_auth = true,
                                 .validity_s = 3600,
                                 .key_type = PKI_ECDSA_P256};
        struct pki_cert *ca = NULL, *leaf = NULL, *renewed = NULL, *rsa = NULL;
        X509 *a, *b;

        (void)state;
        assert_int_equal(pki_new_ca(&car, &ca), 0);
        assert_int_equal(pki_issue(ca, &lr, &leaf), 0);
        lr.key_of = leaf;
        assert_int_equal(pki_issue(ca, &lr, &renewed), 0);
        a = x509_of(leaf);
        b = x509_of(renewed);
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)), 1);
        assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)),
                             0);
        assert_true(pki_signed_by(renewed, ca));
        X509_free(b);
        lr.key_type = PKI_RSA_3072; /* the wanted type changed: a new key */
        assert_int_equal(pki_issue(ca, &lr, &rsa), 0);
        b = x509_of(rsa);
        assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)), 1);
        X509_free(a);
        X509_free(b);
        pki_free(rsa);
        pki_free(renewed);
        pki_free(leaf);
        pki_free(ca);
}

/* Renewal is due once two thirds of the lifetime have passed: a leaf of a year (backdated 5
 * minutes for clock skew) is renewed 243 days after it was issued, one of 2 minutes (backdated
 * a fifth of that) 72 seconds after. */
static void test_renewal_window(void **state)
{
        struct pki_request car = {.cn = "karmada", .validity_s = 86400, .key_type = PKI_ECDSA_P256};
        struct pki_request lr = {.cn = "x",
                                 .client_auth = true,
                                 .validity_s = 365 * 86400LL,
                                 .key_type = PKI_ECDSA_P256};
        struct pki_cert *ca = NULL, *leaf = NULL;
        long long now = (long long)time(NULL);

        (void)state;
        assert_int_equal(pki_renew_at(0, 900), 600);
        assert_int_equal(pki_renew_at(1000, 1000 + 86400LL * 365 * 3), 1000 + 86400LL * 365 * 2);
        assert_int_equal(pki_new_ca(&car, &ca), 0);
        assert_int_equal(pki_issue(ca, &lr, &leaf), 0);
        assert_in_range(now - pki_not_before(leaf), 299, 301);
        assert_in_range(pki_renew_at(pki_not_before(leaf), pki_not_after(leaf)) - now,
                        (365 * 86400LL + 300) * 2 / 3 - 300 - 1,
                        (365 * 86400LL + 300) * 2 / 3 - 300 + 1);
        pki_free(leaf);
        lr.validity_s = 120;
        assert_int_equal(pki_issue(ca, &lr, &leaf), 0);
        assert_in_range(pki_not_after(leaf) - now, 119, 121);
        assert_in_range(now - pki_not_before(leaf), 23, 25);
        assert_in_range(pki_renew_at(pki_not_before(leaf), pki_not_after(leaf)) - now, 71, 73);
        pki_free(leaf);
        pki_free(ca);
}

static void test_san_kinds(void **state)
{
        assert_true(pki_san_is_ip("127.0.0.1"));
        assert_true(pki_san_is_ip("fd00::1"));
        assert_false(pki_san_is_ip("localhost"));
        assert_false(pki_san_is_ip("10.0.0"));
}

/* An expired leaf is still its CA's (a CA without its key keeps it; one with its key renews
 * it with the same key); another CA's is not */
static void test_signed_by_ignores_time(void **state)
{
        struct pki_cert *ca = NULL, *other = NULL, *leaf = NULL;

        (void)state;
        assert_int_equal(pki_new_ca(&(struct pki_request){.cn = "ca",
                                                          .ca = true,
                                                          .validity_s = 3600,
                                                          .key_type = PKI_ECDSA_P256},
                                    &ca),
                         0);
        assert_int_equal(pki_new_ca(&(struct pki_request){.cn = "other",
                                                          .ca = true,
                                                          .validity_s = 3600,
                                                          .key_type = PKI_ECDSA_P256},
                                    &other),
                         0);
        assert_int_equal(pki_issue(ca,
                                   &(struct pki_request){.cn = "leaf",
                                                         .client_auth = true,
                                                         .validity_s = 1,
                                                         .key_type = PKI_ECDSA_P256},
                                   &leaf),
                         0);
        sleep(2);
        assert_true(pki_not_after(leaf) < (long long)time(NULL));
        assert_true(pki_signed_by(leaf, ca));
        assert_false(pki_signed_by(leaf, other));
        pki_free(leaf);
        pki_free(other);
        pki_free(ca);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rsa_chain),
                cmocka_unit_test(test_ecdsa_chain),
                cmocka_unit_test(test_matches_detects_every_difference),
                cmocka_unit_test(test_pem_round_trip_and_key_check),
                cmocka_unit_test(test_san_kinds),
                cmocka_unit_test(test_renewal_keeps_the_key),
                cmocka_unit_test(test_renewal_window),
                cmocka_unit_test(test_signed_by_ignores_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
