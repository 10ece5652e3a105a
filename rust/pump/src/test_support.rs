//! Test helpers: pipes, a deterministic PRNG, waiting for a hop.

use std::fs::File;
use std::os::fd::{AsFd, FromRawFd};

use crate::{wait_readable, HopHandle, HopResult, Notifier};

/// A new pipe as (read end, write end), both close-on-exec, with `flags`.
pub fn pipe_with(flags: libc::c_int) -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | flags) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nothing else.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// A new close-on-exec pipe as (read end, write end).
pub fn pipe() -> (File, File) {
    pipe_with(0)
}

/// Wait (at most 20 s) until `hop` has finished; its result.
pub fn wait(hop: &HopHandle, notifier: &Notifier) -> HopResult {
    for _ in 0..2000 {
        if let Some(result) = hop.result() {
            return result;
        }
        wait_readable(notifier.fd().as_fd(), 10).unwrap();
        notifier.drain(|_| Ok::<(), ()>(())).unwrap();
    }
    panic!("the hop did not finish within 20 s");
}

/// xorshift64*: deterministic, seedable, good enough to drive property tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}
