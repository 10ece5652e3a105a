"""Concurrent pipelines: 1 GiB split over N ``head -c | cat | wc -c`` pipelines in one loop.

``tools/bazel run //benchmarks:pipeline_concurrency [-- --quick]``. The
baseline is the same N pipelines run at once by N shells; the cases are
Cuprum with each backend, all N in one event loop (``asyncio.gather``),
for N = 64 and N = 256. The Rust rows also report the most threads the
process had while they ran (the runtime's bound: 2 x cores + 4).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from typing import Self

from harness import Case, measure, parse_args, report

from cuprum import CAT, HEAD, WC, sh

MIB = 1024 * 1024


class ThreadPeak:
    """The most threads this process had while sampling."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, len(list(Path("/proc/self/task").iterdir())))

    def __enter__(self) -> Self:
        """Start sampling."""
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    total = (64 if args.quick else 1024) * MIB
    head, cat, wc = sh.make(HEAD), sh.make(CAT), sh.make(WC)
    peaks: dict[str, int] = {}

    for count in (16, 64) if args.quick else (64, 256):
        each = total // count

        def shells(count: int = count, each: int = each) -> None:
            script = f"head -c {each} /dev/zero | cat | wc -c"
            running = [subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE) for _ in range(count)]
            for process in running:
                out, _ = process.communicate()
                assert int(out) == each

        async def pipelines(count: int, each: int) -> None:
            results = await asyncio.gather(
                *(
                    (head("-c", str(each), "/dev/zero") | cat() | wc("-c")).run(timeout=600)
                    for _ in range(count)
                )
            )
            assert all(int(result.stdout or "0") == each for result in results)

        def cuprum(backend: str, count: int = count, each: int = each) -> None:
            os.environ["CUPRUM_STREAM_BACKEND"] = backend
            with ThreadPeak() as peak:
                asyncio.run(pipelines(count, each))
            key = f"{backend} x{count}"
            peaks[key] = max(peaks.get(key, 0), peak.peak - 1)  # less the sampler

        cases = [
            Case(f"{count} shell pipelines at once", shells),
            Case(f"cuprum python backend x{count}", lambda cuprum=cuprum: cuprum("python")),
            Case(f"cuprum rust backend x{count}", lambda cuprum=cuprum: cuprum("rust")),
        ]
        title = f"{total // MIB} MiB over {count} concurrent head -c | cat | wc -c"
        report(f"pipeline_concurrency_{count}", title, measure(cases, args.runs), args, per=total / MIB)
    print("  peak threads (excluding the sampler):", peaks, f"bound {2 * (os.cpu_count() or 1) + 4}")


if __name__ == "__main__":
    main()
