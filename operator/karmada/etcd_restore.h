/* SPDX-License-Identifier: Apache-2.0 */
/* Restoring an instance's etcd from a backup: the snapshot object checked against the SHA-256
 * its backup recorded (and the one etcd appended), fetched into a file, and turned into a data
 * directory by etcdutl. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/s3.h"

/* Read the snapshot object `key` (what `etcdctl snapshot save` writes: the database, then its
 * SHA-256) and check both that trailing hash and `sha256` (hex, as KarmadaBackup.status
 * records it). With seal_key, the object is a seal stream (util/seal.h) bound to aad, opened as
 * it comes (-EBADMSG when it does not open). With path, the snapshot is also written there
 * (created 0600, removed again on any failure). -EBADMSG with err saying which hash differs. */
int etcd_restore_fetch(const struct s3_client *c, const char *key, const unsigned char *seal_key,
                       const char *aad, const char *sha256, const char *path, long long *size,
                       char *err, size_t errlen);

struct etcd_restore_options {
        const char *data_dir; /* etcd's --data-dir: nothing is done when <data_dir>/member exists */
        const char *etcdutl;  /* path of etcdutl */
        const char *name;     /* this member's --name */
        const char *initial_cluster, *advertise_peer_urls;
        long long bump_revision;       /* added to every revision (--bump-revision) */
        const char *key, *sha256;      /* the snapshot object and its hash */
        const unsigned char *seal_key; /* the object is sealed with it (32 bytes), or NULL */
        const char *aad;               /* what the sealed object is bound to */
};

/* <data_dir>/member exists: the member has data, there is nothing to restore. */
bool etcd_restore_done(const char *data_dir);

/* The init container's work: fetch and check the snapshot into the data volume, run
 * `etcdutl snapshot restore ... --bump-revision N --mark-compacted` into <data_dir>/restore.part
 * and move its member directory into place. Returns 0 (also when there was nothing to do). */
int etcd_restore_run(const struct s3_client *c, const struct etcd_restore_options *o, char *err,
                     size_t errlen);
