/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the tests of the operator as users run it: its image built and pushed to the
 * cluster's registry, run by ko-plane as a pod (the plane fixture with --registry), installed
 * with kubectl or OLM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* hack/cluster.sh kubectl -- ARGS (NULL-terminated); its output (stdout and stderr) into *out
 * when out is not NULL (the caller frees it); the exit status. */
int incluster_kubectl(char **out, const char *const *args);
#define INCLUSTER_KUBECTL(out, ...) incluster_kubectl(out, (const char *const[]){__VA_ARGS__, NULL})
/* A file of the cluster's state directory ($KO_TEST_CLUSTER/name), trimmed; exits when missing. */
char *incluster_state_file(const char *name);
/* The registry of the plane fixture (HOST:PORT). */
char *incluster_registry(void);
/* Run a hack/ script (argv[0] names it, relative to $KO_HACK_DIR), at most timeout seconds; its
 * stdout's lines into *out when out is not NULL. Fails the test when it fails. */
void incluster_hack(char **out, double timeout, const char *const *argv);
/* The operator's image built by hack/build-image.sh and pushed to the registry: its reference
 * (by digest). */
char *incluster_build_and_push(void);
/* The cache volume (an emptyDir) of pod <ns>/<deployment>-0 seeded with the CRD tarballs under
 * their default URLs, as if downloaded before (this machine reaches no GitHub); owned by the
 * image's user. */
void incluster_seed_cache(const char *ns, const char *deployment);
/* The address ko-plane gave pod NAME (its hosts file); "" when it has none. */
void incluster_pod_ip(const char *pod, char *ip, size_t size);
/* Wait until the pod's probes (/healthz, /readyz on its address, port 8081) answer 2xx, as a
 * kubelet asks them; false when they do not within timeout seconds. */
bool incluster_probes_ok(const char *pod, double timeout);
/* authentication_attempts{result="error"} + {result="failure"} of the host kube-apiserver. */
long incluster_failed_authentications(void);
/* Why pod ns/name may not run, logged before a test fails on it: the namespace's pods and
 * Events, what ko-plane logged of it and of its image's pull, and the end of its own log. */
void incluster_explain(const char *ns, const char *pod);
