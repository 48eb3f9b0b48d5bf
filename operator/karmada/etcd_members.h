/* SPDX-License-Identifier: Apache-2.0 */
/* An instance's etcd membership, through etcd's own member API (its HTTP/JSON gateway, with the
 * instance's etcd client certificate: etcd_backup_call), and the next step of a change of its
 * size, one member at a time: a new member joins as a learner and is promoted once etcd says it
 * caught up; a member leaves after leadership moved away from it. The members are the pods of
 * one StatefulSet, <sts>-0 to <sts>-N-1, each known by its peer URL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "karmada/etcd_backup.h"

#define ETCD_MEMBERS_MAX 16

struct etcd_member {
        unsigned long long id;
        char name[128]; /* "" until it started */
        char peer[300]; /* its first peer URL */
        int ordinal;    /* of its pod, from the peer URL; -1 when not one of the StatefulSet's */
        bool learner;
};

struct etcd_members {
        struct etcd_member m[ETCD_MEMBERS_MAX];
        int n;
};

/* A member list answer (/v3/cluster/member/list) into *out; the ordinals read from the peer
 * URLs, whose host starts with "<sts>-<i>.". -EINVAL when it is not one, or lists too many. */
int etcd_members_parse(const cJSON *answer, const char *sts, struct etcd_members *out);

int etcd_members_list(const struct etcd_backup_member *c, const char *sts, struct etcd_members *out,
                      char *err, size_t errlen);
/* Add peer_url as a learner; its id into *id. */
int etcd_members_add_learner(const struct etcd_backup_member *c, const char *peer_url,
                             unsigned long long *id, char *err, size_t errlen);
/* Promote a learner: -EAGAIN while etcd says it has not caught up with the leader yet. */
int etcd_members_promote(const struct etcd_backup_member *c, unsigned long long id, char *err,
                         size_t errlen);
int etcd_members_remove(const struct etcd_backup_member *c, unsigned long long id, char *err,
                        size_t errlen);
/* Hand leadership to member `to`: c must reach the leader. */
int etcd_members_move_leader(const struct etcd_backup_member *c, unsigned long long to, char *err,
                             size_t errlen);

enum etcd_scale_action {
        ETCD_SCALE_DONE,        /* as many voting members as wanted, no learner */
        ETCD_SCALE_ADD,         /* add pod `ordinal` as a learner */
        ETCD_SCALE_PROMOTE,     /* promote the learner `id` (pod `ordinal`) */
        ETCD_SCALE_MOVE_LEADER, /* the member to remove leads: hand leadership to `to` first */
        ETCD_SCALE_REMOVE,      /* remove member `id` (pod `ordinal`) */
        ETCD_SCALE_REFUSE,      /* `why` */
};

struct etcd_scale_step {
        enum etcd_scale_action action;
        int ordinal;
        unsigned long long id, to;
        int replicas; /* the StatefulSet's replicas while this step is made: its pods, one per
                       * member (a learner's too; one removed already gone) */
        char why[256];
};

/* The next step from the members to `wanted` voting members; leader is the leader's id. */
void etcd_scale_next(const struct etcd_members *ms, unsigned long long leader, int wanted,
                     struct etcd_scale_step *out);
