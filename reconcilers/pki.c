/* SPDX-License-Identifier: Apache-2.0 */
/* The instance's certificates, as upstream issues them (names, CNs, usages, SANs), kept in
 * <prefix>-cert, <prefix>-etcd-cert and <prefix>-webhook-cert. Generated once: an existing CA is
 * always kept; an existing leaf is kept while it is signed by its CA, asks for what is wanted
 * (SANs change with certSANs, serviceType, the node or load balancer address) and has not lived
 * two thirds of its life (pki_renew_at). Otherwise the leaf is issued again from the same CA,
 * with the same key (the karmada pair's key also signs ServiceAccount tokens: a new one would
 * invalidate them all). The instance is reconciled again when the next renewal is due
 * (desired_valid_until), so renewal waits for no other event. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "karmada/ca_rotation.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/macro.h"
#include "util/strbuf.h"

#define CA_VALIDITY_S (3650LL * 86400)
#define MAX_SANS      64

struct sans {
        const char *list[MAX_SANS + 1];
        char *owned[MAX_SANS];
        int n, n_owned;
};

static void san_add(struct sans *s, const char *v)
{
        if (!v || !*v || s->n >= MAX_SANS)
                return;
        for (int i = 0; i < s->n; i++)
                if (strcmp(s->list[i], v) == 0)
                        return;
        s->list[s->n++] = v;
        s->list[s->n] = NULL;
}

static void san_addf(struct sans *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void san_addf(struct sans *s, const char *fmt, ...)
{
        va_list ap;
        char *v;

        if (s->n_owned >= MAX_SANS)
                return;
        va_start(ap, fmt);
        if (vasprintf(&v, fmt, ap) < 0)
                v = NULL;
        va_end(ap);
        if (!v)
                return;
        s->owned[s->n_owned++] = v;
        san_add(s, v);
}

static void san_add_list(struct sans *s, const cJSON *list)
{
        const cJSON *e;

        cJSON_ArrayForEach (e, list)
                san_add(s, e->valuestring);
}

static void sans_free(struct sans *s)
{
        for (int i = 0; i < s->n_owned; i++)
                free(s->owned[i]);
}

/* The address clients outside the cluster use: a LoadBalancer's ingress, or NULL. */
static const char *lb_address(const struct karmada *k, const struct desired *d)
{
        char name[KO_NAME_MAX + 16];
        const cJSON *svc, *ing, *e;

        if (strcmp(k->service_type, "LoadBalancer") != 0)
                return NULL;
        svc = desired_observed(d, &kube_services, k->namespace,
                               common_comp_name(k, KO_APISERVER, name, sizeof(name)));
        ing = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "status"),
                                                 "loadBalancer"),
                "ingress");
        cJSON_ArrayForEach (e, ing) {
                const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "hostname"),
                            *ip = cJSON_GetObjectItemCaseSensitive(e, "ip");
                if (cJSON_IsString(h) && *h->valuestring)
                        return h->valuestring;
                if (cJSON_IsString(ip) && *ip->valuestring)
                        return ip->valuestring;
        }
        return NULL;
}

/* The names the Karmada API server is reached by (upstream's list, the DNS domain honoured). */
static void apiserver_sans(const struct karmada *k, const struct desired *d, struct sans *s)
{
        san_add(s, "localhost");
        san_add(s, "kubernetes");
        san_add(s, "kubernetes.default");
        san_add(s, "kubernetes.default.svc");
        san_addf(s, "*.%s.svc.%s", KO_SYSTEM_NAMESPACE, k->dns_domain);
        san_addf(s, "*.%s.svc", KO_SYSTEM_NAMESPACE);
        san_addf(s, "*.%s.svc.%s", k->namespace, k->dns_domain);
        san_addf(s, "*.%s.svc", k->namespace);
        san_add(s, "127.0.0.1");
        san_add_list(s, k->apiserver_sans);
        if (strcmp(k->service_type, "NodePort") == 0 && d->observed)
                san_add(s, d->observed->node_address);
        san_add(s, lb_address(k, d));
}

/* The data of one Secret: "<name>.crt", "<name>.key" (when there is one) and, for a CA,
 * "<name>-trust.crt" (what its verifiers read: a bundle during a rotation) */
#define BUNDLE_MAX 40
struct bundle {
        char *keys[BUNDLE_MAX], *vals[BUNDLE_MAX];
        size_t lens[BUNDLE_MAX];
        bool secret[BUNDLE_MAX]; /* a private key: wiped when freed */
        int n;
};

static void bundle_free(struct bundle *b)
{
        for (int i = 0; i < b->n; i++) {
                free(b->keys[i]);
                if (b->secret[i])
                        free_secret(b->vals[i], b->lens[i]);
                else
                        free(b->vals[i]);
        }
        b->n = 0;
}

/* Takes val */
static int bundle_put(struct bundle *b, const char *name, const char *suffix, char *val, size_t len,
                      bool secret)
{
        if (b->n >= BUNDLE_MAX || asprintf(&b->keys[b->n], "%s%s", name, suffix) < 0) {
                if (secret)
                        free_secret(val, len);
                else
                        free(val);
                return -ENOMEM;
        }
        b->vals[b->n] = val, b->lens[b->n] = len, b->secret[b->n++] = secret;
        return 0;
}

/* A certificate (and its key, when it has one: a user's CA may come without); a CA with what
 * trusts it: `trust` (PEM), or NULL: the CA alone */
static int bundle_add(struct bundle *b, const char *name, const struct pki_cert *c, bool ca,
                      const char *trust)
{
        char *pem = NULL, *trusted = NULL;
        size_t len = 0;
        int r = pki_cert_pem(c, &pem, &len);

        if (r >= 0 && ca) {
                trusted = trust ? strdup(trust) : strndup(pem, len);
                r = trusted ? 0 : -ENOMEM;
        }
        if (r >= 0)
                r = bundle_put(b, name, ".crt", pem, len, false);
        else
                free(pem);
        if (r >= 0 && pki_has_key(c) && (r = pki_key_pem(c, &pem, &len)) >= 0)
                r = bundle_put(b, name, ".key", pem, len, true);
        if (r >= 0 && trusted)
                return bundle_put(b, name, "-trust.crt", trusted, strlen(trusted), false);
        free(trusted);
        return r;
}

/* Copies of every entry of from, appended to to */
static int bundle_append(struct bundle *to, const struct bundle *from)
{
        int r = 0;

        for (int i = 0; i < from->n && r >= 0; i++) {
                char *v = malloc(from->lens[i] + 1);
                if (!v)
                        return -ENOMEM;
                memcpy(v, from->vals[i], from->lens[i]);
                v[from->lens[i]] = '\0';
                r = bundle_put(to, from->keys[i], "", v, from->lens[i], from->secret[i]);
        }
        return r;
}

/* The value of key in b (borrowed), or NULL */
static const char *bundle_get(const struct bundle *b, const char *key, size_t *len)
{
        for (int i = 0; i < b->n; i++)
                if (strcmp(b->keys[i], key) == 0) {
                        *len = b->lens[i];
                        return b->vals[i];
                }
        *len = 0;
        return NULL;
}

/* The CA: the custom one when asked for, else the rotation's current one (taken from *have:
 * the existing one, or the new one of a rotation), else a new one. */
static int get_ca(const struct karmada *k, struct desired *d, struct pki_cert **have,
                  const char *cn, bool custom, struct pki_cert **ret)
{
        struct pki_request r = {
                .cn = cn, .ca = true, .validity_s = CA_VALIDITY_S, .key_type = d->key_type};

        if (custom) {
                const cJSON *s = desired_observed(d, &kube_secrets, k->ca_secret_namespace,
                                                  k->ca_secret_name);
                const cJSON *data = cJSON_GetObjectItemCaseSensitive(s, "data");
                const cJSON *c = cJSON_GetObjectItemCaseSensitive(data, "tls.crt");
                const cJSON *key = cJSON_GetObjectItemCaseSensitive(data, "tls.key");
                unsigned char *cb = NULL, *kb = NULL;
                size_t cl = 0, kl = 0;
                int q = -EINVAL;

                if (!s) {
                        desired_wait(d,
                                     "the CA Secret %s/%s (spec.customCertificate.apiServerCACert) "
                                     "does not exist",
                                     k->ca_secret_namespace, k->ca_secret_name);
                        return -ENOENT;
                }
                /* without tls.key: the leaves in the Secrets are used while they last */
                if (cJSON_IsString(c) &&
                    base64_decode(c->valuestring, strlen(c->valuestring), &cb, &cl) == 0 &&
                    (!cJSON_IsString(key) ||
                     base64_decode(key->valuestring, strlen(key->valuestring), &kb, &kl) == 0))
                        q = pki_load(cb, cl, kb, kl, ret);
                free(cb);
                free_secret(kb, kl);
                if (q < 0)
                        desired_wait(d,
                                     "the CA Secret %s/%s has no valid tls.crt (with its "
                                     "tls.key, if any)",
                                     k->ca_secret_namespace, k->ca_secret_name);
                return q;
        }
        *ret = *have;
        *have = NULL;
        return *ret ? 0 : pki_new_ca(&r, ret);
}

/* A leaf: the existing one when still right (and, when its CA has no key, past its renewal
 * time too), else one issued anew with the existing one's key; its renewal noted. 1 when it
 * cannot be issued (desired_wait says why). */
static int get_leaf(struct desired *d, const cJSON *existing, const char *name,
                    const struct pki_cert *ca, const struct pki_request *r, struct pki_cert **ret)
{
        struct pki_cert *c = ca_secret_cert(existing, name, true);
        struct pki_request renewal = *r;
        int q;

        if (c && pki_signed_by(c, ca) && pki_matches(c, r) && desired_keeps(c, ca)) {
                *ret = c;
        } else if (!pki_has_key(ca)) {
                pki_free(c);
                desired_wait(d,
                             "certificate %s: the CA of spec.customCertificate.apiServerCACert "
                             "has no tls.key to issue it with",
                             name);
                return 1;
        } else {
                renewal.key_of = c;
                q = pki_issue(ca, &renewal, ret);
                pki_free(c);
                if (q < 0)
                        return q;
        }
        desired_renewal(d, name, *ret, ca);
        return 0;
}

static bool pki_enabled(const struct karmada *k)
{
        return true;
}

/* The CAs and the karmada, apiserver and front-proxy-client pairs (kept from `existing` while
 * they still fit). 1 while the user's CA is not there (desired_wait says what is wrong). */
static int issue_karmada(const struct karmada *k, struct desired *d, const cJSON *existing,
                         struct ca_rotation *rot, struct pki_cert **apiserver,
                         struct pki_cert **fp_client)
{
        static const char *const masters[] = {"system:masters", NULL};
        struct sans api = {0}, karmada = {0};
        bool waiting = false;
        int r;

        apiserver_sans(k, d, &api);
        for (int i = 0; i < api.n; i++)
                san_add(&karmada, api.list[i]);
        san_add_list(&karmada, k->aggregated_sans);
        r = get_ca(k, d, &rot->cur[CA_KARMADA], "karmada", k->ca_secret_name != NULL, &d->ca);
        if (r < 0 && k->ca_secret_name) {
                waiting = true;
                goto out;
        }
        if (r == 0) /* first what the CA signs: a user's CA without its key may sign nothing */
                r = get_leaf(d, existing, "karmada", d->ca,
                             &(struct pki_request){.cn = "system:admin",
                                                   .orgs = masters,
                                                   .server_auth = true,
                                                   .client_auth = true,
                                                   .sans = karmada.list,
                                                   .validity_s = k->leaf_validity_s,
                                                   .key_type = d->key_type},
                             &d->karmada_pair);
        if (r == 0)
                r = get_leaf(d, existing, "apiserver", d->ca,
                             &(struct pki_request){.cn = "karmada-apiserver",
                                                   .server_auth = true,
                                                   .sans = api.list,
                                                   .validity_s = k->leaf_validity_s,
                                                   .key_type = d->key_type},
                             apiserver);
        if (r == 0)
                r = get_ca(k, d, &rot->cur[CA_FRONT_PROXY], "front-proxy-ca", false,
                           &d->front_proxy_ca);
        if (r == 0)
                r = get_leaf(d, existing, "front-proxy-client", d->front_proxy_ca,
                             &(struct pki_request){.cn = "front-proxy-client",
                                                   .client_auth = true,
                                                   .validity_s = k->leaf_validity_s,
                                                   .key_type = d->key_type},
                             fp_client);
out:
        sans_free(&api);
        sans_free(&karmada);
        return waiting || r > 0 ? 1 : r;
}

/* etcd's CA, and one server pair (for clients and peers) and one client pair. */
static int issue_etcd(const struct karmada *k, struct desired *d, const cJSON *existing,
                      struct ca_rotation *rot, struct pki_cert **server)
{
        char svc[KO_NAME_MAX + 16], client_svc[KO_NAME_MAX + 16];
        struct sans etcd = {0};
        int r;

        common_obj_name(k, "etcd", svc, sizeof(svc));
        common_obj_name(k, "etcd-client", client_svc, sizeof(client_svc));
        san_add(&etcd, "localhost");
#ifndef KO_FAULT_DROP_ETCD_CLIENT_SAN /* a test build that must fail the live tests */
        san_addf(&etcd, "%s.%s.svc.%s", client_svc, k->namespace, k->dns_domain);
#endif
        san_addf(&etcd, "*.%s.%s.svc.%s", svc, k->namespace, k->dns_domain);
        san_add(&etcd, "127.0.0.1");
        san_add_list(&etcd, k->etcd_server_sans);
        san_add_list(&etcd, k->etcd_peer_sans); /* one certificate serves clients and peers */
        r = get_ca(k, d, &rot->cur[CA_ETCD], "karmada-etcd-ca", false, &d->etcd_ca);
        if (r >= 0)
                r = get_leaf(d, existing, "etcd-server", d->etcd_ca,
                             &(struct pki_request){.cn = "karmada-etcd-server",
                                                   .server_auth = true,
                                                   .client_auth = true,
                                                   .sans = etcd.list,
                                                   .validity_s = k->leaf_validity_s,
                                                   .key_type = d->key_type},
                             server);
        if (r >= 0)
                r = get_leaf(d, existing, "etcd-client", d->etcd_ca,
                             &(struct pki_request){.cn = "karmada-etcd-client",
                                                   .server_auth = true,
                                                   .client_auth = true,
                                                   .validity_s = k->leaf_validity_s,
                                                   .key_type = d->key_type},
                             &d->etcd_client);
        sans_free(&etcd);
        return r < 0 ? r : 0;
}

/* <prefix>-cert: every pair; <prefix>-etcd-cert: the etcd ones; webhook: the karmada pair. */
/* A CA rotation's next and previous CAs, kept beside the current one */
static int bundle_rotation(struct bundle *b, const struct ca_rotation *rot, enum ca_kind i)
{
        char name[64];
        int r = 0;

        snprintf(name, sizeof(name), "%s-next", ca_rotation_names[i]);
        if (rot->next[i])
                r = bundle_add(b, name, rot->next[i], false, NULL);
        snprintf(name, sizeof(name), "%s-prev", ca_rotation_names[i]);
        if (r >= 0 && rot->prev[i])
                r = bundle_add(b, name, rot->prev[i], false, NULL);
        return r;
}

static int add_secrets(const struct karmada *k, struct desired *d, const struct ca_rotation *rot,
                       char *const *trust, struct pki_cert *apiserver, struct pki_cert *fp_client,
                       struct pki_cert *etcd_server)
{
        char cert_secret[KO_NAME_MAX + 16], etcd_secret[KO_NAME_MAX + 16],
                webhook_secret[KO_NAME_MAX + 16];
        struct bundle all = {0}, etcd_only = {0};
        const char *crt, *key, *ca;
        size_t crt_len, key_len, ca_len;
        cJSON *secret;
        int r;

        common_obj_name(k, "cert", cert_secret, sizeof(cert_secret));
        common_obj_name(k, "etcd-cert", etcd_secret, sizeof(etcd_secret));
        common_obj_name(k, "webhook-cert", webhook_secret, sizeof(webhook_secret));
        if ((r = bundle_add(&all, "ca", d->ca, true, trust[CA_KARMADA])) < 0 ||
            (r = bundle_add(&all, "karmada", d->karmada_pair, false, NULL)) < 0 ||
            (r = bundle_add(&all, "apiserver", apiserver, false, NULL)) < 0 ||
            (r = bundle_add(&all, "front-proxy-ca", d->front_proxy_ca, true,
                            trust[CA_FRONT_PROXY])) < 0 ||
            (r = bundle_add(&all, "front-proxy-client", fp_client, false, NULL)) < 0 ||
            (r = bundle_rotation(&all, rot, CA_KARMADA)) < 0 ||
            (r = bundle_rotation(&all, rot, CA_FRONT_PROXY)) < 0)
                goto out;
        if (!k->etcd_external &&
            ((r = bundle_add(&etcd_only, "etcd-ca", d->etcd_ca, true, trust[CA_ETCD])) < 0 ||
             (r = bundle_add(&etcd_only, "etcd-server", etcd_server, false, NULL)) < 0 ||
             (r = bundle_add(&etcd_only, "etcd-client", d->etcd_client, false, NULL)) < 0 ||
             (r = bundle_rotation(&etcd_only, rot, CA_ETCD)) < 0 ||
             (r = bundle_append(&all, &etcd_only)) < 0)) /* <P>-cert holds every pair */
                goto out;
        secret = manifest_secret(k, cert_secret, (const char *const *)all.keys,
                                 (const char *const *)all.vals, all.lens, all.n);
        if (secret && rot->handled) { /* the rotate-ca value handled */
                cJSON *meta = cJSON_GetObjectItemCaseSensitive(secret, "metadata"),
                      *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
                if (!ann)
                        ann = cJSON_AddObjectToObject(meta, "annotations");
                cJSON_AddStringToObject(ann, KO_ROTATE_CA_ANNOTATION, rot->handled);
        }
        r = desired_add(d, &kube_secrets, secret, false);
        if (r >= 0 && !k->etcd_external)
                r = desired_add(d, &kube_secrets,
                                manifest_secret(k, etcd_secret, (const char *const *)etcd_only.keys,
                                                (const char *const *)etcd_only.vals, etcd_only.lens,
                                                etcd_only.n),
                                false);
        crt = bundle_get(&all, "karmada.crt", &crt_len);
        key = bundle_get(&all, "karmada.key", &key_len);
        if (r >= 0)
                r = desired_add(d, &kube_secrets,
                                manifest_secret(k, webhook_secret,
                                                (const char *const[]){"tls.crt", "tls.key"},
                                                (const char *const[]){crt, key},
                                                (const size_t[]){crt_len, key_len}, key ? 2 : 1),
                                false);
        ca = bundle_get(&all, "ca.crt", &ca_len);
        if (r >= 0) {
                d->ca_pem = strndup(ca, ca_len);
                d->trust_pem = trust[CA_KARMADA] ? strdup(trust[CA_KARMADA]) : strndup(ca, ca_len);
                r = d->ca_pem && d->trust_pem ? 0 : -ENOMEM;
        }
out:
        bundle_free(&all);
        bundle_free(&etcd_only);
        return r;
}

/* Each certificate for status.certificates: where it is kept and which CA signed it */
static int note_certificates(const struct karmada *k, struct desired *d,
                             const struct pki_cert *apiserver, const struct pki_cert *fp_client,
                             const struct pki_cert *etcd_server)
{
        char cert_secret[KO_NAME_MAX + 16], etcd_secret[KO_NAME_MAX + 16];
        const struct {
                const char *name, *secret, *issuer;
                const struct pki_cert *c;
        } certs[] = {
                {"ca", cert_secret, NULL, d->ca},
                {"karmada", cert_secret, "ca", d->karmada_pair},
                {"apiserver", cert_secret, "ca", apiserver},
                {"front-proxy-ca", cert_secret, NULL, d->front_proxy_ca},
                {"front-proxy-client", cert_secret, "front-proxy-ca", fp_client},
                {"etcd-ca", etcd_secret, NULL, d->etcd_ca},
                {"etcd-server", etcd_secret, "etcd-ca", etcd_server},
                {"etcd-client", etcd_secret, "etcd-ca", d->etcd_client},
        };
        int r = 0;

        common_obj_name(k, "cert", cert_secret, sizeof(cert_secret));
        common_obj_name(k, "etcd-cert", etcd_secret, sizeof(etcd_secret));
        for (size_t i = 0; i < ELEMENTSOF(certs) && r >= 0; i++) {
                char key[64];
                if (!certs[i].c) /* etcd's, with an external etcd */
                        continue;
                snprintf(key, sizeof(key), "%s.crt", certs[i].name);
                r = desired_certificate(d, certs[i].name, certs[i].secret, key, certs[i].c,
                                        certs[i].issuer);
        }
        return r;
}

static int pki_contribute(const struct karmada *k, struct desired *d)
{
        char cert_secret[KO_NAME_MAX + 16], etcd_secret[KO_NAME_MAX + 16];
        struct pki_cert *apiserver = NULL, *fp_client = NULL, *etcd_server = NULL;
        const cJSON *existing, *existing_etcd;
        struct ca_rotation rot;
        char *trust[CA_N] = {0};
        int r;

        common_obj_name(k, "cert", cert_secret, sizeof(cert_secret));
        common_obj_name(k, "etcd-cert", etcd_secret, sizeof(etcd_secret));
        existing = desired_observed(d, &kube_secrets, k->namespace, cert_secret);
        existing_etcd = desired_observed(d, &kube_secrets, k->namespace, etcd_secret);
        r = ca_rotation_plan(k, d, existing, existing_etcd ? existing_etcd : existing, &rot);
        for (int i = 0; i < CA_N && r == 0; i++)
                trust[i] = ca_rotation_trust(&rot, i);
        d->ca_phase = rot.phase;
        d->ca_rotated = rot.completed;
        if (r == 0)
                r = issue_karmada(k, d, existing, &rot, &apiserver, &fp_client);
        if (r == 0 && !k->etcd_external)
                r = issue_etcd(k, d, existing_etcd ? existing_etcd : existing, &rot, &etcd_server);
        if (r == 0) {                          /* the digest of what is issued with, as it is now */
                for (int i = 0; i < CA_N; i++) /* what get_ca did not take (a user's CA) */
                        pki_free(rot.cur[i]);
                rot.cur[CA_KARMADA] = d->ca, rot.cur[CA_FRONT_PROXY] = d->front_proxy_ca;
                rot.cur[CA_ETCD] = d->etcd_ca;
                ca_rotation_seal(&rot);
                memset(rot.cur, 0, sizeof(rot.cur)); /* d's */
                snprintf(d->ca_id, sizeof(d->ca_id), "%s", rot.id);
                r = add_secrets(k, d, &rot, trust, apiserver, fp_client, etcd_server);
        }
        if (r == 0)
                r = note_certificates(k, d, apiserver, fp_client, etcd_server);
        pki_free(apiserver);
        pki_free(fp_client);
        pki_free(etcd_server);
        for (int i = 0; i < CA_N; i++)
                free(trust[i]);
        ca_rotation_free(&rot);
        return r > 0 ? 0 : r; /* > 0: waiting for the user's CA */
}

/* Degraded when a certificate past its renewal time cannot be renewed (desired_renewal) */
static void expiring(const struct reconcile_ctx *ctx, struct step_result *ret)
{
        char at[TIME_RFC3339_MAX];

        if (!ctx->d->expiring[0])
                return;
        time_format_rfc3339((time_t)ctx->d->expiring_at, at);
        ret->degraded = true;
        snprintf(ret->reason, sizeof(ret->reason), "CertificateExpiring");
        snprintf(ret->message, sizeof(ret->message),
                 "certificate %s %s at %s and cannot be renewed: the CA Secret %s/%s "
                 "(spec.customCertificate.apiServerCACert) has no tls.key",
                 ctx->d->expiring,
                 ctx->d->expiring_at > (long long)time(NULL) ? "expires" : "expired", at,
                 ctx->k->ca_secret_namespace ?: "", ctx->k->ca_secret_name ?: "");
}

/* CertificatesReady names the certificate that expires first (RFC 3339 UTC times sort as text) */
static int pki_reconcile(struct reconcile_ctx *ctx, struct step_result *ret)
{
        const cJSON *e, *first = NULL;
        int n = 0;

        cJSON_ArrayForEach (e, ctx->d->certs) {
                const char *t = json_str(e, "notAfter", NULL);
                n++;
                if (t && (!first || strcmp(t, json_str(first, "notAfter", NULL)) < 0))
                        first = e;
        }
        ret->ready = true;
        snprintf(ret->reason, sizeof(ret->reason), "Ready");
        if (first)
                snprintf(ret->message, sizeof(ret->message),
                         "%d certificates; the first to expire: %s (Secret %s, key %s) at %s%s%s",
                         n, json_str(first, "name", NULL), json_str(first, "secretRef", "name"),
                         json_str(first, "secretRef", "key"), json_str(first, "notAfter", NULL),
                         json_str(first, "renewAt", NULL) ? ", renewed at " : "",
                         json_str(first, "renewAt", NULL) ?: "");
        expiring(ctx, ret);
        return 0;
}

const struct reconciler reconciler_pki = {
        .name = "pki",
        .after = (const char *const[]){"restore", NULL}, /* its CAs come from the backup */
        .condition = "CertificatesReady",
        .enabled = pki_enabled,
        .contribute = pki_contribute,
        .reconcile = pki_reconcile,
        .host_only = true, /* its hook reads what it contributed: no Karmada API server needed */
};
