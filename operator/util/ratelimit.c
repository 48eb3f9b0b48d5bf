/* SPDX-License-Identifier: Apache-2.0 */
#include "ratelimit.h"

void token_bucket_init(struct token_bucket *tb, double qps, double burst, long long now_ns)
{
        tb->qps = qps;
        tb->burst = burst < 1 ? 1 : burst;
        tb->tokens = tb->burst;
        tb->last_ns = now_ns;
}

long long token_bucket_reserve(struct token_bucket *tb, long long now_ns)
{
        if (now_ns > tb->last_ns) {
                tb->tokens += (double)(now_ns - tb->last_ns) / 1e9 * tb->qps;
                if (tb->tokens > tb->burst)
                        tb->tokens = tb->burst;
                tb->last_ns = now_ns;
        }
        tb->tokens -= 1;
        if (tb->tokens >= 0)
                return 0;
        return (long long)(-tb->tokens / tb->qps * 1e9);
}
