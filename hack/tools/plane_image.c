/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane's pods from images (see plane.c): an image of the local registry pulled and
 * unpacked once per digest (skopeo, umoci), the configuration it runs with, and the
 * ServiceAccount token a kubelet projects into a pod (TokenRequest). */
#include "plane_image.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/resource.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/timeutil.h"

#define RUN_TIMEOUT_MS 120000 /* a pull or an unpack that hangs is killed, and fails */

/* run argv to its end (at most RUN_TIMEOUT_MS), its output appended to log; 0 when it exits 0 */
static int run(char *const argv[], const char *log)
{
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), status = -1;
        long long t0 = time_mono_ms();
        pid_t pid, r;

        if (fd < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fd);
        if (pid < 0)
                return -errno;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 || (r < 0 && errno == EINTR)) {
                if (r == 0 && time_mono_ms() - t0 > RUN_TIMEOUT_MS) {
                        fprintf(stderr, "ko-plane: %s did not end in %ds: killed\n", argv[0],
                                RUN_TIMEOUT_MS / 1000);
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
                usleep(50 * 1000);
        }
        return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* the blob `digest` ("sha256:...") of the OCI layout in dir, parsed */
static cJSON *blob(const char *dir, const char *digest)
{
        char path[4400], *text = NULL;
        size_t len;
        cJSON *j;

        if (!digest || strncmp(digest, "sha256:", 7) != 0 || strchr(digest + 7, '/'))
                return NULL;
        snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
        if (fileio_read(path, 4u << 20, &text, &len) < 0)
                return NULL;
        j = cJSON_ParseWithLength(text, len);
        free(text);
        return j;
}

/* the manifest digest and the configuration of the one image in the OCI layout dir */
static int read_layout(const char *dir, char *digest, size_t size, cJSON **config)
{
        char path[4400], *text = NULL;
        size_t len;
        cJSON *index, *manifest, *cfg;
        const char *d;

        snprintf(path, sizeof(path), "%s/index.json", dir);
        if (fileio_read(path, 1u << 20, &text, &len) < 0)
                return -ENOENT;
        index = cJSON_ParseWithLength(text, len);
        free(text);
        d = json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(index, "manifests"), 0),
                     "digest", NULL);
        snprintf(digest, size, "%s", d ? d : "");
        manifest = blob(dir, d);
        cJSON_Delete(index);
        cfg = blob(dir, json_str(manifest, "config", "digest"));
        cJSON_Delete(manifest);
        *config = cJSON_DetachItemFromObjectCaseSensitive(cfg, "config");
        cJSON_Delete(cfg);
        if (!*config)
                *config = cJSON_CreateObject();
        return digest[0] ? 0 : -EINVAL;
}

int image_pull(const char *state, const char *ref, struct image *img)
{
        char h[SHA256_HEX_LEN], dir[4200], oci[4300], src[1024], dst[4400], log[4300];
        char digest[128], tmp[4400];

        *img = (struct image){0};
        sha256_hex(ref, strlen(ref), h);
        snprintf(dir, sizeof(dir), "%s/images/%.16s", state, h);
        snprintf(oci, sizeof(oci), "%s/oci", dir);
        snprintf(log, sizeof(log), "%s/images/pull.log", state);
        snprintf(src, sizeof(src), "docker://%s", ref);
        snprintf(dst, sizeof(dst), "oci:%s:img", oci);
        if (fileio_mkdir_p(dir, 0700) < 0 ||
            run((char *const[]){"skopeo", "copy", "--quiet", "--src-tls-verify=false", src, dst,
                                NULL},
                log) < 0 ||
            read_layout(oci, digest, sizeof(digest), &img->config) < 0) {
                fprintf(stderr, "ko-plane: cannot pull %s (see %s)\n", ref, log);
                return -1;
        }
        snprintf(img->root, sizeof(img->root), "%s/rootfs-%.19s", dir, digest + 7);
        if (access(img->root, F_OK) == 0)
                return 0; /* unpacked before */
        snprintf(tmp, sizeof(tmp), "%s.tmp", img->root);
        fileio_rm_rf(tmp);
        snprintf(dst, sizeof(dst), "%s:img", oci);
        if (run((char *const[]){"umoci", "raw", "unpack", "--image", dst, tmp, NULL}, log) < 0 ||
            rename(tmp, img->root) < 0) {
                fprintf(stderr, "ko-plane: cannot unpack %s (see %s)\n", ref, log);
                image_free(img);
                return -1;
        }
        return 0;
}

void image_free(struct image *img)
{
        cJSON_Delete(img->config);
        *img = (struct image){0};
}

bool image_named(const char *ref, const char *name)
{
        const char *slash = ref ? strrchr(ref, '/') : NULL, *base = slash ? slash + 1 : ref;
        size_t len = base ? strcspn(base, ":@") : 0;

        return base && len == strlen(name) && strncmp(base, name, len) == 0;
}

void image_user(const struct image *img, long *uid, long *gid)
{
        const char *u = json_str(img->config, "User", NULL);
        char *end;

        *uid = 0;
        *gid = 0;
        if (!u || !*u)
                return;
        *uid = strtol(u, &end, 10);
        if (end == u)
                *uid = 65534; /* a user name: nobody, we do not read the image's passwd */
        *gid = *end == ':' ? strtol(end + 1, NULL, 10) : *uid;
}

/* A token of ServiceAccount ns/sa for ttl_s, bound to Secret `bound` when not NULL. */
static char *token_request(struct kube_client *c, const char *ns, const char *sa, long ttl_s,
                           const char *bound, long long *expires_in_s)
{
        char path[1024];
        cJSON *body = cJSON_CreateObject(), *spec, *got = NULL;
        char *token = NULL;

        spec = cJSON_AddObjectToObject(body, "spec");
        cJSON_AddNumberToObject(spec, "expirationSeconds", (double)ttl_s);
        if (bound) {
                cJSON *b = cJSON_AddObjectToObject(spec, "boundObjectRef");
                cJSON_AddStringToObject(b, "apiVersion", "v1");
                cJSON_AddStringToObject(b, "kind", "Secret");
                cJSON_AddStringToObject(b, "name", bound);
        }
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa);
        if (kube_post_raw(c, path, body, &got, NULL) == 0 && json_str(got, "status", "token")) {
                token = strdup(json_str(got, "status", "token"));
                *expires_in_s = ttl_s;
        }
        cJSON_Delete(body);
        cJSON_Delete(got);
        return token;
}

/* a Secret of ko-plane's to bind a token to (deleting it invalidates the token) */
static int bound_secret(struct kube_client *c, const char *ns, const char *name)
{
        char text[512];
        cJSON *o;
        int r;

        snprintf(text, sizeof(text),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"%s\","
                 "\"labels\":{\"ko-plane/token\":\"bound\"}}}",
                 name);
        o = cJSON_Parse(text);
        r = kube_create(c, &kube_secrets, ns, o, NULL, NULL, NULL);
        cJSON_Delete(o);
        return r == -EEXIST ? 0 : r;
}

int sa_token_tend(struct kube_client *c, struct sa_token *t, const char *ns, const char *sa,
                  const char *dir, long rotate_s, long long now_ms)
{
        long long expires_in = 0;
        char *token, bound[128], path[4400];
        const char *ca;
        cJSON *cm = NULL;
        long ttl = rotate_s > 0 ? 3600 : 3607; /* a kubelet's, for kube-api-access */

        if (t->refresh_at_ms && now_ms < t->refresh_at_ms)
                return 0;
        if (fileio_mkdir_p(dir, 0755) < 0 || chmod(dir, 0755) < 0)
                return -errno;
        /* ca.crt from kube-root-ca.crt (kube-controller-manager publishes it), the namespace */
        if (kube_get(c, &kube_configmaps, ns, "kube-root-ca.crt", &cm, NULL) < 0 ||
            !(ca = json_str(cm, "data", "ca.crt"))) {
                cJSON_Delete(cm);
                return -EAGAIN;
        }
        snprintf(path, sizeof(path), "%s/ca.crt", dir);
        fileio_write_atomic(path, ca, strlen(ca), 0644);
        cJSON_Delete(cm);
        snprintf(path, sizeof(path), "%s/namespace", dir);
        fileio_write_atomic(path, ns, strlen(ns), 0644);
        snprintf(bound, sizeof(bound), "ko-plane-token-%s-%d", sa, ++t->serial);
        if (rotate_s > 0 && bound_secret(c, ns, bound) < 0)
                return -EAGAIN;
        token = token_request(c, ns, sa, ttl, rotate_s > 0 ? bound : NULL, &expires_in);
        if (!token)
                return -EAGAIN;
        snprintf(path, sizeof(path), "%s/token", dir);
        fileio_write_atomic(path, token, strlen(token), 0644);
        free(token);
        /* rotating: the token before the last one stops working (its Secret goes), as an
         * expired one would; the last one stays valid for one more period */
        if (t->older[0])
                kube_delete(c, &kube_secrets, ns, t->older, NULL, NULL);
        snprintf(t->older, sizeof(t->older), "%s", t->last);
        snprintf(t->last, sizeof(t->last), "%s", rotate_s > 0 ? bound : "");
        /* a kubelet renews at 80% of the life */
        t->refresh_at_ms = now_ms + (rotate_s > 0 ? rotate_s * 1000 : expires_in * 800);
        return 1;
}
