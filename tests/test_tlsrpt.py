"""TLS-RPT (RFC 8460): the record and its discovery, reports read, built and written."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import OWN_VECTORS, shared_vector
from mailauth import ArgumentTypeError, ParseError, Status, UsageError
from mailauth._flow import Answer, Outcome, Query
from mailauth.testing import FakeResolver, drive
from mailauth.tlsrpt import (
    AppliedPolicy,
    FailureDetail,
    PolicyType,
    Report,
    ReportBuilder,
    ResultType,
    get_tlsrpt_policy,
    is_tlsrpt_record,
    parse_record,
    parse_report,
    tlsrpt_policy_flow,
)

VECTORS = OWN_VECTORS / "tlsrpt"
DAY = datetime(2024, 5, 1, tzinfo=UTC)


# --- the record (RFC 8460 §3) -------------------------------------------------------

def test_record_with_several_rua_and_extension_tags() -> None:  # CASES 60
    r = parse_record("v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.net/v1"
                     " , mailto:other%2Bx@example.org; ext.a=1;future-tag=yes")
    assert r.rua == ("mailto:tlsrpt@example.com", "https://reports.example.net/v1",
                     "mailto:other%2Bx@example.org")
    assert r.mailto == ("tlsrpt@example.com", "other+x@example.org")
    assert r.https == ("https://reports.example.net/v1",)
    assert r.extensions == (("ext.a", "1"), ("future-tag", "yes"))
    assert r.warnings == ()


@pytest.mark.parametrize("text", [
    "v=TLSRPTv1;rua=mailto:a@example.com",
    "v=TLSRPTv1 ; rua=mailto:a@example.com;",
    "v=TLSRPTv1;\trua=https://example.com/r;;",
])
def test_record_spellings_accepted(text: str) -> None:
    assert len(parse_record(text).rua) == 1


@pytest.mark.parametrize(("text", "why"), [
    ("v=TLSRPTv2; rua=mailto:a@example.com", "does not begin"),
    ("rua=mailto:a@example.com; v=TLSRPTv1", "does not begin"),
    ("v=TLSRPTv1;", "no rua"),
    ("v=TLSRPTv1; ext=1", "no rua"),
    ("v=TLSRPTv1; rua", "without '='"),
    ("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "twice"),
    ("v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI"),
    ("v=TLSRPTv1; -bad=1; rua=mailto:a@example.com", "invalid field name"),
    ("v=TLSRPTv1; rua=mailto:a b@example.com", "white space"),
])
def test_record_refused(text: str, why: str) -> None:
    with pytest.raises(ParseError, match=why) as info:
        parse_record(text)
    assert info.value.rfc == "RFC 8460 §3"


def test_record_unusable_scheme_is_a_warning() -> None:
    r = parse_record("v=TLSRPTv1; rua=ftp://example.com/x")
    assert r.mailto == r.https == ()
    assert any("neither mailto" in w for w in r.warnings)
    assert any("no usable" in w for w in r.warnings)


def test_is_tlsrpt_record() -> None:
    assert is_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@b")
    assert is_tlsrpt_record("v=TLSRPTv1")
    assert not is_tlsrpt_record("v=TLSRPTv10; rua=mailto:a@b")
    assert not is_tlsrpt_record("v=spf1 -all")


# --- discovery --------------------------------------------------------------------

GOOD = "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"


def _policy(records: dict[str, list[str | list[str]]], **kw: object) -> Status:
    resolver = FakeResolver({name: {"TXT": list(texts)} for name, texts in records.items()},
                            **kw)  # type: ignore[arg-type]
    return get_tlsrpt_policy("example.com").run(resolver).status


def test_discovery_one_record_among_other_txt() -> None:
    resolver = FakeResolver({"_smtp._tls.example.com": {"TXT": [
        "google-site-verification=abc", ["v=TLSRPTv1; rua=mailto:tls", "rpt@example.com"]]}})
    result = get_tlsrpt_policy("Example.COM.").run(resolver)
    assert result.status is Status.PASS
    assert result.rua == ("mailto:tlsrpt@example.com",)  # strings joined without spaces
    assert result.skipped == 1
    assert result.name == "_smtp._tls.example.com"
    assert str(result).startswith("tlsrpt=pass: reports go to mailto:tlsrpt@example.com")


def test_discovery_pins_the_one_query() -> None:
    q = Query("_smtp._tls.example.com", "TXT")
    result = drive(tlsrpt_policy_flow("example.com"), [(q, Answer(q, Outcome.OK, (GOOD,)))])
    assert result.record is not None and result.record.mailto == ("tlsrpt@example.com",)


def test_no_record_is_no_policy() -> None:
    assert _policy({}) is Status.NONE
    assert _policy({"_smtp._tls.example.com": ["v=spf1 -all"]}) is Status.NONE


def test_several_records_mean_no_policy() -> None:
    resolver = FakeResolver({"_smtp._tls.example.com": {"TXT": [GOOD, GOOD + "; x=1"]}})
    result = get_tlsrpt_policy("example.com").run(resolver)
    assert result.status is Status.NONE
    assert result.rua == () and len(result.texts) == 2
    assert "2 v=TLSRPTv1 records" in result.reason


def test_tempfail_is_temporary_never_no_policy() -> None:
    resolver = FakeResolver({"_smtp._tls.example.com": {"TXT": [GOOD]}},
                            tempfail=["_smtp._tls.example.com"])
    result = get_tlsrpt_policy("example.com").run(resolver)
    assert result.status is Status.TEMPERROR
    assert result.temporary and result.record is None
    assert "retry" in result.reason


def test_invalid_single_record_is_permerror() -> None:
    resolver = FakeResolver({"_smtp._tls.example.com": {"TXT": ["v=TLSRPTv1; nothing=here"]}})
    result = get_tlsrpt_policy("example.com").run(resolver)
    assert result.status is Status.PERMERROR
    assert "no rua" in result.reason


def test_discovery_async() -> None:
    resolver = FakeResolver({"_smtp._tls.example.com": {"TXT": [GOOD]}})
    check = get_tlsrpt_policy("example.com")
    assert asyncio.run(check.arun(resolver)).status is Status.PASS


def test_get_tlsrpt_policy_caller_mistakes() -> None:
    with pytest.raises(ArgumentTypeError):
        get_tlsrpt_policy(b"example.com")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        get_tlsrpt_policy("a..b")
    with pytest.raises(UsageError):
        get_tlsrpt_policy("example.com", budget=0)


def test_policy_result_faces() -> None:
    resolver = FakeResolver({"_smtp._tls.example.com": {"TXT": [GOOD]}})
    result = get_tlsrpt_policy("example.com").run(resolver)
    assert repr(result).startswith("<TLSRPTPolicyResult tlsrpt=pass")
    html = result._repr_html_()
    assert "tlsrpt@example.com" in html and "_smtp._tls.example.com" in html


# --- reading reports --------------------------------------------------------------

def test_rfc8460_example_report() -> None:
    report = parse_report((VECTORS / "rfc8460-example.json").read_bytes())
    assert report.organization_name == "Company-X"
    assert report.start_datetime == datetime(2016, 4, 1, tzinfo=UTC)
    assert report.end_datetime == datetime(2016, 4, 1, 23, 59, 59, tzinfo=UTC)
    assert report.contact_info == "sts-reporting@company-x.example"
    assert report.report_id == "5065427c-23d3-47ca-b6e0-946ea0e8c4be"
    assert report.warnings == ()
    (policy,) = report.policies
    assert policy.policy_type is PolicyType.STS
    assert policy.policy_domain == "company-y.example" == report.policy_domain
    assert policy.policy_string == ("version: STSv1", "mode: testing",
                                    "mx: *.mail.company-y.example", "max_age: 86400")
    assert policy.mx_host == ("*.mail.company-y.example",)
    assert (policy.total_successful_session_count, policy.total_failure_session_count) \
        == (5326, 303)
    types = [(d.result_type, d.failed_session_count) for d in policy.failure_details]
    assert types == [(ResultType.CERTIFICATE_EXPIRED, 100),
                     (ResultType.STARTTLS_NOT_SUPPORTED, 200),
                     (ResultType.VALIDATION_FAILURE, 3)]
    second, third = policy.failure_details[1:]
    assert second.receiving_ip == "203.0.113.56"
    assert second.additional_information is not None
    assert second.additional_information.endswith("#StarttlsNotSupported")
    assert third.failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    assert all(d.registered for d in policy.failure_details)


def test_rfc8460_example_round_trips_to_the_same_json() -> None:
    text = (VECTORS / "rfc8460-example.json").read_bytes()
    report = parse_report(text)
    assert json.loads(report.to_json()) == json.loads(text)
    assert parse_report(report.to_gzip()) == report


def test_cases59_deviations_gzip_parsed_with_warnings() -> None:  # CASES 59
    data = gzip.compress((VECTORS / "cases59-deviations.json").read_bytes())
    report = parse_report(data)
    assert report.contact_info is None
    (policy,) = report.policies
    assert policy.policy_type is PolicyType.NO_POLICY_FOUND
    assert policy.failure_details[0].sending_mta_ip is None
    assert report.warnings == ("contact-info is null or missing",
                               "a failure-details entry has no sending-mta-ip")
    assert "contact-info" not in json.loads(report.to_json())


# Each shared sample: (path, policies, successful, failed, failure details, warnings).
SAMPLES = [
    (("parsedmarc-samples", "smtp_tls", "rfc8460.json"), 1, 5326, 303, 3, 0),
    (("parsedmarc-samples", "smtp_tls", "smtp_tls.json"), 1, 0, 3, 2, 0),
    (("parsedmarc-samples", "smtp_tls", "mail.ru.json"), 1, 0, 1, 2, 2),
    (("parsedmarc-samples", "smtp_tls", "google.com_smtp_tls_report.eml"), 1, 48, 0, 0, 0),
    (("stalwart-mail-auth", "resources", "tlsrpt", "rpt01.json"), 1, 5326, 303, 3, 0),
    (("stalwart-mail-auth", "resources", "tlsrpt", "rpt02.json"), 1, 23, 1, 1, 0),
    (("stalwart-mail-auth", "resources", "tlsrpt", "rpt03.json"), 2, 2, 0, 0, 3),
    (("stalwart-mail-auth", "resources", "tlsrpt", "rpt01.eml"), 1, 5326, 303, 3, 0),
    (("stalwart-mail-auth", "resources", "tlsrpt", "rpt02.eml"), 1, 23, 1, 1, 1),
    (("mox-reports", "tlsreports", "example.eml"), 1, 3, 0, 0, 0),
    (("mox-reports", "tlsreports", "microsoft.eml"), 1, 2, 0, 0, 2),
]


@pytest.mark.parametrize(("parts", "policies", "ok", "failed", "details", "warned"), SAMPLES,
                         ids=lambda v: "/".join(v) if isinstance(v, tuple) else None)
def test_shared_samples(parts: tuple[str, ...], policies: int, ok: int, failed: int,
                        details: int, warned: int) -> None:
    report = parse_report(shared_vector(*parts).read_bytes())
    assert len(report.policies) == policies
    assert report.total_successful_session_count == ok
    assert report.total_failure_session_count == failed
    assert sum(len(p.failure_details) for p in report.policies) == details
    assert len(report.warnings) == warned, report.warnings
    assert parse_report(report.to_json()).policies == report.policies


def test_shared_sample_details() -> None:
    mailru = parse_report(shared_vector("parsedmarc-samples", "smtp_tls",
                                        "mail.ru.json").read_bytes())
    codes = [d.failure_reason_code for d in mailru.policies[0].failure_details]
    assert codes == ["bad https response code: 404", "bad https response code: 500"]
    microsoft = parse_report(shared_vector("mox-reports", "tlsreports",
                                           "microsoft.eml").read_bytes())
    assert microsoft.start_datetime == datetime(2023, 1, 10, tzinfo=UTC)
    rpt03 = parse_report(shared_vector("stalwart-mail-auth", "resources", "tlsrpt",
                                       "rpt03.json").read_bytes())
    assert [p.policy_type for p in rpt03.policies] == [PolicyType.NO_POLICY_FOUND,
                                                       "invalid-policy-type"]


def _minimal(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "organization-name": "X", "report-id": "r",
        "date-range": {"start-datetime": "2024-05-01T00:00:00Z",
                       "end-datetime": "2024-05-01T23:59:59Z"},
        "contact-info": "a@x.example",
        "policies": [{"policy": {"policy-type": "sts", "policy-domain": "x.example"},
                      "summary": {"total-successful-session-count": 1,
                                  "total-failure-session-count": 0}}]}
    base.update(changes)
    return base


@pytest.mark.parametrize(("changes", "why"), [
    ({"date-range": None}, "no date-range"),
    ({"date-range": {"start-datetime": "yesterday", "end-datetime": "today"}}, "RFC 3339"),
    ({"policies": {}}, "no policies"),
    ({"policies": [1]}, "not an object"),
    ({"policies": [{"summary": {}}]}, "no policy object"),
    ({"policies": [{"policy": {}, "summary": {"total-successful-session-count": -1}}]},
     "negative"),
    ({"policies": [{"policy": {}, "summary": {}, "failure-details": {}}]}, "not a list"),
    ({"policies": [{"policy": {}, "summary": {}, "failure-details": [{}]}]},
     "no result-type"),
    ({"organization-name": ["x"]}, "not a string"),
])
def test_reports_refused(changes: dict[str, object], why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_report(json.dumps(_minimal(**changes)))


@pytest.mark.parametrize(("data", "why"), [
    (b"", "neither JSON"),
    (b"[1, 2]", "not an object"),
    (b"{", "not a JSON report"),
    (b"{" * 100_000, "not a JSON report"),
    (b"\x1f\x8b\x08\x00garbage", "invalid gzip|truncated"),
    (gzip.compress(b'{"a": 1}')[:-12], "truncated"),
    (b"From: a@b\r\n\r\nhello", "neither JSON"),
    (b"\xff\xfe{", "neither JSON"),
])
def test_bad_input_is_a_parse_error(data: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_report(data)


def test_lenient_reading_of_counts_and_names() -> None:
    doc = _minimal(policies=[{
        "policy": {"policy-type": "sts", "policy-domain": "x.example",
                   "mx-host-pattern": ["mx1.x.example", "mx2.x.example"],
                   "policy-string": "version: STSv1"},
        "summary": {"total-successful-session-count": "12"},
        "failure-details": [{"result-type": "Something-New", "failed-session-count": 2.0,
                             "sending-mta-ip": "192.0.2.1", "additional-info-uri": "u"}]}])
    report = parse_report(json.dumps(doc))
    p = report.policies[0]
    assert p.mx_host == ("mx1.x.example", "mx2.x.example")
    assert p.policy_string == ("version: STSv1",)
    assert p.total_successful_session_count == 12
    assert p.failure_details[0].additional_information == "u"
    assert p.failure_details[0].result_type == "Something-New"
    assert not p.failure_details[0].registered
    assert len(report.warnings) == 7, report.warnings


def test_size_limits() -> None:
    doc = json.dumps(_minimal()).encode()
    with pytest.raises(ParseError, match="over the limit"):
        parse_report(doc, max_bytes=len(doc) - 1)
    with pytest.raises(ParseError, match="over the limit"):
        parse_report(doc, max_json_bytes=len(doc) - 1)
    with pytest.raises(ParseError, match="inflates beyond"):
        parse_report(gzip.compress(doc + b" " * 100_000), max_json_bytes=50_000)
    with pytest.raises(UsageError):
        parse_report(doc, max_bytes=0)
    with pytest.raises(ArgumentTypeError):
        parse_report(json.loads(doc))


def test_gzip_with_several_members() -> None:
    doc = json.dumps(_minimal()).encode()
    half = len(doc) // 2
    data = gzip.compress(doc[:half]) + gzip.compress(doc[half:])
    assert parse_report(data).report_id == "r"
    assert parse_report(data, max_json_bytes=len(doc)).report_id == "r"
    assert parse_report(gzip.compress(doc) + b"\0" * 10).report_id == "r"


# --- building and writing ---------------------------------------------------------

STS_POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\n" \
             "max_age: 604800\r\n"


def _built() -> Report:
    b = ReportBuilder(policy_domain="example.com", organization_name="Sender Inc.",
                      contact_info="tlsrpt@sender.example", start=DAY,
                      end=DAY + timedelta(seconds=86399))
    sts = AppliedPolicy.sts("example.com", STS_POLICY)
    b.success(sts, count=10)
    b.success(sts)
    b.failure(ResultType.CERTIFICATE_EXPIRED, sts, sending_mta_ip="192.0.2.1",
              receiving_mx_hostname="mx1.example.com", receiving_ip="198.51.100.7")
    b.failure("certificate-expired", sts, sending_mta_ip="192.0.2.1",
              receiving_mx_hostname="mx1.example.com", receiving_ip="198.51.100.7", count=2)
    b.failure(ResultType.STARTTLS_NOT_SUPPORTED, None, receiving_mx_hostname="mx9.example.com")
    b.success(AppliedPolicy.tlsa("example.com", ["3 1 1 abcd"], "mx1.example.com"))
    return b.build()


def _same(parsed: Report, built: Report) -> bool:
    """Equal but for the warning our builder's report earns: one failure was recorded
    without the sending MTA's address."""
    assert parsed.warnings == ("a failure-details entry has no sending-mta-ip",)
    return dataclasses.replace(parsed, warnings=()) == built


def test_builder_counts_sessions_per_policy_and_failure() -> None:
    report = _built()
    assert report.report_id == "2024-05-01T00:00:00Z_example.com"
    sts, none, tlsa = report.policies
    assert sts.policy_type is PolicyType.STS
    assert sts.policy_string == ("version: STSv1", "mode: enforce", "mx: mx1.example.com",
                                 "mx: *.example.net", "max_age: 604800")
    assert sts.mx_host == ("mx1.example.com", "*.example.net")
    assert (sts.total_successful_session_count, sts.total_failure_session_count) == (11, 3)
    assert sts.failure_details == (FailureDetail(ResultType.CERTIFICATE_EXPIRED, 3,
                                                 "192.0.2.1", "mx1.example.com", None,
                                                 "198.51.100.7"),)
    assert none.policy_type is PolicyType.NO_POLICY_FOUND
    assert none.total_failure_session_count == 1
    assert tlsa.policy_string == ("3 1 1 abcd",) and tlsa.mx_host == ("mx1.example.com",)


def test_json_uses_the_rfc_field_names() -> None:
    doc = json.loads(_built().to_json())
    assert list(doc) == ["organization-name", "date-range", "contact-info", "report-id",
                         "policies"]
    assert doc["date-range"] == {"start-datetime": "2024-05-01T00:00:00Z",
                                 "end-datetime": "2024-05-01T23:59:59Z"}
    sts = doc["policies"][0]
    assert list(sts) == ["policy", "summary", "failure-details"]
    assert list(sts["policy"]) == ["policy-type", "policy-string", "policy-domain", "mx-host"]
    assert sts["summary"] == {"total-successful-session-count": 11,
                              "total-failure-session-count": 3}
    assert list(sts["failure-details"][0]) == ["result-type", "sending-mta-ip",
                                               "receiving-mx-hostname", "receiving-ip",
                                               "failed-session-count"]
    assert doc["policies"][2]["policy"]["mx-host"] == "mx1.example.com"


def test_filename_post_body_and_round_trip() -> None:
    report = _built()
    assert report.filename("Sender.Example") == \
        "sender.example!example.com!1714521600!1714607999.json.gz"
    assert report.filename("sender.example", unique_id="a1", compressed=False) == \
        "sender.example!example.com!1714521600!1714607999!a1.json"
    with pytest.raises(UsageError):
        report.filename("sender.example", unique_id="a-1")
    body = report.post_body()
    assert body.content_type == "application/tlsrpt+gzip"
    assert gzip.decompress(body.body) == report.to_json()
    assert report.post_body(compressed=False).content_type == "application/tlsrpt+json"
    assert _same(parse_report(body.body), report)
    assert report.to_gzip() == report.to_gzip()  # reproducible


def test_mail_message_of_section_5_3() -> None:
    report = _built()
    raw = report.to_message(submitter="sender.example", from_addr="tlsrpt@sender.example",
                            to_addr="tls@example.com", date=DAY + timedelta(days=1))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["TLS-Report-Domain"] == "example.com"
    assert msg["TLS-Report-Submitter"] == "sender.example"
    assert msg["Subject"] == ("Report Domain: example.com Submitter: sender.example "
                              "Report-ID: <2024-05-01T00:00:00Z_example.com>")
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "tlsrpt"
    text, attachment = msg.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert attachment.get_content_type() == "application/tlsrpt+gzip"
    assert attachment.get_filename() == report.filename("sender.example")
    assert gzip.decompress(attachment.get_content()) == report.to_json()
    assert _same(parse_report(raw), report)
    plain = report.to_message(submitter="sender.example", from_addr="a@sender.example",
                              to_addr="b@example.com", date=DAY, compressed=False)
    assert b"application/tlsrpt+json" in plain and _same(parse_report(plain), report)


def test_builder_caller_mistakes() -> None:
    kw: dict[str, object] = {"policy_domain": "example.com", "organization_name": "o",
                                 "contact_info": "c@o.example", "start": DAY, "end": DAY}
    with pytest.raises(UsageError, match="aware"):
        ReportBuilder(**{**kw, "start": datetime(2024, 5, 1)})  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="before"):
        ReportBuilder(**{**kw, "end": DAY - timedelta(1)})  # type: ignore[arg-type]
    b = ReportBuilder(**kw)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"not other\.example"):
        b.success(AppliedPolicy.no_policy_found("other.example"))
    with pytest.raises(UsageError):
        b.success(count=0)
    with pytest.raises(ArgumentTypeError):
        b.failure(3)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        AppliedPolicy.sts("example.com", b"version: STSv1")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        b.build().to_message(submitter="s.example", from_addr="nobody", to_addr="a@b")
    assert b.build().policies == ()


def test_report_faces() -> None:
    report = parse_report((VECTORS / "rfc8460-example.json").read_bytes())
    assert str(report).startswith("tlsrpt-report=fail: Company-X on company-y.example")
    assert repr(report).startswith("<Report tlsrpt-report=fail")
    html = report._repr_html_()
    assert "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED" in html and "sts company-y.example" in html


def test_vectors_readme_names_every_file() -> None:
    text = (VECTORS / "README.md").read_text()
    assert all(p.name in text for p in Path(VECTORS).glob("*.json"))
