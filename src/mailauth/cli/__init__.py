"""The ``mailauth`` command line: a thin user of the public API.

Each protocol has a sub-module here with ``register(subparsers)``; each command
prints a readable verdict and trace, or everything as JSON with ``--json``. DNS comes
from the system resolver, a given nameserver (``--nameserver``), or a zone file
(``--zone``, fully offline).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import MailAuthError
from ._common import add_dns_options, resolver_from_args

__all__ = ["add_dns_options", "main", "resolver_from_args"]

# Sub-modules that provide commands, in the order `mailauth --help` lists them.
_COMMAND_MODULES = ("spf", "dkim", "dns")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailauth",
        description="Check email authentication (SPF, DKIM, ...) on your own machine.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"mailauth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except BrokenPipeError:
        return 0
    except (OSError, ValueError, MailAuthError) as exc:
        # A file that cannot be read, a zone file that does not parse, a bad argument:
        # said in one line, not as a traceback.
        print(f"mailauth {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
