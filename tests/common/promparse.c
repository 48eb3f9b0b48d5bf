/* SPDX-License-Identifier: Apache-2.0 */
#include "promparse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family {
        char name[128];
        char type[16];
        bool help, closed;
};

static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
        va_list ap;
        int n = snprintf(err, errlen, "line %d: ", line);

        va_start(ap, fmt);
        if (n > 0 && (size_t)n < errlen)
                vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool valid_name(const char *s, bool label)
{
        if (!*s || isdigit((unsigned char)*s))
                return false;
        if (label && strncmp(s, "__", 2) == 0)
                return false;
        for (; *s; s++)
                if (!(isalnum((unsigned char)*s) || *s == '_' || (!label && *s == ':')))
                        return false;
        return true;
}

static bool parse_value(const char *s, double *ret)
{
        char *end;

        if (strcmp(s, "+Inf") == 0) {
                *ret = INFINITY;
                return true;
        }
        if (strcmp(s, "-Inf") == 0) {
                *ret = -INFINITY;
                return true;
        }
        if (strcmp(s, "NaN") == 0) {
                *ret = NAN;
                return true;
        }
        errno = 0;
        *ret = strtod(s, &end);
        return !errno && end != s && !*end && !isnan(*ret) && !isinf(*ret);
}

struct label {
        char name[64];
        char value[256];
};

static int cmp_label(const void *a, const void *b)
{
        return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* name{l="v",...} value [timestamp] */
static int parse_sample(const char *line, struct prom_sample *s, char *err, size_t errlen, int ln)
{
        struct label labels[16];
        int nl = 0;
        const char *p = line;
        size_t i = 0;
        char val[64], ts[32];

        memset(s, 0, sizeof(*s));
        while (*p && *p != '{' && *p != ' ' && i < sizeof(s->name) - 1)
                s->name[i++] = *p++;
        if (!valid_name(s->name, false))
                return fail(err, errlen, ln, "bad metric name '%s'", s->name);
        if (*p == '{') {
                p++;
                while (*p != '}') {
                        struct label *l = &labels[nl];
                        i = 0;
                        if (nl >= 16)
                                return fail(err, errlen, ln, "too many labels");
                        while (*p && *p != '=' && i < sizeof(l->name) - 1)
                                l->name[i++] = *p++;
                        l->name[i] = '\0';
                        if (!valid_name(l->name, true))
                                return fail(err, errlen, ln, "bad label name '%s'", l->name);
                        if (p[0] != '=' || p[1] != '"')
                                return fail(err, errlen, ln, "label %s: want =\"", l->name);
                        p += 2;
                        i = 0;
                        while (*p && *p != '"') {
                                char c = *p++;
                                if (c == '\\') {
                                        c = *p++;
                                        if (c == 'n')
                                                c = '\n';
                                        else if (c != '\\' && c != '"')
                                                return fail(err, errlen, ln,
                                                            "bad escape in label %s", l->name);
                                } else if (c == '\n') {
                                        return fail(err, errlen, ln,
                                                    "raw newline in a label value");
                                }
                                if (i >= sizeof(l->value) - 1)
                                        return fail(err, errlen, ln, "label value too long");
                                l->value[i++] = c;
                        }
                        l->value[i] = '\0';
                        if (*p != '"')
                                return fail(err, errlen, ln, "unterminated label value");
                        p++;
                        for (int j = 0; j < nl; j++)
                                if (strcmp(labels[j].name, l->name) == 0)
                                        return fail(err, errlen, ln, "duplicate label %s", l->name);
                        nl++;
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                return fail(err, errlen, ln, "want , or }");
                }
                p++;
        }
        if (*p != ' ')
                return fail(err, errlen, ln, "want a space before the value");
        p++;
        val[0] = ts[0] = '\0';
        if (sscanf(p, "%63s %31s", val, ts) < 1)
                return fail(err, errlen, ln, "no value");
        if (!parse_value(val, &s->value))
                return fail(err, errlen, ln, "bad value '%s'", val);
        if (ts[0]) {
                for (const char *t = ts[0] == '-' ? ts + 1 : ts; *t; t++)
                        if (!isdigit((unsigned char)*t))
                                return fail(err, errlen, ln, "bad timestamp '%s'", ts);
        }
        qsort(labels, (size_t)nl, sizeof(labels[0]), cmp_label);
        for (int j = 0; j < nl; j++) {
                char one[400];
                if (strcmp(labels[j].name, "le") == 0) {
                        if (snprintf(s->le, sizeof(s->le), "%s", labels[j].value) >=
                            (int)sizeof(s->le))
                                return fail(err, errlen, ln, "le too long");
                        continue;
                }
                int add = snprintf(one, sizeof(one), "%s%s=\"%s\"", s->labels[0] ? "," : "",
                                   labels[j].name, labels[j].value);
                size_t cur = strlen(s->labels);
                if (add < 0 || add >= (int)sizeof(one) || cur + (size_t)add >= sizeof(s->labels))
                        return fail(err, errlen, ln, "labels too long");
                memcpy(s->labels + cur, one, (size_t)add + 1);
        }
        return 0;
}

static struct family *find_family(struct family *f, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(f[i].name, name) == 0)
                        return &f[i];
        return NULL;
}

/* The family a sample belongs to: histogram samples carry suffixes. */
static struct family *family_of(struct family *f, size_t n, const char *sample, const char **suffix)
{
        static const char *const sfx[] = {"_bucket", "_sum", "_count", NULL};
        struct family *fam = find_family(f, n, sample);

        *suffix = "";
        if (fam)
                return fam;
        for (const char *const *x = sfx; *x; x++) {
                size_t ls = strlen(sample), lx = strlen(*x);
                char base[128];
                if (ls > lx && strcmp(sample + ls - lx, *x) == 0 && ls - lx < sizeof(base)) {
                        memcpy(base, sample, ls - lx);
                        base[ls - lx] = '\0';
                        fam = find_family(f, n, base);
                        if (fam && strcmp(fam->type, "histogram") == 0) {
                                *suffix = *x;
                                return fam;
                        }
                }
        }
        return NULL;
}

static int check_histograms(const struct prom_doc *d, char *err, size_t errlen)
{
        for (size_t i = 0; i < d->n; i++) {
                const struct prom_sample *c = &d->samples[i];
                size_t nl = strlen(c->name);
                char base[128];
                double prev_le = -INFINITY, prev = 0, inf = -1;

                if (nl < 6 || strcmp(c->name + nl - 6, "_count") != 0)
                        continue;
                snprintf(base, sizeof(base), "%.*s_bucket", (int)(nl - 6), c->name);
                for (size_t j = 0; j < d->n; j++) {
                        const struct prom_sample *b = &d->samples[j];
                        double le;
                        if (strcmp(b->name, base) != 0 || strcmp(b->labels, c->labels) != 0)
                                continue;
                        if (!parse_value(b->le, &le))
                                return fail(err, errlen, 0, "%s{%s}: bad le '%s'", base, b->labels,
                                            b->le);
                        if (le <= prev_le)
                                return fail(err, errlen, 0, "%s{%s}: le not increasing", base,
                                            b->labels);
                        if (b->value < prev)
                                return fail(err, errlen, 0, "%s{%s}: bucket counts decrease", base,
                                            b->labels);
                        prev_le = le;
                        prev = b->value;
                        if (isinf(le))
                                inf = b->value;
                }
                if (inf < 0)
                        return fail(err, errlen, 0, "%s{%s}: no +Inf bucket", base, c->labels);
                if (inf != c->value)
                        return fail(err, errlen, 0, "%s{%s}: +Inf bucket %g != count %g", base,
                                    c->labels, inf, c->value);
        }
        return 0;
}

int prom_parse(const char *text, struct prom_doc *ret, char *err, size_t errlen)
{
        struct family fams[256];
        size_t nf = 0, cap = 0;
        struct family *current = NULL;
        struct prom_doc d = {0};
        int ln = 0, r = 0;

        while (*text) {
                const char *nl = strchr(text, '\n');
                char line[2048];
                size_t len;

                ln++;
                if (!nl) {
                        r = fail(err, errlen, ln, "last line has no newline");
                        break;
                }
                len = (size_t)(nl - text);
                if (len >= sizeof(line)) {
                        r = fail(err, errlen, ln, "line too long");
                        break;
                }
                memcpy(line, text, len);
                line[len] = '\0';
                text = nl + 1;
                if (!len)
                        continue;
                if (line[0] == '#') {
                        char kw[8], name[128], rest[1024] = "";
                        struct family *f;
                        if (sscanf(line, "# %7s %127s %1023[^\n]", kw, name, rest) < 2 ||
                            (strcmp(kw, "HELP") != 0 && strcmp(kw, "TYPE") != 0))
                                continue; /* a plain comment */
                        if (!valid_name(name, false)) {
                                r = fail(err, errlen, ln, "bad metric name in %s", kw);
                                break;
                        }
                        f = find_family(fams, nf, name);
                        if (!f) {
                                if (nf >= sizeof(fams) / sizeof(fams[0])) {
                                        r = fail(err, errlen, ln, "too many families");
                                        break;
                                }
                                f = &fams[nf++];
                                memset(f, 0, sizeof(*f));
                                snprintf(f->name, sizeof(f->name), "%s", name);
                        } else if (f->closed) {
                                r = fail(err, errlen, ln, "%s: metadata after its samples ended",
                                         name);
                                break;
                        }
                        if (current && current != f)
                                current->closed = true;
                        current = f;
                        if (strcmp(kw, "HELP") == 0) {
                                if (f->help) {
                                        r = fail(err, errlen, ln, "%s: second HELP", name);
                                        break;
                                }
                                f->help = true;
                        } else {
                                if (f->type[0]) {
                                        r = fail(err, errlen, ln, "%s: second TYPE", name);
                                        break;
                                }
                                if (strcmp(rest, "counter") != 0 && strcmp(rest, "gauge") != 0 &&
                                    strcmp(rest, "histogram") != 0 &&
                                    strcmp(rest, "summary") != 0 && strcmp(rest, "untyped") != 0) {
                                        r = fail(err, errlen, ln, "%s: unknown type '%s'", name,
                                                 rest);
                                        break;
                                }
                                snprintf(f->type, sizeof(f->type), "%.15s", rest);
                        }
                        continue;
                }
                struct prom_sample s;
                const char *suffix;
                struct family *f;
                r = parse_sample(line, &s, err, errlen, ln);
                if (r < 0)
                        break;
                f = family_of(fams, nf, s.name, &suffix);
                if (!f || !f->type[0]) {
                        r = fail(err, errlen, ln, "%s: sample without a TYPE before it", s.name);
                        break;
                }
                if (f->closed || (current && current != f)) {
                        r = fail(err, errlen, ln, "%s: samples of a family are not together",
                                 s.name);
                        break;
                }
                current = f;
                if (s.le[0] && strcmp(suffix, "_bucket") != 0) {
                        r = fail(err, errlen, ln, "%s: le label outside a histogram bucket",
                                 s.name);
                        break;
                }
                if (!s.le[0] && strcmp(suffix, "_bucket") == 0) {
                        r = fail(err, errlen, ln, "%s: bucket without le", s.name);
                        break;
                }
                if (strcmp(f->type, "counter") == 0 && s.value < 0) {
                        r = fail(err, errlen, ln, "%s: negative counter", s.name);
                        break;
                }
                for (size_t i = 0; i < d.n; i++)
                        if (strcmp(d.samples[i].name, s.name) == 0 &&
                            strcmp(d.samples[i].labels, s.labels) == 0 &&
                            strcmp(d.samples[i].le, s.le) == 0) {
                                r = fail(err, errlen, ln, "%s{%s}: duplicate series", s.name,
                                         s.labels);
                                break;
                        }
                if (r < 0)
                        break;
                if (d.n == cap) {
                        struct prom_sample *ns =
                                realloc(d.samples, (cap = cap ? cap * 2 : 64) * sizeof(s));
                        if (!ns) {
                                r = -ENOMEM;
                                break;
                        }
                        d.samples = ns;
                }
                d.samples[d.n++] = s;
        }
        if (r == 0)
                r = check_histograms(&d, err, errlen);
        if (r < 0) {
                prom_doc_free(&d);
                return r;
        }
        *ret = d;
        return 0;
}

void prom_doc_free(struct prom_doc *d)
{
        free(d->samples);
        d->samples = NULL;
        d->n = 0;
}

bool prom_value(const struct prom_doc *d, const char *name, const char *labels, double *ret)
{
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->samples[i].name, name) == 0 &&
                    strcmp(d->samples[i].labels, labels) == 0 && !d->samples[i].le[0]) {
                        *ret = d->samples[i].value;
                        return true;
                }
        return false;
}

size_t prom_count(const struct prom_doc *d, const char *name)
{
        size_t n = 0;

        for (size_t i = 0; i < d->n; i++)
                n += strcmp(d->samples[i].name, name) == 0;
        return n;
}

double prom_sum(const struct prom_doc *d, const char *name, const char *contains)
{
        double s = 0;

        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->samples[i].name, name) == 0 && !d->samples[i].le[0] &&
                    (!contains || strstr(d->samples[i].labels, contains)))
                        s += d->samples[i].value;
        return s;
}
