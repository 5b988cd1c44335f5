//! What v3 answers carry: [`Header`], [`KeyValue`] and the responses of
//! the key-value calls, converted from etcd's messages (keys and values
//! stay bytes).

use super::proto::{etcdserverpb as pb, mvccpb};

/// Every answer's header: who answered and the store's revision then.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// The cluster that answered.
    pub cluster_id: u64,
    /// The member that answered.
    pub member_id: u64,
    /// The key-value store's revision when the call was applied: for a
    /// write, the revision it made; for a read, the store's revision then,
    /// also when it read at an older one ([`Range::revision`](super::Range::revision)).
    /// In the answers of a txn's ops ([`OpResponse`]) etcd sets only this
    /// field of their headers (a range before the txn's first write: the
    /// revision before the txn), and none of a nested txn's header.
    pub revision: i64,
    /// The raft term of the member when it answered.
    pub raft_term: u64,
}

impl From<Option<pb::ResponseHeader>> for Header {
    fn from(h: Option<pb::ResponseHeader>) -> Header {
        let h = h.unwrap_or_default();
        Header {
            cluster_id: h.cluster_id,
            member_id: h.member_id,
            revision: h.revision,
            raft_term: h.raft_term,
        }
    }
}

/// A key and its value, with the revisions that made them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    /// Empty when read with [`Range::keys_only`](super::Range::keys_only).
    pub value: Vec<u8>,
    /// The revision of the key's creation (since it last did not exist).
    pub create_revision: i64,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// How many times it was written since its creation (1 after it).
    pub version: i64,
    /// The lease it is attached to; 0 for none.
    pub lease: i64,
}

impl From<mvccpb::KeyValue> for KeyValue {
    fn from(kv: mvccpb::KeyValue) -> KeyValue {
        KeyValue {
            key: kv.key,
            value: kv.value,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            lease: kv.lease,
        }
    }
}

fn kvs(list: Vec<mvccpb::KeyValue>) -> Vec<KeyValue> {
    list.into_iter().map(KeyValue::from).collect()
}

/// The answer to a [`Range`](super::Range).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeResponse {
    pub header: Header,
    /// The keys found, in the order asked for (by key when none); empty
    /// when counting only.
    pub kvs: Vec<KeyValue>,
    /// More keys are in the range than the limit let through.
    pub more: bool,
    /// How many keys are in the range (whatever the limit, and before the
    /// min/max revision filters, which etcd applies after counting).
    pub count: i64,
}

impl From<pb::RangeResponse> for RangeResponse {
    fn from(r: pb::RangeResponse) -> RangeResponse {
        RangeResponse {
            header: r.header.into(),
            kvs: kvs(r.kvs),
            more: r.more,
            count: r.count,
        }
    }
}

/// The answer to a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutResponse {
    /// `header.revision` is the revision the put made.
    pub header: Header,
    /// The key before the put, when asked for ([`Put::prev_kv`](super::Put::prev_kv))
    /// and it existed.
    pub prev_kv: Option<KeyValue>,
}

impl From<pb::PutResponse> for PutResponse {
    fn from(r: pb::PutResponse) -> PutResponse {
        PutResponse {
            header: r.header.into(),
            prev_kv: r.prev_kv.map(KeyValue::from),
        }
    }
}

/// The answer to a [`Delete`](super::Delete).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteResponse {
    pub header: Header,
    /// How many keys were deleted (0 when none existed: not an error).
    pub deleted: i64,
    /// The deleted keys, when asked for ([`Delete::prev_kv`](super::Delete::prev_kv)).
    pub prev_kvs: Vec<KeyValue>,
}

impl From<pb::DeleteRangeResponse> for DeleteResponse {
    fn from(r: pb::DeleteRangeResponse) -> DeleteResponse {
        DeleteResponse {
            header: r.header.into(),
            deleted: r.deleted,
            prev_kvs: kvs(r.prev_kvs),
        }
    }
}

/// The answer to a [`Txn`](super::Txn).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnResponse {
    pub header: Header,
    /// Every compare held: the success branch ran (else the failure one).
    pub succeeded: bool,
    /// The answers of the branch that ran, one per op, in order.
    pub responses: Vec<OpResponse>,
}

/// The answer to one op of a transaction's branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResponse {
    Range(RangeResponse),
    Put(PutResponse),
    Delete(DeleteResponse),
    Txn(TxnResponse),
}

impl From<pb::TxnResponse> for TxnResponse {
    fn from(r: pb::TxnResponse) -> TxnResponse {
        use pb::response_op::Response as R;
        let responses = r
            .responses
            .into_iter()
            .filter_map(|op| op.response)
            .map(|op| match op {
                R::ResponseRange(r) => OpResponse::Range(r.into()),
                R::ResponsePut(r) => OpResponse::Put(r.into()),
                R::ResponseDeleteRange(r) => OpResponse::Delete(r.into()),
                R::ResponseTxn(r) => OpResponse::Txn(r.into()),
            })
            .collect();
        TxnResponse {
            header: r.header.into(),
            succeeded: r.succeeded,
            responses,
        }
    }
}
