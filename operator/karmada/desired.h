/* SPDX-License-Identifier: Apache-2.0 */
/* The desired state of one Karmada instance: every object to apply (tagged with the reconciler
 * that contributed it), plus the flags and feature gates reconcilers contribute to component
 * command lines, merged last so the user's own settings win. Built by pure code from the
 * spec and what is observed; nothing here talks to an API server. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "kube/resource.h"
#include "names.h"
#include "pki.h"
#include "spec.h"

/* The kinds of what the operator makes in a host cluster (each labelled with the instance):
 * watched there so that changes are undone, deleted there when no longer wanted. */
#define DESIRED_N_OWNED 5
extern const struct kube_resource *const desired_owned[DESIRED_N_OWNED];

/* What exists now, read-only: the live objects the desired state depends on (existing
 * certificates, the API server's Service for its node port or load balancer address). */
struct observed {
        /* A live object or NULL; valid until the desired state is freed. */
        const cJSON *(*get)(void *userdata, const struct kube_resource *r, const char *ns,
                            const char *name);
        void *userdata;
        const char *node_address; /* a control-plane node's address (NodePort), or NULL */
        /* while etcd's membership changes: its pods, one per member (one joining too), which
         * then join an existing cluster; 0: as the spec says, a new cluster */
        int etcd_pods;
};

struct desired_object {
        const struct kube_resource *resource;
        cJSON *obj;
        const char *owner;   /* the reconciler that contributed it */
        bool workload;       /* a Deployment or StatefulSet whose rollout gates readiness */
        bool keep_on_delete; /* left behind when the instance is deleted (PVCs, CRDs) */
        bool in_karmada;     /* lives in the instance's Karmada API server, not the host */
};

struct desired {
        const struct karmada *k;
        const struct observed *observed;
        enum pki_key_type key_type;
        const char *owner; /* the reconciler contributing now */

        struct desired_object *objs;
        size_t n, cap;

        /* per component: its main container (borrowed from its workload), and contributions */
        cJSON *container[KO_N_COMPONENTS];
        cJSON *flags[KO_N_COMPONENTS];
        cJSON *gates[KO_N_COMPONENTS];

        /* PKI material shared by the reconcilers of one build */
        struct pki_cert *ca, *front_proxy_ca, *etcd_ca, *karmada_pair, *etcd_client;
        char *ca_pem;
        /* what clients of the Karmada API server trust (the CA, and during a CA rotation both
         * CAs): kubeconfigs and caBundles; in <prefix>-cert as ca-trust.crt */
        char *trust_pem;
        /* the CAs and trust of the instance (KO_CA_ANNOTATION on every workload), where a CA
         * rotation stands ("Trusting", "Reissuing", NULL) and whether this build ends one */
        char ca_id[65];
        const char *ca_phase;
        bool ca_rotated;
        /* where a change of the encryption at rest stands (encryption.h; NULL: none under way),
         * whether this build ends one, and whether the Secrets are to be rewritten now */
        const char *encryption_phase;
        bool encryption_rotated, encryption_rewrite;
        char encryption_writer[16];

        /* seconds since the epoch when this desired state changes by itself (a certificate's
         * renewal is due), the earliest a reconciler said; 0: not by time */
        long long valid_until;
        /* the first certificate to expire among those past their renewal time that cannot be
         * renewed, their CA having no key (desired_renewal): its name and notAfter */
        char expiring[64];
        long long expiring_at;
        /* status.certificates: each certificate the instance uses (desired_certificate) */
        cJSON *certs;

        /* reconcilers that cannot contribute (all their objects) yet, and what they wait for */
        struct {
                const char *owner;
                char what[256];
        } waiting[8];
        int n_waiting;
};

int desired_init(struct desired *d, const struct karmada *k, const struct observed *o);
void desired_free(struct desired *d);

/* Add an object (takes ownership) for the reconciler in d->owner. */
int desired_add(struct desired *d, const struct kube_resource *r, cJSON *obj, bool workload);
/* Add an object for the Karmada API server of the instance (takes ownership); the driver
 * applies it through the admin kubeconfig once the reconciler's turn comes. It is labelled
 * KO_LABEL_RECONCILER=<d->owner>: once no reconciler wants it, the driver deletes it. Its
 * resource must be one the reconciler declares (its karmada_kinds); namespaces are never
 * deleted. */
int desired_add_karmada(struct desired *d, const struct kube_resource *r, cJSON *obj);
/* Contribute a flag ("--name=value") or a feature gate to a component's command line. */
int desired_flag(struct desired *d, enum names_component c, const char *name, const char *value);
int desired_gate(struct desired *d, enum names_component c, const char *gate, bool on);
/* Annotate the pod template of a component's workload contributed before (a change rolls it);
 * nothing when the component has no workload. */
int desired_pod_annotation(struct desired *d, enum names_component c, const char *key,
                           const char *value);
/* What is contributed now changes at time t (seconds since the epoch) without any other cause:
 * the controller reconciles the instance again then. */
void desired_valid_until(struct desired *d, long long t);
/* Whether certificate c, signed by ca, is used as it is: before its renewal time, and past it
 * too when ca has no key to renew it with */
bool desired_keeps(const struct pki_cert *c, const struct pki_cert *ca);
/* Certificate c (name), signed by ca, is used as it is: the controller comes back at its
 * renewal time; past it, when ca has no key to renew it with, it is kept while it lasts and
 * noted in d->expiring (the first to expire), the controller coming back when it expires. */
void desired_renewal(struct desired *d, const char *name, const struct pki_cert *c,
                     const struct pki_cert *ca);
/* A certificate the instance uses, for status.certificates: its name, the Secret and key it is
 * kept in, its subject, SANs and validity, and issuer, the name of its CA (NULL: itself, a CA;
 * a CA is kept, a leaf gets renewAt). */
int desired_certificate(struct desired *d, const char *name, const char *secret, const char *key,
                        const struct pki_cert *c, const char *issuer);
/* The reconciler contributing now cannot finish yet; what it waits for. */
void desired_wait(struct desired *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What the named reconciler waits for, or NULL. */
const char *desired_waiting(const struct desired *d, const char *owner);

/* d (NULL: nothing) wants the object of r named name on that side (the host cluster, or the
 * instance's Karmada API server), in namespace ns (NULL: any, as for the host, where all of an
 * instance is in one namespace, and for cluster-scoped objects). */
bool desired_wants(const struct desired *d, bool in_karmada, const struct kube_resource *r,
                   const char *ns, const char *name);

/* Merge every contribution into the command lines (base flags, then contributed flags and
 * gates, then spec.featureGates, then the component's featureGates, then its extraArgs), and
 * sort the flags. Call once after every reconciler contributed. */
int desired_finish(struct desired *d);
/* A live object, through d->observed. */
const cJSON *desired_observed(const struct desired *d, const struct kube_resource *r,
                              const char *ns, const char *name);
