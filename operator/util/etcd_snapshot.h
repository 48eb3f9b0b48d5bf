/* SPDX-License-Identifier: Apache-2.0 */
/* The body of etcd's HTTP/JSON gateway answer to POST /v3/maintenance/snapshot: JSON
 * messages, one per line ({"result":{"blob":"<base64>","remaining_bytes":"N"}}), whose blobs
 * concatenated are the database followed by its 32-byte SHA-256; an {"error":{...}} message
 * ends it early. Fed in pieces split anywhere; the database goes to a sink as it comes (all but
 * the last 32 bytes seen so far, which may be the hash), and the hash is checked at the end. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct etcd_snapshot_stream;

/* Receives database bytes in order; a negative return stops the stream with that error. */
typedef int (*etcd_snapshot_sink)(void *userdata, const unsigned char *buf, size_t len);

struct etcd_snapshot_stream *etcd_snapshot_stream_new(etcd_snapshot_sink sink, void *userdata);
void etcd_snapshot_stream_free(struct etcd_snapshot_stream *s);
/* Feed len bytes of the body. -EBADMSG (err says why: etcd's error, bad JSON, bad base64, a
 * message over 4 MiB) or the sink's error; after an error every call fails the same way. */
int etcd_snapshot_stream_feed(struct etcd_snapshot_stream *s, const char *buf, size_t len,
                              char *err, size_t errlen);
/* At the end of the body: the database's size and SHA-256 (hex); -EBADMSG when the body was
 * cut short or the hash does not match. */
int etcd_snapshot_stream_finish(struct etcd_snapshot_stream *s, uint64_t *db_size,
                                char db_sha256[SHA256_HEX_LEN], char *err, size_t errlen);
