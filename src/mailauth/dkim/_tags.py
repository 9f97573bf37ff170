"""The signature tags DKIM shares with ARC (RFC 6376 §3.5, RFC 8617 §4.1).

ARC-Message-Signature has the tags of DKIM-Signature except ``v=`` (none) and ``i=``
(an instance number, 1 to 50, instead of an identity), RFC 8617 §4.1.2; ARC-Seal
uses ``a=``, ``b=``, ``d=``, ``s=`` and ``t=`` with the same syntax. So this module
parses a tag list and validates those common tags, one function per tag, and
:func:`parse_signature_tags` puts together the set DKIM-Signature and
ARC-Message-Signature share. What only DKIM has (``v=1``, ``i=`` as an identity,
``q=``, From in ``h=``) is checked on top of it in ``_signature.py``.

Every error is a :class:`DKIMSyntaxError` whose ``code`` names the broken rule; the
verifier copies it into its permerror result.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from .._domain import normalize_domain
from .._grammar import FIELD_NAME, FWS_RUN_RE, SELECTOR_RE
from .._tagvalue import tag_dict
from ..errors import ParseError

__all__ = [
    "ALGORITHMS",
    "CANONICALIZATIONS",
    "DKIMSyntaxError",
    "SignatureTags",
    "parse_algorithm",
    "parse_base64",
    "parse_canonicalization",
    "parse_domain",
    "parse_header_list",
    "parse_header_list_lenient",
    "parse_length",
    "parse_selector",
    "parse_signature_tags",
    "parse_tags",
    "parse_time",
    "required",
    "signature_tag_values",
]

# a= values (RFC 6376 §3.3, RFC 8463 §3): name -> (key type, hash)
ALGORITHMS: dict[str, tuple[str, str]] = {
    "rsa-sha256": ("rsa", "sha256"),
    "rsa-sha1": ("rsa", "sha1"),
    "ed25519-sha256": ("ed25519", "sha256"),
}
CANONICALIZATIONS = ("simple", "relaxed")

_DIGITS = re.compile(r"[0-9]{1,76}\Z")
_TIME = re.compile(r"[0-9]{1,12}\Z")  # §3.5: at most 12 digits for t= and x=
# §3.5: sig-h-tag = %x68 [FWS] "=" [FWS] hdr-name *( [FWS] ":" [FWS] hdr-name ),
# hdr-name = field-name (RFC 5322); FWS is removed before matching.
_HDR_LIST = re.compile(f"{FIELD_NAME}(?::{FIELD_NAME})*")


class DKIMSyntaxError(ParseError):
    """A signature or key record that breaks its grammar; ``code`` names the rule."""

    def __init__(self, code: str, message: str, *, rfc: str = "RFC 6376 §3.5",
                 position: int | None = None, text: str | None = None) -> None:
        self.code = code
        super().__init__(message, position=position, rfc=rfc, text=text)


def parse_tags(text: str | bytes, *, code: str = "bad_tag_list",
               rfc: str = "RFC 6376 §3.2") -> dict[str, str]:
    """A header field value or key record as a dict of tags (RFC 6376 §3.2).

    Values are not checked against VALCHAR: ``i=`` may carry UTF-8 (RFC 6376 §3.5 via
    RFC 6532) and records in the wild carry more.

    :raises DKIMSyntaxError: with ``code`` when the text is not a tag list.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    try:
        return tag_dict(text, strict_values=False, rfc=rfc)
    except ParseError as exc:
        raise DKIMSyntaxError(code, exc.message, rfc=rfc, position=exc.position) from None


def required(tags: Mapping[str, str], name: str) -> str:
    """The value of a tag the signature must have."""
    value = tags.get(name)
    if value is None:
        raise DKIMSyntaxError("missing_tag", f"required tag {name}= is missing")
    return value


def parse_algorithm(value: str) -> tuple[str, str, str]:
    """``a=``: (algorithm, key type, hash name), e.g. ("rsa-sha256", "rsa", "sha256")."""
    algorithm = value.lower()
    if algorithm not in ALGORITHMS:
        raise DKIMSyntaxError("unsupported_algorithm", f"a={algorithm} is not a known "
                              "signing algorithm (rsa-sha256, ed25519-sha256, rsa-sha1)")
    key_type, hash_name = ALGORITHMS[algorithm]
    return algorithm, key_type, hash_name


def parse_base64(value: str, tag: str, *, rfc: str = "RFC 6376 §3.5",
                 pad: bool = False) -> bytes:
    """``b=``, ``bh=``, ``p=``: base64 with whitespace anywhere (§3.5); ``pad`` adds
    missing padding (key records in the wild lack it)."""
    compact = "".join(value.split())
    if pad and len(compact) % 4:
        compact += "=" * (-len(compact) % 4)
    try:  # strict: any character outside the alphabet is an error (b64decode(validate=True))
        return binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError):
        raise DKIMSyntaxError("bad_base64", f"{tag}= is not valid base64 (a character "
                              "outside the alphabet, or bad length or padding)",
                              rfc=rfc) from None


def parse_canonicalization(value: str | None) -> tuple[str, str]:
    """``c=``: (header, body) canonicalization; absent is simple/simple and a lone
    ``relaxed`` is relaxed/simple (§3.5)."""
    canon = "simple/simple" if value is None else value.lower()
    header_canon, _, body_canon = canon.partition("/")
    body_canon = body_canon or "simple"
    if header_canon not in CANONICALIZATIONS or body_canon not in CANONICALIZATIONS \
            or canon.count("/") > 1:
        raise DKIMSyntaxError("unsupported_canonicalization",
                              f"c={canon} is not simple or relaxed (RFC 6376 §3.4)")
    return header_canon, body_canon


def parse_domain(value: str) -> str:
    """``d=``: the signing domain, normalised (A-labels, lower case)."""
    try:
        return normalize_domain(value)
    except ValueError as exc:
        raise DKIMSyntaxError("bad_domain", f"d={value} is not a domain name: {exc}") \
            from None


# h= and s= repeat from message to message for a signer: their parsed forms are memoised
# (errors are not cached, they are raised again).
@lru_cache(maxsize=512)
def parse_header_list(value: str) -> tuple[str, ...]:
    """``h=``: the signed header field names, lower case, in order."""
    h = "".join(value.split()).lower()
    if not _HDR_LIST.fullmatch(h):
        raise DKIMSyntaxError("bad_header_list", "h= has an empty or invalid header name")
    return tuple(h.split(":"))


@lru_cache(maxsize=512)
def parse_header_list_lenient(value: str) -> tuple[str, ...]:
    """``h=`` as ARC verifiers read it: like :func:`parse_header_list`, but an empty
    list or an empty name between colons selects nothing instead of being an error
    (what ARC sealers in the wild write; RFC 8617 §4.1.2 defers to RFC 6376)."""
    names = tuple(n for n in "".join(value.split()).lower().split(":") if n)
    if names and not _HDR_LIST.fullmatch(":".join(names)):
        raise DKIMSyntaxError("bad_header_list", "h= has an invalid header name")
    return names


def parse_length(value: str) -> int:
    """``l=``: the count of canonical body octets signed."""
    if not _DIGITS.match(value):
        raise DKIMSyntaxError("bad_length", f"l={value} is not a decimal count")
    return int(value)


@lru_cache(maxsize=512)
def parse_selector(value: str) -> str:
    """``s=``: dot-separated sub-domain labels, lower case."""
    selector = FWS_RUN_RE.sub("", value)
    if not SELECTOR_RE.fullmatch(selector):
        raise DKIMSyntaxError("bad_selector", f"s={selector} is not a selector "
                              "(dot-separated sub-domain labels)")
    return selector.lower()


_TIME_CODES = {"t": "bad_timestamp", "x": "bad_expiration"}


def parse_time(value: str, tag: str) -> int:
    """``t=`` or ``x=``: Unix seconds, at most 12 digits (§3.5)."""
    if not _TIME.match(value):
        raise DKIMSyntaxError(_TIME_CODES[tag], f"{tag}={value} is not a Unix time")
    return int(value)


@dataclass(frozen=True, slots=True)
class SignatureTags:
    """The tags DKIM-Signature and ARC-Message-Signature share, validated."""

    algorithm: str                 # a=
    key_type: str                  # "rsa" | "ed25519", from a=
    hash_name: str                 # "sha256" | "sha1", from a=
    signature: bytes               # b=
    body_hash: bytes               # bh=
    header_canon: str              # c= (header part)
    body_canon: str                # c= (body part)
    domain: str                    # d=, normalised
    headers: tuple[str, ...]       # h=, lower case, in order
    length: int | None             # l=
    selector: str                  # s=, lower case
    timestamp: int | None          # t=
    expiration: int | None         # x=


SignatureTagValues: TypeAlias = tuple[str, str, str, bytes, bytes, str, str, str,
                                      tuple[str, ...], int | None, str, int | None, int | None]
""":class:`SignatureTags`' fields in order, as :func:`signature_tag_values` returns them."""


def signature_tag_values(tags: Mapping[str, str], *, lenient_header_list: bool = False
                         ) -> SignatureTagValues:
    """The values of :class:`SignatureTags`, in its field order, validated as
    :func:`parse_signature_tags` says: for a caller that builds its own type around
    them (DKIM's ``Signature``) without building a ``SignatureTags`` first.

    :param lenient_header_list: read ``h=`` with :func:`parse_header_list_lenient`
        (ARC-Message-Signature).
    :raises DKIMSyntaxError: at the first tag that breaks its rule.
    """
    algorithm, key_type, hash_name = parse_algorithm(required(tags, "a"))
    signature = parse_base64(required(tags, "b"), "b")
    if not signature:
        raise DKIMSyntaxError("empty_signature", "b= is empty")
    body_hash = parse_base64(required(tags, "bh"), "bh")
    header_canon, body_canon = parse_canonicalization(tags.get("c"))
    domain = parse_domain(required(tags, "d"))
    h = required(tags, "h")
    headers = parse_header_list_lenient(h) if lenient_header_list else parse_header_list(h)
    text = tags.get("l")
    length = None if text is None else parse_length(text)
    selector = parse_selector(required(tags, "s"))
    text = tags.get("t")
    timestamp = None if text is None else parse_time(text, "t")
    text = tags.get("x")
    expiration = None if text is None else parse_time(text, "x")
    # §3.5: "x= MUST be greater than t=" (equal is invalid too).
    if timestamp is not None and expiration is not None and expiration <= timestamp:
        raise DKIMSyntaxError("expiration_before_timestamp",
                              f"x={expiration} is not after t={timestamp} (RFC 6376 §3.5)")
    return (algorithm, key_type, hash_name, signature, body_hash, header_canon, body_canon,
            domain, headers, length, selector, timestamp, expiration)


def parse_signature_tags(tags: Mapping[str, str], *, lenient_header_list: bool = False
                         ) -> SignatureTags:
    """Validate ``a= b= bh= c= d= h= l= s= t= x=`` as DKIM-Signature (RFC 6376 §3.5)
    and ARC-Message-Signature (RFC 8617 §4.1.2) define them. Other tags (``v=``,
    ``i=``, ``q=``, ``z=``, unknown ones) are the caller's.

    :raises DKIMSyntaxError: at the first tag that breaks its rule, in the order above.
    """
    return SignatureTags(*signature_tag_values(tags,
                                               lenient_header_list=lenient_header_list))
