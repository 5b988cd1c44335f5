/*
 * etcdc over TLS with a client certificate, and etcd's auth: users, roles,
 * basic auth. Turns auth on, shows what a read-only user may do, turns it
 * off again.
 *
 *   secure ENDPOINT CA_FILE CERT_FILE KEY_FILE
 *   (default: $ETCDC_ENDPOINT, $ETCDC_CA_FILE, $ETCDC_CERT_FILE, $ETCDC_KEY_FILE,
 *    as `ETCD_TLS=1 scripts/with-etcd.sh` sets them)
 *
 * Exits 0 when every step did what it should.
 *
 * Build: cc secure.c $(pkg-config --cflags --libs etcdc)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcdc.h"

static const char *endpoint, *ca_file, *cert_file, *key_file;
static int failures = 0;

/* Reports a step: `st` must be `want`. */
static void expect(const char *what, etcdc_status st, etcdc_status want) {
    const etcdc_error *e = etcdc_error_last();
    printf("%-46s -> %s", what, etcdc_status_str(st));
    if (st != ETCDC_OK && e != NULL) {
        printf(": %s", e->message);
    }
    printf("\n");
    if (st != want) {
        printf("    FAILED: expected %s\n", etcdc_status_str(want));
        failures++;
    }
}

/* A client over TLS, with these credentials (NULL: none). */
static etcdc_client *connect_as(const char *user, const char *password) {
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    o.ca_file = ca_file;     /* trust this CA, not the system's store */
    o.cert_file = cert_file; /* for etcd's --client-cert-auth */
    o.key_file = key_file;
    o.username = user;
    o.password = password;
    etcdc_client *c = NULL;
    etcdc_status st = etcdc_client_new(&o, &c);
    if (st != ETCDC_OK) {
        expect("etcdc_client_new", st, ETCDC_OK);
        return NULL;
    }
    return c;
}

int main(int argc, char **argv) {
    endpoint = argc > 4 ? argv[1] : getenv("ETCDC_ENDPOINT");
    ca_file = argc > 4 ? argv[2] : getenv("ETCDC_CA_FILE");
    cert_file = argc > 4 ? argv[3] : getenv("ETCDC_CERT_FILE");
    key_file = argc > 4 ? argv[4] : getenv("ETCDC_KEY_FILE");
    if (endpoint == NULL || ca_file == NULL || cert_file == NULL || key_file == NULL) {
        fprintf(stderr, "usage: secure ENDPOINT CA_FILE CERT_FILE KEY_FILE\n");
        return 2;
    }
    printf("etcdc %s, talking to %s\n\n", etcdc_version(), endpoint);

    /* Auth is off: anyone may create the root user and turn auth on. */
    etcdc_client *anon = connect_as(NULL, NULL);
    if (anon == NULL) {
        return 1;
    }
    expect("create user root", etcdc_user_set(anon, "root", "root-pw"), ETCDC_OK);
    expect("enable auth", etcdc_auth_enable(anon), ETCDC_OK);

    /* From now on, users and roles are root's business. */
    etcdc_client *root = connect_as("root", "root-pw");
    etcdc_client *reader = connect_as("reader", "reader-pw");
    etcdc_client *wrong = connect_as("reader", "not-the-password");
    if (root == NULL || reader == NULL || wrong == NULL) {
        return 1;
    }
    const char *patterns[] = {"/app/*"};
    const char *roles[] = {"app-reader"};
    expect("root: create role app-reader", etcdc_role_create(root, "app-reader"), ETCDC_OK);
    expect("root: app-reader may read /app/*",
           etcdc_role_grant(root, "app-reader", ETCDC_PERM_READ, patterns, 1), ETCDC_OK);
    expect("root: create user reader", etcdc_user_set(root, "reader", "reader-pw"), ETCDC_OK);
    expect("root: grant app-reader to reader", etcdc_user_grant_roles(root, "reader", roles, 1),
           ETCDC_OK);
    /* The guest role gives requests without credentials every key: revoke. */
    const char *all[] = {"/*"};
    expect("root: guest loses read and write on /*",
           etcdc_role_revoke(root, "guest", ETCDC_PERM_READWRITE, all, 1), ETCDC_OK);

    expect("root: write /app/config", etcdc_write(root, "/app/config", "v1", NULL, NULL), ETCDC_OK);
    etcdc_response *r = NULL;
    etcdc_status st = etcdc_read(reader, "/app/config", NULL, &r);
    expect("reader: read /app/config", st, ETCDC_OK);
    if (st == ETCDC_OK) {
        const char *v = etcdc_node_value(etcdc_response_node(r));
        printf("%-46s    value \"%s\"\n", "", v);
        if (strcmp(v, "v1") != 0) {
            failures++;
        }
        etcdc_response_free(r);
    }
    expect("reader: write /app/config", etcdc_write(reader, "/app/config", "v2", NULL, NULL),
           ETCDC_ERR_UNAUTHORIZED);
    expect("reader: read /other", etcdc_read(reader, "/other", NULL, NULL),
           ETCDC_ERR_UNAUTHORIZED);
    expect("wrong password: read /app/config", etcdc_read(wrong, "/app/config", NULL, NULL),
           ETCDC_ERR_UNAUTHORIZED);
    expect("no credentials: read /app/config", etcdc_read(anon, "/app/config", NULL, NULL),
           ETCDC_ERR_UNAUTHORIZED);
    etcdc_strings *users = NULL;
    expect("reader: list users", etcdc_users(reader, &users), ETCDC_ERR_UNAUTHORIZED);
    st = etcdc_users(root, &users);
    expect("root: list users", st, ETCDC_OK);
    for (size_t i = 0; i < etcdc_strings_count(users); i++) {
        printf("%-46s    %s\n", "", etcdc_strings_get(users, i));
    }
    etcdc_strings_free(users);

    /* Back to open access, and tidy up. */
    expect("root: disable auth", etcdc_auth_disable(root), ETCDC_OK);
    expect("no credentials: read /app/config", etcdc_read(anon, "/app/config", NULL, NULL),
           ETCDC_OK);
    expect("delete user reader", etcdc_user_delete(anon, "reader"), ETCDC_OK);
    expect("delete role app-reader", etcdc_role_delete(anon, "app-reader"), ETCDC_OK);
    /* What etcd has no error code for comes with its HTTP status. */
    expect("delete role app-reader again", etcdc_role_delete(anon, "app-reader"),
           ETCDC_ERR_HTTP_STATUS);
    if (etcdc_error_last()->http_status != 404) {
        printf("    FAILED: expected HTTP status 404, got %u\n",
               (unsigned)etcdc_error_last()->http_status);
        failures++;
    }
    /* ...and with what etcd said, in its own words. */
    const char *said = etcdc_error_last()->server_message;
    printf("%-46s    etcd said \"%s\"\n", "", said);
    if (strstr(said, "app-reader") == NULL) {
        printf("    FAILED: expected etcd's message naming the role\n");
        failures++;
    }

    etcdc_client_free(wrong);
    etcdc_client_free(reader);
    etcdc_client_free(root);
    etcdc_client_free(anon);
    printf("\n%s\n", failures == 0 ? "secure: all steps as expected" : "secure: FAILED");
    return failures == 0 ? 0 : 1;
}
