"""Steps for stream_backend.feature."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from behave import given, then, when

from cuprum import stream_backend
from cuprum.stream_backend import ENV_VAR, StreamBackend, is_rust_available

if TYPE_CHECKING:
    from behave.runner import Context


@given("the environment variable is left as the test target set it")
def step_leave_environment(context: Context) -> None:
    choice = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
    if choice == "auto":  # unset in a plain run: Rust when the extension imports
        choice = "rust" if is_rust_available() else "python"
    context.expected_backend = StreamBackend(choice)


@given('CUPRUM_STREAM_BACKEND is "{value}"')
@given('CUPRUM_STREAM_BACKEND is ""')
def step_set_backend(context: Context, value: str = "") -> None:
    del context
    os.environ[ENV_VAR] = value


@given("the Rust extension cannot be imported")
def step_hide_extension(context: Context) -> None:
    seam = "_load_extension"  # the one place the resolver imports the extension
    original = getattr(stream_backend, seam)
    failure = ImportError("No module named 'cuprum._rust'", name="cuprum._rust")
    setattr(stream_backend, seam, lambda: failure)
    context.cleanups.append(lambda: setattr(stream_backend, seam, original))


@when("the stream backend is resolved")
def step_resolve(context: Context) -> None:
    context.error = None
    context.backend = None
    try:
        context.backend = stream_backend.resolve_stream_backend()
    except (ValueError, ImportError) as error:
        context.error = error


@then("it is the backend the test target names")
def step_backend_is_targets(context: Context) -> None:
    assert context.error is None, context.error
    assert context.backend == context.expected_backend, (context.backend, context.expected_backend)


@then('the backend is "{backend}"')
def step_backend_is(context: Context, backend: str) -> None:
    assert context.error is None, context.error
    assert context.backend == StreamBackend(backend), context.backend


@then('a ValueError says "{text}"')
def step_value_error(context: Context, text: str) -> None:
    assert isinstance(context.error, ValueError), context.error
    assert text in str(context.error), str(context.error)


@then('an ImportError says "{text}"')
def step_import_error(context: Context, text: str) -> None:
    assert isinstance(context.error, ImportError), context.error
    assert text in str(context.error), str(context.error)
