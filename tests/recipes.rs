//! The lock and leader-election recipes against a real etcd 3.4: mutual
//! exclusion between processes, holders and leaders that die (SIGKILL),
//! timeouts that leave nothing behind, fair in-order granting, expiry, renew,
//! release, drop, guards, cancellation, and the election's set/get/delete/
//! renew/watch.
//!
//! Tests that need other processes re-run this test binary as a child
//! (`--exact child_process`) with the `ETCDC_RECIPE_*` variables saying what
//! to do; without them `child_process` does nothing.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{client, prefix, Etcd, Relay};
use etcdc::{Client, Error, Lock, LockOptions, ReadOptions};

const ZERO: Duration = Duration::ZERO;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn lock_opts(prefix: &str, ttl: u64) -> LockOptions {
    LockOptions {
        ttl,
        prefix: prefix.into(),
    }
}

/// The keys of a lock's directory, in arrival order (empty if it is gone).
fn contenders(c: &Client, dir: &str) -> Vec<String> {
    let opts = ReadOptions {
        sorted: true,
        ..ReadOptions::default()
    };
    match c.read(dir, &opts) {
        Ok(r) => r.node.nodes.into_iter().map(|n| n.key).collect(),
        Err(Error::KeyNotFound(_)) => Vec::new(),
        Err(e) => panic!("read {dir}: {e}"),
    }
}

/// Polls `cond` every 10 ms; panics with `what` after `within`.
fn wait_until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        thread::sleep(ms(10));
    }
}

/// How many watches `etcd` is serving now (from its store statistics).
fn watchers(etcd: &Etcd) -> usize {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", etcd.port)).unwrap();
    s.write_all(b"GET /v2/stats/store HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (_, rest) = answer
        .split_once("\"watchers\":")
        .unwrap_or_else(|| panic!("no watchers in {answer:?}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// Asserts `elapsed` lies in `[low, high]`.
fn assert_between(elapsed: Duration, low: Duration, high: Duration, what: &str) {
    assert!(
        elapsed >= low && elapsed <= high,
        "{what}: took {elapsed:?}, expected between {low:?} and {high:?}"
    );
}

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

const ROLE: &str = "ETCDC_RECIPE_ROLE";
const ENDPOINT: &str = "ETCDC_RECIPE_ENDPOINT";
const PREFIX: &str = "ETCDC_RECIPE_PREFIX";
const NAME: &str = "ETCDC_RECIPE_NAME";
const COUNTER: &str = "ETCDC_RECIPE_COUNTER";
const ROUNDS: &str = "ETCDC_RECIPE_ROUNDS";
const RENEW_MS: &str = "ETCDC_RECIPE_RENEW_MS";

/// What the line a child prints once it holds the lock or leads.
const HOLDING: &str = "ETCDC-RECIPE-CHILD-HOLDING";

/// Not a test: the body of the child processes the other tests start. Does
/// nothing unless `ETCDC_RECIPE_ROLE` is set.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("child needs {name}"));
    let c = Client::builder()
        .endpoints([var(ENDPOINT)])
        .build()
        .expect("child client");
    let prefix = var(PREFIX);
    let name = var(NAME);
    match role.as_str() {
        // Increments the counter `ROUNDS` times, by read-modify-write
        // without any compare-and-swap, under the lock.
        "counter" => {
            let counter = var(COUNTER);
            let n: u32 = var(ROUNDS).parse().unwrap();
            let mut lock = c.lock(&name, &lock_opts(&prefix, 10)).unwrap();
            for i in 0..n {
                lock.acquire(Some(secs(60)))
                    .unwrap_or_else(|e| panic!("iteration {i}: acquire: {e}"));
                let value: u64 = c
                    .get(&counter)
                    .unwrap()
                    .node
                    .value
                    .unwrap()
                    .parse()
                    .unwrap();
                c.set(&counter, &(value + 1).to_string()).unwrap();
                lock.release()
                    .unwrap_or_else(|e| panic!("iteration {i}: release: {e}"));
            }
            println!("ETCDC-RECIPE-CHILD-DONE {n}");
        }
        // Takes the lock with a 2 s TTL, says so, and sleeps until killed;
        // with `RENEW_MS` it renews the lock that often meanwhile.
        "lock-holder" => {
            let renew = std::env::var(RENEW_MS).ok().map(|v| ms(v.parse().unwrap()));
            let mut lock = c.lock(&name, &lock_opts(&prefix, 2)).unwrap();
            lock.acquire(Some(secs(10))).unwrap();
            println!("{HOLDING}");
            loop {
                match renew {
                    Some(every) => {
                        thread::sleep(every);
                        lock.renew(2).unwrap();
                    }
                    None => thread::sleep(secs(3600)),
                }
            }
        }
        // Becomes leader of election `NAME` as "child" with a 2 s TTL, says
        // so, and sleeps until killed.
        "leader" => {
            c.election_under(&prefix)
                .set(&name, "child", 2, Some(secs(10)))
                .unwrap();
            println!("{HOLDING}");
            loop {
                thread::sleep(secs(3600));
            }
        }
        other => panic!("unknown child role {other:?}"),
    }
}

/// A child process running [`child_process`]; killed (SIGKILL) when dropped.
struct Child {
    child: std::process::Child,
    /// Its stdout and stderr, line by line.
    lines: mpsc::Receiver<String>,
    /// Every line received so far, for failure messages.
    seen: Vec<String>,
}

impl Child {
    fn spawn(role: &str, vars: &[(&str, &str)]) -> Child {
        // This very binary, even if a build replaced its file meanwhile.
        let exe = match std::path::Path::new("/proc/self/exe") {
            p if p.exists() => p.to_owned(),
            _ => std::env::current_exe().expect("current_exe"),
        };
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(ENDPOINT, &common::shared().url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        // SAFETY: prctl is async-signal-safe. The child dies with the thread
        // that started it (the test), however the test ends.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {exe:?} as a child: {e}"));
        let (tx, lines) = mpsc::channel();
        fn forward(from: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
            thread::spawn(move || {
                for line in BufReader::new(from).lines() {
                    let Ok(line) = line else { return };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        forward(child.stdout.take().unwrap(), tx.clone());
        forward(child.stderr.take().unwrap(), tx);
        Child {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until the child prints `marker`; panics (with its output) after
    /// `within`.
    fn wait_for(&mut self, marker: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(marker);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "child did not print {marker:?} within {within:?}; its output:\n{}",
                    self.output()
                ),
            }
        }
    }

    /// Waits until the child exits; panics (with its output) after `within`.
    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "child did not exit within {within:?}; its output:\n{}",
                    self.output()
                );
            }
            thread::sleep(ms(20));
        }
    }

    /// What it printed so far.
    fn output(&mut self) -> String {
        self.seen.extend(self.lines.try_iter());
        self.seen.join("\n")
    }

    /// SIGKILL, then reaps it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------

/// 4 processes × 100 iterations increment a counter by get, parse and set
/// (no compare-and-swap) under the lock: no increment is lost.
#[test]
fn lock_excludes_other_processes() {
    const PROCESSES: usize = 4;
    const ITERATIONS: u64 = 100;
    let c = client();
    let p = prefix("lock_processes");
    let counter = format!("{p}/counter");
    c.set(&counter, "0").unwrap();
    let started = Instant::now();
    let n = ITERATIONS.to_string();
    let mut children: Vec<Child> = (0..PROCESSES)
        .map(|_| {
            Child::spawn(
                "counter",
                &[
                    (PREFIX, &p),
                    (NAME, "mutex"),
                    (COUNTER, &counter),
                    (ROUNDS, &n),
                ],
            )
        })
        .collect();
    for child in &mut children {
        let status = child.wait(secs(60));
        assert!(
            status.success(),
            "a child failed ({status}); its output:\n{}",
            child.output()
        );
    }
    let count: u64 = c
        .get(&counter)
        .unwrap()
        .node
        .value
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(count, PROCESSES as u64 * ITERATIONS, "increments were lost");
    assert!(
        contenders(&c, &format!("{p}/mutex")).is_empty(),
        "keys left behind"
    );
    eprintln!(
        "{PROCESSES} processes x {ITERATIONS} locked increments: {:?}",
        started.elapsed()
    );
}

/// The same with threads of one process, each with its own handle.
#[test]
fn lock_excludes_other_threads() {
    const THREADS: usize = 4;
    const ITERATIONS: u64 = 25;
    let c = client();
    let p = prefix("lock_threads");
    let counter = format!("{p}/counter");
    c.set(&counter, "0").unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (p, counter) = (p.clone(), counter.clone());
            thread::spawn(move || {
                let c = client();
                let mut lock = c.lock("mutex", &lock_opts(&p, 10)).unwrap();
                for _ in 0..ITERATIONS {
                    lock.acquire(Some(secs(30))).unwrap();
                    let value: u64 = c
                        .get(&counter)
                        .unwrap()
                        .node
                        .value
                        .unwrap()
                        .parse()
                        .unwrap();
                    c.set(&counter, &(value + 1).to_string()).unwrap();
                    lock.release().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let count: u64 = c
        .get(&counter)
        .unwrap()
        .node
        .value
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(count, THREADS as u64 * ITERATIONS, "increments were lost");
    assert!(contenders(&c, &format!("{p}/mutex")).is_empty());
}

/// Starts a thread that acquires `lock` (at most `timeout`) and reports
/// when it returned; the lock comes back through the channel too.
fn acquire_in_thread(
    mut lock: Lock,
    timeout: Option<Duration>,
) -> mpsc::Receiver<(etcdc::Result<()>, Instant, Lock)> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let outcome = lock.acquire(timeout);
        let _ = tx.send((outcome, Instant::now(), lock));
    });
    rx
}

/// A holder process acquires with ttl=2 and then sleeps; SIGKILLed, its key
/// expires after the TTL and the waiter gets the lock then: not before the
/// kill, not much before the TTL ran out, and within TTL + 2 s.
#[test]
fn lock_of_killed_holder_passes_on_after_ttl() {
    let c = client();
    let p = prefix("lock_killed");
    let dir = format!("{p}/killed");
    let mut holder = Child::spawn("lock-holder", &[(PREFIX, &p), (NAME, "killed")]);
    holder.wait_for(HOLDING, secs(15));
    let holding_since = Instant::now();
    assert_eq!(contenders(&c, &dir).len(), 1, "the holder's key");

    let waiter = c.lock("killed", &lock_opts(&p, 10)).unwrap();
    let done = acquire_in_thread(waiter, Some(secs(15)));
    wait_until(secs(5), "the waiter queues", || {
        contenders(&c, &dir).len() == 2
    });
    assert!(done.try_recv().is_err(), "acquired while the holder lived");
    holder.kill();
    let killed = Instant::now();

    let (outcome, acquired, mut waiter) = done.recv_timeout(secs(10)).expect("acquire returns");
    outcome.expect("the waiter gets the lock");
    assert!(acquired >= killed, "acquired before the kill");
    assert_between(
        acquired - killed,
        ZERO,
        secs(2 + 2),
        "lock passed on after the kill",
    );
    assert!(
        acquired - holding_since >= ms(1500),
        "the holder's key lasted only {:?} of its 2 s TTL",
        acquired - holding_since
    );
    assert!(waiter.is_locked().unwrap());
    assert_eq!(contenders(&c, &dir), [waiter.key().unwrap().to_owned()]);
    waiter.release().unwrap();
}

/// A holder process renews its ttl=2 lock every 500 ms: the waiter waits well
/// past the TTL; SIGKILLed, the holder stops renewing and the waiter gets the
/// lock about one TTL after the kill.
#[test]
fn lock_of_renewing_holder_passes_on_only_after_kill() {
    let c = client();
    let p = prefix("lock_renewing_killed");
    let dir = format!("{p}/renewing");
    let mut holder = Child::spawn(
        "lock-holder",
        &[(PREFIX, &p), (NAME, "renewing"), (RENEW_MS, "500")],
    );
    holder.wait_for(HOLDING, secs(15));

    let waiter = c.lock("renewing", &lock_opts(&p, 10)).unwrap();
    let done = acquire_in_thread(waiter, Some(secs(20)));
    wait_until(secs(5), "the waiter queues", || {
        contenders(&c, &dir).len() == 2
    });
    thread::sleep(ms(3000));
    assert!(
        done.try_recv().is_err(),
        "acquired while the holder lived and renewed"
    );
    holder.kill();
    let killed = Instant::now();

    let (outcome, acquired, mut waiter) = done.recv_timeout(secs(10)).expect("acquire returns");
    outcome.expect("the waiter gets the lock");
    assert_between(
        acquired - killed,
        ms(1000),
        secs(2 + 2),
        "lock passed on after the kill",
    );
    waiter.release().unwrap();
}

/// acquire gives up on time with AcquireTimeout and leaves no key; so does a
/// try-once; a waiter keeps its own key alive while it waits, even with a TTL
/// shorter than its wait.
#[test]
fn lock_acquire_timeout_gives_up_on_time_and_leaves_no_key() {
    let c = client();
    let p = prefix("lock_timeout");
    let dir = format!("{p}/t");
    let mut holder = c.lock("t", &lock_opts(&p, 30)).unwrap();
    holder.acquire(Some(ZERO)).unwrap();
    let held = vec![holder.key().unwrap().to_owned()];

    let mut other = c.lock("t", &lock_opts(&p, 30)).unwrap();
    let timeout = ms(700);
    let t0 = Instant::now();
    match other.acquire(Some(timeout)) {
        Err(Error::AcquireTimeout(d)) => assert_eq!(d, timeout),
        r => panic!("expected AcquireTimeout, got {r:?}"),
    }
    assert_between(t0.elapsed(), timeout, timeout + ms(500), "acquire(700 ms)");
    assert_eq!(other.key(), None);
    assert_eq!(contenders(&c, &dir), held, "only the holder's key");

    // Try once.
    let t0 = Instant::now();
    match other.acquire(Some(ZERO)) {
        Err(Error::AcquireTimeout(d)) => assert_eq!(d, ZERO),
        r => panic!("expected AcquireTimeout, got {r:?}"),
    }
    assert_between(t0.elapsed(), ZERO, ms(500), "try-once acquire");
    assert_eq!(other.key(), None);
    assert_eq!(contenders(&c, &dir), held, "only the holder's key");
    assert!(!other.is_locked().unwrap());

    // A waiter with ttl=2 waiting 3 s keeps its key alive past its TTL, and
    // removes it when it gives up.
    let short = c.lock("t", &lock_opts(&p, 2)).unwrap();
    let t0 = Instant::now();
    let done = acquire_in_thread(short, Some(ms(3000)));
    wait_until(secs(2), "the waiter queues", || {
        contenders(&c, &dir).len() == 2
    });
    let waiting = contenders(&c, &dir)[1].clone();
    thread::sleep(ms(2700).saturating_sub(t0.elapsed()));
    assert!(
        c.get(&waiting).is_ok(),
        "the waiter's ttl=2 key expired while it waited"
    );
    let (outcome, returned, short) = done.recv_timeout(secs(5)).unwrap();
    assert!(
        matches!(outcome, Err(Error::AcquireTimeout(_))),
        "{outcome:?}"
    );
    assert_between(returned - t0, ms(3000), ms(3500), "acquire(3 s)");
    assert_eq!(short.key(), None);
    assert_eq!(contenders(&c, &dir), held, "only the holder's key");

    // Free again: try-once succeeds.
    holder.release().unwrap();
    other.acquire(Some(ZERO)).unwrap();
    assert!(other.is_locked().unwrap());
    other.release().unwrap();
    assert!(contenders(&c, &dir).is_empty());
}

/// Waiters with ttl=1 keep their keys alive however long they wait: they
/// give up with AcquireTimeout, never LockExpired. (20 waiters, started 25 ms
/// apart so that their refreshes fall at different times relative to etcd's
/// expiry sweeps, every 500 ms.)
#[test]
fn lock_waiter_with_ttl_1_keeps_its_key() {
    let c = client();
    let p = prefix("lock_waiter_ttl_1");
    let mut holder = c.lock("w", &lock_opts(&p, 30)).unwrap();
    holder.acquire(Some(ZERO)).unwrap();
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            thread::sleep(ms(25));
            let waiter = c.lock("w", &lock_opts(&p, 1)).unwrap();
            acquire_in_thread(waiter, Some(secs(5)))
        })
        .collect();
    let outcomes: Vec<_> = waiters
        .into_iter()
        .map(|rx| rx.recv_timeout(secs(10)).unwrap().0)
        .collect();
    let expired = outcomes
        .iter()
        .filter(|o| matches!(o, Err(Error::LockExpired(_))))
        .count();
    assert_eq!(
        expired, 0,
        "waiters lost their keys while waiting: {outcomes:?}"
    );
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Err(Error::AcquireTimeout(_)))));
    holder.release().unwrap();
}

/// Three waiters queued in order get the lock in that order; each release
/// wakes only the next waiter: the others neither get the lock nor wake up
/// (their watch connections, counted by a relay each, stay as they were).
#[test]
fn lock_is_granted_in_arrival_order_and_release_wakes_one() {
    // A private etcd, to count its watches.
    let etcd = Etcd::start();
    let c = etcd.client();
    let p = prefix("lock_fair");
    let dir = format!("{p}/fair");
    let mut holder = c.lock("fair", &lock_opts(&p, 30)).unwrap();
    holder.acquire(Some(ZERO)).unwrap();

    let order = Arc::new(Mutex::new(Vec::new()));
    let mut relays = Vec::new();
    let mut release_tx = Vec::new();
    let mut joins = Vec::new();
    for id in 1..=3 {
        let relay = Relay::start(etcd.port);
        let wc = Client::builder()
            .endpoints([relay.url.as_str()])
            .build()
            .unwrap();
        // ttl 60: a waiter refreshes its key every 20 s, never during the test.
        let mut lock = wc.lock("fair", &lock_opts(&p, 60)).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let order = order.clone();
        joins.push(thread::spawn(move || {
            lock.acquire(Some(secs(20))).unwrap();
            order.lock().unwrap().push(id);
            rx.recv().unwrap();
            lock.release().unwrap();
        }));
        wait_until(secs(5), "the waiter watches", || {
            contenders(&c, &dir).len() == 1 + id && watchers(&etcd) == id
        });
        relays.push(relay);
        release_tx.push(tx);
    }
    let got = |n: usize| order.lock().unwrap().len() >= n;
    assert!(order.lock().unwrap().is_empty());

    let connections = |relays: &[Relay]| relays.iter().map(Relay::accepted).collect::<Vec<_>>();
    let before = connections(&relays);
    holder.release().unwrap();
    for (i, tx) in release_tx.iter().enumerate() {
        wait_until(secs(5), "the next waiter gets the lock", || got(i + 1));
        thread::sleep(ms(300));
        assert_eq!(
            *order.lock().unwrap(),
            (1..=i + 1).collect::<Vec<_>>(),
            "granted out of order, or to more than one"
        );
        assert_eq!(
            contenders(&c, &dir).len(),
            3 - i,
            "keys of holder + waiters"
        );
        assert_eq!(watchers(&etcd), 2 - i, "the others still watch");
        let now = connections(&relays);
        assert_eq!(
            now[i + 1..],
            before[i + 1..],
            "a waiter further back woke up (new watch connection)"
        );
        tx.send(()).unwrap();
    }
    for j in joins {
        j.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [1, 2, 3]);
    assert!(contenders(&c, &dir).is_empty());
}

/// is_locked asks etcd: a key deleted behind the lock's back, or expired
/// (ttl=1, no renew), makes it false; renew and release of a lost lock report
/// LockExpired.
#[test]
fn lock_lost_is_reported() {
    let c = client();
    let p = prefix("lock_lost");

    // Deleted behind its back.
    let mut lock = c.lock("deleted", &lock_opts(&p, 30)).unwrap();
    assert!(!lock.is_locked().unwrap(), "not acquired yet");
    lock.acquire(Some(ZERO)).unwrap();
    assert!(lock.is_locked().unwrap());
    let key = lock.key().unwrap().to_owned();
    assert!(key.starts_with(&format!("{p}/deleted/")), "{key}");
    c.delete(&key, &Default::default()).unwrap();
    assert!(
        !lock.is_locked().unwrap(),
        "is_locked after the key was deleted"
    );

    let mut renewed = c.lock("deleted-renew", &lock_opts(&p, 30)).unwrap();
    renewed.acquire(Some(ZERO)).unwrap();
    c.delete(renewed.key().unwrap(), &Default::default())
        .unwrap();
    assert!(
        matches!(renewed.renew(30), Err(Error::LockExpired(_))),
        "renew of a deleted lock"
    );
    let mut released = c.lock("deleted-release", &lock_opts(&p, 30)).unwrap();
    released.acquire(Some(ZERO)).unwrap();
    c.delete(released.key().unwrap(), &Default::default())
        .unwrap();
    assert!(
        matches!(released.release(), Err(Error::LockExpired(_))),
        "release of a deleted lock"
    );

    // Expired: ttl=1 and nobody renews.
    let mut locks: Vec<Lock> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let mut l = c.lock(n, &lock_opts(&p, 1)).unwrap();
            l.acquire(Some(ZERO)).unwrap();
            l
        })
        .collect();
    let keys: Vec<String> = locks.iter().map(|l| l.key().unwrap().to_owned()).collect();
    let t0 = Instant::now();
    wait_until(secs(4), "ttl=1 lock keys expire", || {
        keys.iter()
            .all(|k| matches!(c.get(k), Err(Error::KeyNotFound(_))))
    });
    assert!(t0.elapsed() >= ms(500), "expired too early");
    assert!(!locks[0].is_locked().unwrap(), "is_locked after expiry");
    assert!(
        matches!(locks[1].renew(1), Err(Error::LockExpired(_))),
        "renew of an expired lock"
    );
    assert!(
        matches!(locks[2].release(), Err(Error::LockExpired(_))),
        "release of an expired lock"
    );
    // Someone else can have it now.
    let mut next = c.lock("a", &lock_opts(&p, 30)).unwrap();
    next.acquire(Some(ZERO)).unwrap();
    next.release().unwrap();
}

/// The issue's sequence: once is_locked said false (the key was deleted
/// behind the lock's back), renew and release still report LockExpired (the
/// lock was held and got lost), not NotHeld (never acquired).
#[test]
fn lock_lost_is_reported_after_is_locked() {
    let c = client();
    let p = prefix("lock_lost_is_locked");
    for op in ["renew", "release"] {
        let mut lock = c.lock(op, &lock_opts(&p, 30)).unwrap();
        lock.acquire(Some(ZERO)).unwrap();
        c.delete(lock.key().unwrap(), &Default::default()).unwrap();
        assert!(!lock.is_locked().unwrap());
        let outcome = if op == "renew" {
            lock.renew(30)
        } else {
            lock.release()
        };
        assert!(
            matches!(outcome, Err(Error::LockExpired(_))),
            "{op} after is_locked() said false: {outcome:?}"
        );
    }
}

/// renew keeps a ttl=1 lock past its TTL (others can't take it), and sets
/// the TTL; without renew it then expires and passes on.
#[test]
fn lock_renew_keeps_it_past_its_ttl() {
    let c = client();
    let p = prefix("lock_renew");
    let mut lock = c.lock("r", &lock_opts(&p, 1)).unwrap();
    lock.acquire(Some(ZERO)).unwrap();
    let key = lock.key().unwrap().to_owned();
    let t0 = Instant::now();
    while t0.elapsed() < ms(2500) {
        thread::sleep(ms(300));
        lock.renew(1).unwrap();
    }
    assert!(lock.is_locked().unwrap(), "held 2.5 s with ttl=1 by renew");
    let mut other = c.lock("r", &lock_opts(&p, 30)).unwrap();
    assert!(matches!(
        other.acquire(Some(ZERO)),
        Err(Error::AcquireTimeout(_))
    ));

    lock.renew(30).unwrap();
    let ttl = c.get(&key).unwrap().node.ttl.unwrap();
    assert!((25..=30).contains(&ttl), "ttl after renew(30): {ttl}");
    lock.renew(1).unwrap();
    // No more renew: it expires and the other gets it.
    other.acquire(Some(secs(4))).unwrap();
    assert!(!lock.is_locked().unwrap());
    other.release().unwrap();
}

/// release and renew without acquire say NotHeld; so does a second release;
/// bad arguments are refused.
#[test]
fn lock_not_held_and_bad_arguments() {
    let c = client();
    let p = prefix("lock_not_held");
    let mut lock = c.lock("n", &lock_opts(&p, 10)).unwrap();
    assert!(matches!(lock.release(), Err(Error::NotHeld(_))));
    assert!(matches!(lock.renew(10), Err(Error::NotHeld(_))));
    assert_eq!(lock.key(), None);
    lock.acquire(Some(ZERO)).unwrap();
    assert!(matches!(lock.renew(0), Err(Error::InvalidArgument(_))));
    // acquire again while held: at once.
    lock.acquire(Some(ZERO)).unwrap();
    lock.release().unwrap();
    assert_eq!(lock.key(), None);
    assert!(matches!(lock.release(), Err(Error::NotHeld(_))));
    assert!(contenders(&c, &format!("{p}/n")).is_empty());

    assert!(matches!(
        c.lock("n", &lock_opts(&p, 0)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.lock("/", &lock_opts(&p, 10)),
        Err(Error::InvalidArgument(_))
    ));
}

/// Dropping a held lock releases it: a waiter gets it at once, not after the
/// TTL. A guard releases on drop too, and `LockGuard::release` reports.
#[test]
fn lock_drop_and_guard_release() {
    let c = client();
    let p = prefix("lock_drop");
    let dir = format!("{p}/d");
    let mut holder = c.lock("d", &lock_opts(&p, 30)).unwrap();
    holder.acquire(Some(ZERO)).unwrap();
    let waiter = c.lock("d", &lock_opts(&p, 30)).unwrap();
    let done = acquire_in_thread(waiter, Some(secs(10)));
    wait_until(secs(5), "the waiter queues", || {
        contenders(&c, &dir).len() == 2
    });
    let t0 = Instant::now();
    drop(holder);
    let (outcome, acquired, mut waiter) = done.recv_timeout(secs(10)).unwrap();
    outcome.unwrap();
    assert!(acquired - t0 < secs(1), "{:?}", acquired - t0);
    waiter.release().unwrap();

    // Guard: dropped.
    let mut a = c.lock("d", &lock_opts(&p, 30)).unwrap();
    let mut b = c.lock("d", &lock_opts(&p, 30)).unwrap();
    {
        let mut guard = a.acquire_guard(Some(ZERO)).unwrap();
        guard.lock().renew(30).unwrap();
        assert!(guard.lock().is_locked().unwrap());
        assert!(matches!(
            b.acquire(Some(ZERO)),
            Err(Error::AcquireTimeout(_))
        ));
    }
    assert_eq!(a.key(), None);
    b.acquire(Some(ZERO)).unwrap();
    // Guard: acquire times out → no guard; then released explicitly.
    assert!(matches!(
        a.acquire_guard(Some(ZERO)),
        Err(Error::AcquireTimeout(_))
    ));
    b.release().unwrap();
    let guard = a.acquire_guard(Some(ZERO)).unwrap();
    guard.release().unwrap();
    assert!(contenders(&c, &dir).is_empty());
    // Dropping a handle that never acquired, or already released: nothing.
    drop(a);
    drop(b);
    assert!(contenders(&c, &dir).is_empty());
}

/// cancel from another thread makes a blocked acquire (no timeout) return
/// Cancelled within ~100 ms, removing its key; later acquires of that handle
/// are cancelled too, while a holder's renew and release keep working.
#[test]
fn lock_cancel_wakes_blocked_acquire() {
    let c = client();
    let p = prefix("lock_cancel");
    let dir = format!("{p}/c");
    let mut holder = c.lock("c", &lock_opts(&p, 30)).unwrap();
    holder.acquire(Some(ZERO)).unwrap();
    let waiter = c.lock("c", &lock_opts(&p, 30)).unwrap();
    let canceller = waiter.canceller();
    let done = acquire_in_thread(waiter, None);
    wait_until(secs(5), "the waiter queues", || {
        contenders(&c, &dir).len() == 2
    });
    thread::sleep(ms(200)); // in its watch by now
    let t0 = Instant::now();
    canceller.cancel();
    let (outcome, returned, mut waiter) = done.recv_timeout(secs(5)).expect("acquire returns");
    assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
    assert!(returned - t0 < ms(150), "cancel took {:?}", returned - t0);
    assert_eq!(waiter.key(), None);
    assert_eq!(contenders(&c, &dir), [holder.key().unwrap().to_owned()]);

    // Cancelled for good, even once the lock is free.
    holder.release().unwrap();
    assert!(matches!(waiter.acquire(None), Err(Error::Cancelled)));
    assert!(contenders(&c, &dir).is_empty());

    // Cancelling a holder: renew and release still work.
    holder.acquire(Some(ZERO)).unwrap();
    holder.canceller().cancel();
    holder.renew(30).unwrap();
    assert!(holder.is_locked().unwrap());
    holder.release().unwrap();
    assert!(contenders(&c, &dir).is_empty());
}

// ---------------------------------------------------------------------------
// Election
// ---------------------------------------------------------------------------

/// Two candidates campaign at once: exactly one wins, get names it, the
/// other gives up after its timeout; a try-once on the held election gives
/// up at once.
#[test]
fn election_one_of_two_wins() {
    let c = client();
    let p = prefix("election_two");
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let (p, barrier) = (p.clone(), barrier.clone());
            thread::spawn(move || {
                let c = client();
                barrier.wait();
                let t0 = Instant::now();
                let outcome = c.election_under(&p).set("db", name, 10, Some(ms(500)));
                (name, outcome, t0.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter(|r| r.1.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0].0;
    for (name, outcome, elapsed) in &results {
        if *name != winner {
            assert!(
                matches!(outcome, Err(Error::AcquireTimeout(d)) if *d == ms(500)),
                "{outcome:?}"
            );
            assert_between(*elapsed, ms(500), ms(1000), "losing set(500 ms)");
        }
    }
    let e = c.election_under(&p);
    assert_eq!(e.get("db").unwrap().as_deref(), Some(winner));

    let loser = if winner == "a" { "b" } else { "a" };
    let t0 = Instant::now();
    match e.set("db", loser, 10, Some(ZERO)) {
        Err(Error::AcquireTimeout(d)) => assert_eq!(d, ZERO),
        r => panic!("try-once on a held election: {r:?}"),
    }
    assert!(t0.elapsed() < ms(500), "try-once took {:?}", t0.elapsed());
    assert_eq!(e.get("db").unwrap().as_deref(), Some(winner));
    e.delete("db", winner).unwrap();
    assert_eq!(e.get("db").unwrap(), None);
    assert_eq!(c.election_under(&p).get("nobody").unwrap(), None);
}

/// A leader process (ttl=2) is SIGKILLed; the other candidate, waiting in
/// set(…, None), takes over once the TTL ran out.
#[test]
fn election_killed_leader_is_replaced_after_ttl() {
    let c = client();
    let p = prefix("election_killed");
    let mut leader = Child::spawn("leader", &[(PREFIX, &p), (NAME, "db")]);
    leader.wait_for(HOLDING, secs(15));
    let leading_since = Instant::now();
    assert_eq!(
        c.election_under(&p).get("db").unwrap().as_deref(),
        Some("child")
    );

    let (tx, rx) = mpsc::channel();
    let p2 = p.clone();
    thread::spawn(move || {
        let c = client();
        let outcome = c.election_under(&p2).set("db", "parent", 2, None);
        let _ = tx.send((outcome, Instant::now()));
    });
    thread::sleep(ms(200));
    assert!(rx.try_recv().is_err(), "won while the leader lived");
    leader.kill();
    let killed = Instant::now();
    let (outcome, won) = rx.recv_timeout(secs(10)).expect("set returns");
    let index = outcome.expect("the other candidate wins");
    assert!(index > 0);
    assert!(won >= killed);
    assert_between(won - killed, ZERO, secs(2 + 2), "took over after the kill");
    assert!(
        won - leading_since >= ms(1500),
        "the killed leader lasted only {:?} of its 2 s TTL",
        won - leading_since
    );
    let e = c.election_under(&p);
    assert_eq!(e.get("db").unwrap().as_deref(), Some("parent"));
    e.delete("db", "parent").unwrap();
}

/// delete (resign) by a non-leader returns NotHeld and changes nothing; by
/// the leader it ends the leadership; renew by a non-leader is NotHeld.
#[test]
fn election_delete_by_non_leader_changes_nothing() {
    let c = client();
    let p = prefix("election_delete");
    let e = c.election_under(&p);
    let path = format!("{p}/db");
    e.set("db", "a", 30, Some(ZERO)).unwrap();
    let before = c.get(&path).unwrap().node;
    assert!(matches!(e.delete("db", "b"), Err(Error::NotHeld(_))));
    assert!(matches!(e.renew("db", "b", 30), Err(Error::NotHeld(_))));
    let after = c.get(&path).unwrap().node;
    assert_eq!(after.value.as_deref(), Some("a"));
    assert_eq!(after.modified_index, before.modified_index, "changed");
    assert_eq!(e.get("db").unwrap().as_deref(), Some("a"));

    e.delete("db", "a").unwrap();
    assert_eq!(e.get("db").unwrap(), None);
    assert!(matches!(e.delete("db", "a"), Err(Error::NotHeld(_))));
    assert!(matches!(e.renew("db", "a", 30), Err(Error::NotHeld(_))));
    // Now b can win at once.
    e.set("db", "b", 30, Some(ZERO)).unwrap();
    assert_eq!(e.get("db").unwrap().as_deref(), Some("b"));
    e.delete("db", "b").unwrap();
    assert!(matches!(
        e.set("db", "", 30, Some(ZERO)),
        Err(Error::InvalidArgument(_))
    ));
}

/// renew keeps a ttl=1 leadership well past its TTL; without it the
/// leadership then expires.
#[test]
fn election_renew_keeps_leadership_past_ttl() {
    let c = client();
    let p = prefix("election_renew");
    let e = c.election_under(&p);
    e.set("db", "a", 1, Some(ZERO)).unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < ms(2500) {
        thread::sleep(ms(300));
        e.renew("db", "a", 1).unwrap();
    }
    assert_eq!(e.get("db").unwrap().as_deref(), Some("a"), "after 2.5 s");
    assert!(matches!(
        e.set("db", "b", 1, Some(ZERO)),
        Err(Error::AcquireTimeout(_))
    ));
    wait_until(secs(3), "the leadership expires", || {
        e.get("db").unwrap().is_none()
    });
    assert!(matches!(e.renew("db", "a", 1), Err(Error::NotHeld(_))));
}

/// set by the current leader renews its leadership and returns Ok.
#[test]
fn election_set_by_leader_renews() {
    let c = client();
    let p = prefix("election_set_renews");
    let e = c.election_under(&p);
    let t0 = Instant::now();
    let won = e.set("db", "a", 2, Some(ZERO)).unwrap();
    thread::sleep(ms(1500).saturating_sub(t0.elapsed()));
    let again = e.set("db", "a", 2, Some(ZERO)).expect("set by the leader");
    assert!(again >= won);
    // Without that renewal the key would be gone by ~2.5 s.
    thread::sleep(ms(3000).saturating_sub(t0.elapsed()));
    assert_eq!(e.get("db").unwrap().as_deref(), Some("a"), "after 3 s");
    e.delete("db", "a").unwrap();
}

/// watch reports the new leader, then None when it resigns or expires, and
/// times out when nothing changes.
#[test]
fn election_watch_reports_changes() {
    // A private etcd, to count its watches.
    let etcd = Etcd::start();
    let c = etcd.client();
    let p = prefix("election_watch");
    let watch = |timeout: Duration| {
        let (p, wc) = (p.clone(), etcd.client());
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(
                wc.election_under(&p)
                    .watch("db", None, Some(timeout))
                    .map(|(leader, _)| leader),
            );
        });
        wait_until(secs(5), "the watch reaches etcd", || watchers(&etcd) == 1);
        rx
    };
    let e = c.election_under(&p);

    let rx = watch(secs(5));
    e.set("db", "a", 30, Some(ZERO)).unwrap();
    assert_eq!(
        rx.recv_timeout(secs(6)).unwrap().unwrap().as_deref(),
        Some("a")
    );

    let rx = watch(secs(5));
    e.delete("db", "a").unwrap();
    assert_eq!(rx.recv_timeout(secs(6)).unwrap().unwrap(), None, "resigned");

    e.set("db", "b", 1, Some(ZERO)).unwrap();
    let rx = watch(secs(5));
    assert_eq!(rx.recv_timeout(secs(6)).unwrap().unwrap(), None, "expired");

    let t0 = Instant::now();
    assert!(matches!(
        e.watch("db", None, Some(ms(300))),
        Err(Error::WatchTimeout(_))
    ));
    assert_between(t0.elapsed(), ms(300), ms(800), "watch(300 ms)");
}

/// Elections refuse arguments that would name the prefix itself or say
/// nothing (an empty key would turn `/_elections` into a value and break
/// every election; an empty name would reach etcd as a missing prevValue).
#[test]
fn election_bad_arguments_are_refused_before_anything_is_sent() {
    let c = client();
    let p = prefix("election_args");
    let e = c.election_under(&p);
    for key in ["", "/", "//", "/a/../b"] {
        let outcomes = [
            e.set(key, "n", 5, Some(ZERO)).map(drop),
            e.get(key).map(drop),
            e.delete(key, "n"),
            e.renew(key, "n", 5),
            e.watch(key, None, Some(ms(10))).map(drop),
        ];
        for outcome in outcomes {
            assert!(
                matches!(outcome, Err(Error::InvalidArgument(_))),
                "{key:?}: {outcome:?}"
            );
        }
    }
    e.set("db", "leader", 30, Some(ZERO)).unwrap();
    for outcome in [
        e.delete("db", ""),
        e.renew("db", "", 5),
        e.renew("db", "leader", 0),
    ] {
        assert!(
            matches!(outcome, Err(Error::InvalidArgument(_))),
            "{outcome:?}"
        );
    }
    assert!(
        matches!(c.get(&p), Ok(r) if r.node.dir),
        "the prefix is still a directory"
    );
    assert_eq!(e.get("db").unwrap().as_deref(), Some("leader"));
}

/// `set` by the leader with ttl 0 makes its leadership permanent.
#[test]
fn election_set_by_leader_with_ttl_0_makes_it_permanent() {
    let c = client();
    let p = prefix("election_permanent");
    let e = c.election_under(&p);
    e.set("db", "a", 1, Some(ZERO)).unwrap();
    e.set("db", "a", 0, Some(ZERO)).unwrap();
    let node = c.get(&format!("{p}/db")).unwrap().node;
    assert_eq!((node.ttl, node.value.as_deref()), (None, Some("a")));
    thread::sleep(ms(2100));
    assert_eq!(e.get("db").unwrap().as_deref(), Some("a"));
}

/// Chaining `watch` through the index it returns misses no change, even
/// one made between two calls.
#[test]
fn election_watch_since_misses_nothing_between_calls() {
    let c = client();
    let p = prefix("election_since");
    let e = c.election_under(&p);
    let start = e.set("db", "a", 30, Some(ZERO)).unwrap();
    e.delete("db", "a").unwrap();
    e.set("db", "b", 30, Some(ZERO)).unwrap();
    let (first, next) = e.watch("db", Some(start + 1), Some(secs(2))).unwrap();
    assert_eq!(first, None, "a resigned");
    let (second, _) = e.watch("db", Some(next), Some(secs(2))).unwrap();
    assert_eq!(second.as_deref(), Some("b"));
}

#[test]
fn lock_ttl_over_the_maximum_is_refused() {
    let opts = LockOptions {
        ttl: etcdc::MAX_TTL + 1,
        ..LockOptions::default()
    };
    assert!(matches!(
        client().lock("big", &opts),
        Err(Error::InvalidArgument(_))
    ));
}
