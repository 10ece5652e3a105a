//! The hop runtime: a few worker threads, each moving many hops with one
//! edge-triggered epoll instance, instead of a thread per hop.
//!
//! * **Threads.** One worker per core, at most [`MAX_WORKERS`], started on
//!   the first hop and kept for the life of the process. A new hop goes to
//!   the worker with the fewest. However many hops run, the threads stay
//!   that many.
//! * **Ownership.** A hop owns its two descriptors from [`start_hop`] on;
//!   its worker removes them from epoll and closes them when the hop ends,
//!   before the hop's notifier hears of it. Nothing here ever needs the
//!   caller (or its event loop) to make progress or to clean up.
//! * **Signals.** Workers block SIGPIPE, so a write to a pipe whose reader
//!   left fails with `EPIPE` and never kills the process, whatever its
//!   disposition; the pending SIGPIPE left on the thread is consumed.
//! * **Panics.** A panic while moving a hop fails that hop
//!   ([`HopError::Internal`]) and closes its descriptors; the worker goes on.
//! * **Start.** [`start_runtime`] (and the first hop) returns only once
//!   every worker thread has settled its own state: SIGPIPE blocked, its
//!   thread-local storage set up and its first allocation made (which gives
//!   it its allocator arena). A caller that limits memory right after, with
//!   `RLIMIT_AS` say, sees no thread still growing or shrinking the process.
//! * **Fork.** The runtime remembers the process id that started it; a
//!   forked child (whose copy has no threads) starts a fresh runtime on its
//!   first hop. Hops started before the fork are not moved in the child.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use crate::alloc::{reserve_one, BufferPool, OutOfMemory, Shared};
use crate::hop::{HopConfig, HopError, HopHandle, HopResult, HopShared, HopState, Side, Step};
use crate::notify::{Notifier, NotifierInner};
use crate::sys;

/// Most worker threads, whatever the number of cores.
pub const MAX_WORKERS: usize = 8;

/// Events taken from epoll per wait.
const EVENTS: usize = 256;

/// Idle buffers each worker keeps for reuse.
const IDLE_BUFFERS: usize = 2;

/// Hop slots a worker makes room for as it starts.
const FIRST_SLOTS: usize = 16;

const WAKE: u64 = u64::MAX;
const SINK_BIT: u64 = 1 << 63;

/// Why a hop could not be started. Its descriptors are closed.
#[derive(Debug)]
pub enum StartError {
    /// Memory for its bookkeeping could not be allocated.
    OutOfMemory,
    /// A system call failed (creating the runtime, or configuring a descriptor).
    Os(io::Error),
}

impl From<OutOfMemory> for StartError {
    fn from(_: OutOfMemory) -> Self {
        Self::OutOfMemory
    }
}

impl From<io::Error> for StartError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::OutOfMemory {
            Self::OutOfMemory
        } else {
            Self::Os(error)
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutOfMemory => f.write_str("out of memory"),
            Self::Os(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A hop on its way to a worker.
struct NewHop {
    shared: Shared<HopShared>,
    notifier: Shared<NotifierInner>,
    source: OwnedFd,
    sink: OwnedFd,
    config: HopConfig,
}

/// What a worker shares with the threads that give it hops.
struct WorkerShared {
    wake: Shared<OwnedFd>,
    inbox: Mutex<Vec<NewHop>>,
    hops: AtomicUsize,
    alive: AtomicBool,
    /// True once the thread has settled (or ended); see [`Worker::settle`].
    settled: Mutex<bool>,
    settling: Condvar,
}

impl WorkerShared {
    fn inbox(&self) -> MutexGuard<'_, Vec<NewHop>> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mark_settled(&self) {
        *self.settled.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.settling.notify_all();
    }

    fn wait_settled(&self) {
        let mut settled = self.settled.lock().unwrap_or_else(PoisonError::into_inner);
        while !*settled {
            settled = self
                .settling
                .wait(settled)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

struct Runtime {
    pid: libc::pid_t,
    workers: Vec<Shared<WorkerShared>>,
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// How many worker threads a runtime of this machine has.
#[must_use]
pub fn worker_count() -> usize {
    thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, MAX_WORKERS)
}

/// Start the runtime now if it is not running (it starts on the first hop
/// otherwise); returns its worker count.
///
/// # Errors
///
/// [`StartError`] when its threads or descriptors cannot be created.
pub fn start_runtime() -> Result<usize, StartError> {
    pick_worker()?;
    Ok(running_workers())
}

/// Threads the runtime of this process runs now (0 before the first hop).
#[must_use]
pub fn running_workers() -> usize {
    let runtime = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    runtime.as_ref().map_or(0, |runtime| {
        if runtime.pid == sys::getpid() {
            runtime
                .workers
                .iter()
                .filter(|worker| worker.alive.load(Ordering::SeqCst))
                .count()
        } else {
            0
        }
    })
}

/// Start moving bytes from `source` to `sink`; the hop owns both from now on
/// and closes them when it ends. `notifier` hears when it has finished.
///
/// # Errors
///
/// [`StartError`] when the runtime cannot start, a descriptor cannot be made
/// non-blocking, or memory runs out; both descriptors are closed then too.
pub fn start_hop(
    source: OwnedFd,
    sink: OwnedFd,
    config: HopConfig,
    notifier: &Notifier,
) -> Result<HopHandle, StartError> {
    sys::set_nonblocking(source.as_fd())?;
    sys::set_nonblocking(sink.as_fd())?;
    let worker = pick_worker()?;
    let notifier = notifier.share();
    notifier.reserve()?;
    let shared = Shared::try_new(HopShared {
        token: NEXT_TOKEN.fetch_add(1, Ordering::Relaxed),
        bytes_moved: AtomicU64::new(0),
        cancel: AtomicBool::new(false),
        result: Mutex::new(None),
        wake: worker.wake.clone(),
    });
    let shared = match shared {
        Ok(shared) => shared,
        Err(error) => {
            notifier.unreserve();
            return Err(error.into());
        }
    };
    {
        let mut inbox = worker.inbox();
        if let Err(error) = reserve_one(&mut inbox) {
            drop(inbox);
            notifier.unreserve();
            return Err(error.into());
        }
        inbox.push(NewHop {
            shared: shared.clone(),
            notifier,
            source,
            sink,
            config,
        });
    }
    worker.hops.fetch_add(1, Ordering::Relaxed);
    sys::eventfd_signal(worker.wake.as_fd());
    Ok(HopHandle { shared })
}

/// The least busy live worker of this process's runtime, starting (or
/// restarting, after a fork) the runtime if need be.
fn pick_worker() -> Result<Shared<WorkerShared>, StartError> {
    let mut runtime = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = sys::getpid();
    if let Some(current) = runtime.as_ref() {
        if current.pid == pid {
            let least = current
                .workers
                .iter()
                .filter(|worker| worker.alive.load(Ordering::SeqCst))
                .min_by_key(|worker| worker.hops.load(Ordering::Relaxed));
            if let Some(worker) = least {
                return Ok(worker.clone());
            }
        }
    }
    // None yet, a forked child's copy (its threads did not survive the
    // fork: leave it alone, its locks may be held), or every worker gone.
    let fresh = Runtime::start(pid)?;
    let worker = fresh.workers[0].clone();
    if let Some(old) = runtime.replace(fresh) {
        std::mem::forget(old);
    }
    Ok(worker)
}

impl Runtime {
    fn start(pid: libc::pid_t) -> Result<Self, StartError> {
        let count = worker_count();
        let mut workers = Vec::new();
        workers
            .try_reserve_exact(count)
            .map_err(OutOfMemory::from)?;
        for index in 0..count {
            match Worker::spawn(index) {
                Ok(worker) => workers.push(worker),
                // Fewer workers than cores still work; none does not.
                Err(error) if workers.is_empty() => return Err(error),
                Err(_) => break,
            }
        }
        Ok(Self { pid, workers })
    }
}

/// Marks the worker dead however its thread ends.
struct AliveGuard(Shared<WorkerShared>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::SeqCst);
        // A thread that ends before settling must not strand its spawner.
        self.0.mark_settled();
    }
}

struct Slot {
    generation: u32,
    hop: Option<HopState>,
    queued: bool,
}

/// A worker thread's own state.
struct Worker {
    shared: Shared<WorkerShared>,
    epoll: OwnedFd,
    events: Vec<libc::epoll_event>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    ready: std::collections::VecDeque<usize>,
    pool: BufferPool,
}

fn key(index: usize, generation: u32, side: Side) -> u64 {
    let side = if side == Side::Sink { SINK_BIT } else { 0 };
    side | (u64::from(generation) << 32) | index as u64
}

fn unkey(key: u64) -> (usize, u32, Side) {
    let side = if key & SINK_BIT == 0 {
        Side::Source
    } else {
        Side::Sink
    };
    #[allow(clippy::cast_possible_truncation)] // masked to 31 and 32 bits
    let generation = ((key & !SINK_BIT) >> 32) as u32;
    #[allow(clippy::cast_possible_truncation)]
    let index = (key & 0xffff_ffff) as usize;
    (index, generation, side)
}

impl Worker {
    /// Create the worker's resources here, so a failure is the caller's
    /// error, then start its thread.
    fn spawn(index: usize) -> Result<Shared<WorkerShared>, StartError> {
        let epoll = sys::epoll_create()?;
        let wake = Shared::try_new(sys::eventfd()?)?;
        sys::epoll_add(epoll.as_fd(), wake.as_fd(), libc::EPOLLIN as u32, WAKE)?;
        let shared = Shared::try_new(WorkerShared {
            wake,
            inbox: Mutex::new(Vec::new()),
            hops: AtomicUsize::new(0),
            alive: AtomicBool::new(true),
            settled: Mutex::new(false),
            settling: Condvar::new(),
        })?;
        let mut events = Vec::new();
        events
            .try_reserve_exact(EVENTS)
            .map_err(OutOfMemory::from)?;
        events.resize(EVENTS, libc::epoll_event { events: 0, u64: 0 });
        let worker = Self {
            shared: shared.clone(),
            epoll,
            events,
            slots: Vec::new(),
            free: Vec::new(),
            ready: std::collections::VecDeque::new(),
            pool: BufferPool::try_new(IDLE_BUFFERS)?,
        };
        let guard = AliveGuard(shared.clone());
        thread::Builder::new()
            .name(format!("cuprum-pump-{index}"))
            .spawn(move || {
                let _guard = guard;
                worker.run();
            })
            .map_err(|error| match error.raw_os_error() {
                Some(libc::EAGAIN | libc::ENOMEM) => StartError::OutOfMemory,
                _ => StartError::Os(error),
            })?;
        shared.wait_settled();
        Ok(shared)
    }

    /// Set up what belongs to this thread before anyone relies on it: block
    /// SIGPIPE and make room for the first hops here, so the thread's
    /// allocator arena exists (std set up its thread-local storage before
    /// `run`). Nothing here is required: a failure shows up later, per hop.
    fn settle(&mut self) {
        // Failing to block SIGPIPE is not expected; writes would still fail
        // with EPIPE where the disposition ignores it.
        let _ = sys::block_sigpipe();
        let _ = self.slots.try_reserve_exact(FIRST_SLOTS);
        let _ = self.free.try_reserve_exact(FIRST_SLOTS);
        let _ = self.ready.try_reserve_exact(FIRST_SLOTS);
    }

    fn run(mut self) {
        self.settle();
        self.shared.mark_settled();
        loop {
            // A panic here would otherwise strand every hop: fail them all.
            if catch_unwind(AssertUnwindSafe(|| self.turn())).is_err() {
                self.fail_all();
            }
        }
    }

    /// Wait for events (not at all if hops are ready), then run the ready hops.
    fn turn(&mut self) {
        let timeout = if self.ready.is_empty() { -1 } else { 0 };
        let count = match sys::epoll_wait(self.epoll.as_fd(), &mut self.events, timeout) {
            Ok(count) => count,
            Err(_) => {
                // Not expected (the epoll descriptor is ours); do not spin.
                thread::sleep(std::time::Duration::from_millis(10));
                0
            }
        };
        let mut woken = false;
        for index in 0..count {
            let event = self.events[index];
            let (data, bits) = (event.u64, event.events);
            if data == WAKE {
                woken = true;
            } else {
                self.note(data, bits);
            }
        }
        if woken {
            sys::eventfd_drain(self.shared.wake.as_fd());
            self.accept();
            self.queue_cancelled();
        }
        for _ in 0..self.ready.len() {
            let Some(index) = self.ready.pop_front() else {
                break;
            };
            self.run_hop(index);
        }
    }

    fn note(&mut self, data: u64, bits: u32) {
        let (index, generation, side) = unkey(data);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        if slot.generation != generation {
            return; // an event for a hop that has ended since
        }
        if let Some(hop) = slot.hop.as_mut() {
            hop.note(side, bits);
            if !slot.queued {
                slot.queued = true;
                self.ready.push_back(index); // room reserved in `accept`
            }
        }
    }

    fn queue(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if !slot.queued {
            slot.queued = true;
            self.ready.push_back(index);
        }
    }

    /// Take the hops handed over since the last wake-up.
    fn accept(&mut self) {
        let arrived = std::mem::take(&mut *self.shared.inbox());
        for new in arrived {
            self.adopt(new);
        }
    }

    fn adopt(&mut self, new: NewHop) {
        let NewHop {
            shared,
            notifier,
            source,
            sink,
            config,
        } = new;
        let mut hop = HopState::new(shared, notifier, source, sink, config);
        let index = match self.slot_for_new() {
            Ok(index) => index,
            Err(error) => return self.finish_state(hop, Err(error.into())),
        };
        let generation = self.slots[index].generation;
        let source_watch = sys::epoll_add(
            self.epoll.as_fd(),
            hop.source.as_fd(),
            (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            key(index, generation, Side::Source),
        );
        let sink_watch = sys::epoll_add(
            self.epoll.as_fd(),
            hop.sink.as_fd(),
            (libc::EPOLLOUT | libc::EPOLLET) as u32,
            key(index, generation, Side::Sink),
        );
        // EPERM: a descriptor epoll cannot watch (a regular file) is always
        // ready; anything else fails the hop.
        hop.source_watched = source_watch.is_ok();
        hop.sink_watched = sink_watch.is_ok();
        for watch in [source_watch, sink_watch] {
            if let Err(error) = watch {
                if error.raw_os_error() != Some(libc::EPERM) {
                    let failed = Err(HopError::Os(error.raw_os_error().unwrap_or(libc::EIO)));
                    self.free.push(index); // room reserved in `slot_for_new`
                    return self.finish_state(hop, failed);
                }
            }
        }
        let slot = &mut self.slots[index];
        slot.hop = Some(hop);
        slot.queued = false;
        self.queue(index);
    }

    /// A free slot, with room in `ready` and `free` for it; or `OutOfMemory`.
    fn slot_for_new(&mut self) -> Result<usize, OutOfMemory> {
        self.ready.try_reserve(self.slots.len() + 1)?;
        if let Some(index) = self.free.pop() {
            return Ok(index);
        }
        reserve_one(&mut self.slots)?;
        self.free.try_reserve(self.slots.len() + 1)?;
        self.slots.push(Slot {
            generation: 0,
            hop: None,
            queued: false,
        });
        Ok(self.slots.len() - 1)
    }

    fn queue_cancelled(&mut self) {
        for index in 0..self.slots.len() {
            let cancelled = self.slots[index]
                .hop
                .as_ref()
                .is_some_and(|hop| hop.shared.cancel.load(Ordering::Relaxed));
            if cancelled {
                self.queue(index);
            }
        }
    }

    fn run_hop(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.queued = false;
        let Some(hop) = slot.hop.as_mut() else {
            return;
        };
        let pool = &mut self.pool;
        let step = catch_unwind(AssertUnwindSafe(|| hop.step(pool)))
            .unwrap_or(Step::Done(Err(HopError::Internal)));
        match step {
            Step::Wait => {}
            Step::Again => self.queue(index),
            Step::Done(result) => self.finish(index, result),
        }
    }

    /// End the hop in slot `index`: unwatch and close its descriptors, then
    /// publish the result and tell its notifier.
    fn finish(&mut self, index: usize, result: HopResult) {
        let slot = &mut self.slots[index];
        let Some(hop) = slot.hop.take() else {
            return;
        };
        slot.generation = slot.generation.wrapping_add(1) & 0x7fff_ffff;
        slot.queued = false;
        self.free.push(index); // room reserved in `slot_for_new`
        self.finish_state(hop, result);
    }

    fn finish_state(&mut self, mut hop: HopState, result: HopResult) {
        let epoll = self.epoll.as_fd();
        if hop.source_watched {
            sys::epoll_delete(epoll, hop.source.as_raw_fd());
        }
        if hop.sink_watched {
            sys::epoll_delete(epoll, hop.sink.as_raw_fd());
        }
        hop.release(&mut self.pool);
        let moved = hop.moved();
        let result = result.map(|mut outcome| {
            outcome.bytes_moved = moved;
            outcome
        });
        let HopState {
            shared,
            notifier,
            source,
            sink,
            ..
        } = hop;
        // Source first: the producer learns at once that nobody reads.
        drop(source);
        drop(sink);
        shared.bytes_moved.store(moved, Ordering::Relaxed);
        *shared.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        self.shared.hops.fetch_sub(1, Ordering::Relaxed);
        notifier.complete(shared.token);
    }

    /// After a panic outside any one hop: fail every hop this worker holds.
    fn fail_all(&mut self) {
        self.ready.clear();
        for index in 0..self.slots.len() {
            self.finish(index, Err(HopError::Internal));
        }
        let orphans = std::mem::take(&mut *self.shared.inbox());
        for new in orphans {
            let hop = HopState::new(new.shared, new.notifier, new.source, new.sink, new.config);
            self.finish_state(hop, Err(HopError::Internal));
        }
    }
}

/// Wait (blocking, for tests and simple callers) until `notifier` is readable.
///
/// # Errors
///
/// The `poll(2)` error.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout_ms: libc::c_int) -> io::Result<bool> {
    let mut entry = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&raw mut entry, 1, timeout_ms) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}
