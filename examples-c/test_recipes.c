/*
 * etcdc C tests of the recipes against a real etcd: the distributed lock
 * (etcdc_lock_options_init, etcdc_lock_new/acquire/is_locked/renew/release/
 * cancel/free) and leader election (etcdc_election_options_init,
 * etcdc_election_set/get/delete/renew/watch).
 *
 *   test_recipes               (endpoint: $ETCDC_ENDPOINT, an etcd 3.4 with v2)
 *
 * Locks are named c-recipes-<pid>/<test> (their contenders' keys live under
 * /_locks/c-recipes-<pid>/<test>), elections are /c-recipes-<pid>/<test>
 * (keys under /_elections, or under /c-recipes-<pid>/... for the ones with
 * their own prefix), other keys under /c-recipes-<pid>; all are removed at
 * the end. Each CHECK records a failure with file:line and goes
 * on; the last line printed is "N passed, M failed", and the exit status is
 * non-zero if M > 0. Built with -std=c99 -Wall -Wextra -Werror -pedantic and
 * run under valgrind: every handle and string is freed.
 *
 * Threads other than main never call CHECK (the counters are not locked):
 * they record what happened, and main checks it after pthread_join().
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---------------------------------------------------------------- checks */

/* ------------------------------------------------------------- helpers */

static long pid;
static char prefix[64]; /* /c-recipes-<pid>: plain keys and elections */





/* How long a few requests may take (a try-once, a wake-up): the slack
 * allowed on top of a timeout. */
static double few_requests(void) {
    return under_valgrind() ? 2.0 : 0.5;
}

/* A lock's name for test `t` (a ring of buffers; main thread only). */
static const char *LOCK(const char *t) {
    return ring_printf("c-recipes-%ld/%s", pid, t);
}

/* The directory in etcd where the contenders of lock LOCK(t) queue. */
static const char *LOCK_DIR(const char *t) {
    return ring_printf("/_locks/c-recipes-%ld/%s", pid, t);
}

/* Election `t`, as given to etcdc_election_*, and the key etcd keeps it in. */
static const char *ELECTION(const char *t) {
    return ring_printf("%s/%s", prefix, t);
}

static const char *ELECTION_KEY(const char *t) {
    return ring_printf("/_elections%s/%s", prefix, t);
}

/* Number of contenders' keys in a lock directory (0 if it does not exist),
 * -1 if it could not be read. */
static int contenders(const etcdc_client *c, const char *dir) {
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_read(c, dir, NULL, &r);
    if (st == ETCDC_ERR_KEY_NOT_FOUND) {
        return 0;
    }
    if (st != ETCDC_OK) {
        return -1;
    }
    int n = (int)etcdc_node_child_count(etcdc_response_node(r));
    etcdc_response_free(r);
    return n;
}

/* The TTL left of the first contender's key in a lock directory, -1 if
 * there is none. */
static int64_t first_contender_ttl(const etcdc_client *c, const char *dir) {
    etcdc_read_options o = ETCDC_READ_OPTIONS_INIT;
    o.sorted = true;
    etcdc_response *r = NULL;
    if (etcdc_read(c, dir, &o, &r) != ETCDC_OK) {
        return -1;
    }
    const etcdc_node *first = etcdc_node_child(etcdc_response_node(r), 0);
    int64_t ttl = first != NULL ? etcdc_node_ttl(first) : -1;
    etcdc_response_free(r);
    return ttl;
}

/* Deletes every contender's key of a lock behind the locks' backs (what
 * an expiry, or an operator, does). Returns how many it deleted. */
static int delete_contenders(const etcdc_client *c, const char *dir) {
    etcdc_response *r = NULL;
    if (!CHECK_ST(etcdc_read(c, dir, NULL, &r), ETCDC_OK)) {
        return 0;
    }
    const etcdc_node *node = etcdc_response_node(r);
    int n = 0;
    for (size_t i = 0; i < etcdc_node_child_count(node); i++) {
        n += CHECK_ST(etcdc_delete(c, etcdc_node_key(etcdc_node_child(node, i)), NULL, NULL),
                      ETCDC_OK);
    }
    etcdc_response_free(r);
    return n;
}

/* A new lock LOCK(t) with `ttl` (0: default); NULL (recorded) on failure. */
static etcdc_lock *new_lock(const etcdc_client *c, const char *t, uint64_t ttl) {
    etcdc_lock_options o = ETCDC_LOCK_OPTIONS_INIT;
    o.ttl = ttl;
    etcdc_lock *l = NULL;
    if (!CHECK_ST(etcdc_lock_new(c, LOCK(t), &o, &l), ETCDC_OK) || !CHECK(l != NULL)) {
        return NULL;
    }
    return l;
}

/* Whether the lock says it is held: 1, 0, or -1 if it could not tell. */
static int locked(etcdc_lock *l) {
    bool b = false;
    etcdc_status st = etcdc_lock_is_locked(l, &b);
    if (!CHECK_ST(st, ETCDC_OK)) {
        return -1;
    }
    return b ? 1 : 0;
}

/* Sentinels to check that out-parameters stay untouched on failure. */
static int lock_sentinel_storage, string_sentinel_storage;
#define LOCK_SENTINEL ((etcdc_lock *)(void *)&lock_sentinel_storage)
#define STRING_SENTINEL ((char *)(void *)&string_sentinel_storage)

/* The current leader of election `t`, compared with `want` (NULL: none). */
static int leader_is(const etcdc_client *c, const char *t, const char *want) {
    char *leader = STRING_SENTINEL;
    if (!CHECK_ST(etcdc_election_get(c, ELECTION(t), NULL, &leader), ETCDC_OK) ||
        !CHECK(leader != STRING_SENTINEL)) {
        return 0;
    }
    int ok = CHECK_STR(leader, want);
    etcdc_string_free(leader);
    return ok;
}

/* ------------------------------------------- an acquire in another thread */

struct acquirer {
    etcdc_lock *lock;
    int64_t timeout_ms;
    pthread_mutex_t mu;
    int returned;
    double returned_at;
    etcdc_status status;
    etcdc_status last_status; /* etcdc_error_last() of that thread */
    char last_message[256];
};

static void *acquirer_main(void *arg) {
    struct acquirer *a = arg;
    etcdc_status st = etcdc_lock_acquire(a->lock, a->timeout_ms);
    double at = now_s();
    pthread_mutex_lock(&a->mu);
    a->status = st;
    a->returned_at = at;
    a->returned = 1;
    if (st != ETCDC_OK) {
        const etcdc_error *e = etcdc_error_last();
        a->last_status = e ? e->status : ETCDC_OK;
        snprintf(a->last_message, sizeof a->last_message, "%s", e ? e->message : "");
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static int start_acquirer(pthread_t *th, struct acquirer *a, etcdc_lock *l, int64_t timeout_ms) {
    memset(a, 0, sizeof *a);
    a->lock = l;
    a->timeout_ms = timeout_ms;
    a->status = ETCDC_ERR_PANIC; /* "has not returned" */
    pthread_mutex_init(&a->mu, NULL);
    if (!CHECK(pthread_create(th, NULL, acquirer_main, a) == 0)) {
        pthread_mutex_destroy(&a->mu);
        return 0;
    }
    return 1;
}

static int has_returned(struct acquirer *a) {
    pthread_mutex_lock(&a->mu);
    int r = a->returned;
    pthread_mutex_unlock(&a->mu);
    return r;
}

/* ------------------------------------------------------------- options */

static void test_lock_options(const etcdc_client *c) {
    etcdc_lock_options macro = ETCDC_LOCK_OPTIONS_INIT, fn;
    memset(&fn, 0xab, sizeof fn);
    CHECK_ST(etcdc_lock_options_init(&fn, ETCDC_LOCK_OPTIONS_VERSION), ETCDC_OK);
    CHECK(macro.version == ETCDC_LOCK_OPTIONS_VERSION);
    CHECK(macro.ttl == 0 && macro.prefix == NULL);
    CHECK(fn.version == ETCDC_LOCK_OPTIONS_VERSION);
    CHECK(fn.ttl == 0 && fn.prefix == NULL);
    /* NULL and unknown versions: refused, nothing written. */
    CHECK_ST(etcdc_lock_options_init(NULL, ETCDC_LOCK_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "opts"));
    etcdc_lock_options untouched;
    memset(&untouched, 0xab, sizeof untouched);
    CHECK_ST(etcdc_lock_options_init(&untouched, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_lock_options_init(&untouched, ETCDC_LOCK_OPTIONS_VERSION + 1),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_lock_options"));
    CHECK(untouched.version == 0xabababab);

    /* NULL options and initialised options: TTL 60 s, under /_locks. */
    const etcdc_lock_options *variants[3] = {NULL, &macro, &fn};
    for (int i = 0; i < 3; i++) {
        etcdc_lock *l = NULL;
        if (!CHECK_ST(etcdc_lock_new(c, LOCK("defaults"), variants[i], &l), ETCDC_OK)) {
            continue;
        }
        CHECK_INT(contenders(c, LOCK_DIR("defaults")), 0); /* new sends nothing */
        if (CHECK_ST(etcdc_lock_acquire(l, 5000), ETCDC_OK)) {
            CHECK_INT(contenders(c, LOCK_DIR("defaults")), 1);
            int64_t ttl = first_contender_ttl(c, LOCK_DIR("defaults"));
            if (!CHECK(ttl > 50 && ttl <= 60)) {
                printf("     default ttl: %" PRId64 "\n", ttl);
            }
            CHECK_ST(etcdc_lock_release(l), ETCDC_OK);
        }
        etcdc_lock_free(l);
    }

    /* Another prefix, a TTL, and a name with slashes around it. */
    char other[128];
    snprintf(other, sizeof other, "%s/locks/", prefix);
    etcdc_lock_options o = ETCDC_LOCK_OPTIONS_INIT;
    o.prefix = other;
    o.ttl = 17;
    etcdc_lock *l = NULL;
    if (CHECK_ST(etcdc_lock_new(c, "/elsewhere/", &o, &l), ETCDC_OK)) {
        char dir[160];
        snprintf(dir, sizeof dir, "%s/locks/elsewhere", prefix);
        if (CHECK_ST(etcdc_lock_acquire(l, 5000), ETCDC_OK)) {
            CHECK_INT(contenders(c, dir), 1);
            int64_t ttl = first_contender_ttl(c, dir);
            CHECK(ttl > 10 && ttl <= 17);
            CHECK_ST(etcdc_lock_release(l), ETCDC_OK);
            CHECK_INT(contenders(c, dir), 0);
        }
        etcdc_lock_free(l);
    }
}

/* --------------------------------------------------- NULL and bad input */

static void test_lock_bad_arguments(const etcdc_client *c) {
    etcdc_lock *l = LOCK_SENTINEL;
    CHECK_ST(etcdc_lock_new(NULL, LOCK("bad"), NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_lock_new(c, NULL, NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "name"));
    CHECK_ST(etcdc_lock_new(c, LOCK("bad"), NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out"));
    CHECK_ST(etcdc_lock_new(c, "", NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "name"));
    CHECK_ST(etcdc_lock_new(c, "///", NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_lock_new(c, "bad\xff", NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));
    CHECK_ST(etcdc_lock_new(c, "a/../b", NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    etcdc_lock_options o = ETCDC_LOCK_OPTIONS_INIT;
    o.version = 0;
    CHECK_ST(etcdc_lock_new(c, LOCK("bad"), &o, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "version"));
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_lock_options"));
    o.version = 99;
    CHECK_ST(etcdc_lock_new(c, LOCK("bad"), &o, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "99"));
    o.version = ETCDC_LOCK_OPTIONS_VERSION;
    o.prefix = "/bad\xff";
    CHECK_ST(etcdc_lock_new(c, LOCK("bad"), &o, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prefix"));
    CHECK(l == LOCK_SENTINEL); /* never written on failure */

    /* The lock functions given a NULL lock. */
    bool b = true;
    CHECK_ST(etcdc_lock_acquire(NULL, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "lock"));
    CHECK_ST(etcdc_lock_is_locked(NULL, &b), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "lock"));
    CHECK(b == true); /* untouched */
    CHECK_ST(etcdc_lock_renew(NULL, 10), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "lock"));
    CHECK_ST(etcdc_lock_release(NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "lock"));
    etcdc_lock_cancel(NULL); /* no-ops */
    etcdc_lock_free(NULL);
    CHECK(1);

    /* A real lock given a NULL out-parameter. */
    l = new_lock(c, "bad", 30);
    if (l != NULL) {
        CHECK_ST(etcdc_lock_is_locked(l, NULL), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "locked"));
        etcdc_lock_free(l);
    }
    CHECK_INT(contenders(c, LOCK_DIR("bad")), 0);
}

/* ------------------------------------------------ acquire, renew, release */

static void test_lock_basics(const etcdc_client *c) {
    etcdc_lock *l = new_lock(c, "basic", 30);
    if (l == NULL) {
        return;
    }
    CHECK_INT(locked(l), 0); /* not acquired yet */
    /* Release and renew before acquire: not held. */
    CHECK_ST(etcdc_lock_release(l), ETCDC_ERR_NOT_HELD);
    CHECK(last_error_is(ETCDC_ERR_NOT_HELD, "not acquired"));
    CHECK_ST(etcdc_lock_renew(l, 10), ETCDC_ERR_NOT_HELD);
    CHECK(last_error_is(ETCDC_ERR_NOT_HELD, "not acquired"));
    CHECK_ST(etcdc_lock_renew(l, 0), ETCDC_ERR_NOT_HELD);

    CHECK_ST(etcdc_lock_acquire(l, 5000), ETCDC_OK);
    CHECK_INT(locked(l), 1);
    CHECK_INT(contenders(c, LOCK_DIR("basic")), 1);
    int64_t ttl = first_contender_ttl(c, LOCK_DIR("basic"));
    CHECK(ttl > 25 && ttl <= 30);

    /* Acquire while held: OK at once, no second key. */
    double t0 = now_s();
    CHECK_ST(etcdc_lock_acquire(l, 0), ETCDC_OK);
    CHECK_ST(etcdc_lock_acquire(l, -1), ETCDC_OK);
    CHECK(now_s() - t0 < prompt_limit());
    CHECK_INT(contenders(c, LOCK_DIR("basic")), 1);

    /* Renew sets the TTL from now. */
    CHECK_ST(etcdc_lock_renew(l, 120), ETCDC_OK);
    ttl = first_contender_ttl(c, LOCK_DIR("basic"));
    CHECK(ttl > 110 && ttl <= 120);
    /* Renew with a TTL of 0: refused, the lock stays held. */
    CHECK_ST(etcdc_lock_renew(l, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "ttl"));
    CHECK_INT(locked(l), 1);
    CHECK_INT(contenders(c, LOCK_DIR("basic")), 1);

    CHECK_ST(etcdc_lock_release(l), ETCDC_OK);
    CHECK_INT(locked(l), 0);
    CHECK_INT(contenders(c, LOCK_DIR("basic")), 0);
    /* Released twice: the second is not held. */
    CHECK_ST(etcdc_lock_release(l), ETCDC_ERR_NOT_HELD);
    CHECK_ST(etcdc_lock_renew(l, 10), ETCDC_ERR_NOT_HELD);

    /* The handle can acquire again; a try-once of a free lock succeeds. */
    CHECK_ST(etcdc_lock_acquire(l, 0), ETCDC_OK);
    CHECK_INT(locked(l), 1);
    CHECK_ST(etcdc_lock_release(l), ETCDC_OK);
    CHECK_INT(contenders(c, LOCK_DIR("basic")), 0);
    etcdc_lock_free(l);
}

/* ------------------------------------------- giving up: try-once, timeout */

static void test_lock_timeouts(const etcdc_client *c) {
    etcdc_lock *a = new_lock(c, "timeout", 30);
    etcdc_lock *b = new_lock(c, "timeout", 30);
    if (a == NULL || b == NULL || !CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK)) {
        etcdc_lock_free(a);
        etcdc_lock_free(b);
        return;
    }

    /* Try once while held: gives up at once, leaves no key. */
    double t0 = now_s();
    CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_ERR_ACQUIRE_TIMEOUT);
    double took = now_s() - t0;
    CHECK(last_error_is(ETCDC_ERR_ACQUIRE_TIMEOUT, ""));
    if (!CHECK(took < few_requests())) {
        printf("     try-once took %.0f ms\n", took * 1000);
    }
    CHECK_INT(contenders(c, LOCK_DIR("timeout")), 1); /* a's only */
    CHECK_INT(locked(b), 0);
    CHECK_INT(locked(a), 1);

    /* Wait 700 ms: gives up after 700 ms, not before, not much after. */
    t0 = now_s();
    CHECK_ST(etcdc_lock_acquire(b, 700), ETCDC_ERR_ACQUIRE_TIMEOUT);
    took = now_s() - t0;
    CHECK(last_error_is(ETCDC_ERR_ACQUIRE_TIMEOUT, ""));
    if (!CHECK(took >= 0.699 && took < 0.7 + few_requests())) {
        printf("     the 700 ms acquire took %.0f ms\n", took * 1000);
    }
    CHECK_INT(contenders(c, LOCK_DIR("timeout")), 1);
    CHECK_INT(locked(b), 0);
    CHECK_ST(etcdc_lock_release(b), ETCDC_ERR_NOT_HELD);
    CHECK_INT(locked(a), 1); /* untouched */

    /* Once a releases, b's try-once succeeds. */
    CHECK_ST(etcdc_lock_release(a), ETCDC_OK);
    CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_OK);
    CHECK_INT(locked(b), 1);
    CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_ERR_ACQUIRE_TIMEOUT);
    CHECK_ST(etcdc_lock_release(b), ETCDC_OK);
    CHECK_INT(contenders(c, LOCK_DIR("timeout")), 0);
    etcdc_lock_free(a);
    etcdc_lock_free(b);
}

/* ------------------------------------------ mutual exclusion, 3 threads */

#define WORKERS 3
#define ITERATIONS 20

struct shared_counter {
    const etcdc_client *client;
    char key[128];
    pthread_mutex_t mu;
    int inside;   /* threads between acquire and release right now */
    int overlaps; /* times a thread found another inside */
};

struct worker {
    struct shared_counter *shared;
    etcdc_lock *lock;
    int done;     /* increments made */
    int failures; /* calls that failed */
    etcdc_status first_failure;
};

static void worker_fail(struct worker *w, etcdc_status st) {
    if (w->failures++ == 0) {
        w->first_failure = st;
    }
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct shared_counter *s = w->shared;
    for (int i = 0; i < ITERATIONS; i++) {
        etcdc_status st = etcdc_lock_acquire(w->lock, 30000);
        if (st != ETCDC_OK) {
            worker_fail(w, st);
            continue;
        }
        pthread_mutex_lock(&s->mu);
        s->overlaps += s->inside > 0;
        s->inside++;
        pthread_mutex_unlock(&s->mu);

        /* Read, add one, write back: no compare-and-swap, only the lock. */
        etcdc_response *r = NULL;
        st = etcdc_read(s->client, s->key, NULL, &r);
        if (st == ETCDC_OK) {
            long n = strtol(etcdc_node_value(etcdc_response_node(r)), NULL, 10);
            etcdc_response_free(r);
            char value[32];
            snprintf(value, sizeof value, "%ld", n + 1);
            st = etcdc_write(s->client, s->key, value, NULL, NULL);
        }
        if (st == ETCDC_OK) {
            w->done++;
        } else {
            worker_fail(w, st);
        }

        pthread_mutex_lock(&s->mu);
        s->inside--;
        pthread_mutex_unlock(&s->mu);
        st = etcdc_lock_release(w->lock);
        if (st != ETCDC_OK) {
            worker_fail(w, st);
        }
    }
    return NULL;
}

static void test_lock_mutual_exclusion(const etcdc_client *c) {
    struct shared_counter s;
    memset(&s, 0, sizeof s);
    s.client = c;
    snprintf(s.key, sizeof s.key, "%s/counter", prefix);
    pthread_mutex_init(&s.mu, NULL);
    if (!CHECK_ST(etcdc_write(c, s.key, "0", NULL, NULL), ETCDC_OK)) {
        pthread_mutex_destroy(&s.mu);
        return;
    }
    struct worker w[WORKERS];
    pthread_t th[WORKERS];
    int started[WORKERS];
    memset(w, 0, sizeof w);
    double t0 = now_s();
    for (int i = 0; i < WORKERS; i++) {
        w[i].shared = &s;
        w[i].lock = new_lock(c, "counter", 30); /* one handle per thread */
        started[i] = w[i].lock != NULL &&
                     CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    int total = 0;
    for (int i = 0; i < WORKERS; i++) {
        if (started[i]) {
            CHECK(pthread_join(th[i], NULL) == 0);
        }
        if (!CHECK_INT(w[i].failures, 0)) {
            printf("     worker %d: first failure %s\n", i, etcdc_status_str(w[i].first_failure));
        }
        CHECK_INT(w[i].done, ITERATIONS);
        total += w[i].done;
        etcdc_lock_free(w[i].lock);
    }
    printf("(%d locked increments by %d threads in %.1f s)\n", total, WORKERS, now_s() - t0);
    CHECK_INT(s.overlaps, 0);
    etcdc_response *r = NULL;
    if (CHECK_ST(etcdc_read(c, s.key, NULL, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "60");
        etcdc_response_free(r);
    }
    CHECK_INT(contenders(c, LOCK_DIR("counter")), 0);
    pthread_mutex_destroy(&s.mu);
}

/* ------------------------------------------------ release wakes the waiter */

static void test_lock_release_wakes_waiter(const etcdc_client *c) {
    etcdc_lock *a = new_lock(c, "wake", 30);
    etcdc_lock *b = new_lock(c, "wake", 30);
    struct acquirer w;
    pthread_t th;
    if (a == NULL || b == NULL || !CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK) ||
        !start_acquirer(&th, &w, b, -1)) {
        etcdc_lock_free(a);
        etcdc_lock_free(b);
        return;
    }
    sleep_s(under_valgrind() ? 0.8 : 0.4);
    CHECK(!has_returned(&w)); /* waiting */
    CHECK_INT(contenders(c, LOCK_DIR("wake")), 2); /* its key queues behind a's */
    double released_at = now_s();
    CHECK_ST(etcdc_lock_release(a), ETCDC_OK);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_ST(w.status, ETCDC_OK);
    double took = w.returned_at - released_at;
    if (!CHECK(took >= 0 && took < few_requests())) {
        printf("     the waiter got the lock %.0f ms after the release\n", took * 1000);
    }
    pthread_mutex_destroy(&w.mu);
    CHECK_INT(locked(b), 1);
    CHECK_INT(locked(a), 0);
    CHECK_INT(contenders(c, LOCK_DIR("wake")), 1);
    CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_ERR_ACQUIRE_TIMEOUT);
    CHECK_ST(etcdc_lock_release(b), ETCDC_OK);
    CHECK_INT(contenders(c, LOCK_DIR("wake")), 0);
    etcdc_lock_free(a);
    etcdc_lock_free(b);
}

/* ---------------------------------------- a lock whose key is gone */

static void test_lock_lost(const etcdc_client *c) {
    /* Deleted, then is_locked: false; renew and release then say the lock
     * was lost (LOCK_EXPIRED, as often as asked), until a release. */
    etcdc_lock *l = new_lock(c, "lost-is-locked", 30);
    if (l != NULL && CHECK_ST(etcdc_lock_acquire(l, 0), ETCDC_OK)) {
        CHECK_INT(delete_contenders(c, LOCK_DIR("lost-is-locked")), 1);
        CHECK_INT(locked(l), 0);
        CHECK_INT(locked(l), 0);
        CHECK_ST(etcdc_lock_renew(l, 30), ETCDC_ERR_LOCK_EXPIRED);
        CHECK(last_error_is(ETCDC_ERR_LOCK_EXPIRED, LOCK_DIR("lost-is-locked")));
        CHECK_ST(etcdc_lock_renew(l, 30), ETCDC_ERR_LOCK_EXPIRED);
        CHECK_INT(contenders(c, LOCK_DIR("lost-is-locked")), 0); /* renew made no key */
        CHECK_ST(etcdc_lock_release(l), ETCDC_ERR_LOCK_EXPIRED);
        CHECK_ST(etcdc_lock_release(l), ETCDC_ERR_NOT_HELD); /* that was reported */
        CHECK_ST(etcdc_lock_renew(l, 30), ETCDC_ERR_NOT_HELD);
        /* The handle can take the lock again. */
        CHECK_ST(etcdc_lock_acquire(l, 0), ETCDC_OK);
        CHECK_INT(locked(l), 1);
        CHECK_ST(etcdc_lock_release(l), ETCDC_OK);
    }
    etcdc_lock_free(l);

    /* Deleted, then renew: LOCK_EXPIRED; is_locked false; release too. */
    l = new_lock(c, "lost-renew", 30);
    if (l != NULL && CHECK_ST(etcdc_lock_acquire(l, 0), ETCDC_OK)) {
        CHECK_INT(delete_contenders(c, LOCK_DIR("lost-renew")), 1);
        CHECK_ST(etcdc_lock_renew(l, 30), ETCDC_ERR_LOCK_EXPIRED);
        CHECK(last_error_is(ETCDC_ERR_LOCK_EXPIRED, LOCK_DIR("lost-renew")));
        CHECK_INT(locked(l), 0);
        CHECK_INT(contenders(c, LOCK_DIR("lost-renew")), 0); /* renew made no key */
        CHECK_ST(etcdc_lock_release(l), ETCDC_ERR_LOCK_EXPIRED);
        CHECK_ST(etcdc_lock_release(l), ETCDC_ERR_NOT_HELD);
    }
    etcdc_lock_free(l);

    /* Lost, and freed without a release: nothing to remove, no crash. */
    l = new_lock(c, "lost-free", 30);
    if (l != NULL && CHECK_ST(etcdc_lock_acquire(l, 0), ETCDC_OK)) {
        CHECK_INT(delete_contenders(c, LOCK_DIR("lost-free")), 1);
        CHECK_INT(locked(l), 0);
    }
    etcdc_lock_free(l);
    CHECK_INT(contenders(c, LOCK_DIR("lost-free")), 0);

    /* Deleted, someone else takes the lock, then release: LOCK_EXPIRED, and
     * the other holder keeps it. */
    etcdc_lock *a = new_lock(c, "lost-release", 30);
    etcdc_lock *b = new_lock(c, "lost-release", 30);
    if (a != NULL && b != NULL && CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK)) {
        CHECK_INT(delete_contenders(c, LOCK_DIR("lost-release")), 1);
        CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_OK);
        CHECK_ST(etcdc_lock_release(a), ETCDC_ERR_LOCK_EXPIRED);
        CHECK(last_error_is(ETCDC_ERR_LOCK_EXPIRED, LOCK_DIR("lost-release")));
        CHECK_INT(locked(a), 0);
        CHECK_INT(locked(b), 1);
        CHECK_INT(contenders(c, LOCK_DIR("lost-release")), 1);
        CHECK_ST(etcdc_lock_release(b), ETCDC_OK);
    }
    etcdc_lock_free(a);
    etcdc_lock_free(b);
}

/* --------------------------------- short TTLs: renewed, and not renewed */

static void test_lock_short_ttl(const etcdc_client *c) {
    etcdc_lock *kept = new_lock(c, "ttl-kept", 2);
    etcdc_lock *left = new_lock(c, "ttl-left", 1);
    etcdc_lock *other = new_lock(c, "ttl-kept", 30);
    if (kept == NULL || left == NULL || other == NULL ||
        !CHECK_ST(etcdc_lock_acquire(kept, 0), ETCDC_OK) ||
        !CHECK_ST(etcdc_lock_acquire(left, 0), ETCDC_OK)) {
        etcdc_lock_free(kept);
        etcdc_lock_free(left);
        etcdc_lock_free(other);
        return;
    }
    CHECK(first_contender_ttl(c, LOCK_DIR("ttl-kept")) <= 2);
    /* Meanwhile a waiter with a 1 s TTL queues for 3 s behind it: it keeps
     * its own key alive while it waits, and gives up on time. */
    etcdc_lock *waiter = new_lock(c, "ttl-kept", 1);
    struct acquirer w;
    pthread_t th;
    int waiting = waiter != NULL && start_acquirer(&th, &w, waiter, 3000);
    /* Renew the 2 s lock every 0.5 s for 3.5 s; leave the 1 s one alone. */
    double t0 = now_s();
    int renew_failures = 0, renews = 0, samples = 0, queued = 0;
    while (now_s() - t0 < 3.5) {
        sleep_s(0.5);
        renew_failures += etcdc_lock_renew(kept, 2) != ETCDC_OK;
        renews++;
        if (waiting && now_s() - t0 < 2.5 && !has_returned(&w)) {
            samples++;
            queued += contenders(c, LOCK_DIR("ttl-kept")) == 2;
        }
    }
    CHECK_INT(renew_failures, 0);
    CHECK(renews >= 5);
    if (waiting) {
        CHECK(pthread_join(th, NULL) == 0);
        CHECK_ST(w.status, ETCDC_ERR_ACQUIRE_TIMEOUT); /* not LOCK_EXPIRED */
        CHECK(samples >= 3);
        CHECK_INT(queued, samples); /* its key stayed, past its 1 s TTL */
        pthread_mutex_destroy(&w.mu);
    }
    etcdc_lock_free(waiter);
    CHECK_INT(contenders(c, LOCK_DIR("ttl-kept")), 1);
    CHECK_INT(locked(kept), 1);
    int64_t ttl = first_contender_ttl(c, LOCK_DIR("ttl-kept"));
    CHECK(ttl >= 1 && ttl <= 2);
    CHECK_ST(etcdc_lock_acquire(other, 0), ETCDC_ERR_ACQUIRE_TIMEOUT);

    /* The one not renewed expired: not held, its key gone, and renew and
     * release say so. */
    CHECK_INT(contenders(c, LOCK_DIR("ttl-left")), 0);
    CHECK_ST(etcdc_lock_renew(left, 1), ETCDC_ERR_LOCK_EXPIRED);
    CHECK_INT(locked(left), 0);

    CHECK_ST(etcdc_lock_release(kept), ETCDC_OK);
    CHECK_ST(etcdc_lock_acquire(other, 0), ETCDC_OK);
    CHECK_ST(etcdc_lock_release(other), ETCDC_OK);
    etcdc_lock_free(kept);
    etcdc_lock_free(left);
    etcdc_lock_free(other);

    /* An expired lock's release: LOCK_EXPIRED (1 s TTL, no renew). */
    left = new_lock(c, "ttl-left", 1);
    if (left != NULL && CHECK_ST(etcdc_lock_acquire(left, 0), ETCDC_OK)) {
        /* Expiry is seen as the key's absence: poll for it, bounded. */
        double t1 = now_s();
        while (contenders(c, LOCK_DIR("ttl-left")) != 0 && now_s() - t1 < 4) {
            sleep_s(0.1);
        }
        double gone_after = now_s() - t1;
        CHECK(gone_after >= 0.4 && gone_after < 4);
        CHECK_ST(etcdc_lock_release(left), ETCDC_ERR_LOCK_EXPIRED);
        CHECK_ST(etcdc_lock_release(left), ETCDC_ERR_NOT_HELD);
    }
    etcdc_lock_free(left);
}

/* ------------------------------------------------- free releases the lock */

static void test_lock_free_releases(const etcdc_client *c) {
    etcdc_lock *a = new_lock(c, "free", 30);
    etcdc_lock *b = new_lock(c, "free", 30);
    if (a != NULL && b != NULL && CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK)) {
        CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_ERR_ACQUIRE_TIMEOUT);
        etcdc_lock_free(a); /* held: released */
        a = NULL;
        CHECK_INT(contenders(c, LOCK_DIR("free")), 0);
        CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_OK);
        etcdc_lock_free(b); /* held: released */
        b = NULL;
        CHECK_INT(contenders(c, LOCK_DIR("free")), 0);
    }
    etcdc_lock_free(a);
    etcdc_lock_free(b);

    /* A handle that never acquired, and one that was released: freed cleanly. */
    a = new_lock(c, "free", 30);
    etcdc_lock_free(a);
    a = new_lock(c, "free", 30);
    if (a != NULL) {
        CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK);
        CHECK_ST(etcdc_lock_release(a), ETCDC_OK);
        etcdc_lock_free(a);
    }
    CHECK_INT(contenders(c, LOCK_DIR("free")), 0);

    /* A lock may outlive its client. */
    etcdc_client *c2 = NULL;
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    if (CHECK_ST(etcdc_client_new(&o, &c2), ETCDC_OK)) {
        a = NULL;
        CHECK_ST(etcdc_lock_new(c2, LOCK("free"), NULL, &a), ETCDC_OK);
        etcdc_client_free(c2);
        if (a != NULL) {
            CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK);
            CHECK_INT(contenders(c, LOCK_DIR("free")), 1);
            etcdc_lock_free(a);
        }
        CHECK_INT(contenders(c, LOCK_DIR("free")), 0);
    }
}

/* --------------------------------------------------------------- cancel */

static void test_lock_cancel(const etcdc_client *c) {
    etcdc_lock *a = new_lock(c, "cancel", 30);
    etcdc_lock *b = new_lock(c, "cancel", 30);
    struct acquirer w;
    pthread_t th;
    if (a == NULL || b == NULL || !CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK) ||
        !start_acquirer(&th, &w, b, -1)) {
        etcdc_lock_free(a);
        etcdc_lock_free(b);
        return;
    }
    sleep_s(under_valgrind() ? 0.8 : 0.4);
    CHECK(!has_returned(&w)); /* blocked */
    CHECK_INT(contenders(c, LOCK_DIR("cancel")), 2);
    double cancelled_at = now_s();
    etcdc_lock_cancel(b); /* from another thread than the blocked one */
    CHECK(pthread_join(th, NULL) == 0);
    double took = w.returned_at - cancelled_at;
    CHECK_ST(w.status, ETCDC_ERR_CANCELLED);
    CHECK(w.last_status == ETCDC_ERR_CANCELLED && strlen(w.last_message) > 0);
    if (!CHECK(took < prompt_limit())) {
        printf("     the blocked acquire returned %.0f ms after the cancel (limit %.0f ms)\n",
               took * 1000, prompt_limit() * 1000);
    }
    printf("(cancel -> acquire returned: %.1f ms)\n", took * 1000);
    pthread_mutex_destroy(&w.mu);
    CHECK_INT(contenders(c, LOCK_DIR("cancel")), 1); /* its key is gone, a's stays */
    CHECK_INT(locked(b), 0);
    CHECK_INT(locked(a), 1);

    /* Final: later acquires return CANCELLED, at once, whatever the wait. */
    double t0 = now_s();
    CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_ERR_CANCELLED);
    CHECK(last_error_is(ETCDC_ERR_CANCELLED, ""));
    CHECK_ST(etcdc_lock_acquire(b, 2000), ETCDC_ERR_CANCELLED);
    CHECK_ST(etcdc_lock_acquire(b, -1), ETCDC_ERR_CANCELLED);
    CHECK(now_s() - t0 < few_requests());
    CHECK_INT(contenders(c, LOCK_DIR("cancel")), 1);
    /* ...also once the lock is free. */
    CHECK_ST(etcdc_lock_release(a), ETCDC_OK);
    etcdc_lock_cancel(b);
    etcdc_lock_cancel(b); /* harmless */
    CHECK_ST(etcdc_lock_acquire(b, 0), ETCDC_ERR_CANCELLED);
    CHECK_INT(contenders(c, LOCK_DIR("cancel")), 0);
    CHECK_ST(etcdc_lock_release(b), ETCDC_ERR_NOT_HELD);
    etcdc_lock_free(b); /* a cancelled lock is freed like any other */

    /* Cancel a held lock: renew and release keep working; acquire does not. */
    CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK);
    etcdc_lock_cancel(a);
    CHECK_INT(locked(a), 1);
    CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_OK); /* already held */
    CHECK_ST(etcdc_lock_renew(a, 30), ETCDC_OK);
    CHECK_ST(etcdc_lock_release(a), ETCDC_OK);
    CHECK_ST(etcdc_lock_acquire(a, 0), ETCDC_ERR_CANCELLED);
    CHECK_INT(contenders(c, LOCK_DIR("cancel")), 0);
    etcdc_lock_free(a);

    /* Cancelled before it ever acquired. */
    a = new_lock(c, "cancel", 30);
    if (a != NULL) {
        etcdc_lock_cancel(a);
        CHECK_ST(etcdc_lock_acquire(a, -1), ETCDC_ERR_CANCELLED);
        CHECK_INT(contenders(c, LOCK_DIR("cancel")), 0);
        etcdc_lock_free(a);
    }
}

/* ============================================================ election */

/* A candidate campaigning in its own thread. */
struct candidate {
    const etcdc_client *client;
    char key[128];
    const char *name;
    uint64_t ttl;
    int64_t timeout_ms;
    etcdc_status status;
    uint64_t index;
    double returned_at;
};

static void *candidate_main(void *arg) {
    struct candidate *k = arg;
    k->status =
        etcdc_election_set(k->client, k->key, k->name, k->ttl, NULL, k->timeout_ms, &k->index);
    k->returned_at = now_s();
    return NULL;
}

/*
 * After `delay` seconds, from its own thread, changes election `key`:
 * 'd' resigns `name`, 's' campaigns for it (try once), 'r' renews it. Then,
 * should the watch in main not return within 5 s (it missed the change),
 * it writes the election's key directly, so that the watch ends (and the
 * check of what it returned fails) instead of waiting forever.
 */
struct delayed_change {
    const etcdc_client *client;
    char key[128];
    char raw_key[128];
    const char *name;
    char op;
    double delay;
    etcdc_status status;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int watch_returned;
    int rescued;
};

static void *delayed_change_main(void *arg) {
    struct delayed_change *d = arg;
    sleep_s(d->delay);
    switch (d->op) {
    case 'd':
        d->status = etcdc_election_delete(d->client, d->key, d->name, NULL);
        break;
    case 's':
        d->status = etcdc_election_set(d->client, d->key, d->name, 30, NULL, 0, NULL);
        break;
    default:
        d->status = etcdc_election_renew(d->client, d->key, d->name, 30, NULL);
        break;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&d->mu);
    int rc = 0;
    while (!d->watch_returned && rc == 0) {
        rc = pthread_cond_timedwait(&d->cond, &d->mu, &deadline);
    }
    if (!d->watch_returned) {
        d->rescued = 1;
        etcdc_write(d->client, d->raw_key, "rescue", NULL, NULL);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static int start_delayed_change(pthread_t *th, struct delayed_change *d, const etcdc_client *c,
                                const char *t, const char *name, char op) {
    memset(d, 0, sizeof *d);
    d->client = c;
    snprintf(d->key, sizeof d->key, "%s", ELECTION(t));
    snprintf(d->raw_key, sizeof d->raw_key, "%s", ELECTION_KEY(t));
    d->name = name;
    d->op = op;
    /* Long enough for the watch's poll to reach etcd first. */
    d->delay = under_valgrind() ? 0.6 : 0.3;
    d->status = ETCDC_ERR_PANIC;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cond, NULL);
    if (!CHECK(pthread_create(th, NULL, delayed_change_main, d) == 0)) {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cond);
        return 0;
    }
    return 1;
}

/* Once the watch returned: lets the thread end, joins it, checks its change. */
static void finish_delayed_change(pthread_t th, struct delayed_change *d) {
    pthread_mutex_lock(&d->mu);
    d->watch_returned = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_ST(d->status, ETCDC_OK);
    CHECK(!d->rescued);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cond);
}

static void test_election_bad_arguments(const etcdc_client *c) {
    char e[128]; /* a copy: ELECTION() reuses its buffers */
    snprintf(e, sizeof e, "%s", ELECTION("bad"));
    uint64_t index = 7;
    const etcdc_status INVALID = ETCDC_ERR_INVALID_ARGUMENT;
    CHECK_ST(etcdc_election_set(NULL, e, "foo", 10, NULL, 0, &index), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK(last_error_said(ETCDC_ERR_INVALID_ARGUMENT, "")); /* nothing was sent */
    CHECK_ST(etcdc_election_set(c, NULL, "foo", 10, NULL, 0, &index), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_election_set(c, e, NULL, 10, NULL, 0, &index), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "name"));
    CHECK_ST(etcdc_election_set(c, e, "", 10, NULL, 0, &index), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "name"));
    CHECK_ST(etcdc_election_set(c, e, "foo\xff", 10, NULL, 0, &index), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));
    CHECK_ST(etcdc_election_set(c, "/x/../y", "foo", 10, NULL, 0, &index), INVALID);
    CHECK(index == 7); /* untouched */

    /* Options of an unknown version, or with a prefix that is not UTF-8,
     * refused by every election function, the message naming the struct. */
    etcdc_election_options bad = ETCDC_ELECTION_OPTIONS_INIT;
    const uint32_t bad_versions[] = {0, ETCDC_ELECTION_OPTIONS_VERSION + 1};
    char *leader = STRING_SENTINEL;
    for (size_t i = 0; i < 2; i++) {
        bad.version = bad_versions[i];
        CHECK_ST(etcdc_election_set(c, e, "foo", 10, &bad, 0, &index), INVALID);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
        CHECK_ST(etcdc_election_get(c, e, &bad, &leader), INVALID);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
        CHECK_ST(etcdc_election_delete(c, e, "foo", &bad), INVALID);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
        CHECK_ST(etcdc_election_renew(c, e, "foo", 10, &bad), INVALID);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
        CHECK_ST(etcdc_election_watch(c, e, 0, &bad, 100, &leader, NULL), INVALID);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
    }
    bad.version = ETCDC_ELECTION_OPTIONS_VERSION;
    bad.prefix = "/bad\xff";
    CHECK_ST(etcdc_election_set(c, e, "foo", 10, &bad, 0, &index), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prefix"));
    CHECK_ST(etcdc_election_get(c, e, &bad, &leader), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prefix"));
    CHECK(index == 7);

    CHECK_ST(etcdc_election_get(NULL, e, NULL, &leader), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_election_get(c, NULL, NULL, &leader), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_election_get(c, e, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "leader"));

    CHECK_ST(etcdc_election_delete(NULL, e, "foo", NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_election_delete(c, NULL, "foo", NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_election_delete(c, e, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "name"));

    CHECK_ST(etcdc_election_renew(NULL, e, "foo", 10, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_election_renew(c, NULL, "foo", 10, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_election_renew(c, e, NULL, 10, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "name"));

    CHECK_ST(etcdc_election_watch(NULL, e, 0, NULL, 100, &leader, NULL), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_election_watch(c, NULL, 0, NULL, 100, &leader, NULL), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_election_watch(c, e, 0, NULL, 100, NULL, NULL), INVALID);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "leader"));
    CHECK(leader == STRING_SENTINEL);
    etcdc_string_free(NULL); /* a no-op */

    /* Nothing was written. */
    CHECK_ST(etcdc_read(c, ELECTION_KEY("bad"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
}

static void test_election_basics(const etcdc_client *c) {
    char e[128]; /* a copy: ELECTION() reuses its buffers */
    snprintf(e, sizeof e, "%s", ELECTION("basic"));

    /* No leader yet: OK, NULL. */
    leader_is(c, "basic", NULL);

    /* foo wins; the index is the one of etcd's key. */
    uint64_t index = 0;
    CHECK_ST(etcdc_election_set(c, e, "foo.example.com", 30, NULL, 1000, &index), ETCDC_OK);
    CHECK(index > 0);
    etcdc_response *r = NULL;
    if (CHECK_ST(etcdc_read(c, ELECTION_KEY("basic"), NULL, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK_STR(etcdc_node_value(n), "foo.example.com");
        CHECK_INT(etcdc_node_modified_index(n), index);
        CHECK(etcdc_node_ttl(n) > 25 && etcdc_node_ttl(n) <= 30);
        etcdc_response_free(r);
    }
    leader_is(c, "basic", "foo.example.com");
    /* The leader campaigning again: OK (a renew), index not NULL needed. */
    CHECK_ST(etcdc_election_set(c, e, "foo.example.com", 30, NULL, 0, NULL), ETCDC_OK);

    /* bar, try once: gives up at once. */
    uint64_t bar_index = 12345;
    double t0 = now_s();
    CHECK_ST(etcdc_election_set(c, e, "bar.example.com", 30, NULL, 0, &bar_index),
             ETCDC_ERR_ACQUIRE_TIMEOUT);
    double took = now_s() - t0;
    CHECK(last_error_is(ETCDC_ERR_ACQUIRE_TIMEOUT, ""));
    if (!CHECK(took < few_requests())) {
        printf("     try-once set took %.0f ms\n", took * 1000);
    }
    CHECK(bar_index == 12345); /* untouched */
    /* bar, 500 ms: gives up after 500 ms. */
    t0 = now_s();
    CHECK_ST(etcdc_election_set(c, e, "bar.example.com", 30, NULL, 500, &bar_index),
             ETCDC_ERR_ACQUIRE_TIMEOUT);
    took = now_s() - t0;
    if (!CHECK(took >= 0.499 && took < 0.5 + few_requests())) {
        printf("     the 500 ms set took %.0f ms\n", took * 1000);
    }
    leader_is(c, "basic", "foo.example.com");

    /* Only the leader resigns or renews. */
    CHECK_ST(etcdc_election_delete(c, e, "bar.example.com", NULL), ETCDC_ERR_NOT_HELD);
    CHECK(last_error_is(ETCDC_ERR_NOT_HELD, "bar.example.com"));
    leader_is(c, "basic", "foo.example.com");
    CHECK_ST(etcdc_election_renew(c, e, "bar.example.com", 30, NULL), ETCDC_ERR_NOT_HELD);
    CHECK(last_error_is(ETCDC_ERR_NOT_HELD, "not the leader"));
    CHECK_ST(etcdc_election_renew(c, e, "foo.example.com", 120, NULL), ETCDC_OK);
    r = NULL;
    if (CHECK_ST(etcdc_read(c, ELECTION_KEY("basic"), NULL, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK_STR(etcdc_node_value(n), "foo.example.com");
        CHECK(etcdc_node_ttl(n) > 110 && etcdc_node_ttl(n) <= 120);
        etcdc_response_free(r);
    }
    leader_is(c, "basic", "foo.example.com");

    /* foo resigns: no leader; resigning or renewing again is NOT_HELD. */
    CHECK_ST(etcdc_election_delete(c, e, "foo.example.com", NULL), ETCDC_OK);
    leader_is(c, "basic", NULL);
    CHECK_ST(etcdc_election_delete(c, e, "foo.example.com", NULL), ETCDC_ERR_NOT_HELD);
    CHECK_ST(etcdc_election_renew(c, e, "foo.example.com", 30, NULL), ETCDC_ERR_NOT_HELD);

    /* Now bar wins at once, with a later index; no TTL: until it resigns. */
    t0 = now_s();
    CHECK_ST(etcdc_election_set(c, e, "bar.example.com", 0, NULL, 0, &bar_index), ETCDC_OK);
    CHECK(now_s() - t0 < few_requests());
    CHECK(bar_index > index);
    r = NULL;
    if (CHECK_ST(etcdc_read(c, ELECTION_KEY("basic"), NULL, &r), ETCDC_OK)) {
        CHECK_INT(etcdc_node_ttl(etcdc_response_node(r)), 0);
        etcdc_response_free(r);
    }
    leader_is(c, "basic", "bar.example.com");
    CHECK_ST(etcdc_election_delete(c, e, "bar.example.com", NULL), ETCDC_OK);
    leader_is(c, "basic", NULL);
}

/* A leader that stops renewing loses leadership after its TTL; a candidate
 * waiting without a timeout takes over. Meanwhile another leader with a
 * short TTL is kept by renewing. */
static void test_election_expiry(const etcdc_client *c) {
    char e[128]; /* a copy: ELECTION() reuses its buffers */
    snprintf(e, sizeof e, "%s", ELECTION("expiry"));
    uint64_t foo_index = 0;
    if (!CHECK_ST(etcdc_election_set(c, e, "foo", 1, NULL, 0, &foo_index), ETCDC_OK)) {
        return;
    }
    double set_at = now_s();
    CHECK_ST(etcdc_election_set(c, ELECTION("kept"), "keeper", 2, NULL, 0, NULL), ETCDC_OK);

    struct candidate k;
    memset(&k, 0, sizeof k);
    k.client = c;
    snprintf(k.key, sizeof k.key, "%s", e);
    k.name = "bar";
    k.ttl = 30;
    k.timeout_ms = -1;
    k.status = ETCDC_ERR_PANIC;
    pthread_t th;
    if (!CHECK(pthread_create(&th, NULL, candidate_main, &k) == 0)) {
        return;
    }
    /* Renew "kept" every 0.5 s for 3 s (past its 2 s TTL). */
    int renew_failures = 0;
    while (now_s() - set_at < 3.0) {
        sleep_s(0.5);
        renew_failures +=
            etcdc_election_renew(c, ELECTION("kept"), "keeper", 2, NULL) != ETCDC_OK;
    }
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_INT(renew_failures, 0);
    leader_is(c, "kept", "keeper");
    CHECK_ST(etcdc_election_delete(c, ELECTION("kept"), "keeper", NULL), ETCDC_OK);

    CHECK_ST(k.status, ETCDC_OK);
    CHECK(k.index > foo_index);
    double after = k.returned_at - set_at;
    if (!CHECK(after >= 0.5 && after < 3.0)) {
        printf("     bar took over %.0f ms after foo's 1 s leadership began\n", after * 1000);
    }
    printf("(a 1 s leadership passed on after %.1f s)\n", after);
    leader_is(c, "expiry", "bar");
    CHECK_ST(etcdc_election_renew(c, e, "foo", 1, NULL), ETCDC_ERR_NOT_HELD);
    CHECK_ST(etcdc_election_delete(c, e, "foo", NULL), ETCDC_ERR_NOT_HELD);
    leader_is(c, "expiry", "bar");
    CHECK_ST(etcdc_election_delete(c, e, "bar", NULL), ETCDC_OK);
}

static void test_election_watch(const etcdc_client *c) {
    char e[128]; /* a copy: ELECTION() reuses its buffers */
    snprintf(e, sizeof e, "%s", ELECTION("watch"));

    /* Nothing changes: WATCH_TIMEOUT on time, leader untouched. */
    char *leader = STRING_SENTINEL;
    double t0 = now_s();
    CHECK_ST(etcdc_election_watch(c, e, 0, NULL, 300, &leader, NULL),
             ETCDC_ERR_WATCH_TIMEOUT);
    double took = now_s() - t0;
    CHECK(last_error_is(ETCDC_ERR_WATCH_TIMEOUT, ""));
    CHECK(leader == STRING_SENTINEL);
    if (!CHECK(took >= 0.299 && took < 0.3 + prompt_limit())) {
        printf("     the 300 ms election watch took %.0f ms\n", took * 1000);
    }

    /* No leader, then bar campaigns: the watch returns "bar". */
    struct delayed_change d;
    pthread_t th;
    if (start_delayed_change(&th, &d, c, "watch", "bar", 's')) {
        leader = STRING_SENTINEL;
        CHECK_ST(etcdc_election_watch(c, e, 0, NULL, -1, &leader, NULL), ETCDC_OK);
        finish_delayed_change(th, &d);
        if (leader != STRING_SENTINEL) {
            CHECK_STR(leader, "bar");
            etcdc_string_free(leader);
        }
    }

    /* A renew while watching is not a change of leader. */
    if (start_delayed_change(&th, &d, c, "watch", "bar", 'r')) {
        leader = STRING_SENTINEL;
        double wait_s = d.delay + (under_valgrind() ? 1.0 : 0.5);
        CHECK_ST(etcdc_election_watch(c, e, 0, NULL, (int64_t)(wait_s * 1000), &leader, NULL),
                 ETCDC_ERR_WATCH_TIMEOUT);
        finish_delayed_change(th, &d);
        CHECK(leader == STRING_SENTINEL);
    }

    /* bar resigns: the watch returns NULL (no leader). */
    if (start_delayed_change(&th, &d, c, "watch", "bar", 'd')) {
        leader = STRING_SENTINEL;
        CHECK_ST(etcdc_election_watch(c, e, 0, NULL, -1, &leader, NULL), ETCDC_OK);
        finish_delayed_change(th, &d);
        CHECK(leader == NULL);
        if (leader != NULL && leader != STRING_SENTINEL) {
            etcdc_string_free(leader);
        }
    }

    /* A leadership that expires: NULL too. */
    if (CHECK_ST(etcdc_election_set(c, e, "short", 1, NULL, 0, NULL), ETCDC_OK)) {
        leader = STRING_SENTINEL;
        CHECK_ST(etcdc_election_watch(c, e, 0, NULL, 5000, &leader, NULL), ETCDC_OK);
        CHECK(leader == NULL);
        if (leader != NULL && leader != STRING_SENTINEL) {
            etcdc_string_free(leader);
        }
        leader_is(c, "watch", NULL);
    }
}

/* The value of `key` as etcd has it (a new string, freed by the caller), or
 * NULL if it is not there (any other failure is recorded). */
static char *raw_value(const etcdc_client *c, const char *key) {
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_read(c, key, NULL, &r);
    if (st == ETCDC_ERR_KEY_NOT_FOUND) {
        return NULL;
    }
    if (!CHECK_ST(st, ETCDC_OK)) {
        return NULL;
    }
    const char *v = etcdc_node_value(etcdc_response_node(r));
    char *copy = v != NULL ? malloc(strlen(v) + 1) : NULL;
    if (copy != NULL) {
        strcpy(copy, v);
    }
    etcdc_response_free(r);
    return copy;
}

/* etcdc_election_options: initialisers, the default prefix, and elections
 * under a prefix of their own, where each prefix is an election of its own. */
static void test_election_options(const etcdc_client *c) {
    etcdc_election_options macro = ETCDC_ELECTION_OPTIONS_INIT, fn;
    memset(&fn, 0xab, sizeof fn);
    CHECK_ST(etcdc_election_options_init(&fn, ETCDC_ELECTION_OPTIONS_VERSION), ETCDC_OK);
    CHECK(macro.version == ETCDC_ELECTION_OPTIONS_VERSION && macro.prefix == NULL);
    CHECK(fn.version == ETCDC_ELECTION_OPTIONS_VERSION && fn.prefix == NULL);
    CHECK_ST(etcdc_election_options_init(NULL, ETCDC_ELECTION_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "opts"));
    etcdc_election_options untouched;
    memset(&untouched, 0xab, sizeof untouched);
    CHECK_ST(etcdc_election_options_init(&untouched, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_election_options_init(&untouched, ETCDC_ELECTION_OPTIONS_VERSION + 1),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
    CHECK(untouched.version == 0xabababab);

    char e[128]; /* a copy: ELECTION() reuses its buffers */
    snprintf(e, sizeof e, "%s", ELECTION("prefixed"));
    char default_key[160];
    snprintf(default_key, sizeof default_key, "%s", ELECTION_KEY("prefixed"));

    /* Initialised options without a prefix are the defaults: /_elections. */
    CHECK_ST(etcdc_election_set(c, e, "fn", 30, &fn, 0, NULL), ETCDC_OK);
    char *v = raw_value(c, default_key);
    CHECK_STR(v, "fn");
    free(v);
    leader_is(c, "prefixed", "fn"); /* NULL options: the same election */
    CHECK_ST(etcdc_election_delete(c, e, "fn", &macro), ETCDC_OK);
    leader_is(c, "prefixed", NULL);

    /* Two prefixes of this run's own (one with a trailing slash). */
    char prefix_a[96], prefix_b[96], key_a[256], key_b[256];
    snprintf(prefix_a, sizeof prefix_a, "%s/elections-a", prefix);
    snprintf(prefix_b, sizeof prefix_b, "%s/elections-b/", prefix);
    snprintf(key_a, sizeof key_a, "%s%s", prefix_a, e);
    snprintf(key_b, sizeof key_b, "%s/elections-b%s", prefix, e);
    etcdc_election_options a = ETCDC_ELECTION_OPTIONS_INIT, b;
    a.prefix = prefix_a;
    CHECK_ST(etcdc_election_options_init(&b, ETCDC_ELECTION_OPTIONS_VERSION), ETCDC_OK);
    b.prefix = prefix_b;

    /* foo leads under a: its key is under a's prefix, not under the
     * default one nor under b's. */
    uint64_t index_a = 0;
    CHECK_ST(etcdc_election_set(c, e, "foo", 30, &a, 0, &index_a), ETCDC_OK);
    etcdc_response *r = NULL;
    if (CHECK_ST(etcdc_read(c, key_a, NULL, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "foo");
        CHECK_U64(etcdc_node_modified_index(etcdc_response_node(r)), index_a);
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 25);
        etcdc_response_free(r);
    }
    CHECK_ST(etcdc_read(c, default_key, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK_ST(etcdc_read(c, key_b, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* Another election: bar wins under b at once, though foo leads a. */
    uint64_t index_b = 0;
    CHECK_ST(etcdc_election_set(c, e, "bar", 30, &b, 0, &index_b), ETCDC_OK);
    CHECK(index_b > index_a);
    v = raw_value(c, key_b);
    CHECK_STR(v, "bar");
    free(v);
    v = raw_value(c, key_a);
    CHECK_STR(v, "foo");
    free(v);

    /* Each election knows its own leader; the default one has none. */
    char *leader = STRING_SENTINEL;
    if (CHECK_ST(etcdc_election_get(c, e, &a, &leader), ETCDC_OK)) {
        CHECK_STR(leader, "foo");
        etcdc_string_free(leader);
    }
    leader = STRING_SENTINEL;
    if (CHECK_ST(etcdc_election_get(c, e, &b, &leader), ETCDC_OK)) {
        CHECK_STR(leader, "bar");
        etcdc_string_free(leader);
    }
    leader_is(c, "prefixed", NULL);

    /* foo does not lead b, bar does not lead a: nothing changes. */
    CHECK_ST(etcdc_election_set(c, e, "foo", 30, &b, 0, NULL), ETCDC_ERR_ACQUIRE_TIMEOUT);
    CHECK_ST(etcdc_election_delete(c, e, "foo", &b), ETCDC_ERR_NOT_HELD);
    CHECK_ST(etcdc_election_renew(c, e, "bar", 30, &a), ETCDC_ERR_NOT_HELD);
    CHECK_ST(etcdc_election_delete(c, e, "bar", NULL), ETCDC_ERR_NOT_HELD);
    CHECK_ST(etcdc_election_renew(c, e, "foo", 60, &a), ETCDC_OK);
    r = NULL;
    if (CHECK_ST(etcdc_read(c, key_a, NULL, &r), ETCDC_OK)) {
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 55);
        etcdc_response_free(r);
    }

    /* A watch of a sees a's change only: bar resigning b is not one. */
    leader = STRING_SENTINEL;
    uint64_t next = 0;
    CHECK_ST(etcdc_election_delete(c, e, "bar", &b), ETCDC_OK);
    CHECK_ST(etcdc_read(c, key_b, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK_ST(etcdc_election_watch(c, e, index_b, &a, 300, &leader, &next),
             ETCDC_ERR_WATCH_TIMEOUT);
    CHECK(leader == STRING_SENTINEL);
    CHECK_ST(etcdc_election_delete(c, e, "foo", &a), ETCDC_OK);
    CHECK_ST(etcdc_election_watch(c, e, index_b, &a, 5000, &leader, &next), ETCDC_OK);
    CHECK(leader == NULL); /* foo resigned */
    if (leader != NULL && leader != STRING_SENTINEL) {
        etcdc_string_free(leader);
    }
    CHECK(next > index_b);
    CHECK_ST(etcdc_read(c, key_a, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
}

/* ---------------------------------------------------------------- main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    pid = (long)getpid();
    snprintf(prefix, sizeof prefix, "/c-recipes-%ld", pid);
    double start = now_s();
    printf("test_recipes: locks under /_locks/c-recipes-%ld, elections under /_elections%s%s\n",
           pid, prefix, under_valgrind() ? " (under valgrind: wider time bounds)" : "");

    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }

    double t = now_s();
#define TIMED(call)                                                                 \
    do {                                                                            \
        call;                                                                       \
        if (getenv("TEST_RECIPES_TIMES") != NULL) {                                 \
            printf("  %-40s %.2f s\n", #call, now_s() - t);                         \
        }                                                                           \
        t = now_s();                                                                \
    } while (0)
    TIMED(test_lock_options(c));
    TIMED(test_lock_bad_arguments(c));
    TIMED(test_lock_basics(c));
    TIMED(test_lock_timeouts(c));
    TIMED(test_lock_mutual_exclusion(c));
    TIMED(test_lock_release_wakes_waiter(c));
    TIMED(test_lock_lost(c));
    TIMED(test_lock_short_ttl(c));
    TIMED(test_lock_free_releases(c));
    TIMED(test_lock_cancel(c));
    TIMED(test_election_bad_arguments(c));
    TIMED(test_election_basics(c));
    TIMED(test_election_expiry(c));
    TIMED(test_election_watch(c));
    TIMED(test_election_options(c));

    /* Clean up: this run's locks, elections and keys. */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    char locks[64], elections[80];
    snprintf(locks, sizeof locks, "/_locks/c-recipes-%ld", pid);
    snprintf(elections, sizeof elections, "/_elections%s", prefix);
    CHECK_ST(etcdc_delete(c, locks, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_delete(c, elections, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_delete(c, prefix, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, locks, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    etcdc_client_free(c);
    printf("(%.1f s)\n", now_s() - start);
    printf("%d passed, %d failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
