"""Cuprum's version, for BUILD files: `load("//:version.bzl", "VERSION")`.

It is written once, in rust/Cargo.toml (`[workspace.package]`): Cargo and
maturin read it there, Bazel through the @cuprum_version repository
(tools/repositories.bzl), and `cuprum.__version__` from the installed
distribution's metadata (docs/bazel.md, "One version").
"""

load("@cuprum_version//:version.bzl", _VERSION = "VERSION")

VERSION = _VERSION
