/* SPDX-License-Identifier: Apache-2.0 */
#include "pod_reason.h"

#include <stdio.h>
#include <string.h>

#include "conditions.h"
#include "util/json.h"

/* The first line of s, at most 160 bytes of it */
static void first_line(const char *s, char *buf, size_t size)
{
        size_t n = s ? strcspn(s, "\r\n") : 0;

        if (n > 160)
                n = 160;
        snprintf(buf, size, "%.*s", (int)n, s ? s : "");
}

static const cJSON *pod_condition(const cJSON *pod, const char *type)
{
        return condition_get(json_at(pod, "status", "conditions"), type);
}

static void set(struct pod_cause *c, const char *reason)
{
        snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

/* "exit code N (Reason): message's first line" of a terminated state */
static void terminated(const cJSON *t, char *buf, size_t size)
{
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(t, "exitCode");
        const char *reason = json_str(t, "reason", NULL);
        char msg[168];

        first_line(json_str(t, "message", NULL), msg, sizeof(msg));
        snprintf(buf, size, "exit code %d%s%s%s%s%s", cJSON_IsNumber(code) ? code->valueint : -1,
                 reason ? " (" : "", reason ?: "", reason ? ")" : "", msg[0] ? ": " : "", msg);
}

/* One container's cause, or false when it is ready or merely started */
static bool container_reason(const cJSON *cs, bool init, struct pod_cause *c)
{
        const char *name = json_str(cs, "name", NULL) ?: "?";
        const cJSON *waiting = json_at(cs, "state", "waiting");
        const cJSON *term = json_at(cs, "state", "terminated");
        const cJSON *last = json_at(cs, "lastState", "terminated");
        char detail[256] = "";

        if (waiting) {
                const char *reason = json_str(waiting, "reason", NULL) ?: "Waiting";
                if (strcmp(reason, "CrashLoopBackOff") == 0 && last)
                        terminated(last, detail, sizeof(detail));
                else
                        first_line(json_str(waiting, "message", NULL), detail, sizeof(detail));
                set(c, reason);
                snprintf(c->text, sizeof(c->text), "container %s: %s%s%s", name, reason,
                         detail[0] ? ": " : "", detail);
                return true;
        }
        if (term) {
                const cJSON *code = cJSON_GetObjectItemCaseSensitive(term, "exitCode");
                if (init && cJSON_IsNumber(code) && code->valueint == 0)
                        return false; /* an init container that did its work */
                terminated(term, detail, sizeof(detail));
                set(c, "Terminated");
                snprintf(c->text, sizeof(c->text), "container %s terminated: %s", name, detail);
                return true;
        }
        if (!init && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cs, "ready"))) {
                set(c, "ReadinessProbe");
                snprintf(c->text, sizeof(c->text),
                         "container %s: running, not ready (readiness probe)", name);
                return true;
        }
        return false;
}

static bool containers_reason(const cJSON *pod, struct pod_cause *c)
{
        static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
        const cJSON *cs;

        for (size_t i = 0; i < 2; i++)
                cJSON_ArrayForEach (cs, json_at(pod, "status", lists[i]))
                        if (container_reason(cs, i == 0, c))
                                return true;
        return false;
}

bool pod_reason(const cJSON *pod, struct pod_cause *c)
{
        const char *phase = json_str(pod, "status", "phase") ?: "Pending";
        const cJSON *sched = pod_condition(pod, "PodScheduled");
        const cJSON *ready = pod_condition(pod, "Ready");
        const char *why = json_str(pod, "status", "reason");
        char msg[168];

        memset(c, 0, sizeof(*c));
        if (json_str(pod, "metadata", "deletionTimestamp")) {
                set(c, "Terminating");
                snprintf(c->text, sizeof(c->text), "Terminating");
                return true;
        }
        if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0) {
                first_line(json_str(pod, "status", "message"), msg, sizeof(msg));
                set(c, phase);
                snprintf(c->text, sizeof(c->text), "%s%s%s%s%s", phase, why ? ": " : "", why ?: "",
                         msg[0] ? ": " : "", msg);
                return true;
        }
        if (strcmp(json_str(sched, "status", NULL) ?: "", "False") == 0) {
                first_line(json_str(sched, "message", NULL), msg, sizeof(msg));
                set(c, json_str(sched, "reason", NULL) ?: "Unschedulable");
                snprintf(c->text, sizeof(c->text), "not scheduled: %s%s%s", c->reason,
                         msg[0] ? ": " : "", msg);
                return true;
        }
        if (strcmp(json_str(ready, "status", NULL) ?: "", "True") == 0)
                return false;
        if (containers_reason(pod, c))
                return true;
        first_line(json_str(ready, "message", NULL), msg, sizeof(msg));
        set(c, ready ? json_str(ready, "reason", NULL) ?: "NotReady" : phase);
        snprintf(c->text, sizeof(c->text), "%s%s%s", c->reason, msg[0] ? ": " : "", msg);
        return true;
}

bool pod_cause_is_failure(const struct pod_cause *c)
{
        static const char *const failures[] = {
                "Unschedulable",     "CrashLoopBackOff",     "ImagePullBackOff",
                "ErrImagePull",      "InvalidImageName",     "CreateContainerConfigError",
                "RunContainerError", "CreateContainerError", "Failed",
                "Terminated"};

        for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
                if (strcmp(c->reason, failures[i]) == 0)
                        return true;
        return false;
}

/* Keep of o only the members named (NULL-terminated); o itself stays */
static void keep_only(cJSON *o, const char *const *names)
{
        cJSON *it = o ? o->child : NULL, *next;

        for (; it; it = next) {
                bool keep = false;
                next = it->next;
                for (const char *const *n = names; *n && !keep; n++)
                        keep = strcmp(it->string ?: "", *n) == 0;
                if (!keep)
                        cJSON_Delete(cJSON_DetachItemViaPointer(o, it));
        }
}

void pod_trim(cJSON *pod)
{
        static const char *const top[] = {"apiVersion", "kind", "metadata", "status", NULL};
        static const char *const meta[] = {
                "name", "namespace", "uid", "labels", "resourceVersion", "deletionTimestamp", NULL};
        static const char *const status[] = {"phase",
                                             "reason",
                                             "message",
                                             "conditions",
                                             "containerStatuses",
                                             "initContainerStatuses",
                                             NULL};
        static const char *const cond[] = {"type", "status", "reason", "message", NULL};
        static const char *const cs[] = {"name", "ready", "state", "lastState", NULL};
        cJSON *st = cJSON_GetObjectItemCaseSensitive(pod, "status"), *it;

        keep_only(pod, top);
        keep_only(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), meta);
        keep_only(st, status);
        cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(st, "conditions"))
                keep_only(it, cond);
        cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(st, "containerStatuses"))
                keep_only(it, cs);
        cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive(st, "initContainerStatuses"))
                keep_only(it, cs);
}
