"""dnspython's outcomes mapped to Answer outcomes in one place (no network here;
tests/integration/test_resolvers_live.py does the same against real servers)."""

from __future__ import annotations

import dns.exception
import dns.message
import dns.name
import dns.resolver
import pytest

from mailauth._flow import Outcome, Query
from mailauth.resolvers import DNSResolver, records_from_rrset

Q = Query("example.org", "TXT")


@pytest.mark.parametrize("exc,outcome,reason", [
    (dns.resolver.NoAnswer(), Outcome.NODATA, ""),
    (dns.exception.Timeout(), Outcome.TEMPFAIL, "timeout"),
    (dns.resolver.LifetimeTimeout(timeout=1.0, errors=[]), Outcome.TEMPFAIL, "timeout"),
    (dns.resolver.NoNameservers(request=dns.message.make_query("example.org", "TXT"),
                                errors=[("127.0.0.1", False, 53, "SERVFAIL", None)]),
     Outcome.TEMPFAIL, "127.0.0.1: SERVFAIL"),
    (dns.resolver.YXDOMAIN(), Outcome.TEMPFAIL, "YXDOMAIN"),
    (dns.name.LabelTooLong(), Outcome.NXDOMAIN, "invalid name"),
    (dns.name.EmptyLabel(), Outcome.NXDOMAIN, "invalid name"),
    (ConnectionRefusedError("refused"), Outcome.TEMPFAIL, "network error"),
    (dns.exception.FormError("bad packet"), Outcome.TEMPFAIL, "FormError"),
])
def test_exception_mapping(exc: Exception, outcome: Outcome, reason: str) -> None:
    answer = DNSResolver()._from_exception(Q, exc)
    assert answer.outcome is outcome
    assert reason in answer.reason
    assert answer.records == ()


def test_nxdomain_mapping() -> None:
    exc = dns.resolver.NXDOMAIN(qnames=[dns.name.from_text("example.org")], responses={})
    answer = DNSResolver(trust_ad=True)._from_exception(Q, exc)
    assert answer.outcome is Outcome.NXDOMAIN and not answer.authentic


@pytest.mark.parametrize("name", ["a..example", "x" * 64 + ".example", "a." * 130 + "example"])
def test_impossible_names_are_answered_without_a_query(name: str) -> None:
    # an unreachable nameserver proves nothing is sent
    resolver = DNSResolver(["127.0.0.1"], port=9, timeout=0.2)
    answer = resolver.resolve(Query(name, "TXT"), timeout=0.2)
    assert answer.outcome is Outcome.NXDOMAIN and "invalid name" in answer.reason


def test_unknown_type() -> None:
    answer = DNSResolver(["127.0.0.1"], port=9).resolve(Query("example.org", "NOPE"), timeout=0.1)
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
