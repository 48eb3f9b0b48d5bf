/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane's storage: the cluster's default StorageClass "standard", whose provisioner is
 * ko-plane itself, as local-path-provisioner would be. A claim of that class gets a hostPath
 * PersistentVolume on <state>/claims/<namespace>_<claim> (the directory the pod's processes
 * use), bound to it; a Released volume of ours is deleted with its directory (reclaim policy
 * Delete). */
#include "plane_volumes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube/client.h"
#include "kube/resource.h"
#include "util/fileio.h"
#include "util/json.h"

#define PROVISIONER "ko-plane.local/hostpath"

static const struct kube_resource storageclasses = {"storage.k8s.io", "v1", "storageclasses",
                                                    "StorageClass", false};

int volumes_storage_class(struct kube_client *c)
{
        cJSON *sc = cJSON_Parse(
                "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
                "\"name\":\"standard\",\"annotations\":{"
                "\"storageclass.kubernetes.io/is-default-class\":\"true\"}},"
                "\"provisioner\":\"" PROVISIONER "\",\"reclaimPolicy\":\"Delete\","
                "\"volumeBindingMode\":\"Immediate\"}");
        int r = kube_create(c, &storageclasses, NULL, sc, NULL, NULL, NULL);

        cJSON_Delete(sc);
        return r == -EEXIST ? 0 : r;
}

void volumes_claim_dir(const char *state, const char *ns, const char *claim, char *buf, size_t size)
{
        snprintf(buf, size, "%s/claims/%s_%s", state, ns, claim);
}

/* a PersistentVolume for claim pvc, pre-bound to it */
static int provision(struct kube_client *c, const char *state, const cJSON *pvc)
{
        const char *ns = json_str(pvc, "metadata", "namespace"),
                   *name = json_str(pvc, "metadata", "name"),
                   *uid = json_str(pvc, "metadata", "uid");
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pvc, "spec");
        const char *size = json_str(json_at(spec, "resources", "requests"), "storage", NULL);
        char dir[4200], pvname[128];
        cJSON *pv = cJSON_CreateObject(), *s, *ref;
        int r;

        volumes_claim_dir(state, ns, name, dir, sizeof(dir));
        fileio_mkdir_p(dir, 0777);
        snprintf(pvname, sizeof(pvname), "pvc-%s", uid);
        cJSON_AddStringToObject(pv, "apiVersion", "v1");
        cJSON_AddStringToObject(pv, "kind", "PersistentVolume");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(pv, "metadata"), "name", pvname);
        cJSON_AddStringToObject(
                cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(pv, "metadata"),
                                        "annotations"),
                "pv.kubernetes.io/provisioned-by", PROVISIONER);
        s = cJSON_AddObjectToObject(pv, "spec");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "capacity"), "storage",
                                size ? size : "1Gi");
        cJSON_AddItemToObject(
                s, "accessModes",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(spec, "accessModes"), true));
        cJSON_AddStringToObject(s, "persistentVolumeReclaimPolicy", "Delete");
        cJSON_AddStringToObject(s, "storageClassName", "standard");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "hostPath"), "path", dir);
        ref = cJSON_AddObjectToObject(s, "claimRef");
        cJSON_AddStringToObject(ref, "apiVersion", "v1");
        cJSON_AddStringToObject(ref, "kind", "PersistentVolumeClaim");
        cJSON_AddStringToObject(ref, "namespace", ns);
        cJSON_AddStringToObject(ref, "name", name);
        cJSON_AddStringToObject(ref, "uid", uid);
        r = kube_create(c, &kube_persistentvolumes, NULL, pv, NULL, NULL, NULL);
        cJSON_Delete(pv);
        if (r == 0)
                fprintf(stderr, "ko-plane: provisioned %s for %s/%s on %s\n", pvname, ns, name,
                        dir);
        return r == -EEXIST ? 0 : r;
}

void volumes_tend(struct kube_client *c, const char *state)
{
        cJSON *pvcs = NULL, *pvs = NULL;
        const cJSON *e;

        if (kube_list(c, &kube_persistentvolumeclaims, NULL, NULL, &pvcs, NULL) == 0)
                cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(pvcs, "items")) {
                        const char *cls = json_str(e, "spec", "storageClassName");
                        if (cls && strcmp(cls, "standard") == 0 &&
                            !json_str(e, "spec", "volumeName") &&
                            !json_at(e, "metadata", "deletionTimestamp"))
                                provision(c, state, e);
                }
        if (kube_list(c, &kube_persistentvolumes, NULL, NULL, &pvs, NULL) == 0)
                cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(pvs, "items")) {
                        const char *by = json_str(json_at(e, "metadata", "annotations"),
                                                  "pv.kubernetes.io/provisioned-by", NULL);
                        const char *phase = json_str(e, "status", "phase");
                        if (!by || strcmp(by, PROVISIONER) != 0 || !phase ||
                            strcmp(phase, "Released") != 0)
                                continue;
                        if (kube_delete(c, &kube_persistentvolumes, NULL,
                                        json_str(e, "metadata", "name"), NULL, NULL) == 0) {
                                const char *dir =
                                        json_str(json_at(e, "spec", "hostPath"), "path", NULL);
                                if (dir && strstr(dir, "/claims/"))
                                        fileio_rm_rf(dir);
                                fprintf(stderr, "ko-plane: deleted the Released %s\n",
                                        json_str(e, "metadata", "name"));
                        }
                }
        cJSON_Delete(pvcs);
        cJSON_Delete(pvs);
}
