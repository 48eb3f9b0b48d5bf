/* SPDX-License-Identifier: Apache-2.0 */
/* One reconcile's observation: each object looked up once (in its cache, else by one direct
 * read), absence remembered, no ceiling on how many, keyed by resource, namespace and name, and
 * what it returned stays valid when a write replaces it (run under ASan). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "karmada_controller/observation.h"

struct world {
        struct store *deployments; /* the only cached resource */
        int reads;                 /* direct reads asked for */
        const char *readable;      /* the one Secret a direct read finds */
};

static struct store *store_of(void *userdata, const struct kube_resource *r)
{
        struct world *w = userdata;

        return r == &kube_deployments ? w->deployments : NULL;
}

static cJSON *object(const char *ns, const char *name)
{
        char buf[512];

        snprintf(buf, sizeof(buf), "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\"}}", ns,
                 name);
        return cJSON_Parse(buf);
}

static int read_direct(void *userdata, const struct kube_resource *r, const char *ns,
                       const char *name, cJSON **ret)
{
        struct world *w = userdata;

        w->reads++;
        if (r != &kube_secrets || !w->readable || strcmp(name, w->readable) != 0)
                return -ENOENT;
        *ret = object(ns, name);
        return 0;
}

static const char *name_of(const cJSON *o)
{
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name"));
}

static void setup_world(struct world *w, struct observation_source *src, int n_deployments)
{
        *w = (struct world){.deployments = store_new(), .readable = "user-ca"};
        assert_non_null(w->deployments);
        for (int i = 0; i < n_deployments; i++) {
                char name[64];
                struct kobj *o;
                snprintf(name, sizeof(name), "est-%03d", i);
                o = kobj_new(object("ns", name));
                assert_int_equal(store_upsert(w->deployments, o, NULL), 0);
                kobj_unref(o); /* the store holds its own */
        }
        *src = (struct observation_source){
                .store_of = store_of, .read = read_direct, .userdata = w};
}

/* 300 cached objects are all seen, without a single read: no ceiling */
static void test_sees_every_cached_object_without_reading(void **state)
{
        struct observation_source src;
        struct observation *ob;
        struct world w;

        (void)state;
        setup_world(&w, &src, 300);
        assert_int_equal(observation_new(&src, &ob), 0);
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 300; i++) {
                        char name[64];
                        const cJSON *o;
                        snprintf(name, sizeof(name), "est-%03d", i);
                        o = observation_get(ob, &kube_deployments, "ns", name);
                        assert_non_null(o);
                        assert_string_equal(name_of(o), name);
                }
        assert_int_equal(observation_size(ob), 300);
        assert_int_equal(w.reads, 0);
        observation_free(ob);
        store_free(w.deployments);
}

/* what the caches do not hold is read once, found or not, however often it is asked for */
static void test_reads_each_uncached_object_once(void **state)
{
        struct observation_source src;
        struct observation *ob;
        struct world w;

        (void)state;
        setup_world(&w, &src, 0);
        assert_int_equal(observation_new(&src, &ob), 0);
        for (int i = 0; i < 3; i++) {
                assert_non_null(observation_get(ob, &kube_secrets, "ns", "user-ca"));
                assert_null(observation_get(ob, &kube_secrets, "ns", "missing"));
                assert_null(observation_get(ob, &kube_deployments, "ns", "not-cached"));
        }
        assert_int_equal(w.reads, 3);
        assert_int_equal(observation_reads(ob), 3);
        observation_free(ob);
        store_free(w.deployments);
}

/* a Secret and a Deployment of one name, or one name in two namespaces, are different objects */
static void test_keyed_by_resource_namespace_and_name(void **state)
{
        struct observation_source src;
        struct observation *ob;
        struct world w;

        (void)state;
        setup_world(&w, &src, 1);
        w.readable = "est-000";
        assert_int_equal(observation_new(&src, &ob), 0);
        assert_non_null(observation_get(ob, &kube_deployments, "ns", "est-000"));
        assert_null(observation_get(ob, &kube_deployments, "other", "est-000"));
        assert_non_null(observation_get(ob, &kube_secrets, "ns", "est-000"));
        assert_null(observation_get(ob, &kube_services, "ns", "est-000"));
        assert_int_equal(observation_size(ob), 4);
        observation_free(ob);
        store_free(w.deployments);
}

/* a write's answer replaces what was seen; what was returned before stays readable */
static void test_set_replaces_and_keeps_old_pointers_valid(void **state)
{
        struct observation_source src;
        struct observation *ob;
        struct world w;
        const cJSON *before, *after;

        (void)state;
        setup_world(&w, &src, 1);
        assert_int_equal(observation_new(&src, &ob), 0);
        before = observation_get(ob, &kube_deployments, "ns", "est-000");
        assert_non_null(before);
        assert_int_equal(
                observation_set(ob, &kube_deployments, "ns", "est-000", object("ns", "applied")),
                0);
        after = observation_get(ob, &kube_deployments, "ns", "est-000");
        assert_string_equal(name_of(after), "applied");
        assert_string_equal(name_of(before), "est-000"); /* ASan: still valid */
        assert_int_equal(observation_set(ob, &kube_secrets, "ns", "new", object("ns", "new")), 0);
        assert_non_null(observation_get(ob, &kube_secrets, "ns", "new"));
        assert_int_equal(w.reads, 0);
        observation_free(ob);
        store_free(w.deployments);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sees_every_cached_object_without_reading),
                cmocka_unit_test(test_reads_each_uncached_object_once),
                cmocka_unit_test(test_keyed_by_resource_namespace_and_name),
                cmocka_unit_test(test_set_replaces_and_keeps_old_pointers_valid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
