"""authenticate(): SPF, DKIM, DMARC and iprev as one check, offline (mailauth.testing)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TypedDict

import pytest

import mailauth
from mailauth import Status
from mailauth.errors import ArgumentTypeError, UsageError
from mailauth.flows import Query
from mailauth.message import parse_message
from mailauth.testing import FakeResolver, drive
from mailauth.umbrella import AuthResults, authenticate_flow

REPO = Path(__file__).resolve().parent.parent
ZONE = (REPO / "examples" / "example.zone").read_text()
MESSAGE = (REPO / "examples" / "message.eml").read_bytes()


class Envelope(TypedDict):
    ip: str
    helo: str
    mail_from: str


ENVELOPE = Envelope(ip="198.51.100.7", helo="out.example.org", mail_from="alice@example.org")
NOW = 1_796_000_000.0  # after the example signatures' t=


@pytest.fixture(scope="module")
def dns() -> FakeResolver:
    return FakeResolver.from_zone(ZONE)


def test_the_bundled_message_passes_everything(dns: FakeResolver) -> None:
    r = mailauth.authenticate(MESSAGE, **ENVELOPE).run(dns)
    assert isinstance(r, AuthResults)
    assert (r.spf.status, r.dkim.status, r.dmarc.status) == (Status.PASS,) * 3
    assert r.iprev is not None and r.iprev.status is Status.PASS
    assert r.status is Status.PASS
    assert str(r).startswith("spf=pass dkim=pass dmarc=pass iprev=pass: aligned pass")
    assert ("ip", "198.51.100.7") in r.envelope


def test_run_and_arun_give_equal_results(dns: FakeResolver) -> None:
    check = mailauth.authenticate(MESSAGE, **ENVELOPE, now=NOW)
    assert asyncio.run(check.arun(dns)) == check.run(dns)


def test_the_first_step_asks_every_independent_question_together() -> None:
    flow = authenticate_flow(parse_message(MESSAGE), now=NOW, **ENVELOPE)
    first = flow.send(None)
    assert isinstance(first, tuple)
    asked = {(q.name, q.rdtype) for q in first if isinstance(q, Query)}
    assert {("example.org", "TXT"), ("out.example.org", "TXT"),          # SPF, both ids
            ("ex2026._domainkey.example.org", "TXT"),                  # every DKIM key
            ("rsa2026._domainkey.example.org", "TXT"),
            ("_dmarc.example.org", "TXT"),                             # the policy
            ("7.100.51.198.in-addr.arpa", "PTR")} <= asked, asked      # iprev
    flow.close()


def test_no_envelope_means_spf_none_with_the_reason(dns: FakeResolver) -> None:
    r = mailauth.authenticate(MESSAGE).run(dns)
    assert r.spf.status is Status.NONE and "no SMTP envelope" in r.spf.reason
    assert r.iprev is None
    assert r.dmarc.status is Status.PASS     # on DKIM alone
    assert [a.method for a in r.dmarc.alignment] == ["dkim", "dkim"]
    header = r.header("mx.example.net")
    assert "spf=none (no SMTP envelope);" in header.replace("\r\n", "")


def test_trust_received_reads_the_envelope_from_the_message(dns: FakeResolver) -> None:
    stamped = (b"Return-Path: <alice@example.org>\r\n"
               b"Received: from out.example.org (out.example.org [198.51.100.7]) by "
               b"mx.example.net (Postfix) with ESMTPS id 1; Thu, 3 Dec 2026 06:00:00 +0000\r\n"
               + MESSAGE)
    r = mailauth.authenticate(stamped, trust_received=True).run(dns)
    assert r.spf.status is Status.PASS and r.spf.ip == "198.51.100.7"
    assert r.spf.sender == "alice@example.org"
    assert r.envelope[0][0] == "envelope" and "trust_received" in r.envelope[0][1]
    # not trusted unless asked
    assert mailauth.authenticate(stamped).run(dns).spf.status is Status.NONE


def test_trust_received_without_the_fields_says_which_is_missing(dns: FakeResolver) -> None:
    r = mailauth.authenticate(MESSAGE, trust_received=True).run(dns)   # no Return-Path
    assert r.spf.status is Status.NONE and "Return-Path" in r.spf.reason
    assert r.spf.ip == "198.51.100.7"                                  # from Received
    bare = mailauth.authenticate(b"From: a@example.org\r\n\r\nx\r\n",
                                 trust_received=True).run(dns)
    assert bare.spf.status is Status.NONE and "Received" in bare.spf.reason


def test_ip_without_mail_from_is_spf_none_not_a_guess(dns: FakeResolver) -> None:
    r = mailauth.authenticate(MESSAGE, ip="198.51.100.7").run(dns)
    assert r.spf.status is Status.NONE and "MAIL FROM" in r.spf.reason
    assert r.iprev is not None and r.iprev.status is Status.PASS


def test_a_spoofed_message_fails_with_the_policy(dns: FakeResolver) -> None:
    spoofed = MESSAGE.replace(b"Subject:", b"Subject: changed", 1)
    r = mailauth.authenticate(spoofed, ip="203.0.113.66", helo="bad.example",
                              mail_from="x@bad.example").run(dns)
    assert r.dkim.status is Status.FAIL
    assert r.dmarc.status is Status.FAIL
    assert (r.dmarc.policy, r.dmarc.disposition) == ("reject", "reject")
    assert "dmarc=fail (p=reject dis=reject)" in r.header("mx").replace("\r\n", "")


def test_header_is_ascii_folded_and_one_field(dns: FakeResolver) -> None:
    r = mailauth.authenticate(MESSAGE, **ENVELOPE).run(dns)
    header = r.header("mx.example.net")
    assert header.isascii()
    lines = header.split("\r\n")
    assert all(len(line) <= 78 for line in lines), lines
    assert all(line.startswith(" ") for line in lines[1:])
    assert header.count("Authentication-Results:") == 1
    # id; spf mailfrom; spf helo; dkim; dkim; arc; dmarc; iprev
    assert header.replace("\r\n", "").count(";") == 7
    assert "spf=pass smtp.helo=out.example.org;" in header.replace("\r\n", "")
    assert " arc=none; dmarc=pass " in header.replace("\r\n", "")   # no ARC sets


@pytest.mark.parametrize("bad", ["", "a\r\nb", "m\u00e9"])
def test_header_refuses_an_unwritable_authserv_id(dns: FakeResolver, bad: str) -> None:
    r = mailauth.authenticate(MESSAGE).run(dns)
    with pytest.raises(UsageError):
        r.header(bad)


def test_arguments_are_checked_when_the_check_is_made() -> None:
    with pytest.raises(UsageError):
        mailauth.authenticate(MESSAGE, ip="not-an-ip", mail_from="a@b.example")
    with pytest.raises(UsageError):
        mailauth.authenticate(MESSAGE, helo="x.example")   # helo without ip
    with pytest.raises(ArgumentTypeError):
        mailauth.authenticate(MESSAGE.decode())  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        mailauth.authenticate(MESSAGE, ip=b"192.0.2.1")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        mailauth.authenticate(MESSAGE, dmarc_mode="list")  # type: ignore[arg-type]


def test_two_from_fields_are_a_strict_permerror(dns: FakeResolver) -> None:
    two = b"From: Eve <eve@evil.example>\r\n" + MESSAGE
    r = mailauth.authenticate(two).run(dns)
    assert r.dmarc.status is Status.PERMERROR and r.dmarc.disposition == "reject"
    assert r.dmarc.authors == ("evil.example", "example.org")
    lenient = mailauth.authenticate(two, strict_authors=False).run(dns)
    assert lenient.dmarc.status is not Status.PASS   # evil.example has no aligned pass


def test_display_in_a_notebook(dns: FakeResolver) -> None:
    r = mailauth.authenticate(MESSAGE, **ENVELOPE).run(dns)
    page = r._repr_html_()
    assert "<details>" in page and "Authentication-Results" in page
    assert page.count(">pass<") >= 6
    assert repr(r).startswith("<AuthResults dmarc=pass")


@pytest.mark.parametrize("raw", [
    b"From: a@" + b"x" * 1_000_000 + b".example\r\n\r\nbody\r\n",
    b"".join(b"From: u%d@d%d.example\r\n" % (i, i) for i in range(10_000)) + b"\r\nb\r\n",
    b"From: a\x00b@exa\xffmple.org\r\nSubject: \x00\x80\r\n\r\n\x00",
    b"From: alice@example.org\r\nSubject: no separator",
    b"From: a@" + b"a." * 10_000 + b"example\r\n\r\n",
    b"",
    b"\r\n\r\n",
])
def test_bad_messages_give_results(dns: FakeResolver, raw: bytes) -> None:
    r = mailauth.authenticate(raw, ip="192.0.2.1", helo="h.example",
                              mail_from="x@example.org").run(dns)
    assert r.dmarc.status in (Status.PERMERROR, Status.NONE, Status.FAIL), r.dmarc.reason
    assert r.header("mx").isascii()


def test_authenticate_flow_driven_by_hand(dns: FakeResolver) -> None:
    flow = authenticate_flow(parse_message(MESSAGE), ip=None, helo=None, mail_from=None,
                             now=NOW)
    first = (Query("ex2026._domainkey.example.org", "TXT"),
             Query("rsa2026._domainkey.example.org", "TXT"),
             Query("_dmarc.example.org", "TXT"))
    result = drive(flow, [first], resolver=dns)
    assert result.dmarc.status is Status.PASS


def test_stamp_removes_forged_fields_and_adds_ours(dns: FakeResolver) -> None:
    forged = (b"Authentication-Results: MX.example.net; dmarc=pass\r\n"
              b"Authentication-Results: other.example; dkim=fail\r\n" + MESSAGE)
    r = mailauth.authenticate(forged, **ENVELOPE).run(dns)
    out = r.stamp(forged, "mx.example.net")
    assert out.startswith(r.header("mx.example.net").encode() + b"\r\n")
    assert out.count(b"Authentication-Results: MX.example.net") == 0
    assert b"Authentication-Results: other.example; dkim=fail\r\n" in out
    assert out.endswith(MESSAGE)
    lf = mailauth.authenticate(MESSAGE.replace(b"\r\n", b"\n")).run(dns)
    stamped = lf.stamp(MESSAGE.replace(b"\r\n", b"\n"), "mx.example.net")
    assert b"\r" not in stamped
