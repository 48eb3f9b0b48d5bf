/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane's pods from images: pulling and unpacking, the image's configuration, and the
 * projected ServiceAccount token (plane_image.c). */
#pragma once

#include <stdbool.h>

#include <cjson/cJSON.h>

struct kube_client;

struct image {
        char root[4096]; /* the unpacked root filesystem (shared by its containers) */
        cJSON *config;   /* the OCI configuration's "config": Entrypoint, Cmd, Env, User, ... */
};

/* Pull ref (plain HTTP) into <state>/images/ and unpack it there, once per digest. 0, or -1
 * with the reason on stderr and in <state>/images/pull.log. */
int image_pull(const char *state, const char *ref, struct image *img);
void image_free(struct image *img);
/* Whether image reference ref names image name (its last path part, without tag or digest):
 * "docker.io/karmada/karmada-webhook:v1.18.2" names "karmada-webhook". */
bool image_named(const char *ref, const char *name);
/* The image's User as numbers ("uid[:gid]"; a name is taken as nobody); 0 when unset. */
void image_user(const struct image *img, long *uid, long *gid);

/* A pod's projected ServiceAccount token, kept as a kubelet keeps it. */
struct sa_token {
        long long refresh_at_ms;
        int serial;
        char last[128], older[128]; /* the Secrets the last two tokens are bound to */
};

/* Write token, ca.crt and namespace of ServiceAccount ns/sa into dir when due: renewed at 80%
 * of its life (3607 s, a kubelet's). With rotate_s > 0, a new token every rotate_s seconds,
 * each bound to a Secret of its own; the one before the last is invalidated then (its Secret
 * deleted), as if it expired. 1 written, 0 not due, <0 not now (retried next time). */
int sa_token_tend(struct kube_client *c, struct sa_token *t, const char *ns, const char *sa,
                  const char *dir, long rotate_s, long long now_ms);
