"""What every command shares: exit statuses, errors, DNS options, JSON and output.

The exit statuses are defined here once (:class:`ExitStatus`, :data:`EXIT_STATUSES`)
and shown in every command's ``--help``; docs/cli.md explains them. A command returns
:func:`exit_for` of its verdict, and reports a problem by raising :class:`CLIError`,
which :func:`mailauth.cli.main` prints (as JSON with ``--json``) and turns into the
exit status of its kind.

This package's own text is ASCII, so that it can be written to any terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import io
import ipaddress
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from ..errors import MailAuthError, ParseError
from ..flows import TLSA, Answer, Query, Resolver
from ..resolvers import DNSResolver
from ..status import Status
from ..testing import FakeResolver

__all__ = [
    "EXIT_EPILOG",
    "EXIT_STATUSES",
    "STATUS_EXIT",
    "CLIError",
    "ExitStatus",
    "Parser",
    "SignedZone",
    "add_command",
    "add_dns_options",
    "add_json_option",
    "exit_for",
    "ip_argument",
    "parse_nameserver",
    "positive_float",
    "print_json",
    "read_input",
    "resolver_from_args",
    "robust_output",
    "to_jsonable",
    "write_json_error",
]


class ExitStatus(enum.IntEnum):
    """The exit statuses of every ``mailauth`` command (docs/cli.md).

    0-2 say what a check found; the others (from BSD's sysexits.h) say why a command
    could not do its job. Member names, lower-cased, are the ``kind`` of a JSON error.
    """

    PASS = 0
    NOT_PASS = 1
    UNDECIDED = 2
    USAGE = 64
    NO_INPUT = 66
    INTERNAL = 70
    CANT_CREATE = 73
    IO_ERROR = 74
    INTERRUPTED = 130
    BROKEN_PIPE = 141


# One line per status, for --help and docs/cli.md (tests check that both agree).
EXIT_STATUSES: Mapping[ExitStatus, str] = {
    ExitStatus.PASS: "pass: the check passed (SPF pass, a DKIM signature verified, a DNS "
                     "answer with records), or the command did what was asked (sign, "
                     "keygen)",
    ExitStatus.NOT_PASS: "not pass: any other verdict (fail, softfail, neutral, none, "
                         "policy, permerror); for dns: NXDOMAIN or no records of the type",
    ExitStatus.UNDECIDED: "undecided: temperror (DNS timeout or SERVFAIL, time budget "
                          "spent); the same check may pass later",
    ExitStatus.USAGE: "usage error: a bad or missing argument, a --zone file that does "
                      "not parse, an unusable key, a refused request",
    ExitStatus.NO_INPUT: "an input file (message, key, zone) is missing or unreadable",
    ExitStatus.INTERNAL: "internal error: a bug in mailauth (please report it with the "
                         "traceback)",
    ExitStatus.CANT_CREATE: "an output file cannot be created (it exists and --force "
                            "was not given, or its directory is missing)",
    ExitStatus.IO_ERROR: "an input or output error while the command ran",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitStatus.BROKEN_PIPE: "the output was closed early (broken pipe)",
}

# RFC 8601 result words -> exit status. Only pass is a pass: none and neutral make no
# claim (RFC 7208 sections 8.1, 8.2; RFC 6376 section 6.1 treats a message without a
# valid signature as unsigned), so a script must not read them as success. permerror
# will not change on retry (1); temperror may (2).
STATUS_EXIT: Mapping[Status, ExitStatus] = {
    Status.PASS: ExitStatus.PASS,
    Status.FAIL: ExitStatus.NOT_PASS,
    Status.SOFTFAIL: ExitStatus.NOT_PASS,
    Status.NEUTRAL: ExitStatus.NOT_PASS,
    Status.NONE: ExitStatus.NOT_PASS,
    Status.POLICY: ExitStatus.NOT_PASS,
    Status.PERMERROR: ExitStatus.NOT_PASS,
    Status.TEMPERROR: ExitStatus.UNDECIDED,
}


def exit_for(status: Status | str) -> int:
    """The exit status for a verdict (an RFC 8601 result word)."""
    return int(STATUS_EXIT[Status(str(status))])


def _epilog() -> str:
    lines = ["exit status:"]
    for code, text in EXIT_STATUSES.items():
        words, line = text.split(), f"  {int(code):<4} "
        for word in words:
            if len(line) + 1 + len(word) > 79 and line.strip():
                lines.append(line.rstrip())
                line = " " * 7
            line += word + " "
        lines.append(line.rstrip())
    lines.append("See docs/cli.md for the JSON output and the JSON form of errors.")
    return "\n".join(lines)


EXIT_EPILOG = _epilog()


class CLIError(Exception):
    """A problem a command reports in one line, with the exit status of its kind.

    :param message: what went wrong, naming the argument or file concerned.
    :param status: an :class:`ExitStatus` (usage error by default).
    :param argument: the option or positional concerned (``"--zone"``), if any.
    :param file: the file concerned, if any.
    """

    def __init__(self, message: str, *, status: ExitStatus = ExitStatus.USAGE,
                 argument: str | None = None, file: str | None = None,
                 usage: str | None = None, command: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.argument = argument
        self.file = file
        self.usage = usage  # argparse's usage line, printed before a text usage error
        self.command = command  # set by the parser that found the error ("" for none)

    @property
    def kind(self) -> str:
        return self.status.name.lower()


_ARGUMENT = re.compile(r"argument ([^:\s]+)(?:/\S+)?: ")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are :class:`CLIError` (exit 64, JSON with --json).

    Abbreviated options are refused: a prefix that works today could become ambiguous
    when a command gains an option, and scripts would break.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs.setdefault("epilog", EXIT_EPILOG)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        found = _ARGUMENT.match(message)
        raise CLIError(message, argument=found.group(1) if found else None,
                       usage=self.format_usage(), command=self.prog.partition(" ")[2])


class _Formatter(argparse.HelpFormatter):
    """Fills paragraphs as usual, but keeps text with line breaks (the exit-status
    table) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_command(sub: Any, name: str, *, help: str, description: str) -> Parser:
    """A sub-command's parser, with the exit-status table and its name for errors."""
    parser: Parser = sub.add_parser(name, help=help, description=description)
    parser.set_defaults(command_name=parser.prog.partition(" ")[2])
    return parser


def add_json_option(parser: Any, what: str) -> None:
    """--json, on a parser or a group of one."""
    parser.add_argument("--json", action="store_true",
                        help=f"print {what} as JSON (UTF-8 as ASCII escapes); errors go "
                             "to stderr as JSON too")


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def ip_argument(text: str) -> str:
    """An ``--ip`` value: an IPv4 or IPv6 address, in its canonical text."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IPv4 or IPv6 address") from None


def parse_nameserver(text: str) -> tuple[str, int]:
    """An argparse type: ``ADDR``, ``ADDR:PORT``, ``[ADDR6]:PORT`` or a bare IPv6 address.

    :returns: (address, port); port 53 when not given.
    """
    host, port_text = text.strip(), ""
    if host.startswith("["):
        host, sep, rest = host[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(
                f"{text!r}: write an IPv6 address with a port as [ADDR]:PORT")
        port_text = rest[1:] if rest else ""
        if rest and not port_text:
            raise argparse.ArgumentTypeError(f"{text!r}: the port is missing after ':'")
    elif host.count(":") == 1:
        host, _, port_text = host.partition(":")
        if not port_text:
            raise argparse.ArgumentTypeError(f"{text!r}: the port is missing after ':'")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{host!r} is not an IP address (give the nameserver's address, "
            "e.g. 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:5353)") from None
    port = 53
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise argparse.ArgumentTypeError(
                f"{port_text!r} is not a port (a number from 1 to 65535)")
        port = int(port_text)
    return str(address), port


def add_dns_options(parser: argparse.ArgumentParser) -> None:
    """--zone FILE (offline), --nameserver ADDR[:PORT], --dnssec, --timeout."""
    group = parser.add_argument_group("DNS")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--zone", metavar="FILE", action="append",
                       help="answer DNS from this RFC 1035 zone file instead of the network "
                            "(repeatable; fully offline)")
    where.add_argument("--nameserver", metavar="ADDR[:PORT]", type=parse_nameserver,
                       help="ask the nameserver at this IP address (port 53 unless given; "
                            "[ADDR]:PORT for IPv6) instead of the system's")
    group.add_argument("--dnssec", action="store_true",
                       help="trust the nameserver's DNSSEC validation (AD bit); with "
                            "--zone, treat the zone as signed")
    group.add_argument("--timeout", type=positive_float, default=20.0, metavar="SECONDS",
                       help="seconds for all DNS work of one check (default 20)")


def read_input(path: str, label: str, *, argument: str | None = None) -> bytes:
    """The bytes of an input file (``-`` is stdin); unreadable is exit 66.

    :param label: how the message names it, e.g. ``"--zone x.zone"``.
    """
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as exc:
        raise CLIError(f"{label}: cannot read: {exc.strerror or exc}",
                       status=ExitStatus.NO_INPUT, argument=argument, file=path) from None


_ZONE_LINE = re.compile(r"<zone>:(\d+):\s*")


def _zone_problem(exc: ParseError) -> tuple[int | None, str]:
    """(line, what) from FakeResolver.from_zone's ParseError."""
    line = getattr(exc, "line", None)
    text = exc.message.removeprefix("zone text does not parse: ")
    found = _ZONE_LINE.search(text)
    if found:
        line = line or int(found.group(1))
        text = text[found.end():]
    return line, text


def _zone_error(text: str, exc: ParseError) -> str:
    """``line N: what``, N being the line at fault.

    The zone reader names the line after the one at fault when the fault shows only
    at the line's end (a record with its data missing or malformed): it has read the
    line break by then. So when the lines before the named one fail alone with the
    same complaint, that earlier line is the one.
    """
    line, what = _zone_problem(exc)
    if line is None:
        return what
    if line > 1:
        head = "\n".join(text.splitlines()[:line - 1])
        try:
            FakeResolver.from_zone(head)
        except MailAuthError as head_exc:
            if isinstance(head_exc, ParseError):
                head_line, head_what = _zone_problem(head_exc)
                if head_what == what and head_line is not None and head_line < line:
                    line = head_line
    return f"line {line}: {what}"


def _zone_text(path: str) -> str:
    data = read_input(path, f"--zone {path}", argument="--zone")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CLIError(f"--zone {path}: line {line}: not UTF-8 text", argument="--zone",
                       file=path) from None
    try:
        FakeResolver.from_zone(text)  # alone, so that an error names its file and line
    except ParseError as exc:
        raise CLIError(f"--zone {path}: {_zone_error(text, exc)}", argument="--zone",
                       file=path) from None
    return text


class SignedZone:
    """A zone file's answers marked DNSSEC-authentic (``--zone`` with ``--dnssec``): the
    offline stand-in for a signed zone behind a validating resolver."""

    def __init__(self, inner: Resolver) -> None:
        self.inner = inner

    def resolve(self, query: Query, *, timeout: float) -> Answer:
        return dataclasses.replace(self.inner.resolve(query, timeout=timeout), authentic=True)


def resolver_from_args(args: argparse.Namespace) -> Resolver:
    """The resolver the options ask for; a zone file's problems are CLIErrors. With
    ``--zone`` and ``--dnssec`` every answer of the zone counts as DNSSEC-authentic."""
    if args.zone:
        texts = [_zone_text(path) for path in args.zone]
        # Each file starts at the root origin, as it did when checked alone.
        zone = FakeResolver.from_zone("\n$ORIGIN .\n".join(texts))
        return SignedZone(zone) if args.dnssec else zone
    if args.nameserver:
        host, port = args.nameserver
        return DNSResolver([host], port=port, trust_ad=args.dnssec)
    return DNSResolver(trust_ad=args.dnssec)


def to_jsonable(value: Any) -> Any:
    """Results (dataclasses, named tuples, enums, addresses, bytes) as JSON values.

    Named tuples (SPF trace steps) become objects with their field names; TLSA data
    becomes hex; other bytes are decoded as UTF-8 (replacing what is not).
    """
    if isinstance(value, TLSA):
        return {"usage": value.usage, "selector": value.selector, "mtype": value.mtype,
                "data": value.data.hex()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}  # private fields (caches) are no facts
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: to_jsonable(item) for name, item in zip(value._fields, value,
                                                               strict=True)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def print_json(value: Any) -> None:
    """JSON on stdout: indented, ASCII only (other characters as \\u escapes).

    ASCII is valid UTF-8 (RFC 8259 section 8.1), the same bytes under every locale,
    and no terminal encoding can fail on it; every JSON reader restores the text.
    """
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=True)
    sys.stdout.write("\n")


def write_json_error(command: str | None, status: ExitStatus, message: str, *,
                     argument: str | None = None, file: str | None = None,
                     traceback: str | None = None) -> None:
    """The JSON form of an error, on one line of stderr (docs/cli.md)."""
    error: dict[str, Any] = {"command": command, "kind": status.name.lower(),
                             "exit_status": int(status), "message": message,
                             "argument": argument, "file": file}
    if traceback is not None:
        error["traceback"] = traceback
    sys.stderr.write(json.dumps({"error": error}, ensure_ascii=True) + "\n")


# Error handlers that never fail on a character (surrogateescape does, on any
# non-ASCII character when the encoding is ASCII).
_SAFE_ERRORS = frozenset({"backslashreplace", "replace", "xmlcharrefreplace", "namereplace"})


@contextlib.contextmanager
def robust_output() -> Iterator[None]:
    """stdout and stderr write what their encoding cannot hold as backslash escapes
    (``PYTHONIOENCODING=ascii``, a Latin-1 terminal), rather than fail; restored after."""
    saved: list[tuple[io.TextIOWrapper[Any], str | None]] = []
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors not in _SAFE_ERRORS:
            with contextlib.suppress(ValueError, OSError):
                errors = stream.errors
                stream.reconfigure(errors="backslashreplace")
                saved.append((stream, errors))
    try:
        yield
    finally:
        for stream, errors in saved:
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors=errors)
