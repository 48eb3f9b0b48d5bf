/* SPDX-License-Identifier: Apache-2.0 */
/* Where the backup an instance is restored from lies (spec.restore). The restore and etcd
 * reconcilers both need it: the one to copy it into the instance, the other to render the
 * members' init containers; it lives here, below both, so that no plug-in calls another. */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "backup_spec.h"
#include "desired.h"
#include "spec.h"

/* Where the backup an instance is restored from lies (spec.restore): from the instance's
 * <prefix>-restore Secret once it exists, else from the KarmadaBackup and its credentials
 * (desired_wait() and a negative errno while they are not there). Free with
 * restore_source_free. */
struct restore_source {
        cJSON *doc;             /* owns the strings below */
        struct s3_location loc; /* the bucket */
        const char *key, *pki_key, *sha256;
        const char *backup, *karmada; /* the KarmadaBackup, the instance it backed up */
        const char *uid, *format;     /* the KarmadaBackup's; format NULL: a backup of before */
        char *access_key, *secret_key;
        char *seal_key; /* the backup's encryption key, base64 (seal_key_decode); NULL for a
                         * backup of before whose restore Secret was written without it */
};
int restore_source(const struct karmada *k, struct desired *d, struct restore_source *s);
void restore_source_free(struct restore_source *s);
