/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the watch framer and event decoder, fed in chunks whose sizes come from
 * the input itself. */
#include <stddef.h>
#include <stdint.h>

#include "kube/watch_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_line(void *userdata, const char *line, size_t len)
{
        enum kube_event_type type;
        struct kube_status st;
        cJSON *obj = NULL;

        if (kube_watch_decode(line, len, &type, &obj, &st) == 0)
                cJSON_Delete(obj);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kube_framer f = {.max_line = 1024};
        size_t chunk;

        if (size < 1)
                return 0;
        chunk = (size_t)data[0] % 17 + 1;
        data++;
        size--;
        while (size > 0) {
                size_t n = size < chunk ? size : chunk;
                if (kube_framer_feed(&f, (const char *)data, n, on_line, NULL) < 0)
                        kube_framer_reset(&f);
                data += n;
                size -= n;
        }
        kube_framer_free(&f);
        return 0;
}
