/*
 * etcdc quick start: the calls python-etcd's README shows, in C.
 *
 *   quickstart [ENDPOINT]      (default: $ETCDC_ENDPOINT, else http://127.0.0.1:2379)
 *
 * Build: cc quickstart.c $(pkg-config --cflags --libs etcdc)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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

/* Prints one node: key = value (or [dir]), with its TTL and indexes. */
static void print_node(const char *what, const etcdc_node *n) {
    printf("%-44s -> %s = %s", what, etcdc_node_key(n),
           etcdc_node_is_dir(n) ? "[dir]" : etcdc_node_value(n));
    if (etcdc_node_ttl(n) > 0) {
        printf("  (ttl %" PRId64 "s)", etcdc_node_ttl(n));
    }
    printf("  [modified at %" PRIu64 "]\n", etcdc_node_modified_index(n));
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL) {
        endpoint = "http://127.0.0.1:2379";
    }

    /* client = etcd.Client(...) */
    etcdc_client_options opts = ETCDC_CLIENT_OPTIONS_INIT;
    opts.endpoints = &endpoint;
    opts.endpoint_count = 1;
    etcdc_client *client = NULL;
    if (!check("etcdc_client_new", etcdc_client_new(&opts, &client))) {
        return 1;
    }
    printf("etcdc %s, talking to %s\n\n", etcdc_version(), endpoint);
    etcdc_response *r = NULL;
    int ok = 1;

    /* Start from a clean /nodes directory (ignore "key not found"). */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    etcdc_delete(client, "/nodes", &wipe, NULL);

    /* client.write('/nodes/n1', 1) */
    ok &= check("write /nodes/n1 = 1", etcdc_write(client, "/nodes/n1", "1", NULL, &r));
    if (r) {
        print_node("write /nodes/n1 = 1", etcdc_response_node(r));
        etcdc_response_free(r);
        r = NULL;
    }

    /* client.write('/nodes/n2', 2, ttl=4) */
    etcdc_write_options with_ttl = ETCDC_WRITE_OPTIONS_INIT;
    with_ttl.ttl = 4;
    ok &= check("write /nodes/n2 = 2, ttl 4", etcdc_write(client, "/nodes/n2", "2", &with_ttl, &r));
    if (r) {
        print_node("write /nodes/n2 = 2, ttl 4", etcdc_response_node(r));
        etcdc_response_free(r);
        r = NULL;
    }

    /* client.set('/nodes/n2', 1): set is write without options */
    ok &= check("set /nodes/n2 = 1", etcdc_write(client, "/nodes/n2", "1", NULL, NULL));

    /* client.read('/nodes/n2').value */
    if ((ok &= check("read /nodes/n2", etcdc_read(client, "/nodes/n2", NULL, &r)))) {
        print_node("read /nodes/n2", etcdc_response_node(r));
        etcdc_response_free(r);
        r = NULL;
    }

    /* client.read('/nodes', recursive=True): every leaf of the directory */
    etcdc_read_options recursive = ETCDC_READ_OPTIONS_INIT;
    recursive.recursive = true;
    recursive.sorted = true;
    if ((ok &= check("read /nodes recursive", etcdc_read(client, "/nodes", &recursive, &r)))) {
        size_t count = etcdc_response_leaf_count(r);
        printf("%-44s -> %zu leaves\n", "read /nodes recursive, sorted", count);
        for (size_t i = 0; i < count; i++) {
            print_node("    leaf", etcdc_response_leaf(r, i));
        }
        etcdc_response_free(r);
        r = NULL;
    }

    /* client.delete('/nodes/n1') */
    if ((ok &= check("delete /nodes/n1", etcdc_delete(client, "/nodes/n1", NULL, &r)))) {
        printf("%-44s -> %s, was %s\n", "delete /nodes/n1", etcdc_response_action(r),
               etcdc_node_value(etcdc_response_prev_node(r)));
        etcdc_response_free(r);
        r = NULL;
    }

    /* client.write('/nodes/n2', 2, prevValue=4): n2 is 1, so this fails */
    etcdc_write_options cas = ETCDC_WRITE_OPTIONS_INIT;
    cas.prev_value = "4";
    ok &= !check("write /nodes/n2 = 2 if value was 4",
                 etcdc_write(client, "/nodes/n2", "2", &cas, NULL));

    /* client.write('/nodes/n2', 2, prevExist=False): n2 exists, so this fails */
    etcdc_write_options create = ETCDC_WRITE_OPTIONS_INIT;
    create.prev_exist = ETCDC_PREV_EXIST_FALSE;
    ok &= !check("write /nodes/n2 = 2 if it does not exist",
                 etcdc_write(client, "/nodes/n2", "2", &create, NULL));

    /* client.write('/nodes/n2', 2, prevIndex=30): fails unless n2 was modified at 30 */
    etcdc_write_options at_index = ETCDC_WRITE_OPTIONS_INIT;
    at_index.prev_index = 30;
    check("write /nodes/n2 = 2 if modified at index 30",
          etcdc_write(client, "/nodes/n2", "2", &at_index, NULL));

    /* client.test_and_set('/nodes/n2', 2, 1): n2 is 1, so this succeeds */
    if ((ok &= check("test_and_set /nodes/n2 = 2 if 1",
                     etcdc_test_and_set(client, "/nodes/n2", "2", "1", 0, &r)))) {
        print_node("test_and_set /nodes/n2 = 2 if 1", etcdc_response_node(r));
        etcdc_response_free(r);
        r = NULL;
    }

    /* result = client.read('/foo'); result.value += 'bar'; client.update(result) */
    ok &= check("write /foo = bar", etcdc_write(client, "/foo", "bar", NULL, NULL));
    etcdc_response *read = NULL;
    if ((ok &= check("read /foo", etcdc_read(client, "/foo", NULL, &read)))) {
        const etcdc_node *foo = etcdc_response_node(read);
        print_node("read /foo", foo);
        /* Another writer changing /foo now would make this update fail. */
        if ((ok &= check("update /foo = barbar", etcdc_update(client, foo, "barbar", &r)))) {
            print_node("update /foo = barbar (CAS on its index)", etcdc_response_node(r));
            etcdc_response_free(r);
            r = NULL;
        }
        /* The same read node is stale now: a second update is refused. */
        ok &= !check("update /foo again from the stale read",
                     etcdc_update(client, foo, "barbarbar", NULL));
        etcdc_response_free(read);
    }

    etcdc_delete(client, "/nodes", &wipe, NULL);
    etcdc_delete(client, "/foo", NULL, NULL);
    etcdc_client_free(client);
    printf("\n%s\n", ok ? "quick start: all steps behaved as expected" : "quick start: FAILED");
    return ok ? 0 : 1;
}
