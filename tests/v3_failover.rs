//! The v3 failover rule, member by member: a scripted HTTP/2 peer
//! (tests/common/h2peer.rs) as the first endpoint does what etcd will not
//! do on demand (GOAWAY, REFUSED_STREAM, a reset after the request, a gRPC
//! `UNAVAILABLE`, silence, an older raft term, another cluster's id), and a
//! real etcd 3.4 as the second shows whether the call moved on to it, and
//! whether a write was applied there once or not at all.
//!
//! The rule (src/transport/unary.rs): what the server never took goes to
//! the next member, read or write; what it may have taken moves a read on
//! and makes a write `Ambiguous`; etcd's own answers are final.

mod common;

#[path = "../src/v3/proto/mod.rs"]
#[allow(unused_imports)]
mod proto;

use std::time::{Duration, Instant};

use common::h2peer::{self, H2Peer, Peer};
use etcdc::v3::{Code, Range};
use etcdc::{Client, Error};
use prost::Message;
use proto::{etcdserverpb as pb, mvccpb};

/// A peer that answers each request (after the handshake) with `then`,
/// noting "request" for each.
fn fake(then: impl Fn(&mut Peer, u32) + Send + Sync + 'static) -> H2Peer {
    H2Peer::start(move |mut p| {
        if !p.handshake(&[]) {
            return;
        }
        while let Some(id) = p.read_request(&mut 0) {
            p.note("request");
            then(&mut p, id);
        }
    })
}

/// A client of `first` then the shared etcd, with short timeouts.
fn client_of(first: &str, etcd: &str) -> Client {
    Client::builder()
        .endpoints([first, etcd])
        .read_timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

fn key(name: &str) -> Vec<u8> {
    common::prefix(name).into_bytes()
}

/// The requests the peer received.
fn requests(p: &H2Peer) -> usize {
    p.notes().iter().filter(|n| *n == "request").count()
}

/// The key's version on the real etcd (0: absent).
fn version_on(etcd: &str, key: &[u8]) -> i64 {
    let c = Client::builder().endpoints([etcd]).build().unwrap();
    c.v3().get(key.to_vec()).unwrap().map_or(0, |kv| kv.version)
}

/// A trailers-only answer with gRPC status `code` and `message`.
fn status(p: &mut Peer, id: u32, code: &str, message: &str) {
    let mut block = h2peer::response_head();
    block.extend_from_slice(&h2peer::trailers(code, message));
    p.send(
        h2peer::HEADERS,
        h2peer::END_HEADERS | h2peer::END_STREAM,
        id,
        &block,
    );
}

/// An answer readable as a RangeResponse, PutResponse or StatusResponse:
/// a header with this cluster id and raft term, and (for a range) one key.
fn answer_with(cluster_id: u64, raft_term: u64) -> Vec<u8> {
    pb::RangeResponse {
        header: Some(pb::ResponseHeader {
            cluster_id,
            member_id: 1,
            revision: 1,
            raft_term,
        }),
        kvs: vec![mvccpb::KeyValue {
            key: b"from-the-peer".to_vec(),
            value: b"stale".to_vec(),
            create_revision: 1,
            mod_revision: 1,
            version: 1,
            lease: 0,
        }],
        more: false,
        count: 1,
    }
    .encode_to_vec()
}

#[test]
fn a_write_the_server_refused_with_goaway_goes_to_the_next_member() {
    let etcd = &common::shared().url;
    let p = fake(|p, _| p.goaway(0, 0, b"going away"));
    let c = client_of(&p.url, etcd);
    let k = key("goaway");
    c.v3().put(k.clone(), "v").unwrap();
    assert_eq!(requests(&p), 1);
    assert_eq!(version_on(etcd, &k), 1, "applied once, on the next member");
    assert_eq!(c.endpoints()[0], *etcd, "the next calls start there");
}

#[test]
fn a_refused_stream_moves_a_write_on() {
    let etcd = &common::shared().url;
    // REFUSED_STREAM (7): the server did not process the call.
    let p = fake(|p, id| p.rst(id, 7));
    let c = client_of(&p.url, etcd);
    let k = key("refused");
    c.v3().put(k.clone(), "v").unwrap();
    assert_eq!(requests(&p), 1);
    assert_eq!(version_on(etcd, &k), 1);
}

#[test]
fn a_write_reset_after_it_was_sent_is_ambiguous_and_not_sent_again() {
    let etcd = &common::shared().url;
    // INTERNAL_ERROR (2) after the whole request arrived.
    let p = fake(|p, id| p.rst(id, 2));
    let c = client_of(&p.url, etcd);
    let k = key("reset-write");
    let e = c.v3().put(k.clone(), "v").unwrap_err();
    assert!(
        matches!(e, Error::Ambiguous { ref endpoint, .. } if *endpoint == p.url),
        "{e:?}"
    );
    assert_eq!(version_on(etcd, &k), 0, "never sent to the next member");
    // The member that failed mid-call is left: the next call starts on
    // the next one.
    c.v3().put(k.clone(), "v").unwrap();
    assert_eq!(requests(&p), 1);
    assert_eq!(version_on(etcd, &k), 1);
}

#[test]
fn a_read_reset_after_it_was_sent_moves_on() {
    let etcd = &common::shared().url;
    let k = key("reset-read");
    Client::builder()
        .endpoints([etcd.as_str()])
        .build()
        .unwrap()
        .v3()
        .put(k.clone(), "there")
        .unwrap();
    let p = fake(|p, id| p.rst(id, 2));
    let c = client_of(&p.url, etcd);
    assert_eq!(c.v3().get(k).unwrap().unwrap().value, b"there");
    assert_eq!(requests(&p), 1);
}

#[test]
fn a_connection_closed_after_the_request_makes_a_write_ambiguous() {
    let etcd = &common::shared().url;
    let p = H2Peer::start(|mut p| {
        if p.handshake(&[]) && p.read_request(&mut 0).is_some() {
            p.note("request");
        }
        // Returning closes the connection without an answer.
    });
    let c = client_of(&p.url, etcd);
    let k = key("closed");
    let e = c.v3().put(k.clone(), "v").unwrap_err();
    assert!(matches!(e, Error::Ambiguous { .. }), "{e:?}");
    assert_eq!(version_on(etcd, &k), 0);
}

#[test]
fn unavailable_on_a_write_is_ambiguous_with_etcds_message() {
    let etcd = &common::shared().url;
    let p = fake(|p, id| status(p, id, "14", "etcdserver: request timed out"));
    let c = client_of(&p.url, etcd);
    let k = key("unavailable");
    let e = c.v3().put(k.clone(), "v").unwrap_err();
    match &e {
        Error::Ambiguous { reason, .. } => {
            assert!(reason.contains("etcdserver: request timed out"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(version_on(etcd, &k), 0);
    // A read moves on.
    let p = fake(|p, id| status(p, id, "14", "etcdserver: request timed out"));
    let c = client_of(&p.url, etcd);
    assert_eq!(c.v3().get(k).unwrap(), None);
    assert_eq!(requests(&p), 1);
}

#[test]
fn no_leader_moves_a_write_on() {
    let etcd = &common::shared().url;
    // What a member without a leader answers a call sent with `hasleader`:
    // it did nothing.
    let p = fake(|p, id| status(p, id, "14", "etcdserver: no leader"));
    let c = client_of(&p.url, etcd);
    let k = key("no-leader");
    c.v3().put(k.clone(), "v").unwrap();
    assert_eq!(requests(&p), 1);
    assert_eq!(version_on(etcd, &k), 1);
}

#[test]
fn etcds_own_errors_are_final() {
    let etcd = &common::shared().url;
    let p = fake(|p, id| status(p, id, "5", "etcdserver: requested lease not found"));
    let c = client_of(&p.url, etcd);
    let e = c.v3().lease_revoke(77).unwrap_err();
    match e {
        Error::Grpc {
            code,
            message,
            endpoint,
        } => {
            assert_eq!(code, Code::NotFound);
            assert_eq!(message, "etcdserver: requested lease not found");
            assert_eq!(endpoint, p.url);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&p), 1);
}

#[test]
fn a_silent_member_times_a_read_out_and_makes_a_write_ambiguous() {
    let etcd = &common::shared().url;
    let p = fake(|p, _| p.note("silent"));
    let c = Client::builder()
        .endpoints([p.url.as_str(), etcd.as_str()])
        .read_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let k = key("silent");
    let t = Instant::now();
    let e = c.v3().put(k.clone(), "v").unwrap_err();
    assert!(matches!(e, Error::Ambiguous { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(version_on(etcd, &k), 0);
    // A read spends the whole time limit on the silent member: a timeout.
    let p = fake(|p, _| p.note("silent"));
    let c = Client::builder()
        .endpoints([p.url.as_str(), etcd.as_str()])
        .read_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let e = c.v3().get(k).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
}

/// The real etcd's cluster id and raft term, as its answers carry them.
fn header_of(etcd: &str) -> etcdc::v3::Header {
    let c = Client::builder().endpoints([etcd]).build().unwrap();
    c.v3().range(&Range::key("any")).unwrap().header
}

#[test]
fn a_member_of_another_cluster_is_refused() {
    let etcd = &common::shared().url;
    let p = fake(|p, id| p.answer(id, &answer_with(0xdead, 1_000)));
    let sole = Client::builder()
        .endpoints([p.url.as_str()])
        .expected_cluster_id(&format!("{:x}", header_of(etcd).cluster_id))
        .build()
        .unwrap();
    let e = sole.v3().get("x").unwrap_err();
    assert!(
        matches!(e, Error::ClusterIdMismatch { ref found, .. } if found == "dead"),
        "{e:?}"
    );
    // Nor does it get a write: it must prove its id first, and cannot.
    let before = requests(&p);
    let e = sole.v3().put("x", "v").unwrap_err();
    assert!(matches!(e, Error::ClusterIdMismatch { .. }), "{e:?}");
    assert_eq!(requests(&p), before + 1, "only the probe reached it");
}

#[test]
fn a_member_behind_the_clusters_raft_term_does_not_answer_linearizable_reads() {
    let mut etcd = common::Etcd::start();
    let real = header_of(&etcd.url);
    assert!(real.raft_term >= 2, "{real:?}");
    // The peer answers as a member of the same cluster, cut off at term 1.
    let p = fake(move |p, id| p.answer(id, &answer_with(real.cluster_id, 1)));
    let c = Client::builder()
        .endpoints([etcd.url.as_str(), p.url.as_str()])
        .read_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    c.v3().put("k", "v").unwrap();
    etcd.kill();
    let e = c.v3().get("k").unwrap_err();
    match e {
        Error::StaleMember { term, seen, .. } => {
            assert_eq!(term, 1);
            assert!(seen >= 2, "{seen}");
        }
        other => panic!("{other:?}"),
    }
    // A serializable read accepts what the member has.
    let r = c.v3().range(&Range::key("k").serializable()).unwrap();
    assert_eq!(r.kvs[0].value, b"stale");
    assert_eq!(r.header.raft_term, 1);
}
