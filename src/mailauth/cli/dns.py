"""``mailauth dns NAME [TYPE]``: one lookup, as the checks see it."""

from __future__ import annotations

import argparse
from typing import Any

from ..flows import Check, Flow, Query, query
from ._common import add_dns_options, print_json, resolver_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "dns", help="look a name up the way the checks do",
        description="Look up NAME (TYPE: A AAAA MX TXT PTR TLSA CNAME; default TXT) and "
                    "print the outcome (ok, nxdomain, nodata, tempfail) and the typed records.")
    p.add_argument("name")
    p.add_argument("type", nargs="?", default="TXT")
    add_dns_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def flow() -> Flow[Any]:
        return (yield from query(args.name, args.type.upper()))

    answer = Check(flow, budget=args.timeout).run(resolver_from_args(args))
    if args.json:
        print_json(answer)
    else:
        q = Query(args.name, args.type.upper())
        print(f"{q}: {answer.outcome.value}" + (f" ({answer.reason})" if answer.reason else ""))
        for record in answer.records:
            print(f"  {record}")
        if answer.authentic:
            print("  (DNSSEC: authentic)")
    return 0 if answer.ok else 1
