"""Hop buffer tuning: throughput of one pipeline at each ``hop_buffer_size``.

``tools/bazel run //benchmarks:pump_tuning [-- --quick]``. Moves the same
payload through ``head -c N /dev/zero | cat | wc -c`` with the selected
stream backend and different hop buffers; the baseline is the default
(1 MiB). These are the figures behind the default recorded in
docs/performance.md.
"""

from __future__ import annotations

from harness import Case, measure, parse_args, report

from cuprum import CAT, HEAD, WC, sh
from cuprum.engine.stdio import DEFAULT_HOP_BUFFER

KIB = 1024
MIB = 1024 * KIB


def configured(hop_buffer_size: int, size: int) -> Case:
    """A case that runs the pipeline with this hop buffer."""
    pipeline = (sh.make(HEAD)("-c", str(size), "/dev/zero") | sh.make(CAT)() | sh.make(WC)("-c")).with_policy(
        hop_buffer_size=hop_buffer_size
    )

    def run() -> None:
        result = pipeline.run_sync(timeout=600)
        assert int(result.stdout or "0") == size

    return Case(f"hop buffer {hop_buffer_size // KIB} KiB", run)


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    size = (32 if args.quick else 256) * MIB
    sizes = [DEFAULT_HOP_BUFFER, 64 * KIB, 256 * KIB, 4 * MIB]
    cases = [configured(hop, size) for hop in sizes]
    report("pump_tuning", f"{size // MIB} MiB", measure(cases, args.runs), args, per=size / MIB)


if __name__ == "__main__":
    main()
