/* SPDX-License-Identifier: Apache-2.0 */
/* The informer store: keys, references, indexes, relist diffs, and readers and writers at
 * once (run under ASan). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/store.h"
#include "util/base64.h"
#include "util/intern.h"

static struct kobj *obj(const char *ns, const char *name, const char *rv, const char *app,
                        const char *owner)
{
        char buf[1024];

        snprintf(buf, sizeof(buf),
                 "{\"metadata\":{\"name\":\"%s\"%s%s%s,\"resourceVersion\":\"%s\","
                 "\"labels\":{\"app\":\"%s\"},\"ownerReferences\":[{\"uid\":\"%s\"}]}}",
                 name, ns ? ",\"namespace\":\"" : "", ns ? ns : "", ns ? "\"" : "", rv, app, owner);
        return kobj_new(cJSON_Parse(buf));
}

static struct store *new_store(void)
{
        struct store *s = store_new();

        assert_non_null(s);
        assert_int_equal(store_add_index(s, "owner", store_index_owner_uid, NULL), 0);
        assert_int_equal(store_add_index(s, "app", store_index_label, "app"), 0);
        return s;
}

static void test_keys(void **state)
{
        struct kobj *a = obj("ns", "a", "1", "x", "u1"), *b = obj(NULL, "b", "1", "x", "u1");
        char key[16];

        assert_string_equal(a->key, "ns/a");
        assert_string_equal(b->key, "b");
        assert_string_equal(a->rv, "1");
        cJSON *nameless = cJSON_Parse("{\"metadata\":{}}");

        assert_int_equal(kube_object_key(nameless, key, sizeof(key)), -EINVAL);
        cJSON_Delete(nameless);
        assert_null(kobj_new(cJSON_Parse("{\"metadata\":{\"namespace\":\"x\"}}")));
        assert_int_equal(kube_object_key(kobj_json(a), key, 3), -ENOBUFS);
        kobj_unref(a);
        kobj_unref(b);
}

static void test_upsert_get_delete_and_references(void **state)
{
        struct store *s = new_store();
        struct kobj *a1 = obj("ns", "a", "1", "web", "u1"), *a2 = obj("ns", "a", "2", "web", "u1");
        struct kobj *old = NULL, *got;

        assert_int_equal(store_upsert(s, a1, &old), 0);
        assert_null(old);
        got = store_get(s, "ns/a");
        assert_ptr_equal(got, a1);
        kobj_unref(got);
        assert_int_equal(store_upsert(s, a2, &old), 0);
        assert_ptr_equal(old, a1); /* the caller now owns that reference */
        kobj_unref(old);
        kobj_unref(a1); /* ours: a1 is freed here, a2 is alive in the store */
        got = store_get(s, "ns/a");
        assert_string_equal(got->rv, "2");
        kobj_unref(got);
        assert_int_equal(store_len(s), 1);
        assert_int_equal(store_delete(s, "ns/a", &old), 0);
        assert_ptr_equal(old, a2);
        kobj_unref(old);
        assert_int_equal(store_delete(s, "ns/a", NULL), -ENOENT);
        assert_null(store_get(s, "ns/a"));
        kobj_unref(a2);
        store_free(s);
}

static void test_indexes_follow_updates(void **state)
{
        struct store *s = new_store();
        struct kobj **l;
        size_t n;
        struct kobj *o[] = {obj("ns", "a", "1", "web", "owner-1"),
                            obj("ns", "b", "1", "web", "owner-2"),
                            obj("ns", "c", "1", "db", "owner-1")};

        for (int i = 0; i < 3; i++)
                assert_int_equal(store_upsert(s, o[i], NULL), 0);
        assert_int_equal(store_by_index(s, "app", "web", &l, &n), 0);
        assert_int_equal(n, 2);
        store_list_free(l, n);
        assert_int_equal(store_by_index(s, "owner", "owner-1", &l, &n), 0);
        assert_int_equal(n, 2);
        store_list_free(l, n);
        /* b moves from web to db */
        struct kobj *b2 = obj("ns", "b", "2", "db", "owner-2");
        assert_int_equal(store_upsert(s, b2, NULL), 0);
        assert_int_equal(store_by_index(s, "app", "web", &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0]->key, "ns/a");
        store_list_free(l, n);
        assert_int_equal(store_by_index(s, "app", "db", &l, &n), 0);
        assert_int_equal(n, 2);
        store_list_free(l, n);
        /* deletes leave the index */
        assert_int_equal(store_delete(s, "ns/c", NULL), 0);
        assert_int_equal(store_by_index(s, "owner", "owner-1", &l, &n), 0);
        assert_int_equal(n, 1);
        store_list_free(l, n);
        assert_int_equal(store_by_index(s, "app", "nothing", &l, &n), 0);
        assert_int_equal(n, 0);
        store_list_free(l, n);
        assert_int_equal(store_by_index(s, "no-such-index", "x", &l, &n), -ENOENT);
        for (int i = 0; i < 3; i++)
                kobj_unref(o[i]);
        kobj_unref(b2);
        store_free(s);
}

struct diffs {
        int added, updated, deleted;
        char last_deleted[32];
};

static void on_diff(void *userdata, struct kobj *old, struct kobj *new)
{
        struct diffs *d = userdata;

        if (!old)
                d->added++;
        else if (new)
                d->updated++;
        else {
                d->deleted++;
                snprintf(d->last_deleted, sizeof(d->last_deleted), "%s", old->key);
        }
}

static void test_replace_reports_adds_changes_and_deletes(void **state)
{
        struct store *s = new_store();
        struct kobj *first[] = {obj("ns", "a", "1", "x", "u"), obj("ns", "b", "1", "x", "u"),
                                obj("ns", "c", "1", "x", "u")};
        struct kobj *second[] = {obj("ns", "a", "1", "x", "u"), obj("ns", "b", "5", "y", "u"),
                                 obj("ns", "d", "1", "x", "u")};
        struct diffs d = {0};
        struct kobj **l;
        size_t n;

        assert_int_equal(store_replace(s, NULL, first, 3, on_diff, &d), 0);
        assert_int_equal(d.added, 3);
        memset(&d, 0, sizeof(d));
        assert_int_equal(store_replace(s, NULL, second, 3, on_diff, &d), 0);
        assert_int_equal(d.added, 1);   /* d */
        assert_int_equal(d.updated, 1); /* b: new resourceVersion; a unchanged is not reported */
        assert_int_equal(d.deleted, 1); /* c */
        assert_string_equal(d.last_deleted, "ns/c");
        assert_int_equal(store_len(s), 3);
        assert_int_equal(store_by_index(s, "app", "y", &l, &n), 0);
        assert_int_equal(n, 1);
        store_list_free(l, n);
        for (int i = 0; i < 3; i++) {
                kobj_unref(first[i]);
                kobj_unref(second[i]);
        }
        store_free(s);
}

/* A relist of one namespace (an informer of several) leaves the others' objects alone */
static void test_replace_of_one_namespace_keeps_the_others(void **state)
{
        struct store *s = new_store();
        struct kobj *first[] = {obj("a", "x", "1", "x", "u"), obj("b", "x", "1", "x", "u"),
                                obj("ab", "x", "1", "x", "u")};
        struct kobj *relist_a[] = {obj("a", "y", "1", "x", "u")};
        struct diffs d = {0};
        struct kobj *got;

        assert_int_equal(store_replace(s, NULL, first, 3, on_diff, &d), 0);
        memset(&d, 0, sizeof(d));
        assert_int_equal(store_replace(s, "a", relist_a, 1, on_diff, &d), 0);
        assert_int_equal(d.added, 1);   /* a/y */
        assert_int_equal(d.deleted, 1); /* a/x, not b/x nor ab/x */
        assert_string_equal(d.last_deleted, "a/x");
        assert_int_equal(store_len(s), 3);
        got = store_get(s, "ab/x");
        assert_non_null(got);
        kobj_unref(got);
        for (int i = 0; i < 3; i++)
                kobj_unref(first[i]);
        kobj_unref(relist_a[0]);
        store_free(s);
}

#define WRITERS 2
#define READERS 4
#define ROUNDS  3000

struct stress {
        struct store *s;
        atomic_bool stop;
        atomic_long reads;
};

static void *writer(void *arg)
{
        struct stress *st = arg;
        unsigned seed = (unsigned)(uintptr_t)pthread_self();

        for (int i = 0; i < ROUNDS; i++) {
                char name[16], rv[16];
                struct kobj *o;
                snprintf(name, sizeof(name), "o%d", rand_r(&seed) % 64);
                snprintf(rv, sizeof(rv), "%d", i);
                if (rand_r(&seed) % 4 == 0) {
                        store_delete(st->s, name, NULL);
                        continue;
                }
                o = obj(NULL, name, rv, i % 2 ? "a" : "b", "u");
                store_upsert(st->s, o, NULL);
                kobj_unref(o);
        }
        return NULL;
}

static void *reader(void *arg)
{
        struct stress *st = arg;

        while (!atomic_load(&st->stop)) {
                struct kobj **l, *o;
                size_t n;
                if (store_by_index(st->s, "app", "a", &l, &n) == 0) {
                        for (size_t i = 0; i < n; i++)
                                assert_non_null(cJSON_GetObjectItemCaseSensitive(kobj_json(l[i]),
                                                                                 "metadata"));
                        store_list_free(l, n);
                }
                o = store_get(st->s, "o7");
                kobj_unref(o);
                if (store_list(st->s, &l, &n) == 0)
                        store_list_free(l, n);
                atomic_fetch_add(&st->reads, 1);
        }
        return NULL;
}

/* A long string that several cached objects hold (a kubeconfig in each component's Secret) is
 * held once (deflated), and freed with the last of them; a short one stays each object's own, and a
 * copy of a cached object owns all of its strings. */
static void test_long_strings_are_held_once(void **state)
{
        char long_value[2048], buf[4096];
        struct kobj *a, *b;
        cJSON *copy;
        size_t n, bytes;

        (void)state;
        memset(long_value, 'k', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = '\0';
        snprintf(buf, sizeof(buf),
                 "{\"metadata\":{\"name\":\"a\"},\"data\":{\"c\":\"%s\",\"s\":\"x\"}}", long_value);
        a = kobj_new(cJSON_Parse(buf));
        buf[21] = 'b'; /* another name, the same data */
        b = kobj_new(cJSON_Parse(buf));
        assert_non_null(a);
        assert_non_null(b);
        intern_stats(&n, &bytes, NULL);
        assert_int_equal(n, 1);
        assert_true(bytes > 0 && bytes < sizeof(long_value) - 1); /* kept deflated */
        assert_ptr_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(a), "data"), "c")->valuestring,
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(b), "data"), "c")->valuestring);
        assert_ptr_not_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(a), "data"), "s")->valuestring,
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(b), "data"), "s")->valuestring);
        copy = cJSON_Duplicate(kobj_json(a), true);
        kobj_unref(a);
        assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(b), "data"), "c")->valuestring,
                long_value);
        kobj_unref(b);
        intern_stats(&n, &bytes, NULL);
        assert_int_equal(n, 0);
        assert_int_equal(bytes, 0);
        assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(copy, "data"), "c")->valuestring,
                long_value);
        cJSON_Delete(copy);
}

/* A member name is held once for every cached object and for good: copies point at it and
 * outlive the objects; a name too long to be worth it stays the object's own. */
static void test_member_names_are_held_once(void **state)
{
        char long_name[200], buf[512];
        struct kobj *a, *b;
        cJSON *copy;
        size_t n, bytes, names0, names1;

        (void)state;
        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        intern_stats(&n, &bytes, &names0);
        snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"%s\":1}}",
                 long_name);
        a = kobj_new(cJSON_Parse(buf));
        buf[21] = 'b';
        b = kobj_new(cJSON_Parse(buf));
        assert_non_null(a);
        assert_non_null(b);
        assert_ptr_equal(cJSON_GetObjectItem(kobj_json(a), "metadata")->string,
                         cJSON_GetObjectItem(kobj_json(b), "metadata")->string);
        assert_ptr_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(a), "metadata"), "name")->string,
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(b), "metadata"), "name")->string);
        assert_ptr_not_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(a), "spec"), long_name)->string,
                cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(b), "spec"), long_name)->string);
        intern_stats(&n, &bytes, &names1);
        assert_true(names1 >= names0 && names1 <= names0 + 3); /* metadata, name, spec at most */
        copy = cJSON_Duplicate(kobj_json(a), true);
        kobj_unref(a);
        kobj_unref(b);
        assert_string_equal(cJSON_GetObjectItem(copy, "metadata")->string, "metadata");
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(copy, "spec"), long_name));
        cJSON_Delete(copy);
}

/* At rest a cached object is text without its long strings (held once, apart); a reader gets
 * the same tree back, the long string the shared one, strings that look like the text's marks
 * their own; the tree is dropped again when the store is its only holder. */
static void test_cached_objects_rest_as_text(void **state)
{
        char long_value[2048], buf[12288], *b64, *b64_nl;
        unsigned char raw[1500];
        struct store *s = new_store();
        struct kobj *o, *other, *r;
        const cJSON *t;
        cJSON *want;
        size_t n, bytes;

        (void)state;
        memset(long_value, 'k', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = '\0';
        for (size_t i = 0; i < sizeof(raw); i++)
                raw[i] = (unsigned char)(i * 2654435761u >> 13); /* no pattern deflate finds */
        assert_int_equal(base64_encode(raw, sizeof(raw), &b64), 0);
        /* the same bytes, but not as an encoder writes them: kept as they are */
        assert_non_null(b64_nl = malloc(strlen(b64) + 2));
        snprintf(b64_nl, strlen(b64) + 2, "%.76s\n%s", b64, b64 + 76);
        snprintf(buf, sizeof(buf),
                 "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\"}},\"data\":{\"c\":"
                 "\"%s\",\"b\":\"%s\",\"nl\":\"%.76s\\n%s\",\"m\":\"\\u00010\",\"mm\":"
                 "\"\\u0001\\u0001y\",\"n\":[1,true,null,\"\\u0001\"]}}",
                 long_value, b64, b64, b64 + 76);
        want = cJSON_Parse(buf);
        assert_non_null(want);
        assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(want, "data"), "nl")->valuestring, b64_nl);
        o = kobj_new(cJSON_Parse(buf));
        buf[21] = 'b';
        other = kobj_new(cJSON_Parse(buf));
        assert_non_null(o);
        assert_non_null(other);
        intern_stats(&n, &bytes, NULL);
        assert_int_equal(n, 3);
        assert_true(bytes < strlen(b64) * 2); /* the base64 ones held as what they decode to */
        assert_int_equal(store_upsert(s, o, NULL), 0);
        kobj_unref(o);
        assert_null(o->tree); /* the store alone holds it */
        assert_true(kobj_rest_bytes(o) < 200);

        r = store_get(s, "a");
        assert_ptr_equal(r, o);
        t = kobj_json(r);
        assert_true(cJSON_Compare(t, want, true));
        assert_ptr_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "data"), "c")->valuestring,
                         cJSON_GetObjectItem(cJSON_GetObjectItem(kobj_json(other), "data"), "c")
                                 ->valuestring);
        assert_ptr_equal(kobj_json(r), t); /* read again: the same tree */
        kobj_unref(r);
        assert_null(o->tree);
        kobj_unref(other);
        /* the store's object alone holds them: made again from what was kept */
        r = store_get(s, "a");
        assert_true(cJSON_Compare(kobj_json(r), want, true));
        kobj_unref(r);
        intern_stats(&n, &bytes, NULL);
        assert_int_equal(n, 3);
        store_free(s);
        intern_stats(&n, &bytes, NULL);
        assert_int_equal(n, 0);
        cJSON_Delete(want);
        free(b64);
        free(b64_nl);
}

static void test_readers_and_writers_at_once(void **state)
{
        struct stress st = {.s = new_store()};
        pthread_t w[WRITERS], r[READERS];
        struct kobj **l;
        size_t n, in_index = 0;

        for (int i = 0; i < READERS; i++)
                pthread_create(&r[i], NULL, reader, &st);
        for (int i = 0; i < WRITERS; i++)
                pthread_create(&w[i], NULL, writer, &st);
        for (int i = 0; i < WRITERS; i++)
                pthread_join(w[i], NULL);
        atomic_store(&st.stop, true);
        for (int i = 0; i < READERS; i++)
                pthread_join(r[i], NULL);
        assert_true(atomic_load(&st.reads) > 0);
        /* the indexes agree with the objects */
        assert_int_equal(store_list(st.s, &l, &n), 0);
        for (size_t i = 0; i < n; i++) {
                const cJSON *app = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(kobj_json(l[i]), "metadata"),
                                "labels"),
                        "app");
                in_index += strcmp(app->valuestring, "a") == 0;
        }
        store_list_free(l, n);
        assert_int_equal(store_by_index(st.s, "app", "a", &l, &n), 0);
        assert_int_equal(n, in_index);
        store_list_free(l, n);
        store_free(st.s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_keys),
                cmocka_unit_test(test_upsert_get_delete_and_references),
                cmocka_unit_test(test_indexes_follow_updates),
                cmocka_unit_test(test_replace_reports_adds_changes_and_deletes),
                cmocka_unit_test(test_replace_of_one_namespace_keeps_the_others),
                cmocka_unit_test(test_long_strings_are_held_once),
                cmocka_unit_test(test_member_names_are_held_once),
                cmocka_unit_test(test_cached_objects_rest_as_text),
                cmocka_unit_test(test_readers_and_writers_at_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
