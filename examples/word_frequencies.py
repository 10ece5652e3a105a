"""Word frequencies of a generated text: ``tr | sort | uniq -c | sort | head``.

Run it with ``tools/bazel run //examples:word_frequencies``. The text is
generated here (a fixed seed, so the answer never changes), fed to the
pipeline's first stage, and the top ten words come back with their counts.
"""

from __future__ import annotations

import random

from cuprum import HEAD, SORT, TR, UNIQ, StdinInput, sh

WORDS = ("copper", "wire", "pipe", "shell", "python", "rust", "stream", "stage", "bytes", "kernel")


def generate_text(words: int = 200_000, seed: int = 7) -> str:
    """A deterministic text of ``words`` words with a skewed distribution."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    lines = [" ".join(rng.choices(WORDS, weights=weights, k=20)) for _ in range(words // 20)]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Count the words and print the ten most frequent."""
    pipeline = (
        sh.make(TR)("-s", "[:space:]", r"\n")
        | sh.make(SORT)()
        | sh.make(UNIQ)("-c")
        | sh.make(SORT)("-k1,1nr", "-k2,2")
        | sh.make(HEAD)("-n", "10")
    )
    text = generate_text()
    result = pipeline.run_sync(stdin=StdinInput(text=text), timeout=60)
    print(f"$ {pipeline}")
    print(f"{len(text.split()):,} words in, {sum(result.hop_bytes):,} bytes between stages\n")
    print(f"{'word':<8} {'count':>7}")
    for line in (result.stdout or "").splitlines():
        count, word = line.split()
        print(f"{word:<8} {int(count):>7,}")
    print(f"\nexit codes {result.exit_codes}, ok={result.ok}")


if __name__ == "__main__":
    main()
