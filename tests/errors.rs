//! Failures: every etcd error code the keys API can produce, each as its own
//! [`Error`] variant with code, message, cause and index; the client's own
//! argument checks; and the client's transport failures (dead endpoint, silent
//! server, etcd without the v2 API, bad builder input).

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::prefix;
use etcdc::{Client, DeleteOptions, Error, EtcdError, Node, WriteOptions};

/// Asserts `$result` is `Err(Error::$variant)` carrying etcd code `$code` and
/// etcd's `$message`; returns the detail.
macro_rules! etcd_err {
    ($result:expr, $variant:ident, $code:expr, $message:expr) => {{
        match $result {
            Err(err @ Error::$variant(_)) => {
                let e: EtcdError = err.etcd().expect("etcd detail").clone();
                assert_eq!(e.code, $code, "{e}");
                assert_eq!(e.message, $message, "{e}");
                let shown = err.to_string();
                assert!(shown.contains(&$code.to_string()), "{shown}");
                e
            }
            other => panic!(
                "expected Error::{} ({}), got {:?}",
                stringify!($variant),
                $code,
                other
            ),
        }
    }};
}

fn value(c: &Client, key: &str) -> Option<String> {
    match c.get(key) {
        Ok(r) => r.node.value,
        Err(Error::KeyNotFound(_)) => None,
        Err(e) => panic!("get {key}: {e}"),
    }
}

fn delete_dir<'a>() -> DeleteOptions<'a> {
    DeleteOptions {
        dir: true,
        ..DeleteOptions::default()
    }
}

// --------------------------------------------------------- etcd's own codes

#[test]
fn e100_key_not_found() {
    let c = common::client();
    let p = prefix("e100");
    let last = c
        .set(&format!("{p}/exists"), "v")
        .unwrap()
        .node
        .modified_index;
    let k = format!("{p}/missing");
    let check = |e: EtcdError| {
        assert_eq!(e.cause, k, "cause is the key");
        assert!(e.index >= last, "index {} is etcd's current index", e.index);
    };

    check(etcd_err!(c.get(&k), KeyNotFound, 100, "Key not found"));
    check(etcd_err!(
        c.read(
            &k,
            &etcdc::ReadOptions {
                recursive: true,
                sorted: true,
                quorum: true
            }
        ),
        KeyNotFound,
        100,
        "Key not found"
    ));
    check(etcd_err!(
        c.delete(&k, &DeleteOptions::default()),
        KeyNotFound,
        100,
        "Key not found"
    ));
    check(etcd_err!(c.pop(&k), KeyNotFound, 100, "Key not found"));
    check(etcd_err!(
        c.refresh(&k, 10),
        KeyNotFound,
        100,
        "Key not found"
    ));
    check(etcd_err!(
        c.write(
            &k,
            "",
            &WriteOptions {
                refresh: true,
                ttl: Some(10),
                ..WriteOptions::default()
            }
        ),
        KeyNotFound,
        100,
        "Key not found"
    ));
    check(etcd_err!(
        c.write(
            &k,
            "v",
            &WriteOptions {
                prev_exist: Some(true),
                ..WriteOptions::default()
            }
        ),
        KeyNotFound,
        100,
        "Key not found"
    ));
    check(etcd_err!(
        c.test_and_set(&k, "v", "old", None),
        KeyNotFound,
        100,
        "Key not found"
    ));
    let gone = Node {
        key: k.clone(),
        value: Some("v".into()),
        created_index: last,
        modified_index: last,
        ..Node::default()
    };
    check(etcd_err!(
        c.update(&gone),
        KeyNotFound,
        100,
        "Key not found"
    ));
    assert_eq!(value(&c, &k), None, "no failed call created the key");
}

#[test]
fn e101_compare_failed() {
    let c = common::client();
    let k = format!("{}/k", prefix("e101"));
    let w = c.set(&k, "actual").unwrap();
    let mi = w.node.modified_index;
    let check = |e: &EtcdError| assert!(e.index >= mi, "{e}");

    let e = etcd_err!(
        c.write(
            &k,
            "x",
            &WriteOptions {
                prev_value: Some("wrong"),
                ..WriteOptions::default()
            }
        ),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, "[wrong != actual]");
    check(&e);

    let e = etcd_err!(
        c.write(
            &k,
            "x",
            &WriteOptions {
                prev_index: Some(mi + 1000),
                ..WriteOptions::default()
            }
        ),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, format!("[{} != {mi}]", mi + 1000));
    check(&e);

    // indexes are u64 end to end
    let e = etcd_err!(
        c.write(
            &k,
            "x",
            &WriteOptions {
                prev_index: Some(u64::MAX),
                ..WriteOptions::default()
            }
        ),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, format!("[{} != {mi}]", u64::MAX));

    let e = etcd_err!(
        c.write(
            &k,
            "x",
            &WriteOptions {
                prev_value: Some("wrong"),
                prev_index: Some(mi + 1),
                ..WriteOptions::default()
            }
        ),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, format!("[wrong != actual] [{} != {mi}]", mi + 1));

    let e = etcd_err!(
        c.test_and_set(&k, "x", "wrong", None),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, "[wrong != actual]");

    let e = etcd_err!(
        c.delete(
            &k,
            &DeleteOptions {
                prev_value: Some("wrong"),
                ..DeleteOptions::default()
            }
        ),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, "[wrong != actual]");

    let e = etcd_err!(
        c.delete(
            &k,
            &DeleteOptions {
                prev_index: Some(mi - 1),
                ..DeleteOptions::default()
            }
        ),
        CompareFailed,
        101,
        "Compare failed"
    );
    assert_eq!(e.cause, format!("[{} != {mi}]", mi - 1));
    check(&e);

    let g = c.get(&k).unwrap().node;
    assert_eq!(g.value.as_deref(), Some("actual"));
    assert_eq!(g.modified_index, mi, "no failed compare wrote anything");
}

#[test]
fn e102_not_a_file() {
    let c = common::client();
    let p = prefix("e102");
    let d = format!("{p}/d");
    let made = c.mkdir(&d, None).unwrap().node.modified_index;
    c.set(&format!("{d}/child"), "x").unwrap();
    let check = |e: EtcdError| {
        assert_eq!(e.cause, d);
        assert!(e.index >= made, "{e}");
    };
    // a value onto a directory
    check(etcd_err!(c.set(&d, "v"), NotFile, 102, "Not a file"));
    // a plain set of a directory over a directory
    check(etcd_err!(
        c.write(
            &d,
            "",
            &WriteOptions {
                dir: true,
                ..WriteOptions::default()
            }
        ),
        NotFile,
        102,
        "Not a file"
    ));
    // delete a directory without dir/recursive
    check(etcd_err!(
        c.delete(&d, &DeleteOptions::default()),
        NotFile,
        102,
        "Not a file"
    ));
    check(etcd_err!(c.pop(&d), NotFile, 102, "Not a file"));
    // compare-and-swap on a directory
    check(etcd_err!(
        c.test_and_set(&d, "v", "x", None),
        NotFile,
        102,
        "Not a file"
    ));
    let n = c.get(&d).unwrap().node;
    assert!(n.dir);
    assert_eq!(value(&c, &format!("{d}/child")).as_deref(), Some("x"));
}

#[test]
fn e104_not_a_directory() {
    let c = common::client();
    let p = prefix("e104");
    let v = format!("{p}/v");
    let made = c.set(&v, "1").unwrap().node.modified_index;
    let check = |e: EtcdError| {
        assert_eq!(e.cause, v, "cause is the value in the way");
        assert!(e.index >= made, "{e}");
    };
    check(etcd_err!(
        c.set(&format!("{v}/c"), "x"),
        NotDir,
        104,
        "Not a directory"
    ));
    check(etcd_err!(
        c.set(&format!("{v}/b/c"), "x"),
        NotDir,
        104,
        "Not a directory"
    ));
    check(etcd_err!(
        c.mkdir(&format!("{v}/sub"), None),
        NotDir,
        104,
        "Not a directory"
    ));
    // an in-order key under a value
    check(etcd_err!(
        c.write(
            &v,
            "x",
            &WriteOptions {
                append: true,
                ..WriteOptions::default()
            }
        ),
        NotDir,
        104,
        "Not a directory"
    ));
    // etcd answers a read below a value with 104 too, not 100
    check(etcd_err!(
        c.get(&format!("{v}/c")),
        NotDir,
        104,
        "Not a directory"
    ));
    assert_eq!(value(&c, &v).as_deref(), Some("1"));
}

#[test]
fn e105_node_exists() {
    let c = common::client();
    let p = prefix("e105");
    let k = format!("{p}/k");
    let d = format!("{p}/d");
    let made = c.set(&k, "v").unwrap().node.modified_index;
    c.mkdir(&d, None).unwrap();
    let create = WriteOptions {
        prev_exist: Some(false),
        ..WriteOptions::default()
    };
    let e = etcd_err!(
        c.write(&k, "other", &create),
        NodeExist,
        105,
        "Key already exists"
    );
    assert_eq!(e.cause, k);
    assert!(e.index >= made);
    let e = etcd_err!(c.mkdir(&k, None), NodeExist, 105, "Key already exists");
    assert_eq!(e.cause, k);
    let e = etcd_err!(c.mkdir(&d, Some(10)), NodeExist, 105, "Key already exists");
    assert_eq!(e.cause, d);
    let e = etcd_err!(
        c.write(&d, "x", &create),
        NodeExist,
        105,
        "Key already exists"
    );
    assert_eq!(e.cause, d);
    assert_eq!(value(&c, &k).as_deref(), Some("v"));
    assert_eq!(c.get(&d).unwrap().node.ttl, None, "failed mkdir set no TTL");
}

#[test]
fn e107_root_is_read_only() {
    let c = common::client();
    // make sure the index is past 0 so that `index` is checkable
    let made = c
        .set(&format!("{}/k", prefix("e107")), "v")
        .unwrap()
        .node
        .modified_index;
    let check = |e: EtcdError| {
        assert_eq!(e.cause, "/");
        assert!(e.index >= made, "{e}");
    };
    for root in ["/", ""] {
        check(etcd_err!(
            c.set(root, "v"),
            RootReadOnly,
            107,
            "Root is read only"
        ));
    }
    check(etcd_err!(
        c.write(
            "/",
            "",
            &WriteOptions {
                dir: true,
                ..WriteOptions::default()
            }
        ),
        RootReadOnly,
        107,
        "Root is read only"
    ));
    check(etcd_err!(
        c.mkdir("/", None),
        RootReadOnly,
        107,
        "Root is read only"
    ));
    check(etcd_err!(
        c.refresh("/", 10),
        RootReadOnly,
        107,
        "Root is read only"
    ));
    // never `recursive` here: a broken client would wipe the shared etcd
    check(etcd_err!(
        c.delete("/", &DeleteOptions::default()),
        RootReadOnly,
        107,
        "Root is read only"
    ));
    check(etcd_err!(
        c.delete("/", &delete_dir()),
        RootReadOnly,
        107,
        "Root is read only"
    ));
    assert!(c.get("/").unwrap().node.dir);
}

#[test]
fn e108_directory_not_empty() {
    let c = common::client();
    let d = format!("{}/d", prefix("e108"));
    let made = c
        .set(&format!("{d}/child"), "x")
        .unwrap()
        .node
        .modified_index;
    let e = etcd_err!(
        c.delete(&d, &delete_dir()),
        DirNotEmpty,
        108,
        "Directory not empty"
    );
    assert_eq!(e.cause, d);
    assert!(e.index >= made);
    assert_eq!(value(&c, &format!("{d}/child")).as_deref(), Some("x"));
}

/// etcd refuses an empty `prevValue` (it would otherwise mean "no compare").
/// This is a request-parsing error: etcd sends index 0 with it.
#[test]
fn e201_empty_prev_value_is_refused() {
    let c = common::client();
    let k = format!("{}/k", prefix("e201"));
    c.set(&k, "").unwrap();
    let msg = "PrevValue is Required in POST form";
    let e = etcd_err!(
        c.write(
            &k,
            "x",
            &WriteOptions {
                prev_value: Some(""),
                ..WriteOptions::default()
            }
        ),
        PrevValueRequired,
        201,
        msg
    );
    assert_eq!(e.cause, "\"prevValue\" cannot be empty");
    assert_eq!(e.index, 0);
    etcd_err!(
        c.test_and_set(&k, "x", "", None),
        PrevValueRequired,
        201,
        msg
    );
    etcd_err!(
        c.delete(
            &k,
            &DeleteOptions {
                prev_value: Some(""),
                ..DeleteOptions::default()
            }
        ),
        PrevValueRequired,
        201,
        msg
    );
    assert_eq!(value(&c, &k).as_deref(), Some(""));
}

// ------------------------------------------- codes the client makes unreachable

/// 202 (TTL not a number) and 203 (index not a number) cannot be sent: `ttl`
/// and `prev_index` are `u64`. 211 (value on refresh) and 212 (refresh
/// without TTL) are refused by the client itself, before sending, as
/// `InvalidArgument`; so are a directory with a value and an in-order POST
/// with a condition. Checked against a live etcd (nothing changed) and
/// against a dead port (nothing sent).
#[test]
fn client_refuses_bad_option_combinations_before_sending() {
    let c = common::client();
    let offline = Client::builder()
        .endpoints([format!("http://127.0.0.1:{}", common::dead_port())])
        .build()
        .unwrap();
    let k = format!("{}/k", prefix("invalid_opts"));
    c.write(
        &k,
        "v",
        &WriteOptions {
            ttl: Some(100),
            ..WriteOptions::default()
        },
    )
    .unwrap();
    let before = c.get(&k).unwrap().node;
    let cases: Vec<(&str, &str, WriteOptions)> = vec![
        (
            "refresh with a value (etcd 211)",
            "v2",
            WriteOptions {
                refresh: true,
                ttl: Some(10),
                ..WriteOptions::default()
            },
        ),
        (
            "refresh without ttl (etcd 212)",
            "",
            WriteOptions {
                refresh: true,
                ..WriteOptions::default()
            },
        ),
        (
            "dir with a value",
            "v2",
            WriteOptions {
                dir: true,
                ..WriteOptions::default()
            },
        ),
        (
            "append with prev_value",
            "v2",
            WriteOptions {
                append: true,
                prev_value: Some("v"),
                ..WriteOptions::default()
            },
        ),
        (
            "append with prev_index",
            "v2",
            WriteOptions {
                append: true,
                prev_index: Some(before.modified_index),
                ..WriteOptions::default()
            },
        ),
        (
            "append with prev_exist",
            "v2",
            WriteOptions {
                append: true,
                prev_exist: Some(true),
                ..WriteOptions::default()
            },
        ),
    ];
    for (what, v, opts) in &cases {
        for client in [&c, &offline] {
            match client.write(&k, v, opts) {
                Err(Error::InvalidArgument(msg)) => {
                    assert!(!msg.is_empty());
                    let shown = Error::InvalidArgument(msg).to_string();
                    assert!(shown.starts_with("invalid argument"), "{shown}");
                }
                other => panic!("{what}: expected InvalidArgument, got {other:?}"),
            }
        }
    }
    assert_eq!(c.get(&k).unwrap().node, before, "nothing was written");
}

// ------------------------------------------------- the error model, offline

#[test]
fn every_etcd_code_maps_to_its_own_variant() {
    let detail = |code| EtcdError {
        code,
        message: format!("m{code}"),
        cause: format!("c{code}"),
        index: 7,
    };
    macro_rules! check {
        ($($code:literal => $variant:ident),* $(,)?) => {$(
            let err = Error::from_etcd(detail($code));
            assert!(matches!(err, Error::$variant(_)), "{} -> {:?}", $code, err);
            assert_eq!(err.etcd(), Some(&detail($code)));
            assert_eq!(
                err.to_string(),
                format!("etcd error {}: m{} (c{}) [index 7]", $code, $code, $code)
            );
        )*};
    }
    check!(
        100 => KeyNotFound, 101 => CompareFailed, 102 => NotFile, 104 => NotDir,
        105 => NodeExist, 107 => RootReadOnly, 108 => DirNotEmpty,
        110 => Unauthorized, 200 => ValueRequired, 201 => PrevValueRequired,
        202 => TtlNaN, 203 => IndexNaN, 209 => InvalidField, 210 => InvalidForm,
        211 => RefreshValue, 212 => RefreshTtlRequired, 300 => RaftInternal,
        301 => LeaderElect, 400 => WatcherCleared, 401 => EventIndexCleared,
        // unknown codes keep their number
        103 => Etcd, 999 => Etcd,
    );
    assert_eq!(Error::InvalidArgument("x".into()).etcd(), None);
}

// ------------------------------------------------------- client failures

#[test]
fn dead_endpoint_is_a_connection_error_at_once() {
    let url = format!("http://127.0.0.1:{}", common::dead_port());
    let c = Client::builder().endpoints([url.as_str()]).build().unwrap();
    for attempt in 0..2 {
        let start = Instant::now();
        let result = if attempt == 0 {
            c.get("/k")
        } else {
            c.set("/k", "v")
        };
        match result {
            Err(Error::Connection { endpoint, reason }) => {
                assert_eq!(endpoint, url);
                assert!(!reason.is_empty());
            }
            other => panic!("expected Connection, got {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }
}

/// A server that accepts connections and never answers: each accepted socket
/// is kept open (and its request read) until the test process ends.
fn silent_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn serve_silently(listener: TcpListener, close_after_request: bool) {
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut buf);
            if close_after_request {
                drop(s);
            } else {
                held.push(s);
            }
        }
    });
}

#[test]
fn silent_server_times_out_after_read_timeout() {
    let (listener, url) = silent_server();
    serve_silently(listener, false);
    let timeout = Duration::from_millis(800);
    let c = Client::builder()
        .endpoints([url.as_str()])
        .read_timeout(timeout)
        .build()
        .unwrap();
    for attempt in 0..2 {
        let start = Instant::now();
        let result = if attempt == 0 {
            c.get("/k")
        } else {
            c.set("/k", "v")
        };
        let took = start.elapsed();
        match result {
            // A read that timed out is a timeout; a write that was sent and
            // never answered may have been applied: its outcome is unknown.
            Err(Error::Timeout { endpoint }) if attempt == 0 => assert_eq!(endpoint, url),
            Err(Error::Ambiguous {
                endpoint, reason, ..
            }) if attempt == 1 => {
                assert_eq!(endpoint, url);
                assert!(reason.contains("timed out"), "{reason}");
            }
            other => panic!("attempt {attempt}: got {other:?} after {took:?}"),
        }
        assert!(
            took >= timeout - Duration::from_millis(50) && took < timeout + Duration::from_secs(1),
            "timed out after {took:?} with a {timeout:?} timeout"
        );
    }
}

#[test]
fn server_closing_without_answer_is_a_connection_error() {
    let (listener, url) = silent_server();
    serve_silently(listener, true);
    let c = Client::builder()
        .endpoints([url.as_str()])
        .read_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let start = Instant::now();
    match c.get("/k") {
        Err(Error::Connection { endpoint, .. }) => assert_eq!(endpoint, url),
        other => panic!("expected Connection, got {other:?}"),
    }
    match c.set("/k", "v") {
        Err(Error::Ambiguous { endpoint, .. }) => assert_eq!(endpoint, url),
        other => panic!("a write whose connection closed after sending: got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn etcd_without_v2_is_v2_not_enabled() {
    let etcd = common::Etcd::start_with(common::Options { enable_v2: false });
    let c = etcd.client();
    let check = |r: etcdc::Result<etcdc::Response>| match r {
        Err(err @ Error::V2NotEnabled { .. }) => {
            let Error::V2NotEnabled { endpoint } = &err else {
                unreachable!()
            };
            assert_eq!(endpoint, &etcd.url);
            assert!(err.etcd().is_none());
            assert!(err.to_string().contains("v2 API not enabled"), "{err}");
        }
        other => panic!("expected V2NotEnabled, got {other:?}"),
    };
    check(c.get("/k"));
    check(c.get("/"));
    check(c.set("/k", "v"));
    check(c.write(
        "/q",
        "v",
        &WriteOptions {
            append: true,
            ..WriteOptions::default()
        },
    ));
    check(c.delete("/k", &DeleteOptions::default()));
}

#[test]
fn bad_builder_input_is_invalid_argument() {
    let bad_endpoints = [
        "127.0.0.1:2379",
        "localhost",
        "ftp://127.0.0.1:2379",
        "http://",
        "http://127.0.0.1:2379/v2",
        "http://127.0.0.1:2379?x=1",
        "http://127.0.0.1:2379#f",
        "http://user@127.0.0.1:2379",
        "http://127.0.0.1 :2379",
        "http://:2379",
        "http://[::1",
        "http://a:1:2",
        "",
    ];
    for e in bad_endpoints {
        match Client::builder().endpoints([e]).build() {
            Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
            other => panic!("endpoint {e:?}: expected InvalidArgument, got {other:?}"),
        }
    }
    // one bad endpoint among good ones
    assert!(matches!(
        Client::builder()
            .endpoints(["http://127.0.0.1:1", "nope"])
            .build(),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Client::builder().host("a b").build(),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Client::builder().protocol("ftp").build(),
        Err(Error::InvalidArgument(_))
    ));
    for (what, b) in [
        (
            "zero read timeout",
            Client::builder().read_timeout(Duration::ZERO),
        ),
        (
            "zero connect timeout",
            Client::builder().connect_timeout(Duration::ZERO),
        ),
        ("prefix without /", Client::builder().version_prefix("v2")),
        ("prefix with ?", Client::builder().version_prefix("/v2?x=1")),
        ("prefix with #", Client::builder().version_prefix("/v2#x")),
        ("empty prefix", Client::builder().version_prefix("")),
    ] {
        match b.build() {
            Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
            other => panic!("{what}: expected InvalidArgument, got {other:?}"),
        }
    }
    // IPv6 literals are bracketed
    let c = Client::builder().host("::1").port(2379).build().unwrap();
    assert_eq!(c.endpoints(), ["http://[::1]:2379"]);
}

/// An endpoint whose port is not a port number builds, and every request then
/// fails with a misleading "Connection refused" (to another port).
#[test]
fn endpoint_with_a_bad_port_is_invalid_argument() {
    for e in [
        "http://127.0.0.1:notaport",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:",
    ] {
        match Client::builder().endpoints([e]).build() {
            Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
            other => panic!("endpoint {e:?}: expected InvalidArgument, got {other:?}"),
        }
    }
}

#[test]
fn building_a_client_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let c = Client::builder()
        .endpoints([url.as_str()])
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("building the client connected: {other:?}"),
    }
    // a client for a port nobody listens on builds too
    Client::builder()
        .endpoints([format!("http://127.0.0.1:{}", common::dead_port())])
        .build()
        .unwrap();
    // the first request is what connects
    assert!(matches!(c.get("/k"), Err(Error::Timeout { .. })));
    assert!(listener.accept().is_ok(), "the request did connect");
}

// ------------------------------------- found as bugs, fixed, kept as tests

/// etcd reads `prevIndex=0` as "no prevIndex": a write with
/// `prev_index: Some(0)` is an unconditional set instead of a compare that
/// can never succeed (no node has modified index 0).
#[test]
fn prev_index_zero_is_not_an_unconditional_write() {
    let c = common::client();
    let k = format!("{}/k", prefix("prev_index_zero"));
    c.set(&k, "v").unwrap();
    let w = c.write(
        &k,
        "overwritten",
        &WriteOptions {
            prev_index: Some(0),
            ..WriteOptions::default()
        },
    );
    assert!(
        matches!(
            w,
            Err(Error::CompareFailed(_)) | Err(Error::InvalidArgument(_))
        ),
        "write with prev_index 0: {w:?}"
    );
    let d = c.delete(
        &k,
        &DeleteOptions {
            prev_index: Some(0),
            ..DeleteOptions::default()
        },
    );
    assert!(
        matches!(
            d,
            Err(Error::CompareFailed(_)) | Err(Error::InvalidArgument(_))
        ),
        "delete with prev_index 0: {d:?}"
    );
    assert_eq!(value(&c, &k).as_deref(), Some("v"));
}

/// etcd computes the expiry as `now + ttl * 1s` in a signed 64-bit
/// nanosecond count: a TTL above ~292 years overflows, and the key is
/// silently made permanent or removed at once.
#[test]
fn huge_ttl_is_refused() {
    let c = common::client();
    let k = format!("{}/k", prefix("huge_ttl"));
    // The longest accepted TTL is really kept by etcd (one longer would reach
    // past 2262, etcd's last representable expiry, and be silently dropped).
    let kept = c
        .write(
            &k,
            "v",
            &WriteOptions {
                ttl: Some(etcdc::MAX_TTL),
                ..WriteOptions::default()
            },
        )
        .unwrap()
        .node;
    assert!(kept.ttl.is_some() && kept.expiration.is_some(), "{kept:?}");
    for ttl in [etcdc::MAX_TTL + 1, 7_427_806_490, 10_000_000_000, u64::MAX] {
        let w = c.write(
            &k,
            "v",
            &WriteOptions {
                ttl: Some(ttl),
                ..WriteOptions::default()
            },
        );
        assert!(
            matches!(w, Err(Error::InvalidArgument(_))),
            "ttl {ttl}: {w:?}"
        );
    }
}

#[test]
fn append_with_refresh_is_refused_and_creates_nothing() {
    let c = common::client();
    let dir = prefix("append_refresh");
    c.mkdir(&dir, None).unwrap();
    let opts = WriteOptions {
        append: true,
        refresh: true,
        ttl: Some(10),
        ..WriteOptions::default()
    };
    assert!(matches!(
        c.write(&dir, "", &opts),
        Err(Error::InvalidArgument(_))
    ));
    assert!(c.get(&dir).unwrap().node.nodes.is_empty());
}

#[test]
fn a_version_prefix_that_is_not_a_clean_path_is_refused() {
    for prefix in [
        "/v2/../v3",
        "/./v2",
        "//v2",
        "/v2//x",
        "v2",
        "/v2?x",
        "/v 2",
        "/v2%2F",
    ] {
        match Client::builder().version_prefix(prefix).build() {
            Err(Error::InvalidArgument(_)) => {}
            other => panic!("prefix {prefix:?}: expected InvalidArgument, got {other:?}"),
        }
    }
    for prefix in ["/v2", "/v2/", "/proxy/v2"] {
        assert!(
            Client::builder().version_prefix(prefix).build().is_ok(),
            "{prefix}"
        );
    }
}
