/* SPDX-License-Identifier: Apache-2.0 */
/* Authenticated encryption of small blobs with a 32-byte key (AES-256-GCM, OpenSSL): the
 * sealed form is "KOSEAL1\n", a random 12-byte nonce, the ciphertext and the 16-byte tag; the
 * header and `aad` are authenticated too. */
#pragma once

#include <stddef.h>

#define SEAL_KEY_LEN 32

struct strbuf;

/* Append the sealed form of in to out. */
int seal_box(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
             struct strbuf *out);
/* Append the plaintext to out; -EBADMSG when the blob is not one, was altered or the key or
 * aad differ. */
int seal_open(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *in, size_t len,
              struct strbuf *out);
