"""``mailauth arc verify|seal``: ARC (RFC 8617) from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..arc import ARCResult, seal_arc, verify_arc
from ..errors import SigningError
from ..status import Status
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

__all__ = ["register", "run_seal", "run_verify"]


def register(sub: Any) -> None:
    p = add_command(
        sub, "arc", help="validate or add an ARC chain (Authenticated Received Chain)",
        description="ARC (RFC 8617): validate the chain of ARC Sets on a message, or seal "
                    "it as an intermediary (add this hop's ARC Set).")
    cmds = p.add_subparsers(dest="arc_command", metavar="COMMAND", required=True,
                            help="run 'mailauth arc COMMAND --help' for its options")

    v = add_command(cmds, "verify", help="validate the ARC chain of a message",
                    description="Validate the ARC chain of FILE ('-' for stdin) and show "
                                "each instance: its sealer, selectors, cv=, whether its "
                                "AMS and seal validate, and the authentication results "
                                "that hop recorded.")
    v.add_argument("file", metavar="FILE", help="the message (RFC 5322), '-' for stdin")
    v.add_argument("--now", type=float, metavar="SECONDS",
                   help="verification time, Unix seconds (default: now)")
    v.add_argument("--min-rsa-bits", type=int, default=1024, metavar="BITS",
                   help="shorter RSA keys do not validate (default 1024, RFC 8301)")
    add_dns_options(v)
    add_json_option(v, "the result, with each ARC Set and the arc= resinfo")
    v.set_defaults(func=run_verify)

    s = add_command(cmds, "seal", help="add this hop's ARC Set; prints the three fields",
                    description="Seal FILE as this hop: validate its ARC chain, "
                                "authenticate it (SPF with --ip/--helo/--mail-from, DKIM, "
                                "DMARC) for the ARC-Authentication-Results, and print the "
                                "ARC-Seal, ARC-Message-Signature and "
                                "ARC-Authentication-Results fields to prepend (or the "
                                "sealed message with --message).")
    s.add_argument("file", metavar="FILE", help="the message as received, '-' for stdin")
    s.add_argument("--domain", required=True, help="the sealing domain (d=)")
    s.add_argument("--selector", required=True, help="the key's selector (s=)")
    s.add_argument("--key", required=True, metavar="KEY.pem",
                   help="the private key (PEM or DER, RSA or Ed25519)")
    s.add_argument("--authserv-id", required=True, metavar="ID",
                   help="this host's authserv-id, written in the AAR")
    s.add_argument("--ip", type=ip_argument, help="the SMTP client's IP address")
    s.add_argument("--helo", metavar="NAME", help="the HELO/EHLO name the client sent")
    s.add_argument("--mail-from", metavar="ADDR",
                   help="the MAIL FROM address ('' or '<>' for a null reverse-path)")
    s.add_argument("--results", metavar="RESINFOS",
                   help="this hop's results as resinfos separated by ';' (e.g. "
                        "'spf=pass smtp.mailfrom=a@example.com'), instead of "
                        "authenticating the message; the arc= result is added")
    s.add_argument("--headers", metavar="NAME:NAME:...",
                   help="colon-separated header field names the AMS signs (default: those "
                        "of RFC 6376 section 5.4.1 the message has, and DKIM-Signature)")
    s.add_argument("--now", type=int, metavar="SECONDS",
                   help="t= of the seal and the validation time, Unix seconds (default: now)")
    add_dns_options(s)
    out = s.add_mutually_exclusive_group()
    out.add_argument("--message", action="store_true",
                     help="print the whole sealed message, not only the three fields")
    add_json_option(out, "the three fields, the chain found and the results recorded")
    s.set_defaults(func=run_seal)


def _set_json(result: ARCResult) -> list[dict[str, Any]]:
    out = []
    for s in result.sets:
        item = to_jsonable(s)
        item["auth_results"] = s.auth_results_text or None
        item["recorded"] = [str(r) for r in s.auth_results.results] \
            if s.auth_results is not None else None
        out.append(item)
    return out


def _print_sets(result: ARCResult) -> None:
    for s in result.sets:
        print(f"\n[i={s.instance}] seal {s.seal_status}, AMS {s.ams_status}"
              + (f": {s.reason}" if s.reason else ""))
        print(f"    ARC-Seal:              d={s.seal_domain} s={s.seal_selector} "
              f"a={s.seal_algorithm} cv={s.cv}")
        print(f"    ARC-Message-Signature: d={s.ams_domain} s={s.ams_selector} "
              f"a={s.ams_algorithm}")
        if s.ams_headers:
            print(f"    AMS h={':'.join(s.ams_headers)}")
        if s.auth_results is not None:
            print(f"    recorded by {s.auth_results.authserv_id}:")
            for r in s.auth_results.results:
                print(f"      {r}")
        elif s.auth_results_error:
            print(f"    ARC-Authentication-Results unreadable: {s.auth_results_error}")


def run_verify(args: argparse.Namespace) -> int:
    resolver = resolver_from_args(args)
    data = read_input(args.file, args.file, argument="FILE")
    try:
        check = verify_arc(data, now=args.now, min_rsa_bits=args.min_rsa_bits,
                           budget=args.timeout)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    result = check.run(resolver)
    if args.json:
        payload = to_jsonable(result)
        payload["sets"] = _set_json(result)
        payload["authres"] = result.authres()
        print_json(payload)
        return exit_for(result.status)
    print(f"arc={result.status}: {result.reason}")
    if result.chain:
        print(f"sealed by: {' > '.join(result.chain)}")
    if result.oldest_pass is not None:
        print(f"oldest-pass: {result.oldest_pass}")
    _print_sets(result)
    print(f"\nAuthentication-Results fragment: {result.authres()}")
    return exit_for(result.status)


def _this_hop(args: argparse.Namespace, data: bytes, resolver: Any
              ) -> tuple[ARCResult, list[str]]:
    """The chain as received and this hop's resinfos (the arc= one included)."""
    if args.results is not None:
        chain = verify_arc(data, now=args.now, budget=args.timeout).run(resolver)
        resinfos = [r.strip() for r in args.results.split(";") if r.strip()]
    else:
        from ..umbrella import authenticate

        mail_from = args.mail_from
        if mail_from in ("<>",):
            mail_from = ""
        auth = authenticate(data, ip=args.ip, helo=args.helo, mail_from=mail_from,
                            now=args.now, budget=args.timeout).run(resolver)
        assert auth.arc is not None   # authenticate() verifies ARC unless arc=False
        chain = auth.arc
        resinfos = list(auth.resinfos())
    if not any(r.split("=", 1)[0].strip().lower() == "arc" for r in resinfos):
        resinfos.append(chain.authres(remote_ip=args.ip))
    return chain, resinfos


def run_seal(args: argparse.Namespace) -> int:
    key = read_input(args.key, f"--key {args.key}", argument="--key")
    data = read_input(args.file, args.file, argument="FILE")
    resolver = resolver_from_args(args)
    try:
        chain, resinfos = _this_hop(args, data, resolver)
        fields = seal_arc(data, domain=args.domain, selector=args.selector, key=key,
                          authserv_id=args.authserv_id, auth_results=resinfos, chain=chain,
                          headers=args.headers.split(":") if args.headers else None,
                          now=args.now)
    except SigningError as exc:
        raise CLIError(f"cannot seal: {exc}", status=ExitStatus.USAGE) from None
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot seal: {exc}") from None
    if args.json:
        print_json({"fields": fields.decode("ascii", "backslashreplace"),
                    "chain": str(chain.status), "chain_reason": chain.reason,
                    "cv": "none" if chain.status is Status.NONE else
                    ("pass" if chain.status is Status.PASS else "fail"),
                    "results": resinfos})
        return 0
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(fields + data if args.message else fields)
    out.flush()
    return 0
