"""What a signature covers, as bytes and digests (RFC 6376 §3.7).

Shared by the DKIM verifier and signer, and by ARC (RFC 8617): an
ARC-Message-Signature hashes header fields and body exactly as DKIM does; an ARC-Seal
hashes the ARC header fields it names, relaxed, with no body hash, through
:func:`signed_fields_input`.

- the header hash input: the fields ``h=`` selects (:func:`select_headers`),
  canonicalized, then the signature's own field with ``b=`` emptied
  (:func:`strip_b_value`), without its final CRLF;
- the body hashes: every (canonicalization, hash, ``l=``) a message needs, in one
  pass over its body (:func:`hash_bodies`);
- after a body hash failure, what can be said about the change
  (:func:`signed_prefix_length`, :func:`looks_dot_stuffed`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeAlias

from .._message import HeaderField, Message
from ._canon import BodyCanonicalizer, relaxed_header, simple_body_in_place

__all__ = [
    "PREFIX_SEARCH_LIMIT",
    "BodyHasher",
    "BodyKey",
    "hash_bodies",
    "header_hash_input",
    "looks_dot_stuffed",
    "select_headers",
    "signed_fields_input",
    "signed_prefix_length",
    "strip_b_value",
]


# --- header fields (§3.7, §5.4.2) ---------------------------------------------------------

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
        stack = by_name.get(name)
        if stack:
            chosen.append(stack.pop())
    return chosen


# The b= tag: first after the colon, or after a semicolon (tag values hold no ';').
_FIRST_B = re.compile(rb"[ \t\r\n]*b[ \t\r\n]*=")
_NEXT_B = re.compile(rb";[ \t\r\n]*b[ \t\r\n]*=")


def strip_b_value(data: bytes) -> bytes:
    """The signature header field with the ``b=`` tag's value removed (§3.7).

    Only the tag named exactly ``b`` is emptied; ``bh=`` and text such as ``b=``
    inside other values are kept, and so is every other byte (folding included).
    """
    start = data.find(b":") + 1
    m = _FIRST_B.match(data, start) or _NEXT_B.search(data, start)
    if m is None:
        return data
    eq = m.end() - 1
    semi = data.find(b";", eq)
    if semi >= 0:
        return data[:eq + 1] + data[semi:]
    # b= is the last tag: keep the field's own line ending.
    return data[:eq + 1] + (b"\r\n" if data.endswith(b"\r\n") else b"")


def signed_fields_input(fields: Iterable[bytes], signature_field: bytes, method: str
                        ) -> bytes:
    """The octets a signature covers: ``fields`` (raw header fields, in the order they
    are hashed) canonicalized, then ``signature_field`` with ``b=`` emptied,
    canonicalized, without its final CRLF (§3.7)."""
    own = strip_b_value(signature_field)
    if method == "relaxed":
        parts = [relaxed_header(d) for d in fields]
        own = relaxed_header(own)
    elif method == "simple":
        parts = [d if d.endswith(b"\r\n") else d + b"\r\n" for d in fields]
    else:
        raise ValueError(f"unknown canonicalization {method!r} (RFC 6376 §3.4)")
    parts.append(own[:-2] if own.endswith(b"\r\n") else own)
    return b"".join(parts)


def header_hash_input(headers: Sequence[HeaderField], names: Iterable[str],
                      signature_field: bytes, method: str) -> bytes:
    """The header octets a DKIM-Signature or ARC-Message-Signature covers: the fields
    ``names`` (its ``h=``) selects from ``headers``, then the signature field itself
    with ``b=`` emptied (§3.7). ``method`` is the header canonicalization."""
    chosen = select_headers(headers, names, exclude=signature_field)
    return signed_fields_input([h.data for h in chosen], signature_field, method)


# --- body hashes (§3.7, §3.4.3-§3.4.5) -----------------------------------------------------

class _Hash(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


_HASHES = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}


class BodyHasher:
    """Hashes a canonical body, honouring a length limit (the ``l=`` tag, §3.5).

    ``length`` counts every canonical octet seen, so ``length - limit`` is what the
    signature leaves unsigned.
    """

    __slots__ = ("_hash", "length", "limit")

    def __init__(self, hash_name: str, limit: int | None = None) -> None:
        make = _HASHES.get(hash_name)
        self._hash: _Hash = make() if make is not None else hashlib.new(hash_name)
        self.limit = limit
        self.length = 0

    def update(self, data: bytes | memoryview) -> None:
        if not data:
            return
        limit = self.limit
        if limit is None:
            self._hash.update(data)
        elif self.length < limit:
            room = limit - self.length
            self._hash.update(data if len(data) <= room else data[:room])
        self.length += len(data)

    def digest(self) -> bytes:
        return self._hash.digest()


BodyKey: TypeAlias = tuple[str, str, int | None]
"""What a body hash depends on: (body canonicalization, hash name, ``l=`` or None)."""


def hash_bodies(message: Message, wanted: Iterable[BodyKey], chunk_size: int = 1 << 20
                ) -> dict[BodyKey, tuple[bytes, int]]:
    """One pass over the body: for each (canonicalization, hash, limit) its digest and
    the canonical body length. A body already in memory with CRLF line endings is
    hashed in place for simple canonicalization (no copy).

    Blocking work (it reads the body): a flow runs it through ``work()``.
    """
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


# --- explaining a body hash failure ---------------------------------------------------------

PREFIX_SEARCH_LIMIT = 8 << 20
"""Canonical body octets searched for a still-signed prefix after a body hash failure."""


def signed_prefix_length(message: Message, canon: str, hash_name: str, expected: bytes, *,
                         limit: int = PREFIX_SEARCH_LIMIT) -> int | None:
    """After a body hash failure: the length of the canonical body's prefix, ending at
    a line, whose hash is the one signed, or None. A match means content was only
    appended after signing (CASES 41: mailing-list footers). Costs one more pass over
    at most ``limit`` octets, and only on failures. Blocking work, like
    :func:`hash_bodies`."""
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


def looks_dot_stuffed(message: Message) -> bool:
    """Whether a body line begins with ``..``: the message may still be SMTP DATA
    with its dot-stuffing (RFC 5321 §4.5.2). Blocking work: it reads the body."""
    carry = b"\n"  # the body starts at a line start
    for chunk in message.iter_body():
        if b"\n.." in carry + chunk[:2] or b"\n.." in chunk:
            return True
        carry = chunk[-2:]
    return False
