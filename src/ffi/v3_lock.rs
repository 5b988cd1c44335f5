//! A distributed lock on etcd's v3 API, the same as etcd's own:
//! `etcdc_v3_lock` excludes, and is excluded by, `etcdctl lock` and Go's
//! `concurrency.Mutex` on the same name (the layout of etcd's concurrency
//! recipe).
//!
//! Lock `name` (bytes, as v3 keys are) lives under the prefix `name/`. Each
//! contender has one key there, `name/<its lease id in lowercase hex>`, with
//! an empty value, attached to the handle's lease (`ttl` seconds; Go's
//! session): granted at the first acquire, renewed by a thread of the lock
//! (`etcdc-lease`) from then on, used again by every later acquire (a
//! release deletes the key only), revoked by `etcdc_v3_lock_free()`; a
//! lease found lost at an acquire is replaced by a new one. The contender
//! whose key was created first holds the lock; each other one watches the
//! deletion of the key created just before its own, so a release wakes
//! one waiter and the lock passes in arrival order. A holder that dies
//! stops renewing: etcd deletes its key when the lease expires, after its
//! TTL, and the next contender gets the lock. `a` and `a/` are two locks;
//! do not nest lock names (the contenders of lock `a/b` sit inside lock
//! `a`'s prefix, as Go puts them too).
//!
//! A lease lost while waiting or holding (it expired, or someone revoked
//! it) is `ETCDC_ERR_LOCK_EXPIRED`: the lock is not held, and someone else
//! may have held it meanwhile. `etcdc_v3_lock_is_held()` asks etcd;
//! `etcdc_v3_lock_lease_state()` says without asking when the lease is at
//! risk (no renewal got through for a whole TTL): count the lock lost then.
//!
//! Writing only while holding: `etcdc_v3_lock_revision()` is a fencing
//! token (it grows with every new holder) to give what the lock protects,
//! and `etcdc_v3_txn_when_lock_held()` adds to a v3 transaction the compare
//! that holds only while this handle's key is in place (Go's `IsOwner`), so
//! that a write made under the lock is applied only if the lock is still
//! held when etcd applies it.
//!
//! Every write of the recipe names its key, so one whose outcome is
//! unknown (a member failed) is sent again, up to 3 more times, and the
//! answer says what the first one did. A wait that times out, is cancelled
//! or fails removes its key: nothing is left behind but the handle's lease,
//! which goes with the handle.
//!
//! v2 and v3 locks are separate: a v2 lock (`etcdc_lock`, keys under
//! `/_locks` in etcd's v2 store) and a v3 lock on the same name do not
//! exclude each other (etcd's v2 and v3 stores are separate key spaces).
//! Every program that shares a lock must use the same kind: v3 for anything
//! that also talks to `etcdctl lock` or Go programs, and on etcd 3.6+
//! (which has no v2 API).
//!
//! Threads: a lock is used by one thread at a time, except
//! `etcdc_v3_lock_cancel()`, which any thread may call while the lock
//! exists to wake a blocked `etcdc_v3_lock_acquire()`. A lock has
//! connections of its own (to the client's endpoints, with its TLS settings
//! and credentials) and may outlive its client; while it waits or holds it
//! has a lease keeper thread, and while it waits a watch.
//!
//! Fork: a v3 lock belongs to the process that made it. In a forked child
//! the inherited copy is inert: its functions that return a status return
//! `ETCDC_ERR_INVALID_ARGUMENT`, `etcdc_v3_lock_cancel()` only marks it
//! cancelled, its accessors read what it was at the fork, and freeing it
//! releases only its memory (a lock the parent held stays the parent's).
//! The child makes locks of its own.

use std::ffi::c_void;
use std::ptr::{self, addr_of, addr_of_mut};

use super::args::{give, put_opt};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::v3_keeper::etcdc_v3_keeper_state;
use super::v3_kv::read;
use super::v3_txn::etcdc_v3_txn;
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::transport::connection::generation;
use crate::v3::{Compare, KeeperState, RecipeCanceller, V3Lock, DEFAULT_SESSION_TTL};

/// The current version of `etcdc_v3_lock_options`.
pub const ETCDC_V3_LOCK_OPTIONS_VERSION: u32 = 1;

/// Options of `etcdc_v3_lock_new()`. Initialise with
/// `ETCDC_V3_LOCK_OPTIONS_INIT` or
/// `etcdc_v3_lock_options_init(&opts, ETCDC_V3_LOCK_OPTIONS_VERSION)`; 0
/// fields take their defaults.
#[repr(C)]
pub struct etcdc_v3_lock_options {
    /// `ETCDC_V3_LOCK_OPTIONS_VERSION`.
    pub version: u32,
    /// The time to live of the lock's lease, in seconds: how long the other
    /// contenders wait for a holder that died (or cannot reach etcd) before
    /// the lock passes. While this process runs and reaches etcd, the lease
    /// is renewed and the lock kept, however long. 0: 60 s, as Go's
    /// `concurrency.NewSession` (`etcdctl lock` uses 10: `--ttl`); negative
    /// is `ETCDC_ERR_INVALID_ARGUMENT`. etcd raises a TTL below its minimum
    /// (a few seconds).
    pub ttl: i64,
}

/// A lease TTL of the options: 0 is the default.
pub(crate) fn session_ttl(ttl: i64) -> i64 {
    if ttl == 0 {
        DEFAULT_SESSION_TTL
    } else {
        ttl
    }
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_LOCK_OPTIONS_INIT` does; pass `ETCDC_V3_LOCK_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_options_init(
    opts: *mut etcdc_v3_lock_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// `etcdc_v3_lock_options`, checked: the lease TTL (0: the default).
#[derive(Debug, Default)]
pub(crate) struct LockOptions {
    ttl: i64,
}

c_options!(etcdc_v3_lock_options => LockOptions, |o| Ok(LockOptions { ttl: o.ttl }));

/// A handle on a v3 lock (see the section's introduction): a contender that
/// takes, holds and releases it.
///
/// Made by `etcdc_v3_lock_new()`, owned by the caller, freed with
/// `etcdc_v3_lock_free()` (which releases the lock if held); it may outlive
/// the client it was made with. Thread-safety: one thread at a time may
/// call its functions, except `etcdc_v3_lock_cancel()`, which any thread may
/// call at any time while the lock exists.
pub struct etcdc_v3_lock {
    lock: V3Lock,
    canceller: RecipeCanceller,
    /// The held lock's key followed by a NUL, for `etcdc_v3_lock_key()`:
    /// set again after every call that may change whether it is held.
    key: Option<Vec<u8>>,
    /// The fork generation it was made in.
    generation: u64,
}

/// `key` followed by a NUL byte, for a borrowed C view.
pub(crate) fn with_nul(key: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.len() + 1);
    v.extend_from_slice(key);
    v.push(0);
    v
}

/// [`Error::InvalidArgument`] for a handle used in a forked child.
pub(crate) fn forked(what: &str) -> Error {
    Error::InvalidArgument(format!(
        "this {what} belongs to the process that made it, before fork(): a child makes its own"
    ))
}

/// Runs `f` on the handle's `V3Lock`, reached without a reference to the
/// whole handle (so that `etcdc_v3_lock_cancel()` may read `canceller`
/// meanwhile), then records its key for `etcdc_v3_lock_key()`. NULL, or a
/// lock of the parent process, is refused.
unsafe fn with_lock<T>(
    lock: *mut etcdc_v3_lock,
    f: impl FnOnce(&mut V3Lock) -> Result<T>,
) -> Result<T> {
    if lock.is_null() {
        return Err(Error::InvalidArgument("lock is NULL".into()));
    }
    // SAFETY: live per the contract; only these fields are borrowed, and
    // only the owner's thread uses them.
    let (l, key, made_in) = unsafe {
        (
            &mut *addr_of_mut!((*lock).lock),
            &mut *addr_of_mut!((*lock).key),
            *addr_of!((*lock).generation),
        )
    };
    if made_in != generation() {
        return Err(forked("lock"));
    }
    let outcome = f(l);
    *key = l.key().map(with_nul);
    outcome
}

/// Creates a handle on the v3 lock `name` (`name_len` bytes, any bytes but
/// not empty): its contenders' keys live under `name` + "/" (see the
/// section's introduction). Sends nothing: `etcdc_v3_lock_acquire()` or
/// `etcdc_v3_lock_try_acquire()` takes the lock. `opts` NULL is a lease TTL
/// of 60 s. On success `*out` is a new lock owned by the caller, freed with
/// `etcdc_v3_lock_free()`; it may outlive `client`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `out`; `name`
/// with a length), an empty name, an unknown options version or a negative
/// `ttl`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_new(
    client: *const etcdc_client,
    name: *const c_void,
    name_len: usize,
    opts: *const etcdc_v3_lock_options,
    out: *mut *mut etcdc_v3_lock,
) -> etcdc_status {
    status(|| {
        let o: LockOptions = options!(opts);
        let name = bytes!(name, name_len);
        let client = arg!(client);
        let out = arg_mut!(out);
        let lock = client.v3().lock(name, session_ttl(o.ttl))?;
        let canceller = lock.canceller();
        give(
            out,
            etcdc_v3_lock {
                lock,
                canceller,
                key: None,
                generation: generation(),
            },
        );
        Ok(())
    })
}

/// Takes the lock, waiting at most `timeout_ms` for the contenders before it
/// (the waiting rule: negative for no limit, 0 to take it only if it is free
/// now). Returns `ETCDC_OK` at once if this handle holds it already. Each
/// call to etcd on the way is bounded by the client's read timeout.
///
/// Errors: `ETCDC_ERR_ACQUIRE_TIMEOUT` or `ETCDC_ERR_CANCELLED` when it gives
/// up (its key is removed: nothing is left behind);
/// `ETCDC_ERR_LOCK_EXPIRED` if its lease or key was lost while it waited
/// (revoked by someone, or expired: etcd unreachable for a whole TTL);
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `lock`, or in a forked child;
/// request errors (its key is removed, best effort).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_acquire(
    lock: *mut etcdc_v3_lock,
    timeout_ms: i64,
) -> etcdc_status {
    let timeout = super::args::wait_limit(timeout_ms);
    // SAFETY: per the contract.
    status(|| unsafe { with_lock(lock, |l| l.acquire(timeout)) })
}

/// Takes the lock if nobody holds it, without waiting (Go's `TryLock`):
/// `*acquired` is true when this handle holds it now (also when it held it
/// already), false when another contender holds it or waits before this one
/// (its key is then removed: nothing is left behind).
///
/// Errors: `ETCDC_ERR_CANCELLED` once `etcdc_v3_lock_cancel()` was called;
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or in a forked child; request
/// errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_try_acquire(
    lock: *mut etcdc_v3_lock,
    acquired: *mut bool,
) -> etcdc_status {
    status(|| {
        let acquired = arg_mut!(acquired);
        // SAFETY: per the contract.
        *acquired = unsafe { with_lock(lock, |l| l.try_acquire()) }?;
        Ok(())
    })
}

/// Stores in `*held` whether this handle holds the lock, as etcd says now
/// (not a local flag): its key exists and was created first under the
/// prefix. False once its lease or key is gone, even if it held the lock
/// before (then `etcdc_v3_lock_release()` returns `ETCDC_ERR_LOCK_EXPIRED`).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or in a forked child;
/// request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_is_held(
    lock: *mut etcdc_v3_lock,
    held: *mut bool,
) -> etcdc_status {
    status(|| {
        let held = arg_mut!(held);
        // SAFETY: per the contract.
        *held = unsafe { with_lock(lock, |l| l.is_held()) }?;
        Ok(())
    })
}

/// Releases the lock: deletes its key (the next contender gets the lock).
/// The handle's lease stays, renewed, for its next acquire (revoked by
/// `etcdc_v3_lock_free()`, or at once if the delete fails: the key goes
/// with it). The handle can acquire again.
///
/// Errors: `ETCDC_ERR_NOT_HELD` if not acquired; `ETCDC_ERR_LOCK_EXPIRED` if
/// its key or lease was already gone (someone else may have held the lock
/// meanwhile; the handle is released all the same); `ETCDC_ERR_INVALID_ARGUMENT`
/// for a NULL `lock`, or in a forked child; request errors, when neither the
/// delete nor the revoke got through (the key then goes with its lease,
/// after its TTL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_release(lock: *mut etcdc_v3_lock) -> etcdc_status {
    // SAFETY: per the contract.
    status(|| unsafe { with_lock(lock, |l| l.release()) })
}

/// Cancels waiting: a thread blocked in `etcdc_v3_lock_acquire()` returns
/// `ETCDC_ERR_CANCELLED` promptly (its key removed; a
/// call to etcd in progress ends first, within the client's read timeout),
/// and so does every later acquire or try. Final. A lock already held is not
/// touched: `etcdc_v3_lock_is_held()` and `etcdc_v3_lock_release()` keep
/// working. Any thread may call it, any number of times, while the lock
/// exists; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_cancel(lock: *const etcdc_v3_lock) {
    super::boundary(|| {
        if !lock.is_null() {
            // SAFETY: live per the contract; only this field is read.
            unsafe { &*addr_of!((*lock).canceller) }.cancel();
        }
    })
}

/// The key this handle holds the lock with (`name` + "/" + its lease id in
/// lowercase hex): its bytes (`etcdc_v3_lock_key_len()` of them), followed
/// by a NUL byte that the length does not count; NULL when not held (or
/// `lock` is NULL). Borrowed from the lock: valid until the next
/// `etcdc_v3_lock_acquire()`, `_try_acquire()`, `_is_held()`, `_release()`
/// or `_free()` of it.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_key(lock: *const etcdc_v3_lock) -> *const u8 {
    read(lock, ptr::null(), |l| {
        l.key.as_ref().map_or(ptr::null(), |k| k.as_ptr())
    })
}

/// The length of `etcdc_v3_lock_key()` in bytes, without the NUL after it;
/// 0 when not held (or `lock` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_key_len(lock: *const etcdc_v3_lock) -> usize {
    read(lock, 0, |l| l.key.as_ref().map_or(0, |k| k.len() - 1))
}

/// The lease the held lock is attached to (its keys live as long as it):
/// 0 when not held (or `lock` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_lease_id(lock: *const etcdc_v3_lock) -> i64 {
    read(lock, 0, |l| l.lock.lease_id().unwrap_or(0))
}

/// The create revision of the held lock's key: it grows with every new
/// holder, a fencing token to give what the lock protects (refuse a writer
/// whose token is lower than one seen). 0 when not held (or `lock` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_revision(lock: *const etcdc_v3_lock) -> i64 {
    read(lock, 0, |l| l.lock.revision().unwrap_or(0))
}

/// The state of a recipe's lease as the keeper states of the v3 lease
/// keeper section say it, with the time left in milliseconds when alive
/// (0 otherwise); `ETCDC_V3_KEEPER_NONE` for none.
pub(crate) fn keeper_state(state: Option<KeeperState>) -> (etcdc_v3_keeper_state, i64) {
    use etcdc_v3_keeper_state::*;
    match state {
        None => (ETCDC_V3_KEEPER_NONE, 0),
        Some(KeeperState::Alive { left }) => (
            ETCDC_V3_KEEPER_ALIVE,
            i64::try_from(left.as_millis()).unwrap_or(i64::MAX),
        ),
        Some(KeeperState::AtRisk) => (ETCDC_V3_KEEPER_AT_RISK, 0),
        Some(KeeperState::Lost(_)) => (ETCDC_V3_KEEPER_LOST, 0),
        Some(KeeperState::Stopped) => (ETCDC_V3_KEEPER_STOPPED, 0),
    }
}

/// What the held lock's lease keeper knows now, without asking etcd (see
/// `etcdc_v3_keeper_state`): `ETCDC_V3_KEEPER_ALIVE`, with the time the
/// lease has left at least in `*left_ms` (if `left_ms` is not NULL; 0 in
/// every other state); `ETCDC_V3_KEEPER_AT_RISK` when no renewal got through
/// for a whole TTL (count the lock lost: another may hold it);
/// `ETCDC_V3_KEEPER_LOST` when etcd said the lease is gone
/// (`etcdc_v3_lock_is_held()` is then false). `ETCDC_V3_KEEPER_NONE` when
/// not held (or `lock` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_lease_state(
    lock: *const etcdc_v3_lock,
    left_ms: *mut i64,
) -> etcdc_v3_keeper_state {
    let (state, left) = read(lock, keeper_state(None), |l| {
        keeper_state(l.lock.lease_state())
    });
    // SAFETY: NULL or writable, per the contract.
    unsafe { put_opt(left_ms, left) };
    state
}

/// Adds to `txn` the compare that holds while `lock` is held by this
/// handle: its key still exists as it created it (Go's `IsOwner`; the same
/// as `etcdc_v3_txn_compare_create_revision()` on `etcdc_v3_lock_key()`,
/// `ETCDC_V3_EQUAL`, `etcdc_v3_lock_revision()`). A write in the success
/// branch is then applied only if the lock is still held when etcd applies
/// it; if it was lost meanwhile, the failure branch runs. The compare is
/// that of the lock as held now: after a release and a new acquire, add it
/// again to a new transaction.
///
/// Errors: `ETCDC_ERR_NOT_HELD` when this handle does not hold the lock
/// (as it last knew: not acquired, released, or found lost);
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or a lock of the parent process
/// in a forked child; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_when_lock_held(
    txn: *mut etcdc_v3_txn,
    lock: *const etcdc_v3_lock,
) -> etcdc_status {
    let owner = || {
        let l: &etcdc_v3_lock = arg!(lock);
        if l.generation != generation() {
            return Err(forked("lock"));
        }
        let not_held = || {
            Error::NotHeld(format!(
                "lock {} is not held by this handle",
                String::from_utf8_lossy(l.lock.prefix())
            ))
        };
        l.lock.owner_compare().ok_or_else(not_held)
    };
    // SAFETY: per the contract.
    unsafe { when_owner(txn, owner) }
}

/// Adds the ownership compare `owner` gives (or why there is none: that
/// error is the status, and `txn` is unchanged) to `txn`.
pub(crate) unsafe fn when_owner(
    txn: *mut etcdc_v3_txn,
    owner: impl FnOnce() -> Result<Compare>,
) -> etcdc_status {
    status(|| {
        let txn = arg_mut!(txn);
        let compare = owner()?;
        txn.when_exactly(compare);
        Ok(())
    })
}

/// Frees the handle, releasing the lock if held and revoking its lease
/// (best effort: if that does not get through, the lease and its key expire
/// after the TTL) and ending its threads. NULL is a no-op. No other thread
/// may be using it: to stop a thread blocked in `etcdc_v3_lock_acquire()`,
/// cancel, let that thread return, then free. In a forked child, frees the
/// copy's memory and nothing else.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lock_free(lock: *mut etcdc_v3_lock) {
    free!(lock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::options::Options;

    #[test]
    fn options_default_to_a_session_ttl() {
        let mut o = etcdc_v3_lock_options { version: 1, ttl: 0 };
        assert_eq!(session_ttl(o.to_rust().unwrap().ttl), 60);
        assert_eq!(DEFAULT_SESSION_TTL, 60);
        o.ttl = 7;
        assert_eq!(session_ttl(o.to_rust().unwrap().ttl), 7);
        assert_eq!(
            etcdc_v3_lock_options::SIZES.len(),
            ETCDC_V3_LOCK_OPTIONS_VERSION as usize
        );
        assert_eq!(std::mem::align_of::<etcdc_v3_lock_options>(), 8);
    }

    #[test]
    fn keys_get_a_nul() {
        assert_eq!(with_nul(b"a/\0b"), b"a/\0b\0");
        assert_eq!(with_nul(b""), b"\0");
    }

    #[test]
    fn null_lock_is_refused_or_reads_as_nothing() {
        let mut left = 5;
        let mut yes = true;
        // SAFETY: NULL is allowed.
        unsafe {
            assert!(etcdc_v3_lock_key(ptr::null()).is_null());
            assert_eq!(etcdc_v3_lock_key_len(ptr::null()), 0);
            assert_eq!(etcdc_v3_lock_lease_id(ptr::null()), 0);
            assert_eq!(etcdc_v3_lock_revision(ptr::null()), 0);
            assert_eq!(
                etcdc_v3_lock_lease_state(ptr::null(), &mut left),
                etcdc_v3_keeper_state::ETCDC_V3_KEEPER_NONE
            );
            etcdc_v3_lock_cancel(ptr::null());
            etcdc_v3_lock_free(ptr::null_mut());
            assert_eq!(
                etcdc_v3_lock_acquire(ptr::null_mut(), 0),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                etcdc_v3_lock_is_held(ptr::null_mut(), &mut yes),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                etcdc_v3_lock_release(ptr::null_mut()),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
        }
        assert_eq!(left, 0);
        assert!(yes, "out-parameter untouched");
    }

    #[test]
    fn keeper_states_map_to_c() {
        use etcdc_v3_keeper_state::*;
        let alive = KeeperState::Alive {
            left: std::time::Duration::from_millis(1500),
        };
        assert_eq!(keeper_state(Some(alive)), (ETCDC_V3_KEEPER_ALIVE, 1500));
        assert_eq!(
            keeper_state(Some(KeeperState::AtRisk)),
            (ETCDC_V3_KEEPER_AT_RISK, 0)
        );
        assert_eq!(
            keeper_state(Some(KeeperState::Lost("x".into()))),
            (ETCDC_V3_KEEPER_LOST, 0)
        );
        assert_eq!(keeper_state(None), (ETCDC_V3_KEEPER_NONE, 0));
    }
}
