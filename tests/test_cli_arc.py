"""``mailauth arc verify | seal`` end to end, offline with --zone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailauth.cli import main

MSG = (b"From: Alice <alice@example.org>\r\nTo: list@lists.example.net\r\n"
       b"Subject: hello\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
       b"Message-ID: <1@example.org>\r\n\r\nHello.\r\n")
NOW = "1700000000"


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    """An Ed25519 key for relay.example.com, an RSA key for lists.example.net, and a
    zone publishing both."""
    lines = []
    pems = []
    for kind, domain, bits in (("ed25519", "relay.example.com", []),
                               ("rsa", "lists.example.net", ["--bits", "1024"])):
        pem = tmp_path / f"{domain}.pem"
        assert main(["dkim", "keygen", "--type", kind, *bits, "--selector", "arc",
                     "--domain", domain, "--out", str(pem)]) == 0
        out = capsys.readouterr().out
        lines.append(next(line for line in out.splitlines() if "IN TXT" in line))
        pems.append(pem)
    zone = tmp_path / "keys.zone"
    zone.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pems[0], pems[1], zone


def _seal(message: Path, pem: Path, zone: Path, domain: str,
          capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    status = main(["arc", "seal", str(message), "--domain", domain, "--selector", "arc",
                   "--key", str(pem), "--authserv-id", f"mx.{domain}", "--zone", str(zone),
                   "--now", NOW, *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_seal_twice_then_verify(tmp_path: Path, keys: tuple[Path, Path, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    relay_pem, list_pem, zone = keys
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    status, fields, _ = _seal(message, relay_pem, zone, "relay.example.com", capsys,
                           "--results", "spf=pass smtp.mailfrom=alice@example.org")
    assert status == 0
    assert [line.split(":")[0] for line in fields.splitlines() if not line.startswith(" ")] \
        == ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"]
    assert "cv=none" in fields
    once = tmp_path / "once.eml"
    once.write_bytes(fields.encode("ascii") + MSG)

    # Second hop: its results come from authenticate() with the envelope given.
    status, sealed, _ = _seal(once, list_pem, zone, "lists.example.net", capsys,
                           "--ip", "192.0.2.1", "--helo", "relay.example.com",
                           "--mail-from", "alice@example.org", "--message")
    assert status == 0
    assert "cv=pass" in sealed and "i=2;" in sealed
    twice = tmp_path / "twice.eml"
    twice.write_bytes(sealed.encode("ascii"))

    assert main(["arc", "verify", str(twice), "--zone", str(zone), "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert out.startswith("arc=pass")
    assert "sealed by: relay.example.com > lists.example.net" in out
    assert "[i=1] seal pass, AMS pass" in out and "[i=2] seal pass, AMS pass" in out
    assert "recorded by mx.relay.example.com:" in out
    assert "spf=pass smtp.mailfrom=alice@example.org" in out
    assert "arc=pass" in out.split("recorded by mx.lists.example.net:")[1]

    assert main(["arc", "verify", str(twice), "--zone", str(zone), "--now", NOW,
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "pass" and data["oldest_pass"] == 0
    assert data["chain"] == ["relay.example.com", "lists.example.net"]
    assert [s["instance"] for s in data["sets"]] == [1, 2]
    assert data["sets"][0]["recorded"] == ["spf=pass smtp.mailfrom=alice@example.org",
                                           "arc=none"]
    assert data["authres"].endswith(" header.oldest-pass=0")


def test_verify_no_chain_and_broken(tmp_path: Path, keys: tuple[Path, Path, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    relay_pem, _, zone = keys
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    assert main(["arc", "verify", str(message), "--zone", str(zone)]) == 1
    assert capsys.readouterr().out.startswith("arc=none")
    status, fields, _ = _seal(message, relay_pem, zone, "relay.example.com", capsys,
                           "--results", "spf=pass")
    assert status == 0
    broken = tmp_path / "broken.eml"
    broken.write_bytes(fields.encode("ascii") + MSG.replace(b"Hello.", b"Hello!"))
    assert main(["arc", "verify", str(broken), "--zone", str(zone), "--now", NOW]) == 1
    out = capsys.readouterr().out
    assert out.startswith("arc=fail") and "body hash" in out


def test_seal_refuses_a_chain_sealed_as_failed(tmp_path: Path, keys: tuple[Path, Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    relay_pem, _, zone = keys
    failed = (b"ARC-Seal: i=1; a=rsa-sha256; cv=fail; d=example.org; s=x; b=AAAA\r\n"
              b"ARC-Message-Signature: i=1; a=rsa-sha256; d=example.org; s=x; h=from; "
              b"bh=AAAA; b=AAAA\r\n"
              b"ARC-Authentication-Results: i=1; mx.example.org; spf=pass\r\n") + MSG
    message = tmp_path / "failed.eml"
    message.write_bytes(failed)
    status, out, err = _seal(message, relay_pem, zone, "relay.example.com", capsys,
                             "--results", "spf=pass", "--json")
    assert status == 64
    assert out == ""
    error = json.loads(err)["error"]
    assert error["kind"] == "usage" and "cv=fail" in error["message"]


def test_seal_json(tmp_path: Path, keys: tuple[Path, Path, Path],
                   capsys: pytest.CaptureFixture[str]) -> None:
    relay_pem, _, zone = keys
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    status, out, _ = _seal(message, relay_pem, zone, "relay.example.com", capsys,
                           "--results", "spf=pass; dkim=none", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["cv"] == "none" and data["chain"] == "none"
    assert data["results"] == ["spf=pass", "dkim=none", "arc=none"]
    assert data["fields"].startswith("ARC-Seal: a=ed25519-sha256;")


def test_help_lists_arc(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["arc", "--help"]) == 0
    out = capsys.readouterr().out
    assert "verify" in out and "seal" in out
