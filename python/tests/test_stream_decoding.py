"""``StreamDecoder``: a decoding error is the stream's, never one read's.

Where the pipe cuts a stream must not change the error a strict decode
raises (its bytes, its position), and a secret cut between two reads must
still be recognised and hidden.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import py

from cuprum import ExecEvent, ExecPhase, ExecutionContext, Redactor, ScopeConfig, observe, scoped
from cuprum.engine.decoding import StreamDecoder
from cuprum.result import REDACTION_WINDOW

if TYPE_CHECKING:
    from collections.abc import Callable

SECRET = "hunter2-correct-horse-battery"  # noqa: S105 (a test secret)


def decode_in_reads(stream: bytes, cuts: list[int], *, errors: str = "strict") -> UnicodeDecodeError:
    """Feed ``stream`` cut at ``cuts``; return the error it raises."""
    decoder = StreamDecoder("utf-8", errors)
    bounds = [0, *sorted({cut % (len(stream) + 1) for cut in cuts}), len(stream)]

    def feed() -> None:
        for start, end in itertools.pairwise(bounds):
            decoder.decode(stream[start:end])
        decoder.finish(forgive=False)

    with pytest.raises(UnicodeDecodeError) as caught:
        feed()
    return caught.value


@settings(max_examples=200, deadline=None)
@given(
    before=st.binary(max_size=3 * REDACTION_WINDOW).map(lambda data: data.decode("utf-8", "ignore").encode()),
    bad=st.sampled_from([b"\xff", b"\xc3(", b"\xe2\x82(", b"\xed\xa0\x80"]),
    after=st.binary(max_size=2 * REDACTION_WINDOW).map(lambda data: data.decode("utf-8", "ignore").encode()),
    cuts=st.lists(st.integers(min_value=0), max_size=8),
)
def test_the_error_is_the_streams_wherever_the_reads_cut_it(
    before: bytes, bad: bytes, after: bytes, cuts: list[int]
) -> None:
    """Whole windows on both sides from the stream, or hidden with the span's place in the stream."""
    stream = before + bad + after
    with pytest.raises(UnicodeDecodeError) as reference:
        stream.decode("utf-8")
    start, end = reference.value.start, reference.value.end
    first = max(0, start - REDACTION_WINDOW)
    error = decode_in_reads(stream, cuts)
    if bytes(error.object) == b"***":
        assert error.reason.startswith(f"{reference.value.reason} (at bytes {start}-{end - 1} of the stream;")
        assert len(stream) - end >= REDACTION_WINDOW or cuts, "a stream read whole shows its error"
    else:
        assert (bytes(error.object), error.start, error.end, error.reason) == (
            stream[first : end + REDACTION_WINDOW],
            start - first,
            end - first,
            reference.value.reason,
        )


def test_a_short_output_read_at_once_shows_its_error_whole() -> None:
    error = decode_in_reads(b"ok \xff tail\n", [])
    assert (bytes(error.object), error.start, error.end) == (b"ok \xff tail\n", 3, 4)


def test_an_error_without_a_whole_window_after_it_waits_one_read_then_hides_its_bytes() -> None:
    decoder = StreamDecoder("utf-8", "strict")
    assert decoder.decode(b"line\n") == "line\n"
    assert decoder.decode(b"bad \xff then") == ""
    assert decoder.pending
    with pytest.raises(UnicodeDecodeError) as caught:
        decoder.decode(b"more\n")
    assert bytes(caught.value.object) == b"***"
    assert "(at bytes 9-9 of the stream;" in caught.value.reason


def test_an_error_with_a_whole_window_after_it_in_its_read_is_raised_at_once() -> None:
    decoder = StreamDecoder("utf-8", "strict")
    assert decoder.decode(b"line\n") == "line\n"
    with pytest.raises(UnicodeDecodeError) as caught:
        decoder.decode(b"bad \xff" + b"x" * REDACTION_WINDOW)
    assert bytes(caught.value.object) == b"line\nbad \xff" + b"x" * REDACTION_WINDOW
    assert (caught.value.start, caught.value.end) == (9, 10)


def test_an_error_met_before_the_end_is_raised_at_the_end_even_when_forgiven() -> None:
    decoder = StreamDecoder("utf-8", "strict")
    assert decoder.decode(b"a\xffb") == ""
    assert decoder.pending
    with pytest.raises(UnicodeDecodeError) as caught:
        decoder.finish(forgive=True)
    assert bytes(caught.value.object) == b"a\xffb"


def _ends_before_it_starts(error: UnicodeDecodeError) -> Exception:
    return UnicodeDecodeError("utf-8", error.object, error.start, -1, "odd")


def _past_its_bytes(error: UnicodeDecodeError) -> Exception:
    return UnicodeDecodeError("utf-8", error.object, 5, len(error.object) + 9, "odd")


def _other_bytes(error: UnicodeDecodeError) -> Exception:
    return UnicodeDecodeError("utf-8", b"elsewhere" * (error.end - error.start), 0, 1, "odd")


def _not_a_decoding_error(error: UnicodeDecodeError) -> Exception:
    return ValueError(f"not a decoding error: {error.reason}")


@pytest.mark.parametrize(
    "raised", [_ends_before_it_starts, _past_its_bytes, _other_bytes, _not_a_decoding_error]
)
def test_an_error_a_custom_handler_made_up_is_masked_or_left_alone(
    raised: Callable[[UnicodeDecodeError], Exception],
) -> None:
    def handler(error: UnicodeError) -> tuple[str, int]:
        assert isinstance(error, UnicodeDecodeError)
        raise raised(error)

    codecs.register_error("cuprum-test-odd", handler)
    decoder = StreamDecoder("utf-8", "cuprum-test-odd")
    expected = raised(UnicodeDecodeError("utf-8", b"x", 0, 1, "odd"))

    def feed() -> None:
        decoder.decode(SECRET[:9].encode() + b"\xff" + SECRET[9:].encode())
        decoder.finish(forgive=False)

    with pytest.raises(type(expected)) as caught:
        feed()
    if isinstance(caught.value, UnicodeDecodeError):
        assert bytes(caught.value.object) == b"***"


def test_an_unfinished_character_at_the_end_is_placed_too() -> None:
    error = decode_in_reads(b"abc" * 10 + b"\xe2\x82", [29, 31])
    assert error.reason == "unexpected end of data"
    assert bytes(error.object) == b"abc" * 10 + b"\xe2\x82"
    assert (error.start, error.end) == (30, 32)


def test_a_forgiven_end_is_a_replacement_character() -> None:
    decoder = StreamDecoder("utf-8", "strict")
    assert decoder.decode(b"ok \xe2\x82") == "ok "
    assert decoder.finish(forgive=True) == "\ufffd"


def test_handlers_that_cannot_raise_keep_no_history() -> None:
    decoder = StreamDecoder("utf-8", "replace")
    assert decoder.decode(b"a\xffb") == "a\ufffdb"
    assert decoder.history_size is None  # no cost on the default path


def test_history_is_bounded_by_the_window() -> None:
    decoder = StreamDecoder("utf-8", "strict")
    for _ in range(100):
        decoder.decode(b"x" * 4096)
    kept = decoder.history_size or 0
    assert REDACTION_WINDOW <= kept <= REDACTION_WINDOW + 2 * 4096


@pytest.mark.parametrize("with_observer", [False, True])
def test_a_secret_holding_the_bad_byte_is_masked(*, with_observer: bool) -> None:
    secret = "hunter2-p\u00e4ssw\u00f6rd"  # noqa: S105 (a test secret)
    payload = ("x" * 10 + secret + " tail\n").encode("latin-1").hex()  # the argv holds no secret
    observing = observe(lambda _event: None) if with_observer else contextlib.nullcontext()
    with (
        scoped(ScopeConfig(redactor=Redactor(values=[secret]))),
        observing,
        pytest.raises(UnicodeDecodeError) as caught,
    ):
        py(f"import os; os.write(1, bytes.fromhex({payload!r}))").run_sync(
            context=ExecutionContext(errors="strict")
        )
    assert bytes(caught.value.object) == b"***"


def test_a_secret_cut_between_two_reads_is_hidden_in_the_error() -> None:
    """The second read starts inside the secret: the error's bytes must still not show any of it."""
    code = f"""
import os, sys, time
os.write(1, b"x" * 10 + {SECRET[:7].encode()!r})
time.sleep(0.2)
os.write(1, {SECRET[7:].encode()!r} + b"\\xff" + b"tail\\n")
"""
    events: list[ExecEvent] = []
    with (
        scoped(ScopeConfig(redactor=Redactor(values=[SECRET]))),
        observe(events.append),
        pytest.raises(UnicodeDecodeError) as caught,
    ):
        py(code).run_sync(context=ExecutionContext(errors="strict"))
    shown = repr(caught.value) + str(caught.value) + repr(bytes(caught.value.object))
    for piece in (SECRET[7:], SECRET[7:].encode().hex()):
        assert piece not in shown
    assert b"***" in bytes(caught.value.object)
    exits = [event for event in events if event.phase is ExecPhase.EXIT]
    # The stream ended right after: the error is whole, placed in the stream (10 + the secret).
    assert exits[0].error == (
        f"UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position {10 + len(SECRET)}: "
        "invalid start byte"
    )
