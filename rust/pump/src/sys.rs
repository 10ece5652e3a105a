//! Thin, safe wrappers over the system calls the runtime needs (Linux).
//!
//! Every wrapper retries nothing and hides nothing: it returns the raw
//! result as `io::Result`, and its caller decides what `EINTR`, `EAGAIN` or
//! `EPIPE` mean in its state.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn check_size(n: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `write(2)` from `buf`; returns how much was written.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` readable bytes.
    check_size(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
}

/// Non-blocking `splice(2)` of up to `len` bytes from `from` to `to`.
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    // SAFETY: null offsets are valid for pipes; both descriptors are open.
    check_size(unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    })
}

/// Put `fd` in non-blocking mode (a property of the open file description).
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on an open descriptor with integer arguments.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    }
    Ok(())
}

/// Readiness now, without waiting: `(readable, writable)` per `poll(2)`.
pub fn poll_now(fd: BorrowedFd<'_>, events: libc::c_short) -> io::Result<libc::c_short> {
    let mut entry = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    check(unsafe { libc::poll(&raw mut entry, 1, 0) })?;
    Ok(entry.revents)
}

/// A new close-on-exec, non-blocking eventfd.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes integer arguments and returns a new descriptor.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: `fd` is fresh and owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Add one to an eventfd's counter (it stays readable until drained).
pub fn eventfd_signal(fd: BorrowedFd<'_>) {
    let one: u64 = 1;
    // SAFETY: writes 8 readable bytes. The only possible failure is EAGAIN
    // when the counter is saturated, which leaves it readable anyway.
    unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
}

/// Reset an eventfd's counter to zero; nothing happens if it already is.
pub fn eventfd_drain(fd: BorrowedFd<'_>) {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into `value`. EAGAIN (already zero) is fine.
    unsafe { libc::read(fd.as_raw_fd(), (&raw mut value).cast(), 8) };
}

/// A new close-on-exec epoll instance.
pub fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: returns a new descriptor or -1.
    let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: `fd` is fresh and owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Register `fd` with `epoll` for `events`, tagged with `data`.
pub fn epoll_add(
    epoll: BorrowedFd<'_>,
    fd: BorrowedFd<'_>,
    events: u32,
    data: u64,
) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: data };
    // SAFETY: both descriptors are open; `event` is valid for the call.
    check(unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &raw mut event,
        )
    })
    .map(drop)
}

/// Remove `fd` from `epoll` (before it is closed).
pub fn epoll_delete(epoll: BorrowedFd<'_>, fd: RawFd) {
    // SAFETY: a null event is allowed for EPOLL_CTL_DEL. A descriptor that
    // was never added fails with ENOENT, which is harmless here.
    unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd,
            std::ptr::null_mut(),
        )
    };
}

/// Wait for events; `Ok(0)` on timeout or `EINTR`.
pub fn epoll_wait(
    epoll: BorrowedFd<'_>,
    events: &mut [libc::epoll_event],
    timeout_ms: libc::c_int,
) -> io::Result<usize> {
    let capacity = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `events` has room for `capacity` entries.
    let n =
        unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), capacity, timeout_ms) };
    if n < 0 {
        let error = io::Error::last_os_error();
        return if error.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(error)
        };
    }
    Ok(n.unsigned_abs() as usize)
}

/// This process's id (a system call: never cached, so right after `fork`).
pub fn getpid() -> libc::pid_t {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

fn sigpipe_set() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value to initialise.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe {
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGPIPE);
    }
    set
}

/// Block SIGPIPE on the calling thread, so a write to a pipe whose readers
/// left fails with `EPIPE` and raises nothing, whatever the process's
/// disposition.
pub fn block_sigpipe() -> io::Result<()> {
    let set = sigpipe_set();
    // SAFETY: `set` is valid; a null old set is allowed.
    let rc =
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Take a SIGPIPE left pending on this thread by a failed write, if any.
pub fn consume_pending_sigpipe() {
    let set = sigpipe_set();
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid set and timeout; a null siginfo is allowed. Returns -1
    // with EAGAIN when nothing is pending, which is the usual case.
    unsafe { libc::sigtimedwait(&raw const set, std::ptr::null_mut(), &raw const zero) };
}

/// Whether SIGPIPE is blocked on the calling thread.
#[cfg(test)]
pub fn sigpipe_blocked() -> bool {
    // SAFETY: as in `sigpipe_set`.
    let mut current: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a null new set only queries the mask.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &raw mut current);
        libc::sigismember(&raw const current, libc::SIGPIPE) == 1
    }
}
