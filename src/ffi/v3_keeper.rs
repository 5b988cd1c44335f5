//! A v3 lease kept alive in the background: `etcdc_v3_lease_keeper`.
//!
//! A keeper grants a new lease (`ttl`) or adopts an existing one (`id`),
//! then renews it at a third of its TTL until it is stopped
//! (`etcdc_v3_lease_keeper_stop()`) or freed (`etcdc_v3_lease_keeper_free()`,
//! which stops it and revokes the lease). The keepers of a client share one
//! background thread (named `etcdc-lease`) and one keep-alive stream, on a
//! connection of their own, which moves to the next member when its member
//! fails or falls silent: a thousand keepers cost one thread and one
//! connection. A renewal unanswered is sent again every half second. Keys put
//! with the lease (`etcdc_v3_put_options.lease`, the id from
//! `etcdc_v3_lease_keeper_id()`) live as long as it.
//!
//! Its clock is conservative: a renewal sent at `t` and answered with TTL
//! `n` keeps the lease until `t + n` by this client's reckoning, never
//! later than etcd's. When no renewal got through for the lease's whole TTL
//! the lease is at risk (`ETCDC_V3_KEEPER_AT_RISK`): it may have expired,
//! or etcd may still hold it (a new leader extends every lease); the keeper
//! goes on trying, and what depends on the lease (a lock) must count it
//! lost. The lease is lost (`ETCDC_V3_KEEPER_LOST`) when etcd says it does
//! not exist (it expired, or someone revoked it): the keeper then calls the
//! `on_lost` callback once and its thread ends.
//!
//! Threads: `etcdc_v3_lease_keeper_state()`, `_id()`, `_ttl()` and
//! `_lost_reason()` may be called from any thread at any time while the
//! keeper exists, also while another thread stops it.
//! `etcdc_v3_lease_keeper_stop()` and `etcdc_v3_lease_keeper_free()` are
//! called by one thread (the owner's, or the `on_lost` callback's); free it
//! when no other thread uses it.
//!
//! Fork: the keeper, its thread and its lease belong to the process that
//! made it. In a forked child, the copy's state reads what the parent's
//! keeper had published at the fork, and stopping or freeing it does
//! nothing (no thread to stop, no revoke); free it all the same, to release
//! its memory.

use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use super::args::{give, put_opt};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::v3_kv::read;
use super::{etcdc_status, status, OnPanic};
use crate::error::Error;
use crate::v3::{KeeperState, LeaseKeeper, LeaseSource};

/// The Rust API's `on_lost`.
type OnLostBox = Box<dyn FnOnce(&str) + Send>;

/// The current version of `etcdc_v3_lease_keeper_options`.
pub const ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION: u32 = 1;

/// Called once, on the keepers' thread, when the lease is lost: `reason`
/// says why (NUL-terminated; borrowed: valid during the call only; the same
/// text as `etcdc_v3_lease_keeper_lost_reason()`, which already returns it
/// then, as `etcdc_v3_lease_keeper_state()` returns `ETCDC_V3_KEEPER_LOST`).
/// It must return soon (the client's other leases wait for the thread
/// meanwhile); it may itself stop or free its keeper (the thread is not
/// waited for then); it must return normally (no longjmp, no C++
/// exception). Not called when the keeper is stopped or freed before the
/// lease is lost.
pub type etcdc_v3_lease_lost_callback =
    Option<unsafe extern "C" fn(reason: *const c_char, userdata: *mut c_void)>;

/// Options of `etcdc_v3_lease_keeper_new()`. Initialise with
/// `ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT` or
/// `etcdc_v3_lease_keeper_options_init(&opts, ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION)`,
/// then set exactly one of `ttl` and `id`.
#[repr(C)]
pub struct etcdc_v3_lease_keeper_options {
    /// `ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION`.
    pub version: u32,
    /// Grant a new lease of this many seconds (positive; etcd raises a TTL
    /// below its minimum, a few seconds). 0: adopt `id` instead.
    pub ttl: i64,
    /// Adopt this existing lease (granted by this program or another): the
    /// keeper renews it at once to learn its TTL. 0: grant a new one.
    pub id: i64,
    /// Called once if the lease is lost (see `etcdc_v3_lease_lost_callback`);
    /// NULL: none.
    pub on_lost: etcdc_v3_lease_lost_callback,
    /// Passed to `on_lost` as it is, never read.
    pub userdata: *mut c_void,
}

/// What a keeper knows of its lease (`etcdc_v3_lease_keeper_state()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_keeper_state {
    /// No keeper: what a NULL `keeper` reads as. Never the state of a keeper.
    ETCDC_V3_KEEPER_NONE = 0,
    /// Alive for at least the time `etcdc_v3_lease_keeper_state()` stores
    /// in `*left_ms` (by this client's clock), unless renewed before.
    ETCDC_V3_KEEPER_ALIVE = 1,
    /// No renewal got through for the lease's whole TTL (by this client's
    /// clock, which errs early): it may have expired. The keeper goes on
    /// trying; what depends on the lease must count it lost.
    ETCDC_V3_KEEPER_AT_RISK = 2,
    /// Lost: etcd said the lease is gone (it expired or was revoked);
    /// `etcdc_v3_lease_keeper_lost_reason()` says so. It is renewed no
    /// more (the handle must still be freed).
    ETCDC_V3_KEEPER_LOST = 3,
    /// Stopped by `etcdc_v3_lease_keeper_stop()`.
    ETCDC_V3_KEEPER_STOPPED = 4,
}

impl OnPanic for etcdc_v3_keeper_state {
    fn on_panic() -> Self {
        etcdc_v3_keeper_state::ETCDC_V3_KEEPER_NONE
    }
}

/// A lease kept alive by a thread of its own (see the section's
/// introduction). Made by `etcdc_v3_lease_keeper_new()`, owned by the
/// caller, freed with `etcdc_v3_lease_keeper_free()` (which stops the
/// keeper and revokes the lease unless it was stopped before). It may
/// outlive the client it was made with. Threads: state, id, TTL and lost
/// reason from any thread; stop and free from the owner's, never from the
/// `on_lost` callback.
pub struct etcdc_v3_lease_keeper {
    id: i64,
    ttl: i64,
    /// The state, readable while another thread stops the keeper
    /// (`LeaseKeeper::state_reader`).
    state: Box<dyn Fn() -> KeeperState + Send + Sync>,
    /// The keeper until it is stopped (then NULL): taken by one atomic swap,
    /// so that no lock is held across a stop (nor left held by a fork).
    keeper: AtomicPtr<LeaseKeeper>,
    /// The lost reason with its NUL, made at the first ask: the reason is
    /// set once and never changes.
    reason: OnceLock<CString>,
}

impl etcdc_v3_lease_keeper {
    fn new(keeper: LeaseKeeper) -> etcdc_v3_lease_keeper {
        etcdc_v3_lease_keeper {
            id: keeper.id(),
            ttl: keeper.ttl(),
            state: Box::new(keeper.state_reader()),
            keeper: AtomicPtr::new(Box::into_raw(Box::new(keeper))),
            reason: OnceLock::new(),
        }
    }

    /// Why the lease was lost, with a NUL: made at the first ask, from a
    /// reason that is set once and never changes.
    fn lost_reason(&self) -> Option<&CString> {
        if let Some(why) = self.reason.get() {
            return Some(why);
        }
        match (self.state)() {
            KeeperState::Lost(why) => Some(
                self.reason
                    .get_or_init(|| CString::new(why.replace('\0', " ")).unwrap_or_default()),
            ),
            _ => None,
        }
    }

    /// The keeper, for the one caller that stops it; `None` once stopped.
    fn take(&self) -> Option<Box<LeaseKeeper>> {
        let p = self.keeper.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: from `Box::into_raw` in `new`; the swap gives it to one
        // caller only.
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }
}

impl Drop for etcdc_v3_lease_keeper {
    /// As `LeaseKeeper`'s drop: stops and revokes, unless stopped before.
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// The callback and its userdata, sent to the keepers' thread.
struct LostCallback {
    callback: unsafe extern "C" fn(*const c_char, *mut c_void),
    userdata: *mut c_void,
}

// SAFETY: the header's contract of `on_lost`: it is called on the keeper's
// thread, with `userdata`, which the library never reads.
unsafe impl Send for LostCallback {}

impl LostCallback {
    fn call(self, reason: &str) {
        let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the callback's contract; `reason` lives across the call.
        unsafe { (self.callback)(reason.as_ptr(), self.userdata) }
    }
}

/// The options as Rust: the lease to keep (`None`: neither `ttl` nor `id`)
/// and the callback.
#[derive(Default)]
pub(crate) struct KeeperOptions {
    lease: Option<LeaseSource>,
    on_lost: Option<OnLostBox>,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_LEASE_KEEPER_OPTIONS_INIT` does; pass
/// `ETCDC_V3_LEASE_KEEPER_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_options_init(
    opts: *mut etcdc_v3_lease_keeper_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

c_options!(etcdc_v3_lease_keeper_options => KeeperOptions, |o| {
    let lease = match (o.ttl, o.id) {
        (0, 0) => {
            return Err(Error::InvalidArgument(
                "etcdc_v3_lease_keeper_options: neither ttl (a new lease) nor id \
                 (an existing one) is set"
                    .into(),
            ))
        }
        (ttl, 0) => LeaseSource::Grant { ttl },
        (0, id) => LeaseSource::Adopt { id },
        (_, _) => {
            return Err(Error::InvalidArgument(
                "etcdc_v3_lease_keeper_options: ttl and id are both set \
                 (a new lease, or an existing one: set one)"
                    .into(),
            ))
        }
    };
    let on_lost = o.on_lost.map(|callback| {
        let cb = LostCallback {
            callback,
            userdata: o.userdata,
        };
        Box::new(move |reason: &str| cb.call(reason)) as OnLostBox
    });
    Ok(KeeperOptions {
        lease: Some(lease),
        on_lost,
    })
});

/// Grants a new lease of `opts->ttl` seconds, or adopts the existing lease
/// `opts->id` (exactly one of them set), and starts a keeper that renews it
/// in the background. On success `*out` is the new keeper, owned by the
/// caller, freed with `etcdc_v3_lease_keeper_free()`; it may outlive
/// `client` (it has connections of its own to the same endpoints, with the
/// same TLS settings and credentials).
///
/// Errors: `ETCDC_ERR_GRPC_NOT_FOUND` for a lease to adopt that does not
/// exist; those of `etcdc_v3_lease_grant()` (`ETCDC_ERR_AMBIGUOUS`...) or of
/// `etcdc_v3_lease_keep_alive_once()`; `ETCDC_ERR_INVALID_ARGUMENT` for
/// NULL (`opts` too: there is no default lease), neither or both of `ttl`
/// and `id` set, a `ttl` that is not positive, an unknown options version;
/// `ETCDC_ERR_PROTOCOL` if the thread could not be started (a granted lease
/// then expires after its TTL); transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_new(
    client: *const etcdc_client,
    opts: *const etcdc_v3_lease_keeper_options,
    out: *mut *mut etcdc_v3_lease_keeper,
) -> etcdc_status {
    status(|| {
        let client = arg!(client);
        let out = arg_mut!(out);
        if opts.is_null() {
            return Err(Error::InvalidArgument(
                "opts is NULL: set its ttl (a new lease) or its id (an existing one)".into(),
            ));
        }
        let o: KeeperOptions = options!(opts);
        let lease = o
            .lease
            .ok_or_else(|| Error::InvalidArgument("opts: neither ttl nor id is set".into()))?;
        let keeper = client.v3().lease_keeper(lease, o.on_lost)?;
        give(out, etcdc_v3_lease_keeper::new(keeper));
        Ok(())
    })
}

/// The lease's id (0 if `keeper` is NULL): attach keys to it with
/// `etcdc_v3_put_options.lease`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_id(keeper: *const etcdc_v3_lease_keeper) -> i64 {
    read(keeper, 0, |k| k.id)
}

/// The lease's TTL in seconds, as etcd granted it (for an adopted lease: as
/// etcd said at the first renewal); 0 if `keeper` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_ttl(keeper: *const etcdc_v3_lease_keeper) -> i64 {
    read(keeper, 0, |k| k.ttl)
}

/// What the keeper knows of its lease now (see `etcdc_v3_keeper_state`);
/// lock-free, from any thread. `*left_ms` (if `left_ms` is not NULL) is the
/// time the lease has left by this client's clock, in milliseconds rounded
/// down, when it is `ETCDC_V3_KEEPER_ALIVE`; 0 in every other state.
/// `ETCDC_V3_KEEPER_NONE` (and `*left_ms` 0) if `keeper` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_state(
    keeper: *const etcdc_v3_lease_keeper,
    left_ms: *mut i64,
) -> etcdc_v3_keeper_state {
    use etcdc_v3_keeper_state::*;
    let (state, left) = read(keeper, (ETCDC_V3_KEEPER_NONE, 0), |k| match (k.state)() {
        KeeperState::Alive { left } => (
            ETCDC_V3_KEEPER_ALIVE,
            i64::try_from(left.as_millis()).unwrap_or(i64::MAX),
        ),
        KeeperState::AtRisk => (ETCDC_V3_KEEPER_AT_RISK, 0),
        KeeperState::Lost(_) => (ETCDC_V3_KEEPER_LOST, 0),
        KeeperState::Stopped => (ETCDC_V3_KEEPER_STOPPED, 0),
    });
    // SAFETY: NULL or writable, per the contract.
    unsafe { put_opt(left_ms, left) };
    state
}

impl OnPanic for (etcdc_v3_keeper_state, i64) {
    fn on_panic() -> Self {
        (etcdc_v3_keeper_state::ETCDC_V3_KEEPER_NONE, 0)
    }
}

/// Why the lease was lost (`ETCDC_V3_KEEPER_LOST`), e.g. "lease 694d7f5a1c2e3b04
/// is gone: it expired or was revoked"; "" while it is not lost. Borrowed
/// from the keeper: valid until it is freed (the reason never changes once
/// set). NULL only if `keeper` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_lost_reason(
    keeper: *const etcdc_v3_lease_keeper,
) -> *const c_char {
    read(keeper, ptr::null(), |k| {
        k.lost_reason().map_or(c"".as_ptr(), |why| why.as_ptr())
    })
}

/// Stops the keeper: no renewal of it is sent after this returns (one
/// already sent may still be answered, harmlessly). With `revoke`, revokes the
/// lease too: its keys are deleted now; without, the lease expires after
/// its TTL. The handle stays valid (its state is `ETCDC_V3_KEEPER_STOPPED`,
/// or `_LOST`) and must still be freed; stopping it again does nothing
/// (and returns as below: `ETCDC_ERR_NOT_HELD` if lost, else `ETCDC_OK`).
/// From the `on_lost` callback too. In a forked child, does nothing.
///
/// Errors: `ETCDC_ERR_NOT_HELD` when the lease was lost before (nothing to
/// revoke; `etcdc_v3_lease_keeper_lost_reason()` says why), or was found
/// gone by the revoke; `ETCDC_ERR_AMBIGUOUS` if the revoke may have been
/// applied; `ETCDC_ERR_INVALID_ARGUMENT` for NULL; the revoke's transport
/// errors (the keeper is stopped all the same: the lease expires after its
/// TTL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_stop(
    keeper: *mut etcdc_v3_lease_keeper,
    revoke: bool,
) -> etcdc_status {
    status(|| {
        let keeper: &etcdc_v3_lease_keeper = arg!(keeper);
        match keeper.take() {
            Some(k) => k.stop(revoke),
            None => match keeper.lost_reason() {
                Some(why) => Err(Error::NotHeld(why.to_string_lossy().into_owned())),
                None => Ok(()),
            },
        }
    })
}

/// Frees the keeper. If it was not stopped, stops it and revokes the lease
/// first (errors ignored), as `etcdc_v3_lease_keeper_stop(keeper, true)`;
/// the last keeper of a client ends the keepers' thread (which has ended
/// when this returns, unless called from `on_lost`). NULL is a no-op. No other thread
/// may be using it; the `on_lost` callback may free it. In a forked child,
/// frees the copy's memory and nothing else (no thread to stop, no revoke).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keeper_free(keeper: *mut etcdc_v3_lease_keeper) {
    free!(keeper)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options: exactly one of ttl and id; the callback is carried.
    #[test]
    fn options_need_exactly_one_lease() {
        use crate::ffi::options::Options;
        let mut o = etcdc_v3_lease_keeper_options {
            version: 1,
            ttl: 0,
            id: 0,
            on_lost: None,
            userdata: ptr::null_mut(),
        };
        assert!(o.to_rust().is_err());
        o.ttl = 5;
        o.id = 7;
        let e = o.to_rust().err().unwrap().to_string();
        assert!(e.contains("both"), "{e}");
        o.id = 0;
        assert_eq!(
            o.to_rust().unwrap().lease,
            Some(LeaseSource::Grant { ttl: 5 })
        );
        o.ttl = 0;
        o.id = 7;
        assert_eq!(
            o.to_rust().unwrap().lease,
            Some(LeaseSource::Adopt { id: 7 })
        );
        unsafe extern "C" fn count(reason: *const c_char, userdata: *mut c_void) {
            // SAFETY: the test's own pointers.
            unsafe {
                assert!(!std::ffi::CStr::from_ptr(reason).to_bytes().is_empty());
                *userdata.cast::<u32>() += 1;
            }
        }
        let mut calls = 0u32;
        o.on_lost = Some(count);
        o.userdata = (&mut calls as *mut u32).cast();
        let f = o.to_rust().unwrap().on_lost.unwrap();
        f("gone\0with a NUL");
        assert_eq!(calls, 1);
    }

    #[test]
    fn null_keeper_reads_as_none() {
        let mut left = 5;
        // SAFETY: NULL is allowed.
        unsafe {
            assert_eq!(
                etcdc_v3_lease_keeper_state(ptr::null(), &mut left),
                etcdc_v3_keeper_state::ETCDC_V3_KEEPER_NONE
            );
            assert!(etcdc_v3_lease_keeper_lost_reason(ptr::null()).is_null());
            assert_eq!(etcdc_v3_lease_keeper_id(ptr::null()), 0);
            assert_eq!(
                etcdc_v3_lease_keeper_stop(ptr::null_mut(), true),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            etcdc_v3_lease_keeper_free(ptr::null_mut());
        }
        assert_eq!(left, 0);
    }
}
