/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest (karmada/encryption.c), from the providers' Secret and the API server as a
 * fake cluster shows them: on for a new instance, left off for one that ran without it, and
 * each change (on, rotation, off) through Adding, Switching, Rewriting and the old provider
 * dropped, a phase moving on only once the API server rolled out with the providers before. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/encryption.h"
#include "karmada/manifests.h"
#include "karmada/names.h"
#include "util/json.h"

/* The fake cluster: the providers' Secret (or NULL) and the API server's Deployment (or NULL),
 * rolled out with the providers of `rolled_id` */
static cJSON *secret, *deployment;
static cJSON *held[16]; /* Secrets of builds before, which plans still point into */
static unsigned n_held;

static const cJSON *get(void *userdata, const struct kube_resource *r, const char *ns,
                        const char *name)
{
        (void)userdata, (void)ns, (void)name;
        return r == &kube_secrets ? secret : r == &kube_deployments ? deployment : NULL;
}

static const struct observed observed = {.get = get};

static void api_server_rolled(const char *id)
{
        char body[512];

        cJSON_Delete(deployment);
        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":1,\"template\":{"
                 "\"metadata\":{\"annotations\":{\"" KO_ENCRYPTION_ANNOTATION "\":\"%s\"}}}},"
                 "\"status\":{\"observedGeneration\":2,\"replicas\":1,\"updatedReplicas\":1,"
                 "\"readyReplicas\":1,\"availableReplicas\":1}}",
                 id);
        deployment = cJSON_Parse(body);
}

static struct karmada *parse_spec(const char *annotations, const char *spec)
{
        char body[1024];
        cJSON *o;
        struct karmada *k = NULL;
        struct karmada_spec_error err = {0};

        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                 "\"metadata\":{\"name\":\"e\",\"namespace\":\"ns\",\"annotations\":{%s}},"
                 "\"spec\":{%s}}",
                 annotations, spec);
        o = cJSON_Parse(body);
        assert_int_equal(karmada_parse(o, NULL, &k, &err), 0);
        cJSON_Delete(o);
        return k;
}

static struct karmada *parse(const char *annotations)
{
        return parse_spec(annotations, "");
}

/* One build: the plan, its Secret kept as the cluster's (when on), the providers' names in
 * order into names ("key1,identity"); the API server rolls out with them when `rolls`. */
static void pass(const struct karmada *k, bool rolls, struct encryption_plan *p, char *names,
                 size_t size)
{
        struct desired d;
        const cJSON *e;
        cJSON *next;
        size_t at = 0;

        assert_int_equal(desired_init(&d, k, &observed), 0);
        assert_int_equal(encryption_plan(k, &d, p), 0);
        names[0] = '\0';
        cJSON_ArrayForEach (e, p->keys)
                at += (size_t)snprintf(names + at, size - at, "%s%s", at ? "," : "",
                                       json_str(e, "name", NULL));
        next = p->enabled ? encryption_secret(k, p) : NULL;
        if (rolls)
                api_server_rolled(p->id);
        desired_free(&d);
        /* the plan borrows from the Secret it was made from: kept with it */
        cJSON_Delete(held[n_held % 16]);
        held[n_held++ % 16] = secret;
        secret = next;
}

/* Builds until no change is under way (the Secrets rewritten when it is their turn); the
 * phases seen, in order, into seen */
static void until_done(const struct karmada *k, char *seen, size_t size, char *names, size_t nsize)
{
        struct encryption_plan p;
        size_t at = 0;

        seen[0] = '\0';
        for (int i = 0; i < 10; i++) {
                pass(k, true, &p, names, nsize);
                at += (size_t)snprintf(seen + at, size - at, "%s%s", at ? " " : "",
                                       p.phase       ? p.phase
                                       : p.completed ? "done"
                                                     : "-");
                if (p.phase && strcmp(p.phase, "Rewriting") == 0 && secret) { /* the hook's */
                        cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(secret, "metadata"),
                                                         "annotations");
                        cJSON_DeleteItemFromObject(ann, KO_ENCRYPTION_REWRITTEN_ANNOTATION);
                        cJSON_AddStringToObject(ann, KO_ENCRYPTION_REWRITTEN_ANNOTATION,
                                                encryption_writer(&p));
                }
                encryption_plan_free(&p);
                if (strstr(seen, "done"))
                        return;
        }
}

static void reset(void)
{
        cJSON_Delete(secret);
        cJSON_Delete(deployment);
        secret = deployment = NULL;
        for (int i = 0; i < 16; i++) {
                cJSON_Delete(held[i]);
                held[i] = NULL;
        }
        n_held = 0;
}

static void test_new_instance_is_on(void **state)
{
        struct karmada *k = parse("");
        struct encryption_plan p;
        char names[128];

        (void)state;
        reset();
        pass(k, false, &p, names, sizeof(names));
        assert_true(p.enabled);
        assert_null(p.phase);
        assert_string_equal(names, "key1");
        encryption_plan_free(&p);
        {
                char *yaml = manifest_secret_value(secret, KO_ENCRYPTION_FILE, NULL);
                assert_non_null(yaml);
                assert_non_null(strstr(yaml, "kind: EncryptionConfiguration"));
                assert_non_null(strstr(yaml, "  - secrets\n  providers:\n  - secretbox:\n"
                                             "      keys:\n      - name: key1\n"));
                assert_null(strstr(yaml, "identity"));
                free(yaml);
        }
        /* the same again, from its Secret: no new key, no change */
        for (int i = 0; i < 2; i++) {
                pass(k, true, &p, names, sizeof(names));
                assert_string_equal(names, "key1");
                assert_null(p.phase);
                assert_true(p.rolled == (i == 1));
                encryption_plan_free(&p);
        }
        karmada_free(k);
        /* said off: no Secret, no flag */
        reset();
        k = parse("\"" KO_ENCRYPTION_AT_REST_ANNOTATION "\":\"off\"");
        pass(k, false, &p, names, sizeof(names));
        assert_false(p.enabled);
        assert_null(secret);
        encryption_plan_free(&p);
        karmada_free(k);
}

static void test_running_instance_switched_on_rotated_and_off(void **state)
{
        struct karmada *k = parse("");
        struct encryption_plan p;
        char names[128], seen[128];

        (void)state;
        reset();
        api_server_rolled("none"); /* it ran before, without encryption */
        pass(k, false, &p, names, sizeof(names));
        assert_false(p.enabled);
        assert_string_equal(names, "identity");
        encryption_plan_free(&p);
        karmada_free(k);

        k = parse("\"" KO_ENCRYPTION_AT_REST_ANNOTATION "\":\"on\"");
        pass(k, false, &p, names, sizeof(names)); /* not rolled: Adding waits */
        assert_string_equal(p.phase, "Adding");
        assert_string_equal(names, "identity,key1");
        encryption_plan_free(&p);
        pass(k, false, &p, names, sizeof(names));
        assert_string_equal(p.phase, "Adding");
        encryption_plan_free(&p);
        until_done(k, seen, sizeof(seen), names, sizeof(names));
        assert_string_equal(seen, "Adding Switching Rewriting done");
        assert_string_equal(names, "key1");
        karmada_free(k);

        k = parse("\"" KO_ENCRYPTION_AT_REST_ANNOTATION
                  "\":\"on\",\"" KO_ROTATE_ENCRYPTION_KEY_ANNOTATION "\":\"2026-11\"");
        pass(k, false, &p, names, sizeof(names));
        assert_string_equal(names, "key1,key2");
        encryption_plan_free(&p);
        until_done(k, seen, sizeof(seen), names, sizeof(names));
        assert_string_equal(names, "key2");
        pass(k, true, &p, names, sizeof(names)); /* the value handled: nothing more */
        assert_null(p.phase);
        assert_string_equal(names, "key2");
        encryption_plan_free(&p);
        karmada_free(k);

        k = parse("\"" KO_ENCRYPTION_AT_REST_ANNOTATION "\":\"off\"");
        until_done(k, seen, sizeof(seen), names, sizeof(names));
        assert_string_equal(seen, "Adding Switching Rewriting done");
        assert_string_equal(names, "identity");
        assert_null(secret); /* off again: no Secret, no flag */
        karmada_free(k);
        reset();
}

/* A restore whose backup brought no keys (one of before: its Secrets in the clear) starts
 * reading them as they are, then encrypts them all */
static void test_restore_without_keys_encrypts_them(void **state)
{
        struct karmada *k = parse_spec("", "\"restore\":{\"backupRef\":{\"name\":\"b\"}}");
        char names[128], seen[128];

        (void)state;
        reset();
        until_done(k, seen, sizeof(seen), names, sizeof(names));
        assert_string_equal(seen, "Adding Switching Rewriting done");
        assert_string_equal(names, "key1");
        karmada_free(k);
        reset();
}

static void test_damaged_secret_is_never_guessed(void **state)
{
        struct karmada *k = parse("");
        struct encryption_plan p;
        struct desired d;

        (void)state;
        reset();
        secret =
                cJSON_Parse("{\"metadata\":{\"name\":\"e-karmada-encryption\"},\"data\":{"
                            "\"keys.json\":\"W3sibmFtZSI6ImtleTEiLCJzZWNyZXQiOiJzaG9ydCJ9XQ==\"}}");
        api_server_rolled("x");
        assert_int_equal(desired_init(&d, k, &observed), 0);
        assert_int_equal(encryption_plan(k, &d, &p), -EBADMSG);
        encryption_plan_free(&p);
        desired_free(&d);
        karmada_free(k);
        reset();
}

static void test_bad_annotations_name_the_field(void **state)
{
        const char *bad[] = {"\"" KO_ENCRYPTION_AT_REST_ANNOTATION "\":\"yes\"",
                             "\"" KO_ROTATE_ENCRYPTION_KEY_ANNOTATION "\":\"\""};
        (void)state;
        for (size_t i = 0; i < 2; i++) {
                char body[512];
                struct karmada *k = NULL;
                struct karmada_spec_error err = {0};
                cJSON *o;
                snprintf(body, sizeof(body),
                         "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                         "\"metadata\":{\"name\":\"e\",\"namespace\":\"ns\",\"annotations\":{%s}},"
                         "\"spec\":{}}",
                         bad[i]);
                o = cJSON_Parse(body);
                assert_int_equal(karmada_parse(o, NULL, &k, &err), -EINVAL);
                assert_non_null(strstr(err.message, i ? KO_ROTATE_ENCRYPTION_KEY_ANNOTATION
                                                      : KO_ENCRYPTION_AT_REST_ANNOTATION));
                cJSON_Delete(o);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_instance_is_on),
                cmocka_unit_test(test_running_instance_switched_on_rotated_and_off),
                cmocka_unit_test(test_restore_without_keys_encrypts_them),
                cmocka_unit_test(test_damaged_secret_is_never_guessed),
                cmocka_unit_test(test_bad_annotations_name_the_field),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
