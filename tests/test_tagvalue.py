"""tag=value lists (RFC 6376 §3.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth._tagvalue import parse_tag_list
from mailauth.errors import ParseError


def test_dkim_signature_with_folding() -> None:
    tags = parse_tag_list("v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n"
                          "\tc=relaxed/simple; h=from:to:subject;\r\n bh=abc=; b=dzdV\r\n  AQAB=")
    assert tags["v"] == "1"
    assert tags["b"] == "dzdV\r\n  AQAB="
    assert list(tags) == ["v", "a", "d", "s", "c", "h", "bh", "b"]
    assert tags.position("d") == 19


def test_empty_values_trailing_semicolon_and_empty_specs() -> None:
    tags = parse_tag_list(" v=DKIM1 ; p= ; ;")
    assert dict(tags) == {"v": "DKIM1", "p": ""}
    assert len(parse_tag_list("")) == 0


@pytest.mark.parametrize("text,fragment,position", [
    ("v=1; v=1", "duplicate tag 'v'", 5),
    ("a=1; novalue", "without '='", 5),
    ("9x=1", "invalid tag name", 0),
    ("a b=1", "invalid tag name", 0),
    ("a=1\r\nb=2", "FWS", 3),
    ("a=\x7f", "invalid character", 2),
    ("a=x;y", "without '='", 4),
])
def test_errors_say_what_and_where(text: str, fragment: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_tag_list(text)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert info.value.rfc == "RFC 6376 §3.2"


def test_relaxed_values_for_records_in_the_wild() -> None:
    tags = parse_tag_list("v=DMARC1; p=none; n=caf\u00e9", strict_values=False)
    assert tags["n"] == "caf\u00e9"
    with pytest.raises(ParseError):
        parse_tag_list("v=DMARC1; n=caf\u00e9")


def test_type_error_for_bytes() -> None:
    with pytest.raises(TypeError):
        parse_tag_list(b"v=1")  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    try:
        tags = parse_tag_list(text)
    except ParseError:
        return
    assert len(set(tags)) == len(tags)


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,5}", fullmatch=True)
values = st.from_regex(r"([\x21-\x3a\x3c-\x7e]+( [\x21-\x3a\x3c-\x7e]+)*)?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, values, max_size=8), st.sampled_from(["; ", ";", " ;\r\n "]))
def test_rendered_lists_round_trip(tags: dict[str, str], sep: str) -> None:
    text = sep.join(f"{k}={v}" for k, v in tags.items())
    assert dict(parse_tag_list(text)) == tags
