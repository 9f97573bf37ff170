"""The ``mailauth`` command line: a thin user of the public API.

Each protocol has a sub-module here with ``register(subparsers)``; each command
prints a readable verdict and trace, or everything as JSON with ``--json``. DNS comes
from the system resolver, a given nameserver (``--nameserver``), or a zone file
(``--zone``, fully offline).

Every command follows one exit-status scheme (``_common.EXIT_STATUSES``, shown in
``--help``, explained in docs/cli.md); errors go to stderr, as one JSON line when
``--json`` is on the command line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from ..errors import MailAuthError
from ._common import (
    CLIError,
    ExitStatus,
    Parser,
    add_dns_options,
    resolver_from_args,
    robust_output,
    write_json_error,
)

__all__ = ["ExitStatus", "add_dns_options", "build_parser", "main", "resolver_from_args"]

# Sub-modules that provide commands, in the order `mailauth --help` lists them.
_COMMAND_MODULES = ("check", "spf", "dkim", "arc", "mta_sts", "tlsrpt", "reports", "dane", "dns")
# Commands with sub-commands, so that errors before parsing ends name both words.
_SUBCOMMANDS = {
    "dkim": ("verify", "sign", "keygen"),
    "arc": ("verify", "seal"),
    "tlsrpt": ("record", "summarize"),
    "reports": ("summarize", "parse"),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``mailauth`` parser with every command's sub-parser."""
    parser = Parser(
        prog="mailauth",
        description="Check email authentication (SPF, DKIM, ...) on your own machine.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"mailauth {__version__}",
                        help="print the version and exit")
    parser.add_argument("--json", action="store_true", dest="json_global",
                        help="print results and errors as JSON (the same as --json after "
                             "the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                help="run 'mailauth COMMAND --help' for its options")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


def _json_requested(argv: Sequence[str]) -> bool:
    """--json anywhere before a "--" (for errors found before parsing ends)."""
    args = list(argv)
    if "--" in args:
        args = args[:args.index("--")]
    return "--json" in args


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named on the command line (for errors before parsing ends)."""
    words = [a for a in argv if not a.startswith("-")]
    if words and words[0].replace("-", "_") in _COMMAND_MODULES:
        if len(words) > 1 and words[1] in _SUBCOMMANDS.get(words[0], ()):
            return " ".join(words[:2])
        return words[0]
    return None


def _report(command: str | None, status: ExitStatus, message: str, as_json: bool, *,
            argument: str | None = None, file: str | None = None, usage: str | None = None,
            trace: str | None = None) -> int:
    if as_json:
        write_json_error(command, status, message, argument=argument, file=file,
                         traceback=trace)
    else:
        if usage:
            sys.stderr.write(usage)
        if trace:
            sys.stderr.write(trace)
        prog = f"mailauth {command}" if command else "mailauth"
        label = "internal error" if status is ExitStatus.INTERNAL else "error"
        sys.stderr.write(f"{prog}: {label}: {message}\n")
        if status is ExitStatus.INTERNAL:
            sys.stderr.write("This is a bug in mailauth; please report it with the "
                             "traceback above.\n")
    return int(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (docs/cli.md)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _json_requested(argv)
    command = _command_of(argv)
    with robust_output():
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            command = getattr(args, "command_name", None) or command
            as_json = as_json or bool(getattr(args, "json", False) or args.json_global)
            args.json = as_json
            status = int(args.func(args))
            sys.stdout.flush()  # here, where a closed pipe is still caught
            return status
        except CLIError as exc:
            if exc.command is not None:  # the parser that found it knows its command
                command = exc.command or None
            return _report(command, exc.status, exc.message, as_json, argument=exc.argument,
                           file=exc.file, usage=exc.usage)
        except MailAuthError as exc:
            # The library's word for a caller's mistake: here, a bad argument.
            return _report(command, ExitStatus.USAGE, str(exc), as_json)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        except KeyboardInterrupt:
            return _report(command, ExitStatus.INTERRUPTED, "interrupted", as_json)
        except BrokenPipeError:
            # The reader went away (`| head`): say nothing more, as if killed by SIGPIPE.
            _silence_stdout()
            return int(ExitStatus.BROKEN_PIPE)
        except OSError as exc:
            return _report(command, ExitStatus.IO_ERROR, str(exc), as_json,
                           file=exc.filename if isinstance(exc.filename, str) else None)
        except Exception as exc:  # the last resort: a bug, said as one
            return _report(command, ExitStatus.INTERNAL, f"{type(exc).__name__}: {exc}",
                           as_json, trace=traceback.format_exc())


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at /dev/null so that this flush
    # does not fail too (Python's documented advice for SIGPIPE).
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
