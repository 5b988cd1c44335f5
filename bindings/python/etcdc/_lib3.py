"""The v3 part of the C API (include/etcdc.h, sections "v3 ..."), for ctypes.

``_lib.load()`` finds and loads libetcdc and declares the v2 functions;
``load()`` here takes that library and declares, once, the v3 functions that
``etcdc.etcd3`` calls: their argtypes and restypes, and the structs they
take, field for field (``_c_name`` is the C name;
tests/test_etcd3_abi.py compares each with what a C compiler makes of the
header, and each prototype with the header's).

Keys and values are bytes, passed as a pointer and a length (``c_void_p`` and
``c_size_t``): ctypes passes a ``bytes`` object as a pointer to its buffer,
which lives for the call. Borrowed results (``etcdc_v3_kv`` views, headers,
strings of a list) are copied into Python objects before their response is
freed.

The v3 lock (``etcdc_v3_lock_*``) is declared only when the library has it
(``has_lock(lib)``).
"""

import ctypes
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

from . import _lib

# The versions of the v3 options structs below, passed to their _init()
# (the header's ETCDC_V3_*_OPTIONS_VERSION).
V3_RANGE_OPTIONS_VERSION = 1
V3_PUT_OPTIONS_VERSION = 1
V3_DELETE_OPTIONS_VERSION = 1
V3_COMPARE_OPTIONS_VERSION = 1
V3_WATCH_OPTIONS_VERSION = 1
V3_LOCK_OPTIONS_VERSION = 1

# enum etcdc_v3_sort_target
V3_SORT_BY_KEY = 0
V3_SORT_BY_VERSION = 1
V3_SORT_BY_CREATE_REVISION = 2
V3_SORT_BY_MOD_REVISION = 3
V3_SORT_BY_VALUE = 4
# enum etcdc_v3_sort_order
V3_SORT_NONE = 0
V3_SORT_ASCEND = 1
V3_SORT_DESCEND = 2
# enum etcdc_v3_compare_op
V3_EQUAL = 0
V3_GREATER = 1
V3_LESS = 2
V3_NOT_EQUAL = 3
# enum etcdc_v3_branch
V3_ON_SUCCESS = 0
V3_ON_FAILURE = 1
# enum etcdc_v3_op_kind
V3_OP_NONE = 0
V3_OP_RANGE = 1
V3_OP_PUT = 2
V3_OP_DELETE = 3
V3_OP_TXN = 4
# enum etcdc_v3_event_kind
V3_EVENT_NONE = 0
V3_EVENT_PUT = 1
V3_EVENT_DELETE = 2
# enum etcdc_v3_alarm_kind
V3_ALARM_NONE = 0
V3_ALARM_NOSPACE = 1
V3_ALARM_CORRUPT = 2


class V3Header(Structure):
    _c_name = "etcdc_v3_header"
    _fields_ = [
        ("cluster_id", c_uint64),
        ("member_id", c_uint64),
        ("revision", c_int64),
        ("raft_term", c_uint64),
    ]


class V3Kv(Structure):
    _c_name = "etcdc_v3_kv"
    _fields_ = [
        ("key", c_void_p),
        ("key_len", c_size_t),
        ("value", c_void_p),
        ("value_len", c_size_t),
        ("create_revision", c_int64),
        ("mod_revision", c_int64),
        ("version", c_int64),
        ("lease", c_int64),
    ]


class V3RangeOptions(Structure):
    _c_name = "etcdc_v3_range_options"
    _init_name = "etcdc_v3_range_options_init"
    _version = V3_RANGE_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("range_end", c_void_p),
        ("range_end_len", c_size_t),
        ("prefix", c_bool),
        ("limit", c_int64),
        ("revision", c_int64),
        ("sort_target", c_int),
        ("sort_order", c_int),
        ("serializable", c_bool),
        ("keys_only", c_bool),
        ("count_only", c_bool),
        ("min_mod_revision", c_int64),
        ("max_mod_revision", c_int64),
        ("min_create_revision", c_int64),
        ("max_create_revision", c_int64),
    ]


class V3PutOptions(Structure):
    _c_name = "etcdc_v3_put_options"
    _init_name = "etcdc_v3_put_options_init"
    _version = V3_PUT_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("lease", c_int64),
        ("prev_kv", c_bool),
        ("ignore_value", c_bool),
        ("ignore_lease", c_bool),
    ]


class V3DeleteOptions(Structure):
    _c_name = "etcdc_v3_delete_options"
    _init_name = "etcdc_v3_delete_options_init"
    _version = V3_DELETE_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("range_end", c_void_p),
        ("range_end_len", c_size_t),
        ("prefix", c_bool),
        ("prev_kv", c_bool),
    ]


class V3CompareOptions(Structure):
    _c_name = "etcdc_v3_compare_options"
    _init_name = "etcdc_v3_compare_options_init"
    _version = V3_COMPARE_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("range_end", c_void_p),
        ("range_end_len", c_size_t),
        ("prefix", c_bool),
    ]


class V3WatchOptions(Structure):
    _c_name = "etcdc_v3_watch_options"
    _init_name = "etcdc_v3_watch_options_init"
    _version = V3_WATCH_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("range_end", c_void_p),
        ("range_end_len", c_size_t),
        ("prefix", c_bool),
        ("start_revision", c_int64),
        ("prev_kv", c_bool),
        ("no_put", c_bool),
        ("no_delete", c_bool),
    ]


# Opaque handles: void pointers the binding never looks inside.
client_p = c_void_p
range_response_p = c_void_p
put_response_p = c_void_p
delete_response_p = c_void_p
txn_p = c_void_p
txn_response_p = c_void_p
swap_response_p = c_void_p
lease_ttl_response_p = c_void_p
lease_list_p = c_void_p
watcher_p = c_void_p
event_p = c_void_p
member_list_p = c_void_p
status_response_p = c_void_p
alarm_list_p = c_void_p
lock_p = c_void_p
bytes_p = c_void_p  # const void * / const uint8_t *: bytes in, borrowed bytes out

status_t = c_int

# etcdc_v3_snapshot_callback: int (*)(const uint8_t *data, size_t len, void *userdata)
SNAPSHOT_CALLBACK = CFUNCTYPE(c_int, POINTER(c_uint8), c_size_t, c_void_p)

H = POINTER(V3Header)
KV = POINTER(V3Kv)

# name: (restype, argtypes)
_PROTOTYPES = {
    # keys
    "etcdc_v3_range_options_init": (status_t, [POINTER(V3RangeOptions), c_uint32]),
    "etcdc_v3_put_options_init": (status_t, [POINTER(V3PutOptions), c_uint32]),
    "etcdc_v3_delete_options_init": (status_t, [POINTER(V3DeleteOptions), c_uint32]),
    "etcdc_v3_range": (
        status_t,
        [client_p, bytes_p, c_size_t, POINTER(V3RangeOptions), POINTER(range_response_p)],
    ),
    "etcdc_v3_put": (
        status_t,
        [
            client_p,
            bytes_p,
            c_size_t,
            bytes_p,
            c_size_t,
            POINTER(V3PutOptions),
            POINTER(put_response_p),
        ],
    ),
    "etcdc_v3_delete": (
        status_t,
        [client_p, bytes_p, c_size_t, POINTER(V3DeleteOptions), POINTER(delete_response_p)],
    ),
    "etcdc_v3_compact": (status_t, [client_p, c_int64, c_bool, H]),
    "etcdc_v3_range_response_free": (None, [range_response_p]),
    "etcdc_v3_range_response_header": (H, [range_response_p]),
    "etcdc_v3_range_response_count": (c_int64, [range_response_p]),
    "etcdc_v3_range_response_more": (c_bool, [range_response_p]),
    "etcdc_v3_range_response_kv_count": (c_size_t, [range_response_p]),
    "etcdc_v3_range_response_kv": (KV, [range_response_p, c_size_t]),
    "etcdc_v3_put_response_free": (None, [put_response_p]),
    "etcdc_v3_put_response_header": (H, [put_response_p]),
    "etcdc_v3_put_response_prev_kv": (KV, [put_response_p]),
    "etcdc_v3_delete_response_free": (None, [delete_response_p]),
    "etcdc_v3_delete_response_header": (H, [delete_response_p]),
    "etcdc_v3_delete_response_deleted": (c_int64, [delete_response_p]),
    "etcdc_v3_delete_response_prev_kv_count": (c_size_t, [delete_response_p]),
    "etcdc_v3_delete_response_prev_kv": (KV, [delete_response_p, c_size_t]),
    # transactions
    "etcdc_v3_compare_options_init": (status_t, [POINTER(V3CompareOptions), c_uint32]),
    "etcdc_v3_txn_new": (status_t, [POINTER(txn_p)]),
    "etcdc_v3_txn_free": (None, [txn_p]),
    "etcdc_v3_txn_compare_value": (
        status_t,
        [txn_p, bytes_p, c_size_t, c_int, bytes_p, c_size_t, POINTER(V3CompareOptions)],
    ),
    "etcdc_v3_txn_compare_version": (
        status_t,
        [txn_p, bytes_p, c_size_t, c_int, c_int64, POINTER(V3CompareOptions)],
    ),
    "etcdc_v3_txn_compare_create_revision": (
        status_t,
        [txn_p, bytes_p, c_size_t, c_int, c_int64, POINTER(V3CompareOptions)],
    ),
    "etcdc_v3_txn_compare_mod_revision": (
        status_t,
        [txn_p, bytes_p, c_size_t, c_int, c_int64, POINTER(V3CompareOptions)],
    ),
    "etcdc_v3_txn_compare_lease": (
        status_t,
        [txn_p, bytes_p, c_size_t, c_int, c_int64, POINTER(V3CompareOptions)],
    ),
    "etcdc_v3_txn_add_range": (
        status_t,
        [txn_p, c_int, bytes_p, c_size_t, POINTER(V3RangeOptions)],
    ),
    "etcdc_v3_txn_add_put": (
        status_t,
        [txn_p, c_int, bytes_p, c_size_t, bytes_p, c_size_t, POINTER(V3PutOptions)],
    ),
    "etcdc_v3_txn_add_delete": (
        status_t,
        [txn_p, c_int, bytes_p, c_size_t, POINTER(V3DeleteOptions)],
    ),
    "etcdc_v3_txn_add_txn": (status_t, [txn_p, c_int, txn_p]),
    "etcdc_v3_txn_commit": (status_t, [client_p, txn_p, POINTER(txn_response_p)]),
    "etcdc_v3_txn_response_free": (None, [txn_response_p]),
    "etcdc_v3_txn_response_header": (H, [txn_response_p]),
    "etcdc_v3_txn_response_succeeded": (c_bool, [txn_response_p]),
    "etcdc_v3_txn_response_op_count": (c_size_t, [txn_response_p]),
    "etcdc_v3_txn_response_op_kind": (c_int, [txn_response_p, c_size_t]),
    "etcdc_v3_txn_response_op_range": (range_response_p, [txn_response_p, c_size_t]),
    "etcdc_v3_txn_response_op_put": (put_response_p, [txn_response_p, c_size_t]),
    "etcdc_v3_txn_response_op_delete": (delete_response_p, [txn_response_p, c_size_t]),
    "etcdc_v3_txn_response_op_txn": (txn_response_p, [txn_response_p, c_size_t]),
    "etcdc_v3_put_if_absent": (
        status_t,
        [
            client_p,
            bytes_p,
            c_size_t,
            bytes_p,
            c_size_t,
            c_int64,
            POINTER(swap_response_p),
        ],
    ),
    "etcdc_v3_put_if_value": (
        status_t,
        [
            client_p,
            bytes_p,
            c_size_t,
            bytes_p,
            c_size_t,
            bytes_p,
            c_size_t,
            POINTER(swap_response_p),
        ],
    ),
    "etcdc_v3_swap_response_free": (None, [swap_response_p]),
    "etcdc_v3_swap_response_succeeded": (c_bool, [swap_response_p]),
    "etcdc_v3_swap_response_revision": (c_int64, [swap_response_p]),
    "etcdc_v3_swap_response_current": (KV, [swap_response_p]),
    # leases
    "etcdc_v3_lease_grant": (
        status_t,
        [client_p, c_int64, c_int64, POINTER(c_int64), POINTER(c_int64)],
    ),
    "etcdc_v3_lease_revoke": (status_t, [client_p, c_int64, H]),
    "etcdc_v3_lease_keep_alive_once": (status_t, [client_p, c_int64, POINTER(c_int64)]),
    "etcdc_v3_lease_time_to_live": (
        status_t,
        [client_p, c_int64, c_bool, POINTER(lease_ttl_response_p)],
    ),
    "etcdc_v3_lease_ttl_response_free": (None, [lease_ttl_response_p]),
    "etcdc_v3_lease_ttl_response_header": (H, [lease_ttl_response_p]),
    "etcdc_v3_lease_ttl_response_id": (c_int64, [lease_ttl_response_p]),
    "etcdc_v3_lease_ttl_response_ttl": (c_int64, [lease_ttl_response_p]),
    "etcdc_v3_lease_ttl_response_granted_ttl": (c_int64, [lease_ttl_response_p]),
    "etcdc_v3_lease_ttl_response_key_count": (c_size_t, [lease_ttl_response_p]),
    "etcdc_v3_lease_ttl_response_key": (bytes_p, [lease_ttl_response_p, c_size_t]),
    "etcdc_v3_lease_ttl_response_key_len": (c_size_t, [lease_ttl_response_p, c_size_t]),
    "etcdc_v3_leases": (status_t, [client_p, POINTER(lease_list_p)]),
    "etcdc_v3_lease_list_count": (c_size_t, [lease_list_p]),
    "etcdc_v3_lease_list_get": (c_int64, [lease_list_p, c_size_t]),
    "etcdc_v3_lease_list_free": (None, [lease_list_p]),
    # watches
    "etcdc_v3_watch_options_init": (status_t, [POINTER(V3WatchOptions), c_uint32]),
    "etcdc_v3_watcher_new": (
        status_t,
        [client_p, bytes_p, c_size_t, POINTER(V3WatchOptions), POINTER(watcher_p)],
    ),
    "etcdc_v3_watcher_next": (status_t, [watcher_p, c_int64, POINTER(event_p)]),
    "etcdc_v3_watcher_cancel": (None, [watcher_p]),
    "etcdc_v3_watcher_next_revision": (c_int64, [watcher_p]),
    "etcdc_v3_watcher_compact_revision": (c_int64, [watcher_p]),
    "etcdc_v3_watcher_free": (None, [watcher_p]),
    "etcdc_v3_event_type": (c_int, [event_p]),
    "etcdc_v3_event_kv": (KV, [event_p]),
    "etcdc_v3_event_prev_kv": (KV, [event_p]),
    "etcdc_v3_event_revision": (c_int64, [event_p]),
    "etcdc_v3_event_free": (None, [event_p]),
    # cluster
    "etcdc_v3_members": (status_t, [client_p, POINTER(member_list_p)]),
    "etcdc_v3_member_add": (
        status_t,
        [client_p, POINTER(c_char_p), c_size_t, c_bool, POINTER(c_uint64), POINTER(member_list_p)],
    ),
    "etcdc_v3_member_remove": (status_t, [client_p, c_uint64, POINTER(member_list_p)]),
    "etcdc_v3_member_update": (
        status_t,
        [client_p, c_uint64, POINTER(c_char_p), c_size_t, POINTER(member_list_p)],
    ),
    "etcdc_v3_member_list_count": (c_size_t, [member_list_p]),
    "etcdc_v3_member_list_id": (c_uint64, [member_list_p, c_size_t]),
    "etcdc_v3_member_list_name": (c_char_p, [member_list_p, c_size_t]),
    "etcdc_v3_member_list_is_learner": (c_bool, [member_list_p, c_size_t]),
    "etcdc_v3_member_list_peer_url_count": (c_size_t, [member_list_p, c_size_t]),
    "etcdc_v3_member_list_peer_url": (c_char_p, [member_list_p, c_size_t, c_size_t]),
    "etcdc_v3_member_list_client_url_count": (c_size_t, [member_list_p, c_size_t]),
    "etcdc_v3_member_list_client_url": (c_char_p, [member_list_p, c_size_t, c_size_t]),
    "etcdc_v3_member_list_free": (None, [member_list_p]),
    # maintenance
    "etcdc_v3_status": (status_t, [client_p, c_char_p, POINTER(status_response_p)]),
    "etcdc_v3_status_response_free": (None, [status_response_p]),
    "etcdc_v3_status_response_header": (H, [status_response_p]),
    "etcdc_v3_status_response_endpoint": (c_char_p, [status_response_p]),
    "etcdc_v3_status_response_version": (c_char_p, [status_response_p]),
    "etcdc_v3_status_response_db_size": (c_int64, [status_response_p]),
    "etcdc_v3_status_response_db_size_in_use": (c_int64, [status_response_p]),
    "etcdc_v3_status_response_leader": (c_uint64, [status_response_p]),
    "etcdc_v3_status_response_raft_index": (c_uint64, [status_response_p]),
    "etcdc_v3_status_response_raft_term": (c_uint64, [status_response_p]),
    "etcdc_v3_status_response_raft_applied_index": (c_uint64, [status_response_p]),
    "etcdc_v3_status_response_is_learner": (c_bool, [status_response_p]),
    "etcdc_v3_status_response_error_count": (c_size_t, [status_response_p]),
    "etcdc_v3_status_response_error": (c_char_p, [status_response_p, c_size_t]),
    "etcdc_v3_alarms": (status_t, [client_p, POINTER(alarm_list_p)]),
    "etcdc_v3_alarm_activate": (status_t, [client_p, c_uint64, c_int, POINTER(alarm_list_p)]),
    "etcdc_v3_alarm_disarm": (status_t, [client_p, c_uint64, c_int, POINTER(alarm_list_p)]),
    "etcdc_v3_alarm_list_count": (c_size_t, [alarm_list_p]),
    "etcdc_v3_alarm_list_member_id": (c_uint64, [alarm_list_p, c_size_t]),
    "etcdc_v3_alarm_list_kind": (c_int, [alarm_list_p, c_size_t]),
    "etcdc_v3_alarm_list_free": (None, [alarm_list_p]),
    "etcdc_v3_defragment": (status_t, [client_p, c_char_p]),
    "etcdc_v3_hash": (status_t, [client_p, POINTER(c_uint32), H]),
    "etcdc_v3_snapshot": (
        status_t,
        [client_p, SNAPSHOT_CALLBACK, c_void_p, c_int64, POINTER(c_uint64)],
    ),
}


class V3LockOptions(Structure):
    _c_name = "etcdc_v3_lock_options"
    _init_name = "etcdc_v3_lock_options_init"
    _version = V3_LOCK_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("ttl", c_int64),
    ]


# The v3 lock (header section "v3 Lock"): declared when the library has it.
_LOCK_PROTOTYPES = {
    "etcdc_v3_lock_options_init": (status_t, [POINTER(V3LockOptions), c_uint32]),
    "etcdc_v3_lock_new": (
        status_t,
        [client_p, bytes_p, c_size_t, POINTER(V3LockOptions), POINTER(lock_p)],
    ),
    "etcdc_v3_lock_acquire": (status_t, [lock_p, c_int64]),
    "etcdc_v3_lock_try_acquire": (status_t, [lock_p, POINTER(c_bool)]),
    "etcdc_v3_lock_is_held": (status_t, [lock_p, POINTER(c_bool)]),
    "etcdc_v3_lock_release": (status_t, [lock_p]),
    "etcdc_v3_lock_cancel": (None, [lock_p]),
    "etcdc_v3_lock_key": (bytes_p, [lock_p]),
    "etcdc_v3_lock_key_len": (c_size_t, [lock_p]),
    "etcdc_v3_lock_lease_id": (c_int64, [lock_p]),
    "etcdc_v3_lock_revision": (c_int64, [lock_p]),
    "etcdc_v3_lock_free": (None, [lock_p]),
}


_lock = threading.Lock()
_lib3 = None
_has_lock = False


def _declare(lib, prototypes):
    for name, (restype, argtypes) in prototypes.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def load():
    """The loaded library (``_lib.load()``) with the v3 prototypes declared.
    Raises ``_lib.LibraryNotFound`` if the library lacks a v3 function (a
    libetcdc older than its v3 API)."""
    global _lib3, _has_lock
    if _lib3 is not None:
        return _lib3
    lib = _lib.load()
    with _lock:
        if _lib3 is not None:
            return _lib3
        try:
            _declare(lib, _PROTOTYPES)
        except AttributeError as e:
            raise _lib.LibraryNotFound(
                "%s (%s) has no v3 API, which etcdc.etcd3 needs: %s"
                % (_lib.library_path(), lib.etcdc_version().decode("ascii", "replace"), e)
            )
        try:
            if _LOCK_PROTOTYPES:
                _declare(lib, _LOCK_PROTOTYPES)
                _has_lock = True
        except AttributeError:
            _has_lock = False
        _lib3 = lib
        return lib


def has_lock(lib=None):
    """Whether the library has the v3 lock (``etcdc_v3_lock_*``)."""
    load()
    return _has_lock


def options(lib, cls):
    """A v3 options struct set to its defaults by its _init() (see
    ``_lib.options``)."""
    opts = cls()
    status = getattr(lib, cls._init_name)(ctypes.byref(opts), cls._version)
    if status:
        from .etcd3.exceptions import _from_status

        raise _from_status(lib, status)
    return opts


def buffer_pointer(b, keep):
    """``b`` (bytes) as a ``c_void_p`` for a struct field, its buffer kept
    alive in ``keep`` (a list that must outlive the call)."""
    buf = ctypes.create_string_buffer(b, len(b))
    keep.append(buf)
    return ctypes.cast(buf, c_void_p)


def string_at(ptr, n):
    """``n`` bytes at ``ptr`` (a borrowed pointer), copied; b"" for 0."""
    if not n:
        return b""
    return ctypes.string_at(ptr, n)
