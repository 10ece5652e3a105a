#!/usr/bin/env bash
# Build benchmark: a cold `tools/bazel test //...` (no output base, no disk or
# remote cache) and the fully cached re-run, as seconds and their ratio.
#
# Usage: benchmarks/build.sh      (from the repository; takes a few minutes)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# A separate output base, so the usual one (and its server) stay warm.
flags=(--output_base=/var/cache/cuprum/bazel/benchmark-build)
tools/bazel "${flags[@]}" clean --expunge >/dev/null 2>&1 || true

seconds() {
  local started=$SECONDS
  tools/bazel "${flags[@]}" test //... --noshow_progress >/dev/null 2>&1
  echo $((SECONDS - started))
}

cold=$(seconds)
cached=$(seconds)
tools/bazel "${flags[@]}" shutdown >/dev/null 2>&1 || true
printf 'bazel test //... (2 cores)\n'
printf '  %-24s %6s s   %s\n' "cold (empty output base)" "$cold" "1.00x"
printf '  %-24s %6s s   %s\n' "fully cached re-run" "$cached" \
  "$(python3 -c "print(f'{$cached / max($cold, 1):.3f}x')")"
