"""Repositories for Bazel's rule sets, the system toolchains and @pydeps.

Everything is a local repository inside the sysroot that tools/bootstrap
builds: Debian installs the rule sets under /usr/share/bazel.
"""

_DEBIAN_BAZEL = "/usr/share/bazel"

# Repository name -> directory under /usr/share/bazel (Debian's packages).
_RULE_SETS = {
    "bazel_features": "tools/features",
    "bazel_skylib": "tools/skylib",
    "platforms": "tools/platforms",
    "rules_cc": "rules/cc",
    "rules_java": "rules/java",
    "rules_license": "rules/license",
    "rules_proto": "rules/proto",
    "rules_python": "rules/python",
    "rules_rust": "rules/rust",
}

# Installed by tools/bootstrap (see tools/sysroot.sh for the paths).
PYDEPS_DIR = "/opt/cuprum/pydeps"
CARGO_REGISTRY = "/usr/share/cargo/registry"

def cuprum_rule_repositories():
    """Declare the Debian-packaged rule sets as local repositories."""
    for name, path in _RULE_SETS.items():
        native.local_repository(name = name, path = "%s/%s" % (_DEBIAN_BAZEL, path))

def cuprum_toolchain_repositories():
    """Declare the system Rust, rules_rust's tinyjson and the Python packages."""
    native.new_local_repository(
        name = "system_rust",
        path = "/usr",
        build_file = "//tools/rust:BUILD.system_rust.bazel",
    )

    # rules_rust's process_wrapper needs tinyjson, normally downloaded; Debian
    # ships its sources and rules_rust ships the BUILD file.
    native.new_local_repository(
        name = "rules_rust_tinyjson",
        path = _debian_crate_dir("tinyjson", "2.5.1"),
        build_file = "@rules_rust//util/process_wrapper:BUILD.tinyjson.bazel",
    )

    native.new_local_repository(
        name = "pydeps",
        path = PYDEPS_DIR,
        build_file = "//third_party/python:BUILD.pydeps.bazel",
    )

def _debian_crate_dir(crate, version):
    return "%s/%s-%s" % (CARGO_REGISTRY, crate, version)
