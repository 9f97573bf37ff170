"""``mailauth reports``: summarize many DMARC reports, parse one."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailauth.cli import main
from mailauth.reports import build_failure_report
from test_reports_failure import MESSAGE, WHEN, results

DAY = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


def xml_report(org: str, day: int, rows: list[tuple[str, int, str, str, str, str]],
               report_id: str = "1") -> bytes:
    """RFC 7489 XML; rows are (ip, count, policy dkim, policy spf, dkim d=, its result)."""
    records = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{n}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{dk}</dkim><spf>{sp}</spf>"
        f"</policy_evaluated></row><identifiers><header_from>example.org</header_from>"
        f"</identifiers><auth_results><dkim><domain>{dd}</domain><result>{dr}</result>"
        f"</dkim><spf><domain>example.org</domain><result>{sp}</result></spf>"
        f"</auth_results></record>" for ip, n, dk, sp, dd, dr in rows)
    return (f'<?xml version="1.0"?><feedback><report_metadata><org_name>{org}</org_name>'
            f"<email>dmarc@{org}</email><report_id>{report_id}</report_id><date_range>"
            f"<begin>{day}</begin><end>{day + 86399}</end></date_range></report_metadata>"
            "<policy_published><domain>example.org</domain><adkim>r</adkim><aspf>r</aspf>"
            f"<p>reject</p><sp>reject</sp><pct>100</pct></policy_published>{records}"
            "</feedback>").encode()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    (root / "sub").mkdir(parents=True)
    (root / "google.xml").write_bytes(xml_report("google.com", DAY, [
        ("192.0.2.1", 90, "pass", "pass", "example.org", "pass"),
        ("203.0.113.5", 10, "fail", "fail", "esp.example", "pass")]))
    (root / "sub" / "yahoo.xml.gz").write_bytes(gzip.compress(xml_report(
        "yahoo.com", DAY + 86400, [("192.0.2.1", 40, "pass", "pass", "example.org", "pass"),
                                   ("203.0.113.66", 6, "fail", "fail", "spoof.example",
                                    "fail")], "2")))
    (root / "failure.eml").write_bytes(build_failure_report(
        MESSAGE, results(), reporter="dmarc@receiver.example", to="ruf@example.org",
        arrival_date=WHEN, date=WHEN))
    (root / "notes.txt").write_text("not a report\n")
    (root / ".hidden").write_text("skipped\n")
    return root


def test_summarize_a_folder(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "summarize", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 aggregate report(s) and 1 failure report(s) read from 4 "
                          "file(s); 1 could not be read")
    assert "example.org: 146 messages, 2026-03-01 to 2026-03-02; DMARC pass 89.0%" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.strip() and not line.startswith(" ")}
    assert rows["google.com"][1:3] == ["100", "90.0%"]
    assert rows["yahoo.com"][1:3] == ["46", "87.0%"]
    assert rows["192.0.2.1"][1:3] == ["130", "100.0%"] and rows["192.0.2.1"][-1] == "ok"
    assert rows["203.0.113.5"][-1] == "third_party"
    assert rows["203.0.113.66"][-1] == "spoofer"
    assert "203.0.113.5 for example.org: 10 message(s), 10 failing DMARC; third_party" in out
    assert "by source IP: 192.0.2.9 (1)" in out
    assert f"{folder / 'notes.txt'}: " in out and ".hidden" not in out


def test_summarize_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "summarize", "--json", str(folder)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["files"] == 4 and data["aggregate_reports"] == 2
    s = data["summary"]
    assert s["totals"]["messages"] == 146 and s["totals"]["dmarc_pass"] == 130
    assert [d["key"] for d in s["by_day"]] == ["2026-03-01", "2026-03-02"]
    assert {t["key"]: t["messages"] for t in s["by_source"]} == {
        "192.0.2.1": 130, "203.0.113.5": 10, "203.0.113.66": 6}
    assert [f["cause"] for f in s["findings"]] == ["third_party", "spoofer"]
    assert data["failure_reports"]["reports"] == 1
    assert data["failure_reports"]["reported_domains"] == {"example.org": 1}
    assert [p["file"] for p in data["problems"]] == [str(folder / "notes.txt")]


def test_summarize_jobs_give_the_same_summary(folder: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "summarize", "--json", str(folder)]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["reports", "summarize", "--json", "--jobs", "2", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out) == one


def test_summarize_html(folder: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "page.html"
    assert main(["reports", "summarize", "--html", str(out), str(folder)]) == 0
    assert f"HTML page written to {out}" in capsys.readouterr().out
    page = out.read_text()
    assert 'data-chart="volume-day" data-total="146"' in page
    assert main(["reports", "summarize", "--html", str(out), str(folder)]) == 73
    assert "exists; not replacing it without --force" in capsys.readouterr().err
    out.write_text("old")
    assert main(["reports", "summarize", "--force", "--html", str(out), str(folder)]) == 0
    assert out.read_text() == page
    missing = tmp_path / "nowhere" / "page.html"
    assert main(["reports", "summarize", "--json", "--html", str(missing),
                 str(folder)]) == 73
    err = json.loads(capsys.readouterr().err)["error"]
    assert err["kind"] == "cant_create" and err["argument"] == "--html"


def test_summarize_resolve_names_from_a_zone(folder: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    zone = tmp_path / "ptr.zone"
    zone.write_text("$ORIGIN 2.0.192.in-addr.arpa.\n1 300 IN PTR mail.example.org.\n")
    assert main(["reports", "summarize", "--resolve", "--zone", str(zone), str(folder)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("source IP"))
    assert header.endswith("reverse name")
    row = next(line for line in out.splitlines() if line.startswith("192.0.2.1 "))
    assert row.endswith("ok  mail.example.org")
    spoof = next(line for line in out.splitlines() if line.startswith("203.0.113.66 "))
    assert spoof.endswith("spoofer  -")


def test_summarize_nothing_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    assert main(["reports", "summarize", str(junk), str(tmp_path / "missing.xml")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("0 aggregate report(s) and 0 failure report(s) read from 2 "
                          "file(s); 2 could not be read")
    assert "missing.xml: cannot read" in out


def test_progress_on_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(60):
        (tmp_path / f"r{n:02}.xml").write_bytes(xml_report(
            "google.com", DAY, [("192.0.2.1", 1, "pass", "pass", "example.org", "pass")],
            str(n)))
    assert main(["reports", "summarize", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no progress
    monkeypatch.setattr(os, "isatty", lambda fd: fd == 2)
    assert main(["reports", "summarize", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "60 aggregate report(s)" in captured.out
    assert "\r25/60 files read" in captured.err and captured.err.endswith("60/60 files read\n")


def test_parse_aggregate(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "parse", str(folder / "sub" / "yahoo.xml.gz")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("aggregate report from yahoo.com <dmarc@yahoo.com> (report-id 2")
    assert "46 messages in 2 record(s), 40 passed DMARC" in out
    assert main(["reports", "parse", "--json", str(folder / "google.xml")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "aggregate" and len(data["report"]["records"]) == 2
    assert data["report"]["records"][1]["source_ip"] == "203.0.113.5"


def test_parse_failure(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "parse", str(folder / "failure.eml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("auth-failure report (dmarc) for example.org from 192.0.2.9")
    assert "  identity alignment: dkim, spf" in out
    assert "  original subject: Quarterly numbers" in out
    assert main(["reports", "parse", "--json", str(folder / "failure.eml")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "failure"
    assert data["report"]["source_ip"] == "192.0.2.9"
    assert data["report"]["original"].startswith("Received: from mx.sender.example")


def test_parse_refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "parse", str(folder / "notes.txt")]) == 1
    err = capsys.readouterr().err
    assert "mailauth reports parse: error:" in err and "not a DMARC report" in err
    assert main(["reports", "parse", "--json", str(folder / "notes.txt")]) == 1
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["kind"] == "not_pass" and error["file"] == str(folder / "notes.txt")
    assert main(["reports", "parse", str(folder / "absent.xml")]) == 66


def test_bad_arguments(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "summarize", "--jobs", "-1", str(folder)]) == 64
    assert main(["reports", "summarize", "--top", "x", str(folder)]) == 64
    assert main(["reports"]) == 64
    capsys.readouterr()


def test_shared_corpus_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import shared_vector

    folders = [str(shared_vector("parsedmarc-samples", "failure")),
               str(shared_vector("stalwart-mail-auth", "resources", "arf"))]
    assert main(["reports", "summarize", "--json", *folders]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failure_reports"]["reports"] == 10  # every failure sample is read
    assert data["aggregate_reports"] == 0
