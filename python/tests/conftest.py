"""Shared pytest configuration for Cuprum's unit tests.

* Hypothesis runs deterministically, without a database.
* The Rust runtime's worker threads (and their few descriptors) start once,
  before any test, so leak checks see only what a test itself opened.
* A ``pyo3_runtime.PanicException`` raised anywhere during the session, even
  one that library code swallowed, fails the run: no panic may cross the
  PyO3 boundary.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from cuprum.stream_backend import is_rust_available, rust_extension

if TYPE_CHECKING:
    from collections.abc import Generator
    from types import CodeType

# Deterministic, database-free Hypothesis runs: Bazel tests must not write
# state beside the sources, and a failure must reproduce from its seed.
settings.register_profile(
    "cuprum",
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cuprum")


@pytest.fixture
def selected_backend() -> str:
    """The backend this test target runs under (``python`` or ``rust``)."""
    return os.environ.get("CUPRUM_STREAM_BACKEND", "auto")


@pytest.fixture(autouse=True, scope="session")
def rust_runtime_started() -> None:
    """Start the Rust runtime's threads before any test (see the module doc)."""
    if is_rust_available():
        rust_extension().start_runtime()


def is_panic(error: BaseException) -> bool:
    """Whether ``error`` is PyO3's ``PanicException``."""
    kind = type(error)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


class PanicWatch:
    """Record every ``PanicException`` raised in Python code (``sys.monitoring``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.tool: int | None = None

    def start(self) -> None:
        monitoring = sys.monitoring
        for tool in (3, 4):
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, "cuprum-panic-watch")
                monitoring.register_callback(tool, monitoring.events.RAISE, self._raised)
                monitoring.set_events(tool, monitoring.events.RAISE)
                self.tool = tool
                return

    def stop(self) -> None:
        if self.tool is not None:
            sys.monitoring.set_events(self.tool, 0)
            sys.monitoring.free_tool_id(self.tool)
            self.tool = None

    def _raised(self, code: CodeType, offset: int, error: BaseException) -> None:
        del offset
        if is_panic(error):
            self.seen.append(f"{error!r} in {code.co_qualname} ({code.co_filename})")


_PANICS = PanicWatch()


def pytest_configure(config: pytest.Config) -> None:
    """Watch for panics from the start."""
    del config
    _PANICS.start()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test during which a ``PanicException`` was raised, caught or not."""
    before = len(_PANICS.seen)
    try:
        result: object = yield
    except BaseException as error:
        if is_panic(error):
            pytest.fail(f"a Rust panic crossed into Python: {error!r}", pytrace=False)
        raise
    if len(_PANICS.seen) > before:
        pytest.fail(f"a Rust panic crossed into Python: {_PANICS.seen[before:]}", pytrace=False)
    del item
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if a panic was seen outside any test's call phase."""
    del exitstatus
    _PANICS.stop()
    if _PANICS.seen:
        sys.stderr.write(f"\nRust panics crossed into Python: {_PANICS.seen}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
