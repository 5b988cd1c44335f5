//! The cluster: members (list, add, remove, update), the leader, machines,
//! statistics, versions and health.

use std::ffi::{c_char, c_int};
use std::ptr;

use super::arena::{Arena, Strings};
use super::args::{give, give_opt, malloc_string, put_string};
use super::client::etcdc_client;
use super::list::etcdc_strings;
use super::{etcdc_status, status};
use crate::error::Error;
use crate::Member;

/// One member of the cluster. Borrowed from the `etcdc_member_list` it came
/// from: valid until that list is freed.
#[repr(C)]
pub struct etcdc_member {
    /// The member's id, in hex.
    pub id: *const c_char,
    /// Its name; "" for a member added but not started yet.
    pub name: *const c_char,
    /// URLs the other members reach it at (`peer_url_count` of them).
    pub peer_urls: *const *const c_char,
    pub peer_url_count: usize,
    /// URLs clients reach it at (`client_url_count`; none for a member not
    /// started yet).
    pub client_urls: *const *const c_char,
    pub client_url_count: usize,
}

/// A list of members, owned by the caller and freed with
/// `etcdc_member_list_free()`. Read-only: any number of threads may read it.
pub struct etcdc_member_list {
    members: Vec<etcdc_member>,
    _urls: Vec<*const c_char>,
    _strings: Strings,
}

// SAFETY: the pointers point into data owned by the list, never mutated.
unsafe impl Send for etcdc_member_list {}
// SAFETY: as above.
unsafe impl Sync for etcdc_member_list {}

impl etcdc_member_list {
    pub(crate) fn new(members: &[Member]) -> etcdc_member_list {
        let mut arena = Arena::default();
        let offsets: Vec<_> = members
            .iter()
            .map(|m| {
                let id = arena.add(&m.id);
                let name = arena.add(&m.name);
                let peers: Vec<usize> = m.peer_urls.iter().map(|u| arena.add(u)).collect();
                let clients: Vec<usize> = m.client_urls.iter().map(|u| arena.add(u)).collect();
                (id, name, peers, clients)
            })
            .collect();
        let strings = arena.freeze();
        let urls: Vec<*const c_char> = offsets
            .iter()
            .flat_map(|(_, _, peers, clients)| peers.iter().chain(clients))
            .map(|&o| strings.ptr(o))
            .collect();
        let base = urls.as_ptr();
        let mut next = 0;
        let members = offsets
            .iter()
            .map(|(id, name, peers, clients)| {
                // SAFETY: `next` stays within `urls`, laid out in this order.
                let at = |n: usize| unsafe { base.add(n) };
                let member = etcdc_member {
                    id: strings.ptr(*id),
                    name: strings.ptr(*name),
                    peer_urls: at(next),
                    peer_url_count: peers.len(),
                    client_urls: at(next + peers.len()),
                    client_url_count: clients.len(),
                };
                next += peers.len() + clients.len();
                member
            })
            .collect();
        etcdc_member_list {
            members,
            _urls: urls,
            _strings: strings,
        }
    }
}

/// Stores the cluster's members in `*out` (a new list, freed with
/// `etcdc_member_list_free()`).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_members(
    client: *const etcdc_client,
    out: *mut *mut etcdc_member_list,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        give(out, etcdc_member_list::new(&arg!(client).members()?));
        Ok(())
    })
}

/// Stores the member that leads the cluster now (python-etcd's `leader`), as
/// the answering member sees it, in `*out`: a new list of one member, freed
/// with `etcdc_member_list_free()`.
///
/// Errors: `ETCDC_ERR_PROTOCOL` when the member knows no leader (during an
/// election); `ETCDC_ERR_INVALID_ARGUMENT`; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_leader(
    client: *const etcdc_client,
    out: *mut *mut etcdc_member_list,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        give(out, etcdc_member_list::new(&[arg!(client).leader()?]));
        Ok(())
    })
}

/// Adds a member with these `count` peer URLs to the cluster (it still has
/// to be started, with `--initial-cluster-state existing`). Stores it in
/// `*out` (if not NULL): a new list of one member, with its id.
///
/// Errors: etcd's (e.g. a peer URL already in use), `ETCDC_ERR_INVALID_ARGUMENT`,
/// request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_member_add(
    client: *const etcdc_client,
    peer_urls: *const *const c_char,
    count: usize,
    out: *mut *mut etcdc_member_list,
) -> etcdc_status {
    status(|| {
        let member = arg!(client).add_member(&strings!(peer_urls, count))?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_member_list::new(&[member])) };
        Ok(())
    })
}

/// Removes the member `id` (hex) from the cluster.
///
/// Errors: etcd's (an unknown id), `ETCDC_ERR_INVALID_ARGUMENT` (NULL, not
/// hex), request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_member_remove(
    client: *const etcdc_client,
    id: *const c_char,
) -> etcdc_status {
    status(|| arg!(client).remove_member(string!(id)))
}

/// Replaces the peer URLs of member `id` (hex) with these `count` URLs.
///
/// Errors: etcd's, `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_member_update(
    client: *const etcdc_client,
    id: *const c_char,
    peer_urls: *const *const c_char,
    count: usize,
) -> etcdc_status {
    status(|| arg!(client).update_member(string!(id), &strings!(peer_urls, count)))
}

/// Number of members in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_member_list_count(list: *const etcdc_member_list) -> usize {
    super::boundary(|| {
        // SAFETY: NULL or live per the header's contract.
        unsafe { list.as_ref() }.map_or(0, |l| l.members.len())
    })
}

/// Member `i` (0-based), borrowed from the list, or NULL if out of range.
#[no_mangle]
pub unsafe extern "C" fn etcdc_member_list_get(
    list: *const etcdc_member_list,
    i: usize,
) -> *const etcdc_member {
    super::boundary(|| {
        // SAFETY: NULL or live per the header's contract.
        unsafe { list.as_ref() }
            .and_then(|l| l.members.get(i))
            .map_or(ptr::null(), |m| m as *const etcdc_member)
    })
}

/// Frees a member list and the members borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_member_list_free(list: *mut etcdc_member_list) {
    free!(list)
}

/// Stores the client URLs of the cluster's members (python-etcd's
/// `machines`) in `*out`: a new list, freed with `etcdc_strings_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_machines(
    client: *const etcdc_client,
    out: *mut *mut etcdc_strings,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        give(out, etcdc_strings::new(&arg!(client).machines()?));
        Ok(())
    })
}

/// `etcdc_stats()`: this member's stats (`/v2/stats/self`: name, id, state,
/// leader info, traffic).
pub const ETCDC_STATS_SELF: c_int = 0;
/// `etcdc_stats()`: the leader's view of its followers (`/v2/stats/leader`;
/// only the leader answers it).
pub const ETCDC_STATS_LEADER: c_int = 1;
/// `etcdc_stats()`: operation counters of the v2 store (`/v2/stats/store`).
pub const ETCDC_STATS_STORE: c_int = 2;

/// Stores the statistics `which` (`ETCDC_STATS_SELF`, `_LEADER` or `_STORE`)
/// in `*json`: etcd's JSON document, in a new string freed with
/// `etcdc_string_free()`.
///
/// Errors: etcd's (a follower asked for leader stats), `ETCDC_ERR_INVALID_ARGUMENT`
/// (also for an unknown `which`), request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_stats(
    client: *const etcdc_client,
    which: c_int,
    json: *mut *mut c_char,
) -> etcdc_status {
    status(|| {
        let json = arg_mut!(json);
        let c = arg!(client);
        let stats = match which {
            ETCDC_STATS_SELF => c.stats_self()?,
            ETCDC_STATS_LEADER => c.stats_leader()?,
            ETCDC_STATS_STORE => c.stats_store()?,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "which is {other}, not one of the ETCDC_STATS_* values"
                )))
            }
        };
        *json = malloc_string(&stats.to_string());
        Ok(())
    })
}

/// Stores the answering member's version (e.g. "3.4.23") in `*server` and
/// the cluster's (e.g. "3.4.0") in `*cluster`: new strings, each freed with
/// `etcdc_string_free()`. Either may be NULL when not wanted.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_server_version(
    client: *const etcdc_client,
    server: *mut *mut c_char,
    cluster: *mut *mut c_char,
) -> etcdc_status {
    status(|| {
        let version = arg!(client).version()?;
        // SAFETY: NULL or writable, per the contract.
        unsafe {
            put_string(server, &version.server);
            put_string(cluster, &version.cluster);
        }
        Ok(())
    })
}

/// Stores in `*healthy` whether the answering member is healthy (has a
/// leader).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_health(
    client: *const etcdc_client,
    healthy: *mut bool,
) -> etcdc_status {
    status(|| {
        *arg_mut!(healthy) = arg!(client).health()?;
        Ok(())
    })
}
