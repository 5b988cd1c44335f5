//! Connections to etcd members: opening them (TCP with `TCP_NODELAY` and
//! keep-alive probes, then rustls for `https`, through ureq's connector
//! chain), keeping idle ones for reuse, and shutting them all down from
//! another thread.
//!
//! This is the one module that touches ureq's `unversioned` transport API
//! (hence the pinned minor version in `Cargo.toml`): ureq connects and does
//! TLS; the requests themselves are [`crate::transport::http1`]'s. A pooled connection
//! is checked with a single non-blocking `recv(MSG_PEEK)` when it is taken,
//! so a loop of keep-alive GETs costs three syscalls per request: the probe,
//! one send, one receive. Threads keep to their own connections while they
//! can ([`this_thread`]).
//!
//! Fork: a child process inherits the parent's sockets and, if another
//! thread held it at that instant, a locked pool. So the pool belongs to a
//! fork generation ([`generation`]): a client used in a child never reads,
//! writes, shuts down or locks the inherited connections (they are the
//! parent's); it only closes its own copies of their sockets, which the
//! parent does not notice, and opens its own. The connector chain
//! belongs to the generation too: ureq's `RustlsConnector` builds its
//! rustls configuration on the first `https` connect and keeps it in a
//! `OnceLock` (ureq 3.5 has no way to hand it one built beforehand), and
//! that configuration's session cache has a mutex; either, caught mid-use
//! by a fork, would block the child's `https` connects forever. A child
//! builds its own on its first connect instead.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, Weak};

use crate::transport::http2::{self, CallError, H2Connection, H2Tls, Reason};
use std::time::{Duration, Instant};

use ureq::http;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    time, Buffers, ChainedConnector, ConnectionDetails, Connector, LazyBuffers, NextTimeout,
    RustlsConnector, ShutdownHandle, Transport,
};

/// Idle connections kept per transport, all endpoints together; the oldest
/// goes first.
const MAX_IDLE: usize = 64;

/// An open connection, plain or TLS.
pub(crate) type Connection = Box<dyn Transport>;

/// A connection with what travels with it in and out of the pool, so that
/// a request on a reused connection allocates neither: the origin
/// (`scheme://host:port`) it leads to, and a buffer for request heads.
pub(crate) struct Pooled {
    origin: String,
    /// The fork generation it was opened in (see [`generation`]).
    generation: u64,
    /// The thread that used it last (see [`this_thread`]).
    owner: usize,
    pub head: Vec<u8>,
    pub conn: Connection,
}

/// Opens, pools and shuts down the connections of one transport. Shared by
/// all the threads of a client.
pub(crate) struct Connections {
    /// ureq's configuration: TLS, buffer sizes.
    config: ureq::config::Config,
    connect_timeout: Duration,
    shared: Arc<Shared>,
}

/// What a shutdown handle shares with its transport.
#[derive(Debug, Default)]
struct Shared {
    /// Shut down: no connection is opened or pooled any more.
    closed: AtomicBool,
    /// The pool of this process's fork generation (see [`Pool`]).
    pool: AtomicPtr<Pool>,
}

/// The connections of one fork generation: idle ones, and every open one's
/// socket for shutting it down. A child replaces it with a new one and
/// leaks the inherited one whole (its lock may be held by a thread that
/// does not exist in the child, its sockets are the parent's). Replaced
/// only in a child, and freed only with its [`Shared`], so a `&Pool` taken
/// from [`Shared::pool`] stays valid while the transport lives.
struct Pool {
    generation: u64,
    /// Opens this generation's connections (TLS state included: see the
    /// module doc).
    connector: ChainedConnector<(), TcpConnector, Handshake>,
    /// Idle connections, the most recently used last.
    idle: Mutex<Vec<Pooled>>,
    sockets: Mutex<Vec<Weak<dyn ShutdownHandle>>>,
    /// This generation's HTTP/2 connections (gRPC, the v3 API): at most
    /// one usable per origin, shared by every call to it.
    h2: Mutex<Vec<Arc<H2Connection>>>,
    /// This generation's HTTP/2 TLS configuration (its session cache has a
    /// mutex of its own), made on the first `https` HTTP/2 connection.
    h2_tls: OnceLock<H2Tls>,
    /// etcd's v3 auth token, once authenticated (a child authenticates
    /// again: the lock is this generation's).
    token: Mutex<Option<Arc<str>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Pooled {
    /// Opened before a fork, by the parent: not this process's to use or to
    /// close (forget it).
    pub fn inherited(&self) -> bool {
        self.generation != generation()
    }
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("origin", &self.origin)
            .finish()
    }
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

/// Forks this process has gone through: bumped in the child by a
/// `pthread_atfork` handler, installed when the first transport is made (a
/// fork before that leaves no connection behind).
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// The fork generation of this process: changes in a child after `fork()`.
/// One atomic load: cheap enough for every request, unlike `getpid()`.
pub(crate) fn generation() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

pub(crate) fn watch_forks() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: the handler only bumps an atomic (async-signal-safe, as a
        // handler running in a fresh child must be). glibc removes it if the
        // library is unloaded. A failure (ENOMEM) leaves fork undetected:
        // nothing else can be done about it here.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
}

impl Shared {
    /// This generation's pool: the current one, or a new one in a child
    /// (the inherited one is leaked, never touched).
    fn pool(&self) -> &Pool {
        let now = generation();
        loop {
            let current = self.pool.load(Ordering::Acquire);
            // SAFETY: non-null pools come from Box::into_raw below and are
            // freed only in Drop (see `Pool`).
            if let Some(pool) = unsafe { current.as_ref() } {
                if pool.generation == now {
                    return pool;
                }
            }
            let fresh = Box::into_raw(Box::new(Pool {
                generation: now,
                // RustlsConnector wraps only `https` connections.
                connector: TcpConnector.chain(Handshake(RustlsConnector::default())),
                idle: Mutex::new(Vec::new()),
                sockets: Mutex::new(Vec::new()),
                h2: Mutex::new(Vec::new()),
                h2_tls: OnceLock::new(),
                token: Mutex::new(None),
            }));
            match self
                .pool
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // SAFETY: as above; the inherited pool is leaked, never
                    // freed.
                    if let Some(inherited) = unsafe { current.as_ref() } {
                        close_inherited(inherited);
                    }
                }
                Err(_) => {
                    // Another thread installed one first: use that.
                    // SAFETY: ours was never shared.
                    drop(unsafe { Box::from_raw(fresh) });
                }
            }
        }
    }

    /// This generation's pool if there is one: never the parent's.
    fn current_pool(&self) -> Option<&Pool> {
        // SAFETY: as in `pool`.
        let pool = unsafe { self.pool.load(Ordering::Acquire).as_ref() }?;
        (pool.generation == generation()).then_some(pool)
    }
}

/// Closes this process's copies of the sockets of an inherited pool's idle
/// connections (the parent's connections: closing a copy neither writes to
/// them nor shuts them down), so a child does not keep them half-alive.
/// Only if its lock is free: one held at the fork by a thread the child
/// does not have stays held forever, and the list is left as it is.
fn close_inherited(pool: &Pool) {
    if let Ok(mut idle) = pool.idle.try_lock() {
        drop(std::mem::take(&mut *idle));
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let raw = *self.pool.get_mut();
        // SAFETY: as in `pool`; nothing else refers to it any more. A pool
        // of an older generation is the parent's: leaked, not closed.
        let ours = unsafe { raw.as_ref() }.is_some_and(|p| p.generation == generation());
        if ours {
            // SAFETY: from Box::into_raw, freed once, here.
            drop(unsafe { Box::from_raw(raw) });
        }
    }
}

impl Connections {
    pub fn new(tls: ureq::tls::TlsConfig, connect_timeout: Duration) -> Connections {
        watch_forks();
        let config = ureq::Agent::config_builder()
            // No proxy: etcd endpoints are reached directly, whatever
            // HTTP(S)_PROXY/ALL_PROXY say.
            .proxy(None)
            .no_delay(true)
            .tls_config(tls)
            .build();
        Connections {
            config,
            connect_timeout,
            shared: Arc::new(Shared::default()),
        }
    }

    /// A connection to `origin`: an idle one that is still open, else a new
    /// one, made within the connect timeout and `deadline`. A failure here
    /// means nothing was sent.
    pub fn get(&self, origin: &str, deadline: Option<Instant>) -> Result<Pooled, ureq::Error> {
        if let Some(pooled) = self.take_idle(origin) {
            return Ok(pooled);
        }
        let conn = self.connect(origin, deadline)?;
        Ok(Pooled {
            origin: origin.to_owned(),
            generation: generation(),
            owner: this_thread(),
            head: Vec::with_capacity(256),
            conn,
        })
    }

    fn take_idle(&self, origin: &str) -> Option<Pooled> {
        let pool = self.shared.pool();
        loop {
            let mut pooled = {
                let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
                // This thread's own connection first: see `this_thread`.
                let me = this_thread();
                let i = idle
                    .iter()
                    .rposition(|p| p.owner == me && p.origin == origin)
                    .or_else(|| idle.iter().rposition(|p| p.origin == origin))?;
                let mut p = idle.remove(i);
                p.owner = me;
                p
            };
            // Probed outside the lock; a closed one is dropped.
            if pooled.conn.is_open() {
                return Some(pooled);
            }
        }
    }

    /// Keeps a connection for the next request to its origin, unless the
    /// transport is shut down or the process forked since it was opened
    /// (then it is the parent's socket: this process's copy is closed,
    /// which the parent does not notice; nothing is written or shut down).
    pub fn put(&self, pooled: Pooled) {
        if pooled.generation != generation() {
            return;
        }
        let pool = self.shared.pool();
        if self.shared.closed.load(Ordering::Acquire) {
            return;
        }
        let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push(pooled);
    }

    fn connect(&self, origin: &str, deadline: Option<Instant>) -> Result<Connection, ureq::Error> {
        let uri: http::Uri = origin.parse().map_err(|_| ureq::Error::HostNotFound)?;
        let now = Instant::now();
        let mut budget = self.connect_timeout;
        let mut reason = ureq::Timeout::Connect;
        if let Some(left) = deadline.map(|d| d.saturating_duration_since(now)) {
            if left < budget {
                budget = left;
                reason = ureq::Timeout::Global;
            }
        }
        let timeout = NextTimeout {
            after: time::Duration::Exact(budget),
            reason,
            per_read: None,
            per_write: None,
        };
        let addrs = SyncResolver.resolve(&uri, &self.config, timeout)?;
        let shared = self.shared.clone();
        let details = ConnectionDetails {
            uri: &uri,
            addrs,
            config: &self.config,
            request_level: false,
            resolver: &SyncResolver,
            now: time::Instant::Exact(now),
            timeout,
            current_time: Arc::new(|| time::Instant::Exact(Instant::now())),
            // Only a proxy connector runs the chain again; there is none.
            run_connector: Arc::new(|_| Err(ureq::Error::ConnectionFailed)),
            register_shutdown: Arc::new(move |handle| shared.register(handle)),
        };
        // This generation's connector: in a child, a new one (one atomic
        // load per new connection, none per request).
        match self.shared.pool().connector.connect(&details, None)? {
            Some(conn) => Ok(Box::new(conn)),
            None => Err(ureq::Error::ConnectionFailed),
        }
    }

    /// The HTTP/2 connection to `origin` every gRPC call shares: the open
    /// one, else a new one (made with `config`, and `tls` for `https`,
    /// within the connect timeout and `deadline`). One that cannot take
    /// new calls (broken, GOAWAY'd, out of stream ids) is replaced. A
    /// failure is `NotSent`.
    pub fn h2(
        &self,
        origin: &str,
        config: &http2::Config,
        tls: &dyn Fn() -> H2Tls,
        deadline: Option<Instant>,
    ) -> Result<Arc<H2Connection>, CallError> {
        let pool = self.shared.pool();
        {
            let mut open = pool.h2.lock().unwrap_or_else(|p| p.into_inner());
            open.retain(|c| c.is_usable());
            if let Some(conn) = open.iter().find(|c| c.origin() == origin) {
                return Ok(conn.clone());
            }
        }
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(CallError::NotSent(Reason::Closed(
                "the client was shut down".into(),
            )));
        }
        let mut config = config.clone();
        if let Some(left) = deadline.map(|d| d.saturating_duration_since(Instant::now())) {
            if left.is_zero() {
                return Err(CallError::NotSent(Reason::Timeout));
            }
            config.connect_timeout = config.connect_timeout.min(left);
        }
        if origin.starts_with("https://") {
            config.tls = Some(pool.h2_tls.get_or_init(tls).clone());
        }
        // Connected outside the lock; two threads racing keep the first.
        let fresh = H2Connection::connect(origin, config)?;
        let mut open = pool.h2.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = open.iter().find(|c| c.origin() == origin && c.is_usable()) {
            fresh.close();
            return Ok(conn.clone());
        }
        open.push(fresh.clone());
        Ok(fresh)
    }

    /// The v3 auth token this process holds, if any.
    pub fn token(&self) -> Option<Arc<str>> {
        let pool = self.shared.pool();
        let token = pool.token.lock().unwrap_or_else(|p| p.into_inner());
        token.clone()
    }

    /// Replaces the v3 auth token.
    pub fn set_token(&self, token: Option<Arc<str>>) {
        let pool = self.shared.pool();
        *pool.token.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }

    /// Shuts down every connection from any thread, idle or in use
    /// (interrupting I/O blocked on it), and refuses new ones.
    pub fn shutdown_handle(&self) -> Registry {
        Registry(self.shared.clone())
    }
}

/// This thread's mark for connection affinity: a thread takes back the
/// connection it used last when it is idle, and another one only when it has
/// none. Handing out simply the newest one moved connections (their buffers
/// and kernel sockets) between threads and CPUs on every request: with 8
/// threads on one client and 2 CPUs, affinity cut client CPU per GET by a
/// fifth to a quarter (8.7–9.3 to 6.9 µs), etcd's own CPU per request by
/// 0.5–1.6 µs, and raised throughput by 10–17 % (0.84 to 0.94 of wrk).
///
/// The address of a thread-local: unique among live threads, cheap, and
/// without a destructor, so it is there even while thread-locals are torn
/// down (0 if not). A dead thread's mark may be reused; affinity is only a
/// preference.
fn this_thread() -> usize {
    thread_local!(static MARK: u8 = const { 0 });
    MARK.try_with(|m| m as *const u8 as usize).unwrap_or(0)
}

/// Shuts a transport's connections down from another thread.
#[derive(Debug, Clone)]
pub(crate) struct Registry(Arc<Shared>);

impl Shared {
    fn register(&self, socket: Weak<dyn ShutdownHandle>) -> Result<(), ureq::Error> {
        let pool = self.pool();
        let mut sockets = pool.sockets.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock that `shutdown` takes: no socket slips by.
        if self.closed.load(Ordering::Acquire) {
            return Err(ureq::Error::Io(io::Error::other(
                "the client was shut down",
            )));
        }
        if sockets.len() >= 16 && sockets.len().is_power_of_two() {
            sockets.retain(|s| s.strong_count() > 0);
        }
        sockets.push(socket);
        Ok(())
    }
}

impl Registry {
    /// Shuts every socket of this process down, drops the idle
    /// connections, and refuses new ones. The parent's sockets, in a forked
    /// child, are left alone.
    pub fn shutdown(&self) {
        let shared = &self.0;
        shared.closed.store(true, Ordering::Release);
        let Some(pool) = shared.current_pool() else {
            return;
        };
        let sockets = std::mem::take(&mut *pool.sockets.lock().unwrap_or_else(|p| p.into_inner()));
        for socket in sockets.iter().filter_map(Weak::upgrade) {
            socket.shutdown();
        }
        let idle = std::mem::take(&mut *pool.idle.lock().unwrap_or_else(|p| p.into_inner()));
        drop(idle);
        let h2 = std::mem::take(&mut *pool.h2.lock().unwrap_or_else(|p| p.into_inner()));
        for conn in h2 {
            conn.close();
        }
    }
}

/// Resolves endpoint hosts on the calling thread: IP literals directly, host
/// names with the system resolver (bounded by its own timeouts).
///
/// ureq's default resolver spawns a thread per new connection when a timeout
/// is set and waits on it with `recv_timeout`, which also leaves a `Thread`
/// handle allocated on a C program's main thread; a C library must not.
#[derive(Debug)]
struct SyncResolver;

impl Resolver for SyncResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let default_port = if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let port = uri.port_u16().unwrap_or(default_port);
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let mut addrs = self.empty();
        if let Ok(ip) = literal.parse::<IpAddr>() {
            addrs.push(SocketAddr::new(ip, port));
        } else {
            // ureq keeps at most 16 addresses.
            for addr in (host, port).to_socket_addrs()?.take(16) {
                addrs.push(addr);
            }
        }
        if addrs.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addrs)
    }
}

/// Opens plain TCP connections (see the module doc).
#[derive(Debug)]
struct TcpConnector;

impl Connector<()> for TcpConnector {
    type Out = Conn;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> std::result::Result<Option<Conn>, ureq::Error> {
        // One budget for all the addresses of the host, not one each.
        let deadline = details
            .timeout
            .not_zero()
            .map(|t| std::time::Instant::now() + *t);
        let mut last = None;
        for addr in details.addrs.iter() {
            let attempt = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(ureq::Error::Timeout(ureq::Timeout::Connect));
                    }
                    TcpStream::connect_timeout(addr, left)
                }
                None => TcpStream::connect(addr),
            };
            match attempt {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    set_keepalive(&stream)?;
                    let stream = Arc::new(stream);
                    (details.register_shutdown)(
                        Arc::downgrade(&stream) as std::sync::Weak<dyn ShutdownHandle>
                    )?;
                    let buffers = LazyBuffers::new(
                        details.config.input_buffer_size(),
                        details.config.output_buffer_size(),
                    );
                    return Ok(Some(Conn {
                        stream,
                        buffers,
                        read_timeout: None,
                        write_timeout: None,
                    }));
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    last = Some(ureq::Error::Timeout(ureq::Timeout::Connect))
                }
                Err(e) => last = Some(ureq::Error::Io(e)),
            }
        }
        Err(last.unwrap_or(ureq::Error::ConnectionFailed))
    }
}

/// ureq's TLS connector, with its I/O failures named for what they are: a
/// connection that breaks during the TLS handshake never carried the
/// request (an `https` URL for an `http` port: etcd closes on the
/// ClientHello). Timeouts stay timeouts.
#[derive(Debug)]
struct Handshake(RustlsConnector);

impl<In: Transport> Connector<In> for Handshake {
    type Out = <RustlsConnector as Connector<In>>::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained).map_err(|e| match e {
            ureq::Error::Io(io) if crate::transport::tls::is_handshake_break(&io) => {
                ureq::Error::Tls(
                    "the server closed the connection during the TLS handshake \
                     (is this an http endpoint?)",
                )
            }
            other => other,
        })
    }
}

/// TCP keep-alive: a watch without timeout waits on an idle connection for
/// as long as it takes, so a peer that vanished without closing it (a dead
/// host, a dropped route) must be noticed: after 30 s idle, 3 probes 10 s
/// apart, the read fails and the watch reconnects.
pub(crate) fn set_keepalive(stream: &TcpStream) -> io::Result<()> {
    let fd = stream.as_raw_fd();
    for (level, option, value) in [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 30),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 10),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3),
    ] {
        let value: libc::c_int = value;
        // SAFETY: fd is an open socket; value is a valid c_int of the given size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// One TCP connection. The socket is in an `Arc` so that the agent's shutdown
/// handle can interrupt I/O blocked on it from another thread.
#[derive(Debug)]
struct Conn {
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// The socket timeouts last set, to skip redundant `setsockopt` calls.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

/// Sets a socket timeout unless the one in force is already within 1/256 of
/// `budget` (the remaining request budget shrinks by microseconds from one
/// request to the next; re-setting it each time would cost a syscall per I/O).
fn update_timeout(
    current: &mut Option<Duration>,
    budget: Option<Duration>,
    set: impl FnOnce(Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    let close_enough = match (*current, budget) {
        (Some(c), Some(b)) => c.abs_diff(b) <= b / 256,
        (c, b) => c == b,
    };
    if !close_enough {
        set(budget)?;
        *current = budget;
    }
    Ok(())
}

/// Runs `op` again while a signal interrupts it (EINTR). Linux interrupts
/// socket I/O that has a timeout even under `SA_RESTART`, and a retry would
/// start the socket's full timeout anew, so each retry first re-arms it with
/// what is left of `budget` (via `rearm`): signals cannot stretch a deadline.
fn retry_interrupted<T>(
    budget: Option<Duration>,
    mut rearm: impl FnMut(Duration) -> io::Result<()>,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    let start = std::time::Instant::now();
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if let Some(budget) = budget {
                    let left = budget.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                    rearm(left)?;
                }
            }
            other => return other,
        }
    }
}

/// The budget of one I/O call: `Err` when it is spent, `Ok(None)` for no limit.
fn io_budget(timeout: NextTimeout) -> std::result::Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|t| *t))
}

/// Maps a socket error, turning the timeout kinds into ureq's timeout.
fn io_error(e: io::Error, timeout: NextTimeout) -> ureq::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ureq::Error::Timeout(timeout.reason),
        _ => ureq::Error::Io(e),
    }
}

impl Conn {
    /// What has arrived, read without blocking: `WouldBlock` when nothing.
    fn read_arrived(&mut self) -> io::Result<bool> {
        let fd = self.stream.as_raw_fd();
        let input = self.buffers.input_append_buf();
        let (at, len) = (input.as_mut_ptr(), input.len());
        loop {
            // SAFETY: the fd is open for as long as `self.stream` lives; `at`
            // is valid for writes of `len` bytes (the buffer's free part).
            let n = unsafe { libc::recv(fd, at.cast(), len, libc::MSG_DONTWAIT) };
            if let Ok(n) = usize::try_from(n) {
                self.buffers.input_appended(n);
                return Ok(n > 0);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Transport for Conn {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        let budget = io_budget(timeout)?;
        let stream = &*self.stream;
        let cache = &mut self.write_timeout;
        update_timeout(cache, budget, |t| stream.set_write_timeout(t))?;
        let mut output = &self.buffers.output()[..amount];
        while !output.is_empty() {
            let written = retry_interrupted(
                budget,
                |left| {
                    *cache = Some(left);
                    stream.set_write_timeout(Some(left))
                },
                || (&*stream).write(output),
            )
            .map_err(|e| io_error(e, timeout))?;
            if written == 0 {
                return Err(ureq::Error::Io(io::ErrorKind::WriteZero.into()));
            }
            output = &output[written..];
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        if timeout.after.is_zero() {
            // The time is up: only what has arrived, without waiting (a
            // watcher polled with a zero wait takes its answer this way).
            return self.read_arrived().map_err(|e| io_error(e, timeout));
        }
        let budget = io_budget(timeout)?;
        let stream = &*self.stream;
        let cache = &mut self.read_timeout;
        update_timeout(cache, budget, |t| stream.set_read_timeout(t))?;
        let input = self.buffers.input_append_buf();
        let amount = retry_interrupted(
            budget,
            |left| {
                *cache = Some(left);
                stream.set_read_timeout(Some(left))
            },
            || (&*stream).read(input),
        )
        .map_err(|e| io_error(e, timeout))?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    /// Open when a non-blocking peek finds nothing to read: no EOF, no error,
    /// no stray bytes. One syscall, when the pool hands the connection out.
    fn is_open(&mut self) -> bool {
        let mut byte = 0u8;
        // SAFETY: the fd is open for as long as `self.stream` lives; the buffer
        // is one valid byte.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that holds its number as its one unread input byte.
    #[derive(Debug)]
    pub(super) struct Fake {
        buffers: LazyBuffers,
        open: bool,
    }

    impl Transport for Fake {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }
        fn transmit_output(&mut self, _: usize, _: NextTimeout) -> Result<(), ureq::Error> {
            Ok(())
        }
        fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
            Ok(false)
        }
        fn is_open(&mut self) -> bool {
            self.open
        }
    }

    pub(super) fn fake(origin: &str, id: u8, open: bool) -> Pooled {
        let mut buffers = LazyBuffers::new(16, 16);
        buffers.input_append_buf()[0] = id;
        buffers.input_appended(1);
        Pooled {
            origin: origin.to_owned(),
            generation: generation(),
            owner: this_thread(),
            head: Vec::new(),
            conn: Box::new(Fake { buffers, open }),
        }
    }

    fn id(pooled: &mut Pooled) -> u8 {
        pooled.conn.buffers().input()[0]
    }

    fn pool() -> Connections {
        Connections::new(ureq::tls::TlsConfig::default(), Duration::from_secs(1))
    }

    #[test]
    fn the_pool_keeps_the_newest_64_and_hands_out_the_newest_first() {
        let pool = pool();
        for i in 0..70 {
            pool.put(fake("http://a:1", i, true));
        }
        let mut got = Vec::new();
        while let Some(mut p) = pool.take_idle("http://a:1") {
            got.push(id(&mut p));
        }
        assert_eq!(got, (6..70).rev().collect::<Vec<u8>>());
    }

    #[test]
    fn the_pool_skips_closed_connections_and_other_origins() {
        let pool = pool();
        pool.put(fake("http://a:1", 1, true));
        pool.put(fake("http://b:1", 2, true));
        pool.put(fake("http://a:1", 3, false));
        let mut p = pool.take_idle("http://a:1").expect("the open one");
        assert_eq!(id(&mut p), 1);
        // The closed one was dropped on the way, not put back.
        assert!(pool.take_idle("http://a:1").is_none());
        assert_eq!(id(&mut pool.take_idle("http://b:1").unwrap()), 2);
    }

    #[test]
    fn a_thread_takes_back_its_own_connection_first() {
        let pool = pool();
        pool.put(fake("http://a:1", 1, true));
        // Newer, but put back by another thread.
        std::thread::scope(|s| {
            s.spawn(|| pool.put(fake("http://a:1", 2, true)));
        });
        assert_eq!(id(&mut pool.take_idle("http://a:1").unwrap()), 1);
        // With none of its own left, it takes the other thread's.
        assert_eq!(id(&mut pool.take_idle("http://a:1").unwrap()), 2);
        assert_ne!(this_thread(), 0);
    }

    #[test]
    fn a_shut_down_pool_keeps_no_connections() {
        let pool = pool();
        pool.put(fake("http://a:1", 1, true));
        pool.shutdown_handle().shutdown();
        pool.put(fake("http://a:1", 2, true));
        // Shutting down drops the idle connections and takes no new ones.
        assert!(pool.take_idle("http://a:1").is_none());
    }
}

#[cfg(test)]
mod fork_tests {
    use super::*;

    /// In a forked child, the inherited pool's connections are never handed
    /// out (only this process's copies closed) and a new pool is used; the parent's is
    /// untouched. Runs the child's side in a real fork.
    #[test]
    fn a_child_never_takes_the_parents_connections() {
        let pool = Connections::new(ureq::tls::TlsConfig::default(), Duration::from_secs(1));
        let fake = |n: u8| tests::fake("http://a:1", n, true);
        pool.put(fake(1));
        // SAFETY: the child only calls async-signal-safe-enough code of its
        // own (no locks held by other threads: this test holds none) and
        // leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = match pool.take_idle("http://a:1") {
                None => 0,
                Some(_) => 1,
            };
            // The child's own pool works.
            pool.put(fake(2));
            let own = pool
                .take_idle("http://a:1")
                .map(|mut p| p.conn.buffers().input()[0]);
            let code = if own == Some(2) { code } else { 2 };
            // SAFETY: ends the child without running the test harness.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status));
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "1: took the parent's; 2: own pool broken"
        );
        // The parent still has its connection.
        let mut mine = pool
            .take_idle("http://a:1")
            .expect("the parent's connection");
        assert_eq!(mine.conn.buffers().input()[0], 1);
    }
}
