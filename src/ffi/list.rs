//! Lists of strings (`etcdc_strings`): every call that returns several
//! strings (machines, user and role names, key patterns) returns one.

use std::ffi::c_char;
use std::ptr;

use super::arena::{Arena, Strings};

/// A list of strings, owned by the caller and freed with
/// `etcdc_strings_free()`. Read-only: any number of threads may read it.
pub struct etcdc_strings {
    items: Vec<*const c_char>,
    _strings: Strings,
}

// SAFETY: the pointers point into `_strings`, owned by the list, never mutated.
unsafe impl Send for etcdc_strings {}
// SAFETY: as above.
unsafe impl Sync for etcdc_strings {}

impl etcdc_strings {
    pub(crate) fn new(list: &[String]) -> etcdc_strings {
        let mut arena = Arena::with_capacity(list.iter().map(|s| s.len() + 1).sum());
        let offsets: Vec<usize> = list.iter().map(|s| arena.add(s)).collect();
        let strings = arena.freeze();
        etcdc_strings {
            items: offsets.iter().map(|&o| strings.ptr(o)).collect(),
            _strings: strings,
        }
    }
}

/// Number of strings in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_strings_count(list: *const etcdc_strings) -> usize {
    super::boundary(|| {
        // SAFETY: NULL or live, per the contract.
        unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
    })
}

/// String `i` (0-based), borrowed from the list (valid until it is freed),
/// or NULL if out of range.
#[no_mangle]
pub unsafe extern "C" fn etcdc_strings_get(list: *const etcdc_strings, i: usize) -> *const c_char {
    super::boundary(|| {
        // SAFETY: NULL or live, per the contract.
        unsafe { list.as_ref() }
            .and_then(|l| l.items.get(i).copied())
            .unwrap_or(ptr::null())
    })
}

/// Frees a list and the strings borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_strings_free(list: *mut etcdc_strings) {
    free!(list)
}
