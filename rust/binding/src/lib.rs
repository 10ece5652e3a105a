//! `cuprum._rust`: the Python face of the `cuprum_pump` crate.
//!
//! A thin skin: it checks arguments, releases the GIL around the blocking
//! work, and turns I/O errors into `OSError`s carrying the real `errno`.
//! Descriptors are borrowed, never closed: the caller owns them.

use std::os::fd::BorrowedFd;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

use cuprum_pump::PumpEnd;

/// Borrow a descriptor number the caller promises stays open for the call.
fn borrow_fd(fd: i64, name: &str) -> PyResult<BorrowedFd<'static>> {
    let Ok(raw) = i32::try_from(fd) else {
        return Err(PyValueError::new_err(format!(
            "{name} is not a file descriptor: {fd}"
        )));
    };
    if raw < 0 {
        return Err(PyValueError::new_err(format!(
            "{name} must be a non-negative file descriptor, not {fd}"
        )));
    }
    // SAFETY: the Python caller keeps the descriptor open until we return
    // (Cuprum's pumps own it and close it only afterwards); we never close it.
    Ok(unsafe { BorrowedFd::borrow_raw(raw) })
}

fn check_buffer_size(buffer_size: i64) -> PyResult<usize> {
    usize::try_from(buffer_size)
        .ok()
        .filter(|&size| size > 0)
        .ok_or_else(|| {
            PyValueError::new_err(format!("buffer_size must be positive, not {buffer_size}"))
        })
}

/// An `OSError` (or its errno subclass, e.g. `BrokenPipeError`) with `errno` set.
fn os_error(error: &std::io::Error) -> PyErr {
    match error.raw_os_error() {
        Some(errno) => PyOSError::new_err((errno, error.to_string())),
        None => PyOSError::new_err(error.to_string()),
    }
}

fn run_pump(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size: i64,
    cancel_fd: Option<i64>,
) -> PyResult<cuprum_pump::PumpOutcome> {
    let buffer_size = check_buffer_size(buffer_size)?;
    let reader = borrow_fd(reader_fd, "reader_fd")?;
    let writer = borrow_fd(writer_fd, "writer_fd")?;
    let cancel = cancel_fd.map(|fd| borrow_fd(fd, "cancel_fd")).transpose()?;
    py.detach(|| cuprum_pump::pump(reader, writer, buffer_size, cancel))
        .map_err(|error| os_error(&error))
}

/// Move bytes from `reader_fd` to `writer_fd` until end of file or until
/// the writer's reader goes away; return the number of bytes moved.
///
/// Uses `splice(2)` between pipes, read/write otherwise; the GIL is released
/// meanwhile. A readable `cancel_fd` stops the pump early. Neither descriptor
/// is closed; both are left in non-blocking mode.
#[pyfunction]
#[pyo3(signature = (reader_fd, writer_fd, *, buffer_size = 65536, cancel_fd = None))]
fn pump(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size: i64,
    cancel_fd: Option<i64>,
) -> PyResult<u64> {
    Ok(run_pump(py, reader_fd, writer_fd, buffer_size, cancel_fd)?.bytes)
}

/// Like `pump`, but also say how it ended: returns `(bytes_moved, end)`
/// where `end` is `"eof"`, `"downstream_closed"` or `"cancelled"`.
#[pyfunction]
#[pyo3(signature = (reader_fd, writer_fd, *, buffer_size = 65536, cancel_fd = None))]
fn pump_hop(
    py: Python<'_>,
    reader_fd: i64,
    writer_fd: i64,
    buffer_size: i64,
    cancel_fd: Option<i64>,
) -> PyResult<(u64, &'static str)> {
    let outcome = run_pump(py, reader_fd, writer_fd, buffer_size, cancel_fd)?;
    let end = match outcome.end {
        PumpEnd::Eof => "eof",
        PumpEnd::DownstreamClosed => "downstream_closed",
        PumpEnd::Cancelled => "cancelled",
    };
    Ok((outcome.bytes, end))
}

/// Read `reader_fd` to end of file and decode it as UTF-8, replacing
/// invalid bytes exactly like `bytes.decode("utf-8", "replace")`.
///
/// The GIL is released while reading. A readable `cancel_fd` stops the read
/// early, keeping what was read. The descriptor is not closed.
#[pyfunction]
#[pyo3(signature = (reader_fd, *, buffer_size = 65536, cancel_fd = None))]
fn consume(
    py: Python<'_>,
    reader_fd: i64,
    buffer_size: i64,
    cancel_fd: Option<i64>,
) -> PyResult<String> {
    let buffer_size = check_buffer_size(buffer_size)?;
    let reader = borrow_fd(reader_fd, "reader_fd")?;
    let cancel = cancel_fd.map(|fd| borrow_fd(fd, "cancel_fd")).transpose()?;
    let consumed = py
        .detach(|| cuprum_pump::consume(reader, buffer_size, cancel))
        .map_err(|error| os_error(&error))?;
    Ok(consumed.text)
}

/// The Rust stream backend for Cuprum.
#[pymodule]
fn _rust(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", cuprum_pump::VERSION)?;
    module.add_function(wrap_pyfunction!(pump, module)?)?;
    module.add_function(wrap_pyfunction!(pump_hop, module)?)?;
    module.add_function(wrap_pyfunction!(consume, module)?)?;
    Ok(())
}
