//! The one Watch stream a client's watches share, and the thread that
//! reads it: [`Hub`].
//!
//! A hub belongs to a client (one per fork generation), made by its first
//! watch and ended when its last watcher is dropped: its thread
//! (`etcdc-watch`) is then stopped and joined. The hub has a transport of
//! its own (the client's endpoints and cluster view, its own connections):
//! a stream that etcd has stopped reading never holds the client's calls
//! back, and stopping the hub closes only its own connections.
//!
//! The thread opens a Watch stream on the client's current member, creates
//! every watch on it (each with its own id, chosen here, from its next
//! revision), and hands each answer to its watch. Callers create and
//! cancel watches by sending on the same stream from their own threads
//! (under the hub's lock, so requests go out in order, and answers to
//! creates come back in the same order). When the stream fails, the thread
//! moves on to the next member and does it all again; see [`super::watch`]
//! for what counts as failing.
//!
//! Lock order: the hub's state, then a slot's.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message;

use super::proto::etcdserverpb as pb;
use super::proto::methods;
use super::watch::{Event, Slot, Watch, ANSWER, IDLE};
use super::{Code, V3};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::connection::generation;
use crate::transport::grpc::{GrpcSender, GrpcStream};
use crate::transport::http2::{CallError, CancelToken, Reason};

/// How long the thread waits after every member failed, before it tries
/// them all again.
const ROUND_PAUSE: Duration = Duration::from_millis(500);

/// A client's watches, their stream and its thread. Owned by the
/// watchers (the client keeps a weak reference to share it).
pub(crate) struct Hub {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The fork generation it was made in.
    generation: u64,
}

/// What the thread and the watchers share.
struct Shared {
    client: Client,
    state: Mutex<HubState>,
    /// Wakes the thread from its pause between rounds (to stop).
    wake: Condvar,
}

#[derive(Default)]
struct HubState {
    slots: BTreeMap<i64, Arc<Slot>>,
    next_id: i64,
    /// The stream the thread reads now, if any.
    live: Option<Live>,
    /// The endpoint the thread uses (or tries) now.
    endpoint: String,
    stopping: bool,
}

/// The stream in use: how to send on it and cancel it, and the watches
/// whose create requests were sent and not answered yet, in order.
struct Live {
    sender: GrpcSender,
    cancel: CancelToken,
    pending: VecDeque<i64>,
    /// A send failed: the stream is being abandoned.
    failed: bool,
}

impl Live {
    /// Sends `request`; a failure abandons the stream (the thread then
    /// moves on and creates every watch again).
    fn send(&mut self, request: &pb::WatchRequest) {
        if self.failed {
            return;
        }
        if self.sender.send_now(&request.encode_to_vec()).is_err() {
            self.failed = true;
            self.cancel.cancel();
        }
    }

    fn create(&mut self, slot: &Slot) {
        let from = slot.lock().next_revision;
        self.send(&slot.watch.create_request(slot.id, from));
        self.pending.push_back(slot.id);
    }
}

/// Why the thread stopped reading a stream.
enum Outcome {
    Stopped,
    /// etcd refused the token: authenticate again, same member.
    TokenRefused,
    /// The member failed (or fell silent): the next member. `worked`: the
    /// stream had worked (a message came) before it failed.
    Failed {
        error: Error,
        worked: bool,
    },
}

impl Outcome {
    fn failed(error: Error) -> Outcome {
        Outcome::Failed {
            error,
            worked: false,
        }
    }
}

impl Hub {
    /// The client's hub, made (and its thread started) if it has none.
    pub(super) fn of(client: &Client) -> Result<Arc<Hub>> {
        let mut slot = client
            .watch_hub
            .current()
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(hub) = slot.upgrade() {
            return Ok(hub);
        }
        let now = generation();
        let shared = Arc::new(Shared {
            client: client.background(),
            state: Mutex::new(HubState {
                next_id: 1,
                endpoint: client.transport.endpoints().remove(0),
                ..HubState::default()
            }),
            wake: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("etcdc-watch".into())
                .stack_size(256 * 1024)
                .spawn(move || run(&shared))
                .map_err(|e| Error::Protocol(format!("cannot start the watch thread: {e}")))?
        };
        let hub = Arc::new(Hub {
            shared,
            thread: Some(thread),
            generation: now,
        });
        *slot = Arc::downgrade(&hub);
        Ok(hub)
    }

    /// Adds a watch, and creates it on the stream if there is one (else
    /// the thread creates it when it has one).
    pub(super) fn add(&self, watch: Watch) -> Arc<Slot> {
        let mut st = self.shared.lock();
        let id = st.next_id;
        st.next_id += 1;
        let slot = Arc::new(Slot::new(id, watch));
        st.slots.insert(id, slot.clone());
        if let Some(live) = st.live.as_mut() {
            live.create(&slot);
        }
        slot
    }

    /// Removes a watch and cancels it on etcd.
    pub(super) fn remove(&self, slot: &Slot) {
        let mut st = self.shared.lock();
        if st.slots.remove(&slot.id).is_none() {
            return;
        }
        if let Some(live) = st.live.as_mut() {
            live.send(&pb::WatchRequest {
                request_union: Some(pb::watch_request::RequestUnion::CancelRequest(
                    pb::WatchCancelRequest { watch_id: slot.id },
                )),
            });
        }
    }

    pub(super) fn read_timeout(&self) -> Duration {
        self.shared.client.transport.read_timeout()
    }

    /// The member the hub uses (or tries) now.
    pub(super) fn endpoint(&self) -> String {
        self.shared.lock().endpoint.clone()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if generation() != self.generation {
            return;
        }
        {
            let mut st = self.shared.lock();
            st.stopping = true;
            if let Some(live) = &st.live {
                live.cancel.cancel();
            }
        }
        self.shared.wake.notify_all();
        // Interrupts a connect or a stream open in progress.
        self.shared.client.transport.shutdown_handle().shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn v3(&self) -> V3<'_> {
        self.client.v3()
    }

    /// Pauses (between rounds of members); whether the hub is stopping.
    fn pause(&self, pause: Duration) -> bool {
        let st = self.lock();
        if st.stopping {
            return true;
        }
        let st = self
            .wake
            .wait_timeout(st, pause)
            .unwrap_or_else(|p| p.into_inner())
            .0;
        st.stopping
    }

    /// Tells every watch a member round failed with `error` (each says it
    /// once; cleared when a stream works again).
    fn trouble(&self, error: &Error) {
        let st = self.lock();
        for slot in st.slots.values() {
            slot.lock().trouble = Some(error.clone());
            slot.notify();
        }
    }
}

/// The thread: one stream after another until the hub stops.
fn run(shared: &Shared) {
    let transport = &shared.client.transport;
    let mut index = transport.current_index();
    let mut failed_in_row = 0usize;
    let mut renew_token = false;
    loop {
        let endpoints = transport.endpoint_list();
        let endpoint = endpoints[index % endpoints.len()].clone();
        shared.lock().endpoint = endpoint.clone();
        let outcome = match shared.v3().stream_token(renew_token) {
            Ok(token) => serve(shared, &endpoint, token.as_deref()),
            Err(e) => Outcome::failed(e),
        };
        let outcome = match outcome {
            // A token just renewed and refused again: not the token.
            Outcome::TokenRefused if renew_token => Outcome::failed(Error::Grpc {
                code: Code::Unauthenticated,
                message: "etcd refused a new auth token for the watch stream".into(),
                endpoint: endpoint.clone(),
            }),
            other => other,
        };
        renew_token = false;
        match outcome {
            Outcome::Stopped => return,
            Outcome::TokenRefused => renew_token = true,
            Outcome::Failed { error: e, worked } => {
                if shared.lock().stopping {
                    return;
                }
                let next = (index + 1) % endpoints.len();
                transport.moved_on(index % endpoints.len(), next);
                index = next;
                // Rounds of members that could not serve the watches: the
                // watches hear of the second in a row (one failed attempt
                // is often a connection cut while being made again).
                failed_in_row = if worked { 0 } else { failed_in_row + 1 };
                if failed_in_row > 0 && failed_in_row % endpoints.len() == 0 {
                    if failed_in_row >= 2 * endpoints.len() {
                        shared.trouble(&e);
                    }
                    if shared.pause(ROUND_PAUSE) {
                        return;
                    }
                }
                continue;
            }
        }
        failed_in_row = 0;
    }
}

/// Opens a stream on `endpoint`, creates every watch on it, and reads it
/// until it fails or the hub stops.
fn serve(shared: &Shared, endpoint: &str, token: Option<&str>) -> Outcome {
    let transport = &shared.client.transport;
    let deadline = Instant::now() + transport.connect_timeout() + ANSWER;
    let mut stream =
        match transport.open_stream(endpoint, methods::WATCH_WATCH.path, token, Some(deadline)) {
            Ok(stream) => stream,
            Err(e) => return Outcome::failed(e),
        };
    {
        let mut st = shared.lock();
        if st.stopping {
            return Outcome::Stopped;
        }
        let mut live = Live {
            sender: stream.sender(),
            cancel: stream.canceller(),
            pending: VecDeque::new(),
            failed: false,
        };
        for slot in st.slots.values() {
            live.create(slot);
        }
        st.live = Some(live);
    }
    let outcome = read(shared, endpoint, &mut stream);
    let mut st = shared.lock();
    st.live = None;
    if st.stopping {
        return Outcome::Stopped;
    }
    outcome
}

/// Reads the stream: answers to their watches, and a progress request
/// after [`IDLE`] of silence, which the member must answer (anything will
/// do) within [`ANSWER`].
fn read(shared: &Shared, endpoint: &str, stream: &mut GrpcStream) -> Outcome {
    let transport = &shared.client.transport;
    let mut heard = Instant::now();
    let mut asked: Option<Instant> = None;
    let mut cleared = false;
    loop {
        let wait_until = match asked {
            None => heard + IDLE,
            Some(at) => at + ANSWER,
        };
        let message = match stream.recv(Some(wait_until)) {
            Ok(Some(message)) => message,
            Ok(None) => {
                return Outcome::Failed {
                    error: Error::Connection {
                        endpoint: endpoint.to_owned(),
                        reason: "the member ended the watch stream".into(),
                    },
                    worked: cleared,
                }
            }
            Err(CallError::MaybeSent(Reason::Timeout)) => {
                if asked.is_some() {
                    return Outcome::Failed {
                        error: Error::Timeout {
                            endpoint: endpoint.to_owned(),
                        },
                        worked: cleared,
                    };
                }
                asked = Some(Instant::now());
                let mut st = shared.lock();
                if let Some(live) = st.live.as_mut() {
                    live.send(&pb::WatchRequest {
                        request_union: Some(pb::watch_request::RequestUnion::ProgressRequest(
                            pb::WatchProgressRequest {},
                        )),
                    });
                }
                continue;
            }
            Err(e) => {
                let e = transport.stream_error(e, endpoint);
                if token_refused_status(&e) {
                    return Outcome::TokenRefused;
                }
                return Outcome::Failed {
                    error: e,
                    worked: cleared,
                };
            }
        };
        heard = Instant::now();
        asked = None;
        if let Err(e) = transport.check_stream_message(endpoint, &message) {
            return Outcome::failed(e);
        }
        let answer = match pb::WatchResponse::decode(&message[..]) {
            Ok(answer) => answer,
            Err(e) => {
                return Outcome::failed(Error::Protocol(format!(
                    "a watch answer etcd sent cannot be read: {e}"
                )))
            }
        };
        if !cleared {
            // The stream works: what went wrong before is over.
            cleared = true;
            for slot in shared.lock().slots.values() {
                slot.lock().trouble = None;
            }
        }
        if let Some(outcome) = dispatch(shared, endpoint, answer) {
            return outcome;
        }
    }
}

/// Hands one answer to its watch; `Some` when the stream must be left.
fn dispatch(shared: &Shared, endpoint: &str, answer: pb::WatchResponse) -> Option<Outcome> {
    let revision = answer.header.as_ref().map_or(0, |h| h.revision);
    let mut st = shared.lock();
    if answer.created {
        // Answers to creates come in the order they were sent (etcd 3.4
        // answers a refused one with id -1).
        let id = st.live.as_mut().and_then(|l| l.pending.pop_front());
        let id = if answer.watch_id >= 0 {
            answer.watch_id
        } else {
            id?
        };
        let slot = st.slots.get(&id)?.clone();
        if answer.canceled {
            // Refused for the token, or maybe: a new token and stream,
            // once per watch (a second refusal is for the user).
            let reason = &answer.cancel_reason;
            if shared.client.credentials.is_some()
                && (auth_refused(reason) || auth_suspect(reason))
                && !std::mem::replace(&mut slot.lock().auth_retried, true)
            {
                return Some(Outcome::TokenRefused);
            }
            st.slots.remove(&id);
            drop(st);
            end(&slot, ended(endpoint, &answer));
            return None;
        }
        drop(st);
        let mut s = slot.lock();
        s.created = true;
        s.auth_retried = false;
        if s.next_revision == 0 {
            s.next_revision = revision + 1;
        }
        if slot.taken.load(Ordering::Relaxed) == 0 {
            slot.taken.store(s.next_revision, Ordering::Relaxed);
        }
        drop(s);
        slot.notify();
        return None;
    }
    let slot = st.slots.get(&answer.watch_id)?.clone();
    if answer.canceled {
        st.slots.remove(&answer.watch_id);
        drop(st);
        end(&slot, ended(endpoint, &answer));
        return None;
    }
    drop(st);
    if answer.events.is_empty() {
        return None;
    }
    let mut s = slot.lock();
    let from = s.next_revision;
    let mut last = from;
    for event in answer.events {
        let event = Event::from(event);
        // Never twice: a resumed watch starts at `next_revision`.
        if event.revision() >= from {
            last = last.max(event.revision() + 1);
            s.events.push_back(event);
        }
    }
    s.next_revision = last;
    drop(s);
    slot.notify();
    None
}

fn end(slot: &Slot, error: Error) {
    let mut s = slot.lock();
    if s.end.is_none() {
        s.end = Some(error);
    }
    drop(s);
    slot.notify();
}

/// Why etcd ended (or refused) a watch.
fn ended(endpoint: &str, answer: &pb::WatchResponse) -> Error {
    if answer.compact_revision > 0 {
        return Error::Compacted {
            revision: answer.compact_revision,
        };
    }
    let (code, message) = parse_reason(&answer.cancel_reason);
    Error::Grpc {
        code,
        message,
        endpoint: endpoint.to_owned(),
    }
}

/// etcd's cancel reason, `rpc error: code = PermissionDenied desc =
/// etcdserver: permission denied`, as a code and a message.
fn parse_reason(reason: &str) -> (Code, String) {
    let Some(rest) = reason.strip_prefix("rpc error: code = ") else {
        let message = if reason.is_empty() {
            "etcd cancelled the watch".to_owned()
        } else {
            reason.to_owned()
        };
        return (Code::Unknown, message);
    };
    let (name, message) = rest.split_once(" desc = ").unwrap_or((rest, ""));
    let squash = |s: &str| s.replace('_', "").to_ascii_lowercase();
    let code = (0..17)
        .map(Code::from_u32)
        .find(|c| squash(c.name()) == squash(name))
        .unwrap_or(Code::Unknown);
    (code, message.to_owned())
}

/// A create refused for its token (expired, or older than an auth change).
fn auth_refused(reason: &str) -> bool {
    reason.contains("invalid auth token")
        || reason.contains("revision of auth store is old")
        || reason.contains("auth: revision in header is old")
        || reason.contains("user name is empty")
}

/// A create refused in a way an expired token also explains: etcd 3.5
/// before 3.5.6 answers a watch made with an expired token "permission
/// denied". Worth one new token (and stream), not two.
fn auth_suspect(reason: &str) -> bool {
    reason.contains("permission denied")
}

fn token_refused_status(e: &Error) -> bool {
    matches!(
        e,
        Error::Grpc {
            code: Code::Unauthenticated,
            ..
        }
    ) || matches!(e, Error::Grpc { message, .. } if auth_refused(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_reasons_are_read_as_grpc_statuses() {
        assert_eq!(
            parse_reason("rpc error: code = PermissionDenied desc = etcdserver: permission denied"),
            (
                Code::PermissionDenied,
                "etcdserver: permission denied".into()
            )
        );
        assert_eq!(
            parse_reason("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token")
                .0,
            Code::Unauthenticated
        );
        assert_eq!(
            parse_reason("something else"),
            (Code::Unknown, "something else".into())
        );
        assert_eq!(parse_reason("").1, "etcd cancelled the watch");
        assert!(auth_refused(
            "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"
        ));
        assert!(!auth_refused(
            "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
        ));
    }
}
