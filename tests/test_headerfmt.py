"""Quoting and folding what mailauth writes (mailauth._headerfmt)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailauth import _grammar as g
from mailauth._headerfmt import (
    ascii_text,
    authentication_results,
    comment,
    fold,
    fold_base64,
    fold_tag_list,
    quote_dot_atom,
    quote_pvalue,
    quote_string,
    quote_value,
    received_spf,
    resinfo,
    uncomment,
    unfold,
    unquote,
)
from mailauth._tagvalue import parse_tag_list
from mailauth.errors import ParseError

ANY_TEXT = st.text(max_size=60)
PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=60)
WORD = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=90)
LDH = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
DOMAIN = st.lists(LDH, min_size=2, max_size=4).map(".".join)
B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
B64 = st.builds(str.__add__, st.text(st.sampled_from(B64_CHARS), max_size=400),
                st.sampled_from(["", "=", "=="]))
WIDTHS = st.integers(min_value=20, max_value=120)


def lines_of(field: str) -> list[str]:
    return field.split("\r\n")


def space_cuts(line: str) -> list[int]:
    """Where a line could legally be folded before a space (not a quoted-pair's)."""
    cuts = []
    for i, ch in enumerate(line):
        if ch == " " and i >= 2 and line[:i].strip():
            k = i - 1
            while k >= 0 and line[k] == "\\":
                k -= 1
            if (i - 1 - k) % 2 == 0:
                cuts.append(i)
    return cuts


# --- text and quoting ---------------------------------------------------------------------


def test_ascii_text() -> None:
    assert ascii_text("RFC 7208 §4.6.4") == "RFC 7208 section 4.6.4"
    assert ascii_text("caf\u00e9\r\n\t\x00") == "caf?????"
    assert ascii_text("x" * 300, 256) == "x" * 253 + "..."
    assert ascii_text("abc", 3) == "abc"
    with pytest.raises(ValueError):
        ascii_text("abc", 2)


@pytest.mark.parametrize("text,value,pvalue,dot_atom", [
    ("example.com", "example.com", "example.com", "example.com"),
    ("pass", "pass", "pass", "pass"),
    ("user@example.com", '"user@example.com"', "user@example.com", '"user@example.com"'),
    ("@example.com", '"@example.com"', "@example.com", '"@example.com"'),
    ("user@localhost", '"user@localhost"', '"user@localhost"', '"user@localhost"'),
    ("good signature", '"good signature"', '"good signature"', '"good signature"'),
    ('say "hi"', '"say \\"hi\\""', '"say \\"hi\\""', '"say \\"hi\\""'),
    ("a\\b", '"a\\\\b"', '"a\\\\b"', '"a\\\\b"'),
    ("a/b=c?", '"a/b=c?"', '"a/b=c?"', "a/b=c?"),
    ("a..b", "a..b", '"a..b"', '"a..b"'),
    ("", '""', '""', '""'),
    ("j\u00f6rg@example.com", '"j?rg@example.com"', "j?rg@example.com", '"j?rg@example.com"'),
    ("x@_dmarc.example.com", '"x@_dmarc.example.com"', '"x@_dmarc.example.com"',
     '"x@_dmarc.example.com"'),
])
def test_quoting(text: str, value: str, pvalue: str, dot_atom: str) -> None:
    assert quote_value(text) == value
    assert quote_pvalue(text) == pvalue
    assert quote_dot_atom(text) == dot_atom


def test_comment_and_uncomment() -> None:
    assert comment("a (b) \\ c") == "(a \\(b\\) \\\\ c)"
    assert uncomment("(a \\(b\\) \\\\ c)") == "a (b) \\ c"
    assert uncomment("(a (nested) b)") == "a (nested) b"
    assert uncomment("(folded\r\n text)") == "folded text"
    for bad in ["a", "(a", "(a))", "(a)b", "(a\\"]:
        with pytest.raises(ParseError):
            uncomment(bad)


def test_unquote() -> None:
    assert unquote('"a \\"b\\" \\\\ c"') == 'a "b" \\ c'
    assert unquote('"folded\r\n text"') == "folded text"
    assert unquote("token") == "token"
    for bad in ['"a', '"a"b"', '"a\\"', '"a\r\nb"']:
        with pytest.raises(ParseError):
            unquote(bad)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_quoted_strings_and_comments_round_trip(text: str) -> None:
    clean = ascii_text(text)
    for quote in (quote_string, quote_value, quote_dot_atom, quote_pvalue):
        out = quote(text)
        assert out.isascii() and "\r" not in out and "\n" not in out
        assert unquote(out) == clean
    assert comment(text).isascii()
    assert uncomment(comment(text)) == clean
    # Folded, the quoted-string and the comment still read back the same.
    for written, read in ((quote_string(text), unquote), (comment(text), uncomment)):
        field = fold([written], name="X", width=20)
        assert read(field.split(":", 1)[1].lstrip("\r\n ")) == clean


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_quote_results_follow_their_grammar(text: str) -> None:
    assert re.fullmatch(f"{g.TOKEN}|{g.QUOTED_STRING}", quote_value(text))
    assert re.fullmatch(f"{g.DOT_ATOM_TEXT}|{g.QUOTED_STRING}", quote_dot_atom(text))
    assert valid_pvalue(quote_pvalue(text))


def valid_pvalue(text: str) -> bool:
    """RFC 8601 §2.2 pvalue = value / [ [ local-part ] "@" ] domain-name, where
    domain-name has two or more labels (RFC 6376 §3.5)."""
    if re.fullmatch(f"{g.TOKEN}|{g.QUOTED_STRING}", text):
        return True
    m = re.fullmatch(f"(?:{g.DOT_ATOM_TEXT}|{g.QUOTED_STRING})?@({g.DOMAIN})", text)
    return m is not None and "." in m.group(1)


# --- fold --------------------------------------------------------------------------------------


def test_fold_between_parts() -> None:
    field = fold(["pass", "(a", "comment)", "key=value;"], name="Received-SPF")
    assert field == "Received-SPF: pass (a comment) key=value;"
    long = fold(["word"] * 30, name="X-Test", width=30)
    assert all(len(line) <= 30 for line in lines_of(long))
    assert unfold(long) == "X-Test: " + " ".join(["word"] * 30)


def test_fold_inside_a_long_quoted_string_only_at_its_spaces() -> None:
    value = quote_string("a long problem text " * 6)
    field = fold(["permerror", f"problem={value};"], name="Received-SPF")
    assert all(len(line) <= 78 for line in lines_of(field))
    assert unquote(unfold(field).split("problem=", 1)[1][:-1]) == "a long problem text " * 6


def test_fold_never_after_a_quoted_pair_backslash() -> None:
    part = '"' + "x" * 60 + '\\ ' + "y" * 30 + '"'
    field = fold([part], name="X", width=78)
    assert "\\\r\n" not in field
    assert unfold(field) == "X: " + part


def test_fold_leaves_unbreakable_text_long() -> None:
    field = fold(["x" * 100, "y"], name="X", width=40)
    assert lines_of(field) == ["X:", " " + "x" * 100, " y"]


@pytest.mark.parametrize("parts", [[""], [" a"], ["a "], ["a\r\nb"], ["caf\u00e9"]])
def test_fold_refuses_parts_it_cannot_write(parts: list[str]) -> None:
    with pytest.raises(ValueError):
        fold(parts, name="X")


def test_fold_refuses_bad_names_and_widths() -> None:
    with pytest.raises(ValueError):
        fold(["a"], name="X Y")
    with pytest.raises(ValueError):
        fold(["a"], name="X", width=10)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(WORD.map(str.strip).filter(bool) | PRINTABLE.map(quote_string)
                      | PRINTABLE.map(comment), min_size=1, max_size=12),
       width=WIDTHS)
def test_fold_properties(parts: list[str], width: int) -> None:
    field = fold(parts, name="X-Field", width=width)
    assert field.isascii()
    assert unfold(field) == "X-Field: " + " ".join(parts)
    for line in lines_of(field)[1:]:
        assert line.startswith(" ") and line.strip()
    for line in lines_of(field):
        if len(line) > width:
            # Longer only where nothing in the line may be folded.
            assert space_cuts(line) == [], line


# --- tag lists ---------------------------------------------------------------------------------

SIGNER_TAGS = [("v", "1"), ("a", "rsa-sha256"), ("c", "relaxed/relaxed"),
               ("d", "example.org"), ("s", "selector"), ("t", "1700000000"),
               ("h", "from:to:subject:date:message-id:mime-version:content-type:"
                     "from:to:subject:date:message-id"),
               ("bh", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), ("b", "")]


def test_fold_tag_list_like_a_signer() -> None:
    field = fold_tag_list(SIGNER_TAGS, name="DKIM-Signature")
    assert lines_of(field) == [
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;",
        " s=selector; t=1700000000;",
        " h=from:to:subject:date:message-id:mime-version:content-type:from:to:subject:",
        " date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
    ]
    # A fold after ':' in h= adds FWS, which h= allows (RFC 6376 §3.5).
    assert parse_tag_list(field.split(":", 1)[1])["h"].replace("\r\n ", "") == SIGNER_TAGS[6][1]


def test_signature_appended_leaves_the_signed_field_unchanged() -> None:
    unsigned = fold_tag_list(SIGNER_TAGS, name="DKIM-Signature")
    signature = "Q" * 344
    column = len(lines_of(unsigned)[-1])
    whole = fold_tag_list([*SIGNER_TAGS[:-1], ("b", signature)], name="DKIM-Signature")
    assert whole == unsigned + fold_base64(signature, column=column)
    assert all(len(line) <= 78 for line in lines_of(whole))
    assert "".join(parse_tag_list(whole.split(":", 1)[1])["b"].split()) == signature


def test_fold_base64_fills_the_line() -> None:
    assert fold_base64("", column=10) == ""
    assert fold_base64("A" * 10, column=70, width=76) == "AAAAAA\r\n AAAA"
    # No room left: the value starts on the next line (FWS after "=", RFC 6376 §3.2).
    assert fold_base64("A" * 10, column=78) == "\r\n AAAAAAAAAA"


@pytest.mark.parametrize("tags", [[("1a", "x")], [("a", "x;y")], [("a", " x")],
                                  [("a", "x\r\n y")], [("a", "\u00e9")]])
def test_fold_tag_list_refuses_what_it_cannot_write(tags: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        fold_tag_list(tags, name="DKIM-Signature")


HNAMES = st.lists(st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=1,
                          max_size=19), min_size=1, max_size=30).map(":".join)
SHORT_VALUE = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789./+=-"), min_size=1,
                      max_size=40)


@st.composite
def tag_lists(draw: st.DrawFn) -> list[tuple[str, str]]:
    tags = [(f"t{i}", draw(SHORT_VALUE)) for i in range(draw(st.integers(0, 6)))]
    if draw(st.booleans()):
        tags.append(("h", draw(HNAMES)))
    if draw(st.booleans()):
        tags.append(("bh", draw(B64)))
    order = draw(st.permutations(tags))
    return [*order, ("b", draw(B64))]


@settings(max_examples=400, deadline=None)
@given(tags=tag_lists(), width=st.integers(min_value=60, max_value=120))
def test_fold_tag_list_properties(tags: list[tuple[str, str]], width: int) -> None:
    field = fold_tag_list(tags, name="DKIM-Signature", width=width)
    assert field.isascii()
    # Every line fits: each piece that cannot be folded is shorter than a line.
    assert all(len(line) <= width for line in lines_of(field)), field
    parsed = parse_tag_list(field.split(":", 1)[1])
    assert list(parsed) == [t for t, _ in tags]
    for tag, value in tags:
        got = parsed[tag]
        if tag in ("h", "b", "bh"):
            got = "".join(got.split())
        assert got == value
    # Unfolding changes nothing outside h=, b= and bh=, where only FWS was added.
    assert re.sub(r"[ \t]", "", unfold(field)) == re.sub(
        r"[ \t]", "", "DKIM-Signature: " + "; ".join(f"{t}={v}" for t, v in tags))


@settings(max_examples=300, deadline=None)
@given(tags=tag_lists(),
       signature=st.text(st.sampled_from(B64_CHARS), min_size=120, max_size=400),
       width=st.integers(min_value=40, max_value=120))
def test_signing_in_two_steps_is_folding_in_one(tags: list[tuple[str, str]], signature: str,
                                                width: int) -> None:
    unsigned = fold_tag_list([*tags[:-1], ("b", "")], name="DKIM-Signature", width=width)
    column = len(lines_of(unsigned)[-1])
    whole = fold_tag_list([*tags[:-1], ("b", signature)], name="DKIM-Signature", width=width)
    assume(len(signature) + 3 > width)   # a value too long for a line of its own
    assert whole == unsigned + fold_base64(signature, column=column, width=width)


def test_fold_tag_list_leaves_an_unbreakable_value_long() -> None:
    field = fold_tag_list([("v", "1"), ("d", "x" * 100), ("s", "a")], name="DKIM-Signature")
    assert lines_of(field) == ["DKIM-Signature: v=1;", " d=" + "x" * 100 + ";", " s=a"]


def test_fold_tag_list_z_folds_after_bar() -> None:
    z = "|".join(["From:foo=40example.org", "To:bar=40example.org"] * 4)
    field = fold_tag_list([("v", "1"), ("z", z)], name="DKIM-Signature", width=40)
    assert all(line.endswith(("|", ";")) or line == lines_of(field)[-1]
               for line in lines_of(field)[1:])
    assert "".join(parse_tag_list(field.split(":", 1)[1])["z"].split()) == z


# --- the fields ---------------------------------------------------------------------------------


def test_authentication_results_rfc_8601_appendix_b_style() -> None:
    field = authentication_results("example.com", [
        resinfo("spf", "pass", properties=[("smtp.mailfrom", "example.net")]),
        resinfo("dkim", "pass", comment_text="good signature",
                properties=[("header.i", "@mail-router.example.net")]),
        resinfo("dkim", "fail", comment_text="bad signature",
                properties=[("header.i", "@newyork.example.com")]),
    ])
    assert lines_of(field) == [
        "Authentication-Results: example.com; spf=pass smtp.mailfrom=example.net;",
        " dkim=pass (good signature) header.i=@mail-router.example.net; dkim=fail (bad",
        " signature) header.i=@newyork.example.com",
    ]


def test_authentication_results_none_version_reason_and_arc() -> None:
    assert authentication_results("example.org", []) == \
        "Authentication-Results: example.org; none"
    assert authentication_results("example.org", [], version=1) == \
        "Authentication-Results: example.org 1; none"
    words = resinfo("dkim", "fail", version=1, reason="signature didn't verify (x§3.5)",
                    properties=[("header.d", "example.org")])
    assert words == ("dkim/1=fail", 'reason="signature didn\'t verify (xsection 3.5)"',
                     "header.d=example.org")
    assert authentication_results("mx.example.org", [("arc=pass",)], instance=2) == \
        "ARC-Authentication-Results: i=2; mx.example.org; arc=pass"
    assert authentication_results("odd id", []) == 'Authentication-Results: "odd id"; none'


@pytest.mark.parametrize("args", [("dkim_x", "pass"), ("dkim", "pa ss"), ("dkim", "")])
def test_resinfo_refuses_non_keywords(args: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        resinfo(*args)
    with pytest.raises(ValueError):
        resinfo("dkim", "pass", properties=[("headerd", "x")])


def test_received_spf_rfc_7208_section_9_1_example() -> None:
    field = received_spf("pass", comment_text="mybox.example.org: domain of myname@example.com "
                         "designates 192.0.2.1 as permitted sender",
                         pairs=[("receiver", "mybox.example.org"), ("client-ip", "192.0.2.1"),
                                ("envelope-from", "myname@example.com"),
                                ("helo", "foo.example.com")])
    assert unfold(field) == (
        "Received-SPF: pass (mybox.example.org: domain of myname@example.com designates "
        "192.0.2.1 as permitted sender) receiver=mybox.example.org; client-ip=192.0.2.1; "
        'envelope-from="myname@example.com"; helo=foo.example.com;')
    assert all(len(line) <= 78 for line in lines_of(field))
    with pytest.raises(ValueError):
        received_spf("passed")
    with pytest.raises(ValueError):
        received_spf("pass", pairs=[("9key", "v")])
