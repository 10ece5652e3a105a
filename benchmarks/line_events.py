"""Line events: how fast output lines reach an observe hook.

``tools/bazel run //benchmarks:line_events [-- --quick]``. A child prints a
million short lines. The baseline captures them with ``subprocess.run`` and
calls the same trivial hook once per ``splitlines()`` line; the case runs the
command through Cuprum with the hook registered as an observer, so every
line becomes an ``ExecEvent``; the last case registers it as an ``async``
observer (awaited in line, as an eager task, under a timeout).
"""

from __future__ import annotations

import subprocess

from harness import Case, measure, parse_args, report

from cuprum import SEQ, ExecEvent, ExecPhase, observe, sh


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    lines = 100_000 if args.quick else 1_000_000
    seen: list[int] = [0]

    def hook(event: ExecEvent) -> None:
        if event.phase is ExecPhase.STDOUT:
            seen[0] += 1

    def baseline() -> None:
        seen[0] = 0
        done = subprocess.run(["seq", str(lines)], capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            hook(ExecEvent(ExecPhase.STDOUT, "0", "seq", (), None, None, 0.0, line, None, None, {}))
        assert seen[0] == lines

    def cuprum() -> None:
        seen[0] = 0
        with observe(hook):
            sh.make(SEQ)(str(lines)).run_sync(timeout=600)
        assert seen[0] == lines

    async def async_hook(event: ExecEvent) -> None:
        hook(event)

    def cuprum_async() -> None:
        seen[0] = 0
        with observe(async_hook):
            sh.make(SEQ)(str(lines)).run_sync(timeout=600)
        assert seen[0] == lines

    cases = [
        Case("subprocess + splitlines", baseline),
        Case("cuprum observe hook", cuprum),
        Case("cuprum async observe hook", cuprum_async),
    ]
    report("line_events", f"{lines:,} lines to an observe hook", measure(cases, args.runs), args, per=lines)


if __name__ == "__main__":
    main()
