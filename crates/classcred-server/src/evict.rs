//! Room at the connection cap: which open connection may be closed so that a new one is served.
//!
//! A client that opens connections and never finishes a request (slowloris) would otherwise hold
//! every slot, and health checks with it. At the cap, the oldest connection that has no request
//! in progress (it is still waiting for request headers, or idles between keep-alive requests)
//! is asked to close, and the new connection takes its slot. Connections busy with a request are
//! never chosen; when every connection is busy, the overflow (health-only) slots apply.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// The connections that hold a regular slot, oldest first.
#[derive(Default)]
pub(crate) struct Tracker {
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next: AtomicU64,
}

/// One tracked connection.
#[derive(Default)]
pub(crate) struct Slot {
    in_flight: AtomicUsize,
    asked_to_close: AtomicBool,
    close: Notify,
}

impl Slot {
    /// Resolves when this connection has been asked to close and has no request in progress.
    /// A request that started after the request keeps it open (the ask is dropped).
    pub(crate) async fn evicted(&self) {
        loop {
            self.close.notified().await;
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            self.asked_to_close.store(false, Ordering::Release);
        }
    }

    /// Marks a request in progress until the guard is dropped.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// A request in progress on a tracked connection.
pub(crate) struct InFlight(Arc<Slot>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's place in the tracker; leaving drops it.
pub(crate) struct Registration {
    tracker: Arc<Tracker>,
    id: u64,
    pub(crate) slot: Arc<Slot>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.tracker.lock().remove(&self.id);
    }
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        // The map stays consistent whatever panicked while holding it: use it as it is.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn register(self: &Arc<Self>) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::default());
        self.lock().insert(id, slot.clone());
        Registration {
            tracker: self.clone(),
            id,
            slot,
        }
    }

    /// Ask the oldest connection with no request in progress (and not asked already) to close.
    /// Whether one was found.
    pub(crate) fn evict_oldest_idle(&self) -> bool {
        let slots = self.lock();
        for slot in slots.values() {
            if slot.in_flight.load(Ordering::Acquire) == 0
                && !slot.asked_to_close.swap(true, Ordering::AcqRel)
            {
                slot.close.notify_one();
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_oldest_idle_connection_is_chosen_and_busy_ones_never() {
        let tracker = Arc::new(Tracker::default());
        let a = tracker.register();
        let b = tracker.register();
        let c = tracker.register();
        let busy = a.slot.request();
        assert!(tracker.evict_oldest_idle(), "b is idle");
        // b was asked (it is the oldest idle one), a (busy) and c were not.
        tokio::time::timeout(std::time::Duration::from_secs(5), b.slot.evicted())
            .await
            .unwrap();
        assert!(!a.slot.asked_to_close.load(Ordering::Acquire));
        assert!(!c.slot.asked_to_close.load(Ordering::Acquire));
        drop(b);
        assert!(tracker.evict_oldest_idle(), "c is idle");
        assert!(!tracker.evict_oldest_idle(), "only the busy one is left");
        drop(busy);
        assert!(tracker.evict_oldest_idle(), "a is idle now");
        drop((a, c));
        assert!(tracker.lock().is_empty());
    }
}
