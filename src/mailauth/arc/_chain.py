"""ARC chain validation (RFC 8617 §5.2) as a sans-I/O flow.

The ARC header fields are read into sets by instance, the structure is checked
(§5.2 steps 1-3: at most 50 sets, each complete and unique, instances 1..N without a
gap, ``cv=`` none at i=1 and pass above), then every key is asked for in one tuple of
queries together with the body hashes (a :class:`~mailauth.flows.Work`), and the
signatures are checked: the newest AMS (step 4), the older ones for ``oldest-pass``
(step 5), every AS from the newest down (step 6).

An AMS is a DKIM signature with its own rules (RFC 8617 §4.1.2): the tags shared
with DKIM-Signature are validated by ``dkim._tags``, its hash input is built by
``dkim._hashing`` and checked by ``dkim._crypto``, the key records are read by
``dkim._signature``. An AS hashes the ARC Sets relaxed, without a body (§5.1.1).
Nothing here canonicalizes or verifies on its own.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .._flow import Answer, Flow, Outcome, Query, Work
from .._message import HeaderField, Message
from ..dkim._canon import relaxed_header
from ..dkim._crypto import accept_key, check_signature
from ..dkim._hashing import BodyKey, hash_bodies, header_hash_input, signed_fields_input
from ..dkim._key import load_public_key
from ..dkim._signature import KeyRecord, parse_key_record
from ..dkim._tags import (
    DKIMSyntaxError,
    SignatureTags,
    parse_algorithm,
    parse_base64,
    parse_domain,
    parse_selector,
    parse_signature_tags,
    parse_tags,
    parse_time,
    required,
)
from ..status import Status
from ._result import ARCResult, ARCSet

__all__ = ["AAR", "AMS", "AS", "MAX_INSTANCES", "arc_fields", "field_instance",
           "validate_chain_flow"]

AAR = "arc-authentication-results"
AMS = "arc-message-signature"
AS = "arc-seal"
_KINDS = (AAR, AMS, AS)
_NAMES = {AAR: "ARC-Authentication-Results", AMS: "ARC-Message-Signature", AS: "ARC-Seal"}
MAX_INSTANCES = 50                      # RFC 8617 §4.2.1
# More ARC fields than three per allowed instance cannot be a valid chain: the chain
# fails before any of them is parsed (bounded work on hostile input).
_MAX_FIELDS = 3 * MAX_INSTANCES
MAX_KEYS_PER_SELECTOR = 3
# RFC 8617 §4.2.1: instance = 1*2DIGIT within 1..50 (FWS already removed).
_INSTANCE = re.compile(r"[0-9]{1,2}\Z")
# The AAR starts with "i=N;" (RFC 8617 §4.1.1).
_AAR_INSTANCE = re.compile(rb"[ \t\r\n]*i[ \t\r\n]*=[ \t\r\n]*([0-9]{1,2})[ \t\r\n]*;")
_CV = {"none", "pass", "fail"}          # RFC 8617 §4.1.3 chain-status
_SEAL_TAGS_FORBIDDEN = ("h",)           # RFC 8617 §4.1.3: an AS with h= is invalid
# RFC 6376 §3.2: tag-list = tag-spec *( ";" tag-spec ) [ ";" ], and a tag-spec has a
# tag-name: ";;" is not a tag list. DKIM reads it leniently; an ARC field is refused.
_EMPTY_TAG_SPEC = re.compile(rb";[ \t\r\n]*;")


_RFC = {AS: "RFC 8617 §4.1.3", AMS: "RFC 8617 §4.1.2"}


def _arc_tags(value: bytes, rfc: str) -> dict[str, str]:
    """The tags of an AMS or AS (RFC 6376 §3.2, strictly: no empty tag-spec)."""
    if value.lstrip(b" \t\r\n").startswith(b";") or _EMPTY_TAG_SPEC.search(value):
        raise DKIMSyntaxError("empty_tag_spec", "an empty tag between semicolons "
                              "(RFC 6376 §3.2 tag-list)", rfc=rfc)
    return parse_tags(value, rfc=rfc)


def arc_fields(headers: Iterable[HeaderField]) -> list[HeaderField]:
    """The ARC header fields of a message, top to bottom."""
    return [h for h in headers if h.lname in _KINDS]


def field_instance(f: HeaderField, tags: Mapping[str, str] | None = None) -> int | None:
    """The instance (``i=``) of an ARC header field, or None when it has no valid
    one (RFC 8617 §4.2.1: 1 to 50). ``tags``: the field's tags when already parsed."""
    if f.lname == AAR:
        m = _AAR_INSTANCE.match(f.value)
        text = m.group(1).decode("ascii") if m else None
    else:
        if tags is None:
            try:
                tags = parse_tags(f.value)
            except DKIMSyntaxError:
                return None
        text = tags.get("i")
        text = "".join(text.split()) if text is not None else None
    if text is None or not _INSTANCE.match(text):
        return None
    n = int(text)
    return n if 1 <= n <= MAX_INSTANCES else None


# --- parsed signatures --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Seal:
    algorithm: str
    hash_name: str
    signature: bytes
    domain: str
    selector: str
    cv: str
    timestamp: int | None

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


def _parse_seal(tags: Mapping[str, str]) -> _Seal:
    """An ARC-Seal's tags (RFC 8617 §4.1.3): a, b, cv, d, i, s required, t optional,
    no h=."""
    for name in _SEAL_TAGS_FORBIDDEN:
        if name in tags:
            raise DKIMSyntaxError("seal_has_h", "an ARC-Seal must not have h= "
                                  "(RFC 8617 §4.1.3)", rfc="RFC 8617 §4.1.3")
    algorithm, _key_type, hash_name = parse_algorithm(required(tags, "a"))
    signature = parse_base64(required(tags, "b"), "b")
    if not signature:
        raise DKIMSyntaxError("empty_signature", "b= is empty")
    cv = "".join(required(tags, "cv").split()).lower()
    if cv not in _CV:
        raise DKIMSyntaxError("bad_cv", f"cv={cv[:20]} is not none, pass or fail "
                              "(RFC 8617 §4.1.3)", rfc="RFC 8617 §4.1.3")
    domain = parse_domain(required(tags, "d"))
    selector = parse_selector(required(tags, "s"))
    text = tags.get("t")
    timestamp = None if text is None else parse_time(text, "t")
    return _Seal(algorithm, hash_name, signature, domain, selector, cv, timestamp)


def _parse_ams(tags: Mapping[str, str]) -> SignatureTags:
    """An ARC-Message-Signature's tags (RFC 8617 §4.1.2): DKIM-Signature's tags, but
    ``i=`` is the instance, no ``v=``, and ``h=`` must not name ARC-Seal."""
    parsed = parse_signature_tags(tags, lenient_header_list=True)
    if AS in parsed.headers:
        raise DKIMSyntaxError("ams_signs_seal", "h= includes ARC-Seal, which an "
                              "ARC-Message-Signature must not sign (RFC 8617 §4.1.2)",
                              rfc="RFC 8617 §4.1.2")
    return parsed


@dataclass(slots=True)
class _Set:
    """What is known about one instance while the chain is validated."""

    instance: int
    fields: dict[str, list[HeaderField]] = field(default_factory=dict)
    seal: _Seal | None = None
    seal_error: str | None = None
    ams: SignatureTags | None = None
    ams_error: str | None = None
    seal_status: Status = Status.NONE
    ams_status: Status = Status.NONE
    reason: str = ""

    def one(self, kind: str) -> HeaderField:
        return self.fields[kind][0]


def _public_set(s: _Set) -> ARCSet:
    aar = s.fields.get(AAR)
    text = aar[0].data.decode("utf-8", "replace").rstrip("\r\n") \
        if aar and len(aar) == 1 else ""
    seal, ams = s.seal, s.ams
    return ARCSet(
        instance=s.instance,
        seal_domain=seal.domain if seal else None,
        seal_selector=seal.selector if seal else None,
        seal_algorithm=seal.algorithm if seal else None,
        cv=seal.cv if seal else None,
        seal_status=s.seal_status,
        ams_domain=ams.domain if ams else None,
        ams_selector=ams.selector if ams else None,
        ams_algorithm=ams.algorithm if ams else None,
        ams_status=s.ams_status,
        reason=s.reason,
        auth_results_text=text,
        ams_headers=ams.headers if ams else (),
        timestamp=seal.timestamp if seal else None,
    )


def _result(status: Status, code: str, reason: str, sets: Sequence[_Set], *,
            failed: int | None = None, oldest_pass: int | None = None) -> ARCResult:
    public = tuple(_public_set(s) for s in sets)
    chain = tuple(s.seal_domain or "" for s in public) \
        if all(s.seal_domain for s in public) else ()
    return ARCResult(status, reason, code, failed, oldest_pass, public, chain)


# --- keys and signatures ------------------------------------------------------------

def _check(answer: Answer | None, key_name: str, algorithm: str, signature: bytes, *,
           data: bytes, min_rsa_bits: int) -> tuple[bool, str]:
    """Whether a signature verifies with the key published at ``key_name``, and why
    not (RFC 6376 §6.1.2-§6.1.3 as RFC 8617 §5.2 uses them)."""
    if answer is None:
        return False, f"no key lookup for {key_name}"
    if answer.outcome is Outcome.TEMPFAIL:
        return False, (f"the key at {key_name} could not be fetched "
                       f"({answer.reason or 'temporary DNS failure'})")
    if answer.outcome is not Outcome.OK:
        return False, f"no key record at {key_name} ({answer.outcome.name})"
    records: list[KeyRecord] = []
    first_error: str | None = None
    for text in answer.records:
        if not isinstance(text, str):
            continue
        try:
            records.append(parse_key_record(text))
        except DKIMSyntaxError as exc:
            first_error = first_error or f"the key record at {key_name} is malformed: {exc}"
    if not records:
        return False, first_error or f"no key record at {key_name}"
    records.sort(key=lambda r: r.text)
    why = ""
    for record in records[:MAX_KEYS_PER_SELECTOR]:
        refusal = accept_key(record, algorithm=algorithm, key_name=key_name,
                             min_rsa_bits=min_rsa_bits)
        if refusal is not None:   # RFC 8301: a short RSA key or sha1 is not a pass
            why = why or refusal.reason
            continue
        key = load_public_key(record.key_type, record.public_key)
        if check_signature(key, algorithm, signature, data):
            return True, "the signature verifies"
        why = why or f"the signature does not verify with the key at {key_name}"
    return False, why


def _sha1_refusal(algorithm: str) -> str | None:
    if algorithm == "rsa-sha1":
        return "rsa-sha1 is not acceptable (RFC 8301 §3.1)"
    return None


def _ams_input(message: Message, ams: SignatureTags, f: HeaderField) -> bytes:
    return header_hash_input(message.headers, ams.headers, f.data, ams.header_canon)


def _seal_input(sets: Sequence[_Set], upto: int, relaxed: dict[int, bytes]) -> bytes:
    """What the AS of instance ``upto`` covers: every ARC Set from 1 to ``upto`` in
    order, AAR, AMS, AS, relaxed, the AS itself last with ``b=`` empty (RFC 8617
    §5.1.1). ``relaxed`` keeps each field's relaxed form between seals (every seal
    covers the fields of the older ones)."""
    fields: list[HeaderField] = []
    for s in sets[:upto]:
        fields += [s.one(AAR), s.one(AMS), s.one(AS)]
    own = fields.pop()
    parts = []
    for f in fields:
        form = relaxed.get(id(f))
        if form is None:
            form = relaxed[id(f)] = relaxed_header(f.data)
        parts.append(form)
    return b"".join(parts) + signed_fields_input((), own.data, "relaxed")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _tags_or_raise(tags: dict[str, str] | DKIMSyntaxError) -> dict[str, str]:
    if isinstance(tags, DKIMSyntaxError):
        raise tags
    return tags


# --- the flow -----------------------------------------------------------------------

def validate_chain_flow(message: Message, *, now: float, min_rsa_bits: int = 1024,
                        clock_skew: int = 300, chunk_size: int = 1 << 20,
                        ) -> Flow[ARCResult]:
    """The chain validation of RFC 8617 §5.2 for a parsed message.

    :param now: Unix seconds, for an AMS ``x=``.
    """
    found = arc_fields(message.headers)
    # Step 1: no ARC Sets: none.
    if not found:
        return ARCResult(Status.NONE, "the message has no ARC Sets", "no_arc_sets")
    if len(found) > _MAX_FIELDS:
        return ARCResult(Status.FAIL, f"the message has {len(found)} ARC header fields; a "
                         f"chain has at most {MAX_INSTANCES} sets of three (RFC 8617 "
                         "§4.2.1)", "too_many_sets")
    by_instance: dict[int, _Set] = {}
    # The tags of each AS and AMS, read once (the instance, then the signature).
    tags_of: dict[int, dict[str, str] | DKIMSyntaxError] = {}
    for f in found:
        tags: dict[str, str] | None = None
        if f.lname != AAR:
            try:
                tags = _arc_tags(f.value, _RFC[f.lname])
                tags_of[id(f)] = tags
            except DKIMSyntaxError as exc:
                tags_of[id(f)] = exc
        n = field_instance(f, tags)
        if n is None:
            return ARCResult(Status.FAIL, f"an {_NAMES[f.lname]} field has no valid "
                             f"instance (i= from 1 to {MAX_INSTANCES}, RFC 8617 §4.2.1)",
                             "bad_instance")
        s = by_instance.get(n)
        if s is None:
            s = by_instance[n] = _Set(n)
        s.fields.setdefault(f.lname, []).append(f)
    top = max(by_instance)
    sets = [by_instance.get(i) or _Set(i) for i in range(1, top + 1)]

    # Parse the seals first: step 2 looks at the newest cv=.
    for s in sets:
        seals = s.fields.get(AS, [])
        if len(seals) == 1:
            try:
                s.seal = _parse_seal(_tags_or_raise(tags_of[id(seals[0])]))
            except DKIMSyntaxError as exc:
                s.seal_error = f"the ARC-Seal is malformed: {exc}"
        ams = s.fields.get(AMS, [])
        if len(ams) == 1:
            try:
                s.ams = _parse_ams(_tags_or_raise(tags_of[id(ams[0])]))
            except DKIMSyntaxError as exc:
                s.ams_error = f"the ARC-Message-Signature is malformed: {exc}"

    # Step 2: the newest seal says the chain already failed.
    newest = sets[-1]
    if newest.seal is not None and newest.seal.cv == "fail":
        newest.reason = "the ARC-Seal has cv=fail"
        return _result(Status.FAIL, "chain_marked_failed",
                       f"instance {top} sealed the chain as failed (cv=fail)", sets,
                       failed=top)

    # Step 3: structure.
    for s in sets:
        for kind in _KINDS:
            count = len(s.fields.get(kind, ()))
            if count != 1:
                what = "missing" if count == 0 else "duplicate"
                s.reason = f"{what} {_NAMES[kind]}"
                return _result(Status.FAIL, f"{what}_{kind.rpartition('-')[2]}",
                               f"instance {s.instance}: {s.reason} (every ARC Set has "
                               "exactly one of each field, RFC 8617 §5.2 step 3)",
                               sets, failed=s.instance)
    for s in sets:
        if s.seal is None:
            s.reason = s.seal_error or "unreadable ARC-Seal"
            s.seal_status = Status.FAIL
            return _result(Status.FAIL, "bad_seal", f"instance {s.instance}: {s.reason}",
                           sets, failed=s.instance)
        expected = "none" if s.instance == 1 else "pass"
        if s.seal.cv != expected:
            s.reason = f"cv={s.seal.cv} where {expected} is required"
            s.seal_status = Status.FAIL
            return _result(Status.FAIL, "bad_cv",
                           f"instance {s.instance}: {s.reason} (RFC 8617 §5.2 step 3)",
                           sets, failed=s.instance)

    # One round of DNS, with the body hashes computed meanwhile.
    names = sorted({s.seal.key_name for s in sets if s.seal is not None}
                   | {f"{s.ams.selector}._domainkey.{s.ams.domain}"
                      for s in sets if s.ams is not None})
    wanted = {(s.ams.body_canon, s.ams.hash_name, s.ams.length)
              for s in sets if s.ams is not None}
    *answers, bodies = yield (*[Query(n, "TXT") for n in names],
                              Work(_hash_bodies, (message, wanted, chunk_size)))
    if isinstance(bodies, Exception):
        raise bodies
    by_name: dict[str, Answer] = dict(zip(names, answers, strict=True))

    # Step 4: the newest AMS.
    _check_ams(newest, message, by_name, bodies, now=now, min_rsa_bits=min_rsa_bits,
               clock_skew=clock_skew)
    if newest.ams_status is not Status.PASS:
        return _result(Status.FAIL, "ams_failed",
                       f"instance {top}: the ARC-Message-Signature does not validate: "
                       f"{newest.reason}", sets, failed=top)
    # Step 5: oldest-pass.
    oldest_pass = 0
    for s in reversed(sets[:-1]):
        _check_ams(s, message, by_name, bodies, now=now, min_rsa_bits=min_rsa_bits,
                   clock_skew=clock_skew)
        if s.ams_status is not Status.PASS:
            oldest_pass = s.instance + 1
            # The rest are not checked (RFC 8617 §5.2 step 5 stops here).
            break
    # Step 6: every seal, newest first.
    relaxed: dict[int, bytes] = {}
    for s in reversed(sets):
        seal = s.seal
        assert seal is not None
        refusal = _sha1_refusal(seal.algorithm)
        ok, why = (False, refusal) if refusal else _check(
            by_name.get(seal.key_name), seal.key_name, seal.algorithm, seal.signature,
            data=_seal_input(sets, s.instance, relaxed), min_rsa_bits=min_rsa_bits)
        s.seal_status = Status.PASS if ok else Status.FAIL
        if not ok:
            s.reason = f"the ARC-Seal does not validate: {why}"
            return _result(Status.FAIL, "seal_failed", f"instance {s.instance}: {s.reason}",
                           sets, failed=s.instance)
    domains = " > ".join(s.seal.domain for s in sets if s.seal)
    return _result(Status.PASS, "ok",
                   f"{top} ARC Set(s) validate, sealed by {domains}", sets,
                   oldest_pass=oldest_pass)


def _check_ams(s: _Set, message: Message, by_name: dict[str, Answer],
               bodies: dict[BodyKey, tuple[bytes, int]], *, now: float, min_rsa_bits: int,
               clock_skew: int) -> None:
    """Validate the AMS of one set, as a DKIM signature (RFC 8617 §5.2 step 4)."""
    ams = s.ams
    if ams is None:
        s.ams_status, s.reason = Status.FAIL, s.ams_error or "unreadable AMS"
        return
    key_name = f"{ams.selector}._domainkey.{ams.domain}"
    digest, canon_len = bodies[(ams.body_canon, ams.hash_name, ams.length)]
    why: str | None = _sha1_refusal(ams.algorithm)
    if why is None and ams.expiration is not None and ams.expiration + clock_skew < now:
        why = f"the signature expired at x={ams.expiration}"
    if why is None and ams.length is not None and ams.length > canon_len:
        why = f"l={ams.length} is longer than the canonical body ({canon_len} octets)"
    if why is None and digest != ams.body_hash:
        why = (f"the body hash does not match (expected {_b64(ams.body_hash)}, "
               f"computed {_b64(digest)})")
    if why is None:
        ok, text = _check(by_name.get(key_name), key_name, ams.algorithm, ams.signature,
                          data=_ams_input(message, ams, s.one(AMS)), min_rsa_bits=min_rsa_bits)
        why = None if ok else text
    s.ams_status = Status.PASS if why is None else Status.FAIL
    if why is not None:
        s.reason = f"AMS: {why}"


def _hash_bodies(message: Message, wanted: set[BodyKey], chunk_size: int
                 ) -> dict[BodyKey, tuple[bytes, int]] | Exception:
    """:func:`hash_bodies` for a :class:`Work`: what it raises is returned."""
    try:
        return hash_bodies(message, wanted, chunk_size)
    except Exception as exc:
        return exc
