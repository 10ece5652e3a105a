//! Read a stream to its end and decode it as UTF-8, replacing invalid input
//! exactly as Python's `bytes.decode("utf-8", "replace")` does.
//!
//! Each maximal invalid subsequence becomes one U+FFFD (the Unicode
//! standard's recommended practice, which both Python and Rust follow), and
//! an incomplete sequence at end of file becomes U+FFFD. Decoding happens
//! once, over the whole stream, so where the reads happened to split it can
//! never matter.

use std::io;
use std::os::fd::BorrowedFd;

use crate::io::{check_buffer_size, poll, read_into, set_nonblocking, Interest};

/// Decode `bytes` as UTF-8 with replacement; valid input is not copied.
#[must_use]
pub fn decode_lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

/// What [`consume`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// Everything read, decoded.
    pub text: String,
    /// Whether the cancel descriptor stopped the read before end of file.
    pub cancelled: bool,
}

/// Read `reader` to end of file and decode it as UTF-8 with replacement.
///
/// Bytes are read straight into one growing buffer (`buffer_size` at a time
/// at least), which is then decoded in place. `reader` is not closed. With a
/// `cancel` descriptor, the read waits with `poll(2)` and stops (keeping
/// what it has) once `cancel` is readable.
///
/// # Errors
///
/// `InvalidInput` when `buffer_size` is zero; otherwise the first I/O error
/// other than `EINTR`.
pub fn consume(
    reader: BorrowedFd<'_>,
    buffer_size: usize,
    cancel: Option<BorrowedFd<'_>>,
) -> io::Result<Consumed> {
    check_buffer_size(buffer_size)?;
    let mut bytes: Vec<u8> = Vec::with_capacity(buffer_size);
    let mut cancelled = false;
    if cancel.is_some() {
        set_nonblocking(reader)?;
    }
    loop {
        if let Some(cancel) = cancel {
            let seen = poll(&[(reader, Interest::Read), (cancel, Interest::Read)])?;
            // Once cancelled, take only what is already buffered, then stop.
            cancelled = cancelled || seen[1].ready;
        }
        bytes.reserve(buffer_size);
        match read_into(reader, &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if cancelled {
                    break;
                }
                if cancel.is_none() {
                    poll(&[(reader, Interest::Read)])?;
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(Consumed {
        text: decode_lossy(bytes),
        cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{pipe, Rng};
    use std::io::Write;
    use std::os::fd::AsFd;

    /// Outputs of CPython's `bytes.decode("utf-8", "replace")` for tricky inputs.
    const PYTHON_REFERENCE: &[(&[u8], &str)] = &[
        (b"", ""),
        (b"plain ascii", "plain ascii"),
        (
            b"\x68\xc3\xa9\x6c\x6c\x6f\x20\x77\xc3\xb6\x72\x6c\x64\x20\xe2\x82\xac\xf0\x9d\x84\x9e",
            "h\u{e9}llo w\u{f6}rld \u{20ac}\u{1d11e}",
        ),
        (b"\xff", "\u{fffd}"),
        (b"\xe2\x82", "\u{fffd}"),
        (b"\xe2\x82\xac", "\u{20ac}"),
        (b"\xe2\x82\x61", "\u{fffd}a"),
        (b"\xed\xa0\x80", "\u{fffd}\u{fffd}\u{fffd}"),
        (b"\xf0\x80\x80\x80", "\u{fffd}\u{fffd}\u{fffd}\u{fffd}"),
        (b"\xf4\x90\x80\x80", "\u{fffd}\u{fffd}\u{fffd}\u{fffd}"),
        (b"\xc0\xaf", "\u{fffd}\u{fffd}"),
        (b"\xf0\x9f\x98", "\u{fffd}"),
        (b"\x61\xf0\x9f\x98\x80\x62\x80\x63", "a\u{1f600}b\u{fffd}c"),
        (b"\xe0\x80\x80", "\u{fffd}\u{fffd}\u{fffd}"),
        (
            b"\xef\xbf\xbf\xf8\x88\x80\x80\x80",
            "\u{ffff}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
        ),
        (b"\xc2", "\u{fffd}"),
        (b"\xc2\xc2\xa9", "\u{fffd}\u{a9}"),
    ];

    #[test]
    fn matches_python_on_reference_inputs() {
        for (bytes, expected) in PYTHON_REFERENCE {
            assert_eq!(&decode_lossy(bytes.to_vec()), expected, "input {bytes:x?}");
        }
    }

    /// Random bytes biased towards UTF-8 lead and continuation bytes.
    fn tricky_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match rng.below(4) {
                0 => rng.below(0x80) as u8,
                1 => 0x80 | rng.below(0x40) as u8,
                2 => 0xc0 | rng.below(0x40) as u8,
                _ => rng.below(256) as u8,
            })
            .collect()
    }

    /// Property: whatever the writes' sizes, consuming a pipe gives what
    /// one-shot lossy decoding of all the bytes gives.
    #[test]
    fn write_boundaries_never_change_the_result() {
        let mut rng = Rng::new(0x00c0_ffee);
        for case in 0..200 {
            let len = rng.below(4096);
            let bytes = tricky_bytes(&mut rng, len);
            let expected = String::from_utf8_lossy(&bytes).into_owned();
            let (reader, mut writer) = pipe();
            let max = 1 + rng.below(16);
            let mut sizes: Vec<usize> = Vec::new();
            let mut left = bytes.len();
            while left > 0 {
                let size = (1 + rng.below(max)).min(left);
                sizes.push(size);
                left -= size;
            }
            let sent = bytes.clone();
            let producer = std::thread::spawn(move || {
                let mut rest = sent.as_slice();
                for size in sizes {
                    let (chunk, tail) = rest.split_at(size);
                    writer.write_all(chunk).unwrap();
                    rest = tail;
                }
            });
            let buffer_size = 1 + rng.below(8);
            let consumed = consume(reader.as_fd(), buffer_size, None).unwrap();
            producer.join().unwrap();
            assert_eq!(consumed.text, expected, "case {case}: {bytes:x?}");
        }
    }

    #[test]
    fn valid_text_is_decoded_without_a_copy() {
        let text = "a\u{e9}\u{20ac}\u{1f600}".repeat(100);
        let bytes = text.clone().into_bytes();
        let pointer = bytes.as_ptr();
        let decoded = decode_lossy(bytes);
        assert_eq!(decoded, text);
        assert_eq!(decoded.as_ptr(), pointer);
    }

    #[test]
    fn consume_reads_a_pipe_to_eof() {
        let (reader, mut writer) = pipe();
        let payload = "z\u{fc}rich \u{20ac}\u{1f600}\n".repeat(10_000);
        let expected = payload.clone();
        let producer = std::thread::spawn(move || writer.write_all(payload.as_bytes()));
        let consumed = consume(reader.as_fd(), 7, None).expect("consume");
        producer.join().unwrap().unwrap();
        assert_eq!(consumed.text, expected);
        assert!(!consumed.cancelled);
    }

    #[test]
    fn consume_stops_when_cancelled_and_keeps_what_it_read() {
        let (reader, mut writer) = pipe();
        let (cancel_reader, mut cancel_writer) = pipe();
        writer.write_all(b"partial \xe2\x82").unwrap();
        cancel_writer.write_all(b"x").unwrap();
        let consumed = consume(reader.as_fd(), 4096, Some(cancel_reader.as_fd())).unwrap();
        assert!(consumed.cancelled);
        assert_eq!(consumed.text, "partial \u{fffd}");
        drop(writer);
    }

    #[test]
    fn consume_rejects_an_empty_buffer() {
        let (reader, _writer) = pipe();
        let error = consume(reader.as_fd(), 0, None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
