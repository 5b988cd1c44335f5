//! Keeping a lease alive in the background: [`LeaseKeeper`].
//!
//! The keepers of a client share one thread (named `etcdc-lease`) and one
//! LeaseKeepAlive stream on a connection of their own (see
//! [`super::keeper_hub`]): a thousand keepers cost one thread and one
//! connection. Each lease is renewed with a keep-alive at a third of its
//! TTL, through the client's endpoints (a keep-alive is safe to repeat: the
//! stream moves on to the next member when its member fails or falls
//! silent). A keep-alive unanswered is sent again every half second. When
//! no renewal got through for the lease's whole TTL by this client's clock,
//! the lease is at risk ([`KeeperState::AtRisk`]): the keeper goes on
//! trying (etcd may still hold it: a new leader extends every lease). It is
//! lost when etcd says it does not exist (it expired, or someone revoked
//! it): the keeper then says so ([`LeaseKeeper::state`], and the `on_lost`
//! callback, called once on the keepers' thread) and stops.
//!
//! Its clock is conservative: a renewal sent at `t` and answered with TTL
//! `n` keeps the lease until `t + n` by this client's reckoning, never
//! later than etcd's.
//!
//! Fork: the keeper, its thread and its lease belong to the process that
//! made it. In a forked child, [`state`](LeaseKeeper::state) still reads
//! what the parent's keeper had published at the fork, and stopping or
//! dropping the child's copy does nothing (no thread to stop, no revoke).

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::keeper_hub::KeeperHub;
use super::{Code, V3};
use crate::error::{Error, Result};
use crate::transport::connection::generation;

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

/// Called once, on the keepers' thread, when the lease is lost.
pub type OnLost = Box<dyn FnOnce(&str) + Send>;

/// A lease kept alive in the background until [`stop`](Self::stop) (or
/// drop, which stops and revokes). `Send` and `Sync`: any thread may read
/// its state.
pub struct LeaseKeeper {
    id: i64,
    ttl: i64,
    shared: Arc<Shared>,
    /// The client's keepers' thread and stream (not dropped in a forked
    /// child: see Drop).
    hub: ManuallyDrop<Arc<KeeperHub>>,
    /// Still kept (not stopped).
    active: bool,
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

/// What the keepers' thread and a keeper's owner share. The state is in
/// atomics: a forked child reads it without a lock.
pub(super) struct Shared {
    /// When the lease expires by our clock: nanoseconds after `base`.
    expires: AtomicU64,
    base: Instant,
    lost: OnceLock<String>,
    stopped: AtomicBool,
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

    pub(super) fn set_expiry(&self, at: Instant) {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        self.expires
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Release);
    }

    fn expiry(&self) -> Instant {
        self.base + Duration::from_nanos(self.expires.load(Ordering::Acquire))
    }

    /// The lease is gone, for `why`.
    pub(super) fn lose(&self, why: &str) {
        let _ = self.lost.set(why.to_owned());
        self.set_expiry(self.base);
    }
}

impl V3<'_> {
    /// Keeps a lease alive in the background: a new one (`Grant`) or an
    /// existing one (`Adopt`), until the keeper is stopped or dropped.
    /// `on_lost` is called once, on the keepers' thread, if the lease is
    /// lost (see the module doc); it must not block for long (the client's
    /// other leases wait meanwhile). It may stop or drop the keeper.
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
        });
        shared.set_expiry(started + secs(ttl));
        let hub = KeeperHub::of(self.client)?;
        let first = started + (secs(ttl) / 3).max(Duration::from_millis(100));
        hub.add(id, shared.clone(), first, on_lost);
        Ok(LeaseKeeper {
            id,
            ttl,
            shared,
            hub: ManuallyDrop::new(hub),
            active: true,
            generation: generation(),
        })
    }
}

fn secs(ttl: i64) -> Duration {
    Duration::from_secs(u64::try_from(ttl).unwrap_or(0))
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
        self.stop_keeping();
        if let Some(why) = self.shared.lost.get() {
            return Err(Error::NotHeld(why.clone()));
        }
        if revoke && self.generation == generation() {
            match self.hub.client().v3().lease_revoke(self.id) {
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

    /// Stops renewing (in the process that made it; in a forked child
    /// there is nothing to stop).
    fn stop_keeping(&mut self) {
        if !std::mem::replace(&mut self.active, false) || self.generation != generation() {
            return;
        }
        self.hub.remove(self.id);
        self.shared.stopped.store(true, Ordering::Release);
    }
}

impl Drop for LeaseKeeper {
    /// Stops and revokes (errors ignored), as [`stop`](Self::stop)`(true)`;
    /// in a forked child, does nothing.
    fn drop(&mut self) {
        if self.generation != generation() {
            // The parent's hub: its locks may be held by a thread that is
            // not here. Leaked, untouched.
            return;
        }
        let active = self.active;
        self.stop_keeping();
        if active && self.shared.lost.get().is_none() {
            let _ = self.hub.client().v3().lease_revoke(self.id);
        }
        // SAFETY: dropped once, here, and not used after. The last
        // keeper's drop ends the hub's thread.
        unsafe { ManuallyDrop::drop(&mut self.hub) };
    }
}
