"""``mailauth dkim verify|sign|keygen``: DKIM from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import MailAuthError
from ._common import add_dns_options, print_json, resolver_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "dkim", help="verify or sign DKIM signatures, make keys",
        description="DKIM (RFC 6376, 8301, 8463): verify every signature on a message, "
                    "sign a message, or generate a key pair.")
    cmds = p.add_subparsers(dest="dkim_command", metavar="COMMAND")

    v = cmds.add_parser("verify", help="verify every DKIM-Signature on a message",
                        description="Verify FILE ('-' for stdin) and explain each signature.")
    v.add_argument("file")
    v.add_argument("--now", type=float, help="verification time, Unix seconds (default: now)")
    v.add_argument("--min-rsa-bits", type=int, default=1024)
    v.add_argument("--allow-sha1", action="store_true", help="accept rsa-sha1 (RFC 8301: don't)")
    add_dns_options(v)
    v.set_defaults(func=run_verify)

    s = cmds.add_parser("sign", help="sign a message; prints the DKIM-Signature field",
                        description="Sign FILE and print the header field to prepend "
                                    "(or the whole signed message with --message).")
    s.add_argument("file")
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--key", required=True, metavar="KEY.pem", help="private key (PEM)")
    s.add_argument("--canonicalization", default="relaxed/relaxed")
    s.add_argument("--identity", help="i= tag")
    s.add_argument("--timestamp", action="store_true", help="add t= (now)")
    s.add_argument("--expire-in", type=int, metavar="SECONDS", help="add x= (implies t=)")
    s.add_argument("--headers", help="colon-separated header names to sign")
    s.add_argument("--no-oversign", action="store_true")
    s.add_argument("--message", action="store_true", help="print the whole signed message")
    s.set_defaults(func=run_sign)

    k = cmds.add_parser("keygen", help="generate a key pair and its DNS record",
                        description="Generate a DKIM key: writes the private key (PEM) and "
                                    "prints the TXT record, cut into <=255-octet strings.")
    k.add_argument("--type", choices=("rsa", "ed25519"), default="rsa")
    k.add_argument("--bits", type=int, default=2048)
    k.add_argument("--selector", default="default")
    k.add_argument("--domain", default="example.org")
    k.add_argument("--out", metavar="FILE", help="write the private key here (default: stdout)")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=run_keygen)

    def usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=usage)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def run_verify(args: argparse.Namespace) -> int:
    from ..dkim import verify_dkim

    try:
        check = verify_dkim(_read(args.file), now=args.now, min_rsa_bits=args.min_rsa_bits,
                            allow_sha1=args.allow_sha1, budget=args.timeout)
    except OSError as exc:
        print(f"mailauth dkim verify: {exc}", file=sys.stderr)
        return 2
    result = check.run(resolver_from_args(args))
    if args.json:
        print_json(result)
        return 0 if str(result.status) == "pass" else 1
    print(f"dkim={result.status}: {result.reason}")
    for n, s in enumerate(result.signatures, 1):
        print(f"\n[{n}] {s.status} ({s.code}): {s.reason}")
        if s.domain is None:
            print(f"    field: {s.header_field[:200]}")
            continue
        print(f"    d={s.domain} s={s.selector} a={s.algorithm} c={s.canonicalization}"
              + (f" i={s.identity}" if s.identity else ""))
        print(f"    h={':'.join(s.headers_signed)}")
        print(f"    body hash expected {s.body_hash_expected}")
        print(f"    body hash computed {s.body_hash_computed}"
              + ("" if s.body_hash_matches else "  (MISMATCH)"))
        if s.body_length is not None:
            print(f"    l={s.body_length}: {s.body_bytes_unsigned or 0} body octets not signed")
        if s.key_type:
            bits = f" {s.key_bits} bits" if s.key_bits else ""
            dnssec = "DNSSEC-authentic" if s.authentic else "not DNSSEC-authenticated"
            testing = ", testing (t=y)" if s.testing else ""
            print(f"    key: {s.key_type}{bits}, {dnssec}{testing}")
        for w in s.warnings:
            print(f"    warning: {w}")
    if result.ignored_signatures:
        print(f"\n({result.ignored_signatures} more signature(s) not evaluated)")
    return 0 if str(result.status) == "pass" else 1


def run_sign(args: argparse.Namespace) -> int:
    import time

    from ..dkim import sign_dkim

    try:
        data = _read(args.file)
        key = Path(args.key).read_bytes()
    except OSError as exc:
        print(f"mailauth dkim sign: {exc}", file=sys.stderr)
        return 2
    now = int(time.time())
    try:
        header = sign_dkim(
            data, domain=args.domain, selector=args.selector, key=key,
            canonicalization=args.canonicalization, identity=args.identity,
            timestamp=now if (args.timestamp or args.expire_in) else None,
            expiration=now + args.expire_in if args.expire_in else None,
            headers=args.headers.split(":") if args.headers else None,
            oversign=not args.no_oversign)
    except (MailAuthError, ValueError, TypeError) as exc:
        print(f"mailauth dkim sign: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    out.write(header + data if args.message else header)
    out.flush()
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    from ..dkim import generate_key

    try:
        key = generate_key(args.type, bits=args.bits)
    except ValueError as exc:
        print(f"mailauth dkim keygen: {exc}", file=sys.stderr)
        return 2
    line = key.zone_line(args.selector, args.domain)
    if args.out:
        Path(args.out).write_bytes(key.private_key_pem)
        Path(args.out).chmod(0o600)
    if args.json:
        print_json({"type": key.key_type, "bits": key.bits, "txt_value": key.txt_value,
                    "txt_strings": key.txt_strings, "zone_line": line,
                    "private_key_file": args.out,
                    "private_key_pem": None if args.out else key.private_key_pem.decode()})
        return 0
    if not args.out:
        sys.stdout.write(key.private_key_pem.decode())
    print(f"; publish this record ({key.key_type}, {key.bits} bits):")
    print(line)
    return 0
