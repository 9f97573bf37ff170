"""Verification (RFC 6376 §6, RFC 8301, RFC 8463) as a sans-I/O flow.

Every DKIM-Signature on the message (up to a cap) gets its own
:class:`SignatureResult`. The key records of all signatures are asked together;
the body is read once, and each distinct (canonicalization, hash, ``l=``) is hashed
once however many signatures share it.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .._build import positional_builder
from .._flow import Answer, Flow, Outcome, Query, query_all
from .._message import HeaderField, Message
from ..status import Status
from ._canon import BodyCanonicalizer, BodyHasher, relaxed_header, simple_body_in_place
from ._key import KeyDecodeError, PublicKey, load_public_key
from ._signature import (
    DKIMSyntaxError,
    KeyRecord,
    Signature,
    parse_key_record,
    parse_signature,
    strip_b_value,
)

__all__ = ["DKIMResult", "SignatureResult", "verify_message"]

Clock: TypeAlias = float | int | datetime | Callable[[], float] | None

SIGNATURE_HEADER = "dkim-signature"
DEFAULT_MAX_SIGNATURES = 10
DEFAULT_CLOCK_SKEW = 300
MAX_KEYS_PER_SELECTOR = 3
# Header fields whose unsigned extra instance a reader could be shown (CASES 40).
_DISPLAYED = ("from", "subject", "to", "cc", "reply-to", "date", "sender")


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """The verdict on one DKIM-Signature, with everything needed to explain it.

    ``code`` is a stable machine reason (``ok``, ``body_hash_mismatch``,
    ``signature_mismatch``, ``key_revoked``, ...); ``reason`` is a sentence for people.
    """

    status: Status
    code: str
    reason: str
    domain: str | None = None
    selector: str | None = None
    algorithm: str | None = None
    canonicalization: str | None = None
    headers_signed: tuple[str, ...] = ()
    identity: str | None = None
    body_hash_expected: str | None = None
    body_hash_computed: str | None = None
    body_length: int | None = None          # l=
    body_bytes_unsigned: int | None = None  # canonical body octets after l=
    body_bytes_appended: int | None = None  # on a body hash failure: octets added after
                                            # a prefix that still matches bh= (CASES 41)
    key_type: str | None = None
    key_bits: int | None = None
    key_record: str | None = None
    authentic: bool = False                 # key record answer was DNSSEC-authentic
    testing: bool = False                   # key record has t=y
    timestamp: int | None = None
    expiration: int | None = None
    warnings: tuple[str, ...] = ()
    header_field: str = ""

    @property
    def body_hash_matches(self) -> bool | None:
        if self.body_hash_expected is None or self.body_hash_computed is None:
            return None
        return self.body_hash_expected == self.body_hash_computed

    def describe(self) -> str:
        """One line: ``pass d=example.org s=sel a=rsa-sha256: reason``."""
        where = f" d={self.domain} s={self.selector}" if self.domain else ""
        alg = f" a={self.algorithm}" if self.algorithm else ""
        return f"{self.status}{where}{alg}: {self.reason}"


@dataclass(frozen=True, slots=True)
class DKIMResult:
    """All signatures on a message. ``status`` is pass when any signature passes."""

    status: Status
    reason: str
    signatures: tuple[SignatureResult, ...] = ()
    ignored_signatures: int = 0   # beyond ``max_signatures``
    warnings: tuple[str, ...] = ()

    @property
    def passing(self) -> tuple[SignatureResult, ...]:
        return tuple(s for s in self.signatures if s.status is Status.PASS)


_STATUS_ORDER = (Status.PASS, Status.FAIL, Status.POLICY, Status.NEUTRAL, Status.TEMPERROR,
                 Status.PERMERROR)
_RANK = {status: rank for rank, status in enumerate(_STATUS_ORDER)}


_build_result = positional_builder(SignatureResult)
_build_overall = positional_builder(DKIMResult)


def _overall(results: Sequence[SignatureResult], ignored: int) -> DKIMResult:
    if not results:
        return _build_overall(Status.NONE, "the message has no DKIM-Signature", (), ignored, ())
    if len(results) == 1:  # the common case, without a search
        status, found = results[0].status, results
    else:
        status = min([r.status for r in results], key=_RANK.__getitem__)
        found = [r for r in results if r.status is status]
    if status is Status.PASS:
        reason = f"{len(found)} of {len(results)} signature(s) verified " + \
            ", ".join([f"(d={r.domain} s={r.selector})" for r in found])
    else:
        reason = f"no signature verified; {found[0].describe()}"
    return _build_overall(status, reason, tuple(results), ignored, ())


# --- header hash (§3.7) ----------------------------------------------------------------

def select_headers(headers: Sequence[HeaderField], names: Iterable[str], *,
                   exclude: bytes | None = None) -> list[HeaderField]:
    """The fields ``h=`` names, each name taking the next instance from the bottom
    (§5.4.2). A name with no instance left contributes nothing (the null string).
    ``exclude`` is the signature's own field: it is hashed at the end, never as one of
    the h= fields (§3.7), even when h= names DKIM-Signature."""
    by_name: dict[str, list[HeaderField]] = {}
    get = by_name.get
    for h in headers:
        if h.data is not exclude:
            stack = get(h.lname)
            if stack is None:
                by_name[h.lname] = [h]
            else:
                stack.append(h)
    chosen: list[HeaderField] = []
    for name in names:
        stack = get(name)
        if stack:
            chosen.append(stack.pop())
    return chosen


def header_hash_input(headers: Sequence[HeaderField], names: Iterable[str],
                      signature_field: bytes, method: str) -> bytes:
    """The octets the signature covers: the selected header fields and the signature
    field with ``b=`` emptied, canonicalized, without the final CRLF (§3.7)."""
    chosen = select_headers(headers, names, exclude=signature_field)
    own = strip_b_value(signature_field)
    if method == "relaxed":
        parts = [relaxed_header(h.data) for h in chosen]
        own = relaxed_header(own)
    elif method == "simple":
        parts = [d if d.endswith(b"\r\n") else d + b"\r\n" for d in [h.data for h in chosen]]
    else:
        raise ValueError(f"unknown canonicalization {method!r} (RFC 6376 §3.4)")
    parts.append(own[:-2] if own.endswith(b"\r\n") else own)
    return b"".join(parts)


def _digest(hash_name: str, data: bytes) -> bytes:
    return hashlib.sha256(data).digest() if hash_name == "sha256" else \
        hashlib.new(hash_name, data).digest()


_PKCS1 = padding.PKCS1v15()
_PREHASHED = {"sha256": Prehashed(hashes.SHA256()), "sha1": Prehashed(hashes.SHA1())}


def check_signature(key: PublicKey, sig: Signature, data: bytes) -> bool:
    """Whether ``b=`` is the signature of ``data`` under ``key`` (RFC 6376 §3.3,
    RFC 8463 §3: Ed25519 signs the SHA-256 digest of the data)."""
    digest = _digest(sig.hash_name, data)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig.signature, digest)
        else:
            key.verify(sig.signature, digest, _PKCS1, _PREHASHED[sig.hash_name])
    except InvalidSignature:
        return False
    return True


# --- body hashes ---------------------------------------------------------------------

BodyKey: TypeAlias = tuple[str, str, int | None]   # (canonicalization, hash, l=)


def hash_bodies(message: Message, wanted: Iterable[BodyKey], *, chunk_size: int = 1 << 20
                ) -> dict[BodyKey, tuple[bytes, int]]:
    """One pass over the body: for each (canonicalization, hash, limit) its digest and
    the canonical body length. A body already in memory with CRLF line endings is
    hashed in place for simple canonicalization (no copy)."""
    groups: dict[str, list[tuple[BodyKey, BodyHasher]]] = {}
    for key in wanted:
        groups.setdefault(key[0], []).append((key, BodyHasher(key[1], key[2])))
    if not groups:
        return {}
    out: dict[BodyKey, tuple[bytes, int]] = {}
    in_memory = message._crlf_body() if "simple" in groups else None
    pieces = simple_body_in_place(*in_memory) if in_memory is not None else None
    if pieces is not None:
        for key, hasher in groups.pop("simple"):
            for piece in pieces:
                hasher.update(piece)
            out[key] = (hasher.digest(), hasher.length)
    plan = [(BodyCanonicalizer(canon), hashers)  # type: ignore[arg-type]
            for canon, hashers in groups.items()]
    if plan:
        for chunk in message.iter_body(chunk_size):
            for canonicalizer, hashers in plan:
                for piece in canonicalizer.feed_views(chunk):
                    for _, hasher in hashers:
                        hasher.update(piece)
        for canonicalizer, hashers in plan:
            tail = canonicalizer.finish()
            for key, hasher in hashers:
                hasher.update(tail)
                out[key] = (hasher.digest(), hasher.length)
    return out


PREFIX_SEARCH_LIMIT = 8 << 20
"""Canonical body octets searched for a still-signed prefix after a body hash failure."""


def signed_prefix_length(message: Message, canon: str, hash_name: str, expected: bytes, *,
                         limit: int = PREFIX_SEARCH_LIMIT) -> int | None:
    """After a body hash failure: the length of the canonical body's prefix, ending at
    a line, whose hash is the one signed, or None. A match means content was only
    appended after signing (CASES 41: mailing-list footers). Costs one more pass over
    at most ``limit`` octets, and only on failures."""
    empty = b"\r\n" if canon == "simple" else b""   # §3.4.3 / §3.4.4 empty bodies
    if hashlib.new(hash_name, empty).digest() == expected:
        return 0
    canonicalizer = BodyCanonicalizer(canon)  # type: ignore[arg-type]
    h = hashlib.new(hash_name)
    total = 0
    partial = b""
    for chunk in message.iter_body():
        for piece in canonicalizer.feed(chunk):
            if b"\r\n" not in piece:  # no line ends here: keep collecting (bounded)
                partial += piece
                if len(partial) > limit:
                    return None
                continue
            lines = (partial + piece).split(b"\r\n")
            partial = lines.pop()
            for line in lines:
                h.update(line + b"\r\n")
                total += len(line) + 2
                # A canonical body never ends with an empty line (§3.4.3, §3.4.4).
                if line and h.copy().digest() == expected:
                    return total
                if total > limit:
                    return None
    return None


def _looks_dot_stuffed(message: Message) -> bool:
    carry = b"\n"  # the body starts at a line start
    for chunk in message.iter_body():
        if b"\n.." in carry + chunk[:2] or b"\n.." in chunk:
            return True
        carry = chunk[-2:]
    return False


# --- the flow ------------------------------------------------------------------------

@dataclass(slots=True)
class _Pending:
    header: HeaderField
    sig: Signature
    message: Message
    facts: dict[str, object] = dc_field(default_factory=dict)


def _now(clock: Clock) -> float:
    if clock is None:
        return time.time()
    if isinstance(clock, datetime):
        return clock.timestamp()
    if callable(clock):
        return float(clock())
    return float(clock)


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _field_text(f: HeaderField) -> str:
    return f.data.decode("utf-8", "replace").rstrip("\r\n")


def verify_message(message: Message, *, now: Clock = None, min_rsa_bits: int = 1024,
                   allow_sha1: bool = False, max_signatures: int = DEFAULT_MAX_SIGNATURES,
                   clock_skew: int = DEFAULT_CLOCK_SKEW, chunk_size: int = 1 << 20,
                   ) -> Flow[DKIMResult]:
    """The verification flow for a parsed message (see :func:`verify_dkim`)."""
    fields = [h for h in message.headers if h.lname == SIGNATURE_HEADER]
    considered, ignored = fields[:max_signatures], max(0, len(fields) - max_signatures)
    current = _now(now)
    results: list[SignatureResult | None] = []
    pending: dict[int, _Pending] = {}
    for index, f in enumerate(considered):
        try:
            sig = parse_signature(f.value)
        except DKIMSyntaxError as exc:
            results.append(SignatureResult(Status.PERMERROR, exc.code,
                                           f"the signature is malformed: {exc}",
                                           header_field=_field_text(f)))
            continue
        results.append(None)
        pending[index] = _Pending(f, sig, message)

    # One query per distinct key name, all sent together (§3.6.2).
    names = [p.sig.key_name for p in pending.values()]
    if len(names) > 1:
        names = sorted(set(names))
    answers = yield from query_all(tuple(Query(n, "TXT") for n in names))
    by_name = dict(zip(names, answers, strict=True))

    bodies = hash_bodies(message, {(p.sig.body_canon, p.sig.hash_name, p.sig.length)
                                   for p in pending.values()}, chunk_size=chunk_size)
    # Displayed fields present more than once: an unsigned extra one is worth a warning.
    lnames = [h.lname for h in message.headers]
    repeated = [(name, n) for name in _DISPLAYED if (n := lnames.count(name)) > 1]

    for index, p in pending.items():
        try:
            results[index] = _evaluate(p, by_name[p.sig.key_name], bodies=bodies,
                                       message=message, repeated=repeated, now=current,
                                       min_rsa_bits=min_rsa_bits, allow_sha1=allow_sha1,
                                       clock_skew=clock_skew)
        except Exception as exc:  # a safety net: network input never raises
            p.facts.clear()  # whatever was learnt may be what failed
            results[index] = _base(p, Status.PERMERROR, "internal_error",
                                   f"the signature could not be processed ({type(exc).__name__}:"
                                   f" {exc})")
    return _overall([r for r in results if r is not None], ignored)


# What a signature result learns beyond its signature's own tags (_Pending.facts).
_FACTS = frozenset({"body_hash_computed", "body_bytes_unsigned", "body_bytes_appended",
                    "key_type", "key_bits", "key_record", "authentic", "testing", "warnings"})
assert tuple(SignatureResult.__dataclass_fields__) == (
    "status", "code", "reason", "domain", "selector", "algorithm", "canonicalization",
    "headers_signed", "identity", "body_hash_expected", "body_hash_computed", "body_length",
    "body_bytes_unsigned", "body_bytes_appended", "key_type", "key_bits", "key_record",
    "authentic", "testing", "timestamp", "expiration", "warnings", "header_field"), \
    "SignatureResult fields changed: update _base"


def _base(p: _Pending, status: Status, code: str, reason: str, **extra: object
          ) -> SignatureResult:
    sig = p.sig
    facts = {**p.facts, **extra} if extra else p.facts
    if not facts.keys() <= _FACTS:
        raise TypeError(f"unknown signature facts: {sorted(facts.keys() - _FACTS)}")
    get = facts.get
    return _build_result(
        status, code, reason, sig.domain, sig.selector, sig.algorithm,
        f"{sig.header_canon}/{sig.body_canon}", sig.headers, sig.identity,
        _b64(sig.body_hash), get("body_hash_computed"), sig.length,
        get("body_bytes_unsigned"), get("body_bytes_appended"), get("key_type"),
        get("key_bits"), get("key_record"), get("authentic", False), get("testing", False),
        sig.timestamp, sig.expiration, get("warnings", ()), _field_text(p.header))


def _evaluate(p: _Pending, answer: Answer, *, bodies: dict[BodyKey, tuple[bytes, int]],
              message: Message, repeated: list[tuple[str, int]], now: float,
              min_rsa_bits: int,
              allow_sha1: bool, clock_skew: int) -> SignatureResult:
    sig = p.sig
    warnings: list[str] = []
    digest, canon_len = bodies[(sig.body_canon, sig.hash_name, sig.length)]
    p.facts["body_hash_computed"] = _b64(digest)
    if sig.length is not None:
        p.facts["body_bytes_unsigned"] = max(0, canon_len - sig.length)
        if canon_len > sig.length:
            warnings.append(f"l={sig.length}: {canon_len - sig.length} octets of the "
                            "canonical body are not covered by the signature (RFC 6376 §8.2)")
    for name, present in repeated:  # a fixed few names: linear in h= however long it is
        signed = sig.headers.count(name)
        if present > signed and name in sig.headers:
            warnings.append(f"the message has {present} {name} fields but h= covers {signed}: "
                            "an unsigned one could be shown to the reader")
    p.facts["warnings"] = tuple(warnings)
    p.facts["authentic"] = answer.authentic

    # Time (§3.5 t=, x=).
    if sig.expiration is not None and sig.expiration + clock_skew < now:
        return _base(p, Status.FAIL, "signature_expired",
                     f"the signature expired at x={sig.expiration} "
                     f"({int(now) - sig.expiration} s ago)")
    if sig.timestamp is not None and sig.timestamp > now + clock_skew:
        return _base(p, Status.NEUTRAL, "timestamp_in_future",
                     f"the signature is dated t={sig.timestamp}, "
                     f"{sig.timestamp - int(now)} s in the future")

    # Key lookup (§3.6.2, §6.1.2).
    if answer.outcome is Outcome.TEMPFAIL:
        return _base(p, Status.TEMPERROR, "dns_error",
                     f"the key at {sig.key_name} could not be fetched: "
                     f"{answer.reason or 'temporary DNS failure'}")
    if answer.outcome is not Outcome.OK:
        return _base(p, Status.PERMERROR, "key_not_found",
                     f"no key record at {sig.key_name} ({answer.outcome.name})")
    records: list[KeyRecord] = []
    errors: list[DKIMSyntaxError] = []
    for text in answer.records:
        if not isinstance(text, str):
            continue
        try:
            records.append(parse_key_record(text))
        except DKIMSyntaxError as exc:
            errors.append(exc)
    if not records:
        if errors:
            first = errors[0]
            return _base(p, Status.PERMERROR, first.code,
                         f"the key record at {sig.key_name} is malformed: {first}",
                         key_record=answer.records[0] if answer.records else None)
        return _base(p, Status.PERMERROR, "key_not_found", f"no key record at {sig.key_name}")
    if len(answer.records) > 1:
        warnings.append(f"{len(answer.records)} TXT records at {sig.key_name}; each usable key "
                        "was tried in sorted order")
        p.facts["warnings"] = tuple(warnings)
    if len(records) > 1:
        records.sort(key=lambda r: r.text)

    # Body hash (§6.1.3) and the hash over header fields.
    body_ok = digest == sig.body_hash
    length_ok = sig.length is None or sig.length <= canon_len
    data = header_hash_input(message.headers, sig.headers, p.header.data, sig.header_canon)

    last: SignatureResult | None = None
    for record in records[:MAX_KEYS_PER_SELECTOR]:
        result = _with_key(p, sig, record, data=data, body_ok=body_ok, length_ok=length_ok,
                           canon_len=canon_len, min_rsa_bits=min_rsa_bits,
                           allow_sha1=allow_sha1)
        if result.status is Status.PASS:
            return result
        if last is None or _RANK[result.status] < _RANK[last.status]:
            last = result
    assert last is not None
    return last


def _with_key(p: _Pending, sig: Signature, record: KeyRecord, *, data: bytes, body_ok: bool,
              length_ok: bool, canon_len: int, min_rsa_bits: int, allow_sha1: bool
              ) -> SignatureResult:
    facts: dict[str, object] = {"key_record": record.text, "key_type": record.key_type,
                                "testing": record.testing}
    if record.revoked:
        return _base(p, Status.PERMERROR, "key_revoked",
                     f"the key at {sig.key_name} is revoked (empty p=)", **facts)
    if record.key_type != sig.key_type:
        return _base(p, Status.PERMERROR, "key_type_mismatch",
                     f"a={sig.algorithm} needs a {sig.key_type} key but {sig.key_name} "
                     f"publishes k={record.key_type}", **facts)
    if record.hash_algorithms and sig.hash_name not in record.hash_algorithms:
        return _base(p, Status.PERMERROR, "key_hash_not_allowed",
                     f"the key allows h={':'.join(record.hash_algorithms)}, "
                     f"not {sig.hash_name}", **facts)
    if "*" not in record.service_types and "email" not in record.service_types:
        return _base(p, Status.PERMERROR, "key_service_mismatch",
                     f"the key is for s={':'.join(record.service_types)}, not email", **facts)
    try:
        key = load_public_key(record.key_type, record.public_key)
    except (KeyDecodeError, ValueError) as exc:
        return _base(p, Status.PERMERROR, "key_syntax",
                     f"p= at {sig.key_name} is not a usable {record.key_type} key: {exc}",
                     **facts)
    is_rsa = record.key_type == "rsa"
    bits = key.key_size if is_rsa else 256  # type: ignore[union-attr]
    facts["key_bits"] = bits
    if record.strict_identity:
        idomain = sig.identity.rpartition("@")[2]
        if idomain != sig.domain:
            return _base(p, Status.FAIL, "key_strict_identity",
                         f"the key has t=s, so i= must be in d={sig.domain} itself, "
                         f"not {idomain}", **facts)
    if not length_ok:
        return _base(p, Status.FAIL, "body_length_exceeds",
                     f"l={sig.length} is longer than the canonical body ({canon_len} octets)",
                     **facts)
    if not body_ok:
        reason = ("the body was changed after signing: body hash expected "
                  f"{_b64(sig.body_hash)}, computed {p.facts['body_hash_computed']}")
        # Both diagnostics read the body again: only where it can be re-read.
        again = p.message.rereadable
        prefix = signed_prefix_length(p.message, sig.body_canon, sig.hash_name,
                                      sig.body_hash) if sig.length is None and again else None
        if prefix is not None:
            facts["body_bytes_appended"] = canon_len - prefix
            reason += (f"; the first {prefix} octets of the canonical body still match, so "
                       f"{canon_len - prefix} octets were appended after signing (a footer "
                       "added by a mailing list or gateway?)")
        elif again and _looks_dot_stuffed(p.message):
            reason += ("; some body lines begin with '..': the message may still be "
                       "dot-stuffed SMTP data (RFC 5321 §4.5.2) rather than the message itself")
        return _base(p, Status.FAIL, "body_hash_mismatch", reason, **facts)
    if not check_signature(key, sig, data):
        return _base(p, Status.FAIL, "signature_mismatch",
                     "the body hash matches but the signature over the header fields does "
                     "not verify: a signed header field was changed, or the key does not "
                     "match", **facts)
    # RFC 8301: verified, but not acceptable.
    if sig.hash_name == "sha1" and not allow_sha1:
        return _base(p, Status.POLICY, "rsa_sha1",
                     "the signature verifies but uses rsa-sha1, which RFC 8301 §3.1 "
                     "forbids treating as valid", **facts)
    if is_rsa and bits < min_rsa_bits:
        return _base(p, Status.POLICY, "rsa_key_too_small",
                     f"the signature verifies but the RSA key has {bits} bits; at least "
                     f"{min_rsa_bits} are required (RFC 8301 §3.2)", **facts)
    reason = "the signature verifies"
    if record.testing:
        reason += " (the domain is testing DKIM: t=y)"
    return _base(p, Status.PASS, "ok", reason, **facts)
