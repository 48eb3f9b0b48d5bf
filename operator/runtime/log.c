/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "util/strbuf.h"
#include "util/timeutil.h"

#define MAX_KV 32

static enum log_level max_level = LOG_LEVEL_INFO;
static enum log_format out_format = LOG_FORMAT_LOGFMT;

static bool stderr_is_journal(void)
{
        const char *e = secure_getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        char *end;

        if (!e)
                return false;
        errno = 0;
        dev = strtoull(e, &end, 10);
        if (errno || *end != ':')
                return false;
        ino = strtoull(end + 1, &end, 10);
        if (errno || *end || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(enum log_level level, enum log_format format)
{
        max_level = level;
        if (format == LOG_FORMAT_AUTO)
                format = stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_LOGFMT;
        out_format = format;
}

bool log_enabled(enum log_level level)
{
        return level <= max_level;
}

int log_parse_level(const char *s, enum log_level *ret)
{
        static const struct {
                const char *name;
                enum log_level level;
        } t[] = {{"error", LOG_LEVEL_ERROR},
                 {"warn", LOG_LEVEL_WARN},
                 {"warning", LOG_LEVEL_WARN},
                 {"info", LOG_LEVEL_INFO},
                 {"debug", LOG_LEVEL_DEBUG}};

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                if (strcmp(s, t[i].name) == 0) {
                        *ret = t[i].level;
                        return 0;
                }
        return -EINVAL;
}

int log_parse_format(const char *s, enum log_format *ret)
{
        if (strcmp(s, "auto") == 0)
                *ret = LOG_FORMAT_AUTO;
        else if (strcmp(s, "logfmt") == 0 || strcmp(s, "text") == 0)
                *ret = LOG_FORMAT_LOGFMT;
        else if (strcmp(s, "json") == 0)
                *ret = LOG_FORMAT_JSON;
        else if (strcmp(s, "journal") == 0)
                *ret = LOG_FORMAT_JOURNAL;
        else
                return -EINVAL;
        return 0;
}

static const char *level_name(enum log_level l)
{
        switch (l) {
        case LOG_LEVEL_ERROR:
                return "error";
        case LOG_LEVEL_WARN:
                return "warn";
        case LOG_LEVEL_INFO:
                return "info";
        default:
                return "debug";
        }
}

/* ---- redaction ---- */

static bool secret_key_name(const char *key)
{
        static const char *const words[] = {"token",    "password",   "secret",        "private",
                                            "key-data", "client-key", "authorization", NULL};
        char low[64];
        size_t i;

        for (i = 0; key[i] && i < sizeof(low) - 1; i++)
                low[i] = (char)tolower((unsigned char)key[i]);
        low[i] = '\0';
        for (const char *const *w = words; *w; w++)
                if (strstr(low, *w))
                        return true;
        return false;
}

/* A JSON Web Token: three base64url parts, the first starting "eyJ". */
static bool has_jwt(const char *v)
{
        for (const char *p = strstr(v, "eyJ"); p; p = strstr(p + 1, "eyJ")) {
                int dots = 0;
                size_t n = 0;
                for (const char *q = p; *q; q++, n++) {
                        if (*q == '.')
                                dots++;
                        else if (!(isalnum((unsigned char)*q) || *q == '-' || *q == '_'))
                                break;
                }
                if (dots >= 2 && n > 30)
                        return true;
        }
        return false;
}

const char *log_scrub(const char *key, const char *value)
{
        if (!value)
                return "";
        if (key && secret_key_name(key) && *value)
                return "[redacted]";
        if (strstr(value, "PRIVATE KEY") || strstr(value, "-----BEGIN EC") ||
            strstr(value, "-----BEGIN RSA"))
                return "[redacted: private key]";
        if (strstr(value, "Bearer ") || strstr(value, "bearer "))
                return "[redacted: bearer token]";
        if (has_jwt(value))
                return "[redacted: token]";
        return value;
}

/* ---- formatting ---- */

static void put_logfmt_value(struct strbuf *sb, const char *v)
{
        bool quote = !*v;

        for (const char *p = v; *p && !quote; p++)
                quote = *p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
                        (unsigned char)*p >= 0x7f;
        if (!quote) {
                strbuf_puts(sb, v);
                return;
        }
        strbuf_puts(sb, "\"");
        for (const char *p = v; *p; p++) {
                switch (*p) {
                case '"':
                        strbuf_puts(sb, "\\\"");
                        break;
                case '\\':
                        strbuf_puts(sb, "\\\\");
                        break;
                case '\n':
                        strbuf_puts(sb, "\\n");
                        break;
                case '\t':
                        strbuf_puts(sb, "\\t");
                        break;
                case '\r':
                        strbuf_puts(sb, "\\r");
                        break;
                default:
                        if ((unsigned char)*p < ' ')
                                strbuf_printf(sb, "\\x%02x", (unsigned char)*p);
                        else
                                strbuf_append(sb, p, 1);
                }
        }
        strbuf_puts(sb, "\"");
}

static void put_json_string(struct strbuf *sb, const char *v)
{
        strbuf_puts(sb, "\"");
        for (const char *p = v; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\')
                        strbuf_printf(sb, "\\%c", c);
                else if (c == '\n')
                        strbuf_puts(sb, "\\n");
                else if (c < 0x20)
                        strbuf_printf(sb, "\\u%04x", c);
                else
                        strbuf_append(sb, p, 1);
        }
        strbuf_puts(sb, "\"");
}

char *log_format_line(enum log_format format, enum log_level level, const char *msg,
                      const char *const *kv, int n_kv)
{
        struct strbuf sb = {0};
        char ts[TIME_RFC3339_MAX];

        time_now_rfc3339(ts, 3);
        if (format == LOG_FORMAT_JSON) {
                strbuf_printf(&sb, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
                              level_name(level));
                put_json_string(&sb, msg);
                for (int i = 0; i + 1 < n_kv; i += 2) {
                        strbuf_puts(&sb, ",");
                        put_json_string(&sb, kv[i]);
                        strbuf_puts(&sb, ":");
                        put_json_string(&sb, log_scrub(kv[i], kv[i + 1]));
                }
                strbuf_puts(&sb, "}\n");
        } else {
                strbuf_printf(&sb, "time=%s level=%s msg=", ts, level_name(level));
                put_logfmt_value(&sb, msg);
                for (int i = 0; i + 1 < n_kv; i += 2) {
                        strbuf_puts(&sb, " ");
                        strbuf_puts(&sb, kv[i]);
                        strbuf_puts(&sb, "=");
                        put_logfmt_value(&sb, log_scrub(kv[i], kv[i + 1]));
                }
                strbuf_puts(&sb, "\n");
        }
        return strbuf_steal(&sb);
}

static void journal_send(enum log_level level, const char *msg, const char *const *kv, int n_kv)
{
        struct iovec iov[MAX_KV / 2 + 4];
        char *fields[MAX_KV / 2 + 4];
        int n = 0;

        if (asprintf(&fields[n++], "MESSAGE=%s", msg) < 0 ||
            asprintf(&fields[n++], "PRIORITY=%d", (int)level) < 0 ||
            asprintf(&fields[n++], "SYSLOG_IDENTIFIER=karmada-operator") < 0)
                return;
        for (int i = 0; i + 1 < n_kv && n < (int)(sizeof(fields) / sizeof(fields[0])); i += 2) {
                char name[64];
                size_t j = 0;
                /* journal field names: upper case letters, digits, underscore */
                for (const char *p = kv[i]; *p && j < sizeof(name) - 1; p++)
                        name[j++] =
                                isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
                name[j] = '\0';
                if (!j || isdigit((unsigned char)name[0]) || name[0] == '_')
                        continue;
                if (asprintf(&fields[n], "%s=%s", name, log_scrub(kv[i], kv[i + 1])) < 0)
                        break;
                n++;
        }
        for (int i = 0; i < n; i++)
                iov[i] = (struct iovec){.iov_base = fields[i], .iov_len = strlen(fields[i])};
        sd_journal_sendv(iov, n);
        for (int i = 0; i < n; i++)
                free(fields[i]);
}

void log_kv(enum log_level level, const char *msg, ...)
{
        const char *kv[MAX_KV];
        int n = 0;
        va_list ap;
        char *line;

        if (level > max_level)
                return;
        va_start(ap, msg);
        for (const char *s; (s = va_arg(ap, const char *)) && n < MAX_KV;)
                kv[n++] = s;
        va_end(ap);
        if (out_format == LOG_FORMAT_JOURNAL) {
                journal_send(level, msg, kv, n);
                return;
        }
        line = log_format_line(out_format, level, msg, kv, n);
        if (line) {
                size_t len = strlen(line);
                /* one write per line, so lines from several threads do not interleave */
                while (len > 0) {
                        ssize_t w = write(STDERR_FILENO, line, len);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                break;
                        len -= (size_t)w;
                }
                free(line);
        }
}
