//! Completion notices: how a finished hop reaches the thread that waits
//! for it, without a thread per hop.
//!
//! A [`Notifier`] is an eventfd plus a list of finished hops' tokens. A
//! worker that finishes a hop appends its token and signals the eventfd; the
//! waiting side (an asyncio loop watching the eventfd with `add_reader`)
//! takes the tokens with [`Notifier::drain`]. Room for each token is
//! reserved when its hop starts, so finishing never allocates.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::alloc::{OutOfMemory, Shared};
use crate::sys;

struct Tokens {
    done: Vec<u64>,
    /// Hops started and not yet finished: `done` always has room for them.
    outstanding: usize,
}

pub(crate) struct NotifierInner {
    event: OwnedFd,
    tokens: Mutex<Tokens>,
}

impl NotifierInner {
    fn tokens(&self) -> MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Make room for one more hop's token (when the hop starts).
    pub(crate) fn reserve(&self) -> Result<(), OutOfMemory> {
        let mut tokens = self.tokens();
        let needed = tokens.outstanding + 1;
        tokens.done.try_reserve(needed)?;
        tokens.outstanding = needed;
        Ok(())
    }

    /// Give back a reservation whose hop never started.
    pub(crate) fn unreserve(&self) {
        let mut tokens = self.tokens();
        tokens.outstanding = tokens.outstanding.saturating_sub(1);
    }

    /// Record a finished hop and wake the waiter; never allocates.
    pub(crate) fn complete(&self, token: u64) {
        {
            let mut tokens = self.tokens();
            tokens.outstanding = tokens.outstanding.saturating_sub(1);
            if tokens.done.len() < tokens.done.capacity() {
                tokens.done.push(token);
            }
        }
        sys::eventfd_signal(self.event.as_fd());
    }
}

/// Where finished hops are announced (one per waiting event loop).
///
/// The eventfd stays open as long as the notifier or any hop started with it
/// lives, so a worker never signals a closed (or reused) descriptor number.
pub struct Notifier {
    inner: Shared<NotifierInner>,
}

impl Notifier {
    /// A new notifier with its eventfd.
    ///
    /// # Errors
    ///
    /// The eventfd's creation error, or `OutOfMemory` as an `io::Error`.
    pub fn new() -> io::Result<Self> {
        let event = sys::eventfd()?;
        let inner = Shared::try_new(NotifierInner {
            event,
            tokens: Mutex::new(Tokens {
                done: Vec::new(),
                outstanding: 0,
            }),
        })
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(Self { inner })
    }

    /// The descriptor that is readable while tokens wait to be drained.
    #[must_use]
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.inner.event.as_fd()
    }

    /// Reset the descriptor, then hand the finished hops' tokens to `take`.
    ///
    /// The tokens are forgotten only when `take` succeeds. When it fails or
    /// panics (a binding that could not allocate: PyO3 panics on a null
    /// object) they stay, and the descriptor is made readable again, so no
    /// finished hop is ever lost.
    ///
    /// # Errors
    ///
    /// `take`'s error; its panic is resumed.
    pub fn drain<R, E>(&self, take: impl FnOnce(&[u64]) -> Result<R, E>) -> Result<R, E> {
        sys::eventfd_drain(self.inner.event.as_fd());
        let mut tokens = self.inner.tokens();
        let taken = catch_unwind(AssertUnwindSafe(|| take(&tokens.done)));
        if let Ok(Ok(_)) = taken {
            tokens.done.clear();
        } else {
            sys::eventfd_signal(self.inner.event.as_fd());
        }
        drop(tokens);
        taken.unwrap_or_else(|panic| resume_unwind(panic))
    }

    /// Hops started with this notifier and not finished yet.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.inner.tokens().outstanding
    }

    pub(crate) fn share(&self) -> Shared<NotifierInner> {
        self.inner.clone()
    }
}
