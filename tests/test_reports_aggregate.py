"""parse_aggregate on authored input: containers, tolerated deviations and their
warnings, refusals with their reasons, the private fast helpers against their plain
references, parse_many, and hypothesis: nothing but ParseError ever escapes."""

from __future__ import annotations

import gzip
import io
import ipaddress
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_vector
from mailauth.errors import ArgumentTypeError, ParseError
from mailauth.reports import (
    NAMESPACE,
    AggregateReport,
    ReportRecord,
    parse_aggregate,
    parse_many,
)
from mailauth.reports._aggregate import _ip_address, _parse
from mailauth.reports._containers import Limits
from test_reports_build import reports as generated_reports

RECORD = (b"<record><row><source_ip>%s</source_ip><count>%s</count><policy_evaluated>"
          b"<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>"
          b"</policy_evaluated></row><identifiers><header_from>example.com</header_from>"
          b"</identifiers><auth_results><dkim><domain>example.com</domain>"
          b"<selector>s1</selector><result>pass</result></dkim><spf>"
          b"<domain>example.com</domain><result>fail</result></spf></auth_results>"
          b"</record>")
HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<feedback>'
        b"<report_metadata><org_name>Reporter</org_name><email>r@reporter.example</email>"
        b"<report_id>id-1</report_id><date_range><begin>1700000000</begin>"
        b"<end>1700086399</end></date_range></report_metadata>"
        b"<policy_published><domain>example.com</domain><p>reject</p><pct>100</pct>"
        b"</policy_published>")


def report(*records: bytes, head: bytes = HEAD) -> bytes:
    return head + b"".join(records) + b"</feedback>"


def rec(ip: bytes = b"192.0.2.1", count: bytes = b"3") -> bytes:
    return RECORD % (ip, count)


@pytest.mark.parametrize("fast", [False, True])
def test_a_period_longer_than_a_day_or_backwards_is_read_with_a_warning(fast: bool) -> None:
    """CASES 61: a date range over 24 h is kept as given, with the reason."""
    week = HEAD.replace(b"1700086399", b"1700604800")
    backwards = HEAD.replace(b"1700086399", b"1699999000")
    records = [rec()] * (400 if fast else 1)   # a big report takes the fast path
    r = parse_aggregate(report(*records, head=week))
    assert r.date_end.timestamp() == 1700604800
    assert "the date range covers 7.0 days; reports usually cover one day" in r.warnings[0]
    assert parse_aggregate(report(*records, head=backwards)).warnings == (
        "the date range ends before it begins",)
    a_day_and_a_bit = HEAD.replace(b"1700086399", b"1700088000")  # rounding: no warning
    assert parse_aggregate(report(*records, head=a_day_and_a_bit)).warnings == ()


@pytest.mark.parametrize("body", [b"unused", b"\x91\x92 junk", b"  Hello there"])
def test_what_is_no_report_is_refused_showing_how_it_begins(body: bytes) -> None:
    """CASES 61: the literal body "unused", stray bytes: refused, saying what came."""
    with pytest.raises(ParseError, match="neither XML, gzip, zip nor a mail message") as e:
        parse_aggregate(body)
    start = body.lstrip()[:40].decode("ascii", "backslashreplace")
    assert repr(start) in str(e.value)


def test_a_plain_rfc7489_report() -> None:
    r = parse_aggregate(report(rec(), rec(b"2001:db8::1", b"4")))
    assert isinstance(r, AggregateReport)
    assert (r.org_name, r.email, r.report_id) == ("Reporter", "r@reporter.example", "id-1")
    assert r.date_begin.timestamp() == 1700000000 and r.date_end.timestamp() == 1700086399
    assert r.format == "rfc7489" and r.version is None
    assert r.policy.pct == 100 and r.policy.p == "reject"
    assert [str(x.source_ip) for x in r.records] == ["192.0.2.1", "2001:db8::1"]
    assert r.message_count == 7 and r.pass_count == 7
    assert r.records[0].dkim_results[0].selector == "s1"
    assert r.records[0].spf_results[0].scope is None
    assert r.warnings == ()
    assert "Reporter on example.com" in str(r)
    assert "192.0.2.1" in r._repr_html_()


def test_containers_give_the_same_report() -> None:
    xml = report(rec())
    plain = parse_aggregate(xml)
    assert parse_aggregate(gzip.compress(xml)) == plain
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("reporter!example.com!1700000000!1700086399.xml", xml)
    assert parse_aggregate(out.getvalue()) == plain
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as z:
        z.writestr("r.xml.gz", gzip.compress(xml))
    assert parse_aggregate(nested.getvalue()) == plain
    for ctype, payload in (("application/gzip", gzip.compress(xml)),
                           ("application/octet-stream", gzip.compress(xml)),
                           ("text/xml", xml)):
        msg = EmailMessage()
        msg["Subject"] = "Report Domain: example.com Submitter: reporter.example"
        msg.set_content("A report.")
        maintype, subtype = ctype.split("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype,
                           filename="reporter!example.com!1700000000!1700086399.xml.gz")
        assert parse_aggregate(msg.as_bytes()) == plain


def test_a_zip_with_more_than_the_report_says_so() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", b"hello")
        z.writestr("report.xml", report(rec()))
    r = parse_aggregate(out.getvalue())
    assert len(r.records) == 1
    assert any("readme.txt" in w for w in r.warnings)


def test_a_message_without_a_report() -> None:
    msg = EmailMessage()
    msg["Subject"] = "hello"
    msg.set_content("no report here")
    with pytest.raises(ParseError, match="no DMARC report attachment"):
        parse_aggregate(msg.as_bytes())


def test_the_rfc9990_namespace_with_a_prefix() -> None:
    xml = (b'<d:feedback xmlns:d="' + NAMESPACE.encode() + b'"><d:version>1.0</d:version>'
           b"<d:report_metadata><d:org_name>o</d:org_name><d:email>e</d:email>"
           b"<d:report_id>i</d:report_id><d:date_range><d:begin>1</d:begin>"
           b"<d:end>2</d:end></d:date_range></d:report_metadata><d:policy_published>"
           b"<d:domain>example.com</d:domain><d:p>none</d:p></d:policy_published>"
           + (rec().replace(b"<", b"<d:").replace(b"<d:/", b"</d:")) + b"</d:feedback>")
    r = parse_aggregate(xml)
    assert r.format == "rfc9990" and r.version == "1.0"
    assert r.records[0].header_from == "example.com" and r.warnings == ()


def test_extensions_are_kept_as_xml() -> None:
    ext = b'<extension><x:arc-override xmlns:x="urn:x">never</x:arc-override></extension>'
    head = HEAD.replace(b"</policy_published>", b"</policy_published>" + ext)
    record = rec().replace(b"</auth_results>", b"</auth_results><x:arc>1</x:arc>")
    r = parse_aggregate(report(record, head=head))
    assert r.extensions == ('<x:arc-override xmlns:x="urn:x">never</x:arc-override>',)
    assert r.records[0].extensions == ("<x:arc>1</x:arc>",)
    assert parse_aggregate(r.to_xml()) == r


@pytest.mark.parametrize(("change", "warning"), [
    ((b"<count>3</count>", b"<count>3.0</count>"), "count written as '3.0'"),
    ((b"<spf>fail</spf></policy", b"<spf>FAIL</spf></policy"), "written as 'FAIL'"),
    ((b"<header_from>", b"<bogus>1</bogus><header_from>"), "unknown element <bogus>"),
    ((b"<org_name>Reporter</org_name>", b""), "no org_name"),
])
def test_tolerated_deviations_are_said(change: tuple[bytes, bytes], warning: str) -> None:
    xml = report(rec()).replace(*change)
    r = parse_aggregate(xml)
    assert len(r.records) == 1
    assert any(warning in w for w in r.warnings), r.warnings


def test_a_record_that_cannot_be_placed_is_left_out_and_said() -> None:
    r = parse_aggregate(report(rec(b"not-an-ip"), rec(), rec(b"192.0.2.9", b"many")))
    assert len(r.records) == 1
    assert any("not-an-ip" in w for w in r.warnings)
    assert any("'many'" in w for w in r.warnings)


def test_a_windows_1252_report() -> None:
    xml = report(rec()).replace(b'encoding="UTF-8"', b'encoding="windows-1252"').replace(
        b"Reporter", b"R\xe9porter")
    assert parse_aggregate(xml).org_name == "Réporter"


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"hello world", "neither XML"),
    (b"<html><body/></html>", "root element is <html>"),
    (b"<feedback><report_metadata/></feedback>", "no <policy_published>"),
    (b"<feedback><policy_published/></feedback>", "no <report_metadata>"),
    (b"<feedback><report_metadata/><policy_published/></feedback>", "date_range"),
    (HEAD.replace(b"<begin>1700000000", b"<begin>yesterday") + b"</feedback>",
     "not a time"),
    (b"<feedback><a></b></feedback>", "not well-formed"),
    (b"\x1f\x8b\x08\x00garbage", "gzip"),
    (gzip.compress(report(rec()))[:-30], "truncated|corrupt"),
    (b"PK\x03\x04broken", "zip"),
])
def test_refusals_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_aggregate(data)


def test_argument_types() -> None:
    with pytest.raises(ArgumentTypeError):
        parse_aggregate("<feedback/>")  # type: ignore[arg-type]
    assert parse_aggregate(bytearray(report(rec()))).records[0].count == 3


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        result = parse_aggregate(data)
    except ParseError:
        return
    assert isinstance(result, AggregateReport)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_reports_raise_only_parse_error(data: st.DataObject) -> None:
    xml = bytearray(report(rec(), rec(b"2001:db8::5")))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(xml) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            xml[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del xml[at:at + data.draw(st.integers(1, 20))]
        else:
            xml[at:at] = data.draw(st.sampled_from([b"<", b"&", b"</record>", b"<!--",
                                                    b"\xff", b"<record>", b"]]>"]))
    try:
        r = parse_aggregate(bytes(xml))
    except ParseError:
        return
    assert isinstance(r, AggregateReport)
    assert all(x.count >= 0 for x in r.records)


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.ip_addresses().map(str),
    st.tuples(*[st.integers(0, 999)] * 4).map(lambda t: ".".join(map(str, t))),
    st.from_regex(r"[0-9.]{1,16}", fullmatch=True),
    st.text(max_size=20)))
def test_the_fast_address_reader_equals_ipaddress(text: str) -> None:
    try:
        expected: object = ipaddress.ip_address(text)
    except ValueError:
        expected = ValueError
    try:
        got: object = _ip_address(text)
    except ValueError:
        got = ValueError
    assert got == expected
    assert type(got) is type(expected)


def test_parse_many_in_order_with_progress(tmp_path: Path) -> None:
    paths = []
    for i in range(7):
        path = tmp_path / f"{i}.xml.gz"
        path.write_bytes(gzip.compress(report(*[rec()] * (i + 1))))
        paths.append(path)
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"nothing")
    paths += [bad, tmp_path / "missing.xml"]
    seen: list[tuple[int, int | None, Path]] = []
    one = list(parse_many(paths, progress=lambda d, t, p: seen.append((d, t, p))))
    assert [p for p, _ in one] == paths
    assert [len(r.records) for _, r in one[:7] if isinstance(r, AggregateReport)] == [
        1, 2, 3, 4, 5, 6, 7]
    assert isinstance(one[7][1], ParseError) and isinstance(one[8][1], OSError)
    assert [d for d, _, _ in seen] == list(range(1, 10)) and seen[-1][1] == 9
    two = list(parse_many(paths, jobs=2, chunk=2))
    assert [p for p, _ in two] == paths
    assert [r for _, r in two[:7]] == [r for _, r in one[:7]]
    assert str(two[7][1]) == str(one[7][1])


# --- the fast path (private, _scan.py) against the plain one ---------------------------

def _both(data: bytes) -> tuple[object, object]:
    """(fast, plain): each the report, or the ParseError's text."""
    limits = Limits()
    out: list[object] = []
    for fast in (True, False):
        try:
            out.append(_parse(data, limits, fast=fast))
        except ParseError as exc:
            out.append(str(exc))
    return out[0], out[1]


def test_the_fast_path_equals_the_plain_one_on_every_sample() -> None:
    base = shared_vector()
    paths = [p for d in ("parsedmarc-samples/aggregate", "parsedmarc-samples/aggregate_invalid",
                         "parsedmarc-samples/extract_report", "mox-reports/dmarc-reports",
                         "stalwart-mail-auth/resources/dmarc-feedback")
             for p in sorted((base / d).iterdir()) if p.suffix != ".json"]
    assert len(paths) == 39
    for path in paths:
        fast, plain = _both(path.read_bytes())
        assert fast == plain, path.name


LAYOUTS = [
    rec(),
    rec().replace(b"<selector>s1</selector><result>pass</result>",
                  b"<result>pass</result><selector>s1</selector>"),  # another order
    rec().replace(b"<dkim>pass</dkim>", b"<dkim>Pass</dkim>"),          # a capital
    rec().replace(b"</auth_results>", b"</auth_results><x:e xmlns:x='u'>1</x:e>"),
    rec().replace(b"<row>", b"<row><!-- a comment -->"),
    rec().replace(b"example.com</header_from>", b"a&amp;b</header_from>"),
    rec().replace(b"</policy_evaluated>", b"<reason><type>mailing_list</type>"
                  b"<comment> list </comment></reason></policy_evaluated>"),
    rec().replace(b"<header_from>", b"<envelope_to>rcpt.example</envelope_to>"
                  b"<envelope_from></envelope_from><header_from>"),
    rec().replace(b"</header_from>", b"</header_from><envelope_from>x.example"
                  b"</envelope_from>"),
    rec(b"2001:db8::7", b" 12 "),
    rec(b"999.1.1.1"),
    rec().replace(b"<spf><domain>", b"<spf><scope>MFROM</scope><domain>"),
    rec().replace(b"<human_result>", b"").replace(b"<result>pass</result></dkim>",
                                                  b"<result>pass</result><human_result/>"
                                                  b"</dkim>"),
    rec().replace(b"<identifiers>", b"<identifiers><header_from>twice.example"
                  b"</header_from>"),
    rec().replace(b"<policy_evaluated>", b"<policy_evaluated><reason><type></type>"
                  b"</reason>"),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LAYOUTS), min_size=1, max_size=12), st.data())
def test_the_fast_path_equals_the_plain_one_on_odd_records(
        records: list[bytes], data: st.DataObject) -> None:
    xml = bytearray(report(*records))
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(xml) - 1))
        xml[at:at + data.draw(st.integers(0, 3))] = data.draw(st.sampled_from(
            [b"", b"<", b"&", b"</record>", b"<record>", b"<!--", b"-->", b"\xff", b" "]))
    body = bytes(xml)
    fast, plain = _both(body)
    assert fast == plain
    fast, plain = _both(gzip.compress(body))
    assert fast == plain


@settings(max_examples=40, deadline=None)
@given(generated_reports())
def test_the_fast_path_equals_the_plain_one_on_generated_reports(
        built: AggregateReport) -> None:
    fast, plain = _both(built.to_xml())
    assert fast == plain == built


def test_the_fast_path_reads_plain_records_itself() -> None:
    from mailauth.reports._aggregate import _Reader
    from mailauth.reports._containers import open_document
    from mailauth.reports._scan import _record, scan

    reader = _Reader(Limits(), {})
    assert isinstance(_record(rec()[8:-9], reader), ReportRecord)
    assert not isinstance(_record(LAYOUTS[1][8:-9], reader), ReportRecord)  # plain reads it
    data = shared_vector("parsedmarc-samples", "aggregate",
                         "!large-example.com!1711897200!1711983600.xml").read_bytes()
    rest = scan(open_document(data, Limits(), {}), reader)
    assert len(reader.records) == 2286 and b"<record>" not in rest


def test_the_garbage_collector_is_left_as_it_was() -> None:
    import gc

    assert gc.isenabled()
    parse_aggregate(report(rec()))
    assert gc.isenabled()
    with pytest.raises(ParseError):
        parse_aggregate(b"<feedback/>")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_aggregate(report(rec()))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_threads_parsing_at_once_never_leave_the_collector_off() -> None:
    """The pause is counted (reports/_gcpause.py): overlapping pauses in threads end
    with the collector on, as before the first one."""
    import gc
    import threading

    from mailauth.reports._gcpause import collector_paused

    inside = threading.Barrier(2)
    first_out = threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            inside.wait()
        first_out.set()

    def second() -> None:
        with collector_paused():
            inside.wait()
            first_out.wait(5)
            seen.append(gc.isenabled())   # the first thread's end must not turn it on
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False] and gc.isenabled()
    data = report(rec())
    workers = [threading.Thread(target=lambda: [parse_aggregate(data) for _ in range(50)])
               for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    assert gc.isenabled()


def test_reports_pickle_to_equal_reports() -> None:
    import pickle

    r = parse_aggregate(report(rec(), rec(b"2001:db8::2")).replace(
        b"</policy_evaluated>", b"<reason><type>other</type></reason></policy_evaluated>"))
    again = pickle.loads(pickle.dumps(r))
    assert again == r and type(again.records[0].source_ip) is type(r.records[0].source_ip)
    assert again.records[0].reasons == r.records[0].reasons != ()
