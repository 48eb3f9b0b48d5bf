/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest of the Secrets in an instance's Karmada API server
 * (--encryption-provider-config, secretbox), its key rotation, and switching it on or off on a
 * running instance; kept in the instance's Secret <prefix>-encryption so that a restarted
 * operator resumes:
 *   keys.json               the providers in order, the first one writes:
 *                           [{"name":"key2","secret":"<base64 of 32 bytes>"},{"name":"identity"}]
 *   encryption-config.yaml  the EncryptionConfiguration the API server reads, made from them
 * and its annotations: KO_ENCRYPTION_PHASE_ANNOTATION (a change under way),
 * KO_ROTATE_ENCRYPTION_KEY_ANNOTATION (the rotation value handled) and
 * KO_ENCRYPTION_REWRITTEN_ANNOTATION (the provider every Secret was last rewritten with).
 * A change (a new rotate-encryption-key value; encryption-at-rest switched on or off) goes:
 *   Adding      [old, new]  the new provider reads, the old one still writes
 *   Switching   [new, old]  the new one writes
 *   Rewriting   [new, old]  every Secret is written again (encryption_rewrite)
 *   done        [new]       the old provider is dropped
 * each phase once the API server has rolled out with the providers of the one before
 * (KO_ENCRYPTION_ANNOTATION on its pod template). Only [identity] with no change under way is
 * "off": no Secret, no flag. New instances are on unless the annotation says "off"; instances
 * that ran without it stay as they are until the annotation says "on". */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "desired.h"
#include "kube/client.h"
#include "spec.h"
#include "util/digest.h"

#define KO_ENCRYPTION_ANNOTATION           "operator.karmada.io/encryption-providers"
#define KO_ENCRYPTION_PHASE_ANNOTATION     "operator.karmada.io/encryption-phase"
#define KO_ENCRYPTION_REWRITTEN_ANNOTATION "operator.karmada.io/encryption-rewritten"
#define KO_ENCRYPTION_DIR                  "/etc/karmada/encryption"
#define KO_ENCRYPTION_FILE                 "encryption-config.yaml"

struct encryption_plan {
        bool enabled;            /* the API server reads the config */
        cJSON *keys;             /* the providers, the first writes */
        const char *phase;       /* "Adding", "Switching", "Rewriting"; NULL: none under way */
        const char *handled;     /* the rotation value handled, or NULL */
        const char *rewritten;   /* KO_ENCRYPTION_REWRITTEN_ANNOTATION as found, or NULL */
        bool rolled;             /* the API server runs with these providers, rolled out */
        bool completed;          /* this pass ended a change */
        char id[SHA256_HEX_LEN]; /* a digest of the providers */
};

/* What is due, from the instance's Secret and API server as observed: 0, -ENOMEM, or -EBADMSG
 * when the Secret exists and its keys.json is not a list of providers. */
int encryption_plan(const struct karmada *k, const struct desired *d, struct encryption_plan *p);
void encryption_plan_free(struct encryption_plan *p);
/* The Secret <prefix>-encryption of the plan (NULL when out of memory). */
cJSON *encryption_secret(const struct karmada *k, const struct encryption_plan *p);
/* The name of the provider that writes ("identity" or a key's). */
const char *encryption_writer(const struct encryption_plan *p);
/* Every Secret of the Karmada API server written again as it is, so that it is stored with the
 * provider that writes now (a Secret changed or deleted meanwhile needs nothing); *n: how many.
 * 0, or a negative errno with err saying why. */
int encryption_rewrite(struct kube_client *kc, int *n, char *err, size_t errlen);
