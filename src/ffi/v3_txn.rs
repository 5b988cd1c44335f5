//! etcd's v3 transactions: compares, then the ops of the success branch if
//! every compare holds, else those of the failure branch, atomically, at one
//! revision. And the common compare-and-swap cases as one call each:
//! `etcdc_v3_put_if_absent()`, `etcdc_v3_put_if_mod_revision()`,
//! `etcdc_v3_put_if_value()`, `etcdc_v3_delete_if_mod_revision()`,
//! `etcdc_v3_delete_if_value()`.
//!
//! Build a transaction with `etcdc_v3_txn_new()`, add compares
//! (`etcdc_v3_txn_compare_value()`, `_version()`, `_create_revision()`,
//! `_mod_revision()`, `_lease()`) and ops (`etcdc_v3_txn_add_range()`,
//! `_add_put()`, `_add_delete()`, `_add_txn()` for a nested transaction) to
//! either branch, then send it with `etcdc_v3_txn_commit()`. Building sends
//! nothing; a transaction can be committed any number of times, and is
//! freed with `etcdc_v3_txn_free()`. Keys and values are bytes, as in the
//! v3 keys section; everything given is copied into the transaction.
//!
//! A key that does not exist has version, create and mod revision and lease
//! 0, and no value: a value compare on it fails. etcd refuses a branch that
//! writes one key twice, and more than 128 ops (its `--max-txn-ops`), with
//! `ETCDC_ERR_GRPC_INVALID_ARGUMENT`.
//!
//! The answer (`etcdc_v3_txn_response`) says which branch ran and holds the
//! answer of each of its ops, in order: a range, put or delete response, or
//! a nested transaction's, each borrowed from it (valid until it is freed,
//! never freed on its own) and read with the same accessors as the answers
//! of `etcdc_v3_range()` and the others. Of an op's header etcd fills only
//! `revision` (for a range before the transaction's first write, the
//! revision before the transaction), and nothing of a nested transaction's
//! header: the transaction's own header (`etcdc_v3_txn_response_header()`)
//! is the whole one.
//!
//! Thread-safety: a transaction is changed by one thread at a time;
//! `etcdc_v3_txn_commit()` only reads it, so once built, any number of
//! threads may commit it at once. Responses are read-only: any number of
//! threads may read one at once.

use std::ffi::{c_int, c_void};
use std::ptr;

use super::args::{give, give_opt};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::v3_kv::{
    choice, etcdc_v3_delete_options, etcdc_v3_delete_response, etcdc_v3_header, etcdc_v3_kv,
    etcdc_v3_put_options, etcdc_v3_put_response, etcdc_v3_range_options, etcdc_v3_range_response,
    read, End, Kvs,
};
use super::{etcdc_status, status, OnPanic};
use crate::error::Result;
use crate::v3::{Compare, CompareOp, Op, OpResponse, Swapped, Txn, TxnResponse};

/// The current version of `etcdc_v3_compare_options`.
pub const ETCDC_V3_COMPARE_OPTIONS_VERSION: u32 = 1;

/// How a compare compares the key's field with the value given: the
/// values of the `op` parameter of `etcdc_v3_txn_compare_*()` (an `int`, so
/// that any number can be checked).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_compare_op {
    /// The key's field equals the value given.
    ETCDC_V3_EQUAL = 0,
    /// The key's field is greater than the value given.
    ETCDC_V3_GREATER = 1,
    /// The key's field is less than the value given.
    ETCDC_V3_LESS = 2,
    /// The key's field differs from the value given.
    ETCDC_V3_NOT_EQUAL = 3,
}

impl From<etcdc_v3_compare_op> for c_int {
    fn from(e: etcdc_v3_compare_op) -> c_int {
        e as c_int
    }
}

/// The branch of a transaction an op is added to: the values of the
/// `branch` parameter of `etcdc_v3_txn_add_*()` (an `int`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_branch {
    /// Run when every compare holds (or there is none).
    ETCDC_V3_ON_SUCCESS = 0,
    /// Run when a compare does not hold.
    ETCDC_V3_ON_FAILURE = 1,
}

impl From<etcdc_v3_branch> for c_int {
    fn from(e: etcdc_v3_branch) -> c_int {
        e as c_int
    }
}

/// What one op of a transaction's branch was, and so which accessor reads
/// its answer (`etcdc_v3_txn_response_op_kind()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_op_kind {
    /// No op (an index out of range, or a NULL response).
    ETCDC_V3_OP_NONE = 0,
    /// A range: `etcdc_v3_txn_response_op_range()`.
    ETCDC_V3_OP_RANGE = 1,
    /// A put: `etcdc_v3_txn_response_op_put()`.
    ETCDC_V3_OP_PUT = 2,
    /// A delete: `etcdc_v3_txn_response_op_delete()`.
    ETCDC_V3_OP_DELETE = 3,
    /// A nested transaction: `etcdc_v3_txn_response_op_txn()`.
    ETCDC_V3_OP_TXN = 4,
}

impl OnPanic for etcdc_v3_op_kind {
    fn on_panic() -> Self {
        etcdc_v3_op_kind::ETCDC_V3_OP_NONE
    }
}

/// Options of the `etcdc_v3_txn_compare_*()` functions. Initialise with
/// `ETCDC_V3_COMPARE_OPTIONS_INIT` or
/// `etcdc_v3_compare_options_init(&opts, ETCDC_V3_COMPARE_OPTIONS_VERSION)`;
/// all 0 / NULL / false compares the key alone.
#[repr(C)]
pub struct etcdc_v3_compare_options {
    /// `ETCDC_V3_COMPARE_OPTIONS_VERSION`.
    pub version: u32,
    /// Compare every key from `key` up to this one (excluded),
    /// `range_end_len` bytes, instead: all must hold. "\0" (length 1):
    /// every key from `key` on. NULL / 0: the key alone.
    pub range_end: *const c_void,
    pub range_end_len: usize,
    /// Compare every key that starts with `key` instead: all must hold.
    /// `range_end` must not be set too.
    pub prefix: bool,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_COMPARE_OPTIONS_INIT` does; pass
/// `ETCDC_V3_COMPARE_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_compare_options_init(
    opts: *mut etcdc_v3_compare_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// `etcdc_v3_compare_options`, checked.
#[derive(Debug, Default)]
pub(crate) struct CompareOptions<'a> {
    end: End<'a>,
}

c_options!(etcdc_v3_compare_options => CompareOptions<'a>, |o| Ok(CompareOptions {
    end: End::of(o.range_end, o.range_end_len, o.prefix)?,
}));

/// The `op` parameter of a compare.
fn compare_op(op: c_int) -> Result<CompareOp> {
    use etcdc_v3_compare_op::*;
    let all = [
        ETCDC_V3_EQUAL,
        ETCDC_V3_GREATER,
        ETCDC_V3_LESS,
        ETCDC_V3_NOT_EQUAL,
    ];
    Ok(match choice(op, &all, "op")? {
        ETCDC_V3_EQUAL => CompareOp::Equal,
        ETCDC_V3_GREATER => CompareOp::Greater,
        ETCDC_V3_LESS => CompareOp::Less,
        ETCDC_V3_NOT_EQUAL => CompareOp::NotEqual,
    })
}

/// A transaction being built: compares and the ops of both branches.
/// Created with `etcdc_v3_txn_new()`, sent with `etcdc_v3_txn_commit()`
/// (any number of times), freed with `etcdc_v3_txn_free()`; it may outlive
/// any client. Changed by one thread at a time; once built, any number of
/// threads may commit it at once.
pub struct etcdc_v3_txn {
    txn: Txn,
}

impl etcdc_v3_txn {
    /// Adds the compare `c` as it is (a lock's or a leader's ownership).
    pub(crate) fn when_exactly(&mut self, c: Compare) {
        self.txn = std::mem::take(&mut self.txn).when([c]);
    }

    /// Adds the compare `c`, over the range `o` asks for.
    fn when(&mut self, c: Compare, o: &CompareOptions<'_>) {
        let c = match o.end {
            End::Key => c,
            End::Prefix => c.prefix(),
            End::To(end) => c.range_end(end),
        };
        self.txn = std::mem::take(&mut self.txn).when([c]);
    }

    /// Adds `op` to the branch `branch` names.
    fn add(&mut self, branch: c_int, op: Op) -> Result<()> {
        use etcdc_v3_branch::*;
        let branch = choice(
            branch,
            &[ETCDC_V3_ON_SUCCESS, ETCDC_V3_ON_FAILURE],
            "branch",
        )?;
        let txn = std::mem::take(&mut self.txn);
        self.txn = match branch {
            ETCDC_V3_ON_SUCCESS => txn.and_then([op]),
            ETCDC_V3_ON_FAILURE => txn.or_else([op]),
        };
        Ok(())
    }
}

/// Stores a new, empty transaction in `*out` (no compares: the success
/// branch runs; no ops), owned by the caller and freed with
/// `etcdc_v3_txn_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `out`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_new(out: *mut *mut etcdc_v3_txn) -> etcdc_status {
    status(|| {
        give(arg_mut!(out), etcdc_v3_txn { txn: Txn::new() });
        Ok(())
    })
}

/// Frees a transaction. NULL is a no-op. Responses of its commits, and
/// transactions it was added to, are not affected.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_free(txn: *mut etcdc_v3_txn) {
    free!(txn)
}

/// Adds a compare: the value of the key `key` (`key_len` bytes), `op` (one
/// of `etcdc_v3_compare_op`), `value` (`value_len` bytes), in byte order.
/// With `opts`, every key of a prefix or range instead. `opts` NULL
/// compares the key alone.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`txn`; a pointer with a
/// length), an `op` that is none of its values, an unknown options version,
/// or both `prefix` and `range_end`; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_compare_value(
    txn: *mut etcdc_v3_txn,
    key: *const c_void,
    key_len: usize,
    op: c_int,
    value: *const c_void,
    value_len: usize,
    opts: *const etcdc_v3_compare_options,
) -> etcdc_status {
    status(|| {
        let c = Compare::value(
            bytes!(key, key_len),
            compare_op(op)?,
            bytes!(value, value_len),
        );
        let opts = options!(opts);
        arg_mut!(txn).when(c, &opts);
        Ok(())
    })
}

/// Adds a compare: the version of the key `key` (`key_len` bytes; 0 when it
/// does not exist), `op` (one of `etcdc_v3_compare_op`), `version`. With
/// `opts`, every key of a prefix or range instead. `opts` NULL compares the
/// key alone.
///
/// Errors: as `etcdc_v3_txn_compare_value()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_compare_version(
    txn: *mut etcdc_v3_txn,
    key: *const c_void,
    key_len: usize,
    op: c_int,
    version: i64,
    opts: *const etcdc_v3_compare_options,
) -> etcdc_status {
    status(|| {
        let c = Compare::version(bytes!(key, key_len), compare_op(op)?, version);
        let opts = options!(opts);
        arg_mut!(txn).when(c, &opts);
        Ok(())
    })
}

/// Adds a compare: the create revision of the key `key` (`key_len` bytes; 0
/// when it does not exist), `op` (one of `etcdc_v3_compare_op`),
/// `revision`. With `opts`, every key of a prefix or range instead. `opts`
/// NULL compares the key alone.
///
/// Errors: as `etcdc_v3_txn_compare_value()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_compare_create_revision(
    txn: *mut etcdc_v3_txn,
    key: *const c_void,
    key_len: usize,
    op: c_int,
    revision: i64,
    opts: *const etcdc_v3_compare_options,
) -> etcdc_status {
    status(|| {
        let c = Compare::create_revision(bytes!(key, key_len), compare_op(op)?, revision);
        let opts = options!(opts);
        arg_mut!(txn).when(c, &opts);
        Ok(())
    })
}

/// Adds a compare: the mod revision of the key `key` (`key_len` bytes; 0
/// when it does not exist), `op` (one of `etcdc_v3_compare_op`),
/// `revision`. With `opts`, every key of a prefix or range instead. `opts`
/// NULL compares the key alone.
///
/// Errors: as `etcdc_v3_txn_compare_value()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_compare_mod_revision(
    txn: *mut etcdc_v3_txn,
    key: *const c_void,
    key_len: usize,
    op: c_int,
    revision: i64,
    opts: *const etcdc_v3_compare_options,
) -> etcdc_status {
    status(|| {
        let c = Compare::mod_revision(bytes!(key, key_len), compare_op(op)?, revision);
        let opts = options!(opts);
        arg_mut!(txn).when(c, &opts);
        Ok(())
    })
}

/// Adds a compare: the lease of the key `key` (`key_len` bytes; 0 for none),
/// `op` (one of `etcdc_v3_compare_op`), `lease`. With `opts`, every key of
/// a prefix or range instead. `opts` NULL compares the key alone.
///
/// Errors: as `etcdc_v3_txn_compare_value()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_compare_lease(
    txn: *mut etcdc_v3_txn,
    key: *const c_void,
    key_len: usize,
    op: c_int,
    lease: i64,
    opts: *const etcdc_v3_compare_options,
) -> etcdc_status {
    status(|| {
        let c = Compare::lease(bytes!(key, key_len), compare_op(op)?, lease);
        let opts = options!(opts);
        arg_mut!(txn).when(c, &opts);
        Ok(())
    })
}

/// Adds to `branch` (one of `etcdc_v3_branch`) a range of `key` (`key_len`
/// bytes), as `etcdc_v3_range()` with `opts` reads it (`opts` NULL: the key
/// alone). Its answer is read with `etcdc_v3_txn_response_op_range()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`txn`; a pointer with a
/// length), a `branch` that is none of its values, or options
/// `etcdc_v3_range()` refuses; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_add_range(
    txn: *mut etcdc_v3_txn,
    branch: c_int,
    key: *const c_void,
    key_len: usize,
    opts: *const etcdc_v3_range_options,
) -> etcdc_status {
    status(|| {
        let op = Op::Range(options!(opts).range(bytes!(key, key_len)));
        arg_mut!(txn).add(branch, op)
    })
}

/// Adds to `branch` (one of `etcdc_v3_branch`) a put of `value`
/// (`value_len` bytes) at `key` (`key_len` bytes), as `etcdc_v3_put()` with
/// `opts` (NULL: a plain put). Its answer is read with
/// `etcdc_v3_txn_response_op_put()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`txn`; a pointer with a
/// length), a `branch` that is none of its values, or an unknown options
/// version; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_add_put(
    txn: *mut etcdc_v3_txn,
    branch: c_int,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
    opts: *const etcdc_v3_put_options,
) -> etcdc_status {
    status(|| {
        let op = Op::Put(options!(opts).put(bytes!(key, key_len), bytes!(value, value_len)));
        arg_mut!(txn).add(branch, op)
    })
}

/// Adds to `branch` (one of `etcdc_v3_branch`) a delete of `key` (`key_len`
/// bytes), or with `opts` of its prefix or range, as `etcdc_v3_delete()`
/// (`opts` NULL: the key alone). Its answer is read with
/// `etcdc_v3_txn_response_op_delete()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`txn`; a pointer with a
/// length), a `branch` that is none of its values, or options
/// `etcdc_v3_delete()` refuses; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_add_delete(
    txn: *mut etcdc_v3_txn,
    branch: c_int,
    key: *const c_void,
    key_len: usize,
    opts: *const etcdc_v3_delete_options,
) -> etcdc_status {
    status(|| {
        let op = Op::Delete(options!(opts).delete(bytes!(key, key_len)));
        arg_mut!(txn).add(branch, op)
    })
}

/// Adds to `branch` (one of `etcdc_v3_branch`) the transaction `nested`, as
/// it is now: a copy is added, so `nested` stays the caller's, to change,
/// commit or free (later changes of it do not affect `txn`). `nested` may
/// be `txn` itself. Its answer is read with `etcdc_v3_txn_response_op_txn()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or a `branch` that is none
/// of its values; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_add_txn(
    txn: *mut etcdc_v3_txn,
    branch: c_int,
    nested: *const etcdc_v3_txn,
) -> etcdc_status {
    status(|| {
        // The copy is made before `txn` is borrowed: they may be one.
        let copy = arg!(nested).txn.clone();
        arg_mut!(txn).add(branch, Op::Txn(copy))
    })
}

/// Sends the transaction: if every compare holds, the success branch runs,
/// else the failure branch. `txn` is not changed (it can be committed
/// again).
///
/// Errors: `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for a branch that writes a key
/// twice, an empty key, or too many ops; `ETCDC_ERR_AMBIGUOUS` when a
/// transaction that writes may have been applied without a certain answer
/// (one that only reads moves on to another member as a read does);
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client` or `txn`; transport
/// errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_txn_response_free()`; `out` may be NULL when the response is
/// not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_commit(
    client: *const etcdc_client,
    txn: *const etcdc_v3_txn,
    out: *mut *mut etcdc_v3_txn_response,
) -> etcdc_status {
    status(|| {
        let answer = arg!(client).v3().txn(&arg!(txn).txn)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_v3_txn_response::new(answer)) };
        Ok(())
    })
}

// ------------------------------------------------------------- responses

/// The answer to `etcdc_v3_txn_commit()`: which branch ran, and the answer
/// of each of its ops. Owned by the caller and freed with
/// `etcdc_v3_txn_response_free()`, or borrowed from the transaction
/// response it is nested in (`etcdc_v3_txn_response_op_txn()`: never freed
/// on its own). Read-only: any number of threads may read it at once.
pub struct etcdc_v3_txn_response {
    header: etcdc_v3_header,
    succeeded: bool,
    ops: Vec<OpAnswer>,
}

/// The answer of one op, in the C form of its kind.
enum OpAnswer {
    Range(etcdc_v3_range_response),
    Put(etcdc_v3_put_response),
    Delete(etcdc_v3_delete_response),
    Txn(etcdc_v3_txn_response),
}

impl etcdc_v3_txn_response {
    pub(crate) fn new(r: TxnResponse) -> etcdc_v3_txn_response {
        let ops = r
            .responses
            .into_iter()
            .map(|op| match op {
                OpResponse::Range(r) => OpAnswer::Range(etcdc_v3_range_response::new(r)),
                OpResponse::Put(r) => OpAnswer::Put(etcdc_v3_put_response::new(r)),
                OpResponse::Delete(r) => OpAnswer::Delete(etcdc_v3_delete_response::new(r)),
                OpResponse::Txn(r) => OpAnswer::Txn(etcdc_v3_txn_response::new(r)),
            })
            .collect();
        etcdc_v3_txn_response {
            header: r.header.into(),
            succeeded: r.succeeded,
            ops,
        }
    }

    fn op(&self, i: usize) -> Option<&OpAnswer> {
        self.ops.get(i)
    }
}

/// Frees a transaction response and everything borrowed from it. NULL is a
/// no-op. Never pass a response borrowed from another one.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_free(response: *mut etcdc_v3_txn_response) {
    free!(response)
}

/// The response's header (its revision: the transaction's, when it wrote).
/// Borrowed from the response; NULL only if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_header(
    response: *const etcdc_v3_txn_response,
) -> *const etcdc_v3_header {
    read(response, ptr::null(), |r| &r.header as *const _)
}

/// Whether every compare held, so that the success branch ran (else the
/// failure branch did). false if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_succeeded(
    response: *const etcdc_v3_txn_response,
) -> bool {
    read(response, false, |r| r.succeeded)
}

/// Number of ops of the branch that ran, each with its answer (0 if
/// `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_op_count(
    response: *const etcdc_v3_txn_response,
) -> usize {
    read(response, 0, |r| r.ops.len())
}

/// What op `i` (0-based, in the order the ops were added to the branch that
/// ran) was; `ETCDC_V3_OP_NONE` if out of range or `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_op_kind(
    response: *const etcdc_v3_txn_response,
    i: usize,
) -> etcdc_v3_op_kind {
    use etcdc_v3_op_kind::*;
    read(response, ETCDC_V3_OP_NONE, |r| match r.op(i) {
        None => ETCDC_V3_OP_NONE,
        Some(OpAnswer::Range(_)) => ETCDC_V3_OP_RANGE,
        Some(OpAnswer::Put(_)) => ETCDC_V3_OP_PUT,
        Some(OpAnswer::Delete(_)) => ETCDC_V3_OP_DELETE,
        Some(OpAnswer::Txn(_)) => ETCDC_V3_OP_TXN,
    })
}

/// The answer of op `i` if it is a range, else NULL. Borrowed from the
/// response (read it with the `etcdc_v3_range_response_*()` accessors; do
/// not free it).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_op_range(
    response: *const etcdc_v3_txn_response,
    i: usize,
) -> *const etcdc_v3_range_response {
    read(response, ptr::null(), |r| match r.op(i) {
        Some(OpAnswer::Range(a)) => a as *const _,
        _ => ptr::null(),
    })
}

/// The answer of op `i` if it is a put, else NULL. Borrowed from the
/// response (read it with the `etcdc_v3_put_response_*()` accessors; do not
/// free it).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_op_put(
    response: *const etcdc_v3_txn_response,
    i: usize,
) -> *const etcdc_v3_put_response {
    read(response, ptr::null(), |r| match r.op(i) {
        Some(OpAnswer::Put(a)) => a as *const _,
        _ => ptr::null(),
    })
}

/// The answer of op `i` if it is a delete, else NULL. Borrowed from the
/// response (read it with the `etcdc_v3_delete_response_*()` accessors; do
/// not free it).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_op_delete(
    response: *const etcdc_v3_txn_response,
    i: usize,
) -> *const etcdc_v3_delete_response {
    read(response, ptr::null(), |r| match r.op(i) {
        Some(OpAnswer::Delete(a)) => a as *const _,
        _ => ptr::null(),
    })
}

/// The answer of op `i` if it is a nested transaction, else NULL. Borrowed
/// from the response (read it with these same accessors; do not free it).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_response_op_txn(
    response: *const etcdc_v3_txn_response,
    i: usize,
) -> *const etcdc_v3_txn_response {
    read(response, ptr::null(), |r| match r.op(i) {
        Some(OpAnswer::Txn(a)) => a as *const _,
        _ => ptr::null(),
    })
}

// ---------------------------------------------------------- conveniences

/// The outcome of a conditional write (`etcdc_v3_put_if_absent()` and the
/// others): whether it was applied, and if not, the key as it is. Owned by
/// the caller and freed with `etcdc_v3_swap_response_free()`. Read-only:
/// any number of threads may read it at once.
pub struct etcdc_v3_swap_response {
    succeeded: bool,
    revision: i64,
    current: Kvs,
}

impl etcdc_v3_swap_response {
    fn new(s: Swapped) -> etcdc_v3_swap_response {
        etcdc_v3_swap_response {
            succeeded: s.succeeded,
            revision: s.revision,
            current: Kvs::new(s.current.as_slice()),
        }
    }
}

/// Gives the outcome of a conditional write to C through `out` (required,
/// checked before the call).
fn swapped(out: &mut *mut etcdc_v3_swap_response, s: Swapped) {
    give(out, etcdc_v3_swap_response::new(s));
}

/// Creates the key `key` (`key_len` bytes) with `value` (`value_len` bytes)
/// and `lease` (0 for none), only if it does not exist. If it does, nothing
/// is written and the response holds it as it is.
///
/// Errors: `ETCDC_ERR_GRPC_NOT_FOUND` for a `lease` that does not exist,
/// `ETCDC_ERR_AMBIGUOUS` when the write may have been applied without a
/// certain answer (read the key to learn), `ETCDC_ERR_INVALID_ARGUMENT` for
/// NULL (`client`, `out`; a pointer with a length); transport errors. A
/// condition that does not hold is no error.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_swap_response_free()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_if_absent(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
    lease: i64,
    out: *mut *mut etcdc_v3_swap_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let (key, value) = (bytes!(key, key_len), bytes!(value, value_len));
        swapped(out, arg!(client).v3().put_if_absent(key, value, lease)?);
        Ok(())
    })
}

/// Sets the key `key` (`key_len` bytes) to `value` (`value_len` bytes) only
/// if its mod revision is `revision`: nobody wrote it since it was read at
/// that revision (0: only if it does not exist). If not, nothing is written
/// and the response holds the key as it is (if it exists).
///
/// Errors: as `etcdc_v3_put_if_absent()`.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_swap_response_free()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_if_mod_revision(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    revision: i64,
    value: *const c_void,
    value_len: usize,
    out: *mut *mut etcdc_v3_swap_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let (key, value) = (bytes!(key, key_len), bytes!(value, value_len));
        swapped(
            out,
            arg!(client)
                .v3()
                .put_if_mod_revision(key, revision, value)?,
        );
        Ok(())
    })
}

/// Sets the key `key` (`key_len` bytes) to `value` (`value_len` bytes) only
/// if its value is `expected` (`expected_len` bytes; a key that does not
/// exist has none). If not, nothing is written and the response holds the
/// key as it is (if it exists).
///
/// Errors: as `etcdc_v3_put_if_absent()`.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_swap_response_free()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_put_if_value(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    expected: *const c_void,
    expected_len: usize,
    value: *const c_void,
    value_len: usize,
    out: *mut *mut etcdc_v3_swap_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let key = bytes!(key, key_len);
        let (expected, value) = (bytes!(expected, expected_len), bytes!(value, value_len));
        swapped(out, arg!(client).v3().put_if_value(key, expected, value)?);
        Ok(())
    })
}

/// Deletes the key `key` (`key_len` bytes) only if its mod revision is
/// `revision`. If not, nothing is deleted and the response holds the key as
/// it is (if it exists).
///
/// Errors: as `etcdc_v3_put_if_absent()`.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_swap_response_free()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_if_mod_revision(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    revision: i64,
    out: *mut *mut etcdc_v3_swap_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let key = bytes!(key, key_len);
        swapped(
            out,
            arg!(client).v3().delete_if_mod_revision(key, revision)?,
        );
        Ok(())
    })
}

/// Deletes the key `key` (`key_len` bytes) only if its value is `expected`
/// (`expected_len` bytes). If not, nothing is deleted and the response
/// holds the key as it is (if it exists).
///
/// Errors: as `etcdc_v3_put_if_absent()`.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_swap_response_free()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_delete_if_value(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    expected: *const c_void,
    expected_len: usize,
    out: *mut *mut etcdc_v3_swap_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let (key, expected) = (bytes!(key, key_len), bytes!(expected, expected_len));
        swapped(out, arg!(client).v3().delete_if_value(key, expected)?);
        Ok(())
    })
}

/// Frees a swap response and the kv borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_swap_response_free(response: *mut etcdc_v3_swap_response) {
    free!(response)
}

/// Whether the condition held and the write was applied (false if
/// `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_swap_response_succeeded(
    response: *const etcdc_v3_swap_response,
) -> bool {
    read(response, false, |r| r.succeeded)
}

/// The store's revision after the call: the write's when it was applied (0
/// if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_swap_response_revision(
    response: *const etcdc_v3_swap_response,
) -> i64 {
    read(response, 0, |r| r.revision)
}

/// When the write was not applied: the key as it is now; NULL when it was
/// applied, or the key does not exist. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_swap_response_current(
    response: *const etcdc_v3_swap_response,
) -> *const etcdc_v3_kv {
    read(response, ptr::null(), |r| r.current.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::{KeyValue, PutResponse, RangeResponse};

    #[test]
    fn nested_answers_are_borrowed_views_of_their_kinds() {
        let inner = TxnResponse {
            succeeded: true,
            responses: vec![OpResponse::Put(PutResponse::default())],
            ..Default::default()
        };
        let kv = KeyValue {
            key: b"k\0".to_vec(),
            ..Default::default()
        };
        let outer = TxnResponse {
            succeeded: false,
            responses: vec![
                OpResponse::Range(RangeResponse {
                    kvs: vec![kv],
                    count: 1,
                    ..Default::default()
                }),
                OpResponse::Txn(inner),
            ],
            ..Default::default()
        };
        let r = Box::into_raw(Box::new(etcdc_v3_txn_response::new(outer)));
        use etcdc_v3_op_kind::*;
        // SAFETY: a live response, freed at the end.
        unsafe {
            assert!(!etcdc_v3_txn_response_succeeded(r));
            assert_eq!(etcdc_v3_txn_response_op_count(r), 2);
            assert_eq!(etcdc_v3_txn_response_op_kind(r, 0), ETCDC_V3_OP_RANGE);
            assert_eq!(etcdc_v3_txn_response_op_kind(r, 1), ETCDC_V3_OP_TXN);
            assert_eq!(etcdc_v3_txn_response_op_kind(r, 2), ETCDC_V3_OP_NONE);
            assert!(etcdc_v3_txn_response_op_put(r, 0).is_null());
            let range = etcdc_v3_txn_response_op_range(r, 0);
            let kv = &*super::super::v3_kv::etcdc_v3_range_response_kv(range, 0);
            assert_eq!(kv.key_len, 2);
            let nested = etcdc_v3_txn_response_op_txn(r, 1);
            assert!(etcdc_v3_txn_response_succeeded(nested));
            assert_eq!(etcdc_v3_txn_response_op_kind(nested, 0), ETCDC_V3_OP_PUT);
            assert!(!etcdc_v3_txn_response_op_put(nested, 0).is_null());
            etcdc_v3_txn_response_free(r);
        }
    }

    #[test]
    fn a_refused_op_leaves_the_txn_unchanged() {
        let mut out = ptr::null_mut();
        // SAFETY: valid pointers; the txn is freed at the end.
        unsafe {
            assert_eq!(etcdc_v3_txn_new(&mut out), etcdc_status::ETCDC_OK);
            let key = b"k".as_ptr().cast();
            assert_eq!(
                etcdc_v3_txn_add_put(out, 0, key, 1, key, 1, ptr::null()),
                etcdc_status::ETCDC_OK
            );
            let before = (*out).txn.clone();
            assert_eq!(
                etcdc_v3_txn_add_put(out, 7, key, 1, key, 1, ptr::null()),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                etcdc_v3_txn_compare_version(out, key, 1, 9, 0, ptr::null()),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!((*out).txn, before);
            // Added to itself: a copy of what it had.
            assert_eq!(etcdc_v3_txn_add_txn(out, 1, out), etcdc_status::ETCDC_OK);
            assert_eq!((*out).txn, before.clone().or_else([before]));
            etcdc_v3_txn_free(out);
        }
    }

    #[test]
    fn options_sizes_match_versions() {
        use super::options::Options;
        type O = etcdc_v3_compare_options;
        assert_eq!(O::SIZES.len(), ETCDC_V3_COMPARE_OPTIONS_VERSION as usize);
        assert_eq!(*O::SIZES.last().unwrap(), std::mem::size_of::<O>());
        assert_eq!(std::mem::align_of::<O>(), 8);
    }
}
