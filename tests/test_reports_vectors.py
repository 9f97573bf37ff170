"""Every DMARC aggregate report sample of the shared vectors parses to its content, or is
refused with the reason stated here (parsedmarc-samples, mox-reports, stalwart).

The expectations are ours, written per sample from reading it: record count, message
count, org_name, report_id, the first record's source IP, and what was tolerated. The
stalwart samples come with the expected model as JSON; each is compared field by field.
A slow test also compares record counts with parsedmarc's parser (a bench extra).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from conftest import shared_vector
from mailauth.errors import ParseError
from mailauth.reports import AggregateReport, parse_aggregate

# name: (records, messages, org_name, report_id, first source_ip, warning fragments, format)
PARSEDMARC: dict[str, tuple[int, int, str, str, str, tuple[str, ...], str]] = {
    "aggregate/!example.com!1538204542!1538463818.xml":
        (1, 1, "", "example.com:1538463741", "12.20.127.122", ("no org_name",), "rfc7489"),
    "aggregate/!large-example.com!1711897200!1711983600.xml":
        (2286, 2286, "", "example.com:1711897200", "12.20.121.1", ("no org_name",),
         "rfc7489"),
    "aggregate/Report domain- borschow.com Submitter- google.com Report-ID- "
    "949348866075514174.eml":
        (1, 1, "google.com", "949348866075514174", "92.53.116.102", (), "rfc7489"),
    "aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml":
        (1, 1, "addisonfoods.com", "3ceb5548498640beaeb47327e202b0b9", "109.203.100.17", (),
         "rfc7489"),
    "aggregate/empty_reason.xml":
        (1, 2, "example.org", "20240125141224705995", "198.51.100.123",
         ("<reason> without a type",), "rfc7489"),
    "aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip":
        (1, 1, "XYZ Corporation", "2940", "148.243.137.254", (), "rfc7489"),
    "aggregate/example.net!example.com!1529366400!1529452799.xml":
        (1, 1, "example.net", "b043f0e264cf4ea995e93765242f6dfb", "199.230.200.36", (),
         "rfc7489"),
    "aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz":
        (1, 1, "FastMail Pty Ltd", "102675056", "104.195.80.20", (), "rfc7489"),
    "aggregate/ikea.com!example.de!1538690400!1538776800.xml":
        (1, 1, "ikea.com", "aggr_report_2018_10_05_5bc7e9b4f3e8a", "234.234.234.234",
         ("unclosed <xs:schema>",), "rfc7489"),
    "aggregate/invalid_utf_8.xml":
        (1, 1, "", "example.com:1538463741", "12.20.127.122", ("not UTF-8",), "rfc7489"),
    "aggregate/invalid_xml.xml":
        (1, 1, "veeam.com", "sonexushealth.com:1530233361", "199.230.200.36",
         ("'<' that starts no element",), "rfc7489"),
    "aggregate/mimecast-weird-gzip.eml":
        (1, 1, "Mimecast",
         "157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e",
         "40.93.199.22", ("after the gzip data",), "rfc7489"),
    "aggregate/old_draft_from_wiki.xml":
        (1, 2, "acme.com", "9391651994964116463", "72.150.241.94", (), "rfc7489"),
    "aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml":
        (1, 1, "Outlook.com", "cfeafefe4129445e8c81018bd9177197", "100.24.188.149", (),
         "rfc7489"),
    "aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml":
        (2, 7, "example.net", "dmarcbis-test-report-001", "198.51.100.1",
         ("RFC 9990 says 1.0",), "rfc9990"),
    "aggregate/rfc9990-sample.xml":
        (1, 123, "Sample Reporter", "3v98abbp8ya9n3va8yr8oa3ya", "192.0.2.123", (),
         "rfc9990"),
    "aggregate/twilight.eml":
        (1, 1, "google.com", "1627703331531660819", "87.106.127.28", (), "rfc7489"),
    "aggregate/usssa.com!example.com!1538784000!1538870399.xml":
        (2, 2, "usssa.com", "8953b4d4a4ee4218b6ac0e2cb2667ee1", "12.20.127.40", (),
         "rfc7489"),
    "aggregate/veeam.com!example.com!1530133200!1530219600.xml":
        (1, 1, "veeam.com", "sonexushealth.com:1530233361", "199.230.200.36", (),
         "rfc7489"),
    "aggregate_invalid/report_with_upper_cased_pass.xml":
        (1, 1, "example.com", "aggr_report_example.com_20191202_1638", "23.104.41.189",
         ("written as 'Pass', read as 'pass'", "written as 'None', read as 'none'"),
         "rfc7489"),
    "extract_report/changed-input.xml":
        (20, 3047, "fred.com", "11038226378739404135", "209.85.220.69", (), "rfc7489"),
    "extract_report/nice-input.xml":
        (20, 3047, "google.com", "11038226378739404135", "209.85.220.69", (), "rfc7489"),
    "extract_report/nice-input.xml.gz":
        (20, 3047, "google.com", "11038226378739404135", "209.85.220.69", (), "rfc7489"),
    "extract_report/nice-input.xml.zip":
        (20, 3047, "google.com", "11038226378739404135", "209.85.220.69", (), "rfc7489"),
}
PARSEDMARC_REFUSED = {"empty.xml": "the report is empty"}

MOX = {
    "google.eml": (2, 5, "google.com", "13488712042596170873",
                   "2a02:2770:3:0:21a:4aff:fea1:8a7b"),
    "mailru.eml": (1, 1, "Mail.Ru", "82403907998914102491559779200", "176.113.22.155"),
    "outlook.eml": (1, 2, "Outlook.com", "8be4eb9d89044800947965b8a040291c", "46.19.35.124"),
    "xs4all.eml": (1, 1, "xs4all.nl",
                   "xs4all.nl.1627349682.9725429@dmarc-reports.xs4all.net", "46.19.35.124"),
    "yahoo.eml": (1, 1, "Yahoo! Inc.", "1559613526.307161", "46.19.35.124"),
}

STALWART = ["001.xml", "002.xml", "003.xml", "004.xml", "005.xml",
            "100.eml", "101.eml", "102.eml", "103.eml", "104.eml"]


def _check(report: AggregateReport, records: int, messages: int, org: str, rid: str,
           ip: str) -> None:
    assert len(report.records) == records
    assert report.message_count == messages
    assert report.org_name == org
    assert report.report_id == rid
    assert report.records[0].source_ip == ipaddress.ip_address(ip)
    assert report.date_begin.tzinfo is not None and report.date_begin <= report.date_end


def test_every_parsedmarc_sample_is_listed() -> None:
    base = shared_vector("parsedmarc-samples")
    found = {str(p.relative_to(base)) for d in ("aggregate", "aggregate_invalid",
                                                "extract_report")
             for p in (base / d).iterdir()}
    assert found == set(PARSEDMARC)
    assert (base / "empty.xml").exists()


@pytest.mark.parametrize("name", sorted(PARSEDMARC))
def test_parsedmarc_sample(name: str) -> None:
    data = shared_vector("parsedmarc-samples", name).read_bytes()
    records, messages, org, rid, ip, warned, fmt = PARSEDMARC[name]
    report = parse_aggregate(data)
    _check(report, records, messages, org, rid, ip)
    assert report.format == fmt
    for fragment in warned:
        assert any(fragment in w for w in report.warnings), (fragment, report.warnings)
    if not warned:
        assert report.warnings == ()


@pytest.mark.parametrize("name", sorted(PARSEDMARC_REFUSED))
def test_parsedmarc_sample_refused(name: str) -> None:
    data = shared_vector("parsedmarc-samples", name).read_bytes()
    with pytest.raises(ParseError, match=PARSEDMARC_REFUSED[name]):
        parse_aggregate(data)


def test_upper_cased_words_are_read_lower_cased() -> None:
    data = shared_vector("parsedmarc-samples", "aggregate_invalid",
                         "report_with_upper_cased_pass.xml").read_bytes()
    record = parse_aggregate(data).records[0]
    assert (record.disposition, record.dkim, record.spf) == ("none", "pass", "pass")
    assert record.dkim_results[0].result == "pass"


def test_the_rfc9990_sample_keeps_its_new_fields() -> None:
    data = shared_vector("parsedmarc-samples", "aggregate", "rfc9990-sample.xml").read_bytes()
    report = parse_aggregate(data)
    assert report.generator == "Example DMARC Aggregate Reporter v1.2"
    p = report.policy
    assert (p.p, p.sp, p.np, p.testing, p.discovery_method, p.pct) == (
        "quarantine", "none", "none", "n", "treewalk", None)
    r = report.records[0]
    assert r.disposition == "pass"
    assert r.dkim_results[0].selector == "abc123"
    assert r.envelope_from == "example.com"


@pytest.mark.parametrize("name", sorted(MOX))
def test_mox_report_message(name: str) -> None:
    data = shared_vector("mox-reports", "dmarc-reports", name).read_bytes()
    report = parse_aggregate(data)
    _check(report, *MOX[name])
    assert report.format == "rfc7489"


def test_every_mox_sample_is_listed() -> None:
    found = {p.name for p in shared_vector("mox-reports", "dmarc-reports").iterdir()}
    assert found == set(MOX)


# stalwart's enum spellings, where they differ from the XML's word
_STALWART_WORDS = {"mailfrom": "mfrom", "unspecified": None}
_STALWART_REASONS = {"sampled_out": "other", "forwarded": "other"}


def _lower(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    return _STALWART_WORDS.get(text, text)


@pytest.mark.parametrize("name", STALWART)
def test_stalwart_sample_matches_its_expected_model(name: str) -> None:
    path = shared_vector("stalwart-mail-auth", "resources", "dmarc-feedback", name)
    expected = json.loads(path.with_suffix(".json").read_text())
    report = parse_aggregate(path.read_bytes())
    meta = expected["report_metadata"]
    assert report.org_name == meta["org_name"]
    assert report.email == meta["email"]
    assert report.report_id == meta["report_id"]
    assert int(report.date_begin.timestamp()) == meta["date_range"]["begin"]
    assert int(report.date_end.timestamp()) == meta["date_range"]["end"]
    assert report.policy.domain == expected["policy_published"]["domain"]
    assert report.policy.p == _lower(expected["policy_published"]["p"])
    assert len(report.records) == len(expected["record"])
    for ours, theirs in zip(report.records, expected["record"], strict=True):
        row = theirs["row"]
        assert ours.source_ip == ipaddress.ip_address(row["source_ip"])
        assert ours.count == row["count"]
        evaluated = row["policy_evaluated"]
        assert ours.disposition == _lower(evaluated["disposition"])
        assert ours.dkim == _lower(evaluated["dkim"])
        assert ours.spf == _lower(evaluated["spf"])
        # stalwart's model has no RFC 7489 sampled_out: it reads it as Other; ours keeps it
        assert [(_STALWART_REASONS.get(r.type, r.type.replace("_", "")), r.comment)
                for r in ours.reasons] == [
            (_lower(r["type_"]), r["comment"]) for r in evaluated["reason"]]
        assert ours.header_from == theirs["identifiers"]["header_from"]
        assert (ours.envelope_from or "") == (theirs["identifiers"]["envelope_from"] or "")
        assert [(d.domain, d.selector or "", d.result) for d in ours.dkim_results] == [
            (d["domain"], d["selector"] or "", _lower(d["result"]))
            for d in theirs["auth_results"]["dkim"]]
        assert [(s.domain, s.scope, s.result) for s in ours.spf_results] == [
            (s["domain"], _lower(s["scope"]), _lower(s["result"]))
            for s in theirs["auth_results"]["spf"]]
        assert len(ours.extensions) == len(theirs.get("extensions", []))
    assert len(report.extensions) == len(expected.get("extensions", []))


def test_every_stalwart_sample_is_listed() -> None:
    folder = shared_vector("stalwart-mail-auth", "resources", "dmarc-feedback")
    assert {p.name for p in folder.iterdir() if p.suffix != ".json"} == set(STALWART)


def _all_samples() -> list[Path]:
    base = shared_vector()
    out = [base / "parsedmarc-samples" / n for n in PARSEDMARC]
    out += [base / "mox-reports" / "dmarc-reports" / n for n in MOX]
    out += [base / "stalwart-mail-auth" / "resources" / "dmarc-feedback" / n
            for n in STALWART]
    return out


@pytest.mark.slow
def test_record_counts_equal_parsedmarcs() -> None:
    """parsedmarc (the bench extra) reads each sample to the same number of records.
    Not skipped when parsedmarc is missing: the import fails the test."""
    import logging

    import parsedmarc

    logging.disable(logging.CRITICAL)
    try:
        for path in _all_samples():
            data = path.read_bytes()
            theirs = parsedmarc.parse_report_file(data, offline=True,
                                                  always_use_local_files=True)
            assert theirs["report_type"] == "aggregate", path.name
            ours = parse_aggregate(data)
            assert len(ours.records) == len(theirs["report"]["records"]), path.name
            assert ours.message_count == sum(r["count"]
                                             for r in theirs["report"]["records"])
    finally:
        logging.disable(logging.NOTSET)


def test_parse_many_with_workers_gives_what_parse_aggregate_gives() -> None:
    from mailauth.reports import parse_many

    paths = _all_samples()
    expected = [parse_aggregate(p.read_bytes()) for p in paths]
    got = list(parse_many(paths, jobs=2, chunk=5))
    assert [p for p, _ in got] == paths
    assert [r for _, r in got] == expected
