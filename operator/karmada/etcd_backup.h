/* SPDX-License-Identifier: Apache-2.0 */
/* Talking to an instance's etcd for backups, over its HTTP/JSON gateway with the instance's
 * etcd client certificate (kept in memory only): a member's status, and a snapshot streamed
 * straight into an S3 multipart upload (checked against etcd's SHA-256 as it streams; the
 * upload is aborted on any failure, so no partial object stays). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/digest.h"
#include "util/s3.h"

/* A connection of its own to the member for each request (a port-forward through another
 * cluster's API server): dial opens one and names the abstract Unix socket to connect to
 * (CURLOPT_ABSTRACT_UNIX_SOCKET), returning a handle that hang_up drops after the request, or
 * NULL with err saying why. */
typedef void *(*etcd_backup_dial)(void *arg, char *socket, size_t size, char *err, size_t errlen);
typedef void (*etcd_backup_hang_up)(void *conn);

struct etcd_backup_member {
        const char *url;             /* https://<member or service>:2379 */
        const char *resolve;         /* "host:port:address" (CURLOPT_RESOLVE), or NULL */
        const char *ca, *cert, *key; /* PEM */
        size_t ca_len, cert_len, key_len;
        etcd_backup_dial dial; /* NULL: connect to the url's host; else the url names the member
                                * (its certificate is checked against that name) and each
                                * request goes over a connection of dial's */
        etcd_backup_hang_up hang_up;
        void *dial_arg;
};

struct etcd_backup_status {
        long long revision, db_size;
        unsigned long long member_id, leader;
        bool learner;
        char version[32];
        char errors[256]; /* what the member reports wrong, "" when nothing */
};

struct etcd_backup_snapshot {
        uint64_t size;               /* of the object: the database and its 32-byte hash, sealed */
        char sha256[SHA256_HEX_LEN]; /* of the database, as etcd computed it */
        long long revision;          /* from the status call just before */
        bool s3_failed;              /* on failure: S3 failed us (not etcd) */
};

int etcd_backup_status(const struct etcd_backup_member *m, struct etcd_backup_status *st, char *err,
                       size_t errlen);
/* POST body (NULL: "{}") to path of etcd's gateway ("/v3/kv/range"); the JSON answer of a 200
 * into *ret (the caller frees it), else -EIO with err saying why. */
int etcd_backup_call(const struct etcd_backup_member *m, const char *path, const char *body,
                     cJSON **ret, char *err, size_t errlen);
/* Status first (refused when the member reports errors, is a learner or knows no leader), then
 * the snapshot into key: with seal_key, sealed as it streams (a seal stream, util/seal.h, bound
 * to aad); without, as etcd wrote it. */
int etcd_backup_snapshot_to_s3(const struct etcd_backup_member *m, const struct s3_client *c,
                               const char *key, const unsigned char *seal_key, const char *aad,
                               struct etcd_backup_snapshot *res, char *err, size_t errlen);
