//! Keys: [`Range`], [`Put`], [`Delete`] (builders of etcd's requests, also
//! the ops of a [`Txn`](super::Txn)), and the calls that send them.
//!
//! A key range is `[key, range_end)`: one key when `range_end` is empty, a
//! prefix when it is the prefix with its last byte incremented, every key
//! from `key` on when it is `"\0"`, every key when both are `"\0"`.

use super::proto::{etcdserverpb as pb, methods};
use super::types::{DeleteResponse, Header, KeyValue, PutResponse, RangeResponse};
use super::V3;
use crate::error::{Error, Result};
use crate::transport::unary::Kind;

/// The end of the range of keys starting with `prefix`: the prefix with
/// its last byte below 0xff incremented and what follows it dropped; `"\0"`
/// (no end) when every byte is 0xff or the prefix is empty.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|&b| b < 0xff) {
        Some(i) => {
            let mut end = prefix[..=i].to_vec();
            end[i] += 1;
            end
        }
        None => vec![0],
    }
}

/// What a [`Range`] sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortTarget {
    Key,
    Version,
    CreateRevision,
    ModRevision,
    Value,
}

/// Which way a [`Range`] sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

/// A read of one key, a prefix, a range or every key: `Range::prefix(b"app/")
/// .limit(10)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range(pub(crate) pb::RangeRequest);

fn range(key: Vec<u8>, range_end: Vec<u8>) -> Range {
    Range(pb::RangeRequest {
        key,
        range_end,
        ..Default::default()
    })
}

impl Range {
    /// One key.
    pub fn key(key: impl Into<Vec<u8>>) -> Range {
        range(key.into(), Vec::new())
    }

    /// Every key that starts with `prefix` (every key for an empty one).
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Range {
        let prefix = prefix.into();
        let end = prefix_end(&prefix);
        if prefix.is_empty() {
            return Range::all();
        }
        range(prefix, end)
    }

    /// The keys from `from` (included) to `to` (excluded), in byte order.
    pub fn between(from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) -> Range {
        range(from.into(), to.into())
    }

    /// Every key from `from` on.
    pub fn from_key(from: impl Into<Vec<u8>>) -> Range {
        range(from.into(), vec![0])
    }

    /// Every key.
    pub fn all() -> Range {
        range(vec![0], vec![0])
    }

    /// At most `n` keys (`more` in the answer says whether there were
    /// more); 0: no limit.
    pub fn limit(mut self, n: i64) -> Range {
        self.0.limit = n;
        self
    }

    /// As the store was at `revision` (0: now). An older revision than the
    /// last compaction is [`Code::OutOfRange`](super::Code::OutOfRange),
    /// as is a future one.
    pub fn revision(mut self, revision: i64) -> Range {
        self.0.revision = revision;
        self
    }

    /// Sorted by `target`, `order` (by key, ascending, when not set).
    pub fn sort(mut self, target: SortTarget, order: SortOrder) -> Range {
        use pb::range_request::{SortOrder as O, SortTarget as T};
        self.0.sort_target = match target {
            SortTarget::Key => T::Key,
            SortTarget::Version => T::Version,
            SortTarget::CreateRevision => T::Create,
            SortTarget::ModRevision => T::Mod,
            SortTarget::Value => T::Value,
        } as i32;
        self.0.sort_order = match order {
            SortOrder::Ascending => O::Ascend,
            SortOrder::Descending => O::Descend,
        } as i32;
        self
    }

    /// Answered by the member from its own state, without asking the
    /// cluster: faster, and still served by a member cut off from the
    /// majority, but possibly stale.
    pub fn serializable(mut self) -> Range {
        self.0.serializable = true;
        self
    }

    /// Keys without their values.
    pub fn keys_only(mut self) -> Range {
        self.0.keys_only = true;
        self
    }

    /// Only how many keys there are (`count`), no keys.
    pub fn count_only(mut self) -> Range {
        self.0.count_only = true;
        self
    }

    /// Only keys last modified at or after `revision`.
    pub fn min_mod_revision(mut self, revision: i64) -> Range {
        self.0.min_mod_revision = revision;
        self
    }

    /// Only keys last modified at or before `revision`.
    pub fn max_mod_revision(mut self, revision: i64) -> Range {
        self.0.max_mod_revision = revision;
        self
    }

    /// Only keys created at or after `revision`.
    pub fn min_create_revision(mut self, revision: i64) -> Range {
        self.0.min_create_revision = revision;
        self
    }

    /// Only keys created at or before `revision`.
    pub fn max_create_revision(mut self, revision: i64) -> Range {
        self.0.max_create_revision = revision;
        self
    }

    pub(crate) fn kind(&self) -> Kind {
        if self.0.serializable {
            Kind::Serializable
        } else {
            Kind::Linearizable
        }
    }
}

/// A write of one key: `Put::new(b"k", b"v").lease(id)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Put(pub(crate) pb::PutRequest);

impl Put {
    /// Sets `key` to `value` (a new key is created).
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Put {
        Put(pb::PutRequest {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        })
    }

    /// Attaches the key to lease `id` (it is deleted when the lease
    /// expires); 0: none. A lease that does not exist is
    /// [`Code::NotFound`](super::Code::NotFound).
    pub fn lease(mut self, id: i64) -> Put {
        self.0.lease = id;
        self
    }

    /// The answer carries the key as it was before.
    pub fn prev_kv(mut self) -> Put {
        self.0.prev_kv = true;
        self
    }

    /// Keeps the key's current value (the key must exist); the value given
    /// must be empty.
    pub fn ignore_value(mut self) -> Put {
        self.0.ignore_value = true;
        self
    }

    /// Keeps the key's current lease (the key must exist); the lease given
    /// must be 0.
    pub fn ignore_lease(mut self) -> Put {
        self.0.ignore_lease = true;
        self
    }
}

/// A delete of one key, a prefix, a range or every key.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete(pub(crate) pb::DeleteRangeRequest);

impl Delete {
    fn of(range: Range) -> Delete {
        Delete(pb::DeleteRangeRequest {
            key: range.0.key,
            range_end: range.0.range_end,
            prev_kv: false,
        })
    }

    /// One key.
    pub fn key(key: impl Into<Vec<u8>>) -> Delete {
        Delete::of(Range::key(key))
    }

    /// Every key that starts with `prefix` (every key for an empty one).
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Delete {
        Delete::of(Range::prefix(prefix))
    }

    /// The keys from `from` (included) to `to` (excluded).
    pub fn between(from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) -> Delete {
        Delete::of(Range::between(from, to))
    }

    /// Every key from `from` on.
    pub fn from_key(from: impl Into<Vec<u8>>) -> Delete {
        Delete::of(Range::from_key(from))
    }

    /// Every key.
    pub fn all() -> Delete {
        Delete::of(Range::all())
    }

    /// The answer carries the deleted keys.
    pub fn prev_kv(mut self) -> Delete {
        self.0.prev_kv = true;
        self
    }
}

impl V3<'_> {
    /// The key, if it exists (a linearizable read).
    pub fn get(&self, key: impl Into<Vec<u8>>) -> Result<Option<KeyValue>> {
        Ok(self.range(&Range::key(key))?.kvs.into_iter().next())
    }

    /// The keys `range` asks for.
    ///
    /// Errors: [`Error::Grpc`] with `OutOfRange` for a compacted or future
    /// revision, `InvalidArgument` for an empty key.
    pub fn range(&self, range: &Range) -> Result<RangeResponse> {
        let answer = self.call(methods::KV_RANGE, &range.0, range.kind())?;
        Ok(answer.into())
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Result<PutResponse> {
        self.put_with(&Put::new(key, value))
    }

    /// Sends `put`. A put that may have been applied but got no certain
    /// answer is [`Error::Ambiguous`]: it is never sent twice.
    pub fn put_with(&self, put: &Put) -> Result<PutResponse> {
        Ok(self.call(methods::KV_PUT, &put.0, Kind::Write)?.into())
    }

    /// Deletes what `delete` names; deleting nothing is no error
    /// (`deleted` is 0).
    pub fn delete(&self, delete: &Delete) -> Result<DeleteResponse> {
        let answer = self.call(methods::KV_DELETE_RANGE, &delete.0, Kind::Write)?;
        Ok(answer.into())
    }

    /// Compacts the store's history up to `revision`: older revisions can
    /// no longer be read or watched. With `physical`, returns once the
    /// space is actually freed.
    ///
    /// Errors: `OutOfRange` for a revision already compacted or in the
    /// future.
    pub fn compact(&self, revision: i64, physical: bool) -> Result<Header> {
        if revision <= 0 {
            return Err(Error::InvalidArgument(format!(
                "compaction revision {revision} must be positive"
            )));
        }
        let request = pb::CompactionRequest { revision, physical };
        let answer = self.call(methods::KV_COMPACT, &request, Kind::Write)?;
        Ok(answer.header.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"abc"), b"abd");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"a\xff\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
        assert_eq!(prefix_end(b"a\0"), b"a\x01");
    }

    #[test]
    fn ranges_name_their_keys() {
        let all = Range::all().0;
        assert_eq!((all.key, all.range_end), (vec![0], vec![0]));
        assert_eq!(Range::prefix("").0, Range::all().0);
        let p = Range::prefix("app/").0;
        assert_eq!((p.key, p.range_end), (b"app/".to_vec(), b"app0".to_vec()));
        let k = Range::key("x").0;
        assert!(k.range_end.is_empty());
        assert_eq!(Range::from_key("m").0.range_end, vec![0]);
        assert_eq!(Range::key("x").kind(), Kind::Linearizable);
        assert_eq!(Range::key("x").serializable().kind(), Kind::Serializable);
        let d = Delete::prefix("app/").prev_kv().0;
        assert_eq!((d.range_end, d.prev_kv), (b"app0".to_vec(), true));
    }
}
