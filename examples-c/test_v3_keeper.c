/*
 * etcdc C tests of the v3 lease keeper (etcdc_v3_lease_keeper_*) against a
 * real etcd: a short lease kept alive well past its TTL with a key attached,
 * stop with and without revoke, free without stop (revokes), adopting an
 * existing lease and an unknown one, a lease revoked behind the keeper's
 * back (LOST, the callback called exactly once), a keeper that outlives its
 * client, state read from another thread while the owner stops it, and
 * NULL / invalid arguments.
 *
 *   test_v3_keeper             (endpoint: $ETCDC_ENDPOINT, an etcd 3.4+)
 *
 * Every key lives under /c-v3-keeper/<pid>/, removed at the end; every
 * lease is revoked. Run under valgrind and ASan/UBSan: everything is freed
 * and every keeper's thread is joined by its stop or free. The last line
 * printed is "N passed, M failed"; the exit status is non-zero if M > 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char prefix[64];

/* The key `rel` under this run's prefix (a ring buffer: see ring_printf). */
static const char *K(const char *rel) {
    return ring_printf("%s%s", prefix, rel);
}

static int put_leased(const etcdc_client *c, const char *key, int64_t lease) {
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    o.lease = lease;
    return CHECK_ST(etcdc_v3_put(c, key, strlen(key), "v", 1, &o, NULL), ETCDC_OK);
}

static int exists(const etcdc_client *c, const char *key) {
    etcdc_v3_range_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_range(c, key, strlen(key), NULL, &r), ETCDC_OK)) {
        return -1;
    }
    int n = (int)etcdc_v3_range_response_kv_count(r);
    etcdc_v3_range_response_free(r);
    return n;
}

/* The lease's TTL left as etcd says: -1 when it does not exist. */
static int64_t ttl_left(const etcdc_client *c, int64_t id) {
    etcdc_v3_lease_ttl_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_lease_time_to_live(c, id, false, &r), ETCDC_OK)) {
        return -2;
    }
    int64_t ttl = etcdc_v3_lease_ttl_response_ttl(r);
    etcdc_v3_lease_ttl_response_free(r);
    return ttl;
}

static etcdc_v3_lease_keeper *keep_new(const etcdc_client *c, int64_t ttl) {
    etcdc_v3_lease_keeper_options o = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper *k = NULL;
    o.ttl = ttl;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_OK);
    return k;
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

/* ------------------------------------------------------- on_lost counter */

struct lost {
    pthread_mutex_t mu;
    int calls;
    char reason[256];
    int state_was_lost; /* the keeper's state, read inside the callback */
    etcdc_v3_lease_keeper *keeper;
};

static void on_lost(const char *reason, void *userdata) {
    struct lost *l = userdata;
    pthread_mutex_lock(&l->mu);
    l->calls++;
    snprintf(l->reason, sizeof l->reason, "%s", reason != NULL ? reason : "(NULL)");
    if (l->keeper != NULL) {
        l->state_was_lost = etcdc_v3_lease_keeper_state(l->keeper, NULL) == ETCDC_V3_KEEPER_LOST;
    }
    pthread_mutex_unlock(&l->mu);
}

static int lost_calls(struct lost *l) {
    pthread_mutex_lock(&l->mu);
    int n = l->calls;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* ----------------------------------------------------------------- tests */

static void test_options_init(void) {
    etcdc_v3_lease_keeper_options init = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper_options o;
    memset(&o, 0xab, sizeof o);
    CHECK_ST(etcdc_v3_lease_keeper_options_init(&o, ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION),
             ETCDC_OK);
    CHECK(o.version == init.version && o.ttl == 0 && o.id == 0 && o.on_lost == NULL &&
          o.userdata == NULL);
    CHECK_INT(init.version, ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION);
    CHECK_ST(etcdc_v3_lease_keeper_options_init(NULL, ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_lease_keeper_options_init(&o, 0), ETCDC_ERR_INVALID_ARGUMENT);
}

/* NULL and invalid arguments: refused before anything is sent. */
static void test_invalid(const etcdc_client *c) {
    etcdc_v3_lease_keeper_options o = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper *k = (etcdc_v3_lease_keeper *)&o; /* a sentinel */
    o.ttl = 60;
    CHECK_ST(etcdc_v3_lease_keeper_new(NULL, &o, &k), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK_ST(etcdc_v3_lease_keeper_new(c, NULL, &k), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "opts is NULL"));
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out is NULL"));
    o.ttl = 0;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "neither ttl"));
    o.ttl = 60;
    o.id = 1234;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "both set"));
    o.id = 0;
    o.ttl = -5;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "TTL"));
    o.ttl = 60;
    o.version = ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION + 1;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_v3_lease_keeper_options has version"));
    CHECK(k == (etcdc_v3_lease_keeper *)&o); /* out untouched by every failure */

    CHECK_ST(etcdc_v3_lease_keeper_stop(NULL, true), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "keeper is NULL"));
    int64_t left = 77;
    CHECK(etcdc_v3_lease_keeper_state(NULL, &left) == ETCDC_V3_KEEPER_NONE);
    CHECK_INT(left, 0);
    CHECK(etcdc_v3_lease_keeper_state(NULL, NULL) == ETCDC_V3_KEEPER_NONE);
    CHECK_INT(etcdc_v3_lease_keeper_id(NULL), 0);
    CHECK_INT(etcdc_v3_lease_keeper_ttl(NULL), 0);
    CHECK(etcdc_v3_lease_keeper_lost_reason(NULL) == NULL);
    etcdc_v3_lease_keeper_free(NULL);
}

/* A 2 s lease with a key, kept ~5 s (over two TTLs): ALIVE throughout, the
 * key still there; then stopped with revoke: STOPPED, the key gone. */
static void test_kept_then_revoked(const etcdc_client *c) {
    etcdc_v3_lease_keeper *k = keep_new(c, 2);
    if (k == NULL) {
        return;
    }
    int64_t id = etcdc_v3_lease_keeper_id(k);
    int64_t ttl = etcdc_v3_lease_keeper_ttl(k);
    CHECK(id != 0);
    CHECK(ttl >= 2);
    CHECK_STR(etcdc_v3_lease_keeper_lost_reason(k), "");
    const char *key = K("kept");
    put_leased(c, key, id);
    double until = now_s() + 5.0;
    int not_alive = 0, samples = 0;
    while (now_s() < until) {
        int64_t left = -1;
        etcdc_v3_keeper_state st = etcdc_v3_lease_keeper_state(k, &left);
        samples++;
        if (st != ETCDC_V3_KEEPER_ALIVE || left <= 0 || left > ttl * 1000) {
            not_alive++;
            printf("     at %.2f s: state %d, left %" PRId64 " ms\n", 5.0 - (until - now_s()),
                   (int)st, left);
        }
        sleep_s(0.25);
    }
    CHECK(samples >= 10);
    CHECK_INT(not_alive, 0);
    CHECK_INT(exists(c, key), 1);
    CHECK(ttl_left(c, id) > 0);

    CHECK_ST(etcdc_v3_lease_keeper_stop(k, true), ETCDC_OK);
    int64_t left = 77;
    CHECK(etcdc_v3_lease_keeper_state(k, &left) == ETCDC_V3_KEEPER_STOPPED);
    CHECK_INT(left, 0);
    CHECK_INT(exists(c, key), 0);
    CHECK_INT(ttl_left(c, id), -1);
    /* The handle stays readable; a second stop does nothing. */
    CHECK_INT(etcdc_v3_lease_keeper_id(k), id);
    CHECK_STR(etcdc_v3_lease_keeper_lost_reason(k), "");
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, true), ETCDC_OK);
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, false), ETCDC_OK);
    etcdc_v3_lease_keeper_free(k);
}

/* Stopped without revoke: the lease and its key stay (until its TTL). */
static void test_stop_without_revoke(const etcdc_client *c) {
    etcdc_v3_lease_keeper *k = keep_new(c, 30);
    if (k == NULL) {
        return;
    }
    int64_t id = etcdc_v3_lease_keeper_id(k);
    const char *key = K("not-revoked");
    put_leased(c, key, id);
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, false), ETCDC_OK);
    CHECK(etcdc_v3_lease_keeper_state(k, NULL) == ETCDC_V3_KEEPER_STOPPED);
    etcdc_v3_lease_keeper_free(k); /* stopped: frees, revokes nothing */
    CHECK_INT(exists(c, key), 1);
    int64_t left = ttl_left(c, id);
    CHECK(left > 0 && left <= 30);
    CHECK_ST(etcdc_v3_lease_revoke(c, id, NULL), ETCDC_OK);
    CHECK_INT(exists(c, key), 0);
}

/* Freed without stop: stopped and revoked; no thread of its left. */
static void test_free_revokes(const etcdc_client *c) {
    int before = thread_count();
    etcdc_v3_lease_keeper *k = keep_new(c, 30);
    if (k == NULL) {
        return;
    }
    CHECK(thread_count() > before); /* its own thread */
    int64_t id = etcdc_v3_lease_keeper_id(k);
    const char *key = K("freed");
    put_leased(c, key, id);
    etcdc_v3_lease_keeper_free(k);
    CHECK_INT(exists(c, key), 0);
    CHECK_INT(ttl_left(c, id), -1);
    CHECK(threads_back_to(before));

    /* The same with stop, then free. */
    k = keep_new(c, 30);
    if (k == NULL) {
        return;
    }
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, true), ETCDC_OK);
    CHECK(threads_back_to(before));
    etcdc_v3_lease_keeper_free(k);
}

/* An existing 2 s lease adopted, kept past its TTL; an unknown id refused. */
static void test_adopt(const etcdc_client *c) {
    int64_t id = 0, granted = 0;
    CHECK_ST(etcdc_v3_lease_grant(c, 2, 0, &id, &granted), ETCDC_OK);
    const char *key = K("adopted");
    put_leased(c, key, id);
    etcdc_v3_lease_keeper_options o = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper *k = NULL;
    o.id = id;
    if (!CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_OK)) {
        return;
    }
    CHECK_INT(etcdc_v3_lease_keeper_id(k), id);
    CHECK_INT(etcdc_v3_lease_keeper_ttl(k), granted);
    sleep_s(3.5);
    CHECK(etcdc_v3_lease_keeper_state(k, NULL) == ETCDC_V3_KEEPER_ALIVE);
    CHECK_INT(exists(c, key), 1);
    CHECK(ttl_left(c, id) > 0);
    etcdc_v3_lease_keeper_free(k);
    CHECK_INT(exists(c, key), 0);
    CHECK_INT(ttl_left(c, id), -1);

    /* The lease is gone now: adopting it again is NOT_FOUND. */
    k = (etcdc_v3_lease_keeper *)&o;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(k == (etcdc_v3_lease_keeper *)&o);
    o.id = 0x7e57c0de;
    CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(k == (etcdc_v3_lease_keeper *)&o);
}

/* Revoked behind the keeper's back: LOST soon (renewals every TTL/3), the
 * callback called exactly once, on the keeper's thread, with the reason;
 * stop says NOT_HELD. */
static void test_lost(const etcdc_client *c) {
    struct lost l;
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.mu, NULL);
    etcdc_v3_lease_keeper_options o = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper *k = NULL;
    o.ttl = 3;
    o.on_lost = on_lost;
    o.userdata = &l;
    if (!CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_OK)) {
        pthread_mutex_destroy(&l.mu);
        return;
    }
    pthread_mutex_lock(&l.mu);
    l.keeper = k;
    pthread_mutex_unlock(&l.mu);
    int64_t id = etcdc_v3_lease_keeper_id(k);
    CHECK(etcdc_v3_lease_keeper_state(k, NULL) == ETCDC_V3_KEEPER_ALIVE);
    CHECK_INT(lost_calls(&l), 0);

    double t0 = now_s();
    CHECK_ST(etcdc_v3_lease_revoke(c, id, NULL), ETCDC_OK);
    etcdc_v3_keeper_state st = ETCDC_V3_KEEPER_NONE;
    double limit = under_valgrind() ? 4.0 : 2.0;
    while (now_s() - t0 < limit) {
        st = etcdc_v3_lease_keeper_state(k, NULL);
        if (st == ETCDC_V3_KEEPER_LOST) {
            break;
        }
        sleep_s(0.02);
    }
    double took = now_s() - t0;
    if (!CHECK(st == ETCDC_V3_KEEPER_LOST)) {
        printf("     state %d after %.2f s\n", (int)st, took);
    }
    /* The callback runs right after the state is published. */
    double t1 = now_s();
    while (lost_calls(&l) == 0 && now_s() - t1 < 1.0) {
        sleep_s(0.01);
    }
    const char *reason = etcdc_v3_lease_keeper_lost_reason(k);
    CHECK(reason != NULL && strstr(reason, "is gone") != NULL);
    CHECK(reason == etcdc_v3_lease_keeper_lost_reason(k)); /* the same, borrowed */
    sleep_s(0.5); /* a second call would come now */
    CHECK_INT(lost_calls(&l), 1);
    pthread_mutex_lock(&l.mu);
    CHECK_STR(l.reason, reason);
    CHECK(l.state_was_lost);
    pthread_mutex_unlock(&l.mu);
    int64_t left = 77;
    CHECK(etcdc_v3_lease_keeper_state(k, &left) == ETCDC_V3_KEEPER_LOST);
    CHECK_INT(left, 0);

    CHECK_ST(etcdc_v3_lease_keeper_stop(k, true), ETCDC_ERR_NOT_HELD);
    CHECK(last_error_is(ETCDC_ERR_NOT_HELD, "is gone"));
    CHECK(etcdc_v3_lease_keeper_state(k, NULL) == ETCDC_V3_KEEPER_LOST);
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, false), ETCDC_ERR_NOT_HELD);
    CHECK_STR(etcdc_v3_lease_keeper_lost_reason(k), reason);
    etcdc_v3_lease_keeper_free(k);
    CHECK_INT(lost_calls(&l), 1);
    pthread_mutex_destroy(&l.mu);
    printf("     lost after %.2f s\n", took);
}

/* A keeper whose lease is not lost never calls back; one freed while lost
 * is freed (its thread ended already). */
static void test_no_callback_when_stopped(const etcdc_client *c) {
    struct lost l;
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.mu, NULL);
    etcdc_v3_lease_keeper_options o = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper *k = NULL;
    o.ttl = 30;
    o.on_lost = on_lost;
    o.userdata = &l;
    if (CHECK_ST(etcdc_v3_lease_keeper_new(c, &o, &k), ETCDC_OK)) {
        int64_t id = etcdc_v3_lease_keeper_id(k);
        etcdc_v3_lease_keeper_free(k); /* revokes: the keeper is gone first */
        CHECK_INT(ttl_left(c, id), -1);
    }
    CHECK_INT(lost_calls(&l), 0);
    pthread_mutex_destroy(&l.mu);
}

/* A keeper outlives the client it was made with. */
static void test_outlives_client(const etcdc_client *c, const char *endpoint) {
    etcdc_client_options co = ETCDC_CLIENT_OPTIONS_INIT;
    etcdc_client *c2 = NULL;
    co.endpoints = &endpoint;
    co.endpoint_count = 1;
    if (!CHECK_ST(etcdc_client_new(&co, &c2), ETCDC_OK)) {
        return;
    }
    etcdc_v3_lease_keeper *k = keep_new(c2, 2);
    etcdc_client_free(c2);
    if (k == NULL) {
        return;
    }
    int64_t id = etcdc_v3_lease_keeper_id(k);
    sleep_s(2.5);
    CHECK(etcdc_v3_lease_keeper_state(k, NULL) == ETCDC_V3_KEEPER_ALIVE);
    CHECK(ttl_left(c, id) > 0);
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, true), ETCDC_OK);
    CHECK_INT(ttl_left(c, id), -1);
    etcdc_v3_lease_keeper_free(k);
}

/* Another thread reads the state while the owner stops the keeper. */
struct reader {
    etcdc_v3_lease_keeper *k;
    int reads, bad;
    etcdc_v3_keeper_state last;
};

static void *reader_main(void *arg) {
    struct reader *r = arg;
    for (;;) {
        int64_t left = 0;
        etcdc_v3_keeper_state st = etcdc_v3_lease_keeper_state(r->k, &left);
        const char *why = etcdc_v3_lease_keeper_lost_reason(r->k);
        r->reads++;
        r->last = st;
        if ((st != ETCDC_V3_KEEPER_ALIVE && st != ETCDC_V3_KEEPER_STOPPED) || why == NULL ||
            why[0] != '\0' || etcdc_v3_lease_keeper_id(r->k) == 0) {
            r->bad++;
        }
        if (st == ETCDC_V3_KEEPER_STOPPED) {
            return NULL;
        }
    }
}

static void test_state_while_stopping(const etcdc_client *c) {
    etcdc_v3_lease_keeper *k = keep_new(c, 30);
    if (k == NULL) {
        return;
    }
    struct reader r = {k, 0, 0, ETCDC_V3_KEEPER_NONE};
    pthread_t th;
    if (!CHECK(pthread_create(&th, NULL, reader_main, &r) == 0)) {
        etcdc_v3_lease_keeper_free(k);
        return;
    }
    sleep_s(0.2);
    CHECK_ST(etcdc_v3_lease_keeper_stop(k, true), ETCDC_OK);
    pthread_join(th, NULL);
    CHECK(r.reads > 0);
    CHECK_INT(r.bad, 0);
    CHECK(r.last == ETCDC_V3_KEEPER_STOPPED);
    etcdc_v3_lease_keeper_free(k);
}

/* ------------------------------------------------------------------ main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-v3-keeper/%ld/", (long)getpid());
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
    test_invalid(c);
    test_kept_then_revoked(c);
    test_stop_without_revoke(c);
    test_free_revokes(c);
    test_adopt(c);
    test_lost(c);
    test_no_callback_when_stopped(c);
    test_outlives_client(c, endpoint);
    test_state_while_stopping(c);

    /* Clean up: the whole prefix. */
    etcdc_v3_delete_options wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    wipe.prefix = true;
    CHECK_ST(etcdc_v3_delete(c, prefix, strlen(prefix), &wipe, NULL), ETCDC_OK);
    etcdc_client_free(c);

    printf("test_v3_keeper: %.1f s\n", now_s() - start);
    return check_report();
}
