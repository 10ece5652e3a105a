//! `cuprum._rust`: the Python face of the `cuprum_pump` crate.
//!
//! A thin skin: it checks arguments (`ValueError`), hands descriptors to the
//! crate's hop runtime, and turns the crate's errors into Python's:
//! `OSError` with the real `errno`, `MemoryError` for a failed allocation,
//! `RuntimeError` for a bug. No call blocks, and no panic crosses into
//! Python: each entry point catches it and raises `RuntimeError` instead of
//! pyo3's `PanicException`.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyMemoryError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use cuprum_pump::{HopConfig, HopEnd, HopError, HopHandle, StartError};

/// Run `body`, turning a panic into `RuntimeError`.
fn guarded<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(PyRuntimeError::new_err(format!(
            "internal error in cuprum._rust (a bug; please report it): {detail}"
        )))
    })
}

fn os_error(errno: i32) -> PyErr {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    PyOSError::new_err((errno, text))
}

fn start_error(error: &StartError) -> PyErr {
    match error {
        StartError::OutOfMemory => PyMemoryError::new_err("cannot start a hop: out of memory"),
        StartError::Os(error) => match error.raw_os_error() {
            Some(errno) => os_error(errno),
            None => PyOSError::new_err(error.to_string()),
        },
    }
}

/// A descriptor number, if `fd` can be one.
fn number(fd: i64) -> Option<RawFd> {
    RawFd::try_from(fd).ok().filter(|raw| *raw >= 0)
}

/// Take over `raw` if it is an open descriptor.
fn take(raw: Option<RawFd>) -> Option<OwnedFd> {
    // SAFETY: the caller hands the number over (Cuprum's pumps `release()`
    // it), so nobody else closes it; it is open, and taken at most once.
    raw.filter(|raw| cuprum_pump::is_open(*raw))
        .map(|raw| unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Where finished hops are announced: watch `fileno()` for readability
/// (`loop.add_reader`), then call `drain()` for their tokens.
#[pyclass(frozen, module = "cuprum._rust")]
struct Notifier {
    inner: cuprum_pump::Notifier,
}

#[pymethods]
impl Notifier {
    #[new]
    fn new() -> PyResult<Self> {
        guarded(|| {
            cuprum_pump::Notifier::new()
                .map(|inner| Self { inner })
                .map_err(|error| start_error(&StartError::from(error)))
        })
    }

    /// The descriptor that is readable while finished hops wait to be drained.
    fn fileno(&self) -> PyResult<i32> {
        guarded(|| Ok(std::os::fd::AsRawFd::as_raw_fd(&self.inner.fd())))
    }

    /// The tokens of the hops that finished since the last call.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guarded(|| self.inner.drain(|tokens| PyList::new(py, tokens)))
    }

    /// Hops started with this notifier that have not finished yet.
    #[getter]
    fn outstanding(&self) -> PyResult<usize> {
        guarded(|| Ok(self.inner.outstanding()))
    }
}

/// One hop running in the runtime. Dropping it cancels it.
#[pyclass(frozen, module = "cuprum._rust")]
struct Hop {
    handle: HopHandle,
    buffer_size: usize,
}

#[pymethods]
impl Hop {
    /// The token its notifier reports when it finishes.
    #[getter]
    fn token(&self) -> PyResult<u64> {
        guarded(|| Ok(self.handle.token()))
    }

    /// Bytes delivered so far (final once `result()` is not `None`).
    #[getter]
    fn bytes_moved(&self) -> PyResult<u64> {
        guarded(|| Ok(self.handle.bytes_moved()))
    }

    /// Stop the hop within one chunk (idempotent).
    fn cancel(&self) -> PyResult<()> {
        guarded(|| {
            self.handle.cancel();
            Ok(())
        })
    }

    /// `None` while it runs; then `(bytes_moved, end)` with `end` one of
    /// `"eof"`, `"downstream_closed"`, `"cancelled"`. Raises the hop's error
    /// if it failed. Both descriptors are closed once this is not `None`.
    fn result(&self) -> PyResult<Option<(u64, &'static str)>> {
        guarded(|| {
            match self.handle.result() {
            None => Ok(None),
            Some(Ok(outcome)) => {
                let end = match outcome.end {
                    HopEnd::Eof => "eof",
                    HopEnd::DownstreamClosed => "downstream_closed",
                    HopEnd::Cancelled => "cancelled",
                };
                Ok(Some((outcome.bytes_moved, end)))
            }
            Some(Err(HopError::Os(errno))) => Err(os_error(errno)),
            Some(Err(HopError::OutOfMemory)) => Err(PyMemoryError::new_err(format!(
                "cannot allocate a hop buffer of {} bytes",
                self.buffer_size
            ))),
            Some(Err(HopError::Internal)) => Err(PyRuntimeError::new_err(
                "internal error in cuprum._rust (a bug; please report it): the hop's worker panicked",
            )),
        }
        })
    }
}

/// Start moving bytes from `source_fd` to `sink_fd` in the runtime.
///
/// The hop takes over every open descriptor passed, in every case: it
/// closes both when it ends, and closes them at once if it cannot start
/// (`ValueError` for a bad argument, `OSError` with `EBADF` for a closed
/// descriptor, `MemoryError`, `OSError`).
#[pyfunction]
#[pyo3(signature = (source_fd, sink_fd, notifier, *, buffer_size, zero_copy = false))]
fn start_hop(
    source_fd: i64,
    sink_fd: i64,
    notifier: &Notifier,
    buffer_size: i64,
    zero_copy: bool,
) -> PyResult<Hop> {
    guarded(|| {
        let (source_raw, sink_raw) = (number(source_fd), number(sink_fd));
        let source = take(source_raw);
        let sink = take(sink_raw.filter(|raw| Some(*raw) != source_raw));
        // From here on, returning an error closes whatever was taken.
        for (raw, fd, name) in [
            (source_raw, source_fd, "source_fd"),
            (sink_raw, sink_fd, "sink_fd"),
        ] {
            if raw.is_none() {
                return Err(PyValueError::new_err(format!(
                    "{name} must be a file descriptor (0 or more), not {fd}"
                )));
            }
        }
        if source_raw == sink_raw {
            return Err(PyValueError::new_err(format!(
                "source_fd and sink_fd must differ, both are {source_fd}"
            )));
        }
        let size = usize::try_from(buffer_size).unwrap_or(0);
        let config = HopConfig::new(size, zero_copy).map_err(|_| {
            PyValueError::new_err(format!(
                "buffer_size must be between 1 and {}, not {buffer_size}",
                cuprum_pump::MAX_BUFFER_SIZE
            ))
        })?;
        let (Some(source), Some(sink)) = (source, sink) else {
            return Err(os_error(libc::EBADF));
        };
        let handle = cuprum_pump::start_hop(source, sink, config, &notifier.inner)
            .map_err(|error| start_error(&error))?;
        Ok(Hop {
            handle,
            buffer_size: size,
        })
    })
}

/// Worker threads the runtime runs now (0 before the first hop).
#[pyfunction]
fn worker_threads() -> PyResult<usize> {
    guarded(|| Ok(cuprum_pump::running_workers()))
}

/// Start the runtime's worker threads now, if they are not running (they
/// start with the first hop otherwise); returns how many run.
#[pyfunction]
fn start_runtime() -> PyResult<usize> {
    guarded(|| cuprum_pump::start_runtime().map_err(|error| start_error(&error)))
}

/// Panic inside the binding: proves that a panic arrives as `RuntimeError`.
#[pyfunction]
fn _panic_for_tests() -> PyResult<()> {
    guarded(|| panic!("a deliberate panic"))
}

/// The Rust stream backend for Cuprum.
#[pymodule]
fn _rust(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", cuprum_pump::VERSION)?;
    module.add("MAX_BUFFER_SIZE", cuprum_pump::MAX_BUFFER_SIZE)?;
    module.add("MAX_WORKERS", cuprum_pump::MAX_WORKERS)?;
    module.add_class::<Notifier>()?;
    module.add_class::<Hop>()?;
    module.add_function(wrap_pyfunction!(start_hop, module)?)?;
    module.add_function(wrap_pyfunction!(worker_threads, module)?)?;
    module.add_function(wrap_pyfunction!(start_runtime, module)?)?;
    module.add_function(wrap_pyfunction!(_panic_for_tests, module)?)?;
    Ok(())
}
