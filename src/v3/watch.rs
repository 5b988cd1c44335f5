//! Watches: [`Watch`] says what to watch, [`V3::watch`] starts it, and the
//! [`Watcher`] it returns delivers every change, in order, exactly once,
//! until it is cancelled or dropped.
//!
//! All the watches of a client share one gRPC Watch stream to one member
//! and one background thread (`etcdc-watch`, see [`super::watch_hub`]),
//! on a connection of their own: a thousand watches cost one thread and
//! one connection. When that member fails (its connection breaks, it ends
//! the stream, it loses its leader, or it falls silent), every watch is
//! created again on the next member from the revision after the last event
//! it delivered: nothing is missed or repeated.
//!
//! A silent member (stopped, or cut off without closing the connection) is
//! noticed within [`SILENCE_BOUND`]: after [`IDLE`] without a message the
//! stream asks for a progress report, and a member that sends nothing
//! within [`ANSWER`] more is left.
//!
//! # Auth
//!
//! etcd checks the token when it creates a watch, not after: a running
//! watch outlives its token. A create refused for its token (or with
//! "permission denied", which etcd 3.5 before 3.5.6 answers for an expired
//! token) makes the client authenticate again and create every watch on a
//! new stream; refused again, the watch fails with etcd's answer.
//!
//! # Compaction
//!
//! A watch that starts (or, after a failover, resumes) from a revision etcd
//! has compacted away ends with [`Error::Compacted`]: the changes between
//! its revision and the compaction are lost to it. Re-read what you watch
//! (a [`Range`](super::Range)) and watch again from that read's
//! `header.revision + 1`. A watch quiet since before a compaction may end
//! so when it resumes on another member, though nothing it watched changed:
//! etcd cannot tell.

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::kv::prefix_end;
use super::proto::{etcdserverpb as pb, mvccpb};
use super::types::KeyValue;
use super::watch_hub::Hub;
use super::V3;
use crate::error::{Error, Result};
use crate::transport::connection::generation;

/// How long a watch stream may be quiet before it asks its member for a
/// progress report.
pub const IDLE: Duration = Duration::from_secs(2);
/// How long a member has to send anything after a progress request before
/// it counts as failed.
pub const ANSWER: Duration = Duration::from_secs(3);
/// The longest a silent member holds the watches: [`IDLE`] + [`ANSWER`].
/// They then move to the next member (connecting to it is bounded by the
/// client's connect timeout).
pub const SILENCE_BOUND: Duration = Duration::from_secs(5);

/// What to watch: a key, a prefix or a range, from a revision or from now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub(super) key: Vec<u8>,
    pub(super) range_end: Vec<u8>,
    pub(super) start_revision: i64,
    pub(super) prev_kv: bool,
    pub(super) no_put: bool,
    pub(super) no_delete: bool,
}

impl Watch {
    fn of(key: Vec<u8>, range_end: Vec<u8>) -> Watch {
        Watch {
            key,
            range_end,
            start_revision: 0,
            prev_kv: false,
            no_put: false,
            no_delete: false,
        }
    }

    /// The key `key` alone.
    pub fn key(key: impl Into<Vec<u8>>) -> Watch {
        Watch::of(key.into(), Vec::new())
    }

    /// Every key that starts with `prefix` (every key for an empty one).
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Watch {
        let prefix = prefix.into();
        if prefix.is_empty() {
            return Watch::of(vec![0], vec![0]);
        }
        let end = prefix_end(&prefix);
        Watch::of(prefix, end)
    }

    /// The keys from `from` (included) to `to` (excluded).
    pub fn between(from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) -> Watch {
        Watch::of(from.into(), to.into())
    }

    /// Every key from `from` on.
    pub fn from_key(from: impl Into<Vec<u8>>) -> Watch {
        Watch::of(from.into(), vec![0])
    }

    /// From `revision` (included; it may be in the past, back to the last
    /// compaction); 0 (the default): the changes after the watch is
    /// created.
    pub fn start_revision(mut self, revision: i64) -> Watch {
        self.start_revision = revision;
        self
    }

    /// Events carry the key-value as it was before the change.
    pub fn prev_kv(mut self) -> Watch {
        self.prev_kv = true;
        self
    }

    /// Deliver no puts (deletes only).
    pub fn no_put(mut self) -> Watch {
        self.no_put = true;
        self
    }

    /// Deliver no deletes (puts only).
    pub fn no_delete(mut self) -> Watch {
        self.no_delete = true;
        self
    }

    /// The create request for this watch, as `id`, from `revision`.
    pub(super) fn create_request(&self, id: i64, revision: i64) -> pb::WatchRequest {
        use pb::watch_create_request::FilterType;
        let mut filters = Vec::new();
        if self.no_put {
            filters.push(FilterType::Noput as i32);
        }
        if self.no_delete {
            filters.push(FilterType::Nodelete as i32);
        }
        pb::WatchRequest {
            request_union: Some(pb::watch_request::RequestUnion::CreateRequest(
                pb::WatchCreateRequest {
                    key: self.key.clone(),
                    range_end: self.range_end.clone(),
                    start_revision: revision,
                    progress_notify: false,
                    filters,
                    prev_kv: self.prev_kv,
                    watch_id: id,
                    fragment: false,
                },
            )),
        }
    }
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change of a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The key after the change. For a delete: the key, and the delete's
    /// revision as `mod_revision`; the other fields are 0 or empty.
    pub kv: KeyValue,
    /// The key before the change, when asked for with
    /// [`Watch::prev_kv`] and it existed.
    pub prev_kv: Option<KeyValue>,
}

impl Event {
    /// The revision of the change.
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

impl From<mvccpb::Event> for Event {
    fn from(e: mvccpb::Event) -> Event {
        let kind = match mvccpb::event::EventType::try_from(e.r#type) {
            Ok(mvccpb::event::EventType::Delete) => EventKind::Delete,
            _ => EventKind::Put,
        };
        Event {
            kind,
            kv: e.kv.map(KeyValue::from).unwrap_or_default(),
            prev_kv: e.prev_kv.map(KeyValue::from),
        }
    }
}

/// One watch's share of the hub: what it asked for, and what came for it.
pub(super) struct Slot {
    pub(super) id: i64,
    pub(super) watch: Watch,
    /// The revision after the last event its owner took (from creation:
    /// where it started); 0 until created. Read without the lock.
    pub(super) taken: AtomicI64,
    state: Mutex<SlotState>,
    cond: Condvar,
}

/// What the hub delivered to a watch and its owner has not taken yet.
#[derive(Default)]
pub(super) struct SlotState {
    pub(super) events: VecDeque<Event>,
    /// Where the watch goes on from when created again: after its last
    /// event (0: from now, until created).
    pub(super) next_revision: i64,
    /// etcd created it (on some member).
    pub(super) created: bool,
    /// Why it ended, for good: delivered once the events before it are.
    pub(super) end: Option<Error>,
    /// A failure it goes on through (no member reachable), told once.
    pub(super) trouble: Option<Error>,
    /// Its owner cancelled it.
    pub(super) cancelled: bool,
    /// Its last create was refused for its token, and a new token asked.
    pub(super) auth_retried: bool,
}

impl Slot {
    pub(super) fn new(id: i64, watch: Watch) -> Slot {
        let next_revision = watch.start_revision;
        Slot {
            id,
            watch,
            taken: AtomicI64::new(0),
            state: Mutex::new(SlotState {
                next_revision,
                ..SlotState::default()
            }),
            cond: Condvar::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the owner (call after changing the state).
    pub(super) fn notify(&self) {
        self.cond.notify_all();
    }

    /// Marks it cancelled and wakes its owner; whether it was not already.
    fn cancel(&self) -> bool {
        let first = !std::mem::replace(&mut self.lock().cancelled, true);
        self.notify();
        first
    }

    /// Waits until `ready` says the state is worth returning for, or
    /// `deadline` passes.
    fn wait(
        &self,
        deadline: Option<Instant>,
        ready: impl Fn(&SlotState) -> bool,
    ) -> MutexGuard<'_, SlotState> {
        let mut st = self.lock();
        while !ready(&st) {
            match deadline {
                None => st = self.cond.wait(st).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    st = self
                        .cond
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
        st
    }
}

/// A running watch: [`next_event`](Self::next_event) (or iterate) for its
/// changes. Dropping it cancels it on etcd.
///
/// Used by one thread at a time; its [`canceller`](Self::canceller) works
/// from any thread. In a child process after `fork()` it is inert: the
/// watch belongs to the parent (its calls fail, dropping it does nothing).
pub struct Watcher {
    // Not dropped in a forked child (see Drop).
    hub: ManuallyDrop<Arc<Hub>>,
    slot: ManuallyDrop<Arc<Slot>>,
    generation: u64,
    done: bool,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("id", &self.slot.id)
            .field("next_revision", &self.next_revision())
            .finish()
    }
}

/// Cancels a [`Watcher`] from any thread: its blocked
/// [`next_event`](Watcher::next_event) returns [`Error::Cancelled`] at once,
/// and etcd is told to cancel the watch.
#[derive(Clone)]
pub struct WatchCanceller {
    hub: Weak<Hub>,
    slot: Arc<Slot>,
    generation: u64,
}

impl std::fmt::Debug for WatchCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCanceller")
            .field("id", &self.slot.id)
            .finish()
    }
}

impl WatchCanceller {
    /// Cancels the watch (again: nothing).
    pub fn cancel(&self) {
        if self.generation != generation() || !self.slot.cancel() {
            return;
        }
        if let Some(hub) = self.hub.upgrade() {
            hub.remove(&self.slot);
        }
    }
}

impl V3<'_> {
    /// Starts watching: returns once etcd created the watch (so a change
    /// made after it returns is delivered, also one from this thread),
    /// within the client's read timeout, failing over as reads do.
    ///
    /// Errors: `Code::PermissionDenied` (as [`Error::Grpc`]) without read
    /// access; (a `start_revision` etcd compacted is reported by the first
    /// [`Watcher::next_event`], as [`Error::Compacted`]: etcd creates the
    /// watch, then ends it);
    /// connection errors when no member could create it in time;
    /// `InvalidArgument` for a negative start revision.
    pub fn watch(&self, watch: &Watch) -> Result<Watcher> {
        if watch.start_revision < 0 {
            return Err(Error::InvalidArgument(format!(
                "a watch starts at a revision of 0 or more, not {}",
                watch.start_revision
            )));
        }
        let hub = Hub::of(self.client)?;
        let slot = hub.add(watch.clone());
        let deadline = Instant::now() + hub.read_timeout();
        let st = slot.wait(Some(deadline), |st| {
            st.created || st.end.is_some() || st.trouble.is_some()
        });
        let failed = if st.created {
            None
        } else {
            Some(
                st.end
                    .clone()
                    .or_else(|| st.trouble.clone())
                    .unwrap_or_else(|| Error::Timeout {
                        endpoint: hub.endpoint(),
                    }),
            )
        };
        drop(st);
        if let Some(e) = failed {
            slot.cancel();
            hub.remove(&slot);
            return Err(e);
        }
        Ok(Watcher {
            hub: ManuallyDrop::new(hub),
            slot: ManuallyDrop::new(slot),
            generation: generation(),
            done: false,
        })
    }
}

impl Watcher {
    /// The next change, waiting at most `timeout` (`None`: no limit).
    ///
    /// Errors: [`Error::WatchTimeout`] (the watch goes on: call again);
    /// [`Error::Cancelled`] once cancelled; [`Error::Compacted`] when it
    /// must resume from a compacted revision (final: see the module doc);
    /// etcd's refusal when it ended the watch itself (final); a connection
    /// error when every member failed twice in a row, and again after each
    /// round that fails (the watch goes on trying, half a second between
    /// rounds: call again).
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Event> {
        self.check()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.slot.wait(deadline, |st| {
            !st.events.is_empty() || st.cancelled || st.end.is_some() || st.trouble.is_some()
        });
        if st.cancelled {
            return Err(Error::Cancelled);
        }
        if let Some(event) = st.events.pop_front() {
            self.slot
                .taken
                .store(event.revision() + 1, Ordering::Relaxed);
            return Ok(event);
        }
        if let Some(e) = st.end.clone() {
            return Err(e);
        }
        if let Some(e) = st.trouble.take() {
            return Err(e);
        }
        Err(Error::WatchTimeout(timeout.unwrap_or_default()))
    }

    /// Where a new watch would go on from, to get what this one has not
    /// given yet: the revision after the last event
    /// [`next_event`](Self::next_event) returned (before any, where it
    /// started: its start revision, or the revision after the store's when
    /// it was created). The events of one txn share a revision: take them
    /// all before resuming from here. Any thread may read it.
    pub fn next_revision(&self) -> i64 {
        self.slot.taken.load(Ordering::Relaxed)
    }

    /// The watch id etcd knows it by (on its current stream).
    pub fn id(&self) -> i64 {
        self.slot.id
    }

    /// A handle that cancels this watch from any thread.
    pub fn canceller(&self) -> WatchCanceller {
        WatchCanceller {
            hub: Arc::downgrade(&*self.hub),
            slot: Arc::clone(&*self.slot),
            generation: self.generation,
        }
    }

    /// Cancels the watch: etcd stops it, and the next (or a blocked)
    /// [`next_event`](Self::next_event) returns [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.canceller().cancel();
    }

    fn check(&self) -> Result<()> {
        if self.generation != generation() {
            return Err(Error::InvalidArgument(
                "this watch belongs to the process that made it, before fork()".into(),
            ));
        }
        Ok(())
    }
}

/// Every change until the watch ends: an error ends the iteration after it
/// is given (a cancel ends it at once). A [`Error::WatchTimeout`] never
/// comes (it waits without limit); a connection error is given and the
/// iteration goes on.
impl Iterator for Watcher {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        if self.done {
            return None;
        }
        match self.next_event(None) {
            Ok(event) => Some(Ok(event)),
            Err(Error::Cancelled) => {
                self.done = true;
                None
            }
            Err(e @ (Error::Connection { .. } | Error::Timeout { .. })) => Some(Err(e)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if self.generation != generation() {
            // The parent's: its locks may be held by a thread that is not
            // here. Leaked, untouched.
            return;
        }
        self.slot.cancel();
        self.hub.remove(&self.slot);
        // SAFETY: dropped once, here, and not used after.
        unsafe {
            ManuallyDrop::drop(&mut self.hub);
            ManuallyDrop::drop(&mut self.slot);
        }
    }
}
