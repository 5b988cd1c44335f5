//! etcd's v3 cluster membership: list, add (a voting member or a learner),
//! remove, change peer URLs, promote a learner. (The v2 API's members are
//! in the Cluster section, with ids in hex text; here an id is etcd's
//! `uint64_t`, which its tools print in hex: `"%" PRIx64`.)
//!
//! Every change goes through raft: it is a write, never sent twice
//! (`ETCDC_ERR_AMBIGUOUS` when its outcome is unknown: list the members to
//! learn it). Change one thing at a time and write something in between:
//! etcd 3.5.1 may answer a change before its raft has marked it applied,
//! and then drops a change proposed at once; the call then waits its whole
//! timeout and is `ETCDC_ERR_AMBIGUOUS` though nothing changed. With auth
//! on, changes need the role "root" (`ETCDC_ERR_GRPC_PERMISSION_DENIED`).
//!
//! Peer URLs are NUL-terminated UTF-8 strings, copied. Members come back as
//! an `etcdc_v3_member_list`, owned by the caller and freed with
//! `etcdc_v3_member_list_free()`; read-only (any number of threads may read
//! one at once); the strings its accessors return are borrowed from it. A
//! member is read by its index in the list, `i`; a URL of it by its index
//! `j`.

use std::ffi::c_char;
use std::ptr;

use super::arena::{Arena, Strings};
use super::args::{give, give_opt, put_opt};
use super::client::etcdc_client;
use super::v3_kv::read;
use super::{etcdc_status, status};
use crate::v3::Member;

/// One member, as offsets into the list's strings.
struct MemberAt {
    id: u64,
    name: usize,
    is_learner: bool,
    peer_urls: Vec<usize>,
    client_urls: Vec<usize>,
}

/// Members of the cluster, owned by the caller and freed with
/// `etcdc_v3_member_list_free()`. Read-only: any number of threads may read
/// it at once.
pub struct etcdc_v3_member_list {
    members: Vec<MemberAt>,
    strings: Strings,
}

impl etcdc_v3_member_list {
    pub(crate) fn new(list: &[Member]) -> etcdc_v3_member_list {
        let mut arena = Arena::default();
        let members = list
            .iter()
            .map(|m| MemberAt {
                id: m.id,
                name: arena.add(&m.name),
                is_learner: m.is_learner,
                peer_urls: m.peer_urls.iter().map(|u| arena.add(u)).collect(),
                client_urls: m.client_urls.iter().map(|u| arena.add(u)).collect(),
            })
            .collect();
        etcdc_v3_member_list {
            members,
            strings: arena.freeze(),
        }
    }

    /// String `at` of the list, or NULL.
    fn string(&self, at: Option<&usize>) -> *const c_char {
        at.map_or(ptr::null(), |&o| self.strings.ptr(o))
    }
}

/// Stores every member of the cluster, as the cluster agreed on it (a
/// linearizable read on etcd 3.5+; etcd 3.4 answers from the member's own
/// view), in `*out`: a new list, freed with `etcdc_v3_member_list_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_members(
    client: *const etcdc_client,
    out: *mut *mut etcdc_v3_member_list,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let members = arg!(client).v3().member_list()?;
        give(out, etcdc_v3_member_list::new(&members));
        Ok(())
    })
}

/// Adds a member that will listen to its peers at the `count` URLs of
/// `peer_urls`, as a learner with `is_learner` (it then does not vote and
/// does not count for the quorum until `etcdc_v3_member_promote()`). A
/// voting member counts for the quorum at once, before it is even started:
/// a one-member cluster that adds one has no quorum until it runs. Start it
/// with `--initial-cluster-state existing`.
///
/// On success `*id` (if not NULL) is the new member's id, and `*members`
/// (if not NULL) a new list of every member, the new one included (with no
/// name and no client URL until it has started), freed with
/// `etcdc_v3_member_list_free()`.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: Peer URLs
/// already exists" for a URL a member has; "etcdserver: member ID already
/// exist" for the same URLs again within a second: etcd makes ids of the
/// URLs and the time); `ETCDC_ERR_GRPC_INVALID_ARGUMENT` ("etcdserver:
/// given member URLs are invalid"); `ETCDC_ERR_INVALID_ARGUMENT` for NULL,
/// invalid UTF-8 or `count` 0; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_add(
    client: *const etcdc_client,
    peer_urls: *const *const c_char,
    count: usize,
    is_learner: bool,
    id: *mut u64,
    members: *mut *mut etcdc_v3_member_list,
) -> etcdc_status {
    status(|| {
        let urls = strings!(peer_urls, count);
        let added = arg!(client).v3().member_add(&urls, is_learner)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe {
            put_opt(id, added.member.id);
            give_opt(members, etcdc_v3_member_list::new(&added.members));
        }
        Ok(())
    })
}

/// Removes the member `id`. On success `*members` (if not NULL) is a new
/// list of the members left, freed with `etcdc_v3_member_list_free()`.
///
/// Errors: `ETCDC_ERR_GRPC_NOT_FOUND` ("etcdserver: member not found"),
/// also for a member already removed; `ETCDC_ERR_INVALID_ARGUMENT` for a
/// NULL `client`; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_remove(
    client: *const etcdc_client,
    id: u64,
    members: *mut *mut etcdc_v3_member_list,
) -> etcdc_status {
    status(|| {
        let left = arg!(client).v3().member_remove(id)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(members, etcdc_v3_member_list::new(&left)) };
        Ok(())
    })
}

/// Sets the peer URLs of member `id` to the `count` URLs of `peer_urls`.
/// On success `*members` (if not NULL) is a new list of every member,
/// freed with `etcdc_v3_member_list_free()`.
///
/// etcd 3.4.23 and 3.5.1 then list a learner as a voting member
/// (`etcdc_v3_member_list_is_learner()` false, here and in later lists):
/// etcd's own bug. Its raft still has it as a learner: it does not count
/// for the quorum, and promoting it is refused as before.
///
/// Errors: as `etcdc_v3_member_add()`'s for the URLs;
/// `ETCDC_ERR_GRPC_NOT_FOUND` ("etcdserver: member not found").
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_update(
    client: *const etcdc_client,
    id: u64,
    peer_urls: *const *const c_char,
    count: usize,
    members: *mut *mut etcdc_v3_member_list,
) -> etcdc_status {
    status(|| {
        let urls = strings!(peer_urls, count);
        let all = arg!(client).v3().member_update(id, &urls)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(members, etcdc_v3_member_list::new(&all)) };
        Ok(())
    })
}

/// Makes the learner `id` a voting member; etcd refuses until it has
/// caught up with the leader's log. On success `*members` (if not NULL) is
/// a new list of every member, freed with `etcdc_v3_member_list_free()`.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: can only
/// promote a learner member which is in sync with leader": not caught up,
/// e.g. not started; "etcdserver: can only promote a learner member": a
/// voting member); `ETCDC_ERR_GRPC_NOT_FOUND` ("etcdserver: member not
/// found"); `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`;
/// `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_promote(
    client: *const etcdc_client,
    id: u64,
    members: *mut *mut etcdc_v3_member_list,
) -> etcdc_status {
    status(|| {
        let all = arg!(client).v3().member_promote(id)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(members, etcdc_v3_member_list::new(&all)) };
        Ok(())
    })
}

/// Number of members in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_count(list: *const etcdc_v3_member_list) -> usize {
    read(list, 0, |l| l.members.len())
}

/// The id of member `i` (0-based, in etcd's order), or 0 (no member has
/// that id) if out of range or `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_id(
    list: *const etcdc_v3_member_list,
    i: usize,
) -> u64 {
    read(list, 0, |l| l.members.get(i).map_or(0, |m| m.id))
}

/// The name of member `i`: "" until it has started and joined; NULL if out
/// of range. Borrowed from the list.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_name(
    list: *const etcdc_v3_member_list,
    i: usize,
) -> *const c_char {
    read(list, ptr::null(), |l| {
        l.string(l.members.get(i).map(|m| &m.name))
    })
}

/// Whether member `i` is a learner (false if out of range or `list` is
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_is_learner(
    list: *const etcdc_v3_member_list,
    i: usize,
) -> bool {
    read(list, false, |l| {
        l.members.get(i).is_some_and(|m| m.is_learner)
    })
}

/// Number of peer URLs (where the other members reach it) of member `i`
/// (0 if out of range or `list` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_peer_url_count(
    list: *const etcdc_v3_member_list,
    i: usize,
) -> usize {
    read(list, 0, |l| {
        l.members.get(i).map_or(0, |m| m.peer_urls.len())
    })
}

/// Peer URL `j` of member `i`, or NULL if either is out of range. Borrowed
/// from the list.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_peer_url(
    list: *const etcdc_v3_member_list,
    i: usize,
    j: usize,
) -> *const c_char {
    read(list, ptr::null(), |l| {
        l.string(l.members.get(i).and_then(|m| m.peer_urls.get(j)))
    })
}

/// Number of client URLs (where clients reach it) of member `i`: none until
/// it has started and joined (0 too if out of range or `list` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_client_url_count(
    list: *const etcdc_v3_member_list,
    i: usize,
) -> usize {
    read(list, 0, |l| {
        l.members.get(i).map_or(0, |m| m.client_urls.len())
    })
}

/// Client URL `j` of member `i`, or NULL if either is out of range.
/// Borrowed from the list.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_client_url(
    list: *const etcdc_v3_member_list,
    i: usize,
    j: usize,
) -> *const c_char {
    read(list, ptr::null(), |l| {
        l.string(l.members.get(i).and_then(|m| m.client_urls.get(j)))
    })
}

/// Frees a member list and the strings borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_member_list_free(list: *mut etcdc_v3_member_list) {
    free!(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn member_views() {
        let list = etcdc_v3_member_list::new(&[
            Member {
                id: u64::MAX,
                name: "n1".into(),
                peer_urls: vec!["http://p:1".into(), "http://p:2".into()],
                client_urls: vec!["http://c:1".into()],
                is_learner: false,
            },
            Member {
                id: 7,
                peer_urls: vec!["http://q:1".into()],
                is_learner: true,
                ..Member::default()
            },
        ]);
        let l = Box::into_raw(Box::new(list));
        // SAFETY: a live list, freed at the end; the strings NUL-terminated.
        unsafe {
            let s = |p: *const c_char| CStr::from_ptr(p).to_str().unwrap();
            assert_eq!(etcdc_v3_member_list_count(l), 2);
            assert_eq!(etcdc_v3_member_list_id(l, 0), u64::MAX);
            assert_eq!(s(etcdc_v3_member_list_name(l, 0)), "n1");
            assert_eq!(s(etcdc_v3_member_list_name(l, 1)), "");
            assert!(!etcdc_v3_member_list_is_learner(l, 0));
            assert!(etcdc_v3_member_list_is_learner(l, 1));
            assert_eq!(etcdc_v3_member_list_peer_url_count(l, 0), 2);
            assert_eq!(s(etcdc_v3_member_list_peer_url(l, 0, 1)), "http://p:2");
            assert!(etcdc_v3_member_list_peer_url(l, 0, 2).is_null());
            assert_eq!(s(etcdc_v3_member_list_client_url(l, 0, 0)), "http://c:1");
            assert_eq!(etcdc_v3_member_list_client_url_count(l, 1), 0);
            assert!(etcdc_v3_member_list_client_url(l, 1, 0).is_null());
            assert!(etcdc_v3_member_list_name(l, 2).is_null());
            assert_eq!(etcdc_v3_member_list_id(l, 2), 0);
            etcdc_v3_member_list_free(l);
        }
    }
}
