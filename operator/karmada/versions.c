/* SPDX-License-Identifier: Apache-2.0 */
#include "versions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Karmada pins its control-plane images in operator/pkg/constants of each release (read from
 * the Go module of each version listed). */
const struct karmada_release release_table[] = {
        {.karmada = "v1.18.2", .kubernetes = "v1.35.2", .etcd = "3.6.6-0"},
        {.karmada = "v1.18.1", .kubernetes = "v1.35.2", .etcd = "3.6.6-0"},
        {.karmada = "v1.17.1", .kubernetes = "v1.35.2", .etcd = "3.6.6-0"},
        {.karmada = "v1.16.0", .kubernetes = "v1.34.1", .etcd = "3.6.0-0"},
};
const unsigned release_count = sizeof(release_table) / sizeof(release_table[0]);

const struct karmada_release *release_find(const char *v)
{
        for (unsigned i = 0; v && i < release_count; i++)
                if (strcmp(release_table[i].karmada, v) == 0)
                        return &release_table[i];
        return NULL;
}

const struct karmada_release *release_default(void)
{
        return &release_table[0];
}

const char *release_crd_url(const char *v, char *buf, unsigned size)
{
        snprintf(buf, size,
                 "https://github.com/karmada-io/karmada/releases/download/%s/crds.tar.gz", v);
        return buf;
}

bool release_version_parse(const char *v, int *major, int *minor, int *patch)
{
        char *end;
        long n[3];

        if (!v || *v != 'v')
                return false;
        v++;
        for (int i = 0; i < 3; i++) {
                if (*v < '0' || *v > '9')
                        return false;
                n[i] = strtol(v, &end, 10);
                if (n[i] > 100000 || (i < 2 && *end != '.') || (i == 2 && *end))
                        return false;
                v = end + 1;
        }
        *major = (int)n[0];
        *minor = (int)n[1];
        *patch = (int)n[2];
        return true;
}

int release_version_compare(const char *a, const char *b)
{
        int x[3], y[3];

        if (!release_version_parse(a, &x[0], &x[1], &x[2]) ||
            !release_version_parse(b, &y[0], &y[1], &y[2]))
                return strcmp(a ? a : "", b ? b : "");
        for (int i = 0; i < 3; i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}

int release_upgrade_check(const char *from, const char *to, bool allow_downgrade, char *msg,
                          size_t msglen)
{
        int f[3], t[3];

        if (!from || !*from || !to || strcmp(from, to) == 0 ||
            !release_version_parse(from, &f[0], &f[1], &f[2]) ||
            !release_version_parse(to, &t[0], &t[1], &t[2]))
                return 0;
        if (release_version_compare(to, from) < 0) {
                if (allow_downgrade)
                        return 0;
                snprintf(msg, msglen,
                         "spec.karmadaVersion: %s is older than the running %s: a downgrade is "
                         "refused unless the annotation %s is \"true\"",
                         to, from, KO_ALLOW_DOWNGRADE_ANNOTATION);
                return -EPERM;
        }
        if (t[0] != f[0] || t[1] > f[1] + 1) {
                snprintf(msg, msglen,
                         "spec.karmadaVersion: %s skips a minor release after the running %s: "
                         "upgrade one minor release at a time (first to a v%d.%d release)",
                         to, from, f[0], f[1] + 1);
                return -EPERM;
        }
        return 0;
}
