//! Leader election on etcd's v3 API that interoperates with etcd's own
//! (`etcdctl elect`, Go's `concurrency.Election`): [`V3Election`], from
//! [`V3::election`], whose doc says how; [`ElectionObserver`] follows the
//! leader.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::lock::{
    expired, first_created, join, range_kv, recipe_prefix, repeat, wait_turn, Entry,
    RecipeCanceller, Wake,
};
use super::txn::{Compare, Txn};
use super::types::KeyValue;
use super::watch::{EventKind, Watch, Watcher};
use super::{KeeperState, Put, V3};
use crate::client::Client;
use crate::error::{Error, Result};

impl V3<'_> {
    /// A handle on election `name` (etcdctl's `elect <name>`): its keys
    /// live under `name/` (see [`V3Election`]). `ttl` is the lease's time
    /// to live in seconds, while campaigning or leading: how long the
    /// others wait for a leader that died. Sends nothing;
    /// [`V3Election::campaign`] takes part, [`V3Election::leader`] and
    /// [`V3Election::observe`] only look.
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty name or a TTL that
    /// is not positive.
    pub fn election(&self, name: impl Into<Vec<u8>>, ttl: i64) -> Result<V3Election> {
        let prefix = recipe_prefix(name.into(), ttl, "election")?;
        Ok(V3Election {
            client: self.client.background(),
            prefix,
            ttl,
            state: State::Idle,
            wake: Wake::new(),
        })
    }
}

/// One candidate of a leader election on the v3 API, the same as etcd's
/// own.
///
/// The layout is that of Go's `concurrency.Election`, which `etcdctl elect`
/// uses, and the same as the lock's (see [`V3Lock`](super::V3Lock) for the keys,
/// the waiting, failover and why not etcd's Election service):
///
/// - election `name` lives under the prefix `name/`; each candidate has the
///   key `name/<its lease id in lowercase hex>`, attached to a lease that a
///   [`LeaseKeeper`](super::LeaseKeeper) renews while it campaigns and
///   leads; its value is the candidate's proposal;
/// - the leader is the candidate whose key has the lowest create revision;
///   a candidate campaigns by creating its key and waiting until every key
///   created before it is gone (each time for the last one before it);
/// - the leader changes its value without another election by
///   *proclaiming* (a put on its key, only while the key is the one it
///   created), and steps down by *resigning* (deleting its key, on the same
///   condition); the next candidate then leads;
/// - a leader that dies stops renewing its lease: its key goes when the
///   lease expires, after its TTL (`etcdctl elect` uses 60 s,
///   [`DEFAULT_SESSION_TTL`](super::DEFAULT_SESSION_TTL)). A lease lost
///   while campaigning or leading is [`Error::LockExpired`].
///
/// `etcdctl elect <name> <proposal>` and a [`V3Election`] on the same name
/// take part in one election; `etcdctl elect -l <name>` observes both, as
/// an [`ElectionObserver`] does. A v2 election
/// ([`Client::election`](crate::Client::election)) is another key space: it
/// and a v3 one on the same name know nothing of each other.
///
/// Every write is a txn on the candidate's own key (create it unless it
/// exists; put or delete it only while its create revision is the one it
/// was created with), sent again when its outcome is unknown
/// ([`Error::Ambiguous`]): see [`V3Lock`](super::V3Lock).
///
/// Dropping a handle that leads resigns (best effort: its lease is
/// revoked, or expires after its TTL).
///
/// Threads: used by one thread at a time; its
/// [`canceller`](Self::canceller) works from any thread.
pub struct V3Election {
    client: Client,
    prefix: Vec<u8>,
    ttl: i64,
    state: State,
    wake: Arc<Wake>,
}

impl std::fmt::Debug for V3Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Election")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("ttl", &self.ttl)
            .field("state", &self.state)
            .finish()
    }
}

#[derive(Debug)]
enum State {
    Idle,
    /// Leads, with this key and the value last written.
    Leader(Entry, Vec<u8>),
    /// Led, and its key or lease is gone: reported as `LockExpired` until
    /// the next `campaign` or `resign`.
    Lost(Vec<u8>),
}

impl V3Election {
    /// Campaigns with `value` (the proposal: what [`leader`](Self::leader)
    /// and observers see) and returns once this candidate leads, waiting at
    /// most `timeout` for the candidates before it (`Some(ZERO)`: do not
    /// wait; `None`: as long as it takes). A candidate that leads already
    /// proclaims `value` instead.
    ///
    /// Errors: [`Error::AcquireTimeout`] or [`Error::Cancelled`] when it
    /// gives up (its key is then removed and its lease revoked: nothing is
    /// left behind); [`Error::LockExpired`] if its lease or key was lost
    /// while it waited; request errors (its key is removed, best effort).
    pub fn campaign(&mut self, value: impl Into<Vec<u8>>, timeout: Option<Duration>) -> Result<()> {
        let value = value.into();
        if let State::Leader(..) = self.state {
            return self.proclaim(value);
        }
        self.state = State::Idle;
        self.wake.check()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let v3 = self.client.v3();
        let (entry, answer) = join(v3, &self.prefix, self.ttl, &value, None, &self.wake, None)?;
        // The key existed (an earlier attempt made it): make it say `value`.
        let stale = !answer.succeeded && range_kv(&answer, 0).is_some_and(|kv| kv.value != value);
        if stale {
            if let Err(e) = put_if_owner(v3, &entry, &value) {
                entry.leave(v3);
                return Err(e);
            }
        }
        match wait_turn(v3, &self.prefix, &entry, &self.wake, deadline, timeout) {
            Ok(()) => {
                self.state = State::Leader(entry, value);
                Ok(())
            }
            Err(e) => {
                entry.leave(v3);
                Err(e)
            }
        }
    }

    /// Lets the leader announce a new value without another election.
    ///
    /// Errors: [`Error::NotHeld`] when not leading; [`Error::LockExpired`]
    /// when its key or lease is gone (it no longer leads).
    pub fn proclaim(&mut self, value: impl Into<Vec<u8>>) -> Result<()> {
        let value = value.into();
        let outcome = match &mut self.state {
            State::Idle => return Err(self.not_leader()),
            State::Lost(key) => return Err(expired(key)),
            State::Leader(entry, current) => {
                let outcome = put_if_owner(self.client.v3(), entry, &value);
                if outcome.is_ok() {
                    *current = value;
                }
                outcome
            }
        };
        if let Err(Error::LockExpired(_)) = outcome {
            self.lose();
        }
        outcome
    }

    /// Steps down: deletes its key (the next candidate leads), stops
    /// renewing the lease and revokes it.
    ///
    /// Errors: [`Error::NotHeld`] when not leading; [`Error::LockExpired`]
    /// if its key or lease was already gone; request errors, when neither
    /// the delete nor the revoke got through (the key then goes with its
    /// lease, after the TTL).
    pub fn resign(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => Err(self.not_leader()),
            State::Lost(key) => Err(expired(&key)),
            State::Leader(entry, _) => entry.remove(self.client.v3()),
        }
    }

    /// The current leader's key and value (the key created first under the
    /// prefix), or `None` when nobody leads. Anyone may ask, candidate or
    /// not.
    pub fn leader(&self) -> Result<Option<KeyValue>> {
        let answer = self.client.v3().range(&first_created(&self.prefix))?;
        Ok(answer.kvs.into_iter().next())
    }

    /// Whether this handle leads, asked of etcd (not a local flag): its key
    /// exists and has the lowest create revision under the prefix. False if
    /// its lease or key is gone, even if it led before.
    pub fn is_leader(&mut self) -> Result<bool> {
        let State::Leader(entry, _) = &self.state else {
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

    /// Follows the leader of this election: see [`ElectionObserver`]. Sends
    /// nothing yet; the observer has connections of its own, and may be
    /// used by another thread than this handle.
    pub fn observe(&self) -> ElectionObserver {
        ElectionObserver {
            client: self.client.background(),
            prefix: self.prefix.clone(),
            phase: Phase::Look,
            watcher: None,
            wake: Wake::new(),
            done: false,
        }
    }

    /// The key this handle leads with (`<name>/<lease hex>`), if leading.
    pub fn key(&self) -> Option<&[u8]> {
        match &self.state {
            State::Leader(entry, _) => Some(&entry.key),
            _ => None,
        }
    }

    /// The value it last campaigned or proclaimed with, if leading.
    pub fn value(&self) -> Option<&[u8]> {
        match &self.state {
            State::Leader(_, value) => Some(value),
            _ => None,
        }
    }

    /// The lease it leads with, if leading.
    pub fn lease_id(&self) -> Option<i64> {
        match &self.state {
            State::Leader(entry, _) => Some(entry.keeper.id()),
            _ => None,
        }
    }

    /// What its lease keeper knows now, if leading (lock-free, no call to
    /// etcd): see [`V3Lock::lease_state`](super::V3Lock::lease_state).
    pub fn lease_state(&self) -> Option<KeeperState> {
        match &self.state {
            State::Leader(entry, _) => Some(entry.keeper.state()),
            _ => None,
        }
    }

    /// The create revision of its key, if leading (Go's `Rev`): it grows
    /// with every new leader.
    pub fn revision(&self) -> Option<i64> {
        match &self.state {
            State::Leader(entry, _) => Some(entry.rev),
            _ => None,
        }
    }

    /// A compare that holds while this handle's key is in place, if
    /// leading: put it in a [`Txn`] to write only while it leads.
    pub fn owner_compare(&self) -> Option<Compare> {
        match &self.state {
            State::Leader(entry, _) => Some(entry.is_owner()),
            _ => None,
        }
    }

    /// The prefix the candidates' keys live under: the name and `/`.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// A handle that cancels a blocked [`campaign`](Self::campaign) from
    /// any thread (see [`RecipeCanceller`]).
    pub fn canceller(&self) -> RecipeCanceller {
        RecipeCanceller::of(self.wake.clone())
    }

    fn not_leader(&self) -> Error {
        Error::NotHeld(format!(
            "not the leader of election {}",
            String::from_utf8_lossy(&self.prefix)
        ))
    }

    /// Leads → lost: stops the keeper and revokes what is left of the
    /// lease.
    fn lose(&mut self) {
        if let State::Leader(entry, _) = std::mem::replace(&mut self.state, State::Idle) {
            self.state = State::Lost(entry.key.clone());
            let _ = entry.stop_and_revoke(self.client.v3());
        }
    }
}

/// Puts `value` on the entry's key, with its lease, only while the key is
/// the one it created (Go's `Proclaim`); [`Error::LockExpired`] when not.
fn put_if_owner(v3: V3<'_>, entry: &Entry, value: &[u8]) -> Result<()> {
    if entry.lost() {
        return Err(entry.expired());
    }
    let put = Put::new(entry.key.clone(), value).lease(entry.keeper.id());
    let txn = Txn::new().when([entry.is_owner()]).and_then([put]);
    // Repeating the same put is harmless.
    if repeat(|| v3.txn(&txn))?.succeeded {
        Ok(())
    } else {
        Err(entry.expired())
    }
}

impl Drop for V3Election {
    /// Resigns if leading (errors ignored). In a forked child, nothing:
    /// the election is the parent's.
    fn drop(&mut self) {
        if !self.wake.made_here() {
            return;
        }
        if let State::Leader(..) = self.state {
            let _ = self.resign();
        }
    }
}

/// Follows the leader of an election, as Go's `Election.Observe` and
/// `etcdctl elect -l`: [`next_leader`](Self::next_leader) gives the leader's key and value
/// now (when there is one), then each new value it proclaims and each new
/// leader, in order. While nobody leads it waits. It does not necessarily
/// give every value a leader ever had (a leader that came and went between
/// two looks may be missed), but always the latest.
///
/// Used by one thread at a time; its [`canceller`](Self::canceller) works
/// from any thread. Has connections (and, while it watches, a watch thread)
/// of its own.
pub struct ElectionObserver {
    client: Client,
    prefix: Vec<u8>,
    phase: Phase,
    /// The watch of the phase (kept until the next one is made: the
    /// client's watch stream then lives on between them).
    watcher: Option<Watcher>,
    wake: Arc<Wake>,
    /// The iterator ended.
    done: bool,
}

impl std::fmt::Debug for ElectionObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElectionObserver")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("phase", &self.phase)
            .finish()
    }
}

/// What an observer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Read who leads.
    Look,
    /// Nobody led at the last look: the watch is on the prefix, for the
    /// first key put.
    NoLeader,
    /// The watch is on the leader's key: puts are new values, its delete
    /// ends its leadership.
    Leader,
}

impl ElectionObserver {
    /// The leader's key and value: the current one on the first call (once
    /// somebody leads), then the next change. Waits at most `timeout`
    /// (`None`: no limit).
    ///
    /// Errors: [`Error::WatchTimeout`] when nothing changed within
    /// `timeout` (the observer goes on: call again); [`Error::Cancelled`]
    /// once cancelled; a connection error when no member could be reached
    /// for a while (told once: it goes on trying); request errors.
    pub fn next_leader(&mut self, timeout: Option<Duration>) -> Result<KeyValue> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.wake.check()?;
            if self.phase == Phase::Look {
                if let Some(leader) = self.look()? {
                    return Ok(leader);
                }
                continue;
            }
            let Some(watcher) = self.watcher.as_mut() else {
                self.phase = Phase::Look;
                continue;
            };
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.wake.link(watcher.canceller());
            let event = watcher.next_event(left);
            self.wake.unlink();
            match event {
                Ok(event) => match (self.phase, event.kind) {
                    (_, EventKind::Put) => {
                        if self.phase == Phase::NoLeader {
                            // The first key put leads: follow it from here
                            // (or, failing that, look again next time).
                            let from = event.kv.mod_revision + 1;
                            if let Err(e) = self.follow(event.kv.key.clone(), from) {
                                self.phase = Phase::Look;
                                return Err(e);
                            }
                        }
                        return Ok(event.kv);
                    }
                    (Phase::Leader, EventKind::Delete) => self.phase = Phase::Look,
                    _ => {}
                },
                Err(Error::WatchTimeout(_)) => {
                    return Err(Error::WatchTimeout(timeout.unwrap_or_default()))
                }
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                // Changes lost to a compaction: read again.
                Err(Error::Compacted { .. }) => self.phase = Phase::Look,
                Err(e @ (Error::Connection { .. } | Error::Timeout { .. })) => return Err(e),
                Err(e) => {
                    // The watch ended: start again at the next call.
                    self.phase = Phase::Look;
                    return Err(e);
                }
            }
        }
    }

    /// Reads who leads; then watches the leader's key after that read, or
    /// the prefix from it when nobody leads.
    fn look(&mut self) -> Result<Option<KeyValue>> {
        let v3 = self.client.v3();
        let answer = v3.range(&first_created(&self.prefix))?;
        let revision = answer.header.revision;
        match answer.kvs.into_iter().next() {
            Some(leader) => {
                self.follow(leader.key.clone(), revision + 1)?;
                Ok(Some(leader))
            }
            None => {
                // After the read (see wait_turn: at once, not in 100 ms).
                let watch = Watch::prefix(self.prefix.clone()).start_revision(revision + 1);
                self.watcher = Some(v3.watch(&watch)?);
                self.phase = Phase::NoLeader;
                Ok(None)
            }
        }
    }

    /// Watches the leader's `key` from `revision`.
    fn follow(&mut self, key: Vec<u8>, revision: i64) -> Result<()> {
        let watch = Watch::key(key).start_revision(revision);
        self.watcher = Some(self.client.v3().watch(&watch)?);
        self.phase = Phase::Leader;
        Ok(())
    }

    /// A handle that cancels a blocked [`next_leader`](Self::next_leader)
    /// from any thread (final, see [`RecipeCanceller`]).
    pub fn canceller(&self) -> RecipeCanceller {
        RecipeCanceller::of(self.wake.clone())
    }
}

/// Each leader and value, waiting without limit; a cancel ends it, a
/// connection error is given and it goes on, another error ends it after it
/// is given.
impl Iterator for ElectionObserver {
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Result<KeyValue>> {
        if self.done {
            return None;
        }
        match self.next_leader(None) {
            Ok(kv) => Some(Ok(kv)),
            Err(Error::Cancelled) => {
                self.done = true;
                None
            }
            Err(e @ (Error::Connection { .. } | Error::Timeout { .. })) => Some(Err(e)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
