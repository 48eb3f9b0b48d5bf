/* SPDX-License-Identifier: Apache-2.0 */
/* Download a URL to a file (libcurl): http and https only (redirects too, but never from https
 * to http), TLS verified, a size limit and a timeout; the file appears complete or not at
 * all. */
#pragma once

#include <stddef.h>

struct fetch_options {
        const char *proxy;   /* proxy URL, or NULL (then libcurl's *_proxy variables apply) */
        size_t max_bytes;    /* larger bodies fail with -EFBIG; 0 = 64 MiB */
        long timeout_ms;     /* the whole transfer; 0 = 120 s */
        const char *ca_file; /* trust these CAs instead of the system's (tests); NULL = system */
};

/* 0, or a negative errno with err naming the URL and what went wrong. */
int fetch_to_file(const char *url, const struct fetch_options *o, const char *path, char *err,
                  size_t errlen);
