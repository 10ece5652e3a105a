//! Cuprum's stream core: move bytes between pipeline stages, with no Python
//! in sight. The PyO3 binding in `rust/binding` is a thin skin over it.
//!
//! [`start_hop`] hands a hop (a source and a sink descriptor, owned from
//! then on) to the [`runtime`]: a few epoll-driven worker threads that move
//! every hop of the process. A [`Notifier`] hears when hops finish; a
//! [`HopHandle`] shows progress, cancels, and gives the [`HopResult`].
//!
//! Failure contract: allocation is fallible everywhere (an allocation that
//! fails is [`HopError::OutOfMemory`] or [`StartError::OutOfMemory`], never
//! an abort), SIGPIPE is blocked on every worker, and a panic while moving a
//! hop fails that hop with [`HopError::Internal`]. Linux only (epoll,
//! eventfd, splice).

pub mod alloc;
pub mod hop;
pub mod notify;
pub mod runtime;
mod sys;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

pub use hop::{
    ConfigError, HopConfig, HopEnd, HopError, HopHandle, HopOutcome, HopResult, MAX_BUFFER_SIZE,
};
pub use notify::Notifier;
pub use runtime::{
    running_workers, start_hop, start_runtime, wait_readable, worker_count, StartError, MAX_WORKERS,
};

/// The crate's version, as Cargo and Bazel record it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether the descriptor number `fd` is open in this process.
#[must_use]
pub fn is_open(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    fd >= 0 && unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0
}
