"""dnspython's outcomes mapped to Answer outcomes in one place (no network here;
tests/integration/test_resolvers_live.py does the same against real servers)."""

from __future__ import annotations

import asyncio
import struct
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
import dns.version
import pytest

from mailauth._flow import TLSA, Outcome, Query
from mailauth.resolvers import (
    DNSResolver,
    UnusableRecord,
    parse_response,
    records_from_rrset,
)

Q = Query("example.org", "TXT")


def _new(cls: Any, *args: Any, **kwargs: Any) -> Exception:
    """An exception of a dnspython class (their constructors are untyped)."""
    return cast(Exception, cls(*args, **kwargs))


@pytest.mark.parametrize("exc,outcome,reason", [
    (_new(dns.resolver.NoAnswer), Outcome.NODATA, ""),
    (_new(dns.exception.Timeout), Outcome.TEMPFAIL, "timeout"),
    (_new(dns.resolver.LifetimeTimeout, timeout=1.0, errors=[]), Outcome.TEMPFAIL, "timeout"),
    (_new(dns.resolver.NoNameservers, request=dns.message.make_query("example.org", "TXT"),
          errors=[("127.0.0.1", False, 53, "SERVFAIL", None)]),
     Outcome.TEMPFAIL, "127.0.0.1: SERVFAIL"),
    (_new(dns.resolver.YXDOMAIN), Outcome.TEMPFAIL, "YXDOMAIN"),
    (_new(dns.name.LabelTooLong), Outcome.NXDOMAIN, "invalid name"),
    (_new(dns.name.EmptyLabel), Outcome.NXDOMAIN, "invalid name"),
    (ConnectionRefusedError("refused"), Outcome.TEMPFAIL, "network error"),
    (_new(dns.exception.FormError, "bad packet"), Outcome.TEMPFAIL, "FormError"),
])
def test_exception_mapping(exc: Exception, outcome: Outcome, reason: str) -> None:
    answer = DNSResolver()._from_exception(Q, exc)
    assert answer.outcome is outcome
    assert reason in answer.reason
    assert answer.records == ()


def test_nxdomain_mapping() -> None:
    exc = _new(dns.resolver.NXDOMAIN, qnames=[dns.name.from_text("example.org")], responses={})
    answer = DNSResolver(trust_ad=True)._from_exception(Q, exc)
    assert answer.outcome is Outcome.NXDOMAIN and not answer.authentic


@pytest.mark.parametrize("name", ["a..example", "x" * 64 + ".example", "a." * 130 + "example"])
def test_impossible_names_are_answered_without_a_query(name: str) -> None:
    # an unreachable nameserver proves nothing is sent
    resolver = DNSResolver(["127.0.0.1"], port=9, timeout=0.2)
    answer = resolver.resolve(Query(name, "TXT"), timeout=0.2)
    assert answer.outcome is Outcome.NXDOMAIN and "invalid name" in answer.reason


def test_unknown_type() -> None:
    with pytest.raises(ValueError, match="unsupported record type"):
        Query("example.org", "NOPE")  # type: ignore[arg-type]
    # a Query made around that check is still answered without a query
    odd = object.__new__(Query)
    for name, value in (("name", "example.org"), ("rdtype", "NOPE"),
                        ("_key", ("example.org", "NOPE"))):
        object.__setattr__(odd, name, value)
    answer = DNSResolver(["127.0.0.1"], port=9).resolve(odd, timeout=0.1)
    assert answer.outcome is Outcome.TEMPFAIL and "unknown record type" in answer.reason


def test_records_from_rrset_types() -> None:
    msg = dns.message.from_text(
        "id 1\nopcode QUERY\nrcode NOERROR\nflags QR\n;QUESTION\nx.example. IN TXT\n;ANSWER\n"
        'x.example. 60 IN TXT "v=spf1 ip4:59.10" "6.116.96/27 -all"\n'
        'x.example. 60 IN TXT "caf\\195\\169" "\\255"\n')
    txt = records_from_rrset("TXT", msg.answer[0])
    assert set(txt) == {"v=spf1 ip4:59.106.116.96/27 -all", "caf\u00e9\ufffd"}


def test_repr() -> None:
    assert "system" in repr(DNSResolver())
    assert "127.0.0.1" in repr(DNSResolver(["127.0.0.1"], port=5301, trust_ad=True))


# --- one bad record is not a failed lookup (RFC 7671 §4.1) -----------------------------------

OWNER = "_25._tcp.mx.example."
GOOD = bytes([3, 1, 1]) + b"\xc0" * 32          # DANE-EE SPKI SHA-256: 32 bytes
SHORT = bytes([3, 1, 1]) + b"\xba" * 31         # 31 bytes for SHA-256: unusable
LONG512 = bytes([2, 0, 2]) + b"\xba" * 63       # 63 bytes for SHA-512: unusable


def _raw_response(qtype: str, *records: tuple[str, str, bytes],
                  flags: int = 0) -> tuple[dns.message.Message, bytes]:
    """A query and the wire form of a response holding ``records`` (owner, type,
    rdata bytes) as dnspython would never build them: the rdata goes in unchecked."""
    q = dns.message.make_query(OWNER, qtype)
    r = dns.message.make_response(q)
    r.flags |= flags
    for owner, rdtype, data in records:
        rrset = r.find_rrset(r.answer, dns.name.from_text(owner), dns.rdataclass.IN,
                             dns.rdatatype.from_text(rdtype), create=True)
        rrset.add(dns.rdata.GenericRdata(dns.rdataclass.IN,
                                         dns.rdatatype.from_text(rdtype), data), 60)
    return q, r.to_wire()


def test_dnspython_refuses_the_whole_response() -> None:
    # the behaviour this module works around (dnspython >= 2.9 checks the length)
    _, wire = _raw_response("TLSA", (OWNER, "TLSA", GOOD), (OWNER, "TLSA", SHORT))
    if dns.version.MAJOR == 2 and dns.version.MINOR < 9:
        pytest.skip("dnspython before 2.9 does not check TLSA data lengths")
    with pytest.raises(dns.exception.FormError):
        dns.message.from_wire(wire)


def test_unusable_tlsa_record_is_left_out() -> None:
    q, wire = _raw_response("TLSA", (OWNER, "TLSA", GOOD), (OWNER, "TLSA", SHORT))
    response = parse_response(wire)
    assert q.is_response(response)
    rrset = response.find_rrset(response.answer, dns.name.from_text(OWNER),
                                dns.rdataclass.IN, dns.rdatatype.TLSA)
    assert records_from_rrset("TLSA", rrset) == (TLSA(3, 1, 1, b"\xc0" * 32),)
    if dns.version.MINOR >= 9:
        (error,) = response.errors
        assert isinstance(error.exception, UnusableRecord)
        assert error.exception.section == "answer"
        assert error.exception.rdtype == dns.rdatatype.TLSA
        assert "TLSA record at _25._tcp.mx.example" in str(error.exception)


def test_only_unusable_tlsa_records() -> None:
    _, wire = _raw_response("TLSA", (OWNER, "TLSA", SHORT), (OWNER, "TLSA", LONG512))
    response = parse_response(wire)
    assert response.answer == [] or all(len(r) == 0 for r in response.answer)
    if dns.version.MINOR >= 9:
        assert len(response.errors) == 2


@pytest.mark.parametrize("other", [
    ("mx.example.", "MX", b"\x00\x0a\x03mx"),         # exchange name cut short
    ("mx.example.", "A", b"\x7f\x00\x01"),            # 3 bytes for an IPv4 address
    ("mx.example.", "TXT", b"\x09abc"),                 # string length past the data
], ids=["mx", "a", "txt"])
def test_other_malformed_records_still_fail_the_response(
        other: tuple[str, str, bytes]) -> None:
    # An A, MX or TXT record whose wire form is broken is a broken response, TLSA or not.
    _, alone = _raw_response(other[1], other)
    with pytest.raises(dns.exception.FormError):
        parse_response(alone)
    _, mixed = _raw_response("TLSA", (OWNER, "TLSA", GOOD), (OWNER, "TLSA", SHORT), other)
    with pytest.raises(dns.exception.FormError):
        parse_response(mixed)


def test_broken_message_structure_still_fails() -> None:
    _, wire = _raw_response("TLSA", (OWNER, "TLSA", GOOD), (OWNER, "TLSA", SHORT))
    with pytest.raises(dns.exception.FormError):
        parse_response(wire[:-5])  # the last record's data is cut short
    ancount = wire[:6] + struct.pack("!H", 9) + wire[8:]  # more records than there are
    with pytest.raises(dns.exception.FormError):
        parse_response(ancount)


def test_truncated_response_is_reported_as_truncated() -> None:
    _, wire = _raw_response("TLSA", (OWNER, "TLSA", SHORT), flags=dns.flags.TC)
    with pytest.raises(dns.message.Truncated):
        parse_response(wire, raise_on_truncation=True)


def _answer_from(wire: bytes, qtype: str = "TLSA") -> dns.resolver.Answer:
    response = cast(dns.message.QueryMessage, parse_response(wire))
    return dns.resolver.Answer(dns.name.from_text(OWNER), dns.rdatatype.from_text(qtype),
                               dns.rdataclass.IN, response)


@pytest.mark.skipif(dns.version.MINOR < 9, reason="dnspython < 2.9 keeps the record")
def test_answer_names_the_records_left_out() -> None:
    _, wire = _raw_response("TLSA", (OWNER, "TLSA", GOOD), (OWNER, "TLSA", SHORT))
    answer = DNSResolver()._from_answer(Query(OWNER, "TLSA"), _answer_from(wire))
    assert answer.outcome is Outcome.OK
    assert answer.records == (TLSA(3, 1, 1, b"\xc0" * 32),)
    assert answer.reason.startswith("1 unusable TLSA record left out (RFC 7671 §4.1)")

    _, wire = _raw_response("TLSA", (OWNER, "TLSA", SHORT), (OWNER, "TLSA", LONG512))
    answer = DNSResolver()._from_answer(Query(OWNER, "TLSA"), _answer_from(wire))
    # records were published, none usable: not NODATA (RFC 7671 §4.1 tells them apart)
    assert answer.outcome is Outcome.OK and answer.records == ()
    assert answer.reason.startswith("2 unusable TLSA records left out")


def test_answer_without_left_out_records_has_no_reason() -> None:
    _, wire = _raw_response("TLSA", (OWNER, "TLSA", GOOD))
    answer = DNSResolver()._from_answer(Query(OWNER, "TLSA"), _answer_from(wire))
    assert answer.outcome is Outcome.OK and answer.reason == ""


def test_nameservers_get_the_lenient_path() -> None:
    # explicit addresses, dnspython's own Do53 objects, and other kinds left alone
    res = DNSResolver(["127.0.0.1", "::1"], port=5301)._sync_resolver()
    assert [(type(ns).__name__, ns.address, ns.port)  # type: ignore[union-attr]
            for ns in res.nameservers] == [("_Do53", "127.0.0.1", 5301), ("_Do53", "::1", 5301)]
    doh = dns.nameserver.DoHNameserver("https://127.0.0.1/dns-query")
    sync = dns.resolver.Resolver(configure=False)
    sync.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.2", 5300), doh]
    DNSResolver()._configure(sync)  # the system's nameservers: converted as they are
    assert [type(ns).__name__ for ns in sync.nameservers] == ["_Do53", "DoHNameserver"]


def test_lenient_conversion_keeps_what_it_cannot_use() -> None:
    from mailauth.resolvers import _Do53, _lenient

    res = dns.resolver.Resolver(configure=False)
    ours = _Do53("127.0.0.1", 53)
    assert _lenient(ours, res) is ours
    assert _lenient("https://127.0.0.1/dns-query", res) == "https://127.0.0.1/dns-query"


@pytest.mark.parametrize("exc,reason", [
    (_new(dns.message.Truncated, message=dns.message.make_query("example.org", "TXT")),
     "truncated"),
    (RuntimeError("odd"), "RuntimeError: odd"),
])
def test_other_exceptions_are_tempfail(exc: Exception, reason: str) -> None:
    answer = DNSResolver()._from_exception(Q, exc)
    assert answer.outcome is Outcome.TEMPFAIL and reason in answer.reason


def test_async_precheck_answers_without_a_query() -> None:
    resolver = DNSResolver(["127.0.0.1"], port=9, timeout=0.2)
    answer = asyncio.run(resolver.aresolve(Query("a..example", "TXT"), timeout=0.2))
    assert answer.outcome is Outcome.NXDOMAIN and "invalid name" in answer.reason
