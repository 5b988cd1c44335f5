//! The stream [`V3::lease_keep_alive_once`](super::V3::lease_keep_alive_once)
//! renews on: one LeaseKeepAlive stream per client, opened by the first
//! renewal on the member requests go to, kept while it answers. A renewal
//! on it is one message each way, where a call of its own opens and ends a
//! stream (etcd's keep-alive is a streaming method only), which costs etcd
//! and the client more than the renewal.
//!
//! One thread renews on it at a time: a renewal that finds it busy, or
//! cannot open it, or gets no clean answer within [`ANSWER`], is made as a
//! call of its own instead (which fails over, and leaves a silent member,
//! as every call does). A renewal is safe to repeat. A stream that failed
//! once is dropped and opened again by the next renewal.
//!
//! Fork: a child never uses (nor resets) its parent's stream: the slot is
//! taken with `try_lock` (a lock a parent's thread held at the fork is
//! only busy), and a stream of another fork generation is forgotten, not
//! dropped.

use std::mem::ManuallyDrop;
use std::sync::{Mutex, TryLockError};
use std::time::{Duration, Instant};

use prost::Message;

use super::proto::{etcdserverpb as pb, methods};
use super::V3;
use crate::transport::connection::generation;
use crate::transport::grpc::GrpcStream;

/// How long a renewal on the stream waits to send and for its answer
/// before it is made as a call of its own.
const ANSWER: Duration = Duration::from_secs(1);

/// A client's renewal stream, while it has one.
#[derive(Debug, Default)]
pub(crate) struct RenewStream(Mutex<Option<Open>>);

#[derive(Debug)]
struct Open {
    generation: u64,
    endpoint: String,
    stream: ManuallyDrop<GrpcStream>,
}

impl Drop for Open {
    fn drop(&mut self) {
        if self.generation == generation() {
            // SAFETY: dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.stream) };
        }
        // Else the parent's: its reset must not go out from here.
    }
}

impl RenewStream {
    /// Renews lease `id` on the client's stream: etcd's answer and the
    /// member that gave it, or `None` when the call must be made on its
    /// own (see the module doc).
    pub(crate) fn renew(
        &self,
        v3: V3<'_>,
        id: i64,
    ) -> Option<(pb::LeaseKeepAliveResponse, String)> {
        let mut slot = match self.0.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        if slot.as_ref().is_some_and(|o| o.generation != generation()) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(open(v3)?);
        }
        let open = slot.as_mut()?;
        match open.renew(v3, id) {
            Some(answer) => Some((answer, open.endpoint.clone())),
            None => {
                *slot = None;
                None
            }
        }
    }
}

/// Opens the stream on the member requests go to now.
fn open(v3: V3<'_>) -> Option<Open> {
    let transport = &v3.client.transport;
    let endpoints = transport.endpoint_list();
    let endpoint = endpoints
        .get(transport.current_index() % endpoints.len().max(1))?
        .clone();
    let token = v3.stream_token(false).ok()?;
    let deadline = Instant::now() + transport.connect_timeout().min(ANSWER);
    let path = methods::LEASE_LEASE_KEEP_ALIVE.path;
    let stream = transport
        .open_stream(&endpoint, path, token.as_deref(), Some(deadline))
        .ok()?;
    Some(Open {
        generation: generation(),
        endpoint,
        stream: ManuallyDrop::new(stream),
    })
}

impl Open {
    /// One renewal: its answer, checked (cluster id, raft term, the id
    /// asked), or `None` (the stream is then of no more use).
    fn renew(&mut self, v3: V3<'_>, id: i64) -> Option<pb::LeaseKeepAliveResponse> {
        let deadline = Some(Instant::now() + ANSWER);
        let request = pb::LeaseKeepAliveRequest { id }.encode_to_vec();
        self.stream.send(&request, deadline).ok()?;
        let message = self.stream.recv(deadline).ok()??;
        let transport = &v3.client.transport;
        transport
            .check_stream_message(&self.endpoint, &message)
            .ok()?;
        let answer = pb::LeaseKeepAliveResponse::decode(&message[..]).ok()?;
        (answer.id == id).then_some(answer)
    }
}
