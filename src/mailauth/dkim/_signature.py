"""The DKIM-Signature header field (RFC 6376 §3.5) and the key record (§3.6.1).

Both are tag=value lists (§3.2). Parsing is strict where the RFC says MUST and
lenient where real mail needs it (a key without base64 padding, spaces inside ``p=``).
Errors are :class:`DKIMSyntaxError`, a :class:`~mailauth.errors.ParseError` with a
machine ``code`` that the verifier copies into its permerror result.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from .._build import positional_builder
from .._domain import normalize_domain
from .._tagvalue import parse_tag_list
from ..errors import ParseError

__all__ = [
    "ALGORITHMS",
    "DKIMSyntaxError",
    "KeyRecord",
    "Signature",
    "parse_key_record",
    "parse_signature",
    "strip_b_value",
]

# a= values (RFC 6376 §3.3, RFC 8463 §3): name -> (key type, hash)
ALGORITHMS: dict[str, tuple[str, str]] = {
    "rsa-sha256": ("rsa", "sha256"),
    "rsa-sha1": ("rsa", "sha1"),
    "ed25519-sha256": ("ed25519", "sha256"),
}
CANONICALIZATIONS = ("simple", "relaxed")

_FWS = re.compile(r"[ \t\r\n]+")
_DIGITS = re.compile(r"[0-9]{1,76}\Z")
_TIME = re.compile(r"[0-9]{1,12}\Z")  # §3.5: at most 12 digits for t= and x=
_FTEXT = r"[\x21-\x39\x3b-\x7e]+"  # RFC 5322 ftext
_HDR_LIST = re.compile(f"{_FTEXT}(?::{_FTEXT})*\\Z")
_SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*\Z")


class DKIMSyntaxError(ParseError):
    """A signature or key record that breaks its grammar; ``code`` names the rule."""

    def __init__(self, code: str, message: str, *, rfc: str = "RFC 6376 §3.5",
                 position: int | None = None, text: str | None = None) -> None:
        self.code = code
        super().__init__(message, position=position, rfc=rfc, text=text)


_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# Tags of signatures and key records: valid names, so no regex is needed for them.
_KNOWN_TAGS = frozenset(["v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x",
                         "z", "k", "p", "n", "g"])


def _tag_list(text: str, rfc: str) -> dict[str, str]:
    """A tag=value list (RFC 6376 §3.2) as a dict, on a fast path for well-formed
    text; anything unusual goes through :func:`parse_tag_list` for its precise error."""
    tags: dict[str, str] = {}
    if "\n" in text or "\r" in text:
        # Every line break must fold (be followed by WSP); the rare other cases go
        # to the exact parser for their error.
        unfolded = text.rstrip("\r\n").replace("\r\n ", " ").replace("\r\n\t", " ")
        if "\n" in unfolded or "\r" in unfolded:
            return dict(parse_tag_list(text, strict_values=False, rfc=rfc).tags)
    for spec in text.split(";"):
        name, eq, value = spec.partition("=")
        name = name.strip(" \t\r\n")
        if not eq:
            if name:
                return dict(parse_tag_list(text, strict_values=False, rfc=rfc).tags)
            continue
        if name in tags or (name not in _KNOWN_TAGS and not _TAG_NAME.match(name)):
            return dict(parse_tag_list(text, strict_values=False, rfc=rfc).tags)
        tags[name] = value.strip(" \t\r\n")
    return tags


def _b64(value: str, tag: str, *, rfc: str = "RFC 6376 §3.5", pad: bool = False) -> bytes:
    compact = "".join(value.split())
    if pad and len(compact) % 4:
        compact += "=" * (-len(compact) % 4)
    try:  # validate=True rejects any byte outside the base64 alphabet
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise DKIMSyntaxError("bad_base64", f"{tag}= is not valid base64 (a character "
                              "outside the alphabet, or bad length or padding)",
                              rfc=rfc) from None


@dataclass(frozen=True, slots=True)
class Signature:
    """A parsed DKIM-Signature (RFC 6376 §3.5); names follow the tags."""

    algorithm: str                 # a=
    key_type: str                  # "rsa" | "ed25519", from a=
    hash_name: str                 # "sha256" | "sha1", from a=
    signature: bytes               # b=
    body_hash: bytes               # bh=
    header_canon: str              # c= (header part)
    body_canon: str                # c= (body part)
    domain: str                    # d=, normalised (A-labels, lower case)
    headers: tuple[str, ...]       # h=, lower case, in order
    identity: str                  # i= (default "@" + d)
    length: int | None             # l=
    query_methods: tuple[str, ...]  # q=
    selector: str                  # s=
    timestamp: int | None          # t=
    expiration: int | None         # x=
    copied_headers: str | None     # z=, raw
    tags: tuple[tuple[str, str], ...]

    @property
    def canonicalization(self) -> str:
        return f"{self.header_canon}/{self.body_canon}"

    @property
    def key_name(self) -> str:
        """Where the key is published: ``<s>._domainkey.<d>`` (§3.6.2.1)."""
        return f"{self.selector}._domainkey.{self.domain}"


_build_signature = positional_builder(Signature)


def _required(tags: dict[str, str], name: str) -> str:
    value = tags.get(name)
    if value is None:
        raise DKIMSyntaxError("missing_tag", f"required tag {name}= is missing")
    return value


def parse_signature(value: str | bytes) -> Signature:
    """Parse a DKIM-Signature header field value (the text after the colon).

    :raises DKIMSyntaxError: with ``code`` naming the broken rule (RFC 6376 §3.5).
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    try:
        tags = _tag_list(value, "RFC 6376 §3.2")
    except ParseError as exc:
        raise DKIMSyntaxError("bad_tag_list", exc.message, rfc="RFC 6376 §3.2",
                              position=exc.position) from None

    version = _required(tags, "v")
    if version != "1":
        raise DKIMSyntaxError("bad_version", f"v={version} is not a DKIM version this "
                              "verifier knows (v=1)")
    algorithm = _required(tags, "a").lower()
    if algorithm not in ALGORITHMS:
        raise DKIMSyntaxError("unsupported_algorithm", f"a={algorithm} is not a known "
                              "signing algorithm (rsa-sha256, ed25519-sha256, rsa-sha1)")
    key_type, hash_name = ALGORITHMS[algorithm]
    signature = _b64(_required(tags, "b"), "b")
    if not signature:
        raise DKIMSyntaxError("empty_signature", "b= is empty")
    body_hash = _b64(_required(tags, "bh"), "bh")

    canon = tags.get("c", "simple/simple").lower()  # §3.5: no c= is simple/simple
    header_canon, _, body_canon = canon.partition("/")
    body_canon = body_canon or "simple"               # c=relaxed is relaxed/simple
    if header_canon not in CANONICALIZATIONS or body_canon not in CANONICALIZATIONS \
            or canon.count("/") > 1:
        raise DKIMSyntaxError("unsupported_canonicalization",
                              f"c={canon} is not simple or relaxed (RFC 6376 §3.4)")

    raw_domain = _required(tags, "d")
    try:
        domain = normalize_domain(raw_domain)
    except ValueError as exc:
        raise DKIMSyntaxError("bad_domain", f"d={raw_domain} is not a domain name: {exc}") \
            from None

    names = _header_list(_required(tags, "h"))

    identity = tags.get("i")
    if identity is None:
        identity = "@" + domain
    else:
        local, at, idomain = identity.rpartition("@")
        if not at:
            raise DKIMSyntaxError("bad_identity", f"i={identity} has no '@'")
        try:
            idomain = normalize_domain(idomain)
        except ValueError:
            raise DKIMSyntaxError("bad_identity", f"i={identity} has no valid domain") \
                from None
        if idomain != domain and not idomain.endswith("." + domain):
            raise DKIMSyntaxError("identity_mismatch", f"i= domain {idomain} is not d={domain} "
                                  "or a subdomain of it (RFC 6376 §3.5)")
        identity = f"{local}@{idomain}"

    length = None
    if "l" in tags:
        if not _DIGITS.match(tags["l"]):
            raise DKIMSyntaxError("bad_length", f"l={tags['l']} is not a decimal count")
        length = int(tags["l"])

    query_methods: tuple[str, ...] = ("dns/txt",)
    if "q" in tags:
        query_methods = tuple(_FWS.sub("", m).lower() for m in tags["q"].split(":"))
        if not any(m == "dns/txt" or m.startswith("dns/txt/") or m == "dns"
                   for m in query_methods):
            raise DKIMSyntaxError("unsupported_query_method",
                                  f"q={tags['q']} offers no dns/txt key lookup")

    selector = _selector(_required(tags, "s"))

    timestamp = expiration = None
    if "t" in tags:
        if not _TIME.match(tags["t"]):
            raise DKIMSyntaxError("bad_timestamp", f"t={tags['t']} is not a Unix time")
        timestamp = int(tags["t"])
    if "x" in tags:
        if not _TIME.match(tags["x"]):
            raise DKIMSyntaxError("bad_expiration", f"x={tags['x']} is not a Unix time")
        expiration = int(tags["x"])
    # §3.5: "x= MUST be greater than t=" (equal is invalid too).
    if timestamp is not None and expiration is not None and expiration <= timestamp:
        raise DKIMSyntaxError("expiration_before_timestamp",
                              f"x={expiration} is not after t={timestamp} (RFC 6376 §3.5)")

    return _build_signature(algorithm, key_type, hash_name, signature, body_hash,
                            header_canon, body_canon, domain, names, identity, length,
                            query_methods, selector, timestamp, expiration, tags.get("z"),
                            tuple(tags.items()))


# h= and s= repeat from message to message for a signer: their parsed forms are memoised
# (errors are not cached, they are raised again).
@lru_cache(maxsize=512)
def _header_list(value: str) -> tuple[str, ...]:
    h = "".join(value.split()).lower()
    if not _HDR_LIST.match(h):
        raise DKIMSyntaxError("bad_header_list", "h= has an empty or invalid header name")
    names = tuple(h.split(":"))
    if "from" not in names:
        raise DKIMSyntaxError("from_not_signed", "h= does not include From "
                              "(RFC 6376 §5.4: From MUST be signed)")
    return names


@lru_cache(maxsize=512)
def _selector(value: str) -> str:
    selector = _FWS.sub("", value)
    if not _SELECTOR.match(selector):
        raise DKIMSyntaxError("bad_selector", f"s={selector} is not a selector "
                              "(dot-separated sub-domain labels)")
    return selector.lower()


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


# --- key records (§3.6.1) ------------------------------------------------------------

KEY_TYPES = ("rsa", "ed25519")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A parsed DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4)."""

    key_type: str                      # k= (default rsa)
    public_key: bytes                  # p= decoded; empty means revoked
    hash_algorithms: tuple[str, ...]   # h= (empty: any)
    service_types: tuple[str, ...]     # s= (default *)
    flags: tuple[str, ...]             # t=
    notes: str | None                  # n=
    text: str

    @property
    def revoked(self) -> bool:
        return not self.public_key

    @property
    def testing(self) -> bool:
        """t=y: the domain is testing DKIM (§3.6.1)."""
        return "y" in self.flags

    @property
    def strict_identity(self) -> bool:
        """t=s: i= must not be a subdomain of d= (§3.6.1)."""
        return "s" in self.flags


_KRFC = "RFC 6376 §3.6.1"


def _colon_list(value: str) -> tuple[str, ...]:
    return tuple(_FWS.sub("", v).lower() for v in value.split(":") if _FWS.sub("", v))


@lru_cache(maxsize=512)
def parse_key_record(text: str) -> KeyRecord:
    """Parse the TXT record published at ``<selector>._domainkey.<domain>``.

    :raises DKIMSyntaxError: ``code`` is ``key_syntax`` or ``unsupported_key_type``.

    Results are memoised by text (records are few and repeat across messages).
    """
    try:
        tags = _tag_list(text, _KRFC)
    except ParseError as exc:
        raise DKIMSyntaxError("key_syntax", exc.message, rfc=_KRFC,
                              position=exc.position) from None
    if "v" in tags and (tags["v"] != "DKIM1" or next(iter(tags)) != "v"):
        raise DKIMSyntaxError("key_syntax", "v= must be DKIM1 and the first tag", rfc=_KRFC)
    if "p" not in tags:
        raise DKIMSyntaxError("key_syntax", "the key record has no p= tag", rfc=_KRFC)
    key_type = tags.get("k", "rsa").lower()
    if key_type not in KEY_TYPES:
        raise DKIMSyntaxError("unsupported_key_type", f"k={key_type} is not rsa or ed25519",
                              rfc=_KRFC)
    public_key = _b64(tags["p"], "p", rfc=_KRFC, pad=True) if tags["p"].strip() else b""
    hashes = _colon_list(tags["h"]) if "h" in tags else ()
    services = _colon_list(tags["s"]) if "s" in tags else ("*",)
    flags = _colon_list(tags["t"]) if "t" in tags else ()
    return KeyRecord(key_type, public_key, hashes, services, flags, tags.get("n"), text)
