"""mailauth.reports failure reports (RFC 9991; ARF of RFC 5965 and RFC 6591).

Every failure sample of the shared corpus (parsedmarc's, stalwart's ARF set; mox has
aggregate reports only) parses to its documented content; stalwart's samples are
also compared with the parsed model stored beside each one. Reports built by
build_failure_report parse back to what went in (hypothesis), and bad input gives
ParseError, never another exception.
"""

from __future__ import annotations

import ipaddress
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import shared_vector
from mailauth.dkim import DKIMResult
from mailauth.dkim._verify import SignatureResult
from mailauth.dmarc import DMARCResult
from mailauth.dmarc._result import Alignment
from mailauth.errors import ParseError, UsageError
from mailauth.reports import FailureReport, build_failure_report, parse_failure
from mailauth.spf import SPFResult
from mailauth.status import Status
from mailauth.umbrella import AuthResults

PARSEDMARC = ("parsedmarc-samples", "failure")
STALWART = ("stalwart-mail-auth", "resources", "arf")

# What each sample says, field by field (read off the files; see their SOURCE.md).
DOMINO = "DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, " \
         "ip=10.10.10.10).eml"
EXPECTED: dict[tuple[str, ...], dict[str, Any]] = {
    (*PARSEDMARC, DOMINO): {
        "feedback_type": "auth-failure", "version": "1.0", "user_agent": "Lua/1.0",
        "auth_failure": "dmarc", "original_mail_from": "sharepoint@domain.de",
        "original_rcpt_to": ("peter.pan@domain.de",), "source_ip": "10.10.10.10",
        "arrival_date": datetime(2018, 10, 1, 9, 20, 27, tzinfo=UTC),
        "reported_domain": ("domain.de",), "delivery_result": "smg-policy-action",
        "authentication_results": ("dmarc=fail (p=none, dis=none) header.from=domain.de",),
        "original_kind": "message", "identity_alignment": None,
        "header_from": '"=?utf-8?B?SW50ZXJha3RpdmUgV2V0dGJld2VyYmVyLcOcYmVyc2ljaHQ=?=" '
                    "<sharepoint@domain.de>",
        "original_subject": "Subject", "warnings": 1},
    (*PARSEDMARC, "[Netease DMARC Failure Report] Rent Reminder.eml"): {
        "feedback_type": "auth-failure", "version": "1", "user_agent": "NtesDmarcReporter/1.0",
        "auth_failure": None, "identity_alignment": ("spf", "dkim"),
        "original_mail_from": "bounces+1137616-c1ad-xsj399=163.com@email.entrata.com",
        "original_envelope_id": "N8CowEApcUPo6q1bnXlMAA--.44392S3",
        "source_ip": "167.89.69.24",
        "arrival_date": datetime(2018, 9, 28, 8, 48, 42, tzinfo=UTC),
        "reported_domain": ("cardinal.com",), "delivery_result": "delivered",
        "dkim_domain": "entrata.com", "original_kind": "message",
        "header_from": "700 on Washington <info@cardinal.com>",
        "original_subject": "Rent Reminder", "warnings": 2},
    (*PARSEDMARC, "dmarc_ruf_report_linkedin.eml"): {
        "feedback_type": "auth-failure", "version": "1.0", "auth_failure": "dmarc",
        "original_mail_from": "", "original_rcpt_to": ("recipient@linkedin.com",),
        "source_ip": "10.10.10.10", "arrival_date": datetime(2019, 4, 30, 2, 9, tzinfo=UTC),
        "reported_domain": ("example.com",), "delivery_result": "delivered",
        "original_kind": "message", "header_from": "Sender <sender@example.com>",
        "original_subject": "Subject line, could be UTF8 encoded", "warnings": 2},
    (*PARSEDMARC, "dmarc_ruf_report_linkedin.crlf.eml"): {
        "feedback_type": "auth-failure", "auth_failure": "dmarc", "source_ip": "10.10.10.10",
        "original_mail_from": "", "reported_domain": ("example.com",),
        "header_from": "Sender <sender@example.com>", "original_kind": "message", "warnings": 2},
    (*PARSEDMARC, "exim_plain_text_only_no_arf_part.eml"): {
        "feedback_type": "auth-failure", "auth_failure": "dmarc", "version": None,
        "source_ip": "203.0.113.68", "reported_domain": ("example.com",),
        "arrival_date": datetime(2025, 4, 7, 21, 16, 9, tzinfo=UTC),
        "identity_alignment": (), "original_kind": "headers",
        "header_from": "<user@example.com>", "original_subject": "Payment from your account.",
        "warnings": 2},
    (*STALWART, "001.eml"): {
        "feedback_type": "abuse", "version": "1", "user_agent": "SomeGenerator/1.0",
        "source_ip": None, "original_kind": "message", "header_from": "<somespammer@example.net>",
        "warnings": 0},
    (*STALWART, "002.eml"): {
        "feedback_type": "abuse", "source_ip": "192.0.2.1", "reporting_mta": "mail.example.com",
        "reported_uri": ("http://example.net/earn_money.html", "mailto:user@example.com"),
        "original_rcpt_to": ("user@example.com",), "warnings": 0},
    (*STALWART, "003.eml"): {
        "feedback_type": "auth-failure", "auth_failure": "bodyhash", "dkim_domain": "example.net",
        "arrival_date": datetime(2010, 4, 14, 19, 15, 31, tzinfo=UTC), "warnings": 1},
    (*STALWART, "004.eml"): {
        "feedback_type": "auth-failure", "auth_failure": "dmarc", "source_ip": "148.163.85.135",
        "original_envelope_id": "8BE2660E72", "original_kind": "headers",
        "header_from": '"Rolf Bader" <info@interpublication.org>', "warnings": 1},
    (*STALWART, "005.eml"): {
        "feedback_type": "auth-failure", "auth_failure": "bodyhash",
        "dkim_domain": "sender.example",
        "dkim_identity": "@sender.example", "dkim_selector": "testkey",
        "original_envelope_id": "o3F52gxO029144", "original_kind": "headers",
        "reported_uri": ("http://www.sender.example/",), "warnings": 0},
}


@pytest.mark.parametrize("parts", list(EXPECTED), ids=lambda p: p[-1])
def test_sample_parses_to_its_content(parts: tuple[str, ...]) -> None:
    report = parse_failure(shared_vector(*parts).read_bytes())
    for name, want in EXPECTED[parts].items():
        if name == "warnings":
            assert len(report.warnings) == want, report.warnings
        else:
            assert getattr(report, name) == want, name
    assert report.original.startswith((b"Received:", b"Return-Path:", b"From:",
                                       b"DKIM-Signature:", b"Authentication-Results:"))


def test_every_failure_sample_is_covered() -> None:
    on_disk = {p.name for p in shared_vector(*PARSEDMARC).iterdir()}
    on_disk |= {p.name for p in shared_vector(*STALWART).glob("*.eml")}
    assert on_disk == {parts[-1] for parts in EXPECTED}


def test_crlf_and_lf_copies_read_alike() -> None:
    lf = parse_failure(shared_vector(*PARSEDMARC, "dmarc_ruf_report_linkedin.eml")
                       .read_bytes())
    crlf = parse_failure(shared_vector(*PARSEDMARC, "dmarc_ruf_report_linkedin.crlf.eml")
                         .read_bytes())
    assert lf == crlf


_STALWART_TYPES = {"Abuse": "abuse", "AuthFailure": "auth-failure"}


def _ws(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", ["001", "002", "003", "004", "005"])
def test_stalwart_sample_matches_its_parsed_model(name: str) -> None:
    want = json.loads(shared_vector(*STALWART, f"{name}.json").read_text())
    got = parse_failure(shared_vector(*STALWART, f"{name}.eml").read_bytes())
    assert got.feedback_type == _STALWART_TYPES[want["feedback_type"]]
    stamp = None if got.arrival_date is None else int(got.arrival_date.timestamp())
    assert stamp == want["arrival_date"]
    assert [_ws(a) for a in got.authentication_results] == \
        [_ws(a) for a in want["authentication_results"]]
    assert got.incidents == want["incidents"]
    assert got.original_envelope_id == want["original_envelope_id"]

    def strip(v: str | None) -> str | None:
        return v.strip("<>") if v is not None else None

    assert got.original_mail_from == strip(want["original_mail_from"])
    assert got.original_rcpt_to == (() if want["original_rcpt_to"] is None
                                    else (strip(want["original_rcpt_to"]),))
    assert list(got.reported_domain) == want["reported_domain"]
    assert list(got.reported_uri) == want["reported_uri"]
    assert got.reporting_mta == want["reporting_mta"]
    assert got.source_ip == want["source_ip"]
    assert got.user_agent == want["user_agent"]
    assert got.version == str(want["version"])
    for key in ("dkim_domain", "dkim_identity", "dkim_selector"):
        assert getattr(got, key) == want[key]
    body = want["dkim_canonicalized_body"]
    assert got.dkim_canonicalized_body == (None if body is None else "".join(body.split()))
    if want["headers"] is not None:
        assert got.original_kind == "headers"
        assert got.original.replace(b"\r\n", b"\n").decode() == want["headers"]


def test_canonicalized_body_decodes() -> None:
    got = parse_failure(shared_vector(*STALWART, "005.eml").read_bytes())
    body = got.canonicalized_body()
    assert body is not None and body.startswith(b"This is a message body that got modified")
    assert got.canonicalized_header() is None


# --- refusals ---------------------------------------------------------------------------


def test_not_a_failure_report() -> None:
    with pytest.raises(ParseError, match="no message/feedback-report part"):
        parse_failure(b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n")
    with pytest.raises(ParseError, match="no header fields"):
        parse_failure(b"")
    with pytest.raises(ParseError, match="over the limit"):
        parse_failure(b"From: a@b\r\n\r\n" + b"x" * 100, max_bytes=50)
    aggregate = shared_vector("parsedmarc-samples", "aggregate")
    one = next(p for p in sorted(aggregate.iterdir()) if p.suffix == ".eml")
    with pytest.raises(ParseError):
        parse_failure(one.read_bytes())
    with pytest.raises(TypeError):
        parse_failure("text")  # type: ignore[arg-type]


def test_a_header_of_endless_fields_is_refused() -> None:
    with pytest.raises(ParseError, match="more than 5000 header fields"):
        parse_failure(b"From: a@example.org\n" + b"X-A: b\n" * 6000 + b"\nbody\n")
    folded = (b"Content-Type: multipart/report; boundary=b\n\n--b\n"
              b"Content-Type: message/feedback-report\n\nFeedback-Type: auth-failure\n"
              b"Authentication-Results: x;\n" + b" spf=pass\n" * 50_000 + b"--b--\n")
    report = parse_failure(folded)  # one long folded field is read (in linear time)
    assert report.authentication_results[0].count("spf=pass") == 50_000


def test_feedback_part_without_feedback_type() -> None:
    msg = (b"Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
           b"--b\nContent-Type: message/feedback-report\n\nUser-Agent: x\n--b--\n")
    with pytest.raises(ParseError, match="no Feedback-Type"):
        parse_failure(msg)


# --- building ---------------------------------------------------------------------------

MESSAGE = (b"Received: from mx.sender.example (mx.sender.example [192.0.2.9])\r\n"
           b"\tby mx.receiver.example for <bob@receiver.example>; Mon, 1 Jan 2024\r\n"
           b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <bob@receiver.example>, carol@receiver.example\r\n"
           b"Subject: Quarterly numbers\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"Message-ID: <1@sender.example>\r\n\r\nHello bob@receiver.example\r\n")


def results(*, ip: str = "192.0.2.9", sender: str = "alice@example.org",
            author: str = "example.org", spf_domain: str = "example.org",
            dkim_domain: str | None = "example.org", selector: str = "sel",
            disposition: str = "reject") -> AuthResults:
    spf = SPFResult(status=Status.FAIL, identity="mailfrom", domain=spf_domain,
                    sender=sender, ip=ip, record='v=spf1 ip4:192.0.2.0/24 exp="x" -all')
    sigs = () if dkim_domain is None else (SignatureResult(
        status=Status.FAIL, code="bodyhash", reason="body hash mismatch",
        domain=dkim_domain, selector=selector, identity="@" + dkim_domain),)
    dkim = DKIMResult(status=Status.FAIL if sigs else Status.NONE, reason="failed",
                      signatures=sigs)
    alignment = [Alignment("spf", spf_domain, Status.FAIL, None, "r")]
    if dkim_domain is not None:
        alignment.append(Alignment("dkim", dkim_domain, Status.FAIL, None, "r",
                                   selector=selector))
    dmarc = DMARCResult(status=Status.FAIL, reason="neither SPF nor DKIM passed aligned",
                        author_domain=author, policy="reject", policy_tag="p",
                        disposition=disposition,  # type: ignore[arg-type]
                        alignment=tuple(alignment))
    return AuthResults(spf=spf, dkim=dkim, dmarc=dmarc)


WHEN = datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC)


def test_build_headers_only_redacted() -> None:
    data = build_failure_report(MESSAGE, results(), reporter="dmarc@receiver.example",
                                to="ruf@example.org", rcpt_to=["bob@receiver.example"],
                                envelope_id="ABC123", arrival_date=WHEN, date=WHEN,
                                source_port=2525)
    assert data.isascii() and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    report = parse_failure(data)
    assert report.warnings == ()
    assert report.subject == "FW: Quarterly numbers"        # RFC 9991 Appendix A
    assert report.feedback_type == "auth-failure" and report.auth_failure == "dmarc"
    assert report.version == "1"
    assert report.identity_alignment == ("dkim", "spf")
    assert report.source_ip == "192.0.2.9" and report.source_port == 2525
    assert report.original_mail_from == "alice@example.org"
    assert report.original_rcpt_to == ("redacted@receiver.example",)
    assert report.original_envelope_id == "ABC123"
    assert report.reported_domain == ("example.org",)
    assert report.arrival_date == WHEN and report.report_date == WHEN
    assert report.delivery_result == "reject"
    assert (report.dkim_domain, report.dkim_identity, report.dkim_selector) == \
        ("example.org", "@example.org", "sel")
    assert report.reporting_mta == "receiver.example"
    assert report.spf_dns == ('txt : example.org : "v=spf1 ip4:192.0.2.0/24 exp=\\"x\\" -all"',)
    assert report.authentication_results[0].startswith("receiver.example; spf=fail")
    assert report.original_kind == "headers"
    assert b"Hello" not in report.original                       # no body
    assert b"bob@" not in report.original and b"carol@" not in report.original
    assert report.original_header("To") == \
        "Bob <redacted@receiver.example>, redacted@receiver.example"
    assert report.header_from == "Alice <alice@example.org>"    # the sender's is kept
    assert b"for <redacted@receiver.example>" in report.original


def test_build_whole_message_unredacted_and_keyed_redaction() -> None:
    whole = parse_failure(build_failure_report(
        MESSAGE, results(), reporter="dmarc@receiver.example", to="ruf@example.org",
        include="message", redact=False))
    assert whole.original_kind == "message"
    assert whole.original == MESSAGE
    keyed = parse_failure(build_failure_report(
        MESSAGE, results(), reporter="dmarc@receiver.example", to="ruf@example.org",
        redact_secret=b"k", rcpt_to=["Bob@receiver.example"]))
    to = keyed.original_header("To") or ""
    # the same recipient gets the same token, another one another
    bob = keyed.original_rcpt_to[0].partition("@")[0]
    assert bob.startswith("redacted-") and len(bob) == len("redacted-") + 16
    assert f"<{bob}@receiver.example>" in to and to.count("redacted-") == 2
    assert to.split(", ")[1].partition("@")[0] != bob


def test_build_identity_alignment_none_for_unaligned_identifiers() -> None:
    report = parse_failure(build_failure_report(
        MESSAGE, results(spf_domain="esp.example", dkim_domain="esp.example",
                         sender="b@esp.example", disposition="quarantine"),
        reporter="dmarc@receiver.example", to="ruf@example.org"))
    assert report.identity_alignment == ()
    assert report.field_values("Identity-Alignment") == ("none",)
    assert report.dkim_domain is None and report.spf_dns == ()
    assert report.delivery_result == "spam"


def test_build_refuses_bad_arguments() -> None:
    r = results()
    with pytest.raises(UsageError):
        build_failure_report(MESSAGE, r, reporter="nobody", to="ruf@example.org")
    with pytest.raises(UsageError):
        build_failure_report(MESSAGE, r, reporter="a@b.example", to="x@y.example",
                             include="body")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        build_failure_report(b"no header here", r, reporter="a@b.example",
                             to="x@y.example")
    with pytest.raises(TypeError):
        build_failure_report("text", r, reporter="a@b.example",  # type: ignore[arg-type]
                             to="x@y.example")
    with pytest.raises(TypeError):
        build_failure_report(MESSAGE, "results", reporter="a@b.example",  # type: ignore
                             to="x@y.example")


# --- hypothesis -------------------------------------------------------------------------

_label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
_domain = st.builds(lambda a, b: f"{a}.{b}", _label, st.sampled_from(["example", "org",
                                                                      "net"]))
_local = st.text(string.ascii_letters + string.digits + ".+_-", min_size=1, max_size=12) \
    .filter(lambda s: not s.startswith(".") and not s.endswith("."))
_address = st.builds(lambda lp, d: f"{lp}@{d}", _local, _domain)
_ip = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
_subject = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl",
                                                                    "Zp")), max_size=60)


@given(ip=_ip, sender=_address, author=_domain, recipients=st.lists(_address, max_size=3),
       subject=_subject, include=st.sampled_from(["headers", "message"]),
       redact=st.booleans(), aligned=st.booleans(),
       when=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                         timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))]))
       .map(lambda d: d.replace(microsecond=0)),  # mail dates are to the second
       envelope_id=st.one_of(st.none(), st.text(string.ascii_letters + string.digits,
                                                min_size=1, max_size=20)))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_build_then_parse_round_trip(ip: str, sender: str, author: str,
                                     recipients: list[str], subject: str, include: str,
                                     redact: bool, aligned: bool, when: datetime,
                                     envelope_id: str | None) -> None:
    to_field = ", ".join(recipients) or "undisclosed-recipients:;"
    message = (f"From: <{sender.partition('@')[0]}@{author}>\r\nTo: {to_field}\r\n"
               f"Subject: {subject}\r\n\r\nbody\r\n").encode()
    domain = author if aligned else "unrelated.test"
    r = results(ip=ip, sender=sender, author=author, spf_domain=domain, dkim_domain=domain)
    data = build_failure_report(message, r, reporter="dmarc@receiver.example",
                                to="ruf@example.org", include=include,  # type: ignore
                                redact=redact, rcpt_to=recipients, arrival_date=when,
                                envelope_id=envelope_id, date=when)
    report = parse_failure(data)
    assert isinstance(report, FailureReport)
    assert report.warnings == ()
    assert report.source_ip == str(ipaddress.ip_address(ip))
    assert report.original_mail_from == sender
    assert report.reported_domain == (author,)
    assert report.arrival_date == when and report.report_date == when
    assert report.original_envelope_id == envelope_id
    assert report.identity_alignment == (("dkim", "spf") if aligned else ())
    assert report.original_kind == include
    assert report.original_subject == subject.strip()
    want_rcpt = tuple(f"redacted@{a.partition('@')[2]}" if redact else a for a in recipients)
    assert report.original_rcpt_to == want_rcpt
    if redact:
        for a in recipients:
            assert a.encode() not in report.original or a.encode() in sender.encode() \
                or a.partition("@")[0] == "redacted"
    else:
        assert report.original.replace(b"\r\n", b"\n").startswith(
            message.replace(b"\r\n", b"\n").split(b"\n\n")[0])
    assert report.subject.startswith("FW: ")


def _valid_report() -> bytes:
    return build_failure_report(MESSAGE, results(), reporter="dmarc@receiver.example",
                                to="ruf@example.org", arrival_date=WHEN, date=WHEN,
                                include="message")


VALID = _valid_report()


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_random_bytes_give_parse_error_or_a_report(data: bytes) -> None:
    try:
        report = parse_failure(data)
    except ParseError as exc:
        assert str(exc)
    else:
        assert isinstance(report, FailureReport)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_reports_give_parse_error_or_a_report(data: st.DataObject) -> None:
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[at:]
        elif op == "insert":
            raw[at:at] = data.draw(st.sampled_from(
                [b"\r\n", b"--", b"\r\n\r\n", b":", b"=?utf-8?b?", b"\xff\xfe", b"(",
                 b"Content-Transfer-Encoding: base64\r\n", b"boundary=\"\"", b" "]))
        elif raw:
            del raw[at:at + data.draw(st.integers(1, 40))]
    try:
        report = parse_failure(bytes(raw))
    except ParseError as exc:
        assert str(exc)
    else:
        assert isinstance(report, FailureReport)
        _ = (report.original_headers, report.header_from, str(report),
             report.canonicalized_body())
