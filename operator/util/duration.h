/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Parse a duration like Go's: "15s", "500ms", "1m30s", "2h", "0"; into milliseconds.
 * -EINVAL for anything else (negative, unknown unit, overflow). */
int duration_parse_ms(const char *s, long *ret_ms);
