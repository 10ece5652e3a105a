"""Pump tuning: one hop, copy against splice, at several buffer sizes, both backends.

``tools/bazel run //benchmarks:pump_tuning [-- --quick]``. The payload goes
``head -c N /dev/zero`` → hop → ``wc -c``, with the hop's two pipes at the
1 MiB Cuprum asks for; the baseline is the same two programs joined by one
pipe in a shell (no hop at all). Every case runs in this process, so the
ratios compare the pumps alone: Python copies, Rust copies (the default)
and Rust splices (``zero_copy=True``, the opt-in; see docs/design.md for
what it risks).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import resource
import statistics
import subprocess

from harness import Case, measure, parse_args, report

from cuprum.engine.stdio import DEFAULT_HOP_BUFFER
from cuprum.fds import OwnedFd
from cuprum.pumps import pump_for
from cuprum.stream_backend import StreamBackend

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, DEFAULT_HOP_BUFFER)
    return read_end, write_end


def _one_hop(backend: StreamBackend, size: int, buffer_size: int, *, zero_copy: bool) -> None:
    source_read, source_write = _pipe()
    sink_read, sink_write = _pipe()
    producer = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=source_write)
    consumer = subprocess.Popen(["wc", "-c"], stdin=sink_read, stdout=subprocess.PIPE)
    os.close(source_write)
    os.close(sink_read)

    async def move() -> int:
        hop = pump_for(backend).start(
            OwnedFd(source_read), OwnedFd(sink_write), buffer_size=buffer_size, zero_copy=zero_copy
        )
        return (await hop.wait()).bytes_moved

    moved = asyncio.run(move())
    out, _ = consumer.communicate()
    producer.wait()
    assert moved == size
    assert int(out) == size


CPU: dict[str, list[float]] = {}
"""Per case: this process's CPU seconds (user + system) of each run."""


def hop_case(backend: StreamBackend, size: int, buffer_size: int, *, zero_copy: bool = False) -> Case:
    """A case that moves ``size`` bytes through one hop, recording the pump's CPU time."""
    mode = "splice" if zero_copy else "copy"
    name = f"{backend.value} {mode} {buffer_size // KIB}K"

    def run() -> None:
        before = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
        _one_hop(backend, size, buffer_size, zero_copy=zero_copy)
        after = resource.getrusage(resource.RUSAGE_SELF)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        CPU.setdefault(name, []).append(used)

    return Case(name, run)


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    size = (32 if args.quick else 512) * MIB

    def shell() -> None:
        done = subprocess.run(
            ["sh", "-c", f"head -c {size} /dev/zero | wc -c"], capture_output=True, text=True, check=True
        )
        assert int(done.stdout) == size

    cases = [
        Case("shell: one pipe, no hop", shell),
        hop_case(StreamBackend.PYTHON, size, 64 * KIB),
        hop_case(StreamBackend.PYTHON, size, 256 * KIB),
        hop_case(StreamBackend.PYTHON, size, MIB),
        hop_case(StreamBackend.RUST, size, 64 * KIB),
        hop_case(StreamBackend.RUST, size, 256 * KIB),
        hop_case(StreamBackend.RUST, size, MIB),
        hop_case(StreamBackend.RUST, size, 256 * KIB, zero_copy=True),
        hop_case(StreamBackend.RUST, size, MIB, zero_copy=True),
    ]
    report(
        "pump_tuning", f"{size // MIB} MiB through one hop", measure(cases, args.runs), args, per=size / MIB
    )
    print("  this process's CPU per GiB moved (user + system, median; the pump's own cost):")
    for name, seconds in CPU.items():
        print(f"  {name:<34} {statistics.median(seconds) * GIB / size:>9.3f}s")


if __name__ == "__main__":
    main()
