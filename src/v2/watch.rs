//! Watches: one-shot long polls ([`Client::watch`]) and endless watchers
//! ([`Watcher`]) that deliver every change in order, exactly once.

use std::time::{Duration, Instant};

use ureq::http::Method;

use crate::cancel::Canceller;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::http1::Head;
use crate::transport::{Limit, Payload, Transport};
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

/// Sleeps `pause`, but not past `deadline`, and wakes within `CANCEL_POLL`
/// of a cancellation.
fn pause_for(pause: Duration, deadline: Option<Instant>, is_cancelled: &dyn Fn() -> bool) {
    let until = Instant::now() + pause;
    let until = deadline.map_or(until, |d| d.min(until));
    while Instant::now() < until && !is_cancelled() {
        std::thread::sleep(CANCEL_POLL.min(until.saturating_duration_since(Instant::now())));
    }
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
    /// not apply to watches).
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
    /// Errors: [`Error::WatchTimeout`]; [`Error::EventIndexCleared`] when
    /// `wait_index` is older than etcd's history (its `index` is etcd's
    /// current index); [`Error::InvalidArgument`]; connection errors once the
    /// retries are spent.
    pub fn watch(&self, key: &str, opts: &WatchOptions) -> Result<Response> {
        let path = key_path(key)?;
        poll(
            &self.transport,
            &path,
            opts,
            &mut opts.wait_index.clone(),
            None,
        )
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
}

impl Watcher {
    /// Waits for the next event, at most `timeout` (`None`: as long as it
    /// takes). Errors as [`Client::watch`], plus [`Error::Cancelled`] once the
    /// watcher is cancelled (promptly, even while blocked).
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Response> {
        let opts = WatchOptions {
            timeout,
            ..self.opts.clone()
        };
        let event = poll(
            &self.transport,
            &self.path,
            &opts,
            &mut self.next_index,
            Some(&self.canceller),
        )?;
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

/// Long-polls `path` from `wait_index` until an event, the deadline,
/// cancellation, or an error that polling again can't fix. Dropped
/// connections and polls that etcd ends without an event are polled again
/// (the former at most `MAX_RETRIES` times in a row, with a backoff).
///
/// A poll "from now" (`wait_index` None) becomes a poll from the index etcd
/// registered it at: etcd sends the response head, with that index in
/// `X-Etcd-Index`, as soon as the watch starts, and `wait_index` is set to
/// that index plus one there and then. So whatever ends the poll before an
/// event (timeout, dropped connection), the next one misses nothing that came
/// after "now".
fn poll(
    transport: &Transport,
    path: &str,
    opts: &WatchOptions,
    wait_index: &mut Option<u64>,
    cancelled: Option<&Canceller>,
) -> Result<Response> {
    let is_cancelled = || cancelled.is_some_and(Canceller::is_cancelled);
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    let timed_out = || Error::WatchTimeout(opts.timeout.unwrap_or_default());
    let mut failures = 0;
    let mut empty = 0;
    loop {
        if is_cancelled() {
            return Err(Error::Cancelled);
        }
        let limit = match deadline {
            None => Limit::Unlimited,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Limit::Within(left),
                _ => return Err(timed_out()),
            },
        };
        let mut target = transport.api_path(path);
        let mut query = Query::new(&mut target);
        query.flag("wait", true);
        query.flag("recursive", opts.recursive);
        if let Some(index) = *wait_index {
            query.add("waitIndex", &index.to_string());
        }
        let mut on_head = |head: &Head| {
            if head.status == 200 && wait_index.is_none() {
                *wait_index = etcd_index(&head.fields).map(|i| i + 1);
            }
        };
        let outcome = transport
            .request_with(Method::GET, &target, Payload::Empty, limit, &mut on_head)
            .and_then(into_success);
        match outcome {
            Ok(answer) if answer.body.iter().all(u8::is_ascii_whitespace) => {
                // The poll ended without an event: poll again, after a pause
                // that grows if it keeps happening (a server that answers
                // every poll at once must not make the watch spin).
                failures = 0;
                empty += 1;
                let pause = FIRST_BACKOFF * 2u32.pow(empty.min(5) - 1);
                pause_for(pause.min(MAX_EMPTY_BACKOFF), deadline, &is_cancelled);
            }
            Ok(answer) => return Response::parse(&answer.body, answer.headers),
            Err(_) if is_cancelled() => return Err(Error::Cancelled),
            Err(Error::Timeout { .. }) if deadline.is_some_and(|d| Instant::now() >= d) => {
                return Err(timed_out())
            }
            Err(e @ (Error::Connection { .. } | Error::Timeout { .. })) => {
                failures += 1;
                if failures > MAX_RETRIES {
                    return Err(e);
                }
                pause_for(
                    FIRST_BACKOFF * 2u32.pow(failures - 1),
                    deadline,
                    &is_cancelled,
                );
            }
            Err(e) => return Err(e),
        }
    }
}
