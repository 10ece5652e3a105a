"""Line streaming: how fast ``async for line in proc.stdout`` goes.

``tools/bazel run //benchmarks:line_streaming [-- --quick]``. A child prints
a million short lines. The baseline captures them with ``subprocess.run``
and walks ``splitlines()``; the cases stream them through a live handle
(``start()``), as text and as bytes, touching each line once.
"""

from __future__ import annotations

import asyncio
import subprocess

from harness import Case, measure, parse_args, report

from cuprum import SEQ, RunOutputOptions, sh


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    lines = 100_000 if args.quick else 1_000_000
    seq = sh.make(SEQ)(str(lines))

    def baseline() -> None:
        done = subprocess.run(["seq", str(lines)], capture_output=True, text=True, check=True)
        count = sum(1 for _ in done.stdout.splitlines(keepends=True))
        assert count == lines

    def streamed(*, text: bool) -> None:
        async def read_all() -> int:
            count = 0
            output = RunOutputOptions() if text else RunOutputOptions(text=False)
            async with seq.start(output=output) as proc:
                async for _ in proc.stdout:
                    count += 1
                await proc.wait()
            return count

        assert asyncio.run(read_all()) == lines

    cases = [
        Case("subprocess + splitlines", baseline),
        Case("async for (str)", lambda: streamed(text=True)),
        Case("async for (bytes)", lambda: streamed(text=False)),
    ]
    report("line_streaming", f"{lines:,} lines streamed", measure(cases, args.runs), args, per=lines)


if __name__ == "__main__":
    main()
