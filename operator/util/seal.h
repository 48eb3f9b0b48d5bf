/* SPDX-License-Identifier: Apache-2.0 */
/* Authenticated encryption with a 32-byte key (AES-256-GCM, OpenSSL).
 * Blobs: "KOSEAL1\n", a random 12-byte nonce, the ciphertext and the 16-byte tag; the magic and
 * `aad` are authenticated too.
 * Streams, sealed as they pass in chunks: a header ("KOSTRM1\n" and the plaintext size of a
 * chunk, 4 bytes big-endian; 65536), then chunks of a random 12-byte nonce, the ciphertext and
 * the tag. Every chunk has that size but the last, which may be shorter (empty only when the
 * stream is). A chunk's
 * additional data is the header, `aad`, its index (8 bytes big-endian, from 0) and one byte, 1
 * for the last chunk and 0 otherwise: chunks cannot be reordered, dropped, cut off at the end or
 * moved to another stream of another aad. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SEAL_KEY_LEN 32

struct strbuf;

/* A key given as base64 text: its SEAL_KEY_LEN bytes into *key (the caller wipes and frees
 * them); -EINVAL, nothing kept, when text is NULL or not the base64 of that many bytes. */
int seal_key_decode(const char *text, unsigned char **key);
/* Append the sealed form of in to out. */
int seal_box(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
             struct strbuf *out);
/* Append the plaintext to out; -EBADMSG when the blob is not one, was altered or the key or
 * aad differ. */
int seal_open(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
              struct strbuf *out);

/* What a stream sends on: its output, chunk by chunk; a negative return stops the stream. */
typedef int (*seal_sink)(void *userdata, const unsigned char *buf, size_t len);
struct seal_stream;
/* A stream that seals (seal) or opens what it is fed into sink. NULL when out of memory. */
struct seal_stream *seal_stream_new(const unsigned char key[SEAL_KEY_LEN], const char *aad,
                                    bool seal, seal_sink sink, void *userdata);
/* 0, or the stream's first error: -EBADMSG (not a stream, altered, another key or aad), -EIO
 * (the sink refused), -ENOMEM. */
int seal_stream_feed(struct seal_stream *s, const void *buf, size_t len);
/* The end: the last chunk out; -EBADMSG when an opened stream was cut short. */
int seal_stream_finish(struct seal_stream *s);
/* Accepts NULL; the key and buffers are wiped. */
void seal_stream_free(struct seal_stream *s);
/* Whether data begins as a sealed stream. */
bool seal_stream_is(const void *data, size_t len);
