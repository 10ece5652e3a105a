"""Crate repositories: sources vendored from rust/Cargo.lock, BUILD files here.

tools/bootstrap runs `cargo vendor --locked --versioned-dirs` into the
sysroot's /opt/cuprum/crates. Each crate below becomes a repository
`@crate_<name>` whose BUILD file is `BUILD.<name>.bazel` in this directory.
The version comes from Cargo.lock, the single source of truth, and is
written to the repository as `crate_info.bzl` for the BUILD file to load.
"""

VENDOR_DIR = "/opt/cuprum/crates"

# Every crate the Bazel build compiles (Cargo names).
CRATES = [
    "heck",
    "libc",
    "once_cell",
    "proc-macro2",
    "pyo3",
    "pyo3-build-config",
    "pyo3-ffi",
    "pyo3-macros",
    "pyo3-macros-backend",
    "quote",
    "syn",
    "target-lexicon",
    "unicode-ident",
]

def _locked_version(lockfile, crate):
    """Return the version Cargo.lock pins for `crate` (exactly one allowed)."""
    versions = []
    for block in lockfile.split("[[package]]")[1:]:
        fields = {}
        for line in block.strip().splitlines():
            key, sep, value = line.partition(" = ")
            if sep:
                fields[key.strip()] = value.strip().strip('"')
        if fields.get("name") == crate:
            versions.append(fields.get("version"))
    if len(versions) != 1:
        fail("rust/Cargo.lock pins %d versions of %s; exactly one is supported" % (len(versions), crate))
    return versions[0]

def _vendored_crate_impl(rctx):
    crate = rctx.attr.crate
    version = _locked_version(rctx.read(rctx.attr.lockfile), crate)
    source = rctx.path("%s/%s-%s" % (VENDOR_DIR, crate, version))
    if not source.exists:
        fail("%s %s is not vendored in %s; run tools/bootstrap" % (crate, version, VENDOR_DIR))
    for entry in source.readdir():
        if entry.basename not in ("BUILD", "BUILD.bazel", "WORKSPACE", "WORKSPACE.bazel"):
            rctx.symlink(entry, entry.basename)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("crate_info.bzl", 'CRATE = "%s"\nVERSION = "%s"\n' % (crate, version))
    rctx.symlink(rctx.attr.build_file, "BUILD.bazel")

vendored_crate = repository_rule(
    implementation = _vendored_crate_impl,
    attrs = {
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "crate": attr.string(mandatory = True),
        "lockfile": attr.label(default = "//rust:Cargo.lock", allow_single_file = True),
    },
    doc = "A crate from the vendor directory, at the version rust/Cargo.lock pins.",
)

def crate_repositories():
    """Declare `@crate_<name>` for every crate in CRATES."""
    for crate in CRATES:
        name = crate.replace("-", "_")
        vendored_crate(
            name = "crate_" + name,
            crate = crate,
            build_file = "//third_party/rust:BUILD.%s.bazel" % name,
        )
