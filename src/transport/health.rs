//! etcd's `/health`: the leader wait a write makes on a member it failed
//! over to ([`Transport::wait_for_leader`]), and the parser of the answer.
//!
//! `/health` is served by every etcd version and is part of neither the v2
//! nor the v3 API, so its one-field JSON body (`{"health":"true"}`) is read
//! here, with serde_json: the only body the transport reads.

use std::time::{Duration, Instant};

use ureq::http::Method;

use crate::error::{Error, Result};
use crate::transport::deadline::Limit;
use crate::transport::failure::Failure;
use crate::transport::http1::Payload;
use crate::transport::url::split_url;
use crate::transport::Transport;

impl Transport {
    /// Polls `endpoint`'s `/health` until it reports a leader (a member
    /// answers it once an election is over), for at most 10 s and never past
    /// `deadline`. Gives up silently: the request that follows reports.
    pub(super) fn wait_for_leader(&self, endpoint: &str, deadline: Option<Instant>) {
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
