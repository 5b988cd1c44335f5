/*
 * etcdc C tests of the v3 API (keys, transactions, leases) against a real
 * etcd: every function of the header's v3 sections, with binary keys and
 * values (NUL bytes, invalid UTF-8), etcd's refusals (ETCDC_ERR_GRPC_*) and
 * the client's own (ETCDC_ERR_INVALID_ARGUMENT naming the argument).
 *
 *   test_v3                    (endpoint: $ETCDC_ENDPOINT, an etcd 3.4)
 *
 * Every key lives under /c-v3/<pid>/, removed at the end; leases are
 * revoked. The compaction test runs last (it compacts the whole store up to
 * a revision of its own). Each CHECK records a failure with file:line and
 * goes on; the last line printed is "N passed, M failed", and the exit
 * status is non-zero if M > 0. Built with -std=c99 -Wall -Wextra -Werror
 * -pedantic and run under valgrind and ASan/UBSan: everything is freed.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------- helpers */

static char prefix[64];

/* A key: bytes (NUL included) and their length. */
struct key {
    char bytes[512];
    size_t len;
};

/* The key `rel` (`n` bytes, any bytes) under this run's prefix. */
static struct key Kb(const void *rel, size_t n) {
    struct key k;
    size_t p = strlen(prefix);
    memcpy(k.bytes, prefix, p);
    memcpy(k.bytes + p, rel, n);
    k.len = p + n;
    k.bytes[k.len] = '\0';
    return k;
}

/* The key `rel` (text) under this run's prefix. */
static struct key K(const char *rel) {
    return Kb(rel, strlen(rel));
}

/* A key's pointer and length, as the v3 calls take them. */
#define KEY(k) (k).bytes, (k).len

/* n bytes at p are `want` (want_n bytes), followed by the NUL the header
 * promises after every key and value. */
static int bytes_are(const uint8_t *p, size_t n, const void *want, size_t want_n) {
    return p != NULL && n == want_n && memcmp(p, want, n) == 0 && p[n] == 0;
}

/* The kv is `key` with the text value `value`. */
static int kv_is(const etcdc_v3_kv *kv, struct key key, const char *value) {
    return kv != NULL && bytes_are(kv->key, kv->key_len, key.bytes, key.len) &&
           bytes_are(kv->value, kv->value_len, value, strlen(value));
}

/* Puts a value (n bytes) at k; the revision it made, or 0. */
static int64_t put_bytes(const etcdc_client *c, struct key k, const void *v, size_t n) {
    etcdc_v3_put_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_put(c, KEY(k), v, n, NULL, &r), ETCDC_OK)) {
        return 0;
    }
    int64_t rev = etcdc_v3_put_response_header(r)->revision;
    etcdc_v3_put_response_free(r);
    return rev;
}

static int64_t put(const etcdc_client *c, struct key k, const char *text) {
    return put_bytes(c, k, text, strlen(text));
}

/* The range of k with o (NULL: k alone), or NULL if it failed. */
static etcdc_v3_range_response *get(const etcdc_client *c, struct key k,
                                    const etcdc_v3_range_options *o) {
    etcdc_v3_range_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_range(c, KEY(k), o, &r), ETCDC_OK)) {
        return NULL;
    }
    return r;
}

/* The value of k as text ("" if absent), into a ring buffer. */
static const char *value_of(const etcdc_client *c, struct key k) {
    etcdc_v3_range_response *r = get(c, k, NULL);
    const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, 0);
    const char *v = ring_printf("%s", kv != NULL ? (const char *)kv->value : "");
    etcdc_v3_range_response_free(r);
    return v;
}

/* Whether k exists. */
static int exists(const etcdc_client *c, struct key k) {
    etcdc_v3_range_response *r = get(c, k, NULL);
    int n = (int)etcdc_v3_range_response_kv_count(r);
    etcdc_v3_range_response_free(r);
    return n == 1;
}

/* The store's revision now. */
static int64_t revision_now(const etcdc_client *c) {
    struct key k = K("revision-probe");
    etcdc_v3_range_response *r = get(c, k, NULL);
    int64_t rev = r != NULL ? etcdc_v3_range_response_header(r)->revision : 0;
    etcdc_v3_range_response_free(r);
    return rev;
}

/* The last error: INVALID_ARGUMENT from the client (no server words), its
 * message naming `what`. */
static int refused(const char *what) {
    return last_error_is(ETCDC_ERR_INVALID_ARGUMENT, what) &&
           last_error_said(ETCDC_ERR_INVALID_ARGUMENT, "");
}

static int64_t grant(const etcdc_client *c, int64_t ttl) {
    int64_t id = 0;
    CHECK_ST(etcdc_v3_lease_grant(c, ttl, 0, &id, NULL), ETCDC_OK);
    return id;
}

/* ------------------------------------------------------------- options */

static void test_options_init(void) {
    /* Each _init() writes its version and zeros, exactly as its INIT. */
    etcdc_v3_range_options ro;
    memset(&ro, 0xab, sizeof ro);
    CHECK_ST(etcdc_v3_range_options_init(&ro, ETCDC_V3_RANGE_OPTIONS_VERSION), ETCDC_OK);
    etcdc_v3_range_options ri = ETCDC_V3_RANGE_OPTIONS_INIT;
    CHECK(ro.version == ETCDC_V3_RANGE_OPTIONS_VERSION && ri.version == ro.version);
    CHECK(ro.range_end == NULL && ro.range_end_len == 0 && !ro.prefix && ro.limit == 0 &&
          ro.revision == 0 && ro.sort_target == ETCDC_V3_SORT_BY_KEY &&
          ro.sort_order == ETCDC_V3_SORT_NONE && !ro.serializable && !ro.keys_only &&
          !ro.count_only && ro.min_mod_revision == 0 && ro.max_mod_revision == 0 &&
          ro.min_create_revision == 0 && ro.max_create_revision == 0);
    CHECK(ri.range_end == NULL && ri.sort_target == ro.sort_target && ri.max_create_revision == 0);

    etcdc_v3_put_options po;
    memset(&po, 0xab, sizeof po);
    CHECK_ST(etcdc_v3_put_options_init(&po, ETCDC_V3_PUT_OPTIONS_VERSION), ETCDC_OK);
    etcdc_v3_put_options pi = ETCDC_V3_PUT_OPTIONS_INIT;
    CHECK(po.version == pi.version && po.lease == 0 && !po.prev_kv && !po.ignore_value &&
          !po.ignore_lease);

    etcdc_v3_delete_options dopt;
    memset(&dopt, 0xab, sizeof dopt);
    CHECK_ST(etcdc_v3_delete_options_init(&dopt, ETCDC_V3_DELETE_OPTIONS_VERSION), ETCDC_OK);
    etcdc_v3_delete_options di = ETCDC_V3_DELETE_OPTIONS_INIT;
    CHECK(dopt.version == di.version && dopt.range_end == NULL && dopt.range_end_len == 0 &&
          !dopt.prefix && !dopt.prev_kv);

    etcdc_v3_compare_options co;
    memset(&co, 0xab, sizeof co);
    CHECK_ST(etcdc_v3_compare_options_init(&co, ETCDC_V3_COMPARE_OPTIONS_VERSION), ETCDC_OK);
    etcdc_v3_compare_options ci = ETCDC_V3_COMPARE_OPTIONS_INIT;
    CHECK(co.version == ci.version && co.range_end == NULL && co.range_end_len == 0 &&
          !co.prefix);

    /* Unknown versions: refused, naming the struct, and nothing written. */
    uint32_t bad[] = {0, ETCDC_V3_RANGE_OPTIONS_VERSION + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&ro, 0xab, sizeof ro);
        CHECK_ST(etcdc_v3_range_options_init(&ro, bad[i]), ETCDC_ERR_INVALID_ARGUMENT);
        CHECK(refused("etcdc_v3_range_options"));
        CHECK(((unsigned char *)&ro)[0] == 0xab && ((unsigned char *)&ro)[sizeof ro - 1] == 0xab);
    }
    CHECK_ST(etcdc_v3_put_options_init(&po, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_delete_options_init(&dopt, 2), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_compare_options_init(&co, 0), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_range_options_init(NULL, 1), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("opts is NULL"));

    /* Version 1 in a heap block of exactly its size: valgrind and ASan see
     * any byte written or read past it. */
    etcdc_v3_range_options *heap = (etcdc_v3_range_options *)malloc(sizeof *heap);
    CHECK_ST(etcdc_v3_range_options_init(heap, 1), ETCDC_OK);
    etcdc_v3_put_options *pheap = (etcdc_v3_put_options *)malloc(sizeof *pheap);
    CHECK_ST(etcdc_v3_put_options_init(pheap, 1), ETCDC_OK);
    etcdc_v3_delete_options *dheap = (etcdc_v3_delete_options *)malloc(sizeof *dheap);
    CHECK_ST(etcdc_v3_delete_options_init(dheap, 1), ETCDC_OK);
    etcdc_v3_compare_options *cheap = (etcdc_v3_compare_options *)malloc(sizeof *cheap);
    CHECK_ST(etcdc_v3_compare_options_init(cheap, 1), ETCDC_OK);
    /* ...and read within it by the calls that take it. */
    struct key k = K("abi");
    etcdc_v3_txn *t = NULL;
    CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_compare_version(t, KEY(k), ETCDC_V3_EQUAL, 0, cheap), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_put(t, ETCDC_V3_ON_SUCCESS, KEY(k), "v", 1, pheap), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_range(t, ETCDC_V3_ON_SUCCESS, KEY(k), heap), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_delete(t, ETCDC_V3_ON_FAILURE, KEY(k), dheap), ETCDC_OK);
    etcdc_v3_txn_free(t);
    free(cheap);
    free(dheap);
    free(pheap);
    free(heap);
}

/* ---------------------------------------------------------- put / range */

static void test_put_and_range(const etcdc_client *c) {
    struct key k = K("basic");
    etcdc_v3_put_response *pr = NULL;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "hello", 5, NULL, &pr), ETCDC_OK);
    const etcdc_v3_header *h = etcdc_v3_put_response_header(pr);
    CHECK(h != NULL && h->revision > 1 && h->cluster_id != 0 && h->member_id != 0 &&
          h->raft_term != 0);
    int64_t rev = h != NULL ? h->revision : 0;
    CHECK(etcdc_v3_put_response_prev_kv(pr) == NULL); /* not asked for */
    etcdc_v3_put_response_free(pr);

    etcdc_v3_range_response *r = get(c, k, NULL);
    h = etcdc_v3_range_response_header(r);
    CHECK(h != NULL && h->revision >= rev && h->cluster_id != 0);
    CHECK_INT(etcdc_v3_range_response_count(r), 1);
    CHECK(!etcdc_v3_range_response_more(r));
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 1);
    const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv_is(kv, k, "hello"));
    CHECK(kv != NULL && kv->create_revision == rev && kv->mod_revision == rev &&
          kv->version == 1 && kv->lease == 0);
    CHECK(etcdc_v3_range_response_kv(r, 1) == NULL);
    CHECK(etcdc_v3_range_response_kv(r, SIZE_MAX) == NULL);
    etcdc_v3_range_response_free(r);

    /* A second put: version 2, same create revision; prev_kv asked for. */
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    o.prev_kv = true;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "world", 5, &o, &pr), ETCDC_OK);
    CHECK(kv_is(etcdc_v3_put_response_prev_kv(pr), k, "hello"));
    int64_t rev2 = etcdc_v3_put_response_header(pr)->revision;
    CHECK(rev2 > rev);
    etcdc_v3_put_response_free(pr);
    r = get(c, k, NULL);
    kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv_is(kv, k, "world"));
    CHECK(kv != NULL && kv->create_revision == rev && kv->mod_revision == rev2 && kv->version == 2);
    etcdc_v3_range_response_free(r);

    /* prev_kv of a key that did not exist: none. */
    struct key fresh = K("fresh");
    CHECK_ST(etcdc_v3_put(c, KEY(fresh), "x", 1, &o, &pr), ETCDC_OK);
    CHECK(etcdc_v3_put_response_prev_kv(pr) == NULL);
    etcdc_v3_put_response_free(pr);

    /* A key that does not exist: no error, no kv. */
    struct key none = K("no-such-key");
    r = get(c, none, NULL);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 0);
    CHECK_INT(etcdc_v3_range_response_count(r), 0);
    CHECK(etcdc_v3_range_response_kv(r, 0) == NULL);
    etcdc_v3_range_response_free(r);

    /* `out` may be NULL. */
    CHECK_ST(etcdc_v3_put(c, KEY(k), "again", 5, NULL, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_range(c, KEY(k), NULL, NULL), ETCDC_OK);
    CHECK_STR(value_of(c, k), "again");
}

static void test_binary_keys_and_values(const etcdc_client *c) {
    /* Keys that differ only after a NUL byte are different keys. */
    static const char rel_a[] = "bin/a\0b\xff";
    static const char rel_b[] = "bin/a\0c";
    struct key a = Kb(rel_a, sizeof rel_a - 1), b = Kb(rel_b, sizeof rel_b - 1);
    static const unsigned char va[] = {0x00, 0xff, 0xfe, 0x00, 'x', 0xc3, 0x28};
    CHECK(put_bytes(c, a, va, sizeof va) > 0);
    CHECK(put_bytes(c, b, "\0", 1) > 0);

    etcdc_v3_range_response *r = get(c, a, NULL);
    const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv != NULL && bytes_are(kv->key, kv->key_len, a.bytes, a.len));
    CHECK(kv != NULL && bytes_are(kv->value, kv->value_len, va, sizeof va));
    etcdc_v3_range_response_free(r);

    /* The prefix up to and with the NUL finds both, in byte order. */
    static const char rel_p[] = "bin/a\0";
    struct key p = Kb(rel_p, sizeof rel_p - 1);
    etcdc_v3_range_options o = ETCDC_V3_RANGE_OPTIONS_INIT;
    o.prefix = true;
    r = get(c, p, &o);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 2);
    kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv != NULL && bytes_are(kv->key, kv->key_len, a.bytes, a.len));
    kv = etcdc_v3_range_response_kv(r, 1);
    CHECK(kv != NULL && bytes_are(kv->key, kv->key_len, b.bytes, b.len) &&
          bytes_are(kv->value, kv->value_len, "\0", 1));
    etcdc_v3_range_response_free(r);

    /* An empty value: NULL with length 0; read back as "" (never NULL). */
    struct key e = K("bin/empty");
    CHECK_ST(etcdc_v3_put(c, KEY(e), NULL, 0, NULL, NULL), ETCDC_OK);
    r = get(c, e, NULL);
    kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv != NULL && kv->value != NULL && kv->value_len == 0 && kv->value[0] == 0);
    etcdc_v3_range_response_free(r);

    /* A large value holding every byte value, round-tripped. */
    size_t big_len = 300000;
    unsigned char *big = (unsigned char *)malloc(big_len);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (unsigned char)(i * 7 + i / 256);
    }
    struct key bk = K("bin/big");
    CHECK(put_bytes(c, bk, big, big_len) > 0);
    r = get(c, bk, NULL);
    kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv != NULL && bytes_are(kv->value, kv->value_len, big, big_len));
    etcdc_v3_range_response_free(r);
    free(big);

    /* Delete the binary keys by their exact bytes. */
    etcdc_v3_delete_response *d = NULL;
    CHECK_ST(etcdc_v3_delete(c, KEY(a), NULL, &d), ETCDC_OK);
    CHECK_INT(etcdc_v3_delete_response_deleted(d), 1);
    etcdc_v3_delete_response_free(d);
    CHECK(!exists(c, a) && exists(c, b));
}

/* r/a .. r/d, written d, c, b, a (mod revisions against key order), then
 * r/a again: rev[i] is the revision of the last write of key i. */
static void test_range_options(const etcdc_client *c) {
    const char *names[] = {"r/a", "r/b", "r/c", "r/d"};
    int64_t created[4], rev[4];
    for (int i = 3; i >= 0; i--) {
        char v[2] = {(char)('1' + i), 0};
        created[i] = rev[i] = put(c, K(names[i]), v);
    }
    rev[0] = put(c, K("r/a"), "5");
    struct key r_ = K("r/");
    etcdc_v3_range_options o = ETCDC_V3_RANGE_OPTIONS_INIT;
    etcdc_v3_range_response *r;

    /* prefix: by key. */
    o.prefix = true;
    r = get(c, r_, &o);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 4);
    CHECK_INT(etcdc_v3_range_response_count(r), 4);
    for (size_t i = 0; i < 4; i++) {
        const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, i);
        CHECK(kv != NULL && bytes_are(kv->key, kv->key_len, K(names[i]).bytes, K(names[i]).len));
        CHECK(kv != NULL && kv->mod_revision == rev[i] && kv->create_revision == created[i]);
    }
    etcdc_v3_range_response_free(r);

    /* limit: one key, more, count of all. */
    o.limit = 1;
    r = get(c, r_, &o);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 1);
    CHECK(etcdc_v3_range_response_more(r));
    CHECK_INT(etcdc_v3_range_response_count(r), 4);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/a"), "5"));
    etcdc_v3_range_response_free(r);
    o.limit = 0;

    /* Sorted by mod revision, descending: a (rewritten), then d, c, b... no:
     * written d, c, b, a, a: a is last, then b, c, d. */
    o.sort_target = ETCDC_V3_SORT_BY_MOD_REVISION;
    o.sort_order = ETCDC_V3_SORT_DESCEND;
    r = get(c, r_, &o);
    const char *by_mod_desc[] = {"r/a", "r/b", "r/c", "r/d"};
    for (size_t i = 0; i < 4; i++) {
        const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, i);
        struct key want = K(by_mod_desc[i]);
        CHECK(kv != NULL && bytes_are(kv->key, kv->key_len, want.bytes, want.len));
    }
    etcdc_v3_range_response_free(r);
    /* Ascending by mod revision: d first. */
    o.sort_order = ETCDC_V3_SORT_ASCEND;
    r = get(c, r_, &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/d"), "4"));
    etcdc_v3_range_response_free(r);
    /* By value with no order given: ascending ("2" "3" "4" "5"). */
    o.sort_target = ETCDC_V3_SORT_BY_VALUE;
    o.sort_order = ETCDC_V3_SORT_NONE;
    r = get(c, r_, &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/b"), "2"));
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 3), K("r/a"), "5"));
    etcdc_v3_range_response_free(r);
    /* By key, descending; by version and create revision. */
    o.sort_target = ETCDC_V3_SORT_BY_KEY;
    o.sort_order = ETCDC_V3_SORT_DESCEND;
    r = get(c, r_, &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/d"), "4"));
    etcdc_v3_range_response_free(r);
    o.sort_target = ETCDC_V3_SORT_BY_VERSION;
    r = get(c, r_, &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/a"), "5")); /* version 2 */
    etcdc_v3_range_response_free(r);
    o.sort_target = ETCDC_V3_SORT_BY_CREATE_REVISION;
    o.sort_order = ETCDC_V3_SORT_ASCEND;
    r = get(c, r_, &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/d"), "4"));
    etcdc_v3_range_response_free(r);
    o.sort_target = ETCDC_V3_SORT_BY_KEY;
    o.sort_order = ETCDC_V3_SORT_NONE;

    /* keys_only, count_only, serializable. */
    o.keys_only = true;
    r = get(c, r_, &o);
    const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv != NULL && kv->value_len == 0 && kv->value != NULL && kv->value[0] == 0 &&
          kv->key_len > 0);
    etcdc_v3_range_response_free(r);
    o.keys_only = false;
    o.count_only = true;
    r = get(c, r_, &o);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 0);
    CHECK_INT(etcdc_v3_range_response_count(r), 4);
    etcdc_v3_range_response_free(r);
    o.count_only = false;
    o.serializable = true;
    r = get(c, r_, &o);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 4);
    etcdc_v3_range_response_free(r);
    o.serializable = false;

    /* Revision bounds. */
    o.min_mod_revision = rev[1];
    r = get(c, r_, &o); /* a (rewritten) and b */
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 2);
    etcdc_v3_range_response_free(r);
    o.min_mod_revision = 0;
    o.max_mod_revision = rev[2];
    r = get(c, r_, &o); /* c and d */
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 2);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/c"), "3"));
    etcdc_v3_range_response_free(r);
    o.max_mod_revision = 0;
    o.min_create_revision = created[1];
    r = get(c, r_, &o); /* a and b */
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 2);
    etcdc_v3_range_response_free(r);
    o.min_create_revision = 0;
    o.max_create_revision = created[3];
    r = get(c, r_, &o); /* d */
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 1);
    etcdc_v3_range_response_free(r);
    o.max_create_revision = 0;

    /* A past revision: r/a as it was before its rewrite. */
    o.prefix = false;
    o.revision = rev[0] - 1;
    r = get(c, K("r/a"), &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/a"), "1"));
    /* The header says the store's revision now, not the one read at. */
    CHECK(etcdc_v3_range_response_header(r)->revision >= rev[0]);
    etcdc_v3_range_response_free(r);
    o.revision = 0;

    /* range_end: [r/b, r/d). */
    struct key end = K("r/d");
    o.range_end = end.bytes;
    o.range_end_len = end.len;
    r = get(c, K("r/b"), &o);
    CHECK_INT(etcdc_v3_range_response_kv_count(r), 2);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/b"), "2"));
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 1), K("r/c"), "3"));
    etcdc_v3_range_response_free(r);
    /* range_end "\0": every key from r/c on (the first two are c and d). */
    o.range_end = "\0";
    o.range_end_len = 1;
    r = get(c, K("r/c"), &o);
    CHECK(etcdc_v3_range_response_kv_count(r) >= 2);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), K("r/c"), "3"));
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 1), K("r/d"), "4"));
    etcdc_v3_range_response_free(r);

    /* Refused before sending: prefix with range_end, unknown sort values,
     * NULL with a length, an unknown version; out untouched. */
    etcdc_v3_range_response *untouched = (etcdc_v3_range_response *)&o;
    etcdc_v3_range_response *out = untouched;
    o.prefix = true;
    CHECK_ST(etcdc_v3_range(c, KEY(r_), &o, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("prefix and range_end"));
    o.prefix = false;
    o.range_end = NULL;
    o.range_end_len = 2;
    CHECK_ST(etcdc_v3_range(c, KEY(r_), &o, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("range_end is NULL"));
    o.range_end_len = 0;
    o.sort_target = 99;
    CHECK_ST(etcdc_v3_range(c, KEY(r_), &o, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("sort_target"));
    o.sort_target = ETCDC_V3_SORT_BY_KEY;
    o.sort_order = -1;
    CHECK_ST(etcdc_v3_range(c, KEY(r_), &o, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("sort_order"));
    o.sort_order = ETCDC_V3_SORT_NONE;
    o.version = 0;
    CHECK_ST(etcdc_v3_range(c, KEY(r_), &o, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("etcdc_v3_range_options has version 0"));
    o.version = ETCDC_V3_RANGE_OPTIONS_VERSION;
    CHECK_ST(etcdc_v3_range(c, NULL, 3, NULL, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key is NULL"));
    CHECK_ST(etcdc_v3_range(c, "k", SIZE_MAX, NULL, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key_len"));
    CHECK(out == untouched);

    /* Refused by etcd: a future revision, an empty key. */
    o.revision = revision_now(c) + 1000;
    CHECK_ST(etcdc_v3_range(c, KEY(r_), &o, &out), ETCDC_ERR_GRPC_OUT_OF_RANGE);
    CHECK(last_error_said(ETCDC_ERR_GRPC_OUT_OF_RANGE,
                          "etcdserver: mvcc: required revision is a future revision"));
    o.revision = 0;
    CHECK_ST(etcdc_v3_range(c, NULL, 0, NULL, &out), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK(last_error_said(ETCDC_ERR_GRPC_INVALID_ARGUMENT, "etcdserver: key is not provided"));
    CHECK(out == untouched);
}

/* ---------------------------------------------------------------- delete */

static void test_delete(const etcdc_client *c) {
    put(c, K("d/a"), "1");
    put(c, K("d/b"), "2");
    put(c, K("d/c"), "3");
    put(c, K("d/d"), "4");
    put(c, K("d/e"), "5");

    /* One key, with prev_kv. */
    etcdc_v3_delete_options o = ETCDC_V3_DELETE_OPTIONS_INIT;
    o.prev_kv = true;
    etcdc_v3_delete_response *d = NULL;
    struct key a = K("d/a");
    CHECK_ST(etcdc_v3_delete(c, KEY(a), &o, &d), ETCDC_OK);
    CHECK_INT(etcdc_v3_delete_response_deleted(d), 1);
    CHECK_INT(etcdc_v3_delete_response_prev_kv_count(d), 1);
    CHECK(kv_is(etcdc_v3_delete_response_prev_kv(d, 0), a, "1"));
    CHECK(etcdc_v3_delete_response_prev_kv(d, 1) == NULL);
    const etcdc_v3_header *h = etcdc_v3_delete_response_header(d);
    CHECK(h != NULL && h->revision > 0);
    etcdc_v3_delete_response_free(d);

    /* Nothing there: no error, 0 deleted. */
    CHECK_ST(etcdc_v3_delete(c, KEY(a), NULL, &d), ETCDC_OK);
    CHECK_INT(etcdc_v3_delete_response_deleted(d), 0);
    CHECK_INT(etcdc_v3_delete_response_prev_kv_count(d), 0);
    etcdc_v3_delete_response_free(d);

    /* A range [d/b, d/d), without prev_kv: deleted 2, none carried. */
    struct key b = K("d/b"), end = K("d/d");
    etcdc_v3_delete_options range = ETCDC_V3_DELETE_OPTIONS_INIT;
    range.range_end = end.bytes;
    range.range_end_len = end.len;
    CHECK_ST(etcdc_v3_delete(c, KEY(b), &range, &d), ETCDC_OK);
    CHECK_INT(etcdc_v3_delete_response_deleted(d), 2);
    CHECK_INT(etcdc_v3_delete_response_prev_kv_count(d), 0);
    etcdc_v3_delete_response_free(d);
    CHECK(!exists(c, K("d/c")) && exists(c, K("d/d")));

    /* The prefix, with prev_kv: d and e, by key. */
    struct key p = K("d/");
    o.prefix = true;
    CHECK_ST(etcdc_v3_delete(c, KEY(p), &o, &d), ETCDC_OK);
    CHECK_INT(etcdc_v3_delete_response_deleted(d), 2);
    CHECK(kv_is(etcdc_v3_delete_response_prev_kv(d, 0), K("d/d"), "4"));
    CHECK(kv_is(etcdc_v3_delete_response_prev_kv(d, 1), K("d/e"), "5"));
    etcdc_v3_delete_response_free(d);

    /* Refused: prefix with range_end; NULL key with a length; out NULL ok. */
    o.range_end = "x";
    o.range_end_len = 1;
    CHECK_ST(etcdc_v3_delete(c, KEY(p), &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("prefix and range_end"));
    CHECK_ST(etcdc_v3_delete(c, NULL, 1, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key is NULL"));
    CHECK_ST(etcdc_v3_delete(c, NULL, 0, NULL, NULL), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_delete(c, KEY(p), NULL, NULL), ETCDC_OK);
}

/* ----------------------------------------------------------- put options */

static void test_put_options(const etcdc_client *c) {
    int64_t lease = grant(c, 120);
    struct key k = K("po/leased");
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    o.lease = lease;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "v1", 2, &o, NULL), ETCDC_OK);
    etcdc_v3_range_response *r = get(c, k, NULL);
    const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv != NULL && kv->lease == lease);
    etcdc_v3_range_response_free(r);

    /* ignore_lease: a new value, the lease kept. */
    etcdc_v3_put_options keep_lease = ETCDC_V3_PUT_OPTIONS_INIT;
    keep_lease.ignore_lease = true;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "v2", 2, &keep_lease, NULL), ETCDC_OK);
    r = get(c, k, NULL);
    kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv_is(kv, k, "v2") && kv->lease == lease);
    etcdc_v3_range_response_free(r);

    /* ignore_value: the value kept, the lease dropped (lease 0). */
    etcdc_v3_put_options keep_value = ETCDC_V3_PUT_OPTIONS_INIT;
    keep_value.ignore_value = true;
    CHECK_ST(etcdc_v3_put(c, KEY(k), NULL, 0, &keep_value, NULL), ETCDC_OK);
    r = get(c, k, NULL);
    kv = etcdc_v3_range_response_kv(r, 0);
    CHECK(kv_is(kv, k, "v2") && kv->lease == 0);
    etcdc_v3_range_response_free(r);

    /* etcd's refusals: a lease that does not exist; ignore_value on a key
     * that does not exist, or with a value. */
    o.lease = 0x7e57;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "v", 1, &o, NULL), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(last_error_said(ETCDC_ERR_GRPC_NOT_FOUND, "etcdserver: requested lease not found"));
    struct key none = K("po/none");
    CHECK_ST(etcdc_v3_put(c, KEY(none), NULL, 0, &keep_value, NULL),
             ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_put(c, KEY(k), "v", 1, &keep_value, NULL), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK(last_error_said(ETCDC_ERR_GRPC_INVALID_ARGUMENT, "etcdserver: value is provided"));

    /* Refused before sending: NULL value with a length; unknown version. */
    CHECK_ST(etcdc_v3_put(c, KEY(k), NULL, 4, NULL, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("value is NULL but value_len is 4"));
    o.version = 2;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "v", 1, &o, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("etcdc_v3_put_options has version 2"));
    CHECK_STR(value_of(c, k), "v2");
    CHECK_ST(etcdc_v3_lease_revoke(c, lease, NULL), ETCDC_OK);
}

/* ---------------------------------------------------------- transactions */

/* Commits txn; its response, or NULL. */
static etcdc_v3_txn_response *commit(const etcdc_client *c, const etcdc_v3_txn *txn) {
    etcdc_v3_txn_response *r = NULL;
    if (!CHECK_ST(etcdc_v3_txn_commit(c, txn, &r), ETCDC_OK)) {
        return NULL;
    }
    return r;
}

/* Whether a txn with the one compare that `add` adds succeeds. */
typedef etcdc_status (*add_compare)(etcdc_v3_txn *txn, struct key k, int op, int64_t n);

static etcdc_status cmp_version(etcdc_v3_txn *t, struct key k, int op, int64_t n) {
    return etcdc_v3_txn_compare_version(t, KEY(k), op, n, NULL);
}
static etcdc_status cmp_create(etcdc_v3_txn *t, struct key k, int op, int64_t n) {
    return etcdc_v3_txn_compare_create_revision(t, KEY(k), op, n, NULL);
}
static etcdc_status cmp_mod(etcdc_v3_txn *t, struct key k, int op, int64_t n) {
    return etcdc_v3_txn_compare_mod_revision(t, KEY(k), op, n, NULL);
}
static etcdc_status cmp_lease(etcdc_v3_txn *t, struct key k, int op, int64_t n) {
    return etcdc_v3_txn_compare_lease(t, KEY(k), op, n, NULL);
}

/* 1 if a txn whose only compare is add(k, op, n) succeeds, 0 if not, -1 if
 * it could not be run. */
static int holds(const etcdc_client *c, add_compare add, struct key k, int op, int64_t n) {
    etcdc_v3_txn *t = NULL;
    int result = -1;
    if (CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK) && CHECK_ST(add(t, k, op, n), ETCDC_OK)) {
        etcdc_v3_txn_response *r = commit(c, t);
        if (r != NULL) {
            result = etcdc_v3_txn_response_succeeded(r);
            CHECK_INT(etcdc_v3_txn_response_op_count(r), 0);
        }
        etcdc_v3_txn_response_free(r);
    }
    etcdc_v3_txn_free(t);
    return result;
}

/* The same with a value compare. */
static int value_holds(const etcdc_client *c, struct key k, int op, const char *v,
                       const etcdc_v3_compare_options *o) {
    etcdc_v3_txn *t = NULL;
    int result = -1;
    if (CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK) &&
        CHECK_ST(etcdc_v3_txn_compare_value(t, KEY(k), op, v, strlen(v), o), ETCDC_OK)) {
        etcdc_v3_txn_response *r = commit(c, t);
        if (r != NULL) {
            result = etcdc_v3_txn_response_succeeded(r);
        }
        etcdc_v3_txn_response_free(r);
    }
    etcdc_v3_txn_free(t);
    return result;
}

static void test_txn_compares(const etcdc_client *c) {
    int64_t lease = grant(c, 120);
    struct key k = K("t/k");
    etcdc_v3_put_options with_lease = ETCDC_V3_PUT_OPTIONS_INIT;
    with_lease.lease = lease;
    /* Three puts: created with the lease, the second drops it, the third
     * attaches it again (version 3, mod revision `mod`). */
    etcdc_v3_put_response *pr = NULL;
    CHECK_ST(etcdc_v3_put(c, KEY(k), "m", 1, &with_lease, &pr), ETCDC_OK);
    int64_t created = etcdc_v3_put_response_header(pr)->revision;
    etcdc_v3_put_response_free(pr);
    put(c, k, "m");
    CHECK_ST(etcdc_v3_put(c, KEY(k), "m", 1, &with_lease, &pr), ETCDC_OK);
    int64_t mod = etcdc_v3_put_response_header(pr)->revision;
    etcdc_v3_put_response_free(pr);
    struct key none = K("t/none");

    /* value: "m" vs "m", "a", "z". */
    CHECK_INT(value_holds(c, k, ETCDC_V3_EQUAL, "m", NULL), 1);
    CHECK_INT(value_holds(c, k, ETCDC_V3_EQUAL, "a", NULL), 0);
    CHECK_INT(value_holds(c, k, ETCDC_V3_NOT_EQUAL, "a", NULL), 1);
    CHECK_INT(value_holds(c, k, ETCDC_V3_GREATER, "a", NULL), 1);
    CHECK_INT(value_holds(c, k, ETCDC_V3_LESS, "z", NULL), 1);
    CHECK_INT(value_holds(c, k, ETCDC_V3_LESS, "a", NULL), 0);
    /* A key that does not exist has no value: a value compare fails. */
    CHECK_INT(value_holds(c, none, ETCDC_V3_NOT_EQUAL, "x", NULL), 0);

    /* version (3), create and mod revision, lease. */
    CHECK_INT(holds(c, cmp_version, k, ETCDC_V3_EQUAL, 3), 1);
    CHECK_INT(holds(c, cmp_version, k, ETCDC_V3_GREATER, 3), 0);
    CHECK_INT(holds(c, cmp_version, none, ETCDC_V3_EQUAL, 0), 1);
    CHECK_INT(holds(c, cmp_create, k, ETCDC_V3_EQUAL, created), 1);
    CHECK_INT(holds(c, cmp_create, k, ETCDC_V3_LESS, created), 0);
    CHECK_INT(holds(c, cmp_mod, k, ETCDC_V3_EQUAL, mod), 1);
    CHECK_INT(holds(c, cmp_mod, k, ETCDC_V3_NOT_EQUAL, mod), 0);
    CHECK_INT(holds(c, cmp_mod, k, ETCDC_V3_GREATER, created), 1);
    CHECK_INT(holds(c, cmp_lease, k, ETCDC_V3_EQUAL, lease), 1);
    CHECK_INT(holds(c, cmp_lease, k, ETCDC_V3_EQUAL, 0), 0);
    CHECK_INT(holds(c, cmp_lease, none, ETCDC_V3_EQUAL, 0), 1);

    /* Over a prefix and a range: every key must hold. */
    put(c, K("t/p/1"), "same");
    put(c, K("t/p/2"), "same");
    put(c, K("t/p/3"), "other");
    struct key p = K("t/p/");
    etcdc_v3_compare_options o = ETCDC_V3_COMPARE_OPTIONS_INIT;
    o.prefix = true;
    CHECK_INT(value_holds(c, p, ETCDC_V3_EQUAL, "same", &o), 0);
    CHECK_INT(value_holds(c, p, ETCDC_V3_NOT_EQUAL, "none", &o), 1);
    struct key end = K("t/p/3");
    etcdc_v3_compare_options range = ETCDC_V3_COMPARE_OPTIONS_INIT;
    range.range_end = end.bytes;
    range.range_end_len = end.len;
    CHECK_INT(value_holds(c, K("t/p/1"), ETCDC_V3_EQUAL, "same", &range), 1);

    /* Refused, the txn unchanged: op, options. */
    etcdc_v3_txn *t = NULL;
    CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_compare_value(t, KEY(k), 4, "m", 1, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("op is 4"));
    CHECK_ST(etcdc_v3_txn_compare_version(t, KEY(k), -1, 0, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("op"));
    o.range_end = "x";
    o.range_end_len = 1;
    CHECK_ST(etcdc_v3_txn_compare_mod_revision(t, KEY(k), ETCDC_V3_EQUAL, 0, &o),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("prefix and range_end"));
    o.version = 9;
    CHECK_ST(etcdc_v3_txn_compare_lease(t, KEY(k), ETCDC_V3_EQUAL, 0, &o),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("etcdc_v3_compare_options has version 9"));
    CHECK_ST(etcdc_v3_txn_compare_create_revision(t, NULL, 1, ETCDC_V3_EQUAL, 0, NULL),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key is NULL"));
    CHECK_ST(etcdc_v3_txn_compare_value(t, KEY(k), ETCDC_V3_EQUAL, NULL, 1, NULL),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("value is NULL"));
    CHECK_ST(etcdc_v3_txn_compare_value(NULL, KEY(k), ETCDC_V3_EQUAL, "m", 1, NULL),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("txn is NULL"));
    /* Nothing was added: no compare fails, the success branch runs. */
    etcdc_v3_txn_response *r = commit(c, t);
    CHECK(etcdc_v3_txn_response_succeeded(r));
    etcdc_v3_txn_response_free(r);
    etcdc_v3_txn_free(t);
    CHECK_ST(etcdc_v3_lease_revoke(c, lease, NULL), ETCDC_OK);
}

static void test_txn_ops(const etcdc_client *c) {
    struct key a = K("to/a"), b = K("to/b"), gone = K("to/gone"), p = K("to/");
    put(c, a, "1");
    put(c, gone, "bye");

    /* An empty transaction: succeeds, no ops. */
    etcdc_v3_txn *t = NULL;
    CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK);
    etcdc_v3_txn_response *r = commit(c, t);
    CHECK(etcdc_v3_txn_response_succeeded(r));
    CHECK_INT(etcdc_v3_txn_response_op_count(r), 0);
    CHECK(etcdc_v3_txn_response_op_kind(r, 0) == ETCDC_V3_OP_NONE);
    etcdc_v3_txn_response_free(r);

    /* Success branch: range (prefix), put (prev_kv), delete (prev_kv),
     * nested txn; failure branch: a range of a. */
    CHECK_ST(etcdc_v3_txn_compare_value(t, KEY(a), ETCDC_V3_EQUAL, "1", 1, NULL), ETCDC_OK);
    etcdc_v3_range_options prefix = ETCDC_V3_RANGE_OPTIONS_INIT;
    prefix.prefix = true;
    CHECK_ST(etcdc_v3_txn_add_range(t, ETCDC_V3_ON_SUCCESS, KEY(p), &prefix), ETCDC_OK);
    etcdc_v3_put_options prev = ETCDC_V3_PUT_OPTIONS_INIT;
    prev.prev_kv = true;
    CHECK_ST(etcdc_v3_txn_add_put(t, ETCDC_V3_ON_SUCCESS, KEY(a), "2", 1, &prev), ETCDC_OK);
    etcdc_v3_delete_options dprev = ETCDC_V3_DELETE_OPTIONS_INIT;
    dprev.prev_kv = true;
    CHECK_ST(etcdc_v3_txn_add_delete(t, ETCDC_V3_ON_SUCCESS, KEY(gone), &dprev), ETCDC_OK);
    etcdc_v3_txn *nested = NULL;
    CHECK_ST(etcdc_v3_txn_new(&nested), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_compare_version(nested, KEY(b), ETCDC_V3_EQUAL, 0, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_put(nested, ETCDC_V3_ON_SUCCESS, KEY(b), "new", 3, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_txn(t, ETCDC_V3_ON_SUCCESS, nested), ETCDC_OK);
    /* The nested txn was copied: changing or freeing it now changes nothing. */
    CHECK_ST(etcdc_v3_txn_add_range(nested, ETCDC_V3_ON_SUCCESS, KEY(b), NULL), ETCDC_OK);
    etcdc_v3_txn_free(nested);
    CHECK_ST(etcdc_v3_txn_add_range(t, ETCDC_V3_ON_FAILURE, KEY(a), NULL), ETCDC_OK);

    r = commit(c, t);
    CHECK(etcdc_v3_txn_response_succeeded(r));
    const etcdc_v3_header *h = etcdc_v3_txn_response_header(r);
    CHECK(h != NULL && h->revision > 0 && h->cluster_id != 0);
    CHECK_INT(etcdc_v3_txn_response_op_count(r), 4);
    CHECK(etcdc_v3_txn_response_op_kind(r, 0) == ETCDC_V3_OP_RANGE);
    CHECK(etcdc_v3_txn_response_op_kind(r, 1) == ETCDC_V3_OP_PUT);
    CHECK(etcdc_v3_txn_response_op_kind(r, 2) == ETCDC_V3_OP_DELETE);
    CHECK(etcdc_v3_txn_response_op_kind(r, 3) == ETCDC_V3_OP_TXN);
    CHECK(etcdc_v3_txn_response_op_kind(r, 4) == ETCDC_V3_OP_NONE);
    /* Each answer through its own accessor; the others give NULL. */
    const etcdc_v3_range_response *rr = etcdc_v3_txn_response_op_range(r, 0);
    CHECK_INT(etcdc_v3_range_response_kv_count(rr), 2); /* a and gone, before the writes */
    CHECK(kv_is(etcdc_v3_range_response_kv(rr, 0), a, "1"));
    CHECK(etcdc_v3_range_response_header(rr) != NULL);
    CHECK(etcdc_v3_txn_response_op_put(r, 0) == NULL && etcdc_v3_txn_response_op_delete(r, 0) ==
          NULL && etcdc_v3_txn_response_op_txn(r, 0) == NULL);
    const etcdc_v3_put_response *pr = etcdc_v3_txn_response_op_put(r, 1);
    CHECK(kv_is(etcdc_v3_put_response_prev_kv(pr), a, "1"));
    CHECK(etcdc_v3_txn_response_op_range(r, 1) == NULL);
    const etcdc_v3_delete_response *dr = etcdc_v3_txn_response_op_delete(r, 2);
    CHECK_INT(etcdc_v3_delete_response_deleted(dr), 1);
    CHECK(kv_is(etcdc_v3_delete_response_prev_kv(dr, 0), gone, "bye"));
    const etcdc_v3_txn_response *nr = etcdc_v3_txn_response_op_txn(r, 3);
    CHECK(etcdc_v3_txn_response_succeeded(nr));
    CHECK_INT(etcdc_v3_txn_response_op_count(nr), 1); /* the copy: no range */
    CHECK(etcdc_v3_txn_response_op_kind(nr, 0) == ETCDC_V3_OP_PUT);
    CHECK(etcdc_v3_put_response_header(etcdc_v3_txn_response_op_put(nr, 0)) != NULL);
    CHECK(etcdc_v3_txn_response_op_range(r, 4) == NULL);
    CHECK(etcdc_v3_txn_response_op_txn(r, SIZE_MAX) == NULL);
    etcdc_v3_txn_response_free(r);
    CHECK_STR(value_of(c, a), "2");
    CHECK_STR(value_of(c, b), "new");
    CHECK(!exists(c, gone));

    /* The same txn again: a is "2" now, the failure branch runs. */
    r = commit(c, t);
    CHECK(!etcdc_v3_txn_response_succeeded(r));
    CHECK_INT(etcdc_v3_txn_response_op_count(r), 1);
    CHECK(kv_is(etcdc_v3_range_response_kv(etcdc_v3_txn_response_op_range(r, 0), 0), a, "2"));
    etcdc_v3_txn_response_free(r);
    /* `out` may be NULL. */
    CHECK_ST(etcdc_v3_txn_commit(c, t, NULL), ETCDC_OK);
    etcdc_v3_txn_free(t);

    /* A txn added to itself: its ops so far, copied. */
    CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_range(t, ETCDC_V3_ON_SUCCESS, KEY(a), NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_txn(t, ETCDC_V3_ON_SUCCESS, t), ETCDC_OK);
    r = commit(c, t);
    CHECK_INT(etcdc_v3_txn_response_op_count(r), 2);
    nr = etcdc_v3_txn_response_op_txn(r, 1);
    CHECK_INT(etcdc_v3_txn_response_op_count(nr), 1);
    CHECK(kv_is(etcdc_v3_range_response_kv(etcdc_v3_txn_response_op_range(nr, 0), 0), a, "2"));
    etcdc_v3_txn_response_free(r);

    /* Refused, the txn unchanged: branch, NULLs, options. */
    CHECK_ST(etcdc_v3_txn_add_put(t, 2, KEY(a), "x", 1, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("branch is 2"));
    CHECK_ST(etcdc_v3_txn_add_range(t, -1, KEY(a), NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("branch"));
    CHECK_ST(etcdc_v3_txn_add_delete(t, ETCDC_V3_ON_SUCCESS, NULL, 5, NULL),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("key is NULL"));
    CHECK_ST(etcdc_v3_txn_add_txn(t, ETCDC_V3_ON_SUCCESS, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("nested is NULL"));
    CHECK_ST(etcdc_v3_txn_add_txn(NULL, ETCDC_V3_ON_SUCCESS, t), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("txn is NULL"));
    etcdc_v3_range_options bad = ETCDC_V3_RANGE_OPTIONS_INIT;
    bad.sort_order = 7;
    CHECK_ST(etcdc_v3_txn_add_range(t, ETCDC_V3_ON_SUCCESS, KEY(a), &bad),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("sort_order"));
    etcdc_v3_put_options badp = ETCDC_V3_PUT_OPTIONS_INIT;
    badp.version = 0;
    CHECK_ST(etcdc_v3_txn_add_put(t, ETCDC_V3_ON_FAILURE, KEY(a), "x", 1, &badp),
             ETCDC_ERR_INVALID_ARGUMENT);
    etcdc_v3_txn_response *untouched = (etcdc_v3_txn_response *)&bad, *out = untouched;
    CHECK_ST(etcdc_v3_txn_commit(c, NULL, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("txn is NULL"));
    CHECK_ST(etcdc_v3_txn_commit(NULL, t, &out), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK(out == untouched);
    r = commit(c, t);
    CHECK_INT(etcdc_v3_txn_response_op_count(r), 2);
    etcdc_v3_txn_response_free(r);
    etcdc_v3_txn_free(t);

    /* etcd's refusal: a branch that writes a key twice. */
    CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_put(t, ETCDC_V3_ON_SUCCESS, KEY(a), "x", 1, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_delete(t, ETCDC_V3_ON_SUCCESS, KEY(a), NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_commit(c, t, &out), ETCDC_ERR_GRPC_INVALID_ARGUMENT);
    CHECK(last_error_said(ETCDC_ERR_GRPC_INVALID_ARGUMENT,
                          "etcdserver: duplicate key given in txn request"));
    CHECK(out == untouched);
    etcdc_v3_txn_free(t);
    CHECK_STR(value_of(c, a), "2");

    CHECK_ST(etcdc_v3_txn_new(NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));
    etcdc_v3_txn_free(NULL);
}

static void test_conveniences(const etcdc_client *c) {
    struct key k = K("cas/k");
    etcdc_v3_swap_response *s = NULL;

    /* put_if_absent: created; then not, with the key as it is. */
    CHECK_ST(etcdc_v3_put_if_absent(c, KEY(k), "v1", 2, 0, &s), ETCDC_OK);
    CHECK(etcdc_v3_swap_response_succeeded(s));
    CHECK(etcdc_v3_swap_response_current(s) == NULL);
    int64_t rev1 = etcdc_v3_swap_response_revision(s);
    CHECK(rev1 > 0);
    etcdc_v3_swap_response_free(s);
    CHECK_ST(etcdc_v3_put_if_absent(c, KEY(k), "v2", 2, 0, &s), ETCDC_OK);
    CHECK(!etcdc_v3_swap_response_succeeded(s));
    const etcdc_v3_kv *cur = etcdc_v3_swap_response_current(s);
    CHECK(kv_is(cur, k, "v1") && cur->mod_revision == rev1);
    etcdc_v3_swap_response_free(s);

    /* put_if_mod_revision: stale revision refused; current one applied. */
    CHECK_ST(etcdc_v3_put_if_mod_revision(c, KEY(k), rev1 - 1, "v2", 2, &s), ETCDC_OK);
    CHECK(!etcdc_v3_swap_response_succeeded(s));
    CHECK(kv_is(etcdc_v3_swap_response_current(s), k, "v1"));
    etcdc_v3_swap_response_free(s);
    CHECK_ST(etcdc_v3_put_if_mod_revision(c, KEY(k), rev1, "v2", 2, &s), ETCDC_OK);
    CHECK(etcdc_v3_swap_response_succeeded(s));
    int64_t rev2 = etcdc_v3_swap_response_revision(s);
    CHECK(rev2 > rev1);
    etcdc_v3_swap_response_free(s);
    /* Revision 0: only if it does not exist. */
    struct key fresh = K("cas/fresh");
    CHECK_ST(etcdc_v3_put_if_mod_revision(c, KEY(fresh), 0, "f", 1, &s), ETCDC_OK);
    CHECK(etcdc_v3_swap_response_succeeded(s));
    etcdc_v3_swap_response_free(s);

    /* put_if_value, with binary values. */
    CHECK_ST(etcdc_v3_put_if_value(c, KEY(k), "v1", 2, "\0v3", 3, &s), ETCDC_OK);
    CHECK(!etcdc_v3_swap_response_succeeded(s));
    CHECK(kv_is(etcdc_v3_swap_response_current(s), k, "v2"));
    etcdc_v3_swap_response_free(s);
    CHECK_ST(etcdc_v3_put_if_value(c, KEY(k), "v2", 2, "\0v3", 3, &s), ETCDC_OK);
    CHECK(etcdc_v3_swap_response_succeeded(s));
    etcdc_v3_swap_response_free(s);

    /* delete_if_value: the wrong value refused; the right one deletes. */
    CHECK_ST(etcdc_v3_delete_if_value(c, KEY(k), "v2", 2, &s), ETCDC_OK);
    CHECK(!etcdc_v3_swap_response_succeeded(s));
    cur = etcdc_v3_swap_response_current(s);
    CHECK(cur != NULL && bytes_are(cur->value, cur->value_len, "\0v3", 3));
    int64_t rev3 = cur != NULL ? cur->mod_revision : 0;
    etcdc_v3_swap_response_free(s);
    /* delete_if_mod_revision: stale refused. */
    CHECK_ST(etcdc_v3_delete_if_mod_revision(c, KEY(k), rev2, &s), ETCDC_OK);
    CHECK(!etcdc_v3_swap_response_succeeded(s));
    etcdc_v3_swap_response_free(s);
    CHECK_ST(etcdc_v3_delete_if_mod_revision(c, KEY(k), rev3, &s), ETCDC_OK);
    CHECK(etcdc_v3_swap_response_succeeded(s));
    etcdc_v3_swap_response_free(s);
    CHECK(!exists(c, k));
    /* A key that does not exist: not applied, no current kv. */
    CHECK_ST(etcdc_v3_delete_if_value(c, KEY(k), "v2", 2, &s), ETCDC_OK);
    CHECK(!etcdc_v3_swap_response_succeeded(s) && etcdc_v3_swap_response_current(s) == NULL);
    etcdc_v3_swap_response_free(s);

    /* A lease: attached by put_if_absent; one that does not exist refused. */
    int64_t lease = grant(c, 120);
    struct key lk = K("cas/leased");
    CHECK_ST(etcdc_v3_put_if_absent(c, KEY(lk), "l", 1, lease, &s), ETCDC_OK);
    CHECK(etcdc_v3_swap_response_succeeded(s));
    etcdc_v3_swap_response_free(s);
    etcdc_v3_range_response *r = get(c, lk, NULL);
    CHECK(etcdc_v3_range_response_kv(r, 0) != NULL &&
          etcdc_v3_range_response_kv(r, 0)->lease == lease);
    etcdc_v3_range_response_free(r);
    etcdc_v3_swap_response *untouched = (etcdc_v3_swap_response *)&k;
    s = untouched;
    struct key k2 = K("cas/k2");
    CHECK_ST(etcdc_v3_put_if_absent(c, KEY(k2), "l", 1, 0x7e57, &s), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(s == untouched);
    CHECK_ST(etcdc_v3_lease_revoke(c, lease, NULL), ETCDC_OK);

    /* `out` is required; NULLs with lengths refused. */
    CHECK_ST(etcdc_v3_put_if_absent(c, KEY(k), "v", 1, 0, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));
    CHECK_ST(etcdc_v3_put_if_value(c, KEY(k), NULL, 1, "v", 1, &s), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("expected is NULL"));
    CHECK_ST(etcdc_v3_delete_if_value(c, KEY(k), NULL, 2, &s), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("expected is NULL"));
    CHECK_ST(etcdc_v3_delete_if_mod_revision(NULL, KEY(k), 1, &s), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK_ST(etcdc_v3_put_if_mod_revision(c, KEY(k), 1, NULL, 1, &s), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("value is NULL"));
    CHECK(s == untouched);
}

/* ----------------------------------------------------------------- leases */

static int listed(const etcdc_v3_lease_list *l, int64_t id) {
    for (size_t i = 0; i < etcdc_v3_lease_list_count(l); i++) {
        if (etcdc_v3_lease_list_get(l, i) == id) {
            return 1;
        }
    }
    return 0;
}

static void test_leases(const etcdc_client *c) {
    /* Granted with an id etcd chooses, and with one of ours. */
    int64_t id = 0, ttl = 0;
    CHECK_ST(etcdc_v3_lease_grant(c, 60, 0, &id, &ttl), ETCDC_OK);
    CHECK(id != 0);
    CHECK_INT(ttl, 60);
    int64_t mine = ((int64_t)getpid() << 20) | 0x5eed;
    int64_t got = 0;
    CHECK_ST(etcdc_v3_lease_grant(c, 30, mine, &got, NULL), ETCDC_OK);
    CHECK(got == mine);
    /* An id in use: etcd 3.4 says FAILED_PRECONDITION (others ALREADY_EXISTS). */
    etcdc_status st = etcdc_v3_lease_grant(c, 30, mine, NULL, NULL);
    CHECK(st == ETCDC_ERR_GRPC_FAILED_PRECONDITION || st == ETCDC_ERR_GRPC_ALREADY_EXISTS);
    CHECK(last_error_said(st, "etcdserver: lease already exists"));
    /* Refused before sending: a TTL that is not positive; outs untouched. */
    int64_t untouched_id = 0x1111, untouched_ttl = 0x2222;
    CHECK_ST(etcdc_v3_lease_grant(c, 0, 0, &untouched_id, &untouched_ttl),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("TTL"));
    CHECK_ST(etcdc_v3_lease_grant(NULL, 10, 0, &untouched_id, &untouched_ttl),
             ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK(untouched_id == 0x1111 && untouched_ttl == 0x2222);

    /* Two keys attached, one binary. */
    static const char rel[] = "lease/\0k\xff";
    struct key k1 = K("lease/k1"), k2 = Kb(rel, sizeof rel - 1);
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    o.lease = id;
    CHECK_ST(etcdc_v3_put(c, KEY(k1), "a", 1, &o, NULL), ETCDC_OK);
    CHECK_ST(etcdc_v3_put(c, KEY(k2), "b", 1, &o, NULL), ETCDC_OK);

    /* Time to live, with its keys (in etcd's order: compare as a set). */
    etcdc_v3_lease_ttl_response *t = NULL;
    CHECK_ST(etcdc_v3_lease_time_to_live(c, id, true, &t), ETCDC_OK);
    CHECK(etcdc_v3_lease_ttl_response_id(t) == id);
    CHECK(etcdc_v3_lease_ttl_response_ttl(t) > 0 && etcdc_v3_lease_ttl_response_ttl(t) <= 60);
    CHECK_INT(etcdc_v3_lease_ttl_response_granted_ttl(t), 60);
    CHECK(etcdc_v3_lease_ttl_response_header(t) != NULL &&
          etcdc_v3_lease_ttl_response_header(t)->revision > 0);
    CHECK_INT(etcdc_v3_lease_ttl_response_key_count(t), 2);
    int seen1 = 0, seen2 = 0;
    for (size_t i = 0; i < etcdc_v3_lease_ttl_response_key_count(t); i++) {
        const uint8_t *key = etcdc_v3_lease_ttl_response_key(t, i);
        size_t len = etcdc_v3_lease_ttl_response_key_len(t, i);
        seen1 += bytes_are(key, len, k1.bytes, k1.len);
        seen2 += bytes_are(key, len, k2.bytes, k2.len);
    }
    CHECK(seen1 == 1 && seen2 == 1);
    CHECK(etcdc_v3_lease_ttl_response_key(t, 2) == NULL);
    CHECK_INT(etcdc_v3_lease_ttl_response_key_len(t, 2), 0);
    etcdc_v3_lease_ttl_response_free(t);
    /* Without keys: none carried. */
    CHECK_ST(etcdc_v3_lease_time_to_live(c, id, false, &t), ETCDC_OK);
    CHECK_INT(etcdc_v3_lease_ttl_response_key_count(t), 0);
    etcdc_v3_lease_ttl_response_free(t);

    /* Keep-alive once: the TTL starts again. */
    ttl = 0;
    CHECK_ST(etcdc_v3_lease_keep_alive_once(c, id, &ttl), ETCDC_OK);
    CHECK_INT(ttl, 60);
    CHECK_ST(etcdc_v3_lease_keep_alive_once(c, id, NULL), ETCDC_OK);

    /* The list has both. */
    etcdc_v3_lease_list *l = NULL;
    CHECK_ST(etcdc_v3_leases(c, &l), ETCDC_OK);
    CHECK(etcdc_v3_lease_list_count(l) >= 2);
    CHECK(listed(l, id) && listed(l, mine));
    CHECK(etcdc_v3_lease_list_get(l, etcdc_v3_lease_list_count(l)) == 0);
    etcdc_v3_lease_list_free(l);

    /* Revoke: the keys go with it, at the revision the header says. */
    etcdc_v3_header h;
    memset(&h, 0, sizeof h);
    CHECK_ST(etcdc_v3_lease_revoke(c, id, &h), ETCDC_OK);
    CHECK(h.revision > 0 && h.cluster_id != 0 && h.member_id != 0);
    CHECK(!exists(c, k1) && !exists(c, k2));
    CHECK_ST(etcdc_v3_lease_revoke(c, mine, NULL), ETCDC_OK);

    /* A lease that no longer exists: revoke and keep-alive NOT_FOUND (outs
     * untouched), time to live -1. */
    memset(&h, 0xab, sizeof h);
    CHECK_ST(etcdc_v3_lease_revoke(c, id, &h), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(last_error_said(ETCDC_ERR_GRPC_NOT_FOUND, "etcdserver: requested lease not found"));
    CHECK(last_error_is(ETCDC_ERR_GRPC_NOT_FOUND, "requested lease not found"));
    CHECK(((unsigned char *)&h)[0] == 0xab && ((unsigned char *)&h)[sizeof h - 1] == 0xab);
    ttl = 0x3333;
    CHECK_ST(etcdc_v3_lease_keep_alive_once(c, id, &ttl), ETCDC_ERR_GRPC_NOT_FOUND);
    CHECK(ttl == 0x3333);
    CHECK_ST(etcdc_v3_lease_time_to_live(c, id, true, &t), ETCDC_OK);
    CHECK_INT(etcdc_v3_lease_ttl_response_ttl(t), -1);
    CHECK_INT(etcdc_v3_lease_ttl_response_key_count(t), 0);
    etcdc_v3_lease_ttl_response_free(t);
    CHECK_ST(etcdc_v3_leases(c, &l), ETCDC_OK);
    CHECK(!listed(l, id) && !listed(l, mine));
    etcdc_v3_lease_list_free(l);

    /* NULL arguments. */
    CHECK_ST(etcdc_v3_lease_time_to_live(c, id, true, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));
    CHECK_ST(etcdc_v3_leases(c, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("out is NULL"));
    CHECK_ST(etcdc_v3_leases(NULL, &l), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK_ST(etcdc_v3_lease_revoke(NULL, id, NULL), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK_ST(etcdc_v3_lease_keep_alive_once(NULL, id, NULL), ETCDC_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------- NULL accessors */

static void test_null_accessors(void) {
    CHECK(etcdc_v3_range_response_header(NULL) == NULL);
    CHECK(etcdc_v3_range_response_count(NULL) == 0);
    CHECK(!etcdc_v3_range_response_more(NULL));
    CHECK(etcdc_v3_range_response_kv_count(NULL) == 0);
    CHECK(etcdc_v3_range_response_kv(NULL, 0) == NULL);
    CHECK(etcdc_v3_put_response_header(NULL) == NULL);
    CHECK(etcdc_v3_put_response_prev_kv(NULL) == NULL);
    CHECK(etcdc_v3_delete_response_header(NULL) == NULL);
    CHECK(etcdc_v3_delete_response_deleted(NULL) == 0);
    CHECK(etcdc_v3_delete_response_prev_kv_count(NULL) == 0);
    CHECK(etcdc_v3_delete_response_prev_kv(NULL, 0) == NULL);
    CHECK(etcdc_v3_txn_response_header(NULL) == NULL);
    CHECK(!etcdc_v3_txn_response_succeeded(NULL));
    CHECK(etcdc_v3_txn_response_op_count(NULL) == 0);
    CHECK(etcdc_v3_txn_response_op_kind(NULL, 0) == ETCDC_V3_OP_NONE);
    CHECK(etcdc_v3_txn_response_op_range(NULL, 0) == NULL);
    CHECK(etcdc_v3_txn_response_op_put(NULL, 0) == NULL);
    CHECK(etcdc_v3_txn_response_op_delete(NULL, 0) == NULL);
    CHECK(etcdc_v3_txn_response_op_txn(NULL, 0) == NULL);
    CHECK(!etcdc_v3_swap_response_succeeded(NULL));
    CHECK(etcdc_v3_swap_response_revision(NULL) == 0);
    CHECK(etcdc_v3_swap_response_current(NULL) == NULL);
    CHECK(etcdc_v3_lease_ttl_response_header(NULL) == NULL);
    CHECK(etcdc_v3_lease_ttl_response_id(NULL) == 0);
    CHECK(etcdc_v3_lease_ttl_response_ttl(NULL) == 0);
    CHECK(etcdc_v3_lease_ttl_response_granted_ttl(NULL) == 0);
    CHECK(etcdc_v3_lease_ttl_response_key_count(NULL) == 0);
    CHECK(etcdc_v3_lease_ttl_response_key(NULL, 0) == NULL);
    CHECK(etcdc_v3_lease_ttl_response_key_len(NULL, 0) == 0);
    CHECK(etcdc_v3_lease_list_count(NULL) == 0);
    CHECK(etcdc_v3_lease_list_get(NULL, 0) == 0);
    /* Every _free takes NULL. */
    etcdc_v3_range_response_free(NULL);
    etcdc_v3_put_response_free(NULL);
    etcdc_v3_delete_response_free(NULL);
    etcdc_v3_txn_response_free(NULL);
    etcdc_v3_swap_response_free(NULL);
    etcdc_v3_lease_ttl_response_free(NULL);
    etcdc_v3_lease_list_free(NULL);
    etcdc_v3_txn_free(NULL);
    CHECK(1);
}

/* A response, and a transaction, outlive the client they came from. */
static void test_outlive_client(const etcdc_client *c, const char *endpoint) {
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    etcdc_client *c2 = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c2), ETCDC_OK)) {
        return;
    }
    struct key k = K("outlive");
    put(c, k, "still here");
    etcdc_v3_range_response *r = NULL;
    CHECK_ST(etcdc_v3_range(c2, KEY(k), NULL, &r), ETCDC_OK);
    etcdc_v3_txn *t = NULL;
    CHECK_ST(etcdc_v3_txn_new(&t), ETCDC_OK);
    CHECK_ST(etcdc_v3_txn_add_range(t, ETCDC_V3_ON_SUCCESS, KEY(k), NULL), ETCDC_OK);
    etcdc_v3_txn_response *tr = NULL;
    CHECK_ST(etcdc_v3_txn_commit(c2, t, &tr), ETCDC_OK);
    etcdc_client_free(c2);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), k, "still here"));
    CHECK(kv_is(etcdc_v3_range_response_kv(etcdc_v3_txn_response_op_range(tr, 0), 0), k,
                "still here"));
    etcdc_v3_txn_response *again = commit(c, t);
    CHECK(etcdc_v3_txn_response_succeeded(again));
    etcdc_v3_txn_response_free(again);
    etcdc_v3_txn_response_free(tr);
    etcdc_v3_txn_free(t);
    etcdc_v3_range_response_free(r);
}

/* ------------------------------------------------------------ compaction */

static void test_compact(const etcdc_client *c) {
    struct key k = K("compact/k");
    int64_t old = put(c, k, "old");
    int64_t now = put(c, k, "new");
    etcdc_v3_header h;
    memset(&h, 0, sizeof h);
    CHECK_ST(etcdc_v3_compact(c, now, true, &h), ETCDC_OK);
    CHECK(h.revision >= now && h.cluster_id != 0);

    /* The old revision is gone; the current one reads. */
    etcdc_v3_range_options o = ETCDC_V3_RANGE_OPTIONS_INIT;
    o.revision = old;
    etcdc_v3_range_response *r = NULL;
    CHECK_ST(etcdc_v3_range(c, KEY(k), &o, &r), ETCDC_ERR_GRPC_OUT_OF_RANGE);
    CHECK(last_error_said(ETCDC_ERR_GRPC_OUT_OF_RANGE,
                          "etcdserver: mvcc: required revision has been compacted"));
    CHECK(r == NULL);
    o.revision = now;
    r = get(c, k, &o);
    CHECK(kv_is(etcdc_v3_range_response_kv(r, 0), k, "new"));
    etcdc_v3_range_response_free(r);

    /* Compacted already, in the future, not positive: refused, header
     * untouched. */
    memset(&h, 0xab, sizeof h);
    CHECK_ST(etcdc_v3_compact(c, old, false, &h), ETCDC_ERR_GRPC_OUT_OF_RANGE);
    CHECK_ST(etcdc_v3_compact(c, now + 100000, false, &h), ETCDC_ERR_GRPC_OUT_OF_RANGE);
    CHECK_ST(etcdc_v3_compact(c, 0, false, &h), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("revision"));
    CHECK_ST(etcdc_v3_compact(NULL, now, false, &h), ETCDC_ERR_INVALID_ARGUMENT);
    CHECK(refused("client is NULL"));
    CHECK(((unsigned char *)&h)[0] == 0xab && ((unsigned char *)&h)[sizeof h - 1] == 0xab);
    /* header may be NULL. */
    CHECK_ST(etcdc_v3_compact(c, put(c, k, "newer"), false, NULL), ETCDC_OK);
}

/* ------------------------------------------------------------------ main */

int main(void) {
    const char *endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(prefix, sizeof prefix, "/c-v3/%ld/", (long)getpid());
    double start = now_s();

    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.read_timeout_ms = 10000;
    etcdc_client *c = NULL;
    if (!CHECK_ST(etcdc_client_new(&o, &c), ETCDC_OK)) {
        return check_report();
    }

    test_options_init();
    test_put_and_range(c);
    test_binary_keys_and_values(c);
    test_range_options(c);
    test_delete(c);
    test_put_options(c);
    test_txn_compares(c);
    test_txn_ops(c);
    test_conveniences(c);
    test_leases(c);
    test_null_accessors();
    test_outlive_client(c, endpoint);
    test_compact(c);

    /* Clean up: the whole prefix. */
    etcdc_v3_delete_options wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    wipe.prefix = true;
    CHECK_ST(etcdc_v3_delete(c, prefix, strlen(prefix), &wipe, NULL), ETCDC_OK);
    etcdc_v3_range_options all = ETCDC_V3_RANGE_OPTIONS_INIT;
    all.prefix = true;
    all.count_only = true;
    etcdc_v3_range_response *left = NULL;
    CHECK_ST(etcdc_v3_range(c, prefix, strlen(prefix), &all, &left), ETCDC_OK);
    CHECK_INT(etcdc_v3_range_response_count(left), 0);
    etcdc_v3_range_response_free(left);
    etcdc_client_free(c);

    printf("test_v3: %.1f s\n", now_s() - start);
    return check_report();
}
