//! Cluster membership: list, add (as a voting member or a learner),
//! remove, change peer URLs, promote a learner.
//!
//! A member id is a `u64` chosen by etcd; etcd's own tools print it in hex
//! (`format!("{id:x}")`). Changes go through raft: each is a write, never
//! sent twice ([`Error::Ambiguous`](crate::Error::Ambiguous) when its outcome
//! is unknown: list the members to learn it).
//!
//! With auth on, changes need the `root` role (`PermissionDenied`
//! otherwise); etcd 3.4.23 and 3.5.1 list the members for anyone, even
//! without credentials.
//!
//! Change one thing at a time, and write something in between: etcd
//! 3.5.1 may answer a change before its raft has marked it applied, and
//! its raft then drops a change proposed at once ("possible unapplied conf
//! change" in its log) and never answers it: the call waits its whole
//! timeout and is [`Error::Ambiguous`](crate::Error::Ambiguous) (though
//! nothing changed). Any write committed in between avoids it.

use super::proto::{etcdserverpb as pb, methods};
use super::types::Header;
use super::V3;
use crate::error::{Error, Result};
use crate::transport::unary::Kind;

/// A member of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// Empty until the member has started and joined.
    pub name: String,
    /// Where the other members reach it.
    pub peer_urls: Vec<String>,
    /// Where clients reach it; empty until it has started and joined.
    pub client_urls: Vec<String>,
    /// A learner receives the log but does not vote and does not count for
    /// the quorum; it serves no client calls but `Status` (and serializable
    /// reads) until it is promoted.
    pub is_learner: bool,
}

impl From<pb::Member> for Member {
    fn from(m: pb::Member) -> Member {
        Member {
            id: m.id,
            name: m.name,
            peer_urls: m.peer_ur_ls,
            client_urls: m.client_ur_ls,
            is_learner: m.is_learner,
        }
    }
}

fn members(list: Vec<pb::Member>) -> Vec<Member> {
    list.into_iter().map(Member::from).collect()
}

/// A member added ([`V3::member_add`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAdded {
    pub header: Header,
    /// The new member: its id and peer URLs (no name or client URLs before
    /// it starts).
    pub member: Member,
    /// Every member, the new one included.
    pub members: Vec<Member>,
}

fn check_urls(peer_urls: &[&str]) -> Result<Vec<String>> {
    if peer_urls.is_empty() {
        return Err(Error::InvalidArgument(
            "a member needs at least one peer URL".into(),
        ));
    }
    Ok(peer_urls.iter().map(|u| (*u).to_owned()).collect())
}

impl V3<'_> {
    /// Every member of the cluster, as the cluster agreed on it (a
    /// linearizable read on etcd 3.5+; etcd 3.4 answers from the member's
    /// own view).
    pub fn member_list(&self) -> Result<Vec<Member>> {
        let request = pb::MemberListRequest { linearizable: true };
        let answer = self.call(methods::CLUSTER_MEMBER_LIST, &request, Kind::Linearizable)?;
        Ok(members(answer.members))
    }

    /// Adds a member that will listen to its peers at `peer_urls`, as a
    /// learner with `is_learner`. A voting member counts for the quorum at
    /// once, before it is even started: etcd lets a one-member cluster add
    /// one, and that cluster then has no quorum until the new member runs.
    /// A learner does not count; [`member_promote`](Self::member_promote)
    /// it once it has caught up.
    ///
    /// Errors: [`Error::InvalidArgument`] (here) for no URL;
    /// `FailedPrecondition` "etcdserver: Peer URLs already exists" for a
    /// URL a member has, or "etcdserver: member ID already exist" (etcd
    /// makes ids of the URLs and the time in seconds: the same URLs again
    /// within a second); `InvalidArgument` "etcdserver: given member URLs
    /// are invalid" for a URL etcd cannot parse.
    pub fn member_add(&self, peer_urls: &[&str], is_learner: bool) -> Result<MemberAdded> {
        let request = pb::MemberAddRequest {
            peer_ur_ls: check_urls(peer_urls)?,
            is_learner,
        };
        let answer = self.call(methods::CLUSTER_MEMBER_ADD, &request, Kind::Write)?;
        Ok(MemberAdded {
            header: answer.header.into(),
            member: answer.member.map(Member::from).unwrap_or_default(),
            members: members(answer.members),
        })
    }

    /// Removes member `id`; returns the members left.
    ///
    /// Errors: `NotFound` "etcdserver: member not found" (also for a
    /// member already removed).
    pub fn member_remove(&self, id: u64) -> Result<Vec<Member>> {
        let request = pb::MemberRemoveRequest { id };
        let answer = self.call(methods::CLUSTER_MEMBER_REMOVE, &request, Kind::Write)?;
        Ok(members(answer.members))
    }

    /// Sets member `id`'s peer URLs; returns every member.
    ///
    /// etcd 3.4.23 and 3.5.1 then list a learner as a voting member
    /// (`is_learner` false, in this answer and in the member list after):
    /// etcd's own bug. Its raft still has it as a learner: it does not count
    /// for the quorum, and promoting it is refused as before.
    ///
    /// Errors: as [`member_add`](Self::member_add)'s for the URLs;
    /// `NotFound` "etcdserver: member not found".
    pub fn member_update(&self, id: u64, peer_urls: &[&str]) -> Result<Vec<Member>> {
        let request = pb::MemberUpdateRequest {
            id,
            peer_ur_ls: check_urls(peer_urls)?,
        };
        let answer = self.call(methods::CLUSTER_MEMBER_UPDATE, &request, Kind::Write)?;
        Ok(members(answer.members))
    }

    /// Makes learner `id` a voting member; returns every member. etcd
    /// refuses until the learner has caught up with the leader's log.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: can only promote a learner
    /// member which is in sync with leader" (not caught up, e.g. not
    /// started); `FailedPrecondition` "etcdserver: can only promote a
    /// learner member" for a voting member; `NotFound` "etcdserver: member
    /// not found".
    pub fn member_promote(&self, id: u64) -> Result<Vec<Member>> {
        let request = pb::MemberPromoteRequest { id };
        let answer = self.call(methods::CLUSTER_MEMBER_PROMOTE, &request, Kind::Write)?;
        Ok(members(answer.members))
    }
}
