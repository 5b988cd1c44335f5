/*
 * etcdc C tests of the cluster API against a real single-member etcd:
 * etcdc_members, etcdc_leader, etcdc_member_add/remove/update,
 * etcdc_member_list_count/get/free, etcdc_machines, etcdc_stats,
 * etcdc_server_version, etcdc_health, and the client options for clusters
 * (endpoint lists and failover, discover, expected_cluster_id), with
 * ETCDC_ERR_AMBIGUOUS / ETCDC_ERR_TIMEOUT from a server that never answers
 * and ETCDC_ERR_CLUSTER_ID_MISMATCH.
 *
 *   test_cluster               (endpoint: $ETCDC_ENDPOINT, a one-member etcd 3.4 with v2)
 *
 * Member add/remove round trips are NOT made here: adding a member to a
 * one-member cluster makes its quorum 2 of 2, and with the new member never
 * started the cluster has no leader any more; etcd 3.4 then cannot commit
 * the remove either (it answers 500 after its 7 s request timeout, again and
 * again), so the shared etcd would stay broken for every later program. Here
 * member add/remove/update are tested for their argument errors and for the
 * changes etcd refuses or that change nothing (re-adding a peer URL in use,
 * an unknown id, updating the member to its own peer URL): those go through
 * raft and leave the cluster as it was. The round trip belongs to the Rust
 * three-member cluster suite.
 *
 * Keys live under /c-cluster-<pid>, removed at the end. Each CHECK records a
 * failure with file:line and goes on; the last line printed is
 * "N passed, M failed", and the exit status is non-zero if M > 0. Built with
 * -std=c99 -Wall -Wextra -Werror -pedantic and run under valgrind: every
 * handle and string is freed.
 *
 * The silent server's thread never calls CHECK (the counters are not
 * locked): it records what it received, and main checks that.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------- helpers */

static char prefix[64]; /* /c-cluster-<pid> */

/* The full key of `rel` under this run's prefix (a ring of buffers). */
static const char *K(const char *rel) {
    return ring_printf("%s/%s", prefix, rel);
}

/* What the tests learn about the cluster and share. */
static char member_id[64];   /* the one member's id (hex) */
static char member_name[128]; /* its name */
static char peer_url[256];   /* its first peer URL */
static char cluster_id[64];  /* X-Etcd-Cluster-Id */

static int is_hex(const char *s) {
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (!isxdigit((unsigned char)*s)) {
            return 0;
        }
    }
    return 1;
}

static void copy(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

/* The number after "field": in a compact JSON text, or -1 if absent. */
static long long json_number(const char *json, const char *field) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\":", field);
    const char *at = json ? strstr(json, needle) : NULL;
    if (at == NULL) {
        return -1;
    }
    return strtoll(at + strlen(needle), NULL, 10);
}

/* `json` contains "field":"value". */
static int json_has_string(const char *json, const char *field, const char *value) {
    char needle[256];
    snprintf(needle, sizeof needle, "\"%s\":\"%s\"", field, value);
    return json != NULL && strstr(json, needle) != NULL;
}

/* A client for `count` endpoints with these extras; NULL (and a failed
 * CHECK) if it cannot be built. */
static etcdc_client *client_for(const char *const *endpoints, size_t count, bool discover,
                                const char *expected_cluster_id, uint64_t read_timeout_ms) {
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = endpoints;
    o.endpoint_count = count;
    o.discover = discover;
    o.expected_cluster_id = expected_cluster_id;
    o.read_timeout_ms = read_timeout_ms;
    o.connect_timeout_ms = 2000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        return NULL;
    }
    return c;
}

/* ------------------------------------------------- the silent server */

/* A loopback server that accepts connections, reads what is sent, and
 * never answers: requests to it time out after they were sent. */
struct silent {
    int lfd;
    unsigned short port;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;          /* under mu */
    int accepted;      /* under mu */
    char got[8192];    /* under mu: the first bytes received, all connections */
    size_t got_len;    /* under mu */
};

static void *silent_main(void *arg) {
    struct silent *s = arg;
    int conns[32];
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) {
            break;
        }
        struct pollfd p[33];
        p[0].fd = s->lfd;
        p[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            p[i + 1].fd = conns[i];
            p[i + 1].events = POLLIN;
        }
        if (poll(p, (nfds_t)(n + 1), 50) <= 0) {
            continue;
        }
        for (int i = n - 1; i >= 0; i--) {
            if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            char buf[2048];
            ssize_t r = recv(conns[i], buf, sizeof buf, 0);
            if (r <= 0) { /* the client gave up: forget the connection */
                close(conns[i]);
                conns[i] = conns[--n];
                continue;
            }
            pthread_mutex_lock(&s->mu);
            size_t room = sizeof s->got - 1 - s->got_len;
            size_t take = (size_t)r < room ? (size_t)r : room;
            memcpy(s->got + s->got_len, buf, take);
            s->got_len += take;
            s->got[s->got_len] = '\0';
            pthread_mutex_unlock(&s->mu);
        }
        if ((p[0].revents & POLLIN) && n < 32) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                conns[n++] = fd;
                pthread_mutex_lock(&s->mu);
                s->accepted++;
                pthread_mutex_unlock(&s->mu);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        close(conns[i]);
    }
    return NULL;
}

/* Starts the server; 0 if it could not be. */
static int silent_start(struct silent *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->lfd, 16) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &len) != 0) {
        if (s->lfd >= 0) {
            close(s->lfd);
        }
        pthread_mutex_destroy(&s->mu);
        return 0;
    }
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thread, NULL, silent_main, s) != 0) {
        close(s->lfd);
        pthread_mutex_destroy(&s->mu);
        return 0;
    }
    return 1;
}

static void silent_stop(struct silent *s) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
}

/* Whether the server received `needle` (in any request so far). */
static int silent_got(struct silent *s, const char *needle) {
    pthread_mutex_lock(&s->mu);
    int found = strstr(s->got, needle) != NULL;
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* ------------------------------------------------------- member lists */

static void test_list_accessors_with_null(void) {
    CHECK(etcdc_member_list_count(NULL) == 0);
    CHECK(etcdc_member_list_get(NULL, 0) == NULL);
    CHECK(etcdc_member_list_get(NULL, 7) == NULL);
    etcdc_member_list_free(NULL); /* a no-op */
    CHECK(1);
}

static void test_members(const etcdc_client *c, const char *endpoint) {
    etcdc_member_list *list = NULL;
    if (!CHECK_ST(etcdc_members(c, &list), ETCDC_OK)) {
        return;
    }
    CHECK(list != NULL);
    CHECK(etcdc_member_list_count(list) == 1);
    const etcdc_member *m = etcdc_member_list_get(list, 0);
    if (CHECK(m != NULL)) {
        CHECK(m->id != NULL && strlen(m->id) > 0);
        CHECK(is_hex(m->id));
        CHECK(m->name != NULL && strlen(m->name) > 0);
        CHECK(m->peer_url_count >= 1);
        CHECK(m->peer_urls != NULL && m->peer_urls[0] != NULL &&
              strncmp(m->peer_urls[0], "http://", 7) == 0);
        CHECK_INT(m->client_url_count, 1);
        if (m->client_url_count >= 1) {
            CHECK_STR(m->client_urls[0], endpoint);
        }
        /* Peer and client URLs are different ports of one process. */
        if (m->peer_url_count >= 1 && m->client_url_count >= 1) {
            CHECK(strcmp(m->peer_urls[0], m->client_urls[0]) != 0);
        }
        copy(member_id, sizeof member_id, m->id);
        copy(member_name, sizeof member_name, m->name);
        copy(peer_url, sizeof peer_url, m->peer_url_count ? m->peer_urls[0] : "");
    }
    /* Out of range: NULL, also far out. */
    CHECK(etcdc_member_list_get(list, 1) == NULL);
    CHECK(etcdc_member_list_get(list, (size_t)-1) == NULL);
    /* The same member twice is the same borrowed struct. */
    CHECK(etcdc_member_list_get(list, 0) == m);
    etcdc_member_list_free(list);

    /* Two lists are independent: freeing one leaves the other readable. */
    etcdc_member_list *a = NULL, *b = NULL;
    CHECK_ST(etcdc_members(c, &a), ETCDC_OK);
    CHECK_ST(etcdc_members(c, &b), ETCDC_OK);
    etcdc_member_list_free(a);
    const etcdc_member *mb = etcdc_member_list_get(b, 0);
    CHECK(mb != NULL && strcmp(mb->id, member_id) == 0);
    etcdc_member_list_free(b);
}

static void test_leader(const etcdc_client *c, const char *endpoint) {
    etcdc_member_list *list = NULL;
    if (!CHECK_ST(etcdc_leader(c, &list), ETCDC_OK)) {
        return;
    }
    CHECK_INT(etcdc_member_list_count(list), 1);
    CHECK(etcdc_member_list_get(list, 1) == NULL);
    const etcdc_member *m = etcdc_member_list_get(list, 0);
    if (CHECK(m != NULL)) {
        /* The one member leads. */
        CHECK_STR(m->id, member_id);
        CHECK_STR(m->name, member_name);
        CHECK(m->peer_url_count >= 1 && strcmp(m->peer_urls[0], peer_url) == 0);
        CHECK(m->client_url_count == 1 && strcmp(m->client_urls[0], endpoint) == 0);
    }
    etcdc_member_list_free(list);
}

/* -------------------------------------------- machines, stats, version */

static void test_machines(const etcdc_client *c, const char *endpoint) {
    etcdc_strings *machines = NULL;
    if (!CHECK_ST(etcdc_machines(c, &machines), ETCDC_OK)) {
        return;
    }
    /* One member, one client URL, as a list of one. */
    CHECK(machines != NULL);
    CHECK_INT(etcdc_strings_count(machines), 1);
    CHECK_STR(etcdc_strings_get(machines, 0), endpoint);
    CHECK(etcdc_strings_get(machines, 1) == NULL); /* out of range */
    CHECK(etcdc_strings_get(machines, (size_t)-1) == NULL);
    etcdc_strings_free(machines);
    /* NULL lists: count 0, no string, free is a no-op. */
    CHECK_INT(etcdc_strings_count(NULL), 0);
    CHECK(etcdc_strings_get(NULL, 0) == NULL);
    etcdc_strings_free(NULL);
}

static void test_stats(const etcdc_client *c) {
    char *json = NULL;

    /* SELF: this member, which leads. */
    if (CHECK_ST(etcdc_stats(c, ETCDC_STATS_SELF, &json), ETCDC_OK)) {
        CHECK(json != NULL && json[0] == '{');
        CHECK(json_has_string(json, "name", member_name));
        CHECK(json_has_string(json, "id", member_id));
        CHECK(json_has_string(json, "state", "StateLeader"));
        CHECK(json != NULL && strstr(json, "\"leaderInfo\"") != NULL);
        CHECK(json_has_string(json, "leader", member_id));
        CHECK(json != NULL && strstr(json, "\"startTime\"") != NULL);
        CHECK(json_number(json, "recvAppendRequestCnt") >= 0);
        etcdc_string_free(json);
        json = NULL;
    }

    /* STORE: counters, which move with our own reads and writes. */
    long long gets0 = -1, sets0 = -1;
    if (CHECK_ST(etcdc_stats(c, ETCDC_STATS_STORE, &json), ETCDC_OK)) {
        gets0 = json_number(json, "getsSuccess");
        sets0 = json_number(json, "setsSuccess");
        CHECK(gets0 >= 0);
        CHECK(sets0 >= 0);
        CHECK(json_number(json, "getsFail") >= 0);
        CHECK(json_number(json, "watchers") >= 0);
        CHECK(json_number(json, "expireCount") >= 0);
        etcdc_string_free(json);
        json = NULL;
    }
    CHECK_ST(etcdc_write(c, K("stats"), "x", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, K("stats"), NULL, NULL), ETCDC_OK);
    if (CHECK_ST(etcdc_stats(c, ETCDC_STATS_STORE, &json), ETCDC_OK)) {
        /* Other programs may share this etcd: at least ours counted. */
        CHECK(json_number(json, "getsSuccess") >= gets0 + 1);
        CHECK(json_number(json, "setsSuccess") >= sets0 + 1);
        etcdc_string_free(json);
        json = NULL;
    }

    /* LEADER: a single member is the leader, so it answers, with no
     * followers: {"leader":"<id>","followers":{}}. */
    if (CHECK_ST(etcdc_stats(c, ETCDC_STATS_LEADER, &json), ETCDC_OK)) {
        CHECK(json_has_string(json, "leader", member_id));
        CHECK(json != NULL && strstr(json, "\"followers\":{}") != NULL);
        etcdc_string_free(json);
        json = NULL;
    }

    /* Unknown `which`: refused before anything is sent; *json untouched. */
    char sentinel_text[] = "untouched";
    char *const sentinel = sentinel_text;
    int unknown[] = {3, -1, 42};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        json = sentinel;
        CHECK_ST(etcdc_stats(c, unknown[i], &json), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(json == sentinel);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "which"));
    }
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "42"));
}

static void test_server_version(const etcdc_client *c) {
    char *server = NULL, *cluster = NULL;
    if (CHECK_ST(etcdc_server_version(c, &server, &cluster), ETCDC_OK)) {
        CHECK(server != NULL && strncmp(server, "3.4.", 4) == 0);
        /* The cluster runs at "3.4.0": major.minor of the members, patch 0. */
        CHECK(cluster != NULL && strncmp(cluster, "3.4.", 4) == 0);
        CHECK(cluster != NULL && strlen(cluster) >= 2 &&
              strcmp(cluster + strlen(cluster) - 2, ".0") == 0);
        CHECK_STR(cluster, "3.4.0");
        printf("(etcd server %s, cluster %s)\n", server ? server : "?", cluster ? cluster : "?");
    }
    char *server_only = NULL, *cluster_only = NULL;
    /* Either out may be NULL: only the other one is written. */
    CHECK_ST(etcdc_server_version(c, &server_only, NULL), ETCDC_OK);
    CHECK_STR(server_only, server);
    CHECK_ST(etcdc_server_version(c, NULL, &cluster_only), ETCDC_OK);
    CHECK_STR(cluster_only, cluster);
    CHECK_ST(etcdc_server_version(c, NULL, NULL), ETCDC_OK);
    etcdc_string_free(server);
    etcdc_string_free(cluster);
    etcdc_string_free(server_only);
    etcdc_string_free(cluster_only);
}

static void test_health(const etcdc_client *c) {
    bool healthy = false;
    CHECK_ST(etcdc_health(c, &healthy), ETCDC_OK);
    CHECK(healthy);
}

/* ------------------------------------------------------- member changes */

static void test_member_changes(const etcdc_client *c) {
    static int sentinel_storage;
    etcdc_member_list *const sentinel = (etcdc_member_list *)(void *)&sentinel_storage;
    etcdc_member_list *out;

    /* Update the member to its own peer URL: accepted, changes nothing. */
    const char *own[] = {peer_url};
    CHECK_ST(etcdc_member_update(c, member_id, own, 1), ETCDC_OK);
    etcdc_member_list *list = NULL;
    if (CHECK_ST(etcdc_members(c, &list), ETCDC_OK)) {
        const etcdc_member *m = etcdc_member_list_get(list, 0);
        CHECK_INT(etcdc_member_list_count(list), 1);
        CHECK(m != NULL && m->peer_url_count == 1 && strcmp(m->peer_urls[0], peer_url) == 0);
        etcdc_member_list_free(list);
    }
    /* Upper-case hex is hex too. */
    char upper[64];
    copy(upper, sizeof upper, member_id);
    for (char *p = upper; *p; p++) {
        *p = (char)toupper((unsigned char)*p);
    }
    CHECK_ST(etcdc_member_update(c, upper, own, 1), ETCDC_OK);

    /* Adding a member with a peer URL already in use: etcd refuses it
     * (409 "membership: peerURL exists"), nothing is added, *out untouched. */
    out = sentinel;
    etcdc_status st = etcdc_member_add(c, own, 1, &out);
    CHECK(st != ETCDC_OK && st != ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(st, ETCDC_ERR_HTTP_STATUS);
    CHECK(last_error_is(ETCDC_ERR_HTTP_STATUS, "peerURL exists"));
    CHECK(last_error_is(ETCDC_ERR_HTTP_STATUS, "409"));
    /* etcd's own words, without the client's framing. */
    CHECK_STR(etcdc_error_last()->server_message, "membership: peerURL exists");
    CHECK(out == sentinel);
    CHECK_ST(etcdc_member_add(c, own, 1, NULL), ETCDC_ERR_HTTP_STATUS);
    /* A peer URL that is not a URL: etcd's 400. */
    const char *not_url[] = {"not a url"};
    CHECK_ST(etcdc_member_add(c, not_url, 1, &out), ETCDC_ERR_HTTP_STATUS);
    CHECK(last_error_is(ETCDC_ERR_HTTP_STATUS, "400"));
    CHECK(out == sentinel);

    /* An unknown member: etcd answers 404 {"message":"No such member: …"},
     * which is etcd's message, not a server without the v2 API. */
    CHECK_ST(etcdc_member_remove(c, "1234abcd"), ETCDC_ERR_HTTP_STATUS);
    CHECK(last_error_is(ETCDC_ERR_HTTP_STATUS, "No such member"));
    CHECK(etcdc_error_last()->http_status == 404 && etcdc_error_last()->etcd_code == 0);
    CHECK(strncmp(etcdc_error_last()->server_message, "No such member", 14) == 0);
    const char *elsewhere[] = {"http://127.0.0.1:3"};
    CHECK_ST(etcdc_member_update(c, "1234abcd", elsewhere, 1), ETCDC_ERR_HTTP_STATUS);
    CHECK(last_error_is(ETCDC_ERR_HTTP_STATUS, "No such member"));

    /* Still one member, still healthy. */
    if (CHECK_ST(etcdc_members(c, &list), ETCDC_OK)) {
        CHECK_INT(etcdc_member_list_count(list), 1);
        const etcdc_member *m = etcdc_member_list_get(list, 0);
        CHECK(m != NULL && strcmp(m->id, member_id) == 0);
        etcdc_member_list_free(list);
    }
    test_health(c);

    /* Argument errors: refused before anything is sent. */
    const char *dead_peer[1];
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", (unsigned)dead_port());
    dead_peer[0] = dead;

    out = sentinel;
    CHECK_ST(etcdc_member_add(c, dead_peer, 0, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls: none given"));
    CHECK(out == sentinel);
    CHECK_ST(etcdc_member_add(c, NULL, 1, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls is NULL"));
    CHECK(out == sentinel);
    CHECK_ST(etcdc_member_add(c, NULL, 0, &out), ETCDC_ERR_INVALID_ARGUMENT);
    const char *with_null[] = {dead, NULL};
    CHECK_ST(etcdc_member_add(c, with_null, 2, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls[1] is NULL"));
    const char *not_utf8[] = {"http://127.0.0.1:1\xff"};
    CHECK_ST(etcdc_member_add(c, not_utf8, 1, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls[0] is not valid UTF-8"));
    CHECK_ST(etcdc_member_add(NULL, dead_peer, 1, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(out == sentinel);

    /* Ids that are not hex (they would go into the URL path). */
    const char *bad_ids[] = {"xyz", "", "12 34", "../stats", "abc/def", "0x12", "-1"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        if (!CHECK_ST(etcdc_member_remove(c, bad_ids[i]), ETCDC_ERR_INVALID_ARGUMENT)) {
            printf("     (id \"%s\")\n", bad_ids[i]);
        }
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "not hex"));
        if (!CHECK_ST(etcdc_member_update(c, bad_ids[i], own, 1), ETCDC_ERR_INVALID_ARGUMENT)) {
            printf("     (id \"%s\")\n", bad_ids[i]);
        }
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "not hex"));
    }
    CHECK_ST(etcdc_member_remove(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "id is NULL"));
    CHECK_ST(etcdc_member_remove(NULL, member_id), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK_ST(etcdc_member_remove(c, "12\xff"), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));

    CHECK_ST(etcdc_member_update(c, NULL, own, 1), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "id is NULL"));
    CHECK_ST(etcdc_member_update(c, member_id, own, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls: none given"));
    CHECK_ST(etcdc_member_update(c, member_id, NULL, 1), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls is NULL"));
    CHECK_ST(etcdc_member_update(c, member_id, with_null, 2), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "peer_urls[1]"));
    CHECK_ST(etcdc_member_update(NULL, member_id, own, 1), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));

    /* None of that changed the cluster. */
    if (CHECK_ST(etcdc_members(c, &list), ETCDC_OK)) {
        CHECK_INT(etcdc_member_list_count(list), 1);
        etcdc_member_list_free(list);
    }
}

/* --------------------------------------------------------- NULL arguments */

static void test_null_arguments(const etcdc_client *c) {
    static int sentinel_storage;
    etcdc_member_list *const list_sentinel = (etcdc_member_list *)(void *)&sentinel_storage;
    char sentinel_text[] = "untouched";
    char *const str_sentinel = sentinel_text;
    etcdc_member_list *list = list_sentinel;
    char *s = str_sentinel, *s2 = str_sentinel;

    CHECK_ST(etcdc_members(NULL, &list), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(list == list_sentinel);
    CHECK_ST(etcdc_members(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out is NULL"));

    CHECK_ST(etcdc_leader(NULL, &list), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(list == list_sentinel);
    CHECK_ST(etcdc_leader(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out is NULL"));

    static int strings_sentinel_storage;
    etcdc_strings *const strings_sentinel = (etcdc_strings *)(void *)&strings_sentinel_storage;
    etcdc_strings *strings = strings_sentinel;
    CHECK_ST(etcdc_machines(NULL, &strings), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(strings == strings_sentinel);
    CHECK_ST(etcdc_machines(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out is NULL"));

    CHECK_ST(etcdc_stats(NULL, ETCDC_STATS_SELF, &s), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(s == str_sentinel);
    CHECK_ST(etcdc_stats(c, ETCDC_STATS_STORE, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "json is NULL"));

    CHECK_ST(etcdc_server_version(NULL, &s, &s2), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(s == str_sentinel && s2 == str_sentinel);

    bool healthy = true;
    CHECK_ST(etcdc_health(NULL, &healthy), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client is NULL"));
    CHECK(healthy);
    CHECK_ST(etcdc_health(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "healthy is NULL"));

    /* An error's detail: message, empty cause, no etcd code. */
    CHECK_ST(etcdc_members(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    const etcdc_error *e = etcdc_error_last();
    CHECK(e != NULL && e->status == ETCDC_ERR_INVALID_ARGUMENT && e->etcd_code == 0 &&
          e->cause != NULL && e->cause[0] == '\0' && e->index == 0);
    /* Refused before anything was sent: the server said nothing. */
    CHECK(e != NULL && e->server_message != NULL && e->server_message[0] == '\0' &&
          e->http_status == 0);
}

/* ------------------------------------------------------- client options */

static void test_discover(const char *endpoint, const char *dead) {
    /* discover with the live endpoint: it learns the members at once. */
    etcdc_client *c = client_for(&endpoint, 1, true, NULL, 10000);
    if (c != NULL) {
        etcdc_member_list *list = NULL;
        CHECK_ST(etcdc_members(c, &list), ETCDC_OK);
        CHECK_INT(etcdc_member_list_count(list), 1);
        etcdc_member_list_free(list);
        CHECK_ST(etcdc_write(c, K("discover"), "1", NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }

    /* discover with [dead, live]: the dead one is passed over. */
    const char *dead_first[] = {dead, endpoint};
    c = client_for(dead_first, 2, true, NULL, 10000);
    if (c != NULL) {
        etcdc_response *r = NULL;
        CHECK_ST(etcdc_read(c, K("discover"), NULL, &r), ETCDC_OK);
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "1");
        etcdc_response_free(r);
        CHECK_ST(etcdc_write(c, K("discover"), "2", NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }

    /* discover with only a dead endpoint: nobody answers, no client. */
    static int sentinel_storage;
    etcdc_client *const sentinel = (etcdc_client *)(void *)&sentinel_storage;
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    const char *dead_only[] = {dead};
    o.endpoints = dead_only;
    o.endpoint_count = 1;
    o.discover = true;
    o.connect_timeout_ms = 2000;
    c = sentinel;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_CONNECTION);
    CHECK(c == sentinel);
    CHECK(last_error_is(ETCDC_ERR_CONNECTION, dead));
    /* Two dead ones: the error of the last one asked. */
    char dead2[64];
    snprintf(dead2, sizeof dead2, "http://127.0.0.1:%u", (unsigned)dead_port());
    const char *two_dead[] = {dead, dead2};
    o.endpoints = two_dead;
    o.endpoint_count = 2;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_CONNECTION);
    CHECK(c == sentinel);
    CHECK(last_error_is(ETCDC_ERR_CONNECTION, dead2));
    /* Without discover nothing is sent: that client is built. */
    o.discover = false;
    c = NULL;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK);
    etcdc_client_free(c);
}

static void test_failover(const char *endpoint, const char *dead) {
    /* [dead, live]: the dead member refuses the connection, so every
     * request, writes too, goes on to the live one. */
    const char *list[] = {dead, endpoint};
    etcdc_client *c = client_for(list, 2, false, NULL, 10000);
    if (c == NULL) {
        return;
    }
    CHECK_ST(etcdc_write(c, K("failover"), "w1", NULL, NULL), ETCDC_OK);
    etcdc_response *r = NULL;
    CHECK_ST(etcdc_read(c, K("failover"), NULL, &r), ETCDC_OK);
    CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "w1");
    etcdc_response_free(r);
    CHECK_ST(etcdc_write(c, K("failover"), "w2", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_delete(c, K("failover"), NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, K("failover"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    /* The cluster calls fail over too. */
    etcdc_member_list *members = NULL;
    CHECK_ST(etcdc_members(c, &members), ETCDC_OK);
    CHECK_INT(etcdc_member_list_count(members), 1);
    etcdc_member_list_free(members);
    bool healthy = false;
    CHECK_ST(etcdc_health(c, &healthy), ETCDC_OK);
    CHECK(healthy);
    etcdc_client_free(c);

    /* A fresh client, whose first request is a write: it fails over too
     * (the dead member never saw it). */
    c = client_for(list, 2, false, NULL, 10000);
    if (c != NULL) {
        CHECK_ST(etcdc_write(c, K("failover2"), "w", NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }
}

static void test_expected_cluster_id(const char *endpoint, const etcdc_client *live) {
    etcdc_response *r = NULL;
    if (!CHECK_ST(etcdc_write(live, K("cid"), "v0", NULL, &r), ETCDC_OK)) {
        return;
    }
    const char *id = etcdc_response_cluster_id(r);
    CHECK(is_hex(id));
    copy(cluster_id, sizeof cluster_id, id);
    etcdc_response_free(r);

    /* The right id works, for reads, writes and cluster calls. */
    etcdc_client *c = client_for(&endpoint, 1, false, cluster_id, 10000);
    if (c != NULL) {
        CHECK_ST(etcdc_write(c, K("cid"), "v1", NULL, NULL), ETCDC_OK);
        r = NULL;
        CHECK_ST(etcdc_read(c, K("cid"), NULL, &r), ETCDC_OK);
        CHECK_STR(etcdc_response_cluster_id(r), cluster_id);
        etcdc_response_free(r);
        etcdc_member_list *list = NULL;
        CHECK_ST(etcdc_members(c, &list), ETCDC_OK);
        etcdc_member_list_free(list);
        etcdc_client_free(c);
    }
    /* In upper case too (hex compares without case). */
    char upper[64];
    copy(upper, sizeof upper, cluster_id);
    for (char *p = upper; *p; p++) {
        *p = (char)toupper((unsigned char)*p);
    }
    c = client_for(&endpoint, 1, false, upper, 10000);
    if (c != NULL) {
        CHECK_ST(etcdc_read(c, K("cid"), NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }
    /* With discover as well. */
    c = client_for(&endpoint, 1, true, cluster_id, 10000);
    if (c != NULL) {
        CHECK_ST(etcdc_read(c, K("cid"), NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }

    /* Another id (still hex): every answer is refused. */
    char other[64];
    copy(other, sizeof other, cluster_id);
    other[0] = other[0] == '1' ? '2' : '1';
    c = client_for(&endpoint, 1, false, other, 10000);
    if (c != NULL) {
        r = NULL;
        CHECK_ST(etcdc_read(c, K("cid"), NULL, &r), ETCDC_ERR_CLUSTER_ID_MISMATCH);
        CHECK(r == NULL);
        CHECK(last_error_is(ETCDC_ERR_CLUSTER_ID_MISMATCH, cluster_id));
        CHECK(last_error_is(ETCDC_ERR_CLUSTER_ID_MISMATCH, other));
        CHECK(last_error_is(ETCDC_ERR_CLUSTER_ID_MISMATCH, endpoint));
        /* An etcd error answer (key not found) is refused the same way. */
        CHECK_ST(etcdc_read(c, K("cid-none"), NULL, NULL), ETCDC_ERR_CLUSTER_ID_MISMATCH);
        etcdc_member_list *list = NULL;
        CHECK_ST(etcdc_members(c, &list), ETCDC_ERR_CLUSTER_ID_MISMATCH);
        CHECK(list == NULL);
        CHECK_ST(etcdc_leader(c, &list), ETCDC_ERR_CLUSTER_ID_MISMATCH);
        CHECK(list == NULL);
        /* etcd 3.4 sends X-Etcd-Cluster-Id only with /v2/keys and
         * /v2/members: /version, /health, /v2/machines and /v2/stats/ carry
         * none, so nothing can be checked there and they are answered. */
        bool healthy = false;
        CHECK_ST(etcdc_health(c, &healthy), ETCDC_OK);
        etcdc_strings *machines = NULL;
        CHECK_ST(etcdc_machines(c, &machines), ETCDC_OK);
        etcdc_strings_free(machines);
        /* A write is refused before it is sent: the member must prove its
         * id first, so a member of another cluster never receives a write. */
        CHECK_ST(etcdc_write(c, K("cid"), "v2", NULL, NULL), ETCDC_ERR_CLUSTER_ID_MISMATCH);
        etcdc_client_free(c);
        r = NULL;
        CHECK_ST(etcdc_read(live, K("cid"), NULL, &r), ETCDC_OK);
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "v1");
        etcdc_response_free(r);
    }

    /* With discover, a wrong id stops the client being built: discovery
     * reads /v2/members, which carries the id. */
    c = NULL;
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.discover = true;
    o.expected_cluster_id = other;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_CLUSTER_ID_MISMATCH);
    CHECK(c == NULL);

    /* Ids that are not hex: refused by etcdc_client_new. */
    static int sentinel_storage;
    etcdc_client *const sentinel = (etcdc_client *)(void *)&sentinel_storage;
    const char *bad[] = {"not-hex", "", "12 34", "0x1f", "g"};
    o.discover = false;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.expected_cluster_id = bad[i];
        c = sentinel;
        if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT)) {
            printf("     (expected_cluster_id \"%s\")\n", bad[i]);
            if (c != sentinel) {
                etcdc_client_free(c);
            }
            continue;
        }
        CHECK(c == sentinel);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "not hex"));
    }
    o.expected_cluster_id = "12\xff";
    c = sentinel;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "expected_cluster_id"));
    CHECK(c == sentinel);
}

/* A server that accepts and never answers: a write that was sent has an
 * unknown outcome (AMBIGUOUS), a read times out (TIMEOUT). */
static void test_silent_server(const etcdc_client *live) {
    struct silent s;
    if (!CHECK(silent_start(&s))) {
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)s.port);
    const char *only[] = {url};
    /* Generous bounds: valgrind slows everything down. */
    double limit = under_valgrind() ? 5.0 : 2.0;

    etcdc_client *c = client_for(only, 1, false, NULL, 500);
    if (c != NULL) {
        double t = now_s();
        CHECK_ST(etcdc_write(c, K("silent"), "maybe", NULL, NULL), ETCDC_ERR_AMBIGUOUS);
        double took = now_s() - t;
        CHECK(took >= 0.45 && took < limit);
        CHECK(last_error_is(ETCDC_ERR_AMBIGUOUS, url));
        CHECK(last_error_is(ETCDC_ERR_AMBIGUOUS, "may have been applied"));
        /* The write did reach the server: that is why it is ambiguous. */
        CHECK(silent_got(&s, "PUT /v2/keys/c-cluster-"));

        t = now_s();
        CHECK_ST(etcdc_read(c, K("silent"), NULL, NULL), ETCDC_ERR_TIMEOUT);
        took = now_s() - t;
        CHECK(took >= 0.45 && took < limit);
        CHECK(last_error_is(ETCDC_ERR_TIMEOUT, url));
        CHECK(silent_got(&s, "GET /v2/keys/c-cluster-"));

        /* The same for the cluster calls: a GET times out, a DELETE of a
         * member is a write whose outcome is unknown. */
        etcdc_member_list *list = NULL;
        CHECK_ST(etcdc_members(c, &list), ETCDC_ERR_TIMEOUT);
        CHECK(list == NULL);
        CHECK_ST(etcdc_member_remove(c, "1234abcd"), ETCDC_ERR_AMBIGUOUS);
        CHECK(silent_got(&s, "DELETE /v2/members/1234abcd"));
        bool healthy = true;
        CHECK_ST(etcdc_health(c, &healthy), ETCDC_ERR_TIMEOUT);
        CHECK(healthy);
        etcdc_client_free(c);
    }

    /* discover against it: no answer in time, no client. */
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = only;
    o.endpoint_count = 1;
    o.discover = true;
    o.read_timeout_ms = 500;
    c = NULL;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_TIMEOUT);
    CHECK(c == NULL);
    CHECK(silent_got(&s, "GET /v2/members"));

    silent_stop(&s);
    int accepted = s.accepted;
    CHECK(accepted >= 5);

    /* The ambiguous write was never applied (it went to the silent server
     * only): reading the key, as AMBIGUOUS advises, tells. */
    CHECK_ST(etcdc_read(live, K("silent"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
}

/* ---------------------------------------------------------------- main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-cluster-%ld", (long)getpid());
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", (unsigned)dead_port());
    double start = now_s();

    etcdc_client *c = client_for(&endpoint, 1, false, NULL, 10000);
    if (c == NULL) {
        return check_report();
    }

    double t = now_s();
#define TIMED(call)                                                                 \
    do {                                                                            \
        call;                                                                       \
        if (getenv("TEST_CLUSTER_TIMES") != NULL) {                                 \
            printf("  %-40s %.2f s\n", #call, now_s() - t);                         \
        }                                                                           \
        t = now_s();                                                                \
    } while (0)
    TIMED(test_list_accessors_with_null());
    TIMED(test_members(c, endpoint));
    TIMED(test_leader(c, endpoint));
    TIMED(test_machines(c, endpoint));
    TIMED(test_stats(c));
    TIMED(test_server_version(c));
    TIMED(test_health(c));
    TIMED(test_member_changes(c));
    TIMED(test_null_arguments(c));
    TIMED(test_discover(endpoint, dead));
    TIMED(test_failover(endpoint, dead));
    TIMED(test_expected_cluster_id(endpoint, c));
    TIMED(test_silent_server(c));

    /* Clean up: this run's keys. */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    CHECK_ST(etcdc_delete(c, prefix, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, prefix, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    etcdc_client_free(c);
    printf("(%.1f s)\n", now_s() - start);
    return check_report();
}
