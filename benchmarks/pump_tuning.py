"""Pump tuning: the Python backend's read size and the hop pipes' kernel buffer.

``tools/bazel run //benchmarks:pump_tuning [-- --quick]``. Moves the same
payload through ``head -c N /dev/zero | cat | wc -c`` with the Python
backend under different settings; the baseline is the shipped defaults
(256 KiB reads, 256 KiB write high-water mark, 1 MiB hop pipes). These are
the figures behind the defaults recorded in docs/design.md.
"""

from __future__ import annotations

import os

from harness import Case, measure, parse_args, report

from cuprum import CAT, HEAD, WC, runner, sh
from cuprum.pumps import python as python_pump

KIB = 1024
MIB = 1024 * KIB
DEFAULTS = (python_pump.READ_SIZE, python_pump.WRITE_HIGH_WATER, runner.HOP_PIPE_SIZE)


def configured(read_size: int, high_water: int, pipe_size: int, size: int) -> Case:
    """A case that runs the pipeline with these settings."""

    def run() -> None:
        python_pump.READ_SIZE, python_pump.WRITE_HIGH_WATER, runner.HOP_PIPE_SIZE = (
            read_size,
            high_water,
            pipe_size,
        )
        try:
            pipeline = sh.make(HEAD)("-c", str(size), "/dev/zero") | sh.make(CAT)() | sh.make(WC)("-c")
            result = pipeline.run_sync(timeout=600)
            assert int(result.stdout or "0") == size
        finally:
            python_pump.READ_SIZE, python_pump.WRITE_HIGH_WATER, runner.HOP_PIPE_SIZE = DEFAULTS

    name = f"read {read_size // KIB}K hw {high_water // KIB}K pipe {pipe_size // KIB}K"
    return Case(name, run)


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    os.environ["CUPRUM_STREAM_BACKEND"] = "python"
    size = (32 if args.quick else 256) * MIB
    settings = [
        DEFAULTS,
        (64 * KIB, 64 * KIB, 64 * KIB),
        (64 * KIB, 256 * KIB, 1 * MIB),
        (256 * KIB, 256 * KIB, 64 * KIB),
        (256 * KIB, 1 * MIB, 1 * MIB),
        (1 * MIB, 1 * MIB, 1 * MIB),
    ]
    cases = [configured(*setting, size) for setting in settings]
    report(
        "pump_tuning", f"python backend, {size // MIB} MiB", measure(cases, args.runs), args, per=size / MIB
    )


if __name__ == "__main__":
    main()
