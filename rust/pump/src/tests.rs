//! The runtime's behaviour, through its public API, with real pipes.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::thread;
use std::time::{Duration, Instant};

use crate::test_support::{pipe, pipe_with, wait, Rng};
use crate::{start_hop, worker_count, HopConfig, HopEnd, HopHandle, Notifier, MAX_BUFFER_SIZE};

fn config(buffer_size: usize, zero_copy: bool) -> HopConfig {
    HopConfig::new(buffer_size, zero_copy).unwrap()
}

/// Start a hop from `source` to `sink`; return it with the raw numbers.
fn hop(
    source: File,
    sink: File,
    config: HopConfig,
    notifier: &Notifier,
) -> (HopHandle, RawFd, RawFd) {
    let (source_fd, sink_fd) = (source.as_raw_fd(), sink.as_raw_fd());
    let handle = start_hop(OwnedFd::from(source), OwnedFd::from(sink), config, notifier).unwrap();
    (handle, source_fd, sink_fd)
}

/// Send `payload` through a hop; what arrives, and the outcome's fields.
fn through_hop(payload: Vec<u8>, config: HopConfig) -> (Vec<u8>, u64, HopEnd) {
    let notifier = Notifier::new().unwrap();
    let (up_read, mut up_write) = pipe();
    let (mut down_read, down_write) = pipe();
    let producer = thread::spawn(move || up_write.write_all(&payload).unwrap());
    let consumer = thread::spawn(move || {
        let mut received = Vec::new();
        down_read.read_to_end(&mut received).unwrap();
        received
    });
    let (handle, _, _) = hop(up_read, down_write, config, &notifier);
    let outcome = wait(&handle, &notifier).unwrap();
    producer.join().unwrap();
    (consumer.join().unwrap(), outcome.bytes_moved, outcome.end)
}

#[test]
fn an_empty_stream_ends_at_eof_and_closes_both_descriptors() {
    let notifier = Notifier::new().unwrap();
    let (up_read, up_write) = pipe();
    let (mut down_read, down_write) = pipe();
    drop(up_write);
    let (handle, _, _) = hop(up_read, down_write, config(65536, false), &notifier);
    let outcome = wait(&handle, &notifier).unwrap();
    assert_eq!((outcome.bytes_moved, outcome.end), (0, HopEnd::Eof));
    let mut rest = Vec::new();
    down_read.read_to_end(&mut rest).unwrap(); // EOF: the sink was closed
    assert!(rest.is_empty());
    assert_eq!(notifier.outstanding(), 0);
}

/// Property: every byte arrives in order, for random payloads and buffer
/// sizes, copying or splicing, and the count is exact.
#[test]
fn bytes_arrive_exactly_at_any_buffer_size() {
    let mut rng = Rng::new(42);
    for zero_copy in [false, true] {
        for buffer_size in [1, 7, 4096, 65536, 1 << 20] {
            let len = rng.below(300_000);
            let payload: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            let (received, moved, end) =
                through_hop(payload.clone(), config(buffer_size, zero_copy));
            assert_eq!(end, HopEnd::Eof);
            assert_eq!(moved, payload.len() as u64);
            assert!(
                received == payload,
                "buffer size {buffer_size}, zero copy {zero_copy}"
            );
        }
    }
}

#[test]
fn sockets_are_copied_even_when_zero_copy_is_asked_for() {
    use std::os::unix::net::UnixStream;
    let notifier = Notifier::new().unwrap();
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
    let handle = start_hop(source.into(), sink.into(), config(4096, true), &notifier).unwrap();
    producer.join().unwrap();
    let outcome = wait(&handle, &notifier).unwrap();
    assert_eq!(outcome.end, HopEnd::Eof);
    assert_eq!(consumer.join().unwrap(), payload);
}

#[test]
fn an_early_close_stops_an_endless_producer() {
    for zero_copy in [false, true] {
        let notifier = Notifier::new().unwrap();
        let (up_read, mut up_write) = pipe();
        let (mut down_read, down_write) = pipe();
        let producer = thread::spawn(move || {
            let chunk = [b'y'; 4096];
            // Ends with EPIPE once the hop has closed its source.
            while up_write.write_all(&chunk).is_ok() {}
        });
        let mut first = [0_u8; 10];
        let (handle, _, _) = hop(up_read, down_write, config(65536, zero_copy), &notifier);
        down_read.read_exact(&mut first).unwrap();
        drop(down_read);
        let outcome = wait(&handle, &notifier).unwrap();
        assert_eq!(outcome.end, HopEnd::DownstreamClosed);
        assert_eq!(first, [b'y'; 10]);
        producer.join().unwrap();
    }
}

#[test]
fn an_early_close_is_noticed_while_no_data_flows() {
    let notifier = Notifier::new().unwrap();
    let (up_read, mut up_write) = pipe();
    let (down_read, down_write) = pipe();
    let (handle, _, _) = hop(up_read, down_write, config(65536, false), &notifier);
    drop(down_read);
    let started = Instant::now();
    let outcome = wait(&handle, &notifier).unwrap();
    assert_eq!(outcome.end, HopEnd::DownstreamClosed);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The source was closed: the producer's next write fails.
    assert_eq!(
        up_write.write(b"x").unwrap_err().kind(),
        std::io::ErrorKind::BrokenPipe
    );
}

#[test]
fn cancel_stops_an_idle_hop_and_a_blocked_one() {
    for fill_sink in [false, true] {
        let notifier = Notifier::new().unwrap();
        let (up_read, mut up_write) = pipe();
        let (_down_read, down_write) = pipe();
        if fill_sink {
            // More than the sink pipe holds: the hop ends up with a chunk
            // pending and a full sink.
            up_write.write_all(&[7_u8; 60_000]).unwrap();
        }
        let (handle, _, _) = hop(up_read, down_write, config(4096, false), &notifier);
        if fill_sink {
            while handle.bytes_moved() < 60_000 - 4096 && handle.result().is_none() {
                thread::sleep(Duration::from_millis(1));
            }
            up_write.write_all(&[7_u8; 30_000]).unwrap();
            thread::sleep(Duration::from_millis(20));
        }
        handle.cancel();
        handle.cancel(); // idempotent
        let outcome = wait(&handle, &notifier).unwrap();
        assert_eq!(outcome.end, HopEnd::Cancelled, "fill_sink {fill_sink}");
        assert_eq!(outcome.bytes_moved, handle.bytes_moved());
    }
}

#[test]
fn dropping_the_handle_cancels_and_closes() {
    let notifier = Notifier::new().unwrap();
    let (up_read, mut up_write) = pipe();
    let (mut down_read, down_write) = pipe();
    let (handle, _, _) = hop(up_read, down_write, config(4096, false), &notifier);
    drop(handle);
    let mut rest = Vec::new();
    down_read.read_to_end(&mut rest).unwrap(); // returns: the sink was closed
    for _ in 0..1000 {
        if up_write.write(b"x").is_err() {
            return; // the source was closed too
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("the source stayed open");
}

#[test]
fn bytes_moved_is_live() {
    let notifier = Notifier::new().unwrap();
    let (up_read, mut up_write) = pipe();
    let (mut down_read, down_write) = pipe();
    let (handle, _, _) = hop(up_read, down_write, config(65536, false), &notifier);
    up_write.write_all(&[1_u8; 1000]).unwrap();
    let mut received = [0_u8; 1000];
    down_read.read_exact(&mut received).unwrap();
    // Counted just after the write that delivered them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while handle.bytes_moved() < 1000 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(handle.bytes_moved(), 1000);
    assert!(handle.result().is_none());
    drop(up_write);
    assert_eq!(wait(&handle, &notifier).unwrap().bytes_moved, 1000);
}

#[test]
fn bad_buffer_sizes_are_config_errors() {
    assert!(HopConfig::new(0, false).is_err());
    assert!(HopConfig::new(MAX_BUFFER_SIZE + 1, false).is_err());
    assert!(HopConfig::new(usize::MAX, true).is_err());
    assert!(HopConfig::new(MAX_BUFFER_SIZE, false).is_ok());
    let message = HopConfig::new(0, false).unwrap_err().to_string();
    assert!(
        message.contains("buffer_size must be between 1 and"),
        "{message}"
    );
}

#[test]
fn packet_mode_pipes_keep_their_packet_boundaries() {
    let notifier = Notifier::new().unwrap();
    let (up_read, mut up_write) = pipe_with(libc::O_DIRECT);
    let (mut down_read, down_write) = pipe_with(libc::O_DIRECT);
    let sizes = [1_usize, 100, 4096, 17, 2000, 3];
    for (index, size) in sizes.iter().enumerate() {
        up_write.write_all(&vec![index as u8; *size]).unwrap();
    }
    drop(up_write);
    let (handle, _, _) = hop(up_read, down_write, config(65536, false), &notifier);
    assert_eq!(wait(&handle, &notifier).unwrap().end, HopEnd::Eof);
    let mut got = Vec::new();
    let mut buffer = [0_u8; 65536];
    loop {
        let n = down_read.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        got.push(n);
    }
    assert_eq!(got, sizes);
}

/// Hundreds of concurrent hops, still only the runtime's few threads.
#[test]
fn many_hops_share_a_few_threads() {
    let notifier = Notifier::new().unwrap();
    let mut hops = Vec::new();
    let mut ends = Vec::new();
    for _ in 0..300 {
        let (up_read, up_write) = pipe();
        let (down_read, down_write) = pipe();
        hops.push(hop(up_read, down_write, config(4096, false), &notifier).0);
        ends.push((up_write, down_read));
    }
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    let workers = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|task| {
            let comm = task.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|name| name.starts_with("cuprum-pump"))
        })
        .count();
    assert_eq!(workers, worker_count(), "{threads} threads in all");
    for (mut up_write, mut down_read) in ends {
        up_write.write_all(b"hello").unwrap();
        drop(up_write);
        let mut got = Vec::new();
        down_read.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
    }
    for handle in &hops {
        assert_eq!(wait(handle, &notifier).unwrap().bytes_moved, 5);
    }
}

/// SIGPIPE is blocked on every worker thread.
/// `start_runtime` returns only once every worker has settled: each has
/// SIGPIPE blocked by then, without any hop having run on it.
#[test]
fn workers_have_blocked_sigpipe_when_start_runtime_returns() {
    let started = crate::start_runtime().unwrap();
    let mut seen = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.starts_with("cuprum-pump") {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap();
        let blocked = status
            .lines()
            .find_map(|line| line.strip_prefix("SigBlk:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        assert_ne!(blocked & (1 << (libc::SIGPIPE - 1)), 0, "{name}");
        seen += 1;
    }
    assert!(seen >= started);
    assert!(!crate::sys::sigpipe_blocked() || seen > 0);
}

/// A hop that has already finished (its source was empty), with its
/// completion waiting on `notifier`; returns the hop's token.
fn finished_hop(notifier: &Notifier) -> u64 {
    let (up_read, up_write) = pipe();
    let (_down_read, down_write) = pipe();
    drop(up_write);
    let (handle, _, _) = hop(up_read, down_write, config(4096, false), notifier);
    assert!(crate::wait_readable(notifier.fd(), 20_000).unwrap());
    handle.token()
}

/// After a drain that took nothing: the descriptor is readable again and the
/// next drain gets `token`.
fn assert_kept(notifier: &Notifier, token: u64) {
    assert!(crate::wait_readable(notifier.fd(), 0).unwrap());
    let taken = notifier.drain(|tokens| Ok::<_, ()>(tokens.to_vec()));
    assert_eq!(taken, Ok(vec![token]));
}

/// A drain whose taker fails (a binding out of memory) loses no token: the
/// descriptor is readable again and the next drain gets them.
#[test]
fn a_failed_drain_keeps_its_tokens() {
    let notifier = Notifier::new().unwrap();
    let token = finished_hop(&notifier);
    let failed: Result<(), &str> = notifier.drain(|tokens| {
        assert_eq!(tokens, [token]);
        Err("no memory")
    });
    assert_eq!(failed, Err("no memory"));
    assert_kept(&notifier, token);
    assert!(!crate::wait_readable(notifier.fd(), 0).unwrap());
}

/// The same when the taker panics (PyO3 panics when Python is out of memory).
#[test]
fn a_panicking_drain_keeps_its_tokens() {
    let notifier = Notifier::new().unwrap();
    let token = finished_hop(&notifier);
    let panicked = std::panic::catch_unwind(|| {
        notifier.drain(|_| -> Result<(), ()> { panic!("no memory for the list") })
    });
    assert!(panicked.is_err());
    assert_kept(&notifier, token);
}

/// A producer that `vmsplice`s its buffer and rewrites it once its pipe has
/// drained: the default (copying) hop must deliver what was written.
#[test]
fn copying_is_immune_to_vmsplice_producers() {
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: u8 = 12;
    let notifier = Notifier::new().unwrap();
    let (up_read, up_write) = pipe();
    let (mut down_read, down_write) = pipe();
    // SAFETY: F_SETPIPE_SZ on our own pipe.
    unsafe {
        libc::fcntl(
            up_write.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            CHUNK as libc::c_int,
        )
    };
    let producer = thread::spawn(move || {
        let mut buffer = vec![0_u8; CHUNK];
        for index in 0..CHUNKS {
            buffer.fill(index);
            let mut done = 0;
            while done < CHUNK {
                let iov = libc::iovec {
                    iov_base: buffer[done..].as_mut_ptr().cast(),
                    iov_len: CHUNK - done,
                };
                // SAFETY: `iov` describes live memory of this thread.
                let n = unsafe { libc::vmsplice(up_write.as_raw_fd(), &raw const iov, 1, 0) };
                assert!(n > 0, "vmsplice: {}", std::io::Error::last_os_error());
                done += n as usize;
            }
            // Reuse the buffer once the pipe has drained (the usual rule).
            loop {
                let mut queued: libc::c_int = 0;
                // SAFETY: FIONREAD writes one int.
                unsafe { libc::ioctl(up_write.as_raw_fd(), libc::FIONREAD, &raw mut queued) };
                if queued == 0 {
                    break;
                }
                thread::sleep(Duration::from_micros(200));
            }
        }
    });
    let (handle, _, _) = hop(up_read, down_write, config(CHUNK, false), &notifier);
    thread::sleep(Duration::from_millis(50)); // let the sink fill first
    let mut received = Vec::new();
    down_read.read_to_end(&mut received).unwrap();
    producer.join().unwrap();
    assert_eq!(wait(&handle, &notifier).unwrap().end, HopEnd::Eof);
    assert_eq!(received.len(), CHUNK * usize::from(CHUNKS));
    for (index, chunk) in received.chunks(CHUNK).enumerate() {
        assert!(
            chunk.iter().all(|&b| usize::from(b) == index),
            "chunk {index} corrupted"
        );
    }
}
