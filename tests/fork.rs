//! A client used on both sides of `fork()`: the child must leave the
//! parent's connections alone (they share the sockets) and open its own, so
//! that neither process ever takes the other's answer. Its own test binary:
//! the child runs in a process that has only the test's threads (the
//! tests take turns: [`serial`]).

mod common;

use etcdc::ReadOptions;

/// One test at a time (the harness runs them on parallel threads). Only
/// parents take it; a child never does.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The reproduction from the field: a parent reads through a client (one
/// keep-alive connection now pooled), forks, and both processes read
/// through that same client at once, many rounds. Before the fix, 9 to 52
/// of 100 rounds gave one side the other's answer.
#[test]
fn both_sides_of_a_fork_get_their_own_answers() {
    let _serial = serial();
    // A short read timeout: a side that waits for an answer the other side
    // took fails within the round, not after a minute.
    let client = etcdc::Client::builder()
        .endpoints([common::shared().url.as_str()])
        .read_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let (a, b) = (common::prefix("fork") + "/a", common::prefix("fork") + "/b");
    client.set(&a, "A").unwrap();
    client.set(&b, "B").unwrap();
    let read = |key: &str| {
        client
            .read(key, &ReadOptions::default())
            .map(|r| (r.node.key, r.node.value.unwrap_or_default()))
    };
    let mut failures = Vec::new();
    for round in 0..100 {
        // The parent's connection is pooled now.
        assert_eq!(read(&a).unwrap(), (a.clone(), "A".to_owned()));
        // SAFETY: this test binary has one test thread; the child only reads
        // through the client and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = match read(&b) {
                Ok((key, value)) if key == b && value == "B" => 0,
                Ok(_) => 1,
                Err(_) => 2,
            };
            // SAFETY: ends the child without running the harness.
            unsafe { libc::_exit(code) };
        }
        let mine = read(&a);
        let mut status = 0;
        // SAFETY: our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let child = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        match (&mine, child) {
            (Ok((key, value)), Some(0)) if *key == a && value == "A" => {}
            _ => failures.push(format!(
                "round {round}: parent {mine:?}, child exit {child:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The same through the v3 API: the parent's calls share one HTTP/2
/// connection with a reader thread, which the child does not have; the
/// child must open its own and never touch the parent's (or its frames
/// would interleave with the parent's on the shared socket).
#[test]
fn both_sides_of_a_fork_get_their_own_v3_answers() {
    let _serial = serial();
    let client = etcdc::Client::builder()
        .endpoints([common::shared().url.as_str()])
        .read_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let (a, b) = (
        common::prefix("fork-v3") + "/a",
        common::prefix("fork-v3") + "/b",
    );
    client.v3().put(a.as_bytes(), "A").unwrap();
    client.v3().put(b.as_bytes(), "B").unwrap();
    // Renewals on the client's keep-alive stream on both sides: the child
    // makes its own stream and leaves the parent's alone.
    let lease = client.v3().lease_grant(60, 0).unwrap().id;
    let renew = || client.v3().lease_keep_alive_once(lease).map(|k| k.ttl);
    assert_eq!(renew().unwrap(), 60);
    let streams = keep_alive_streams(&common::shared().url);
    let read = |key: &str| {
        client
            .v3()
            .get(key.as_bytes())
            .map(|kv| kv.map(|kv| (kv.key, kv.value)))
    };
    let mut failures = Vec::new();
    for round in 0..50 {
        // The parent's connection is open, its reader thread running.
        assert_eq!(read(&a).unwrap(), Some((a.clone().into(), b"A".to_vec())));
        // SAFETY: this test binary has one test thread (and the
        // connection's reader thread, which the child does not get); the
        // child only reads through the client and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: arms a timer for this process.
            unsafe { libc::alarm(5) };
            let code = match (read(&b), renew()) {
                (Ok(Some((key, value))), Ok(60)) if key == b.as_bytes() && value == b"B" => 0,
                (Ok(_), Ok(60)) => 1,
                (Err(_), _) => 2,
                (_, _) => 3,
            };
            // SAFETY: ends the child without running the harness.
            unsafe { libc::_exit(code) };
        }
        let mine = read(&a);
        let mut status = 0;
        // SAFETY: our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let child = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        let renewed = renew();
        match (&mine, child, &renewed) {
            (Ok(Some((key, value))), Some(0), Ok(60)) if *key == a.as_bytes() && value == b"A" => {}
            _ => failures.push(format!(
                "round {round}: parent {mine:?} renewed {renewed:?}, child exit {child:?} \
                 (status {status})"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // One stream per child; the parent's own went on all along.
    assert_eq!(keep_alive_streams(&common::shared().url) - streams, 50);
}

/// How many LeaseKeepAlive streams etcd has started (its
/// grpc_server_started_total).
fn keep_alive_streams(url: &str) -> u64 {
    common::metric(
        url,
        "grpc_server_started_total",
        "grpc_method=\"LeaseKeepAlive\"",
    )
}

/// No lock a fork can leave held: while threads hammer one client (reads
/// and writes, whose every answer is checked for the cluster id; watchers
/// made, polled and cancelled; one watcher's canceller cancelled over and
/// over), the main thread forks, many rounds. Each child must read through
/// the client, cancel that watcher, and poll and cancel a watcher of its
/// own within 5 s (`alarm`: SIGALRM ends a child that hangs). Before the
/// fix, 22 and 23 of 60 children hung (two runs; a lock caught held by the
/// fork: the canceller's mutex above all).
#[test]
fn a_child_never_waits_for_a_lock_the_fork_left_held() {
    let _serial = serial();
    use etcdc::WatchOptions;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    const ROUNDS: usize = 60;
    let client = etcdc::Client::builder()
        .endpoints([common::shared().url.as_str()])
        .read_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let key = common::prefix("fork-locks") + "/k";
    client.set(&key, "v").unwrap();
    let no_wait = WatchOptions {
        timeout: Some(Duration::ZERO),
        ..WatchOptions::default()
    };
    let shared = client.watcher(&key, &no_wait).unwrap();
    let cancel = shared.canceller();
    let stop = AtomicBool::new(false);
    let mut failures = Vec::new();
    std::thread::scope(|s| {
        let (client, key, stop, cancel, no_wait) = (&client, &key, &stop, &cancel, &no_wait);
        for _ in 0..2 {
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = client.read(key, &ReadOptions::default());
                }
            });
        }
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = client.set(key, "v");
            }
        });
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                cancel.cancel();
            }
        });
        // v3 calls share one HTTP/2 connection, its reader thread and
        // locks, the pool's lock and the auth token's.
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = client.v3().get(key.as_bytes());
            }
        });
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = client.v3().put(key.as_bytes(), "v3");
            }
        });
        // v3 watches: the client's hub slot, the hub's locks, its stream.
        s.spawn(move || {
            let mut kept = None;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(w) = client.v3().watch(&etcdc::v3::Watch::key(key.as_bytes())) {
                    w.cancel();
                    // Every other one outlives the next: the hub stays.
                    kept = if kept.is_some() { None } else { Some(w) };
                }
            }
            drop(kept);
        });
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(mut watcher) = client.watcher(key, no_wait) {
                    let _ = watcher.next_event(Some(Duration::ZERO));
                    watcher.canceller().cancel();
                }
            }
        });
        for round in 0..ROUNDS {
            std::thread::sleep(Duration::from_millis(20));
            // SAFETY: the child uses the client (what this test checks),
            // allocates (glibc's malloc is fork-safe) and leaves with _exit;
            // SIGALRM ends it if it hangs.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                // SAFETY: arms a timer for this process.
                unsafe { libc::alarm(5) };
                let code = child_round(client, key, cancel, no_wait);
                // SAFETY: ends the child without running the harness.
                unsafe { libc::_exit(code) };
            }
            let mut status = 0;
            // SAFETY: our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
                let how = if libc::WIFSIGNALED(status) {
                    format!("killed by signal {} (14: hung)", libc::WTERMSIG(status))
                } else {
                    format!("exit {}", libc::WEXITSTATUS(status))
                };
                failures.push(format!("round {round}: {how}"));
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        failures.is_empty(),
        "{} of {ROUNDS}: {failures:#?}",
        failures.len()
    );
}

/// A forked child's round: 0 when all went well; 1: the read failed;
/// 2: the inherited canceller did not cancel; 3: its own watcher could not
/// be made; 4: its own watcher went on after its cancel; 5: a v3 read
/// failed; 6: a v3 watch of its own could not be made.
fn child_round(
    client: &etcdc::Client,
    key: &str,
    cancel: &etcdc::Canceller,
    no_wait: &etcdc::WatchOptions,
) -> i32 {
    if client.read(key, &ReadOptions::default()).is_err() {
        return 1;
    }
    if client.v3().get(key.as_bytes()).is_err() {
        return 5;
    }
    if client
        .v3()
        .watch(&etcdc::v3::Watch::key(key.as_bytes()))
        .is_err()
    {
        return 6;
    }
    cancel.cancel();
    if !cancel.is_cancelled() {
        return 2;
    }
    let Ok(mut own) = client.watcher(key, no_wait) else {
        return 3;
    };
    let _ = own.next_event(Some(std::time::Duration::ZERO));
    own.canceller().cancel();
    match own.next_event(Some(std::time::Duration::ZERO)) {
        Err(etcdc::Error::Cancelled) => 0,
        _ => 4,
    }
}

/// A v3 watch across `fork()`: the parent's watches (their shared stream,
/// its thread) belong to the parent. In the child, the inherited watcher's
/// calls fail at once and dropping it touches nothing; the child's own new
/// watch gets a hub (stream, thread) of its own and its change. The
/// parent's watcher misses nothing meanwhile. Many rounds, so a fork lands
/// while the parent's hub is busy.
#[test]
fn v3_watches_on_both_sides_of_a_fork() {
    use etcdc::v3::Watch;
    use std::time::Duration;
    let _serial = serial();
    let client = etcdc::Client::builder()
        .endpoints([common::shared().url.as_str()])
        .read_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let p = common::prefix("fork-watch");
    let mut parents = client
        .v3()
        .watch(&Watch::prefix(format!("{p}/parent/")))
        .unwrap();
    let mut failures = Vec::new();
    for round in 0..30 {
        let key = format!("{p}/parent/{round}");
        let revision = client
            .v3()
            .put(key.as_bytes(), "v")
            .unwrap()
            .header
            .revision;
        // SAFETY: the child uses the client and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: arms a timer for this process.
            unsafe { libc::alarm(10) };
            let code = (|| {
                let Err(etcdc::Error::InvalidArgument(_)) =
                    parents.next_event(Some(Duration::ZERO))
                else {
                    return 1;
                };
                drop(parents);
                let own = format!("{p}/child/{round}");
                let Ok(mut mine) = client.v3().watch(&Watch::key(own.as_bytes())) else {
                    return 2;
                };
                let Ok(put) = client.v3().put(own.as_bytes(), "c") else {
                    return 3;
                };
                match mine.next_event(Some(Duration::from_secs(5))) {
                    Ok(e) if e.revision() == put.header.revision => 0,
                    _ => 4,
                }
            })();
            // SAFETY: ends the child without running the harness.
            unsafe { libc::_exit(code) };
        }
        let mine = parents.next_event(Some(Duration::from_secs(5)));
        let mut status = 0;
        // SAFETY: our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let child = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        match (&mine, child) {
            (Ok(e), Some(0)) if e.revision() == revision => {}
            _ => failures.push(format!(
                "round {round}: parent {mine:?}, child exit {child:?} (status {status})"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Nothing else came to the parent: the children's keys are elsewhere.
    assert!(matches!(
        parents.next_event(Some(Duration::from_millis(200))),
        Err(etcdc::Error::WatchTimeout(_))
    ));
}
