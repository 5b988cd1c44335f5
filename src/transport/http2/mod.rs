//! HTTP/2 client connections (RFC 9113) on blocking sockets, for etcd's v3
//! API over gRPC ([`crate::transport::grpc`]).
//!
//! One [`H2Connection`] carries any number of concurrent calls from any
//! number of threads. Writers (the calling threads, and the reader thread
//! for its control frames) queue whole frames in one outbox; whoever finds
//! no write under way writes everything queued, including what others
//! queue meanwhile, so several threads' frames share one write. One
//! **reader thread** per connection reads every frame and hands each
//! stream's headers and data to its caller, who waits on a condition
//! variable of its own: woken once for all the frames of one read, after
//! the reader has released the shared state. The reader
//! also answers PINGs and SETTINGS, applies WINDOW_UPDATEs and GOAWAY,
//! tops up the connection's receive window, and sends keepalive PINGs
//! while calls are open. Because the reader is always there, deadlines and
//! cancellation are a wait with a timeout and a wake-up: a blocked call
//! returns within milliseconds of its deadline or of a [`CancelToken`]
//! being cancelled from another thread, and the stream is reset
//! (RST_STREAM CANCEL) so etcd stops working on it.
//!
//! No runtime, no thread pool: the reader thread exists while its
//! connection is open and ends when it closes (dropped, broken, GOAWAY'd
//! and drained).
//!
//! Modules: [`frame`] (parsing and encoding frames), [`hpack`] (header
//! compression), [`flow`] (window accounting), [`connection`] (the
//! connection, its writer side and its reader thread), [`stream`] (a call's
//! handle and [`CancelToken`]).
//!
//! # What a failure means ([`CallError`])
//!
//! The failover rule above needs to know whether a request may have taken
//! effect:
//! - [`CallError::NotSent`]: nothing of the call reached etcd, or etcd
//!   said it did not process it (a GOAWAY whose last stream id is below the
//!   call's, RST_STREAM REFUSED_STREAM), or the connection could not be
//!   made. Safe to send again, to this member or another.
//! - [`CallError::MaybeSent`]: the request was (at least partly) written
//!   and no complete answer came: the connection broke, the deadline
//!   passed, etcd reset the stream. A write is then ambiguous.
//! - [`CallError::Cancelled`]: a [`CancelToken`] was cancelled; `sent`
//!   says whether the request had been written.
//! - [`CallError::Status`]: etcd answered with a gRPC status.
//! - [`CallError::Protocol`]: etcd answered, but not in a way we can read.
//! - [`CallError::TooLarge`]: the answer is over the configured limit.
//! - [`CallError::Invalid`]: refused before sending (a bad header value).
//!
//! # Fork
//!
//! A connection belongs to the fork generation of the process that opened
//! it ([`crate::transport::connection::generation`]). In a forked child its
//! reader thread does not exist and its locks may be held by threads that
//! do not exist either, so every call on an inherited connection returns
//! at once, touching nothing, with `NotSent(Reason::Forked)`: the layer
//! above then drops it and opens a new connection (its own, with its own
//! reader thread). Dropping an inherited connection leaks it: no lock
//! taken, no frame written, the socket neither shut down nor closed (the
//! parent still uses it).
//!
//! # TLS
//!
//! `https` origins are HTTP/2 over TLS, ALPN `h2` (as etcd serves gRPC on
//! an https client port), with the client's TLS settings ([`Config::tls`]:
//! the same CA file or system store, client certificate and verification
//! as the v2 transport; the system's store when none is given). The
//! reader thread reads raw bytes outside any lock and decrypts them under
//! the socket's TLS lock; the writer (one thread at a time) encrypts under
//! it and writes the records outside it (so records go out in the order
//! they were sealed). A failed handshake is `NotSent(Reason::Tls)`,
//! told apart as the v2 transport does ([`Reason::tls_error`]: untrusted
//! certificate, wrong host name, client certificate refused, other); a
//! server that does not select `h2` is `NotSent(Reason::Connect)`.

pub(crate) mod connection;
pub(crate) mod flow;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod stream;
pub(crate) mod tls;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use connection::H2Connection;
pub use stream::{CancelToken, H2Stream};

/// Settings of a connection. [`Default`] suits etcd.
#[derive(Debug, Clone)]
pub struct Config {
    /// Time to connect and to receive the server's SETTINGS.
    pub connect_timeout: Duration,
    /// The largest gRPC message accepted from the server (256 MiB, as the
    /// v2 client's `max_response_bytes`).
    pub max_message_bytes: usize,
    /// The largest header list accepted (name + value + 32 per field),
    /// advertised as SETTINGS_MAX_HEADER_LIST_SIZE.
    pub max_header_list_bytes: usize,
    /// The receive window of each stream (etcd sends that much without
    /// waiting for us).
    pub stream_window: u32,
    /// The receive window of the connection.
    pub connection_window: u32,
    /// While calls are open, a PING after this long without anything from
    /// the server; `None`: no keepalive pings. At least 5 s (etcd's
    /// `--grpc-keepalive-min-time`: closer pings get a GOAWAY
    /// `too_many_pings`).
    pub keepalive_interval: Option<Duration>,
    /// A PING not answered within this closes the connection; it also
    /// bounds a write blocked on a server that stopped reading.
    pub keepalive_timeout: Duration,
    /// TLS for `https` origins ([`Config::with_tls`]); `None`: the
    /// system's CA store, no client certificate.
    pub tls: Option<H2Tls>,
}

/// The TLS settings of HTTP/2 connections: a rustls configuration with
/// ALPN `h2`, made from the client's TLS settings.
#[derive(Clone)]
pub struct H2Tls(pub(crate) Arc<rustls::ClientConfig>);

impl fmt::Debug for H2Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Tls")
            .field("client_cert", &self.0.client_auth_cert_resolver.has_certs())
            .finish_non_exhaustive()
    }
}

impl H2Tls {
    /// From the client's TLS settings.
    pub(crate) fn from_client(tls: &crate::transport::tls::Tls) -> H2Tls {
        H2Tls(tls.h2_client_config())
    }
}

impl Config {
    /// This configuration with TLS set up as the client builder sets it
    /// up: trust `ca_file` (the system's store without one), present a
    /// client certificate chain and key, or accept any server certificate
    /// (testing only). Every file is checked now, as `ClientBuilder::build`
    /// does.
    pub fn with_tls(
        mut self,
        ca_file: Option<&Path>,
        client_cert: Option<(&Path, &Path)>,
        accept_invalid_certs: bool,
    ) -> crate::Result<Config> {
        let options = crate::transport::tls::TlsOptions {
            ca_file: ca_file.map(Path::to_path_buf),
            client_cert: client_cert.map(|(c, k)| (c.to_path_buf(), k.to_path_buf())),
            accept_invalid_certs,
        };
        let tls = crate::transport::tls::config(&options, true)?;
        self.tls = Some(H2Tls::from_client(&tls));
        Ok(self)
    }
}

/// The closest keepalive pings may be.
pub const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: Duration::from_secs(5),
            max_message_bytes: 256 << 20,
            max_header_list_bytes: 64 << 10,
            stream_window: 4 << 20,
            connection_window: 64 << 20,
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_timeout: Duration::from_secs(20),
            tls: None,
        }
    }
}

/// Why a call did not get an answer (see [`CallError::NotSent`] and
/// [`CallError::MaybeSent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The deadline passed.
    Timeout,
    /// The connection could not be made (refused, unreachable, no HTTP/2
    /// server there).
    Connect(String),
    /// The connection closed or broke.
    Closed(String),
    /// The server said GOAWAY (its code and debug text).
    GoAway { code: u32, debug: String },
    /// The server reset the stream with this HTTP/2 error code.
    Reset(u32),
    /// The server broke the protocol; the connection was closed.
    Protocol(String),
    /// The connection was opened before this process forked: it is the
    /// parent's. Open a new one.
    Forked,
    /// The connection has used up its stream ids. Open a new one.
    StreamIdsExhausted,
    /// The caller gave up waiting for the answer, for this reason (see
    /// [`crate::transport::grpc::WaitCheck`]); the stream was reset.
    Abandoned(String),
    /// TLS failed (in the handshake, or a record or alert from the
    /// server): see [`Reason::tls_error`].
    Tls {
        kind: TlsKind,
        endpoint: String,
        reason: String,
    },
}

/// The kinds of TLS failure the client tells apart (as
/// [`crate::Error`]'s TLS variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsKind {
    /// [`crate::Error::TlsUntrusted`]: the server's certificate is not
    /// trusted.
    Untrusted,
    /// [`crate::Error::TlsHostname`]: not valid for the host name.
    Hostname,
    /// [`crate::Error::TlsClientCert`]: the server refused our client
    /// certificate (or its absence).
    ClientCert,
    /// [`crate::Error::Tls`]: anything else.
    Other,
}

impl Reason {
    /// The reason for a TLS error of the client ([`crate::Error`]'s TLS
    /// variants); any other error is a `Connect` with its text.
    pub(crate) fn from_tls_error(e: crate::Error) -> Reason {
        use crate::Error as E;
        let (kind, endpoint, reason) = match e {
            E::TlsUntrusted { endpoint, reason } => (TlsKind::Untrusted, endpoint, reason),
            E::TlsHostname { endpoint, reason } => (TlsKind::Hostname, endpoint, reason),
            E::TlsClientCert { endpoint, reason } => (TlsKind::ClientCert, endpoint, reason),
            E::Tls { endpoint, reason } => (TlsKind::Other, endpoint, reason),
            other => return Reason::Connect(other.to_string()),
        };
        Reason::Tls {
            kind,
            endpoint,
            reason,
        }
    }

    /// A TLS failure as the client reports it ([`crate::Error::TlsUntrusted`],
    /// [`TlsHostname`](crate::Error::TlsHostname),
    /// [`TlsClientCert`](crate::Error::TlsClientCert) or
    /// [`Tls`](crate::Error::Tls)); `None` for other reasons.
    pub fn tls_error(&self) -> Option<crate::Error> {
        let Reason::Tls {
            kind,
            endpoint,
            reason,
        } = self
        else {
            return None;
        };
        let (endpoint, reason) = (endpoint.clone(), reason.clone());
        Some(match kind {
            TlsKind::Untrusted => crate::Error::TlsUntrusted { endpoint, reason },
            TlsKind::Hostname => crate::Error::TlsHostname { endpoint, reason },
            TlsKind::ClientCert => crate::Error::TlsClientCert { endpoint, reason },
            TlsKind::Other => crate::Error::Tls { endpoint, reason },
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Timeout => f.write_str("deadline passed"),
            Reason::Connect(e) => write!(f, "cannot connect: {e}"),
            Reason::Closed(e) => write!(f, "connection closed: {e}"),
            Reason::GoAway { code, debug } => {
                write!(f, "server sent GOAWAY {}", frame::error_name(*code))?;
                if !debug.is_empty() {
                    write!(f, " ({debug})")?;
                }
                Ok(())
            }
            Reason::Reset(code) => {
                write!(
                    f,
                    "stream reset by the server: {}",
                    frame::error_name(*code)
                )
            }
            Reason::Protocol(e) => write!(f, "HTTP/2 protocol error: {e}"),
            Reason::Abandoned(why) => write!(f, "gave up waiting for the answer: {why}"),
            Reason::Forked => f.write_str(
                "the connection belongs to the parent process (opened before fork): open a new one",
            ),
            Reason::StreamIdsExhausted => {
                f.write_str("the connection has used all its stream ids: open a new one")
            }
            Reason::Tls { .. } => match self.tls_error() {
                Some(e) => write!(f, "{e}"),
                None => Ok(()),
            },
        }
    }
}

/// How a call failed; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Certainly not processed by the server: safe to send again.
    NotSent(Reason),
    /// Written, no complete answer: may have taken effect.
    MaybeSent(Reason),
    /// Cancelled through a [`CancelToken`]; `sent`: the request had been
    /// (at least partly) written.
    Cancelled { sent: bool },
    /// The server answered with this status.
    Status(crate::transport::grpc::GrpcStatus),
    /// The server answered in a way that cannot be read.
    Protocol(String),
    /// A message from the server is larger than `limit` bytes.
    TooLarge { limit: usize },
    /// Refused before anything was sent (e.g. a header value with a
    /// newline).
    Invalid(String),
}

impl CallError {
    /// Whether the request may have reached the server (and, for a write,
    /// taken effect).
    pub fn maybe_sent(&self) -> bool {
        match self {
            CallError::NotSent(_) | CallError::Invalid(_) => false,
            CallError::Cancelled { sent } => *sent,
            _ => true,
        }
    }
}

impl CallError {
    /// The TLS failure behind this error, as the client reports it (see
    /// [`Reason::tls_error`]).
    pub fn tls_error(&self) -> Option<crate::Error> {
        match self {
            CallError::NotSent(r) | CallError::MaybeSent(r) => r.tls_error(),
            _ => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotSent(r) => write!(f, "not sent: {r}"),
            CallError::MaybeSent(r) => write!(f, "no answer: {r}"),
            CallError::Cancelled { .. } => f.write_str("cancelled"),
            CallError::Status(s) => write!(f, "{s}"),
            CallError::Protocol(e) => write!(f, "protocol error: {e}"),
            CallError::TooLarge { limit } => write!(f, "message larger than {limit} bytes"),
            CallError::Invalid(e) => write!(f, "invalid request: {e}"),
        }
    }
}

impl std::error::Error for CallError {}
