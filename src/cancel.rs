//! One cancellation signal shared by every stage: the runner's SIGINT/SIGTERM, or our own
//! `timeout-minutes`. Sync code (the runtime's event loop) registers a listener that wakes
//! it; async code awaits `cancelled()`. Nothing polls.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The runner cancelled the job (SIGINT, then SIGTERM ~7.5 s later).
    Signal,
    /// `timeout-minutes` ran out.
    Timeout,
}

type Listener = Box<dyn Fn(CancelReason) + Send + Sync>;

#[derive(Default)]
struct Inner {
    reason: Mutex<Option<CancelReason>>,
    listeners: Mutex<Vec<Listener>>,
    notify: Notify,
}

#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel").field("reason", &self.reason()).finish()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels once; later calls keep the first reason. Listeners run on the caller's thread.
    pub fn cancel(&self, reason: CancelReason) {
        {
            let mut slot = self.inner.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if slot.is_some() {
                return;
            }
            *slot = Some(reason);
        }
        let listeners = self.inner.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for listener in listeners.iter() {
            listener(reason);
        }
        self.inner.notify.notify_waiters();
    }

    pub fn reason(&self) -> Option<CancelReason> {
        *self.inner.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_cancelled(&self) -> bool {
        self.reason().is_some()
    }

    /// Calls `listener` on cancellation (at once if already cancelled).
    pub fn on_cancel(&self, listener: impl Fn(CancelReason) + Send + Sync + 'static) {
        if let Some(reason) = self.reason() {
            listener(reason);
            return;
        }
        self.inner.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Box::new(listener));
        // Closes the race with a `cancel` that ran between the check and the push.
        if let Some(reason) = self.reason() {
            let listeners = self.inner.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(last) = listeners.last() {
                last(reason);
            }
        }
    }

    /// Resolves when cancelled.
    pub async fn cancelled(&self) -> CancelReason {
        loop {
            let notified = self.inner.notify.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn first_reason_wins_and_listeners_fire_once() {
        let cancel = Cancel::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        cancel.on_cancel(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        });
        cancel.cancel(CancelReason::Timeout);
        cancel.cancel(CancelReason::Signal);
        assert_eq!(cancel.reason(), Some(CancelReason::Timeout));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn late_listener_fires_immediately() {
        let cancel = Cancel::new();
        cancel.cancel(CancelReason::Signal);
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        cancel.on_cancel(move |r| {
            assert_eq!(r, CancelReason::Signal);
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
