//! The generated v3 messages (src/v3/proto, written by tools/gen-proto from
//! etcd's .proto files) against protobuf's wire format and against real etcd
//! servers, without any gRPC code of the client:
//!
//! - golden bytes, computed by hand from the protobuf encoding rules, for
//!   RangeRequest, PutRequest, TxnRequest (Compare, RequestOp oneofs),
//!   WatchRequest (create_request) and LeaseGrantRequest: every field kind
//!   (bytes, int64 with negative and multi-byte values, bool, enum, nested and
//!   repeated messages, packed repeated enums, oneofs with default values);
//! - a round trip of the request and response of every rpc of every service,
//!   with non-default values, checked complete against `methods::ALL`;
//! - real etcd 3.4 (Debian's, as the other tests) and 3.5.1 (upstream): our
//!   encoded requests sent by `curl` as gRPC over h2c to the method paths of
//!   `methods`, etcd's answers decoded with our types (Put, Range, Txn,
//!   DeleteRange, LeaseGrant, a Watch stream), cross-checked with `etcdctl`
//!   3.5.1, the interoperability peer, which must run against both.

mod common;

#[path = "../src/v3/proto/mod.rs"]
mod proto;

use std::io::Write;
use std::process::{Command, Stdio};

use prost::Message;
use proto::methods::{self, Method, Streaming};
use proto::{authpb, etcdserverpb as pb, mvccpb, v3electionpb, v3lockpb};

/// Encodes `msg`, checks it decodes back to itself, and returns the bytes.
fn encode<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M) -> Vec<u8> {
    let bytes = msg.encode_to_vec();
    assert_eq!(bytes.len(), msg.encoded_len());
    let back = M::decode(bytes.as_slice()).expect("decode what we encoded");
    assert_eq!(&back, msg);
    bytes
}

/// Checks `msg` encodes to exactly `golden`, and `golden` decodes to `msg`.
fn assert_golden<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M, golden: &[u8]) {
    assert_eq!(encode(msg), golden, "encoding of {msg:?}");
    assert_eq!(&M::decode(golden).expect("decode the golden bytes"), msg);
}

// ---------------------------------------------------------------------------
// Golden wire bytes

#[test]
fn golden_range_request() {
    let msg = pb::RangeRequest {
        key: b"foo".to_vec(),
        range_end: b"fop".to_vec(),
        limit: 10,
        revision: 300,
        sort_order: pb::range_request::SortOrder::Descend as i32,
        sort_target: pb::range_request::SortTarget::Mod as i32,
        serializable: true,
        keys_only: true,
        count_only: false, // default: not on the wire
        min_mod_revision: -1,
        max_create_revision: 1 << 40,
        ..Default::default()
    };
    #[rustfmt::skip]
    let golden = [
        0x0a, 3, b'f', b'o', b'o',          // 1 key: bytes
        0x12, 3, b'f', b'o', b'p',          // 2 range_end
        0x18, 10,                           // 3 limit: int64
        0x20, 0xac, 0x02,                   // 4 revision: 300, two varint bytes
        0x28, 2,                            // 5 sort_order: DESCEND
        0x30, 3,                            // 6 sort_target: MOD
        0x38, 1,                            // 7 serializable
        0x40, 1,                            // 8 keys_only
        0x50, 0xff, 0xff, 0xff, 0xff, 0xff, // 10 min_mod_revision: -1, ten bytes
        0xff, 0xff, 0xff, 0xff, 0x01,
        0x68, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, // 13 max_create_revision: 2^40
    ];
    assert_golden(&msg, &golden);
}

#[test]
fn golden_put_request() {
    let msg = pb::PutRequest {
        key: b"k".to_vec(),
        value: vec![0x00, 0xff],
        lease: 0x1234,
        prev_kv: true,
        ignore_value: false,
        ignore_lease: true,
    };
    #[rustfmt::skip]
    let golden = [
        0x0a, 1, b'k',       // 1 key
        0x12, 2, 0x00, 0xff, // 2 value: any bytes
        0x18, 0xb4, 0x24,    // 3 lease: 0x1234
        0x20, 1,             // 4 prev_kv
        0x30, 1,             // 6 ignore_lease
    ];
    assert_golden(&msg, &golden);
}

#[test]
fn golden_txn_request() {
    use pb::compare::{CompareResult, CompareTarget, TargetUnion};
    use pb::request_op::Request;
    let msg = pb::TxnRequest {
        compare: vec![
            pb::Compare {
                result: CompareResult::NotEqual as i32,
                target: CompareTarget::Value as i32,
                key: b"k".to_vec(),
                range_end: b"l".to_vec(),
                target_union: Some(TargetUnion::Value(b"v".to_vec())),
            },
            // EQUAL and VERSION are 0, so not on the wire; a oneof member is,
            // even when 0 (version == 0: the key does not exist).
            pb::Compare {
                result: CompareResult::Equal as i32,
                target: CompareTarget::Version as i32,
                key: b"k".to_vec(),
                range_end: vec![],
                target_union: Some(TargetUnion::Version(0)),
            },
        ],
        success: vec![pb::RequestOp {
            request: Some(Request::RequestPut(pb::PutRequest {
                key: b"k".to_vec(),
                value: b"v2".to_vec(),
                ..Default::default()
            })),
        }],
        failure: vec![
            pb::RequestOp {
                request: Some(Request::RequestRange(pb::RangeRequest {
                    key: b"k".to_vec(),
                    ..Default::default()
                })),
            },
            // An empty message in a oneof is still there (two bytes).
            pb::RequestOp {
                request: Some(Request::RequestRange(pb::RangeRequest::default())),
            },
        ],
    };
    #[rustfmt::skip]
    let golden = [
        0x0a, 14,                   // 1 compare[0]: message, 14 bytes
          0x08, 3,                  //   1 result: NOT_EQUAL
          0x10, 3,                  //   2 target: VALUE
          0x1a, 1, b'k',            //   3 key
          0x3a, 1, b'v',            //   7 value (oneof target_union)
          0x82, 0x04, 1, b'l',      //   64 range_end: a two-byte tag
        0x0a, 5,                    // 1 compare[1]
          0x1a, 1, b'k',            //   3 key
          0x20, 0,                  //   4 version = 0 (oneof target_union)
        0x12, 9,                    // 2 success[0]: RequestOp
          0x12, 7,                  //   2 request_put (oneof request)
            0x0a, 1, b'k',          //     1 key
            0x12, 2, b'v', b'2',    //     2 value
        0x1a, 5,                    // 3 failure[0]
          0x0a, 3,                  //   1 request_range
            0x0a, 1, b'k',          //     1 key
        0x1a, 2,                    // 3 failure[1]
          0x0a, 0,                  //   1 request_range, empty
    ];
    assert_golden(&msg, &golden);
}

#[test]
fn golden_watch_create_request() {
    use pb::watch_create_request::FilterType;
    let msg = pb::WatchRequest {
        request_union: Some(pb::watch_request::RequestUnion::CreateRequest(
            pb::WatchCreateRequest {
                key: b"a".to_vec(),
                range_end: b"b".to_vec(),
                start_revision: 5,
                progress_notify: true,
                filters: vec![FilterType::Nodelete as i32, FilterType::Noput as i32],
                prev_kv: true,
                watch_id: 7,
                fragment: true,
            },
        )),
    };
    #[rustfmt::skip]
    let golden = [
        0x0a, 20,               // 1 create_request (oneof request_union)
          0x0a, 1, b'a',        //   1 key
          0x12, 1, b'b',        //   2 range_end
          0x18, 5,              //   3 start_revision
          0x20, 1,              //   4 progress_notify
          0x2a, 2, 1, 0,        //   5 filters: packed (proto3), NODELETE, NOPUT
          0x30, 1,              //   6 prev_kv
          0x38, 7,              //   7 watch_id
          0x40, 1,              //   8 fragment
    ];
    assert_golden(&msg, &golden);
    // etcd's older clients send repeated enums unpacked: both must decode.
    let unpacked = [
        0x0a, 4, 0x28, 1, 0x28, 0, // create_request { filters: [1, 0] }, unpacked
    ];
    let decoded = pb::WatchRequest::decode(&unpacked[..]).unwrap();
    let Some(pb::watch_request::RequestUnion::CreateRequest(create)) = decoded.request_union else {
        panic!("not a create_request: {decoded:?}");
    };
    assert_eq!(create.filters, [1, 0]);
}

#[test]
fn golden_lease_grant_request() {
    let msg = pb::LeaseGrantRequest {
        ttl: 60,
        id: i64::MAX,
    };
    #[rustfmt::skip]
    let golden = [
        0x08, 60,                                               // 1 TTL
        0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, // 2 ID: 2^63 - 1
    ];
    assert_golden(&msg, &golden);
}

/// Unknown fields (a newer etcd's) are skipped, not an error.
#[test]
fn unknown_fields_are_skipped() {
    #[rustfmt::skip]
    let bytes = [
        0x0a, 1, b'k',         // 1 key
        0xf8, 0x06, 1,         // 111: an unknown varint
        0x82, 0x07, 1, b'x',   // 112: unknown bytes
        0x18, 3,               // 3 lease
    ];
    let put = pb::PutRequest::decode(&bytes[..]).unwrap();
    assert_eq!((put.key.as_slice(), put.lease), (&b"k"[..], 3));
}

// ---------------------------------------------------------------------------
// Every rpc's messages, round-tripped

fn header() -> Option<pb::ResponseHeader> {
    Some(pb::ResponseHeader {
        cluster_id: u64::MAX,
        member_id: 0x8e9e_05c5_2164_694d,
        revision: 1 << 33,
        raft_term: 7,
    })
}

fn kv(key: &str) -> mvccpb::KeyValue {
    mvccpb::KeyValue {
        key: key.into(),
        create_revision: 2,
        mod_revision: 3_000_000_000,
        version: 2,
        value: vec![0, 1, 0xfe, 0xff],
        lease: -5,
    }
}

fn member() -> pb::Member {
    pb::Member {
        id: 0x8e9e_05c5_2164_694d,
        name: "n1".into(),
        peer_ur_ls: vec!["http://127.0.0.1:2380".into()],
        client_ur_ls: vec!["http://127.0.0.1:2379".into(), "http://[::1]:2379".into()],
        is_learner: true,
    }
}

fn perm() -> authpb::Permission {
    authpb::Permission {
        perm_type: authpb::permission::Type::Readwrite as i32,
        key: b"/a".to_vec(),
        range_end: b"/b".to_vec(),
    }
}

fn leader_key() -> v3electionpb::LeaderKey {
    v3electionpb::LeaderKey {
        name: b"election".to_vec(),
        key: b"election/694d".to_vec(),
        rev: 12,
        lease: 0x694d,
    }
}

/// Round trips of rpcs' messages, each recorded by its method's path.
#[derive(Default)]
struct RoundTrips(Vec<&'static str>);

impl RoundTrips {
    /// `method`'s request and response encode and decode back; a message with
    /// fields must be given non-default values (it encodes to something).
    fn check<Req, Resp>(&mut self, method: Method<Req, Resp>, req: Req, resp: Resp)
    where
        Req: Message + Default + PartialEq + std::fmt::Debug,
        Resp: Message + Default + PartialEq + std::fmt::Debug,
    {
        for (what, bytes, is_empty_type) in [
            ("request", encode(&req), Req::default() == req),
            ("response", encode(&resp), Resp::default() == resp),
        ] {
            assert!(
                !bytes.is_empty() || is_empty_type,
                "{} {what}: non-default values expected",
                method.path
            );
        }
        self.0.push(method.path);
    }
}

#[test]
fn every_rpc_round_trips() {
    use methods::*;
    use pb::compare::{CompareResult, CompareTarget, TargetUnion};
    use pb::request_op::Request;
    use pb::response_op::Response;
    let mut t = RoundTrips::default();

    // KV
    t.check(
        KV_RANGE,
        pb::RangeRequest {
            key: b"a".to_vec(),
            range_end: vec![0],
            limit: 1,
            revision: 2,
            sort_order: 1,
            sort_target: 4,
            serializable: true,
            keys_only: true,
            count_only: true,
            min_mod_revision: 3,
            max_mod_revision: 4,
            min_create_revision: 5,
            max_create_revision: 6,
        },
        pb::RangeResponse {
            header: header(),
            kvs: vec![kv("a"), kv("b")],
            more: true,
            count: 3,
        },
    );
    let put = pb::PutRequest {
        key: b"a".to_vec(),
        value: vec![0; 300],
        lease: 9,
        prev_kv: true,
        ignore_value: true,
        ignore_lease: true,
    };
    t.check(
        KV_PUT,
        put.clone(),
        pb::PutResponse {
            header: header(),
            prev_kv: Some(kv("a")),
        },
    );
    t.check(
        KV_DELETE_RANGE,
        pb::DeleteRangeRequest {
            key: b"a".to_vec(),
            range_end: b"b".to_vec(),
            prev_kv: true,
        },
        pb::DeleteRangeResponse {
            header: header(),
            deleted: 2,
            prev_kvs: vec![kv("a"), kv("a1")],
        },
    );
    let nested = pb::TxnRequest {
        compare: vec![pb::Compare {
            result: CompareResult::Less as i32,
            target: CompareTarget::Lease as i32,
            key: b"k".to_vec(),
            range_end: vec![],
            target_union: Some(TargetUnion::Lease(0)),
        }],
        success: vec![pb::RequestOp {
            request: Some(Request::RequestDeleteRange(pb::DeleteRangeRequest {
                key: b"k".to_vec(),
                ..Default::default()
            })),
        }],
        failure: vec![],
    };
    t.check(
        KV_TXN,
        pb::TxnRequest {
            compare: vec![
                pb::Compare {
                    result: CompareResult::Greater as i32,
                    target: CompareTarget::Create as i32,
                    key: b"k".to_vec(),
                    range_end: b"l".to_vec(),
                    target_union: Some(TargetUnion::CreateRevision(5)),
                },
                pb::Compare {
                    result: CompareResult::Equal as i32,
                    target: CompareTarget::Mod as i32,
                    key: b"k".to_vec(),
                    range_end: vec![],
                    target_union: Some(TargetUnion::ModRevision(6)),
                },
            ],
            success: vec![
                pb::RequestOp {
                    request: Some(Request::RequestPut(put)),
                },
                pb::RequestOp {
                    request: Some(Request::RequestTxn(nested)),
                },
            ],
            failure: vec![pb::RequestOp {
                request: Some(Request::RequestRange(pb::RangeRequest {
                    key: b"k".to_vec(),
                    ..Default::default()
                })),
            }],
        },
        pb::TxnResponse {
            header: header(),
            succeeded: true,
            responses: vec![
                pb::ResponseOp {
                    response: Some(Response::ResponsePut(pb::PutResponse {
                        header: header(),
                        prev_kv: None,
                    })),
                },
                pb::ResponseOp {
                    response: Some(Response::ResponseTxn(pb::TxnResponse {
                        header: header(),
                        succeeded: false,
                        responses: vec![pb::ResponseOp {
                            response: Some(Response::ResponseDeleteRange(
                                pb::DeleteRangeResponse {
                                    header: header(),
                                    deleted: 1,
                                    prev_kvs: vec![],
                                },
                            )),
                        }],
                    })),
                },
                pb::ResponseOp {
                    response: Some(Response::ResponseRange(pb::RangeResponse {
                        header: header(),
                        kvs: vec![kv("k")],
                        more: false,
                        count: 1,
                    })),
                },
            ],
        },
    );
    t.check(
        KV_COMPACT,
        pb::CompactionRequest {
            revision: 100,
            physical: true,
        },
        pb::CompactionResponse { header: header() },
    );

    // Watch: each request kind in turn, with one response.
    let watch_response = pb::WatchResponse {
        header: header(),
        watch_id: 3,
        created: true,
        canceled: true,
        compact_revision: 40,
        cancel_reason: "mvcc: required revision has been compacted".into(),
        fragment: true,
        events: vec![
            mvccpb::Event {
                r#type: mvccpb::event::EventType::Put as i32,
                kv: Some(kv("a")),
                prev_kv: None,
            },
            mvccpb::Event {
                r#type: mvccpb::event::EventType::Delete as i32,
                kv: Some(mvccpb::KeyValue {
                    key: b"a".to_vec(),
                    mod_revision: 9,
                    ..Default::default()
                }),
                prev_kv: Some(kv("a")),
            },
        ],
    };
    use pb::watch_request::RequestUnion;
    for union in [
        RequestUnion::CreateRequest(pb::WatchCreateRequest {
            key: b"a".to_vec(),
            filters: vec![1],
            ..Default::default()
        }),
        RequestUnion::CancelRequest(pb::WatchCancelRequest { watch_id: 3 }),
        RequestUnion::ProgressRequest(pb::WatchProgressRequest {}),
    ] {
        let req = pb::WatchRequest {
            request_union: Some(union),
        };
        encode(&req);
        if matches!(req.request_union, Some(RequestUnion::CreateRequest(_))) {
            t.check(WATCH_WATCH, req, watch_response.clone());
        }
    }

    // Lease
    t.check(
        LEASE_LEASE_GRANT,
        pb::LeaseGrantRequest { ttl: 60, id: 7 },
        pb::LeaseGrantResponse {
            header: header(),
            id: 7,
            ttl: 60,
            error: "lease already exists".into(),
        },
    );
    t.check(
        LEASE_LEASE_REVOKE,
        pb::LeaseRevokeRequest { id: 7 },
        pb::LeaseRevokeResponse { header: header() },
    );
    t.check(
        LEASE_LEASE_KEEP_ALIVE,
        pb::LeaseKeepAliveRequest { id: 7 },
        pb::LeaseKeepAliveResponse {
            header: header(),
            id: 7,
            ttl: 59,
        },
    );
    t.check(
        LEASE_LEASE_TIME_TO_LIVE,
        pb::LeaseTimeToLiveRequest { id: 7, keys: true },
        pb::LeaseTimeToLiveResponse {
            header: header(),
            id: 7,
            ttl: -1,
            granted_ttl: 60,
            keys: vec![b"a".to_vec(), vec![]],
        },
    );
    t.check(
        LEASE_LEASE_LEASES,
        pb::LeaseLeasesRequest {},
        pb::LeaseLeasesResponse {
            header: header(),
            leases: vec![pb::LeaseStatus { id: 7 }, pb::LeaseStatus { id: 8 }],
        },
    );

    // Cluster
    t.check(
        CLUSTER_MEMBER_ADD,
        pb::MemberAddRequest {
            peer_ur_ls: vec!["http://10.0.0.2:2380".into()],
            is_learner: true,
        },
        pb::MemberAddResponse {
            header: header(),
            member: Some(member()),
            members: vec![member(), member()],
        },
    );
    t.check(
        CLUSTER_MEMBER_REMOVE,
        pb::MemberRemoveRequest { id: 1 },
        pb::MemberRemoveResponse {
            header: header(),
            members: vec![member()],
        },
    );
    t.check(
        CLUSTER_MEMBER_UPDATE,
        pb::MemberUpdateRequest {
            id: 1,
            peer_ur_ls: vec!["http://10.0.0.3:2380".into()],
        },
        pb::MemberUpdateResponse {
            header: header(),
            members: vec![member()],
        },
    );
    t.check(
        CLUSTER_MEMBER_LIST,
        pb::MemberListRequest { linearizable: true },
        pb::MemberListResponse {
            header: header(),
            members: vec![member()],
        },
    );
    t.check(
        CLUSTER_MEMBER_PROMOTE,
        pb::MemberPromoteRequest { id: 1 },
        pb::MemberPromoteResponse {
            header: header(),
            members: vec![member()],
        },
    );

    // Maintenance
    t.check(
        MAINTENANCE_ALARM,
        pb::AlarmRequest {
            action: pb::alarm_request::AlarmAction::Deactivate as i32,
            member_id: 1,
            alarm: pb::AlarmType::Nospace as i32,
        },
        pb::AlarmResponse {
            header: header(),
            alarms: vec![pb::AlarmMember {
                member_id: 1,
                alarm: pb::AlarmType::Corrupt as i32,
            }],
        },
    );
    t.check(
        MAINTENANCE_STATUS,
        pb::StatusRequest {},
        pb::StatusResponse {
            header: header(),
            version: "3.5.1".into(),
            db_size: 20480,
            leader: 1,
            raft_index: 9,
            raft_term: 2,
            raft_applied_index: 9,
            errors: vec!["NOSPACE".into()],
            db_size_in_use: 16384,
            is_learner: true,
        },
    );
    t.check(
        MAINTENANCE_DEFRAGMENT,
        pb::DefragmentRequest {},
        pb::DefragmentResponse { header: header() },
    );
    t.check(
        MAINTENANCE_HASH,
        pb::HashRequest {},
        pb::HashResponse {
            header: header(),
            hash: u32::MAX,
        },
    );
    t.check(
        MAINTENANCE_HASH_KV,
        pb::HashKvRequest { revision: 5 },
        pb::HashKvResponse {
            header: header(),
            hash: 1,
            compact_revision: 2,
        },
    );
    t.check(
        MAINTENANCE_SNAPSHOT,
        pb::SnapshotRequest {},
        pb::SnapshotResponse {
            header: header(),
            remaining_bytes: 1 << 20,
            blob: vec![0xab; 1000],
        },
    );
    t.check(
        MAINTENANCE_MOVE_LEADER,
        pb::MoveLeaderRequest { target_id: 2 },
        pb::MoveLeaderResponse { header: header() },
    );
    t.check(
        MAINTENANCE_DOWNGRADE,
        pb::DowngradeRequest {
            action: pb::downgrade_request::DowngradeAction::Enable as i32,
            version: "3.4.0".into(),
        },
        pb::DowngradeResponse {
            header: header(),
            version: "3.5.1".into(),
        },
    );

    // Auth
    t.check(
        AUTH_AUTH_ENABLE,
        pb::AuthEnableRequest {},
        pb::AuthEnableResponse { header: header() },
    );
    t.check(
        AUTH_AUTH_DISABLE,
        pb::AuthDisableRequest {},
        pb::AuthDisableResponse { header: header() },
    );
    t.check(
        AUTH_AUTH_STATUS,
        pb::AuthStatusRequest {},
        pb::AuthStatusResponse {
            header: header(),
            enabled: true,
            auth_revision: 4,
        },
    );
    t.check(
        AUTH_AUTHENTICATE,
        pb::AuthenticateRequest {
            name: "root".into(),
            password: "p\u{e4}ss".into(),
        },
        pb::AuthenticateResponse {
            header: header(),
            token: "abc.123".into(),
        },
    );
    t.check(
        AUTH_USER_ADD,
        pb::AuthUserAddRequest {
            name: "u".into(),
            password: "p".into(),
            options: Some(authpb::UserAddOptions { no_password: true }),
            hashed_password: "$2a$10$x".into(),
        },
        pb::AuthUserAddResponse { header: header() },
    );
    t.check(
        AUTH_USER_GET,
        pb::AuthUserGetRequest { name: "u".into() },
        pb::AuthUserGetResponse {
            header: header(),
            roles: vec!["r1".into(), "r2".into()],
        },
    );
    t.check(
        AUTH_USER_LIST,
        pb::AuthUserListRequest {},
        pb::AuthUserListResponse {
            header: header(),
            users: vec!["root".into(), "u".into()],
        },
    );
    t.check(
        AUTH_USER_DELETE,
        pb::AuthUserDeleteRequest { name: "u".into() },
        pb::AuthUserDeleteResponse { header: header() },
    );
    t.check(
        AUTH_USER_CHANGE_PASSWORD,
        pb::AuthUserChangePasswordRequest {
            name: "u".into(),
            password: "q".into(),
            hashed_password: "$2a$10$y".into(),
        },
        pb::AuthUserChangePasswordResponse { header: header() },
    );
    t.check(
        AUTH_USER_GRANT_ROLE,
        pb::AuthUserGrantRoleRequest {
            user: "u".into(),
            role: "r".into(),
        },
        pb::AuthUserGrantRoleResponse { header: header() },
    );
    t.check(
        AUTH_USER_REVOKE_ROLE,
        pb::AuthUserRevokeRoleRequest {
            name: "u".into(),
            role: "r".into(),
        },
        pb::AuthUserRevokeRoleResponse { header: header() },
    );
    t.check(
        AUTH_ROLE_ADD,
        pb::AuthRoleAddRequest { name: "r".into() },
        pb::AuthRoleAddResponse { header: header() },
    );
    t.check(
        AUTH_ROLE_GET,
        pb::AuthRoleGetRequest { role: "r".into() },
        pb::AuthRoleGetResponse {
            header: header(),
            perm: vec![perm(), authpb::Permission::default()],
        },
    );
    t.check(
        AUTH_ROLE_LIST,
        pb::AuthRoleListRequest {},
        pb::AuthRoleListResponse {
            header: header(),
            roles: vec!["root".into()],
        },
    );
    t.check(
        AUTH_ROLE_DELETE,
        pb::AuthRoleDeleteRequest { role: "r".into() },
        pb::AuthRoleDeleteResponse { header: header() },
    );
    t.check(
        AUTH_ROLE_GRANT_PERMISSION,
        pb::AuthRoleGrantPermissionRequest {
            name: "r".into(),
            perm: Some(perm()),
        },
        pb::AuthRoleGrantPermissionResponse { header: header() },
    );
    t.check(
        AUTH_ROLE_REVOKE_PERMISSION,
        pb::AuthRoleRevokePermissionRequest {
            role: "r".into(),
            key: b"/a".to_vec(),
            range_end: b"/b".to_vec(),
        },
        pb::AuthRoleRevokePermissionResponse { header: header() },
    );

    // Lock
    t.check(
        LOCK_LOCK,
        v3lockpb::LockRequest {
            name: b"lock".to_vec(),
            lease: 7,
        },
        v3lockpb::LockResponse {
            header: header(),
            key: b"lock/694d".to_vec(),
        },
    );
    t.check(
        LOCK_UNLOCK,
        v3lockpb::UnlockRequest {
            key: b"lock/694d".to_vec(),
        },
        v3lockpb::UnlockResponse { header: header() },
    );

    // Election
    t.check(
        ELECTION_CAMPAIGN,
        v3electionpb::CampaignRequest {
            name: b"election".to_vec(),
            lease: 0x694d,
            value: b"me".to_vec(),
        },
        v3electionpb::CampaignResponse {
            header: header(),
            leader: Some(leader_key()),
        },
    );
    t.check(
        ELECTION_PROCLAIM,
        v3electionpb::ProclaimRequest {
            leader: Some(leader_key()),
            value: b"new".to_vec(),
        },
        v3electionpb::ProclaimResponse { header: header() },
    );
    let leader = v3electionpb::LeaderResponse {
        header: header(),
        kv: Some(kv("election/694d")),
    };
    t.check(
        ELECTION_LEADER,
        v3electionpb::LeaderRequest {
            name: b"election".to_vec(),
        },
        leader.clone(),
    );
    t.check(
        ELECTION_OBSERVE,
        v3electionpb::LeaderRequest {
            name: b"election".to_vec(),
        },
        leader,
    );
    t.check(
        ELECTION_RESIGN,
        v3electionpb::ResignRequest {
            leader: Some(leader_key()),
        },
        v3electionpb::ResignResponse { header: header() },
    );

    // Every method of methods::ALL, each once.
    let mut checked = t.0.clone();
    checked.sort_unstable();
    let mut all: Vec<&str> = ALL.iter().map(|(path, _)| *path).collect();
    all.sort_unstable();
    assert_eq!(checked, all, "every rpc's messages must be round-tripped");

    // The messages no rpc carries directly.
    encode(&pb::LeaseCheckpointRequest {
        checkpoints: vec![pb::LeaseCheckpoint {
            id: 7,
            remaining_ttl: 30,
        }],
    });
    encode(&pb::LeaseCheckpointResponse { header: header() });
    encode(&authpb::User {
        name: b"u".to_vec(),
        password: b"$2a$10$x".to_vec(),
        roles: vec!["r".into()],
        options: Some(authpb::UserAddOptions { no_password: false }),
    });
    encode(&authpb::Role {
        name: b"r".to_vec(),
        key_permission: vec![perm()],
    });
}

#[test]
fn method_table() {
    use methods::*;
    assert_eq!(KV_RANGE.path, "/etcdserverpb.KV/Range");
    assert_eq!(KV_RANGE.streaming, Streaming::Unary);
    assert_eq!(WATCH_WATCH.path, "/etcdserverpb.Watch/Watch");
    assert_eq!(WATCH_WATCH.streaming, Streaming::Bidi);
    assert_eq!(LEASE_LEASE_KEEP_ALIVE.streaming, Streaming::Bidi);
    assert_eq!(MAINTENANCE_SNAPSHOT.streaming, Streaming::Server);
    assert_eq!(ELECTION_OBSERVE.path, "/v3electionpb.Election/Observe");
    assert_eq!(ELECTION_OBSERVE.streaming, Streaming::Server);
    assert_eq!(LOCK_LOCK.path, "/v3lockpb.Lock/Lock");
    assert_eq!(MAINTENANCE_HASH_KV.path, "/etcdserverpb.Maintenance/HashKV");
    assert_eq!(AUTH_USER_ADD.path, "/etcdserverpb.Auth/UserAdd");
    // etcd 3.5: 48 rpcs in 8 services; none client-streaming only.
    assert_eq!(ALL.len(), 48);
    let count = |s| ALL.iter().filter(|(_, k)| *k == s).count();
    assert_eq!(
        [
            count(Streaming::Unary),
            count(Streaming::Client),
            count(Streaming::Server),
            count(Streaming::Bidi)
        ],
        [44, 0, 2, 2]
    );
    let mut paths: Vec<_> = ALL.iter().map(|(p, _)| p).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), ALL.len(), "no path twice");
}

// ---------------------------------------------------------------------------
// Against real etcd servers

/// Sends `req` as a gRPC call to `method` on `url` with curl (HTTP/2 with prior
/// knowledge, h2c), for at most `max_secs`; returns the messages of etcd's
/// answer decoded as `Resp`, and its `grpc-status` (None if the call was cut
/// by `max_secs`, as a stream is).
fn grpc_curl<Req: Message, Resp: Message + Default>(
    url: &str,
    method: Method<Req, Resp>,
    req: &Req,
    max_secs: u32,
) -> (Vec<Resp>, Option<String>) {
    let body = req.encode_to_vec();
    let mut framed = vec![0u8]; // not compressed
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    let dir = std::env::temp_dir().join(format!("etcdc-v3proto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let headers = dir.join(format!("headers-{:?}", std::thread::current().id()));
    let mut child = Command::new("curl")
        .args(["-sS", "--http2-prior-knowledge", "-X", "POST"])
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .args(["--max-time", &max_secs.to_string(), "--data-binary", "@-"])
        .arg("-D")
        .arg(&headers)
        .arg(format!("{url}{}", method.path))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run curl (it sends the gRPC calls here): {e}"));
    child.stdin.take().unwrap().write_all(&framed).unwrap();
    let out = child.wait_with_output().unwrap();
    let head = std::fs::read_to_string(&headers).unwrap_or_default();
    let _ = std::fs::remove_file(&headers);
    let timed_out = out.status.code() == Some(28);
    assert!(
        out.status.success() || timed_out,
        "curl {}: {}\n{}",
        method.path,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        head.starts_with("HTTP/2 200"),
        "{}: not an HTTP/2 200 (does this curl speak HTTP/2?):\n{head}",
        method.path
    );
    let status = head
        .lines()
        .find_map(|l| l.strip_prefix("grpc-status:"))
        .map(|s| s.trim().to_owned());
    let mut messages = vec![];
    let mut rest = out.stdout.as_slice();
    while !rest.is_empty() {
        assert!(
            rest.len() >= 5 && rest[0] == 0,
            "a bad gRPC frame: {rest:?}"
        );
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let (msg, tail) = rest[5..].split_at(len);
        messages.push(
            Resp::decode(msg)
                .unwrap_or_else(|e| panic!("{}: etcd's answer does not decode: {e}", method.path)),
        );
        rest = tail;
    }
    (messages, status)
}

/// One unary call that must succeed; its answer.
fn unary<Req: Message, Resp: Message + Default>(
    url: &str,
    method: Method<Req, Resp>,
    req: &Req,
) -> Resp {
    assert_eq!(method.streaming, Streaming::Unary);
    let (mut answers, status) = grpc_curl(url, method, req, 10);
    assert_eq!(status.as_deref(), Some("0"), "{} failed", method.path);
    assert_eq!(answers.len(), 1, "{}: one answer", method.path);
    answers.pop().unwrap()
}

/// etcdctl 3.5.1 runs against `url`: `args`' stdout, which must succeed.
fn etcdctl_ok(url: &str, args: &[&str]) -> Vec<u8> {
    let out = common::etcd35::etcdctl(url, args);
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Our encoded requests, etcd's encoded answers, and etcdctl 3.5.1 agreeing
/// on what they did, against the etcd at `url` (`server` is its version).
fn talk_to(url: &str, server: &str) {
    let key = format!("{}/k", common::prefix(&format!("v3proto-{server}")));
    let value = vec![0u8, 1, 0xfe, 0xff, b'+', b'%', b'\n'];

    // Put with our encoding; etcdctl reads it back.
    let put = unary(
        url,
        methods::KV_PUT,
        &pb::PutRequest {
            key: key.clone().into(),
            value: value.clone(),
            prev_kv: true,
            ..Default::default()
        },
    );
    let header = put.header.expect("a header");
    assert_ne!(header.cluster_id, 0);
    assert_ne!(header.member_id, 0);
    assert!(header.revision > 0);
    assert_eq!(put.prev_kv, None, "a new key has no previous value");
    let printed = etcdctl_ok(url, &["get", "--print-value-only", &key]);
    assert_eq!(printed, [value.as_slice(), b"\n"].concat());

    // etcdctl puts; we range over it, and the revisions agree.
    etcdctl_ok(url, &["put", &format!("{key}2"), "from etcdctl"]);
    let range = unary(
        url,
        methods::KV_RANGE,
        &pb::RangeRequest {
            key: key.clone().into(),
            range_end: format!("{key}3").into(),
            sort_order: pb::range_request::SortOrder::Ascend as i32,
            ..Default::default()
        },
    );
    assert_eq!(range.count, 2);
    assert!(!range.more);
    let [first, second] = &range.kvs[..] else {
        panic!("two keys expected: {range:?}");
    };
    assert_eq!(
        (first.key.as_slice(), &first.value),
        (key.as_bytes(), &value)
    );
    assert_eq!(first.mod_revision, header.revision);
    assert_eq!((first.version, first.create_revision), (1, header.revision));
    assert_eq!(second.value, b"from etcdctl");
    assert!(second.mod_revision > first.mod_revision);

    // Txn with a Compare on the value and RequestOps in both branches.
    use pb::compare::{CompareResult, CompareTarget, TargetUnion};
    use pb::request_op::Request;
    use pb::response_op::Response;
    let txn = |expected: &[u8]| pb::TxnRequest {
        compare: vec![pb::Compare {
            result: CompareResult::Equal as i32,
            target: CompareTarget::Value as i32,
            key: key.clone().into(),
            range_end: vec![],
            target_union: Some(TargetUnion::Value(expected.to_vec())),
        }],
        success: vec![pb::RequestOp {
            request: Some(Request::RequestPut(pb::PutRequest {
                key: key.clone().into(),
                value: b"swapped".to_vec(),
                prev_kv: true,
                ..Default::default()
            })),
        }],
        failure: vec![pb::RequestOp {
            request: Some(Request::RequestRange(pb::RangeRequest {
                key: key.clone().into(),
                ..Default::default()
            })),
        }],
    };
    let won = unary(url, methods::KV_TXN, &txn(&value));
    assert!(won.succeeded);
    let [pb::ResponseOp {
        response: Some(Response::ResponsePut(put)),
    }] = &won.responses[..]
    else {
        panic!("one put response expected: {won:?}");
    };
    assert_eq!(put.prev_kv.as_ref().map(|kv| &kv.value), Some(&value));
    let lost = unary(url, methods::KV_TXN, &txn(&value));
    assert!(!lost.succeeded);
    let [pb::ResponseOp {
        response: Some(Response::ResponseRange(range)),
    }] = &lost.responses[..]
    else {
        panic!("one range response expected: {lost:?}");
    };
    assert_eq!(range.kvs[0].value, b"swapped");

    // A lease, and a key on it that etcdctl sees with that lease.
    let lease = unary(
        url,
        methods::LEASE_LEASE_GRANT,
        &pb::LeaseGrantRequest { ttl: 60, id: 0 },
    );
    assert!(lease.id > 0 && lease.ttl == 60, "{lease:?}");
    assert_eq!(lease.error, "");
    unary(
        url,
        methods::KV_PUT,
        &pb::PutRequest {
            key: format!("{key}/leased").into(),
            value: b"x".to_vec(),
            lease: lease.id,
            ..Default::default()
        },
    );
    let json = String::from_utf8(etcdctl_ok(
        url,
        &["get", "-w", "json", &format!("{key}/leased")],
    ))
    .unwrap();
    assert!(
        json.contains(&format!("\"lease\":{}", lease.id)),
        "etcdctl sees the key on lease {}: {json}",
        lease.id
    );

    // A watch from the first put's revision: created, then the events so far.
    let (answers, status) = grpc_curl(
        url,
        methods::WATCH_WATCH,
        &pb::WatchRequest {
            request_union: Some(pb::watch_request::RequestUnion::CreateRequest(
                pb::WatchCreateRequest {
                    key: key.clone().into(),
                    start_revision: header.revision,
                    prev_kv: true,
                    ..Default::default()
                },
            )),
        },
        2,
    );
    assert_eq!(status, None, "a watch stream stays open");
    assert!(answers[0].created, "first answer: created: {answers:?}");
    let events: Vec<_> = answers.iter().flat_map(|a| &a.events).collect();
    let values: Vec<_> = events
        .iter()
        .map(|e| e.kv.as_ref().unwrap().value.as_slice())
        .collect();
    assert_eq!(values, [&value[..], b"swapped"], "{answers:?}");
    assert_eq!(
        events[1].prev_kv.as_ref().map(|kv| &kv.value),
        Some(&value),
        "prev_kv"
    );

    // DeleteRange of the prefix; etcdctl finds nothing left.
    let deleted = unary(
        url,
        methods::KV_DELETE_RANGE,
        &pb::DeleteRangeRequest {
            key: key.clone().into(),
            range_end: format!("{key}3").into(),
            prev_kv: true,
        },
    );
    assert_eq!(deleted.deleted, 3);
    assert_eq!(deleted.prev_kvs.len(), 3);
    assert_eq!(etcdctl_ok(url, &["get", "--prefix", &key]), b"");

    // An error comes back as a grpc-status, without a message.
    let (answers, status) = grpc_curl(url, methods::KV_PUT, &pb::PutRequest::default(), 10);
    assert!(answers.is_empty());
    assert_eq!(
        status.as_deref(),
        Some("3"),
        "an empty key: INVALID_ARGUMENT"
    );
}

#[test]
fn etcdctl_35_runs() {
    let out = Command::new(common::etcd35::etcdctl_bin())
        .arg("version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "etcdctl version: {}", out.status);
    assert!(text.contains("etcdctl version: 3.5.1"), "{text}");
}

#[test]
fn etcd_34_speaks_our_messages() {
    let etcd = common::shared();
    let version =
        String::from_utf8(etcdctl_ok(&etcd.url, &["endpoint", "status", "-w", "json"])).unwrap();
    assert!(version.contains("\"version\":\"3.4."), "{version}");
    talk_to(&etcd.url, "3.4");
}

#[test]
fn etcd_35_speaks_our_messages() {
    let etcd = common::etcd35::shared();
    let version =
        String::from_utf8(etcdctl_ok(&etcd.url, &["endpoint", "status", "-w", "json"])).unwrap();
    assert!(version.contains("\"version\":\"3.5.1\""), "{version}");
    talk_to(&etcd.url, "3.5");
}
