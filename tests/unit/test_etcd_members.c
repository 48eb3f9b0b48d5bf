/* SPDX-License-Identifier: Apache-2.0 */
/* etcd membership: a member list as etcd's gateway answers it, and the next step of a change of
 * size from each state a scale goes through (one member at a time, learners first, leadership
 * moved off a member before it leaves). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/etcd_members.h"

#define STS  "demo-karmada-etcd"
#define PEER "https://" STS "-%d." STS ".ns.svc.cluster.local:2380"

/* a member list of n members, ordinals 0..n-1, ids 100+i; `learner` (or -1) not started */
static void members(struct etcd_members *ms, int n, int learner)
{
        char buf[4096], one[512];
        size_t len = 0;
        cJSON *j;

        len += (size_t)snprintf(buf, sizeof(buf),
                                "{\"header\":{\"member_id\":\"100\"},\"members\":[");
        for (int i = 0; i < n; i++) {
                char peer[300];
                snprintf(peer, sizeof(peer), PEER, i);
                if (i == learner)
                        snprintf(one, sizeof(one),
                                 "%s{\"ID\":\"%d\",\"peerURLs\":[\"%s\"],"
                                 "\"isLearner\":true}",
                                 i ? "," : "", 100 + i, peer);
                else
                        snprintf(one, sizeof(one),
                                 "%s{\"ID\":\"%d\",\"name\":\"" STS "-%d\","
                                 "\"peerURLs\":[\"%s\"],\"clientURLs\":[\"https://x:2379\"]}",
                                 i ? "," : "", 100 + i, i, peer);
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", one);
        }
        snprintf(buf + len, sizeof(buf) - len, "]}");
        j = cJSON_Parse(buf);
        assert_non_null(j);
        assert_int_equal(etcd_members_parse(j, STS, ms), 0);
        cJSON_Delete(j);
}

static void test_parse(void **state)
{
        struct etcd_members ms;
        cJSON *j;

        (void)state;
        members(&ms, 3, 2);
        assert_int_equal(ms.n, 3);
        assert_int_equal(ms.m[1].ordinal, 1);
        assert_string_equal(ms.m[1].name, STS "-1");
        assert_true(ms.m[2].learner);
        assert_string_equal(ms.m[2].name, "");
        assert_true(ms.m[2].id == 102ULL);
        /* ids beyond a double's precision stay exact */
        j = cJSON_Parse("{\"members\":[{\"ID\":\"18446744073709551557\",\"peerURLs\":"
                        "[\"https://other-0.x:2380\"]}]}");
        assert_int_equal(etcd_members_parse(j, STS, &ms), 0);
        assert_true(ms.m[0].id == 18446744073709551557ULL);
        assert_int_equal(ms.m[0].ordinal, -1); /* not one of the StatefulSet's */
        cJSON_Delete(j);
        /* a prefix of another StatefulSet's name is not this one */
        j = cJSON_Parse("{\"members\":[{\"ID\":\"1\",\"peerURLs\":[\"https://" STS
                        "x-0.y:2380\"]}]}");
        assert_int_equal(etcd_members_parse(j, STS, &ms), 0);
        assert_int_equal(ms.m[0].ordinal, -1);
        cJSON_Delete(j);
        j = cJSON_Parse("{\"members\":[{\"peerURLs\":[]}]}"); /* no id */
        assert_int_equal(etcd_members_parse(j, STS, &ms), -EINVAL);
        cJSON_Delete(j);
        j = cJSON_Parse("{\"header\":{}}");
        assert_int_equal(etcd_members_parse(j, STS, &ms), -EINVAL);
        cJSON_Delete(j);
}

static void expect(const struct etcd_members *ms, unsigned long long leader, int wanted,
                   enum etcd_scale_action a, int ordinal, int replicas)
{
        struct etcd_scale_step s;

        etcd_scale_next(ms, leader, wanted, &s);
        if (s.action != a || s.ordinal != ordinal || s.replicas != replicas)
                fail_msg("%d members, wanted %d: action %d ordinal %d replicas %d; want %d %d %d",
                         ms->n, wanted, s.action, s.ordinal, s.replicas, a, ordinal, replicas);
}

/* 1 -> 3 -> 5 -> 3 -> 1, each state on the way */
static void test_scale_steps(void **state)
{
        struct etcd_members ms;
        struct etcd_scale_step s;

        (void)state;
        members(&ms, 1, -1);
        expect(&ms, 100, 1, ETCD_SCALE_DONE, -1, 1);
        expect(&ms, 100, 3, ETCD_SCALE_ADD, 1, 2);
        members(&ms, 2, 1); /* the learner's pod runs while it catches up */
        expect(&ms, 100, 3, ETCD_SCALE_PROMOTE, 1, 2);
        etcd_scale_next(&ms, 100, 3, &s);
        assert_true(s.id == 101ULL);
        /* never a second learner while one is there, whatever is wanted */
        expect(&ms, 100, 5, ETCD_SCALE_PROMOTE, 1, 2);
        expect(&ms, 100, 1, ETCD_SCALE_PROMOTE, 1, 2);
        members(&ms, 2, -1);
        expect(&ms, 100, 3, ETCD_SCALE_ADD, 2, 3);
        members(&ms, 3, -1);
        expect(&ms, 100, 3, ETCD_SCALE_DONE, -1, 3);
        expect(&ms, 100, 5, ETCD_SCALE_ADD, 3, 4);
        members(&ms, 5, -1);
        /* down: the highest ordinal leaves, its pod still counted until it is removed */
        expect(&ms, 100, 3, ETCD_SCALE_REMOVE, 4, 5);
        etcd_scale_next(&ms, 100, 3, &s);
        assert_true(s.id == 104ULL);
        /* it leads: leadership goes to the lowest ordinal first */
        expect(&ms, 104, 3, ETCD_SCALE_MOVE_LEADER, 4, 5);
        etcd_scale_next(&ms, 104, 3, &s);
        assert_true(s.to == 100ULL);
        members(&ms, 4, -1);
        expect(&ms, 101, 3, ETCD_SCALE_REMOVE, 3, 4);
        members(&ms, 3, -1);
        expect(&ms, 100, 1, ETCD_SCALE_REMOVE, 2, 3);
        members(&ms, 2, -1);
        expect(&ms, 100, 1, ETCD_SCALE_REMOVE, 1, 2);
        members(&ms, 1, -1);
        expect(&ms, 100, 1, ETCD_SCALE_DONE, -1, 1);
}

/* a gap (member 1 removed by hand) is filled first; a member not of the StatefulSet stops it */
static void test_scale_odd_states(void **state)
{
        struct etcd_members ms;
        struct etcd_scale_step s;

        (void)state;
        members(&ms, 3, -1);
        ms.m[1] = ms.m[2];
        ms.n = 2;
        expect(&ms, 100, 3, ETCD_SCALE_ADD, 1, 3);
        members(&ms, 3, -1);
        ms.m[1].ordinal = -1;
        etcd_scale_next(&ms, 100, 3, &s);
        assert_int_equal(s.action, ETCD_SCALE_REFUSE);
        assert_non_null(strstr(s.why, "is not one of the StatefulSet's pods"));
        members(&ms, 3, -1);
        ms.m[2].ordinal = 0; /* two members claim one pod */
        etcd_scale_next(&ms, 100, 3, &s);
        assert_int_equal(s.action, ETCD_SCALE_REFUSE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_scale_steps),
                cmocka_unit_test(test_scale_odd_states),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
