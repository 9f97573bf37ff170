"""The DKIM-Signature header field (RFC 6376 §3.5) and the key record (§3.6.1).

Both are tag=value lists (§3.2). Parsing is strict where the RFC says MUST and
lenient where real mail needs it (a key without base64 padding, spaces inside ``p=``).
The tags DKIM-Signature shares with ARC are validated in ``_tags.py``; this module
adds DKIM's own rules on top. Errors are :class:`DKIMSyntaxError`, a
:class:`~mailauth.errors.ParseError` with a machine ``code`` that the verifier copies
into its permerror result.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .._domain import normalize_domain
from .._grammar import FWS_RUN_RE
from ._tags import (
    ALGORITHMS,
    DKIMSyntaxError,
    parse_base64,
    parse_tags,
    required,
    signature_tag_values,
)

__all__ = [
    "ALGORITHMS",
    "DKIMSyntaxError",
    "KeyRecord",
    "Signature",
    "parse_key_record",
    "parse_signature",
]


@dataclass(frozen=True, slots=True)
class Signature:
    """A parsed DKIM-Signature (RFC 6376 §3.5); names follow the tags.

    The fields up to ``headers`` and from ``length`` to ``expiration`` are
    :class:`~mailauth.dkim._tags.SignatureTags`' in its order (what DKIM shares with
    ARC); :func:`parse_signature` relies on that order.
    """

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


def parse_signature(value: str | bytes) -> Signature:
    """Parse a DKIM-Signature header field value (the text after the colon).

    The tags shared with ARC are checked first (:func:`parse_signature_tags`), then
    DKIM's own: From in ``h=``, ``i=``, ``q=``.

    :raises DKIMSyntaxError: with ``code`` naming the broken rule (RFC 6376 §3.5).
    """
    tags = parse_tags(value)
    version = required(tags, "v")
    if version != "1":
        raise DKIMSyntaxError("bad_version", f"v={version} is not a DKIM version this "
                              "verifier knows (v=1)")
    (algorithm, key_type, hash_name, signature, body_hash, header_canon, body_canon, domain,
     headers, length, selector, timestamp, expiration) = signature_tag_values(tags)
    if "from" not in headers:
        raise DKIMSyntaxError("from_not_signed", "h= does not include From "
                              "(RFC 6376 §5.4: From MUST be signed)")
    # One construction, arguments in field order (a test checks the order).
    return Signature(algorithm, key_type, hash_name, signature, body_hash, header_canon,
                     body_canon, domain, headers, _identity(tags.get("i"), domain), length,
                     _query_methods(tags.get("q")), selector, timestamp, expiration,
                     tags.get("z"), tuple(tags.items()))


def _identity(value: str | None, domain: str) -> str:
    """``i=``: the agent or user identifier, in ``d=`` or under it (§3.5); by default
    ``@`` and ``d=``."""
    if value is None:
        return "@" + domain
    local, at, idomain = value.rpartition("@")
    if not at:
        raise DKIMSyntaxError("bad_identity", f"i={value} has no '@'")
    try:
        idomain = normalize_domain(idomain)
    except ValueError:
        raise DKIMSyntaxError("bad_identity", f"i={value} has no valid domain") from None
    if idomain != domain and not idomain.endswith("." + domain):
        raise DKIMSyntaxError("identity_mismatch", f"i= domain {idomain} is not d={domain} "
                              "or a subdomain of it (RFC 6376 §3.5)")
    return f"{local}@{idomain}"


def _query_methods(value: str | None) -> tuple[str, ...]:
    """``q=``: the key lookup methods; one must be DNS TXT (§3.5)."""
    if value is None:
        return ("dns/txt",)
    methods = tuple(FWS_RUN_RE.sub("", m).lower() for m in value.split(":"))
    if not any(m == "dns/txt" or m.startswith("dns/txt/") or m == "dns" for m in methods):
        raise DKIMSyntaxError("unsupported_query_method",
                              f"q={value} offers no dns/txt key lookup")
    return methods


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
    return tuple(v.lower() for v in [FWS_RUN_RE.sub("", v) for v in value.split(":")] if v)


@lru_cache(maxsize=512)
def parse_key_record(text: str) -> KeyRecord:
    """Parse the TXT record published at ``<selector>._domainkey.<domain>``.

    :raises DKIMSyntaxError: ``code`` is ``key_syntax`` or ``unsupported_key_type``.

    Results are memoised by text (records are few and repeat across messages).
    """
    tags = parse_tags(text, code="key_syntax", rfc=_KRFC)
    if "v" in tags and (tags["v"] != "DKIM1" or next(iter(tags)) != "v"):
        raise DKIMSyntaxError("key_syntax", "v= must be DKIM1 and the first tag", rfc=_KRFC)
    if "p" not in tags:
        raise DKIMSyntaxError("key_syntax", "the key record has no p= tag", rfc=_KRFC)
    key_type = tags.get("k", "rsa").lower()
    if key_type not in KEY_TYPES:
        raise DKIMSyntaxError("unsupported_key_type", f"k={key_type} is not rsa or ed25519",
                              rfc=_KRFC)
    public_key = parse_base64(tags["p"], "p", rfc=_KRFC, pad=True) if tags["p"].strip() else b""
    hashes = _colon_list(tags["h"]) if "h" in tags else ()
    services = _colon_list(tags["s"]) if "s" in tags else ("*",)
    flags = _colon_list(tags["t"]) if "t" in tags else ()
    return KeyRecord(key_type=key_type, public_key=public_key, hash_algorithms=hashes,
                     service_types=services, flags=flags, notes=tags.get("n"), text=text)
