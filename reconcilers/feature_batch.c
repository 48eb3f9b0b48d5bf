/* SPDX-License-Identifier: Apache-2.0 */
/* spec.features.batch: AI and batch workloads whose pods come from several templates (a
 * PyTorchJob's master and workers). MultiplePodTemplatesScheduling on the controller-manager,
 * the scheduler and the webhook; the ResourceInterpreterCustomizations listed (how Karmada
 * reads replicas and requirements of each template); the CRDs listed, in the Karmada API
 * server, with a ClusterPropagationPolicy that puts them on every member cluster (the
 * workloads need their CRDs there). Ready once the components run with the gate. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static const struct kube_resource rics = {"config.karmada.io", "v1alpha1",
                                          "resourceinterpretercustomizations",
                                          "ResourceInterpreterCustomization", false};
static const struct kube_resource cpps = {"policy.karmada.io", "v1alpha1",
                                          "clusterpropagationpolicies", "ClusterPropagationPolicy",
                                          false};

struct batch {
        bool multi_templates;        /* MultiplePodTemplatesScheduling */
        const cJSON *customizations; /* ResourceInterpreterCustomizations: [{name, spec}] */
        const cJSON *crds;           /* CustomResourceDefinitions (whole objects) */
};

static int batch_parse(struct spec_reader *p, const struct karmada *k, const cJSON *c, void **cfg)
{
        static const char *const ric_fields[] = {"spec", NULL};
        struct batch *f = calloc(1, sizeof(*f));

        (void)k;
        if (!f)
                return -ENOMEM;
        *cfg = f;
        f->multi_templates = spec_bool(p, c, "multiplePodTemplates",
                                       "spec.features.batch.multiplePodTemplates", false);
        f->customizations =
                spec_named_list(p, c, "interpreterCustomizations",
                                "spec.features.batch.interpreterCustomizations", ric_fields);
        f->crds = spec_named_list(p, c, "crds", "spec.features.batch.crds", ric_fields);
        return 0;
}

/* every CRD listed, on every member cluster */
static cJSON *crd_policy(const struct karmada *k)
{
        cJSON *p = manifest_karmada_object(k, &cpps, "karmada-operator-batch-crds", NULL,
                                           "karmada-batch"),
              *spec, *sel, *crd;

        if (!p)
                return NULL;
        spec = cJSON_AddObjectToObject(p, "spec");
        sel = cJSON_AddArrayToObject(spec, "resourceSelectors");
        cJSON_ArrayForEach (crd, ((const struct batch *)karmada_feature(k, "batch"))->crds) {
                cJSON *s = cJSON_CreateObject();
                cJSON_AddStringToObject(s, "apiVersion", "apiextensions.k8s.io/v1");
                cJSON_AddStringToObject(s, "kind", "CustomResourceDefinition");
                cJSON_AddStringToObject(
                        s, "name",
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(crd, "metadata"), "name")));
                cJSON_AddItemToArray(sel, s);
        }
        cJSON_AddObjectToObject(spec, "placement"); /* no affinity: every cluster */
        return p;
}

static int batch_contribute(const struct karmada *k, struct desired *d)
{
        static const enum names_component templates[] = {KO_CONTROLLER_MANAGER, KO_SCHEDULER,
                                                         KO_WEBHOOK, KO_N_COMPONENTS};
        const struct batch *f = karmada_feature(k, "batch");
        const cJSON *o;
        int r = 0;

        if (f->multi_templates)
                r = common_gate_on(d, "MultiplePodTemplatesScheduling", templates);
        cJSON_ArrayForEach (o, f->customizations) {
                if (r >= 0)
                        r = common_add_feature_object(d, k, &rics, o, NULL, "karmada-batch");
        }
        cJSON_ArrayForEach (o, f->crds) {
                if (r >= 0)
                        r = common_add_feature_object(d, k, &kube_crds, o, NULL, "karmada-batch");
        }
        if (r >= 0 && f->crds)
                r = desired_add_karmada(d, &cpps, crd_policy(k));
        return r;
}

const struct reconciler reconciler_feature_batch = {
        .name = "feature-batch",
        .after = (const char *const[]){"karmada-resources", "karmada-controller-manager",
                                       "karmada-scheduler", "karmada-webhook", NULL},
        .condition = "BatchWorkloadsReady",
        .karmada_kinds = (const struct kube_resource *const[]){&rics, &kube_crds, &cpps, NULL},
        .feature = &(const struct karmada_feature){"batch", batch_parse, free},
        .contribute = batch_contribute,
};
