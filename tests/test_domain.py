"""Domain names: normalisation, IDNA, the PSL organizational domain, alignment."""

from __future__ import annotations

import ipaddress
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailauth import psl as psl_module
from mailauth._domain import (
    aligned,
    is_valid_domain,
    normalize_domain,
    organizational_domain_psl,
    parse_ip,
    public_suffix_list,
    to_unicode,
)
from mailauth.psl import (
    PublicSuffixList,
    StalePublicSuffixListWarning,
    default_public_suffix_list,
    load_public_suffix_list,
)


@pytest.mark.parametrize("raw,expected", [
    ("Example.ORG.", "example.org"),
    ("  mail.example.com ", "mail.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("_dmarc.example.org", "_dmarc.example.org"),
    ("例え\u3002テスト", "xn--r8jz45g.xn--zckzah"),
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize("bad", ["", ".", "a..b", "x" * 64 + ".org", ("a" * 60 + ".") * 5 + "org"])
def test_invalid_names(bad: str) -> None:
    assert not is_valid_domain(bad)
    with pytest.raises(ValueError):
        normalize_domain(bad)


def test_to_unicode() -> None:
    assert to_unicode("xn--bcher-kva.example") == "bücher.example"
    assert to_unicode("xn--invalid-.example") == "xn--invalid-.example"


# CASES.md 42. service.gov.uk is itself listed in the PSL (private section), so with the
# full list, which RFC 7489 §3.2 names without restriction, a.b.service.gov.uk's
# organizational domain is b.service.gov.uk: each department is its own organisation.
@pytest.mark.parametrize("name,org", [
    ("shop.example.co.uk", "example.co.uk"),
    ("x.example.k12.ca.us", "example.k12.ca.us"),
    ("a.b.pages.dev", "b.pages.dev"),  # private section, added in 2020
    ("a.b.service.gov.uk", "b.service.gov.uk"),
    ("mail.example.com", "example.com"),
    ("example.com", "example.com"),
    ("com", "com"),
    ("a.b.unlisted-tld", "b.unlisted-tld"),  # the PSL's implicit "*" rule
    ("www.ck", "www.ck"),  # "!www.ck" exception rule
    ("a.b.foo.ck", "b.foo.ck"),  # "*.ck" wildcard rule
    ("MAIL.Example.COM.", "example.com"),
])
def test_organizational_domain_psl(name: str, org: str) -> None:
    assert organizational_domain_psl(name) == org


def test_newer_psl_file(tmp_path: Path) -> None:
    psl = tmp_path / "psl.dat"
    psl.write_text("// test list\ncom\nexample.com\n", encoding="utf-8")
    assert organizational_domain_psl("a.b.example.com", psl_file=str(psl)) == "b.example.com"


# --- where the list comes from (mailauth.psl, the edge that reads it) ---------------------

@pytest.fixture
def fresh_default() -> Iterator[None]:
    """The default list is read once per process; these tests read it afresh."""
    default_public_suffix_list.cache_clear()
    yield
    default_public_suffix_list.cache_clear()


def test_default_list_is_the_current_packaged_one() -> None:
    # the test extra installs mailauth[psl]: publicsuffixlist's current copy
    with warnings.catch_warnings():
        warnings.simplefilter("error", StalePublicSuffixListWarning)
        table = public_suffix_list()
    assert table is default_public_suffix_list()
    assert table.source.startswith("publicsuffixlist ")
    assert table.version[:4].isdigit(), table.version  # its "// VERSION: 2026-..." line
    assert table.organizational_domain("a.b.pages.dev") == "b.pages.dev"
    assert table.public_suffix("a.b.pages.dev") == "pages.dev"


def test_only_the_bundled_list_warns_once(monkeypatch: pytest.MonkeyPatch,
                                          fresh_default: None) -> None:
    monkeypatch.setitem(sys.modules, "publicsuffixlist", None)  # as if not installed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = organizational_domain_psl("a.b.pages.dev")
        second = organizational_domain_psl("c.pages.dev")
    stale = [w for w in caught if issubclass(w.category, StalePublicSuffixListWarning)]
    assert len(stale) == 1, [str(w.message) for w in caught]
    assert "mailauth[psl]" in str(stale[0].message)
    # what the warning is about: the 2019 list has no pages.dev, so these two names
    # come out as one organization
    assert first == second == "pages.dev"
    assert public_suffix_list().source.startswith("publicsuffix2 ")


def test_explicit_load_of_the_bundled_list_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "publicsuffixlist", None)
    with pytest.warns(StalePublicSuffixListWarning):
        table = load_public_suffix_list()
    assert table.source.endswith("(bundled)") and table.version == ""


def test_psl_file_is_read_at_the_edge_and_passed_as_a_value(tmp_path: Path) -> None:
    path = tmp_path / "public_suffix_list.dat"
    path.write_text(
        "// ===BEGIN ICANN DOMAINS===\n"
        "// VERSION: 2030-01-01_00-00-00_UTC\n"
        "com\n"
        "*.ck\n!www.ck\n"
        "ελ\n"                  # U-labels in the list become A-labels (IDNA 2008)
        "faß.de\n"              # IDNA 2008 keeps ß (IDNA 2003 would make it fass.de)
        "de\n"
        "// ===BEGIN PRIVATE DOMAINS===\n"
        "pages.dev\n",
        encoding="utf-8")
    table = load_public_suffix_list(path)  # a Path or a str
    assert isinstance(table, PublicSuffixList)
    assert table.source == str(path) and table.version == "2030-01-01_00-00-00_UTC"
    assert table.organizational_domain("a.b.pages.dev") == "b.pages.dev"
    assert table.organizational_domain("a.b.foo.ck") == "b.foo.ck"
    assert table.organizational_domain("www.ck") == "www.ck"
    assert table.organizational_domain("a.παράδειγμα.ελ") == "xn--hxajbheg2az3al.xn--qxam"
    assert table.organizational_domain("x.y.faß.de") == "y.xn--fa-hia.de"
    assert table.organizational_domain("x.y.fass.de") == "fass.de"
    assert table.organizational_domain("pages.dev") == "pages.dev"  # a suffix itself
    # protocol code receives the value; psl_file= is the same, memoised by path
    assert organizational_domain_psl("a.b.pages.dev", psl=table) == "b.pages.dev"
    assert organizational_domain_psl("a.b.pages.dev", psl_file=str(path)) == "b.pages.dev"
    assert public_suffix_list(str(path)) is public_suffix_list(str(path))


def test_unreadable_psl_file_is_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_public_suffix_list(tmp_path / "missing.dat")


def test_psl_rules_idna_cannot_encode_are_dropped() -> None:
    # a ZERO WIDTH JOINER out of context: no A-label can match the rule, so it goes
    assert psl_module._rule_to_ascii("a\u200db.com") is None
    table = PublicSuffixList.from_lines(["com", "a\u200db.com"], source="test")
    assert table.organizational_domain("x.y.com") == "y.com"
    assert psl_module._rule_to_ascii("!x.ελ") == "!x.xn--qxam"
    assert psl_module._rule_to_ascii("*.ελ") == "*.xn--qxam"


def test_alignment() -> None:
    assert aligned("mail.example.com", "example.com")  # relaxed
    assert not aligned("mail.example.com", "example.com", "s")
    assert aligned("Example.com.", "example.COM", "s")
    assert not aligned("example.com", "example.net")
    assert not aligned("a.co.uk", "b.co.uk")


def test_parse_ip() -> None:
    assert parse_ip("::ffff:192.0.2.1") == ipaddress.IPv4Address("192.0.2.1")
    assert parse_ip(" 2001:db8::1 ") == ipaddress.IPv6Address("2001:db8::1")
    with pytest.raises(ValueError):
        parse_ip("192.0.2.300")


def test_idna_2008_not_2003() -> None:
    # RFC 8616 -> RFC 5890/5891: deviation characters keep their own A-label
    assert normalize_domain("faß.de") == "xn--fa-hia.de"
    assert normalize_domain("FASS.de") == "fass.de"
    assert to_unicode("xn--fa-hia.de") == "faß.de"
    with pytest.raises(ValueError, match="IDNA 2008"):
        normalize_domain("a\u200db.example")  # a joiner where IDNA 2008 forbids it


def test_zone_index_is_not_a_client_address() -> None:
    with pytest.raises(ValueError, match="zone index"):
        parse_ip("fe80::1%eth0")
