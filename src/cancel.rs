//! Cancelling a blocked call from another thread.
//!
//! Fork: no lock. A cancel must work in a forked child whatever the
//! parent's threads were doing with the same canceller at the fork (a lock
//! one of them held would stay held in the child forever), so the linked
//! canceller sits in an atomic pointer slot whose every change is one swap.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;

use crate::transport::Shutdown;

/// Cancels a [`Watcher`](crate::Watcher) or a [`Lock`](crate::Lock) wait
/// from any thread: a call blocked in it returns [`Error::Cancelled`]
/// promptly (its connections are shut down, which interrupts blocked I/O),
/// and so does every later one. Cancelling is final. Cheap to clone; all
/// clones cancel the same thing.
///
/// [`Error::Cancelled`]: crate::Error::Cancelled
#[derive(Debug, Clone, Default)]
pub struct Canceller(Arc<Slot>);

#[derive(Debug, Default)]
struct Slot {
    cancelled: AtomicBool,
    /// The connections to shut down (a watcher's own).
    shutdown: Option<Shutdown>,
    /// Another canceller to cancel with this one: the watch a lock is
    /// waiting in, while it waits. Null, or an `Arc<Slot>` from
    /// `Arc::into_raw` that the slot owns: it changes hands only by
    /// [`swap`](AtomicPtr::swap), so whoever swaps it out owns it and no
    /// other thread can be using it.
    linked: AtomicPtr<Slot>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(take(*self.linked.get_mut()));
    }
}

/// The canceller a pointer swapped out of a `linked` slot owns.
fn take(raw: *mut Slot) -> Option<Canceller> {
    // SAFETY: null, or from Arc::into_raw in `link`, owned by the slot it
    // was swapped out of and so by the caller now: taken back once.
    (!raw.is_null()).then(|| Canceller(unsafe { Arc::from_raw(raw) }))
}

impl Canceller {
    /// A canceller that also shuts down `shutdown`'s connections.
    pub(crate) fn with_shutdown(shutdown: Shutdown) -> Canceller {
        Canceller(Arc::new(Slot {
            cancelled: AtomicBool::new(false),
            shutdown: Some(shutdown),
            linked: AtomicPtr::new(ptr::null_mut()),
        }))
    }

    /// Cancels: sets the flag, shuts the connections down, cancels what is
    /// linked (and unlinks it: it is cancelled for good). Any thread, any
    /// number of times.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(shutdown) = &self.0.shutdown {
            shutdown.shutdown();
        }
        if let Some(linked) = take(self.0.linked.swap(ptr::null_mut(), Ordering::SeqCst)) {
            linked.cancel();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Cancels `other` with this one until [`unlink`](Self::unlink); at once
    /// if this one is cancelled already (also when the cancel came between
    /// the caller's last check and this link).
    ///
    /// Either the swap here or the one in [`cancel`](Self::cancel) comes
    /// first (all `SeqCst`, with the flag set before `cancel`'s swap): if
    /// `cancel` came first, the flag is seen here; if this came first,
    /// `cancel` takes `other` and cancels it.
    pub(crate) fn link(&self, other: Canceller) {
        let raw = Arc::into_raw(other.0.clone()).cast_mut();
        drop(take(self.0.linked.swap(raw, Ordering::SeqCst)));
        if self.is_cancelled() {
            other.cancel();
        }
    }

    /// Ends [`link`](Self::link).
    pub(crate) fn unlink(&self) {
        drop(take(self.0.linked.swap(ptr::null_mut(), Ordering::SeqCst)));
    }
}
