//! Watches in C: one-shot `etcdc_watch()` and the endless `etcdc_watcher`.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::addr_of_mut;
use std::time::Duration;

use super::client::etcdc_client;
use super::node::{etcdc_response, put_response};
use super::{arg_out, arg_ref, arg_str, check_version, status};
use crate::error::{Error, Result};
use crate::v2::watch::{WatchOptions, Watcher};
use crate::Canceller;

/// The current version of `etcdc_watch_options`.
pub const ETCDC_WATCH_OPTIONS_VERSION: u32 = 1;

/// Options of `etcdc_watch()` and `etcdc_watcher_new()`. Initialise with
/// `ETCDC_WATCH_OPTIONS_INIT` or `etcdc_watch_options_init()`; all 0 watches
/// the key itself for its next change, without timeout.
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
    /// For `etcdc_watch()`: give up with `ETCDC_ERR_WATCH_TIMEOUT` after this
    /// many milliseconds without a change; 0: wait as long as it takes (the
    /// client's read timeout does not apply to watches). Ignored by
    /// `etcdc_watcher_new()`: `etcdc_watcher_next()` takes a timeout per call.
    pub timeout_ms: u64,
}

/// An endless watch of a key or a subtree: delivers every change, in order,
/// exactly once (each poll resumes at the last event's modified index + 1,
/// also across dropped connections). It has its own connection.
///
/// Create with `etcdc_watcher_new()`, free with `etcdc_watcher_free()`.
/// Thread-safety: one thread at a time may call its functions, except
/// `etcdc_watcher_cancel()`, which any thread may call at any time while the
/// watcher exists (to wake a thread blocked in `etcdc_watcher_next()`).
pub struct etcdc_watcher {
    watcher: Watcher,
    canceller: Canceller,
}

/// Sets `opts` to the defaults of the current version (all fields 0, version
/// set), as `ETCDC_WATCH_OPTIONS_INIT` does. Does nothing if `opts` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_watch_options_init(opts: *mut etcdc_watch_options) {
    super::init_options(opts, ETCDC_WATCH_OPTIONS_VERSION);
}

unsafe fn watch_options(p: *const etcdc_watch_options) -> Result<WatchOptions> {
    // SAFETY: NULL or valid per the header's contract.
    let Some(o) = (unsafe { p.as_ref() }) else {
        return Ok(WatchOptions::default());
    };
    check_version(
        o.version,
        ETCDC_WATCH_OPTIONS_VERSION,
        "etcdc_watch_options",
    )?;
    Ok(WatchOptions {
        recursive: o.recursive,
        wait_index: (o.wait_index != 0).then_some(o.wait_index),
        timeout: millis(o.timeout_ms),
    })
}

fn millis(ms: u64) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms))
}

/// Waits for the next change of `key` (of its subtree with `recursive`) and
/// stores it in `*out` (owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL). The response is etcd's event:
/// action ("set", "delete", "expire", "compareAndSwap"…), the node after the
/// change, the node before it. A dropped connection is re-established and
/// the poll resumed. Not cancellable: use an `etcdc_watcher` for that.
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
    out: *mut *mut etcdc_response,
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let opts = unsafe { watch_options(opts) }?;
        let event = client.client.watch(key, &opts)?;
        unsafe { put_response(out, event) };
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
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let opts = unsafe { watch_options(opts) }?;
        let out = unsafe { arg_out(out, "out") }?;
        let watcher = client.client.watcher(key, &opts)?;
        let canceller = watcher.canceller();
        *out = Box::into_raw(Box::new(etcdc_watcher { watcher, canceller }));
        Ok(())
    })
}

/// The watcher's `Watcher`, reached without forming a reference to the whole
/// handle, so that `etcdc_watcher_cancel()` may read `canceller` meanwhile.
unsafe fn watcher_mut<'a>(w: *mut etcdc_watcher) -> Result<&'a mut Watcher> {
    if w.is_null() {
        return Err(Error::InvalidArgument("watcher is NULL".into()));
    }
    // SAFETY: live per the header's contract; only this field is borrowed.
    Ok(unsafe { &mut *addr_of_mut!((*w).watcher) })
}

/// Waits for the next event, at most `timeout_ms` milliseconds (0: as long as
/// it takes), and stores it in `*out` (owned by the caller, freed with
/// `etcdc_response_free()`; `out` may be NULL).
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
    timeout_ms: u64,
    out: *mut *mut etcdc_response,
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        let watcher = unsafe { watcher_mut(watcher) }?;
        let event = watcher.next_event(millis(timeout_ms))?;
        unsafe { put_response(out, event) };
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
            // SAFETY: live per the header's contract; only this field is read.
            unsafe { &*std::ptr::addr_of!((*watcher).canceller) }.cancel();
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
        // SAFETY: live per the header's contract; only this field is read.
        let w = unsafe { &*std::ptr::addr_of!((*watcher).watcher) };
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
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        let watcher = unsafe { watcher_mut(watcher) }?;
        if index == 0 {
            return Err(Error::InvalidArgument("resume index 0".into()));
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
/// `etcdc_watcher_next()` reports it with no timeout. The watcher stays
/// usable after an error (e.g. resume after `ETCDC_ERR_EVENT_INDEX_CLEARED`).
#[no_mangle]
pub unsafe extern "C" fn etcdc_watcher_run(
    watcher: *mut etcdc_watcher,
    callback: etcdc_watch_callback,
    userdata: *mut c_void,
) -> super::etcdc_status {
    status(|| {
        let Some(callback) = callback else {
            return Err(Error::InvalidArgument("callback is NULL".into()));
        };
        loop {
            // SAFETY: per the header's contract; re-borrowed each round so
            // no reference lives across the callback.
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
    super::boundary(|| {
        if !watcher.is_null() {
            // SAFETY: a Box given out by etcdc_watcher_new, freed once.
            drop(unsafe { Box::from_raw(watcher) });
        }
    })
}
