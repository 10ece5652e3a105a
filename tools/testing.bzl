"""Test macros: pytest and behave runners, instantiated once per stream backend.

`backend_test_suite` is the one place that knows the backends: every Python
test suite and behave feature set goes through it, so `bazel test //...` runs
each twice, as `<name>_python` and `<name>_rust`.
"""

load("@rules_python//python:defs.bzl", "py_test")

STREAM_BACKENDS = ["python", "rust"]

_PYTEST_MAIN = "//tools/python:pytest_main.py"
_BEHAVE_MAIN = "//tools/python:behave_main.py"
_TEST_RUNNER_DEPS = ["@pydeps"]

def backend_test_suite(name, test_rule, env = {}, tags = [], **kwargs):
    """Instantiate `test_rule` once per stream backend and bundle the pair.

    Args:
      name: the suite's name; the tests are `<name>_python` and `<name>_rust`.
      test_rule: `pytest_test` or `behave_test` (or any rule taking `env`).
      env: extra environment; CUPRUM_STREAM_BACKEND is set per instance, and
        CUPRUM_REQUIRE_RUST=1 makes a missing Rust extension fail the test.
      tags: tags for every instance; `backend-<name>` is added.
      **kwargs: passed to `test_rule` unchanged.
    """
    tests = []
    for backend in STREAM_BACKENDS:
        test_name = "%s_%s" % (name, backend)
        test_rule(
            name = test_name,
            # Under Bazel the extension is always built: its absence is a
            # failure, never a skip (python/tests/conftest.py).
            env = dict(env, CUPRUM_REQUIRE_RUST = "1", CUPRUM_STREAM_BACKEND = backend),
            tags = tags + ["backend-" + backend],
            **kwargs
        )
        tests.append(":" + test_name)
    native.test_suite(name = name, tests = tests, tags = tags)

def pytest_test(name, srcs, deps = [], args = [], data = [], **kwargs):
    """A `py_test` that runs pytest over `srcs`."""
    py_test(
        name = name,
        srcs = srcs + [_PYTEST_MAIN],
        main = _PYTEST_MAIN,
        args = ["$(rootpath %s)" % src for src in srcs] + args,
        data = data,
        deps = deps + _TEST_RUNNER_DEPS,
        **kwargs
    )

def behave_test(name, features, steps, deps = [], args = [], data = [], **kwargs):
    """A `py_test` that runs behave over this package's features directory.

    Args:
      name: the test's name.
      features: the `*.feature` files.
      steps: the step and environment modules (`steps/*.py`, `environment.py`).
      deps: Python libraries the steps import.
      args: extra behave arguments.
      data: extra runtime files.
      **kwargs: passed to `py_test`.
    """
    py_test(
        name = name,
        srcs = steps + [_BEHAVE_MAIN],
        main = _BEHAVE_MAIN,
        args = [native.package_name() or "."] + args,
        data = features + data,
        deps = deps + _TEST_RUNNER_DEPS,
        **kwargs
    )
