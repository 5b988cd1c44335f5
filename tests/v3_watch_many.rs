//! A thousand v3 watches, and a thousand lease keepers, on one client, in a
//! process of their own (they count the process's threads; one test at a
//! time): each thousand shares one connection and one thread. Watches:
//! etcd counts a thousand watchers, each watch gets its own changes, and
//! dropping them ends etcd's watchers and the thread. Keepers: every lease
//! outlives its TTL several times over, and dropping them revokes them all
//! and ends the thread. Prints what they cost (the README's figures):
//! `cargo test --release --test v3_watch_many -- --nocapture --test-threads 1`.

mod common;

use std::time::{Duration, Instant};

use common::{etcd35, Relay};
use etcdc::v3::Watch;
use etcdc::{Client, Error};

/// One test at a time: they count the process's threads.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn a_thousand_keepers_share_one_stream() {
    let _serial = serial();
    let etcd = etcd35::start(common::Options::default());
    let relay = Relay::start(etcd.port);
    let c = Client::builder().endpoints([&relay.url]).build().unwrap();
    let threads_before = threads();
    let admin = Client::builder().endpoints([&etcd.url]).build().unwrap();
    let rss_before = rss_kib();
    let started = Instant::now();
    let keepers: Vec<_> = (0..1000)
        .map(|_| {
            c.v3()
                .lease_keeper(etcdc::v3::LeaseSource::Grant { ttl: 2 }, None)
                .unwrap()
        })
        .collect();
    let took = started.elapsed();
    let rss_after = rss_kib();
    // The client's connection (its grants) and the keepers' one.
    assert_eq!(relay.accepted(), 2, "connections");
    // The keepers' thread, and the readers of the two connections.
    assert_eq!(threads(), threads_before + 3, "threads");
    drop(admin);
    // Three TTLs later, every lease is alive, by etcd and by its keeper.
    std::thread::sleep(Duration::from_secs(6));
    for k in &keepers {
        assert!(
            matches!(k.state(), etcdc::v3::KeeperState::Alive { .. }),
            "{:?}",
            k.state()
        );
    }
    let admin = Client::builder().endpoints([&etcd.url]).build().unwrap();
    for k in keepers.iter().step_by(50) {
        assert!(admin.v3().lease_time_to_live(k.id(), false).unwrap().ttl > 0);
    }
    let ids: Vec<i64> = keepers.iter().map(|k| k.id()).collect();
    println!(
        "etcd 3.5.1: 1,000 lease keepers (TTL 2 s) on one client: 1 keep-alive connection, \
         1 keeper thread, client memory +{} KiB, granted in {took:.2?}; all alive after 6 s",
        rss_after.saturating_sub(rss_before),
    );
    drop(keepers);
    let listed = admin.v3().lease_list().unwrap();
    for id in ids {
        assert!(!listed.contains(&id), "lease {id:x} not revoked");
    }
    drop((c, admin));
    threads_back_to(
        threads_before,
        "the keeper thread and the connections ended",
    );
}

#[test]
fn a_thousand_watches_share_one_stream() {
    let _serial = serial();
    for (version, etcd) in [
        ("3.4", common::Etcd::start()),
        ("3.5.1", etcd35::start(common::Options::default())),
    ] {
        thousand(version, &etcd);
    }
}

fn thousand(version: &str, etcd: &common::Etcd) {
    let relay = Relay::start(etcd.port);
    let c = Client::builder().endpoints([&relay.url]).build().unwrap();
    let base = etcd_watchers(&etcd.url);
    let threads_before = threads();
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut watchers: Vec<_> = (0..1000)
        .map(|i| c.v3().watch(&Watch::key(format!("/many/{i}"))).unwrap())
        .collect();
    let took = started.elapsed();
    let rss_after = rss_kib();
    assert_eq!(etcd_watchers(&etcd.url), base + 1000);
    // The watch thread and its connection's reader.
    assert_eq!(threads(), threads_before + 2, "threads");
    assert_eq!(relay.accepted(), 1, "connections");
    println!(
        "etcd {version}: 1,000 watches on one client: 1 connection, 2 threads (the watch thread and its connection's reader), \
         etcd watchers {} -> {}, client memory +{} KiB ({} bytes a watch), created in {took:.2?}",
        base,
        base + 1000,
        rss_after.saturating_sub(rss_before),
        rss_after.saturating_sub(rss_before) * 1024 / 1000,
    );
    for i in (0..1000).step_by(97) {
        c.v3().put(format!("/many/{i}"), "v").unwrap();
    }
    for (i, w) in watchers.iter_mut().enumerate() {
        if i % 97 == 0 {
            let e = w.next_event(Some(Duration::from_secs(10))).unwrap();
            assert_eq!(e.kv.key, format!("/many/{i}").into_bytes());
        }
        let more = w.next_event(Some(Duration::ZERO));
        assert!(matches!(more, Err(Error::WatchTimeout(_))), "{i}: {more:?}");
    }
    drop(watchers);
    let deadline = Instant::now() + Duration::from_secs(5);
    while etcd_watchers(&etcd.url) != base {
        assert!(
            Instant::now() < deadline,
            "etcd still counts {}",
            etcd_watchers(&etcd.url)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The client's own connection (its puts) goes with it.
    drop(c);
    threads_back_to(threads_before, "the watch thread and the connections ended");
}

/// Waits (5 s at most) until this process has `count` etcdc threads: a
/// joined thread may still be listed in /proc for a moment after its join
/// returned (the kernel wakes the joiner before it reaps the thread).
#[track_caller]
fn threads_back_to(count: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads() != count {
        assert!(
            Instant::now() < deadline,
            "{what}: {} etcdc threads, not {count}",
            threads()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// etcd's gauge of watchers (`etcd_debugging_mvcc_watcher_total`).
fn etcd_watchers(url: &str) -> u64 {
    common::metric(url, "etcd_debugging_mvcc_watcher_total", "")
}

/// This process's threads of etcdc (the relay's are not counted).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("etcdc-"))
        .count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
