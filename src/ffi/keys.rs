//! Keys: write, read, delete, and the conveniences built on them.
//!
//! Every function here takes a client (which any number of threads may share),
//! returns an `etcdc_status`, and on success stores a new response in `*out`
//! (owned by the caller, freed with `etcdc_response_free()`). `out` may be NULL
//! when the caller does not want the response. On failure `*out` is untouched
//! and `etcdc_error_last()` has the detail.

use std::ffi::{c_char, c_int};

use super::args::give_opt;
use super::client::etcdc_client;
use super::node::{etcdc_node, etcdc_response};
use super::options::{self, c_options};
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::{DeleteOptions, ReadOptions, Response, WriteOptions};

/// The current version of `etcdc_write_options`.
pub const ETCDC_WRITE_OPTIONS_VERSION: u32 = 1;
/// The current version of `etcdc_read_options`.
pub const ETCDC_READ_OPTIONS_VERSION: u32 = 1;
/// The current version of `etcdc_delete_options`.
pub const ETCDC_DELETE_OPTIONS_VERSION: u32 = 1;

/// The longest TTL accepted, in seconds: 100 years. (etcd stores a key's
/// expiry instant in signed 64-bit nanoseconds since 1970, which ends in
/// 2262, and silently drops a TTL that reaches past it.) A longer `ttl` is
/// `ETCDC_ERR_INVALID_ARGUMENT`.
pub const ETCDC_MAX_TTL: u64 = 3_153_600_000;

/// `etcdc_write_options.prev_exist`: no condition on existence (default).
pub const ETCDC_PREV_EXIST_ANY: c_int = 0;
/// `etcdc_write_options.prev_exist`: only if the key exists.
pub const ETCDC_PREV_EXIST_TRUE: c_int = 1;
/// `etcdc_write_options.prev_exist`: only if the key does not exist (create).
pub const ETCDC_PREV_EXIST_FALSE: c_int = 2;

/// Options of `etcdc_write()`. Initialise with `ETCDC_WRITE_OPTIONS_INIT` or
/// `etcdc_write_options_init(&opts, ETCDC_WRITE_OPTIONS_VERSION)`; fields left 0 / NULL / false mean "not set".
/// Strings need only live during the call.
#[repr(C)]
pub struct etcdc_write_options {
    /// `ETCDC_WRITE_OPTIONS_VERSION`.
    pub version: u32,
    /// Seconds to live, up to `ETCDC_MAX_TTL`; 0 for no TTL.
    pub ttl: u64,
    /// Create a directory (the value must be NULL or "").
    pub dir: bool,
    /// POST an in-order key under the directory `key`; etcd names it after
    /// its index (`<key>/00000000000000000042`), so keys sort in creation order.
    pub append: bool,
    /// Only if the current value is this (compare-and-swap); NULL: no condition.
    pub prev_value: *const c_char,
    /// Only if the key was last modified at this index; 0: no condition.
    pub prev_index: u64,
    /// One of `ETCDC_PREV_EXIST_ANY` / `_TRUE` / `_FALSE`.
    pub prev_exist: c_int,
    /// Reset the TTL of an existing key without changing its value or waking
    /// watchers (needs `ttl`; the value must be NULL or "").
    pub refresh: bool,
}

/// Options of `etcdc_read()`. Initialise with `ETCDC_READ_OPTIONS_INIT` or
/// `etcdc_read_options_init(&opts, ETCDC_READ_OPTIONS_VERSION)`; all false means a plain read of one node.
#[repr(C)]
pub struct etcdc_read_options {
    /// `ETCDC_READ_OPTIONS_VERSION`.
    pub version: u32,
    /// List the whole subtree of a directory (otherwise one level).
    pub recursive: bool,
    /// List children in key order.
    pub sorted: bool,
    /// Read through raft consensus: never stale, but slower.
    pub quorum: bool,
}

/// Options of `etcdc_delete()`. Initialise with `ETCDC_DELETE_OPTIONS_INIT`
/// or `etcdc_delete_options_init(&opts, ETCDC_DELETE_OPTIONS_VERSION)`; all 0 / NULL deletes a value.
#[repr(C)]
pub struct etcdc_delete_options {
    /// `ETCDC_DELETE_OPTIONS_VERSION`.
    pub version: u32,
    /// Delete a directory and everything under it.
    pub recursive: bool,
    /// Delete an empty directory.
    pub dir: bool,
    /// Only if the current value is this (compare-and-delete); NULL: no condition.
    pub prev_value: *const c_char,
    /// Only if the key was last modified at this index; 0: no condition.
    pub prev_index: u64,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_WRITE_OPTIONS_INIT` does; pass `ETCDC_WRITE_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_write_options_init(
    opts: *mut etcdc_write_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_READ_OPTIONS_INIT` does; pass `ETCDC_READ_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_read_options_init(
    opts: *mut etcdc_read_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_DELETE_OPTIONS_INIT` does; pass `ETCDC_DELETE_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_delete_options_init(
    opts: *mut etcdc_delete_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

fn nonzero(n: u64) -> Option<u64> {
    (n != 0).then_some(n)
}

/// A string field of an options struct (NULL: `None`).
fn field<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    // SAFETY: NULL or NUL-terminated, per the contract of the struct.
    unsafe { super::args::opt_string(p, name) }
}

c_options!(etcdc_write_options => WriteOptions<'a>, |o| {
    let prev_exist = match o.prev_exist {
        ETCDC_PREV_EXIST_ANY => None,
        ETCDC_PREV_EXIST_TRUE => Some(true),
        ETCDC_PREV_EXIST_FALSE => Some(false),
        other => {
            return Err(Error::InvalidArgument(format!(
                "prev_exist is {other}, not one of the ETCDC_PREV_EXIST_* values"
            )))
        }
    };
    Ok(WriteOptions {
        ttl: nonzero(o.ttl),
        dir: o.dir,
        append: o.append,
        prev_value: field(o.prev_value, "prev_value")?,
        prev_index: nonzero(o.prev_index),
        prev_exist,
        refresh: o.refresh,
    })
});

c_options!(etcdc_read_options => ReadOptions, |o| Ok(ReadOptions {
    recursive: o.recursive,
    sorted: o.sorted,
    quorum: o.quorum,
}));

c_options!(etcdc_delete_options => DeleteOptions<'a>, |o| Ok(DeleteOptions {
    recursive: o.recursive,
    dir: o.dir,
    prev_value: field(o.prev_value, "prev_value")?,
    prev_index: nonzero(o.prev_index),
}));

/// Runs a keys call and gives its response to C through `out` (NULL: not
/// wanted; else writable, per the contract).
fn respond(out: *mut *mut etcdc_response, call: impl FnOnce() -> Result<Response>) -> etcdc_status {
    status(|| {
        let response = call()?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_response::new(response)) };
        Ok(())
    })
}

/// Writes `value` at `key` (PUT), or with `append` creates an in-order key
/// under the directory `key` (POST). `opts` NULL is a plain set. `value` may
/// be NULL only for `dir` and `refresh` (which take no value).
///
/// Errors: etcd's, e.g. `ETCDC_ERR_COMPARE_FAILED`, `ETCDC_ERR_NODE_EXIST`,
/// `ETCDC_ERR_NOT_FILE`, `ETCDC_ERR_KEY_NOT_FOUND`; `ETCDC_ERR_INVALID_ARGUMENT`
/// for NULL, invalid UTF-8, a key with an empty, "." or ".." segment, or
/// options that contradict each other; transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_write(
    client: *const etcdc_client,
    key: *const c_char,
    value: *const c_char,
    opts: *const etcdc_write_options,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || {
        let opts = options!(opts);
        let value = match opt_string!(value) {
            Some(v) => v,
            None if opts.dir || opts.refresh => "",
            None => return Err(Error::InvalidArgument("value is NULL".into())),
        };
        arg!(client).write(string!(key), value, &opts)
    })
}

/// Reads `key`: a value, or a directory with its children (one level, or the
/// whole subtree with `recursive`). `opts` NULL is a plain read.
///
/// Errors: `ETCDC_ERR_KEY_NOT_FOUND`, `ETCDC_ERR_INVALID_ARGUMENT`, transport
/// errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_read(
    client: *const etcdc_client,
    key: *const c_char,
    opts: *const etcdc_read_options,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || arg!(client).read(string!(key), &options!(opts)))
}

/// Deletes `key`; the response's prev node is what was removed. `opts` NULL
/// deletes a value.
///
/// Errors: `ETCDC_ERR_KEY_NOT_FOUND`, `ETCDC_ERR_NOT_FILE` (a directory
/// without `dir`/`recursive`), `ETCDC_ERR_DIR_NOT_EMPTY`,
/// `ETCDC_ERR_COMPARE_FAILED`, `ETCDC_ERR_INVALID_ARGUMENT`, transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_delete(
    client: *const etcdc_client,
    key: *const c_char,
    opts: *const etcdc_delete_options,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || arg!(client).delete(string!(key), &options!(opts)))
}

/// Sets `key` to `value` only if its current value is `prev_value`
/// (python-etcd's `test_and_set`); `ttl` 0 for none.
///
/// Errors: `ETCDC_ERR_COMPARE_FAILED`, `ETCDC_ERR_KEY_NOT_FOUND`,
/// `ETCDC_ERR_INVALID_ARGUMENT`, transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_test_and_set(
    client: *const etcdc_client,
    key: *const c_char,
    value: *const c_char,
    prev_value: *const c_char,
    ttl: u64,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || {
        let (key, value, prev_value) = (string!(key), string!(value), string!(prev_value));
        arg!(client).test_and_set(key, value, prev_value, nonzero(ttl))
    })
}

/// Writes `value` over a node that was read, only if nobody modified it since
/// (compare-and-swap on its modified index), as python-etcd's `update`. It is
/// a real write: a new modified index, watchers woken. The TTL is re-sent as
/// what was left when the node was read (etcd would drop it otherwise).
/// `value` NULL writes the node's value again. `node` may come from any live
/// response, of any client.
///
/// Errors: `ETCDC_ERR_COMPARE_FAILED` if the key changed in between,
/// `ETCDC_ERR_KEY_NOT_FOUND` if it is gone, `ETCDC_ERR_INVALID_ARGUMENT`
/// (also for a directory: etcd has no compare on directories, so its update
/// could only be unconditional; `etcdc_refresh()` sets a directory's TTL),
/// transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_update(
    client: *const etcdc_client,
    node: *const etcdc_node,
    value: *const c_char,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || {
        let node = arg!(node).node();
        match opt_string!(value) {
            None => arg!(client).update(node),
            Some(v) => arg!(client).update_value(node, v),
        }
    })
}

/// Creates the directory `key` (with a TTL unless `ttl` is 0), as `etcdctl
/// mkdir`.
///
/// Errors: `ETCDC_ERR_NODE_EXIST` if the key exists, `ETCDC_ERR_NOT_DIR` if a
/// parent is a value, `ETCDC_ERR_INVALID_ARGUMENT`, transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_mkdir(
    client: *const etcdc_client,
    key: *const c_char,
    ttl: u64,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || arg!(client).mkdir(string!(key), nonzero(ttl)))
}

/// Resets the TTL of an existing key or directory to `ttl` seconds (not 0)
/// without changing its value or waking watchers.
///
/// Errors: `ETCDC_ERR_KEY_NOT_FOUND` if it is gone, `ETCDC_ERR_INVALID_ARGUMENT`
/// (also for `ttl` 0), transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_refresh(
    client: *const etcdc_client,
    key: *const c_char,
    ttl: u64,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || arg!(client).refresh(string!(key), ttl))
}

/// Deletes a value and hands it back: the response's node
/// (`etcdc_response_node()`) is the node as it was before the delete.
///
/// Errors: `ETCDC_ERR_KEY_NOT_FOUND` if there was nothing to pop, as
/// `etcdc_delete()` otherwise.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL when the response is not wanted.
#[no_mangle]
pub unsafe extern "C" fn etcdc_pop(
    client: *const etcdc_client,
    key: *const c_char,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    respond(out, || arg!(client).pop(string!(key)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_ttl_matches_the_client() {
        assert_eq!(super::ETCDC_MAX_TTL, crate::MAX_TTL);
    }
}
