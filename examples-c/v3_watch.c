/*
 * etcdc v3 watch example: print every change under a prefix as it happens.
 *
 *   v3_watch [ENDPOINT]        (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * It watches the prefix /v3-watch-example/<pid>/ with prev_kv (each event
 * carries the key as it was), makes a few changes itself (a put, an update,
 * a key with a lease, a delete, the lease revoked: its key goes too) and
 * prints each event: PUT or DELETE, the key, the value, the value before,
 * the revision. etcdc_v3_watcher_new() returns once etcd created the
 * watch, so changes made after it are all delivered, even from this very
 * thread. Then it watches again from the first change's revision: the
 * same events, from etcd's history, through the callback loop
 * (etcdc_v3_watcher_run()).
 *
 * This file is both C and C++ (`make` builds it as each).
 *
 * Build: cc v3_watch.c $(pkg-config --cflags --libs etcdc)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcdc.h"

#define CHANGES 6

static char prefix[64];

/* Prints what failed and returns 0, or returns 1 on success. */
static int check(const char *what, etcdc_status st) {
    if (st == ETCDC_OK) {
        return 1;
    }
    const etcdc_error *e = etcdc_error_last();
    printf("%s -> %s (%d): %s\n", what, etcdc_status_str(st), (int)st, e ? e->message : "");
    return 0;
}

/* Prints one event: what, key, value, value before, revision. */
static void print_event(const etcdc_v3_event *event) {
    const etcdc_v3_kv *kv = etcdc_v3_event_kv(event);       /* borrowed */
    const etcdc_v3_kv *was = etcdc_v3_event_prev_kv(event); /* NULL: none */
    /* Keys and values are bytes followed by a NUL: text prints as is. */
    printf("  %-6s  %-40.*s  %-8.*s  %-8.*s  %" PRId64 "\n",
           etcdc_v3_event_type(event) == ETCDC_V3_EVENT_PUT ? "PUT" : "DELETE",
           (int)kv->key_len, (const char *)kv->key, (int)kv->value_len,
           (const char *)kv->value, was ? (int)was->value_len : 1,
           was ? (const char *)was->value : "-", etcdc_v3_event_revision(event));
}

/* The changes: CHANGES events under the prefix. The first's revision. */
static int64_t make_changes(const etcdc_client *c) {
    char color[128], session[128];
    snprintf(color, sizeof color, "%scolor", prefix);
    snprintf(session, sizeof session, "%ssession", prefix);
    etcdc_v3_put_response *r = NULL;
    int64_t first = 0, lease = 0;
    if (!check("put color", etcdc_v3_put(c, color, strlen(color), "red", 3, NULL, &r))) {
        return 0;
    }
    first = etcdc_v3_put_response_header(r)->revision;
    etcdc_v3_put_response_free(r);
    etcdc_v3_put_options po = ETCDC_V3_PUT_OPTIONS_INIT;
    int ok = check("update color", etcdc_v3_put(c, color, strlen(color), "blue", 4, NULL, NULL));
    ok = ok && check("grant a lease", etcdc_v3_lease_grant(c, 60, 0, &lease, NULL));
    po.lease = lease;
    ok = ok && check("put session",
                     etcdc_v3_put(c, session, strlen(session), "token", 5, &po, NULL));
    ok = ok && check("update session",
                     etcdc_v3_put(c, session, strlen(session), "token2", 6, &po, NULL));
    ok = ok && check("delete color", etcdc_v3_delete(c, color, strlen(color), NULL, NULL));
    /* Revoking the lease deletes its keys: one more event. */
    ok = ok && check("revoke the lease", etcdc_v3_lease_revoke(c, lease, NULL));
    return ok ? first : 0;
}

/* The callback of etcdc_v3_watcher_run(): the event is borrowed (valid
 * during the call only); non-zero stops the loop. */
static int print_and_count(const etcdc_v3_event *event, void *userdata) {
    int *seen = (int *)userdata;
    print_event(event);
    return ++*seen >= CHANGES;
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    snprintf(prefix, sizeof prefix, "/v3-watch-example/%ld/", (long)getpid());
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, v3 watches, talking to %s\n", etcdc_version(), endpoint);

    /* Watch every key under the prefix, from now, with the values before. */
    etcdc_v3_watch_options wo = ETCDC_V3_WATCH_OPTIONS_INIT;
    wo.prefix = true;
    wo.prev_kv = true;
    etcdc_v3_watcher *w = NULL;
    etcdc_status st = etcdc_v3_watcher_new(client, prefix, strlen(prefix), &wo, &w);
    if (!check("etcdc_v3_watcher_new", st)) {
        etcdc_client_free(client);
        return 1;
    }
    int64_t first = make_changes(client);
    printf("\nwatching %s from now:\n\n", prefix);
    printf("  %-6s  %-40s  %-8s  %-8s  %s\n", "event", "key", "value", "before", "revision");
    int seen = 0, ok = first != 0;
    while (ok && seen < CHANGES) {
        etcdc_v3_event *event = NULL;
        /* Wait at most 5 s (-1: no limit; 0: only an event at hand). */
        st = etcdc_v3_watcher_next(w, 5000, &event);
        if (st == ETCDC_ERR_COMPACTED) {
            /* The changes up to etcdc_v3_watcher_compact_revision() are lost
             * to this watcher: re-read what you watch, then watch again
             * from that read's revision + 1. */
            printf("compacted at %" PRId64 "\n", etcdc_v3_watcher_compact_revision(w));
        }
        ok = check("etcdc_v3_watcher_next", st);
        if (ok) {
            print_event(event);
            etcdc_v3_event_free(event);
            seen++;
        }
    }
    printf("\nnext revision: %" PRId64 "\n", etcdc_v3_watcher_next_revision(w));
    etcdc_v3_watcher_free(w);

    /* Again from the first change's revision: the same events, from etcd's
     * history, through the callback loop. */
    w = NULL;
    wo.start_revision = first;
    int replayed = 0;
    st = ok ? etcdc_v3_watcher_new(client, prefix, strlen(prefix), &wo, &w) : ETCDC_OK;
    if (ok && check("etcdc_v3_watcher_new", st)) {
        printf("\nwatching %s from revision %" PRId64 " (etcd's history):\n\n", prefix, first);
        ok = check("etcdc_v3_watcher_run", etcdc_v3_watcher_run(w, print_and_count, &replayed));
        etcdc_v3_watcher_free(w);
    }

    etcdc_v3_delete_options wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    wipe.prefix = true;
    etcdc_v3_delete(client, prefix, strlen(prefix), &wipe, NULL);
    etcdc_client_free(client);
    ok = ok && seen == CHANGES && replayed == CHANGES;
    printf("\n%s\n", ok ? "v3 watch example: every change seen, twice"
                        : "v3 watch example: FAILED");
    return ok ? 0 : 1;
}
