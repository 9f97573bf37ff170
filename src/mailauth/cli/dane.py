"""``mailauth dane HOST``: an MX host's TLSA records, the chain it presents over
STARTTLS, and the DANE verdict (RFC 6698, RFC 7671, RFC 7672)."""

from __future__ import annotations

import argparse
import hashlib
import os
import ssl
import warnings
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..dane import DANEResult, MTASTSView, check_dane, rollover_warnings
from ..errors import MailAuthError
from ..fetchers import HTTPSFetcher
from ._common import (
    CLIError,
    add_command,
    add_dns_options,
    add_json_option,
    exit_for,
    print_json,
    read_input,
    resolver_from_args,
    to_jsonable,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    p = add_command(
        sub, "dane", help="DANE: an MX host's TLSA records against the chain it presents",
        description="Look up the TLSA records of HOST (_PORT._tcp.HOST, used only when "
                    "DNSSEC-authentic), connect to HOST over SMTP, say EHLO and STARTTLS, "
                    "and match the certificate chain it presents against the records. "
                    "Prints the records with their DNSSEC status, the chain (subject, "
                    "issuer, expiry, SPKI SHA-256 digest), which record matched or why each "
                    "did not, and what will break at the next certificate renewal. --timeout "
                    "bounds the DNS work and, separately, the whole SMTP probe. HOST is "
                    "reached at the addresses the DNS options give (not the system "
                    "resolver's) unless --address is given. With --zone, --dnssec reads "
                    "the zone as DNSSEC-signed (every answer authentic). With --domain, "
                    "also the MTA-STS view of HOST: DOMAIN's policy mode, whether HOST "
                    "matches its mx patterns, and whether the chain HOST presents is valid "
                    "for it under the WebPKI.")
    p.add_argument("host", metavar="HOST", help="the MX host name")
    p.add_argument("--port", type=int, default=25, metavar="PORT",
                   help="the SMTP port; the TLSA records are at _PORT._tcp.HOST (default 25)")
    p.add_argument("--address", metavar="ADDR",
                   help="connect to this address instead of resolving HOST (tests)")
    sts = p.add_argument_group("MTA-STS view")
    sts.add_argument("--domain", metavar="DOMAIN",
                     help="the recipient domain whose MX HOST is: fetch its MTA-STS policy "
                          "and report the MTA-STS view of HOST")
    sts.add_argument("--cafile", metavar="PEM",
                     help="trust the CA certificates in this PEM file instead of the "
                          "system's, for the policy host and for HOST's chain")
    sts.add_argument("--https-port", type=int, metavar="PORT",
                     help="the policy host's HTTPS port (default 443)")
    sts.add_argument("--allow-private", action="store_true",
                     help="fetch the policy even when its host resolves to a private or "
                          "loopback address (refused by default)")
    add_dns_options(p)
    add_json_option(p, "the verdict, the records, the chain and the warnings")
    p.set_defaults(func=run)


def _describe(der: bytes) -> dict[str, Any]:
    """Subject, issuer, expiry and the SPKI digest of one certificate."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
            spki = cert.public_key().public_bytes(Encoding.DER,
                                                  PublicFormat.SubjectPublicKeyInfo)
            return {"subject": cert.subject.rfc4514_string(),
                    "issuer": cert.issuer.rfc4514_string(),
                    "not_after": cert.not_valid_after_utc.isoformat(),
                    "spki_sha256": hashlib.sha256(spki).hexdigest(),
                    "sha256": hashlib.sha256(der).hexdigest()}
    except Exception as exc:  # a server's bytes: shown, never a traceback
        return {"error": f"not a readable certificate: {exc}",
                "sha256": hashlib.sha256(der).hexdigest()}


def _load_roots(path: str) -> list[x509.Certificate]:
    data = read_input(path, f"--cafile {path}", argument="--cafile")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CLIError(f"--cafile {path}: no PEM certificates: {exc}", argument="--cafile",
                       file=path) from None


def _system_roots() -> list[x509.Certificate] | None:
    """The system's trust store (OpenSSL's default file, else its directory), or None."""
    paths = ssl.get_default_verify_paths()
    if paths.cafile and os.path.isfile(paths.cafile):
        try:
            return x509.load_pem_x509_certificates(Path(paths.cafile).read_bytes())
        except (OSError, ValueError):
            pass
    if paths.capath and os.path.isdir(paths.capath):
        found: list[x509.Certificate] = []
        for entry in sorted(Path(paths.capath).iterdir()):
            try:
                found.extend(x509.load_pem_x509_certificates(entry.read_bytes()))
            except (OSError, ValueError):
                continue
        return found or None
    return None


def run(args: argparse.Namespace) -> int:
    resolver = resolver_from_args(args)
    roots = None
    fetcher = None
    if args.domain is not None:
        roots = _load_roots(args.cafile) if args.cafile else _system_roots()
        try:
            fetcher = HTTPSFetcher(cafile=args.cafile, port=args.https_port,
                                   allow_private=args.allow_private, resolver=resolver)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    try:
        check = check_dane(args.host, args.port, address=args.address,
                           timeout=args.timeout, budget=args.timeout, domain=args.domain,
                           roots=roots)
    except (MailAuthError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    warnings_for_roots: tuple[str, ...] = ()
    if args.domain is not None and roots is None:
        warnings_for_roots = ("no trust store found: the WebPKI view is not judged "
                              "(give --cafile)",)
    result: DANEResult = check.run(resolver, fetcher)
    probe = result.probe
    chain = probe.chain if probe is not None else ()
    certs = [_describe(der) for der in chain]
    lookup = result.lookup
    records = lookup.records if lookup is not None else ()
    renewal: tuple[str, ...] = ()
    if records and chain:
        try:
            renewal = rollover_warnings(records, chain)
        except MailAuthError as exc:
            renewal = (f"rollover check not possible: {exc}",)
    notes = tuple(dict.fromkeys(result.warnings + renewal + warnings_for_roots))
    if args.json:
        data = to_jsonable(result)
        if data.get("probe") is not None:
            data["probe"]["chain"] = certs
        data["rollover_warnings"] = list(renewal)
        print_json(data)
        return exit_for(result.status)
    print(str(result))
    if lookup is not None:
        dnssec = "authentic (DNSSEC)" if lookup.authentic else "not authentic"
        print(f"  TLSA {lookup.name}: {lookup.status}, {dnssec}")
        for record in records:
            print(f"    {record}")
        if not records:
            print(f"    ({lookup.reason})")
    if probe is not None:
        print(f"  server {probe.address or probe.host} port {probe.port}: "
              + (f"{probe.tls_version} {probe.cipher}" if probe.tls_version
                 else f"failed at {probe.step}: {probe.error}"))
        for note in probe.notes:
            print(f"    note: {note}")
    for index, cert in enumerate(certs):
        print(f"  certificate {index}{' (leaf)' if index == 0 else ''}:")
        if "error" in cert:
            print(f"    {cert['error']}")
            continue
        print(f"    subject  {cert['subject']}")
        print(f"    issuer   {cert['issuer']}")
        print(f"    expires  {cert['not_after']}")
        print(f"    SPKI SHA-256 {cert['spki_sha256']}")
    if result.matched is not None:
        print(f"  matched: {result.matched}")
    for outcome in result.records:
        print(f"  {outcome.record}: {outcome.outcome}: {outcome.reason}")
    if result.mta_sts is not None:
        _print_view(result.mta_sts)
    for note in notes:
        print(f"  warning: {note}")
    return exit_for(result.status)


def _print_view(view: MTASTSView) -> None:
    policy = view.policy
    if view.mode is None:
        why = policy.reason if policy is not None else ""
        print(f"  MTA-STS of {view.domain}: {view.status}, no policy applies ({why})")
    else:
        print(f"  MTA-STS of {view.domain}: {view.status}, mode {view.mode}, "
              f"mx {', '.join(view.mx) or '(none)'}")
        print(f"    {view.host} " + (f"matches {view.matched_pattern}" if view.host_matches
                                     else "matches no mx pattern of the policy"))
    print(f"    WebPKI: {view.webpki_reason}")
    if view.delivery is not None:
        print(f"    a sender applying MTA-STS: {view.delivery.reason}")
    if view.dane_applies:
        print("    DANE applies to this host: a sender doing both uses DANE (RFC 8461 "
              "section 2)")
