//! A first-come, first-served async lock for one thread: operations that
//! read, then write storage (snapshots, restore, clear) run one at a time.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    held: bool,
    waiters: VecDeque<Waker>,
}

/// The lock.
#[derive(Clone, Default)]
pub struct Lock(Rc<RefCell<State>>);

/// Holding this means holding the lock; dropping it releases the lock.
pub struct Guard(Rc<RefCell<State>>);

impl Lock {
    /// Waits until the lock is free, then takes it.
    pub fn acquire(&self) -> Acquire {
        Acquire(self.0.clone())
    }
}

/// Future of [`Lock::acquire`].
pub struct Acquire(Rc<RefCell<State>>);

impl Future for Acquire {
    type Output = Guard;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Guard> {
        let mut state = self.0.borrow_mut();
        if state.held {
            state.waiters.push_back(cx.waker().clone());
            Poll::Pending
        } else {
            state.held = true;
            Poll::Ready(Guard(self.0.clone()))
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut state = self.0.borrow_mut();
        state.held = false;
        // Wake every waiter: the first to poll takes the lock, the others
        // queue again. Cheap at the handful of waiters this ever has.
        for w in state.waiters.drain(..) {
            w.wake();
        }
    }
}
