//! Clusters: failover across a real 3-member etcd 3.4 cluster (the leader
//! killed during writes and under a watcher, a dead first endpoint,
//! discovery), cluster information and membership, cluster id pinning.
//!
//! One cluster is shared by every test here. Tests that kill members or
//! change membership hold [`exclusive`] (and bring the cluster back whatever
//! happens); tests that only need it healthy hold [`shared`]. Tests that need
//! no cluster (all endpoints down, two single-member etcds for the cluster
//! id) take neither.
//!
//! Run with `--nocapture` to see the measured figures (time to resume after
//! the leader is killed, election time, ambiguous writes…).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::Etcd;
use etcdc::{Client, Error, ReadOptions, Response, WatchOptions};

/// When the shared cluster became healthy.
fn started() -> Instant {
    cluster();
    *STARTED.get().expect("set with the cluster")
}

static STARTED: OnceLock<Instant> = OnceLock::new();

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let started = Instant::now();
        let cluster = Cluster::start(3);
        println!(
            "3-member cluster healthy {:.2} s after start",
            started.elapsed().as_secs_f64()
        );
        let _ = STARTED.set(Instant::now());
        cluster
    })
}

static GATE: RwLock<()> = RwLock::new(());

/// The shared cluster, healthy, for a test that kills nothing.
fn shared() -> (RwLockReadGuard<'static, ()>, &'static Cluster) {
    let guard = GATE.read().unwrap_or_else(|p| p.into_inner());
    (guard, cluster())
}

/// The shared cluster to this test alone; every killed member is restarted
/// (and the cluster healthy again) when the guard drops, even on panic.
fn exclusive() -> (Exclusive, &'static Cluster) {
    let gate = GATE.write().unwrap_or_else(|p| p.into_inner());
    let cluster = cluster();
    (
        Exclusive {
            cluster,
            _gate: gate,
        },
        cluster,
    )
}

struct Exclusive {
    cluster: &'static Cluster,
    _gate: RwLockWriteGuard<'static, ()>,
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        if let Err(e) = self.cluster.revive_all() {
            if !std::thread::panicking() {
                panic!("the cluster did not come back: {e}");
            }
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The values under `dir`, by key (a recursive read).
fn values_under(client: &Client, dir: &str) -> BTreeMap<String, String> {
    let read = client
        .read(
            dir,
            &ReadOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .expect("recursive read");
    read.node
        .leaves()
        .filter(|n| !n.dir)
        .map(|n| (n.key.clone(), n.value.clone().unwrap_or_default()))
        .collect()
}

/// Waits until the member behind `client` has applied etcd index `index`.
fn wait_applied(client: &Client, probe_key: &str, index: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let seen = match client.get(probe_key) {
            Ok(r) => r.headers.etcd_index,
            Err(e) => e.etcd().map_or(0, |e| e.index),
        };
        if seen >= index {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "member still at index {seen} < {index} after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What one write returned, and when.
struct Outcome {
    ended: Instant,
    result: etcdc::Result<Response>,
}

/// Error kinds allowed while a leader is being replaced, with their counts.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    ambiguous: usize,
    timeout: usize,
    raft_internal: usize,
    other: Vec<String>,
}

impl Tally {
    fn of<'a>(outcomes: impl IntoIterator<Item = &'a etcdc::Result<Response>>) -> Tally {
        let mut t = Tally::default();
        for r in outcomes {
            match r {
                Ok(_) => t.ok += 1,
                Err(Error::Ambiguous { .. }) => t.ambiguous += 1,
                Err(Error::Timeout { .. }) => t.timeout += 1,
                Err(Error::RaftInternal(_) | Error::LeaderElect(_)) => t.raft_internal += 1,
                Err(e) => t.other.push(e.to_string()),
            }
        }
        t
    }
}

// ---------------------------------------------------------------------------
// The leader killed during 1,000 sequential writes.

/// Which member the client talks to when the leader is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientOn {
    /// The leader itself: its connection dies with it.
    Leader,
    /// A follower: it survives, but the write in flight was forwarded to the
    /// dead leader, and etcd answers it only after its own 7 s timeout.
    Follower,
}

/// Runs per endpoint order: each kills a leader (the cluster is revived
/// between runs).
const LEADER_KILL_RUNS: usize = 3;

/// How long after the new leader (as every member agrees on it) the writer
/// may resume: the goal is 0.5 s; the bound leaves room for a loaded CI
/// machine, and every run prints its figure.
const RESUME_AFTER_ELECTION: Duration = Duration::from_millis(1000);

#[test]
fn leader_killed_during_writes_loses_no_acknowledged_write() {
    for _ in 0..LEADER_KILL_RUNS {
        leader_kill_run(ClientOn::Leader);
    }
}

#[test]
fn leader_of_the_clients_member_killed_during_writes_loses_no_acknowledged_write() {
    for _ in 0..LEADER_KILL_RUNS {
        leader_kill_run(ClientOn::Follower);
    }
}

/// 1,000 sequential writes through one client with the library's defaults
/// (but a 10 s read timeout), the leader SIGKILLed after write 333; prints
/// the gaps between the kill, the new leader (as every member agrees on it)
/// and the first write acknowledged under it.
fn leader_kill_run(on: ClientOn) {
    const N: usize = 1000;
    const KILL_AT: usize = 333;
    let (_x, cluster) = exclusive();
    let leader = cluster.leader_index();
    let leader_url = cluster.url(leader).to_owned();
    let first = match on {
        ClientOn::Leader => leader,
        ClientOn::Follower => (leader + 1) % cluster.len(),
    };
    let client = Client::builder()
        .endpoints(cluster.urls_from(first))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let dir = common::prefix("leader-kill");
    let key = |i: usize| format!("{dir}/k{i:04}");
    let value = |i: usize| format!("v{i}");

    let written = AtomicUsize::new(0);
    let started = Instant::now();
    let (outcomes, kill_at, killed_at, new_leader) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            (0..N)
                .map(|i| {
                    let result = client.set(&key(i), &value(i));
                    written.store(i + 1, Ordering::SeqCst);
                    Outcome {
                        ended: Instant::now(),
                        result,
                    }
                })
                .collect::<Vec<_>>()
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while written.load(Ordering::SeqCst) < KILL_AT {
            assert!(Instant::now() < deadline && !writer.is_finished());
            std::thread::sleep(Duration::from_millis(1));
        }
        let kill_at = Instant::now();
        cluster.kill(leader);
        let killed_at = Instant::now();
        // When the survivors agree on a new leader.
        let new_leader = loop {
            if let Some(l) = cluster.try_leader_index() {
                break Some((l, Instant::now()));
            }
            if kill_at.elapsed() > Duration::from_secs(20) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        (writer.join().unwrap(), kill_at, killed_at, new_leader)
    });
    let total = started.elapsed();
    let (new_leader, elected_at) = new_leader.expect("no new leader within 20 s of the kill");
    assert_ne!(new_leader, leader);

    // The term before the kill; the first write acknowledged in a later term
    // is the client resuming under the new leader.
    let old_term = outcomes
        .iter()
        .filter(|o| o.ended < kill_at)
        .filter_map(|o| o.result.as_ref().ok())
        .map(|r| r.headers.raft_term)
        .max()
        .expect("writes before the kill");
    let resumed = outcomes
        .iter()
        .position(|o| {
            o.ended > killed_at
                && o.result
                    .as_ref()
                    .is_ok_and(|r| r.headers.raft_term > old_term)
        })
        .expect("no write succeeded under a new leader");
    let resume_time = outcomes[resumed].ended - kill_at;
    let tally = Tally::of(outcomes.iter().map(|o| &o.result));
    let failed: Vec<usize> = (0..N).filter(|&i| outcomes[i].result.is_err()).collect();
    println!(
        "leader kill, client on the {on:?}: {N} writes in {:.2} s; leader {} killed after \
         write {KILL_AT}; new leader {} elected {:.2} s after the kill; client resumed {:.3} s \
         after the kill, {:.3} s after the election (write #{resumed}); ok {}, ambiguous {}, \
         timeout {}, raft internal {}; failed writes {:?}",
        secs(total),
        cluster.name(leader),
        cluster.name(new_leader),
        secs(elected_at - kill_at),
        secs(resume_time),
        secs(resume_time.saturating_sub(elected_at - kill_at)),
        tally.ok,
        tally.ambiguous,
        tally.timeout,
        tally.raft_internal,
        failed
    );
    assert!(
        tally.other.is_empty(),
        "unexpected errors: {:?}",
        tally.other
    );
    assert!(
        tally.timeout + tally.raft_internal <= 3,
        "too many timeouts during the election: {tally:?}"
    );
    // The write in flight when the leader died, and any sent to it while it
    // was dying (its listener still completes handshakes, then resets).
    assert!(tally.ambiguous <= 5, "too many ambiguous writes: {tally:?}");
    // At most one write may come back of unknown outcome per kill (the one
    // in flight); with the client on a follower, even that one may have
    // committed before the leader died.
    assert!(
        tally.ambiguous + tally.timeout + tally.raft_internal <= 1,
        "client on the {on:?}: more than the write in flight failed: {tally:?}"
    );
    let after_election = resume_time.saturating_sub(elected_at - kill_at);
    assert!(
        after_election <= RESUME_AFTER_ELECTION,
        "client on the {on:?}: resumed {after_election:?} after the new leader \
         ({resume_time:?} after the kill)"
    );
    // Writes go on after the failover: every later one succeeds.
    let after: Vec<usize> = failed.iter().copied().filter(|&i| i > resumed).collect();
    assert!(after.is_empty(), "writes failed after resuming: {after:?}");
    assert!(
        resumed < N - 100,
        "resumed too late to tell (write #{resumed})"
    );
    assert_ne!(
        client.endpoints()[0],
        leader_url,
        "the client still sends to the dead member first"
    );
    let _ = first;

    // Every acknowledged write is there, with its value; an ambiguous one
    // holds the old state (absent) or the new value.
    let check = |stored: &BTreeMap<String, String>, whose: &str| {
        for (i, o) in outcomes.iter().enumerate() {
            let found = stored.get(&key(i));
            match &o.result {
                Ok(_) => assert_eq!(found, Some(&value(i)), "{whose}: acknowledged write {i}"),
                Err(e) => assert!(
                    found.is_none() || found == Some(&value(i)),
                    "{whose}: write {i} failed ({e}) but holds {found:?}"
                ),
            }
        }
        assert!(stored.len() <= N, "{whose}: keys nobody wrote");
    };
    let stored = values_under(&client, &dir);
    check(&stored, "survivors");
    let applied_failures: Vec<usize> = failed
        .iter()
        .copied()
        .filter(|&i| stored.contains_key(&key(i)))
        .collect();
    println!("leader kill: failed writes that were applied nevertheless: {applied_failures:?}");

    // The killed member comes back with every acknowledged write.
    let restart_at = Instant::now();
    cluster.restart(leader);
    let healthy_after = restart_at.elapsed();
    let last_index = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .map(|r| r.node.modified_index)
        .max()
        .unwrap();
    let restarted = Client::builder()
        .endpoints([leader_url.as_str()])
        .build()
        .unwrap();
    wait_applied(&restarted, &dir, last_index, Duration::from_secs(10));
    let caught_up_after = restart_at.elapsed();
    let there = values_under(&restarted, &dir);
    check(&there, "restarted member");
    assert_eq!(
        there, stored,
        "the restarted member differs from the survivors"
    );
    println!(
        "leader kill: restarted member healthy after {:.2} s, caught up after {:.2} s",
        secs(healthy_after),
        secs(caught_up_after)
    );
}

// ---------------------------------------------------------------------------
// Endpoints down.

#[test]
fn a_dead_first_endpoint_is_skipped_for_reads_and_writes() {
    let (_g, cluster) = shared();
    let dead = format!("http://127.0.0.1:{}", common::dead_port());
    let mut endpoints = vec![dead.clone()];
    endpoints.extend(cluster.urls());
    let client = Client::builder()
        .endpoints(&endpoints)
        .read_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let dir = common::prefix("dead-first");
    let t = Instant::now();
    let set = client.set(&format!("{dir}/a"), "1").expect("write");
    assert_eq!(set.node.value.as_deref(), Some("1"));
    let first = t.elapsed();
    assert_ne!(
        client.endpoints()[0],
        dead,
        "still sending to the dead port first"
    );
    assert_eq!(client.endpoints().len(), 4);
    // The dead endpoint is no longer tried first: reads and writes go on.
    for i in 0..20 {
        client.set(&format!("{dir}/k{i}"), &i.to_string()).unwrap();
        assert_eq!(
            client.get(&format!("{dir}/k{i}")).unwrap().node.value,
            Some(i.to_string())
        );
    }
    // A read on a fresh client fails over the same way.
    let reader = Client::builder().endpoints(&endpoints).build().unwrap();
    assert_eq!(
        reader
            .get(&format!("{dir}/a"))
            .unwrap()
            .node
            .value
            .as_deref(),
        Some("1")
    );
    println!("dead first endpoint: first write took {:.3} s", secs(first));
    assert!(first < Duration::from_secs(3), "first write took {first:?}");
}

#[test]
fn every_endpoint_refusing_fails_with_connection_within_the_read_timeout() {
    let timeout = Duration::from_secs(2);
    let dead: Vec<String> = (0..3)
        .map(|_| format!("http://127.0.0.1:{}", common::dead_port()))
        .collect();
    let client = Client::builder()
        .endpoints(&dead)
        .read_timeout(timeout)
        .build()
        .unwrap();
    let t = Instant::now();
    let read = client.get("/k");
    assert!(
        matches!(&read, Err(Error::Connection { endpoint, .. }) if dead.contains(endpoint)),
        "{read:?}"
    );
    let write = client.set("/k", "v");
    assert!(
        matches!(&write, Err(Error::Connection { endpoint, .. }) if dead.contains(endpoint)),
        "{write:?}"
    );
    let members = client.members();
    assert!(
        matches!(members, Err(Error::Connection { .. })),
        "{members:?}"
    );
    let took = t.elapsed();
    assert!(took < timeout, "three refused requests took {took:?}");
}

/// A listener that never accepts: connections open (the kernel queues
/// them), requests are never answered, as a hung member.
fn hung_endpoint() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn a_read_with_every_endpoint_down_or_hung_fails_within_the_read_timeout() {
    let timeout = Duration::from_millis(1500);
    let (_hung, hung) = hung_endpoint();
    let dead = format!("http://127.0.0.1:{}", common::dead_port());
    let client = Client::builder()
        .endpoints([dead.as_str(), hung.as_str()])
        .read_timeout(timeout)
        .build()
        .unwrap();
    let t = Instant::now();
    let read = client.get("/k");
    let took = t.elapsed();
    assert!(matches!(read, Err(Error::Timeout { .. })), "{read:?}");
    assert!(
        took >= timeout - Duration::from_millis(100) && took < timeout + Duration::from_millis(500),
        "read took {took:?} with a read timeout of {timeout:?}"
    );
}

#[test]
fn a_write_with_every_endpoint_down_or_hung_fails_within_the_read_timeout() {
    let timeout = Duration::from_millis(1500);
    let (_hung, hung) = hung_endpoint();
    let dead = format!("http://127.0.0.1:{}", common::dead_port());
    let client = Client::builder()
        .endpoints([dead.as_str(), hung.as_str()])
        .read_timeout(timeout)
        .build()
        .unwrap();
    let t = Instant::now();
    let write = client.set("/k", "v");
    let took = t.elapsed();
    // The hung member may have received it: ambiguous, or a timeout.
    assert!(
        matches!(write, Err(Error::Ambiguous { .. } | Error::Timeout { .. })),
        "{write:?}"
    );
    assert!(
        took < timeout + Duration::from_millis(500),
        "write took {took:?} with a read timeout of {timeout:?}"
    );
}

// ---------------------------------------------------------------------------
// Discovery.

#[test]
fn discovery_from_one_member_finds_all_and_survives_losing_it() {
    let (_x, cluster) = exclusive();
    // A follower as the seed: killing it needs no election.
    let seed = (cluster.leader_index() + 1) % cluster.len();
    let seed_url = cluster.url(seed).to_owned();
    let client = Client::builder()
        .endpoints([seed_url.as_str()])
        .discover(true)
        .read_timeout(Duration::from_secs(10))
        .build()
        .expect("discovery");
    let found = client.endpoints();
    assert_eq!(found[0], seed_url, "the seed is no longer first: {found:?}");
    assert_eq!(
        found.iter().cloned().collect::<BTreeSet<_>>(),
        cluster.urls().into_iter().collect::<BTreeSet<_>>(),
        "discovered {found:?}"
    );
    assert_eq!(found.len(), 3, "discovered {found:?}");
    let dir = common::prefix("discovery");
    client.set(&format!("{dir}/before"), "1").unwrap();

    cluster.kill(seed);
    let t = Instant::now();
    client
        .set(&format!("{dir}/after"), "2")
        .expect("write after the seed died");
    let failover = t.elapsed();
    assert_eq!(
        client
            .get(&format!("{dir}/before"))
            .unwrap()
            .node
            .value
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        client
            .get(&format!("{dir}/after"))
            .unwrap()
            .node
            .value
            .as_deref(),
        Some("2")
    );
    let now = client.endpoints();
    assert_ne!(now[0], seed_url, "still sending to the dead seed first");
    assert_eq!(now.len(), 3, "endpoints after failover: {now:?}");
    for i in 0..10 {
        client.set(&format!("{dir}/k{i}"), "x").unwrap();
    }

    // A new client whose first endpoint is the killed member works too.
    let late = Client::builder()
        .endpoints(cluster.urls_from(seed))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    late.set(&format!("{dir}/late"), "3").unwrap();
    assert_eq!(
        late.get(&format!("{dir}/after"))
            .unwrap()
            .node
            .value
            .as_deref(),
        Some("2")
    );
    // And discovery still works when the first endpoint given is dead.
    let rediscovered = Client::builder()
        .endpoints(cluster.urls_from(seed))
        .discover(true)
        .build()
        .expect("discovery past a dead first endpoint");
    assert_ne!(rediscovered.endpoints()[0], seed_url);
    assert_eq!(rediscovered.endpoints().len(), 3);
    println!(
        "discovery: first write after the seed was killed took {:.3} s",
        secs(failover)
    );
}

#[test]
fn discovery_with_only_dead_endpoints_fails_at_build() {
    let dead: Vec<String> = (0..2)
        .map(|_| format!("http://127.0.0.1:{}", common::dead_port()))
        .collect();
    let t = Instant::now();
    let built = Client::builder()
        .endpoints(&dead)
        .discover(true)
        .read_timeout(Duration::from_secs(2))
        .build();
    let took = t.elapsed();
    match built {
        Err(e @ Error::Connection { .. }) => {
            let shown = e.to_string();
            assert!(
                dead.iter().any(|d| shown.contains(d.as_str())),
                "the error names no endpoint: {shown}"
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

// ---------------------------------------------------------------------------
// Cluster information.

#[test]
fn machines_members_leader_stats_version_health() {
    let (_g, cluster) = shared();
    let urls: BTreeSet<String> = cluster.urls().into_iter().collect();
    let client = cluster.client();

    let machines = client.machines().unwrap();
    assert_eq!(machines.len(), 3, "{machines:?}");
    assert_eq!(machines.iter().cloned().collect::<BTreeSet<_>>(), urls);

    let members = client.members().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    for i in 0..cluster.len() {
        let m = members
            .iter()
            .find(|m| m.name == cluster.name(i))
            .unwrap_or_else(|| panic!("no member {} in {members:?}", cluster.name(i)));
        assert_eq!(m.peer_urls, [cluster.peer_url(i)]);
        assert_eq!(m.client_urls, [cluster.url(i)]);
        assert!(
            m.id.len() >= 8 && m.id.bytes().all(|b| b.is_ascii_hexdigit()),
            "id {:?}",
            m.id
        );
    }
    let id_of = |i: usize| {
        members
            .iter()
            .find(|m| m.name == cluster.name(i))
            .unwrap()
            .id
            .clone()
    };

    let leader = cluster.leader_index();
    let leader_id = id_of(leader);
    for i in 0..cluster.len() {
        // Each member names the same leader, and its own state.
        let one = Client::builder()
            .endpoints([cluster.url(i)])
            .build()
            .unwrap();
        let l = one.leader().unwrap();
        assert_eq!(l.name, cluster.name(leader));
        assert_eq!(l.id, leader_id);
        assert_eq!(l.client_urls, [cluster.url(leader)]);

        let me = one.stats_self().unwrap();
        assert_eq!(me["name"], cluster.name(i), "{me}");
        assert_eq!(me["id"], id_of(i), "{me}");
        let state = if i == leader {
            "StateLeader"
        } else {
            "StateFollower"
        };
        assert_eq!(me["state"], state, "{me}");
        assert_eq!(me["leaderInfo"]["leader"], leader_id.as_str(), "{me}");
        assert!(me["startTime"].is_string(), "{me}");

        let store = one.stats_store().unwrap();
        for field in [
            "getsSuccess",
            "getsFail",
            "setsSuccess",
            "setsFail",
            "watchers",
        ] {
            assert!(store[field].is_u64(), "{field} in {store}");
        }

        let version = one.version().unwrap();
        assert!(version.server.starts_with("3.4."), "{version:?}");
        assert!(version.cluster.starts_with("3.4."), "{version:?}");
        assert!(one.health().unwrap());

        let stats = one.stats_leader();
        if i == leader {
            let stats = stats.unwrap();
            assert_eq!(stats["leader"], leader_id.as_str(), "{stats}");
            let followers: BTreeSet<String> = stats["followers"]
                .as_object()
                .expect("followers")
                .keys()
                .cloned()
                .collect();
            let expected: BTreeSet<String> = (0..3).filter(|&j| j != leader).map(id_of).collect();
            assert_eq!(followers, expected);
        } else {
            // etcd 3.4: 403 {"message":"not current leader"}, no errorCode.
            match stats {
                Err(Error::HttpStatus { status: 403, body }) => {
                    assert!(body.contains("not current leader"), "{body}")
                }
                other => panic!("stats_leader on a follower: {other:?}"),
            }
        }
    }
    // The store counts what it did.
    let dir = common::prefix("stats");
    let before = client.stats_store().unwrap()["setsSuccess"]
        .as_u64()
        .unwrap();
    client.set(&format!("{dir}/a"), "1").unwrap();
    let after = client.stats_store().unwrap()["setsSuccess"]
        .as_u64()
        .unwrap();
    assert!(after > before, "setsSuccess {before} -> {after}");
}

// ---------------------------------------------------------------------------
// Membership.

/// Removes a member added by a test, whatever the test does.
struct Added<'a>(&'a Client, Option<String>);

impl Drop for Added<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.1.take() {
            let _ = self.0.remove_member(&id);
        }
    }
}

#[test]
fn add_remove_update_member() {
    let (_x, cluster) = exclusive();
    let client = Client::builder()
        .endpoints(cluster.urls_from(cluster.leader_index()))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let before = client.members().unwrap();
    assert_eq!(before.len(), 3);
    let ids = |ms: &[etcdc::Member]| ms.iter().map(|m| m.id.clone()).collect::<BTreeSet<_>>();

    // Added but never started: 3 of 4 is still a quorum.
    let peer = format!("http://127.0.0.1:{}", common::dead_port());
    // etcd refuses reconfiguration (HTTP 500, "unhealthy cluster" in its
    // log) until its leader has been connected to every member for 5 s: just
    // after the cluster started, or after another test restarted a member.
    // That refusal is a bare 500, which etcd also answers when it timed
    // out with the change in flight: the client reports it as Ambiguous
    // (perhaps applied). So a retry may find the member added already (409).
    let t = Instant::now();
    let added = loop {
        match client.add_member(&[peer.as_str()]) {
            Err(Error::Ambiguous { .. }) if t.elapsed() < Duration::from_secs(12) => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(Error::HttpStatus { status: 409, .. }) => {
                let members = client.members().unwrap();
                let found = members.into_iter().find(|m| m.peer_urls.contains(&peer));
                break found.expect("409: the member is there");
            }
            other => break other.expect("add"),
        }
    };
    println!("add member: accepted after {:.2} s", secs(t.elapsed()));
    let mut guard = Added(&client, Some(added.id.clone()));
    assert!(
        !added.id.is_empty() && added.id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{added:?}"
    );
    assert!(!ids(&before).contains(&added.id));
    assert_eq!(added.peer_urls, [peer.as_str()]);
    assert_eq!(added.name, "");
    assert!(added.client_urls.is_empty(), "{added:?}");

    let four = client.members().unwrap();
    assert_eq!(four.len(), 4, "{four:?}");
    let new = four
        .iter()
        .find(|m| m.id == added.id)
        .expect("the new member");
    assert_eq!(new.name, "");
    assert_eq!(new.peer_urls, [peer.as_str()]);
    assert!(new.client_urls.is_empty());

    // etcd's raft drops a membership change proposed while the previous one
    // is not yet marked applied (the request then fails with a 500 after
    // etcd's 7 s request timeout): a write through the leader in between
    // takes raft past it.
    let settle = common::prefix("members-settle");
    client.set(&settle, "added").unwrap();
    client.remove_member(&added.id).expect("remove");
    guard.1 = None;
    let three = client.members().unwrap();
    assert_eq!(ids(&three), ids(&before), "{three:?}");
    client.set(&settle, "removed").unwrap();

    // Updating a member to the peer URL it has changes nothing.
    let m = &before[0];
    let peers: Vec<&str> = m.peer_urls.iter().map(String::as_str).collect();
    client.update_member(&m.id, &peers).expect("update");
    let mut now = client.members().unwrap();
    let mut was = before.clone();
    now.sort_by(|a, b| a.id.cmp(&b.id));
    was.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(now, was);

    // Ids are checked before anything is sent.
    for bad in ["zz", "", "1/2", "../members"] {
        assert!(
            matches!(client.remove_member(bad), Err(Error::InvalidArgument(_))),
            "remove {bad:?}"
        );
        assert!(
            matches!(
                client.update_member(bad, &[peer.as_str()]),
                Err(Error::InvalidArgument(_))
            ),
            "update {bad:?}"
        );
    }
    // The cluster is still whole and writable.
    assert_eq!(client.members().unwrap().len(), 3);
    client.set(&common::prefix("members"), "ok").unwrap();
}

#[test]
fn removing_an_unknown_member_is_not_reported_as_v2_disabled() {
    let (_g, cluster) = shared();
    let client = cluster.client();
    let unknown = "1234abcd";
    assert!(client.members().unwrap().iter().all(|m| m.id != unknown));
    let removed = client.remove_member(unknown);
    assert!(
        matches!(&removed, Err(Error::HttpStatus { status: 404, body })
            if body.contains("No such member")),
        "{removed:?}"
    );
    let updated = client.update_member(unknown, &["http://127.0.0.1:1"]);
    assert!(
        matches!(&updated, Err(Error::HttpStatus { status: 404, .. })),
        "{updated:?}"
    );
}

// ---------------------------------------------------------------------------
// Cluster ids.

#[test]
fn cluster_id_expected_or_pinned_refuses_another_cluster() {
    let mut a = Etcd::start();
    let b = Etcd::start();
    let id_a = a
        .client()
        .set("/cid", "a")
        .unwrap()
        .headers
        .cluster_id
        .expect("X-Etcd-Cluster-Id");
    let id_b = b
        .client()
        .set("/cid", "b")
        .unwrap()
        .headers
        .cluster_id
        .expect("X-Etcd-Cluster-Id");
    assert_ne!(id_a, id_b);

    // Expected id: the right cluster works (in any case of hex)…
    let right = Client::builder()
        .endpoints([a.url.as_str()])
        .expected_cluster_id(&id_a.to_uppercase())
        .build()
        .unwrap();
    assert_eq!(right.get("/cid").unwrap().node.value.as_deref(), Some("a"));
    // …the wrong one is refused.
    let wrong = Client::builder()
        .endpoints([b.url.as_str()])
        .expected_cluster_id(&id_a)
        .build()
        .unwrap();
    match wrong.get("/cid") {
        Err(Error::ClusterIdMismatch {
            endpoint,
            expected,
            found,
        }) => {
            assert_eq!(endpoint, b.url);
            assert_eq!(expected, id_a);
            assert_eq!(found, id_b);
        }
        other => panic!("expected ClusterIdMismatch, got {other:?}"),
    }
    assert!(matches!(
        wrong.members(),
        Err(Error::ClusterIdMismatch { .. })
    ));

    // No expected id: the first answer pins it, and a failover into
    // another cluster is refused.
    let pinned = Client::builder()
        .endpoints([a.url.as_str(), b.url.as_str()])
        .read_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(pinned.get("/cid").unwrap().node.value.as_deref(), Some("a"));
    a.kill();
    match pinned.get("/cid") {
        Err(Error::ClusterIdMismatch {
            endpoint,
            expected,
            found,
        }) => {
            assert_eq!(endpoint, b.url);
            assert_eq!(expected, id_a);
            assert_eq!(found, id_b);
        }
        other => panic!("failover into another cluster: {other:?}"),
    }
    assert!(
        matches!(
            pinned.set("/cid2", "x"),
            Err(Error::ClusterIdMismatch { .. })
        ),
        "a write failed over into another cluster"
    );
    // Back to its own cluster once that answers again.
    a.resume();
    assert_eq!(pinned.get("/cid").unwrap().node.value.as_deref(), Some("a"));
    assert_eq!(pinned.endpoints()[0], a.url);
}

#[test]
fn a_write_refused_for_its_cluster_id_is_not_applied() {
    let mut a = Etcd::start();
    let b = Etcd::start();
    let id_a = a
        .client()
        .set("/cid", "a")
        .unwrap()
        .headers
        .cluster_id
        .unwrap();
    b.client().set("/cid", "b").unwrap();

    let wrong = Client::builder()
        .endpoints([b.url.as_str()])
        .expected_cluster_id(&id_a)
        .build()
        .unwrap();
    let refused = wrong.set("/cid", "through-expected");
    assert!(
        matches!(refused, Err(Error::ClusterIdMismatch { .. })),
        "{refused:?}"
    );

    let pinned = Client::builder()
        .endpoints([a.url.as_str(), b.url.as_str()])
        .build()
        .unwrap();
    pinned.get("/cid").unwrap();
    a.kill();
    let refused = pinned.set("/cid", "through-failover");
    assert!(
        matches!(refused, Err(Error::ClusterIdMismatch { .. })),
        "{refused:?}"
    );

    assert_eq!(
        b.client().get("/cid").unwrap().node.value.as_deref(),
        Some("b"),
        "a refused write changed the other cluster"
    );
}

/// A write that etcd itself cannot complete (its member lost its leader and
/// no new one can be elected: the leader killed, the other follower
/// stopped) comes back from etcd as 300 "raft internal error" after etcd's
/// own 7-second request timeout. That write may still be applied once a
/// leader is back (it was, in the field), so it is `Ambiguous` (with
/// etcd's code when etcd answered first), never `RaftInternal`, which a
/// caller would take as "not applied" and retry.
#[test]
fn a_write_etcd_times_out_is_ambiguous_with_etcds_code() {
    let (_guard, cluster) = exclusive();
    // On a cluster seconds old, leadership is still settling (members hold
    // leases, step down, campaign): the scenario needs a settled one.
    let settle = Duration::from_secs(4);
    if let Some(young) = settle.checked_sub(started().elapsed()) {
        std::thread::sleep(young);
    }
    let leader = cluster.leader_index();
    let follower = (leader + 1) % cluster.len();
    let other = (leader + 2) % cluster.len();
    let client = Client::builder()
        .endpoints([cluster.url(follower)])
        .read_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let key = common::prefix("raft300");
    client.set(&key, "before").unwrap();
    cluster.kill(leader);
    cluster.pause(other);
    let started = Instant::now();
    let write = client.set(&key, "during");
    let took = started.elapsed();
    cluster.cont(other);
    // etcd 3.4 answers 300 here after 7 s (301 from a member that saw no
    // leader at all), with etcd's code kept. The client usually says so
    // sooner: about 1 s in, its member reports that it lost its leader (it
    // turned candidate), and the write is Ambiguous then. Either way: never
    // a status a caller could take for "not applied".
    let how = match &write {
        Err(e @ Error::Ambiguous { .. }) => match e.etcd().map(|e| e.code) {
            Some(code @ (300 | 301)) => format!("etcd's {code}"),
            Some(other) => panic!("etcd code {other}: {e:?}"),
            None => {
                assert!(e.to_string().contains("lost its leader"), "{e:?}");
                "the member lost its leader".to_owned()
            }
        },
        other => panic!("expected Ambiguous, got {other:?} after {took:?}"),
    };
    // What became of it, once a leader is back (information: either is
    // possible, which is the point).
    cluster.restart(leader);
    let read = client.read(
        &key,
        &ReadOptions {
            quorum: true,
            ..ReadOptions::default()
        },
    );
    println!(
        "ambiguous ({how}) after {:.2} s; the write was {} applied",
        secs(took),
        match read.as_ref().map(|r| r.node.value.as_deref()) {
            Ok(Some("during")) => "later",
            Ok(_) => "not",
            Err(_) => "(unknown: read failed)",
        }
    );
}

// ---------------------------------------------------------------------------
// A watcher across the kill of its member.

#[test]
fn watcher_follows_a_killed_member_to_another_and_misses_nothing() {
    const N: usize = 300;
    const KILL_AT: usize = 100;
    const AFTER: usize = 50;
    let (_x, cluster) = exclusive();
    let leader = cluster.leader_index();
    let endpoints = cluster.urls_from(leader);
    let dir = common::prefix("watch-kill");
    let key = |i: usize| format!("{dir}/e{i:04}");
    let end_key = format!("{dir}/end");

    let writer = Client::builder()
        .endpoints(&endpoints)
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let watching = Client::builder()
        .endpoints(&endpoints)
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let start = writer.set(&format!("{dir}/start"), "s").unwrap();
    let mut watcher = watching
        .watcher(
            &dir,
            &WatchOptions {
                recursive: true,
                wait_index: Some(start.node.modified_index + 1),
                ..Default::default()
            },
        )
        .unwrap();
    // The watcher has connected to the leader before anything is killed.
    let first = writer.set(&key(0), "0").unwrap();
    let event = watcher.next_event(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(event.node.key, key(0));
    assert_eq!(event.node.modified_index, first.node.modified_index);

    let written = AtomicUsize::new(1);
    let (events, watch_error, results, kill_at) = std::thread::scope(|s| {
        let end_key = &end_key;
        let watch = s.spawn(move || {
            let mut events = vec![(
                event.node.key.clone(),
                event.node.modified_index,
                Instant::now(),
            )];
            loop {
                match watcher.next_event(Some(Duration::from_secs(30))) {
                    Ok(e) => {
                        events.push((e.node.key.clone(), e.node.modified_index, Instant::now()));
                        if &e.node.key == end_key {
                            return (events, None);
                        }
                    }
                    Err(e) => return (events, Some(e)),
                }
            }
        });
        let writes = s.spawn(|| {
            let mut results: Vec<etcdc::Result<Response>> = vec![Ok(first.clone())];
            for i in 1..N {
                results.push(writer.set(&key(i), &i.to_string()));
                written.store(i + 1, Ordering::SeqCst);
            }
            results
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while written.load(Ordering::SeqCst) < KILL_AT {
            assert!(Instant::now() < deadline && !writes.is_finished());
            std::thread::sleep(Duration::from_millis(1));
        }
        let kill_at = Instant::now();
        cluster.kill(leader);
        let mut results = writes.join().unwrap();
        // After the kill: the member back, and more writes.
        cluster.restart(leader);
        for i in N..N + AFTER {
            results.push(writer.set(&key(i), &i.to_string()));
        }
        writer.set(end_key, "end").expect("the last write");
        let (events, error) = watch.join().unwrap();
        (events, error, results, kill_at)
    });
    assert!(watch_error.is_none(), "the watcher failed: {watch_error:?}");
    let tally = Tally::of(&results);
    assert!(
        tally.other.is_empty(),
        "unexpected errors: {:?}",
        tally.other
    );
    assert!(
        tally.timeout + tally.raft_internal <= 3 && tally.ambiguous <= 5,
        "too many failed writes: {tally:?}"
    );

    // In order, exactly once.
    let indexes: Vec<u64> = events.iter().map(|e| e.1).collect();
    assert!(
        indexes.windows(2).all(|w| w[0] < w[1]),
        "events out of order or repeated: {indexes:?}"
    );
    let seen: Vec<&String> = events.iter().map(|e| &e.0).collect();
    let distinct: BTreeSet<&String> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "an event came twice");
    // Every acknowledged write, at the index etcd gave it.
    for (i, r) in results.iter().enumerate() {
        if let Ok(r) = r {
            let e = events.iter().find(|e| e.0 == key(i));
            assert_eq!(
                e.map(|e| e.1),
                Some(r.node.modified_index),
                "acknowledged write {i} seen as {e:?}"
            );
        }
    }
    // Exactly what the store holds (an ambiguous write that was applied
    // was seen too).
    let stored: BTreeSet<String> = values_under(&writer, &dir)
        .into_keys()
        .filter(|k| !k.ends_with("/start"))
        .collect();
    assert_eq!(
        distinct.into_iter().cloned().collect::<BTreeSet<_>>(),
        stored,
        "watched events differ from the store"
    );
    // The first event of a write made under the new leader (a later term
    // than the first write's), and when the watcher got it.
    let old_term = results[0].as_ref().unwrap().headers.raft_term;
    let last_old = results
        .iter()
        .flatten()
        .filter(|r| r.headers.raft_term == old_term)
        .map(|r| r.node.modified_index)
        .max()
        .unwrap();
    let resumed = events
        .iter()
        .find(|e| e.1 > last_old)
        .map(|e| secs(e.2.saturating_duration_since(kill_at)))
        .expect("no event after the kill");
    println!(
        "watcher across a leader kill: {} events, none missed or repeated; first event of a \
         write under the new leader {resumed:.3} s after the kill; writer: {tally:?}; \
         failed writes: {:?}",
        events.len(),
        results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.to_string())))
            .collect::<Vec<_>>()
    );
    // The watcher's failover moved the client it came from (they share
    // the cluster view).
    assert_ne!(watching.endpoints()[0], cluster.url(leader));
}

// ---------------------------------------------------------------------------
// v3: the leader killed during 1,000 sequential puts.

#[test]
fn v3_leader_killed_during_puts_loses_no_acknowledged_put() {
    for _ in 0..LEADER_KILL_RUNS {
        v3_leader_kill_run(ClientOn::Leader);
    }
}

#[test]
fn v3_leader_of_the_clients_member_killed_during_puts_loses_no_acknowledged_put() {
    for _ in 0..LEADER_KILL_RUNS {
        v3_leader_kill_run(ClientOn::Follower);
    }
}

/// What one v3 put returned, and when.
struct PutOutcome {
    ended: Instant,
    result: etcdc::Result<etcdc::v3::PutResponse>,
}

/// [`leader_kill_run`] through the v3 API: 1,000 sequential puts, the
/// leader SIGKILLed after put 333. No acknowledged put may be lost, none
/// applied twice (each key is put once: a second application would show as
/// version 2), at most the put in flight of unknown outcome, and the client
/// must resume within [`RESUME_AFTER_ELECTION`] of the new leader.
fn v3_leader_kill_run(on: ClientOn) {
    const N: usize = 1000;
    const KILL_AT: usize = 333;
    let (_x, cluster) = exclusive();
    let leader = cluster.leader_index();
    let leader_url = cluster.url(leader).to_owned();
    let first = match on {
        ClientOn::Leader => leader,
        ClientOn::Follower => (leader + 1) % cluster.len(),
    };
    let client = Client::builder()
        .endpoints(cluster.urls_from(first))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let v3 = client.v3();
    let dir = common::prefix("v3-leader-kill");
    let key = |i: usize| format!("{dir}/k{i:04}").into_bytes();
    let value = |i: usize| format!("v{i}").into_bytes();

    let written = AtomicUsize::new(0);
    let started = Instant::now();
    let (outcomes, kill_at, new_leader) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            (0..N)
                .map(|i| {
                    let result = v3.put(key(i), value(i));
                    written.store(i + 1, Ordering::SeqCst);
                    PutOutcome {
                        ended: Instant::now(),
                        result,
                    }
                })
                .collect::<Vec<_>>()
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while written.load(Ordering::SeqCst) < KILL_AT {
            assert!(Instant::now() < deadline && !writer.is_finished());
            std::thread::sleep(Duration::from_millis(1));
        }
        let kill_at = Instant::now();
        cluster.kill(leader);
        let new_leader = loop {
            if let Some(l) = cluster.try_leader_index() {
                break Some((l, Instant::now()));
            }
            if kill_at.elapsed() > Duration::from_secs(20) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        (writer.join().unwrap(), kill_at, new_leader)
    });
    let total = started.elapsed();
    let (new_leader, elected_at) = new_leader.expect("no new leader within 20 s of the kill");
    assert_ne!(new_leader, leader);

    let old_term = outcomes
        .iter()
        .filter(|o| o.ended < kill_at)
        .filter_map(|o| o.result.as_ref().ok())
        .map(|r| r.header.raft_term)
        .max()
        .expect("puts before the kill");
    let resumed = outcomes
        .iter()
        .position(|o| {
            o.ended > kill_at
                && o.result
                    .as_ref()
                    .is_ok_and(|r| r.header.raft_term > old_term)
        })
        .expect("no put succeeded under a new leader");
    let resume_time = outcomes[resumed].ended - kill_at;
    let after_election = resume_time.saturating_sub(elected_at - kill_at);
    let failed: Vec<(usize, String)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.result.as_ref().err().map(|e| (i, e.to_string())))
        .collect();
    let ambiguous = outcomes
        .iter()
        .filter(|o| matches!(o.result, Err(Error::Ambiguous { .. })))
        .count();
    println!(
        "v3 leader kill, client on the {on:?}: {N} puts in {:.2} s; leader {} killed after \
         put {KILL_AT}; new leader {} elected {:.2} s after the kill; client resumed {:.3} s \
         after the kill, {:.3} s after the election (put #{resumed}); ambiguous {ambiguous}; \
         failed {failed:?}",
        secs(total),
        cluster.name(leader),
        cluster.name(new_leader),
        secs(elected_at - kill_at),
        secs(resume_time),
        secs(after_election),
    );
    assert!(
        failed.len() == ambiguous,
        "failures other than AMBIGUOUS: {failed:?}"
    );
    assert!(
        ambiguous <= 1,
        "client on the {on:?}: more than the put in flight failed: {failed:?}"
    );
    assert!(
        after_election <= RESUME_AFTER_ELECTION,
        "client on the {on:?}: resumed {after_election:?} after the new leader \
         ({resume_time:?} after the kill)"
    );
    assert_ne!(
        client.endpoints()[0],
        leader_url,
        "the client still sends to the dead member first"
    );

    // Every acknowledged put is there once, with its value; an ambiguous
    // one is absent or there once.
    let stored = v3.range(&etcdc::v3::Range::prefix(dir.clone())).unwrap();
    let stored: BTreeMap<Vec<u8>, (Vec<u8>, i64)> = stored
        .kvs
        .into_iter()
        .map(|kv| (kv.key, (kv.value, kv.version)))
        .collect();
    for (i, o) in outcomes.iter().enumerate() {
        let found = stored.get(&key(i));
        match &o.result {
            Ok(_) => assert_eq!(found, Some(&(value(i), 1)), "acknowledged put {i}"),
            Err(e) => assert!(
                found.is_none() || found == Some(&(value(i), 1)),
                "put {i} failed ({e}) but holds {found:?}"
            ),
        }
    }
    assert!(stored.len() <= N, "keys nobody wrote");
}

/// A member killed between calls: the client's HTTP/2 connection to it is
/// gone, a new one is refused, so reads and writes alike go to the next
/// member (nothing was sent: a write is not ambiguous), and the next calls
/// start there.
#[test]
fn v3_a_killed_member_moves_reads_and_writes_on() {
    let (_x, cluster) = exclusive();
    let victim = (cluster.leader_index() + 1) % cluster.len();
    let client = Client::builder()
        .endpoints(cluster.urls_from(victim))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let v3 = client.v3();
    let key = common::prefix("v3-killed-member").into_bytes();
    let before = v3.put(key.clone(), "before").unwrap();
    cluster.kill(victim);
    // Let the connection's reader see it closed.
    std::thread::sleep(Duration::from_millis(200));
    let got = v3.get(key.clone()).unwrap().expect("the key");
    assert_eq!(got.value, b"before");
    assert_ne!(client.endpoints()[0], cluster.url(victim));
    let after = v3.put(key.clone(), "after").unwrap();
    assert!(after.header.revision > before.header.revision);
    assert_ne!(after.header.member_id, before.header.member_id);
    // A fresh client's first call is a write: it goes on the same way.
    let fresh = Client::builder()
        .endpoints(cluster.urls_from(victim))
        .build()
        .unwrap();
    fresh.v3().put(key.clone(), "fresh").unwrap();
    let kv = v3.get(key).unwrap().unwrap();
    assert_eq!((kv.value.as_slice(), kv.version), (&b"fresh"[..], 3));
}

/// A lease keeper whose member is SIGKILLed (the leader, so an election
/// happens too): its renewals move to another member, and the lease never
/// expires (checked every 100 ms for five TTLs through another member).
/// 100 leases kept by one client's keepers (TTL 2 s, one shared
/// keep-alive stream) while the member that stream is on is SIGKILLed: the
/// stream moves to another member and no lease expires, by etcd (each
/// asked) or by its keeper.
#[test]
fn v3_kept_leases_survive_their_members_kill() {
    let (_x, cluster) = exclusive();
    let victim = cluster.leader_index();
    let client = Client::builder()
        .endpoints(cluster.urls_from(victim))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let keepers: Vec<_> = (0..100)
        .map(|_| {
            client
                .v3()
                .lease_keeper(etcdc::v3::LeaseSource::Grant { ttl: 2 }, None)
                .unwrap()
        })
        .collect();
    let watcher = Client::builder()
        .endpoints(cluster.urls_from((victim + 1) % cluster.len()))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    cluster.kill(victim);
    let killed = Instant::now();
    let (mut lowest, mut at_risk, mut checks) = (i64::MAX, 0, 0);
    let mut i = 0;
    while killed.elapsed() < Duration::from_secs(10) {
        // During the election a read may fail; a lease may not.
        let id = keepers[i % keepers.len()].id();
        i += 1;
        if let Ok(ttl) = watcher.v3().lease_time_to_live(id, false) {
            assert!(
                ttl.ttl > 0,
                "lease {id:x} expired {:?} after the kill",
                killed.elapsed()
            );
            lowest = lowest.min(ttl.ttl);
        }
        for k in &keepers {
            checks += 1;
            match k.state() {
                etcdc::v3::KeeperState::Alive { .. } => {}
                etcdc::v3::KeeperState::AtRisk => at_risk += 1,
                other => panic!("{other:?} {:?} after the kill", killed.elapsed()),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for k in &keepers {
        assert!(matches!(k.state(), etcdc::v3::KeeperState::Alive { .. }));
        assert!(watcher.v3().lease_time_to_live(k.id(), false).unwrap().ttl > 0);
    }
    println!(
        "v3 lease keepers through a member kill: 100 leases of 2 s, 0 lost; lowest TTL \
         seen {lowest} s; at risk by the keepers' clock in {at_risk} of {checks} checks"
    );
    let ids: Vec<i64> = keepers.iter().map(|k| k.id()).collect();
    drop(keepers);
    for id in ids {
        assert_eq!(watcher.v3().lease_time_to_live(id, false).unwrap().ttl, -1);
    }
}

/// A learner added through the v3 API, started, promoted once it caught
/// up (refused before: not in sync), then removed: the cluster goes from 3
/// voting members to 3 + a learner, to 4, back to 3, writable throughout.
#[test]
fn v3_a_started_learner_is_promoted_and_removed() {
    let (_x, cluster) = exclusive();
    let client = Client::builder()
        .endpoints(cluster.urls_from(cluster.leader_index()))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let v3 = client.v3();
    let peer_url = format!("http://127.0.0.1:{}", common::dead_port());
    // etcd refuses reconfiguration for 5 s after a member (re)joined
    // ("unhealthy cluster", UNAVAILABLE: reported AMBIGUOUS for a write);
    // a retry may find the member added already.
    let t = Instant::now();
    let added = loop {
        match v3.member_add(&[peer_url.as_str()], true) {
            Ok(added) => break added.member,
            Err(Error::Ambiguous { .. }) if t.elapsed() < Duration::from_secs(15) => {
                if let Some(m) = v3
                    .member_list()
                    .unwrap()
                    .into_iter()
                    .find(|m| m.peer_urls.contains(&peer_url))
                {
                    break m;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => panic!("member add: {e}"),
        }
    };
    assert!(added.is_learner, "{added:?}");
    let members = v3.member_list().unwrap();
    assert_eq!(members.len(), 4);
    let initial: Vec<String> = members
        .iter()
        .map(|m| {
            let name = if m.id == added.id {
                "learner"
            } else {
                m.name.as_str()
            };
            format!("{name}={}", m.peer_urls[0])
        })
        .collect();
    let joiner = cluster.join("learner", &peer_url, &initial.join(","));
    // Promotion is refused until the learner is in sync with the leader.
    let t = Instant::now();
    let mut refused = 0;
    let promoted = loop {
        match v3.member_promote(added.id) {
            Ok(members) => break members,
            Err(Error::Grpc {
                code: etcdc::v3::Code::FailedPrecondition,
                ref message,
                ..
            }) if message.contains("in sync") && t.elapsed() < Duration::from_secs(30) => {
                refused += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("promote after {:?}: {e}", t.elapsed()),
        }
    };
    println!(
        "v3 learner: promoted {:.2} s after it was started ({refused} refusals while it caught up)",
        secs(t.elapsed())
    );
    assert_eq!(promoted.len(), 4);
    assert!(promoted.iter().all(|m| !m.is_learner), "{promoted:?}");
    // The new voting member serves reads and writes.
    let on_it = Client::builder()
        .endpoints([joiner.url.as_str()])
        .build()
        .unwrap();
    let key = common::prefix("v3-promoted").into_bytes();
    on_it.v3().put(key.clone(), "via the new member").unwrap();
    assert_eq!(
        v3.get(key.clone()).unwrap().unwrap().value,
        b"via the new member"
    );
    // A write between two membership changes (etcd drops a change proposed
    // while the previous one is not marked applied).
    v3.put(key.clone(), "settled").unwrap();
    let after = v3.member_remove(added.id).unwrap();
    assert_eq!(after.len(), 3);
    drop(joiner);
    v3.put(key, "three again").unwrap();
}

/// A v3 prefix watcher whose own member is SIGKILLed while a writer (on
/// another member) makes 1,000 puts: the watch moves to another member and
/// delivers every acknowledged put exactly once, in order (an AMBIGUOUS put
/// at most once), nothing else. Once with the leader as the watcher's
/// member (an election too), once with a follower.
#[test]
fn v3_watcher_follows_its_killed_member_and_misses_nothing() {
    for on in [ClientOn::Follower, ClientOn::Leader] {
        v3_watcher_kill_run(on, Signal::Kill);
    }
}

/// The watcher's member stopped with SIGSTOP (alive, silent, its
/// connections open): the watch notices within the bound its docs state
/// (`etcdc::v3::SILENCE_BOUND`, plus connecting elsewhere) and resumes on
/// another member, missing nothing.
#[test]
fn v3_watcher_leaves_a_silent_member_within_the_bound() {
    v3_watcher_kill_run(ClientOn::Follower, Signal::Stop);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Kill,
    Stop,
}

fn v3_watcher_kill_run(on: ClientOn, signal: Signal) {
    const N: usize = 1000;
    const KILL_AT: usize = 333;
    let (_x, cluster) = exclusive();
    let leader = cluster.leader_index();
    let victim = match on {
        ClientOn::Leader => leader,
        ClientOn::Follower => (leader + 1) % cluster.len(),
    };
    let writer_on = (victim + 1) % cluster.len();
    let build = |first: usize| {
        Client::builder()
            .endpoints(cluster.urls_from(first))
            .read_timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let (watching, writing) = (build(victim), build(writer_on));
    let dir = common::prefix("v3-watch-kill");
    let mut watcher = watching
        .v3()
        .watch(&etcdc::v3::Watch::prefix(format!("{dir}/")))
        .unwrap();
    let written = AtomicUsize::new(0);
    let (outcomes, events, killed_at) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            (0..N)
                .map(|i| {
                    let result = writing.v3().put(format!("{dir}/k{i:04}"), "v");
                    written.store(i + 1, Ordering::SeqCst);
                    if signal == Signal::Stop {
                        // Spread over the time the watch needs to move.
                        std::thread::sleep(Duration::from_millis(8));
                    }
                    result
                })
                .collect::<Vec<_>>()
        });
        let reader = s.spawn(move || {
            let mut events = Vec::new();
            // Until every put came, or nothing more comes (an ambiguous
            // put that was not applied).
            while events.len() < N {
                match watcher.next_event(Some(Duration::from_secs(15))) {
                    Ok(e) => events.push((e.revision(), e.kv.key, Instant::now())),
                    Err(Error::WatchTimeout(_)) => break,
                    Err(e) => panic!("after {} events: {e}", events.len()),
                }
            }
            // Nothing after the last.
            match watcher.next_event(Some(Duration::from_millis(300))) {
                Err(Error::WatchTimeout(_)) => events,
                other => panic!("after {} events: {other:?}", events.len()),
            }
        });
        while written.load(Ordering::SeqCst) < KILL_AT {
            std::thread::sleep(Duration::from_millis(1));
        }
        let at = Instant::now();
        match signal {
            Signal::Kill => cluster.kill(victim),
            Signal::Stop => cluster.pause(victim),
        }
        let outcomes = writer.join().unwrap();
        (outcomes, reader.join().unwrap(), at)
    });
    // In order, each once.
    let revisions: Vec<i64> = events.iter().map(|e| e.0).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "out of order or repeated: {revisions:?}"
    );
    let seen: BTreeMap<Vec<u8>, i64> = events.iter().map(|e| (e.1.clone(), e.0)).collect();
    assert_eq!(seen.len(), events.len(), "a key delivered twice");
    let mut ambiguous = 0;
    for (i, o) in outcomes.iter().enumerate() {
        let key = format!("{dir}/k{i:04}").into_bytes();
        match o {
            Ok(r) => assert_eq!(seen.get(&key), Some(&r.header.revision), "put {i} missed"),
            Err(Error::Ambiguous { .. }) => ambiguous += 1,
            Err(e) => panic!("put {i}: {e}"),
        }
    }
    assert!(ambiguous <= 1, "{ambiguous} ambiguous puts");
    assert!(events.len() <= N);
    // How long the watch went without delivering, around the signal.
    let before = events.iter().filter(|e| e.2 < killed_at).count();
    let resumed = events
        .get(before)
        .map(|e| e.2 - killed_at)
        .expect("no event after the signal");
    println!(
        "v3 watcher, its member ({on:?}) {} after put {KILL_AT} of {N}: {} events, \
         0 missed, 0 twice, {ambiguous} ambiguous put(s); first event after the signal \
         {:.3} s after it",
        match signal {
            Signal::Kill => "SIGKILLed",
            Signal::Stop => "SIGSTOPped",
        },
        events.len(),
        secs(resumed),
    );
    if signal == Signal::Stop {
        let bound = etcdc::v3::SILENCE_BOUND + Duration::from_secs(2);
        assert!(resumed <= bound, "{resumed:?} to leave a silent member");
    }
}

/// A member stopped with SIGSTOP (its connections open, silent): a read
/// waiting on it moves on to another member, and a write waiting on it is
/// AMBIGUOUS (the stopped member may still apply it once it runs again),
/// each within about 3 s (1 s of waiting, then 2 s of its status
/// unanswered), not the read timeout; the next write goes elsewhere. A
/// client with no connection to it yet gives up connecting after its
/// connect timeout: nothing was sent, so a write moves on.
#[test]
fn v3_calls_leave_a_silent_member() {
    let (_x, cluster) = exclusive();
    let leader = cluster.leader_index();
    let victim = (leader + 1) % cluster.len();
    let build = || {
        Client::builder()
            .endpoints(cluster.urls_from(victim))
            .read_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let (reader, writer, fresh) = (build(), build(), build());
    let dir = common::prefix("v3-silent");
    // Their connections to the victim are open.
    writer.v3().put(format!("{dir}/before"), "v").unwrap();
    let victim_id = reader
        .v3()
        .range(&etcdc::v3::Range::key(format!("{dir}/before")))
        .unwrap()
        .header
        .member_id;
    cluster.pause(victim);
    let bound = Duration::from_secs(4);
    let timed = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed()
    };

    let read_took = timed(&|| {
        let read = reader
            .v3()
            .range(&etcdc::v3::Range::key(format!("{dir}/before")))
            .unwrap();
        assert_eq!(read.kvs[0].value, b"v");
        assert_ne!(read.header.member_id, victim_id);
    });
    assert!(read_took <= bound, "the read took {read_took:?}");

    let write_took = timed(&|| match writer.v3().put(format!("{dir}/during"), "v") {
        Err(Error::Ambiguous { reason, .. }) => {
            assert!(reason.contains("answered nothing"), "{reason}")
        }
        other => panic!("{other:?}"),
    });
    assert!(write_took <= bound, "the write took {write_took:?}");
    let after = writer.v3().put(format!("{dir}/after"), "v").unwrap();
    assert_ne!(after.header.member_id, 0);
    assert_ne!(writer.endpoints()[0], cluster.url(victim));

    let fresh_took = timed(&|| {
        fresh.v3().put(format!("{dir}/fresh"), "v").unwrap();
    });
    assert!(
        fresh_took <= Duration::from_secs(2) + Duration::from_secs(1),
        "the fresh client's write took {fresh_took:?}"
    );
    println!(
        "v3 calls to a SIGSTOPped member: a read moved on after {:.2} s, a write was \
         AMBIGUOUS after {:.2} s (read timeout 30 s); a write from a client not yet \
         connected to it went elsewhere after {:.2} s (connect timeout 2 s)",
        secs(read_took),
        secs(write_took),
        secs(fresh_took),
    );
}

/// 4 processes × 100 increments of one counter (a plain linearizable get,
/// then a put guarded by the lock's ownership) under one v3 lock, the
/// member of the process holding the lock SIGKILLed midway: the counter
/// ends at exactly 400 (never two holders at once, no increment lost or
/// applied twice).
#[test]
fn v3_lock_counter_survives_the_holders_member_kill() {
    const WORKERS: usize = 4;
    const EACH: usize = 100;
    let (_x, cluster) = exclusive();
    let dir = common::prefix("v3-lock-counter");
    let admin = Client::builder()
        .endpoints(cluster.urls_from(0))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    admin.v3().put(format!("{dir}/counter"), "0").unwrap();
    let exe = std::path::PathBuf::from("/proc/self/exe");
    let started = Instant::now();
    let mut children: Vec<std::process::Child> = (0..WORKERS)
        .map(|i| {
            let first = i % cluster.len();
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "v3_lock_worker",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("ETCDC_LOCK_ENDPOINTS", cluster.urls_from(first).join(","))
                .env("ETCDC_LOCK_DIR", &dir)
                .env("ETCDC_LOCK_MEMBER", first.to_string())
                .env("ETCDC_LOCK_EACH", EACH.to_string())
                .stdin(std::process::Stdio::null())
                .spawn()
                .expect("spawn a worker")
        })
        .collect();
    let count = |c: &Client| -> Option<usize> {
        let kv = c.v3().get(format!("{dir}/counter")).ok()??;
        String::from_utf8(kv.value).ok()?.parse().ok()
    };
    while count(&admin).unwrap_or(0) < WORKERS * EACH / 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let holder: usize = String::from_utf8(
        admin
            .v3()
            .get(format!("{dir}/holder"))
            .unwrap()
            .unwrap()
            .value,
    )
    .unwrap()
    .parse()
    .unwrap();
    let at = count(&admin).unwrap();
    cluster.kill(holder);
    let killed = Instant::now();
    for child in &mut children {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("a worker did not finish");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "a worker failed: {status}");
    }
    let reader = Client::builder()
        .endpoints(cluster.urls_from((holder + 1) % cluster.len()))
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(count(&reader), Some(WORKERS * EACH));
    println!(
        "v3 lock: {WORKERS} processes x {EACH} increments = {} with the holder's member \
         ({}) SIGKILLed at {at}; {:.1} s in all, {:.1} s after the kill",
        WORKERS * EACH,
        cluster.name(holder),
        secs(started.elapsed()),
        secs(killed.elapsed()),
    );
}

/// One worker process of [`v3_lock_counter_survives_the_holders_member_kill`]
/// (run by it, with its settings in the environment; ignored otherwise):
/// increments the counter `ETCDC_LOCK_EACH` times under the lock, each as
/// a get and a put guarded by the lock's ownership; retries what a member
/// failure interrupts (an ambiguous put is settled by reading the counter
/// again, still under the lock).
#[test]
#[ignore = "a worker process of v3_lock_counter_survives_the_holders_member_kill"]
fn v3_lock_worker() {
    use etcdc::v3::{Op, Put, Txn};
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let endpoints: Vec<String> = var("ETCDC_LOCK_ENDPOINTS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let (dir, member) = (var("ETCDC_LOCK_DIR"), var("ETCDC_LOCK_MEMBER"));
    let each: usize = var("ETCDC_LOCK_EACH").parse().unwrap();
    let client = Client::builder()
        .endpoints(endpoints)
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let v3 = client.v3();
    let counter = format!("{dir}/counter");
    let read = || -> usize {
        loop {
            match v3.get(counter.as_bytes()) {
                Ok(Some(kv)) => return String::from_utf8(kv.value).unwrap().parse().unwrap(),
                Ok(None) => panic!("no counter"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    };
    let mut lock = v3.lock(format!("{dir}/lock"), 10).unwrap();
    let mut done = 0;
    while done < each {
        if let Err(e) = lock.acquire(Some(Duration::from_secs(60))) {
            eprintln!("acquire: {e}");
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let value = read();
        let owner = lock.owner_compare().expect("held");
        let txn = Txn::new().when([owner]).and_then([
            Op::from(Put::new(counter.clone(), (value + 1).to_string())),
            Op::from(Put::new(format!("{dir}/holder"), member.clone())),
        ]);
        let applied = loop {
            match v3.txn(&txn) {
                Ok(r) => break r.succeeded,
                // Still holding the lock: the counter tells.
                Err(etcdc::Error::Ambiguous { .. }) if read() == value + 1 => break true,
                Err(e) => {
                    eprintln!("txn: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        if applied {
            done += 1;
        }
        while let Err(e) = lock.release() {
            eprintln!("release: {e}");
            if matches!(e, etcdc::Error::NotHeld(_) | etcdc::Error::LockExpired(_)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
