"""The ``_mta-sts`` TXT record (RFC 8461 §3.1).

    sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
    sts-field       = sts-id / sts-extension
    sts-version     = %s"v=STSv1"
    sts-sep         = *WSP %x3B *WSP                 ; ";"
    sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
    sts-extension   = sts-ext-name "=" sts-ext-value
    sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
    sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)   ; VCHAR except ";" and "="
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ArgumentTypeError, ParseError

__all__ = ["STSRecord", "is_sts_record", "parse_record"]

_RFC = "RFC 8461 §3.1"
_VERSION_RE = re.compile(r"v=STSv1[ \t]*;")
_SEP_RE = re.compile(r"[ \t]*;[ \t]*")
_FIELD_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.\-]{0,31})=([\x21-\x3a\x3c\x3e-\x7e]+)")
_ID_RE = re.compile(r"[A-Za-z0-9]{1,32}")


@dataclass(frozen=True, slots=True)
class STSRecord:
    """A parsed ``_mta-sts`` TXT record: the policy ``id`` and any extensions."""

    id: str
    extensions: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text or f"v=STSv1; id={self.id}"


def is_sts_record(text: str) -> bool:
    """Whether a TXT record is an MTA-STS record at all: it begins with ``v=STSv1``
    and a separator (§3.1: records that do not are discarded)."""
    return isinstance(text, str) and _VERSION_RE.match(text) is not None


def parse_record(text: str) -> STSRecord:
    """Parse an ``_mta-sts`` TXT record (RFC 8461 §3.1).

    :raises ParseError: when the text breaks the grammar or has no ``id``.
    :raises ArgumentTypeError: for anything but a str.
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(f"a TXT record is a str, not {type(text).__name__}")
    version = _VERSION_RE.match(text)
    if version is None:
        raise ParseError("the record does not begin with 'v=STSv1;'", position=0, rfc=_RFC,
                         text=text)
    pos = version.end()
    fields: list[tuple[str, str]] = []
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos == len(text):
            break
        match = _FIELD_RE.match(text, pos)
        if match is None:
            raise ParseError(f"not a 'name=value' field: {text[pos:pos + 30]!r}",
                             position=pos, rfc=_RFC, text=text)
        fields.append((match.group(1), match.group(2)))
        pos = match.end()
        sep = _SEP_RE.match(text, pos)
        if sep is not None:
            pos = sep.end()
        elif pos < len(text) and text[pos:].strip(" \t"):
            raise ParseError(f"expected ';' after {match.group(1)}=", position=pos, rfc=_RFC,
                             text=text)
        else:
            break
    ids = [value for name, value in fields if name == "id"]
    if not ids:
        raise ParseError("id: missing", position=len(text), rfc=_RFC, text=text)
    if not _ID_RE.fullmatch(ids[0]):
        raise ParseError(f"id: {ids[0][:40]!r} is not 1 to 32 letters and digits",
                         position=text.find("id="), rfc=_RFC, text=text)
    extensions = tuple((n, v) for n, v in fields if n != "id")
    return STSRecord(id=ids[0], extensions=extensions, text=text)
