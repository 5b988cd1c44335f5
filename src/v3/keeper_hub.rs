//! The one LeaseKeepAlive stream a client's lease keepers share, and the
//! thread that renews on it: [`KeeperHub`].
//!
//! A hub belongs to a client (one per fork generation), made by its first
//! keeper and ended when its last keeper is gone: its thread
//! (`etcdc-lease`) is then stopped and joined (or, when the last keeper
//! goes from an `on_lost` callback, on that very thread, left to end by
//! itself). It has a transport of its own (the client's endpoints and
//! cluster view, its own connections), so renewals never wait behind the
//! owner's calls. A thousand keepers cost one thread and one connection.
//!
//! The thread opens a LeaseKeepAlive stream on the client's current member
//! (asking for a leader: a member without one cannot renew) and sends each
//! lease's keep-alive when it is due, a third of its TTL after the last
//! renewal; the answers, in any order, carry the lease id and its new TTL
//! (0: the lease is gone). A keep-alive unanswered is sent again every
//! [`RETRY`]. The stream is left for the next member when it fails, or
//! when a keep-alive is left unanswered for [`SILENT`] while nothing at
//! all comes (a stopped or cut-off member).
//!
//! Lock order: the hub's state, then nothing (a keeper's state is atomic).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message;

use super::keeper::{OnLost, Shared as KeeperShared};
use super::proto::etcdserverpb as pb;
use super::proto::methods;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::connection::generation;
use crate::transport::grpc::{GrpcSender, GrpcStream};
use crate::transport::http2::{CallError, CancelToken, Reason};

/// How often an unanswered keep-alive is sent again.
pub(super) const RETRY: Duration = Duration::from_millis(500);
/// How long a keep-alive may go unanswered, with nothing else coming
/// either, before the member counts as failed.
const SILENT: Duration = Duration::from_secs(3);
/// The pause after every member failed, before trying them all again.
const ROUND_PAUSE: Duration = Duration::from_millis(500);

/// A client's lease keepers, their stream and its thread. Owned by the
/// keepers (the client keeps a weak reference to share it).
pub(crate) struct KeeperHub {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    generation: u64,
}

struct Shared {
    client: Client,
    state: Mutex<HubState>,
    /// Wakes the thread: a new lease, or stopping.
    wake: Condvar,
}

#[derive(Default)]
struct HubState {
    leases: HashMap<i64, Lease>,
    /// The stream in use: how to send on it and cancel it.
    live: Option<(GrpcSender, CancelToken)>,
    stopping: bool,
}

/// One lease the hub keeps.
struct Lease {
    keeper: Arc<KeeperShared>,
    /// When its next keep-alive is due.
    next: Instant,
    /// When the oldest keep-alive not answered yet was sent.
    sent: Option<Instant>,
    on_lost: Option<OnLost>,
}

thread_local! {
    /// On a hub's thread, that hub: how dropping the last keeper from an
    /// `on_lost` callback knows not to wait for its own thread. (Not
    /// `thread::current()`, which allocates a handle that a C program's
    /// main thread never frees.)
    static ON_HUB: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

impl KeeperHub {
    /// The client's keeper hub, made (and its thread started) if it has
    /// none.
    pub(super) fn of(client: &Client) -> Result<Arc<KeeperHub>> {
        let mut slot = client
            .keeper_hub
            .current()
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(hub) = slot.upgrade() {
            return Ok(hub);
        }
        let shared = Arc::new(Shared {
            client: client.background(),
            state: Mutex::new(HubState::default()),
            wake: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("etcdc-lease".into())
                .stack_size(256 * 1024)
                .spawn(move || run(&shared))
                .map_err(|e| Error::Protocol(format!("cannot start the lease keeper: {e}")))?
        };
        let hub = Arc::new(KeeperHub {
            shared,
            thread: Some(thread),
            generation: generation(),
        });
        *slot = Arc::downgrade(&hub);
        Ok(hub)
    }

    /// Starts keeping lease `id`: its first keep-alive at `first`.
    pub(super) fn add(
        &self,
        id: i64,
        keeper: Arc<KeeperShared>,
        first: Instant,
        on_lost: Option<OnLost>,
    ) {
        let mut st = self.shared.lock();
        st.leases.insert(
            id,
            Lease {
                keeper,
                next: first,
                sent: None,
                on_lost,
            },
        );
        // The thread waits on the stream until the next keep-alive it
        // knows of: this one may be due sooner.
        if let Some((sender, _)) = &st.live {
            sender.nudge();
        }
        drop(st);
        self.shared.wake.notify_all();
    }

    /// Stops keeping lease `id` (an answer still on its way is ignored).
    pub(super) fn remove(&self, id: i64) {
        let lease = self.shared.lock().leases.remove(&id);
        // Its callback, if never called, is dropped outside the lock.
        drop(lease);
    }

    /// The hub's client (for a revoke).
    pub(super) fn client(&self) -> &Client {
        &self.shared.client
    }
}

impl Drop for KeeperHub {
    fn drop(&mut self) {
        if generation() != self.generation {
            return;
        }
        {
            let mut st = self.shared.lock();
            st.stopping = true;
            if let Some((_, cancel)) = &st.live {
                cancel.cancel();
            }
        }
        self.shared.wake.notify_all();
        self.shared.client.transport.shutdown_handle().shutdown();
        if let Some(thread) = self.thread.take() {
            if ON_HUB.with(Cell::get) == Arc::as_ptr(&self.shared) {
                // The last keeper went from an `on_lost` callback, on this
                // very thread: it ends when the callback returns.
                drop(thread);
            } else {
                let _ = thread.join();
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for `pause` or a wake-up; whether the hub is stopping.
    fn pause(&self, pause: Duration) -> bool {
        let st = self.lock();
        if st.stopping {
            return true;
        }
        self.wake
            .wait_timeout(st, pause)
            .unwrap_or_else(|p| p.into_inner())
            .0
            .stopping
    }
}

fn secs(ttl: i64) -> Duration {
    Duration::from_secs(u64::try_from(ttl).unwrap_or(0))
}

/// Why the thread left a stream.
enum Outcome {
    Stopped,
    /// The member failed: the next one. `worked`: an answer had come.
    Failed {
        worked: bool,
    },
}

/// The thread: one stream after another until the hub stops.
fn run(shared: &Shared) {
    ON_HUB.with(|h| h.set(shared));
    let transport = &shared.client.transport;
    let mut index = transport.current_index();
    let mut failed_in_row = 0usize;
    loop {
        let endpoints = transport.endpoint_list();
        let endpoint = endpoints[index % endpoints.len()].clone();
        let outcome = match shared.client.v3().stream_token(failed_in_row > 0) {
            Ok(token) => serve(shared, &endpoint, token.as_deref()),
            Err(_) => Outcome::Failed { worked: false },
        };
        match outcome {
            Outcome::Stopped => return,
            Outcome::Failed { worked } => {
                if shared.lock().stopping {
                    return;
                }
                let next = (index + 1) % endpoints.len();
                transport.moved_on(index % endpoints.len(), next);
                index = next;
                failed_in_row = if worked { 0 } else { failed_in_row + 1 };
                if failed_in_row > 0
                    && failed_in_row % endpoints.len() == 0
                    && shared.pause(ROUND_PAUSE)
                {
                    return;
                }
            }
        }
    }
}

/// Opens a stream on `endpoint` and keeps every lease on it until it fails
/// or the hub stops.
fn serve(shared: &Shared, endpoint: &str, token: Option<&str>) -> Outcome {
    let transport = &shared.client.transport;
    let deadline = Instant::now() + transport.connect_timeout() + SILENT;
    let path = methods::LEASE_LEASE_KEEP_ALIVE.path;
    let Ok(mut stream) = transport.open_stream(endpoint, path, token, Some(deadline)) else {
        return Outcome::Failed { worked: false };
    };
    {
        let mut st = shared.lock();
        if st.stopping {
            return Outcome::Stopped;
        }
        st.live = Some((stream.sender(), stream.canceller()));
        // What was sent on the stream before has no answer coming.
        for lease in st.leases.values_mut() {
            if lease.sent.take().is_some() {
                lease.next = Instant::now();
            }
        }
    }
    let outcome = keep(shared, endpoint, &mut stream);
    let mut st = shared.lock();
    st.live = None;
    if st.stopping {
        return Outcome::Stopped;
    }
    outcome
}

/// Sends the keep-alives due and reads the answers, until the stream
/// fails.
fn keep(shared: &Shared, endpoint: &str, stream: &mut GrpcStream) -> Outcome {
    let transport = &shared.client.transport;
    let mut heard = Instant::now();
    let mut worked = false;
    loop {
        // Send what is due; wait until the next is due (or news).
        let wait_until = {
            let mut st = shared.lock();
            if st.stopping {
                return Outcome::Stopped;
            }
            let now = Instant::now();
            let HubState { leases, live, .. } = &mut *st;
            let Some((sender, _)) = live.as_ref() else {
                return Outcome::Failed { worked };
            };
            let mut next = now + SILENT;
            let mut oldest: Option<Instant> = None;
            for (id, lease) in leases.iter_mut() {
                if lease.next <= now {
                    let request = pb::LeaseKeepAliveRequest { id: *id };
                    if sender.send_now(&request.encode_to_vec()).is_err() {
                        return Outcome::Failed { worked };
                    }
                    lease.sent.get_or_insert(now);
                    lease.next = now + RETRY;
                }
                next = next.min(lease.next);
                if let Some(sent) = lease.sent {
                    oldest = Some(oldest.map_or(sent, |o| o.min(sent)));
                }
            }
            // A keep-alive unanswered for SILENT, and nothing since it
            // was sent: the member is silent.
            if let Some(oldest) = oldest {
                if now.duration_since(oldest) >= SILENT && heard <= oldest {
                    return Outcome::Failed { worked };
                }
                next = next.min(oldest + SILENT);
            }
            next
        };
        let message = match stream.recv(Some(wait_until)) {
            Ok(Some(message)) => message,
            Ok(None) => return Outcome::Failed { worked },
            Err(CallError::MaybeSent(Reason::Timeout)) => continue,
            Err(CallError::Cancelled { .. }) if shared.lock().stopping => return Outcome::Stopped,
            Err(_) => return Outcome::Failed { worked },
        };
        heard = Instant::now();
        if transport.check_stream_message(endpoint, &message).is_err() {
            return Outcome::Failed { worked };
        }
        let Ok(answer) = pb::LeaseKeepAliveResponse::decode(&message[..]) else {
            return Outcome::Failed { worked };
        };
        worked = true;
        renewed(shared, answer);
    }
}

/// Applies one answer: the lease renewed until its send time + its TTL, or
/// gone (TTL 0: it expired or was revoked), then its owner told.
fn renewed(shared: &Shared, answer: pb::LeaseKeepAliveResponse) {
    let mut st = shared.lock();
    let Some(lease) = st.leases.get_mut(&answer.id) else {
        return; // stopped meanwhile
    };
    let sent = lease.sent.take().unwrap_or_else(Instant::now);
    if answer.ttl > 0 {
        lease.keeper.set_expiry(sent + secs(answer.ttl));
        lease.next = sent + (secs(answer.ttl) / 3).max(Duration::from_millis(100));
        return;
    }
    let Some(lease) = st.leases.remove(&answer.id) else {
        return;
    };
    drop(st);
    let why = format!("lease {:x} is gone: it expired or was revoked", answer.id);
    lease.keeper.lose(&why);
    if let Some(on_lost) = lease.on_lost {
        on_lost(&why);
    }
}
