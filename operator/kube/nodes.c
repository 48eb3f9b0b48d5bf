/* SPDX-License-Identifier: Apache-2.0 */
#include "nodes.h"

#include <stdio.h>
#include <string.h>

#include "util/json.h"

/* The first InternalIP among the nodes of list into buf */
static void first_internal_ip(const cJSON *list, char *buf, size_t size)
{
        const cJSON *node, *addr;

        cJSON_ArrayForEach (node, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                cJSON_ArrayForEach (addr, json_at(node, "status", "addresses")) {
                        const char *t = json_str(addr, "type", NULL);
                        const char *a = json_str(addr, "address", NULL);
                        if (t && strcmp(t, "InternalIP") == 0 && a) {
                                snprintf(buf, size, "%s", a);
                                return;
                        }
                }
        }
}

int kube_node_address(struct kube_client *c, char *buf, size_t size)
{
        static const char *const selectors[] = {"node-role.kubernetes.io/control-plane",
                                                "node-role.kubernetes.io/master", NULL};

        buf[0] = '\0';
        for (int i = 0; !buf[0] && i <= 2; i++) {
                struct kube_list_options lo = {.label_selector = selectors[i], .limit = 10};
                cJSON *list = NULL;
                int r = kube_list(c, &kube_nodes, NULL, &lo, &list, NULL);
                if (r < 0)
                        return r;
                first_internal_ip(list, buf, size);
                cJSON_Delete(list);
        }
        return 0;
}
