"""Adversarial review, round 2: the I/O model's promises under hostile or careless use.

Each test is a minimal reproducer expected to FAIL on the engine as
reviewed. Run under both backends (``CUPRUM_STREAM_BACKEND``).
"""

from __future__ import annotations

import asyncio
import copy
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support import py, shell

from cuprum import (
    CAT,
    HEAD,
    STDOUT,
    WC,
    ExecEvent,
    ExecutionContext,
    PipelineFailed,
    RunOutputOptions,
    StdinInput,
    observe,
    sh,
)

# A child interpreter imports the cuprum this test imports (under Bazel the
# runfiles' package, with its extension; never the source tree) and support.
CHILD_PYTHONPATH = os.pathsep.join([str(Path(__file__).parent), *sys.path])


@pytest.mark.parametrize("encoding", ["base64", "hex", "rot13", "zlib_codec"])
def test_a_codec_that_is_not_a_text_encoding_is_refused_when_made(encoding: str) -> None:
    """``check_encoding`` only asks ``codecs.lookup``: bytes-to-bytes and
    str-to-str codecs are accepted, then the run fails after the process ran
    (``AssertionError``/``TypeError``/``LookupError`` from deep inside)."""
    with pytest.raises((LookupError, ValueError, TypeError)):
        RunOutputOptions(encoding=encoding)
    with pytest.raises((LookupError, ValueError, TypeError)):
        ExecutionContext(encoding=encoding)


def test_merged_stderr_of_a_pipeline_does_not_feed_the_next_stage() -> None:
    """``RunOutputOptions(stderr=STDOUT)`` on ``a | wc -l`` gives every stage
    ``2>&1`` towards *its own* stdout: stage 0's errors are injected into
    ``wc``'s input (bash's ``{ a | wc -l; } 2>&1`` counts 1 line). With
    ``tar c | gzip`` the warnings would corrupt the archive."""
    pipeline = shell("echo out; echo ERR >&2") | sh.make(WC)("-l")
    result = pipeline.run_sync(output=RunOutputOptions(stderr=STDOUT))
    assert result.stdout is not None
    assert sorted(result.stdout.split()) == ["1", "ERR"], result.stdout  # wc counted one line


def test_reading_lines_from_endless_output_without_newlines_is_bounded() -> None:
    """``proc.stdout.readline()`` (and ``async for``) buffer a line without
    limit: on newline-less output (a ``\\r`` progress bar, binary data) the
    parent's memory grows with the output (about 1.7 GiB in 3 s for an
    endless producer). Measured in a child interpreter, capped at 256 MiB."""
    code = textwrap.dedent(
        """
        import asyncio, resource, sys
        from support import py
        from cuprum import RunOutputOptions
        producer = py(
            "import sys, time\\n"
            "for _ in range(4096): sys.stdout.buffer.write(b'x' * 65536)\\n"
            "sys.stdout.flush(); time.sleep(30)"
        )
        async def main():
            async with producer.start(output=RunOutputOptions(text=False)) as proc:
                try:
                    async with asyncio.timeout(4):
                        await proc.stdout.readline()
                except (TimeoutError, ValueError, OSError):
                    pass
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        asyncio.run(main())
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
        """
    )
    environment = {**os.environ, "PYTHONPATH": CHILD_PYTHONPATH}
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60, check=True
    )
    grown = int(child.stdout.split()[-1])
    assert grown < 64, f"readline() buffered {grown} MiB of a line that never ends"


def test_a_fail_fast_kill_mid_character_is_not_a_decoding_error() -> None:
    """design.md: "a character cut by a kill becomes U+FFFD even with
    errors='strict'". A fail-fast kill is not "cut short" (``ending`` stays
    ``None``), so the run raises ``UnicodeDecodeError`` instead of reporting
    the pipeline's failure."""
    stage0 = py(
        "import sys, time; sys.stderr.buffer.write(b'partial \\xc3'); sys.stderr.flush(); time.sleep(30)"
    )
    pipeline = (stage0 | shell("sleep 0.3; exit 1")).with_policy(fail_fast=True)
    try:
        result = pipeline.run_sync(output=RunOutputOptions(errors="strict"), timeout=10)
    except PipelineFailed:
        return
    except UnicodeDecodeError as error:
        pytest.fail(f"the fail-fast kill surfaced as {error!r}")
    assert not result.ok


def test_a_stdin_stream_does_not_hold_the_run_open_after_the_child_exited() -> None:
    """``head -n 1`` fed by an async iterable that waits for more: ``head``
    exits after one line, the pipe's reader is gone, but the feeder awaits
    the iterable forever and the run never ends. (The hop pumps notice a
    gone reader at once; the stdin feeder does not.)"""

    async def chunks():  # noqa: ANN202
        yield b"line\n"
        await asyncio.Event().wait()

    async def main() -> str:
        try:
            async with asyncio.timeout(3):
                result = await sh.make(HEAD)(n=1).run(stdin=StdinInput(stream=chunks()))
        except TimeoutError:
            return "hang"
        return result.stdout or ""

    assert asyncio.run(main()) == "line\n"


def test_a_sync_observer_raising_cancelled_error_is_reported_on_cuprum_hooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ "An observer that raises is logged on ``cuprum.hooks`` and the run
    carries on": a ``CancelledError`` (a ``BaseException``) from a sync
    observer escapes ``_deliver`` and the reader callback, is reported by
    asyncio's exception handler instead, and the other lines of the chunk
    are never delivered."""
    seen: list[str] = []

    def observer(event: ExecEvent) -> None:
        if event.line is not None:
            seen.append(event.line)
            if event.line == "a":
                raise asyncio.CancelledError

    with observe(observer):
        started = time.monotonic()
        sh.make(CAT)().run_sync(stdin=StdinInput(text="a\nb\nc\n"), timeout=5)
    assert time.monotonic() - started < 5
    assert seen == ["a", "b", "c"], seen
    assert [record for record in caplog.records if record.name == "cuprum.hooks"]


def test_results_survive_a_process_boundary() -> None:
    """A result holds ``redact``, a closure local to ``observer._line_redactor``:
    ``pickle`` fails, so ``run_sync()`` cannot return its result from a
    ``ProcessPoolExecutor`` or ``multiprocessing`` worker."""
    results = [sh.make(CAT)().run_sync(), (sh.make(CAT)() | sh.make(WC)()).run_sync()]
    for result in results:
        assert pickle.loads(pickle.dumps(result)).exit_code == result.exit_code  # noqa: S301


def test_errors_survive_pickle_and_copy() -> None:
    """``CommandFailed``, ``PipelineFailed``, ``TimeoutExpired`` and
    ``ForbiddenProgramError`` cannot be pickled or copied (their
    ``__init__`` signatures disagree with ``args``): a worker's failure
    cannot reach its parent process, and ``copy.copy(error)`` raises."""
    from cuprum import FALSE, CommandFailed, ForbiddenProgramError, ScopeConfig, TimeoutExpired, scoped  # noqa: PLC0415

    errors: list[BaseException] = []
    for attempt in (
        lambda: sh.make(FALSE)().run_sync(check=True),
        lambda: (sh.make(CAT)() | sh.make(FALSE)()).run_sync(check=True),
        lambda: shell("sleep 5").run_sync(timeout=0.1),
    ):
        try:
            attempt()
        except (CommandFailed, PipelineFailed, TimeoutExpired) as error:
            errors.append(error)
    with scoped(ScopeConfig(allowlist={CAT})):
        try:
            sh.make(WC)().run_sync()
        except ForbiddenProgramError as error:
            errors.append(error)

    def round_trip(error: BaseException) -> BaseException:
        return pickle.loads(pickle.dumps(error))  # noqa: S301

    broken: list[str] = []
    for error in errors:
        for how, clone in (("pickle", round_trip), ("copy", copy.copy)):
            try:
                clone(error)
            except Exception as failure:  # noqa: BLE001
                broken.append(f"{type(error).__name__} {how}: {failure}")
    assert not broken, broken


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pty")
@pytest.mark.xfail(
    strict=True,
    reason="a known limitation (docs/users-guide.md, Standard input): every stage leads its own "
    "process group, outside the terminal's foreground group, so a read from the terminal stops it",
)
def test_an_inherited_terminal_stdin_can_be_read() -> None:
    """``stdin=INHERIT`` from an interactive terminal: every stage leads its
    own process group, which is not the terminal's foreground group, so the
    first read gets SIGTTIN and the child stops. ``head -n 1`` never sees
    the typed line; the run ends by its timeout (or never, without one).
    (An editor, an ``ssh`` or ``sudo`` prompt stops the same way.)"""
    import pty  # noqa: PLC0415
    import select  # noqa: PLC0415

    code = textwrap.dedent(
        """
        from cuprum import HEAD, INHERIT, sh
        try:
            result = sh.make(HEAD)(n=1).run_sync(stdin=INHERIT, timeout=3)
            print("RESULT", repr(result.stdout), flush=True)
        except Exception as error:
            print("RAISED", type(error).__name__, flush=True)
        """
    )
    environment = {**os.environ, "PYTHONPATH": CHILD_PYTHONPATH}
    pid, terminal = pty.fork()
    if pid == 0:  # pragma: no cover - the child, on the pty
        os.execve(sys.executable, [sys.executable, "-c", code], environment)  # noqa: S606
    try:
        time.sleep(1.0)
        os.write(terminal, b"typed line\n")
        seen = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"RESULT" not in seen and b"RAISED" not in seen:
            ready, _, _ = select.select([terminal], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(terminal, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
    finally:
        os.waitpid(pid, 0)
        os.close(terminal)
    assert b"RESULT 'typed line\\n'" in seen, seen
