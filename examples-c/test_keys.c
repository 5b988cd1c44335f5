/*
 * etcdc C tests: every function of include/etcdc.h against a real etcd.
 *
 *   test_keys                  (endpoint: $ETCDC_ENDPOINT, a fresh etcd 3.4 with v2)
 *
 * Every key lives under /c-tests/<pid>, removed at the end. Each CHECK
 * records a failure with file:line and goes on; the last line printed is
 * "N passed, M failed", and the exit status is non-zero if M > 0.
 * Built with -std=c99 -Wall -Wextra -Werror -pedantic and run under valgrind:
 * everything is freed.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---------------------------------------------------------------- checks */

/* ------------------------------------------------------------- helpers */

static char prefix[64];

/* The full key of `rel` under this run's prefix (a ring of buffers, so a
 * few can be live at once). */
static const char *K(const char *rel) {
    return ring_printf("%s/%s", prefix, rel);
}




/* A value's node, read back: its value, or NULL if the read failed. The
 * response goes to *keep (freed by the caller). */
static const char *read_value(const etcdc_client *c, const char *key, etcdc_response **keep) {
    *keep = NULL;
    if (etcdc_read(c, key, NULL, keep) != ETCDC_OK) {
        return NULL;
    }
    return etcdc_node_value(etcdc_response_node(*keep));
}

static int is_all_digits(const char *s, size_t n) {
    if (strlen(s) != n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* -------------------------------------------------------------- client */

static void test_version_and_status_str(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", ETCDC_VERSION_MAJOR, ETCDC_VERSION_MINOR,
             ETCDC_VERSION_PATCH);
    CHECK(etcdc_version() != NULL);
    CHECK_STR(etcdc_version(), want);

    CHECK_STR(etcdc_status_str(ETCDC_OK), "success");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_KEY_NOT_FOUND), "key not found");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_COMPARE_FAILED), "compare failed");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_NODE_EXIST), "key already exists");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_INVALID_ARGUMENT), "invalid argument");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_CONNECTION), "connection failed");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_V2_NOT_ENABLED), "v2 API not enabled on this server");
    CHECK_STR(etcdc_status_str(ETCDC_ERR_PANIC), "internal error (panic)");
    /* Every status has its own text; numbers that are not statuses do not. */
    CHECK(strcmp(etcdc_status_str(ETCDC_ERR_NOT_FILE), etcdc_status_str(ETCDC_ERR_NOT_DIR)) != 0);
    CHECK_STR(etcdc_status_str(12345), "unknown status");
    CHECK_STR(etcdc_status_str(-1), "unknown status");
    CHECK_STR(etcdc_status_str(103), "unknown status");
}

static void test_options_init(void) {
    /* Each _init() takes the version the program was compiled with and says
     * whether it knew it (test_abi.c checks the bytes written, version by
     * version). */
    etcdc_client_options co_macro = ETCDC_CLIENT_OPTIONS_INIT, co_fn;
    memset(&co_fn, 0xab, sizeof co_fn);
    CHECK_ST(etcdc_client_options_init(&co_fn, ETCDC_CLIENT_OPTIONS_VERSION), ETCDC_OK);
    CHECK(co_macro.version == ETCDC_CLIENT_OPTIONS_VERSION);
    CHECK(co_fn.version == ETCDC_CLIENT_OPTIONS_VERSION);
    CHECK(co_fn.host == NULL && co_fn.port == 0 && co_fn.protocol == NULL &&
          co_fn.endpoints == NULL && co_fn.endpoint_count == 0 && co_fn.read_timeout_ms == 0 &&
          co_fn.connect_timeout_ms == 0 && co_fn.version_prefix == NULL && !co_fn.no_redirect &&
          co_fn.max_response_bytes == 0 && !co_fn.discover && co_fn.expected_cluster_id == NULL &&
          co_fn.ca_file == NULL && co_fn.cert_file == NULL && co_fn.key_file == NULL &&
          !co_fn.insecure_skip_verify && co_fn.username == NULL && co_fn.password == NULL);
    CHECK(co_macro.host == NULL && co_macro.port == 0 && co_macro.endpoints == NULL &&
          co_macro.endpoint_count == 0 && !co_macro.no_redirect && co_macro.ca_file == NULL &&
          co_macro.password == NULL);

    etcdc_write_options wo_macro = ETCDC_WRITE_OPTIONS_INIT, wo_fn;
    memset(&wo_fn, 0xab, sizeof wo_fn);
    CHECK_ST(etcdc_write_options_init(&wo_fn, ETCDC_WRITE_OPTIONS_VERSION), ETCDC_OK);
    CHECK(wo_macro.version == ETCDC_WRITE_OPTIONS_VERSION);
    CHECK(wo_fn.version == ETCDC_WRITE_OPTIONS_VERSION && wo_fn.ttl == 0 && !wo_fn.dir &&
          !wo_fn.append && wo_fn.prev_value == NULL && wo_fn.prev_index == 0 &&
          wo_fn.prev_exist == ETCDC_PREV_EXIST_ANY && !wo_fn.refresh);
    CHECK(wo_macro.prev_exist == ETCDC_PREV_EXIST_ANY && wo_macro.prev_value == NULL);

    etcdc_read_options ro_macro = ETCDC_READ_OPTIONS_INIT, ro_fn;
    memset(&ro_fn, 0xab, sizeof ro_fn);
    CHECK_ST(etcdc_read_options_init(&ro_fn, ETCDC_READ_OPTIONS_VERSION), ETCDC_OK);
    CHECK(ro_macro.version == ETCDC_READ_OPTIONS_VERSION);
    CHECK(ro_fn.version == ETCDC_READ_OPTIONS_VERSION && !ro_fn.recursive && !ro_fn.sorted &&
          !ro_fn.quorum);

    etcdc_delete_options do_macro = ETCDC_DELETE_OPTIONS_INIT, do_fn;
    memset(&do_fn, 0xab, sizeof do_fn);
    CHECK_ST(etcdc_delete_options_init(&do_fn, ETCDC_DELETE_OPTIONS_VERSION), ETCDC_OK);
    CHECK(do_macro.version == ETCDC_DELETE_OPTIONS_VERSION);
    CHECK(do_fn.version == ETCDC_DELETE_OPTIONS_VERSION && !do_fn.recursive && !do_fn.dir &&
          do_fn.prev_value == NULL && do_fn.prev_index == 0);

    /* NULL is refused, not a crash; the message names the argument, and no
     * server answer is involved. */
    CHECK_ST(etcdc_client_options_init(NULL, ETCDC_CLIENT_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "opts"));
    CHECK_STR(etcdc_error_last()->server_message, "");
    CHECK_ST(etcdc_write_options_init(NULL, ETCDC_WRITE_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_read_options_init(NULL, ETCDC_READ_OPTIONS_VERSION), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_delete_options_init(NULL, ETCDC_DELETE_OPTIONS_VERSION),
             ETCDC_ERR_INVALID_ARGUMENT);

    /* A version this library does not know: refused, nothing written. */
    memset(&wo_fn, 0xab, sizeof wo_fn);
    CHECK_ST(etcdc_write_options_init(&wo_fn, ETCDC_WRITE_OPTIONS_VERSION + 1),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_write_options"));
    CHECK(wo_fn.version == 0xabababab);
    CHECK_ST(etcdc_client_options_init(&co_fn, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_client_options"));
}

static void test_client_construction(const char *endpoint) {
    static int sentinel_storage;
    etcdc_client *const sentinel = (etcdc_client *)(void *)&sentinel_storage;
    etcdc_client *c = NULL;

    /* NULL options: the defaults; nothing is sent, so no server needed. */
    CHECK_ST(etcdc_client_new(NULL, &c), ETCDC_OK);
    CHECK(c != NULL);
    etcdc_client_free(c);
    etcdc_client_free(NULL);

    /* NULL out. */
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    CHECK_ST(etcdc_client_new(&o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out"));

    /* Options of an unknown version, either side. */
    o.version = 0;
    c = sentinel;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(c == sentinel); /* untouched on failure */
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "version"));
    o.version = 99;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(c == sentinel);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "99"));

    /* Bad endpoint URLs. */
    const char *bad[] = {"ftp://127.0.0.1:2379", "127.0.0.1:2379", "http://", "http://a/b",
                         "http://a b:1", "not a url", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
        o.endpoints = &bad[i];
        o.endpoint_count = 1;
        c = sentinel;
        if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT)) {
            printf("     (endpoint \"%s\")\n", bad[i]);
            if (c != sentinel) {
                etcdc_client_free(c);
            }
            continue;
        }
        CHECK(c == sentinel);
        const etcdc_error *e = etcdc_error_last();
        CHECK(e != NULL && e->status == ETCDC_ERR_INVALID_ARGUMENT && e->etcd_code == 0 &&
              e->index == 0 && e->message != NULL && strlen(e->message) > 0 && e->cause != NULL &&
              e->cause[0] == '\0');
        /* Refused before anything was sent: no server words. */
        CHECK(e != NULL && e->server_message != NULL && e->server_message[0] == '\0' &&
              e->http_status == 0);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "endpoint"));
    }

    /* endpoint_count without endpoints. */
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.endpoint_count = 2;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "endpoints"));

    /* A NULL entry in the endpoint list, and invalid UTF-8 in one. */
    const char *with_null[] = {endpoint, NULL};
    o.endpoints = with_null;
    o.endpoint_count = 2;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "endpoints[1]"));
    const char *not_utf8[] = {"http://\xff\xfe:2379"};
    o.endpoints = not_utf8;
    o.endpoint_count = 1;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));

    /* Invalid UTF-8 host; a bad version prefix. */
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.host = "\xff\xfe";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "host"));
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.version_prefix = "v2?x";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(c == sentinel);

    /* TLS and credential options that cannot work are refused up front,
     * the message naming what is wrong. */
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.ca_file = "/nonexistent/ca.pem";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "/nonexistent/ca.pem"));
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.ca_file = "/etc/hostname"; /* a readable file that holds no certificate */
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "/etc/hostname"));
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.cert_file = "/nonexistent/client.pem";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key_file"));
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.password = "s3cret-pw";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "username"));
    CHECK(strstr(etcdc_error_last()->message, "s3cret-pw") == NULL);
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.username = "a:b";
    o.password = "s3cret-pw";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "':'"));
    CHECK(strstr(etcdc_error_last()->message, "s3cret-pw") == NULL);
    CHECK(c == sentinel);
    /* A program built against the version-1 header passes a shorter struct
     * (it ends where ca_file begins): accepted, and only its bytes are read
     * (valgrind and ASan would flag a read past the end of this block). */
    {
        size_t v1_size = offsetof(etcdc_client_options, ca_file);
        etcdc_client_options full = ETCDC_CLIENT_OPTIONS_INIT;
        full.version = 1;
        full.endpoints = &endpoint;
        full.endpoint_count = 1;
        void *v1 = malloc(v1_size);
        CHECK(v1 != NULL);
        if (v1 != NULL) {
            memcpy(v1, &full, v1_size);
            c = NULL;
            CHECK_ST(etcdc_client_new((const etcdc_client_options *)v1, &c), ETCDC_OK);
            CHECK_ST(etcdc_read(c, "/", NULL, NULL), ETCDC_OK);
            etcdc_client_free(c);
            c = sentinel;
            free(v1);
        }
    }
    /* https endpoints are accepted (nothing is sent yet). */
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.protocol = "https";
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK);
    etcdc_client_free(c);
}

/* Clients built the other ways (host/port, endpoint list, timeouts) talk to
 * the real server. */
static void test_client_variants(const char *endpoint, const etcdc_client *main_client) {
    char host[256] = "";
    unsigned short port = 0;
    int parsed = sscanf(endpoint, "http://%255[^:]:%hu", host, &port) == 2;
    CHECK(parsed);

    CHECK_ST(etcdc_write(main_client, K("variants/k"), "v", NULL, NULL), ETCDC_OK);

    /* host + port + protocol + timeouts, from the _init function. */
    etcdc_client_options o;
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.host = host;
    o.port = port;
    o.protocol = "http";
    o.read_timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.version_prefix = "/v2";
    o.max_response_bytes = 1 << 20;
    etcdc_client *c = NULL;
    if (parsed && CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        etcdc_response *r = NULL;
        CHECK_STR(read_value(c, K("variants/k"), &r), "v");
        etcdc_response_free(r);
        etcdc_client_free(c);
    }

    /* An endpoint list (trailing slash allowed): requests go to the first. */
    char with_slash[300];
    snprintf(with_slash, sizeof with_slash, "%s/", endpoint);
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", (unsigned)dead_port());
    const char *list[] = {with_slash, dead};
    etcdc_client_options l = ETCDC_CLIENT_OPTIONS_INIT;
    l.endpoints = list;
    l.endpoint_count = 2;
    l.read_timeout_ms = 5000;
    l.connect_timeout_ms = 1000;
    c = NULL;
    if (CHECK_ST(etcdc_client_new(&l, &c), ETCDC_OK)) {
        etcdc_response *r = NULL;
        CHECK_STR(read_value(c, K("variants/k"), &r), "v");
        etcdc_response_free(r);
        etcdc_client_free(c);
    }

    /* A port with no listener: a connection error, not a hang. Building the
     * client sends nothing, so that succeeds. */
    const char *dead_only[] = {dead};
    l.endpoints = dead_only;
    l.endpoint_count = 1;
    c = NULL;
    if (CHECK_ST(etcdc_client_new(&l, &c), ETCDC_OK)) {
        etcdc_response *r = NULL;
        CHECK_ST(etcdc_read(c, K("variants/k"), NULL, &r), ETCDC_ERR_CONNECTION);
        CHECK(r == NULL);
        const etcdc_error *e = etcdc_error_last();
        CHECK(e != NULL && e->status == ETCDC_ERR_CONNECTION && e->etcd_code == 0 &&
              e->message != NULL && strstr(e->message, dead) != NULL);
        CHECK(e != NULL && strcmp(e->server_message, "") == 0); /* nobody answered */
        CHECK_ST(etcdc_write(c, K("variants/k"), "x", NULL, NULL), ETCDC_ERR_CONNECTION);
        etcdc_client_free(c);
    }

    /* Same through host/port. */
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.host = "127.0.0.1";
    o.port = (uint16_t)dead_port();
    o.connect_timeout_ms = 1000;
    c = NULL;
    if (CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        CHECK_ST(etcdc_delete(c, K("variants/k"), NULL, NULL), ETCDC_ERR_CONNECTION);
        etcdc_client_free(c);
    }

    /* A wrong version prefix: etcd answers a bare 404, which is not
     * "key not found". */
    etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION);
    o.host = host;
    o.port = port;
    o.version_prefix = "/v9";
    c = NULL;
    if (parsed && CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        CHECK_ST(etcdc_read(c, K("variants/k"), NULL, NULL), ETCDC_ERR_V2_NOT_ENABLED);
        etcdc_client_free(c);
    }
}

/* --------------------------------------------------------------- write */

static void test_write_basic(const etcdc_client *c) {
    etcdc_response *r = NULL;
    const char *key = K("w/plain");

    /* A new key: "set", no prev node, indexes in the headers. */
    if (CHECK_ST(etcdc_write(c, key, "one", NULL, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK_STR(etcdc_response_action(r), "set");
        CHECK(n != NULL);
        CHECK_STR(etcdc_node_key(n), key);
        CHECK(etcdc_node_key_len(n) == strlen(key));
        CHECK_STR(etcdc_node_value(n), "one");
        CHECK(etcdc_node_value_len(n) == 3);
        CHECK(!etcdc_node_is_dir(n));
        CHECK(etcdc_node_ttl(n) == 0);
        CHECK(etcdc_node_expiration(n) == NULL);
        CHECK(etcdc_node_created_index(n) > 0);
        CHECK(etcdc_node_modified_index(n) == etcdc_node_created_index(n));
        CHECK(etcdc_node_child_count(n) == 0);
        CHECK(etcdc_node_child(n, 0) == NULL);
        CHECK(etcdc_response_prev_node(r) == NULL);
        CHECK(etcdc_response_etcd_index(r) >= etcdc_node_modified_index(n));
        CHECK(etcdc_response_raft_index(r) > 0);
        CHECK(etcdc_response_raft_term(r) > 0);
        const char *cid = etcdc_response_cluster_id(r);
        CHECK(cid != NULL && strlen(cid) > 0 && strspn(cid, "0123456789abcdef") == strlen(cid));
        CHECK(etcdc_response_leaf_count(r) == 1);
        CHECK(etcdc_response_leaf(r, 0) == n);
        CHECK(etcdc_response_leaf(r, 1) == NULL);
    }
    uint64_t first_index = etcdc_response_etcd_index(r);
    uint64_t first_modified = etcdc_node_modified_index(etcdc_response_node(r));
    etcdc_response_free(r);
    r = NULL;

    /* Over an existing key: the prev node is the old one, the index grows. */
    if (CHECK_ST(etcdc_write(c, key, "two", NULL, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        const etcdc_node *p = etcdc_response_prev_node(r);
        CHECK_STR(etcdc_response_action(r), "set");
        CHECK_STR(etcdc_node_value(n), "two");
        CHECK(p != NULL && p != n);
        CHECK_STR(etcdc_node_key(p), key);
        CHECK_STR(etcdc_node_value(p), "one");
        CHECK(etcdc_node_modified_index(p) == first_modified);
        CHECK(etcdc_node_modified_index(n) > first_modified);
        CHECK(etcdc_node_created_index(n) > first_modified);
        CHECK(etcdc_response_etcd_index(r) > first_index);
        /* The leaves are those of the node, not of the prev node. */
        CHECK(etcdc_response_leaf_count(r) == 1 && etcdc_response_leaf(r, 0) == n);
    }
    etcdc_response_free(r);
    r = NULL;

    /* out == NULL: done, response discarded. */
    CHECK_ST(etcdc_write(c, key, "three", NULL, NULL), ETCDC_OK);
    CHECK_STR(read_value(c, key, &r), "three");
    etcdc_response_free(r);
    r = NULL;

    /* A read with out == NULL, a delete with out == NULL. */
    CHECK_ST(etcdc_read(c, key, NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_delete(c, key, NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, key, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* An empty value is a value. */
    if (CHECK_ST(etcdc_write(c, K("w/empty"), "", NULL, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "");
        CHECK(etcdc_node_value_len(etcdc_response_node(r)) == 0);
        CHECK(!etcdc_node_is_dir(etcdc_response_node(r)));
    }
    etcdc_response_free(r);
    r = NULL;

    /* A big value: no size cliff. */
    size_t big_len = 200 * 1024;
    char *big = malloc(big_len + 1);
    if (CHECK(big != NULL)) {
        for (size_t i = 0; i < big_len; i++) {
            big[i] = (char)('a' + (i * 7) % 26);
        }
        big[big_len] = '\0';
        CHECK_ST(etcdc_write(c, K("w/big"), big, NULL, NULL), ETCDC_OK);
        const char *back = read_value(c, K("w/big"), &r);
        CHECK(back != NULL && etcdc_node_value_len(etcdc_response_node(r)) == big_len &&
              memcmp(back, big, big_len) == 0);
        etcdc_response_free(r);
        r = NULL;
        free(big);
    }
}

static void test_write_ttl_dir_append(const etcdc_client *c) {
    etcdc_response *r = NULL;
    etcdc_write_options o = ETCDC_WRITE_OPTIONS_INIT;

    /* ttl */
    o.ttl = 100;
    if (CHECK_ST(etcdc_write(c, K("w/ttl"), "t", &o, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK(etcdc_node_ttl(n) > 90 && etcdc_node_ttl(n) <= 100);
        const char *exp = etcdc_node_expiration(n);
        CHECK(exp != NULL && strlen(exp) >= 20 && exp[4] == '-' && exp[10] == 'T');
    }
    etcdc_response_free(r);
    r = NULL;

    /* dir: value NULL, then reading it */
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.dir = true;
    if (CHECK_ST(etcdc_write(c, K("w/dir"), NULL, &o, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK(etcdc_node_is_dir(n));
        CHECK(etcdc_node_value(n) == NULL);
        CHECK(etcdc_node_value_len(n) == 0);
        CHECK_STR(etcdc_node_key(n), K("w/dir"));
        CHECK(etcdc_node_child_count(n) == 0);
    }
    etcdc_response_free(r);
    r = NULL;
    /* "" is accepted for a dir; a real value is not. */
    CHECK_ST(etcdc_write(c, K("w/dir2"), "", &o, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("w/dir3"), "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_read(c, K("w/dir3"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    /* A value onto a directory; a key under a value. */
    CHECK_ST(etcdc_write(c, K("w/dir"), "v", NULL, NULL), ETCDC_ERR_NOT_FILE);
    CHECK_ST(etcdc_write(c, K("w/empty/sub"), "v", NULL, NULL), ETCDC_ERR_NOT_DIR);

    /* append: in-order keys under a directory, in creation order */
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.append = true;
    const char *vals[] = {"first", "second", "third", "fourth"};
    char names[4][512];
    for (int i = 0; i < 4; i++) {
        names[i][0] = '\0';
        if (CHECK_ST(etcdc_write(c, K("w/queue"), vals[i], &o, &r), ETCDC_OK)) {
            const etcdc_node *n = etcdc_response_node(r);
            const char *key = etcdc_node_key(n);
            CHECK_STR(etcdc_response_action(r), "create");
            CHECK_STR(etcdc_node_value(n), vals[i]);
            size_t plen = strlen(K("w/queue/"));
            CHECK(key != NULL && strncmp(key, K("w/queue/"), plen) == 0 &&
                  is_all_digits(key + plen, 20));
            if (key) {
                snprintf(names[i], sizeof names[i], "%s", key);
            }
        }
        etcdc_response_free(r);
        r = NULL;
    }
    CHECK(strcmp(names[0], names[1]) < 0 && strcmp(names[1], names[2]) < 0 &&
          strcmp(names[2], names[3]) < 0);
    etcdc_read_options ro = ETCDC_READ_OPTIONS_INIT;
    ro.sorted = true;
    if (CHECK_ST(etcdc_read(c, K("w/queue"), &ro, &r), ETCDC_OK)) {
        const etcdc_node *d = etcdc_response_node(r);
        CHECK(etcdc_node_is_dir(d));
        CHECK(etcdc_node_child_count(d) == 4);
        for (size_t i = 0; i < 4; i++) {
            CHECK_STR(etcdc_node_key(etcdc_node_child(d, i)), names[i]);
            CHECK_STR(etcdc_node_value(etcdc_node_child(d, i)), vals[i]);
        }
        CHECK(etcdc_node_child(d, 4) == NULL);
        CHECK(etcdc_response_leaf_count(r) == 4);
        CHECK(etcdc_response_leaf(r, 0) == etcdc_node_child(d, 0));
        CHECK(etcdc_response_leaf(r, 3) == etcdc_node_child(d, 3));
    }
    etcdc_response_free(r);
    r = NULL;
    /* append with a condition contradicts itself */
    o.prev_value = "first";
    CHECK_ST(etcdc_write(c, K("w/queue"), "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    o.prev_value = NULL;
    o.prev_exist = ETCDC_PREV_EXIST_TRUE;
    CHECK_ST(etcdc_write(c, K("w/queue"), "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    /* append with a ttl is fine; append with out == NULL too */
    o.prev_exist = ETCDC_PREV_EXIST_ANY;
    o.ttl = 100;
    if (CHECK_ST(etcdc_write(c, K("w/queue"), "fifth", &o, &r), ETCDC_OK)) {
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 0);
    }
    etcdc_response_free(r);
    r = NULL;
    o.ttl = 0;
    CHECK_ST(etcdc_write(c, K("w/queue"), "sixth", &o, NULL), ETCDC_OK);
}

static void test_write_conditions(const etcdc_client *c) {
    etcdc_response *r = NULL;
    etcdc_write_options o = ETCDC_WRITE_OPTIONS_INIT;
    const char *key = K("cond/k");
    uint64_t modified = 0;

    if (CHECK_ST(etcdc_write(c, key, "a", NULL, &r), ETCDC_OK)) {
        modified = etcdc_node_modified_index(etcdc_response_node(r));
    }
    etcdc_response_free(r);
    r = NULL;

    /* prev_value: mismatch, then match */
    o.prev_value = "nope";
    CHECK_ST(etcdc_write(c, key, "b", &o, &r), ETCDC_ERR_COMPARE_FAILED);
    CHECK(r == NULL);
    const etcdc_error *e = etcdc_error_last();
    if (CHECK(e != NULL)) {
        CHECK(e->status == ETCDC_ERR_COMPARE_FAILED);
        CHECK(e->etcd_code == 101);
        CHECK(e->message != NULL && strstr(e->message, "101") != NULL);
        CHECK(e->cause != NULL && strstr(e->cause, "nope") != NULL &&
              strstr(e->cause, "a") != NULL && strchr(e->cause, '[') != NULL);
        CHECK(e->index >= modified);
        CHECK_STR(e->server_message, "Compare failed");
    }
    o.prev_value = "a";
    if (CHECK_ST(etcdc_write(c, key, "b", &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "compareAndSwap");
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "b");
        CHECK_STR(etcdc_node_value(etcdc_response_prev_node(r)), "a");
        modified = etcdc_node_modified_index(etcdc_response_node(r));
    }
    etcdc_response_free(r);
    r = NULL;

    /* prev_index: mismatch, then match */
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.prev_index = modified + 1000;
    CHECK_ST(etcdc_write(c, key, "c", &o, NULL), ETCDC_ERR_COMPARE_FAILED);
    CHECK(etcdc_error_last() != NULL && etcdc_error_last()->etcd_code == 101);
    o.prev_index = modified;
    if (CHECK_ST(etcdc_write(c, key, "c", &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "compareAndSwap");
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "c");
    }
    etcdc_response_free(r);
    r = NULL;

    /* prev_exist TRUE: missing key fails, existing key is an update */
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.prev_exist = ETCDC_PREV_EXIST_TRUE;
    CHECK_ST(etcdc_write(c, K("cond/missing"), "x", &o, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK(etcdc_error_last() != NULL && etcdc_error_last()->etcd_code == 100);
    CHECK_ST(etcdc_read(c, K("cond/missing"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    if (CHECK_ST(etcdc_write(c, key, "d", &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "update");
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "d");
        CHECK_STR(etcdc_node_value(etcdc_response_prev_node(r)), "c");
    }
    etcdc_response_free(r);
    r = NULL;

    /* prev_exist FALSE: existing key fails, missing key is a create */
    o.prev_exist = ETCDC_PREV_EXIST_FALSE;
    CHECK_ST(etcdc_write(c, key, "e", &o, NULL), ETCDC_ERR_NODE_EXIST);
    CHECK(etcdc_error_last() != NULL && etcdc_error_last()->etcd_code == 105);
    if (CHECK_ST(etcdc_write(c, K("cond/new"), "n", &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "create");
        CHECK(etcdc_response_prev_node(r) == NULL);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_STR(read_value(c, key, &r), "d");
    etcdc_response_free(r);
    r = NULL;

    /* prev_exist out of range */
    o.prev_exist = 7;
    CHECK_ST(etcdc_write(c, key, "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prev_exist"));
    o.prev_exist = -1;
    CHECK_ST(etcdc_write(c, key, "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);

    /* refresh through the write options */
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.ttl = 100;
    CHECK_ST(etcdc_write(c, K("cond/refresh"), "keep", &o, NULL), ETCDC_OK);
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.refresh = true;
    o.ttl = 50;
    if (CHECK_ST(etcdc_write(c, K("cond/refresh"), NULL, &o, &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK_STR(etcdc_node_value(n), "keep");
        CHECK(etcdc_node_ttl(n) > 40 && etcdc_node_ttl(n) <= 50);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_write(c, K("cond/refresh"), "", &o, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("cond/refresh"), "new", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    o.ttl = 0;
    CHECK_ST(etcdc_write(c, K("cond/refresh"), NULL, &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_STR(read_value(c, K("cond/refresh"), &r), "keep");
    etcdc_response_free(r);
    r = NULL;

    /* options of an unknown version */
    etcdc_write_options_init(&o, ETCDC_WRITE_OPTIONS_VERSION);
    o.version = 0;
    CHECK_ST(etcdc_write(c, key, "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_write_options"));
    o.version = 99;
    CHECK_ST(etcdc_write(c, key, "x", &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_STR(read_value(c, key, &r), "d");
    etcdc_response_free(r);
}

/* ---------------------------------------------------------------- read */

/* tree/a = 1, tree/b/c = 2, tree/b/d/ (empty dir), tree/b/e = 3, tree/f = 4;
 * written out of order so that "sorted" matters. */
static void test_read_tree(const etcdc_client *c) {
    etcdc_write_options dir = ETCDC_WRITE_OPTIONS_INIT;
    dir.dir = true;
    CHECK_ST(etcdc_write(c, K("tree/f"), "4", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("tree/b/e"), "3", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("tree/b/d"), NULL, &dir, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("tree/b/c"), "2", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("tree/a"), "1", NULL, NULL), ETCDC_OK);

    etcdc_response *r = NULL;
    etcdc_read_options o = ETCDC_READ_OPTIONS_INIT;
    o.recursive = true;
    o.sorted = true;
    if (CHECK_ST(etcdc_read(c, K("tree"), &o, &r), ETCDC_OK)) {
        const etcdc_node *root = etcdc_response_node(r);
        CHECK_STR(etcdc_response_action(r), "get");
        CHECK(etcdc_response_prev_node(r) == NULL);
        CHECK_STR(etcdc_node_key(root), K("tree"));
        CHECK(etcdc_node_is_dir(root));
        CHECK(etcdc_node_value(root) == NULL);
        CHECK(etcdc_node_child_count(root) == 3);
        const etcdc_node *a = etcdc_node_child(root, 0);
        const etcdc_node *b = etcdc_node_child(root, 1);
        const etcdc_node *f = etcdc_node_child(root, 2);
        CHECK(etcdc_node_child(root, 3) == NULL);
        CHECK(etcdc_node_child(root, (size_t)-1) == NULL);
        CHECK_STR(etcdc_node_key(a), K("tree/a"));
        CHECK_STR(etcdc_node_value(a), "1");
        CHECK_STR(etcdc_node_key(b), K("tree/b"));
        CHECK(etcdc_node_is_dir(b));
        CHECK(etcdc_node_child_count(b) == 3);
        CHECK_STR(etcdc_node_key(etcdc_node_child(b, 0)), K("tree/b/c"));
        CHECK_STR(etcdc_node_key(etcdc_node_child(b, 1)), K("tree/b/d"));
        CHECK(etcdc_node_is_dir(etcdc_node_child(b, 1)));
        CHECK(etcdc_node_child_count(etcdc_node_child(b, 1)) == 0);
        CHECK_STR(etcdc_node_value(etcdc_node_child(b, 2)), "3");
        CHECK_STR(etcdc_node_key(f), K("tree/f"));
        CHECK(etcdc_node_created_index(f) < etcdc_node_created_index(a));

        /* Leaves: values and the empty dir, depth first, in key order. */
        CHECK(etcdc_response_leaf_count(r) == 5);
        const char *want_keys[] = {"tree/a", "tree/b/c", "tree/b/d", "tree/b/e", "tree/f"};
        const char *want_vals[] = {"1", "2", NULL, "3", "4"};
        for (size_t i = 0; i < 5; i++) {
            const etcdc_node *leaf = etcdc_response_leaf(r, i);
            CHECK_STR(etcdc_node_key(leaf), K(want_keys[i]));
            CHECK_STR(etcdc_node_value(leaf), want_vals[i]);
            CHECK(etcdc_node_is_dir(leaf) == (want_vals[i] == NULL));
        }
        CHECK(etcdc_response_leaf(r, 0) == a);
        CHECK(etcdc_response_leaf(r, 4) == f);
        CHECK(etcdc_response_leaf(r, 5) == NULL);
        CHECK(etcdc_response_leaf(r, (size_t)-1) == NULL);

        /* JSON of a subtree: the keys and values of its nodes. */
        char *json = NULL;
        if (CHECK_ST(etcdc_node_to_json(b, &json), ETCDC_OK)) {
            char needle[600];
            CHECK(json != NULL && json[0] == '{');
            snprintf(needle, sizeof needle, "\"key\":\"%s\"", K("tree/b"));
            CHECK(json && strstr(json, needle) != NULL);
            snprintf(needle, sizeof needle, "\"%s\"", K("tree/b/c"));
            CHECK(json && strstr(json, needle) != NULL);
            CHECK(json && strstr(json, "\"value\":\"2\"") != NULL);
            CHECK(json && strstr(json, "\"value\":\"3\"") != NULL);
            CHECK(json && strstr(json, "\"nodes\"") != NULL);
            CHECK(json && strstr(json, "\"value\":\"1\"") == NULL); /* not a sibling */
        }
        etcdc_string_free(json);
        json = NULL;
        if (CHECK_ST(etcdc_node_to_json(a, &json), ETCDC_OK)) {
            CHECK(json && strstr(json, K("tree/a")) != NULL && strstr(json, "\"1\"") != NULL);
        }
        etcdc_string_free(json);
    }
    etcdc_response_free(r);
    r = NULL;

    /* Not recursive: one level; sub-directories are listed without children. */
    etcdc_read_options_init(&o, ETCDC_READ_OPTIONS_VERSION);
    o.sorted = true;
    if (CHECK_ST(etcdc_read(c, K("tree"), &o, &r), ETCDC_OK)) {
        const etcdc_node *root = etcdc_response_node(r);
        CHECK(etcdc_node_child_count(root) == 3);
        const etcdc_node *b = etcdc_node_child(root, 1);
        CHECK(etcdc_node_is_dir(b) && etcdc_node_child_count(b) == 0);
        /* b is a leaf now: it has no listed children. */
        CHECK(etcdc_response_leaf_count(r) == 3);
        CHECK(etcdc_response_leaf(r, 1) == b);
    }
    etcdc_response_free(r);
    r = NULL;

    /* Quorum read of a value; plain read with NULL options. */
    etcdc_read_options_init(&o, ETCDC_READ_OPTIONS_VERSION);
    o.quorum = true;
    if (CHECK_ST(etcdc_read(c, K("tree/b/c"), &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "2");
        CHECK(etcdc_response_etcd_index(r) > 0);
    }
    etcdc_response_free(r);
    r = NULL;
    o.recursive = true;
    o.sorted = true;
    if (CHECK_ST(etcdc_read(c, K("tree"), &o, &r), ETCDC_OK)) {
        CHECK(etcdc_response_leaf_count(r) == 5);
    }
    etcdc_response_free(r);
    r = NULL;

    /* An empty dir read: the dir is its own only leaf. */
    if (CHECK_ST(etcdc_read(c, K("tree/b/d"), NULL, &r), ETCDC_OK)) {
        CHECK(etcdc_node_is_dir(etcdc_response_node(r)));
        CHECK(etcdc_response_leaf_count(r) == 1);
        CHECK(etcdc_response_leaf(r, 0) == etcdc_response_node(r));
    }
    etcdc_response_free(r);
    r = NULL;

    /* Missing key: KEY_NOT_FOUND and etcd's detail. */
    const char *missing = K("tree/nope");
    CHECK_ST(etcdc_read(c, missing, NULL, &r), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK(r == NULL);
    const etcdc_error *e = etcdc_error_last();
    if (CHECK(e != NULL)) {
        CHECK(e->status == ETCDC_ERR_KEY_NOT_FOUND);
        CHECK(e->etcd_code == 100);
        CHECK(e->message != NULL && strstr(e->message, "100") != NULL);
        CHECK(e->cause != NULL && strstr(e->cause, "tree/nope") != NULL);
        CHECK(e->index > 0);
        /* etcd's own words for it. */
        CHECK_STR(e->server_message, "Key not found");
    }

    /* Options of an unknown version. */
    etcdc_read_options_init(&o, ETCDC_READ_OPTIONS_VERSION);
    o.version = 0;
    CHECK_ST(etcdc_read(c, K("tree"), &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_read_options"));
    o.version = 99;
    CHECK_ST(etcdc_read(c, K("tree"), &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
}

/* -------------------------------------------------------------- delete */

static void test_delete(const etcdc_client *c) {
    etcdc_response *r = NULL;
    etcdc_delete_options o = ETCDC_DELETE_OPTIONS_INIT;

    /* plain: the prev node is what was removed */
    CHECK_ST(etcdc_write(c, K("del/v"), "gone", NULL, NULL), ETCDC_OK);
    if (CHECK_ST(etcdc_delete(c, K("del/v"), NULL, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "delete");
        CHECK_STR(etcdc_node_key(etcdc_response_node(r)), K("del/v"));
        CHECK(etcdc_node_value(etcdc_response_node(r)) == NULL);
        CHECK_STR(etcdc_node_value(etcdc_response_prev_node(r)), "gone");
        CHECK_STR(etcdc_node_key(etcdc_response_prev_node(r)), K("del/v"));
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_delete(c, K("del/v"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* directories: without options, with dir, with recursive */
    CHECK_ST(etcdc_mkdir(c, K("del/empty"), 0, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("del/full/x"), "1", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_write(c, K("del/full/sub/y"), "2", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_delete(c, K("del/empty"), NULL, NULL), ETCDC_ERR_NOT_FILE);
    o.dir = true;
    if (CHECK_ST(etcdc_delete(c, K("del/empty"), &o, &r), ETCDC_OK)) {
        CHECK(etcdc_node_is_dir(etcdc_response_prev_node(r)));
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_delete(c, K("del/full"), &o, NULL), ETCDC_ERR_DIR_NOT_EMPTY);
    CHECK(etcdc_error_last() != NULL && etcdc_error_last()->etcd_code == 108);
    etcdc_delete_options_init(&o, ETCDC_DELETE_OPTIONS_VERSION);
    o.recursive = true;
    CHECK_ST(etcdc_delete(c, K("del/full"), &o, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, K("del/full/sub/y"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* prev_value: mismatch, then match (compareAndDelete) */
    CHECK_ST(etcdc_write(c, K("del/cas"), "v1", NULL, NULL), ETCDC_OK);
    etcdc_delete_options_init(&o, ETCDC_DELETE_OPTIONS_VERSION);
    o.prev_value = "other";
    CHECK_ST(etcdc_delete(c, K("del/cas"), &o, NULL), ETCDC_ERR_COMPARE_FAILED);
    o.prev_value = "v1";
    if (CHECK_ST(etcdc_delete(c, K("del/cas"), &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "compareAndDelete");
        CHECK_STR(etcdc_node_value(etcdc_response_prev_node(r)), "v1");
    }
    etcdc_response_free(r);
    r = NULL;

    /* prev_index: mismatch, then match */
    uint64_t modified = 0;
    if (CHECK_ST(etcdc_write(c, K("del/idx"), "v", NULL, &r), ETCDC_OK)) {
        modified = etcdc_node_modified_index(etcdc_response_node(r));
    }
    etcdc_response_free(r);
    r = NULL;
    etcdc_delete_options_init(&o, ETCDC_DELETE_OPTIONS_VERSION);
    o.prev_index = modified + 1000;
    CHECK_ST(etcdc_delete(c, K("del/idx"), &o, NULL), ETCDC_ERR_COMPARE_FAILED);
    o.prev_index = modified;
    if (CHECK_ST(etcdc_delete(c, K("del/idx"), &o, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "compareAndDelete");
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_read(c, K("del/idx"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* options of an unknown version */
    etcdc_delete_options_init(&o, ETCDC_DELETE_OPTIONS_VERSION);
    o.version = 0;
    CHECK_ST(etcdc_delete(c, K("del/none"), &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_delete_options"));
    o.version = 99;
    CHECK_ST(etcdc_delete(c, K("del/none"), &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------- conveniences */

static void test_test_and_set(const etcdc_client *c) {
    etcdc_response *r = NULL;
    CHECK_ST(etcdc_write(c, K("tas/k"), "1", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_test_and_set(c, K("tas/k"), "2", "9", 0, &r), ETCDC_ERR_COMPARE_FAILED);
    CHECK(r == NULL);
    const etcdc_error *e = etcdc_error_last();
    CHECK(e != NULL && e->etcd_code == 101 && e->cause != NULL && strstr(e->cause, "9") != NULL);
    if (CHECK_ST(etcdc_test_and_set(c, K("tas/k"), "2", "1", 0, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_response_action(r), "compareAndSwap");
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "2");
        CHECK_STR(etcdc_node_value(etcdc_response_prev_node(r)), "1");
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) == 0);
    }
    etcdc_response_free(r);
    r = NULL;
    if (CHECK_ST(etcdc_test_and_set(c, K("tas/k"), "3", "2", 100, &r), ETCDC_OK)) {
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 90);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_test_and_set(c, K("tas/k"), "4", "3", 0, NULL), ETCDC_OK);
    CHECK_ST(etcdc_test_and_set(c, K("tas/missing"), "1", "0", 0, NULL),
             ETCDC_ERR_KEY_NOT_FOUND);
    CHECK_STR(read_value(c, K("tas/k"), &r), "4");
    etcdc_response_free(r);
}

static void test_update(const etcdc_client *c, const etcdc_client *other) {
    etcdc_response *read = NULL, *r = NULL;
    CHECK_ST(etcdc_write(c, K("upd/k"), "v1", NULL, NULL), ETCDC_OK);

    /* Read with one client, update with another: nodes are not tied to it. */
    if (CHECK_ST(etcdc_read(other, K("upd/k"), NULL, &read), ETCDC_OK)) {
        const etcdc_node *node = etcdc_response_node(read);
        if (CHECK_ST(etcdc_update(c, node, "v2", &r), ETCDC_OK)) {
            CHECK_STR(etcdc_response_action(r), "compareAndSwap");
            CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "v2");
            CHECK(etcdc_node_modified_index(etcdc_response_node(r)) >
                  etcdc_node_modified_index(node));
        }
        etcdc_response_free(r);
        r = NULL;
        /* The read node is stale now. */
        CHECK_ST(etcdc_update(c, node, "v3", &r), ETCDC_ERR_COMPARE_FAILED);
        CHECK(r == NULL);
        CHECK(etcdc_error_last() != NULL && etcdc_error_last()->etcd_code == 101);
        CHECK_ST(etcdc_update(c, node, NULL, NULL), ETCDC_ERR_COMPARE_FAILED);
    }
    etcdc_response_free(read);
    read = NULL;

    /* value NULL keeps the value; a TTL is kept. */
    etcdc_write_options t = ETCDC_WRITE_OPTIONS_INIT;
    t.ttl = 100;
    CHECK_ST(etcdc_write(c, K("upd/k"), "v2", &t, NULL), ETCDC_OK);
    if (CHECK_ST(etcdc_read(c, K("upd/k"), NULL, &read), ETCDC_OK)) {
        if (CHECK_ST(etcdc_update(c, etcdc_response_node(read), NULL, &r), ETCDC_OK)) {
            CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "v2");
            CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 0);
        }
        etcdc_response_free(r);
        r = NULL;
    }
    etcdc_response_free(read);
    read = NULL;
    CHECK_STR(read_value(c, K("upd/k"), &r), "v2");
    CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 0);
    etcdc_response_free(r);
    r = NULL;

    /* A node whose key is gone since. */
    CHECK_ST(etcdc_write(c, K("upd/gone"), "x", NULL, NULL), ETCDC_OK);
    if (CHECK_ST(etcdc_read(c, K("upd/gone"), NULL, &read), ETCDC_OK)) {
        CHECK_ST(etcdc_delete(c, K("upd/gone"), NULL, NULL), ETCDC_OK);
        CHECK_ST(etcdc_update(c, etcdc_response_node(read), "y", NULL), ETCDC_ERR_KEY_NOT_FOUND);
    }
    etcdc_response_free(read);
    read = NULL;

    /* A directory: etcd has no compare on directories, so an update could
     * only be unconditional (a stale read's TTL over another writer's
     * refresh). It is refused before anything is sent, with or without a
     * value; etcdc_refresh() sets a directory's TTL. */
    CHECK_ST(etcdc_mkdir(c, K("upd/dir"), 100, NULL), ETCDC_OK);
    if (CHECK_ST(etcdc_read(c, K("upd/dir"), NULL, &read), ETCDC_OK)) {
        CHECK_ST(etcdc_refresh(c, K("upd/dir"), 1000, NULL), ETCDC_OK); /* another writer */
        CHECK_ST(etcdc_update(c, etcdc_response_node(read), NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(r == NULL);
        CHECK_ST(etcdc_update(c, etcdc_response_node(read), "x", &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(r == NULL);
        etcdc_response_free(read);
        read = NULL;
        if (CHECK_ST(etcdc_read(c, K("upd/dir"), NULL, &read), ETCDC_OK)) {
            CHECK(etcdc_node_ttl(etcdc_response_node(read)) > 900); /* the refresh stands */
        }
    }
    etcdc_response_free(read);
}

static void test_mkdir_refresh_pop(const etcdc_client *c) {
    etcdc_response *r = NULL;

    /* mkdir, twice */
    if (CHECK_ST(etcdc_mkdir(c, K("mk/d"), 0, &r), ETCDC_OK)) {
        CHECK(etcdc_node_is_dir(etcdc_response_node(r)));
        CHECK_STR(etcdc_node_key(etcdc_response_node(r)), K("mk/d"));
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) == 0);
        CHECK_STR(etcdc_response_action(r), "create");
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_mkdir(c, K("mk/d"), 0, &r), ETCDC_ERR_NODE_EXIST);
    CHECK(r == NULL);
    const etcdc_error *e = etcdc_error_last();
    CHECK(e != NULL && e->status == ETCDC_ERR_NODE_EXIST && e->etcd_code == 105 &&
          strstr(e->cause, "mk/d") != NULL);
    CHECK(e != NULL && strcmp(e->server_message, "Key already exists") == 0);
    CHECK_ST(etcdc_write(c, K("mk/v"), "x", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_mkdir(c, K("mk/v"), 0, NULL), ETCDC_ERR_NODE_EXIST);
    if (CHECK_ST(etcdc_mkdir(c, K("mk/t"), 100, &r), ETCDC_OK)) {
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 90);
        CHECK(etcdc_node_expiration(etcdc_response_node(r)) != NULL);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_mkdir(c, K("mk/n"), 0, NULL), ETCDC_OK);

    /* refresh */
    CHECK_ST(etcdc_refresh(c, K("mk/v"), 0, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "ttl"));
    CHECK_ST(etcdc_refresh(c, K("mk/missing"), 10, &r), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK(r == NULL);
    CHECK(etcdc_error_last() != NULL && etcdc_error_last()->etcd_code == 100);
    CHECK_ST(etcdc_read(c, K("mk/missing"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    if (CHECK_ST(etcdc_refresh(c, K("mk/v"), 100, &r), ETCDC_OK)) {
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "x");
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 90);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_STR(read_value(c, K("mk/v"), &r), "x");
    CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 90);
    etcdc_response_free(r);
    r = NULL;
    if (CHECK_ST(etcdc_refresh(c, K("mk/t"), 200, &r), ETCDC_OK)) {
        CHECK(etcdc_node_is_dir(etcdc_response_node(r)));
        CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 190);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_refresh(c, K("mk/v"), 100, NULL), ETCDC_OK);

    /* pop: the node is the removed one */
    CHECK_ST(etcdc_write(c, K("mk/pop"), "popped", NULL, NULL), ETCDC_OK);
    if (CHECK_ST(etcdc_pop(c, K("mk/pop"), &r), ETCDC_OK)) {
        const etcdc_node *n = etcdc_response_node(r);
        CHECK_STR(etcdc_node_key(n), K("mk/pop"));
        CHECK_STR(etcdc_node_value(n), "popped");
        CHECK(etcdc_node_value_len(n) == 6);
        CHECK_STR(etcdc_response_action(r), "delete");
        CHECK(etcdc_response_leaf_count(r) == 1 && etcdc_response_leaf(r, 0) == n);
    }
    etcdc_response_free(r);
    r = NULL;
    CHECK_ST(etcdc_read(c, K("mk/pop"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK_ST(etcdc_pop(c, K("mk/pop"), &r), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK(r == NULL);
    CHECK_ST(etcdc_write(c, K("mk/pop"), "again", NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_pop(c, K("mk/pop"), NULL), ETCDC_OK);
    CHECK_ST(etcdc_pop(c, K("mk/pop"), NULL), ETCDC_ERR_KEY_NOT_FOUND);
    /* a directory is not a value to pop */
    CHECK_ST(etcdc_pop(c, K("mk/n"), NULL), ETCDC_ERR_NOT_FILE);
}

/* --------------------------------------------------- accessors on NULL */

static void test_null_accessors(void) {
    CHECK(etcdc_response_action(NULL) == NULL);
    CHECK(etcdc_response_node(NULL) == NULL);
    CHECK(etcdc_response_prev_node(NULL) == NULL);
    CHECK(etcdc_response_etcd_index(NULL) == 0);
    CHECK(etcdc_response_raft_index(NULL) == 0);
    CHECK(etcdc_response_raft_term(NULL) == 0);
    CHECK(etcdc_response_cluster_id(NULL) == NULL);
    CHECK(etcdc_response_leaf_count(NULL) == 0);
    CHECK(etcdc_response_leaf(NULL, 0) == NULL);
    CHECK(etcdc_node_key(NULL) == NULL);
    CHECK(etcdc_node_value(NULL) == NULL);
    CHECK(etcdc_node_value_len(NULL) == 0);
    CHECK(!etcdc_node_is_dir(NULL));
    CHECK(etcdc_node_ttl(NULL) == 0);
    CHECK(etcdc_node_expiration(NULL) == NULL);
    CHECK(etcdc_node_created_index(NULL) == 0);
    CHECK(etcdc_node_modified_index(NULL) == 0);
    CHECK(etcdc_node_child_count(NULL) == 0);
    CHECK(etcdc_node_child(NULL, 0) == NULL);
    char *json = NULL;
    CHECK_ST(etcdc_node_to_json(NULL, &json), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(json == NULL);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "node"));
    etcdc_response_free(NULL);
    etcdc_string_free(NULL);
    CHECK(1);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_input(const etcdc_client *c) {
    static int sentinel_storage;
    etcdc_response *const sentinel = (etcdc_response *)(void *)&sentinel_storage;
    etcdc_response *r = sentinel;
    const char *key = K("bad/k");
    CHECK_ST(etcdc_write(c, key, "ok", NULL, NULL), ETCDC_OK);

    /* NULL client */
    CHECK_ST(etcdc_write(NULL, key, "v", NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK(r == sentinel);
    CHECK_ST(etcdc_read(NULL, key, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_delete(NULL, key, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_test_and_set(NULL, key, "a", "b", 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_mkdir(NULL, key, 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_refresh(NULL, key, 10, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK_ST(etcdc_pop(NULL, key, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
    CHECK(r == sentinel);

    /* A key of 10,000 bytes: over etcd's 4096-byte first request line, so
     * refused before anything is sent, saying so; nothing is written. */
    {
        const char *base = K("bad/long10k");
        char *long_key = malloc(10001);
        CHECK(long_key != NULL);
        if (long_key != NULL) {
            size_t n = strlen(base);
            memcpy(long_key, base, n);
            memset(long_key + n, 'k', 10000 - n);
            long_key[10000] = '\0';
            long_key[n] = '/';
            CHECK_ST(etcdc_write(c, long_key, "v", NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
            CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "4096"));
            CHECK_ST(etcdc_read(c, long_key, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
            CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "4096"));
            CHECK(r == sentinel);
            free(long_key);
        }
        CHECK_ST(etcdc_read(c, base, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    }

    /* NULL key */
    CHECK_ST(etcdc_write(c, NULL, "v", NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_read(c, NULL, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_delete(c, NULL, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_test_and_set(c, NULL, "a", "b", 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_mkdir(c, NULL, 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_refresh(c, NULL, 10, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK_ST(etcdc_pop(c, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK(r == sentinel);

    /* NULL value / prev_value / node */
    CHECK_ST(etcdc_write(c, key, NULL, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "value"));
    CHECK_ST(etcdc_test_and_set(c, key, NULL, "ok", 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "value"));
    CHECK_ST(etcdc_test_and_set(c, key, "v", NULL, 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prev_value"));
    CHECK_ST(etcdc_update(c, NULL, "v", &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "node"));
    CHECK(r == sentinel);

    /* NULL out of node_to_json; NULL client of update */
    etcdc_response *got = NULL;
    if (CHECK_ST(etcdc_read(c, key, NULL, &got), ETCDC_OK)) {
        CHECK_ST(etcdc_node_to_json(etcdc_response_node(got), NULL), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "out"));
        CHECK_ST(etcdc_update(NULL, etcdc_response_node(got), "v", &r),
                 ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "client"));
        /* invalid UTF-8 value in update */
        CHECK_ST(etcdc_update(c, etcdc_response_node(got), "\xff\xfe", &r),
                 ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));
    }
    etcdc_response_free(got);
    got = NULL;
    CHECK(r == sentinel);

    /* invalid UTF-8 key, value, prev_value */
    const char *bad_utf8 = "\xff\xfe";
    char bad_key[600];
    snprintf(bad_key, sizeof bad_key, "%s/%s", K("bad"), bad_utf8);
    CHECK_ST(etcdc_write(c, bad_key, "v", NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "key"));
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));
    CHECK_ST(etcdc_read(c, bad_key, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_delete(c, bad_key, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_mkdir(c, bad_key, 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_write(c, key, bad_utf8, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "value"));
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "UTF-8"));
    CHECK_ST(etcdc_test_and_set(c, key, "v", bad_utf8, 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prev_value"));
    etcdc_write_options wo = ETCDC_WRITE_OPTIONS_INIT;
    wo.prev_value = bad_utf8;
    CHECK_ST(etcdc_write(c, key, "v", &wo, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prev_value"));
    etcdc_delete_options dopt = ETCDC_DELETE_OPTIONS_INIT;
    dopt.prev_value = bad_utf8;
    CHECK_ST(etcdc_delete(c, key, &dopt, &r), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "prev_value"));
    CHECK(r == sentinel);

    /* keys with ".", ".." or empty segments: refused, nothing sent */
    const char *dotted[] = {"bad/../k", "bad/./k", "bad//k", "bad/..", "bad/.", "bad/k/../../x"};
    for (size_t i = 0; i < sizeof dotted / sizeof dotted[0]; i++) {
        const char *k = K(dotted[i]);
        if (!CHECK_ST(etcdc_write(c, k, "v", NULL, &r), ETCDC_ERR_INVALID_ARGUMENT)) {
            printf("     (key \"%s\")\n", k);
        }
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "segment"));
        CHECK_ST(etcdc_read(c, k, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK_ST(etcdc_delete(c, k, NULL, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK_ST(etcdc_mkdir(c, k, 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK_ST(etcdc_refresh(c, k, 5, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK_ST(etcdc_pop(c, k, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK_ST(etcdc_test_and_set(c, k, "v", "ok", 0, &r), ETCDC_ERR_INVALID_ARGUMENT);
    }
    CHECK(r == sentinel);
    /* and nothing was written by any of them */
    CHECK_STR(read_value(c, key, &got), "ok");
    etcdc_response_free(got);
    got = NULL;
    CHECK_ST(etcdc_read(c, K("k"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    CHECK_ST(etcdc_read(c, K("x"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
}

/* Keys and values full of URL syntax, and unicode, round-trip unchanged. */
static void test_nasty_round_trips(const etcdc_client *c) {
    const char *rel[] = {
        "nasty/a b?c#d%e+f&=",
        "nasty/%2e%2E",                            /* looks like ".." once decoded */
        "nasty/%2F",                               /* must not become a "/" */
        "nasty/\xe2\x9c\x93-\xc3\xbc\xc3\xb1\xc3\xaf", /* check mark, "uni" with accents */
        "nasty/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x94\x91", /* CJK dir, emoji key */
        "nasty/semi;colon,comma'quote\"dq",
    };
    const char *value = "a+b&c=d%e %20+%2B;x=1&y==\xe2\x9c\x93";
    etcdc_response *r = NULL;
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        const char *key = K(rel[i]);
        if (!CHECK_ST(etcdc_write(c, key, value, NULL, &r), ETCDC_OK)) {
            printf("     (key \"%s\")\n", key);
            continue;
        }
        CHECK_STR(etcdc_node_key(etcdc_response_node(r)), key);
        CHECK_STR(etcdc_node_value(etcdc_response_node(r)), value);
        etcdc_response_free(r);
        r = NULL;
        const char *back = read_value(c, key, &r);
        if (!CHECK_STR(back, value)) {
            printf("     (key \"%s\")\n", key);
        }
        CHECK_STR(etcdc_node_key(etcdc_response_node(r)), key);
        CHECK(etcdc_node_value_len(etcdc_response_node(r)) == strlen(value));
        etcdc_response_free(r);
        r = NULL;
    }

    /* The listing shows exactly those keys (none split or merged). */
    etcdc_read_options ro = ETCDC_READ_OPTIONS_INIT;
    ro.recursive = true;
    ro.sorted = true;
    if (CHECK_ST(etcdc_read(c, K("nasty"), &ro, &r), ETCDC_OK)) {
        size_t n = etcdc_response_leaf_count(r);
        CHECK(n == sizeof rel / sizeof rel[0]);
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            const char *key = K(rel[i]);
            int found = 0;
            for (size_t j = 0; j < n; j++) {
                found |= strcmp(etcdc_node_key(etcdc_response_leaf(r, j)), key) == 0;
            }
            if (!CHECK(found)) {
                printf("     (key \"%s\" not listed)\n", key);
            }
        }
    }
    etcdc_response_free(r);
    r = NULL;

    /* Conditions carry the same characters: CAS and compare-and-delete. */
    const char *key = K(rel[0]);
    CHECK_ST(etcdc_test_and_set(c, key, "plain", value, 0, NULL), ETCDC_OK);
    CHECK_ST(etcdc_test_and_set(c, key, value, "plain", 0, NULL), ETCDC_OK);
    etcdc_write_options wo = ETCDC_WRITE_OPTIONS_INIT;
    wo.prev_value = "a+b&c=d%e %20+%2B;x=1&y==";
    CHECK_ST(etcdc_write(c, key, "x", &wo, NULL), ETCDC_ERR_COMPARE_FAILED);
    wo.prev_value = value;
    CHECK_ST(etcdc_write(c, key, "+&=%", &wo, NULL), ETCDC_OK);
    CHECK_STR(read_value(c, key, &r), "+&=%");
    etcdc_response_free(r);
    r = NULL;
    etcdc_delete_options dopt = ETCDC_DELETE_OPTIONS_INIT;
    dopt.prev_value = "+&=";
    CHECK_ST(etcdc_delete(c, key, &dopt, NULL), ETCDC_ERR_COMPARE_FAILED);
    dopt.prev_value = "+&=%";
    CHECK_ST(etcdc_delete(c, key, &dopt, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, key, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* A unicode value's length is in bytes. */
    if (CHECK_ST(etcdc_write(c, K("nasty/u"), "\xe2\x9c\x93", NULL, &r), ETCDC_OK)) {
        CHECK(etcdc_node_value_len(etcdc_response_node(r)) == 3);
    }
    etcdc_response_free(r);
}

/* ------------------------------------------------------------- threads */

struct thread_report {
    const etcdc_client *client;
    const char *key;
    int saw_null_first;
    int read_ok;
    int failed_as_expected;
    int own_error_ok;
};

static void *thread_main(void *arg) {
    struct thread_report *t = arg;
    /* No failure on this thread yet, whatever the main thread did. */
    t->saw_null_first = etcdc_error_last() == NULL;
    /* The client is shared; a success leaves the last error alone. */
    t->read_ok = etcdc_read(t->client, t->key, NULL, NULL) == ETCDC_OK;
    t->saw_null_first &= etcdc_error_last() == NULL;
    t->failed_as_expected =
        etcdc_test_and_set(t->client, t->key, "x", "not-the-value", 0, NULL) ==
        ETCDC_ERR_COMPARE_FAILED;
    const etcdc_error *e = etcdc_error_last();
    t->own_error_ok = e != NULL && e->status == ETCDC_ERR_COMPARE_FAILED && e->etcd_code == 101;
    return NULL;
}

static void test_error_last_per_thread(const etcdc_client *c) {
    CHECK_ST(etcdc_write(c, K("thr/k"), "v", NULL, NULL), ETCDC_OK);
    /* Main thread: a KEY_NOT_FOUND as its last failure. */
    CHECK_ST(etcdc_read(c, K("thr/missing"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    const etcdc_error *before = etcdc_error_last();
    CHECK(before != NULL && before->status == ETCDC_ERR_KEY_NOT_FOUND);

    struct thread_report t;
    memset(&t, 0, sizeof t);
    t.client = c;
    t.key = K("thr/k");
    pthread_t th;
    if (CHECK(pthread_create(&th, NULL, thread_main, &t) == 0)) {
        CHECK(pthread_join(th, NULL) == 0);
        CHECK(t.saw_null_first);
        CHECK(t.read_ok);
        CHECK(t.failed_as_expected);
        CHECK(t.own_error_ok);
    }
    /* The thread's failure did not replace the main thread's. */
    const etcdc_error *after = etcdc_error_last();
    CHECK(after != NULL && after->status == ETCDC_ERR_KEY_NOT_FOUND && after->etcd_code == 100);
    CHECK(after != NULL && strstr(after->cause, "thr/missing") != NULL);

    /* A success does not clear the last error on this thread either. */
    CHECK_ST(etcdc_read(c, K("thr/k"), NULL, NULL), ETCDC_OK);
    after = etcdc_error_last();
    CHECK(after != NULL && after->status == ETCDC_ERR_KEY_NOT_FOUND);
}

/* ---------------------------------------------------------------- main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-tests/%ld", (long)getpid());
    double start = now_s();

    /* Nothing has failed on this thread yet. */
    CHECK(etcdc_error_last() == NULL);

    test_version_and_status_str();
    test_options_init();
    test_client_construction(endpoint);

    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    /* A second client, for reads shared across clients. */
    etcdc_client *c2 = NULL;
    CHECK_ST(etcdc_client_new(&o, &c2), ETCDC_OK);

    /* A key with a 1 s TTL, written first; checked after the other tests. */
    etcdc_write_options short_ttl = ETCDC_WRITE_OPTIONS_INIT;
    short_ttl.ttl = 1;
    etcdc_response *r = NULL;
    CHECK_ST(etcdc_write(c, K("ttl1"), "soon gone", &short_ttl, &r), ETCDC_OK);
    double ttl_written = now_s();
    CHECK(etcdc_node_ttl(etcdc_response_node(r)) == 1);
    CHECK(etcdc_node_expiration(etcdc_response_node(r)) != NULL);
    etcdc_response_free(r);
    r = NULL;

    test_client_variants(endpoint, c);
    test_write_basic(c);
    test_write_ttl_dir_append(c);
    test_write_conditions(c);
    test_read_tree(c);
    test_delete(c);
    test_test_and_set(c);
    test_update(c, c2);
    test_mkdir_refresh_pop(c);
    test_null_accessors();
    test_bad_input(c);
    test_nasty_round_trips(c);
    test_error_last_per_thread(c);

    /* The TTL key is gone 2.5 s after it was written (one sleep, if any). */
    sleep_s(2.5 - (now_s() - ttl_written));
    CHECK_ST(etcdc_read(c, K("ttl1"), NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    /* Clean up: the whole prefix. */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    CHECK_ST(etcdc_delete(c, prefix, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, prefix, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);

    etcdc_client_free(c2);
    etcdc_client_free(c);
    printf("(%.1f s)\n", now_s() - start);
    printf("%d passed, %d failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
