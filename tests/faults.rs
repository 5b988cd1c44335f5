//! Fault injection: a server that misbehaves on demand (`common::fault`),
//! in front of the Rust API, the C API and a watcher.
//!
//! For each fault: the exact error the client returns, how long it takes
//! (bounded by the client's timeout), memory bounded, no crash, and the next
//! request on the same client works. Every measured time is printed as
//! `fault-timing <what>: <duration> -> <outcome>` (see them with
//! `-- --nocapture`). No etcd is needed.
//!
//! The expected errors follow from the transport's rules:
//! - an answer that is well-formed HTTP but not a valid etcd answer (bad
//!   JSON, a bad index header) is [`Error::Protocol`], for reads and writes
//!   alike: etcd answered;
//! - a connection that breaks after the request was sent (cut, reset, a
//!   body shorter than announced) is [`Error::Connection`] for a read, and
//!   [`Error::Ambiguous`] for a write (it may have been applied); a timeout
//!   is [`Error::Timeout`] for a read and [`Error::Ambiguous`] for a write;
//! - the client's read timeout covers the whole request, body included and
//!   all attempts together: a server that hangs or drips ends it by then;
//! - a body over `max_response_bytes` is [`Error::ResponseTooLarge`] as soon
//!   as the limit is passed, whatever the server announced;
//! - a 301 is never followed ([`Error::Redirect`]); a 307 to the same path on
//!   another host is followed when `allow_redirect` is on (the default);
//! - a plain 404 is [`Error::V2NotEnabled`]; another status without an etcd
//!   error body is [`Error::HttpStatus`]; an etcd error body with a
//!   code this version does not know is [`Error::Etcd`] with that code;
//! - a watcher retries a broken connection (up to 4 times in a row, with a
//!   backoff) and reports anything else at once; a hang ends with its own
//!   timeout, [`Error::WatchTimeout`], and the poll goes on: the next call
//!   waits on it, sending nothing new; a server slower than the watcher's
//!   timeouts (10 ms, 0) still gets its answer delivered, over one
//!   connection.
//!
//! Four of these found bugs, since fixed: a redirect hop or the cluster-id
//! check before a first write restarting the read timeout, that check's
//! failure reported as an ambiguous write, and a watch that polled again
//! without pause after each answer without an event.

mod common;

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::{Duration, Instant};

use common::fault::{self, Fault, FaultServer};
use etcdc::ffi::client::{
    etcdc_client, etcdc_client_free, etcdc_client_new, etcdc_client_options,
    etcdc_client_options_init, ETCDC_CLIENT_OPTIONS_VERSION,
};
use etcdc::ffi::error::etcdc_error_last;
use etcdc::ffi::etcdc_status::{self, *};
use etcdc::ffi::keys::{etcdc_read, etcdc_write};
use etcdc::ffi::node::{
    etcdc_node_key, etcdc_node_value, etcdc_response, etcdc_response_free, etcdc_response_node,
};
use etcdc::ffi::watch::{etcdc_watcher, etcdc_watcher_free, etcdc_watcher_new, etcdc_watcher_next};
use etcdc::{Action, Client, Error, Response, WatchOptions, Watcher};

/// The clients' read timeout.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How far past its timeout a request that hangs may end.
const SLACK: Duration = Duration::from_millis(300);
/// How long a fault that needs no waiting may take: well under the timeout,
/// so the client did not wait for it (with room for a loaded machine).
const QUICK: Duration = Duration::from_millis(700);
/// The clients' `max_response_bytes`.
const LIMIT: u64 = 1 << 20;
/// The huge faults' size.
const HUGE: u64 = 100 << 20;

fn client_for(urls: &[&str]) -> Client {
    Client::builder()
        .endpoints(urls.iter().copied())
        .read_timeout(TIMEOUT)
        .max_response_bytes(LIMIT)
        .build()
        .unwrap()
}

fn setup() -> (FaultServer, Client) {
    let server = FaultServer::start();
    let client = client_for(&[&server.url]);
    (server, client)
}

/// Runs `op`, printing how long it took and what it returned.
fn timed<T: std::fmt::Debug>(label: &str, op: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = op();
    let took = start.elapsed();
    eprintln!("fault-timing {label}: {took:?} -> {out:?}");
    (out, took)
}

/// How long a fault may keep the client.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// No waiting: well under the timeout.
    Quick,
    /// Until this timeout, not much longer.
    Timeout(Duration),
}

impl Bound {
    fn check(self, label: &str, took: Duration) {
        match self {
            Bound::Quick => assert!(took < QUICK, "{label}: took {took:?}"),
            Bound::Timeout(t) => assert!(
                took + Duration::from_millis(20) >= t && took < t + SLACK,
                "{label}: took {took:?}, timeout {t:?}"
            ),
        }
    }
}

/// The answer to a request that got [`Fault::Ok`].
fn assert_ok(result: &etcdc::Result<Response>, key: &str) {
    let response = result
        .as_ref()
        .unwrap_or_else(|e| panic!("expected the server's valid answer for {key}, got {e:?}"));
    assert_eq!(response.node.key, key);
    assert_eq!(response.node.value.as_deref(), Some(fault::OK_VALUE));
    assert_eq!(response.node.modified_index, fault::INDEX);
    assert_eq!(response.headers.etcd_index, fault::INDEX);
    assert_eq!(
        response.headers.cluster_id.as_deref(),
        Some(fault::CLUSTER_ID)
    );
}

/// The next request on the same client gets its own, valid answer.
fn assert_next_works(server: &FaultServer, client: &Client) {
    assert_eq!(server.queued(), 0, "a queued fault was not used");
    let result = client.get("/next");
    assert_ok(&result, "/next");
}

type Check<'a> = &'a dyn Fn(&Error) -> bool;

/// One fault through `get` and `set`: each gets `fault` as its answer and
/// must fail as `read` / `write` say, within `bound`; the request after each
/// must work. Returns the server, for more checks.
fn case(name: &str, fault: Fault, bound: Bound, read: Check, write: Check) -> FaultServer {
    let (server, client) = setup();
    for (op, expected) in [("get", read), ("set", write)] {
        server.next(fault.clone());
        let label = format!("rust {name} {op}");
        let (result, took) = timed(&label, || match op {
            "get" => client.get("/k"),
            _ => client.set("/k", "v"),
        });
        match &result {
            Err(e) if expected(e) => {}
            other => panic!("{label}: unexpected {other:?}"),
        }
        bound.check(&label, took);
        assert_next_works(&server, &client);
    }
    server
}

fn protocol(needle: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Protocol(m) if m.contains(needle))
}

fn connection(e: &Error) -> bool {
    matches!(e, Error::Connection { .. })
}

fn timeout(e: &Error) -> bool {
    matches!(e, Error::Timeout { .. })
}

fn ambiguous(needle: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Ambiguous { reason, .. } if reason.contains(needle))
}

fn too_large(e: &Error) -> bool {
    matches!(e, Error::ResponseTooLarge { limit } if *limit == LIMIT)
}

// ---------------------------------------------------------------------------
// The Rust API: `get` and `set`.
// ---------------------------------------------------------------------------

#[test]
fn garbage_body_is_a_protocol_error() {
    let server = case(
        "garbage",
        Fault::Garbage,
        Bound::Quick,
        &protocol("bad keys response"),
        &protocol("bad keys response"),
    );
    // A well-formed HTTP answer: the connection is reused throughout.
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_response_that_is_not_http_is_a_protocol_error() {
    case(
        "not-http",
        Fault::GarbageResponse,
        Bound::Quick,
        &protocol("not an HTTP response"),
        &ambiguous("not an HTTP response"),
    );
}

#[test]
fn truncated_json_is_a_protocol_error() {
    let server = case(
        "truncated-json",
        Fault::TruncatedJson,
        Bound::Quick,
        &protocol("EOF while parsing"),
        &protocol("EOF while parsing"),
    );
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_body_shorter_than_its_content_length_is_a_broken_connection() {
    case(
        "content-length-too-long",
        Fault::ContentLengthTooLong,
        Bound::Quick,
        &connection,
        &ambiguous("in the middle of the answer"),
    );
}

#[test]
fn a_body_longer_than_its_content_length_leaves_no_stray_bytes() {
    // The client reads the 50 bytes announced (not JSON yet); the rest must
    // not be taken for the start of the next answer on that connection.
    let server = case(
        "content-length-too-short",
        Fault::ContentLengthTooShort,
        Bound::Quick,
        &protocol("EOF while parsing"),
        &protocol("EOF while parsing"),
    );
    let requests = server.requests();
    for pair in requests.windows(2) {
        if pair[0].target.starts_with("/v2/keys/k") {
            assert_ne!(
                pair[0].connection, pair[1].connection,
                "a connection with stray bytes was reused"
            );
        }
    }
}

#[test]
fn a_chunked_body_cut_off_is_a_broken_connection() {
    case(
        "chunked-cut-off",
        Fault::ChunkedCutOff,
        Bound::Quick,
        &connection,
        &ambiguous("in the middle of the answer"),
    );
}

#[test]
fn a_reset_in_the_middle_of_the_body_is_a_broken_connection() {
    case(
        "reset-mid-body",
        Fault::ResetMidBody,
        Bound::Quick,
        &connection,
        &ambiguous(""),
    );
}

#[test]
fn a_hang_before_the_headers_ends_at_the_timeout() {
    let server = case(
        "hang-before-headers",
        Fault::HangBeforeHeaders,
        Bound::Timeout(TIMEOUT),
        &timeout,
        &ambiguous("timed out"),
    );
    // The write was sent once, not again.
    let puts = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 1);
}

#[test]
fn a_hang_in_the_middle_of_the_body_ends_at_the_timeout() {
    case(
        "hang-mid-body",
        Fault::HangMidBody,
        Bound::Timeout(TIMEOUT),
        &timeout,
        &ambiguous("timed out"),
    );
}

#[test]
fn a_slow_drip_of_the_body_ends_at_the_timeout() {
    // The timeout covers the whole body, not each read: a byte every 100 ms
    // would otherwise keep the request alive for 9 s.
    case(
        "slow-drip-body",
        Fault::SlowDrip,
        Bound::Timeout(TIMEOUT),
        &timeout,
        &ambiguous("timed out"),
    );
}

#[test]
fn a_slow_drip_of_the_head_ends_at_the_timeout() {
    case(
        "slow-drip-head",
        Fault::SlowDripHead,
        Bound::Timeout(TIMEOUT),
        &timeout,
        &ambiguous("timed out"),
    );
}

/// Kilobytes of a `/proc/self/status` field (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Runs `f` and returns how far the process's peak resident memory rose
/// above its resident memory before (both in bytes). The peak is reset
/// first when the kernel allows it (`clear_refs`); otherwise the rise is
/// measured from the earlier peak (a weaker check).
fn peak_rise(f: impl FnOnce()) -> u64 {
    // One measure at a time: a reset by another would hide this one's peak.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = if reset {
        status_kib("VmRSS")
    } else {
        status_kib("VmHWM")
    };
    f();
    status_kib("VmHWM").saturating_sub(before) * 1024
}

/// One fault through [`case`] (bound: quick), measuring what it costs: the
/// rise of this process's peak memory and how many bytes the server got out
/// before the client stopped reading. Prints both.
fn memory_case(name: &str, fault: Fault, read: Check, write: Check) -> (u64, u64) {
    let mut sent = 0;
    let rise = peak_rise(|| {
        let server = case(name, fault, Bound::Quick, read, write);
        sent = server.huge_sent();
    });
    eprintln!(
        "fault-memory {name}: peak rise {} KiB, server sent {} KiB",
        rise / 1024,
        sent / 1024
    );
    (rise, sent)
}

#[test]
fn a_100_mb_body_is_refused_at_the_limit_in_bounded_memory() {
    let (rise, sent) = memory_case("huge-100MB", Fault::Huge(HUGE), &too_large, &too_large);
    assert!(rise < 20 << 20, "peak memory rose by {rise} bytes");
    // The client stopped reading at the limit: what the server got out is
    // what the socket buffers hold, not the 100 MB (twice).
    assert!(sent < HUGE / 2, "the server sent {sent} bytes");
}

#[test]
fn a_100_mb_chunked_body_is_refused_at_the_limit_in_bounded_memory() {
    let (rise, sent) = memory_case(
        "huge-chunked-100MB",
        Fault::HugeChunked(HUGE),
        &too_large,
        &too_large,
    );
    assert!(rise < 20 << 20, "peak memory rose by {rise} bytes");
    assert!(sent < HUGE / 2, "the server sent {sent} bytes");
}

#[test]
fn a_head_that_never_ends_is_refused_in_bounded_memory() {
    let (rise, sent) = memory_case(
        "huge-headers",
        Fault::HugeHeaders,
        &protocol("response head over"),
        &ambiguous("response head over"),
    );
    assert!(rise < 20 << 20, "peak memory rose by {rise} bytes");
    assert!(sent < 50 << 20, "the server sent {sent} bytes");
}

#[test]
fn a_301_to_another_key_is_not_followed() {
    let server = case(
        "redirect-301",
        Fault::Redirect301ToOtherKey,
        Bound::Quick,
        &|e| {
            matches!(e, Error::Redirect { status: 301, location }
                if location.ends_with(&format!("/v2/keys{}", fault::OTHER_KEY)))
        },
        &|e| matches!(e, Error::Redirect { status: 301, .. }),
    );
    // Nothing was sent to the other key.
    assert!(server
        .requests()
        .iter()
        .all(|r| !r.target.contains(fault::OTHER_KEY)));
}

fn client_without_redirects(url: &str) -> Client {
    Client::builder()
        .endpoints([url])
        .read_timeout(TIMEOUT)
        .max_response_bytes(LIMIT)
        .allow_redirect(false)
        .build()
        .unwrap()
}

#[test]
fn a_307_to_another_host_is_followed() {
    let (server, client) = setup();
    let other = FaultServer::start();
    for (op, method) in [("get", "GET"), ("set", "PUT")] {
        server.next(Fault::Redirect307ToOtherHost(other.url.clone()));
        let label = format!("rust redirect-307-followed {op}");
        let (result, took) = timed(&label, || match op {
            "get" => client.get("/k"),
            _ => client.set("/k", "v"),
        });
        assert_ok(&result, "/k");
        Bound::Quick.check(&label, took);
        let last = other
            .requests()
            .pop()
            .expect("the other host got the request");
        assert_eq!(
            (last.method.as_str(), last.target.as_str()),
            (method, "/v2/keys/k")
        );
        if method == "PUT" {
            assert_eq!(last.body, "value=v");
        }
        assert_next_works(&server, &client);
    }
    // Each request reached the other host once.
    assert_eq!(other.requests().len(), 2);
}

#[test]
fn a_307_is_not_followed_without_allow_redirect() {
    let server = FaultServer::start();
    let other = FaultServer::start();
    let client = client_without_redirects(&server.url);
    for op in ["get", "set"] {
        server.next(Fault::Redirect307ToOtherHost(other.url.clone()));
        let label = format!("rust redirect-307-refused {op}");
        let (result, took) = timed(&label, || match op {
            "get" => client.get("/k"),
            _ => client.set("/k", "v"),
        });
        let expected = format!("{}/v2/keys/k", other.url);
        match &result {
            Err(Error::Redirect {
                status: 307,
                location,
            }) if *location == expected => {}
            other => panic!("{label}: unexpected {other:?}"),
        }
        Bound::Quick.check(&label, took);
        assert_next_works(&server, &client);
    }
    assert!(other.requests().is_empty());
}

/// With credentials, a 307 is followed only to a member the client knows:
/// the password must not go to whatever host a redirect names.
#[test]
fn with_credentials_a_307_is_followed_only_to_a_known_member() {
    let server = FaultServer::start();
    let stranger = FaultServer::start();
    let member = FaultServer::start();
    let client = Client::builder()
        .endpoints([server.url.as_str(), member.url.as_str()])
        .read_timeout(TIMEOUT)
        .basic_auth("root", "s3cret")
        .build()
        .unwrap();
    server.next(Fault::Redirect307ToOtherHost(stranger.url.clone()));
    let result = client.get("/k");
    match &result {
        Err(Error::Redirect {
            status: 307,
            location,
        }) if location.starts_with(&stranger.url) => {}
        other => panic!("a 307 to an unknown host with credentials: {other:?}"),
    }
    assert!(stranger.requests().is_empty(), "the stranger got a request");
    server.next(Fault::Redirect307ToOtherHost(member.url.clone()));
    assert_ok(&client.get("/k"), "/k");
    assert_eq!(
        member.requests().len(),
        1,
        "the known member got the request"
    );
    assert_next_works(&server, &client);
}

#[test]
fn a_307_loop_between_two_hosts_ends() {
    let (a, client) = setup();
    let b = FaultServer::start();
    a.set_default(Fault::Redirect307ToOtherHost(b.url.clone()));
    b.set_default(Fault::Redirect307ToOtherHost(a.url.clone()));
    let (result, took) = timed("rust redirect-307-loop get", || client.get("/k"));
    assert!(
        matches!(result, Err(Error::Redirect { status: 307, .. })),
        "{result:?}"
    );
    Bound::Quick.check("redirect loop", took);
    // The first request and 3 hops.
    assert_eq!(a.requests().len() + b.requests().len(), 4);
    a.set_default(Fault::Ok);
    assert_next_works(&a, &client);
}

#[test]
fn a_redirect_does_not_stretch_the_timeout() {
    let (server, client) = setup();
    let other = FaultServer::start();
    other.set_default(Fault::HangBeforeHeaders);
    server.next(Fault::Delay(
        Duration::from_millis(700),
        Box::new(Fault::Redirect307ToOtherHost(other.url.clone())),
    ));
    let (result, took) = timed("rust slow-redirect-then-hang get", || client.get("/k"));
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    Bound::Timeout(TIMEOUT).check("slow redirect then hang", took);
}

#[test]
fn a_plain_404_is_a_server_without_the_v2_api() {
    let v2_not_enabled = |e: &Error| matches!(e, Error::V2NotEnabled { endpoint } if endpoint.starts_with("http://127.0.0.1:"));
    case(
        "plain-404",
        Fault::Plain404,
        Bound::Quick,
        &v2_not_enabled,
        &v2_not_enabled,
    );
}

#[test]
fn a_500_is_an_unexpected_status() {
    let status_500 = |e: &Error| matches!(e, Error::HttpStatus { status: 500, body } if body.contains("internal server error"));
    // To a write, etcd's 5xx means it could not complete it: outcome unknown.
    let ambiguous_500 = |e: &Error| matches!(e, Error::Ambiguous { reason, .. } if reason.contains("500") && reason.contains("internal server error"));
    case(
        "status-500",
        Fault::Status500,
        Bound::Quick,
        &status_500,
        &ambiguous_500,
    );
}

#[test]
fn a_503_is_an_unexpected_status() {
    let status_503 = |e: &Error| matches!(e, Error::HttpStatus { status: 503, body } if body.contains("service unavailable"));
    let ambiguous_503 = |e: &Error| matches!(e, Error::Ambiguous { reason, .. } if reason.contains("503") && reason.contains("service unavailable"));
    case(
        "status-503",
        Fault::Status503,
        Bound::Quick,
        &status_503,
        &ambiguous_503,
    );
}

fn unknown_code(e: &Error) -> bool {
    matches!(e, Error::Etcd(d)
        if d.code == fault::UNKNOWN_CODE
            && d.message == "A code from the future"
            && d.cause == "/k"
            && d.index == fault::UNKNOWN_CODE_INDEX)
}

#[test]
fn an_unknown_error_code_is_an_etcd_error_with_that_code() {
    case(
        "unknown-error-code",
        Fault::UnknownErrorCode,
        Bound::Quick,
        &unknown_code,
        &unknown_code,
    );
}

#[test]
fn a_non_numeric_index_header_is_a_protocol_error() {
    let bad = |e: &Error| matches!(e, Error::Protocol(m) if m.contains("X-Etcd-Index") && m.contains("abc"));
    let server = case(
        "bad-index-header",
        Fault::BadIndexHeader("abc"),
        Bound::Quick,
        &bad,
        &bad,
    );
    assert_eq!(server.accepted(), 1);
}

#[test]
fn an_index_header_over_2_to_the_63_is_a_protocol_error() {
    let huge = |e: &Error| matches!(e, Error::Protocol(m) if m.contains("X-Etcd-Index") && m.contains(fault::HUGE_INDEX));
    case(
        "huge-index-header",
        Fault::HugeIndexHeader(fault::HUGE_INDEX),
        Bound::Quick,
        &huge,
        &huge,
    );
}

#[test]
fn index_headers_up_to_2_to_the_64_are_indexes() {
    // etcd's indexes are uint64: 2^63 and more are valid (and fit the C
    // API's uint64_t); 2^64 is not.
    let (server, client) = setup();
    for (value, expected) in [
        ("9223372036854775808", Some(1u64 << 63)),
        ("18446744073709551615", Some(u64::MAX)),
        ("18446744073709551616", None),
    ] {
        server.next(Fault::HugeIndexHeader(value));
        let (result, took) = timed(&format!("rust index-header {value} get"), || {
            client.get("/k")
        });
        match (expected, &result) {
            (Some(index), Ok(r)) => assert_eq!(r.headers.etcd_index, index),
            (None, Err(Error::Protocol(m))) if m.contains(value) => {}
            other => panic!("{value}: unexpected {other:?}"),
        }
        Bound::Quick.check(value, took);
        assert_next_works(&server, &client);
    }
}

// ---------------------------------------------------------------------------
// Two members: the failover rule under faults.
// ---------------------------------------------------------------------------

#[test]
fn a_read_fails_over_from_a_broken_member_a_write_does_not() {
    let ambiguous_any = ambiguous("");
    let status_503 =
        |e: &Error| matches!(e, Error::Ambiguous { reason, .. } if reason.contains("503"));
    let cases: [(&str, Fault, Check); 4] = [
        ("reset-mid-body", Fault::ResetMidBody, &ambiguous_any),
        (
            "content-length-too-long",
            Fault::ContentLengthTooLong,
            &ambiguous_any,
        ),
        ("not-http", Fault::GarbageResponse, &ambiguous_any),
        ("status-503", Fault::Status503, &status_503),
    ];
    for (name, fault, write) in cases {
        let (a, b) = (FaultServer::start(), FaultServer::start());
        let reader = client_for(&[&a.url, &b.url]);
        a.next(fault.clone());
        let label = format!("rust failover {name} get");
        let (result, took) = timed(&label, || reader.get("/k"));
        assert_ok(&result, "/k");
        Bound::Quick.check(&label, took);
        assert_eq!(b.requests().len(), 1, "{label}");

        let writer = client_for(&[&a.url, &b.url]);
        a.next(fault);
        let label = format!("rust failover {name} set");
        let (result, took) = timed(&label, || writer.set("/k", "v"));
        match &result {
            Err(e) if write(e) => {}
            other => panic!("{label}: unexpected {other:?}"),
        }
        Bound::Quick.check(&label, took);
        // Not sent again to the other member.
        assert!(b.requests().iter().all(|r| r.method != "PUT"), "{label}");
    }
}

#[test]
fn a_hung_member_spends_the_whole_budget_of_a_read() {
    // The read timeout covers all the attempts together: nothing is left for
    // the second member.
    let (a, b) = (FaultServer::start(), FaultServer::start());
    let client = client_for(&[&a.url, &b.url]);
    a.next(Fault::HangBeforeHeaders);
    let (result, took) = timed("rust failover hang get", || client.get("/k"));
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    Bound::Timeout(TIMEOUT).check("failover hang", took);
    assert!(b.requests().is_empty());
}

fn pinned_client(url: &str) -> Client {
    Client::builder()
        .endpoints([url])
        .read_timeout(TIMEOUT)
        .max_response_bytes(LIMIT)
        .expected_cluster_id(fault::CLUSTER_ID)
        .build()
        .unwrap()
}

#[test]
fn a_write_whose_cluster_id_check_broke_is_not_ambiguous() {
    let server = FaultServer::start();
    let client = pinned_client(&server.url);
    server.next(Fault::ResetMidBody);
    let (result, _) = timed("rust cluster-id-check-reset set", || client.set("/k", "v"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].target.ends_with("/v2/members"));
    // Nothing was written: the error must not say the write may have been.
    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
}

#[test]
fn a_cluster_id_check_does_not_stretch_the_timeout_of_a_write() {
    let server = FaultServer::start();
    let client = pinned_client(&server.url);
    server.next(Fault::Delay(
        Duration::from_millis(700),
        Box::new(Fault::Ok),
    ));
    server.next(Fault::HangBeforeHeaders);
    let (result, took) = timed("rust slow-cluster-id-check-then-hang set", || {
        client.set("/k", "v")
    });
    assert!(matches!(result, Err(Error::Ambiguous { .. })), "{result:?}");
    Bound::Timeout(TIMEOUT).check("slow cluster-id check then hang", took);
}

// ---------------------------------------------------------------------------
// A watcher.
// ---------------------------------------------------------------------------

/// A watcher of `/k` on a fresh server, with `faults` queued.
fn watcher_with(faults: &[Fault]) -> (FaultServer, Client, Watcher) {
    let (server, client) = setup();
    let watcher = client.watcher("/k", &WatchOptions::default()).unwrap();
    for f in faults {
        server.next(f.clone());
    }
    (server, client, watcher)
}

/// The watcher's next event is the server's valid answer, and the client
/// still works.
fn assert_watch_goes_on(server: &FaultServer, client: &Client, watcher: &mut Watcher) {
    assert_eq!(server.queued(), 0, "a queued fault was not used");
    let event = watcher.next_event(Some(TIMEOUT));
    assert_ok(&event, "/k");
    assert_eq!(event.unwrap().action, Action::Set);
    assert_eq!(watcher.next_index(), Some(fault::INDEX + 1));
    assert_next_works(server, client);
}

/// One fault through a watcher: `next_event` (with a watch timeout of
/// [`TIMEOUT`]) fails as `expected` says, within `bound`; the watcher then
/// delivers the next event.
fn watch_case(name: &str, fault: Fault, bound: Bound, expected: Check) -> FaultServer {
    let (server, client, mut watcher) = watcher_with(&[fault]);
    let label = format!("watcher {name}");
    let (result, took) = timed(&label, || watcher.next_event(Some(TIMEOUT)));
    match &result {
        Err(e) if expected(e) => {}
        other => panic!("{label}: unexpected {other:?}"),
    }
    bound.check(&label, took);
    assert_watch_goes_on(&server, &client, &mut watcher);
    server
}

fn watch_timeout(e: &Error) -> bool {
    matches!(e, Error::WatchTimeout(t) if *t == TIMEOUT)
}

/// A watcher meets a server that hangs on its poll: `next_event` ends at
/// its timeout, and the poll goes on: the next call waits on it again, with
/// no new request and no new connection.
fn watch_hang_case(name: &str, fault: Fault) {
    let (server, _client, mut watcher) = watcher_with(&[fault]);
    for round in 1..=2 {
        let label = format!("watcher {name} (call {round})");
        let (result, took) = timed(&label, || watcher.next_event(Some(TIMEOUT)));
        match &result {
            Err(e) if watch_timeout(e) => {}
            other => panic!("{label}: unexpected {other:?}"),
        }
        Bound::Timeout(TIMEOUT).check(&label, took);
        assert_eq!(
            server.requests().len(),
            1,
            "{label}: the poll was sent again"
        );
        assert_eq!(server.accepted(), 1, "{label}: a new connection");
    }
}

/// Issue 17 §4: a watcher polled with `wait` (shorter than the 50 ms the
/// server takes to answer a poll), called again after each
/// [`Error::WatchTimeout`], delivers each answer, in order, over one
/// connection: a timeout returns, the poll goes on. Returns the timeouts
/// seen before each event.
fn short_waits_deliver(wait: Duration) -> Vec<usize> {
    let late = || Fault::Delay(Duration::from_millis(50), Box::new(Fault::Ok));
    let (server, client, mut watcher) = watcher_with(&[late(), late(), late()]);
    let started = Instant::now();
    let mut timeouts = Vec::new();
    for n in 1..=3 {
        let mut count = 0;
        let event = loop {
            let call = Instant::now();
            let outcome = watcher.next_event(Some(wait));
            let took = call.elapsed();
            match outcome {
                Err(Error::WatchTimeout(t)) => {
                    assert_eq!(t, wait);
                    count += 1;
                }
                other => break other,
            }
            // A call waits at most `wait`, but for the first, which
            // connects and sends.
            let bound = wait + Duration::from_millis(if count == 1 { 100 } else { 20 });
            assert!(took < bound, "a {wait:?} wait took {took:?}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{wait:?} waits: no event {n} after {count} timeouts, {} polls on {} connections",
                server.requests().len(),
                server.accepted()
            );
            if wait.is_zero() {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        assert_ok(&event, "/k");
        assert_eq!(watcher.next_index(), Some(fault::INDEX + 1));
        // One poll per event, each sent after the previous answer.
        let requests = server.requests();
        assert_eq!(requests.len(), n, "{requests:?}");
        if n > 1 {
            let want = format!("waitIndex={}", fault::INDEX + 1);
            assert!(requests[n - 1].target.contains(&want), "{requests:?}");
        }
        timeouts.push(count);
    }
    eprintln!(
        "fault-timing watcher {wait:?} waits, 50 ms answers: 3 events after {timeouts:?} \
         timeouts, {} polls on {} connection(s), {:?}",
        server.requests().len(),
        server.accepted(),
        started.elapsed()
    );
    assert!(timeouts.iter().all(|&t| t >= 1), "{timeouts:?}");
    assert_eq!(server.accepted(), 1, "one connection for every poll");
    assert!(server.requests().iter().all(|r| r.connection == 1));
    assert_next_works(&server, &client);
    timeouts
}

#[test]
fn a_watcher_polled_with_10_ms_waits_gets_a_50_ms_answer_on_one_connection() {
    short_waits_deliver(Duration::from_millis(10));
}

#[test]
fn a_watcher_polled_without_waiting_gets_a_50_ms_answer_on_one_connection() {
    short_waits_deliver(Duration::ZERO);
}

/// A zero wait does not block, even on a poll that never ends; the one-shot
/// watch, which keeps no poll between calls, does not even send one.
#[test]
fn a_zero_wait_does_not_block() {
    let (server, client, mut watcher) = watcher_with(&[Fault::HangBeforeHeaders]);
    for _ in 0..20 {
        let (result, took) = timed("watcher hang, 0 wait", || {
            watcher.next_event(Some(Duration::ZERO))
        });
        assert!(
            matches!(result, Err(Error::WatchTimeout(t)) if t.is_zero()),
            "{result:?}"
        );
        assert!(took < Duration::from_millis(100), "took {took:?}");
    }
    // The first call sent the poll; the server reads it a moment later.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.accepted(), 1);
    let opts = WatchOptions {
        timeout: Some(Duration::ZERO),
        ..WatchOptions::default()
    };
    let (result, took) = timed("one-shot watch, 0 wait", || client.watch("/k", &opts));
    match result {
        Err(e @ Error::WatchTimeout(_)) => {
            assert!(e.to_string().contains("does not wait"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(took < Duration::from_millis(20), "took {took:?}");
    assert_eq!(server.requests().len(), 1, "the one-shot watch sent a poll");
}

/// A poll kept in flight is dropped when the watcher resumes from another
/// index, and when the watcher is cancelled (which wakes a blocked call).
#[test]
fn resume_from_and_cancel_drop_a_poll_in_flight() {
    let (server, _client, mut watcher) = watcher_with(&[Fault::HangBeforeHeaders]);
    let short = Some(Duration::from_millis(20));
    assert!(matches!(
        watcher.next_event(short),
        Err(Error::WatchTimeout(_))
    ));
    watcher.resume_from(3);
    let event = watcher.next_event(Some(TIMEOUT));
    assert_ok(&event, "/k");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].target.contains("waitIndex=3"), "{requests:?}");

    server.next(Fault::HangBeforeHeaders);
    assert!(matches!(
        watcher.next_event(short),
        Err(Error::WatchTimeout(_))
    ));
    let canceller = watcher.canceller();
    let (result, took) = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            canceller.cancel();
        });
        timed("watcher cancelled while resuming", || {
            watcher.next_event(Some(Duration::from_secs(10)))
        })
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(took < Duration::from_millis(600), "took {took:?}");
}

#[test]
fn a_watcher_reports_garbage_and_resumes_from_the_index_it_saw() {
    let server = watch_case(
        "garbage",
        Fault::Garbage,
        Bound::Quick,
        &protocol("bad keys response"),
    );
    // The garbage came with a valid head (X-Etcd-Index 7): the poll after it
    // starts at 8, so nothing after "now" is missed.
    let requests = server.requests();
    assert!(!requests[0].target.contains("waitIndex"));
    assert!(
        requests[1]
            .target
            .contains(&format!("waitIndex={}", fault::INDEX + 1)),
        "{:?}",
        requests[1]
    );
}

#[test]
fn a_watcher_reports_truncated_json() {
    watch_case(
        "truncated-json",
        Fault::TruncatedJson,
        Bound::Quick,
        &protocol("EOF while parsing"),
    );
}

#[test]
fn a_watcher_reports_an_answer_that_is_not_http() {
    watch_case(
        "not-http",
        Fault::GarbageResponse,
        Bound::Quick,
        &protocol("not an HTTP response"),
    );
}

/// A watcher meets `fault` once: it polls again and delivers the next event.
fn watch_retry_case(name: &str, fault: Fault) {
    let (server, client, mut watcher) = watcher_with(&[fault]);
    let label = format!("watcher {name} then ok");
    let (result, took) = timed(&label, || watcher.next_event(Some(TIMEOUT)));
    assert_ok(&result, "/k");
    // One backoff of 50 ms, and whatever the fault took.
    assert!(took >= Duration::from_millis(50), "{label}: took {took:?}");
    Bound::Quick.check(&label, took);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The broken answer's head carried X-Etcd-Index 7: the retry resumes at 8.
    assert!(
        requests[1]
            .target
            .contains(&format!("waitIndex={}", fault::INDEX + 1)),
        "{:?}",
        requests[1]
    );
    assert_eq!(watcher.next_index(), Some(fault::INDEX + 1));
    assert_next_works(&server, &client);
}

#[test]
fn a_watcher_retries_after_a_reset_in_the_middle_of_the_body() {
    watch_retry_case("reset-mid-body", Fault::ResetMidBody);
}

#[test]
fn a_watcher_retries_after_a_chunked_body_cut_off() {
    watch_retry_case("chunked-cut-off", Fault::ChunkedCutOff);
}

#[test]
fn a_watcher_retries_after_a_body_shorter_than_announced() {
    watch_retry_case("content-length-too-long", Fault::ContentLengthTooLong);
}

#[test]
fn a_watcher_reports_a_connection_that_keeps_breaking() {
    let (server, client, mut watcher) = watcher_with(&[]);
    server.set_default(Fault::ResetMidBody);
    let (result, took) = timed("watcher reset-mid-body x5", || {
        watcher.next_event(Some(Duration::from_secs(10)))
    });
    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
    // The first poll and 4 retries, after backoffs of 50 + 100 + 200 + 400 ms;
    // the server waits 50 ms before each reset.
    assert_eq!(server.requests().len(), 5);
    let expected = Duration::from_millis(750 + 5 * 50);
    assert!(
        took + Duration::from_millis(20) >= expected && took < expected + SLACK,
        "took {took:?}"
    );
    server.set_default(Fault::Ok);
    assert_watch_goes_on(&server, &client, &mut watcher);
}

#[test]
fn a_watcher_hang_before_the_headers_ends_at_the_watch_timeout() {
    watch_hang_case("hang-before-headers", Fault::HangBeforeHeaders);
}

#[test]
fn a_watcher_hang_in_the_middle_of_the_body_ends_at_the_watch_timeout() {
    watch_hang_case("hang-mid-body", Fault::HangMidBody);
}

#[test]
fn a_watcher_slow_drip_ends_at_the_watch_timeout() {
    watch_hang_case("slow-drip-body", Fault::SlowDrip);
}

#[test]
fn a_watcher_reports_a_plain_404() {
    watch_case("plain-404", Fault::Plain404, Bound::Quick, &|e| {
        matches!(e, Error::V2NotEnabled { .. })
    });
}

#[test]
fn a_watcher_reports_an_unknown_error_code() {
    watch_case(
        "unknown-error-code",
        Fault::UnknownErrorCode,
        Bound::Quick,
        &unknown_code,
    );
}

#[test]
fn a_watcher_reports_a_500() {
    watch_case("status-500", Fault::Status500, Bound::Quick, &|e| {
        matches!(e, Error::HttpStatus { status: 500, .. })
    });
}

#[test]
fn a_watcher_reports_a_100_mb_body() {
    watch_case("huge-100MB", Fault::Huge(HUGE), Bound::Quick, &too_large);
}

#[test]
fn a_watcher_reports_a_bad_index_header() {
    watch_case(
        "bad-index-header",
        Fault::BadIndexHeader("abc"),
        Bound::Quick,
        &protocol("X-Etcd-Index"),
    );
}

#[test]
fn a_watcher_reports_a_301() {
    watch_case(
        "redirect-301",
        Fault::Redirect301ToOtherKey,
        Bound::Quick,
        &|e| matches!(e, Error::Redirect { status: 301, .. }),
    );
}

#[test]
fn a_watch_answered_at_once_without_an_event_does_not_spin() {
    let (server, _client, mut watcher) = watcher_with(&[]);
    server.set_default(Fault::EmptyOk);
    let (result, took) = timed("watcher empty-answers", || {
        watcher.next_event(Some(TIMEOUT))
    });
    assert!(matches!(result, Err(Error::WatchTimeout(_))), "{result:?}");
    Bound::Timeout(TIMEOUT).check("empty answers", took);
    let polls = server.requests().len();
    eprintln!("fault-polls empty-answers: {polls} polls in {took:?}");
    assert!(polls <= 20, "{polls} polls in {took:?}");
}

// ---------------------------------------------------------------------------
// The C API.
// ---------------------------------------------------------------------------

/// `etcdc_error_last()`, copied.
#[derive(Debug)]
struct LastError {
    status: etcdc_status,
    etcd_code: u32,
    message: String,
    cause: String,
    index: u64,
}

fn last_error() -> LastError {
    let e = etcdc_error_last();
    assert!(!e.is_null());
    // SAFETY: non-NULL, valid until the next failing call on this thread.
    unsafe {
        LastError {
            status: (*e).status,
            etcd_code: (*e).etcd_code,
            message: CStr::from_ptr((*e).message).to_string_lossy().into_owned(),
            cause: CStr::from_ptr((*e).cause).to_string_lossy().into_owned(),
            index: (*e).index,
        }
    }
}

/// The key and value of a response's node; frees the response.
fn take_response(out: *mut etcdc_response) -> (String, String) {
    assert!(!out.is_null());
    // SAFETY: a live response from the library; its node and strings are
    // borrowed from it until it is freed, after the copies.
    unsafe {
        let node = etcdc_response_node(out);
        let key = CStr::from_ptr(etcdc_node_key(node))
            .to_string_lossy()
            .into_owned();
        let value = CStr::from_ptr(etcdc_node_value(node))
            .to_string_lossy()
            .into_owned();
        etcdc_response_free(out);
        (key, value)
    }
}

/// A C client of one fault server.
struct CClient(*mut etcdc_client);

impl CClient {
    fn new(url: &str) -> CClient {
        let endpoint = CString::new(url).unwrap();
        let endpoints = [endpoint.as_ptr()];
        // SAFETY: all-zero is a valid options struct; init sets its version.
        let mut opts: etcdc_client_options = unsafe { std::mem::zeroed() };
        let status = unsafe { etcdc_client_options_init(&mut opts, ETCDC_CLIENT_OPTIONS_VERSION) };
        assert_eq!(status, etcdc_status::ETCDC_OK);
        opts.endpoints = endpoints.as_ptr();
        opts.endpoint_count = 1;
        opts.read_timeout_ms = TIMEOUT.as_millis() as u64;
        opts.max_response_bytes = LIMIT;
        let mut client = ptr::null_mut();
        // SAFETY: valid options and out-parameter.
        let status = unsafe { etcdc_client_new(&opts, &mut client) };
        assert_eq!(status, ETCDC_OK);
        CClient(client)
    }

    /// `etcdc_read` of `key`: the node's key and value, or the status and
    /// the last error.
    fn read(&self, key: &str) -> Result<(String, String), LastError> {
        let key = CString::new(key).unwrap();
        let mut out = ptr::null_mut();
        // SAFETY: live client, NUL-terminated key, NULL options, valid out.
        let status = unsafe { etcdc_read(self.0, key.as_ptr(), ptr::null(), &mut out) };
        Self::outcome(status, out)
    }

    fn write(&self, key: &str, value: &str) -> Result<(String, String), LastError> {
        let key = CString::new(key).unwrap();
        let value = CString::new(value).unwrap();
        let mut out = ptr::null_mut();
        // SAFETY: as in `read`.
        let status =
            unsafe { etcdc_write(self.0, key.as_ptr(), value.as_ptr(), ptr::null(), &mut out) };
        Self::outcome(status, out)
    }

    fn outcome(
        status: etcdc_status,
        out: *mut etcdc_response,
    ) -> Result<(String, String), LastError> {
        if status == ETCDC_OK {
            return Ok(take_response(out));
        }
        assert!(out.is_null(), "*out set on failure");
        let e = last_error();
        assert_eq!(e.status, status, "etcdc_error_last()->status");
        Err(e)
    }

    fn watcher(&self, key: &str) -> CWatcher {
        let key = CString::new(key).unwrap();
        let mut w = ptr::null_mut();
        // SAFETY: live client, NUL-terminated key, NULL options, valid out.
        let status = unsafe { etcdc_watcher_new(self.0, key.as_ptr(), ptr::null(), &mut w) };
        assert_eq!(status, ETCDC_OK);
        CWatcher(w)
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        // SAFETY: from etcdc_client_new, freed once.
        unsafe { etcdc_client_free(self.0) };
    }
}

struct CWatcher(*mut etcdc_watcher);

impl CWatcher {
    fn next(&self, timeout: Duration) -> Result<(String, String), LastError> {
        let mut out = ptr::null_mut();
        // SAFETY: a live watcher, used by this thread only; valid out.
        let status = unsafe { etcdc_watcher_next(self.0, timeout.as_millis() as i64, &mut out) };
        CClient::outcome(status, out)
    }
}

impl Drop for CWatcher {
    fn drop(&mut self) {
        // SAFETY: from etcdc_watcher_new, freed once.
        unsafe { etcdc_watcher_free(self.0) };
    }
}

fn assert_c_ok(result: Result<(String, String), LastError>, key: &str) {
    match result {
        Ok((k, v)) => assert_eq!((k.as_str(), v.as_str()), (key, fault::OK_VALUE)),
        Err(e) => panic!("expected the server's valid answer for {key}, got {e:?}"),
    }
}

/// How a C case uses the client.
#[derive(Debug, Clone, Copy)]
enum COp {
    Read,
    Write,
    Watch,
}

/// One fault through the C API: `op` fails with `status`, the last error
/// passes `detail`, within `bound`; then the next call works.
fn c_case(
    name: &str,
    fault: Fault,
    op: COp,
    bound: Bound,
    status: etcdc_status,
    detail: &dyn Fn(&LastError) -> bool,
) {
    let server = FaultServer::start();
    let client = CClient::new(&server.url);
    let watcher = client.watcher("/k");
    server.next(fault);
    let label = format!("c {name} {op:?}");
    let (result, took) = timed(&label, || match op {
        COp::Read => client.read("/k"),
        COp::Write => client.write("/k", "v"),
        COp::Watch => watcher.next(TIMEOUT),
    });
    match result {
        Err(e) if e.status == status && detail(&e) => {}
        other => panic!("{label}: expected {status:?}, got {other:?}"),
    }
    bound.check(&label, took);
    assert_eq!(server.queued(), 0);
    match op {
        // The poll goes on: the next call waits on it, sending nothing.
        COp::Watch if status == ETCDC_ERR_WATCH_TIMEOUT => {
            let again = watcher.next(Duration::from_millis(50));
            assert!(matches!(&again, Err(e) if e.status == status), "{again:?}");
            assert_eq!(server.requests().len(), 1);
        }
        COp::Watch => assert_c_ok(watcher.next(TIMEOUT), "/k"),
        _ => {}
    }
    assert_c_ok(client.read("/next"), "/next");
}

/// Issue 17 §4 as it was reported, through the C API:
/// `etcdc_watcher_next(w, 10, &r)` called again after each
/// `ETCDC_ERR_WATCH_TIMEOUT`, a server that takes 50 ms to answer a poll.
#[test]
fn c_a_watcher_polled_with_10_ms_waits_gets_a_50_ms_answer() {
    let server = FaultServer::start();
    server.set_default(Fault::Delay(Duration::from_millis(50), Box::new(Fault::Ok)));
    let client = CClient::new(&server.url);
    let watcher = client.watcher("/k");
    let started = Instant::now();
    for wait in [10, 0] {
        let mut timeouts = 0;
        let event = loop {
            match watcher.next(Duration::from_millis(wait)) {
                Err(e) if e.status == ETCDC_ERR_WATCH_TIMEOUT => timeouts += 1,
                other => break other,
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{timeouts} timeouts"
            );
            if wait == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        assert_c_ok(event, "/k");
        eprintln!("fault-timing c watcher {wait} ms waits: event after {timeouts} timeouts");
        assert!(timeouts >= 1);
    }
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.accepted(), 1);
}

fn no_etcd_code(e: &LastError) -> bool {
    e.etcd_code == 0 && e.cause.is_empty() && e.index == 0
}

#[test]
fn c_garbage() {
    let detail = |e: &LastError| no_etcd_code(e) && e.message.contains("bad keys response");
    for op in [COp::Read, COp::Write, COp::Watch] {
        c_case(
            "garbage",
            Fault::Garbage,
            op,
            Bound::Quick,
            ETCDC_ERR_PROTOCOL,
            &detail,
        );
    }
}

#[test]
fn c_reset_mid_body() {
    let any = |e: &LastError| no_etcd_code(e);
    c_case(
        "reset-mid-body",
        Fault::ResetMidBody,
        COp::Read,
        Bound::Quick,
        ETCDC_ERR_CONNECTION,
        &any,
    );
    c_case(
        "reset-mid-body",
        Fault::ResetMidBody,
        COp::Write,
        Bound::Quick,
        ETCDC_ERR_AMBIGUOUS,
        &|e| e.message.contains("may have been applied"),
    );
    // A watcher polls again: the fault is not seen.
    let server = FaultServer::start();
    let client = CClient::new(&server.url);
    let watcher = client.watcher("/k");
    server.next(Fault::ResetMidBody);
    let (result, took) = timed("c reset-mid-body Watch then ok", || watcher.next(TIMEOUT));
    assert_c_ok(result, "/k");
    Bound::Quick.check("c watcher reset", took);
}

#[test]
fn c_hang() {
    c_case(
        "hang-before-headers",
        Fault::HangBeforeHeaders,
        COp::Read,
        Bound::Timeout(TIMEOUT),
        ETCDC_ERR_TIMEOUT,
        &|e| no_etcd_code(e) && e.message.contains("timed out"),
    );
    c_case(
        "hang-before-headers",
        Fault::HangBeforeHeaders,
        COp::Write,
        Bound::Timeout(TIMEOUT),
        ETCDC_ERR_AMBIGUOUS,
        &|e| e.message.contains("may have been applied") && e.message.contains("timed out"),
    );
    c_case(
        "hang-before-headers",
        Fault::HangBeforeHeaders,
        COp::Watch,
        Bound::Timeout(TIMEOUT),
        ETCDC_ERR_WATCH_TIMEOUT,
        &no_etcd_code,
    );
}

#[test]
fn c_huge() {
    let detail = |e: &LastError| {
        no_etcd_code(e) && e.message == format!("response larger than {LIMIT} bytes")
    };
    for op in [COp::Read, COp::Write, COp::Watch] {
        c_case(
            "huge-100MB",
            Fault::Huge(HUGE),
            op,
            Bound::Quick,
            ETCDC_ERR_RESPONSE_TOO_LARGE,
            &detail,
        );
    }
}

#[test]
fn c_plain_404() {
    let detail = |e: &LastError| no_etcd_code(e) && e.message.contains("v2 API not enabled");
    for op in [COp::Read, COp::Write, COp::Watch] {
        c_case(
            "plain-404",
            Fault::Plain404,
            op,
            Bound::Quick,
            ETCDC_ERR_V2_NOT_ENABLED,
            &detail,
        );
    }
}

#[test]
fn c_unknown_error_code() {
    let detail = |e: &LastError| {
        e.etcd_code == fault::UNKNOWN_CODE
            && e.cause == "/k"
            && e.index == fault::UNKNOWN_CODE_INDEX
            && e.message.contains("A code from the future")
    };
    for op in [COp::Read, COp::Write, COp::Watch] {
        c_case(
            "unknown-error-code",
            Fault::UnknownErrorCode,
            op,
            Bound::Quick,
            ETCDC_ERR_ETCD_OTHER,
            &detail,
        );
    }
}

#[test]
fn c_bad_index_header() {
    let detail = |e: &LastError| no_etcd_code(e) && e.message.contains("X-Etcd-Index");
    for op in [COp::Read, COp::Write, COp::Watch] {
        c_case(
            "bad-index-header",
            Fault::BadIndexHeader("abc"),
            op,
            Bound::Quick,
            ETCDC_ERR_PROTOCOL,
            &detail,
        );
        c_case(
            "huge-index-header",
            Fault::HugeIndexHeader(fault::HUGE_INDEX),
            op,
            Bound::Quick,
            ETCDC_ERR_PROTOCOL,
            &detail,
        );
    }
}

#[test]
fn c_status_500() {
    let detail = |e: &LastError| no_etcd_code(e) && e.message.contains("500");
    for (op, status) in [
        (COp::Read, ETCDC_ERR_HTTP_STATUS),
        // etcd's 5xx to a write: it could not complete it, outcome unknown.
        (COp::Write, ETCDC_ERR_AMBIGUOUS),
        (COp::Watch, ETCDC_ERR_HTTP_STATUS),
    ] {
        c_case(
            "status-500",
            Fault::Status500,
            op,
            Bound::Quick,
            status,
            &detail,
        );
    }
}

/// A poll kept in flight across fork: the child leaves it (and its
/// connection) to the parent and polls on a connection of its own; the
/// parent's answer is still the parent's.
#[test]
fn a_forked_child_leaves_the_parents_poll_in_flight_alone() {
    let late = |ms| Fault::Delay(Duration::from_millis(ms), Box::new(Fault::Ok));
    let (server, _client, mut watcher) = watcher_with(&[late(400), late(100)]);
    let short = Some(Duration::from_millis(20));
    assert!(matches!(
        watcher.next_event(short),
        Err(Error::WatchTimeout(_))
    ));
    // SAFETY: the child uses the watcher (allocations, sockets: fork-safe
    // in glibc) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = match watcher.next_event(Some(Duration::from_secs(2))) {
            Ok(event) if event.node.value.as_deref() == Some(fault::OK_VALUE) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        };
        // SAFETY: ends the child without running the test harness.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child's own poll failed");
    // The child polled on a connection of its own, and took nothing of ours.
    assert_eq!(server.accepted(), 2);
    let event = watcher.next_event(Some(TIMEOUT));
    assert_ok(&event, "/k");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(server.accepted(), 2);
}
