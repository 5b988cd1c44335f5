#!/usr/bin/env python3
"""Generates examples-c/build/test_misuse.c from include/etcdc.h.

    scripts/gen-misuse.py include/etcdc.h examples-c/build/test_misuse.c

The C misuse test calls EVERY function declared between the header's
extern "C" guards (one pair per section of the header):

  - once with valid arguments (made as the tables below say);
  - once per pointer parameter with that parameter NULL (the others valid);
  - once per `const char *` parameter (and per string of a `const char *const *`
    list) with the invalid UTF-8 "\\xff\\fe";
  - a bytes parameter (v3: `const void *name` followed by `size_t name_len`;
    any bytes are valid, so no UTF-8 call) is given NULL with its valid,
    non-zero length: that is refused, NULL being only the empty string;
  - once per options struct parameter with version 0 and with the header's
    current version + 1 (a newer program's struct), and once per string field
    of that struct with invalid UTF-8;
  - each etcdc_X_options_init(opts, version) with NULL opts, and with
    versions 0, current + 1 and UINT32_MAX: ETCDC_ERR_INVALID_ARGUMENT, and not
    one byte of *opts written (it is filled with 0xab first); with the current
    version, the struct is all zero but its version;
  - once per entry of BAD_VALUES / BAD_OPTION_FIELDS (out-of-range numbers,
    empty names... that the header calls invalid).

Expectations: a function returning etcdc_status returns
ETCDC_ERR_INVALID_ARGUMENT with etcdc_error_last() set by that very call
(status, a non-empty message naming the parameter, server_message "": no
server answer is involved) and its out-parameters untouched -- unless
NULL_OK says the header allows that NULL; a function
returning a pointer / number / bool returns NULL / 0 / false for a NULL
handle; a void function must simply survive.

The generator knows how to call a function only through the tables below.
It exits non-zero, naming the function, when the header declares a function
without an entry in FUNCS, a parameter type it has no value for, or a scalar
parameter without a value in VALUES: a new function cannot skip the test.
Entries for functions the header no longer has are errors too. Nothing
depends on the order of the header's declarations.
"""

import re
import sys

# --------------------------------------------------------------------------
# Per-function table: what a call with valid arguments must give, and what
# has to exist before it (fixture). Expectations:
#   an etcdc_status name        status functions
#   "nonnull" / "nonzero" / "any"  accessors (the value with valid handles)
#   "void"                      functions returning nothing
# Fixtures (C run at the start of every call of that function):
#   "put"       writes `key` ("v", TTL 600); its modified index is `idx`
#   "election"  makes "me" the fresh leader of election `ekey`; index `won`
# after="C code": run after every call of that function and its checks
# (undoes what a valid call did to the shared etcd).
FUNCS = {
    # client
    "etcdc_client_options_init": dict(expect="ETCDC_OK"),
    "etcdc_client_new": dict(expect="ETCDC_OK"),
    "etcdc_client_endpoints": dict(expect="ETCDC_OK"),
    "etcdc_client_free": dict(expect="void"),
    "etcdc_version": dict(expect="nonnull"),
    "etcdc_string_free": dict(expect="void"),
    # cluster (the shared etcd has one member: nothing here may change it)
    "etcdc_members": dict(expect="ETCDC_OK"),
    "etcdc_leader": dict(expect="ETCDC_OK"),
    # A valid add would make the single-member cluster lose its quorum: the
    # member's own peer URL is valid input that etcd refuses (409).
    "etcdc_member_add": dict(expect="ETCDC_ERR_HTTP_STATUS"),
    # Removing the only member would kill the shared etcd: an unknown (valid
    # hex) id, which etcd answers with 404 "No such member".
    "etcdc_member_remove": dict(expect="ETCDC_ERR_HTTP_STATUS"),
    # The member's own peer URL: accepted, changes nothing.
    "etcdc_member_update": dict(expect="ETCDC_OK"),
    "etcdc_member_list_count": dict(expect="nonzero"),
    "etcdc_member_list_get": dict(expect="nonnull"),
    "etcdc_member_list_free": dict(expect="void"),
    "etcdc_machines": dict(expect="ETCDC_OK"),
    "etcdc_stats": dict(expect="ETCDC_OK"),
    "etcdc_server_version": dict(expect="ETCDC_OK"),
    "etcdc_health": dict(expect="ETCDC_OK"),
    # election
    "etcdc_election_options_init": dict(expect="ETCDC_OK"),
    "etcdc_election_set": dict(expect="ETCDC_OK", fixture="election"),
    "etcdc_election_get": dict(expect="ETCDC_OK", fixture="election"),
    "etcdc_election_delete": dict(expect="ETCDC_OK", fixture="election"),
    "etcdc_election_renew": dict(expect="ETCDC_OK", fixture="election"),
    "etcdc_election_watch": dict(expect="ETCDC_OK", fixture="election"),
    # errors
    "etcdc_status_str": dict(expect="nonnull"),
    # mark_last_error() runs before every call: there is a last error.
    "etcdc_error_last": dict(expect="nonnull"),
    # keys
    "etcdc_write_options_init": dict(expect="ETCDC_OK"),
    "etcdc_read_options_init": dict(expect="ETCDC_OK"),
    "etcdc_delete_options_init": dict(expect="ETCDC_OK"),
    "etcdc_write": dict(expect="ETCDC_OK"),
    "etcdc_read": dict(expect="ETCDC_OK", fixture="put"),
    "etcdc_delete": dict(expect="ETCDC_OK", fixture="put"),
    "etcdc_test_and_set": dict(expect="ETCDC_OK", fixture="put"),
    "etcdc_update": dict(expect="ETCDC_OK"),
    "etcdc_mkdir": dict(expect="ETCDC_OK"),  # `key` is fresh for every call
    "etcdc_refresh": dict(expect="ETCDC_OK", fixture="put"),
    "etcdc_pop": dict(expect="ETCDC_OK", fixture="put"),
    # lock
    "etcdc_lock_options_init": dict(expect="ETCDC_OK"),
    "etcdc_lock_new": dict(expect="ETCDC_OK"),
    "etcdc_lock_acquire": dict(expect="ETCDC_OK"),
    "etcdc_lock_is_locked": dict(expect="ETCDC_OK"),
    "etcdc_lock_renew": dict(expect="ETCDC_OK"),
    "etcdc_lock_release": dict(expect="ETCDC_OK"),
    "etcdc_lock_cancel": dict(expect="void"),
    "etcdc_lock_free": dict(expect="void"),
    # responses and nodes (the response of a read of `key`, "v" with TTL)
    "etcdc_response_free": dict(expect="void"),
    "etcdc_response_action": dict(expect="nonnull"),
    "etcdc_response_node": dict(expect="nonnull"),
    "etcdc_response_prev_node": dict(expect="any"),  # a read has none
    "etcdc_response_etcd_index": dict(expect="nonzero"),
    "etcdc_response_raft_index": dict(expect="nonzero"),
    "etcdc_response_raft_term": dict(expect="nonzero"),
    "etcdc_response_cluster_id": dict(expect="nonnull"),
    "etcdc_response_leaf_count": dict(expect="nonzero"),
    "etcdc_response_leaf": dict(expect="nonnull"),
    "etcdc_node_key": dict(expect="nonnull"),
    "etcdc_node_key_len": dict(expect="nonzero"),
    "etcdc_node_value": dict(expect="nonnull"),
    "etcdc_node_value_len": dict(expect="nonzero"),
    "etcdc_node_is_dir": dict(expect="any"),
    "etcdc_node_ttl": dict(expect="nonzero"),
    "etcdc_node_expiration": dict(expect="nonnull"),
    "etcdc_node_created_index": dict(expect="nonzero"),
    "etcdc_node_modified_index": dict(expect="nonzero"),
    "etcdc_node_child_count": dict(expect="nonzero"),  # of a directory
    "etcdc_node_child": dict(expect="nonnull"),  # of a directory
    "etcdc_node_to_json": dict(expect="ETCDC_OK"),
    # watch (wait_index = the fixture's write: the event is in etcd's history)
    "etcdc_watch_options_init": dict(expect="ETCDC_OK"),
    "etcdc_watch": dict(expect="ETCDC_OK", fixture="put"),
    "etcdc_watcher_new": dict(expect="ETCDC_OK", fixture="put"),
    "etcdc_watcher_next": dict(expect="ETCDC_OK"),
    "etcdc_watcher_cancel": dict(expect="void"),
    "etcdc_watcher_next_index": dict(expect="nonzero"),
    "etcdc_watcher_resume_from": dict(expect="ETCDC_OK"),
    "etcdc_watcher_run": dict(expect="ETCDC_OK"),
    "etcdc_watcher_free": dict(expect="void"),
    # auth (the shared etcd keeps auth off: enabling fails for want of a
    # root user, disabling because it is off; users and roles are the test's)
    "etcdc_strings_count": dict(expect="nonzero"),
    "etcdc_strings_get": dict(expect="nonnull"),
    "etcdc_strings_free": dict(expect="void"),
    "etcdc_auth_enabled": dict(expect="ETCDC_OK"),
    "etcdc_auth_enable": dict(expect="ETCDC_ERR_HTTP_STATUS"),
    "etcdc_auth_disable": dict(expect="ETCDC_ERR_HTTP_STATUS"),
    "etcdc_users": dict(expect="ETCDC_OK"),
    "etcdc_user_get": dict(expect="ETCDC_OK", fixture="user"),
    "etcdc_user_set": dict(expect="ETCDC_OK"),
    "etcdc_user_delete": dict(expect="ETCDC_OK", fixture="user"),
    "etcdc_user_grant_roles": dict(expect="ETCDC_OK", fixture="user_plain"),
    "etcdc_user_revoke_roles": dict(expect="ETCDC_OK", fixture="user"),
    "etcdc_roles": dict(expect="ETCDC_OK"),
    "etcdc_role_get": dict(expect="ETCDC_OK", fixture="role"),
    "etcdc_role_create": dict(expect="ETCDC_OK", fixture="no_role"),
    "etcdc_role_delete": dict(expect="ETCDC_OK", fixture="role"),
    "etcdc_role_grant": dict(expect="ETCDC_OK", fixture="role_plain"),
    "etcdc_role_revoke": dict(expect="ETCDC_OK", fixture="role"),
    # v3 keys (keys and values are bytes: `key` with strlen(key))
    "etcdc_v3_range_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_put_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_delete_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_range": dict(expect="ETCDC_OK", fixture="v3_put"),
    "etcdc_v3_put": dict(expect="ETCDC_OK"),
    "etcdc_v3_delete": dict(expect="ETCDC_OK", fixture="v3_put"),
    # Compacts the shared etcd's v3 history up to the fixture's fresh put:
    # every call its own revision (a repeated one would be OUT_OF_RANGE).
    "etcdc_v3_compact": dict(expect="ETCDC_OK", fixture="v3_put"),
    # v3 responses (of a range of `key`, a put over it with prev_kv, a
    # delete of it with prev_kv)
    "etcdc_v3_range_response_free": dict(expect="void"),
    "etcdc_v3_range_response_header": dict(expect="nonnull"),
    "etcdc_v3_range_response_count": dict(expect="nonzero"),
    "etcdc_v3_range_response_more": dict(expect="any"),
    "etcdc_v3_range_response_kv_count": dict(expect="nonzero"),
    "etcdc_v3_range_response_kv": dict(expect="nonnull"),
    "etcdc_v3_put_response_free": dict(expect="void"),
    "etcdc_v3_put_response_header": dict(expect="nonnull"),
    "etcdc_v3_put_response_prev_kv": dict(expect="nonnull"),
    "etcdc_v3_delete_response_free": dict(expect="void"),
    "etcdc_v3_delete_response_header": dict(expect="nonnull"),
    "etcdc_v3_delete_response_deleted": dict(expect="nonzero"),
    "etcdc_v3_delete_response_prev_kv_count": dict(expect="nonzero"),
    "etcdc_v3_delete_response_prev_kv": dict(expect="nonnull"),
    # v3 transactions (a txn: if `key` is "v" put it, else read it; a
    # response: range, put, delete and a nested txn, in that order)
    "etcdc_v3_compare_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_new": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_free": dict(expect="void"),
    "etcdc_v3_txn_compare_value": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_compare_version": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_compare_create_revision": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_compare_mod_revision": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_compare_lease": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_add_range": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_add_put": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_add_delete": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_add_txn": dict(expect="ETCDC_OK"),
    "etcdc_v3_txn_commit": dict(expect="ETCDC_OK", fixture="v3_put"),
    "etcdc_v3_txn_response_free": dict(expect="void"),
    "etcdc_v3_txn_response_header": dict(expect="nonnull"),
    "etcdc_v3_txn_response_succeeded": dict(expect="nonzero"),
    "etcdc_v3_txn_response_op_count": dict(expect="nonzero"),
    "etcdc_v3_txn_response_op_kind": dict(expect="nonzero"),
    "etcdc_v3_txn_response_op_range": dict(expect="nonnull"),
    "etcdc_v3_txn_response_op_put": dict(expect="nonnull"),
    "etcdc_v3_txn_response_op_delete": dict(expect="nonnull"),
    "etcdc_v3_txn_response_op_txn": dict(expect="nonnull"),
    # conditional writes: a condition that does not hold is no error
    "etcdc_v3_put_if_absent": dict(expect="ETCDC_OK"),
    "etcdc_v3_put_if_mod_revision": dict(expect="ETCDC_OK", fixture="v3_put"),
    "etcdc_v3_put_if_value": dict(expect="ETCDC_OK", fixture="v3_put"),
    "etcdc_v3_delete_if_mod_revision": dict(expect="ETCDC_OK", fixture="v3_put"),
    "etcdc_v3_delete_if_value": dict(expect="ETCDC_OK", fixture="v3_put"),
    # (a put_if_absent over an existing `key`: not applied, current kv)
    "etcdc_v3_swap_response_free": dict(expect="void"),
    "etcdc_v3_swap_response_succeeded": dict(expect="any"),
    "etcdc_v3_swap_response_revision": dict(expect="nonzero"),
    "etcdc_v3_swap_response_current": dict(expect="nonnull"),
    # v3 leases (TTL 60 s: those not revoked expire soon after the run)
    "etcdc_v3_lease_grant": dict(expect="ETCDC_OK"),
    "etcdc_v3_lease_revoke": dict(expect="ETCDC_OK", fixture="lease"),
    "etcdc_v3_lease_keep_alive_once": dict(expect="ETCDC_OK", fixture="lease"),
    "etcdc_v3_lease_time_to_live": dict(expect="ETCDC_OK", fixture="lease"),
    # (the time to live of a lease with `key` attached)
    "etcdc_v3_lease_ttl_response_free": dict(expect="void"),
    "etcdc_v3_lease_ttl_response_header": dict(expect="nonnull"),
    "etcdc_v3_lease_ttl_response_id": dict(expect="nonzero"),
    "etcdc_v3_lease_ttl_response_ttl": dict(expect="nonzero"),
    "etcdc_v3_lease_ttl_response_granted_ttl": dict(expect="nonzero"),
    "etcdc_v3_lease_ttl_response_key_count": dict(expect="nonzero"),
    "etcdc_v3_lease_ttl_response_key": dict(expect="nonnull"),
    "etcdc_v3_lease_ttl_response_key_len": dict(expect="nonzero"),
    "etcdc_v3_leases": dict(expect="ETCDC_OK", fixture="lease"),
    "etcdc_v3_lease_list_count": dict(expect="nonzero"),
    "etcdc_v3_lease_list_get": dict(expect="nonzero"),
    "etcdc_v3_lease_list_free": dict(expect="void"),
    # v3 lease keeper (a keeper of a fresh 60 s lease, with on_lost set;
    # freed by its cleanup, which revokes the lease)
    "etcdc_v3_lease_keeper_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_lease_keeper_new": dict(expect="ETCDC_OK"),
    "etcdc_v3_lease_keeper_id": dict(expect="nonzero"),
    "etcdc_v3_lease_keeper_ttl": dict(expect="nonzero"),
    "etcdc_v3_lease_keeper_state": dict(expect="nonzero"),  # ETCDC_V3_KEEPER_ALIVE
    "etcdc_v3_lease_keeper_lost_reason": dict(expect="nonnull"),  # "": not lost
    "etcdc_v3_lease_keeper_stop": dict(expect="ETCDC_OK"),
    "etcdc_v3_lease_keeper_free": dict(expect="void"),
    # v3 watches (a watcher of `key` from a put of it over an older value,
    # with prev_kv: its first event is at hand; an event: that put's)
    "etcdc_v3_watch_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_watcher_new": dict(expect="ETCDC_OK", fixture="v3_put"),
    "etcdc_v3_watcher_next": dict(expect="ETCDC_OK"),
    "etcdc_v3_watcher_cancel": dict(expect="void"),
    "etcdc_v3_watcher_next_revision": dict(expect="nonzero"),
    "etcdc_v3_watcher_compact_revision": dict(expect="any"),  # 0: no compaction seen
    "etcdc_v3_watcher_run": dict(expect="ETCDC_OK"),
    "etcdc_v3_watcher_free": dict(expect="void"),
    "etcdc_v3_event_type": dict(expect="nonzero"),  # ETCDC_V3_EVENT_PUT
    "etcdc_v3_event_kv": dict(expect="nonnull"),
    "etcdc_v3_event_prev_kv": dict(expect="nonnull"),
    "etcdc_v3_event_revision": dict(expect="nonzero"),
    "etcdc_v3_event_free": dict(expect="void"),
    # v3 lock (named `key`, a fresh name per call: held by the fixture but
    # for acquire and try_acquire; freed by its cleanup, which releases it)
    "etcdc_v3_lock_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_new": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_acquire": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_try_acquire": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_is_held": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_release": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_cancel": dict(expect="void"),
    "etcdc_v3_lock_key": dict(expect="nonnull"),
    "etcdc_v3_lock_key_len": dict(expect="nonzero"),
    "etcdc_v3_lock_lease_id": dict(expect="nonzero"),
    "etcdc_v3_lock_revision": dict(expect="nonzero"),
    "etcdc_v3_lock_lease_state": dict(expect="nonzero"),  # ETCDC_V3_KEEPER_ALIVE
    "etcdc_v3_txn_when_lock_held": dict(expect="ETCDC_OK"),
    "etcdc_v3_lock_free": dict(expect="void"),
    # v3 election (named `key`: the fixture leads with "v"; an observer and
    # a leader: of an election whose first key, `key`/l, was put directly)
    "etcdc_v3_election_options_init": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_new": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_campaign": dict(expect="ETCDC_OK"),  # leads: proclaims
    "etcdc_v3_election_proclaim": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_resign": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_leader": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_is_leader": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_cancel": dict(expect="void"),
    "etcdc_v3_election_key": dict(expect="nonnull"),
    "etcdc_v3_election_key_len": dict(expect="nonzero"),
    "etcdc_v3_election_lease_id": dict(expect="nonzero"),
    "etcdc_v3_election_revision": dict(expect="nonzero"),
    "etcdc_v3_election_lease_state": dict(expect="nonzero"),  # ETCDC_V3_KEEPER_ALIVE
    "etcdc_v3_txn_when_leader": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_observe": dict(expect="ETCDC_OK"),
    "etcdc_v3_election_free": dict(expect="void"),
    "etcdc_v3_observer_next": dict(expect="ETCDC_OK"),
    "etcdc_v3_observer_cancel": dict(expect="void"),
    "etcdc_v3_observer_free": dict(expect="void"),
    "etcdc_v3_leader_kv": dict(expect="nonnull"),
    "etcdc_v3_leader_free": dict(expect="void"),
    # v3 auth (the shared etcd keeps v3 auth off: no v3 user "root" is ever
    # made, so enabling fails; disabling while off is no error; the users
    # and roles are the test's own, v3_user_name and v3_role_name)
    "etcdc_v3_auth_enable": dict(expect="ETCDC_ERR_GRPC_FAILED_PRECONDITION"),
    "etcdc_v3_auth_disable": dict(expect="ETCDC_OK"),
    # The shared etcd is Debian's 3.4, which has no AuthStatus.
    "etcdc_v3_auth_status": dict(expect="ETCDC_ERR_GRPC_UNIMPLEMENTED"),
    "etcdc_v3_user_add": dict(expect="ETCDC_OK", fixture="v3_no_user"),
    "etcdc_v3_user_delete": dict(expect="ETCDC_OK", fixture="v3_user"),
    "etcdc_v3_user_change_password": dict(expect="ETCDC_OK", fixture="v3_user"),
    "etcdc_v3_user_grant_role": dict(expect="ETCDC_OK", fixture="v3_user_plain"),
    "etcdc_v3_user_revoke_role": dict(expect="ETCDC_OK", fixture="v3_user"),
    "etcdc_v3_user_get": dict(expect="ETCDC_OK", fixture="v3_user"),
    "etcdc_v3_users": dict(expect="ETCDC_OK", fixture="v3_user"),
    "etcdc_v3_role_add": dict(expect="ETCDC_OK", fixture="v3_no_role"),
    "etcdc_v3_role_delete": dict(expect="ETCDC_OK", fixture="v3_role"),
    "etcdc_v3_roles": dict(expect="ETCDC_OK", fixture="v3_role"),
    "etcdc_v3_role_get": dict(expect="ETCDC_OK", fixture="v3_role"),
    "etcdc_v3_role_grant_permission": dict(expect="ETCDC_OK", fixture="v3_role_plain"),
    "etcdc_v3_role_revoke_permission": dict(expect="ETCDC_OK", fixture="v3_role"),
    # (the permissions of a role with READ on [key, "z"))
    "etcdc_v3_permission_list_count": dict(expect="nonzero"),
    "etcdc_v3_permission_list_kind": dict(expect="nonzero"),
    "etcdc_v3_permission_list_key": dict(expect="nonnull"),
    "etcdc_v3_permission_list_key_len": dict(expect="nonzero"),
    "etcdc_v3_permission_list_range_end": dict(expect="nonnull"),
    "etcdc_v3_permission_list_range_end_len": dict(expect="nonzero"),
    "etcdc_v3_permission_list_free": dict(expect="void"),
    # v3 cluster (the shared etcd has one member: nothing here may change it)
    "etcdc_v3_members": dict(expect="ETCDC_OK"),
    # The member's own peer URL: valid input that etcd refuses.
    "etcdc_v3_member_add": dict(expect="ETCDC_ERR_GRPC_FAILED_PRECONDITION"),
    # An unknown id.
    "etcdc_v3_member_remove": dict(expect="ETCDC_ERR_GRPC_NOT_FOUND"),
    # The member's own peer URL: accepted, changes nothing; a write before
    # each (two changes in a row may be dropped by etcd 3.5.1).
    "etcdc_v3_member_update": dict(expect="ETCDC_OK", fixture="v3_put"),
    # The member votes already: etcd refuses.
    "etcdc_v3_member_promote": dict(expect="ETCDC_ERR_GRPC_FAILED_PRECONDITION"),
    "etcdc_v3_member_list_count": dict(expect="nonzero"),
    "etcdc_v3_member_list_id": dict(expect="nonzero"),
    "etcdc_v3_member_list_name": dict(expect="nonnull"),
    "etcdc_v3_member_list_is_learner": dict(expect="any"),
    "etcdc_v3_member_list_peer_url_count": dict(expect="nonzero"),
    "etcdc_v3_member_list_peer_url": dict(expect="nonnull"),
    "etcdc_v3_member_list_client_url_count": dict(expect="nonzero"),
    "etcdc_v3_member_list_client_url": dict(expect="nonnull"),
    "etcdc_v3_member_list_free": dict(expect="void"),
    # v3 maintenance (of the one member; no alarm is raised)
    "etcdc_v3_status": dict(expect="ETCDC_OK"),
    "etcdc_v3_status_response_free": dict(expect="void"),
    "etcdc_v3_status_response_header": dict(expect="nonnull"),
    "etcdc_v3_status_response_endpoint": dict(expect="nonnull"),
    "etcdc_v3_status_response_version": dict(expect="nonnull"),
    "etcdc_v3_status_response_db_size": dict(expect="nonzero"),
    "etcdc_v3_status_response_db_size_in_use": dict(expect="nonzero"),
    "etcdc_v3_status_response_leader": dict(expect="nonzero"),
    "etcdc_v3_status_response_raft_index": dict(expect="nonzero"),
    "etcdc_v3_status_response_raft_term": dict(expect="nonzero"),
    "etcdc_v3_status_response_raft_applied_index": dict(expect="nonzero"),
    "etcdc_v3_status_response_is_learner": dict(expect="any"),
    "etcdc_v3_status_response_error_count": dict(expect="any"),  # none when all is well
    "etcdc_v3_status_response_error": dict(expect="any"),
    "etcdc_v3_alarms": dict(expect="ETCDC_OK"),
    "etcdc_v3_alarm_disarm": dict(expect="ETCDC_OK"),  # not raised: no error
    # Raises NOSPACE on the one member; disarmed again right after each call
    # (the shared etcd must take writes for the calls that follow).
    "etcdc_v3_alarm_activate": dict(expect="ETCDC_OK", after="v3_alarms_disarm();"),
    "etcdc_v3_alarm_list_count": dict(expect="any"),
    "etcdc_v3_alarm_list_member_id": dict(expect="any"),
    "etcdc_v3_alarm_list_kind": dict(expect="any"),
    "etcdc_v3_alarm_list_free": dict(expect="void"),
    "etcdc_v3_defragment": dict(expect="ETCDC_OK"),
    "etcdc_v3_hash": dict(expect="ETCDC_OK"),
    "etcdc_v3_hash_kv": dict(expect="ETCDC_OK"),
    "etcdc_v3_snapshot": dict(expect="ETCDC_OK"),
    "etcdc_v3_snapshot_to_file": dict(expect="ETCDC_OK"),
    # To the leader itself: no error, nothing moves.
    "etcdc_v3_move_leader": dict(expect="ETCDC_OK"),
}

FIXTURES = {
    "put": "uint64_t idx = put_key(key);\n(void)idx;",
    "election": "uint64_t won = election_fixture();\n(void)won;",
    # auth_fixture(role, user): role_name 0 absent, 1 without permissions,
    # 2 may read the misuse tree; user_name 0 absent, 1 without roles, 2
    # with role_name
    "user": "auth_fixture(2, 2);",
    "user_plain": "auth_fixture(2, 1);",
    "role": "auth_fixture(2, 0);",
    "role_plain": "auth_fixture(1, 0);",
    "no_role": "auth_fixture(0, 0);",
    # v3: puts "v" at `key` (its bytes); `rev` is the put's revision
    "v3_put": "int64_t rev = v3_put_key(key);\n(void)rev;",
    # v3: a fresh lease of 60 s
    "lease": "int64_t lease_id = lease_fixture();\n(void)lease_id;",
    # v3_auth_fixture(role, user, key): v3_role_name 0 absent, 1 without
    # permissions, 2 with READ on [key, "z"); v3_user_name 0 absent, 1
    # without roles, 2 with v3_role_name. v3 auth stays off.
    "v3_user": "v3_auth_fixture(2, 2, key);",
    "v3_user_plain": "v3_auth_fixture(2, 1, key);",
    "v3_no_user": "v3_auth_fixture(0, 0, key);",
    "v3_role": "v3_auth_fixture(2, 0, key);",
    "v3_role_plain": "v3_auth_fixture(1, 0, key);",
    "v3_no_role": "v3_auth_fixture(0, 0, key);",
}

# --------------------------------------------------------------------------
# Values of string and scalar parameters: "function:param" first, then
# "param". C expressions; `key` is a fresh key per call, the globals are set
# up by main().
VALUES = {
    "key": "key",
    "value": '"v"',
    "prev_value": '"v"',
    "peer_urls": "peer_url",
    "count": "1",
    "i": "0",
    "etcdc_test_and_set:value": '"v2"',
    "etcdc_update:value": '"v2"',
    "etcdc_lock_new:name": "lock_name",
    "etcdc_election_set:key": "ekey",
    "etcdc_election_get:key": "ekey",
    "etcdc_election_delete:key": "ekey",
    "etcdc_election_renew:key": "ekey",
    "etcdc_election_watch:key": "ekey",
    "etcdc_election_set:name": '"me"',
    "etcdc_election_delete:name": '"me"',
    "etcdc_election_renew:name": '"me"',
    "etcdc_member_remove:id": '"1234abcd"',
    "etcdc_member_update:id": "member_id",
    "etcdc_test_and_set:ttl": "0",
    "etcdc_mkdir:ttl": "0",
    "etcdc_refresh:ttl": "600",
    "etcdc_lock_renew:ttl": "60",
    "etcdc_election_set:ttl": "600",
    "etcdc_election_renew:ttl": "600",
    "etcdc_lock_acquire:timeout_ms": "0",
    "etcdc_election_set:timeout_ms": "0",
    "etcdc_election_watch:timeout_ms": "10000",
    "etcdc_election_watch:since_index": "won",
    # The fixture's write is in etcd's history: these return at once.
    "etcdc_watch:timeout_ms": "10000",
    "etcdc_watcher_next:timeout_ms": "10000",
    # Each _init() is given the version this program was compiled with.
    "etcdc_client_options_init:version": "ETCDC_CLIENT_OPTIONS_VERSION",
    "etcdc_write_options_init:version": "ETCDC_WRITE_OPTIONS_VERSION",
    "etcdc_read_options_init:version": "ETCDC_READ_OPTIONS_VERSION",
    "etcdc_delete_options_init:version": "ETCDC_DELETE_OPTIONS_VERSION",
    "etcdc_watch_options_init:version": "ETCDC_WATCH_OPTIONS_VERSION",
    "etcdc_lock_options_init:version": "ETCDC_LOCK_OPTIONS_VERSION",
    "etcdc_election_options_init:version": "ETCDC_ELECTION_OPTIONS_VERSION",
    "etcdc_watcher_resume_from:index": "1",
    "etcdc_stats:which": "ETCDC_STATS_SELF",
    "etcdc_status_str:status": "ETCDC_OK",
    "etcdc_user_get:name": "user_name",
    "etcdc_user_set:name": "user_name",
    "etcdc_user_delete:name": "user_name",
    "etcdc_user_grant_roles:name": "user_name",
    "etcdc_user_revoke_roles:name": "user_name",
    "password": '"pw"',
    "roles": "role_name",
    "etcdc_role_get:name": "role_name",
    "etcdc_role_create:name": "role_name",
    "etcdc_role_delete:name": "role_name",
    "role": "role_name",
    "permission": "ETCDC_PERM_READ",
    "patterns": '"/misuse/*"',
    # v3: bytes are a pointer and a length
    "key_len": "strlen(key)",
    "value_len": "1",
    "expected": '"v"',
    "expected_len": "1",
    "op": "ETCDC_V3_EQUAL",
    "branch": "ETCDC_V3_ON_SUCCESS",
    "etcdc_v3_range_options_init:version": "ETCDC_V3_RANGE_OPTIONS_VERSION",
    "etcdc_v3_put_options_init:version": "ETCDC_V3_PUT_OPTIONS_VERSION",
    "etcdc_v3_delete_options_init:version": "ETCDC_V3_DELETE_OPTIONS_VERSION",
    "etcdc_v3_lease_keeper_options_init:version": "ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION",
    "etcdc_v3_lease_keeper_stop:revoke": "true",
    "etcdc_v3_watch_options_init:version": "ETCDC_V3_WATCH_OPTIONS_VERSION",
    # The fixture's event is at hand: returns at once.
    "etcdc_v3_watcher_next:timeout_ms": "10000",
    "etcdc_v3_compare_options_init:version": "ETCDC_V3_COMPARE_OPTIONS_VERSION",
    "etcdc_v3_compact:revision": "rev",
    "etcdc_v3_compact:physical": "false",
    "etcdc_v3_txn_compare_version:version": "1",
    "etcdc_v3_txn_compare_create_revision:revision": "0",
    "etcdc_v3_txn_compare_mod_revision:revision": "0",
    "etcdc_v3_txn_compare_lease:lease": "0",
    "etcdc_v3_put_if_absent:lease": "0",
    "etcdc_v3_put_if_mod_revision:revision": "rev",
    "etcdc_v3_delete_if_mod_revision:revision": "rev",
    "etcdc_v3_txn_response_op_put:i": "1",
    "etcdc_v3_txn_response_op_delete:i": "2",
    "etcdc_v3_txn_response_op_txn:i": "3",
    "etcdc_v3_lease_grant:ttl": "60",
    "etcdc_v3_lease_grant:id": "0",
    "etcdc_v3_lease_revoke:id": "lease_id",
    "etcdc_v3_lease_keep_alive_once:id": "lease_id",
    "etcdc_v3_lease_time_to_live:id": "lease_id",
    "etcdc_v3_lease_time_to_live:keys": "true",
    # v3 auth, cluster, maintenance
    "etcdc_v3_user_add:name": "v3_user_name",
    "etcdc_v3_user_delete:name": "v3_user_name",
    "etcdc_v3_user_change_password:name": "v3_user_name",
    "etcdc_v3_user_grant_role:name": "v3_user_name",
    "etcdc_v3_user_revoke_role:name": "v3_user_name",
    "etcdc_v3_user_get:name": "v3_user_name",
    "etcdc_v3_user_grant_role:role": "v3_role_name",
    "etcdc_v3_user_revoke_role:role": "v3_role_name",
    "etcdc_v3_role_add:name": "v3_role_name",
    "etcdc_v3_role_delete:name": "v3_role_name",
    "etcdc_v3_role_get:name": "v3_role_name",
    "etcdc_v3_role_grant_permission:name": "v3_role_name",
    "etcdc_v3_role_revoke_permission:name": "v3_role_name",
    "etcdc_v3_role_grant_permission:kind": "ETCDC_V3_PERM_READ",
    "range_end": '"z"',
    "range_end_len": "1",
    "j": "0",
    "etcdc_v3_member_add:is_learner": "true",
    "etcdc_v3_member_remove:id": "UINT64_C(0x1234abcd)",
    "etcdc_v3_member_update:id": "v3_member_id",
    "etcdc_v3_member_promote:id": "v3_member_id",
    "etcdc_v3_alarm_disarm:member_id": "v3_member_id",
    "etcdc_v3_alarm_activate:member_id": "v3_member_id",
    "etcdc_v3_alarm_activate:kind": "ETCDC_V3_ALARM_NOSPACE",
    "etcdc_v3_alarm_disarm:kind": "ETCDC_V3_ALARM_NOSPACE",
    "etcdc_v3_move_leader:target": "v3_member_id",
    "endpoint": "endpoint",
    "etcdc_v3_hash_kv:revision": "0",
    "etcdc_v3_snapshot:timeout_ms": "60000",
    "etcdc_v3_snapshot_to_file:timeout_ms": "60000",
    "path": "snapshot_path",
    # v3 lock and election: named `key` (bytes); a free lock is taken at
    # once; the fixture's election leads (campaigning again proclaims); the
    # fixture's observer has a leader at hand
    "etcdc_v3_lock_options_init:version": "ETCDC_V3_LOCK_OPTIONS_VERSION",
    "etcdc_v3_election_options_init:version": "ETCDC_V3_ELECTION_OPTIONS_VERSION",
    "etcdc_v3_lock_new:name": "key",
    "etcdc_v3_lock_new:name_len": "strlen(key)",
    "etcdc_v3_election_new:name": "key",
    "etcdc_v3_election_new:name_len": "strlen(key)",
    "etcdc_v3_lock_acquire:timeout_ms": "0",
    "etcdc_v3_election_campaign:timeout_ms": "0",
    "etcdc_v3_observer_next:timeout_ms": "10000",
}

# --------------------------------------------------------------------------
# How to make a valid value of each parameter type. `{v}` is the local
# variable, `{val}` the VALUES entry. Keys: setup (C before the call), expr
# (the argument), cleanup (C after), ptr (gets a NULL call), utf8 (gets an
# invalid UTF-8 call), untouched / written (C conditions on an
# out-parameter after a failed / successful call).
KINDS = {
    "client": dict(expr="C", ptr=True),
    "own_client": dict(setup="etcdc_client *{v} = new_client();", expr="{v}",
                       cleanup="etcdc_client_free({v});", ptr=True),
    "response": dict(setup="etcdc_response *{v} = response_fixture(key);", expr="{v}",
                     cleanup="etcdc_response_free({v});", ptr=True),
    "node": dict(setup="etcdc_response *{v}_owner = response_fixture(key);\n"
                       "const etcdc_node *{v} = etcdc_response_node({v}_owner);",
                 expr="{v}", cleanup="etcdc_response_free({v}_owner);", ptr=True),
    "dir_node": dict(setup="etcdc_response *{v}_owner = dir_fixture(key);\n"
                           "const etcdc_node *{v} = etcdc_response_node({v}_owner);",
                     expr="{v}", cleanup="etcdc_response_free({v}_owner);", ptr=True),
    "member_list": dict(setup="etcdc_member_list *{v} = members_fixture();", expr="{v}",
                        cleanup="etcdc_member_list_free({v});", ptr=True),
    "lock": dict(setup="etcdc_lock *{v} = lock_fixture(0);", expr="{v}",
                 cleanup="etcdc_lock_free({v});", ptr=True),
    "held_lock": dict(setup="etcdc_lock *{v} = lock_fixture(1);", expr="{v}",
                      cleanup="etcdc_lock_free({v});", ptr=True),
    "watcher": dict(setup="etcdc_watcher *{v} = watcher_fixture(key);", expr="{v}",
                    cleanup="etcdc_watcher_free({v});", ptr=True),
    "strings": dict(setup="etcdc_strings *{v} = strings_fixture();", expr="{v}",
                    cleanup="etcdc_strings_free({v});", ptr=True),
    "owned_string": dict(setup="char *{v} = string_fixture();", expr="{v}",
                         cleanup="etcdc_string_free({v});", ptr=True),
    "string": dict(expr="{val}", ptr=True, utf8=True),
    "string_list": dict(setup="const char *{v}[1];\n{v}[0] = {val};", expr="{v}", ptr=True,
                        utf8_elem=True),
    "out_string": dict(setup="char *{v} = (char *)SENTINEL;", expr="&{v}",
                       cleanup="if ({v} != (char *)SENTINEL) {{\n    etcdc_string_free({v});\n}}",
                       ptr=True, untouched="{v} == (char *)SENTINEL",
                       written="{v} != (char *)SENTINEL"),
    "out_bool": dict(setup="bool {v} = false;", expr="&{v}", ptr=True),
    "out_u64": dict(setup="uint64_t {v} = UNTOUCHED_U64;", expr="&{v}", ptr=True,
                    untouched="{v} == UNTOUCHED_U64", written="{v} != UNTOUCHED_U64"),
    "out_i64": dict(setup="int64_t {v} = UNTOUCHED_I64;", expr="&{v}", ptr=True,
                    untouched="{v} == UNTOUCHED_I64", written="{v} != UNTOUCHED_I64"),
    # A v3 header filled in by the call: 0xab until then.
    "out_v3_header": dict(setup="etcdc_v3_header {v};\nmemset(&{v}, 0xab, sizeof {v});",
                          expr="&{v}", ptr=True,
                          untouched="bytes_are(&{v}, sizeof {v}, 0xab)",
                          written="!bytes_are(&{v}, sizeof {v}, 0xab)"),
    # v3 bytes: a pointer (this kind) and its length (a size_t scalar, in
    # VALUES). NULL with the valid, non-zero length is refused.
    "bytes": dict(expr="{val}", ptr=True),
    "v3_range_response": dict(setup="etcdc_v3_range_response *{v} = v3_range_fixture(key);",
                              expr="{v}", cleanup="etcdc_v3_range_response_free({v});", ptr=True),
    "v3_put_response": dict(setup="etcdc_v3_put_response *{v} = v3_put_fixture(key);",
                            expr="{v}", cleanup="etcdc_v3_put_response_free({v});", ptr=True),
    "v3_delete_response": dict(setup="etcdc_v3_delete_response *{v} = v3_delete_fixture(key);",
                               expr="{v}", cleanup="etcdc_v3_delete_response_free({v});",
                               ptr=True),
    "v3_txn": dict(setup="etcdc_v3_txn *{v} = v3_txn_fixture(key);", expr="{v}",
                   cleanup="etcdc_v3_txn_free({v});", ptr=True),
    "v3_txn_response": dict(setup="etcdc_v3_txn_response *{v} = v3_txn_response_fixture(key);",
                            expr="{v}", cleanup="etcdc_v3_txn_response_free({v});", ptr=True),
    "v3_swap_response": dict(setup="etcdc_v3_swap_response *{v} = v3_swap_fixture(key);",
                             expr="{v}", cleanup="etcdc_v3_swap_response_free({v});", ptr=True),
    "v3_lease_ttl_response": dict(setup="etcdc_v3_lease_ttl_response *{v} = "
                                        "v3_lease_ttl_fixture(key);",
                                  expr="{v}", cleanup="etcdc_v3_lease_ttl_response_free({v});",
                                  ptr=True),
    "v3_lease_list": dict(setup="etcdc_v3_lease_list *{v} = v3_lease_list_fixture();",
                          expr="{v}", cleanup="etcdc_v3_lease_list_free({v});", ptr=True),
    "out_u32": dict(setup="uint32_t {v} = UNTOUCHED_U32;", expr="&{v}", ptr=True,
                    untouched="{v} == UNTOUCHED_U32", written="{v} != UNTOUCHED_U32"),
    "v3_permission_list": dict(setup="etcdc_v3_permission_list *{v} = "
                                     "v3_permission_list_fixture(key);",
                               expr="{v}", cleanup="etcdc_v3_permission_list_free({v});",
                               ptr=True),
    "v3_member_list": dict(setup="etcdc_v3_member_list *{v} = v3_member_list_fixture();",
                           expr="{v}", cleanup="etcdc_v3_member_list_free({v});", ptr=True),
    "v3_status_response": dict(setup="etcdc_v3_status_response *{v} = v3_status_fixture();",
                               expr="{v}", cleanup="etcdc_v3_status_response_free({v});",
                               ptr=True),
    "v3_alarm_list": dict(setup="etcdc_v3_alarm_list *{v} = v3_alarm_list_fixture();",
                          expr="{v}", cleanup="etcdc_v3_alarm_list_free({v});", ptr=True),
    "v3_lease_keeper": dict(setup="etcdc_v3_lease_keeper *{v} = v3_lease_keeper_fixture();",
                            expr="{v}", cleanup="etcdc_v3_lease_keeper_free({v});", ptr=True),
    "v3_watcher": dict(setup="etcdc_v3_watcher *{v} = v3_watcher_fixture(key);", expr="{v}",
                       cleanup="etcdc_v3_watcher_free({v});", ptr=True),
    "v3_event": dict(setup="etcdc_v3_event *{v} = v3_event_fixture(key);", expr="{v}",
                     cleanup="etcdc_v3_event_free({v});", ptr=True),
    "v3_lock": dict(setup="etcdc_v3_lock *{v} = v3_lock_fixture(key, 1);", expr="{v}",
                    cleanup="etcdc_v3_lock_free({v});", ptr=True),
    "v3_free_lock": dict(setup="etcdc_v3_lock *{v} = v3_lock_fixture(key, 0);", expr="{v}",
                         cleanup="etcdc_v3_lock_free({v});", ptr=True),
    "v3_election": dict(setup="etcdc_v3_election *{v} = v3_election_fixture(key, 1);",
                        expr="{v}", cleanup="etcdc_v3_election_free({v});", ptr=True),
    "v3_observer": dict(setup="etcdc_v3_observer *{v} = v3_observer_fixture(key);", expr="{v}",
                        cleanup="etcdc_v3_observer_free({v});", ptr=True),
    "v3_leader": dict(setup="etcdc_v3_leader *{v} = v3_leader_fixture(key);", expr="{v}",
                      cleanup="etcdc_v3_leader_free({v});", ptr=True),
    "userdata": dict(setup="int {v} = 0;", expr="&{v}", ptr=True),
    "callback": dict(expr="stop_after_one", ptr=True),
    "v3_watch_callback": dict(expr="v3_stop_after_one", ptr=True),
    "snapshot_callback": dict(expr="snapshot_sink", ptr=True),
    # Only an options field (etcdc_v3_lease_keeper_options.on_lost): OPTS_SETUP.
    "lease_lost_callback": dict(expr="lease_lost_sink", ptr=True),
    "scalar": dict(expr="{val}"),
    # out_handle, opts_in, opts_init: built from the type (see kind_of).
}

EXACT_TYPES = {
    "const struct etcdc_client *": "client",
    "struct etcdc_client *": "own_client",
    "const struct etcdc_response *": "response",
    "struct etcdc_response *": "response",
    "const struct etcdc_node *": "node",
    "const struct etcdc_member_list *": "member_list",
    "struct etcdc_member_list *": "member_list",
    "const struct etcdc_lock *": "lock",
    "struct etcdc_lock *": "lock",
    "const struct etcdc_watcher *": "watcher",
    "const struct etcdc_strings *": "strings",
    "struct etcdc_strings *": "strings",
    "struct etcdc_watcher *": "watcher",
    "char *": "owned_string",
    "const char *": "string",
    "const char *const *": "string_list",
    "char **": "out_string",
    "bool *": "out_bool",
    "uint64_t *": "out_u64",
    "void *": "userdata",
    "uint64_t": "scalar",
    "int64_t": "scalar",
    "uint32_t": "scalar",
    "size_t": "scalar",
    "int": "scalar",
    "bool": "scalar",
    "const void *": "bytes",
    "int64_t *": "out_i64",
    "struct etcdc_v3_header *": "out_v3_header",
    "const struct etcdc_v3_range_response *": "v3_range_response",
    "struct etcdc_v3_range_response *": "v3_range_response",
    "const struct etcdc_v3_put_response *": "v3_put_response",
    "struct etcdc_v3_put_response *": "v3_put_response",
    "const struct etcdc_v3_delete_response *": "v3_delete_response",
    "struct etcdc_v3_delete_response *": "v3_delete_response",
    "const struct etcdc_v3_txn *": "v3_txn",
    "struct etcdc_v3_txn *": "v3_txn",
    "const struct etcdc_v3_txn_response *": "v3_txn_response",
    "struct etcdc_v3_txn_response *": "v3_txn_response",
    "const struct etcdc_v3_swap_response *": "v3_swap_response",
    "struct etcdc_v3_swap_response *": "v3_swap_response",
    "const struct etcdc_v3_lease_ttl_response *": "v3_lease_ttl_response",
    "struct etcdc_v3_lease_ttl_response *": "v3_lease_ttl_response",
    "const struct etcdc_v3_lease_list *": "v3_lease_list",
    "struct etcdc_v3_lease_list *": "v3_lease_list",
    "uint32_t *": "out_u32",
    "const struct etcdc_v3_permission_list *": "v3_permission_list",
    "struct etcdc_v3_permission_list *": "v3_permission_list",
    "const struct etcdc_v3_member_list *": "v3_member_list",
    "struct etcdc_v3_member_list *": "v3_member_list",
    "const struct etcdc_v3_status_response *": "v3_status_response",
    "struct etcdc_v3_status_response *": "v3_status_response",
    "const struct etcdc_v3_alarm_list *": "v3_alarm_list",
    "struct etcdc_v3_alarm_list *": "v3_alarm_list",
    "const struct etcdc_v3_lease_keeper *": "v3_lease_keeper",
    "struct etcdc_v3_lease_keeper *": "v3_lease_keeper",
    "const struct etcdc_v3_watcher *": "v3_watcher",
    "struct etcdc_v3_watcher *": "v3_watcher",
    "const struct etcdc_v3_event *": "v3_event",
    "struct etcdc_v3_event *": "v3_event",
    "const struct etcdc_v3_lock *": "v3_lock",
    "struct etcdc_v3_lock *": "v3_lock",
    "const struct etcdc_v3_election *": "v3_election",
    "struct etcdc_v3_election *": "v3_election",
    "const struct etcdc_v3_observer *": "v3_observer",
    "struct etcdc_v3_observer *": "v3_observer",
    "const struct etcdc_v3_leader *": "v3_leader",
    "struct etcdc_v3_leader *": "v3_leader",
}

# The C function given for each callback type (a valid one).
CALLBACKS = {
    "etcdc_watch_callback": "callback",
    "etcdc_v3_snapshot_callback": "snapshot_callback",
    "etcdc_v3_lease_lost_callback": "lease_lost_callback",
    "etcdc_v3_watch_callback": "v3_watch_callback",
}

# A different kind for one parameter of one function.
KIND_OVERRIDE = {
    "etcdc_node_child_count:node": "dir_node",
    "etcdc_node_child:node": "dir_node",
    "etcdc_lock_is_locked:lock": "held_lock",
    "etcdc_lock_renew:lock": "held_lock",
    "etcdc_lock_release:lock": "held_lock",
    "etcdc_v3_lock_acquire:lock": "v3_free_lock",
    "etcdc_v3_lock_try_acquire:lock": "v3_free_lock",
}

# Valid options, on top of their _INIT macro.
OPTS_SETUP = {
    "client": "{v}.endpoints = &endpoint;\n{v}.endpoint_count = 1;\n{v}.read_timeout_ms = 10000;",
    # The fixture's write is in etcd's history: the watch returns at once.
    "watch": "{v}.wait_index = idx;",
    "lock": "{v}.prefix = lock_prefix;",
    # A new lease of 60 s, with a callback (never called: nothing here
    # loses a lease) and its counter.
    "v3_lease_keeper": "{v}.ttl = 60;\n{v}.on_lost = " + KINDS["lease_lost_callback"]["expr"]
                       + ";\n{v}.userdata = &lease_lost_calls;",
    # From the fixture's put (in etcd's history), with the key as it was.
    "v3_watch": "{v}.start_revision = rev;\n{v}.prev_kv = true;",
}

# --------------------------------------------------------------------------
# NULL that the header allows: "function:param" -> (expectation, the
# header's sentence). Expectation "baseline": the same status as the call
# with valid arguments; "noop": a void function that does nothing. "poke":
# the call waits for a change of `key`, so a thread writes it meanwhile.
# An accessor (returning a pointer / number) may have "baseline" for an
# optional out-parameter: the same result as with valid arguments.
# Every pointer parameter of a void function needs an entry here (a void
# function cannot report a misuse: the header must say what NULL does).
ALL_OPTS = "header conventions: \"Passing NULL options means the defaults.\""
KEYS_OUT = '"`out` may be NULL when the response is not wanted."'
NULL_OK = {
    "etcdc_client_free:client": ("noop", '"NULL is a no-op."'),
    "etcdc_string_free:s": ("noop", '"NULL is a no-op."'),
    "etcdc_member_list_free:list": ("noop", '"NULL is a no-op."'),
    "etcdc_strings_free:list": ("noop", '"NULL is a no-op."'),
    "etcdc_role_get:read": ("baseline", '"either pointer may be NULL when not wanted."'),
    "etcdc_role_get:write": ("baseline", '"either pointer may be NULL when not wanted."'),
    "etcdc_lock_free:lock": ("noop", '"NULL is a no-op."'),
    "etcdc_lock_cancel:lock": ("noop", '"Any thread may call it while the lock exists; NULL is a no-op."'),
    "etcdc_response_free:response": ("noop", '"Frees a response and every node borrowed from it. NULL is a no-op."'),
    "etcdc_watcher_cancel:watcher": ("noop", '"while the watcher exists; NULL is a no-op."'),
    "etcdc_watcher_free:watcher": ("noop", '"Frees a watcher, closing its connection. NULL is a no-op."'),
    "etcdc_client_new:opts": ("baseline", '"`opts` may be NULL for the defaults (http://127.0.0.1:2379, /v2, 60 s)."'),
    "etcdc_member_add:out": ("baseline", '"Stores it in `*out` (if not NULL)"'),
    "etcdc_server_version:server": ("baseline", '"Either may be NULL when not wanted."'),
    "etcdc_server_version:cluster": ("baseline", '"Either may be NULL when not wanted."'),
    "etcdc_election_set:index": ("baseline", '"On success `*index` (if not NULL) is the etcd index"'),
    "etcdc_election_watch:next_index": ("baseline", '"and in `*next_index` (if not NULL) the index"'),
    "etcdc_write:opts": ("baseline", '"`opts` NULL is a plain set."'),
    "etcdc_read:opts": ("baseline", '"`opts` NULL is a plain read."'),
    "etcdc_delete:opts": ("baseline", '"`opts` NULL deletes a value."'),
    "etcdc_update:value": ("baseline", '"`value` NULL writes the node\'s value again"'),
    "etcdc_lock_new:opts": ("baseline", ALL_OPTS),
    "etcdc_election_set:opts": ("baseline", ALL_OPTS),
    "etcdc_election_get:opts": ("baseline", ALL_OPTS),
    "etcdc_election_delete:opts": ("baseline", ALL_OPTS),
    "etcdc_election_renew:opts": ("baseline", ALL_OPTS),
    "etcdc_election_watch:opts": ("baseline", ALL_OPTS),
    "etcdc_watch:opts": ("baseline+poke", ALL_OPTS + " (no wait_index: the next change from now)"),
    "etcdc_watcher_new:opts": ("baseline", ALL_OPTS),
    "etcdc_watch:out": ("baseline", '"stores it in `*out` (...; `out` may be NULL)"'),
    "etcdc_watcher_next:out": ("baseline", '"stores it in `*out` (...; `out` may be NULL)"'),
    # userdata is opaque to the library: handed to the callback, never read.
    "etcdc_watcher_run:userdata": ("baseline", '"calls `callback(event, userdata)` for each event"'),
    "etcdc_write:out": ("baseline", KEYS_OUT),
    "etcdc_read:out": ("baseline", KEYS_OUT),
    "etcdc_delete:out": ("baseline", KEYS_OUT),
    "etcdc_test_and_set:out": ("baseline", KEYS_OUT),
    "etcdc_update:out": ("baseline", KEYS_OUT),
    "etcdc_mkdir:out": ("baseline", KEYS_OUT),
    "etcdc_refresh:out": ("baseline", KEYS_OUT),
    "etcdc_pop:out": ("baseline", KEYS_OUT),
    # v3
    "etcdc_v3_range:opts": ("baseline", '"`opts` NULL reads the key alone, linearizably"'),
    "etcdc_v3_put:opts": ("baseline", '"`opts` NULL is a plain put."'),
    "etcdc_v3_delete:opts": ("baseline", '"`opts` NULL deletes the key alone."'),
    "etcdc_v3_range:out": ("baseline", KEYS_OUT),
    "etcdc_v3_put:out": ("baseline", KEYS_OUT),
    "etcdc_v3_delete:out": ("baseline", KEYS_OUT),
    "etcdc_v3_txn_commit:out": ("baseline", KEYS_OUT),
    "etcdc_v3_compact:header": ("baseline", '"On success `*header` (if not NULL) is the answer\'s header."'),
    "etcdc_v3_lease_revoke:header": ("baseline", '"On success `*header` (if not NULL) is the answer\'s header"'),
    "etcdc_v3_lease_grant:granted_id": ("baseline", '"On success `*granted_id` (if not NULL) is its id"'),
    "etcdc_v3_lease_grant:granted_ttl": ("baseline", '"and `*granted_ttl` (if not NULL) its TTL"'),
    "etcdc_v3_lease_keep_alive_once:ttl": ("baseline", '"On success `*ttl` (if not NULL) is its TTL again"'),
    "etcdc_v3_txn_compare_value:opts": ("baseline", '"`opts` NULL compares the key alone."'),
    "etcdc_v3_txn_compare_version:opts": ("baseline", '"`opts` NULL compares the key alone."'),
    "etcdc_v3_txn_compare_create_revision:opts": ("baseline", '"`opts` NULL compares the key alone."'),
    "etcdc_v3_txn_compare_mod_revision:opts": ("baseline", '"`opts` NULL compares the key alone."'),
    "etcdc_v3_txn_compare_lease:opts": ("baseline", '"`opts` NULL compares the key alone."'),
    "etcdc_v3_txn_add_range:opts": ("baseline", '"(`opts` NULL: the key alone)"'),
    "etcdc_v3_txn_add_put:opts": ("baseline", '"`opts` (NULL: a plain put)"'),
    "etcdc_v3_txn_add_delete:opts": ("baseline", '"(`opts` NULL: the key alone)"'),
    "etcdc_v3_txn_free:txn": ("noop", '"Frees a transaction. NULL is a no-op."'),
    "etcdc_v3_range_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_put_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_delete_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_txn_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_swap_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_lease_ttl_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_lease_list_free:list": ("noop", '"Frees a list of lease ids. NULL is a no-op."'),
    "etcdc_v3_lease_keeper_free:keeper": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_watcher_new:opts": ("baseline", '"`opts` NULL watches the key alone, from now."'),
    "etcdc_v3_watcher_next:out": ("baseline", '"stores it in `*out` (...; `out` may be NULL)"'),
    # userdata is opaque to the library: handed to the callback, never read.
    "etcdc_v3_watcher_run:userdata": ("baseline", '"calls `callback(event, userdata)` for each event"'),
    "etcdc_v3_watcher_cancel:watcher": ("noop", '"while the watcher exists; NULL is a no-op."'),
    "etcdc_v3_watcher_free:watcher": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_event_free:event": ("noop", '"Frees an event and everything borrowed from it. NULL is a no-op."'),
    "etcdc_v3_lock_new:opts": ("baseline", '"`opts` NULL is a lease TTL of 60 s."'),
    "etcdc_v3_lock_cancel:lock": ("noop", '"while the lock exists; NULL is a no-op."'),
    "etcdc_v3_lock_free:lock": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_lock_lease_state:left_ms": ("baseline", '"the time the lease has left at least in `*left_ms` (if `left_ms` is not NULL"'),
    "etcdc_v3_election_new:opts": ("baseline", '"`opts` NULL is a lease TTL of 60 s."'),
    "etcdc_v3_election_cancel:election": ("noop", '"while the election exists; NULL is a no-op."'),
    "etcdc_v3_election_free:election": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_election_lease_state:left_ms": ("baseline", '"(with the time left in `*left_ms`, if `left_ms` is not NULL"'),
    "etcdc_v3_observer_next:out": ("baseline", '"and stores it in `*out` (...; `out` may be NULL)"'),
    "etcdc_v3_observer_cancel:observer": ("noop", '"while the observer exists; NULL is a no-op."'),
    "etcdc_v3_observer_free:observer": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_leader_free:leader": ("noop", '"Frees a leader and everything borrowed from it. NULL is a no-op."'),
    # An accessor whose out-parameter may be NULL: the same result.
    "etcdc_v3_lease_keeper_state:left_ms": ("baseline", '"`*left_ms` (if `left_ms` is not NULL) is the time the lease has left"'),
    "etcdc_v3_auth_enable:header": ("baseline", '"On success `*header` (if not NULL) is the answer\'s header."'),
    "etcdc_v3_auth_disable:header": ("baseline", '"On success `*header` (if not NULL) is the answer\'s header."'),
    "etcdc_v3_auth_status:revision": ("baseline", '"and in `*revision` (if not NULL) the revision of etcd\'s auth store"'),
    "etcdc_v3_user_add:password": ("baseline", '"`password` NULL adds a user without a password"'),
    "etcdc_v3_permission_list_free:list": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_member_add:id": ("baseline", '"On success `*id` (if not NULL) is the new member\'s id"'),
    "etcdc_v3_member_add:members": ("baseline", '"and `*members` (if not NULL) a new list of every member"'),
    "etcdc_v3_member_remove:members": ("baseline", '"On success `*members` (if not NULL) is a new list of the members left"'),
    "etcdc_v3_member_update:members": ("baseline", '"On success `*members` (if not NULL) is a new list of every member"'),
    "etcdc_v3_member_promote:members": ("baseline", '"On success `*members` (if not NULL) is a new list of every member"'),
    "etcdc_v3_member_list_free:list": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_status:endpoint": ("baseline", '"or with `endpoint` NULL of the member the client talks to"'),
    "etcdc_v3_status_response_free:response": ("noop", '"NULL is a no-op."'),
    "etcdc_v3_alarm_activate:raised": ("baseline", '"On success `*raised` (if not NULL) is a new list holding the alarm"'),
    "etcdc_v3_alarm_disarm:disarmed": ("baseline", '"On success `*disarmed` (if not NULL) is a new list of the alarms disarmed"'),
    "etcdc_v3_alarm_list_free:list": ("noop", '"Frees an alarm list. NULL is a no-op."'),
    "etcdc_v3_defragment:endpoint": ("baseline", '"or with `endpoint` NULL of the member the client talks to"'),
    "etcdc_v3_hash:header": ("baseline", '"On success `*header` (if not NULL) is the answer\'s header"'),
    "etcdc_v3_hash_kv:endpoint": ("baseline", '"(NULL: the member the client talks to)"'),
    "etcdc_v3_hash_kv:compact_revision": ("baseline", '"On success `*compact_revision` (if not NULL) is the store\'s last compaction"'),
    "etcdc_v3_hash_kv:header": ("baseline", '"and `*header` (if not NULL) the answer\'s header"'),
    # userdata is opaque to the library: handed to the callback, never read.
    "etcdc_v3_snapshot:userdata": ("baseline", '"calls `callback(data, len, userdata)` with each piece"'),
    "etcdc_v3_snapshot:size": ("baseline", '"On success `*size` (if not NULL) is how many bytes the callback got."'),
    "etcdc_v3_snapshot_to_file:size": ("baseline", '"On success `*size` (if not NULL) is the file\'s size."'),
}

# --------------------------------------------------------------------------
# Other invalid input the header names: "function:param" -> list of
# (C value, expectation, needle in the message or None, the header's words).
# Expectation: ETCDC_ERR_INVALID_ARGUMENT, "zero" (accessor: NULL / 0),
# "str:<text>" (accessor returning exactly that string), or "baseline" (an
# extreme but valid value: as the valid call, e.g. a timeout of 2^64-1 ms
# must not overflow a deadline into a panic).
MAX_TTL_WORDS = ('ETCDC_MAX_TTL: "The longest TTL accepted, in seconds: 100 years. '
                 '[...] A longer `ttl` is `ETCDC_ERR_INVALID_ARGUMENT`."')
OVER_MAX_TTL = "(uint64_t)ETCDC_MAX_TTL + 1"
INVALID = "ETCDC_ERR_INVALID_ARGUMENT"
WAIT_RULE = '"at most `timeout_ms` (the waiting rule: negative for no limit, [...])"'
BAD_VALUES = {
    "etcdc_stats:which": [("99", INVALID, "which", '"`ETCDC_ERR_INVALID_ARGUMENT` (also for an unknown `which`)"')],
    "etcdc_refresh:ttl": [("0", INVALID, None, '"`ETCDC_ERR_INVALID_ARGUMENT` (also for `ttl` 0)"'),
                          (OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    "etcdc_mkdir:ttl": [(OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    "etcdc_test_and_set:ttl": [(OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    "etcdc_election_set:ttl": [(OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    "etcdc_election_renew:ttl": [("0", INVALID, None, '"`ETCDC_ERR_INVALID_ARGUMENT` (also for `ttl` 0)"'),
                                 (OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    "etcdc_lock_renew:ttl": [("0", INVALID, None, '"`ETCDC_ERR_INVALID_ARGUMENT` for NULL or a `ttl` of 0"'),
                             (OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    "etcdc_watcher_resume_from:index": [("0", INVALID, None, '"`ETCDC_ERR_INVALID_ARGUMENT` for NULL or an index of 0"')],
    "etcdc_member_add:count": [("0", INVALID, "peer_urls", '"Adds a member with these `count` peer URLs"')],
    "etcdc_member_update:count": [("0", INVALID, "peer_urls", '"Replaces the peer URLs of member `id` (hex) with these `count` URLs"')],
    "etcdc_member_remove:id": [('"xyz"', INVALID, "hex", '"`ETCDC_ERR_INVALID_ARGUMENT` (NULL, not hex)"')],
    "etcdc_lock_new:name": [('""', INVALID, None, '"(NULL, invalid UTF-8, an empty name, an unknown options version)"')],
    "etcdc_election_set:name": [('""', INVALID, None, '"`ETCDC_ERR_INVALID_ARGUMENT` (NULL, invalid UTF-8, an empty name)"')],
    "etcdc_write:key": [('"/misuse/../x"', INVALID, "segment", '"a key with an empty, \\".\\" or \\"..\\" segment"')],
    "etcdc_response_leaf:i": [("SIZE_MAX", "zero", None, '"or NULL if `i` is out of range"')],
    "etcdc_node_child:i": [("SIZE_MAX", "zero", None, '"or NULL if out of range"')],
    "etcdc_member_list_get:i": [("SIZE_MAX", "zero", None, '"or NULL if out of range"')],
    # The waiting rule: negative for no limit, positive for at most that long.
    "etcdc_watch:timeout_ms": [("INT64_MAX", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"'),
                               ("-1", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"'),
                               ("INT64_MIN", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"')],
    "etcdc_watcher_next:timeout_ms": [("INT64_MAX", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit, ...)"'),
                                      ("-1", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit, ...)"'),
                                      ("INT64_MIN", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit, ...)"')],
    "etcdc_lock_acquire:timeout_ms": [("INT64_MAX", "baseline", None, '"waiting at most `timeout_ms` (the waiting rule: negative for no limit, ...)"'),
                                      ("INT64_MIN", "baseline", None, '"waiting at most `timeout_ms` (the waiting rule: negative for no limit, ...)"')],
    "etcdc_election_set:timeout_ms": [("INT64_MAX", "baseline", None, '"waiting at most `timeout_ms` (the waiting rule: negative for no limit, ...)"'),
                                      ("-1", "baseline", None, '"waiting at most `timeout_ms` (the waiting rule: negative for no limit, ...)"')],
    "etcdc_election_watch:timeout_ms": [("INT64_MAX", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"'),
                                        ("INT64_MIN", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"')],
    "etcdc_role_grant:permission": [("99", INVALID, "permission", '"`ETCDC_ERR_INVALID_ARGUMENT` (also `count` 0 or an unknown permission)"')],
    "etcdc_role_grant:count": [("0", INVALID, "patterns", '"`ETCDC_ERR_INVALID_ARGUMENT` (also `count` 0 or an unknown permission)"')],
    "etcdc_user_grant_roles:count": [("0", INVALID, "roles", '"`ETCDC_ERR_INVALID_ARGUMENT` (also `count` 0)"')],
    "etcdc_user_set:name": [('"a/b"', INVALID, "path segment", '"`ETCDC_ERR_INVALID_ARGUMENT` (NULL, invalid UTF-8, a name with \"/\")"')],
    # v3
    "etcdc_v3_range:key_len": [("SIZE_MAX", INVALID, "key_len", '"or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`"')],
    "etcdc_v3_put:value_len": [("SIZE_MAX", INVALID, "value_len", '"or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`"')],
    "etcdc_v3_watcher_new:key_len": [("SIZE_MAX", INVALID, "key_len", '"or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`"')],
    "etcdc_v3_watcher_next:timeout_ms": [("INT64_MAX", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"'),
                                         ("-1", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"'),
                                         ("INT64_MIN", "baseline", None, '"at most `timeout_ms` (the waiting rule: negative for no limit)"')],
    "etcdc_v3_compact:revision": [("0", INVALID, "revision", '"a `revision` that is not positive"'),
                                  ("-1", INVALID, "revision", '"a `revision` that is not positive"')],
    "etcdc_v3_lease_grant:ttl": [("0", INVALID, "TTL", '"or a `ttl` that is not positive"'),
                                 ("-5", INVALID, "TTL", '"or a `ttl` that is not positive"')],
    "etcdc_v3_txn_compare_value:op": [("4", INVALID, "op", '"an `op` that is none of its values"')],
    "etcdc_v3_txn_compare_version:op": [("-1", INVALID, "op", '"an `op` that is none of its values"')],
    "etcdc_v3_txn_compare_create_revision:op": [("99", INVALID, "op", '"an `op` that is none of its values"')],
    "etcdc_v3_txn_compare_mod_revision:op": [("99", INVALID, "op", '"an `op` that is none of its values"')],
    "etcdc_v3_txn_compare_lease:op": [("99", INVALID, "op", '"an `op` that is none of its values"')],
    "etcdc_v3_txn_add_range:branch": [("2", INVALID, "branch", '"a `branch` that is none of its values"')],
    "etcdc_v3_txn_add_put:branch": [("-1", INVALID, "branch", '"a `branch` that is none of its values"')],
    "etcdc_v3_txn_add_delete:branch": [("7", INVALID, "branch", '"a `branch` that is none of its values"')],
    "etcdc_v3_txn_add_txn:branch": [("2", INVALID, "branch", '"a `branch` that is none of its values"')],
    "etcdc_v3_range_response_kv:i": [("SIZE_MAX", "zero", None, '"or NULL if out of range"')],
    "etcdc_v3_delete_response_prev_kv:i": [("SIZE_MAX", "zero", None, '"or NULL if out of range"')],
    "etcdc_v3_txn_response_op_kind:i": [("SIZE_MAX", "zero", None, '"`ETCDC_V3_OP_NONE` if out of range"')],
    "etcdc_v3_txn_response_op_range:i": [("1", "zero", None, '"if it is a range, else NULL"'),
                                         ("SIZE_MAX", "zero", None, '"if it is a range, else NULL"')],
    "etcdc_v3_txn_response_op_put:i": [("0", "zero", None, '"if it is a put, else NULL"')],
    "etcdc_v3_txn_response_op_delete:i": [("3", "zero", None, '"if it is a delete, else NULL"')],
    "etcdc_v3_txn_response_op_txn:i": [("2", "zero", None, '"if it is a nested transaction, else NULL"')],
    "etcdc_v3_lease_ttl_response_key:i": [("SIZE_MAX", "zero", None, '"NULL if out of range"')],
    "etcdc_v3_lease_ttl_response_key_len:i": [("SIZE_MAX", "zero", None, '"(0 if out of range"')],
    "etcdc_v3_lease_list_get:i": [("SIZE_MAX", "zero", None, '"or 0 (no lease has that id) if out of range"')],
    "etcdc_v3_role_grant_permission:kind": [("ETCDC_V3_PERM_NONE", INVALID, "kind", '"a `kind` that is none of its values"'),
                                            ("4", INVALID, "kind", '"a `kind` that is none of its values"')],
    "etcdc_v3_role_grant_permission:key_len": [("SIZE_MAX", INVALID, "key_len", '"or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`"')],
    "etcdc_v3_permission_list_kind:i": [("SIZE_MAX", "zero", None, '"or `ETCDC_V3_PERM_NONE` if out of range"')],
    "etcdc_v3_permission_list_key:i": [("SIZE_MAX", "zero", None, '"NULL if out of range"')],
    "etcdc_v3_permission_list_range_end_len:i": [("SIZE_MAX", "zero", None, '"(0 for the key alone, if out of range"')],
    "etcdc_v3_member_add:count": [("0", INVALID, "peer_urls", '"`ETCDC_ERR_INVALID_ARGUMENT` for NULL, invalid UTF-8 or `count` 0"')],
    "etcdc_v3_member_update:count": [("0", INVALID, "peer_urls", '"as `etcdc_v3_member_add()`\'s for the URLs"')],
    "etcdc_v3_member_list_id:i": [("SIZE_MAX", "zero", None, '"or 0 (no member has that id) if out of range"')],
    "etcdc_v3_member_list_name:i": [("SIZE_MAX", "zero", None, '"NULL if out of range"')],
    "etcdc_v3_member_list_peer_url:i": [("SIZE_MAX", "zero", None, '"or NULL if either is out of range"')],
    "etcdc_v3_member_list_peer_url:j": [("SIZE_MAX", "zero", None, '"or NULL if either is out of range"')],
    "etcdc_v3_member_list_client_url:j": [("SIZE_MAX", "zero", None, '"or NULL if either is out of range"')],
    "etcdc_v3_status:endpoint": [('"ftp://x"', INVALID, "client URL", '"an `endpoint` that is no client URL"')],
    "etcdc_v3_status_response_error:i": [("SIZE_MAX", "zero", None, '"or NULL if out of range"')],
    "etcdc_v3_alarm_disarm:kind": [("ETCDC_V3_ALARM_NONE", INVALID, "kind", '"or a `kind` that is not positive"'),
                                   ("-1", INVALID, "kind", '"or a `kind` that is not positive"')],
    "etcdc_v3_alarm_activate:kind": [("ETCDC_V3_ALARM_NONE", INVALID, "kind", '"or a `kind` that is not positive"'),
                                     ("-1", INVALID, "kind", '"or a `kind` that is not positive"')],
    "etcdc_v3_alarm_list_kind:i": [("SIZE_MAX", "zero", None, '"`ETCDC_V3_ALARM_NONE` if out of range"')],
    "etcdc_v3_defragment:endpoint": [('"http://a/b"', INVALID, "client URL", '"an `endpoint` that is no client URL"')],
    "etcdc_v3_hash_kv:revision": [("INT64_MAX", "ETCDC_ERR_GRPC_OUT_OF_RANGE", None, '"`ETCDC_ERR_GRPC_OUT_OF_RANGE` for a compacted or future `revision`"')],
    "etcdc_v3_snapshot:callback": [("snapshot_stop", "ETCDC_ERR_CANCELLED", None, '"`ETCDC_ERR_CANCELLED` when the callback returned non-zero"')],
    "etcdc_v3_snapshot:timeout_ms": [("-1", "baseline", None, '"(the waiting rule: negative for no limit, [...])"'),
                                     ("INT64_MAX", "baseline", None, '"(the waiting rule: negative for no limit, [...])"')],
    "etcdc_v3_snapshot_to_file:path": [('"/nonexistent-etcdc-misuse/snap.db"', INVALID, "/nonexistent-etcdc-misuse/snap.db.part-",
                                        '"or a file that cannot be created, written or renamed (the message says which and why)"')],
    "etcdc_v3_lock_new:name_len": [("SIZE_MAX", INVALID, "name_len", '"NULL with any other length, or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`" (v3 keys)'),
                                   ("0", INVALID, "name", '"an empty name"')],
    "etcdc_v3_election_new:name_len": [("SIZE_MAX", INVALID, "name_len", '"NULL with any other length, or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`" (v3 keys)'),
                                       ("0", INVALID, "name", '"an empty name"')],
    "etcdc_v3_lock_acquire:timeout_ms": [("-1", "baseline", None, WAIT_RULE),
                                         ("INT64_MAX", "baseline", None, WAIT_RULE),
                                         ("INT64_MIN", "baseline", None, WAIT_RULE)],
    "etcdc_v3_election_campaign:timeout_ms": [("-1", "baseline", None, WAIT_RULE),
                                              ("INT64_MAX", "baseline", None, WAIT_RULE),
                                              ("INT64_MIN", "baseline", None, WAIT_RULE)],
    "etcdc_v3_election_campaign:value_len": [("SIZE_MAX", INVALID, "value_len", '"or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`" (v3 keys)')],
    "etcdc_v3_election_proclaim:value_len": [("SIZE_MAX", INVALID, "value_len", '"or a length over `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`" (v3 keys)')],
    "etcdc_v3_observer_next:timeout_ms": [("-1", "baseline", None, WAIT_RULE),
                                          ("INT64_MAX", "baseline", None, WAIT_RULE),
                                          ("INT64_MIN", "baseline", None, WAIT_RULE)],
    "etcdc_status_str:status": [("12345", "str:unknown status", None, '"(\\"unknown status\\" for a number that is not a status)"'),
                                ("-1", "str:unknown status", None, '"(\\"unknown status\\" for a number that is not a status)"')],
}

# Other values of options fields: "options:field" -> list of (C value,
# expectation: INVALID or "baseline", needle or None, the header's words[,
# C run before]).
BAD_OPTION_FIELDS = {
    # v3 lease keeper: exactly one of ttl and id; a positive ttl
    "v3_lease_keeper:ttl": [("0", INVALID, "neither ttl", '"then set exactly one of `ttl` and `id`."'),
                            ("-1", INVALID, "TTL", '"a `ttl` that is not positive"')],
    "v3_lease_keeper:id": [("1234", INVALID, "both set", '"neither or both of `ttl` and `id` set"')],
    "write:prev_exist": [("7", INVALID, "prev_exist", '"One of `ETCDC_PREV_EXIST_ANY` / `_TRUE` / `_FALSE`."')],
    "write:ttl": [(OVER_MAX_TTL, INVALID, None, '"Seconds to live, up to `ETCDC_MAX_TTL`"')],
    "lock:ttl": [(OVER_MAX_TTL, INVALID, None, MAX_TTL_WORDS)],
    # protocol is for the single endpoint (`endpoints` "replace host/port/protocol"):
    # the last element clears the list first.
    "client:protocol": [('"ftp"', INVALID, "ftp", '"\"http\" (default) or \"https\" for the single endpoint."',
                         "{v}.endpoints = NULL;\n{v}.endpoint_count = 0;")],
    "client:ca_file": [('"/nonexistent/ca.pem"', INVALID, "/nonexistent/ca.pem", '"Read by `etcdc_client_new()`."')],
    "client:cert_file": [('"/nonexistent/cert.pem"', INVALID, None, '"needs `key_file`."')],
    "client:password": [('"pw"', INVALID, "password", '"Password of `username`."')],
    "client:username": [('"a:b"', INVALID, "':'", '"User name for etcd\'s auth [...] (HTTP basic auth)"')],
    # srv_domain replaces the endpoints (with them it is refused for that
    # alone): the last element clears them first.
    "client:srv_domain": [('"a..b"', INVALID, "srv_domain", '"Find the endpoints in DNS"',
                           "{v}.endpoints = NULL;\n{v}.endpoint_count = 0;")],
    "client:dns_server": [('"localhost:53"', INVALID, "dns_server", '"or an address alone (port 53)"')],
    "client:read_timeout_ms": [("UINT64_MAX", "baseline", None, '"Longest time one request may take, in milliseconds"')],
    "client:connect_timeout_ms": [("UINT64_MAX", "baseline", None, '"Longest time to open a connection, in milliseconds"')],
    # v3: an end given twice; NULL bytes with a length; sort values
    "v3_range:prefix": [("true", INVALID, "prefix and range_end", '"`range_end` must not be set too."',
                         '{v}.range_end = "x";\n{v}.range_end_len = 1;')],
    "v3_range:range_end": [("NULL", INVALID, "range_end is NULL", '"NULL with any other length [...] is `ETCDC_ERR_INVALID_ARGUMENT`"',
                            "{v}.range_end_len = 1;")],
    "v3_range:sort_target": [("99", INVALID, "sort_target", '"One of `etcdc_v3_sort_target`"')],
    "v3_range:sort_order": [("-1", INVALID, "sort_order", '"One of `etcdc_v3_sort_order`"')],
    "v3_delete:prefix": [("true", INVALID, "prefix and range_end", '"`range_end` must not be set too."',
                          '{v}.range_end = "x";\n{v}.range_end_len = 1;')],
    "v3_delete:range_end": [("NULL", INVALID, "range_end is NULL", '"NULL with any other length [...] is `ETCDC_ERR_INVALID_ARGUMENT`"',
                             "{v}.range_end_len = 2;")],
    "v3_watch:prefix": [("true", INVALID, "prefix and range_end", '"`range_end` must not be set too."',
                         '{v}.range_end = "x";\n{v}.range_end_len = 1;')],
    "v3_watch:range_end": [("NULL", INVALID, "range_end is NULL", '"NULL with any other length [...] is `ETCDC_ERR_INVALID_ARGUMENT`"',
                            "{v}.range_end_len = 1;")],
    "v3_watch:start_revision": [("-1", INVALID, "revision", '"Negative is `ETCDC_ERR_INVALID_ARGUMENT`."')],
    "v3_compare:prefix": [("true", INVALID, "prefix and range_end", '"`range_end` must not be set too."',
                           '{v}.range_end = "x";\n{v}.range_end_len = 1;')],
    "v3_compare:range_end": [("NULL", INVALID, "range_end is NULL", '"NULL with any other length [...] is `ETCDC_ERR_INVALID_ARGUMENT`"',
                              "{v}.range_end_len = 1;")],
    # v3 lock and election: 0 is the default TTL; negative is refused
    "v3_lock:ttl": [("-1", INVALID, "TTL", '"negative is `ETCDC_ERR_INVALID_ARGUMENT`."'),
                    ("0", "baseline", None, '"0: 60 s"'),
                    ("INT64_MIN", INVALID, "TTL", '"negative is `ETCDC_ERR_INVALID_ARGUMENT`."')],
    "v3_election:ttl": [("-1", INVALID, "TTL", '"negative is `ETCDC_ERR_INVALID_ARGUMENT`."'),
                        ("0", "baseline", None, '"0: 60 s"')],
}

# Every etcdc_X_options_init(opts, version): versions it must refuse, writing
# nothing (added to BAD_VALUES for each _init the header declares).
INIT_WORDS = '"`ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version."'
INIT_WORDS_CLIENT = ('"`ETCDC_ERR_INVALID_ARGUMENT` for a NULL `opts` or a version this library '
                     'does not know (nothing is written then)."')


BAD_UTF8 = "BAD_UTF8"


class GenError(Exception):
    pass


# --------------------------------------------------------------------------
# Header parsing


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_header(text):
    # The header has one extern "C" { ... } block per section: read them all.
    blocks = re.findall(r'extern "C" \{(.*?)\}  // extern "C"', text, re.S)
    if not blocks:
        raise GenError('no extern "C" { ... } guards in the header')
    body = strip_comments("\n".join(blocks))
    body = "\n".join(line for line in body.splitlines() if not line.strip().startswith("#"))
    funcs = []
    for decl in body.split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        m = re.match(r"^(.*?)\b(etcdc_\w+)\s*\((.*)\)$", decl)
        if not m:
            raise GenError(f"cannot parse the declaration: {decl}")
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        plist = []
        if params != "void":
            for p in params.split(","):
                pm = re.match(r"^(.*?)(\w+)$", p.strip())
                if not pm:
                    raise GenError(f"{name}: cannot parse the parameter {p!r}")
                plist.append((norm_type(pm.group(1)), pm.group(2)))
        funcs.append(dict(name=name, ret=norm_type(ret), params=plist))

    clean = strip_comments(text)
    structs = {}
    for m in re.finditer(r"typedef struct etcdc_(\w+)_options \{(.*?)\} etcdc_\1_options;", clean, re.S):
        fields = []
        for f in m.group(2).split(";"):
            f = " ".join(f.split())
            if not f:
                continue
            fm = re.match(r"^(.*?)(\w+)$", f)
            fields.append((norm_type(fm.group(1)), fm.group(2)))
        structs[m.group(1)] = fields
    fnptrs = set(re.findall(r"typedef [^;]*\(\*(\w+)\)\s*\(", clean))
    # Macro names, with their value when it is a plain number.
    macros = {}
    for m in re.finditer(r"^\s*#define (\w+)(?:[ \t]+(.*))?$", text, re.M):
        v = (m.group(2) or "").strip()
        macros[m.group(1)] = int(v) if re.fullmatch(r"\d+", v) else None
    return funcs, structs, fnptrs, macros


def norm_type(t):
    """'const struct etcdc_node  *' -> 'const struct etcdc_node *'."""
    t = " ".join(t.split())
    t = re.sub(r"\s*\*", " *", t)
    t = re.sub(r"\* \*", "**", t)
    t = t.replace("enum etcdc_status", "etcdc_status")
    return t.strip()


# --------------------------------------------------------------------------
# Generation


class Param:
    def __init__(self, fn, ptype, name, index, ctx):
        self.fn, self.type, self.name = fn, ptype, name
        self.var = f"a{index}_{name}"
        self.spec = kind_of(fn, ptype, name, ctx)

    def value(self):
        for k in (f"{self.fn}:{self.name}", self.name):
            if k in VALUES:
                return VALUES[k]
        raise GenError(f"{self.fn}: no value for parameter `{self.type} {self.name}` "
                       f"(add \"{self.fn}:{self.name}\" to VALUES)")

    def fmt(self, s):
        if s is None:
            return None
        val = self.value() if "{val}" in s else ""
        return s.format(v=self.var, val=val)


def kind_of(fn, ptype, name, ctx):
    funcs, structs, fnptrs, macros = ctx
    key = f"{fn}:{name}"
    if key in KIND_OVERRIDE:
        return dict(KINDS[KIND_OVERRIDE[key]], kind=KIND_OVERRIDE[key])
    if ptype in EXACT_TYPES:
        k = EXACT_TYPES[ptype]
        return dict(KINDS[k], kind=k)
    if ptype in fnptrs:
        if ptype not in CALLBACKS:
            raise GenError(f"{fn}: no value for the callback type {ptype} (add it to CALLBACKS)")
        return dict(KINDS[CALLBACKS[ptype]], kind=CALLBACKS[ptype])
    m = re.match(r"^const struct etcdc_(\w+)_options \*$", ptype)
    if m and m.group(1) in structs:
        o = m.group(1)
        init = f"ETCDC_{o.upper()}_OPTIONS_INIT"
        if init not in macros:
            raise GenError(f"{fn}: the header has no {init} for `{ptype}`")
        setup = f"etcdc_{o}_options {{v}} = {init};"
        if OPTS_SETUP.get(o):
            setup += "\n" + OPTS_SETUP[o]
        return dict(kind="opts_in", opts=o, setup=setup, expr="&{v}", ptr=True)
    m = re.match(r"^struct etcdc_(\w+)_options \*$", ptype)
    if m and m.group(1) in structs:
        o = m.group(1)
        version = f"ETCDC_{o.upper()}_OPTIONS_VERSION"
        if version not in macros:
            raise GenError(f"{fn}: the header has no {version} for `{ptype}`")
        # Filled with 0xab: a refused call writes not one byte; a successful
        # one leaves the version and zeros (the defaults).
        return dict(kind="opts_init", opts=o,
                    setup=f"etcdc_{o}_options {{v}};\nmemset(&{{v}}, 0xab, sizeof {{v}});",
                    expr="&{v}", ptr=True,
                    untouched="bytes_are(&{v}, sizeof {v}, 0xab)",
                    written=f"{{v}}.version == {version} && "
                            f"bytes_are((const char *)&{{v}} + sizeof {{v}}.version, "
                            f"sizeof {{v}} - sizeof {{v}}.version, 0)")
    m = re.match(r"^struct etcdc_(\w+) \*\*$", ptype)
    if m:
        h = m.group(1)
        free = f"etcdc_{h}_free"
        if not any(f["name"] == free for f in funcs):
            raise GenError(f"{fn}: out-parameter `{ptype} {name}` but the header has no {free}")
        t = f"etcdc_{h}"
        return dict(kind="out_handle", setup=f"{t} *{{v}} = ({t} *)SENTINEL;", expr="&{v}",
                    cleanup=f"if ({{v}} != ({t} *)SENTINEL) {{{{\n    {free}({{v}});\n}}}}",
                    ptr=True, untouched=f"{{v}} == ({t} *)SENTINEL",
                    written=f"{{v}} != ({t} *)SENTINEL")
    raise GenError(f"{fn}: no value for a parameter of type `{ptype}` ({name}): "
                   f"teach scripts/gen-misuse.py how to make one")


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def indent(code, n):
    pad = " " * n
    return "\n".join(pad + line if line else line for line in code.splitlines())


def ret_zero_check(ret, var):
    if ret == "bool":
        return f"!{var}"
    if "*" in ret:
        return f"{var} == NULL"
    return f"{var} == 0"


def ret_nonzero_check(ret, var):
    return var if ret == "bool" else (f"{var} != NULL" if "*" in ret else f"{var} != 0")


class Gen:
    def __init__(self, ctx):
        self.ctx = ctx
        self.funcs, self.structs, self.fnptrs, self.macros = ctx
        self.out = []
        self.counts = dict(valid=0, null=0, utf8=0, version=0, field=0, bad=0)
        self.calls = 0

    def variant(self, f, params, label, counts_as, change=None, field_mod=None,
                expect=None, needles=None, poke=False, cite=None):
        """One call of f. change: (param, "NULL" | C value); field_mod: C
        statements after the setup; expect: "valid" | "allowed" | "invalid" |
        "zero" | "str:..." | an etcdc_status name."""
        name, ret = f["name"], f["ret"]
        spec = FUNCS[name]
        lines = [f"/* {label} */"]
        if cite:
            lines.append(f"/* {cite} */" if cite.startswith("NOT IN THE HEADER")
                         else f"/* header: {cite} */")
        lines.append("{")
        body = ["char key[KEYLEN];", f'fresh_key(key, sizeof key, "{name}");']
        if spec.get("fixture"):
            body.append(FIXTURES[spec["fixture"]])
        args = []
        live = []  # params set up (not replaced by NULL)
        for p in params:
            if change and change[0] is p and change[1] == "NULL":
                args.append("NULL")
                continue
            if p.spec.get("setup"):
                body.append(p.fmt(p.spec["setup"]))
            live.append(p)
            if change and change[0] is p:
                if p.spec["kind"] == "string_list":
                    body.append(f"{p.var}[0] = {change[1]};")
                    args.append(p.fmt(p.spec["expr"]))
                else:
                    args.append(change[1])
            else:
                args.append(p.fmt(p.spec["expr"]))
        if field_mod:
            body.append(field_mod)
        if poke:
            body.append("poke_start(key);")
        body.append("mark_last_error();")
        call = f"{name}({', '.join(args)})"
        if ret == "etcdc_status":
            body.append(f"etcdc_status st = {call};")
        elif ret == "void":
            body.append(f"{call};")
        else:
            body.append(f"{ret} r = {call};")
        if poke:
            body.append("poke_stop();")
        lab = c_str(label)
        # The checks.
        status_expect = None
        if ret == "etcdc_status":
            if expect in ("valid", "allowed"):
                status_expect = spec["expect"]
            elif expect == "invalid":
                status_expect = INVALID
            else:
                status_expect = expect
            if status_expect == INVALID:
                n1, n2 = (needles or (None, None))
                body.append(f"expect_invalid({lab}, st, {c_str(n1) if n1 else 'NULL'}, "
                            f"{c_str(n2) if n2 else 'NULL'});")
                for p in live:
                    if p.spec.get("untouched"):
                        cond = p.fmt(p.spec["untouched"])
                        body.append(f'expect_true({lab}, {cond}, "out-parameter {p.name} '
                                    f'written by a failed call");')
            else:
                body.append(f"expect_status({lab}, st, {status_expect});")
                if status_expect == "ETCDC_OK":
                    for p in live:
                        if p.spec.get("written"):
                            cond = p.fmt(p.spec["written"])
                            body.append(f'expect_true({lab}, {cond}, "out-parameter {p.name} '
                                        f'not written by a successful call");')
                elif status_expect != "ETCDC_OK":
                    for p in live:
                        if p.spec.get("untouched"):
                            cond = p.fmt(p.spec["untouched"])
                            body.append(f'expect_true({lab}, {cond}, "out-parameter {p.name} '
                                        f'written by a failed call");')
        elif ret == "void":
            body.append(f"expect_true({lab}, 1, \"\");")
        else:
            want = spec["expect"] if expect == "valid" else expect
            if want == "nonnull" or want == "nonzero":
                body.append(f'expect_true({lab}, {ret_nonzero_check(ret, "r")}, '
                            f'"returned {"NULL" if "*" in ret else "0"} for valid arguments");')
            elif want == "any":
                body.append("(void)r;")
                body.append(f'expect_true({lab}, 1, "");')
            elif want == "zero":
                body.append(f'expect_true({lab}, {ret_zero_check(ret, "r")}, '
                            f'"did not return {"NULL" if "*" in ret else "0/false"}");')
            elif want.startswith("str:"):
                body.append(f"expect_true({lab}, r != NULL && strcmp(r, {c_str(want[4:])}) == 0, "
                            f"\"did not return \\\"{want[4:]}\\\"\");")
            else:
                raise GenError(f"{name}: unknown expectation {want}")
        if spec.get("after"):
            body.append(spec["after"])
        # A _free function consumes its (first) argument whenever it got one.
        consumed = params[0] if name.endswith("_free") and params else None
        for p in reversed(live):
            if p.spec.get("cleanup") and p is not consumed:
                body.append(p.fmt(p.spec["cleanup"]))
        lines.append(indent("\n".join(body), 4))
        lines.append("}")
        self.out.append(indent("\n".join(lines), 4))
        self.counts[counts_as] += 1
        self.calls += 1

    def function(self, f):
        name = f["name"]
        params = [Param(name, t, n, i, self.ctx) for i, (t, n) in enumerate(f["params"])]
        self.out.append(f"/* {name}({', '.join(t + ' ' + n for t, n in f['params']) or 'void'})"
                        f" -> {f['ret']} */\nstatic void misuse_{name}(void) {{")
        names = [p.name for p in params]

        def label(i, what):
            return f"{name}(" + ", ".join(what if j == i else n for j, n in enumerate(names)) + ")"

        self.variant(f, params, f"{name}({', '.join(names)}): valid arguments", "valid",
                     expect="valid")
        for i, p in enumerate(params):
            if not p.spec.get("ptr"):
                continue
            key = f"{name}:{p.name}"
            if f["ret"] == "void":
                if key not in NULL_OK:
                    raise GenError(f"{name}: void function with the pointer parameter {p.name}: "
                                   f"add what the header says NULL does to NULL_OK")
                self.variant(f, params, label(i, f"{p.name}=NULL"), "null", change=(p, "NULL"),
                             expect="allowed", cite=NULL_OK[key][1])
            elif f["ret"] == "etcdc_status":
                if key in NULL_OK:
                    how, cite = NULL_OK[key]
                    self.variant(f, params, label(i, f"{p.name}=NULL"), "null", change=(p, "NULL"),
                                 expect="allowed", poke=how.endswith("+poke"), cite=cite)
                else:
                    self.variant(f, params, label(i, f"{p.name}=NULL"), "null", change=(p, "NULL"),
                                 expect="invalid", needles=(p.name, "NULL"))
            else:
                if key in NULL_OK:
                    how, cite = NULL_OK[key]
                    if how != "baseline" or i == 0:
                        raise GenError(f"{key}: an accessor's NULL_OK entry is \"baseline\", "
                                       f"for an optional out-parameter (not its handle)")
                    self.variant(f, params, label(i, f"{p.name}=NULL"), "null",
                                 change=(p, "NULL"), expect="valid", cite=cite)
                    continue
                self.variant(f, params, label(i, f"{p.name}=NULL"), "null", change=(p, "NULL"),
                             expect="zero")
        for i, p in enumerate(params):
            if p.spec.get("utf8") or p.spec.get("utf8_elem"):
                if f["ret"] != "etcdc_status":
                    raise GenError(f"{name}: takes the string {p.name} but returns {f['ret']}: "
                                   f"what is invalid UTF-8 to give?")
                what = f"{p.name}=<invalid UTF-8>" if p.spec.get("utf8") else \
                    f"{p.name}[0]=<invalid UTF-8>"
                # Inside a key, the bad bytes go under this run's prefix, so
                # that a library accepting them could not write elsewhere.
                bad = "bad_utf8_in(key)" if p.spec.get("utf8") and p.value() == "key" \
                    else BAD_UTF8
                self.variant(f, params, label(i, what), "utf8", change=(p, bad),
                             expect="invalid", needles=(p.name, "UTF-8"))
        for i, p in enumerate(params):
            if p.spec["kind"] != "opts_in":
                continue
            o = p.spec["opts"]
            for version in ("0", str(self.current_version(o) + 1)):
                self.variant(f, params, label(i, f"{p.name}.version={version}"), "version",
                             field_mod=f"{p.var}.version = {version};", expect="invalid",
                             needles=(f"etcdc_{o}_options", f"version {version}"))
            for ftype, fname in self.structs[o]:
                if ftype == "const char *":
                    self.variant(f, params, label(i, f"{p.name}.{fname}=<invalid UTF-8>"), "field",
                                 field_mod=f"{p.var}.{fname} = BAD_UTF8;", expect="invalid",
                                 needles=(fname, "UTF-8"))
                elif ftype == "const char *const *":
                    count = fname[:-1] + "_count"
                    if (("size_t", count) not in self.structs[o]):
                        raise GenError(f"etcdc_{o}_options.{fname}: no {count} field")
                    self.variant(f, params, label(i, f"{p.name}.{fname}[0]=<invalid UTF-8>"),
                                 "field",
                                 field_mod=f"const char *{p.var}_list[1];\n"
                                           f"{p.var}_list[0] = BAD_UTF8;\n"
                                           f"{p.var}.{fname} = {p.var}_list;\n"
                                           f"{p.var}.{count} = 1;",
                                 expect="invalid", needles=(fname, "UTF-8"))
            for fkey, bads in BAD_OPTION_FIELDS.items():
                so, fname = fkey.split(":")
                if so != o:
                    continue
                if not any(n == fname for _, n in self.structs[o]):
                    raise GenError(f"BAD_OPTION_FIELDS: etcdc_{o}_options has no field {fname}")
                for value, want, needle, cite, *before in bads:
                    pre = before[0].format(v=p.var) + "\n" if before else ""
                    self.variant(f, params, label(i, f"{p.name}.{fname}={value}"), "bad",
                                 field_mod=f"{pre}{p.var}.{fname} = {value};",
                                 expect="invalid" if want == INVALID else "allowed",
                                 needles=(needle, None), cite=cite)
        init = re.fullmatch(r"etcdc_(\w+)_options_init", name)
        if init:
            o = init.group(1)
            if [p.spec["kind"] for p in params] != ["opts_init", "scalar"] or \
                    params[1].name != "version" or params[0].spec["opts"] != o:
                raise GenError(f"{name}: an options initialiser is "
                               f"etcdc_{o}_options_init(etcdc_{o}_options *opts, uint32_t version)")
            if f["ret"] != "etcdc_status":
                raise GenError(f"{name}: an options initialiser returns etcdc_status")
            unknown = ("0", f"ETCDC_{o.upper()}_OPTIONS_VERSION + 1", "UINT32_MAX")
            for value in unknown:
                self.variant(f, params, label(1, f"version={value}"), "version",
                             change=(params[1], value), expect="invalid",
                             needles=(f"etcdc_{o}_options", "version"),
                             cite=INIT_WORDS_CLIENT if o == "client" else INIT_WORDS)
        for i, p in enumerate(params):
            for value, want, needle, cite in BAD_VALUES.get(f"{name}:{p.name}", []):
                expect = {INVALID: "invalid", "baseline": "allowed"}.get(want, want)
                if expect == "allowed" and f["ret"] != "etcdc_status":
                    raise GenError(f"BAD_VALUES {name}:{p.name}: baseline is for status functions")
                self.variant(f, params, label(i, f"{p.name}={value}"), "bad", change=(p, value),
                             expect=expect, needles=(needle, None), cite=cite)
        self.out.append("}\n")

    def current_version(self, o):
        v = self.macros.get(f"ETCDC_{o.upper()}_OPTIONS_VERSION")
        if v is None:
            raise GenError(f"the header has no numeric ETCDC_{o.upper()}_OPTIONS_VERSION")
        return v

    def run(self):
        names = [f["name"] for f in self.funcs]
        missing = [n for n in names if n not in FUNCS]
        if missing:
            raise GenError("the header declares functions scripts/gen-misuse.py does not know "
                           "how to call: " + ", ".join(missing) +
                           " (add them to FUNCS, with valid values)")
        uncalled = sorted(t for t in self.fnptrs if t not in CALLBACKS)
        if uncalled:
            raise GenError("the header declares callback types scripts/gen-misuse.py has no "
                           "function for: " + ", ".join(uncalled) + " (add them to CALLBACKS)")
        stale = [n for n in FUNCS if n not in names]
        stale += [k for k in list(NULL_OK) + list(VALUES) + list(BAD_VALUES) + list(KIND_OVERRIDE)
                  if ":" in k and k.split(":")[0] not in names]
        if stale:
            raise GenError("tables name functions the header does not declare: " + ", ".join(stale))
        for f in self.funcs:
            pnames = [n for _, n in f["params"]]
            for i, (t, n) in enumerate(f["params"]):
                if t == "const void *" and f["params"][i + 1:i + 2] != [("size_t", n + "_len")]:
                    raise GenError(f"{f['name']}: the bytes parameter {n} is not followed by "
                                   f"`size_t {n}_len`: how long is it?")
            for k in list(NULL_OK) + list(BAD_VALUES) + list(KIND_OVERRIDE):
                fn, _, pn = k.partition(":")
                if fn == f["name"] and pn not in pnames:
                    raise GenError(f"{k}: {fn} has no parameter {pn}")
            if f["ret"] not in ("void", "etcdc_status") and FUNCS[f["name"]]["expect"] not in (
                    "nonnull", "nonzero", "any"):
                raise GenError(f"{f['name']}: returns {f['ret']}: expect nonnull, nonzero or any")
            self.function(f)
        for k in NULL_OK:  # an allowlist entry that is no longer a pointer
            fn, _, pn = k.partition(":")
            f = next(x for x in self.funcs if x["name"] == fn)
            t = dict((n, t) for t, n in f["params"])[pn]
            if not Param(fn, t, pn, 0, self.ctx).spec.get("ptr"):
                raise GenError(f"NULL_OK: {k} is not a pointer")


PREAMBLE = r'''/*
 * GENERATED by scripts/gen-misuse.py from include/etcdc.h: do not edit,
 * do not commit (examples-c/build/ is ignored). `make -C examples-c misuse`
 * regenerates it whenever the header or the generator changes.
 *
 * C misuse: every function of include/etcdc.h (@NFUNCS@ of them) is called
 * once with valid arguments, then with each pointer parameter NULL, each
 * string parameter invalid UTF-8, each options struct of version 0 and of
 * the current version + 1 (and each of its strings invalid UTF-8), each
 * etcdc_X_options_init() with an unknown version, and the other invalid (or
 * extreme but valid) values the header names: @NCALLS@ calls. A status
 * function must return ETCDC_ERR_INVALID_ARGUMENT with etcdc_error_last()
 * from that very call (a non-empty message naming the parameter, and
 * server_message "": no server answer is involved) and leave its
 * out-parameters untouched (an options struct given to _init(): not one
 * byte written), unless the header allows the NULL (the generator's NULL_OK
 * table quotes the header's sentence above each such call); an accessor
 * returns NULL / 0 / false for a NULL handle; a void function survives.
 *
 * Handles that outlive their client, as the header allows (responses,
 * watchers, locks, member lists, strings, v3 responses, transactions,
 * watchers, locks, elections and observers),
 * are used after that client is freed: owners_freed_first().
 *
 * Other use after free is not tested: it is not detectable in this API. Handles
 * are plain heap pointers (Box::into_raw) with no registry, generation count
 * or magic number, and nodes/members/strings borrowed from a freed response
 * or list are dangling pointers; calling anything with them is undefined
 * behaviour that no check inside the library could catch without such a
 * registry. This test never uses freed memory.
 *
 * Needs $ETCDC_ENDPOINT: a single-member etcd 3.4 with v2, shared with
 * other programs. Every key lives under /misuse/<pid> (removed at the end;
 * v3 keys too, in the v3 store; v3 leases live 60 s; the v3 compaction
 * calls compact the store up to revisions of their own);
 * the election is /_elections/misuse-<pid>; the v3 users and roles are
 * misuse-v3-user-<pid> / misuse-v3-role-<pid> (v3 auth stays off); the
 * snapshots go to $TMPDIR/etcdc-misuse-<pid>.db (removed at the end); the
 * cluster is not changed (a valid member_add/remove would break the
 * single-member cluster, so their valid calls are ones etcd refuses: see
 * FUNCS in the generator).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define KEYLEN 256
#define UNTOUCHED_U64 UINT64_C(0x5e471e1)
#define UNTOUCHED_I64 INT64_C(0x5e471e1)
#define UNTOUCHED_U32 UINT32_C(0x5e471e1)

static const char BAD_UTF8[] = "\xff\xfe";
static char sentinel_storage[16];
#define SENTINEL ((void *)sentinel_storage)

static const char *endpoint;
static etcdc_client *C;
static char prefix[64], lock_prefix[96], lock_name[64], ekey[64], user_name[64], role_name[64];
static char member_id[64], peer_url[256];
static char v3_user_name[64], v3_role_name[64], snapshot_path[128];
static uint64_t v3_member_id;
/* Calls of lease_lost_sink (none: nothing here loses a kept lease). */
static int lease_lost_calls;
static unsigned key_seq;

/* ------------------------------------------------------------ reporting */

static void failf(const char *label, const char *fmt, ...) {
    va_list ap;
    failed++;
    printf("FAIL %s: ", label);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Whether the n bytes at p are all b. */
static int bytes_are(const void *p, size_t n, unsigned char b) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        if (c[i] != b) {
            return 0;
        }
    }
    return 1;
}

static void expect_true(const char *label, int ok, const char *what) {
    if (ok) {
        passed++;
    } else {
        failf(label, "%s", what);
    }
}

static const char *last_message(void) {
    const etcdc_error *e = etcdc_error_last();
    return e != NULL && e->message != NULL ? e->message : "(none)";
}

static void expect_status(const char *label, etcdc_status got, etcdc_status want) {
    if (got == want) {
        passed++;
    } else {
        failf(label, "returned %d (%s), expected %d (%s); last error: %s", (int)got,
              etcdc_status_str(got), (int)want, etcdc_status_str(want),
              got != ETCDC_OK ? last_message() : "-");
    }
}

/* The marker every call's own error must replace. */
#define MARKER "misuse-marker.invalid"

static void mark_last_error(void) {
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    const char *bad[] = {"http://" MARKER ":1/marker"};
    etcdc_client *c = NULL;
    o.endpoints = bad;
    o.endpoint_count = 1;
    if (etcdc_client_new(&o, &c) == ETCDC_OK) {
        etcdc_client_free(c);
    }
}

/* INVALID_ARGUMENT, with this call's own message naming the problem. */
static void expect_invalid(const char *label, etcdc_status got, const char *n1, const char *n2) {
    const etcdc_error *e = etcdc_error_last();
    if (got != ETCDC_ERR_INVALID_ARGUMENT) {
        failf(label, "returned %d (%s), expected %d (invalid argument); last error: %s",
              (int)got, etcdc_status_str(got), (int)ETCDC_ERR_INVALID_ARGUMENT,
              got != ETCDC_OK ? last_message() : "-");
    } else if (e == NULL || e->status != ETCDC_ERR_INVALID_ARGUMENT || e->message == NULL ||
               e->cause == NULL || e->server_message == NULL || e->message[0] == '\0') {
        failf(label, "etcdc_error_last() is not a complete INVALID_ARGUMENT record");
    } else if (e->server_message[0] != '\0' || e->http_status != 0 || e->etcd_code != 0) {
        failf(label, "a refused argument with a server's answer in etcdc_error_last() "
              "(server_message \"%s\", http_status %u, etcd_code %u)", e->server_message,
              (unsigned)e->http_status, (unsigned)e->etcd_code);
    } else if (strstr(e->message, MARKER) != NULL) {
        failf(label, "etcdc_error_last() was not set by this call (still: %s)", e->message);
    } else if ((n1 != NULL && strstr(e->message, n1) == NULL) ||
               (n2 != NULL && strstr(e->message, n2) == NULL)) {
        failf(label, "message \"%s\" does not name the problem (expected \"%s\"%s%s%s)",
              e->message, n1 ? n1 : "", n2 ? " and \"" : "", n2 ? n2 : "", n2 ? "\"" : "");
    } else {
        passed++;
    }
}

static void fixture_failed(const char *what, etcdc_status st) {
    failf(what, "fixture failed: %d (%s): %s", (int)st, etcdc_status_str(st), last_message());
}

/* ------------------------------------------------------------- fixtures */

/* key + "/\xff\xfe" (a static buffer: one at a time). */
static const char *bad_utf8_in(const char *key) {
    static char buf[KEYLEN + 8];
    snprintf(buf, sizeof buf, "%s/%s", key, BAD_UTF8);
    return buf;
}

static void fresh_key(char *buf, size_t n, const char *fn) {
    snprintf(buf, n, "%s/%s/%u", prefix, fn, ++key_seq);
}

/* Writes "v" (TTL 600) at key; its modified index. */
static uint64_t put_key(const char *key) {
    etcdc_write_options o = ETCDC_WRITE_OPTIONS_INIT;
    etcdc_response *r = NULL;
    o.ttl = 600;
    etcdc_status st = etcdc_write(C, key, "v", &o, &r);
    if (st != ETCDC_OK) {
        fixture_failed("put_key", st);
        return 0;
    }
    uint64_t idx = etcdc_node_modified_index(etcdc_response_node(r));
    etcdc_response_free(r);
    return idx;
}

/* The response of a read of key, freshly written ("v", TTL 600). */
static etcdc_response *response_fixture(const char *key) {
    etcdc_response *r = NULL;
    put_key(key);
    etcdc_status st = etcdc_read(C, key, NULL, &r);
    if (st != ETCDC_OK) {
        fixture_failed("response_fixture", st);
        return NULL;
    }
    return r;
}

/* The response of a read of the directory key, with one child. */
static etcdc_response *dir_fixture(const char *key) {
    char child[KEYLEN + 16];
    etcdc_response *r = NULL;
    snprintf(child, sizeof child, "%s/child", key);
    put_key(child);
    etcdc_status st = etcdc_read(C, key, NULL, &r);
    if (st != ETCDC_OK) {
        fixture_failed("dir_fixture", st);
        return NULL;
    }
    return r;
}

static etcdc_member_list *members_fixture(void) {
    etcdc_member_list *l = NULL;
    etcdc_status st = etcdc_members(C, &l);
    if (st != ETCDC_OK) {
        fixture_failed("members_fixture", st);
        return NULL;
    }
    return l;
}

static etcdc_lock *lock_fixture(int held) {
    etcdc_lock_options o = ETCDC_LOCK_OPTIONS_INIT;
    etcdc_lock *l = NULL;
    o.prefix = lock_prefix;
    etcdc_status st = etcdc_lock_new(C, lock_name, &o, &l);
    if (st != ETCDC_OK) {
        fixture_failed("lock_fixture", st);
        return NULL;
    }
    if (held && (st = etcdc_lock_acquire(l, 0)) != ETCDC_OK) {
        fixture_failed("lock_fixture (acquire)", st);
    }
    return l;
}

/* A watcher of key whose first event (the fixture's write) is in history. */
static etcdc_watcher *watcher_fixture(const char *key) {
    etcdc_watch_options o = ETCDC_WATCH_OPTIONS_INIT;
    etcdc_watcher *w = NULL;
    o.wait_index = put_key(key);
    etcdc_status st = etcdc_watcher_new(C, key, &o, &w);
    if (st != ETCDC_OK) {
        fixture_failed("watcher_fixture", st);
        return NULL;
    }
    return w;
}

/* A non-empty list: the role names (root is always there). */
static etcdc_strings *strings_fixture(void) {
    etcdc_strings *l = NULL;
    etcdc_status st = etcdc_roles(C, &l);
    if (st != ETCDC_OK) {
        fixture_failed("strings_fixture", st);
        return NULL;
    }
    return l;
}

/* role_name: 0 absent, 1 without permissions, 2 with read on the misuse
 * tree; user_name: 0 absent, 1 without roles, 2 with role_name. Auth stays
 * off. */
static void auth_fixture(int role, int user) {
    const char *roles[1];
    const char *patterns[1];
    roles[0] = role_name;
    patterns[0] = "/misuse/*";
    (void)etcdc_user_delete(C, user_name);
    (void)etcdc_role_delete(C, role_name);
    if (role) {
        etcdc_status st = etcdc_role_create(C, role_name);
        if (st == ETCDC_OK && role > 1) {
            st = etcdc_role_grant(C, role_name, ETCDC_PERM_READ, patterns, 1);
        }
        if (st != ETCDC_OK) {
            fixture_failed("auth_fixture (role)", st);
        }
    }
    if (user) {
        etcdc_status st = etcdc_user_set(C, user_name, "pw");
        if (st == ETCDC_OK && user > 1) {
            st = etcdc_user_grant_roles(C, user_name, roles, 1);
        }
        if (st != ETCDC_OK) {
            fixture_failed("auth_fixture (user)", st);
        }
    }
}

/* A `char *` result: the server's version. */
static char *string_fixture(void) {
    char *s = NULL;
    etcdc_status st = etcdc_server_version(C, &s, NULL);
    if (st != ETCDC_OK) {
        fixture_failed("string_fixture", st);
        return NULL;
    }
    return s;
}

/* ---------------------------------------------------------- v3 fixtures */

/* v3: puts "v" at `key` (the bytes of the string); the put's revision. */
static int64_t v3_put_key(const char *key) {
    etcdc_v3_put_response *r = NULL;
    etcdc_status st = etcdc_v3_put(C, key, strlen(key), "v", 1, NULL, &r);
    if (st != ETCDC_OK) {
        fixture_failed("v3_put_key", st);
        return 0;
    }
    int64_t rev = etcdc_v3_put_response_header(r)->revision;
    etcdc_v3_put_response_free(r);
    return rev;
}

/* A range of `key`, freshly put: one kv. */
static etcdc_v3_range_response *v3_range_fixture(const char *key) {
    etcdc_v3_range_response *r = NULL;
    v3_put_key(key);
    etcdc_status st = etcdc_v3_range(C, key, strlen(key), NULL, &r);
    if (st != ETCDC_OK) {
        fixture_failed("v3_range_fixture", st);
        return NULL;
    }
    return r;
}

/* A put over `key` with prev_kv: it has one. */
static etcdc_v3_put_response *v3_put_fixture(const char *key) {
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    etcdc_v3_put_response *r = NULL;
    o.prev_kv = true;
    v3_put_key(key);
    etcdc_status st = etcdc_v3_put(C, key, strlen(key), "v2", 2, &o, &r);
    if (st != ETCDC_OK) {
        fixture_failed("v3_put_fixture", st);
        return NULL;
    }
    return r;
}

/* A delete of `key` with prev_kv: one deleted, and carried. */
static etcdc_v3_delete_response *v3_delete_fixture(const char *key) {
    etcdc_v3_delete_options o = ETCDC_V3_DELETE_OPTIONS_INIT;
    etcdc_v3_delete_response *r = NULL;
    o.prev_kv = true;
    v3_put_key(key);
    etcdc_status st = etcdc_v3_delete(C, key, strlen(key), &o, &r);
    if (st != ETCDC_OK) {
        fixture_failed("v3_delete_fixture", st);
        return NULL;
    }
    return r;
}

/* A transaction: if `key` is "v", put "v2" there; else read it. */
static etcdc_v3_txn *v3_txn_fixture(const char *key) {
    etcdc_v3_txn *t = NULL;
    etcdc_status st = etcdc_v3_txn_new(&t);
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_compare_value(t, key, strlen(key), ETCDC_V3_EQUAL, "v", 1, NULL);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_put(t, ETCDC_V3_ON_SUCCESS, key, strlen(key), "v2", 2, NULL);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_range(t, ETCDC_V3_ON_FAILURE, key, strlen(key), NULL);
    }
    if (st != ETCDC_OK) {
        fixture_failed("v3_txn_fixture", st);
    }
    return t;
}

/* The answer of a transaction without compares whose ops are a range of
 * `key`, a put of `key`/p, a delete of `key`/d, and a nested transaction
 * (a range of `key`), in that order. */
static etcdc_v3_txn_response *v3_txn_response_fixture(const char *key) {
    char p[KEYLEN + 8], d[KEYLEN + 8];
    etcdc_v3_txn *t = NULL, *nested = NULL;
    etcdc_v3_txn_response *r = NULL;
    snprintf(p, sizeof p, "%s/p", key);
    snprintf(d, sizeof d, "%s/d", key);
    v3_put_key(key);
    v3_put_key(d);
    etcdc_status st = etcdc_v3_txn_new(&t);
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_new(&nested);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_range(nested, ETCDC_V3_ON_SUCCESS, key, strlen(key), NULL);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_range(t, ETCDC_V3_ON_SUCCESS, key, strlen(key), NULL);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_put(t, ETCDC_V3_ON_SUCCESS, p, strlen(p), "v", 1, NULL);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_delete(t, ETCDC_V3_ON_SUCCESS, d, strlen(d), NULL);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_add_txn(t, ETCDC_V3_ON_SUCCESS, nested);
    }
    if (st == ETCDC_OK) {
        st = etcdc_v3_txn_commit(C, t, &r);
    }
    if (st != ETCDC_OK) {
        fixture_failed("v3_txn_response_fixture", st);
    }
    etcdc_v3_txn_free(nested);
    etcdc_v3_txn_free(t);
    return r;
}

/* A put_if_absent over `key`, which exists: not applied, with its kv. */
static etcdc_v3_swap_response *v3_swap_fixture(const char *key) {
    etcdc_v3_swap_response *r = NULL;
    v3_put_key(key);
    etcdc_status st = etcdc_v3_put_if_absent(C, key, strlen(key), "x", 1, 0, &r);
    if (st != ETCDC_OK) {
        fixture_failed("v3_swap_fixture", st);
        return NULL;
    }
    return r;
}

/* A fresh lease of 60 s. */
static int64_t lease_fixture(void) {
    int64_t id = 0;
    etcdc_status st = etcdc_v3_lease_grant(C, 60, 0, &id, NULL);
    if (st != ETCDC_OK) {
        fixture_failed("lease_fixture", st);
    }
    return id;
}

/* The on_lost callback of the keepers: counts its calls in *userdata. */
static void lease_lost_sink(const char *reason, void *userdata) {
    if (userdata != NULL) {
        *(int *)userdata += reason != NULL;
    }
}

/* A keeper of a fresh lease of 60 s, with lease_lost_sink. */
static etcdc_v3_lease_keeper *v3_lease_keeper_fixture(void) {
    etcdc_v3_lease_keeper_options o = ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT;
    etcdc_v3_lease_keeper *k = NULL;
    o.ttl = 60;
    o.on_lost = lease_lost_sink;
    o.userdata = &lease_lost_calls;
    etcdc_status st = etcdc_v3_lease_keeper_new(C, &o, &k);
    if (st != ETCDC_OK) {
        fixture_failed("v3_lease_keeper_fixture", st);
    }
    return k;
}

/* A v3 watcher of `key` from a put of it over an older value, with
 * prev_kv: its first event (that put, with the key as it was) is at hand. */
static etcdc_v3_watcher *v3_watcher_fixture(const char *key) {
    etcdc_v3_watch_options o = ETCDC_V3_WATCH_OPTIONS_INIT;
    etcdc_v3_watcher *w = NULL;
    v3_put_key(key);
    o.start_revision = v3_put_key(key);
    o.prev_kv = true;
    etcdc_status st = etcdc_v3_watcher_new(C, key, strlen(key), &o, &w);
    if (st != ETCDC_OK) {
        fixture_failed("v3_watcher_fixture", st);
    }
    return w;
}

/* The first event of v3_watcher_fixture(key): a put with its prev_kv. It
 * outlives its watcher, freed here. */
/* A v3 lock named `key` (its bytes), held (acquired without waiting) if
 * `held`. */
static etcdc_v3_lock *v3_lock_fixture(const char *key, int held) {
    etcdc_v3_lock *l = NULL;
    etcdc_status st = etcdc_v3_lock_new(C, key, strlen(key), NULL, &l);
    if (st == ETCDC_OK && held) {
        st = etcdc_v3_lock_acquire(l, 0);
    }
    if (st != ETCDC_OK) {
        fixture_failed("v3_lock_fixture", st);
    }
    return l;
}

/* A candidate of the v3 election `key`, leading with "v" if `lead`. */
static etcdc_v3_election *v3_election_fixture(const char *key, int lead) {
    etcdc_v3_election *e = NULL;
    etcdc_status st = etcdc_v3_election_new(C, key, strlen(key), NULL, &e);
    if (st == ETCDC_OK && lead) {
        st = etcdc_v3_election_campaign(e, "v", 1, 0);
    }
    if (st != ETCDC_OK) {
        fixture_failed("v3_election_fixture", st);
    }
    return e;
}

/* The election `key` with a leader that is no handle of this program: the
 * key `key`/l, put directly, is the first under its prefix. */
static etcdc_v3_election *v3_led_election(const char *key) {
    char first[KEYLEN + 8];
    snprintf(first, sizeof first, "%s/l", key);
    v3_put_key(first);
    return v3_election_fixture(key, 0);
}

/* An observer of the election `key`, whose leader (`key`/l, "v") is at
 * hand; the election handle it came from is freed (it outlives it). */
static etcdc_v3_observer *v3_observer_fixture(const char *key) {
    etcdc_v3_election *e = v3_led_election(key);
    etcdc_v3_observer *o = NULL;
    etcdc_status st = etcdc_v3_election_observe(e, &o);
    if (st != ETCDC_OK) {
        fixture_failed("v3_observer_fixture", st);
    }
    etcdc_v3_election_free(e);
    return o;
}

/* Who leads the election `key`: `key`/l, "v". */
static etcdc_v3_leader *v3_leader_fixture(const char *key) {
    etcdc_v3_election *e = v3_led_election(key);
    etcdc_v3_leader *l = NULL;
    etcdc_status st = etcdc_v3_election_leader(e, &l);
    if (st != ETCDC_OK || l == NULL) {
        fixture_failed("v3_leader_fixture", st);
    }
    etcdc_v3_election_free(e);
    return l;
}

static etcdc_v3_event *v3_event_fixture(const char *key) {
    etcdc_v3_watcher *w = v3_watcher_fixture(key);
    etcdc_v3_event *e = NULL;
    etcdc_status st = etcdc_v3_watcher_next(w, 10000, &e);
    if (st != ETCDC_OK) {
        fixture_failed("v3_event_fixture", st);
    }
    etcdc_v3_watcher_free(w);
    return e;
}

/* The v3 watcher_run callback: counts its calls in *userdata, stops. */
static int v3_stop_after_one(const etcdc_v3_event *event, void *userdata) {
    if (userdata != NULL) {
        *(int *)userdata += event != NULL;
    }
    return 1;
}

/* The time to live of a fresh lease with `key` attached, with its keys. */
static etcdc_v3_lease_ttl_response *v3_lease_ttl_fixture(const char *key) {
    etcdc_v3_put_options o = ETCDC_V3_PUT_OPTIONS_INIT;
    etcdc_v3_lease_ttl_response *r = NULL;
    o.lease = lease_fixture();
    etcdc_status st = etcdc_v3_put(C, key, strlen(key), "v", 1, &o, NULL);
    if (st == ETCDC_OK) {
        st = etcdc_v3_lease_time_to_live(C, o.lease, true, &r);
    }
    if (st != ETCDC_OK) {
        fixture_failed("v3_lease_ttl_fixture", st);
    }
    return r;
}

/* The leases, with a fresh one among them. */
static etcdc_v3_lease_list *v3_lease_list_fixture(void) {
    etcdc_v3_lease_list *l = NULL;
    lease_fixture();
    etcdc_status st = etcdc_v3_leases(C, &l);
    if (st != ETCDC_OK) {
        fixture_failed("v3_lease_list_fixture", st);
    }
    return l;
}

/* v3_role_name: 0 absent, 1 without permissions, 2 with READ on
 * [key, "z"); v3_user_name: 0 absent, 1 without roles, 2 with
 * v3_role_name. v3 auth stays off. */
static void v3_auth_fixture(int role, int user, const char *key) {
    (void)etcdc_v3_user_delete(C, v3_user_name);
    (void)etcdc_v3_role_delete(C, v3_role_name);
    if (role) {
        etcdc_status st = etcdc_v3_role_add(C, v3_role_name);
        if (st == ETCDC_OK && role > 1) {
            st = etcdc_v3_role_grant_permission(C, v3_role_name, ETCDC_V3_PERM_READ, key,
                                                strlen(key), "z", 1);
        }
        if (st != ETCDC_OK) {
            fixture_failed("v3_auth_fixture (role)", st);
        }
    }
    if (user) {
        etcdc_status st = etcdc_v3_user_add(C, v3_user_name, "pw");
        if (st == ETCDC_OK && user > 1) {
            st = etcdc_v3_user_grant_role(C, v3_user_name, v3_role_name);
        }
        if (st != ETCDC_OK) {
            fixture_failed("v3_auth_fixture (user)", st);
        }
    }
}

/* The permissions of v3_role_name: READ on [key, "z"). */
static etcdc_v3_permission_list *v3_permission_list_fixture(const char *key) {
    etcdc_v3_permission_list *l = NULL;
    v3_auth_fixture(2, 0, key);
    etcdc_status st = etcdc_v3_role_get(C, v3_role_name, &l);
    if (st != ETCDC_OK) {
        fixture_failed("v3_permission_list_fixture", st);
    }
    return l;
}

/* The members (one, started). */
static etcdc_v3_member_list *v3_member_list_fixture(void) {
    etcdc_v3_member_list *l = NULL;
    etcdc_status st = etcdc_v3_members(C, &l);
    if (st != ETCDC_OK) {
        fixture_failed("v3_member_list_fixture", st);
    }
    return l;
}

/* The status of the member. */
static etcdc_v3_status_response *v3_status_fixture(void) {
    etcdc_v3_status_response *r = NULL;
    etcdc_status st = etcdc_v3_status(C, NULL, &r);
    if (st != ETCDC_OK) {
        fixture_failed("v3_status_fixture", st);
    }
    return r;
}

/* The alarms (none). */
static etcdc_v3_alarm_list *v3_alarm_list_fixture(void) {
    etcdc_v3_alarm_list *l = NULL;
    etcdc_status st = etcdc_v3_alarms(C, &l);
    if (st != ETCDC_OK) {
        fixture_failed("v3_alarm_list_fixture", st);
    }
    return l;
}

/* Disarms every alarm raised (etcdc_v3_alarm_activate's calls): the
 * shared etcd takes writes again. */
static void v3_alarms_disarm(void) {
    etcdc_v3_alarm_list *l = NULL;
    etcdc_status st = etcdc_v3_alarms(C, &l);
    if (st != ETCDC_OK) {
        fixture_failed("v3_alarms_disarm (list)", st);
    }
    for (size_t i = 0; i < etcdc_v3_alarm_list_count(l); i++) {
        st = etcdc_v3_alarm_disarm(C, etcdc_v3_alarm_list_member_id(l, i),
                                   (int)etcdc_v3_alarm_list_kind(l, i), NULL);
        if (st != ETCDC_OK) {
            fixture_failed("v3_alarms_disarm", st);
        }
    }
    etcdc_v3_alarm_list_free(l);
}

/* A snapshot callback that takes everything (counting its calls in
 * *userdata when given), and one that stops at once. */
static int snapshot_sink(const uint8_t *data, size_t len, void *userdata) {
    if (userdata != NULL) {
        *(int *)userdata += data != NULL && len > 0;
    }
    return 0;
}

static int snapshot_stop(const uint8_t *data, size_t len, void *userdata) {
    (void)data;
    (void)len;
    (void)userdata;
    return 1;
}

static etcdc_client *new_client(void) {
    etcdc_client_options o = ETCDC_CLIENT_OPTIONS_INIT;
    etcdc_client *c = NULL;
    o.endpoints = &endpoint;
    o.endpoint_count = 1;
    etcdc_status st = etcdc_client_new(&o, &c);
    if (st != ETCDC_OK) {
        fixture_failed("new_client", st);
        return NULL;
    }
    return c;
}

/* "me" freshly leads election ekey (default options: under /_elections):
 * the index of that write (in history). */
static uint64_t election_fixture(void) {
    uint64_t won = 0;
    etcdc_status st = etcdc_election_delete(C, ekey, "me", NULL);
    if (st != ETCDC_OK && st != ETCDC_ERR_NOT_HELD) {
        fixture_failed("election_fixture (delete)", st);
    }
    st = etcdc_election_set(C, ekey, "me", 600, NULL, 0, &won);
    if (st != ETCDC_OK) {
        fixture_failed("election_fixture (set)", st);
    }
    return won;
}

static int stop_after_one(const etcdc_response *event, void *userdata) {
    if (userdata != NULL) {
        *(int *)userdata += event != NULL;
    }
    return 1;
}

/* A thread that writes a key every 20 ms: wakes a watch "from now". */
static pthread_t poke_thread;
static pthread_mutex_t poke_mu = PTHREAD_MUTEX_INITIALIZER;
static int poke_on;
static char poke_key[KEYLEN];

static void *poke_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&poke_mu);
        int on = poke_on;
        pthread_mutex_unlock(&poke_mu);
        if (!on) {
            return NULL;
        }
        sleep_s(0.02);
        etcdc_write(C, poke_key, "poke", NULL, NULL);
    }
}

static void poke_start(const char *key) {
    snprintf(poke_key, sizeof poke_key, "%s", key);
    poke_on = 1;
    if (pthread_create(&poke_thread, NULL, poke_main, NULL) != 0) {
        failf("poke_start", "pthread_create failed");
        poke_on = 0;
    }
}

static void poke_stop(void) {
    pthread_mutex_lock(&poke_mu);
    int was = poke_on;
    poke_on = 0;
    pthread_mutex_unlock(&poke_mu);
    if (was) {
        pthread_join(poke_thread, NULL);
    }
}

static void on_alarm(int sig) {
    static const char msg[] = "FAIL watchdog: test_misuse did not finish in time (a call hung)\n";
    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0) {
        _exit(3);
    }
    _exit(3);
}

/* ------------------------------------------------ owners freed first */

/* The one case of "a handle used after its owner was freed" that the API
 * defines, and so can be tested: the header says a response, a watcher, a
 * lock, a member list and a string outlive the client they came from, and
 * that a node may be passed to another client. Under valgrind and ASan a
 * library that kept a pointer into the freed client would show here. */
static void owners_freed_first(void) {
    const char *label = "owners freed first";
    char key[KEYLEN];
    fresh_key(key, sizeof key, "outlive");
    uint64_t idx = put_key(key);
    etcdc_client *c2 = new_client();
    etcdc_response *r = NULL, *ev = NULL;
    etcdc_watcher *w = NULL;
    etcdc_lock *l = NULL;
    etcdc_member_list *ml = NULL;
    etcdc_strings *machines = NULL;
    etcdc_v3_range_response *v3r = NULL;
    etcdc_v3_txn_response *v3t = NULL;
    etcdc_v3_txn *txn = v3_txn_fixture(key);
    etcdc_v3_watcher *v3w = NULL;
    etcdc_v3_event *v3e = NULL;
    etcdc_v3_watch_options v3wo = ETCDC_V3_WATCH_OPTIONS_INIT;
    etcdc_v3_lock *v3l = NULL;
    etcdc_v3_election *v3el = NULL;
    etcdc_v3_observer *v3o = NULL;
    etcdc_v3_leader *v3ld = NULL;
    etcdc_watch_options wo = ETCDC_WATCH_OPTIONS_INIT;
    etcdc_lock_options lo = ETCDC_LOCK_OPTIONS_INIT;
    wo.wait_index = idx;
    lo.prefix = lock_prefix;
    v3wo.start_revision = v3_put_key(key);
    if (c2 == NULL) {
        etcdc_v3_txn_free(txn);
        return;
    }
    expect_status(label, etcdc_read(c2, key, NULL, &r), ETCDC_OK);
    expect_status(label, etcdc_watcher_new(c2, key, &wo, &w), ETCDC_OK);
    expect_status(label, etcdc_lock_new(c2, lock_name, &lo, &l), ETCDC_OK);
    expect_status(label, etcdc_members(c2, &ml), ETCDC_OK);
    expect_status(label, etcdc_machines(c2, &machines), ETCDC_OK);
    expect_status(label, etcdc_v3_range(c2, key, strlen(key), NULL, &v3r), ETCDC_OK);
    expect_status(label, etcdc_v3_txn_commit(c2, txn, &v3t), ETCDC_OK);
    expect_status(label, etcdc_v3_watcher_new(c2, key, strlen(key), &v3wo, &v3w), ETCDC_OK);
    expect_status(label, etcdc_v3_lock_new(c2, key, strlen(key), NULL, &v3l), ETCDC_OK);
    expect_status(label, etcdc_v3_election_new(c2, key, strlen(key), NULL, &v3el), ETCDC_OK);
    expect_status(label, etcdc_v3_election_observe(v3el, &v3o), ETCDC_OK);
    etcdc_client_free(c2);

    /* etcdc_client_free: "responses obtained from it stay valid" */
    const etcdc_node *n = etcdc_response_node(r);
    expect_true(label, n != NULL && etcdc_node_value(n) != NULL &&
                strcmp(etcdc_node_value(n), "v") == 0 &&
                etcdc_node_modified_index(n) == idx, "response unreadable after its client was freed");
    /* etcdc_update: "`node` may come from any live response, of any client" */
    expect_status(label, etcdc_update(C, n, "v3", NULL), ETCDC_OK);
    /* etcdc_watcher_new: "it may outlive `client`" */
    expect_status(label, etcdc_watcher_next(w, 10000, &ev), ETCDC_OK);
    expect_true(label, etcdc_node_modified_index(etcdc_response_node(ev)) == idx,
                "the watcher's first event is not the write it was started at");
    /* etcdc_lock_new: "it may outlive `client`" */
    expect_status(label, etcdc_lock_acquire(l, 0), ETCDC_OK);
    expect_status(label, etcdc_lock_release(l), ETCDC_OK);
    /* lists and strings are the caller's */
    expect_true(label, etcdc_member_list_count(ml) == 1 && etcdc_member_list_get(ml, 0) != NULL &&
                strcmp(etcdc_member_list_get(ml, 0)->id, member_id) == 0,
                "member list unreadable after its client was freed");
    expect_true(label, etcdc_strings_count(machines) == 1 &&
                strcmp(etcdc_strings_get(machines, 0), endpoint) == 0,
                "machines list unreadable after its client was freed");

    /* v3 responses are the caller's; a transaction belongs to no client */
    const etcdc_v3_kv *kv = etcdc_v3_range_response_kv(v3r, 0);
    expect_true(label, kv != NULL && kv->value_len == 1 && kv->value[0] == 'v',
                "v3 range response unreadable after its client was freed");
    expect_true(label, etcdc_v3_txn_response_succeeded(v3t) &&
                etcdc_v3_txn_response_op_kind(v3t, 0) == ETCDC_V3_OP_PUT,
                "v3 txn response unreadable after its client was freed");
    expect_status(label, etcdc_v3_txn_commit(C, txn, NULL), ETCDC_OK);
    /* etcdc_v3_watcher_new: "it may outlive `client`": the put it starts
     * at, then the put of the transaction `c2` committed */
    expect_status(label, etcdc_v3_watcher_next(v3w, 10000, &v3e), ETCDC_OK);
    expect_true(label, etcdc_v3_event_revision(v3e) == v3wo.start_revision,
                "the v3 watcher's first event is not the put it was started at");
    etcdc_v3_event_free(v3e);
    v3e = NULL;
    expect_status(label, etcdc_v3_watcher_next(v3w, 10000, &v3e), ETCDC_OK);
    expect_true(label, etcdc_v3_event_type(v3e) == ETCDC_V3_EVENT_PUT,
                "the v3 watcher did not deliver the transaction's put");
    etcdc_v3_event_free(v3e);
    etcdc_v3_watcher_free(v3w);
    /* etcdc_v3_lock_new, etcdc_v3_election_new: "it may outlive `client`";
     * etcdc_v3_election_observe: the observer may "outlive it" */
    expect_status(label, etcdc_v3_lock_acquire(v3l, 10000), ETCDC_OK);
    expect_true(label, etcdc_v3_lock_revision(v3l) > 0, "a held v3 lock without a revision");
    expect_status(label, etcdc_v3_lock_release(v3l), ETCDC_OK);
    etcdc_v3_lock_free(v3l);
    expect_status(label, etcdc_v3_election_campaign(v3el, "me", 2, 10000), ETCDC_OK);
    expect_status(label, etcdc_v3_observer_next(v3o, 10000, &v3ld), ETCDC_OK);
    expect_true(label, v3ld != NULL && etcdc_v3_leader_kv(v3ld)->value_len == 2,
                "the v3 observer did not see the leader");
    etcdc_v3_leader_free(v3ld);
    v3ld = NULL;
    expect_status(label, etcdc_v3_election_leader(v3el, &v3ld), ETCDC_OK);
    etcdc_v3_election_free(v3el); /* resigns */
    const etcdc_v3_kv *lkv = etcdc_v3_leader_kv(v3ld);
    expect_true(label, lkv != NULL && lkv->value_len == 2 && memcmp(lkv->value, "me", 2) == 0,
                "v3 leader unreadable after its election and client were freed");
    etcdc_v3_leader_free(v3ld);
    /* The observer goes on after its election: nobody leads now. */
    expect_status(label, etcdc_v3_observer_next(v3o, 300, NULL), ETCDC_ERR_WATCH_TIMEOUT);
    etcdc_v3_observer_free(v3o);

    etcdc_v3_txn_free(txn);
    etcdc_v3_txn_response_free(v3t);
    etcdc_v3_range_response_free(v3r);
    etcdc_strings_free(machines);
    etcdc_member_list_free(ml);
    etcdc_lock_free(l);
    etcdc_response_free(ev);
    etcdc_watcher_free(w);
    etcdc_response_free(r);
}

/* ---------------------------------------------------- generated calls */

'''

MAIN = r'''
/* ----------------------------------------------------------------- main */

int main(void) {
    endpoint = getenv("ETCDC_ENDPOINT");
    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("ETCDC_ENDPOINT is not set\n0 passed, 1 failed\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(under_valgrind() ? 600 : 120);
    double start = now_s();
    long pid = (long)getpid();
    snprintf(prefix, sizeof prefix, "/misuse/%ld", pid);
    snprintf(lock_prefix, sizeof lock_prefix, "%s/locks", prefix);
    snprintf(lock_name, sizeof lock_name, "lock-%ld", pid);
    snprintf(ekey, sizeof ekey, "misuse-%ld", pid);
    snprintf(user_name, sizeof user_name, "misuse-user-%ld", pid);
    snprintf(role_name, sizeof role_name, "misuse-role-%ld", pid);
    snprintf(v3_user_name, sizeof v3_user_name, "misuse-v3-user-%ld", pid);
    snprintf(v3_role_name, sizeof v3_role_name, "misuse-v3-role-%ld", pid);
    snprintf(snapshot_path, sizeof snapshot_path, "%s/etcdc-misuse-%ld.db",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", pid);

    C = new_client();
    if (C == NULL) {
        return check_report();
    }
    /* The member's id and peer URL, for the harmless member calls. */
    etcdc_member_list *ml = members_fixture();
    const etcdc_member *m = etcdc_member_list_get(ml, 0);
    if (m == NULL || m->peer_url_count < 1) {
        failf("main", "no member to use");
        etcdc_member_list_free(ml);
        etcdc_client_free(C);
        return check_report();
    }
    snprintf(member_id, sizeof member_id, "%s", m->id);
    snprintf(peer_url, sizeof peer_url, "%s", m->peer_urls[0]);
    v3_member_id = strtoull(member_id, NULL, 16);
    etcdc_member_list_free(ml);

@CALLS@
    owners_freed_first();

    /* Clean up: the prefix, the election; the cluster is unchanged. */
    etcdc_delete_options wipe = ETCDC_DELETE_OPTIONS_INIT;
    wipe.recursive = true;
    expect_status("cleanup", etcdc_delete(C, prefix, &wipe, NULL), ETCDC_OK);
    char v3_prefix[sizeof prefix + 1];
    snprintf(v3_prefix, sizeof v3_prefix, "%s/", prefix);
    etcdc_v3_delete_options v3_wipe = ETCDC_V3_DELETE_OPTIONS_INIT;
    v3_wipe.prefix = true;
    expect_status("cleanup", etcdc_v3_delete(C, v3_prefix, strlen(v3_prefix), &v3_wipe, NULL),
                  ETCDC_OK);
    etcdc_status st = etcdc_election_delete(C, ekey, "me", NULL);
    expect_true("cleanup", st == ETCDC_OK || st == ETCDC_ERR_NOT_HELD, "election not deleted");
    (void)etcdc_v3_user_delete(C, v3_user_name);
    (void)etcdc_v3_role_delete(C, v3_role_name);
    expect_true("cleanup", remove(snapshot_path) == 0, "no snapshot file was written");
    expect_true("lease keepers", lease_lost_calls == 0, "on_lost called for a lease kept");
    etcdc_member_list *after = members_fixture();
    expect_true("cluster unchanged", etcdc_member_list_count(after) == 1, "member count changed");
    etcdc_member_list_free(after);
    etcdc_client_free(C);

    printf("misuse: @NCALLS@ generated calls of @NFUNCS@ functions (@BREAKDOWN@) in %.1f s\n",
           now_s() - start);
    return check_report();
}
'''


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        text = open(argv[1], encoding="utf-8").read()
        ctx = parse_header(text)
        g = Gen(ctx)
        g.run()
    except GenError as e:
        print(f"gen-misuse.py: {e}", file=sys.stderr)
        return 1
    funcs = ctx[0]
    breakdown = ", ".join(f"{v} {k}" for k, v in g.counts.items())
    calls = "\n".join(f"    misuse_{f['name']}();" for f in funcs)
    src = (PREAMBLE.replace("@NFUNCS@", str(len(funcs))).replace("@NCALLS@", str(g.calls))
           + "\n".join(g.out) + MAIN.replace("@CALLS@", calls)
           .replace("@NCALLS@", str(g.calls)).replace("@NFUNCS@", str(len(funcs)))
           .replace("@BREAKDOWN@", breakdown))
    with open(argv[2], "w", encoding="utf-8") as out:
        out.write(src)
    print(f"gen-misuse.py: {len(funcs)} functions, {g.calls} calls ({breakdown}) -> {argv[2]}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
