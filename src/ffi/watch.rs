//! Watches: the one-shot `etcdc_watch()` and the endless `etcdc_watcher`,
//! which delivers every change in order, exactly once.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{addr_of, addr_of_mut};

use super::args::{give, give_opt, wait_limit};
use super::client::etcdc_client;
use super::node::etcdc_response;
use super::options::{self, c_options};
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::{Canceller, WatchOptions, Watcher};

/// The current version of `etcdc_watch_options`.
pub const ETCDC_WATCH_OPTIONS_VERSION: u32 = 1;

/// Options of `etcdc_watch()` and `etcdc_watcher_new()`. Initialise with
/// `ETCDC_WATCH_OPTIONS_INIT` or
/// `etcdc_watch_options_init(&opts, ETCDC_WATCH_OPTIONS_VERSION)`; all 0
/// watches the key itself from now.
#[repr(C)]
pub struct etcdc_watch_options {
    /// `ETCDC_WATCH_OPTIONS_VERSION`.
    pub version: u32,
    /// Watch the whole subtree of a directory, not only the key itself.
    pub recursive: bool,
    /// Start from this etcd index: the first change at or after it (it may
    /// be in the past, within etcd's history of about 1,000 events); 0: the
    /// next change from now.
    pub wait_index: u64,
}

/// An endless watch of a key or a subtree: delivers every change, in order,
/// exactly once (each poll resumes at the last event's modified index + 1,
/// also across dropped connections). It has its own connection.
///
/// Its poll outlives a timeout: `etcdc_watcher_next()` returns
/// `ETCDC_ERR_WATCH_TIMEOUT` while the poll goes on, on the same
/// connection, and the next call takes it up where it was. So calling it
/// again and again with any timeout, however short (0 included), delivers
/// every change, in order, exactly once, over one connection.
///
/// Create with `etcdc_watcher_new()`, free with `etcdc_watcher_free()`.
/// Thread-safety: one thread at a time may call its functions, except
/// `etcdc_watcher_cancel()`, which any thread may call at any time while the
/// watcher exists (to wake a thread blocked in `etcdc_watcher_next()`).
pub struct etcdc_watcher {
    watcher: Watcher,
    canceller: Canceller,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_WATCH_OPTIONS_INIT` does; pass `ETCDC_WATCH_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watch_options_init(
    opts: *mut etcdc_watch_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

c_options!(etcdc_watch_options => WatchOptions, |o| Ok(WatchOptions {
    recursive: o.recursive,
    wait_index: (o.wait_index != 0).then_some(o.wait_index),
    timeout: None,
}));

/// Waits for the next change of `key` (of its subtree with `recursive`), at
/// most `timeout_ms` (the waiting rule: negative for no limit), and stores
/// it in `*out` (owned by the caller, freed with `etcdc_response_free()`;
/// `out` may be NULL). The response is etcd's event: action ("set",
/// "delete", "expire", "compareAndSwap"…), the node after the change, the
/// node before it. A dropped connection is re-established and the poll
/// resumed. Not cancellable: use an `etcdc_watcher` for that.
///
/// It keeps nothing between calls: its poll ends when it returns. So a
/// `timeout_ms` of 0 returns `ETCDC_ERR_WATCH_TIMEOUT` at once without
/// contacting etcd (there can be no answer at hand); to poll without
/// waiting, use an `etcdc_watcher`.
///
/// Errors: `ETCDC_ERR_WATCH_TIMEOUT`; `ETCDC_ERR_EVENT_INDEX_CLEARED` when
/// `wait_index` is older than etcd's history (`etcdc_error_last()->index` is
/// etcd's current index); `ETCDC_ERR_INVALID_ARGUMENT`; connection errors
/// once a few retries are spent.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watch(
    client: *const etcdc_client,
    key: *const c_char,
    opts: *const etcdc_watch_options,
    timeout_ms: i64,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    status(|| {
        let opts = WatchOptions {
            timeout: wait_limit(timeout_ms),
            ..options!(opts)
        };
        let event = arg!(client).watch(string!(key), &opts)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_response::new(event)) };
        Ok(())
    })
}

/// Creates a watcher of `key` (of its subtree with `recursive`), from
/// `wait_index` or from now. Sends nothing yet. On success `*out` is a new
/// watcher owned by the caller, freed with `etcdc_watcher_free()`; it may
/// outlive `client`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (NULL, invalid UTF-8, a bad key).
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_new(
    client: *const etcdc_client,
    key: *const c_char,
    opts: *const etcdc_watch_options,
    out: *mut *mut etcdc_watcher,
) -> etcdc_status {
    status(|| {
        let watcher = arg!(client).watcher(string!(key), &options!(opts))?;
        let canceller = watcher.canceller();
        give(arg_mut!(out), etcdc_watcher { watcher, canceller });
        Ok(())
    })
}

/// The watcher's `Watcher`, reached without forming a reference to the whole
/// handle, so that `etcdc_watcher_cancel()` may read `canceller` meanwhile.
unsafe fn watcher_mut<'a>(watcher: *mut etcdc_watcher) -> Result<&'a mut Watcher> {
    if watcher.is_null() {
        return Err(Error::InvalidArgument("watcher is NULL".into()));
    }
    // SAFETY: live per the contract; only this field is borrowed.
    Ok(unsafe { &mut *addr_of_mut!((*watcher).watcher) })
}

/// Waits for the next event, at most `timeout_ms` (the waiting rule:
/// negative for no limit), and stores it in `*out` (owned by the caller,
/// freed with `etcdc_response_free()`; `out` may be NULL).
///
/// A timeout ends the wait, not the poll: the next call goes on with the
/// same poll, on the same connection, so short timeouts lose nothing.
/// 0 does not wait: it delivers an event whose answer has already arrived,
/// else returns `ETCDC_ERR_WATCH_TIMEOUT` at once; when no poll is in
/// flight, it sends one first (connecting and sending are not waiting for
/// a change: they are bounded by the client's connect and read timeouts,
/// not by `timeout_ms`, as they are for a positive `timeout_ms`).
///
/// Errors: `ETCDC_ERR_WATCH_TIMEOUT` (the watcher stays usable: call again);
/// `ETCDC_ERR_CANCELLED` once `etcdc_watcher_cancel()` was called, promptly
/// even while blocked; `ETCDC_ERR_EVENT_INDEX_CLEARED` when the watcher fell
/// more than etcd's history (about 1,000 events) behind: the events in
/// between are lost to it, so re-read what you watch and call
/// `etcdc_watcher_resume_from()` with that read's etcd index + 1; connection
/// errors once a few retries are spent (calling again retries).
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_next(
    watcher: *mut etcdc_watcher,
    timeout_ms: i64,
    out: *mut *mut etcdc_response,
) -> etcdc_status {
    status(|| {
        // SAFETY: per the contract.
        let watcher = unsafe { watcher_mut(watcher) }?;
        let event = watcher.next_event(wait_limit(timeout_ms))?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_response::new(event)) };
        Ok(())
    })
}

/// Cancels the watcher: a thread blocked in `etcdc_watcher_next()` (or
/// `etcdc_watcher_run()`) returns `ETCDC_ERR_CANCELLED` at once, and so does
/// every later call. Final. Any thread may call it, any number of times,
/// while the watcher exists; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_cancel(watcher: *const etcdc_watcher) {
    super::boundary(|| {
        if !watcher.is_null() {
            // SAFETY: live per the contract; only this field is read.
            unsafe { &*addr_of!((*watcher).canceller) }.cancel();
        }
    })
}

/// The etcd index the watcher's next poll starts from; 0 before the first
/// event when it was created without `wait_index` (then: from now), or for
/// NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_next_index(watcher: *const etcdc_watcher) -> u64 {
    super::boundary(|| {
        if watcher.is_null() {
            return 0;
        }
        // SAFETY: live per the contract; only this field is read.
        let w = unsafe { &*addr_of!((*watcher).watcher) };
        w.next_index().unwrap_or(0)
    })
}

/// Makes the watcher go on from etcd index `index` (not 0): after
/// `ETCDC_ERR_EVENT_INDEX_CLEARED` and a fresh read, that read's
/// `etcdc_response_etcd_index() + 1`. A cancelled watcher stays cancelled.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an index of 0.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_resume_from(
    watcher: *mut etcdc_watcher,
    index: u64,
) -> etcdc_status {
    status(|| {
        // SAFETY: per the contract.
        let watcher = unsafe { watcher_mut(watcher) }?;
        if index == 0 {
            return Err(Error::InvalidArgument("index is 0".into()));
        }
        watcher.resume_from(index);
        Ok(())
    })
}

/// Called by `etcdc_watcher_run()` for each event. `event` is borrowed: valid
/// during the call only (copy what you keep). Return 0 to go on, anything
/// else to stop. It must return normally (no longjmp, no C++ exception).
pub type etcdc_watch_callback =
    Option<unsafe extern "C" fn(event: *const etcdc_response, userdata: *mut c_void) -> c_int>;

/// Runs the watch loop for C users who would rather not write it: calls
/// `callback(event, userdata)` for each event, in order, until the callback
/// returns non-zero (then returns `ETCDC_OK`), the watcher is cancelled from
/// another thread (`ETCDC_ERR_CANCELLED`), or an error as
/// `etcdc_watcher_next()` reports it with no time limit. The watcher stays
/// usable after an error (e.g. resume after `ETCDC_ERR_EVENT_INDEX_CLEARED`).
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_run(
    watcher: *mut etcdc_watcher,
    callback: etcdc_watch_callback,
    userdata: *mut c_void,
) -> etcdc_status {
    status(|| {
        let Some(callback) = callback else {
            return Err(Error::InvalidArgument("callback is NULL".into()));
        };
        loop {
            // SAFETY: per the contract; re-borrowed each round so no
            // reference lives across the callback.
            let event = unsafe { watcher_mut(watcher) }?.next_event(None)?;
            let event = etcdc_response::new(event);
            // SAFETY: the callback's contract; `event` lives across the call.
            if unsafe { callback(&event, userdata) } != 0 {
                return Ok(());
            }
        }
    })
}

/// Frees a watcher, closing its connection. NULL is a no-op. No other thread
/// may be using it: to stop a thread blocked in `etcdc_watcher_next()`,
/// cancel, let that thread return, then free.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_free(watcher: *mut etcdc_watcher) {
    free!(watcher)
}
