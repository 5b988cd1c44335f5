//! Errors: one variant per etcd error code, plus the client's own failures.

use std::fmt;

/// The detail etcd sends with an error: `{"errorCode", "message", "cause", "index"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EtcdError {
    /// etcd's error code (100 key not found, 101 compare failed, …).
    #[serde(rename = "errorCode")]
    pub code: u32,
    /// etcd's description of the code.
    #[serde(default)]
    pub message: String,
    /// What the error is about: usually the key, or `[expected != actual]` for a
    /// failed compare.
    #[serde(default)]
    pub cause: String,
    /// etcd's current index when it answered.
    #[serde(default)]
    pub index: u64,
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "etcd error {}: {}", self.code, self.message)?;
        if !self.cause.is_empty() {
            write!(f, " ({})", self.cause)?;
        }
        write!(f, " [index {}]", self.index)
    }
}

/// The message of [`Error::WatchTimeout`]: a zero timeout did not wait.
fn watch_timed_out(timeout: &std::time::Duration, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if timeout.is_zero() {
        f.write_str("watch timed out: no change has come yet (a timeout of 0 does not wait)")
    } else {
        write!(f, "watch timed out: no change within {timeout:?}")
    }
}

/// Declares `Error` with one variant per known etcd code (each carrying the
/// `EtcdError` detail), the client's own variants, and the code → variant map.
macro_rules! errors {
    (
        etcd { $( $(#[$edoc:meta])* $code:literal => $evariant:ident, )* }
        client { $(
            $(#[$cmeta:meta])*
            $cvariant:ident $( ( $($tuple:ty),* ) )? $( { $($field:ident : $fty:ty),* } )? ,
        )* }
    ) => {
        /// Everything a request can fail with.
        ///
        /// etcd's own errors have a variant per code (carrying message, cause and
        /// index); a code this version does not know arrives as [`Error::Etcd`].
        #[derive(Debug, Clone, thiserror::Error)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[$edoc])* #[error("{0}")] $evariant(EtcdError), )*
            /// An etcd error code this version of the client does not know.
            #[error("{0}")]
            Etcd(EtcdError),
            $( $(#[$cmeta])* $cvariant $( ( $($tuple),* ) )? $( { $($field : $fty),* } )? , )*
        }

        impl Error {
            /// The variant for an error etcd sent.
            pub fn from_etcd(e: EtcdError) -> Error {
                match e.code {
                    $( $code => Error::$evariant(e), )*
                    _ => Error::Etcd(e),
                }
            }

            /// etcd's detail, when etcd itself reported the error.
            pub fn etcd(&self) -> Option<&EtcdError> {
                match self {
                    $( Error::$evariant(e) )|* | Error::Etcd(e) => Some(e),
                    Error::Ambiguous { etcd, .. } => etcd.as_ref(),
                    _ => None,
                }
            }
        }
    };
}

errors! {
    etcd {
        /// 100: the key does not exist.
        100 => KeyNotFound,
        /// 101: `prevValue` or `prevIndex` did not match.
        101 => CompareFailed,
        /// 102: the operation needs a value but the key is a directory.
        102 => NotFile,
        /// 104: a path component is a value, not a directory.
        104 => NotDir,
        /// 105: `prevExist=false` (or mkdir) on a key that exists.
        105 => NodeExist,
        /// 107: the root key cannot be written.
        107 => RootReadOnly,
        /// 108: deleting a non-empty directory without `recursive`.
        108 => DirNotEmpty,
        /// 110: wrong user name or password, or the user lacks permission for
        /// this request. etcd answers all three alike (HTTP 401, "Insufficient
        /// credentials"), for the keys and the auth API.
        110 => Unauthorized,
        /// 200: a value is required.
        200 => ValueRequired,
        /// 201: `prevValue` is required.
        201 => PrevValueRequired,
        /// 202: the TTL is not a number.
        202 => TtlNaN,
        /// 203: the index is not a number.
        203 => IndexNaN,
        /// 209: an invalid field.
        209 => InvalidField,
        /// 210: an invalid form.
        210 => InvalidForm,
        /// 211: a value was sent with `refresh`.
        211 => RefreshValue,
        /// 212: `refresh` needs a TTL.
        212 => RefreshTtlRequired,
        /// 300: raft internal error (often a request timed out inside etcd).
        300 => RaftInternal,
        /// 301: a leader election is in progress.
        301 => LeaderElect,
        /// 400: the watcher was cleared by etcd's recovery.
        400 => WatcherCleared,
        /// 401: the requested event index is older than etcd's history.
        401 => EventIndexCleared,
    }
    client {
        /// An argument was rejected before anything was sent.
        #[error("invalid argument: {0}")]
        InvalidArgument(String),
        /// No connection could be made, or it broke before an answer came.
        #[error("connection to {endpoint} failed: {reason}")]
        Connection { endpoint: String, reason: String },
        /// The server's certificate is not signed by a trusted CA (the CA
        /// file's, or the system's store without one), or is expired or
        /// otherwise invalid.
        #[error("untrusted certificate from {endpoint}: {reason}")]
        TlsUntrusted { endpoint: String, reason: String },
        /// The server's certificate is valid, but not for the host name (or
        /// IP) in the endpoint's URL.
        #[error("certificate of {endpoint} is not valid for its host name: {reason}")]
        TlsHostname { endpoint: String, reason: String },
        /// The server refused the client certificate: none was given, or it
        /// is not signed by a CA the server trusts (etcd's `--client-cert-auth`).
        #[error("{endpoint} refused the client certificate (none given, or not trusted): {reason}")]
        TlsClientCert { endpoint: String, reason: String },
        /// Any other TLS failure (e.g. an https URL for an http endpoint).
        #[error("TLS with {endpoint} failed: {reason}")]
        Tls { endpoint: String, reason: String },
        /// The request did not complete within the client's timeout.
        #[error("request to {endpoint} timed out")]
        Timeout { endpoint: String },
        /// A write may or may not have been applied: it was sent, and no
        /// certain answer came: the connection broke or timed out before
        /// etcd answered, or etcd itself answered that it does not know
        /// (a 5xx, such as its 300 "raft internal error" after its own
        /// request timeout; `etcd` then holds its detail). Sending it again
        /// could apply it twice; read the key to learn its state.
        #[error("outcome unknown: the request to {endpoint} may have been applied ({reason})")]
        Ambiguous { endpoint: String, reason: String, etcd: Option<EtcdError> },
        /// etcd answered a v3 call with a gRPC status other than OK: `code`
        /// says what kind of failure (`NotFound` for a lease that does not
        /// exist, `OutOfRange` for a compacted revision, `PermissionDenied`,
        /// `Unauthenticated`…), `message` is etcd's text.
        #[error("{endpoint} answered {code}: {message}")]
        Grpc { code: crate::v3::Code, message: String, endpoint: String },
        /// A member answered a linearizable read with a raft term older than
        /// one the client already saw: it is cut off from the cluster's
        /// majority. Reads move on to another member; this is the error only
        /// when no member did better.
        #[error("{endpoint} is behind the cluster (raft term {term}, the cluster is at {seen} or later)")]
        StaleMember { endpoint: String, term: u64, seen: u64 },
        /// A member answered for another cluster than the one required.
        #[error("{endpoint} belongs to cluster {found}, not {expected}")]
        ClusterIdMismatch { endpoint: String, expected: String, found: String },
        /// The server's answer could not be understood (bad JSON, bad header…).
        /// For a write, a success status whose body could not be read still
        /// means etcd applied it.
        #[error("protocol error: {0}")]
        Protocol(String),
        /// The server answered `/v2/keys` with a plain 404: it has no v2 API
        /// (etcd 3.4/3.5 without `--enable-v2`, or etcd 3.6+).
        #[error("v2 API not enabled on this server ({endpoint})")]
        V2NotEnabled { endpoint: String },
        /// An HTTP status the client does not expect, without an etcd error body.
        #[error("unexpected HTTP status {status}: {body}")]
        HttpStatus { status: u16, body: String },
        /// A redirect the client did not follow (see `allow_redirect`).
        #[error("redirect ({status}) to {location} not followed")]
        Redirect { status: u16, location: String },
        /// The response body is larger than the client accepts.
        #[error("response larger than {limit} bytes")]
        ResponseTooLarge { limit: u64 },
        /// A watch saw no change within its own timeout (distinct from
        /// [`Error::Timeout`], a request that could not complete).
        #[error(fmt = watch_timed_out)]
        WatchTimeout(std::time::Duration),
        /// The watcher was cancelled (from any thread) through its
        /// [`Canceller`](crate::Canceller).
        #[error("cancelled")]
        Cancelled,
        /// A v3 watch had to start (or resume, after a failover) at a
        /// revision etcd compacted: the changes before `revision` are lost
        /// to it. Re-read, and watch from the read's revision + 1.
        #[error("the watch's revision was compacted: etcd keeps changes from revision {revision} on")]
        Compacted { revision: i64 },
        /// A lock or leadership was not acquired within the time given; a
        /// lock contender's own key was removed.
        #[error("not acquired within {0:?}")]
        AcquireTimeout(std::time::Duration),
        /// The lock's key is gone: its TTL ran out (or someone deleted it), so
        /// the lock is no longer held, whatever this process believed.
        #[error("lock expired: its key {0} is gone")]
        LockExpired(String),
        /// The operation needs a held lock (or leadership), and it is not held.
        #[error("not held: {0}")]
        NotHeld(String),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
