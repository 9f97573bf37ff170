"""mailauth.reports.summarize: volumes, pass rates, likely causes, reverse names.

The reports here are built as values (``make_report``, also used by the rows, HTML and
CLI tests), so that every expected number is the sum of what was put in; the sample
corpus is summarized too when the aggregate parser is there.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth.reports import (
    CAUSES,
    AggregateReport,
    DKIMAuthResult,
    PolicyOverride,
    PublishedPolicy,
    ReportRecord,
    SPFAuthResult,
    Summary,
    classify,
    explain,
    resolve_reverse_names,
    reverse_names_flow,
    summarize,
)
from mailauth.testing import FakeResolver

DAY = datetime(2026, 1, 5, tzinfo=UTC)


def record(ip: str = "192.0.2.1", count: int = 1, *, dkim: str | None = "pass",
           spf: str | None = "pass", header_from: str = "example.org",
           dkim_results: tuple[tuple[str, str], ...] = (("example.org", "pass"),),
           spf_results: tuple[tuple[str, str], ...] = (("example.org", "pass"),),
           reasons: tuple[str, ...] = (), disposition: str = "none") -> ReportRecord:
    """A record; ``dkim_results``/``spf_results`` are (domain, result) pairs."""
    return ReportRecord(
        source_ip=ipaddress.ip_address(ip), count=count, disposition=disposition,
        dkim=dkim, spf=spf, reasons=tuple(PolicyOverride(r) for r in reasons),
        header_from=header_from,
        dkim_results=tuple(DKIMAuthResult(d, "sel", r) for d, r in dkim_results),
        spf_results=tuple(SPFAuthResult(d, "mfrom", r) for d, r in spf_results))


def make_report(records: tuple[ReportRecord, ...] | list[ReportRecord], *,
                org: str = "receiver.example", day: datetime = DAY,
                domain: str = "example.org", report_id: str = "r1") -> AggregateReport:
    return AggregateReport(
        org_name=org, email=f"dmarc@{org}", report_id=report_id, date_begin=day,
        date_end=day + timedelta(days=1) - timedelta(seconds=1),
        policy=PublishedPolicy(domain=domain, p="reject"), records=tuple(records))


# The four kinds of mail a domain owner sees, one record each.
GOOD = record("192.0.2.1", 100)
FORWARDED = record("198.51.100.7", 10, spf="fail",
                   spf_results=(("forwarder.example", "pass"),))
THIRD_PARTY = record("203.0.113.5", 30, dkim="fail", spf="fail",
                     dkim_results=(("esp.example", "pass"),),
                     spf_results=(("bounces.esp.example", "pass"),), disposition="reject")
SPOOF = record("203.0.113.66", 7, dkim="fail", spf="fail", dkim_results=(),
               spf_results=(("example.org", "fail"),), disposition="reject")


def sample_reports() -> list[AggregateReport]:
    """Two organizations over three days, every cause present."""
    return [
        make_report([GOOD, FORWARDED], org="google.com", report_id="g1"),
        make_report([GOOD, THIRD_PARTY], org="google.com", day=DAY + timedelta(days=1),
                    report_id="g2"),
        make_report([record("192.0.2.1", 50), SPOOF], org="Yahoo <&> Inc",
                    day=DAY + timedelta(days=2), report_id="y1"),
        make_report([record("192.0.2.1", 5, dkim="fail",
                            dkim_results=(("example.org", "fail"),))],
                    org="Yahoo <&> Inc", day=DAY + timedelta(days=2), report_id="y2"),
    ]


def test_each_kind_of_mail_has_its_cause() -> None:
    assert classify(GOOD) == "ok"
    assert classify(FORWARDED) == "forwarder"
    assert classify(THIRD_PARTY) == "third_party"
    assert classify(SPOOF) == "spoofer"
    spf_only = record(dkim="fail", dkim_results=())
    assert classify(spf_only) == "spf_only"
    by_arc = record(dkim="fail", spf="fail", dkim_results=(("list.example", "pass"),),
                    reasons=("mailing_list",))
    assert classify(by_arc) == "forwarder"  # the override outranks the unaligned pass
    broken = record(dkim="fail", spf="fail", dkim_results=(("example.org", "fail"),),
                    spf_results=(("lists.example", "softfail"),))
    assert classify(broken) == "forwarder"  # its own signature broke on the way
    assert classify(SPOOF, source_passes=True) == "unauthenticated"
    assert set(CAUSES) == {"ok", "forwarder", "spf_only", "third_party", "spoofer",
                           "unauthenticated"}


def test_explanations_name_the_domains() -> None:
    assert "esp.example" in explain(THIRD_PARTY) and "bounces.esp.example" in \
        explain(THIRD_PARTY)
    assert "example.org" in explain(THIRD_PARTY)
    assert "DKIM passes aligned" in explain(FORWARDED)
    assert "nothing passes" in explain(SPOOF)


def test_totals_and_rates() -> None:
    reports = sample_reports()
    s = summarize(reports)
    expected = sum(r.count for rep in reports for r in rep.records)
    assert s.reports == 4
    assert s.totals.messages == expected == 302
    assert s.totals.dmarc_pass == 100 + 10 + 100 + 50 + 5  # every record but 3rd party, spoof
    assert s.totals.dkim_pass == 100 + 10 + 100 + 50
    assert s.totals.spf_pass == 100 + 100 + 50 + 5
    assert s.totals.dkim_auth_pass == 100 + 10 + 100 + 30 + 50
    assert s.totals.spf_auth_pass == 100 + 10 + 100 + 30 + 50 + 5
    assert s.totals.dmarc_rate == pytest.approx(265 / 302)
    assert s.policy_domains == ("example.org",)
    assert s.first == DAY and s.last == DAY + timedelta(days=3, seconds=-1)


def test_groups() -> None:
    s = summarize(sample_reports())
    orgs = {t.key: t for t in s.by_org}
    assert orgs["google.com"].messages == 240 and orgs["google.com"].reports == 2
    assert orgs["Yahoo <&> Inc"].messages == 62
    assert [t.key for t in s.by_org] == ["google.com", "Yahoo <&> Inc"]  # most first
    sources = {t.key: t for t in s.by_source}
    assert sources["192.0.2.1"].messages == 255
    assert sources["192.0.2.1"].likely_cause == "spf_only"
    assert sources["203.0.113.66"].likely_cause == "spoofer"
    assert sources["203.0.113.66"].dmarc_rate == 0
    assert s.by_source[0].key == "192.0.2.1"
    assert [t.key for t in s.by_day] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    assert [t.messages for t in s.by_day] == [110, 130, 62]
    assert [t.dmarc_pass for t in s.by_day] == [110, 100, 55]
    assert sum(t.messages for t in s.by_header_from) == s.totals.messages


def test_findings_what_fails_most_first() -> None:
    s = summarize(sample_reports())
    assert [(f.source_ip, f.cause, f.messages, f.dmarc_fail) for f in s.findings] == [
        ("203.0.113.5", "third_party", 30, 30),
        ("203.0.113.66", "spoofer", 7, 7),
        ("198.51.100.7", "forwarder", 10, 0),
        ("192.0.2.1", "spf_only", 5, 0),
    ]
    assert s.findings[0].reporters == ("google.com",)
    assert "esp.example" in s.findings[0].explanation


def test_nothing_passing_from_a_source_that_passes_elsewhere_is_no_spoofer() -> None:
    broken = record("192.0.2.1", 4, dkim="fail", spf="fail", dkim_results=(),
                    spf_results=(("example.org", "softfail"),))
    s = summarize([make_report([GOOD]), make_report([broken, SPOOF], report_id="r2")])
    assert [(f.source_ip, f.cause) for f in s.findings] == [
        ("203.0.113.66", "spoofer"), ("192.0.2.1", "unauthenticated")]
    assert "other mail from this source passes" in s.findings[1].explanation
    assert {t.key: t.likely_cause for t in s.by_source} == {
        "192.0.2.1": "unauthenticated", "203.0.113.66": "spoofer"}


def test_one_report_and_none() -> None:
    one = summarize(make_report([GOOD]))
    assert one.reports == 1 and one.totals.messages == 100 and one.findings == ()
    empty = summarize([])
    assert empty.reports == 0 and empty.totals.messages == 0
    assert empty.totals.dmarc_rate is None and empty.first is None


def test_wrong_types() -> None:
    with pytest.raises(TypeError):
        summarize(["not a report"])  # type: ignore[list-item]


def test_reverse_names_as_a_flow() -> None:
    resolver = FakeResolver({
        "1.2.0.192.in-addr.arpa": {"PTR": ["Mail.Example.org."]},
        "7.100.51.198.in-addr.arpa": {"PTR": ["fwd.example.", "other.example."]},
    }, tempfail=("5.113.0.203.in-addr.arpa",))
    ips = ["192.0.2.1", "198.51.100.7", "203.0.113.5", "203.0.113.66", "not an ip"]
    names = resolve_reverse_names(ips).run(resolver)
    assert names == {"192.0.2.1": "mail.example.org", "198.51.100.7": "fwd.example",
                     "203.0.113.5": None, "203.0.113.66": None}
    assert asyncio.run(resolve_reverse_names(ips).arun(resolver)) == names
    # One step: every PTR question is asked together.
    flow = reverse_names_flow(ips[:2])
    first = next(flow)
    assert isinstance(first, tuple) and len(first) == 2
    s = summarize(sample_reports()).with_reverse_names(names)
    assert {t.key: t.reverse_name for t in s.by_source}["192.0.2.1"] == "mail.example.org"


@st.composite
def reports(draw: st.DrawFn) -> list[AggregateReport]:
    results = st.sampled_from(["pass", "fail", "softfail", "none"])
    out = []
    for n in range(draw(st.integers(0, 4))):
        recs = []
        for _ in range(draw(st.integers(0, 5))):
            recs.append(record(
                f"192.0.2.{draw(st.integers(1, 6))}", draw(st.integers(0, 10_000)),
                dkim=draw(st.sampled_from(["pass", "fail", None])),
                spf=draw(st.sampled_from(["pass", "fail", None])),
                header_from=draw(st.sampled_from(["example.org", "a.example.org", "x.net"])),
                dkim_results=tuple((draw(st.sampled_from(["example.org", "esp.net"])),
                                    draw(results)) for _ in range(draw(st.integers(0, 2)))),
                spf_results=tuple((draw(st.sampled_from(["example.org", "esp.net"])),
                                   draw(results)) for _ in range(draw(st.integers(0, 1)))),
                reasons=tuple(draw(st.lists(st.sampled_from(
                    ["forwarded", "mailing_list", "local_policy"]), max_size=1)))))
        out.append(make_report(recs, org=draw(st.sampled_from(["a", "b", "c"])),
                               day=DAY + timedelta(days=draw(st.integers(0, 9))),
                               report_id=str(n)))
    return out


@given(reports())
@settings(max_examples=150, deadline=None)
def test_every_grouping_adds_up(reps: list[AggregateReport]) -> None:
    s = summarize(reps)
    assert isinstance(s, Summary)
    total = sum(r.count for rep in reps for r in rep.records)
    passed = sum(r.count for rep in reps for r in rep.records if r.dmarc_pass)
    assert s.totals.messages == total and s.totals.dmarc_pass == passed
    for groups in (s.by_org, s.by_source, s.by_header_from, s.by_day):
        assert sum(t.messages for t in groups) == total
        assert sum(t.dmarc_pass for t in groups) == passed
        assert sum(t.dkim_pass for t in groups) == s.totals.dkim_pass
        assert sum(t.spf_pass for t in groups) == s.totals.spf_pass
        for t in groups:
            assert sum(n for _, n in t.causes) == t.messages
            assert t.dmarc_pass <= t.messages
            assert t.dkim_pass <= t.dmarc_pass and t.spf_pass <= t.dmarc_pass
    failing = sum(r.count for rep in reps for r in rep.records if classify(r) != "ok")
    assert sum(f.messages for f in s.findings) == failing
    assert sum(f.dmarc_fail for f in s.findings) == total - passed


def test_days_without_reports_are_there_as_zero() -> None:
    s = summarize([make_report([GOOD]), make_report([SPOOF], day=DAY + timedelta(days=3))])
    assert [(t.key, t.messages) for t in s.by_day] == [
        ("2026-01-05", 100), ("2026-01-06", 0), ("2026-01-07", 0), ("2026-01-08", 7)]
    far = summarize([make_report([GOOD]), make_report([SPOOF], day=DAY + timedelta(days=400))])
    assert [t.key for t in far.by_day] == ["2026-01-05", "2027-02-09"]
