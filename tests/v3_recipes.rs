//! The v3 lock and election (src/v3/lock.rs, election.rs) against real etcd
//! 3.4 and 3.5.1, each test once per version (`<test>::etcd34`,
//! `<test>::etcd35`), with etcdctl 3.5.1 (`etcdctl lock`, `etcdctl elect`,
//! Go's `concurrency` package) as the peer they must interoperate with.
//!
//! Exclusion, timeouts, try_acquire, cancel from another thread, is_held,
//! the order locks pass in, leases lost behind the holder's back; etcdctl
//! holding while etcdc waits and the other way round, a SIGKILLed etcdctl
//! holder passing the lock after its lease's TTL and not before; etcdctl's
//! and etcdc's candidates in one election, each observing the other's
//! leader; and a txn of the recipe whose answer is lost (a scripted HTTP/2
//! peer as the first member resets it, after applying it on etcd or not)
//! repeated without a second key.
//!
//! Tests share one etcd per version, each under names of its own.

mod common;

#[path = "../src/v3/proto/mod.rs"]
#[allow(unused_imports)]
mod proto;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::etcd35;
use common::h2peer::{self, H2Peer, Peer};
use etcdc::v3::{KeeperState, KeyValue, Put, Range, SortOrder, SortTarget, V3Election, V3Lock};
use etcdc::{Client, Error};
use prost::Message;
use proto::etcdserverpb as pb;

// ---------------------------------------------------------------------------
// Harness

use common::versions::Server;

const ZERO: Duration = Duration::ZERO;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A client of the shared etcd of `server`, its URL, and a lock or
/// election name of the test's own.
fn setup(server: Server, name: &str) -> (Client, &'static str, String) {
    let etcd = server.shared();
    let client = Client::builder()
        .endpoints([etcd.url.as_str()])
        .build()
        .expect("client");
    (client, etcd.url.as_str(), common::prefix(name))
}

/// The keys under `name/`, in creation order.
fn contenders(c: &Client, name: &str) -> Vec<KeyValue> {
    let range =
        Range::prefix(format!("{name}/")).sort(SortTarget::CreateRevision, SortOrder::Ascending);
    c.v3().range(&range).expect("range").kvs
}

/// The keys under `name/`, as text, in creation order.
fn contender_keys(c: &Client, name: &str) -> Vec<String> {
    contenders(c, name)
        .into_iter()
        .map(|kv| String::from_utf8(kv.key).unwrap())
        .collect()
}

/// Polls `cond` every 10 ms; panics with `what` after `within`.
#[track_caller]
fn wait_until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        thread::sleep(ms(10));
    }
}

/// The key of `lock` as text (it must be held).
fn key_of(lock: &V3Lock) -> String {
    String::from_utf8(lock.key().expect("held").to_vec()).unwrap()
}

/// Whether lease `id` still exists.
fn lease_exists(c: &Client, id: i64) -> bool {
    c.v3().lease_time_to_live(id, false).unwrap().ttl > 0
}

/// The lease id a contender's key names: `<name>/<hex>`.
fn lease_in(key: &str) -> i64 {
    let hex = key.rsplit('/').next().unwrap();
    assert!(
        !hex.is_empty()
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "not lowercase hex: {key}"
    );
    i64::from_str_radix(hex, 16).unwrap()
}

/// An etcdctl 3.5.1 child (`lock`, `elect`), its output read line by line.
/// Killed (SIGKILL) when dropped, and by the kernel if the test dies.
struct Ctl {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    err: Arc<Mutex<String>>,
}

impl Ctl {
    /// Starts `etcdctl --endpoints=<endpoint> <args>`.
    fn spawn(endpoint: &str, args: &[&str]) -> Ctl {
        let mut cmd = Command::new(etcd35::etcdctl_bin());
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoint}"))
            .arg("--dial-timeout=5s")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe. The child dies with the
        // thread that started it (the test), however the test ends.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn etcdctl");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let err = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = err.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Ctl { child, lines, err }
    }

    /// The next line it prints, waiting at most `within`.
    fn line(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// The next line, which must come within `within`.
    #[track_caller]
    fn expect_line(&self, within: Duration) -> String {
        self.line(within).unwrap_or_else(|| {
            panic!(
                "etcdctl printed nothing within {within:?}; stderr:\n{}",
                self.err.lock().unwrap()
            )
        })
    }

    /// Sends `signal` (SIGTERM: etcdctl unlocks or resigns, then exits).
    fn signal(&self, signal: i32) {
        // SAFETY: a plain kill(2) of our own child.
        let r = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(r, 0, "kill");
    }

    /// Waits at most `within` for it to exit.
    #[track_caller]
    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "etcdctl still running after {within:?}; stderr:\n{}",
                self.err.lock().unwrap()
            );
            thread::sleep(ms(10));
        }
    }
}

impl Drop for Ctl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Lock

both! {
    /// Two threads with a lock each on one name: never both inside, every
    /// round done. The key is `<name>/<lease hex>`, empty, on its lease.
    fn two_locks_exclude_each_other(server) {
        let (c, _, name) = setup(server, "exclude");
        let inside = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let mut lock = c.v3().lock(name.clone(), 5).unwrap();
                let (inside, rounds, name) = (inside.clone(), rounds.clone(), name.clone());
                let url = server.shared().url.clone();
                thread::spawn(move || {
                    let c = Client::builder().endpoints([url.as_str()]).build().unwrap();
                    let mut session = None;
                    for _ in 0..4 {
                        lock.acquire(Some(secs(10))).unwrap();
                        assert!(!inside.swap(true, Ordering::SeqCst), "both inside");
                        let key = key_of(&lock);
                        let lease = lock.lease_id().unwrap();
                        assert_eq!(key, format!("{name}/{lease:x}"));
                        let kv = c.v3().get(key.clone()).unwrap().expect("its key");
                        assert_eq!((kv.value.as_slice(), kv.lease), (&b""[..], lease));
                        assert_eq!(Some(kv.create_revision), lock.revision());
                        thread::sleep(ms(15));
                        rounds.fetch_add(1, Ordering::SeqCst);
                        inside.store(false, Ordering::SeqCst);
                        lock.release().unwrap();
                        // The handle's session: one lease, kept between
                        // acquires, revoked by the drop.
                        assert_eq!(*session.get_or_insert(lease), lease, "one lease");
                        assert!(lease_exists(&c, lease), "released: lease kept");
                        assert_eq!(lock.lease_id(), None);
                    }
                    drop(lock);
                    assert!(!lease_exists(&c, session.unwrap()), "dropped: lease revoked");
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(rounds.load(Ordering::SeqCst), 8);
        assert!(contenders(&c, &name).is_empty(), "nothing left behind");
    }
}

both! {
    /// try_acquire fails at once while another holds; acquire gives up
    /// after its timeout; neither leaves a key; both work once released.
    fn timeouts_and_try_acquire(server) {
        let (c, _, name) = setup(server, "timeout");
        let mut a = c.v3().lock(name.clone(), 5).unwrap();
        let mut b = c.v3().lock(name.clone(), 5).unwrap();
        assert!(a.try_acquire().unwrap());
        assert!(a.try_acquire().unwrap(), "held already");
        let held = key_of(&a);
        assert!(a.is_held().unwrap());

        let t = Instant::now();
        assert!(!b.try_acquire().unwrap());
        assert!(t.elapsed() < secs(1), "{:?}", t.elapsed());
        assert_eq!(contender_keys(&c, &name), [held.as_str()], "its key removed");
        assert_eq!(b.key(), None);

        let t = Instant::now();
        match b.acquire(Some(ms(300))) {
            Err(Error::AcquireTimeout(d)) => assert_eq!(d, ms(300)),
            other => panic!("{other:?}"),
        }
        let waited = t.elapsed();
        assert!(waited >= ms(300) && waited < secs(2), "{waited:?}");
        assert!(matches!(b.acquire(Some(ZERO)), Err(Error::AcquireTimeout(_))));
        assert_eq!(contender_keys(&c, &name), [held], "its key removed");
        assert!(!b.is_held().unwrap());
        assert!(matches!(b.release(), Err(Error::NotHeld(_))));

        a.release().unwrap();
        assert!(matches!(a.release(), Err(Error::NotHeld(_))));
        assert!(contenders(&c, &name).is_empty());
        b.acquire(Some(ZERO)).unwrap();
        assert!(b.is_held().unwrap());
        assert!(!a.try_acquire().unwrap());
        drop(b);
        assert!(contenders(&c, &name).is_empty(), "drop released it");
        assert!(a.try_acquire().unwrap());
    }
}

both! {
    /// A cancel from another thread ends a blocked acquire within 100 ms,
    /// its key removed; later acquires are cancelled too; the holder keeps
    /// the lock.
    fn cancel_wakes_a_blocked_acquire(server) {
        let (c, _, name) = setup(server, "cancel");
        let mut a = c.v3().lock(name.clone(), 5).unwrap();
        a.acquire(Some(secs(5))).unwrap();
        let mut b = c.v3().lock(name.clone(), 5).unwrap();
        let cancel = b.canceller();
        let waiter = thread::spawn(move || {
            let r = b.acquire(None);
            (r, Instant::now(), b)
        });
        wait_until(secs(5), "b queued", || contenders(&c, &name).len() == 2);
        thread::sleep(ms(200)); // into its watch
        let t = Instant::now();
        cancel.cancel();
        let (r, returned, mut b) = waiter.join().unwrap();
        assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
        let took = returned.duration_since(t);
        assert!(took < ms(100), "cancel took {took:?}");
        assert!(cancel.is_cancelled());
        assert_eq!(contender_keys(&c, &name), [key_of(&a)], "its key removed");
        assert!(matches!(b.acquire(None), Err(Error::Cancelled)), "final");
        assert!(matches!(b.try_acquire(), Err(Error::Cancelled)));
        assert!(a.is_held().unwrap());
        a.release().unwrap();
    }
}

both! {
    /// The handle's lease (session) revoked from outside while it is idle,
    /// before its keeper could notice: the next acquire takes a new lease.
    fn a_session_lost_while_idle_is_replaced(server) {
        let (c, _, name) = setup(server, "session-lost");
        let mut a = c.v3().lock(name.clone(), 30).unwrap();
        a.acquire(Some(secs(5))).unwrap();
        let lease = a.lease_id().unwrap();
        a.release().unwrap();
        c.v3().lease_revoke(lease).unwrap();
        a.acquire(Some(secs(5))).unwrap();
        let again = a.lease_id().unwrap();
        assert_ne!(again, lease, "a new lease");
        assert!(a.is_held().unwrap());
        assert_eq!(key_of(&a), format!("{name}/{again:x}"));
        assert_eq!(contenders(&c, &name).len(), 1);
        drop(a);
        assert!(contenders(&c, &name).is_empty());
        assert!(!lease_exists(&c, again), "revoked at drop");
    }
}

both! {
    /// is_held asks etcd: a key deleted behind the holder's back is a lock
    /// lost (LockExpired at release), and the handle can acquire again.
    fn is_held_asks_etcd(server) {
        let (c, _, name) = setup(server, "is-held");
        let mut a = c.v3().lock(name.clone(), 5).unwrap();
        assert!(!a.is_held().unwrap(), "not acquired");
        a.acquire(Some(secs(5))).unwrap();
        assert!(a.is_held().unwrap());
        assert!(matches!(a.lease_state(), Some(KeeperState::Alive { .. })));
        let first = a.revision().unwrap();
        let lease = a.lease_id().unwrap();
        c.v3().delete(&etcdc::v3::Delete::key(key_of(&a))).unwrap();
        assert!(!a.is_held().unwrap());
        assert_eq!(a.key(), None);
        assert!(!lease_exists(&c, lease), "the lost lock's lease is revoked");
        match a.release() {
            Err(Error::LockExpired(key)) => assert_eq!(key, format!("{name}/{lease:x}")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(a.release(), Err(Error::NotHeld(_))));
        a.acquire(Some(secs(5))).unwrap();
        assert!(a.is_held().unwrap());
        assert!(a.revision().unwrap() > first);
        assert_ne!(a.lease_id(), Some(lease), "a new lease");
    }
}

both! {
    /// Waiters get the lock in the order their keys were created: a
    /// release wakes the next one only.
    fn release_passes_in_create_revision_order(server) {
        let (c, _, name) = setup(server, "order");
        let mut a = c.v3().lock(name.clone(), 5).unwrap();
        a.acquire(Some(secs(5))).unwrap();
        let (tx, got) = mpsc::channel();
        let mut waiters = Vec::new();
        for (i, who) in ["b", "c", "d"].into_iter().enumerate() {
            let mut lock = c.v3().lock(name.clone(), 5).unwrap();
            let tx = tx.clone();
            waiters.push(thread::spawn(move || {
                let r = lock.acquire(Some(secs(20)));
                tx.send((who, r, lock)).unwrap();
            }));
            wait_until(secs(5), "queued", || contenders(&c, &name).len() == i + 2);
        }
        let queue = contenders(&c, &name);
        assert!(queue.windows(2).all(|w| w[0].create_revision < w[1].create_revision));
        assert!(got.recv_timeout(ms(300)).is_err(), "nobody before a's release");
        a.release().unwrap();
        let mut order = Vec::new();
        for n in 0..3 {
            let (who, r, mut lock) = got.recv_timeout(secs(5)).expect("the next one");
            r.unwrap();
            assert_eq!(key_of(&lock), String::from_utf8(queue[n + 1].key.clone()).unwrap());
            assert!(lock.is_held().unwrap());
            assert!(got.recv_timeout(ms(150)).is_err(), "one at a time");
            order.push(who);
            lock.release().unwrap();
        }
        assert_eq!(order, ["b", "c", "d"]);
        for w in waiters {
            w.join().unwrap();
        }
    }
}

both! {
    /// A lease revoked from outside: a holder's lock is lost (is_held
    /// false, release LockExpired); a waiter's acquire ends with
    /// LockExpired as soon as its keeper hears of it.
    fn a_lost_lease_is_lock_expired(server) {
        let (c, _, name) = setup(server, "lease-lost");
        let mut a = c.v3().lock(name.clone(), 3).unwrap();
        a.acquire(Some(secs(5))).unwrap();
        let mut b = c.v3().lock(name.clone(), 3).unwrap();
        let waiter = thread::spawn(move || {
            let r = b.acquire(Some(secs(20)));
            (r, b)
        });
        wait_until(secs(5), "b queued", || contenders(&c, &name).len() == 2);
        let b_key = contenders(&c, &name)[1].clone();
        let t = Instant::now();
        c.v3().lease_revoke(b_key.lease).unwrap();
        let (r, b) = waiter.join().unwrap();
        match r {
            Err(Error::LockExpired(key)) => assert_eq!(key.as_bytes(), b_key.key),
            other => panic!("{other:?}"),
        }
        // The keeper renews every TTL/3 (1 s): it hears of it by then.
        assert!(t.elapsed() < secs(3), "{:?}", t.elapsed());
        assert_eq!(b.key(), None);
        assert_eq!(contender_keys(&c, &name), [key_of(&a)]);

        c.v3().lease_revoke(a.lease_id().unwrap()).unwrap();
        // Its keeper hears of it at its next renewal (every TTL/3).
        wait_until(secs(3), "the keeper says lost", || {
            matches!(a.lease_state(), Some(KeeperState::Lost(_)))
        });
        assert!(!a.is_held().unwrap());
        assert_eq!(a.lease_state(), None);
        assert!(matches!(a.release(), Err(Error::LockExpired(_))));
        assert!(contenders(&c, &name).is_empty());
    }
}

// ---------------------------------------------------------------------------
// Lock: etcdctl

both! {
    /// `etcdctl lock <name> <command>` holds while its command runs: etcdc
    /// cannot take the lock; it can once the command ended (etcdctl
    /// unlocked). The key etcdctl made is `<name>/<lease hex>`, as etcdc's.
    fn etcdctl_lock_excludes_etcdc(server) {
        let (c, url, name) = setup(server, "ctl-holds");
        let done = std::env::temp_dir().join(format!(
            "etcdc-v3-recipes-{}-{}",
            std::process::id(),
            name.replace('/', "_")
        ));
        let _ = std::fs::remove_file(&done);
        let script = format!(
            "echo \"$ETCD_LOCK_KEY\"; while [ ! -e '{}' ]; do sleep 0.02; done",
            done.display()
        );
        let mut ctl = Ctl::spawn(url, &["lock", &name, "--", "sh", "-c", &script]);
        let key = ctl.expect_line(secs(10));
        assert!(key.starts_with(&format!("{name}/")), "{key}");
        let lease = lease_in(&key);
        let kv = c.v3().get(key.clone()).unwrap().expect("etcdctl's key");
        assert_eq!(kv.lease, lease);
        assert_eq!(contender_keys(&c, &name), [key.as_str()]);

        let mut lock = c.v3().lock(name.clone(), 5).unwrap();
        assert!(!lock.try_acquire().unwrap());
        assert!(matches!(lock.acquire(Some(ms(300))), Err(Error::AcquireTimeout(_))));
        assert_eq!(contender_keys(&c, &name), [key], "etcdc left nothing");

        std::fs::write(&done, b"").unwrap();
        assert!(ctl.wait(secs(5)).success(), "etcdctl unlocked and exited");
        let _ = std::fs::remove_file(&done);
        lock.acquire(Some(ZERO)).unwrap();
        assert!(lock.is_held().unwrap());
    }
}

both! {
    /// etcdc holds while `etcdctl lock` waits (its key queued, nothing
    /// printed); released, etcdctl gets it (prints its key) and etcdc's
    /// try_acquire fails; etcdctl killed with SIGTERM unlocks.
    fn etcdc_lock_excludes_etcdctl(server) {
        let (c, url, name) = setup(server, "etcdc-holds");
        let mut lock = c.v3().lock(name.clone(), 5).unwrap();
        lock.acquire(Some(secs(5))).unwrap();
        let mine = key_of(&lock);
        let mut ctl = Ctl::spawn(url, &["lock", &name]);
        wait_until(secs(10), "etcdctl queued", || contenders(&c, &name).len() == 2);
        let theirs = contender_keys(&c, &name)[1].clone();
        assert_ne!(theirs, mine);
        lease_in(&theirs);
        assert_eq!(ctl.line(ms(500)), None, "etcdctl must wait");
        assert!(lock.is_held().unwrap());

        lock.release().unwrap();
        assert_eq!(ctl.expect_line(secs(5)), theirs, "etcdctl holds it now");
        assert!(!lock.try_acquire().unwrap());
        assert_eq!(contender_keys(&c, &name), [theirs]);

        ctl.signal(libc::SIGTERM);
        assert!(ctl.wait(secs(5)).success());
        assert!(contenders(&c, &name).is_empty(), "etcdctl unlocked");
        assert!(lock.try_acquire().unwrap());
    }
}

both! {
    /// An `etcdctl lock --ttl=3` holder SIGKILLed: its key stays until its
    /// lease expires, so the lock passes to etcdc after the lease's TTL
    /// left, not before.
    fn a_sigkilled_holder_passes_the_lock_after_its_ttl(server) {
        let (c, url, name) = setup(server, "sigkill");
        let mut ctl = Ctl::spawn(url, &["lock", "--ttl=3", &name]);
        let theirs = ctl.expect_line(secs(10));
        let lease = lease_in(&theirs);
        let mut lock = c.v3().lock(name.clone(), 5).unwrap();
        assert!(!lock.try_acquire().unwrap());
        let (tx, got) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let r = lock.acquire(Some(secs(15)));
            tx.send(Instant::now()).unwrap();
            (r, lock)
        });
        wait_until(secs(5), "etcdc queued", || contenders(&c, &name).len() == 2);
        ctl.child.kill().unwrap();
        let killed = Instant::now();
        ctl.child.wait().unwrap();
        // What etcd says the lease has left (renewed every second by
        // etcdctl until the kill).
        let left = c.v3().lease_time_to_live(lease, false).unwrap().ttl;
        assert!((1..=3).contains(&left), "{left}");
        let not_before = secs(left as u64 - 1);
        thread::sleep(not_before.saturating_sub(ms(100)));
        assert!(got.try_recv().is_err(), "passed before the lease expired");
        assert!(c.v3().get(theirs.clone()).unwrap().is_some());
        let acquired = got.recv_timeout(secs(8)).expect("passed after the TTL");
        let (r, lock) = waiter.join().unwrap();
        r.unwrap();
        let after = acquired.duration_since(killed);
        assert!(after >= not_before, "{after:?} < {not_before:?}");
        assert!(after < secs(left as u64 + 3), "{after:?}");
        assert!(c.v3().get(theirs).unwrap().is_none(), "expired with its lease");
        assert_eq!(contender_keys(&c, &name), [key_of(&lock)]);
    }
}

// ---------------------------------------------------------------------------
// Election

both! {
    /// `etcdctl elect <name> <proposal>` and etcdc's campaign see one
    /// leader: etcdctl waits while etcdc leads, leads once etcdc resigns
    /// (etcdc's leader() sees it), and etcdc waits in turn.
    fn etcdctl_elect_and_etcdc_see_one_leader(server) {
        let (c, url, name) = setup(server, "elect");
        let mut mine = c.v3().election(name.clone(), 5).unwrap();
        mine.campaign("etcdc-1", Some(secs(5))).unwrap();
        assert!(mine.is_leader().unwrap());
        let mut ctl = Ctl::spawn(url, &["elect", &name, "from-etcdctl"]);
        wait_until(secs(10), "etcdctl campaigning", || contenders(&c, &name).len() == 2);
        let theirs = contenders(&c, &name)[1].clone();
        assert_eq!(theirs.value, b"from-etcdctl");
        assert_eq!(ctl.line(ms(500)), None, "etcdctl must not lead");
        let leader = mine.leader().unwrap().expect("a leader");
        assert_eq!(leader.key, mine.key().unwrap());
        assert_eq!(leader.value, b"etcdc-1");

        mine.resign().unwrap();
        assert!(!mine.is_leader().unwrap());
        let their_key = String::from_utf8(theirs.key.clone()).unwrap();
        assert_eq!(ctl.expect_line(secs(5)), their_key);
        assert_eq!(ctl.expect_line(secs(1)), "from-etcdctl");
        let leader = mine.leader().unwrap().expect("etcdctl leads");
        assert_eq!((leader.key, leader.value), (theirs.key.clone(), b"from-etcdctl".to_vec()));
        lease_in(&their_key);

        let mut other = c.v3().election(name.clone(), 5).unwrap();
        assert!(matches!(other.campaign("x", Some(ms(300))), Err(Error::AcquireTimeout(_))));
        assert_eq!(contenders(&c, &name).len(), 1, "nothing left behind");
        ctl.signal(libc::SIGTERM);
        assert!(ctl.wait(secs(5)).success(), "etcdctl resigned");
        other.campaign("x", Some(secs(5))).unwrap();
        let leader = other.leader().unwrap().unwrap();
        assert_eq!(leader.key, other.key().unwrap());
        assert_eq!(leader.value, b"x");
    }
}

both! {
    /// `etcdctl elect -l` observes etcdc's leader and its proclamations;
    /// etcdc's observer sees the same, then etcdctl's candidate once it
    /// leads.
    fn observers_see_each_others_leaders(server) {
        let (c, url, name) = setup(server, "observe");
        let mut mine = c.v3().election(name.clone(), 5).unwrap();
        let mut observer = mine.observe();
        let nobody = observer.next_leader(Some(ms(200)));
        assert!(matches!(nobody, Err(Error::WatchTimeout(_))), "no leader yet: {nobody:?}");
        let listen = Ctl::spawn(url, &["elect", "-l", &name]);
        thread::sleep(ms(300)); // etcdctl's observer set up, nothing to print
        mine.campaign("v1", Some(secs(5))).unwrap();
        let key = String::from_utf8(mine.key().unwrap().to_vec()).unwrap();
        assert_eq!(listen.expect_line(secs(5)), key);
        assert_eq!(listen.expect_line(secs(1)), "v1");
        let seen = observer.next_leader(Some(secs(5))).unwrap();
        assert_eq!((seen.key.as_slice(), seen.value.as_slice()), (key.as_bytes(), &b"v1"[..]));

        mine.proclaim("v2").unwrap();
        assert_eq!(mine.value(), Some(&b"v2"[..]));
        assert_eq!(listen.expect_line(secs(5)), key);
        assert_eq!(listen.expect_line(secs(1)), "v2");
        assert_eq!(observer.next_leader(Some(secs(5))).unwrap().value, b"v2");
        assert_eq!(mine.leader().unwrap().unwrap().value, b"v2");

        let mut ctl = Ctl::spawn(url, &["elect", &name, "theirs"]);
        wait_until(secs(10), "etcdctl campaigning", || contenders(&c, &name).len() == 2);
        mine.resign().unwrap();
        let their_key = ctl.expect_line(secs(5));
        assert_eq!(ctl.expect_line(secs(1)), "theirs");
        assert_eq!(listen.expect_line(secs(5)), their_key);
        assert_eq!(listen.expect_line(secs(1)), "theirs");
        let seen = observer.next_leader(Some(secs(5))).unwrap();
        assert_eq!((seen.key, seen.value), (their_key.into_bytes(), b"theirs".to_vec()));

        // A cancel from another thread ends a blocked next().
        let cancel = observer.canceller();
        let t = Instant::now();
        let blocked = thread::spawn(move || observer.next_leader(None));
        thread::sleep(ms(100));
        cancel.cancel();
        assert!(matches!(blocked.join().unwrap(), Err(Error::Cancelled)));
        assert!(t.elapsed() < secs(1));
        ctl.signal(libc::SIGTERM);
        assert!(ctl.wait(secs(5)).success());
    }
}

both! {
    /// campaign: a timeout or a cancel leaves nothing behind; the next
    /// candidate leads once the leader resigns; proclaim and resign need
    /// leadership; a leader whose lease is revoked lost it.
    fn campaign_waits_its_turn(server) {
        let (c, _, name) = setup(server, "campaign");
        let mut first = c.v3().election(name.clone(), 3).unwrap();
        assert!(matches!(first.proclaim("x"), Err(Error::NotHeld(_))));
        assert!(matches!(first.resign(), Err(Error::NotHeld(_))));
        assert_eq!(first.leader().unwrap(), None);
        first.campaign("one", Some(ZERO)).unwrap();
        first.campaign("one-again", None).unwrap();
        let leader = first.leader().unwrap().unwrap();
        assert_eq!(leader.value, b"one-again", "campaigning again proclaims");
        assert_eq!(contenders(&c, &name).len(), 1);

        let mut second = c.v3().election(name.clone(), 3).unwrap();
        assert!(matches!(second.campaign("two", Some(ms(200))), Err(Error::AcquireTimeout(_))));
        assert_eq!(contenders(&c, &name).len(), 1);
        let cancel = second.canceller();
        let waiter = thread::spawn(move || {
            let r = second.campaign("two", None);
            (r, Instant::now(), second)
        });
        wait_until(secs(5), "second campaigning", || contenders(&c, &name).len() == 2);
        thread::sleep(ms(200));
        let t = Instant::now();
        cancel.cancel();
        let (r, returned, _) = waiter.join().unwrap();
        assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
        assert!(returned.duration_since(t) < ms(100), "{:?}", returned.duration_since(t));
        assert_eq!(contenders(&c, &name).len(), 1);

        let mut third: V3Election = c.v3().election(name.clone(), 3).unwrap();
        let waiter = thread::spawn(move || {
            let r = third.campaign("three", Some(secs(10)));
            (r, third)
        });
        wait_until(secs(5), "third campaigning", || contenders(&c, &name).len() == 2);
        assert!(first.is_leader().unwrap());
        first.resign().unwrap();
        let (r, mut third) = waiter.join().unwrap();
        r.unwrap();
        assert!(third.is_leader().unwrap());
        assert_eq!(first.leader().unwrap().unwrap().value, b"three");

        c.v3().lease_revoke(third.lease_id().unwrap()).unwrap();
        match third.proclaim("four") {
            Err(Error::LockExpired(key)) => assert!(key.starts_with(&name)),
            other => panic!("{other:?}"),
        }
        assert!(!third.is_leader().unwrap());
        assert!(matches!(third.resign(), Err(Error::LockExpired(_))));
        assert!(matches!(third.resign(), Err(Error::NotHeld(_))));
        assert_eq!(first.leader().unwrap(), None);
    }
}

// ---------------------------------------------------------------------------
// Failover: a txn whose answer is lost

/// Reads one request on `p`: its stream id and its gRPC message (the DATA
/// payload after the 5-byte prefix); `None` at EOF.
fn read_message(p: &mut Peer) -> Option<(u32, Vec<u8>)> {
    let mut data = Vec::new();
    loop {
        let f = p.read_frame()?;
        if f.kind == h2peer::DATA {
            data.extend_from_slice(&f.payload);
        }
        if (f.kind == h2peer::HEADERS || f.kind == h2peer::DATA)
            && f.flags & h2peer::END_STREAM != 0
        {
            let message = data.get(5..).unwrap_or_default().to_vec();
            return Some((f.stream, message));
        }
    }
}

both! {
    /// The lock's client knows a scripted peer first, then etcd. The peer
    /// answers the lease grant with a lease granted on etcd, then resets
    /// the txn that creates the key (Ambiguous), having applied it on etcd
    /// itself, or not. acquire sends the txn again (to etcd): the key made
    /// by the first one is taken as its own, or made now; one key either
    /// way, and the lock held.
    fn an_ambiguous_txn_is_repeated(server) {
        for applied in [true, false] {
            let (c, url, name) = setup(server, "ambiguous");
            let lease = c.v3().lease_grant(10, 0).unwrap().id;
            let header = c.v3().range(&Range::key("any")).unwrap().header;
            let key = format!("{name}/{lease:x}");
            let made = Arc::new(Mutex::new(None::<i64>));
            let connections = Arc::new(AtomicUsize::new(0));
            let peer = {
                let (url, key, made) = (url.to_owned(), key.clone(), made.clone());
                H2Peer::start(move |mut p| {
                    let first = connections.fetch_add(1, Ordering::SeqCst) == 0;
                    if !p.handshake(&[]) {
                        return;
                    }
                    let mut writes = 0;
                    let h = pb::ResponseHeader {
                        cluster_id: header.cluster_id,
                        member_id: header.member_id,
                        revision: header.revision,
                        raft_term: header.raft_term,
                    };
                    while let Some((id, message)) = read_message(&mut p) {
                        if !first {
                            // The keeper's or another connection: refused,
                            // it goes to etcd.
                            p.rst(id, 7);
                        } else if message.is_empty() {
                            p.note("probe");
                            let status = pb::StatusResponse {
                                header: Some(h),
                                leader: header.member_id,
                                raft_term: header.raft_term,
                                ..Default::default()
                            };
                            p.answer(id, &status.encode_to_vec());
                        } else if writes == 0 {
                            writes += 1;
                            let grant = pb::LeaseGrantRequest::decode(&message[..]).unwrap();
                            p.note(format!("grant {}", grant.ttl));
                            let answer = pb::LeaseGrantResponse {
                                header: Some(h),
                                id: lease,
                                ttl: 10,
                                error: String::new(),
                            };
                            p.answer(id, &answer.encode_to_vec());
                        } else if writes == 1 {
                            writes += 1;
                            let txn = pb::TxnRequest::decode(&message[..]).unwrap();
                            assert_eq!(txn.compare.len(), 1);
                            assert_eq!(txn.compare[0].key, key.as_bytes());
                            p.note("txn");
                            if applied {
                                let c = Client::builder()
                                    .endpoints([url.as_str()])
                                    .build()
                                    .unwrap();
                                let put = Put::new(key.clone(), "").lease(lease);
                                let rev = c.v3().put_with(&put).unwrap().header.revision;
                                *made.lock().unwrap() = Some(rev);
                            }
                            // INTERNAL_ERROR after the request: maybe applied.
                            p.rst(id, 2);
                        } else {
                            p.note("more");
                            p.rst(id, 7);
                        }
                    }
                })
            };
            let lock_client = Client::builder()
                .endpoints([peer.url.as_str(), url])
                .read_timeout(secs(3))
                .connect_timeout(secs(1))
                .build()
                .unwrap();
            let mut lock = lock_client.v3().lock(name.clone(), 5).unwrap();
            lock.acquire(Some(secs(5))).unwrap();
            let notes: Vec<String> = peer.notes().into_iter().filter(|n| n != "probe").collect();
            assert_eq!(notes, ["grant 5", "txn"], "applied: {applied}");
            assert_eq!(lock.lease_id(), Some(lease));
            assert_eq!(key_of(&lock), key);
            let kvs = contenders(&c, &name);
            assert_eq!(kvs.len(), 1, "one key");
            assert_eq!(kvs[0].version, 1, "written once");
            assert_eq!(Some(kvs[0].create_revision), lock.revision());
            if applied {
                let made = *made.lock().unwrap();
                assert_eq!(made, lock.revision(), "the first txn's key taken as its own");
            } else {
                assert_eq!(*made.lock().unwrap(), None);
            }
            assert!(lock.is_held().unwrap());
            lock.release().unwrap();
            assert!(contenders(&c, &name).is_empty());
            assert!(lease_exists(&c, lease), "kept at release, for the next acquire");
            drop(lock);
            assert!(!lease_exists(&c, lease), "revoked at drop");
        }
    }
}
