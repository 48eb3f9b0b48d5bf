/* SPDX-License-Identifier: Apache-2.0 */
/* ko-plane: run on loopback, as real processes, what the operator asks the host cluster to run
 * for its Karmada instances. The host cluster of tests is kwok: pods there are simulated, so
 * nothing would ever serve the Karmada API. ko-plane plays the parts of a node for the
 * objects labelled app.kubernetes.io/managed-by=karmada-operator:
 *
 *   kubelet       the main container of each Deployment and StatefulSet whose image it has a
 *                 binary for (etcd, kube-apiserver, kube-controller-manager, karmada-*) runs
 *                 as a process with the rendered command line, after its init containers (run
 *                 to their end each time the pod starts anew, with their env - values,
 *                 fields (name, namespace, addresses, the template's annotations and labels),
 *                 Secret keys - as environment): Secret and ConfigMap volumes become
 *                 files in a private directory (0700) and their mount paths in the arguments
 *                 point there, emptyDir and claims become directories, $(VAR) is expanded from
 *                 the container's env (fieldRefs too), 0.0.0.0 becomes the pod's address. A
 *                 change of the template's command line, of its volumes or of the pod
 *                 template's annotations restarts it (a new pod), not a new value of a
 *                 Secret its env reads (read when it starts, as a kubelet does); a running
 *                 pod's Secret and ConfigMap files take their new content in place 5 s after
 *                 it changed, as a kubelet refreshes them (subPath mounts keep the old file);
 *                 a crash restarts it with backoff (1 s, doubled to 30 s; afresh after 20 s
 *                 of running). One pod per Deployment (<name>-0); every pod of a StatefulSet
 *                 (<name>-0 to -N-1, so a 3-member etcd runs 3 real members), each with its
 *                 own address, directory, claims and DNS name under its governing Service; a
 *                 Service forwards to its first pod. A Deployment that rolls with surge (the
 *                 default RollingUpdate below 4 replicas) and runs a generic API server
 *                 (kube-apiserver, karmada-aggregated-apiserver; run with
 *                 --permit-port-sharing) starts its new process beside the old one, at the
 *                 same address, and stops the old one once the new one logs that it serves:
 *                 no gap in service, as with a new pod behind a Service. Others stop, then
 *                 start.
 *   readiness     the test clusters' kwok makes a pod of an operator's workload Ready only
 *                 once ko-plane annotates it ko-plane.karmada.io/serving (hack/kwok-stages.yaml):
 *                 when its process runs the pod's template and serves (etcd, an API server or
 *                 the webhook once it logs so, as its readiness probe would pass; any other
 *                 once it runs, as a container without a probe), at once for a pod it does
 *                 not run. When the process exits (a crash, a kill), the annotation becomes
 *                 "false" and the pod not Ready, until the restarted process serves again.
 *   DNS           every pod and Service gets its own address in 127.0.0.0/8; a hosts file
 *                 maps <svc>.<ns>[.svc[.<domain>]] and the pods of StatefulSets
 *                 (<pod>.<svc>.<ns>.svc.<domain>) to them, and every process runs with that file
 *                 bind-mounted on /etc/hosts (unshare -m).
 *   kube-proxy    socat forwards each Service port to its pod, and each node port on 127.0.0.1
 *                 (the kwok node's address) too.
 *   port-forward  kwok serves pods/portforward as the nodes' kubelet; each pod ko-plane runs
 *                 gets a kwok PortForward (owned by the pod) to its address, for each port its
 *                 containers declare (a cluster without kwok's CRD: none).
 *   load balancer a LoadBalancer Service gets its own address as status.loadBalancer.ingress.
 *   runtime       with --registry, a container whose image is in that registry runs from the
 *                 image (plane_image.c: pulled and unpacked once; ko-container: its own mount
 *                 and UTS namespaces, read-only root when asked, its user, its volumes at
 *                 their paths - Secrets 0644, emptyDirs 0777 - and a projected ServiceAccount
 *                 token); any Deployment with such an image runs (the operator's own).
 *   storage       the default StorageClass "standard" is ko-plane's: a claim gets a hostPath
 *                 volume on the directory its pod's processes use (plane_volumes.c).
 *   own ports     a process that listens on a port at every address with no flag to bind it
 *                 (karmada-scheduler-estimator's --server-port) gets a host port of its own:
 *                 the argument is rewritten and its Services forward there.
 *
 * So a wrong flag, a missing SAN or a wrong CA in what the operator renders fails here as it
 * would in a real cluster.
 *
 *   ko-plane --kubeconfig FILE --state DIR --bin-dir DIR [--kube-version V] [--etcd-version V]
 *            [--only IMAGE,...]     (run only these images, e.g. etcd,kube-apiserver)
 *            [--operator-bin PATH]  (the binary of the operator's image: init containers of
 *                                    restores; their /usr/local/bin/etcdutl is
 *                                    <bin-dir>/etcdutl-<etcd-version>)
 *            [--karmada-version V]  (what Karmada images tagged "latest" run)
 *            [--registry HOST:PORT] (images there run from the image, see runtime)
 *            [--container-bin PATH] (ko-container; default: next to ko-plane)
 *            [--token-rotate S]     (a new ServiceAccount token every S seconds, the one
 *                                    before the last invalidated then: rotation tested fast)
 *            [--front-to NS]        (hack/bench-scale.sh: only NS's instance runs for real;
 *                                    the API servers of the others are TLS fronts to it and
 *                                    their other pods are simulated: plane_front.c)
 *
 * Binaries: <bin-dir>/etcd-<etcd-version>, <bin-dir>/kube-apiserver-<kube-version>,
 * <bin-dir>/kube-controller-manager-<kube-version>, <bin-dir>/<karmada image name>-<image tag>.
 * A bare ":PORT" or 0.0.0.0 in an argument becomes the pod's address (pods share loopback).
 * Logs: DIR/pods/<ns>_<pod>/log, DIR/forwards.log; the hosts file: DIR/hosts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "plane_front.h"
#include "plane_image.h"
#include "plane_volumes.h"

#include "karmada/manifests.h"
#include "karmada/names.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "util/base64.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define SELECTOR KO_LABEL_MANAGED_BY "=" KO_MANAGER
#define MAX_ARGS 256
#define MAX_PODS 4096 /* in one pass (bench-scale.sh: a hundred instances' and more) */

static const struct kube_resource karmadas = {"operator.karmada.io", "v1alpha1", "karmadas",
                                              "Karmada", true};
static const struct kube_resource port_forwards = {"kwok.x-k8s.io", "v1alpha1", "portforwards",
                                                   "PortForward", true};

/* What one ko-plane process runs: its options, client, addresses and processes. */
struct plane {
        const char *state, *bin_dir, *kube_version, *etcd_version, *only, *operator_bin;
        struct kube_client *client;
        struct hashmap *addrs; /* "pod:ns/name" or "svc:ns/name" -> "127.x.y.z" */
        unsigned next_addr;
        struct hashmap *procs;       /* key -> struct proc */
        struct strbuf hosts;         /* this pass's hosts file */
        cJSON *secrets;              /* this pass's list of the operator's Secrets */
        const char *registry;        /* HOST:PORT: images from there run as containers */
        const char *karmada_version; /* what a Karmada image tagged "latest" runs */
        const char *container_bin;
        char api_host[256]; /* the host cluster's API server, for KUBERNETES_SERVICE_* */
        int api_port;
        long token_rotate_s;
        struct hashmap *images;   /* ref -> struct image */
        struct hashmap *tokens;   /* pod key -> struct sa_token */
        struct hashmap *stale;    /* volume file -> (long long *) ms since its source changed */
        struct hashmap *pending;  /* "ns/pod" -> struct pending: to mark once its process serves */
        struct hashmap *forwards; /* "ns/pod" -> "uid address": its PortForward as applied */
        bool write_now;           /* the pod (re)starts: its volumes' files are written now */
        struct fronts *fronts;    /* --front-to: other instances' API servers are fronts */
};

static volatile sig_atomic_t stop; /* set by SIGTERM and SIGINT */

struct proc {
        char *argv[MAX_ARGS + 8];
        int argc;
        char sum[SHA256_HEX_LEN];
        char log[4096];
        pid_t pid;
        long long next_start_ms; /* after a crash */
        long long started_ms;    /* when it last started */
        long log_start;          /* the size of its log then: what it logged since follows */
        long long backoff_ms;
        bool wanted; /* in this pass */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        char ts[32];
        time_t t = time(NULL);
        va_list ap;

        strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
        fprintf(stderr, "%s [plane] ", ts);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* ---- addresses ---- */

static const char *addr_of(struct plane *pl, const char *kind, const char *ns, const char *name)
{
        char key[600], ip[32];
        const char *have;
        FILE *f;

        snprintf(key, sizeof(key), "%s:%s/%s", kind, ns, name);
        have = hashmap_get(pl->addrs, key);
        if (have)
                return have;
        pl->next_addr++;
        snprintf(ip, sizeof(ip), "127.%u.%u.%u", 1 + pl->next_addr / 65536,
                 (pl->next_addr / 256) % 256, pl->next_addr % 256);
        if (pl->next_addr % 256 == 0) /* skip .0 */
                return addr_of(pl, kind, ns, name);
        hashmap_put(pl->addrs, key, strdup(ip), NULL);
        {
                char path[4200];
                snprintf(path, sizeof(path), "%s/addresses", pl->state);
                f = fopen(path, "ae");
                if (f) {
                        fprintf(f, "%s %s\n", key, ip);
                        fclose(f);
                }
        }
        return hashmap_get(pl->addrs, key);
}

/* Where this plane's addresses start: a block of 65536 (127.<1..100>.x.y) chosen by its state
 * directory, so that planes of different clusters on one machine do not hand out the same
 * addresses (two processes cannot listen on one address and port). */
static unsigned address_block(const char *state)
{
        unsigned h = 2166136261u; /* FNV-1a */

        for (const char *c = state; *c; c++)
                h = (h ^ (unsigned char)*c) * 16777619u;
        return (h % 100) * 65536u;
}

static void load_addresses(struct plane *pl)
{
        char path[4200], key[600], ip[32];
        FILE *f;

        snprintf(path, sizeof(path), "%s/addresses", pl->state);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fscanf(f, "%599s %31s", key, ip) == 2) {
                struct in_addr in;
                hashmap_put(pl->addrs, key, strdup(ip), NULL);
                if (inet_pton(AF_INET, ip, &in) == 1) {
                        unsigned n = ntohl(in.s_addr) & 0xffffffu; /* 127.a.b.c */
                        if (n >= 65536 && n - 65536 > pl->next_addr)
                                pl->next_addr = n - 65536;
                }
        }
        fclose(f);
}

static void host_entry(struct plane *pl, const char *ip, const char *name)
{
        strbuf_printf(&pl->hosts, "%s %s\n", ip, name);
}

/* Rewrite the hosts file in place (it is bind-mounted: its inode must stay) when it changed:
 * one write over the old bytes, never truncated first (a lookup in between would find no
 * names), and never shorter: what is left of a longer old file becomes a comment. Any size (a
 * hundred instances' names pass 64 KiB). */
static void write_hosts(struct plane *pl)
{
        char path[4200], *buf = NULL, *want = NULL;
        size_t len = pl->hosts.len, size;
        ssize_t n = 0;
        struct stat sb;
        int fd;

        snprintf(path, sizeof(path), "%s/hosts", pl->state);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || fstat(fd, &sb) < 0)
                goto out;
        size = ((size_t)sb.st_size > len ? (size_t)sb.st_size : len) + 1;
        buf = malloc(size);
        want = malloc(size);
        if (!buf || !want)
                goto out;
        n = pread(fd, buf, size, 0);
        if (len)
                memcpy(want, pl->hosts.buf, len);
        if (n > 0 && (size_t)n > len) { /* "#   ...\n", or a lone "\n" */
                memset(want + len, ' ', (size_t)n - len);
                want[len] = (size_t)n - len > 1 ? '#' : '\n';
                want[n - 1] = '\n';
                len = (size_t)n;
        }
        if ((n < 0 || (size_t)n != len || memcmp(buf, want, len) != 0) &&
            pwrite(fd, want, len, 0) < 0)
                say("cannot write %s: %s", path, strerror(errno));
out:
        if (fd >= 0)
                close(fd);
        free(buf);
        free(want);
}

/* ---- processes ---- */

static struct proc *proc_want(struct plane *pl, const char *key)
{
        struct proc *p = hashmap_get(pl->procs, key);

        if (!p) {
                p = calloc(1, sizeof(*p));
                if (!p || hashmap_put(pl->procs, key, p, NULL) < 0) {
                        free(p);
                        return NULL;
                }
        }
        p->wanted = true;
        return p;
}

static void proc_stop(const char *key, struct proc *p)
{
        if (p->pid <= 0)
                return;
        kill(-p->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
                if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
                        p->pid = 0;
                        break;
                }
                usleep(100 * 1000);
        }
        if (p->pid > 0) {
                kill(-p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
                p->pid = 0;
        }
        say("stopped %s", key);
}

static void proc_start(const char *key, struct proc *p)
{
        pid_t pid;
        int fd;

        fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
                say("%s: %s: %s", key, p->log, strerror(errno));
                return;
        }
        p->log_start = lseek(fd, 0, SEEK_END);
        p->started_ms = time_mono_ms();
        pid = fork();
        if (pid == 0) {
                setsid();
                /* never outlive ko-plane, even when it is killed */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() == 1)
                        _exit(1);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                fd = open("/dev/null", O_RDONLY);
                dup2(fd, STDIN_FILENO);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                execvp(p->argv[0], p->argv);
                fprintf(stderr, "exec %s: %s\n", p->argv[0], strerror(errno));
                _exit(127);
        }
        close(fd);
        if (pid < 0) {
                say("%s: fork: %s", key, strerror(errno));
                return;
        }
        p->pid = pid;
        say("started %s (pid %d, log %s)", key, pid, p->log);
}

static void proc_free_argv(struct proc *p)
{
        for (int i = 0; i < p->argc; i++)
                free(p->argv[i]);
        p->argc = 0;
        p->argv[0] = NULL;
}

/* Run argv under key: started, or restarted when sum differs from what runs. Takes argv. */
static void proc_run(struct plane *pl, const char *key, char **argv, int argc, const char *sum,
                     const char *log)
{
        struct proc *p = proc_want(pl, key);

        if (!p)
                return;
        if (p->argc && strcmp(p->sum, sum) == 0) {
                for (int i = 0; i < argc; i++)
                        free(argv[i]);
                return;
        }
        if (p->pid > 0) {
                say("%s changed: restarting", key);
                proc_stop(key, p);
        }
        proc_free_argv(p);
        for (int i = 0; i < argc; i++)
                p->argv[i] = argv[i];
        p->argv[argc] = NULL;
        p->argc = argc;
        snprintf(p->sum, sizeof(p->sum), "%s", sum);
        snprintf(p->log, sizeof(p->log), "%s", log);
        p->backoff_ms = 0;
        p->next_start_ms = 0;
        proc_start(key, p);
}

static void procs_stop(struct plane *pl, bool all);

/* A process that ran this long before it exited restarts after 1 s again (a kubelet waits
 * 10 minutes; the tests' components crash on purpose after they served for less). */
#define BACKOFF_RESET_MS 20000

/* reap what exited, restart it with backoff; stop what is no longer wanted */
static void procs_tend(struct plane *pl)
{
        long long now = time_mono_ms();
        const struct hashmap_entry *e, *next;

        procs_stop(pl, false);
        for (e = hashmap_first(pl->procs); e; e = next) {
                struct proc *p = hashmap_entry_value(e);
                const char *key = hashmap_entry_key(e);
                int status;

                next = hashmap_next(pl->procs, e);
                if (!p->wanted) {
                        say("stopped %s", key);
                        proc_free_argv(p);
                        free(hashmap_remove(pl->procs, key));
                        continue;
                }
                if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid) {
                        p->pid = 0;
                        if (now - p->started_ms >= BACKOFF_RESET_MS)
                                p->backoff_ms = 0; /* it ran well: a new crash starts afresh */
                        p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : 1000;
                        if (p->backoff_ms > 30000)
                                p->backoff_ms = 30000;
                        p->next_start_ms = now + p->backoff_ms;
                        say("%s exited (%s %d); again in %llds (log %s)", key,
                            WIFEXITED(status) ? "status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                            p->backoff_ms / 1000, p->log);
                }
                if (p->pid == 0 && p->argc && now >= p->next_start_ms)
                        proc_start(key, p);
        }
}

/* Those that are no longer wanted (or all), all at once: SIGTERM, up to 8 s, then SIGKILL. */
static void procs_stop(struct plane *pl, bool all)
{
        const struct hashmap_entry *e;
        bool left = true;

        for (e = hashmap_first(pl->procs); e; e = hashmap_next(pl->procs, e)) {
                struct proc *p = hashmap_entry_value(e);
                if (p->pid > 0 && (all || !p->wanted))
                        kill(-p->pid, SIGTERM);
        }
        for (int i = 0; i < 80 && left; i++) {
                left = false;
                for (e = hashmap_first(pl->procs); e; e = hashmap_next(pl->procs, e)) {
                        struct proc *p = hashmap_entry_value(e);
                        if (!all && p->wanted)
                                continue;
                        if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid)
                                p->pid = 0;
                        left = left || p->pid > 0;
                }
                if (left)
                        usleep(100 * 1000);
        }
        for (e = hashmap_first(pl->procs); e; e = hashmap_next(pl->procs, e)) {
                struct proc *p = hashmap_entry_value(e);
                if (p->pid > 0 && (all || !p->wanted)) {
                        kill(-p->pid, SIGKILL);
                        waitpid(p->pid, NULL, 0);
                        p->pid = 0;
                        say("killed %s: it ignored SIGTERM for 8s", hashmap_entry_key(e));
                }
        }
}

/* ---- pods ---- */

/* The test clusters' kwok makes a pod of an operator's workload (labels name and instance)
 * Ready only once it carries this annotation (hack/kwok-stages.yaml); ko-plane sets it when
 * the pod's process serves, or at once for a pod it does not run. So a rollout that the
 * operator sees done is one whose processes run. */
#define SERVING_ANNOTATION "ko-plane.karmada.io/serving"
#define SERVING_SELECTOR   KO_LABEL_NAME "," KO_LABEL_INSTANCE

struct pod {
        char ns[64], name[320], ip[32];
        const cJSON *labels;      /* of the template; borrowed */
        const cJSON *annotations; /* of the template; borrowed (a change makes a new pod) */
        const cJSON *containers;  /* borrowed */
        const char *sts_service;  /* spec.serviceName of its StatefulSet, or NULL */
        const char *uid;          /* of its workload: a workload made anew is a new pod */
        bool surge;               /* a Deployment whose new pod is ready before the old stops */
        const char *workload;     /* its name */
        bool runs;                /* ko-plane runs it (has a binary or an image for it) */
        const struct proc *proc;  /* its process, running this template, or NULL */
};

/* Outside Linux's ephemeral range (32768-60999), where any outgoing connection may hold the
 * port (an estimator failed "bind: address already in use" on 40384), and above the ports
 * Karmada's and Kubernetes' components use (10250-10360) */
#define OWN_PORT_BASE 11000
#define OWN_PORTS     9000

/* A port a pod's process listens on at every address, with no flag to bind it to one: the
 * gRPC port of karmada-scheduler-estimator (--server-port). In a cluster each pod has its own
 * network; here all share loopback, so each such pod gets a host port of its own (from its
 * address), its argument is rewritten to it and its Services forward there. Returns the host
 * port for `port` of this pod, or `port` itself. */
static int own_port(const struct pod *pod, int port)
{
        const cJSON *c, *a;
        struct in_addr ip;

        cJSON_ArrayForEach (c, pod->containers) {
                const char *image = json_str(c, "image", NULL);
                if (!image || !strstr(image, "/karmada-scheduler-estimator:"))
                        continue;
                for (int part = 0; part < 2; part++)
                        cJSON_ArrayForEach (
                                a, cJSON_GetObjectItemCaseSensitive(c, part ? "args" : "command")) {
                                const char *v = cJSON_GetStringValue(a);
                                if (v && strncmp(v, "--server-port=", 14) == 0 &&
                                    strtol(v + 14, NULL, 10) == port &&
                                    inet_pton(AF_INET, pod->ip, &ip) == 1)
                                        return OWN_PORT_BASE +
                                               (int)((ntohl(ip.s_addr) & 0xffff) % OWN_PORTS);
                        }
        }
        return port;
}

/* the binary for an image, or NULL */
static char *binary_for(struct plane *pl, const char *image)
{
        const char *slash = strrchr(image, '/'), *base = slash ? slash + 1 : image;
        const char *colon = strchr(base, ':');
        char name[128], tag[128], path[4200];

        snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - base) : (int)strlen(base), base);
        snprintf(tag, sizeof(tag), "%s", colon ? colon + 1 : "latest");
        if (pl->only) {
                char list[1024];
                snprintf(list, sizeof(list), ",%s,", pl->only);
                snprintf(path, sizeof(path), ",%s,", name);
                if (!strstr(list, path))
                        return NULL;
        }
        if (strcmp(name, "karmada-operator") == 0) /* the restore init container */
                return pl->operator_bin && access(pl->operator_bin, X_OK) == 0
                               ? strdup(pl->operator_bin)
                               : NULL;
        if (strcmp(name, "etcd") == 0)
                snprintf(path, sizeof(path), "%s/etcd-%s", pl->bin_dir, pl->etcd_version);
        else if (strcmp(name, "kube-apiserver") == 0 ||
                 strcmp(name, "kube-controller-manager") == 0)
                snprintf(path, sizeof(path), "%s/%s-%s", pl->bin_dir, name, pl->kube_version);
        else /* "latest" (upstream's samples) is the release this machine has */
                snprintf(path, sizeof(path), "%s/%s-%s", pl->bin_dir, name,
                         strcmp(tag, "latest") == 0 && pl->karmada_version ? pl->karmada_version
                                                                           : tag);
        return access(path, X_OK) == 0 ? strdup(path) : NULL;
}

static const cJSON *find_secret(struct plane *pl, const char *ns, const char *name)
{
        const cJSON *s;

        cJSON_ArrayForEach (s, cJSON_GetObjectItemCaseSensitive(pl->secrets, "items")) {
                if (name && ns && strcmp(json_str(s, "metadata", "namespace") ?: "", ns) == 0 &&
                    strcmp(json_str(s, "metadata", "name") ?: "", name) == 0)
                        return s;
        }
        return NULL;
}

/* write path (0600) unless it holds exactly these bytes already */
/* How long a running pod's Secret and ConfigMap files lag behind their source, as a kubelet's
 * (which takes up to a minute or two; tests need not wait that long) */
#define VOLUME_REFRESH_DELAY_MS 5000

static int write_if_changed(const char *path, const unsigned char *bytes, size_t len)
{
        char have[SHA256_HEX_LEN] = "", want[SHA256_HEX_LEN];

        sha256_hex(bytes, len, want);
        if (sha256_file_hex(path, have) == 0 && strcmp(have, want) == 0)
                return 0;
        return fileio_write_atomic(path, bytes, len, 0600);
}

/* A volume's file: written at once when the pod starts (write_now) or the file is new; for a
 * running pod, once its source changed VOLUME_REFRESH_DELAY_MS ago (a kubelet's refresh: the
 * file replaced in place, no restart; a subPath mount keeps the old file, as a kubelet's) */
static int refresh_file(struct plane *pl, const char *path, const unsigned char *bytes, size_t len)
{
        char have[SHA256_HEX_LEN] = "", want[SHA256_HEX_LEN];
        long long now = time_mono_ms(), *since;

        sha256_hex(bytes, len, want);
        if (sha256_file_hex(path, have) == 0 && strcmp(have, want) == 0) {
                free(hashmap_remove(pl->stale, path));
                return 0;
        }
        since = hashmap_get(pl->stale, path);
        if (have[0] && !pl->write_now) {
                if (!since) {
                        since = malloc(sizeof(*since));
                        if (!since)
                                return 0;
                        *since = now;
                        if (hashmap_put(pl->stale, path, since, NULL) < 0)
                                free(since);
                        return 0;
                }
                if (now - *since < VOLUME_REFRESH_DELAY_MS)
                        return 0;
                say("%s: refreshed in place", path);
        }
        free(hashmap_remove(pl->stale, path));
        return write_if_changed(path, bytes, len);
}

struct mount {
        const char *path; /* in the container */
        char host[4200];
        bool ro;
};

/* Write a volume's files (Secret: base64 data; ConfigMap: data) into dir (write_if_changed);
 * their names go into sum, not their content (a change of content is refreshed in place:
 * refresh_file).
 * open: readable by any user (0755 and 0644, a kubelet's defaults), for pods run from images. */
static int write_volume(struct plane *pl, const cJSON *obj, bool secret, const cJSON *items,
                        const char *dir, bool open, struct strbuf *sum)
{
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data"), *e;
        int r = fileio_mkdir_p(dir, open ? 0755 : 0700);

        if (r < 0)
                return r;
        cJSON_ArrayForEach (e, data) {
                const char *rel = e->string;
                const cJSON *it;
                unsigned char *bytes = NULL;
                size_t len = 0;
                char path[4400];

                if (cJSON_IsArray(items) && cJSON_GetArraySize(items) > 0) {
                        rel = NULL;
                        cJSON_ArrayForEach (it, items)
                                if (json_str(it, "key", NULL) &&
                                    strcmp(json_str(it, "key", NULL), e->string) == 0)
                                        rel = json_str(it, "path", NULL);
                        if (!rel)
                                continue;
                }
                if (!cJSON_IsString(e) || strstr(rel, "..") || rel[0] == '/')
                        continue;
                if (secret) {
                        if (base64_decode(e->valuestring, strlen(e->valuestring), &bytes, &len) < 0)
                                continue;
                } else {
                        bytes = (unsigned char *)strdup(e->valuestring);
                        len = strlen(e->valuestring);
                }
                snprintf(path, sizeof(path), "%s/%s", dir, rel);
                if (strchr(rel, '/')) {
                        char d[4400];
                        snprintf(d, sizeof(d), "%s", path);
                        *strrchr(d, '/') = '\0';
                        fileio_mkdir_p(d, open ? 0755 : 0700);
                }
                if (refresh_file(pl, path, bytes, len) < 0 || (open && chmod(path, 0644) < 0))
                        r = -EIO;
                strbuf_printf(sum, "%s;", path);
                free(bytes);
        }
        return r;
}

/* replace every whole occurrence of from: not inside a longer name or number, and followed by
 * one of the characters in `then` or the end */
static char *replace_word(const char *s, const char *from, const char *to, const char *then)
{
        struct strbuf out = {0};
        size_t n = strlen(from);

        for (const char *p = s; *p;) {
                bool starts = p == s || !(p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9') ||
                                          (p[-1] >= 'a' && p[-1] <= 'z'));
                if (starts && strncmp(p, from, n) == 0 && (p[n] == '\0' || strchr(then, p[n]))) {
                        strbuf_printf(&out, "%s", to);
                        p += n;
                } else {
                        strbuf_append(&out, p, 1);
                        p++;
                }
        }
        return out.buf ? strbuf_steal(&out) : strdup("");
}

static char *expand(const char *s, const cJSON *env)
{
        struct strbuf out = {0};

        for (const char *p = s; *p;) {
                if (p[0] == '$' && p[1] == '$') {
                        strbuf_append(&out, "$", 1);
                        p += 2;
                } else if (p[0] == '$' && p[1] == '(' && strchr(p, ')')) {
                        const char *end = strchr(p, ')');
                        char name[256];
                        const cJSON *v;
                        snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
                        v = cJSON_GetObjectItemCaseSensitive(env, name);
                        if (cJSON_IsString(v))
                                strbuf_printf(&out, "%s", v->valuestring);
                        else
                                strbuf_append(&out, p, (size_t)(end - p + 1));
                        p = end + 1;
                } else {
                        strbuf_append(&out, p, 1);
                        p++;
                }
        }
        return out.buf ? strbuf_steal(&out) : strdup("");
}

static int cmp_mount_len(const void *a, const void *b)
{
        const struct mount *x = a, *y = b;

        return (int)strlen(y->path) - (int)strlen(x->path);
}

/* A Secret's data[key], decoded (NUL-terminated), or NULL */
static char *secret_key(struct plane *pl, const char *ns, const char *name, const char *key)
{
        const cJSON *s = find_secret(pl, ns, name);
        cJSON *got = NULL;
        char *out;

        if (!s && name && kube_get(pl->client, &kube_secrets, ns, name, &got, NULL) == 0)
                s = got;
        out = key ? manifest_secret_value(s, key, NULL) : NULL;
        cJSON_Delete(got);
        return out;
}

/* A field reference of the downward API: the pod's name, namespace and addresses, and
 * metadata.annotations['key'] and metadata.labels['key'] of its template ("" when missing) */
static const char *field_value(const struct pod *pod, const char *field)
{
        static const char *const maps[] = {"metadata.annotations['", "metadata.labels['"};
        char key[256];

        if (!pod)
                return "";
        if (strcmp(field, "metadata.name") == 0)
                return pod->name;
        if (strcmp(field, "metadata.namespace") == 0)
                return pod->ns;
        if (strcmp(field, "status.podIP") == 0)
                return pod->ip;
        if (strcmp(field, "status.hostIP") == 0)
                return "127.0.0.1";
        for (int i = 0; i < 2; i++) {
                size_t n = strlen(maps[i]), len = strlen(field);
                if (strncmp(field, maps[i], n) != 0 || len < n + 2 ||
                    strcmp(field + len - 2, "']") != 0 || len - n - 2 >= sizeof(key))
                        continue;
                snprintf(key, sizeof(key), "%.*s", (int)(len - n - 2), field + n);
                return json_str(i ? pod->labels : pod->annotations, key, NULL) ?: "";
        }
        return "";
}

/* A container's env (values, field references, Secret keys) into env; -1 when a Secret it
 * needs is not there (yet). */
static int container_env(struct plane *pl, const struct pod *pod, const cJSON *c, cJSON *env)
{
        const cJSON *e;

        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(c, "env")) {
                const char *name = json_str(e, "name", NULL), *v = json_str(e, "value", NULL);
                const char *field =
                        json_str(json_at(e, "valueFrom", "fieldRef"), "fieldPath", NULL);
                const cJSON *skr = json_at(e, "valueFrom", "secretKeyRef");
                char *secret = NULL;
                if (!name)
                        continue;
                if (!v && field)
                        v = field_value(pod, field);
                if (!v && skr) {
                        secret = secret_key(pl, pod->ns, json_str(skr, "name", NULL),
                                            json_str(skr, "key", NULL));
                        if (!secret &&
                            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(skr, "optional")))
                                return -1;
                        if (!secret)
                                continue;
                        v = secret;
                }
                cJSON_DeleteItemFromObjectCaseSensitive(env, name);
                cJSON_AddStringToObject(env, name, v ? v : "");
                free(secret);
        }
        return 0;
}

/* The host directory of volume vol (named vname) of a pod, its files written (Secrets,
 * ConfigMaps) into vdir; -1 when what it needs is not there (yet). */
static int volume_dir(struct plane *pl, const struct pod *pod, const cJSON *vol, const char *vname,
                      const cJSON *claim_templates, const char *sts, bool open, char *vdir,
                      size_t size, struct strbuf *sum)
{
        if (vol && cJSON_GetObjectItemCaseSensitive(vol, "secret")) {
                const char *sname = json_str(vol, "secret", "secretName");
                const cJSON *s = find_secret(pl, pod->ns, sname);
                cJSON *got = NULL;
                if (!s && sname &&
                    kube_get(pl->client, &kube_secrets, pod->ns, sname, &got, NULL) == 0)
                        s = got; /* one the operator did not make (a custom CA) */
                if (!s) {
                        say("%s/%s: Secret %s not there (yet)", pod->ns, pod->name,
                            sname ? sname : "?");
                        return -1;
                }
                write_volume(pl, s, true, json_at(vol, "secret", "items"), vdir, open, sum);
                cJSON_Delete(got);
        } else if (vol && cJSON_GetObjectItemCaseSensitive(vol, "configMap")) {
                cJSON *m = NULL;
                const char *mname = json_str(vol, "configMap", "name");
                if (!mname || kube_get(pl->client, &kube_configmaps, pod->ns, mname, &m, NULL) < 0)
                        return -1;
                write_volume(pl, m, false, json_at(vol, "configMap", "items"), vdir, open, sum);
                cJSON_Delete(m);
        } else {
                /* emptyDir, hostPath, a claim (a StatefulSet's template or not) */
                const char *claim = json_str(vol, "persistentVolumeClaim", "claimName");
                if (claim || (!vol && claim_templates && sts)) {
                        char cname[600]; /* a template's claim: <template>-<pod> */
                        snprintf(cname, sizeof(cname), "%s%s%s", claim ? claim : vname,
                                 claim ? "" : "-", claim ? "" : pod->name);
                        volumes_claim_dir(pl->state, pod->ns, cname, vdir, size);
                }
                fileio_mkdir_p(vdir, open ? 0777 : 0700);
                if (open)
                        chmod(vdir, 0777); /* as an emptyDir: any user of the pod writes */
        }
        return 0;
}

/* A container's volume mounts (longest path first) into mounts; -1 as volume_dir. */
static int container_mounts(struct plane *pl, const struct pod *pod, const cJSON *pspec,
                            const cJSON *c, const cJSON *claim_templates, const char *sts,
                            const char *dir, bool open, struct mount *mounts, int max, int *ret_n,
                            struct strbuf *sum)
{
        const cJSON *e, *vol;
        int n = 0;

        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(c, "volumeMounts")) {
                const char *vname = json_str(e, "name", NULL),
                           *mpath = json_str(e, "mountPath", NULL);
                const char *sub = json_str(e, "subPath", NULL);
                char vdir[4300];
                if (!vname || !mpath || n >= max)
                        continue;
                snprintf(vdir, sizeof(vdir), "%s/volumes/%s", dir, vname);
                vol = NULL;
                cJSON_ArrayForEach (vol, cJSON_GetObjectItemCaseSensitive(pspec, "volumes"))
                        if (json_str(vol, "name", NULL) &&
                            strcmp(json_str(vol, "name", NULL), vname) == 0)
                                break;
                if (volume_dir(pl, pod, vol, vname, claim_templates, sts, open, vdir, sizeof(vdir),
                               sum) < 0)
                        return -1;
                mounts[n].path = mpath;
                mounts[n].ro = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "readOnly"));
                snprintf(mounts[n].host, sizeof(mounts[n].host), "%s%s%s", vdir, sub ? "/" : "",
                         sub ? sub : "");
                n++;
        }
        qsort(mounts, (size_t)n, sizeof(mounts[0]), cmp_mount_len);
        *ret_n = n;
        return 0;
}

/* One argument of a container, rewritten for the shared loopback: $(VAR) from env, 0.0.0.0
 * and a bare ":PORT" after "=" as the pod's address, the estimator's own port. */
static char *rewrite_arg(const struct pod *pod, const char *arg, const cJSON *env)
{
        char *a = expand(arg, env), *b;
        const char *eq;

        b = replace_word(a, "0.0.0.0", pod->ip, ":/,");
        free(a);
        a = b;
        eq = a ? strchr(a, '=') : NULL;
        if (eq && strncmp(a, "--", 2) == 0 && eq[1] == ':' && eq[2] >= '0' &&
            eq[2] <= '9') { /* --flag=:8080: every address of the pod */
                struct strbuf o = {0};
                strbuf_printf(&o, "%.*s%s%s", (int)(eq - a + 1), a, pod->ip, eq + 1);
                free(a);
                a = strbuf_steal(&o);
        }
        if (a && strncmp(a, "--server-port=", 14) == 0) {
                int port = (int)strtol(a + 14, NULL, 10);
                if (own_port(pod, port) != port) {
                        char moved[32];
                        snprintf(moved, sizeof(moved), "--server-port=%d", own_port(pod, port));
                        free(a);
                        a = strdup(moved);
                }
        }
        return a;
}

/* The command line of a container whose image this machine has a binary for: the binary,
 * then command[1:] and args, rewritten (volumes as directories of the pod's, the pod's
 * address), run with the plane's hosts file on /etc/hosts. */
static void host_cmd(struct plane *pl, const struct pod *pod, const cJSON *c, char *bin,
                     const struct mount *mounts, int n_mounts, const cJSON *env, char **argv,
                     int *ret_argc, struct strbuf *sum)
{
        const cJSON *e;
        char hosts[4300], etcdutl[4300];
        int argc = 0;

        snprintf(hosts, sizeof(hosts), "%s/hosts", pl->state);
        snprintf(etcdutl, sizeof(etcdutl), "%s/etcdutl-%s", pl->bin_dir, pl->etcd_version);
        for (const char *const *w =
                     (const char *const[]){
                             "unshare", geteuid() == 0 ? "-m" : "-rm", "--", "/bin/sh", "-c",
                             "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts, NULL};
             *w; w++)
                argv[argc++] = strdup(*w);
        argv[argc++] = bin;
        for (int part = 0; part < 2; part++) {
                int i = 0;
                cJSON_ArrayForEach (
                        e, cJSON_GetObjectItemCaseSensitive(c, part ? "args" : "command")) {
                        char *a, *b;
                        if (part == 0 && i++ == 0)
                                continue; /* the binary inside the image */
                        if (!cJSON_IsString(e) || argc >= MAX_ARGS)
                                continue;
                        a = rewrite_arg(pod, e->valuestring, env);
                        for (int m = 0; a && m < n_mounts; m++) {
                                b = replace_word(a, mounts[m].path, mounts[m].host, "/,");
                                free(a);
                                a = b;
                        }
                        if (!a)
                                continue;
                        /* a binary inside the operator's image */
                        b = replace_word(a, "/usr/local/bin/etcdutl", etcdutl, "");
                        free(a);
                        argv[argc++] = b;
                        /* the template's word: what env gives it is read at start only, as a
                         * kubelet does (a Secret's new value restarts nothing) */
                        strbuf_printf(sum, "%s\n", e->valuestring);
                }
        }
        argv[argc] = NULL;
        strbuf_printf(sum, "%s", bin);
        *ret_argc = argc;
}

/* the user and group a container runs as: its securityContext, the pod's, the image's */
static void container_user(const cJSON *pspec, const cJSON *c, const struct image *img, long *uid,
                           long *gid)
{
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c, "securityContext");
        const cJSON *psc = cJSON_GetObjectItemCaseSensitive(pspec, "securityContext"), *v;

        image_user(img, uid, gid);
        if ((v = cJSON_GetObjectItemCaseSensitive(psc, "runAsUser")) && cJSON_IsNumber(v))
                *uid = (long)v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(sc, "runAsUser")) && cJSON_IsNumber(v))
                *uid = (long)v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(psc, "runAsGroup")) && cJSON_IsNumber(v))
                *gid = (long)v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(sc, "runAsGroup")) && cJSON_IsNumber(v))
                *gid = (long)v->valuedouble;
}

/* what runs: command (else the image's Entrypoint), then args (else, without a command, the
 * image's Cmd), rewritten for the shared loopback */
static cJSON *image_argv(const struct pod *pod, const cJSON *c, const struct image *img,
                         const cJSON *env)
{
        const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(c, "command");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "args"), *e;
        cJSON *out = cJSON_CreateArray();

        if (!cmd)
                cmd = cJSON_GetObjectItemCaseSensitive(img->config, "Entrypoint");
        if (!args && !cJSON_GetObjectItemCaseSensitive(c, "command"))
                args = cJSON_GetObjectItemCaseSensitive(img->config, "Cmd");
        for (int part = 0; part < 2; part++) {
                const cJSON *list = part ? args : cmd;
                cJSON_ArrayForEach (e, list)
                        if (cJSON_IsString(e)) {
                                char *a = rewrite_arg(pod, e->valuestring, env);
                                cJSON_AddItemToArray(out, cJSON_CreateString(a ? a : ""));
                                free(a);
                        }
        }
        return out;
}

/* The environment of a container from an image: the image's, then the container's, then
 * what a kubelet adds (HOSTNAME, the API server's service address). */
static cJSON *image_env(struct plane *pl, const struct pod *pod, const struct image *img,
                        const cJSON *env)
{
        cJSON *out = cJSON_CreateArray(), *all = cJSON_CreateObject();
        const cJSON *e;
        char port[16];

        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(img->config, "Env")) {
                const char *eq = cJSON_IsString(e) ? strchr(e->valuestring, '=') : NULL;
                char name[256];
                if (!eq)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(eq - e->valuestring), e->valuestring);
                cJSON_DeleteItemFromObjectCaseSensitive(all, name);
                cJSON_AddStringToObject(all, name, eq + 1);
        }
        snprintf(port, sizeof(port), "%d", pl->api_port);
        cJSON_AddStringToObject(all, "HOSTNAME", pod->name);
        cJSON_AddStringToObject(all, "KUBERNETES_SERVICE_HOST", pl->api_host);
        cJSON_AddStringToObject(all, "KUBERNETES_SERVICE_PORT", port);
        cJSON_ArrayForEach (e, env) {
                cJSON_DeleteItemFromObjectCaseSensitive(all, e->string);
                cJSON_AddStringToObject(all, e->string, e->valuestring);
        }
        cJSON_ArrayForEach (e, all) {
                struct strbuf kv = {0};
                strbuf_printf(&kv, "%s=%s", e->string, e->valuestring);
                cJSON_AddItemToArray(out, cJSON_CreateString(kv.buf));
                strbuf_free(&kv);
        }
        cJSON_Delete(all);
        return out;
}

/* The command line of a container run from its image (ko-container with a spec written next
 * to the pod's volumes): its user, its root read-only when its securityContext says so, its
 * volumes and the ServiceAccount token (sa: its directory, or NULL) at their paths. */
static int image_cmd(struct plane *pl, const struct pod *pod, const cJSON *pspec, const cJSON *c,
                     const struct image *img, const struct mount *mounts, int n_mounts,
                     const cJSON *env, const char *dir, const char *sa, char **argv, int *ret_argc,
                     struct strbuf *sum)
{
        const char *name = json_str(c, "name", NULL) ? json_str(c, "name", NULL) : "c";
        cJSON *spec = cJSON_CreateObject(), *ms;
        char path[4400], hosts[4300];
        char *text;
        long uid, gid;
        int r;

        snprintf(path, sizeof(path), "%s/root-%s", dir, name);
        snprintf(hosts, sizeof(hosts), "%s/hosts", pl->state);
        container_user(pspec, c, img, &uid, &gid);
        cJSON_AddStringToObject(spec, "root", img->root);
        cJSON_AddStringToObject(spec, "mountpoint", path);
        cJSON_AddStringToObject(spec, "hosts", hosts);
        cJSON_AddStringToObject(spec, "hostname", pod->name);
        cJSON_AddStringToObject(spec, "workdir",
                                json_str(c, "workingDir", NULL) ? json_str(c, "workingDir", NULL)
                                : json_str(img->config, "WorkingDir", NULL) &&
                                                *json_str(img->config, "WorkingDir", NULL)
                                        ? json_str(img->config, "WorkingDir", NULL)
                                        : "/");
        cJSON_AddNumberToObject(spec, "uid", (double)uid);
        cJSON_AddNumberToObject(spec, "gid", (double)gid);
        cJSON_AddBoolToObject(
                spec, "readOnlyRoot",
                cJSON_IsTrue(json_at(c, "securityContext", "readOnlyRootFilesystem")));
        cJSON_AddItemToObject(spec, "argv", image_argv(pod, c, img, env));
        cJSON_AddItemToObject(spec, "env", image_env(pl, pod, img, env));
        ms = cJSON_AddArrayToObject(spec, "mounts");
        for (int i = n_mounts - 1; i >= 0; i--) { /* parents first */
                cJSON *m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "source", mounts[i].host);
                cJSON_AddStringToObject(m, "target", mounts[i].path);
                cJSON_AddBoolToObject(m, "readOnly", mounts[i].ro);
                cJSON_AddItemToArray(ms, m);
        }
        if (sa) {
                cJSON *m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "source", sa);
                cJSON_AddStringToObject(m, "target",
                                        "/var/run/secrets/kubernetes.io/serviceaccount");
                cJSON_AddBoolToObject(m, "readOnly", true);
                cJSON_AddItemToArray(ms, m);
        }
        text = cJSON_Print(spec);
        cJSON_Delete(spec);
        if (!text)
                return -1;
        snprintf(path, sizeof(path), "%s/container-%s.json", dir, name);
        r = write_if_changed(path, (const unsigned char *)text, strlen(text));
        strbuf_printf(sum, "%s", text);
        free(text);
        if (r < 0)
                return -1;
        argv[0] = strdup(pl->container_bin);
        argv[1] = strdup(path);
        argv[2] = NULL;
        *ret_argc = 2;
        return 0;
}

/* Whether image ref lives in the local registry (--registry). */
static bool in_registry(const struct plane *pl, const char *ref)
{
        size_t n = pl->registry ? strlen(pl->registry) : 0;

        return n && ref && strncmp(ref, pl->registry, n) == 0 && ref[n] == '/';
}

/* The image of a container when it comes from the local registry (pulled once), or NULL. */
static const struct image *image_of(struct plane *pl, const char *ref)
{
        struct image *img;

        if (!in_registry(pl, ref))
                return NULL;
        img = hashmap_get(pl->images, ref);
        if (img)
                return img;
        img = calloc(1, sizeof(*img));
        if (!img || image_pull(pl->state, ref, img) < 0) {
                free(img);
                return NULL; /* tried again next pass */
        }
        say("pulled %s into %s", ref, img->root);
        hashmap_put(pl->images, ref, img, NULL);
        return img;
}

/* The command line of container c of a pod into argv (from its image when the local registry
 * has it, else the machine's binary for it), its env values into env, what it depends on into
 * sum. -1 when it cannot be told yet (a Secret missing), 0 when nothing runs its image. */
static int container_cmd(struct plane *pl, const struct pod *pod, const cJSON *pspec,
                         const cJSON *c, const cJSON *claim_templates, const char *sts,
                         const char *dir, const char *sa, char **argv, int *ret_argc, cJSON *env,
                         struct strbuf *sum)
{
        const char *ref = json_str(c, "image", NULL) ? json_str(c, "image", NULL) : "";
        const struct image *img = image_of(pl, ref);
        struct mount mounts[32];
        int n_mounts = 0;
        char *bin;
        int first;

        if (!fronts_runs(pl->fronts, pod->ns, ref))
                return 0;
        bin = img ? NULL : binary_for(pl, ref);
        if (!img && !bin)
                return 0;
        if (container_env(pl, pod, c, env) < 0 ||
            container_mounts(pl, pod, pspec, c, claim_templates, sts, dir, img != NULL, mounts,
                             (int)(sizeof(mounts) / sizeof(mounts[0])), &n_mounts, sum) < 0) {
                free(bin);
                return -1;
        }
        if (img)
                return image_cmd(pl, pod, pspec, c, img, mounts, n_mounts, env, dir, sa, argv,
                                 ret_argc, sum) < 0
                               ? -1
                               : 1;
        host_cmd(pl, pod, c, bin, mounts, n_mounts, env, argv, ret_argc, sum);
        for (first = 0; first < *ret_argc && argv[first] != bin; first++)
                ;
        if (pl->fronts && fronts_argv(pl->fronts, pod->ns, pod->ip, ref, argv, first, ret_argc,
                                      MAX_ARGS + 8, sum) < 0) {
                for (int i = 0; i < *ret_argc; i++)
                        free(argv[i]);
                *ret_argc = 0;
                return -1;
        }
        return 1;
}

/* The projected ServiceAccount token of a pod with a container from an image, kept up to date
 * in sadir as a kubelet does (its ServiceAccount, unless automountServiceAccountToken is
 * false). -1 while the first token cannot be had yet. */
static int pod_token(struct plane *pl, const struct pod *pod, const cJSON *pspec, const char *key,
                     const char *sadir)
{
        const cJSON *c;
        const char *sa = json_str(pspec, "serviceAccountName", NULL);
        struct sa_token *t;
        char tkey[640];
        bool from_image = false;
        int r;

        cJSON_ArrayForEach (c, pod->containers)
                from_image = from_image || image_of(pl, json_str(c, "image", NULL));
        if (!from_image ||
            cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(pspec, "automountServiceAccountToken")))
                return 0;
        snprintf(tkey, sizeof(tkey), "%s@%s", key, pod->uid ? pod->uid : "");
        t = hashmap_get(pl->tokens, tkey); /* a workload made anew: a new token, as a new pod */
        if (!t) {
                t = calloc(1, sizeof(*t));
                if (!t || hashmap_put(pl->tokens, tkey, t, NULL) < 0) {
                        free(t);
                        return -1;
                }
        }
        r = sa_token_tend(pl->client, t, pod->ns, sa ? sa : "default", sadir, pl->token_rotate_s,
                          time_mono_ms());
        if (r > 0)
                say("%s: ServiceAccount token %s", key, t->last[0] ? t->last : "written");
        return r < 0 && !t->refresh_at_ms ? -1 : 0;
}

/* Run a pod's init container to its end (its env in the environment); true when it exits 0. */
static bool run_init(const struct pod *pod, const char *dir, const char *name, char **argv,
                     const cJSON *env)
{
        char log[4400];
        pid_t pid;
        int status = -1, fd;

        snprintf(log, sizeof(log), "%s/init-%s.log", dir, name);
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
                return false;
        say("%s/%s: init container %s", pod->ns, pod->name, name);
        pid = fork();
        if (pid == 0) {
                const cJSON *e;
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                cJSON_ArrayForEach (e, env)
                        if (cJSON_IsString(e))
                                setenv(e->string, e->valuestring, 1);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fd);
        if (pid < 0)
                return false;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        say("%s/%s: init container %s failed (status %d; %s)", pod->ns, pod->name, name, status,
            log);
        return false;
}

/* ---- surge: a Deployment's new pod serves before its old one stops ---- */

/* A generic API server binds its port with SO_REUSEPORT when asked (--permit-port-sharing):
 * the new process of a pod can then listen at the pod's address beside the old one, as two
 * pods behind one Service would. Others restart in place. */
static bool shares_port(const char *image)
{
        return image_named(image, "kube-apiserver") ||
               image_named(image, "karmada-aggregated-apiserver");
}

/* Whether a Deployment rolls with surge: RollingUpdate (the default) whose maxUnavailable
 * comes to 0 for its replicas (the default 25%, rounded down, does below 4 replicas) */
static bool rolls_with_surge(const cJSON *w)
{
        const cJSON *st = json_at(w, "spec", "strategy"), *reps = json_at(w, "spec", "replicas");
        const cJSON *mu = json_at(json_at(st, "rollingUpdate", NULL), "maxUnavailable", NULL);
        const char *type = json_str(st, "type", NULL);
        long n = cJSON_IsNumber(reps) ? (long)reps->valuedouble : 1, pct = 25;

        if (type && strcmp(type, "Recreate") == 0)
                return false;
        if (cJSON_IsNumber(mu))
                return mu->valuedouble < 1;
        if (cJSON_IsString(mu))
                pct = strtol(mu->valuestring, NULL, 10);
        return n * pct / 100 == 0;
}

/* Whether what a log gained since offset holds text */
static bool logged_since(const char *log, long offset, const char *text)
{
        FILE *f = fopen(log, "re");
        char line[4096];
        bool found = false;

        if (!f)
                return false;
        if (fseek(f, offset, SEEK_SET) == 0)
                while (!found && fgets(line, sizeof(line), f))
                        found = strstr(line, text) != NULL;
        fclose(f);
        return found;
}

/* What a process whose pod has a readiness probe logs once that probe would pass (by image
 * name); a process of another image is ready once it runs, as a container without a probe */
static const struct {
        const char *image, *line;
} serving_logs[] = {
        {"kube-apiserver", "Serving securely on"},
        {"karmada-aggregated-apiserver", "Serving securely on"},
        {"etcd", "ready to serve client requests"},
        {"karmada-webhook", "Serving webhook server"},
};

static const char *serving_log(const char *image)
{
        for (size_t i = 0; i < sizeof(serving_logs) / sizeof(serving_logs[0]); i++)
                if (image_named(image, serving_logs[i].image))
                        return serving_logs[i].line;
        return NULL;
}

/* What a pod's process logs once it serves (a front's, with --front-to); NULL: once it runs */
static const char *pod_serving_log(const struct plane *pl, const struct pod *pod)
{
        const char *image = json_str(cJSON_GetArrayItem(pod->containers, 0), "image", NULL);

        return fronts_is_front(pl->fronts, pod->ns, image) ? FRONT_SERVING : serving_log(image);
}

/* Whether the process serves: it runs, and logged its serving line since it started */
static bool proc_serving(const struct proc *p, const char *line)
{
        return p->pid > 0 && (!line || logged_since(p->log, p->log_start, line));
}

/* The new process of key serves (up to 2 min) or exited: stop the old one */
static void hand_over(const char *key, const struct proc *p, pid_t old, const char *line)
{
        struct proc was = {.pid = old};
        long long t0 = time_mono_ms();

        while (!stop && p->pid > 0 && time_mono_ms() - t0 < 120000 && !proc_serving(p, line)) {
                siginfo_t info = {0};
                if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                    info.si_pid == p->pid)
                        break; /* exited: procs_tend reaps it */
                usleep(100 * 1000);
        }
        say("%s: its successor serves after %.1fs; stopping the old process", key,
            (double)(time_mono_ms() - t0) / 1000);
        proc_stop(key, &was);
}

/* A pod that starts (anew) sees its volumes' current content, stale or not */
static void refresh_volumes(struct plane *pl, const struct pod *pod, const cJSON *pspec,
                            const cJSON *c, const cJSON *claim_templates, const char *sts,
                            const char *dir, const char *sa)
{
        char *argv[MAX_ARGS + 8];
        int argc = 0;
        struct strbuf sum = {0};
        cJSON *env = cJSON_CreateObject();

        pl->write_now = true;
        container_cmd(pl, pod, pspec, c, claim_templates, sts, dir, sa, argv, &argc, env, &sum);
        pl->write_now = false;
        for (int i = 0; i < argc; i++)
                free(argv[i]);
        strbuf_free(&sum);
        cJSON_Delete(env);
}

/* The init containers of a pod that starts (anew), each to its end; false when one failed */
static bool run_inits(struct plane *pl, const struct pod *pod, const cJSON *pspec,
                      const cJSON *claim_templates, const char *sts, const char *dir,
                      const char *sa)
{
        const cJSON *ic;

        cJSON_ArrayForEach (ic, cJSON_GetObjectItemCaseSensitive(pspec, "initContainers")) {
                char *argv[MAX_ARGS + 8];
                int argc = 0, r;
                struct strbuf sum = {0};
                cJSON *env = cJSON_CreateObject();
                const char *name = json_str(ic, "name", NULL);
                bool ok;
                r = container_cmd(pl, pod, pspec, ic, claim_templates, sts, dir, sa, argv, &argc,
                                  env, &sum);
                ok = r > 0 && run_init(pod, dir, name ? name : "init", argv, env);
                for (int i = 0; i < argc; i++)
                        free(argv[i]);
                strbuf_free(&sum);
                cJSON_Delete(env);
                if (!ok)
                        return false;
        }
        return true;
}

/* Start (or keep) the process of a pod: its first container, with the rewritten command,
 * after its init containers ran to their end (each time the pod starts anew). A pod of a
 * Deployment that rolls with surge and can share its port starts anew beside the old one. */
static void run_pod(struct plane *pl, struct pod *pod, const cJSON *pspec,
                    const cJSON *claim_templates, const char *sts)
{
        const cJSON *c = cJSON_GetArrayItem(pod->containers, 0);
        char dir[4200], key[512], log[4300], sadir[4300], h[SHA256_HEX_LEN];
        char *argv[MAX_ARGS + 8];
        int argc = 0, r = 1;
        struct strbuf sum = {0};
        cJSON *env = cJSON_CreateObject();
        struct proc *p;
        const char *sa;
        bool shares = shares_port(json_str(c, "image", NULL)) &&
                      !fronts_is_front(pl->fronts, pod->ns, json_str(c, "image", NULL));
        pid_t old = 0;

        snprintf(dir, sizeof(dir), "%s/pods/%s_%s", pl->state, pod->ns, pod->name);
        snprintf(key, sizeof(key), "pod:%s/%s", pod->ns, pod->name);
        snprintf(log, sizeof(log), "%s/log", dir);
        fileio_mkdir_p(dir, 0700);
        chmod(dir, 0711); /* the users of containers from images reach their volumes */
        snprintf(sadir, sizeof(sadir), "%s/serviceaccount", dir);
        if (pod_token(pl, pod, pspec, key, sadir) < 0)
                goto keep;
        sa = access(sadir, F_OK) == 0 ? sadir : NULL;
        r = container_cmd(pl, pod, pspec, c, claim_templates, sts, dir, sa, argv, &argc, env, &sum);
        if (r == 0)
                goto out;
        if (r < 0)
                goto keep;
        if (shares && argc < MAX_ARGS) {
                argv[argc++] = strdup("--permit-port-sharing");
                argv[argc] = NULL;
        }
        strbuf_printf(&sum, "\nworkload %s", pod->uid ? pod->uid : ""); /* made anew: restart */
        {
                char *a = cJSON_PrintUnformatted(pod->annotations); /* a new template: a new pod */
                strbuf_printf(&sum, "\nannotations %s", a ? a : "");
                free(a);
        }
        sha256_hex(sum.buf, sum.len, h);
        p = hashmap_get(pl->procs, key);
        if (!p || !p->argc || strcmp(p->sum, h) != 0) { /* the pod starts (anew) */
                if (p && p->pid > 0 && shares && pod->surge) {
                        say("%s changed: its successor starts beside it", key);
                        old = p->pid; /* serves until the new one does */
                        p->pid = 0;
                } else if (p && p->pid > 0) {
                        say("%s changed: restarting", key);
                        proc_stop(key, p);
                }
                refresh_volumes(pl, pod, pspec, c, claim_templates, sts, dir, sa);
                if (!run_inits(pl, pod, pspec, claim_templates, sts, dir, sa)) {
                        for (int i = 0; i < argc; i++)
                                free(argv[i]);
                        goto keep;
                }
        }
        proc_run(pl, key, argv, argc, h, log);
        p = hashmap_get(pl->procs, key);
        if (old > 0 && p)
                hand_over(key, p, old, pod_serving_log(pl, pod));
        pod->proc = p;
        goto out;
keep: /* cannot tell what it should run now: leave what runs alone */
        p = hashmap_get(pl->procs, key);
        if (p && old > 0)
                p->pid = old;
        if (p)
                p->wanted = true;
out:
        pod->runs = r != 0;
        strbuf_free(&sum);
        cJSON_Delete(env);
}

/* ---- services ---- */

static bool selects(const cJSON *selector, const cJSON *labels)
{
        const cJSON *e;

        if (!cJSON_IsObject(selector) || !selector->child)
                return false;
        cJSON_ArrayForEach (e, selector) {
                const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, e->string);
                if (!cJSON_IsString(e) || !cJSON_IsString(l) ||
                    strcmp(e->valuestring, l->valuestring) != 0)
                        return false;
        }
        return true;
}

static int target_port(const cJSON *port, const struct pod *pod)
{
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(port, "targetPort"), *c, *p;

        if (cJSON_IsNumber(t))
                return own_port(pod, t->valueint);
        if (cJSON_IsString(t)) {
                cJSON_ArrayForEach (c, pod->containers)
                        cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive(c, "ports"))
                                if (json_str(p, "name", NULL) &&
                                    strcmp(json_str(p, "name", NULL), t->valuestring) == 0)
                                        return own_port(pod, cJSON_GetObjectItemCaseSensitive(
                                                                     p, "containerPort")
                                                                     ->valueint);
        }
        return own_port(pod, cJSON_GetObjectItemCaseSensitive(port, "port")->valueint);
}

static void forward(struct plane *pl, const char *ip, int port, const char *to_ip, int to_port)
{
        char key[128], listen[128], conn[128], h[SHA256_HEX_LEN], log[4300];
        char *argv[8];
        int argc = 0;

        snprintf(key, sizeof(key), "fwd:%s:%d", ip, port);
        snprintf(listen, sizeof(listen), "TCP-LISTEN:%d,bind=%s,reuseaddr,fork", port, ip);
        snprintf(conn, sizeof(conn), "TCP:%s:%d", to_ip, to_port);
        sha256_hex(conn, strlen(conn), h);
        snprintf(log, sizeof(log), "%s/forwards.log", pl->state);
        argv[argc++] = strdup("socat");
        argv[argc++] = strdup(listen);
        argv[argc++] = strdup(conn);
        proc_run(pl, key, argv, argc, h, log);
}

static void service(struct plane *pl, const cJSON *svc, const struct pod *pods, int n_pods,
                    const char *domain)
{
        const char *ns = json_str(svc, "metadata", "namespace"),
                   *name = json_str(svc, "metadata", "name");
        const char *type = json_str(svc, "spec", "type"), *cip = json_str(svc, "spec", "clusterIP");
        bool headless = cip && strcmp(cip, "None") == 0;
        const struct pod *ep = NULL;
        const cJSON *port;
        const char *ip;
        char fq[600];

        if (!ns || !name)
                return;
        for (int i = 0; i < n_pods && !ep; i++)
                if (strcmp(pods[i].ns, ns) == 0 &&
                    selects(json_at(svc, "spec", "selector"), pods[i].labels))
                        ep = &pods[i];
        ip = headless ? (ep ? ep->ip : NULL) : addr_of(pl, "svc", ns, name);
        if (ip) {
                snprintf(fq, sizeof(fq), "%s.%s.svc.%s %s.%s.svc %s.%s", name, ns, domain, name, ns,
                         name, ns);
                host_entry(pl, ip, fq);
        }
        /* the pods of a StatefulSet by name, under its governing Service */
        for (int i = 0; i < n_pods; i++)
                if (pods[i].sts_service && strcmp(pods[i].sts_service, name) == 0 &&
                    strcmp(pods[i].ns, ns) == 0) {
                        snprintf(fq, sizeof(fq), "%s.%s.%s.svc.%s %s.%s.%s.svc", pods[i].name, name,
                                 ns, domain, pods[i].name, name, ns);
                        host_entry(pl, pods[i].ip, fq);
                }
        if (!ep)
                return;
        cJSON_ArrayForEach (port, json_at(svc, "spec", "ports")) {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(port, "port");
                const cJSON *np = cJSON_GetObjectItemCaseSensitive(port, "nodePort");
                int to = target_port(port, ep);
                if (!cJSON_IsNumber(p))
                        continue;
                if (!headless)
                        forward(pl, ip, p->valueint, ep->ip, to);
                if (cJSON_IsNumber(np) && np->valueint > 0)
                        forward(pl, "127.0.0.1", np->valueint, ep->ip, to);
        }
        /* a load balancer: the Service's own address */
        if (type && strcmp(type, "LoadBalancer") == 0 && !headless) {
                const cJSON *ing = json_at(json_at(svc, "status", "loadBalancer"), "ingress", NULL);
                const char *have = json_str(cJSON_GetArrayItem(ing, 0), "ip", NULL);
                if (!have || strcmp(have, ip) != 0) {
                        char body[256];
                        struct kube_status st;
                        snprintf(body, sizeof(body),
                                 "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"%s\"}]}}}",
                                 ip);
                        if (kube_patch(pl->client, &kube_services, ns, name, KUBE_PATCH_MERGE, body,
                                       &(struct kube_write_options){.subresource = "status"}, NULL,
                                       &st) < 0)
                                say("load balancer of %s/%s: %s", ns, name, st.message);
                        else
                                say("load balancer of %s/%s: %s", ns, name, ip);
                }
        }
}

/* ---- readiness: what a kubelet's probes tell ---- */

/* Whether a pod object is of the template pod runs: the template's annotations and first
 * container's image, command and args */
static bool of_template(const cJSON *obj, const struct pod *pod)
{
        const cJSON *have = json_at(obj, "metadata", "annotations"), *a;
        const cJSON *c = cJSON_GetArrayItem(json_at(obj, "spec", "containers"), 0);
        const cJSON *t = cJSON_GetArrayItem(pod->containers, 0);

        cJSON_ArrayForEach (a, pod->annotations)
                if (!cJSON_Compare(a, cJSON_GetObjectItemCaseSensitive(have, a->string), true))
                        return false;
        for (const char *const *f = (const char *const[]){"image", "command", "args", NULL}; *f;
             f++) {
                const cJSON *x = cJSON_GetObjectItemCaseSensitive(c, *f),
                            *y = cJSON_GetObjectItemCaseSensitive(t, *f);
                if ((x || y) && !cJSON_Compare(x, y, true))
                        return false;
        }
        return true;
}

/* The workload (among this pass's) a pod object belongs to: its StatefulSet, or the
 * Deployment of its ReplicaSet (<deployment>-<hash>) */
static const struct pod *owner_of(const cJSON *obj, const struct pod *pods, int n_pods)
{
        const cJSON *ref = cJSON_GetArrayItem(json_at(obj, "metadata", "ownerReferences"), 0);
        const char *ns = json_str(obj, "metadata", "namespace") ?: "";
        const char *kind = json_str(ref, "kind", NULL), *name = json_str(ref, "name", NULL);
        size_t len;

        if (!kind || !name)
                return NULL;
        len = strlen(name);
        if (strcmp(kind, "ReplicaSet") == 0 && strrchr(name, '-'))
                len = (size_t)(strrchr(name, '-') - name);
        for (int i = 0; i < n_pods; i++)
                if (strcmp(pods[i].ns, ns) == 0 && strlen(pods[i].workload) == len &&
                    strncmp(pods[i].workload, name, len) == 0 &&
                    (strcmp(kind, "StatefulSet") == 0) == (pods[i].sts_service != NULL) &&
                    (!pods[i].sts_service ||
                     strcmp(pods[i].name, json_str(obj, "metadata", "name") ?: "") == 0))
                        return &pods[i];
        return NULL;
}

/* A pod whose process runs its template and does not serve yet: marked as soon as it does,
 * between passes (what a probe's period would give) */
struct pending {
        char proc[512];   /* its process's key */
        const char *line; /* serving_log() of its image */
};

/* The pod's readiness as its probe would say: serving "true" or "false" (kwok's stages make the
 * pod Ready or not from it) */
static void mark(struct plane *pl, const char *ns, const char *name, bool serving)
{
        struct kube_status st;
        char body[128];

        snprintf(body, sizeof(body),
                 "{\"metadata\":{\"annotations\":{\"" SERVING_ANNOTATION "\":\"%s\"}}}",
                 serving ? "true" : "false");
        if (kube_patch(pl->client, &kube_pods, ns, name, KUBE_PATCH_MERGE, body, NULL, NULL, &st) <
            0)
                say("pod %s/%s: %s", ns, name, st.message);
        else if (!serving)
                say("pod %s/%s: its process does not serve: not ready", ns, name);
}

/* kwok's PortForward for the pod (owned by it): what pods/portforward reaches is the pod's
 * process, at its address, on each port its containers declare. Made once per pod and address
 * (a cluster without the CRD: nothing). */
static void forward_pod(struct plane *pl, const cJSON *obj, const struct pod *w)
{
        const char *ns = json_str(obj, "metadata", "namespace"),
                   *name = json_str(obj, "metadata", "name"),
                   *uid = json_str(obj, "metadata", "uid");
        char key[512], applied[128], body[1024];
        const char *was;
        cJSON *pf, *forwards;
        const cJSON *c, *port;
        struct kube_status st;

        if (!uid || !w->ip[0])
                return;
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        snprintf(applied, sizeof(applied), "%s %s", uid, w->ip);
        was = hashmap_get(pl->forwards, key);
        if (was && strcmp(was, applied) == 0)
                return;
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"kwok.x-k8s.io/v1alpha1\",\"kind\":\"PortForward\","
                 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"ownerReferences\":"
                 "[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"%s\",\"uid\":\"%s\"}]},"
                 "\"spec\":{\"forwards\":[]}}",
                 name, ns, name, uid);
        pf = cJSON_Parse(body);
        if (!pf)
                return;
        forwards = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pf, "spec"),
                                                    "forwards");
        cJSON_ArrayForEach (c, w->containers)
                cJSON_ArrayForEach (port, cJSON_GetObjectItemCaseSensitive(c, "ports")) {
                        int p = (int)cJSON_GetNumberValue(
                                cJSON_GetObjectItemCaseSensitive(port, "containerPort"));
                        cJSON *f = cJSON_CreateObject(), *t;
                        cJSON_AddItemToArray(cJSON_AddArrayToObject(f, "ports"),
                                             cJSON_CreateNumber(p));
                        t = cJSON_AddObjectToObject(f, "target");
                        cJSON_AddStringToObject(t, "address", w->ip);
                        cJSON_AddNumberToObject(t, "port", own_port(w, p));
                        cJSON_AddItemToArray(forwards, f);
                }
        if (kube_apply(pl->client, &port_forwards, ns, pf,
                       &(struct kube_write_options){.field_manager = "ko-plane", .force = true},
                       NULL, &st) == 0 ||
            st.code == 404) {
                char *v = strdup(applied);
                if (v && hashmap_put(pl->forwards, key, v, (void **)&was) == 0)
                        free((void *)was);
                else
                        free(v);
        } else {
                say("PortForward %s/%s: %s", ns, name, st.message);
        }
        cJSON_Delete(pf);
}

static void pending_clear(struct plane *pl)
{
        const struct hashmap_entry *e, *next;

        for (e = hashmap_first(pl->pending); e; e = next) {
                next = hashmap_next(pl->pending, e);
                free(hashmap_remove(pl->pending, hashmap_entry_key(e)));
        }
}

static void pending_add(struct plane *pl, const char *ns, const char *name, const struct pod *w)
{
        char key[512];
        struct pending *p = calloc(1, sizeof(*p));

        if (!p)
                return;
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        snprintf(p->proc, sizeof(p->proc), "pod:%s/%s", w->ns, w->name);
        p->line = pod_serving_log(pl, w);
        if (hashmap_put(pl->pending, key, p, NULL) < 0)
                free(p);
}

/* Between passes: the pending pods whose process serves now */
static void mark_pending(struct plane *pl)
{
        const struct hashmap_entry *e, *next;

        for (e = hashmap_first(pl->pending); e; e = next) {
                const struct pending *p = hashmap_entry_value(e);
                const struct proc *proc = hashmap_get(pl->procs, p->proc);
                char ns[512];
                char *slash;
                next = hashmap_next(pl->pending, e);
                if (!proc || !proc_serving(proc, p->line))
                        continue;
                snprintf(ns, sizeof(ns), "%s", hashmap_entry_key(e));
                slash = strchr(ns, '/');
                if (slash) {
                        *slash = '\0';
                        mark(pl, ns, slash + 1, true);
                }
                free(hashmap_remove(pl->pending, hashmap_entry_key(e)));
        }
}

static void mark_serving(struct plane *pl, const struct pod *pods, int n_pods)
{
        cJSON *list = NULL;
        const cJSON *obj;

        if (kube_list(pl->client, &kube_pods, NULL,
                      &(struct kube_list_options){.label_selector = SERVING_SELECTOR}, &list,
                      NULL) < 0)
                return;
        pending_clear(pl);
        cJSON_ArrayForEach (obj, cJSON_GetObjectItemCaseSensitive(list, "items")) {
                const char *ns = json_str(obj, "metadata", "namespace"),
                           *name = json_str(obj, "metadata", "name");
                const struct pod *w = owner_of(obj, pods, n_pods);
                const char *was =
                        json_str(json_at(obj, "metadata", "annotations"), SERVING_ANNOTATION, NULL);
                bool ours, serves;
                if (!ns || !name)
                        continue;
                ours = w && w->proc && of_template(obj, w);
                if (ours)
                        forward_pod(pl, obj, w);
                serves = ours && proc_serving(w->proc, pod_serving_log(pl, w));
                if (was && strcmp(was, "true") == 0) {
                        if (ours && w->runs && !serves) /* it crashed, or was killed */
                                mark(pl, ns, name, false);
                } else if (!w || (!w->runs && of_template(obj, w)) || serves) {
                        /* a pod of a workload it does not run is ready at once; but only one of
                         * the template it read: the workload may have changed since (to an image
                         * it runs) */
                        mark(pl, ns, name, true);
                } else if (ours) {
                        pending_add(pl, ns, name, w);
                }
        }
        cJSON_Delete(list);
}

/* ---- one pass ---- */

static const char *domain_of(const cJSON *karmadas_list, const char *ns, const char *instance)
{
        const cJSON *k;

        cJSON_ArrayForEach (k, cJSON_GetObjectItemCaseSensitive(karmadas_list, "items")) {
                if (strcmp(json_str(k, "metadata", "namespace") ?: "", ns) == 0 &&
                    strcmp(json_str(k, "metadata", "name") ?: "", instance) == 0) {
                        const char *d = json_str(
                                json_at(json_at(k, "spec", "hostCluster"), "networking", NULL),
                                "dnsDomain", NULL);
                        return d ? d : "cluster.local";
                }
        }
        return "cluster.local";
}

/* A workload ko-plane runs: the operator's, or one whose first container's image is in the
 * local registry (the operator's own Deployment, installed as users install it). */
static bool runs_here(struct plane *pl, const cJSON *w)
{
        const char *managed = json_str(json_at(w, "metadata", "labels"), KO_LABEL_MANAGED_BY, NULL);
        const cJSON *c = cJSON_GetArrayItem(
                json_at(json_at(w, "spec", "template"), "spec", NULL)
                        ? cJSON_GetObjectItemCaseSensitive(
                                  json_at(json_at(w, "spec", "template"), "spec", NULL),
                                  "containers")
                        : NULL,
                0);

        return (managed && strcmp(managed, KO_MANAGER) == 0) ||
               in_registry(pl, json_str(c, "image", NULL));
}

/* Pod `ordinal` of workload w (a Deployment's only one is <name>-0), run */
static void add_pod(struct plane *pl, struct pod *p, const cJSON *w, bool sts, int ordinal)
{
        const cJSON *tmpl = json_at(w, "spec", "template");

        snprintf(p->ns, sizeof(p->ns), "%s", json_str(w, "metadata", "namespace"));
        snprintf(p->name, sizeof(p->name), "%s-%d", json_str(w, "metadata", "name"), ordinal);
        snprintf(p->ip, sizeof(p->ip), "%s", addr_of(pl, "pod", p->ns, p->name));
        p->annotations = json_at(tmpl, "metadata", "annotations");
        p->labels = json_at(tmpl, "metadata", "labels");
        p->containers = json_at(json_at(tmpl, "spec", NULL), "containers", NULL);
        p->sts_service = sts ? json_str(w, "spec", "serviceName") : NULL;
        p->surge = !sts && rolls_with_surge(w);
        p->uid = json_str(w, "metadata", "uid");
        p->workload = json_str(w, "metadata", "name");
        p->runs = false;
        p->proc = NULL;
        host_entry(pl, p->ip, p->name);
        run_pod(pl, p, json_at(tmpl, "spec", NULL),
                sts ? json_at(w, "spec", "volumeClaimTemplates") : NULL,
                sts ? json_str(w, "metadata", "name") : NULL);
}

static void pass(struct plane *pl)
{
        struct kube_list_options lo = {.label_selector = SELECTOR};
        cJSON *ks = NULL, *svcs = NULL, *deps = NULL, *stss = NULL;
        struct pod *pods = calloc(MAX_PODS, sizeof(*pods));
        int n_pods = 0;
        const cJSON *w, *s;
        int r = kube_list(pl->client, &karmadas, NULL, NULL, &ks, NULL);

        /* a remote host cluster of the operator has no Karmada CRD: its instances are elsewhere
         * (their DNS domain the default) */
        if (r == -ENOENT)
                ks = cJSON_CreateObject();
        if (!pods || (r < 0 && r != -ENOENT) ||
            kube_list(pl->client, &kube_services, NULL, &lo, &svcs, NULL) < 0 ||
            kube_list(pl->client, &kube_deployments, NULL, pl->registry ? NULL : &lo, &deps, NULL) <
                    0 ||
            kube_list(pl->client, &kube_statefulsets, NULL, &lo, &stss, NULL) < 0 ||
            kube_list(pl->client, &kube_secrets, NULL, &lo, &pl->secrets, NULL) < 0)
                goto out; /* the host API is away: keep what runs */
        for (const struct hashmap_entry *e = hashmap_first(pl->procs); e;
             e = hashmap_next(pl->procs, e))
                ((struct proc *)hashmap_entry_value(e))->wanted = false;
        strbuf_reset(&pl->hosts);
        strbuf_printf(&pl->hosts, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
        for (int kind = 0; kind < 2; kind++) {
                cJSON_ArrayForEach (w,
                                    cJSON_GetObjectItemCaseSensitive(kind ? stss : deps, "items")) {
                        const cJSON *reps = json_at(w, "spec", "replicas");
                        int n = !cJSON_IsNumber(reps) ? 1
                                : kind                ? reps->valueint
                                                      : reps->valueint > 0;
                        if (!runs_here(pl, w) || json_at(w, "metadata", "deletionTimestamp"))
                                continue;
                        for (int i = 0; i < n && n_pods < MAX_PODS; i++)
                                add_pod(pl, &pods[n_pods++], w, kind == 1, i);
                }
        }
        cJSON_ArrayForEach (s, cJSON_GetObjectItemCaseSensitive(svcs, "items")) {
                const char *inst =
                        json_str(json_at(s, "metadata", "labels"), KO_LABEL_INSTANCE, NULL);
                service(pl, s, pods, n_pods,
                        domain_of(ks, json_str(s, "metadata", "namespace") ?: "",
                                  inst ? inst : ""));
        }
        write_hosts(pl);
        procs_tend(pl);
        mark_serving(pl, pods, n_pods);
        volumes_tend(pl->client, pl->state);
out:
        free(pods);
        cJSON_Delete(ks);
        cJSON_Delete(svcs);
        cJSON_Delete(deps);
        cJSON_Delete(stss);
        cJSON_Delete(pl->secrets);
        pl->secrets = NULL;
}

/* the API server's host and port, for KUBERNETES_SERVICE_HOST and _PORT of containers */
static int api_address(const char *server, struct plane *pl)
{
        const char *h = strstr(server, "://"), *colon;

        h = h ? h + 3 : server;
        colon = strrchr(h, ':');
        if (!colon || h[0] == '[') {
                fprintf(stderr, "ko-plane: the API server %s has no host:port\n", server);
                return -1;
        }
        snprintf(pl->api_host, sizeof(pl->api_host), "%.*s", (int)(colon - h), h);
        pl->api_port = (int)strtol(colon + 1, NULL, 10);
        return 0;
}

/* ko-container: --container-bin, or next to this binary */
static int container_bin(struct plane *pl)
{
        static char path[4096];
        ssize_t n;

        if (!pl->registry || pl->container_bin)
                return 0;
        n = readlink("/proc/self/exe", path, sizeof(path) - 32);
        if (n < 0 || !memchr(path, '/', (size_t)n))
                return -1;
        path[n] = '\0';
        snprintf(strrchr(path, '/') + 1, 32, "ko-container");
        pl->container_bin = path;
        return access(path, X_OK) == 0 ? 0 : -1;
}

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"kubeconfig", required_argument, NULL, 'k'},
                {"state", required_argument, NULL, 's'},
                {"bin-dir", required_argument, NULL, 'b'},
                {"kube-version", required_argument, NULL, 'K'},
                {"etcd-version", required_argument, NULL, 'E'},
                {"only", required_argument, NULL, 'o'},
                {"operator-bin", required_argument, NULL, 'O'},
                {"registry", required_argument, NULL, 'R'},
                {"container-bin", required_argument, NULL, 'C'},
                {"token-rotate", required_argument, NULL, 'T'},
                {"karmada-version", required_argument, NULL, 'V'},
                {"front-to", required_argument, NULL, 'F'},
                {0},
        };
        struct plane plane = {0}, *pl = &plane;
        struct kube_config_options co = {0};
        struct kube_config *cfg;
        char err[512];
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'k':
                        co.kubeconfig = optarg;
                        break;
                case 's':
                        pl->state = optarg;
                        break;
                case 'b':
                        pl->bin_dir = optarg;
                        break;
                case 'K':
                        pl->kube_version = optarg;
                        break;
                case 'E':
                        pl->etcd_version = optarg;
                        break;
                case 'o':
                        pl->only = optarg;
                        break;
                case 'O':
                        pl->operator_bin = optarg;
                        break;
                case 'R':
                        pl->registry = optarg;
                        break;
                case 'C':
                        pl->container_bin = optarg;
                        break;
                case 'T':
                        pl->token_rotate_s = strtol(optarg, NULL, 10);
                        break;
                case 'V':
                        pl->karmada_version = optarg;
                        break;
                case 'F':
                        pl->fronts = fronts_new(optarg);
                        if (!pl->fronts)
                                return 1;
                        break;
                default:
                        fprintf(stderr, "usage: ko-plane --kubeconfig FILE --state DIR --bin-dir "
                                        "DIR [--kube-version V] [--etcd-version V] [--only "
                                        "IMAGE,...] [--operator-bin PATH] [--karmada-version V] "
                                        "[--registry HOST:PORT [--container-bin PATH] "
                                        "[--token-rotate SECONDS]] [--front-to NAMESPACE]\n");
                        return 2;
                }
        }
        if (!co.kubeconfig || !pl->state || !pl->bin_dir) {
                fprintf(stderr, "ko-plane: --kubeconfig, --state and --bin-dir are required\n");
                return 2;
        }
        if (!pl->kube_version)
                pl->kube_version = "v1.35.4";
        if (!pl->etcd_version)
                pl->etcd_version = "v3.6.6";
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kube_config_load(&co, &cfg, err, sizeof(err)) < 0 ||
            kube_client_new(&(struct kube_client_options){.config = cfg}, &pl->client) < 0) {
                fprintf(stderr, "ko-plane: %s\n", err);
                return 1;
        }
        if (api_address(cfg->server, pl) < 0 || container_bin(pl) < 0) {
                kube_config_free(cfg);
                return 1;
        }
        kube_config_free(cfg);
        if (fileio_mkdir_p(pl->state, 0700) < 0) {
                fprintf(stderr, "ko-plane: %s: %s\n", pl->state, strerror(errno));
                return 1;
        }
        pl->addrs = hashmap_new();
        pl->procs = hashmap_new();
        if (volumes_storage_class(pl->client) < 0)
                say("cannot make the default StorageClass: claims stay Pending");
        pl->images = hashmap_new();
        pl->tokens = hashmap_new();
        pl->stale = hashmap_new();
        pl->pending = hashmap_new();
        pl->forwards = hashmap_new();
        pl->next_addr = address_block(pl->state);
        load_addresses(pl);
        /* the hosts file exists from the start, so that it can be bind-mounted at once */
        strbuf_printf(&pl->hosts, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
        write_hosts(pl);
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGPIPE, SIG_IGN);
        say("running what the operator asks for (state %s)", pl->state);
        while (!stop) {
                pass(pl);
                for (int i = 0; i < 10 && !stop; i++) {
                        usleep(100 * 1000);
                        mark_pending(pl);
                }
        }
        procs_stop(pl, true);
        say("stopped");
        kube_client_free(pl->client);
        fronts_free(pl->fronts);
        curl_global_cleanup();
        return 0;
}
