/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates and keys with OpenSSL 3: CAs, leaves signed by them, PEM in and out (in memory
 * only), and the checks that decide whether an existing certificate can be kept. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum pki_key_type {
        PKI_RSA_3072, /* upstream's choice */
        PKI_ECDSA_P256,
};

struct pki_request {
        const char *cn;
        const char *const *orgs; /* NULL-terminated, or NULL */
        bool ca;
        bool server_auth, client_auth;
        const char *const *sans; /* NULL-terminated names and addresses, or NULL */
        long long validity_s;    /* from now (backdated a few minutes for clock skew) */
        enum pki_key_type key_type;
        /* re-issue with this certificate's key when it is of key_type (a renewal: the key of
         * the karmada pair signs ServiceAccount tokens too), or NULL: a new key */
        const struct pki_cert *key_of;
};

struct pki_cert;

int pki_new_ca(const struct pki_request *r, struct pki_cert **ret);
int pki_issue(const struct pki_cert *ca, const struct pki_request *r, struct pki_cert **ret);
/* Parse PEM: a certificate and (optionally, key may be NULL) its private key. -EINVAL when
 * either does not parse or the key does not belong to the certificate. */
int pki_load(const void *cert_pem, size_t cert_len, const void *key_pem, size_t key_len,
             struct pki_cert **ret);
void pki_free(struct pki_cert *c);

/* PEM text, caller frees (keys: wipe with free_secret). */
int pki_cert_pem(const struct pki_cert *c, char **ret, size_t *ret_len);
int pki_key_pem(const struct pki_cert *c, char **ret, size_t *ret_len);

/* Issued by ca (its signature), at any time: an expired leaf still is (expiry is a renewal's
 * concern, and a CA without its key keeps its leaves past it) */
bool pki_signed_by(const struct pki_cert *leaf, const struct pki_cert *ca);
/* Has exactly the subject, usages and SANs r asks for (SAN order and duplicates aside)? */
bool pki_matches(const struct pki_cert *c, const struct pki_request *r);
/* notBefore and notAfter, in seconds since the epoch (0 when unreadable). */
long long pki_not_before(const struct pki_cert *c);
long long pki_not_after(const struct pki_cert *c);
/* When a certificate valid from not_before to not_after is renewed: once two thirds of its
 * lifetime have passed. */
long long pki_renew_at(long long not_before, long long not_after);
bool pki_has_key(const struct pki_cert *c);

/* Whether a SAN is an IP address (else it is a DNS name); for tests and callers. */
bool pki_san_is_ip(const char *san);
/* The subject, RFC 2253 ("CN=system:admin,O=system:masters"), into buf. */
void pki_subject(const struct pki_cert *c, char *buf, size_t size);
/* The DNS names and addresses, each into a row of out (at most max); how many, or -EINVAL
 * for a kind of name this code never issues. */
int pki_sans(const struct pki_cert *c, char (*out)[256], int max);
