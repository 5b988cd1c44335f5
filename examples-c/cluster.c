/*
 * etcdc cluster example: what a client learns about the cluster it talks to.
 *
 *   cluster [ENDPOINT]         (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * Builds a client with `discover` on: etcdc_client_new() asks the endpoint
 * for /v2/members and from then on knows every member's client URLs, so a
 * client given one live member of a cluster finds the others (python-etcd's
 * allow_reconnect). Then prints:
 *   - the members: id, name, peer URLs, client URLs  (etcdc_members)
 *   - the leader                                      (etcdc_leader)
 *   - the machines: every member's client URLs        (etcdc_machines)
 *   - the server and cluster versions                 (etcdc_server_version)
 *   - whether the member is healthy                   (etcdc_health)
 *   - the v2 store's operation counters, as JSON      (etcdc_stats)
 *
 * Nothing is changed: member add/remove/update are left to an operator
 * (adding a member to a one-member cluster takes away its quorum until the
 * new member starts).
 *
 * Build: cc cluster.c $(pkg-config --cflags --libs etcdc)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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

/* Prints a list of URLs as "a, b, c" (or "(none)"). */
static void print_urls(const char *label, const char *const *urls, size_t count) {
    printf("      %-12s ", label);
    if (count == 0) {
        printf("(none)");
    }
    for (size_t i = 0; i < count; i++) {
        printf("%s%s", i > 0 ? ", " : "", urls[i]);
    }
    printf("\n");
}

/* Prints one member: id and name, then its peer and client URLs. */
static void print_member(const etcdc_member *m) {
    printf("    %s  name \"%s\"%s\n", m->id, m->name, m->name[0] == '\0' ? " (not started)" : "");
    print_urls("peer URLs", m->peer_urls, m->peer_url_count);
    print_urls("client URLs", m->client_urls, m->client_url_count);
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }

    /* client = etcd.Client(host=..., allow_reconnect=True) */
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    opts.read_timeout_ms = 10000;
    opts.discover = true;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new (discover)", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, discovered the cluster from %s\n\n", etcdc_version(), endpoint);
    int ok = 1;

    /* client.members */
    etcdc_member_list *members = NULL;
    if ((ok &= check("etcdc_members", etcdc_members(client, &members)))) {
        size_t n = etcdc_member_list_count(members);
        printf("members (%zu):\n", n);
        for (size_t i = 0; i < n; i++) {
            print_member(etcdc_member_list_get(members, i));
        }
        etcdc_member_list_free(members);
    }

    /* client.leader */
    etcdc_member_list *leader = NULL;
    if ((ok &= check("etcdc_leader", etcdc_leader(client, &leader)))) {
        const etcdc_member *m = etcdc_member_list_get(leader, 0);
        printf("\nleader:       %s (\"%s\")\n", m->id, m->name);
        etcdc_member_list_free(leader);
    }

    /* client.machines: a list of URLs (borrowed from it until it is freed) */
    etcdc_strings *machines = NULL;
    if ((ok &= check("etcdc_machines", etcdc_machines(client, &machines)))) {
        printf("machines:    ");
        for (size_t i = 0; i < etcdc_strings_count(machines); i++) {
            printf(" %s", etcdc_strings_get(machines, i));
        }
        printf("\n");
        etcdc_strings_free(machines);
    }

    /* GET /version */
    char *server = NULL, *cluster = NULL;
    if ((ok &= check("etcdc_server_version", etcdc_server_version(client, &server, &cluster)))) {
        printf("version:      server %s, cluster %s\n", server, cluster);
        etcdc_string_free(server);
        etcdc_string_free(cluster);
    }

    /* GET /health */
    bool healthy = false;
    if ((ok &= check("etcdc_health", etcdc_health(client, &healthy)))) {
        printf("healthy:      %s\n", healthy ? "yes (the member has a leader)" : "NO (no leader)");
        ok &= healthy;
    }

    /* client.stats: the v2 store's counters */
    char *json = NULL;
    if ((ok &= check("etcdc_stats STORE", etcdc_stats(client, ETCDC_STATS_STORE, &json)))) {
        printf("store stats:  %s\n", json);
        etcdc_string_free(json);
    }

    etcdc_client_free(client);
    printf("\n%s\n", ok ? "cluster: all information read" : "cluster: FAILED");
    return ok ? 0 : 1;
}
