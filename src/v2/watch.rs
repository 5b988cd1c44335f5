//! Watches: one-shot long polls ([`Client::watch`]) and endless watchers
//! ([`Watcher`]) that deliver every change in order, exactly once.

use std::time::{Duration, Instant};

use ureq::http::Method;

use crate::cancel::Canceller;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::http1::Head;
use crate::transport::{InFlight, Limit, Payload, Transport};
use crate::v2::keys::{key_path, Query};
use crate::v2::node::Response;
use crate::v2::reply::{etcd_index, into_success};

/// Consecutive failed polls (connection refused or dropped) a watch retries
/// before it reports the failure.
const MAX_RETRIES: u32 = 4;
/// Pause before the first retry; doubled for each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// How often a pause checks for cancellation.
const CANCEL_POLL: Duration = Duration::from_millis(10);
/// Longest pause between polls that keep ending without an event.
const MAX_EMPTY_BACKOFF: Duration = Duration::from_secs(1);

/// Sleeps until `at`, but not past `deadline`, and wakes within
/// `CANCEL_POLL` of a cancellation.
fn pause_until(at: Instant, deadline: Option<Instant>, is_cancelled: &dyn Fn() -> bool) {
    let until = deadline.map_or(at, |d| d.min(at));
    while Instant::now() < until && !is_cancelled() {
        std::thread::sleep(CANCEL_POLL.min(until.saturating_duration_since(Instant::now())));
    }
}

/// What a watch keeps from one call to the next: the poll in flight, and
/// the pacing of the next one. A watcher keeps it for its whole life, so
/// that a timeout, however short, returns while the poll goes on, and the
/// backoffs hold however the caller slices its waits; a one-shot watch has
/// one for its call.
#[derive(Debug, Default)]
struct Polling {
    /// The poll sent and not yet answered when a wait ran out.
    in_flight: Option<InFlight>,
    /// Polls in a row that failed (connection refused or dropped).
    failures: u32,
    /// Polls in a row that etcd ended without an event.
    empty: u32,
    /// No new poll before this (a backoff).
    not_before: Option<Instant>,
}

/// Options of [`Client::watch`] and [`Client::watcher`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchOptions {
    /// Watch the whole subtree of a directory, not only the key itself.
    pub recursive: bool,
    /// Start from this etcd index: the first change at or after it (which
    /// may be in the past, within etcd's history of about 1,000 events).
    /// `None`: the next change from now.
    pub wait_index: Option<u64>,
    /// Give up with [`Error::WatchTimeout`] when no change comes within this
    /// long. `None`: wait as long as it takes (the client's read timeout does
    /// not apply to watches). Zero: do not wait (see [`Client::watch`] and
    /// [`Watcher::next_event`]).
    pub timeout: Option<Duration>,
}

impl Client {
    /// Waits for the next change of `key` (python-etcd's `watch`, or `read`
    /// with `wait=True`) and returns it as etcd's event: action, node after
    /// the change, previous node.
    ///
    /// A dropped connection is re-established and the poll resumed (up to a
    /// few times in a row). To be cancellable from another thread, use a
    /// [`Watcher`].
    ///
    /// It keeps nothing between calls: its poll ends with the call. So a
    /// zero `timeout` returns [`Error::WatchTimeout`] at once without
    /// contacting etcd; a [`Watcher`] is how to poll without waiting.
    ///
    /// Errors: [`Error::WatchTimeout`]; [`Error::EventIndexCleared`] when
    /// `wait_index` is older than etcd's history (its `index` is etcd's
    /// current index); [`Error::InvalidArgument`]; connection errors once the
    /// retries are spent.
    pub fn watch(&self, key: &str, opts: &WatchOptions) -> Result<Response> {
        let path = key_path(key)?;
        let watch = Watch {
            transport: &self.transport,
            path: &path,
            recursive: opts.recursive,
            cancelled: None,
        };
        watch.poll(opts.timeout, &mut opts.wait_index.clone(), None)
    }

    /// An endless watcher of `key` (of its subtree with `recursive`), from
    /// `wait_index` or from now. It has a connection of its own and sends
    /// nothing until the first [`Watcher::next_event`].
    pub fn watcher(&self, key: &str, opts: &WatchOptions) -> Result<Watcher> {
        let path = key_path(key)?;
        let transport = self.transport.fork();
        let canceller = Canceller::with_shutdown(transport.shutdown_handle());
        Ok(Watcher {
            transport,
            path,
            next_index: opts.wait_index,
            opts: opts.clone(),
            canceller,
            fused: false,
            polling: Polling::default(),
        })
    }
}

/// Delivers every change under a key, in order, exactly once: each poll
/// resumes at the last event's modified index + 1, also across dropped
/// connections and polls etcd ends without an event.
///
/// If the watcher falls more than etcd's history (about 1,000 events) behind,
/// etcd can no longer say what it missed: [`Watcher::next_event`] reports
/// [`Error::EventIndexCleared`] instead of silently skipping ahead. To go on,
/// re-read what you watch (`read` with `recursive`) and call
/// [`Watcher::resume_from`] with that read's `headers.etcd_index + 1`.
///
/// As an [`Iterator`] it yields events with the timeout of its options; it
/// ends when cancelled, and after any error other than
/// [`Error::WatchTimeout`] (so that a loop ignoring errors cannot spin),
/// until `resume_from` is called.
///
/// Its poll outlives a timeout: [`Watcher::next_event`] returns
/// [`Error::WatchTimeout`] while the poll goes on, on the same connection,
/// and the next call takes it up where it was. So a watcher called again
/// and again with any timeout, however short (zero included), delivers
/// every event, in order, exactly once, over one connection.
///
/// Threads: used by one thread at a time; its [`Canceller`] may be used from
/// any thread.
#[derive(Debug)]
pub struct Watcher {
    transport: Transport,
    path: String,
    opts: WatchOptions,
    next_index: Option<u64>,
    canceller: Canceller,
    fused: bool,
    polling: Polling,
}

impl Watcher {
    /// Waits for the next event, at most `timeout` (`None`: as long as it
    /// takes). `Some(Duration::ZERO)` does not wait: it delivers an answer
    /// that has already come, and otherwise returns [`Error::WatchTimeout`]
    /// (sending the poll first if none is in flight: connecting and sending
    /// are bounded by the client's connect and read timeouts, not by
    /// `timeout`). Errors as [`Client::watch`], plus [`Error::Cancelled`]
    /// once the watcher is cancelled (promptly, even while blocked).
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Response> {
        let watch = Watch {
            transport: &self.transport,
            path: &self.path,
            recursive: self.opts.recursive,
            cancelled: Some(&self.canceller),
        };
        let event = watch.poll(timeout, &mut self.next_index, Some(&mut self.polling))?;
        self.next_index = Some(event.node.modified_index + 1);
        Ok(event)
    }

    /// The etcd index the next poll starts from (`None`: from now, before
    /// the first poll reached etcd).
    pub fn next_index(&self) -> Option<u64> {
        self.next_index
    }

    /// Goes on from etcd index `index`: after [`Error::EventIndexCleared`]
    /// and a fresh read, `read.headers.etcd_index + 1`.
    pub fn resume_from(&mut self, index: u64) {
        self.next_index = Some(index);
        self.fused = false;
        // A poll in flight is from the old index: dropped.
        self.polling = Polling::default();
    }

    /// A handle that cancels this watcher from any thread.
    pub fn canceller(&self) -> Canceller {
        self.canceller.clone()
    }
}

impl Iterator for Watcher {
    type Item = Result<Response>;

    fn next(&mut self) -> Option<Result<Response>> {
        if self.fused || self.canceller.is_cancelled() {
            return None;
        }
        match self.next_event(self.opts.timeout) {
            Err(Error::Cancelled) => None,
            Err(e) => {
                self.fused = !matches!(e, Error::WatchTimeout(_));
                Some(Err(e))
            }
            ok => ok.into(),
        }
    }
}

/// One watch's request: what to poll, through which transport, and how to
/// tell it was cancelled.
struct Watch<'a> {
    transport: &'a Transport,
    path: &'a str,
    recursive: bool,
    cancelled: Option<&'a Canceller>,
}

impl Watch<'_> {
    /// Long-polls from `wait_index` until an event, `timeout`,
    /// cancellation, or an error that polling again can't fix. Dropped
    /// connections and polls that etcd ends without an event are polled
    /// again (the former at most `MAX_RETRIES` times in a row, with a
    /// backoff).
    ///
    /// With `polling` (a watcher's), a poll still unanswered at the timeout
    /// is kept in flight there, and the next call takes it up; so are the
    /// backoffs. Without, the poll ends with the call, and a zero timeout
    /// returns at once.
    ///
    /// A poll "from now" (`wait_index` None) becomes a poll from the index
    /// etcd registered it at: etcd sends the response head, with that index
    /// in `X-Etcd-Index`, as soon as the watch starts, and `wait_index` is
    /// set to that index plus one there and then. So whatever ends the poll
    /// before an event (timeout, dropped connection), the next one misses
    /// nothing that came after "now".
    fn poll(
        &self,
        timeout: Option<Duration>,
        wait_index: &mut Option<u64>,
        polling: Option<&mut Polling>,
    ) -> Result<Response> {
        let is_cancelled = || self.cancelled.is_some_and(Canceller::is_cancelled);
        let deadline = timeout.map(|t| Instant::now() + t);
        let timed_out = || Error::WatchTimeout(timeout.unwrap_or_default());
        let resumable = polling.is_some();
        let mut one_call = Polling::default();
        let polling = polling.unwrap_or(&mut one_call);
        loop {
            if is_cancelled() {
                return Err(Error::Cancelled);
            }
            if let Some(at) = polling.not_before {
                pause_until(at, deadline, &is_cancelled);
                if is_cancelled() {
                    return Err(Error::Cancelled);
                }
                if Instant::now() < at {
                    return Err(timed_out());
                }
                polling.not_before = None;
            }
            let limit = match deadline {
                None => Limit::Unlimited,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() && !resumable {
                        return Err(timed_out());
                    }
                    Limit::Within(left)
                }
            };
            let mut target = self.transport.api_path(self.path);
            let mut query = Query::new(&mut target);
            query.flag("wait", true);
            query.flag("recursive", self.recursive);
            if let Some(index) = *wait_index {
                query.add("waitIndex", &index.to_string());
            }
            let mut on_head = |head: &Head| {
                if head.status == 200 && wait_index.is_none() {
                    *wait_index = etcd_index(&head.fields).map(|i| i + 1);
                }
            };
            let outcome = if resumable {
                self.transport.request_resumable(
                    &target,
                    limit,
                    &mut on_head,
                    &mut polling.in_flight,
                )
            } else {
                let get = Method::GET;
                let reply =
                    self.transport
                        .request_with(get, &target, Payload::Empty, limit, &mut on_head);
                reply.map(Some)
            };
            match outcome.and_then(|reply| reply.map(into_success).transpose()) {
                // The poll goes on (kept in `polling`).
                Ok(None) => return Err(timed_out()),
                Ok(Some(answer)) if answer.body.iter().all(u8::is_ascii_whitespace) => {
                    // The poll ended without an event: poll again, after a
                    // pause that grows if it keeps happening (a server that
                    // answers every poll at once must not make the watch
                    // spin).
                    polling.failures = 0;
                    polling.empty += 1;
                    let pause = FIRST_BACKOFF * 2u32.pow(polling.empty.min(5) - 1);
                    polling.not_before = Some(Instant::now() + pause.min(MAX_EMPTY_BACKOFF));
                }
                Ok(Some(answer)) => {
                    polling.failures = 0;
                    polling.empty = 0;
                    return Response::parse(&answer.body, answer.headers);
                }
                Err(_) if is_cancelled() => return Err(Error::Cancelled),
                Err(Error::Timeout { .. })
                    if !resumable && deadline.is_some_and(|d| Instant::now() >= d) =>
                {
                    return Err(timed_out())
                }
                Err(e @ (Error::Connection { .. } | Error::Timeout { .. })) => {
                    polling.failures += 1;
                    if polling.failures > MAX_RETRIES {
                        // Reported; calling again retries.
                        polling.failures = 0;
                        return Err(e);
                    }
                    let pause = FIRST_BACKOFF * 2u32.pow(polling.failures - 1);
                    polling.not_before = Some(Instant::now() + pause);
                }
                Err(e) => {
                    polling.failures = 0;
                    return Err(e);
                }
            }
        }
    }
}
