/* SPDX-License-Identifier: Apache-2.0 */
/* The Karmada releases this operator runs: the minor releases it knows, each with what it is
 * paired with (Kubernetes and etcd images, feature gates on by default), and any vX.Y.Z of a
 * known minor resolved through its minor. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

/* Set to "true" on a Karmada object: a lower spec.karmadaVersion of another minor than the
 * running one is applied (a patch downgrade within a minor needs no annotation). */
#define KO_ALLOW_DOWNGRADE_ANNOTATION "operator.karmada.io/allow-downgrade"

/* A minor release: what every patch of it is paired with (upstream's operator/pkg/constants:
 * no patch ever changed a minor's pairing). */
struct karmada_minor {
        int major, minor;            /* 1, 19 */
        const char *kubernetes;      /* kube-apiserver and kube-controller-manager tag */
        const char *etcd;            /* registry.k8s.io/etcd tag */
        const char *newest;          /* the newest patch known when this operator was built */
        const char *const *gates_on; /* Karmada gates on by default in it (NULL-terminated) */
};

/* Newest first. */
extern const struct karmada_minor release_minors[];
extern const unsigned release_minor_count;

/* A release resolved for one instance: built in, or from a KarmadaRelease (release_catalog.h). */
struct karmada_release {
        char name[64];       /* what spec.karmadaVersion names: "v1.18.3", "v1.18.2-corp.1" */
        char karmada[32];    /* the Karmada release it is: "v1.18.3" (tags, upgrade policy) */
        char kubernetes[32]; /* kube-apiserver and kube-controller-manager image tag */
        char etcd[32];       /* etcd image tag */
        const struct karmada_minor *minor; /* whose flags and gates it follows */
        /* from a KarmadaRelease; "" where it says nothing (the built-in defaults) */
        char image[KO_N_COMPONENTS][256]; /* full image references */
        char crd_url[512];
        char crd_sha256[65];
        bool catalog; /* from a KarmadaRelease object */
};

/* The release for an empty spec.karmadaVersion: the newest one run with real binaries by the
 * tests (README: Karmada releases). */
#define KO_DEFAULT_KARMADA_VERSION "v1.18.2"

/* Resolve a built-in release: a "vX.Y.Z" of a known minor. -EINVAL with msg (naming the known
 * minors) when it is not of that form or its minor is unknown. */
int release_resolve(const char *karmada_version, struct karmada_release *out, char *msg,
                    size_t msglen);
const struct karmada_minor *release_minor(int major, int minor);
/* "v1.19, v1.18, ..." into buf. */
void release_known_minors(char *buf, size_t size);
/* Whether gate is on by default in the release's minor (Karmada's own gates). */
bool release_gate_default_on(const struct karmada_release *r, const char *gate);
/* The default CRD tarball of a release. Writes into buf. */
const char *release_crd_url(const char *karmada_version, char *buf, unsigned size);

/* "v1.18.2" -> 1, 18, 2; false when not of that form. */
bool release_version_parse(const char *v, int *major, int *minor, int *patch);
/* <0, 0, >0 like strcmp, for parseable versions. */
int release_version_compare(const char *a, const char *b);
/* Whether the running release `from` (NULL: nothing runs yet) may be replaced by `to`: one minor
 * release at a time; patches of one minor either way; an older minor only when allowed.
 * -EPERM with msg naming the field when refused. */
int release_upgrade_check(const char *from, const char *to, bool allow_downgrade, char *msg,
                          size_t msglen);
