"""The PyO3 binding ``cuprum._rust``: its contract as Python sees it.

Arguments are checked (``ValueError``), I/O errors arrive as ``OSError``
with the real ``errno``, descriptors are borrowed and never closed, the GIL
is released while Rust waits, and ``consume`` decodes exactly like
``bytes.decode("utf-8", "replace")``.
"""

from __future__ import annotations

import errno
import os
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuprum.stream_backend import RustExtension, rust_extension

pytestmark = pytest.mark.rust


@pytest.fixture(scope="module")
def rust() -> RustExtension:
    return rust_extension()


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def pipe() -> tuple[int, int]:
    return os.pipe2(os.O_CLOEXEC)


def close(*fds: int) -> None:
    for fd in fds:
        if is_open(fd):
            os.close(fd)


def write_in_thread(fd: int, chunks: list[bytes], *, close_after: bool = True) -> threading.Thread:
    def target() -> None:
        for chunk in chunks:
            os.write(fd, chunk)
        if close_after:
            os.close(fd)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_pump_moves_every_byte_and_closes_nothing(rust: RustExtension) -> None:
    up_read, up_write = pipe()
    down_read, down_write = pipe()
    payload = bytes(range(256)) * 4096
    writer = write_in_thread(up_write, [payload])
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(down_read, 65536):
            received.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    moved = rust.pump(up_read, down_write, buffer_size=4096)
    writer.join(10)
    assert moved == len(payload)
    assert is_open(up_read)
    assert is_open(down_write)
    os.close(down_write)
    reader.join(10)
    assert bytes(received) == payload
    close(up_read, down_read)


def test_pump_hop_reports_an_early_close(rust: RustExtension) -> None:
    up_read, up_write = pipe()
    down_read, down_write = pipe()
    os.close(down_read)  # the downstream is gone
    writer = write_in_thread(up_write, [b"x" * 1000], close_after=False)
    moved, end = rust.pump_hop(up_read, down_write)
    writer.join(10)
    assert end == "downstream_closed"
    assert moved == 0
    close(up_read, up_write, down_write)


def test_pump_hop_stops_when_cancelled(rust: RustExtension) -> None:
    up_read, up_write = pipe()
    down_read, down_write = pipe()
    cancel_read, cancel_write = pipe()
    os.write(cancel_write, b"!")
    moved, end = rust.pump_hop(up_read, down_write, cancel_fd=cancel_read)
    assert (moved, end) == (0, "cancelled")
    assert all(is_open(fd) for fd in (up_read, down_write, cancel_read))
    close(up_read, up_write, down_read, down_write, cancel_read, cancel_write)


def test_the_gil_is_released_while_rust_waits(rust: RustExtension) -> None:
    """The pump blocks on an empty pipe; this thread must still run to feed it."""
    up_read, up_write = pipe()
    down_read, down_write = pipe()
    outcome: list[tuple[int, str]] = []
    pumping = threading.Thread(target=lambda: outcome.append(rust.pump_hop(up_read, down_write)), daemon=True)
    pumping.start()
    # If the GIL were held, none of this Python code could run.
    os.write(up_write, b"fed by Python")
    os.close(up_write)
    pumping.join(10)
    assert outcome == [(13, "eof")]
    assert os.read(down_read, 100) == b"fed by Python"
    close(up_read, down_read, down_write)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reader_fd": -1, "writer_fd": 1}, "reader_fd must be a non-negative"),
        ({"reader_fd": 0, "writer_fd": -5}, "writer_fd must be a non-negative"),
        ({"reader_fd": 2**40, "writer_fd": 1}, "reader_fd is not a file descriptor"),
        ({"reader_fd": 0, "writer_fd": 1, "buffer_size": 0}, "buffer_size must be positive"),
        ({"reader_fd": 0, "writer_fd": 1, "buffer_size": -1}, "buffer_size must be positive"),
        ({"reader_fd": 0, "writer_fd": 1, "cancel_fd": -2}, "cancel_fd must be a non-negative"),
    ],
)
def test_bad_pump_arguments_are_value_errors(
    rust: RustExtension, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rust.pump(**kwargs)


def test_bad_consume_arguments_are_value_errors(rust: RustExtension) -> None:
    with pytest.raises(ValueError, match="buffer_size must be positive"):
        rust.consume(0, buffer_size=0)
    with pytest.raises(ValueError, match="reader_fd must be a non-negative"):
        rust.consume(-1)


def test_io_errors_carry_the_real_errno(rust: RustExtension) -> None:
    read_fd, write_fd = pipe()
    os.close(read_fd)
    with pytest.raises(OSError, match="Bad file descriptor") as caught:
        rust.consume(read_fd)
    assert caught.value.errno == errno.EBADF
    with pytest.raises(OSError, match="Bad file descriptor") as caught_pump:
        rust.pump(read_fd, write_fd)
    assert caught_pump.value.errno == errno.EBADF
    os.close(write_fd)


@given(
    payload=st.binary(max_size=3000),
    chunk=st.integers(min_value=1, max_value=97),
    buffer_size=st.integers(min_value=1, max_value=64),
)
def test_consume_decodes_like_python(payload: bytes, chunk: int, buffer_size: int) -> None:
    rust = rust_extension()
    read_fd, write_fd = pipe()
    writer = write_in_thread(write_fd, [payload[i : i + chunk] for i in range(0, len(payload), chunk)])
    try:
        text = rust.consume(read_fd, buffer_size=buffer_size)
    finally:
        writer.join(10)
        os.close(read_fd)
    assert text == payload.decode("utf-8", "replace")


def test_consume_keeps_what_it_read_when_cancelled(rust: RustExtension) -> None:
    read_fd, write_fd = pipe()
    cancel_read, cancel_write = pipe()
    os.write(write_fd, b"caf\xc3\xa9 \xe2\x82")  # a euro sign cut short
    os.write(cancel_write, b"!")
    assert rust.consume(read_fd, cancel_fd=cancel_read) == "caf\u00e9 \ufffd"
    assert is_open(read_fd)
    close(read_fd, write_fd, cancel_read, cancel_write)
