/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the tests whose Karmada API servers really run (ko-plane beside the cluster):
 * operator processes, namespaces, Karmada objects and their conditions, and clients of an
 * instance's Karmada API server. */
#pragma once

#include <stddef.h>

#include <cjson/cJSON.h>

#include "itest.h"
#include "karmada/etcd_backup.h"

struct kube_client;
struct kube_resource;

/* The client of the host cluster (set by live_setup). */
extern struct kube_client *live_kc;

/* Connect live_kc and apply the operator's CRDs; at exit, operators still running are killed
 * and the end of their logs printed. */
void live_setup(void);
void live_teardown(void);
/* Start operator number `slot` (0..3) of binary `bin`, watching only `ns` (its Lease there
 * too), with ECDSA keys, the cache directory `cache` and `kubeconfig` (NULL: the operator's own
 * user, whose requests the audit log records). With ko-plane running, it sees the plane's hosts
 * file as /etc/hosts (as a pod sees the cluster's DNS). */
void live_start_operator(int slot, const char *bin, const char *ns, const char *cache,
                         const char *kubeconfig);
/* Operators started after this hold their Lease for `seconds` (0: the default, 15 s), so that
 * one that is killed is succeeded sooner. */
void live_lease_seconds(int seconds);
/* Operators started after this watch the namespaces of `list` ("a,b"; NULL: the one each is
 * started for, as before). */
void live_watch_namespaces(const char *list);
/* The log file of operator `slot`. */
const char *live_operator_log(int slot);
/* The port of its /metrics on 127.0.0.1. */
int live_operator_metrics_port(int slot);
/* SIGTERM it and check that it exits 0. */
void live_stop_operator(int slot);
/* SIGKILL: no lease released, nothing finished */
void live_kill_operator(int slot);
/* -1 while operator `slot` runs; once it has exited, its wait status (then the slot is free). */
int live_operator_exited(int slot);
void live_make_ns(const char *ns);
/* Create a Karmada object from JSON (a printf format). */
void live_create(const char *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Create an object of any resource in ns from printf-formatted JSON. */
void live_create_object(const struct kube_resource *r, const char *ns, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The same through client c (apiVersion and kind filled in when the JSON lacks them); with
 * exist_ok, an object already there is no failure. */
void live_create_in(struct kube_client *c, const struct kube_resource *r, const char *ns,
                    bool exist_ok, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A Karmada of `version` (NULL: the default) with a local etcd and a NodePort API server. */
void live_create_instance(const char *ns, const char *name, const char *version);
/* The same with more of the spec: `spec` is members of it, each followed by a comma */
void live_create_instance_with(const char *ns, const char *name, const char *version,
                               const char *spec);
/* Merge-patch a Karmada object (JSON as a printf format). */
void live_patch(const char *ns, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The Karmada object, or NULL. */
cJSON *live_get(const char *ns, const char *name);
/* The first container of a Deployment (the caller frees it). */
cJSON *live_container(const char *ns, const char *deployment);
/* Condition `type` of an object's status: "status reason[ message]" into buf ("" if none) */
const char *live_condition_of(const cJSON *obj, const char *type, bool with_message, char *buf,
                              size_t size);
/* A status condition: "status reason message" into buf ("" when there is none). */
const char *live_condition(const char *ns, const char *name, const char *type, char *buf,
                           size_t size);
/* Wait until the condition starts with `prefix` (e.g. "False UpgradeRefused") and the status
 * is of the object's generation (status.observedGeneration); the seconds it took, or -1 after
 * timeout with the last condition seen in `last`. */
double live_try_condition(const char *ns, const char *name, const char *type, const char *prefix,
                          double timeout, char *last, size_t size);
/* The same, failing the test (with the operators' logs) on timeout. */
double live_wait_condition(const char *ns, const char *name, const char *type, const char *prefix,
                           double timeout);
/* A client of the instance's Karmada API server, from the Secret status.secretRef names; its CA
 * (PEM) into *ret_ca when ret_ca is not NULL. */
struct kube_client *live_karmada_client(const char *ns, const char *name, char **ret_ca);
/* Wait until the Karmada object is gone. */
/* What Flux and kpt (kstatus, by hack/tools/kstatus) and Argo CD (bundle/gitops's health
 * script, by lua5.1) make of the object: each verdict as wanted ("InProgress", "Progressing";
 * argo NULL: any) within 15 s, else the test fails with what they said. */
void live_gitops_health(const struct kube_resource *r, const char *ns, const char *name,
                        const char *kstatus, const char *argo);
/* Every metric that bundle/monitoring's alerting rules and Grafana dashboard read (as
 * ko-promrules names them) has a series in a scrape of the operator at metrics_port; the test
 * fails naming each that does not. */
void live_monitoring_metrics(int metrics_port);
/* Each Warning Event with that reason was recorded once: the operator's count of them
 * (karmada_operator_events_total, repeats included) equals the Events regarding name in ns
 * (one per distinct note), and one names needle, within 5 s. Returns how many name it; fails
 * when one was sent again or none names it. */
int live_warnings_once(int metrics_port, const char *ns, const char *name, const char *reason,
                       const char *needle);
/* How many Warning Events regarding name with that reason name needle; fails when none does
 * within 5 s */
int live_warnings_naming(const char *ns, const char *name, const char *reason, const char *needle);
void live_wait_deleted(const char *ns, const char *name, double timeout);
/* A Secret of S3 credentials (accessKeyID, secretAccessKey), as KarmadaBackups name them. */
void live_s3_credentials(const char *ns, const char *name, const char *access, const char *secret);
/* The test cluster's S3 into *s3, and the Secrets a KarmadaBackup of it names in ns: the S3
 * credentials "s3" and the encryption key "key" (a fixed test key) */
struct s3_client;
void live_backup_secrets(const char *ns, struct s3_client *s3);
/* A member's kubeconfig (as JSON string content, escaped) whose API server nothing answers at:
 * an estimator given it runs and keeps retrying, as while its member is away */
#define LIVE_UNREACHABLE_KUBECONFIG                                                            \
        "apiVersion: v1\\nkind: Config\\nclusters:\\n- name: m\\n  cluster: {server: "         \
        "'https://127.0.0.1:1'}\\ncontexts:\\n- name: m\\n  context: {cluster: m, user: u}\\n" \
        "current-context: m\\nusers:\\n- name: u\\n  user: {token: x}\\n"
/* The etcd of instance `instance` as the operator reaches it (its client Service, the etcd
 * client certificate of its Secret, in memory); free with live_etcd_member_free */
void live_etcd_member(const char *ns, const char *instance, struct etcd_backup_member *m);
/* The same, member `ordinal` itself (its pod's address and name) */
void live_etcd_member_at(const char *ns, const char *instance, int ordinal,
                         struct etcd_backup_member *m);
void live_etcd_member_free(struct etcd_backup_member *m);
