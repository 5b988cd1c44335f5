//! Transport behaviour that needs a misbehaving peer: signals during a
//! blocked read, malformed headers. etcd can't be made to do these, so these
//! tests use tiny servers of their own; everything else uses the real etcd.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use etcdc::{Client, Error};

/// A server that answers every connection's first request with `reply`, or
/// never answers when `reply` is None. Returns its URL.
fn fake_server(reply: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            if let Some(reply) = reply {
                let _ = s.write_all(reply.as_bytes());
            }
            held.push(s);
        }
    });
    url
}

extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
fn signals_do_not_stretch_the_read_timeout() {
    // A handler installed the usual way (SA_RESTART): Linux still interrupts
    // reads on sockets that have a timeout.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    let url = fake_server(None);
    let timeout = Duration::from_millis(800);
    let client = Client::builder()
        .endpoints([url.as_str()])
        .read_timeout(timeout)
        .build()
        .unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
        let start = Instant::now();
        let result = client.get("/k");
        let _ = done_tx.send((result, start.elapsed()));
    });
    let target = tid_rx.recv().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let pinger = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let outcome = done_rx.recv_timeout(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    pinger.join().unwrap();
    let (result, took) = outcome.expect("the request outlived its timeout by 9 s under signals");
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(took < timeout + Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_malformed_index_header_does_not_hide_etcds_error() {
    let body = r#"{"errorCode":100,"message":"Key not found","cause":"/k","index":7}"#;
    let reply: &'static str = Box::leak(
        format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
             X-Etcd-Index: not-a-number\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let client = Client::builder()
        .endpoints([fake_server(Some(reply))])
        .build()
        .unwrap();
    match client.get("/k") {
        Err(Error::KeyNotFound(e)) => assert_eq!((e.index, e.cause.as_str()), (7, "/k")),
        other => panic!("expected KeyNotFound, got {other:?}"),
    }
}

#[test]
fn a_malformed_index_header_on_success_is_a_protocol_error() {
    let body =
        r#"{"action":"get","node":{"key":"/k","value":"v","modifiedIndex":3,"createdIndex":3}}"#;
    let reply: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nX-Etcd-Index: 99999999999999999999\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let client = Client::builder()
        .endpoints([fake_server(Some(reply))])
        .build()
        .unwrap();
    match client.get("/k") {
        Err(Error::Protocol(msg)) => assert!(msg.contains("X-Etcd-Index"), "{msg}"),
        other => panic!("expected Protocol, got {other:?}"),
    }
}

#[test]
fn connections_are_reused() {
    // Many requests through one client open one connection: etcd's own
    // counter of client connections is not exposed over v2, so count accepts
    // through a loopback relay in front of the shared etcd.
    let relay = common::Relay::start(common::shared().port);
    let client = Client::builder()
        .endpoints([relay.url.as_str()])
        .build()
        .unwrap();
    let key = format!("{}/k", common::prefix("reuse"));
    for i in 0..50 {
        client.set(&key, &i.to_string()).unwrap();
        assert_eq!(client.get(&key).unwrap().node.value.unwrap(), i.to_string());
    }
    assert_eq!(relay.accepted(), 1);
}

/// A member that redirects every request to `location(path)` with `status`.
fn redirecting_server(status: u16, location: impl Fn(&str) -> String + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
            let reply = format!(
                "HTTP/1.1 {status} Redirect\r\nLocation: {}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n",
                location(&path)
            );
            let _ = s.write_all(reply.as_bytes());
        }
    });
    url
}

#[test]
fn a_301_is_never_followed() {
    // etcd answers paths with `.`, `..` or `//` with a 301 to the cleaned
    // path: following it would act on another key.
    let etcd = common::shared().url.clone();
    let other = format!("{}/other", common::prefix("redirect301"));
    let target = format!("{etcd}/v2/keys{other}");
    let member = redirecting_server(301, move |_| target.clone());
    let client = Client::builder().endpoints([member]).build().unwrap();
    match client.set("/k", "v") {
        Err(Error::Redirect {
            status: 301,
            location,
        }) => assert!(location.ends_with(&other)),
        other => panic!("expected Redirect 301, got {other:?}"),
    }
    assert!(matches!(
        common::client().get(&other),
        Err(Error::KeyNotFound(_))
    ));
}

#[test]
fn a_307_to_the_same_path_is_followed_only_with_allow_redirect() {
    let etcd = common::shared().url.clone();
    let key = format!("{}/k", common::prefix("redirect307"));
    let member = redirecting_server(307, move |path| format!("{etcd}{path}"));
    let refusing = Client::builder()
        .endpoints([member.as_str()])
        .allow_redirect(false)
        .build()
        .unwrap();
    assert!(matches!(
        refusing.set(&key, "v"),
        Err(Error::Redirect { status: 307, .. })
    ));
    assert!(matches!(
        common::client().get(&key),
        Err(Error::KeyNotFound(_))
    ));

    let following = Client::builder()
        .endpoints([member.as_str()])
        .build()
        .unwrap();
    following.set(&key, "followed").unwrap();
    assert_eq!(
        common::client().get(&key).unwrap().node.value.as_deref(),
        Some("followed")
    );
}

#[test]
fn a_307_to_another_path_is_not_followed() {
    let etcd = common::shared().url.clone();
    let other = format!("{}/elsewhere", common::prefix("redirect307other"));
    let target = format!("{etcd}/v2/keys{other}");
    let member = redirecting_server(307, move |_| target.clone());
    let client = Client::builder().endpoints([member]).build().unwrap();
    assert!(matches!(
        client.set("/k", "v"),
        Err(Error::Redirect { status: 307, .. })
    ));
    assert!(matches!(
        common::client().get(&other),
        Err(Error::KeyNotFound(_))
    ));
}
