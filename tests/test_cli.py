"""The command line's shared parts, offline on the example zone: the `dns` command,
the exit-status scheme, errors (text and JSON), DNS options, help, output encoding."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailauth.cli import build_parser, main
from mailauth.cli._common import EXIT_STATUSES, STATUS_EXIT, ExitStatus, exit_for
from mailauth.status import Status

REPO = Path(__file__).resolve().parent.parent
ZONE = str(REPO / "examples" / "example.zone")


def run_cli(*args: str, env: dict[str, str] | None = None,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m mailauth ARGS`` in a fresh interpreter, output as bytes."""
    return subprocess.run([sys.executable, "-m", "mailauth", *args], capture_output=True,
                          env={**os.environ, **(env or {})}, input=stdin, cwd=REPO,
                          timeout=60, check=False)


def json_error(err: str) -> dict[str, object]:
    """The one JSON error line on stderr."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    data = json.loads(lines[0])
    assert set(data) == {"error"}
    error: dict[str, object] = data["error"]
    return error


# --- dns -------------------------------------------------------------------------------

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
    assert main(["dns", "example.org", "aaaa", "--zone", ZONE]) == 1  # nodata
    assert "example.org AAAA: nodata" in capsys.readouterr().out


def test_dns_tempfail_is_undecided(capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens on the discard port of the loopback address: the lookup times out.
    assert main(["dns", "example.org", "--nameserver", "127.0.0.1:9",
                 "--timeout", "0.5"]) == 2
    assert "tempfail" in capsys.readouterr().out


def test_dns_unknown_type_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "example.org", "SRV", "--zone", ZONE]) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "argument TYPE: invalid choice: 'SRV'" in captured.err


def test_python_dash_m_entry_point() -> None:
    out = run_cli("dns", "mx1.example.org", "AAAA", "--zone", ZONE)
    assert out.returncode == 0, out.stderr
    assert b"2001:db8::25" in out.stdout


# --- the exit-status scheme ------------------------------------------------------------

def test_every_status_word_has_an_exit_status() -> None:
    assert set(STATUS_EXIT) == set(Status)
    assert exit_for(Status.PASS) == 0
    assert {exit_for(s) for s in ("fail", "softfail", "neutral", "none", "policy",
                                  "permerror")} == {1}
    assert exit_for("temperror") == 2
    assert set(EXIT_STATUSES) == set(ExitStatus)


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every sub-command's parser, recursively."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


ALL_PARSERS = list(parsers(build_parser()))


def test_there_are_parsers_for_every_command() -> None:
    progs = {p.prog for p in ALL_PARSERS}
    assert {"mailauth", "mailauth spf", "mailauth dns", "mailauth dkim",
            "mailauth dkim verify", "mailauth dkim sign", "mailauth dkim keygen"} <= progs


@pytest.mark.parametrize("parser", ALL_PARSERS, ids=lambda p: p.prog)
def test_help_shows_the_exit_statuses(parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert "exit status:" in text
    for code in ExitStatus:
        first_words = " ".join(EXIT_STATUSES[code].split()[:3])
        assert re.search(rf"^  {int(code)} +{re.escape(first_words)}", text, re.M), code


@pytest.mark.parametrize("parser", ALL_PARSERS, ids=lambda p: p.prog)
def test_every_option_has_help(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        assert action.help and action.help != argparse.SUPPRESS, \
            f"{parser.prog}: {action.option_strings or action.dest} has no help"
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{parser.prog} {choice.dest} has no help"


def test_docs_list_the_same_exit_statuses() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) +\| `(\w+)` +\|", text, re.M))
    assert rows == {str(int(code)): code.name.lower() for code in ExitStatus}


def test_help_exits_0_and_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spf", "--help"]) == 0
    captured = capsys.readouterr()
    assert "usage: mailauth spf" in captured.out and "exit status:" in captured.out
    assert captured.err == ""


# --- errors ----------------------------------------------------------------------------

def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage: mailauth" in captured.err
    assert "mailauth: error: the following arguments are required: COMMAND" in captured.err
    assert main(["dkim"]) == 64
    assert "mailauth dkim: error: the following arguments are required: COMMAND" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--json", "spf", "--ip", "192.0.2.1"],
    ["spf", "--ip", "192.0.2.1", "--json"],
    ["spf", "--json", "--ip", "192.0.2.1"],
])
def test_argparse_errors_are_json_when_asked(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    error = json_error(captured.err)
    assert error == {"command": "spf", "kind": "usage", "exit_status": 64,
                     "message": "the following arguments are required: --mail-from, --helo",
                     "argument": None, "file": None}


def test_json_errors_name_the_command_and_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dkim", "verify", "m.eml", "--timeout", "soon", "--json"]) == 64
    error = json_error(capsys.readouterr().err)
    assert error["command"] == "dkim verify"
    assert error["argument"] == "--timeout"
    assert error["message"] == "argument --timeout: 'soon' is not a number"
    assert main(["--json", "nosuch"]) == 64
    error = json_error(capsys.readouterr().err)
    assert error["command"] is None and "invalid choice: 'nosuch'" in str(error["message"])


def test_unknown_option_is_not_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    # --zon must not silently mean --zone: a later option could make it ambiguous.
    assert main(["dns", "example.org", "--zon", ZONE]) == 64
    assert "unrecognized arguments: --zon" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "message"), [
    ("192.0.2.53:99999", "'99999' is not a port"),
    ("192.0.2.53:", "the port is missing"),
    ("192.0.2.53:dns", "'dns' is not a port"),
    ("192.0.2.300", "'192.0.2.300' is not an IP address"),
    ("ns1.example.net", "'ns1.example.net' is not an IP address"),
    ("[2001:db8::53]x", "write an IPv6 address with a port as [ADDR]:PORT"),
    ("[2001:db8::53]:0", "'0' is not a port"),
])
def test_bad_nameserver_is_a_usage_error_naming_it(value: str, message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "example.org", "--nameserver", value]) == 64
    err = capsys.readouterr().err
    assert "mailauth dns: error: argument --nameserver: " in err and message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(("value", "expected"), [
    ("192.0.2.53", ("192.0.2.53", 53)),
    ("192.0.2.53:5353", ("192.0.2.53", 5353)),
    ("2001:db8::53", ("2001:db8::53", 53)),
    ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
    ("[::1]", ("::1", 53)),
])
def test_good_nameservers_parse(value: str, expected: tuple[str, int]) -> None:
    args = build_parser().parse_args(["dns", "example.org", "--nameserver", value])
    assert args.nameserver == expected


def test_missing_zone_file_names_option_and_file(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.zone"
    assert main(["dns", "example.org", "--zone", str(missing)]) == 66
    err = capsys.readouterr().err
    assert err == (f"mailauth dns: error: --zone {missing}: cannot read: "
                   "No such file or directory\n")
    assert main(["dns", "example.org", "--zone", str(missing), "--json"]) == 66
    error = json_error(capsys.readouterr().err)
    assert error["kind"] == "no_input" and error["exit_status"] == 66
    assert error["argument"] == "--zone" and error["file"] == str(missing)


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("a.example. 300 IN A 192.0.2.1\n\nb.example. IN A\nc.example. IN A 192.0.2.3\n",
     3, "expecting an identifier"),
    ("a.example. IN A 192.0.2.1\nb.example. IN A 999.0.2.1\n", 2, "malformed"),
    ("a.example. IN A 192.0.2.1\n\nthis is not\n a zone (\n", 3, "unknown rdatatype 'is'"),
])
def test_zone_that_does_not_parse_names_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int,
        problem: str) -> None:
    bad = tmp_path / "bad.zone"
    bad.write_text(text, encoding="utf-8")
    # The first file is fine: the error must name the second and its own line.
    assert main(["dns", "example.org", "--zone", ZONE, "--zone", str(bad)]) == 64
    err = capsys.readouterr().err
    assert err.startswith(f"mailauth dns: error: --zone {bad}: line {line}: "), err
    assert problem in err and "Traceback" not in err


def test_zone_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.zone"
    bad.write_bytes(b'a.example. IN TXT "ok"\nb.example. IN TXT "caf\xe9"\n')
    assert main(["dns", "example.org", "--zone", str(bad)]) == 64
    assert f"--zone {bad}: line 2: not UTF-8 text" in capsys.readouterr().err


def test_zone_files_do_not_leak_origin_into_each_other(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "a.zone"
    first.write_text("$ORIGIN a.example.\nwww IN A 192.0.2.1\n", encoding="utf-8")
    second = tmp_path / "b.zone"
    second.write_text("www.b.example. IN A 192.0.2.2\n", encoding="utf-8")
    assert main(["dns", "www.b.example", "A", "--zone", str(first),
                 "--zone", str(second)]) == 0
    assert "192.0.2.2" in capsys.readouterr().out


def test_zone_and_nameserver_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "example.org", "--zone", ZONE, "--nameserver", "127.0.0.1"]) == 64
    assert "not allowed with argument --zone" in capsys.readouterr().err


def test_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("0", "-1", "nan", "soon"):
        assert main(["dns", "example.org", "--zone", ZONE, "--timeout", value]) == 64
        assert "argument --timeout: " in capsys.readouterr().err


def test_internal_error_is_70_with_traceback(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import mailauth.cli.dns as dns_cli

    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(dns_cli, "run", broken)
    assert main(["dns", "example.org", "--zone", ZONE]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "mailauth dns: internal error: RuntimeError: boom" in err
    assert main(["dns", "example.org", "--zone", ZONE, "--json"]) == 70
    error = json_error(capsys.readouterr().err)
    assert error["kind"] == "internal" and error["message"] == "RuntimeError: boom"
    assert "raise RuntimeError" in str(error["traceback"])


def test_broken_pipe_is_141_and_quiet() -> None:
    # The reader closes the pipe before the command writes: no traceback, no message.
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys, time; time.sleep(0.5); from mailauth.cli import main; "
                             "sys.exit(main(['dns', 'example.org', 'MX', '--zone', sys.argv[1]]))",
                             ZONE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""


def test_errors_survive_an_ascii_terminal(tmp_path: Path) -> None:
    bad = tmp_path / "zone-\u00e9t\u00e9.zone"  # a name the terminal cannot show
    out = run_cli("dns", "example.org", "--zone", str(bad), env={"PYTHONIOENCODING": "ascii"})
    assert out.returncode == 66, out.stderr
    assert b"zone-\\xe9t\\xe9.zone: cannot read" in out.stderr
    assert b"Traceback" not in out.stderr
    out = run_cli("dns", "example.org", "--zone", str(bad), "--json",
                  env={"PYTHONIOENCODING": "ascii"})
    assert json.loads(out.stderr)["error"]["file"] == str(bad)


def test_dns_output_survives_an_ascii_terminal(tmp_path: Path) -> None:
    zone = tmp_path / "u.zone"
    zone.write_text('u.example. IN TXT "gr\u00fc\u00dfe \u2014 hello"\n', encoding="utf-8")
    out = run_cli("dns", "u.example", "--zone", str(zone), env={"PYTHONIOENCODING": "ascii"})
    assert out.returncode == 0, out.stderr
    assert b"gr\\xfc\\xdfe \\u2014 hello" in out.stdout
    out = run_cli("dns", "u.example", "--zone", str(zone), "--json",
                  env={"PYTHONIOENCODING": "ascii"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["records"] == ["gr\u00fc\u00dfe \u2014 hello"]


def test_json_output_is_ascii_whatever_the_locale(tmp_path: Path) -> None:
    zone = tmp_path / "u.zone"
    zone.write_text('u.example. IN TXT "\u00e9t\u00e9"\n', encoding="utf-8")
    outs = [run_cli("dns", "u.example", "--zone", str(zone), "--json",
                    env={"PYTHONIOENCODING": enc}).stdout for enc in ("utf-8", "latin-1")]
    assert outs[0] == outs[1]
    assert outs[0].isascii() and b'"\\u00e9t\\u00e9"' in outs[0]


def test_the_cli_text_is_ascii() -> None:
    for path in (REPO / "src" / "mailauth" / "cli").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert text.isascii(), f"{path.name}: {[c for c in text if not c.isascii()][:5]}"
