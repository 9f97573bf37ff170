"""The shared grammar atoms (mailauth._grammar): RFC examples, the copies they replace,
and linear time on hostile input."""

from __future__ import annotations

import re

import pytest
from hypothesis import strategies as st

from mailauth import _grammar as g

ASCII = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40)
PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40)


def full(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


@pytest.mark.parametrize("name,good,bad", [
    ("ATEXT", list("aZ09!#$%&'*+-/=?^_`{|}~"), list("()<>[]:;@\\,.\" \t\x7f")),
    ("DOT_ATOM_TEXT", ["a", "john.q.public", "a.b-c+d", "!#$.%&"], ["", ".a", "a.", "a..b", "a b"]),
    ("UTF8_DOT_ATOM_TEXT", ["jörg", "用户.名"], ["a..b", "jö rg"]),
    ("FIELD_NAME", ["From", "X-Spam", "DKIM-Signature", "~!"], ["", "a:b", "a b", "\x7f"]),
    ("TAG_NAME", ["v", "bh", "a_1", "Z9"], ["", "1a", "_a", "a-b", "a b"]),
    ("VALCHAR", list("!:<~"), [";", " ", "\x7f", "é"]),
    ("TOKEN", ["pass", "example.com", "a-b_c.d", "x!#$%&'*+^`{|}~"],
     ["", "a b", "a=b", "a@b", "a/b", 'a"', "a?", "a[b]", "a;b", "a,b", "a:b", "(a)"]),
    ("QUOTED_STRING", ['""', '"a b"', '"a\\"b"', '"\\\\"', '"a\r\n b"', '" a "'],
     ['"', '"a', 'a"', '"a"b"', '"a\\"', '"a\r\nb"', '"\x7f"']),
    ("UTF8_QUOTED_STRING", ['"jörg"'], ['"jörg']),
    ("FWS", [" ", "\t", "  \r\n ", "\r\n\t"], ["", "\r\n", "\r\n \r\n ", "a"]),
    ("OBS_FWS", [" ", " \r\n \r\n\t"], ["\r\n ", ""]),
    ("LDH_LABEL", ["a", "0", "a-b", "1a", "x" * 63], ["", "-a", "a-", "a_b", "x" * 64]),
    ("SUB_DOMAIN", ["a", "a-b", "9"], ["-a", "a-", "a_b"]),
    ("DOMAIN", ["example.org", "a", "a-1.b-2.c"], ["", "a.", ".a", "a..b", "_dmarc.example"]),
    ("KEYWORD", ["dkim", "dkim-atps", "-x", "x2"], ["", "x-", "a_b", "a.b"]),
    ("NAME_LABEL", ["_dmarc", "a-b", "x_1"], ["", "a.b", "a b"]),
    ("SELECTOR", ["s1", "sel_2.sub", "2019-01"], ["", "_s", "s.", "s_", "a..b"]),
    ("IPV4_ADDRESS", ["192.0.2.1", "0.0.0.0", "255.255.255.255"],
     ["256.1.1.1", "01.1.1.1", "1.1.1", "1.1.1.1.1"]),
    ("IPV4_ADDRESS_LITERAL", ["192.0.2.1", "010.001.0.0"], ["256.1.1.1", "1.1.1"]),
    ("ADDRESS_LITERAL", ["[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::1]",
                         "[IPv6:::ffff:192.0.2.1]", "[IPv6:1:2:3:4:5:6:7:8]", "[x-tag:some-data]"],
     ["192.0.2.1", "[192.0.2.256]", "[IPv6:2001:db8::g]", "[IPv6:zz]", "[:x]", "[a b]"]),
    ("LOCAL_PART", ["john.doe", '"john doe"', '"a\\"b"', "!#"], ["john..doe", ".x", '"a', "a b"]),
    ("MAILBOX", ["a@example.org", '"a b"@[192.0.2.1]', "x@[IPv6:::1]"],
     ["a@", "@b", "a@-b", "a@b@c", "a@example.org."]),
])
def test_examples(name: str, good: list[str], bad: list[str]) -> None:
    pattern = getattr(g, name)
    assert [t for t in good if not full(pattern, t)] == []
    assert [t for t in bad if full(pattern, t)] == []


def test_compiled_names_are_their_sources() -> None:
    for name in g.__all__:
        if name.endswith("_RE") and name != "FIELD_NAME_BYTES_RE" and name != "FWS_RUN_RE" \
                and name != "BAD_LINE_BREAK_RE":
            assert getattr(g, name).pattern == getattr(g, name[:-3]), name


def test_sources_compose_without_capturing_groups() -> None:
    for name in g.__all__:
        value = getattr(g, name)
        if isinstance(value, str) and not name.endswith(("_SET", "_CHARS", "TSPECIALS")):
            assert re.compile(value).groups == 0, name


def test_sets_build_negations() -> None:
    bad = re.compile(f"[^{g.VALCHAR_SET}{g.FWS_CHARS}]")
    assert bad.search("a=b c\r\n d") is None
    assert bad.search("a=\x7f") is not None
    assert re.fullmatch(f"[{g.FTEXT_SET}]+", "Subject")
    assert re.fullmatch(f"[{g.QTEXT_SET}]", '"') is None
    assert re.fullmatch(f"[{g.CTEXT_SET}]", "(") is None
    assert re.fullmatch(f"[{g.DTEXT_SET}]", "]") is None
    assert re.fullmatch(f"[{g.NO_WS_CTL_SET}]", "\t") is None
    assert re.fullmatch(f"[{g.QTEXT_SMTP_SET}]", " ")


def test_bad_line_break() -> None:
    assert g.BAD_LINE_BREAK_RE.search("a=1;\r\n b=2\r\n") is None
    for text, at in [("a\r\nb", 1), ("a\nb", 1), ("a\rb", 1), ("a\r\n\r\n b", 1)]:
        m = g.BAD_LINE_BREAK_RE.search(text)
        assert m is not None and m.start() == at, text


def test_field_name_bytes() -> None:
    m = g.FIELD_NAME_BYTES_RE.match(b"Subject \t: hi")
    assert m is not None and m.group(1) == b"Subject"
    assert g.FIELD_NAME_BYTES_RE.match(b"Sub ject: x") is None


def test_is_address_literal_checks_ipv6_group_counts() -> None:
    assert g.is_address_literal("[IPv6:2001:db8::1]")
    assert g.is_address_literal("[192.0.2.1]")
    assert g.is_address_literal("[tag:x]")
    # The ABNF alone admits six groups on each side of "::" (RFC 5321 §4.1.3 prose: at
    # most six in all).
    assert g.ADDRESS_LITERAL_RE.fullmatch("[IPv6:1:2:3:4::5:6:7]")
    assert not g.is_address_literal("[IPv6:1:2:3:4::5:6:7:8]")
    assert not g.is_address_literal("[IPv6:1::2::3]")
    assert not g.is_address_literal("192.0.2.1")


def test_rfc_5322_appendix_a_addr_specs() -> None:
    for text in ["jdoe@example.org", "mary@x.test", "one@y.test", "boss@nil.test",
                 "sysservices@example.net", "john.q.public@example.com", "c@a.test"]:
        assert g.MAILBOX_RE.fullmatch(text), text


# --- linear time -----------------------------------------------------------------------------

N = 100_000
HOSTILE = [
    " " * N, "\t \r\n" * (N // 4), "a." * (N // 2), "a" * N + ".", "a-" * (N // 2),
    '"' + " " * N, '"' + "\\" * N, '"' + " a" * (N // 2), "[" + "1." * (N // 2),
    "[IPv6:" + "1:" * (N // 2), "[x" + "-" * N, "1." * (N // 2), "a" * N + "@",
    "@" * N, '"' + "\r\n " * (N // 3),
]


@pytest.mark.parametrize("name", [n for n in g.__all__ if n.endswith("_RE")
                                  and n != "FIELD_NAME_BYTES_RE"])
def test_patterns_finish_on_hostile_input(name: str) -> None:
    """Each pattern, matched against 100 KB of text built to make a backtracking
    pattern explode, finishes (no timing: a quadratic pattern would take hours here,
    not a second). The patterns are for anchored matching (fullmatch, match)."""
    pattern = getattr(g, name)
    for text in HOSTILE:
        pattern.fullmatch(text)
        pattern.match(text)


def test_field_name_bytes_on_hostile_input() -> None:
    g.FIELD_NAME_BYTES_RE.match(b"a" * N)
    g.FIELD_NAME_BYTES_RE.match(b"a" * N + b" " * N)
