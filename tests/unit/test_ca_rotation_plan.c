/* SPDX-License-Identifier: Apache-2.0 */
/* The CA rotation's steps (karmada/ca_rotation.c), from the Secrets' content and what the
 * workloads carry: when it starts, when a phase moves on, what is trusted in each phase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "karmada/ca_rotation.h"
#include "karmada/names.h"
#include "util/base64.h"
#include "util/json.h"

/* What the fake cluster shows: every workload carries `rolled_id` and has rolled out, or
 * (rolled_id NULL) none does */
static const char *rolled_id;
static cJSON *workload;

static const cJSON *get(void *userdata, const struct kube_resource *r, const char *ns,
                        const char *name)
{
        char body[512];

        (void)userdata, (void)r, (void)ns, (void)name;
        if (!rolled_id)
                return NULL;
        cJSON_Delete(workload);
        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":1,\"template\":{"
                 "\"metadata\":{\"annotations\":{\"" KO_CA_ANNOTATION "\":\"%s\"}}}},"
                 "\"status\":{\"observedGeneration\":2,\"replicas\":1,\"updatedReplicas\":1,"
                 "\"readyReplicas\":1,\"availableReplicas\":1}}",
                 rolled_id);
        workload = cJSON_Parse(body);
        return workload;
}

static const struct observed observed = {.get = get};

static struct karmada *parse(const char *annotations)
{
        char body[512];
        cJSON *o;
        struct karmada *k = NULL;
        struct karmada_spec_error err = {0};

        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"operator.karmada.io/v1alpha1\",\"kind\":\"Karmada\","
                 "\"metadata\":{\"name\":\"r\",\"namespace\":\"ns\",\"annotations\":{%s}},"
                 "\"spec\":{}}",
                 annotations);
        o = cJSON_Parse(body);
        assert_int_equal(karmada_parse(o, NULL, &k, &err), 0);
        cJSON_Delete(o);
        return k;
}

static void put(cJSON *data, const char *key, const char *pem)
{
        char *b64 = NULL;

        assert_int_equal(base64_encode(pem, strlen(pem), &b64), 0);
        cJSON_AddStringToObject(data, key, b64);
        free(b64);
}

/* A Secret holding a CA (a new one) under name, and its key */
static void add_ca(cJSON *secret, const char *name, long long validity_s)
{
        struct pki_cert *ca = NULL;
        char *pem = NULL, key[96];
        size_t len = 0;
        cJSON *data = cJSON_GetObjectItemCaseSensitive(secret, "data");

        assert_int_equal(pki_new_ca(&(struct pki_request){.cn = name,
                                                          .ca = true,
                                                          .validity_s = validity_s,
                                                          .key_type = PKI_ECDSA_P256},
                                    &ca),
                         0);
        assert_int_equal(pki_cert_pem(ca, &pem, &len), 0);
        snprintf(key, sizeof(key), "%s.crt", name);
        put(data, key, pem);
        free(pem);
        assert_int_equal(pki_key_pem(ca, &pem, &len), 0);
        snprintf(key, sizeof(key), "%s.key", name);
        put(data, key, pem);
        free(pem);
        pki_free(ca);
}

/* An empty Secret; rotated: the rotate-ca value it records as handled */
static cJSON *secret(const char *rotated)
{
        char body[256];

        snprintf(body, sizeof(body), "{\"metadata\":{\"annotations\":{\"%s\":\"%s\"}},\"data\":{}}",
                 rotated ? KO_ROTATE_CA_ANNOTATION : "other", rotated ? rotated : "");
        return cJSON_Parse(body);
}

/* The Secrets as the PKI reconciler writes them from rot: cur, next, prev per CA */
static void write_back(const struct ca_rotation *rot, cJSON *cert, cJSON *etcd)
{
        for (int i = 0; i < CA_N; i++) {
                cJSON *data = cJSON_GetObjectItemCaseSensitive(i == CA_ETCD ? etcd : cert, "data");
                const struct pki_cert *certs[3] = {rot->cur[i], rot->next[i], rot->prev[i]};
                static const char *const suffix[3] = {"", "-next", "-prev"};
                for (int j = 0; j < 3; j++) {
                        char key[96], *pem = NULL;
                        size_t len = 0;
                        snprintf(key, sizeof(key), "%s%s.crt", ca_rotation_names[i], suffix[j]);
                        cJSON_DeleteItemFromObjectCaseSensitive(data, key);
                        snprintf(key, sizeof(key), "%s%s.key", ca_rotation_names[i], suffix[j]);
                        cJSON_DeleteItemFromObjectCaseSensitive(data, key);
                        if (!certs[j])
                                continue;
                        assert_int_equal(pki_cert_pem(certs[j], &pem, &len), 0);
                        snprintf(key, sizeof(key), "%s%s.crt", ca_rotation_names[i], suffix[j]);
                        put(data, key, pem);
                        free(pem);
                        if (j == 2 || pki_key_pem(certs[j], &pem, &len) < 0)
                                continue; /* the replaced CA is kept without its key */
                        snprintf(key, sizeof(key), "%s%s.key", ca_rotation_names[i], suffix[j]);
                        put(data, key, pem);
                        free(pem);
                }
        }
}

static int count(const char *pem)
{
        int n = 0;

        for (const char *p = pem; p && (p = strstr(p, "BEGIN CERTIFICATE")); p++)
                n++;
        return n;
}

static void plan(const struct karmada *k, cJSON *cert, cJSON *etcd, struct ca_rotation *rot)
{
        struct desired d;

        assert_int_equal(desired_init(&d, k, &observed), 0);
        d.key_type = PKI_ECDSA_P256;
        assert_int_equal(ca_rotation_plan(k, &d, cert, etcd, rot), 0);
        desired_free(&d);
}

/* rotate-ca=1 on an idle instance: Trusting (the new CAs trusted beside the old), then, once
 * every workload carries the id and rolled out, Reissuing (the new CAs issue, the old ones
 * trusted), then Completed (the old ones dropped) */
static void test_phases(void **state)
{
        struct karmada *k = parse("\"" KO_ROTATE_CA_ANNOTATION "\":\"1\"");
        cJSON *cert = secret(NULL), *etcd = secret(NULL);
        struct ca_rotation rot;
        char id[SHA256_HEX_LEN], *trust;

        (void)state;
        add_ca(cert, "ca", 3650LL * 86400);
        add_ca(cert, "front-proxy-ca", 3650LL * 86400);
        add_ca(etcd, "etcd-ca", 3650LL * 86400);
        rolled_id = NULL;
        plan(k, cert, etcd, &rot);
        assert_string_equal(rot.phase, "Trusting");
        assert_string_equal(rot.handled, "1");
        for (int i = 0; i < CA_N; i++) {
                assert_non_null(rot.next[i]);
                trust = ca_rotation_trust(&rot, i);
                assert_int_equal(count(trust), 2);
                free(trust);
        }
        write_back(&rot, cert, etcd);
        ca_rotation_seal(&rot); /* the id stamped on the workloads, as the PKI reconciler does */
        snprintf(id, sizeof(id), "%s", rot.id);
        ca_rotation_free(&rot);

        /* not rolled: it waits */
        plan(k, cert, etcd, &rot);
        assert_string_equal(rot.phase, "Trusting");
        assert_string_equal(rot.id, id);
        ca_rotation_free(&rot);
        rolled_id = "an older id";
        plan(k, cert, etcd, &rot);
        assert_string_equal(rot.phase, "Trusting");
        ca_rotation_free(&rot);

        /* rolled: the new CAs issue */
        rolled_id = id;
        plan(k, cert, etcd, &rot);
        assert_string_equal(rot.phase, "Reissuing");
        for (int i = 0; i < CA_N; i++) {
                assert_null(rot.next[i]);
                assert_non_null(rot.prev[i]);
                trust = ca_rotation_trust(&rot, i);
                assert_int_equal(count(trust), 2);
                free(trust);
        }
        write_back(&rot, cert, etcd);
        ca_rotation_seal(&rot);
        assert_string_not_equal(rot.id, id);
        snprintf(id, sizeof(id), "%s", rot.id);
        ca_rotation_free(&rot);

        rolled_id = id;
        plan(k, cert, etcd, &rot);
        assert_null(rot.phase);
        assert_true(rot.completed);
        for (int i = 0; i < CA_N; i++) {
                assert_null(rot.prev[i]);
                trust = ca_rotation_trust(&rot, i);
                assert_int_equal(count(trust), 1);
                free(trust);
        }
        ca_rotation_free(&rot);
        cJSON_Delete(cert);
        cJSON_Delete(etcd);
        cJSON_Delete(workload);
        workload = NULL;
        karmada_free(k);
}

/* What starts a rotation, and what does not */
static void test_triggers(void **state)
{
        struct karmada *same = parse("\"" KO_ROTATE_CA_ANNOTATION "\":\"1\"");
        struct karmada *none = parse("\"x\":\"y\"");
        cJSON *cert = secret("1"), *etcd = secret(NULL), *young = secret(NULL);
        struct ca_rotation rot;

        (void)state;
        rolled_id = NULL;
        add_ca(cert, "ca", 3650LL * 86400);
        add_ca(cert, "front-proxy-ca", 3650LL * 86400);
        add_ca(etcd, "etcd-ca", 3650LL * 86400);
        /* the value handled already, or no annotation: nothing */
        plan(same, cert, etcd, &rot);
        assert_null(rot.phase);
        ca_rotation_free(&rot);
        plan(none, cert, etcd, &rot);
        assert_null(rot.phase);
        ca_rotation_free(&rot);
        /* a new instance (no CA yet) takes the annotation as handled */
        plan(same, young, young, &rot);
        assert_null(rot.phase);
        assert_string_equal(rot.handled, "1");
        ca_rotation_free(&rot);
        /* a CA within 90 days of its end: rotated without being asked */
        cJSON_Delete(etcd);
        etcd = secret(NULL);
        add_ca(etcd, "etcd-ca", 60LL * 86400);
        plan(none, cert, etcd, &rot);
        assert_string_equal(rot.phase, "Trusting");
        ca_rotation_free(&rot);
        cJSON_Delete(cert);
        cJSON_Delete(etcd);
        cJSON_Delete(young);
        karmada_free(same);
        karmada_free(none);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_phases),
                cmocka_unit_test(test_triggers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
