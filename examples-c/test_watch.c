/*
 * etcdc C tests of the watch API against a real etcd: etcdc_watch(),
 * etcdc_watch_options_init(), and every etcdc_watcher_* function.
 *
 *   test_watch                 (endpoint: $ETCDC_ENDPOINT, an etcd 3.4 with v2)
 *
 * Every key lives under /c-watch/<pid>, removed at the end. Each CHECK
 * records a failure with file:line and goes on; the last line printed is
 * "N passed, M failed", and the exit status is non-zero if M > 0.
 * Built with -std=c99 -Wall -Wextra -Werror -pedantic and run under valgrind:
 * everything is freed, also cancelled watchers.
 *
 * Threads other than main never call CHECK (the counters are not locked):
 * they record what happened, and main checks it after pthread_join().
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---------------------------------------------------------------- checks */

/* ------------------------------------------------------------- helpers */

static char prefix[64];

/* The full key of `rel` under this run's prefix (a ring of buffers, so a
 * few can be live at once; main thread only). */
static const char *K(const char *rel) {
    return ring_printf("%s/%s", prefix, rel);
}






/* Number of open file descriptors of this process (-1 if unknown). */
static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

/* Writes key = value (opts may be NULL) and returns the node's modified
 * index, or 0 (recorded as a failure) if the write failed. Main thread. */
static uint64_t put(const etcdc_client *c, const char *key, const char *value,
                    const etcdc_write_options *opts) {
    etcdc_response *r = NULL;
    if (!CHECK_ST(etcdc_write(c, key, value, opts, &r), ETCDC_OK)) {
        return 0;
    }
    uint64_t index = etcdc_node_modified_index(etcdc_response_node(r));
    etcdc_response_free(r);
    return index;
}

/* etcd's current index (X-Etcd-Index of a read of `key`), 0 on failure. */
static uint64_t etcd_index_now(const etcdc_client *c, const char *key) {
    etcdc_response *r = NULL;
    if (!CHECK_ST(etcdc_read(c, key, NULL, &r), ETCDC_OK)) {
        return 0;
    }
    uint64_t index = etcdc_response_etcd_index(r);
    etcdc_response_free(r);
    return index;
}

/* The value of an event's node, or NULL (delete, expire, NULL event). */
static const char *ev_value(const etcdc_response *ev) {
    return etcdc_node_value(etcdc_response_node(ev));
}

static uint64_t ev_index(const etcdc_response *ev) {
    return etcdc_node_modified_index(etcdc_response_node(ev));
}

/* The value of an event's previous node, or NULL when there is none. */
static const char *ev_prev_value(const etcdc_response *ev) {
    const etcdc_node *prev = etcdc_response_prev_node(ev);
    return prev ? etcdc_node_value(prev) : NULL;
}

/* Sentinels to check that out-parameters stay untouched on failure. */
static int response_sentinel_storage, watcher_sentinel_storage;
#define RESPONSE_SENTINEL ((etcdc_response *)(void *)&response_sentinel_storage)
#define WATCHER_SENTINEL ((etcdc_watcher *)(void *)&watcher_sentinel_storage)

/* ------------------------------------------- a write from another thread */

/* Writes `value` at `key` after `delay` seconds, from its own thread. */
struct delayed_write {
    const etcdc_client *client;
    char key[256];
    const char *value;
    double delay;
    etcdc_status status;
    uint64_t index;
};

static void *delayed_write_main(void *arg) {
    struct delayed_write *d = arg;
    sleep_s(d->delay);
    etcdc_response *r = NULL;
    d->status = etcdc_write(d->client, d->key, d->value, NULL, &r);
    if (d->status == ETCDC_OK) {
        d->index = etcdc_node_modified_index(etcdc_response_node(r));
    }
    etcdc_response_free(r);
    return NULL;
}

static int start_delayed_write(pthread_t *th, struct delayed_write *d, const etcdc_client *c,
                               const char *key, const char *value) {
    memset(d, 0, sizeof *d);
    d->client = c;
    snprintf(d->key, sizeof d->key, "%s", key);
    d->value = value;
    /* Long enough for the watch's poll to reach etcd first. */
    d->delay = under_valgrind() ? 0.5 : 0.3;
    d->status = ETCDC_ERR_PANIC; /* "not written" until the thread says */
    return CHECK(pthread_create(th, NULL, delayed_write_main, d) == 0);
}

/* ------------------------------------------------------------- options */

static void test_options_init(void) {
    etcdc_watch_options macro = ETCDC_WATCH_OPTIONS_INIT, fn;
    memset(&fn, 0xab, sizeof fn);
    CHECK_ST(etcdc_watch_options_init(&fn, ETCDC_WATCH_OPTIONS_VERSION), ETCDC_OK);
    CHECK(macro.version == ETCDC_WATCH_OPTIONS_VERSION);
    CHECK(!macro.recursive && macro.wait_index == 0);
    CHECK(fn.version == ETCDC_WATCH_OPTIONS_VERSION);
    CHECK(!fn.recursive && fn.wait_index == 0);
    /* NULL and unknown versions: refused, nothing written. */
    CHECK_ST(etcdc_watch_options_init(NULL, ETCDC_WATCH_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "opts"));
    memset(&fn, 0xab, sizeof fn);
    CHECK_ST(etcdc_watch_options_init(&fn, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_watch_options_init(&fn, ETCDC_WATCH_OPTIONS_VERSION + 1),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_watch_options"));
    CHECK(fn.version == 0xabababab);
}

/* --------------------------------------------------- NULL and bad input */

static int never_called_count;
static int never_called(const etcdc_response *event, void *userdata) {
    (void)event;
    (void)userdata;
    never_called_count++;
    return 1;
}

static void test_bad_arguments(const etcdc_client *c) {
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    /* Should a bad call be sent anyway, it ends instead of hanging. */
    const int64_t limit = 2000;
    etcdc_response *r = RESPONSE_SENTINEL;

    /* etcdc_watch */
    CHECK_ST(etcdc_watch(NULL, K("bad"), &o, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK(last_error_said(ETCDC_ERR_INVALID_ARGUMENT, "")); /* nothing was sent */
    CHECK_ST(etcdc_watch(c, NULL, &o, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_watch(c, "/c-watch/../x", &o, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, ".."));
    CHECK_ST(etcdc_watch(c, "/c-watch//x", &o, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_watch(c, "/c-watch/\xff", &o, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));
    etcdc_watch_options bad = o;
    bad.version = 0;
    CHECK_ST(etcdc_watch(c, K("bad"), &bad, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "version"));
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_watch_options"));
    bad.version = 99;
    CHECK_ST(etcdc_watch(c, K("bad"), &bad, limit, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "99"));
    CHECK(r == RESPONSE_SENTINEL); /* never written on failure */

    /* etcdc_watcher_new */
    etcdc_watcher *w = WATCHER_SENTINEL;
    CHECK_ST(etcdc_watcher_new(NULL, K("bad"), NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_watcher_new(c, NULL, NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_watcher_new(c, K("bad"), NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out"));
    CHECK_ST(etcdc_watcher_new(c, "/c-watch/./x", NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_watcher_new(c, "/c-watch/\xff", NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_watcher_new(c, K("bad"), &bad, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "version"));
    CHECK(w == WATCHER_SENTINEL);

    /* The watcher functions given a NULL watcher. */
    CHECK_ST(etcdc_watcher_next(NULL, 100, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "watcher"));
    CHECK_ST(etcdc_watcher_next(NULL, -1, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(r == RESPONSE_SENTINEL);
    CHECK_U64(etcdc_watcher_next_index(NULL), 0);
    etcdc_watcher_cancel(NULL); /* no-op */
    CHECK_ST(etcdc_watcher_resume_from(NULL, 5), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "watcher"));
    CHECK_ST(etcdc_watcher_resume_from(NULL, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_watcher_run(NULL, never_called, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "watcher"));
    CHECK_ST(etcdc_watcher_run(NULL, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    etcdc_watcher_free(NULL); /* no-op */

    /* A real watcher given bad arguments: refused, and it stays usable. */
    uint64_t i1 = put(c, K("bad/k"), "one", NULL);
    etcdc_watch_options from = ETCDC_WATCH_OPTIONS_INIT;
    from.wait_index = i1;
    w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, K("bad/k"), &from, &w), ETCDC_OK)) {
        return;
    }
    CHECK_ST(etcdc_watcher_resume_from(w, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "index is 0"));
    CHECK_U64(etcdc_watcher_next_index(w), i1); /* unchanged */
    CHECK_ST(etcdc_watcher_run(w, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "callback"));
    CHECK_U64(etcdc_watcher_next_index(w), i1);
    etcdc_response *ev = NULL;
    if (CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(ev_value(ev), "one");
        CHECK_U64(ev_index(ev), i1);
    }
    etcdc_response_free(ev);
    etcdc_watcher_free(w);
    CHECK(never_called_count == 0);
}

/* ------------------------------------------------- one-shot etcdc_watch */

/* Without wait_index: the next change from now, not an earlier one. */
static void test_watch_next_change(const etcdc_client *c) {
    uint64_t old_index = put(c, K("one/next"), "old", NULL);
    struct delayed_write d;
    pthread_t th;
    if (!start_delayed_write(&th, &d, c, K("one/next"), "new")) {
        return;
    }
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    etcdc_response *ev = NULL;
    /* 10 s: a bound, should the write be missed */
    etcdc_status st = etcdc_watch(c, K("one/next"), &o, 10000, &ev);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_ST(d.status, ETCDC_OK);
    if (CHECK_ST(st, ETCDC_OK) && CHECK(ev != NULL)) {
        CHECK_STR(etcdc_response_action(ev), "set");
        CHECK_STR(etcdc_node_key(etcdc_response_node(ev)), d.key);
        CHECK_STR(ev_value(ev), "new");
        CHECK_U64(ev_index(ev), d.index);
        CHECK_STR(ev_prev_value(ev), "old");
        CHECK_U64(etcdc_node_modified_index(etcdc_response_prev_node(ev)), old_index);
        /* etcd sends X-Etcd-Index when the watch starts, before the change. */
        CHECK(etcdc_response_etcd_index(ev) > 0 && etcdc_response_etcd_index(ev) < d.index);
    }
    etcdc_response_free(ev);
}

/* A wait_index in the past returns the old event, from etcd's history. */
static void test_watch_past_index(const etcdc_client *c) {
    uint64_t i1 = put(c, K("one/past"), "a", NULL);
    uint64_t i2 = put(c, K("one/past"), "b", NULL);
    CHECK(i2 > i1);
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.wait_index = i1;
    etcdc_response *ev = NULL;
    if (CHECK_ST(etcdc_watch(c, K("one/past"), &o, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(ev), "set");
        CHECK_STR(ev_value(ev), "a");
        CHECK_U64(ev_index(ev), i1);
        CHECK(etcdc_response_prev_node(ev) == NULL); /* it was created then */
        etcdc_response_free(ev);
        ev = NULL;
    }
    o.wait_index = i1 + 1; /* the first change at or after it */
    if (CHECK_ST(etcdc_watch(c, K("one/past"), &o, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(ev_value(ev), "b");
        CHECK_U64(ev_index(ev), i2);
        CHECK_STR(ev_prev_value(ev), "a");
        etcdc_response_free(ev);
        ev = NULL;
    }
    /* out NULL: the event is dropped, the call still succeeds. */
    o.wait_index = i1;
    CHECK_ST(etcdc_watch(c, K("one/past"), &o, 5000, NULL), ETCDC_OK);

    /* NULL options (the defaults: the next change from now) and no time
     * limit (negative); shown with a delayed write so that it does not
     * wait forever. */
    struct delayed_write d;
    pthread_t th;
    if (start_delayed_write(&th, &d, c, K("one/past"), "c")) {
        etcdc_status st = etcdc_watch(c, K("one/past"), NULL, -1, &ev);
        CHECK(pthread_join(th, NULL) == 0);
        if (CHECK_ST(st, ETCDC_OK)) {
            CHECK_STR(ev_value(ev), "c");
            CHECK_U64(ev_index(ev), d.index);
            etcdc_response_free(ev);
            ev = NULL;
        }
    }

    /* A change below a directory: seen by a recursive watch only. */
    uint64_t i3 = put(c, K("one/dir/x"), "x", NULL);
    o.wait_index = i3;
    ev = RESPONSE_SENTINEL;
    CHECK_ST(etcdc_watch(c, K("one/dir"), &o, 300, &ev), ETCDC_ERR_WATCH_TIMEOUT);
    CHECK(ev == RESPONSE_SENTINEL);
    o.recursive = true;
    ev = NULL;
    if (CHECK_ST(etcdc_watch(c, K("one/dir"), &o, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(etcdc_node_key(etcdc_response_node(ev)), K("one/dir/x"));
        CHECK_STR(ev_value(ev), "x");
        CHECK_U64(ev_index(ev), i3);
        etcdc_response_free(ev);
    }
}

/* timeout_ms: ETCDC_ERR_WATCH_TIMEOUT on time, *out untouched. */
static void test_watch_timeout(const etcdc_client *c) {
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    etcdc_response *r = RESPONSE_SENTINEL;
    double t0 = now_s();
    etcdc_status st = etcdc_watch(c, K("one/quiet"), &o, 300, &r);
    double took = now_s() - t0;
    CHECK_ST(st, ETCDC_ERR_WATCH_TIMEOUT);
    CHECK(r == RESPONSE_SENTINEL);
    const etcdc_error *e = etcdc_error_last();
    CHECK(e != NULL && e->status == ETCDC_ERR_WATCH_TIMEOUT && e->etcd_code == 0);
    CHECK(last_error_said(ETCDC_ERR_WATCH_TIMEOUT, "")); /* the client's own time limit */
    CHECK(took >= 0.299);
    if (!CHECK(took < 0.3 + prompt_limit())) {
        printf("     the 300 ms watch took %.0f ms\n", took * 1000);
    }
    /* Also when the watch had started from an index with nothing after it. */
    uint64_t now = etcd_index_now(c, K("one/past"));
    o.wait_index = now + 1;
    o.recursive = true;
    t0 = now_s();
    CHECK_ST(etcdc_watch(c, K("one/quiet"), &o, 300, NULL), ETCDC_ERR_WATCH_TIMEOUT);
    took = now_s() - t0;
    CHECK(took >= 0.299 && took < 0.3 + prompt_limit());

    /* 0: do not wait. Nothing has changed, so WATCH_TIMEOUT at once. */
    etcdc_watch_options_init(&o, ETCDC_WATCH_OPTIONS_VERSION);
    r = RESPONSE_SENTINEL;
    t0 = now_s();
    CHECK_ST(etcdc_watch(c, K("one/quiet"), &o, 0, &r), ETCDC_ERR_WATCH_TIMEOUT);
    took = now_s() - t0;
    CHECK(r == RESPONSE_SENTINEL);
    if (!CHECK(took < prompt_limit())) {
        printf("     the watch that was not to wait took %.0f ms\n", took * 1000);
    }
}

/* --------------------------------------------------------- the watcher */

static void test_watcher_basics(const etcdc_client *c, const etcdc_client_options *copts) {
    const char *key = K("w/basic");
    uint64_t i1 = put(c, key, "1", NULL);
    uint64_t i2 = put(c, key, "2", NULL);

    /* Without wait_index: next_index is 0 (from now) until the first event. */
    etcdc_watcher *w = NULL;
    if (CHECK_ST(etcdc_watcher_new(c, key, NULL, &w), ETCDC_OK)) {
        CHECK(w != NULL);
        CHECK_U64(etcdc_watcher_next_index(w), 0);
        etcdc_watcher_free(w);
    }

    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.wait_index = i1;
    w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, key, &o, &w), ETCDC_OK)) {
        return;
    }
    CHECK_U64(etcdc_watcher_next_index(w), i1);
    etcdc_response *ev = NULL;
    if (CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(ev_value(ev), "1");
        CHECK_U64(ev_index(ev), i1);
        etcdc_response_free(ev);
        ev = NULL;
    }
    CHECK_U64(etcdc_watcher_next_index(w), i1 + 1);
    /* out NULL: the event is consumed all the same. */
    CHECK_ST(etcdc_watcher_next(w, 5000, NULL), ETCDC_OK);
    CHECK_U64(etcdc_watcher_next_index(w), i2 + 1);

    /* Nothing more: a timeout, on time, out untouched, index unchanged. */
    ev = RESPONSE_SENTINEL;
    double t0 = now_s();
    CHECK_ST(etcdc_watcher_next(w, 300, &ev), ETCDC_ERR_WATCH_TIMEOUT);
    double took = now_s() - t0;
    CHECK(ev == RESPONSE_SENTINEL);
    CHECK(last_error_is(ETCDC_ERR_WATCH_TIMEOUT, ""));
    CHECK(took >= 0.299);
    if (!CHECK(took < 0.3 + prompt_limit())) {
        printf("     the 300 ms next() took %.0f ms\n", took * 1000);
    }
    CHECK_U64(etcdc_watcher_next_index(w), i2 + 1);

    /* ...and the watcher still works: a change made while nobody polled. */
    uint64_t i3 = put(c, key, "3", NULL);
    ev = NULL;
    if (CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(ev_value(ev), "3");
        CHECK_U64(ev_index(ev), i3);
        CHECK_STR(ev_prev_value(ev), "2");
        etcdc_response_free(ev);
        ev = NULL;
    }
    /* A second timeout, then a change made while it is blocked. */
    CHECK_ST(etcdc_watcher_next(w, 200, &ev), ETCDC_ERR_WATCH_TIMEOUT);
    struct delayed_write d;
    pthread_t th;
    if (start_delayed_write(&th, &d, c, key, "4")) {
        etcdc_status st = etcdc_watcher_next(w, 10000, &ev);
        CHECK(pthread_join(th, NULL) == 0);
        if (CHECK_ST(st, ETCDC_OK)) {
            CHECK_STR(ev_value(ev), "4");
            CHECK_U64(ev_index(ev), d.index);
            CHECK_U64(etcdc_watcher_next_index(w), d.index + 1);
            etcdc_response_free(ev);
            ev = NULL;
        }
    }

    /* 0: do not wait. No event has come, so WATCH_TIMEOUT at once (the
     * poll it sent goes on: the next call takes it up); the index is
     * unchanged. */
    uint64_t before = etcdc_watcher_next_index(w);
    ev = RESPONSE_SENTINEL;
    t0 = now_s();
    CHECK_ST(etcdc_watcher_next(w, 0, &ev), ETCDC_ERR_WATCH_TIMEOUT);
    took = now_s() - t0;
    CHECK(ev == RESPONSE_SENTINEL);
    if (!CHECK(took < prompt_limit())) {
        printf("     next() that was not to wait took %.0f ms\n", took * 1000);
    }
    CHECK_U64(etcdc_watcher_next_index(w), before);

    /* Negative: no time limit, whatever the number (-1 is the usual one). */
    const int64_t forever[] = {-1, INT64_MIN};
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
        if (start_delayed_write(&th, &d, c, key, i == 0 ? "5" : "6")) {
            ev = NULL;
            etcdc_status st = etcdc_watcher_next(w, forever[i], &ev);
            CHECK(pthread_join(th, NULL) == 0);
            if (CHECK_ST(st, ETCDC_OK)) {
                CHECK_STR(ev_value(ev), i == 0 ? "5" : "6");
                CHECK_U64(ev_index(ev), d.index);
                etcdc_response_free(ev);
            }
        }
    }
    etcdc_watcher_free(w);

    /* A watcher may outlive its client. */
    etcdc_client *c2 = NULL;
    if (CHECK_ST(etcdc_client_new(copts, &c2), ETCDC_OK)) {
        w = NULL;
        o.wait_index = i2;
        CHECK_ST(etcdc_watcher_new(c2, key, &o, &w), ETCDC_OK);
        etcdc_client_free(c2);
        if (w != NULL && CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
            CHECK_STR(ev_value(ev), "2");
            CHECK_U64(ev_index(ev), i2);
            etcdc_response_free(ev);
        }
        etcdc_watcher_free(w);
    }
}

/* Every kind of change comes as etcd's event: action, node, previous node. */
static void test_watcher_actions(const etcdc_client *c) {
    uint64_t start = put(c, K("act/start"), "", NULL);
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.recursive = true;
    o.wait_index = start + 1;
    etcdc_watcher *w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, K("act"), &o, &w), ETCDC_OK)) {
        return;
    }
    struct expected {
        const char *action, *key, *value, *prev;
        uint64_t index;
        int is_dir;
    } want[10];
    int n = 0;
    etcdc_response *r = NULL;
    etcdc_write_options wo;
    /* Own copies: K()'s ring of buffers would be reused by the time the
     * events are compared. */
    static char k[256], fresh[256], dir[256], appended[256];
    snprintf(k, sizeof k, "%s", K("act/k"));
    snprintf(fresh, sizeof fresh, "%s", K("act/new"));
    snprintf(dir, sizeof dir, "%s", K("act/dir"));

    want[n] = (struct expected){"set", k, "1", NULL, put(c, k, "1", NULL), 0};
    n++;
    etcdc_write_options_init(&wo, ETCDC_WRITE_OPTIONS_VERSION);
    wo.prev_exist = ETCDC_PREV_EXIST_TRUE;
    want[n] = (struct expected){"update", k, "2", "1", put(c, k, "2", &wo), 0};
    n++;
    if (CHECK_ST(etcdc_test_and_set(c, k, "3", "2", 0, &r), ETCDC_OK)) {
        want[n++] = (struct expected){"compareAndSwap", k, "3", "2",
                                      etcdc_node_modified_index(etcdc_response_node(r)), 0};
        etcdc_response_free(r);
    }
    etcdc_write_options_init(&wo, ETCDC_WRITE_OPTIONS_VERSION);
    wo.prev_exist = ETCDC_PREV_EXIST_FALSE;
    want[n] = (struct expected){"create", fresh, "n", NULL, put(c, fresh, "n", &wo), 0};
    n++;
    etcdc_write_options_init(&wo, ETCDC_WRITE_OPTIONS_VERSION);
    wo.append = true;
    r = NULL;
    if (CHECK_ST(etcdc_write(c, K("act/queue"), "job", &wo, &r), ETCDC_OK)) {
        snprintf(appended, sizeof appended, "%s", etcdc_node_key(etcdc_response_node(r)));
        want[n++] = (struct expected){"create", appended, "job", NULL,
                                      etcdc_node_modified_index(etcdc_response_node(r)), 0};
        etcdc_response_free(r);
    }
    r = NULL;
    if (CHECK_ST(etcdc_mkdir(c, dir, 0, &r), ETCDC_OK)) {
        want[n++] = (struct expected){"create", dir, NULL, NULL,
                                      etcdc_node_modified_index(etcdc_response_node(r)), 1};
        etcdc_response_free(r);
    }
    etcdc_delete_options del = ETCDC_DELETE_OPTIONS_INIT;
    del.prev_value = "3";
    r = NULL;
    if (CHECK_ST(etcdc_delete(c, k, &del, &r), ETCDC_OK)) {
        want[n++] = (struct expected){"compareAndDelete", k, NULL, "3",
                                      etcdc_node_modified_index(etcdc_response_node(r)), 0};
        etcdc_response_free(r);
    }
    r = NULL;
    if (CHECK_ST(etcdc_delete(c, fresh, NULL, &r), ETCDC_OK)) {
        want[n++] = (struct expected){"delete", fresh, NULL, "n",
                                      etcdc_node_modified_index(etcdc_response_node(r)), 0};
        etcdc_response_free(r);
    }

    for (int i = 0; i < n; i++) {
        etcdc_response *ev = NULL;
        if (!CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
            break;
        }
        const etcdc_node *node = etcdc_response_node(ev);
        if (!CHECK_STR(etcdc_response_action(ev), want[i].action)) {
            printf("     (event %d)\n", i);
        }
        CHECK_STR(etcdc_node_key(node), want[i].key);
        CHECK_STR(etcdc_node_value(node), want[i].value);
        CHECK_STR(ev_prev_value(ev), want[i].prev);
        CHECK_U64(ev_index(ev), want[i].index);
        CHECK(etcdc_node_is_dir(node) == (want[i].is_dir != 0));
        CHECK_U64(etcdc_watcher_next_index(w), want[i].index + 1);
        etcdc_response_free(ev);
    }
    CHECK_ST(etcdc_watcher_next(w, 200, NULL), ETCDC_ERR_WATCH_TIMEOUT);
    etcdc_watcher_free(w);
}

/* ------------------------------- ~200 writes from a thread: in order, once */

#define FLOW_WRITES 200

struct flow_writer {
    const etcdc_client *client;
    char dir[256];
    uint64_t index[FLOW_WRITES];
    int failures;
};

static void flow_key(char *buf, size_t size, const char *dir, int i) {
    snprintf(buf, size, "%s/k%d", dir, i % 7);
}

static void *flow_writer_main(void *arg) {
    struct flow_writer *fw = arg;
    for (int i = 0; i < FLOW_WRITES; i++) {
        char key[300], value[32];
        flow_key(key, sizeof key, fw->dir, i);
        snprintf(value, sizeof value, "v%d", i);
        etcdc_response *r = NULL;
        if (etcdc_write(fw->client, key, value, NULL, &r) == ETCDC_OK) {
            fw->index[i] = etcdc_node_modified_index(etcdc_response_node(r));
        } else {
            fw->failures++;
        }
        etcdc_response_free(r);
    }
    return NULL;
}

static void test_watcher_in_order(const etcdc_client *c) {
    /* Start from an index known before the writer starts: no change can slip
     * by before the first poll. */
    uint64_t start = put(c, K("flow/start"), "", NULL);
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.recursive = true;
    o.wait_index = start + 1;
    etcdc_watcher *w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, K("flow"), &o, &w), ETCDC_OK)) {
        return;
    }
    static struct flow_writer fw;
    memset(&fw, 0, sizeof fw);
    fw.client = c;
    snprintf(fw.dir, sizeof fw.dir, "%s", K("flow"));
    pthread_t th;
    if (!CHECK(pthread_create(&th, NULL, flow_writer_main, &fw) == 0)) {
        etcdc_watcher_free(w);
        return;
    }
    static uint64_t got[FLOW_WRITES];
    int received = 0, wrong_value = 0, wrong_key = 0;
    etcdc_status st = ETCDC_OK;
    while (received < FLOW_WRITES) {
        etcdc_response *ev = NULL;
        st = etcdc_watcher_next(w, 10000, &ev);
        if (st != ETCDC_OK) {
            break;
        }
        char key[300], value[32];
        flow_key(key, sizeof key, fw.dir, received);
        snprintf(value, sizeof value, "v%d", received);
        const char *v = ev_value(ev);
        wrong_value += v == NULL || strcmp(v, value) != 0;
        wrong_key += strcmp(etcdc_node_key(etcdc_response_node(ev)), key) != 0;
        got[received++] = ev_index(ev);
        etcdc_response_free(ev);
    }
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(fw.failures == 0);
    CHECK_ST(st, ETCDC_OK);
    CHECK(received == FLOW_WRITES);
    CHECK(wrong_value == 0);
    CHECK(wrong_key == 0);
    int mismatches = 0, not_increasing = 0;
    for (int i = 0; i < received; i++) {
        if (got[i] != fw.index[i]) {
            if (mismatches++ == 0) {
                printf("     event %d: index %" PRIu64 ", the write's was %" PRIu64 "\n", i,
                       got[i], fw.index[i]);
            }
        }
        not_increasing += i > 0 && got[i] <= got[i - 1];
    }
    CHECK(mismatches == 0);
    CHECK(not_increasing == 0);
    if (received == FLOW_WRITES) {
        CHECK_U64(etcdc_watcher_next_index(w), fw.index[FLOW_WRITES - 1] + 1);
    }
    /* Exactly once: nothing more comes after the last write. */
    CHECK_ST(etcdc_watcher_next(w, 300, NULL), ETCDC_ERR_WATCH_TIMEOUT);
    etcdc_watcher_free(w);
}

/* Timeouts of 1-5 ms, or 0 (do not wait), called again and again while a
 * thread writes: a timeout returns while the poll goes on, so every change
 * still arrives exactly once, in order, and no connection is left open per
 * timeout (issue 17: with 1-5 ms, none ever arrived under valgrind). */

#define CUT_WRITES 40

struct cut_writer {
    const etcdc_client *client;
    char key[256];
    uint64_t index[CUT_WRITES];
    int failures;
};

static void *cut_writer_main(void *arg) {
    struct cut_writer *cw = arg;
    for (int i = 0; i < CUT_WRITES; i++) {
        char value[32];
        snprintf(value, sizeof value, "c%d", i);
        sleep_s(0.002);
        etcdc_response *r = NULL;
        if (etcdc_write(cw->client, cw->key, value, NULL, &r) == ETCDC_OK) {
            cw->index[i] = etcdc_node_modified_index(etcdc_response_node(r));
        } else {
            cw->failures++;
        }
        etcdc_response_free(r);
    }
    return NULL;
}

static void watcher_short_waits(const etcdc_client *c, const char *key, const int64_t *ladder,
                                size_t steps) {
    static struct cut_writer cw;
    memset(&cw, 0, sizeof cw);
    cw.client = c;
    snprintf(cw.key, sizeof cw.key, "%s", key);
    uint64_t start = put(c, cw.key, "start", NULL);
    int fds_before = open_fds();
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.wait_index = start + 1;
    etcdc_watcher *w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, cw.key, &o, &w), ETCDC_OK)) {
        return;
    }
    pthread_t th;
    if (!CHECK(pthread_create(&th, NULL, cut_writer_main, &cw) == 0)) {
        etcdc_watcher_free(w);
        return;
    }
    uint64_t got[CUT_WRITES];
    int received = 0, timeouts = 0, errors = 0, wrong_value = 0, slow = 0;
    unsigned attempt = 0;
    double give_up = now_s() + 30;
    while (received < CUT_WRITES && errors < 5 && now_s() < give_up) {
        etcdc_response *ev = NULL;
        int64_t wait = ladder[attempt++ % steps];
        double t0 = now_s();
        etcdc_status st = etcdc_watcher_next(w, wait, &ev);
        /* The first call connects; after it, no call waits much longer
         * than it was allowed to. */
        slow += attempt > 1 && now_s() - t0 > wait / 1000.0 + prompt_limit();
        if (wait == 0 && st == ETCDC_ERR_WATCH_TIMEOUT) {
            sleep_s(0.001);
        }
        if (st == ETCDC_OK) {
            char value[32];
            snprintf(value, sizeof value, "c%d", received);
            const char *v = ev_value(ev);
            wrong_value += v == NULL || strcmp(v, value) != 0;
            got[received++] = ev_index(ev);
            etcdc_response_free(ev);
        } else if (st == ETCDC_ERR_WATCH_TIMEOUT) {
            timeouts++;
        } else {
            errors++;
            CHECK_ST(st, ETCDC_ERR_WATCH_TIMEOUT);
        }
    }
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(cw.failures == 0);
    if (!CHECK(received == CUT_WRITES)) {
        printf("     waits of %lld..%lld ms: %d of %d events, %d timeouts\n", (long long)ladder[0],
               (long long)ladder[steps - 1], received, CUT_WRITES, timeouts);
    }
    CHECK(wrong_value == 0);
    CHECK(timeouts > 0);
    CHECK(slow == 0);
    int mismatches = 0;
    for (int i = 0; i < received; i++) {
        mismatches += got[i] != cw.index[i];
    }
    CHECK(mismatches == 0);
    CHECK_ST(etcdc_watcher_next(w, 100, NULL), ETCDC_ERR_WATCH_TIMEOUT);
    etcdc_watcher_free(w);
    /* The client's pool may have opened one more connection meanwhile. */
    int fds_after = open_fds();
    if (!CHECK(fds_before < 0 || fds_after <= fds_before + 1)) {
        printf("     %d file descriptors before, %d after %d timeouts\n", fds_before, fds_after,
               timeouts);
    }
}

static void test_watcher_short_timeouts(const etcdc_client *c) {
    const int64_t short_waits[] = {1, 2, 3, 4, 5};
    watcher_short_waits(c, K("cut/k"), short_waits, 5);
    /* 0 in a loop: each call takes only what has come, without waiting. */
    const int64_t no_wait[] = {0};
    watcher_short_waits(c, K("zero/k"), no_wait, 1);
}

/* -------------------------------------------------------- etcdc_watcher_run */

struct run_state {
    int calls;
    int stop_at; /* return non-zero at this call */
    uint64_t index[8];
    char value[8][16];
    int bad; /* a call with a NULL event or a node without a key */
};

static int record_event(const etcdc_response *event, void *userdata) {
    struct run_state *s = userdata;
    const etcdc_node *node = etcdc_response_node(event);
    if (event == NULL || node == NULL || etcdc_node_key(node) == NULL) {
        s->bad++;
    } else if (s->calls < 8) {
        /* The event is borrowed: copy what is kept. */
        s->index[s->calls] = etcdc_node_modified_index(node);
        snprintf(s->value[s->calls], sizeof s->value[0], "%s",
                 etcdc_node_value(node) ? etcdc_node_value(node) : "");
    }
    s->calls++;
    return s->calls >= s->stop_at ? 7 : 0;
}

static void test_watcher_run(const etcdc_client *c) {
    const char *key = K("run/k");
    uint64_t idx[5];
    const char *vals[5] = {"r0", "r1", "r2", "r3", "r4"};
    for (int i = 0; i < 5; i++) {
        idx[i] = put(c, key, vals[i], NULL);
    }
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.wait_index = idx[0];
    etcdc_watcher *w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, key, &o, &w), ETCDC_OK)) {
        return;
    }
    /* Stops when the callback returns non-zero: after the third event. */
    struct run_state s;
    memset(&s, 0, sizeof s);
    s.stop_at = 3;
    CHECK_ST(etcdc_watcher_run(w, record_event, &s), ETCDC_OK);
    CHECK(s.calls == 3);
    CHECK(s.bad == 0);
    for (int i = 0; i < 3 && i < s.calls; i++) {
        CHECK_U64(s.index[i], idx[i]);
        CHECK_STR(s.value[i], vals[i]);
    }
    CHECK_U64(etcdc_watcher_next_index(w), idx[2] + 1);

    /* The loop consumed exactly what it delivered: next() goes on from there. */
    etcdc_response *ev = NULL;
    if (CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
        CHECK_U64(ev_index(ev), idx[3]);
        CHECK_STR(ev_value(ev), "r3");
        etcdc_response_free(ev);
    }
    /* And run() again, stopping at once. */
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    CHECK_ST(etcdc_watcher_run(w, record_event, &s), ETCDC_OK);
    CHECK(s.calls == 1);
    CHECK_U64(s.index[0], idx[4]);
    CHECK_STR(s.value[0], "r4");
    CHECK_U64(etcdc_watcher_next_index(w), idx[4] + 1);

    /* run() waits for changes still to come, too. */
    struct delayed_write d;
    pthread_t th;
    if (start_delayed_write(&th, &d, c, key, "r5")) {
        memset(&s, 0, sizeof s);
        s.stop_at = 1;
        etcdc_status st = etcdc_watcher_run(w, record_event, &s);
        CHECK(pthread_join(th, NULL) == 0);
        CHECK_ST(st, ETCDC_OK);
        CHECK(s.calls == 1);
        CHECK_U64(s.index[0], d.index);
        CHECK_STR(s.value[0], "r5");
    }
    etcdc_watcher_free(w);
}

/* ------------------------------------------------------------ cancelling */

/* A thread blocked in etcdc_watcher_next() (or _run()), recording when it
 * returned. */
struct blocked {
    etcdc_watcher *watcher;
    int use_run;
    pthread_mutex_t lock;
    int returned;
    double returned_at;
    etcdc_status status;
    etcdc_response *event;
    struct run_state run;
};

static void *blocked_main(void *arg) {
    struct blocked *b = arg;
    etcdc_status st;
    b->event = RESPONSE_SENTINEL;
    if (b->use_run) {
        st = etcdc_watcher_run(b->watcher, record_event, &b->run);
    } else {
        st = etcdc_watcher_next(b->watcher, -1, &b->event); /* no time limit */
    }
    double t = now_s();
    pthread_mutex_lock(&b->lock);
    b->status = st;
    b->returned_at = t;
    b->returned = 1;
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static int has_returned(struct blocked *b) {
    pthread_mutex_lock(&b->lock);
    int r = b->returned;
    pthread_mutex_unlock(&b->lock);
    return r;
}

/* Measured cancel -> return delays, printed for information. */
static double latency_next_ms = -1, latency_run_ms = -1, latency_retry_ms = -1;

/* Cancel from this thread while another is blocked (no timeout, no change
 * coming): it returns ETCDC_ERR_CANCELLED within the limit. */
static void cancel_blocked(const etcdc_client *c, const char *key, int use_run,
                           const char *what) {
    etcdc_watcher *w = NULL;
    if (!CHECK_ST(etcdc_watcher_new(c, key, NULL, &w), ETCDC_OK)) {
        return;
    }
    struct blocked b;
    memset(&b, 0, sizeof b);
    b.watcher = w;
    b.use_run = use_run;
    b.run.stop_at = 1;
    pthread_mutex_init(&b.lock, NULL);
    pthread_t th;
    if (!CHECK(pthread_create(&th, NULL, blocked_main, &b) == 0)) {
        etcdc_watcher_free(w);
        return;
    }
    /* Give it time to send its poll and block in it. */
    sleep_s(under_valgrind() ? 0.5 : 0.3);
    CHECK(!has_returned(&b)); /* still blocked */
    double cancelled_at = now_s();
    etcdc_watcher_cancel(w);
    CHECK(pthread_join(th, NULL) == 0);
    double took = b.returned_at - cancelled_at;
    *(use_run ? &latency_run_ms : &latency_next_ms) = took * 1000;
    CHECK_ST(b.status, ETCDC_ERR_CANCELLED);
    if (!CHECK(took < prompt_limit())) {
        printf("     %s returned %.0f ms after the cancel (limit %.0f ms)\n", what, took * 1000,
               prompt_limit() * 1000);
    }
    CHECK(b.event == RESPONSE_SENTINEL); /* untouched */
    CHECK(b.run.calls == 0);
    pthread_mutex_destroy(&b.lock);

    /* Final: every later call returns CANCELLED at once. */
    etcdc_response *r = RESPONSE_SENTINEL;
    double t0 = now_s();
    CHECK_ST(etcdc_watcher_next(w, -1, &r), ETCDC_ERR_CANCELLED);
    CHECK(last_error_is(ETCDC_ERR_CANCELLED, ""));
    CHECK_ST(etcdc_watcher_next(w, 5000, &r), ETCDC_ERR_CANCELLED);
    CHECK_ST(etcdc_watcher_next(w, 0, &r), ETCDC_ERR_CANCELLED);
    struct run_state s;
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    CHECK_ST(etcdc_watcher_run(w, record_event, &s), ETCDC_ERR_CANCELLED);
    CHECK(s.calls == 0);
    /* Cancelling again is harmless; resuming does not undo it. */
    etcdc_watcher_cancel(w);
    CHECK_ST(etcdc_watcher_resume_from(w, 1), ETCDC_OK);
    CHECK_ST(etcdc_watcher_next(w, -1, &r), ETCDC_ERR_CANCELLED);
    took = now_s() - t0;
    CHECK(r == RESPONSE_SENTINEL);
    if (!CHECK(took < prompt_limit())) {
        printf("     six calls on a cancelled watcher took %.0f ms\n", took * 1000);
    }
    /* A cancelled watcher is freed like any other (valgrind: no leak). */
    etcdc_watcher_free(w);
}

static void test_watcher_cancel(const etcdc_client *c) {
    cancel_blocked(c, K("cancel/quiet"), 0, "etcdc_watcher_next()");
    cancel_blocked(c, K("cancel/quiet"), 1, "etcdc_watcher_run()");

    /* Cancelled before the first next(): nothing is sent, CANCELLED at once,
     * even with events waiting in etcd's history. */
    uint64_t i1 = put(c, K("cancel/k"), "waiting", NULL);
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.wait_index = i1;
    etcdc_watcher *w = NULL;
    if (CHECK_ST(etcdc_watcher_new(c, K("cancel/k"), &o, &w), ETCDC_OK)) {
        etcdc_watcher_cancel(w);
        etcdc_watcher_cancel(w);
        etcdc_response *r = RESPONSE_SENTINEL;
        double t0 = now_s();
        CHECK_ST(etcdc_watcher_next(w, -1, &r), ETCDC_ERR_CANCELLED);
        CHECK(now_s() - t0 < prompt_limit());
        CHECK(r == RESPONSE_SENTINEL);
        CHECK_U64(etcdc_watcher_next_index(w), i1); /* nothing consumed */
        etcdc_watcher_free(w);
    }

    /* A watcher created and cancelled but never used, and one never used at
     * all: both freed cleanly. */
    w = NULL;
    if (CHECK_ST(etcdc_watcher_new(c, K("cancel/k"), NULL, &w), ETCDC_OK)) {
        etcdc_watcher_cancel(w);
        etcdc_watcher_free(w);
    }
    w = NULL;
    if (CHECK_ST(etcdc_watcher_new(c, K("cancel/k"), NULL, &w), ETCDC_OK)) {
        etcdc_watcher_free(w);
    }
}

/* -------------------------------------------- a server that is not there */

static void test_dead_endpoint(void) {
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", (unsigned)dead_port());
    const char *ep = dead;
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &ep;
    o.endpoint_count = 1;
    o.connect_timeout_ms = 1000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        return;
    }
    /* A few retries, then the connection error: bounded, not endless. */
    double t0 = now_s();
    CHECK_ST(etcdc_watch(c, "/c-watch/dead", NULL, -1, NULL), ETCDC_ERR_CONNECTION);
    CHECK(now_s() - t0 < 10);
    CHECK(last_error_said(ETCDC_ERR_CONNECTION, "")); /* no server answered */
    etcdc_watcher *w = NULL;
    if (CHECK_ST(etcdc_watcher_new(c, "/c-watch/dead", NULL, &w), ETCDC_OK)) {
        t0 = now_s();
        CHECK_ST(etcdc_watcher_next(w, -1, NULL), ETCDC_ERR_CONNECTION);
        CHECK(now_s() - t0 < 10);
        /* Calling again retries; cancelling while it waits between two
         * retries is prompt, too. */
        struct blocked b;
        memset(&b, 0, sizeof b);
        b.watcher = w;
        pthread_mutex_init(&b.lock, NULL);
        pthread_t th;
        if (CHECK(pthread_create(&th, NULL, blocked_main, &b) == 0)) {
            sleep_s(under_valgrind() ? 0.4 : 0.2);
            CHECK(!has_returned(&b));
            double cancelled_at = now_s();
            etcdc_watcher_cancel(w);
            CHECK(pthread_join(th, NULL) == 0);
            CHECK_ST(b.status, ETCDC_ERR_CANCELLED);
            double took = b.returned_at - cancelled_at;
            latency_retry_ms = took * 1000;
            if (!CHECK(took < prompt_limit())) {
                printf("     cancel during the retry pause took %.0f ms\n", took * 1000);
            }
        }
        pthread_mutex_destroy(&b.lock);
        etcdc_watcher_free(w);
    }
    etcdc_client_free(c);
}

/* ------------------------------------------------------------ expiry */

static void test_expire_event(const etcdc_client *c, uint64_t ttl_index, double written_at) {
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.wait_index = ttl_index + 1;
    etcdc_response *ev = NULL;
    if (CHECK_ST(etcdc_watch(c, K("exp/k"), &o, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(ev), "expire");
        CHECK_STR(etcdc_node_key(etcdc_response_node(ev)), K("exp/k"));
        CHECK(ev_value(ev) == NULL);
        CHECK_STR(ev_prev_value(ev), "short-lived");
        CHECK(ev_index(ev) > ttl_index);
        CHECK(now_s() - written_at >= 0.9);
        etcdc_response_free(ev);
    }
}

/* ------------------------------------- 401: fallen behind etcd's history */

#define FLOOD_WRITES 1100

static void test_event_index_cleared(const etcdc_client *c) {
    char dir[256], key[256];
    snprintf(dir, sizeof dir, "%s", K("flood"));
    snprintf(key, sizeof key, "%s", K("flood/k"));
    uint64_t start = put(c, key, "start", NULL);
    if (start == 0) {
        return;
    }
    /* Watchers made now, from just after `start`, but used only once etcd's
     * history (1,000 events) has moved past it. */
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    o.recursive = true;
    o.wait_index = start + 1;
    etcdc_watcher *w = NULL, *w_run = NULL;
    CHECK_ST(etcdc_watcher_new(c, dir, &o, &w), ETCDC_OK);
    CHECK_ST(etcdc_watcher_new(c, dir, &o, &w_run), ETCDC_OK);

    double t0 = now_s();
    int failures = 0;
    for (int i = 0; i < FLOOD_WRITES; i++) {
        failures += etcdc_write(c, key, "x", NULL, NULL) != ETCDC_OK;
    }
    CHECK(failures == 0);
    printf("(%d writes in %.1f s)\n", FLOOD_WRITES, now_s() - t0);
    uint64_t current = etcd_index_now(c, dir);
    CHECK(current >= start + FLOOD_WRITES);

    /* One-shot watch from there. */
    etcdc_response *r = RESPONSE_SENTINEL;
    CHECK_ST(etcdc_watch(c, dir, &o, 5000, &r), ETCDC_ERR_EVENT_INDEX_CLEARED);
    CHECK(r == RESPONSE_SENTINEL);
    const etcdc_error *e = etcdc_error_last();
    if (CHECK(e != NULL)) {
        CHECK(e->status == ETCDC_ERR_EVENT_INDEX_CLEARED);
        CHECK(e->etcd_code == 401);
        CHECK_U64(e->index, current);
        /* etcd's words: "The event in requested index is outdated and cleared" */
        CHECK(e->server_message != NULL && strstr(e->server_message, "outdated") != NULL);
    }

    /* The watcher: 401 with etcd's current index, nothing consumed. */
    if (w != NULL) {
        CHECK_ST(etcdc_watcher_next(w, 5000, &r), ETCDC_ERR_EVENT_INDEX_CLEARED);
        CHECK(r == RESPONSE_SENTINEL);
        e = etcdc_error_last();
        if (CHECK(e != NULL)) {
            CHECK(e->status == ETCDC_ERR_EVENT_INDEX_CLEARED);
            CHECK(e->etcd_code == 401);
            CHECK_U64(e->index, current);
            CHECK(strlen(e->message) > 0);
        }
        CHECK_U64(etcdc_watcher_next_index(w), start + 1);
        /* Not skipped silently: asking again says the same. */
        CHECK_ST(etcdc_watcher_next(w, 5000, NULL), ETCDC_ERR_EVENT_INDEX_CLEARED);
    }
    struct run_state s;
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    if (w_run != NULL) {
        CHECK_ST(etcdc_watcher_run(w_run, record_event, &s), ETCDC_ERR_EVENT_INDEX_CLEARED);
        CHECK(s.calls == 0);
        e = etcdc_error_last();
        CHECK(e != NULL && e->etcd_code == 401 && e->index == current);
    }

    /* Re-read what is watched, resume after that read: the next change comes. */
    etcdc_read_options ro = ETCDC_READ_OPTIONS_INIT;
    ro.recursive = true;
    etcdc_response *read = NULL;
    uint64_t read_index = 0;
    if (CHECK_ST(etcdc_read(c, dir, &ro, &read), ETCDC_OK)) {
        read_index = etcdc_response_etcd_index(read);
        CHECK_U64(read_index, current); /* nothing else wrote meanwhile */
        CHECK_STR(etcdc_node_value(etcdc_response_leaf(read, 0)), "x");
        etcdc_response_free(read);
    }
    if (read_index == 0) {
        etcdc_watcher_free(w);
        etcdc_watcher_free(w_run);
        return;
    }
    if (w != NULL) {
        CHECK_ST(etcdc_watcher_resume_from(w, read_index + 1), ETCDC_OK);
        CHECK_U64(etcdc_watcher_next_index(w), read_index + 1);
    }
    if (w_run != NULL) {
        CHECK_ST(etcdc_watcher_resume_from(w_run, read_index + 1), ETCDC_OK);
    }
    uint64_t after = put(c, key, "after", NULL);
    CHECK(after > read_index);
    etcdc_response *ev = NULL;
    if (w != NULL && CHECK_ST(etcdc_watcher_next(w, 5000, &ev), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(ev), "set");
        CHECK_STR(ev_value(ev), "after");
        CHECK_STR(ev_prev_value(ev), "x");
        CHECK_U64(ev_index(ev), after);
        CHECK_U64(etcdc_watcher_next_index(w), after + 1);
        etcdc_response_free(ev);
    }
    if (w_run != NULL) {
        memset(&s, 0, sizeof s);
        s.stop_at = 1;
        CHECK_ST(etcdc_watcher_run(w_run, record_event, &s), ETCDC_OK);
        CHECK(s.calls == 1);
        CHECK_U64(s.index[0], after);
        CHECK_STR(s.value[0], "after");
    }
    etcdc_watcher_free(w);
    etcdc_watcher_free(w_run);
}

/* ---------------------------------------------------------------- main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-watch/%ld", (long)getpid());
    double start = now_s();
    printf("test_watch: keys under %s%s\n", prefix,
           under_valgrind() ? " (under valgrind: 500 ms for \"at once\")" : "");

    test_options_init();

    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }

    /* A key with a 1 s TTL, written first; its expiry is watched later
     * (before the flood of writes pushes it out of etcd's history). */
    etcdc_write_options short_ttl = ETCDC_WRITE_OPTIONS_INIT;
    short_ttl.ttl = 1;
    uint64_t ttl_index = put(c, K("exp/k"), "short-lived", &short_ttl);
    double ttl_written = now_s();

    test_bad_arguments(c);
    test_watch_next_change(c);
    test_watch_past_index(c);
    test_watch_timeout(c);
    test_watcher_basics(c, &o);
    test_watcher_actions(c);
    test_watcher_in_order(c);
    test_watcher_short_timeouts(c);
    test_watcher_run(c);
    test_watcher_cancel(c);
    test_dead_endpoint();
    printf("(cancel -> return: %.1f ms in next(), %.1f ms in run(), %.1f ms in a retry pause)\n",
           latency_next_ms, latency_run_ms, latency_retry_ms);
    test_expire_event(c, ttl_index, ttl_written);
    test_event_index_cleared(c);

    /* Clean up: the whole prefix. */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    CHECK_ST(etcdc_delete(c, prefix, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, prefix, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    etcdc_client_free(c);
    printf("(%.1f s)\n", now_s() - start);
    printf("%d passed, %d failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
