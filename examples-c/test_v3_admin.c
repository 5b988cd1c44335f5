/*
 * etcdc C tests of the v3 administration API (auth, cluster, maintenance)
 * against a real etcd: every function of the header's "v3 Auth", "v3
 * Cluster" and "v3 Maintenance" sections, with their results, etcd's
 * refusals (ETCDC_ERR_GRPC_*) and the client's own (ETCDC_ERR_INVALID_ARGUMENT
 * naming the argument).
 *
 *   test_v3_admin              (endpoint: $ETCDC_ENDPOINT, a single-member
 *                               etcd 3.4 or 3.5 with auth off)
 *
 * What it changes, and puts back: users and roles named *-<pid>; a learner
 * member (a peer URL nobody listens on) added, updated and removed again;
 * the member's database defragmented; snapshots written into a temporary
 * directory, removed at the end. v3 auth is turned on and off again (last,
 * and off again whatever failed before: the programs of `make run` run one
 * after the other, and the next ones need auth off); the users "root" and
 * the test's are deleted after. Keys live under /c-v3-admin/<pid>/, removed
 * at the end. Each CHECK records a failure with file:line and goes on; the
 * last line printed is "N passed, M failed", and the exit status is
 * non-zero if M > 0. Built with -std=c99 -Wall -Wextra -Werror -pedantic
 * and run under valgrind and ASan/UBSan: everything is freed.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------- helpers */

static const char *endpoint;
static char prefix[64];
static long pid;

static const char *name_of(const char *what) {
    return ring_printf("c-v3-admin-%s-%ld", what, pid);
}

/* A client of the test's etcd, as `user` (NULL: without credentials). */
static etcdc_client *client_as(const char *user, const char *password) {
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    etcdc_client *c = NULL;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 30000;
    o.username = user;
    o.password = password;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK);
    return c;
}

/* The last error: INVALID_ARGUMENT from the client (no server words), its
 * message naming `what`. */
static int refused(const char *what) {
    return last_error_is(ETCDC_ERR_INVALID_ARGUMENT, what) &&
           last_error_said(ETCDC_ERR_INVALID_ARGUMENT, "");
}

/* Whether the list holds `s`. */
static int has(const etcdc_strings *l, const char *s) {
    for (size_t i = 0; i < etcdc_strings_count(l); i++) {
        if (strcmp(etcdc_strings_get(l, i), s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Puts a key under the prefix (a write between membership changes, as the
 * header advises); the revision it made. */
static int64_t put(const etcdc_client *c, const char *rel) {
    const char *k = ring_printf("%s%s", prefix, rel);
    etcdc_v3_put_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_put(c, k, strlen(k), "v", 1, NULL, &r), ETCDC_OK)) {
        return 0;
    }
    int64_t rev = etcdc_v3_put_response_header(r)->revision;
    etcdc_v3_put_response_free(r);
    return rev;
}

/* n bytes at p are `want` (want_n bytes), followed by a NUL. */
static int bytes_are(const uint8_t *p, size_t n, const void *want, size_t want_n) {
    return p != NULL && n == want_n && memcmp(p, want, n) == 0 && p[n] == 0;
}

/* Whether etcd is 3.4 (no AuthStatus). */
static int is_etcd_34(const etcdc_client *c) {
    etcdc_v3_status_response *s = NULL;
    int old = 0;
    if (CHECK_ST(etcdc_v3_status(c, NULL, &s), ETCDC_OK)) {
        old = strncmp(etcdc_v3_status_response_version(s), "3.4.", 4) == 0;
    }
    etcdc_v3_status_response_free(s);
    return old;
}

/* ------------------------------------------------------ users and roles */

static void test_users_and_roles(const etcdc_client *c) {
    const char *user = name_of("user");
    const char *certuser = name_of("certuser");
    const char *role = name_of("role");
    const char *nobody = name_of("nobody");
    etcdc_strings *l = NULL;

    CHECK_ST(etcdc_v3_user_add(c, user, "pw"), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_add(c, user, "pw"), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: user name already exists"));
    CHECK_ST(etcdc_v3_user_add(c, certuser, NULL), ETCDC_OK); /* no password */
    CHECK_ST(etcdc_v3_user_add(c, "", "pw"), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_user_add(c, NULL, "pw"), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("name is NULL"));
    CHECK_ST(etcdc_v3_user_add(NULL, user, "pw"), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));

    CHECK_ST(etcdc_v3_users(c, &l), ETCDC_OK);
    CHECK(has(l, user) && has(l, certuser));
    etcdc_strings_free(l);
    l = NULL;
    CHECK_ST(etcdc_v3_users(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("names is NULL"));

    CHECK_ST(etcdc_v3_user_get(c, user, &l), ETCDC_OK);
    CHECK_INT(etcdc_strings_count(l), 0);
    etcdc_strings_free(l);
    l = NULL;
    CHECK_ST(etcdc_v3_user_get(c, nobody, &l), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION, "etcdserver: user name not found"));
    CHECK(l == NULL); /* untouched on failure */

    /* Roles and their permissions: keys are bytes. */
    CHECK_ST(etcdc_v3_role_add(c, role), ETCDC_OK);
    CHECK_ST(etcdc_v3_role_add(c, role), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: role name already exists"));
    CHECK_ST(etcdc_v3_roles(c, &l), ETCDC_OK);
    CHECK(has(l, role));
    etcdc_strings_free(l);
    l = NULL;

    etcdc_v3_permission_list *p = (etcdc_v3_permission_list *)&p;
    CHECK_ST(etcdc_v3_role_get(c, role, &p), ETCDC_OK);
    CHECK_INT(etcdc_v3_permission_list_count(p), 0);
    etcdc_v3_permission_list_free(p);

    CHECK_ST(etcdc_v3_role_grant_permission(c, role, ETCDC_V3_PERM_READ, "k\0x", 3, NULL, 0),
             ETCDC_OK);
    CHECK_ST(etcdc_v3_role_grant_permission(c, role, ETCDC_V3_PERM_READWRITE, "app/", 4, "app0", 4),
             ETCDC_OK);
    CHECK_ST(etcdc_v3_role_grant_permission(c, role, ETCDC_V3_PERM_WRITE, "m", 1, "\0", 1),
             ETCDC_OK);
    CHECK_ST(etcdc_v3_role_grant_permission(c, role, ETCDC_V3_PERM_NONE, "a", 1, NULL, 0),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("kind"));
    CHECK_ST(etcdc_v3_role_grant_permission(c, role, 7, "a", 1, NULL, 0),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("kind is 7"));
    CHECK_ST(etcdc_v3_role_grant_permission(c, role, ETCDC_V3_PERM_READ, NULL, 2, NULL, 0),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key is NULL"));
    CHECK_ST(etcdc_v3_role_grant_permission(c, nobody, ETCDC_V3_PERM_READ, "a", 1, NULL, 0),
             ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION, "etcdserver: role name not found"));

    /* By key: "app/", "k\0x", "m". */
    p = NULL;
    CHECK_ST(etcdc_v3_role_get(c, role, &p), ETCDC_OK);
    if (CHECK_INT(etcdc_v3_permission_list_count(p), 3)) {
        CHECK_INT(etcdc_v3_permission_list_kind(p, 0), ETCDC_V3_PERM_READWRITE);
        CHECK(bytes_are(etcdc_v3_permission_list_key(p, 0), etcdc_v3_permission_list_key_len(p, 0),
                        "app/", 4));
        CHECK(bytes_are(etcdc_v3_permission_list_range_end(p, 0),
                        etcdc_v3_permission_list_range_end_len(p, 0), "app0", 4));
        CHECK_INT(etcdc_v3_permission_list_kind(p, 1), ETCDC_V3_PERM_READ);
        CHECK(bytes_are(etcdc_v3_permission_list_key(p, 1), etcdc_v3_permission_list_key_len(p, 1),
                        "k\0x", 3));
        CHECK(bytes_are(etcdc_v3_permission_list_range_end(p, 1),
                        etcdc_v3_permission_list_range_end_len(p, 1), "", 0));
        CHECK_INT(etcdc_v3_permission_list_kind(p, 2), ETCDC_V3_PERM_WRITE);
        CHECK(bytes_are(etcdc_v3_permission_list_range_end(p, 2),
                        etcdc_v3_permission_list_range_end_len(p, 2), "\0", 1));
    }
    CHECK_INT(etcdc_v3_permission_list_kind(p, 3), ETCDC_V3_PERM_NONE);
    CHECK(etcdc_v3_permission_list_key(p, 3) == NULL);
    CHECK(etcdc_v3_permission_list_range_end(p, SIZE_MAX) == NULL);
    CHECK_INT(etcdc_v3_permission_list_key_len(p, 3), 0);
    CHECK_INT(etcdc_v3_permission_list_range_end_len(p, 3), 0);
    etcdc_v3_permission_list_free(p);
    p = NULL;
    CHECK_ST(etcdc_v3_role_get(c, nobody, &p), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(p == NULL);

    /* Revoke exactly what was granted. */
    CHECK_ST(etcdc_v3_role_revoke_permission(c, role, "k\0x", 3, NULL, 0), ETCDC_OK);
    CHECK_ST(etcdc_v3_role_revoke_permission(c, role, "k\0x", 3, NULL, 0),
             ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: permission is not granted to the role"));
    CHECK_ST(etcdc_v3_role_revoke_permission(c, role, "app/", 4, NULL, 4),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("range_end is NULL"));
    CHECK_ST(etcdc_v3_role_get(c, role, &p), ETCDC_OK);
    CHECK_INT(etcdc_v3_permission_list_count(p), 2);
    etcdc_v3_permission_list_free(p);

    /* A user's roles. */
    CHECK_ST(etcdc_v3_user_grant_role(c, user, role), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_grant_role(c, user, nobody), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION, "etcdserver: role name not found"));
    CHECK_ST(etcdc_v3_user_grant_role(c, nobody, role), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION, "etcdserver: user name not found"));
    CHECK_ST(etcdc_v3_user_get(c, user, &l), ETCDC_OK);
    CHECK(etcdc_strings_count(l) == 1 && strcmp(etcdc_strings_get(l, 0), role) == 0);
    etcdc_strings_free(l);
    l = NULL;
    CHECK_ST(etcdc_v3_user_revoke_role(c, user, role), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_revoke_role(c, user, role), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: role is not granted to the user"));
    CHECK_ST(etcdc_v3_user_revoke_role(c, user, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("role is NULL"));

    CHECK_ST(etcdc_v3_user_change_password(c, user, "pw2"), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_change_password(c, nobody, "pw2"), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK_ST(etcdc_v3_user_change_password(c, user, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("password is NULL"));
    CHECK_ST(etcdc_v3_user_change_password(c, user, "\xff"), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("UTF-8"));

    /* A role deleted is taken from its users. */
    CHECK_ST(etcdc_v3_user_grant_role(c, user, role), ETCDC_OK);
    CHECK_ST(etcdc_v3_role_delete(c, role), ETCDC_OK);
    CHECK_ST(etcdc_v3_role_delete(c, role), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK_ST(etcdc_v3_user_get(c, user, &l), ETCDC_OK);
    CHECK_INT(etcdc_strings_count(l), 0);
    etcdc_strings_free(l);
    l = NULL;
    CHECK_ST(etcdc_v3_roles(c, &l), ETCDC_OK);
    CHECK(!has(l, role));
    etcdc_strings_free(l);
    l = NULL;

    CHECK_ST(etcdc_v3_user_delete(c, user), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_delete(c, certuser), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_delete(c, user), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION, "etcdserver: user name not found"));
    CHECK_ST(etcdc_v3_users(c, &l), ETCDC_OK);
    CHECK(!has(l, user) && !has(l, certuser));
    etcdc_strings_free(l);
}

/* ----------------------------------------------------------- auth on/off */

/* Auth status, where etcd has it (3.5+): on or off, and a revision. */
static void check_auth_status(const etcdc_client *c, int old, bool want) {
    bool enabled = !want;
    uint64_t revision = 0;
    if (old) {
        CHECK_ST(etcdc_v3_auth_status(c, &enabled, &revision), ETCDC_ERR_GRPC_UNIMPLEMENTED);
        CHECK(enabled == !want && revision == 0); /* untouched */
        return;
    }
    CHECK_ST(etcdc_v3_auth_status(c, &enabled, &revision), ETCDC_OK);
    CHECK(enabled == want);
    CHECK(revision > 0);
    CHECK_ST(etcdc_v3_auth_status(c, &enabled, NULL), ETCDC_OK);
}

static void test_auth(const etcdc_client *c, int old) {
    const char *reader = name_of("reader");
    const char *reading = name_of("reading");
    etcdc_v3_header h;
    etcdc_strings *l = NULL;

    check_auth_status(c, old, false);
    CHECK_ST(etcdc_v3_auth_status(c, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("enabled is NULL"));

    /* While auth is off, a client with credentials (of a user who does
     * not even exist yet) is answered as one without. */
    etcdc_client *early = client_as("root", "rootpw");
    CHECK_ST(etcdc_v3_users(early, &l), ETCDC_OK);
    etcdc_strings_free(l);
    l = NULL;
    etcdc_client_free(early);

    /* No user root yet: etcd refuses, the header is untouched. */
    memset(&h, 0xab, sizeof h);
    CHECK_ST(etcdc_v3_auth_enable(c, &h), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: root user does not exist"));
    CHECK(h.cluster_id == UINT64_C(0xabababababababab));
    CHECK_ST(etcdc_v3_user_add(c, "root", "rootpw"), ETCDC_OK);
    CHECK_ST(etcdc_v3_auth_enable(c, &h), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: root user does not have root role"));
    CHECK_ST(etcdc_v3_user_grant_role(c, "root", "root"), ETCDC_OK);

    /* A user who may read the prefix, nothing else. */
    CHECK_ST(etcdc_v3_role_add(c, reading), ETCDC_OK);
    char end[sizeof prefix];
    snprintf(end, sizeof end, "%s", prefix);
    end[strlen(end) - 1]++; /* the prefix's end: its last byte + 1 */
    CHECK_ST(etcdc_v3_role_grant_permission(c, reading, ETCDC_V3_PERM_READ, prefix, strlen(prefix),
                                            end, strlen(end)),
             ETCDC_OK);
    CHECK_ST(etcdc_v3_user_add(c, reader, "readerpw"), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_grant_role(c, reader, reading), ETCDC_OK);
    put(c, "readable");

    /* On. From here on, auth is turned off again whatever happens. */
    memset(&h, 0xab, sizeof h);
    etcdc_status on = etcdc_v3_auth_enable(c, &h);
    CHECK_ST(on, ETCDC_OK);
    if (on == ETCDC_OK) {
        CHECK(h.cluster_id != UINT64_C(0xabababababababab) && h.cluster_id != 0);
    }
    etcdc_client *root = client_as("root", "rootpw");
    etcdc_client *r = client_as(reader, "readerpw");
    etcdc_client *wrong = client_as(reader, "wrong");

    /* Without credentials: refused. */
    CHECK_ST(etcdc_v3_users(c, &l), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK(last_error_said(ETCDC_ERR_GRPC_INVALID_ARGUMENT, "etcdserver: user name is empty"));
    CHECK(l == NULL);
    CHECK_ST(etcdc_v3_users(wrong, &l), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK(last_error_said(ETCDC_ERR_GRPC_INVALID_ARGUMENT,
                          "etcdserver: authentication failed, invalid user ID or password"));
    /* root: everything. */
    CHECK_ST(etcdc_v3_users(root, &l), ETCDC_OK);
    CHECK(has(l, "root") && has(l, reader));
    etcdc_strings_free(l);
    l = NULL;
    check_auth_status(root, old, true);
    CHECK_ST(etcdc_v3_user_delete(root, "root"), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK(last_error_said(ETCDC_ERR_GRPC_INVALID_ARGUMENT, "etcdserver: invalid auth management"));
    CHECK_ST(etcdc_v3_user_revoke_role(root, "root", "root"), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    /* reader: the prefix, read only; no administration. */
    const char *k = ring_printf("%sreadable", prefix);
    etcdc_v3_range_response *got = NULL;
    CHECK_ST(etcdc_v3_range(r, k, strlen(k), NULL, &got), ETCDC_OK);
    CHECK_INT(etcdc_v3_range_response_kv_count(got), 1);
    etcdc_v3_range_response_free(got);
    CHECK_ST(etcdc_v3_put(r, k, strlen(k), "w", 1, NULL, NULL), ETCDC_ERR_GRPC_PERMISSION_DENIED);
    CHECK(last_error_said(ETCDC_ERR_GRPC_PERMISSION_DENIED, "etcdserver: permission denied"));
    CHECK_ST(etcdc_v3_roles(r, &l), ETCDC_ERR_GRPC_PERMISSION_DENIED);
    CHECK_ST(etcdc_v3_auth_disable(r, NULL), ETCDC_ERR_GRPC_PERMISSION_DENIED);
    CHECK(l == NULL);

    /* Off again: with root's credentials, and whatever failed above. */
    memset(&h, 0xab, sizeof h);
    etcdc_status off = etcdc_v3_auth_disable(root, &h);
    if (off != ETCDC_OK && on == ETCDC_OK) {
        printf("auth_disable failed (%s): auth may be left on for the programs after this one\n",
               etcdc_status_str(off));
    }
    CHECK_ST(off, on == ETCDC_OK ? ETCDC_OK : off);
    CHECK(off != ETCDC_OK || h.member_id != UINT64_C(0xabababababababab));
    /* A client with credentials can no longer authenticate; one without can. */
    /* etcd 3.4.23 and 3.5.1 still answer a client with credentials (its
     * token is ignored while auth is off), and one without. */
    CHECK_ST(etcdc_v3_users(root, &l), ETCDC_OK);
    etcdc_strings_free(l);
    l = NULL;
    CHECK_ST(etcdc_v3_users(c, &l), ETCDC_OK);
    etcdc_strings_free(l);
    check_auth_status(c, old, false);
    /* Disabling it while off is no error. */
    CHECK_ST(etcdc_v3_auth_disable(c, NULL), ETCDC_OK);

    CHECK_ST(etcdc_v3_user_delete(c, reader), ETCDC_OK);
    CHECK_ST(etcdc_v3_user_delete(c, "root"), ETCDC_OK);
    CHECK_ST(etcdc_v3_role_delete(c, reading), ETCDC_OK);
    etcdc_client_free(wrong);
    etcdc_client_free(r);
    etcdc_client_free(root);
}

/* ---------------------------------------------------------------- cluster */

/* The index of member `id` in the list, or SIZE_MAX. */
static size_t find_member(const etcdc_v3_member_list *l, uint64_t id) {
    for (size_t i = 0; i < etcdc_v3_member_list_count(l); i++) {
        if (etcdc_v3_member_list_id(l, i) == id) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* The one member's id. */
static uint64_t test_members(const etcdc_client *c) {
    etcdc_v3_member_list *l = NULL;
    uint64_t id = 0;
    if (!CHECK_ST(etcdc_v3_members(c, &l), ETCDC_OK)) {
        return 0;
    }
    if (CHECK_INT(etcdc_v3_member_list_count(l), 1)) {
        id = etcdc_v3_member_list_id(l, 0);
        CHECK(id != 0);
        CHECK(etcdc_v3_member_list_name(l, 0) != NULL && etcdc_v3_member_list_name(l, 0)[0] != 0);
        CHECK(!etcdc_v3_member_list_is_learner(l, 0));
        CHECK_INT(etcdc_v3_member_list_client_url_count(l, 0), 1);
        CHECK_STR(etcdc_v3_member_list_client_url(l, 0, 0), endpoint);
        CHECK_INT(etcdc_v3_member_list_peer_url_count(l, 0), 1);
        CHECK(strncmp(etcdc_v3_member_list_peer_url(l, 0, 0), "http://", 7) == 0);
        CHECK(etcdc_v3_member_list_peer_url(l, 0, 1) == NULL);
        CHECK(etcdc_v3_member_list_client_url(l, 0, 1) == NULL);
    }
    CHECK(etcdc_v3_member_list_name(l, 1) == NULL);
    CHECK(etcdc_v3_member_list_peer_url(l, SIZE_MAX, 0) == NULL);
    CHECK_U64(etcdc_v3_member_list_id(l, 1), 0);
    CHECK(!etcdc_v3_member_list_is_learner(l, 1));
    CHECK_INT(etcdc_v3_member_list_peer_url_count(l, 1), 0);
    CHECK_INT(etcdc_v3_member_list_client_url_count(l, 1), 0);
    etcdc_v3_member_list_free(l);
    return id;
}

static void test_membership(const etcdc_client *c, uint64_t self) {
    etcdc_v3_member_list *l = NULL;
    const char *urls[2];
    uint64_t id = UINT64_C(7);

    /* A URL a member has: refused, nothing written. */
    CHECK_ST(etcdc_v3_members(c, &l), ETCDC_OK);
    char own[256];
    snprintf(own, sizeof own, "%s", l != NULL ? etcdc_v3_member_list_peer_url(l, 0, 0) : "");
    etcdc_v3_member_list_free(l);
    l = NULL;
    urls[0] = own;
    CHECK_ST(etcdc_v3_member_add(c, urls, 1, true, &id, &l), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: Peer URLs already exists"));
    CHECK(id == 7 && l == NULL);
    CHECK_ST(etcdc_v3_member_add(c, urls, 0, true, &id, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("peer_urls"));
    urls[0] = "http://127.0.0.1:1";
    urls[1] = NULL;
    CHECK_ST(etcdc_v3_member_add(c, urls, 2, true, &id, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("peer_urls[1] is NULL"));

    /* A learner (it does not count for the quorum), on a port nobody
     * listens on: it never starts. */
    char peer[64], peer2[64];
    snprintf(peer, sizeof peer, "http://127.0.0.1:%u", (unsigned)dead_port());
    snprintf(peer2, sizeof peer2, "http://127.0.0.2:%u", (unsigned)dead_port());
    urls[0] = peer;
    put(c, "before-add");
    if (!CHECK_ST(etcdc_v3_member_add(c, urls, 1, true, &id, &l), ETCDC_OK)) {
        return;
    }
    CHECK(id != 7 && id != 0 && id != self);
    CHECK_INT(etcdc_v3_member_list_count(l), 2);
    size_t i = find_member(l, id);
    if (CHECK(i != SIZE_MAX)) {
        CHECK(etcdc_v3_member_list_is_learner(l, i));
        CHECK_STR(etcdc_v3_member_list_name(l, i), ""); /* not started */
        CHECK_INT(etcdc_v3_member_list_client_url_count(l, i), 0);
        CHECK_STR(etcdc_v3_member_list_peer_url(l, i, 0), peer);
    }
    etcdc_v3_member_list_free(l);
    l = NULL;

    /* Not started, so not in sync: etcd will not promote it. */
    put(c, "before-promote");
    CHECK_ST(etcdc_v3_member_promote(c, id, &l), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: can only promote a learner member which is in sync with "
                          "leader"));
    CHECK(l == NULL);

    put(c, "before-update");
    urls[0] = peer2;
    CHECK_ST(etcdc_v3_member_update(c, id, urls, 1, &l), ETCDC_OK);
    i = find_member(l, id);
    CHECK(i != SIZE_MAX && strcmp(etcdc_v3_member_list_peer_url(l, i, 0), peer2) == 0);
    etcdc_v3_member_list_free(l);
    l = NULL;

    put(c, "before-remove");
    CHECK_ST(etcdc_v3_member_remove(c, id, &l), ETCDC_OK);
    CHECK_INT(etcdc_v3_member_list_count(l), 1);
    CHECK_U64(etcdc_v3_member_list_id(l, 0), self);
    etcdc_v3_member_list_free(l);
    l = NULL;
    put(c, "after-remove");

    /* Gone: not found. (Refused changes go through raft too: a write
     * between each.) */
    CHECK_ST(etcdc_v3_member_remove(c, id, NULL), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(last_error_said(ETCDC_ERR_GRPC_NOT_FOUND, "etcdserver: member not found"));
    put(c, "after-remove-again");
    CHECK_ST(etcdc_v3_member_update(c, id, urls, 1, NULL), ETCDC_ERR_GRPC_NOT_FOUND);
    put(c, "after-update-unknown");
    CHECK_ST(etcdc_v3_member_promote(c, id, NULL), ETCDC_ERR_GRPC_NOT_FOUND);
    put(c, "after-promote-unknown");
    CHECK_ST(etcdc_v3_member_update(c, id, urls, 0, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("peer_urls"));
    /* A voting member cannot be promoted. */
    CHECK_ST(etcdc_v3_member_promote(c, self, NULL), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: can only promote a learner member"));
    put(c, "after-promote-voter");
    CHECK_ST(etcdc_v3_member_remove(NULL, id, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK_ST(etcdc_v3_members(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));
    CHECK_INT(etcdc_v3_member_list_count(NULL), 0);
}

/* ------------------------------------------------------------ maintenance */

static void test_status(const etcdc_client *c, uint64_t self) {
    etcdc_v3_status_response *s = NULL;
    if (CHECK_ST(etcdc_v3_status(c, NULL, &s), ETCDC_OK)) {
        const etcdc_v3_header *h = etcdc_v3_status_response_header(s);
        CHECK(h != NULL && h->member_id == self && h->cluster_id != 0 && h->raft_term != 0);
        CHECK_STR(etcdc_v3_status_response_endpoint(s), endpoint);
        CHECK(strncmp(etcdc_v3_status_response_version(s), "3.", 2) == 0);
        CHECK(etcdc_v3_status_response_db_size(s) > 0);
        CHECK(etcdc_v3_status_response_db_size_in_use(s) > 0 &&
              etcdc_v3_status_response_db_size_in_use(s) <= etcdc_v3_status_response_db_size(s));
        CHECK_U64(etcdc_v3_status_response_leader(s), self);
        CHECK(etcdc_v3_status_response_raft_index(s) > 0);
        CHECK(etcdc_v3_status_response_raft_term(s) > 0);
        CHECK(etcdc_v3_status_response_raft_applied_index(s) > 0);
        CHECK(!etcdc_v3_status_response_is_learner(s));
        CHECK_INT(etcdc_v3_status_response_error_count(s), 0);
        CHECK(etcdc_v3_status_response_error(s, 0) == NULL);
    }
    etcdc_v3_status_response_free(s);
    s = NULL;

    /* By client URL: the same member. */
    if (CHECK_ST(etcdc_v3_status(c, endpoint, &s), ETCDC_OK)) {
        CHECK_STR(etcdc_v3_status_response_endpoint(s), endpoint);
        CHECK_U64(etcdc_v3_status_response_header(s)->member_id, self);
    }
    etcdc_v3_status_response_free(s);
    s = NULL;
    CHECK_ST(etcdc_v3_status(c, "ftp://127.0.0.1:1", &s), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client URL"));
    CHECK(s == NULL);
    const char *dead = ring_printf("http://127.0.0.1:%u", (unsigned)dead_port());
    CHECK_ST(etcdc_v3_status(c, dead, &s), ETCDC_ERR_CONNECTION);
    CHECK(s == NULL);
    CHECK_ST(etcdc_v3_status(c, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));

    /* Accessors of NULL. */
    CHECK(etcdc_v3_status_response_header(NULL) == NULL);
    CHECK(etcdc_v3_status_response_version(NULL) == NULL);
    CHECK(etcdc_v3_status_response_endpoint(NULL) == NULL);
    CHECK_INT(etcdc_v3_status_response_db_size(NULL), 0);
    CHECK_U64(etcdc_v3_status_response_leader(NULL), 0);
}

static void test_alarms(const etcdc_client *c, uint64_t self) {
    etcdc_v3_alarm_list *a = NULL;
    CHECK_ST(etcdc_v3_alarms(c, &a), ETCDC_OK);
    CHECK_INT(etcdc_v3_alarm_list_count(a), 0); /* all is well */
    CHECK_INT(etcdc_v3_alarm_list_kind(a, 0), ETCDC_V3_ALARM_NONE);
    CHECK_U64(etcdc_v3_alarm_list_member_id(a, 0), 0);
    etcdc_v3_alarm_list_free(a);
    a = NULL;
    /* Disarming an alarm not raised: no error, nothing disarmed. */
    CHECK_ST(etcdc_v3_alarm_disarm(c, self, ETCDC_V3_ALARM_NOSPACE, &a), ETCDC_OK);
    CHECK(a != NULL && etcdc_v3_alarm_list_count(a) == 0);
    etcdc_v3_alarm_list_free(a);
    CHECK_ST(etcdc_v3_alarm_disarm(c, self, ETCDC_V3_ALARM_CORRUPT, NULL), ETCDC_OK);
    a = NULL;
    CHECK_ST(etcdc_v3_alarm_disarm(c, self, ETCDC_V3_ALARM_NONE, &a), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("kind is 0"));
    CHECK(a == NULL);
    CHECK_ST(etcdc_v3_alarms(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));

    /* Raised by hand: writes refused, reads go on, until disarmed. */
    const char *k = "/test_v3_admin/alarmed";
    CHECK_ST(etcdc_v3_put(c, k, strlen(k), "1", 1, NULL, NULL), ETCDC_OK);
    a = NULL;
    CHECK_ST(etcdc_v3_alarm_activate(c, self, ETCDC_V3_ALARM_NOSPACE, &a), ETCDC_OK);
    CHECK_INT(etcdc_v3_alarm_list_count(a), 1);
    CHECK_INT(etcdc_v3_alarm_list_kind(a, 0), ETCDC_V3_ALARM_NOSPACE);
    CHECK_U64(etcdc_v3_alarm_list_member_id(a, 0), self);
    etcdc_v3_alarm_list_free(a);
    CHECK_ST(etcdc_v3_alarm_activate(c, self, ETCDC_V3_ALARM_NOSPACE, NULL), ETCDC_OK);
    a = NULL;
    CHECK_ST(etcdc_v3_alarms(c, &a), ETCDC_OK);
    CHECK_INT(etcdc_v3_alarm_list_count(a), 1); /* once */
    etcdc_v3_alarm_list_free(a);
    CHECK_ST(etcdc_v3_put(c, k, strlen(k), "2", 1, NULL, NULL), ETCDC_ERR_GRPC_RESOURCE_EXHAUSTED);
    CHECK(strcmp(etcdc_error_last()->server_message,
                 "etcdserver: mvcc: database space exceeded") == 0);
    etcdc_v3_range_response *got = NULL;
    CHECK_ST(etcdc_v3_range(c, k, strlen(k), NULL, &got), ETCDC_OK);
    CHECK_INT(etcdc_v3_range_response_count(got), 1);
    etcdc_v3_range_response_free(got);
    a = NULL;
    CHECK_ST(etcdc_v3_alarm_disarm(c, self, ETCDC_V3_ALARM_NOSPACE, &a), ETCDC_OK);
    CHECK_INT(etcdc_v3_alarm_list_count(a), 1);
    etcdc_v3_alarm_list_free(a);
    CHECK_ST(etcdc_v3_put(c, k, strlen(k), "3", 1, NULL, NULL), ETCDC_OK);
    a = NULL;
    CHECK_ST(etcdc_v3_alarm_activate(c, self, ETCDC_V3_ALARM_NONE, &a), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("kind is 0"));
    CHECK(a == NULL);
    CHECK_ST(etcdc_v3_alarm_activate(NULL, self, ETCDC_V3_ALARM_NOSPACE, NULL),
             ETCDC_ERR_INVALID_ARGUMENT);
}

static void test_defragment_and_hashes(const etcdc_client *c, uint64_t self) {
    CHECK_ST(etcdc_v3_defragment(c, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_defragment(c, endpoint), ETCDC_OK);
    CHECK_ST(etcdc_v3_defragment(c, "http://127.0.0.1:1/path"), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client URL"));
    const char *dead = ring_printf("http://127.0.0.1:%u", (unsigned)dead_port());
    CHECK_ST(etcdc_v3_defragment(c, dead), ETCDC_ERR_CONNECTION);

    uint32_t hash = 0;
    etcdc_v3_header h;
    memset(&h, 0, sizeof h);
    CHECK_ST(etcdc_v3_hash(c, &hash, &h), ETCDC_OK);
    CHECK_U64(h.member_id, self);
    CHECK_ST(etcdc_v3_hash(c, &hash, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_hash(c, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("hash is NULL"));

    /* The same revision hashed twice (once by client URL): the same hash. */
    int64_t rev = put(c, "hashed");
    uint32_t h1 = 1, h2 = 2;
    int64_t compacted = -1;
    memset(&h, 0, sizeof h);
    CHECK_ST(etcdc_v3_hash_kv(c, NULL, rev, &h1, &compacted, &h), ETCDC_OK);
    CHECK(compacted >= -1); /* -1: never compacted */
    CHECK(h.member_id == self && h.revision >= rev);
    CHECK_ST(etcdc_v3_hash_kv(c, endpoint, rev, &h2, NULL, NULL), ETCDC_OK);
    CHECK_U64(h1, h2);
    CHECK_ST(etcdc_v3_hash_kv(c, NULL, 0, &h2, NULL, NULL), ETCDC_OK);
    uint32_t untouched = 5;
    CHECK_ST(etcdc_v3_hash_kv(c, NULL, rev + 1000000, &untouched, NULL, NULL),
             ETCDC_ERR_GRPC_OUT_OF_RANGE);
    CHECK(last_error_said(ETCDC_ERR_GRPC_OUT_OF_RANGE,
                          "etcdserver: mvcc: required revision is a future revision"));
    CHECK(untouched == 5);
}

/* What a snapshot callback saw. */
struct sink {
    uint64_t bytes;
    unsigned calls;
    unsigned stop_after; /* calls; 0: never */
    uint8_t head[64];
};

static int sink(const uint8_t *data, size_t len, void *userdata) {
    struct sink *s = userdata;
    for (size_t i = 0; i < len && s->bytes + i < sizeof s->head; i++) {
        s->head[s->bytes + i] = data[i];
    }
    s->bytes += len;
    s->calls++;
    return s->stop_after != 0 && s->calls >= s->stop_after ? 1 : 0;
}

/* A bbolt file: its first meta page's magic, 0xED0CDAED, after the 16
 * bytes of the page header (little-endian). */
static int is_bbolt(const uint8_t *head) {
    return head[16] == 0xed && head[17] == 0xda && head[18] == 0x0c && head[19] == 0xed;
}

/* The number of entries of directory `dir` (. and .. not counted). */
static int entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void test_snapshots(const etcdc_client *c) {
    struct sink s;
    uint64_t size = 0;
    memset(&s, 0, sizeof s);
    CHECK_ST(etcdc_v3_snapshot(c, sink, &s, 60000, &size), ETCDC_OK);
    CHECK(size > 32 && size == s.bytes && s.calls >= 1);
    CHECK(is_bbolt(s.head));
    /* No limit (negative): the same. */
    memset(&s, 0, sizeof s);
    CHECK_ST(etcdc_v3_snapshot(c, sink, &s, -1, NULL), ETCDC_OK);
    CHECK(s.bytes > 32);

    /* The callback stops it: cancelled, the size untouched. */
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    size = 7;
    CHECK_ST(etcdc_v3_snapshot(c, sink, &s, 60000, &size), ETCDC_ERR_CANCELLED);
    CHECK(s.calls == 1 && size == 7);
    CHECK_ST(etcdc_v3_snapshot(c, NULL, &s, 60000, &size), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("callback is NULL"));

    /* To a file, atomically: nothing else left in its directory. */
    char dir[] = "/tmp/etcdc-test-v3-admin-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL)) {
        return;
    }
    const char *path = ring_printf("%s/snap.db", dir);
    size = 0;
    CHECK_ST(etcdc_v3_snapshot_to_file(c, path, 60000, &size), ETCDC_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == size && size > 32);
    FILE *f = fopen(path, "rb");
    uint8_t head[32];
    CHECK(f != NULL && fread(head, 1, sizeof head, f) == sizeof head && is_bbolt(head));
    if (f != NULL) {
        fclose(f);
    }
    CHECK_INT(entries(dir), 1);
    /* Again over it: replaced. */
    CHECK(truncate(path, 3) == 0);
    CHECK_ST(etcdc_v3_snapshot_to_file(c, path, 60000, NULL), ETCDC_OK);
    CHECK(stat(path, &st) == 0 && st.st_size > 32);
    CHECK_INT(entries(dir), 1);
    /* A directory that does not exist: refused, nothing made. */
    const char *bad = ring_printf("%s/none/snap.db", dir);
    size = 7;
    CHECK_ST(etcdc_v3_snapshot_to_file(c, bad, 60000, &size), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("/none/snap.db.part-"));
    CHECK(size == 7);
    CHECK_INT(entries(dir), 1);
    CHECK_ST(etcdc_v3_snapshot_to_file(c, NULL, 60000, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("path is NULL"));
    CHECK(remove(path) == 0);
    CHECK(rmdir(dir) == 0);
}

static void test_move_leader(const etcdc_client *c, uint64_t self) {
    /* To the leader itself: no error. */
    CHECK_ST(etcdc_v3_move_leader(c, self), ETCDC_OK);
    CHECK_ST(etcdc_v3_move_leader(c, UINT64_C(0x1234abcd)), ETCDC_ERR_GRPC_FAILED_PRECONDITION);
    CHECK(last_error_said(ETCDC_ERR_GRPC_FAILED_PRECONDITION,
                          "etcdserver: bad leader transferee"));
    CHECK_ST(etcdc_v3_move_leader(NULL, self), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
}

int main(void) {
    endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    pid = (long)getpid();
    snprintf(prefix, sizeof prefix, "/c-v3-admin/%ld/", pid);
    double start = now_s();

    etcdc_client *c = client_as(NULL, NULL);
    if (c == NULL) {
        return check_report();
    }
    int old = is_etcd_34(c);

    uint64_t self = test_members(c);
    test_membership(c, self);
    test_status(c, self);
    test_alarms(c, self);
    test_defragment_and_hashes(c, self);
    test_snapshots(c);
    test_move_leader(c, self);
    test_users_and_roles(c);
    test_auth(c, old); /* last: turns auth on, then off again */

    /* Clean up: the prefix. */
    etcdc_v3_delete_options wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    wipe.prefix = true;
    CHECK_ST(etcdc_v3_delete(c, prefix, strlen(prefix), &wipe, NULL), ETCDC_OK);
    etcdc_client_free(c);

    printf("test_v3_admin: %.1f s\n", now_s() - start);
    return check_report();
}
