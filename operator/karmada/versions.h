/* SPDX-License-Identifier: Apache-2.0 */
/* The one table of supported Karmada releases and what each is paired with. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Set to "true" on a Karmada object: a lower spec.karmadaVersion than the running one is applied.
 */
#define KO_ALLOW_DOWNGRADE_ANNOTATION "operator.karmada.io/allow-downgrade"

struct karmada_release {
        const char *karmada;    /* "v1.18.2" */
        const char *kubernetes; /* kube-apiserver and kube-controller-manager image tag */
        const char *etcd;       /* registry.k8s.io/etcd image tag */
};

/* Newest first; the first is the default for an empty spec.karmadaVersion. */
extern const struct karmada_release release_table[];
extern const unsigned release_count;

const struct karmada_release *release_find(const char *karmada_version);
const struct karmada_release *release_default(void);
/* The default CRD tarball of a release. Writes into buf. */
const char *release_crd_url(const char *karmada_version, char *buf, unsigned size);

/* "v1.18.2" -> 1, 18, 2; false when not of that form. */
bool release_version_parse(const char *v, int *major, int *minor, int *patch);
/* <0, 0, >0 like strcmp, for parseable versions. */
int release_version_compare(const char *a, const char *b);
/* Whether the running release `from` (NULL: nothing runs yet) may be replaced by `to`: one minor
 * release at a time, never backwards unless allowed. -EPERM with msg naming the field when
 * refused. */
int release_upgrade_check(const char *from, const char *to, bool allow_downgrade, char *msg,
                          size_t msglen);
