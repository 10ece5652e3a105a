"""Hello, Cuprum: run one approved program and one pipeline, and show the results.

Run it with ``tools/bazel run //examples:hello``.
"""

from __future__ import annotations

import asyncio

from cuprum import ECHO, HEAD, SORT, TR, UNIQ, StdinInput, resolve_stream_backend, sh

TEXT = "the quick brown fox jumps over the lazy dog and the fox naps while the dog runs"


async def main() -> None:
    """Run ``echo``, then count words with ``tr | sort | uniq -c | sort | head``."""
    greeting = await sh.make(ECHO)("Hello from Cuprum!").run()
    print(f"$ {sh.make(ECHO)('Hello from Cuprum!')}")
    print(greeting.stdout, end="")
    print(f"  exit code {greeting.exit_code}, pid {greeting.pid}, ok={greeting.ok}")

    words = (
        sh.make(TR)("-s", " ", r"\n")  # tr itself reads the \n escape
        | sh.make(SORT)()
        | sh.make(UNIQ)("-c")
        | sh.make(SORT)("-k1,1nr", "-k2,2")
        | sh.make(HEAD)("-n", "3")
    )
    result = await words.run(stdin=StdinInput(text=TEXT))
    print(f"\n$ {words}   (stream backend: {resolve_stream_backend().value})")
    for line in (result.stdout or "").splitlines():
        count, word = line.split()
        print(f"  {word:<6} {count}")
    print(f"  stages exited {result.exit_codes}, bytes per hop {result.hop_bytes}, ok={result.ok}")


if __name__ == "__main__":
    asyncio.run(main())
