"""Draw a progress bar for a long pipeline, from the bytes each hop has moved.

``tools/bazel run //examples:progress_bar [-- MEBIBYTES]``. A pipeline
``head -c N /dev/zero | cat | wc -c`` runs as a live process
(``pipeline.start()``); while it runs, the bytes its first hop has moved
(``proc.hop_bytes``) drive a ``tqdm`` bar. The bar goes to stderr; the last
line on stdout is the pipeline's result.
"""

from __future__ import annotations

import asyncio
import sys

from tqdm import tqdm

from cuprum import CAT, HEAD, WC, sh

MIB = 1024 * 1024


async def main(size: int) -> None:
    """Run the pipeline and update the bar every 50 ms."""
    pipeline = sh.make(HEAD)("-c", str(size), "/dev/zero") | sh.make(CAT)() | sh.make(WC)("-c")
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr) as bar:
        async with pipeline.start() as proc:
            while None in proc.returncodes:
                bar.update(proc.hop_bytes[0] - bar.n)
                await asyncio.sleep(0.05)
            result = await proc.wait()
        bar.update(result.hop_bytes[0] - bar.n)
    counted = (result.stdout or "").strip()
    print(f"moved {result.hop_bytes[0]} bytes per hop; wc counted {counted}; ok={result.ok}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) * MIB if len(sys.argv) > 1 else 512 * MIB))
