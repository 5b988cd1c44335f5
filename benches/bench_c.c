/*
 * The C-API side of `make bench` (benches/run.sh drives it).
 *
 *   bench_c MODE ARGS...     against $ETCDC_ENDPOINT
 *
 * Each mode prints one JSON line on stdout with what it measured and `ops`,
 * the number of requests of the counted kind it sent, warm-up included, which
 * the driver compares with the server's own counters (/v2/stats/store). Any
 * failed call prints the reason on stderr and exits 1: a figure is only
 * printed for a run in which every request succeeded and returned the
 * expected result.
 *
 *   seed KEY VALUE_LEN DIR COUNT THREADS  KEY = a value of VALUE_LEN bytes;
 *                                       DIR/k00000.. = COUNT such values
 *   get KEY VALUE_LEN N WARM            N sequential GETs (after WARM)
 *   put KEY VALUE_LEN N WARM            N sequential PUTs of the same value
 *   mget KEY VALUE_LEN THREADS MS WARM  THREADS threads sharing one client,
 *                                       GETs for MS milliseconds (after WARM
 *                                       each), all threads busy throughout:
 *                                       timed like `wrk -d`
 *   recursive DIR COUNT N WARM          N recursive reads of DIR, each walking
 *                                       every leaf (key and value touched)
 *   watch KEY N WARM                    a writer writes, a watcher thread
 *                                       (etcdc_watcher) timestamps delivery
 *   lock NAME CONTENDERS N              N acquire+release cycles in all, by
 *                                       CONTENDERS threads with a lock each
 *   memory KEY VALUE_LEN DIR COUNT N1 N2 R1 R2
 *                                       VmRSS/VmHWM after N1 and N2 GETs,
 *                                       after the first, the R1th and the
 *                                       R2th recursive read
 *
 * The v3 (gRPC) modes, those of benches/bench_rust.rs and benches/etcd-client
 * with the same arguments, checks and JSON line; `ops` is checked against
 * etcd's grpc_server_handled_total (Range or Put):
 *
 *   v3-seed KEY VALUE_LEN               puts KEY (v3 API) = the value, once,
 *                                       and reads it back
 *   v3-range KEY VALUE_LEN N WARM       N sequential linearizable ranges of
 *                                       one key (etcdc_v3_range, opts NULL)
 *   v3-srange KEY VALUE_LEN N WARM      the same, serializable
 *   v3-watch KEY N WARM                 as watch, through an etcdc_v3_watcher
 *                                       (created before the first put)
 *   v3-put KEY VALUE_LEN N WARM         N sequential etcdc_v3_put of the
 *                                       value, revisions checked increasing
 *   v3-mrange KEY VALUE_LEN THREADS MS WARM
 *                                       THREADS threads sharing one client,
 *                                       linearizable ranges for MS ms, as mget
 *   v3-prefix PREFIX COUNT VALUE_LEN N WARM
 *                                       N sequential reads of the prefix
 *                                       (etcdc_v3_range, opts.prefix), each
 *                                       checked: COUNT keys under it, every
 *                                       value of VALUE_LEN bytes (the keys
 *                                       are put by bench_rust v3-seed-prefix)
 *   v3-keepalive LEASES N WARM          grants LEASES leases (TTL 60, not
 *                                       timed), renews them round-robin one
 *                                       at a time with
 *                                       etcdc_v3_lease_keep_alive_once (WARM,
 *                                       then N timed), revokes them (not
 *                                       timed); `grants` and `revokes` in the
 *                                       JSON line are checked too
 *   v3-lock NAME CONTENDERS N WARM      CONTENDERS threads, each with its own
 *                                       client and etcdc_v3_lock (TTL 60),
 *                                       take turns: WARM untimed then
 *                                       N/CONTENDERS acquire + release each;
 *                                       the holder reads NAME-counter and
 *                                       puts it + 1, which must end at the
 *                                       number of acquisitions; `puts` (the
 *                                       counter's, initial one included) is
 *                                       what the driver checks
 *   v3-watches PREFIX COUNT             COUNT etcdc_v3_watchers on one client
 *                                       (keys PREFIX0..), each key put once,
 *                                       every event awaited; then the peak
 *                                       RSS, threads and TCP connections to
 *                                       etcd of this process
 *
 * Every range must return exactly one key, with a value of VALUE_LEN bytes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcdc.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, etcdc_status st) {
    const etcdc_error *e = etcdc_error_last();
    fprintf(stderr, "bench_c: %s: %s (%d): %s\n", what, etcdc_status_str((int)st), (int)st,
            e ? e->message : "");
    exit(1);
}

static void fail(const char *fmt, const char *arg) {
    fprintf(stderr, "bench_c: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static long arg_long(const char *s) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || v < 0)
        fail("not a count: %s", s);
    return v;
}

static etcdc_client *new_client(void) {
    const char *url = getenv("ETCDC_ENDPOINT");
    if (!url || !*url)
        fail("%s is not set", "ETCDC_ENDPOINT");
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    const char *endpoints[1] = {url};
    opts.endpoints = endpoints;
    opts.endpoint_count = 1;
    etcdc_client *c = NULL;
    etcdc_status st = etcdc_client_new(&opts, &c);
    if (st != ETCDC_OK)
        die("etcdc_client_new", st);
    return c;
}

/* The benchmark value: VALUE_LEN bytes of "0123456789", the same string
 * wrk's PUT script and the Python scripts send. */
static char *make_value(long len) {
    char *v = malloc((size_t)len + 1);
    if (!v)
        fail("%s", "out of memory");
    for (long i = 0; i < len; i++)
        v[i] = (char)('0' + i % 10);
    v[len] = 0;
    return v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *sorted, long n, double p) {
    long i = (long)(p / 100.0 * (double)n + 0.999999) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return sorted[i];
}

/* ---- seed ---- */

struct seed_arg {
    etcdc_client *c;
    const char *dir, *value;
    long from, to;
};

static void *seed_thread(void *p) {
    struct seed_arg *a = p;
    char key[256];
    for (long i = a->from; i < a->to; i++) {
        snprintf(key, sizeof key, "%s/k%05ld", a->dir, i);
        etcdc_status st = etcdc_write(a->c, key, a->value, NULL, NULL);
        if (st != ETCDC_OK)
            die("seed write", st);
    }
    return NULL;
}

static int mode_seed(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    char *value = make_value(arg_long(argv[1]));
    const char *dir = argv[2];
    long count = arg_long(argv[3]), threads = arg_long(argv[4]);
    if (threads < 1 || threads > 64)
        fail("bad thread count %s", argv[4]);
    etcdc_status st = etcdc_write(c, key, value, NULL, NULL);
    if (st != ETCDC_OK)
        die("seed key", st);
    /* A fresh directory: remove what a previous seed left. */
    etcdc_delete_options del = ETCDC_DELETE_OPTIONS_INIT;
    del.recursive = true;
    st = etcdc_delete(c, dir, &del, NULL);
    if (st != ETCDC_OK && st != ETCDC_ERR_KEY_NOT_FOUND)
        die("seed clear dir", st);
    pthread_t tid[64];
    struct seed_arg args[64];
    for (long t = 0; t < threads; t++) {
        args[t] = (struct seed_arg){c, dir, value, count * t / threads, count * (t + 1) / threads};
        if (pthread_create(&tid[t], NULL, seed_thread, &args[t]))
            fail("%s", "pthread_create");
    }
    for (long t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    printf("{\"mode\":\"seed\",\"ops\":%ld}\n", count + 1);
    free(value);
    return 0;
}

/* ---- sequential GET / PUT ---- */

static void get_once(etcdc_client *c, const char *key, size_t len) {
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_read(c, key, NULL, &r);
    if (st != ETCDC_OK)
        die("get", st);
    if (etcdc_node_value_len(etcdc_response_node(r)) != len)
        fail("get %s: unexpected value length", key);
    etcdc_response_free(r);
}

static int mode_get(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    size_t len = (size_t)arg_long(argv[1]);
    long n = arg_long(argv[2]), warm = arg_long(argv[3]);
    for (long i = 0; i < warm; i++)
        get_once(c, key, len);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        get_once(c, key, len);
    double s = now_s() - t0;
    printf("{\"mode\":\"get\",\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n", n + warm,
           n, s, (double)n / s);
    return 0;
}

static void put_once(etcdc_client *c, const char *key, const char *value) {
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_write(c, key, value, NULL, &r);
    if (st != ETCDC_OK)
        die("put", st);
    if (strcmp(etcdc_node_value(etcdc_response_node(r)), value) != 0)
        fail("put %s: etcd echoed another value", key);
    etcdc_response_free(r);
}

static int mode_put(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    char *value = make_value(arg_long(argv[1]));
    long n = arg_long(argv[2]), warm = arg_long(argv[3]);
    for (long i = 0; i < warm; i++)
        put_once(c, key, value);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        put_once(c, key, value);
    double s = now_s() - t0;
    printf("{\"mode\":\"put\",\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n", n + warm,
           n, s, (double)n / s);
    free(value);
    return 0;
}

/* ---- GET from threads sharing one client ---- */

struct mget_arg {
    etcdc_client *c;
    const char *key;
    size_t len;
    long warm, done;
    atomic_bool *stop;
    pthread_barrier_t *warmed, *go;
};

static void *mget_thread(void *p) {
    struct mget_arg *a = p;
    for (long i = 0; i < a->warm; i++)
        get_once(a->c, a->key, a->len);
    pthread_barrier_wait(a->warmed);
    pthread_barrier_wait(a->go);
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        get_once(a->c, a->key, a->len);
        a->done++;
    }
    return NULL;
}

/* Fixed duration rather than a fixed count per thread: with a count, threads
 * finish up to a third of the run apart on 2 CPUs, and the tail runs with
 * fewer requests in flight than wrk ever has. */
static int mode_mget(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    size_t len = (size_t)arg_long(argv[1]);
    long threads = arg_long(argv[2]), ms = arg_long(argv[3]), warm = arg_long(argv[4]);
    if (threads < 1 || threads > 64)
        fail("bad thread count %s", argv[2]);
    atomic_bool stop = false;
    pthread_barrier_t warmed, go;
    pthread_barrier_init(&warmed, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    pthread_t tid[64];
    struct mget_arg args[64];
    for (long t = 0; t < threads; t++) {
        args[t] = (struct mget_arg){c, key, len, warm, 0, &stop, &warmed, &go};
        if (pthread_create(&tid[t], NULL, mget_thread, &args[t]))
            fail("%s", "pthread_create");
    }
    pthread_barrier_wait(&warmed);
    double t0 = now_s();
    pthread_barrier_wait(&go);
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    atomic_store(&stop, true);
    long total = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        total += args[t].done;
    }
    double s = now_s() - t0;
    pthread_barrier_destroy(&warmed);
    pthread_barrier_destroy(&go);
    printf("{\"mode\":\"mget\",\"threads\":%ld,\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,"
           "\"rate\":%.1f}\n",
           threads, threads * warm + total, total, s, (double)total / s);
    return 0;
}

/* ---- recursive read + leaf walk ---- */

static uint64_t read_tree(etcdc_client *c, const char *dir, size_t count) {
    etcdc_read_options ro = ETCDC_READ_OPTIONS_INIT;
    ro.recursive = true;
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_read(c, dir, &ro, &r);
    if (st != ETCDC_OK)
        die("recursive read", st);
    size_t leaves = etcdc_response_leaf_count(r);
    if (leaves != count)
        fail("recursive read of %s: unexpected leaf count", dir);
    uint64_t sum = 0;
    for (size_t i = 0; i < leaves; i++) {
        const etcdc_node *n = etcdc_response_leaf(r, i);
        sum += (uint64_t)strlen(etcdc_node_key(n)) + etcdc_node_value_len(n) +
               (uint64_t)(unsigned char)etcdc_node_value(n)[0];
    }
    etcdc_response_free(r);
    return sum;
}

static int mode_recursive(etcdc_client *c, char **argv) {
    const char *dir = argv[0];
    size_t count = (size_t)arg_long(argv[1]);
    long n = arg_long(argv[2]), warm = arg_long(argv[3]);
    uint64_t check = 0;
    for (long i = 0; i < warm; i++)
        check += read_tree(c, dir, count);
    double *t = calloc((size_t)n, sizeof *t);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        double a = now_s();
        check += read_tree(c, dir, count);
        t[i] = now_s() - a;
    }
    double s = now_s() - t0;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("{\"mode\":\"recursive\",\"ops\":%ld,\"n\":%ld,\"leaves\":%zu,\"seconds\":%.6f,"
           "\"ms_per_read\":%.3f,\"ms_p50\":%.3f,\"check\":%" PRIu64 "}\n",
           n + warm, n, count, s, s * 1e3 / (double)n, pct(t, n, 50) * 1e3, check);
    free(t);
    return 0;
}

/* ---- watch latency ---- */

struct watch_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    double *sent;     /* when the writer started write i */
    double *latency;  /* delivery time - sent, per event */
    long received;    /* events delivered so far */
    long total;
    etcdc_watcher *w;
    etcdc_v3_watcher *w3; /* v3-watch */
    int error;
};

static void *watch_thread(void *p) {
    struct watch_state *s = p;
    for (long i = 0; i < s->total; i++) {
        etcdc_response *r = NULL;
        etcdc_status st = etcdc_watcher_next(s->w, 10000, &r);
        double t = now_s();
        if (st != ETCDC_OK) {
            const etcdc_error *e = etcdc_error_last();
            fprintf(stderr, "bench_c: watcher_next: %s: %s\n", etcdc_status_str((int)st),
                    e ? e->message : "");
            pthread_mutex_lock(&s->mu);
            s->error = 1;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        long got = strtol(etcdc_node_value(etcdc_response_node(r)), NULL, 10);
        etcdc_response_free(r);
        pthread_mutex_lock(&s->mu);
        if (got != i) {
            fprintf(stderr, "bench_c: watch: event %ld carried value %ld\n", i, got);
            s->error = 1;
        } else {
            s->latency[i] = t - s->sent[i];
        }
        s->received = i + 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (got != i)
            return NULL;
    }
    return NULL;
}

static int mode_watch(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    long n = arg_long(argv[1]), warm = arg_long(argv[2]);
    long total = n + warm;
    /* Start the watcher just after etcd's current index, so that no write is
     * missed whether or not its first poll has reached etcd. */
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_write(c, key, "start", NULL, &r);
    if (st != ETCDC_OK)
        die("watch: first write", st);
    etcdc_watch_options wo = ETCDC_WATCH_OPTIONS_INIT;
    wo.wait_index = etcdc_node_modified_index(etcdc_response_node(r)) + 1;
    etcdc_response_free(r);
    struct watch_state s = {.total = total};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.sent = calloc((size_t)total, sizeof(double));
    s.latency = calloc((size_t)total, sizeof(double));
    double *rtt = calloc((size_t)total, sizeof(double));
    st = etcdc_watcher_new(c, key, &wo, &s.w);
    if (st != ETCDC_OK)
        die("watcher_new", st);
    pthread_t tid;
    if (pthread_create(&tid, NULL, watch_thread, &s))
        fail("%s", "pthread_create");
    char value[32];
    for (long i = 0; i < total; i++) {
        snprintf(value, sizeof value, "%ld", i);
        pthread_mutex_lock(&s.mu);
        s.sent[i] = now_s();
        pthread_mutex_unlock(&s.mu);
        st = etcdc_write(c, key, value, NULL, NULL);
        rtt[i] = now_s() - s.sent[i];
        if (st != ETCDC_OK)
            die("watch: write", st);
        /* One event in flight at a time: each is measured alone. */
        pthread_mutex_lock(&s.mu);
        while (s.received <= i && !s.error)
            pthread_cond_wait(&s.cv, &s.mu);
        int error = s.error;
        pthread_mutex_unlock(&s.mu);
        if (error) {
            etcdc_watcher_cancel(s.w);
            pthread_join(tid, NULL);
            exit(1);
        }
    }
    pthread_join(tid, NULL);
    etcdc_watcher_free(s.w);
    double *lat = s.latency + warm, *put = rtt + warm;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    qsort(put, (size_t)n, sizeof *put, cmp_double);
    printf("{\"mode\":\"watch\",\"ops\":%ld,\"n\":%ld,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
           "\"max_ms\":%.4f,\"write_p50_ms\":%.4f}\n",
           total + 1, n, pct(lat, n, 50) * 1e3, pct(lat, n, 99) * 1e3, lat[n - 1] * 1e3,
           pct(put, n, 50) * 1e3);
    free(s.sent);
    free(s.latency);
    free(rtt);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    return 0;
}

/* ---- v3 watch latency: as watch, through an etcdc_v3_watcher ---- */

static void *v3_watch_thread(void *p) {
    struct watch_state *s = p;
    for (long i = 0; i < s->total; i++) {
        etcdc_v3_event *ev = NULL;
        etcdc_status st = etcdc_v3_watcher_next(s->w3, 10000, &ev);
        double t = now_s();
        long got = -1;
        if (st == ETCDC_OK) {
            const etcdc_v3_kv *kv = etcdc_v3_event_kv(ev);
            char buf[32] = {0};
            memcpy(buf, kv->value, kv->value_len < 31 ? kv->value_len : 31);
            got = strtol(buf, NULL, 10);
            etcdc_v3_event_free(ev);
        } else {
            const etcdc_error *e = etcdc_error_last();
            fprintf(stderr, "bench_c: v3 watcher_next: %s: %s\n", etcdc_status_str((int)st),
                    e ? e->message : "");
        }
        pthread_mutex_lock(&s->mu);
        if (got != i) {
            if (st == ETCDC_OK)
                fprintf(stderr, "bench_c: v3 watch: event %ld carried value %ld\n", i, got);
            s->error = 1;
        } else {
            s->latency[i] = t - s->sent[i];
        }
        s->received = i + 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (got != i)
            return NULL;
    }
    return NULL;
}

static int mode_v3_watch(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    long n = arg_long(argv[1]), warm = arg_long(argv[2]);
    long total = n + warm;
    struct watch_state s = {.total = total};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.sent = calloc((size_t)total, sizeof(double));
    s.latency = calloc((size_t)total, sizeof(double));
    double *rtt = calloc((size_t)total, sizeof(double));
    /* Returns once etcd created the watch: every later put is delivered. */
    etcdc_status st = etcdc_v3_watcher_new(c, key, strlen(key), NULL, &s.w3);
    if (st != ETCDC_OK)
        die("v3 watcher_new", st);
    pthread_t tid;
    if (pthread_create(&tid, NULL, v3_watch_thread, &s))
        fail("%s", "pthread_create");
    char value[32];
    for (long i = 0; i < total; i++) {
        int len = snprintf(value, sizeof value, "%ld", i);
        pthread_mutex_lock(&s.mu);
        s.sent[i] = now_s();
        pthread_mutex_unlock(&s.mu);
        st = etcdc_v3_put(c, key, strlen(key), value, (size_t)len, NULL, NULL);
        rtt[i] = now_s() - s.sent[i];
        if (st != ETCDC_OK)
            die("v3 watch: put", st);
        /* One event in flight at a time: each is measured alone. */
        pthread_mutex_lock(&s.mu);
        while (s.received <= i && !s.error)
            pthread_cond_wait(&s.cv, &s.mu);
        int error = s.error;
        pthread_mutex_unlock(&s.mu);
        if (error) {
            etcdc_v3_watcher_cancel(s.w3);
            pthread_join(tid, NULL);
            exit(1);
        }
    }
    pthread_join(tid, NULL);
    etcdc_v3_watcher_free(s.w3);
    double *lat = s.latency + warm, *put = rtt + warm;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    qsort(put, (size_t)n, sizeof *put, cmp_double);
    printf("{\"mode\":\"v3-watch\",\"ops\":%ld,\"n\":%ld,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
           "\"max_ms\":%.4f,\"write_p50_ms\":%.4f}\n",
           total, n, pct(lat, n, 50) * 1e3, pct(lat, n, 99) * 1e3, lat[n - 1] * 1e3,
           pct(put, n, 50) * 1e3);
    free(s.sent);
    free(s.latency);
    free(rtt);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    return 0;
}

/* ---- lock ---- */

struct lock_arg {
    etcdc_client *c;
    const char *name;
    long cycles;
    double *acquire; /* time spent in each acquire */
    pthread_barrier_t *go;
};

static atomic_int holders;
static atomic_int exclusion_violations;

static void *lock_thread(void *p) {
    struct lock_arg *a = p;
    etcdc_lock *l = NULL;
    etcdc_status st = etcdc_lock_new(a->c, a->name, NULL, &l);
    if (st != ETCDC_OK)
        die("lock_new", st);
    pthread_barrier_wait(a->go);
    for (long i = 0; i < a->cycles; i++) {
        double t0 = now_s();
        st = etcdc_lock_acquire(l, 30000);
        a->acquire[i] = now_s() - t0;
        if (st != ETCDC_OK)
            die("lock_acquire", st);
        if (atomic_fetch_add(&holders, 1) != 0)
            atomic_fetch_add(&exclusion_violations, 1);
        atomic_fetch_sub(&holders, 1);
        st = etcdc_lock_release(l);
        if (st != ETCDC_OK)
            die("lock_release", st);
    }
    etcdc_lock_free(l);
    return NULL;
}

static int mode_lock(etcdc_client *c, char **argv) {
    const char *name = argv[0];
    long contenders = arg_long(argv[1]), n = arg_long(argv[2]);
    if (contenders < 1 || contenders > 64)
        fail("bad contender count %s", argv[1]);
    long per = n / contenders;
    n = per * contenders;
    double *acq = calloc((size_t)n, sizeof *acq);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)contenders + 1);
    pthread_t tid[64];
    struct lock_arg args[64];
    for (long t = 0; t < contenders; t++) {
        args[t] = (struct lock_arg){c, name, per, acq + t * per, &go};
        if (pthread_create(&tid[t], NULL, lock_thread, &args[t]))
            fail("%s", "pthread_create");
    }
    double t0 = now_s();
    pthread_barrier_wait(&go);
    for (long t = 0; t < contenders; t++)
        pthread_join(tid[t], NULL);
    double s = now_s() - t0;
    pthread_barrier_destroy(&go);
    if (atomic_load(&exclusion_violations))
        fail("%s", "lock: two holders at once");
    qsort(acq, (size_t)n, sizeof *acq, cmp_double);
    printf("{\"mode\":\"lock\",\"contenders\":%ld,\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,"
           "\"rate\":%.1f,\"ms_per_cycle\":%.3f,\"acquire_p50_ms\":%.3f,\"acquire_p99_ms\":%.3f}\n",
           contenders, n, n, s, (double)n / s, s * 1e3 / (double)n, pct(acq, n, 50) * 1e3,
           pct(acq, n, 99) * 1e3);
    free(acq);
    return 0;
}

/* ---- memory ---- */

/* VmRSS and VmHWM of this process, in kB. */
static void rss_kb(long *rss, long *hwm) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        fail("%s", "cannot open /proc/self/status");
    char line[256];
    *rss = *hwm = -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "VmHWM:", 6))
            *hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

static int mode_memory(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    size_t len = (size_t)arg_long(argv[1]);
    const char *dir = argv[2];
    size_t count = (size_t)arg_long(argv[3]);
    long n1 = arg_long(argv[4]), n2 = arg_long(argv[5]);
    long r1 = arg_long(argv[6]), r2 = arg_long(argv[7]);
    if (n2 < n1 || r2 < r1 || r1 < 1)
        fail("%s", "memory: want N1 <= N2, 1 <= R1 <= R2");
    long rss0, hwm0, rss1, hwm1, rss2, hwm2, rss3, hwm3, rss4, hwm4;
    rss_kb(&rss0, &hwm0);
    long i = 0;
    for (; i < n1; i++)
        get_once(c, key, len);
    rss_kb(&rss1, &hwm1);
    for (; i < n2; i++)
        get_once(c, key, len);
    rss_kb(&rss2, &hwm2);
    long rss_first, hwm_first;
    read_tree(c, dir, count);
    rss_kb(&rss_first, &hwm_first);
    long j = 1;
    for (; j < r1; j++)
        read_tree(c, dir, count);
    rss_kb(&rss3, &hwm3);
    for (; j < r2; j++)
        read_tree(c, dir, count);
    rss_kb(&rss4, &hwm4);
    printf("{\"mode\":\"memory\",\"ops\":%ld,\"start_rss_kb\":%ld,"
           "\"gets1\":%ld,\"gets1_rss_kb\":%ld,\"gets1_hwm_kb\":%ld,"
           "\"gets2\":%ld,\"gets2_rss_kb\":%ld,\"gets2_hwm_kb\":%ld,"
           "\"first_read_rss_kb\":%ld,\"first_read_hwm_kb\":%ld,"
           "\"reads1\":%ld,\"reads1_rss_kb\":%ld,\"reads1_hwm_kb\":%ld,"
           "\"reads2\":%ld,\"reads2_rss_kb\":%ld,\"reads2_hwm_kb\":%ld}\n",
           n2 + r2, rss0, n1, rss1, hwm1, n2, rss2, hwm2, rss_first, hwm_first, r1, rss3, hwm3, r2,
           rss4, hwm4);
    return 0;
}

/* ---- v3 (gRPC) ---- */

/* One v3 range of `key`: exactly one key comes back, with a value of `len`
 * bytes (what bench_rust and the etcd-client contender check too). */
static void v3_range_once(const etcdc_client *c, const char *key, size_t len, bool serializable) {
    etcdc_v3_range_options ro = ETCDC_V3_RANGE_OPTIONS_INIT;
    ro.serializable = serializable;
    etcdc_v3_range_response *r = NULL;
    etcdc_status st = etcdc_v3_range(c, key, strlen(key), serializable ? &ro : NULL, &r);
    if (st != ETCDC_OK)
        die(serializable ? "v3 range" : "v3 get", st);
    size_t kvs = etcdc_v3_range_response_kv_count(r);
    const etcdc_v3_kv *kv = kvs == 1 ? etcdc_v3_range_response_kv(r, 0) : NULL;
    if (!kv || kv->value_len != len) {
        fprintf(stderr, "bench_c: v3 range %s: %zu keys, not one of %zu bytes\n", key, kvs, len);
        exit(1);
    }
    etcdc_v3_range_response_free(r);
}

static int v3_range(etcdc_client *c, char **argv, bool serializable) {
    const char *key = argv[0];
    size_t len = (size_t)arg_long(argv[1]);
    long n = arg_long(argv[2]), warm = arg_long(argv[3]);
    for (long i = 0; i < warm; i++)
        v3_range_once(c, key, len, serializable);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        v3_range_once(c, key, len, serializable);
    double s = now_s() - t0;
    printf("{\"mode\":\"%s\",\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n",
           serializable ? "v3-srange" : "v3-range", n + warm, n, s, (double)n / s);
    return 0;
}

static int mode_v3_range(etcdc_client *c, char **argv) {
    return v3_range(c, argv, false);
}

static int mode_v3_srange(etcdc_client *c, char **argv) {
    return v3_range(c, argv, true);
}

static int mode_v3_seed(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    long len = arg_long(argv[1]);
    char *value = make_value(len);
    etcdc_status st = etcdc_v3_put(c, key, strlen(key), value, (size_t)len, NULL, NULL);
    if (st != ETCDC_OK)
        die("v3 seed", st);
    v3_range_once(c, key, (size_t)len, false);
    printf("{\"mode\":\"v3-seed\",\"ops\":1}\n");
    free(value);
    return 0;
}

/* One v3 put; its revision must be above the previous one's (`*last`). */
static void v3_put_once(const etcdc_client *c, const char *key, const char *value, size_t len,
                        int64_t *last) {
    etcdc_v3_put_response *r = NULL;
    etcdc_status st = etcdc_v3_put(c, key, strlen(key), value, len, NULL, &r);
    if (st != ETCDC_OK)
        die("v3 put", st);
    int64_t rev = etcdc_v3_put_response_header(r)->revision;
    etcdc_v3_put_response_free(r);
    if (rev <= *last) {
        fprintf(stderr, "bench_c: v3 put: revision %" PRId64 " after %" PRId64 "\n", rev, *last);
        exit(1);
    }
    *last = rev;
}

static int mode_v3_put(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    size_t len = (size_t)arg_long(argv[1]);
    char *value = make_value((long)len);
    long n = arg_long(argv[2]), warm = arg_long(argv[3]);
    int64_t last = 0;
    for (long i = 0; i < warm; i++)
        v3_put_once(c, key, value, len, &last);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        v3_put_once(c, key, value, len, &last);
    double s = now_s() - t0;
    printf("{\"mode\":\"v3-put\",\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n",
           n + warm, n, s, (double)n / s);
    free(value);
    return 0;
}

static void *v3_mrange_thread(void *p) {
    struct mget_arg *a = p;
    for (long i = 0; i < a->warm; i++)
        v3_range_once(a->c, a->key, a->len, false);
    pthread_barrier_wait(a->warmed);
    pthread_barrier_wait(a->go);
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        v3_range_once(a->c, a->key, a->len, false);
        a->done++;
    }
    return NULL;
}

/* As mget: THREADS threads sharing one client, for a fixed time. */
static int mode_v3_mrange(etcdc_client *c, char **argv) {
    const char *key = argv[0];
    size_t len = (size_t)arg_long(argv[1]);
    long threads = arg_long(argv[2]), ms = arg_long(argv[3]), warm = arg_long(argv[4]);
    if (threads < 1 || threads > 64)
        fail("bad thread count %s", argv[2]);
    atomic_bool stop = false;
    pthread_barrier_t warmed, go;
    pthread_barrier_init(&warmed, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    pthread_t tid[64];
    struct mget_arg args[64];
    for (long t = 0; t < threads; t++) {
        args[t] = (struct mget_arg){c, key, len, warm, 0, &stop, &warmed, &go};
        if (pthread_create(&tid[t], NULL, v3_mrange_thread, &args[t]))
            fail("%s", "pthread_create");
    }
    pthread_barrier_wait(&warmed);
    double t0 = now_s();
    pthread_barrier_wait(&go);
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    atomic_store(&stop, true);
    long total = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        total += args[t].done;
    }
    double s = now_s() - t0;
    pthread_barrier_destroy(&warmed);
    pthread_barrier_destroy(&go);
    printf("{\"mode\":\"v3-mrange\",\"threads\":%ld,\"ops\":%ld,\"n\":%ld,\"seconds\":%.6f,"
           "\"rate\":%.1f}\n",
           threads, threads * warm + total, total, s, (double)total / s);
    return 0;
}

/* ---- v3 prefix read ---- */

/* One read of the prefix: exactly `count` keys, all under it, every value of
 * `len` bytes (what bench_rust and the etcd-client contender check too). */
static void v3_prefix_once(const etcdc_client *c, const char *prefix, size_t count, size_t len) {
    etcdc_v3_range_options ro = ETCDC_V3_RANGE_OPTIONS_INIT;
    ro.prefix = true;
    etcdc_v3_range_response *r = NULL;
    etcdc_status st = etcdc_v3_range(c, prefix, strlen(prefix), &ro, &r);
    if (st != ETCDC_OK)
        die("v3 prefix range", st);
    size_t kvs = etcdc_v3_range_response_kv_count(r);
    if (kvs != count || etcdc_v3_range_response_count(r) != (int64_t)count ||
        etcdc_v3_range_response_more(r)) {
        fprintf(stderr, "bench_c: v3 prefix %s: %zu keys, not %zu\n", prefix, kvs, count);
        exit(1);
    }
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < kvs; i++) {
        const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, i);
        if (kv->value_len != len || kv->key_len < plen || memcmp(kv->key, prefix, plen) != 0) {
            fprintf(stderr, "bench_c: v3 prefix %s: key %s with %zu bytes\n", prefix,
                    (const char *)kv->key, kv->value_len);
            exit(1);
        }
    }
    etcdc_v3_range_response_free(r);
}

static int mode_v3_prefix(etcdc_client *c, char **argv) {
    const char *prefix = argv[0];
    size_t count = (size_t)arg_long(argv[1]), len = (size_t)arg_long(argv[2]);
    long n = arg_long(argv[3]), warm = arg_long(argv[4]);
    for (long i = 0; i < warm; i++)
        v3_prefix_once(c, prefix, count, len);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        v3_prefix_once(c, prefix, count, len);
    double s = now_s() - t0;
    printf("{\"mode\":\"v3-prefix\",\"ops\":%ld,\"n\":%ld,\"keys\":%zu,\"seconds\":%.6f,"
           "\"rate\":%.2f,\"keys_per_s\":%.0f,\"ms_per_read\":%.3f}\n",
           n + warm, n, count, s, (double)n / s, (double)n * (double)count / s,
           s * 1e3 / (double)n);
    return 0;
}

/* ---- v3 lease keep-alive ---- */

static int mode_v3_keepalive(etcdc_client *c, char **argv) {
    long leases = arg_long(argv[0]), n = arg_long(argv[1]), warm = arg_long(argv[2]);
    if (leases < 1)
        fail("%s", "v3 keepalive: at least one lease");
    int64_t *ids = calloc((size_t)leases, sizeof *ids);
    if (!ids)
        fail("%s", "out of memory");
    for (long i = 0; i < leases; i++) {
        int64_t ttl = 0;
        etcdc_status st = etcdc_v3_lease_grant(c, 60, 0, &ids[i], &ttl);
        if (st != ETCDC_OK)
            die("v3 lease grant", st);
        if (ttl <= 0)
            fail("%s", "v3 lease grant: TTL not positive");
    }
    /* Round-robin over the leases, one renewal in flight. */
    double t0 = 0;
    for (long i = 0; i < warm + n; i++) {
        if (i == warm)
            t0 = now_s();
        int64_t ttl = 0;
        etcdc_status st = etcdc_v3_lease_keep_alive_once(c, ids[i % leases], &ttl);
        if (st != ETCDC_OK)
            die("v3 keep-alive", st);
        if (ttl <= 0)
            fail("%s", "v3 keep-alive: TTL not positive");
    }
    double s = now_s() - t0;
    for (long i = 0; i < leases; i++) {
        etcdc_status st = etcdc_v3_lease_revoke(c, ids[i], NULL);
        if (st != ETCDC_OK)
            die("v3 lease revoke", st);
    }
    free(ids);
    printf("{\"mode\":\"v3-keepalive\",\"ops\":%ld,\"n\":%ld,\"leases\":%ld,\"grants\":%ld,"
           "\"revokes\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n",
           n + warm, n, leases, leases, leases, s, (double)n / s);
    return 0;
}

/* ---- v3 lock ---- */

struct v3_lock_arg {
    const char *name, *counter;
    long warm, cycles;
    double *acquire; /* time spent in each timed acquire */
    pthread_barrier_t *ready, *go;
};

static atomic_int v3_holders;

/* The counter's value (a decimal number). */
static long v3_counter_value(const etcdc_client *c, const char *key) {
    etcdc_v3_range_response *r = NULL;
    etcdc_status st = etcdc_v3_range(c, key, strlen(key), NULL, &r);
    if (st != ETCDC_OK)
        die("v3 lock: counter get", st);
    const etcdc_v3_kv *kv =
        etcdc_v3_range_response_kv_count(r) == 1 ? etcdc_v3_range_response_kv(r, 0) : NULL;
    if (!kv)
        fail("v3 lock: %s is gone", key);
    char *end = NULL;
    long v = strtol((const char *)kv->value, &end, 10);
    if (kv->value_len == 0 || end != (const char *)kv->value + kv->value_len)
        fail("v3 lock: %s holds no count", key);
    etcdc_v3_range_response_free(r);
    return v;
}

/* One acquisition: acquire, a read and a put of the counter (not atomic:
 * two holders at once would lose an increment), release. Returns the time
 * the acquire took. */
static double v3_lock_cycle(const etcdc_client *c, etcdc_v3_lock *l, const char *counter) {
    double t0 = now_s();
    etcdc_status st = etcdc_v3_lock_acquire(l, 60000);
    double waited = now_s() - t0;
    if (st != ETCDC_OK)
        die("v3 lock acquire", st);
    if (atomic_fetch_add(&v3_holders, 1) != 0)
        fail("%s", "v3 lock: two holders at once");
    long v = v3_counter_value(c, counter);
    char value[32];
    int len = snprintf(value, sizeof value, "%ld", v + 1);
    st = etcdc_v3_put(c, counter, strlen(counter), value, (size_t)len, NULL, NULL);
    if (st != ETCDC_OK)
        die("v3 lock: counter put", st);
    atomic_fetch_sub(&v3_holders, 1);
    st = etcdc_v3_lock_release(l);
    if (st != ETCDC_OK)
        die("v3 lock release", st);
    return waited;
}

static void *v3_lock_thread(void *p) {
    struct v3_lock_arg *a = p;
    etcdc_client *c = new_client();
    etcdc_v3_lock_options lo = ETCDC_V3_LOCK_OPTIONS_INIT;
    lo.ttl = 60;
    etcdc_v3_lock *l = NULL;
    etcdc_status st = etcdc_v3_lock_new(c, a->name, strlen(a->name), &lo, &l);
    if (st != ETCDC_OK)
        die("v3 lock_new", st);
    for (long i = 0; i < a->warm; i++)
        v3_lock_cycle(c, l, a->counter);
    pthread_barrier_wait(a->ready);
    pthread_barrier_wait(a->go);
    for (long i = 0; i < a->cycles; i++)
        a->acquire[i] = v3_lock_cycle(c, l, a->counter);
    etcdc_v3_lock_free(l);
    etcdc_client_free(c);
    return NULL;
}

static int mode_v3_lock(etcdc_client *c, char **argv) {
    const char *name = argv[0];
    long contenders = arg_long(argv[1]), n = arg_long(argv[2]), warm = arg_long(argv[3]);
    if (contenders < 1 || contenders > 64)
        fail("bad contender count %s", argv[1]);
    long per = n / contenders;
    n = per * contenders;
    char counter[512];
    snprintf(counter, sizeof counter, "%s-counter", name);
    etcdc_status st = etcdc_v3_put(c, counter, strlen(counter), "0", 1, NULL, NULL);
    if (st != ETCDC_OK)
        die("v3 lock: counter", st);
    double *acq = calloc((size_t)n + 1, sizeof *acq);
    pthread_barrier_t ready, go;
    pthread_barrier_init(&ready, NULL, (unsigned)contenders + 1);
    pthread_barrier_init(&go, NULL, (unsigned)contenders + 1);
    pthread_t tid[64];
    struct v3_lock_arg args[64];
    for (long t = 0; t < contenders; t++) {
        args[t] = (struct v3_lock_arg){name, counter, warm, per, acq + t * per, &ready, &go};
        if (pthread_create(&tid[t], NULL, v3_lock_thread, &args[t]))
            fail("%s", "pthread_create");
    }
    pthread_barrier_wait(&ready);
    double t0 = now_s();
    pthread_barrier_wait(&go);
    for (long t = 0; t < contenders; t++)
        pthread_join(tid[t], NULL);
    double s = now_s() - t0;
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&go);
    long ops = n + contenders * warm;
    long total = v3_counter_value(c, counter);
    if (total != ops) {
        fprintf(stderr, "bench_c: v3 lock: the counter is %ld after %ld acquisitions\n", total,
                ops);
        exit(1);
    }
    qsort(acq, (size_t)n, sizeof *acq, cmp_double);
    printf("{\"mode\":\"v3-lock\",\"contenders\":%ld,\"ops\":%ld,\"n\":%ld,\"puts\":%ld,"
           "\"counter\":%ld,\"seconds\":%.6f,\"rate\":%.1f,\"acquire_p50_ms\":%.3f,"
           "\"acquire_p99_ms\":%.3f}\n",
           contenders, ops, n, ops + 1, total, s, (double)n / s, pct(acq, n, 50) * 1e3,
           pct(acq, n, 99) * 1e3);
    free(acq);
    return 0;
}

/* ---- v3 watches: what 1,000 watches cost ---- */

/* The threads of this process (/proc/self/task). */
static long thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d)
        fail("%s", "cannot open /proc/self/task");
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* The socket descriptors of this process (*sockets), and how many of them
 * are established TCP connections to `port` (*conns): their inodes looked
 * up in /proc/self/net/tcp and tcp6, as bench_rust counts them. */
static void socket_counts(unsigned port, long *sockets, long *conns) {
    unsigned long inodes[4096];
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        fail("%s", "cannot open /proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = 0;
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) == 1 && n < 4096)
            inodes[n++] = inode;
    }
    closedir(d);
    *sockets = n;
    *conns = 0;
    const char *tables[2] = {"/proc/self/net/tcp", "/proc/self/net/tcp6"};
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        if (!f)
            continue;
        char line[512];
        if (!fgets(line, sizeof line, f)) { /* the header */
            fclose(f);
            continue;
        }
        while (fgets(line, sizeof line, f)) {
            /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
            char rem[64];
            unsigned st;
            unsigned long inode;
            if (sscanf(line, " %*s %*s %63s %x %*s %*s %*s %*s %*s %lu", rem, &st, &inode) != 3)
                continue;
            char *colon = strrchr(rem, ':');
            if (!colon || strtoul(colon + 1, NULL, 16) != port || st != 1) /* 1: established */
                continue;
            for (long i = 0; i < n; i++)
                if (inodes[i] == inode) {
                    (*conns)++;
                    break;
                }
        }
        fclose(f);
    }
}

/* The port of $ETCDC_ENDPOINT. */
static unsigned etcd_port(void) {
    const char *url = getenv("ETCDC_ENDPOINT");
    const char *colon = url ? strrchr(url, ':') : NULL;
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (port <= 0 || port > 65535)
        fail("no port in ETCDC_ENDPOINT %s", url ? url : "");
    return (unsigned)port;
}

static int mode_v3_watches(etcdc_client *c, char **argv) {
    const char *prefix = argv[0];
    long n = arg_long(argv[1]);
    if (n < 1)
        fail("%s", "v3 watches: at least one watch");
    char key[512];
    /* Connected before the baseline (a range, not counted as a put). */
    snprintf(key, sizeof key, "%s0", prefix);
    etcdc_status st = etcdc_v3_range(c, key, strlen(key), NULL, NULL);
    if (st != ETCDC_OK)
        die("v3 watches: first range", st);
    long rss0, hwm0;
    rss_kb(&rss0, &hwm0);
    long threads0 = thread_count();
    etcdc_v3_watcher **w = calloc((size_t)n, sizeof *w);
    if (!w)
        fail("%s", "out of memory");
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s%ld", prefix, i);
        st = etcdc_v3_watcher_new(c, key, strlen(key), NULL, &w[i]);
        if (st != ETCDC_OK)
            die("v3 watcher_new", st);
    }
    double create_ms = (now_s() - t0) * 1e3;
    for (long i = 0; i < n; i++) {
        char value[32];
        snprintf(key, sizeof key, "%s%ld", prefix, i);
        int len = snprintf(value, sizeof value, "%ld", i);
        st = etcdc_v3_put(c, key, strlen(key), value, (size_t)len, NULL, NULL);
        if (st != ETCDC_OK)
            die("v3 watches: put", st);
    }
    for (long i = 0; i < n; i++) {
        etcdc_v3_event *ev = NULL;
        st = etcdc_v3_watcher_next(w[i], 10000, &ev);
        if (st != ETCDC_OK)
            die("v3 watches: watcher_next", st);
        const etcdc_v3_kv *kv = etcdc_v3_event_kv(ev);
        char value[32];
        snprintf(key, sizeof key, "%s%ld", prefix, i);
        int len = snprintf(value, sizeof value, "%ld", i);
        if (etcdc_v3_event_type(ev) != ETCDC_V3_EVENT_PUT || kv->key_len != strlen(key) ||
            memcmp(kv->key, key, kv->key_len) != 0 || kv->value_len != (size_t)len ||
            memcmp(kv->value, value, (size_t)len) != 0)
            fail("v3 watches: an unexpected event for %s", key);
        etcdc_v3_event_free(ev);
    }
    double all_ms = (now_s() - t0) * 1e3;
    long rss, hwm, sockets, conns;
    rss_kb(&rss, &hwm);
    long threads = thread_count();
    socket_counts(etcd_port(), &sockets, &conns);
    printf("{\"mode\":\"v3-watches\",\"ops\":%ld,\"watches\":%ld,\"create_ms\":%.1f,"
           "\"all_ms\":%.1f,\"rss_before_kb\":%ld,\"rss_kb\":%ld,\"hwm_kb\":%ld,"
           "\"growth_mb\":%.2f,\"threads_before\":%ld,\"threads\":%ld,\"sockets\":%ld,"
           "\"conns\":%ld}\n",
           n, n, create_ms, all_ms, rss0, rss, hwm, (double)(hwm - rss0) / 1024.0, threads0,
           threads, sockets, conns);
    for (long i = 0; i < n; i++)
        etcdc_v3_watcher_free(w[i]);
    free(w);
    return 0;
}

static const struct {
    const char *name;
    int argc;
    int (*run)(etcdc_client *, char **);
} MODES[] = {
    {"seed", 5, mode_seed},       {"get", 4, mode_get},   {"put", 4, mode_put},
    {"mget", 5, mode_mget},       {"recursive", 4, mode_recursive},
    {"watch", 3, mode_watch},     {"lock", 3, mode_lock}, {"memory", 8, mode_memory},
    {"v3-seed", 2, mode_v3_seed}, {"v3-range", 4, mode_v3_range},
    {"v3-srange", 4, mode_v3_srange}, {"v3-put", 4, mode_v3_put},
    {"v3-mrange", 5, mode_v3_mrange}, {"v3-watch", 3, mode_v3_watch},
    {"v3-prefix", 5, mode_v3_prefix}, {"v3-keepalive", 3, mode_v3_keepalive},
    {"v3-lock", 4, mode_v3_lock},     {"v3-watches", 2, mode_v3_watches},
};

int main(int argc, char **argv) {
    if (argc >= 2) {
        for (size_t m = 0; m < sizeof MODES / sizeof MODES[0]; m++) {
            if (strcmp(argv[1], MODES[m].name) != 0)
                continue;
            if (argc - 2 != MODES[m].argc) {
                fprintf(stderr, "bench_c: %s takes %d arguments (see the comment atop bench_c.c)\n",
                        MODES[m].name, MODES[m].argc);
                return 2;
            }
            etcdc_client *c = new_client();
            int rc = MODES[m].run(c, argv + 2);
            etcdc_client_free(c);
            return rc;
        }
    }
    fprintf(stderr, "usage: bench_c seed|get|put|mget|recursive|watch|lock|memory|v3-seed|v3-range|\n"
                    "       v3-srange|v3-put|v3-mrange|v3-watch|v3-prefix|v3-keepalive|v3-lock|\n"
                    "       v3-watches ARGS...\n"
                    "(see the comment atop benches/bench_c.c)\n");
    return 2;
}
