//! One hub per client and fork generation: [`HubSlot`].

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, Weak};

use crate::transport::connection::generation;

/// Where a client keeps a hub (its watches', its lease keepers'): one slot
/// per fork generation, each with
/// its own lock, so that a child never takes a lock its parent's threads
/// may have held at the fork. Slots are added without a lock (a list
/// pushed by compare-and-swap) and freed with the client.
pub(crate) struct HubSlot<T>(AtomicPtr<GenerationSlot<T>>);

struct GenerationSlot<T> {
    generation: u64,
    hub: Mutex<Weak<T>>,
    next: *mut GenerationSlot<T>,
}

impl<T> Default for HubSlot<T> {
    fn default() -> Self {
        HubSlot(AtomicPtr::new(std::ptr::null_mut()))
    }
}

impl<T> HubSlot<T> {
    /// The slot of this fork generation, added if missing.
    pub(crate) fn current(&self) -> &Mutex<Weak<T>> {
        let now = generation();
        let mut head = self.0.load(Ordering::Acquire);
        let mut fresh: Option<Box<GenerationSlot<T>>> = None;
        loop {
            let mut node = head;
            while !node.is_null() {
                // SAFETY: nodes live until the HubSlot drops.
                let n = unsafe { &*node };
                if n.generation == now {
                    return &n.hub;
                }
                node = n.next;
            }
            let mut new = fresh.take().unwrap_or_else(|| {
                Box::new(GenerationSlot {
                    generation: now,
                    hub: Mutex::new(Weak::new()),
                    next: std::ptr::null_mut(),
                })
            });
            new.next = head;
            let raw = Box::into_raw(new);
            match self
                .0
                .compare_exchange(head, raw, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: just pushed; lives until the HubSlot drops.
                Ok(_) => return unsafe { &(*raw).hub },
                Err(now_head) => {
                    // SAFETY: not published: still ours.
                    fresh = Some(unsafe { Box::from_raw(raw) });
                    head = now_head;
                }
            }
        }
    }
}

impl<T> Drop for HubSlot<T> {
    fn drop(&mut self) {
        let mut node = *self.0.get_mut();
        while !node.is_null() {
            // SAFETY: every node was a Box, freed once, here.
            let n = unsafe { Box::from_raw(node) };
            node = n.next;
        }
    }
}

// SAFETY: the raw pointers are the list's own nodes, whose contents are
// Sync (a Mutex) and never moved.
unsafe impl<T: Send + Sync> Send for HubSlot<T> {}
unsafe impl<T: Send + Sync> Sync for HubSlot<T> {}

impl<T> std::fmt::Debug for HubSlot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubSlot")
    }
}
