//! Transactions: [`Txn`] (compares, then the success or the failure
//! branch, atomically, at one revision) and the common cases made one call
//! ([`V3::put_if_absent`], [`V3::put_if_mod_revision`], [`V3::put_if_value`],
//! [`V3::delete_if_mod_revision`], [`V3::delete_if_value`]).

use super::kv::{Delete, Put, Range};
use super::proto::{etcdserverpb as pb, methods};
use super::types::{KeyValue, OpResponse, TxnResponse};
use super::V3;
use crate::error::Result;
use crate::transport::unary::Kind;

/// How a [`Compare`] compares the key's field with the value given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    /// The key's field is greater than the value given.
    Greater,
    /// The key's field is less than the value given.
    Less,
}

/// One condition of a transaction, on one key or (with
/// [`prefix`](Self::prefix) or [`range_end`](Self::range_end)) on every key
/// of a range. A key that does not exist has version, create and mod
/// revision and lease 0, and no value (a value compare on it fails).
#[derive(Debug, Clone, PartialEq)]
pub struct Compare(pub(crate) pb::Compare);

impl Compare {
    fn new(
        key: Vec<u8>,
        op: CompareOp,
        target: pb::compare::CompareTarget,
        value: pb::compare::TargetUnion,
    ) -> Compare {
        use pb::compare::CompareResult as R;
        let result = match op {
            CompareOp::Equal => R::Equal,
            CompareOp::NotEqual => R::NotEqual,
            CompareOp::Greater => R::Greater,
            CompareOp::Less => R::Less,
        };
        Compare(pb::Compare {
            result: result as i32,
            target: target as i32,
            key,
            range_end: Vec::new(),
            target_union: Some(value),
        })
    }

    /// The key's value compared with `value` (bytes, in byte order).
    pub fn value(key: impl Into<Vec<u8>>, op: CompareOp, value: impl Into<Vec<u8>>) -> Compare {
        use pb::compare::{CompareTarget as T, TargetUnion as U};
        Compare::new(key.into(), op, T::Value, U::Value(value.into()))
    }

    /// The key's version (0: it does not exist).
    pub fn version(key: impl Into<Vec<u8>>, op: CompareOp, version: i64) -> Compare {
        use pb::compare::{CompareTarget as T, TargetUnion as U};
        Compare::new(key.into(), op, T::Version, U::Version(version))
    }

    /// The key's create revision (0: it does not exist).
    pub fn create_revision(key: impl Into<Vec<u8>>, op: CompareOp, revision: i64) -> Compare {
        use pb::compare::{CompareTarget as T, TargetUnion as U};
        Compare::new(key.into(), op, T::Create, U::CreateRevision(revision))
    }

    /// The key's mod revision.
    pub fn mod_revision(key: impl Into<Vec<u8>>, op: CompareOp, revision: i64) -> Compare {
        use pb::compare::{CompareTarget as T, TargetUnion as U};
        Compare::new(key.into(), op, T::Mod, U::ModRevision(revision))
    }

    /// The key's lease (0: none).
    pub fn lease(key: impl Into<Vec<u8>>, op: CompareOp, lease: i64) -> Compare {
        use pb::compare::{CompareTarget as T, TargetUnion as U};
        Compare::new(key.into(), op, T::Lease, U::Lease(lease))
    }

    /// Compares every key from this one to `end` (excluded) instead; all
    /// must hold.
    pub fn range_end(mut self, end: impl Into<Vec<u8>>) -> Compare {
        self.0.range_end = end.into();
        self
    }

    /// Compares every key that starts with this compare's key instead.
    pub fn prefix(mut self) -> Compare {
        self.0.range_end = super::kv::prefix_end(&self.0.key);
        if self.0.key.is_empty() {
            self.0.key = vec![0];
        }
        self
    }
}

/// One op of a transaction's branch.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Range(Range),
    Put(Put),
    Delete(Delete),
    Txn(Txn),
}

impl From<Range> for Op {
    fn from(r: Range) -> Op {
        Op::Range(r)
    }
}

impl From<Put> for Op {
    fn from(p: Put) -> Op {
        Op::Put(p)
    }
}

impl From<Delete> for Op {
    fn from(d: Delete) -> Op {
        Op::Delete(d)
    }
}

impl From<Txn> for Op {
    fn from(t: Txn) -> Op {
        Op::Txn(t)
    }
}

impl Op {
    fn into_request(self) -> pb::RequestOp {
        use pb::request_op::Request as R;
        let request = match self {
            Op::Range(r) => R::RequestRange(r.0),
            Op::Put(p) => R::RequestPut(p.0),
            Op::Delete(d) => R::RequestDeleteRange(d.0),
            Op::Txn(t) => R::RequestTxn(t.0),
        };
        pb::RequestOp {
            request: Some(request),
        }
    }
}

/// A transaction: if every compare holds, the success ops run, else the
/// failure ops, atomically. etcd refuses a branch that writes one key
/// twice, and more than 128 ops or compares (its `--max-txn-ops`), with
/// `InvalidArgument`. The compares of a nested txn are evaluated with the
/// outer ones, before any op runs: they do not see the writes before them
/// in the branch (its ops do).
///
/// ```no_run
/// # use etcdc::v3::{Compare, CompareOp, Put, Range, Txn};
/// # let client = etcdc::Client::new("127.0.0.1", 2379)?;
/// let txn = Txn::new()
///     .when([Compare::version("config", CompareOp::Equal, 0)])
///     .and_then([Put::new("config", "v1")])
///     .or_else([Range::key("config")]);
/// let answer = client.v3().txn(&txn)?;
/// # Ok::<(), etcdc::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Txn(pub(crate) pb::TxnRequest);

impl Txn {
    /// No compares (the success branch runs), no ops.
    pub fn new() -> Txn {
        Txn::default()
    }

    /// Adds compares (all must hold).
    pub fn when(mut self, compares: impl IntoIterator<Item = Compare>) -> Txn {
        self.0.compare.extend(compares.into_iter().map(|c| c.0));
        self
    }

    /// Adds ops to the success branch.
    pub fn and_then<O: Into<Op>>(mut self, ops: impl IntoIterator<Item = O>) -> Txn {
        let ops = ops.into_iter().map(|o| o.into().into_request());
        self.0.success.extend(ops);
        self
    }

    /// Adds ops to the failure branch.
    pub fn or_else<O: Into<Op>>(mut self, ops: impl IntoIterator<Item = O>) -> Txn {
        let ops = ops.into_iter().map(|o| o.into().into_request());
        self.0.failure.extend(ops);
        self
    }

    /// Whether any op of either branch writes (then it is never sent twice).
    fn writes(txn: &pb::TxnRequest) -> bool {
        use pb::request_op::Request as R;
        txn.success
            .iter()
            .chain(&txn.failure)
            .any(|op| match &op.request {
                Some(R::RequestRange(_)) | None => false,
                Some(R::RequestTxn(t)) => Txn::writes(t),
                Some(_) => true,
            })
    }
}

/// The outcome of a conditional write ([`V3::put_if_absent`] and the
/// others): whether it was applied, and if not, the key as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swapped {
    /// The condition held and the write was applied.
    pub succeeded: bool,
    /// The store's revision after the call (the write's, when applied).
    pub revision: i64,
    /// When not applied: the key as it is now (`None`: it does not exist).
    pub current: Option<KeyValue>,
}

impl V3<'_> {
    /// Runs `txn`. A transaction that writes and may have been applied
    /// without a certain answer is [`Error::Ambiguous`](crate::Error::Ambiguous);
    /// one that only reads moves on to another member like a read.
    pub fn txn(&self, txn: &Txn) -> Result<TxnResponse> {
        let kind = if Txn::writes(&txn.0) {
            Kind::Write
        } else {
            Kind::Linearizable
        };
        Ok(self.call(methods::KV_TXN, &txn.0, kind)?.into())
    }

    /// `when`, then `write`; else reads the key.
    fn swap(&self, key: &[u8], when: Compare, write: Op) -> Result<Swapped> {
        let txn = Txn::new()
            .when([when])
            .and_then([write])
            .or_else([Range::key(key)]);
        let answer = self.txn(&txn)?;
        let current = match answer.responses.into_iter().next() {
            Some(OpResponse::Range(r)) if !answer.succeeded => r.kvs.into_iter().next(),
            _ => None,
        };
        Ok(Swapped {
            succeeded: answer.succeeded,
            revision: answer.header.revision,
            current,
        })
    }

    /// Creates `key` with `value` (and `lease`, 0 for none) only if it does
    /// not exist.
    pub fn put_if_absent(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        lease: i64,
    ) -> Result<Swapped> {
        let key = key.into();
        let when = Compare::create_revision(key.clone(), CompareOp::Equal, 0);
        let put = Put::new(key.clone(), value).lease(lease);
        self.swap(&key, when, put.into())
    }

    /// Sets `key` to `value` only if its mod revision is `revision` (the
    /// v2 `prevIndex`: nobody wrote it since it was read at that revision).
    pub fn put_if_mod_revision(
        &self,
        key: impl Into<Vec<u8>>,
        revision: i64,
        value: impl Into<Vec<u8>>,
    ) -> Result<Swapped> {
        let key = key.into();
        let when = Compare::mod_revision(key.clone(), CompareOp::Equal, revision);
        self.swap(&key, when, Put::new(key.clone(), value).into())
    }

    /// Sets `key` to `value` only if its value is `expected`.
    pub fn put_if_value(
        &self,
        key: impl Into<Vec<u8>>,
        expected: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Result<Swapped> {
        let key = key.into();
        let when = Compare::value(key.clone(), CompareOp::Equal, expected);
        self.swap(&key, when, Put::new(key.clone(), value).into())
    }

    /// Deletes `key` only if its mod revision is `revision`.
    pub fn delete_if_mod_revision(
        &self,
        key: impl Into<Vec<u8>>,
        revision: i64,
    ) -> Result<Swapped> {
        let key = key.into();
        let when = Compare::mod_revision(key.clone(), CompareOp::Equal, revision);
        self.swap(&key, when, Delete::key(key.clone()).into())
    }

    /// Deletes `key` only if its value is `expected`.
    pub fn delete_if_value(
        &self,
        key: impl Into<Vec<u8>>,
        expected: impl Into<Vec<u8>>,
    ) -> Result<Swapped> {
        let key = key.into();
        let when = Compare::value(key.clone(), CompareOp::Equal, expected);
        self.swap(&key, when, Delete::key(key.clone()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_txn_writes_when_any_branch_does() {
        let read = Txn::new()
            .and_then([Range::key("a")])
            .or_else([Range::key("b")]);
        assert!(!Txn::writes(&read.0));
        let nested = Txn::new().or_else([Txn::new().and_then([Delete::key("a")])]);
        assert!(Txn::writes(&nested.0));
        let nested_read = Txn::new().and_then([read.clone()]);
        assert!(!Txn::writes(&nested_read.0));
    }

    #[test]
    fn compares_carry_their_target() {
        use pb::compare::{CompareResult as R, CompareTarget as T, TargetUnion as U};
        let c = Compare::mod_revision("k", CompareOp::Less, 7).0;
        assert_eq!((c.result, c.target), (R::Less as i32, T::Mod as i32));
        assert_eq!(c.target_union, Some(U::ModRevision(7)));
        let p = Compare::version("app/", CompareOp::Greater, 0).prefix().0;
        assert_eq!(p.range_end, b"app0");
    }
}
