//! The HTTP/2 + gRPC connection layer (`etcdc::__http2`, which the v3
//! client is built on): against a real etcd 3.4 (its client port serves
//! gRPC natively) with hand-encoded protobuf, and against a scripted peer
//! ([`common::h2peer`]) for what etcd will not do.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::h2peer::{self, H2Peer, Peer};
use etcdc::__http2::{CallError, CancelToken, Code, Config, GrpcStatus, H2Connection, Reason};

const PUT: &str = "/etcdserverpb.KV/Put";
const RANGE: &str = "/etcdserverpb.KV/Range";
const WATCH: &str = "/etcdserverpb.Watch/Watch";

// ---- protobuf by hand: just what these tests send and read ----

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    varint(out, field << 3 | 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// PutRequest { key = 1, value = 2 }.
fn put_request(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    bytes_field(&mut m, 1, key);
    bytes_field(&mut m, 2, value);
    m
}

/// RangeRequest { key = 1 }.
fn range_request(key: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    bytes_field(&mut m, 1, key);
    m
}

/// WatchRequest { create_request = 1: WatchCreateRequest { key = 1 } }.
fn watch_request(key: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    bytes_field(&mut m, 1, &range_request(key));
    m
}

/// The length-delimited fields numbered `want` of a message.
fn fields(mut m: &[u8], want: u64) -> Vec<&[u8]> {
    fn read_varint(m: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = m.split_first().expect("varint");
            *m = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
        }
        v
    }
    let mut found = Vec::new();
    while !m.is_empty() {
        let tag = read_varint(&mut m);
        match tag & 7 {
            0 => {
                read_varint(&mut m);
            }
            2 => {
                let len = read_varint(&mut m) as usize;
                let (value, rest) = m.split_at(len);
                if tag >> 3 == want {
                    found.push(value);
                }
                m = rest;
            }
            1 => m = &m[8..],
            5 => m = &m[4..],
            w => panic!("wire type {w}"),
        }
    }
    found
}

/// (key, value) of each KeyValue in a RangeResponse (kvs = 2; KeyValue:
/// key = 1, value = 5).
fn range_kvs(response: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields(response, 2)
        .into_iter()
        .map(|kv| {
            let key = fields(kv, 1)
                .first()
                .map(|k| k.to_vec())
                .unwrap_or_default();
            let value = fields(kv, 5)
                .first()
                .map(|v| v.to_vec())
                .unwrap_or_default();
            (key, value)
        })
        .collect()
}

// ---- helpers ----

fn connect(url: &str) -> Arc<H2Connection> {
    H2Connection::connect(url, Config::default()).expect("connect")
}

fn within(ms: u64) -> Option<Instant> {
    Some(Instant::now() + Duration::from_millis(ms))
}

fn put(conn: &H2Connection, key: &str, value: &[u8]) -> Result<Vec<u8>, CallError> {
    conn.unary(
        PUT,
        &put_request(key.as_bytes(), value),
        within(10_000),
        &[],
        None,
    )
}

fn get(conn: &H2Connection, key: &str) -> Result<Option<Vec<u8>>, CallError> {
    let answer = conn.unary(
        RANGE,
        &range_request(key.as_bytes()),
        within(10_000),
        &[],
        None,
    )?;
    let kvs = range_kvs(&answer);
    assert!(kvs.len() <= 1);
    Ok(kvs.into_iter().next().map(|(k, v)| {
        assert_eq!(k, key.as_bytes(), "the answer is for another key");
        v
    }))
}

/// The pid of the etcd serving `port` (from /proc), for SIGSTOP.
fn etcd_pid(port: u16) -> i32 {
    let needle = format!("127.0.0.1:{port}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.contains("etcd") && cmdline.contains(&needle) {
            return pid;
        }
    }
    panic!("no etcd process for port {port}");
}

// ---- against etcd ----

#[test]
fn a_put_then_a_range_returns_the_value() {
    let conn = connect(&common::shared().url);
    let key = common::prefix("h2") + "/k";
    let answer = put(&conn, &key, b"v1 %+&=\0\xff").unwrap();
    // PutResponse { header = 1 }: a header with the revision.
    assert_eq!(fields(&answer, 1).len(), 1);
    assert_eq!(
        get(&conn, &key).unwrap().as_deref(),
        Some(&b"v1 %+&=\0\xff"[..])
    );
    assert_eq!(get(&conn, &(key + "/none")).unwrap(), None);
    assert!(conn.is_usable());
}

#[test]
fn metadata_goes_with_the_call() {
    let conn = connect(&common::shared().url);
    let key = common::prefix("h2meta");
    // etcd reads hasleader (it refuses calls when there is none).
    let answer = conn
        .unary(
            PUT,
            &put_request(key.as_bytes(), b"x"),
            within(10_000),
            &[("hasleader", "true")],
            None,
        )
        .unwrap();
    assert_eq!(fields(&answer, 1).len(), 1);
    // A token reaches etcd, which checks it even without auth enabled.
    let e = conn.unary(
        RANGE,
        &range_request(key.as_bytes()),
        within(10_000),
        &[("token", "not.a.token")],
        None,
    );
    assert_eq!(
        e,
        Err(CallError::Status(GrpcStatus {
            code: Code::Unauthenticated,
            message: "etcdserver: invalid auth token".into()
        }))
    );
    let bad = conn.unary(PUT, b"", within(1000), &[("Bad Name", "x")], None);
    assert!(matches!(bad, Err(CallError::Invalid(_))), "{bad:?}");
}

/// 1.5 MB each way: the request crosses grpc-go's 64 KiB stream window
/// (the send waits for WINDOW_UPDATEs), the answer crosses ours when the
/// window is small.
#[test]
fn a_large_value_round_trips_through_flow_control() {
    let value: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let config = Config {
        stream_window: 64 * 1024,
        connection_window: 65_535,
        ..Config::default()
    };
    let small = H2Connection::connect(&common::shared().url, config).unwrap();
    let conn = connect(&common::shared().url);
    let key = common::prefix("h2big");
    put(&conn, &key, &value).unwrap();
    assert!(get(&conn, &key).unwrap().unwrap() == value);
    assert!(get(&small, &key).unwrap().unwrap() == value);
    // Over etcd's --max-request-bytes (1.5 MiB): etcd's own answer.
    let huge = vec![0u8; 2 << 20];
    match put(&conn, &key, &huge) {
        Err(CallError::Status(GrpcStatus {
            code: Code::ResourceExhausted | Code::InvalidArgument,
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    // The connection is still good.
    assert!(get(&conn, &key).unwrap().is_some());
}

/// 8 threads × 500 rounds (a put and a range each) on one connection:
/// every answer is its own call's.
#[test]
fn eight_threads_share_one_connection_without_mixups() {
    let conn = connect(&common::shared().url);
    let base = common::prefix("h2threads");
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (conn, base) = (&conn, &base);
            s.spawn(move || {
                for round in 0..500 {
                    let key = format!("{base}/t{t}/r{round}");
                    let value = format!("thread {t} round {round}");
                    put(conn, &key, value.as_bytes()).unwrap();
                    assert_eq!(get(conn, &key).unwrap(), Some(value.into_bytes()));
                }
            });
        }
    });
    eprintln!("8 x 500 x (put + range): {:?}", start.elapsed());
    assert!(conn.is_usable());
}

#[test]
fn an_unknown_method_is_unimplemented() {
    let conn = connect(&common::shared().url);
    let e = conn
        .unary("/etcdserverpb.KV/Nope", b"", within(5000), &[], None)
        .unwrap_err();
    match e {
        CallError::Status(GrpcStatus {
            code: Code::Unimplemented,
            message,
        }) => assert!(message.contains("Nope"), "{message}"),
        other => panic!("{other:?}"),
    }
    // An error answer from etcd itself: a range without a key.
    match conn.unary(RANGE, b"", within(5000), &[], None) {
        Err(CallError::Status(GrpcStatus {
            code: Code::InvalidArgument,
            message,
        })) => assert_eq!(message, "etcdserver: key is not provided"),
        other => panic!("{other:?}"),
    }
    assert!(conn.is_usable());
}

/// A watch stream sees a put; a `recv` blocked on it wakes within 100 ms
/// of a cancel from another thread.
#[test]
fn a_watch_stream_sees_a_put_and_is_cancelled_from_another_thread() {
    let conn = connect(&common::shared().url);
    let key = common::prefix("h2watch");
    let mut watch = conn.stream(WATCH, &[], within(5000), None).unwrap();
    watch
        .send(&watch_request(key.as_bytes()), within(5000))
        .unwrap();
    // WatchResponse { created = 3 } first.
    let created = watch.recv(within(5000)).unwrap().unwrap();
    assert!(!created.is_empty());
    put(&conn, &key, b"watched value").unwrap();
    let event = watch.recv(within(5000)).unwrap().unwrap();
    // WatchResponse { events = 11: Event { kv = 2: KeyValue { value = 5 } } }
    let events = fields(&event, 11);
    assert_eq!(events.len(), 1);
    let kv = fields(events[0], 2)[0];
    assert_eq!(fields(kv, 5)[0], b"watched value");

    let canceller = watch.canceller();
    let cancelled_at = std::thread::scope(|s| {
        let t = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            canceller.cancel();
            Instant::now()
        });
        let e = watch.recv(None).unwrap_err();
        let woke = Instant::now();
        assert_eq!(e, CallError::Cancelled { sent: true });
        let at = t.join().unwrap();
        woke.duration_since(at)
    });
    assert!(
        cancelled_at < Duration::from_millis(100),
        "woke {cancelled_at:?} after the cancel"
    );
    drop(watch);
    // The connection goes on.
    assert_eq!(
        get(&conn, &key).unwrap().as_deref(),
        Some(&b"watched value"[..])
    );
}

/// etcd stopped (SIGSTOP): a call with a deadline returns `MaybeSent` at
/// its deadline, and one cancelled from another thread within 100 ms;
/// after SIGCONT the connection works again.
#[test]
fn a_stopped_etcd_gives_maybe_sent_at_the_deadline_and_cancel_wakes() {
    let etcd = common::Etcd::start();
    let conn = connect(&etcd.url);
    put(&conn, "/h2stop", b"before").unwrap();
    let pid = etcd_pid(etcd.port);
    // SAFETY: signals a process this test started.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let started = Instant::now();
    let e = conn
        .unary(
            PUT,
            &put_request(b"/h2stop", b"during"),
            within(300),
            &[],
            None,
        )
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e, CallError::MaybeSent(Reason::Timeout));
    assert!(e.maybe_sent());
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(600),
        "{took:?}"
    );

    let token = CancelToken::new();
    let late = std::thread::scope(|s| {
        let t = token.clone();
        let canceller = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            t.cancel();
            Instant::now()
        });
        let e = conn
            .unary(RANGE, &range_request(b"/h2stop"), None, &[], Some(&token))
            .unwrap_err();
        let woke = Instant::now();
        assert_eq!(e, CallError::Cancelled { sent: true });
        woke.duration_since(canceller.join().unwrap())
    });
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert!(
        late < Duration::from_millis(100),
        "woke {late:?} after the cancel"
    );
    // A cancelled token stays cancelled: nothing is sent.
    assert_eq!(
        conn.unary(RANGE, &range_request(b"/h2stop"), None, &[], Some(&token)),
        Err(CallError::Cancelled { sent: false })
    );
    assert!(get(&conn, "/h2stop").unwrap().is_some());
}

/// Parent and child of a fork: the child's calls on the inherited
/// connection say it is the parent's (touching nothing), its own
/// connection works, and both get their own answers.
#[test]
fn a_forked_child_opens_its_own_connection() {
    // The parent's only handle, so that the child's drop is the last one.
    let mut conn = Some(connect(&common::shared().url));
    let base = common::prefix("h2fork");
    let (a, b) = (format!("{base}/a"), format!("{base}/b"));
    put(conn.as_ref().unwrap(), &a, b"A").unwrap();
    put(conn.as_ref().unwrap(), &b, b"B").unwrap();
    for round in 0..5 {
        assert_eq!(
            get(conn.as_ref().unwrap(), &a).unwrap().as_deref(),
            Some(&b"A"[..])
        );
        // SAFETY: the child uses only the client (no lock of the harness)
        // and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = (|| {
                let inherited = conn.as_ref().unwrap();
                if inherited.is_usable() {
                    return 1;
                }
                match get(inherited, &b) {
                    Err(CallError::NotSent(Reason::Forked)) => {}
                    _ => return 2,
                }
                let own = match H2Connection::connect(&common::shared().url, Config::default()) {
                    Ok(c) => c,
                    Err(_) => return 3,
                };
                for _ in 0..20 {
                    if get(&own, &b).ok().flatten().as_deref() != Some(&b"B"[..]) {
                        return 4;
                    }
                }
                // Dropping the inherited connection (its last handle) leaks
                // it: a shutdown here would break the parent's connection,
                // which the parent checks after this child is gone.
                drop(conn.take());
                0
            })();
            // SAFETY: ends the child without the harness.
            unsafe { libc::_exit(code) };
        }
        for _ in 0..20 {
            assert_eq!(
                get(conn.as_ref().unwrap(), &a).unwrap().as_deref(),
                Some(&b"A"[..])
            );
        }
        let mut status = 0;
        // SAFETY: our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status), "round {round}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "round {round}: 1 usable, 2 not Forked, 3 connect, 4 wrong answer"
        );
        assert_eq!(
            get(conn.as_ref().unwrap(), &a).unwrap().as_deref(),
            Some(&b"A"[..])
        );
    }
}

// ---- over TLS (ALPN h2), against etcd's https client port ----

/// A TLS etcd shared by these tests: without client certificates
/// required (`false`), or with `--client-cert-auth` (`true`).
fn tls_etcd(client_cert_auth: bool) -> &'static common::Etcd {
    static PLAIN: std::sync::OnceLock<common::Etcd> = std::sync::OnceLock::new();
    static CERT: std::sync::OnceLock<common::Etcd> = std::sync::OnceLock::new();
    let cell = if client_cert_auth { &CERT } else { &PLAIN };
    cell.get_or_init(|| {
        common::Etcd::start_tls(
            common::Options::default(),
            common::tls::pki().server_tls(client_cert_auth),
        )
    })
}

/// A configuration trusting the test CA, with the test client certificate
/// if `cert`.
fn tls_config(cert: bool) -> Config {
    let p = common::tls::pki();
    let client = cert.then_some((p.client_cert.as_path(), p.client_key.as_path()));
    Config::default()
        .with_tls(Some(&p.ca), client, false)
        .expect("TLS configuration")
}

fn tls_connect(url: &str, config: Config) -> Arc<H2Connection> {
    H2Connection::connect(url, config).expect("TLS connect")
}

/// A connect that must fail, within 5 s, as `NotSent`: its TLS error.
fn tls_refused(url: &str, config: Config) -> etcdc::Error {
    let start = Instant::now();
    let e = H2Connection::connect(url, config).expect_err("the connect must fail");
    assert!(start.elapsed() < Duration::from_secs(5), "{e}");
    assert!(matches!(e, CallError::NotSent(_)), "{e:?}");
    assert!(!e.maybe_sent());
    e.tls_error()
        .unwrap_or_else(|| panic!("not a TLS error: {e:?}"))
}

#[test]
fn tls_a_put_then_a_range_with_the_ca() {
    let etcd = tls_etcd(false);
    assert!(etcd.url.starts_with("https://"));
    let conn = tls_connect(&etcd.url, tls_config(false));
    let key = common::prefix("h2tls") + "/k";
    let answer = put(&conn, &key, b"over TLS %+&=\0\xff").unwrap();
    assert_eq!(fields(&answer, 1).len(), 1);
    assert_eq!(
        get(&conn, &key).unwrap().as_deref(),
        Some(&b"over TLS %+&=\0\xff"[..])
    );
    assert_eq!(get(&conn, &(key.clone() + "/none")).unwrap(), None);
    assert!(conn.is_usable());
    // Without verification, no CA needed.
    let insecure = Config::default().with_tls(None, None, true).unwrap();
    let conn = tls_connect(&etcd.url, insecure);
    assert!(get(&conn, &key).unwrap().is_some());
}

#[test]
fn tls_a_put_then_a_range_with_a_client_certificate() {
    let etcd = tls_etcd(true);
    let conn = tls_connect(&etcd.url, tls_config(true));
    let key = common::prefix("h2tlscert") + "/k";
    put(&conn, &key, b"with a certificate").unwrap();
    assert_eq!(
        get(&conn, &key).unwrap().as_deref(),
        Some(&b"with a certificate"[..])
    );
    assert!(conn.is_usable());
}

#[test]
fn tls_an_untrusted_server_certificate_is_refused() {
    let etcd = tls_etcd(false);
    let p = common::tls::pki();
    // The system's store (the default), and an unrelated CA.
    for config in [
        Config::default(),
        Config::default()
            .with_tls(Some(&p.other_ca), None, false)
            .unwrap(),
    ] {
        match tls_refused(&etcd.url, config) {
            etcdc::Error::TlsUntrusted { endpoint, .. } => assert_eq!(endpoint, etcd.url),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn tls_a_wrong_host_name_is_refused() {
    let etcd = tls_etcd(false);
    let url = etcd.url_with_host("localhost");
    match tls_refused(&url, tls_config(false)) {
        etcdc::Error::TlsHostname { endpoint, .. } => assert_eq!(endpoint, url),
        other => panic!("{other:?}"),
    }
}

/// etcd refuses a missing or untrusted client certificate after the
/// handshake (TLS 1.3): an alert racing a reset. Every try must say so.
#[test]
fn tls_no_client_certificate_when_required_is_refused() {
    let etcd = tls_etcd(true);
    let p = common::tls::pki();
    for round in 0..8 {
        match tls_refused(&etcd.url, tls_config(false)) {
            etcdc::Error::TlsClientCert { .. } => {}
            other => panic!("round {round}: {other:?}"),
        }
    }
    let foreign = Config::default()
        .with_tls(
            Some(&p.ca),
            Some((&p.other_client_cert, &p.other_client_key)),
            false,
        )
        .unwrap();
    match tls_refused(&etcd.url, foreign) {
        etcdc::Error::TlsClientCert { .. } => {}
        other => panic!("{other:?}"),
    }
    // The same etcd takes the right certificate.
    let conn = tls_connect(&etcd.url, tls_config(true));
    assert_eq!(get(&conn, "/h2tls-none").unwrap(), None);
}

#[test]
fn tls_to_a_plain_port_is_a_tls_error() {
    match tls_refused(
        &common::shared().url.replace("http://", "https://"),
        tls_config(false),
    ) {
        etcdc::Error::Tls { reason, .. } => assert!(reason.contains("http endpoint"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tls_eight_threads_share_one_connection_without_mixups() {
    let conn = tls_connect(&tls_etcd(true).url, tls_config(true));
    let base = common::prefix("h2tlsthreads");
    std::thread::scope(|s| {
        for t in 0..8 {
            let (conn, base) = (&conn, &base);
            s.spawn(move || {
                for round in 0..200 {
                    let key = format!("{base}/t{t}/r{round}");
                    let value = format!("thread {t} round {round}");
                    put(conn, &key, value.as_bytes()).unwrap();
                    assert_eq!(get(conn, &key).unwrap(), Some(value.into_bytes()));
                }
            });
        }
    });
    assert!(conn.is_usable());
}

/// 1.5 MB each way over TLS, with small windows on one connection.
#[test]
fn tls_a_large_value_round_trips_through_flow_control() {
    let url = &tls_etcd(false).url;
    let value: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let small = Config {
        stream_window: 64 * 1024,
        connection_window: 65_535,
        ..tls_config(false)
    };
    let small = tls_connect(url, small);
    let conn = tls_connect(url, tls_config(false));
    let key = common::prefix("h2tlsbig");
    put(&conn, &key, &value).unwrap();
    assert!(get(&conn, &key).unwrap().unwrap() == value);
    assert!(get(&small, &key).unwrap().unwrap() == value);
    put(&small, &key, &value[1..]).unwrap();
    assert!(get(&conn, &key).unwrap().unwrap() == value[1..]);
    assert!(conn.is_usable() && small.is_usable());
}

/// A watch `recv` and a unary call over TLS, each cancelled from another
/// thread: both wake within 100 ms, and the connection goes on.
#[test]
fn tls_calls_are_cancelled_from_another_thread() {
    let conn = tls_connect(&tls_etcd(true).url, tls_config(true));
    let key = common::prefix("h2tlswatch");
    let mut watch = conn.stream(WATCH, &[], within(5000), None).unwrap();
    watch
        .send(&watch_request(key.as_bytes()), within(5000))
        .unwrap();
    assert!(!watch.recv(within(5000)).unwrap().unwrap().is_empty());
    put(&conn, &key, b"seen").unwrap();
    let event = watch.recv(within(5000)).unwrap().unwrap();
    assert_eq!(fields(&event, 11).len(), 1);
    let canceller = watch.canceller();
    let late = std::thread::scope(|s| {
        let t = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            canceller.cancel();
            Instant::now()
        });
        let e = watch.recv(None).unwrap_err();
        let woke = Instant::now();
        assert_eq!(e, CallError::Cancelled { sent: true });
        woke.duration_since(t.join().unwrap())
    });
    assert!(late < Duration::from_millis(100), "woke {late:?} late");
    drop(watch);
    assert_eq!(get(&conn, &key).unwrap().as_deref(), Some(&b"seen"[..]));
    assert!(conn.is_usable());
}

/// A TLS etcd stopped (SIGSTOP): a unary call returns `MaybeSent` at its
/// deadline, and one cancelled from another thread within 100 ms; after
/// SIGCONT the connection works again.
#[test]
fn tls_a_stopped_etcd_gives_the_deadline_and_cancel_wakes() {
    let etcd = common::Etcd::start_tls(
        common::Options::default(),
        common::tls::pki().server_tls(false),
    );
    let conn = tls_connect(&etcd.url, tls_config(false));
    put(&conn, "/h2tlsstop", b"before").unwrap();
    let pid = etcd_pid(etcd.port);
    // SAFETY: signals a process this test started.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let e = conn
        .unary(
            PUT,
            &put_request(b"/h2tlsstop", b"x"),
            within(300),
            &[],
            None,
        )
        .unwrap_err();
    let token = CancelToken::new();
    let late = std::thread::scope(|s| {
        let t = token.clone();
        let canceller = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            t.cancel();
            Instant::now()
        });
        let e = conn.unary(
            RANGE,
            &range_request(b"/h2tlsstop"),
            None,
            &[],
            Some(&token),
        );
        let woke = Instant::now();
        (e, woke.duration_since(canceller.join().unwrap()))
    });
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(e, CallError::MaybeSent(Reason::Timeout));
    assert_eq!(late.0, Err(CallError::Cancelled { sent: true }));
    assert!(
        late.1 < Duration::from_millis(100),
        "woke {:?} late",
        late.1
    );
    assert!(get(&conn, "/h2tlsstop").unwrap().is_some());
    assert!(conn.is_usable());
}

/// A TLS server that does not select h2 (`openssl s_server`, no ALPN): a
/// clear connect error, not sent.
#[test]
fn tls_a_server_without_h2_is_refused_clearly() {
    let p = common::tls::pki();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let openssl = std::env::var("OPENSSL_BIN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "openssl".into());
    /// Ends the server however the test ends.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = std::process::Command::new(openssl)
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&p.server_cert)
        .arg("-key")
        .arg(&p.server_key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Server)
        .expect("openssl s_server");
    let up = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(up.elapsed() < Duration::from_secs(10), "s_server not up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let e = H2Connection::connect(&format!("https://127.0.0.1:{port}"), tls_config(false));
    drop(server);
    match e {
        Err(CallError::NotSent(Reason::Connect(why))) => {
            assert!(why.contains("ALPN h2"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

// ---- against the scripted peer ----

/// A peer that shakes hands and then runs `then` with the connection.
fn peer(then: impl Fn(&mut Peer) + Send + Sync + 'static) -> H2Peer {
    H2Peer::start(move |mut p| {
        if p.handshake(&[]) {
            then(&mut p);
        }
    })
}

fn call(conn: &H2Connection, ms: u64) -> Result<Vec<u8>, CallError> {
    conn.unary(RANGE, b"req", within(ms), &[], None)
}

#[test]
fn the_peer_answers_a_call() {
    let p = peer(|p| {
        let mut data = 0;
        let id = p.read_request(&mut data).unwrap();
        p.note(format!("data {data}"));
        p.answer(id, b"answer");
        let _ = p.read_frame();
    });
    let conn = connect(&p.url);
    assert_eq!(call(&conn, 2000).unwrap(), b"answer");
    // The request: 5-byte prefix + "req".
    assert_eq!(p.notes(), ["data 8"]);
}

#[test]
fn garbage_instead_of_a_preface_fails_the_connect() {
    let p = H2Peer::start(|mut p| {
        p.send_raw(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let e = H2Connection::connect(&p.url, Config::default()).unwrap_err();
    assert!(matches!(e, CallError::NotSent(Reason::Connect(_))), "{e:?}");
    // And a server that says nothing at all: the connect timeout.
    let p = H2Peer::start(|mut p| {
        let _ = p.read_preface();
        std::thread::sleep(Duration::from_millis(1500));
    });
    let config = Config {
        connect_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let started = Instant::now();
    let e = H2Connection::connect(&p.url, config).unwrap_err();
    assert!(matches!(e, CallError::NotSent(Reason::Connect(_))), "{e:?}");
    assert!(started.elapsed() < Duration::from_millis(1000));
    // Nobody listening.
    let url = format!("http://127.0.0.1:{}", common::dead_port());
    let e = H2Connection::connect(&url, Config::default()).unwrap_err();
    assert!(matches!(e, CallError::NotSent(Reason::Connect(_))), "{e:?}");
}

#[test]
fn a_truncated_frame_then_close_is_maybe_sent() {
    let p = peer(|p| {
        let _ = p.read_request(&mut 0);
        p.send_raw(&[0, 0, 10, h2peer::HEADERS, 4, 0, 0]);
    });
    let conn = connect(&p.url);
    let e = call(&conn, 5000).unwrap_err();
    assert!(
        matches!(e, CallError::MaybeSent(Reason::Closed(_))),
        "{e:?}"
    );
    assert!(!conn.is_usable());
    // Later calls on it: not sent.
    assert!(matches!(call(&conn, 1000), Err(CallError::NotSent(_))));
}

#[test]
fn a_frame_over_max_frame_size_is_a_protocol_error_with_goaway() {
    let p = peer(|p| {
        let id = p.read_request(&mut 0).unwrap();
        p.send(
            h2peer::HEADERS,
            h2peer::END_HEADERS,
            id,
            &h2peer::response_head(),
        );
        p.send(h2peer::DATA, 0, id, &vec![0; 16_385]);
        if let Some(f) = p.read_until(h2peer::GOAWAY) {
            let code = u32::from_be_bytes(f.payload[4..8].try_into().unwrap());
            p.note(format!("goaway {code}"));
        }
    });
    let conn = connect(&p.url);
    let e = call(&conn, 5000).unwrap_err();
    assert!(
        matches!(e, CallError::MaybeSent(Reason::Protocol(_))),
        "{e:?}"
    );
    // FRAME_SIZE_ERROR.
    assert!(
        p.wait_note("goaway 6", Duration::from_secs(5)),
        "{:?}",
        p.notes()
    );
}

#[test]
fn headers_without_end_headers_then_close_or_another_frame() {
    let p = peer(|p| {
        let id = p.read_request(&mut 0).unwrap();
        p.send(h2peer::HEADERS, 0, id, &h2peer::response_head());
    });
    let conn = connect(&p.url);
    let e = call(&conn, 5000).unwrap_err();
    assert!(
        matches!(e, CallError::MaybeSent(Reason::Closed(_))),
        "{e:?}"
    );

    let p = peer(|p| {
        let id = p.read_request(&mut 0).unwrap();
        p.send(h2peer::HEADERS, 0, id, &h2peer::response_head());
        p.send(h2peer::DATA, 0, id, &[0, 0, 0, 0, 0]);
        let _ = p.read_frame();
    });
    let conn = connect(&p.url);
    let e = call(&conn, 5000).unwrap_err();
    assert!(
        matches!(e, CallError::MaybeSent(Reason::Protocol(_))),
        "{e:?}"
    );
}

#[test]
fn headers_with_continuations_and_trailers_only_answers_are_read() {
    let p = peer(|p| {
        // First call: the head in three pieces, then data and trailers.
        let id = p.read_request(&mut 0).unwrap();
        let head = h2peer::response_head();
        p.send(h2peer::HEADERS, 0, id, &head[..1]);
        p.send(h2peer::CONTINUATION, 0, id, &head[1..5]);
        p.send(h2peer::CONTINUATION, h2peer::END_HEADERS, id, &head[5..]);
        p.send(h2peer::DATA, 0, id, &[0, 0, 0, 0, 2, b'o', b'k']);
        p.send(
            h2peer::HEADERS,
            h2peer::END_HEADERS | h2peer::END_STREAM,
            id,
            &h2peer::trailers("0", ""),
        );
        // Second: trailers-only, with a percent-encoded message.
        let id = p.read_request(&mut 0).unwrap();
        let mut block = h2peer::response_head();
        block.extend_from_slice(&h2peer::trailers("5", "no such thing: %22x%22%0A"));
        p.send(
            h2peer::HEADERS,
            h2peer::END_HEADERS | h2peer::END_STREAM,
            id,
            &block,
        );
        let _ = p.read_frame();
    });
    let conn = connect(&p.url);
    assert_eq!(call(&conn, 5000).unwrap(), b"ok");
    assert_eq!(
        call(&conn, 5000),
        Err(CallError::Status(GrpcStatus {
            code: Code::NotFound,
            message: "no such thing: \"x\"\n".into()
        }))
    );
}

/// GOAWAY with last stream id 1 while calls 1 and 3 are in flight: 3 was
/// not processed (`NotSent`), 1 is still answered; no new call goes.
#[test]
fn goaway_below_an_in_flight_call_is_not_sent() {
    let p = peer(|p| {
        let first = p.read_request(&mut 0).unwrap();
        let second = p.read_request(&mut 0).unwrap();
        let (low, _high) = (first.min(second), first.max(second));
        p.goaway(low, 0, b"graceful");
        std::thread::sleep(Duration::from_millis(100));
        p.answer(low, b"low");
        std::thread::sleep(Duration::from_millis(300));
    });
    let conn = connect(&p.url);
    let results = std::thread::scope(|s| {
        let one = s.spawn(|| call(&conn, 5000));
        std::thread::sleep(Duration::from_millis(50));
        let two = s.spawn(|| call(&conn, 5000));
        [one.join().unwrap(), two.join().unwrap()]
    });
    let mut ok = 0;
    let mut not_sent = 0;
    for r in &results {
        match r {
            Ok(answer) if answer == b"low" => ok += 1,
            Err(CallError::NotSent(Reason::GoAway { code: 0, debug })) if debug == "graceful" => {
                not_sent += 1
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((ok, not_sent), (1, 1), "{results:?}");
    assert!(!conn.is_usable());
    assert!(matches!(
        call(&conn, 1000),
        Err(CallError::NotSent(Reason::GoAway { .. }))
    ));
}

#[test]
fn rst_stream_from_the_server_is_maybe_sent_or_refused() {
    let p = peer(|p| {
        let id = p.read_request(&mut 0).unwrap();
        p.rst(id, 2); // INTERNAL_ERROR
        let id = p.read_request(&mut 0).unwrap();
        p.rst(id, 7); // REFUSED_STREAM
        let id = p.read_request(&mut 0).unwrap();
        p.answer(id, b"fine");
        let _ = p.read_frame();
    });
    let conn = connect(&p.url);
    assert_eq!(
        call(&conn, 5000),
        Err(CallError::MaybeSent(Reason::Reset(2)))
    );
    assert_eq!(call(&conn, 5000), Err(CallError::NotSent(Reason::Reset(7))));
    assert_eq!(call(&conn, 5000).unwrap(), b"fine");
}

/// A server that never answers: the deadline, and the stream is reset
/// (CANCEL) so the server can stop working on it.
#[test]
fn a_silent_server_gives_the_deadline_and_gets_a_reset() {
    let p = peer(|p| {
        let id = p.read_request(&mut 0).unwrap();
        if let Some(f) = p.read_until(h2peer::RST_STREAM) {
            let code = u32::from_be_bytes(f.payload[..4].try_into().unwrap());
            p.note(format!("rst {} {code}", f.stream == id));
        }
    });
    let conn = connect(&p.url);
    let started = Instant::now();
    assert_eq!(call(&conn, 200), Err(CallError::MaybeSent(Reason::Timeout)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(195) && took < Duration::from_millis(500),
        "{took:?}"
    );
    assert!(
        p.wait_note("rst true 8", Duration::from_secs(5)),
        "{:?}",
        p.notes()
    );
}

/// A server that never opens its window: a large request waits for it,
/// and fails at its deadline, not later.
#[test]
fn no_window_update_fails_a_large_request_at_its_deadline() {
    let p = peer(|p| {
        let mut data = 0;
        // The request never ends: read what comes until the reset.
        while let Some(f) = p.read_frame() {
            match f.kind {
                h2peer::DATA => data += f.payload.len(),
                h2peer::RST_STREAM => break,
                _ => {}
            }
        }
        p.note(format!("data {data}"));
    });
    let conn = connect(&p.url);
    let big = vec![1u8; 300_000];
    let started = Instant::now();
    let e = conn.unary(PUT, &big, within(400), &[], None).unwrap_err();
    let took = started.elapsed();
    assert_eq!(e, CallError::MaybeSent(Reason::Timeout));
    assert!(
        took >= Duration::from_millis(395) && took < Duration::from_millis(700),
        "{took:?}"
    );
    // Exactly the default window went out.
    assert!(
        p.wait_note("data 65535", Duration::from_secs(5)),
        "{:?}",
        p.notes()
    );
}

/// MAX_CONCURRENT_STREAMS 1: a second call waits for the first's slot
/// (and fails `NotSent` when its deadline passes first).
#[test]
fn calls_wait_for_a_free_stream_slot() {
    let p = H2Peer::start(|mut p| {
        if !p.handshake(&[(3, 1)]) {
            return;
        }
        let id = p.read_request(&mut 0).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        p.answer(id, b"first");
        let id = p.read_request(&mut 0).unwrap();
        p.answer(id, b"second");
        let _ = p.read_frame();
    });
    let conn = connect(&p.url);
    std::thread::scope(|s| {
        let first = s.spawn(|| call(&conn, 5000));
        std::thread::sleep(Duration::from_millis(50));
        // No slot within 100 ms.
        assert_eq!(call(&conn, 100), Err(CallError::NotSent(Reason::Timeout)));
        // This one waits for the slot.
        let second = s.spawn(|| call(&conn, 5000));
        assert_eq!(first.join().unwrap().unwrap(), b"first");
        assert_eq!(second.join().unwrap().unwrap(), b"second");
    });
}

/// The server's PING is answered with the same payload, promptly, even
/// while no call is running.
#[test]
fn pings_from_the_server_are_answered() {
    let p = peer(|p| {
        std::thread::sleep(Duration::from_millis(50));
        p.send(h2peer::PING, 0, 0, b"pingpong");
        if let Some(f) = p.read_until(h2peer::PING) {
            p.note(format!(
                "ping {} {}",
                f.flags,
                String::from_utf8_lossy(&f.payload)
            ));
        }
    });
    let _conn = connect(&p.url);
    assert!(
        p.wait_note("ping 1 pingpong", Duration::from_secs(5)),
        "{:?}",
        p.notes()
    );
}

/// The server closing the connection while a call waits: `MaybeSent`.
#[test]
fn a_connection_closed_under_a_call_is_maybe_sent() {
    let p = peer(|p| {
        let _ = p.read_request(&mut 0);
        let _ = p.stream.shutdown(std::net::Shutdown::Both);
    });
    let conn = connect(&p.url);
    let e = call(&conn, 5000).unwrap_err();
    assert!(
        matches!(e, CallError::MaybeSent(Reason::Closed(_))),
        "{e:?}"
    );
    assert!(e.maybe_sent());
}

/// Keepalive: while a call is open and the server is silent, a PING goes
/// out after the interval; unanswered within the timeout, the connection
/// closes and the call fails `MaybeSent`.
#[test]
fn an_unanswered_keepalive_ping_closes_the_connection() {
    let p = peer(|p| {
        let _ = p.read_request(&mut 0);
        if let Some(f) = p.read_until(h2peer::PING) {
            p.note(format!("ping {}", f.flags));
        }
        // No answer; wait for the client to give up.
        let _ = p.read_until(0xff);
    });
    let config = Config {
        keepalive_interval: Some(Duration::from_secs(5)),
        keepalive_timeout: Duration::from_millis(500),
        ..Config::default()
    };
    let conn = H2Connection::connect(&p.url, config).unwrap();
    let started = Instant::now();
    let e = conn.unary(RANGE, b"x", None, &[], None).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&e, CallError::MaybeSent(Reason::Closed(m)) if m.contains("PING")),
        "{e:?}"
    );
    assert!(
        took >= Duration::from_millis(5400) && took < Duration::from_secs(7),
        "{took:?}"
    );
    assert_eq!(p.notes(), ["ping 0"]);
}

/// Sequential unary Range calls for 3 s against `ETCDC_H2_BENCH`
/// (`host:port` of an etcd with the key `bench/key`), printing calls per
/// second. `cargo test --release --test http2 -- --ignored --nocapture
/// bench`; pin etcd and this to different CPUs.
#[test]
#[ignore]
fn bench_sequential_range() {
    let Ok(addr) = std::env::var("ETCDC_H2_BENCH") else {
        eprintln!("set ETCDC_H2_BENCH=host:port");
        return;
    };
    let conn = connect(&format!("http://{addr}"));
    put(&conn, "bench/key", &[b'v'; 32]).unwrap();
    let request = range_request(b"bench/key");
    // ETCDC_H2_BENCH_NO_DEADLINE: no grpc-timeout (etcd then sets no timer).
    let no_deadline = std::env::var_os("ETCDC_H2_BENCH_NO_DEADLINE").is_some();
    let usage = |f: &mut dyn FnMut()| {
        // SAFETY: getrusage fills the struct.
        let cpu = || unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut u);
            let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
            us(u.ru_utime) + us(u.ru_stime)
        };
        let before = cpu();
        f();
        cpu() - before
    };
    for run in 0..3 {
        let mut calls = 0u64;
        let started = Instant::now();
        let cpu = usage(&mut || {
            while started.elapsed() < Duration::from_secs(3) {
                let deadline = if no_deadline { None } else { within(5000) };
                conn.unary(RANGE, &request, deadline, &[], None).unwrap();
                calls += 1;
            }
        });
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "run {run}: {:.0} Range/s, client CPU {:.1} us/call",
            calls as f64 / secs,
            cpu / calls as f64
        );
    }
}
