//! etcd's v3 leases: grant, revoke, time to live, list, and one keep-alive.
//! A key put with a lease (`etcdc_v3_put_options.lease`) is deleted when
//! the lease expires or is revoked.
//!
//! These calls hold no background thread: to keep a lease, call
//! `etcdc_v3_lease_keep_alive_once()` well within its TTL (a third of it is
//! etcd's own client's rhythm), or let a lease keeper do it
//! (`etcdc_v3_lease_keeper_new()`). A lease id is an `int64_t` chosen by etcd,
//! or by the caller at grant; etcd's tools print it in hex (`"%" PRIx64`).
//!
//! Results are plain numbers through out-parameters, written only on
//! success, except the time to live (with the attached keys) and the list
//! of leases: new handles owned by the caller, each with its `_free`
//! function, read-only (any number of threads may read one at once), and
//! what their accessors return is borrowed from them.

use std::ptr;

use super::args::{give, put_opt};
use super::client::etcdc_client;
use super::v3_kv::{etcdc_v3_header, read, Blobs};
use super::{etcdc_status, status};
use crate::v3::LeaseTimeToLive;

/// Grants a lease of `ttl` seconds with the id `id` (0: etcd chooses one).
/// On success `*granted_id` (if not NULL) is its id and `*granted_ttl` (if
/// not NULL) its TTL as etcd granted it (etcd raises a TTL below its
/// minimum, a few seconds).
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` (or `_ALREADY_EXISTS`,
/// depending on etcd's version) for an `id` in use; `ETCDC_ERR_AMBIGUOUS`
/// when the grant may have been applied without a certain answer (a lease
/// nobody knows of may then exist; it expires after its TTL);
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client` or a `ttl` that is not
/// positive; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_grant(
    client: *const etcdc_client,
    ttl: i64,
    id: i64,
    granted_id: *mut i64,
    granted_ttl: *mut i64,
) -> etcdc_status {
    status(|| {
        let grant = arg!(client).v3().lease_grant(ttl, id)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe {
            put_opt(granted_id, grant.id);
            put_opt(granted_ttl, grant.ttl);
        }
        Ok(())
    })
}

/// Revokes the lease `id`: the keys attached to it are deleted now. On
/// success `*header` (if not NULL) is the answer's header (its revision:
/// the deletion's).
///
/// Errors: `ETCDC_ERR_GRPC_NOT_FOUND` for a lease that does not exist
/// (expired or revoked); `ETCDC_ERR_AMBIGUOUS`; `ETCDC_ERR_INVALID_ARGUMENT`
/// for a NULL `client`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_revoke(
    client: *const etcdc_client,
    id: i64,
    header: *mut etcdc_v3_header,
) -> etcdc_status {
    status(|| {
        let answer = arg!(client).v3().lease_revoke(id)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(header, answer.into()) };
        Ok(())
    })
}

/// Renews the lease `id` once: its TTL starts again. On success `*ttl` (if
/// not NULL) is its TTL again, in seconds. Safe to repeat: on a failure it
/// moves on to another member as a read does. The renewals of a client
/// share one keep-alive stream, one message each way (a thread that finds
/// it in use, or a renewal it does not answer within a second, makes a
/// call of its own); the stream goes with the client.
///
/// Errors: `ETCDC_ERR_GRPC_NOT_FOUND` for a lease that does not exist
/// (expired or revoked; then it is too late: its keys are gone);
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_keep_alive_once(
    client: *const etcdc_client,
    id: i64,
    ttl: *mut i64,
) -> etcdc_status {
    status(|| {
        let answer = arg!(client).v3().lease_keep_alive_once(id)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(ttl, answer.ttl) };
        Ok(())
    })
}

/// What is left of a lease (`etcdc_v3_lease_time_to_live()`): its TTLs and,
/// when asked for, the keys attached to it. Owned by the caller and freed
/// with `etcdc_v3_lease_ttl_response_free()`. Read-only: any number of
/// threads may read it at once.
pub struct etcdc_v3_lease_ttl_response {
    header: etcdc_v3_header,
    id: i64,
    ttl: i64,
    granted_ttl: i64,
    /// The keys, each followed by a NUL, and each one's offset and length.
    keys: Blobs,
    key_at: Vec<(usize, usize)>,
}

impl etcdc_v3_lease_ttl_response {
    fn new(r: LeaseTimeToLive) -> etcdc_v3_lease_ttl_response {
        let size = r.keys.iter().map(Vec::len).sum();
        let mut keys = Blobs::with_capacity(size, r.keys.len());
        let key_at = r.keys.iter().map(|k| (keys.add(k), k.len())).collect();
        etcdc_v3_lease_ttl_response {
            header: r.header.into(),
            id: r.id,
            ttl: r.ttl,
            granted_ttl: r.granted_ttl,
            keys,
            key_at,
        }
    }
}

/// Stores in `*out` how long the lease `id` has left and, with `keys`, the
/// keys attached to it. A lease that does not exist (expired or revoked) is
/// no error: its TTL is -1.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
///
/// On success `*out` is a new response owned by the caller, freed with
/// `etcdc_v3_lease_ttl_response_free()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_time_to_live(
    client: *const etcdc_client,
    id: i64,
    keys: bool,
    out: *mut *mut etcdc_v3_lease_ttl_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let answer = arg!(client).v3().lease_time_to_live(id, keys)?;
        give(out, etcdc_v3_lease_ttl_response::new(answer));
        Ok(())
    })
}

/// Frees a time-to-live response and the keys borrowed from it. NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_free(
    response: *mut etcdc_v3_lease_ttl_response,
) {
    free!(response)
}

/// The response's header. Borrowed from the response; NULL only if
/// `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_header(
    response: *const etcdc_v3_lease_ttl_response,
) -> *const etcdc_v3_header {
    read(response, ptr::null(), |r| &r.header as *const _)
}

/// The lease's id (0 if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_id(
    response: *const etcdc_v3_lease_ttl_response,
) -> i64 {
    read(response, 0, |r| r.id)
}

/// Seconds the lease has left; -1 when it does not exist (expired or
/// revoked). 0 if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_ttl(
    response: *const etcdc_v3_lease_ttl_response,
) -> i64 {
    read(response, 0, |r| r.ttl)
}

/// The TTL the lease was granted with, in seconds (0 when it does not
/// exist, or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_granted_ttl(
    response: *const etcdc_v3_lease_ttl_response,
) -> i64 {
    read(response, 0, |r| r.granted_ttl)
}

/// Number of keys attached to the lease the response carries (0 unless
/// asked for with `keys`, or if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_key_count(
    response: *const etcdc_v3_lease_ttl_response,
) -> usize {
    read(response, 0, |r| r.key_at.len())
}

/// Key `i` (0-based): its bytes (`etcdc_v3_lease_ttl_response_key_len()`
/// of them), followed by a NUL byte that the length does not count; NULL
/// if out of range. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_key(
    response: *const etcdc_v3_lease_ttl_response,
    i: usize,
) -> *const u8 {
    read(response, ptr::null(), |r| {
        r.key_at
            .get(i)
            .map_or(ptr::null(), |&(at, _)| r.keys.ptr(at))
    })
}

/// Length of key `i` in bytes, without the NUL after it (0 if out of range
/// or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_ttl_response_key_len(
    response: *const etcdc_v3_lease_ttl_response,
    i: usize,
) -> usize {
    read(response, 0, |r| r.key_at.get(i).map_or(0, |&(_, len)| len))
}

/// The ids of leases (`etcdc_v3_leases()`), owned by the caller and freed
/// with `etcdc_v3_lease_list_free()`. Read-only: any number of threads may
/// read it.
pub struct etcdc_v3_lease_list {
    ids: Vec<i64>,
}

/// Stores the ids of every lease in `*out`: a new list, owned by the caller
/// and freed with `etcdc_v3_lease_list_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_leases(
    client: *const etcdc_client,
    out: *mut *mut etcdc_v3_lease_list,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let ids = arg!(client).v3().lease_list()?;
        give(out, etcdc_v3_lease_list { ids });
        Ok(())
    })
}

/// Number of ids in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_list_count(list: *const etcdc_v3_lease_list) -> usize {
    read(list, 0, |l| l.ids.len())
}

/// Id `i` (0-based, in etcd's order), or 0 (no lease has that id) if out
/// of range or `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_list_get(
    list: *const etcdc_v3_lease_list,
    i: usize,
) -> i64 {
    read(list, 0, |l| l.ids.get(i).copied().unwrap_or(0))
}

/// Frees a list of lease ids. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_lease_list_free(list: *mut etcdc_v3_lease_list) {
    free!(list)
}
