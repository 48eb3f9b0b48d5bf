/* SPDX-License-Identifier: Apache-2.0 */
#include "ca_rotation.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "sync.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/strbuf.h"

#define CA_VALIDITY_S   (3650LL * 86400)
#define CA_RENEW_WITHIN (90LL * 86400) /* a CA this close to its end is rotated */

const char *const ca_rotation_names[CA_N] = {"ca", "front-proxy-ca", "etcd-ca"};
static const char *const ca_cns[CA_N] = {"karmada", "front-proxy-ca", "karmada-etcd-ca"};

struct pki_cert *ca_secret_cert(const cJSON *secret, const char *name, bool with_key)
{
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(secret, "data");
        char ck[96], kk[96];
        const cJSON *c, *k;
        unsigned char *cert = NULL, *key = NULL;
        size_t cl = 0, kl = 0;
        struct pki_cert *out = NULL;

        snprintf(ck, sizeof(ck), "%s.crt", name);
        snprintf(kk, sizeof(kk), "%s.key", name);
        c = cJSON_GetObjectItemCaseSensitive(data, ck);
        k = cJSON_GetObjectItemCaseSensitive(data, kk);
        if (!cJSON_IsString(c) || (with_key && !cJSON_IsString(k)))
                return NULL;
        if (base64_decode(c->valuestring, strlen(c->valuestring), &cert, &cl) == 0 &&
            (!with_key || base64_decode(k->valuestring, strlen(k->valuestring), &key, &kl) == 0))
                pki_load(cert, cl, key, kl, &out);
        free(cert);
        free_secret(key, kl);
        return out;
}

/* Every workload of the instance carries the checksum id in its pod template and has rolled
 * out (what a phase waits for before the next) */
static bool rolled(const struct karmada *k, const struct desired *d, const char *id)
{
        for (int c = 0; c < KO_N_COMPONENTS; c++) {
                bool sts = c == KO_ETCD;
                char name[KO_NAME_MAX + 32];
                if (!k->comp[c].enabled || (sts && k->etcd_external))
                        continue;
                names_join(k->prefix, names_components[c].suffix, name, sizeof(name));
                if (!sync_rolled_with(desired_observed(d,
                                                       sts ? &kube_statefulsets : &kube_deployments,
                                                       k->namespace, name),
                                      KO_CA_ANNOTATION, id))
                        return false;
        }
        return true;
}

static bool due(const struct karmada *k, const struct ca_rotation *rot, const char *recorded)
{
        long long now = (long long)time(NULL);

        if (k->rotate_ca && (!recorded || strcmp(recorded, k->rotate_ca) != 0))
                return true;
        for (int i = 0; i < CA_N; i++)
                if (rot->cur[i] && pki_not_after(rot->cur[i]) - now < CA_RENEW_WITHIN)
                        return true;
        return false;
}

static int start(const struct karmada *k, const struct desired *d, struct ca_rotation *rot)
{
        for (int i = 0; i < CA_N; i++) {
                int r;
                if (!rot->cur[i])
                        continue;
                r = pki_new_ca(&(struct pki_request){.cn = ca_cns[i],
                                                     .ca = true,
                                                     .validity_s = CA_VALIDITY_S,
                                                     .key_type = d->key_type},
                               &rot->next[i]);
                if (r < 0)
                        return r;
        }
        rot->handled = k->rotate_ca;
        rot->phase = "Trusting";
        return 0;
}

/* Trusting: the new CAs issue from now on, the old ones stay trusted; Reissuing: drop them */
static void advance(struct ca_rotation *rot)
{
        bool trusting = strcmp(rot->phase, "Trusting") == 0;

        for (int i = 0; i < CA_N; i++) {
                if (trusting && rot->next[i]) {
                        pki_free(rot->prev[i]);
                        rot->prev[i] = rot->cur[i];
                        rot->cur[i] = rot->next[i];
                        rot->next[i] = NULL;
                } else if (!trusting) {
                        pki_free(rot->prev[i]);
                        rot->prev[i] = NULL;
                }
        }
        rot->completed = !trusting;
        rot->phase = trusting ? "Reissuing" : NULL;
}

int ca_rotation_plan(const struct karmada *k, const struct desired *d, const cJSON *cert,
                     const cJSON *etcd, struct ca_rotation *rot)
{
        const char *recorded =
                json_str(json_at(cert, "metadata", "annotations"), KO_ROTATE_CA_ANNOTATION, NULL);
        char n[64];

        memset(rot, 0, sizeof(*rot));
        for (int i = 0; i < CA_N; i++) {
                const cJSON *s = i == CA_ETCD ? etcd : cert;
                if (i == CA_ETCD && k->etcd_external)
                        continue;
                rot->cur[i] = ca_secret_cert(s, ca_rotation_names[i], true);
                snprintf(n, sizeof(n), "%s-next", ca_rotation_names[i]);
                rot->next[i] = ca_secret_cert(s, n, true);
                snprintf(n, sizeof(n), "%s-prev", ca_rotation_names[i]);
                rot->prev[i] = ca_secret_cert(s, n, false);
                if (rot->next[i])
                        rot->phase = "Trusting";
                else if (rot->prev[i] && !rot->phase)
                        rot->phase = "Reissuing";
        }
        /* a new instance takes the annotation as it is: nothing to rotate yet */
        rot->handled = rot->cur[CA_KARMADA] ? recorded : k->rotate_ca;
        ca_rotation_seal(rot);
        if (k->ca_secret_name || !rot->cur[CA_KARMADA]) /* a user's CA is the user's to change */
                return 0;
        if (!rot->phase)
                return due(k, rot, recorded) ? start(k, d, rot) : 0;
        if (rolled(k, d, rot->id))
                advance(rot);
        return 0;
}

static void add_pem(struct strbuf *sb, const struct pki_cert *c)
{
        char *pem = NULL;
        size_t len = 0;

        if (c && pki_cert_pem(c, &pem, &len) == 0)
                strbuf_append(sb, pem, len);
        free(pem);
}

char *ca_rotation_trust(const struct ca_rotation *rot, enum ca_kind i)
{
        struct strbuf sb = {0};

        add_pem(&sb, rot->prev[i]);
        add_pem(&sb, rot->cur[i]);
        add_pem(&sb, rot->next[i]);
        return sb.len ? strbuf_steal(&sb) : NULL;
}

void ca_rotation_seal(struct ca_rotation *rot)
{
        struct strbuf sb = {0};

        for (int i = 0; i < CA_N; i++) {
                char *t = ca_rotation_trust(rot, i);
                strbuf_printf(&sb, "%d:", i);
                add_pem(&sb, rot->cur[i]); /* the issuer: leaves change with it */
                if (t)
                        strbuf_printf(&sb, "%s", t);
                free(t);
        }
        sha256_hex(sb.buf ? sb.buf : "", sb.len, rot->id);
        strbuf_free(&sb);
}

void ca_rotation_free(struct ca_rotation *rot)
{
        for (int i = 0; i < CA_N; i++) {
                pki_free(rot->cur[i]);
                pki_free(rot->next[i]);
                pki_free(rot->prev[i]);
        }
        memset(rot, 0, sizeof(*rot));
}
