//! The distributed lock: a fair queue of contenders on the keys API.

use std::ffi::c_char;
use std::ptr::{addr_of, addr_of_mut};

use super::args::{give, wait_limit};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::{Canceller, Lock, LockOptions};

/// The current version of `etcdc_lock_options`.
pub const ETCDC_LOCK_OPTIONS_VERSION: u32 = 1;

/// Options of `etcdc_lock_new()`. Initialise with `ETCDC_LOCK_OPTIONS_INIT`
/// or `etcdc_lock_options_init(&opts, ETCDC_LOCK_OPTIONS_VERSION)`; 0 / NULL fields take their defaults.
#[repr(C)]
pub struct etcdc_lock_options {
    /// `ETCDC_LOCK_OPTIONS_VERSION`.
    pub version: u32,
    /// Seconds the lock lives without `etcdc_lock_renew()`; how long others
    /// wait for a holder that died. Default 60.
    pub ttl: u64,
    /// Directory under which each lock has its own; default "/_locks".
    pub prefix: *const c_char,
}

/// A fair distributed lock built on the keys API: contenders queue as
/// in-order keys under `<prefix>/<name>`, the first holds the lock, each
/// waiter watches only its predecessor. A holder that dies stops renewing;
/// after its TTL the next waiter gets the lock.
///
/// Create with `etcdc_lock_new()`, free with `etcdc_lock_free()` (which
/// releases the lock if held). Thread-safety: one thread at a time may call
/// its functions, except `etcdc_lock_cancel()`, which any thread may call
/// while the lock exists.
pub struct etcdc_lock {
    lock: Lock,
    canceller: Canceller,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_LOCK_OPTIONS_INIT` does; pass `ETCDC_LOCK_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_options_init(
    opts: *mut etcdc_lock_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

c_options!(etcdc_lock_options => LockOptions, |o| {
    let mut options = LockOptions::default();
    if o.ttl != 0 {
        options.ttl = o.ttl;
    }
    // SAFETY: NULL or NUL-terminated, per the contract of the struct.
    if let Some(prefix) = unsafe { super::args::opt_string(o.prefix, "prefix") }? {
        options.prefix = prefix.into();
    }
    Ok(options)
});

/// Creates a handle on the lock `name` (python-etcd's `get_lock`). Sends
/// nothing: `etcdc_lock_acquire()` takes the lock. On success `*out` is a new
/// lock owned by the caller, freed with `etcdc_lock_free()`; it may outlive
/// `client`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (NULL, invalid UTF-8, an empty name,
/// an unknown options version).
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_new(
    client: *const etcdc_client,
    name: *const c_char,
    opts: *const etcdc_lock_options,
    out: *mut *mut etcdc_lock,
) -> etcdc_status {
    status(|| {
        let lock = arg!(client).lock(string!(name), &options!(opts))?;
        let canceller = lock.canceller();
        give(arg_mut!(out), etcdc_lock { lock, canceller });
        Ok(())
    })
}

/// The handle's `Lock`, reached without a reference to the whole handle, so
/// that `etcdc_lock_cancel()` may read `canceller` meanwhile.
unsafe fn lock_mut<'a>(lock: *mut etcdc_lock) -> Result<&'a mut Lock> {
    if lock.is_null() {
        return Err(Error::InvalidArgument("lock is NULL".into()));
    }
    // SAFETY: live per the contract; only this field is borrowed.
    Ok(unsafe { &mut *addr_of_mut!((*lock).lock) })
}

/// Takes the lock, waiting at most `timeout_ms` (the waiting rule: negative
/// for no limit, 0 to take it only if it is free now). Returns `ETCDC_OK` at once if it is
/// already held by this handle.
///
/// Errors: `ETCDC_ERR_ACQUIRE_TIMEOUT` or `ETCDC_ERR_CANCELLED` when it gives
/// up (its key is removed: nothing is left behind); `ETCDC_ERR_LOCK_EXPIRED`
/// if its key vanished while it waited; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_acquire(
    lock: *mut etcdc_lock,
    timeout_ms: i64,
) -> etcdc_status {
    // SAFETY: per the contract.
    status(|| unsafe { lock_mut(lock) }?.acquire(wait_limit(timeout_ms)))
}

/// Stores in `*locked` whether this handle holds the lock, as etcd says now
/// (false once its key expired, even if it held the lock before).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_is_locked(
    lock: *mut etcdc_lock,
    locked: *mut bool,
) -> etcdc_status {
    status(|| {
        // SAFETY: per the contract.
        let lock = unsafe { lock_mut(lock) }?;
        *arg_mut!(locked) = lock.is_locked()?;
        Ok(())
    })
}

/// Resets the held lock's TTL to `ttl` seconds from now (and for later
/// waits). Call it well within the TTL to keep the lock.
///
/// Errors: `ETCDC_ERR_NOT_HELD` if not acquired; `ETCDC_ERR_LOCK_EXPIRED` if
/// its key is gone (the lock was lost); `ETCDC_ERR_INVALID_ARGUMENT` for NULL
/// or a `ttl` of 0; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_renew(lock: *mut etcdc_lock, ttl: u64) -> etcdc_status {
    // SAFETY: per the contract.
    status(|| unsafe { lock_mut(lock) }?.renew(ttl))
}

/// Releases the lock, waking the next waiter. The handle can acquire again.
///
/// Errors: `ETCDC_ERR_NOT_HELD` if not acquired; `ETCDC_ERR_LOCK_EXPIRED` if
/// its key was already gone (someone else may have held the lock meanwhile);
/// request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_release(lock: *mut etcdc_lock) -> etcdc_status {
    // SAFETY: per the contract.
    status(|| unsafe { lock_mut(lock) }?.release())
}

/// Cancels waiting: a thread blocked in `etcdc_lock_acquire()` returns
/// `ETCDC_ERR_CANCELLED` at once (removing its key), and so does every later
/// acquire. Renew and release keep working. Any thread may call it while the
/// lock exists; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_cancel(lock: *const etcdc_lock) {
    super::boundary(|| {
        if !lock.is_null() {
            // SAFETY: live per the contract; only this field is read.
            unsafe { &*addr_of!((*lock).canceller) }.cancel();
        }
    })
}

/// Frees the handle, releasing the lock if held and removing its key if it
/// was waiting (best effort: the key expires anyway). NULL is a no-op. No
/// other thread may be using it (cancel, let a blocked thread return, then
/// free).
#[no_mangle]
pub unsafe extern "C" fn etcdc_lock_free(lock: *mut etcdc_lock) {
    free!(lock)
}
