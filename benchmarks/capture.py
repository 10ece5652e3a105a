"""Capture: 256 MiB of text from one command, decoded.

``tools/bazel run //benchmarks:capture [-- --quick]``. The baseline is
``subprocess.run(capture_output=True, text=True)``; the case is Cuprum's
``run_sync()``, which captures in Python under either backend (the Rust
``consume`` was removed: see docs/performance.md), beside the peers
(plumbum, sh, sarge) and, for bytes, ``subprocess.run(capture_output=True)``
against ``RunOutputOptions(text=False)``. The echo rows capture while
copying the output to a file: ``sh -c 'head ... | tee FILE'`` captured by
``subprocess.run(text=True)``, against ``RunOutputOptions(echo=True)`` with
the file as ``ExecutionContext.stdout_sink``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import peers
from harness import Case, measure, parse_args, report

from cuprum import HEAD, ExecutionContext, RunOutputOptions, sh

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

    descriptor, echo_path = tempfile.mkstemp(prefix="cuprum-echo-")
    echo_file = os.fdopen(descriptor, "w", encoding="utf-8")
    shell_tee = f"{' '.join(argv)} | tee {echo_path}"

    def tee_baseline() -> None:
        done = subprocess.run(["sh", "-c", shell_tee], capture_output=True, text=True, check=True)
        assert len(done.stdout) == size

    def cuprum_echo() -> None:
        echo_file.seek(0)
        echo_file.truncate()
        result = sh.make(HEAD)(*argv[1:]).run_sync(
            timeout=600,
            output=RunOutputOptions(echo=True),
            context=ExecutionContext(stdout_sink=echo_file),
        )
        assert result.stdout is not None
        assert len(result.stdout) == size == echo_file.tell()

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
        Case("sh -c '... | tee FILE' (text)", tee_baseline),
        Case("cuprum echo to FILE (text)", cuprum_echo),
    ]
    report(
        "capture",
        f"capture {size // MIB} MiB from one command",
        measure(cases, args.runs),
        args,
        per=size / MIB,
    )
    echo_file.close()
    Path(echo_path).unlink()


if __name__ == "__main__":
    main()
