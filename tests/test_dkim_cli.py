"""``mailauth dkim keygen | sign | verify`` end to end, offline with --zone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailauth.cli import main

MSG = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_keygen_sign_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            kind: str) -> None:
    pem = tmp_path / "key.pem"
    assert main(["dkim", "keygen", "--type", kind, "--bits", "1024", "--selector", "s1",
                 "--domain", "example.org", "--out", str(pem)]) == 0
    out = capsys.readouterr().out
    zone_line = next(line for line in out.splitlines() if "IN TXT" in line)
    assert all(len(s) <= 255 for s in zone_line.split('"')[1::2])
    zone = tmp_path / "example.org.zone"
    zone.write_text(zone_line + "\n")
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s1",
                 "--key", str(pem), "--message"]) == 0
    signed = capsys.readouterr().out
    assert signed.startswith("DKIM-Signature: ")
    message.write_bytes(signed.encode())
    assert main(["dkim", "verify", str(message), "--zone", str(zone)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("dkim=pass") and "body hash computed" in text
    assert main(["dkim", "verify", str(message), "--zone", str(zone), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "pass" and data["signatures"][0]["domain"] == "example.org"
    message.write_bytes(signed.encode().replace(b"Hello.", b"Howdy."))
    assert main(["dkim", "verify", str(message), "--zone", str(zone)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_sign_reports_caller_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s",
                 "--key", str(bad)]) == 2
    assert "private key" in capsys.readouterr().err
