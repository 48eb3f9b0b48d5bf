/* SPDX-License-Identifier: Apache-2.0 */
/* The KarmadaBackup, typed: its spec parsed, defaulted and validated (errors name the field),
 * the S3 location it names and the client made from it with its credentials, and a backup made
 * from a KarmadaBackupSchedule's template. What the backup controller, the restore and the
 * pre-upgrade backup know of a KarmadaBackup lives here, once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "spec.h"
#include "util/s3.h"

/* spec.s3 of a KarmadaBackup (and of what a restore copies of it). */
struct s3_location {
        char *endpoint, *bucket, *region;
        char *prefix;      /* of the object keys, or NULL */
        char *ca_bundle;   /* base64 PEM trusted besides the system's, or NULL */
        bool path_style;   /* forcePathStyle */
        char *credentials; /* the Secret with accessKeyID and secretAccessKey (a backup's) */
};

struct backup_spec {
        char *namespace, *name, *uid;
        long long generation;
        char *karmada; /* spec.karmadaRef.name: the instance backed up */
        struct s3_location s3;
        char *key_secret; /* spec.encryptionKeySecretRef.name */
        char *key_key;    /* its key in that Secret; default "key" */
        /* status */
        char *phase; /* NULL (new), Pending, Running, Completed, Failed */
        char *object_key, *pki_object_key, *sha256;
        char *format; /* KO_BACKUP_FORMAT, or NULL: of before, the snapshot in the clear */
};

/* How a backup stores its objects (status.format): the snapshot a seal stream and the
 * certificates a sealed blob (util/seal.h), under the backup's key, each bound to the backup's
 * UID and its part by backup_aad(). A backup without status.format is of an operator before:
 * its snapshot in the clear, its certificates sealed with KO_BACKUP_PKI_AAD. */
#define KO_BACKUP_FORMAT "sealed-v1"
/* The additional data that binds a part ("snapshot", "pki") to the backup of uid, into buf. */
const char *backup_aad(const char *uid, const char *object, char *buf, size_t size);

/* Parse a KarmadaBackup (copies what it keeps). -EINVAL with err naming every field that is
 * missing or wrong; -ENOMEM. */
int backup_spec_parse(const cJSON *obj, struct backup_spec **ret, struct karmada_spec_error *err);
void backup_spec_free(struct backup_spec *b);

/* Parse an s3 block (path: "spec.s3"; endpoint and bucket required); problems appended to err. */
int s3_location_parse(const cJSON *s3, const char *path, struct s3_location *loc,
                      struct karmada_spec_error *err);
void s3_location_free(struct s3_location *loc);

/* An S3 client for a location and its two keys, with what it points to (copied: the CA bundle
 * decoded). s3_location_close wipes the secret key. */
struct s3_bucket {
        struct s3_client c;
        char *access_key, *secret_key;
        unsigned char *ca;
        size_t ca_len;
};
/* 0, or -EINVAL (why names the field: caBundle not base64), -ENOMEM. */
int s3_location_open(const struct s3_location *loc, const char *access_key, const char *secret_key,
                     struct s3_bucket *ret, char *why, size_t whylen);
void s3_location_close(struct s3_bucket *s);

/* A new KarmadaBackup object named `name` from the template of a KarmadaBackupSchedule; with
 * karmada not NULL, it backs up that instance whatever the template says. The caller adds
 * labels and owners. NULL when out of memory. */
cJSON *backup_spec_from_template(const cJSON *schedule, const char *name, const char *karmada);
