//! One hop: move bytes from a source descriptor to a sink descriptor until
//! end of file, an early close downstream, cancellation or an error.
//!
//! A hop is a state machine driven by its worker ([`crate::runtime`]): it
//! never blocks, and [`HopState::step`] does at most a few chunks' work
//! before it yields, so one worker can move many hops fairly.
//!
//! **Copy (the default).** Each chunk is read into a buffer and written out
//! whole before the next read (a packet-mode pipe keeps its packet
//! boundaries); while a chunk waits for room downstream, the source is not
//! read (backpressure: at most one chunk per hop is held). The sink only
//! ever receives copies, so a producer that `vmsplice`s its buffers and
//! reuses them once its pipe drains cannot change bytes already handed on.
//!
//! **Zero copy (opt-in).** Pipe to pipe, `splice(2)` moves page references:
//! no copy, but the pages stay shared with whoever wrote them (see
//! `docs/design.md`). Descriptors that cannot be spliced fall back to copying.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::alloc::{BufferPool, OutOfMemory, Shared};
use crate::notify::NotifierInner;
use crate::sys;

/// Largest `buffer_size` a hop accepts (64 MiB).
pub const MAX_BUFFER_SIZE: usize = 64 << 20;

/// Chunks one hop may move per turn before its worker serves the others.
const TURN_BUDGET: usize = 8;

/// How a hop is asked to move bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopConfig {
    /// Most bytes per read (or per `splice`).
    pub buffer_size: usize,
    /// Forward page references with `splice(2)` instead of copying.
    pub zero_copy: bool,
}

impl HopConfig {
    /// A checked configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] unless `1 <= buffer_size <= MAX_BUFFER_SIZE`.
    pub fn new(buffer_size: usize, zero_copy: bool) -> Result<Self, ConfigError> {
        if buffer_size == 0 || buffer_size > MAX_BUFFER_SIZE {
            return Err(ConfigError { buffer_size });
        }
        Ok(Self {
            buffer_size,
            zero_copy,
        })
    }
}

/// A `buffer_size` outside `1..=MAX_BUFFER_SIZE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The size asked for.
    pub buffer_size: usize,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "buffer_size must be between 1 and {MAX_BUFFER_SIZE}, not {}",
            self.buffer_size
        )
    }
}

impl std::error::Error for ConfigError {}

/// Why a hop ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HopEnd {
    /// The source reached end of file and everything read was delivered.
    Eof,
    /// The sink's reader went away first (`EPIPE`, `ECONNRESET`, `EPOLLERR`).
    DownstreamClosed,
    /// [`HopHandle::cancel`] stopped it.
    Cancelled,
}

/// What a hop did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopOutcome {
    /// Bytes delivered to the sink.
    pub bytes_moved: u64,
    /// How it ended.
    pub end: HopEnd,
}

/// Why a hop failed. Its descriptors are closed all the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HopError {
    /// A system call failed with this `errno`.
    Os(i32),
    /// A buffer could not be allocated.
    OutOfMemory,
    /// A bug: the worker panicked while moving this hop.
    Internal,
}

impl HopError {
    fn from_io(error: &io::Error) -> Self {
        error.raw_os_error().map_or(Self::Internal, Self::Os)
    }
}

impl From<OutOfMemory> for HopError {
    fn from(_: OutOfMemory) -> Self {
        Self::OutOfMemory
    }
}

/// How a hop finished.
pub type HopResult = Result<HopOutcome, HopError>;

/// What the hop's handle and its worker share.
pub(crate) struct HopShared {
    pub(crate) token: u64,
    pub(crate) bytes_moved: AtomicU64,
    pub(crate) cancel: AtomicBool,
    pub(crate) result: Mutex<Option<HopResult>>,
    /// Wakes the hop's worker (its eventfd), to notice a cancellation.
    pub(crate) wake: Shared<OwnedFd>,
}

/// The caller's side of a running hop. Dropping it cancels the hop: a hop
/// nobody can wait for is stopped, and its descriptors closed.
pub struct HopHandle {
    pub(crate) shared: Shared<HopShared>,
}

impl HopHandle {
    /// The token its notifier reports when it finishes.
    #[must_use]
    pub fn token(&self) -> u64 {
        self.shared.token
    }

    /// Bytes delivered so far (final once the hop has finished).
    #[must_use]
    pub fn bytes_moved(&self) -> u64 {
        self.shared.bytes_moved.load(Ordering::Relaxed)
    }

    /// Ask the hop to stop; it ends within one chunk (idempotent).
    pub fn cancel(&self) {
        if !self.shared.cancel.swap(true, Ordering::SeqCst) {
            sys::eventfd_signal(self.shared.wake.as_fd());
        }
    }

    /// How the hop finished, or `None` while it runs. Once this returns
    /// `Some`, both descriptors are closed.
    #[must_use]
    pub fn result(&self) -> Option<HopResult> {
        *self
            .shared
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for HopHandle {
    fn drop(&mut self) {
        if self.result().is_none() {
            self.cancel();
        }
    }
}

/// Which side of a hop an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Source,
    Sink,
}

/// A chunk read but not yet fully written.
struct Chunk {
    buffer: Vec<u8>,
    written: usize,
}

/// What a turn of [`HopState::step`] left to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing can happen until an event arrives.
    Wait,
    /// More work is ready: run another turn after the other hops'.
    Again,
    /// The hop is over.
    Done(HopResult),
}

/// A hop as its worker holds it: the descriptors, readiness, the pending chunk.
pub(crate) struct HopState {
    pub(crate) shared: Shared<HopShared>,
    /// Held by the worker only, so the notifier's eventfd closes as soon as
    /// the hops that may signal it have finished.
    pub(crate) notifier: Shared<NotifierInner>,
    pub(crate) source: OwnedFd,
    pub(crate) sink: OwnedFd,
    config: HopConfig,
    splicing: bool,
    pending: Option<Chunk>,
    moved: u64,
    /// Readiness as edge-triggered epoll last reported it (true until a
    /// call says otherwise). A side epoll cannot watch (a regular file) is
    /// always ready.
    source_ready: bool,
    sink_ready: bool,
    sink_gone: bool,
    pub(crate) source_watched: bool,
    pub(crate) sink_watched: bool,
}

fn is_downstream_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

impl HopState {
    pub(crate) fn new(
        shared: Shared<HopShared>,
        notifier: Shared<NotifierInner>,
        source: OwnedFd,
        sink: OwnedFd,
        config: HopConfig,
    ) -> Self {
        Self {
            shared,
            notifier,
            source,
            sink,
            config,
            splicing: config.zero_copy,
            pending: None,
            moved: 0,
            source_ready: true,
            sink_ready: true,
            sink_gone: false,
            source_watched: false,
            sink_watched: false,
        }
    }

    /// Record what epoll reported for one side.
    pub(crate) fn note(&mut self, side: Side, events: u32) {
        match side {
            Side::Source => self.source_ready = true, // data, EOF or an error: read to see
            Side::Sink => {
                if events & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
                    self.sink_gone = true;
                }
                if events & libc::EPOLLOUT as u32 != 0 {
                    self.sink_ready = true;
                }
            }
        }
    }

    /// Bytes delivered so far.
    pub(crate) fn moved(&self) -> u64 {
        self.moved
    }

    /// Return the pending chunk's buffer (the hop is over).
    pub(crate) fn release(&mut self, pool: &mut BufferPool) {
        if let Some(chunk) = self.pending.take() {
            pool.give(chunk.buffer);
        }
    }

    fn add_moved(&mut self, n: usize) {
        self.moved += n as u64;
        self.shared.bytes_moved.store(self.moved, Ordering::Relaxed);
    }

    fn done(&self, end: HopEnd) -> Step {
        Step::Done(Ok(HopOutcome {
            bytes_moved: self.moved,
            end,
        }))
    }

    /// Move up to a turn's worth of chunks.
    pub(crate) fn step(&mut self, pool: &mut BufferPool) -> Step {
        for _ in 0..TURN_BUDGET {
            // Checked before every chunk: a cancel takes effect within one.
            if self.shared.cancel.load(Ordering::Relaxed) {
                return self.done(HopEnd::Cancelled);
            }
            if self.sink_gone {
                return self.done(HopEnd::DownstreamClosed);
            }
            if self.pending.is_some() {
                if let Some(step) = self.write_pending(pool) {
                    return step;
                }
                continue;
            }
            if !(self.source_ready && self.sink_ready) {
                return Step::Wait;
            }
            let next = if self.splicing {
                self.splice_chunk()
            } else {
                self.read_chunk(pool)
            };
            if let Some(step) = next {
                return step;
            }
        }
        Step::Again
    }

    /// Write (more of) the pending chunk; `Some` ends the turn.
    fn write_pending(&mut self, pool: &mut BufferPool) -> Option<Step> {
        if !self.sink_ready {
            return Some(Step::Wait);
        }
        let chunk = self.pending.as_mut()?;
        match sys::write(self.sink.as_fd(), &chunk.buffer[chunk.written..]) {
            Ok(n) => {
                chunk.written += n;
                let finished = chunk.written == chunk.buffer.len();
                self.add_moved(n);
                if finished {
                    if let Some(chunk) = self.pending.take() {
                        pool.give(chunk.buffer);
                    }
                } else if self.sink_watched {
                    // A short write to a pipe filled it: wait for room.
                    self.sink_ready = false;
                }
                None
            }
            Err(error) => self.write_failed(&error),
        }
    }

    fn write_failed(&mut self, error: &io::Error) -> Option<Step> {
        match error.kind() {
            io::ErrorKind::Interrupted => None,
            io::ErrorKind::WouldBlock => {
                self.sink_ready = !self.sink_watched;
                Some(Step::Wait)
            }
            _ if is_downstream_closed(error) => {
                // SIGPIPE is blocked on this thread; take the one EPIPE left.
                sys::consume_pending_sigpipe();
                Some(self.done(HopEnd::DownstreamClosed))
            }
            _ => Some(Step::Done(Err(HopError::from_io(error)))),
        }
    }

    /// Read one chunk; it becomes the pending chunk. `Some` ends the turn.
    fn read_chunk(&mut self, pool: &mut BufferPool) -> Option<Step> {
        let mut buffer = match pool.take(self.config.buffer_size) {
            Ok(buffer) => buffer,
            Err(error) => return Some(Step::Done(Err(error.into()))),
        };
        let room = &mut buffer.spare_capacity_mut()[..self.config.buffer_size];
        // SAFETY: `room` is valid for `room.len()` bytes; read(2) writes
        // (initialises) exactly the `n` bytes it reports.
        let read = unsafe {
            libc::read(
                std::os::fd::AsRawFd::as_raw_fd(&self.source),
                room.as_mut_ptr().cast(),
                room.len(),
            )
        };
        let Ok(n) = usize::try_from(read) else {
            let error = io::Error::last_os_error();
            pool.give(buffer);
            return match error.kind() {
                io::ErrorKind::Interrupted => None,
                io::ErrorKind::WouldBlock => {
                    self.source_ready = !self.source_watched;
                    Some(Step::Wait)
                }
                _ => Some(Step::Done(Err(HopError::from_io(&error)))),
            };
        };
        if n == 0 {
            pool.give(buffer);
            return Some(self.done(HopEnd::Eof));
        }
        // SAFETY: the first `n` bytes were just initialised by read(2).
        unsafe { buffer.set_len(n) };
        self.pending = Some(Chunk { buffer, written: 0 });
        None
    }

    /// Splice one chunk, pipe to pipe. `Some` ends the turn.
    fn splice_chunk(&mut self) -> Option<Step> {
        match sys::splice(
            self.source.as_fd(),
            self.sink.as_fd(),
            self.config.buffer_size,
        ) {
            Ok(0) => Some(self.done(HopEnd::Eof)),
            Ok(n) => {
                self.add_moved(n);
                None
            }
            Err(error) => match error.raw_os_error() {
                Some(libc::EINVAL) if self.moved == 0 => {
                    self.splicing = false; // not two pipes: copy instead
                    None
                }
                Some(libc::EAGAIN) => Some(self.splice_blocked()),
                _ => self.write_failed(&error),
            },
        }
    }

    /// `splice` said `EAGAIN`: find out which side is not ready.
    fn splice_blocked(&mut self) -> Step {
        let source = sys::poll_now(self.source.as_fd(), libc::POLLIN);
        let sink = sys::poll_now(self.sink.as_fd(), libc::POLLOUT);
        match (source, sink) {
            (Ok(source), Ok(sink)) => {
                if sink & (libc::POLLERR | libc::POLLHUP) != 0 {
                    return self.done(HopEnd::DownstreamClosed);
                }
                let source_ready = source & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
                let sink_ready = sink & libc::POLLOUT != 0;
                self.source_ready = source_ready || !self.source_watched;
                self.sink_ready = sink_ready || !self.sink_watched;
                if source_ready && sink_ready {
                    Step::Again // it changed meanwhile: try again next turn
                } else {
                    Step::Wait
                }
            }
            (Err(error), _) | (_, Err(error)) => Step::Done(Err(HopError::from_io(&error))),
        }
    }
}
