"""SPF with internationalized domain names (RFC 8616 §4, RFC 7208 §4.3).

MAIL FROM, HELO and the names terms expand to are checked in their A-label form
(IDNA 2008); the local-part stays as it is; a name IDNA 2008 refuses is no domain name.
"""

from __future__ import annotations

from typing import Any

import pytest

from mailauth import Status
from mailauth.spf import SPFResult, check_host, check_spf
from mailauth.testing import FakeResolver

IP = "192.0.2.1"
FASS = "xn--fa-hia.de"  # faß.de in IDNA 2008 (IDNA 2003 would map it to fass.de)


def asked(resolver: FakeResolver) -> list[str]:
    return [str(q) for q in resolver.queries]


def spf(zone: dict[str, Any], mail_from: str, helo: str | None = "mx.example.org",
        **kw: Any) -> tuple[SPFResult, FakeResolver]:
    resolver = FakeResolver(zone)
    return check_spf(IP, mail_from, helo, **kw).run(resolver), resolver


def test_mail_from_with_u_labels_is_checked_as_a_labels() -> None:
    zone = {FASS: {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
            "fass.de": {"TXT": ["v=spf1 -all"]}}
    r, resolver = spf(zone, "user@faß.de", check_helo=False)
    assert r.status is Status.PASS
    assert r.domain == FASS and r.sender == f"user@{FASS}"
    assert asked(resolver) == [f"{FASS} TXT"]
    assert r.authres() == f"spf=pass smtp.mailfrom=user@{FASS}"


@pytest.mark.parametrize("mail_from", ["user@FAß.DE", "user@faß。de", "<user@faß.de.>"])
def test_mail_from_spellings_of_one_idn_are_one_domain(mail_from: str) -> None:
    r, resolver = spf({FASS: {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]}}, mail_from,
                      check_helo=False)
    assert r.status is Status.PASS and r.domain == FASS
    assert asked(resolver) == [f"{FASS} TXT"]


def test_local_part_stays_as_it_is() -> None:
    r, _ = spf({FASS: {"TXT": ["v=spf1 +all"]}}, "jörg@faß.de", check_helo=False)
    assert r.sender == f"jörg@{FASS}"


def test_helo_with_u_labels_is_checked_as_a_labels() -> None:
    zone = {f"mail.{FASS}": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]},
            "example.org": {"TXT": ["v=spf1 -all"]}}
    r, resolver = spf(zone, "user@example.org", "mail.faß.de")
    assert r.helo is not None and r.helo.status is Status.PASS
    assert r.helo.domain == f"mail.{FASS}" and r.helo_domain == f"mail.{FASS}"
    assert r.status is Status.FAIL
    assert all(q.isascii() for q in asked(resolver))


def test_null_sender_with_u_label_helo() -> None:
    # RFC 7208 §2.4: postmaster@<helo>, in A-labels.
    r, _ = spf({f"mail.{FASS}": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]}}, "", "mail.faß.de")
    assert r.status is Status.PASS and r.sender == f"postmaster@mail.{FASS}"


def test_check_host_domain_with_u_labels() -> None:
    resolver = FakeResolver({FASS: {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]}})
    r = check_host(IP, "faß.de", "user@faß.de", now=0).run(resolver)
    assert r.status is Status.PASS and r.domain == FASS


@pytest.mark.parametrize(("term", "zone", "query"), [
    ("include:_spf.%{d}", {f"_spf.{FASS}": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]}},
     f"_spf.{FASS} TXT"),
    ("a:mail.%{o}", {f"mail.{FASS}": {"A": [IP]}}, f"mail.{FASS} A"),
    ("mx:%{d}", {FASS: {"MX": [f"10 mx.{FASS}"]}, f"mx.{FASS}": {"A": [IP]}},
     f"{FASS} MX"),
    ("a:%{h}", {f"mail.{FASS}": {"A": [IP]}}, f"mail.{FASS} A"),
    ("exists:%{l}.%{d}", {f"user.{FASS}": {"A": ["127.0.0.2"]}}, f"user.{FASS} A"),
])
def test_targets_naming_u_label_domains_are_queried_as_a_labels(
        term: str, zone: dict[str, Any], query: str) -> None:
    # RFC 8616 §4: the labels that macros put into a domain-spec are A-labels too.
    zone = {FASS: {"TXT": [f"v=spf1 {term} -all"], **zone.get(FASS, {})},
            **{k: v for k, v in zone.items() if k != FASS}}
    r, resolver = spf(zone, "user@faß.de", "mail.faß.de", check_helo=False)
    assert r.status is Status.PASS, r.trace_text()
    assert query in asked(resolver)
    assert all(q.isascii() for q in asked(resolver))


def test_u_labels_written_in_a_record_are_a_syntax_error() -> None:
    # RFC 7208 §4.3 and RFC 8616 §4: names in SPF records are A-labels; the record
    # grammar admits only ASCII (§7.1), so such a record is permerror.
    r, resolver = spf({"example.org": {"TXT": ["v=spf1 include:_spf.faß.de -all"]}},
                      "user@example.org", check_helo=False)
    assert r.status is Status.PERMERROR and "syntax error" in r.problem
    assert asked(resolver) == ["example.org TXT"]


@pytest.mark.parametrize("domain", ["fa\u2603.de", "\u0301a.de", "a\u200db.example"])
def test_mail_from_domain_idna_refuses_is_none_without_a_query(domain: str) -> None:
    # RFC 7208 §4.3: a malformed <domain> gives none at once, with no DNS query.
    r, resolver = spf({}, f"user@{domain}", check_helo=False)
    assert r.status is Status.NONE
    assert "not a valid internationalized domain name" in r.reason
    assert "RFC 8616" in r.reason and "IDNA 2008" in r.reason
    assert resolver.queries == []


def test_helo_idna_refuses_is_none_and_mail_from_still_checked() -> None:
    r, resolver = spf({"example.org": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"]}},
                      "user@example.org", "mail.fa\u2603.de")
    assert r.status is Status.PASS
    assert r.helo is not None and r.helo.status is Status.NONE
    assert asked(resolver) == ["example.org TXT"]


def test_h_macro_of_a_helo_idna_refuses_matches_nothing() -> None:
    r, resolver = spf({"example.org": {"TXT": ["v=spf1 a:%{h} ?all"]}},
                      "user@example.org", "mail.fa\u2603.de", check_helo=False)
    assert r.status is Status.NEUTRAL and r.matched == "?all"
    assert asked(resolver) == ["example.org TXT"]
    assert "no match (target is not a valid domain name)" in r.trace_text()


@pytest.mark.parametrize("term", ["exists:%{l}._spf.example.org", "a:%{s}.example.org",
                                  "include:%{l}._spf.example.org"])
def test_non_ascii_local_part_in_a_target_matches_nothing(term: str) -> None:
    # RFC 8616 §4: a term whose %{s} or %{l} gives a non-ASCII local-part matches
    # nothing (such a local-part is no DNS label): no query, no permerror.
    zone = {"example.org": {"TXT": [f"v=spf1 {term} ~all"]}}
    r, resolver = spf(zone, "jörg@example.org", check_helo=False)
    assert r.status is Status.SOFTFAIL and r.matched == "~all", r.trace_text()
    assert asked(resolver) == ["example.org TXT"]
    assert r.lookups == 1  # the term still counts (RFC 7208 §4.6.4)


def test_ascii_local_part_in_a_target_is_queried() -> None:
    zone = {"example.org": {"TXT": ["v=spf1 exists:%{l}._spf.example.org ~all"]},
            "joerg._spf.example.org": {"A": ["127.0.0.2"]}}
    r, resolver = spf(zone, "joerg@example.org", check_helo=False)
    assert r.status is Status.PASS
    assert "joerg._spf.example.org A" in asked(resolver)
