"""The pump contract (``cuprum.pumps``), held against both pumps in one process.

Each test drives a hop directly: two pipes, the pump between them, the
producer and consumer ends in this test (threads or child processes).
Timing is only ever an upper bound, with ample slack: nothing here depends
on being fast, only on finishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import resource
import signal
import subprocess
import sys
import termios
import textwrap
import threading
import time
from typing import TYPE_CHECKING, Final

import pytest
import support
from hypothesis import given, settings
from hypothesis import strategies as st

from cuprum.fds import OwnedFd
from cuprum.pumps import HopOutcome, pump_for
from cuprum.pumps._checks import MAX_BUFFER_SIZE
from cuprum.stream_backend import StreamBackend, is_rust_available, rust_extension

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator

    from cuprum.pumps import Hop, Pump

KIB: Final = 1024
MIB: Final = 1024 * KIB
SLACK: Final = 20.0
"""Upper bound for anything that should take milliseconds."""

BACKENDS: Final = [
    pytest.param(StreamBackend.PYTHON, id="python"),
    pytest.param(
        StreamBackend.RUST,
        id="rust",
        marks=pytest.mark.skipif(not is_rust_available(), reason="the Rust extension is not built"),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> StreamBackend:
    return request.param


@pytest.fixture
def pump(backend: StreamBackend) -> Pump:
    return pump_for(backend)


# --- helpers ------------------------------------------------------------------------


def pipe(flags: int = 0) -> tuple[int, int]:
    return os.pipe2(os.O_CLOEXEC | flags)


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def queued(fd: int) -> int:
    """Bytes waiting in the pipe that ``fd`` is an end of."""
    count = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return int.from_bytes(count, sys.byteorder)


def run[T](coroutine: Coroutine[object, object, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, SLACK))


class PipeHop:
    """A hop between two fresh pipes; the test holds the outer ends."""

    def __init__(
        self, pump: Pump, *, buffer_size: int = 64 * KIB, zero_copy: bool = False, flags: int = 0
    ) -> None:
        self.source_read, self.source_write = pipe(flags)
        self.sink_read, self.sink_write = pipe(flags)
        self.owned = (OwnedFd(self.source_read), OwnedFd(self.sink_write))
        self.hop: Hop = pump.start(*self.owned, buffer_size=buffer_size, zero_copy=zero_copy)

    def close_outer(self) -> None:
        for fd in (self.source_write, self.sink_read):
            with contextlib.suppress(OSError):
                os.close(fd)

    def inner_closed(self) -> bool:
        return all(owned.closed for owned in self.owned) and not (
            is_open(self.source_read) or is_open(self.sink_write)
        )


def start_thread(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def read_all(fd: int, into: bytearray, size: int = 64 * KIB, delay: float = 0.0) -> None:
    if delay:
        time.sleep(delay)
    while chunk := os.read(fd, size):
        into.extend(chunk)


def write_all(fd: int, data: bytes, *, close: bool = True) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    if close:
        os.close(fd)


# --- end of stream, bytes, progress ---------------------------------------------------


def test_an_empty_stream_ends_at_eof_and_closes_both_ends(pump: Pump) -> None:
    async def main() -> HopOutcome:
        hop = PipeHop(pump)
        os.close(hop.source_write)
        outcome = await hop.hop.wait()
        assert hop.inner_closed()
        assert os.read(hop.sink_read, 10) == b""  # EOF downstream
        os.close(hop.sink_read)
        return outcome

    with support.no_fd_leak():
        assert run(main()) == HopOutcome(0, downstream_closed=False, cancelled=False)


@pytest.mark.parametrize("zero_copy", [False, True], ids=["copy", "zero-copy"])
def test_a_large_payload_arrives_exactly(pump: Pump, *, zero_copy: bool) -> None:
    payload = os.urandom(MIB) * 8 + b"tail"
    received = bytearray()

    async def main() -> HopOutcome:
        hop = PipeHop(pump, buffer_size=100_000, zero_copy=zero_copy)
        threads = [
            start_thread(lambda: write_all(hop.source_write, payload)),
            start_thread(lambda: read_all(hop.sink_read, received, 7000, delay=0.1)),
        ]
        outcome = await hop.hop.wait()
        for thread in threads:
            thread.join(SLACK)
        os.close(hop.sink_read)
        return outcome

    with support.no_fd_leak():
        outcome = run(main())
    assert outcome == HopOutcome(len(payload), downstream_closed=False)
    assert bytes(received) == payload


def test_backpressure_holds_at_most_one_chunk(pump: Pump) -> None:
    """A consumer that does not read stops the pump reading: memory stays bounded."""
    buffer_size = 64 * KIB
    written = 0
    stop = threading.Event()

    async def main() -> None:
        nonlocal written
        hop = PipeHop(pump, buffer_size=buffer_size)

        def produce() -> None:
            nonlocal written
            block = b"p" * 4096  # atomic pipe writes: `written` is exact
            with contextlib.suppress(OSError):
                while not stop.is_set():
                    written += os.write(hop.source_write, block)

        producer = start_thread(produce)

        def state() -> tuple[int, int, int, int]:
            # Read in this order, so `held` can only be underestimated
            # while anything still moves.
            return written, queued(hop.source_write), hop.hop.bytes_moved, queued(hop.sink_read)

        # Nothing reads downstream: both pipes fill, then everything stops.
        previous, current = None, state()
        deadline = time.monotonic() + SLACK
        while previous != current and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            previous, current = current, state()
        total, in_source, moved, in_sink = current
        held = total - in_source - moved
        assert held <= buffer_size, held
        assert moved == in_sink  # delivered, and nothing lost
        hop.hop.cancel()
        outcome = await hop.hop.wait()
        stop.set()
        assert outcome.cancelled
        hop.close_outer()
        producer.join(SLACK)

    with support.no_fd_leak():
        run(main())


def test_bytes_moved_is_live(pump: Pump) -> None:
    async def main() -> None:
        hop = PipeHop(pump)
        os.write(hop.source_write, b"x" * 1000)
        deadline = time.monotonic() + SLACK
        while hop.hop.bytes_moved < 1000 and time.monotonic() < deadline:  # noqa: ASYNC110 (polls progress)
            await asyncio.sleep(0.005)
        assert hop.hop.bytes_moved == 1000
        assert os.read(hop.sink_read, 2000) == b"x" * 1000
        os.close(hop.source_write)
        assert (await hop.hop.wait()).bytes_moved == 1000
        os.close(hop.sink_read)

    run(main())


# --- early close ------------------------------------------------------------------------


def test_an_early_close_while_idle_is_noticed_at_once(pump: Pump) -> None:
    async def main() -> HopOutcome:
        hop = PipeHop(pump)
        os.close(hop.sink_read)  # the consumer leaves; no data flows at all
        outcome = await hop.hop.wait()
        assert hop.inner_closed()
        with pytest.raises(BrokenPipeError):
            os.write(hop.source_write, b"x")  # the producer learns at once
        os.close(hop.source_write)
        return outcome

    with support.no_fd_leak():
        assert run(main()) == HopOutcome(0, downstream_closed=True)


def test_an_early_close_while_busy_stops_the_producer(pump: Pump) -> None:
    async def main() -> HopOutcome:
        hop = PipeHop(pump)

        def produce() -> None:
            with contextlib.suppress(BrokenPipeError):
                while True:
                    os.write(hop.source_write, b"y" * 4096)

        producer = start_thread(produce)
        first = await asyncio.to_thread(os.read, hop.sink_read, 10)
        assert first == b"y" * len(first)
        os.close(hop.sink_read)
        outcome = await hop.hop.wait()
        await asyncio.to_thread(producer.join, SLACK)
        assert not producer.is_alive(), "the producer was not stopped"
        os.close(hop.source_write)
        return outcome

    outcome = run(main())
    assert outcome.downstream_closed
    assert not outcome.cancelled


def test_an_endless_producer_is_never_drained(pump: Pump) -> None:
    """``yes`` into a consumer that takes 100 bytes: ``yes`` dies of SIGPIPE."""

    async def main() -> tuple[HopOutcome, int]:
        source_read, source_write = pipe()
        sink_read, sink_write = pipe()
        producer = subprocess.Popen(["yes"], stdout=source_write)  # noqa: ASYNC220 (returns at once)
        os.close(source_write)
        hop = pump.start(OwnedFd(source_read), OwnedFd(sink_write), buffer_size=64 * KIB)
        taken = await asyncio.to_thread(os.read, sink_read, 100)
        assert taken.startswith(b"y\n")
        os.close(sink_read)
        outcome = await hop.wait()
        return outcome, await asyncio.to_thread(producer.wait, SLACK)

    outcome, status = run(main())
    assert outcome.downstream_closed
    assert outcome.bytes_moved < 64 * MIB
    assert status == -signal.SIGPIPE


# --- cancellation ---------------------------------------------------------------------


@pytest.mark.parametrize("state", ["idle", "busy", "blocked"])
def test_cancel_is_honoured_in_every_state(pump: Pump, state: str) -> None:
    async def main() -> HopOutcome:
        hop = PipeHop(pump, buffer_size=16 * KIB)
        stop = threading.Event()
        threads: list[threading.Thread] = []

        def produce() -> None:
            with contextlib.suppress(OSError):
                while not stop.is_set():
                    os.write(hop.source_write, b"z" * 4096)

        def consume() -> None:
            with contextlib.suppress(OSError):
                while not stop.is_set() and os.read(hop.sink_read, 64 * KIB):
                    pass

        if state != "idle":
            threads.append(start_thread(produce))
        if state == "busy":
            threads.append(start_thread(consume))
        deadline = time.monotonic() + SLACK
        while state != "idle" and hop.hop.bytes_moved < 32 * KIB and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        hop.hop.cancel()
        hop.hop.cancel()  # idempotent
        outcome = await hop.hop.wait()
        assert time.monotonic() - started < SLACK
        assert hop.inner_closed()
        stop.set()
        hop.close_outer()
        for thread in threads:
            await asyncio.to_thread(thread.join, SLACK)
        return outcome

    with support.no_fd_leak():
        outcome = run(main())
    assert outcome.cancelled
    assert not outcome.downstream_closed


def test_a_cancelled_waiter_leaves_the_hop_running(pump: Pump) -> None:
    async def main() -> None:
        hop = PipeHop(pump)
        waiter = asyncio.ensure_future(hop.hop.wait())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        os.write(hop.source_write, b"still here")
        os.close(hop.source_write)
        assert await hop.hop.wait() == HopOutcome(10, downstream_closed=False)
        assert os.read(hop.sink_read, 100) == b"still here"
        os.close(hop.sink_read)

    run(main())


# --- ownership, leaks, arguments ------------------------------------------------------------


def test_descriptors_are_closed_exactly_once(pump: Pump) -> None:
    """Numbers reused right after the hop must not be closed a second time."""

    async def main() -> list[int]:
        hop = PipeHop(pump)
        os.close(hop.source_write)
        await hop.hop.wait()
        reused = [fd for pair in (pipe(), pipe()) for fd in pair]
        for owned in hop.owned:
            owned.close()  # no-op: the pump released them
        await asyncio.sleep(0.1)
        gc.collect()
        assert all(is_open(fd) for fd in reused)
        os.close(hop.sink_read)
        return reused

    for fd in run(main()):
        os.close(fd)


def test_many_hops_leak_no_descriptor_and_no_thread(pump: Pump) -> None:
    async def main() -> None:
        hops = [PipeHop(pump) for _ in range(50)]
        for index, hop in enumerate(hops):
            os.write(hop.source_write, b"%d" % index)
            if index % 3 == 0:
                os.close(hop.sink_read)  # some consumers leave early
            else:
                os.close(hop.source_write)
            if index % 3 == 1:
                hop.hop.cancel()
        for hop in hops:
            await hop.hop.wait()
            assert hop.inner_closed()
            hop.close_outer()

    threads = threading.active_count()
    with support.no_fd_leak():
        run(main())
    assert threading.active_count() == threads


@pytest.mark.parametrize(
    ("buffer_size", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (MAX_BUFFER_SIZE + 1, ValueError),
        (2**40, ValueError),
        (True, TypeError),
        (1.5, TypeError),
    ],
)
def test_a_bad_buffer_size_is_refused_and_nothing_is_taken(
    pump: Pump, buffer_size: object, error: type[Exception]
) -> None:
    async def main() -> None:
        (source_read, source_write), (sink_read, sink_write) = pipe(), pipe()
        source, sink = OwnedFd(source_read), OwnedFd(sink_write)
        with pytest.raises(error, match="buffer_size"):
            pump.start(source, sink, buffer_size=buffer_size)  # pyright: ignore[reportArgumentType]
        assert not source.closed
        assert not sink.closed
        for owned in (source, sink, OwnedFd(source_write), OwnedFd(sink_read)):
            owned.close()

    with support.no_fd_leak():
        run(main())


def test_start_needs_a_running_loop(pump: Pump) -> None:
    ends = [OwnedFd(fd) for fd in (*pipe(), *pipe())]
    with pytest.raises(RuntimeError, match="no running event loop"):
        pump.start(ends[0], ends[3], buffer_size=4096)
    assert not any(owned.closed for owned in ends)
    for owned in ends:
        owned.close()


# --- exact bytes: vmsplice producers, packets, arbitrary chunkings -------------------------

VMSPLICER: Final = textwrap.dedent(
    """
    import ctypes, fcntl, mmap, os, sys, termios, time

    chunk, count = int(sys.argv[1]), int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)

    class IoVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    fcntl.fcntl(1, fcntl.F_SETPIPE_SZ, chunk)
    buffer = mmap.mmap(-1, chunk)  # page-aligned, reused for every chunk
    base = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
    queued = bytearray(4)
    for index in range(count):
        buffer[:] = bytes([index]) * chunk
        done = 0
        while done < chunk:
            iov = IoVec(base + done, chunk - done)
            n = libc.vmsplice(1, ctypes.byref(iov), 1, 0)
            if n < 0:
                sys.exit(f"vmsplice: {os.strerror(ctypes.get_errno())}")
            done += n
        # The usual rule: the buffer may be reused once the pipe has drained.
        while True:
            fcntl.ioctl(1, termios.FIONREAD, queued)
            if not int.from_bytes(queued, sys.byteorder):
                break
            time.sleep(0.0005)
    """
)


def vmsplice_through(pump: Pump, *, zero_copy: bool, chunk: int, count: int) -> bytes:
    """What arrives through a hop from a ``vmsplice`` producer, read slowly."""

    async def main() -> bytes:
        source_read, source_write = pipe()
        sink_read, sink_write = pipe()
        fcntl.fcntl(sink_write, fcntl.F_SETPIPE_SZ, MIB)
        command = [sys.executable, "-c", VMSPLICER, str(chunk), str(count)]
        producer = subprocess.Popen(command, stdout=source_write)  # noqa: ASYNC220 (returns at once)
        os.close(source_write)
        hop = pump.start(OwnedFd(source_read), OwnedFd(sink_write), buffer_size=chunk, zero_copy=zero_copy)
        received = bytearray()

        def consume() -> None:
            time.sleep(0.1)  # let the sink fill with what the producer will reuse
            while data := os.read(sink_read, 64 * KIB):
                received.extend(data)
                time.sleep(0.0005)

        await asyncio.to_thread(consume)
        await hop.wait()
        assert await asyncio.to_thread(producer.wait, SLACK) == 0
        os.close(sink_read)
        return bytes(received)

    return run(main())


def test_a_vmsplice_producer_cannot_corrupt_the_default_hop(pump: Pump) -> None:
    chunk, count = 512 * KIB, 16
    received = vmsplice_through(pump, zero_copy=False, chunk=chunk, count=count)
    assert len(received) == chunk * count
    corrupted = [
        index
        for index in range(count)
        if received[index * chunk : (index + 1) * chunk] != bytes([index]) * chunk
    ]
    assert corrupted == []


def test_packet_mode_pipes_keep_their_boundaries(pump: Pump) -> None:
    sizes = [1, 100, 4096, 17, 2000, 3, 4096, 512]

    async def main() -> list[int]:
        hop = PipeHop(pump, flags=os.O_DIRECT)
        for index, size in enumerate(sizes):
            os.write(hop.source_write, bytes([index]) * size)
        os.close(hop.source_write)
        await hop.hop.wait()
        got: list[int] = []
        while packet := os.read(hop.sink_read, 64 * KIB):
            got.append(len(packet))
        os.close(hop.sink_read)
        return got

    assert run(main()) == sizes


@settings(max_examples=40)
@given(
    payload=st.binary(max_size=200_000),
    chunks=st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=8),
    buffer_size=st.integers(min_value=1, max_value=300_000),
    backend=st.sampled_from([b for b in StreamBackend if b is StreamBackend.PYTHON or is_rust_available()]),
    zero_copy=st.booleans(),
)
def test_arbitrary_payloads_and_chunkings_arrive_exactly(
    payload: bytes, chunks: list[int], buffer_size: int, backend: StreamBackend, *, zero_copy: bool
) -> None:
    received = bytearray()

    async def main() -> HopOutcome:
        hop = PipeHop(pump_for(backend), buffer_size=buffer_size, zero_copy=zero_copy)

        def produce() -> None:
            offset = turn = 0
            while offset < len(payload):
                size = chunks[turn % len(chunks)]
                write_all(hop.source_write, payload[offset : offset + size], close=False)
                offset += size
                turn += 1
            os.close(hop.source_write)

        threads = [start_thread(produce), start_thread(lambda: read_all(hop.sink_read, received, 3000))]
        outcome = await hop.hop.wait()
        for thread in threads:
            await asyncio.to_thread(thread.join, SLACK)
        os.close(hop.sink_read)
        return outcome

    assert run(main()) == HopOutcome(len(payload), downstream_closed=False)
    assert bytes(received) == payload


# --- the process around the hops: signals, closed loops, threads, memory, panics --------------


def child(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child Python that sees this test's ``sys.path``."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
    )


@pytest.mark.parametrize("backend_name", [param.id for param in BACKENDS])
def test_sigpipe_with_the_default_action_never_kills_the_parent(backend_name: str) -> None:
    if backend_name == "rust" and not is_rust_available():
        pytest.skip("the Rust extension is not built")
    done = child(
        """
        import signal
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        from cuprum import CAT, HEAD, YES, sh
        yes, cat, head = sh.make(YES), sh.make(CAT), sh.make(HEAD)
        for _ in range(20):
            assert (yes() | cat() | head("-c", "10")).run_sync(timeout=30).stdout == "y\\ny\\ny\\ny\\ny\\n"
            assert (yes() | head("-n", "1")).run_sync(timeout=30).stdout == "y\\n"
        print("survived")
        """,
        env={"CUPRUM_STREAM_BACKEND": backend_name},
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout == "survived\n"


@pytest.mark.parametrize("backend_name", [param.id for param in BACKENDS])
def test_a_loop_closed_under_running_hops_leaves_nothing_behind(backend_name: str) -> None:
    """Misuse, but real in test suites: close the loop with hops still running.

    Hops whose stream ends finish on their own (Rust) or when dropped; a hop
    nobody references is stopped. Either way every descriptor closes, no
    thread is left per hop, and nothing is printed from a thread.
    """
    if backend_name == "rust" and not is_rust_available():
        pytest.skip("the Rust extension is not built")
    done = child(
        """
        import asyncio, gc, os, threading, time
        from cuprum.fds import OwnedFd
        from cuprum.pumps import pump_for
        from cuprum.stream_backend import StreamBackend

        def fds():
            return set(os.listdir("/proc/self/fd"))

        backend = StreamBackend(os.environ["CUPRUM_STREAM_BACKEND"])
        pump = pump_for(backend)
        if backend is StreamBackend.RUST:
            from cuprum.stream_backend import rust_extension
            rust_extension().start_runtime()  # its own few descriptors stay
        before, threads = fds(), threading.active_count()
        outer = []

        async def start():
            for _ in range(8):
                a, b = os.pipe2(os.O_CLOEXEC)
                c, d = os.pipe2(os.O_CLOEXEC)
                hop = pump.start(OwnedFd(a), OwnedFd(d), buffer_size=4096)
                outer.append((b, c, hop))
                os.write(b, b"data")
            await asyncio.sleep(0.05)

        loop = asyncio.new_event_loop()
        waiters = [loop.create_task(start())]
        loop.run_until_complete(waiters[0])
        waiters += [loop.create_task(hop.wait()) for _, _, hop in outer]
        loop.run_until_complete(asyncio.sleep(0.05))
        loop.close()  # eight hops still running, their waiters pending
        for ends in outer:
            os.close(ends[0])
            os.close(ends[1])
        del outer, waiters, loop, ends
        deadline = time.monotonic() + 20
        while fds() - before and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.05)
        assert not fds() - before, sorted(fds() - before)
        assert threading.active_count() == threads
        tasks = len(os.listdir("/proc/self/task"))  # noqa: PTH208
        assert tasks <= 2 * os.cpu_count() + 4, tasks
        print("clean")
        """,
        env={"CUPRUM_STREAM_BACKEND": backend_name},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "clean\n"
    assert "Event loop is closed" not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def descriptors_for_1024_hops() -> Iterator[None]:
    """Room for four descriptors per hop, whatever the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.skipif(not is_rust_available(), reason="the Rust extension is not built")
@pytest.mark.usefixtures("descriptors_for_1024_hops")
def test_256_concurrent_hops_share_a_bounded_pool_of_threads() -> None:
    bound = 2 * (os.cpu_count() or 1) + 4

    async def main() -> int:
        pump = pump_for(StreamBackend.RUST)
        hops = [PipeHop(pump, buffer_size=4096) for _ in range(256)]
        for hop in hops:
            os.write(hop.source_write, b"hello")
        threads = len(os.listdir("/proc/self/task"))  # noqa: PTH208
        for hop in hops:
            os.close(hop.source_write)
        for hop in hops:
            assert await hop.hop.wait() == HopOutcome(5, downstream_closed=False)
            assert os.read(hop.sink_read, 10) == b"hello"
            os.close(hop.sink_read)
        return threads

    with support.no_fd_leak():
        threads = run(main())
    assert threads <= bound, threads
    assert rust_extension().worker_threads() <= rust_extension().MAX_WORKERS


@pytest.mark.parametrize("backend_name", [param.id for param in BACKENDS])
def test_running_out_of_memory_is_a_memory_error(backend_name: str) -> None:
    """Under an address-space limit a hop's buffer cannot be had: ``MemoryError``, no abort."""
    if backend_name == "rust" and not is_rust_available():
        pytest.skip("the Rust extension is not built")
    done = child(
        """
        import asyncio, os, resource
        from cuprum.fds import OwnedFd
        from cuprum.pumps import pump_for
        from cuprum.pumps._checks import MAX_BUFFER_SIZE
        from cuprum.stream_backend import StreamBackend, is_rust_available, rust_extension

        if is_rust_available():
            rust_extension().start_runtime()
        pump = pump_for(StreamBackend(os.environ["CUPRUM_STREAM_BACKEND"]))

        async def main():
            a, b = os.pipe2(os.O_CLOEXEC)
            c, d = os.pipe2(os.O_CLOEXEC)
            os.write(b, b"x" * 1000)
            size = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (size + 32 * 2**20, resource.RLIM_INFINITY))
            hop = pump.start(OwnedFd(a), OwnedFd(d), buffer_size=MAX_BUFFER_SIZE)
            try:
                await asyncio.wait_for(hop.wait(), 60)  # a failure, never a hang
            except MemoryError as error:
                print("MemoryError", error)
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            # Both ends were closed all the same.
            try:
                os.write(b, b"x")
            except BrokenPipeError:
                print("source closed")
            print("sink closed" if os.read(c, 10) == b"" else "sink open")

        asyncio.run(main())
        """,
        env={"CUPRUM_STREAM_BACKEND": backend_name},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("MemoryError"), done.stdout
    assert lines[1:] == ["source closed", "sink closed"]


@pytest.mark.skipif(not is_rust_available(), reason="the Rust extension is not built")
def test_an_outcome_that_cannot_be_built_is_the_waiters_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No memory for a finished hop's outcome: ``wait()`` raises it, other hops still end."""
    from cuprum.pumps import rust as rust_pump  # noqa: PLC0415 (the module under test)

    calls: list[int] = []

    def outcome_or_no_memory(moved: int, *, downstream_closed: bool, cancelled: bool) -> HopOutcome:
        calls.append(moved)
        if len(calls) == 1:
            raise MemoryError
        return HopOutcome(moved, downstream_closed=downstream_closed, cancelled=cancelled)

    monkeypatch.setattr(rust_pump, "HopOutcome", outcome_or_no_memory)

    async def main() -> list[HopOutcome | BaseException]:
        hops: list[rust_pump.RustHop] = []
        for _ in range(3):
            a, b = os.pipe2(os.O_CLOEXEC)
            c, d = os.pipe2(os.O_CLOEXEC)
            os.close(b)
            os.close(c)
            hops.append(rust_pump.RustPump().start(OwnedFd(a), OwnedFd(d), buffer_size=4096))
        return await asyncio.wait_for(
            asyncio.gather(*(hop.wait() for hop in hops), return_exceptions=True), 20
        )

    results = run(main())
    assert sum(isinstance(result, MemoryError) for result in results) == 1
    assert sum(isinstance(result, HopOutcome) for result in results) == 2


@pytest.mark.skipif(not is_rust_available(), reason="the Rust extension is not built")
def test_a_forked_child_gets_a_fresh_runtime() -> None:
    done = child(
        """
        import asyncio, os
        from cuprum.fds import OwnedFd
        from cuprum.pumps import pump_for
        from cuprum.stream_backend import StreamBackend

        pump = pump_for(StreamBackend.RUST)

        async def once():
            a, b = os.pipe2(os.O_CLOEXEC)
            c, d = os.pipe2(os.O_CLOEXEC)
            hop = pump.start(OwnedFd(a), OwnedFd(d), buffer_size=4096)
            os.write(b, b"forked")
            os.close(b)
            outcome = await asyncio.wait_for(hop.wait(), 20)
            data = os.read(c, 100)
            os.close(c)
            return outcome.bytes_moved, data

        assert asyncio.run(once()) == (6, b"forked")
        pid = os.fork()
        if pid == 0:
            os._exit(0 if asyncio.run(once()) == (6, b"forked") else 1)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert done.stdout == "child 0\n", done.stderr


@pytest.mark.skipif(not is_rust_available(), reason="the Rust extension is not built")
def test_a_rust_panic_arrives_as_runtime_error_not_panic_exception() -> None:
    with pytest.raises(RuntimeError, match=r"internal error in cuprum\._rust") as caught:
        rust_extension()._panic_for_tests()  # pyright: ignore[reportPrivateUsage]
    assert type(caught.value) is RuntimeError


def test_the_buffer_bound_is_the_same_in_both_backends() -> None:
    if is_rust_available():
        assert rust_extension().MAX_BUFFER_SIZE == MAX_BUFFER_SIZE
