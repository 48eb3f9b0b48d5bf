/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest of the Karmada API server's Secrets (karmada/encryption.h). The API
 * server's step renders the providers; this one ends a change once the new provider writes and
 * the API server has rolled out with it: every Secret written again, then the providers'
 * Secret marked, so that the next build drops the old provider. Nothing otherwise. */
#include <stdio.h>

#include "common.h"
#include "karmada/encryption.h"

static int encryption_reconcile(struct reconcile_ctx *ctx, struct step_result *ret)
{
        char name[KO_NAME_MAX + 16], body[256], err[512] = "";
        struct kube_status st = {0};
        int n = 0, r;

        ret->ready = true;
        if (!ctx->d->encryption_rewrite)
                return 0;
        r = encryption_rewrite(ctx->karmada, &n, err, sizeof(err));
        common_obj_name(ctx->k, "encryption", name, sizeof(name));
        snprintf(body, sizeof(body), "{\"metadata\":{\"annotations\":{\"%s\":\"%s\"}}}",
                 KO_ENCRYPTION_REWRITTEN_ANNOTATION, ctx->d->encryption_writer);
        if (r >= 0 && (r = kube_patch(ctx->host, &kube_secrets, ctx->k->namespace, name,
                                      KUBE_PATCH_MERGE, body, NULL, NULL, &st)) < 0)
                snprintf(err, sizeof(err), "mark Secret %s: %s", name, st.message);
        if (r < 0) {
                ret->degraded = true;
                snprintf(ret->reason, sizeof(ret->reason), "EncryptionRewriteFailed");
                snprintf(ret->message, sizeof(ret->message), "%s", err);
                ret->requeue_after_ms = 10000;
                return 0;
        }
        events_record(ctx->events, ctx->k->obj, "Normal", "EncryptionKeyRotation", "Reconcile",
                      "%d Secrets of the Karmada API server written again with %s", n,
                      ctx->d->encryption_writer);
        ret->requeue_after_ms = 1000; /* the next build drops the old provider */
        return 0;
}

const struct reconciler reconciler_encryption = {
        .name = "encryption-at-rest",
        .after = (const char *const[]){"kubeconfig", NULL},
        .reconcile = encryption_reconcile,
};
