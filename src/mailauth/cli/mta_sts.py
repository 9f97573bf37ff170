"""``mailauth mta-sts DOMAIN``: a domain's MTA-STS record, policy, MX coverage and the
policy host's certificate (RFC 8461)."""

from __future__ import annotations

import argparse
import datetime
import socket
import ssl
from typing import Any

from ..fetchers import HTTPSFetcher
from ..flows import Query, Resolver
from ..mta_sts import MTASTSPolicyResult, get_mta_sts_policy
from ._common import (
    CLIError,
    add_command,
    add_dns_options,
    add_json_option,
    exit_for,
    print_json,
    resolver_from_args,
    to_jsonable,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    p = add_command(
        sub, "mta-sts", help="MTA-STS: a domain's policy, its MX hosts, the policy host",
        description="Look up DOMAIN's _mta-sts record, fetch its policy from "
                    "https://mta-sts.DOMAIN/.well-known/mta-sts.txt as a sending MTA does "
                    "(certificate checked, no redirects, 64 KiB, text/plain), list every MX "
                    "host of DOMAIN and whether the policy covers it, and show the policy "
                    "host's certificate with its expiry.")
    p.add_argument("domain", metavar="DOMAIN", help="the policy domain (a recipient domain)")
    p.add_argument("--cafile", metavar="PEM",
                   help="trust this CA bundle instead of the system's (a private CA)")
    p.add_argument("--address", metavar="ADDR",
                   help="connect to this address for the policy host (tests); the "
                        "certificate is still checked against mta-sts.DOMAIN")
    p.add_argument("--port", type=int, metavar="PORT", help="HTTPS port (default 443)")
    p.add_argument("--allow-private", action="store_true",
                   help="fetch even when the policy host resolves to a private or loopback "
                        "address (refused by default: a hostile record must not make you "
                        "fetch from your own network)")
    add_dns_options(p)
    add_json_option(p, "the policy result, the MX hosts and the certificate")
    p.set_defaults(func=run)


def _mx_hosts(resolver: Resolver, domain: str, timeout: float
              ) -> tuple[list[str], str | None]:
    answer = resolver.resolve(Query(domain, "MX"), timeout=timeout)
    if answer.ok:
        return [mx.exchange for mx in sorted(answer.mx(), key=lambda m: m.preference)], None
    return [], f"MX lookup: {answer.outcome.name}" + (f" ({answer.reason})"
                                                       if answer.reason else "")


def _address(host: str, args: argparse.Namespace, resolver: Resolver
             ) -> tuple[str | None, str | None]:
    """The address to probe the policy host at, from the same DNS as the check, or why
    none (no address; a private one without --allow-private)."""
    if args.address:
        return args.address, None
    for rdtype in ("A", "AAAA"):
        answer = resolver.resolve(Query(host, rdtype), timeout=args.timeout)
        for addr in answer.addresses():
            if not addr.is_global and not args.allow_private:
                return None, (f"{host} resolves to {addr}, not a global address; not "
                              "probed (--allow-private to allow it)")
            return str(addr), None
    return None, f"{host} has no address"


def _certificate(host: str, args: argparse.Namespace,
                 resolver: Resolver) -> dict[str, Any]:
    """The policy host's certificate, as a sender sees it: subject, issuer, names, expiry;
    or why it could not be had or verified."""
    address, problem = _address(host, args, resolver)
    if address is None:
        return {"host": host, "verified": False, "error": problem}
    context = ssl.create_default_context(cafile=args.cafile)
    try:
        with socket.create_connection((address, args.port or 443), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return {"host": host, "verified": False, "error": exc.verify_message or str(exc)}
    except (OSError, ssl.SSLError) as exc:
        return {"host": host, "verified": False, "error": str(exc)}
    if not cert:
        return {"host": host, "verified": False, "error": "no certificate"}
    expires = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(
        str(cert["notAfter"])), tz=datetime.UTC)
    alt: Any = cert.get("subjectAltName", ())
    names = [value for kind, value in alt if kind == "DNS"]

    def dn(rdns: Any) -> str:
        return ", ".join(f"{k}={v}" for rdn in rdns for k, v in rdn)

    days = (expires - datetime.datetime.now(tz=datetime.UTC)).days
    return {"host": host, "verified": True, "subject": dn(cert.get("subject", ())),
            "issuer": dn(cert.get("issuer", ())), "names": names,
            "not_after": expires.isoformat(), "days_left": days}


def run(args: argparse.Namespace) -> int:
    resolver = resolver_from_args(args)
    try:
        check = get_mta_sts_policy(args.domain, budget=args.timeout + 60)
        fetcher = HTTPSFetcher(cafile=args.cafile, port=args.port, address=args.address,
                               allow_private=args.allow_private, resolver=resolver)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    result: MTASTSPolicyResult = check.run(resolver, fetcher)
    mx_hosts, mx_problem = _mx_hosts(resolver, result.domain, args.timeout)
    coverage = [(host, result.policy.matching_pattern(host) if result.policy else None)
                for host in mx_hosts]
    cert = (_certificate(f"mta-sts.{result.domain}", args, resolver) if result.record
            else None)
    if args.json:
        data = to_jsonable(result)
        data["mx_hosts"] = [{"host": h, "pattern": p, "covered": p is not None}
                            for h, p in coverage]
        data["mx_problem"] = mx_problem
        data["certificate"] = cert
        print_json(data)
        return exit_for(result.status)
    print(str(result))
    if result.record is not None:
        print(f"  record: _mta-sts.{result.domain}: {result.record.text}")
    policy = result.policy
    if policy is not None:
        print(f"  policy ({result.source}): mode {policy.mode}, max_age {policy.max_age} s, "
              f"mx {', '.join(policy.mx) or '(none)'}")
    if result.refresh_error:
        print(f"  warning: {result.refresh_error}")
    print()
    if mx_problem:
        print(f"MX hosts of {result.domain}: {mx_problem}")
    else:
        print(f"MX hosts of {result.domain}:")
        for host, pattern in coverage:
            if policy is None:
                print(f"  {host}")
            elif pattern is not None:
                print(f"  {host}: covered by {pattern}")
            else:
                print(f"  {host}: NOT covered by the policy"
                      + (" (a sender in enforce mode will not deliver to it)"
                         if policy.mode == "enforce" else ""))
    if cert is not None:
        print()
        if cert["verified"]:
            print(f"Certificate of {cert['host']}: {cert['subject']}; issuer {cert['issuer']}")
            print(f"  names: {', '.join(cert['names'])}")
            print(f"  expires {cert['not_after']} ({cert['days_left']} days left)")
        else:
            print(f"Certificate of {cert['host']}: not verified: {cert['error']}")
    return exit_for(result.status)
