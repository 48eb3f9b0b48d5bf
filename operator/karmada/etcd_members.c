/* SPDX-License-Identifier: Apache-2.0 */
#include "karmada/etcd_members.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ids are uint64: the gateway sends them as strings */
static unsigned long long id_of(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsString(v)   ? strtoull(v->valuestring, NULL, 10)
               : cJSON_IsNumber(v) ? (unsigned long long)v->valuedouble
                                   : 0;
}

/* "https://<sts>-<i>.<...>:2380": i, else -1 */
static int ordinal_of(const char *url, const char *sts)
{
        const char *h = strstr(url, "://");
        size_t n = strlen(sts);
        char *end;
        long i;

        h = h ? h + 3 : url;
        if (strncmp(h, sts, n) != 0 || h[n] != '-' || h[n + 1] < '0' || h[n + 1] > '9')
                return -1;
        i = strtol(h + n + 1, &end, 10);
        return *end == '.' && i < 64 ? (int)i : -1; /* ordinals past 63 are not ours */
}

int etcd_members_parse(const cJSON *answer, const char *sts, struct etcd_members *out)
{
        const cJSON *m, *members = cJSON_GetObjectItemCaseSensitive(answer, "members");

        *out = (struct etcd_members){0};
        if (!cJSON_IsArray(members) || cJSON_GetArraySize(members) > ETCD_MEMBERS_MAX)
                return -EINVAL;
        cJSON_ArrayForEach (m, members) {
                struct etcd_member *e = &out->m[out->n++];
                const char *peer = cJSON_GetStringValue(
                        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "peerURLs"), 0));
                e->id = id_of(m, "ID");
                snprintf(e->name, sizeof(e->name), "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name")) ?: "");
                snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
                e->ordinal = ordinal_of(e->peer, sts);
                e->learner = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "isLearner"));
                if (!e->id)
                        return -EINVAL;
        }
        return 0;
}

int etcd_members_list(const struct etcd_backup_member *c, const char *sts, struct etcd_members *out,
                      char *err, size_t errlen)
{
        cJSON *j = NULL;
        int r = etcd_backup_call(c, "/v3/cluster/member/list", "{\"linearizable\":true}", &j, err,
                                 errlen);

        if (r == 0 && (r = etcd_members_parse(j, sts, out)) < 0)
                snprintf(err, errlen, "etcd's member list is not one this operator reads");
        cJSON_Delete(j);
        return r;
}

/* One call whose answer is not needed. An error etcd explains comes back in err. */
static int call(const struct etcd_backup_member *c, const char *path, const char *body, char *err,
                size_t errlen)
{
        cJSON *j = NULL;
        int r = etcd_backup_call(c, path, body, &j, err, errlen);

        cJSON_Delete(j);
        return r;
}

int etcd_members_add_learner(const struct etcd_backup_member *c, const char *peer_url,
                             unsigned long long *id, char *err, size_t errlen)
{
        cJSON *body = cJSON_CreateObject(), *j = NULL;
        char *text;
        int r;

        cJSON_AddItemToArray(cJSON_AddArrayToObject(body, "peerURLs"),
                             cJSON_CreateString(peer_url));
        cJSON_AddTrueToObject(body, "isLearner");
        text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        if (!text)
                return -ENOMEM;
        r = etcd_backup_call(c, "/v3/cluster/member/add", text, &j, err, errlen);
        free(text);
        if (r == 0)
                *id = id_of(cJSON_GetObjectItemCaseSensitive(j, "member"), "ID");
        cJSON_Delete(j);
        return r;
}

int etcd_members_promote(const struct etcd_backup_member *c, unsigned long long id, char *err,
                         size_t errlen)
{
        char body[64];
        int r;

        snprintf(body, sizeof(body), "{\"ID\":\"%llu\"}", id);
        r = call(c, "/v3/cluster/member/promote", body, err, errlen);
        /* etcd's words for a learner that has not caught up yet */
        if (r < 0 && strstr(err, "in sync with leader"))
                return -EAGAIN;
        return r;
}

int etcd_members_remove(const struct etcd_backup_member *c, unsigned long long id, char *err,
                        size_t errlen)
{
        char body[64];

        snprintf(body, sizeof(body), "{\"ID\":\"%llu\"}", id);
        return call(c, "/v3/cluster/member/remove", body, err, errlen);
}

int etcd_members_move_leader(const struct etcd_backup_member *c, unsigned long long to, char *err,
                             size_t errlen)
{
        char body[64];

        snprintf(body, sizeof(body), "{\"targetID\":\"%llu\"}", to);
        return call(c, "/v3/maintenance/transfer-leadership", body, err, errlen);
}

static void step(struct etcd_scale_step *out, enum etcd_scale_action a, const struct etcd_member *m)
{
        out->action = a;
        out->ordinal = m ? m->ordinal : -1;
        out->id = m ? m->id : 0;
}

void etcd_scale_next(const struct etcd_members *ms, unsigned long long leader, int wanted,
                     struct etcd_scale_step *out)
{
        const struct etcd_member *learner = NULL, *top = NULL, *low = NULL;
        int voters = 0, free_ordinal = 0;
        unsigned long long taken = 0; /* ordinals below 64 in use */

        *out = (struct etcd_scale_step){.ordinal = -1};
        for (int i = 0; i < ms->n; i++) {
                const struct etcd_member *m = &ms->m[i];
                if (m->ordinal < 0 || m->ordinal >= 64 || (taken >> m->ordinal & 1)) {
                        step(out, ETCD_SCALE_REFUSE, NULL);
                        snprintf(out->why, sizeof(out->why),
                                 "etcd member %s (%s) is not one of the StatefulSet's pods",
                                 m->name[0] ? m->name : "(not started)", m->peer);
                        return;
                }
                taken |= 1ULL << m->ordinal;
                if (m->ordinal + 1 > out->replicas)
                        out->replicas = m->ordinal + 1;
                if (m->learner) {
                        learner = m;
                        continue;
                }
                voters++;
                if (!top || m->ordinal > top->ordinal)
                        top = m;
                if (!low || m->ordinal < low->ordinal)
                        low = m;
        }
        while (taken >> free_ordinal & 1)
                free_ordinal++;
        if (learner) {
                step(out, ETCD_SCALE_PROMOTE, learner);
        } else if (voters < wanted) {
                step(out, ETCD_SCALE_ADD, NULL);
                out->ordinal = free_ordinal;
                if (free_ordinal + 1 > out->replicas)
                        out->replicas = free_ordinal + 1;
        } else if (voters > wanted && top && low && top->id == leader && low != top) {
                step(out, ETCD_SCALE_MOVE_LEADER, top);
                out->to = low->id;
        } else if (voters > wanted && top) {
                step(out, ETCD_SCALE_REMOVE, top);
        } else {
                step(out, ETCD_SCALE_DONE, NULL);
        }
}
