//! What a client knows of the cluster: the endpoint list (replaced whole by
//! discovery), the member requests go to first, whether it was just moved
//! on, the cluster id every answer must carry (the expected one, else the
//! first seen) and the members whose answers have shown it. Shared by a
//! transport and its forks, so that they follow a failover together. Fed
//! endpoints and replies (only their `X-Etcd-Cluster-Id` is read); sends
//! nothing and knows no API.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::error::{Error, Result};
use crate::transport::Reply;

/// What a client has learnt about the cluster.
#[derive(Debug)]
pub(crate) struct ClusterView {
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

impl ClusterView {
    /// The view of a client built with these endpoints (non-empty) and,
    /// when given, the cluster id it expects.
    pub fn new(endpoints: Vec<String>, expected_cluster_id: Option<String>) -> ClusterView {
        ClusterView {
            endpoints: RwLock::new(Arc::new(endpoints)),
            current: AtomicUsize::new(0),
            cluster_id: expected_cluster_id.map_or_else(OnceLock::new, OnceLock::from),
            verified: RwLock::new(Vec::new()),
            moved: AtomicBool::new(false),
        }
    }

    /// The endpoint list as it is now.
    pub fn list(&self) -> Arc<Vec<String>> {
        match self.endpoints.read() {
            Ok(list) => list.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The endpoints, the one requests go to first, first.
    pub fn in_order(&self) -> Vec<String> {
        let list = self.list();
        let start = self.current() % list.len();
        list[start..]
            .iter()
            .chain(&list[..start])
            .cloned()
            .collect()
    }

    /// Index (into [`list`](Self::list)) of the member requests go to first.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Requests now go to member `i` first (it answered after others failed).
    pub fn settle_on(&self, i: usize) {
        self.current.store(i, Ordering::Relaxed);
    }

    /// Member `from` just failed mid-request (a dying member still accepts
    /// connections for a moment): requests go to `to` first, and the next
    /// write waits for a leader there. Unless another thread moved on
    /// already.
    pub fn move_on(&self, from: usize, to: usize) {
        let moved = self
            .current
            .compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed);
        if moved.is_ok() {
            self.moved.store(true, Ordering::Relaxed);
        }
    }

    /// Whether [`move_on`](Self::move_on) happened since the last call
    /// (each move is taken once).
    pub fn take_moved(&self) -> bool {
        self.moved.swap(false, Ordering::Relaxed)
    }

    /// Replaces the endpoint list (discovery); requests go to its first.
    pub fn replace(&self, endpoints: Vec<String>) {
        if let Ok(mut list) = self.endpoints.write() {
            *list = Arc::new(endpoints);
            self.current.store(0, Ordering::Relaxed);
        }
    }

    /// Whether the client knows which cluster it talks to (an expected id,
    /// or one seen), so that members must prove it.
    pub fn knows_cluster_id(&self) -> bool {
        self.cluster_id.get().is_some()
    }

    /// Refuses an answer from another cluster than the one required: the
    /// expected id, else the first one this client saw. An answer that
    /// carries the required id verifies the member that sent it.
    pub fn check_cluster_id(&self, reply: Reply) -> Result<Reply> {
        let Some(found) = reply.headers.cluster_id.as_deref() else {
            return Ok(reply);
        };
        // The first id seen is pinned, unless one was expected.
        let expected = self.cluster_id.get_or_init(|| found.to_owned());
        if !expected.eq_ignore_ascii_case(found) {
            return Err(Error::ClusterIdMismatch {
                endpoint: reply.endpoint.clone(),
                expected: expected.clone(),
                found: found.to_owned(),
            });
        }
        if !self.is_verified(&reply.endpoint) {
            let mut list = self
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
    pub fn is_verified(&self, endpoint: &str) -> bool {
        let list = self
            .verified
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.iter().any(|e| e == endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Fields;

    fn reply(endpoint: &str, cluster_id: Option<&str>) -> Reply {
        Reply {
            status: 200,
            headers: Fields {
                cluster_id: cluster_id.map(str::to_owned),
                ..Fields::default()
            },
            body: Vec::new(),
            endpoint: endpoint.into(),
            write: false,
        }
    }

    #[test]
    fn the_first_cluster_id_seen_is_pinned_and_verifies_its_member() {
        let view = ClusterView::new(vec!["http://a:1".into(), "http://b:1".into()], None);
        assert!(!view.knows_cluster_id());
        // An answer without the header proves nothing.
        assert!(view.check_cluster_id(reply("http://a:1", None)).is_ok());
        assert!(!view.is_verified("http://a:1"));
        assert!(view
            .check_cluster_id(reply("http://a:1", Some("cdf8")))
            .is_ok());
        assert!(view.knows_cluster_id() && view.is_verified("http://a:1"));
        assert!(view
            .check_cluster_id(reply("http://b:1", Some("CDF8")))
            .is_ok());
        assert!(view.is_verified("http://b:1"));
        assert!(matches!(
            view.check_cluster_id(reply("http://c:1", Some("beef"))),
            Err(Error::ClusterIdMismatch { expected, found, .. }) if expected == "cdf8" && found == "beef"
        ));
        assert!(!view.is_verified("http://c:1"));
    }

    #[test]
    fn moving_on_happens_once_and_discovery_starts_over() {
        let view = ClusterView::new(
            vec!["http://a:1".into(), "http://b:1".into()],
            Some("1".into()),
        );
        assert!(view.knows_cluster_id());
        view.move_on(0, 1);
        // Another thread that started from member 0 too: already moved.
        view.move_on(0, 1);
        assert_eq!(view.in_order(), ["http://b:1", "http://a:1"]);
        assert!(view.take_moved());
        assert!(!view.take_moved());
        view.replace(vec!["http://c:1".into()]);
        assert_eq!(
            (view.current(), view.in_order()),
            (0, vec!["http://c:1".to_owned()])
        );
    }
}
