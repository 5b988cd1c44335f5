//! Leader election in C: functions on a client, one key per election, under
//! the prefix "/_elections".

use std::ffi::c_char;

use super::client::etcdc_client;
use super::{arg_out, arg_ref, arg_str, malloc_string, status, wait_limit};

/// Campaigns: makes `name` the leader of election `key` (python-etcd's
/// `election.set`), waiting at most `timeout_ms` milliseconds (0: try once;
/// negative: as long as it takes) for the current leader to resign or expire.
/// `ttl` seconds without `etcdc_election_renew()` end the leadership; 0 makes
/// it last until `etcdc_election_delete()`. If `name` already leads, this
/// renews it. On success `*index` (if not NULL) is the etcd index at which
/// leadership was won.
///
/// Errors: `ETCDC_ERR_ACQUIRE_TIMEOUT`; `ETCDC_ERR_INVALID_ARGUMENT` (NULL,
/// invalid UTF-8, an empty name); request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_set(
    client: *const etcdc_client,
    key: *const c_char,
    name: *const c_char,
    ttl: u64,
    timeout_ms: i64,
    index: *mut u64,
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let name = unsafe { arg_str(name, "name") }?;
        let won = client
            .client
            .election()
            .set(key, name, ttl, wait_limit(timeout_ms))?;
        if let Some(index) = unsafe { index.as_mut() } {
            *index = won;
        }
        Ok(())
    })
}

/// Stores the current leader's name of election `key` in `*leader`, a new
/// string the caller frees with `etcdc_string_free()`, or NULL when there is
/// no leader.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_get(
    client: *const etcdc_client,
    key: *const c_char,
    leader: *mut *mut c_char,
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let leader = unsafe { arg_out(leader, "leader") }?;
        let name = client.client.election().get(key)?;
        *leader = name.map_or(std::ptr::null_mut(), |n| malloc_string(&n));
        Ok(())
    })
}

/// Resigns: ends `name`'s leadership of election `key`, only if `name` leads
/// (a compare-and-delete).
///
/// Errors: `ETCDC_ERR_NOT_HELD` if `name` does not lead (nothing changes);
/// `ETCDC_ERR_INVALID_ARGUMENT`; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_delete(
    client: *const etcdc_client,
    key: *const c_char,
    name: *const c_char,
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let name = unsafe { arg_str(name, "name") }?;
        client.client.election().delete(key, name)
    })
}

/// Keeps `name`'s leadership of election `key` alive for `ttl` more seconds
/// (not 0), only if `name` leads. Call it well within the TTL.
///
/// Errors: `ETCDC_ERR_NOT_HELD` if `name` does not lead;
/// `ETCDC_ERR_INVALID_ARGUMENT` (also for `ttl` 0); request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_renew(
    client: *const etcdc_client,
    key: *const c_char,
    name: *const c_char,
    ttl: u64,
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let name = unsafe { arg_str(name, "name") }?;
        client.client.election().renew(key, name, ttl)
    })
}

/// Waits for the next change of leader of election `key` at or after etcd
/// index `since_index` (0: from now), at most `timeout_ms` milliseconds
/// (negative: as long as it takes). Stores the new leader's name in `*leader`
/// (a new string, freed with `etcdc_string_free()`), or NULL when the leader
/// resigned or expired, and in `*next_index` (if not NULL) the index to pass
/// as `since_index` next time, so that no change is missed between calls.
///
/// Errors: `ETCDC_ERR_WATCH_TIMEOUT`, `ETCDC_ERR_INVALID_ARGUMENT`, request
/// errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_watch(
    client: *const etcdc_client,
    key: *const c_char,
    since_index: u64,
    timeout_ms: i64,
    leader: *mut *mut c_char,
    next_index: *mut u64,
) -> super::etcdc_status {
    status(|| {
        // SAFETY (all): per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let key = unsafe { arg_str(key, "key") }?;
        let leader = unsafe { arg_out(leader, "leader") }?;
        let since = (since_index != 0).then_some(since_index);
        let (name, next) = client
            .client
            .election()
            .watch(key, since, wait_limit(timeout_ms))?;
        *leader = name.map_or(std::ptr::null_mut(), |n| malloc_string(&n));
        if let Some(next_index) = unsafe { next_index.as_mut() } {
            *next_index = next;
        }
        Ok(())
    })
}
