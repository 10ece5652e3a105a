//! Decode a byte stream as UTF-8, replacing invalid input exactly as
//! Python's `bytes.decode("utf-8", "replace")` does.
//!
//! Each maximal invalid subsequence becomes one U+FFFD (the Unicode
//! standard's recommended practice, which both Python and Rust follow), an
//! incomplete sequence at the end of a chunk waits for the next chunk, and
//! one left at end of file becomes U+FFFD. The result never depends on where
//! the chunk boundaries fall.

use std::io;
use std::os::fd::BorrowedFd;

use crate::io::{poll, read, set_nonblocking, Interest};

/// An incremental UTF-8 decoder with replacement.
#[derive(Debug, Default)]
pub struct Utf8Decoder {
    /// The start of a sequence split by a chunk boundary (at most 3 bytes).
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// A decoder with nothing pending.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `chunk`, appending to `out`; an incomplete tail is kept.
    pub fn push(&mut self, chunk: &[u8], out: &mut String) {
        let joined;
        let mut input: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            joined = [self.pending.as_slice(), chunk].concat();
            self.pending.clear();
            &joined
        };
        loop {
            match std::str::from_utf8(input) {
                Ok(text) => {
                    out.push_str(text);
                    return;
                }
                Err(error) => {
                    let (valid, rest) = input.split_at(error.valid_up_to());
                    // SAFETY: `from_utf8` validated exactly this prefix.
                    out.push_str(unsafe { std::str::from_utf8_unchecked(valid) });
                    match error.error_len() {
                        Some(invalid) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            input = &rest[invalid..];
                        }
                        None => {
                            self.pending.extend_from_slice(rest);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// End of input: an incomplete sequence left over becomes U+FFFD.
    pub fn finish(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            out.push_str(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
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
/// `reader` is not closed. With a `cancel` descriptor, the read waits with
/// `poll(2)` and stops (keeping what it has) once `cancel` is readable.
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
    if buffer_size == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "buffer_size must be positive",
        ));
    }
    let mut buffer = vec![0_u8; buffer_size];
    let mut decoder = Utf8Decoder::new();
    let mut text = String::new();
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
        match read(reader, &mut buffer) {
            Ok(0) => break,
            Ok(n) => decoder.push(&buffer[..n], &mut text),
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
    decoder.finish(&mut text);
    Ok(Consumed { text, cancelled })
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

    fn decode_in_chunks(bytes: &[u8], sizes: &mut impl FnMut() -> usize) -> String {
        let mut decoder = Utf8Decoder::new();
        let mut out = String::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(sizes().clamp(1, rest.len()));
            decoder.push(chunk, &mut out);
            rest = tail;
        }
        decoder.finish(&mut out);
        out
    }

    #[test]
    fn matches_python_on_reference_inputs_at_every_split() {
        for (bytes, expected) in PYTHON_REFERENCE {
            for split in 0..=bytes.len() {
                let mut decoder = Utf8Decoder::new();
                let mut out = String::new();
                decoder.push(&bytes[..split], &mut out);
                decoder.push(&bytes[split..], &mut out);
                decoder.finish(&mut out);
                assert_eq!(&out, expected, "input {bytes:x?} split at {split}");
            }
        }
    }

    /// Property: for random bytes biased towards UTF-8 lead and continuation
    /// bytes, any chunking decodes like one-shot lossy decoding.
    #[test]
    fn chunking_never_changes_the_result() {
        let mut rng = Rng::new(0x00c0_ffee);
        for case in 0..2000 {
            let len = rng.below(64);
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => rng.below(0x80) as u8,
                    1 => 0x80 | rng.below(0x40) as u8,
                    2 => 0xc0 | rng.below(0x40) as u8,
                    _ => rng.below(256) as u8,
                })
                .collect();
            let expected = String::from_utf8_lossy(&bytes);
            let max = 1 + rng.below(8);
            let got = decode_in_chunks(&bytes, &mut || 1 + rng.below(max));
            assert_eq!(got, expected, "case {case}: {bytes:x?}");
        }
    }

    #[test]
    fn valid_text_of_every_width_survives_one_byte_chunks() {
        let text = "a\u{e9}\u{20ac}\u{1f600}".repeat(100);
        assert_eq!(decode_in_chunks(text.as_bytes(), &mut || 1), text);
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
