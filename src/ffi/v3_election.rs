//! Leader election on etcd's v3 API, the same as etcd's own: an
//! `etcdc_v3_election` takes part in the elections of `etcdctl elect` and
//! Go's `concurrency.Election` on the same name, and an `etcdc_v3_observer`
//! follows them as `etcdctl elect -l` does.
//!
//! The layout is the v3 lock's (see the v3 Lock section): election `name`
//! (bytes) lives under the prefix `name/`; each candidate has the key
//! `name/<its lease id in lowercase hex>`, whose value is its proposal,
//! attached to a lease of its own (`ttl` seconds) that a thread of the
//! handle (`etcdc-lease`) renews while it campaigns and while it leads. The
//! leader is the candidate whose key was created first: a candidate
//! campaigns by creating its key and waiting until every key created before
//! it is gone. The leader changes its value without another election by
//! proclaiming (a put on its key, only while it is the key it created), and
//! steps down by resigning (deleting its key, on the same condition); the
//! next candidate then leads. A leader that dies stops renewing: its key
//! goes when its lease expires, after its TTL, and the next candidate
//! leads. A lease lost while campaigning or leading (it expired, or someone
//! revoked it) is `ETCDC_ERR_LOCK_EXPIRED`: it no longer leads.
//!
//! Who leads is read as an `etcdc_v3_leader`, owned by the caller and freed
//! with `etcdc_v3_leader_free()`, whose `etcdc_v3_kv` (borrowed from it, as
//! in the v3 keys section) is the leader's key: its value is the leader's
//! proposal, its create revision grows with every new leader, its lease is
//! the leader's. `etcdc_v3_election_leader()` reads it now, anyone may ask;
//! an observer (`etcdc_v3_election_observe()`) gives it once somebody leads,
//! then each value the leader proclaims and each new leader, in order. An
//! observer may miss a leader that came and went between two looks, never
//! the latest one.
//!
//! A leader writes only while it leads with `etcdc_v3_txn_when_leader()`, as
//! a lock holder does (see `etcdc_v3_txn_when_lock_held()`), and gives
//! `etcdc_v3_election_revision()` as a fencing token.
//!
//! A v2 election (`etcdc_election_*`, one key under `/_elections` in etcd's
//! v2 store) is another key space: it and a v3 election on the same name
//! know nothing of each other.
//!
//! Threads: an election and an observer are each used by one thread at a
//! time, except `etcdc_v3_election_cancel()` and `etcdc_v3_observer_cancel()`,
//! which any thread may call while the handle exists to wake a blocked
//! campaign or wait. An observer is a handle of its own, with connections
//! of its own: it may be used by another thread than its election, and
//! outlive it. An election and an observer may outlive their client. A
//! leader is read-only: any number of threads may read it at once, and it
//! may outlive everything else.
//!
//! Fork: a v3 election and an observer belong to the process that made
//! them, as a v3 lock does. In a forked child the inherited copy is inert:
//! its functions that return a status return `ETCDC_ERR_INVALID_ARGUMENT`,
//! its `_cancel` only marks it cancelled, its accessors read what it was at
//! the fork, and freeing it releases only its memory (a leadership of the
//! parent stays the parent's). The child makes its own.

use std::ffi::c_void;
use std::ptr::{self, addr_of, addr_of_mut};

use super::args::{give, give_opt, put_opt, wait_limit};
use super::client::etcdc_client;
use super::options::{self, c_options};
use super::v3_keeper::etcdc_v3_keeper_state;
use super::v3_kv::{etcdc_v3_kv, read, Kvs};
use super::v3_lock::{forked, keeper_state, session_ttl, when_owner, with_nul};
use super::v3_txn::etcdc_v3_txn;
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::transport::connection::generation;
use crate::v3::{ElectionObserver, KeyValue, RecipeCanceller, V3Election};

/// The current version of `etcdc_v3_election_options`.
pub const ETCDC_V3_ELECTION_OPTIONS_VERSION: u32 = 1;

/// Options of `etcdc_v3_election_new()`. Initialise with
/// `ETCDC_V3_ELECTION_OPTIONS_INIT` or
/// `etcdc_v3_election_options_init(&opts, ETCDC_V3_ELECTION_OPTIONS_VERSION)`;
/// 0 fields take their defaults.
#[repr(C)]
pub struct etcdc_v3_election_options {
    /// `ETCDC_V3_ELECTION_OPTIONS_VERSION`.
    pub version: u32,
    /// The time to live of the candidate's lease, in seconds: how long the
    /// other candidates wait for a leader that died (or cannot reach etcd)
    /// before the next one leads. While this process runs and reaches
    /// etcd, the lease is renewed and the leadership kept, however long. 0:
    /// 60 s, as Go's `concurrency.NewSession` and `etcdctl elect`; negative
    /// is `ETCDC_ERR_INVALID_ARGUMENT`. etcd raises a TTL below its minimum
    /// (a few seconds).
    pub ttl: i64,
}

/// Sets the `version`-sized start of `*opts` to that version's defaults, as
/// `ETCDC_V3_ELECTION_OPTIONS_INIT` does; pass
/// `ETCDC_V3_ELECTION_OPTIONS_VERSION`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL or an unknown version.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_options_init(
    opts: *mut etcdc_v3_election_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

/// `etcdc_v3_election_options`, checked: the lease TTL (0: the default).
#[derive(Debug, Default)]
pub(crate) struct ElectionOptions {
    ttl: i64,
}

c_options!(etcdc_v3_election_options => ElectionOptions, |o| Ok(ElectionOptions { ttl: o.ttl }));

/// One candidate of a v3 election (see the section's introduction): it
/// campaigns, leads, proclaims and resigns, and reads who leads.
///
/// Made by `etcdc_v3_election_new()`, owned by the caller, freed with
/// `etcdc_v3_election_free()` (which resigns if it leads); it may outlive
/// the client it was made with. Thread-safety: one thread at a time may
/// call its functions, except `etcdc_v3_election_cancel()`, which any thread
/// may call at any time while the election exists.
pub struct etcdc_v3_election {
    election: V3Election,
    canceller: RecipeCanceller,
    /// The key it leads with followed by a NUL, for
    /// `etcdc_v3_election_key()`: set again after every call that may
    /// change whether it leads.
    key: Option<Vec<u8>>,
    /// The fork generation it was made in.
    generation: u64,
}

/// Follows the leader of an election (see the section's introduction).
///
/// Made by `etcdc_v3_election_observe()`, owned by the caller, freed with
/// `etcdc_v3_observer_free()`; it may outlive its election and client.
/// Thread-safety: one thread at a time may call its functions, except
/// `etcdc_v3_observer_cancel()`, which any thread may call at any time while
/// the observer exists.
pub struct etcdc_v3_observer {
    observer: ElectionObserver,
    canceller: RecipeCanceller,
    /// The fork generation it was made in.
    generation: u64,
}

/// Who leads an election: the leader's key, its value (the proposal) and
/// revisions, as an `etcdc_v3_kv` (`etcdc_v3_leader_kv()`). Made by
/// `etcdc_v3_election_leader()` and `etcdc_v3_observer_next()`, owned by the
/// caller and freed with `etcdc_v3_leader_free()`; what its accessor
/// returns is borrowed from it. Read-only: any number of threads may read it
/// at once; it may outlive its election, observer and client.
pub struct etcdc_v3_leader {
    /// One kv: the leader's key.
    kvs: Kvs,
}

impl etcdc_v3_leader {
    fn new(kv: KeyValue) -> etcdc_v3_leader {
        etcdc_v3_leader {
            kvs: Kvs::new(&[kv]),
        }
    }
}

/// Runs `f` on the handle's `V3Election`, reached without a reference to
/// the whole handle (so that `etcdc_v3_election_cancel()` may read
/// `canceller` meanwhile), then records its key for
/// `etcdc_v3_election_key()`. NULL, or an election of the parent process,
/// is refused.
unsafe fn with_election<T>(
    election: *mut etcdc_v3_election,
    f: impl FnOnce(&mut V3Election) -> Result<T>,
) -> Result<T> {
    if election.is_null() {
        return Err(Error::InvalidArgument("election is NULL".into()));
    }
    // SAFETY: live per the contract; only these fields are borrowed, and
    // only the owner's thread uses them.
    let (e, key, made_in) = unsafe {
        (
            &mut *addr_of_mut!((*election).election),
            &mut *addr_of_mut!((*election).key),
            *addr_of!((*election).generation),
        )
    };
    if made_in != generation() {
        return Err(forked("election"));
    }
    let outcome = f(e);
    *key = e.key().map(with_nul);
    outcome
}

/// The handle's `V3Election`, only read (the owner's thread's calls that
/// change nothing), checked as `with_election` does.
unsafe fn election_ref<'a>(election: *const etcdc_v3_election) -> Result<&'a V3Election> {
    if election.is_null() {
        return Err(Error::InvalidArgument("election is NULL".into()));
    }
    // SAFETY: live per the contract; only these fields are read.
    let (e, made_in) = unsafe {
        (
            &*addr_of!((*election).election),
            *addr_of!((*election).generation),
        )
    };
    if made_in != generation() {
        return Err(forked("election"));
    }
    Ok(e)
}

/// Creates a candidate of the v3 election `name` (`name_len` bytes, any
/// bytes but not empty): its candidates' keys live under `name` + "/" (see
/// the section's introduction). Sends nothing: `etcdc_v3_election_campaign()`
/// takes part; `etcdc_v3_election_leader()` and
/// `etcdc_v3_election_observe()` only look. `opts` NULL is a lease TTL of
/// 60 s. On success `*out` is a new election owned by the caller, freed with
/// `etcdc_v3_election_free()`; it may outlive `client`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `out`; `name`
/// with a length), an empty name, an unknown options version or a negative
/// `ttl`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_new(
    client: *const etcdc_client,
    name: *const c_void,
    name_len: usize,
    opts: *const etcdc_v3_election_options,
    out: *mut *mut etcdc_v3_election,
) -> etcdc_status {
    status(|| {
        let o: ElectionOptions = options!(opts);
        let name = bytes!(name, name_len);
        let client = arg!(client);
        let out = arg_mut!(out);
        let election = client.v3().election(name, session_ttl(o.ttl))?;
        let canceller = election.canceller();
        give(
            out,
            etcdc_v3_election {
                election,
                canceller,
                key: None,
                generation: generation(),
            },
        );
        Ok(())
    })
}

/// Campaigns with `value` (`value_len` bytes, any bytes: the proposal, what
/// `etcdc_v3_election_leader()` and observers see) and returns once this
/// candidate leads, waiting at most `timeout_ms` for the candidates before
/// it (the waiting rule: negative for no limit, 0 to lead only if nobody
/// leads or campaigns now). A candidate that leads already proclaims
/// `value` instead. Each call to etcd on the way is bounded by the client's
/// read timeout.
///
/// Errors: `ETCDC_ERR_ACQUIRE_TIMEOUT` or `ETCDC_ERR_CANCELLED` when it gives
/// up (its key is removed and its lease revoked: nothing is left behind);
/// `ETCDC_ERR_LOCK_EXPIRED` if its lease or key was lost while it waited;
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`election`; `value` with a
/// length), or in a forked child; request errors (its key is removed, best
/// effort).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_campaign(
    election: *mut etcdc_v3_election,
    value: *const c_void,
    value_len: usize,
    timeout_ms: i64,
) -> etcdc_status {
    status(|| {
        let value = bytes!(value, value_len);
        let timeout = wait_limit(timeout_ms);
        // SAFETY: per the contract.
        unsafe { with_election(election, |e| e.campaign(value, timeout)) }
    })
}

/// Lets the leader announce a new value (`value_len` bytes) without another
/// election: observers see it next.
///
/// Errors: `ETCDC_ERR_NOT_HELD` when this candidate does not lead;
/// `ETCDC_ERR_LOCK_EXPIRED` when its key or lease is gone (it no longer
/// leads); `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`election`; `value` with a
/// length), or in a forked child; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_proclaim(
    election: *mut etcdc_v3_election,
    value: *const c_void,
    value_len: usize,
) -> etcdc_status {
    status(|| {
        let value = bytes!(value, value_len);
        // SAFETY: per the contract.
        unsafe { with_election(election, |e| e.proclaim(value)) }
    })
}

/// Steps down: deletes its key (the next candidate leads), stops renewing
/// its lease and revokes it. The handle can campaign again.
///
/// Errors: `ETCDC_ERR_NOT_HELD` when this candidate does not lead;
/// `ETCDC_ERR_LOCK_EXPIRED` if its key or lease was already gone (it had
/// stopped leading; the handle no longer leads all the same);
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `election`, or in a forked child;
/// request errors, when neither the delete nor the revoke got through (the
/// key then goes with its lease, after its TTL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_resign(
    election: *mut etcdc_v3_election,
) -> etcdc_status {
    // SAFETY: per the contract.
    status(|| unsafe { with_election(election, |e| e.resign()) })
}

/// Stores who leads the election now in `*out`: a new leader owned by the
/// caller (freed with `etcdc_v3_leader_free()`), or NULL when nobody leads.
/// Anyone may ask, candidate or not.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or in a forked child;
/// request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_leader(
    election: *const etcdc_v3_election,
    out: *mut *mut etcdc_v3_leader,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        // SAFETY: per the contract.
        let leader = unsafe { election_ref(election) }?.leader()?;
        match leader {
            Some(kv) => give(out, etcdc_v3_leader::new(kv)),
            None => *out = ptr::null_mut(),
        }
        Ok(())
    })
}

/// Stores in `*leader` whether this candidate leads, as etcd says now (not a
/// local flag): its key exists and was created first under the prefix.
/// False once its lease or key is gone, even if it led before (then
/// `etcdc_v3_election_resign()` returns `ETCDC_ERR_LOCK_EXPIRED`).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or in a forked child;
/// request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_is_leader(
    election: *mut etcdc_v3_election,
    leader: *mut bool,
) -> etcdc_status {
    status(|| {
        let leader = arg_mut!(leader);
        // SAFETY: per the contract.
        *leader = unsafe { with_election(election, |e| e.is_leader()) }?;
        Ok(())
    })
}

/// Cancels campaigning: a thread blocked in `etcdc_v3_election_campaign()`
/// returns `ETCDC_ERR_CANCELLED` promptly (its key removed, its lease
/// revoked; a call to etcd in progress ends first, within the client's read
/// timeout), and so does every later campaign. Final. A leadership already
/// held is not touched: proclaim, resign and the rest keep working; its
/// observers are not cancelled. Any thread may call it, any number of
/// times, while the election exists; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_cancel(election: *const etcdc_v3_election) {
    super::boundary(|| {
        if !election.is_null() {
            // SAFETY: live per the contract; only this field is read.
            unsafe { &*addr_of!((*election).canceller) }.cancel();
        }
    })
}

/// The key this candidate leads with (`name` + "/" + its lease id in
/// lowercase hex): its bytes (`etcdc_v3_election_key_len()` of them),
/// followed by a NUL byte that the length does not count; NULL when it does
/// not lead (or `election` is NULL). Borrowed from the election: valid until
/// the next `etcdc_v3_election_campaign()`, `_proclaim()`, `_resign()`,
/// `_is_leader()` or `_free()` of it.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_key(election: *const etcdc_v3_election) -> *const u8 {
    read(election, ptr::null(), |e| {
        e.key.as_ref().map_or(ptr::null(), |k| k.as_ptr())
    })
}

/// The length of `etcdc_v3_election_key()` in bytes, without the NUL after
/// it; 0 when it does not lead (or `election` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_key_len(election: *const etcdc_v3_election) -> usize {
    read(election, 0, |e| e.key.as_ref().map_or(0, |k| k.len() - 1))
}

/// The lease this candidate leads with: 0 when it does not lead (or
/// `election` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_lease_id(election: *const etcdc_v3_election) -> i64 {
    read(election, 0, |e| e.election.lease_id().unwrap_or(0))
}

/// The create revision of the key it leads with (Go's `Rev`): it grows with
/// every new leader, a fencing token to give what the leader writes to. 0
/// when it does not lead (or `election` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_revision(election: *const etcdc_v3_election) -> i64 {
    read(election, 0, |e| e.election.revision().unwrap_or(0))
}

/// What the leading candidate's lease keeper knows now, without asking etcd,
/// as `etcdc_v3_lock_lease_state()` says it of a lock: `ETCDC_V3_KEEPER_ALIVE`
/// (with the time left in `*left_ms`, if `left_ms` is not NULL; 0 in every
/// other state), `_AT_RISK` (count the leadership lost), `_LOST`.
/// `ETCDC_V3_KEEPER_NONE` when it does not lead (or `election` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_lease_state(
    election: *const etcdc_v3_election,
    left_ms: *mut i64,
) -> etcdc_v3_keeper_state {
    let (state, left) = read(election, keeper_state(None), |e| {
        keeper_state(e.election.lease_state())
    });
    // SAFETY: NULL or writable, per the contract.
    unsafe { put_opt(left_ms, left) };
    state
}

/// Adds to `txn` the compare that holds while `election`'s candidate leads
/// with the key it leads with now (the same as
/// `etcdc_v3_txn_compare_create_revision()` on `etcdc_v3_election_key()`,
/// `ETCDC_V3_EQUAL`, `etcdc_v3_election_revision()`), so that a write in
/// the success branch is applied only while it leads. As
/// `etcdc_v3_txn_when_lock_held()`.
///
/// Errors: `ETCDC_ERR_NOT_HELD` when this candidate does not lead (as it
/// last knew); `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or an election of the
/// parent process in a forked child; then `txn` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_txn_when_leader(
    txn: *mut etcdc_v3_txn,
    election: *const etcdc_v3_election,
) -> etcdc_status {
    let owner = || {
        // SAFETY: per the contract.
        let e = unsafe { election_ref(election) }?;
        let not_leader = || {
            Error::NotHeld(format!(
                "not the leader of election {}",
                String::from_utf8_lossy(e.prefix())
            ))
        };
        e.owner_compare().ok_or_else(not_leader)
    };
    // SAFETY: per the contract.
    unsafe { when_owner(txn, owner) }
}

/// Starts following the leader of this election: on success `*out` is a new
/// observer owned by the caller, freed with `etcdc_v3_observer_free()`
/// (see `etcdc_v3_observer_next()`). Sends nothing yet. The observer has
/// connections of its own: it may be used by another thread than
/// `election`, and outlive it; cancelling one does not cancel the other.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL, or in a forked child.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_observe(
    election: *const etcdc_v3_election,
    out: *mut *mut etcdc_v3_observer,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        // SAFETY: per the contract.
        let observer = unsafe { election_ref(election) }?.observe();
        let canceller = observer.canceller();
        give(
            out,
            etcdc_v3_observer {
                observer,
                canceller,
                generation: generation(),
            },
        );
        Ok(())
    })
}

/// Frees the handle, resigning if it leads (best effort: if the resign does
/// not get through, its lease expires after its TTL) and ending its
/// threads. Its observers go on. NULL is a no-op. No other thread may be
/// using it: to stop a thread blocked in `etcdc_v3_election_campaign()`,
/// cancel, let that thread return, then free. In a forked child, frees the
/// copy's memory and nothing else.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_election_free(election: *mut etcdc_v3_election) {
    free!(election)
}

/// Waits for who leads, at most `timeout_ms` (the waiting rule: negative for
/// no limit), and stores it in `*out` (a new leader owned by the caller,
/// freed with `etcdc_v3_leader_free()`; `out` may be NULL): on the first
/// call the current leader (once somebody leads), then each change, in
/// order: a new value the leader proclaims, or a new leader. While nobody
/// leads it waits.
///
/// A timeout ends the wait, not the observer: call again. 0 asks etcd who
/// leads on the first call (and after an error), and otherwise delivers
/// only a change already received.
///
/// Errors: `ETCDC_ERR_WATCH_TIMEOUT` when nothing changed within
/// `timeout_ms` (the observer goes on: call again); `ETCDC_ERR_CANCELLED`
/// once `etcdc_v3_observer_cancel()` was called, promptly even while blocked
/// (final); a connection error (`ETCDC_ERR_CONNECTION`, `ETCDC_ERR_TIMEOUT`...)
/// when no member could be reached for a while, told once: the observer
/// goes on trying, call again; `ETCDC_ERR_INVALID_ARGUMENT` for a NULL
/// `observer`, or in a forked child; request errors (the observer starts
/// again from who leads at the next call).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_observer_next(
    observer: *mut etcdc_v3_observer,
    timeout_ms: i64,
    out: *mut *mut etcdc_v3_leader,
) -> etcdc_status {
    status(|| {
        if observer.is_null() {
            return Err(Error::InvalidArgument("observer is NULL".into()));
        }
        // SAFETY: live per the contract; only these fields are borrowed,
        // and only the owner's thread uses `observer`.
        let (o, made_in) = unsafe {
            (
                &mut *addr_of_mut!((*observer).observer),
                *addr_of!((*observer).generation),
            )
        };
        if made_in != generation() {
            return Err(forked("observer"));
        }
        let kv = o.next_leader(wait_limit(timeout_ms))?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(out, etcdc_v3_leader::new(kv)) };
        Ok(())
    })
}

/// Cancels the observer: a thread blocked in `etcdc_v3_observer_next()`
/// returns `ETCDC_ERR_CANCELLED` promptly, and so does every later call.
/// Final. Any thread may call it, any number of times, while the observer
/// exists; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_observer_cancel(observer: *const etcdc_v3_observer) {
    super::boundary(|| {
        if !observer.is_null() {
            // SAFETY: live per the contract; only this field is read.
            unsafe { &*addr_of!((*observer).canceller) }.cancel();
        }
    })
}

/// Frees an observer and ends its watch. NULL is a no-op. No other thread
/// may be using it: to stop a thread blocked in `etcdc_v3_observer_next()`,
/// cancel, let that thread return, then free.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_observer_free(observer: *mut etcdc_v3_observer) {
    free!(observer)
}

/// The leader's key: `key` is the key it leads with (`name` + "/" + its
/// lease id in hex), `value` its proposal (what it campaigned with or
/// proclaimed last), `create_revision` the revision its leadership began
/// with (it grows with every new leader), `lease` its lease. Borrowed from
/// the leader; NULL only if `leader` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_leader_kv(leader: *const etcdc_v3_leader) -> *const etcdc_v3_kv {
    read(leader, ptr::null(), |l| l.kvs.get(0))
}

/// Frees a leader and everything borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_leader_free(leader: *mut etcdc_v3_leader) {
    free!(leader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::options::Options;

    #[test]
    fn options_default_to_a_session_ttl() {
        let mut o = etcdc_v3_election_options { version: 1, ttl: 0 };
        assert_eq!(session_ttl(o.to_rust().unwrap().ttl), 60);
        o.ttl = -1;
        assert_eq!(session_ttl(o.to_rust().unwrap().ttl), -1);
        assert_eq!(
            etcdc_v3_election_options::SIZES.len(),
            ETCDC_V3_ELECTION_OPTIONS_VERSION as usize
        );
        assert_eq!(std::mem::align_of::<etcdc_v3_election_options>(), 8);
    }

    /// A leader as C reads it: every byte of the key and value, NULs after.
    #[test]
    fn leaders_are_read_through_their_kv() {
        let leader = Box::into_raw(Box::new(etcdc_v3_leader::new(KeyValue {
            key: b"e/\x00694d".to_vec(),
            value: b"me".to_vec(),
            create_revision: 5,
            mod_revision: 7,
            version: 2,
            lease: 0x694d,
        })));
        // SAFETY: a live handle, freed at the end; NULL is allowed.
        unsafe {
            let kv = &*etcdc_v3_leader_kv(leader);
            assert_eq!(
                std::slice::from_raw_parts(kv.key, kv.key_len + 1),
                b"e/\x00694d\0"
            );
            assert_eq!(
                std::slice::from_raw_parts(kv.value, kv.value_len + 1),
                b"me\0"
            );
            assert_eq!(
                (kv.create_revision, kv.mod_revision, kv.lease),
                (5, 7, 0x694d)
            );
            assert!(etcdc_v3_leader_kv(ptr::null()).is_null());
            etcdc_v3_leader_free(leader);
            etcdc_v3_leader_free(ptr::null_mut());
        }
    }

    #[test]
    fn null_handles_are_refused_or_read_as_nothing() {
        let mut left = 5;
        let mut out = ptr::null_mut();
        // SAFETY: NULL is allowed.
        unsafe {
            assert!(etcdc_v3_election_key(ptr::null()).is_null());
            assert_eq!(etcdc_v3_election_key_len(ptr::null()), 0);
            assert_eq!(etcdc_v3_election_lease_id(ptr::null()), 0);
            assert_eq!(etcdc_v3_election_revision(ptr::null()), 0);
            assert_eq!(
                etcdc_v3_election_lease_state(ptr::null(), &mut left),
                etcdc_v3_keeper_state::ETCDC_V3_KEEPER_NONE
            );
            etcdc_v3_election_cancel(ptr::null());
            etcdc_v3_election_free(ptr::null_mut());
            etcdc_v3_observer_cancel(ptr::null());
            etcdc_v3_observer_free(ptr::null_mut());
            assert_eq!(
                etcdc_v3_election_resign(ptr::null_mut()),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                etcdc_v3_observer_next(ptr::null_mut(), 0, &mut out),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                etcdc_v3_election_leader(ptr::null(), &mut out),
                etcdc_status::ETCDC_ERR_INVALID_ARGUMENT
            );
        }
        assert_eq!(left, 0);
        assert!(out.is_null());
    }
}
