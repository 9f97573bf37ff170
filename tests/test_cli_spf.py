"""``mailauth spf``: required identities, exit statuses, JSON, an ASCII terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailauth.cli import main

REPO = Path(__file__).resolve().parent.parent
ZONE = str(REPO / "examples" / "example.zone")
EXAMPLE = ["spf", "--ip", "198.51.100.7", "--mail-from", "alice@example.org",
           "--helo", "out.example.org", "--zone", ZONE]

VERDICTS = """\
$ORIGIN example.net.
perm     IN TXT "v=spf1 bogus:x -all"
soft     IN TXT "v=spf1 ~all"
neu      IN TXT "v=spf1 ?all"
hard     IN TXT "v=spf1 -all"
ok       IN TXT "v=spf1 ip4:192.0.2.1 -all"
bounce   IN TXT "v=spf1 a -all"
bounce   IN A   192.0.2.1
"""


@pytest.fixture
def zone(tmp_path: Path) -> str:
    path = tmp_path / "verdicts.zone"
    path.write_text(VERDICTS, encoding="utf-8")
    return str(path)


def spf(zone: str, domain: str, *more: str) -> list[str]:
    return ["spf", "--ip", "192.0.2.1", "--mail-from", f"user@{domain}.example.net",
            "--helo", f"{domain}.example.net", "--zone", zone, *more]


def test_readme_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(EXAMPLE) == 0
    out = capsys.readouterr().out
    assert "spf (mailfrom alice@example.org): pass - example.org designates" in out
    assert "spf (helo out.example.org): pass" in out
    assert "Received-SPF: pass" in out
    assert "Authentication-Results fragment: spf=pass smtp.mailfrom=alice@example.org" in out


@pytest.mark.parametrize("missing", ["--mail-from", "--helo"])
def test_mail_from_and_helo_are_required(missing: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = list(EXAMPLE)
    i = argv.index(missing)
    del argv[i:i + 2]
    assert main(argv) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"mailauth spf: error: the following arguments are required: {missing}" in \
        captured.err


@pytest.mark.parametrize("null", ["", "<>"])
def test_null_reverse_path_is_postmaster_at_helo(null: str, zone: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    argv = spf(zone, "bounce")
    argv[argv.index("--mail-from") + 1] = null
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sender"] == "postmaster@bounce.example.net"
    assert data["status"] == "pass"


def test_empty_helo_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = list(EXAMPLE)
    argv[argv.index("--helo") + 1] = " "
    assert main(argv) == 64
    assert "mailauth spf: error: argument --helo: give the HELO/EHLO name" in \
        capsys.readouterr().err


def test_skip_helo(zone: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*spf(zone, "ok", "--skip-helo"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["helo"] is None and data["helo_domain"] == "ok.example.net"


def test_bad_ip_is_a_usage_error_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    argv = list(EXAMPLE)
    argv[argv.index("--ip") + 1] = "198.51.100.300"
    assert main(argv) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "argument --ip: '198.51.100.300' is not an IPv4 or IPv6 address" in captured.err


@pytest.mark.parametrize(("domain", "status", "code"), [
    ("ok", "pass", 0),
    ("hard", "fail", 1),
    ("soft", "softfail", 1),
    ("neu", "neutral", 1),
    ("nothing", "none", 1),
    ("perm", "permerror", 1),
])
def test_exit_status_follows_the_verdict(zone: str, domain: str, status: str, code: int,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(spf(zone, domain)) == code
    assert f"spf (mailfrom user@{domain}.example.net): {status} - " in capsys.readouterr().out
    assert main([*spf(zone, domain), "--json"]) == code
    assert json.loads(capsys.readouterr().out)["status"] == status


def test_temperror_is_undecided(capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing answers on the loopback discard port: every lookup times out.
    assert main(["spf", "--ip", "192.0.2.1", "--mail-from", "a@example.org", "--helo",
                 "example.org", "--nameserver", "127.0.0.1:9", "--timeout", "0.5"]) == 2
    assert "temperror" in capsys.readouterr().out


def test_json_trace_steps_have_field_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EXAMPLE, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["trace"][0]
    assert isinstance(first, dict)
    assert first["term"] == "record" and first["domain"] == "example.org"
    assert set(first) == {"depth", "domain", "term", "outcome", "target", "answers",
                          "lookups", "void_lookups"}
    assert first["answers"][0]["query"] == {"name": "example.org", "rdtype": "TXT"}
    assert all(isinstance(step, dict) for step in data["helo"]["trace"])


def test_json_carries_received_spf_and_authres(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(EXAMPLE) == 0
    text = capsys.readouterr().out
    assert main([*EXAMPLE, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["received_spf"].startswith("Received-SPF: pass (domain of alice@example.org")
    assert data["received_spf"].replace("\r\n", "\n") in text  # the same field, folded
    assert data["authres"] == "spf=pass smtp.mailfrom=alice@example.org"
    assert f"Authentication-Results fragment: {data['authres']}" in text
    assert data["helo"]["authres"] == "spf=pass smtp.helo=out.example.org"
    assert data["helo"]["received_spf"].startswith("Received-SPF: pass")


def utf8_sender(zone: str) -> list[str]:
    """A check of an SMTPUTF8 sender (RFC 6531): its local part is not ASCII."""
    argv = spf(zone, "ok")
    argv[argv.index("--mail-from") + 1] = "j\u00f6rg\u2014x@ok.example.net"
    return argv


def test_json_output_is_ascii_and_round_trips(zone: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*utf8_sender(zone), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.isascii()
    assert json.loads(out)["sender"] == "j\u00f6rg\u2014x@ok.example.net"


@pytest.mark.parametrize("as_json", [False, True])
def test_output_survives_an_ascii_terminal(zone: str, as_json: bool) -> None:
    # A permerror reason holds a section sign; the sender an umlaut and a dash.
    for argv, code in ((spf(zone, "perm"), 1), (utf8_sender(zone), 0)):
        argv = argv + (["--json"] if as_json else [])
        out = subprocess.run([sys.executable, "-m", "mailauth", *argv], capture_output=True,
                             env={**os.environ, "PYTHONIOENCODING": "ascii"}, cwd=REPO,
                             timeout=60, check=False)
        assert out.returncode == code, out.stderr
        assert out.stderr == b""
        if as_json:
            json.loads(out.stdout)
        elif code == 1:
            assert b"(RFC 7208 \\xa75)" in out.stdout
        else:
            assert b"spf (mailfrom j\\xf6rg\\u2014x@ok.example.net): pass - " in out.stdout
