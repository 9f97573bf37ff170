"""``mailauth spf``: check a client against a sender's SPF policy (RFC 7208)."""

from __future__ import annotations

import argparse
from typing import Any

from ..spf import SPFResult, check_spf
from ._common import add_dns_options, print_json, resolver_from_args

_EXIT = {"pass": 0, "none": 0, "neutral": 0, "softfail": 1, "fail": 1,
         "temperror": 2, "permerror": 2}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "spf", help="check SPF for a client IP, MAIL FROM and HELO",
        description="Evaluate SPF (RFC 7208) for the MAIL FROM identity (the verdict) and "
                    "the HELO identity, and print the verdict, the Received-SPF field and "
                    "a step-by-step trace with the DNS lookup budget.")
    p.add_argument("--ip", required=True, help="the SMTP client's address")
    p.add_argument("--mail-from", default="",
                   help="the MAIL FROM address (empty for a bounce: postmaster@HELO)")
    p.add_argument("--helo", default=None, help="the HELO/EHLO name")
    p.add_argument("--receiver", default=None, help="this host's name, for Received-SPF")
    p.add_argument("--no-trace", action="store_true", help="print only the verdict")
    add_dns_options(p)
    p.set_defaults(func=run)


def _print(result: SPFResult, label: str, trace: bool) -> None:
    print(f"{label}: {result.status} — {result.reason}")
    if result.record:
        print(f"  record: {result.record}")
    if result.explanation:
        print(f"  explanation: {result.explanation}")
    print(f"  DNS terms {result.lookups} of {result.max_lookups}, "
          f"void lookups {result.void_lookups} of {result.max_void_lookups}")
    if trace and result.trace:
        print("  trace:")
        for step in result.trace:
            for line in str(step).splitlines():
                print(f"    {line}")


def run(args: argparse.Namespace) -> int:
    try:
        check = check_spf(args.ip, args.mail_from, args.helo, receiver=args.receiver,
                          budget=args.timeout)
    except ValueError as exc:
        print(f"mailauth spf: {exc}")
        return 2
    result = check.run(resolver_from_args(args))
    if args.json:
        print_json(result)
        return _EXIT.get(str(result.status), 2)
    _print(result, f"spf (mailfrom {result.sender})", not args.no_trace)
    if result.helo is not None:
        _print(result.helo, f"spf (helo {result.helo.domain})", not args.no_trace)
    print(result.received_spf().replace("\r\n", "\n"))  # folded (RFC 5322 §2.2.3)
    print(f"Authentication-Results fragment: {result.authres()}")
    return _EXIT.get(str(result.status), 2)
