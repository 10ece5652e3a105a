"""The same pipeline under both stream backends, timed against the shell.

Run it with ``tools/bazel run //examples:backend_comparison``. 256 MiB of
zeros go through ``head -c N /dev/zero | cat | wc -c`` three ways: a plain
shell pipeline (the baseline), Cuprum with the Python backend, and Cuprum
with the Rust backend; each figure is the best of three runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from typing import TYPE_CHECKING

from cuprum import CAT, HEAD, WC, is_rust_available, sh

if TYPE_CHECKING:
    from collections.abc import Callable

MIB = 1024 * 1024


def best_of(runs: int, action: Callable[[], None]) -> float:
    """The fastest of ``runs`` timings of ``action()``."""
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def cuprum_pipeline(backend: str, size: int) -> None:
    """Run the pipeline through Cuprum with ``backend``."""
    os.environ["CUPRUM_STREAM_BACKEND"] = backend
    pipeline = sh.make(HEAD)("-c", str(size), "/dev/zero") | sh.make(CAT)() | sh.make(WC)("-c")
    result = pipeline.run_sync(timeout=120)
    assert result.ok
    assert result.stdout is not None
    assert int(result.stdout) == size


def shell_pipeline(size: int) -> None:
    """The baseline: the same pipeline in a shell."""
    subprocess.run(["sh", "-c", f"head -c {size} /dev/zero | cat | wc -c"], check=True, capture_output=True)


def main() -> None:
    """Time the three and print them as ratios to the shell."""
    parser = argparse.ArgumentParser(description="Time one pipeline under the shell and both backends.")
    parser.add_argument("--size-mib", type=int, default=256, help="payload size (default 256)")
    size = parser.parse_args().size_mib * MIB
    backends = ["python", "rust"] if is_rust_available() else ["python"]
    shell = best_of(3, lambda: shell_pipeline(size))
    print(f"{size // MIB} MiB through head | cat | wc -c (best of 3)")
    print(f"  {'shell':<8} {shell:6.3f} s   1.00x")
    for backend in backends:
        elapsed = best_of(3, lambda backend=backend: cuprum_pipeline(backend, size))
        print(f"  {backend:<8} {elapsed:6.3f} s   {elapsed / shell:4.2f}x")


if __name__ == "__main__":
    main()
