/* SPDX-License-Identifier: Apache-2.0 */
/* S3 request construction: what libcurl's SigV4 signing (CURLOPT_AWS_SIGV4) needs from us.
 * libcurl 7.88 signs the URL as given, so object keys and query parameters must already be in
 * AWS's canonical form: RFC 3986 percent-encoding (unreserved A-Z a-z 0-9 - . _ ~ kept; "/"
 * kept in keys) and the query sorted by name, then value; "uploads" becomes "uploads=". It
 * does not add x-amz-content-sha256 and does not hash bodies read by callback: the header is
 * ours, "UNSIGNED-PAYLOAD" or the body's hex digest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

struct s3_target {
        const char *endpoint; /* "https://s3.example.com" or "http://127.0.0.1:7070" */
        const char *bucket;
        const char *region; /* "us-east-1" when NULL or empty */
        bool path_style;    /* endpoint/bucket/key, else bucket.endpoint/key */
};

struct s3_param {
        const char *name, *value; /* value NULL: a bare name ("uploads") */
};

/* Percent-encode in (RFC 3986); "/" kept when keep_slash. Appends to out. */
int s3_encode(struct strbuf *out, const char *in, bool keep_slash);
/* The URL of key (NULL: the bucket) with the query params in canonical order. */
int s3_url(struct strbuf *out, const struct s3_target *t, const char *key,
           const struct s3_param *params, size_t n_params);
/* The CURLOPT_AWS_SIGV4 value: "aws:amz:<region>:s3". */
int s3_sigv4_param(struct strbuf *out, const struct s3_target *t);

/* ---- requests (libcurl, TLS verified; libxml2 for the answers) ----
 * Each request is retried up to 4 times (util/retry.h's backoff, or Retry-After) when no
 * answer came (refused, reset, timed out) or the server failed (5xx, 429, S3's RequestTimeout,
 * InternalError, SlowDown); a streamed GET only until its body began. */

struct s3_client {
        struct s3_target target;
        const char *access_key, *secret_key;
        const char *ca_pem; /* extra trusted CAs (PEM), or NULL for the system's */
        size_t ca_len;
        long timeout_ms; /* of each request; 0: 5 minutes */
};

/* What S3 said when a request failed: HTTP status (0: no answer) and its error code. */
struct s3_error {
        long http;
        char code[64];
        char message[512];
};

int s3_put(const struct s3_client *c, const char *key, const void *buf, size_t len,
           struct s3_error *e);
/* The object, at most max bytes, appended to out. */
int s3_get(const struct s3_client *c, const char *key, size_t max, struct strbuf *out,
           struct s3_error *e);
/* The object, handed to sink piece by piece (of any size); a negative return from sink stops
 * the transfer and is returned. */
typedef int (*s3_sink_fn)(const void *buf, size_t len, void *userdata);
int s3_get_stream(const struct s3_client *c, const char *key, s3_sink_fn sink, void *userdata,
                  struct s3_error *e);
int s3_delete(const struct s3_client *c, const char *key, struct s3_error *e);

struct s3_object {
        char *key;
        long long size;
        char *last_modified;
};
/* Every object under prefix (all pages); free with s3_objects_free. */
int s3_list(const struct s3_client *c, const char *prefix, struct s3_object **ret, size_t *n,
            struct s3_error *e);
void s3_objects_free(struct s3_object *o, size_t n);

/* Multipart upload: parts of at least 5 MiB but the last, at most 10,000. On any failure,
 * s3_upload_abort so that no part stays behind. */
struct s3_upload;
int s3_upload_begin(const struct s3_client *c, const char *key, struct s3_upload **ret,
                    struct s3_error *e);
int s3_upload_part(struct s3_upload *u, const void *buf, size_t len, struct s3_error *e);
/* Completes and frees u (aborting it when completing fails). A retry that finds the upload gone
 * (NoSuchUpload) while the object is there counts as done: keys are never reused. */
int s3_upload_complete(struct s3_upload *u, struct s3_error *e);
/* Aborts and frees u. */
void s3_upload_abort(struct s3_upload *u);
/* Aborts the unfinished multipart uploads under prefix (the first 1,000 the server lists: what
 * a process that stopped mid-upload left); *n: how many. */
int s3_abort_uploads(const struct s3_client *c, const char *prefix, int *n, struct s3_error *e);
