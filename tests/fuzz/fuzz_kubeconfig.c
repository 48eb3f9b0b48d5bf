/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the kubeconfig loader on untrusted bytes (as from a Secret). */
#include <stddef.h>
#include <stdint.h>

#include "kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kube_config *c = NULL;
        char err[512];

        if (kube_config_from_memory((const char *)data, size, "fuzz", NULL, &c, err, sizeof(err)) ==
            0)
                kube_config_free(c);
        return 0;
}
