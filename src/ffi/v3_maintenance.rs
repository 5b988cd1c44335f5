//! etcd's v3 maintenance: a member's status, alarms, defragmentation,
//! hashes of the store, snapshots, leadership transfer.
//!
//! Most of these are about one member. With `endpoint` NULL they go to the
//! member the client talks to now (its first endpoint, or the one it failed
//! over to; the answer's header says which: `member_id`); with an
//! `endpoint` (a member's client URL, `http://host:port` or
//! `https://host:port`, one of the client's endpoints or not, e.g. from
//! `etcdc_v3_member_list_client_url()`), to the member there, without
//! failing over, with the client's TLS settings and credentials. A member
//! of another cluster than the one the client has seen is
//! `ETCDC_ERR_CLUSTER_ID_MISMATCH`; one that does not answer,
//! `ETCDC_ERR_CONNECTION` or `ETCDC_ERR_TIMEOUT`; something that is no
//! client URL, `ETCDC_ERR_INVALID_ARGUMENT`.
//!
//! With auth on, defragment, the hashes and snapshots need the role
//! "root": etcd 3.4.23 and 3.5.1 refuse others with `ETCDC_ERR_GRPC_UNKNOWN`
//! ("auth: permission denied", or "auth: user name is empty" without
//! credentials). They answer the status, the alarms and a leadership
//! transfer for anyone (later patch releases may ask for "root" there too).
//!
//! The status (`etcdc_v3_status_response`) and the alarms
//! (`etcdc_v3_alarm_list`) come back as new handles owned by the caller,
//! each freed with its own `_free` function; read-only (any number of
//! threads may read one at once); what their accessors return is borrowed
//! from them.

use std::ffi::{c_char, c_int, c_void};
use std::io::{self, Write};
use std::path::Path;
use std::ptr;

use super::arena::{Arena, Strings};
use super::args::{give, give_opt, put_opt, wait_limit};
use super::client::etcdc_client;
use super::v3_kv::{etcdc_v3_header, read};
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::v3::{Alarm, AlarmKind, Status};

// ---------------------------------------------------------------- status

/// One member's view of itself and of the cluster (`etcdc_v3_status()`).
/// Owned by the caller and freed with `etcdc_v3_status_response_free()`.
/// Read-only: any number of threads may read it at once.
pub struct etcdc_v3_status_response {
    header: etcdc_v3_header,
    db_size: i64,
    db_size_in_use: i64,
    leader: u64,
    raft_index: u64,
    raft_term: u64,
    raft_applied_index: u64,
    is_learner: bool,
    /// endpoint, version, then the errors.
    strings: Strings,
    endpoint: usize,
    version: usize,
    errors: Vec<usize>,
}

impl etcdc_v3_status_response {
    fn new(s: Status) -> etcdc_v3_status_response {
        let mut arena = Arena::default();
        let endpoint = arena.add(&s.endpoint);
        let version = arena.add(&s.version);
        let errors = s.errors.iter().map(|e| arena.add(e)).collect();
        etcdc_v3_status_response {
            header: s.header.into(),
            db_size: s.db_size,
            db_size_in_use: s.db_size_in_use,
            leader: s.leader,
            raft_index: s.raft_index,
            raft_term: s.raft_term,
            raft_applied_index: s.raft_applied_index,
            is_learner: s.is_learner,
            strings: arena.freeze(),
            endpoint,
            version,
            errors,
        }
    }
}

/// Stores in `*out` the status of the member at client URL `endpoint`, or
/// with `endpoint` NULL of the member the client talks to (see the
/// section's introduction): a new response, owned by the caller and freed
/// with `etcdc_v3_status_response_free()`. Answered by that member alone,
/// without a leader: a member cut off from the cluster answers too (its
/// leader then 0, or a stale one).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `out`),
/// invalid UTF-8, an `endpoint` that is no client URL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status(
    client: *const etcdc_client,
    endpoint: *const c_char,
    out: *mut *mut etcdc_v3_status_response,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let (v3, endpoint) = (arg!(client).v3(), opt_string!(endpoint));
        let answer = match endpoint {
            Some(endpoint) => v3.status_of(endpoint)?,
            None => v3.status()?,
        };
        give(out, etcdc_v3_status_response::new(answer));
        Ok(())
    })
}

/// Frees a status response and the strings borrowed from it. NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_free(response: *mut etcdc_v3_status_response) {
    free!(response)
}

/// The response's header (`member_id`: the member that answered).
/// Borrowed from the response; NULL only if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_header(
    response: *const etcdc_v3_status_response,
) -> *const etcdc_v3_header {
    read(response, ptr::null(), |r| &r.header as *const _)
}

/// The client URL of the member that answered, as this client knows it.
/// Borrowed from the response; NULL only if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_endpoint(
    response: *const etcdc_v3_status_response,
) -> *const c_char {
    read(response, ptr::null(), |r| r.strings.ptr(r.endpoint))
}

/// etcd's version on that member, e.g. "3.4.23". Borrowed from the
/// response; NULL only if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_version(
    response: *const etcdc_v3_status_response,
) -> *const c_char {
    read(response, ptr::null(), |r| r.strings.ptr(r.version))
}

/// The size of the member's database file, in bytes (0 if `response` is
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_db_size(
    response: *const etcdc_v3_status_response,
) -> i64 {
    read(response, 0, |r| r.db_size)
}

/// How much of the database file is in use, in bytes (the rest is freed by
/// `etcdc_v3_defragment()`); 0 if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_db_size_in_use(
    response: *const etcdc_v3_status_response,
) -> i64 {
    read(response, 0, |r| r.db_size_in_use)
}

/// The leader's member id, as the member believes; 0 when it knows of none
/// (or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_leader(
    response: *const etcdc_v3_status_response,
) -> u64 {
    read(response, 0, |r| r.leader)
}

/// The member's raft log's committed index (0 if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_raft_index(
    response: *const etcdc_v3_status_response,
) -> u64 {
    read(response, 0, |r| r.raft_index)
}

/// The member's raft term (0 if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_raft_term(
    response: *const etcdc_v3_status_response,
) -> u64 {
    read(response, 0, |r| r.raft_term)
}

/// The member's raft log's applied index (0 if `response` is NULL; etcd
/// 3.4 and later fill it in).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_raft_applied_index(
    response: *const etcdc_v3_status_response,
) -> u64 {
    read(response, 0, |r| r.raft_applied_index)
}

/// Whether the member is a learner (false if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_is_learner(
    response: *const etcdc_v3_status_response,
) -> bool {
    read(response, false, |r| r.is_learner)
}

/// Number of alarms and health problems the member reports (0 when all is
/// well, or if `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_error_count(
    response: *const etcdc_v3_status_response,
) -> usize {
    read(response, 0, |r| r.errors.len())
}

/// Problem `i` (0-based), as etcd's text (e.g. "memberID:... alarm:NOSPACE"),
/// or NULL if out of range. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_status_response_error(
    response: *const etcdc_v3_status_response,
    i: usize,
) -> *const c_char {
    read(response, ptr::null(), |r| {
        r.errors.get(i).map_or(ptr::null(), |&at| r.strings.ptr(at))
    })
}

// ---------------------------------------------------------------- alarms

/// What an alarm is about: etcd's numbers, the values of the `kind`
/// parameter of `etcdc_v3_alarm_disarm()` and of
/// `etcdc_v3_alarm_list_kind()` (an `int`: a kind this library does not
/// name is etcd's number as it is).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_alarm_kind {
    /// No alarm: what `etcdc_v3_alarm_list_kind()` returns for an index out
    /// of range.
    ETCDC_V3_ALARM_NONE = 0,
    /// The database reached its quota (`--quota-backend-bytes`): etcd
    /// refuses writes (`ETCDC_ERR_GRPC_RESOURCE_EXHAUSTED`) until space is
    /// freed (compact, defragment) and the alarm disarmed.
    ETCDC_V3_ALARM_NOSPACE = 1,
    /// A member's store differs from the others' (corruption check).
    ETCDC_V3_ALARM_CORRUPT = 2,
}

/// The C number of an alarm kind.
fn alarm_number(kind: AlarmKind) -> c_int {
    match kind {
        AlarmKind::NoSpace => etcdc_v3_alarm_kind::ETCDC_V3_ALARM_NOSPACE as c_int,
        AlarmKind::Corrupt => etcdc_v3_alarm_kind::ETCDC_V3_ALARM_CORRUPT as c_int,
        AlarmKind::Other(n) => n,
    }
}

/// The alarm kind of a C `kind` argument: a positive number.
fn alarm_kind(kind: c_int) -> Result<AlarmKind> {
    match kind {
        1 => Ok(AlarmKind::NoSpace),
        2 => Ok(AlarmKind::Corrupt),
        n if n > 0 => Ok(AlarmKind::Other(n)),
        n => Err(Error::InvalidArgument(format!(
            "kind is {n}: an alarm kind is ETCDC_V3_ALARM_NOSPACE, _CORRUPT or another \
             positive number of etcd's"
        ))),
    }
}

/// Alarms raised on members (`etcdc_v3_alarms()`), owned by the caller and
/// freed with `etcdc_v3_alarm_list_free()`. Read-only: any number of
/// threads may read it at once.
pub struct etcdc_v3_alarm_list {
    alarms: Vec<Alarm>,
}

/// Stores every alarm raised in the cluster in `*out` (a linearizable
/// read: etcd keeps alarms through raft): a new list, owned by the caller
/// and freed with `etcdc_v3_alarm_list_free()`; empty when all is well.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarms(
    client: *const etcdc_client,
    out: *mut *mut etcdc_v3_alarm_list,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let alarms = arg!(client).v3().alarm_list()?;
        give(out, etcdc_v3_alarm_list { alarms });
        Ok(())
    })
}

/// Raises the alarm `kind` (`ETCDC_V3_ALARM_NOSPACE`, `_CORRUPT`, or
/// another positive number of etcd's) on member `member_id` (any id: etcd
/// records the alarm under it, 0 included): for testing how a program
/// copes with an alarm. On success `*raised` (if not NULL) is a new list
/// holding the alarm (also when it was raised already), freed with
/// `etcdc_v3_alarm_list_free()`. While NOSPACE is raised etcd refuses puts
/// and lease grants (`ETCDC_ERR_GRPC_RESOURCE_EXHAUSTED`), while CORRUPT
/// is, every write (`ETCDC_ERR_GRPC_DATA_LOSS`); reads go on, until
/// `etcdc_v3_alarm_disarm()`. Sent once, as a write.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client` or a `kind`
/// that is not positive; `ETCDC_ERR_AMBIGUOUS`; with auth on,
/// `ETCDC_ERR_GRPC_PERMISSION_DENIED` for a user without the root role on
/// the etcd releases that check it (3.4 and 3.5.1 let anyone raise
/// alarms); transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarm_activate(
    client: *const etcdc_client,
    member_id: u64,
    kind: c_int,
    raised: *mut *mut etcdc_v3_alarm_list,
) -> etcdc_status {
    status(|| {
        let kind = alarm_kind(kind)?;
        let alarms = arg!(client).v3().alarm_activate(member_id, kind)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(raised, etcdc_v3_alarm_list { alarms }) };
        Ok(())
    })
}

/// Disarms the alarm `kind` (`ETCDC_V3_ALARM_NOSPACE`, `_CORRUPT`, or
/// another positive number of etcd's) of member `member_id`. On success
/// `*disarmed` (if not NULL) is a new list of the alarms disarmed (empty
/// when that alarm was not raised: no error), freed with
/// `etcdc_v3_alarm_list_free()`. A NOSPACE alarm comes back at once if the
/// database is still over its quota.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client` or a `kind`
/// that is not positive; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarm_disarm(
    client: *const etcdc_client,
    member_id: u64,
    kind: c_int,
    disarmed: *mut *mut etcdc_v3_alarm_list,
) -> etcdc_status {
    status(|| {
        let kind = alarm_kind(kind)?;
        let alarms = arg!(client).v3().alarm_disarm(member_id, kind)?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { give_opt(disarmed, etcdc_v3_alarm_list { alarms }) };
        Ok(())
    })
}

/// Number of alarms in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarm_list_count(list: *const etcdc_v3_alarm_list) -> usize {
    read(list, 0, |l| l.alarms.len())
}

/// The member alarm `i` (0-based) is raised on, or 0 (no member has that
/// id) if out of range or `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarm_list_member_id(
    list: *const etcdc_v3_alarm_list,
    i: usize,
) -> u64 {
    read(list, 0, |l| l.alarms.get(i).map_or(0, |a| a.member_id))
}

/// What alarm `i` is about: one of `etcdc_v3_alarm_kind`, or etcd's number
/// for a kind this library does not name; `ETCDC_V3_ALARM_NONE` if out of
/// range or `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarm_list_kind(
    list: *const etcdc_v3_alarm_list,
    i: usize,
) -> c_int {
    // Read as an i64 (a number the boundary knows); every c_int fits.
    let kind = read(list, 0, |l| {
        l.alarms
            .get(i)
            .map_or(0, |a| i64::from(alarm_number(a.kind)))
    });
    kind as c_int
}

/// Frees an alarm list. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_alarm_list_free(list: *mut etcdc_v3_alarm_list) {
    free!(list)
}

// ---------------------------------------------------- defragment, hashes

/// Defragments the database of the member at client URL `endpoint`, or
/// with `endpoint` NULL of the member the client talks to, giving its free
/// pages back to the file system. The member serves nothing else
/// meanwhile, which may take seconds for a large database: defragment
/// members one at a time. Sent once (as a write): without a certain answer
/// it is `ETCDC_ERR_AMBIGUOUS`, and may still be running.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`, invalid UTF-8,
/// an `endpoint` that is no client URL; `ETCDC_ERR_GRPC_UNKNOWN` with auth
/// on (see the section's introduction); transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_defragment(
    client: *const etcdc_client,
    endpoint: *const c_char,
) -> etcdc_status {
    status(|| {
        let (v3, endpoint) = (arg!(client).v3(), opt_string!(endpoint));
        match endpoint {
            Some(endpoint) => v3.defragment_of(endpoint),
            None => v3.defragment().map(drop),
        }
    })
}

/// Stores in `*hash` a hash of the whole database of the member the client
/// talks to, for tests: members' hashes differ even when their keys agree
/// (see `etcdc_v3_hash_kv()` to compare members). On success `*header` (if
/// not NULL) is the answer's header (`member_id`: the member hashed).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `hash`);
/// `ETCDC_ERR_GRPC_UNKNOWN` with auth on (see the section's introduction);
/// transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_hash(
    client: *const etcdc_client,
    hash: *mut u32,
    header: *mut etcdc_v3_header,
) -> etcdc_status {
    status(|| {
        let hash = arg_mut!(hash);
        let answer = arg!(client).v3().hash()?;
        *hash = answer.hash;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(header, answer.header.into()) };
        Ok(())
    })
}

/// Stores in `*hash` a hash of the key-value history of the member at
/// client URL `endpoint` (NULL: the member the client talks to) up to
/// `revision` (0: its latest), from its last compaction: members whose
/// stores agree give the same hash for the same revision. On success
/// `*compact_revision` (if not NULL) is the store's last compaction when
/// the hash began (-1: never compacted), and `*header` (if not NULL) the answer's
/// header (`member_id`: the member hashed; `revision`: the store's
/// revision then).
///
/// Errors: `ETCDC_ERR_GRPC_OUT_OF_RANGE` for a compacted or future
/// `revision`; `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `hash`),
/// invalid UTF-8, an `endpoint` that is no client URL;
/// `ETCDC_ERR_GRPC_UNKNOWN` with auth on (see the section's introduction);
/// transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_hash_kv(
    client: *const etcdc_client,
    endpoint: *const c_char,
    revision: i64,
    hash: *mut u32,
    compact_revision: *mut i64,
    header: *mut etcdc_v3_header,
) -> etcdc_status {
    status(|| {
        let hash = arg_mut!(hash);
        let (v3, endpoint) = (arg!(client).v3(), opt_string!(endpoint));
        let answer = match endpoint {
            Some(endpoint) => v3.hash_kv_of(endpoint, revision)?,
            None => v3.hash_kv(revision)?,
        };
        *hash = answer.hash;
        // SAFETY: NULL or writable, per the contract.
        unsafe {
            put_opt(compact_revision, answer.compact_revision);
            put_opt(header, answer.header.into());
        }
        Ok(())
    })
}

// ------------------------------------------------------------- snapshots

/// Called by `etcdc_v3_snapshot()`, on the thread that called it, with
/// each piece of the snapshot, in order: `len` bytes at `data` (never 0;
/// borrowed: valid during the call only).
/// Return 0 to go on, anything else to stop (the call then returns
/// `ETCDC_ERR_CANCELLED`). It must return normally (no longjmp, no C++
/// exception).
pub type etcdc_v3_snapshot_callback =
    Option<unsafe extern "C" fn(data: *const u8, len: usize, userdata: *mut c_void) -> c_int>;

/// The callback as a writer for the Rust API; remembers whether it asked
/// to stop.
struct CallbackWriter {
    callback: unsafe extern "C" fn(*const u8, usize, *mut c_void) -> c_int,
    userdata: *mut c_void,
    stopped: Option<c_int>,
}

impl Write for CallbackWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // SAFETY: the callback's contract; `data` lives across the call.
        let r = unsafe { (self.callback)(data.as_ptr(), data.len(), self.userdata) };
        if r != 0 {
            self.stopped = Some(r);
            return Err(io::Error::other(format!(
                "the callback returned {r}: stopped"
            )));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streams a snapshot of the database of the member the client talks to:
/// calls `callback(data, len, userdata)` with each piece, in order, within
/// `timeout_ms` for the whole transfer (the waiting rule: negative for no
/// limit, for a large database; 0 for "do not wait"; positive for at most
/// that long). What it gets is the database file (a bbolt file) followed by
/// its SHA-256 (32 bytes), as `etcdctl snapshot save` writes it and
/// `etcdutl snapshot restore` reads it. On success `*size` (if not NULL)
/// is how many bytes the callback got.
///
/// It moves on to another member while the callback has got nothing; once
/// it has, a failure is final and what the callback got is part of a
/// snapshot: discard it.
///
/// Errors: `ETCDC_ERR_CANCELLED` when the callback returned non-zero (the
/// transfer is stopped); `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`
/// or `callback`; `ETCDC_ERR_TIMEOUT`; `ETCDC_ERR_GRPC_UNKNOWN` with auth
/// on (see the section's introduction); transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_snapshot(
    client: *const etcdc_client,
    callback: etcdc_v3_snapshot_callback,
    userdata: *mut c_void,
    timeout_ms: i64,
    size: *mut u64,
) -> etcdc_status {
    status(|| {
        let client = arg!(client);
        let Some(callback) = callback else {
            return Err(Error::InvalidArgument("callback is NULL".into()));
        };
        let mut writer = CallbackWriter {
            callback,
            userdata,
            stopped: None,
        };
        let answer = client.v3().snapshot(&mut writer, wait_limit(timeout_ms));
        let snapshot = match (answer, writer.stopped) {
            (Ok(snapshot), _) => snapshot,
            (Err(_), Some(_)) => return Err(Error::Cancelled),
            (Err(e), None) => return Err(e),
        };
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(size, snapshot.size) };
        Ok(())
    })
}

/// Saves a snapshot (as `etcdc_v3_snapshot()` streams it) in the file at
/// `path`, atomically: it is written to a new file next to it
/// (`path` + ".part-<pid>-<n>"), flushed to disk, then renamed to `path`,
/// replacing any file there. On failure `path` is untouched and the
/// partial file removed. On success `*size` (if not NULL) is the file's
/// size. `timeout_ms` as for `etcdc_v3_snapshot()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `path`),
/// invalid UTF-8, or a file that cannot be created, written or renamed
/// (the message says which and why); otherwise as `etcdc_v3_snapshot()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_snapshot_to_file(
    client: *const etcdc_client,
    path: *const c_char,
    timeout_ms: i64,
    size: *mut u64,
) -> etcdc_status {
    status(|| {
        let (client, path) = (arg!(client), string!(path));
        let snapshot = client
            .v3()
            .snapshot_to_file(Path::new(path), wait_limit(timeout_ms))?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(size, snapshot.size) };
        Ok(())
    })
}

// --------------------------------------------------------------- leader

/// Makes member `target` the leader; returns once it leads. The call goes
/// to the leader (only it can hand its leadership over): the member the
/// client talks to if it leads, else the first client URL of the leader it
/// names. Moving it to the leader itself is no error.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: bad leader
/// transferee" for an unknown member or a learner; "etcdserver: not
/// leader" when the leader changed meanwhile); `ETCDC_ERR_AMBIGUOUS` (e.g.
/// "etcdserver: request timed out, leader transfer took too long": it may
/// still happen); `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`;
/// transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_move_leader(
    client: *const etcdc_client,
    target: u64,
) -> etcdc_status {
    status(|| arg!(client).v3().move_leader(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_kinds() {
        assert_eq!(alarm_kind(1).unwrap(), AlarmKind::NoSpace);
        assert_eq!(alarm_kind(2).unwrap(), AlarmKind::Corrupt);
        assert_eq!(alarm_kind(9).unwrap(), AlarmKind::Other(9));
        for bad in [0, -1, c_int::MIN] {
            let e = alarm_kind(bad).unwrap_err().to_string();
            assert!(e.contains("kind"), "{e}");
        }
        for kind in [AlarmKind::NoSpace, AlarmKind::Corrupt, AlarmKind::Other(7)] {
            assert_eq!(alarm_kind(alarm_number(kind)).unwrap(), kind);
        }
    }

    #[test]
    fn alarm_list_reads() {
        let l = Box::into_raw(Box::new(etcdc_v3_alarm_list {
            alarms: vec![
                Alarm {
                    member_id: 5,
                    kind: AlarmKind::Other(-3),
                },
                Alarm {
                    member_id: 6,
                    kind: AlarmKind::NoSpace,
                },
            ],
        }));
        // SAFETY: a live list, freed at the end.
        unsafe {
            assert_eq!(etcdc_v3_alarm_list_count(l), 2);
            assert_eq!(etcdc_v3_alarm_list_kind(l, 0), -3);
            assert_eq!(etcdc_v3_alarm_list_kind(l, 1), 1);
            assert_eq!(etcdc_v3_alarm_list_member_id(l, 1), 6);
            assert_eq!(etcdc_v3_alarm_list_kind(l, 2), 0);
            assert_eq!(etcdc_v3_alarm_list_kind(ptr::null(), 0), 0);
            etcdc_v3_alarm_list_free(l);
        }
    }
}
