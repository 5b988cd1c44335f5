//! The panic boundary every `extern "C"` body runs in.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{self, etcdc_status};
use crate::error::Result;

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
            error::set_panic(&format!("internal error (panic): {what}"));
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
