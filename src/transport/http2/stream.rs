//! A call's stream: opening it (HEADERS and the first DATA in one write),
//! sending the rest within the flow-control windows, taking what the
//! reader thread received, and ending it (RST_STREAM when it did not end
//! cleanly); and [`CancelToken`], which wakes a blocked call from another
//! thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

use super::connection::{H2Connection, Inner, State, StreamState, Waiting, Wakes};
use super::frame;
use super::hpack::{self, Field, Sensitivity};
use super::{CallError, Reason};
use crate::transport::connection::generation;

/// The most DATA queued at once, so that other streams' frames get their
/// turn during a large send.
const SEND_CHUNK: usize = 64 * 1024;

/// Cancels calls from any thread: a call blocked on a stream or waiting
/// for a stream slot returns [`CallError::Cancelled`] within milliseconds,
/// and its stream is reset (RST_STREAM CANCEL), so the server stops work on
/// it. One token may serve many calls, at once or in turn; cancelling is
/// final. Cheap to clone; all clones are one token.
///
/// (The crate's [`Canceller`](crate::Canceller) has no way to wake a
/// waiting thread other than shutting down a transport's sockets, which
/// for a shared HTTP/2 connection would fail every other call on it; this
/// token wakes exactly the calls it was given to.)
#[derive(Clone, Default)]
pub struct CancelToken(Arc<TokenShared>);

#[derive(Default)]
struct TokenShared {
    cancelled: AtomicBool,
    /// The calls to wake: connection and stream id (0: an opener waiting
    /// for a slot on that connection).
    calls: Mutex<Vec<(Weak<Inner>, u32)>>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every call given this token, now and later.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        let calls = std::mem::take(&mut *self.calls());
        for (conn, id) in calls {
            if let Some(inner) = conn.upgrade() {
                inner.cancel_stream(id);
            }
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    fn calls(&self) -> MutexGuard<'_, Vec<(Weak<Inner>, u32)>> {
        self.0.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(&self, inner: &Arc<Inner>, id: u32) {
        self.calls().push((Arc::downgrade(inner), id));
        // A cancel that came before the push found nothing to wake; the
        // caller checks the flag after this under the state lock.
    }

    fn unregister(&self, inner: &Arc<Inner>, id: u32) {
        let target = Arc::as_ptr(inner);
        self.calls()
            .retain(|(c, i)| !(*i == id && std::ptr::eq(c.as_ptr(), target)));
    }
}

impl Inner {
    /// Cancels stream `id` (0: wakes the openers): marks it, wakes its
    /// caller and resets it. Touches nothing in a forked child.
    fn cancel_stream(&self, id: u32) {
        if self.generation != generation() {
            return;
        }
        let mut wakes = Wakes::default();
        let reset = {
            let mut st = self.lock_state();
            if id == 0 {
                if st.openers > 0 {
                    self.opened.notify_all();
                }
                return;
            }
            let closed = st.closed.is_some();
            let Some(s) = st.streams.get_mut(&id) else {
                return;
            };
            s.cancelled = true;
            s.wake(&mut wakes);
            let ended = s.remote_end && s.local_end;
            let reset = !(s.reset_sent || ended || closed);
            s.reset_sent |= reset;
            reset
        };
        wakes.notify();
        if reset {
            let mut out = Vec::with_capacity(13);
            frame::put_rst_stream(&mut out, id, frame::CANCEL);
            let _ = self.write(&out);
        }
    }
}

/// What [`H2Stream::recv`] found: everything received since the last
/// call, in order (headers, data, trailers).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// The response headers (the first block; with `end` and no
    /// trailers, a trailers-only answer).
    pub head: Option<Vec<Field>>,
    pub data: Vec<u8>,
    pub trailers: Option<Vec<Field>>,
    /// The server ended the stream: nothing more will come.
    pub end: bool,
}

/// One stream of a connection, used by one thread at a time (any thread
/// may cancel it through [`canceller`](Self::canceller)). Dropping it
/// before the server ended it resets it.
pub struct H2Stream {
    inner: Arc<Inner>,
    id: u32,
    finished: bool,
    token: Option<CancelToken>,
}

impl std::fmt::Debug for H2Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Stream").field("id", &self.id).finish()
    }
}

/// A request header field to send.
pub(crate) type FieldRef<'a> = (&'a [u8], &'a [u8], Sensitivity);

fn wait_until<'a>(
    cond: &Condvar,
    st: MutexGuard<'a, State>,
    deadline: Option<Instant>,
) -> MutexGuard<'a, State> {
    match deadline {
        None => cond.wait(st).unwrap_or_else(|p| p.into_inner()),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            cond.wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0
        }
    }
}

fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Why no new stream can be opened, if so.
fn refusal(st: &State) -> Option<CallError> {
    if let Some(r) = &st.closed {
        return Some(CallError::NotSent(r.clone()));
    }
    if let Some((_, r)) = &st.goaway {
        return Some(CallError::NotSent(r.clone()));
    }
    if st.next_id > frame::MAX_STREAM_ID {
        return Some(CallError::NotSent(Reason::StreamIdsExhausted));
    }
    None
}

impl H2Stream {
    /// Opens a stream: waits (within `deadline`) for a slot under the
    /// server's MAX_CONCURRENT_STREAMS, then sends HEADERS (with
    /// CONTINUATIONs if needed) and as much of `body` as the windows allow,
    /// in one write (with other threads' frames queued meanwhile, or left
    /// to the thread writing: see [`super::connection`]); `end_stream`
    /// ends our side once all of `body` is sent. Returns the stream and how
    /// much of `body` was sent (send the rest with [`send`](Self::send)).
    pub(crate) fn open(
        conn: &H2Connection,
        fields: &[FieldRef<'_>],
        body: &[u8],
        end_stream: bool,
        deadline: Option<Instant>,
        cancel: Option<&CancelToken>,
    ) -> Result<(H2Stream, usize), CallError> {
        let inner = conn.checked()?;
        let list: usize = fields.iter().map(|(n, v, _)| hpack::field_size(n, v)).sum();
        reserve_slot(inner, deadline, cancel)?;
        // The outbox stays locked from the id's choice to the queueing of
        // its HEADERS: streams open in the order of their ids.
        let mut out = inner.lock_outbox();
        let w = &mut *out;
        w.block.clear();
        for (name, value, how) in fields {
            hpack::encode_field(&mut w.block, name, value, *how);
        }
        let (id, sent, max_frame) = {
            let mut st = inner.lock_state();
            let closed = w.closed.then(|| {
                CallError::NotSent(
                    st.closed
                        .clone()
                        .unwrap_or_else(|| Reason::Closed("the connection failed".into())),
                )
            });
            let refused = closed.or_else(|| refusal(&st)).or_else(|| {
                (list > st.peer.max_header_list).then(|| {
                    CallError::Invalid(format!(
                        "request headers of {list} bytes, over the server's limit of {}",
                        st.peer.max_header_list
                    ))
                })
            });
            if let Some(e) = refused {
                release_slot(inner, &mut st);
                return Err(e);
            }
            let id = st.next_id;
            st.next_id = id.saturating_add(2);
            let mut s = StreamState::new(st.peer.initial_window, inner.config.stream_window);
            let sent = body
                .len()
                .min(s.send.available())
                .min(st.conn_send.available())
                .min(SEND_CHUNK);
            s.send.spend(sent);
            st.conn_send.spend(sent);
            s.local_end = end_stream && sent == body.len();
            st.streams.insert(id, s);
            (id, sent, st.peer.max_frame)
        };
        let mut stream = H2Stream {
            inner: inner.clone(),
            id,
            finished: false,
            token: None,
        };
        if let Some(t) = cancel {
            t.register(inner, id);
            stream.token = Some(t.clone());
        }
        w.queued_id = id;
        frame::put_headers(
            &mut w.buf,
            id,
            &w.block,
            end_stream && body.is_empty(),
            max_frame,
        );
        put_data(
            &mut w.buf,
            id,
            &body[..sent],
            max_frame,
            end_stream && sent == body.len() && sent > 0,
        );
        inner.flush(out).map_err(CallError::MaybeSent)?;
        Ok((stream, sent))
    }

    /// Sends `data` (waiting within `deadline` for the windows to allow
    /// it); `end_stream` ends our side after it (with empty `data`: just
    /// that). If the server ended the stream meanwhile, the rest is
    /// dropped: its answer says why.
    pub(crate) fn send(
        &mut self,
        data: &[u8],
        end_stream: bool,
        deadline: Option<Instant>,
    ) -> Result<(), CallError> {
        self.check()?;
        let mut at = 0;
        loop {
            let (n, max_frame, last) = {
                let mut st = self.inner.lock_state();
                loop {
                    let conn_room = st.conn_send.available();
                    let max_frame = st.peer.max_frame;
                    let cancelled = self.token.as_ref().is_some_and(CancelToken::is_cancelled);
                    let s = self.state(&mut st)?;
                    if let Some(e) = &s.error {
                        return Err(e.clone());
                    }
                    if s.cancelled || cancelled {
                        return Err(CallError::Cancelled { sent: true });
                    }
                    if s.remote_end || s.local_end || s.reset_sent {
                        return Ok(());
                    }
                    let n = (data.len() - at)
                        .min(s.send.available())
                        .min(conn_room)
                        .min(SEND_CHUNK);
                    let last = at + n == data.len();
                    if n > 0 || (last && end_stream) {
                        s.send.spend(n);
                        s.local_end = last && end_stream;
                        st.conn_send.spend(n);
                        break (n, max_frame, last);
                    }
                    if last {
                        return Ok(());
                    }
                    if passed(deadline) {
                        return Err(CallError::MaybeSent(Reason::Timeout));
                    }
                    s.waiting = Waiting::Send;
                    let cond = s.cond.clone();
                    st = wait_until(&cond, st, deadline);
                    if let Some(s) = st.streams.get_mut(&self.id) {
                        s.waiting = Waiting::No;
                    }
                }
            };
            let mut out = self.inner.lock_outbox();
            let chunk = &data[at..at + n];
            if chunk.is_empty() {
                frame::put_data(&mut out.buf, self.id, &[], true);
            } else {
                put_data(&mut out.buf, self.id, chunk, max_frame, last && end_stream);
            }
            self.inner.flush(out).map_err(CallError::MaybeSent)?;
            at += n;
            if last {
                return Ok(());
            }
        }
    }

    /// Waits (within `deadline`) until something was received, and takes
    /// all of it. After `end`, returns `end` again at once. A stream that
    /// failed (reset, connection lost, deadline, cancelled) returns its
    /// error once what was received before is taken.
    pub(crate) fn recv(&mut self, deadline: Option<Instant>) -> Result<Event, CallError> {
        self.check()?;
        let mut st = self.inner.lock_state();
        let (event, update) = loop {
            let cancelled = self.token.as_ref().is_some_and(CancelToken::is_cancelled);
            let s = self.state(&mut st)?;
            let mut event = Event {
                head: s.head.take(),
                data: std::mem::take(&mut s.data),
                trailers: s.trailers.take(),
                end: s.remote_end,
            };
            if event.head.is_some()
                || !event.data.is_empty()
                || event.trailers.is_some()
                || event.end
            {
                let update = match event.data.len() {
                    0 => None,
                    _ if s.remote_end => None,
                    n => s.recv.release(n as u32),
                };
                // Everything in one piece: the data and what came after.
                event.end = s.remote_end;
                break (event, update);
            }
            if let Some(e) = &s.error {
                return Err(e.clone());
            }
            if s.cancelled || cancelled {
                return Err(CallError::Cancelled { sent: true });
            }
            if passed(deadline) || std::mem::take(&mut s.nudged) {
                return Err(CallError::MaybeSent(Reason::Timeout));
            }
            s.waiting = Waiting::Recv;
            let cond = s.cond.clone();
            st = wait_until(&cond, st, deadline);
            if let Some(s) = st.streams.get_mut(&self.id) {
                s.waiting = Waiting::No;
            }
        };
        drop(st);
        if let Some(increment) = update {
            let mut out = Vec::with_capacity(13);
            frame::put_window_update(&mut out, self.id, increment);
            // A failure closes the connection; the next recv reports it.
            let _ = self.inner.write(&out);
        }
        Ok(event)
    }

    /// A handle that sends on this stream from any thread, beside the one
    /// reading it (see [`H2Sender`]).
    pub(crate) fn sender(&self) -> H2Sender {
        H2Sender {
            inner: self.inner.clone(),
            id: self.id,
        }
    }

    /// A token that cancels this stream from any thread.
    pub fn canceller(&mut self) -> CancelToken {
        if let Some(t) = &self.token {
            return t.clone();
        }
        let t = CancelToken::new();
        if self.check().is_ok() {
            t.register(&self.inner, self.id);
        }
        self.token = Some(t.clone());
        t
    }

    /// Cancels the stream (RST_STREAM CANCEL unless it ended): a call
    /// blocked on it returns `Cancelled`.
    pub fn cancel(&self) {
        self.inner.cancel_stream(self.id);
    }

    /// Ends the stream: forgets it, frees its slot, and resets it unless
    /// both sides ended it. Done by drop.
    pub(crate) fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) || self.check().is_err() {
            return;
        }
        if let Some(t) = &self.token {
            t.unregister(&self.inner, self.id);
        }
        let reset = {
            let mut st = self.inner.lock_state();
            let Some(s) = st.streams.remove(&self.id) else {
                return;
            };
            release_slot(&self.inner, &mut st);
            let done = s.remote_end && s.local_end;
            (!done && !s.reset_sent && st.closed.is_none()).then_some(if s.remote_end {
                frame::NO_ERROR
            } else {
                frame::CANCEL
            })
        };
        if let Some(code) = reset {
            let mut out = Vec::with_capacity(13);
            frame::put_rst_stream(&mut out, self.id, code);
            let _ = self.inner.write(&out);
        }
    }

    fn check(&self) -> Result<(), CallError> {
        if self.inner.generation != generation() {
            return Err(CallError::NotSent(Reason::Forked));
        }
        Ok(())
    }

    fn state<'a>(&self, st: &'a mut State) -> Result<&'a mut StreamState, CallError> {
        st.streams
            .get_mut(&self.id)
            .ok_or_else(|| CallError::Protocol("stream already finished".into()))
    }
}

impl Drop for H2Stream {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Sends on a stream while another thread reads it (a watch stream: its
/// reader thread waits for answers while callers send requests). It never
/// waits: a message the windows don't have room for at once is refused,
/// which on a stream of small requests means the server stopped reading.
/// Its owner serialises its sends (each is queued whole, in call order).
/// Sending after the stream finished is refused, harmlessly.
#[derive(Clone)]
pub(crate) struct H2Sender {
    inner: Arc<Inner>,
    id: u32,
}

impl std::fmt::Debug for H2Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Sender").field("id", &self.id).finish()
    }
}

impl H2Sender {
    /// Makes the stream's receiver return now, as if its wait had timed
    /// out (`MaybeSent(Timeout)`: the stream goes on), or its next wait
    /// return at once: a reader thread that also sends, told of something
    /// new to send.
    pub(crate) fn nudge(&self) {
        if self.inner.generation != generation() {
            return;
        }
        let mut wakes = Wakes::default();
        let mut st = self.inner.lock_state();
        if let Some(s) = st.streams.get_mut(&self.id) {
            s.nudged = true;
            s.wake(&mut wakes);
        }
        drop(st);
        wakes.notify();
    }

    /// Queues `data` as DATA frames now, or fails: `NotSent` when the
    /// stream ended, failed, or the windows are short of `data`.
    pub(crate) fn send_now(&self, data: &[u8]) -> Result<(), CallError> {
        if self.inner.generation != generation() {
            return Err(CallError::NotSent(Reason::Forked));
        }
        let refused = |why: &str| CallError::NotSent(Reason::Abandoned(why.into()));
        let max_frame = {
            let mut st = self.inner.lock_state();
            let conn_room = st.conn_send.available();
            let max_frame = st.peer.max_frame;
            let Some(s) = st.streams.get_mut(&self.id) else {
                return Err(refused("the stream ended"));
            };
            if let Some(e) = &s.error {
                return Err(e.clone());
            }
            if s.cancelled || s.remote_end || s.local_end || s.reset_sent {
                return Err(refused("the stream ended"));
            }
            if data.len() > s.send.available().min(conn_room) {
                return Err(refused("the server stopped reading the stream"));
            }
            s.send.spend(data.len());
            st.conn_send.spend(data.len());
            max_frame
        };
        let mut out = self.inner.lock_outbox();
        put_data(&mut out.buf, self.id, data, max_frame, false);
        self.inner.flush(out).map_err(CallError::MaybeSent)
    }
}

/// Takes a stream slot, waiting within `deadline` while the server's
/// MAX_CONCURRENT_STREAMS are all in use.
fn reserve_slot(
    inner: &Arc<Inner>,
    deadline: Option<Instant>,
    cancel: Option<&CancelToken>,
) -> Result<(), CallError> {
    let cancelled = || cancel.is_some_and(CancelToken::is_cancelled);
    let mut registered = false;
    let mut st = inner.lock_state();
    let result = loop {
        if let Some(e) = refusal(&st) {
            break Err(e);
        }
        if cancelled() {
            break Err(CallError::Cancelled { sent: false });
        }
        if st.slots < st.peer.max_concurrent {
            st.slots += 1;
            break Ok(());
        }
        if passed(deadline) {
            break Err(CallError::NotSent(Reason::Timeout));
        }
        if let (Some(t), false) = (cancel, registered) {
            drop(st);
            t.register(inner, 0);
            registered = true;
            st = inner.lock_state();
            continue;
        }
        st.openers += 1;
        st = wait_until(&inner.opened, st, deadline);
        st.openers -= 1;
    };
    drop(st);
    if let (Some(t), true) = (cancel, registered) {
        t.unregister(inner, 0);
    }
    result
}

fn release_slot(inner: &Inner, st: &mut State) {
    st.slots = st.slots.saturating_sub(1);
    if st.openers > 0 {
        inner.opened.notify_all();
    }
}

/// Appends `data` as DATA frames of at most `max_frame` bytes, END_STREAM
/// on the last if `end`.
fn put_data(out: &mut Vec<u8>, id: u32, data: &[u8], max_frame: usize, end: bool) {
    let mut chunks = data.chunks(max_frame.max(1)).peekable();
    while let Some(chunk) = chunks.next() {
        frame::put_data(out, id, chunk, end && chunks.peek().is_none());
    }
}
