/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane's fronts (--front-to NS), for hack/bench-scale.sh only (plane_front.c). */
#pragma once

#include <stdbool.h>

struct strbuf;
struct fronts;

/* What a front logs once it listens (its readiness) */
#define FRONT_SERVING "listening on"

/* Fronts towards the API servers that run for real in namespace ns; NULL without memory. */
struct fronts *fronts_new(const char *ns);
void fronts_free(struct fronts *f);
/* Whether a pod of ns with image ref runs at all: in ns, everything; elsewhere, its API servers
 * only (as fronts); the rest is simulated (ready at once). */
bool fronts_runs(const struct fronts *f, const char *ns, const char *ref);
/* Whether that pod runs as a front */
bool fronts_is_front(const struct fronts *f, const char *ns, const char *ref);
/* After ko-plane made the command line of a pod's container (argv[first] is its binary, the
 * rest its rewritten arguments): in ns, note where that API server serves and its certificate
 * directory; a front's instead becomes socat's, serving the pod's address and port with the
 * pod's own certificate and client CA and forwarding to the real one. -EAGAIN while that one
 * is not known yet; 0 otherwise. The backend's address joins sum (a move restarts the front). */
int fronts_argv(struct fronts *f, const char *ns, const char *ip, const char *ref, char **argv,
                int first, int *argc, int max, struct strbuf *sum);
