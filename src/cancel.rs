//! Cancelling a blocked call from another thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
    /// waiting in, while it waits.
    linked: Mutex<Option<Canceller>>,
}

impl Canceller {
    /// A canceller that also shuts down `shutdown`'s connections.
    pub(crate) fn with_shutdown(shutdown: Shutdown) -> Canceller {
        Canceller(Arc::new(Slot {
            shutdown: Some(shutdown),
            ..Slot::default()
        }))
    }

    /// Cancels: sets the flag, shuts the connections down, cancels what is
    /// linked. Any thread, any number of times.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(shutdown) = &self.0.shutdown {
            shutdown.shutdown();
        }
        if let Some(linked) = self.lock_linked().as_ref() {
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
    pub(crate) fn link(&self, other: Canceller) {
        *self.lock_linked() = Some(other.clone());
        if self.is_cancelled() {
            other.cancel();
        }
    }

    /// Ends [`link`](Self::link).
    pub(crate) fn unlink(&self) {
        *self.lock_linked() = None;
    }

    fn lock_linked(&self) -> std::sync::MutexGuard<'_, Option<Canceller>> {
        // A panic while holding it leaves a valid Option: go on with it.
        self.0.linked.lock().unwrap_or_else(|p| p.into_inner())
    }
}
