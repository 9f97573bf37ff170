"""``mailauth check``: the verdict table, the header, JSON, colour, stdin, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailauth.cli import main

REPO = Path(__file__).resolve().parent.parent
ZONE = str(REPO / "examples" / "example.zone")
MESSAGE = str(REPO / "examples" / "message.eml")
ENVELOPE = ["--ip", "198.51.100.7", "--helo", "out.example.org", "--mail-from",
            "alice@example.org"]


def check(*more: str) -> list[str]:
    return ["check", MESSAGE, "--zone", ZONE, "--authserv-id", "mx.example.net", *more]


def test_the_table_then_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(*ENVELOPE, "--color", "never")) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("dmarc=pass: aligned pass: SPF example.org")
    methods = [line.split()[0] for line in lines[2:8]]
    assert methods == ["SPF", "SPF", "DKIM", "DKIM", "DMARC", "iprev"]
    assert "DNS lookups 2/10" in lines[2]
    assert "p=reject (record at _dmarc.example.org), disposition none" in out
    assert "[aligned pass] DKIM d=example.org s=rsa2026 passed" in out
    assert "_dmarc.example.org: v=DMARC1; p=reject" in out
    field = out[out.index("Authentication-Results:"):].rstrip("\n").split("\n")
    assert field[0].startswith("Authentication-Results: mx.example.net; spf=pass")
    assert all(len(line) <= 78 for line in field)
    assert "\x1b[" not in out


def test_colour_only_when_asked_or_on_a_terminal(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(check(*ENVELOPE, "--color", "always")) == 0
    assert "\x1b[32mpass\x1b[0m" in capsys.readouterr().out
    assert main(check(*ENVELOPE)) == 0           # auto: captured output is no terminal
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(check(*ENVELOPE)) == 0
    assert "\x1b[" not in capsys.readouterr().out


def test_a_saved_message_without_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check("--color", "never")) == 0
    out = capsys.readouterr().out
    assert "SPF       none      no SMTP envelope" in out
    assert "iprev" not in out.split("Authentication-Results")[0]


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(*ENVELOPE, "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "pass"
    assert data["dmarc"]["policy"] == "reject"
    assert [a["aligned"] for a in data["dmarc"]["alignment"]] == [True, True, True]
    assert data["dmarc"]["lookups"][0]["outcome"] == "record"
    assert data["iprev"]["status"] == "pass"
    assert data["authentication_results"].startswith(
        "Authentication-Results: mx.example.net; spf=pass")


def test_a_failing_message_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spoofed = tmp_path / "spoofed.eml"
    spoofed.write_bytes(Path(MESSAGE).read_bytes().replace(b"Subject:", b"Subject: x", 1))
    args = ["check", str(spoofed), "--zone", ZONE, "--ip", "203.0.113.5", "--helo",
            "bad.example", "--mail-from", "x@bad.example", "--color", "never"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert out.startswith("dmarc=fail: no SPF or DKIM identifier passed; policy p=reject")
    assert "DMARC     fail" in out


def test_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "mailauth", "check", "-", "--zone", ZONE,
                           "--json"], input=Path(MESSAGE).read_bytes(), capture_output=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dkim"]["status"] == "pass"


@pytest.mark.parametrize("args, words", [
    (["--helo", "x.example"], "--helo and --mail-from need --ip"),
    (["--ip", "192.0.2.1"], "--ip needs --mail-from"),
    (["--psl", "x.dat"], "--psl is for --mode psl"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    assert main(check(*args)) == 64
    assert words in capsys.readouterr().err


def test_missing_message_is_exit_66(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/m.eml", "--zone", ZONE]) == 66


def test_psl_mode_and_a_list_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    psl = tmp_path / "list.dat"
    psl.write_text("org\n", encoding="utf-8")
    assert main(check(*ENVELOPE, "--mode", "psl", "--psl", str(psl), "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dmarc"]["mode"] == "psl"
    assert main(check("--mode", "psl", "--psl", str(tmp_path / "none.dat"))) == 66


# --- ARC: the chain row, the override, --no-arc (messages from test_authenticate_arc) ------

def _arc_case(tmp_path: Path) -> tuple[str, str]:
    """A message through a mailing list that changed and sealed it, and its zone."""
    import test_authenticate_arc as arc

    k = arc.keys()
    zone = "\n".join([
        k["author"].zone_line("k1", arc.AUTHOR), k[arc.LIST].zone_line("arc", arc.LIST),
        f'_dmarc.{arc.AUTHOR}. 3600 IN TXT "v=DMARC1; p=reject"',
        f'{arc.LIST}. 3600 IN TXT "v=spf1 ip4:{arc.LIST_IP} -all"']) + "\n"
    (tmp_path / "arc.zone").write_text(zone, encoding="utf-8")
    (tmp_path / "list.eml").write_bytes(arc.through_list())
    return str(tmp_path / "list.eml"), str(tmp_path / "arc.zone")


def _arc_check(tmp_path: Path, *more: str) -> list[str]:
    import test_authenticate_arc as arc

    message, zone = _arc_case(tmp_path)
    return ["check", message, "--zone", zone, "--authserv-id", "mx.example.com", "--ip",
            arc.LIST_IP, "--helo", arc.LIST, "--mail-from", f"team-bounces@{arc.LIST}",
            "--now", str(arc.NOW), "--no-iprev", "--color", "never", *more]


def test_the_arc_row_shows_the_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert main(_arc_check(tmp_path)) == 1            # DMARC fails: the list broke DKIM
    out = capsys.readouterr().out
    assert "  ARC       pass      chain i=1 lists.example.net; oldest-pass 0" in out
    assert "override" not in out.split("Authentication-Results")[0]
    assert "arc=pass (arc.chain=lists.example.net)" in out.replace("\n", "")


def test_a_trusted_sealer_shows_the_override(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_arc_check(tmp_path, "--trusted-sealer", "lists.example.net")) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("  override"))
    assert row.split()[1] == "possible" and "trusted_forwarder: ARC sealer" in row
    assert "(not applied: --apply-override)" in row
    assert "disposition reject" in out
    assert main(_arc_check(tmp_path, "--trusted-sealer", "lists.example.net",
                           "--apply-override", "--json")) == 1   # still a DMARC fail
    data = json.loads(capsys.readouterr().out)
    assert data["arc"]["status"] == "pass" and data["arc"]["chain"] == ["lists.example.net"]
    assert data["arc"]["sets"][0]["seal_domain"] == "lists.example.net"
    override = data["dmarc"]["override"]
    assert (override["type"], override["applied"], override["instance"]) == (
        "trusted_forwarder", True, 1)
    assert data["dmarc"]["disposition"] == "none"
    assert "override=trusted_forwarder" in data["authentication_results"]


def test_no_arc_and_the_arc_usage_errors(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_arc_check(tmp_path, "--no-arc", "--json")) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["arc"] is None and " arc=" not in data["authentication_results"]
    assert main(_arc_check(tmp_path, "--apply-override")) == 64
    assert "--apply-override needs --trusted-sealer" in capsys.readouterr().err
    assert main(_arc_check(tmp_path, "--no-arc", "--trusted-sealer", "x.example")) == 64
    assert main(_arc_check(tmp_path, "--trusted-sealer", "a..b")) == 64


def test_a_message_without_arc_has_no_arc_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(*ENVELOPE, "--color", "never")) == 0
    out = capsys.readouterr().out
    assert "  ARC " not in out
    assert " arc=none;" in out.replace("\n", "")
