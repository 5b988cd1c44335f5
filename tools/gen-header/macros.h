/*
 * Text that tools/gen-header places in include/etcdc.h right after a type:
 * the initialisers of the options structs. Not a header of its own.
 *
 * Each block starts with a line `// after <type name>` and runs to the next
 * such line; it is copied as it is, right after that type's declaration
 * (the tool fails if the header has no such type). Text before the first
 * marker, like this comment, is not copied.
 *
 * The initialisers list every field, so that -Wextra stays quiet; the C tests
 * are built with -Werror, which checks that they match their structs.
 */

// after etcdc_client_options
/** Initialiser for etcdc_client_options: the defaults. */
#define ETCDC_CLIENT_OPTIONS_INIT \
    { ETCDC_CLIENT_OPTIONS_VERSION, NULL, 0, NULL, NULL, 0, 0, 0, NULL, false, 0, false, NULL, \
      NULL, NULL, NULL, false, NULL, NULL, NULL, NULL }

// after etcdc_write_options
/** Initialiser for etcdc_write_options: a plain set. */
#define ETCDC_WRITE_OPTIONS_INIT \
    { ETCDC_WRITE_OPTIONS_VERSION, 0, false, false, NULL, 0, ETCDC_PREV_EXIST_ANY, false }

// after etcdc_read_options
/** Initialiser for etcdc_read_options: a plain read. */
#define ETCDC_READ_OPTIONS_INIT { ETCDC_READ_OPTIONS_VERSION, false, false, false }

// after etcdc_delete_options
/** Initialiser for etcdc_delete_options: a plain delete. */
#define ETCDC_DELETE_OPTIONS_INIT { ETCDC_DELETE_OPTIONS_VERSION, false, false, NULL, 0 }

// after etcdc_watch_options
/** Initialiser for etcdc_watch_options: the next change of the key. */
#define ETCDC_WATCH_OPTIONS_INIT { ETCDC_WATCH_OPTIONS_VERSION, false, 0 }

// after etcdc_lock_options
/** Initialiser for etcdc_lock_options: TTL 60 s, under "/_locks". */
#define ETCDC_LOCK_OPTIONS_INIT { ETCDC_LOCK_OPTIONS_VERSION, 0, NULL }

// after etcdc_election_options
/** Initialiser for etcdc_election_options: elections under "/_elections". */
#define ETCDC_ELECTION_OPTIONS_INIT { ETCDC_ELECTION_OPTIONS_VERSION, NULL }

// after etcdc_v3_range_options
/** Initialiser for etcdc_v3_range_options: the key alone, as it is now, linearizable. */
#define ETCDC_V3_RANGE_OPTIONS_INIT \
    { ETCDC_V3_RANGE_OPTIONS_VERSION, NULL, 0, false, 0, 0, ETCDC_V3_SORT_BY_KEY, \
      ETCDC_V3_SORT_NONE, false, false, false, 0, 0, 0, 0 }

// after etcdc_v3_put_options
/** Initialiser for etcdc_v3_put_options: a plain put. */
#define ETCDC_V3_PUT_OPTIONS_INIT { ETCDC_V3_PUT_OPTIONS_VERSION, 0, false, false, false }

// after etcdc_v3_delete_options
/** Initialiser for etcdc_v3_delete_options: the key alone. */
#define ETCDC_V3_DELETE_OPTIONS_INIT { ETCDC_V3_DELETE_OPTIONS_VERSION, NULL, 0, false, false }

// after etcdc_v3_compare_options
/** Initialiser for etcdc_v3_compare_options: the key alone. */
#define ETCDC_V3_COMPARE_OPTIONS_INIT { ETCDC_V3_COMPARE_OPTIONS_VERSION, NULL, 0, false }

// after etcdc_v3_lease_keeper_options
/** Initialiser for etcdc_v3_lease_keeper_options: no lease yet (set `ttl` or `id`), no callback. */
#define ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT \
    { ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION, 0, 0, NULL, NULL }

// after etcdc_v3_watch_options
/** Initialiser for etcdc_v3_watch_options: the key alone, from now, puts and deletes. */
#define ETCDC_V3_WATCH_OPTIONS_INIT \
    { ETCDC_V3_WATCH_OPTIONS_VERSION, NULL, 0, false, 0, false, false, false }

// after etcdc_v3_lock_options
/** Initialiser for etcdc_v3_lock_options: a lease TTL of 60 s. */
#define ETCDC_V3_LOCK_OPTIONS_INIT { ETCDC_V3_LOCK_OPTIONS_VERSION, 0 }

// after etcdc_v3_election_options
/** Initialiser for etcdc_v3_election_options: a lease TTL of 60 s. */
#define ETCDC_V3_ELECTION_OPTIONS_INIT { ETCDC_V3_ELECTION_OPTIONS_VERSION, 0 }
