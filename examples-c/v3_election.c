/*
 * etcdc v3 election example: two candidates take turns leading, and an
 * observer follows the leader.
 *
 *   v3_election [ENDPOINT]     (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * The election is /v3-election-example/<pid>/leader, etcd's own kind:
 * `etcdctl elect /v3-election-example/<pid>/leader <proposal>` takes part in
 * it, and `etcdctl elect -l` on that name prints what the observer below
 * prints. "alpha" campaigns and leads; the observer sees it; alpha
 * proclaims a new value; "beta" campaigns with a timeout and gives up
 * (alpha leads); alpha resigns and beta, campaigning again, leads; the
 * observer sees each change, in order.
 *
 * This file is both C and C++ (`make` builds it as each).
 *
 * Build: cc v3_election.c $(pkg-config --cflags --libs etcdc)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcdc.h"

/* Prints what failed and returns 0, or returns 1 on success. */
static int check(const char *what, etcdc_status st) {
    if (st == ETCDC_OK) {
        return 1;
    }
    const etcdc_error *e = etcdc_error_last();
    printf("%s -> %s (%d): %s\n", what, etcdc_status_str(st), (int)st, e ? e->message : "");
    return 0;
}

/* The observer's next leader (waiting at most 5 s), printed; 1 if its value
 * is `want`. */
static int observe(etcdc_v3_observer *observer, const char *want) {
    etcdc_v3_leader *leader = NULL;
    if (!check("etcdc_v3_observer_next", etcdc_v3_observer_next(observer, 5000, &leader))) {
        return 0;
    }
    const etcdc_v3_kv *kv = etcdc_v3_leader_kv(leader); /* borrowed from leader */
    printf("  observer: %.*s leads, with \"%.*s\" (since revision %" PRId64 ")\n",
           (int)kv->key_len, (const char *)kv->key, (int)kv->value_len,
           (const char *)kv->value, kv->create_revision);
    int ok = kv->value_len == strlen(want) && memcmp(kv->value, want, kv->value_len) == 0;
    etcdc_v3_leader_free(leader);
    return ok;
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    char name[64];
    snprintf(name, sizeof name, "/v3-election-example/%ld/leader", (long)getpid());
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, v3 election %s, talking to %s\n", etcdc_version(), name, endpoint);

    /* Two candidates; a leader that died would be replaced after 10 s. */
    etcdc_v3_election_options eo = ETCDC_V3_ELECTION_OPTIONS_INIT;
    eo.ttl = 10;
    etcdc_v3_election *alpha = NULL, *beta = NULL;
    etcdc_v3_observer *observer = NULL;
    int ok = check("etcdc_v3_election_new",
                   etcdc_v3_election_new(client, name, strlen(name), &eo, &alpha));
    ok = ok && check("etcdc_v3_election_new",
                     etcdc_v3_election_new(client, name, strlen(name), &eo, &beta));
    /* An observer has connections of its own: another thread could use it. */
    ok = ok && check("etcdc_v3_election_observe", etcdc_v3_election_observe(beta, &observer));

    /* alpha campaigns: nobody leads, so it does at once. */
    ok = ok && check("alpha: campaign", etcdc_v3_election_campaign(alpha, "alpha", 5, 5000));
    if (ok) {
        printf("alpha leads: key %.*s, revision %" PRId64 "\n",
               (int)etcdc_v3_election_key_len(alpha), (const char *)etcdc_v3_election_key(alpha),
               etcdc_v3_election_revision(alpha));
    }
    ok = ok && observe(observer, "alpha");
    ok = ok && check("alpha: proclaim", etcdc_v3_election_proclaim(alpha, "alpha-2", 7));
    ok = ok && observe(observer, "alpha-2");

    /* beta cannot lead while alpha does: it gives up after 300 ms. */
    etcdc_status st = ok ? etcdc_v3_election_campaign(beta, "beta", 4, 300) : ETCDC_OK;
    if (ok) {
        printf("beta: campaign, waiting 300 ms -> %s\n", etcdc_status_str(st));
        ok = st == ETCDC_ERR_ACQUIRE_TIMEOUT;
    }

    /* Who leads, as anyone may ask (NULL: nobody). */
    etcdc_v3_leader *leader = NULL;
    ok = ok && check("etcdc_v3_election_leader", etcdc_v3_election_leader(beta, &leader));
    if (ok && leader != NULL) {
        const etcdc_v3_kv *kv = etcdc_v3_leader_kv(leader);
        printf("leader, as beta reads it: \"%.*s\"\n", (int)kv->value_len,
               (const char *)kv->value);
    }
    ok = ok && leader != NULL;
    etcdc_v3_leader_free(leader);

    /* alpha steps down; beta leads. */
    ok = ok && check("alpha: resign", etcdc_v3_election_resign(alpha));
    ok = ok && check("beta: campaign", etcdc_v3_election_campaign(beta, "beta", 4, 5000));
    ok = ok && observe(observer, "beta");
    bool leads = false;
    ok = ok && check("beta: is_leader", etcdc_v3_election_is_leader(beta, &leads)) && leads;
    ok = ok && check("beta: resign", etcdc_v3_election_resign(beta));

    /* Freeing a candidate that leads resigns. */
    etcdc_v3_observer_free(observer);
    etcdc_v3_election_free(alpha);
    etcdc_v3_election_free(beta);
    etcdc_client_free(client);
    printf("\n%s\n", ok ? "v3 election example: the leadership passed, the observer saw it all"
                        : "v3 election example: FAILED");
    return ok ? 0 : 1;
}
