//! Maintenance: a member's status, alarms, defragmentation, hashes of the
//! store, leadership transfer.
//!
//! Most of these are about one member. Without an endpoint they go to the
//! member the client talks to now (its first endpoint, or the one it
//! failed over to), and the answer says which (`header.member_id`,
//! [`Status::endpoint`]); the `…_of(endpoint)` forms ask the member at that
//! client URL (one of the client's endpoints or not, e.g. from
//! [`V3::member_list`]), without failing over, with the client's TLS
//! settings and credentials; a member of another cluster than the one the
//! client has seen is [`Error::ClusterIdMismatch`].
//!
//! With auth on, defragment, the hashes and snapshots need the `root`
//! role: etcd 3.4.23 and 3.5.1 refuse others with `Unknown` "auth:
//! permission denied" (or "auth: user name is empty" without credentials),
//! not translated into a gRPC code. They answer status, the alarms and a
//! leadership transfer for anyone, even a client without credentials;
//! later patch releases (the fix of CVE-2026-33413) may ask for `root`
//! there too.
//!
//! Not here: `Downgrade` (etcd 3.5+, for clusters being downgraded).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proto::{etcdserverpb as pb, methods};
use super::types::Header;
use super::V3;
use crate::error::{Error, Result};
use crate::transport::unary::Kind;
use crate::transport::Limit;

/// One member's view of itself and of the cluster ([`V3::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `member_id` is the member that answered.
    pub header: Header,
    /// The client URL of the member that answered, as this client knows it.
    pub endpoint: String,
    /// etcd's version on that member, e.g. `3.5.1`.
    pub version: String,
    /// The size of its database file, in bytes.
    pub db_size: i64,
    /// How much of that is in use (the rest is freed by
    /// [`defragment`](V3::defragment)).
    pub db_size_in_use: i64,
    /// The leader's member id, as this member believes; 0 when it knows of
    /// none.
    pub leader: u64,
    /// Its raft log's committed index.
    pub raft_index: u64,
    /// Its raft term.
    pub raft_term: u64,
    /// Its raft log's applied index.
    pub raft_applied_index: u64,
    pub is_learner: bool,
    /// Alarms and health problems it reports, as text (e.g. `memberID:…
    /// alarm:NOSPACE`); empty when all is well.
    pub errors: Vec<String>,
}

/// What an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    /// The database reached its quota (`--quota-backend-bytes`): etcd
    /// refuses writes until space is freed (compact, defragment) and the
    /// alarm disarmed.
    NoSpace,
    /// A member's store differs from the others' (corruption check).
    Corrupt,
    /// A kind this client does not know, by etcd's number.
    Other(i32),
}

impl AlarmKind {
    fn to_pb(self) -> i32 {
        match self {
            AlarmKind::NoSpace => pb::AlarmType::Nospace as i32,
            AlarmKind::Corrupt => pb::AlarmType::Corrupt as i32,
            AlarmKind::Other(n) => n,
        }
    }

    fn from_pb(n: i32) -> AlarmKind {
        match pb::AlarmType::try_from(n) {
            Ok(pb::AlarmType::Nospace) => AlarmKind::NoSpace,
            Ok(pb::AlarmType::Corrupt) => AlarmKind::Corrupt,
            _ => AlarmKind::Other(n),
        }
    }
}

/// An alarm raised on a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alarm {
    pub member_id: u64,
    pub kind: AlarmKind,
}

fn alarms(list: Vec<pb::AlarmMember>) -> Vec<Alarm> {
    list.into_iter()
        .map(|a| Alarm {
            member_id: a.member_id,
            kind: AlarmKind::from_pb(a.alarm),
        })
        .collect()
}

/// A hash of a member's whole database ([`V3::hash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hash {
    /// `member_id` is the member hashed.
    pub header: Header,
    pub hash: u32,
}

/// A hash of a member's key-value history ([`V3::hash_kv`]). (etcd 3.6
/// adds the revision hashed, `hash_revision`; the messages here are 3.5's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKv {
    /// `member_id` is the member hashed; `revision` the store's revision
    /// when it answered.
    pub header: Header,
    /// The hash of every key's revisions from `compact_revision` to the
    /// revision asked for: equal on members that agree.
    pub hash: u32,
    /// The store's last compaction when the hash began; -1 when it was
    /// never compacted.
    pub compact_revision: i64,
}

/// A snapshot of a member's database, written ([`V3::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The client URL of the member that sent it.
    pub endpoint: String,
    /// The header of the first message, when etcd sends one (`revision`:
    /// the store's revision the snapshot holds); etcd 3.4 and 3.5.1 send
    /// none: all zero.
    pub header: Header,
    /// How many bytes were written: the database file (a bbolt file)
    /// followed by its SHA-256 (32 bytes), as `etcdctl snapshot save`
    /// writes it and `etcdutl snapshot restore` reads it.
    pub size: u64,
}

fn status(answer: pb::StatusResponse, endpoint: String) -> Status {
    Status {
        header: answer.header.into(),
        endpoint,
        version: answer.version,
        db_size: answer.db_size,
        db_size_in_use: answer.db_size_in_use,
        leader: answer.leader,
        raft_index: answer.raft_index,
        raft_term: answer.raft_term,
        raft_applied_index: answer.raft_applied_index,
        is_learner: answer.is_learner,
        errors: answer.errors,
    }
}

/// A member's client URL as the transport names endpoints
/// (`http://host:port`, no trailing slash).
fn member_url(endpoint: &str) -> Result<String> {
    let url = endpoint.trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => {
            Ok(url.to_owned())
        }
        _ => Err(Error::InvalidArgument(format!(
            "{endpoint:?} is not a member's client URL (http://host:port or https://host:port)"
        ))),
    }
}

impl V3<'_> {
    /// The status of the member the client talks to (which one:
    /// `endpoint`, `header.member_id`). Answered by that member alone,
    /// without a leader: a member cut off from the cluster answers too
    /// (its `leader` then 0, or a stale one).
    pub fn status(&self) -> Result<Status> {
        let (answer, endpoint) = self.call_from(
            methods::MAINTENANCE_STATUS,
            &pb::StatusRequest {},
            Kind::Serializable,
        )?;
        Ok(status(answer, endpoint))
    }

    /// The status of the member at client URL `endpoint` (see the module
    /// doc), as [`status`](Self::status). To see every member: the client
    /// URLs of [`member_list`](Self::member_list).
    ///
    /// Errors: [`Error::InvalidArgument`] for something not
    /// `http(s)://host:port`; [`Error::Connection`] or [`Error::Timeout`]
    /// when that member does not answer.
    pub fn status_of(&self, endpoint: &str) -> Result<Status> {
        let endpoint = member_url(endpoint)?;
        let answer = self.call_to(
            &endpoint,
            methods::MAINTENANCE_STATUS,
            &pb::StatusRequest {},
            Kind::Serializable,
        )?;
        Ok(status(answer, endpoint))
    }

    /// Every alarm raised in the cluster (a linearizable read: etcd keeps
    /// alarms through raft).
    pub fn alarm_list(&self) -> Result<Vec<Alarm>> {
        let request = pb::AlarmRequest {
            action: pb::alarm_request::AlarmAction::Get as i32,
            member_id: 0,
            alarm: pb::AlarmType::None as i32,
        };
        let answer = self.call(methods::MAINTENANCE_ALARM, &request, Kind::Linearizable)?;
        Ok(alarms(answer.alarms))
    }

    /// Raises alarm `kind` on member `member_id` (any id: etcd records
    /// the alarm under it, 0 included, as python-etcd3 sends by default);
    /// returns the alarm (also when it was raised already). Meant for
    /// testing how a program copes with an alarm. While a `NoSpace` alarm is
    /// raised etcd refuses puts and lease grants (`ResourceExhausted`
    /// "etcdserver: mvcc: database space exceeded"), and while a `Corrupt`
    /// one is, every write (`DataLoss` "etcdserver: corrupt cluster");
    /// reads go on. Sent once (as a write): when no certain answer comes it
    /// is [`Error::Ambiguous`].
    ///
    /// Errors: with auth on, `PermissionDenied` (as [`Error::Grpc`]) for a
    /// user without the root role on the etcd releases that check it (3.4
    /// and 3.5.1 let anyone raise and disarm alarms).
    pub fn alarm_activate(&self, member_id: u64, kind: AlarmKind) -> Result<Vec<Alarm>> {
        let request = pb::AlarmRequest {
            action: pb::alarm_request::AlarmAction::Activate as i32,
            member_id,
            alarm: kind.to_pb(),
        };
        let answer = self.call(methods::MAINTENANCE_ALARM, &request, Kind::Write)?;
        Ok(alarms(answer.alarms))
    }

    /// Disarms alarm `kind` of member `member_id`; returns the alarms
    /// disarmed (empty when that alarm was not raised: no error). A
    /// `NoSpace` alarm comes back at once if the database is still over its
    /// quota.
    pub fn alarm_disarm(&self, member_id: u64, kind: AlarmKind) -> Result<Vec<Alarm>> {
        let request = pb::AlarmRequest {
            action: pb::alarm_request::AlarmAction::Deactivate as i32,
            member_id,
            alarm: kind.to_pb(),
        };
        let answer = self.call(methods::MAINTENANCE_ALARM, &request, Kind::Write)?;
        Ok(alarms(answer.alarms))
    }

    /// Defragments the database of the member the client talks to, giving
    /// its free pages back to the file system; returns that member's client
    /// URL (etcd's answer carries no header). The member serves nothing
    /// else meanwhile, which may take seconds for a large database:
    /// defragment members one at a time. Sent once (as a write): when no
    /// certain answer comes it is [`Error::Ambiguous`],
    /// and it may still be running.
    ///
    /// Errors (etcd 3.4, 3.5.1), with auth on: `Unknown` "auth: permission
    /// denied" for a user without the `root` role, `Unknown` "auth: user
    /// name is empty" without credentials (etcd does not translate these
    /// into gRPC codes here).
    pub fn defragment(&self) -> Result<String> {
        let (_, endpoint) = self.call_from(
            methods::MAINTENANCE_DEFRAGMENT,
            &pb::DefragmentRequest {},
            Kind::Write,
        )?;
        Ok(endpoint)
    }

    /// [`defragment`](Self::defragment)s the member at client URL
    /// `endpoint` (see the module doc).
    pub fn defragment_of(&self, endpoint: &str) -> Result<()> {
        let endpoint = member_url(endpoint)?;
        self.call_to(
            &endpoint,
            methods::MAINTENANCE_DEFRAGMENT,
            &pb::DefragmentRequest {},
            Kind::Write,
        )?;
        Ok(())
    }

    /// A hash of the whole database of the member the client talks to,
    /// for tests: members' hashes differ even when their keys agree. See
    /// [`hash_kv`](Self::hash_kv) to compare members.
    ///
    /// Errors: as [`defragment`](Self::defragment)'s with auth on.
    pub fn hash(&self) -> Result<Hash> {
        let answer = self.call(
            methods::MAINTENANCE_HASH,
            &pb::HashRequest {},
            Kind::Serializable,
        )?;
        Ok(Hash {
            header: answer.header.into(),
            hash: answer.hash,
        })
    }

    /// A hash of the key-value history of the member the client talks to,
    /// up to `revision` (0: its latest), from its last compaction: members
    /// whose stores agree give the same hash for the same revision and
    /// compaction.
    ///
    /// Errors: `OutOfRange` "etcdserver: mvcc: required revision has been
    /// compacted" or "etcdserver: mvcc: required revision is a future
    /// revision"; as [`defragment`](Self::defragment)'s with auth on.
    pub fn hash_kv(&self, revision: i64) -> Result<HashKv> {
        let request = pb::HashKvRequest { revision };
        let answer = self.call(methods::MAINTENANCE_HASH_KV, &request, Kind::Serializable)?;
        Ok(hash_kv(answer))
    }

    /// [`hash_kv`](Self::hash_kv) of the member at client URL `endpoint`
    /// (see the module doc): ask each member for the same revision to
    /// compare them.
    pub fn hash_kv_of(&self, endpoint: &str, revision: i64) -> Result<HashKv> {
        let endpoint = member_url(endpoint)?;
        let request = pb::HashKvRequest { revision };
        let answer = self.call_to(
            &endpoint,
            methods::MAINTENANCE_HASH_KV,
            &request,
            Kind::Serializable,
        )?;
        Ok(hash_kv(answer))
    }

    /// Writes a snapshot of the database of the member the client talks
    /// to into `out`, within `timeout` for the whole transfer (`None`: no
    /// limit, for a large database; a member that stops answering is still
    /// given up on by the connection's keep-alive). It moves on to another
    /// member while nothing has been written; once something has, a
    /// failure is final and `out` holds part of a snapshot: discard it.
    ///
    /// Errors: as [`defragment`](Self::defragment)'s with auth on;
    /// [`Error::InvalidArgument`] when `out` fails (the transfer is
    /// cancelled), with the I/O error's text.
    pub fn snapshot(&self, out: &mut dyn Write, timeout: Option<Duration>) -> Result<Snapshot> {
        let limit = timeout.map_or(Limit::Unlimited, Limit::Within);
        let mut size = 0u64;
        let mut header = None;
        let mut each = |chunk: pb::SnapshotResponse| -> Result<()> {
            if header.is_none() {
                header = Some(Header::from(chunk.header));
            }
            out.write_all(&chunk.blob)
                .map_err(|e| Error::InvalidArgument(format!("writing the snapshot failed: {e}")))?;
            size += chunk.blob.len() as u64;
            Ok(())
        };
        let endpoint = self.call_stream(
            methods::MAINTENANCE_SNAPSHOT,
            &pb::SnapshotRequest {},
            limit,
            &mut each,
        )?;
        out.flush()
            .map_err(|e| Error::InvalidArgument(format!("writing the snapshot failed: {e}")))?;
        Ok(Snapshot {
            endpoint,
            header: header.unwrap_or_default(),
            size,
        })
    }

    /// [`snapshot`](Self::snapshot) into the file at `path`, atomically:
    /// written to a new file next to it (`path` + ".part-<pid>-<n>"),
    /// flushed to disk, then renamed to `path`, replacing any file there. On
    /// failure `path` is untouched and the partial file removed.
    ///
    /// Errors: as [`snapshot`](Self::snapshot)'s; [`Error::InvalidArgument`]
    /// for a file that cannot be created, written or renamed (the message
    /// says which and why).
    pub fn snapshot_to_file(&self, path: &Path, timeout: Option<Duration>) -> Result<Snapshot> {
        snapshot_to(self, path, timeout)
    }

    /// Makes member `target` the leader; returns once it leads (etcd's
    /// answer carries no header). Only the leader can hand its leadership
    /// over: the call goes to the member the client talks to if it leads,
    /// else to the first client URL of the leader it names (its
    /// [`status`](Self::status)'s `leader`, found in
    /// [`member_list`](Self::member_list)).
    ///
    /// Errors: `FailedPrecondition` "etcdserver: not leader" when the
    /// member asked does not lead (no leader known, or it changed
    /// meanwhile); `FailedPrecondition` "etcdserver: bad leader transferee"
    /// for an unknown member or a learner; `DeadlineExceeded`
    /// "etcdserver: request timed out, leader transfer took too long" (an
    /// [`Error::Ambiguous`] here: the transfer may
    /// still happen). Moving it to the leader itself is no error. etcd 3.4
    /// and 3.5.1 let any user move the leadership, auth on or not.
    pub fn move_leader(&self, target: u64) -> Result<()> {
        let status = self.status()?;
        let mut endpoint = status.endpoint;
        if status.leader != 0 && status.leader != status.header.member_id {
            let leader = self
                .member_list()?
                .into_iter()
                .find(|m| m.id == status.leader);
            if let Some(url) = leader.and_then(|m| m.client_urls.into_iter().next()) {
                endpoint = member_url(&url)?;
            }
        }
        let request = pb::MoveLeaderRequest { target_id: target };
        self.call_to(
            &endpoint,
            methods::MAINTENANCE_MOVE_LEADER,
            &request,
            Kind::Write,
        )?;
        Ok(())
    }
}

fn hash_kv(answer: pb::HashKvResponse) -> HashKv {
    HashKv {
        header: answer.header.into(),
        hash: answer.hash,
        compact_revision: answer.compact_revision,
    }
}

/// A new file next to `path` for its content until it is complete:
/// `path.part-<pid>-<n>`, created, never an existing one.
fn create_part(path: &Path) -> Result<(File, PathBuf)> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".part-{}-", std::process::id()));
    for n in 0u32.. {
        let mut part = name.clone();
        part.push(n.to_string());
        let part = PathBuf::from(part);
        match OpenOptions::new().write(true).create_new(true).open(&part) {
            Ok(file) => return Ok((file, part)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => {
                return Err(Error::InvalidArgument(format!(
                    "cannot create {}: {e}",
                    part.display()
                )))
            }
        }
    }
    unreachable!("the loop returns")
}

/// Writes a snapshot into `part` (created) and renames it to `path`.
fn snapshot_to(v3: &V3<'_>, path: &Path, timeout: Option<Duration>) -> Result<Snapshot> {
    let (file, part) = create_part(path)?;
    let io_error = |what: &str, e: io::Error| {
        Error::InvalidArgument(format!("{what} {}: {e}", part.display()))
    };
    let written = (|| {
        let mut out = BufWriter::new(file);
        let snapshot = v3.snapshot(&mut out, timeout)?;
        let file = out
            .into_inner()
            .map_err(|e| io_error("writing", e.into_error()))?;
        file.sync_all().map_err(|e| io_error("syncing", e))?;
        fs::rename(&part, path).map_err(|e| {
            Error::InvalidArgument(format!(
                "renaming {} to {}: {e}",
                part.display(),
                path.display()
            ))
        })?;
        Ok(snapshot)
    })();
    match written {
        Ok(snapshot) => {
            // The rename, made durable: best effort (a directory may not open).
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(snapshot)
        }
        Err(e) => {
            let _ = fs::remove_file(&part);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot that cannot be written leaves nothing behind.
    #[test]
    fn a_file_that_cannot_be_made_is_an_invalid_argument() {
        let e = create_part(Path::new("/nonexistent-etcdc-dir/snap.db")).unwrap_err();
        assert!(
            e.to_string()
                .contains("/nonexistent-etcdc-dir/snap.db.part-"),
            "{e}"
        );
    }
}
