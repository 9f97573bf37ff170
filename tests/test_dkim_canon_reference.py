"""The streaming body canonicalizers agree with a line-by-line reading of RFC 6376
§3.4.3/§3.4.4 on bodies rich in the whitespace the fast paths rewrite."""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth._message import parse_message
from mailauth.dkim import canonicalize_body
from mailauth.dkim._canon import simple_body_in_place
from mailauth.dkim._hashing import hash_bodies


def reference(body: bytes, method: str) -> bytes:
    lines = body.split(b"\r\n")
    last = lines.pop()  # text after the final CRLF (no line break): still a line
    if last:
        lines.append(last)
    if method == "relaxed":
        # §3.4.4: WSP at line ends removed, WSP runs reduced to one SP
        lines = [re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in lines]
    while lines and lines[-1] == b"":  # empty lines at the end are ignored
        lines.pop()
    if not lines:
        return b"" if method == "relaxed" else b"\r\n"
    return b"\r\n".join(lines) + b"\r\n"


pieces = st.sampled_from([b" ", b"  ", b"   ", b"\t", b" \t ", b"a", b"bc", b"\r\n",
                          b"\r\n\r\n", b".", b"\r", b"\t\t\t\t\t"])
bodies = st.lists(pieces, max_size=60).map(b"".join)


@settings(max_examples=600, deadline=None)
@given(bodies, st.sampled_from(["simple", "relaxed"]), st.integers(1, 17))
def test_body_canonicalization_matches_the_rfc_reading(body: bytes, method: str,
                                                       size: int) -> None:
    expected = reference(body, method)
    assert canonicalize_body(body, method) == expected  # type: ignore[arg-type]
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    assert canonicalize_body(chunks, method) == expected  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(bodies, st.binary(max_size=8), st.sampled_from([0, 1, 4090, 4095, 4096, 5000]))
def test_simple_body_in_place_matches_the_rfc_reading(body: bytes, prefix: bytes,
                                                      trailing: int) -> None:
    # In-place hashing of a CRLF body: the pieces are the canonical body, whatever
    # precedes the body in memory and however many line ends close it (past the 4 KB
    # tail it looks at, it declines and the streaming path takes over).
    body = body + b"\r\n" * (trailing // 2)
    if b"\n" in body.replace(b"\r\n", b""):
        return  # only CRLF bodies are hashed in place
    pieces = simple_body_in_place(prefix + body, len(prefix))
    if pieces is None:
        assert len(body) - len(body.rstrip(b"\r\n")) > 4000
        return
    assert b"".join(pieces) == reference(body, "simple")


@settings(max_examples=200, deadline=None)
@given(bodies, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_hash_bodies_in_memory_and_streamed_agree(body: bytes, ending: str,
                                                  limit: bool) -> None:
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\n" + body
    if ending == "\n":
        raw = raw.replace(b"\r\n", b"\n")
    keys = {("simple", "sha256", 3 if limit else None), ("relaxed", "sha256", None)}
    in_memory = hash_bodies(parse_message(raw), keys)
    streamed = hash_bodies(parse_message(io.BytesIO(raw)), keys, chunk_size=7)
    assert in_memory == streamed
    canonical = canonicalize_body(parse_message(raw).body(), "simple")
    assert in_memory[("simple", "sha256", 3 if limit else None)][1] == len(canonical)


def relaxed_lines_reference(seg: bytes) -> bytes:
    """§3.4.4 (a) line by line: runs of WSP become one SP; WSP before CRLF goes. Text
    after the last CRLF (no line end yet) only has its runs shortened."""
    *lines, tail = seg.split(b"\r\n")
    done = [re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in lines]
    return b"\r\n".join([*done, re.sub(rb"[ \t]+", b" ", tail)])


window_pieces = st.sampled_from([
    b" ", b" ", b"  ", b"    ", b"\t", b"\t \t", b"a", b"bc", b".", b"\r\n", b"\r\n  ",
    b"\n  ", b" \r\n", b"\r", b"\n", b"\xd8", b"\xdc", b"\xd9\xdd", b"\xff", b"\x00",
    b"\xe2\x80\xa0", b"\x20\x20\x20\x20\x20\x20\x20\x20\x20",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(window_pieces, max_size=400).map(b"".join), st.booleans())
def test_relaxed_lines_every_path(seg: bytes, crlf_end: bool) -> None:
    # Whatever path a window takes (few or many runs, few or many spaces before line
    # ends, one window or several, ASCII or not), the bytes are the line-by-line
    # reading. A segment never ends in WSP: the canonicalizer carries that over.
    from mailauth.dkim import _canon

    seg = seg.rstrip(b" \t") + (b"\r\n" if crlf_end else b"")
    expected = relaxed_lines_reference(seg)
    saved = (_canon._WINDOW, _canon._RUN_SHIFT, _canon._END_SHIFT)
    try:
        for window, run_shift, end_shift in ((1 << 16, 9, 8), (16, 30, 30), (16, 0, 0),
                                             (64, 30, 0), (64, 0, 30), (7, 4, 3)):
            _canon._WINDOW, _canon._RUN_SHIFT, _canon._END_SHIFT = (window, run_shift,
                                                                     end_shift)
            assert _canon._relaxed_lines(seg) == expected, (window, run_shift, end_shift)
            # the same lines given as the start of a longer segment
            longer = seg + b"  more  \r\n"
            assert _canon._relaxed_lines(longer, len(seg)) == expected
    finally:
        _canon._WINDOW, _canon._RUN_SHIFT, _canon._END_SHIFT = saved
