/*
 * etcdc v3 quick start: keys, a transaction and a lease over etcd's v3 API
 * (gRPC), with the same client as the v2 calls.
 *
 *   v3_quickstart [ENDPOINT]   (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * Keys and values are bytes: each is a pointer and a length. This file is
 * both C and C++ (`make` builds it as each).
 *
 * Build: cc v3_quickstart.c $(pkg-config --cflags --libs etcdc)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcdc.h"

/* Prints what failed and returns 0, or returns 1 on success. */
static int check(const char *what, etcdc_status st) {
    if (st == ETCDC_OK) {
        return 1;
    }
    const etcdc_error *e = etcdc_error_last();
    printf("%-44s -> %s (%d): %s\n", what, etcdc_status_str(st), (int)st, e ? e->message : "");
    return 0;
}

/* Prints n bytes: printable ASCII as is, anything else as \xNN. */
static void print_bytes(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            putchar(p[i]);
        } else {
            printf("\\x%02x", (unsigned)p[i]);
        }
    }
}

/* Prints one key: key = value, with its revisions and lease. */
static void print_kv(const char *what, const etcdc_v3_kv *kv) {
    printf("%-44s -> ", what);
    print_bytes(kv->key, kv->key_len);
    printf(" = ");
    print_bytes(kv->value, kv->value_len);
    printf("  [created at %" PRId64 ", modified at %" PRId64 ", version %" PRId64, kv->create_revision,
           kv->mod_revision, kv->version);
    if (kv->lease != 0) {
        printf(", lease %" PRIx64, (uint64_t)kv->lease);
    }
    printf("]\n");
}

/* Puts a text value at a text key. */
static int put(const etcdc_client *client, const char *key, const char *value) {
    char what[128];
    snprintf(what, sizeof what, "put %s = %s", key, value);
    etcdc_v3_put_response *r = NULL;
    if (!check(what, etcdc_v3_put(client, key, strlen(key), value, strlen(value), NULL, &r))) {
        return 0;
    }
    printf("%-44s -> revision %" PRId64 "\n", what, etcdc_v3_put_response_header(r)->revision);
    etcdc_v3_put_response_free(r);
    return 1;
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, v3 API, talking to %s\n\n", etcdc_version(), endpoint);
    int ok = 1;
    const char *dir = "/v3-quickstart/";

    /* Start from nothing under the prefix. */
    etcdc_v3_delete_options wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    wipe.prefix = true;
    ok &= check("delete prefix", etcdc_v3_delete(client, dir, strlen(dir), &wipe, NULL));

    /* put: text keys and values; then a key with a NUL byte in it. */
    ok &= put(client, "/v3-quickstart/nodes/n1", "1");
    ok &= put(client, "/v3-quickstart/nodes/n2", "2");
    static const char binary_key[] = "/v3-quickstart/nodes/bin\0ary";
    static const unsigned char binary_value[] = {0x00, 0xff, 0x10};
    ok &= check("put a key with a NUL byte", etcdc_v3_put(client, binary_key, sizeof binary_key - 1,
                                                          binary_value, sizeof binary_value, NULL,
                                                          NULL));

    /* get by prefix: every key under /v3-quickstart/nodes/, by key. */
    const char *nodes = "/v3-quickstart/nodes/";
    etcdc_v3_range_options by_prefix = ETCDC_V3_RANGE_OPTIONS_INIT;
    by_prefix.prefix = true;
    etcdc_v3_range_response *range = NULL;
    if ((ok &= check("get prefix", etcdc_v3_range(client, nodes, strlen(nodes), &by_prefix,
                                                  &range)))) {
        printf("%-44s -> %zu keys at revision %" PRId64 "\n", "get prefix /v3-quickstart/nodes/",
               etcdc_v3_range_response_kv_count(range),
               etcdc_v3_range_response_header(range)->revision);
        for (size_t i = 0; i < etcdc_v3_range_response_kv_count(range); i++) {
            print_kv("    key", etcdc_v3_range_response_kv(range, i));
        }
        ok &= etcdc_v3_range_response_kv_count(range) == 3;
        etcdc_v3_range_response_free(range);
    }

    /* A transaction: if n1's value is "1", set it to "one" and read n2;
     * else read n1. Both happen atomically, at one revision. */
    const char *n1 = "/v3-quickstart/nodes/n1", *n2 = "/v3-quickstart/nodes/n2";
    etcdc_v3_txn *txn = NULL;
    ok &= check("txn new", etcdc_v3_txn_new(&txn));
    ok &= check("txn compare", etcdc_v3_txn_compare_value(txn, n1, strlen(n1), ETCDC_V3_EQUAL, "1",
                                                          1, NULL));
    ok &= check("txn then put", etcdc_v3_txn_add_put(txn, ETCDC_V3_ON_SUCCESS, n1, strlen(n1),
                                                     "one", 3, NULL));
    ok &= check("txn then get", etcdc_v3_txn_add_range(txn, ETCDC_V3_ON_SUCCESS, n2, strlen(n2),
                                                       NULL));
    ok &= check("txn else get", etcdc_v3_txn_add_range(txn, ETCDC_V3_ON_FAILURE, n1, strlen(n1),
                                                       NULL));
    etcdc_v3_txn_response *tr = NULL;
    if ((ok &= check("txn commit", etcdc_v3_txn_commit(client, txn, &tr)))) {
        printf("%-44s -> %s, %zu ops ran\n", "txn: if n1 == \"1\" then n1 = \"one\", get n2",
               etcdc_v3_txn_response_succeeded(tr) ? "succeeded" : "failed",
               etcdc_v3_txn_response_op_count(tr));
        ok &= etcdc_v3_txn_response_succeeded(tr);
        ok &= etcdc_v3_txn_response_op_kind(tr, 0) == ETCDC_V3_OP_PUT;
        const etcdc_v3_range_response *got = etcdc_v3_txn_response_op_range(tr, 1);
        if ((ok &= got != NULL && etcdc_v3_range_response_kv_count(got) == 1)) {
            print_kv("    op 1 (get n2)", etcdc_v3_range_response_kv(got, 0));
        }
        etcdc_v3_txn_response_free(tr);
    }
    /* The same transaction again: n1 is "one" now, so the else branch runs. */
    if ((ok &= check("txn commit again", etcdc_v3_txn_commit(client, txn, &tr)))) {
        printf("%-44s -> %s\n", "the same txn again",
               etcdc_v3_txn_response_succeeded(tr) ? "succeeded" : "failed (n1 is not \"1\")");
        ok &= !etcdc_v3_txn_response_succeeded(tr);
        const etcdc_v3_range_response *got = etcdc_v3_txn_response_op_range(tr, 0);
        if ((ok &= got != NULL && etcdc_v3_range_response_kv_count(got) == 1)) {
            print_kv("    op 0 (get n1)", etcdc_v3_range_response_kv(got, 0));
        }
        etcdc_v3_txn_response_free(tr);
    }
    etcdc_v3_txn_free(txn);

    /* Create only if absent: n2 exists, so nothing is written. */
    etcdc_v3_swap_response *swap = NULL;
    if ((ok &= check("put_if_absent n2", etcdc_v3_put_if_absent(client, n2, strlen(n2), "x", 1, 0,
                                                                &swap)))) {
        printf("%-44s -> %s\n", "put n2 = x if absent",
               etcdc_v3_swap_response_succeeded(swap) ? "written" : "not written, it is:");
        ok &= !etcdc_v3_swap_response_succeeded(swap);
        if (etcdc_v3_swap_response_current(swap) != NULL) {
            print_kv("    current", etcdc_v3_swap_response_current(swap));
        }
        etcdc_v3_swap_response_free(swap);
    }

    /* A lease: grant 60 s, attach a key, look, revoke: the key is gone. */
    int64_t lease = 0, ttl = 0;
    if ((ok &= check("lease grant", etcdc_v3_lease_grant(client, 60, 0, &lease, &ttl)))) {
        printf("%-44s -> lease %" PRIx64 ", ttl %" PRId64 " s\n", "lease grant 60 s",
               (uint64_t)lease, ttl);
        const char *session = "/v3-quickstart/session";
        etcdc_v3_put_options with_lease = ETCDC_V3_PUT_OPTIONS_INIT;
        with_lease.lease = lease;
        ok &= check("put with lease", etcdc_v3_put(client, session, strlen(session), "alive", 5,
                                                   &with_lease, NULL));
        etcdc_v3_lease_ttl_response *info = NULL;
        if ((ok &= check("lease time to live", etcdc_v3_lease_time_to_live(client, lease, true,
                                                                           &info)))) {
            printf("%-44s -> %" PRId64 " s left of %" PRId64 ", %zu key(s):", "lease time to live",
                   etcdc_v3_lease_ttl_response_ttl(info),
                   etcdc_v3_lease_ttl_response_granted_ttl(info),
                   etcdc_v3_lease_ttl_response_key_count(info));
            for (size_t i = 0; i < etcdc_v3_lease_ttl_response_key_count(info); i++) {
                printf(" ");
                print_bytes(etcdc_v3_lease_ttl_response_key(info, i),
                            etcdc_v3_lease_ttl_response_key_len(info, i));
            }
            printf("\n");
            ok &= etcdc_v3_lease_ttl_response_key_count(info) == 1;
            etcdc_v3_lease_ttl_response_free(info);
        }
        ok &= check("lease revoke", etcdc_v3_lease_revoke(client, lease, NULL));
        etcdc_v3_range_response *after = NULL;
        if ((ok &= check("get session", etcdc_v3_range(client, session, strlen(session), NULL,
                                                       &after)))) {
            printf("%-44s -> %zu keys (deleted with its lease)\n", "get /v3-quickstart/session",
                   etcdc_v3_range_response_kv_count(after));
            ok &= etcdc_v3_range_response_kv_count(after) == 0;
            etcdc_v3_range_response_free(after);
        }
        /* Revoking it again: etcd no longer knows it. */
        etcdc_status st = etcdc_v3_lease_revoke(client, lease, NULL);
        printf("%-44s -> %s (%d)\n", "lease revoke again", etcdc_status_str(st), (int)st);
        ok &= st == ETCDC_ERR_GRPC_NOT_FOUND;
    }

    /* Clean up, saying how many keys went. */
    etcdc_v3_delete_response *gone = NULL;
    if ((ok &= check("delete prefix", etcdc_v3_delete(client, dir, strlen(dir), &wipe, &gone)))) {
        printf("%-44s -> %" PRId64 " keys deleted\n", "delete prefix /v3-quickstart/",
               etcdc_v3_delete_response_deleted(gone));
        etcdc_v3_delete_response_free(gone);
    }
    etcdc_client_free(client);
    printf("\n%s\n", ok ? "v3 quick start: all steps behaved as expected" : "v3 quick start: FAILED");
    return ok ? 0 : 1;
}
