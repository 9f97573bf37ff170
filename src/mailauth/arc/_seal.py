"""Sealing (RFC 8617 §5.1): no I/O, returns the three ARC header fields to prepend.

The ARC-Authentication-Results carries this hop's results; the ARC-Message-Signature
is signed as a DKIM signature is (``dkim._hashing``, ``dkim._crypto``), over the
message with the new AAR on top; the ARC-Seal covers every ARC Set in order, relaxed
(§5.1.1), or only the new set when the chain as received failed (§5.1.2).

Tags are written in alphabetical order with one space after each ";" and no white
space inside a value other than ``b=`` (the ValiMail suite's "standardized signing
header format"), so a seal of given inputs is reproducible byte for byte.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import ed25519

from .._headerfmt import authentication_results
from .._message import HeaderField, Message
from ..dkim._crypto import sign_digest
from ..dkim._hashing import hash_bodies, header_hash_input, signed_fields_input, strip_b_value
from ..dkim._key import PrivateKey
from ..dkim._sign import _canonicalization, _signing_domain, _signing_key, choose_headers
from ..errors import ArgumentTypeError, SigningError, UsageError
from ..status import Status
from ._chain import (
    AAR,
    AMS,
    AS,
    MAX_INSTANCES,
    _arc_tags,
    _parse_seal,
    arc_fields,
    field_instance,
)
from ._result import ARCResult

__all__ = ["AuthResultsLike", "seal_message"]

_WIDTH = 76
_MAX_LINE = 998   # octets of a header line without its CRLF (RFC 5322 §2.1.1)


@runtime_checkable
class AuthResultsLike(Protocol):
    """Anything with ``resinfos()``, such as :class:`mailauth.AuthResults`."""

    def resinfos(self) -> tuple[str, ...]: ...


def _resinfos(auth_results: str | Iterable[str] | AuthResultsLike) -> list[str]:
    """This hop's results as resinfo strings (RFC 8601 §2.2)."""
    if isinstance(auth_results, AuthResultsLike):
        items: Iterable[str] = auth_results.resinfos()
    elif isinstance(auth_results, str):
        items = auth_results.split(";")
    elif isinstance(auth_results, Iterable):
        items = auth_results
    else:
        raise ArgumentTypeError("auth_results is a str of resinfos, an iterable of them, "
                                "or an object with resinfos(), not "
                                f"{type(auth_results).__name__}")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ArgumentTypeError(f"a resinfo is a str, not {type(item).__name__}")
        words = " ".join(item.split())
        if words and words.lower() != "none":
            out.append(words)
    return out


def _aar(instance: int, authserv_id: str, resinfos: list[str]) -> bytes:
    if not isinstance(authserv_id, str):
        raise ArgumentTypeError(f"authserv_id is a str, not {type(authserv_id).__name__}")
    if not authserv_id.strip() or not authserv_id.isascii() or any(
            c in authserv_id for c in "\r\n;"):
        raise UsageError(f"authserv_id {authserv_id!r} is not an RFC 8601 authserv-id")
    try:
        text = authentication_results(authserv_id.strip(), [r.split(" ") for r in resinfos],
                                      instance=instance, width=_WIDTH)
    except ValueError as exc:
        raise UsageError(f"the results cannot be written in an ARC-Authentication-Results "
                         f"field: {exc}") from None
    return text.encode("ascii") + b"\r\n"


def _signature_length(key: PrivateKey) -> int:
    """The base64 length of a signature made with ``key``."""
    octets = 64 if isinstance(key, ed25519.Ed25519PrivateKey) else (key.key_size + 7) // 8
    return 4 * ((octets + 2) // 3)


def _pack(words: list[str], first: str) -> list[str]:
    """``words`` on lines of at most ``_WIDTH`` octets, the first line starting with
    ``first``, the others with one space (a fold between tags, RFC 6376 §3.2)."""
    lines: list[str] = []
    line = first
    for word in words:
        if line and len(line) + 1 + len(word) > _WIDTH and line.strip() and \
                line != first:
            lines.append(line)
            line = " " + word
        else:
            line = f"{line} {word}" if line else " " + word
    if line:
        lines.append(line)
    return lines


def _layout(name: str, tags: list[tuple[str, str]], b64: str) -> bytes:
    """The field: the tags before ``b=`` after the name, ``b=`` on a line of its own,
    the tags after it packed on the following lines. With ``b64`` empty this is the
    text that is hashed: the signature is then written into its own line only.

    The ``b=`` value is not folded (a line of up to 998 octets, RFC 5322 §2.1.1): a
    later hop's ARC-Seal covers this field in relaxed form, where a fold inside the
    value stays as a space, so a folded value gives another seal than the reference
    signer's. Unfolded, the seals are those of the ValiMail suite byte for byte
    (tests/test_arc_vectors.py). Only a signature too long for one line is folded."""
    index = [t for t, _ in tags].index("b")
    before = [f"{t}={v};" for t, v in tags[:index]]
    after = [f"{t}={v}" for t, v in tags[index + 1:]]
    after = [w + ";" for w in after[:-1]] + after[-1:]
    lines = _pack(before, f"{name}:")
    if len(b64) + 4 <= _MAX_LINE:
        b_lines = [" b=" + b64]
    else:   # only a signature of over 7,900 bits needs a fold
        pieces = [b64[:70]] + [b64[i:i + 72] for i in range(70, len(b64), 72)]
        b_lines = [" b=" + pieces[0]] + [" " + p for p in pieces[1:]]
    b_lines[-1] += ";" if after else ""
    lines += b_lines
    lines += _pack(after, "")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _signed_field(name: str, tags: list[tuple[str, str]], key: PrivateKey,
                  hash_input: Callable[[bytes], bytes]) -> bytes:
    """The field with its ``b=``: the hash input is the field with ``b=`` empty
    (RFC 6376 §3.7), which the layout leaves unchanged when the value is filled in."""
    unsigned = _layout(name, tags, "")
    signature = sign_digest(key, "sha256", hash_input(unsigned))
    signed = _layout(name, tags, base64.b64encode(signature).decode("ascii"))
    assert strip_b_value(signed) == unsigned
    return signed


def seal_message(message: Message, *, domain: str, selector: str,
                 key: bytes | str | PrivateKey, authserv_id: str,
                 auth_results: str | Iterable[str] | AuthResultsLike,
                 chain: ARCResult | None = None, headers: Iterable[str] | None = None,
                 timestamp: int | None = None, algorithm: str | None = None,
                 canonicalization: str = "relaxed/relaxed") -> bytes:
    """See :func:`mailauth.arc.seal_arc`; ``timestamp`` is Unix seconds or None."""
    private, algorithm = _signing_key(key, algorithm)
    d = _signing_domain(domain, selector)
    header_canon, body_canon = _canonicalization(canonicalization)
    resinfos = _resinfos(auth_results)
    if chain is not None and not isinstance(chain, ARCResult):
        raise ArgumentTypeError(f"chain is the ARCResult of verify_arc, not "
                                f"{type(chain).__name__}")

    # The chain as received (§5.1): the highest instance, its seal's cv=, and cv= of
    # the new seal from the validation result.
    existing = arc_fields(message.headers)
    instances: dict[int, dict[str, list[HeaderField]]] = {}
    for f in existing:
        n = field_instance(f)
        if n is not None:
            instances.setdefault(n, {}).setdefault(f.lname, []).append(f)
    top = max(instances, default=0)
    if existing and chain is None:
        raise UsageError("the message already has ARC header fields: pass chain=, the "
                         "ARCResult of verify_arc on the message as received (RFC 8617 §5.1 "
                         "seals with its chain validation status)")
    if existing and chain is not None and chain.status is Status.NONE:
        raise UsageError("chain= says the message has no ARC Sets, but it has ARC header "
                         "fields: chain= is not the result of verifying this message")
    newest_seals = instances.get(top, {}).get(AS, [])
    for f in newest_seals:
        try:
            marked = _parse_seal(_arc_tags(f.value, "RFC 8617 §4.1.3")).cv == "fail"
        except ValueError:
            marked = False
        if marked:
            raise SigningError(f"the newest ARC Set (i={top}) already has cv=fail: the "
                               "chain is failed and must not be sealed again (RFC 8617 §5.1)")
    if chain is not None and chain.code == "chain_marked_failed":
        raise SigningError("the chain was already sealed as failed (cv=fail): it must not "
                           "be sealed again (RFC 8617 §5.1)")
    instance = top + 1
    if instance > MAX_INSTANCES:
        raise SigningError(f"the message has {top} ARC Sets; a chain has at most "
                           f"{MAX_INSTANCES} (RFC 8617 §4.2.1)")
    if top == 0:
        cv = "none"
    else:
        assert chain is not None
        cv = "pass" if chain.status is Status.PASS else "fail"

    # The AAR (§4.1.1).
    aar = _aar(instance, authserv_id, resinfos)
    aar_field = HeaderField("ARC-Authentication-Results", aar, aar)

    # The AMS (§4.1.2): a DKIM signature over the message with the AAR on top.
    names = choose_headers(message, headers, oversign=False) if headers is not None \
        else choose_headers(message, None, oversign=False) + \
        ["dkim-signature"] * sum(1 for h in message.headers if h.lname == "dkim-signature")
    if AS in names:
        raise UsageError("the ARC-Message-Signature must not sign ARC-Seal (RFC 8617 §4.1.2)")
    wanted = (body_canon, "sha256", None)
    body_hash = hash_bodies(message, [wanted])[wanted][0]
    t = [("t", str(int(timestamp)))] if timestamp is not None else []
    ams_tags = [("a", algorithm), ("b", ""), ("bh", base64.b64encode(body_hash).decode()),
                ("c", f"{header_canon}/{body_canon}"), ("d", d), ("h", ":".join(names)),
                ("i", str(instance)), ("s", selector), *t]
    with_aar = (aar_field, *message.headers)
    ams = _signed_field("ARC-Message-Signature", ams_tags, private,
                        lambda own: header_hash_input(with_aar, names, own, header_canon))

    # The AS (§4.1.3, §5.1.1): every set in order, or only the new one after a failure.
    previous: list[bytes] = []
    if cv == "pass":
        for n in range(1, instance):
            kinds = instances.get(n, {})
            if any(len(kinds.get(kind, ())) != 1 for kind in (AAR, AMS, AS)):
                raise UsageError(f"chain= says the chain passes, but instance {n} of this "
                                 "message is not a complete ARC Set: chain= is not the result "
                                 "of verifying this message")
            previous += [kinds[AAR][0].data, kinds[AMS][0].data, kinds[AS][0].data]
    covered = [*previous, aar, ams]
    seal_tags = [("a", algorithm), ("b", ""), ("cv", cv), ("d", d), ("i", str(instance)),
                 ("s", selector), *t]
    seal = _signed_field("ARC-Seal", seal_tags, private,
                         lambda own: signed_fields_input(covered, own, "relaxed"))
    return seal + ams + aar
