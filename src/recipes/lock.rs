//! A fair distributed lock on the keys API (etcd 3.x has no lock module).
//!
//! Each contender creates an in-order key with a TTL under the lock's
//! directory (`<prefix>/<name>/<index>`); the lowest key holds the lock. A
//! waiting contender watches only its predecessor, so a release wakes one
//! waiter, not all, and the lock is granted in arrival order. While waiting,
//! a contender keeps its key alive; a holder keeps it alive with `renew`.
//! A holder that dies stops renewing: its key expires after its TTL and the
//! next contender gets the lock.
//!
//! This lock lives in etcd's v2 store. The v3 lock
//! ([`V3::lock`](crate::v3::V3::lock), [`V3Lock`](crate::v3::V3Lock)) lives
//! in the v3 store, a separate key space: a v2 and a v3 lock on the same
//! name do not exclude each other. Only the v3 one interoperates with
//! `etcdctl lock` and Go programs, and works on etcd 3.6+ (no v2 API).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cancel::Canceller;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::v2::keys::{DeleteOptions, ReadOptions, WriteOptions};
use crate::v2::watch::WatchOptions;

/// Where locks live unless told otherwise (python-etcd's `lock_prefix`).
pub const DEFAULT_LOCK_PREFIX: &str = "/_locks";

/// Options of [`Client::lock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// Seconds the lock lives without [`Lock::renew`] (default 60): how long
    /// others wait for a holder that died.
    pub ttl: u64,
    /// The directory under which each lock has its own (default `/_locks`).
    pub prefix: String,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            ttl: 60,
            prefix: DEFAULT_LOCK_PREFIX.into(),
        }
    }
}

impl Client {
    /// A handle on the lock `name` (python-etcd's `get_lock`). Sends nothing;
    /// [`Lock::acquire`] takes it. The lock has connections of its own, so it
    /// may outlive nothing but itself.
    pub fn lock(&self, name: &str, opts: &LockOptions) -> Result<Lock> {
        if opts.ttl == 0 || opts.ttl > crate::MAX_TTL {
            return Err(Error::InvalidArgument(format!(
                "a lock needs a ttl from 1 to {} seconds",
                crate::MAX_TTL
            )));
        }
        let name = name.trim_matches('/');
        if name.is_empty() {
            return Err(Error::InvalidArgument("a lock needs a name".into()));
        }
        let dir = format!("{}/{}", opts.prefix.trim_end_matches('/'), name);
        crate::v2::keys::key_path(&dir)?;
        Ok(Lock {
            client: self.background(),
            dir,
            ttl: opts.ttl,
            token: token(),
            state: State::Idle,
            cancel: Canceller::default(),
        })
    }
}

/// A random value that tells this contender's key from any other. (Not
/// `thread::current()`: on a C program's main thread that allocates a handle
/// Rust never frees.)
fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    format!(
        "{:016x}{:016x}-{}",
        state.hash_one(std::time::SystemTime::now()),
        state.hash_one(COUNTER.fetch_add(1, Ordering::Relaxed)),
        std::process::id()
    )
}

/// A distributed lock (see the module doc). Dropping a lock that is held, or
/// being waited for, removes its key (best effort).
///
/// Threads: used by one thread at a time; its [`Canceller`] may be used
/// from any thread.
#[derive(Debug)]
pub struct Lock {
    client: Client,
    dir: String,
    ttl: u64,
    token: String,
    state: State,
    cancel: Canceller,
}

/// Where a lock handle stands, with its in-order key when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    /// In the queue (inside `acquire`).
    Waiting(String),
    Held(String),
    /// Was held, and its key is gone: reported as `LockExpired` until the
    /// next `acquire` or `release`.
    Lost(String),
}

impl Lock {
    /// Takes the lock, waiting at most `timeout` (`Some(ZERO)`: try once;
    /// `None`: as long as it takes). Returns at once if it is already held.
    ///
    /// Errors: [`Error::AcquireTimeout`] or [`Error::Cancelled`] when it gives
    /// up (its key is then removed: nothing is left behind);
    /// [`Error::LockExpired`] if its key vanished while it waited; request
    /// errors (its key is removed, best effort).
    pub fn acquire(&mut self, timeout: Option<Duration>) -> Result<()> {
        if let State::Held(_) = self.state {
            return Ok(());
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let outcome = self.wait_for_turn(deadline, timeout.unwrap_or_default());
        match (&outcome, std::mem::replace(&mut self.state, State::Idle)) {
            (Ok(()), State::Waiting(key)) => self.state = State::Held(key),
            (Err(Error::LockExpired(_)), _) => {}
            (Err(_), State::Waiting(key)) => self.remove(&key),
            _ => {}
        }
        outcome
    }

    fn wait_for_turn(&mut self, deadline: Option<Instant>, timeout: Duration) -> Result<()> {
        let opts = WriteOptions {
            append: true,
            ttl: Some(self.ttl),
            ..WriteOptions::default()
        };
        let key = self.client.write(&self.dir, &self.token, &opts)?.node.key;
        self.state = State::Waiting(key.clone());
        // Keep our key alive while waiting, whatever wakes us.
        let keep_alive = Duration::from_millis(self.ttl * 1000 / 3);
        let mut refreshed = Instant::now();
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if refreshed.elapsed() >= keep_alive {
                self.refresh_key(&key)?;
                refreshed = Instant::now();
            }
            let read = self.client.read(
                &self.dir,
                &ReadOptions {
                    sorted: true,
                    ..ReadOptions::default()
                },
            )?;
            let keys: Vec<&str> = read.node.nodes.iter().map(|n| n.key.as_str()).collect();
            let predecessor = match keys.iter().position(|k| *k == key) {
                None => return Err(Error::LockExpired(key)),
                Some(0) => return Ok(()),
                Some(i) => keys[i - 1].to_owned(),
            };
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(Error::AcquireTimeout(timeout));
            }
            let until_refresh = keep_alive.saturating_sub(refreshed.elapsed());
            let wait = WatchOptions {
                wait_index: Some(read.headers.etcd_index + 1),
                timeout: Some(left.map_or(until_refresh, |l| l.min(until_refresh))),
                ..WatchOptions::default()
            };
            match self.watch(&predecessor, &wait) {
                // The predecessor changed (released, expired, gone), or it is
                // time to refresh or to give up: look again.
                Ok(()) | Err(Error::EventIndexCleared(_) | Error::WatchTimeout(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One cancellable watch of `key`.
    fn watch(&self, key: &str, opts: &WatchOptions) -> Result<()> {
        let mut watcher = self.client.watcher(key, opts)?;
        self.cancel.link(watcher.canceller());
        let outcome = watcher.next_event(opts.timeout).map(drop);
        self.cancel.unlink();
        outcome
    }

    fn refresh_key(&self, key: &str) -> Result<()> {
        match self.client.refresh(key, self.ttl) {
            Ok(_) => Ok(()),
            Err(Error::KeyNotFound(_)) => Err(Error::LockExpired(key.to_owned())),
            Err(e) => Err(e),
        }
    }

    /// Whether this handle holds the lock, asked of etcd (not a local flag):
    /// false if its key expired, even if it held the lock before (then
    /// `renew` and `release` report [`Error::LockExpired`]).
    pub fn is_locked(&mut self) -> Result<bool> {
        let State::Held(key) = &self.state else {
            return Ok(false);
        };
        let key = key.clone();
        let keys = self.contenders()?;
        if !keys.contains(&key) {
            self.state = State::Lost(key);
            return Ok(false);
        }
        Ok(keys.first() == Some(&key))
    }

    /// The keys of all contenders, in arrival order (the first holds the lock).
    fn contenders(&self) -> Result<Vec<String>> {
        let opts = ReadOptions {
            sorted: true,
            ..ReadOptions::default()
        };
        match self.client.read(&self.dir, &opts) {
            Ok(read) => Ok(read.node.nodes.into_iter().map(|n| n.key).collect()),
            Err(Error::KeyNotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Resets the lock's TTL to `ttl` seconds (its new TTL from now on).
    ///
    /// Errors: [`Error::NotHeld`] if not acquired; [`Error::LockExpired`] if
    /// its key is gone (the lock was lost); [`Error::InvalidArgument`] for 0.
    pub fn renew(&mut self, ttl: u64) -> Result<()> {
        let key = self.held_key()?;
        if ttl == 0 {
            return Err(Error::InvalidArgument("renew needs a ttl > 0".into()));
        }
        self.ttl = ttl;
        let outcome = self.refresh_key(&key);
        if let Err(Error::LockExpired(_)) = outcome {
            self.state = State::Lost(key);
        }
        outcome
    }

    /// Releases the lock, waking the next contender.
    ///
    /// Errors: [`Error::NotHeld`] if not acquired; [`Error::LockExpired`] if
    /// its key was already gone (it expired: someone else may have had the
    /// lock meanwhile).
    pub fn release(&mut self) -> Result<()> {
        let held = self.held_key();
        if let State::Lost(_) = self.state {
            self.state = State::Idle;
        }
        let key = held?;
        self.state = State::Idle;
        let opts = DeleteOptions {
            prev_value: Some(&self.token),
            ..DeleteOptions::default()
        };
        match self.client.delete(&key, &opts) {
            Ok(_) => Ok(()),
            Err(Error::KeyNotFound(_) | Error::CompareFailed(_)) => Err(Error::LockExpired(key)),
            Err(e) => Err(e),
        }
    }

    /// The key of a held lock; [`Error::LockExpired`] for a lost one (the
    /// state stays lost), [`Error::NotHeld`] otherwise.
    fn held_key(&mut self) -> Result<String> {
        match &self.state {
            State::Held(key) => Ok(key.clone()),
            State::Lost(key) => Err(Error::LockExpired(key.clone())),
            _ => Err(Error::NotHeld(format!("lock {} is not acquired", self.dir))),
        }
    }

    /// Removes our key (best effort: it expires anyway).
    fn remove(&self, key: &str) {
        let opts = DeleteOptions {
            prev_value: Some(&self.token),
            ..DeleteOptions::default()
        };
        let _ = self.client.delete(key, &opts);
    }

    /// The key this handle holds or waits with, if any.
    pub fn key(&self) -> Option<&str> {
        match &self.state {
            State::Waiting(key) | State::Held(key) => Some(key),
            State::Idle | State::Lost(_) => None,
        }
    }

    /// A handle that cancels a blocked [`acquire`](Self::acquire) from any thread.
    pub fn canceller(&self) -> Canceller {
        self.cancel.clone()
    }

    /// Acquires the lock like [`acquire`](Self::acquire) and returns a guard
    /// that releases it when dropped.
    pub fn acquire_guard(&mut self, timeout: Option<Duration>) -> Result<LockGuard<'_>> {
        self.acquire(timeout)?;
        Ok(LockGuard { lock: self })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let State::Waiting(key) | State::Held(key) = &self.state {
            self.remove(key);
        }
    }
}

/// Holds a [`Lock`] until dropped (then released, ignoring errors) or
/// [`release`](LockGuard::release)d.
#[derive(Debug)]
pub struct LockGuard<'a> {
    lock: &'a mut Lock,
}

impl LockGuard<'_> {
    /// The lock, e.g. to [`renew`](Lock::renew) it.
    pub fn lock(&mut self) -> &mut Lock {
        self.lock
    }

    /// Releases the lock, reporting what [`Lock::release`] reports.
    pub fn release(self) -> Result<()> {
        let mut this = std::mem::ManuallyDrop::new(self);
        this.lock.release()
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}
