/* SPDX-License-Identifier: Apache-2.0 */
/* A token bucket: `qps` tokens a second, at most `burst` saved. Pure (time is passed in), so
 * callers add their own lock and clock; unit-tested. */
#pragma once

struct token_bucket {
        double qps;
        double burst;
        double tokens;
        long long last_ns;
};

void token_bucket_init(struct token_bucket *tb, double qps, double burst, long long now_ns);
/* Take a token; returns how many nanoseconds the caller must wait for it (0 when one was
 * there). A reservation: the next caller waits behind this one. */
long long token_bucket_reserve(struct token_bucket *tb, long long now_ns);
