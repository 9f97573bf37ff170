"""TLSA records (RFC 6698 §2): presentation and wire forms, usability for SMTP.

A record is the toolkit's :class:`~mailauth.flows.TLSA` (usage, selector, matching
type, data). Which records an SMTP client may use is RFC 7672's business: PKIX-TA(0)
and PKIX-EE(1) are not used with SMTP (§3.1.3), and a record with an unknown
parameter or a digest of the wrong length is *unusable*, reported and ignored while
the others count (RFC 7671 §4.1).
"""

from __future__ import annotations

import re

from .._flow import TLSA
from ..errors import ParseError

__all__ = ["MATCHING_TYPES", "SELECTORS", "USAGES", "parse_tlsa", "parse_tlsa_wire",
           "usable"]

USAGES: dict[int, str] = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
"""Certificate usages by number (RFC 7218 §2.1)."""

SELECTORS: dict[int, str] = {0: "Cert", 1: "SPKI"}
"""Selectors (RFC 7218 §2.2): the full certificate or its SubjectPublicKeyInfo."""

MATCHING_TYPES: dict[int, str] = {0: "Full", 1: "SHA2-256", 2: "SHA2-512"}
"""Matching types (RFC 7218 §2.3)."""

_DIGEST_LENGTH = {1: 32, 2: 64}

# RFC 6698 §2.2: three decimal fields, then the data as hex, which may be split by
# white space. The mnemonics of RFC 7218 (DANE-EE, SPKI, SHA2-256) are accepted too.
# Fields are separated by white space; the data starts with a hex digit and its own
# class takes the trailing white space, so no two repetitions compete and matching
# stays linear.
_FIELD = r"([0-9]{1,3}|[A-Za-z][A-Za-z0-9-]*)"
_PRESENTATION = re.compile(r"\s*" + r"\s+".join([_FIELD] * 3)
                           + r"\s+([0-9A-Fa-f][0-9A-Fa-f\s]*)", re.ASCII)
_GENERIC = re.compile(r"\s*\\#\s+([0-9]{1,5})\s+([0-9A-Fa-f][0-9A-Fa-f\s]*)", re.ASCII)
_MNEMONICS = ({v.upper(): k for k, v in USAGES.items()},
              {v.upper(): k for k, v in SELECTORS.items()},
              {v.upper(): k for k, v in MATCHING_TYPES.items()})
_FIELD_NAMES = ("certificate usage", "selector", "matching type")


def parse_tlsa(text: str) -> TLSA:
    """A TLSA record from its presentation form, ``"3 1 1 <hex>"`` (RFC 6698 §2.2).

    White space inside the hex data is allowed (zone files split long records); the
    RFC 7218 mnemonics (``DANE-EE SPKI SHA2-256 <hex>``) are read as their numbers, and
    the RFC 3597 generic form (``\\# 35 030101...``) as the wire form it holds.
    The record is not judged here: :func:`usable` says whether SMTP may use it.

    :raises ParseError: for text that is not a TLSA record (a field that is not a
        number from 0 to 255, an odd number of hex digits, no data).
    """
    if not isinstance(text, str):
        raise ParseError(f"a TLSA record in presentation form is a str, not "
                         f"{type(text).__name__}", rfc="RFC 6698 §2.2")
    generic = _GENERIC.fullmatch(text)
    if generic is not None:  # RFC 3597 §5: \# length hex, as tools print unknown types
        digits = "".join(generic.group(2).split())
        if len(digits) % 2 or len(digits) // 2 != int(generic.group(1)):
            raise ParseError(f"the generic form says {generic.group(1)} octets, the hex "
                             f"holds {len(digits) / 2:g}", rfc="RFC 3597 §5", text=text)
        return parse_tlsa_wire(bytes.fromhex(digits))
    m = _PRESENTATION.fullmatch(text)
    if m is None:
        raise ParseError("not a TLSA record: expected 'usage selector matching-type hex' "
                         "such as '3 1 1 0123abcd...'", rfc="RFC 6698 §2.2", text=text)
    numbers = []
    for i in range(3):
        word = m.group(i + 1)
        if word.isdigit():
            value = int(word)
        elif word.upper() in _MNEMONICS[i]:
            value = _MNEMONICS[i][word.upper()]
        else:
            raise ParseError(f"unknown {_FIELD_NAMES[i]} {word!r}", position=m.start(i + 1),
                             rfc="RFC 7218 §2", text=text)
        if value > 255:
            raise ParseError(f"the {_FIELD_NAMES[i]} is one octet (0-255), not {value}",
                             position=m.start(i + 1), rfc="RFC 6698 §2.1", text=text)
        numbers.append(value)
    digits = "".join(m.group(4).split())
    if len(digits) % 2:
        raise ParseError(f"odd number of hex digits ({len(digits)}) in the data",
                         position=m.start(4), rfc="RFC 6698 §2.2", text=text)
    return TLSA(numbers[0], numbers[1], numbers[2], bytes.fromhex(digits))


def parse_tlsa_wire(data: bytes | bytearray | memoryview) -> TLSA:
    """A TLSA record from its RDATA (RFC 6698 §2.1): three octets, then the data.

    :raises ParseError: for fewer than four octets.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"TLSA RDATA is bytes, not {type(data).__name__}",
                         rfc="RFC 6698 §2.1")
    raw = bytes(data)
    if len(raw) < 4:
        raise ParseError(f"TLSA RDATA is at least 4 octets (usage, selector, matching type, "
                         f"data), not {len(raw)}", rfc="RFC 6698 §2.1")
    return TLSA(raw[0], raw[1], raw[2], raw[3:])


def usable(record: TLSA) -> str | None:
    """Why SMTP cannot use ``record``, or None when it can (RFC 7671 §4.1, RFC 7672 §3.1.3).

    Unusable: an unknown usage, selector or matching type; PKIX-TA(0) and PKIX-EE(1),
    which SMTP does not use (no trusted CA list is agreed for MX hosts); a SHA2-256 or
    SHA2-512 digest of the wrong length; empty data.
    """
    if record.usage in (0, 1):
        return (f"{USAGES[record.usage]}({record.usage}) is not used with SMTP; publish "
                f"DANE-TA(2) or DANE-EE(3) (RFC 7672 §3.1.3)")
    if record.usage not in USAGES:
        return f"unknown certificate usage {record.usage} (RFC 7671 §4.1)"
    if record.selector not in SELECTORS:
        return f"unknown selector {record.selector} (RFC 7671 §4.1)"
    if record.mtype not in MATCHING_TYPES:
        return f"unknown matching type {record.mtype} (RFC 7671 §4.1)"
    want = _DIGEST_LENGTH.get(record.mtype)
    if want is not None and len(record.data) != want:
        return (f"a {MATCHING_TYPES[record.mtype]} digest is {want} octets, this one "
                f"{len(record.data)} (RFC 7671 §4.1)")
    if not record.data:
        return "no certificate association data (RFC 7671 §4.1)"
    return None


def short(record: TLSA) -> str:
    """``3 1 1 0123abcd…``: a record with its data cut, for reasons and warnings."""
    text = record.data.hex()
    cut = text if len(text) <= 16 else text[:16] + "…"
    return f"{record.usage} {record.selector} {record.mtype} {cut}"
