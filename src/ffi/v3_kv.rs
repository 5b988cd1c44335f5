//! etcd's v3 API (gRPC), keys: range (read), put, delete, compaction. The
//! same `etcdc_client` as the v2 calls: its endpoints, TLS, credentials
//! (`username`/`password` become a v3 auth token, renewed on its own),
//! timeouts and failover rule.
//!
//! Keys and values are bytes. Each is passed as a pointer and a length
//! (`const void *key, size_t key_len`), so that any byte string is a key or
//! a value, NUL bytes and invalid UTF-8 included. NULL with length 0 is the
//! empty string; NULL with any other length, or a length over
//! `PTRDIFF_MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`. The bytes are copied:
//! they need only live during the call. Keys and values read back
//! (`etcdc_v3_kv`) are a pointer and a length too; each is followed by a
//! NUL byte that its length does not count, so that text can also be used
//! as a C string (up to its first NUL).
//!
//! Revisions, versions and lease ids are `int64_t`, as etcd's. A write
//! makes the store's revision one higher; every answer's header
//! (`etcdc_v3_header`) says the store's revision when it was made.
//!
//! A key range is `[key, range_end)` in byte order: the key alone when
//! `range_end` is empty (the default); every key that starts with `key`
//! with `prefix` (every key, for an empty `key`); every key from `key` on
//! with `range_end` "\0" (length 1); every key with both "\0".
//!
//! Each call stores a new response handle in `*out`, owned by the caller and
//! freed with its own `_free` function (`etcdc_v3_range_response_free()`,
//! ...); `out` may be NULL when the response is not wanted. What a
//! response's accessors return (its header, its `etcdc_v3_kv`s and their
//! bytes) is borrowed from it: valid until it is freed, never freed on its
//! own; reading allocates nothing. A response is read-only, so any number of
//! threads may read it at once, and it may outlive its client. On failure
//! `*out` is untouched and `etcdc_error_last()` has the detail.
//!
//! Errors: etcd's refusals are `ETCDC_ERR_GRPC_*` (2000 + the gRPC code),
//! with etcd's own words in `etcdc_error_last()->server_message`: e.g.
//! `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for an empty key ("etcdserver: key is
//! not provided"), `ETCDC_ERR_GRPC_OUT_OF_RANGE` for a compacted or future
//! revision, `ETCDC_ERR_GRPC_NOT_FOUND` for a lease that does not exist. A
//! write (put, delete, compaction, a transaction that writes, a lease grant
//! or revoke) that may have been applied without a certain answer is
//! `ETCDC_ERR_AMBIGUOUS`: it is never sent twice. The transport's errors are
//! those of the v2 calls (`ETCDC_ERR_CONNECTION`, `ETCDC_ERR_TIMEOUT`, TLS,
//! `ETCDC_ERR_CLUSTER_ID_MISMATCH`, `ETCDC_ERR_STALE_MEMBER`...).

use std::ffi::{c_int, c_void};
use std::ptr;

use super::args::{give_opt, put_opt};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::{etcdc_status, status, OnPanic};
use crate::error::{Error, Result};
use crate::v3::{
    Delete, DeleteResponse, Header, KeyValue, Put, PutResponse, Range, RangeResponse, SortOrder,
    SortTarget,
};

// ------------------------------------------------------------- arguments

/// A bytes argument (`p`, `len`) as a slice: NULL with length 0 is empty.
/// `name` and `len_name` name the pointer and the length in messages.
pub(crate) unsafe fn bytes<'a>(
    p: *const c_void,
    len: usize,
    name: &str,
    len_name: &str,
) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::InvalidArgument(format!(
            "{name} is NULL but {len_name} is {len} (NULL is only the empty string, with length 0)"
        )));
    }
    if len > isize::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "{len_name} is {len}, more than PTRDIFF_MAX"
        )));
    }
    // SAFETY: `len` readable bytes at `p`, per the caller.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// An `int` argument that must be one of the values of the C enum `E`.
pub(crate) fn choice<E: Copy + Into<c_int>>(value: c_int, all: &[E], name: &str) -> Result<E> {
    all.iter()
        .copied()
        .find(|e| (*e).into() == value)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{name} is {value}, not one of its ETCDC_V3_* values"
            ))
        })
}

/// Where a key range ends, as an options struct says it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End<'a> {
    /// The key alone.
    #[default]
    Key,
    /// Every key starting with the key.
    Prefix,
    /// Up to this key (excluded).
    To(&'a [u8]),
}

impl<'a> End<'a> {
    /// The end given by an options struct's `range_end`, `range_end_len`
    /// and `prefix` fields.
    pub(crate) fn of(
        range_end: *const c_void,
        range_end_len: usize,
        prefix: bool,
    ) -> Result<End<'a>> {
        // SAFETY: NULL or readable for its length, per the contract of the struct.
        let to = unsafe { bytes(range_end, range_end_len, "range_end", "range_end_len") }?;
        match (prefix, to.is_empty()) {
            (false, true) => Ok(End::Key),
            (true, true) => Ok(End::Prefix),
            (false, false) => Ok(End::To(to)),
            (true, false) => Err(Error::InvalidArgument(
                "prefix and range_end are both set: a range has one end".into(),
            )),
        }
    }
}

// ---------------------------------------------------------------- views

/// The header of every v3 answer: who answered, and the store's revision
/// then. Borrowed from the response it came from (or filled in by the
/// call that takes a pointer to one).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct etcdc_v3_header {
    /// The cluster that answered.
    pub cluster_id: u64,
    /// The member that answered.
    pub member_id: u64,
    /// The key-value store's revision when the call was applied: for a
    /// write, the revision it made; for a read, the store's revision then
    /// (also when it read the store as it was at an older revision).
    pub revision: i64,
    /// The answering member's raft term.
    pub raft_term: u64,
}

impl From<Header> for etcdc_v3_header {
    fn from(h: Header) -> etcdc_v3_header {
        etcdc_v3_header {
            cluster_id: h.cluster_id,
            member_id: h.member_id,
            revision: h.revision,
            raft_term: h.raft_term,
        }
    }
}

/// A key and its value, with the revisions that made them. Borrowed from
/// the response it came from: valid until that response is freed, never
/// freed on its own; read-only.
#[repr(C)]
pub struct etcdc_v3_kv {
    /// The key's bytes (`key_len` of them), followed by a NUL byte that
    /// `key_len` does not count. Never NULL.
    pub key: *const u8,
    pub key_len: usize,
    /// The value's bytes (`value_len` of them; 0 when read with
    /// `keys_only`), followed by a NUL byte that `value_len` does not
    /// count. Never NULL.
    pub value: *const u8,
    pub value_len: usize,
    /// The revision that created the key (since it last did not exist).
    pub create_revision: i64,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// How many times it was written since its creation (1 after it).
    pub version: i64,
    /// The lease it is attached to; 0 for none.
    pub lease: i64,
}

/// Byte strings laid out for C in one buffer, each followed by a NUL byte
/// (not counted in its length). Pointers into it stay valid when it moves
/// (a `Vec`'s buffer does not move with it), until it is dropped.
pub(crate) struct Blobs {
    bytes: Vec<u8>,
}

impl Blobs {
    /// Room for byte strings of `sizes` bytes in all (NULs not counted) and
    /// `count` of them.
    pub(crate) fn with_capacity(sizes: usize, count: usize) -> Blobs {
        Blobs {
            bytes: Vec::with_capacity(sizes + count),
        }
    }

    /// Adds `b`: its offset.
    pub(crate) fn add(&mut self, b: &[u8]) -> usize {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(b);
        self.bytes.push(0);
        at
    }

    /// The byte string at `offset` (no more may be added once pointers are
    /// taken: the buffer could move).
    pub(crate) fn ptr(&self, offset: usize) -> *const u8 {
        debug_assert!(offset < self.bytes.len());
        // SAFETY: offsets come from `add`, inside the buffer. `as_ptr` makes
        // no intermediate reference, so the pointer outlives moves.
        unsafe { self.bytes.as_ptr().add(offset) }
    }
}

/// A list of `etcdc_v3_kv`s and the bytes they point into.
pub(crate) struct Kvs {
    _bytes: Blobs,
    views: Vec<etcdc_v3_kv>,
}

impl Kvs {
    pub(crate) fn new(kvs: &[KeyValue]) -> Kvs {
        let size = kvs.iter().map(|kv| kv.key.len() + kv.value.len()).sum();
        let mut blobs = Blobs::with_capacity(size, 2 * kvs.len());
        let offsets: Vec<(usize, usize)> = kvs
            .iter()
            .map(|kv| (blobs.add(&kv.key), blobs.add(&kv.value)))
            .collect();
        let views = kvs
            .iter()
            .zip(offsets)
            .map(|(kv, (key, value))| etcdc_v3_kv {
                key: blobs.ptr(key),
                key_len: kv.key.len(),
                value: blobs.ptr(value),
                value_len: kv.value.len(),
                create_revision: kv.create_revision,
                mod_revision: kv.mod_revision,
                version: kv.version,
                lease: kv.lease,
            })
            .collect();
        Kvs {
            _bytes: blobs,
            views,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.views.len()
    }

    /// View `i`, or NULL if out of range.
    pub(crate) fn get(&self, i: usize) -> *const etcdc_v3_kv {
        self.views.get(i).map_or(ptr::null(), |kv| kv as *const _)
    }
}

/// Reads a field of a handle, or returns `default` when the handle is NULL.
pub(crate) fn read<T: OnPanic, H>(handle: *const H, default: T, f: impl FnOnce(&H) -> T) -> T {
    super::boundary(|| {
        // SAFETY: callers of the accessors pass a live handle or NULL.
        match unsafe { handle.as_ref() } {
            Some(h) => f(h),
            None => default,
        }
    })
}

// -------------------------------------------------------------- options

/// The current version of `etcdc_v3_range_options`.
pub const ETCDC_V3_RANGE_OPTIONS_VERSION: u32 = 1;
/// The current version of `etcdc_v3_put_options`.
pub const ETCDC_V3_PUT_OPTIONS_VERSION: u32 = 1;
/// The current version of `etcdc_v3_delete_options`.
pub const ETCDC_V3_DELETE_OPTIONS_VERSION: u32 = 1;

/// What a range sorts by: the values of `etcdc_v3_range_options.sort_target`
/// (an `int`, so that any number can be checked).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_sort_target {
    /// By key (default).
    ETCDC_V3_SORT_BY_KEY = 0,
    /// By version (writes since creation).
    ETCDC_V3_SORT_BY_VERSION = 1,
    /// By create revision.
    ETCDC_V3_SORT_BY_CREATE_REVISION = 2,
    /// By mod revision.
    ETCDC_V3_SORT_BY_MOD_REVISION = 3,
    /// By value, in byte order.
    ETCDC_V3_SORT_BY_VALUE = 4,
}

impl From<etcdc_v3_sort_target> for c_int {
    fn from(e: etcdc_v3_sort_target) -> c_int {
        e as c_int
    }
}

/// Which way a range sorts: the values of
/// `etcdc_v3_range_options.sort_order` (an `int`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_sort_order {
    /// No order asked for (default): by key, ascending, when `sort_target`
    /// is `ETCDC_V3_SORT_BY_KEY`; else ascending by that target.
    ETCDC_V3_SORT_NONE = 0,
    /// Ascending.
    ETCDC_V3_SORT_ASCEND = 1,
    /// Descending.
    ETCDC_V3_SORT_DESCEND = 2,
}

impl From<etcdc_v3_sort_order> for c_int {
    fn from(e: etcdc_v3_sort_order) -> c_int {
        e as c_int
    }
}

/// Options of `etcdc_v3_range()` (and of `etcdc_v3_txn_add_range()`).
/// Initialise with `ETCDC_V3_RANGE_OPTIONS_INIT` or
/// `etcdc_v3_range_options_init(&opts, ETCDC_V3_RANGE_OPTIONS_VERSION)`;
/// fields left 0 / NULL / false mean "not set": one key, every field of
/// it, as the store is now, a linearizable read. The bytes of `range_end`
/// need only live during the call.
#[repr(C)]
pub struct etcdc_v3_range_options {
    /// `ETCDC_V3_RANGE_OPTIONS_VERSION`.
    pub version: u32,
    /// The end of the range (excluded), `range_end_len` bytes: the keys
    /// from `key` up to it, in byte order. "\0" (length 1): every key from
    /// `key` on. NULL / 0: the key alone.
    pub range_end: *const c_void,
    pub range_end_len: usize,
    /// Every key that starts with `key` (every key, for an empty `key`).
    /// `range_end` must not be set too.
    pub prefix: bool,
    /// At most this many keys (`etcdc_v3_range_response_more()` says
    /// whether there were more); 0: no limit.
    pub limit: i64,
    /// Read the store as it was at this revision; 0: as it is now. A
    /// compacted or future revision is `ETCDC_ERR_GRPC_OUT_OF_RANGE`.
    pub revision: i64,
    /// One of `etcdc_v3_sort_target` (default `ETCDC_V3_SORT_BY_KEY`).
    pub sort_target: c_int,
    /// One of `etcdc_v3_sort_order` (default `ETCDC_V3_SORT_NONE`).
    pub sort_order: c_int,
    /// Answered by the member from its own state without asking the
    /// cluster: faster, and served by a member cut off from the majority,
    /// but possibly stale.
    pub serializable: bool,
    /// Keys without their values (`value_len` 0).
    pub keys_only: bool,
    /// Only how many keys there are (`etcdc_v3_range_response_count()`),
    /// no keys.
    pub count_only: bool,
    /// Only keys last modified at or after this revision; 0: no bound.
    pub min_mod_revision: i64,
    /// Only keys last modified at or before this revision; 0: no bound.
    pub max_mod_revision: i64,
    /// Only keys created at or after this revision; 0: no bound.
    pub min_create_revision: i64,
    /// Only keys created at or before this revision; 0: no bound.
    pub max_create_revision: i64,
}

/// Options of `etcdc_v3_put()` (and of `etcdc_v3_txn_add_put()`).
/// Initialise with `ETCDC_V3_PUT_OPTIONS_INIT` or
/// `etcdc_v3_put_options_init(&opts, ETCDC_V3_PUT_OPTIONS_VERSION)`; all
/// 0 / false is a plain put.
#[repr(C)]
pub struct etcdc_v3_put_options {
    /// `ETCDC_V3_PUT_OPTIONS_VERSION`.
    pub version: u32,
    /// Attach the key to this lease (it is deleted when the lease expires
    /// or is revoked); 0: none (a key attached to a lease is detached). A
    /// lease that does not exist is `ETCDC_ERR_GRPC_NOT_FOUND`.
    pub lease: i64,
    /// The response carries the key as it was before
    /// (`etcdc_v3_put_response_prev_kv()`).
    pub prev_kv: bool,
    /// Keep the key's current value (the key must exist, the value given
    /// must be empty).
    pub ignore_value: bool,
    /// Keep the key's current lease (the key must exist, `lease` must be 0).
    pub ignore_lease: bool,
}

/// Options of `etcdc_v3_delete()` (and of `etcdc_v3_txn_add_delete()`).
/// Initialise with `ETCDC_V3_DELETE_OPTIONS_INIT` or
/// `etcdc_v3_delete_options_init(&opts, ETCDC_V3_DELETE_OPTIONS_VERSION)`;
/// all 0 / NULL / false deletes the key alone.
#[repr(C)]
pub struct etcdc_v3_delete_options {
    /// `ETCDC_V3_DELETE_OPTIONS_VERSION`.
    pub version: u32,
    /// The end of the range to delete (excluded), `range_end_len` bytes, as
    /// in `etcdc_v3_range_options`. NULL / 0: the key alone.
    pub range_end: *const c_void,
    pub range_end_len: usize,
    /// Every key that starts with `key` (every key, for an empty `key`).
    /// `range_end` must not be set too.
    pub prefix: bool,
    /// The response carries the deleted keys
    /// (`etcdc_v3_delete_response_prev_kv()`).
    pub prev_kv: bool,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_RANGE_OPTIONS_INIT` does; pass `ETCDC_V3_RANGE_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_options_init(
    opts: *mut etcdc_v3_range_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_PUT_OPTIONS_INIT` does; pass `ETCDC_V3_PUT_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_options_init(
    opts: *mut etcdc_v3_put_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_DELETE_OPTIONS_INIT` does; pass `ETCDC_V3_DELETE_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_options_init(
    opts: *mut etcdc_v3_delete_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// `etcdc_v3_range_options`, checked: the range of a key.
#[derive(Debug, Default)]
pub(crate) struct RangeOptions<'a> {
    end: End<'a>,
    limit: i64,
    revision: i64,
    sort: Option<(SortTarget, SortOrder)>,
    serializable: bool,
    keys_only: bool,
    count_only: bool,
    min_mod_revision: i64,
    max_mod_revision: i64,
    min_create_revision: i64,
    max_create_revision: i64,
}

impl RangeOptions<'_> {
    /// The range of `key` these options ask for.
    pub(crate) fn range(&self, key: &[u8]) -> Range {
        let mut r = match self.end {
            End::Key => Range::key(key),
            End::Prefix => Range::prefix(key),
            End::To(end) => Range::between(key, end),
        };
        let set = |n: i64| n != 0;
        if set(self.limit) {
            r = r.limit(self.limit);
        }
        if set(self.revision) {
            r = r.revision(self.revision);
        }
        if let Some((target, order)) = self.sort {
            r = r.sort(target, order);
        }
        if self.serializable {
            r = r.serializable();
        }
        if self.keys_only {
            r = r.keys_only();
        }
        if self.count_only {
            r = r.count_only();
        }
        if set(self.min_mod_revision) {
            r = r.min_mod_revision(self.min_mod_revision);
        }
        if set(self.max_mod_revision) {
            r = r.max_mod_revision(self.max_mod_revision);
        }
        if set(self.min_create_revision) {
            r = r.min_create_revision(self.min_create_revision);
        }
        if set(self.max_create_revision) {
            r = r.max_create_revision(self.max_create_revision);
        }
        r
    }
}

/// The sort the two fields ask for (`None`: etcd's own order, by key).
fn sort(target: c_int, order: c_int) -> Result<Option<(SortTarget, SortOrder)>> {
    use etcdc_v3_sort_order::*;
    use etcdc_v3_sort_target::*;
    let targets = [
        ETCDC_V3_SORT_BY_KEY,
        ETCDC_V3_SORT_BY_VERSION,
        ETCDC_V3_SORT_BY_CREATE_REVISION,
        ETCDC_V3_SORT_BY_MOD_REVISION,
        ETCDC_V3_SORT_BY_VALUE,
    ];
    let orders = [
        ETCDC_V3_SORT_NONE,
        ETCDC_V3_SORT_ASCEND,
        ETCDC_V3_SORT_DESCEND,
    ];
    let target = match choice(target, &targets, "sort_target")? {
        ETCDC_V3_SORT_BY_KEY => SortTarget::Key,
        ETCDC_V3_SORT_BY_VERSION => SortTarget::Version,
        ETCDC_V3_SORT_BY_CREATE_REVISION => SortTarget::CreateRevision,
        ETCDC_V3_SORT_BY_MOD_REVISION => SortTarget::ModRevision,
        ETCDC_V3_SORT_BY_VALUE => SortTarget::Value,
    };
    Ok(match choice(order, &orders, "sort_order")? {
        ETCDC_V3_SORT_NONE if target == SortTarget::Key => None,
        // etcd sorts ascending by a target other than the key when no
        // order is given: so does the Rust API's sort.
        ETCDC_V3_SORT_NONE | ETCDC_V3_SORT_ASCEND => Some((target, SortOrder::Ascending)),
        ETCDC_V3_SORT_DESCEND => Some((target, SortOrder::Descending)),
    })
}

c_options!(etcdc_v3_range_options => RangeOptions<'a>, |o| Ok(RangeOptions {
    end: End::of(o.range_end, o.range_end_len, o.prefix)?,
    limit: o.limit,
    revision: o.revision,
    sort: sort(o.sort_target, o.sort_order)?,
    serializable: o.serializable,
    keys_only: o.keys_only,
    count_only: o.count_only,
    min_mod_revision: o.min_mod_revision,
    max_mod_revision: o.max_mod_revision,
    min_create_revision: o.min_create_revision,
    max_create_revision: o.max_create_revision,
}));

/// `etcdc_v3_put_options`, checked.
#[derive(Debug, Default)]
pub(crate) struct PutOptions {
    lease: i64,
    prev_kv: bool,
    ignore_value: bool,
    ignore_lease: bool,
}

impl PutOptions {
    /// The put of `key` and `value` these options ask for.
    pub(crate) fn put(&self, key: &[u8], value: &[u8]) -> Put {
        let mut p = Put::new(key, value);
        if self.lease != 0 {
            p = p.lease(self.lease);
        }
        if self.prev_kv {
            p = p.prev_kv();
        }
        if self.ignore_value {
            p = p.ignore_value();
        }
        if self.ignore_lease {
            p = p.ignore_lease();
        }
        p
    }
}

c_options!(etcdc_v3_put_options => PutOptions, |o| Ok(PutOptions {
    lease: o.lease,
    prev_kv: o.prev_kv,
    ignore_value: o.ignore_value,
    ignore_lease: o.ignore_lease,
}));

/// `etcdc_v3_delete_options`, checked.
#[derive(Debug, Default)]
pub(crate) struct DeleteOptions<'a> {
    end: End<'a>,
    prev_kv: bool,
}

impl DeleteOptions<'_> {
    /// The delete of `key` (and of its range) these options ask for.
    pub(crate) fn delete(&self, key: &[u8]) -> Delete {
        let d = match self.end {
            End::Key => Delete::key(key),
            End::Prefix => Delete::prefix(key),
            End::To(end) => Delete::between(key, end),
        };
        if self.prev_kv {
            d.prev_kv()
        } else {
            d
        }
    }
}

c_options!(etcdc_v3_delete_options => DeleteOptions<'a>, |o| Ok(DeleteOptions {
    end: End::of(o.range_end, o.range_end_len, o.prefix)?,
    prev_kv: o.prev_kv,
}));

// ------------------------------------------------------------ responses

/// The answer to `etcdc_v3_range()`: the keys found, their count, and
/// whether a limit left some out. Owned by the caller and freed with
/// `etcdc_v3_range_response_free()`, or borrowed from the transaction
/// response it is part of (`etcdc_v3_txn_response_op_range()`: never freed
/// on its own). Read-only: any number of threads may read it at once.
pub struct etcdc_v3_range_response {
    header: etcdc_v3_header,
    count: i64,
    more: bool,
    kvs: Kvs,
}

impl etcdc_v3_range_response {
    pub(crate) fn new(r: RangeResponse) -> etcdc_v3_range_response {
        etcdc_v3_range_response {
            header: r.header.into(),
            count: r.count,
            more: r.more,
            kvs: Kvs::new(&r.kvs),
        }
    }
}

/// The answer to `etcdc_v3_put()`: its header (the revision the put made)
/// and, with `prev_kv`, the key as it was. Owned by the caller and freed
/// with `etcdc_v3_put_response_free()`, or borrowed from a transaction
/// response (`etcdc_v3_txn_response_op_put()`). Read-only.
pub struct etcdc_v3_put_response {
    header: etcdc_v3_header,
    prev_kv: Kvs,
}

impl etcdc_v3_put_response {
    pub(crate) fn new(r: PutResponse) -> etcdc_v3_put_response {
        etcdc_v3_put_response {
            header: r.header.into(),
            prev_kv: Kvs::new(r.prev_kv.as_slice()),
        }
    }
}

/// The answer to `etcdc_v3_delete()`: how many keys were deleted and, with
/// `prev_kv`, which. Owned by the caller and freed with
/// `etcdc_v3_delete_response_free()`, or borrowed from a transaction
/// response (`etcdc_v3_txn_response_op_delete()`). Read-only.
pub struct etcdc_v3_delete_response {
    header: etcdc_v3_header,
    deleted: i64,
    prev_kvs: Kvs,
}

impl etcdc_v3_delete_response {
    pub(crate) fn new(r: DeleteResponse) -> etcdc_v3_delete_response {
        etcdc_v3_delete_response {
            header: r.header.into(),
            deleted: r.deleted,
            prev_kvs: Kvs::new(&r.prev_kvs),
        }
    }
}

// ---------------------------------------------------------------- calls

/// Reads the key `key` (`key_len` bytes), or with `opts` its prefix or
/// range, sorted, limited, at a past revision... `opts` NULL reads the key
/// alone, linearizably (a key that does not exist is no error: the
/// response has no kv).
///
/// Errors: `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for an empty key,
/// `ETCDC_ERR_GRPC_OUT_OF_RANGE` for a compacted or future `revision`,
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`; `key` or
/// `opts->range_end` with a length), an unknown options version, a
/// `sort_target` or `sort_order` that is none of its values, or both
/// `prefix` and `range_end`; transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_range_response_free()`; `out` may be NULL when the response
/// is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    opts: *const etcdc_v3_range_options,
    out: *mut *mut etcdc_v3_range_response,
) -> etcdc_status {
    status(|| {
        let range = options!(opts).range(bytes!(key, key_len));
        let answer = arg!(client).v3().range(&range)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_v3_range_response::new(answer)) };
        Ok(())
    })
}

/// Sets the key `key` (`key_len` bytes) to `value` (`value_len` bytes;
/// NULL with 0 for an empty value), creating it if it does not exist.
/// `opts` NULL is a plain put.
///
/// Errors: `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for an empty key (or a value
/// with `ignore_value`), `ETCDC_ERR_GRPC_NOT_FOUND` for a `lease` that does
/// not exist, `ETCDC_ERR_AMBIGUOUS` when the put may have been applied
/// without a certain answer, `ETCDC_ERR_INVALID_ARGUMENT` for NULL
/// (`client`; `key` or `value` with a length) or an unknown options
/// version; transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_put_response_free()`; `out` may be NULL when the response is
/// not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
    opts: *const etcdc_v3_put_options,
    out: *mut *mut etcdc_v3_put_response,
) -> etcdc_status {
    status(|| {
        let put = options!(opts).put(bytes!(key, key_len), bytes!(value, value_len));
        let answer = arg!(client).v3().put_with(&put)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_v3_put_response::new(answer)) };
        Ok(())
    })
}

/// Deletes the key `key` (`key_len` bytes), or with `opts` its prefix or
/// range. Deleting nothing is no error: the response's deleted count is 0.
/// `opts` NULL deletes the key alone.
///
/// Errors: `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for an empty key,
/// `ETCDC_ERR_AMBIGUOUS` when the delete may have been applied without a
/// certain answer, `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`; `key`
/// or `opts->range_end` with a length), an unknown options version, or
/// both `prefix` and `range_end`; transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_delete_response_free()`; `out` may be NULL when the response
/// is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    opts: *const etcdc_v3_delete_options,
    out: *mut *mut etcdc_v3_delete_response,
) -> etcdc_status {
    status(|| {
        let delete = options!(opts).delete(bytes!(key, key_len));
        let answer = arg!(client).v3().delete(&delete)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_v3_delete_response::new(answer)) };
        Ok(())
    })
}

/// Compacts the store's history up to `revision`: older revisions can no
/// longer be read or watched. With `physical`, returns once the space is
/// actually freed. On success `*header` (if not NULL) is the answer's
/// header.
///
/// Errors: `ETCDC_ERR_GRPC_OUT_OF_RANGE` for a revision already compacted
/// or in the future, `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client` or a
/// `revision` that is not positive, `ETCDC_ERR_AMBIGUOUS`, transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_compact(
    client: *const etcdc_client,
    revision: i64,
    physical: bool,
    header: *mut etcdc_v3_header,
) -> etcdc_status {
    status(|| {
        let answer = arg!(client).v3().compact(revision, physical)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(header, answer.into()) };
        Ok(())
    })
}

// ------------------------------------------------------------ accessors

/// Frees a range response and everything borrowed from it. NULL is a
/// no-op. Never pass a response borrowed from a transaction response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_response_free(response: *mut etcdc_v3_range_response) {
    free!(response)
}

/// The response's header. Borrowed from the response; NULL only if
/// `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_response_header(
    response: *const etcdc_v3_range_response,
) -> *const etcdc_v3_header {
    read(response, ptr::null(), |r| &r.header as *const _)
}

/// How many keys are in the range, whatever the limit (with `count_only`,
/// the only answer). 0 if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_response_count(
    response: *const etcdc_v3_range_response,
) -> i64 {
    read(response, 0, |r| r.count)
}

/// Whether the range holds more keys than the limit let through (false if
/// `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_response_more(
    response: *const etcdc_v3_range_response,
) -> bool {
    read(response, false, |r| r.more)
}

/// Number of keys in the response (0 with `count_only`, or if `response`
/// is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_response_kv_count(
    response: *const etcdc_v3_range_response,
) -> usize {
    read(response, 0, |r| r.kvs.len())
}

/// Key `i` (0-based, in the order asked for: by key when none), or NULL if
/// out of range. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_range_response_kv(
    response: *const etcdc_v3_range_response,
    i: usize,
) -> *const etcdc_v3_kv {
    read(response, ptr::null(), |r| r.kvs.get(i))
}

/// Frees a put response and everything borrowed from it. NULL is a no-op.
/// Never pass a response borrowed from a transaction response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_response_free(response: *mut etcdc_v3_put_response) {
    free!(response)
}

/// The response's header (its revision is the put's). Borrowed from the
/// response; NULL only if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_response_header(
    response: *const etcdc_v3_put_response,
) -> *const etcdc_v3_header {
    read(response, ptr::null(), |r| &r.header as *const _)
}

/// The key as it was before the put, when asked for (`prev_kv`) and it
/// existed; else NULL. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_response_prev_kv(
    response: *const etcdc_v3_put_response,
) -> *const etcdc_v3_kv {
    read(response, ptr::null(), |r| r.prev_kv.get(0))
}

/// Frees a delete response and everything borrowed from it. NULL is a
/// no-op. Never pass a response borrowed from a transaction response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_response_free(response: *mut etcdc_v3_delete_response) {
    free!(response)
}

/// The response's header (its revision is the delete's). Borrowed from the
/// response; NULL only if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_response_header(
    response: *const etcdc_v3_delete_response,
) -> *const etcdc_v3_header {
    read(response, ptr::null(), |r| &r.header as *const _)
}

/// How many keys were deleted (0 if none existed, or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_response_deleted(
    response: *const etcdc_v3_delete_response,
) -> i64 {
    read(response, 0, |r| r.deleted)
}

/// Number of deleted keys the response carries: those deleted with
/// `prev_kv`, else 0 (also if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_response_prev_kv_count(
    response: *const etcdc_v3_delete_response,
) -> usize {
    read(response, 0, |r| r.prev_kvs.len())
}

/// Deleted key `i` (0-based, by key) as it was before the delete, or NULL
/// if out of range. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_response_prev_kv(
    response: *const etcdc_v3_delete_response,
    i: usize,
) -> *const etcdc_v3_kv {
    read(response, ptr::null(), |r| r.prev_kvs.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &[u8], value: &[u8]) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: value.to_vec(),
            create_revision: 2,
            mod_revision: 3,
            version: 1,
            lease: 0,
        }
    }

    /// Views of bytes with NULs and invalid UTF-8: lengths exact, each
    /// followed by a NUL, never NULL (even empty), valid after moves.
    #[test]
    fn kv_views_keep_every_byte() {
        let response = RangeResponse {
            kvs: vec![kv(b"a\0b", b"\xff\0"), kv(b"", b"")],
            count: 2,
            ..Default::default()
        };
        let handle = Box::new(etcdc_v3_range_response::new(response));
        let moved = Box::into_raw(handle);
        // SAFETY: a live handle, freed at the end.
        unsafe {
            assert_eq!(etcdc_v3_range_response_kv_count(moved), 2);
            let a = &*etcdc_v3_range_response_kv(moved, 0);
            assert_eq!(std::slice::from_raw_parts(a.key, a.key_len + 1), b"a\0b\0");
            assert_eq!(
                std::slice::from_raw_parts(a.value, a.value_len + 1),
                b"\xff\0\0"
            );
            let e = &*etcdc_v3_range_response_kv(moved, 1);
            assert!(!e.key.is_null() && !e.value.is_null());
            assert_eq!((e.key_len, *e.key, *e.value), (0, 0, 0));
            assert!(etcdc_v3_range_response_kv(moved, 2).is_null());
            assert_eq!(etcdc_v3_range_response_count(moved), 2);
            etcdc_v3_range_response_free(moved);
        }
    }

    #[test]
    fn ends_and_sorts() {
        let none = End::of(ptr::null(), 0, false).unwrap();
        assert_eq!(none, End::Key);
        assert_eq!(End::of(ptr::null(), 0, true).unwrap(), End::Prefix);
        let z = b"z";
        assert_eq!(End::of(z.as_ptr().cast(), 1, false).unwrap(), End::To(b"z"));
        assert!(End::of(z.as_ptr().cast(), 1, true).is_err());
        let e = End::of(ptr::null(), 3, false).unwrap_err().to_string();
        assert!(
            e.contains("range_end is NULL") && e.contains("range_end_len is 3"),
            "{e}"
        );
        assert_eq!(sort(0, 0).unwrap(), None);
        assert_eq!(
            sort(3, 0).unwrap(),
            Some((SortTarget::ModRevision, SortOrder::Ascending))
        );
        assert_eq!(
            sort(0, 2).unwrap(),
            Some((SortTarget::Key, SortOrder::Descending))
        );
        assert!(sort(5, 0).unwrap_err().to_string().contains("sort_target"));
        assert!(sort(0, -1).unwrap_err().to_string().contains("sort_order"));
    }

    #[test]
    fn bytes_refuse_null_with_a_length_and_huge_lengths() {
        // SAFETY: only NULL and an unread pointer.
        unsafe {
            assert_eq!(bytes(ptr::null(), 0, "key", "key_len").unwrap(), b"");
            let e = bytes(ptr::null(), 2, "key", "key_len")
                .unwrap_err()
                .to_string();
            assert!(e.contains("key is NULL"), "{e}");
            let p = b"x".as_ptr().cast();
            let e = bytes(p, usize::MAX, "key", "key_len")
                .unwrap_err()
                .to_string();
            assert!(e.contains("key_len"), "{e}");
        }
    }

    #[test]
    fn options_sizes_match_versions() {
        use super::options::Options;
        fn check<T: Options>(current: u32) {
            assert_eq!(T::SIZES.len(), current as usize, "{}", T::NAME);
            assert_eq!(*T::SIZES.last().unwrap(), std::mem::size_of::<T>());
            // Version 1 has the struct's final alignment (see `Options`).
            assert_eq!(std::mem::align_of::<T>(), 8, "{}", T::NAME);
        }
        check::<etcdc_v3_range_options>(ETCDC_V3_RANGE_OPTIONS_VERSION);
        check::<etcdc_v3_put_options>(ETCDC_V3_PUT_OPTIONS_VERSION);
        check::<etcdc_v3_delete_options>(ETCDC_V3_DELETE_OPTIONS_VERSION);
    }
}
