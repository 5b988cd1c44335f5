//! Requests to etcd: the endpoint list, failover, redirects, the cluster-id
//! check, and the mapping of HTTP outcomes to [`Error`]. The bytes on the
//! wire are [`crate::transport::http1`]'s; the connections [`crate::transport::connection`]'s.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use std::time::Instant;

use ureq::http::Method;

pub(crate) mod connection;
pub(crate) mod http1;
pub(crate) mod tls;

use crate::error::{Error, EtcdError, Result};
use crate::transport::connection::{Connections, Registry};
use crate::transport::http1::{ExchangeError, Head};
pub(crate) use crate::transport::http1::{Fields, Index, Payload};
use crate::v2::node::Headers;

/// etcd 3.x serves its client port through cmux, which reads at most 4096
/// bytes of a new connection to find the request line: a longer line makes
/// etcd reset the connection (yet works on a connection that served a request
/// already). Such requests are refused up front, so the outcome doesn't depend
/// on the pool.
const MAX_REQUEST_LINE: usize = 4096;

/// How many 307/308 hops a request follows when `allow_redirect` is on.
const MAX_REDIRECTS: usize = 3;

/// How long one request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The client's read timeout.
    Default,
    /// This long.
    Within(Duration),
    /// As long as it takes (a watch without timeout).
    Unlimited,
}

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
    /// Refresh the endpoint list from `/v2/members` after a failover.
    pub discover: bool,
    /// Trusted CAs, client certificate, verification (for `https`).
    pub tls: crate::transport::tls::Tls,
    /// Sent with every request, when set.
    pub authorization: Option<Authorization>,
}

/// A basic-auth `Authorization` header value. Never printed: `Debug` shows
/// `<redacted>`.
#[derive(Clone)]
pub(crate) struct Authorization(Vec<u8>);

impl Authorization {
    /// `Basic base64(user:password)`; a user name with `:` cannot be sent.
    pub fn basic(user: &str, password: &str) -> Result<Authorization> {
        if user.contains(':') {
            return Err(Error::InvalidArgument(format!(
                "user name {user:?} contains ':', which basic auth cannot carry"
            )));
        }
        let encoded = base64(format!("{user}:{password}").as_bytes());
        Ok(Authorization(format!("Basic {encoded}").into_bytes()))
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization(<redacted>)")
    }
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A raw answer: status, headers and body, whatever the status.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Fields,
    pub body: Vec<u8>,
    /// The endpoint that answered.
    pub endpoint: String,
}

/// A pooled, keep-alive HTTP client for a list of etcd endpoints.
///
/// Shared by all threads of a client.
pub(crate) struct Transport {
    connections: Connections,
    config: Arc<TransportConfig>,
    /// The cluster as this client knows it; shared with forks (watchers,
    /// locks), so that they follow a failover or a refreshed member list.
    cluster: Arc<ClusterView>,
}

/// What a client has learnt about the cluster.
#[derive(Debug)]
struct ClusterView {
    /// The endpoints, replaced whole by discovery.
    endpoints: RwLock<Arc<Vec<String>>>,
    /// Index (into `endpoints`) of the member requests go to first.
    current: AtomicUsize,
    /// The cluster id required of every answer: the expected one, else the
    /// first one seen.
    cluster_id: OnceLock<String>,
    /// Members whose answers carried the required cluster id.
    verified: RwLock<Vec<String>>,
    /// `current` was moved on after a member failed mid-request: the next
    /// write waits for a leader there, as a failover attempt does.
    moved: AtomicBool,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("endpoints", &self.endpoints())
            .field("prefix", &self.config.prefix)
            .finish()
    }
}

/// How a request failed, for the failover rule.
enum Failure {
    /// It never left this machine (no connection could be made): safe to
    /// send to another member, whatever it is.
    NotSent(Error),
    /// It may have reached etcd (the connection broke or timed out after it
    /// was sent): only a read may be sent again.
    MaybeSent(Error),
    /// Another member would not do better (a bad request, a redirect…).
    Final(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::NotSent(e) | Failure::MaybeSent(e) | Failure::Final(e) => e,
        }
    }
}

impl Transport {
    /// Sends nothing.
    pub fn new(config: TransportConfig) -> Transport {
        let connections = Connections::new(config.tls.ureq.clone(), config.connect_timeout);
        let cluster = Arc::new(ClusterView {
            endpoints: RwLock::new(Arc::new(config.endpoints.clone())),
            current: AtomicUsize::new(0),
            cluster_id: config
                .expected_cluster_id
                .clone()
                .map_or_else(OnceLock::new, OnceLock::from),
            verified: RwLock::new(Vec::new()),
            moved: AtomicBool::new(false),
        });
        Transport {
            connections,
            config: Arc::new(config),
            cluster,
        }
    }

    /// The endpoints as the client knows them now (after discovery, if any),
    /// the one requests go to first, first.
    pub fn endpoints(&self) -> Vec<String> {
        let list = self.endpoint_list();
        let start = self.cluster.current.load(Ordering::Relaxed) % list.len();
        list[start..]
            .iter()
            .chain(&list[..start])
            .cloned()
            .collect()
    }

    fn endpoint_list(&self) -> Arc<Vec<String>> {
        match self.cluster.endpoints.read() {
            Ok(list) => list.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sends `method` to `path` (after the API prefix, with its query string),
    /// with an optional form body, and returns the reply whatever its status;
    /// see [`Reply::into_success`].
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
    ///   on; a write gets etcd's error.
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
        // "<METHOD> <target> HTTP/1.1\r\n"
        let line = method.as_str().len() + 1 + target.len() + 11;
        if line > MAX_REQUEST_LINE {
            return Err(Error::InvalidArgument(format!(
                "request line of {line} bytes is over etcd's limit of {MAX_REQUEST_LINE} \
                 (key or prev_value too long once percent-encoded)"
            )));
        }
        let deadline = match limit {
            Limit::Default => Some(Instant::now() + self.config.read_timeout),
            Limit::Within(d) => Some(Instant::now() + d),
            Limit::Unlimited => None,
        };
        let read = method == Method::GET;
        let endpoints = self.endpoint_list();
        let start = self.cluster.current.load(Ordering::Relaxed);
        let mut last = None;
        for attempt in 0..endpoints.len() {
            let i = (start + attempt) % endpoints.len();
            let endpoint = &endpoints[i];
            // A write to a member we just moved to waits for a leader first.
            let moved = attempt > 0 || self.cluster.moved.swap(false, Ordering::Relaxed);
            if moved && !read {
                self.wait_for_leader(endpoint, deadline);
            }
            // Everything spends one budget: a member whose id must be
            // checked first, redirects, later attempts. Only the plain first
            // attempt keeps the caller's limit (no per-request configuration
            // on the fast path).
            let checked = self.verify_before_write(endpoint, read, deadline);
            let limit = match checked {
                Ok(false) if attempt == 0 => Ok(limit),
                Ok(_) => remaining(deadline, endpoint),
                Err(e) => Err(e),
            };
            let outcome = limit
                .and_then(|limit| {
                    let request = (&method, endpoint.as_str(), target, payload);
                    self.send_following_redirects(request, limit, deadline, on_head)
                })
                .and_then(|reply| self.check_cluster_id(reply).map_err(Failure::Final));
            match outcome {
                Ok(reply) if reply.status >= 500 && read => {
                    last = reply.into_success().err();
                }
                Ok(reply) => {
                    if attempt > 0 {
                        self.cluster.current.store(i, Ordering::Relaxed);
                        if self.config.discover {
                            let _ = self.discover_from(endpoint);
                        }
                    }
                    return Ok(reply);
                }
                Err(Failure::NotSent(e)) => last = Some(e),
                Err(Failure::MaybeSent(e)) if read => last = Some(e),
                Err(Failure::MaybeSent(e)) => {
                    // This member just failed mid-request (a dying member
                    // still accepts connections for a moment): the next
                    // request starts with the next member.
                    if endpoints.len() > 1 {
                        let next = (i + 1) % endpoints.len();
                        let moved = self.cluster.current.compare_exchange(
                            start,
                            next,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        );
                        if moved.is_ok() {
                            self.cluster.moved.store(true, Ordering::Relaxed);
                        }
                    }
                    return Err(Error::Ambiguous {
                        endpoint: endpoint.clone(),
                        reason: e.to_string(),
                    });
                }
                Err(Failure::Final(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::Timeout {
            endpoint: endpoints[start % endpoints.len()].clone(),
        }))
    }

    /// One request to one member, following 307/308 redirects that send the
    /// same request to another member (etcd 2.x followers did this for
    /// writes) when `allow_redirect` is on. Any other redirect is refused:
    /// etcd answers 301 for paths with `.`, `..` or `//`, and following that
    /// would act on another key.
    fn send_following_redirects(
        &self,
        (method, endpoint, target, payload): (&Method, &str, &str, Payload),
        limit: Limit,
        deadline: Option<Instant>,
        on_head: &mut dyn FnMut(&Head),
    ) -> std::result::Result<Reply, Failure> {
        // The URL of a redirect being followed; else, without building it,
        // the endpoint's origin and the target (after any path the
        // endpoint has).
        let mut url = match split_url(endpoint) {
            (_, "/") => None,
            _ => Some(format!("{endpoint}{target}")),
        };
        let mut limit = limit;
        let mut hops = 0;
        loop {
            let here = url.as_deref().map_or((endpoint, target), split_url);
            let request = (method, here.0, here.1, payload);
            let mut reply = self.send_once(request, endpoint, limit, on_head)?;
            if !matches!(reply.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(reply);
            }
            let location = reply.headers.location.take().unwrap_or_default();
            let follow = self.config.allow_redirect
                && matches!(reply.status, 307 | 308)
                && hops < MAX_REDIRECTS
                && self.may_redirect_to(endpoint, &location)
                && location.ends_with(target)
                && split_url(&location) != here;
            if !follow {
                return Err(Failure::Final(Error::Redirect {
                    status: reply.status,
                    location,
                }));
            }
            hops += 1;
            url = Some(location);
            // The next hop gets what is left, not a fresh timeout.
            limit = remaining(deadline, endpoint)?;
        }
    }

    /// A redirect keeps the endpoint's scheme (never from https to http);
    /// with credentials, it must lead to a known member, so that they are
    /// not sent to whatever host a redirect names.
    fn may_redirect_to(&self, endpoint: &str, location: &str) -> bool {
        let scheme = |url: &str| url.split_once("://").map(|(s, _)| s.to_owned());
        if scheme(endpoint) != scheme(location) {
            return false;
        }
        self.config.authorization.is_none()
            || self.endpoint_list().iter().any(|e| {
                location
                    .strip_prefix(e.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }

    /// One request to one member: `origin` is the endpoint's (or a
    /// redirect's) `scheme://host:port`, `target` the path and query.
    /// `endpoint` names the member in errors.
    fn send_once(
        &self,
        (method, origin, target, payload): (&Method, &str, &str, Payload),
        endpoint: &str,
        limit: Limit,
        on_head: &mut dyn FnMut(&Head),
    ) -> std::result::Result<Reply, Failure> {
        let deadline = match limit {
            Limit::Default => Some(Instant::now() + self.config.read_timeout),
            Limit::Within(d) => Some(Instant::now() + d),
            Limit::Unlimited => None,
        };
        let mut pooled = self
            .connections
            .get(origin, deadline)
            .map_err(|e| self.explain(classify_connect(e, endpoint), endpoint))?;
        let host = &origin[after_scheme(origin)..];
        let authorization = self.config.authorization.as_ref().map(|a| a.0.as_slice());
        crate::transport::http1::encode_head(
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
        let answer = crate::transport::http1::exchange(
            &mut *pooled.conn,
            &pooled.head,
            body,
            deadline,
            max,
            on_head,
        )
        .map_err(|e| self.explain(classify_exchange(e, endpoint), endpoint))?;
        if answer.head.keep_alive {
            self.connections.put(pooled);
        }
        Ok(Reply {
            status: answer.head.status,
            headers: answer.head.fields,
            body: answer.body,
            endpoint: endpoint.to_owned(),
        })
    }

    /// A broken connection to an https member may be the server refusing our
    /// client certificate (see [`crate::transport::tls::Tls::diagnose`]): then that is
    /// the error, and no other member would do better.
    fn explain(&self, failure: Failure, endpoint: &str) -> Failure {
        match failure {
            Failure::NotSent(Error::Connection { .. })
            | Failure::MaybeSent(Error::Connection { .. })
                if endpoint.starts_with("https://") =>
            {
                match self
                    .config
                    .tls
                    .diagnose(endpoint, self.config.connect_timeout)
                {
                    Some(tls) => Failure::Final(tls),
                    None => failure,
                }
            }
            other => other,
        }
    }

    /// Once the client knows which cluster it talks to (an expected id, or
    /// the first one seen), a member must prove its id before it is sent a
    /// first write: answers are checked too, but by then a write would be
    /// applied. A member proves it by any answer that passed the check, or
    /// else through the small `/v2/members` answer, which carries
    /// `X-Etcd-Cluster-Id`. So a member of another cluster never gets a write.
    ///
    /// Returns whether it had to ask (spending some of `deadline`). Its own
    /// failure counts as "not sent": the write itself never left.
    fn verify_before_write(
        &self,
        endpoint: &str,
        read: bool,
        deadline: Option<Instant>,
    ) -> std::result::Result<bool, Failure> {
        if read || self.cluster.cluster_id.get().is_none() || self.is_verified(endpoint) {
            return Ok(false);
        }
        let reply = remaining(deadline, endpoint)
            .and_then(|limit| self.members_of(endpoint, limit))
            .map_err(|e| match e {
                Failure::MaybeSent(e) => Failure::NotSent(e),
                other => other,
            })?;
        self.check_cluster_id(reply)
            .map(|_| true)
            .map_err(Failure::Final)
    }

    /// `/v2/members` as one member answers it (small, and it carries the
    /// cluster id).
    fn members_of(&self, endpoint: &str, limit: Limit) -> std::result::Result<Reply, Failure> {
        let url = format!("{endpoint}{}", self.api_path("/members"));
        let (origin, target) = split_url(&url);
        let request = (&Method::GET, origin, target, Payload::Empty);
        self.send_once(request, endpoint, limit, &mut |_| {})
    }

    /// Refuses an answer from another cluster than the one required: the
    /// expected id, else the first one this client saw.
    fn check_cluster_id(&self, reply: Reply) -> Result<Reply> {
        let Some(found) = reply.headers.cluster_id.as_deref() else {
            return Ok(reply);
        };
        // The first id seen is pinned, unless one was expected.
        let expected = self.cluster.cluster_id.get_or_init(|| found.to_owned());
        if !expected.eq_ignore_ascii_case(found) {
            return Err(Error::ClusterIdMismatch {
                endpoint: reply.endpoint.clone(),
                expected: expected.clone(),
                found: found.to_owned(),
            });
        }
        if !self.is_verified(&reply.endpoint) {
            let mut list = self
                .cluster
                .verified
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !list.contains(&reply.endpoint) {
                list.push(reply.endpoint.clone());
            }
        }
        Ok(reply)
    }

    /// An answer from `endpoint` has carried the required cluster id.
    fn is_verified(&self, endpoint: &str) -> bool {
        let list = self
            .cluster
            .verified
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.iter().any(|e| e == endpoint)
    }

    /// Polls `endpoint`'s `/health` until it reports a leader (a member
    /// answers it once an election is over), for at most 10 s and never past
    /// `deadline`. Gives up silently: the request that follows reports.
    fn wait_for_leader(&self, endpoint: &str, deadline: Option<Instant>) {
        let give_up = Instant::now() + Duration::from_secs(10);
        let give_up = deadline.map_or(give_up, |d| d.min(give_up));
        let url = format!("{endpoint}/health");
        let (origin, target) = split_url(&url);
        while Instant::now() < give_up {
            let left = give_up.saturating_duration_since(Instant::now());
            // Short polls: during an election a member takes about a second
            // to say it is unhealthy; a quick retry resumes sooner after.
            let limit = Limit::Within(left.min(Duration::from_millis(250)));
            let request = (&Method::GET, origin, target, Payload::Empty);
            match self.send_once(request, endpoint, limit, &mut |_| {}) {
                Ok(r) => {
                    if r.status == 200 && is_healthy(&r.body) {
                        return;
                    }
                }
                // Not even reachable: let the request find out.
                Err(Failure::NotSent(_)) => return,
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(100).min(left));
        }
    }

    /// Replaces the endpoint list with the client URLs of the members that
    /// `endpoint` reports, keeping the current endpoint first.
    pub fn discover_from(&self, endpoint: &str) -> Result<()> {
        let reply = self
            .members_of(endpoint, Limit::Default)
            .map_err(Failure::into_error)?;
        let reply = self.check_cluster_id(reply)?;
        let members = crate::v2::cluster::parse_members(&reply.into_success()?.body)?;
        let mut found: Vec<String> = vec![endpoint.to_owned()];
        // Members reached the way this one was: an https client does not
        // fall back to plain http.
        let scheme = &endpoint[..after_scheme(endpoint)];
        for url in members.iter().flat_map(|m| &m.client_urls) {
            let url = url.trim_end_matches('/').to_owned();
            if url.starts_with(scheme) && !found.contains(&url) {
                found.push(url);
            }
        }
        if let Ok(mut list) = self.cluster.endpoints.write() {
            *list = Arc::new(found);
            self.cluster.current.store(0, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Discovery at start-up: the member list from the first endpoint that
    /// answers.
    pub fn discover(&self) -> Result<()> {
        let mut last = None;
        for endpoint in self.endpoint_list().iter() {
            match self.discover_from(endpoint) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(Error::InvalidArgument("no endpoints".into())))
    }
}

/// What is left of `deadline` as a limit; a spent one is a timeout of a
/// request that was not sent.
fn remaining(deadline: Option<Instant>, endpoint: &str) -> std::result::Result<Limit, Failure> {
    let Some(deadline) = deadline else {
        return Ok(Limit::Unlimited);
    };
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(Limit::Within(left)),
        _ => Err(Failure::NotSent(Error::Timeout {
            endpoint: endpoint.to_owned(),
        })),
    }
}

/// `{"health":"true"}`: etcd's answer when the member has a leader.
fn is_healthy(body: &[u8]) -> bool {
    parse_health(body).unwrap_or(false)
}

/// Parses a `/health` body: whether the member has a leader.
pub(crate) fn parse_health(body: &[u8]) -> Result<bool> {
    #[derive(serde::Deserialize)]
    struct Health {
        health: String,
    }
    let health: Health =
        serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("bad health: {e}")))?;
    Ok(health.health == "true")
}

/// A successful answer: etcd's headers, parsed, and the body.
#[derive(Debug)]
pub(crate) struct Success {
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Transport {
    /// A transport with the same configuration and a pool of its own, for a
    /// watcher: its long polls don't hold the client's connections, and
    /// [`shutdown`](Self::shutdown) ends them without touching the client's.
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
pub(crate) struct Shutdown(Arc<Registry>);

impl Shutdown {
    pub fn shutdown(&self) {
        self.0.shutdown();
    }
}

/// Splits an absolute URL into its origin (`scheme://host:port`) and its
/// target (path and query, `/` when empty).
fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = after_scheme(url);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, "/"),
    }
}

/// Where what follows `scheme://` starts in `url` (0 without a scheme).
/// Looks at the first `:` first, byte by byte: on a URL this short, a
/// `str` search costs more than the rest of building the request head.
fn after_scheme(url: &str) -> usize {
    match url.bytes().position(|b| b == b':') {
        Some(i) if url[i..].starts_with("://") => i + 3,
        _ => url.find("://").map_or(0, |i| i + 3),
    }
}

impl Reply {
    /// The headers and body of a 2xx; otherwise the error the reply
    /// describes: etcd's own error when the body is one,
    /// [`Error::V2NotEnabled`] for a bare 404, [`Error::HttpStatus`] for
    /// anything else. Headers are checked only on success, so a malformed one
    /// cannot hide etcd's error.
    pub fn into_success(self) -> Result<Success> {
        if (200..300).contains(&self.status) {
            return Ok(Success {
                headers: parse_headers(self.headers)?,
                body: self.body,
            });
        }
        if let Ok(e) = serde_json::from_slice::<EtcdError>(&self.body) {
            return Err(Error::from_etcd(e));
        }
        // Outside the keys API etcd words its errors `{"message": "…"}`
        // (e.g. "No such member"); a 404 without one is a server that has
        // no such API at all.
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        let body = match serde_json::from_slice::<Message>(&self.body) {
            // The auth API's and members API's word for etcd's code 110.
            Ok(m) if self.status == 401 => {
                return Err(Error::Unauthorized(EtcdError {
                    code: 110,
                    message: "The request requires user authentication".into(),
                    cause: m.message,
                    index: 0,
                }))
            }
            Ok(m) => m.message,
            Err(_) if self.status == 404 => {
                return Err(Error::V2NotEnabled {
                    endpoint: self.endpoint,
                })
            }
            Err(_) => {
                let shown = &self.body[..self.body.len().min(200)];
                String::from_utf8_lossy(shown).trim_end().to_owned()
            }
        };
        Err(Error::HttpStatus {
            status: self.status,
            body,
        })
    }
}

/// Maps a failure to get a connection: nothing was sent (unless it is a TLS
/// failure, which no other member would do better).
fn classify_connect(e: ureq::Error, endpoint: &str) -> Failure {
    match classify(e, endpoint) {
        Failure::MaybeSent(e) => Failure::NotSent(e),
        other => other,
    }
}

/// Maps a failed exchange, telling whether the request can have reached
/// etcd. Once the head came, it did.
fn classify_exchange(e: ExchangeError, endpoint: &str) -> Failure {
    let broken = |reason: &str| Error::Connection {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    match e {
        ExchangeError::BeforeHead(e) => classify(e, endpoint),
        ExchangeError::InBody(e) => match classify(e, endpoint) {
            Failure::NotSent(e) => Failure::MaybeSent(e),
            other => other,
        },
        ExchangeError::Protocol(m) => Failure::MaybeSent(Error::Protocol(m)),
        ExchangeError::ClosedBeforeHead => {
            Failure::MaybeSent(broken("the server closed the connection without answering"))
        }
        ExchangeError::Truncated => Failure::MaybeSent(broken(
            "the server closed the connection in the middle of the answer",
        )),
        ExchangeError::TooLarge(limit) => Failure::Final(Error::ResponseTooLarge { limit }),
    }
}

/// Maps a ureq (I/O or TLS) error, telling whether the request can have left
/// this machine.
fn classify(e: ureq::Error, endpoint: &str) -> Failure {
    // A certificate problem is the same with every member: no failover.
    if let Some(tls) = crate::transport::tls::classify(&e, endpoint) {
        return Failure::Final(tls);
    }
    let endpoint = endpoint.to_owned();
    let refused = |reason: String| {
        Failure::NotSent(Error::Connection {
            endpoint: endpoint.clone(),
            reason,
        })
    };
    match e {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            Failure::NotSent(Error::Timeout { endpoint })
        }
        ureq::Error::Timeout(_) => Failure::MaybeSent(Error::Timeout { endpoint }),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => {
            Failure::MaybeSent(Error::Timeout { endpoint })
        }
        // Errors only a connect can give.
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::AddrNotAvailable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkDown
            ) =>
        {
            refused(e.to_string())
        }
        ureq::Error::Io(e) => Failure::MaybeSent(Error::Connection {
            endpoint,
            reason: e.to_string(),
        }),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => refused(e.to_string()),
        other => Failure::MaybeSent(Error::Protocol(other.to_string())),
    }
}

/// The `X-Etcd-Index` of a response head, if present and valid.
pub(crate) fn etcd_index(headers: &Fields) -> Option<u64> {
    match headers.etcd_index {
        Some(Index::Valid(n)) => Some(n),
        _ => None,
    }
}

/// Reads etcd's index headers strictly: absent is 0, anything but a `u64` is
/// a protocol error.
fn parse_headers(h: Fields) -> Result<Headers> {
    fn index(value: Option<Index>, name: &str) -> Result<u64> {
        match value {
            None => Ok(0),
            Some(Index::Valid(n)) => Ok(n),
            Some(Index::Invalid(v)) => Err(Error::Protocol(format!("bad {name} header: {v:?}"))),
        }
    }
    Ok(Headers {
        etcd_index: index(h.etcd_index, "X-Etcd-Index")?,
        raft_index: index(h.raft_index, "X-Raft-Index")?,
        raft_term: index(h.raft_term, "X-Raft-Term")?,
        cluster_id: h.cluster_id,
    })
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("root:p\u{e4}ss", "cm9vdDpww6Rzcw=="),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn credentials_are_never_printed() {
        let a = Authorization::basic("root", "s3cret").unwrap();
        assert_eq!(format!("{a:?}"), "Authorization(<redacted>)");
        assert!(matches!(
            Authorization::basic("a:b", "x"),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[cfg(test)]
mod url_tests {
    use super::{after_scheme, split_url};

    #[test]
    fn origin_and_target() {
        assert_eq!(
            split_url("http://127.0.0.1:2379/v2/keys/a?x=1"),
            ("http://127.0.0.1:2379", "/v2/keys/a?x=1")
        );
        assert_eq!(split_url("https://[::1]:2379"), ("https://[::1]:2379", "/"));
        assert_eq!(
            split_url("http://h:1/proxy/v2/keys"),
            ("http://h:1", "/proxy/v2/keys")
        );
        assert_eq!(after_scheme("https://h:1"), 8);
        assert_eq!(after_scheme("h:1"), 0);
        assert_eq!(after_scheme("h:1/a://b"), 8);
    }
}

#[cfg(test)]
mod redirect_tests {
    use crate::Client;

    /// The rule `send_following_redirects` applies before following a 307/308:
    /// never from https to http, and with credentials only to a member.
    #[test]
    fn redirects_keep_the_scheme_and_credentials_stay_with_members() {
        let plain = Client::builder()
            .endpoints(["https://10.0.0.1:2379", "https://10.0.0.2:2379"])
            .build()
            .unwrap();
        let t = &plain.transport;
        let from = "https://10.0.0.1:2379";
        assert!(t.may_redirect_to(from, "https://10.0.0.2:2379/v2/keys/a"));
        assert!(t.may_redirect_to(from, "https://10.9.9.9:2379/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "http://10.0.0.2:2379/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "/v2/keys/a"));

        let authed = Client::builder()
            .endpoints(["https://10.0.0.1:2379", "https://10.0.0.2:2379"])
            .basic_auth("root", "pw")
            .build()
            .unwrap();
        let t = &authed.transport;
        assert!(t.may_redirect_to(from, "https://10.0.0.2:2379/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "https://10.9.9.9:2379/v2/keys/a"));
        // A host that merely starts like a member's is not one.
        assert!(!t.may_redirect_to(from, "https://10.0.0.2:23790/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "http://10.0.0.2:2379/v2/keys/a"));
    }
}
