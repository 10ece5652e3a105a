"""Capture: 256 MiB of text from one command, decoded.

``tools/bazel run //benchmarks:capture [-- --quick]``. The baseline is
``subprocess.run(capture_output=True, text=True)``; the case is Cuprum's
``run_sync()``, which captures in Python under either backend (the Rust
``consume`` was removed: see docs/performance.md).
"""

from __future__ import annotations

import os
import subprocess

from harness import Case, measure, parse_args, report

from cuprum import HEAD, sh

MIB = 1024 * 1024


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    size = (16 if args.quick else 256) * MIB
    # NUL bytes are valid UTF-8 (U+0000) and cost the producer nothing.
    argv = ["head", "-c", str(size), "/dev/zero"]

    def baseline() -> None:
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        assert len(done.stdout) == size

    def cuprum(backend: str) -> None:
        os.environ["CUPRUM_STREAM_BACKEND"] = backend
        result = sh.make(HEAD)(*argv[1:]).run_sync(timeout=600)
        assert result.stdout is not None
        assert len(result.stdout) == size

    cases = [
        Case("subprocess.run(text=True)", baseline),
        Case("cuprum run_sync()", lambda: cuprum("python")),
    ]
    report(
        "capture",
        f"capture {size // MIB} MiB from one command",
        measure(cases, args.runs),
        args,
        per=size / MIB,
    )


if __name__ == "__main__":
    main()
