//! The C API declared in `include/etcdc.h`.
//!
//! This layer holds no etcd logic: each function converts its arguments,
//! calls the Rust client, and converts the result or error — "convert, call,
//! convert". The conversions are the macros below, which name each argument
//! by its parameter (`stringify!`), so messages cannot drift from the
//! header; every `extern "C"` body runs inside [`boundary`] (or [`status`],
//! built on it), so no panic crosses into C.
//!
//! Handles are Rust structs that C sees as opaque (`etcdc_client` wraps a
//! [`Client`](crate::Client), `etcdc_response` a
//! [`Response`](crate::Response) plus a C view of its nodes). A handle given
//! to C is a `Box` ([`args::give`]); its `_free` takes it back
//! ([`args::free`]).
//!
//! Safety contract of every `unsafe extern "C"` function, stated once in the
//! header: each pointer argument is NULL or valid for its type (handles live
//! and not freed, strings NUL-terminated, out-parameters writable, arrays as
//! long as their count says). NULLs are checked here; the rest cannot be.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

/// A required pointer argument as `&T`: NULL returns
/// `ETCDC_ERR_INVALID_ARGUMENT` naming the parameter. Use inside a body
/// returning `Result`.
macro_rules! arg {
    ($name:ident) => {{
        let p = $name;
        // SAFETY: NULL or valid, per the header's contract.
        unsafe { $crate::ffi::args::reference(p, stringify!($name)) }?
    }};
}

/// A required pointer argument as `&mut T` (a handle used by one thread at
/// a time, or an out-parameter).
macro_rules! arg_mut {
    ($name:ident) => {{
        let p = $name;
        // SAFETY: NULL or valid, per the header's contract.
        unsafe { $crate::ffi::args::mutable(p, stringify!($name)) }?
    }};
}

/// A required NUL-terminated UTF-8 string argument as `&str`.
macro_rules! string {
    ($name:ident) => {{
        let p = $name;
        // SAFETY: NULL or NUL-terminated, per the header's contract.
        unsafe { $crate::ffi::args::string(p, stringify!($name)) }?
    }};
}

/// An optional string argument as `Option<&str>` (NULL: `None`).
macro_rules! opt_string {
    ($name:ident) => {{
        let p = $name;
        // SAFETY: NULL or NUL-terminated, per the header's contract.
        unsafe { $crate::ffi::args::opt_string(p, stringify!($name)) }?
    }};
}

/// An array of `count` strings as `Vec<&str>`; empty is refused.
macro_rules! strings {
    ($name:ident, $count:ident) => {{
        let (p, n) = ($name, $count);
        // SAFETY: `count` readable pointers, each NULL or NUL-terminated.
        unsafe { $crate::ffi::args::string_list(p, n, stringify!($name)) }?
    }};
}

/// A bytes argument, a pointer and its length (`key`, `key_len`), as
/// `&[u8]`: NULL with length 0 is empty; NULL with another length, or a
/// length over `isize::MAX`, is `ETCDC_ERR_INVALID_ARGUMENT`.
macro_rules! bytes {
    ($name:ident, $len:ident) => {{
        let (p, n) = ($name, $len);
        // SAFETY: NULL, or `n` readable bytes, per the header's contract.
        unsafe { $crate::ffi::v3_kv::bytes(p, n, stringify!($name), stringify!($len)) }?
    }};
}

/// An options struct pointer as its Rust options: NULL gives the defaults;
/// an unknown version is refused (see [`options`]).
macro_rules! options {
    ($name:ident) => {{
        let p = $name;
        // SAFETY: NULL or a struct of the version it names, per the contract.
        unsafe { $crate::ffi::options::read(p) }?
    }};
}

/// The body of a `_free` function: takes back a boxed handle; NULL is a
/// no-op.
macro_rules! free {
    ($name:ident) => {{
        let p = $name;
        // SAFETY: NULL, or a handle this library gave out and C frees once.
        $crate::ffi::boundary(|| unsafe { $crate::ffi::args::free(p) })
    }};
}

mod arena;
mod args;
mod boundary;
mod options;

pub mod auth;
pub mod client;
pub mod cluster;
pub mod election;
pub mod error;
pub mod keys;
pub mod list;
pub mod lock;
pub mod node;
pub mod v3_auth;
pub mod v3_cluster;
pub mod v3_election;
pub mod v3_keeper;
pub mod v3_kv;
pub mod v3_lease;
pub mod v3_lock;
pub mod v3_maintenance;
pub mod v3_txn;
pub mod v3_watch;
pub mod watch;

pub(crate) use boundary::{boundary, status, OnPanic};
pub use error::etcdc_status;
