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
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running etcd.
pub struct Etcd {
    /// Client URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    pub port: u16,
    stop: mpsc::Sender<()>,
    stopped: std::sync::Mutex<mpsc::Receiver<()>>,
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

/// A loopback port nobody listens on (bound, then released).
pub fn dead_port() -> u16 {
    free_port()
}

fn free_port() -> u16 {
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
        remove_stale_dirs();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = data_root().join(format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create etcd data dir");
        let (port, peer) = (free_port(), free_port());
        let url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let mut cmd = Command::new(etcd_binary());
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
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (started_tx, started_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let keeper_dir = dir.clone();
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
            let _ = started_tx.send(Ok(()));
            let _ = stop_rx.recv(); // until stop() or the process exits
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&keeper_dir);
            let _ = stopped_tx.send(());
        });
        if let Err(e) = started_rx.recv().unwrap() {
            panic!("{e}");
        }
        let etcd = Etcd {
            url,
            port,
            stop: stop_tx,
            stopped: std::sync::Mutex::new(stopped_rx),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let req = if options.enable_v2 {
                    "GET /v2/keys/ HTTP/1.0\r\nHost: x\r\n\r\n"
                } else {
                    "GET /version HTTP/1.0\r\nHost: x\r\n\r\n"
                };
                let mut answer = String::new();
                if s.write_all(req.as_bytes()).is_ok()
                    && s.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.0 200")
                {
                    return etcd;
                }
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("etcd.log")).unwrap_or_default();
                panic!("etcd did not start within 20 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client for this etcd.
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
        let _ = self.stop.send(());
        if let Ok(stopped) = self.stopped.lock() {
            let _ = stopped.recv_timeout(Duration::from_secs(10));
        }
    }
}
