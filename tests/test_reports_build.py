"""Building aggregate reports (RFC 9990 §2, §3) and the §4 authorization of external
destinations: ReportBuilder over AuthResults, the XML, gzip, file name and message,
build → serialise → parse identity on generated reports, the structure of RFC 9990's
schema, and (slow, with the bench extra) parsedmarc reading what we write."""

from __future__ import annotations

import email
import email.policy
import gzip
import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mailauth
from mailauth.errors import ArgumentTypeError, ParseError, UsageError
from mailauth.reports import (
    NAMESPACE,
    AggregateReport,
    DKIMAuthResult,
    PolicyOverride,
    PublishedPolicy,
    ReportBuilder,
    ReportRecord,
    SPFAuthResult,
    authorize_rua,
    parse_aggregate,
    parse_rua,
)
from mailauth.testing import FakeResolver

REPO = Path(__file__).resolve().parent.parent
ZONE = (REPO / "examples" / "example.zone").read_text()
MESSAGE = (REPO / "examples" / "message.eml").read_bytes()
NOW = 1_796_000_000.0
BEGIN = datetime(2026, 11, 1, tzinfo=UTC)
END = BEGIN + timedelta(seconds=86399)


@pytest.fixture(scope="module")
def results() -> tuple[mailauth.AuthResults, mailauth.AuthResults]:
    dns = FakeResolver.from_zone(ZONE)
    good = mailauth.authenticate(MESSAGE, ip="198.51.100.7", helo="out.example.org",
                                 mail_from="alice@example.org", now=NOW).run(dns)
    forwarded = mailauth.authenticate(MESSAGE, ip="203.0.113.9", helo="fwd.example.net",
                                      mail_from="list@example.net", now=NOW).run(dns)
    return good, forwarded


def builder() -> ReportBuilder:
    return ReportBuilder(org_name="Receiver Inc.", email="dmarc@receiver.example",
                         begin=BEGIN, end=END)


def test_results_become_counted_rows(results: tuple[mailauth.AuthResults, ...]) -> None:
    good, forwarded = results
    b = builder()
    assert b.add(good) and b.add(good) and b.add(forwarded, envelope_to="receiver.example")
    report = b.build()
    assert report.policy == PublishedPolicy(domain="example.org", p="reject",
                                            discovery_method="treewalk")
    assert [(str(r.source_ip), r.count) for r in report.records] == [
        ("198.51.100.7", 2), ("203.0.113.9", 1)]
    first, second = report.records
    # An aligned pass under p=reject: RFC 9990's "pass" disposition.
    assert (first.disposition, first.dkim, first.spf) == ("pass", "pass", "pass")
    assert first.header_from == "example.org" and first.envelope_from == "example.org"
    assert [(d.domain, d.result) for d in first.dkim_results] == [
        ("example.org", "pass"), ("example.org", "pass")]
    assert first.spf_results == (SPFAuthResult("example.org", "mfrom", "pass"),)
    # Forwarded: DKIM still passes aligned, SPF is the forwarder's (unaligned).
    assert (second.dkim, second.spf, second.envelope_from, second.envelope_to) == (
        "pass", "fail", "example.net", "receiver.example")
    assert report.message_count == 3
    assert report.version == "1.0" and report.format == "rfc9990"
    assert report.generator == "mailauth"
    assert "@receiver.example" in report.report_id


def test_a_failing_message_with_an_override(results: tuple[mailauth.AuthResults, ...]
                                            ) -> None:
    from mailauth.dmarc import PolicyOverride as Override

    good, _ = results
    failed = replace(good.dmarc, status=mailauth.Status.FAIL, disposition="reject",
                     alignment=(), override=Override("trusted_forwarder",
                                                     "sealed by arc.example.net i=1",
                                                     applied=True))
    b = builder()
    b.add(replace(good, dmarc=failed))
    record = b.build().records[0]
    assert record.disposition == "none"
    assert record.reasons == (PolicyOverride("trusted_forwarder",
                                             "sealed by arc.example.net i=1"),)
    assert (record.dkim, record.spf) == ("fail", "fail")


def test_no_dmarc_policy_means_no_row(results: tuple[mailauth.AuthResults, ...]) -> None:
    good, _ = results
    nothing = replace(good.dmarc, record=None, policy_domain=None)
    b = builder()
    assert b.add(replace(good, dmarc=nothing)) is False
    assert b.domains == ()
    with pytest.raises(UsageError):
        b.build()


def test_one_report_per_policy_domain() -> None:
    b = builder()
    ip = ipaddress.ip_address("192.0.2.1")
    row = ReportRecord(ip, 1, "none", "pass", "pass", (), "a.example")
    b.add_record(row, PublishedPolicy("a.example", "none"))
    b.add_record(replace(row, header_from="b.example"), PublishedPolicy("b.example", "none"))
    b.add_record(row, PublishedPolicy("a.example", "quarantine"), count=4)
    reports = b.reports()
    assert [r.policy.domain for r in reports] == ["a.example", "b.example"]
    assert reports[0].policy.p == "quarantine"  # the last policy seen (RFC 9990 §2.3)
    assert reports[0].records[0].count == 5
    with pytest.raises(UsageError, match="2 were seen"):
        b.build()


def test_argument_checks() -> None:
    with pytest.raises(UsageError):
        ReportBuilder(org_name="o", email="e@x", begin=datetime(2026, 1, 1), end=END)
    with pytest.raises(UsageError):
        ReportBuilder(org_name="o", email="e@x", begin=END, end=BEGIN)
    with pytest.raises(ArgumentTypeError):
        builder().add_record("row", PublishedPolicy("a", "none"))  # type: ignore[arg-type]


def test_file_name_gzip_and_message(results: tuple[mailauth.AuthResults, ...]) -> None:
    b = builder()
    b.add(results[0])
    report = b.build()
    assert report.filename("receiver.example") == (
        f"receiver.example!example.org!{int(BEGIN.timestamp())}!{int(END.timestamp())}"
        f".xml.gz")
    assert report.filename("Receiver.Example", unique_id="a1", compressed=False).endswith(
        "!a1.xml")
    with pytest.raises(UsageError):
        report.filename("receiver.example", unique_id="a-1")
    assert gzip.decompress(report.to_gzip()) == report.to_xml()
    assert report.to_gzip() == report.to_gzip()  # reproducible: no mtime
    msg = report.to_message(receiver="receiver.example", from_addr="dmarc@receiver.example",
                            to_addr="mailto:dmarc@example.org",
                            date=datetime(2026, 11, 2, tzinfo=UTC))
    wire = msg.as_bytes()
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    subject = " ".join(str(parsed["Subject"]).split())
    assert subject == (f"Report Domain: example.org Submitter: receiver.example "
                       f"Report-ID: <{report.report_id}>")
    assert parsed["To"] == "dmarc@example.org"
    parts = [p for p in parsed.walk() if p.get_filename()]
    assert [p.get_content_type() for p in parts] == ["application/gzip"]
    assert parts[0].get_filename() == report.filename("receiver.example")
    assert parse_aggregate(wire) == report
    plain = report.to_message(receiver="receiver.example", from_addr="a@b.example",
                              to_addr="c@d.example", compressed=False)
    assert parse_aggregate(plain.as_bytes()) == report
    with pytest.raises(UsageError):
        report.to_message(receiver="receiver.example", from_addr="nobody",
                          to_addr="c@d.example")


# --- build → serialise → parse is identity -------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                min_size=1, max_size=20).map(str.strip).filter(bool)
_DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,3}", fullmatch=True)
_IP = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))
_OPT = st.none() | _TEXT


@st.composite
def records(draw: st.DrawFn) -> ReportRecord:
    return ReportRecord(
        source_ip=draw(_IP), count=draw(st.integers(0, 10**9)),
        disposition=draw(st.sampled_from(["none", "pass", "quarantine", "reject"])),
        dkim=draw(st.sampled_from(["pass", "fail"])),
        spf=draw(st.sampled_from(["pass", "fail"])),
        reasons=tuple(draw(st.lists(st.builds(
            PolicyOverride, st.sampled_from(["local_policy", "mailing_list", "other",
                                             "policy_test_mode", "trusted_forwarder"]),
            _OPT), max_size=2))),
        header_from=draw(_DOMAIN),
        envelope_from=draw(st.none() | st.just("") | _DOMAIN),
        envelope_to=draw(st.none() | _DOMAIN),
        dkim_results=tuple(draw(st.lists(st.builds(
            DKIMAuthResult, _DOMAIN, _TEXT,
            st.sampled_from(["none", "pass", "fail", "policy", "neutral", "temperror",
                             "permerror"]), _OPT), max_size=3))),
        spf_results=tuple(draw(st.lists(st.builds(
            SPFAuthResult, _DOMAIN, st.sampled_from(["mfrom", "helo"]),
            st.sampled_from(["none", "neutral", "pass", "fail", "softfail", "temperror",
                             "permerror"]), _OPT), max_size=2))),
    )


@st.composite
def reports(draw: st.DrawFn) -> AggregateReport:
    begin = draw(st.integers(0, 2**32))
    policy = PublishedPolicy(
        domain=draw(_DOMAIN), p=draw(st.sampled_from(["none", "quarantine", "reject"])),
        sp=draw(st.none() | st.sampled_from(["none", "quarantine", "reject"])),
        np=draw(st.none() | st.sampled_from(["none", "quarantine", "reject"])),
        adkim=draw(st.none() | st.sampled_from(["r", "s"])),
        aspf=draw(st.none() | st.sampled_from(["r", "s"])),
        fo=draw(st.none() | st.sampled_from(["0", "1", "d:s"])),
        testing=draw(st.none() | st.sampled_from(["y", "n"])),
        discovery_method=draw(st.none() | st.sampled_from(["psl", "treewalk"])))
    b = ReportBuilder(org_name=draw(_TEXT), email=draw(_TEXT),
                      begin=datetime.fromtimestamp(begin, UTC),
                      # at most a day: a longer period is read with a warning
                      end=datetime.fromtimestamp(begin + draw(st.integers(0, 86400)), UTC),
                      extra_contact_info=draw(_OPT), generator=draw(_OPT))
    for row in draw(st.lists(records(), min_size=1, max_size=6)):
        b.add_record(row, policy)
    for error in draw(st.lists(_TEXT, max_size=2)):
        b.add_error(policy.domain, error)
    return b.build()


@settings(max_examples=60, deadline=None)
@given(reports())
def test_build_serialise_parse_is_identity(report: AggregateReport) -> None:
    assert parse_aggregate(report.to_xml()) == report
    assert parse_aggregate(report.to_gzip()) == report


@settings(max_examples=25, deadline=None)
@given(reports())
def test_a_report_read_in_rfc7489_format_round_trips(report: AggregateReport) -> None:
    old = replace(report, format="rfc7489", version=None, generator=None,
                  policy=replace(report.policy, testing=None, discovery_method=None,
                                 pct=100))
    xml = old.to_xml()
    assert NAMESPACE.encode() not in xml
    assert parse_aggregate(xml) == old


# --- RFC 9990's schema, checked structurally -----------------------------------------

# (element, allowed children in order with (min, max) occurrences); None = any order
# (xs:all); "ANY" = namespaced extension elements. From RFC 9990 §2.1's tables and
# Appendix A (no XSD validator is a dependency, so order and cardinality are checked).
_INF = 10**9
_SEQ: dict[str, tuple[bool, list[tuple[str, int, int]]]] = {
    "feedback": (True, [("version", 0, 1), ("report_metadata", 1, 1),
                        ("policy_published", 1, 1), ("extension", 0, 1),
                        ("record", 1, _INF)]),
    "report_metadata": (False, [("org_name", 1, 1), ("email", 1, 1),
                                ("extra_contact_info", 0, 1), ("report_id", 1, 1),
                                ("date_range", 1, 1), ("error", 0, _INF),
                                ("generator", 0, 1)]),
    "date_range": (False, [("begin", 1, 1), ("end", 1, 1)]),
    "policy_published": (False, [("domain", 1, 1), ("discovery_method", 0, 1),
                                 ("p", 1, 1), ("sp", 0, 1), ("np", 0, 1), ("fo", 0, 1),
                                 ("adkim", 0, 1), ("aspf", 0, 1), ("testing", 0, 1)]),
    "record": (True, [("row", 1, 1), ("identifiers", 1, 1), ("auth_results", 1, 1)]),
    "row": (True, [("source_ip", 1, 1), ("count", 1, 1), ("policy_evaluated", 1, 1)]),
    "policy_evaluated": (True, [("disposition", 1, 1), ("dkim", 1, 1), ("spf", 1, 1),
                                ("reason", 0, _INF)]),
    "reason": (False, [("type", 1, 1), ("comment", 0, 1)]),
    "identifiers": (False, [("header_from", 1, 1), ("envelope_from", 0, 1),
                            ("envelope_to", 0, 1)]),
    "auth_results": (True, [("dkim", 0, _INF), ("spf", 0, _INF)]),
}
_AUTH_CHILDREN = {"dkim": [("domain", 1, 1), ("selector", 1, 1), ("result", 1, 1),
                           ("human_result", 0, 1)],
                  "spf": [("domain", 1, 1), ("scope", 0, 1), ("result", 1, 1),
                          ("human_result", 0, 1)]}
_ENUMS = {"disposition": {"none", "pass", "quarantine", "reject"},
          "p": {"none", "quarantine", "reject"}, "sp": {"none", "quarantine", "reject"},
          "np": {"none", "quarantine", "reject"}, "adkim": {"r", "s"}, "aspf": {"r", "s"},
          "testing": {"y", "n"}, "discovery_method": {"psl", "treewalk"},
          "type": {"local_policy", "mailing_list", "other", "policy_test_mode",
                   "trusted_forwarder"}}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _check_children(el: ET.Element, ordered: bool, spec: list[tuple[str, int, int]],
                    where: str) -> None:
    names = [_local(c.tag) for c in el]
    allowed = [n for n, _, _ in spec]
    for n in names:
        assert n in allowed, f"<{n}> not allowed in <{where}>"
    for n, lo, hi in spec:
        assert lo <= names.count(n) <= hi, f"<{n}> x{names.count(n)} in <{where}>"
    if ordered:
        ranks = [allowed.index(n) for n in names]
        assert ranks == sorted(ranks), f"order in <{where}>: {names}"


def check_rfc9990_structure(xml: bytes) -> None:
    root = ET.fromstring(xml)  # our own output, in a test: no untrusted input here
    assert root.tag == f"{{{NAMESPACE}}}feedback"
    for el in root.iter():
        name = _local(el.tag)
        assert el.tag.startswith(f"{{{NAMESPACE}}}"), el.tag
        if name in _SEQ and not (name in ("dkim", "spf") and len(el) == 0):
            ordered, spec = _SEQ[name]
            _check_children(el, ordered, spec, name)
        if name in _AUTH_CHILDREN and len(el):
            _check_children(el, False, _AUTH_CHILDREN[name], name)
        if name in _ENUMS and not len(el):
            assert el.text in _ENUMS[name], (name, el.text)
    version = root.find(f"{{{NAMESPACE}}}version")
    assert version is not None and version.text == "1.0"
    for rec in root.iter(f"{{{NAMESPACE}}}row"):
        ip = rec.find(f"{{{NAMESPACE}}}source_ip")
        assert ip is not None and ip.text is not None
        ipaddress.ip_address(ip.text)
        count = rec.find(f"{{{NAMESPACE}}}count")
        assert count is not None and count.text is not None and count.text.isdigit()


@settings(max_examples=40, deadline=None)
@given(reports())
def test_built_reports_follow_the_rfc9990_schema(report: AggregateReport) -> None:
    check_rfc9990_structure(report.to_xml())


def test_the_structure_check_catches_a_wrong_order() -> None:
    report = builder()
    report.add_record(ReportRecord(ipaddress.ip_address("192.0.2.1"), 1, "none", "pass",
                                   "pass", (), "a.example"), PublishedPolicy("a.example",
                                                                             "none"))
    xml = report.build().to_xml()
    check_rfc9990_structure(xml)
    swapped = xml.replace(b"<dkim>pass</dkim>\n        <spf>pass</spf>",
                          b"<spf>pass</spf>\n        <dkim>pass</dkim>")
    assert swapped != xml
    with pytest.raises(AssertionError, match="order"):
        check_rfc9990_structure(swapped)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(reports())
def test_parsedmarc_reads_our_reports_with_the_same_counts(report: AggregateReport) -> None:
    """parsedmarc (the bench extra) must be importable: missing, the test fails."""
    import parsedmarc

    # A daily report: parsedmarc splits the rows of longer periods by day.
    daily = replace(report, date_end=report.date_begin + timedelta(seconds=86399))
    theirs = parsedmarc.parse_aggregate_report_xml(daily.to_xml(), offline=True,
                                                   always_use_local_files=True)
    assert len(theirs["records"]) == len(report.records)
    assert sum(r["count"] for r in theirs["records"]) == report.message_count


# --- RFC 9990 §4: external destinations ----------------------------------------------

def test_parse_rua() -> None:
    assert parse_rua("mailto:dmarc@Example.ORG!10m") == ("dmarc@example.org", "example.org",
                                                         10 * 1024 * 1024)
    assert parse_rua("mailto:a@b.example!500") == ("a@b.example", "b.example", 500)
    assert parse_rua("https://reports.example/") == (None, None, None)
    with pytest.raises(ParseError):
        parse_rua("mailto:nobody")


def _authorize(rua: list[str], records: dict[str, dict[str, list[str]]], **kw: object
               ) -> list[tuple[str, bool, str]]:
    dns = FakeResolver(records, tempfail=kw.pop("tempfail", ()))  # type: ignore[arg-type]
    out = authorize_rua("example.org", rua, **kw).run(dns)  # type: ignore[arg-type]
    return [(d.uri, d.allowed, d.status) for d in out.destinations]


def test_a_destination_inside_the_organization_needs_no_record() -> None:
    got = _authorize(["mailto:dmarc@reports.example.org"],
                     {"_dmarc.example.org": {"TXT": ["v=DMARC1; p=none"]}})
    assert got == [("mailto:dmarc@reports.example.org", True, "pass")]


def test_an_external_destination_needs_its_authorization() -> None:
    yes = {"example.org._report._dmarc.vendor.example": {"TXT": ["v=DMARC1"]}}
    assert _authorize(["mailto:r@vendor.example"], yes) == [
        ("mailto:r@vendor.example", True, "pass")]
    other = {"example.org._report._dmarc.vendor.example": {"TXT": ["v=spf1 -all"]}}
    assert _authorize(["mailto:r@vendor.example"], other) == [
        ("mailto:r@vendor.example", False, "fail")]
    assert _authorize(["mailto:r@vendor.example"], {}) == [
        ("mailto:r@vendor.example", False, "fail")]
    assert _authorize(["mailto:r@vendor.example"], {},
                      tempfail=["example.org._report._dmarc.vendor.example"]) == [
        ("mailto:r@vendor.example", False, "temperror")]


def test_the_authorization_may_replace_the_address_on_the_same_host() -> None:
    dns = FakeResolver({"example.org._report._dmarc.vendor.example": {
        "TXT": ["v=DMARC1; rua=mailto:inbox@vendor.example"]}})
    out = authorize_rua("example.org", ["mailto:r@vendor.example"]).run(dns)
    assert out.addresses == ("inbox@vendor.example",)
    elsewhere = FakeResolver({"example.org._report._dmarc.vendor.example": {
        "TXT": ["v=DMARC1; rua=mailto:x@evil.example"]}})
    out = authorize_rua("example.org", ["mailto:r@vendor.example"]).run(elsewhere)
    assert out.addresses == () and "another host" in out.destinations[0].reason


def test_size_limits_exclude_what_is_too_big() -> None:
    rua = ["mailto:a@example.org!1k", "mailto:b@example.org!10m", "mailto:c@example.org"]
    got = _authorize(rua, {}, report_size=5000)
    assert [allowed for _, allowed, _ in got] == [False, True, True]
    assert [d for d in _authorize(rua, {}) if not d[1]] == []  # no size given: all


def test_the_authorization_name_too_long_for_the_dns() -> None:
    host = ".".join(["a" * 60] * 3) + ".example"
    got = _authorize([f"mailto:r@{host}"], {})
    assert got[0][1:] == (False, "fail")


def test_results_without_a_client_address_cannot_be_rows(
        results: tuple[mailauth.AuthResults, ...]) -> None:
    good, _ = results
    no_ip = replace(good, spf=replace(good.spf, ip=""), envelope=())
    with pytest.raises(UsageError, match="IP address"):
        builder().add(no_ip)
    with pytest.raises(UsageError):
        builder().add(good, envelope_to="a..b")
