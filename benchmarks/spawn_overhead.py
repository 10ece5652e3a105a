"""Spawn overhead: 200 sequential runs of ``true``.

``tools/bazel run //benchmarks:spawn_overhead [-- --quick]``. The baseline is
``subprocess.run(["true"])``; the cases are the peers (plumbum, sh, sarge),
then ``run_sync()`` and ``await run()`` (one event loop for the whole batch),
with both stream backends.
"""

from __future__ import annotations

import asyncio
import os
import subprocess

import peers
from harness import Case, measure, parse_args, report

from cuprum import TRUE, sh


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    count = 40 if args.quick else 200
    true = sh.make(TRUE)()

    def baseline() -> None:
        for _ in range(count):
            subprocess.run(["true"], check=True)

    def run_sync(backend: str) -> None:
        os.environ["CUPRUM_STREAM_BACKEND"] = backend
        for _ in range(count):
            assert true.run_sync().ok

    def run_async(backend: str) -> None:
        os.environ["CUPRUM_STREAM_BACKEND"] = backend

        async def batch() -> None:
            for _ in range(count):
                assert (await true.run()).ok

        asyncio.run(batch())

    def repeat(function: object) -> None:
        for _ in range(count):
            function()  # pyright: ignore[reportCallIssue]

    cases = [
        Case("subprocess.run", baseline),
        Case("plumbum", lambda: repeat(peers.plumbum_true)),
        Case("sh", lambda: repeat(peers.sh_true)),
        Case("sarge", lambda: repeat(peers.sarge_true)),
        Case("run_sync (python)", lambda: run_sync("python")),
        Case("run_sync (rust)", lambda: run_sync("rust")),
        Case("await run() (python)", lambda: run_async("python")),
        Case("await run() (rust)", lambda: run_async("rust")),
    ]
    report("spawn_overhead", f"{count} sequential runs of true", measure(cases, args.runs), args, per=count)


if __name__ == "__main__":
    main()
