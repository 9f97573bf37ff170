"""The command line's shared parts and the `dns` command, offline on the example zone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailauth.cli import main

ZONE = str(Path(__file__).resolve().parent.parent / "examples" / "example.zone")


def test_dns_lookup_prints_joined_txt(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "_spf.example.org", "TXT", "--zone", ZONE]) == 0
    out = capsys.readouterr().out
    assert "_spf.example.org TXT: ok" in out
    assert "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:1::/48 ~all" in out


def test_dns_json_and_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "nope.example.org", "--zone", ZONE, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "nxdomain"
    assert data["query"] == {"name": "nope.example.org", "rdtype": "TXT"}
    assert main(["dns", "example.org", "MX", "--zone", ZONE, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["records"] == [{"preference": 10, "exchange": "mx1.example.org"}]


def test_help_without_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: mailauth" in capsys.readouterr().out


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "mailauth", "dns", "mx1.example.org", "AAAA",
                          "--zone", ZONE], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "2001:db8::25" in out.stdout


def test_unreadable_inputs_are_one_line_errors(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad_zone = tmp_path / "bad.zone"
    bad_zone.write_text("this is not\n a zone (\n", encoding="utf-8")
    assert main(["dns", "example.org", "--zone", str(bad_zone)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mailauth dns: zone text does not parse") and "Traceback" not in err
    assert main(["dns", "example.org", "--zone", str(tmp_path / "missing.zone")]) == 2
    assert "No such file" in capsys.readouterr().err
