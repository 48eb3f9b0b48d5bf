/* SPDX-License-Identifier: Apache-2.0 */
/* The two member clusters of hack/members.sh (the `members` fixture, found through
 * KO_TEST_MEMBERS) as a Karmada instance's tests use them: joined in push mode, and
 * Deployments propagated onto them. */
#pragma once

#include "kube/client.h"

struct member {
        char name[16];
        char server[64];
        char *kubeconfig; /* the admin kubeconfig's text */
        char *token;      /* of kube-system/karmada-join */
        char *ca;         /* PEM */
        struct kube_client *kc;
};

extern const struct kube_resource members_clusters, members_policies;

/* member1 and member2 */
void members_load(struct member m[2]);
/* In the Karmada API server reached by kk: the member joined (a Cluster with its token), Ready */
void member_join(struct kube_client *kk, const struct member *m);
/* Wait until the member has the object (what the Work of its binding applied). */
void member_wait_object(const struct member *m, const struct kube_resource *r, const char *ns,
                        const char *name);
/* In the Karmada API server: a namespace; a Deployment of nginx with a 10m CPU request; a
 * PropagationPolicy of the Deployment(s) named (NULL: all) onto one cluster (extra: more of
 * its spec, ",\"priority\":5" say). */
void karmada_namespace(struct kube_client *kk, const char *ns);
void karmada_deployment(struct kube_client *kk, const char *ns, const char *name, int replicas);
void karmada_policy(struct kube_client *kk, const char *ns, const char *name, const char *deploy,
                    const char *cluster, const char *extra);
/* Karmada at work, end to end (controller-manager, scheduler, webhook, aggregated API): member1
 * joined, and a Deployment in a new namespace <ns_prefix>-<pid> propagated onto it. Returns
 * the seconds it took. */
double member_propagate(struct kube_client *kk, const char *ns_prefix);
