//! Conversions of C arguments and results, behind the macros of
//! [`super`]: each refuses NULL or invalid UTF-8 with
//! `ETCDC_ERR_INVALID_ARGUMENT` naming the parameter.

use std::ffi::{c_char, CStr};
use std::time::Duration;

use crate::error::{Error, Result};

fn null(name: &str) -> Error {
    Error::InvalidArgument(format!("{name} is NULL"))
}

/// A required pointer as a reference.
pub(crate) unsafe fn reference<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: NULL or valid, per the caller.
    unsafe { p.as_ref() }.ok_or_else(|| null(name))
}

/// A required pointer as a unique reference.
pub(crate) unsafe fn mutable<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: NULL or valid and not aliased, per the caller.
    unsafe { p.as_mut() }.ok_or_else(|| null(name))
}

/// A required NUL-terminated UTF-8 string.
pub(crate) unsafe fn string<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: as `opt_string`.
    unsafe { opt_string(p, name) }?.ok_or_else(|| null(name))
}

/// An optional string: NULL is `None`.
pub(crate) unsafe fn opt_string<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated, per the caller.
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|e| Error::InvalidArgument(format!("{name} is not valid UTF-8 ({e})")))
}

/// `count` strings (an array of pointers); an empty list is refused.
pub(crate) unsafe fn string_list<'a>(
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
        return Err(null(name));
    }
    // SAFETY: `count` readable pointers, per the caller.
    let raw = unsafe { std::slice::from_raw_parts(items, count) };
    raw.iter()
        .enumerate()
        // SAFETY: each NULL or NUL-terminated, per the caller.
        .map(|(i, p)| unsafe { string(*p, &format!("{name}[{i}]")) })
        .collect()
}

/// Gives `value` to C as a new handle in `*out`.
pub(crate) fn give<T>(out: &mut *mut T, value: T) {
    *out = Box::into_raw(Box::new(value));
}

/// Gives `value` to C through an out-parameter that may be NULL (the caller
/// does not want it: `value` is dropped).
pub(crate) unsafe fn give_opt<T>(out: *mut *mut T, value: T) {
    // SAFETY: NULL or writable, per the caller.
    if let Some(out) = unsafe { out.as_mut() } {
        give(out, value);
    }
}

/// Stores `value` through an out-parameter that may be NULL.
pub(crate) unsafe fn put_opt<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: writable, per the caller; what was there is C memory,
        // not a `T` to drop.
        unsafe { out.write(value) };
    }
}

/// Stores a new copy of `s` (see [`malloc_string`]) through an
/// out-parameter that may be NULL (then nothing is allocated).
pub(crate) unsafe fn put_string(out: *mut *mut c_char, s: &str) {
    // SAFETY: NULL or writable, per the caller.
    if let Some(out) = unsafe { out.as_mut() } {
        *out = malloc_string(s);
    }
}

/// Takes back a handle given out by [`give`]; NULL is a no-op.
pub(crate) unsafe fn free<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: from `give`, freed once, per the caller.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// The one rule for every call that waits: milliseconds; negative for no
/// limit (`None`), 0 for "do not wait", positive for at most that long.
pub(crate) fn wait_limit(timeout_ms: i64) -> Option<Duration> {
    u64::try_from(timeout_ms).ok().map(Duration::from_millis)
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

#[cfg(test)]
mod tests {
    use super::wait_limit;
    use std::time::Duration;

    #[test]
    fn one_rule_for_waits() {
        assert_eq!(wait_limit(-1), None);
        assert_eq!(wait_limit(i64::MIN), None);
        assert_eq!(wait_limit(0), Some(Duration::ZERO));
        assert_eq!(wait_limit(1500), Some(Duration::from_millis(1500)));
    }
}
