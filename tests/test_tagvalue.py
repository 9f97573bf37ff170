"""tag=value lists (RFC 6376 §3.2)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth._tagvalue import parse_tag_list, tag_dict
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


# --- the parser against a plain reading of the grammar ----------------------------------
#
# parse_tag_list skips its FWS regex when the only line breaks are CRLF folds and one at
# the end, and splits the text once. reference() is the straightforward form (the regex
# on every text, a scan from ';' to ';'); both must accept the same texts with the same
# tags and positions, and reject the others with the same message and position.

_REF_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_REF_BAD_VALCHAR = re.compile(r"[^\x21-\x3a\x3c-\x7e \t\r\n]")
_REF_BAD_FWS = re.compile(r"\r\n(?![ \t]|\Z)|\r(?!\n)(?![ \t]|\Z)|(?<!\r)\n(?![ \t]|\Z)")


def reference(text: str, strict_values: bool) -> tuple[tuple[tuple[str, str], ...],
                                                       tuple[int, ...]]:
    bad_fws = _REF_BAD_FWS.search(text)
    if bad_fws is not None:
        raise ParseError("line break not followed by whitespace (invalid FWS)",
                         position=bad_fws.start())
    tags: list[tuple[str, str]] = []
    positions: list[int] = []
    pos = 0
    while pos <= len(text):
        semi = text.find(";", pos)
        end = len(text) if semi < 0 else semi
        spec = text[pos:end]
        if spec.strip(" \t\r\n"):
            eq = spec.find("=")
            lead = len(spec) - len(spec.lstrip(" \t\r\n"))
            if eq < 0:
                raise ParseError(f"tag without '=': {spec.strip()!r}", position=pos + lead)
            name = spec[:eq].strip(" \t\r\n")
            if not _REF_NAME.match(name):
                raise ParseError(f"invalid tag name {name!r}", position=pos + lead)
            value = spec[eq + 1:].strip(" \t\r\n")
            bad = _REF_BAD_VALCHAR.search(value) if strict_values else None
            if bad is not None:
                raise ParseError(f"invalid character {bad.group()!r} in value of tag {name!r}",
                                 position=pos + eq + 1 + spec[eq + 1:].find(bad.group()))
            if name in dict(tags):
                raise ParseError(f"duplicate tag {name!r}", position=pos + lead)
            tags.append((name, value))
            positions.append(pos + lead)
        if semi < 0:
            break
        pos = semi + 1
    return tuple(tags), tuple(positions)


def outcome(parse: Callable[[], object]) -> object:
    try:
        return parse()
    except ParseError as exc:
        return ("error", exc.message, exc.position)


# Pieces that meet every branch: folds, bare CR/LF, breaks at the end, empty specs,
# duplicate and invalid names, characters outside VALCHAR.
_PIECES = ["a", "b", "bh", "v", "p", "_x", "9", "=", "=", ";", ";", " ", "\t", "\r\n",
           "\r\n ", "\r\n\t", "\r", "\n", "\n ", "\r ", "x1", "é", "\x7f", ":", "DKIM1"]
tag_texts = st.one_of(st.lists(st.sampled_from(_PIECES), max_size=24).map("".join),
                      st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=40))


def check_agreement(text: str, strict_values: bool) -> None:
    ours = outcome(lambda: (lambda t: (t.tags, t.positions))(
        parse_tag_list(text, strict_values=strict_values)))
    assert ours == outcome(lambda: reference(text, strict_values)), text


@settings(max_examples=3000, deadline=None)
@given(tag_texts, st.booleans())
def test_parser_agrees_with_the_plain_reading(text: str, strict_values: bool) -> None:
    check_agreement(text, strict_values)


@pytest.mark.slow
@settings(max_examples=20000, deadline=None)
@given(tag_texts, st.booleans())
def test_slow_parser_agrees_with_the_plain_reading(text: str, strict_values: bool) -> None:
    check_agreement(text, strict_values)


# tag_dict is the position-free fast path; parse_tag_list is its reference: the same tags,
# and on any error the very ParseError parse_tag_list raises.
def check_tag_dict(text: str, strict_values: bool) -> None:
    expected = outcome(lambda: dict(parse_tag_list(text, strict_values=strict_values).tags))
    got = outcome(lambda: tag_dict(text, strict_values=strict_values))
    assert got == expected, text
    if isinstance(got, dict):
        assert list(got) == list(parse_tag_list(text, strict_values=strict_values)), text


@settings(max_examples=3000, deadline=None)
@given(tag_texts, st.booleans())
def test_tag_dict_agrees_with_parse_tag_list(text: str, strict_values: bool) -> None:
    check_tag_dict(text, strict_values)


@pytest.mark.slow
@settings(max_examples=20000, deadline=None)
@given(tag_texts, st.booleans())
def test_slow_tag_dict_agrees_with_parse_tag_list(text: str, strict_values: bool) -> None:
    check_tag_dict(text, strict_values)


@pytest.mark.parametrize("text", ["v=1; a=x", " a = 1 ;\r\n b=\t2;", "a=1;;", "a=\x7f",
                                  "a=1; a=2", "_a=1", "a", "a=é", "a=1\r\nb=2"])
def test_tag_dict_examples(text: str) -> None:
    check_tag_dict(text, True)
    check_tag_dict(text, False)


def test_tag_dict_type_error_for_bytes() -> None:
    with pytest.raises(TypeError):
        tag_dict(b"a=1")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["p=\n\n\n", "\n\n", "\r\r", "b=a\r\n\n", "\n\r",
                                  "a=1\r\n\r\n", "a=1\r\r\n", "a=1 \r\n\r\n b=2"])
def test_more_than_one_line_break_at_the_end_is_invalid_fws(text: str) -> None:
    # Only the text's last line break may be followed by nothing (RFC 6376 §3.2 FWS).
    with pytest.raises(ParseError, match="FWS"):
        parse_tag_list(text)


@pytest.mark.parametrize("text, tags", [
    ("p=\r\n", {"p": ""}), ("p=x\r", {"p": "x"}), ("p=x\n", {"p": "x"}),
    ("a=1;\r\n b=2\r\n", {"a": "1", "b": "2"}), ("a=1;\n\tb=2", {"a": "1", "b": "2"}),
    ("a=x\r\n y", {"a": "x\r\n y"}),
])
def test_folds_and_one_final_line_break_are_valid(text: str, tags: dict[str, str]) -> None:
    assert dict(parse_tag_list(text)) == tags


@pytest.mark.parametrize("name, valid", [
    ("a", True), ("bh", True), ("A_1", True), ("z9_", True), ("_a", False), ("1a", False),
    ("a-b", False), ("\u00e9", False), ("a\u00e9", False), ("a.b", False), ("if", True),
    ("\u0661", False), ("a\u0661", False),
])
def test_tag_names_are_alpha_then_letters_digits_underscores(name: str, valid: bool) -> None:
    text = f"{name}=x"
    if valid:
        assert dict(parse_tag_list(text)) == {name: "x"}
    else:
        with pytest.raises(ParseError, match="invalid tag name"):
            parse_tag_list(text)
