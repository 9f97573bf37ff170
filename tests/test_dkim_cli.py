"""``mailauth dkim keygen | sign | verify`` end to end, offline with --zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailauth.cli import main

REPO = Path(__file__).resolve().parent.parent
MSG = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
UTF8_MSG = ("From: J\u00f6rg <a@example.org>\r\nTo: b@example.net\r\n"
            "Subject: Gr\u00fc\u00dfe \u2014 caf\u00e9\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Gr\u00fc\u00dfe.\r\n").encode()


def cli(*args: str, stdin: bytes | None = None,
        encoding: str = "ascii") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mailauth", *args], capture_output=True,
                          input=stdin, env={**os.environ, "PYTHONIOENCODING": encoding},
                          cwd=REPO, timeout=60, check=False)


@pytest.fixture
def signer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """An Ed25519 key (s1._domainkey.example.org) and a zone publishing it."""
    pem = tmp_path / "key.pem"
    assert main(["dkim", "keygen", "--type", "ed25519", "--selector", "s1",
                 "--domain", "example.org", "--out", str(pem)]) == 0
    zone_line = next(line for line in capsys.readouterr().out.splitlines() if "IN TXT" in line)
    zone = tmp_path / "example.org.zone"
    zone.write_text(zone_line + "\n", encoding="utf-8")
    return pem, zone


def sign(pem: Path, message: Path, capsys: pytest.CaptureFixture[str]) -> bytes:
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s1",
                 "--key", str(pem), "--message"]) == 0
    return capsys.readouterr().out.encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_keygen_sign_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            kind: str) -> None:
    pem = tmp_path / "key.pem"
    bits = ["--bits", "1024"] if kind == "rsa" else []
    assert main(["dkim", "keygen", "--type", kind, *bits, "--selector", "s1",
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


def test_readme_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dkim", "verify", str(REPO / "examples" / "message.eml"),
                 "--zone", str(REPO / "examples" / "example.zone")]) == 0
    assert "dkim=pass: 2 of 2 signature(s) verified" in capsys.readouterr().out


def test_verify_shows_the_authres_fragment(tmp_path: Path, signer: tuple[Path, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    pem, zone = signer
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    message.write_bytes(sign(pem, message, capsys))
    assert main(["dkim", "verify", str(message), "--zone", str(zone), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["authres"].startswith("dkim=pass header.d=example.org")
    assert "header.s=s1" in data["authres"] and "header.a=ed25519-sha256" in data["authres"]
    assert main(["dkim", "verify", str(message), "--zone", str(zone)]) == 0
    assert f"Authentication-Results fragment: {data['authres']}" in capsys.readouterr().out


@pytest.mark.parametrize(("body", "code", "status"), [
    (b"Hello.\r\n", 0, "pass"),
    (b"Changed.\r\n", 1, "fail"),
])
def test_verify_exit_status(tmp_path: Path, signer: tuple[Path, Path], body: bytes, code: int,
                            status: str, capsys: pytest.CaptureFixture[str]) -> None:
    pem, zone = signer
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    message.write_bytes(sign(pem, message, capsys).replace(b"Hello.\r\n", body))
    assert main(["dkim", "verify", str(message), "--zone", str(zone), "--json"]) == code
    assert json.loads(capsys.readouterr().out)["status"] == status


def test_unsigned_message_is_not_a_pass(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    assert main(["dkim", "verify", str(message), "--zone",
                 str(REPO / "examples" / "example.zone"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "none" and data["authres"] == "dkim=none"


def test_verify_temperror_is_undecided(capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing answers on the loopback discard port: the key lookups time out.
    assert main(["dkim", "verify", str(REPO / "examples" / "message.eml"),
                 "--nameserver", "127.0.0.1:9", "--timeout", "0.5"]) == 2
    assert capsys.readouterr().out.startswith("dkim=temperror")


def test_verify_reads_stdin(signer: tuple[Path, Path], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    pem, zone = signer
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    out = cli("dkim", "verify", "-", "--zone", str(zone), stdin=sign(pem, message, capsys))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"dkim=pass")


def test_missing_message_is_no_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.eml"
    assert main(["dkim", "verify", str(missing), "--json"]) == 66
    captured = capsys.readouterr()
    assert captured.out == ""
    error = json.loads(captured.err)["error"]
    assert error["command"] == "dkim verify" and error["kind"] == "no_input"
    assert error["file"] == str(missing)
    assert error["message"] == f"{missing}: cannot read: No such file or directory"


def test_sign_reports_caller_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s",
                 "--key", str(bad)]) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"mailauth dkim sign: error: cannot sign with --key {bad}: ")
    assert "private key" in captured.err
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s",
                 "--key", str(tmp_path / "nokey.pem"), "--json"]) == 66
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["argument"] == "--key" and error["kind"] == "no_input"


def test_sign_json(tmp_path: Path, signer: tuple[Path, Path],
                   capsys: pytest.CaptureFixture[str]) -> None:
    pem, _ = signer
    message = tmp_path / "m.eml"
    message.write_bytes(MSG)
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s1",
                 "--key", str(pem), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dkim_signature"].startswith("DKIM-Signature: v=1; a=ed25519-sha256;")
    assert main(["dkim", "sign", str(message), "--domain", "example.org", "--selector", "s1",
                 "--key", str(pem), "--json", "--message"]) == 64
    assert "not allowed with argument" in capsys.readouterr().err


def test_utf8_message_on_an_ascii_terminal(tmp_path: Path, signer: tuple[Path, Path]) -> None:
    pem, zone = signer
    message = tmp_path / "m.eml"
    message.write_bytes(UTF8_MSG)
    out = cli("dkim", "sign", str(message), "--domain", "example.org", "--selector", "s1",
              "--key", str(pem), "--message")
    assert out.returncode == 0, out.stderr
    signed = out.stdout
    assert signed.endswith(UTF8_MSG)  # the message itself goes out byte for byte
    # A second signature that does not parse, with UTF-8 in it: shown as its field.
    broken = "DKIM-Signature: v=1; d=caf\u00e9.example; \u2014\r\n".encode()
    message.write_bytes(broken + signed)
    out = cli("dkim", "verify", str(message), "--zone", str(zone))
    assert out.returncode == 0, out.stderr
    assert out.stderr == b""
    assert b"dkim=pass" in out.stdout
    assert b"caf\\xe9.example" in out.stdout
    out = cli("dkim", "verify", str(message), "--zone", str(zone), "--json")
    assert out.returncode == 0, out.stderr
    assert out.stdout.isascii()
    assert "caf\u00e9.example" in json.loads(out.stdout)["signatures"][0]["header_field"]
