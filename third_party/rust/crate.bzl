"""`third_party_crate`: the one macro every vendored crate's BUILD file calls.

It hides what all third-party crates share (sources under src/, a capped lint
level, public visibility, the optional build script) so each BUILD file names
only what is particular to its crate. Bazel does not expand Cargo feature
implications: list every feature the build needs.
"""

load("@rules_rust//cargo:defs.bzl", "cargo_build_script")
load("@rules_rust//rust:defs.bzl", "rust_library", "rust_proc_macro")

def third_party_crate(
        name,
        version,
        edition,
        crate_name,
        features = [],
        deps = [],
        proc_macro_deps = [],
        proc_macro = False,
        compile_data = [],
        build_script = False,
        build_script_deps = [],
        build_script_data = [],
        build_script_env = {},
        build_script_link_deps = [],
        links = None):
    """Declare a vendored crate's library (and its build script).

    Args:
      name: the target name (the crate name with underscores).
      version: the crate's version (from the repository's crate_info.bzl).
      edition: the crate's Rust edition.
      crate_name: the Cargo package name (CRATE in crate_info.bzl).
      features: Cargo features, every implied one listed.
      deps: library dependencies.
      proc_macro_deps: procedural-macro dependencies.
      proc_macro: whether the crate is a procedural macro.
      compile_data: files the sources include at compile time.
      build_script: whether the crate has a build.rs to run.
      build_script_deps: the build script's dependencies.
      build_script_data: files the build script reads.
      build_script_env: environment for the build script.
      build_script_link_deps: crates whose `links` metadata the build script reads.
      links: the crate's Cargo `links` key.
    """
    common = dict(
        crate_features = features,
        edition = edition,
        rustc_flags = ["--cap-lints=allow"],
        version = version,
    )
    library_deps = list(deps)
    if build_script:
        cargo_build_script(
            name = name + "_build_script",
            srcs = native.glob(["build.rs", "build/**/*.rs", "src/**/*.rs"]),
            crate_root = "build.rs",
            data = build_script_data,
            build_script_env = build_script_env,
            deps = build_script_deps,
            link_deps = build_script_link_deps,
            links = links,
            pkg_name = crate_name,
            **common
        )
        library_deps.append(":%s_build_script" % name)
    rule = rust_proc_macro if proc_macro else rust_library
    rule(
        name = name,
        srcs = native.glob(["src/**/*.rs"]),
        crate_root = "src/lib.rs",
        compile_data = compile_data,
        proc_macro_deps = proc_macro_deps,
        deps = library_deps,
        visibility = ["//visibility:public"],
        **common
    )

# PyO3's stable-ABI features: Bazel does not follow Cargo's implications, so
# the whole abi3-py312 chain is listed for pyo3, pyo3-ffi and pyo3-build-config.
PYO3_FEATURES = [
    "abi3",
    "abi3-py312",
    "abi3-py313",
    "abi3-py314",
    "abi3-py315",
]
