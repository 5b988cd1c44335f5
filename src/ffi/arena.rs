//! One buffer for all the NUL-terminated strings of a C view (a response,
//! a list), so that a view of any size costs one allocation for its text.

use std::ffi::c_char;

/// Collects strings, handing out offsets until frozen.
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
