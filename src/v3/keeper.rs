//! Keeping a lease alive in the background: [`LeaseKeeper`].
//!
//! A keeper owns one thread (named `etcdc-lease`), which renews the lease
//! with a keep-alive at a third of its TTL, through the client's endpoints
//! and failover rule (a keep-alive is safe to repeat: it moves on to the
//! next member like a read). A renewal that fails is tried again every
//! half second. When no renewal got through for the lease's whole TTL by
//! this client's clock, the lease is at risk ([`KeeperState::AtRisk`]):
//! the keeper goes on trying (etcd may still hold it: a new leader extends
//! every lease). It is lost when etcd says it does not exist (it expired,
//! or someone revoked it): the keeper then says so
//! ([`LeaseKeeper::state`], and the `on_lost` callback, called once on the
//! keeper's thread) and stops.
//!
//! Its clock is conservative: a renewal sent at `t` and answered with TTL
//! `n` keeps the lease until `t + n` by this client's reckoning, never
//! later than etcd's.
//!
//! Fork: the keeper, its thread and its lease belong to the process that
//! made it. In a forked child, [`state`](LeaseKeeper::state) still reads
//! what the parent's keeper had published at the fork, and stopping or
//! dropping the child's copy does nothing (no thread to stop, no revoke).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Code, V3};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::connection::generation;
use crate::transport::Limit;

/// How often a failed renewal is tried again (while the lease has time).
const RETRY: Duration = Duration::from_millis(500);

/// The lease a keeper keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseSource {
    /// A new lease of this many seconds, granted by
    /// [`V3::lease_keeper`].
    Grant { ttl: i64 },
    /// A lease that exists already (granted by this program or another):
    /// the keeper renews it at once to learn its TTL, and fails with
    /// `Code::NotFound` if it does not exist.
    Adopt { id: i64 },
}

/// What a keeper knows of its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeeperState {
    /// Alive for at least `left` more (by this client's clock), unless
    /// renewed again before.
    Alive { left: Duration },
    /// No renewal got through for the lease's whole TTL (by this client's
    /// clock, which errs early): it may have expired, or etcd may still
    /// hold it (a new leader extends every lease). The keeper goes on
    /// trying; what depends on the lease (a lock) must count it lost.
    AtRisk,
    /// Lost, for this reason: etcd said the lease is gone (it expired or
    /// was revoked). The keeper stopped.
    Lost(String),
    /// Stopped by its owner.
    Stopped,
}

/// Called once, on the keeper's thread, when the lease is lost.
pub type OnLost = Box<dyn FnOnce(&str) + Send>;

/// A lease kept alive in the background until [`stop`](Self::stop) (or
/// drop, which stops and revokes). `Send` and `Sync`: any thread may read
/// its state.
pub struct LeaseKeeper {
    id: i64,
    ttl: i64,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The keeper's own client (the same endpoints, cluster view and
    /// credentials, its own connections), for the revoke at stop.
    client: Arc<Client>,
    /// The fork generation it was made in.
    generation: u64,
}

impl std::fmt::Debug for LeaseKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseKeeper")
            .field("id", &self.id)
            .field("ttl", &self.ttl)
            .field("state", &self.state())
            .finish()
    }
}

/// What the keeper's thread and its owner share. The state is in atomics:
/// a forked child reads it without a lock.
struct Shared {
    /// When the lease expires by our clock: nanoseconds after `base`.
    expires: AtomicU64,
    base: Instant,
    lost: OnceLock<String>,
    stopped: AtomicBool,
    /// Wakes the thread to stop (only the owner's process uses it).
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    /// What the keeper knows now (see [`LeaseKeeper::state`]). Lock-free.
    fn state(&self) -> KeeperState {
        if let Some(why) = self.lost.get() {
            return KeeperState::Lost(why.clone());
        }
        if self.stopped.load(Ordering::Acquire) {
            return KeeperState::Stopped;
        }
        let left = self.expiry().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return KeeperState::AtRisk;
        }
        KeeperState::Alive { left }
    }

    fn set_expiry(&self, at: Instant) {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        self.expires
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Release);
    }

    fn expiry(&self) -> Instant {
        self.base + Duration::from_nanos(self.expires.load(Ordering::Acquire))
    }

    /// Waits until `until` or a stop; returns whether to stop.
    fn sleep_until(&self, until: Instant) -> bool {
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *stop {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            stop = self
                .wake
                .wait_timeout(stop, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl V3<'_> {
    /// Keeps a lease alive in the background: a new one (`Grant`) or an
    /// existing one (`Adopt`), until the keeper is stopped or dropped.
    /// `on_lost` is called once, on the keeper's thread, if the lease is
    /// lost (see the module doc); it must not block for long. It may stop
    /// or drop the keeper (the thread ends when it returns).
    ///
    /// Errors: those of the grant or of the first renewal (`Code::NotFound`
    /// for a lease to adopt that does not exist); `InvalidArgument` for a
    /// TTL that is not positive. The thread could not be started: `Protocol`
    /// naming the reason.
    pub fn lease_keeper(&self, lease: LeaseSource, on_lost: Option<OnLost>) -> Result<LeaseKeeper> {
        let started = Instant::now();
        let (id, ttl) = match lease {
            LeaseSource::Grant { ttl } => {
                let granted = self.lease_grant(ttl, 0)?;
                (granted.id, granted.ttl)
            }
            LeaseSource::Adopt { id } => (id, self.lease_keep_alive_once(id)?.ttl),
        };
        let shared = Arc::new(Shared {
            expires: AtomicU64::new(0),
            base: started,
            lost: OnceLock::new(),
            stopped: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        shared.set_expiry(started + secs(ttl));
        // The keeper's own connections: its renewals never wait behind the
        // owner's calls, and its thread never touches the owner's pool.
        let client = Arc::new(self.client.background());
        let thread = {
            let (shared, client) = (shared.clone(), client.clone());
            std::thread::Builder::new()
                .name("etcdc-lease".into())
                .stack_size(256 * 1024)
                .spawn(move || keep(&client, id, ttl, &shared, on_lost))
                .map_err(|e| Error::Protocol(format!("cannot start the lease keeper: {e}")))?
        };
        Ok(LeaseKeeper {
            id,
            ttl,
            shared,
            thread: Some(thread),
            client,
            generation: generation(),
        })
    }
}

fn secs(ttl: i64) -> Duration {
    Duration::from_secs(u64::try_from(ttl).unwrap_or(0))
}

thread_local! {
    /// On a keeper's thread, its keeper's shared state: how a stop from
    /// `on_lost` knows it runs there. (Not `thread::current()`, which
    /// allocates a handle that a C program's main thread never frees.)
    static ON_KEEPER: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// The keeper's thread: renews at a third of the TTL until stopped or lost.
fn keep(client: &Client, id: i64, ttl: i64, shared: &Shared, on_lost: Option<OnLost>) {
    ON_KEEPER.with(|k| k.set(shared));
    let every = (secs(ttl) / 3).max(Duration::from_millis(100));
    let mut next = Instant::now() + every;
    let lost = loop {
        if shared.sleep_until(next) {
            return;
        }
        // Past the expiry by our clock, a renewal still gets a second: etcd
        // may hold the lease longer (a new leader extends every lease).
        let left = shared.expiry().saturating_duration_since(Instant::now());
        let limit = left.max(Duration::from_secs(1));
        let sent = Instant::now();
        match client
            .v3()
            .lease_keep_alive_within(id, Limit::Within(limit))
        {
            Ok(renewed) => {
                shared.set_expiry(sent + secs(renewed.ttl));
                next = sent + (secs(renewed.ttl) / 3).max(Duration::from_millis(100));
            }
            Err(Error::Grpc {
                code: Code::NotFound,
                ..
            }) => break format!("lease {id:x} is gone: it expired or was revoked"),
            Err(_) => next = Instant::now() + RETRY.min((left / 4).max(Duration::from_millis(50))),
        }
    };
    let _ = shared.lost.set(lost.clone());
    shared.set_expiry(shared.base);
    if let Some(on_lost) = on_lost {
        on_lost(&lost);
    }
}

impl LeaseKeeper {
    /// The lease's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The TTL etcd granted (or had granted, for an adopted lease), in
    /// seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// What the keeper knows now. Lock-free.
    pub fn state(&self) -> KeeperState {
        self.shared.state()
    }

    /// Why the lease was lost (as in [`KeeperState::Lost`]), without a
    /// copy; `None` while it is not lost.
    pub fn lost_reason(&self) -> Option<&str> {
        self.shared.lost.get().map(String::as_str)
    }

    /// A reader of this keeper's state, as [`state`](Self::state), that
    /// outlives the keeper: any thread may call it while the owner stops
    /// or drops the keeper (after which it reads `Stopped`, or `Lost`).
    /// Lock-free.
    pub fn state_reader(&self) -> impl Fn() -> KeeperState + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.state()
    }

    /// Stops renewing (the thread ends before this returns) and, with
    /// `revoke`, revokes the lease: its keys are deleted now. Without, the
    /// lease expires after its TTL.
    ///
    /// Errors: `NotHeld` when the lease was lost before (nothing to
    /// revoke); the revoke's own errors (`Ambiguous` if it may have been
    /// applied).
    pub fn stop(mut self, revoke: bool) -> Result<()> {
        self.stop_thread();
        if let Some(why) = self.shared.lost.get() {
            return Err(Error::NotHeld(why.clone()));
        }
        if revoke && self.generation == generation() {
            match self.client.v3().lease_revoke(self.id) {
                Ok(_) => {}
                Err(Error::Grpc {
                    code: Code::NotFound,
                    ..
                }) => {
                    return Err(Error::NotHeld(format!(
                        "lease {:x} is gone: it expired or was revoked",
                        self.id
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Ends the thread (in the process that started it; in a forked child
    /// there is none to end).
    fn stop_thread(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        if self.generation != generation() {
            // The parent's thread: not this process's to join or detach.
            std::mem::forget(thread);
            return;
        }
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if ON_KEEPER.with(Cell::get) == Arc::as_ptr(&self.shared) {
            // Called from `on_lost`, on the keeper's own thread: it ends
            // when the callback returns (nothing left to do), detached.
            drop(thread);
        } else {
            let _ = thread.join();
        }
        self.shared.stopped.store(true, Ordering::Release);
    }
}

impl Drop for LeaseKeeper {
    /// Stops and revokes (errors ignored), as [`stop`](Self::stop)`(true)`;
    /// in a forked child, does nothing.
    fn drop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        let forked = self.generation != generation();
        self.stop_thread();
        if !forked && self.shared.lost.get().is_none() {
            let _ = self.client.v3().lease_revoke(self.id);
        }
    }
}
