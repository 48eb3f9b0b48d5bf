/* SPDX-License-Identifier: Apache-2.0 */
/* Structured logs on stderr: logfmt or JSON lines, or native journald fields when stderr is
 * the journal (JOURNAL_STREAM). Values that look like private keys or tokens are redacted. */
#pragma once

#include <stdbool.h>

enum log_level {
        LOG_LEVEL_ERROR = 3, /* syslog priorities */
        LOG_LEVEL_WARN = 4,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

enum log_format {
        LOG_FORMAT_AUTO, /* journal when stderr is connected to it, else logfmt */
        LOG_FORMAT_LOGFMT,
        LOG_FORMAT_JSON,
        LOG_FORMAT_JOURNAL,
};

void log_setup(enum log_level level, enum log_format format);
int log_parse_level(const char *s, enum log_level *ret);
int log_parse_format(const char *s, enum log_format *ret);
bool log_enabled(enum log_level level);

/* msg, then key/value string pairs, NULL-terminated (the macros add the NULL). */
void log_kv(enum log_level level, const char *msg, ...) __attribute__((sentinel));
#define log_error(msg, ...) log_kv(LOG_LEVEL_ERROR, msg, ##__VA_ARGS__, (const char *)NULL)
#define log_warn(msg, ...)  log_kv(LOG_LEVEL_WARN, msg, ##__VA_ARGS__, (const char *)NULL)
#define log_info(msg, ...)  log_kv(LOG_LEVEL_INFO, msg, ##__VA_ARGS__, (const char *)NULL)
#define log_debug(msg, ...)                                                              \
        do {                                                                             \
                if (log_enabled(LOG_LEVEL_DEBUG))                                        \
                        log_kv(LOG_LEVEL_DEBUG, msg, ##__VA_ARGS__, (const char *)NULL); \
        } while (0)

/* For tests: format one line as it would be written (no journal), caller frees. */
char *log_format_line(enum log_format format, enum log_level level, const char *msg,
                      const char *const *kv, int n_kv);
/* The value as it will be logged: redacted when it holds a private key or a token. Returns
 * value itself or a static replacement. */
const char *log_scrub(const char *key, const char *value);
