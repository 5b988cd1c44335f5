//! The member list, which the transport needs for two cluster mechanics:
//! discovery (replacing the endpoint list with the members' client URLs)
//! and the check a member passes before its first write (the answer carries
//! `X-Etcd-Cluster-Id`). Which request lists the members and how its answer
//! reads is the API's: the API layer supplies it as a [`Discovery`] when
//! the client is built, so this module knows no API's paths or bodies.

use std::time::Instant;

use ureq::http::Method;

use crate::error::{Error, Result};
use crate::transport::deadline::{remaining, Limit};
use crate::transport::failure::Failure;
use crate::transport::http1::Payload;
use crate::transport::url::{after_scheme, split_url};
use crate::transport::{Reply, Transport};

/// How to ask a member for the cluster's members: a GET of `path`, whose
/// answer (any status) `client_urls` reads. Supplied by the API layer (v2:
/// `/members` and its parser); called only for discovery and the check
/// before a first write, never on the plain request path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Discovery {
    /// The path, under the API prefix, whose GET lists the members (its
    /// answer carries `X-Etcd-Cluster-Id`): `/members` for v2.
    pub path: &'static str,
    /// The client URLs of the members in a reply to that GET, in the
    /// answer's order; for an answer that is no member list, the error it
    /// describes, in the API's terms.
    pub client_urls: fn(Reply) -> Result<Vec<String>>,
}

impl Transport {
    /// Once the client knows which cluster it talks to (an expected id, or
    /// the first one seen), a member must prove its id before it is sent a
    /// first write: answers are checked too, but by then a write would be
    /// applied. A member proves it by any answer that passed the check, or
    /// else through the small member list answer ([`Discovery`]), which
    /// carries `X-Etcd-Cluster-Id`. So a member of another cluster never
    /// gets a write.
    ///
    /// Returns whether it had to ask (spending some of `deadline`). Its own
    /// failure counts as "not sent": the write itself never left.
    pub(super) fn verify_before_write(
        &self,
        endpoint: &str,
        read: bool,
        deadline: Option<Instant>,
    ) -> std::result::Result<bool, Failure> {
        if read || !self.cluster.knows_cluster_id() || self.cluster.is_verified(endpoint) {
            return Ok(false);
        }
        let reply = remaining(deadline, endpoint)
            .and_then(|limit| self.members_of(endpoint, limit))
            .map_err(|e| match e {
                Failure::MaybeSent(e) => Failure::NotSent(e),
                other => other,
            })?;
        self.cluster
            .check_cluster_id(reply)
            .map(|_| true)
            .map_err(Failure::Final)
    }

    /// The member list as one member answers it (small, and it carries the
    /// cluster id).
    fn members_of(&self, endpoint: &str, limit: Limit) -> std::result::Result<Reply, Failure> {
        let url = format!("{endpoint}{}", self.api_path(self.config.discovery.path));
        let (origin, target) = split_url(&url);
        let request = (&Method::GET, origin, target, Payload::Empty);
        self.send_once(request, endpoint, limit, &mut |_| {})
    }

    /// Replaces the endpoint list with the client URLs of the members that
    /// `endpoint` reports, keeping the current endpoint first.
    pub fn discover_from(&self, endpoint: &str) -> Result<()> {
        let reply = self
            .members_of(endpoint, Limit::Default)
            .map_err(Failure::into_error)?;
        let reply = self.cluster.check_cluster_id(reply)?;
        let urls = (self.config.discovery.client_urls)(reply)?;
        let mut found: Vec<String> = vec![endpoint.to_owned()];
        // Members reached the way this one was: an https client does not
        // fall back to plain http.
        let scheme = &endpoint[..after_scheme(endpoint)];
        for url in &urls {
            let url = url.trim_end_matches('/').to_owned();
            if url.starts_with(scheme) && !found.contains(&url) {
                found.push(url);
            }
        }
        self.cluster.replace(found);
        Ok(())
    }

    /// Discovery at start-up: the member list from the first endpoint that
    /// answers.
    pub fn discover(&self) -> Result<()> {
        let mut last = None;
        for endpoint in self.cluster.list().iter() {
            match self.discover_from(endpoint) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(Error::InvalidArgument("no endpoints".into())))
    }
}
