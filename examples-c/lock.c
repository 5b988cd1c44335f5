/*
 * etcdc lock example: a distributed lock, shared by threads or processes.
 *
 *   lock [ENDPOINT]            (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * 1. python-etcd's README walk-through, in C:
 *        lock = client.get_lock('/customer1', ttl=60)
 *        lock.acquire(timeout=30)
 *        lock.is_locked()   # True
 *        lock.renew(60)
 *        lock.release()
 *        lock.is_locked()   # False
 * 2. Two threads, each with its own etcdc_lock handle on the same lock: the
 *    second waits until the first releases it.
 * 3. Try once (timeout 0) while someone else holds it: ETCDC_ERR_ACQUIRE_TIMEOUT.
 * 4. etcdc_lock_cancel() from another thread wakes a blocked acquire, which
 *    returns ETCDC_ERR_CANCELLED.
 *
 * A lock handle is used by one thread at a time (etcdc_lock_cancel() excepted);
 * threads that contend for a lock each make their own handle, as processes do.
 * The lock's name includes this process's id, so that several runs against
 * one etcd do not meet.
 *
 * Build: cc -pthread lock.c $(pkg-config --cflags --libs etcdc)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "etcdc.h"

static char name[64];  /* the lock's name: /customer1-<pid> */
static double started; /* for the timestamps printed */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Prints what failed and returns 0, or returns 1 on success. */
static int check(const char *what, etcdc_status st) {
    if (st == ETCDC_OK) {
        return 1;
    }
    const etcdc_error *e = etcdc_error_last();
    printf("%s -> %s (%d): %s\n", what, etcdc_status_str(st), (int)st, e ? e->message : "");
    return 0;
}

/* Prints a line with the time since the start, from any thread. */
static void say(const char *who, const char *what) {
    printf("  [%5.2f s] %-6s %s\n", now_s() - started, who, what);
    fflush(stdout);
}

/* ------------------------------------------ part 1: the walk-through */

static int walk_through(const etcdc_client *client) {
    printf("1. python-etcd's walk-through, lock %s\n\n", name);

    /* lock = client.get_lock('/customer1', ttl=60): sends nothing yet. */
    etcdc_lock_options opts = ETCDC_LOCK_OPTIONS_INIT;
    opts.ttl = 60;
    etcdc_lock *lock = NULL;
    if (!check("etcdc_lock_new", etcdc_lock_new(client, name, &opts, &lock))) {
        return 0;
    }

    /* lock.acquire(timeout=30) */
    int ok = check("etcdc_lock_acquire", etcdc_lock_acquire(lock, 30000));
    printf("  etcdc_lock_acquire(lock, 30000)  -> %s\n", ok ? "acquired" : "failed");

    /* lock.is_locked(): asks etcd, not a local flag. */
    bool locked = false;
    ok = ok && check("etcdc_lock_is_locked", etcdc_lock_is_locked(lock, &locked));
    printf("  etcdc_lock_is_locked()           -> %s\n", locked ? "true" : "false");
    ok = ok && locked;

    /* lock.renew(60): 60 s more from now. A holder renews well within the
     * TTL; if it dies, others get the lock once the TTL has run out. */
    ok = ok && check("etcdc_lock_renew", etcdc_lock_renew(lock, 60));
    printf("  etcdc_lock_renew(lock, 60)       -> %s\n", ok ? "renewed" : "failed");

    /* lock.release() */
    ok = ok && check("etcdc_lock_release", etcdc_lock_release(lock));
    printf("  etcdc_lock_release()             -> %s\n", ok ? "released" : "failed");

    /* lock.is_locked() */
    ok = ok && check("etcdc_lock_is_locked", etcdc_lock_is_locked(lock, &locked));
    printf("  etcdc_lock_is_locked()           -> %s\n", locked ? "true" : "false");
    ok = ok && !locked;

    /* Freeing a lock that is still held would release it. */
    etcdc_lock_free(lock);
    return ok;
}

/* ------------------------------------------------ part 2: two threads */

struct worker {
    const char *who;
    etcdc_lock *lock; /* this thread's own handle */
    long hold_ms;     /* how long it keeps the lock */
    double got_at, released_at;
    int ok;
    /* Set once it holds the lock, so that main starts the second thread then. */
    pthread_mutex_t *mu;
    pthread_cond_t *cond;
    int *holding;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    say(w->who, "acquiring...");
    double asked_at = now_s();
    if (!check("etcdc_lock_acquire", etcdc_lock_acquire(w->lock, -1 /* as long as it takes */))) {
        return NULL;
    }
    w->got_at = now_s();
    char line[96];
    snprintf(line, sizeof line, "got the lock (after %.2f s); working for %.1f s",
             w->got_at - asked_at, (double)w->hold_ms / 1000);
    say(w->who, line);
    pthread_mutex_lock(w->mu);
    *w->holding = 1;
    pthread_cond_signal(w->cond);
    pthread_mutex_unlock(w->mu);

    sleep_ms(w->hold_ms); /* the work the lock protects */

    w->released_at = now_s();
    w->ok = check("etcdc_lock_release", etcdc_lock_release(w->lock));
    say(w->who, "released the lock");
    return NULL;
}

static int two_threads(const etcdc_client *client) {
    printf("\n2. two threads, each with its own handle on %s\n\n", name);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    int holding = 0;
    struct worker w[2] = {
        {"first", NULL, 1000, 0, 0, 0, &mu, &cond, &holding},
        {"second", NULL, 200, 0, 0, 0, &mu, &cond, &holding},
    };
    int ok = check("etcdc_lock_new", etcdc_lock_new(client, name, NULL, &w[0].lock)) &&
             check("etcdc_lock_new", etcdc_lock_new(client, name, NULL, &w[1].lock));
    pthread_t th[2];
    int started_threads = 0;
    if (ok && pthread_create(&th[0], NULL, worker_main, &w[0]) == 0) {
        started_threads = 1;
        /* Start the second thread once the first holds the lock. */
        pthread_mutex_lock(&mu);
        while (!holding) {
            pthread_cond_wait(&cond, &mu);
        }
        pthread_mutex_unlock(&mu);
        if (pthread_create(&th[1], NULL, worker_main, &w[1]) == 0) {
            started_threads = 2;
        }
    }
    for (int i = 0; i < started_threads; i++) {
        pthread_join(th[i], NULL);
    }
    etcdc_lock_free(w[0].lock);
    etcdc_lock_free(w[1].lock);
    ok = ok && started_threads == 2 && w[0].ok && w[1].ok;
    /* The second got the lock only after the first released it. */
    ok = ok && w[1].got_at >= w[0].released_at;
    printf("\n  the second got the lock %.2f s after the first released it\n",
           w[1].got_at - w[0].released_at);
    return ok;
}

/* ------------------------------------------ part 3: try once, part 4: cancel */

struct blocked {
    etcdc_lock *lock;
    etcdc_status status;
    double returned_at;
};

static void *blocked_main(void *arg) {
    struct blocked *b = arg;
    say("waiter", "etcdc_lock_acquire(lock, -1): blocks while the lock is held");
    b->status = etcdc_lock_acquire(b->lock, -1);
    b->returned_at = now_s();
    return NULL;
}

static int try_once_and_cancel(const etcdc_client *client) {
    printf("\n3. try once while the lock is held\n\n");
    etcdc_lock *holder = NULL, *other = NULL;
    if (!check("etcdc_lock_new", etcdc_lock_new(client, name, NULL, &holder)) ||
        !check("etcdc_lock_new", etcdc_lock_new(client, name, NULL, &other)) ||
        !check("etcdc_lock_acquire", etcdc_lock_acquire(holder, 0))) {
        etcdc_lock_free(holder);
        etcdc_lock_free(other);
        return 0;
    }
    say("holder", "holds the lock");

    /* Timeout 0: one look, no waiting. Giving up leaves no trace in etcd. */
    etcdc_status st = etcdc_lock_acquire(other, 0);
    char line[128];
    snprintf(line, sizeof line, "etcdc_lock_acquire(lock, 0) -> %s", etcdc_status_str(st));
    say("other", line);
    int ok = st == ETCDC_ERR_ACQUIRE_TIMEOUT;

    printf("\n4. cancel a blocked acquire from another thread\n\n");
    struct blocked b = {other, ETCDC_OK, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, blocked_main, &b) != 0) {
        ok = 0;
    } else {
        sleep_ms(500); /* let it block */
        say("main", "etcdc_lock_cancel(lock)");
        double cancelled_at = now_s();
        etcdc_lock_cancel(other); /* any thread may call it */
        pthread_join(th, NULL);
        snprintf(line, sizeof line, "etcdc_lock_acquire() returned %s, %.1f ms after the cancel",
                 etcdc_status_str(b.status), (b.returned_at - cancelled_at) * 1000);
        say("waiter", line);
        ok = ok && b.status == ETCDC_ERR_CANCELLED;
        /* Cancelling is final for that handle: later acquires say CANCELLED. */
        st = etcdc_lock_acquire(other, 0);
        snprintf(line, sizeof line, "acquire again -> %s", etcdc_status_str(st));
        say("waiter", line);
        ok = ok && st == ETCDC_ERR_CANCELLED;
    }

    ok = check("etcdc_lock_release", etcdc_lock_release(holder)) && ok;
    say("holder", "released the lock");
    /* Free a handle only once no thread uses it any more. */
    etcdc_lock_free(other);
    etcdc_lock_free(holder);
    return ok;
}

/* ----------------------------------------------------------- main */

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    snprintf(name, sizeof name, "/customer1-%ld", (long)getpid());
    started = now_s();

    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, talking to %s\n\n", etcdc_version(), endpoint);

    int ok = walk_through(client);
    ok = two_threads(client) && ok;
    ok = try_once_and_cancel(client) && ok;

    /* Contenders' keys live under /_locks/<name>; all are gone by now, only
     * the empty directory is left: remove it. */
    char dir[96];
    snprintf(dir, sizeof dir, "/_locks%s", name);
    etcdc_delete_options rmdir = ETCDC_DELETE_OPTIONS_INIT;
    rmdir.dir = true;
    ok = check("remove the lock's directory", etcdc_delete(client, dir, &rmdir, NULL)) && ok;

    etcdc_client_free(client);
    printf("\n%s\n", ok ? "lock example: done" : "lock example: FAILED");
    return ok ? 0 : 1;
}
