/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: YAML streams to JSON and back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct yaml_limits lim = {.max_nodes = 20000, .max_depth = 64};
        cJSON *docs = NULL;
        char err[256], *out = NULL;

        if (yaml_parse_stream((const char *)data, size, "fuzz", &lim, &docs, err, sizeof(err)) < 0)
                return 0;
        if (cJSON_GetArraySize(docs) > 0) {
                const cJSON *first = cJSON_GetArrayItem(docs, 0);
                if (yaml_emit(&first, 1, &out) == 0)
                        free(out);
        }
        cJSON_Delete(docs);
        return 0;
}
