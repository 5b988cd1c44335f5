/*
 * etcdc C tests of v3 watches (etcdc_v3_watcher_*, etcdc_v3_event_*) against
 * a real etcd: events with every field (binary keys, leases, prev_kv, a
 * delete's kv), a prefix, a range and "from this key on", the no_put and
 * no_delete filters, history from a start revision, compaction
 * (ETCDC_ERR_COMPACTED, the compaction's revision, the documented recovery:
 * re-read, watch from the read's revision + 1), a cancel from another
 * thread waking a blocked etcdc_v3_watcher_next() and _run() within the
 * limit, the callback loop stopping on non-zero, timeouts (0 and positive:
 * ETCDC_ERR_WATCH_TIMEOUT, nothing lost), a watcher that outlives its
 * client, the watch thread gone once the last watcher is freed, and NULL /
 * invalid arguments.
 *
 *   test_v3_watch              (endpoint: $ETCDC_ENDPOINT, an etcd 3.4+)
 *
 * Every key lives under /c-v3-watch/<pid>/, removed at the end; the lease
 * is revoked. The compaction test compacts the whole store up to a
 * revision of its own. It needs the etcd to itself while it runs (as make
 * runs it): the watches of every key, of "this key on" and of a future
 * revision, and the compaction, count on no other writer. Threads other
 * than main never call CHECK: they record what happened, and main checks
 * it after pthread_join(). Built with -std=c99 -Wall -Wextra -Werror
 * -pedantic (it is valid C++11 too) and run under valgrind and ASan/UBSan:
 * everything is freed, also cancelled watchers. The last line printed is
 * "N passed, M failed"; the exit status is non-zero if M > 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------- helpers */

static char prefix[64];

/* A key: bytes (NUL included) and their length. */
struct key {
    char bytes[512];
    size_t len;
};

/* The key `rel` (`n` bytes, any bytes) under this run's prefix. */
static struct key Kb(const void *rel, size_t n) {
    struct key k;
    size_t p = strlen(prefix);
    memcpy(k.bytes, prefix, p);
    memcpy(k.bytes + p, rel, n);
    k.len = p + n;
    k.bytes[k.len] = '\0';
    return k;
}

/* The key `rel` (text) under this run's prefix. */
static struct key K(const char *rel) {
    return Kb(rel, strlen(rel));
}

/* A key's pointer and length, as the v3 calls take them. */
#define KEY(k) (k).bytes, (k).len

/* n bytes at p are `want` (want_n bytes), followed by the NUL the header
 * promises after every key and value. */
static int bytes_are(const uint8_t *p, size_t n, const void *want, size_t want_n) {
    return p != NULL && n == want_n && memcmp(p, want, n) == 0 && p[n] == 0;
}

/* The kv is `key` with the value `value` (n bytes). */
static int kv_is_bytes(const etcdc_v3_kv *kv, struct key key, const void *value, size_t n) {
    return kv != NULL && bytes_are(kv->key, kv->key_len, key.bytes, key.len) &&
           bytes_are(kv->value, kv->value_len, value, n);
}

/* The kv is `key` with the text value `value`. */
static int kv_is(const etcdc_v3_kv *kv, struct key key, const char *value) {
    return kv_is_bytes(kv, key, value, strlen(value));
}

/* Puts `value` (n bytes) at k with `lease` (0: none); the revision, or 0. */
static int64_t put_lease(const etcdc_client *c, struct key k, const void *value, size_t n,
                         int64_t lease) {
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    etcdc_v3_put_response *r = NULL;
    o.lease = lease;
    if (!CHECK_ST(etcdc_v3_put(c, KEY(k), value, n, &o, &r), ETCDC_OK)) {
        return 0;
    }
    int64_t rev = etcdc_v3_put_response_header(r)->revision;
    etcdc_v3_put_response_free(r);
    return rev;
}

static int64_t put(const etcdc_client *c, struct key k, const char *text) {
    return put_lease(c, k, text, strlen(text), 0);
}

/* Deletes k; the revision of the delete, or 0. */
static int64_t del(const etcdc_client *c, struct key k) {
    etcdc_v3_delete_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_delete(c, KEY(k), NULL, &r), ETCDC_OK)) {
        return 0;
    }
    CHECK_INT(etcdc_v3_delete_response_deleted(r), 1);
    int64_t rev = etcdc_v3_delete_response_header(r)->revision;
    etcdc_v3_delete_response_free(r);
    return rev;
}

/* Watch options at their defaults (ETCDC_V3_WATCH_OPTIONS_INIT). */
static etcdc_v3_watch_options defaults(void) {
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    return o;
}

/* A watcher of k with o (NULL: k alone, from now), or NULL if it failed. */
static etcdc_v3_watcher *watch(const etcdc_client *c, struct key k,
                               const etcdc_v3_watch_options *o) {
    etcdc_v3_watcher *w = NULL;
    if (!CHECK_ST(etcdc_v3_watcher_new(c, KEY(k), o, &w), ETCDC_OK)) {
        return NULL;
    }
    CHECK(w != NULL);
    return w;
}

/* How long to wait for an event that is coming. */
#define COMING_MS 10000

/* The next event (it must come), or NULL. */
static etcdc_v3_event *next(etcdc_v3_watcher *w) {
    etcdc_v3_event *e = NULL;
    if (w == NULL || !CHECK_ST(etcdc_v3_watcher_next(w, COMING_MS, &e), ETCDC_OK)) {
        return NULL;
    }
    CHECK(e != NULL);
    return e;
}

/* The next event is a put (or a delete) of `key` with `value` ("" for a
 * delete) at revision `rev` (0: any). Frees it. */
static int next_is(etcdc_v3_watcher *w, etcdc_v3_event_kind kind, struct key key,
                   const char *value, int64_t rev) {
    etcdc_v3_event *e = next(w);
    int ok = e != NULL;
    ok = ok && CHECK_INT(etcdc_v3_event_type(e), kind);
    ok = ok && CHECK(kv_is(etcdc_v3_event_kv(e), key, value));
    if (ok && rev != 0) {
        ok = CHECK_INT(etcdc_v3_event_revision(e), rev);
    }
    if (!ok && e != NULL) {
        const etcdc_v3_kv *kv = etcdc_v3_event_kv(e);
        printf("     got %s of %.*s at %" PRId64 "\n",
               etcdc_v3_event_type(e) == ETCDC_V3_EVENT_PUT ? "a put" : "a delete",
               (int)kv->key_len, (const char *)kv->key, etcdc_v3_event_revision(e));
    }
    etcdc_v3_event_free(e);
    return ok;
}

/* No event is at hand, nor comes within `ms`. */
static int quiet_for(etcdc_v3_watcher *w, int64_t ms) {
    etcdc_v3_event *e = NULL;
    etcdc_status st = etcdc_v3_watcher_next(w, ms, &e);
    if (st == ETCDC_OK) {
        const etcdc_v3_kv *kv = etcdc_v3_event_kv(e);
        printf("     unexpected event: %.*s at %" PRId64 "\n", (int)kv->key_len,
               (const char *)kv->key, etcdc_v3_event_revision(e));
        etcdc_v3_event_free(e);
    }
    return CHECK_ST(st, ETCDC_ERR_WATCH_TIMEOUT);
}

/* The store's revision now (the header of a read). */
static int64_t revision_now(const etcdc_client *c, struct key k) {
    etcdc_v3_range_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_range(c, KEY(k), NULL, &r), ETCDC_OK)) {
        return 0;
    }
    int64_t rev = etcdc_v3_range_response_header(r)->revision;
    etcdc_v3_range_response_free(r);
    return rev;
}

/* The threads of this process now (Linux: /proc/self/task); -1 if unknown. */
static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* Waits up to 2 s for the thread count to come back to `want`. */
static int threads_back_to(int want) {
    double until = now_s() + 2.0;
    int n = thread_count();
    while (n != want && now_s() < until) {
        sleep_s(0.02);
        n = thread_count();
    }
    if (n != want) {
        printf("     %d threads, expected %d\n", n, want);
    }
    return n == want;
}

/* Sentinels to check that out-parameters stay untouched on failure. */
static int watcher_sentinel_storage, event_sentinel_storage;
#define WATCHER_SENTINEL ((etcdc_v3_watcher *)(void *)&watcher_sentinel_storage)
#define EVENT_SENTINEL ((etcdc_v3_event *)(void *)&event_sentinel_storage)

/* The client's own INVALID_ARGUMENT (no server words), naming `what`. */
static int refused(const char *what) {
    return last_error_is(ETCDC_ERR_INVALID_ARGUMENT, what) &&
           last_error_said(ETCDC_ERR_INVALID_ARGUMENT, "");
}

/* A callback that counts its calls in *userdata and goes on. */
static int count_and_go_on(const etcdc_v3_event *event, void *userdata) {
    *(int *)userdata += event != NULL;
    return 0;
}

/* ------------------------------------------------------------- options */

static void test_options_init(void) {
    etcdc_v3_watch_options init = ETCDC_V3_WATCH_OPTIONS_INIT;
    etcdc_v3_watch_options o;
    memset(&o, 0xab, sizeof o);
    CHECK_ST(etcdc_v3_watch_options_init(&o, ETCDC_V3_WATCH_OPTIONS_VERSION), ETCDC_OK);
    CHECK(o.version == ETCDC_V3_WATCH_OPTIONS_VERSION && o.range_end == NULL &&
          o.range_end_len == 0 && !o.prefix && o.start_revision == 0 && !o.prev_kv &&
          !o.no_put && !o.no_delete);
    CHECK(init.version == ETCDC_V3_WATCH_OPTIONS_VERSION && init.range_end == NULL &&
          init.range_end_len == 0 && !init.prefix && init.start_revision == 0 &&
          !init.prev_kv && !init.no_put && !init.no_delete);
    memset(&o, 0xab, sizeof o);
    CHECK_ST(etcdc_v3_watch_options_init(NULL, ETCDC_V3_WATCH_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("opts is NULL"));
    CHECK_ST(etcdc_v3_watch_options_init(&o, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_watch_options_init(&o, ETCDC_V3_WATCH_OPTIONS_VERSION + 1),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("etcdc_v3_watch_options has version"));
    CHECK(o.version == 0xabababab); /* nothing written */
}

/* ----------------------------------------------------- bad arguments */

static void test_invalid(const etcdc_client *c) {
    struct key k = K("invalid");
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    etcdc_v3_watcher *w = WATCHER_SENTINEL;

    CHECK_ST(etcdc_v3_watcher_new(NULL, KEY(k), NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK_ST(etcdc_v3_watcher_new(c, KEY(k), NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));
    CHECK_ST(etcdc_v3_watcher_new(c, NULL, 3, NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key is NULL but key_len is 3"));
    CHECK_ST(etcdc_v3_watcher_new(c, k.bytes, SIZE_MAX, NULL, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key_len"));
    o.version = 0;
    CHECK_ST(etcdc_v3_watcher_new(c, KEY(k), &o, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("etcdc_v3_watch_options has version 0"));
    o.version = ETCDC_V3_WATCH_OPTIONS_VERSION;
    o.prefix = true;
    o.range_end = "z";
    o.range_end_len = 1;
    CHECK_ST(etcdc_v3_watcher_new(c, KEY(k), &o, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("prefix and range_end"));
    o.prefix = false;
    o.range_end = NULL;
    CHECK_ST(etcdc_v3_watcher_new(c, KEY(k), &o, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("range_end is NULL"));
    o.range_end_len = 0;
    o.start_revision = -1;
    CHECK_ST(etcdc_v3_watcher_new(c, KEY(k), &o, &w), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("revision"));
    CHECK(w == WATCHER_SENTINEL); /* untouched by every failure */

    etcdc_v3_event *e = EVENT_SENTINEL;
    CHECK_ST(etcdc_v3_watcher_next(NULL, 0, &e), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("watcher is NULL"));
    CHECK(e == EVENT_SENTINEL);
    int calls = 0;
    CHECK_ST(etcdc_v3_watcher_run(NULL, count_and_go_on, &calls), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("watcher is NULL"));

    /* A callback is required; refused before anything is waited for. */
    w = watch(c, k, NULL);
    if (w != NULL) {
        CHECK_ST(etcdc_v3_watcher_run(w, NULL, &calls), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(refused("callback is NULL"));
        etcdc_v3_watcher_free(w);
    }
    CHECK_INT(calls, 0);

    /* Accessors read NULL as nothing; free and cancel of NULL do nothing. */
    CHECK_INT(etcdc_v3_watcher_next_revision(NULL), 0);
    CHECK_INT(etcdc_v3_watcher_compact_revision(NULL), 0);
    CHECK_INT(etcdc_v3_event_type(NULL), ETCDC_V3_EVENT_NONE);
    CHECK(etcdc_v3_event_kv(NULL) == NULL);
    CHECK(etcdc_v3_event_prev_kv(NULL) == NULL);
    CHECK_INT(etcdc_v3_event_revision(NULL), 0);
    etcdc_v3_watcher_cancel(NULL);
    etcdc_v3_watcher_free(NULL);
    etcdc_v3_event_free(NULL);
}

/* ------------------------------------------------------------- events */

/* A key with a NUL byte and invalid UTF-8, put, put again with a lease,
 * deleted: each event with every field; prev_kv when asked for, NULL for
 * the key's creation; a second watcher of the same key without prev_kv. */
static void test_events(const etcdc_client *c) {
    static const char rel[] = "ev/bin\0\xff";
    static const char v1[] = "one\0\xfe";
    struct key k = Kb(rel, sizeof rel - 1);
    int64_t lease = 0;
    if (!CHECK_ST(etcdc_v3_lease_grant(c, 60, 0, &lease, NULL), ETCDC_OK)) {
        return;
    }
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.prev_kv = true;
    etcdc_v3_watcher *w = watch(c, k, &o);
    etcdc_v3_watcher *plain = watch(c, k, NULL);
    if (w == NULL || plain == NULL) {
        etcdc_v3_watcher_free(w);
        etcdc_v3_watcher_free(plain);
        etcdc_v3_lease_revoke(c, lease, NULL);
        return;
    }
    /* Created from now: it goes on from the revision after the store's. */
    int64_t now = revision_now(c, k);
    CHECK(etcdc_v3_watcher_next_revision(w) >= 1 && etcdc_v3_watcher_next_revision(w) <= now + 1);
    CHECK_INT(etcdc_v3_watcher_compact_revision(w), 0);

    int64_t r1 = put_lease(c, k, v1, sizeof v1 - 1, 0);
    int64_t r2 = put_lease(c, k, "two", 3, lease);
    int64_t r3 = del(c, k);

    /* The creation: no prev_kv. */
    etcdc_v3_event *e = next(w);
    if (e != NULL) {
        const etcdc_v3_kv *kv = etcdc_v3_event_kv(e);
        CHECK_INT(etcdc_v3_event_type(e), ETCDC_V3_EVENT_PUT);
        CHECK_INT(etcdc_v3_event_revision(e), r1);
        CHECK(kv_is_bytes(kv, k, v1, sizeof v1 - 1));
        CHECK_INT(kv->create_revision, r1);
        CHECK_INT(kv->mod_revision, r1);
        CHECK_INT(kv->version, 1);
        CHECK_INT(kv->lease, 0);
        CHECK(etcdc_v3_event_prev_kv(e) == NULL);
        CHECK(etcdc_v3_event_kv(e) == kv); /* the same view each time */
    }
    etcdc_v3_event_free(e);

    /* The update, with the lease: prev_kv is the first value. */
    e = next(w);
    if (e != NULL) {
        const etcdc_v3_kv *kv = etcdc_v3_event_kv(e);
        const etcdc_v3_kv *was = etcdc_v3_event_prev_kv(e);
        CHECK_INT(etcdc_v3_event_type(e), ETCDC_V3_EVENT_PUT);
        CHECK_INT(etcdc_v3_event_revision(e), r2);
        CHECK(kv_is(kv, k, "two"));
        CHECK_INT(kv->create_revision, r1);
        CHECK_INT(kv->mod_revision, r2);
        CHECK_INT(kv->version, 2);
        CHECK_INT(kv->lease, lease);
        if (CHECK(was != NULL)) {
            CHECK(kv_is_bytes(was, k, v1, sizeof v1 - 1));
            CHECK_INT(was->create_revision, r1);
            CHECK_INT(was->mod_revision, r1);
            CHECK_INT(was->version, 1);
            CHECK_INT(was->lease, 0);
        }
    }
    etcdc_v3_event_free(e);

    /* The delete: the key and the delete's revision, the rest empty;
     * prev_kv is the key as it was, lease included. */
    e = next(w);
    if (e != NULL) {
        const etcdc_v3_kv *kv = etcdc_v3_event_kv(e);
        const etcdc_v3_kv *was = etcdc_v3_event_prev_kv(e);
        CHECK_INT(etcdc_v3_event_type(e), ETCDC_V3_EVENT_DELETE);
        CHECK_INT(etcdc_v3_event_revision(e), r3);
        CHECK(kv_is(kv, k, "")); /* an empty value, never NULL */
        CHECK_INT(kv->mod_revision, r3);
        CHECK_INT(kv->create_revision, 0);
        CHECK_INT(kv->version, 0);
        CHECK_INT(kv->lease, 0);
        if (CHECK(was != NULL)) {
            CHECK(kv_is(was, k, "two"));
            CHECK_INT(was->mod_revision, r2);
            CHECK_INT(was->version, 2);
            CHECK_INT(was->lease, lease);
        }
    }
    etcdc_v3_event_free(e);
    CHECK_INT(etcdc_v3_watcher_next_revision(w), r3 + 1);
    quiet_for(w, 0);

    /* The same changes to the watcher without prev_kv: never a prev_kv. */
    int64_t revs[3];
    revs[0] = r1;
    revs[1] = r2;
    revs[2] = r3;
    for (int i = 0; i < 3; i++) {
        e = next(plain);
        CHECK_INT(etcdc_v3_event_revision(e), revs[i]);
        CHECK(etcdc_v3_event_prev_kv(e) == NULL);
        etcdc_v3_event_free(e);
    }
    quiet_for(plain, 0);

    /* An event outlives its watcher (and is read-only). */
    put(c, k, "after");
    e = next(w);
    etcdc_v3_watcher_free(w);
    etcdc_v3_watcher_free(plain);
    CHECK(e != NULL && kv_is(etcdc_v3_event_kv(e), k, "after") &&
          etcdc_v3_event_prev_kv(e) == NULL);
    etcdc_v3_event_free(e);

    /* out may be NULL: the event is dropped, the next one comes. */
    w = watch(c, k, NULL);
    if (w != NULL) {
        put(c, k, "dropped");
        int64_t kept = put(c, k, "kept");
        CHECK_ST(etcdc_v3_watcher_next(w, COMING_MS, NULL), ETCDC_OK);
        next_is(w, ETCDC_V3_EVENT_PUT, k, "kept", kept);
        etcdc_v3_watcher_free(w);
    }
    CHECK_ST(etcdc_v3_lease_revoke(c, lease, NULL), ETCDC_OK);
}

/* ---------------------------------------------------- prefix and ranges */

static void test_prefix_and_ranges(const etcdc_client *c) {
    /* A prefix: the keys under p/, not p itself nor q. */
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.prefix = true;
    etcdc_v3_watcher *w = watch(c, K("p/"), &o);
    if (w != NULL) {
        put(c, K("p"), "outside");
        int64_t a = put(c, K("p/a"), "1");
        put(c, K("q"), "outside");
        int64_t b = put(c, K("p/b/deep"), "2");
        int64_t d = del(c, K("p/a"));
        next_is(w, ETCDC_V3_EVENT_PUT, K("p/a"), "1", a);
        next_is(w, ETCDC_V3_EVENT_PUT, K("p/b/deep"), "2", b);
        next_is(w, ETCDC_V3_EVENT_DELETE, K("p/a"), "", d);
        quiet_for(w, 0);
        etcdc_v3_watcher_free(w);
    }

    /* A range [r/b, r/d): r/b and r/c..., not r/a nor r/d. */
    o = defaults();
    struct key end = K("r/d");
    o.range_end = end.bytes;
    o.range_end_len = end.len;
    w = watch(c, K("r/b"), &o);
    if (w != NULL) {
        put(c, K("r/a"), "below");
        int64_t b = put(c, K("r/b"), "in");
        put(c, K("r/d"), "end: excluded");
        int64_t cz = put(c, K("r/czzz"), "in");
        next_is(w, ETCDC_V3_EVENT_PUT, K("r/b"), "in", b);
        next_is(w, ETCDC_V3_EVENT_PUT, K("r/czzz"), "in", cz);
        quiet_for(w, 0);
        etcdc_v3_watcher_free(w);
    }

    /* range_end "\0": every key from s/m on (past this run's keys too). */
    o = defaults();
    o.range_end = "";
    o.range_end_len = 1;
    w = watch(c, K("s/m"), &o);
    if (w != NULL) {
        put(c, K("s/a"), "below");
        int64_t m = put(c, K("s/m"), "from");
        int64_t z = put(c, K("t"), "after");
        next_is(w, ETCDC_V3_EVENT_PUT, K("s/m"), "from", m);
        next_is(w, ETCDC_V3_EVENT_PUT, K("t"), "after", z);
        etcdc_v3_watcher_free(w);
    }

    /* A prefix with an empty key: every key. */
    o = defaults();
    o.prefix = true;
    w = NULL;
    if (CHECK_ST(etcdc_v3_watcher_new(c, NULL, 0, &o, &w), ETCDC_OK)) {
        int64_t any = put(c, K("any/key"), "seen");
        next_is(w, ETCDC_V3_EVENT_PUT, K("any/key"), "seen", any);
        etcdc_v3_watcher_free(w);
    }
}

/* ------------------------------------------------------------- filters */

static void test_filters(const etcdc_client *c) {
    struct key k = K("filter");
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.no_put = true;
    etcdc_v3_watcher *deletes = watch(c, k, &o);
    o = defaults();
    o.no_delete = true;
    etcdc_v3_watcher *puts = watch(c, k, &o);
    if (deletes != NULL && puts != NULL) {
        int64_t p1 = put(c, k, "1");
        int64_t d1 = del(c, k);
        int64_t p2 = put(c, k, "2");
        int64_t d2 = del(c, k);
        next_is(deletes, ETCDC_V3_EVENT_DELETE, k, "", d1);
        next_is(deletes, ETCDC_V3_EVENT_DELETE, k, "", d2);
        next_is(puts, ETCDC_V3_EVENT_PUT, k, "1", p1);
        next_is(puts, ETCDC_V3_EVENT_PUT, k, "2", p2);
        quiet_for(deletes, 0);
        quiet_for(puts, 0);
        /* What a filter leaves out never comes: each goes on after the last
         * event it got. */
        CHECK_INT(etcdc_v3_watcher_next_revision(puts), p2 + 1);
        CHECK_INT(etcdc_v3_watcher_next_revision(deletes), d2 + 1);
    }
    etcdc_v3_watcher_free(deletes);
    etcdc_v3_watcher_free(puts);
}

/* ------------------------------------------------------------- history */

static void test_history(const etcdc_client *c) {
    struct key k = K("history");
    int64_t r1 = put(c, k, "v1");
    int64_t r2 = put(c, k, "v2");
    int64_t r3 = put(c, k, "v3");

    /* From r1: the three changes, already in etcd's history. */
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.start_revision = r1;
    etcdc_v3_watcher *w = watch(c, k, &o);
    if (w != NULL) {
        /* From r1, or after the events already received. */
        CHECK(etcdc_v3_watcher_next_revision(w) >= r1 &&
              etcdc_v3_watcher_next_revision(w) <= r3 + 1);
        next_is(w, ETCDC_V3_EVENT_PUT, k, "v1", r1);
        next_is(w, ETCDC_V3_EVENT_PUT, k, "v2", r2);
        next_is(w, ETCDC_V3_EVENT_PUT, k, "v3", r3);
        CHECK_INT(etcdc_v3_watcher_next_revision(w), r3 + 1);
        /* ...then the new ones. */
        int64_t r4 = put(c, k, "v4");
        next_is(w, ETCDC_V3_EVENT_PUT, k, "v4", r4);
        etcdc_v3_watcher_free(w);
    }

    /* From r2 with prev_kv: a past event carries the key as it was. */
    o.start_revision = r2;
    o.prev_kv = true;
    w = watch(c, k, &o);
    etcdc_v3_event *e = next(w);
    if (e != NULL) {
        CHECK_INT(etcdc_v3_event_revision(e), r2);
        CHECK(kv_is(etcdc_v3_event_kv(e), k, "v2"));
        CHECK(kv_is(etcdc_v3_event_prev_kv(e), k, "v1"));
    }
    etcdc_v3_event_free(e);
    etcdc_v3_watcher_free(w);

    /* From a future revision: nothing until the store gets there. */
    o = defaults();
    int64_t now = revision_now(c, k);
    o.start_revision = now + 2;
    w = watch(c, k, &o);
    if (w != NULL) {
        put(c, k, "now + 1: before the start");
        quiet_for(w, 200);
        int64_t r = put(c, k, "now + 2");
        next_is(w, ETCDC_V3_EVENT_PUT, k, "now + 2", r);
        CHECK_INT(r, now + 2);
        etcdc_v3_watcher_free(w);
    }
}

/* ----------------------------------------------------------- compaction */

static int stop_at_once(const etcdc_v3_event *event, void *userdata) {
    (void)event;
    (void)userdata;
    return 1;
}

/* A watch from a compacted revision: COMPACTED (final), with the
 * compaction's revision; then the recovery the header gives (re-read,
 * watch from the read's revision + 1) goes on without a gap. */
static void test_compaction(const etcdc_client *c) {
    struct key k = K("compacted");
    int64_t r1 = put(c, k, "1");
    put(c, k, "2");
    int64_t r3 = put(c, k, "3");
    if (!CHECK_ST(etcdc_v3_compact(c, r3, true, NULL), ETCDC_OK)) {
        return;
    }
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.start_revision = r1;
    etcdc_v3_watcher *w = NULL;
    etcdc_status st = etcdc_v3_watcher_new(c, KEY(k), &o, &w);
    if (st == ETCDC_ERR_COMPACTED) {
        /* Allowed by the header (etcd refused it at once); not etcd's way. */
        printf("     note: etcdc_v3_watcher_new() itself returned ETCDC_ERR_COMPACTED\n");
        CHECK(last_error_is(ETCDC_ERR_COMPACTED, "compacted"));
    } else if (CHECK_ST(st, ETCDC_OK)) {
        CHECK_INT(etcdc_v3_watcher_compact_revision(w), 0);
        etcdc_v3_event *e = EVENT_SENTINEL;
        CHECK_ST(etcdc_v3_watcher_next(w, COMING_MS, &e), ETCDC_ERR_COMPACTED);
        CHECK(e == EVENT_SENTINEL);
        CHECK(last_error_is(ETCDC_ERR_COMPACTED, "compacted"));
        CHECK_INT(etcdc_v3_watcher_compact_revision(w), r3);
        /* Final: it says so again, at once, and so does the loop. */
        CHECK_ST(etcdc_v3_watcher_next(w, 0, &e), ETCDC_ERR_COMPACTED);
        CHECK_ST(etcdc_v3_watcher_next(w, -1, &e), ETCDC_ERR_COMPACTED);
        CHECK_ST(etcdc_v3_watcher_run(w, stop_at_once, NULL), ETCDC_ERR_COMPACTED);
        CHECK_INT(etcdc_v3_watcher_compact_revision(w), r3);
        CHECK(e == EVENT_SENTINEL);
        etcdc_v3_watcher_free(w);
    }

    /* The recovery: re-read, and watch from the read's revision + 1. */
    etcdc_v3_range_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_range(c, KEY(k), NULL, &r), ETCDC_OK)) {
        return;
    }
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), k, "3"));
    o.start_revision = etcdc_v3_range_response_header(r)->revision + 1;
    etcdc_v3_range_response_free(r);
    w = watch(c, k, &o);
    if (w != NULL) {
        int64_t r4 = put(c, k, "4");
        next_is(w, ETCDC_V3_EVENT_PUT, k, "4", r4);
        CHECK_INT(etcdc_v3_watcher_compact_revision(w), 0);
        etcdc_v3_watcher_free(w);
    }

    /* At the compaction's revision itself: still kept, no error. */
    o.start_revision = r3;
    w = watch(c, k, &o);
    next_is(w, ETCDC_V3_EVENT_PUT, k, "3", r3);
    etcdc_v3_watcher_free(w);
}

/* ---------------------------------------------------------- cancelling */

/* A thread that cancels `watcher` after `delay` s, noting when. */
struct canceller {
    const etcdc_v3_watcher *watcher;
    double delay;
    double cancelled_at;
};

static void *canceller_main(void *arg) {
    struct canceller *k = (struct canceller *)arg;
    sleep_s(k->delay);
    k->cancelled_at = now_s();
    etcdc_v3_watcher_cancel(k->watcher);
    etcdc_v3_watcher_cancel(k->watcher); /* again: harmless */
    return NULL;
}

/* Main blocks in next() (or run()) without a time limit on a quiet key;
 * another thread cancels: it returns ETCDC_ERR_CANCELLED within the limit
 * (100 ms; 500 ms under valgrind). */
static void cancel_blocked(const etcdc_client *c, int use_run) {
    etcdc_v3_watcher *w = watch(c, K("cancel/quiet"), NULL);
    if (w == NULL) {
        return;
    }
    struct canceller k;
    memset(&k, 0, sizeof k);
    k.watcher = w;
    k.delay = under_valgrind() ? 0.5 : 0.3;
    pthread_t th;
    if (!CHECK(pthread_create(&th, NULL, canceller_main, &k) == 0)) {
        etcdc_v3_watcher_free(w);
        return;
    }
    etcdc_v3_event *e = EVENT_SENTINEL;
    int calls = 0;
    double t0 = now_s();
    etcdc_status st = use_run ? etcdc_v3_watcher_run(w, count_and_go_on, &calls)
                              : etcdc_v3_watcher_next(w, -1, &e);
    double returned_at = now_s();
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_ST(st, ETCDC_ERR_CANCELLED);
    CHECK(last_error_is(ETCDC_ERR_CANCELLED, "cancelled"));
    CHECK(k.cancelled_at - t0 >= k.delay * 0.9); /* it was blocked */
    double took = returned_at - k.cancelled_at;
    if (!CHECK(took < prompt_limit())) {
        printf("     %s returned %.0f ms after the cancel (limit %.0f ms)\n",
               use_run ? "etcdc_v3_watcher_run()" : "etcdc_v3_watcher_next()", took * 1000,
               prompt_limit() * 1000);
    }
    CHECK(e == EVENT_SENTINEL);
    CHECK_INT(calls, 0);

    /* Final: every later call returns CANCELLED at once, even with a
     * change of the key since. */
    put(c, K("cancel/quiet"), "too late");
    t0 = now_s();
    CHECK_ST(etcdc_v3_watcher_next(w, -1, &e), ETCDC_ERR_CANCELLED);
    CHECK_ST(etcdc_v3_watcher_next(w, 5000, &e), ETCDC_ERR_CANCELLED);
    CHECK_ST(etcdc_v3_watcher_next(w, 0, &e), ETCDC_ERR_CANCELLED);
    CHECK_ST(etcdc_v3_watcher_run(w, count_and_go_on, &calls), ETCDC_ERR_CANCELLED);
    etcdc_v3_watcher_cancel(w);
    CHECK(now_s() - t0 < prompt_limit());
    CHECK(e == EVENT_SENTINEL);
    CHECK_INT(calls, 0);
    etcdc_v3_watcher_free(w); /* a cancelled watcher is freed like any other */
}

static void test_cancel(const etcdc_client *c) {
    cancel_blocked(c, 0);
    cancel_blocked(c, 1);

    /* Cancelled before the first next(): CANCELLED at once, even with an
     * event at hand. */
    struct key k = K("cancel/k");
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.start_revision = put(c, k, "waiting");
    etcdc_v3_watcher *w = watch(c, k, &o);
    if (w != NULL) {
        etcdc_v3_watcher_cancel(w);
        etcdc_v3_event *e = EVENT_SENTINEL;
        CHECK_ST(etcdc_v3_watcher_next(w, COMING_MS, &e), ETCDC_ERR_CANCELLED);
        CHECK(e == EVENT_SENTINEL);
        etcdc_v3_watcher_free(w);
    }
}

/* --------------------------------------------------------- callback loop */

/* What the callback saw: values copied (the event is borrowed). */
struct seen {
    int calls;
    int stop_at; /* return non-zero at this call */
    char values[8][16];
    int64_t revisions[8];
    int prev_null;
};

static int record(const etcdc_v3_event *event, void *userdata) {
    struct seen *s = (struct seen *)userdata;
    const etcdc_v3_kv *kv = etcdc_v3_event_kv(event);
    if (s->calls < 8) {
        snprintf(s->values[s->calls], sizeof s->values[0], "%.*s", (int)kv->value_len,
                 (const char *)kv->value);
        s->revisions[s->calls] = etcdc_v3_event_revision(event);
    }
    s->prev_null += etcdc_v3_event_prev_kv(event) == NULL;
    s->calls++;
    return s->calls >= s->stop_at ? 7 : 0;
}

/* A callback that cancels its own watcher and goes on. */
struct self_cancel {
    const etcdc_v3_watcher *watcher;
    int calls;
};

static int cancel_own_watcher(const etcdc_v3_event *event, void *userdata) {
    struct self_cancel *s = (struct self_cancel *)userdata;
    (void)event;
    s->calls++;
    etcdc_v3_watcher_cancel(s->watcher);
    return 0;
}

static void test_run(const etcdc_client *c) {
    struct key k = K("run");
    int64_t revs[5];
    static const char *const values[5] = {"v0", "v1", "v2", "v3", "v4"};
    for (int i = 0; i < 5; i++) {
        revs[i] = put(c, k, values[i]);
    }
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    o.start_revision = revs[0];
    etcdc_v3_watcher *w = watch(c, k, &o);
    if (w == NULL) {
        return;
    }
    /* Stops after the third event: ETCDC_OK, the events in order. */
    struct seen s;
    memset(&s, 0, sizeof s);
    s.stop_at = 3;
    CHECK_ST(etcdc_v3_watcher_run(w, record, &s), ETCDC_OK);
    CHECK_INT(s.calls, 3);
    CHECK_STR(s.values[0], "v0");
    CHECK_STR(s.values[1], "v1");
    CHECK_STR(s.values[2], "v2");
    CHECK_INT(s.revisions[2], revs[2]);
    CHECK_INT(s.prev_null, 3);
    /* It goes on after the events received, taken or not. */
    CHECK(etcdc_v3_watcher_next_revision(w) >= revs[2] + 1 &&
          etcdc_v3_watcher_next_revision(w) <= revs[4] + 1);
    /* The next call goes on where the loop stopped; so does run(). */
    next_is(w, ETCDC_V3_EVENT_PUT, k, "v3", revs[3]);
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    CHECK_ST(etcdc_v3_watcher_run(w, record, &s), ETCDC_OK);
    CHECK_INT(s.calls, 1);
    CHECK_STR(s.values[0], "v4");
    /* A change made while no loop runs is the next loop's first event. */
    int64_t r5 = put(c, k, "v5");
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    CHECK_ST(etcdc_v3_watcher_run(w, record, &s), ETCDC_OK);
    CHECK_INT(s.revisions[0], r5);
    /* The callback may cancel its watcher: the loop ends, CANCELLED. */
    put(c, k, "v6");
    put(c, k, "v7");
    struct self_cancel sc;
    sc.watcher = w;
    sc.calls = 0;
    CHECK_ST(etcdc_v3_watcher_run(w, cancel_own_watcher, &sc), ETCDC_ERR_CANCELLED);
    CHECK_INT(sc.calls, 1);
    etcdc_v3_watcher_free(w);
}

/* ------------------------------------------------------------ timeouts */

static void test_timeouts(const etcdc_client *c) {
    struct key k = K("timeout");
    etcdc_v3_watcher *w = watch(c, k, NULL);
    if (w == NULL) {
        return;
    }
    /* 0: no wait. */
    etcdc_v3_event *e = EVENT_SENTINEL;
    double t0 = now_s();
    CHECK_ST(etcdc_v3_watcher_next(w, 0, &e), ETCDC_ERR_WATCH_TIMEOUT);
    double took = now_s() - t0;
    CHECK(last_error_is(ETCDC_ERR_WATCH_TIMEOUT, "a timeout of 0 does not wait"));
    if (!CHECK(took < prompt_limit())) {
        printf("     a timeout of 0 took %.0f ms\n", took * 1000);
    }
    /* Positive: about that long. */
    t0 = now_s();
    CHECK_ST(etcdc_v3_watcher_next(w, 300, &e), ETCDC_ERR_WATCH_TIMEOUT);
    took = now_s() - t0;
    CHECK(last_error_is(ETCDC_ERR_WATCH_TIMEOUT, "watch timed out"));
    if (!CHECK(took >= 0.29 && took < 0.3 + prompt_limit() + 0.2)) {
        printf("     a timeout of 300 ms took %.0f ms\n", took * 1000);
    }
    CHECK(e == EVENT_SENTINEL);

    /* A timeout loses nothing: the changes meanwhile come, in order, through
     * calls that do not wait. */
    int64_t r1 = put(c, k, "a");
    int64_t r2 = put(c, k, "b");
    int got = 0, timeouts = 0;
    int64_t revs[2] = {0, 0};
    double until = now_s() + COMING_MS / 1000.0;
    while (got < 2 && now_s() < until) {
        etcdc_status st = etcdc_v3_watcher_next(w, 0, &e);
        if (st == ETCDC_OK) {
            revs[got++] = etcdc_v3_event_revision(e);
            etcdc_v3_event_free(e);
        } else if (st == ETCDC_ERR_WATCH_TIMEOUT) {
            timeouts++;
            sleep_s(0.001);
        } else {
            CHECK_ST(st, ETCDC_ERR_WATCH_TIMEOUT);
            break;
        }
    }
    CHECK_INT(got, 2);
    CHECK_INT(revs[0], r1);
    CHECK_INT(revs[1], r2);
    /* Extreme timeouts follow the rule (INT64_MAX: no overflow). */
    int64_t r3 = put(c, k, "c");
    int64_t r4 = put(c, k, "d");
    CHECK_ST(etcdc_v3_watcher_next(w, INT64_MAX, &e), ETCDC_OK);
    CHECK_INT(etcdc_v3_event_revision(e), r3);
    etcdc_v3_event_free(e);
    CHECK_ST(etcdc_v3_watcher_next(w, INT64_MIN, &e), ETCDC_OK);
    CHECK_INT(etcdc_v3_event_revision(e), r4);
    etcdc_v3_event_free(e);
    etcdc_v3_watcher_free(w);
}

/* ------------------------------------------- lifetimes and the thread */

/* A watcher outlives the client it was made with; the watch thread ends
 * with the client's last watcher. */
static void test_lifetimes(const etcdc_client *c, const char *endpoint) {
    struct key k = K("outlive");
    revision_now(c, k); /* c's own connection, before counting */
    int before = thread_count();
    etcdc_client_options co = ETCDC_CLIENT_OPTIONS_INIT;
    co.endpoints = &endpoint;
    co.endpoint_count = 1;
    etcdc_client *c2 = NULL;
    if (!CHECK_ST(etcdc_client_new(&co, &c2), ETCDC_OK)) {
        return;
    }
    etcdc_v3_watcher *w1 = watch(c2, k, NULL);
    etcdc_v3_watcher *w2 = watch(c2, k, NULL);
    etcdc_client_free(c2);
    if (w1 == NULL || w2 == NULL) {
        etcdc_v3_watcher_free(w1);
        etcdc_v3_watcher_free(w2);
        return;
    }
    CHECK(thread_count() > before); /* the watch thread */
    int64_t r = put(c, k, "seen");
    next_is(w1, ETCDC_V3_EVENT_PUT, k, "seen", r);
    etcdc_v3_watcher_free(w1);
    /* The other watcher of the shared stream goes on. */
    next_is(w2, ETCDC_V3_EVENT_PUT, k, "seen", r);
    r = put(c, k, "again");
    next_is(w2, ETCDC_V3_EVENT_PUT, k, "again", r);
    etcdc_v3_watcher_free(w2);
    CHECK(threads_back_to(before));
}

/* ------------------------------------------------------------------ main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-v3-watch/%ld/", (long)getpid());
    double start = now_s();

    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        return check_report();
    }

    test_options_init();
    test_lifetimes(c, endpoint); /* first: no watch thread of `c` yet */
    test_invalid(c);
    test_events(c);
    test_prefix_and_ranges(c);
    test_filters(c);
    test_history(c);
    test_run(c);
    test_timeouts(c);
    test_cancel(c);
    test_compaction(c);

    /* Clean up: the whole prefix. */
    etcdc_v3_delete_options wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    wipe.prefix = true;
    CHECK_ST(etcdc_v3_delete(c, prefix, strlen(prefix), &wipe, NULL), ETCDC_OK);
    etcdc_client_free(c);

    printf("test_v3_watch: %.1f s\n", now_s() - start);
    return check_report();
}
