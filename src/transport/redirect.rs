//! Redirects: following a 307/308 that sends the same request to another
//! member (etcd 2.x followers did this for writes) when `allow_redirect` is
//! on, within the request's deadline and a few hops, never from https to
//! http and, with credentials, only to a known member. Any other redirect
//! is [`Error::Redirect`]. Looks at the status and `Location` only.

use std::time::Instant;

use ureq::http::Method;

use crate::error::Error;
use crate::transport::deadline::{remaining, Limit};
use crate::transport::failure::Failure;
use crate::transport::http1::{Head, Payload};
use crate::transport::url::split_url;
use crate::transport::{Reply, Resume, Transport};

/// How many 307/308 hops a request follows when `allow_redirect` is on.
const MAX_REDIRECTS: usize = 3;

impl Transport {
    /// One request to one member, following 307/308 redirects that send the
    /// same request to another member when `allow_redirect` is on. Any other
    /// redirect is refused: etcd answers 301 for paths with `.`, `..` or
    /// `//`, and following that would act on another key.
    ///
    /// With `resume` (see [`Transport::request_resumable`]), each hop may
    /// resume or park its exchange there.
    pub(super) fn send_following_redirects(
        &self,
        (method, endpoint, target, payload): (&Method, &str, &str, Payload),
        limit: Limit,
        deadline: Option<Instant>,
        on_head: &mut dyn FnMut(&Head),
        mut resume: Resume,
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
            let hop = resume.as_mut().map(|(slot, by)| (&mut **slot, *by));
            let mut reply = self.send_once_in(request, endpoint, limit, on_head, hop)?;
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
            || self.cluster.list().iter().any(|e| {
                location
                    .strip_prefix(e.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::transport::tls::{self, TlsOptions};
    use crate::transport::{Authorization, Discovery, Transport, TransportConfig};

    fn transport(authorization: Option<Authorization>) -> Transport {
        Transport::new(TransportConfig {
            endpoints: vec![
                "https://10.0.0.1:2379".into(),
                "https://10.0.0.2:2379".into(),
            ],
            prefix: "/v2".into(),
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            allow_redirect: true,
            max_response_bytes: 1 << 20,
            expected_cluster_id: None,
            discover: false,
            discovery: Discovery {
                path: "/members",
                client_urls: |_| Ok(Vec::new()),
            },
            leader: None,
            grpc: None,
            tls: tls::config(&TlsOptions::default(), true).unwrap(),
            authorization,
            srv: None,
        })
    }

    /// The rule `send_following_redirects` applies before following a 307/308:
    /// never from https to http, and with credentials only to a member.
    #[test]
    fn redirects_keep_the_scheme_and_credentials_stay_with_members() {
        let t = transport(None);
        let from = "https://10.0.0.1:2379";
        assert!(t.may_redirect_to(from, "https://10.0.0.2:2379/v2/keys/a"));
        assert!(t.may_redirect_to(from, "https://10.9.9.9:2379/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "http://10.0.0.2:2379/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "/v2/keys/a"));

        let t = transport(Some(Authorization::basic("root", "pw").unwrap()));
        assert!(t.may_redirect_to(from, "https://10.0.0.2:2379/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "https://10.9.9.9:2379/v2/keys/a"));
        // A host that merely starts like a member's is not one.
        assert!(!t.may_redirect_to(from, "https://10.0.0.2:23790/v2/keys/a"));
        assert!(!t.may_redirect_to(from, "http://10.0.0.2:2379/v2/keys/a"));
    }
}
