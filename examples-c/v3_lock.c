/*
 * etcdc v3 lock example: two contenders for one lock, and writes made only
 * while the lock is held.
 *
 *   v3_lock [ENDPOINT]         (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * The lock is /v3-lock-example/<pid>/jobs, etcd's own kind: `etcdctl lock
 * /v3-lock-example/<pid>/jobs` (or Go's concurrency.Mutex) on that name
 * waits while this program holds it, and the other way round. (A v2 lock,
 * etcdc_lock, on the same name would not: etcd's v2 and v3 stores are
 * separate.) Here two handles of one program contend: the first takes the
 * lock; the second cannot (try_acquire says no, an acquire with a timeout
 * gives up, leaving nothing behind); the holder writes a counter through a
 * transaction guarded by etcdc_v3_txn_when_lock_held(), so the write is
 * applied only while it holds the lock; it releases, and the second takes
 * it, with a higher revision: the fencing token.
 *
 * This file is both C and C++ (`make` builds it as each).
 *
 * Build: cc v3_lock.c $(pkg-config --cflags --libs etcdc)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcdc.h"

static char name[64], counter[80];

/* Prints what failed and returns 0, or returns 1 on success. */
static int check(const char *what, etcdc_status st) {
    if (st == ETCDC_OK) {
        return 1;
    }
    const etcdc_error *e = etcdc_error_last();
    printf("%s -> %s (%d): %s\n", what, etcdc_status_str(st), (int)st, e ? e->message : "");
    return 0;
}

/* Prints the lock's key (name/<lease hex>), lease and revision. */
static void print_held(const char *who, const etcdc_v3_lock *lock) {
    printf("%s holds the lock: key %.*s, lease %" PRIx64 ", revision (fencing token) %" PRId64
           "\n",
           who, (int)etcdc_v3_lock_key_len(lock), (const char *)etcdc_v3_lock_key(lock),
           (uint64_t)etcdc_v3_lock_lease_id(lock), etcdc_v3_lock_revision(lock));
}

/* A transaction that sets the counter to `value` only while `lock` is held
 * (by this hold: the compare names the lock's key and revision), or NULL. */
static etcdc_v3_txn *guarded_write(const etcdc_v3_lock *lock, const char *value) {
    etcdc_v3_txn *txn = NULL;
    if (!check("etcdc_v3_txn_new", etcdc_v3_txn_new(&txn))) {
        return NULL;
    }
    if (!check("etcdc_v3_txn_when_lock_held", etcdc_v3_txn_when_lock_held(txn, lock)) ||
        !check("etcdc_v3_txn_add_put",
               etcdc_v3_txn_add_put(txn, ETCDC_V3_ON_SUCCESS, counter, strlen(counter), value,
                                    strlen(value), NULL))) {
        etcdc_v3_txn_free(txn);
        return NULL;
    }
    return txn;
}

/* Sends the transaction: 1 if etcd applied its write (the lock was held
 * then), 0 if not. */
static int commit(const etcdc_client *c, const etcdc_v3_txn *txn) {
    etcdc_v3_txn_response *r = NULL;
    int applied = 0;
    if (txn != NULL && check("etcdc_v3_txn_commit", etcdc_v3_txn_commit(c, txn, &r))) {
        applied = etcdc_v3_txn_response_succeeded(r);
        etcdc_v3_txn_response_free(r);
    }
    return applied;
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    snprintf(name, sizeof name, "/v3-lock-example/%ld/jobs", (long)getpid());
    snprintf(counter, sizeof counter, "/v3-lock-example/%ld/counter", (long)getpid());
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, v3 lock %s, talking to %s\n", etcdc_version(), name, endpoint);

    /* Two handles on the lock, each with a lease of 10 s: how long the other
     * would wait for a holder that died (a live one keeps it renewed). */
    etcdc_v3_lock_options lo = ETCDC_V3_LOCK_OPTIONS_INIT;
    lo.ttl = 10;
    etcdc_v3_lock *first = NULL, *second = NULL;
    int ok = check("etcdc_v3_lock_new", etcdc_v3_lock_new(client, name, strlen(name), &lo, &first));
    ok = ok && check("etcdc_v3_lock_new",
                     etcdc_v3_lock_new(client, name, strlen(name), &lo, &second));

    /* The first takes it (waiting at most 5 s: -1 is no limit, 0 only if free). */
    ok = ok && check("first: acquire", etcdc_v3_lock_acquire(first, 5000));
    if (ok) {
        print_held("first", first);
    }

    /* The second cannot, and leaves nothing behind when it gives up. */
    bool got = true;
    ok = ok && check("second: try_acquire", etcdc_v3_lock_try_acquire(second, &got));
    if (ok) {
        printf("second: try_acquire -> %s\n", got ? "acquired (wrong!)" : "held by another");
        ok = !got;
    }
    etcdc_status st = ok ? etcdc_v3_lock_acquire(second, 300) : ETCDC_OK;
    if (ok) {
        printf("second: acquire, waiting 300 ms -> %s\n", etcdc_status_str(st));
        ok = st == ETCDC_ERR_ACQUIRE_TIMEOUT;
    }

    /* Writes under the lock: applied only while it is held. */
    int64_t token = etcdc_v3_lock_revision(first);
    etcdc_v3_txn *write = ok ? guarded_write(first, "1") : NULL;
    if (ok) {
        ok = commit(client, write);
        printf("first: guarded write -> %s\n", ok ? "applied" : "not applied");
    }

    /* Released, the lock passes; the same write, sent again, is refused. */
    ok = ok && check("first: release", etcdc_v3_lock_release(first));
    if (ok) {
        printf("first: the guarded write again, after the release -> %s\n",
               commit(client, write) ? "applied (wrong!)" : "refused by etcd");
    }
    etcdc_v3_txn_free(write);
    ok = ok && check("second: acquire", etcdc_v3_lock_acquire(second, 5000));
    if (ok) {
        print_held("second", second);
        printf("second's token %s first's\n",
               etcdc_v3_lock_revision(second) > token ? "is above" : "is NOT above");
        write = guarded_write(second, "2");
        ok = etcdc_v3_lock_revision(second) > token && commit(client, write);
        etcdc_v3_txn_free(write);
    }
    bool held = false;
    ok = ok && check("second: is_held", etcdc_v3_lock_is_held(second, &held)) && held;
    ok = ok && check("second: release", etcdc_v3_lock_release(second));

    /* Freeing a lock releases it if held; a lock may outlive its client. */
    etcdc_v3_lock_free(first);
    etcdc_v3_lock_free(second);
    etcdc_v3_delete(client, counter, strlen(counter), NULL, NULL);
    etcdc_client_free(client);
    printf("\n%s\n", ok ? "v3 lock example: the lock passed from one handle to the other"
                        : "v3 lock example: FAILED");
    return ok ? 0 : 1;
}
