/*
 * etcdc C tests of the options ABI: what the library writes and reads of a
 * versioned options struct, and what it says of a version it does not know.
 *
 *   test_abi                   (endpoint: $ETCDC_ENDPOINT, an etcd 3.4 with v2)
 *
 * A program compiled against an older header passes an older, shorter
 * struct: etcdc_X_options_init(opts, version) must write only that
 * version's bytes, and every function taking options must read only them.
 * Each struct sits in a heap block of exactly its version's size, so that
 * valgrind (`make run`) and AddressSanitizer (`make asan`) report any byte
 * written or read past it; the writes are also checked by hand, with the
 * block inside a larger one filled with 0xAB.
 *
 * The bug this guards against: etcdc_client_options_init() used to take no
 * version and write the whole current struct, so a program built with
 * version 1 (which ends where `ca_file` begins) had its heap overwritten:
 *
 *     size_t v1_size = offsetof(etcdc_client_options, ca_file);
 *     etcdc_client_options *o = malloc(v1_size);
 *     etcdc_client_options_init(o, 1);      // must write v1_size bytes only
 *
 * Keys live under /c-abi/<pid>, removed at the end. Each CHECK records a
 * failure with file:line and goes on; the last line printed is
 * "N passed, M failed", and the exit status is non-zero if M > 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ------------------------------------------------------------- helpers */

static char prefix[64];

static const char *K(const char *rel) {
    return ring_printf("%s/%s", prefix, rel);
}

/* The bytes after a block, checked for writes past its end. */
#define CANARY_BYTES 64
#define CANARY 0xAB

/*
 * Version 1 of etcdc_client_options, as the version-1 header declared it:
 * what a program compiled before the TLS and credential fields were added
 * passes. It must be the start of the current struct, field by field
 * (checked in test_client_v1_layout).
 */
struct client_options_v1 {
    uint32_t version;
    const char *host;
    uint16_t port;
    const char *protocol;
    const char *const *endpoints;
    size_t endpoint_count;
    uint64_t read_timeout_ms;
    uint64_t connect_timeout_ms;
    const char *version_prefix;
    bool no_redirect;
    uint64_t max_response_bytes;
    bool discover;
    const char *expected_cluster_id;
};

/*
 * Version 2, as the version-2 header declared it: version 1 and the TLS and
 * credential fields, before `srv_domain` and `dns_server` (version 3).
 */
struct client_options_v2 {
    uint32_t version;
    const char *host;
    uint16_t port;
    const char *protocol;
    const char *const *endpoints;
    size_t endpoint_count;
    uint64_t read_timeout_ms;
    uint64_t connect_timeout_ms;
    const char *version_prefix;
    bool no_redirect;
    uint64_t max_response_bytes;
    bool discover;
    const char *expected_cluster_id;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    bool insecure_skip_verify;
    const char *username;
    const char *password;
};

/* One options struct at one version, and its _init function. */
struct kind {
    const char *name;    /* the struct's C name (library messages say it) */
    uint32_t version;    /* the version tested */
    size_t size;         /* that version's size */
    uint32_t current;    /* the header's current version */
    etcdc_status (*init)(void *opts, uint32_t version);
};

/* Each _init() behind one signature (calling through a cast function
 * pointer would be undefined). */
static etcdc_status init_client(void *o, uint32_t v) {
    return etcdc_client_options_init(o, v);
}
static etcdc_status init_write(void *o, uint32_t v) {
    return etcdc_write_options_init(o, v);
}
static etcdc_status init_read(void *o, uint32_t v) {
    return etcdc_read_options_init(o, v);
}
static etcdc_status init_delete(void *o, uint32_t v) {
    return etcdc_delete_options_init(o, v);
}
static etcdc_status init_watch(void *o, uint32_t v) {
    return etcdc_watch_options_init(o, v);
}
static etcdc_status init_lock(void *o, uint32_t v) {
    return etcdc_lock_options_init(o, v);
}
static etcdc_status init_election(void *o, uint32_t v) {
    return etcdc_election_options_init(o, v);
}

static const struct kind kinds[] = {
    {"etcdc_client_options", 1, offsetof(etcdc_client_options, ca_file),
     ETCDC_CLIENT_OPTIONS_VERSION, init_client},
    {"etcdc_client_options", 2, offsetof(etcdc_client_options, srv_domain),
     ETCDC_CLIENT_OPTIONS_VERSION, init_client},
    {"etcdc_client_options", 3, sizeof(etcdc_client_options), ETCDC_CLIENT_OPTIONS_VERSION,
     init_client},
    {"etcdc_write_options", 1, sizeof(etcdc_write_options), ETCDC_WRITE_OPTIONS_VERSION,
     init_write},
    {"etcdc_read_options", 1, sizeof(etcdc_read_options), ETCDC_READ_OPTIONS_VERSION, init_read},
    {"etcdc_delete_options", 1, sizeof(etcdc_delete_options), ETCDC_DELETE_OPTIONS_VERSION,
     init_delete},
    {"etcdc_watch_options", 1, sizeof(etcdc_watch_options), ETCDC_WATCH_OPTIONS_VERSION,
     init_watch},
    {"etcdc_lock_options", 1, sizeof(etcdc_lock_options), ETCDC_LOCK_OPTIONS_VERSION, init_lock},
    {"etcdc_election_options", 1, sizeof(etcdc_election_options),
     ETCDC_ELECTION_OPTIONS_VERSION, init_election},
};
#define KINDS (sizeof kinds / sizeof kinds[0])

/* Whether `n` bytes at `p` are all `byte`. */
static int all_bytes(const unsigned char *p, size_t n, unsigned char byte) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != byte) {
            return 0;
        }
    }
    return 1;
}

/* Whether `block` holds what _init() writes for `version` in `size` bytes:
 * the version first, every other byte 0. */
static int is_initialised(const unsigned char *block, size_t size, uint32_t version) {
    uint32_t v;
    memcpy(&v, block, sizeof v);
    return v == version && all_bytes(block + sizeof v, size - sizeof v, 0);
}

/* --------------------------------------------- the reproduction, as a test */

static void test_client_v1_init_reproduction(void) {
    size_t v1_size = offsetof(etcdc_client_options, ca_file);

    /* A block of exactly version 1's size: a write past it is a heap
     * overflow, which ASan and valgrind report. */
    etcdc_client_options *o = malloc(v1_size);
    if (!CHECK(o != NULL)) {
        return;
    }
    memset(o, CANARY, v1_size);
    CHECK_ST(etcdc_client_options_init(o, 1), ETCDC_OK);
    CHECK(is_initialised((const unsigned char *)o, v1_size, 1));
    free(o);

    /* The same block inside a larger one: the bytes after it are untouched. */
    unsigned char *buf = malloc(sizeof(etcdc_client_options) + CANARY_BYTES);
    if (!CHECK(buf != NULL)) {
        return;
    }
    size_t total = sizeof(etcdc_client_options) + CANARY_BYTES;
    memset(buf, CANARY, total);
    CHECK_ST(etcdc_client_options_init((etcdc_client_options *)(void *)buf, 1), ETCDC_OK);
    CHECK(is_initialised(buf, v1_size, 1));
    if (!CHECK(all_bytes(buf + v1_size, total - v1_size, CANARY))) {
        for (size_t i = v1_size; i < total; i++) {
            if (buf[i] != CANARY) {
                printf("     byte %zu (version 1 has %zu) was written\n", i, v1_size);
                break;
            }
        }
    }
    free(buf);
}

/* ------------------------------------------------ every struct, every version */

static void test_init_every_version(void) {
    for (size_t k = 0; k < KINDS; k++) {
        const struct kind *t = &kinds[k];
        int before = failed;

        /* Known version, exactly its size: OK, all zero but the version. */
        unsigned char *exact = malloc(t->size);
        if (!CHECK(exact != NULL)) {
            continue;
        }
        memset(exact, CANARY, t->size);
        CHECK_ST(t->init(exact, t->version), ETCDC_OK);
        CHECK(is_initialised(exact, t->size, t->version));
        free(exact);

        /* Inside a larger block: nothing written past the version's size. */
        size_t total = t->size + CANARY_BYTES;
        unsigned char *buf = malloc(total);
        if (!CHECK(buf != NULL)) {
            continue;
        }
        memset(buf, CANARY, total);
        CHECK_ST(t->init(buf, t->version), ETCDC_OK);
        CHECK(is_initialised(buf, t->size, t->version));
        CHECK(all_bytes(buf + t->size, CANARY_BYTES, CANARY));

        /* Unknown versions: INVALID_ARGUMENT naming the struct, and not one
         * byte written. */
        const uint32_t unknown[] = {0, t->current + 1, UINT32_MAX};
        for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
            memset(buf, CANARY, total);
            CHECK_ST(t->init(buf, unknown[u]), ETCDC_ERR_INVALID_ARGUMENT);
            CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, t->name));
            CHECK(last_error_said(ETCDC_ERR_INVALID_ARGUMENT, ""));
            CHECK(all_bytes(buf, total, CANARY));
        }
        free(buf);

        /* NULL: INVALID_ARGUMENT, not a crash; also for an unknown version. */
        CHECK_ST(t->init(NULL, t->version), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "opts"));
        CHECK_ST(t->init(NULL, 0), ETCDC_ERR_INVALID_ARGUMENT);

        if (failed > before) {
            printf("     (%s version %u, %zu bytes)\n", t->name, (unsigned)t->version, t->size);
        }
    }

    /* The _INIT macros agree with the functions at the current version. */
    etcdc_client_options co = ETCDC_CLIENT_OPTIONS_INIT;
    etcdc_write_options wo = ETCDC_WRITE_OPTIONS_INIT;
    etcdc_read_options ro = ETCDC_READ_OPTIONS_INIT;
    etcdc_delete_options dopt = ETCDC_DELETE_OPTIONS_INIT;
    etcdc_watch_options wa = ETCDC_WATCH_OPTIONS_INIT;
    etcdc_lock_options lo = ETCDC_LOCK_OPTIONS_INIT;
    etcdc_election_options eo = ETCDC_ELECTION_OPTIONS_INIT;
    CHECK(co.version == ETCDC_CLIENT_OPTIONS_VERSION && co.host == NULL && co.password == NULL &&
          co.srv_domain == NULL && co.dns_server == NULL);
    CHECK(wo.version == ETCDC_WRITE_OPTIONS_VERSION && wo.ttl == 0 && !wo.refresh);
    CHECK(ro.version == ETCDC_READ_OPTIONS_VERSION && !ro.quorum);
    CHECK(dopt.version == ETCDC_DELETE_OPTIONS_VERSION && dopt.prev_index == 0);
    CHECK(wa.version == ETCDC_WATCH_OPTIONS_VERSION && !wa.recursive && wa.wait_index == 0);
    CHECK(lo.version == ETCDC_LOCK_OPTIONS_VERSION && lo.ttl == 0 && lo.prefix == NULL);
    CHECK(eo.version == ETCDC_ELECTION_OPTIONS_VERSION && eo.prefix == NULL);
    CHECK_INT(ETCDC_CLIENT_OPTIONS_VERSION, 3);
}

/* ------------------------------------- a version-1 client, end to end */

static void test_client_v1_layout(void) {
    /* The version-1 struct is the start of the current one, field by field. */
    CHECK_INT(sizeof(struct client_options_v1), offsetof(etcdc_client_options, ca_file));
#define SAME_OFFSET(f) \
    CHECK_INT(offsetof(struct client_options_v1, f), offsetof(etcdc_client_options, f))
    SAME_OFFSET(version);
    SAME_OFFSET(host);
    SAME_OFFSET(port);
    SAME_OFFSET(protocol);
    SAME_OFFSET(endpoints);
    SAME_OFFSET(endpoint_count);
    SAME_OFFSET(read_timeout_ms);
    SAME_OFFSET(connect_timeout_ms);
    SAME_OFFSET(version_prefix);
    SAME_OFFSET(no_redirect);
    SAME_OFFSET(max_response_bytes);
    SAME_OFFSET(discover);
    SAME_OFFSET(expected_cluster_id);
#undef SAME_OFFSET

    /* So is the version-2 struct. */
    CHECK_INT(sizeof(struct client_options_v2), offsetof(etcdc_client_options, srv_domain));
#define SAME_OFFSET(f) \
    CHECK_INT(offsetof(struct client_options_v2, f), offsetof(etcdc_client_options, f))
    SAME_OFFSET(version);
    SAME_OFFSET(endpoints);
    SAME_OFFSET(expected_cluster_id);
    SAME_OFFSET(ca_file);
    SAME_OFFSET(cert_file);
    SAME_OFFSET(key_file);
    SAME_OFFSET(insecure_skip_verify);
    SAME_OFFSET(username);
    SAME_OFFSET(password);
#undef SAME_OFFSET
}

static void test_client_v2_works(const char *endpoint) {
    /* A program built with version 2: its struct, on the heap in a block of
     * exactly its size, initialised by the library. */
    struct client_options_v2 *v2 = malloc(sizeof *v2);
    if (!CHECK(v2 != NULL)) {
        return;
    }
    memset(v2, CANARY, sizeof *v2);
    CHECK_ST(etcdc_client_options_init((etcdc_client_options *)(void *)v2, 2), ETCDC_OK);
    CHECK(v2->version == 2 && v2->endpoints == NULL && v2->ca_file == NULL &&
          v2->password == NULL && !v2->insecure_skip_verify);
    v2->endpoints = &endpoint;
    v2->endpoint_count = 1;
    v2->read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    /* Only version 2's bytes are read: srv_domain and dns_server take their
     * defaults (no DNS discovery). */
    if (CHECK_ST(etcdc_client_new((const etcdc_client_options *)(void *)v2, &c), ETCDC_OK)) {
        CHECK_ST(etcdc_write(c, K("v2/k"), "from a v2 client", NULL, NULL), ETCDC_OK);
        etcdc_response *r = NULL;
        if (CHECK_ST(etcdc_read(c, K("v2/k"), NULL, &r), ETCDC_OK)) {
            CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "from a v2 client");
        }
        etcdc_response_free(r);
        etcdc_client_free(c);
    }
    free(v2);

    /* A current struct that says version 2: the version-3 fields are not
     * read, whatever they hold (here values version 3 refuses). */
    etcdc_client_options o;
    CHECK_ST(etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION), ETCDC_OK);
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.srv_domain = "not..a.domain";
    o.dns_server = "not an address";
    c = NULL;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "dns_server"));
    o.version = 2;
    if (CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        CHECK_ST(etcdc_read(c, K("v2/k"), NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }

    /* Version 3 in a block of exactly its size: srv_domain and dns_server
     * are read, and checked before anything is asked. */
    etcdc_client_options *v3 = malloc(sizeof *v3);
    if (!CHECK(v3 != NULL)) {
        return;
    }
    CHECK_ST(etcdc_client_options_init(v3, 3), ETCDC_OK);
    v3->srv_domain = "example.test";
    v3->dns_server = "not an address";
    CHECK_ST(etcdc_client_new(v3, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "dns_server"));
    free(v3);
}

static void test_client_v1_works(const char *endpoint) {
    /* As a program built with version 1 does it: its own (shorter) struct,
     * initialised by the library, on the heap in a block of exactly its size. */
    struct client_options_v1 *v1 = malloc(sizeof *v1);
    if (!CHECK(v1 != NULL)) {
        return;
    }
    memset(v1, CANARY, sizeof *v1);
    CHECK_ST(etcdc_client_options_init((etcdc_client_options *)(void *)v1, 1), ETCDC_OK);
    CHECK(v1->version == 1 && v1->host == NULL && v1->endpoints == NULL &&
          v1->expected_cluster_id == NULL && !v1->discover);
    v1->endpoints = &endpoint;
    v1->endpoint_count = 1;
    v1->read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    /* Only version 1's bytes are read (ASan and valgrind would report a read
     * past the block), the newer fields take their defaults. */
    if (CHECK_ST(etcdc_client_new((const etcdc_client_options *)(void *)v1, &c), ETCDC_OK)) {
        etcdc_response *r = NULL;
        CHECK_ST(etcdc_write(c, K("v1/k"), "from a v1 client", NULL, NULL), ETCDC_OK);
        if (CHECK_ST(etcdc_read(c, K("v1/k"), NULL, &r), ETCDC_OK)) {
            CHECK_STR(etcdc_node_value(etcdc_response_node(r)), "from a v1 client");
        }
        etcdc_response_free(r);
        etcdc_client_free(c);
    }
    free(v1);

    /* A current struct that says version 1: the version-2 fields are not
     * read at all, whatever they hold (here a CA file that does not exist,
     * which version 2 would refuse). */
    etcdc_client_options o;
    CHECK_ST(etcdc_client_options_init(&o, ETCDC_CLIENT_OPTIONS_VERSION), ETCDC_OK);
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.ca_file = "/nonexistent/ca.pem";
    c = NULL;
    CHECK_ST(etcdc_client_new(&o, &c), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "/nonexistent/ca.pem"));
    o.version = 1;
    if (CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        CHECK_ST(etcdc_read(c, K("v1/k"), NULL, NULL), ETCDC_OK);
        etcdc_client_free(c);
    }
}

/* Each options struct, in a heap block of exactly its size, passed to the
 * functions that read it: nothing is read past it. */
static void test_exact_blocks_are_read_within(const etcdc_client *c) {
    etcdc_write_options *wo = malloc(sizeof *wo);
    etcdc_read_options *ro = malloc(sizeof *ro);
    etcdc_delete_options *dopt = malloc(sizeof *dopt);
    etcdc_watch_options *wa = malloc(sizeof *wa);
    etcdc_lock_options *lo = malloc(sizeof *lo);
    etcdc_election_options *eo = malloc(sizeof *eo);
    if (CHECK(wo && ro && dopt && wa && lo && eo)) {
        CHECK_ST(etcdc_write_options_init(wo, ETCDC_WRITE_OPTIONS_VERSION), ETCDC_OK);
        CHECK_ST(etcdc_read_options_init(ro, ETCDC_READ_OPTIONS_VERSION), ETCDC_OK);
        CHECK_ST(etcdc_delete_options_init(dopt, ETCDC_DELETE_OPTIONS_VERSION), ETCDC_OK);
        CHECK_ST(etcdc_watch_options_init(wa, ETCDC_WATCH_OPTIONS_VERSION), ETCDC_OK);
        CHECK_ST(etcdc_lock_options_init(lo, ETCDC_LOCK_OPTIONS_VERSION), ETCDC_OK);
        CHECK_ST(etcdc_election_options_init(eo, ETCDC_ELECTION_OPTIONS_VERSION), ETCDC_OK);
        wo->ttl = 60;
        /* Locks and elections under this run's prefix too. */
        char locks[96], elections[96];
        snprintf(locks, sizeof locks, "%s", K("locks"));
        snprintf(elections, sizeof elections, "%s", K("elections"));
        lo->prefix = locks;
        eo->prefix = elections;
        etcdc_response *r = NULL;
        uint64_t index = 0;
        if (CHECK_ST(etcdc_write(c, K("exact/k"), "v", wo, &r), ETCDC_OK)) {
            index = etcdc_node_modified_index(etcdc_response_node(r));
            CHECK(etcdc_node_ttl(etcdc_response_node(r)) > 50);
        }
        etcdc_response_free(r);
        CHECK_ST(etcdc_read(c, K("exact/k"), ro, NULL), ETCDC_OK);
        wa->wait_index = index;
        CHECK_ST(etcdc_watch(c, K("exact/k"), wa, 5000, NULL), ETCDC_OK);
        etcdc_watcher *w = NULL;
        if (CHECK_ST(etcdc_watcher_new(c, K("exact/k"), wa, &w), ETCDC_OK)) {
            CHECK_ST(etcdc_watcher_next(w, 5000, NULL), ETCDC_OK);
            etcdc_watcher_free(w);
        }
        CHECK_ST(etcdc_delete(c, K("exact/k"), dopt, NULL), ETCDC_OK);
        etcdc_lock *l = NULL;
        if (CHECK_ST(etcdc_lock_new(c, "exact", lo, &l), ETCDC_OK)) {
            CHECK_ST(etcdc_lock_acquire(l, 5000), ETCDC_OK);
            CHECK_ST(etcdc_lock_release(l), ETCDC_OK);
            etcdc_lock_free(l);
        }
        char *leader = NULL;
        CHECK_ST(etcdc_election_set(c, "/exact", "me", 30, eo, 0, NULL), ETCDC_OK);
        CHECK_ST(etcdc_read(c, K("elections/exact"), NULL, NULL), ETCDC_OK);
        if (CHECK_ST(etcdc_election_get(c, "/exact", eo, &leader), ETCDC_OK)) {
            CHECK_STR(leader, "me");
            etcdc_string_free(leader);
        }
        CHECK_ST(etcdc_election_renew(c, "/exact", "me", 30, eo), ETCDC_OK);
        CHECK_ST(etcdc_election_delete(c, "/exact", "me", eo), ETCDC_OK);
    }
    free(wo);
    free(ro);
    free(dopt);
    free(wa);
    free(lo);
    free(eo);
}

/* ------------------------------ options of an unknown version, in every call */

static void test_unknown_versions_refused(const etcdc_client *c, const char *endpoint) {
    static int sentinel_storage;
    void *const sentinel = &sentinel_storage;
    const char *key = K("unknown/k");

    const uint32_t versions[2][7] = {
        /* client, write, read, delete, watch, lock, election */
        {0, 0, 0, 0, 0, 0, 0},
        {ETCDC_CLIENT_OPTIONS_VERSION + 1, ETCDC_WRITE_OPTIONS_VERSION + 1,
         ETCDC_READ_OPTIONS_VERSION + 1, ETCDC_DELETE_OPTIONS_VERSION + 1,
         ETCDC_WATCH_OPTIONS_VERSION + 1, ETCDC_LOCK_OPTIONS_VERSION + 1,
         ETCDC_ELECTION_OPTIONS_VERSION + 1},
    };
    for (int i = 0; i < 2; i++) {
        const uint32_t *v = versions[i];
        char version_text[16];
        snprintf(version_text, sizeof version_text, "version %u", (unsigned)v[0]);

        etcdc_client_options co = ETCDC_CLIENT_OPTIONS_INIT;
        co.endpoints = &endpoint;
        co.endpoint_count = 1;
        co.version = v[0];
        etcdc_client *nc = (etcdc_client *)sentinel;
        CHECK_ST(etcdc_client_new(&co, &nc), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_client_options"));
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, version_text));
        CHECK(last_error_said(ETCDC_ERR_INVALID_ARGUMENT, ""));
        CHECK(nc == (etcdc_client *)sentinel);

        etcdc_response *r = (etcdc_response *)sentinel;
        etcdc_write_options wo = ETCDC_WRITE_OPTIONS_INIT;
        wo.version = v[1];
        CHECK_ST(etcdc_write(c, key, "x", &wo, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_write_options"));
        CHECK_ST(etcdc_read(c, key, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND); /* not sent */
        CHECK(last_error_said(ETCDC_ERR_KEY_NOT_FOUND, "Key not found"));

        etcdc_read_options ro = ETCDC_READ_OPTIONS_INIT;
        ro.version = v[2];
        CHECK_ST(etcdc_read(c, key, &ro, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_read_options"));

        etcdc_delete_options dopt = ETCDC_DELETE_OPTIONS_INIT;
        dopt.version = v[3];
        CHECK_ST(etcdc_delete(c, key, &dopt, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_delete_options"));

        etcdc_watch_options wa = ETCDC_WATCH_OPTIONS_INIT;
        wa.version = v[4];
        CHECK_ST(etcdc_watch(c, key, &wa, 100, &r), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_watch_options"));
        etcdc_watcher *w = (etcdc_watcher *)sentinel;
        CHECK_ST(etcdc_watcher_new(c, key, &wa, &w), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_watch_options"));
        CHECK(w == (etcdc_watcher *)sentinel);
        CHECK(r == (etcdc_response *)sentinel);

        etcdc_lock_options lo = ETCDC_LOCK_OPTIONS_INIT;
        lo.version = v[5];
        etcdc_lock *l = (etcdc_lock *)sentinel;
        CHECK_ST(etcdc_lock_new(c, K("unknown/lock"), &lo, &l), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_lock_options"));
        CHECK(l == (etcdc_lock *)sentinel);

        etcdc_election_options eo = ETCDC_ELECTION_OPTIONS_INIT;
        eo.version = v[6];
        char *leader = (char *)sentinel;
        CHECK_ST(etcdc_election_get(c, K("unknown/e"), &eo, &leader),
                 ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
        CHECK(leader == (char *)sentinel);
        CHECK_ST(etcdc_election_set(c, K("unknown/e"), "me", 30, &eo, 0, NULL),
                 ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(last_error_is(ETCDC_ERR_INVALID_ARGUMENT, "etcdc_election_options"));
    }
}

/* ---------------------------------------------------------------- main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-abi/%ld", (long)getpid());
    double start = now_s();

    test_client_v1_init_reproduction();
    test_init_every_version();
    test_client_v1_layout();
    test_client_v1_works(endpoint);
    test_client_v2_works(endpoint);

    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        return check_report();
    }
    test_exact_blocks_are_read_within(c);
    test_unknown_versions_refused(c, endpoint);

    /* Clean up: the whole prefix. */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    CHECK_ST(etcdc_delete(c, prefix, &wipe, NULL), ETCDC_OK);
    CHECK_ST(etcdc_read(c, prefix, NULL, NULL), ETCDC_ERR_KEY_NOT_FOUND);
    etcdc_client_free(c);
    printf("(%.1f s)\n", now_s() - start);
    return check_report();
}
