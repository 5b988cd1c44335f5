"""Loading libetcdc and declaring the C API for ctypes.

Every function the binding calls is declared here with its argtypes and
restype, so that ctypes converts (and checks) arguments instead of guessing
(a guessed ``int`` would truncate 64-bit pointers).

The library is looked for, in this order:

1. the path in the environment variable ``ETCDC_LIBRARY``;
2. the installed library (``ctypes.util.find_library('etcdc')``, then
   ``libetcdc.so.0`` through the dynamic loader's own search path, then in
   ``<sys.prefix>/lib`` and ``/usr/local/lib``);
3. the build tree: walking up from this package for
   ``target/release/libetcdc.so`` or ``target/debug/libetcdc.so``.

ctypes releases the GIL around every call into a ``CDLL``, so a thread blocked
in etcdc (a watch, a lock wait) does not stop other Python threads.
"""

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)

# The ABI this binding was written for: libetcdc.so.<ABI_MAJOR>, and the
# versions of the options structs it fills in.
ABI_MAJOR = 0
CLIENT_OPTIONS_VERSION = 2
WRITE_OPTIONS_VERSION = 1
READ_OPTIONS_VERSION = 1
DELETE_OPTIONS_VERSION = 1
WATCH_OPTIONS_VERSION = 1
LOCK_OPTIONS_VERSION = 1

STATS_SELF = 0
STATS_LEADER = 1
STATS_STORE = 2

PREV_EXIST_ANY = 0
PREV_EXIST_TRUE = 1
PREV_EXIST_FALSE = 2

MAX_TTL = 3153600000  # ETCDC_MAX_TTL: 100 years

# Statuses (include/etcdc.h, enum etcdc_status).
OK = 0
ERR_KEY_NOT_FOUND = 100
ERR_COMPARE_FAILED = 101
ERR_NOT_FILE = 102
ERR_NOT_DIR = 104
ERR_NODE_EXIST = 105
ERR_ROOT_READ_ONLY = 107
ERR_DIR_NOT_EMPTY = 108
ERR_UNAUTHORIZED = 110
ERR_RAFT_INTERNAL = 300
ERR_LEADER_ELECT = 301
ERR_WATCHER_CLEARED = 400
ERR_EVENT_INDEX_CLEARED = 401
ERR_INVALID_ARGUMENT = 1000
ERR_CONNECTION = 1001
ERR_TIMEOUT = 1002
ERR_PROTOCOL = 1003
ERR_V2_NOT_ENABLED = 1004
ERR_HTTP_STATUS = 1005
ERR_REDIRECT = 1006
ERR_RESPONSE_TOO_LARGE = 1007
ERR_ETCD_OTHER = 1008
ERR_PANIC = 1009
ERR_WATCH_TIMEOUT = 1010
ERR_CANCELLED = 1011
ERR_ACQUIRE_TIMEOUT = 1012
ERR_LOCK_EXPIRED = 1013
ERR_NOT_HELD = 1014
ERR_AMBIGUOUS = 1015
ERR_CLUSTER_ID_MISMATCH = 1016
ERR_TLS_UNTRUSTED = 1017
ERR_TLS_HOSTNAME = 1018
ERR_TLS_CLIENT_CERT = 1019
ERR_TLS = 1020

# etcdc_role_grant() / etcdc_role_revoke() permissions.
PERM_READ = 1
PERM_WRITE = 2
PERM_READWRITE = 3


class ClientOptions(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("host", c_char_p),
        ("port", c_uint16),
        ("protocol", c_char_p),
        ("endpoints", POINTER(c_char_p)),
        ("endpoint_count", c_size_t),
        ("read_timeout_ms", c_uint64),
        ("connect_timeout_ms", c_uint64),
        ("version_prefix", c_char_p),
        ("no_redirect", c_bool),
        ("max_response_bytes", c_uint64),
        ("discover", c_bool),
        ("expected_cluster_id", c_char_p),
        ("ca_file", c_char_p),
        ("cert_file", c_char_p),
        ("key_file", c_char_p),
        ("insecure_skip_verify", c_bool),
        ("username", c_char_p),
        ("password", c_char_p),
    ]


class Member(Structure):
    _fields_ = [
        ("id", c_char_p),
        ("name", c_char_p),
        ("peer_urls", POINTER(c_char_p)),
        ("peer_url_count", c_size_t),
        ("client_urls", POINTER(c_char_p)),
        ("client_url_count", c_size_t),
    ]


class Error(Structure):
    _fields_ = [
        ("status", c_int),
        ("etcd_code", c_uint32),
        ("message", c_char_p),
        ("cause", c_char_p),
        ("index", c_uint64),
        ("http_status", c_uint16),
    ]


class WriteOptions(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("ttl", c_uint64),
        ("dir", c_bool),
        ("append", c_bool),
        ("prev_value", c_char_p),
        ("prev_index", c_uint64),
        ("prev_exist", c_int),
        ("refresh", c_bool),
    ]


class ReadOptions(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("recursive", c_bool),
        ("sorted", c_bool),
        ("quorum", c_bool),
    ]


class DeleteOptions(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("recursive", c_bool),
        ("dir", c_bool),
        ("prev_value", c_char_p),
        ("prev_index", c_uint64),
    ]


class LockOptions(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("ttl", c_uint64),
        ("prefix", c_char_p),
    ]


class WatchOptions(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("recursive", c_bool),
        ("wait_index", c_uint64),
        ("timeout_ms", c_uint64),
    ]


# Opaque handles are plain void pointers: the binding never looks inside.
client_p = c_void_p
response_p = c_void_p
node_p = c_void_p
watcher_p = c_void_p
lock_p = c_void_p
member_list_p = c_void_p
strings_p = c_void_p
# `char *` results owned by the caller: kept as void pointers so that ctypes
# does not convert (and lose) them before etcdc_string_free().
owned_str_p = c_void_p

status_t = c_int

# name: (restype, argtypes)
_PROTOTYPES = {
    # library, errors, strings
    "etcdc_version": (c_char_p, []),
    "etcdc_status_str": (c_char_p, [c_int]),
    "etcdc_error_last": (POINTER(Error), []),
    "etcdc_string_free": (None, [owned_str_p]),
    # client
    "etcdc_client_options_init": (None, [POINTER(ClientOptions)]),
    "etcdc_client_new": (status_t, [POINTER(ClientOptions), POINTER(client_p)]),
    "etcdc_client_free": (None, [client_p]),
    # keys
    "etcdc_write_options_init": (None, [POINTER(WriteOptions)]),
    "etcdc_read_options_init": (None, [POINTER(ReadOptions)]),
    "etcdc_delete_options_init": (None, [POINTER(DeleteOptions)]),
    "etcdc_write": (
        status_t,
        [client_p, c_char_p, c_char_p, POINTER(WriteOptions), POINTER(response_p)],
    ),
    "etcdc_read": (status_t, [client_p, c_char_p, POINTER(ReadOptions), POINTER(response_p)]),
    "etcdc_delete": (
        status_t,
        [client_p, c_char_p, POINTER(DeleteOptions), POINTER(response_p)],
    ),
    "etcdc_test_and_set": (
        status_t,
        [client_p, c_char_p, c_char_p, c_char_p, c_uint64, POINTER(response_p)],
    ),
    "etcdc_mkdir": (status_t, [client_p, c_char_p, c_uint64, POINTER(response_p)]),
    "etcdc_refresh": (status_t, [client_p, c_char_p, c_uint64, POINTER(response_p)]),
    "etcdc_pop": (status_t, [client_p, c_char_p, POINTER(response_p)]),
    # responses and nodes
    "etcdc_response_free": (None, [response_p]),
    "etcdc_response_action": (c_char_p, [response_p]),
    "etcdc_response_node": (node_p, [response_p]),
    "etcdc_response_prev_node": (node_p, [response_p]),
    "etcdc_response_etcd_index": (c_uint64, [response_p]),
    "etcdc_response_raft_index": (c_uint64, [response_p]),
    "etcdc_response_raft_term": (c_uint64, [response_p]),
    "etcdc_response_cluster_id": (c_char_p, [response_p]),
    "etcdc_node_to_json": (status_t, [node_p, POINTER(owned_str_p)]),
    # watches
    "etcdc_watch_options_init": (None, [POINTER(WatchOptions)]),
    "etcdc_watch": (status_t, [client_p, c_char_p, POINTER(WatchOptions), POINTER(response_p)]),
    "etcdc_watcher_new": (
        status_t,
        [client_p, c_char_p, POINTER(WatchOptions), POINTER(watcher_p)],
    ),
    "etcdc_watcher_next": (status_t, [watcher_p, c_uint64, POINTER(response_p)]),
    "etcdc_watcher_cancel": (None, [watcher_p]),
    "etcdc_watcher_next_index": (c_uint64, [watcher_p]),
    "etcdc_watcher_resume_from": (status_t, [watcher_p, c_uint64]),
    "etcdc_watcher_free": (None, [watcher_p]),
    # lock
    "etcdc_lock_options_init": (None, [POINTER(LockOptions)]),
    "etcdc_lock_new": (status_t, [client_p, c_char_p, POINTER(LockOptions), POINTER(lock_p)]),
    "etcdc_lock_acquire": (status_t, [lock_p, c_int64]),
    "etcdc_lock_is_locked": (status_t, [lock_p, POINTER(c_bool)]),
    "etcdc_lock_renew": (status_t, [lock_p, c_uint64]),
    "etcdc_lock_release": (status_t, [lock_p]),
    "etcdc_lock_cancel": (None, [lock_p]),
    "etcdc_lock_free": (None, [lock_p]),
    # election
    "etcdc_election_set": (
        status_t,
        [client_p, c_char_p, c_char_p, c_uint64, c_int64, POINTER(c_uint64)],
    ),
    "etcdc_election_get": (status_t, [client_p, c_char_p, POINTER(owned_str_p)]),
    "etcdc_election_delete": (status_t, [client_p, c_char_p, c_char_p]),
    "etcdc_election_renew": (status_t, [client_p, c_char_p, c_char_p, c_uint64]),
    "etcdc_election_watch": (
        status_t,
        [client_p, c_char_p, c_uint64, c_int64, POINTER(owned_str_p), POINTER(c_uint64)],
    ),
    # cluster
    "etcdc_members": (status_t, [client_p, POINTER(member_list_p)]),
    "etcdc_leader": (status_t, [client_p, POINTER(member_list_p)]),
    "etcdc_member_add": (
        status_t,
        [client_p, POINTER(c_char_p), c_size_t, POINTER(member_list_p)],
    ),
    "etcdc_member_remove": (status_t, [client_p, c_char_p]),
    "etcdc_member_update": (status_t, [client_p, c_char_p, POINTER(c_char_p), c_size_t]),
    "etcdc_member_list_count": (c_size_t, [member_list_p]),
    "etcdc_member_list_get": (POINTER(Member), [member_list_p, c_size_t]),
    "etcdc_member_list_free": (None, [member_list_p]),
    "etcdc_machines": (status_t, [client_p, POINTER(owned_str_p)]),
    "etcdc_stats": (status_t, [client_p, c_int, POINTER(owned_str_p)]),
    "etcdc_server_version": (status_t, [client_p, POINTER(owned_str_p), POINTER(owned_str_p)]),
    "etcdc_health": (status_t, [client_p, POINTER(c_bool)]),
    # auth: strings lists, on/off, users, roles
    "etcdc_strings_count": (c_size_t, [strings_p]),
    "etcdc_strings_get": (c_char_p, [strings_p, c_size_t]),
    "etcdc_strings_free": (None, [strings_p]),
    "etcdc_auth_enabled": (status_t, [client_p, POINTER(c_bool)]),
    "etcdc_auth_enable": (status_t, [client_p]),
    "etcdc_auth_disable": (status_t, [client_p]),
    "etcdc_users": (status_t, [client_p, POINTER(strings_p)]),
    "etcdc_user_get": (status_t, [client_p, c_char_p, POINTER(strings_p)]),
    "etcdc_user_set": (status_t, [client_p, c_char_p, c_char_p]),
    "etcdc_user_delete": (status_t, [client_p, c_char_p]),
    "etcdc_user_grant_roles": (status_t, [client_p, c_char_p, POINTER(c_char_p), c_size_t]),
    "etcdc_user_revoke_roles": (status_t, [client_p, c_char_p, POINTER(c_char_p), c_size_t]),
    "etcdc_roles": (status_t, [client_p, POINTER(strings_p)]),
    "etcdc_role_get": (status_t, [client_p, c_char_p, POINTER(strings_p), POINTER(strings_p)]),
    "etcdc_role_create": (status_t, [client_p, c_char_p]),
    "etcdc_role_delete": (status_t, [client_p, c_char_p]),
    "etcdc_role_grant": (status_t, [client_p, c_char_p, c_int, POINTER(c_char_p), c_size_t]),
    "etcdc_role_revoke": (status_t, [client_p, c_char_p, c_int, POINTER(c_char_p), c_size_t]),
}


def _shared_names():
    if sys.platform == "darwin":
        return ["libetcdc.dylib"]
    if sys.platform == "win32":
        return ["etcdc.dll"]
    return ["libetcdc.so"]


def _candidates():
    """(description, path-or-name) pairs, in the order they are tried."""
    env = os.environ.get("ETCDC_LIBRARY")
    if env:
        # An explicit path is the only candidate: silently loading another
        # library than the one asked for would hide the mistake.
        yield ("ETCDC_LIBRARY", env)
        return
    found = ctypes.util.find_library("etcdc")
    if found:
        yield ("installed (find_library)", found)
    if sys.platform.startswith("linux"):
        soname = "libetcdc.so.%d" % ABI_MAJOR
        yield ("installed (soname)", soname)
        # make install's prefixes, when the loader's cache does not list them.
        for prefix in (sys.prefix, "/usr/local"):
            path = os.path.join(prefix, "lib", soname)
            if os.path.isfile(path):
                yield ("installed (%s)" % prefix, path)
    here = os.path.dirname(os.path.abspath(__file__))
    seen = set()
    while here not in seen:
        seen.add(here)
        for profile in ("release", "debug"):
            for name in _shared_names():
                path = os.path.join(here, "target", profile, name)
                if os.path.isfile(path):
                    yield ("build tree", path)
        here = os.path.dirname(here)


class LibraryNotFound(ImportError):
    """libetcdc could not be found or loaded."""


_lock = threading.Lock()
_lib = None
_path = None


def _declare(lib):
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def load():
    """The loaded library (a ctypes.CDLL with every prototype declared)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for how, where in _candidates():
            try:
                lib = ctypes.CDLL(where)
            except OSError as e:
                tried.append("%s: %s (%s)" % (how, where, e))
                continue
            try:
                _declare(lib)
            except AttributeError as e:
                tried.append("%s: %s lacks a function (%s)" % (how, where, e))
                continue
            version = lib.etcdc_version().decode("ascii")
            major = int(version.split(".")[0])
            if major != ABI_MAJOR:
                tried.append(
                    "%s: %s is etcdc %s, this binding needs %d.x"
                    % (how, where, version, ABI_MAJOR)
                )
                continue
            _path = where
            _lib = lib
            return lib
        raise LibraryNotFound(
            "libetcdc not found; set ETCDC_LIBRARY to its path, install it "
            "(make install), or build it (cargo build --release). Tried: "
            + ("; ".join(tried) if tried else "nothing (no candidate found)")
        )


def library_path():
    """Where the loaded library came from (a path or a soname)."""
    load()
    return _path


def take_strings(lib, ptr):
    """Copies an etcdc_strings list into a list of str and frees it; [] for
    NULL."""
    if not ptr:
        return []
    try:
        return [
            lib.etcdc_strings_get(ptr, i).decode("utf-8", "replace")
            for i in range(lib.etcdc_strings_count(ptr))
        ]
    finally:
        lib.etcdc_strings_free(ptr)


def take_string(lib, ptr):
    """Copies an owned `char *` into a str and frees it; None for NULL."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.etcdc_string_free(ptr)
