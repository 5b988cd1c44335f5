"""Loading libetcdc and declaring the C API for ctypes.

Every function the binding calls is declared here with its argtypes and
restype, so that ctypes converts (and checks) arguments instead of guessing
(a guessed ``int`` would truncate 64-bit pointers).

The library is looked for, in this order:

1. the path in the environment variable ``ETCDC_LIBRARY`` (then nothing
   else);
2. the bundled library: ``libetcdc.so`` in this package's directory, which
   the wheel carries (built by setup.py from the repository's crate);
3. the installed library: ``libetcdc.so.<ABI_MAJOR>`` through the dynamic
   loader's own search path, then ``ctypes.util.find_library('etcdc')``,
   then ``libetcdc.so.<ABI_MAJOR>`` in ``<sys.prefix>/lib`` and
   ``/usr/local/lib``;
4. the build tree: walking up from this package for
   ``target/release/libetcdc.so`` or ``target/debug/libetcdc.so``.

A library is used only if it has this binding's ABI: its soname (read from
the ELF file) is ``libetcdc.so.<ABI_MAJOR>``, or, where no soname can be read,
its version is at least ``ABI_FIRST_VERSION``. Any other is skipped (and
named in ``LibraryNotFound`` if nothing fits).

ctypes releases the GIL around every call into a ``CDLL``, so a thread blocked
in etcdc (a watch, a lock wait) does not stop other Python threads.
"""

import ctypes
import ctypes.util
import os
import struct
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

# The ABI this binding was written for: libetcdc.so.<ABI_MAJOR> (the
# soname's number, [package.metadata.etcdc] abi in Cargo.toml; it does not
# follow the library's version), and the first library version with it.
ABI_MAJOR = 1
ABI_FIRST_VERSION = (0, 2, 0)

# The versions of the options structs below, passed to their _init().
# tests/test_abi.py checks these constants, the statuses and the structs'
# layouts against include/etcdc.h as a C compiler sees it.
CLIENT_OPTIONS_VERSION = 3
WRITE_OPTIONS_VERSION = 1
READ_OPTIONS_VERSION = 1
DELETE_OPTIONS_VERSION = 1
WATCH_OPTIONS_VERSION = 1
LOCK_OPTIONS_VERSION = 1
ELECTION_OPTIONS_VERSION = 1
# The v3 API's options (the binding has no v3 API yet: mirrored for the ABI
# check only).
V3_RANGE_OPTIONS_VERSION = 1
V3_PUT_OPTIONS_VERSION = 1
V3_DELETE_OPTIONS_VERSION = 1
V3_COMPARE_OPTIONS_VERSION = 1
V3_LEASE_KEEPER_OPTIONS_VERSION = 1
V3_WATCH_OPTIONS_VERSION = 1
V3_LOCK_OPTIONS_VERSION = 1
V3_ELECTION_OPTIONS_VERSION = 1

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
ERR_VALUE_REQUIRED = 200
ERR_PREV_VALUE_REQUIRED = 201
ERR_TTL_NAN = 202
ERR_INDEX_NAN = 203
ERR_INVALID_FIELD = 209
ERR_INVALID_FORM = 210
ERR_REFRESH_VALUE = 211
ERR_REFRESH_TTL_REQUIRED = 212
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
ERR_STALE_MEMBER = 1021
ERR_COMPACTED = 1022
# v3: etcd answered with a gRPC status (2000 + its code).
ERR_GRPC_CANCELLED = 2001
ERR_GRPC_UNKNOWN = 2002
ERR_GRPC_INVALID_ARGUMENT = 2003
ERR_GRPC_DEADLINE_EXCEEDED = 2004
ERR_GRPC_NOT_FOUND = 2005
ERR_GRPC_ALREADY_EXISTS = 2006
ERR_GRPC_PERMISSION_DENIED = 2007
ERR_GRPC_RESOURCE_EXHAUSTED = 2008
ERR_GRPC_FAILED_PRECONDITION = 2009
ERR_GRPC_ABORTED = 2010
ERR_GRPC_OUT_OF_RANGE = 2011
ERR_GRPC_UNIMPLEMENTED = 2012
ERR_GRPC_INTERNAL = 2013
ERR_GRPC_UNAVAILABLE = 2014
ERR_GRPC_DATA_LOSS = 2015
ERR_GRPC_UNAUTHENTICATED = 2016

# etcdc_role_grant() / etcdc_role_revoke() permissions.
PERM_READ = 1
PERM_WRITE = 2
PERM_READWRITE = 3


# The structs of include/etcdc.h, field for field (``_c_name`` is the C
# name; tests/test_abi.py compares every Structure of this module with what a
# C compiler makes of the header). The options structs also name their
# _init() function and the version their fields correspond to.


class ClientOptions(Structure):
    _c_name = "etcdc_client_options"
    _init_name = "etcdc_client_options_init"
    _version = CLIENT_OPTIONS_VERSION
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
        ("srv_domain", c_char_p),
        ("dns_server", c_char_p),
    ]


class Member(Structure):
    _c_name = "etcdc_member"
    _fields_ = [
        ("id", c_char_p),
        ("name", c_char_p),
        ("peer_urls", POINTER(c_char_p)),
        ("peer_url_count", c_size_t),
        ("client_urls", POINTER(c_char_p)),
        ("client_url_count", c_size_t),
    ]


class Error(Structure):
    _c_name = "etcdc_error"
    _fields_ = [
        ("status", c_int),
        ("etcd_code", c_uint32),
        ("message", c_char_p),
        ("cause", c_char_p),
        ("index", c_uint64),
        ("http_status", c_uint16),
        # The server's own words ("Key not found"), or "".
        ("server_message", c_char_p),
    ]


class WriteOptions(Structure):
    _c_name = "etcdc_write_options"
    _init_name = "etcdc_write_options_init"
    _version = WRITE_OPTIONS_VERSION
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
    _c_name = "etcdc_read_options"
    _init_name = "etcdc_read_options_init"
    _version = READ_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("recursive", c_bool),
        ("sorted", c_bool),
        ("quorum", c_bool),
    ]


class DeleteOptions(Structure):
    _c_name = "etcdc_delete_options"
    _init_name = "etcdc_delete_options_init"
    _version = DELETE_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("recursive", c_bool),
        ("dir", c_bool),
        ("prev_value", c_char_p),
        ("prev_index", c_uint64),
    ]


class LockOptions(Structure):
    _c_name = "etcdc_lock_options"
    _init_name = "etcdc_lock_options_init"
    _version = LOCK_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("ttl", c_uint64),
        ("prefix", c_char_p),
    ]


class WatchOptions(Structure):
    _c_name = "etcdc_watch_options"
    _init_name = "etcdc_watch_options_init"
    _version = WATCH_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("recursive", c_bool),
        ("wait_index", c_uint64),
    ]


class ElectionOptions(Structure):
    _c_name = "etcdc_election_options"
    _init_name = "etcdc_election_options_init"
    _version = ELECTION_OPTIONS_VERSION
    _fields_ = [
        ("version", c_uint32),
        ("prefix", c_char_p),
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
    "etcdc_client_options_init": (status_t, [POINTER(ClientOptions), c_uint32]),
    "etcdc_client_new": (status_t, [POINTER(ClientOptions), POINTER(client_p)]),
    "etcdc_client_endpoints": (status_t, [client_p, POINTER(strings_p)]),
    "etcdc_client_free": (None, [client_p]),
    # keys
    "etcdc_write_options_init": (status_t, [POINTER(WriteOptions), c_uint32]),
    "etcdc_read_options_init": (status_t, [POINTER(ReadOptions), c_uint32]),
    "etcdc_delete_options_init": (status_t, [POINTER(DeleteOptions), c_uint32]),
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
    "etcdc_watch_options_init": (status_t, [POINTER(WatchOptions), c_uint32]),
    "etcdc_watch": (
        status_t,
        [client_p, c_char_p, POINTER(WatchOptions), c_int64, POINTER(response_p)],
    ),
    "etcdc_watcher_new": (
        status_t,
        [client_p, c_char_p, POINTER(WatchOptions), POINTER(watcher_p)],
    ),
    "etcdc_watcher_next": (status_t, [watcher_p, c_int64, POINTER(response_p)]),
    "etcdc_watcher_cancel": (None, [watcher_p]),
    "etcdc_watcher_next_index": (c_uint64, [watcher_p]),
    "etcdc_watcher_resume_from": (status_t, [watcher_p, c_uint64]),
    "etcdc_watcher_free": (None, [watcher_p]),
    # lock
    "etcdc_lock_options_init": (status_t, [POINTER(LockOptions), c_uint32]),
    "etcdc_lock_new": (status_t, [client_p, c_char_p, POINTER(LockOptions), POINTER(lock_p)]),
    "etcdc_lock_acquire": (status_t, [lock_p, c_int64]),
    "etcdc_lock_is_locked": (status_t, [lock_p, POINTER(c_bool)]),
    "etcdc_lock_renew": (status_t, [lock_p, c_uint64]),
    "etcdc_lock_release": (status_t, [lock_p]),
    "etcdc_lock_cancel": (None, [lock_p]),
    "etcdc_lock_free": (None, [lock_p]),
    # election
    "etcdc_election_options_init": (status_t, [POINTER(ElectionOptions), c_uint32]),
    "etcdc_election_set": (
        status_t,
        [
            client_p,
            c_char_p,
            c_char_p,
            c_uint64,
            POINTER(ElectionOptions),
            c_int64,
            POINTER(c_uint64),
        ],
    ),
    "etcdc_election_get": (
        status_t,
        [client_p, c_char_p, POINTER(ElectionOptions), POINTER(owned_str_p)],
    ),
    "etcdc_election_delete": (status_t, [client_p, c_char_p, c_char_p, POINTER(ElectionOptions)]),
    "etcdc_election_renew": (
        status_t,
        [client_p, c_char_p, c_char_p, c_uint64, POINTER(ElectionOptions)],
    ),
    "etcdc_election_watch": (
        status_t,
        [
            client_p,
            c_char_p,
            c_uint64,
            POINTER(ElectionOptions),
            c_int64,
            POINTER(owned_str_p),
            POINTER(c_uint64),
        ],
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
    "etcdc_machines": (status_t, [client_p, POINTER(strings_p)]),
    "etcdc_stats": (status_t, [client_p, c_int, POINTER(owned_str_p)]),
    "etcdc_server_version": (status_t, [client_p, POINTER(owned_str_p), POINTER(owned_str_p)]),
    "etcdc_health": (status_t, [client_p, POINTER(c_bool)]),
    # lists of strings (etcdc_machines, the auth API)
    "etcdc_strings_count": (c_size_t, [strings_p]),
    "etcdc_strings_get": (c_char_p, [strings_p, c_size_t]),
    "etcdc_strings_free": (None, [strings_p]),
    # auth: on/off, users, roles
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


def _soname():
    return "libetcdc.so.%d" % ABI_MAJOR


def _candidates():
    """(description, path-or-name) pairs, in the order they are tried."""
    env = os.environ.get("ETCDC_LIBRARY")
    if env:
        # An explicit path is the only candidate: silently loading another
        # library than the one asked for would hide the mistake.
        yield ("ETCDC_LIBRARY", env)
        return
    # The wheel's own copy, next to this file (setup.py puts it there).
    here = os.path.dirname(os.path.abspath(__file__))
    for name in _shared_names():
        path = os.path.join(here, name)
        if os.path.isfile(path):
            yield ("bundled", path)
    linux = sys.platform.startswith("linux")
    if linux:
        # The soname names the ABI: whatever the loader finds under it fits.
        yield ("installed (soname)", _soname())
    found = ctypes.util.find_library("etcdc")
    if found and found != _soname():
        yield ("installed (find_library)", found)
    if linux:
        # make install's prefixes, when the loader's cache does not list them.
        for prefix in (sys.prefix, "/usr/local"):
            path = os.path.join(prefix, "lib", _soname())
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


def elf_soname(path):
    """The soname (DT_SONAME) of the ELF shared library at ``path``; None
    if it has none, is not ELF, or cannot be read."""
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return None
            e = "<" if ident[5] == 1 else ">"
            wide = ident[4] == 2
            if wide:
                # e_phoff at 0x20, e_phentsize and e_phnum at 0x36.
                f.seek(0x20)
                (phoff,) = struct.unpack(e + "Q", f.read(8))
                f.seek(0x36)
                phentsize, phnum = struct.unpack(e + "HH", f.read(4))
                phdr, dyn = e + "IIQQQQQQ", e + "qQ"
            else:
                f.seek(0x1C)
                (phoff,) = struct.unpack(e + "I", f.read(4))
                f.seek(0x2A)
                phentsize, phnum = struct.unpack(e + "HH", f.read(4))
                phdr, dyn = e + "IIIIIIII", e + "iI"
            loads = []  # (vaddr, filesz, offset) of each PT_LOAD
            dynamic = None  # (offset, filesz) of PT_DYNAMIC
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                h = struct.unpack(phdr, f.read(struct.calcsize(phdr)))
                if wide:
                    p_type, p_offset, p_vaddr, p_filesz = h[0], h[2], h[3], h[5]
                else:
                    p_type, p_offset, p_vaddr, p_filesz = h[0], h[1], h[2], h[4]
                if p_type == 1:
                    loads.append((p_vaddr, p_filesz, p_offset))
                elif p_type == 2:
                    dynamic = (p_offset, p_filesz)
            if dynamic is None:
                return None
            f.seek(dynamic[0])
            table = f.read(dynamic[1])
            size = struct.calcsize(dyn)
            strtab = soname = None
            for i in range(0, len(table) - size + 1, size):
                tag, val = struct.unpack_from(dyn, table, i)
                if tag == 0:  # DT_NULL
                    break
                if tag == 5:  # DT_STRTAB (an address)
                    strtab = val
                elif tag == 14:  # DT_SONAME (an offset in the string table)
                    soname = val
            if strtab is None or soname is None:
                return None
            for vaddr, filesz, offset in loads:
                if vaddr <= strtab < vaddr + filesz:
                    f.seek(strtab - vaddr + offset + soname)
                    name = f.read(256).split(b"\0", 1)[0]
                    return name.decode("utf-8", "replace")
            return None
    except (OSError, struct.error):
        return None


class _LinkMap(Structure):
    # The start of glibc's and musl's struct link_map.
    _fields_ = [("l_addr", c_void_p), ("l_name", c_char_p)]


def loaded_file(lib):
    """The file the dynamic loader opened for ``lib`` (a ctypes.CDLL), or
    None where dlinfo() is not available."""
    try:
        dlinfo = ctypes.CDLL(None).dlinfo
    except (AttributeError, OSError, TypeError):
        return None
    dlinfo.restype = c_int
    dlinfo.argtypes = [c_void_p, c_int, c_void_p]
    lm = POINTER(_LinkMap)()
    if dlinfo(lib._handle, 2, ctypes.byref(lm)) != 0 or not lm:  # RTLD_DI_LINKMAP
        return None
    name = lm.contents.l_name
    return os.fsdecode(name) if name else None


def _version_tuple(version):
    try:
        return tuple(int(x) for x in version.split(".")[:3])
    except ValueError:
        return ()


def _abi_mismatch(lib, where):
    """Why ``lib`` (loaded from ``where``) does not have this binding's ABI,
    or None if it does."""
    path = where if os.sep in where else loaded_file(lib)
    soname = elf_soname(path) if path else None
    if soname is not None:
        if soname == _soname():
            return None
        return "its soname is %s, this binding needs %s" % (soname, _soname())
    # No soname to read (not ELF, or built without one): the version tells.
    etcdc_version = lib.etcdc_version
    etcdc_version.restype = c_char_p
    etcdc_version.argtypes = []
    version = etcdc_version().decode("ascii", "replace")
    if _version_tuple(version) >= ABI_FIRST_VERSION:
        return None
    return "it is etcdc %s, this binding needs %s or later" % (
        version,
        ".".join(map(str, ABI_FIRST_VERSION)),
    )


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
                why = _abi_mismatch(lib, where)
            except AttributeError as e:
                why = "it is not libetcdc (%s)" % e
            if why:
                tried.append("%s: %s is not of this binding's ABI: %s" % (how, where, why))
                continue
            try:
                _declare(lib)
            except AttributeError as e:
                tried.append("%s: %s lacks a function (%s)" % (how, where, e))
                continue
            _path = where
            _lib = lib
            return lib
        raise LibraryNotFound(
            "libetcdc not found; install this package from its wheel or with "
            "pip install ./bindings/python (which builds the library into it), "
            "set ETCDC_LIBRARY to its path, install it (make install), or "
            "build it (cargo build --release). Tried: "
            + ("; ".join(tried) if tried else "nothing (no candidate found)")
        )


def library_path():
    """Where the loaded library came from (a path or a soname)."""
    load()
    return _path


def options(lib, cls):
    """A new options struct of class ``cls`` (ClientOptions, WriteOptions,
    ...) set to its defaults by its ``etcdc_*_options_init()``, passing the
    version this binding's definition of the struct corresponds to. Raises
    the exception for its status if the library refuses that version."""
    opts = cls()
    status = getattr(lib, cls._init_name)(ctypes.byref(opts), cls._version)
    if status:
        from .exceptions import from_status

        raise from_status(lib, status)
    return opts


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
