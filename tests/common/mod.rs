//! Test harness: a real etcd 3.4 (`--enable-v2=true`) on free loopback ports
//! with a temporary data dir.
//!
//! [`shared`] starts one etcd per test binary (for tests that use their own
//! key prefixes and cannot disturb each other); [`Etcd::start`] starts a
//! private one, and [`Etcd::start_with`] one with [`Options`] (e.g. without
//! the v2 API). Each etcd is started from a keeper thread that lives until the
//! test process exits, with `PR_SET_PDEATHSIG`, so the kernel kills etcd when
//! the test binary ends, however it ends. The keeper removes its data dir when
//! etcd is stopped; dirs left by killed runs are removed by the next run.
//! [`Etcd::restart`] (or [`Etcd::kill`] then [`Etcd::resume`]) kills a private
//! etcd and starts it again on the same ports with the same data dir.
//!
//! [`Etcd::start_binary_args`] passes etcd more arguments (e.g.
//! `--auth-token-ttl=1`).
//!
//! [`Etcd::start_tls`] starts one that serves its clients over https only
//! (peers stay on http), with certificates from [`tls::pki`]; its `url` is
//! then `https://127.0.0.1:PORT`.
//!
//! [`cluster::Cluster`] starts a real 3-member (or n-member) cluster the same
//! way, one keeper per member.
//!
//! [`etcd35`] finds etcd 3.5.1's upstream `etcd` and `etcdctl` (installing them
//! with scripts/ensure-etcd35.sh) and starts that etcd the same way
//! ([`Etcd::start_binary`] starts any other binary).
//!
//! [`Relay`] is a TCP relay to put between a client and etcd, to count the
//! client's connections, cut them, or hold new ones.
#![allow(dead_code)]

pub mod cluster;
pub mod dns;
pub mod etcd35;
pub mod fault;
pub mod h2peer;
pub mod tls;
pub mod versions;

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running etcd.
pub struct Etcd {
    /// Client URL, e.g. `http://127.0.0.1:41234`, or
    /// `https://127.0.0.1:41234` for a TLS etcd.
    pub url: String,
    /// Client port (on 127.0.0.1).
    pub port: u16,
    peer_port: u16,
    dir: PathBuf,
    /// The etcd binary it runs (and runs again on a restart).
    binary: PathBuf,
    options: Options,
    /// More arguments for etcd ([`Etcd::start_binary_args`]).
    extra_args: Vec<String>,
    tls: Option<tls::ServerTls>,
    keeper: Keeper,
}

/// The thread that owns one etcd process (see the module doc).
struct Keeper {
    /// The etcd process, for signals (SIGSTOP/SIGCONT).
    pid: u32,
    /// `true`: kill etcd but keep its data dir (for a restart).
    stop: mpsc::Sender<bool>,
    stopped: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl Keeper {
    /// Kills etcd and waits (at most 10 s) until it is gone.
    fn stop(&self, keep_dir: bool) {
        let _ = self.stop.send(keep_dir);
        if let Ok(stopped) = self.stopped.lock() {
            let _ = stopped.recv_timeout(Duration::from_secs(10));
        }
    }
}

/// The etcd shared by all tests of this binary.
pub fn shared() -> &'static Etcd {
    static ETCD: OnceLock<Etcd> = OnceLock::new();
    ETCD.get_or_init(Etcd::start)
}

/// A key prefix no other test uses: `/t/<test name>-<n>`.
pub fn prefix(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("/t/{name}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A client for the shared etcd.
pub fn client() -> etcdc::Client {
    shared().client()
}

/// etcd's metric `name` from its /metrics, summed over the series whose
/// labels contain `labels` (e.g. `grpc_method="LeaseKeepAlive"`; "" for
/// all; 0 when no series has them yet). Panics if etcd has no such metric.
pub fn metric(url: &str, name: &str, labels: &str) -> u64 {
    let body = ureq::get(&format!("{url}/metrics"))
        .call()
        .expect("metrics")
        .into_body()
        .read_to_string()
        .expect("metrics body");
    assert!(
        body.contains(&format!("# TYPE {name} ")),
        "etcd has no metric {name}"
    );
    body.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with(['{', ' ']))
        })
        .filter(|l| l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A loopback port nobody listens on (bound, then released).
pub fn dead_port() -> u16 {
    free_port()
}

/// A loopback port free now, below the kernel's ephemeral range.
///
/// A port from `bind(0)` lies in the ephemeral range
/// (`net.ipv4.ip_local_port_range`, 32768–60999 by default), where any
/// outgoing connection may take it as its local port before etcd binds it,
/// or while a killed member waits for its restart: etcd then dies with
/// "address already in use". Ports below the range are handed out only by
/// this counter (each at most once per process), from a start that depends
/// on the process id so that concurrent test binaries pick different ones,
/// and each is checked free with a bind.
fn free_port() -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    const LOW: u64 = 10_000;
    let high = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(32_768)
        .min(65_536);
    if high > LOW + 1_000 {
        let span = high - LOW;
        let start = u64::from(std::process::id()).wrapping_mul(7_919) % span;
        for _ in 0..span {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let port = (LOW + (start + n) % span) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .unwrap()
        .port()
}

fn etcd_binary() -> String {
    std::env::var("ETCD_BIN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "etcd".into())
}

fn data_root() -> PathBuf {
    std::env::temp_dir().join("etcdc-tests")
}

/// Removes data dirs of test processes that no longer exist.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(data_root()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !PathBuf::from(format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// How to start a private etcd with [`Etcd::start_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Pass `--enable-v2=true` (default). Without it etcd 3.4 answers
    /// `/v2/keys` with a plain 404.
    pub enable_v2: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { enable_v2: true }
    }
}

impl Etcd {
    /// Starts an etcd with the v2 API and waits until it answers; panics with
    /// etcd's log if it does not within 20 s.
    pub fn start() -> Etcd {
        Etcd::start_with(Options::default())
    }

    /// Starts an etcd with `options` and waits until it answers (`/v2/keys/`
    /// with v2, `/version` without); panics with etcd's log if it does not
    /// within 20 s.
    pub fn start_with(options: Options) -> Etcd {
        Etcd::start_inner(etcd_binary().into(), options, None, Vec::new())
    }

    /// [`start_with`](Self::start_with) running `binary` (e.g. an etcd 3.5,
    /// see [`etcd35`]) instead of the default etcd.
    pub fn start_binary(binary: impl Into<PathBuf>, options: Options) -> Etcd {
        Etcd::start_inner(binary.into(), options, None, Vec::new())
    }

    /// [`start_binary`](Self::start_binary) with more arguments for etcd
    /// (e.g. `--auth-token-ttl=1`), kept for a restart. (Not a field of
    /// [`Options`]: callers build `Options` literally.)
    pub fn start_binary_args(
        binary: impl Into<PathBuf>,
        options: Options,
        extra_args: &[&str],
    ) -> Etcd {
        let extra_args = extra_args.iter().map(|a| (*a).to_owned()).collect();
        Etcd::start_inner(binary.into(), options, None, extra_args)
    }

    /// The etcd binary this one runs (the default one: 3.4, or `ETCD_BIN`).
    pub fn default_binary() -> PathBuf {
        etcd_binary().into()
    }

    /// Starts an etcd with `options` that serves clients over https only
    /// (`--cert-file`, `--key-file`, and with `tls.client_cert_auth`
    /// `--trusted-ca-file` and `--client-cert-auth`; peers stay on http),
    /// and waits until it answers (checked with `curl`, through `tls.ca`
    /// and `tls.probe_cert`); panics with etcd's log if it does not within 20 s.
    pub fn start_tls(options: Options, tls: tls::ServerTls) -> Etcd {
        Etcd::start_inner(etcd_binary().into(), options, Some(tls), Vec::new())
    }

    fn start_inner(
        binary: PathBuf,
        options: Options,
        tls: Option<tls::ServerTls>,
        extra_args: Vec<String>,
    ) -> Etcd {
        remove_stale_dirs();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = data_root().join(format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create etcd data dir");
        let (port, peer_port) = (free_port(), free_port());
        let keeper = launch(
            &binary,
            &dir,
            port,
            peer_port,
            &options,
            &extra_args,
            tls.as_ref(),
        );
        let scheme = if tls.is_some() { "https" } else { "http" };
        let etcd = Etcd {
            url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            peer_port,
            dir,
            binary,
            options,
            extra_args,
            tls,
            keeper,
        };
        etcd.wait_until_ready();
        etcd
    }

    /// Kills etcd (SIGKILL, as a crash) and starts it again on the same ports
    /// with the same data dir; returns once it answers. What etcd acknowledged
    /// before survives (it syncs its WAL before answering a write).
    pub fn restart(&mut self) {
        self.kill();
        self.resume();
    }

    /// Kills etcd (SIGKILL) but keeps its data dir, for [`resume`](Self::resume):
    /// while it is down, its port refuses connections.
    pub fn kill(&mut self) {
        self.keeper.stop(true);
    }

    /// Starts a [`kill`](Self::kill)ed etcd again on the same ports with the
    /// same data dir; returns once it answers.
    pub fn resume(&mut self) {
        self.keeper = launch(
            &self.binary,
            &self.dir,
            self.port,
            self.peer_port,
            &self.options,
            &self.extra_args,
            self.tls.as_ref(),
        );
        self.wait_until_ready();
    }

    /// This etcd's peer URL, e.g. `http://127.0.0.1:41235`.
    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// What etcd has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default()
    }

    /// Whether this etcd serves its clients over https.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// This etcd's client URL with another host name, e.g.
    /// `https://localhost:41234`.
    pub fn url_with_host(&self, host: &str) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.port)
    }

    /// Waits until etcd answers; panics with its log after 20 s.
    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(tls) = &self.tls {
                if self.answers_https(tls) {
                    return;
                }
            } else if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let req = if self.options.enable_v2 {
                    "GET /v2/keys/ HTTP/1.0\r\nHost: x\r\n\r\n"
                } else {
                    "GET /version HTTP/1.0\r\nHost: x\r\n\r\n"
                };
                let mut answer = String::new();
                if s.write_all(req.as_bytes()).is_ok()
                    && s.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.0 200")
                {
                    return;
                }
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
                panic!("etcd did not start within 20 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a `curl` through `tls` gets a 200 from etcd.
    fn answers_https(&self, tls: &tls::ServerTls) -> bool {
        let path = if self.options.enable_v2 {
            "/v2/keys/"
        } else {
            "/version"
        };
        let out = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "2",
            ])
            .arg("--cacert")
            .arg(&tls.ca)
            .arg("--cert")
            .arg(&tls.probe_cert)
            .arg("--key")
            .arg(&tls.probe_key)
            .arg(format!("{}{path}", self.url))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run curl to check a TLS etcd: {e}"));
        out.stdout == b"200"
    }

    /// A client for this etcd (over http: for a TLS etcd, build one with
    /// the certificates of [`tls::pki`]).
    pub fn client(&self) -> etcdc::Client {
        etcdc::Client::builder()
            .endpoints([self.url.as_str()])
            .build()
            .expect("client")
    }

    /// Kills etcd and removes its data dir.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.keeper.stop(false);
    }
}

/// Runs `binary` (an etcd) on `port`/`peer_port` with its data in `dir`
/// (appending to `dir/etcd.log`), from a new keeper thread. Does not wait
/// until it answers.
fn launch(
    binary: &Path,
    dir: &Path,
    port: u16,
    peer_port: u16,
    options: &Options,
    extra_args: &[String],
    tls: Option<&tls::ServerTls>,
) -> Keeper {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://127.0.0.1:{port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("etcd.log"))
        .unwrap();
    let mut cmd = Command::new(binary);
    cmd.arg(format!("--enable-v2={}", options.enable_v2))
        .args(["--name", "n1", "--data-dir"])
        .arg(dir.join("data"))
        .args([
            "--listen-client-urls",
            &url,
            "--advertise-client-urls",
            &url,
        ])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .arg("--initial-cluster")
        .arg(format!("n1={peer_url}"))
        .args(extra_args);
    if let Some(tls) = tls {
        cmd.arg("--cert-file")
            .arg(&tls.cert)
            .arg("--key-file")
            .arg(&tls.key);
        if tls.client_cert_auth {
            cmd.arg("--trusted-ca-file")
                .arg(&tls.ca)
                .arg("--client-cert-auth");
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    keep(cmd, dir)
}

/// Runs `cmd` (an etcd) from a new keeper thread that kills it, with
/// `PR_SET_PDEATHSIG`, when the test process ends, and removes `dir` when it
/// is stopped for good. Does not wait until it answers.
fn keep(mut cmd: Command, dir: &Path) -> Keeper {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (started_tx, started_rx) = mpsc::channel::<Result<u32, String>>();
    let (stop_tx, stop_rx) = mpsc::channel::<bool>();
    let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
    let keeper_dir = dir.to_owned();
    // The keeper owns the child: PDEATHSIG fires when the thread that forked
    // exits, so that thread must live as long as etcd should.
    std::thread::spawn(move || {
        let mut child: Child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = started_tx.send(Err(format!(
                    "cannot run {}: {e} (install Debian's etcd-server, or set ETCD_BIN)",
                    etcd_binary()
                )));
                return;
            }
        };
        let _ = started_tx.send(Ok(child.id()));
        // Until stop(), restart() or the process exits.
        let keep_dir = stop_rx.recv().unwrap_or(false);
        let _ = child.kill();
        let _ = child.wait();
        if !keep_dir {
            let _ = std::fs::remove_dir_all(&keeper_dir);
        }
        let _ = stopped_tx.send(());
    });
    let pid = started_rx.recv().unwrap().unwrap_or_else(|e| panic!("{e}"));
    Keeper {
        pid,
        stop: stop_tx,
        stopped: std::sync::Mutex::new(stopped_rx),
    }
}

/// A loopback TCP relay in front of a port, for tests that count or cut
/// connections: each accepted connection is joined to a new one to the
/// upstream port by two copying threads.
pub struct Relay {
    /// URL to give a client instead of the upstream's, e.g. `http://127.0.0.1:41235`.
    pub url: String,
    state: Arc<(Mutex<RelayState>, Condvar)>,
}

#[derive(Default)]
struct RelayState {
    accepted: usize,
    next_id: u64,
    /// Live connections: id, client side, upstream side.
    live: Vec<(u64, TcpStream, TcpStream)>,
    /// New connections wait (accepted, not yet joined upstream) while set.
    held: bool,
}

impl Relay {
    /// Starts relaying a new loopback port to `upstream` (a port on 127.0.0.1).
    pub fn start(upstream: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new((Mutex::new(RelayState::default()), Condvar::new()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(client_side) = stream else { return };
                let state = shared.clone();
                std::thread::spawn(move || relay_one(client_side, upstream, &state));
            }
        });
        Relay { url, state }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.0.lock().unwrap().accepted
    }

    /// Connections joined upstream and still open.
    pub fn live(&self) -> usize {
        self.state.0.lock().unwrap().live.len()
    }

    /// Cuts every live connection: both sides are shut down, so the client
    /// reads EOF (or gets a reset) however far its request got. Returns how
    /// many were cut.
    pub fn cut(&self) -> usize {
        let live = std::mem::take(&mut self.state.0.lock().unwrap().live);
        for (_, client_side, upstream_side) in &live {
            let _ = client_side.shutdown(std::net::Shutdown::Both);
            let _ = upstream_side.shutdown(std::net::Shutdown::Both);
        }
        live.len()
    }

    /// While held, new connections are accepted but not joined upstream (a
    /// request sent on them waits); [`release`](Self::release) joins them.
    pub fn hold(&self) {
        self.state.0.lock().unwrap().held = true;
    }

    /// Ends [`hold`](Self::hold).
    pub fn release(&self) {
        self.state.0.lock().unwrap().held = false;
        self.state.1.notify_all();
    }

    /// Waits until some connection has been accepted since `accepted` was
    /// read; false after `within`.
    pub fn wait_accepted_beyond(&self, accepted: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.accepted() <= accepted {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

fn relay_one(client_side: TcpStream, upstream: u16, state: &(Mutex<RelayState>, Condvar)) {
    let (lock, released) = state;
    let id = {
        let mut s = lock.lock().unwrap();
        s.accepted += 1;
        while s.held {
            s = released.wait(s).unwrap();
        }
        s.next_id += 1;
        s.next_id
    };
    let Ok(upstream_side) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return; // dropping client_side closes it
    };
    let _ = upstream_side.set_nodelay(true);
    let _ = client_side.set_nodelay(true);
    let (Ok(c), Ok(u)) = (client_side.try_clone(), upstream_side.try_clone()) else {
        return;
    };
    lock.lock().unwrap().live.push((id, c, u));
    let (Ok(mut from_client), Ok(mut to_upstream)) =
        (client_side.try_clone(), upstream_side.try_clone())
    else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(std::net::Shutdown::Write);
    });
    let (mut from_upstream, mut to_client) = (upstream_side, client_side);
    let _ = std::io::copy(&mut from_upstream, &mut to_client);
    let _ = to_client.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    lock.lock().unwrap().live.retain(|(i, _, _)| *i != id);
}

/// Panics if `shown` (an error or a `Debug` print, described by `what`)
/// holds `password`, or the basic-auth encoding of `user:password` (the
/// `Authorization` header's value), or the password percent-encoded.
pub fn assert_no_credentials(what: &str, shown: &str, user: &str, password: &str) {
    let encoded = base64(format!("{user}:{password}").as_bytes());
    let escaped: String = password
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    for secret in [password, encoded.as_str(), escaped.as_str()] {
        assert!(
            !shown.contains(secret),
            "{what} shows the credentials ({secret:?}): {shown}"
        );
    }
}

/// Standard base64 with padding (RFC 4648).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
