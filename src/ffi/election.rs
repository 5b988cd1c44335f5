//! Leader election: one key per election, whose value names the leader.
//! Functions on a client; `opts` chooses where elections live.

use std::ffi::c_char;
use std::ptr;

use super::args::{malloc_string, put_opt, wait_limit};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::{etcdc_status, status};

use crate::Election;

/// The current version of `etcdc_election_options`.
pub const ETCDC_ELECTION_OPTIONS_VERSION: u32 = 1;

/// Options of the `etcdc_election_*` functions. Initialise with
/// `ETCDC_ELECTION_OPTIONS_INIT` or
/// `etcdc_election_options_init(&opts, ETCDC_ELECTION_OPTIONS_VERSION)`;
/// NULL fields take their defaults. Every call on the same election must
/// use the same prefix.
#[repr(C)]
pub struct etcdc_election_options {
    /// `ETCDC_ELECTION_OPTIONS_VERSION`.
    pub version: u32,
    /// Directory under which each election has its key; default
    /// "/_elections".
    pub prefix: *const c_char,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_ELECTION_OPTIONS_INIT` does; pass `ETCDC_ELECTION_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_options_init(
    opts: *mut etcdc_election_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

c_options!(etcdc_election_options => Option<&'a str>, |o| {
    // SAFETY: NULL or NUL-terminated, per the contract of the struct.
    unsafe { super::args::opt_string(o.prefix, "prefix") }
});

/// The elections `opts` names, of `client`.
fn elections<'a>(client: &'a etcdc_client, prefix: Option<&'a str>) -> Election<'a> {
    match prefix {
        Some(prefix) => client.election_under(prefix),
        None => client.election(),
    }
}

/// Campaigns: makes `name` the leader of election `key` (python-etcd's
/// `election.set`), waiting at most `timeout_ms` (the waiting rule: negative
/// for no limit, 0 to win only if nobody leads now) for the current leader
/// to resign or expire. `ttl` seconds without `etcdc_election_renew()` end
/// the leadership; 0 makes it last until `etcdc_election_delete()`. If
/// `name` already leads, this renews it. On success `*index` (if not NULL)
/// is the etcd index at which leadership was won.
///
/// Errors: `ETCDC_ERR_ACQUIRE_TIMEOUT`; `ETCDC_ERR_INVALID_ARGUMENT` (NULL,
/// invalid UTF-8, an empty name); request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_election_set(
    client: *const etcdc_client,
    key: *const c_char,
    name: *const c_char,
    ttl: u64,
    opts: *const etcdc_election_options,
    timeout_ms: i64,
    index: *mut u64,
) -> etcdc_status {
    status(|| {
        let elections = elections(arg!(client), options!(opts));
        let won = elections.set(string!(key), string!(name), ttl, wait_limit(timeout_ms))?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(index, won) };
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
    opts: *const etcdc_election_options,
    leader: *mut *mut c_char,
) -> etcdc_status {
    status(|| {
        let leader = arg_mut!(leader);
        let name = elections(arg!(client), options!(opts)).get(string!(key))?;
        *leader = owned(name);
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
    opts: *const etcdc_election_options,
) -> etcdc_status {
    status(|| {
        let elections = elections(arg!(client), options!(opts));
        elections.delete(string!(key), string!(name))
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
    opts: *const etcdc_election_options,
) -> etcdc_status {
    status(|| {
        let elections = elections(arg!(client), options!(opts));
        elections.renew(string!(key), string!(name), ttl)
    })
}

/// Waits for the next change of leader of election `key` at or after etcd
/// index `since_index` (0: from now), at most `timeout_ms` (the waiting
/// rule: negative for no limit). Stores the new leader's name in `*leader`
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
    opts: *const etcdc_election_options,
    timeout_ms: i64,
    leader: *mut *mut c_char,
    next_index: *mut u64,
) -> etcdc_status {
    status(|| {
        let leader = arg_mut!(leader);
        let elections = elections(arg!(client), options!(opts));
        let since = (since_index != 0).then_some(since_index);
        let (name, next) = elections.watch(string!(key), since, wait_limit(timeout_ms))?;
        *leader = owned(name);
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(next_index, next) };
        Ok(())
    })
}

/// A leader's name as a `char *` result (NULL for none).
fn owned(name: Option<String>) -> *mut c_char {
    name.map_or(ptr::null_mut(), |n| malloc_string(&n))
}
