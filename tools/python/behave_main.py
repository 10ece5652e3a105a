"""Run behave from a Bazel ``py_test``.

The argument is the runfiles path of a features directory (holding
``*.feature``, ``steps/`` and ``environment.py``). Undefined or pending steps
fail the run; JUnit reports go to Bazel's undeclared outputs.
"""

import os
import sys

from behave.__main__ import main

if __name__ == "__main__":
    args = [*sys.argv[1:], "--no-capture", "--format", "progress"]
    if outputs := os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR"):
        args += ["--junit", "--junit-directory", outputs]
    sys.exit(main(args))
