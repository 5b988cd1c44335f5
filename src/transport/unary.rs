//! gRPC unary calls (etcd's v3 API) with the failover rule of
//! [`Transport::request`], over one HTTP/2 connection per member shared by
//! every thread of the client ([`crate::transport::connection`] keeps them,
//! per fork generation).
//!
//! What a failure means for the next attempt:
//! - not sent (no connection, a GOAWAY or REFUSED_STREAM that says etcd
//!   never took the call, etcd's `no leader` refusal of a call that asked
//!   for one): the next member, read or write;
//! - maybe sent (the connection broke, the stream was reset, the deadline
//!   passed, or etcd answered `UNAVAILABLE`/`DEADLINE_EXCEEDED`, which it
//!   does when a proposal timed out or its leader changed): a read goes to
//!   the next member; a write is [`Error::Ambiguous`];
//! - any other gRPC status is etcd's answer: [`Error::Grpc`], final.
//!
//! Every answer's `ResponseHeader` is checked ([`GrpcApi::header`]): its
//! cluster id against the pinned one, as v2's `X-Etcd-Cluster-Id`; its raft
//! term against the highest this client has seen, so that a linearizable
//! read is never answered by a member cut off from the majority (it moves
//! on instead).

use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::transport::deadline::{remaining, Limit};
use crate::transport::failure::Failure;
use crate::transport::grpc::{Code, GrpcStream, Metadata, WaitCheck};
use crate::transport::http2::{CallError, CancelToken, H2Connection, H2Tls, Reason};
use crate::transport::leader;
use crate::transport::Transport;

/// What the transport needs to know of the v3 API's messages, supplied by
/// the API layer (as [`crate::transport::Discovery`] is for v2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcApi {
    /// Reads the response header of any answer: `None` when it has none.
    pub header: fn(&[u8]) -> Option<MemberHeader>,
    /// A unary method every member answers cheaply, without consensus,
    /// with an empty request: how a member proves its cluster id before a
    /// first write, and tells a waiting write about its leader
    /// (`/etcdserverpb.Maintenance/Status`).
    pub probe_path: &'static str,
    /// Reads the member's leader (0: none) and raft term from the answer
    /// to `probe_path`.
    pub leader: fn(&[u8]) -> Option<(u64, u64)>,
}

/// The part of an answer's header the transport checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberHeader {
    pub cluster_id: u64,
    pub raft_term: u64,
}

/// What a call does, for the failover rule and the leader requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A read that needs the cluster's consensus (a leader).
    Linearizable,
    /// A read any member answers from its own state (may be stale).
    Serializable,
    /// Anything that changes state: never sent twice.
    Write,
}

/// One unary call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcCall<'a> {
    /// `/etcdserverpb.KV/Range`.
    pub path: &'a str,
    /// The serialised request.
    pub body: &'a [u8],
    pub kind: Kind,
    /// etcd's auth token, sent as `token` metadata.
    pub token: Option<&'a str>,
    /// For all the attempts together.
    pub limit: Limit,
    pub cancel: Option<&'a CancelToken>,
    /// A streaming method called for one answer (lease keep-alive once):
    /// the request is sent as the stream's one message, the first answer
    /// taken, the stream cancelled.
    pub stream: bool,
}

/// An answer: the serialised response, and the member that sent it.
#[derive(Debug)]
pub(crate) struct GrpcAnswer {
    pub body: Vec<u8>,
    pub endpoint: String,
}

impl Transport {
    /// Sends `call` to the current member, failing over as the module doc
    /// says, and returns the answer message.
    pub fn unary(&self, call: &GrpcCall) -> Result<GrpcAnswer> {
        let deadline = call.limit.deadline(self.config.read_timeout);
        let endpoints = self.cluster.list();
        let current = self.cluster.current();
        let write = call.kind == Kind::Write;
        let mut last = None;
        for attempt in 0..endpoints.len() {
            let i = (current + attempt) % endpoints.len();
            let endpoint = &endpoints[i];
            if write && (attempt > 0 || self.cluster.take_moved()) {
                self.wait_for_leader(endpoint, deadline);
            }
            let outcome = self
                .prove_cluster_id(endpoint, call, deadline)
                .and_then(|()| self.unary_once(endpoint, call, deadline));
            match outcome {
                Ok(body) => {
                    if attempt > 0 {
                        self.cluster.settle_on(i);
                    }
                    return Ok(GrpcAnswer {
                        body,
                        endpoint: endpoint.clone(),
                    });
                }
                Err(Failure::NotSent(e)) => last = Some(e),
                Err(Failure::MaybeSent(e)) if !write => last = Some(e),
                Err(Failure::MaybeSent(e)) => {
                    if endpoints.len() > 1 {
                        self.cluster.move_on(current, (i + 1) % endpoints.len());
                    }
                    return Err(ambiguous(endpoint, e));
                }
                Err(Failure::Final(e)) => return Err(e),
            }
        }
        if last.is_some() {
            let again = |limit| self.unary(&GrpcCall { limit, ..*call });
            if let Some(outcome) = self.after_every_member_failed(endpoints, deadline, again) {
                return outcome;
            }
        }
        Err(last.unwrap_or_else(|| Error::Timeout {
            endpoint: endpoints[current % endpoints.len()].clone(),
        }))
    }

    /// `call` to `endpoint` alone, without failover: for what is about one
    /// member (its status, defragmenting it, its hash). `endpoint` is a
    /// base URL (`http://host:port`), one of the client's or not; the
    /// client's TLS settings and cluster id check apply.
    pub fn unary_to(&self, endpoint: &str, call: &GrpcCall) -> Result<GrpcAnswer> {
        let deadline = call.limit.deadline(self.config.read_timeout);
        let outcome = self
            .prove_cluster_id(endpoint, call, deadline)
            .and_then(|()| self.unary_once(endpoint, call, deadline));
        match outcome {
            Ok(body) => Ok(GrpcAnswer {
                body,
                endpoint: endpoint.to_owned(),
            }),
            Err(Failure::MaybeSent(e)) if call.kind == Kind::Write => Err(ambiguous(endpoint, e)),
            Err(f) => Err(f.into_error()),
        }
    }

    /// A call whose answer is a stream of messages (a snapshot): sends
    /// `call.body` as its one request and gives each message to
    /// `on_message`, in order, until the server ends the stream. It moves on
    /// to the next member as a read does while nothing has been received;
    /// once a message was given, a failure is final (the caller has part of
    /// the answer). An error of `on_message` cancels the stream and is
    /// returned. Returns the member that answered.
    pub fn server_stream(
        &self,
        call: &GrpcCall,
        on_message: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<String> {
        let deadline = call.limit.deadline(self.config.read_timeout);
        let endpoints = self.cluster.list();
        let current = self.cluster.current();
        let mut last = None;
        for attempt in 0..endpoints.len() {
            let i = (current + attempt) % endpoints.len();
            let endpoint = &endpoints[i];
            match self.server_stream_once(endpoint, call, deadline, on_message) {
                Ok(()) => {
                    if attempt > 0 {
                        self.cluster.settle_on(i);
                    }
                    return Ok(endpoint.clone());
                }
                Err(Failure::NotSent(e) | Failure::MaybeSent(e)) => last = Some(e),
                Err(Failure::Final(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Timeout {
            endpoint: endpoints[current % endpoints.len()].clone(),
        }))
    }

    fn server_stream_once(
        &self,
        endpoint: &str,
        call: &GrpcCall,
        deadline: Option<Instant>,
        on_message: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> std::result::Result<(), Failure> {
        remaining(deadline, endpoint)?;
        let conn = self
            .connections
            .h2(
                endpoint,
                &self.h2,
                &|| H2Tls::from_client(&self.config.tls),
                deadline,
            )
            .map_err(|e| classify(e, endpoint, call))?;
        let token = call.token.map(|t| [("token", t)]);
        let metadata: Metadata = token.as_ref().map_or(&[], |t| &t[..]);
        let mut received = false;
        let mut run = || -> std::result::Result<(), Stop> {
            let mut stream = conn.stream(call.path, metadata, deadline, call.cancel)?;
            stream.send(call.body, deadline)?;
            stream.close_send(deadline)?;
            while let Some(message) = stream.recv(deadline)? {
                if !received {
                    self.check_header(endpoint, &message, call.kind)
                        .map_err(Stop::Failed)?;
                }
                received = true;
                on_message(&message).map_err(|e| Stop::Failed(Failure::Final(e)))?;
            }
            Ok(())
        };
        match run() {
            Ok(()) => Ok(()),
            Err(Stop::Call(e)) if received => {
                Err(Failure::Final(classify(e, endpoint, call).into_error()))
            }
            Err(Stop::Call(e)) => Err(classify(e, endpoint, call)),
            Err(Stop::Failed(f)) => Err(f),
        }
    }

    /// Opens a two-way stream of `path` (a watch) on `endpoint` alone,
    /// within `deadline`, with `hasleader` (etcd ends it when the member
    /// loses its leader) and the auth `token`. Its messages are checked
    /// with [`check_stream_message`](Self::check_stream_message). The
    /// member proves its cluster id first, as before a write.
    pub(crate) fn open_stream(
        &self,
        endpoint: &str,
        path: &str,
        token: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<GrpcStream> {
        let call = GrpcCall {
            path,
            body: &[],
            kind: Kind::Write,
            token,
            limit: Limit::Default,
            cancel: None,
            stream: true,
        };
        let fail = |f: Failure| f.into_error();
        self.prove_cluster_id(endpoint, &call, deadline)
            .map_err(fail)?;
        let conn = self
            .connections
            .h2(
                endpoint,
                &self.h2,
                &|| H2Tls::from_client(&self.config.tls),
                deadline,
            )
            .map_err(|e| fail(classify(e, endpoint, &call)))?;
        let mut metadata: Vec<(&str, &str)> = vec![("hasleader", "true")];
        if let Some(token) = token {
            metadata.push(("token", token));
        }
        conn.stream(path, &metadata, deadline, None)
            .map_err(|e| fail(classify(e, endpoint, &call)))
    }

    /// Checks a message of a stream from [`open_stream`](Self::open_stream)
    /// as a serializable read's answer: its cluster id, and its raft term
    /// noted.
    pub(crate) fn check_stream_message(&self, endpoint: &str, body: &[u8]) -> Result<()> {
        self.check_header(endpoint, body, Kind::Serializable)
            .map_err(Failure::into_error)
    }

    /// What a failed stream call means, as an error for its owner, and
    /// whether it may have reached etcd. For a stream's owner, which
    /// decides itself what to do next.
    pub(crate) fn stream_error(&self, e: CallError, endpoint: &str) -> Error {
        let call = GrpcCall {
            path: "",
            body: &[],
            kind: Kind::Serializable,
            token: None,
            limit: Limit::Default,
            cancel: None,
            stream: true,
        };
        classify(e, endpoint, &call).into_error()
    }

    /// One attempt on one member, its answer's header checked.
    fn unary_once(
        &self,
        endpoint: &str,
        call: &GrpcCall,
        deadline: Option<Instant>,
    ) -> std::result::Result<Vec<u8>, Failure> {
        remaining(deadline, endpoint)?;
        let conn = self
            .connections
            .h2(
                endpoint,
                &self.h2,
                &|| H2Tls::from_client(&self.config.tls),
                deadline,
            )
            .map_err(|e| classify(e, endpoint, call))?;
        let mut metadata: [(&str, &str); 2] = [("", ""); 2];
        let mut n = 0;
        if call.kind != Kind::Serializable {
            // A member without a leader refuses at once instead of waiting.
            metadata[n] = ("hasleader", "true");
            n += 1;
        }
        if let Some(token) = call.token {
            metadata[n] = ("token", token);
            n += 1;
        }
        let metadata = &metadata[..n];
        let body = if call.stream {
            first_answer(&conn, call, metadata, deadline)
        } else if let Some(api) = self.config.grpc {
            // What the cluster's term was when the call left (0: unknown,
            // nothing to compare with).
            let mut watch = Watchdog {
                api,
                term: self.cluster.see_term(0),
                kind: call.kind,
                silent_since: None,
            };
            let mut lost = || watch.lost(&conn, deadline);
            let mut check = WaitCheck {
                after: leader::CHECK_AFTER,
                every: leader::CHECK_EVERY,
                lost: &mut lost,
            };
            conn.unary_checked(
                call.path,
                call.body,
                deadline,
                metadata,
                call.cancel,
                Some(&mut check),
            )
        } else {
            conn.unary(call.path, call.body, deadline, metadata, call.cancel)
        };
        let body = body.map_err(|e| classify(e, endpoint, call))?;
        self.check_header(endpoint, &body, call.kind)?;
        Ok(body)
    }

    /// The cluster id and raft term of an answer (see the module doc).
    fn check_header(
        &self,
        endpoint: &str,
        body: &[u8],
        kind: Kind,
    ) -> std::result::Result<(), Failure> {
        let Some(header) = self.config.grpc.and_then(|api| (api.header)(body)) else {
            return Ok(());
        };
        if header.cluster_id != 0 {
            let id = format!("{:x}", header.cluster_id);
            self.cluster
                .check_id(endpoint, &id)
                .map_err(Failure::Final)?;
        }
        let seen = self.cluster.see_term(header.raft_term);
        if kind == Kind::Linearizable && header.raft_term < seen {
            return Err(Failure::NotSent(Error::StaleMember {
                endpoint: endpoint.to_owned(),
                term: header.raft_term,
                seen,
            }));
        }
        Ok(())
    }

    /// Before a first write to a member, once the cluster id is known: the
    /// member proves it with a cheap call (see [`GrpcApi::probe_path`]).
    /// Its failure counts as "not sent": the write never left.
    fn prove_cluster_id(
        &self,
        endpoint: &str,
        call: &GrpcCall,
        deadline: Option<Instant>,
    ) -> std::result::Result<(), Failure> {
        let Some(api) = self.config.grpc else {
            return Ok(());
        };
        if call.kind != Kind::Write
            || !self.cluster.knows_cluster_id()
            || self.cluster.is_verified(endpoint)
        {
            return Ok(());
        }
        let probe = GrpcCall {
            path: api.probe_path,
            body: &[],
            kind: Kind::Serializable,
            stream: false,
            ..*call
        };
        match self.unary_once(endpoint, &probe, deadline) {
            Ok(_) => Ok(()),
            Err(Failure::MaybeSent(e)) => Err(Failure::NotSent(e)),
            Err(e) => Err(e),
        }
    }
}

/// What a call waiting for its answer asks its member (every
/// [`leader::CHECK_EVERY`] after [`leader::CHECK_AFTER`]), on the call's
/// own connection (a second stream), each question within
/// [`leader::PROBE_LIMIT`] and never past the call's deadline:
/// - whether the member answers at all: one that has answered nothing for
///   [`SILENT_AFTER`] is stopped or cut off (its connection open but
///   silent), and the call gives up on it (a read moves on, a write is
///   ambiguous) instead of waiting for its deadline;
/// - for a write or a linearizable read, whether the member lost the
///   leader the call went to: it has no leader, or its raft term is past
///   `term` (the highest this client had seen when the call left), so the
///   answer would come only after etcd's own request timeout.
struct Watchdog {
    api: GrpcApi,
    term: u64,
    kind: Kind,
    /// Since when the member's questions go unanswered.
    silent_since: Option<Instant>,
}

/// How long a member may answer nothing, not even its status, before a
/// call waiting on it gives up (after [`leader::CHECK_AFTER`] of waiting:
/// at most about 3 s in all).
pub(crate) const SILENT_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

impl Watchdog {
    fn lost(&mut self, conn: &H2Connection, deadline: Option<Instant>) -> Option<String> {
        let asked = Instant::now();
        let mut by = asked + leader::PROBE_LIMIT;
        if let Some(deadline) = deadline {
            by = by.min(deadline);
        }
        let answer = conn
            .unary(self.api.probe_path, &[], Some(by), &[], None)
            .ok();
        let Some(answer) = answer else {
            let since = *self.silent_since.get_or_insert(asked);
            return (since.elapsed() >= SILENT_AFTER).then(|| {
                format!(
                    "the member has answered nothing for {:.1} s (stopped, or cut off)",
                    since.elapsed().as_secs_f64()
                )
            });
        };
        self.silent_since = None;
        if self.kind == Kind::Serializable || self.term == 0 {
            return None;
        }
        let (leader, now) = (self.api.leader)(&answer)?;
        if leader == 0 {
            Some("the member lost its leader while the call waited for its answer".into())
        } else if now > self.term {
            Some(format!(
                "the member's leader changed while the call waited for its answer \
                 (raft term {} when it was sent, {now} now)",
                self.term
            ))
        } else {
            None
        }
    }
}

/// The first answer of a streaming call whose one request is `call.body`.
fn first_answer(
    conn: &Arc<H2Connection>,
    call: &GrpcCall,
    metadata: Metadata,
    deadline: Option<Instant>,
) -> std::result::Result<Vec<u8>, CallError> {
    let mut stream = conn.stream(call.path, metadata, deadline, call.cancel)?;
    stream.send(call.body, deadline)?;
    stream.close_send(deadline)?;
    match stream.recv(deadline)? {
        Some(answer) => Ok(answer),
        None => Err(CallError::Protocol(
            "the stream ended without an answer".into(),
        )),
    }
}

/// Why a server stream stopped: the call failed, or what came of it did.
enum Stop {
    Call(CallError),
    Failed(Failure),
}

impl From<CallError> for Stop {
    fn from(e: CallError) -> Stop {
        Stop::Call(e)
    }
}

/// A write that may have been applied.
fn ambiguous(endpoint: &str, e: Error) -> Error {
    let reason = match e {
        Error::Grpc { code, message, .. } => format!("etcd answered {code}: {message}"),
        other => other.to_string(),
    };
    Error::Ambiguous {
        endpoint: endpoint.to_owned(),
        reason,
        etcd: None,
    }
}

/// How a failed attempt counts (see the module doc).
fn classify(e: CallError, endpoint: &str, call: &GrpcCall) -> Failure {
    let connection = |reason: &Reason| Error::Connection {
        endpoint: endpoint.to_owned(),
        reason: reason.to_string(),
    };
    let timeout = || Error::Timeout {
        endpoint: endpoint.to_owned(),
    };
    match e {
        CallError::NotSent(reason) => match reason.tls_error() {
            // No other member would do better.
            Some(tls) => Failure::Final(tls),
            None if reason == Reason::Timeout => Failure::NotSent(timeout()),
            None => Failure::NotSent(connection(&reason)),
        },
        CallError::MaybeSent(Reason::Timeout) => Failure::MaybeSent(timeout()),
        CallError::MaybeSent(reason) => Failure::MaybeSent(connection(&reason)),
        CallError::Cancelled { sent } if sent && call.kind == Kind::Write => {
            Failure::Final(ambiguous(endpoint, Error::Cancelled))
        }
        CallError::Cancelled { .. } => Failure::Final(Error::Cancelled),
        CallError::Status(status) => {
            let error = Error::Grpc {
                code: status.code,
                message: status.message,
                endpoint: endpoint.to_owned(),
            };
            match status.code {
                // Asked with `hasleader`: refused before anything was done.
                Code::Unavailable if error_message(&error) == "etcdserver: no leader" => {
                    Failure::NotSent(error)
                }
                Code::Unavailable | Code::DeadlineExceeded => Failure::MaybeSent(error),
                _ => Failure::Final(error),
            }
        }
        CallError::Protocol(m) => Failure::MaybeSent(Error::Protocol(m)),
        CallError::TooLarge { limit } => {
            let e = Error::ResponseTooLarge {
                limit: limit as u64,
            };
            // etcd was answering: a write was applied, whatever it said.
            match call.kind {
                Kind::Write => Failure::Final(ambiguous(endpoint, e)),
                _ => Failure::Final(e),
            }
        }
        CallError::Invalid(m) => Failure::Final(Error::InvalidArgument(m)),
    }
}

fn error_message(e: &Error) -> &str {
    match e {
        Error::Grpc { message, .. } => message,
        _ => "",
    }
}
