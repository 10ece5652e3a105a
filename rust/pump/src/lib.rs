//! Cuprum's stream core: move bytes between file descriptors and decode
//! UTF-8 output, with no Python in sight. The PyO3 binding in
//! `rust/binding` is a thin skin over this crate.
//!
//! Descriptor ownership: every function here takes [`BorrowedFd`]s and
//! never closes them; the caller owns them before, during and after. The
//! pump does switch both descriptors to non-blocking mode, which is a
//! property of the open file description, shared with any duplicate.
//!
//! [`BorrowedFd`]: std::os::fd::BorrowedFd

pub mod decode;
mod io;
pub mod pump;
#[cfg(test)]
mod test_support;

pub use decode::{consume, decode_lossy, Consumed};
pub use pump::{pump, PumpEnd, PumpOutcome};

/// The crate's version, as Cargo and Bazel record it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::VERSION;

    #[test]
    fn version_is_semver() {
        assert_eq!(VERSION.split('.').count(), 3);
    }
}
