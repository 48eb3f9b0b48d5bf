/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's requests counted from the outside: the host cluster's kube-apiserver writes
 * an audit log (hack/cluster.sh: $KO_TEST_CLUSTER/logs/audit.log) of every request the
 * operators' users make, and only of those. Each test program has a user of its own
 * ("karmada-operator-<test>", made by `cluster.sh user`), so tests may run at once. */
#pragma once

#include <stdbool.h>

/* Count the requests of this user from now on (default the test's own; the operator in a
 * pod: "system:serviceaccount:<ns>:karmada-operator"). */
void audit_set_user(const char *user);
/* Count from the audit log of the cluster of state directory dir from now on (NULL: the shared
 * test cluster's, $KO_TEST_CLUSTER). */
void audit_set_cluster(const char *dir);
/* The kubeconfig of the test's own operator user (made on first use). */
const char *audit_operator_kubeconfig(void);
/* Before the first use: the test's own user is not in system:masters (only RBAC grants it) */
void audit_restricted_user(void);

struct audit_counts {
        int requests;       /* every request but the lease's and watches */
        int lease;          /* coordination.k8s.io leases (the leader election) */
        int lease_reads;    /* of those: get (a renewal of a lease held is an update alone) */
        int watches;        /* watches that ended (the server closes them on their timeout) */
        int writes;         /* of the requests: create, update, patch, delete but of Events */
        int denied;         /* of all: answered 401 or 403 */
        char summary[2048]; /* the requests by verb, resource and code: "patch events 404 x3; " */
        char denied_first[512]; /* the first denied request, lease and watch ones included:
                                   "at TIME: VERB RESOURCE NS/NAME: CODE REASON: MESSAGE" */
};

/* A point in the log to count from (its length now). */
long audit_mark(void);
/* Count what the log holds after mark. */
void audit_count(long mark, struct audit_counts *out);
/* Wait until the operator has written nothing (Events aside) for `quiet` seconds; fails the
 * test when writes go on for `timeout` seconds, naming them. Reads may go on. */
void audit_wait_no_writes(const char *after, double quiet, double timeout);
/* Once the operator has sent the events it recorded (with metrics_port: its gauge
 * karmada_operator_events_unsent is 0) and been quiet for 5 s (it must settle within 120 s),
 * assert that it sends no request but the lease's (and the renewal of a watch) for `seconds`,
 * counted by the audit log, and that each renewal of its lease is one request (an update, no
 * get). With metrics_port > 0, its own metrics must agree: rest_client_requests_total for the
 * host cluster, less leader_election_requests_total, grows by what the log counts, watches
 * included, and leader_election_requests_total by the log's lease requests. `after` names the
 * situation for the log line. */
void audit_assert_at_rest(const char *after, double seconds, int metrics_port);
