/* SPDX-License-Identifier: Apache-2.0 */
#include "manager.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "leader.h"
#include "log.h"
#include "util/timeutil.h"
#include "notify.h"
#include "version.h"

#define MAX_PARTS 32

struct manager {
        struct manager_options o;
        struct kube_client *client;
        struct kube_client *leader_client;
        struct metrics *metrics;
        struct event_recorder *events;
        struct leader *leader;
        struct informer *informers[MAX_PARTS];
        size_t n_informers;
        struct controller *controllers[MAX_PARTS];
        size_t n_controllers;
        struct http_server *metrics_server, *probe_server;
        struct call {
                void (*fn)(void *);
                void *data;
        } cleanups[MAX_PARTS], stoppers[MAX_PARTS];
        size_t n_cleanups, n_stoppers;
        atomic_bool controllers_started;
        atomic_bool stop_requested;
        atomic_llong heartbeat_ms;
        sigset_t signals;
        struct metric_family *m_requests, *m_latency, *m_lease_requests, *m_build, *m_rss, *m_heap,
                *m_vsz, *m_cpu, *m_fds, *m_max_fds, *m_start;
        double start_time;
        long long idle_checked_ms;
};

/* A connection of the operator's own clients unused this long is closed: an install opens a
 * dozen (lists, writes), each with its TLS state and buffers; at rest only the lease's and the
 * watches' are used. */
#define CLIENT_IDLE_MS 30000

/* ---- metrics ---- */

static void observe_request(void *userdata, const struct kube_client *client, const char *verb,
                            int code, double seconds)
{
        struct manager *m = userdata;
        char c[16];
        const char *host = kube_client_server(client);

        snprintf(c, sizeof(c), code ? "%d" : "<error>", code);
        metric_add(m->m_requests, (const char *const[]){c, host, verb}, 1);
        metric_observe(m->m_latency, (const char *const[]){verb, host}, seconds);
}

/* The leader elector's requests: in rest_client_requests_total like every other, and apart */
static void observe_lease_request(void *userdata, const struct kube_client *client,
                                  const char *verb, int code, double seconds)
{
        struct manager *m = userdata;
        char c[16];

        observe_request(userdata, client, verb, code, seconds);
        snprintf(c, sizeof(c), code ? "%d" : "<error>", code);
        metric_add(m->m_lease_requests, (const char *const[]){c, verb}, 1);
}

/* What the process's memory holds: live data, or free chunks malloc keeps (a fragmented heap
 * shows as RSS with little in use). glibc's heap: under a sanitizer, whose allocator is its
 * own, it holds little. */
static void collect_heap(struct manager *m)
{
        struct mallinfo2 mi = mallinfo2();

        metric_set(m->m_heap, (const char *const[]){"in_use"}, (double)(mi.uordblks + mi.hblkhd));
        metric_set(m->m_heap, (const char *const[]){"free"}, (double)mi.fordblks);
}

static void collect_process(void *userdata, struct metrics *mt)
{
        struct manager *m = userdata;
        long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
        unsigned long long vsz = 0, rss = 0, ut = 0, st = 0;
        struct rlimit rl;
        char buf[1024];
        FILE *f;
        int fds = 0;
        DIR *d;

        f = fopen("/proc/self/stat", "re");
        if (f) {
                const char *p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
                /* after "pid (comm)": field 3 onwards; utime 14, stime 15, vsize 23, rss 24 */
                unsigned long long field[25] = {0};
                int i = 3;
                char *end;

                for (p = p ? p + 2 : NULL; p && *p && i <= 24; i++) {
                        field[i] = strtoull(p, &end, 10); /* the state letter reads as 0 */
                        p = strchr(p, ' ');
                        p = p ? p + 1 : NULL;
                }
                if (i > 24) {
                        ut = field[14];
                        st = field[15];
                        vsz = field[23];
                        rss = field[24];
                        metric_set(m->m_cpu, NULL, (double)(ut + st) / (double)ticks);
                        metric_set(m->m_vsz, NULL, (double)vsz);
                        metric_set(m->m_rss, NULL, (double)rss * (double)page);
                }
                fclose(f);
        }
        collect_heap(m);
        d = opendir("/proc/self/fd");
        if (d) {
                for (struct dirent *e; (e = readdir(d));)
                        fds += e->d_name[0] != '.';
                closedir(d);
                metric_set(m->m_fds, NULL, fds - 1); /* not the one reading the directory */
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                metric_set(m->m_max_fds, NULL, (double)rl.rlim_cur);
        metric_set(m->m_start, NULL, m->start_time);
}

static void setup_metrics(struct manager *m)
{
        struct metrics *mt = m->metrics;

        m->m_requests = metrics_family(
                mt, METRIC_COUNTER, "rest_client_requests_total",
                "Number of HTTP requests, partitioned by status code, method, and host.",
                (const char *const[]){"code", "host", "method", NULL}, NULL, 0);
        m->m_latency = metrics_family(mt, METRIC_HISTOGRAM, "rest_client_request_duration_seconds",
                                      "Request latency in seconds. Broken down by verb, and host.",
                                      (const char *const[]){"verb", "host", NULL},
                                      metrics_buckets_rest, metrics_buckets_rest_n);
        m->m_lease_requests =
                metrics_family(mt, METRIC_COUNTER, "leader_election_requests_total",
                               "API requests of the leader elector, by status code and method.",
                               (const char *const[]){"code", "method", NULL}, NULL, 0);
        m->m_build = metrics_family(mt, METRIC_GAUGE, "karmada_operator_build_info",
                                    "Build information of karmada-operator; always 1.",
                                    (const char *const[]){"version", NULL}, NULL, 0);
        m->m_rss = metrics_family(mt, METRIC_GAUGE, "process_resident_memory_bytes",
                                  "Resident memory size in bytes.", NULL, NULL, 0);
        m->m_heap = metrics_family(mt, METRIC_GAUGE, "karmada_operator_heap_bytes",
                                   "The C heap (glibc malloc): bytes in use, and bytes free that "
                                   "it keeps (its arenas' holes).",
                                   (const char *const[]){"state", NULL}, NULL, 0);
        m->m_vsz = metrics_family(mt, METRIC_GAUGE, "process_virtual_memory_bytes",
                                  "Virtual memory size in bytes.", NULL, NULL, 0);
        m->m_cpu =
                metrics_family(mt, METRIC_COUNTER, "process_cpu_seconds_total",
                               "Total user and system CPU time spent in seconds.", NULL, NULL, 0);
        m->m_fds = metrics_family(mt, METRIC_GAUGE, "process_open_fds",
                                  "Number of open file descriptors.", NULL, NULL, 0);
        m->m_max_fds = metrics_family(mt, METRIC_GAUGE, "process_max_fds",
                                      "Maximum number of open file descriptors.", NULL, NULL, 0);
        m->m_start = metrics_family(mt, METRIC_GAUGE, "process_start_time_seconds",
                                    "Start time of the process since unix epoch in seconds.", NULL,
                                    NULL, 0);
        metric_set(m->m_build, (const char *const[]){KO_VERSION}, 1);
        metrics_add_collector(mt, collect_process, m);
}

/* ---- lifecycle ---- */

static void on_started_leading(void *userdata)
{
        /* controllers start from the main loop once caches have synced */
        (void)userdata;
}

/* Leadership lost: exit 1 at once, from the elector's thread, as client-go's users do. Waiting
 * for in-flight reconciles would let them write without the lease (while a new leader acts),
 * and the main loop may itself be inside a request to an API server that does not answer (an
 * Event, up to the request timeout). Nothing is lost: the operator is safe to kill, and a fresh
 * process starts clean as a standby. */
static void on_stopped_leading(void *userdata)
{
        (void)userdata;
        log_error("exiting: another replica may lead now");
        _exit(1);
}

int manager_new(const struct manager_options *o, struct manager **ret)
{
        struct kube_client_options co = {.config = o->config, .qps = o->qps, .burst = o->burst};
        struct manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->o = *o;
        if (!m->o.metrics_address)
                m->o.metrics_address = ":8080";
        if (!m->o.probe_address)
                m->o.probe_address = ":8081";
        if (!m->o.leader_name)
                m->o.leader_name = "karmada-operator";
        if (!m->o.leader_namespace)
                m->o.leader_namespace = o->config->namespace;
        if (m->o.shutdown_timeout_ms <= 0)
                m->o.shutdown_timeout_ms = 3000;
        m->start_time = (double)time(NULL);
        atomic_store(&m->heartbeat_ms, time_mono_ms());
        sigemptyset(&m->signals);
        sigaddset(&m->signals, SIGTERM);
        sigaddset(&m->signals, SIGINT);
        pthread_sigmask(SIG_BLOCK, &m->signals, NULL);
        m->metrics = metrics_new();
        if (!m->metrics) {
                free(m);
                return -ENOMEM;
        }
        setup_metrics(m);
        r = kube_client_new(&co, &m->client);
        if (r < 0)
                goto fail;
        kube_client_set_observer(m->client, observe_request, m);
        if (m->o.leader_elect) {
                /* its own client, never retried behind the elector's back: an attempt to
                 * acquire is bounded by the retry period, a renewal by what is left of the
                 * renew deadline (leader.c), so a lost API server cannot stall either */
                struct kube_client_options lo = {
                        .config = o->config,
                        .timeout_ms = m->o.retry_period_ms > 0 ? m->o.retry_period_ms : 2000,
                        .connect_timeout_ms =
                                m->o.retry_period_ms > 0 ? m->o.retry_period_ms : 2000,
                        .max_retries = -1,
                };
                struct leader_options le = {
                        .namespace = m->o.leader_namespace,
                        .name = m->o.leader_name,
                        .lease_duration_ms = o->lease_duration_ms,
                        .renew_deadline_ms = o->renew_deadline_ms,
                        .retry_period_ms = o->retry_period_ms,
                        .metrics = m->metrics,
                        .on_started_leading = on_started_leading,
                        .on_stopped_leading = on_stopped_leading,
                        .userdata = m,
                };
                r = kube_client_new(&lo, &m->leader_client);
                if (r < 0)
                        goto fail;
                /* its requests are also counted apart (leader_election_requests_total) */
                kube_client_set_observer(m->leader_client, observe_lease_request, m);
                le.client = m->leader_client;
                r = leader_new(&le, &m->leader);
                if (r < 0)
                        goto fail;
        }
        r = events_new(
                &(struct events_options){.client = m->client,
                                         .controller = "karmada-operator",
                                         .instance = m->leader ? leader_identity(m->leader) : NULL,
                                         .metrics = m->metrics},
                &m->events);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

void manager_free(struct manager *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_controllers; i++)
                controller_free(m->controllers[i]);
        for (size_t i = 0; i < m->n_informers; i++)
                informer_free(m->informers[i]);
        leader_free(m->leader);
        http_server_stop(m->metrics_server);
        http_server_stop(m->probe_server);
        events_free(m->events);
        kube_client_free(m->client);
        kube_client_free(m->leader_client);
        metrics_free(m->metrics);
        while (m->n_cleanups > 0) {
                m->n_cleanups--;
                m->cleanups[m->n_cleanups].fn(m->cleanups[m->n_cleanups].data);
        }
        free(m);
}

static int add_call(struct call *list, size_t *n, void (*fn)(void *data), void *data)
{
        if (*n >= MAX_PARTS)
                return -ENOSPC;
        list[(*n)++] = (struct call){.fn = fn, .data = data};
        return 0;
}

int manager_add_stopper(struct manager *m, void (*fn)(void *data), void *data)
{
        return add_call(m->stoppers, &m->n_stoppers, fn, data);
}

int manager_add_cleanup(struct manager *m, void (*fn)(void *data), void *data)
{
        return add_call(m->cleanups, &m->n_cleanups, fn, data);
}

void manager_observe_client(struct manager *m, struct kube_client *c)
{
        kube_client_set_observer(c, observe_request, m);
}

struct kube_client *manager_client(struct manager *m)
{
        return m->client;
}

struct metrics *manager_metrics(struct manager *m)
{
        return m->metrics;
}

struct event_recorder *manager_events(struct manager *m)
{
        return m->events;
}

int manager_add_informer(struct manager *m, struct informer *inf)
{
        if (m->n_informers >= MAX_PARTS)
                return -ENOSPC;
        m->informers[m->n_informers++] = inf;
        return 0;
}

int manager_add_controller(struct manager *m, struct controller *c)
{
        if (m->n_controllers >= MAX_PARTS)
                return -ENOSPC;
        m->controllers[m->n_controllers++] = c;
        return 0;
}

void manager_request_stop(struct manager *m)
{
        atomic_store(&m->stop_requested, true);
}

static bool caches_synced(struct manager *m, struct strbuf *why)
{
        for (size_t i = 0; i < m->n_informers; i++)
                if (!informer_has_synced(m->informers[i])) {
                        if (why)
                                strbuf_printf(why, "informer %s has not synced",
                                              informer_name(m->informers[i]));
                        return false;
                }
        return true;
}

static bool healthz(void *userdata, struct strbuf *why)
{
        struct manager *m = userdata;
        long long age = time_mono_ms() - atomic_load(&m->heartbeat_ms);

        if (age > 30000) {
                strbuf_printf(why, "main loop stalled for %lld ms", age);
                return false;
        }
        return true;
}

static bool readyz(void *userdata, struct strbuf *why)
{
        return caches_synced(userdata, why);
}

static int start_http(struct manager *m)
{
        struct http_server_options h = {.healthz = healthz, .readyz = readyz, .userdata = m};
        int r;

        if (strcmp(m->o.metrics_address, "0") != 0) {
                h.address = m->o.metrics_address;
                h.metrics = m->metrics;
                r = http_server_start(&h, &m->metrics_server);
                if (r < 0) {
                        log_error("cannot listen", "address", m->o.metrics_address, "error",
                                  strerror(-r));
                        return r;
                }
        }
        if (strcmp(m->o.probe_address, "0") != 0 &&
            strcmp(m->o.probe_address, m->o.metrics_address) != 0) {
                h.address = m->o.probe_address;
                h.metrics = m->metrics;
                r = http_server_start(&h, &m->probe_server);
                if (r < 0) {
                        log_error("cannot listen", "address", m->o.probe_address, "error",
                                  strerror(-r));
                        return r;
                }
        }
        return 0;
}

static void start_controllers(struct manager *m)
{
        if (atomic_exchange(&m->controllers_started, true))
                return;
        for (size_t i = 0; i < m->n_controllers; i++)
                controller_start(m->controllers[i]);
}

static size_t queue_depth(struct manager *m)
{
        size_t n = 0;

        for (size_t i = 0; i < m->n_controllers; i++)
                n += wq_len(controller_queue(m->controllers[i]));
        return n;
}

/* The HTTP servers, the informers and the leader elector. */
static int start_parts(struct manager *m)
{
        int r = start_http(m);

        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_informers; i++) {
                r = informer_start(m->informers[i]);
                if (r < 0) {
                        log_error("cannot start informer", "informer",
                                  informer_name(m->informers[i]), "error", strerror(-r));
                        return r;
                }
        }
        return m->leader ? leader_start(m->leader) : 0;
}

/* Stop taking work, let in-flight reconciles finish (bounded), send the last events, release
 * the lease and stop the informers. */
static void stop_parts(struct manager *m)
{
        notify_stopping();
        notify_status("stopping");
        for (size_t i = 0; i < m->n_controllers; i++)
                if (atomic_load(&m->controllers_started) &&
                    !controller_stop(m->controllers[i], m->o.shutdown_timeout_ms))
                        log_warn("reconciles still running at shutdown; exiting without them");
        for (size_t i = 0; i < m->n_stoppers; i++)
                m->stoppers[i].fn(m->stoppers[i].data);
        events_flush(m->events);
        if (m->leader)
                leader_release(m->leader);
        for (size_t i = 0; i < m->n_informers; i++)
                informer_request_stop(m->informers[i]);
        for (size_t i = 0; i < m->n_informers; i++)
                informer_stop(m->informers[i]);
}

/* What the main loop does every tick once running: controllers when leading, resyncs, events,
 * the watchdog and the status line. */
static void close_idle(struct manager *m, long long now)
{
        size_t n;

        if (now - m->idle_checked_ms < CLIENT_IDLE_MS / 3)
                return;
        m->idle_checked_ms = now;
        n = kube_client_close_idle(m->client, CLIENT_IDLE_MS);
        if (m->leader_client)
                n += kube_client_close_idle(m->leader_client, CLIENT_IDLE_MS);
#ifdef __GLIBC__
        if (n)
                malloc_trim(0);
#endif
}

static void tick(struct manager *m, long long now, uint64_t wd_usec, bool *ready_sent,
                 long long *last_wd, long long *last_status)
{
        close_idle(m, now);
        if (!*ready_sent && caches_synced(m, NULL)) {
                *ready_sent = true;
                notify_ready();
                log_info("caches synced");
        }
        if (*ready_sent && (!m->leader || leader_is_leader(m->leader)))
                start_controllers(m);
        for (size_t i = 0; i < m->n_informers; i++)
                informer_resync(m->informers[i]);
        events_flush(m->events);
        if (wd_usec && (now - *last_wd) * 1000 >= (long long)wd_usec) {
                notify_watchdog();
                *last_wd = now;
        }
        if (now - *last_status >= 5000) {
                notify_status("%s, %zu key(s) queued",
                              !m->leader                    ? "running (no leader election)"
                              : leader_is_leader(m->leader) ? "leader"
                                                            : "standby",
                              queue_depth(m));
                *last_status = now;
        }
}

int manager_run(struct manager *m)
{
        uint64_t wd_usec = notify_watchdog_interval_usec();
        long long last_wd = 0, last_status = 0;
        bool ready_sent = false;

        if (start_parts(m) < 0)
                return 1;
        log_info("manager started", "version", KO_VERSION, "leader_election",
                 m->leader ? "on" : "off", "identity",
                 m->leader ? leader_identity(m->leader) : "-");
        for (;;) {
                struct timespec t = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
                long long now = time_mono_ms();
                int sig = sigtimedwait(&m->signals, NULL, &t);

                atomic_store(&m->heartbeat_ms, now);
                if (sig == SIGTERM || sig == SIGINT) {
                        log_info("shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                        break;
                }
                if (atomic_load(&m->stop_requested))
                        break;
                tick(m, now, wd_usec, &ready_sent, &last_wd, &last_status);
        }
        stop_parts(m);
        log_info("stopped");
        return 0;
}
