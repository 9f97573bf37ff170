"""Signing (RFC 6376 §5): no I/O, returns the DKIM-Signature field to prepend.

:func:`sign_message` reads as the steps of §5: check the key and the arguments,
choose the header fields (:func:`choose_headers`), hash the body, write the tags,
fold them, and sign the header hash input with ``b=`` empty.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric import ed25519

from .._domain import normalize_domain
from .._grammar import SELECTOR_RE
from .._headerfmt import fold_base64, fold_tag_list
from .._message import Message
from ..errors import ArgumentTypeError, SigningError, UsageError
from ._crypto import sign_digest
from ._hashing import hash_bodies, header_hash_input
from ._key import PrivateKey, load_private_key
from ._tags import CANONICALIZATIONS

__all__ = ["DEFAULT_OVERSIGN", "RECOMMENDED_HEADERS", "choose_headers", "sign_message"]

# RFC 6376 §5.4.1 lists these as the fields to sign, plus RFC 8058's
# List-Unsubscribe-Post; a field is signed only when the message has it.
RECOMMENDED_HEADERS: tuple[str, ...] = (
    "from", "reply-to", "subject", "date", "to", "cc", "resent-date", "resent-from",
    "resent-to", "resent-cc", "in-reply-to", "references", "list-id", "list-help",
    "list-unsubscribe", "list-unsubscribe-post", "list-subscribe", "list-post", "list-owner",
    "list-archive", "message-id", "mime-version", "content-type",
    "content-transfer-encoding",
)
# Fields listed once more than present (§5.4.2, §8.15): nobody can add another one
# without breaking the signature.
DEFAULT_OVERSIGN: tuple[str, ...] = (
    "from", "subject", "to", "cc", "reply-to", "date", "message-id", "mime-version",
    "content-type", "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
)
# The signer's lines: 76 octets, within RFC 5322's 78 with room for a relay's prefix.
_WIDTH = 76


def sign_message(message: Message, *, domain: str, selector: str,
                 key: bytes | str | PrivateKey, headers: Iterable[str] | None = None,
                 oversign: bool | Iterable[str] = True,
                 canonicalization: str = "relaxed/relaxed", identity: str | None = None,
                 timestamp: int | None = None, expiration: int | None = None,
                 body_length: bool | int = False, algorithm: str | None = None,
                 query_method: bool = False, header_list_separator: str = ":",
                 ) -> bytes:
    """See :func:`mailauth.dkim.sign_dkim`; ``timestamp`` is Unix seconds or None
    (the public verb reads the clock for ``timestamp=True``)."""
    private, algorithm = _signing_key(key, algorithm)
    d = _signing_domain(domain, selector)
    header_canon, body_canon = _canonicalization(canonicalization)
    if identity is not None:
        _check_identity(identity, d)
    names = choose_headers(message, headers, oversign)
    if expiration is not None and timestamp is not None and expiration <= timestamp:
        raise UsageError("expiration must be after the timestamp (§3.5 x=)")
    body_hash, limit = _body_hash(message, body_canon, body_length)

    tags = [("v", "1"), ("a", algorithm), ("c", f"{header_canon}/{body_canon}"), ("d", d)]
    if identity is not None:
        tags.append(("i", identity))
    if query_method:
        tags.append(("q", "dns/txt"))
    tags.append(("s", selector))
    if timestamp is not None:
        tags.append(("t", str(int(timestamp))))
    if expiration is not None:
        tags.append(("x", str(int(expiration))))
    if limit is not None:
        tags.append(("l", str(limit)))
    tags.append(("h", header_list_separator.join(names)))
    tags.append(("bh", base64.b64encode(body_hash).decode("ascii")))
    tags.append(("b", ""))
    # Folded once, with b= empty and last: that text is hashed, and the signature is
    # appended to it, folded from where its last line ends (so nothing hashed moves).
    unsigned = _fold_tags(tags)

    # §3.7: the header hash covers the new field itself, with b= empty.
    raw = unsigned.encode("utf-8")
    data = header_hash_input(message.headers, names, raw + b"\r\n", header_canon)
    b64 = base64.b64encode(sign_digest(private, "sha256", data)).decode("ascii")
    column = len(raw) - raw.rfind(b"\n") - 1
    return raw + fold_base64(b64, column=column, width=_WIDTH).encode("ascii") + b"\r\n"


def _fold_tags(tags: list[tuple[str, str]]) -> str:
    """The tags folded by :func:`~mailauth._headerfmt.fold_tag_list`, which writes
    ASCII only: an ``i=`` in UTF-8 (RFC 6376 §3.5 with RFC 6532) is folded as an ASCII
    stand-in of the same length in octets, then put back. ``i=`` holds no white space
    (checked), so no fold falls inside it and every line keeps its width in octets."""
    identity = dict(tags).get("i")
    if identity is None or identity.isascii():
        return fold_tag_list(tags, name="DKIM-Signature", width=_WIDTH)
    stand_in = "x" * len(identity.encode("utf-8"))
    folded = fold_tag_list([(t, stand_in if t == "i" else v) for t, v in tags],
                           name="DKIM-Signature", width=_WIDTH)
    return folded.replace(f" i={stand_in}", f" i={identity}", 1)


def _signing_key(key: bytes | str | PrivateKey, algorithm: str | None
                 ) -> tuple[PrivateKey, str]:
    """The private key and the algorithm it signs with (RFC 8301, RFC 8463)."""
    private = load_private_key(key)
    is_ed = isinstance(private, ed25519.Ed25519PrivateKey)
    natural = "ed25519-sha256" if is_ed else "rsa-sha256"
    chosen = (algorithm or natural).lower()
    if chosen != natural:
        raise SigningError(f"a {'Ed25519' if is_ed else 'RSA'} key signs with {natural}, "
                           f"not {chosen} (RFC 8301 forbids rsa-sha1 for signers)")
    if not isinstance(private, ed25519.Ed25519PrivateKey) and private.key_size < 1024:
        raise SigningError(f"the RSA key has {private.key_size} bits; RFC 8301 §3.2 "
                           "requires at least 1024 (2048 recommended)")
    return private, chosen


def _signing_domain(domain: str, selector: str) -> str:
    """``d=`` normalised, once ``domain`` and ``selector`` are checked."""
    if not isinstance(domain, str) or not isinstance(selector, str):
        raise ArgumentTypeError("domain and selector are str")
    try:
        d = normalize_domain(domain)
    except ValueError as exc:
        raise UsageError(f"domain {domain!r} is not a domain name: {exc}") from None
    if not SELECTOR_RE.fullmatch(selector):
        raise UsageError(f"selector {selector!r} is not dot-separated sub-domain labels")
    return d


def _canonicalization(canonicalization: str) -> tuple[str, str]:
    header_canon, _, body_canon = canonicalization.lower().partition("/")
    body_canon = body_canon or "simple"
    if header_canon not in CANONICALIZATIONS or body_canon not in CANONICALIZATIONS:
        raise UsageError(f"canonicalization {canonicalization!r} is not simple or relaxed "
                         "for header/body")
    return header_canon, body_canon


def _check_identity(identity: str, d: str) -> None:
    """§3.5 i=: an address whose domain is ``d`` or under it."""
    _local, at, idomain = identity.rpartition("@")
    if not at:
        raise UsageError(f"identity {identity!r} needs an '@'")
    try:
        idomain = normalize_domain(idomain)
    except ValueError as exc:
        raise UsageError(f"identity {identity!r} has no valid domain: {exc}") from None
    if idomain != d and not idomain.endswith("." + d):
        raise UsageError(f"identity domain {idomain} is not {d} or under it (§3.5 i=)")
    if any(c in identity for c in "; \t\r\n"):
        raise UsageError("identity must not contain ';' or whitespace")


def choose_headers(message: Message, headers: Iterable[str] | None,
                   oversign: bool | Iterable[str]) -> list[str]:
    """The ``h=`` names, in order: ``headers`` (default: those of
    :data:`RECOMMENDED_HEADERS` the message has, as many times as it has them), From
    always, then the oversigned names once more (§5.4, §5.4.2, §8.15).

    :raises SigningError: when the message has no From field.
    """
    present: dict[str, int] = {}
    for h in message.headers:
        if h.name:
            present[h.lname] = present.get(h.lname, 0) + 1
    if "from" not in present:
        raise SigningError("the message has no From field, which DKIM must sign "
                           "(RFC 6376 §5.4)")
    if headers is None:
        names = [name for name in RECOMMENDED_HEADERS for _ in range(present.get(name, 0))]
    else:
        names = [n.lower().strip() for n in headers]
        if any(not n or ":" in n or ";" in n or " " in n for n in names):
            raise UsageError("header names must be non-empty and contain no ':', ';' or space")
        if "from" not in names:
            names.insert(0, "from")
    extra: Iterable[str] = DEFAULT_OVERSIGN if oversign is True else (oversign or ())
    extra_order = [n.lower() for n in extra]
    extra_set = set(extra_order)
    for name in dict.fromkeys([*names, *extra_order]):
        # Every instance present, plus one: the missing ones at the end (as RFC 8463
        # Appendix A does). A field the message lacks is listed once. So no instance
        # can be added above the signed ones without breaking the signature (§5.4.2,
        # §8.15): a verifier takes instances from the bottom, and the extra entry
        # takes an added one, which was not there when signing.
        if name in extra_set:
            names += [name] * (present.get(name, 0) + 1 - names.count(name))
    return names


def _body_hash(message: Message, body_canon: str, body_length: bool | int
               ) -> tuple[bytes, int | None]:
    """``bh=`` and ``l=`` (None unless asked: True for the whole body, or a count)."""
    limit: int | None = None
    if body_length is not False and body_length is not True:
        limit = int(body_length)
        if limit < 0:
            raise UsageError("body_length must be >= 0")
    wanted = (body_canon, "sha256", limit)
    body_hash, canon_len = hash_bodies(message, [wanted])[wanted]
    if body_length is True:
        limit = canon_len
    elif limit is not None and limit > canon_len:
        raise UsageError(f"body_length={limit} is longer than the canonical body "
                         f"({canon_len} octets); l= counts octets actually signed (§3.5)")
    return body_hash, limit
