//! Move bytes from one descriptor to another until end of file, an early
//! close downstream, or cancellation.
//!
//! On Linux the pump first tries `splice(2)`, which moves pages between
//! pipes inside the kernel; when the descriptors do not allow it (`EINVAL`
//! on the first call: neither is a pipe) it falls back to `read`/`write`
//! through a buffer. Both paths wait with `poll(2)` rather than spinning,
//! retry `EINTR`, and watch three things at once: the data, the writer's
//! error state (a pipe whose readers all left reports `POLLERR`, so an early
//! close is noticed even while no data flows) and an optional cancel
//! descriptor (readable means stop now).
//!
//! On an early close the pump stops reading at once and returns
//! [`PumpEnd::DownstreamClosed`]: the caller closes the read end, and the
//! producer gets `SIGPIPE` on its next write, exactly as in a shell. An
//! endless producer is never drained.

use std::io;
use std::os::fd::BorrowedFd;

use crate::io::{check_buffer_size, poll, read, set_nonblocking, write, Interest};

/// Why a pump stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// The reader reached end of file and everything read was written.
    Eof,
    /// The writer's reader went away (`EPIPE`, `ECONNRESET` or `POLLERR`).
    DownstreamClosed,
    /// The cancel descriptor became readable.
    Cancelled,
}

/// What a pump did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PumpOutcome {
    /// Bytes written to the writer.
    pub bytes: u64,
    /// Why it stopped.
    pub end: PumpEnd,
    /// Whether the bytes went through `splice(2)` (false: read/write).
    pub spliced: bool,
}

/// Move bytes from `reader` to `writer` in chunks of up to `buffer_size`.
///
/// Neither descriptor is closed; both are switched to non-blocking mode.
///
/// # Errors
///
/// `InvalidInput` when `buffer_size` is zero; otherwise the first I/O error
/// other than `EINTR`, `EAGAIN`, `EPIPE` and `ECONNRESET`.
pub fn pump(
    reader: BorrowedFd<'_>,
    writer: BorrowedFd<'_>,
    buffer_size: usize,
    cancel: Option<BorrowedFd<'_>>,
) -> io::Result<PumpOutcome> {
    check_buffer_size(buffer_size)?;
    set_nonblocking(reader)?;
    set_nonblocking(writer)?;
    let waiter = Waiter {
        reader,
        writer,
        cancel,
    };
    #[cfg(target_os = "linux")]
    if let Some(outcome) = splice_loop(&waiter, buffer_size)? {
        return Ok(outcome);
    }
    copy_loop(&waiter, buffer_size)
}

/// Waits for readiness while watching for an early close and cancellation.
struct Waiter<'fd> {
    reader: BorrowedFd<'fd>,
    writer: BorrowedFd<'fd>,
    cancel: Option<BorrowedFd<'fd>>,
}

impl Waiter<'_> {
    /// Wait for data (or EOF) on the reader. `Some(end)` means stop.
    fn readable(&self) -> io::Result<Option<PumpEnd>> {
        let mut fds = vec![
            (self.reader, Interest::Read),
            (self.writer, Interest::ErrorsOnly),
        ];
        fds.extend(self.cancel.map(|fd| (fd, Interest::Read)));
        let seen = poll(&fds)?;
        if seen.get(2).is_some_and(|cancel| cancel.ready) {
            return Ok(Some(PumpEnd::Cancelled));
        }
        if seen[1].error_or_hangup {
            return Ok(Some(PumpEnd::DownstreamClosed));
        }
        Ok(None)
    }

    /// Wait for room on the writer. `Some(end)` means stop.
    fn writable(&self) -> io::Result<Option<PumpEnd>> {
        let mut fds = vec![(self.writer, Interest::Write)];
        fds.extend(self.cancel.map(|fd| (fd, Interest::Read)));
        let seen = poll(&fds)?;
        if seen.get(1).is_some_and(|cancel| cancel.ready) {
            return Ok(Some(PumpEnd::Cancelled));
        }
        if seen[0].error_or_hangup {
            return Ok(Some(PumpEnd::DownstreamClosed));
        }
        Ok(None)
    }
}

fn is_downstream_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

/// The zero-copy path. `Ok(None)` means splice is not possible here.
#[cfg(target_os = "linux")]
fn splice_loop(waiter: &Waiter<'_>, chunk: usize) -> io::Result<Option<PumpOutcome>> {
    use crate::io::splice;

    let mut bytes: u64 = 0;
    let done = |bytes, end| {
        Ok(Some(PumpOutcome {
            bytes,
            end,
            spliced: true,
        }))
    };
    loop {
        match splice(waiter.reader, waiter.writer, chunk) {
            Ok(0) => return done(bytes, PumpEnd::Eof),
            Ok(n) => bytes += n as u64,
            Err(error) => match error.raw_os_error() {
                Some(libc::EINVAL) if bytes == 0 => return Ok(None),
                Some(libc::EINTR) => {}
                Some(libc::EAGAIN) => {
                    // Either side may be the one not ready: wait for both.
                    if let Some(end) = waiter.readable()? {
                        return done(bytes, end);
                    }
                    if let Some(end) = waiter.writable()? {
                        return done(bytes, end);
                    }
                }
                _ if is_downstream_closed(&error) => return done(bytes, PumpEnd::DownstreamClosed),
                _ => return Err(error),
            },
        }
    }
}

/// The portable path: read into a buffer, write it all out, repeat.
fn copy_loop(waiter: &Waiter<'_>, chunk: usize) -> io::Result<PumpOutcome> {
    let mut buffer = vec![0_u8; chunk];
    let mut bytes: u64 = 0;
    let done = |bytes, end| {
        Ok(PumpOutcome {
            bytes,
            end,
            spliced: false,
        })
    };
    loop {
        let filled = match read(waiter.reader, &mut buffer) {
            Ok(0) => return done(bytes, PumpEnd::Eof),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if let Some(end) = waiter.readable()? {
                    return done(bytes, end);
                }
                continue;
            }
            Err(error) => return Err(error),
        };
        let mut written = 0;
        while written < filled {
            match write(waiter.writer, &buffer[written..filled]) {
                Ok(n) => {
                    written += n;
                    bytes += n as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if let Some(end) = waiter.writable()? {
                        return done(bytes, end);
                    }
                }
                Err(error) if is_downstream_closed(&error) => {
                    return done(bytes, PumpEnd::DownstreamClosed)
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{pipe, Rng};
    use std::io::{Read, Write};
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::net::UnixStream;
    use std::thread;
    use std::time::{Duration, Instant};

    fn still_open(fd: BorrowedFd<'_>) -> bool {
        // SAFETY: F_GETFD on a borrowed descriptor only reads its flags.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) >= 0 }
    }

    /// Run a pump from a fresh upstream pipe to a fresh downstream pipe.
    fn pump_through_pipes(payload: Vec<u8>, buffer_size: usize) -> (PumpOutcome, Vec<u8>) {
        let (up_reader, mut up_writer) = pipe();
        let (down_reader, down_writer) = pipe();
        let producer = thread::spawn(move || {
            up_writer.write_all(&payload).unwrap();
        });
        let consumer = thread::spawn(move || {
            let mut received = Vec::new();
            let mut down_reader = down_reader;
            down_reader.read_to_end(&mut received).unwrap();
            received
        });
        let outcome = pump(up_reader.as_fd(), down_writer.as_fd(), buffer_size, None).unwrap();
        assert!(still_open(up_reader.as_fd()) && still_open(down_writer.as_fd()));
        drop(down_writer);
        producer.join().unwrap();
        (outcome, consumer.join().unwrap())
    }

    #[test]
    fn an_empty_stream_ends_at_eof_with_nothing_moved() {
        let (outcome, received) = pump_through_pipes(Vec::new(), 65536);
        assert_eq!(outcome.end, PumpEnd::Eof);
        assert_eq!(outcome.bytes, 0);
        assert!(received.is_empty());
    }

    /// Property: every byte arrives, in order, for random payloads and
    /// buffer sizes, and the count is exact.
    #[test]
    fn pipes_are_spliced_byte_for_byte_at_any_buffer_size() {
        let mut rng = Rng::new(42);
        for buffer_size in [1, 7, 4096, 65536, 1 << 20] {
            let len = rng.below(300_000);
            let payload: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            let (outcome, received) = pump_through_pipes(payload.clone(), buffer_size);
            assert_eq!(outcome.end, PumpEnd::Eof);
            assert!(outcome.spliced, "pipe to pipe uses splice");
            assert_eq!(outcome.bytes, payload.len() as u64);
            assert_eq!(received, payload, "buffer size {buffer_size}");
        }
    }

    #[test]
    fn sockets_fall_back_to_read_and_write() {
        let (mut source_peer, source) = UnixStream::pair().unwrap();
        let (sink, mut sink_peer) = UnixStream::pair().unwrap();
        let payload: Vec<u8> = (0..200_000_u32).map(|i| (i % 251) as u8).collect();
        let sent = payload.clone();
        let producer = thread::spawn(move || {
            source_peer.write_all(&sent).unwrap();
        });
        let consumer = thread::spawn(move || {
            let mut received = Vec::new();
            sink_peer.read_to_end(&mut received).unwrap();
            received
        });
        let outcome = pump(source.as_fd(), sink.as_fd(), 4096, None).unwrap();
        producer.join().unwrap();
        drop(sink);
        assert_eq!(outcome.end, PumpEnd::Eof);
        assert!(!outcome.spliced);
        assert_eq!(consumer.join().unwrap(), payload);
    }

    #[test]
    fn an_early_close_downstream_stops_an_endless_producer() {
        let (up_reader, mut up_writer) = pipe();
        let (down_reader, down_writer) = pipe();
        let producer = thread::spawn(move || {
            let chunk = [b'y'; 4096];
            // Ends with EPIPE once the pump stops reading and closes its end.
            while up_writer.write_all(&chunk).is_ok() {}
        });
        let consumer = thread::spawn(move || {
            let mut first = [0_u8; 10];
            let mut down_reader = down_reader;
            down_reader.read_exact(&mut first).unwrap();
            first
        });
        let outcome = pump(up_reader.as_fd(), down_writer.as_fd(), 65536, None).unwrap();
        assert_eq!(outcome.end, PumpEnd::DownstreamClosed);
        assert_eq!(consumer.join().unwrap(), [b'y'; 10]);
        drop(up_reader); // the producer now gets EPIPE
        producer.join().unwrap();
    }

    #[test]
    fn an_early_close_is_noticed_while_no_data_flows() {
        let (up_reader, up_writer) = pipe();
        let (down_reader, down_writer) = pipe();
        drop(down_reader);
        let started = Instant::now();
        let outcome = pump(up_reader.as_fd(), down_writer.as_fd(), 65536, None).unwrap();
        assert_eq!(outcome.end, PumpEnd::DownstreamClosed);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(up_writer);
    }

    #[test]
    fn cancellation_stops_a_waiting_pump_promptly() {
        let (up_reader, up_writer) = pipe();
        let (_down_reader, down_writer) = pipe();
        let (cancel_reader, mut cancel_writer) = pipe();
        let canceller = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            cancel_writer.write_all(b"x").unwrap();
        });
        let outcome = pump(
            up_reader.as_fd(),
            down_writer.as_fd(),
            65536,
            Some(cancel_reader.as_fd()),
        )
        .unwrap();
        canceller.join().unwrap();
        assert_eq!(outcome.end, PumpEnd::Cancelled);
        assert!(still_open(up_reader.as_fd()) && still_open(cancel_reader.as_fd()));
        drop(up_writer);
    }

    #[test]
    fn a_zero_buffer_is_invalid_input() {
        let (reader, _writer) = pipe();
        let (_sink_reader, sink) = pipe();
        let error = pump(reader.as_fd(), sink.as_fd(), 0, None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_bad_descriptor_is_an_os_error_with_its_errno() {
        let (reader, writer) = pipe();
        let raw = reader.as_raw_fd();
        drop(reader);
        // SAFETY: the descriptor number is closed; the call must fail with EBADF.
        let closed = unsafe { BorrowedFd::borrow_raw(raw) };
        let error = pump(closed, writer.as_fd(), 16, None).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EBADF));
    }
}
