"""TLS-RPT under generated and hostile input: round trips, only ParseError, a gzip bomb."""

from __future__ import annotations

import contextlib
import gzip
import json
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth import ParseError
from mailauth.tlsrpt import (
    AppliedPolicy,
    PolicyType,
    Report,
    ReportBuilder,
    ResultType,
    parse_record,
    parse_report,
)

_LABEL = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)
_DOMAIN = st.builds(lambda a, b: f"{a}.{b}", _LABEL, st.sampled_from(["example", "test"]))
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_OPT = st.none() | _TEXT
_WHEN = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@st.composite
def reports(draw: st.DrawFn) -> Report:
    domain = draw(_DOMAIN)
    start = draw(_WHEN)
    b = ReportBuilder(policy_domain=domain, organization_name=draw(_TEXT),
                      contact_info=draw(_TEXT), start=start,
                      end=start + timedelta(seconds=draw(st.integers(0, 10**7))),
                      report_id=draw(st.none() | _TEXT.filter(bool)))
    policies = [AppliedPolicy.no_policy_found(domain),
                AppliedPolicy.sts(domain, "version: STSv1\nmode: testing\nmx: " +
                                  draw(_DOMAIN) + "\nmax_age: 86400\n"),
                AppliedPolicy.tlsa(domain, draw(st.lists(_TEXT, max_size=3)), draw(_DOMAIN))]
    for _ in range(draw(st.integers(0, 6))):
        policy = draw(st.sampled_from([None, *policies]))
        if draw(st.booleans()):
            b.success(policy, count=draw(st.integers(1, 10**12)))
        else:
            b.failure(draw(st.sampled_from([*ResultType, "x-unregistered"])), policy,
                      sending_mta_ip=draw(_OPT), receiving_mx_hostname=draw(_OPT),
                      receiving_mx_helo=draw(_OPT), receiving_ip=draw(_OPT),
                      failure_reason_code=draw(_OPT), additional_information=draw(_OPT),
                      count=draw(st.integers(1, 1000)))
    return b.build()


def _plain(report: Report) -> Report:
    return Report(report.organization_name, report.start_datetime, report.end_datetime,
                  report.contact_info, report.report_id, report.policies)


@settings(max_examples=150, deadline=None)
@given(reports(), st.sampled_from(["json", "gzip", "message"]))
def test_build_serialise_parse_round_trips(report: Report, form: str) -> None:
    if form == "json":
        data = report.to_json()
    elif form == "gzip":
        data = report.to_gzip()
    else:
        data = report.to_message(submitter="sender.example", from_addr="r@sender.example",
                                 to_addr="t@example.com", date=report.start_datetime)
    parsed = parse_report(data)
    assert _plain(parsed) == report
    assert all(isinstance(p.policy_type, PolicyType) for p in parsed.policies)
    assert json.loads(parsed.to_json()) == json.loads(report.to_json())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_report_or_a_parse_error(data: bytes) -> None:
    for candidate in (data, b"{" + data, b"\x1f\x8b" + data, gzip.compress(data)):
        with contextlib.suppress(ParseError):
            parse_report(candidate)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
                     lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(_TEXT, kids, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_reports_give_a_report_or_a_parse_error(data: st.DataObject) -> None:
    doc = json.loads(_report_json())
    # Replace one value somewhere in the RFC example with generated JSON.
    path: list[object] = []
    node: object = doc
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict)
                                        else range(len(node))))
        path.append(key)
        node = node[key]
    if not path:
        return
    parent: object = doc
    for key in path[:-1]:
        parent = parent[key]  # type: ignore[index]
    parent[path[-1]] = data.draw(_JSON)  # type: ignore[index]
    try:
        report = parse_report(json.dumps(doc))
    except ParseError:
        return
    parse_report(report.to_json())  # what we read, we can write and read again


def _report_json() -> str:
    from conftest import OWN_VECTORS

    return (OWN_VECTORS / "tlsrpt" / "rfc8460-example.json").read_text()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_record_parser_raises_only_parse_error(tail: str) -> None:
    for text in (tail, "v=TLSRPTv1;" + tail, "v=TLSRPTv1; rua=" + tail):
        try:
            record = parse_record(text)
        except ParseError:
            continue
        assert record.rua


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 1 GB of JSON-looking white space, gzip-compressed to about 1 MB."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    parts = [c.compress(b'{"organization-name": "bomb",')]
    parts += [c.compress(block) for _ in range(1024)]
    parts.append(c.flush())
    return b"".join(parts)


def test_gzip_bomb_refused_within_the_limit_and_bounded_memory(gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="inflates beyond"):
            parse_report(gzip_bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_gzip_bomb_inside_a_message(gzip_bomb: bytes) -> None:
    import base64

    body = base64.encodebytes(gzip_bomb)
    message = (b"Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: application/tlsrpt+gzip\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n--b--\r\n")
    with pytest.raises(ParseError, match="inflates beyond"):
        parse_report(message)
