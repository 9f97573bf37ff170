"""Domain names: normalisation, IDNA, alignment, the Public Suffix List.

Names are compared in one form everywhere: lower case, A-labels (``xn--``, IDNA 2008
with the UTS #46 mapping), no trailing dot. The Public Suffix List is RFC 7489's way to
the organizational domain (§3.2); RFC 9989's DNS tree walk lives in the DMARC module.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from ._grammar import NAME_LABEL_RE

if TYPE_CHECKING:
    from .psl import PublicSuffixList

__all__ = [
    "AlignmentMode",
    "aligned",
    "is_host_name",
    "is_valid_domain",
    "normalize_domain",
    "organizational_domain_psl",
    "parse_ip",
    "public_suffix_list",
    "to_unicode",
]

AlignmentMode = Literal["r", "s"]


def _label_to_ascii(label: str) -> str:
    if label.isascii():
        return label.lower()
    # IDNA 2008 with the UTS #46 mapping (RFC 8616 defers to RFC 5890/5891): "faß"
    # is xn--fa-hia, not IDNA 2003's "fass", which would name another domain.
    import idna

    try:
        return idna.encode(label, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"label {label!r} is not a valid IDNA 2008 label: {exc}") from exc


@lru_cache(maxsize=4096)
def normalize_domain(name: str) -> str:
    """The canonical form of a domain name: A-labels, lower case, no trailing dot.

    :raises ValueError: for an empty label, a label over 63 octets, a name over 253
        octets, or a U-label that IDNA cannot encode.

    Results are memoised: the same few domains recur across messages and checks.
    """
    if not isinstance(name, str):
        raise TypeError(f"a domain name is a str, not {type(name).__name__}")
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise ValueError("empty domain name")
    # U+3002 and friends are label separators too (IDNA 2003, RFC 3490 §3.1).
    for dot in ("\u3002", "\uff0e", "\uff61"):
        text = text.replace(dot, ".")
    labels = [_label_to_ascii(label) for label in text.split(".")]
    for label in labels:
        if not label:
            raise ValueError(f"empty label in {name!r}")
        if len(label) > 63:
            raise ValueError(f"label longer than 63 octets in {name!r}")
    result = ".".join(labels)
    if len(result) > 253:
        raise ValueError(f"domain name longer than 253 octets: {name[:40]!r}...")
    return result


def is_valid_domain(name: str) -> bool:
    """True when :func:`normalize_domain` accepts the name."""
    try:
        normalize_domain(name)
    except (ValueError, TypeError):
        return False
    return True


def is_host_name(name: str) -> bool:
    """True for a name of letters, digits, "-" and "_" labels (RFC 1123 §2.1 host names,
    with the underscore seen in the wild), at most 63 octets each and 253 in all, whose
    last label is not all digits (RFC 1123 §2.1: a dotted quad is not a host name)."""
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if labels[-1].isdigit():
        return False
    return all(len(label) <= 63 and NAME_LABEL_RE.fullmatch(label) for label in labels)


def to_unicode(name: str) -> str:
    """U-labels for display; labels that do not decode are left as they are."""
    import idna

    out = []
    for label in name.split("."):
        if label.lower().startswith("xn--"):
            try:
                out.append(idna.decode(label))
                continue
            except (idna.IDNAError, UnicodeError):
                pass
        out.append(label)
    return ".".join(out)


@lru_cache(maxsize=4096)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address from text; an IPv4-mapped IPv6 address becomes IPv4 (RFC 7208 §5).

    :raises ValueError: when the text is not an address.

    Memoised, with a fast path for dotted-quad IPv4 (``ipaddress`` parses each octet
    in Python): the same client addresses recur across checks.
    """
    text = text.strip()
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and len(p) <= 3
                               and (p == "0" or p[0] != "0") for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if a < 256 and b < 256 and c < 256 and d < 256:
            return ipaddress.IPv4Address((a << 24) | (b << 16) | (c << 8) | d)
    if "%" in text:
        raise ValueError(f"{text!r} has a zone index; an SMTP client address has none")
    ip = ipaddress.ip_address(text)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def public_suffix_list(path: str | None = None) -> PublicSuffixList:
    """The Public Suffix List: the file at ``path`` (read once, memoised), or
    :func:`mailauth.psl.default_public_suffix_list` (a current packaged copy, else the
    2019 one with a warning). The reading is done by :mod:`mailauth.psl`, the edge."""
    from . import psl

    if path is None:
        return psl.default_public_suffix_list()
    return _psl_file(path)


@lru_cache(maxsize=4)
def _psl_file(path: str) -> PublicSuffixList:
    from . import psl

    return psl.load_public_suffix_list(path)


def organizational_domain_psl(name: str, *, psl: PublicSuffixList | None = None,
                              psl_file: str | None = None) -> str:
    """The organizational domain by the Public Suffix List (RFC 7489 §3.2).

    The public suffix plus one label; a name that is itself a public suffix is its
    own organizational domain.

    :param psl: the list, as loaded by :func:`mailauth.psl.load_public_suffix_list`
        (the way for a check to receive it from its caller).
    :param psl_file: a ``public_suffix_list.dat`` to read instead (memoised by path).
    Without either, the default list (:func:`public_suffix_list`).
    """
    table = psl if psl is not None else public_suffix_list(psl_file)
    return table.organizational_domain(normalize_domain(name))


def aligned(a: str, b: str, mode: AlignmentMode = "r", *,
            org_domain: Any = organizational_domain_psl) -> bool:
    """Identifier alignment (RFC 7489 §3.1): strict = equal names; relaxed = the
    same organizational domain, found with ``org_domain`` (a callable)."""
    na, nb = normalize_domain(a), normalize_domain(b)
    if na == nb:
        return True
    if mode == "s":
        return False
    return bool(org_domain(na) == org_domain(nb))
