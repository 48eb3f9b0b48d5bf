/* SPDX-License-Identifier: Apache-2.0 */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/keypool.h"
#include "util/macro.h"

struct pki_cert {
        X509 *cert;
        EVP_PKEY *key; /* NULL when only the certificate is known */
};

void pki_free(struct pki_cert *c)
{
        if (!c)
                return;
        X509_free(c->cert);
        EVP_PKEY_free(c->key);
        free(c);
}

bool pki_has_key(const struct pki_cert *c)
{
        return c->key != NULL;
}

bool pki_san_is_ip(const char *san)
{
        unsigned char buf[16];

        return inet_pton(AF_INET, san, buf) == 1 || inet_pton(AF_INET6, san, buf) == 1;
}

/* a key never used before: from the pool made ahead (util/keypool.c), or made now */
static EVP_PKEY *new_key(enum pki_key_type t)
{
        return keypool_take(t == PKI_ECDSA_P256 ? KEYPOOL_ECDSA_P256 : KEYPOOL_RSA3072);
}

/* r->key_of's key when it is of the wanted type (one more reference), else a new one */
static EVP_PKEY *key_for(const struct pki_request *r)
{
        EVP_PKEY *k = r->key_of ? r->key_of->key : NULL;
        int want = r->key_type == PKI_ECDSA_P256 ? EVP_PKEY_EC : EVP_PKEY_RSA;

        if (k && EVP_PKEY_get_base_id(k) == want && EVP_PKEY_up_ref(k) == 1)
                return k;
        return new_key(r->key_type);
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
        X509V3_CTX ctx;
        X509_EXTENSION *e;

        X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!e)
                return -EINVAL;
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        return 0;
}

static int set_sans(X509 *x, const char *const *sans)
{
        GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
        int r = 0;

        for (const char *const *s = sans; s && *s && r == 0; s++) {
                GENERAL_NAME *g = GENERAL_NAME_new();
                unsigned char ip[16];
                int len = 0;

                if (inet_pton(AF_INET, *s, ip) == 1)
                        len = 4;
                else if (inet_pton(AF_INET6, *s, ip) == 1)
                        len = 16;
                if (len) {
                        ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
                        ASN1_OCTET_STRING_set(o, ip, len);
                        GENERAL_NAME_set0_value(g, GEN_IPADD, o);
                } else {
                        ASN1_IA5STRING *d = ASN1_IA5STRING_new();
                        ASN1_STRING_set(d, *s, (int)strlen(*s));
                        GENERAL_NAME_set0_value(g, GEN_DNS, d);
                }
                if (!sk_GENERAL_NAME_push(names, g)) {
                        GENERAL_NAME_free(g);
                        r = -ENOMEM;
                }
        }
        if (r == 0 && sk_GENERAL_NAME_num(names) > 0 &&
            !X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT))
                r = -EINVAL;
        GENERAL_NAMES_free(names);
        return r;
}

static int build(const struct pki_request *r, const struct pki_cert *ca, struct pki_cert **ret)
{
        struct pki_cert *c = calloc(1, sizeof(*c));
        X509_NAME *name;
        BIGNUM *serial = BN_new();
        char ku[96], eku[64] = "";
        X509 *issuer;
        EVP_PKEY *signer;
        int q = -EINVAL;

        if (!c || !serial)
                goto fail;
        c->key = key_for(r);
        c->cert = X509_new();
        if (!c->key || !c->cert)
                goto fail;
        issuer = ca ? ca->cert : c->cert;
        signer = ca ? ca->key : c->key;
        X509_set_version(c->cert, 2);
        if (!BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
            !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(c->cert)))
                goto fail;
        /* valid from a few minutes ago (clocks differ: 5, or a fifth of a short life), but
         * never before its CA */
        X509_gmtime_adj(X509_getm_notBefore(c->cert),
                        -(long)(r->validity_s / 5 < 300 ? r->validity_s / 5 : 300));
        if (ca &&
            ASN1_TIME_compare(X509_get0_notBefore(ca->cert), X509_get0_notBefore(c->cert)) > 0)
                X509_set1_notBefore(c->cert, X509_get0_notBefore(ca->cert));
        X509_gmtime_adj(X509_getm_notAfter(c->cert), (long)r->validity_s);
        X509_set_pubkey(c->cert, c->key);
        name = X509_get_subject_name(c->cert);
        for (const char *const *o = r->orgs; o && *o; o++)
                X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)*o, -1,
                                           -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)r->cn, -1, -1,
                                   0);
        X509_set_issuer_name(c->cert, X509_get_subject_name(issuer));
        snprintf(ku, sizeof(ku), "critical,digitalSignature,keyEncipherment%s",
                 r->ca ? ",keyCertSign" : "");
        if (r->server_auth && r->client_auth)
                snprintf(eku, sizeof(eku), "serverAuth,clientAuth");
        else if (r->server_auth || r->client_auth)
                snprintf(eku, sizeof(eku), "%s", r->server_auth ? "serverAuth" : "clientAuth");
        if (add_ext(c->cert, issuer, NID_basic_constraints,
                    r->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
            add_ext(c->cert, issuer, NID_key_usage, ku) < 0 ||
            (*eku && add_ext(c->cert, issuer, NID_ext_key_usage, eku) < 0) ||
            add_ext(c->cert, issuer, NID_subject_key_identifier, "hash") < 0 ||
            (ca && add_ext(c->cert, issuer, NID_authority_key_identifier, "keyid:always") < 0) ||
            set_sans(c->cert, r->sans) < 0)
                goto fail;
        if (!X509_sign(c->cert, signer, EVP_sha256()))
                goto fail;
        BN_free(serial);
        *ret = c;
        return 0;
fail:
        BN_free(serial);
        pki_free(c);
        return q;
}

int pki_new_ca(const struct pki_request *r, struct pki_cert **ret)
{
        struct pki_request ca = *r;

        ca.ca = true;
        return build(&ca, NULL, ret);
}

int pki_issue(const struct pki_cert *ca, const struct pki_request *r, struct pki_cert **ret)
{
        if (!ca || !ca->key)
                return -EINVAL;
        return build(r, ca, ret);
}

int pki_load(const void *cert_pem, size_t cert_len, const void *key_pem, size_t key_len,
             struct pki_cert **ret)
{
        struct pki_cert *c = calloc(1, sizeof(*c));
        BIO *b;

        if (!c)
                return -ENOMEM;
        if (cert_len > INT32_MAX || key_len > INT32_MAX)
                goto fail;
        b = BIO_new_mem_buf(cert_pem, (int)cert_len);
        c->cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!c->cert)
                goto fail;
        if (key_pem) {
                b = BIO_new_mem_buf(key_pem, (int)key_len);
                c->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
                BIO_free(b);
                if (!c->key || X509_check_private_key(c->cert, c->key) != 1)
                        goto fail;
        }
        *ret = c;
        return 0;
fail:
        pki_free(c);
        return -EINVAL;
}

static int bio_out(BIO *b, char **ret, size_t *ret_len, bool secret)
{
        char *data, *out;
        long n = BIO_get_mem_data(b, &data);

        if (n <= 0)
                return -EIO;
        out = malloc((size_t)n + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        if (secret)
                OPENSSL_cleanse(data, (size_t)n);
        *ret = out;
        if (ret_len)
                *ret_len = (size_t)n;
        return 0;
}

int pki_cert_pem(const struct pki_cert *c, char **ret, size_t *ret_len)
{
        BIO *b = BIO_new(BIO_s_mem());
        int r = -EIO;

        if (b && PEM_write_bio_X509(b, c->cert))
                r = bio_out(b, ret, ret_len, false);
        BIO_free(b);
        return r;
}

int pki_key_pem(const struct pki_cert *c, char **ret, size_t *ret_len)
{
        BIO *b;
        int r = -EIO;

        if (!c->key)
                return -ENOKEY;
        b = BIO_new(BIO_s_secmem());
        if (!b)
                b = BIO_new(BIO_s_mem());
        /* PKCS#1 / SEC 1 ("RSA PRIVATE KEY", "EC PRIVATE KEY"), as Kubernetes tooling writes */
        if (b && PEM_write_bio_PrivateKey_traditional(b, c->key, NULL, NULL, 0, NULL, NULL))
                r = bio_out(b, ret, ret_len, true);
        BIO_free(b);
        return r;
}

bool pki_signed_by(const struct pki_cert *leaf, const struct pki_cert *ca)
{
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        bool ok = false;

        if (store && ctx && X509_STORE_add_cert(store, ca->cert) &&
            X509_STORE_CTX_init(ctx, store, leaf->cert, NULL)) {
                /* who issued it, not whether it is valid now: expiry is the renewal's concern */
                X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
                ok = X509_verify_cert(ctx) == 1;
        }
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return ok;
}

static bool name_entry_is(X509_NAME *n, int nid, const char *want)
{
        int i = X509_NAME_get_index_by_NID(n, nid, -1);
        const ASN1_STRING *s;

        if (i < 0)
                return !want;
        s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
        return want && (size_t)ASN1_STRING_length(s) == strlen(want) &&
               memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0;
}

/* A SAN in one spelling: IPs as inet_ntop writes them, names as given. */
static void canonical_san(const char *s, char *buf, size_t size)
{
        unsigned char ip[16];

        if (inet_pton(AF_INET, s, ip) == 1)
                inet_ntop(AF_INET, ip, buf, (socklen_t)size);
        else if (inet_pton(AF_INET6, s, ip) == 1)
                inet_ntop(AF_INET6, ip, buf, (socklen_t)size);
        else
                snprintf(buf, size, "%s", s);
}

/* Add s to a set of at most 64 strings of 256 bytes; false when full. */
static bool set_add(char (*set)[256], int *n, const char *s)
{
        for (int i = 0; i < *n; i++)
                if (strcmp(set[i], s) == 0)
                        return true;
        if (*n >= 64)
                return false;
        snprintf(set[(*n)++], 256, "%s", s);
        return true;
}

void pki_subject(const struct pki_cert *c, char *buf, size_t size)
{
        BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n;

        snprintf(buf, size, "%s", "");
        if (!b)
                return;
        X509_NAME_print_ex(b, X509_get_subject_name(c->cert), 0, XN_FLAG_RFC2253);
        n = BIO_get_mem_data(b, &data);
        if (n > 0)
                snprintf(buf, size, "%.*s", (int)n, data);
        BIO_free(b);
}

int pki_sans(const struct pki_cert *c, char (*out)[256], int max)
{
        GENERAL_NAMES *names = X509_get_ext_d2i(c->cert, NID_subject_alt_name, NULL, NULL);
        int n = 0, r = 0;

        for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && r == 0; i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                char buf[256];

                if (g->type == GEN_DNS) {
                        snprintf(buf, sizeof(buf), "%.*s", ASN1_STRING_length(g->d.dNSName),
                                 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
                } else if (g->type == GEN_IPADD) {
                        int len = ASN1_STRING_length(g->d.iPAddress);
                        if ((len != 4 && len != 16) ||
                            !inet_ntop(len == 4 ? AF_INET : AF_INET6,
                                       ASN1_STRING_get0_data(g->d.iPAddress), buf, sizeof(buf)))
                                r = -EINVAL;
                } else {
                        r = -EINVAL; /* a kind of name we never issue */
                }
                if (r == 0 && (n >= max || !set_add(out, &n, buf)))
                        break;
        }
        GENERAL_NAMES_free(names);
        return r < 0 ? r : n;
}

bool pki_matches(const struct pki_cert *c, const struct pki_request *r)
{
        X509_NAME *subj = X509_get_subject_name(c->cert);
        /* without the extension OpenSSL reports every usage; we issue it whenever we want one */
        uint32_t xku = X509_get_extension_flags(c->cert) & EXFLAG_XKUSAGE
                               ? X509_get_extended_key_usage(c->cert)
                               : 0;
        char(*have)[256] = calloc(64, 256), (*want)[256] = calloc(64, 256);
        int n_have = 0, n_want = 0;
        bool ok = have && want;

        ok = ok && name_entry_is(subj, NID_commonName, r->cn) &&
             name_entry_is(subj, NID_organizationName, r->orgs ? r->orgs[0] : NULL);
        ok = ok && !!(xku & XKU_SSL_SERVER) == r->server_auth &&
             !!(xku & XKU_SSL_CLIENT) == r->client_auth;
        ok = ok && (X509_check_ca(c->cert) != 0) == r->ca;
        ok = ok && (n_have = pki_sans(c, have, 64)) >= 0;
        for (const char *const *s = r->sans; ok && s && *s; s++) {
                char buf[256];
                canonical_san(*s, buf, sizeof(buf));
                ok = set_add(want, &n_want, buf);
        }
        /* the same set: as many distinct names, each wanted one present */
        ok = ok && n_have == n_want;
        for (int i = 0; ok && i < n_want; i++) {
                bool found = false;
                for (int j = 0; j < n_have && !found; j++)
                        found = strcmp(want[i], have[j]) == 0;
                ok = found;
        }
        free(have);
        free(want);
        return ok;
}

/* seconds since the epoch of an ASN1 time, 0 when unreadable */
static long long epoch_of(const ASN1_TIME *t)
{
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return 0;
        return (long long)timegm(&tm);
}

long long pki_not_before(const struct pki_cert *c)
{
        return epoch_of(X509_get0_notBefore(c->cert));
}

long long pki_not_after(const struct pki_cert *c)
{
        return epoch_of(X509_get0_notAfter(c->cert));
}

long long pki_renew_at(long long not_before, long long not_after)
{
        return not_before + (not_after - not_before) * 2 / 3;
}
