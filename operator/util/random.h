/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A uniformly distributed number in [0, 1) from OpenSSL's generator (for jitter). */
double random_unit(void);
