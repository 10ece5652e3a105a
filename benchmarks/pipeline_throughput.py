"""Pipeline throughput: ``producer | cat | wc -c`` through a shell and through Cuprum.

``tools/bazel run //benchmarks:pipeline_throughput [-- --quick]``. The
baseline is the same pipeline run by ``sh -c``; the cases are the peers
(plumbum, sh, sarge) and Cuprum with the Python backend and with the Rust
backend.
"""

from __future__ import annotations

import os
import subprocess

import peers
from harness import Case, measure, parse_args, report

from cuprum import CAT, HEAD, WC, sh

MIB = 1024 * 1024


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    size = (32 if args.quick else 512) * MIB

    def shell() -> None:
        done = subprocess.run(
            ["sh", "-c", f"head -c {size} /dev/zero | cat | wc -c"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(done.stdout) == size

    def cuprum(backend: str) -> None:
        os.environ["CUPRUM_STREAM_BACKEND"] = backend
        pipeline = sh.make(HEAD)("-c", str(size), "/dev/zero") | sh.make(CAT)() | sh.make(WC)("-c")
        result = pipeline.run_sync(timeout=600)
        assert result.ok
        assert int(result.stdout or "0") == size

    def peer(function: object) -> None:
        assert int(function(size)) == size  # pyright: ignore[reportCallIssue, reportArgumentType, reportUnknownArgumentType]

    cases = [
        Case("shell pipeline", shell),
        Case("plumbum", lambda: peer(peers.plumbum_pipeline)),
        Case("sh", lambda: peer(peers.sh_pipeline)),
        Case("sarge", lambda: peer(peers.sarge_pipeline)),
        Case("cuprum python backend", lambda: cuprum("python")),
        Case("cuprum rust backend", lambda: cuprum("rust")),
    ]
    title = f"{size // MIB} MiB through head -c | cat | wc -c"
    report("pipeline_throughput", title, measure(cases, args.runs), args, per=size / MIB)


if __name__ == "__main__":
    main()
