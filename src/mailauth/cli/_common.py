"""Options and helpers shared by the command-line sub-commands."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

from ..resolvers import DNSResolver
from ..testing import FakeResolver

__all__ = ["add_dns_options", "print_json", "resolver_from_args", "to_jsonable"]


def add_dns_options(parser: argparse.ArgumentParser) -> None:
    """--zone FILE (offline), --nameserver ADDR[:PORT], --timeout, --json."""
    group = parser.add_argument_group("DNS")
    group.add_argument("--zone", metavar="FILE", action="append",
                       help="answer DNS from this RFC 1035 zone file instead of the network "
                            "(repeatable; fully offline)")
    group.add_argument("--nameserver", metavar="ADDR[:PORT]",
                       help="ask this nameserver instead of the system's")
    group.add_argument("--dnssec", action="store_true",
                       help="trust the nameserver's DNSSEC validation (AD bit)")
    group.add_argument("--timeout", type=float, default=20.0,
                       help="seconds for all DNS work of one check (default 20)")
    parser.add_argument("--json", action="store_true", help="print everything as JSON")


def resolver_from_args(args: argparse.Namespace) -> DNSResolver | FakeResolver:
    """The resolver the options ask for."""
    if args.zone:
        text = "\n".join(Path(p).read_text(encoding="utf-8") for p in args.zone)
        return FakeResolver.from_zone(text)
    if args.nameserver:
        host, port = args.nameserver, 53
        if host.count(":") == 1 or (host.startswith("[") and "]:" in host):
            host, _, port_text = host.rpartition(":")
            port = int(port_text)
        return DNSResolver([host.strip("[]")], port=port, trust_ad=args.dnssec)
    return DNSResolver(trust_ad=args.dnssec)


def to_jsonable(value: Any) -> Any:
    """Results (dataclasses, enums, addresses, bytes) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}  # private fields (caches) are no facts
    if isinstance(value, enum.Enum):
        return value.value
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
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
