"""The backend parity suite: every stream backend must produce exactly these results.

Each test runs under the backend the test target selects (``CUPRUM_STREAM_BACKEND``)
and asserts exact values, so the Python and the Rust backends are held to
the same truth. Payloads are generated inside the children from fixed
seeds; the test computes the same payload here, with the same code, to
know what must arrive.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import signal
import textwrap
import time
from typing import TYPE_CHECKING, Final

import pytest
import support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuprum import (
    CAT,
    HEAD,
    YES,
    ExecutionContext,
    Pipeline,
    StdinInput,
    StreamBackend,
    resolve_stream_backend,
    sh,
)
from cuprum.engine import supervisor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from cuprum import PipelineResult, SafeCmd

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB
RUN_TIMEOUT: Final = 30.0
"""Every run gets this timeout: a hang fails, it never stalls the suite."""

cat = sh.make(CAT)
head = sh.make(HEAD)
yes = sh.make(YES)


def run(
    pipeline: Pipeline, *, stdin: StdinInput | None = None, context: ExecutionContext | None = None
) -> PipelineResult:
    """Run ``pipeline`` in a fresh event loop, bounded by ``RUN_TIMEOUT``."""
    return asyncio.run(pipeline.run(stdin=stdin, context=context, timeout=RUN_TIMEOUT))


@pytest.fixture(autouse=True)
def pumps_used(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[StreamBackend]]:
    """Check that every run of a parity test went through the selected backend."""
    seen: list[StreamBackend] = []
    real = supervisor.pump_for

    def spy(backend: StreamBackend) -> object:
        seen.append(backend)
        return real(backend)

    monkeypatch.setattr(supervisor, "pump_for", spy)
    yield seen
    if seen:
        assert set(seen) == {resolve_stream_backend()}, seen


# --- payloads, shared by this process and the children --------------------------
#
# These functions are sent to the children as source (``inspect.getsource``),
# so they may use only the standard library, imported inside them.


def utf8_payload(seed: int, count: int, widths: tuple[int, ...]) -> str:
    """``count`` characters whose UTF-8 widths cycle through ``widths``, from ``seed``."""
    import random  # noqa: PLC0415 (the children run this function on its own)

    ranges = {1: (0x20, 0x7F), 2: (0x80, 0x800), 3: (0x800, 0x10000), 4: (0x10000, 0x110000)}
    rng = random.Random(seed)  # noqa: S311 (test data, not cryptography)
    chars: list[str] = []
    for index in range(count):
        low, high = ranges[widths[index % len(widths)]]
        code = rng.randrange(low, high)
        while 0xD800 <= code <= 0xDFFF:  # surrogates are not characters
            code = rng.randrange(low, high)
        chars.append(chr(code))
    return "".join(chars)


def odd_chunks(seed: int, total: int) -> list[int]:
    """Odd chunk sizes, small and large, from ``seed``, adding up to ``total``."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)  # noqa: S311
    sizes: list[int] = []
    left = total
    while left > 0:
        size = min(left, (rng.randrange(1, 5) if rng.random() < 0.3 else rng.randrange(1, 20000)) | 1)
        sizes.append(size)
        left -= size
    return sizes


def seeded_bytes(seed: int, size: int) -> Iterator[bytes]:
    """``size`` pseudo-random bytes from ``seed``, in pieces of at most 1 MiB."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)  # noqa: S311
    left = size
    while left > 0:
        piece = min(left, 1 << 20)
        yield rng.randbytes(piece)
        left -= piece


def _child(*functions: Callable[..., object], main: str) -> str:
    """A child program: ``functions``' source, then ``main``."""
    parts = [textwrap.dedent(inspect.getsource(function)) for function in functions]
    return "\n\n".join(["from __future__ import annotations\nimport sys", *parts, textwrap.dedent(main)])


UTF8_WRITER: Final = _child(
    utf8_payload,
    odd_chunks,
    main="""
    seed, count, widths, chunk_seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    data = utf8_payload(seed, count, tuple(int(w) for w in widths.split(","))).encode("utf-8")
    out = sys.stdout.buffer
    offset = 0
    for size in odd_chunks(chunk_seed, len(data)):
        out.write(data[offset:offset + size])
        out.flush()
        offset += size
    """,
)
"""Writes ``utf8_payload(seed, count, widths)`` in ``odd_chunks(chunk_seed, ...)``."""

BYTES_WRITER: Final = _child(
    seeded_bytes,
    main="""
    out = sys.stdout.buffer
    for piece in seeded_bytes(int(sys.argv[1]), int(sys.argv[2])):
        out.write(piece)
    out.flush()
    """,
)
"""Writes ``seeded_bytes(seed, size)``."""

DIGEST_READER: Final = """
import hashlib, os, sys, time
time.sleep(float(sys.argv[1]))  # a late reader: the writers must wait for it
read_size = int(sys.argv[2])
digest, count = hashlib.sha256(), 0
while chunk := os.read(0, read_size):
    digest.update(chunk)
    count += len(chunk)
print(count, digest.hexdigest())
"""
"""After a pause, reads stdin in ``read_size`` pieces; prints the byte count and sha256."""

CHUNKED_WRITER: Final = """
import json, sys
spec = json.load(sys.stdin)
data, sizes = bytes.fromhex(spec["hex"]), spec["chunks"]
out = sys.stdout.buffer
offset = turn = 0
while offset < len(data):
    size = sizes[turn % len(sizes)]
    out.write(data[offset:offset + size])
    out.flush()
    offset += size
    turn += 1
"""
"""Reads ``{"hex": ..., "chunks": [...]}`` from stdin; writes the bytes in those chunks."""

HEX_READER: Final = "import sys; sys.stdout.write(sys.stdin.buffer.read().hex())"


def expected_digest(seed: int, size: int) -> str:
    digest = hashlib.sha256()
    for piece in seeded_bytes(seed, size):
        digest.update(piece)
    return digest.hexdigest()


def splits_characters(data: bytes, sizes: list[int]) -> int:
    """How many chunk boundaries fall inside a multi-byte character."""
    boundaries = 0
    offset = 0
    for size in sizes[:-1]:
        offset += size
        boundaries += (data[offset] & 0xC0) == 0x80  # a continuation byte starts the next chunk
    return boundaries


def test_payload_helpers_match_what_they_promise() -> None:
    text = utf8_payload(7, 4000, (1, 2, 3, 4))
    assert [len(ch.encode()) for ch in text[:8]] == [1, 2, 3, 4, 1, 2, 3, 4]
    assert text == utf8_payload(7, 4000, (1, 2, 3, 4)), "the payload must be deterministic"
    sizes = odd_chunks(3, 100_001)
    assert sum(sizes) == 100_001
    assert all(size % 2 == 1 for size in sizes[:-1]), "only the last chunk may be even"
    assert len(b"".join(seeded_bytes(5, 3 * MIB + 1))) == 3 * MIB + 1


# --- 1. the empty stream -------------------------------------------------------------


@pytest.mark.parametrize(
    "producer",
    [
        pytest.param(support.shell(":"), id="exits-at-once"),
        pytest.param(support.py("import sys; sys.stdout.flush(); sys.stdout.close()"), id="closes-stdout"),
        pytest.param(
            support.py("import sys; sys.stdout.buffer.write(b''); sys.stdout.flush()"), id="writes-b''"
        ),
    ],
)
@pytest.mark.parametrize("stages", [2, 3], ids=["one-cat", "two-cats"])
def test_empty_stream(producer: SafeCmd, stages: int) -> None:
    pipeline = Pipeline((producer, *(cat() for _ in range(stages - 1))))
    result = run(pipeline)
    assert result.stdout == ""
    assert result.ok
    assert result.failure_index is None
    assert result.exit_codes == (0,) * stages
    assert result.hop_bytes == (0,) * (stages - 1)


# --- 2. multi-byte UTF-8 across chunk boundaries ------------------------------------


def test_mixed_width_utf8_across_chunk_boundaries() -> None:
    seed, count, chunk_seed = 20240601, 420_000, 17  # about 1 MiB encoded
    expected = utf8_payload(seed, count, (1, 2, 3, 4))
    encoded = expected.encode("utf-8")
    assert len(encoded) > MIB
    assert splits_characters(encoded, odd_chunks(chunk_seed, len(encoded))) > 50
    writer = support.py(UTF8_WRITER, str(seed), str(count), "1,2,3,4", str(chunk_seed))
    result = run(writer | cat())
    assert result.ok
    assert result.hop_bytes == (len(encoded),)
    assert result.stdout is not None
    assert len(result.stdout) == len(expected)
    assert result.stdout == expected


def test_mixed_width_utf8_through_several_hops() -> None:
    seed, count, chunk_seed = 99, 150_000, 5
    expected = utf8_payload(seed, count, (4, 3, 2, 1))
    encoded_size = len(expected.encode("utf-8"))
    writer = support.py(UTF8_WRITER, str(seed), str(count), "4,3,2,1", str(chunk_seed))
    result = run(writer | cat() | cat() | cat())
    assert result.ok
    assert result.hop_bytes == (encoded_size,) * 3
    assert result.stdout == expected


@pytest.mark.parametrize("width", [1, 2, 3, 4], ids=["1-byte", "2-byte", "3-byte", "4-byte"])
def test_utf8_of_one_width(width: int) -> None:
    seed, chunk_seed = 1000 + width, 2000 + width
    count = 256 * KIB // width + 1  # 256 KiB and a bit, well over one 64 KiB read
    expected = utf8_payload(seed, count, (width,))
    encoded = expected.encode("utf-8")
    assert len(encoded) == count * width
    if width > 1:
        assert splits_characters(encoded, odd_chunks(chunk_seed, len(encoded))) > 10
    writer = support.py(UTF8_WRITER, str(seed), str(count), str(width), str(chunk_seed))
    result = run(writer | cat())
    assert result.ok
    assert result.hop_bytes == (len(encoded),)
    assert result.stdout == expected


def test_utf8_one_byte_at_a_time() -> None:
    """Every character of every width arrives split into single bytes."""
    expected = utf8_payload(4, 2000, (1, 2, 3, 4))
    spec = json.dumps({"hex": expected.encode("utf-8").hex(), "chunks": [1]})
    result = run(support.py(CHUNKED_WRITER) | cat(), stdin=StdinInput(text=spec))
    assert result.ok
    assert result.stdout == expected


# --- 3. broken pipe --------------------------------------------------------------------

READ_TEN: Final = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read(10))"
"""Reads exactly 10 bytes, writes them out and exits without reading more."""


@pytest.mark.parametrize(
    ("producer", "sigpipe_status"),
    [
        pytest.param(yes("abcdefghijklmnopqrstuvwxyz"), -signal.SIGPIPE, id="yes"),
        pytest.param(
            support.shell(f"head -c {GIB} /dev/zero | tr '\\0' a"), 128 + signal.SIGPIPE, id="shell"
        ),
    ],
)
def test_broken_pipe_into_an_early_exit(producer: SafeCmd, sigpipe_status: int) -> None:
    started = time.monotonic()
    result = run(producer | support.py(READ_TEN))
    elapsed = time.monotonic() - started
    assert elapsed < 10.0, f"the producer was not stopped ({elapsed:.1f} s)"
    assert result.ok
    assert result.failure_index is None
    assert result.exit_codes == (sigpipe_status, 0)
    assert result.stdout == ("abcdefghij" if sigpipe_status < 0 else "a" * 10)


def test_broken_pipe_travels_up_a_chain() -> None:
    result = run(yes("0123456789") | cat() | cat() | support.py(READ_TEN))
    assert result.ok
    assert result.stdout == "0123456789"
    assert result.exit_codes == (-signal.SIGPIPE, -signal.SIGPIPE, -signal.SIGPIPE, 0)


def test_broken_pipe_with_a_gibibyte_producer() -> None:
    result = run(head("-c", GIB, "/dev/zero") | cat() | head("-c", 10))
    assert result.ok
    assert result.stdout == "\0" * 10
    assert result.exit_codes == (-signal.SIGPIPE, -signal.SIGPIPE, 0)
    assert result.hop_bytes[0] < GIB
    assert result.hop_bytes[1] < GIB


# --- 4. backpressure -------------------------------------------------------------------


@pytest.mark.parametrize("size", [MIB, 64 * MIB], ids=["1MiB", "64MiB"])
@pytest.mark.parametrize("stages", [2, 3], ids=["two-stages", "three-stages"])
def test_backpressure_keeps_every_byte(size: int, stages: int) -> None:
    seed = size + stages
    writer = support.py(BYTES_WRITER, str(seed), str(size))
    # The reader starts late and reads in small pieces: the hops fill and must wait.
    reader = support.py(DIGEST_READER, "0.3", str(4 * KIB if size == MIB else 256 * KIB))
    pipeline = Pipeline((writer, *(cat() for _ in range(stages - 2)), reader))
    result = run(pipeline)
    assert result.ok
    assert result.stdout == f"{size} {expected_digest(seed, size)}\n"
    assert result.hop_bytes == (size,) * (stages - 1)


@pytest.mark.parametrize("stages", [2, 3], ids=["two-stages", "three-stages"])
def test_backpressure_captured_byte_for_byte(stages: int) -> None:
    seed, size = 42, MIB
    writer = support.py(BYTES_WRITER, str(seed), str(size))
    pipeline = Pipeline((writer, *(cat() for _ in range(stages - 1))))
    # latin-1 maps every byte to one character, so the capture is the bytes.
    result = run(pipeline, context=ExecutionContext(encoding="latin-1"))
    assert result.ok
    assert result.stdout is not None
    assert result.stdout.encode("latin-1") == b"".join(seeded_bytes(seed, size))


# --- 5. random payloads in random chunks ------------------------------------------------


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    block=st.binary(max_size=4096),
    repeat=st.integers(min_value=1, max_value=64),
    chunks=st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=12),
    cats=st.integers(min_value=0, max_value=2),
)
def test_random_payloads_arrive_intact(block: bytes, repeat: int, chunks: list[int], cats: int) -> None:
    payload = block * repeat
    spec = json.dumps({"hex": payload.hex(), "chunks": chunks})
    pipeline = Pipeline((support.py(CHUNKED_WRITER), *(cat() for _ in range(cats)), support.py(HEX_READER)))
    result = run(pipeline, stdin=StdinInput(text=spec))
    assert result.ok, result.exit_codes
    assert result.stdout == payload.hex()
    assert result.hop_bytes == (len(payload),) * (cats + 1)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=3000), chunk=st.integers(min_value=1, max_value=7))
def test_random_text_in_tiny_chunks_decodes_intact(text: str, chunk: int) -> None:
    spec = json.dumps({"hex": text.encode("utf-8").hex(), "chunks": [chunk]})
    result = run(support.py(CHUNKED_WRITER) | cat(), stdin=StdinInput(text=spec))
    assert result.ok
    assert result.stdout == text
