"""Domain names: normalisation, IDNA, the PSL organizational domain, alignment."""

from __future__ import annotations

import ipaddress

import pytest

from mailauth._domain import (
    aligned,
    is_valid_domain,
    normalize_domain,
    organizational_domain_psl,
    parse_ip,
    to_unicode,
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
    ("x.example.fed.us", "example.fed.us"),
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


def test_newer_psl_file(tmp_path: pytest.TempPathFactory) -> None:
    psl = tmp_path / "psl.dat"  # type: ignore[operator]
    psl.write_text("// test list\ncom\nexample.com\n", encoding="utf-8")
    assert organizational_domain_psl("a.b.example.com", psl_file=str(psl)) == "b.example.com"


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
