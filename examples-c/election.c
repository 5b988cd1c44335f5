/*
 * etcdc election example: leader election among candidates.
 *
 *   election [ENDPOINT]        (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * python-etcd's README walk-through, in C, then what happens around it:
 *
 *     client.election.set('/mysql', name='foo.example.com', ttl=120, timeout=30)
 *     client.election.get('/mysql')       # 'foo.example.com'
 *     client.election.delete('/mysql', name='foo.example.com')
 *
 * - foo.example.com becomes the leader (the index at which it won is printed);
 * - bar.example.com tries for 0.5 s and gives up: ETCDC_ERR_ACQUIRE_TIMEOUT;
 * - bar cannot resign in foo's place: ETCDC_ERR_NOT_HELD;
 * - foo renews its leadership (a leader renews well within its TTL; if it
 *   dies, the leadership ends with the TTL);
 * - bar campaigns again in a thread, without a timeout, and waits; a watcher
 *   thread follows the election; foo resigns, bar takes over.
 *
 * The election's key includes this process's id, so that several runs
 * against one etcd do not meet. etcd keeps it at /_elections/<key>: the
 * default prefix of etcdc_election_options, which every call on one
 * election shares (NULL options would mean the same defaults).
 *
 * Build: cc -pthread election.c $(pkg-config --cflags --libs etcdc)
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

#define FOO "foo.example.com"
#define BAR "bar.example.com"

static char key[64];   /* the election: /mysql-<pid> */
static double started; /* for the timestamps printed */

/* Where the elections live: the same for every call on one election.
 * prefix NULL: the default, "/_elections". */
static etcdc_election_options eopts = ETCDC_ELECTION_OPTIONS_INIT;

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
    printf("  [%5.2f s] %-15s %s\n", now_s() - started, who, what);
    fflush(stdout);
}

/* Prints the current leader; returns 1 if it is `want` (NULL: none). */
static int show_leader(const etcdc_client *client, const char *want) {
    char *leader = NULL; /* owned by us: etcdc_string_free() */
    if (!check("etcdc_election_get", etcdc_election_get(client, key, &eopts, &leader))) {
        return 0;
    }
    char line[128];
    snprintf(line, sizeof line, "etcdc_election_get() -> %s", leader ? leader : "(no leader)");
    say("main", line);
    int ok = (leader == NULL && want == NULL) ||
             (leader != NULL && want != NULL && strcmp(leader, want) == 0);
    etcdc_string_free(leader);
    return ok;
}

/* ---------------------------------------------------------- threads */

/* bar campaigns and waits as long as it takes. */
struct candidate {
    const etcdc_client *client;
    etcdc_status status;
    uint64_t index;
};

static void *candidate_main(void *arg) {
    struct candidate *k = arg;
    say(BAR, "campaigns, no timeout: waits for the leader to go");
    k->status = etcdc_election_set(k->client, key, BAR, 120, &eopts, -1 /* no limit */, &k->index);
    char line[96];
    snprintf(line, sizeof line, "-> %s: leader at index %" PRIu64, etcdc_status_str(k->status),
             k->index);
    say(BAR, line);
    return NULL;
}

/*
 * The watcher follows the leader until it is bar. Each etcdc_election_watch()
 * starts where the previous one ended (its next index), so no change is
 * missed between two calls.
 */
struct watcher {
    const etcdc_client *client;
    uint64_t since; /* where the first watch starts: before anything changes */
    int changes;    /* changes reported by etcdc_election_watch() */
    int ok;
};

static void *watcher_main(void *arg) {
    struct watcher *w = arg;
    double give_up = now_s() + 20;
    char line[128];
    uint64_t since = w->since;
    while (now_s() < give_up) {
        char *leader = NULL;
        etcdc_status st =
            etcdc_election_watch(w->client, key, since, &eopts, 1000, &leader, &since);
        if (st == ETCDC_ERR_WATCH_TIMEOUT) {
            continue;
        }
        if (!check("etcdc_election_watch", st)) {
            return NULL;
        }
        w->changes++;
        snprintf(line, sizeof line, "etcdc_election_watch() -> %s",
                 leader ? leader : "(no leader: resigned or expired)");
        say("watcher", line);
        int done = leader != NULL && strcmp(leader, BAR) == 0;
        etcdc_string_free(leader);
        if (done) {
            say("watcher", BAR " leads: done watching");
            w->ok = 1;
            return NULL;
        }
    }
    say("watcher", "no new leader within 20 s");
    return NULL;
}

/* ----------------------------------------------------------- main */

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    snprintf(key, sizeof key, "/mysql-%ld", (long)getpid());
    started = now_s();

    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, talking to %s; election %s\n\n", etcdc_version(), endpoint, key);
    char line[160];

    /* client.election.set('/mysql', name='foo.example.com', ttl=120, timeout=30) */
    uint64_t index = 0;
    int ok = check("etcdc_election_set",
                   etcdc_election_set(client, key, FOO, 120, &eopts, 30000, &index));
    snprintf(line, sizeof line,
             "etcdc_election_set(\"%s\", ttl 120 s, timeout 30 s) -> index %" PRIu64, FOO, index);
    say(FOO, line);

    /* client.election.get('/mysql') */
    ok = show_leader(client, FOO) && ok;

    /* A second candidate, willing to wait 0.5 s: foo stays, bar gives up. */
    etcdc_status st = etcdc_election_set(client, key, BAR, 120, &eopts, 500, NULL);
    snprintf(line, sizeof line, "etcdc_election_set(\"%s\", timeout 0.5 s) -> %s", BAR,
             etcdc_status_str(st));
    say(BAR, line);
    ok = ok && st == ETCDC_ERR_ACQUIRE_TIMEOUT;

    /* Only the leader can resign: a compare-and-delete on its name. */
    st = etcdc_election_delete(client, key, BAR, &eopts);
    snprintf(line, sizeof line, "etcdc_election_delete(\"%s\") -> %s", BAR, etcdc_status_str(st));
    say(BAR, line);
    ok = ok && st == ETCDC_ERR_NOT_HELD;
    ok = show_leader(client, FOO) && ok;

    /* The leader renews: 120 s more from now. */
    st = etcdc_election_renew(client, key, FOO, 120, &eopts);
    snprintf(line, sizeof line, "etcdc_election_renew(\"%s\", 120) -> %s", FOO,
             etcdc_status_str(st));
    say(FOO, line);
    ok = ok && st == ETCDC_OK;

    /* bar campaigns again, this time without a timeout, in its own thread;
     * a watcher follows the election. */
    printf("\n");
    struct candidate bar = {client, ETCDC_OK, 0};
    struct watcher w = {client, 0 /* from now */, 0, 0};
    pthread_t bar_th, watch_th;
    int have_bar = pthread_create(&bar_th, NULL, candidate_main, &bar) == 0;
    int have_watcher = pthread_create(&watch_th, NULL, watcher_main, &w) == 0;
    sleep_ms(500); /* both are waiting now */

    /* client.election.delete('/mysql', name='foo.example.com'): foo resigns. */
    say(FOO, "etcdc_election_delete(\"" FOO "\"): resigns");
    ok = check("etcdc_election_delete", etcdc_election_delete(client, key, FOO, &eopts)) && ok;

    if (have_bar) {
        pthread_join(bar_th, NULL);
    }
    if (have_watcher) {
        pthread_join(watch_th, NULL);
    }
    ok = ok && have_bar && have_watcher && bar.status == ETCDC_OK && bar.index > index && w.ok;
    printf("\n");
    ok = show_leader(client, BAR) && ok;

    /* bar resigns in turn: no leader is left. */
    ok = check("etcdc_election_delete", etcdc_election_delete(client, key, BAR, &eopts)) && ok;
    say(BAR, "resigned");
    ok = show_leader(client, NULL) && ok;

    etcdc_client_free(client);
    printf("\n%s\n", ok ? "election example: done" : "election example: FAILED");
    return ok ? 0 : 1;
}
