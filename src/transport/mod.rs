//! The transport: requests to etcd members, whichever API they belong to.
//! It knows the endpoints, the failover rule, deadlines, the cluster-id
//! check, TLS and credentials, and returns raw answers ([`Reply`]: status,
//! HTTP fields, body). It knows nothing of any API's bodies or error
//! answers: the API modules turn replies into results and [`Error`]s, and
//! supply the one request of theirs it needs, the member list
//! ([`Discovery`]). The one body it reads is etcd's `/health`, which belongs
//! to no API ([`health`]).
//!
//! Here: [`Transport`], its configuration and the failover loop. Beside it:
//! - [`cluster_view`]: the endpoint list, current member, pinned cluster id;
//! - [`deadline`]: time limits and the one deadline a request spends;
//! - [`failure`]: not sent / maybe sent / final, from connection errors;
//! - [`redirect`]: following 307/308;
//! - [`discovery`]: the member list, for discovery and the pre-write check;
//! - [`health`]: the leader wait on `/health`;
//! - [`credentials`]: the basic-auth header;
//! - [`url`]: origin and target of a URL;
//! - [`http1`]: the bytes on the wire; [`connection`]: connections and the
//!   pool; [`tls`]: TLS configuration and its errors.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::http::Method;

mod cluster_view;
pub(crate) mod connection;
mod credentials;
mod deadline;
mod discovery;
mod failure;
pub(crate) mod grpc;
pub(crate) mod health;
pub(crate) mod http1;
pub(crate) mod http2;
pub(crate) mod leader;
mod redirect;
pub(crate) mod srv;
pub(crate) mod tls;
pub(crate) mod unary;
mod url;

use crate::error::{Error, Result};
use crate::transport::cluster_view::ClusterView;
use crate::transport::connection::{Connections, Pooled, Registry};
use crate::transport::failure::{classify_connect, classify_exchange, explain, Failure};
use crate::transport::http1::{Exchange, Head};
use crate::transport::url::after_scheme;

pub(crate) use crate::transport::credentials::Authorization;
pub(crate) use crate::transport::deadline::Limit;
pub(crate) use crate::transport::discovery::Discovery;
pub(crate) use crate::transport::http1::{Fields, Index, Payload};

/// etcd 3.x serves its client port through cmux, which reads at most 4096
/// bytes of a new connection to find the request line: a longer line makes
/// etcd reset the connection (yet works on a connection that served a request
/// already). Such requests are refused up front, so the outcome doesn't depend
/// on the pool.
const MAX_REQUEST_LINE: usize = 4096;

/// What [`Transport`] needs to be built; filled in by the client builder.
#[derive(Debug, Clone)]
pub(crate) struct TransportConfig {
    /// Base URLs without a trailing slash, e.g. `http://127.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// API prefix, e.g. `/v2`.
    pub prefix: String,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub allow_redirect: bool,
    pub max_response_bytes: u64,
    /// Refuse members of any other cluster (`X-Etcd-Cluster-Id`, hex).
    pub expected_cluster_id: Option<String>,
    /// Refresh the endpoint list from the member list after a failover.
    pub discover: bool,
    /// The API's member list request and its reader: for discovery and the
    /// cluster-id check before a first write.
    pub discovery: Discovery,
    /// Trusted CAs, client certificate, verification (for `https`).
    pub tls: crate::transport::tls::Tls,
    /// Sent with every request, when set.
    pub authorization: Option<Authorization>,
    /// How to ask a member about its leader while a write waits (see
    /// [`leader`]); `None`: never asked.
    pub leader: Option<leader::LeaderProbe>,
    /// DNS SRV discovery: asked again when every member failed.
    pub srv: Option<srv::Srv>,
    /// What gRPC calls need to know of the v3 API's answers; `None`: their
    /// headers are not checked.
    pub grpc: Option<unary::GrpcApi>,
}

/// A raw answer, whatever its status: the status, the HTTP fields the
/// transport parses ([`Fields`]: etcd's index and cluster-id headers,
/// `Location`), the body. What the body says is the API's to read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Fields,
    pub body: Vec<u8>,
    /// The endpoint that answered.
    pub endpoint: String,
    /// The request was a write (any method but GET): an error answer of
    /// the server's own (a 5xx) leaves its outcome unknown.
    pub write: bool,
}

/// A request sent and not yet answered, kept between calls of
/// [`Transport::request_resumable`]: the member it went to, the connection it
/// is on, and how far its answer was read.
pub(crate) struct InFlight {
    endpoint: String,
    /// The `scheme://host:port` it was sent to.
    origin: String,
    /// `None` only once taken apart.
    parked: Option<(Pooled, Exchange)>,
}

impl InFlight {
    fn into_parts(mut self) -> Option<(Pooled, Exchange)> {
        self.parked.take()
    }

    /// Its connection is the parent's (this is a forked child).
    fn inherited(&self) -> bool {
        self.parked.as_ref().is_some_and(|(p, _)| p.inherited())
    }
}

impl Drop for InFlight {
    /// Closes the connection: also one inherited from the parent, whose
    /// socket is only closed here, never shut down or written to (see
    /// [`connection`]).
    fn drop(&mut self) {
        drop(self.parked.take());
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("endpoint", &self.endpoint)
            .field("exchange", &self.parked.as_ref().map(|(_, e)| e))
            .finish()
    }
}

/// Where [`Transport::send_once_in`] may resume or park an exchange, and
/// until when it waits for the answer.
type Resume<'a> = Option<(&'a mut Option<InFlight>, Option<Instant>)>;

/// A pooled, keep-alive HTTP client for a list of etcd endpoints.
///
/// Shared by all threads of a client.
pub(crate) struct Transport {
    connections: Connections,
    /// Settings of HTTP/2 connections (gRPC); TLS is the pool's, per fork
    /// generation.
    h2: http2::Config,
    config: Arc<TransportConfig>,
    /// The cluster as this client knows it; shared with forks (watchers,
    /// locks), so that they follow a failover or a refreshed member list.
    cluster: Arc<ClusterView>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("endpoints", &self.endpoints())
            .field("prefix", &self.config.prefix)
            .finish()
    }
}

impl Transport {
    /// Sends nothing.
    pub fn new(config: TransportConfig) -> Transport {
        let connections = Connections::new(config.tls.ureq.clone(), config.connect_timeout);
        let cluster = Arc::new(ClusterView::new(
            config.endpoints.clone(),
            config.expected_cluster_id.clone(),
        ));
        let h2 = http2::Config {
            connect_timeout: config.connect_timeout,
            max_message_bytes: usize::try_from(config.max_response_bytes).unwrap_or(usize::MAX),
            ..http2::Config::default()
        };
        Transport {
            connections,
            h2,
            config: Arc::new(config),
            cluster,
        }
    }

    /// The endpoints as the client knows them now (after discovery, if any),
    /// the one requests go to first, first.
    pub fn endpoints(&self) -> Vec<String> {
        self.cluster.in_order()
    }

    /// Sends `method` to `path` (after the API prefix, with its query string),
    /// with an optional form body, and returns the reply whatever its status,
    /// for the API to read.
    ///
    /// Failover: the request goes to the current member; if that fails in a
    /// way another member could do better, it goes to the next one, and so
    /// on once around the list. The rule that keeps it safe:
    /// - a request that never left this machine (connection refused, no
    ///   route, connect timeout) is sent to the next member, whatever it is;
    /// - a request that may have reached etcd (the connection broke or timed
    ///   out after sending) is sent again only if it is a read (GET); a write
    ///   is [`Error::Ambiguous`]: etcd may have applied it, and sending it
    ///   again could apply it twice;
    /// - a 5xx answer (etcd has no leader, or timed out inside) moves a read
    ///   on; a write gets that answer (etcd's error). A read that fails on
    ///   every member gets the last member's outcome: its 5xx answer, or the
    ///   error.
    ///
    /// After failing over, a write first waits (within its timeout) until the
    /// new member reports a leader, instead of stalling in etcd's own 7 s
    /// request timeout during an election.
    pub fn request(&self, method: Method, path: &str, form: Option<&str>) -> Result<Reply> {
        let payload = form.map_or(Payload::Empty, Payload::Form);
        self.request_with(
            method,
            &self.api_path(path),
            payload,
            Limit::Default,
            &mut |_| {},
        )
    }

    /// `path` under the API prefix (`/members` → `/v2/members`).
    pub fn api_path(&self, path: &str) -> String {
        let mut full = String::with_capacity(self.config.prefix.len() + path.len() + 32);
        full.push_str(&self.config.prefix);
        full.push_str(path);
        full
    }

    /// [`request`](Self::request) for any `target` (a path from the root,
    /// with its query) and payload, with its own time limit (for all the
    /// attempts together), calling `on_head` with the status and headers of
    /// each response as soon as they arrive, before the body (a watch learns
    /// its start index from them).
    pub fn request_with(
        &self,
        method: Method,
        target: &str,
        payload: Payload,
        limit: Limit,
        on_head: &mut dyn FnMut(&Head),
    ) -> Result<Reply> {
        self.request_in(method, target, payload, limit, on_head, None)
    }

    /// A GET whose answer may come after more than one call's wait (a
    /// watch's long poll): [`request_with`](Self::request_with), with the
    /// same failover, where `limit` bounds only the wait for the answer
    /// (connecting and sending are bounded by the client's connect and read
    /// timeouts, as they are no waiting for the answer). When `limit` runs
    /// out first, the exchange (its member, connection and what came of the
    /// answer) is parked in `slot` and `Ok(None)` returned. The next call
    /// with that slot resumes it, on its member, before anything else; if it
    /// then fails (the connection broke), it is dropped and the request sent
    /// again as usual. A zero limit checks a parked exchange without
    /// blocking, or sends the request and checks it without blocking.
    ///
    /// The slot belongs to one logical request: whoever owns it drops its
    /// content when that request changes. A parked exchange inherited
    /// across fork is the parent's: dropping it only closes this process's
    /// copy of its socket.
    pub fn request_resumable(
        &self,
        target: &str,
        limit: Limit,
        on_head: &mut dyn FnMut(&Head),
        slot: &mut Option<InFlight>,
    ) -> Result<Option<Reply>> {
        let outcome = self.request_in(
            Method::GET,
            target,
            Payload::Empty,
            limit,
            on_head,
            Some(&mut *slot),
        );
        match outcome {
            // Parked: the one way a timeout leaves the slot filled.
            Err(Error::Timeout { .. }) if slot.is_some() => Ok(None),
            other => other.map(Some),
        }
    }

    /// The failover loop of [`request_with`](Self::request_with) and
    /// [`request_resumable`](Self::request_resumable) (with a `slot`).
    fn request_in(
        &self,
        method: Method,
        target: &str,
        payload: Payload,
        limit: Limit,
        on_head: &mut dyn FnMut(&Head),
        mut slot: Option<&mut Option<InFlight>>,
    ) -> Result<Reply> {
        // "<METHOD> <target> HTTP/1.1\r\n"
        let line = method.as_str().len() + 1 + target.len() + 11;
        if line > MAX_REQUEST_LINE {
            return Err(Error::InvalidArgument(format!(
                "request line of {line} bytes is over etcd's limit of {MAX_REQUEST_LINE} \
                 (key or prev_value too long once percent-encoded)"
            )));
        }
        let deadline = limit.deadline(self.config.read_timeout);
        let read = method == Method::GET;
        let endpoints = self.cluster.list();
        let current = self.cluster.current();
        let mut start = current;
        // Resumable: `limit` is the wait for the answer; connecting and
        // sending get the client's timeouts, on every attempt. A parked
        // exchange is resumed first, on its member; one of another process
        // or of a member no longer listed is dropped.
        let limit = match slot.as_deref_mut() {
            Some(slot) => {
                let parked = slot.as_ref().map(|p| {
                    let i = endpoints.iter().position(|e| *e == p.endpoint);
                    i.filter(|_| !p.inherited())
                });
                match parked {
                    Some(Some(i)) => start = i,
                    Some(None) => *slot = None,
                    None => {}
                }
                Limit::Default
            }
            None => limit,
        };
        let mut last = None;
        for attempt in 0..endpoints.len() {
            let i = (start + attempt) % endpoints.len();
            let endpoint = &endpoints[i];
            // A write to a member we just moved to waits for a leader first.
            // (Only a write takes the flag: a read must not use it up.)
            let waited = !read && (attempt > 0 || self.cluster.take_moved());
            if waited {
                self.wait_for_leader(endpoint, deadline);
            }
            // Everything spends one budget: a member whose id must be
            // checked first, the leader wait, redirects, later attempts.
            // Only the plain first attempt keeps the caller's limit (no
            // per-request configuration on the fast path).
            let checked = self.verify_before_write(endpoint, read, deadline);
            let limit = match checked {
                Ok(false) if (attempt == 0 && !waited) || slot.is_some() => Ok(limit),
                Ok(_) => deadline::remaining(deadline, endpoint),
                Err(e) => Err(e),
            };
            let outcome = limit
                .and_then(|limit| {
                    let request = (&method, endpoint.as_str(), target, payload);
                    let resume = slot.as_deref_mut().map(|slot| (slot, deadline));
                    self.send_following_redirects(request, limit, deadline, on_head, resume)
                })
                .and_then(|reply| self.cluster.check_cluster_id(reply).map_err(Failure::Final));
            match outcome {
                Ok(reply) if reply.status >= 500 && read => last = Some(Ok(reply)),
                Ok(reply) if reply.status >= 500 => {
                    // A write etcd could not complete (its own timeout,
                    // no leader): its outcome is unknown (the API layer
                    // says so), and this member is in trouble: the next
                    // request starts with the next one, and a write there
                    // waits for a leader first.
                    if endpoints.len() > 1 {
                        self.cluster.move_on(start, (i + 1) % endpoints.len());
                    }
                    return Ok(reply);
                }
                Ok(reply) => {
                    // (A resumed exchange may have been sent after a
                    // failover, in an earlier call.)
                    if attempt > 0 || i != current {
                        self.cluster.settle_on(i);
                        if self.config.discover {
                            let _ = self.discover_from(endpoint);
                        }
                    }
                    return Ok(reply);
                }
                Err(Failure::NotSent(e)) => last = Some(Err(e)),
                Err(Failure::MaybeSent(e)) if read => last = Some(Err(e)),
                Err(Failure::MaybeSent(e)) => {
                    // This member just failed mid-request (a dying member
                    // still accepts connections for a moment): the next
                    // request starts with the next member.
                    if endpoints.len() > 1 {
                        self.cluster.move_on(start, (i + 1) % endpoints.len());
                    }
                    return Err(Error::Ambiguous {
                        endpoint: endpoint.clone(),
                        reason: e.to_string(),
                        etcd: None,
                    });
                }
                Err(Failure::Final(e)) => return Err(e),
            }
        }
        // Every member failed without an answer: with SRV discovery, the
        // records may name other members now (once, within the deadline).
        if matches!(last, Some(Err(_))) {
            let again = |limit| self.request_in(method, target, payload, limit, on_head, slot);
            if let Some(outcome) = self.after_every_member_failed(endpoints, deadline, again) {
                return outcome;
            }
        }
        last.unwrap_or_else(|| {
            Err(Error::Timeout {
                endpoint: endpoints[start % endpoints.len()].clone(),
            })
        })
    }

    /// One request to one member: `origin` is the endpoint's (or a
    /// redirect's) `scheme://host:port`, `target` the path and query.
    /// `endpoint` names the member in errors.
    fn send_once(
        &self,
        request: (&Method, &str, &str, Payload),
        endpoint: &str,
        limit: Limit,
        on_head: &mut dyn FnMut(&Head),
    ) -> std::result::Result<Reply, Failure> {
        self.send_once_in(request, endpoint, limit, on_head, None)
    }

    /// [`send_once`](Self::send_once), resumable with `resume`: a slot and
    /// the deadline of the wait for the answer (`limit` then bounds only
    /// connecting and sending). An exchange parked in the slot for `origin`
    /// is resumed instead of sending (another one is dropped); one whose
    /// answer has not come by the deadline is parked there, and the failure
    /// is a final [`Error::Timeout`].
    fn send_once_in(
        &self,
        (method, origin, target, payload): (&Method, &str, &str, Payload),
        endpoint: &str,
        limit: Limit,
        on_head: &mut dyn FnMut(&Head),
        resume: Resume,
    ) -> std::result::Result<Reply, Failure> {
        let deadline = limit.deadline(self.config.read_timeout);
        let explain = |failure| {
            explain(
                failure,
                endpoint,
                &self.config.tls,
                self.config.connect_timeout,
            )
        };
        let (mut slot, answer_by) = match resume {
            Some((slot, answer_by)) => (Some(slot), answer_by),
            None => (None, deadline),
        };
        // A parked exchange with this origin is resumed; another one (of a
        // redirect's hop) is dropped.
        let parked = slot
            .as_deref_mut()
            .and_then(Option::take)
            .filter(|parked| parked.origin == origin)
            .and_then(InFlight::into_parts);
        let (mut pooled, mut exchange) = match parked {
            Some(parked) => parked,
            None => {
                let mut pooled = self
                    .connections
                    .get(origin, deadline)
                    .map_err(|e| explain(classify_connect(e, endpoint)))?;
                let host = &origin[after_scheme(origin)..];
                let authorization = self.config.authorization.as_ref().map(Authorization::value);
                http1::encode_head(
                    &mut pooled.head,
                    method.as_str(),
                    target,
                    host,
                    authorization,
                    payload,
                );
                let body = match payload {
                    Payload::Empty => &[][..],
                    Payload::Form(body) | Payload::Json(body) => body.as_bytes(),
                };
                let max = self.config.max_response_bytes;
                let exchange =
                    http1::Exchange::send(&mut *pooled.conn, &pooled.head, body, deadline, max)
                        .map_err(|e| explain(classify_exchange(e, endpoint)))?;
                (pooled, exchange)
            }
        };
        let write = *method != Method::GET;
        let answer = match self.advance(
            &mut pooled,
            &mut exchange,
            answer_by,
            on_head,
            write,
            endpoint,
        ) {
            Ok(Some(answer)) => answer,
            Ok(None) => {
                let Some(slot) = slot else {
                    let e = exchange.timed_out();
                    return Err(explain(classify_exchange(e, endpoint)));
                };
                *slot = Some(InFlight {
                    endpoint: endpoint.to_owned(),
                    origin: origin.to_owned(),
                    parked: Some((pooled, exchange)),
                });
                return Err(Failure::Final(Error::Timeout {
                    endpoint: endpoint.to_owned(),
                }));
            }
            Err(failure) => return Err(failure),
        };
        if answer.head.keep_alive {
            self.connections.put(pooled);
        }
        Ok(Reply {
            status: answer.head.status,
            headers: answer.head.fields,
            body: answer.body,
            endpoint: endpoint.to_owned(),
            write,
        })
    }

    /// Waits for the answer until `answer_by` (`Ok(None)` then, the exchange
    /// intact). A write asks, once it has waited [`leader::CHECK_AFTER`],
    /// whether its member's leader changed since it was sent, and again
    /// every [`leader::CHECK_EVERY`]: if so, it stops waiting and fails as
    /// "maybe sent" (see [`leader`]).
    fn advance(
        &self,
        pooled: &mut Pooled,
        exchange: &mut http1::Exchange,
        answer_by: Option<Instant>,
        on_head: &mut dyn FnMut(&Head),
        write: bool,
        endpoint: &str,
    ) -> std::result::Result<Option<http1::Answer>, Failure> {
        let classify = |e| {
            explain(
                classify_exchange(e, endpoint),
                endpoint,
                &self.config.tls,
                self.config.connect_timeout,
            )
        };
        if !write || self.config.leader.is_none() {
            return exchange
                .advance(&mut *pooled.conn, answer_by, on_head)
                .map_err(classify);
        }
        let sent = Instant::now();
        let mut check_at = sent + leader::CHECK_AFTER;
        loop {
            let until = answer_by.map_or(check_at, |by| by.min(check_at));
            match exchange.advance(&mut *pooled.conn, Some(until), on_head) {
                Ok(None) if answer_by.is_none_or(|by| Instant::now() < by) => {}
                other => return other.map_err(classify),
            }
            if self.leader_changed_since(endpoint, sent, answer_by) {
                return Err(Failure::MaybeSent(Error::Connection {
                    endpoint: endpoint.to_owned(),
                    reason: "the member lost its leader while the write waited for its \
                             answer (it went to the old leader)"
                        .into(),
                }));
            }
            check_at = Instant::now() + leader::CHECK_EVERY;
        }
    }

    /// The v3 auth token this process holds, if any (see
    /// [`crate::v3`]'s Auth).
    pub fn token(&self) -> Option<Arc<str>> {
        self.connections.token()
    }

    /// Keeps `token` for the next v3 calls of this process.
    pub fn set_token(&self, token: Option<Arc<str>>) {
        self.connections.set_token(token);
    }

    /// The client's read timeout: the default limit of a call.
    pub fn read_timeout(&self) -> Duration {
        self.config.read_timeout
    }

    /// The client's connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.config.connect_timeout
    }

    /// The endpoint list as it is now (see [`ClusterView::list`]).
    pub(crate) fn endpoint_list(&self) -> &[String] {
        self.cluster.list()
    }

    /// The index in [`endpoint_list`](Self::endpoint_list) of the member
    /// calls go to first.
    pub(crate) fn current_index(&self) -> usize {
        self.cluster.current()
    }

    /// Member `from` failed (a background stream noticed): calls go to
    /// `to` first (see [`ClusterView::move_on`]).
    pub(crate) fn moved_on(&self, from: usize, to: usize) {
        self.cluster.move_on(from, to);
    }

    /// A transport with the same configuration and a pool of its own, for a
    /// watcher: its long polls don't hold the client's connections, and
    /// [`shutdown`](Self::shutdown_handle) ends them without touching the
    /// client's.
    pub fn fork(&self) -> Transport {
        let mut fork = Transport::new((*self.config).clone());
        fork.cluster = self.cluster.clone();
        fork
    }

    /// Shuts down every connection of this transport, interrupting blocked
    /// I/O in other threads, and refuses new ones. For cancellation.
    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown(self.connections.shutdown_handle())
    }
}

/// Shuts a transport's connections down from any thread; see
/// [`Transport::shutdown_handle`].
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(Registry);

impl Shutdown {
    pub fn shutdown(&self) {
        self.0.shutdown();
    }
}
