"""``mailauth check``: SPF, DKIM, ARC and DMARC for a message, at a glance."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any

from ..dmarc import DMARCResult
from ..psl import load_public_suffix_list
from ..status import Status
from ..umbrella import AuthResults, authenticate
from ._common import (
    CLIError,
    ExitStatus,
    add_command,
    add_dns_options,
    add_json_option,
    exit_for,
    ip_argument,
    print_json,
    read_input,
    resolver_from_args,
    to_jsonable,
)

__all__ = ["register", "run"]

# ANSI colours of the result words, on a terminal only (green, red, yellow, default).
_COLOURS = {"pass": "32", "fail": "31", "softfail": "33", "temperror": "33",
            "permerror": "33", "neutral": "0", "none": "0", "policy": "33",
            "applied": "33", "possible": "33"}


def register(sub: Any) -> None:
    p = add_command(
        sub, "check", help="SPF, DKIM, ARC and DMARC for a message: the verdict at a glance",
        description="Authenticate MESSAGE ('-' for stdin): SPF for the envelope, every "
                    "DKIM signature, the ARC chain, DMARC with the sender's policy and the "
                    "alignment of each identifier, and iprev; then the "
                    "Authentication-Results field. Without --ip (a saved message) SPF is "
                    "'none' unless --trust-received.")
    p.add_argument("file", metavar="MESSAGE", help="the message (RFC 5322), '-' for stdin")
    p.add_argument("--ip", type=ip_argument, help="the SMTP client's IP address")
    p.add_argument("--helo", metavar="NAME", help="the HELO/EHLO name the client sent")
    p.add_argument("--mail-from", metavar="ADDR",
                   help="the MAIL FROM address ('' or '<>' for a null reverse-path)")
    p.add_argument("--trust-received", action="store_true",
                   help="without --ip, read ip and helo from the topmost Received field and "
                        "MAIL FROM from Return-Path (only when your own MTA wrote them)")
    p.add_argument("--authserv-id", metavar="ID", default=None,
                   help="this host's authserv-id in the Authentication-Results field "
                        "(default: the host name)")
    p.add_argument("--mode", choices=("tree-walk", "psl"), default="tree-walk",
                   help="DMARC policy discovery: RFC 9989's DNS tree walk (default) or "
                        "RFC 7489's Public Suffix List")
    p.add_argument("--psl", metavar="FILE",
                   help="the Public Suffix List file for --mode psl (default: the packaged "
                        "list)")
    p.add_argument("--lenient-authors", action="store_true",
                   help="evaluate every author domain of a message with several From "
                        "addresses instead of treating it as a permerror to reject")
    p.add_argument("--no-iprev", action="store_true", help="skip the reverse-DNS check")
    p.add_argument("--no-arc", action="store_true",
                   help="skip the ARC chain (RFC 8617), verified by default")
    p.add_argument("--trusted-sealer", metavar="DOMAIN", action="append", default=[],
                   dest="trusted_sealers",
                   help="an ARC sealing domain whose recorded results you trust (repeat for "
                        "more): a DMARC fail it vouched for shows the local policy override "
                        "(trusted_forwarder) that would apply")
    p.add_argument("--apply-override", action="store_true",
                   help="with --trusted-sealer, apply such an override: disposition none")
    p.add_argument("--now", type=float, metavar="SECONDS",
                   help="the time for DKIM expiry, Unix seconds (default: now)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the results (auto: only on a terminal, not with NO_COLOR)")
    add_dns_options(p)
    add_json_option(p, "every result, with the Authentication-Results field")
    p.set_defaults(func=run)


def _colour(args: argparse.Namespace) -> bool:
    if args.color == "always":
        return True
    if args.color == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _word(status: Status | str, colour: bool) -> str:
    text = str(status)
    padded = f"{text:<9}"
    if not colour:
        return padded
    return f"\x1b[{_COLOURS.get(text, '0')}m{text}\x1b[0m" + " " * (9 - len(text))


def _dmarc_detail(dmarc: DMARCResult) -> str:
    """The DMARC row's detail: the policy and disposition, or the reason."""
    if dmarc.policy is None:
        return dmarc.reason
    return (f"From {dmarc.author_domain}: {dmarc.policy_tag}={dmarc.policy} "
            f"(record at _dmarc.{dmarc.policy_domain}), disposition "
            f"{dmarc.disposition}{' (t=y/pct: lowered)' if dmarc.testing else ''}")


def _rows(result: AuthResults) -> list[tuple[str, Status | str, str]]:
    rows: list[tuple[str, Status | str, str]] = []
    spf = result.spf
    if spf.ip and spf.domain:
        detail = (f"{spf.reason}; DNS lookups {spf.lookups}/{spf.max_lookups}, "
                  f"void {spf.void_lookups}/{spf.max_void_lookups}")
    else:
        detail = spf.reason
    rows.append(("SPF", spf.status, detail))
    if spf.helo is not None:
        rows.append(("SPF helo", spf.helo.status, spf.helo.reason))
    for s in result.dkim.signatures:
        where = f"d={s.domain} s={s.selector} a={s.algorithm}: " if s.domain else ""
        rows.append(("DKIM", s.status, where + s.reason))
    if not result.dkim.signatures:
        rows.append(("DKIM", result.dkim.status, result.dkim.reason))
    dmarc = result.dmarc
    arc = result.arc
    if arc is not None and arc.status is not Status.NONE:   # a message with ARC fields
        chain = ", ".join(f"i={i} {d}" for i, d in enumerate(arc.chain, 1))
        if arc.status is Status.PASS:
            detail = f"chain {chain}; oldest-pass {arc.oldest_pass}"
        else:
            detail = arc.reason + (f" (sealers {chain})" if chain else "")
        rows.append(("ARC", arc.status, detail))
    rows.append(("DMARC", dmarc.status, _dmarc_detail(dmarc)))
    if dmarc.override is not None:
        o = dmarc.override
        rows.append(("override", "applied" if o.applied else "possible",
                     f"{o.type}: {o.comment}"
                     + ("" if o.applied else " (not applied: --apply-override)")))
    if result.iprev is not None:
        rows.append(("iprev", result.iprev.status, result.iprev.reason))
    return rows


def _print(result: AuthResults, authserv_id: str, colour: bool) -> None:
    dmarc = result.dmarc
    print(f"dmarc={_word(dmarc.status, colour).rstrip()}: {dmarc.reason}")
    print()
    for method, status, detail in _rows(result):
        print(f"  {method:<9} {_word(status, colour)} {detail}")
    if dmarc.alignment:
        print()
        how = (f"DKIM {'strict' if dmarc.record and dmarc.record.adkim == 's' else 'relaxed'}"
               f", SPF {'strict' if dmarc.record and dmarc.record.aspf == 's' else 'relaxed'}")
        mode = "DNS tree walk" if dmarc.mode == "tree-walk" else "Public Suffix List"
        print(f"Alignment with From {dmarc.author_domain} ({how}; organizational domains by "
              f"{mode}):")
        for a in dmarc.alignment:
            mark = "aligned pass" if a.passed else "no"
            print(f"  [{mark}] {a.explanation}")
    if dmarc.lookups:
        print()
        print("DMARC lookups:")
        for lookup in dmarc.lookups:
            print(f"  {lookup.describe()}")
    for warning in dmarc.warnings:
        print(f"warning: {warning}")
    print()
    print(result.header(authserv_id).replace("\r\n", "\n"))


def run(args: argparse.Namespace) -> int:
    resolver = resolver_from_args(args)
    data = read_input(args.file, args.file, argument="MESSAGE")
    authserv_id = args.authserv_id or platform.node() or "localhost"
    mail_from = args.mail_from
    if mail_from == "<>":
        mail_from = ""
    if args.ip is None and (args.helo is not None or mail_from is not None):
        raise CLIError("--helo and --mail-from need --ip (SPF checks the client address)",
                       argument="--ip")
    if args.apply_override and not args.trusted_sealers:
        raise CLIError("--apply-override needs --trusted-sealer (nothing is trusted by "
                       "default)", argument="--apply-override")
    if args.trusted_sealers and args.no_arc:
        raise CLIError("--trusted-sealer needs the ARC chain: leave out --no-arc",
                       argument="--trusted-sealer")
    if args.ip is not None and mail_from is None:
        raise CLIError("--ip needs --mail-from ('' or '<>' for a null reverse-path)",
                       argument="--mail-from")
    psl = None
    if args.psl:
        if args.mode != "psl":
            raise CLIError("--psl is for --mode psl", argument="--psl")
        try:
            psl = load_public_suffix_list(args.psl)
        except OSError as exc:
            raise CLIError(f"--psl {args.psl}: cannot read: {exc.strerror or exc}",
                           status=ExitStatus.NO_INPUT, argument="--psl",
                           file=args.psl) from None
    try:
        check = authenticate(data, ip=args.ip, helo=args.helo, mail_from=mail_from,
                             trust_received=args.trust_received, iprev=not args.no_iprev,
                             dmarc_mode=args.mode, psl=psl,
                             strict_authors=not args.lenient_authors, now=args.now,
                             arc=not args.no_arc, trusted_sealers=args.trusted_sealers,
                             apply_override=args.apply_override, budget=args.timeout)
        result = check.run(resolver)
        header = result.header(authserv_id)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        out = to_jsonable(result)
        out["status"] = str(result.dmarc.status)
        out["authentication_results"] = header
        print_json(out)
        return exit_for(result.dmarc.status)
    _print(result, authserv_id, _colour(args))
    return exit_for(result.dmarc.status)
