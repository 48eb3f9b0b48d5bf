/* SPDX-License-Identifier: Apache-2.0 */
/* The rooms of the Karmada controller share these: the controller's state, the instances'
 * Karmada API servers, the steps of one reconcile, and each room's entry points. Nothing here is
 * seen outside operator/karmada_controller/. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "karmada_controller/karmada_controller.h"
#include "karmada/desired.h"
#include "karmada/names.h"
#include "karmada_controller/observation.h"
#include "karmada_controller/summary.h"
#include "reconciler.h"
#include "runtime/controller.h"
#include "runtime/metrics.h"
#include "runtime/events.h"
#include "runtime/informer.h"
#include "util/digest.h"

struct written; /* status.c: the status last written for an object */

extern const struct informer_handlers owned_handlers;

static inline const char *meta_str(const cJSON *obj, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A cluster the control planes run in (hosts.c): the operator's own, or one a kubeconfig Secret
 * reaches (spec.hostCluster.secretRef). Its client, the caches of what the operator made there,
 * and the address of one of its nodes (NodePort). A remote one is shared by the instances that
 * name the same Secret, made when the first needs it and stopped when none does. */
#define HOST_PODS             DESIRED_N_OWNED
#define HOST_N_CACHES         (DESIRED_N_OWNED + 1)
#define HOST_PODS_BY_INSTANCE "instance"

struct host {
        char key[320];            /* "": the operator's own cluster; else "namespace/secret" */
        char sum[SHA256_HEX_LEN]; /* of the kubeconfig it was made from */
        char server[256];
        struct kube_client *client;
        /* caches: the kinds of desired_owned, then (HOST_PODS) the pods of their workloads,
         * trimmed to what pod_reason reads, by instance (HOST_PODS_BY_INSTANCE) */
        struct informer *owned[HOST_N_CACHES];
        int refs;             /* the map's, and each pass's that holds it (kctl.hosts_lock) */
        pthread_mutex_t lock; /* what follows */
        char node_addr[128];
        long long node_at_ms;
        char error[512];         /* the last probe's failure; "" while it answers */
        char reason[32];         /* its reason: Unreachable, Unauthorized, Forbidden; "" */
        long long probed_ms;     /* when it was last probed (remote only) */
        struct hashmap *ensured; /* namespaces known to exist there */
};

struct kctl {
        struct karmada_controller_options o;
        struct manager *m;
        struct kube_client *client; /* the operator's own cluster: the Karmada objects */
        struct event_recorder *events;
        struct informer *karmadas;
        struct controller *ctrl;
        struct informer *releases; /* KarmadaRelease objects (releases.c) */
        struct controller *rctl;   /* their status and finalizer */
        struct host local;         /* the operator's own cluster as a host */
        pthread_mutex_t hosts_lock;
        pthread_mutex_t hosts_making; /* one host made at a time: two instances of one Secret
                                       * reconciled at once share one */
        struct hashmap *hosts;        /* "namespace/secret" -> struct host (remote ones) */
        struct hashmap *host_of;      /* instance key -> the key of its remote host (a strdup) */
        pthread_t prober;             /* probes the remote hosts, closes idle connections */
        bool prober_started;
        bool stopping;
        pthread_mutex_t written_lock;
        struct hashmap *written; /* key -> struct written */
        pthread_mutex_t planes_lock;
        struct hashmap *planes; /* key -> struct plane */
        struct metric_family *m_condition, *m_cert_expiry, *m_cert_renewal; /* instance_metrics.c */
};

/* An instance's Karmada API server as the operator reaches it (through the admin kubeconfig),
 * and what each step remembers of what it did there. Used only by the worker that reconciles
 * the instance (the work queue never hands one key to two workers), but for the prober, which
 * closes the client's idle connections under planes_lock (the worker replaces it under it). */
struct plane {
        char sum[SHA256_HEX_LEN]; /* of the admin kubeconfig the client was made from */
        char server[256];
        struct kube_client *client;
        struct reconciler_memo *applied; /* objects of each step, checked and applied */
        struct reconciler_memo *hook;    /* each step's reconcile hook */
        size_t n_memos;                  /* of each: the registry's reconcilers */
        char pruned[SHA256_HEX_LEN];     /* the wanted objects last pruned against */
        bool reached;                    /* a request there was answered */
        char unreachable[600];           /* why the last one was not; "" */
        int degraded_looks;              /* looks at it only Degraded since it became so */
        struct {                         /* the upgrade in progress */
                long long generation;    /* of the spec it rolls out */
                int step;                /* the step it waits for */
                int done;                /* steps reported done (Events) */
                long long since_ms;      /* when it began to wait for `step` */
        } upgrade;
};

/* What a step's message says of a pod's cause begins with this ("; pod NAME: cause"): steps.c
 * writes it, summary.c finds it */
#define KO_POD_CAUSE_PREFIX "; pod "

/* The reason of a step, Ready and Degraded when a workload it rolled out lost ready replicas */
#define KO_COMPONENT_UNAVAILABLE "ComponentUnavailable"
/* The same when those are members that vote (etcd) and fewer than a majority are ready */
#define KO_QUORUM_LOST "EtcdQuorumLost"

/* reason is one of the two above: a workload that had rolled out lost ready replicas */
static inline bool reason_is_lost(const char *reason)
{
        return strcmp(reason, KO_COMPONENT_UNAVAILABLE) == 0 || strcmp(reason, KO_QUORUM_LOST) == 0;
}

struct step {
        const struct reconciler *rec;
        bool enabled, ready, failed;
        char reason[64];
        char message[512];
        bool degraded; /* ready, but what it made in the Karmada API server does not work */
        char degraded_reason[64];
        char degraded_message[512];
        char cause[64]; /* a pod's failure its message names (pod_cause_is_failure), or "" */
};

/* Where one reconcile's observation comes from: the caches of owned objects, and direct reads of
 * what they do not hold (plan.c). */
struct reader {
        struct kctl *kc;
        struct host *host;
        const char *prefix; /* the instance's names start with it: those live in the caches */
        struct observation_source src;
};

/* One reconcile of one instance: what its phases hand each other; pass_done() frees it all. */
struct pass {
        struct kctl *kc;
        const char *key; /* namespace/name */
        struct reconcile_outcome *out;
        struct host *host;         /* where the instance runs (held until pass_done) */
        struct kobj *obj;          /* the Karmada object, from the cache */
        struct karmada *k;         /* its spec, parsed */
        cJSON *status;             /* the status being made, from the current one */
        struct karmada *last;      /* the last spec that was all Ready, when it differs */
        bool upgrading, rollback;  /* the version or an image changed; rolling back */
        int etcd_pods;             /* while etcd's members change: its pods (observed.etcd_pods) */
        long scaling_requeue_ms;   /* a step of it under way: look again this soon; 0 */
        const struct karmada *run; /* what is applied: k, or last while rolling back */
        struct reader rd;
        struct observation *ob;
        struct observed observed;
        char node[128];
        struct desired d;
        bool planned; /* d is built */
        struct step steps[KO_MAX_RECONCILERS];
        int n;
        long long left; /* ms before the upgrade step's deadline; 0: passed; -1: no upgrade */
};

/* What a phase says: go on with the next, or stop this reconcile (what to say is said). */
enum phase { PHASE_GO, PHASE_STOP };

/* ---- plan.c: what runs, what is observed, the desired state ---- */
enum phase plan_build(struct pass *p);

/* ---- gates.c: suspend, version skew, upgrade, backup ---- */
enum phase gates_run(struct pass *p);

/* ---- scaling.c: etcd membership changes ---- */
/* A new etcd member count on a running instance: its next step made (or refused) */
enum phase scaling_run(struct pass *p);

/* ---- hosts.c: the clusters the control planes run in ---- */
int hosts_setup(struct kctl *kc);
void hosts_free(struct kctl *kc);
/* The host of instance `key` whose spec is k (NULL: the operator's own cluster), held
 * (hosts_release); NULL with why filled when it cannot be had. *error says why: -EINVAL, the
 * Secret's kubeconfig is unusable (a spec error); -ENOENT, there is no such Secret; else the API
 * error reading it, or making the client. */
struct host *hosts_acquire(struct kctl *kc, const char *key, const struct karmada *k, int *error,
                           char *why, size_t whylen);
void hosts_release(struct kctl *kc, struct host *h);
/* Every cache of h has listed once */
bool hosts_synced(struct host *h);
/* The cache of the owned kind r in h, or NULL */
struct informer *hosts_cache(struct host *h, const struct kube_resource *r);
/* Instance `key` is gone: the remote host it used stops when no other instance uses it. */
void hosts_forget(struct kctl *kc, const char *key);
/* The pass's host, held; the condition HostClusterReachable of a remote one. Stops the pass
 * (status written) when it cannot be had. */
enum phase hosts_bind(struct pass *p);
/* The address of one of the host's nodes (for NodePort), or NULL. */
const char *hosts_node_address(struct host *h, char *buf, size_t size);

/* ---- releases.c: the release catalog (KarmadaRelease objects) ---- */
int releases_setup(struct kctl *kc);
/* A Karmada was added (old NULL), changed or deleted (new NULL). */
void releases_karmada_changed(struct kctl *kc, const cJSON *old, const cJSON *new);

/* ---- plane.c: the instances' Karmada API servers ---- */
void plane_free(struct plane *p);
struct plane *plane_get(struct kctl *kc, const char *key);
void plane_forget(struct kctl *kc, const char *key);
struct kube_client *plane_client(struct kctl *kc, struct plane *p, const struct karmada *k,
                                 struct observation *ob, char *why, size_t whylen);
/* The connections to Karmada API servers idle for PLANE_IDLE_MS closed (called by the prober,
 * which closes the remote hosts' too): an instance at rest holds no TLS state. How many. */
#define PLANE_IDLE_MS 30000
size_t planes_close_idle(struct kctl *kc);
/* A request to the instance's Karmada API server was answered (st NULL), or not (st says why) */
void plane_reached(struct plane *p, const struct kube_status *st);
/* Condition KarmadaAPIServerReachable of instance `key`: once a request was sent there, whether
 * the last one was answered, naming the address. */
void plane_condition(struct kctl *kc, const char *key, cJSON *conditions, long long generation);

/* ---- instance_metrics.c: the metrics read from the instances' status ---- */
struct metrics;
int instance_metrics(struct kctl *kc, struct metrics *m);

/* ---- gc.c: finalizer and garbage collection ---- */
/* The index of finalizer `name` in obj's metadata.finalizers, or -1. */
int gc_finalizer_index(const cJSON *obj, const char *name);
/* Add (on) or remove finalizer `name` of obj, a resource r: a JSON patch that fails when the
 * object changed meanwhile (a test on its resourceVersion, or on the entry removed); 0 when it
 * is already so. */
int gc_set_finalizer(struct kctl *kc, const struct kube_resource *r, const cJSON *obj,
                     const char *name, bool on, struct kube_status *st);
void gc_finalize(struct kctl *kc, const char *key, const cJSON *cr, struct reconcile_outcome *out);
/* After the steps: what is no longer wanted, in the host and in the Karmada API server. */
void gc_collect(struct pass *p);

/* ---- status.c: the status and its writes ---- */
void status_written_free(struct written *w);
void status_forget(struct kctl *kc, const char *key);
int status_write(struct kctl *kc, const cJSON *cr, cJSON *status, struct kube_status *st);
cJSON *status_from(struct kctl *kc, const cJSON *cr);
/* Send the Events a summary lists, about cr. */
void status_send_events(struct kctl *kc, const cJSON *cr, const struct summary_events *ev);
/* An invalid spec: Ready=False, InvalidSpec, the message naming the field; nothing applied. */
void status_invalid(struct kctl *kc, const cJSON *cr, const char *message,
                    struct reconcile_outcome *out);
/* A change that is not made: Ready=False with the reason; written, the Event sent. */
void status_refuse(struct pass *p, const char *reason, const char *message, bool report);
/* Write p->status; the outcome says how it went (a conflict is requeued). */
int status_write_pass(struct pass *p);

/* ---- steps.c: the step driver ---- */
/* Apply what differs, step by step (one at a time while upgrading); fills p->steps. */
void steps_apply(struct pass *p);

/* ---- upgrade.c: upgrades ---- */
struct karmada *upgrade_last_ready(const cJSON *cr, const cJSON *status);
const char *upgrade_image_change(const struct karmada *a, const struct karmada *b);
/* A change that may wait for a backup first: the annotation naming the KarmadaBackupSchedule
 * whose template is used, the change in words, the backup's name after "<karmada>-pre-", the
 * label that marks it */
struct pre_change {
        const char *annotation, *what, *suffix, *label;
};
/* The backup change c waits for: 0 when the annotation asks for none or it Completed, 1 while
 * it runs (msg says so), -1 when it failed or cannot be made (msg says why). */
int pre_change_backup(struct kctl *kc, const cJSON *cr, const struct karmada *k,
                      const struct pre_change *c, char *msg, size_t size);
int upgrade_pre_backup(struct kctl *kc, const cJSON *cr, const struct karmada *k, char *msg,
                       size_t size);
/* After the steps of an upgrade: its Events, condition Upgrading and p->left. */
void upgrade_track(struct pass *p);
