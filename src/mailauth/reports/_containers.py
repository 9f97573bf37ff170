"""What a DMARC report travels in: gzip, zip, or a mail message (RFC 9990 §3.1.1,
RFC 7489 §7.2.1.1), unpacked as a stream within limits.

Every container is opened into an iterator of the XML document's bytes, so the XML
parser reads while the archive inflates and nothing larger than one piece is held:
a gzip that inflates to 10 GB is stopped once ``max_inflated`` bytes came out. Zip
archives are checked before any member is read (the member count is taken from the
end-of-central-directory record, so a zip of 10,000 members is refused without
listing them); an archive inside an archive is read only ``max_nesting`` levels deep.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .._gzip import MAGIC as _GZIP
from .._gzip import GzipError, Inflater
from ..errors import ParseError

__all__ = ["DEFAULT_MAX_INFLATED", "DEFAULT_MAX_NESTING", "DEFAULT_MAX_RECORDS",
           "DEFAULT_MAX_SIZE", "DEFAULT_MAX_ZIP_MEMBERS", "Limits", "open_document"]

DEFAULT_MAX_SIZE = 32 * 1024 * 1024
"""The largest input :func:`~mailauth.reports.parse_aggregate` reads (a message,
an archive or XML), in bytes."""
DEFAULT_MAX_INFLATED = 32 * 1024 * 1024
"""The largest XML document accepted after decompression, in bytes."""
DEFAULT_MAX_ZIP_MEMBERS = 16
"""The most members a zip archive may hold."""
DEFAULT_MAX_NESTING = 1
"""How many archives may sit inside an archive (a gzip inside a zip is one)."""
DEFAULT_MAX_RECORDS = 200_000
"""The most ``<record>`` elements a report may hold."""

_RFC = "RFC 9990 §3.1.1"
_CHUNK = 64 * 1024
_ZIP = b"PK\x03\x04"
_ZIP_EMPTY = b"PK\x05\x06"
_EOCD = struct.Struct("<4s4H2LH")
_HEADER_LINE = re.compile(rb"(?:From |[!-9;-~]+[ \t]*:)")
_REPORT_TYPES = frozenset({
    "application/gzip", "application/x-gzip", "application/gzip-compressed",
    "application/zip", "application/x-zip", "application/x-zip-compressed",
    "text/xml", "application/xml", "application/x-xml",
})
_REPORT_NAME = re.compile(r"\.(?:xml|xml\.gz|gz|gzip|zip|xml\.zip)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits of one parse (see :func:`~mailauth.reports.parse_aggregate`)."""

    max_size: int = DEFAULT_MAX_SIZE
    max_inflated: int = DEFAULT_MAX_INFLATED
    max_zip_members: int = DEFAULT_MAX_ZIP_MEMBERS
    max_nesting: int = DEFAULT_MAX_NESTING
    max_records: int = DEFAULT_MAX_RECORDS


class _Budget:
    """Counts the bytes that came out of decompression against ``max_inflated``."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ParseError(f"the report inflates to more than {self.limit} bytes "
                             f"(the limit max_inflated={self.limit})", rfc=_RFC)


def kind_of(data: bytes) -> str:
    """``gzip``, ``zip``, ``xml``, ``message`` or ``unknown``, from the first bytes."""
    if data[:2] == _GZIP:
        return "gzip"
    if data[:4] == _ZIP or data[:4] == _ZIP_EMPTY:
        return "zip"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<" or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "xml"
    if _HEADER_LINE.match(head):
        return "message"
    return "unknown"


def open_document(data: bytes, limits: Limits, warnings: dict[str, None],
                  depth: int = 0, *, in_message: bool = False) -> Iterator[bytes]:
    """The XML document inside ``data``, as an iterator of pieces of its bytes.

    :raises ParseError: for what is not a report or passes a limit (raised while
        iterating, for what is found while inflating).
    """
    kind = kind_of(data)
    if kind == "xml":
        return iter((data,))
    if depth > limits.max_nesting and kind in ("gzip", "zip"):
        raise ParseError(f"an archive nested {depth} levels deep inside another (the "
                         f"limit max_nesting={limits.max_nesting})", rfc=_RFC)
    if kind == "gzip":
        return _from_gzip(data, limits, warnings, depth)
    if kind == "zip":
        return _from_zip(data, limits, warnings, depth)
    if kind == "message" and not in_message:
        return _from_message(data, limits, warnings, depth)
    if not data.strip():
        raise ParseError("the report is empty", rfc=_RFC)
    start = data.lstrip()[:40].decode("ascii", "backslashreplace")
    raise ParseError(f"not a DMARC aggregate report: neither XML, gzip, zip nor a mail "
                     f"message (it begins {start!r})", rfc=_RFC)


def _inflate(data: bytes, warnings: dict[str, None]) -> Iterator[bytes]:
    """The output of gzip data, piece by piece (RFC 1952; members one after another)."""
    inflater = Inflater(data, chunk=_CHUNK)
    try:
        yield from inflater
    except GzipError as exc:
        if exc.truncated:
            raise ParseError("the gzip data ends early (truncated)", rfc=_RFC) from None
        raise ParseError(f"the gzip data is corrupt: {exc}", rfc=_RFC) from None
    if inflater.trailing:
        warnings[f"{len(inflater.trailing)} bytes after the gzip data were ignored"] = None


def _from_gzip(data: bytes, limits: Limits, warnings: dict[str, None],
               depth: int) -> Iterator[bytes]:
    """Inflate gzip data as a stream; an archive inside is opened in turn."""
    budget = _Budget(limits.max_inflated)
    pieces = _inflate(data, warnings)
    head = bytearray()
    for out in pieces:
        budget.take(len(out))
        head += out
        if len(head) >= 4:
            break
    if kind_of(bytes(head[:4])) in ("gzip", "zip"):
        for out in pieces:
            budget.take(len(out))
            head += out
        yield from open_document(bytes(head), limits, warnings, depth + 1)
        return
    if head:
        yield bytes(head)
    for out in pieces:
        budget.take(len(out))
        yield out


def _zip_member_count(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, or None if not found."""
    tail = data[-(65536 + _EOCD.size):]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        return None
    fields = _EOCD.unpack_from(tail, at)
    return int(fields[4])


def _from_zip(data: bytes, limits: Limits, warnings: dict[str, None],
              depth: int) -> Iterator[bytes]:
    """The report member of a zip archive, inflated as a stream."""
    count = _zip_member_count(data)
    if count is not None and count > limits.max_zip_members:
        raise ParseError(f"the zip archive has {count} members (the limit "
                         f"max_zip_members={limits.max_zip_members})", rfc=_RFC)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(f"the zip archive is corrupt: {exc}", rfc=_RFC) from None
    if len(infos) > limits.max_zip_members:
        raise ParseError(f"the zip archive has {len(infos)} members (the limit "
                         f"max_zip_members={limits.max_zip_members})", rfc=_RFC)
    if not infos:
        raise ParseError("the zip archive is empty", rfc=_RFC)
    named = [i for i in infos if _REPORT_NAME.search(i.filename)]
    chosen = (named or infos)[0]
    if len(infos) > 1:
        others = ", ".join(i.filename for i in infos if i is not chosen)
        warnings[f"the zip archive holds more than the report; read {chosen.filename}, "
                 f"ignored {others}"] = None
    if chosen.file_size > limits.max_inflated:
        raise ParseError(f"the zip member {chosen.filename!r} says it inflates to "
                         f"{chosen.file_size} bytes (the limit "
                         f"max_inflated={limits.max_inflated})", rfc=_RFC)
    if chosen.flag_bits & 0x1:
        raise ParseError(f"the zip member {chosen.filename!r} is encrypted", rfc=_RFC)
    budget = _Budget(limits.max_inflated)
    try:
        with archive.open(chosen) as member:
            head = member.read(4)
            budget.take(len(head))
            inner = kind_of(head)
            if inner in ("gzip", "zip"):
                buf = bytearray(head)
                while piece := member.read(_CHUNK):
                    budget.take(len(piece))
                    buf += piece
                yield from open_document(bytes(buf), limits, warnings, depth + 1)
                return
            if head:
                yield head
            while piece := member.read(_CHUNK):
                budget.take(len(piece))
                yield piece
    except (zipfile.BadZipFile, OSError, ValueError, EOFError,
            NotImplementedError, zlib.error) as exc:
        raise ParseError(f"the zip member {chosen.filename!r} cannot be read: {exc}",
                         rfc=_RFC) from None


def _part_is_report(part: email.message.Message) -> bool:
    types = {v.split(";", 1)[0].strip().lower()
             for v in (part.get_all("content-type") or [])}
    name = part.get_filename() or part.get_param("name") or ""
    if not isinstance(name, str):
        name = ""
    return bool(types & _REPORT_TYPES) or bool(_REPORT_NAME.search(name.strip()))


def _from_message(data: bytes, limits: Limits, warnings: dict[str, None],
                  depth: int) -> Iterator[bytes]:
    """The report attachment of a mail message (RFC 9990 §3.1.1): the part whose
    media type (``application/gzip``, ``application/zip``, ``text/xml``) or file name
    (``.xml``, ``.xml.gz``, ``.zip``) says it is one."""
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    found = False
    for part in message.walk():
        if part.is_multipart() or not _part_is_report(part):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or kind_of(payload) not in ("gzip", "zip",
                                                                        "xml"):
            continue
        found = True
        yield from open_document(payload, limits, warnings, depth, in_message=True)
        break
    if not found:
        raise ParseError("the message has no DMARC report attachment (no part of type "
                         "application/gzip, application/zip or text/xml, or named "
                         ".xml, .xml.gz or .zip, that holds one)", rfc=_RFC)
