"""Cuprum's version: one place for Bazel (the Rust crates, the wheel).

Keep in step with `__version__` in python/cuprum/__init__.py (a test
compares them through the extension) and with rust/Cargo.toml.
"""

VERSION = "0.1.0"
