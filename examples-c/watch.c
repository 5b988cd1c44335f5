/*
 * etcdc watch example: follow every change under a directory as it happens.
 *
 *   watch [ENDPOINT]           (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * It watches /c-watch/<pid> recursively with an etcdc_watcher and prints each
 * change (action, key, value, previous value, modified index). To have
 * something to show, a writer thread makes a few changes meanwhile: a set, an
 * update, a compare-and-swap, an in-order append, a delete, and a key with a
 * 1 s TTL that etcd expires. etcdc_watcher_run() calls a callback for each
 * event; the callback stops the loop once it has seen them all.
 *
 * Then it shows how to stop a thread blocked in etcdc_watcher_next(): another
 * thread calls etcdc_watcher_cancel(), and the blocked call returns
 * ETCDC_ERR_CANCELLED at once.
 *
 * Build: cc -pthread watch.c $(pkg-config --cflags --libs etcdc)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcdc.h"

/* The writer makes 6 changes and etcd adds one (the expiry). */
#define EXPECTED_EVENTS 7
/* If the events have not all come by then, give up (cancel the watcher). */
#define GIVE_UP_AFTER_S 20

static char dir[64];

/* Prints what failed and returns 0, or returns 1 on success. */
static int check(const char *what, etcdc_status st) {
    if (st == ETCDC_OK) {
        return 1;
    }
    const etcdc_error *e = etcdc_error_last();
    printf("%s -> %s (%d): %s\n", what, etcdc_status_str(st), (int)st, e ? e->message : "");
    return 0;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ------------------------------------------------- the watch callback */

struct printer {
    int seen; /* events printed so far */
};

/* A node's value for printing: "[dir]" for a directory, "-" for no node or
 * no value (the node of a delete or expire event carries no value). */
static const char *shown(const etcdc_node *n) {
    if (n != NULL && etcdc_node_is_dir(n)) {
        return "[dir]";
    }
    const char *value = etcdc_node_value(n); /* NULL for a NULL node */
    return value != NULL ? value : "-";
}

/*
 * Called by etcdc_watcher_run() for each event, in order. The event is
 * borrowed: it is freed when the callback returns (copy what you keep).
 * Returning non-zero stops the loop; etcdc_watcher_run() then returns
 * ETCDC_OK.
 */
static int print_event(const etcdc_response *event, void *userdata) {
    struct printer *p = userdata;
    const etcdc_node *node = etcdc_response_node(event);
    const etcdc_node *prev = etcdc_response_prev_node(event); /* NULL if none */
    p->seen++;
    printf("  %5" PRIu64 "  %-15s  %-44s  %-8s  %s\n", etcdc_node_modified_index(node),
           etcdc_response_action(event), etcdc_node_key(node), shown(node), shown(prev));
    fflush(stdout);
    return p->seen >= EXPECTED_EVENTS;
}

/* ------------------------------------------------------ the writer */

struct writer {
    const etcdc_client *client;
    etcdc_watcher *watcher; /* cancelled if a write fails or time runs out */
    pthread_mutex_t lock;
    pthread_cond_t finished_cond;
    int finished; /* set by main once etcdc_watcher_run() returned */
    int ok;
};

static void *writer_main(void *arg) {
    struct writer *w = arg;
    const etcdc_client *c = w->client;
    char color[128], queue[128], session[128];
    snprintf(color, sizeof color, "%s/color", dir);
    snprintf(queue, sizeof queue, "%s/queue", dir);
    snprintf(session, sizeof session, "%s/session", dir);

    /* A set: creates the key. */
    int ok = check("set color = red", etcdc_write(c, color, "red", NULL, NULL));

    /* An update: a write that requires the key to exist. */
    etcdc_write_options must_exist = ETCDC_WRITE_OPTIONS_INIT;
    must_exist.prev_exist = ETCDC_PREV_EXIST_TRUE;
    ok = ok && check("update color = green", etcdc_write(c, color, "green", &must_exist, NULL));

    /* A compare-and-swap: only if the value is still "green". */
    ok = ok && check("compare-and-swap color: green -> blue",
                     etcdc_test_and_set(c, color, "blue", "green", 0, NULL));

    /* An in-order append: etcd names the new key after its index. */
    etcdc_write_options append = ETCDC_WRITE_OPTIONS_INIT;
    append.append = true;
    ok = ok && check("append to queue", etcdc_write(c, queue, "job-1", &append, NULL));

    /* A delete. */
    ok = ok && check("delete color", etcdc_delete(c, color, NULL, NULL));

    /* A key with a 1 s TTL: etcd deletes it by itself ("expire"). */
    etcdc_write_options ttl = ETCDC_WRITE_OPTIONS_INIT;
    ttl.ttl = 1;
    ok = ok && check("set session, ttl 1 s", etcdc_write(c, session, "token-42", &ttl, NULL));

    /* Wait until the watching thread is done; stop it if it takes too long
     * (e.g. a write failed, so it waits for an event that never comes). */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ok ? GIVE_UP_AFTER_S : 0;
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->finished && rc == 0) {
        rc = pthread_cond_timedwait(&w->finished_cond, &w->lock, &deadline);
    }
    if (!w->finished) {
        if (ok) {
            printf("no expiry after %d s: giving up\n", GIVE_UP_AFTER_S);
        }
        etcdc_watcher_cancel(w->watcher); /* safe from any thread */
        ok = 0;
    }
    pthread_mutex_unlock(&w->lock);
    w->ok = ok;
    return NULL;
}

/* --------------------------------------------- part 2: cancelling */

struct stopper {
    const etcdc_watcher *watcher;
};

static void *stopper_main(void *arg) {
    struct stopper *s = arg;
    sleep_ms(500); /* let the main thread block in etcdc_watcher_next() */
    printf("  [stopper thread] etcdc_watcher_cancel()\n");
    fflush(stdout);
    etcdc_watcher_cancel(s->watcher);
    return NULL;
}

static int show_cancel(const etcdc_client *client) {
    char quiet[128];
    snprintf(quiet, sizeof quiet, "%s/nobody-writes-here", dir);
    etcdc_watcher *w = NULL;
    if (!check("etcdc_watcher_new", etcdc_watcher_new(client, quiet, NULL, &w))) {
        return 0;
    }
    printf("\nwatching %s, where nothing happens; another thread cancels in 0.5 s\n", quiet);
    struct stopper s;
    s.watcher = w;
    pthread_t th;
    if (pthread_create(&th, NULL, stopper_main, &s) != 0) {
        etcdc_watcher_free(w);
        return 0;
    }

    /* Blocks: no time limit (-1; 0 would mean "do not wait"), and no change
     * is coming. */
    etcdc_response *event = NULL;
    etcdc_status st = etcdc_watcher_next(w, -1, &event);
    printf("  [main thread] etcdc_watcher_next() returned %s (%d)\n", etcdc_status_str(st),
           (int)st);
    pthread_join(th, NULL);

    /* Cancelling is final: every later call returns ETCDC_ERR_CANCELLED. */
    etcdc_status again = etcdc_watcher_next(w, -1, NULL);
    printf("  [main thread] called again: %s\n", etcdc_status_str(again));

    /* Only free the watcher once no thread uses it any more. */
    etcdc_response_free(event); /* NULL here: nothing came */
    etcdc_watcher_free(w);
    return st == ETCDC_ERR_CANCELLED && again == ETCDC_ERR_CANCELLED;
}

/* ----------------------------------------------------------- main */

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    snprintf(dir, sizeof dir, "/c-watch/%ld", (long)getpid());

    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, talking to %s\n", etcdc_version(), endpoint);

    /* Create the directory, and note etcd's index at that moment. */
    etcdc_response *r = NULL;
    if (!check("mkdir", etcdc_mkdir(client, dir, 0, &r))) {
        etcdc_client_free(client);
        return 1;
    }
    uint64_t created = etcdc_node_modified_index(etcdc_response_node(r));
    etcdc_response_free(r);

    /*
     * Watch the directory recursively, starting right after its creation.
     * Starting from a known index (rather than "from now") means no change
     * can slip by before the first poll reaches etcd: the writer may well
     * start before we do. The watcher sends nothing until it is used.
     */
    etcdc_watch_options wopts = ETCDC_WATCH_OPTIONS_INIT;
    wopts.recursive = true;
    wopts.wait_index = created + 1;
    etcdc_watcher *watcher = NULL;
    if (!check("etcdc_watcher_new", etcdc_watcher_new(client, dir, &wopts, &watcher))) {
        etcdc_client_free(client);
        return 1;
    }

    struct writer w;
    memset(&w, 0, sizeof w);
    w.client = client;
    w.watcher = watcher;
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.finished_cond, NULL);
    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_main, &w) != 0) {
        printf("pthread_create failed\n");
        return 1;
    }

    printf("\nwatching %s recursively from index %" PRIu64 ":\n\n", dir, wopts.wait_index);
    printf("  %5s  %-15s  %-44s  %-8s  %s\n", "index", "action", "key", "value", "previous");

    /* The loop: one callback per event, until the callback says stop. */
    struct printer p = {0};
    etcdc_status st = etcdc_watcher_run(watcher, print_event, &p);
    int ok = check("etcdc_watcher_run", st);
    printf("\netcdc_watcher_run() returned %s after %d events; next poll would start at "
           "index %" PRIu64 "\n",
           etcdc_status_str(st), p.seen, etcdc_watcher_next_index(watcher));

    pthread_mutex_lock(&w.lock);
    w.finished = 1;
    pthread_cond_signal(&w.finished_cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(writer, NULL);
    ok = ok && w.ok && p.seen == EXPECTED_EVENTS;
    etcdc_watcher_free(watcher);
    pthread_cond_destroy(&w.finished_cond);
    pthread_mutex_destroy(&w.lock);

    ok = show_cancel(client) && ok;

    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    etcdc_delete(client, dir, &wipe, NULL);
    etcdc_client_free(client);
    printf("\n%s\n", ok ? "watch example: all events seen, cancel worked" : "watch example: FAILED");
    return ok ? 0 : 1;
}
