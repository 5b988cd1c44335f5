//! v3 watches (`client.v3().watch()`) against real etcd servers, each test
//! once per version (etcd 3.4 from Debian, etcd 3.5.1 upstream): what
//! events carry, ranges and filters, history and compaction, cancel, a
//! thousand watches on one stream, and resuming after the connection is
//! cut — in order, exactly once.
//!
//! Tests share one etcd per version (keys under a prefix of their own);
//! compaction and etcd's watcher count, which are the whole server's, run
//! on private ones. Member failures (SIGKILL, SIGSTOP) are in
//! tests/cluster.rs.

mod common;

use std::time::{Duration, Instant};

use common::Relay;
use etcdc::v3::{EventKind, Watch};
use etcdc::{Client, Error};

fn client(url: &str) -> Client {
    Client::builder().endpoints([url]).build().expect("client")
}

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// Puts and returns the revision it made.
fn put(c: &Client, key: &[u8], value: &[u8]) -> i64 {
    c.v3().put(key, value).expect("put").header.revision
}

/// The value of etcd's gauge of watchers (`etcd_debugging_mvcc_watcher_total`).
fn etcd_watchers(url: &str) -> u64 {
    common::metric(url, "etcd_debugging_mvcc_watcher_total", "")
}

/// Waits until `check` holds, at most `within`.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

both! {
    /// A key's changes, in order, with every field etcd sends; prev_kv; a
    /// change made right after watch() returns is delivered.
    fn events_carry_the_change(server) {
        let c = client(&server.shared().url);
        let key = common::prefix("watch-key").into_bytes();
        let other = [key.clone(), b"x".to_vec()].concat();
        let mut w = c.v3().watch(&Watch::key(key.clone()).prev_kv()).unwrap();
        let created = w.next_revision();
        assert!(created > 1, "{created}");
        let r1 = put(&c, &key, b"one");
        put(&c, &other, b"not watched");
        let lease = c.v3().lease_grant(60, 0).unwrap().id;
        let r2 = c.v3().put_with(&etcdc::v3::Put::new(key.clone(), b"two".to_vec()).lease(lease)).unwrap().header.revision;
        let r3 = c.v3().delete(&etcdc::v3::Delete::key(key.clone())).unwrap().header.revision;

        // Where to resume: after what was taken, not what arrived.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(w.next_revision(), created);
        let e = w.next_event(WAIT).unwrap();
        assert_eq!(w.next_revision(), r1 + 1);
        assert_eq!(e.kind, EventKind::Put);
        assert_eq!((e.kv.key.as_slice(), e.kv.value.as_slice()), (key.as_slice(), &b"one"[..]));
        assert_eq!((e.kv.create_revision, e.kv.mod_revision, e.kv.version, e.kv.lease), (r1, r1, 1, 0));
        assert_eq!(e.prev_kv, None);
        assert_eq!(e.revision(), r1);
        let e = w.next_event(WAIT).unwrap();
        assert_eq!((e.kind, e.kv.value.as_slice(), e.kv.version, e.kv.lease), (EventKind::Put, &b"two"[..], 2, lease));
        assert_eq!((e.kv.create_revision, e.kv.mod_revision), (r1, r2));
        assert_eq!(e.prev_kv.as_ref().unwrap().value, b"one");
        let e = w.next_event(WAIT).unwrap();
        assert_eq!(e.kind, EventKind::Delete);
        assert_eq!((e.kv.key.as_slice(), e.kv.mod_revision, e.kv.value.len(), e.kv.version), (key.as_slice(), r3, 0, 0));
        assert_eq!(e.prev_kv.as_ref().unwrap().value, b"two");
        assert_eq!(w.next_revision(), r3 + 1);
        // Nothing else came.
        match w.next_event(Some(Duration::from_millis(200))) {
            Err(Error::WatchTimeout(_)) => {}
            other => panic!("{other:?}"),
        }
        match w.next_event(Some(Duration::ZERO)) {
            Err(Error::WatchTimeout(t)) => assert!(t.is_zero()),
            other => panic!("{other:?}"),
        }
        c.v3().lease_revoke(lease).unwrap();
    }
}

both! {
    /// Prefix, range and from-key watches see exactly their keys; NOPUT
    /// and NODELETE filter; binary keys round-trip.
    fn ranges_and_filters(server) {
        let c = client(&server.shared().url);
        let p = common::prefix("watch-range").into_bytes();
        let k = |s: &[u8]| [p.as_slice(), s].concat();
        let mut prefix = c.v3().watch(&Watch::prefix(k(b"/a"))).unwrap();
        let mut between = c.v3().watch(&Watch::between(k(b"/b"), k(b"/d"))).unwrap();
        let mut deletes = c.v3().watch(&Watch::prefix(p.clone()).no_put()).unwrap();
        let mut puts = c.v3().watch(&Watch::prefix(p.clone()).no_delete()).unwrap();
        let mut from = c.v3().watch(&Watch::from_key(k(b"/c"))).unwrap();
        for key in [&b"/a1"[..], b"/a\x00\xff", b"/b", b"/c", b"/d", b"/ab"] {
            put(&c, &k(key), b"v");
        }
        c.v3().delete(&etcdc::v3::Delete::key(k(b"/a1"))).unwrap();
        let keys = |w: &mut etcdc::v3::Watcher, n: usize| -> Vec<(EventKind, Vec<u8>)> {
            let got: Vec<_> = (0..n).map(|_| {
                let e = w.next_event(WAIT).unwrap();
                (e.kind, e.kv.key[p.len()..].to_vec())
            }).collect();
            match w.next_event(Some(Duration::from_millis(100))) {
                Err(Error::WatchTimeout(_)) => got,
                other => panic!("more than {n}: {other:?}"),
            }
        };
        use EventKind::{Delete as D, Put as P};
        assert_eq!(keys(&mut prefix, 4), [(P, b"/a1".to_vec()), (P, b"/a\x00\xff".to_vec()), (P, b"/ab".to_vec()), (D, b"/a1".to_vec())]);
        assert_eq!(keys(&mut between, 2), [(P, b"/b".to_vec()), (P, b"/c".to_vec())]);
        assert_eq!(keys(&mut deletes, 1), [(D, b"/a1".to_vec())]);
        assert_eq!(keys(&mut puts, 6).len(), 6);
        // From /c on: also keys beyond the test's prefix may come (other
        // tests write there); ours are in order.
        let mine: Vec<_> = std::iter::from_fn(|| from.next_event(Some(Duration::from_millis(300))).ok())
            .filter(|e| e.kv.key.starts_with(&p))
            .map(|e| e.kv.key[p.len()..].to_vec())
            .collect();
        assert_eq!(mine, [b"/c".to_vec(), b"/d".to_vec()]);
    }
}

both! {
    /// From a past revision: the history replayed, then live changes; the
    /// iterator; a negative revision refused.
    fn history_then_live(server) {
        let c = client(&server.shared().url);
        let key = common::prefix("watch-history").into_bytes();
        let first = put(&c, &key, b"0");
        for i in 1..5 {
            put(&c, &key, i.to_string().as_bytes());
        }
        let w = c.v3().watch(&Watch::key(key.clone()).start_revision(first + 1)).unwrap();
        let c2 = client(&server.shared().url);
        let writer = {
            let key = key.clone();
            std::thread::spawn(move || {
                for i in 5..10 {
                    put(&c2, &key, i.to_string().as_bytes());
                }
            })
        };
        let values: Vec<Vec<u8>> = w.take(9).map(|e| e.unwrap().kv.value).collect();
        writer.join().unwrap();
        let want: Vec<Vec<u8>> = (1..10).map(|i: i32| i.to_string().into_bytes()).collect();
        assert_eq!(values, want);
        match c.v3().watch(&Watch::key(key).start_revision(-1)) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("-1"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

both! {
    /// A watch from a compacted revision ends with Compacted and the
    /// compaction's revision; the documented recovery (read, watch from the
    /// read's revision + 1) goes on without a gap.
    fn compaction_is_reported(server) {
        let etcd = server.start();
        let c = client(&etcd.url);
        let key = b"/compacted".to_vec();
        let r1 = put(&c, &key, b"1");
        put(&c, &key, b"2");
        let r3 = put(&c, &key, b"3");
        c.v3().compact(r3, false).unwrap();
        let mut w = c.v3().watch(&Watch::key(key.clone()).start_revision(r1)).unwrap();
        match w.next_event(WAIT) {
            Err(Error::Compacted { revision }) => assert_eq!(revision, r3),
            other => panic!("{other:?}"),
        }
        // Final: it says so again.
        assert!(matches!(w.next_event(Some(Duration::ZERO)), Err(Error::Compacted { .. })));
        let read = c.v3().range(&etcdc::v3::Range::key(key.clone())).unwrap();
        let mut w = c.v3().watch(&Watch::key(key.clone()).start_revision(read.header.revision + 1)).unwrap();
        let r4 = put(&c, &key, b"4");
        assert_eq!(w.next_event(WAIT).unwrap().revision(), r4);
    }
}

both! {
    /// Cancel from another thread wakes a blocked wait at once; etcd's own
    /// watcher count goes back down, also when a watcher is dropped.
    fn cancel_wakes_and_tells_etcd(server) {
        let etcd = server.start();
        let c = client(&etcd.url);
        let base = etcd_watchers(&etcd.url);
        let mut w = c.v3().watch(&Watch::key("/cancel")).unwrap();
        let dropped = c.v3().watch(&Watch::prefix("/cancel")).unwrap();
        assert!(eventually(Duration::from_secs(5), || etcd_watchers(&etcd.url) == base + 2));
        let canceller = w.canceller();
        let waiter = std::thread::spawn(move || {
            let started = Instant::now();
            let outcome = w.next_event(None);
            (outcome, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(200));
        let at = Instant::now();
        canceller.cancel();
        let (outcome, _) = waiter.join().unwrap();
        let woke = at.elapsed();
        assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
        assert!(woke < Duration::from_millis(100), "{woke:?}");
        canceller.cancel(); // again: nothing
        assert!(eventually(Duration::from_secs(5), || etcd_watchers(&etcd.url) == base + 1));
        drop(dropped);
        assert!(eventually(Duration::from_secs(5), || etcd_watchers(&etcd.url) == base));
        // A new watch after the last one went: a new stream.
        let mut again = c.v3().watch(&Watch::key("/cancel")).unwrap();
        let r = put(&c, b"/cancel", b"x");
        assert_eq!(again.next_event(WAIT).unwrap().revision(), r);
    }
}

both! {
    /// The connection cut again and again under a writer: the watch resumes
    /// on a new one from its next revision; every change comes once, in
    /// order.
    fn resumes_after_cut_connections(server) {
        let etcd = server.shared();
        let relay = Relay::start(etcd.port);
        let watching = client(&relay.url);
        let writer = client(&etcd.url);
        let p = common::prefix("watch-cut");
        let mut w = watching.v3().watch(&Watch::prefix(p.clone())).unwrap();
        let n = 300;
        let writes = {
            let p = p.clone();
            std::thread::spawn(move || {
                (0..n).map(|i| put(&writer, format!("{p}/{i}").as_bytes(), b"v")).collect::<Vec<i64>>()
            })
        };
        let mut got = Vec::new();
        let mut cuts = 0;
        while got.len() < n {
            match w.next_event(WAIT) {
                Ok(e) => got.push(e.revision()),
                Err(e) => panic!("after {} events: {e}", got.len()),
            }
            if got.len() % 50 == 25 {
                // Cut the stream's connection, and wait for the next one.
                let accepted = relay.accepted();
                if relay.cut() > 0 {
                    cuts += 1;
                    assert!(relay.wait_accepted_beyond(accepted, Duration::from_secs(5)));
                    // Set up before the next cut (two cuts in a row while it
                    // connects are two failed attempts, which the watch
                    // reports: see Watcher::next_event).
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        let revisions = writes.join().unwrap();
        assert_eq!(got, revisions);
        assert_eq!(cuts, 6);
        assert_eq!(relay.accepted(), 7);
        match w.next_event(Some(Duration::from_millis(200))) {
            Err(Error::WatchTimeout(_)) => {}
            other => panic!("after the last event: {other:?}"),
        }
    }
}

both! {
    /// No member: watch() fails with the connection error. The only member
    /// killed under a watch: the watcher is told once, goes on trying, and
    /// once etcd is back delivers what was written meanwhile, nothing
    /// twice.
    fn a_dead_server_is_reported_and_outlived(server) {
        let dead = format!("http://127.0.0.1:{}", common::dead_port());
        match client(&dead).v3().watch(&Watch::key("k")) {
            Err(Error::Connection { endpoint, .. }) => assert_eq!(endpoint, dead),
            other => panic!("{other:?}"),
        }
        let mut etcd = server.start();
        let c = client(&etcd.url);
        let mut w = c.v3().watch(&Watch::prefix("/outlive/")).unwrap();
        let r1 = put(&c, b"/outlive/1", b"1");
        assert_eq!(w.next_event(WAIT).unwrap().revision(), r1);
        etcd.kill();
        match w.next_event(WAIT) {
            Err(Error::Connection { .. }) => {}
            other => panic!("{other:?}"),
        }
        // Told once.
        assert!(matches!(w.next_event(Some(Duration::from_millis(100))), Err(Error::WatchTimeout(_))));
        etcd.resume();
        let r2 = put(&c, b"/outlive/2", b"2");
        assert_eq!(w.next_event(WAIT).unwrap().revision(), r2);
        assert!(matches!(w.next_event(Some(Duration::from_millis(200))), Err(Error::WatchTimeout(_))));
    }
}
