//! DNS SRV discovery (`ClientBuilder::srv_domain`, the C `srv_domain` and
//! `dns_server` options) against a real DNS server: dnsmasq on loopback
//! (tests/common/dns.rs), with records that point at live, dead and https
//! members of real etcds, none at all, and a DNS server that never answers.

mod common;

use std::ffi::{CStr, CString};
use std::net::{SocketAddr, UdpSocket};
use std::ptr;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::dns::Dns;
use common::tls::pki;
use common::{dead_port, prefix, shared, Etcd, Options};
use etcdc::ffi::client::{
    etcdc_client_free, etcdc_client_new, etcdc_client_options, etcdc_client_options_init,
    ETCDC_CLIENT_OPTIONS_VERSION,
};
use etcdc::ffi::error::etcdc_error_last;
use etcdc::ffi::etcdc_status::{self, *};
use etcdc::ffi::keys::{etcdc_read, etcdc_write};
use etcdc::{Client, ClientBuilder, Error};

const PLAIN: &str = "_etcd-client._tcp";
const SSL: &str = "_etcd-client-ssl._tcp";

/// `<service>.<domain>`.
fn name(service: &str, domain: &str) -> String {
    format!("{service}.{domain}")
}

fn builder(domain: &str, dns: SocketAddr) -> ClientBuilder {
    Client::builder()
        .srv_domain(domain)
        .dns_server(dns)
        .read_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(2))
}

fn value(client: &Client, key: &str) -> String {
    client.get(key).expect("get").node.value.unwrap_or_default()
}

#[test]
fn records_of_a_live_etcd_are_the_endpoints() {
    let etcd = shared();
    let n = name(PLAIN, "live.test");
    let dns = Dns::start(&[(&n, "127.0.0.1", etcd.port, 0, 0)]);
    let client = builder("live.test", dns.addr()).build().expect("build");
    assert_eq!(client.endpoints(), std::slice::from_ref(&etcd.url));
    let key = format!("{}/k", prefix("srv-live"));
    client.set(&key, "found in DNS").expect("set");
    assert_eq!(value(&client, &key), "found in DNS");
    // A trailing dot is the same domain.
    let again = builder("live.test.", dns.addr()).build().expect("build");
    assert_eq!(value(&again, &key), "found in DNS");
}

#[test]
fn records_are_ordered_and_failover_finds_the_live_member() {
    let etcd = shared();
    let (dead1, dead2, dead3) = (dead_port(), dead_port(), dead_port());
    let n = name(PLAIN, "order.test");
    // Priority first (lowest), then the heavier weight.
    let dns = Dns::start(&[
        (&n, "127.0.0.1", etcd.port, 20, 0),
        (&n, "127.0.0.1", dead1, 10, 1),
        (&n, "127.0.0.1", dead2, 10, 50),
        (&n, "127.0.0.1", dead3, 0, 0),
    ]);
    let client = builder("order.test", dns.addr()).build().expect("build");
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    assert_eq!(
        client.endpoints(),
        [url(dead3), url(dead2), url(dead1), url(etcd.port)]
    );
    let key = format!("{}/k", prefix("srv-order"));
    // A write that never left this machine moves on to the next member.
    client
        .set(&key, "v")
        .expect("set after three refused members");
    assert_eq!(value(&client, &key), "v");
    assert_eq!(client.endpoints()[0], url(etcd.port));
}

#[test]
fn ssl_records_are_https_endpoints_checked_against_the_target_name() {
    let p = pki();
    let etcd = Etcd::start_tls(Options::default(), p.server_tls(false));
    let dead = dead_port();
    let dns = Dns::start(&[
        (&name(SSL, "tls.test"), "127.0.0.1", etcd.port, 0, 0),
        (&name(PLAIN, "tls.test"), "127.0.0.1", dead, 0, 0),
        // The certificate names IP 127.0.0.1 only, not "localhost".
        (&name(SSL, "wrong-name.test"), "localhost", etcd.port, 0, 0),
    ]);
    let client = builder("tls.test", dns.addr())
        .ca_file(&p.ca)
        .build()
        .expect("build");
    // https records first, then http.
    assert_eq!(
        client.endpoints(),
        [etcd.url.clone(), format!("http://127.0.0.1:{dead}")]
    );
    assert!(etcd.url.starts_with("https://"));
    let key = format!("{}/k", prefix("srv-tls"));
    client.set(&key, "over TLS").expect("set");
    assert_eq!(value(&client, &key), "over TLS");

    let client = builder("wrong-name.test", dns.addr())
        .ca_file(&p.ca)
        .build()
        .expect("build");
    assert_eq!(
        client.endpoints(),
        [format!("https://localhost:{}", etcd.port)]
    );
    match client.get(&key) {
        Err(Error::TlsHostname { endpoint, .. }) => assert!(endpoint.contains("localhost")),
        other => panic!("expected TlsHostname, got {other:?}"),
    }
}

#[test]
fn a_domain_without_records_is_a_clear_error_at_once() {
    let dns = Dns::start(&[(&name(PLAIN, "other.test"), "127.0.0.1", 1, 0, 0)]);
    let start = Instant::now();
    let e = builder("nothing.test", dns.addr()).build().unwrap_err();
    let took = start.elapsed();
    match &e {
        Error::Connection { reason, .. } => {
            assert!(reason.contains("_etcd-client._tcp.nothing.test"), "{e}");
            assert!(reason.contains("_etcd-client-ssl._tcp.nothing.test"), "{e}");
        }
        other => panic!("expected Connection, got {other:?}"),
    }
    assert!(took < Duration::from_millis(500), "took {took:?}");
    // Bad arguments are refused before anything is asked.
    for bad in ["", "a..b", "a b.test"] {
        assert!(
            matches!(
                builder(bad, dns.addr()).build(),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        builder("other.test", dns.addr())
            .endpoints(["http://127.0.0.1:2379"])
            .build(),
        Err(Error::InvalidArgument(m)) if m.contains("srv_domain")
    ));
}

#[test]
fn a_dns_server_that_does_not_answer_fails_within_the_connect_timeout() {
    // Bound, never read: the question gets no answer and no ICMP error.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let connect = Duration::from_millis(1500);
    let start = Instant::now();
    let e = builder("silent.test", silent.local_addr().unwrap())
        .connect_timeout(connect)
        .build()
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("DNS server"), "{e}");
    assert!(
        took >= connect - Duration::from_millis(50) && took < connect + Duration::from_millis(500),
        "took {took:?}"
    );
    // Nobody on the port: refused at once.
    let closed = SocketAddr::from(([127, 0, 0, 1], dead_port()));
    let start = Instant::now();
    let e = builder("closed.test", closed).build().unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert!(start.elapsed() < Duration::from_millis(500));
}

#[test]
fn records_too_large_for_udp_are_read_over_tcp() {
    let etcd = shared();
    let n = name(PLAIN, "many.test");
    // 40 dead members and the live one, last: over 512 bytes.
    let ports: Vec<u16> = (0..40).map(|_| dead_port()).collect();
    let mut records: Vec<_> = ports
        .iter()
        .map(|&p| (n.as_str(), "127.0.0.1", p, 0, 0))
        .collect();
    records.push((n.as_str(), "127.0.0.1", etcd.port, 1, 0));
    let dns = Dns::start(&records);
    let client = builder("many.test", dns.addr()).build().expect("build");
    let endpoints = client.endpoints();
    assert_eq!(endpoints.len(), 41);
    assert_eq!(endpoints[40], etcd.url);
    let key = format!("{}/k", prefix("srv-many"));
    client.set(&key, "v").expect("set");
}

#[test]
fn the_client_follows_the_records_when_every_member_failed() {
    // Members of one cluster (a client refuses another cluster's): the
    // records first name a follower only.
    let cluster = Cluster::start(3);
    let leader = cluster.leader_index();
    let (old, others): (Vec<usize>, Vec<usize>) = (0..3).partition(|&i| i == (leader + 1) % 3);
    let old = old[0];
    let n = name(PLAIN, "moving.test");
    let mut dns = Dns::start(&[(&n, "127.0.0.1", cluster.port(old), 0, 0)]);
    let client = builder("moving.test", dns.addr()).build().expect("build");
    client
        .set("/moving/k", "old")
        .expect("set on the old member");

    // The old member dies and the records now name the two others.
    cluster.kill(old);
    let records: Vec<_> = others
        .iter()
        .map(|&i| (n.as_str(), "127.0.0.1", cluster.port(i), 0, 0))
        .collect();
    dns.replace(&records);
    let start = Instant::now();
    client
        .set("/moving/k", "new")
        .expect("set after re-resolution");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // (Equal priority and weight: in the DNS server's order.)
    let mut urls: Vec<String> = others.iter().map(|&i| cluster.url(i).to_owned()).collect();
    let mut endpoints = client.endpoints();
    urls.sort();
    endpoints.sort();
    assert_eq!(endpoints, urls);
    assert_eq!(value(&client, "/moving/k"), "new");

    // Every member failed and the records name nothing new: the request's
    // own error, within its time.
    for &i in &others {
        cluster.kill(i);
    }
    let start = Instant::now();
    assert!(matches!(
        client.get("/moving/k"),
        Err(Error::Connection { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(3));

    // The DNS gone too: still the request's own error.
    drop(dns);
    let start = Instant::now();
    assert!(matches!(
        client.get("/moving/k"),
        Err(Error::Connection { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(3));
}

// ------------------------------------------------------------------ C API

/// The last error's status and message.
fn last_error() -> (etcdc_status, String) {
    let e = etcdc_error_last();
    assert!(!e.is_null());
    // SAFETY: non-NULL, valid until the next failing call on this thread.
    unsafe {
        (
            (*e).status,
            CStr::from_ptr((*e).message).to_string_lossy().into_owned(),
        )
    }
}

/// `etcdc_client_new` with `srv_domain`/`dns_server` (and `version`),
/// then a write and a read of `key`; the status of the first failure.
fn c_client(
    version: u32,
    domain: &str,
    dns: &str,
    endpoint: Option<&str>,
    key: &str,
) -> Result<String, (etcdc_status, String)> {
    let domain = CString::new(domain).unwrap();
    let dns = CString::new(dns).unwrap();
    let endpoint = endpoint.map(|e| CString::new(e).unwrap());
    let endpoints = [endpoint.as_ref().map_or(ptr::null(), |e| e.as_ptr())];
    // SAFETY: all-zero is a valid options struct; init sets its version.
    let mut opts: etcdc_client_options = unsafe { std::mem::zeroed() };
    // SAFETY: a whole current struct.
    let status = unsafe { etcdc_client_options_init(&mut opts, ETCDC_CLIENT_OPTIONS_VERSION) };
    assert_eq!(status, ETCDC_OK);
    opts.version = version;
    opts.srv_domain = domain.as_ptr();
    opts.dns_server = dns.as_ptr();
    opts.connect_timeout_ms = 1000;
    if endpoint.is_some() {
        opts.endpoints = endpoints.as_ptr();
        opts.endpoint_count = 1;
    }
    let mut client = ptr::null_mut();
    // SAFETY: valid options and out-parameter.
    let status = unsafe { etcdc_client_new(&opts, &mut client) };
    if status != ETCDC_OK {
        assert!(client.is_null());
        let (s, message) = last_error();
        assert_eq!(s, status);
        return Err((status, message));
    }
    let key = CString::new(key).unwrap();
    let value = CString::new("from C").unwrap();
    let outcome = (|| {
        // SAFETY: a live client, NUL-terminated strings, NULL options/out.
        let status = unsafe {
            etcdc_write(
                client,
                key.as_ptr(),
                value.as_ptr(),
                ptr::null(),
                ptr::null_mut(),
            )
        };
        if status != ETCDC_OK {
            return Err(last_error());
        }
        // SAFETY: as above.
        let status = unsafe { etcdc_read(client, key.as_ptr(), ptr::null(), ptr::null_mut()) };
        if status != ETCDC_OK {
            return Err(last_error());
        }
        Ok("ok".to_owned())
    })();
    // SAFETY: from etcdc_client_new, freed once.
    unsafe { etcdc_client_free(client) };
    outcome
}

#[test]
fn the_c_options_srv_domain_and_dns_server() {
    let etcd = shared();
    let dead = dead_port();
    let dns = Dns::start(&[
        (&name(PLAIN, "c.test"), "127.0.0.1", dead, 0, 0),
        (&name(PLAIN, "c.test"), "127.0.0.1", etcd.port, 1, 0),
    ]);
    let server = dns.addr().to_string();
    let key = format!("{}/k", prefix("srv-c"));
    assert_eq!(c_client(3, "c.test", &server, None, &key), Ok("ok".into()));

    // No records: CONNECTION, naming the domain, at once.
    let start = Instant::now();
    let (status, message) = c_client(3, "none.test", &server, None, &key).unwrap_err();
    assert_eq!(status, ETCDC_ERR_CONNECTION, "{message}");
    assert!(message.contains("none.test"), "{message}");
    assert!(start.elapsed() < Duration::from_millis(500));

    // Bad values, and srv_domain with endpoints: INVALID_ARGUMENT.
    for (domain, dns, endpoint, needle) in [
        ("c.test", "localhost:53", None, "dns_server"),
        ("c..test", server.as_str(), None, "srv_domain"),
        (
            "c.test",
            server.as_str(),
            Some(etcd.url.as_str()),
            "srv_domain",
        ),
    ] {
        let (status, message) = c_client(3, domain, dns, endpoint, &key).unwrap_err();
        assert_eq!(
            status, ETCDC_ERR_INVALID_ARGUMENT,
            "{domain} {dns}: {message}"
        );
        assert!(message.contains(needle), "{message}");
    }

    // A version-2 struct has no srv_domain: the fields past it are not
    // read, whatever they hold, so the endpoint given is used.
    assert_eq!(
        c_client(2, "c..test", "not an address", Some(&etcd.url), &key),
        Ok("ok".into())
    );
}
