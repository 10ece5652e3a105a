"""Build a wheel from files and metadata, reproducibly (for tools/python/wheel.bzl).

Entries are sorted and stamped 1980-01-01, so the same inputs always give
the same bytes (and Bazel's cache can serve the wheel).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import stat
import zipfile
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _metadata(args: argparse.Namespace) -> str:
    lines = [
        "Metadata-Version: 2.4",
        f"Name: {args.name}",
        f"Version: {args.version}",
        f"Summary: {args.summary}",
        f"License-Expression: {args.license}",
        *(f"License-File: {Path(name).name}" for name in args.license_file),
        f"Requires-Python: {args.requires_python}",
    ]
    lines += [f"Classifier: {classifier}" for classifier in args.classifier]
    description = Path(args.description).read_text(encoding="utf-8") if args.description else ""
    if description:
        lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + description


def _wheel_file(tag: str) -> str:
    return f"Wheel-Version: 1.0\nGenerator: cuprum-build-wheel\nRoot-Is-Purelib: false\nTag: {tag}\n"


def main() -> None:
    """Parse the arguments and write the wheel."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument(
        "--tag", required=True, help="python-abi-platform, e.g. cp312-abi3-manylinux_2_34_x86_64"
    )
    parser.add_argument("--summary", default="")
    parser.add_argument("--license", default="", help="an SPDX licence expression, e.g. MIT")
    parser.add_argument("--license-file", action="append", default=[], help="a licence text to ship")
    parser.add_argument("--requires-python", default="")
    parser.add_argument("--classifier", action="append", default=[])
    parser.add_argument("--description")
    parser.add_argument("--strip-prefix", action="append", default=[])
    parser.add_argument("files", nargs="*", help="input files (paths relative to the execution root)")
    args = parser.parse_args()

    entries: dict[str, tuple[bytes, bool]] = {}
    for name in args.files:
        path = Path(name)
        archive_name = name
        for prefix in args.strip_prefix:
            # Generated files live under bazel-out/<config>/bin/.
            marker = archive_name.find(prefix)
            if marker != -1 and (marker == 0 or archive_name[marker - 1] == "/"):
                archive_name = archive_name[marker + len(prefix) :]
                break
        executable = bool(path.stat().st_mode & stat.S_IXUSR)
        entries[archive_name] = (path.read_bytes(), executable)

    dist_info = f"{args.name}-{args.version}.dist-info"
    entries[f"{dist_info}/METADATA"] = (_metadata(args).encode(), False)
    for name in args.license_file:
        entries[f"{dist_info}/licenses/{Path(name).name}"] = (Path(name).read_bytes(), False)
    entries[f"{dist_info}/WHEEL"] = (_wheel_file(args.tag).encode(), False)
    record_name = f"{dist_info}/RECORD"
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, (data, _) in sorted(entries.items())]
    record.append(f"{record_name},,")
    entries[record_name] = ("\n".join(record).encode() + b"\n", False)

    with zipfile.ZipFile(args.output, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        # RECORD last, everything else sorted.
        for name in [*sorted(n for n in entries if n != record_name), record_name]:
            data, executable = entries[name]
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)


if __name__ == "__main__":
    main()
