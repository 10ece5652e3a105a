"""Shared pytest configuration for Cuprum's unit tests.

The suite runs two ways: under Bazel (``tools/bazel test //python/...``), and
with plain pytest against an installed package (``pip install '.[test]'``,
then ``python -m pytest python/tests``). Tests that need the Rust extension
carry the ``rust`` marker, and every test needs it under
``CUPRUM_STREAM_BACKEND=rust``: without the extension they are skipped,
unless ``CUPRUM_REQUIRE_RUST=1`` (set by Bazel's test macro and by CI), which
makes its absence an error.

Also:

* Hypothesis runs deterministically, without a database.
* The Rust runtime's worker threads (and their few descriptors) start once,
  before any test, so leak checks see only what a test itself opened.
* A ``pyo3_runtime.PanicException`` raised anywhere during the session, even
  one that library code swallowed, fails the run: no panic may cross the
  PyO3 boundary.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

import cuprum
from cuprum.stream_backend import ENV_VAR, is_rust_available, rust_extension

if TYPE_CHECKING:
    from collections.abc import Generator
    from types import CodeType

REQUIRE_RUST_VAR = "CUPRUM_REQUIRE_RUST"
SOURCE_PACKAGE = Path(__file__).resolve().parents[1] / "cuprum"
"""``python/cuprum`` in this checkout: the sources, not what the tests test."""

# Deterministic, database-free Hypothesis runs: a failure must reproduce from
# its seed, and nothing may be written beside the sources.
settings.register_profile(
    "cuprum",
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cuprum")


def _hypothesis_home() -> Path:
    """Where Hypothesis keeps its caches (its Unicode tables): never the checkout."""
    if chosen := os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return Path(chosen)
    if bazel_tmp := os.environ.get("TEST_TMPDIR"):
        return Path(bazel_tmp) / "hypothesis"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "cuprum" / "hypothesis"


set_hypothesis_home_dir(_hypothesis_home())


def _editable_install() -> bool:
    """Whether the installed distribution is an editable install of a checkout."""
    try:
        direct_url = metadata.distribution("cuprum").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return False
    return bool(direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"))


def _source_tree_problem() -> str | None:
    """Explain why the imported cuprum is the wrong one to test, if it is."""
    imported = Path(cuprum.__file__).resolve().parent
    # Bazel's runfiles link to the sources, with the extension built beside
    # them; an editable install means to test the sources.
    if imported != SOURCE_PACKAGE or "TEST_SRCDIR" in os.environ or _editable_install():
        return None
    return (
        f"cuprum was imported from the source tree ({imported}), not from an installed "
        "package: install it (pip install '.[test]') and run pytest from the checkout's "
        "root, without python/ on sys.path or PYTHONPATH"
    )


def _rust_missing_reason() -> str | None:
    """Why the Rust extension cannot be used here, or ``None`` when it can."""
    if is_rust_available():
        return None
    try:
        rust_extension()
    except ImportError as error:
        return str(error)
    return None  # pragma: no cover (available after all)


def _needs_rust(item: pytest.Item) -> bool:
    backend = os.environ.get(ENV_VAR, "").strip().lower()
    return backend == "rust" or item.get_closest_marker("rust") is not None


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``rust`` marker; refuse to test the wrong package; watch for panics."""
    _PANICS.start()
    config.addinivalue_line("markers", "rust: needs the Rust extension cuprum._rust")
    if problem := _source_tree_problem():
        raise pytest.UsageError(problem)
    if os.environ.get(REQUIRE_RUST_VAR) == "1" and (reason := _rust_missing_reason()):
        message = f"{REQUIRE_RUST_VAR}=1, but the Rust extension is missing: {reason}"
        raise pytest.UsageError(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the tests that need the extension when it is missing."""
    if reason := _rust_missing_reason():
        skip = pytest.mark.skip(reason=f"needs the Rust extension: {reason}")
        for item in items:
            if _needs_rust(item):
                item.add_marker(skip)


@pytest.fixture
def selected_backend() -> str:
    """The backend this run selects: ``python`` or ``rust`` (``auto`` or unset: Rust if it imports)."""
    choice = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
    if choice == "auto":
        return "rust" if is_rust_available() else "python"
    return choice


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
