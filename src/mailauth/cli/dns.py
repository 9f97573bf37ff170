"""``mailauth dns NAME [TYPE]``: one lookup, as the checks see it."""

from __future__ import annotations

import argparse
from typing import Any

from ..flows import Check, Flow, Outcome, Query, query
from ..resolvers import SUPPORTED_TYPES
from ._common import (
    ExitStatus,
    add_command,
    add_dns_options,
    add_json_option,
    print_json,
    resolver_from_args,
)

# ok with records: 0; the name or type has none: 1; could not find out: 2.
_EXIT = {Outcome.OK: ExitStatus.PASS, Outcome.NXDOMAIN: ExitStatus.NOT_PASS,
         Outcome.NODATA: ExitStatus.NOT_PASS, Outcome.TEMPFAIL: ExitStatus.UNDECIDED}


def register(sub: Any) -> None:
    types = sorted(SUPPORTED_TYPES)
    p = add_command(
        sub, "dns", help="look a name up the way the checks do",
        description="Look up NAME and print the outcome (ok, nxdomain, nodata, tempfail) "
                    "and the typed records, as the checks see them.")
    p.add_argument("name", help="the domain name to look up")
    p.add_argument("type", nargs="?", default="TXT", type=str.upper, choices=types,
                   metavar="TYPE", help=f"the record type: {', '.join(types)} (default TXT)")
    add_dns_options(p)
    add_json_option(p, "the answer")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    q = Query(args.name, args.type)
    resolver = resolver_from_args(args)

    def flow() -> Flow[Any]:
        return (yield from query(q.name, q.rdtype))

    answer = Check(flow, budget=args.timeout).run(resolver)
    if args.json:
        print_json(answer)
    else:
        print(f"{q}: {answer.outcome.value}" + (f" ({answer.reason})" if answer.reason else ""))
        for record in answer.records:
            print(f"  {record}")
        if answer.authentic:
            print("  (DNSSEC: authentic)")
    if answer.outcome is Outcome.OK and not answer.records:
        return int(ExitStatus.NOT_PASS)
    return int(_EXIT[answer.outcome])
