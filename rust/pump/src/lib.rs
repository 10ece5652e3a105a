//! Cuprum's stream core: move bytes between file descriptors and decode
//! UTF-8 output, with no Python in sight. The PyO3 binding in
//! `rust/binding` is a thin skin over this crate.

/// The crate's version, as Cargo and Bazel record it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_semver() {
        assert_eq!(VERSION.split('.').count(), 3);
    }
}
