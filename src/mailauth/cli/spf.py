"""``mailauth spf``: check a client against a sender's SPF policy (RFC 7208)."""

from __future__ import annotations

import argparse
from typing import Any

from ..spf import SPFResult, check_spf
from ._common import (
    CLIError,
    add_command,
    add_dns_options,
    add_json_option,
    exit_for,
    ip_argument,
    print_json,
    resolver_from_args,
    to_jsonable,
)


def register(sub: Any) -> None:
    p = add_command(
        sub, "spf", help="check SPF for a client IP, MAIL FROM and HELO",
        description="Evaluate SPF (RFC 7208) for the MAIL FROM identity (the verdict) and "
                    "the HELO identity, and print the verdict, the Received-SPF field, "
                    "the Authentication-Results fragment and a step-by-step trace with "
                    "the DNS lookup budget.")
    p.add_argument("--ip", required=True, type=ip_argument, help="the SMTP client's IP address")
    p.add_argument("--mail-from", required=True, metavar="ADDR",
                   help="the MAIL FROM address; '' or '<>' for the null reverse-path of a "
                        "bounce, which is checked as postmaster@HELO (RFC 7208 section 2.4)")
    p.add_argument("--helo", required=True, metavar="NAME",
                   help="the HELO/EHLO name the client sent")
    p.add_argument("--skip-helo", action="store_true",
                   help="do not evaluate the HELO identity (the name still stands in for a "
                        "null reverse-path and goes into Received-SPF)")
    p.add_argument("--receiver", default=None, metavar="NAME",
                   help="this host's name, for Received-SPF")
    p.add_argument("--no-trace", action="store_true", help="print only the verdicts")
    add_dns_options(p)
    add_json_option(p, "the results, with Received-SPF and the Authentication-Results "
                       "fragment")
    p.set_defaults(func=run)


def _print(result: SPFResult, label: str, trace: bool) -> None:
    print(f"{label}: {result.status} - {result.reason}")
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


def as_json(result: SPFResult) -> dict[str, Any]:
    """The result's fields, its Received-SPF field and A-R fragment; the HELO's alike."""
    data: dict[str, Any] = to_jsonable(result)
    data["trace"] = to_jsonable(result.trace)  # a property over plain steps
    data["received_spf"] = result.received_spf()
    data["authres"] = result.authres()
    if result.helo is not None:
        data["helo"] = as_json(result.helo)
    return data


def run(args: argparse.Namespace) -> int:
    if not args.helo.strip():
        raise CLIError("argument --helo: give the HELO/EHLO name the client sent (it is "
                       "also the domain checked for a null reverse-path)", argument="--helo")
    try:
        check = check_spf(args.ip, args.mail_from, args.helo, receiver=args.receiver,
                          budget=args.timeout, check_helo=not args.skip_helo)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    result = check.run(resolver_from_args(args))
    if args.json:
        print_json(as_json(result))
        return exit_for(result.status)
    _print(result, f"spf (mailfrom {result.sender})", not args.no_trace)
    if result.helo is not None:
        _print(result.helo, f"spf (helo {result.helo.domain})", not args.no_trace)
    print(result.received_spf().replace("\r\n", "\n"))  # folded (RFC 5322 section 2.2.3)
    print(f"Authentication-Results fragment: {result.authres()}")
    return exit_for(result.status)
