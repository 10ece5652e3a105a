"""The I/O model (issue 12): live handles, bytes, redirects, merged stderr,
stdin from files and streams, accepted exit codes, natural flags."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import group_alive, no_fd_leak, py, shell, wait_until, written_pids

import cuprum
from cuprum import (
    CAT,
    DEVNULL,
    ECHO,
    GREP,
    HEAD,
    INHERIT,
    LS,
    PIPE,
    STDOUT,
    YES,
    Append,
    CommandFailed,
    ExecutionContext,
    LiveProcessError,
    PipelineFailed,
    RunOutputOptions,
    StdinInput,
    TimeoutExpired,
    sh,
)
from cuprum.fds import owned_pipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

BYTES = RunOutputOptions(text=False)


# --- live handles ------------------------------------------------------------------


def test_lines_arrive_while_the_command_runs() -> None:
    async def main() -> list[tuple[str, bool]]:
        seen: list[tuple[str, bool]] = []
        cmd = py("import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.2)")
        async with cmd.start() as proc:
            seen.extend([(line, proc.returncodes[-1] is None) async for line in proc.stdout])
            result = await proc.wait()
        assert result.ok
        assert result.stdout == ""  # everything was read live
        return seen

    seen = asyncio.run(main())
    assert [line for line, _ in seen] == ["0\n", "1\n", "2\n"]
    assert seen[0][1], "the first line came before the command ended"


def test_wait_keeps_what_was_not_read() -> None:
    async def main() -> str | None:
        async with sh.make(cuprum.SEQ)(1, 5).start() as proc:
            first = await proc.stdout.readline()
            assert first == "1\n"
            return (await proc.wait()).stdout

    assert asyncio.run(main()) == "2\n3\n4\n5\n"


def test_an_endless_command_streams_in_bounded_memory_and_leaving_reaps_it() -> None:
    async def main() -> int:
        async with sh.make(YES)().start() as proc:
            count = 0
            async for _ in proc.stdout:
                count += 1
                if count == 200_000:
                    break
            pid = proc.pid
            buffered = proc.stdout._size  # pyright: ignore[reportPrivateUsage]
            assert buffered <= 2 * 1024 * 1024
        return pid

    with no_fd_leak():
        pid = asyncio.run(main())
    assert wait_until(lambda: not group_alive(pid), timeout=10)


def test_a_whole_pipeline_can_be_started_and_shows_progress() -> None:
    async def main() -> tuple[list[tuple[int, ...]], object]:
        progress: list[tuple[int, ...]] = []
        producer = py("import sys\nfor _ in range(64): sys.stdout.write('x' * 65536); sys.stdout.flush()")
        async with (producer | sh.make(CAT)() | sh.make(cuprum.WC)("-c")).start() as proc:
            while proc.returncodes[0] is None:
                progress.append(proc.hop_bytes)
                await asyncio.sleep(0.01)
            result = await proc.wait()
        return progress, result

    progress, outcome = asyncio.run(main())
    assert isinstance(outcome, cuprum.PipelineResult)
    result: cuprum.PipelineResult[str] = outcome  # pyright: ignore[reportUnknownVariableType]
    assert result.stdout is not None
    assert int(result.stdout) == 64 * 65536
    assert result.hop_bytes == (64 * 65536, 64 * 65536)
    assert all(len(sample) == 2 for sample in progress)


def test_interactive_stdin() -> None:
    async def main() -> tuple[str, str | None]:
        async with sh.make(CAT)().start(stdin=PIPE) as proc:
            await proc.stdin.write(b"hello\n")
            echoed = await proc.stdout.readline()
            await proc.stdin.write(b"bye\n")
            await proc.stdin.close()
            result = await proc.wait()
        return echoed, result.stdout

    assert asyncio.run(main()) == ("hello\n", "bye\n")


def test_writing_to_a_stdin_the_child_closed_is_broken_pipe() -> None:
    async def main() -> None:
        async with sh.make(cuprum.TRUE)().start(stdin=PIPE) as proc:
            await proc.wait()
            with pytest.raises(LiveProcessError):
                await proc.stdin.write(b"x")

        async with shell("exec 0<&-; sleep 30").start(stdin=PIPE) as proc:
            await asyncio.sleep(0.2)
            with pytest.raises(BrokenPipeError):
                await _flood(proc.stdin)

    asyncio.run(main())


def test_leaving_the_block_early_terminates_and_reaps_every_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    async def main() -> None:
        async with (shell(f"sleep 100 & echo $! > '{pidfile}'; wait") | sh.make(CAT)()).start():
            assert await asyncio.to_thread(wait_until, lambda: written_pids(pidfile))

    with no_fd_leak():
        asyncio.run(main())
    [grandchild] = written_pids(pidfile)
    assert wait_until(lambda: not _alive(grandchild), timeout=10)


async def _flood(stdin: cuprum.LiveStdin) -> None:
    for _ in range(64):
        await stdin.write(b"x" * 65536)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:  # noqa: PTH123
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_start_needs_async_with() -> None:
    handle = sh.make(ECHO)("x").start()
    with pytest.raises(LiveProcessError, match="async with"):
        _ = handle.stdout
    with pytest.raises(LiveProcessError, match="async with"):
        asyncio.run(_await(handle))

    async def twice() -> None:
        async with handle:
            pass
        with pytest.raises(LiveProcessError, match="only once"):
            async with handle:
                pass

    asyncio.run(twice())


async def _await(handle: object) -> None:
    await handle  # pyright: ignore[reportGeneralTypeIssues]


def test_a_live_timeout_kills_and_reports() -> None:
    async def main() -> None:
        async with shell("echo a; sleep 30").start(timeout=0.3) as proc:
            assert await proc.stdout.readline() == "a\n"
            with pytest.raises(TimeoutExpired):
                await proc.wait()

    asyncio.run(main())


# --- bytes ----------------------------------------------------------------------------


def test_bytes_mode_is_exact() -> None:
    data = bytes(range(256)) * 4 + b"\xff\xfe\r\n"
    code = f"import sys; sys.stdout.buffer.write({data!r}); sys.stderr.buffer.write(b'\\xc3')"
    result = py(code).run_sync(output=BYTES)
    assert result.stdout == data
    assert result.stderr == b"\xc3"


@settings(max_examples=25)
@given(st.binary(max_size=200_000), st.integers(min_value=1, max_value=70_000))
def test_bytes_mode_is_exact_for_any_payload_and_chunking(payload: bytes, chunk: int) -> None:
    code = (
        "import sys, time\ndata = sys.stdin.buffer.read()\n"
        f"for i in range(0, len(data), {chunk}):\n"
        f"    sys.stdout.buffer.write(data[i:i + {chunk}]); sys.stdout.flush()"
    )
    result = (py(code) | sh.make(CAT)()).run_sync(output=BYTES, stdin=StdinInput(data=payload))
    assert result.stdout == payload


@settings(max_examples=25)
@given(
    st.lists(
        st.text(alphabet=st.characters(exclude_characters="\n", exclude_categories=("Cs",))), max_size=30
    ),
    st.booleans(),
)
def test_streamed_lines_are_the_captured_lines(lines: list[str], final_newline: bool) -> None:
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")

    async def main() -> tuple[list[str], str | None]:
        async with sh.make(CAT)().start(stdin=StdinInput(text=text)) as proc:
            streamed = [line async for line in proc.stdout]
        captured = await sh.make(CAT)().run(stdin=StdinInput(text=text))
        return streamed, captured.stdout

    streamed, captured = asyncio.run(main())
    assert captured == text
    assert "".join(streamed) == text
    # Lines end at "\n" only (as asyncio's readline and a shell's read).
    expected = text.split("\n")
    expected = [f"{part}\n" for part in expected[:-1]] + ([expected[-1]] if expected[-1] else [])
    assert streamed == expected
    if not any(char in text for char in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        assert streamed == text.splitlines(keepends=True)


def test_bytes_streams_yield_bytes() -> None:
    async def main() -> list[bytes]:
        async with sh.make(cuprum.PRINTF)("a\\nb").start(output=BYTES) as proc:
            return [line async for line in proc.stdout]

    assert asyncio.run(main()) == [b"a\n", b"b"]


def test_text_false_with_an_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="text=False"):
        RunOutputOptions(text=False, encoding="latin-1")  # pyright: ignore[reportCallIssue, reportArgumentType]


# --- redirects -----------------------------------------------------------------------


def test_stdout_to_a_file_truncates_and_append_appends(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old content\n", encoding="utf-8")
    result = sh.make(ECHO)("one").run_sync(output=RunOutputOptions(stdout=target))
    assert result.stdout is None
    assert target.read_text(encoding="utf-8") == "one\n"
    sh.make(ECHO)("two").run_sync(output=RunOutputOptions(stdout=Append(target)))
    assert target.read_text(encoding="utf-8") == "one\ntwo\n"


def test_stdout_to_a_descriptor_a_binary_file_and_devnull(tmp_path: Path) -> None:
    target = tmp_path / "fd.txt"
    with open(target, "wb") as handle:  # noqa: PTH123
        sh.make(ECHO)("via fd").run_sync(output=RunOutputOptions(stdout=handle.fileno()))
        sh.make(ECHO)("via file").run_sync(output=RunOutputOptions(stdout=handle))
    assert target.read_text(encoding="utf-8") == "via fd\nvia file\n"
    assert sh.make(ECHO)("x").run_sync(output=RunOutputOptions(stdout=DEVNULL)).stdout is None


def test_stderr_merged_into_stdout() -> None:
    result = shell("echo out; echo err >&2; echo out2").run_sync(output=RunOutputOptions(stderr=STDOUT))
    assert result.stdout == "out\nerr\nout2\n"
    assert result.stderr is None
    piped = (shell("echo e1 >&2; echo o1") | sh.make(CAT)()).run_sync(output=RunOutputOptions(stderr=STDOUT))
    assert piped.stdout == "e1\no1\n"


def test_subprocess_constants_are_accepted() -> None:
    options = RunOutputOptions(stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    assert options.stdout is DEVNULL
    assert options.stderr is STDOUT


def test_inherited_stdio_is_written_directly(capfd: pytest.CaptureFixture[str]) -> None:
    result = shell("echo to-parent; echo err-to-parent >&2").run_sync(
        output=RunOutputOptions(stdout=INHERIT, stderr=INHERIT)
    )
    captured = capfd.readouterr()
    assert (result.stdout, result.stderr) == (None, None)
    assert captured.out == "to-parent\n"
    assert captured.err == "err-to-parent\n"


def test_stderr_visible_while_stdout_is_captured(capfd: pytest.CaptureFixture[str]) -> None:
    result = shell("echo data; echo progress >&2").run_sync(output=RunOutputOptions(stderr=INHERIT))
    assert result.stdout == "data\n"
    assert capfd.readouterr().err == "progress\n"


BAD_TARGETS: list[tuple[str, object, type[Exception]]] = [
    ("missing-directory", "missing/out.txt", FileNotFoundError),
    ("text-file-object", io.StringIO(), TypeError),
    ("bare-str", "out.txt!", TypeError),
    ("negative-fd", -5, ValueError),
    ("stdout-for-stdout", STDOUT, ValueError),
    ("no-descriptor", io.BytesIO(), TypeError),
]


@pytest.mark.parametrize(
    ("target", "error"), [case[1:] for case in BAD_TARGETS], ids=[c[0] for c in BAD_TARGETS]
)
def test_bad_redirects_fail_before_anything_starts(
    tmp_path: Path, target: object, error: type[Exception]
) -> None:
    calls: list[object] = []
    if target == "missing/out.txt":
        target = tmp_path / "missing" / "out.txt"
    with no_fd_leak(), cuprum.before(calls.append), pytest.raises(error):
        _run_with_stdout(target)
    assert calls == []


def _run_with_stdout(target: object) -> None:
    sh.make(ECHO)("x").run_sync(output=RunOutputOptions(stdout=target))  # pyright: ignore[reportArgumentType]


def test_a_closed_descriptor_or_file_is_refused(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    os.close(write_end)
    with pytest.raises(OSError, match="not open"):
        sh.make(ECHO)("x").run_sync(output=RunOutputOptions(stdout=write_end))
    handle = open(tmp_path / "f", "wb")  # noqa: PTH123, SIM115
    handle.close()
    with pytest.raises(ValueError, match="closed"):
        RunOutputOptions(stdout=handle)


# --- stdin --------------------------------------------------------------------------------


def test_stdin_from_a_file_descriptor_and_inherit(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("from a file\n", encoding="utf-8")
    assert sh.make(CAT)().run_sync(stdin=StdinInput(path=source)).stdout == "from a file\n"
    with open(source, "rb") as handle:  # noqa: PTH123
        assert sh.make(CAT)().run_sync(stdin=StdinInput(fd=handle.fileno())).stdout == "from a file\n"
    with pytest.raises(FileNotFoundError):
        sh.make(CAT)().run_sync(stdin=StdinInput(path=tmp_path / "missing"))


def test_stdin_from_an_async_iterable() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(100):
            yield f"{index}\n".encode()
            if index % 10 == 0:
                await asyncio.sleep(0)

    result = (sh.make(CAT)() | sh.make(cuprum.WC)("-l")).run_sync(stdin=StdinInput(stream=chunks()))
    assert result.stdout is not None
    assert int(result.stdout) == 100


def test_stdin_given_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one source"):
        StdinInput(text="a", path=tmp_path)
    with pytest.raises(ValueError, match="PIPE"):
        sh.make(CAT)().run_sync(stdin=PIPE)  # pyright: ignore[reportArgumentType]


# --- accepted exit codes --------------------------------------------------------------------


def test_ok_codes_decide_ok_check_and_the_pipeline_policy() -> None:
    grep = sh.make(GREP)("needle").with_ok_codes(0, 1)
    result = grep.run_sync(stdin=StdinInput(text="hay\n"), check=True)
    assert result.exit_code == 1
    assert result.ok
    pipeline = sh.make(ECHO)("hay") | grep | sh.make(CAT)()
    piped = pipeline.run_sync(check=True)
    assert piped.ok
    assert piped.exit_codes == (0, 1, 0)
    with pytest.raises(CommandFailed):
        sh.make(GREP)("needle").run_sync(stdin=StdinInput(text="hay\n"), check=True)
    with pytest.raises(PipelineFailed):
        (sh.make(ECHO)("hay") | sh.make(GREP)("needle")).run_sync(check=True)


@pytest.mark.parametrize(
    ("codes", "error"),
    [((), ValueError), ((256,), ValueError), ((-1,), ValueError), (("1",), TypeError), ((True,), TypeError)],
)
def test_bad_ok_codes_are_refused(codes: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        sh.make(GREP)("x").with_ok_codes(*codes)  # pyright: ignore[reportArgumentType]


# --- natural flags and argument order ---------------------------------------------------------


def test_one_letter_options_are_short() -> None:
    assert sh.make(LS)(l=True).argv == ("ls", "-l")
    assert sh.make(HEAD)(n=3).argv == ("head", "-n", "3")
    assert sh.make(HEAD)("notes", n=3, quiet=True).argv == ("head", "notes", "-n", "3", "--quiet")
    assert sh.make(cuprum.SORT)(reverse=True, k="2").argv == ("sort", "--reverse", "-k", "2")


def test_options_go_before_the_end_of_options_marker() -> None:
    assert sh.make(GREP)("x", "--", count=True).argv == ("grep", "x", "--count", "--")
    assert sh.make(GREP)("x", "--", "-file-", count=True).argv == ("grep", "x", "--count", "--", "-file-")
    result = sh.make(GREP)("x", "--", count=True).run_sync(stdin=StdinInput(text="x\ny\nx\n"))
    assert result.stdout == "2\n"


def test_a_trailing_underscore_is_dropped() -> None:
    assert sh.make(GREP)(regexp_="a", e_="b").argv == ("grep", "--regexp=a", "-e", "b")


# --- subprocess-compatible errors -----------------------------------------------------------


def test_timeout_expired_is_a_subprocess_timeout_expired() -> None:
    cmd = shell("echo partial; echo oops >&2; sleep 30")
    with pytest.raises(subprocess.TimeoutExpired) as caught:
        cmd.run_sync(timeout=0.3)
    error = caught.value
    assert isinstance(error, TimeoutExpired)
    assert isinstance(error, TimeoutError)
    assert (error.cmd, error.timeout, error.output, error.stdout, error.stderr) == (
        cmd.argv,
        0.3,
        "partial\n",
        "partial\n",
        "oops\n",
    )


def test_command_failed_is_a_called_process_error_with_the_stderr_tail() -> None:
    cmd = py("import sys; sys.stderr.write('x' * 1000 + '\\nthe real reason\\n'); sys.exit(2)")
    with pytest.raises(subprocess.CalledProcessError) as caught:
        cmd.run_sync(check=True)
    message = str(caught.value)
    assert message.endswith("the real reason")
    assert len(message) < 600 + len(cmd.shell_quoted)


# --- portability ---------------------------------------------------------------------------------


def test_pipes_are_portable_and_never_inherited() -> None:
    read_end, write_end = owned_pipe()
    try:
        assert not os.get_inheritable(read_end.fileno())
        assert not os.get_inheritable(write_end.fileno())
    finally:
        read_end.close()
        write_end.close()


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_echo_and_capture_together(stream: str, capsys: pytest.CaptureFixture[str]) -> None:
    del capsys
    sink = io.StringIO()
    context = ExecutionContext(stdout_sink=sink, stderr_sink=sink)
    target = ">&2" if stream == "stderr" else ""
    result = shell(f"echo shown {target}").run_sync(output=RunOutputOptions(echo=True), context=context)
    assert getattr(result, stream) == "shown\n"
    assert sink.getvalue() == "shown\n"


def test_a_line_longer_than_the_limit_raises_and_loses_nothing() -> None:
    """Output that never ends a line cannot exhaust memory: ``readline()``
    raises ``LineTooLongError`` (a ``ValueError``) past the limit, and
    ``read(n)`` still takes the long line, after which lines read as before."""
    from cuprum.engine.live_streams import LINE_LIMIT  # noqa: PLC0415

    size = LINE_LIMIT + 4 * 1024 * 1024
    producer = py(f"import sys; sys.stdout.write('x' * {size} + '\\nend\\n')")

    async def main() -> tuple[int, str, str]:
        async with producer.start() as proc:
            with pytest.raises(cuprum.LineTooLongError, match="read it with read"):
                await proc.stdout.readline()
            taken = await proc.stdout.read(size)
            newline, last = await proc.stdout.readline(), await proc.stdout.readline()
            await proc.wait()
        return len(taken), newline, last

    assert asyncio.run(main()) == (size, "\n", "end\n")
