/* SPDX-License-Identifier: Apache-2.0 */
/* The reconciler registry keeps the plug-in contract: unique names, each `after` naming a
 * reconciler listed before it, no more entries than the driver holds, and every object a
 * reconciler puts in the Karmada API server of a kind it declares. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reconciler.h"

static const struct reconciler a = {.name = "a"};
static const struct reconciler b = {.name = "b", .after = (const char *const[]){"a", NULL}};
static const struct reconciler a_again = {.name = "a"};
static const struct reconciler needs_later = {.name = "c",
                                              .after = (const char *const[]){"d", NULL}};
static const struct reconciler d = {.name = "d"};
static const struct reconciler misspelt = {.name = "e",
                                           .after = (const char *const[]){"a", "bb", NULL}};
static const struct reconciler with_later = {.name = "f", .upgrades_with = "d"};

static int parse_nothing(struct spec_reader *p, const struct karmada *k, const cJSON *c, void **cfg)
{
        (void)p, (void)k, (void)c, (void)cfg;
        return 0;
}
static void free_nothing(void *cfg)
{
        (void)cfg;
}
static const struct karmada_feature x_feature = {"x", parse_nothing, free_nothing};
static const struct karmada_feature x_half = {"y", parse_nothing, NULL};
static const struct reconciler fx = {.name = "fx", .feature = &x_feature};
static const struct reconciler fx_again = {.name = "fx2", .feature = &x_feature};
static const struct reconciler fy = {.name = "fy", .feature = &x_half};

static void check_fails(const struct reconciler *const *reg, size_t limit, const char *needle)
{
        char err[256] = "";

        assert_int_equal(registry_check(reg, limit, err, sizeof(err)), -EINVAL);
        if (!strstr(err, needle))
                fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_the_registry_keeps_the_contract(void **state)
{
        char err[256] = "";
        size_t n = 0;

        (void)state;
        assert_int_equal(registry_check(registry_reconcilers, KO_MAX_RECONCILERS, err, sizeof(err)),
                         0);
        while (registry_reconcilers[n])
                n++;
        assert_true(n > 10);
}

static void test_a_good_registry_passes(void **state)
{
        char err[256] = "";

        (void)state;
        assert_int_equal(registry_check((const struct reconciler *const[]){&a, &b, NULL}, 2, err,
                                        sizeof(err)),
                         0);
}

static void test_duplicate_names_fail(void **state)
{
        (void)state;
        check_fails((const struct reconciler *const[]){&a, &b, &a_again, NULL}, 8,
                    "reconciler a is listed twice");
}

static void test_after_a_later_or_missing_reconciler_fails(void **state)
{
        (void)state;
        check_fails((const struct reconciler *const[]){&a, &needs_later, &d, NULL}, 8,
                    "reconciler c comes after d, which is not listed before it");
        check_fails((const struct reconciler *const[]){&a, &b, &misspelt, NULL}, 8,
                    "reconciler e comes after bb");
        check_fails((const struct reconciler *const[]){&a, &with_later, &d, NULL}, 8,
                    "reconciler f upgrades with d, which is not listed before it");
}

static void test_more_than_the_driver_holds_fails(void **state)
{
        (void)state;
        check_fails((const struct reconciler *const[]){&a, &b, &d, NULL}, 2,
                    "more than 2 reconcilers");
}

static void test_a_feature_claimed_twice_or_half_made_fails(void **state)
{
        (void)state;
        check_fails((const struct reconciler *const[]){&a, &fx, &fx_again, NULL}, 8,
                    "reconcilers fx and fx2 both claim spec.features.x");
        check_fails((const struct reconciler *const[]){&fy, NULL}, 8,
                    "reconciler fy: its feature needs a key, parse and free");
}

/* the kinds pruned in the Karmada API server: the registry's, each once, no namespaces */
static void test_karmada_kinds_come_from_the_registry(void **state)
{
        const struct kube_resource *kinds[64];
        size_t n = registry_karmada_kinds(kinds, 64);

        (void)state;
        for (size_t i = 0; i < n; i++) {
                assert_ptr_not_equal(kinds[i], &kube_namespaces);
                for (size_t j = 0; j < i; j++)
                        assert_ptr_not_equal(kinds[i], kinds[j]);
        }
        for (const struct kube_resource *const *want =
                     (const struct kube_resource *const[]){&kube_services, &kube_apiservices,
                                                           &kube_priorityclasses, &kube_crds, NULL};
             *want; want++) {
                bool found = false;
                for (size_t i = 0; i < n; i++)
                        found = found || kinds[i] == *want;
                assert_true(found);
        }
        /* a feature's own kind, declared in its file only */
        bool frqs = false;
        for (size_t i = 0; i < n; i++)
                frqs = frqs || strcmp(kinds[i]->resource, "federatedresourcequotas") == 0;
        assert_true(frqs);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_registry_keeps_the_contract),
                cmocka_unit_test(test_a_good_registry_passes),
                cmocka_unit_test(test_duplicate_names_fail),
                cmocka_unit_test(test_after_a_later_or_missing_reconciler_fails),
                cmocka_unit_test(test_more_than_the_driver_holds_fails),
                cmocka_unit_test(test_a_feature_claimed_twice_or_half_made_fails),
                cmocka_unit_test(test_karmada_kinds_come_from_the_registry),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
