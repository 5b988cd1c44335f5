//! The etcd-client (tonic gRPC) contender of `make bench`'s v3 rows.
//!
//! `bench-etcd-client MODE ARGS...` against `$ETCDC_ENDPOINT`, with the v3
//! modes and arguments of `benches/bench_rust.rs`:
//!
//! ```text
//! v3-range KEY VALUE_LEN N WARM             N sequential linearizable ranges
//!                                           of one key (after WARM)
//! v3-srange KEY VALUE_LEN N WARM            the same, serializable
//! v3-put KEY VALUE_LEN N WARM               N sequential puts of the value
//! v3-mrange KEY VALUE_LEN TASKS MS WARM     TASKS tasks sharing one Client
//!                                           (clones of it: one channel),
//!                                           linearizable ranges for MS ms
//! v3-watch KEY N WARM                       a watch of KEY (created before
//!                                           the first put); N + WARM puts,
//!                                           one at a time, each timed from
//!                                           the put's start to the event's
//!                                           arrival in the reading task
//! v3-prefix PREFIX COUNT VALUE_LEN N WARM   N sequential reads of the prefix
//!                                           (get with_prefix), each checked:
//!                                           COUNT keys, every value of
//!                                           VALUE_LEN bytes
//! v3-keepalive LEASES N WARM                grants LEASES leases (TTL 60)
//!                                           and opens a keeper stream for
//!                                           each, `lease_keep_alive(id)`
//!                                           (not timed: etcd-client binds a
//!                                           keeper to one lease); renews
//!                                           them round-robin, one at a time,
//!                                           `keeper.keep_alive()` then
//!                                           `stream.message()` (WARM, then N
//!                                           timed); revokes them (not timed)
//! v3-lock NAME CONTENDERS N WARM            CONTENDERS tasks, each with its
//!                                           own Client and one lease (TTL
//!                                           60, granted before), take turns:
//!                                           WARM untimed then N/CONTENDERS
//!                                           `lock(NAME, with_lease)` +
//!                                           `unlock(key)` each; the holder
//!                                           reads NAME-counter and puts it
//!                                           + 1, which must end at the
//!                                           acquisitions
//! v3-watches PREFIX COUNT                   COUNT watches on one Client
//!                                           (`client.watch(key)` each: one
//!                                           gRPC stream per watch), each key
//!                                           put once, every event awaited;
//!                                           then the process's peak RSS,
//!                                           threads and connections
//! ```
//!
//! One `Client::connect` per run, as a program using the crate makes it
//! (v3-lock: one per contender); each mode prints one JSON line, `ops`
//! being the requests of the counted kind it sent (warm-up included; for
//! v3-keepalive the keep-alive messages, the one each keeper stream opens
//! with included), which the driver checks against etcd's own counters
//! (v3-keepalive also `grants` and `revokes`, v3-lock `puts`). Any failed
//! request or unexpected answer ends the run with exit code 1.
//!
//! The runtime: tokio's multi-threaded one (what `#[tokio::main]` makes),
//! the benchmark loop spawned as a task so that it runs on a worker, beside
//! the connection's tasks. `BENCH_TOKIO=current` uses a current-thread
//! runtime instead (everything on the one thread). benches/driver.py runs
//! both and judges etcdc against the faster.

#[path = "../../proc_stats.rs"]
mod proc_stats;

use std::process::exit;

use proc_stats::{etcd_port, rss_kb, sockets, thread_count};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions, LockOptions};

fn fail(what: &str) -> ! {
    eprintln!("bench-etcd-client: {what}");
    exit(1)
}

fn check<T>(what: &str, r: Result<T, etcd_client::Error>) -> T {
    r.unwrap_or_else(|e| fail(&format!("{what}: {e}")))
}

fn count(s: &str) -> usize {
    s.parse()
        .unwrap_or_else(|_| fail(&format!("not a count: {s}")))
}

/// `len` bytes of "0123456789", as the other contenders send.
fn make_value(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'0' + (i % 10) as u8).collect()
}

async fn client() -> Client {
    let url = std::env::var("ETCDC_ENDPOINT").unwrap_or_else(|_| fail("ETCDC_ENDPOINT is not set"));
    check("connect", Client::connect([url], None).await)
}

/// One range of `key`: exactly one key comes back, with a value of `len`
/// bytes (what etcdc's contender checks too).
async fn range_once(c: &mut Client, key: &[u8], len: usize, serializable: bool) {
    let opts = serializable.then(|| GetOptions::new().with_serializable());
    let r = check("range", c.get(key, opts).await);
    match r.kvs() {
        [kv] if kv.value().len() == len => {}
        _ => fail(&format!(
            "range {}: {} keys, not one of {len} bytes",
            String::from_utf8_lossy(key),
            r.kvs().len()
        )),
    }
}

async fn mode_range(a: Vec<String>, serializable: bool) {
    let (key, len, n, warm) = (a[0].as_bytes(), count(&a[1]), count(&a[2]), count(&a[3]));
    let mut c = client().await;
    for _ in 0..warm {
        range_once(&mut c, key, len, serializable).await;
    }
    let t0 = Instant::now();
    for _ in 0..n {
        range_once(&mut c, key, len, serializable).await;
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

async fn mode_put(a: Vec<String>) {
    let (key, value, n, warm) = (
        a[0].as_bytes(),
        make_value(count(&a[1])),
        count(&a[2]),
        count(&a[3]),
    );
    let mut c = client().await;
    let mut last = 0;
    let mut put = async |c: &mut Client| {
        let r = check("put", c.put(key, value.as_slice(), None).await);
        let rev = r.header().map_or(0, |h| h.revision());
        if rev <= last {
            fail(&format!("put: revision {rev} after {last}"));
        }
        last = rev;
    };
    for _ in 0..warm {
        put(&mut c).await;
    }
    let t0 = Instant::now();
    for _ in 0..n {
        put(&mut c).await;
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"v3-put\",\"ops\":{},\"n\":{n},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        n + warm,
        n as f64 / s
    );
}

async fn mode_mrange(a: Vec<String>) {
    let (key, len, tasks, ms, warm) = (
        Arc::new(a[0].clone().into_bytes()),
        count(&a[1]),
        count(&a[2]),
        count(&a[3]) as u64,
        count(&a[4]),
    );
    let c = client().await;
    let warmed = Arc::new(tokio::sync::Barrier::new(tasks + 1));
    let go = Arc::new(tokio::sync::Barrier::new(tasks + 1));
    let stop = Arc::new(AtomicBool::new(false));
    // Fixed duration, as the v2 8-thread row: every task busy throughout.
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (mut c, key, warmed, go, stop) = (
                c.clone(),
                key.clone(),
                warmed.clone(),
                go.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                for _ in 0..warm {
                    range_once(&mut c, &key, len, false).await;
                }
                warmed.wait().await;
                go.wait().await;
                let mut done = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    range_once(&mut c, &key, len, false).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    warmed.wait().await;
    let t0 = Instant::now();
    go.wait().await;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap_or_else(|e| fail(&format!("task: {e}")));
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"v3-mrange\",\"threads\":{tasks},\"ops\":{},\"n\":{total},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        tasks * warm + total,
        total as f64 / s
    );
}

async fn mode_watch(a: Vec<String>) {
    let (key, n, warm) = (a[0].clone().into_bytes(), count(&a[1]), count(&a[2]));
    let total = n + warm;
    let mut c = client().await;
    let mut stream = check("watch", c.watch(key.clone(), None).await);
    match check("watch: created", stream.message().await) {
        Some(r) if r.created() => {}
        other => fail(&format!("watch: not created: {other:?}")),
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let reader = tokio::spawn(async move {
        let mut i = 0;
        while i < total {
            let Some(r) = check("watch: message", stream.message().await) else {
                fail("watch: the stream ended");
            };
            let t = Instant::now();
            for e in r.events() {
                let value = e.kv().map(|kv| kv.value().to_vec());
                if value != Some(i.to_string().into_bytes()) {
                    fail(&format!("watch: event {i}: {value:?}"));
                }
                let _ = tx.send((i, t));
                i += 1;
            }
        }
    });
    let mut lat = Vec::with_capacity(total);
    let mut rtt = Vec::with_capacity(total);
    for i in 0..total {
        let t0 = Instant::now();
        check("put", c.put(key.clone(), i.to_string(), None).await);
        rtt.push(t0.elapsed().as_secs_f64());
        let Some((j, t)) = rx.recv().await else {
            fail("watch: the reader stopped");
        };
        if j != i {
            fail(&format!("watch: event {j} for put {i}"));
        }
        lat.push((t - t0).as_secs_f64());
    }
    check_join(reader.await);
    let mut lat = lat.split_off(warm);
    let mut rtt = rtt.split_off(warm);
    lat.sort_by(f64::total_cmp);
    rtt.sort_by(f64::total_cmp);
    // The same percentile as benches/bench_rust.rs's pct_ms.
    let pct = |v: &[f64], p: f64| {
        let i = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i] * 1e3
    };
    println!(
        "{{\"mode\":\"v3-watch\",\"ops\":{total},\"n\":{n},\"p50_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4},\"write_p50_ms\":{:.4}}}",
        pct(&lat, 50.0),
        pct(&lat, 99.0),
        lat[n - 1] * 1e3,
        pct(&rtt, 50.0)
    );
}

/// One read of the prefix: exactly `n` keys, all under it, every value of
/// `len` bytes (what etcdc's contenders check too).
async fn prefix_once(c: &mut Client, prefix: &[u8], n: usize, len: usize) {
    let r = check(
        "prefix range",
        c.get(prefix, Some(GetOptions::new().with_prefix())).await,
    );
    if r.kvs().len() != n || r.count() != n as i64 || r.more() {
        fail(&format!(
            "prefix {}: {} keys (count {}), not {n}",
            String::from_utf8_lossy(prefix),
            r.kvs().len(),
            r.count()
        ));
    }
    for kv in r.kvs() {
        if kv.value().len() != len || !kv.key().starts_with(prefix) {
            fail(&format!(
                "prefix {}: key {} with {} bytes",
                String::from_utf8_lossy(prefix),
                String::from_utf8_lossy(kv.key()),
                kv.value().len()
            ));
        }
    }
}

async fn mode_prefix(a: Vec<String>) {
    let (prefix, keys, len, n, warm) = (
        a[0].as_bytes(),
        count(&a[1]),
        count(&a[2]),
        count(&a[3]),
        count(&a[4]),
    );
    let mut c = client().await;
    for _ in 0..warm {
        prefix_once(&mut c, prefix, keys, len).await;
    }
    let t0 = Instant::now();
    for _ in 0..n {
        prefix_once(&mut c, prefix, keys, len).await;
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

async fn mode_keepalive(a: Vec<String>) {
    let (leases, n, warm) = (count(&a[0]), count(&a[1]), count(&a[2]));
    if leases == 0 {
        fail("keepalive: at least one lease");
    }
    let mut c = client().await;
    let mut ids = Vec::with_capacity(leases);
    for _ in 0..leases {
        let g = check("lease grant", c.lease_grant(60, None).await);
        if g.ttl() <= 0 {
            fail(&format!("lease grant: TTL {}", g.ttl()));
        }
        ids.push(g.id());
    }
    // etcd-client's keeper renews one lease: a stream per lease, each
    // opened with a first keep-alive (counted in `ops`).
    let mut keepers = Vec::with_capacity(leases);
    for &id in &ids {
        let (keeper, stream) = check("lease keep-alive stream", c.lease_keep_alive(id).await);
        if keeper.id() != id {
            fail(&format!("keeper for {id:x} renews {:x}", keeper.id()));
        }
        keepers.push((keeper, stream));
    }
    let mut renew = async |i: usize| {
        let (keeper, stream) = &mut keepers[i % leases];
        let id = keeper.id();
        check("keep-alive", keeper.keep_alive().await);
        match check("keep-alive answer", stream.message().await) {
            Some(r) if r.id() == id && r.ttl() > 0 => {}
            other => fail(&format!("keep-alive of {id:x}: {other:?}")),
        }
    };
    for i in 0..warm {
        renew(i).await;
    }
    let t0 = Instant::now();
    for i in warm..warm + n {
        renew(i).await;
    }
    let s = t0.elapsed().as_secs_f64();
    // The keepers' streams end (a half-close each) before the revokes.
    drop(keepers);
    for &id in &ids {
        check("lease revoke", c.lease_revoke(id).await);
    }
    println!(
        "{{\"mode\":\"v3-keepalive\",\"ops\":{},\"n\":{n},\"leases\":{leases},\"grants\":{leases},\"revokes\":{leases},\"seconds\":{s:.6},\"rate\":{:.1}}}",
        leases + n + warm,
        n as f64 / s
    );
}

/// The counter a lock's holders increment, beside (not under) its prefix.
fn counter_key(name: &str) -> Vec<u8> {
    format!("{name}-counter").into_bytes()
}

async fn counter_value(c: &mut Client, key: &[u8]) -> u64 {
    let r = check("lock: counter get", c.get(key, None).await);
    let [kv] = r.kvs() else {
        fail("lock: the counter is gone");
    };
    std::str::from_utf8(kv.value())
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail("lock: the counter holds no count"))
}

/// One acquisition: lock (with the contender's lease), a read and a put of
/// the counter (not atomic: two holders at once would lose an increment),
/// unlock. Returns the time `lock` took.
async fn lock_cycle(
    c: &mut Client,
    name: &[u8],
    lease: i64,
    counter: &[u8],
    holders: &AtomicUsize,
) -> f64 {
    let t = Instant::now();
    let r = check(
        "lock",
        c.lock(name, Some(LockOptions::new().with_lease(lease)))
            .await,
    );
    let waited = t.elapsed().as_secs_f64();
    if holders.fetch_add(1, Ordering::SeqCst) != 0 {
        fail("lock: two holders at once");
    }
    let v = counter_value(c, counter).await;
    check(
        "lock: counter put",
        c.put(counter, (v + 1).to_string(), None).await,
    );
    holders.fetch_sub(1, Ordering::SeqCst);
    check("unlock", c.unlock(r.key()).await);
    waited
}

async fn mode_lock(a: Vec<String>) {
    let (name, contenders, n, warm) = (a[0].clone(), count(&a[1]), count(&a[2]), count(&a[3]));
    if contenders == 0 {
        fail("lock: at least one contender");
    }
    let per = n / contenders;
    let n = per * contenders;
    let counter = Arc::new(counter_key(&name));
    let name = Arc::new(name.into_bytes());
    let mut c = client().await;
    check("lock: counter", c.put(counter.as_slice(), "0", None).await);
    let holders = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(tokio::sync::Barrier::new(contenders + 1));
    let go = Arc::new(tokio::sync::Barrier::new(contenders + 1));
    let workers: Vec<_> = (0..contenders)
        .map(|_| {
            let (name, counter, holders, ready, go) = (
                name.clone(),
                counter.clone(),
                holders.clone(),
                ready.clone(),
                go.clone(),
            );
            tokio::spawn(async move {
                let mut c = client().await;
                let lease = check("lease grant", c.lease_grant(60, None).await).id();
                for _ in 0..warm {
                    lock_cycle(&mut c, &name, lease, &counter, &holders).await;
                }
                ready.wait().await;
                go.wait().await;
                let mut times = Vec::with_capacity(per);
                for _ in 0..per {
                    times.push(lock_cycle(&mut c, &name, lease, &counter, &holders).await);
                }
                (c, lease, times)
            })
        })
        .collect();
    ready.wait().await;
    let t0 = Instant::now();
    go.wait().await;
    let mut done = Vec::with_capacity(contenders);
    for w in workers {
        done.push(w.await.unwrap_or_else(|e| fail(&format!("task: {e}"))));
    }
    let s = t0.elapsed().as_secs_f64();
    let mut acq = Vec::with_capacity(n);
    for (mut c, lease, times) in done {
        check("lease revoke", c.lease_revoke(lease).await);
        acq.extend(times);
    }
    let ops = n + contenders * warm;
    let total = counter_value(&mut c, &counter).await;
    if total != ops as u64 {
        fail(&format!(
            "lock: the counter is {total} after {ops} acquisitions"
        ));
    }
    acq.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| {
        let i = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i] * 1e3
    };
    println!(
        "{{\"mode\":\"v3-lock\",\"contenders\":{contenders},\"ops\":{ops},\"n\":{n},\"puts\":{},\"counter\":{total},\"grants\":{contenders},\"seconds\":{s:.6},\"rate\":{:.1},\"acquire_p50_ms\":{:.3},\"acquire_p99_ms\":{:.3}}}",
        ops + 1,
        n as f64 / s,
        pct(&acq, 50.0),
        pct(&acq, 99.0)
    );
}

async fn mode_watches(a: Vec<String>) {
    let (prefix, n) = (a[0].clone(), count(&a[1]));
    let mut c = client().await;
    // Connected before the baseline (a range, not counted as a put).
    check(
        "watches: first range",
        c.get(format!("{prefix}0"), None).await,
    );
    let (rss0, _) = rss_kb();
    let threads0 = thread_count();
    let t0 = Instant::now();
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let mut stream = check("watch", c.watch(format!("{prefix}{i}"), None).await);
        match check("watch: created", stream.message().await) {
            Some(r) if r.created() => {}
            other => fail(&format!("watch {i}: not created: {other:?}")),
        }
        streams.push(stream);
    }
    let create_ms = t0.elapsed().as_secs_f64() * 1e3;
    for i in 0..n {
        check(
            "watches: put",
            c.put(format!("{prefix}{i}"), i.to_string(), None).await,
        );
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        let r = match tokio::time::timeout(Duration::from_secs(10), stream.message()).await {
            Ok(r) => check("watch: message", r),
            Err(_) => fail(&format!("watch {i}: no event in 10 s")),
        };
        let key = format!("{prefix}{i}");
        match r.as_ref().map(|r| r.events()) {
            Some([e])
                if e.event_type() == etcd_client::EventType::Put
                    && e.kv().is_some_and(|kv| {
                        kv.key() == key.as_bytes() && kv.value() == i.to_string().as_bytes()
                    }) => {}
            _ => fail(&format!("watch {i}: {r:?}")),
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
    drop(streams);
}

fn check_join(r: Result<(), tokio::task::JoinError>) {
    r.unwrap_or_else(|e| fail(&format!("task: {e}")));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else {
        eprintln!(
            "usage: bench-etcd-client v3-range|v3-srange|v3-put|v3-mrange|v3-watch|v3-prefix|\
             v3-keepalive|v3-lock|v3-watches ARGS (see src/main.rs)"
        );
        exit(2)
    };
    let rest = args[1..].to_vec();
    let argc = match mode.as_str() {
        "v3-range" | "v3-srange" | "v3-put" | "v3-lock" => 4,
        "v3-mrange" | "v3-prefix" => 5,
        "v3-watch" | "v3-keepalive" => 3,
        "v3-watches" => 2,
        _ => {
            eprintln!("bench-etcd-client: unknown mode {mode}");
            exit(2)
        }
    };
    if rest.len() != argc {
        eprintln!("bench-etcd-client: {mode} takes {argc} arguments");
        exit(2)
    }
    let current = std::env::var("BENCH_TOKIO").is_ok_and(|v| v == "current");
    let rt = if current {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let rt = rt.unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    let job = async move {
        match mode.as_str() {
            "v3-range" => mode_range(rest, false).await,
            "v3-srange" => mode_range(rest, true).await,
            "v3-put" => mode_put(rest).await,
            "v3-watch" => mode_watch(rest).await,
            "v3-prefix" => mode_prefix(rest).await,
            "v3-keepalive" => mode_keepalive(rest).await,
            "v3-lock" => mode_lock(rest).await,
            "v3-watches" => mode_watches(rest).await,
            _ => mode_mrange(rest).await,
        }
    };
    if current {
        rt.block_on(job);
    } else {
        // On a worker, as a server's request handler would run.
        rt.block_on(async { tokio::spawn(job).await })
            .unwrap_or_else(|e| fail(&format!("task: {e}")));
    }
}
