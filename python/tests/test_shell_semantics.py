"""Shell-faithful pipelines (issue 16): Cuprum's results equal bash's, every time.

Each pipeline below has a deterministic result in bash (its output and
``PIPESTATUS``); Cuprum must give the same ``exit_codes`` and stdout in 100
of 100 runs, under both stream backends. A status bash reports as
``128 + n`` (killed by signal ``n``) is ``-n`` in Cuprum, as in
``subprocess``.
"""

from __future__ import annotations

import shutil
import signal

import pytest
from support import TEST_CATALOGUE, shell

from cuprum import (
    CAT,
    HEAD,
    SEQ,
    ExecutionContext,
    Pipeline,
    Program,
    ProjectSettings,
    ScopeConfig,
    scoped,
    sh,
)

BASH = shutil.which("bash")
RUNS = 100

CASES: dict[str, tuple[str, Pipeline]] = {
    "failing producer": (
        "sh -c 'echo partial; exit 2' | cat",
        shell("echo partial; exit 2") | sh.make(CAT)(),
    ),
    "failing consumer": (
        "seq 1 10 | sh -c 'head -n 3; exit 3'",
        sh.make(SEQ)(1, 10) | shell("head -n 3; exit 3"),
    ),
    "early close over a large producer": (
        "seq 1 1000000 | head -n 1",
        sh.make(SEQ)(1, 1000000) | sh.make(HEAD)("-n", "1"),
    ),
    "failing middle stage": (
        "seq 1 1000000 | sh -c 'head -n 5; exit 4' | cat",
        sh.make(SEQ)(1, 1000000) | shell("head -n 5; exit 4") | sh.make(CAT)(),
    ),
    "failing producer, reading consumer": (
        "sh -c 'seq 1 50000; exit 7' | sh -c 'cat; exit 0'",
        shell("seq 1 50000; exit 7") | shell("cat; exit 0"),
    ),
}


def _bash(script: str) -> tuple[tuple[int, ...], str]:
    assert BASH is not None
    catalogue = TEST_CATALOGUE.extended(ProjectSettings(name="bash", programs=(Program("bash"),)))
    bash = sh.make("bash", catalogue=catalogue)
    result = bash("-c", f'{script}; echo "${{PIPESTATUS[*]}}" >&2').run_sync()
    assert result.stderr is not None
    statuses = tuple(int(word) for word in result.stderr.split("\n")[-2].split())
    return tuple(-(code - 128) if code > 128 else code for code in statuses), result.stdout or ""


@pytest.mark.skipif(BASH is None, reason="bash is needed to compare with")
@pytest.mark.parametrize("name", sorted(CASES))
def test_results_equal_the_shells_in_every_run(name: str) -> None:
    script, pipeline = CASES[name]
    expected = _bash(script)
    assert _bash(script) == expected, "the shell itself is not deterministic here"
    for attempt in range(RUNS):
        result = pipeline.run_sync(timeout=30)
        assert (result.exit_codes, result.stdout) == expected, f"run {attempt}"


def test_ok_and_failure_index_follow_pipefail() -> None:
    result = CASES["failing middle stage"][1].run_sync()
    assert result.forgiven == (0,)
    assert result.failure_index == 1
    assert result.exit_code == 4
    assert not result.ok
    early = CASES["early close over a large producer"][1].run_sync()
    assert early.ok
    assert early.exit_codes == (-signal.SIGPIPE, 0)
    assert early.forgiven == (0,)


# --- the hop buffer -----------------------------------------------------------------------

WRITE_300K = sh.make(HEAD)("-c", "300000", "/dev/zero")  # dies of SIGPIPE (Python children ignore it)
DEAF = shell("sleep 0.3")  # never reads; exits after a while


def test_a_small_hop_buffer_makes_a_producer_wait_and_see_sigpipe() -> None:
    result = (WRITE_300K | DEAF).with_policy(hop_buffer_size=65536).run_sync()
    assert result.exit_codes == (-signal.SIGPIPE, 0)
    assert result.ok


def test_a_large_hop_buffer_lets_the_same_producer_finish() -> None:
    result = (WRITE_300K | DEAF).with_policy(hop_buffer_size=1024 * 1024).run_sync()
    assert result.exit_codes == (0, 0)


def test_a_scope_sets_the_default_hop_buffer() -> None:
    with scoped(ScopeConfig(hop_buffer_size=65536)):
        assert (WRITE_300K | DEAF).run_sync().exit_codes == (-signal.SIGPIPE, 0)
        # The pipeline's own setting wins.
        assert (WRITE_300K | DEAF).with_policy(hop_buffer_size=1 << 20).run_sync().exit_codes == (0, 0)


@pytest.mark.parametrize("size", [0, 4095, -1])
def test_a_tiny_hop_buffer_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="hop_buffer_size"):
        (WRITE_300K | DEAF).with_policy(hop_buffer_size=size)
    with pytest.raises((ValueError, TypeError)):
        ScopeConfig(hop_buffer_size=size)


def test_timeouts_still_take_every_stage_down() -> None:
    pipeline = shell("sleep 30") | shell("cat; sleep 30")
    with pytest.raises(TimeoutError):
        pipeline.run_sync(timeout=0.3, context=ExecutionContext(cancel_grace=0.1))
