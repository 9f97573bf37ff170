"""The test doubles behave like a recursive resolver would."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from mailauth.errors import ArgumentTypeError, ParseError, UsageError
from mailauth.flows import MX, TLSA, Answer, Outcome, Query, RRType
from mailauth.testing import FakeResolver

ZONE_TEXT = """
$ORIGIN example.net.
$TTL 300
@          SOA  ns1 hostmaster 1 3600 900 604800 300
@          NS   ns1
@          MX   10 mx
@          TXT  "v=spf1 " "-all"
mx         A    192.0.2.1
mx         AAAA 2001:db8::1
a.b.c      TXT  "deep"
www        CNAME mx
loop1      CNAME loop2
loop2      CNAME loop1
_25._tcp.mx TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
1.2.0.192.in-addr.arpa. PTR mx.example.net.
"""


def answer(fake: FakeResolver, name: str, rdtype: RRType) -> Answer:
    return fake.resolve(Query(name, rdtype))


def test_from_zone_types() -> None:
    fake = FakeResolver.from_zone(ZONE_TEXT)
    assert answer(fake, "example.net", "TXT").records == ("v=spf1 -all",)
    assert answer(fake, "example.net", "MX").records == (MX(10, "mx.example.net"),)
    assert answer(fake, "mx.example.net", "A").records == (ipaddress.IPv4Address("192.0.2.1"),)
    assert answer(fake, "mx.example.net", "AAAA").records == (ipaddress.IPv6Address("2001:db8::1"),)
    tlsa = answer(fake, "_25._tcp.mx.example.net", "TLSA").records[0]
    assert isinstance(tlsa, TLSA) and tlsa.usage == 3 and len(tlsa.data) == 32
    assert answer(fake, "1.2.0.192.in-addr.arpa", "PTR").records == ("mx.example.net",)


def test_nxdomain_nodata_and_empty_non_terminal() -> None:
    fake = FakeResolver.from_zone(ZONE_TEXT)
    assert answer(fake, "nope.example.net", "TXT").outcome is Outcome.NXDOMAIN
    assert answer(fake, "mx.example.net", "TXT").outcome is Outcome.NODATA
    assert answer(fake, "b.c.example.net", "TXT").outcome is Outcome.NODATA  # RFC 8020
    assert answer(fake, "Example.NET.", "TXT").outcome is Outcome.OK


def test_cname_followed_and_loops_tempfail() -> None:
    fake = FakeResolver.from_zone(ZONE_TEXT)
    www = answer(fake, "www.example.net", "A")
    assert www.records == (ipaddress.IPv4Address("192.0.2.1"),)
    assert www.canonical_name == "mx.example.net"
    assert answer(fake, "www.example.net", "CNAME").records == ("mx.example.net",)
    loop = answer(fake, "loop1.example.net", "TXT")
    assert loop.outcome is Outcome.TEMPFAIL and "loop" in loop.reason


def test_tempfail_and_authentic_options() -> None:
    fake = FakeResolver({"a.example": {"TXT": ["x"], "A": ["192.0.2.1"]}},
                        tempfail=["down.example", ("a.example", "A")],
                        authentic=["a.example"])
    assert answer(fake, "down.example", "MX").outcome is Outcome.TEMPFAIL
    assert answer(fake, "a.example", "A").outcome is Outcome.TEMPFAIL
    txt = answer(fake, "a.example", "TXT")
    assert txt.ok and txt.authentic
    assert fake.asked("A.EXAMPLE.") == 2 and fake.asked("a.example", "txt") == 1


def test_txt_list_is_one_record_of_several_strings() -> None:
    fake = FakeResolver({"x.example": {"TXT": [["v=spf1 ip4:59.10", "6.116.96/27 -all"], "other"]}})
    assert answer(fake, "x.example", "TXT").records == ("v=spf1 ip4:59.106.116.96/27 -all", "other")


def test_invalid_names_are_nxdomain() -> None:
    fake = FakeResolver()
    assert answer(fake, "a" * 64 + ".example", "TXT").outcome is Outcome.NXDOMAIN
    assert answer(fake, "a..example", "TXT").outcome is Outcome.NXDOMAIN


def test_async_side_and_bad_zone() -> None:
    fake = FakeResolver({"a.example": {"TXT": ["x"]}})
    got = asyncio.run(fake.aresolve(Query("a.example", "TXT")))
    assert got.records == ("x",)
    with pytest.raises(ValueError, match="zone"):
        FakeResolver.from_zone("this is not a zone\n")
    with pytest.raises(TypeError):
        FakeResolver({"a.example": {"TXT": [42]}})


def test_from_zone_given_a_path_says_so(tmp_path: Path) -> None:
    zone = tmp_path / "example.zone"
    zone.write_text(ZONE_TEXT)
    for given in (zone, str(zone)):
        with pytest.raises(UsageError, match="not a file name"):
            FakeResolver.from_zone(given)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="as str, not bytes"):
        FakeResolver.from_zone(ZONE_TEXT.encode())  # type: ignore[arg-type]
    assert FakeResolver.from_zone(zone.read_text()).answer(Query("mx.example.net", "A")).ok


def test_from_zone_errors_are_parse_errors_with_the_line() -> None:
    with pytest.raises(ParseError, match=r"zone text does not parse: <zone>:\d+: "):
        FakeResolver.from_zone("$ORIGIN example.org.\nwww 300 IN A not-an-address\n")
