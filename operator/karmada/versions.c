/* SPDX-License-Identifier: Apache-2.0 */
#include "versions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Karmada pins its control-plane images in operator/pkg/constants of each release; the pairings
 * and the newest patches as of 2026-11-29 (../shared/reference/karmada-releases.md). */
const struct karmada_minor release_minors[] = {
        {1, 19, "v1.36.2", "3.6.8-0", "v1.19.0",
         (const char *const[]){"PriorityBasedScheduling", NULL}},
        {1, 18, "v1.35.2", "3.6.6-0", "v1.18.3", NULL},
        {1, 17, "v1.35.2", "3.6.6-0", "v1.17.6", NULL},
        {1, 16, "v1.34.1", "3.6.0-0", "v1.16.9", NULL},
};
const unsigned release_minor_count = sizeof(release_minors) / sizeof(release_minors[0]);

const struct karmada_minor *release_minor(int major, int minor)
{
        for (unsigned i = 0; i < release_minor_count; i++)
                if (release_minors[i].major == major && release_minors[i].minor == minor)
                        return &release_minors[i];
        return NULL;
}

void release_known_minors(char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < release_minor_count && n < size; i++)
                n += (size_t)snprintf(buf + n, size - n, "%sv%d.%d", i ? ", " : "",
                                      release_minors[i].major, release_minors[i].minor);
}

int release_resolve(const char *v, struct karmada_release *out, char *msg, size_t msglen)
{
        int major, minor, patch;
        char known[128];

        memset(out, 0, sizeof(*out));
        release_known_minors(known, sizeof(known));
        if (!release_version_parse(v, &major, &minor, &patch) ||
            strlen(v) >= sizeof(out->karmada)) {
                snprintf(msg, msglen,
                         "\"%s\" is not a release (vMAJOR.MINOR.PATCH, such as %s), and no "
                         "KarmadaRelease is named %s",
                         v ? v : "", release_minors[0].newest, v ? v : "so");
                return -EINVAL;
        }
        out->minor = release_minor(major, minor);
        if (!out->minor) {
                snprintf(msg, msglen,
                         "%s: Karmada v%d.%d is not a minor release this operator knows (%s), "
                         "and no KarmadaRelease is named %s (one gives its images and the known "
                         "minor whose flags it follows)",
                         v, major, minor, known, v);
                return -EINVAL;
        }
        snprintf(out->name, sizeof(out->name), "%s", v);
        snprintf(out->karmada, sizeof(out->karmada), "%s", v);
        snprintf(out->kubernetes, sizeof(out->kubernetes), "%s", out->minor->kubernetes);
        snprintf(out->etcd, sizeof(out->etcd), "%s", out->minor->etcd);
        return 0;
}

bool release_gate_default_on(const struct karmada_release *r, const char *gate)
{
        for (const char *const *g = r->minor ? r->minor->gates_on : NULL; g && *g; g++)
                if (strcmp(*g, gate) == 0)
                        return true;
        return false;
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
                if (allow_downgrade || (t[0] == f[0] && t[1] == f[1]))
                        return 0;
                snprintf(msg, msglen,
                         "spec.karmadaVersion: %s is of an older minor release than the running "
                         "%s: a downgrade is refused unless the annotation %s is \"true\"",
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
