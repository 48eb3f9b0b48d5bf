/* SPDX-License-Identifier: Apache-2.0 */
/* CA rotation without downtime (operator.karmada.io/rotate-ca), kept in the instance's
 * Secrets so that a restart resumes it. Per CA (karmada, front-proxy, etcd), under <n>:
 *   <n>.crt/.key       the CA that issues
 *   <n>-next.crt/.key  made and trusted, not issuing yet              (phase Trusting)
 *   <n>-prev.crt       replaced, trusted until everything has rolled  (phase Reissuing)
 *   <n>-trust.crt      what verifiers read: prev, current and next, oldest first
 * A phase moves on once every workload of the instance carries the rotation's checksum
 * (KO_CA_ANNOTATION: its CAs and trust) and has rolled out. */
#pragma once

#include <stdbool.h>

#include "desired.h"
#include "util/digest.h"

enum ca_kind { CA_KARMADA, CA_FRONT_PROXY, CA_ETCD, CA_N };

struct ca_rotation {
        struct pki_cert *cur[CA_N], *next[CA_N], *prev[CA_N];
        const char *phase;   /* "Trusting", "Reissuing", or NULL: none under way */
        const char *handled; /* the rotate-ca value started (the Secret keeps it), or NULL */
        bool completed;      /* this pass dropped the old CAs */
        char id[SHA256_HEX_LEN];
};

extern const char *const ca_rotation_names[CA_N];

/* "<name>.crt" (and "<name>.key" when with_key) of a Secret, decoded, or NULL */
struct pki_cert *ca_secret_cert(const cJSON *secret, const char *name, bool with_key);

/* Load what the Secrets hold (karmada and front-proxy from cert, etcd from etcd), then take the
 * step that is due: start (the annotation has a new value), swap the issuing CAs, or drop the
 * old ones. The current CAs are NULL where none exists yet. */
int ca_rotation_plan(const struct karmada *k, const struct desired *d, const cJSON *cert,
                     const cJSON *etcd, struct ca_rotation *rot);
/* <n>-trust.crt of CA i (PEM, caller frees), or NULL */
char *ca_rotation_trust(const struct ca_rotation *rot, enum ca_kind i);
/* Recompute rot->id from what rot holds now */
void ca_rotation_seal(struct ca_rotation *rot);
void ca_rotation_free(struct ca_rotation *rot);
