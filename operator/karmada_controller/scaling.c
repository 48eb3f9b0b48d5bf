/* SPDX-License-Identifier: Apache-2.0 */
/* A change of spec.components.etcd.local.replicas on a running instance: etcd's membership
 * changed one member at a time through etcd's own API (karmada/etcd_members.h), each pass one
 * step: a new member added as a learner before its pod starts (joining the existing cluster),
 * promoted once etcd says it caught up; a leaving member's leadership moved away, the member
 * removed, then its pod. etcd's member list is the truth each pass starts from, so a restarted
 * operator resumes where etcd stands and never adds a second member while one joins.
 * Refused, with nothing changed: an even count, a change during an upgrade, an unhealthy
 * member. Reported in condition Scaling, status.etcdScaling (each finished step and its time)
 * and Events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "karmada/conditions.h"
#include "karmada/etcd_members.h"
#include "karmada/manifests.h"
#include "kube/portforward.h"
#include "runtime/log.h"
#include "util/json.h"
#include "util/timeutil.h"

/* how soon the next step is looked at while one is under way */
#define STEP_REQUEUE_MS 1000L

struct etcd_conn {
        struct etcd_backup_member m;
        struct kube_port_forward_target pod; /* a remote host: through port-forwards */
        char url[600], sts[KO_NAME_MAX + 16];
        char *ca, *cert, *key;
        size_t ca_len, cert_len, key_len;
};

static cJSON *conds(struct pass *p)
{
        return cJSON_GetObjectItemCaseSensitive(p->status, "conditions");
}

/* an owned object from the host's cache, held (kobj_unref), or NULL */
static struct kobj *cached(struct pass *p, const struct kube_resource *r, const char *name)
{
        char key[600];

        snprintf(key, sizeof(key), "%s/%s", p->k->namespace, name);
        return store_get(informer_store(hosts_cache(p->host, r)), key);
}

static int conn_open(struct pass *p, struct etcd_conn *c, char *why, size_t wlen)
{
        char name[KO_NAME_MAX + 16];
        struct kobj *s;

        names_join(p->k->prefix, "etcd", c->sts, sizeof(c->sts));
        names_join(p->k->prefix, "etcd-cert", name, sizeof(name));
        s = cached(p, &kube_secrets, name);
        c->ca = manifest_secret_value(s ? kobj_json(s) : NULL, "etcd-ca.crt", &c->ca_len);
        c->cert = manifest_secret_value(s ? kobj_json(s) : NULL, "etcd-client.crt", &c->cert_len);
        c->key = manifest_secret_value(s ? kobj_json(s) : NULL, "etcd-client.key", &c->key_len);
        kobj_unref(s);
        if (!c->ca || !c->cert || !c->key) {
                snprintf(why, wlen, "Secret %s lacks etcd's client certificate", name);
                return -ENOENT;
        }
        c->m = (struct etcd_backup_member){.url = c->url,
                                           .ca = c->ca,
                                           .ca_len = c->ca_len,
                                           .cert = c->cert,
                                           .cert_len = c->cert_len,
                                           .key = c->key,
                                           .key_len = c->key_len};
        if (p->host->key[0]) { /* a remote host: its pods through its API server */
                c->pod = (struct kube_port_forward_target){.client = p->host->client,
                                                           .ns = p->k->namespace,
                                                           .port = KO_ETCD_CLIENT_PORT};
                c->m.dial = kube_port_forward_dial;
                c->m.hang_up = kube_port_forward_hang_up;
                c->m.dial_arg = &c->pod;
        }
        return 0;
}

static void conn_close(struct etcd_conn *c)
{
        if (c->key)
                OPENSSL_cleanse(c->key, c->key_len);
        free(c->key);
        free(c->cert);
        free(c->ca);
}

/* talk to the member of pod `ordinal` next */
static void conn_to(struct pass *p, struct etcd_conn *c, int ordinal)
{
        snprintf(c->url, sizeof(c->url), "https://%s-%d.%s.%s.svc.%s:%d", c->sts, ordinal, c->sts,
                 p->k->namespace, p->k->dns_domain, KO_ETCD_CLIENT_PORT);
        snprintf(c->pod.pod, sizeof(c->pod.pod), "%s-%d", c->sts, ordinal);
}

/* now, as RFC 3339 with milliseconds, and as milliseconds since the epoch */
static long long now_ms(char buf[40])
{
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long ms_of(const char *rfc3339)
{
        const char *frac = rfc3339 ? strchr(rfc3339, '.') : NULL;
        time_t t;

        if (time_parse_rfc3339(rfc3339, &t) < 0)
                return 0;
        return (long long)t * 1000 + (frac ? strtol(frac + 1, NULL, 10) % 1000 : 0);
}

static void set_str(cJSON *o, const char *key, const char *value)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, key);
        cJSON_AddStringToObject(o, key, value);
}

static cJSON *record_of(struct pass *p)
{
        return cJSON_GetObjectItemCaseSensitive(p->status, "etcdScaling");
}

static bool under_way(struct pass *p)
{
        return strcmp(json_str(record_of(p), "phase", NULL) ?: "", "Scaling") == 0;
}

/* status.etcdScaling: the step now under way (the one before it kept, with its time), the
 * members as etcd lists them; a new record when no change was under way */
static void record(struct pass *p, int from, int to, const char *step,
                   const struct etcd_members *ms, bool done)
{
        cJSON *r = record_of(p), *list;
        const char *prev = json_str(r, "step", NULL);
        char now[40], name[200];
        long long t = now_ms(now);

        if (!under_way(p)) {
                cJSON_DeleteItemFromObjectCaseSensitive(p->status, "etcdScaling");
                r = cJSON_AddObjectToObject(p->status, "etcdScaling");
                cJSON_AddNumberToObject(r, "from", from);
                cJSON_AddStringToObject(r, "startTime", now);
                cJSON_AddArrayToObject(r, "steps");
                prev = NULL;
        }
        if (prev && strcmp(prev, step) != 0) {
                cJSON *s = cJSON_CreateObject();
                cJSON_AddStringToObject(s, "step", prev);
                long long tenths = (t - ms_of(json_str(r, "stepStartTime", NULL)) + 50) / 100;
                cJSON_AddNumberToObject(s, "seconds", (double)tenths / 10);
                cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(r, "steps"), s);
        }
        if (!prev || strcmp(prev, step) != 0) {
                cJSON_DeleteItemFromObjectCaseSensitive(r, "stepStartTime");
                cJSON_AddStringToObject(r, "stepStartTime", now);
        }
        set_str(r, "step", step);
        set_str(r, "phase", done ? "Scaled" : "Scaling");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "to");
        cJSON_AddNumberToObject(r, "to", to);
        cJSON_DeleteItemFromObjectCaseSensitive(r, "members");
        list = cJSON_AddArrayToObject(r, "members");
        for (int i = 0; ms && i < ms->n; i++) {
                snprintf(name, sizeof(name), "%s%s",
                         ms->m[i].name[0] ? ms->m[i].name : ms->m[i].peer,
                         ms->m[i].learner ? " (learner)" : "");
                cJSON_AddItemToArray(list, cJSON_CreateString(name));
        }
}

/* What is never started: an even count, a change during an upgrade */
static bool refused(struct pass *p, int live, int wanted)
{
        char msg[600];

        if (wanted % 2 == 0)
                snprintf(msg, sizeof(msg),
                         "spec.components.etcd.local.replicas: %d is even: %d etcd members "
                         "tolerate the loss of %d, as %d do, and need one more for a quorum; "
                         "choose %d or %d",
                         wanted, wanted, wanted / 2 - 1, wanted - 1, wanted - 1, wanted + 1);
        else if (p->upgrading)
                snprintf(msg, sizeof(msg),
                         "spec.components.etcd.local.replicas: %d to %d during an upgrade is "
                         "refused: change one at a time (set it back to %d until the upgrade "
                         "finished)",
                         live, wanted, live);
        else
                return false;
        status_refuse(p, "EtcdScalingRefused", msg, true);
        return true;
}

/* The members, asked of the first pod that answers, and the leader it knows */
static int list_members(struct pass *p, struct etcd_conn *c, int live, struct etcd_members *ms,
                        unsigned long long *leader, char *why, size_t wlen)
{
        struct etcd_backup_status st;
        int r = -EIO;

        for (int i = 0; i < live && r < 0; i++) {
                conn_to(p, c, i);
                r = etcd_members_list(&c->m, c->sts, ms, why, wlen);
                if (r == 0 && (r = etcd_backup_status(&c->m, &st, why, wlen)) == 0)
                        *leader = st.leader;
        }
        return r;
}

/* Every voting member answers healthy, with a leader known: "" or what is wrong */
static bool healthy(struct pass *p, struct etcd_conn *c, const struct etcd_members *ms, char *why,
                    size_t wlen)
{
        for (int i = 0; i < ms->n; i++) {
                struct etcd_backup_status st;
                char err[400] = "";
                if (ms->m[i].learner)
                        continue;
                conn_to(p, c, ms->m[i].ordinal);
                if (etcd_backup_status(&c->m, &st, err, sizeof(err)) == 0 && !st.errors[0] &&
                    st.leader)
                        continue;
                snprintf(why, wlen, "etcd member %s is not healthy: %s",
                         ms->m[i].name[0] ? ms->m[i].name : ms->m[i].peer,
                         err[0]         ? err
                         : st.errors[0] ? st.errors
                                        : "it knows no leader");
                return false;
        }
        return true;
}

/* A member removed: its volume too, when the instance says its data goes (Kubernetes keeps
 * the claim until the pod is gone) */
static void drop_volume(struct pass *p, const char *member)
{
        const char *del = json_str(json_at(kobj_json(p->obj), "metadata", "annotations"),
                                   KO_DELETE_DATA_ANNOTATION, NULL);
        char pvc[KO_NAME_MAX + 48];
        struct kube_status st;

        if (!del || strcmp(del, "true") != 0 || p->k->etcd_volume != KO_VOLUME_CLAIM)
                return;
        snprintf(pvc, sizeof(pvc), "etcd-data-%s", member);
        if (kube_delete(p->host->client, &kube_persistentvolumeclaims, p->k->namespace, pvc, NULL,
                        &st) < 0 &&
            st.code != 404)
                log_warn("delete the volume of a removed etcd member", "karmada", p->key, "pvc",
                         pvc, "error", st.message);
}

/* Make step s; text says what it is, the reason of condition Scaling into reason. Then what
 * runs: etcd_pods. */
static int act(struct pass *p, struct etcd_conn *c, const struct etcd_scale_step *s, char *text,
               size_t tlen, const char **reason, char *why, size_t wlen)
{
        char member[KO_NAME_MAX + 24], peer[700];
        unsigned long long id;
        int r = -EINVAL;

        snprintf(member, sizeof(member), "%s-%d", c->sts, s->ordinal);
        p->etcd_pods = s->replicas;
        if (s->action == ETCD_SCALE_ADD) {
                snprintf(text, tlen, "add %s as a learner", member);
                snprintf(peer, sizeof(peer), "https://%s.%s.%s.svc.%s:%d", member, c->sts,
                         p->k->namespace, p->k->dns_domain, KO_ETCD_PEER_PORT);
                *reason = "AddingMember";
                r = etcd_members_add_learner(&c->m, peer, &id, why, wlen);
        } else if (s->action == ETCD_SCALE_PROMOTE) {
                snprintf(text, tlen, "promote %s once it caught up", member);
                *reason = "PromotingMember";
                r = etcd_members_promote(&c->m, s->id, why, wlen);
        } else if (s->action == ETCD_SCALE_MOVE_LEADER) {
                snprintf(text, tlen, "move leadership off %s", member);
                *reason = "MovingLeader";
                conn_to(p, c, s->ordinal); /* asked of the leader */
                r = etcd_members_move_leader(&c->m, s->to, why, wlen);
        } else if (s->action == ETCD_SCALE_REMOVE) {
                snprintf(text, tlen, "remove %s", member);
                *reason = "RemovingMember";
                r = etcd_members_remove(&c->m, s->id, why, wlen);
                if (r == 0) {
                        p->etcd_pods = s->ordinal; /* then its pod */
                        drop_volume(p, member);
                }
        }
        if (r == 0) {
                static const char *const said[] = {
                        [ETCD_SCALE_ADD] = "EtcdMemberAdded",
                        [ETCD_SCALE_PROMOTE] = "EtcdMemberPromoted",
                        [ETCD_SCALE_MOVE_LEADER] = "EtcdLeaderMoved",
                        [ETCD_SCALE_REMOVE] = "EtcdMemberRemoved",
                };
                events_record(p->kc->events, kobj_json(p->obj), "Normal", said[s->action], "Scale",
                              "etcd: %s: done", text);
                log_info("etcd scaling", "karmada", p->key, "step", text);
        }
        return r;
}

static void members_text(const struct etcd_members *ms, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (int i = 0; i < ms->n && len < size; i++)
                len += (size_t)snprintf(buf + len, size - len, "%s%s%s", i ? ", " : "",
                                        ms->m[i].name[0] ? ms->m[i].name : ms->m[i].peer,
                                        ms->m[i].learner ? " (learner)" : "");
}

/* As many voting members as wanted, no learner: the change is over */
static void finished(struct pass *p, int live, int wanted, const struct etcd_members *ms)
{
        char list[1024], msg[1200], now[40];
        const cJSON *from = json_at(record_of(p), "from", NULL);
        long long started = ms_of(json_str(record_of(p), "startTime", NULL));
        bool was = under_way(p);

        members_text(ms, list, sizeof(list));
        snprintf(msg, sizeof(msg), "%d etcd members: %s", wanted, list);
        record(p, live, wanted, "done", ms, true);
        condition_set(conds(p), "Scaling", KO_FALSE, "Scaled", msg, p->k->generation);
        if (was)
                events_record(p->kc->events, kobj_json(p->obj), "Normal", "EtcdScaled", "Scale",
                              "etcd scaled from %d to %d members in %.1f s",
                              cJSON_IsNumber(from) ? from->valueint : live, wanted,
                              (double)(now_ms(now) - started) / 1000);
        p->etcd_pods = 0; /* as the spec says */
        p->scaling_requeue_ms = 0;
}

static enum phase refuse_now(struct pass *p, const char *reason, const char *why)
{
        status_refuse(p, reason, why, true);
        p->out->result = RECONCILE_REQUEUE_AFTER; /* a member may heal */
        p->out->requeue_after_ms = 5000;
        return PHASE_STOP;
}

/* One step from where etcd stands */
static enum phase scale(struct pass *p, struct etcd_conn *c, int live, int wanted)
{
        struct etcd_members ms;
        struct etcd_scale_step s;
        unsigned long long leader = 0;
        char why[600] = "", text[300], msg[1200];
        const char *reason = "EtcdUnreachable";
        int r = conn_open(p, c, why, sizeof(why));

        if (r == 0)
                r = list_members(p, c, live, &ms, &leader, why, sizeof(why));
        if (r < 0) { /* nothing changes until etcd answers */
                condition_set(conds(p), "Scaling", KO_TRUE, reason, why, p->k->generation);
                return PHASE_GO;
        }
        etcd_scale_next(&ms, leader, wanted, &s);
        if (s.action == ETCD_SCALE_REFUSE)
                return refuse_now(p, "EtcdScalingRefused", s.why);
        if (s.action != ETCD_SCALE_PROMOTE && s.action != ETCD_SCALE_DONE &&
            !healthy(p, c, &ms, why, sizeof(why)))
                return refuse_now(p, "EtcdMemberUnhealthy", why);
        if (s.action == ETCD_SCALE_DONE) {
                finished(p, live, wanted, &ms);
                return PHASE_GO;
        }
        for (int i = ms.n - 1; i >= 0; i--) /* ask the lowest voter */
                if (!ms.m[i].learner)
                        conn_to(p, c, ms.m[i].ordinal);
        r = act(p, c, &s, text, sizeof(text), &reason, why, sizeof(why));
        record(p, live, wanted, text, &ms, false);
        snprintf(msg, sizeof(msg), "etcd to %d members: %s%s%s", wanted, text, r < 0 ? ": " : "",
                 r < 0 ? why : "");
        condition_set(conds(p), "Scaling", KO_TRUE, reason, msg, p->k->generation);
        return PHASE_GO;
}

/* Before the first step, the backup operator.karmada.io/backup-before-scaling asks for: 0 done
 * (or none asked), 1 while it runs, -1 failed (refused: nothing will change) */
static int backed_up(struct pass *p, int wanted)
{
        char what[64], suffix[32], msg[1024];
        int r;

        snprintf(what, sizeof(what), "scaling etcd to %d members", wanted);
        snprintf(suffix, sizeof(suffix), "etcd-%d", wanted);
        r = pre_change_backup(
                p->kc, kobj_json(p->obj), p->k,
                &(struct pre_change){.annotation = KO_BACKUP_BEFORE_SCALING_ANNOTATION,
                                     .what = what,
                                     .suffix = suffix,
                                     .label = "operator.karmada.io/pre-scaling"},
                msg, sizeof(msg));
        if (r < 0)
                status_refuse(p, "PreScalingBackupFailed", msg, true);
        if (r > 0) {
                condition_set(conds(p), "Scaling", KO_TRUE, "BackingUp", msg, p->k->generation);
                p->scaling_requeue_ms = 2000;
        }
        return r;
}

enum phase scaling_run(struct pass *p)
{
        const struct karmada *k = p->k;
        int wanted = k->comp[KO_ETCD].replicas, live = -1;
        char sts[KO_NAME_MAX + 16];
        struct etcd_conn c = {0};
        struct kobj *o;
        enum phase ph;
        int r;

        if (k->etcd_external || p->rollback)
                return PHASE_GO;
        names_join(k->prefix, "etcd", sts, sizeof(sts));
        o = cached(p, &kube_statefulsets, sts);
        if (o && cJSON_IsNumber(json_at(kobj_json(o), "spec", "replicas")))
                live = json_at(kobj_json(o), "spec", "replicas")->valueint;
        kobj_unref(o);
        if (live < 1 || (live == wanted && !under_way(p)))
                return PHASE_GO; /* not made yet (made at its size), or not changing */
        if (refused(p, live, wanted))
                return PHASE_STOP;
        p->etcd_pods = live; /* unless a step changes it */
        p->scaling_requeue_ms = STEP_REQUEUE_MS;
        if (!under_way(p) && (r = backed_up(p, wanted)) != 0)
                return r < 0 ? PHASE_STOP : PHASE_GO; /* failed; running: nothing changes */
        ph = scale(p, &c, live, wanted);
        conn_close(&c);
        return ph;
}
