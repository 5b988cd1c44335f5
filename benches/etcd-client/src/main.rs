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
//! ```
//!
//! One `Client::connect` per run, as a program using the crate makes it;
//! each mode prints one JSON line, `ops` being the requests of the counted
//! kind it sent (warm-up included), which the driver checks against etcd's
//! own counters. Any failed request or unexpected answer ends the run with
//! exit code 1.
//!
//! The runtime: tokio's multi-threaded one (what `#[tokio::main]` makes),
//! the benchmark loop spawned as a task so that it runs on a worker, beside
//! the connection's tasks. `BENCH_TOKIO=current` uses a current-thread
//! runtime instead (everything on the one thread). benches/driver.py runs
//! both and judges etcdc against the faster.

use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions};

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

fn check_join(r: Result<(), tokio::task::JoinError>) {
    r.unwrap_or_else(|e| fail(&format!("task: {e}")));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else {
        eprintln!(
            "usage: bench-etcd-client v3-range|v3-srange|v3-put|v3-mrange|v3-watch ARGS (see src/main.rs)"
        );
        exit(2)
    };
    let rest = args[1..].to_vec();
    let argc = match mode.as_str() {
        "v3-range" | "v3-srange" | "v3-put" => 4,
        "v3-mrange" => 5,
        "v3-watch" => 3,
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
