//! A real multi-member etcd 3.4 cluster (`--enable-v2=true`) on free loopback
//! ports, for failover tests.
//!
//! Each member runs from its own keeper thread (as [`super::Etcd`]), so the
//! kernel kills it when the test process ends, however it ends. Members are
//! named `n0`, `n1`, …; their data dirs live under one dir per cluster, which
//! is removed by [`Cluster::stop`] (or by a later run, if the process died).
//! Default raft timing (heartbeat 100 ms, election 1 s), as a real cluster.
//!
//! All methods take `&self`, so one cluster can be shared by many tests (a
//! `static OnceLock<Cluster>`); the tests that kill members must keep the
//! others out while they do (and bring the cluster back with
//! [`Cluster::revive_all`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{data_root, etcd_binary, free_port, keep, remove_stale_dirs, Keeper};

/// How long a member (or the whole cluster) may take to become healthy.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A running cluster.
pub struct Cluster {
    members: Vec<Member>,
    /// `n0=http://…,n1=…`
    initial_cluster: String,
    token: String,
    dir: PathBuf,
}

struct Member {
    name: String,
    port: u16,
    peer_port: u16,
    url: String,
    peer_url: String,
    dir: PathBuf,
    /// `None` while killed.
    keeper: Mutex<Option<Keeper>>,
}

impl Cluster {
    /// Starts an `n`-member cluster and waits until every member reports a
    /// leader (`/health` is `{"health":"true"}`); panics with the members'
    /// logs if that takes over 30 s.
    pub fn start(n: usize) -> Cluster {
        assert!(n > 0);
        remove_stale_dirs();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = data_root().join(format!("{}-cluster{seq}", std::process::id()));
        let members: Vec<Member> = (0..n)
            .map(|i| {
                let (port, peer_port) = (free_port(), free_port());
                let member_dir = dir.join(format!("n{i}"));
                std::fs::create_dir_all(&member_dir).expect("create member data dir");
                Member {
                    name: format!("n{i}"),
                    port,
                    peer_port,
                    url: format!("http://127.0.0.1:{port}"),
                    peer_url: format!("http://127.0.0.1:{peer_port}"),
                    dir: member_dir,
                    keeper: Mutex::new(None),
                }
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        let cluster = Cluster {
            members,
            initial_cluster,
            token: format!("etcdc-test-{}-{seq}", std::process::id()),
            dir,
        };
        for i in 0..n {
            cluster.launch(i, "new");
        }
        for i in 0..n {
            cluster.wait_healthy(i);
        }
        cluster
    }

    fn launch(&self, i: usize, state: &str) {
        let m = &self.members[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.dir.join("etcd.log"))
            .unwrap();
        let mut cmd = Command::new(etcd_binary());
        cmd.arg("--enable-v2=true")
            .args(["--name", &m.name, "--data-dir"])
            .arg(m.dir.join("data"))
            .args(["--listen-client-urls", &m.url])
            .args(["--advertise-client-urls", &m.url])
            .args(["--listen-peer-urls", &m.peer_url])
            .args(["--initial-advertise-peer-urls", &m.peer_url])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", state])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let keeper = keep(cmd, &m.dir);
        *m.keeper.lock().unwrap_or_else(|p| p.into_inner()) = Some(keeper);
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// The members' client URLs, in member order.
    pub fn urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.url.clone()).collect()
    }

    /// Member `i`'s client URL.
    pub fn url(&self, i: usize) -> &str {
        &self.members[i].url
    }

    /// Member `i`'s client port.
    pub fn port(&self, i: usize) -> u16 {
        self.members[i].port
    }

    /// Member `i`'s peer URL.
    pub fn peer_url(&self, i: usize) -> &str {
        &self.members[i].peer_url
    }

    /// Member `i`'s name (`n<i>`).
    pub fn name(&self, i: usize) -> &str {
        &self.members[i].name
    }

    /// The client URLs with member `first` first, then the others in order.
    pub fn urls_from(&self, first: usize) -> Vec<String> {
        let mut urls = vec![self.url(first).to_owned()];
        urls.extend(
            (0..self.len())
                .filter(|&i| i != first)
                .map(|i| self.url(i).to_owned()),
        );
        urls
    }

    /// Whether member `i` runs (was not killed).
    pub fn is_up(&self, i: usize) -> bool {
        self.members[i]
            .keeper
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Kills member `i` (SIGKILL, as a crash) and waits until it is gone;
    /// its data dir is kept for [`restart`](Self::restart).
    pub fn kill(&self, i: usize) {
        let keeper = self.members[i]
            .keeper
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(keeper) = keeper {
            keeper.stop(true);
        }
    }

    /// Stops member `i` (SIGSTOP): it keeps its connections open and answers
    /// nothing, as a hung host does, until [`cont`](Self::cont).
    #[allow(dead_code)]
    pub fn pause(&self, i: usize) {
        self.signal(i, libc::SIGSTOP);
    }

    /// Lets a [`pause`](Self::pause)d member run again.
    #[allow(dead_code)]
    pub fn cont(&self, i: usize) {
        self.signal(i, libc::SIGCONT);
    }

    fn signal(&self, i: usize, signal: libc::c_int) {
        let keeper = self.members[i]
            .keeper
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(keeper) = keeper.as_ref() {
            // SAFETY: a signal to our own child process.
            unsafe { libc::kill(keeper.pid as libc::pid_t, signal) };
        }
    }

    /// Starts member `i` again (killing it first if it runs) on the same
    /// ports with the same data dir (`--initial-cluster-state existing`), and
    /// waits until it reports a leader.
    pub fn restart(&self, i: usize) {
        self.kill(i);
        self.launch(i, "existing");
        self.wait_healthy(i);
    }

    /// Restarts every killed member; then waits until every member is
    /// healthy. Returns an error instead of panicking (for `Drop` guards).
    pub fn revive_all(&self) -> Result<(), String> {
        for i in 0..self.len() {
            if self.is_up(i) {
                self.signal(i, libc::SIGCONT);
            } else {
                self.launch(i, "existing");
            }
        }
        for i in 0..self.len() {
            self.try_wait_healthy(i, READY_WITHIN)?;
        }
        Ok(())
    }

    /// Kills every member and removes the data dirs.
    pub fn stop(self) {
        drop(self);
    }

    /// Waits until member `i` answers `/health` with `{"health":"true"}`;
    /// panics with its log after 30 s.
    pub fn wait_healthy(&self, i: usize) {
        if let Err(e) = self.try_wait_healthy(i, READY_WITHIN) {
            panic!("{e}");
        }
    }

    fn try_wait_healthy(&self, i: usize, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if self.is_healthy(i) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "member {} not healthy within {within:?}; logs:\n{}",
                    self.name(i),
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether member `i` answers `/health` with `{"health":"true"}` now.
    pub fn is_healthy(&self, i: usize) -> bool {
        let Some((200, body)) = http_get(self.port(i), "/health") else {
            return false;
        };
        serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v["health"] == "true")
    }

    /// Member `i`'s `/v2/stats/self`, if it answers.
    pub fn stats_self(&self, i: usize) -> Option<serde_json::Value> {
        match http_get(self.port(i), "/v2/stats/self")? {
            (200, body) => serde_json::from_str(&body).ok(),
            _ => None,
        }
    }

    /// The member that says it leads (`state` `StateLeader` in
    /// `/v2/stats/self`) and that every other running member follows
    /// (`leaderInfo.leader`), if there is one now.
    pub fn try_leader_index(&self) -> Option<usize> {
        let stats: Vec<Option<serde_json::Value>> = (0..self.len())
            .map(|i| {
                if self.is_up(i) {
                    self.stats_self(i)
                } else {
                    None
                }
            })
            .collect();
        let leader = stats
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s["state"] == "StateLeader"))?;
        let id = stats[leader].as_ref()?["id"].clone();
        let agreed = stats
            .iter()
            .flatten()
            .all(|s| s["leaderInfo"]["leader"] == id);
        agreed.then_some(leader)
    }

    /// The leading member; waits (at most 15 s) while there is none.
    pub fn leader_index(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(i) = self.try_leader_index() {
                return i;
            }
            if Instant::now() > deadline {
                panic!("no leader within 15 s; logs:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client for every member, member 0 first.
    pub fn client(&self) -> etcdc::Client {
        etcdc::Client::builder()
            .endpoints(self.urls())
            .build()
            .expect("client")
    }

    /// The tail of every member's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let log = std::fs::read_to_string(m.dir.join("etcd.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(30)..];
            out.push_str(&format!("--- {} ---\n{}\n", m.name, tail.join("\n")));
        }
        out
    }
}

/// An etcd started to join a running cluster as a new member (added to
/// it first, e.g. as a learner); killed when dropped.
#[allow(dead_code)]
pub struct Joiner {
    /// Its client URL.
    pub url: String,
    keeper: Keeper,
}

impl Cluster {
    /// Starts an etcd named `name` with `peer_url` (a member already added
    /// with that URL) that joins the cluster whose members are
    /// `initial_cluster` (`name=peer_url,…`, itself included), on a free
    /// client port; its data dir is under the cluster's. Does not wait.
    #[allow(dead_code)]
    pub fn join(&self, name: &str, peer_url: &str, initial_cluster: &str) -> Joiner {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).expect("create the joiner's data dir");
        let url = format!("http://127.0.0.1:{}", free_port());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("etcd.log"))
            .unwrap();
        let mut cmd = Command::new(etcd_binary());
        cmd.arg("--enable-v2=true")
            .args(["--name", name, "--data-dir"])
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &url])
            .args(["--advertise-client-urls", &url])
            .args(["--listen-peer-urls", peer_url])
            .args(["--initial-advertise-peer-urls", peer_url])
            .args(["--initial-cluster", initial_cluster])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", "existing"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        Joiner {
            url,
            keeper: keep(cmd, &dir),
        }
    }
}

impl Drop for Joiner {
    /// Kills it, waits until it is gone, removes its data dir.
    fn drop(&mut self) {
        self.keeper.stop(false);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &self.members {
            let keeper = m.keeper.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(keeper) = keeper {
                keeper.stop(false);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1:`port` (at most 2 s): status and body.
/// Independent of the client under test.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let timeout = Duration::from_secs(2);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}
