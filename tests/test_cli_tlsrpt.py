"""``mailauth tlsrpt``: the record, and summaries of received reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailauth.cli import main
from mailauth.tlsrpt import AppliedPolicy, ReportBuilder, ResultType

START = datetime(2026, 11, 30, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n"


def report(org: str, ok: int, expired: int, tmp_path: Path) -> Path:
    builder = ReportBuilder(policy_domain="example.com", organization_name=org,
                            contact_info=f"tls@{org.lower()}.example", start=START, end=END)
    sts = AppliedPolicy.sts("example.com", POLICY)
    builder.success(sts, count=ok)
    if expired:
        builder.failure(ResultType.CERTIFICATE_EXPIRED, sts,
                        receiving_mx_hostname="mx.example.com", count=expired)
    path = tmp_path / f"{org}.json.gz"
    path.write_bytes(builder.build().to_gzip())
    return path


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a report\n")
    return [str(report("Alpha", 90, 10, tmp_path)), str(report("Beta", 100, 0, tmp_path)),
            str(bad)]


def test_summarize_prints_a_table_per_domain(files: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tlsrpt", "summarize", *files]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 report(s) read from 3 file(s); 1 could not be read")
    assert "example.com: 2 report(s) from 2 organization(s), 2026-11-30 to 2026-12-01" in out
    assert "sessions: 190 successful, 10 failed (95.0% successful)" in out
    row = next(line for line in out.splitlines() if "certificate-expired" in line)
    assert row.split()[:2] == ["certificate-expired", "10"]
    assert "mx.example.com / Alpha" in row
    assert f"{files[2]}: neither JSON, gzip" in out


def test_summarize_json(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tlsrpt", "summarize", "--json", *files]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reports"] == 2
    domain = data["domains"]["example.com"]
    assert (domain["successful_sessions"], domain["failed_sessions"]) == (190, 10)
    assert domain["failures"]["certificate-expired"] == {
        "sessions": 10, "mx_hosts": ["mx.example.com"], "reporters": ["Alpha"]}
    assert [p["file"] for p in data["problems"]] == [files[2]]


def test_summarize_with_nothing_readable_exits_1(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tlsrpt", "summarize", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = tmp_path / "z.zone"
    zone.write_text('$ORIGIN example.com.\n_smtp._tls IN TXT '
                    '"v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/tls"\n')
    assert main(["tlsrpt", "record", "example.com", "--zone", str(zone)]) == 0
    out = capsys.readouterr().out
    assert "  rua: mailto:tls@example.com" in out and "  rua: https://r.example/tls" in out
    assert main(["tlsrpt", "record", "other.example", "--zone", str(zone), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "none"
