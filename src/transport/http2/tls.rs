//! The TLS socket of an `https` connection: the handshake (ALPN `h2`), and
//! reading and writing through rustls from two sides at once.
//!
//! The reader thread reads raw bytes from the TCP socket holding no lock
//! (so a shutdown from another thread wakes it, and writers are never
//! kept waiting on the network), then decrypts them under the TLS lock.
//! The connection's writer (one thread at a time: see
//! [`super::connection`]) encrypts under the TLS lock and writes the sealed
//! records after releasing it: one writer at a time keeps records in the
//! order they were sealed. Nothing blocks on the
//! network while holding the TLS lock.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::ClientConnection;

use super::{CallError, H2Tls, Reason, TlsKind};
use crate::transport::tls::{classify_rustls, io_rustls_error, is_handshake_break};

/// Plaintext sealed per turn of the TLS lock (a TLS record's worth).
const CHUNK: usize = 16 << 10;

/// A TCP socket with a TLS session over it.
pub(crate) struct TlsSocket {
    tcp: TcpStream,
    tls: Mutex<Session>,
}

impl std::fmt::Debug for TlsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSocket")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

struct Session {
    conn: ClientConnection,
    /// Received records not yet given to rustls (it takes them as its
    /// plaintext buffer allows).
    raw: Vec<u8>,
}

fn lock(m: &Mutex<Session>) -> MutexGuard<'_, Session> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A rustls error as an I/O error (so [`reason`] finds it again).
fn io_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Session {
    /// Decrypted bytes into `buf`: `Some(0)` once the server sent
    /// close_notify, `None` when more records are needed.
    fn plaintext(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.raw.is_empty() {
                return Ok(None);
            }
            let mut rd = &self.raw[..];
            let n = self.conn.read_tls(&mut rd)?;
            if n == 0 {
                return Err(io::Error::other("TLS: received records not accepted"));
            }
            self.raw.drain(..n);
            self.conn.process_new_packets().map_err(io_error)?;
        }
    }
}

impl TlsSocket {
    /// Reads decrypted bytes (`Ok(0)`: the server closed the connection).
    /// Only the reader thread reads.
    pub(super) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = lock(&self.tls).plaintext(buf)? {
                return Ok(n);
            }
            // The raw read, outside the lock.
            let n = (&self.tcp).read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            lock(&self.tls).raw.extend_from_slice(&buf[..n]);
        }
    }

    /// Encrypts and writes `bytes`, and whatever rustls has to send (an
    /// empty `bytes` just sends that). Only the connection's writer (one
    /// thread at a time) calls it.
    pub(super) fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        let mut sealed = Vec::with_capacity(rest.len().min(CHUNK) + 64);
        loop {
            {
                let mut s = lock(&self.tls);
                let take = rest.len().min(CHUNK);
                if take > 0 {
                    s.conn.writer().write_all(&rest[..take])?;
                    rest = &rest[take..];
                }
                while s.conn.wants_write() {
                    s.conn.write_tls(&mut sealed)?;
                }
            }
            if !sealed.is_empty() {
                (&self.tcp).write_all(&sealed)?;
                sealed.clear();
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Whether rustls has records to send of its own (e.g. answering a
    /// key update): then the reader has them written.
    pub(super) fn wants_write(&self) -> bool {
        lock(&self.tls).conn.wants_write()
    }

    pub(super) fn shutdown(&self) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }

    pub(super) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(t)
    }
}

/// Why an I/O error of a TLS socket happened: a TLS failure (told apart),
/// or `Closed` with `what` and the error.
pub(super) fn reason(e: &io::Error, endpoint: &str, what: &str) -> Reason {
    match io_rustls_error(e) {
        Some(tls) => Reason::from_tls_error(classify_rustls(tls, endpoint)),
        None => Reason::Closed(format!("{what}: {e}")),
    }
}

/// Does the TLS handshake on `tcp` with `host` (as in the origin) by
/// `deadline`, and checks that the server selected HTTP/2. Every failure
/// is `NotSent`. `write_timeout` is set on the socket afterwards.
pub(super) fn handshake(
    tcp: TcpStream,
    host: &str,
    origin: &str,
    tls: &H2Tls,
    deadline: Instant,
    write_timeout: Duration,
) -> Result<TlsSocket, CallError> {
    let not_sent = |r: Reason| CallError::NotSent(r);
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(literal.to_owned()).map_err(|e| {
        not_sent(Reason::Connect(format!(
            "{host} cannot be checked against a certificate: {e}"
        )))
    })?;
    let mut conn = ClientConnection::new(tls.0.clone(), name)
        .map_err(|e| not_sent(Reason::from_tls_error(classify_rustls(&e, origin))))?;
    // Writers drain it at every chunk: no limit needed.
    conn.set_buffer_limit(None);
    let failed = |e: io::Error| {
        if io_rustls_error(&e).is_some() {
            reason(&e, origin, "TLS handshake")
        } else if is_handshake_break(&e) {
            Reason::Tls {
                kind: TlsKind::Other,
                endpoint: origin.to_owned(),
                reason: "the server closed the connection during the TLS handshake \
                         (is this an http endpoint?)"
                    .into(),
            }
        } else if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            Reason::Connect("the TLS handshake timed out".into())
        } else {
            Reason::Connect(format!("TLS handshake: {e}"))
        }
    };
    let mut io = &tcp;
    while conn.is_handshaking() || conn.wants_write() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(not_sent(Reason::Connect(
                "the TLS handshake timed out".into(),
            )));
        }
        tcp.set_read_timeout(Some(left))
            .and_then(|()| tcp.set_write_timeout(Some(left)))
            .map_err(|e| not_sent(Reason::Connect(e.to_string())))?;
        if conn.is_handshaking() {
            conn.complete_io(&mut io).map_err(|e| not_sent(failed(e)))?;
        } else {
            conn.write_tls(&mut io).map_err(|e| not_sent(failed(e)))?;
        }
    }
    if conn.alpn_protocol() != Some(b"h2") {
        let offered = match conn.alpn_protocol() {
            Some(p) => format!("it chose {:?}", String::from_utf8_lossy(p)),
            None => "it chose no protocol".into(),
        };
        return Err(not_sent(Reason::Connect(format!(
            "{origin} did not agree to HTTP/2 over TLS (ALPN h2; {offered}): \
             not an etcd client port serving gRPC?"
        ))));
    }
    tcp.set_write_timeout(Some(write_timeout))
        .map_err(|e| not_sent(Reason::Connect(e.to_string())))?;
    Ok(TlsSocket {
        tcp,
        tls: Mutex::new(Session {
            conn,
            raw: Vec::new(),
        }),
    })
}
