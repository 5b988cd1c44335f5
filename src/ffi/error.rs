//! Statuses, and the detail of the last failure on each thread.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};

use crate::error::{Error, EtcdError};

/// What an etcdc function returns: `ETCDC_OK` (0) or why it failed.
///
/// etcd's own errors keep etcd's numbers (100–401), so they can be compared
/// with the etcd documentation; the client's own failures are numbered from
/// 1000. Numbers never change once released. `etcdc_status_str()` describes
/// each; `etcdc_error_last()` has the detail of the last failure.
///
/// What a status says of a write (any call that changes etcd: write,
/// delete, compare-and-swap, mkdir, refresh, member and auth changes):
///
/// | status | the write was |
/// |---|---|
/// | `ETCDC_OK` | applied |
/// | etcd's 1xx and 2xx (`KEY_NOT_FOUND`, `COMPARE_FAILED`, `NODE_EXIST`, …), `UNAUTHORIZED`, `HTTP_STATUS` (a 4xx), `REDIRECT` | refused by etcd: not applied |
/// | `AMBIGUOUS` | sent, and no certain answer: perhaps applied. The connection broke or timed out after sending, or etcd answered that it could not complete it (a 5xx, e.g. its 300 "raft internal error": `etcd_code` says which). Read before retrying a compare-and-swap or an append. |
/// | `CONNECTION`, `TIMEOUT` | not sent: no member could be reached (refused, unreachable, the connection or the time limit ran out before the request left) |
/// | `INVALID_ARGUMENT`, `TLS*`, `CLUSTER_ID_MISMATCH` | not sent (refused before sending; a member of another cluster is checked before it gets a first write) |
/// | `PROTOCOL` | an answer that could not be read: a 2xx means applied; anything else is reported as `AMBIGUOUS` |
/// | `RESPONSE_TOO_LARGE` | unknown (etcd answered, the answer was not read); on v3, reported as `AMBIGUOUS` |
/// | `GRPC_*` (v3: etcd answered with a gRPC status) | refused by etcd: not applied (etcd's `UNAVAILABLE` and `DEADLINE_EXCEEDED` on a write are `AMBIGUOUS`, but its "no leader" refusal moves on to the next member) |
///
/// etcd's 300 and 301 on a write are therefore `AMBIGUOUS`; on a read they
/// are themselves (after every member was tried).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_status {
    /// Success.
    ETCDC_OK = 0,
    /// etcd 100: the key does not exist.
    ETCDC_ERR_KEY_NOT_FOUND = 100,
    /// etcd 101: prev_value / prev_index did not match.
    ETCDC_ERR_COMPARE_FAILED = 101,
    /// etcd 102: the key is a directory (a value was expected).
    ETCDC_ERR_NOT_FILE = 102,
    /// etcd 104: a path component is a value, not a directory.
    ETCDC_ERR_NOT_DIR = 104,
    /// etcd 105: the key already exists.
    ETCDC_ERR_NODE_EXIST = 105,
    /// etcd 107: the root is read only.
    ETCDC_ERR_ROOT_READ_ONLY = 107,
    /// etcd 108: the directory is not empty.
    ETCDC_ERR_DIR_NOT_EMPTY = 108,
    /// etcd 110 (HTTP 401), for the keys and the auth API: wrong user name
    /// or password, no credentials where guest access is revoked, or a user
    /// without permission for this request. etcd answers all of these alike,
    /// so the client cannot tell them apart.
    ETCDC_ERR_UNAUTHORIZED = 110,
    /// etcd 200: a value is required.
    ETCDC_ERR_VALUE_REQUIRED = 200,
    /// etcd 201: prev_value is required.
    ETCDC_ERR_PREV_VALUE_REQUIRED = 201,
    /// etcd 202: the TTL is not a number.
    ETCDC_ERR_TTL_NAN = 202,
    /// etcd 203: the index is not a number.
    ETCDC_ERR_INDEX_NAN = 203,
    /// etcd 209: invalid field.
    ETCDC_ERR_INVALID_FIELD = 209,
    /// etcd 210: invalid form.
    ETCDC_ERR_INVALID_FORM = 210,
    /// etcd 211: a value was given with refresh.
    ETCDC_ERR_REFRESH_VALUE = 211,
    /// etcd 212: refresh needs a TTL.
    ETCDC_ERR_REFRESH_TTL_REQUIRED = 212,
    /// etcd 300: raft internal error (often a timeout inside etcd). Only
    /// for reads: on a write it is `ETCDC_ERR_AMBIGUOUS`.
    ETCDC_ERR_RAFT_INTERNAL = 300,
    /// etcd 301: a leader election is in progress. Only for reads: on a
    /// write it is `ETCDC_ERR_AMBIGUOUS`.
    ETCDC_ERR_LEADER_ELECT = 301,
    /// etcd 400: the watcher was cleared by etcd's recovery.
    ETCDC_ERR_WATCHER_CLEARED = 400,
    /// etcd 401: the event index is older than etcd's history.
    ETCDC_ERR_EVENT_INDEX_CLEARED = 401,
    /// An argument was rejected before anything was sent (NULL, invalid
    /// UTF-8, a bad key, an options struct of an unknown version…).
    ETCDC_ERR_INVALID_ARGUMENT = 1000,
    /// No connection could be made to any member, or (for a read) it broke
    /// before an answer came. For a write: not sent (a write that may have
    /// left is `ETCDC_ERR_AMBIGUOUS`).
    ETCDC_ERR_CONNECTION = 1001,
    /// The request did not complete within the client's time limit. For a
    /// write: not sent (a write that may have left is
    /// `ETCDC_ERR_AMBIGUOUS`).
    ETCDC_ERR_TIMEOUT = 1002,
    /// The server's answer could not be understood (bad JSON, bad header).
    ETCDC_ERR_PROTOCOL = 1003,
    /// The server has no v2 API (etcd without `--enable-v2`, or 3.6+).
    ETCDC_ERR_V2_NOT_ENABLED = 1004,
    /// An HTTP status the client does not expect, with no etcd error body.
    ETCDC_ERR_HTTP_STATUS = 1005,
    /// A redirect that was not followed.
    ETCDC_ERR_REDIRECT = 1006,
    /// The response is larger than the client's limit.
    ETCDC_ERR_RESPONSE_TOO_LARGE = 1007,
    /// An etcd error code this library does not know; the code is in
    /// `etcdc_error_last()->etcd_code`.
    ETCDC_ERR_ETCD_OTHER = 1008,
    /// An internal error: a bug in etcdc, caught before it could crash the
    /// program. The handles passed to the call remain usable.
    ETCDC_ERR_PANIC = 1009,
    /// A watch saw no change within its own timeout (not a failure of the
    /// connection: the watch can simply be repeated).
    ETCDC_ERR_WATCH_TIMEOUT = 1010,
    /// The watcher or lock wait was cancelled from another thread, or a
    /// callback asked to stop (`etcdc_v3_snapshot()`).
    ETCDC_ERR_CANCELLED = 1011,
    /// A lock or leadership was not acquired within the time given (a lock
    /// contender's own key was removed: no trace is left behind).
    ETCDC_ERR_ACQUIRE_TIMEOUT = 1012,
    /// The lock's key is gone (its TTL ran out): the lock is not held.
    ETCDC_ERR_LOCK_EXPIRED = 1013,
    /// The operation needs a held lock, or leadership, that is not held.
    ETCDC_ERR_NOT_HELD = 1014,
    /// A write may or may not have been applied: it was sent, and the
    /// connection broke or timed out before etcd answered, or etcd answered
    /// that it could not complete it (a 5xx such as its 300 after its own
    /// request timeout; `etcdc_error_last()->etcd_code` is then etcd's
    /// code). It is not sent again on its own (that could apply it twice):
    /// read the key to learn its state.
    ETCDC_ERR_AMBIGUOUS = 1015,
    /// A member answered for another cluster than the expected one (or than
    /// the one this client talked to first).
    ETCDC_ERR_CLUSTER_ID_MISMATCH = 1016,
    /// The server's certificate is not signed by a trusted CA (the
    /// `ca_file`'s, or the system's store without one), or is expired or
    /// otherwise invalid.
    ETCDC_ERR_TLS_UNTRUSTED = 1017,
    /// The server's certificate is valid, but not for the host name (or IP)
    /// in the endpoint's URL.
    ETCDC_ERR_TLS_HOSTNAME = 1018,
    /// The server refused the client certificate: none was given, or it is
    /// not signed by a CA the server trusts (etcd's `--client-cert-auth`).
    ETCDC_ERR_TLS_CLIENT_CERT = 1019,
    /// Any other TLS failure (e.g. an `https` URL for an `http` endpoint).
    ETCDC_ERR_TLS = 1020,
    /// A member answered a linearizable v3 read with a raft term older than
    /// one the client already saw: it is cut off from the cluster's
    /// majority. The read moved on; this is the status only when no member
    /// did better.
    ETCDC_ERR_STALE_MEMBER = 1021,
    /// A v3 watch had to start, or resume after a failover, at a revision
    /// etcd compacted: the changes before the compaction are lost to it.
    /// `etcdc_v3_watcher_compact_revision()` tells the oldest revision etcd
    /// keeps; re-read what you watch and watch again from the read's
    /// revision + 1.
    ETCDC_ERR_COMPACTED = 1022,
    /// etcd answered a v3 call with a gRPC status: 2000 + the gRPC code,
    /// etcd's text in `etcdc_error_last()->server_message`. `CANCELLED`: etcd
    /// cancelled it (shutting down).
    ETCDC_ERR_GRPC_CANCELLED = 2001,
    /// An error etcd did not classify.
    ETCDC_ERR_GRPC_UNKNOWN = 2002,
    /// etcd refused the request: an empty key, a key written twice in one
    /// transaction, too many ops, a wrong password ("authentication
    /// failed"), no user name while auth is on.
    ETCDC_ERR_GRPC_INVALID_ARGUMENT = 2003,
    /// etcd's own deadline passed (on a write: reported as
    /// `ETCDC_ERR_AMBIGUOUS`).
    ETCDC_ERR_GRPC_DEADLINE_EXCEEDED = 2004,
    /// Not found: a lease, a member, a user or a role that does not exist.
    ETCDC_ERR_GRPC_NOT_FOUND = 2005,
    /// Already exists: a user, a role, a member's peer URL.
    ETCDC_ERR_GRPC_ALREADY_EXISTS = 2006,
    /// The user lacks the permission for this request.
    ETCDC_ERR_GRPC_PERMISSION_DENIED = 2007,
    /// A request or its answer over etcd's size limit (`--max-request-bytes`),
    /// or etcd's space quota is exhausted (a NOSPACE alarm).
    ETCDC_ERR_GRPC_RESOURCE_EXHAUSTED = 2008,
    /// etcd's state does not allow it: e.g. authenticate while auth is off,
    /// remove the last member, a lease id already granted.
    ETCDC_ERR_GRPC_FAILED_PRECONDITION = 2009,
    /// Aborted by etcd.
    ETCDC_ERR_GRPC_ABORTED = 2010,
    /// A revision compacted away ("required revision has been compacted")
    /// or in the future.
    ETCDC_ERR_GRPC_OUT_OF_RANGE = 2011,
    /// This etcd does not have the method (an older version).
    ETCDC_ERR_GRPC_UNIMPLEMENTED = 2012,
    /// etcd failed inside.
    ETCDC_ERR_GRPC_INTERNAL = 2013,
    /// etcd cannot serve it now: no leader, stopping, its request timed out
    /// (after every member was tried; on a write: `ETCDC_ERR_AMBIGUOUS`).
    ETCDC_ERR_GRPC_UNAVAILABLE = 2014,
    /// Data lost or corrupted (etcd's corruption alarm).
    ETCDC_ERR_GRPC_DATA_LOSS = 2015,
    /// The auth token is invalid or missing and could not be renewed (the
    /// client renews an expired token on its own and repeats the call once).
    ETCDC_ERR_GRPC_UNAUTHENTICATED = 2016,
}

use etcdc_status::*;

/// The status of a Rust error.
pub(crate) fn status_of(e: &Error) -> etcdc_status {
    match e {
        Error::KeyNotFound(_) => ETCDC_ERR_KEY_NOT_FOUND,
        Error::CompareFailed(_) => ETCDC_ERR_COMPARE_FAILED,
        Error::NotFile(_) => ETCDC_ERR_NOT_FILE,
        Error::NotDir(_) => ETCDC_ERR_NOT_DIR,
        Error::NodeExist(_) => ETCDC_ERR_NODE_EXIST,
        Error::RootReadOnly(_) => ETCDC_ERR_ROOT_READ_ONLY,
        Error::DirNotEmpty(_) => ETCDC_ERR_DIR_NOT_EMPTY,
        Error::Unauthorized(_) => ETCDC_ERR_UNAUTHORIZED,
        Error::ValueRequired(_) => ETCDC_ERR_VALUE_REQUIRED,
        Error::PrevValueRequired(_) => ETCDC_ERR_PREV_VALUE_REQUIRED,
        Error::TtlNaN(_) => ETCDC_ERR_TTL_NAN,
        Error::IndexNaN(_) => ETCDC_ERR_INDEX_NAN,
        Error::InvalidField(_) => ETCDC_ERR_INVALID_FIELD,
        Error::InvalidForm(_) => ETCDC_ERR_INVALID_FORM,
        Error::RefreshValue(_) => ETCDC_ERR_REFRESH_VALUE,
        Error::RefreshTtlRequired(_) => ETCDC_ERR_REFRESH_TTL_REQUIRED,
        Error::RaftInternal(_) => ETCDC_ERR_RAFT_INTERNAL,
        Error::LeaderElect(_) => ETCDC_ERR_LEADER_ELECT,
        Error::WatcherCleared(_) => ETCDC_ERR_WATCHER_CLEARED,
        Error::EventIndexCleared(_) => ETCDC_ERR_EVENT_INDEX_CLEARED,
        Error::Etcd(_) => ETCDC_ERR_ETCD_OTHER,
        Error::InvalidArgument(_) => ETCDC_ERR_INVALID_ARGUMENT,
        Error::Connection { .. } => ETCDC_ERR_CONNECTION,
        Error::Timeout { .. } => ETCDC_ERR_TIMEOUT,
        Error::TlsUntrusted { .. } => ETCDC_ERR_TLS_UNTRUSTED,
        Error::TlsHostname { .. } => ETCDC_ERR_TLS_HOSTNAME,
        Error::TlsClientCert { .. } => ETCDC_ERR_TLS_CLIENT_CERT,
        Error::Tls { .. } => ETCDC_ERR_TLS,
        Error::Protocol(_) => ETCDC_ERR_PROTOCOL,
        Error::V2NotEnabled { .. } => ETCDC_ERR_V2_NOT_ENABLED,
        Error::HttpStatus { .. } => ETCDC_ERR_HTTP_STATUS,
        Error::Redirect { .. } => ETCDC_ERR_REDIRECT,
        Error::ResponseTooLarge { .. } => ETCDC_ERR_RESPONSE_TOO_LARGE,
        Error::WatchTimeout(_) => ETCDC_ERR_WATCH_TIMEOUT,
        Error::Cancelled => ETCDC_ERR_CANCELLED,
        Error::AcquireTimeout(_) => ETCDC_ERR_ACQUIRE_TIMEOUT,
        Error::LockExpired(_) => ETCDC_ERR_LOCK_EXPIRED,
        Error::NotHeld(_) => ETCDC_ERR_NOT_HELD,
        Error::Ambiguous { .. } => ETCDC_ERR_AMBIGUOUS,
        Error::ClusterIdMismatch { .. } => ETCDC_ERR_CLUSTER_ID_MISMATCH,
        Error::StaleMember { .. } => ETCDC_ERR_STALE_MEMBER,
        Error::Compacted { .. } => ETCDC_ERR_COMPACTED,
        Error::Grpc { code, .. } => grpc_status(*code),
    }
}

/// The status of a gRPC code etcd answered with.
fn grpc_status(code: crate::v3::Code) -> etcdc_status {
    use crate::v3::Code as C;
    match code {
        // An OK status is no failure; never reported as one.
        C::Ok | C::Unknown => ETCDC_ERR_GRPC_UNKNOWN,
        C::Cancelled => ETCDC_ERR_GRPC_CANCELLED,
        C::InvalidArgument => ETCDC_ERR_GRPC_INVALID_ARGUMENT,
        C::DeadlineExceeded => ETCDC_ERR_GRPC_DEADLINE_EXCEEDED,
        C::NotFound => ETCDC_ERR_GRPC_NOT_FOUND,
        C::AlreadyExists => ETCDC_ERR_GRPC_ALREADY_EXISTS,
        C::PermissionDenied => ETCDC_ERR_GRPC_PERMISSION_DENIED,
        C::ResourceExhausted => ETCDC_ERR_GRPC_RESOURCE_EXHAUSTED,
        C::FailedPrecondition => ETCDC_ERR_GRPC_FAILED_PRECONDITION,
        C::Aborted => ETCDC_ERR_GRPC_ABORTED,
        C::OutOfRange => ETCDC_ERR_GRPC_OUT_OF_RANGE,
        C::Unimplemented => ETCDC_ERR_GRPC_UNIMPLEMENTED,
        C::Internal => ETCDC_ERR_GRPC_INTERNAL,
        C::Unavailable => ETCDC_ERR_GRPC_UNAVAILABLE,
        C::DataLoss => ETCDC_ERR_GRPC_DATA_LOSS,
        C::Unauthenticated => ETCDC_ERR_GRPC_UNAUTHENTICATED,
    }
}

/// The one table of statuses: each with its description. The compiler
/// checks it against the enum above: the `match` in `listed` names every
/// status exactly once (a missing one does not compile, a repeated one is an
/// unreachable pattern, denied), so no status can lack its own description.
macro_rules! status_table {
    ($($s:ident => $text:literal,)*) => {
        /// Every status, in the enum's order, with its description.
        pub(crate) const STATUSES: &[(etcdc_status, &str)] =
            &[$(($s, concat!($text, "\0")),)*];

        #[deny(unreachable_patterns)]
        #[allow(dead_code)]
        fn listed(s: etcdc_status) {
            match s {
                $($s => (),)*
            }
        }
    };
}

status_table! {
    ETCDC_OK => "success",
    ETCDC_ERR_KEY_NOT_FOUND => "key not found",
    ETCDC_ERR_COMPARE_FAILED => "compare failed",
    ETCDC_ERR_NOT_FILE => "not a file",
    ETCDC_ERR_NOT_DIR => "not a directory",
    ETCDC_ERR_NODE_EXIST => "key already exists",
    ETCDC_ERR_ROOT_READ_ONLY => "root is read only",
    ETCDC_ERR_DIR_NOT_EMPTY => "directory not empty",
    ETCDC_ERR_UNAUTHORIZED => "unauthorized",
    ETCDC_ERR_VALUE_REQUIRED => "value required",
    ETCDC_ERR_PREV_VALUE_REQUIRED => "prevValue required",
    ETCDC_ERR_TTL_NAN => "TTL is not a number",
    ETCDC_ERR_INDEX_NAN => "index is not a number",
    ETCDC_ERR_INVALID_FIELD => "invalid field",
    ETCDC_ERR_INVALID_FORM => "invalid form",
    ETCDC_ERR_REFRESH_VALUE => "value provided on refresh",
    ETCDC_ERR_REFRESH_TTL_REQUIRED => "refresh needs a TTL",
    ETCDC_ERR_RAFT_INTERNAL => "raft internal error",
    ETCDC_ERR_LEADER_ELECT => "leader election in progress",
    ETCDC_ERR_WATCHER_CLEARED => "watcher cleared",
    ETCDC_ERR_EVENT_INDEX_CLEARED => "event index cleared",
    ETCDC_ERR_INVALID_ARGUMENT => "invalid argument",
    ETCDC_ERR_CONNECTION => "connection failed",
    ETCDC_ERR_TIMEOUT => "timed out",
    ETCDC_ERR_PROTOCOL => "protocol error",
    ETCDC_ERR_V2_NOT_ENABLED => "v2 API not enabled on this server",
    ETCDC_ERR_HTTP_STATUS => "unexpected HTTP status",
    ETCDC_ERR_REDIRECT => "redirect not followed",
    ETCDC_ERR_RESPONSE_TOO_LARGE => "response too large",
    ETCDC_ERR_ETCD_OTHER => "etcd error",
    ETCDC_ERR_PANIC => "internal error (panic)",
    ETCDC_ERR_WATCH_TIMEOUT => "watch timed out",
    ETCDC_ERR_CANCELLED => "cancelled",
    ETCDC_ERR_ACQUIRE_TIMEOUT => "not acquired in time",
    ETCDC_ERR_LOCK_EXPIRED => "lock expired",
    ETCDC_ERR_NOT_HELD => "not held",
    ETCDC_ERR_AMBIGUOUS => "outcome unknown (the write may have been applied)",
    ETCDC_ERR_CLUSTER_ID_MISMATCH => "member of another cluster",
    ETCDC_ERR_TLS_UNTRUSTED => "untrusted server certificate",
    ETCDC_ERR_TLS_HOSTNAME => "server certificate not valid for the host name",
    ETCDC_ERR_TLS_CLIENT_CERT => "client certificate refused or missing",
    ETCDC_ERR_TLS => "TLS failure",
    ETCDC_ERR_STALE_MEMBER => "member behind the cluster (older raft term)",
    ETCDC_ERR_COMPACTED => "watch revision compacted",
    ETCDC_ERR_GRPC_CANCELLED => "etcd cancelled the call",
    ETCDC_ERR_GRPC_UNKNOWN => "etcd: unknown error",
    ETCDC_ERR_GRPC_INVALID_ARGUMENT => "etcd: invalid argument",
    ETCDC_ERR_GRPC_DEADLINE_EXCEEDED => "etcd: deadline exceeded",
    ETCDC_ERR_GRPC_NOT_FOUND => "etcd: not found",
    ETCDC_ERR_GRPC_ALREADY_EXISTS => "etcd: already exists",
    ETCDC_ERR_GRPC_PERMISSION_DENIED => "etcd: permission denied",
    ETCDC_ERR_GRPC_RESOURCE_EXHAUSTED => "etcd: resource exhausted (too large, or no space)",
    ETCDC_ERR_GRPC_FAILED_PRECONDITION => "etcd: failed precondition",
    ETCDC_ERR_GRPC_ABORTED => "etcd: aborted",
    ETCDC_ERR_GRPC_OUT_OF_RANGE => "etcd: revision out of range (compacted or future)",
    ETCDC_ERR_GRPC_UNIMPLEMENTED => "etcd: not implemented by this server",
    ETCDC_ERR_GRPC_INTERNAL => "etcd: internal error",
    ETCDC_ERR_GRPC_UNAVAILABLE => "etcd: unavailable",
    ETCDC_ERR_GRPC_DATA_LOSS => "etcd: data loss",
    ETCDC_ERR_GRPC_UNAUTHENTICATED => "etcd: unauthenticated (invalid auth token)",
}

/// The description of a status number, NUL-terminated; "unknown status"
/// for a number that is no status.
fn describe(status: c_int) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s as c_int == status)
        .map_or("unknown status\0", |(_, text)| text)
}

/// Describes a status: a static string, never NULL ("unknown status" for a
/// number that is not a status). Thread-safe; never fails.
#[no_mangle]
pub extern "C" fn etcdc_status_str(status: c_int) -> *const c_char {
    super::boundary(|| describe(status).as_ptr().cast::<c_char>())
}

/// Detail of the last failure of an etcdc call on the calling thread.
///
/// Read it through `etcdc_error_last()`. The strings are borrowed: they stay
/// valid until the next etcdc call that fails on this thread.
#[repr(C)]
pub struct etcdc_error {
    /// The status the failed call returned.
    pub status: etcdc_status,
    /// etcd's errorCode when etcd reported the failure, else 0 (this is how
    /// an unknown etcd code arrives with `ETCDC_ERR_ETCD_OTHER`).
    pub etcd_code: u32,
    /// A message for humans; never NULL.
    pub message: *const c_char,
    /// etcd's "cause" (often the key), or "" when there is none; never NULL.
    pub cause: *const c_char,
    /// etcd's index when it reported the error, else 0.
    pub index: u64,
    /// The HTTP status of an answer the client had no better name for
    /// (`ETCDC_ERR_HTTP_STATUS`: e.g. 404 no such user or member, 409
    /// already exists, 403 the root role), else 0.
    pub http_status: u16,
    /// What the server said about the failure, in its own words, when its
    /// answer carried words: etcd's `message` for its errors ("Key not
    /// found"), the `message` of other error bodies ("No such member"), or
    /// the start of the body of an answer with an unexpected HTTP status.
    /// "" otherwise: the client's own failures, and answers without a
    /// message (a server without the v2 API). Never NULL.
    pub server_message: *const c_char,
}

struct LastError {
    message: CString,
    cause: CString,
    server_message: CString,
    view: etcdc_error,
}

thread_local! {
    static LAST: RefCell<Option<Box<LastError>>> = const { RefCell::new(None) };
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// What a failure's detail consists of.
struct Detail<'a> {
    status: etcdc_status,
    message: &'a str,
    etcd: Option<&'a EtcdError>,
    http_status: u16,
    server_message: &'a str,
}

/// Records the detail of a failure as this thread's last error.
fn set_last(d: Detail<'_>) {
    let mut last = Box::new(LastError {
        message: c_string(d.message),
        cause: c_string(d.etcd.map_or("", |e| e.cause.as_str())),
        server_message: c_string(d.server_message),
        view: etcdc_error {
            status: d.status,
            etcd_code: d.etcd.map_or(0, |e| e.code),
            message: std::ptr::null(),
            cause: std::ptr::null(),
            index: d.etcd.map_or(0, |e| e.index),
            http_status: d.http_status,
            server_message: std::ptr::null(),
        },
    });
    last.view.message = last.message.as_ptr();
    last.view.cause = last.cause.as_ptr();
    last.view.server_message = last.server_message.as_ptr();
    // `try_with`: during thread teardown (an etcdc call from a pthread key
    // destructor) the slot is gone; the detail is dropped then, no panic.
    let _ = LAST.try_with(|l| {
        if let Ok(mut slot) = l.try_borrow_mut() {
            *slot = Some(last);
        }
    });
}

/// Records a caught panic as this thread's last error.
pub(crate) fn set_panic(message: &str) {
    set_last(Detail {
        status: ETCDC_ERR_PANIC,
        message,
        etcd: None,
        http_status: 0,
        server_message: "",
    });
}

/// Records `e` as this thread's last error and returns its status.
pub(crate) fn record(e: &Error) -> etcdc_status {
    let status = status_of(e);
    let (http_status, server_message) = match e {
        Error::HttpStatus { status, body } => (*status, body.as_str()),
        Error::Grpc { message, .. } => (0, message.as_str()),
        _ => (0, e.etcd().map_or("", |etcd| etcd.message.as_str())),
    };
    set_last(Detail {
        status,
        message: &e.to_string(),
        etcd: e.etcd(),
        http_status,
        server_message,
    });
    status
}

/// The detail of the last failed etcdc call on this thread, or NULL if none
/// has failed yet. Borrowed: valid until the next failing etcdc call on this
/// thread; do not free it. Each thread has its own.
#[no_mangle]
pub extern "C" fn etcdc_error_last() -> *const etcdc_error {
    super::boundary(|| {
        LAST.try_with(|l| {
            l.try_borrow()
                .ok()
                .and_then(|slot| slot.as_ref().map(|b| &b.view as *const etcdc_error))
        })
        .ok()
        .flatten()
        .unwrap_or(std::ptr::null())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_status_has_its_own_description() {
        let mut seen = std::collections::HashSet::new();
        for (status, _) in STATUSES {
            // SAFETY: a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(etcdc_status_str(*status as c_int)) };
            let text = text.to_str().unwrap();
            assert_ne!(text, "unknown status", "{status:?}");
            assert!(seen.insert(text), "{status:?} shares its description");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(etcdc_status_str(999)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown status");
    }

    /// The header's enum lists exactly the statuses of the table, with
    /// the same numbers.
    #[test]
    fn the_header_has_every_status() {
        let header = include_str!("../../include/etcdc.h");
        let start = header
            .find("enum etcdc_status {")
            .expect("enum in the header");
        let body = &header[start..start + header[start..].find('}').unwrap()];
        let in_header: Vec<(String, i64)> = body
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').split_once(" = "))
            .map(|(name, n)| (name.to_owned(), n.parse().unwrap()))
            .collect();
        let in_table: Vec<(String, i64)> = STATUSES
            .iter()
            .map(|(s, _)| (format!("{s:?}"), *s as i64))
            .collect();
        assert_eq!(in_header, in_table);
    }
}
