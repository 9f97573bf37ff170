"""``mailauth dkim keygen`` keeps private keys safe: no overwriting, no absurd sizes,
no private key on a terminal unless asked, key files readable by the owner only."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import mailauth.dkim
from mailauth.cli import main

REPO = Path(__file__).resolve().parent.parent
KEYGEN = ["dkim", "keygen", "--type", "ed25519", "--selector", "s1", "--domain",
          "example.org"]


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a key is generated."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a key was generated")

    monkeypatch.setattr(mailauth.dkim, "generate_key", refuse)


def test_key_file_is_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s1.pem"
    old_umask = os.umask(0o022)
    try:
        assert main([*KEYGEN, "--out", str(out)]) == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    printed = capsys.readouterr().out
    assert "PRIVATE KEY" not in printed and "s1._domainkey.example.org. 3600 IN TXT" in printed


def test_existing_key_is_not_overwritten(tmp_path: Path, no_keys: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s1.pem"
    out.write_bytes(b"the key in use\n")
    assert main([*KEYGEN, "--out", str(out)]) == 73
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"--out {out} exists; not replacing a key without --force" in captured.err
    assert out.read_bytes() == b"the key in use\n"
    assert main([*KEYGEN, "--out", str(out), "--json"]) == 73
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["kind"] == "cant_create" and error["file"] == str(out)


def test_force_replaces_with_a_private_file(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s1.pem"
    out.write_bytes(b"the old key\n")
    out.chmod(0o644)
    assert main([*KEYGEN, "--out", str(out), "--force"]) == 0
    assert out.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["s1.pem"]  # no temporary file left


def test_missing_directory_cannot_be_created(tmp_path: Path, no_keys: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nodir" / "s1.pem"
    assert main([*KEYGEN, "--out", str(out)]) == 73
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("bits", ["100000", "512", "8193", "1023"])
def test_absurd_rsa_sizes_are_refused_at_once(bits: str, no_keys: None,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dkim", "keygen", "--bits", bits]) == 64
    err = capsys.readouterr().err
    assert f"argument --bits: {bits} is out of range" in err and "1024 to 8192" in err


def test_bits_with_ed25519_is_refused(no_keys: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*KEYGEN, "--bits", "2048"]) == 64
    assert "Ed25519 keys have a fixed size" in capsys.readouterr().err


def test_rsa_sizes_in_range_are_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rsa.pem"
    assert main(["dkim", "keygen", "--bits", "1024", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bits"] == 1024 and data["private_key_file"] == str(out)
    assert data["private_key_pem"] is None


def run_on_a_terminal(*args: str) -> tuple[int, bytes, bytes]:
    """Run the command with stdout on a pseudo-terminal; (status, terminal, stderr)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "mailauth", *args], stdout=follower,
                                stderr=subprocess.PIPE, cwd=REPO)
        os.close(follower)
        _, err = proc.communicate(timeout=60)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    return proc.returncode, shown, err


def test_private_key_is_not_printed_to_a_terminal() -> None:
    status, shown, err = run_on_a_terminal(*KEYGEN)
    assert status == 64, err
    assert b"PRIVATE KEY" not in shown
    assert b"not printing a private key to the terminal" in err
    assert b"--out FILE" in err and b"--print-private-key" in err
    status, shown, err = run_on_a_terminal(*KEYGEN, "--json")
    assert status == 64 and b"PRIVATE KEY" not in shown
    assert json.loads(err)["error"]["argument"] == "--out"


def test_private_key_is_printed_to_a_terminal_when_asked() -> None:
    status, shown, err = run_on_a_terminal(*KEYGEN, "--print-private-key")
    assert status == 0, err
    assert b"-----BEGIN PRIVATE KEY-----" in shown


def test_private_key_goes_to_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    # Not a terminal (a pipe, a file): `mailauth dkim keygen > key.pem` works.
    assert main(KEYGEN) == 0
    out = capsys.readouterr().out
    assert out.startswith("-----BEGIN PRIVATE KEY-----")
    assert "s1._domainkey.example.org. 3600 IN TXT" in out


def test_keygen_output_survives_an_ascii_terminal(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mailauth", *KEYGEN, "--out",
                          str(tmp_path / "k.pem"), "--domain", "b\u00fccher.example"],
                         capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"},
                         cwd=REPO, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert b"s1._domainkey.b\\xfccher.example. 3600 IN TXT" in out.stdout
