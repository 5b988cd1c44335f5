//! A distributed lock on etcd's v3 API that interoperates with etcd's own
//! (`etcdctl lock`, Go's `concurrency.Mutex`): [`V3Lock`], from
//! [`V3::lock`], whose doc says how (the layout of etcd's concurrency
//! recipe), why the recipe rather than etcd's Lock service, how failover
//! is handled, and why a v2 and a v3 lock do not exclude each other. The
//! parts the election shares (joining the queue, waiting for one's turn,
//! leaving it, cancelling) are here too; [`V3Election`](super::V3Election)
//! is beside it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::keeper::{KeeperState, LeaseKeeper, LeaseSource, OnLost};
use super::kv::{Delete, Put, Range, SortOrder, SortTarget};
use super::txn::{Compare, CompareOp, Op, Txn};
use super::types::{KeyValue, OpResponse, TxnResponse};
use super::watch::{EventKind, Watch, WatchCanceller, Watcher};
use super::{Code, V3};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::connection::generation;

/// The lease TTL of Go's `concurrency.NewSession` (and `etcdctl elect`), in
/// seconds. (`etcdctl lock` uses 10.)
pub const DEFAULT_SESSION_TTL: i64 = 60;

/// How many more times a write of the recipe is sent when its outcome is
/// unknown ([`Error::Ambiguous`]).
const AMBIGUOUS_REPEATS: usize = 3;

impl V3<'_> {
    /// A handle on the lock `name` (etcdctl's `lock <name>`): its keys live
    /// under `name/` (see [`V3Lock`]). `ttl` is the lease's time to
    /// live in seconds: how long others wait for a holder that died.
    /// Sends nothing; [`V3Lock::acquire`] takes it.
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty name or a TTL that
    /// is not positive.
    pub fn lock(&self, name: impl Into<Vec<u8>>, ttl: i64) -> Result<V3Lock> {
        let prefix = recipe_prefix(name.into(), ttl, "lock")?;
        Ok(V3Lock {
            client: self.client.background(),
            prefix,
            ttl,
            state: State::Idle,
            session: None,
            wake: Wake::new(),
        })
    }
}

/// `name/`, once the name and TTL are checked.
pub(super) fn recipe_prefix(mut name: Vec<u8>, ttl: i64, what: &str) -> Result<Vec<u8>> {
    if name.is_empty() {
        let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(Error::InvalidArgument(format!(
            "{article} {what} needs a name"
        )));
    }
    if ttl <= 0 {
        return Err(Error::InvalidArgument(format!(
            "a {what} needs a lease TTL of 1 second or more, not {ttl}"
        )));
    }
    name.push(b'/');
    Ok(name)
}

/// A distributed lock on the v3 API, the same as etcd's own.
///
/// # The layout: etcd's concurrency recipe
///
/// The keys are those of Go's `client/v3/concurrency` package (`Mutex`),
/// which `etcdctl lock` uses: an etcdc lock, an `etcdctl lock` and any Go
/// program's `concurrency.Mutex` on the same name exclude each other.
///
/// - Lock `name` lives under the prefix `name/`: the name as given, with
///   `/` appended (as `NewMutex` does). So `a` and `a/` are two locks, and
///   the contenders of a lock named `a/b` sit inside lock `a`'s prefix
///   (where Go puts them too): do not nest lock names.
/// - Each contender has one key, `name/<its lease id in lowercase hex>`
///   (e.g. `jobs/694d8a2c5ff3a10b`), with an empty value, attached to its
///   lease. A handle's lease is its session, as in Go: granted at its
///   first acquire, renewed in the background by a [`LeaseKeeper`] from
///   then on, used again by every later acquire of the handle (a release
///   deletes the key only), and revoked when the handle is dropped. A lease
///   found lost or at risk at an acquire is replaced by a new one.
/// - The contender whose key has the lowest create revision holds the lock.
///   Each other one waits (with a watch) for the deletion of the last key
///   created before its own, then looks again: a release wakes one waiter,
///   and the lock passes in arrival order.
/// - A holder that dies stops renewing its lease: etcd deletes its key when
///   the lease expires, after its TTL, and the next contender gets the lock.
///   A lease lost while waiting or holding (it expired, or someone revoked
///   it) is [`Error::LockExpired`].
///
/// The lease is the TTL: a lock granted with `ttl` seconds is kept while
/// this process runs and reaches etcd; others wait at most `ttl` seconds for
/// a holder that died. `etcdctl lock` uses 10 s (`--ttl`), Go's sessions
/// 60 s ([`DEFAULT_SESSION_TTL`]).
///
/// # Why this recipe, and not etcd's Lock service
///
/// etcd also serves the same recipe as gRPC calls (`v3lockpb.Lock/Lock`,
/// `Unlock`, and `v3electionpb.Election`), run inside the server. etcdc
/// does not use them:
///
/// - cancellation: `Lock` is one call that blocks in the server until the
///   lock is granted. Cancelling it resets the stream, and then nothing
///   says whether the server had already written the contender's key, or
///   granted the lock, before it saw the reset. Here the wait is a watch on
///   the client's side, which a [`RecipeCanceller`] ends at once, and the
///   key to remove is known.
/// - failover: a `Lock` call cut off by a member's failure is ambiguous in
///   the same way, for as long as the call waited, and cannot be sent again
///   (the server would queue a second key). Here every write is short and
///   names its key, which depends only on the lease: `name/<lease hex>`.
///   Writing it is a txn "create it if it does not exist, else read it"; a
///   write that comes back [`Error::Ambiguous`] after a member failed is
///   simply sent again (up to 3 more times), and the answer says what the
///   first one did (the key exists with its create revision, or not). The
///   other writes (the delete at release, the election's proclaim and
///   resign) are compare-and-set on that key and its create revision, as
///   safe to repeat. A lease grant that came back ambiguous is granted
///   again: a lease that may have been made has no key and expires after
///   its TTL.
/// - the Go client itself uses the recipe (`etcdctl lock` and `elect` do),
///   so the keys are the same either way.
///
/// # v2 and v3 locks are separate
///
/// A v2 lock ([`Client::lock`](crate::Client::lock), keys under `/_locks`
/// in etcd's v2 store) and a v3 lock ([`V3::lock`]) on the same name do not
/// exclude each other: etcd's v2 and v3 stores are separate key spaces.
/// Every program that shares a lock must use the same one: v3 for anything
/// that also talks to `etcdctl lock` or Go programs, and on etcd 3.6+
/// (which has no v2 API).
///
/// # Threads, fork
///
/// A lock is used by one thread at a time; its [`RecipeCanceller`] works
/// from any thread. It has connections of its own (a background copy of the
/// client: the same endpoints, cluster view and credentials); its lease
/// keeper has a thread (`etcdc-lease`) from the first acquire on, and its
/// watch a stream and a thread (`etcdc-watch`) while it waits. A lock
/// belongs to the process that made it: in a forked child, dropping the
/// parent's lock does nothing (the lock stays the parent's), a cancel only
/// sets the flag, and nothing else may be called on it.
///
/// # Drop
///
/// Dropping a lock releases it if held and revokes its lease (best effort:
/// or the lease expires after its TTL).
pub struct V3Lock {
    client: Client,
    prefix: Vec<u8>,
    ttl: i64,
    state: State,
    /// The handle's lease while it is idle (Go's session), for the next
    /// acquire; while it waits or holds, the entry has it.
    session: Option<LeaseKeeper>,
    wake: Arc<Wake>,
}

impl std::fmt::Debug for V3Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Lock")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("ttl", &self.ttl)
            .field("state", &self.state)
            .finish()
    }
}

/// Where a lock handle stands.
#[derive(Debug)]
enum State {
    Idle,
    Held(Entry),
    /// Was held, and its key or lease is gone: reported as `LockExpired`
    /// until the next `acquire` or `release`.
    Lost(Vec<u8>),
}

/// One contender's place under the prefix: its lease (kept alive), its
/// key, and the key's create revision.
#[derive(Debug)]
pub(super) struct Entry {
    pub keeper: LeaseKeeper,
    pub key: Vec<u8>,
    pub rev: i64,
}

impl Entry {
    /// Whether the keeper said the lease is gone.
    pub fn lost(&self) -> bool {
        self.keeper.lost_reason().is_some()
    }

    pub fn expired(&self) -> Error {
        expired(&self.key)
    }

    /// Leaves the queue after a failed wait: stops the keeper and revokes
    /// the lease, which deletes the key (a delete of the key if the revoke
    /// failed). Best effort: errors are ignored (the lease expires after
    /// its TTL). Through the lock's own connection, which is open: no
    /// connection to make on the way out of a cancelled wait.
    pub fn leave(self, v3: V3<'_>) {
        let key = self.key.clone();
        if self.stop_and_revoke(v3).is_err() {
            let _ = repeat(|| v3.delete(&Delete::key(key.clone())));
        }
    }

    /// Leaves the queue after a failed wait keeping the lease (a lock's
    /// session): deletes the key and gives the keeper back; when the lease
    /// is lost or the delete fails, what [`leave`](Self::leave) does, and
    /// `None`.
    pub fn leave_keeping(self, v3: V3<'_>) -> Option<LeaseKeeper> {
        if self.lost() {
            let _ = self.keeper.stop(false);
            return None;
        }
        match repeat(|| v3.delete(&Delete::key(self.key.clone()))) {
            Ok(_) => Some(self.keeper),
            Err(_) => {
                self.leave(v3);
                None
            }
        }
    }

    /// The release of a lock that keeps its lease (its session): deletes the
    /// key if it is still this entry's (same create revision) and gives the
    /// keeper back for the next key. When the lease is lost, the key was
    /// not this entry's any more, or the delete failed, the lease goes as in
    /// [`remove`](Self::remove) (whose result is returned) and the keeper
    /// with it.
    pub fn remove_keeping(self, v3: V3<'_>) -> (Result<()>, Option<LeaseKeeper>) {
        if self.lost() {
            let _ = self.keeper.stop(false);
            return (Err(expired(&self.key)), None);
        }
        match self.delete_own(v3) {
            Ok((answer, ambiguous)) if answer.succeeded || ambiguous => (Ok(()), Some(self.keeper)),
            deleted => (self.settle(v3, deleted), None),
        }
    }

    /// Deletes the key if it is still this entry's (same create revision),
    /// then stops the keeper and revokes the lease: what a resign does.
    /// [`Error::LockExpired`] when the key (or lease) was gone before.
    pub fn remove(self, v3: V3<'_>) -> Result<()> {
        if self.lost() {
            let _ = self.keeper.stop(false);
            return Err(expired(&self.key));
        }
        let deleted = self.delete_own(v3);
        self.settle(v3, deleted)
    }

    /// Deletes the key if it is still this entry's (same create revision),
    /// again while that is ambiguous; the answer, and whether an attempt
    /// was ambiguous (then a failed compare means an earlier attempt
    /// deleted it).
    fn delete_own(&self, v3: V3<'_>) -> Result<(TxnResponse, bool)> {
        let txn = Txn::new()
            .when([self.is_owner()])
            .and_then([Delete::key(self.key.clone())]);
        let mut ambiguous = false;
        let answer = repeat(|| {
            let answer = v3.txn(&txn);
            ambiguous |= matches!(answer, Err(Error::Ambiguous { .. }));
            answer
        })?;
        Ok((answer, ambiguous))
    }

    /// After [`delete_own`](Self::delete_own) answered `deleted`: stops the
    /// keeper, revokes the lease, and says whether the key is gone.
    fn settle(self, v3: V3<'_>, deleted: Result<(TxnResponse, bool)>) -> Result<()> {
        let key = self.key.clone();
        let revoked = self.stop_and_revoke(v3);
        match (deleted, revoked) {
            (Ok((answer, _)), _) if answer.succeeded => Ok(()),
            // A repeat found no key: an earlier attempt deleted it (or it
            // was gone already); either way it is not held now.
            (Ok((_, true)), _) => Ok(()),
            (Ok(_), _) | (_, Err(Error::NotHeld(_))) => Err(expired(&key)),
            // The key went with the lease.
            (Err(_), Ok(())) => Ok(()),
            (Err(e), Err(_)) => Err(e),
        }
    }

    /// Stops the keeper (its thread ends), then revokes the lease through
    /// `v3`, again if that was ambiguous. [`Error::NotHeld`] when the lease
    /// was gone before.
    pub fn stop_and_revoke(self, v3: V3<'_>) -> Result<()> {
        let id = self.keeper.id();
        self.keeper.stop(false)?;
        let mut ambiguous = false;
        let revoked = repeat(|| {
            let answer = v3.lease_revoke(id);
            ambiguous |= matches!(answer, Err(Error::Ambiguous { .. }));
            answer
        });
        match revoked {
            Ok(_) => Ok(()),
            Err(Error::Grpc {
                code: Code::NotFound,
                ..
            }) if ambiguous => Ok(()),
            Err(Error::Grpc {
                code: Code::NotFound,
                ..
            }) => Err(Error::NotHeld(format!(
                "lease {id:x} is gone: it expired or was revoked"
            ))),
            Err(e) => Err(e),
        }
    }

    /// The compare that holds while this entry's key is the one it made.
    pub fn is_owner(&self) -> Compare {
        Compare::create_revision(self.key.clone(), CompareOp::Equal, self.rev)
    }

    /// Asks etcd whether this entry's key exists (as made) and has the
    /// lowest create revision under `prefix`, in one read. `None`: the key
    /// is gone (or the lease is).
    pub fn ask(&self, v3: V3<'_>, prefix: &[u8]) -> Result<Option<bool>> {
        if self.lost() {
            return Ok(None);
        }
        let txn = Txn::new().and_then([Range::key(self.key.clone()), first_created(prefix)]);
        let answer = v3.txn(&txn)?;
        let own = range_kv(&answer, 0);
        if own.is_none_or(|kv| kv.create_revision != self.rev) {
            return Ok(None);
        }
        Ok(Some(
            range_kv(&answer, 1).is_some_and(|kv| kv.create_revision == self.rev),
        ))
    }
}

/// [`Error::LockExpired`] for `key`.
pub(super) fn expired(key: &[u8]) -> Error {
    Error::LockExpired(String::from_utf8_lossy(key).into_owned())
}

/// Runs a write of the recipe, sending it again (at most
/// [`AMBIGUOUS_REPEATS`] more times) while its outcome is unknown: each is
/// safe to repeat (see [`V3Lock`]).
pub(super) fn repeat<T>(mut write: impl FnMut() -> Result<T>) -> Result<T> {
    let mut left = AMBIGUOUS_REPEATS;
    loop {
        match write() {
            Err(Error::Ambiguous { .. }) if left > 0 => left -= 1,
            other => return other,
        }
    }
}

/// The key of the contender with lease `lease` under `prefix`: the lease
/// in lowercase hex, as Go's `fmt.Sprintf("%s%x", pfx, lease)`.
pub(super) fn lease_key(prefix: &[u8], lease: i64) -> Vec<u8> {
    let hex = if lease < 0 {
        format!("-{:x}", lease.unsigned_abs())
    } else {
        format!("{lease:x}")
    };
    [prefix, hex.as_bytes()].concat()
}

/// The first key created under `prefix` (Go's `WithFirstCreate`).
pub(super) fn first_created(prefix: &[u8]) -> Range {
    Range::prefix(prefix.to_vec())
        .sort(SortTarget::CreateRevision, SortOrder::Ascending)
        .limit(1)
}

/// The last key created under `prefix` at or before `revision` (Go's
/// `WithLastCreate` and `WithMaxCreateRev`).
fn last_created_by(prefix: &[u8], revision: i64) -> Range {
    Range::prefix(prefix.to_vec())
        .sort(SortTarget::CreateRevision, SortOrder::Descending)
        .limit(1)
        .max_create_revision(revision)
}

/// The first key of the range answered as op `i` of a txn.
pub(super) fn range_kv(answer: &TxnResponse, i: usize) -> Option<&KeyValue> {
    match answer.responses.get(i) {
        Some(OpResponse::Range(r)) => r.kvs.first(),
        _ => None,
    }
}

/// Joins the queue under `prefix` (Go's `tryAcquire` and the start of
/// `Campaign`) with the lease of `session` if it is alive (else a new lease
/// kept alive by a keeper, which wakes `wake` if the lease is lost), and
/// creates the key `<prefix><lease hex>` with `value` unless it exists.
/// Returns the entry and the answer of the txn, whose op 1 (after the put,
/// or the read of the key) is `also`.
pub(super) fn join(
    v3: V3<'_>,
    prefix: &[u8],
    ttl: i64,
    value: &[u8],
    also: Option<Range>,
    wake: &Arc<Wake>,
    session: Option<LeaseKeeper>,
) -> Result<(Entry, TxnResponse)> {
    let session = session.filter(|k| matches!(k.state(), KeeperState::Alive { .. }));
    match session {
        Some(keeper) => match join_with(v3, prefix, keeper, value, also.clone()) {
            // The lease expired behind the keeper's back: a new one.
            Err(Error::Grpc {
                code: Code::NotFound,
                ..
            }) => join(v3, prefix, ttl, value, also, wake, None),
            other => other,
        },
        None => {
            let keeper = repeat(|| {
                let wake = wake.clone();
                let on_lost: OnLost = Box::new(move |_| wake.wake());
                v3.lease_keeper(LeaseSource::Grant { ttl }, Some(on_lost))
            })?;
            join_with(v3, prefix, keeper, value, also)
        }
    }
}

/// [`join`] with the lease of `keeper`; the keeper is stopped (and the
/// lease revoked) when the txn fails.
fn join_with(
    v3: V3<'_>,
    prefix: &[u8],
    keeper: LeaseKeeper,
    value: &[u8],
    also: Option<Range>,
) -> Result<(Entry, TxnResponse)> {
    let key = lease_key(prefix, keeper.id());
    let mut yes = vec![Op::from(Put::new(key.clone(), value).lease(keeper.id()))];
    let mut no = vec![Op::from(Range::key(key.clone()))];
    if let Some(also) = also {
        yes.push(also.clone().into());
        no.push(also.into());
    }
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then(yes)
        .or_else(no);
    let answer = match repeat(|| v3.txn(&txn)) {
        Ok(answer) => answer,
        Err(e) => {
            // Revoking the lease removes the key, if the txn made it.
            let _ = keeper.stop(true);
            return Err(e);
        }
    };
    let rev = if answer.succeeded {
        Some(answer.header.revision)
    } else {
        range_kv(&answer, 0).map(|kv| kv.create_revision)
    };
    let Some(rev) = rev else {
        // The key existed at the compare and not at the read: impossible
        // in one txn.
        let _ = keeper.stop(true);
        return Err(Error::Protocol(format!(
            "etcd's txn on {} answered neither branch's result",
            String::from_utf8_lossy(&key)
        )));
    };
    Ok((Entry { keeper, key, rev }, answer))
}

/// Waits until no key created before `entry`'s is left under `prefix` (Go's
/// `waitDeletes`: each time the last one created before it, watched until
/// it is deleted), then checks that `entry`'s key still exists.
///
/// Errors: [`Error::AcquireTimeout`] once `deadline` passes (`timeout` is
/// what it reports); [`Error::Cancelled`] when `wake` is cancelled;
/// [`Error::LockExpired`] when the lease or the key is lost; request errors.
pub(super) fn wait_turn(
    v3: V3<'_>,
    prefix: &[u8],
    entry: &Entry,
    wake: &Wake,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
) -> Result<()> {
    let timed_out = || Error::AcquireTimeout(timeout.unwrap_or_default());
    // The last watch stays open until the next one is made: the client's
    // watch stream (and its thread) then lives through the whole wait.
    let mut watcher: Option<Watcher> = None;
    loop {
        wake.check()?;
        if entry.lost() {
            return Err(entry.expired());
        }
        let before = v3.range(&last_created_by(prefix, entry.rev - 1))?;
        let Some(predecessor) = before.kvs.into_iter().next() else {
            break;
        };
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(timed_out());
        }
        // From the revision after the read: its delete comes later (the
        // read saw the key), and etcd sends a watch that starts in the
        // future at once, where one that starts at or before its current
        // revision waits for its catch-up loop (every 100 ms).
        let watch = Watch::key(predecessor.key).start_revision(before.header.revision + 1);
        let w = match v3.watch(&watch) {
            Ok(w) => watcher.insert(w),
            // Its history is gone: look again from now.
            Err(Error::Compacted { .. }) => continue,
            Err(e) => return Err(e),
        };
        wake.link(w.canceller());
        if entry.lost() {
            // Lost before the link: the keeper's wake found nothing to wake.
            wake.wake();
        }
        let outcome = loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match w.next_event(left) {
                Ok(event) if event.kind == EventKind::Delete => break Ok(()),
                // A put (an election's proclaim): not gone yet.
                Ok(_) => {}
                Err(Error::WatchTimeout(_)) => break Err(timed_out()),
                Err(Error::Cancelled) => {
                    break Err(if !wake.is_cancelled() && entry.lost() {
                        entry.expired()
                    } else {
                        Error::Cancelled
                    })
                }
                Err(Error::Compacted { .. }) => break Ok(()),
                // No member reachable for a while: the watch goes on trying.
                Err(Error::Connection { .. } | Error::Timeout { .. }) => {}
                Err(e) => break Err(e),
            }
        };
        wake.unlink();
        outcome?;
    }
    drop(watcher);
    // Go checks the same: a lease that expired during the wait took the key.
    match v3.get(entry.key.clone())? {
        Some(kv) if kv.create_revision == entry.rev && !entry.lost() => Ok(()),
        _ => Err(entry.expired()),
    }
}

impl V3Lock {
    /// Takes the lock, waiting at most `timeout` for the holders before it
    /// (`Some(ZERO)`: do not wait; `None`: as long as it takes). Returns at
    /// once if it is already held. Each call to etcd on the way is bounded
    /// by the client's read timeout.
    ///
    /// Errors: [`Error::AcquireTimeout`] or [`Error::Cancelled`] when it
    /// gives up (its key is then removed: nothing is left behind but the
    /// handle's lease, which goes with the handle); [`Error::LockExpired`]
    /// if its lease or key was lost while it waited; request errors (its
    /// key is removed, best effort).
    pub fn acquire(&mut self, timeout: Option<Duration>) -> Result<()> {
        if let State::Held(_) = self.state {
            return Ok(());
        }
        self.state = State::Idle;
        self.wake.check()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let v3 = self.client.v3();
        let (entry, answer) = join(
            v3,
            &self.prefix,
            self.ttl,
            b"",
            Some(first_created(&self.prefix)),
            &self.wake,
            self.session.take(),
        )?;
        // First in line already (Go's Lock returns here too): the txn that
        // made the key read the first one, no wait and no more reads.
        let first = range_kv(&answer, 1).map(|kv| kv.create_revision);
        if first.is_none_or(|rev| rev == entry.rev) {
            self.state = State::Held(entry);
            return Ok(());
        }
        match wait_turn(v3, &self.prefix, &entry, &self.wake, deadline, timeout) {
            Ok(()) => {
                self.state = State::Held(entry);
                Ok(())
            }
            Err(e) => {
                self.session = entry.leave_keeping(v3);
                Err(e)
            }
        }
    }

    /// Takes the lock if nobody holds it, without waiting (Go's `TryLock`):
    /// `false` when another contender holds it or waits before this one
    /// (its key is then removed: nothing is left behind). `true` at once if
    /// this handle holds it already.
    ///
    /// Errors: [`Error::Cancelled`] once cancelled; request errors.
    pub fn try_acquire(&mut self) -> Result<bool> {
        if let State::Held(_) = self.state {
            return Ok(true);
        }
        self.state = State::Idle;
        self.wake.check()?;
        let v3 = self.client.v3();
        let (entry, answer) = join(
            v3,
            &self.prefix,
            self.ttl,
            b"",
            Some(first_created(&self.prefix)),
            &self.wake,
            self.session.take(),
        )?;
        let first = range_kv(&answer, 1).map(|kv| kv.create_revision);
        if first.is_none_or(|rev| rev == entry.rev) {
            self.state = State::Held(entry);
            return Ok(true);
        }
        self.session = entry.leave_keeping(v3);
        Ok(false)
    }

    /// Whether this handle holds the lock, asked of etcd (not a local
    /// flag): its key exists and has the lowest create revision under the
    /// prefix. False if its lease or key is gone, even if it held the lock
    /// before (then [`release`](Self::release) reports
    /// [`Error::LockExpired`]).
    pub fn is_held(&mut self) -> Result<bool> {
        let State::Held(entry) = &self.state else {
            return Ok(false);
        };
        match entry.ask(self.client.v3(), &self.prefix)? {
            Some(first) => Ok(first),
            None => {
                self.lose();
                Ok(false)
            }
        }
    }

    /// Releases the lock: deletes its key (the next contender gets the
    /// lock). The lease stays, renewed, for the handle's next acquire (Go's
    /// session); it is revoked when the handle is dropped, or at once when
    /// the delete fails (the key goes with it).
    ///
    /// Errors: [`Error::NotHeld`] if not acquired; [`Error::LockExpired`]
    /// if its key or lease was already gone (someone else may have had the
    /// lock meanwhile); request errors, when neither the delete nor the
    /// revoke got through (the key then goes with its lease, after the TTL).
    pub fn release(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => Err(Error::NotHeld(format!(
                "lock {} is not acquired",
                String::from_utf8_lossy(&self.prefix)
            ))),
            State::Lost(key) => Err(expired(&key)),
            State::Held(entry) => {
                let (released, session) = entry.remove_keeping(self.client.v3());
                self.session = session;
                released
            }
        }
    }

    /// Holds → lost (the key or lease is gone): stops the keeper and
    /// revokes what is left of the lease.
    fn lose(&mut self) {
        if let State::Held(entry) = std::mem::replace(&mut self.state, State::Idle) {
            self.state = State::Lost(entry.key.clone());
            let _ = entry.stop_and_revoke(self.client.v3());
        }
    }

    /// The key this handle holds the lock with (`<name>/<lease hex>`), if
    /// held.
    pub fn key(&self) -> Option<&[u8]> {
        match &self.state {
            State::Held(entry) => Some(&entry.key),
            _ => None,
        }
    }

    /// The lease of the held lock, if held.
    pub fn lease_id(&self) -> Option<i64> {
        match &self.state {
            State::Held(entry) => Some(entry.keeper.id()),
            _ => None,
        }
    }

    /// What the lock's lease keeper knows now, if held (lock-free, no call
    /// to etcd): [`KeeperState::Alive`] with the time left at least;
    /// [`KeeperState::AtRisk`] when no renewal got through for a whole TTL
    /// (count the lock lost: another may hold it); [`KeeperState::Lost`]
    /// when etcd said the lease is gone ([`is_held`](Self::is_held) is then
    /// false, and [`release`](Self::release) [`Error::LockExpired`]).
    pub fn lease_state(&self) -> Option<KeeperState> {
        match &self.state {
            State::Held(entry) => Some(entry.keeper.state()),
            _ => None,
        }
    }

    /// The create revision of the held lock's key, if held: it grows with
    /// every new holder, a fencing token to give what the lock protects.
    pub fn revision(&self) -> Option<i64> {
        match &self.state {
            State::Held(entry) => Some(entry.rev),
            _ => None,
        }
    }

    /// A compare that holds while this handle's key is in place (Go's
    /// `IsOwner`), if held: put it in a [`Txn`] to write only while the
    /// lock is still held.
    pub fn owner_compare(&self) -> Option<Compare> {
        match &self.state {
            State::Held(entry) => Some(entry.is_owner()),
            _ => None,
        }
    }

    /// The prefix its contenders' keys live under: the name and `/`.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// A handle that cancels a blocked [`acquire`](Self::acquire) from any
    /// thread (see [`RecipeCanceller`]).
    pub fn canceller(&self) -> RecipeCanceller {
        RecipeCanceller(self.wake.clone())
    }
}

impl Drop for V3Lock {
    /// Releases a held lock and revokes the lease (errors ignored). In a
    /// forked child, nothing: the lock is the parent's.
    fn drop(&mut self) {
        if !self.wake.made_here() {
            // The keeper's own drop does nothing in a child either.
            return;
        }
        if let State::Held(_) = self.state {
            let _ = self.release();
        }
        if let Some(session) = self.session.take() {
            let _ = session.stop(true);
        }
    }
}

/// Cancels a blocked [`V3Lock::acquire`], a
/// [`V3Election::campaign`](super::V3Election::campaign) or an
/// [`ElectionObserver`](super::ElectionObserver)'s wait from any thread: the
/// call returns [`Error::Cancelled`] promptly (its watch is cancelled; a
/// call to etcd in progress ends first, within the client's read timeout),
/// and so does every later one. Cancelling is final. A lock or leadership
/// already held is not touched. Cheap to clone; all clones cancel the same
/// thing.
#[derive(Debug, Clone)]
pub struct RecipeCanceller(Arc<Wake>);

impl RecipeCanceller {
    pub(super) fn of(wake: Arc<Wake>) -> RecipeCanceller {
        RecipeCanceller(wake)
    }

    /// Cancels (again: nothing more).
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.wake();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// What wakes a recipe's wait: the cancel flag, and the watch it waits in
/// (linked while it waits), which a cancel or a lost lease cancels.
pub(super) struct Wake {
    cancelled: AtomicBool,
    watch: Mutex<Option<WatchCanceller>>,
    /// The fork generation it was made in: in a child, waking does nothing
    /// but set the flag (the watch is the parent's).
    generation: u64,
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wake")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Wake {
    pub fn new() -> Arc<Wake> {
        Arc::new(Wake {
            cancelled: AtomicBool::new(false),
            watch: Mutex::new(None),
            generation: generation(),
        })
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Whether this is the process it was made in (not a forked child).
    pub fn made_here(&self) -> bool {
        self.generation == generation()
    }

    /// [`Error::Cancelled`] once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<WatchCanceller>> {
        self.watch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels the linked watch, if any (and unlinks it).
    pub fn wake(&self) {
        if !self.made_here() {
            return;
        }
        let linked = self.slot().take();
        if let Some(watch) = linked {
            watch.cancel();
        }
    }

    /// Links the watch a wait is about to block in, and cancels it at once
    /// if the cancel came before. (A cancel sets the flag, then takes the
    /// link under the lock: either it finds this watch, or the flag was set
    /// before the check here.)
    pub fn link(&self, watch: WatchCanceller) {
        *self.slot() = Some(watch);
        if self.is_cancelled() {
            self.wake();
        }
    }

    pub fn unlink(&self) {
        self.slot().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_lease_in_lowercase_hex() {
        assert_eq!(
            lease_key(b"jobs/", 0x694d_8a2c_5ff3_a10b),
            b"jobs/694d8a2c5ff3a10b"
        );
        assert_eq!(lease_key(b"a/", 10), b"a/a");
        // Go's %x of a negative int64 (etcd never grants one).
        assert_eq!(lease_key(b"a/", -255), b"a/-ff");
    }

    #[test]
    fn names_get_a_slash() {
        assert_eq!(
            recipe_prefix(b"jobs".to_vec(), 10, "lock").unwrap(),
            b"jobs/"
        );
        assert_eq!(recipe_prefix(b"a/".to_vec(), 10, "lock").unwrap(), b"a//");
        assert!(matches!(
            recipe_prefix(Vec::new(), 10, "lock"),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            recipe_prefix(b"x".to_vec(), 0, "lock"),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn ambiguous_writes_are_repeated_a_bounded_number_of_times() {
        let ambiguous = || Error::Ambiguous {
            endpoint: "e".into(),
            reason: "r".into(),
            etcd: None,
        };
        let mut calls = 0;
        let r: Result<()> = repeat(|| {
            calls += 1;
            Err(ambiguous())
        });
        assert!(matches!(r, Err(Error::Ambiguous { .. })));
        assert_eq!(calls, 1 + AMBIGUOUS_REPEATS);
        let mut calls = 0;
        let r = repeat(|| {
            calls += 1;
            if calls < 3 {
                Err(ambiguous())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(r.unwrap(), 3);
        let mut calls = 0;
        let r: Result<()> = repeat(|| {
            calls += 1;
            Err(Error::Cancelled)
        });
        assert!(matches!(r, Err(Error::Cancelled)));
        assert_eq!(calls, 1);
    }
}
