"""Message splitting: exact bytes kept, CRLF views, streaming bodies."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import unseekable
from mailauth._message import has_bare_lf, parse_message, to_crlf

CRLF_MSG = (b"Received: from a\r\n\tby b\r\nFrom: Alice <a@example.org>\r\n"
            b"Subject: hello\r\n  world\r\nsubject: second\r\n\r\nline 1\r\nline 2\r\n")


def test_fields_keep_folding_and_order() -> None:
    m = parse_message(CRLF_MSG)
    assert [h.name for h in m.headers] == ["Received", "From", "Subject", "subject"]
    assert m.headers[0].raw == b"Received: from a\r\n\tby b\r\n"
    assert m.headers[2].value == b" hello\r\n  world"
    assert m.headers[2].unfolded() == "hello  world"
    assert not m.normalized
    assert m.body() == b"line 1\r\nline 2\r\n"


def test_lookup_case_insensitive_top_down_and_bottom_up() -> None:
    m = parse_message(CRLF_MSG)
    assert [h.raw for h in m.get_all("SUBJECT")] == [m.headers[2].raw, m.headers[3].raw]
    assert [h.raw for h in m.get_all("subject", bottom_up=True)] == [m.headers[3].raw,
                                                                     m.headers[2].raw]
    assert m.get("from") is m.headers[1]
    assert m.get("to") is None
    assert "FROM" in m and "To" not in m


def test_lf_only_is_normalised_and_says_so() -> None:
    m = parse_message(CRLF_MSG.replace(b"\r\n", b"\n"))
    assert m.normalized
    assert m.headers[0].data == b"Received: from a\r\n\tby b\r\n"
    assert m.headers[0].raw == b"Received: from a\n\tby b\n"
    assert m.body() == b"line 1\r\nline 2\r\n"
    assert m.body(normalize=False) == b"line 1\nline 2\n"


def test_mixed_endings_only_in_body() -> None:
    m = parse_message(b"From: a\r\n\r\nx\ny\r\nz\n")
    assert m.normalized
    assert m.body() == b"x\r\ny\r\nz\r\n"


def test_no_body_and_no_separator() -> None:
    m = parse_message(b"From: a\r\nTo: b")
    assert not m.has_body_separator
    assert m.headers[1].data == b"To: b\r\n"
    assert m.body() == b""


def test_empty_and_headerless_messages() -> None:
    assert parse_message(b"").headers == ()
    m = parse_message(b"\r\nbody only\r\n")
    assert m.headers == () and m.body() == b"body only\r\n"


def test_malformed_lines_are_kept_with_a_defect() -> None:
    m = parse_message(b"From nobody Mon Jan 1\nFrom: a\n bad continuation\nnot a header\n\nb\n")
    assert m.headers[0].name == "" and m.headers[-1].name == ""
    assert len(m.defects) == 2
    assert m.get("from") is not None and m.get("from").value == b" a\r\n bad continuation"  # type: ignore[union-attr]


def test_leading_continuation_line() -> None:
    m = parse_message(b" folded first\r\nFrom: a\r\n\r\n")
    assert m.headers[0].name == "" and m.headers[1].name == "From"


def test_str_is_refused() -> None:
    with pytest.raises(TypeError, match="bytes"):
        parse_message("From: a\r\n\r\n")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary"):
        parse_message(io.StringIO("From: a\n\n"))  # type: ignore[arg-type]


def test_file_body_streams_in_chunks_and_rereads() -> None:
    body = b"".join(b"line %d\n" % i for i in range(10000))
    f = io.BytesIO(b"From: a\nSubject: b\n\n" + body)
    m = parse_message(f)
    chunks = list(m.iter_body(chunk_size=4096))
    assert max(len(c) for c in chunks) <= 4096 + 4096 // 6 + 2
    assert b"".join(chunks) == body.replace(b"\n", b"\r\n")
    assert m.normalized
    assert m.body() == body.replace(b"\n", b"\r\n")  # seekable: a second pass works


def test_unseekable_stream_reads_once() -> None:
    m = parse_message(unseekable(b"From: a\r\n\r\nbody\r\n"))
    assert m.body() == b"body\r\n"
    with pytest.raises(ValueError, match="only once"):
        m.body()


def test_cr_split_across_chunks() -> None:
    m = parse_message(io.BytesIO(b"From: a\r\n\r\n" + b"ab\r\ncd\r\n" * 3))
    for size in range(1, 12):
        assert b"".join(m.iter_body(chunk_size=size)) == b"ab\r\ncd\r\n" * 3


def test_to_crlf() -> None:
    assert to_crlf(b"a\nb\r\nc\rd\n") == b"a\r\nb\r\nc\rd\r\n"
    clean = b"a\r\nb\r\n"
    assert to_crlf(clean) is clean


def _bare_lf_reference(data: bytes) -> bool:
    return any(c == 10 and (i == 0 or data[i - 1] != 13) for i, c in enumerate(data))


@pytest.mark.parametrize("data", [
    b"", b"\n", b"\r", b"\r\n", b"\r\r\n", b"\n\r", b"x\r\ny\rz\r\n",
    b"a\r\n" * 3000, b"a\r\n" * 3000 + b"\n", b"\n" + b"a\r\n" * 3000,
    b"a\r\n" * 3000 + b"\r", b"\r" * 5000 + b"\n", b"\r\n\xff\x00\x0b" * 2000,
    b"a\r\n" * 1500 + b"\r\r\n" + b"\xe9\n" + b"a\r\n" * 1500,
    # the long path scans in 64 KB pieces: line ends across and at a piece boundary
    b"a\r\n" * 2000 + b"a" * (65535 - 6000) + b"\r\n" + b"a\r\n" * 10,
    b"a\r\n" * 2000 + b"a" * (65536 - 6000) + b"\n" + b"a\r\n" * 10,
    b"a\r\n" * 2000 + b"a" * (65535 - 6000) + b"\r" + b"a\n",
])
def test_has_bare_lf_examples(data: bytes) -> None:
    assert has_bare_lf(data) is _bare_lf_reference(data)


@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"x", b"\xff", b"\x00", b" "]),
                max_size=40), st.integers(0, 5000))
def test_has_bare_lf_matches_definition(pieces: list[bytes], pad: int) -> None:
    # Both the short (count) and the long (one C scan) paths, with the pieces at the
    # start, in the middle and at the end of the data.
    core = b"".join(pieces)
    filler = b"ab\r\n" * (pad // 4)
    for data in (core, core + filler, filler + core, filler + core + filler):
        assert has_bare_lf(data) is _bare_lf_reference(data)
        # from an offset (a body after its header section): what comes before is not
        # looked at, and the 64 KB pieces are counted from the offset
        head = b"X: y\n" + b"h" * (pad % 7)
        assert has_bare_lf(head + data, len(head)) is _bare_lf_reference(data)


@pytest.mark.parametrize("offset", [0, 1, 5])
def test_has_bare_lf_cr_lf_across_a_piece_boundary(offset: int) -> None:
    head = b"\n" * offset  # bare LFs before the start do not count
    body = b"a" * (65536 - 1) + b"\r\n" + b"a\r\n" * 10
    assert has_bare_lf(head + body, offset) is False
    assert has_bare_lf(head + body + b"\n", offset) is True
    body = b"a" * 65536 + b"\n" + b"a\r\n" * 10
    assert has_bare_lf(head + body, offset) is True


# --- properties -----------------------------------------------------------------

line_end = st.sampled_from([b"\r\n", b"\n", b"\r\n", b"\r"])
header_line = st.builds(
    lambda name, value, end: name + b":" + value + end,
    st.binary(min_size=0, max_size=12).filter(lambda b: b"\n" not in b and b"\r" not in b),
    st.binary(max_size=30).filter(lambda b: b"\n" not in b),
    line_end,
)
folded = st.builds(lambda ws, v, end: ws + v + end, st.sampled_from([b" ", b"\t"]),
                   st.binary(max_size=20).filter(lambda b: b"\n" not in b), line_end)
messages = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda hs, sep, body: b"".join(hs) + sep + body,
              st.lists(st.one_of(header_line, folded), max_size=12),
              st.sampled_from([b"\r\n", b"\n", b""]), st.binary(max_size=200)),
)


@settings(max_examples=400, deadline=None)
@given(messages)
def test_fields_and_body_reassemble_byte_for_byte(data: bytes) -> None:
    m = parse_message(data)
    rebuilt = b"".join(h.raw for h in m.headers) + m.separator + m.body(normalize=False)
    assert rebuilt == data


@settings(max_examples=300, deadline=None)
@given(messages, st.integers(min_value=1, max_value=64))
def test_normalised_views_are_crlf_and_streaming_agrees(data: bytes, size: int) -> None:
    m = parse_message(data)
    for h in m.headers:
        assert h.data.count(b"\n") == h.data.count(b"\r\n")
        assert h.data.endswith(b"\r\n")
    whole = m.body()
    assert whole == to_crlf(m.body(normalize=False))
    streamed = parse_message(io.BytesIO(data))
    assert [h.raw for h in streamed.headers] == [h.raw for h in m.headers]
    assert b"".join(streamed.iter_body(chunk_size=size)) == whole
    assert b"".join(m.iter_body(chunk_size=size)) == whole
