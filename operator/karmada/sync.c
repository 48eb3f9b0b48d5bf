/* SPDX-License-Identifier: Apache-2.0 */
#include "sync.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "util/digest.h"
#include "util/json.h"

bool sync_quantity(const char *s, long double *ret)
{
        static const struct {
                const char *suffix;
                long double factor;
        } suffixes[] = {
                {"Ki", 1024.0L},
                {"Mi", 1048576.0L},
                {"Gi", 1073741824.0L},
                {"Ti", 1099511627776.0L},
                {"Pi", 1125899906842624.0L},
                {"Ei", 1152921504606846976.0L},
                {"n", 1e-9L},
                {"u", 1e-6L},
                {"m", 1e-3L},
                {"k", 1e3L},
                {"M", 1e6L},
                {"G", 1e9L},
                {"T", 1e12L},
                {"P", 1e15L},
                {"E", 1e18L},
        };
        const char *p = s;
        char *end;
        long double v;

        if (*p == '+' || *p == '-')
                p++;
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
                return false;
        errno = 0;
        v = strtold(s, &end);
        if (errno || end == s)
                return false;
        if (!*end) {
                *ret = v;
                return true;
        }
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
                if (strcmp(end, suffixes[i].suffix) == 0) {
                        *ret = v * suffixes[i].factor;
                        return true;
                }
        return false; /* strtold took any exponent already: "2e3" ends at "" */
}

static bool is_zero(const cJSON *v)
{
        return cJSON_IsNull(v) || cJSON_IsFalse(v) || (cJSON_IsNumber(v) && v->valuedouble == 0) ||
               (cJSON_IsString(v) && !*v->valuestring) ||
               ((cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child);
}

static bool fail_at(char *where, size_t len, const char *path)
{
        if (where && len)
                snprintf(where, len, "%s", *path ? path : ".");
        return false;
}

static bool subset(const cJSON *d, const cJSON *l, char *path, size_t plen, size_t used,
                   char *where, size_t wlen)
{
        if (!l)
                return is_zero(d) || fail_at(where, wlen, path);
        if (cJSON_IsObject(d)) {
                if (!cJSON_IsObject(l))
                        return fail_at(where, wlen, path);
                for (const cJSON *c = d->child; c; c = c->next) {
                        int n = snprintf(path + used, plen - used, ".%s", c->string);
                        size_t u = n < 0 || (size_t)n >= plen - used ? plen - 1 : used + (size_t)n;
                        if (!subset(c, cJSON_GetObjectItemCaseSensitive(l, c->string), path, plen,
                                    u, where, wlen))
                                return false;
                        path[used] = '\0';
                }
                return true;
        }
        if (cJSON_IsArray(d)) {
                const cJSON *a = d->child, *b;
                int i = 0;
                if (!cJSON_IsArray(l) || cJSON_GetArraySize(d) != cJSON_GetArraySize(l))
                        return fail_at(where, wlen, path);
                for (b = l->child; a && b; a = a->next, b = b->next, i++) {
                        int n = snprintf(path + used, plen - used, "[%d]", i);
                        size_t u = n < 0 || (size_t)n >= plen - used ? plen - 1 : used + (size_t)n;
                        if (!subset(a, b, path, plen, u, where, wlen))
                                return false;
                        path[used] = '\0';
                }
                return true;
        }
        if (cJSON_IsString(d)) {
                long double x, y;
                if (!cJSON_IsString(l))
                        return fail_at(where, wlen, path);
                if (strcmp(d->valuestring, l->valuestring) == 0)
                        return true;
                if (sync_quantity(d->valuestring, &x) && sync_quantity(l->valuestring, &y) &&
                    fabsl(x - y) <= fabsl(x) * 1e-12L)
                        return true;
                return fail_at(where, wlen, path);
        }
        if (cJSON_IsNumber(d))
                return (cJSON_IsNumber(l) && d->valuedouble == l->valuedouble) ||
                       fail_at(where, wlen, path);
        if (cJSON_IsBool(d))
                return (cJSON_IsBool(l) && cJSON_IsTrue(d) == cJSON_IsTrue(l)) ||
                       fail_at(where, wlen, path);
        return is_zero(d) || fail_at(where, wlen, path);
}

bool sync_subset(const cJSON *desired, const cJSON *live, char *where, size_t wherelen)
{
        char path[1024] = "";

        return subset(desired, live, path, sizeof(path), 0, where, wherelen);
}

/* Remove the member at path ("a.b.c"; "a[].b": b in every element of list a) wherever it is. */
static void drop_path(cJSON *o, const char *path)
{
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        bool each = n > 2 && strncmp(path + n - 2, "[]", 2) == 0;
        char name[64];
        cJSON *child, *e;

        snprintf(name, sizeof(name), "%.*s", (int)(each ? n - 2 : n), path);
        if (!dot) {
                cJSON_DeleteItemFromObjectCaseSensitive(o, name);
                return;
        }
        child = cJSON_GetObjectItemCaseSensitive(o, name);
        if (!each)
                drop_path(child, dot + 1);
        else if (cJSON_IsArray(child))
                cJSON_ArrayForEach (e, child)
                        drop_path(e, dot + 1);
}

void sync_trim(cJSON *live)
{
        /* none of these is set by any desired object (test_render proves it of every fixture),
         * and none can come from a user's spec (extraVolumes may carry a volume's defaultMode,
         * so volumes are kept whole) */
        static const char *const drop[] = {
                "metadata.managedFields",
                "metadata.creationTimestamp",
                "spec.progressDeadlineSeconds",
                "spec.revisionHistoryLimit",
                "spec.template.spec.dnsPolicy",
                "spec.template.spec.restartPolicy",
                "spec.template.spec.schedulerName",
                "spec.template.spec.securityContext",
                "spec.template.spec.terminationGracePeriodSeconds",
                "spec.template.spec.containers[].terminationMessagePath",
                "spec.template.spec.containers[].terminationMessagePolicy",
                "spec.template.spec.initContainers[].terminationMessagePath",
                "spec.template.spec.initContainers[].terminationMessagePolicy",
                "spec.clusterIPs",
                "spec.ipFamilies",
                "spec.ipFamilyPolicy",
                "spec.internalTrafficPolicy",
                "spec.sessionAffinity",
                "status.conditions[].message", /* sync_rollout_lost reads type and reason */
                "status.conditions[].lastUpdateTime",
                "status.conditions[].lastTransitionTime",
        };

        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
                drop_path(live, drop[i]);
}

const char *sync_annotation(const cJSON *obj, const char *key)
{
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                                 "annotations"),
                key);

        return cJSON_IsString(a) ? a->valuestring : NULL;
}

int sync_stamp(cJSON *desired)
{
        char hex[SHA256_HEX_LEN], *text;
        cJSON *meta, *ann;
        int r;

        meta = cJSON_GetObjectItemCaseSensitive(desired, "metadata");
        ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
        cJSON_DeleteItemFromObjectCaseSensitive(ann, KO_HASH_ANNOTATION);
        text = cJSON_PrintUnformatted(desired);
        if (!text)
                return -ENOMEM;
        r = sha256_hex(text, strlen(text), hex);
        free(text);
        if (r < 0)
                return r;
        hex[32] = '\0'; /* 128 bits tell versions apart */
        if (!ann)
                ann = cJSON_AddObjectToObject(meta, "annotations");
        return cJSON_AddStringToObject(ann, KO_HASH_ANNOTATION, hex) ? 0 : -ENOMEM;
}

bool sync_in_sync(const cJSON *desired, const cJSON *live, char *why, size_t whylen)
{
        const char *want = sync_annotation(desired, KO_HASH_ANNOTATION),
                   *have = sync_annotation(live, KO_HASH_ANNOTATION);
        char where[512] = "";

        if (!live) {
                snprintf(why, whylen, "missing");
                return false;
        }
        if (!want || !have || strcmp(want, have) != 0) {
                snprintf(why, whylen, "changed");
                return false;
        }
        if (!sync_subset(desired, live, where, sizeof(where))) {
                snprintf(why, whylen, "drifted at %s", where);
                return false;
        }
        return true;
}

static double num(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);

        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);

        return cJSON_IsString(v) ? v->valuestring : "";
}

cJSON *sync_replicas_handover(const cJSON *desired, const cJSON *live)
{
        const cJSON *n = json_at(live, "spec", "replicas");
        cJSON *h, *meta;

        if (!live || !cJSON_IsNumber(n) || !json_at(desired, "spec", NULL) ||
            json_at(desired, "spec", "replicas"))
                return NULL;
        h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "apiVersion", json_str(desired, "apiVersion", NULL) ?: "");
        cJSON_AddStringToObject(h, "kind", json_str(desired, "kind", NULL) ?: "");
        meta = cJSON_AddObjectToObject(h, "metadata");
        cJSON_AddStringToObject(meta, "name", json_str(desired, "metadata", "name") ?: "");
        if (json_str(desired, "metadata", "namespace"))
                cJSON_AddStringToObject(meta, "namespace",
                                        json_str(desired, "metadata", "namespace"));
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(h, "spec"), "replicas", n->valuedouble);
        return h;
}

bool sync_rollout_done(const cJSON *live, char *why, size_t whylen)
{
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(live, "kind");
        const cJSON *spec_replicas = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(live, "spec"), "replicas");
        double want = cJSON_IsNumber(spec_replicas) ? spec_replicas->valuedouble : 1;
        bool sts = cJSON_IsString(kind) && strcmp(kind->valuestring, "StatefulSet") == 0;

        if (!live) {
                snprintf(why, whylen, "not created yet");
                return false;
        }
        if (num(live, "status", "observedGeneration") < num(live, "metadata", "generation")) {
                snprintf(why, whylen, "its controller has not seen generation %.0f yet",
                         num(live, "metadata", "generation"));
                return false;
        }
        if (num(live, "status", "updatedReplicas") < want) {
                snprintf(why, whylen, "%.0f of %.0f replicas updated",
                         num(live, "status", "updatedReplicas"), want);
                return false;
        }
        if (num(live, "status", "readyReplicas") < want) {
                snprintf(why, whylen, "%.0f of %.0f replicas ready",
                         num(live, "status", "readyReplicas"), want);
                return false;
        }
        if (num(live, "status", "availableReplicas") < want) {
                snprintf(why, whylen, "%.0f of %.0f replicas available",
                         num(live, "status", "availableReplicas"), want);
                return false;
        }
        if (num(live, "status", "replicas") > want) {
                snprintf(why, whylen, "%.0f old replicas still running",
                         num(live, "status", "replicas") - want);
                return false;
        }
        if (sts && *str(live, "status", "updateRevision") &&
            strcmp(str(live, "status", "currentRevision"), str(live, "status", "updateRevision")) !=
                    0) {
                snprintf(why, whylen, "revision %s not rolled out yet",
                         str(live, "status", "updateRevision"));
                return false;
        }
        snprintf(why, whylen, "%.0f/%.0f ready", want, want);
        return true;
}

/* The reason of the workload's condition `type`, or "" */
static const char *cond_reason(const cJSON *live, const char *type)
{
        const cJSON *c;

        cJSON_ArrayForEach (c, json_at(live, "status", "conditions"))
                if (strcmp(json_str(c, "type", NULL) ?: "", type) == 0)
                        return json_str(c, "reason", NULL) ?: "";
        return "";
}

bool sync_rollout_lost(const cJSON *live, char *why, size_t whylen)
{
        const char *kind = json_str(live, "kind", NULL) ?: "";
        const cJSON *spec_replicas = json_at(live, "spec", "replicas");
        double want = cJSON_IsNumber(spec_replicas) ? spec_replicas->valuedouble : 1;
        bool rolled;

        if (strcmp(kind, "StatefulSet") == 0)
                rolled = *str(live, "status", "updateRevision") &&
                         strcmp(str(live, "status", "currentRevision"),
                                str(live, "status", "updateRevision")) == 0;
        else
                rolled = strcmp(cond_reason(live, "Progressing"), "NewReplicaSetAvailable") == 0;
        if (!live || !rolled ||
            num(live, "status", "observedGeneration") < num(live, "metadata", "generation") ||
            num(live, "status", "updatedReplicas") < want ||
            num(live, "status", "replicas") != want || num(live, "status", "readyReplicas") >= want)
                return false;
        snprintf(why, whylen, "%.0f of %.0f replicas ready", num(live, "status", "readyReplicas"),
                 want);
        return true;
}

bool sync_quorum_lost(const cJSON *live, char *why, size_t whylen)
{
        const cJSON *n = json_at(live, "spec", "replicas");
        long long ready = (long long)num(live, "status", "readyReplicas"), members, need;

        if (strcmp(json_str(live, "kind", NULL) ?: "", "StatefulSet") != 0 || !cJSON_IsNumber(n) ||
            n->valuedouble < 2)
                return false;
        members = (long long)n->valuedouble;
        need = members / 2 + 1;
        if (ready >= need)
                return false;
        snprintf(why, whylen, "etcd has no quorum: %lld of %lld members ready, %lld needed", ready,
                 members, need);
        return true;
}

bool sync_rolled_with(const cJSON *live, const char *key, const char *value)
{
        char why[256];

        return strcmp(sync_annotation(json_at(live, "spec", "template"), key) ?: "", value) == 0 &&
               sync_rollout_done(live, why, sizeof(why));
}

int sync_apply_if_changed(struct kube_client *c, const struct kube_resource *r, const char *ns,
                          const cJSON *obj, cJSON **ret_live, struct kube_status *st)
{
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
        struct kube_write_options wo = {.field_manager = KO_MANAGER, .force = true};
        cJSON *live = NULL;
        char why[256];
        int ret;

        if (!cJSON_IsString(name))
                return -EINVAL;
        ret = kube_get(c, r, ns, name->valuestring, &live, st);
        if (ret < 0 && ret != -ENOENT)
                return ret;
        if (ret == 0 && sync_in_sync(obj, live, why, sizeof(why))) {
                ret = 0;
        } else {
                cJSON_Delete(live);
                live = NULL;
                ret = kube_apply(c, r, ns, obj, &wo, &live, st);
                if (ret >= 0)
                        ret = 1;
        }
        if (ret >= 0 && ret_live)
                *ret_live = live;
        else
                cJSON_Delete(live);
        return ret;
}
