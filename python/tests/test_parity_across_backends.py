"""Both stream backends, in one process, give identical results.

Every scenario runs twice, with ``CUPRUM_STREAM_BACKEND=python`` and then
``rust`` (the library reads the variable on every run), and the two
``PipelineResult``s must agree on ``stdout``, ``ok`` and every exit code;
each is also checked against what the scenario must produce. Only the
public API is used, so the engine behind it may change freely.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import py

from cuprum import (
    CAT,
    ECHO,
    FALSE,
    HEAD,
    SLEEP,
    TRUE,
    WC,
    YES,
    StdinInput,
    StreamBackend,
    resolve_stream_backend,
    sh,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from cuprum import Pipeline, PipelineResult

pytestmark = pytest.mark.rust

RUN_TIMEOUT: Final = 60.0
LARGE: Final = 8 * 1024 * 1024
"""Far beyond a pipe's buffer, so every hop must apply backpressure."""

cat = sh.make(CAT)
head = sh.make(HEAD)

# A child that writes its first argument (hex) in pieces cut at the offsets in
# its second, pausing between writes so that each piece is read on its own.
CHUNKED_WRITER: Final = textwrap.dedent(
    """
    import os, sys, time
    data = bytes.fromhex(sys.argv[1])
    cuts = [int(cut) for cut in sys.argv[2].split(",") if cut]
    start = 0
    for end in [*cuts, len(data)]:
        os.write(1, data[start:end])
        start = end
        time.sleep(0.002)
    """
)
# A child that writes ``count`` bytes cycling through every byte value.
BYTES_WRITER: Final = "import sys; sys.stdout.buffer.write((bytes(range(256)) * (int(sys.argv[1]) // 256)))"


@dataclass(frozen=True)
class Outcome:
    """What parity compares: a run's output, verdict and exit codes."""

    stdout: str | None
    ok: bool
    exit_codes: tuple[int, ...]

    @classmethod
    def of(cls, result: PipelineResult) -> Outcome:
        """The comparable part of ``result``."""
        return cls(result.stdout, result.ok, tuple(result.exit_codes))


def through_both(monkeypatch: pytest.MonkeyPatch, scenario: Callable[[], PipelineResult]) -> Outcome:
    """Run ``scenario`` under each backend in turn; return the outcome both gave."""
    outcomes: dict[StreamBackend, Outcome] = {}
    for backend in (StreamBackend.PYTHON, StreamBackend.RUST):
        monkeypatch.setenv("CUPRUM_STREAM_BACKEND", backend.value)
        assert resolve_stream_backend() is backend
        outcomes[backend] = Outcome.of(scenario())
    python, rust = outcomes[StreamBackend.PYTHON], outcomes[StreamBackend.RUST]
    assert python.stdout == rust.stdout
    assert python.ok == rust.ok
    assert python.exit_codes == rust.exit_codes
    return python


def run(pipeline: Pipeline, stdin: StdinInput | None = None) -> Callable[[], PipelineResult]:
    """A scenario: run ``pipeline`` (synchronously, bounded by ``RUN_TIMEOUT``)."""
    return lambda: pipeline.run_sync(stdin=stdin, timeout=RUN_TIMEOUT)


def chunked(data: bytes, cuts: list[int]) -> Pipeline:
    """A child writing ``data`` cut at ``cuts``, then two ``cat`` hops."""
    offsets = ",".join(map(str, sorted(set(cuts))))
    return py(CHUNKED_WRITER, data.hex(), offsets) | cat() | cat()


def test_empty_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    assert through_both(monkeypatch, run(cat() | cat(), StdinInput(data=b""))) == Outcome("", True, (0, 0))
    assert through_both(monkeypatch, run(sh.make(ECHO)("-n") | cat() | cat())) == Outcome("", True, (0, 0, 0))


def test_utf8_split_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "zürich, 東京, 🦀 and ∑ — split everywhere\n"
    data = text.encode()
    every_byte = list(range(1, len(data)))
    assert through_both(monkeypatch, run(chunked(data, every_byte))) == Outcome(text, True, (0, 0, 0))


def test_invalid_utf8_is_replaced_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"ok \xff\xfe then a cut \xe2\x82 and a truncated end \xf0\x9f\xa6"
    expected = Outcome(data.decode("utf-8", "replace"), True, (0, 0, 0))
    assert through_both(monkeypatch, run(chunked(data, [4, 22, 23, len(data) - 2]))) == expected


@settings(max_examples=15)
@given(text=st.text(max_size=300), cuts=st.lists(st.integers(min_value=1, max_value=1200), max_size=12))
def test_random_text_in_random_chunks(text: str, cuts: list[int]) -> None:
    data = text.encode()
    with pytest.MonkeyPatch.context() as monkeypatch:
        outcome = through_both(monkeypatch, run(chunked(data, [cut for cut in cuts if cut < len(data)])))
    assert outcome == Outcome(text, True, (0, 0, 0))


def test_early_close_of_an_endless_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = through_both(monkeypatch, run(sh.make(YES)() | head("-n", "1")))
    assert (outcome.stdout, outcome.ok, outcome.exit_codes[1]) == ("y\n", True, 0)


def test_broken_pipe_with_megabytes_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = StdinInput(data=b"x" * LARGE)
    outcome = through_both(monkeypatch, run(cat() | cat() | head("-c", "10"), payload))
    assert (outcome.stdout, outcome.ok, outcome.exit_codes[-1]) == ("x" * 10, True, 0)


def test_backpressure_with_a_large_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = (bytes(range(256)) * (LARGE // 256)).decode("utf-8", "replace")
    pipeline = py(BYTES_WRITER, str(LARGE)) | cat() | cat()
    assert through_both(monkeypatch, run(pipeline)) == Outcome(expected, True, (0, 0, 0))


def test_large_stdin_through_every_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = cat() | cat() | sh.make(WC)("-c")
    outcome = through_both(monkeypatch, run(pipeline, StdinInput(data=b"\0" * LARGE)))
    assert outcome.stdout is not None
    assert (int(outcome.stdout), outcome.ok, outcome.exit_codes) == (LARGE, True, (0, 0, 0))


def test_a_failing_first_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    # The failure comes after the downstream stage has finished (with
    # fail_fast a stage still running would be terminated: a race).
    failing = py("import os, time; os.write(1, b'partial'); os.close(1); time.sleep(1); os._exit(3)")
    assert through_both(monkeypatch, run(failing | cat())) == Outcome("partial", False, (3, 0))


def test_a_failing_last_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = py("import sys; print(len(sys.stdin.read())); sys.exit(4)")
    outcome = through_both(monkeypatch, run(sh.make(ECHO)("four") | reader))
    assert outcome == Outcome("5\n", False, (0, 4))


def test_with_fail_fast_a_failing_stage_stops_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = (sh.make(SLEEP)("30") | sh.make(FALSE)()).with_policy(fail_fast=True)
    outcome = through_both(monkeypatch, run(pipeline))
    assert outcome == Outcome("", False, (-15, 1))


def test_by_default_a_failing_stage_leaves_the_others_to_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = sh.make(TRUE)() | sh.make(FALSE)() | sh.make(CAT)()
    assert through_both(monkeypatch, run(pipeline)) == Outcome("", False, (0, 1, 0))
