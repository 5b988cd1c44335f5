//! Watches against a real etcd 3.4: one-shot `Client::watch` and endless
//! `Watcher`s. Every change delivered once and in order (under load, across
//! cut connections and an etcd restart), history (`wait_index` in the past,
//! and the 401 when it is gone), timeouts, cancellation, recursion.
//!
//! Each test uses its own key prefix on the shared etcd, except those that
//! need an etcd of their own (flooding its history, restarting it).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{client, prefix, Etcd, Relay};
use etcdc::{
    Action, Client, DeleteOptions, Error, ReadOptions, Response, WatchOptions, Watcher,
    WriteOptions,
};

/// Longest wait for something that should happen promptly; only reached when
/// a test fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// A change as the test compares it: etcd index, action, key.
type Change = (u64, String, String);

fn change(r: &Response) -> Change {
    (
        r.node.modified_index,
        r.action.as_str().to_owned(),
        r.node.key.clone(),
    )
}

fn recursive_from(index: u64) -> WatchOptions {
    WatchOptions {
        recursive: true,
        wait_index: Some(index),
        timeout: None,
    }
}

/// Creates the directory `dir` and returns the etcd index right after it,
/// where a watcher of its subtree starts.
fn make_dir(c: &Client, dir: &str) -> u64 {
    c.mkdir(dir, None).unwrap().node.modified_index + 1
}

fn client_at(url: &str) -> Client {
    Client::builder().endpoints([url]).build().unwrap()
}

/// Runs `watcher` on a thread of its own, sending every outcome of
/// `next_event(None)` into the returned channel, until an error other than
/// a connection failure (when `retry_connection` is set) or the receiver is
/// dropped. The thread is joined through the handle.
fn collect(
    mut watcher: Watcher,
    retry_connection: bool,
) -> (
    mpsc::Receiver<etcdc::Result<Response>>,
    thread::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || loop {
        let outcome = watcher.next_event(None);
        let go_on = match &outcome {
            Ok(_) => true,
            Err(Error::Connection { .. }) => retry_connection,
            Err(_) => false,
        };
        if tx.send(outcome).is_err() || !go_on {
            return;
        }
    });
    (rx, handle)
}

/// Receives `n` events from a [`collect`] channel (skipping connection
/// errors when `skip_connection_errors`); panics on any other error or when
/// they don't come within [`PATIENCE`]. Returns them and how many connection
/// errors were skipped.
fn receive(
    rx: &mpsc::Receiver<etcdc::Result<Response>>,
    n: usize,
    skip_connection_errors: bool,
) -> (Vec<Response>, usize) {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    let mut skipped = 0;
    while events.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(event)) => events.push(event),
            Ok(Err(Error::Connection { .. })) if skip_connection_errors => skipped += 1,
            Ok(Err(e)) => panic!("watcher failed after {} events: {e:?}", events.len()),
            Err(_) => panic!(
                "only {} of {n} events within {PATIENCE:?}: {:?}",
                events.len(),
                events.iter().map(change).collect::<Vec<_>>()
            ),
        }
    }
    (events, skipped)
}

/// Asserts that nothing more comes from a [`collect`] channel for `quiet`.
fn assert_quiet(rx: &mpsc::Receiver<etcdc::Result<Response>>, quiet: Duration) {
    match rx.recv_timeout(quiet) {
        Err(mpsc::RecvTimeoutError::Timeout) => {}
        Ok(Ok(event)) => panic!("unexpected extra event {:?}", change(&event)),
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Every change, in order, exactly once.

#[test]
fn a_recursive_watcher_sees_every_change_once_in_etcd_order() {
    const WRITES: usize = 1000;
    let dir = prefix("stream");
    let c = client();
    let from = make_dir(&c, &dir);
    let mut watcher = c.watcher(&dir, &recursive_from(from)).unwrap();

    // The writer (a client of its own) mixes creates, plain sets over
    // existing keys, updates (prevExist), compare-and-swaps, deletes,
    // compare-and-deletes, nested keys, and keys with a TTL of 1 s that etcd
    // expires; it records each change from its own responses. It stays at
    // most 400 changes ahead of the watcher, well within etcd's history of
    // 1,000 events (shared with the other tests), however slow the watcher's
    // thread is scheduled.
    let watched = Arc::new(AtomicUsize::new(0));
    let writer_watched = watched.clone();
    let writer_dir = dir.clone();
    let writer = thread::spawn(move || {
        let w = client();
        let mut log: Vec<Change> = Vec::new();
        let mut ttl_keys = BTreeSet::new();
        let mut values: Vec<Option<String>> = vec![None; 13];
        for i in 0..WRITES {
            while i >= writer_watched.load(Ordering::Relaxed) + 400 {
                thread::sleep(Duration::from_millis(1));
            }
            let value = format!("v{i}");
            let r = if i % 20 == 7 && i < 700 {
                let key = format!("{writer_dir}/ttl/t{i}");
                ttl_keys.insert(key.clone());
                let opts = WriteOptions {
                    ttl: Some(1),
                    ..WriteOptions::default()
                };
                w.write(&key, &value, &opts).unwrap()
            } else {
                let slot = i % 13;
                let key = if slot % 4 == 0 {
                    format!("{writer_dir}/deep/er/k{slot}")
                } else {
                    format!("{writer_dir}/k{slot}")
                };
                let r = match (&values[slot], i % 5) {
                    (None, _) => w.set(&key, &value).unwrap(),
                    (Some(_), 0) => w.delete(&key, &DeleteOptions::default()).unwrap(),
                    (Some(old), 1) => {
                        let opts = DeleteOptions {
                            prev_value: Some(old),
                            ..DeleteOptions::default()
                        };
                        w.delete(&key, &opts).unwrap()
                    }
                    (Some(_), 2) => {
                        let opts = WriteOptions {
                            prev_exist: Some(true),
                            ..WriteOptions::default()
                        };
                        w.write(&key, &value, &opts).unwrap()
                    }
                    (Some(old), 3) => w.test_and_set(&key, &value, old, None).unwrap(),
                    (Some(_), _) => w.set(&key, &value).unwrap(),
                };
                values[slot] = match r.action {
                    Action::Delete | Action::CompareAndDelete => None,
                    _ => Some(value),
                };
                r
            };
            log.push(change(&r));
        }
        (log, ttl_keys)
    });

    let started = Instant::now();
    let mut seen: Vec<Change> = Vec::new();
    let mut expired = 0;
    // The writer's changes plus one expiry per TTL key (35 of them).
    let total = WRITES + (0..700).filter(|i| i % 20 == 7).count();
    while seen.len() < total {
        let left = (started + PATIENCE).saturating_duration_since(Instant::now());
        match watcher.next_event(Some(left)) {
            Ok(event) => {
                if event.action == Action::Expire {
                    expired += 1;
                    let prev = event.prev_node.as_ref().expect("expire has prev_node");
                    assert_eq!(prev.key, event.node.key);
                    assert!(prev.value.as_deref().unwrap().starts_with('v'));
                }
                seen.push(change(&event));
                watched.store(seen.len(), Ordering::Relaxed);
            }
            Err(e) => panic!(
                "watcher failed after {} of {total} events ({expired} expiries): {e:?}",
                seen.len()
            ),
        }
    }
    let took = started.elapsed();
    // Nothing more: no repeats, nothing extra.
    assert!(matches!(
        watcher.next_event(Some(Duration::from_millis(300))),
        Err(Error::WatchTimeout(_))
    ));
    let (log, ttl_keys) = writer.join().unwrap();

    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "events not in strictly increasing etcd index order"
    );
    let written: Vec<Change> = seen.iter().filter(|c| c.1 != "expire").cloned().collect();
    assert_eq!(written.len(), log.len(), "missed or repeated writes");
    assert_eq!(
        written, log,
        "the watcher's writes differ from the writer's"
    );
    let expired_keys: Vec<&String> = seen
        .iter()
        .filter(|c| c.1 == "expire")
        .map(|c| &c.2)
        .collect();
    assert_eq!(
        expired_keys.iter().copied().collect::<BTreeSet<_>>(),
        ttl_keys.iter().collect::<BTreeSet<_>>(),
        "expiries"
    );
    assert_eq!(expired_keys.len(), ttl_keys.len(), "an expiry came twice");
    // Sanity check of the mix.
    for action in [
        "set",
        "update",
        "compareAndSwap",
        "delete",
        "compareAndDelete",
    ] {
        assert!(log.iter().any(|c| c.1 == action), "no {action} in the mix");
    }
    eprintln!("{total} events in {took:?}");
}

// ---------------------------------------------------------------------------
// 2. History.

#[test]
fn a_wait_index_in_the_past_returns_the_old_events_at_once() {
    let c = client();
    let key = format!("{}/k", prefix("past"));
    let r1 = c.set(&key, "1").unwrap();
    let r2 = c.set(&key, "2").unwrap();
    let r3 = c.set(&key, "3").unwrap();
    let (i1, i2, i3) = (
        r1.node.modified_index,
        r2.node.modified_index,
        r3.node.modified_index,
    );

    let opts = |index| WatchOptions {
        wait_index: Some(index),
        timeout: Some(Duration::from_secs(5)),
        ..WatchOptions::default()
    };
    let started = Instant::now();
    let first = c.watch(&key, &opts(i1)).unwrap();
    let second = c.watch(&key, &opts(i2)).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert_eq!(first.action, Action::Set);
    assert_eq!(
        (first.node.modified_index, first.node.value.as_deref()),
        (i1, Some("1"))
    );
    assert_eq!(first.prev_node, None);
    assert_eq!(
        (second.node.modified_index, second.node.value.as_deref()),
        (i2, Some("2"))
    );
    assert_eq!(second.prev_node.unwrap().value.as_deref(), Some("1"));
    // An index between two changes: the next one after it.
    let recursive_dir = key.rsplit_once('/').unwrap().0;
    let between = c
        .watch(
            recursive_dir,
            &WatchOptions {
                recursive: true,
                ..opts(i2 + 1)
            },
        )
        .unwrap();
    assert_eq!(between.node.modified_index, i3);

    let mut watcher = c.watcher(&key, &opts(i1)).unwrap();
    assert_eq!(watcher.next_index(), Some(i1));
    let started = Instant::now();
    let values: Vec<(u64, String)> = (0..3)
        .map(|_| {
            let e = watcher.next_event(Some(Duration::from_secs(5))).unwrap();
            (e.node.modified_index, e.node.value.unwrap())
        })
        .collect();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert_eq!(
        values,
        [(i1, "1".into()), (i2, "2".into()), (i3, "3".into())]
    );
    assert_eq!(watcher.next_index(), Some(i3 + 1));
    assert!(matches!(
        watcher.next_event(Some(Duration::from_millis(200))),
        Err(Error::WatchTimeout(_))
    ));
}

// ---------------------------------------------------------------------------
// 3. Timeouts.

fn assert_watch_timeout(outcome: etcdc::Result<Response>, took: Duration, timeout: Duration) {
    match outcome {
        Err(Error::WatchTimeout(t)) => assert_eq!(t, timeout),
        other => panic!("expected WatchTimeout, got {other:?}"),
    }
    assert!(
        took >= timeout && took <= timeout + Duration::from_millis(300),
        "a {timeout:?} watch timed out after {took:?}"
    );
}

#[test]
fn a_watch_times_out_on_time_and_a_watcher_goes_on_after_it() {
    let c = client();
    let key = format!("{}/k", prefix("timeout"));
    let start = c.set(&key, "0").unwrap().node.modified_index + 1;

    let timeout = Duration::from_millis(500);
    let opts = WatchOptions {
        timeout: Some(timeout),
        ..WatchOptions::default()
    };
    let started = Instant::now();
    let outcome = c.watch(&key, &opts);
    assert_watch_timeout(outcome, started.elapsed(), timeout);

    // next_event's own timeout, then the next change.
    let mut watcher = c
        .watcher(
            &key,
            &WatchOptions {
                wait_index: Some(start),
                ..WatchOptions::default()
            },
        )
        .unwrap();
    let timeout = Duration::from_millis(400);
    let started = Instant::now();
    let outcome = watcher.next_event(Some(timeout));
    assert_watch_timeout(outcome, started.elapsed(), timeout);
    assert_eq!(watcher.next_index(), Some(start));
    let changed = c.set(&key, "1").unwrap();
    let event = watcher.next_event(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(event.node.modified_index, changed.node.modified_index);
    assert_eq!(event.node.value.as_deref(), Some("1"));

    // As an iterator, with the timeout of its options: a timeout is yielded
    // and iteration goes on.
    let timeout = Duration::from_millis(300);
    let mut events = c
        .watcher(
            &key,
            &WatchOptions {
                wait_index: Some(changed.node.modified_index + 1),
                timeout: Some(timeout),
                ..WatchOptions::default()
            },
        )
        .unwrap();
    let started = Instant::now();
    let outcome = events.next().expect("a timeout, not the end");
    assert_watch_timeout(outcome, started.elapsed(), timeout);
    let changed = c.set(&key, "2").unwrap();
    let event = events.next().expect("an event after a timeout").unwrap();
    assert_eq!(event.node.modified_index, changed.node.modified_index);
}

#[test]
fn the_read_timeout_does_not_cut_watches() {
    // Through a relay, to count connections: a watch cut by the read timeout
    // would be retried on a new connection (and could still see the change).
    let relay = Relay::start(common::shared().port);
    let read_timeout = Duration::from_millis(300);
    let short = Client::builder()
        .endpoints([relay.url.as_str()])
        .read_timeout(read_timeout)
        .build()
        .unwrap();
    let c = client();
    let key = format!("{}/k", prefix("readtimeout"));
    let quiet_key = format!("{}/quiet", prefix("readtimeout"));
    let from = c.set(&key, "0").unwrap().node.modified_index + 1;
    let opts = WatchOptions {
        wait_index: Some(from),
        ..WatchOptions::default()
    };
    let mut watcher = short.watcher(&key, &opts).unwrap();

    let started = Instant::now();
    let (one_shot, by_watcher, longer) = thread::scope(|s| {
        let one_shot = s.spawn(|| (short.watch(&key, &opts), started.elapsed()));
        let by_watcher = s.spawn(move || (watcher.next_event(None), started.elapsed()));
        // A watch timeout longer than the read timeout.
        let longer = s.spawn(|| {
            let opts = WatchOptions {
                timeout: Some(Duration::from_secs(1)),
                ..WatchOptions::default()
            };
            let t = Instant::now();
            (short.watch(&quiet_key, &opts), t.elapsed())
        });
        thread::sleep(Duration::from_millis(1200));
        c.set(&key, "1").unwrap();
        (
            one_shot.join().unwrap(),
            by_watcher.join().unwrap(),
            longer.join().unwrap(),
        )
    });
    for (outcome, took) in [one_shot, by_watcher] {
        let event = outcome.expect("the watch failed");
        assert_eq!(event.node.value.as_deref(), Some("1"));
        assert!(took >= Duration::from_millis(1200), "took {took:?}");
    }
    assert_watch_timeout(longer.0, longer.1, Duration::from_secs(1));
    // One connection per watch: none was cut and redone.
    assert_eq!(relay.accepted(), 3);
}

// ---------------------------------------------------------------------------
// 4. Cancellation.

#[test]
fn cancel_ends_a_blocked_watcher_promptly_and_for_good() {
    let relay = Relay::start(common::shared().port);
    let c = client_at(&relay.url);
    let key = format!("{}/k", prefix("cancel"));
    let mut watcher = c.watcher(&key, &WatchOptions::default()).unwrap();
    let canceller = watcher.canceller();
    assert!(!canceller.is_cancelled());
    let (tx, rx) = mpsc::channel();
    let blocked = thread::spawn(move || {
        let outcome = watcher.next_event(None);
        let returned = Instant::now();
        let again = watcher.next_event(None);
        let again_with_timeout = watcher.next_event(Some(Duration::from_secs(5)));
        let iterated = watcher.next();
        watcher.resume_from(1);
        let resumed = watcher.next();
        tx.send((
            outcome,
            returned,
            again,
            again_with_timeout,
            iterated.is_none(),
            resumed.is_none(),
            returned.elapsed(),
        ))
        .unwrap();
    });
    // Blocked: its poll is on the wire.
    assert!(relay.wait_accepted_beyond(0, PATIENCE));
    thread::sleep(Duration::from_millis(200));
    assert_eq!(relay.live(), 1);
    let cancelled_at = Instant::now();
    canceller.cancel();
    assert!(canceller.is_cancelled());
    let (outcome, returned, again, again_with_timeout, iterated_none, resumed_none, rest) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("next_event still blocked 5 s after cancel");
    assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
    let latency = returned.duration_since(cancelled_at);
    assert!(
        latency < Duration::from_millis(100),
        "returned {latency:?} after cancel"
    );
    assert!(matches!(again, Err(Error::Cancelled)), "{again:?}");
    assert!(
        matches!(again_with_timeout, Err(Error::Cancelled)),
        "{again_with_timeout:?}"
    );
    assert!(iterated_none, "the iterator goes on after cancel");
    assert!(resumed_none, "resume_from revived a cancelled watcher");
    assert!(
        rest < Duration::from_millis(50),
        "later calls took {rest:?}"
    );
    blocked.join().unwrap();
    // Its connection is closed and no other was opened.
    let deadline = Instant::now() + PATIENCE;
    while relay.live() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!((relay.live(), relay.accepted()), (0, 1));
}

#[test]
fn cancel_before_the_first_call() {
    let c = client();
    let key = format!("{}/k", prefix("cancelfirst"));
    let mut watcher = c.watcher(&key, &WatchOptions::default()).unwrap();
    watcher.canceller().cancel();
    let started = Instant::now();
    assert!(matches!(watcher.next_event(None), Err(Error::Cancelled)));
    assert!(matches!(
        watcher.next_event(Some(Duration::from_secs(5))),
        Err(Error::Cancelled)
    ));
    assert!(watcher.next().is_none());
    let took = started.elapsed();
    assert!(took < Duration::from_millis(50), "took {took:?}");
}

#[test]
fn cancel_ends_an_iterating_loop() {
    let c = client();
    let dir = prefix("canceliter");
    let from = make_dir(&c, &dir);
    let watcher = c.watcher(&dir, &recursive_from(from)).unwrap();
    let canceller = watcher.canceller();
    let (tx, rx) = mpsc::channel();
    let looping = thread::spawn(move || {
        let mut values = Vec::new();
        for event in watcher {
            let event = event.unwrap();
            values.push(event.node.value.unwrap());
            tx.send(()).unwrap();
        }
        (values, Instant::now())
    });
    for v in ["a", "b"] {
        c.set(&format!("{dir}/k"), v).unwrap();
        rx.recv_timeout(PATIENCE).expect("event");
    }
    thread::sleep(Duration::from_millis(100));
    let cancelled_at = Instant::now();
    canceller.cancel();
    let (values, ended) = looping.join().unwrap();
    assert_eq!(values, ["a", "b"]);
    let latency = ended.duration_since(cancelled_at);
    assert!(
        latency < Duration::from_millis(100),
        "ended {latency:?} after cancel"
    );
}

#[test]
fn cancel_interrupts_reconnect_attempts() {
    // No etcd: the watcher is pausing between retries when cancelled.
    let c = client_at(&format!("http://127.0.0.1:{}", common::dead_port()));
    let mut watcher = c.watcher("/k", &WatchOptions::default()).unwrap();
    let canceller = watcher.canceller();
    let blocked = thread::spawn(move || (watcher.next_event(None), Instant::now()));
    thread::sleep(Duration::from_millis(120));
    let cancelled_at = Instant::now();
    canceller.cancel();
    let (outcome, returned) = blocked.join().unwrap();
    assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
    let latency = returned.duration_since(cancelled_at);
    assert!(
        latency < Duration::from_millis(100),
        "returned {latency:?} after cancel"
    );
}

// ---------------------------------------------------------------------------
// 5. Falling behind etcd's history.

#[test]
fn falling_out_of_history_is_reported_once_and_resume_from_goes_on() {
    // An etcd of its own: 1,100 writes would push other tests' watchers out
    // of the shared one's history.
    let etcd = Etcd::start();
    let c = etcd.client();
    let first = c.set("/w/k", "0").unwrap().node.modified_index;
    thread::scope(|s| {
        for t in 0..4 {
            let c = &c;
            s.spawn(move || {
                for j in 0..275 {
                    c.set(&format!("/other/{t}"), &j.to_string()).unwrap();
                }
            });
        }
    });
    let read = c
        .read(
            "/w",
            &ReadOptions {
                recursive: true,
                ..ReadOptions::default()
            },
        )
        .unwrap();
    let current = read.headers.etcd_index;
    assert!(current >= first + 1100, "{first} → {current}");
    let opts = WatchOptions {
        recursive: true,
        wait_index: Some(first),
        timeout: Some(Duration::from_secs(5)),
    };
    let cleared = |outcome: etcdc::Result<Response>| match outcome {
        Err(Error::EventIndexCleared(e)) => {
            assert_eq!(e.code, 401);
            assert_eq!(e.index, current, "the 401's index is etcd's current index");
        }
        other => panic!("expected EventIndexCleared, got {other:?}"),
    };
    cleared(c.watch("/w", &opts));

    let mut watcher = c.watcher("/w", &opts).unwrap();
    cleared(watcher.next_event(None));
    assert_eq!(
        watcher.next_index(),
        Some(first),
        "the error moved the index"
    );
    // The iterator yields it once, then ends (without asking etcd again).
    cleared(watcher.next().expect("the error"));
    let started = Instant::now();
    assert!(watcher.next().is_none());
    assert!(watcher.next().is_none());
    assert!(started.elapsed() < Duration::from_millis(50));

    // Re-read, resume after the read: the next change comes.
    let reread = c.read("/w", &ReadOptions::default()).unwrap();
    watcher.resume_from(reread.headers.etcd_index + 1);
    let changed = c.set("/w/k", "1").unwrap();
    let event = watcher.next().expect("resumed").unwrap();
    assert_eq!(change(&event), change(&changed));
    assert_eq!(event.prev_node.unwrap().value.as_deref(), Some("0"));
}

// ---------------------------------------------------------------------------
// 6. Dropped connections.

#[test]
fn a_watcher_reconnects_after_cut_connections_and_misses_nothing() {
    let relay = Relay::start(common::shared().port);
    let c = client(); // writes go straight to etcd
    let dir = prefix("cut");
    let from = make_dir(&c, &dir);
    let watcher = client_at(&relay.url)
        .watcher(&dir, &recursive_from(from))
        .unwrap();
    let canceller = watcher.canceller();
    let (rx, collector) = collect(watcher, false);
    let mut written = Vec::new();
    let mut write = |i: usize| {
        let r = c.set(&format!("{dir}/k{}", i % 7), &i.to_string()).unwrap();
        written.push(change(&r));
    };
    let mut seen = Vec::new();

    // Cut while the watcher waits for a change.
    write(0);
    seen.extend(receive(&rx, 1, false).0.iter().map(change));
    thread::sleep(Duration::from_millis(100));
    let accepted = relay.accepted();
    assert_eq!(relay.cut(), 1);
    assert!(
        relay.wait_accepted_beyond(accepted, PATIENCE),
        "no reconnect"
    );
    write(1);
    seen.extend(receive(&rx, 1, false).0.iter().map(change));

    // Cut, and change things before the watcher's new connection gets
    // through.
    thread::sleep(Duration::from_millis(50));
    relay.hold();
    let accepted = relay.accepted();
    assert_eq!(relay.cut(), 1);
    assert!(
        relay.wait_accepted_beyond(accepted, PATIENCE),
        "no reconnect"
    );
    for i in 2..6 {
        write(i);
    }
    thread::sleep(Duration::from_millis(100));
    assert_quiet(&rx, Duration::ZERO);
    relay.release();
    seen.extend(receive(&rx, 4, false).0.iter().map(change));

    // Cuts at any point (mid-request, mid-response, while waiting) while a
    // writer changes things. Each cut comes 0-20 ms after the watcher has
    // delivered an event since the previous cut and has a connection again,
    // so that it never spends its few retries in a row.
    // The writer keeps at most LEAD changes ahead of the watcher: etcd's
    // history (1,000 events, shared with the other tests) must still hold
    // what the watcher has not seen.
    const CUTS: usize = 12;
    const LEAD: usize = 150;
    let stop = AtomicBool::new(false);
    let seen_count = AtomicUsize::new(0);
    let writer_dir = dir.clone();
    let (log, cuts) = thread::scope(|s| {
        let writer = s.spawn(|| {
            let w = client();
            let mut log = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if log.len() >= seen_count.load(Ordering::Relaxed) + LEAD {
                    thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let key = format!("{writer_dir}/s{}", log.len() % 11);
                log.push(change(&w.set(&key, "x").unwrap()));
            }
            log
        });
        let stream_from = seen.len();
        let deadline = Instant::now() + PATIENCE;
        let (mut cuts, mut pause) = (0, 0);
        let mut seen_at_cut = seen.len();
        while cuts < CUTS && Instant::now() < deadline {
            while let Ok(outcome) = rx.try_recv() {
                seen.push(change(&outcome.expect("the watcher failed")));
            }
            seen_count.store(seen.len() - stream_from, Ordering::Relaxed);
            // live: joined since the last cut.
            if seen.len() > seen_at_cut && relay.live() > 0 {
                thread::sleep(Duration::from_millis(pause));
                pause = (pause + 7) % 21;
                let cut = relay.cut();
                if cut > 0 {
                    cuts += 1;
                    seen_at_cut = seen.len();
                }
            } else {
                thread::sleep(Duration::from_millis(1));
            }
        }
        stop.store(true, Ordering::Relaxed);
        (writer.join().unwrap(), cuts)
    });
    assert_eq!(cuts, CUTS, "cuts within {PATIENCE:?}");
    written.extend(log);
    let (events, _) = receive(&rx, written.len().saturating_sub(seen.len()), false);
    seen.extend(events.iter().map(change));
    assert_quiet(&rx, Duration::from_millis(200));
    assert_eq!(seen, written, "missed, repeated or reordered changes");
    canceller.cancel();
    collector.join().unwrap();
    eprintln!(
        "{cuts} cuts over {} changes, {} reconnections",
        written.len(),
        relay.accepted() - 1
    );
}

// ---------------------------------------------------------------------------
// 7. etcd restarted.

#[test]
fn a_watcher_survives_an_etcd_restart() {
    let mut etcd = Etcd::start();
    let c = etcd.client();
    let from = make_dir(&c, "/r");
    let watcher = etcd.client().watcher("/r", &recursive_from(from)).unwrap();
    let canceller = watcher.canceller();
    // Connection errors while etcd is down are fine: next_event is called
    // again and must go on from where it was.
    let (rx, collector) = collect(watcher, true);
    let before: Vec<Change> = (0..3)
        .map(|i| change(&c.set(&format!("/r/k{i}"), "before").unwrap()))
        .collect();
    let seen: Vec<Change> = receive(&rx, 3, true).0.iter().map(change).collect();
    assert_eq!(seen, before);

    // Down long enough for the watcher to spend its retries (about 0.75 s).
    let down = Instant::now();
    etcd.kill();
    thread::sleep(Duration::from_millis(1200));
    etcd.resume();
    let outage = down.elapsed();
    let after: Vec<Change> = (0..6)
        .map(|i| change(&c.set(&format!("/r/k{}", i % 4), "after").unwrap()))
        .collect();
    assert!(after[0].0 > before[2].0);
    let (events, connection_errors) = receive(&rx, after.len(), true);
    let seen: Vec<Change> = events.iter().map(change).collect();
    assert_eq!(seen, after, "missed or repeated changes across the restart");
    assert_quiet(&rx, Duration::from_millis(300));
    assert!(
        connection_errors >= 1,
        "the outage did not outlast the retries"
    );
    canceller.cancel();
    collector.join().unwrap();
    eprintln!("outage {outage:?}, {connection_errors} connection errors");
}

#[test]
fn history_survives_an_etcd_restart() {
    // Changes the watcher had not polled for yet when etcd went down come
    // after the restart, then the new ones.
    let mut etcd = Etcd::start();
    let c = etcd.client();
    let from = make_dir(&c, "/h");
    let mut watcher = etcd.client().watcher("/h", &recursive_from(from)).unwrap();
    let first = c.set("/h/a", "1").unwrap();
    assert_eq!(
        change(&watcher.next_event(Some(PATIENCE)).unwrap()),
        change(&first)
    );
    let mut expected: Vec<Change> = ["b", "c"]
        .iter()
        .map(|k| change(&c.set(&format!("/h/{k}"), "before").unwrap()))
        .collect();
    etcd.restart();
    expected.extend(
        ["a", "d"]
            .iter()
            .map(|k| change(&c.set(&format!("/h/{k}"), "after").unwrap())),
    );
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while seen.len() < expected.len() && Instant::now() < deadline {
        match watcher.next_event(Some(PATIENCE)) {
            Ok(event) => seen.push(change(&event)),
            Err(Error::Connection { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(seen, expected);
    assert!(matches!(
        watcher.next_event(Some(Duration::from_millis(300))),
        Err(Error::WatchTimeout(_))
    ));
}

// ---------------------------------------------------------------------------
// 8. Recursive or not; the event's fields.

#[test]
fn only_a_recursive_watch_sees_changes_under_a_directory() {
    let c = client();
    let dir = prefix("recursive");
    let from = make_dir(&c, &dir);
    let flat = WatchOptions {
        wait_index: Some(from),
        ..WatchOptions::default()
    };
    let mut flat_watcher = c.watcher(&dir, &flat).unwrap();
    let mut deep_watcher = c.watcher(&dir, &recursive_from(from)).unwrap();

    let key = format!("{dir}/k");
    let nested = format!("{dir}/sub/n");
    let mut written = vec![
        c.set(&key, "1").unwrap(),
        c.set(&key, "2").unwrap(),
        c.write(
            &key,
            "3",
            &WriteOptions {
                prev_exist: Some(true),
                ..WriteOptions::default()
            },
        )
        .unwrap(),
        c.test_and_set(&key, "4", "3", None).unwrap(),
        c.set(&nested, "n").unwrap(),
        c.delete(&key, &DeleteOptions::default()).unwrap(),
        c.write(
            &format!("{dir}/ttl"),
            "t",
            &WriteOptions {
                ttl: Some(1),
                ..WriteOptions::default()
            },
        )
        .unwrap(),
    ];
    // The recursive watcher sees every change, up to the expiry.
    let mut events: Vec<Response> = (0..written.len() + 1)
        .map(|_| deep_watcher.next_event(Some(PATIENCE)).unwrap())
        .collect();
    let expiry = events.pop().unwrap();
    for (event, w) in events.iter().zip(&written) {
        assert_eq!(event.action, w.action);
        assert_eq!(event.node, w.node);
        assert_eq!(event.prev_node, w.prev_node);
    }
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "set",
            "set",
            "update",
            "compareAndSwap",
            "set",
            "delete",
            "set"
        ]
    );
    // The fields: a create has no prev_node; an overwrite, update, swap and
    // delete have the node before; a delete's node has no value.
    assert_eq!(events[0].prev_node, None);
    assert_eq!(events[0].node.value.as_deref(), Some("1"));
    for (i, before) in [(1, "1"), (2, "2"), (3, "3"), (5, "4")] {
        let prev = events[i].prev_node.as_ref().expect("prev_node");
        assert_eq!(
            (prev.key.as_str(), prev.value.as_deref()),
            (key.as_str(), Some(before))
        );
    }
    assert_eq!(events[5].node.key, key);
    assert_eq!(events[5].node.value, None);
    assert_eq!(events[4].node.key, nested);
    assert_eq!(expiry.action, Action::Expire);
    assert_eq!(expiry.node.key, format!("{dir}/ttl"));
    assert_eq!(expiry.node.value, None);
    assert!(expiry.node.modified_index > written[6].node.modified_index);
    let prev = expiry.prev_node.as_ref().expect("expire has prev_node");
    assert_eq!(prev.value.as_deref(), Some("t"));
    assert_eq!(prev.modified_index, written[6].node.modified_index);

    // The directory itself changes: both watchers see it. The
    // non-recursive one sees nothing before it.
    written.push(
        c.delete(
            &dir,
            &DeleteOptions {
                recursive: true,
                ..DeleteOptions::default()
            },
        )
        .unwrap(),
    );
    let removed = written.last().unwrap();
    let started = Instant::now();
    let flat_event = flat_watcher.next_event(Some(PATIENCE)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(change(&flat_event), change(removed));
    assert_eq!(flat_event.action, Action::Delete);
    assert!(flat_event.node.dir);
    assert!(flat_event.prev_node.unwrap().dir);
    assert_eq!(
        change(&deep_watcher.next_event(Some(PATIENCE)).unwrap()),
        change(removed)
    );
    // The same with one-shot watches from history.
    let one_shot = |recursive| {
        c.watch(
            &dir,
            &WatchOptions {
                recursive,
                wait_index: Some(from),
                timeout: Some(Duration::from_secs(5)),
            },
        )
        .unwrap()
    };
    assert_eq!(change(&one_shot(false)), change(removed));
    assert_eq!(change(&one_shot(true)), change(&written[0]));
}

#[test]
fn a_non_recursive_watch_of_a_directory_times_out_despite_child_changes() {
    let c = client();
    let dir = prefix("flat");
    let from = make_dir(&c, &dir);
    let timeout = Duration::from_millis(600);
    let started = Instant::now();
    let outcome = thread::scope(|s| {
        let watch = s.spawn(|| {
            c.watch(
                &dir,
                &WatchOptions {
                    wait_index: Some(from),
                    timeout: Some(timeout),
                    ..WatchOptions::default()
                },
            )
        });
        for i in 0..5 {
            thread::sleep(Duration::from_millis(50));
            c.set(&format!("{dir}/k/{i}"), "x").unwrap();
        }
        watch.join().unwrap()
    });
    assert_watch_timeout(outcome, started.elapsed(), timeout);
}

// ---------------------------------------------------------------------------
// A watcher started "from now" (no wait_index), before its first event.

#[test]
fn a_watcher_from_now_misses_nothing_after_a_timeout() {
    let c = client();
    let key = format!("{}/k", prefix("fromnow"));
    let mut watcher = c.watcher(&key, &WatchOptions::default()).unwrap();
    assert!(matches!(
        watcher.next_event(Some(Duration::from_millis(200))),
        Err(Error::WatchTimeout(_))
    ));
    // A change after the watcher's first poll began, between two polls.
    let changed = c.set(&key, "1").unwrap();
    let event = watcher.next_event(Some(Duration::from_secs(2)));
    match event {
        Ok(e) => assert_eq!(change(&e), change(&changed)),
        Err(e) => panic!("the change between two polls was missed: {e:?}"),
    }
}

/// Runs `watch` (from now, through `relay`) on a thread, cuts its connection
/// once its first poll is on the wire, and changes `key` before it can
/// reconnect. Returns the change and what the watch returned.
fn change_while_cut(
    relay: &Relay,
    key: &str,
    watch: impl FnOnce() -> etcdc::Result<Response> + Send,
) -> (Change, etcdc::Result<Response>) {
    thread::scope(|s| {
        let waiting = s.spawn(watch);
        assert!(relay.wait_accepted_beyond(0, PATIENCE));
        thread::sleep(Duration::from_millis(100));
        relay.hold();
        assert_eq!(relay.cut(), 1);
        assert!(relay.wait_accepted_beyond(1, PATIENCE), "no reconnect");
        let changed = client().set(key, "1").unwrap();
        relay.release();
        (change(&changed), waiting.join().unwrap())
    })
}

#[test]
fn a_watcher_from_now_misses_nothing_across_a_cut_connection() {
    let relay = Relay::start(common::shared().port);
    let key = format!("{}/k", prefix("fromnowcut"));
    let mut watcher = client_at(&relay.url)
        .watcher(&key, &WatchOptions::default())
        .unwrap();
    let (changed, outcome) = change_while_cut(&relay, &key, || {
        watcher.next_event(Some(Duration::from_secs(3)))
    });
    match outcome {
        Ok(e) => assert_eq!(change(&e), changed),
        Err(e) => panic!("the change made while the connection was down was missed: {e:?}"),
    }
}

#[test]
fn a_one_shot_watch_from_now_misses_nothing_across_a_cut_connection() {
    let relay = Relay::start(common::shared().port);
    let key = format!("{}/k", prefix("oneshotcut"));
    let c = client_at(&relay.url);
    let opts = WatchOptions {
        timeout: Some(Duration::from_secs(3)),
        ..WatchOptions::default()
    };
    let (changed, outcome) = change_while_cut(&relay, &key, || c.watch(&key, &opts));
    match outcome {
        Ok(e) => assert_eq!(change(&e), changed),
        Err(e) => panic!("the change made while the connection was down was missed: {e:?}"),
    }
}

// ---------------------------------------------------------------------------
// Short waits (issue 17 §4): a timeout returns, the poll goes on.

/// A watcher (through a relay, to count connections) of a directory, called
/// with `wait(call)` in a loop (and `pause` after each timeout) while a
/// writer sets `n` keys under it, `gap` apart: every change arrives, in
/// etcd's order, exactly once, over one connection. Returns how many calls
/// timed out.
fn short_waits(
    name: &str,
    (n, gap): (usize, Duration),
    wait: impl Fn(usize) -> Duration,
    pause: Duration,
) -> usize {
    let relay = Relay::start(common::shared().port);
    let dir = prefix(name);
    let c = client();
    let from = make_dir(&c, &dir);
    let mut watcher = client_at(&relay.url)
        .watcher(&dir, &recursive_from(from))
        .unwrap();
    let started = Instant::now();
    let writer_dir = dir.clone();
    let writer = thread::spawn(move || {
        let w = client();
        (0..n)
            .map(|i| {
                thread::sleep(gap);
                change(
                    &w.set(&format!("{writer_dir}/k{}", i % 7), &i.to_string())
                        .unwrap(),
                )
            })
            .collect::<Vec<Change>>()
    });
    let mut seen = Vec::new();
    let mut timeouts = 0;
    let mut call = 0;
    while seen.len() < n {
        assert!(
            started.elapsed() < PATIENCE,
            "{name}: {} of {n} events after {timeouts} timeouts, {} connection(s)",
            seen.len(),
            relay.accepted()
        );
        let wait = wait(call);
        call += 1;
        match watcher.next_event(Some(wait)) {
            Ok(event) => seen.push(change(&event)),
            Err(Error::WatchTimeout(t)) => {
                assert_eq!(t, wait);
                timeouts += 1;
                thread::sleep(pause);
            }
            Err(e) => panic!("{name}: after {} events: {e:?}", seen.len()),
        }
    }
    let written = writer.join().unwrap();
    assert_eq!(seen, written, "{name}: not every change once, in order");
    // Nothing more: the next call times out.
    assert!(matches!(
        watcher.next_event(Some(Duration::from_millis(50))),
        Err(Error::WatchTimeout(_))
    ));
    eprintln!(
        "watch-timing {name}: {n} events in {:?}, {call} calls, {timeouts} timeouts, {} connection(s)",
        started.elapsed(),
        relay.accepted()
    );
    assert_eq!(relay.accepted(), 1, "{name}: one connection for every poll");
    timeouts
}

#[test]
fn a_watcher_polled_without_waiting_delivers_every_change_once_on_one_connection() {
    let timeouts = short_waits(
        "zerowait",
        (300, Duration::from_micros(500)),
        |_| Duration::ZERO,
        Duration::from_micros(200),
    );
    assert!(timeouts > 0);
}

#[test]
fn a_watcher_polled_with_1_to_5_ms_waits_delivers_every_change_once_on_one_connection() {
    // Writes further apart than most waits: many time out.
    let timeouts = short_waits(
        "shortwait",
        (100, Duration::from_millis(4)),
        |call| Duration::from_millis(1 + call as u64 % 5),
        Duration::ZERO,
    );
    assert!(timeouts > 0);
}

/// An answer that came while nobody waited is delivered by a zero wait.
#[test]
fn a_zero_wait_delivers_an_answer_that_came_meanwhile() {
    let c = client();
    let key = format!("{}/k", prefix("zerowaitlater"));
    let mut watcher = c.watcher(&key, &WatchOptions::default()).unwrap();
    // The first zero wait sends the poll.
    assert!(matches!(
        watcher.next_event(Some(Duration::ZERO)),
        Err(Error::WatchTimeout(_))
    ));
    let deadline = Instant::now() + PATIENCE;
    while watcher.next_index().is_none() {
        assert!(Instant::now() < deadline, "the poll never started");
        match watcher.next_event(Some(Duration::ZERO)) {
            Err(Error::WatchTimeout(_)) => thread::sleep(Duration::from_millis(5)),
            other => panic!("{other:?}"),
        }
    }
    let changed = c.set(&key, "1").unwrap();
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let event = watcher.next_event(Some(Duration::ZERO)).unwrap();
    assert!(started.elapsed() < Duration::from_millis(20));
    assert_eq!(change(&event), change(&changed));
}
