/* SPDX-License-Identifier: Apache-2.0 */
/* This process's memory, for benchmarks. */
#pragma once

/* Resident set size, KiB (includes clean pages of shared libraries). */
long procmem_rss_kib(void);
/* Memory this process dirtied (heap, stacks, data), KiB: what it really costs. */
long procmem_private_dirty_kib(void);
