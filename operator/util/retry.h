/* SPDX-License-Identifier: Apache-2.0 */
/* The backoff of every client that retries (the Kubernetes API client, the S3 client): how long
 * to wait before a retry, and the Retry-After header that may say so. */
#pragma once

/* Delay before retry number attempt (0-based): Retry-After seconds when given (capped at
 * 30 s), else 200 ms doubling to 5 s; jitter in [0, 1) adds up to 25 %. */
long retry_delay_ms(int attempt, long retry_after_s, double jitter);
/* Parse a Retry-After header value (delta-seconds only); -1 when absent or not a number. */
long retry_parse_after(const char *value);
