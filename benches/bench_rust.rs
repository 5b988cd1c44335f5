//! The Rust-API side of `make bench` (benches/run.sh drives it).
//!
//! `cargo bench --bench bench_rust -- MODE ARGS...` against `$ETCDC_ENDPOINT`,
//! with the modes and arguments of `benches/bench_c.c`:
//!
//! ```text
//! get KEY VALUE_LEN N WARM            N sequential GETs (after WARM)
//! put KEY VALUE_LEN N WARM            N sequential PUTs of the same value
//! mget KEY VALUE_LEN THREADS MS WARM  THREADS threads sharing one Client,
//!                                     GETs for MS milliseconds
//! recursive DIR COUNT N WARM          N recursive reads, every leaf walked
//! watch KEY N WARM                    writer writes, a Watcher thread
//!                                     timestamps delivery
//! lock NAME CONTENDERS N              N acquire+release cycles in all
//!
//! v3-seed KEY VALUE_LEN               puts KEY (v3 API) = the value, once
//! v3-range KEY VALUE_LEN N WARM       N sequential linearizable ranges of
//!                                     one key, `client.v3().get(key)`
//! v3-srange KEY VALUE_LEN N WARM      the same, serializable:
//!                                     `v3.range(&Range::key(k).serializable())`
//! v3-put KEY VALUE_LEN N WARM         N sequential `v3.put(key, value)`
//! v3-mrange KEY VALUE_LEN THREADS MS WARM
//!                                     THREADS threads sharing one Client,
//!                                     linearizable ranges for MS ms
//! v3-watch KEY N WARM                 a v3 watch of KEY; N + WARM puts of
//!                                     it, one at a time, each timed from
//!                                     the put's start to the event's
//!                                     arrival on the watching thread
//! v3-seed-prefix PREFIX COUNT VALUE_LEN
//!                                     deletes the prefix, then puts
//!                                     PREFIXk00000.. = COUNT values, in
//!                                     txns of up to 128 puts (once, by the
//!                                     driver; the other programs lack it)
//! v3-prefix PREFIX COUNT VALUE_LEN N WARM
//!                                     N sequential reads of the prefix,
//!                                     `v3.range(&Range::prefix(p))`, each
//!                                     checked: COUNT keys, every value of
//!                                     VALUE_LEN bytes
//! v3-keepalive LEASES N WARM          grants LEASES leases (TTL 60, not
//!                                     timed), renews them round-robin one
//!                                     at a time, `v3.lease_keep_alive_once
//!                                     (id)` (WARM, then N timed), revokes
//!                                     them (not timed)
//! v3-lock NAME CONTENDERS N WARM      CONTENDERS threads, each with its own
//!                                     Client and `v3.lock(NAME, 60)`, take
//!                                     turns: WARM untimed then N/CONTENDERS
//!                                     acquire + release each; the holder
//!                                     reads NAME-counter and puts it + 1,
//!                                     which must end at the acquisitions
//! v3-watches PREFIX COUNT             COUNT watches on one Client (keys
//!                                     PREFIX0..), each key put once, every
//!                                     event awaited; then the process's
//!                                     peak RSS, threads and connections
//! ```
//!
//! The v3 modes are the ones of benches/etcd-client (the etcd-client crate,
//! tonic) too, with the same arguments and the same checks of each answer.
//!
//! Each mode prints one JSON line: what it measured and `ops`, the requests
//! of the counted kind it sent (warm-up included), which the driver checks
//! against etcd's counters (v3-keepalive also `grants` and `revokes`;
//! v3-lock `puts`, the counter's puts, initial one included). Any failed
//! request or unexpected answer ends the run with exit code 1.

#[path = "proc_stats.rs"]
mod proc_stats;

use std::process::exit;

use proc_stats::{etcd_port, rss_kb, sockets, thread_count};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use etcdc::v3::{Delete, EventKind, Put, Range, Txn, Watch, Watcher};
use etcdc::{Client, LockOptions, ReadOptions, WatchOptions};

fn fail(what: &str) -> ! {
    eprintln!("bench_rust: {what}");
    exit(1)
}

fn check<T>(what: &str, r: etcdc::Result<T>) -> T {
    r.unwrap_or_else(|e| fail(&format!("{what}: {e}")))
}

fn count(s: &str) -> usize {
    s.parse()
        .unwrap_or_else(|_| fail(&format!("not a count: {s}")))
}

/// `len` bytes of "0123456789", as the other contenders send.
fn make_value(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect()
}

fn client() -> Client {
    let url = std::env::var("ETCDC_ENDPOINT").unwrap_or_else(|_| fail("ETCDC_ENDPOINT is not set"));
    check("client", Client::builder().endpoints([url]).build())
}

/// Nearest-rank percentile of sorted seconds, in milliseconds.
fn pct_ms(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let i = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1;
    sorted[i] * 1e3
}

fn sort(v: &mut [f64]) {
    v.sort_by(|a, b| a.total_cmp(b));
}

fn get_once(c: &Client, key: &str, len: usize) {
    let r = check("get", c.get(key));
    if r.node.value.as_ref().map(String::len) != Some(len) {
        fail(&format!("get {key}: unexpected value length"));
    }
}

fn mode_get(a: &[String]) {
    let (key, len, n, warm) = (&a[0], count(&a[1]), count(&a[2]), count(&a[3]));
    let c = client();
    for _ in 0..warm {
        get_once(&c, key, len);
    }
    let t0 = Instant::now();
    for _ in 0..n {
        get_once(&c, key, len);
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"get\",\"ops\":{},\"n\":{n},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        n + warm,
        n as f64 / s
    );
}

fn mode_put(a: &[String]) {
    let (key, value, n, warm) = (&a[0], make_value(count(&a[1])), count(&a[2]), count(&a[3]));
    let c = client();
    let put = || {
        let r = check("put", c.set(key, &value));
        if r.node.value.as_deref() != Some(value.as_str()) {
            fail(&format!("put {key}: etcd echoed another value"));
        }
    };
    for _ in 0..warm {
        put();
    }
    let t0 = Instant::now();
    for _ in 0..n {
        put();
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"put\",\"ops\":{},\"n\":{n},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        n + warm,
        n as f64 / s
    );
}

fn mode_mget(a: &[String]) {
    let (key, len, threads, ms, warm) = (
        &a[0],
        count(&a[1]),
        count(&a[2]),
        count(&a[3]) as u64,
        count(&a[4]),
    );
    let c = client();
    let warmed = Barrier::new(threads + 1);
    let go = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    // Fixed duration, as wrk -d: see bench_c.c.
    let (t0, total) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..warm {
                        get_once(&c, key, len);
                    }
                    warmed.wait();
                    go.wait();
                    let mut done = 0;
                    while !stop.load(Ordering::Relaxed) {
                        get_once(&c, key, len);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        warmed.wait();
        let t0 = Instant::now();
        go.wait();
        std::thread::sleep(Duration::from_millis(ms));
        stop.store(true, Ordering::Relaxed);
        let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        (t0, total)
    });
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"mget\",\"threads\":{threads},\"ops\":{},\"n\":{total},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        threads * warm + total,
        total as f64 / s
    );
}

fn read_tree(c: &Client, dir: &str, leaves: usize) -> u64 {
    let opts = ReadOptions {
        recursive: true,
        ..ReadOptions::default()
    };
    let r = check("recursive read", c.read(dir, &opts));
    let mut seen = 0;
    let mut sum = 0u64;
    for leaf in r.node.leaves() {
        let value = leaf.value.as_deref().unwrap_or("");
        sum += (leaf.key.len() + value.len()) as u64 + u64::from(value.bytes().next().unwrap_or(0));
        seen += 1;
    }
    if seen != leaves {
        fail(&format!(
            "recursive read of {dir}: {seen} leaves, expected {leaves}"
        ));
    }
    sum
}

fn mode_recursive(a: &[String]) {
    let (dir, leaves, n, warm) = (&a[0], count(&a[1]), count(&a[2]), count(&a[3]));
    let c = client();
    let mut sum = 0;
    for _ in 0..warm {
        sum += read_tree(&c, dir, leaves);
    }
    let mut times = Vec::with_capacity(n);
    let t0 = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        sum += read_tree(&c, dir, leaves);
        times.push(t.elapsed().as_secs_f64());
    }
    let s = t0.elapsed().as_secs_f64();
    sort(&mut times);
    println!(
        "{{\"mode\":\"recursive\",\"ops\":{},\"n\":{n},\"leaves\":{leaves},\"seconds\":{s:.6},\"ms_per_read\":{:.3},\"ms_p50\":{:.3},\"check\":{sum}}}",
        n + warm,
        s * 1e3 / n as f64,
        pct_ms(&times, 50.0)
    );
}

/// What the writer and the watcher thread share.
struct WatchState {
    /// When the writer started write i.
    sent: Vec<Option<Instant>>,
    /// Delivery time minus `sent`, per event.
    latency: Vec<f64>,
    received: usize,
    error: bool,
}

fn mode_watch(a: &[String]) {
    let (key, n, warm) = (&a[0], count(&a[1]), count(&a[2]));
    let total = n + warm;
    let c = client();
    // Start right after the current index: no write is missed, whether or
    // not the watcher's first poll reached etcd before it.
    let start = check("watch: first write", c.set(key, "start"));
    let opts = WatchOptions {
        wait_index: Some(start.node.modified_index + 1),
        ..WatchOptions::default()
    };
    let mut watcher = check("watcher", c.watcher(key, &opts));
    let canceller = watcher.canceller();
    let state = Mutex::new(WatchState {
        sent: vec![None; total],
        latency: vec![0.0; total],
        received: 0,
        error: false,
    });
    let cv = Condvar::new();
    let mut write_rtt = Vec::with_capacity(total);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..total {
                let event = watcher.next_event(Some(Duration::from_secs(10)));
                let t = Instant::now();
                let mut s = state.lock().unwrap();
                match event {
                    Ok(ev) if ev.node.value.as_deref() == Some(i.to_string().as_str()) => {
                        s.latency[i] = (t - s.sent[i].unwrap()).as_secs_f64();
                        s.received = i + 1;
                        cv.notify_all();
                    }
                    other => {
                        eprintln!("bench_rust: watch: event {i}: {other:?}");
                        s.error = true;
                        cv.notify_all();
                        return;
                    }
                }
            }
        });
        for i in 0..total {
            let t0 = Instant::now();
            state.lock().unwrap().sent[i] = Some(t0);
            let r = c.set(key, &i.to_string());
            write_rtt.push(t0.elapsed().as_secs_f64());
            if let Err(e) = r {
                canceller.cancel();
                fail(&format!("watch: write: {e}"));
            }
            // One event in flight at a time: each is measured alone.
            let mut s = state.lock().unwrap();
            while s.received <= i && !s.error {
                s = cv.wait(s).unwrap();
            }
            if s.error {
                canceller.cancel();
                exit(1);
            }
        }
    });
    let mut lat = state.into_inner().unwrap().latency.split_off(warm);
    let mut rtt = write_rtt.split_off(warm);
    sort(&mut lat);
    sort(&mut rtt);
    println!(
        "{{\"mode\":\"watch\",\"ops\":{},\"n\":{n},\"p50_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4},\"write_p50_ms\":{:.4}}}",
        total + 1,
        pct_ms(&lat, 50.0),
        pct_ms(&lat, 99.0),
        lat[n - 1] * 1e3,
        pct_ms(&rtt, 50.0)
    );
}

fn mode_lock(a: &[String]) {
    let (name, contenders, n) = (&a[0], count(&a[1]), count(&a[2]));
    if contenders == 0 {
        fail("lock: at least one contender");
    }
    let per = n / contenders;
    let n = per * contenders;
    let c = client();
    let holders = AtomicUsize::new(0);
    let go = Barrier::new(contenders + 1);
    let acquire = Mutex::new(Vec::with_capacity(n));
    let t0 = std::thread::scope(|scope| {
        for _ in 0..contenders {
            scope.spawn(|| {
                let mut lock = check("lock", c.lock(name, &LockOptions::default()));
                let mut times = Vec::with_capacity(per);
                go.wait();
                for _ in 0..per {
                    let t = Instant::now();
                    check("acquire", lock.acquire(Some(Duration::from_secs(30))));
                    times.push(t.elapsed().as_secs_f64());
                    if holders.fetch_add(1, Ordering::SeqCst) != 0 {
                        fail("lock: two holders at once");
                    }
                    holders.fetch_sub(1, Ordering::SeqCst);
                    check("release", lock.release());
                }
                acquire.lock().unwrap().extend(times);
            });
        }
        let t0 = Instant::now();
        go.wait();
        t0
    });
    let s = t0.elapsed().as_secs_f64();
    let mut acq = acquire.into_inner().unwrap();
    sort(&mut acq);
    println!(
        "{{\"mode\":\"lock\",\"contenders\":{contenders},\"ops\":{n},\"n\":{n},\"seconds\":{s:.6},\"rate\":{:.1},\"ms_per_cycle\":{:.3},\"acquire_p50_ms\":{:.3},\"acquire_p99_ms\":{:.3}}}",
        n as f64 / s,
        s * 1e3 / n as f64,
        pct_ms(&acq, 50.0),
        pct_ms(&acq, 99.0)
    );
}

// ---- v3 (gRPC) ----

/// One v3 range of `key`: exactly one key comes back, with a value of
/// `len` bytes (what the etcd-client contender checks too).
fn v3_range_once(c: &Client, key: &str, len: usize, serializable: bool) {
    let v3 = c.v3();
    let kvs = if serializable {
        check("v3 range", v3.range(&Range::key(key).serializable())).kvs
    } else {
        check("v3 get", v3.get(key)).into_iter().collect()
    };
    match kvs.as_slice() {
        [kv] if kv.value.len() == len => {}
        _ => fail(&format!(
            "v3 range {key}: {} keys, not one of {len} bytes",
            kvs.len()
        )),
    }
}

fn v3_range(a: &[String], serializable: bool) {
    let (key, len, n, warm) = (&a[0], count(&a[1]), count(&a[2]), count(&a[3]));
    let c = client();
    for _ in 0..warm {
        v3_range_once(&c, key, len, serializable);
    }
    let t0 = Instant::now();
    for _ in 0..n {
        v3_range_once(&c, key, len, serializable);
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"{}\",\"ops\":{},\"n\":{n},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        if serializable {
            "v3-srange"
        } else {
            "v3-range"
        },
        n + warm,
        n as f64 / s
    );
}

fn mode_v3_range(a: &[String]) {
    v3_range(a, false)
}

fn mode_v3_srange(a: &[String]) {
    v3_range(a, true)
}

fn mode_v3_seed(a: &[String]) {
    let (key, value) = (&a[0], make_value(count(&a[1])));
    let c = client();
    check("v3 seed", c.v3().put(key.as_str(), value));
    v3_range_once(&c, key, count(&a[1]), false);
    println!("{{\"mode\":\"v3-seed\",\"ops\":1}}");
}

fn mode_v3_put(a: &[String]) {
    let (key, value, n, warm) = (&a[0], make_value(count(&a[1])), count(&a[2]), count(&a[3]));
    let c = client();
    let v3 = c.v3();
    let mut last = 0;
    let mut put = || {
        let rev = check("v3 put", v3.put(key.as_str(), value.as_str()))
            .header
            .revision;
        if rev <= last {
            fail(&format!("v3 put: revision {rev} after {last}"));
        }
        last = rev;
    };
    for _ in 0..warm {
        put();
    }
    let t0 = Instant::now();
    for _ in 0..n {
        put();
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"v3-put\",\"ops\":{},\"n\":{n},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        n + warm,
        n as f64 / s
    );
}

fn mode_v3_mrange(a: &[String]) {
    let (key, len, threads, ms, warm) = (
        &a[0],
        count(&a[1]),
        count(&a[2]),
        count(&a[3]) as u64,
        count(&a[4]),
    );
    let c = client();
    let warmed = Barrier::new(threads + 1);
    let go = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    let (t0, total) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..warm {
                        v3_range_once(&c, key, len, false);
                    }
                    warmed.wait();
                    go.wait();
                    let mut done = 0;
                    while !stop.load(Ordering::Relaxed) {
                        v3_range_once(&c, key, len, false);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        warmed.wait();
        let t0 = Instant::now();
        go.wait();
        std::thread::sleep(Duration::from_millis(ms));
        stop.store(true, Ordering::Relaxed);
        let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        (t0, total)
    });
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"v3-mrange\",\"threads\":{threads},\"ops\":{},\"n\":{total},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        threads * warm + total,
        total as f64 / s
    );
}

fn mode_v3_watch(a: &[String]) {
    let (key, n, warm) = (&a[0], count(&a[1]), count(&a[2]));
    let total = n + warm;
    let c = client();
    let v3 = c.v3();
    let mut watcher = check("v3 watch", v3.watch(&etcdc::v3::Watch::key(key.as_str())));
    let canceller = watcher.canceller();
    // The time each event arrived, by its value (the put's index).
    let arrived = Mutex::new(vec![None::<Instant>; total]);
    let cv = Condvar::new();
    let mut latency = Vec::with_capacity(total);
    let mut write_rtt = Vec::with_capacity(total);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..total {
                let event = watcher.next_event(Some(Duration::from_secs(10)));
                let t = Instant::now();
                match event {
                    Ok(e) if e.kv.value == i.to_string().as_bytes() => {
                        arrived.lock().unwrap()[i] = Some(t);
                        cv.notify_all();
                    }
                    other => {
                        eprintln!("bench_rust: v3 watch: event {i}: {other:?}");
                        exit(1);
                    }
                }
            }
        });
        for i in 0..total {
            let t0 = Instant::now();
            let r = v3.put(key.as_str(), i.to_string());
            write_rtt.push(t0.elapsed().as_secs_f64());
            if let Err(e) = r {
                canceller.cancel();
                fail(&format!("v3 watch: put: {e}"));
            }
            // One event in flight at a time: each is measured alone.
            let mut got = arrived.lock().unwrap();
            while got[i].is_none() {
                got = cv.wait(got).unwrap();
            }
            latency.push((got[i].unwrap() - t0).as_secs_f64());
        }
    });
    let mut lat = latency.split_off(warm);
    let mut rtt = write_rtt.split_off(warm);
    sort(&mut lat);
    sort(&mut rtt);
    println!(
        "{{\"mode\":\"v3-watch\",\"ops\":{total},\"n\":{n},\"p50_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4},\"write_p50_ms\":{:.4}}}",
        pct_ms(&lat, 50.0),
        pct_ms(&lat, 99.0),
        lat[n - 1] * 1e3,
        pct_ms(&rtt, 50.0)
    );
}

fn mode_v3_seed_prefix(a: &[String]) {
    let (prefix, n, len) = (&a[0], count(&a[1]), count(&a[2]));
    let value = make_value(len);
    let c = client();
    let v3 = c.v3();
    check(
        "v3 seed prefix: clear",
        v3.delete(&Delete::prefix(prefix.as_str())),
    );
    let mut txns = 0;
    for start in (0..n).step_by(128) {
        let puts: Vec<Put> = (start..(start + 128).min(n))
            .map(|i| Put::new(format!("{prefix}k{i:05}"), value.as_str()))
            .collect();
        check("v3 seed prefix: txn", v3.txn(&Txn::new().and_then(puts)));
        txns += 1;
    }
    v3_prefix_once(&c, &Range::prefix(prefix.as_str()), prefix, n, len);
    println!("{{\"mode\":\"v3-seed-prefix\",\"ops\":{txns},\"keys\":{n}}}");
}

/// One read of the prefix: exactly `n` keys, all under it, every value of
/// `len` bytes (what the other contenders check too).
fn v3_prefix_once(c: &Client, range: &Range, prefix: &str, n: usize, len: usize) {
    let r = check("v3 prefix range", c.v3().range(range));
    if r.kvs.len() != n || r.count != n as i64 || r.more {
        fail(&format!(
            "v3 prefix {prefix}: {} keys (count {}), not {n}",
            r.kvs.len(),
            r.count
        ));
    }
    for kv in &r.kvs {
        if kv.value.len() != len || !kv.key.starts_with(prefix.as_bytes()) {
            fail(&format!(
                "v3 prefix {prefix}: key {} with {} bytes",
                String::from_utf8_lossy(&kv.key),
                kv.value.len()
            ));
        }
    }
}

fn mode_v3_prefix(a: &[String]) {
    let (prefix, keys, len, n, warm) = (
        &a[0],
        count(&a[1]),
        count(&a[2]),
        count(&a[3]),
        count(&a[4]),
    );
    let c = client();
    let range = Range::prefix(prefix.as_str());
    for _ in 0..warm {
        v3_prefix_once(&c, &range, prefix, keys, len);
    }
    let t0 = Instant::now();
    for _ in 0..n {
        v3_prefix_once(&c, &range, prefix, keys, len);
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"v3-prefix\",\"ops\":{},\"n\":{n},\"keys\":{keys},\"seconds\":{s:.6},\"rate\":{:.2},\"keys_per_s\":{:.0},\"ms_per_read\":{:.3}}}",
        n + warm,
        n as f64 / s,
        (n * keys) as f64 / s,
        s * 1e3 / n as f64
    );
}

fn mode_v3_keepalive(a: &[String]) {
    let (leases, n, warm) = (count(&a[0]), count(&a[1]), count(&a[2]));
    if leases == 0 {
        fail("v3 keepalive: at least one lease");
    }
    let c = client();
    let v3 = c.v3();
    let ids: Vec<i64> = (0..leases)
        .map(|_| {
            let g = check("v3 lease grant", v3.lease_grant(60, 0));
            if g.ttl <= 0 {
                fail(&format!("v3 lease grant: TTL {}", g.ttl));
            }
            g.id
        })
        .collect();
    // Round-robin over the leases, one renewal in flight.
    let renew = |i: usize| {
        let id = ids[i % leases];
        let r = check("v3 keep-alive", v3.lease_keep_alive_once(id));
        if r.id != id || r.ttl <= 0 {
            fail(&format!(
                "v3 keep-alive of {id:x}: answer for {:x}, TTL {}",
                r.id, r.ttl
            ));
        }
    };
    for i in 0..warm {
        renew(i);
    }
    let t0 = Instant::now();
    for i in warm..warm + n {
        renew(i);
    }
    let s = t0.elapsed().as_secs_f64();
    for &id in &ids {
        check("v3 lease revoke", v3.lease_revoke(id));
    }
    println!(
        "{{\"mode\":\"v3-keepalive\",\"ops\":{},\"n\":{n},\"leases\":{leases},\"grants\":{leases},\"revokes\":{leases},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        n + warm,
        n as f64 / s
    );
}

/// The counter a lock's holders increment, beside (not under) its prefix.
fn counter_key(name: &str) -> String {
    format!("{name}-counter")
}

fn counter_value(c: &Client, key: &str) -> u64 {
    let kv = check("v3 lock: counter get", c.v3().get(key))
        .unwrap_or_else(|| fail(&format!("v3 lock: {key} is gone")));
    std::str::from_utf8(&kv.value)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail(&format!("v3 lock: {key} holds no count")))
}

fn mode_v3_lock(a: &[String]) {
    let (name, contenders, n, warm) = (&a[0], count(&a[1]), count(&a[2]), count(&a[3]));
    if contenders == 0 {
        fail("v3 lock: at least one contender");
    }
    let per = n / contenders;
    let n = per * contenders;
    let counter = counter_key(name);
    let c = client();
    check("v3 lock: counter", c.v3().put(counter.as_str(), "0"));
    let holders = AtomicUsize::new(0);
    let ready = Barrier::new(contenders + 1);
    let go = Barrier::new(contenders + 1);
    let acquire = Mutex::new(Vec::with_capacity(n));
    // In the critical section: a read and a put of the counter, not
    // atomic, so that two holders at once would lose an increment.
    let cycle = |own: &Client, lock: &mut etcdc::v3::V3Lock| {
        let t = Instant::now();
        check(
            "v3 lock acquire",
            lock.acquire(Some(Duration::from_secs(60))),
        );
        let waited = t.elapsed().as_secs_f64();
        if holders.fetch_add(1, Ordering::SeqCst) != 0 {
            fail("v3 lock: two holders at once");
        }
        let v = counter_value(own, &counter);
        check(
            "v3 lock: counter put",
            own.v3().put(counter.as_str(), (v + 1).to_string()),
        );
        holders.fetch_sub(1, Ordering::SeqCst);
        check("v3 lock release", lock.release());
        waited
    };
    let t0 = std::thread::scope(|scope| {
        for _ in 0..contenders {
            scope.spawn(|| {
                let own = client();
                let mut lock = check("v3 lock", own.v3().lock(name.as_str(), 60));
                for _ in 0..warm {
                    cycle(&own, &mut lock);
                }
                let mut times = Vec::with_capacity(per);
                ready.wait();
                go.wait();
                for _ in 0..per {
                    times.push(cycle(&own, &mut lock));
                }
                acquire.lock().unwrap().extend(times);
            });
        }
        ready.wait();
        let t0 = Instant::now();
        go.wait();
        t0
    });
    let s = t0.elapsed().as_secs_f64();
    let ops = n + contenders * warm;
    let total = counter_value(&c, &counter);
    if total != ops as u64 {
        fail(&format!(
            "v3 lock: the counter is {total} after {ops} acquisitions"
        ));
    }
    let mut acq = acquire.into_inner().unwrap();
    sort(&mut acq);
    println!(
        "{{\"mode\":\"v3-lock\",\"contenders\":{contenders},\"ops\":{ops},\"n\":{n},\"puts\":{},\"counter\":{total},\"seconds\":{s:.6},\"rate\":{:.1},\"acquire_p50_ms\":{:.3},\"acquire_p99_ms\":{:.3}}}",
        ops + 1,
        n as f64 / s,
        pct_ms(&acq, 50.0),
        pct_ms(&acq, 99.0)
    );
}

fn mode_v3_watches(a: &[String]) {
    let (prefix, n) = (&a[0], count(&a[1]));
    let c = client();
    let v3 = c.v3();
    // Connected before the baseline (a range, not counted as a put).
    check("v3 watches: first range", v3.get(format!("{prefix}0")));
    let (rss0, _) = rss_kb();
    let threads0 = thread_count();
    let t0 = Instant::now();
    let mut watchers: Vec<Watcher> = (0..n)
        .map(|i| check("v3 watch", v3.watch(&Watch::key(format!("{prefix}{i}")))))
        .collect();
    let create_ms = t0.elapsed().as_secs_f64() * 1e3;
    for i in 0..n {
        check(
            "v3 watches: put",
            v3.put(format!("{prefix}{i}"), i.to_string()),
        );
    }
    for (i, w) in watchers.iter_mut().enumerate() {
        match w.next_event(Some(Duration::from_secs(10))) {
            Ok(e)
                if e.kind == EventKind::Put
                    && e.kv.key == format!("{prefix}{i}").as_bytes()
                    && e.kv.value == i.to_string().as_bytes() => {}
            other => fail(&format!("v3 watches: watch {i}: {other:?}")),
        }
    }
    let all_ms = t0.elapsed().as_secs_f64() * 1e3;
    let (rss, hwm) = rss_kb();
    let threads = thread_count();
    let (socks, conns) = sockets(etcd_port());
    println!(
        "{{\"mode\":\"v3-watches\",\"ops\":{n},\"watches\":{n},\"create_ms\":{create_ms:.1},\"all_ms\":{all_ms:.1},\"rss_before_kb\":{rss0},\"rss_kb\":{rss},\"hwm_kb\":{hwm},\"growth_mb\":{:.2},\"threads_before\":{threads0},\"threads\":{threads},\"sockets\":{socks},\"conns\":{conns}}}",
        (hwm.saturating_sub(rss0)) as f64 / 1024.0
    );
    drop(watchers);
}

/// A mode: its name, its argument count, what runs it.
type Mode = (&'static str, usize, fn(&[String]));

fn main() {
    // `cargo bench` adds `--bench` (and would pass any other flag through).
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let modes: [Mode; 17] = [
        ("get", 4, mode_get),
        ("put", 4, mode_put),
        ("mget", 5, mode_mget),
        ("recursive", 4, mode_recursive),
        ("watch", 3, mode_watch),
        ("lock", 3, mode_lock),
        ("v3-seed", 2, mode_v3_seed),
        ("v3-range", 4, mode_v3_range),
        ("v3-srange", 4, mode_v3_srange),
        ("v3-put", 4, mode_v3_put),
        ("v3-mrange", 5, mode_v3_mrange),
        ("v3-watch", 3, mode_v3_watch),
        ("v3-seed-prefix", 3, mode_v3_seed_prefix),
        ("v3-prefix", 5, mode_v3_prefix),
        ("v3-keepalive", 3, mode_v3_keepalive),
        ("v3-lock", 4, mode_v3_lock),
        ("v3-watches", 2, mode_v3_watches),
    ];
    let Some(mode) = args.first() else {
        // A plain `cargo bench` lands here: say what to run instead.
        eprintln!("bench_rust: run benches/run.sh (make bench), or cargo bench --bench bench_rust -- get|put|mget|recursive|watch|lock|v3-... ARGS (see benches/bench_rust.rs)");
        return;
    };
    match modes.iter().find(|(name, _, _)| name == mode) {
        Some((name, argc, run)) if args.len() - 1 == *argc => run(&args[1..]),
        Some((name, argc, _)) => {
            eprintln!("bench_rust: {name} takes {argc} arguments (see benches/bench_rust.rs)");
            exit(2)
        }
        None => {
            eprintln!("bench_rust: unknown mode {mode} (see benches/bench_rust.rs)");
            exit(2)
        }
    }
}
