/* SPDX-License-Identifier: Apache-2.0 */
#include "host_secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/config.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/strbuf.h"

int host_secret_read(struct kube_client *c, const char *ns, const char *name, char **b64, char *why,
                     size_t whylen)
{
        struct kube_status st;
        cJSON *secret = NULL;
        const char *v;
        int r = kube_get(c, &kube_secrets, ns, name, &secret, &st);

        if (r < 0) {
                snprintf(why, whylen, "Secret %s/%s: %s", ns, name, st.message);
                return r == -EINVAL ? -EIO : r;
        }
        v = json_str(secret, "data", HOST_KUBECONFIG_KEY);
        *b64 = v ? strdup(v) : NULL;
        json_delete_secret(secret);
        if (!v)
                snprintf(why, whylen,
                         "spec.hostCluster.secretRef: Secret %s/%s has no key " HOST_KUBECONFIG_KEY,
                         ns, name);
        return !v ? -EINVAL : *b64 ? 0 : -ENOMEM;
}

int host_secret_client(const char *b64, const char *key, struct kube_client **ret, char *server,
                       size_t server_len, char *why, size_t whylen)
{
        unsigned char *text = NULL;
        size_t len = 0;
        struct kube_config *cfg = NULL;
        char err[512] = "not base64";
        int r = 0;

        if (base64_decode(b64, strlen(b64), &text, &len) < 0 ||
            kube_config_from_memory((const char *)text, len, HOST_KUBECONFIG_KEY, NULL, &cfg, err,
                                    sizeof(err)) < 0) {
                snprintf(why, whylen,
                         "spec.hostCluster.secretRef: key " HOST_KUBECONFIG_KEY
                         " of Secret %s is not a usable kubeconfig: %s",
                         key, err);
                r = -EINVAL;
        }
        if (text)
                free_secret(text, len);
        if (r == 0)
                r = kube_client_new(&(struct kube_client_options){.config = cfg,
                                                                  .timeout_ms = 15000,
                                                                  .connect_timeout_ms = 5000},
                                    ret);
        if (r == 0)
                snprintf(server, server_len, "%s", cfg->server);
        else if (r != -EINVAL)
                snprintf(why, whylen, "host cluster %s: %s", key, strerror(-r));
        kube_config_free(cfg);
        return r;
}
