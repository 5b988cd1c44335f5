//! One HTTP/2 connection: opening it, its writer side (whole frames queued
//! in one outbox, written by one thread at a time together with what
//! others queued meanwhile), its reader thread (reads every frame, hands
//! each stream its headers and data, answers PING and SETTINGS, applies
//! WINDOW_UPDATE and GOAWAY, sends keepalive PINGs), and closing it.
//!
//! Locks: `outbox` (the frames to send, in order) is taken before `state`
//! when both are needed, never the other way, and never held while
//! writing; the reader thread collects the frames it must send and the
//! callers it must wake while it holds `state`, and wakes and queues them
//! after releasing it. A TLS socket's own lock ([`super::tls`]) is the
//! innermost: taken last, and never held while waiting on the network.
//!
//! Writing (flat combining): a thread queues its frames in the outbox and,
//! unless another thread is writing already, becomes the writer: it takes
//! everything queued, writes it outside the lock, and goes on until the
//! outbox is empty. A thread that finds a writer at work returns at once:
//! that writer writes its frames before it stops. So requests of several
//! threads, and the reader's PING ACKs and WINDOW_UPDATEs, share writes,
//! and no thread waits for another's write to queue its own.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::flow::{RecvWindow, SendWindow};
use super::frame::{self, ConnError, Frame, Head};
use super::hpack::{self, Field};
use super::tls::TlsSocket;
use super::{CallError, Config, H2Tls, Reason, MIN_KEEPALIVE_INTERVAL};
use crate::transport::connection::{generation, set_keepalive, watch_forks};

/// How long a failing connection waits for the writer at work to finish,
/// to send its GOAWAY.
const GOAWAY_WAIT: Duration = Duration::from_millis(100);

/// The frames we accept: the protocol's default size (we do not raise it).
const MAX_FRAME_IN: usize = frame::DEFAULT_MAX_FRAME as usize;

/// The socket under a connection: plain TCP (h2c) or TLS (see
/// [`super::tls`]: the reader decrypts under the TLS lock, writers
/// encrypt under it, neither holds it while waiting on the network).
#[derive(Debug)]
pub(crate) enum Socket {
    Plain(TcpStream),
    Tls(Box<TlsSocket>),
}

impl Socket {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Plain(s) => (&*s).read(buf),
            Socket::Tls(s) => s.read(buf),
        }
    }

    /// Writes whole frames; only the outbox's writer (one thread) does.
    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Socket::Plain(s) => (&*s).write_all(bytes),
            Socket::Tls(s) => s.write_all(bytes),
        }
    }

    /// Whether the TLS layer has records of its own to send.
    fn wants_write(&self) -> bool {
        match self {
            Socket::Plain(_) => false,
            Socket::Tls(s) => s.wants_write(),
        }
    }

    fn shutdown(&self) {
        match self {
            Socket::Plain(s) => {
                let _ = s.shutdown(Shutdown::Both);
            }
            Socket::Tls(s) => s.shutdown(),
        }
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Plain(s) => s.set_read_timeout(t),
            Socket::Tls(s) => s.set_read_timeout(t),
        }
    }

    /// Why an I/O error (of `what`: read, write) happened: TLS failures
    /// told apart.
    fn reason(&self, e: &io::Error, endpoint: &str, what: &str) -> Reason {
        match self {
            Socket::Plain(_) => Reason::Closed(format!("{what}: {e}")),
            Socket::Tls(_) => super::tls::reason(e, endpoint, what),
        }
    }
}

/// An HTTP/2 connection to one server, shared by any number of threads
/// (`Send + Sync`; hand it around in an `Arc`). See the module doc of
/// [`crate::transport::http2`] for what calls and failures look like.
///
/// Dropping the last handle closes the connection and waits for its
/// reader thread to end (so no thread of the library outlives the client
/// that opened it); open streams keep it alive.
pub struct H2Connection {
    pub(super) inner: Arc<Inner>,
    /// The reader thread, joined on drop (in the process that started it).
    reader: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for H2Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Connection")
            .field("origin", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

/// What the handles, the streams and the reader thread share.
pub(crate) struct Inner {
    /// The fork generation this connection was opened in.
    pub(super) generation: u64,
    socket: Socket,
    pub(super) scheme: &'static str,
    pub(super) authority: String,
    origin: String,
    pub(super) config: Config,
    outbox: Mutex<Outbox>,
    pub(super) state: Mutex<State>,
    /// Openers waiting for a stream slot, and `connect` for SETTINGS.
    pub(super) opened: Condvar,
}

/// Frames to send, queued by any thread, and who writes them (see the
/// module doc).
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Whole frames, in the order they must go out.
    pub(super) buf: Vec<u8>,
    /// Scratch for encoding a header block.
    pub(super) block: Vec<u8>,
    /// The buffer of the last write, kept for the next one.
    spare: Vec<u8>,
    /// A thread is writing: it writes what is queued before it stops.
    writing: bool,
    /// The TLS layer has records of its own to send (an empty write).
    tls: bool,
    /// The highest stream id whose HEADERS were queued.
    pub(super) queued_id: u32,
    /// The highest stream id whose HEADERS a write took (so they may have
    /// reached the server; streams above it did not).
    started_id: u32,
    /// The connection failed: nothing more is written.
    pub(super) closed: bool,
}

/// The server's settings that matter to us.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer {
    pub max_concurrent: usize,
    pub initial_window: i64,
    pub max_frame: usize,
    pub max_header_list: usize,
}

/// Everything the callers and the reader thread share, under one lock.
pub(crate) struct State {
    pub(super) next_id: u32,
    pub(super) streams: HashMap<u32, StreamState>,
    /// Stream slots taken (reserved by an opener, or open), against the
    /// server's MAX_CONCURRENT_STREAMS.
    pub(super) slots: usize,
    pub(super) peer: Peer,
    pub(super) conn_send: SendWindow,
    /// Why the connection is closed, once it is.
    pub(super) closed: Option<Reason>,
    /// A GOAWAY's last stream id, and what to tell the streams above it.
    pub(super) goaway: Option<(u32, Reason)>,
    settings_seen: bool,
    /// Threads waiting on `opened`.
    pub(super) openers: usize,
}

/// What a stream's caller is blocked on, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Not waiting, or already owed a wake-up (see [`StreamState::wake`]).
    No,
    /// In [`super::H2Stream::recv`]: headers, data, trailers, the end, an
    /// error, a cancel.
    Recv,
    /// In [`super::H2Stream::send`]: send window, the end, an error, a
    /// cancel.
    Send,
}

/// The callers to wake, collected while the state lock is held and
/// notified after it is released (so a woken caller does not block at
/// once on the lock its waker still holds). Each waiting caller is added
/// at most once: adding it clears its `waiting`. Dropping notifies what
/// is left, so no wake-up owed is ever lost: declare it before the state
/// guard, which then drops first.
#[derive(Default)]
pub(crate) struct Wakes(Vec<Arc<Condvar>>);

impl Wakes {
    /// Notifies every caller collected (call without the state lock).
    pub(crate) fn notify(&mut self) {
        for cond in self.0.drain(..) {
            // One waiter per stream: its single caller (an H2Stream is
            // used by one thread at a time).
            cond.notify_one();
        }
    }
}

impl Drop for Wakes {
    fn drop(&mut self) {
        self.notify();
    }
}

/// One open stream, as the reader thread fills it in for its caller.
pub(crate) struct StreamState {
    /// Its caller's condition variable (one waiter at most).
    pub cond: Arc<Condvar>,
    /// What its caller waits on `cond` for: while not `No`, news for it
    /// must be followed by a notify ([`wake`](Self::wake)).
    pub waiting: Waiting,
    pub send: SendWindow,
    pub recv: RecvWindow,
    /// The response headers, until taken.
    pub head: Option<Vec<Field>>,
    pub head_seen: bool,
    /// Data received and not yet taken.
    pub data: Vec<u8>,
    pub trailers: Option<Vec<Field>>,
    /// The server ended the stream (END_STREAM).
    pub remote_end: bool,
    /// We ended our side (END_STREAM sent).
    pub local_end: bool,
    /// The call failed: what to report.
    pub error: Option<CallError>,
    pub cancelled: bool,
    pub reset_sent: bool,
    /// Its receiver is asked to return (see `H2Sender::nudge`).
    pub nudged: bool,
}

impl StreamState {
    pub(super) fn new(send: i64, recv: u32) -> StreamState {
        StreamState {
            cond: Arc::new(Condvar::new()),
            waiting: Waiting::No,
            send: SendWindow::new(send),
            recv: RecvWindow::new(recv),
            head: None,
            head_seen: false,
            data: Vec::new(),
            trailers: None,
            remote_end: false,
            local_end: false,
            error: None,
            cancelled: false,
            reset_sent: false,
            nudged: false,
        }
    }

    /// Marks the stream's caller, if it waits, to be woken by `wakes`
    /// (once the state lock is released), and clears `waiting`: from then
    /// until the caller waits again, further news need no other wake-up.
    pub(super) fn wake(&mut self, wakes: &mut Wakes) {
        if self.waiting != Waiting::No {
            self.waiting = Waiting::No;
            wakes.0.push(self.cond.clone());
        }
    }

    /// As [`wake`](Self::wake), only for a caller waiting in `recv`
    /// (news that matter to nobody else: headers, data).
    fn wake_receiver(&mut self, wakes: &mut Wakes) {
        if self.waiting == Waiting::Recv {
            self.wake(wakes);
        }
    }

    /// As [`wake`](Self::wake), only for a caller waiting in `send` (more
    /// send window).
    fn wake_sender(&mut self, wakes: &mut Wakes) {
        if self.waiting == Waiting::Send {
            self.wake(wakes);
        }
    }

    /// Fails the stream with `error` unless it already ended or failed.
    fn fail(&mut self, error: CallError, wakes: &mut Wakes) {
        if self.error.is_none() && !self.remote_end {
            self.error = Some(error);
        }
        self.wake(wakes);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding it (none is expected) leaves consistent plain
    // data: go on with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `scheme://host:port` → (scheme, host, port).
fn split_origin(origin: &str) -> Option<(&'static str, &str, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = match scheme {
        "http" => "http",
        "https" => "https",
        _ => return None,
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return None;
    }
    let default = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse().ok()?),
        _ => (rest, default),
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme, host, port))
}

/// TLS for an `https` origin when the configuration has none: the
/// system's CA store, no client certificate.
fn default_tls() -> Result<H2Tls, Reason> {
    crate::transport::tls::config(&crate::transport::tls::TlsOptions::default(), true)
        .map(|tls| H2Tls::from_client(&tls))
        .map_err(|e| Reason::Connect(e.to_string()))
}

fn tcp_connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match literal.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}: {e}"))?
            .take(16)
            .collect(),
    };
    let mut last = format!("{host}: no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("connect timed out".into());
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

impl H2Connection {
    /// Connects to `origin` (`http://host:port`: HTTP/2 without TLS;
    /// `https://host:port`: over TLS with ALPN `h2`, as `config.tls` says),
    /// does the TLS handshake, sends the preface and our SETTINGS, starts
    /// the reader thread, and waits for the server's SETTINGS, all within
    /// `config.connect_timeout`. Every failure is `NotSent`: no call was
    /// made. TLS failures are `Reason::Tls` (see [`Reason::tls_error`]).
    pub fn connect(origin: &str, config: Config) -> Result<Arc<H2Connection>, CallError> {
        let not_sent = |e: String| CallError::NotSent(Reason::Connect(e));
        let (scheme, host, port) =
            split_origin(origin).ok_or_else(|| not_sent(format!("not an origin: {origin}")))?;
        // TLS settings first: a bad one is refused before connecting.
        let tls = match (scheme, &config.tls) {
            ("https", Some(tls)) => Some(tls.clone()),
            ("https", None) => Some(default_tls().map_err(CallError::NotSent)?),
            _ => None,
        };
        watch_forks();
        let deadline = Instant::now() + config.connect_timeout;
        let tcp = tcp_connect(host, port, deadline).map_err(not_sent)?;
        // A write blocked this long means the server stopped reading.
        let write_timeout = config.keepalive_timeout.max(Duration::from_secs(1));
        let setup = |tcp: &TcpStream| -> io::Result<()> {
            tcp.set_nodelay(true)?;
            set_keepalive(tcp)?;
            tcp.set_write_timeout(Some(write_timeout))
        };
        setup(&tcp).map_err(|e| not_sent(e.to_string()))?;
        let socket = match &tls {
            Some(tls) => Socket::Tls(Box::new(super::tls::handshake(
                tcp,
                host,
                origin,
                tls,
                deadline,
                write_timeout,
            )?)),
            None => Socket::Plain(tcp),
        };
        let result = Self::start(socket, scheme, host, port, origin, config, deadline);
        match (result, &tls) {
            (Err(CallError::NotSent(reason)), Some(tls))
                if !matches!(reason, Reason::Tls { .. }) =>
            {
                // The server may have refused our certificate after the
                // handshake (TLS 1.3), its alert lost to a reset: ask it
                // again, without writing.
                let left = deadline.saturating_duration_since(Instant::now());
                match crate::transport::tls::diagnose_with(&tls.0, origin, left) {
                    Some(e) => Err(CallError::NotSent(Reason::from_tls_error(e))),
                    None => Err(CallError::NotSent(reason)),
                }
            }
            (result, _) => result,
        }
    }

    /// Sends the preface and our SETTINGS on `socket`, starts the reader
    /// thread, and waits for the server's SETTINGS.
    fn start(
        socket: Socket,
        scheme: &'static str,
        host: &str,
        port: u16,
        origin: &str,
        config: Config,
        deadline: Instant,
    ) -> Result<Arc<H2Connection>, CallError> {
        let not_sent = |e: String| CallError::NotSent(Reason::Connect(e));
        let mut config = config;
        config.keepalive_interval = config
            .keepalive_interval
            .map(|i| i.max(MIN_KEEPALIVE_INTERVAL));
        config.stream_window = config.stream_window.clamp(1024, frame::MAX_WINDOW as u32);
        config.connection_window = config
            .connection_window
            .clamp(frame::DEFAULT_WINDOW as u32, frame::MAX_WINDOW as u32);

        let mut hello = Vec::with_capacity(64);
        hello.extend_from_slice(frame::PREFACE);
        frame::put_settings(
            &mut hello,
            &[
                (frame::SETTINGS_ENABLE_PUSH, 0),
                (frame::SETTINGS_INITIAL_WINDOW_SIZE, config.stream_window),
                (
                    frame::SETTINGS_MAX_HEADER_LIST_SIZE,
                    u32::try_from(config.max_header_list_bytes).unwrap_or(u32::MAX),
                ),
            ],
        );
        let grow = config.connection_window - frame::DEFAULT_WINDOW as u32;
        if grow > 0 {
            frame::put_window_update(&mut hello, 0, grow);
        }
        if let Err(e) = socket.write_all(&hello) {
            return Err(CallError::NotSent(
                match socket.reason(&e, origin, "write") {
                    Reason::Closed(why) => Reason::Connect(why),
                    other => other,
                },
            ));
        }

        let authority = if port == if scheme == "https" { 443 } else { 80 } {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        let inner = Arc::new(Inner {
            generation: generation(),
            socket,
            scheme,
            authority,
            origin: origin.to_owned(),
            config,
            outbox: Mutex::new(Outbox::default()),
            state: Mutex::new(State {
                next_id: 1,
                streams: HashMap::new(),
                slots: 0,
                peer: Peer {
                    max_concurrent: usize::MAX,
                    initial_window: frame::DEFAULT_WINDOW,
                    max_frame: frame::DEFAULT_MAX_FRAME as usize,
                    max_header_list: usize::MAX,
                },
                conn_send: SendWindow::new(frame::DEFAULT_WINDOW),
                closed: None,
                goaway: None,
                settings_seen: false,
                openers: 0,
            }),
            opened: Condvar::new(),
        });
        let reader = inner.clone();
        let spawned = std::thread::Builder::new()
            .name("etcdc-h2".into())
            .stack_size(256 * 1024)
            .spawn(move || run_reader(reader));
        let reader = match spawned {
            Ok(handle) => handle,
            Err(e) => {
                inner.socket.shutdown();
                return Err(not_sent(format!("cannot start the reader thread: {e}")));
            }
        };
        let conn = Arc::new(H2Connection {
            inner,
            reader: Some(reader),
        });
        conn.inner.wait_for_settings(deadline)?;
        Ok(conn)
    }

    /// `scheme://host:port` as given to [`connect`](Self::connect).
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// Whether new calls can go on this connection: it is open, this
    /// process opened it, the server has not said GOAWAY, stream ids are
    /// left. When not, open a new connection.
    pub fn is_usable(&self) -> bool {
        if self.inner.generation != generation() {
            return false;
        }
        let st = lock(&self.inner.state);
        st.closed.is_none() && st.goaway.is_none() && st.next_id <= frame::MAX_STREAM_ID
    }

    /// Closes the connection: calls in progress fail with `MaybeSent`
    /// (`NotSent` for those not yet written), the reader thread ends. In a
    /// forked child, does nothing (the connection is the parent's).
    pub fn close(&self) {
        if self.inner.generation != generation() {
            return;
        }
        self.inner
            .fail(Reason::Closed("closed by the client".into()), None);
    }

    /// `http` or `https`.
    pub(crate) fn scheme(&self) -> &'static str {
        self.inner.scheme
    }

    /// `host:port` (`host` alone for the scheme's default port).
    pub(crate) fn authority(&self) -> &str {
        &self.inner.authority
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The connection, for this process: `NotSent(Forked)` in a child.
    pub(crate) fn checked(&self) -> Result<&Arc<Inner>, CallError> {
        if self.inner.generation != generation() {
            return Err(CallError::NotSent(Reason::Forked));
        }
        Ok(&self.inner)
    }
}

impl Drop for H2Connection {
    fn drop(&mut self) {
        if self.inner.generation != generation() {
            // The parent's: leak it whole (no lock, no write, no close; its
            // thread is not this process's to join or detach).
            std::mem::forget(self.inner.clone());
            std::mem::forget(self.reader.take());
            return;
        }
        self.close();
        // Closing shut the socket down: the reader's read returns and it
        // ends. (The reader holds only `inner`, never this handle, so this
        // never runs on the reader thread.)
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Inner {
    pub(super) fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(super) fn lock_outbox(&self) -> MutexGuard<'_, Outbox> {
        lock(&self.outbox)
    }

    /// Sends what is queued in `out` (whole frames): writes it, and what
    /// others queue meanwhile, until nothing is left; or, if another
    /// thread is writing, leaves it to that thread (which writes it before
    /// it stops) and returns at once. A failed write closes the connection
    /// and is returned to the thread that wrote; once the connection is
    /// closed, what is queued is dropped (its streams have failed).
    pub(super) fn flush<'a>(&'a self, mut out: MutexGuard<'a, Outbox>) -> Result<(), Reason> {
        if out.writing {
            return Ok(());
        }
        out.writing = true;
        loop {
            if out.closed {
                out.buf.clear();
                out.writing = false;
                return Ok(());
            }
            if out.buf.is_empty() && !out.tls {
                out.writing = false;
                return Ok(());
            }
            let mut batch = std::mem::take(&mut out.spare);
            std::mem::swap(&mut batch, &mut out.buf);
            out.tls = false;
            out.started_id = out.queued_id;
            drop(out);
            let written = self.socket.write_all(&batch);
            batch.clear();
            out = self.lock_outbox();
            out.spare = batch;
            if let Err(e) = written {
                out.writing = false;
                drop(out);
                let reason = self.socket.reason(&e, &self.origin, "write");
                self.fail(reason.clone(), None);
                return Err(reason);
            }
        }
    }

    /// Sends `bytes` (whole frames; empty: just the TLS layer's own
    /// records), as [`flush`](Self::flush) does.
    pub(super) fn write(&self, bytes: &[u8]) -> Result<(), Reason> {
        let mut out = self.lock_outbox();
        if bytes.is_empty() {
            out.tls = true;
        }
        out.buf.extend_from_slice(bytes);
        self.flush(out)
    }

    fn wait_for_settings(&self, deadline: Instant) -> Result<(), CallError> {
        let mut st = self.lock_state();
        loop {
            if let Some(reason) = &st.closed {
                let reason = match reason {
                    Reason::Connect(_) | Reason::Tls { .. } => reason.clone(),
                    other => Reason::Connect(other.to_string()),
                };
                return Err(CallError::NotSent(reason));
            }
            if st.settings_seen {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(st);
                self.fail(
                    Reason::Connect("no SETTINGS from the server in time".into()),
                    None,
                );
                return Err(CallError::NotSent(Reason::Connect(
                    "the server did not answer the HTTP/2 preface in time".into(),
                )));
            }
            st.openers += 1;
            st = self
                .opened
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            st.openers -= 1;
        }
    }

    /// Closes the connection for `reason`: every stream not ended fails
    /// (`MaybeSent` if a write took its HEADERS, `NotSent` if they were
    /// still queued: they never go now), waiting openers wake, the server
    /// is told with a GOAWAY if `goaway` (once the writer at work, if any,
    /// is done), the socket is shut down (which ends the reader thread).
    /// Idempotent.
    pub(super) fn fail(&self, reason: Reason, goaway: Option<ConnError>) {
        // Closed first: nothing queued is written from now on, so the
        // streams above `started` certainly did not leave.
        let started = {
            let mut out = self.lock_outbox();
            out.closed = true;
            out.started_id
        };
        {
            let mut wakes = Wakes::default();
            let mut st = self.lock_state();
            if st.closed.is_none() {
                st.closed = Some(reason.clone());
            }
            for (id, s) in st.streams.iter_mut() {
                let error = if *id > started {
                    CallError::NotSent(reason.clone())
                } else {
                    CallError::MaybeSent(reason.clone())
                };
                s.fail(error, &mut wakes);
            }
            if st.openers > 0 {
                self.opened.notify_all();
            }
            drop(st);
            wakes.notify();
        }
        if let Some(e) = goaway {
            // A writer may be at work for a moment (the outbox is closed:
            // it stops after its write), or for long (blocked on a server
            // that does not read): wait for the first, not the second.
            // Taking the turn for good: no one writes after the GOAWAY.
            let give_up = Instant::now() + GOAWAY_WAIT;
            let turn = loop {
                let mut out = self.lock_outbox();
                if !out.writing {
                    out.writing = true;
                    break true;
                }
                drop(out);
                if Instant::now() >= give_up {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            if turn {
                let mut out = Vec::new();
                frame::put_goaway(&mut out, 0, e.code, e.reason.as_bytes());
                let _ = self.socket.write_all(&out);
            }
        }
        self.socket.shutdown();
    }
}

/// Why the reader stops: the connection's failure, and the GOAWAY to send
/// for a protocol error of the server's.
struct Stop {
    reason: Reason,
    goaway: Option<ConnError>,
}

impl From<ConnError> for Stop {
    fn from(e: ConnError) -> Stop {
        Stop {
            reason: Reason::Protocol(e.to_string()),
            goaway: Some(e),
        }
    }
}

/// What only the reader thread touches.
struct Reader {
    decoder: hpack::Decoder,
    /// A header block waiting for its CONTINUATIONs: stream, END_STREAM,
    /// the fragments so far.
    pending: Option<(u32, bool, Vec<u8>)>,
    conn_recv: RecvWindow,
    first_frame: bool,
    /// Our keepalive PING in flight: when sent, its payload.
    ping: Option<(Instant, [u8; 8])>,
    last_ping: Option<Instant>,
    pings_sent: u64,
}

/// The reader thread: reads until the connection ends, then fails what is
/// left.
fn run_reader(inner: Arc<Inner>) {
    let mut r = Reader {
        decoder: hpack::Decoder::new(inner.config.max_header_list_bytes),
        pending: None,
        conn_recv: RecvWindow::new(inner.config.connection_window),
        first_frame: true,
        ping: None,
        last_ping: None,
        pings_sent: 0,
    };
    let stop = read_loop(&inner, &mut r);
    inner.fail(stop.reason, stop.goaway);
}

fn read_loop(inner: &Inner, r: &mut Reader) -> Stop {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut start, mut end) = (0usize, 0usize);
    let mut last_read = Instant::now();
    let mut timeout_set: Option<Option<Duration>> = None;
    let mut ctl = Vec::new();
    let mut wakes = Wakes::default();
    loop {
        // Keepalive: wake up to send a PING, or to give up on one.
        let now = Instant::now();
        let timeout = match (r.ping, inner.config.keepalive_interval) {
            (Some((at, _)), _) => Some(
                (at + inner.config.keepalive_timeout)
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1)),
            ),
            (None, Some(interval)) => Some(interval),
            (None, None) => None,
        };
        if timeout_set != Some(timeout) {
            if let Err(e) = inner.socket.set_read_timeout(timeout) {
                return closed(format!("set timeout: {e}"));
            }
            timeout_set = Some(timeout);
        }
        if start == end {
            (start, end) = (0, 0);
        } else if buf.len() - end < MAX_FRAME_IN + frame::HEADER_LEN {
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
        let n = match inner.socket.read(&mut buf[end..]) {
            Ok(0) => return closed("the server closed the connection".into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if let Err(stop) = keepalive(inner, r, last_read) {
                    return stop;
                }
                continue;
            }
            Err(e) => {
                return Stop {
                    reason: inner.socket.reason(&e, &inner.origin, "read"),
                    goaway: None,
                }
            }
        };
        last_read = Instant::now();
        if inner.socket.wants_write() {
            // rustls's own records (e.g. a key update's answer).
            if let Err(reason) = inner.write(&[]) {
                return Stop {
                    reason,
                    goaway: None,
                };
            }
        }
        end += n;
        {
            let mut st = inner.lock_state();
            while let Some(head) = Head::parse(&buf[start..end]) {
                if head.len as usize > MAX_FRAME_IN {
                    return ConnError::new(
                        frame::FRAME_SIZE_ERROR,
                        format!("a frame of {} bytes (limit {MAX_FRAME_IN})", head.len),
                    )
                    .into();
                }
                let total = frame::HEADER_LEN + head.len as usize;
                if end - start < total {
                    break;
                }
                let payload = &buf[start + frame::HEADER_LEN..start + total];
                start += total;
                if let Err(e) = on_frame(inner, &mut st, r, &head, payload, &mut ctl, &mut wakes) {
                    drop(st);
                    wakes.notify();
                    if !ctl.is_empty() {
                        let _ = inner.write(&ctl);
                    }
                    return e.into();
                }
            }
        }
        // Everything read so far is handled: wake its callers (each once,
        // the state lock released), then send what the frames asked for.
        wakes.notify();
        if !ctl.is_empty() {
            if let Err(reason) = inner.write(&ctl) {
                return Stop {
                    reason,
                    goaway: None,
                };
            }
            ctl.clear();
        }
    }
}

fn closed(why: String) -> Stop {
    Stop {
        reason: Reason::Closed(why),
        goaway: None,
    }
}

/// The read timed out: send a keepalive PING if calls are open and the
/// server has been silent for the interval; fail if our PING went
/// unanswered.
fn keepalive(inner: &Inner, r: &mut Reader, last_read: Instant) -> Result<(), Stop> {
    let now = Instant::now();
    if let Some((at, _)) = r.ping {
        if now.duration_since(at) >= inner.config.keepalive_timeout {
            return Err(closed(format!(
                "no answer to a keepalive PING within {:?}",
                inner.config.keepalive_timeout
            )));
        }
        return Ok(());
    }
    let Some(interval) = inner.config.keepalive_interval else {
        return Ok(());
    };
    let idle = now.duration_since(last_read) >= interval;
    let spaced = r
        .last_ping
        .is_none_or(|t| now.duration_since(t) >= MIN_KEEPALIVE_INTERVAL);
    // etcd (grpc-go, PermitWithoutStream false) counts pings without an
    // open stream as abuse: ping only while calls are open.
    if !idle || !spaced || inner.lock_state().streams.is_empty() {
        return Ok(());
    }
    r.pings_sent += 1;
    let payload = (r.pings_sent | 0x6574_6364_0000_0000).to_be_bytes();
    let mut out = Vec::with_capacity(17);
    frame::put_ping(&mut out, false, payload);
    inner.write(&out).map_err(|reason| Stop {
        reason,
        goaway: None,
    })?;
    r.ping = Some((now, payload));
    r.last_ping = Some(now);
    Ok(())
}

/// Handles one frame with the state locked; frames to send go to `ctl`,
/// callers to wake (once the lock is released) to `wakes`.
fn on_frame(
    inner: &Inner,
    st: &mut State,
    r: &mut Reader,
    head: &Head,
    payload: &[u8],
    ctl: &mut Vec<u8>,
    wakes: &mut Wakes,
) -> Result<(), ConnError> {
    let parsed = frame::parse(head, payload)?;
    if r.first_frame {
        r.first_frame = false;
        if !matches!(parsed, Frame::Settings(_)) {
            return Err(ConnError::new(
                frame::PROTOCOL_ERROR,
                "the server did not start with SETTINGS (not an HTTP/2 server?)",
            ));
        }
    }
    if let Some((stream, _, _)) = &r.pending {
        if !matches!(parsed, Frame::Continuation { stream: s, .. } if s == *stream) {
            return Err(ConnError::new(
                frame::PROTOCOL_ERROR,
                "a header block interrupted before END_HEADERS",
            ));
        }
    }
    match parsed {
        Frame::Data {
            stream,
            data,
            end_stream,
            flow_len,
        } => {
            r.conn_recv.receive(flow_len).map_err(|()| {
                ConnError::new(
                    frame::FLOW_CONTROL_ERROR,
                    "DATA beyond the connection window",
                )
            })?;
            if let Some(increment) = r.conn_recv.release(flow_len) {
                frame::put_window_update(ctl, 0, increment);
            }
            check_known(st, stream)?;
            let Some(s) = st.streams.get_mut(&stream) else {
                return Ok(()); // a stream we are done with
            };
            if s.reset_sent {
                return Ok(()); // reset: what was in flight is dropped
            }
            if s.remote_end {
                reset(
                    s,
                    stream,
                    frame::STREAM_CLOSED,
                    ctl,
                    "DATA after END_STREAM",
                    wakes,
                );
                return Ok(());
            }
            if s.recv.receive(flow_len).is_err() {
                reset(
                    s,
                    stream,
                    frame::FLOW_CONTROL_ERROR,
                    ctl,
                    "DATA beyond the stream window",
                    wakes,
                );
                return Ok(());
            }
            // Padding is given back at once; the data when it is taken.
            let padding = flow_len - data.len() as u32;
            if padding > 0 && !end_stream {
                if let Some(increment) = s.recv.release(padding) {
                    frame::put_window_update(ctl, stream, increment);
                }
            }
            if !s.head_seen {
                reset(
                    s,
                    stream,
                    frame::PROTOCOL_ERROR,
                    ctl,
                    "DATA before the response headers",
                    wakes,
                );
                return Ok(());
            }
            s.data.extend_from_slice(data);
            s.remote_end |= end_stream;
            if end_stream {
                s.wake(wakes);
            } else if !data.is_empty() {
                s.wake_receiver(wakes);
            }
        }
        Frame::Headers {
            stream,
            block,
            end_stream,
            end_headers,
        } => {
            if stream % 2 == 0 {
                return Err(ConnError::new(
                    frame::PROTOCOL_ERROR,
                    "HEADERS on a server-initiated stream",
                ));
            }
            check_known(st, stream)?;
            if end_headers {
                on_header_block(st, r, stream, end_stream, block, ctl, wakes)?;
            } else {
                check_block_size(r, block.len())?;
                r.pending = Some((stream, end_stream, block.to_vec()));
            }
        }
        Frame::Continuation {
            stream,
            block,
            end_headers,
        } => {
            let Some((pending_stream, end_stream, mut acc)) = r.pending.take() else {
                return Err(ConnError::new(
                    frame::PROTOCOL_ERROR,
                    "CONTINUATION without HEADERS",
                ));
            };
            debug_assert_eq!(pending_stream, stream);
            check_block_size(r, acc.len() + block.len())?;
            acc.extend_from_slice(block);
            if end_headers {
                on_header_block(st, r, stream, end_stream, &acc, ctl, wakes)?;
            } else {
                r.pending = Some((stream, end_stream, acc));
            }
        }
        Frame::RstStream { stream, code } => {
            check_known(st, stream)?;
            if let Some(s) = st.streams.get_mut(&stream) {
                // Refused: the server did not process it (RFC 9113 §8.7).
                let error = if code == frame::REFUSED_STREAM {
                    CallError::NotSent(Reason::Reset(code))
                } else {
                    CallError::MaybeSent(Reason::Reset(code))
                };
                s.fail(error, wakes);
                // The stream is closed: nothing more to send on it.
                s.reset_sent = true;
            }
        }
        Frame::Settings(entries) => {
            on_settings(inner, st, entries, wakes)?;
            frame::put_settings_ack(ctl);
        }
        Frame::SettingsAck => {}
        Frame::Ping {
            ack: false,
            payload,
        } => frame::put_ping(ctl, true, payload),
        Frame::Ping { ack: true, payload } => {
            if r.ping.is_some_and(|(_, p)| p == payload) {
                r.ping = None;
            }
        }
        Frame::GoAway {
            last_stream,
            code,
            debug,
        } => {
            let reason = Reason::GoAway {
                code,
                debug: String::from_utf8_lossy(&debug[..debug.len().min(256)]).into_owned(),
            };
            let last = st
                .goaway
                .as_ref()
                .map_or(last_stream, |(l, _)| last_stream.min(*l));
            for (id, s) in st.streams.iter_mut() {
                if *id > last {
                    s.fail(CallError::NotSent(reason.clone()), wakes);
                }
            }
            st.goaway = Some((last, reason));
            if st.openers > 0 {
                inner.opened.notify_all();
            }
        }
        Frame::WindowUpdate { stream, increment } => {
            if stream == 0 {
                if increment == 0 {
                    return Err(ConnError::new(
                        frame::PROTOCOL_ERROR,
                        "connection WINDOW_UPDATE of 0",
                    ));
                }
                st.conn_send.grow(increment).map_err(|()| {
                    ConnError::new(frame::FLOW_CONTROL_ERROR, "connection window over 2^31-1")
                })?;
                for s in st.streams.values_mut() {
                    s.wake_sender(wakes);
                }
            } else {
                check_known(st, stream)?;
                if let Some(s) = st.streams.get_mut(&stream) {
                    if increment == 0 {
                        reset(
                            s,
                            stream,
                            frame::PROTOCOL_ERROR,
                            ctl,
                            "WINDOW_UPDATE of 0",
                            wakes,
                        );
                    } else if s.send.grow(increment).is_err() {
                        reset(
                            s,
                            stream,
                            frame::FLOW_CONTROL_ERROR,
                            ctl,
                            "stream window over 2^31-1",
                            wakes,
                        );
                    } else {
                        s.wake_sender(wakes);
                    }
                }
            }
        }
        Frame::PushPromise => {
            return Err(ConnError::new(
                frame::PROTOCOL_ERROR,
                "PUSH_PROMISE although push is disabled",
            ))
        }
        Frame::Ignored => {}
    }
    Ok(())
}

/// A frame for a stream id we never opened is a connection error
/// (RFC 9113 §5.1: idle streams).
fn check_known(st: &State, stream: u32) -> Result<(), ConnError> {
    if stream >= st.next_id {
        return Err(ConnError::new(
            frame::PROTOCOL_ERROR,
            format!("a frame for stream {stream}, which was never opened"),
        ));
    }
    Ok(())
}

fn check_block_size(r: &Reader, len: usize) -> Result<(), ConnError> {
    if len > r.decoder.max_block() {
        return Err(ConnError::new(
            frame::PROTOCOL_ERROR,
            format!(
                "a header block of more than {} bytes",
                r.decoder.max_block()
            ),
        ));
    }
    Ok(())
}

/// A stream error of the server's: the stream is reset and its call fails.
fn reset(
    s: &mut StreamState,
    stream: u32,
    code: u32,
    ctl: &mut Vec<u8>,
    why: &str,
    wakes: &mut Wakes,
) {
    if !s.reset_sent {
        frame::put_rst_stream(ctl, stream, code);
        s.reset_sent = true;
    }
    s.remote_end = false;
    s.error = None;
    s.fail(
        CallError::Protocol(format!("{why} ({})", frame::error_name(code))),
        wakes,
    );
}

/// A complete header block: decoded (always: the table is per
/// connection), then given to its stream as its headers or trailers.
fn on_header_block(
    st: &mut State,
    r: &mut Reader,
    stream: u32,
    end_stream: bool,
    block: &[u8],
    ctl: &mut Vec<u8>,
    wakes: &mut Wakes,
) -> Result<(), ConnError> {
    let decoded = r.decoder.decode(block)?;
    let Some(s) = st.streams.get_mut(&stream) else {
        return Ok(());
    };
    if s.reset_sent {
        return Ok(());
    }
    if s.remote_end {
        reset(
            s,
            stream,
            frame::STREAM_CLOSED,
            ctl,
            "HEADERS after END_STREAM",
            wakes,
        );
        return Ok(());
    }
    if decoded.oversized {
        reset(
            s,
            stream,
            frame::CANCEL,
            ctl,
            "response header list over the configured limit",
            wakes,
        );
        return Ok(());
    }
    if !s.head_seen {
        // 1xx informational heads are not used by gRPC; the first block
        // is the response head (with END_STREAM: a trailers-only answer).
        s.head_seen = true;
        s.head = Some(decoded.fields);
    } else if end_stream {
        s.trailers = Some(decoded.fields);
    } else {
        reset(
            s,
            stream,
            frame::PROTOCOL_ERROR,
            ctl,
            "trailers without END_STREAM",
            wakes,
        );
        return Ok(());
    }
    s.remote_end |= end_stream;
    if end_stream {
        s.wake(wakes);
    } else {
        s.wake_receiver(wakes);
    }
    Ok(())
}

fn on_settings(
    inner: &Inner,
    st: &mut State,
    entries: &[u8],
    wakes: &mut Wakes,
) -> Result<(), ConnError> {
    for (id, value) in frame::settings_entries(entries) {
        match id {
            frame::SETTINGS_ENABLE_PUSH if value > 1 => {
                return Err(ConnError::new(frame::PROTOCOL_ERROR, "ENABLE_PUSH over 1"));
            }
            frame::SETTINGS_MAX_CONCURRENT_STREAMS => {
                st.peer.max_concurrent = value as usize;
            }
            frame::SETTINGS_INITIAL_WINDOW_SIZE => {
                if i64::from(value) > frame::MAX_WINDOW {
                    return Err(ConnError::new(
                        frame::FLOW_CONTROL_ERROR,
                        "INITIAL_WINDOW_SIZE over 2^31-1",
                    ));
                }
                let delta = i64::from(value) - st.peer.initial_window;
                st.peer.initial_window = i64::from(value);
                for s in st.streams.values_mut() {
                    s.send.shift(delta).map_err(|()| {
                        ConnError::new(frame::FLOW_CONTROL_ERROR, "stream window over 2^31-1")
                    })?;
                    s.wake_sender(wakes);
                }
            }
            frame::SETTINGS_MAX_FRAME_SIZE => {
                if !(frame::DEFAULT_MAX_FRAME..=frame::MAX_MAX_FRAME).contains(&value) {
                    return Err(ConnError::new(
                        frame::PROTOCOL_ERROR,
                        format!("MAX_FRAME_SIZE of {value}"),
                    ));
                }
                st.peer.max_frame = value as usize;
            }
            frame::SETTINGS_MAX_HEADER_LIST_SIZE => st.peer.max_header_list = value as usize,
            // Our encoder uses no dynamic table.
            frame::SETTINGS_HEADER_TABLE_SIZE => {}
            _ => {}
        }
    }
    st.settings_seen = true;
    if st.openers > 0 {
        inner.opened.notify_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_split() {
        assert_eq!(
            split_origin("http://127.0.0.1:2379"),
            Some(("http", "127.0.0.1", 2379))
        );
        assert_eq!(
            split_origin("https://[::1]:2379/"),
            Some(("https", "[::1]", 2379))
        );
        assert_eq!(split_origin("http://[::1]"), Some(("http", "[::1]", 80)));
        assert_eq!(split_origin("http://etcd"), Some(("http", "etcd", 80)));
        assert_eq!(split_origin("ftp://x:1"), None);
        assert_eq!(split_origin("http://x:1/v3"), None);
        assert_eq!(split_origin("http://:1"), None);
        assert_eq!(split_origin("http://x:port"), None);
    }
}
