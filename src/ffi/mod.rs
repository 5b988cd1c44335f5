//! The C API declared in `include/etcdc.h`.
//!
//! This layer holds no etcd logic: each function checks and converts its
//! arguments, calls the Rust client, and converts the result or error. Every
//! `extern "C"` body runs inside [`boundary`] (or [`status`], which builds on
//! it), so no panic crosses into C.
//!
//! Handles are Rust structs that C sees as opaque (`etcdc_client` wraps a
//! [`Client`](crate::Client), `etcdc_response` a [`Response`](crate::Response)
//! plus a C view of its nodes). Handles returned through out-parameters are
//! `Box`es given to C; their `_free` functions take them back.
//!
//! Every `unsafe extern "C"` function has the same safety contract, stated
//! once in the header: each pointer argument is NULL or valid for its type
//! (handles live and not freed, strings NUL-terminated, out-parameters
//! writable); NULLs are checked here, the rest cannot be.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};

pub mod auth;
pub mod client;
pub mod cluster;
pub mod election;
pub mod error;
pub mod keys;
pub mod lock;
pub mod node;
pub mod watch;

pub use error::etcdc_status;

/// What a C function returns when the Rust code under it panicked.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for etcdc_status {
    fn on_panic() -> Self {
        etcdc_status::ETCDC_ERR_PANIC
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

macro_rules! on_panic_zero {
    ($($t:ty),*) => { $( impl OnPanic for $t { fn on_panic() -> Self { <$t>::default() } } )* };
}
on_panic_zero!((), bool, u64, i64, usize);

/// Runs `f`, turning a panic into `T::on_panic()` and recording it as the
/// thread's last error.
pub(crate) fn boundary<T: OnPanic>(f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            error::set_last(
                etcdc_status::ETCDC_ERR_PANIC,
                &format!("internal error (panic): {what}"),
                None,
                0,
            );
            T::on_panic()
        }
    }
}

/// [`boundary`] for status-returning functions: `Ok` is `ETCDC_OK`; an error
/// becomes its status and the thread's last-error detail.
pub(crate) fn status(f: impl FnOnce() -> Result<()>) -> etcdc_status {
    boundary(|| match f() {
        Ok(()) => etcdc_status::ETCDC_OK,
        Err(e) => error::record(&e),
    })
}

/// The body of every `etcdc_*_options_init()`: zero the struct and set its
/// version (each options struct is `repr(C)` and starts with `version: u32`).
pub(crate) fn init_options<T>(opts: *mut T, version: u32) {
    boundary(|| {
        if !opts.is_null() {
            // SAFETY: writable per the header's contract; all-zero is a valid
            // value of every options struct, whose first field is a u32.
            unsafe {
                std::ptr::write_bytes(opts, 0, 1);
                *(opts as *mut u32) = version;
            }
        }
    })
}

/// A required pointer argument, or `InvalidArgument` naming it.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: the caller promises a valid or NULL pointer.
    unsafe { p.as_ref() }.ok_or_else(|| Error::InvalidArgument(format!("{name} is NULL")))
}

/// A required out-parameter, or `InvalidArgument` naming it.
pub(crate) unsafe fn arg_out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: the caller promises a valid or NULL pointer.
    unsafe { p.as_mut() }.ok_or_else(|| Error::InvalidArgument(format!("{name} is NULL")))
}

/// A required NUL-terminated UTF-8 string argument.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: as above.
    unsafe { opt_str(p, name) }?.ok_or_else(|| Error::InvalidArgument(format!("{name} is NULL")))
}

/// An optional string argument: NULL is `None`.
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|e| Error::InvalidArgument(format!("{name} is not valid UTF-8 ({e})")))
}

/// Writes `value` into the out-parameter `out` unless it is NULL (the
/// caller does not want it); a boxed value is dropped then.
pub(crate) unsafe fn put_box<T>(out: *mut *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the caller.
        unsafe { *out = Box::into_raw(Box::new(value)) };
    }
}

/// `count` C strings (an array of pointers, each NUL-terminated UTF-8) as a
/// list; `name` is the array's parameter name for messages. An empty list
/// is refused.
pub(crate) unsafe fn str_list<'a>(
    items: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<&'a str>> {
    if count == 0 {
        return Err(Error::InvalidArgument(format!(
            "{name}: none given (count is 0)"
        )));
    }
    if items.is_null() {
        return Err(Error::InvalidArgument(format!("{name} is NULL")));
    }
    // SAFETY: `count` readable pointers per the header's contract.
    let raw = unsafe { std::slice::from_raw_parts(items, count) };
    raw.iter()
        .enumerate()
        // SAFETY: each NULL or NUL-terminated per the contract.
        .map(|(i, p)| unsafe { arg_str(*p, &format!("{name}[{i}]")) })
        .collect()
}

/// Collects the strings of a C view into one buffer of NUL-terminated
/// strings (one allocation for all of them); hands out offsets until frozen.
#[derive(Default)]
pub(crate) struct Arena(Vec<u8>);

/// The offset of a string that is absent (a NULL pointer).
pub(crate) const NONE: usize = usize::MAX;

impl Arena {
    /// An arena for strings of `bytes` bytes in all, NULs included.
    pub(crate) fn with_capacity(bytes: usize) -> Arena {
        Arena(Vec::with_capacity(bytes))
    }

    pub(crate) fn add(&mut self, s: &str) -> usize {
        let at = self.0.len();
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }

    /// Bytes written so far, NULs included.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn add_opt(&mut self, s: Option<&str>) -> usize {
        s.map_or(NONE, |s| self.add(s))
    }

    /// No more strings: from now on, pointers can be handed out.
    pub(crate) fn freeze(self) -> Strings {
        Strings(self.0)
    }
}

/// A frozen [`Arena`]. Its pointers stay valid when it moves (a `Vec`'s
/// buffer does not move with it) and until it is dropped.
pub(crate) struct Strings(Vec<u8>);

impl Strings {
    /// The string at `offset`, or NULL for [`NONE`].
    pub(crate) fn ptr(&self, offset: usize) -> *const c_char {
        if offset == NONE {
            return std::ptr::null();
        }
        // SAFETY: offsets come from Arena::add, inside the buffer. `as_ptr`
        // makes no intermediate reference, so the pointer outlives moves.
        unsafe { self.0.as_ptr().add(offset).cast() }
    }
}

/// A copy of `s` in memory from `malloc`, NUL-terminated, for a `char *`
/// result that C frees with `etcdc_string_free()` (which calls `free`), so
/// the caller may modify it first. `s` must not contain NUL.
pub(crate) fn malloc_string(s: &str) -> *mut c_char {
    // SAFETY: malloc'ed size len + 1 holds the bytes and the NUL.
    unsafe {
        let p = libc::malloc(s.len() + 1).cast::<u8>();
        if p.is_null() {
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<u8>(s.len() + 1).unwrap());
        }
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        *p.add(s.len()) = 0;
        p.cast()
    }
}

/// The C convention for waits: milliseconds, negative for "as long as it
/// takes", 0 for "try once".
pub(crate) fn wait_limit(timeout_ms: i64) -> Option<std::time::Duration> {
    u64::try_from(timeout_ms)
        .ok()
        .map(std::time::Duration::from_millis)
}

/// Checks the `version` field an options struct starts with.
///
/// A struct of an older version is shorter: its reader copies just the
/// bytes of the caller's version into a zeroed struct instead of reading
/// the struct whole (see `etcdc_client_options`, at version 2).
pub(crate) fn check_version(found: u32, supported: u32, what: &str) -> Result<()> {
    if found == 0 || found > supported {
        return Err(Error::InvalidArgument(format!(
            "{what} has version {found}; this library knows versions 1 to {supported} \
             (initialise it with its _INIT macro or _init function)"
        )));
    }
    Ok(())
}
