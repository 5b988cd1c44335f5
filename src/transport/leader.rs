//! Noticing that a write's member lost its leader while the write waits.
//!
//! A member forwards a write to its leader. If that leader dies with the
//! write in flight, the write is lost there, and the member answers only
//! after etcd's own request timeout (7 s on a default cluster), long after a
//! new leader was elected (about 1 s). So a write still unanswered after
//! [`CHECK_AFTER`] asks its member, on another connection, how long its
//! current leader has led ([`LeaderProbe`]). A leadership that began after
//! the write was sent means the member lost the leader the write went to:
//! it is reported as of unknown outcome at once (etcd may still apply it,
//! if it was replicated), instead of seven seconds later, and the next
//! write waits for a member with a leader. (etcd's v2 statistics also show
//! a member that became a candidate as a fresh "leader" of its own: that is
//! the member having lost its leader, the same news.) Which request tells
//! and how its answer reads is the API's, supplied as a [`LeaderProbe`].
//!
//! v3 calls ([`crate::transport::unary`], reads too) wait the same way, on
//! the same schedule, but ask `Maintenance/Status` on the call's own HTTP/2
//! connection: a member with no leader, or with a raft term past the
//! highest this client had seen when the call left, lost that leader; a
//! member that answers nothing for [`SILENT_AFTER`](crate::transport::unary::SILENT_AFTER)
//! is stopped or cut off. Either way the call gives up on it.

use std::time::{Duration, Instant};

use ureq::http::Method;

use crate::transport::deadline::Limit;
use crate::transport::http1::Payload;
use crate::transport::url::split_url;
use crate::transport::Transport;

/// How long a write waits for its answer before asking about the leader:
/// etcd's default election timeout. A healthy write answers long before.
pub(crate) const CHECK_AFTER: Duration = Duration::from_millis(1000);

/// How often it asks again while the write still waits.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(200);

/// The most one question may take (it is skipped if it takes longer).
pub(crate) const PROBE_LIMIT: Duration = Duration::from_millis(250);

/// How to ask a member how long its current leader has led: a GET of `path`
/// (under the API prefix), whose answer `leader_for` reads (`None`: no
/// leader known, or not understood). Supplied by the API layer (v2:
/// `/stats/self`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeaderProbe {
    pub path: &'static str,
    pub leader_for: fn(&[u8]) -> Option<Duration>,
}

impl Transport {
    /// Whether `endpoint`'s current leader took over after `sent`: asked
    /// now, on another connection, within [`PROBE_LIMIT`] and never past
    /// `answer_by` (the write's own deadline). `false` when it cannot tell
    /// (no probe, no time, no answer, no leader yet).
    pub(super) fn leader_changed_since(
        &self,
        endpoint: &str,
        sent: Instant,
        answer_by: Option<Instant>,
    ) -> bool {
        let Some(probe) = self.config.leader else {
            return false;
        };
        let left = answer_by.map_or(PROBE_LIMIT, |by| {
            by.saturating_duration_since(Instant::now())
                .min(PROBE_LIMIT)
        });
        if left.is_zero() {
            return false;
        }
        let url = format!("{endpoint}{}", self.api_path(probe.path));
        let (origin, target) = split_url(&url);
        let request = (&Method::GET, origin, target, Payload::Empty);
        // The leader's start, by our clock, is no earlier than `asked` minus
        // how long it has led (etcd measured that after `asked`).
        let asked = Instant::now();
        let Ok(reply) = self.send_once(request, endpoint, Limit::Within(left), &mut |_| {}) else {
            return false;
        };
        if reply.status != 200 {
            return false;
        }
        (probe.leader_for)(&reply.body)
            .and_then(|led| asked.checked_sub(led))
            .is_some_and(|since| since > sent)
    }
}
