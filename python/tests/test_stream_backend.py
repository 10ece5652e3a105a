"""Tests for the stream-backend resolver and the Rust extension's presence."""

from __future__ import annotations

import pytest

import cuprum
from cuprum import stream_backend
from cuprum.stream_backend import BackendChoice, StreamBackend


@pytest.fixture
def without_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the Rust extension look impossible to import."""
    failure = ImportError("No module named 'cuprum._rust'", name="cuprum._rust")
    monkeypatch.setattr(stream_backend, "_load_extension", lambda: failure)


def test_target_runs_under_its_backend(selected_backend: str) -> None:
    assert cuprum.resolve_stream_backend() == StreamBackend(selected_backend)


@pytest.mark.rust
def test_extension_is_built_into_the_package() -> None:
    assert cuprum.is_rust_available()
    module = stream_backend.rust_extension()
    assert getattr(module, "__name__", None) == "cuprum._rust"
    assert module.__version__ == cuprum.__version__


@pytest.mark.rust
@pytest.mark.parametrize("value", [None, "", "  ", "auto", "AUTO", "Auto"])
def test_auto_prefers_rust_when_available(value: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(stream_backend.ENV_VAR, raising=False)
    assert cuprum.resolve_stream_backend(value if value is not None else None) == StreamBackend.RUST


@pytest.mark.usefixtures("without_extension")
def test_auto_falls_back_to_python_without_extension() -> None:
    assert cuprum.resolve_stream_backend("auto") == StreamBackend.PYTHON
    assert not cuprum.is_rust_available()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("python", StreamBackend.PYTHON),
        ("PyThOn", StreamBackend.PYTHON),
        pytest.param("rust", StreamBackend.RUST, marks=pytest.mark.rust),
        pytest.param(" RUST ", StreamBackend.RUST, marks=pytest.mark.rust),
    ],
)
def test_explicit_choice_is_case_insensitive(value: str, expected: StreamBackend) -> None:
    assert cuprum.resolve_stream_backend(value) == expected


@pytest.mark.rust
def test_environment_is_read_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(stream_backend.ENV_VAR, "python")
    assert cuprum.resolve_stream_backend() == StreamBackend.PYTHON
    monkeypatch.setenv(stream_backend.ENV_VAR, "rust")
    assert cuprum.resolve_stream_backend() == StreamBackend.RUST
    monkeypatch.setenv(stream_backend.ENV_VAR, "")
    assert cuprum.resolve_stream_backend() == StreamBackend.RUST


@pytest.mark.parametrize("value", ["pyhton", "c", "rust,python", "0"])
def test_unknown_value_names_the_allowed_ones(value: str) -> None:
    with pytest.raises(ValueError, match="expected one of: auto, python, rust") as caught:
        cuprum.resolve_stream_backend(value)
    assert repr(value) in str(caught.value)
    assert "CUPRUM_STREAM_BACKEND" in str(caught.value)


def test_unknown_value_from_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(stream_backend.ENV_VAR, "golang")
    with pytest.raises(ValueError, match="'golang' is not a stream backend"):
        cuprum.resolve_stream_backend()


@pytest.mark.usefixtures("without_extension")
def test_rust_without_extension_raises_import_error() -> None:
    with pytest.raises(ImportError, match="Rust stream backend is unavailable") as caught:
        cuprum.resolve_stream_backend("rust")
    assert caught.value.name == "cuprum._rust"
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.usefixtures("without_extension")
def test_python_never_needs_the_extension() -> None:
    assert cuprum.resolve_stream_backend("python") == StreamBackend.PYTHON


def test_choice_values_are_stable() -> None:
    assert [choice.value for choice in BackendChoice] == ["auto", "python", "rust"]
