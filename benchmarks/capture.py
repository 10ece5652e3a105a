"""Capture: 256 MiB of text from one command, decoded.

``tools/bazel run //benchmarks:capture [-- --quick]``. The baseline is
``subprocess.run(capture_output=True, text=True)``; the case is Cuprum's
``run_sync()``, which captures in Python under either backend (the Rust
``consume`` was removed: see docs/performance.md), beside the peers
(plumbum, sh, sarge) and, for bytes, ``subprocess.run(capture_output=True)``
against ``RunOutputOptions(text=False)``.
"""

from __future__ import annotations

import os
import subprocess

import peers
from harness import Case, measure, parse_args, report

from cuprum import HEAD, RunOutputOptions, sh

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

    def subprocess_bytes() -> None:
        done = subprocess.run(argv, capture_output=True, check=True)
        assert len(done.stdout) == size

    def cuprum_bytes() -> None:
        result = sh.make(HEAD)(*argv[1:]).run_sync(timeout=600, output=RunOutputOptions(text=False))
        assert result.stdout is not None
        assert len(result.stdout) == size

    def peer(function: object) -> None:
        assert len(function(argv)) == size  # pyright: ignore[reportCallIssue, reportArgumentType, reportUnknownArgumentType]

    cases = [
        Case("subprocess.run(text=True)", baseline),
        Case("plumbum", lambda: peer(peers.plumbum_capture)),
        Case("sh", lambda: peer(peers.sh_capture)),
        Case("sarge", lambda: peer(peers.sarge_capture)),
        Case("cuprum run_sync() (python)", lambda: cuprum("python")),
        Case("cuprum run_sync() (rust)", lambda: cuprum("rust")),
        Case("subprocess.run() bytes", subprocess_bytes),
        Case("cuprum run_sync() bytes", cuprum_bytes),
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
