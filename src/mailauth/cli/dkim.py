"""``mailauth dkim verify|sign|keygen``: DKIM from the command line."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..dkim import DKIMResult, SignatureResult
from ..errors import SigningError
from ._common import (
    CLIError,
    ExitStatus,
    add_command,
    add_dns_options,
    add_json_option,
    exit_for,
    print_json,
    read_input,
    resolver_from_args,
    to_jsonable,
)

# RSA key sizes keygen makes: RFC 8301 section 3.2 sets the floor; above 8192 bits a
# key takes minutes to make and its record no longer fits a usual DNS answer.
MIN_RSA_BITS = 1024
MAX_RSA_BITS = 8192


def register(sub: Any) -> None:
    p = add_command(
        sub, "dkim", help="verify or sign DKIM signatures, make keys",
        description="DKIM (RFC 6376, 8301, 8463): verify every signature on a message, "
                    "sign a message, or generate a key pair.")
    cmds = p.add_subparsers(dest="dkim_command", metavar="COMMAND", required=True,
                            help="run 'mailauth dkim COMMAND --help' for its options")

    v = add_command(cmds, "verify", help="verify every DKIM-Signature on a message",
                    description="Verify FILE ('-' for stdin) and explain each signature.")
    v.add_argument("file", metavar="FILE", help="the message (RFC 5322), '-' for stdin")
    v.add_argument("--now", type=float, metavar="SECONDS",
                   help="verification time, Unix seconds (default: now)")
    v.add_argument("--min-rsa-bits", type=_bits, default=1024, metavar="BITS",
                   help="shorter RSA keys do not pass (default 1024, RFC 8301 section 3.2)")
    v.add_argument("--allow-sha1", action="store_true", help="accept rsa-sha1 (RFC 8301: don't)")
    add_dns_options(v)
    add_json_option(v, "the result, with the Authentication-Results fragment")
    v.set_defaults(func=run_verify)

    s = add_command(cmds, "sign", help="sign a message; prints the DKIM-Signature field",
                    description="Sign FILE and print the header field to prepend "
                                "(or the whole signed message with --message).")
    s.add_argument("file", metavar="FILE", help="the message to sign, '-' for stdin")
    s.add_argument("--domain", required=True, help="the signing domain (d=)")
    s.add_argument("--selector", required=True, help="the key's selector (s=)")
    s.add_argument("--key", required=True, metavar="KEY.pem",
                   help="the private key (PEM or DER, RSA or Ed25519)")
    s.add_argument("--canonicalization", default="relaxed/relaxed", metavar="HEADER/BODY",
                   help="c=: simple or relaxed, for header/body (default relaxed/relaxed)")
    s.add_argument("--identity", help="the i= tag (an address in or under --domain)")
    s.add_argument("--timestamp", action="store_true", help="add t= (now)")
    s.add_argument("--expire-in", type=_seconds, metavar="SECONDS",
                   help="add x=, this many seconds from now (implies t=)")
    s.add_argument("--headers", metavar="NAME:NAME:...",
                   help="colon-separated header field names to sign (default: those of "
                        "RFC 6376 section 5.4.1 the message has)")
    s.add_argument("--no-oversign", action="store_true",
                   help="do not list fields once more than present (allows added fields)")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--message", action="store_true",
                     help="print the whole signed message, not only the field")
    add_json_option(out, "the DKIM-Signature field")
    s.set_defaults(func=run_sign)

    k = add_command(cmds, "keygen", help="generate a key pair and its DNS record",
                    description="Generate a DKIM key: writes the private key (PEM, mode "
                                "0600) to --out FILE and prints the TXT record, cut into "
                                "<=255-octet strings. The private key is printed only "
                                "when stdout is not a terminal, or with "
                                "--print-private-key.")
    k.add_argument("--type", choices=("rsa", "ed25519"), default="rsa",
                   help="the key type (default rsa; ed25519 is RFC 8463)")
    k.add_argument("--bits", type=int, default=None,
                   help=f"RSA key size, {MIN_RSA_BITS} to {MAX_RSA_BITS} (default 2048)")
    k.add_argument("--selector", default="default", help="the selector for the record")
    k.add_argument("--domain", default="example.org", help="the domain for the record")
    k.add_argument("--out", metavar="FILE",
                   help="write the private key to FILE (mode 0600; never replaces a file "
                        "unless --force)")
    k.add_argument("--force", action="store_true", help="replace an existing --out FILE")
    k.add_argument("--print-private-key", action="store_true",
                   help="print the private key on stdout even when it is a terminal")
    add_json_option(k, "the key record (and the private key when printed)")
    k.set_defaults(func=run_keygen)


def _bits(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of bits")
    return int(text)


def _seconds(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return int(text)


# --- verify ----------------------------------------------------------------------------

# RFC 8601 section 2.2: a pvalue is a token (RFC 2045), an address or a quoted-string.
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+\Z")
_ADDRESS = re.compile(r"[!#$%&'*+\-/=?^_`{|}~.0-9A-Za-z]*@[-.0-9A-Za-z_]+\Z")


def _ar_value(text: str) -> str:
    """An RFC 8601 pvalue: as-is when it is a token or an address, quoted otherwise."""
    text = re.sub(r"[^\x20-\x7e]", "?", text)
    if _TOKEN.match(text) or _ADDRESS.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _signature_authres(sig: SignatureResult) -> str:
    """``dkim=pass header.d=... header.s=... header.a=...`` (RFC 8601 section 2.7.1)."""
    parts = [f"dkim={sig.status}"]
    for ptype, value in (("header.d", sig.domain), ("header.i", sig.identity),
                         ("header.s", sig.selector), ("header.a", sig.algorithm)):
        if value:
            parts.append(f"{ptype}={_ar_value(value)}")
    return " ".join(parts)


def dkim_authres(result: DKIMResult) -> str:
    """The Authentication-Results fragment: one ``dkim=`` per signature evaluated.

    The result's own ``authres()`` when the library has it, else built here.
    """
    method = getattr(result, "authres", None)
    if callable(method):
        return str(method())
    if not result.signatures:
        return f"dkim={result.status}"
    return "; ".join(_signature_authres(s) for s in result.signatures)


def _open_message(path: str) -> Any:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # closed by run_verify
    except OSError as exc:
        raise CLIError(f"{path}: cannot read: {exc.strerror or exc}",
                       status=ExitStatus.NO_INPUT, argument="FILE", file=path) from None


def run_verify(args: argparse.Namespace) -> int:
    from ..dkim import verify_dkim

    resolver = resolver_from_args(args)
    source = _open_message(args.file)
    try:
        try:
            check = verify_dkim(source, now=args.now, min_rsa_bits=args.min_rsa_bits,
                                allow_sha1=args.allow_sha1, budget=args.timeout)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        result = check.run(resolver)
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if args.json:
        data = to_jsonable(result)
        data["authres"] = dkim_authres(result)
        print_json(data)
        return exit_for(result.status)
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
    print(f"\nAuthentication-Results fragment: {dkim_authres(result)}")
    return exit_for(result.status)


# --- sign ------------------------------------------------------------------------------

def run_sign(args: argparse.Namespace) -> int:
    import time

    from ..dkim import sign_dkim

    key = read_input(args.key, f"--key {args.key}", argument="--key")
    data = read_input(args.file, args.file, argument="FILE")
    now = int(time.time())
    try:
        header = sign_dkim(
            data, domain=args.domain, selector=args.selector, key=key,
            canonicalization=args.canonicalization, identity=args.identity,
            timestamp=now if (args.timestamp or args.expire_in) else None,
            expiration=now + args.expire_in if args.expire_in else None,
            headers=args.headers.split(":") if args.headers else None,
            oversign=not args.no_oversign)
    except SigningError as exc:
        raise CLIError(f"cannot sign with --key {args.key}: {exc}", argument="--key",
                       file=args.key) from None
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot sign: {exc}") from None
    if args.json:
        print_json({"dkim_signature": header.decode("ascii", "backslashreplace")})
        return 0
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(header + data if args.message else header)
    out.flush()
    return 0


# --- keygen ----------------------------------------------------------------------------

def _check_keygen(args: argparse.Namespace) -> None:
    """Every refusal before a key is made (an 8192-bit key takes a while)."""
    if args.type == "rsa":
        bits = 2048 if args.bits is None else args.bits
        if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
            raise CLIError(f"argument --bits: {bits} is out of range: RSA keys have "
                           f"{MIN_RSA_BITS} to {MAX_RSA_BITS} bits (2048 is usual; "
                           "RFC 8301 section 3.2)", argument="--bits")
        args.bits = bits
    elif args.bits is not None:
        raise CLIError("argument --bits: Ed25519 keys have a fixed size; --bits is for "
                       "RSA keys", argument="--bits")
    if args.out:
        out = Path(args.out)
        if (out.exists() or out.is_symlink()) and not args.force:
            raise CLIError(f"--out {args.out} exists; not replacing a key without --force",
                           status=ExitStatus.CANT_CREATE, argument="--out", file=args.out)
        if not out.parent.is_dir():
            raise CLIError(f"--out {args.out}: the directory {out.parent} does not exist",
                           status=ExitStatus.CANT_CREATE, argument="--out", file=args.out)
    elif sys.stdout.isatty() and not args.print_private_key:
        raise CLIError("not printing a private key to the terminal: write it to a file "
                       "with --out FILE (or add --print-private-key)", argument="--out")


def _write_private_key(path: str, pem: bytes, force: bool) -> None:
    """Write the key readable by its owner only, never replacing a file unless forced.

    Created with mode 0600 from the start (never readable by others, even briefly);
    with --force, written beside the target and renamed over it.
    """
    try:
        if not force:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            return
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".mailauth-key-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except FileExistsError:
        raise CLIError(f"--out {path} exists; not replacing a key without --force",
                       status=ExitStatus.CANT_CREATE, argument="--out", file=path) from None
    except OSError as exc:
        raise CLIError(f"--out {path}: cannot write: {exc.strerror or exc}",
                       status=ExitStatus.CANT_CREATE, argument="--out", file=path) from None


def run_keygen(args: argparse.Namespace) -> int:
    from ..dkim import generate_key

    _check_keygen(args)
    try:
        key = generate_key(args.type, bits=args.bits if args.type == "rsa" else 256)
    except ValueError as exc:
        raise CLIError(str(exc), argument="--bits") from None
    line = key.zone_line(args.selector, args.domain)
    if args.out:
        _write_private_key(args.out, key.private_key_pem, args.force)
    show_private = not args.out or args.print_private_key
    if args.json:
        print_json({"type": key.key_type, "bits": key.bits, "txt_value": key.txt_value,
                    "txt_strings": key.txt_strings, "zone_line": line,
                    "private_key_file": args.out,
                    "private_key_pem": key.private_key_pem.decode() if show_private
                    else None})
        return 0
    if show_private:
        sys.stdout.write(key.private_key_pem.decode())
    print(f"; publish this record ({key.key_type}, {key.bits} bits):")
    print(line)
    return 0
