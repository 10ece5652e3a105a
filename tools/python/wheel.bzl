"""`python_wheel`: build a wheel from a package's files, reproducibly.

Debian's rules_python leaves out the wheelmaker tool that `py_wheel` needs,
so Cuprum builds wheels with its own small tool (build_wheel.py).
"""

def _python_wheel_impl(ctx):
    tag = "%s-%s-%s" % (ctx.attr.python_tag, ctx.attr.abi, ctx.attr.platform)
    wheel = ctx.actions.declare_file("%s-%s-%s.whl" % (ctx.attr.distribution, ctx.attr.version, tag))
    files = depset(transitive = [dep[DefaultInfo].files for dep in ctx.attr.deps])
    args = ctx.actions.args()
    args.add("--output", wheel)
    args.add("--name", ctx.attr.distribution)
    args.add("--version", ctx.attr.version)
    args.add("--tag", tag)
    args.add("--summary", ctx.attr.summary)
    args.add("--license", ctx.attr.license)
    args.add_all(ctx.files.license_files, before_each = "--license-file")
    args.add("--requires-python", ctx.attr.python_requires)
    args.add_all(ctx.attr.classifiers, before_each = "--classifier")
    args.add_all(ctx.attr.strip_path_prefixes, before_each = "--strip-prefix")
    inputs = [files, depset(ctx.files.license_files)]
    if ctx.file.description_file:
        args.add("--description", ctx.file.description_file)
        inputs.append(depset([ctx.file.description_file]))
    args.add_all(files)
    ctx.actions.run(
        executable = ctx.executable._builder,
        arguments = [args],
        inputs = depset(transitive = inputs),
        outputs = [wheel],
        mnemonic = "PythonWheel",
        progress_message = "Building wheel %s" % wheel.short_path,
    )
    return [DefaultInfo(files = depset([wheel]))]

python_wheel = rule(
    implementation = _python_wheel_impl,
    doc = "A wheel holding `deps`' files, with metadata.",
    attrs = {
        "abi": attr.string(default = "none"),
        "classifiers": attr.string_list(),
        "deps": attr.label_list(doc = "Targets whose files go into the wheel (e.g. a py_package)."),
        "description_file": attr.label(allow_single_file = True),
        "distribution": attr.string(mandatory = True),
        "license": attr.string(doc = "An SPDX licence expression."),
        "license_files": attr.label_list(allow_files = True, doc = "Licence texts, shipped in the dist-info."),
        "platform": attr.string(default = "any"),
        "python_requires": attr.string(),
        "python_tag": attr.string(default = "py3"),
        "strip_path_prefixes": attr.string_list(),
        "summary": attr.string(),
        "version": attr.string(mandatory = True),
        "_builder": attr.label(
            default = "//tools/python:build_wheel",
            executable = True,
            cfg = "exec",
        ),
    },
)
