/* SPDX-License-Identifier: Apache-2.0 */
/* karmada-operator status: one screen per Karmada instance, read from the cluster as it is now
 * (the Karmada object's status, its workloads and pods, its backups, and the member clusters
 * through its admin kubeconfig), with an exit status a script can use. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "kube/client.h"

struct status_options {
        const char *namespace; /* NULL: every namespace */
        const char *name;      /* NULL: every instance of the namespace(s) */
        bool json;
        bool color;
};

/* What status shows of the instances, as one JSON object {"instances": [...]}; each instance
 * has "healthy" and "problems", and "error" when part of it could not be read. NULL when the
 * instances cannot be read or there are none (why filled). */
cJSON *status_report_build(struct kube_client *c, const struct status_options *o, char *why,
                           size_t whylen);

/* The report as text (status_print.c) */
void status_report_print(const cJSON *report, bool color, FILE *out);

/* Build and print; the exit status: 0 every instance is healthy, 1 one is not, 2 an error
 * (an instance not read, or none found). */
int status_report(struct kube_client *c, const struct status_options *o, FILE *out, FILE *errout);
