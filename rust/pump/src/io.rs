//! Thin, safe wrappers over the few system calls the pump needs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Readiness a caller waits for on a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Data to read, or the writer's end of the pipe closed.
    Read,
    /// Room to write.
    Write,
    /// Nothing but errors and hang-ups (always reported by `poll`).
    ErrorsOnly,
}

/// What `poll` saw on one descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub error_or_hangup: bool,
}

/// Wait until one of `fds` is ready; retries on `EINTR`.
pub fn poll(fds: &[(BorrowedFd<'_>, Interest)]) -> io::Result<Vec<Readiness>> {
    let mut raw: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, interest)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: match interest {
                Interest::Read => libc::POLLIN,
                Interest::Write => libc::POLLOUT,
                Interest::ErrorsOnly => 0,
            },
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `raw` is a valid, initialised array of `raw.len()` pollfds.
        let n = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, -1) };
        if n >= 0 {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(raw
        .iter()
        .map(|p| Readiness {
            ready: p.revents & (p.events | libc::POLLHUP) != 0,
            error_or_hangup: p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0,
        })
        .collect())
}

/// `InvalidInput` unless `buffer_size` is positive (shared by pump and consume).
pub fn check_buffer_size(buffer_size: usize) -> io::Result<()> {
    if buffer_size == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "buffer_size must be positive",
        ));
    }
    Ok(())
}

/// Put `fd` in non-blocking mode.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on a borrowed, open descriptor with integer arguments.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `read(2)` into `buf`; `Ok(0)` is end of file.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` writable bytes.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `read(2)` into the spare capacity of `buf`, extending its length; `Ok(0)`
/// is end of file.
pub fn read_into(fd: BorrowedFd<'_>, buf: &mut Vec<u8>) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    // SAFETY: `spare` is valid for `spare.len()` writable bytes; read(2)
    // initialises exactly the `n` bytes it reports.
    let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the first `n` spare bytes were just initialised by read(2).
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// `write(2)` from `buf`; returns how much was written.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` readable bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `splice(2)` up to `len` bytes from `from` to `to` (one must be a pipe).
#[cfg(target_os = "linux")]
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    // SAFETY: null offsets are valid for pipes; the descriptors are open.
    let n = unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
