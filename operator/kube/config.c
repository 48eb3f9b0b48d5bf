/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../util/base64.h"
#include "../util/fileio.h"
#include "../util/macro.h"
#include "../util/strbuf.h"
#include "../util/yaml.h"

#define MAX_KUBECONFIG_SIZE (4u << 20)
#define MAX_PEM_SIZE        (1u << 20)
#define SA_DIR              "/var/run/secrets/kubernetes.io/serviceaccount"

/* One parsed kubeconfig file. */
struct source {
        char *path; /* for messages */
        char *dir;  /* relative paths resolve against it; NULL: files not allowed */
        cJSON *doc;
};

struct loader {
        struct source *src;
        size_t n;
        char *err;
        size_t errlen;
};

static int seterr(char *err, size_t errlen, int r, const char *fmt, ...) _printf_(4, 5);
static int seterr(char *err, size_t errlen, int r, const char *fmt, ...)
{
        va_list ap;

        if (err && errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return r;
}

void kube_config_free(struct kube_config *c)
{
        if (!c)
                return;
        free(c->server);
        free(c->tls_server_name);
        free(c->ca);
        free(c->client_cert);
        free_secret(c->client_key, c->client_key_len);
        if (c->token)
                free_secret(c->token, strlen(c->token));
        free(c->token_file);
        free(c->namespace);
        free(c->context);
        free(c->source);
        free(c);
}

static void loader_done(struct loader *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->src[i].path);
                free(l->src[i].dir);
                cJSON_Delete(l->src[i].doc);
        }
        free(l->src);
}

static int loader_add(struct loader *l, const char *buf, size_t len, const char *path, bool files)
{
        struct source *s;
        cJSON *doc = NULL;
        size_t i = 0;
        int r;

        while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
                i++;
        if (i == len) {
                doc = cJSON_CreateObject(); /* kubectl treats an empty file as empty config */
                if (!doc)
                        return -ENOMEM;
        } else {
                r = yaml_parse_one(buf, len, path, NULL, &doc, l->err, l->errlen);
                if (r < 0)
                        return r;
        }
        if (!cJSON_IsObject(doc)) {
                cJSON_Delete(doc);
                return seterr(l->err, l->errlen, -EINVAL,
                              "%s: not a kubeconfig (top level is not a mapping)", path);
        }
        s = realloc(l->src, (l->n + 1) * sizeof(*s));
        if (!s) {
                cJSON_Delete(doc);
                return -ENOMEM;
        }
        l->src = s;
        s = &l->src[l->n];
        *s = (struct source){.doc = doc};
        s->path = strdup(path);
        s->dir = files ? path_dirname(path) : NULL;
        l->n++;
        if (!s->path || (files && !s->dir))
                return -ENOMEM;
        return 0;
}

static int loader_add_file(struct loader *l, const char *path, bool must_exist)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = fileio_read(path, MAX_KUBECONFIG_SIZE, &buf, &len);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r < 0)
                return seterr(l->err, l->errlen, r, "%s: cannot read kubeconfig: %s", path,
                              strerror(-r));
        return loader_add(l, buf, len, path, true);
}

/* A named entry of "clusters", "users" or "contexts"; the first file that defines it wins. */
static const cJSON *find_named(const struct loader *l, const char *list, const char *name,
                               const struct source **ret_src, int *ret_err)
{
        *ret_err = 0;
        for (size_t i = 0; i < l->n; i++) {
                const cJSON *arr = cJSON_GetObjectItemCaseSensitive(l->src[i].doc, list);
                int idx = 0;

                if (!arr || cJSON_IsNull(arr))
                        continue;
                if (!cJSON_IsArray(arr)) {
                        *ret_err = seterr(l->err, l->errlen, -EINVAL, "%s: %s: must be a list",
                                          l->src[i].path, list);
                        return NULL;
                }
                for (const cJSON *e = arr->child; e; e = e->next, idx++) {
                        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
                        if (!cJSON_IsObject(e) || !cJSON_IsString(n)) {
                                *ret_err = seterr(l->err, l->errlen, -EINVAL,
                                                  "%s: %s[%d].name: missing or not a string",
                                                  l->src[i].path, list, idx);
                                return NULL;
                        }
                        if (strcmp(n->valuestring, name) == 0) {
                                *ret_src = &l->src[i];
                                return e;
                        }
                }
        }
        return NULL;
}

/* Optional string field; -EINVAL when present with another type. */
static int get_str(const struct loader *l, const struct source *s, const char *what,
                   const cJSON *obj, const char *key, const char **ret)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

        *ret = NULL;
        if (!v || cJSON_IsNull(v))
                return 0;
        if (!cJSON_IsString(v))
                return seterr(l->err, l->errlen, -EINVAL, "%s: %s: %s: must be a string", s->path,
                              what, key);
        if (*v->valuestring)
                *ret = v->valuestring;
        return 0;
}

/* PEM material given inline as base64 (<key>-data) or as a file path (<key>). */
static int get_pem(const struct loader *l, const struct source *s, const char *what,
                   const cJSON *obj, const char *key, unsigned char **ret, size_t *ret_len)
{
        char datakey[64];
        const char *data, *file;
        int r;

        snprintf(datakey, sizeof(datakey), "%s-data", key);
        r = get_str(l, s, what, obj, datakey, &data);
        if (r < 0)
                return r;
        r = get_str(l, s, what, obj, key, &file);
        if (r < 0)
                return r;
        if (data && file)
                return seterr(l->err, l->errlen, -EINVAL, "%s: %s: both %s and %s are set; use one",
                              s->path, what, key, datakey);
        if (data) {
                r = base64_decode(data, strlen(data), ret, ret_len);
                if (r < 0)
                        return seterr(l->err, l->errlen, r, "%s: %s: %s: not valid base64", s->path,
                                      what, datakey);
                if (!memmem(*ret, *ret_len, "-----BEGIN ", 11))
                        return seterr(l->err, l->errlen, -EINVAL, "%s: %s: %s: not PEM data",
                                      s->path, what, datakey);
                return 0;
        }
        if (file) {
                _cleanup_free_ char *path = NULL;
                char *buf;
                size_t len;

                if (!s->dir)
                        return seterr(l->err, l->errlen, -EPERM,
                                      "%s: %s: %s: file references are not allowed here; use %s",
                                      s->path, what, key, datakey);
                path = path_join_relative(s->dir, file);
                if (!path)
                        return -ENOMEM;
                r = fileio_read(path, MAX_PEM_SIZE, &buf, &len);
                if (r < 0)
                        return seterr(l->err, l->errlen, r, "%s: %s: %s: cannot read %s: %s",
                                      s->path, what, key, path, strerror(-r));
                *ret = (unsigned char *)buf;
                *ret_len = len;
                if (!memmem(buf, len, "-----BEGIN ", 11))
                        return seterr(l->err, l->errlen, -EINVAL,
                                      "%s: %s: %s: %s is not a PEM file", s->path, what, key, path);
        }
        return 0;
}

static int fill_cluster(const struct loader *l, const char *name, struct kube_config *c)
{
        const struct source *s = NULL;
        const cJSON *e, *cl, *v;
        const char *server, *sni;
        char what[300];
        int r;

        e = find_named(l, "clusters", name, &s, &r);
        if (r < 0)
                return r;
        if (!e)
                return seterr(l->err, l->errlen, -ENOENT,
                              "%s: clusters: no cluster named \"%s\" (used by context \"%s\")",
                              c->source, name, c->context);
        snprintf(what, sizeof(what), "cluster \"%s\"", name);
        cl = cJSON_GetObjectItemCaseSensitive(e, "cluster");
        if (!cJSON_IsObject(cl))
                return seterr(l->err, l->errlen, -EINVAL,
                              "%s: %s: cluster: missing or not a mapping", s->path, what);
        r = get_str(l, s, what, cl, "server", &server);
        if (r < 0)
                return r;
        if (!server)
                return seterr(l->err, l->errlen, -EINVAL, "%s: %s: server: missing", s->path, what);
        if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
                return seterr(l->err, l->errlen, -EINVAL,
                              "%s: %s: server: \"%s\" is not an http(s) URL", s->path, what,
                              server);
        c->server = strdup(server);
        if (!c->server)
                return -ENOMEM;
        while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
                c->server[strlen(c->server) - 1] = '\0';
        r = get_str(l, s, what, cl, "tls-server-name", &sni);
        if (r < 0)
                return r;
        if (sni && !(c->tls_server_name = strdup(sni)))
                return -ENOMEM;
        v = cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify");
        if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v))
                return seterr(l->err, l->errlen, -EINVAL,
                              "%s: %s: insecure-skip-tls-verify: must be true or false", s->path,
                              what);
        c->insecure_skip_tls_verify = cJSON_IsTrue(v);
        return get_pem(l, s, what, cl, "certificate-authority", &c->ca, &c->ca_len);
}

static int fill_user(const struct loader *l, const char *name, struct kube_config *c)
{
        const struct source *s = NULL;
        const cJSON *e, *u;
        const char *token, *token_file;
        char what[300];
        int r;

        e = find_named(l, "users", name, &s, &r);
        if (r < 0)
                return r;
        if (!e)
                return seterr(l->err, l->errlen, -ENOENT,
                              "%s: users: no user named \"%s\" (used by context \"%s\")", c->source,
                              name, c->context);
        snprintf(what, sizeof(what), "user \"%s\"", name);
        u = cJSON_GetObjectItemCaseSensitive(e, "user");
        if (!u || cJSON_IsNull(u))
                return 0; /* anonymous */
        if (!cJSON_IsObject(u))
                return seterr(l->err, l->errlen, -EINVAL, "%s: %s: user: not a mapping", s->path,
                              what);
        if (cJSON_GetObjectItemCaseSensitive(u, "exec") ||
            cJSON_GetObjectItemCaseSensitive(u, "auth-provider"))
                return seterr(l->err, l->errlen, -EOPNOTSUPP,
                              "%s: %s: exec and auth-provider credential plugins are not "
                              "supported; use a client certificate or a token",
                              s->path, what);
        if (cJSON_GetObjectItemCaseSensitive(u, "username") ||
            cJSON_GetObjectItemCaseSensitive(u, "password"))
                return seterr(l->err, l->errlen, -EOPNOTSUPP,
                              "%s: %s: basic authentication is not supported", s->path, what);
        r = get_pem(l, s, what, u, "client-certificate", &c->client_cert, &c->client_cert_len);
        if (r < 0)
                return r;
        r = get_pem(l, s, what, u, "client-key", &c->client_key, &c->client_key_len);
        if (r < 0)
                return r;
        if (!c->client_cert != !c->client_key)
                return seterr(
                        l->err, l->errlen, -EINVAL,
                        "%s: %s: %s: missing (a client certificate needs its key and vice versa)",
                        s->path, what, c->client_cert ? "client-key" : "client-certificate");
        r = get_str(l, s, what, u, "token", &token);
        if (r < 0)
                return r;
        r = get_str(l, s, what, u, "tokenFile", &token_file);
        if (r < 0)
                return r;
        if (token && !(c->token = strdup(token)))
                return -ENOMEM;
        if (token_file && !token) { /* as kubectl: an inline token wins */
                if (!s->dir)
                        return seterr(l->err, l->errlen, -EPERM,
                                      "%s: %s: tokenFile: file references are not allowed here; "
                                      "use token",
                                      s->path, what);
                c->token_file = path_join_relative(s->dir, token_file);
                if (!c->token_file)
                        return -ENOMEM;
                if (access(c->token_file, R_OK) < 0)
                        return seterr(l->err, l->errlen, -errno,
                                      "%s: %s: tokenFile: cannot read %s: %s", s->path, what,
                                      c->token_file, strerror(errno));
        }
        return 0;
}

/* The context to use: the one asked for, else the first current-context of the files. */
static int pick_context(struct loader *l, const char *source, const char **context)
{
        int r;

        for (size_t i = 0; i < l->n && !*context; i++) {
                r = get_str(l, &l->src[i], "top level", l->src[i].doc, "current-context", context);
                if (r < 0)
                        return r;
        }
        if (!*context) {
                seterr(l->err, l->errlen, -ENOENT,
                       "%s: current-context: not set (and no --context given)", source);
                return -ENOENT;
        }
        return 0;
}

/* The context's cluster, user and namespace into c. */
static int fill_context(struct loader *l, const char *context, struct kube_config *c)
{
        const struct source *s = NULL;
        const char *cluster, *user, *ns;
        const cJSON *e, *ctx;
        int r;

        e = find_named(l, "contexts", context, &s, &r);
        if (r < 0)
                return r;
        if (!e)
                return seterr(l->err, l->errlen, -ENOENT, "%s: contexts: no context named \"%s\"",
                              c->source, context);
        ctx = cJSON_GetObjectItemCaseSensitive(e, "context");
        if (!cJSON_IsObject(ctx))
                return seterr(l->err, l->errlen, -EINVAL,
                              "%s: context \"%s\": context: missing or not a mapping", s->path,
                              context);
        if ((r = get_str(l, s, "context", ctx, "cluster", &cluster)) < 0 ||
            (r = get_str(l, s, "context", ctx, "user", &user)) < 0 ||
            (r = get_str(l, s, "context", ctx, "namespace", &ns)) < 0)
                return r;
        if (!cluster)
                return seterr(l->err, l->errlen, -EINVAL, "%s: context \"%s\": cluster: missing",
                              s->path, context);
        c->namespace = strdup(ns ? ns : "default");
        if (!c->namespace)
                return -ENOMEM;
        r = fill_cluster(l, cluster, c);
        if (r >= 0 && user)
                r = fill_user(l, user, c);
        return r < 0 ? r : 0;
}

static int resolve(struct loader *l, const char *context, struct kube_config **ret)
{
        struct kube_config *c;
        struct strbuf names = {0};
        int r;

        for (size_t i = 0; i < l->n; i++)
                if (strbuf_printf(&names, "%s%s", i ? ":" : "", l->src[i].path) < 0) {
                        strbuf_free(&names);
                        return -ENOMEM;
                }
        c = calloc(1, sizeof(*c));
        if (!c) {
                strbuf_free(&names);
                return -ENOMEM;
        }
        c->source = strbuf_steal(&names);
        r = c->source ? pick_context(l, c->source, &context) : -ENOMEM;
        if (r >= 0 && !(c->context = strdup(context)))
                r = -ENOMEM;
        if (r >= 0)
                r = fill_context(l, context, c);
        if (r < 0) {
                kube_config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int kube_config_from_memory(const char *buf, size_t len, const char *name, const char *context,
                            struct kube_config **ret, char *err, size_t errlen)
{
        struct loader l = {.err = err, .errlen = errlen};
        int r;

        r = loader_add(&l, buf, len, name, false);
        if (r >= 0)
                r = resolve(&l, context, ret);
        loader_done(&l);
        return r;
}

int kube_config_in_cluster(const char *dir, struct kube_config **ret, char *err, size_t errlen)
{
        const char *host = secure_getenv("KUBERNETES_SERVICE_HOST");
        const char *port = secure_getenv("KUBERNETES_SERVICE_PORT");
        _cleanup_free_ char *token_path = NULL, *ca_path = NULL, *ns_path = NULL, *ns = NULL;
        struct kube_config *c;
        size_t len;
        int r;

        if (isempty(host) || isempty(port))
                return seterr(err, errlen, -ENOENT,
                              "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                              "must be set");
        if (!dir)
                dir = SA_DIR;
        if (asprintf(&token_path, "%s/token", dir) < 0 ||
            asprintf(&ca_path, "%s/ca.crt", dir) < 0 || asprintf(&ns_path, "%s/namespace", dir) < 0)
                return -ENOMEM;
        if (access(token_path, R_OK) < 0)
                return seterr(err, errlen, -errno, "in-cluster: %s: %s", token_path,
                              strerror(errno));
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = fileio_read(ca_path, MAX_PEM_SIZE, (char **)&c->ca, &c->ca_len);
        if (r < 0) {
                seterr(err, errlen, r, "in-cluster: %s: %s", ca_path, strerror(-r));
                goto fail;
        }
        if (fileio_read(ns_path, 256, &ns, &len) >= 0)
                ns[strcspn(ns, " \t\r\n")] = '\0';
        r = -ENOMEM;
        if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
                     port) < 0) {
                c->server = NULL;
                goto fail;
        }
        c->token_file = TAKE_PTR(token_path);
        c->namespace = strdup(!isempty(ns) ? ns : "default");
        c->context = strdup("in-cluster");
        c->source = strdup(dir);
        if (!c->namespace || !c->context || !c->source)
                goto fail;
        *ret = c;
        return 0;
fail:
        kube_config_free(c);
        return r;
}

int kube_config_load(const struct kube_config_options *opts, struct kube_config **ret, char *err,
                     size_t errlen)
{
        struct loader l = {.err = err, .errlen = errlen};
        const char *env;
        int r = 0;

        if (opts && !isempty(opts->kubeconfig)) {
                r = loader_add_file(&l, opts->kubeconfig, true);
        } else if (!isempty(env = secure_getenv("KUBECONFIG"))) {
                _cleanup_free_ char *list = strdup(env);
                char *p, *next;

                if (!list)
                        return -ENOMEM;
                for (p = list; p && r >= 0; p = next) {
                        bool dup = false;

                        next = strchr(p, ':');
                        if (next)
                                *next++ = '\0';
                        for (size_t i = 0; i < l.n; i++)
                                dup = dup || strcmp(l.src[i].path, p) == 0;
                        if (*p && !dup)
                                r = loader_add_file(&l, p, false);
                }
                if (r >= 0 && l.n == 0)
                        r = seterr(err, errlen, -ENOENT,
                                   "KUBECONFIG=%s: none of these files exists", env);
        } else if (secure_getenv("KUBERNETES_SERVICE_HOST")) {
                return kube_config_in_cluster(NULL, ret, err, errlen);
        } else {
                const char *home = secure_getenv("HOME");
                _cleanup_free_ char *path = NULL;

                if (isempty(home))
                        return seterr(err, errlen, -ENOENT,
                                      "no kubeconfig: set --kubeconfig or KUBECONFIG");
                if (asprintf(&path, "%s/.kube/config", home) < 0)
                        return -ENOMEM;
                r = loader_add_file(&l, path, true);
        }
        if (r >= 0)
                r = resolve(&l, opts ? opts->context : NULL, ret);
        loader_done(&l);
        return r;
}
