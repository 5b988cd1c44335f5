//! Lease keepers (src/v3/keeper.rs) against etcd 3.4 and 3.5.1: a lease
//! kept alive past its TTL, stop with and without revoke, drop, a lease
//! revoked behind the keeper's back, adoption, no thread left behind.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use common::etcd35;
use etcdc::v3::{Code, KeeperState, LeaseSource, Put};
use etcdc::{Client, Error};

/// Tests take it shared; the one that counts keeper threads alone.
static THREADS: RwLock<()> = RwLock::new(());

/// Runs `f` against the shared etcd 3.4 and the shared etcd 3.5.1.
fn both(f: impl Fn(&Client)) {
    let _shared = THREADS.read().unwrap_or_else(|p| p.into_inner());
    for url in [&common::shared().url, &etcd35::shared().url] {
        let client = Client::builder().endpoints([url.as_str()]).build().unwrap();
        f(&client);
    }
}

fn key(name: &str) -> Vec<u8> {
    common::prefix(name).into_bytes()
}

/// The threads of this process named `etcdc-lease`.
fn keeper_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "etcdc-lease")
        .count()
}

#[test]
fn a_kept_lease_outlives_its_ttl_and_stop_revokes_it() {
    both(|client| {
        let v3 = client.v3();
        let keeper = v3
            .lease_keeper(LeaseSource::Grant { ttl: 2 }, None)
            .unwrap();
        assert_eq!(keeper.ttl(), 2);
        let k = key("kept");
        v3.put_with(&Put::new(k.clone(), "v").lease(keeper.id()))
            .unwrap();
        // Three TTLs: without renewals the lease and its key would be gone.
        let until = Instant::now() + Duration::from_secs(6);
        while Instant::now() < until {
            let ttl = v3.lease_time_to_live(keeper.id(), false).unwrap();
            assert!(ttl.ttl > 0, "lease left {ttl:?}");
            assert!(matches!(keeper.state(), KeeperState::Alive { .. }));
            std::thread::sleep(Duration::from_millis(250));
        }
        assert!(v3.get(k.clone()).unwrap().is_some());
        let id = keeper.id();
        keeper.stop(true).unwrap();
        assert_eq!(v3.get(k).unwrap(), None, "revoked: its key is gone");
        assert_eq!(v3.lease_time_to_live(id, false).unwrap().ttl, -1);
    });
}

#[test]
fn stop_without_revoke_leaves_the_lease_to_expire() {
    both(|client| {
        let v3 = client.v3();
        let keeper = v3
            .lease_keeper(LeaseSource::Grant { ttl: 2 }, None)
            .unwrap();
        let id = keeper.id();
        keeper.stop(false).unwrap();
        assert!(v3.lease_time_to_live(id, false).unwrap().ttl > 0);
        let t = Instant::now();
        while v3.lease_time_to_live(id, false).unwrap().ttl != -1 {
            assert!(t.elapsed() < Duration::from_secs(5), "never expired");
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

#[test]
fn a_dropped_keeper_revokes_and_leaves_no_thread() {
    let _alone = THREADS.write().unwrap_or_else(|p| p.into_inner());
    for url in [&common::shared().url, &etcd35::shared().url] {
        let client = Client::builder().endpoints([url.as_str()]).build().unwrap();
        let v3 = client.v3();
        let before = keeper_threads();
        let keeper = v3
            .lease_keeper(LeaseSource::Grant { ttl: 5 }, None)
            .unwrap();
        let id = keeper.id();
        // (A new thread takes its name once it runs.)
        let t = Instant::now();
        while keeper_threads() != before + 1 && t.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(keeper_threads(), before + 1);
        drop(keeper);
        assert_eq!(keeper_threads(), before, "the thread outlived its keeper");
        assert_eq!(v3.lease_time_to_live(id, false).unwrap().ttl, -1);
    }
}

#[test]
fn a_lease_revoked_behind_its_back_is_reported_lost_once() {
    both(|client| {
        let v3 = client.v3();
        let calls = Arc::new(AtomicUsize::new(0));
        let reason = Arc::new(Mutex::new(String::new()));
        let on_lost = {
            let (calls, reason) = (calls.clone(), reason.clone());
            Box::new(move |why: &str| {
                calls.fetch_add(1, Ordering::SeqCst);
                *reason.lock().unwrap() = why.to_owned();
            })
        };
        let keeper = v3
            .lease_keeper(LeaseSource::Grant { ttl: 3 }, Some(on_lost))
            .unwrap();
        v3.lease_revoke(keeper.id()).unwrap();
        // The next renewal, a third of the TTL later, finds it gone.
        let t = Instant::now();
        while matches!(keeper.state(), KeeperState::Alive { .. }) {
            assert!(t.elapsed() < Duration::from_secs(3), "not noticed");
            std::thread::sleep(Duration::from_millis(20));
        }
        match keeper.state() {
            KeeperState::Lost(why) => assert!(why.contains("gone"), "{why}"),
            other => panic!("{other:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(reason.lock().unwrap().contains("gone"));
        let e = keeper.stop(true).unwrap_err();
        assert!(matches!(e, Error::NotHeld(_)), "{e:?}");
    });
}

#[test]
fn an_existing_lease_is_adopted_and_an_unknown_one_refused() {
    both(|client| {
        let v3 = client.v3();
        let granted = v3.lease_grant(2, 0).unwrap();
        let keeper = v3
            .lease_keeper(LeaseSource::Adopt { id: granted.id }, None)
            .unwrap();
        assert_eq!((keeper.id(), keeper.ttl()), (granted.id, 2));
        std::thread::sleep(Duration::from_secs(3));
        assert!(v3.lease_time_to_live(granted.id, false).unwrap().ttl > 0);
        keeper.stop(true).unwrap();
        let e = v3
            .lease_keeper(LeaseSource::Adopt { id: granted.id }, None)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Grpc {
                    code: Code::NotFound,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = v3
            .lease_keeper(LeaseSource::Grant { ttl: 0 }, None)
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    });
}

/// `on_lost` may drop (or stop) its own keeper: the keeper's thread is not
/// waited for (it is the one running the callback) and ends when the
/// callback returns.
#[test]
fn on_lost_may_drop_its_own_keeper() {
    both(|client| {
        let v3 = client.v3();
        let slot: Arc<Mutex<Option<etcdc::v3::LeaseKeeper>>> = Arc::new(Mutex::new(None));
        let dropped = Arc::new(AtomicUsize::new(0));
        let on_lost = {
            let (slot, dropped) = (slot.clone(), dropped.clone());
            Box::new(move |_: &str| {
                let keeper = slot.lock().unwrap().take();
                drop(keeper);
                dropped.fetch_add(1, Ordering::SeqCst);
            })
        };
        let before = keeper_threads();
        let keeper = v3
            .lease_keeper(LeaseSource::Grant { ttl: 3 }, Some(on_lost))
            .unwrap();
        let id = keeper.id();
        *slot.lock().unwrap() = Some(keeper);
        v3.lease_revoke(id).unwrap();
        let t = Instant::now();
        while dropped.load(Ordering::SeqCst) == 0 || keeper_threads() != before {
            assert!(t.elapsed() < Duration::from_secs(5), "the keeper lives on");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(slot.lock().unwrap().is_none());
    });
}
