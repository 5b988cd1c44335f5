//! etcd's v3 watches: `etcdc_v3_watcher`, which delivers every change of a
//! key, a prefix or a range, in order, exactly once, from now or from a
//! past revision, until it is cancelled or freed.
//!
//! Keys are bytes, a pointer and a length, as in the v3 keys section; a
//! range is given as there (`range_end`, or `prefix`; `range_end` "\0"
//! for every key from `key` on). Each event is a new handle
//! (`etcdc_v3_event`): what changed (`ETCDC_V3_EVENT_PUT` or
//! `ETCDC_V3_EVENT_DELETE`), the key after the change and, when asked for
//! (`prev_kv`), the key before it, as the borrowed `etcdc_v3_kv` views of
//! the v3 keys section.
//!
//! All the watchers of one client share one gRPC Watch stream to one
//! member, read by one background thread (`etcdc-watch`) on a connection
//! of its own: a thousand watchers cost one thread and one connection.
//! `etcdc_v3_watcher_new()` returns once etcd created the watch, so a
//! change made after it returns (also by the same thread) is delivered.
//! When the member fails (its connection breaks, it ends the stream, it
//! loses its leader, or it falls silent: a member that sends nothing for
//! 2 s, then nothing for 3 s after a progress request, is left, so within
//! 5 s), every watch is created again on the next member from the
//! revision after the last event it delivered: nothing is missed or
//! repeated. While no member can be reached, `etcdc_v3_watcher_next()`
//! says so (a connection error, after every member failed twice in a row,
//! then after each round that fails, about every half second) and the
//! watcher goes on trying: call it again.
//!
//! Compaction: a watch that starts (or, after a failover, resumes) from a
//! revision etcd has compacted away ends with `ETCDC_ERR_COMPACTED`: the
//! changes between its revision and the compaction are lost to it, and
//! `etcdc_v3_watcher_compact_revision()` says from which revision etcd
//! still keeps changes. To go on, re-read what you watch (`etcdc_v3_range()`)
//! and make a new watcher from that read's header revision + 1. A watch
//! quiet since before a compaction may end so when it resumes on another
//! member, though nothing it watched changed: etcd cannot tell.
//!
//! Threads: a watcher is used by one thread at a time, except
//! `etcdc_v3_watcher_cancel()`, which any thread may call while the watcher
//! exists (it wakes a thread blocked in `etcdc_v3_watcher_next()` or
//! `etcdc_v3_watcher_run()` at once, and tells etcd to stop the watch).
//! Events are read-only: any number of threads may read one at once, and
//! it may outlive its watcher and its client.
//!
//! Fork: unlike a v2 watcher, a v3 watcher belongs to the process that
//! made it (its stream and thread stay there). In a forked child, the
//! inherited copy is inert: `etcdc_v3_watcher_next()` and
//! `etcdc_v3_watcher_run()` return `ETCDC_ERR_INVALID_ARGUMENT`,
//! `etcdc_v3_watcher_cancel()` does nothing, and freeing it releases only
//! its memory (the parent's watch goes on). The child makes watchers of its
//! own, with the client it inherited or a new one.

use std::ffi::{c_int, c_void};
use std::ptr::{self, addr_of, addr_of_mut};
use std::sync::atomic::{AtomicI64, Ordering};

use super::args::{give, give_opt, wait_limit};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::v3_kv::{etcdc_v3_kv, read, End, Kvs};
use super::{etcdc_status, status, OnPanic};
use crate::error::{Error, Result};
use crate::v3::{Event, EventKind, Watch, WatchCanceller, Watcher};

/// The current version of `etcdc_v3_watch_options`.
pub const ETCDC_V3_WATCH_OPTIONS_VERSION: u32 = 1;

/// Options of `etcdc_v3_watcher_new()`. Initialise with
/// `ETCDC_V3_WATCH_OPTIONS_INIT` or
/// `etcdc_v3_watch_options_init(&opts, ETCDC_V3_WATCH_OPTIONS_VERSION)`;
/// all 0 / NULL / false watches the key alone, from now, every put and
/// delete, without the keys as they were. The bytes of `range_end` need
/// only live during the call.
#[repr(C)]
pub struct etcdc_v3_watch_options {
    /// `ETCDC_V3_WATCH_OPTIONS_VERSION`.
    pub version: u32,
    /// The end of the range to watch (excluded), `range_end_len` bytes: the
    /// keys from `key` up to it, in byte order. "\0" (length 1): every key
    /// from `key` on. NULL / 0: the key alone.
    pub range_end: *const c_void,
    pub range_end_len: usize,
    /// Every key that starts with `key` (every key, for an empty `key`).
    /// `range_end` must not be set too.
    pub prefix: bool,
    /// Deliver the changes from this revision on (included; it may be in
    /// the past, back to etcd's last compaction: older is
    /// `ETCDC_ERR_COMPACTED`); 0: the changes made after the watch is
    /// created. Negative is `ETCDC_ERR_INVALID_ARGUMENT`.
    pub start_revision: i64,
    /// Events carry the key as it was before the change
    /// (`etcdc_v3_event_prev_kv()`), when it existed.
    pub prev_kv: bool,
    /// Deliver no puts (deletes only).
    pub no_put: bool,
    /// Deliver no deletes (puts only).
    pub no_delete: bool,
}

/// What changed: the values `etcdc_v3_event_type()` returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_event_kind {
    /// No event: what a NULL `event` reads as. Never the kind of an event.
    ETCDC_V3_EVENT_NONE = 0,
    /// The key was put: created, or given a new value or lease.
    ETCDC_V3_EVENT_PUT = 1,
    /// The key was deleted (by a delete, or by its lease's end).
    ETCDC_V3_EVENT_DELETE = 2,
}

impl OnPanic for etcdc_v3_event_kind {
    fn on_panic() -> Self {
        etcdc_v3_event_kind::ETCDC_V3_EVENT_NONE
    }
}

/// One change of a watched key: its kind, the key after it, and (with
/// `prev_kv`) the key before it. Made by `etcdc_v3_watcher_next()`, owned by
/// the caller and freed with `etcdc_v3_event_free()`; or borrowed from
/// `etcdc_v3_watcher_run()` during its callback. What its accessors return
/// is borrowed from it. Read-only: any number of threads may read it at
/// once; it may outlive its watcher and its client.
pub struct etcdc_v3_event {
    kind: etcdc_v3_event_kind,
    revision: i64,
    /// The key after the change, then the key before it if there is one.
    kvs: Kvs,
}

impl etcdc_v3_event {
    fn new(event: Event) -> etcdc_v3_event {
        let kind = match event.kind {
            EventKind::Put => etcdc_v3_event_kind::ETCDC_V3_EVENT_PUT,
            EventKind::Delete => etcdc_v3_event_kind::ETCDC_V3_EVENT_DELETE,
        };
        let revision = event.revision();
        let mut kvs = vec![event.kv];
        kvs.extend(event.prev_kv);
        etcdc_v3_event {
            kind,
            revision,
            kvs: Kvs::new(&kvs),
        }
    }
}

/// A running v3 watch (see the section's introduction): delivers every
/// change of its key, prefix or range, in order, exactly once.
///
/// Made by `etcdc_v3_watcher_new()`, owned by the caller, freed with
/// `etcdc_v3_watcher_free()`; it may outlive the client it was made with.
/// Thread-safety: one thread at a time may call its functions, except
/// `etcdc_v3_watcher_cancel()`, which any thread may call at any time while
/// the watcher exists.
pub struct etcdc_v3_watcher {
    watcher: Watcher,
    canceller: WatchCanceller,
    /// The revision of the last `ETCDC_ERR_COMPACTED`; 0 before any.
    compact_revision: AtomicI64,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_WATCH_OPTIONS_INIT` does; pass `ETCDC_V3_WATCH_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watch_options_init(
    opts: *mut etcdc_v3_watch_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// `etcdc_v3_watch_options`, checked.
#[derive(Debug, Default)]
pub(crate) struct WatchOptions<'a> {
    end: End<'a>,
    start_revision: i64,
    prev_kv: bool,
    no_put: bool,
    no_delete: bool,
}

impl WatchOptions<'_> {
    /// The watch of `key` (and of its range) these options ask for.
    fn watch(&self, key: &[u8]) -> Watch {
        let mut w = match self.end {
            End::Key => Watch::key(key),
            End::Prefix => Watch::prefix(key),
            End::To(end) => Watch::between(key, end),
        };
        w = w.start_revision(self.start_revision);
        if self.prev_kv {
            w = w.prev_kv();
        }
        if self.no_put {
            w = w.no_put();
        }
        if self.no_delete {
            w = w.no_delete();
        }
        w
    }
}

c_options!(etcdc_v3_watch_options => WatchOptions<'a>, |o| Ok(WatchOptions {
    end: End::of(o.range_end, o.range_end_len, o.prefix)?,
    start_revision: o.start_revision,
    prev_kv: o.prev_kv,
    no_put: o.no_put,
    no_delete: o.no_delete,
}));

/// Starts watching the key `key` (`key_len` bytes), or with `opts` its
/// prefix or range, from now or from `opts->start_revision`. Blocks until
/// etcd created the watch (within the client's read timeout, failing over
/// as reads do), so that a change made after it returns is delivered.
/// `opts` NULL watches the key alone, from now. On success `*out` is a new
/// watcher owned by the caller, freed with `etcdc_v3_watcher_free()`; it may
/// outlive `client`.
///
/// Errors: `ETCDC_ERR_GRPC_PERMISSION_DENIED` without read access to the
/// keys (with v3 auth on); `ETCDC_ERR_COMPACTED` if etcd refused a
/// compacted `start_revision` at once (it usually creates the watch and
/// ends it with the first `etcdc_v3_watcher_next()`: the message says from
/// which revision etcd keeps changes; the recovery is the same);
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `out`; `key` or
/// `opts->range_end` with a length), an unknown options version, both
/// `prefix` and `range_end`, or a negative `start_revision`; transport
/// errors (`ETCDC_ERR_CONNECTION`, `ETCDC_ERR_TIMEOUT`...) when no member
/// created it in time.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_new(
    client: *const etcdc_client,
    key: *const c_void,
    key_len: usize,
    opts: *const etcdc_v3_watch_options,
    out: *mut *mut etcdc_v3_watcher,
) -> etcdc_status {
    status(|| {
        let watch = options!(opts).watch(bytes!(key, key_len));
        let client = arg!(client);
        let out = arg_mut!(out);
        let watcher = client.v3().watch(&watch)?;
        let canceller = watcher.canceller();
        give(
            out,
            etcdc_v3_watcher {
                watcher,
                canceller,
                compact_revision: AtomicI64::new(0),
            },
        );
        Ok(())
    })
}

/// The watcher's `Watcher` and compaction record, reached without forming
/// a reference to the whole handle, so that `etcdc_v3_watcher_cancel()` may
/// read `canceller` meanwhile.
unsafe fn watcher_parts<'a>(
    watcher: *mut etcdc_v3_watcher,
) -> Result<(&'a mut Watcher, &'a AtomicI64)> {
    if watcher.is_null() {
        return Err(Error::InvalidArgument("watcher is NULL".into()));
    }
    // SAFETY: live per the contract; only these fields are borrowed, and
    // only the owner's thread uses `watcher`.
    unsafe {
        Ok((
            &mut *addr_of_mut!((*watcher).watcher),
            &*addr_of!((*watcher).compact_revision),
        ))
    }
}

/// The next event of `watcher`, waiting at most `timeout`; a compaction
/// is recorded for `etcdc_v3_watcher_compact_revision()`.
unsafe fn next_event(
    watcher: *mut etcdc_v3_watcher,
    timeout: Option<std::time::Duration>,
) -> Result<etcdc_v3_event> {
    // SAFETY: per the caller.
    let (watcher, compacted) = unsafe { watcher_parts(watcher) }?;
    match watcher.next_event(timeout) {
        Ok(event) => Ok(etcdc_v3_event::new(event)),
        Err(e) => {
            if let Error::Compacted { revision } = e {
                compacted.store(revision, Ordering::Relaxed);
            }
            Err(e)
        }
    }
}

/// Waits for the next event, at most `timeout_ms` (the waiting rule:
/// negative for no limit), and stores it in `*out` (owned by the caller,
/// freed with `etcdc_v3_event_free()`; `out` may be NULL). Events come in
/// the order etcd made them, each once.
///
/// A timeout ends the wait, not the watch: nothing is lost, call again. 0
/// does not wait: it delivers an event already received, else returns
/// `ETCDC_ERR_WATCH_TIMEOUT` at once.
///
/// Errors: `ETCDC_ERR_WATCH_TIMEOUT` (the watcher stays usable: call
/// again); `ETCDC_ERR_CANCELLED` once `etcdc_v3_watcher_cancel()` was
/// called, promptly even while blocked (final); `ETCDC_ERR_COMPACTED` when
/// the watch had to start or resume from a compacted revision (final: its
/// revision is `etcdc_v3_watcher_compact_revision()`; re-read and make a new
/// watcher, see the section's introduction); `ETCDC_ERR_GRPC_*` when etcd
/// ended the watch itself (final, e.g. `_PERMISSION_DENIED`); a connection
/// error (`ETCDC_ERR_CONNECTION`, `ETCDC_ERR_TIMEOUT`...) when no member
/// could be reached for a while, told once: the watcher goes on trying,
/// call again; `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `watcher`, or in a
/// forked child.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_next(
    watcher: *mut etcdc_v3_watcher,
    timeout_ms: i64,
    out: *mut *mut etcdc_v3_event,
) -> etcdc_status {
    status(|| {
        // SAFETY: per the contract.
        let event = unsafe { next_event(watcher, wait_limit(timeout_ms)) }?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, event) };
        Ok(())
    })
}

/// Cancels the watcher: a thread blocked in `etcdc_v3_watcher_next()` (or
/// `etcdc_v3_watcher_run()`) returns `ETCDC_ERR_CANCELLED` at once, and so
/// does every later call; etcd is told to stop the watch. Final. Any thread
/// may call it, any number of times, while the watcher exists; NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_cancel(watcher: *const etcdc_v3_watcher) {
    super::boundary(|| {
        if !watcher.is_null() {
            // SAFETY: live per the contract; only this field is read.
            unsafe { &*addr_of!((*watcher).canceller) }.cancel();
        }
    })
}

/// Where a new watcher would go on from, to get what this one has not given
/// yet: the revision after the last event `etcdc_v3_watcher_next()` (or
/// `etcdc_v3_watcher_run()`) returned; before any, where it started (its
/// `start_revision`, or the revision after the store's when it was created
/// from now). The events of one txn share a revision: take them all before
/// resuming from here. Any thread may call it while the watcher exists.
/// 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_next_revision(watcher: *const etcdc_v3_watcher) -> i64 {
    super::boundary(|| {
        if watcher.is_null() {
            return 0;
        }
        // SAFETY: live per the contract; only this field is read.
        unsafe { &*addr_of!((*watcher).watcher) }.next_revision()
    })
}

/// After `ETCDC_ERR_COMPACTED`: etcd's compaction revision, from which it
/// still keeps changes (the changes from `etcdc_v3_watcher_next_revision()`
/// up to it are lost to the watcher). 0 while the watcher did not return
/// `ETCDC_ERR_COMPACTED`, or for NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_compact_revision(
    watcher: *const etcdc_v3_watcher,
) -> i64 {
    super::boundary(|| {
        if watcher.is_null() {
            return 0;
        }
        // SAFETY: live per the contract; only this field is read.
        unsafe { &*addr_of!((*watcher).compact_revision) }.load(Ordering::Relaxed)
    })
}

/// Called by `etcdc_v3_watcher_run()` for each event. `event` is borrowed:
/// valid during the call only (copy what you keep; never free it). Return
/// 0 to go on, anything else to stop. It may cancel its watcher (the loop
/// then ends with `ETCDC_ERR_CANCELLED` unless it returns non-zero), never
/// free it. It must return normally (no longjmp, no C++ exception).
pub type etcdc_v3_watch_callback =
    Option<unsafe extern "C" fn(event: *const etcdc_v3_event, userdata: *mut c_void) -> c_int>;

/// Runs the watch loop for C users who would rather not write it: calls
/// `callback(event, userdata)` for each event, in order, until the callback
/// returns non-zero (then returns `ETCDC_OK`), the watcher is cancelled from
/// another thread (`ETCDC_ERR_CANCELLED`), or an error as
/// `etcdc_v3_watcher_next()` reports it with no time limit. The watcher
/// stays usable after an error that is not final (a connection error: call
/// again).
///
/// Errors: those of `etcdc_v3_watcher_next()`, and
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `watcher` or `callback`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_run(
    watcher: *mut etcdc_v3_watcher,
    callback: etcdc_v3_watch_callback,
    userdata: *mut c_void,
) -> etcdc_status {
    status(|| {
        let Some(callback) = callback else {
            return Err(Error::InvalidArgument("callback is NULL".into()));
        };
        loop {
            // SAFETY: per the contract; re-borrowed each round so no
            // reference lives across the callback.
            let event = unsafe { next_event(watcher, None) }?;
            // SAFETY: the callback's contract; `event` lives across the call.
            if unsafe { callback(&event, userdata) } != 0 {
                return Ok(());
            }
        }
    })
}

/// Frees a watcher: cancels its watch on etcd (when it was the client's
/// last watcher, its stream and thread end too). NULL is a no-op. No other
/// thread may be using it: to stop a thread blocked in
/// `etcdc_v3_watcher_next()`, cancel, let that thread return, then free.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_watcher_free(watcher: *mut etcdc_v3_watcher) {
    free!(watcher)
}

// ------------------------------------------------------------ accessors

/// What changed: `ETCDC_V3_EVENT_PUT` or `ETCDC_V3_EVENT_DELETE`
/// (`ETCDC_V3_EVENT_NONE` if `event` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_event_type(event: *const etcdc_v3_event) -> etcdc_v3_event_kind {
    read(event, etcdc_v3_event_kind::ETCDC_V3_EVENT_NONE, |e| e.kind)
}

/// The key after the change. For a delete: the key, with the delete's
/// revision as `mod_revision`; its value is empty and its other numbers are
/// 0. Borrowed from the event; NULL only if `event` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_event_kv(event: *const etcdc_v3_event) -> *const etcdc_v3_kv {
    read(event, ptr::null(), |e| e.kvs.get(0))
}

/// The key as it was before the change, when the watch asked for it
/// (`prev_kv`) and the key existed; else NULL. Borrowed from the event.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_event_prev_kv(
    event: *const etcdc_v3_event,
) -> *const etcdc_v3_kv {
    read(event, ptr::null(), |e| e.kvs.get(1))
}

/// The revision of the change (the kv's `mod_revision`); 0 if `event` is
/// NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_event_revision(event: *const etcdc_v3_event) -> i64 {
    read(event, 0, |e| e.revision)
}

/// Frees an event and everything borrowed from it. NULL is a no-op. Never
/// pass the event an `etcdc_v3_watcher_run()` callback is given.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_event_free(event: *mut etcdc_v3_event) {
    free!(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::KeyValue;

    fn kv(key: &[u8], value: &[u8], rev: i64) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: value.to_vec(),
            create_revision: 2,
            mod_revision: rev,
            version: 1,
            lease: 0,
        }
    }

    /// Events as C reads them: kind, revision, kv, prev_kv or NULL.
    #[test]
    fn events_are_read_through_their_views() {
        let put = Box::into_raw(Box::new(etcdc_v3_event::new(Event {
            kind: EventKind::Put,
            kv: kv(b"k\0ey", b"new", 7),
            prev_kv: Some(kv(b"k\0ey", b"old", 5)),
        })));
        let delete = Box::into_raw(Box::new(etcdc_v3_event::new(Event {
            kind: EventKind::Delete,
            kv: KeyValue {
                key: b"k".to_vec(),
                mod_revision: 9,
                ..KeyValue::default()
            },
            prev_kv: None,
        })));
        // SAFETY: live handles, freed at the end; NULL is allowed.
        unsafe {
            use etcdc_v3_event_kind::*;
            assert_eq!(etcdc_v3_event_type(put), ETCDC_V3_EVENT_PUT);
            assert_eq!(etcdc_v3_event_revision(put), 7);
            let now = &*etcdc_v3_event_kv(put);
            let was = &*etcdc_v3_event_prev_kv(put);
            assert_eq!(
                std::slice::from_raw_parts(now.key, now.key_len + 1),
                b"k\0ey\0"
            );
            assert_eq!(std::slice::from_raw_parts(now.value, now.value_len), b"new");
            assert_eq!(std::slice::from_raw_parts(was.value, was.value_len), b"old");
            assert_eq!((now.mod_revision, was.mod_revision), (7, 5));

            assert_eq!(etcdc_v3_event_type(delete), ETCDC_V3_EVENT_DELETE);
            assert_eq!(etcdc_v3_event_revision(delete), 9);
            assert!(etcdc_v3_event_prev_kv(delete).is_null());
            let gone = &*etcdc_v3_event_kv(delete);
            assert_eq!((gone.key_len, gone.value_len, *gone.value), (1, 0, 0));

            assert_eq!(etcdc_v3_event_type(ptr::null()), ETCDC_V3_EVENT_NONE);
            assert!(etcdc_v3_event_kv(ptr::null()).is_null());
            assert!(etcdc_v3_event_prev_kv(ptr::null()).is_null());
            assert_eq!(etcdc_v3_event_revision(ptr::null()), 0);
            etcdc_v3_event_free(put);
            etcdc_v3_event_free(delete);
            etcdc_v3_event_free(ptr::null_mut());
        }
    }

    /// The options become the watch they describe.
    #[test]
    fn options_make_their_watch() {
        use crate::ffi::options::Options;
        let mut o = etcdc_v3_watch_options {
            version: 1,
            range_end: ptr::null(),
            range_end_len: 0,
            prefix: false,
            start_revision: 0,
            prev_kv: false,
            no_put: false,
            no_delete: false,
        };
        assert_eq!(o.to_rust().unwrap().watch(b"a"), Watch::key("a"));
        o.prefix = true;
        o.start_revision = 4;
        o.prev_kv = true;
        o.no_delete = true;
        assert_eq!(
            o.to_rust().unwrap().watch(b"a"),
            Watch::prefix("a").start_revision(4).prev_kv().no_delete()
        );
        o.range_end = c"".as_ptr().cast();
        o.range_end_len = 1;
        let e = o.to_rust().err().unwrap().to_string();
        assert!(e.contains("prefix and range_end"), "{e}");
        o.prefix = false;
        o.no_delete = false;
        o.no_put = true;
        assert_eq!(
            o.to_rust().unwrap().watch(b"a"),
            Watch::from_key("a").start_revision(4).prev_kv().no_put()
        );
        assert_eq!(Watch::from_key("a"), Watch::between("a", "\0"));
    }

    #[test]
    fn null_watcher_is_refused_or_reads_as_zero() {
        // SAFETY: NULL is allowed.
        unsafe {
            assert_eq!(etcdc_v3_watcher_next_revision(ptr::null()), 0);
            assert_eq!(etcdc_v3_watcher_compact_revision(ptr::null()), 0);
            etcdc_v3_watcher_cancel(ptr::null());
            etcdc_v3_watcher_free(ptr::null_mut());
            let mut out = ptr::null_mut();
            assert_eq!(
                etcdc_v3_watcher_next(ptr::null_mut(), 0, &mut out),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            unsafe extern "C" fn go_on(_: *const etcdc_v3_event, _: *mut c_void) -> c_int {
                0
            }
            assert_eq!(
                etcdc_v3_watcher_run(ptr::null_mut(), Some(go_on), ptr::null_mut()),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert!(out.is_null());
        }
    }

    #[test]
    fn options_size_matches_version() {
        use crate::ffi::options::Options;
        assert_eq!(
            etcdc_v3_watch_options::SIZES.len(),
            ETCDC_V3_WATCH_OPTIONS_VERSION as usize
        );
        assert_eq!(std::mem::align_of::<etcdc_v3_watch_options>(), 8);
    }
}
