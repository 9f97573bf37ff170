"""Verification (RFC 6376 §6, RFC 8301, RFC 8463) as a sans-I/O flow.

Every DKIM-Signature on the message (up to a cap) gets its own
:class:`SignatureResult`. The key records of all signatures are asked together, and
the body is hashed while they are on their way (one tuple of effects: the queries and
a :class:`~mailauth.flows.Work`, which ``arun()`` runs in a worker thread). The body
is read once, and each distinct (canonicalization, hash, ``l=``) is hashed once
however many signatures share it.

The flow takes the time as a number: the public verb reads the clock.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from .._display import Card, Displayed, Part
from .._flow import Answer, Flow, Outcome, Query, Work, work
from .._headerfmt import ascii_text, resinfo
from .._message import HeaderField, Message
from ..status import Status
from ._crypto import accept_key, check_signature
from ._hashing import (
    BodyKey,
    hash_bodies,
    header_hash_input,
    looks_dot_stuffed,
    signed_prefix_length,
)
from ._key import load_public_key
from ._signature import DKIMSyntaxError, KeyRecord, Signature, parse_key_record, parse_signature
from ._tags import parse_tags

__all__ = ["DKIMResult", "SignatureResult", "verify_dkim_flow"]

SIGNATURE_HEADER = "dkim-signature"
DEFAULT_MAX_SIGNATURES = 10
DEFAULT_CLOCK_SKEW = 300
MAX_KEYS_PER_SELECTOR = 3
# Header fields whose unsigned extra instance a reader could be shown (CASES 40).
_DISPLAYED = ("from", "subject", "to", "cc", "reply-to", "date", "sender")


@dataclass(frozen=True, slots=True, repr=False)
class SignatureResult(Displayed):
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

    def authres(self) -> str:
        """This signature's Authentication-Results resinfo (RFC 8601 §2.7.1):
        ``dkim=pass header.d=example.org header.i=@example.org header.s=sel
        header.a=rsa-sha256 header.b=abcdefgh``.

        ``header.b`` is the first 8 characters of ``b=`` (RFC 6008), telling apart
        signatures of one domain. Unless the signature passes, ``reason=`` gives the
        first clause of :attr:`reason`. ASCII only (``_headerfmt``): a UTF-8 ``i=`` is
        written with "?" for its non-ASCII characters.
        """
        properties = [(name, value) for name, value in (
            ("header.d", self.domain), ("header.i", self.identity),
            ("header.s", self.selector), ("header.a", self.algorithm),
            ("header.b", _b_prefix(self.header_field))) if value]
        reason = None if self.status is Status.PASS else _first_clause(self.reason)
        return " ".join(resinfo("dkim", str(self.status), reason=reason,
                                properties=properties))

    def _card(self, *, full: bool = True) -> Card:
        where = f" (d={self.domain} s={self.selector})" if self.domain else ""
        if not full:
            return Card(method="dkim", status=str(self.status), reason=self.reason + where)
        return Card(method="dkim", status=str(self.status), reason=self.reason + where,
                    facts=_signature_facts(self), header=self.authres())


@dataclass(frozen=True, slots=True, repr=False)
class DKIMResult(Displayed):
    """All signatures on a message. ``status`` is pass when any signature passes."""

    status: Status
    reason: str
    signatures: tuple[SignatureResult, ...] = ()
    ignored_signatures: int = 0   # beyond ``max_signatures``
    warnings: tuple[str, ...] = ()

    @property
    def passing(self) -> tuple[SignatureResult, ...]:
        return tuple(s for s in self.signatures if s.status is Status.PASS)

    def authres(self) -> str:
        """The Authentication-Results fragment (RFC 8601 §2.7.1): one ``dkim=`` resinfo
        per signature evaluated (:meth:`SignatureResult.authres`), joined by ``"; "``;
        ``dkim=none`` for a message without signatures, and ``dkim=permerror`` with a
        ``reason=`` for input that is not a message."""
        if self.signatures:
            return "; ".join(s.authres() for s in self.signatures)
        reason = None if self.status is Status.NONE else _first_clause(self.reason)
        return " ".join(resinfo("dkim", str(self.status), reason=reason))

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="dkim", status=str(self.status), reason=self.reason)
        facts = [("signatures", str(len(self.signatures)))]
        if self.ignored_signatures:
            facts.append(("not evaluated", f"{self.ignored_signatures} (beyond max_signatures)"))
        facts += [("warning", w) for w in self.warnings]
        parts = tuple(Part(title=_title(s), status=str(s.status), reason=s.reason,
                           facts=_signature_facts(s)) for s in self.signatures)
        return Card(method="dkim", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), parts=parts, header=self.authres())


def _b_prefix(header_field: str) -> str | None:
    """The first 8 characters of ``b=`` (RFC 6008 ``header.b``), or None when the
    field has no readable ``b=``."""
    try:
        tags = parse_tags(header_field.partition(":")[2])
    except DKIMSyntaxError:
        return None
    return "".join(tags.get("b", "").split())[:8] or None


def _first_clause(reason: str) -> str:
    """The reason up to its first ":" or ";" (the rest is detail), at most 100
    characters, for ``reason=`` in Authentication-Results."""
    cut = min([i for i in (reason.find(":"), reason.find(";")) if i > 0], default=len(reason))
    return ascii_text(reason[:cut].strip(), 100)


def _title(s: SignatureResult) -> str:
    if s.domain is None:
        return "malformed signature"
    return f"d={s.domain} s={s.selector} {s.algorithm}"


def _signature_facts(s: SignatureResult) -> tuple[tuple[str, str], ...]:
    """What a signature's display shows besides its verdict, in reading order."""
    facts = [("code", s.code)]
    if s.domain is None:
        facts.append(("field", s.header_field[:200]))
        return tuple(facts)
    facts.append(("c=", str(s.canonicalization)))
    facts.append(("h=", ":".join(s.headers_signed)))
    if s.identity:
        facts.append(("i=", s.identity))
    if s.body_hash_expected is not None:
        facts.append(("body hash expected", s.body_hash_expected))
    if s.body_hash_computed is not None:
        mark = "" if s.body_hash_matches else "  (MISMATCH)"
        facts.append(("body hash computed", s.body_hash_computed + mark))
    if s.body_length is not None:
        facts.append(("l=", f"{s.body_length} ({s.body_bytes_unsigned or 0} octets unsigned)"))
    if s.body_bytes_appended is not None:
        facts.append(("appended after signing", f"{s.body_bytes_appended} octets"))
    if s.key_type is not None:
        bits = f" {s.key_bits} bits" if s.key_bits else ""
        dnssec = "DNSSEC-authentic" if s.authentic else "not DNSSEC-authenticated"
        testing = ", testing (t=y)" if s.testing else ""
        facts.append(("key", f"{s.key_type}{bits}, {dnssec}{testing}"))
    if s.timestamp is not None:
        facts.append(("t=", str(s.timestamp)))
    if s.expiration is not None:
        facts.append(("x=", str(s.expiration)))
    facts += [("warning", w) for w in s.warnings]
    return tuple(facts)


_STATUS_ORDER = (Status.PASS, Status.FAIL, Status.POLICY, Status.NEUTRAL, Status.TEMPERROR,
                 Status.PERMERROR)
_RANK = {status: rank for rank, status in enumerate(_STATUS_ORDER)}


def _overall(results: Sequence[SignatureResult], ignored: int) -> DKIMResult:
    if not results:
        return DKIMResult(Status.NONE, "the message has no DKIM-Signature", (), ignored)
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
    return DKIMResult(status, reason, tuple(results), ignored)


# --- the flow ------------------------------------------------------------------------

class _Pending:
    """A signature that parsed, and what was learnt about it so far: the
    :class:`SignatureResult` fields beyond the signature's own tags."""

    __slots__ = ("authentic", "body_bytes_unsigned", "body_hash_computed", "header",
                 "key_bits", "key_record", "key_type", "sig", "testing", "warnings")

    def __init__(self, header: HeaderField, sig: Signature) -> None:
        self.header = header
        self.sig = sig
        self.body_hash_computed: str | None = None
        self.body_bytes_unsigned: int | None = None
        self.key_type: str | None = None
        self.key_bits: int | None = None
        self.key_record: str | None = None
        self.authentic = False
        self.testing = False
        self.warnings: tuple[str, ...] = ()


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _field_text(f: HeaderField) -> str:
    return f.data.decode("utf-8", "replace").rstrip("\r\n")


def verify_dkim_flow(message: Message, *, now: float, min_rsa_bits: int = 1024,
                     allow_sha1: bool = False, max_signatures: int = DEFAULT_MAX_SIGNATURES,
                     clock_skew: int = DEFAULT_CLOCK_SKEW, chunk_size: int = 1 << 20,
                     ) -> Flow[DKIMResult]:
    """The verification flow for a parsed message (see :func:`verify_dkim`).

    :param now: the verification time in Unix seconds (``x=``, ``t=``).
    """
    headers = message.headers
    if not (headers and headers[0].name) and not any(h.name for h in headers):
        return DKIMResult(Status.PERMERROR, _not_a_message(message))
    fields = [h for h in message.headers if h.lname == SIGNATURE_HEADER]
    considered, ignored = fields[:max_signatures], max(0, len(fields) - max_signatures)
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
        pending[index] = _Pending(f, sig)
    if not pending:
        return _overall([r for r in results if r is not None], ignored)

    # One query per distinct key name (§3.6.2), sent together and together with the
    # body hashes, which a worker thread computes meanwhile under arun(): one tuple of
    # effects, yielded as it is (what gather(query_all(...), work(...)) would merge).
    names = sorted({p.sig.key_name for p in pending.values()})
    wanted = {(p.sig.body_canon, p.sig.hash_name, p.sig.length) for p in pending.values()}
    *answers, bodies = yield (*[Query(n, "TXT") for n in names],
                              Work(_hash_bodies, (message, wanted, chunk_size)))
    if isinstance(bodies, Exception):
        raise bodies
    by_name = dict(zip(names, answers, strict=True))

    # Displayed fields present more than once: an unsigned extra one is worth a warning.
    lnames = [h.lname for h in message.headers]
    repeated = [(name, n) for name in _DISPLAYED if (n := lnames.count(name)) > 1] \
        if len(set(lnames)) < len(lnames) else []

    for index, p in pending.items():
        try:
            result = _evaluate(p, by_name[p.sig.key_name], bodies=bodies, message=message,
                               repeated=repeated, now=now, min_rsa_bits=min_rsa_bits,
                               allow_sha1=allow_sha1, clock_skew=clock_skew)
            if result.code == "body_hash_mismatch" and message.rereadable:
                # Both diagnostics read the body again: only where it can be re-read.
                canon_len = bodies[(p.sig.body_canon, p.sig.hash_name, p.sig.length)][1]
                more, appended = yield from work(_explain_body_change, message, p.sig,
                                                 canon_len)
                result = dataclasses.replace(result, reason=result.reason + more,
                                             body_bytes_appended=appended)
        except Exception as exc:  # a safety net: network input never raises
            p = _Pending(p.header, p.sig)  # whatever was learnt may be what failed
            result = _result(p, Status.PERMERROR, "internal_error",
                             f"the signature could not be processed ({type(exc).__name__}:"
                             f" {exc})")
        results[index] = result
    return _overall([r for r in results if r is not None], ignored)


# What files that are not messages begin with, for the reason (the first bytes).
_NOT_MESSAGES = (
    (b"\xd0\xcf\x11\xe0", "an OLE2 compound file, such as an Outlook .msg: save the "
                            "message as .eml (RFC 5322) instead"),
    (b"\x1f\x8b", "gzip data: decompress it first"),
    (b"PK\x03\x04", "a ZIP archive: extract the message first"),
    (b"%PDF", "a PDF document"),
)


def _not_a_message(message: Message) -> str:
    """The reason for input without a single header field: no header section, so not
    an RFC 5322 message (RFC 6376 §6.1 has nothing to verify)."""
    what = "the input is empty" if not message.headers and not message.separator else \
        "no header field before the body" if not message.headers else \
        "the first line is not a header field"
    first = message.headers[0].raw if message.headers else b""
    for magic, kind in _NOT_MESSAGES:
        if first.startswith(magic):
            what = f"it looks like {kind}"
            break
    return f"not a message: no header section was found ({what})"


def _hash_bodies(message: Message, wanted: set[BodyKey], chunk_size: int
                 ) -> dict[BodyKey, tuple[bytes, int]] | Exception:
    """:func:`hash_bodies` for a :class:`Work`: what it raises is returned, for the
    flow to raise (reading a file can fail)."""
    try:
        return hash_bodies(message, wanted, chunk_size)
    except Exception as exc:
        return exc


def _explain_body_change(message: Message, sig: Signature, canon_len: int
                         ) -> tuple[str, int | None]:
    """After a body hash failure: what to add to the reason, and how many octets were
    appended after signing when that is what happened (CASES 41, CASES 31)."""
    prefix = signed_prefix_length(message, sig.body_canon, sig.hash_name, sig.body_hash) \
        if sig.length is None else None
    if prefix is not None:
        return (f"; the first {prefix} octets of the canonical body still match, so "
                f"{canon_len - prefix} octets were appended after signing (a footer "
                "added by a mailing list or gateway?)", canon_len - prefix)
    if looks_dot_stuffed(message):
        return ("; some body lines begin with '..': the message may still be "
                "dot-stuffed SMTP data (RFC 5321 §4.5.2) rather than the message itself",
                None)
    return "", None


def _result(p: _Pending, status: Status, code: str, reason: str) -> SignatureResult:
    """The result for a pending signature: its tags and the facts learnt so far."""
    sig = p.sig
    # Arguments in field order (a test checks the order).
    return SignatureResult(
        status, code, reason, sig.domain, sig.selector, sig.algorithm, sig.canonicalization,
        sig.headers, sig.identity, _b64(sig.body_hash), p.body_hash_computed, sig.length,
        p.body_bytes_unsigned, None, p.key_type, p.key_bits, p.key_record, p.authentic,
        p.testing, sig.timestamp, sig.expiration, p.warnings, _field_text(p.header))


def _evaluate(p: _Pending, answer: Answer, *, bodies: dict[BodyKey, tuple[bytes, int]],
              message: Message, repeated: list[tuple[str, int]], now: float,
              min_rsa_bits: int, allow_sha1: bool, clock_skew: int) -> SignatureResult:
    sig = p.sig
    warnings: list[str] = []
    digest, canon_len = bodies[(sig.body_canon, sig.hash_name, sig.length)]
    p.body_hash_computed = _b64(digest)
    if sig.length is not None:
        p.body_bytes_unsigned = max(0, canon_len - sig.length)
        if canon_len > sig.length:
            warnings.append(f"l={sig.length}: {canon_len - sig.length} octets of the "
                            "canonical body are not covered by the signature (RFC 6376 §8.2)")
    for name, present in repeated:  # a fixed few names: linear in h= however long it is
        signed = sig.headers.count(name)
        if present > signed and name in sig.headers:
            warnings.append(f"the message has {present} {name} fields but h= covers {signed}: "
                            "an unsigned one could be shown to the reader")
    if warnings:
        p.warnings = tuple(warnings)
    p.authentic = answer.authentic

    # Time (§3.5 t=, x=).
    if sig.expiration is not None and sig.expiration + clock_skew < now:
        return _result(p, Status.FAIL, "signature_expired",
                       f"the signature expired at x={sig.expiration} "
                       f"({int(now) - sig.expiration} s ago)")
    if sig.timestamp is not None and sig.timestamp > now + clock_skew:
        return _result(p, Status.NEUTRAL, "timestamp_in_future",
                       f"the signature is dated t={sig.timestamp}, "
                       f"{sig.timestamp - int(now)} s in the future")

    # Key lookup (§3.6.2, §6.1.2).
    if answer.outcome is Outcome.TEMPFAIL:
        return _result(p, Status.TEMPERROR, "dns_error",
                       f"the key at {sig.key_name} could not be fetched: "
                       f"{answer.reason or 'temporary DNS failure'}")
    if answer.outcome is not Outcome.OK:
        return _result(p, Status.PERMERROR, "key_not_found",
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
            p.key_record = str(answer.records[0]) if answer.records else None
            return _result(p, Status.PERMERROR, first.code,
                           f"the key record at {sig.key_name} is malformed: {first}")
        return _result(p, Status.PERMERROR, "key_not_found", f"no key record at {sig.key_name}")
    if len(answer.records) > 1:
        warnings.append(f"{len(answer.records)} TXT records at {sig.key_name}; each usable key "
                        "was tried in sorted order")
        p.warnings = tuple(warnings)
        records.sort(key=lambda r: r.text)

    # Body hash (§6.1.3) and the hash over header fields.
    body_ok = digest == sig.body_hash
    length_ok = sig.length is None or sig.length <= canon_len
    data = header_hash_input(message.headers, sig.headers, p.header.data, sig.header_canon)

    best: SignatureResult | None = None
    for record in records[:MAX_KEYS_PER_SELECTOR]:
        result = _with_key(p, record, data=data, body_ok=body_ok, length_ok=length_ok,
                           canon_len=canon_len, min_rsa_bits=min_rsa_bits,
                           allow_sha1=allow_sha1)
        if result.status is Status.PASS:
            return result
        if best is None or _RANK[result.status] < _RANK[best.status]:
            best = result
    assert best is not None
    return best


def _with_key(p: _Pending, record: KeyRecord, *, data: bytes, body_ok: bool,
              length_ok: bool, canon_len: int, min_rsa_bits: int, allow_sha1: bool
              ) -> SignatureResult:
    sig = p.sig
    p.key_record, p.key_type, p.testing, p.key_bits = \
        record.text, record.key_type, record.testing, None
    refusal = accept_key(record, algorithm=sig.algorithm, key_name=sig.key_name,
                         min_rsa_bits=min_rsa_bits)
    if refusal is not None and refusal.status is not Status.POLICY:
        return _result(p, refusal.status, refusal.code, refusal.reason)
    key = load_public_key(record.key_type, record.public_key)  # memoised: loaded once
    p.key_bits = key.key_size if isinstance(key, rsa.RSAPublicKey) else 256
    if record.strict_identity:
        idomain = sig.identity.rpartition("@")[2]
        if idomain != sig.domain:
            return _result(p, Status.FAIL, "key_strict_identity",
                           f"the key has t=s, so i= must be in d={sig.domain} itself, "
                           f"not {idomain}")
    if not length_ok:
        return _result(p, Status.FAIL, "body_length_exceeds",
                       f"l={sig.length} is longer than the canonical body ({canon_len} octets)")
    if not body_ok:
        return _result(p, Status.FAIL, "body_hash_mismatch",
                       "the body was changed after signing: body hash expected "
                       f"{_b64(sig.body_hash)}, computed {p.body_hash_computed}")
    if not check_signature(key, sig.algorithm, sig.signature, data):
        return _result(p, Status.FAIL, "signature_mismatch",
                       "the body hash matches but the signature over the header fields does "
                       "not verify: a signed header field was changed, or the key does not "
                       "match")
    # RFC 8301: verified, but not acceptable.
    if sig.hash_name == "sha1" and not allow_sha1:
        return _result(p, Status.POLICY, "rsa_sha1",
                       "the signature verifies but uses rsa-sha1, which RFC 8301 §3.1 "
                       "forbids treating as valid")
    if refusal is not None:  # rsa_key_too_small
        return _result(p, refusal.status, refusal.code,
                       f"the signature verifies but {refusal.reason}")
    reason = "the signature verifies"
    if record.testing:
        reason += " (the domain is testing DKIM: t=y)"
    return _result(p, Status.PASS, "ok", reason)
