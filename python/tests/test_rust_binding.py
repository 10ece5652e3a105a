"""The PyO3 binding ``cuprum._rust``: its contract as Python sees it.

``start_hop`` takes over every open descriptor it is given, in every case;
bad arguments are ``ValueError`` (``OSError``/``EBADF`` for a closed
descriptor); a hop's result is a tuple or its error raised; completion is
announced through a ``Notifier``'s descriptor; no call blocks; and a panic
arrives as ``RuntimeError``, never as ``PanicException``.
"""

from __future__ import annotations

import errno
import os
import select
from pathlib import Path

import pytest

from cuprum.stream_backend import RustExtension, RustHopHandle, RustNotifier, rust_extension

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


def finish(hop: RustHopHandle, notifier: RustNotifier) -> tuple[int, str]:
    """Wait (blocking) on the notifier until ``hop`` has finished."""
    for _ in range(200):
        if (result := hop.result()) is not None:
            return result
        select.select([notifier.fileno()], [], [], 0.1)
        notifier.drain()
    pytest.fail("the hop did not finish")


def test_a_hop_moves_bytes_and_is_announced(rust: RustExtension) -> None:
    notifier = rust.Notifier()
    up_read, up_write = pipe()
    down_read, down_write = pipe()
    hop = rust.start_hop(up_read, down_write, notifier, buffer_size=4096)
    assert notifier.outstanding == 1
    os.write(up_write, b"through the runtime")
    os.close(up_write)
    readable, _, _ = select.select([notifier.fileno()], [], [], 20)
    assert readable, "the notifier never became readable"
    assert finish(hop, notifier) == (19, "eof")
    assert notifier.outstanding == 0
    assert hop.bytes_moved == 19
    assert not is_open(up_read)
    assert not is_open(down_write)
    assert os.read(down_read, 100) == b"through the runtime"
    os.close(down_read)


def test_the_notifier_drains_the_finished_tokens(rust: RustExtension) -> None:
    notifier = rust.Notifier()
    ends: list[int] = []
    hops: list[RustHopHandle] = []
    for _ in range(3):
        up_read, up_write = pipe()
        down_read, down_write = pipe()
        hops.append(rust.start_hop(up_read, down_write, notifier, buffer_size=4096))
        os.close(up_write)
        ends.append(down_read)
    tokens: set[int] = set()
    for _ in range(200):
        select.select([notifier.fileno()], [], [], 0.1)
        tokens.update(notifier.drain())
        if len(tokens) == len(hops):
            break
    assert tokens == {hop.token for hop in hops}
    assert notifier.drain() == []
    for fd in ends:
        os.close(fd)


def test_cancel_and_drop_stop_a_hop(rust: RustExtension) -> None:
    notifier = rust.Notifier()
    up_read, up_write = pipe()
    down_read, down_write = pipe()
    hop = rust.start_hop(up_read, down_write, notifier, buffer_size=4096)
    hop.cancel()
    assert finish(hop, notifier) == (0, "cancelled")
    up_read2, up_write2 = pipe()
    down_read2, down_write2 = pipe()
    rust.start_hop(up_read2, down_write2, notifier, buffer_size=4096)  # dropped at once
    assert os.read(down_read2, 10) == b""  # the sink was closed: EOF
    for fd in (up_write, down_read, up_write2, down_read2):
        os.close(fd)


@pytest.mark.parametrize(
    ("source", "sink", "buffer_size", "message"),
    [
        (-1, "open", 4096, "source_fd must be a file descriptor"),
        ("open", -5, 4096, "sink_fd must be a file descriptor"),
        (2**40, "open", 4096, "source_fd must be a file descriptor"),
        ("open", "open", 0, "buffer_size must be between 1 and"),
        ("open", "open", -1, "buffer_size must be between 1 and"),
        ("open", "open", 2**40, "buffer_size must be between 1 and"),
        ("open", "same", 4096, "must differ"),
    ],
)
def test_bad_arguments_are_value_errors_and_the_descriptors_are_taken(
    rust: RustExtension, source: int | str, sink: int | str, buffer_size: int, message: str
) -> None:
    read_end, write_end = pipe()
    source_fd = read_end if source == "open" else int(source)
    sink_fd = {"open": write_end, "same": read_end}.get(str(sink), sink)
    assert isinstance(sink_fd, int)
    with pytest.raises(ValueError, match=message):
        rust.start_hop(source_fd, sink_fd, rust.Notifier(), buffer_size=buffer_size)
    # Every open descriptor passed was taken over, and so closed.
    for fd in (read_end, write_end):
        assert is_open(fd) == (fd not in {source_fd, sink_fd})
        if is_open(fd):
            os.close(fd)


def test_a_closed_descriptor_is_ebadf_and_the_other_is_closed(rust: RustExtension) -> None:
    notifier = rust.Notifier()  # first: it must not take the closed number
    read_end, write_end = pipe()
    os.close(read_end)
    with pytest.raises(OSError, match="Bad file descriptor") as caught:
        rust.start_hop(read_end, write_end, notifier, buffer_size=4096)
    assert caught.value.errno == errno.EBADF
    assert not is_open(write_end)


def test_a_panic_is_a_runtime_error(rust: RustExtension) -> None:
    with pytest.raises(RuntimeError, match="a deliberate panic"):
        rust._panic_for_tests()  # pyright: ignore[reportPrivateUsage]


def test_the_runtime_is_bounded(rust: RustExtension) -> None:
    count = rust.start_runtime()
    assert 1 <= count <= rust.MAX_WORKERS
    assert count <= 2 * (os.cpu_count() or 1) + 4
    assert rust.worker_threads() == count
    workers = [
        task
        for task in Path("/proc/self/task").iterdir()
        if (task / "comm").read_text(encoding="utf-8").startswith("cuprum-pump")
    ]
    assert len(workers) == count
