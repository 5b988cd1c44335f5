//! What a client knows of the cluster: the endpoint list (replaced whole by
//! discovery), the member requests go to first, whether it was just moved
//! on, the cluster id every answer must carry (the expected one, else the
//! first seen) and the members whose answers have shown it. Shared by a
//! transport and its forks, so that they follow a failover together. Fed
//! endpoints and replies (only their `X-Etcd-Cluster-Id` is read); sends
//! nothing and knows no API.
//!
//! Fork: no lock at all. A lock held by another thread at the instant of
//! `fork()` stays held in the child forever (that thread does not exist
//! there), and this state is read by every request. So each piece is an
//! atomic, or an atomic pointer to data that is published once, whole, and
//! never changed or freed while the view lives:
//! - the endpoint list is one of the [`Lists`] ever installed, each kept
//!   until the view drops: a reader loads a pointer and borrows the list,
//!   without a lock, a reference count or a retry. Reclamation needs no
//!   epochs because nothing is reclaimed early: a replacement that equals a
//!   list seen before reuses it, so what is kept is bounded by the distinct
//!   lists the client was ever given (a replacement follows a failover or a
//!   DNS change: rare, and mostly the same few lists);
//! - the verified members are an append-only linked list (bounded by the
//!   members ever seen, as the `Vec` it replaces was);
//! - the cluster id is set once by a compare-and-swap (a `OnceLock` being
//!   initialised at the fork would block the child's first check).
//!
//! A fork in the middle of an update leaves the child either side of the
//! one atomic store that publishes it: a consistent view either way.

use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::transport::Reply;

/// What a client has learnt about the cluster.
pub(crate) struct ClusterView {
    /// The endpoint list in use: one of `lists`, never null.
    endpoints: AtomicPtr<Node<Vec<String>>>,
    /// Every distinct endpoint list installed, the newest first: what
    /// `endpoints` may point to, freed only with the view.
    lists: AtomicPtr<Node<Vec<String>>>,
    /// Index (into `endpoints`) of the member requests go to first.
    current: AtomicUsize,
    /// The cluster id required of every answer: the expected one, else the
    /// first one seen (null until then). Set once, freed with the view.
    cluster_id: AtomicPtr<String>,
    /// Members whose answers carried the required cluster id, the newest
    /// first. Append-only, freed with the view.
    verified: AtomicPtr<Node<String>>,
    /// `current` was moved on after a member failed mid-request: the next
    /// write waits for a leader there, as a failover attempt does.
    moved: AtomicBool,
    /// The highest raft term any member's v3 answer carried: a member that
    /// answers with an older one is cut off from the cluster's majority.
    raft_term: AtomicU64,
}

/// One entry of an append-only, lock-free linked list: written once before
/// it is published (by a compare-and-swap on the head), never changed, and
/// freed only when its [`ClusterView`] drops.
struct Node<T> {
    value: T,
    next: *mut Node<T>,
}

/// The entries of the list that starts at `head`, the newest first.
///
/// # Safety
/// `head` is null or a node of a list of this view (see [`Node`]): valid
/// for as long as the view is borrowed, as the returned references are.
unsafe fn entries<'a, T: 'a>(head: *mut Node<T>) -> impl Iterator<Item = &'a T> {
    let mut at = head;
    std::iter::from_fn(move || {
        // SAFETY: see the function's contract.
        let node = unsafe { at.as_ref() }?;
        at = node.next;
        Some(&node.value)
    })
}

/// The node of the list at `head` that holds `value`: one already there
/// that is the `same`, else a new one published at the head. Lock-free:
/// a compare-and-swap, looked through again when another thread won it.
fn push<T>(head: &AtomicPtr<Node<T>>, value: T, same: impl Fn(&T, &T) -> bool) -> *mut Node<T> {
    let fresh = Box::into_raw(Box::new(Node {
        value,
        next: ptr::null_mut(),
    }));
    let mut seen = head.load(Ordering::Acquire);
    loop {
        // SAFETY: `fresh` is ours until published; `seen` is null or a
        // published node (see `Node`).
        let found = unsafe {
            let mut at = seen;
            loop {
                match at.as_ref() {
                    Some(node) if same(&node.value, &(*fresh).value) => break Some(at),
                    Some(node) => at = node.next,
                    None => break None,
                }
            }
        };
        if let Some(found) = found {
            // SAFETY: never published.
            drop(unsafe { Box::from_raw(fresh) });
            return found;
        }
        // SAFETY: as above.
        unsafe { (*fresh).next = seen };
        match head.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return fresh,
            // Another thread published first: look again (it may have
            // published the same value).
            Err(now) => seen = now,
        }
    }
}

/// Two cluster ids in hex name the same cluster: equal as numbers (a
/// zero-padded id is the same), or as text when one is not a number.
fn same_id(a: &str, b: &str) -> bool {
    match (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// Frees a list whose nodes nothing refers to any more.
fn free_list<T>(head: &mut AtomicPtr<Node<T>>) {
    let mut at = *head.get_mut();
    while !at.is_null() {
        // SAFETY: nodes come from Box::into_raw in `push` and are freed
        // once, here.
        let node = unsafe { Box::from_raw(at) };
        at = node.next;
    }
}

impl ClusterView {
    /// The view of a client built with these endpoints (non-empty) and,
    /// when given, the cluster id it expects.
    pub fn new(endpoints: Vec<String>, expected_cluster_id: Option<String>) -> ClusterView {
        let lists = AtomicPtr::new(ptr::null_mut());
        let first = push(&lists, endpoints, |_, _| false);
        ClusterView {
            endpoints: AtomicPtr::new(first),
            lists,
            current: AtomicUsize::new(0),
            cluster_id: AtomicPtr::new(
                expected_cluster_id.map_or(ptr::null_mut(), |id| Box::into_raw(Box::new(id))),
            ),
            verified: AtomicPtr::new(ptr::null_mut()),
            moved: AtomicBool::new(false),
            raft_term: AtomicU64::new(0),
        }
    }

    /// The endpoint list as it is now: one atomic load, no lock. It stays
    /// valid (unchanged) while the view lives, whatever replaces it.
    pub fn list(&self) -> &[String] {
        // SAFETY: never null; nodes of `lists` live as long as the view.
        unsafe { &(*self.endpoints.load(Ordering::Acquire)).value }
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
    /// The list replaced stays valid for whoever still reads it; one equal
    /// to a list installed before takes that one's place (see the module
    /// doc).
    pub fn replace(&self, endpoints: Vec<String>) {
        let list = push(&self.lists, endpoints, |a, b| a == b);
        self.endpoints.store(list, Ordering::Release);
        self.current.store(0, Ordering::Relaxed);
    }

    /// The required cluster id, once known.
    fn cluster_id(&self) -> Option<&str> {
        // SAFETY: null or from Box::into_raw, set once and freed only with
        // the view.
        unsafe { self.cluster_id.load(Ordering::Acquire).as_ref() }.map(String::as_str)
    }

    /// Whether the client knows which cluster it talks to (an expected id,
    /// or one seen), so that members must prove it.
    pub fn knows_cluster_id(&self) -> bool {
        self.cluster_id().is_some()
    }

    /// Refuses an answer from another cluster than the one required: the
    /// expected id, else the first one this client saw. An answer that
    /// carries the required id verifies the member that sent it.
    pub fn check_cluster_id(&self, reply: Reply) -> Result<Reply> {
        if let Some(found) = reply.headers.cluster_id.as_deref() {
            self.check_id(&reply.endpoint, found)?;
        }
        Ok(reply)
    }

    /// [`check_cluster_id`](Self::check_cluster_id) for an answer of
    /// `endpoint` that carries cluster id `found` (hex, as etcd's header
    /// gives it; a v3 answer's number printed `{:x}` is the same id).
    pub fn check_id(&self, endpoint: &str, found: &str) -> Result<()> {
        // The first id seen is pinned, unless one was expected.
        let expected = match self.cluster_id() {
            Some(expected) => expected,
            None => self.pin_cluster_id(found),
        };
        if !same_id(expected, found) {
            return Err(Error::ClusterIdMismatch {
                endpoint: endpoint.to_owned(),
                expected: expected.to_owned(),
                found: found.to_owned(),
            });
        }
        if !self.is_verified(endpoint) {
            push(&self.verified, endpoint.to_owned(), |a, b| a == b);
        }
        Ok(())
    }

    /// Records a raft term seen in an answer; returns the highest one
    /// seen before (0 if none).
    pub fn see_term(&self, term: u64) -> u64 {
        self.raft_term.fetch_max(term, Ordering::Relaxed)
    }

    /// Pins `found` as the required cluster id, unless another thread
    /// pinned one first: returns the one pinned.
    fn pin_cluster_id(&self, found: &str) -> &str {
        let fresh = Box::into_raw(Box::new(found.to_owned()));
        let pinned = self.cluster_id.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        // SAFETY: `fresh` and a pinned id both come from Box::into_raw and
        // are freed only with the view; a `fresh` that lost was never
        // shared.
        unsafe {
            match pinned {
                Ok(_) => &*fresh,
                Err(first) => {
                    drop(Box::from_raw(fresh));
                    &*first
                }
            }
        }
    }

    /// An answer from `endpoint` has carried the required cluster id.
    pub fn is_verified(&self, endpoint: &str) -> bool {
        // SAFETY: nodes of `verified` live as long as the view.
        let mut members = unsafe { entries(self.verified.load(Ordering::Acquire)) };
        members.any(|e| e == endpoint)
    }
}

impl Drop for ClusterView {
    fn drop(&mut self) {
        // Nothing borrows from the view any more: free what it kept.
        free_list(&mut self.lists);
        free_list(&mut self.verified);
        let id = *self.cluster_id.get_mut();
        if !id.is_null() {
            // SAFETY: from Box::into_raw, freed once, here.
            drop(unsafe { Box::from_raw(id) });
        }
    }
}

impl fmt::Debug for ClusterView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterView")
            .field("endpoints", &self.list())
            .field("current", &self.current())
            .field("cluster_id", &self.cluster_id())
            .finish_non_exhaustive()
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
        // A zero-padded id (as someone may copy it) is the same number.
        assert!(view.check_id("http://d:1", "0000cdf8").is_ok());
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

    #[test]
    fn a_replaced_list_stays_readable_and_equal_lists_are_kept_once() {
        let view = ClusterView::new(vec!["http://a:1".into()], None);
        let old = view.list();
        view.replace(vec!["http://b:1".into()]);
        // Borrowed before the replacement, still intact.
        assert_eq!(old, ["http://a:1"]);
        assert_eq!(view.list(), ["http://b:1"]);
        for _ in 0..100 {
            view.replace(vec!["http://a:1".into()]);
            view.replace(vec!["http://b:1".into()]);
        }
        // SAFETY: the view's own list.
        let kept = unsafe { entries(view.lists.load(Ordering::Acquire)) }.count();
        assert_eq!(kept, 2);
        // The same list as before, not a copy.
        view.replace(vec!["http://a:1".into()]);
        assert!(std::ptr::eq(view.list(), old));
    }

    #[test]
    fn threads_agree_on_one_pinned_id_and_verify_each_member_once() {
        let view = ClusterView::new(vec!["http://a:1".into()], None);
        std::thread::scope(|s| {
            for t in 0..4 {
                let view = &view;
                s.spawn(move || {
                    for i in 0..200 {
                        let endpoint = format!("http://m{}:1", (i + t) % 10);
                        assert!(view
                            .check_cluster_id(reply(&endpoint, Some("cdf8")))
                            .is_ok());
                    }
                });
            }
        });
        // SAFETY: the view's own list.
        let mut members: Vec<&String> =
            unsafe { entries(view.verified.load(Ordering::Acquire)) }.collect();
        members.sort();
        members.dedup();
        assert_eq!(members.len(), 10);
        // SAFETY: as above.
        assert_eq!(
            unsafe { entries(view.verified.load(Ordering::Acquire)) }.count(),
            10
        );
        assert_eq!(view.cluster_id(), Some("cdf8"));
    }
}

#[cfg(test)]
mod fork_tests {
    use super::*;
    use crate::transport::Fields;
    use std::sync::atomic::AtomicBool;

    fn reply(endpoint: &str) -> Reply {
        Reply {
            status: 200,
            headers: Fields {
                cluster_id: Some("cdf8".into()),
                ..Fields::default()
            },
            body: Vec::new(),
            endpoint: endpoint.into(),
            write: false,
        }
    }

    /// Threads replace the endpoint list and check replies (which reads and
    /// extends the verified members) while the main thread forks: every
    /// child reads the list, checks a reply from a member not verified yet
    /// and replaces the list within 5 s (SIGALRM ends it otherwise). With
    /// the former `RwLock`s about half the children hung (a replacement's
    /// write guard, or a reader's guard that blocks the child's first
    /// verification, caught by the fork): 502 s for the 200 rounds.
    #[test]
    fn a_child_uses_the_view_whatever_the_parent_was_doing_at_the_fork() {
        let view = ClusterView::new(vec!["http://a:1".into(), "http://b:1".into()], None);
        let stop = AtomicBool::new(false);
        let mut stuck = 0;
        std::thread::scope(|s| {
            let (view, stop) = (&view, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    view.replace(vec!["http://a:1".into(), "http://b:1".into()]);
                    view.replace(vec!["http://b:1".into(), "http://a:1".into()]);
                }
            });
            for _ in 0..2 {
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let _ = view.check_cluster_id(reply(&view.list()[0]));
                    }
                });
            }
            for round in 0..200 {
                // SAFETY: the child only uses the view (no lock of its own:
                // that is the point), allocates (glibc's malloc is fork-safe)
                // and leaves with _exit; alarm's SIGALRM ends it if stuck.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0);
                if pid == 0 {
                    unsafe { libc::alarm(5) };
                    let first = view.list()[0].clone();
                    let new = format!("http://child{round}:1");
                    let ok = view.check_cluster_id(reply(&new)).is_ok() && view.is_verified(&new);
                    view.replace(vec![new, first]);
                    // SAFETY: ends the child without the harness.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) };
                }
                let mut status = 0;
                // SAFETY: our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
                    stuck += 1;
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert_eq!(stuck, 0, "children stuck or failing, of 200");
    }
}
