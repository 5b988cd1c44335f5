//! The one reader and initialiser of options structs, for every kind.
//!
//! An options struct starts with `version: u32`; each version only ever
//! adds fields at the end. A program passes the version it was compiled
//! with: `etcdc_*_options_init(opts, ETCDC_*_OPTIONS_VERSION)` writes only
//! that version's bytes (never past the caller's struct), and [`read`]
//! copies only that version's bytes into a zeroed struct of the current
//! version, so the newer fields take their defaults.

use std::mem::MaybeUninit;

use super::etcdc_status;
use crate::error::{Error, Result};

/// A C options struct.
///
/// # Safety
///
/// The implementor is `repr(C)`, starts with `version: u32`, is valid when
/// all-zero (the defaults), and `SIZES[v - 1]` is the size of version `v`
/// (the offset where version `v + 1`'s first field starts), the last being
/// `size_of::<Self>()`. That offset is no larger than C's `sizeof` of
/// version `v` only because every version already has the struct's final
/// alignment (each version 1 holds a pointer or a `u64`): a later field may
/// never need a larger alignment than version 1 had.
pub(crate) unsafe trait Options: Sized {
    /// The struct's C name, for messages.
    const NAME: &'static str;
    /// The size of each version, oldest first.
    const SIZES: &'static [usize];
    /// What the struct converts to.
    type Rust<'a>: Default;
    /// Checks and converts the fields (strings borrowed from the caller).
    fn to_rust<'a>(&self) -> Result<Self::Rust<'a>>;
}

/// The size of `version` of `T`, or `InvalidArgument`.
fn size_of_version<T: Options>(version: u32) -> Result<usize> {
    let known = T::SIZES.len();
    match (version as usize)
        .checked_sub(1)
        .and_then(|i| T::SIZES.get(i))
    {
        Some(&size) => Ok(size),
        None => Err(Error::InvalidArgument(format!(
            "{} has version {version}; this library knows versions 1 to {known} \
             (initialise it with its _INIT macro or _init function)",
            T::NAME
        ))),
    }
}

/// The caller's options as Rust options: the defaults for NULL.
pub(crate) unsafe fn read<'a, T: Options>(p: *const T) -> Result<T::Rust<'a>> {
    if p.is_null() {
        return Ok(Default::default());
    }
    // SAFETY: a readable struct of some version, per the contract; every
    // version starts with its version number.
    let version = unsafe { p.cast::<u32>().read() };
    let size = size_of_version::<T>(version)?;
    let mut o = MaybeUninit::<T>::zeroed();
    // SAFETY: the caller's struct has `size` readable bytes for its version;
    // all-zero (the rest) is a valid `T`.
    let o = unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), o.as_mut_ptr().cast::<u8>(), size);
        o.assume_init()
    };
    o.to_rust()
}

/// The body of every `etcdc_*_options_init()`: sets the `version`-sized
/// prefix of `*p` to the defaults of that version (all zero, the version
/// set), writing nothing past it.
pub(crate) unsafe fn init<T: Options>(p: *mut T, version: u32) -> etcdc_status {
    super::status(|| {
        let size = size_of_version::<T>(version)?;
        if p.is_null() {
            return Err(Error::InvalidArgument("opts is NULL".into()));
        }
        // SAFETY: writable for `size` bytes, the size of the version the
        // caller says it was compiled with; the version comes first.
        unsafe {
            std::ptr::write_bytes(p.cast::<u8>(), 0, size);
            p.cast::<u32>().write(version);
        }
        Ok(())
    })
}

/// Implements [`Options`] for a struct: its name, the first field of each
/// version after the first (`fields_from_version_2, …`), and its
/// conversion.
macro_rules! c_options {
    ($t:ident $(, $first_field:ident)* => $rust:ty, |$o:ident| $body:expr) => {
        // SAFETY: repr(C) with `version: u32` first and all-zero defaults
        // (checked by the tests of `options`); the sizes are computed.
        unsafe impl $crate::ffi::options::Options for $t {
            const NAME: &'static str = stringify!($t);
            const SIZES: &'static [usize] =
                &[$(std::mem::offset_of!($t, $first_field),)* std::mem::size_of::<$t>()];
            type Rust<'a> = $rust;
            fn to_rust<'a>(&self) -> $crate::error::Result<Self::Rust<'a>> {
                let $o = self;
                $body
            }
        }
    };
}
pub(crate) use c_options;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::client::{etcdc_client_options, ETCDC_CLIENT_OPTIONS_VERSION};
    use crate::ffi::election::{etcdc_election_options, ETCDC_ELECTION_OPTIONS_VERSION};
    use crate::ffi::keys::*;
    use crate::ffi::lock::{etcdc_lock_options, ETCDC_LOCK_OPTIONS_VERSION};
    use crate::ffi::watch::{etcdc_watch_options, ETCDC_WATCH_OPTIONS_VERSION};

    /// Each struct's sizes grow with its versions, end at its size, and
    /// there are as many as its current version says.
    #[test]
    fn sizes_match_versions() {
        fn check<T: Options>(current: u32) {
            let sizes = T::SIZES;
            assert_eq!(sizes.len(), current as usize, "{}", T::NAME);
            assert_eq!(
                *sizes.last().unwrap(),
                std::mem::size_of::<T>(),
                "{}",
                T::NAME
            );
            assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{}", T::NAME);
            assert!(sizes[0] >= 4, "{}", T::NAME);
        }
        check::<etcdc_client_options>(ETCDC_CLIENT_OPTIONS_VERSION);
        check::<etcdc_write_options>(ETCDC_WRITE_OPTIONS_VERSION);
        check::<etcdc_read_options>(ETCDC_READ_OPTIONS_VERSION);
        check::<etcdc_delete_options>(ETCDC_DELETE_OPTIONS_VERSION);
        check::<etcdc_watch_options>(ETCDC_WATCH_OPTIONS_VERSION);
        check::<etcdc_lock_options>(ETCDC_LOCK_OPTIONS_VERSION);
        check::<etcdc_election_options>(ETCDC_ELECTION_OPTIONS_VERSION);
    }

    /// `init` of version 1 of the client options writes its bytes and not
    /// one more; `read` of it reads no more either and defaults the rest.
    #[test]
    fn an_older_version_is_written_and_read_within_its_size() {
        let v1 = etcdc_client_options::SIZES[0];
        let words = std::mem::size_of::<etcdc_client_options>() / 8 + 1;
        let mut storage = vec![u64::from_ne_bytes([0xAB; 8]); words];
        let p = storage.as_mut_ptr().cast::<etcdc_client_options>();
        // SAFETY: the block is large enough and aligned for the struct.
        assert_eq!(unsafe { init(p, 1) }, etcdc_status::ETCDC_OK);
        // SAFETY: the same memory, as bytes.
        let block = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), words * 8) };
        assert_eq!(&block[..4], &1u32.to_ne_bytes());
        assert!(block[4..v1].iter().all(|&b| b == 0));
        assert!(
            block[v1..].iter().all(|&b| b == 0xAB),
            "wrote past version 1"
        );
        // The bytes past version 1 are garbage (0xAB): read must ignore them.
        // SAFETY: as above.
        let builder = unsafe { read(p.cast_const()) };
        assert!(builder.is_ok(), "{builder:?}");
    }

    #[test]
    fn unknown_versions_and_null_are_refused_and_nothing_is_written() {
        let mut o = etcdc_lock_options {
            version: 7,
            ttl: 9,
            prefix: std::ptr::null(),
        };
        for version in [0, 2, u32::MAX] {
            // SAFETY: a valid struct.
            assert_eq!(
                unsafe { init(&mut o, version) },
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!((o.version, o.ttl), (7, 9));
        }
        // SAFETY: as above.
        let e = unsafe { read(&o as *const etcdc_lock_options) }.unwrap_err();
        assert!(
            e.to_string().contains("etcdc_lock_options has version 7"),
            "{e}"
        );
        let null: *mut etcdc_lock_options = std::ptr::null_mut();
        // SAFETY: NULL is checked.
        assert_eq!(
            unsafe { init(null, 1) },
            etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
        );
    }
}
