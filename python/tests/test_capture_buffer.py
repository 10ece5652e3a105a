"""``CaptureBuffer``: a large capture read straight into one mapping keeps every byte, in order.

The unit tests drive the buffer through a real pipe, below and above the
point where it moves into a mapping, with characters cut at every boundary;
the end-to-end tests capture more than ``SPILL`` through ``run()``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import no_fd_leak, py

from cuprum import ExecutionContext, RunOutputOptions
from cuprum.engine import capture
from cuprum.engine.capture import SPILL, CaptureBuffer

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator


@contextlib.contextmanager
def pipe_fed_with(data: bytes) -> Generator[int]:
    """A pipe's read end, with ``data`` written into it by a thread and then closed."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with open(write_end, "wb") as sink:  # noqa: PTH123 (a descriptor, not a path)
            sink.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield read_end
    finally:
        writer.join()
        os.close(read_end)


def read_all(buffer: CaptureBuffer, fd: int, sizes: Iterator[int]) -> None:
    while buffer.read_from(fd, next(sizes)):
        pass


def cycle(sizes: list[int]) -> Iterator[int]:
    while True:
        yield from sizes


def payload(size: int) -> bytes:
    """About ``size`` bytes (at most 3 fewer) of UTF-8 text with characters of every width.

    Chunk edges cut its characters; the text itself ends on a whole one.
    """
    unit = "aé€😀".encode()
    return (unit * (size // len(unit) + 1))[:size].decode(errors="ignore").encode()


def test_a_small_capture_stays_chunks_and_keeps_every_byte() -> None:
    buffer = CaptureBuffer(text=True)
    buffer.append(b"one ")
    buffer.append(b"two")
    assert len(buffer) == 7
    assert buffer.data() == b"one two"
    assert buffer.text("utf-8", "strict") == "one two"


def test_bytes_never_spill_into_a_mapping() -> None:
    buffer = CaptureBuffer(text=False)
    data = payload(3 * SPILL)
    for start in range(0, len(data), SPILL // 3):
        buffer.append(data[start : start + SPILL // 3])
    assert buffer._map is None  # pyright: ignore[reportPrivateUsage]
    assert buffer.data() == data


@pytest.mark.parametrize("size", [0, 1, SPILL - 1, SPILL, SPILL + 4, 5 * SPILL + 7])
def test_reading_a_pipe_keeps_every_byte_in_order(size: int) -> None:
    data = payload(size)
    buffer = CaptureBuffer(text=True)
    with pipe_fed_with(data) as fd:
        read_all(buffer, fd, cycle([65536, 1000, 1 << 20]))
    assert len(buffer) == len(data)
    assert buffer.data() == data
    assert buffer.text("utf-8", "strict") == data.decode()


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=300_000), min_size=1, max_size=12),
    total=st.integers(min_value=0, max_value=4 * SPILL),
    appended=st.integers(min_value=0, max_value=3),
)
def test_any_mix_of_chunks_and_reads_keeps_the_text(sizes: list[int], total: int, appended: int) -> None:
    data = payload(total)
    buffer = CaptureBuffer(text=True)
    head = data[: appended * 100_000]
    for start in range(0, len(head), 100_000):
        buffer.append(head[start : start + 100_000])
    with pipe_fed_with(data[len(head) :]) as fd:
        read_all(buffer, fd, cycle(sizes))
    assert buffer.data() == data
    assert buffer.text("utf-8", "strict") == data.decode()


def test_without_mremap_the_mapping_is_copied_into_a_larger_one(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = capture._mapping  # pyright: ignore[reportPrivateUsage]

    class NoResize:
        """A mapping whose resize fails, as on a platform without mremap."""

        def __init__(self, size: int) -> None:
            self._inner = real(size)
            made.append(size)

        def resize(self, _size: int) -> None:
            msg = "mmap: resizing not available--no mremap()"
            raise SystemError(msg)

        def __getattr__(self, name: str) -> object:
            return getattr(self._inner, name)

        def __len__(self) -> int:
            return len(self._inner)

        def __getitem__(self, index: slice) -> bytes:
            return self._inner[index]

        def __setitem__(self, index: slice, value: bytes) -> None:
            self._inner[index] = value

        def __buffer__(self, flags: int) -> memoryview:
            return memoryview(self._inner)

    monkeypatch.setattr(capture, "_mapping", NoResize)
    data = payload(6 * SPILL + 3)
    buffer = CaptureBuffer(text=True)
    with pipe_fed_with(data) as fd:
        read_all(buffer, fd, cycle([1 << 20]))
    assert len(made) >= 2  # the spill, then at least one larger copy
    assert buffer.text("utf-8", "strict") == data.decode()


def test_a_decoding_error_in_the_mapping_is_where_bytes_decode_puts_it() -> None:
    data = payload(2 * SPILL) + b"\xff" + payload(SPILL)
    buffer = CaptureBuffer(text=True)
    with pipe_fed_with(data) as fd:
        read_all(buffer, fd, cycle([1 << 20]))
    with pytest.raises(UnicodeDecodeError) as expected:
        data.decode("utf-8", "strict")
    with pytest.raises(UnicodeDecodeError) as caught:
        buffer.text("utf-8", "strict")
    assert (caught.value.start, caught.value.end, caught.value.reason) == (
        expected.value.start,
        expected.value.end,
        expected.value.reason,
    )
    assert caught.value.object == data
    assert buffer.text("utf-8", "replace") == data.decode("utf-8", "replace")


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "latin-1", "ascii"])
def test_every_codec_decodes_a_spilled_capture_as_bytes_would(encoding: str) -> None:
    text = "plain words and Café " * (SPILL // 10)
    data = text.encode(encoding, "replace")
    buffer = CaptureBuffer(text=True)
    buffer.append(data)
    assert buffer._map is not None  # pyright: ignore[reportPrivateUsage]
    assert buffer.text(encoding, "strict") == data.decode(encoding)


# -- through run() -------------------------------------------------------------------

LARGE = 3 * SPILL + 12345
WRITE_LARGE = (
    "import sys\n"
    f"data = ('aé€😀' * {LARGE}).encode()[:{LARGE}]\n"
    "data = data[: len(data.decode(errors='ignore').encode())]\n"
    "for start in range(0, len(data), 4093):\n"
    "    sys.stdout.buffer.write(data[start : start + 4093])\n"
)


def expected_large() -> str:
    data = ("aé€😀" * LARGE).encode()[:LARGE]
    return data.decode(errors="ignore")


def test_a_large_text_capture_equals_the_bytes_decoded() -> None:
    result = py(WRITE_LARGE).run_sync(timeout=60)
    assert result.ok
    assert result.stdout == expected_large()


def test_a_large_bytes_capture_equals_the_bytes() -> None:
    result = py(WRITE_LARGE).run_sync(timeout=60, output=RunOutputOptions(text=False))
    assert result.stdout == expected_large().encode()


def test_a_decoding_error_far_into_a_large_capture_names_its_byte() -> None:
    code = f"import sys\nsys.stdout.buffer.write(b'x' * {2 * SPILL} + b'\\xff' + b'y' * {SPILL})\n"
    with pytest.raises(UnicodeDecodeError) as caught:
        py(code).run_sync(timeout=60, context=ExecutionContext(errors="strict"))
    error = caught.value  # its object is an excerpt around the bad byte
    assert error.object[: error.start].endswith(b"x" * 16)
    assert error.object[error.start : error.end] == b"\xff"
    assert error.object[error.end :].startswith(b"y" * 16)


def test_a_capture_that_cannot_grow_fails_the_run_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    real = capture._mapping  # pyright: ignore[reportPrivateUsage]

    class Exhausted:
        """A mapping that the kernel refuses to grow (``ENOMEM``)."""

        def __init__(self, size: int) -> None:
            self._inner = real(size)

        def resize(self, _size: int) -> None:
            raise OSError(errno.ENOMEM, "Cannot allocate memory")

        def __getattr__(self, name: str) -> object:
            return getattr(self._inner, name)

        def __len__(self) -> int:
            return len(self._inner)

        def __setitem__(self, index: slice, value: bytes) -> None:
            self._inner[index] = value

        def __buffer__(self, flags: int) -> memoryview:
            return memoryview(self._inner)

    monkeypatch.setattr(capture, "_mapping", Exhausted)
    code = f"import sys\nsys.stdout.buffer.write(b'x' * {8 * SPILL})\n"
    with no_fd_leak(), pytest.raises(OSError, match="Cannot allocate memory") as caught:
        py(code).run_sync(timeout=60)
    assert caught.value.errno == errno.ENOMEM


def test_a_finished_run_releases_its_raw_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    released: list[int] = []
    real = CaptureBuffer.release

    def release(self: CaptureBuffer) -> None:
        released.append(len(self))
        real(self)

    monkeypatch.setattr(CaptureBuffer, "release", release)
    result = py(WRITE_LARGE).run_sync(timeout=60)
    assert result.stdout == expected_large()
    assert sorted(released) == sorted([0, len(expected_large().encode())])  # stderr, then stdout
